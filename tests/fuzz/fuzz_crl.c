/*
 * libFuzzer target: CRLs offered to a trust (host/verify/src/trust.c:
 * mbedTLS's CRL parser, then the issuer looked up among the loaded CSCAs
 * and reader CAs and its signature checked), a trust that holds the test
 * PKI's CSCA of Morocco and reader CA (seeds: the test PKI's CRLs, DER and
 * PEM). Invariants: a named result, a CRL stored exactly when accepted, and
 * the certificate stores untouched.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hawiya-verify.h"
#include "pki_file.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t cas[2][8192];
static size_t ca_len[2];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    ca_len[0] = pki_file(HAWIYA_PKI_DIR "/csca/csca-MAR.der", cas[0], sizeof cas[0]);
    ca_len[1] = pki_file(HAWIYA_PKI_DIR "/reader-ca/reader-ca.der", cas[1], sizeof cas[1]);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A trust of its own each time, so that accepted CRLs do not pile up. */
    struct hv_trust *t = hv_trust_new();
    if (!t)
        return 0;
    if (hv_trust_add_csca(t, cas[0], ca_len[0]) != HV_OK ||
        hv_trust_add_reader_ca(t, cas[1], ca_len[1]) != HV_OK)
        abort();
    enum hv_err e = hv_trust_add_crl(t, data, size);
    if (!strcmp(hv_err_str(e), "HV_ERR_UNKNOWN"))
        __builtin_trap();
    if ((e == HV_OK) != (hv_trust_n_crl(t) > 0))
        __builtin_trap();
    if (hv_trust_n_csca(t) != 1 || hv_trust_n_reader_ca(t) != 1)
        __builtin_trap();
    hv_trust_free(t);
    return 0;
}

/*
 * libFuzzer target: CSCA Master Lists (host/verify/src/masterlist.c: a CMS
 * SignedData of id-icao-cscaMasterList through the EF.SOD parser, the
 * signer's profile and trust, the CscaMasterList content) into a trust
 * that vouches for the test PKI's Master List Signer and its CSCA.
 * Invariants: a named result; a refusal adds no CSCA; an accepted list
 * adds CSCAs and nothing else (the seeds include the test PKI's own list).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hawiya-verify.h"
#include "pki_file.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct hv_time now = {2026, 1, 1, 0, 0, 0};
static uint8_t anchors[2][8192];
static size_t anchor_len[2];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    anchor_len[0] =
        pki_file(HAWIYA_PKI_DIR "/masterlist/ml-signer.der", anchors[0], sizeof anchors[0]);
    anchor_len[1] = pki_file(HAWIYA_PKI_DIR "/csca/csca-MAR.der", anchors[1], sizeof anchors[1]);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct hv_trust *t = hv_trust_new();
    if (!t)
        return 0;
    for (int i = 0; i < 2; i++)
        if (hv_trust_add_masterlist_signer(t, anchors[i], anchor_len[i]) != HV_OK)
            abort();
    enum hv_err e = hv_trust_add_masterlist(t, data, size, &now);
    if (!strcmp(hv_err_str(e), "HV_ERR_UNKNOWN"))
        __builtin_trap();
    if (e != HV_OK && hv_trust_n_csca(t) != 0)
        __builtin_trap();
    if (e == HV_OK && (hv_trust_n_csca(t) == 0 || hv_trust_n_reader_ca(t) || hv_trust_n_ds(t) ||
                       hv_trust_n_crl(t)))
        __builtin_trap();
    hv_trust_free(t);
    return 0;
}

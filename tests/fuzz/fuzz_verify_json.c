/*
 * Hostile assertions through hv_verify() with fixed trust anchors (the test
 * PKI's CSCAs, reader CA and CRLs from pki_data) and the challenge, origin and
 * time of test_verify.c, so that the seeds (assertions unit_verify wrote)
 * reach every check. Unattested assertions and expired documents are
 * allowed. Invariants: a named result, a message on failure, an identity
 * exactly on success, a verified assertion fails for any other origin, an
 * unattested one without allow_unattested, an expired document without
 * allow_expired_document.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "hawiya-verify.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct hv_trust *trust;
static uint8_t challenge[32];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    trust = hv_trust_new();
    if (!trust || hv_trust_load_csca_dir(trust, HAWIYA_PKI_DIR "/csca", NULL, 0) != HV_OK ||
        hv_trust_load_reader_ca_file(trust, HAWIYA_PKI_DIR "/reader-ca", NULL, 0) != HV_OK ||
        hv_trust_load_crl(trust, HAWIYA_PKI_DIR "/crl", NULL, 0) != HV_OK)
        abort(); /* run the pki_data target first */
    for (size_t i = 0; i < sizeof challenge; i++)
        challenge[i] = (uint8_t)i;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct hv_options opt = {.trust = trust,
                             .challenge = challenge,
                             .challenge_len = sizeof challenge,
                             .origin = "https://record.example",
                             .now = {2026, 1, 1, 0, 0, 0},
                             .allow_unattested = true,
                             .allow_expired_document = true};
    struct hv_result res;
    enum hv_err e = hv_verify((const char *)data, size, &opt, &res);
    if (e != res.err || !strcmp(hv_err_str(e), "HV_ERR_UNKNOWN") || e == HV_ERR_ARGUMENT)
        __builtin_trap();
    if (e != HV_OK && (res.message[0] == '\0' || res.identity_json))
        __builtin_trap();
    if (memchr(res.message, '\0', sizeof res.message) == NULL)
        __builtin_trap();
    if (e == HV_OK) {
        cJSON *id = res.identity_json ? cJSON_Parse(res.identity_json) : NULL;
        if (!cJSON_IsObject(id) || (res.attested ? !res.reader_id[0] || res.counter > HV_MAX_COUNTER
                                                 : res.reader_id[0] || res.counter))
            __builtin_trap();
        cJSON_Delete(id);
        struct hv_result again;
        if (!res.attested) { /* accepted only because the options allow it */
            opt.allow_unattested = false;
            if (hv_verify((const char *)data, size, &opt, &again) != HV_ERR_UNATTESTED)
                __builtin_trap();
            hv_result_free(&again);
            opt.allow_unattested = true;
        }
        if (res.document_expired) { /* likewise */
            opt.allow_expired_document = false;
            if (hv_verify((const char *)data, size, &opt, &again) != HV_ERR_DOCUMENT_EXPIRED)
                __builtin_trap();
            hv_result_free(&again);
            opt.allow_expired_document = true;
        }
        opt.origin = "https://other.example";
        if (hv_verify((const char *)data, size, &opt, &again) != HV_ERR_ORIGIN)
            __builtin_trap();
        hv_result_free(&again);
    }
    hv_result_free(&res);
    return 0;
}

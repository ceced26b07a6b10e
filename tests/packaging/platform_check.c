/*
 * What a platform developer writes against the installed libhawiya-verify:
 * built by tests/install_check.sh with nothing but
 * `pkg-config --cflags --libs hawiya-verify` and the installed header.
 * usage: platform_check CSCA_DIR READER_CA_FILE ASSERTION_FILE
 * Prints the hv_err name (and the document number on success); exit 0 on
 * HV_OK, 1 on a failed check, 2 on a usage or I/O error.
 */
#include <hawiya-verify.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    static char json[HV_MAX_ASSERTION + 1];
    char msg[256];
    if (argc != 4)
        return 2;
    FILE *f = fopen(argv[3], "rb");
    if (!f)
        return 2;
    size_t n = fread(json, 1, sizeof json - 1, f);
    fclose(f);

    struct hv_trust *trust = hv_trust_new();
    if (!trust || hv_trust_load_csca_dir(trust, argv[1], msg, sizeof msg) != HV_OK ||
        hv_trust_load_reader_ca_file(trust, argv[2], msg, sizeof msg) != HV_OK) {
        fprintf(stderr, "trust: %s\n", msg);
        hv_trust_free(trust);
        return 2;
    }
    uint8_t challenge[32];
    for (size_t i = 0; i < sizeof challenge; i++)
        challenge[i] = (uint8_t)i;
    struct hv_options opt = {.trust = trust,
                             .challenge = challenge,
                             .challenge_len = sizeof challenge,
                             .origin = "https://record.example"};
    if (hv_time_parse("20260101000000Z", &opt.now) != HV_OK)
        return 2;
    struct hv_result res;
    enum hv_err e = hv_verify(json, n, &opt, &res);
    printf("%s", hv_err_str(e));
    if (e == HV_OK) {
        cJSON *id = cJSON_Parse(res.identity_json);
        const cJSON *doc = cJSON_GetObjectItemCaseSensitive(id, "document_number");
        printf(" %s", cJSON_IsString(doc) ? doc->valuestring : "?");
        cJSON_Delete(id);
    }
    printf("\n");
    hv_result_free(&res);
    hv_trust_free(trust);
    return e == HV_OK ? 0 : 1;
}

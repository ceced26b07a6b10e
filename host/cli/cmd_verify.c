/*
 * `hawiya verify --csca DIR --reader-ca FILE --challenge B64URL --origin URL
 * [--now YYYYMMDDhhmmssZ] < assertion.json`: the platform server's check of
 * an assertion with libhawiya-verify (docs/assertion.md). Prints
 * {"verified":true,"identity":{...},"reader":{...}} and exits 0, or
 * {"verified":false,"error":"HV_ERR_...","message":"..."} and exits 1; 2 on
 * a usage error (including unreadable trust anchors). At most 1 MiB is read
 * from stdin: more is an HV_ERR_FORMAT failure, not a crash. `--text` prints
 * the same for a person at a desk instead of JSON.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "commands.h"
#include "hawiya-verify.h"

static int usage(const char *why)
{
    if (why)
        fprintf(stderr, "hawiya verify: %s\n", why);
    fprintf(stderr, "usage: hawiya verify --csca DIR --reader-ca FILE --challenge B64URL "
                    "--origin URL [--now YYYYMMDDhhmmssZ] [--allow-unattested] [--text] "
                    "< assertion.json\n");
    return 2;
}

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static int print_failure(bool text, const char *error, const char *message)
{
    if (text) {
        printf("NOT VERIFIED: %s: %s\n", error, message);
        return 1;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "verified", 0);
    cJSON_AddStringToObject(o, "error", error);
    cJSON_AddStringToObject(o, "message", message);
    char *s = cJSON_PrintUnformatted(o);
    printf("%s\n", s ? s : "{\"verified\":false,\"error\":\"HV_ERR_MEMORY\"}");
    free(s);
    cJSON_Delete(o);
    return 1;
}

static void print_text(const struct hv_result *res)
{
    cJSON *id = cJSON_Parse(res->identity_json);
    if (res->attested)
        printf("VERIFIED by reader %s (counter %llu): the card is genuine, unaltered, and answered "
               "this challenge\n",
               res->reader_id, (unsigned long long)res->counter);
    else
        printf("VERIFIED without a reader attestation (allowed): the card is genuine, unaltered, "
               "and answered this challenge\n");
    printf("  holder       %s, %s\n", str(id, "surname"), str(id, "given_names"));
    if (*str(id, "full_name")) {
        /* DG11's name of holder is "PRIMARY<<SECONDARY" (9303-10 §4.7.11): shown as
         * "PRIMARY, SECONDARY" with single fillers as spaces; the JSON keeps it as written. */
        const char *f = str(id, "full_name");
        printf("  full name    ");
        for (size_t i = 0; f[i]; i++) {
            if (f[i] == '<' && f[i + 1] == '<') {
                fputs(", ", stdout);
                i++;
            } else {
                putchar(f[i] == '<' ? ' ' : f[i]);
            }
        }
        putchar('\n');
    }
    printf("  born         %s (YYMMDD)  sex %s  nationality %s\n", str(id, "birth_date"),
           str(id, "sex"), str(id, "nationality"));
    printf("  document     %s %s %s, expires %s (YYMMDD)\n", str(id, "document_type"),
           str(id, "issuing_state"), str(id, "document_number"), str(id, "expiry_date"));
    cJSON_Delete(id);
}

static int print_success(bool text, const struct hv_result *res)
{
    if (text) {
        print_text(res);
        return 0;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "verified", 1);
    cJSON_AddItemToObject(o, "identity", cJSON_Parse(res->identity_json));
    cJSON_AddBoolToObject(o, "attested", res->attested);
    if (res->attested) {
        char digits[24];
        cJSON *r = cJSON_AddObjectToObject(o, "reader");
        cJSON_AddStringToObject(r, "id", res->reader_id);
        snprintf(digits, sizeof digits, "%llu", (unsigned long long)res->counter);
        cJSON_AddItemToObject(r, "counter", cJSON_CreateRaw(digits));
    }
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!s)
        return print_failure(text, "HV_ERR_MEMORY", "out of memory");
    printf("%s\n", s);
    free(s);
    return 0;
}

int cmd_verify(int argc, char **argv)
{
    const char *csca = NULL, *reader_ca = NULL, *challenge = NULL, *origin = NULL, *now = NULL;
    bool text = false, allow_unattested = false;
    for (int i = 1; i < argc; i += 2) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--text") || !strcmp(a, "--allow-unattested")) {
            *(a[2] == 't' ? &text : &allow_unattested) = true;
            i--;
            continue;
        }
        if (!v)
            return usage("an option without its value");
        if (!strcmp(a, "--csca"))
            csca = v;
        else if (!strcmp(a, "--reader-ca"))
            reader_ca = v;
        else if (!strcmp(a, "--challenge"))
            challenge = v;
        else if (!strcmp(a, "--origin"))
            origin = v;
        else if (!strcmp(a, "--now"))
            now = v;
        else
            return usage("unknown option");
    }
    if (!csca || (!reader_ca && !allow_unattested) || !challenge || !origin)
        return usage("--csca, --reader-ca (or --allow-unattested), --challenge and --origin are "
                     "required");

    struct hv_options opt = {.origin = origin, .allow_unattested = allow_unattested};
    uint8_t chal[HV_CHALLENGE_MAX];
    if (hv_base64url_decode(challenge, strlen(challenge), chal, sizeof chal, &opt.challenge_len) !=
            HV_OK ||
        opt.challenge_len < HV_CHALLENGE_MIN)
        return usage("--challenge must be base64url of 32 to 64 bytes");
    opt.challenge = chal;
    if (now ? hv_time_parse(now, &opt.now) != HV_OK : hv_time_now(&opt.now) != HV_OK)
        return usage("--now must be YYYYMMDDhhmmssZ");

    char msg[512];
    struct hv_trust *trust = hv_trust_new();
    if (!trust)
        return print_failure(text, "HV_ERR_MEMORY", "out of memory");
    if (hv_trust_load_csca_dir(trust, csca, msg, sizeof msg) != HV_OK ||
        (reader_ca && hv_trust_load_reader_ca_file(trust, reader_ca, msg, sizeof msg) != HV_OK)) {
        hv_trust_free(trust);
        return usage(msg);
    }
    opt.trust = trust;

    /* One byte more than the limit tells an oversized input from a full one. */
    size_t cap = HV_MAX_ASSERTION + 1, len = 0, got;
    char *json = malloc(cap);
    if (!json) {
        hv_trust_free(trust);
        return print_failure(text, "HV_ERR_MEMORY", "out of memory");
    }
    while (len < cap && (got = fread(json + len, 1, cap - len, stdin)) > 0)
        len += got;

    int rc;
    if (len > HV_MAX_ASSERTION) {
        rc = print_failure(text, "HV_ERR_FORMAT", "assertion larger than 1 MiB");
    } else {
        struct hv_result res;
        hv_verify(json, len, &opt, &res);
        rc = res.err == HV_OK ? print_success(text, &res)
                              : print_failure(text, hv_err_str(res.err), res.message);
        hv_result_free(&res);
    }
    free(json);
    hv_trust_free(trust);
    return rc;
}

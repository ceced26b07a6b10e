/*
 * `hawiya verify`: the platform server's check of an assertion with
 * libhawiya-verify (docs/assertion.md, "hawiya verify"). The trust comes in
 * separate stores that never mix: --csca (a directory or file of CSCA
 * certificates) and/or --csca-masterlist (an ICAO CSCA Master List checked
 * against --masterlist-signer), --reader-ca (the reader manufacturer's CA),
 * --ds (Document Signers for SODs without theirs), --crl (CRLs of those
 * CAs). A file that does not belong to its store stops everything (exit 2,
 * the file named). Prints {"verified":true,"identity":{...},...} and exits
 * 0, or {"verified":false,"error":"HV_ERR_...","message":"..."} and exits
 * 1; 2 on a usage error. At most 1 MiB is read from stdin: more is an
 * HV_ERR_FORMAT failure, not a crash. `--text` prints the same for a person
 * at a desk instead of JSON.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "commands.h"
#include "hawiya-verify.h"

#define MAX_REPEAT 16

static int usage(const char *why)
{
    if (why)
        fprintf(stderr, "hawiya verify: %s\n", why);
    fprintf(stderr, "usage: hawiya verify %s\n", CLI_VERIFY_USAGE);
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
    printf("  document     %s %s %s, expires %s (YYMMDD)%s\n", str(id, "document_type"),
           str(id, "issuing_state"), str(id, "document_number"), str(id, "expiry_date"),
           res->document_expired ? ": EXPIRED (accepted)" : "");
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
    cJSON_AddBoolToObject(o, "document_expired", res->document_expired);
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

/* The options that take a path, each repeatable, in the order they are loaded: what vouches for
 * master lists, the CSCAs and master lists, reader CAs, Document Signers, then the CRLs, whose
 * issuers must be loaded already. */
enum store { O_ML_SIGNER, O_CSCA, O_MASTERLIST, O_READER_CA, O_DS, O_CRL, O_STORES };
static const char *const store_opt[O_STORES] = {
    "--masterlist-signer", "--csca", "--csca-masterlist", "--reader-ca", "--ds", "--crl",
};

struct args {
    const char *path[O_STORES][MAX_REPEAT];
    size_t n[O_STORES];
    const char *challenge, *origin, *now;
    bool text, allow_unattested, allow_expired_document;
};

static int parse(int argc, char **argv, struct args *a)
{
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(o, "--text")) {
            a->text = true;
            continue;
        }
        if (!strcmp(o, "--allow-unattested")) {
            a->allow_unattested = true;
            continue;
        }
        if (!strcmp(o, "--allow-expired-document")) {
            a->allow_expired_document = true;
            continue;
        }
        if (!v)
            return usage("an option without its value");
        i++;
        size_t s = 0;
        while (s < O_STORES && strcmp(o, store_opt[s]) != 0)
            s++;
        if (s < O_STORES) {
            if (a->n[s] == MAX_REPEAT)
                return usage("an option given too many times");
            a->path[s][a->n[s]++] = v;
        } else if (!strcmp(o, "--challenge")) {
            a->challenge = v;
        } else if (!strcmp(o, "--origin")) {
            a->origin = v;
        } else if (!strcmp(o, "--now")) {
            a->now = v;
        } else {
            return usage("unknown option");
        }
    }
    if (!a->n[O_CSCA] && !a->n[O_MASTERLIST])
        return usage("the CSCAs are required: --csca and/or --csca-masterlist");
    if (a->n[O_MASTERLIST] && !a->n[O_ML_SIGNER])
        return usage("--csca-masterlist needs --masterlist-signer");
    if (!a->n[O_READER_CA] && !a->allow_unattested)
        return usage("--reader-ca is required (or --allow-unattested alone)");
    if (!a->challenge || !a->origin)
        return usage("--challenge and --origin are required");
    return 0;
}

/* Every store in order; exit 2 naming the file that does not belong. */
static int load_trust(struct hv_trust *trust, const struct args *a, const struct hv_time *now)
{
    char msg[640];
    for (size_t s = 0; s < O_STORES; s++) {
        for (size_t i = 0; i < a->n[s]; i++) {
            const char *p = a->path[s][i];
            enum hv_err e = HV_ERR_ARGUMENT;
            switch ((enum store)s) {
            case O_ML_SIGNER: e = hv_trust_load_masterlist_signer(trust, p, msg, sizeof msg); break;
            case O_CSCA: e = hv_trust_load_csca_dir(trust, p, msg, sizeof msg); break;
            case O_MASTERLIST: e = hv_trust_load_masterlist(trust, p, now, msg, sizeof msg); break;
            case O_READER_CA: e = hv_trust_load_reader_ca_file(trust, p, msg, sizeof msg); break;
            case O_DS: e = hv_trust_load_ds(trust, p, msg, sizeof msg); break;
            case O_CRL: e = hv_trust_load_crl(trust, p, msg, sizeof msg); break;
            case O_STORES: break;
            }
            if (e != HV_OK) {
                fprintf(stderr, "hawiya verify: %s %s: %s (%s)\n", store_opt[s], p, msg,
                        hv_err_str(e));
                return 2;
            }
        }
    }
    if (hv_trust_n_csca(trust) == 0) {
        fprintf(stderr, "hawiya verify: no CSCA certificate loaded\n");
        return 2;
    }
    return 0;
}

int cmd_verify(int argc, char **argv)
{
    struct args a;
    memset(&a, 0, sizeof a);
    int rc = parse(argc, argv, &a);
    if (rc)
        return rc;
    struct hv_options opt = {.origin = a.origin,
                             .allow_unattested = a.allow_unattested,
                             .allow_expired_document = a.allow_expired_document};
    uint8_t chal[HV_CHALLENGE_MAX];
    if (hv_base64url_decode(a.challenge, strlen(a.challenge), chal, sizeof chal,
                            &opt.challenge_len) != HV_OK ||
        opt.challenge_len < HV_CHALLENGE_MIN)
        return usage("--challenge must be base64url of 32 to 64 bytes");
    opt.challenge = chal;
    if (a.now ? hv_time_parse(a.now, &opt.now) != HV_OK : hv_time_now(&opt.now) != HV_OK)
        return usage("--now must be YYYYMMDDhhmmssZ");

    struct hv_trust *trust = hv_trust_new();
    if (!trust)
        return print_failure(a.text, "HV_ERR_MEMORY", "out of memory");
    if ((rc = load_trust(trust, &a, &opt.now)) != 0) {
        hv_trust_free(trust);
        return rc;
    }
    opt.trust = trust;

    /* One byte more than the limit tells an oversized input from a full one. */
    size_t cap = HV_MAX_ASSERTION + 1, len = 0, got;
    char *json = malloc(cap);
    if (!json) {
        hv_trust_free(trust);
        return print_failure(a.text, "HV_ERR_MEMORY", "out of memory");
    }
    while (len < cap && (got = fread(json + len, 1, cap - len, stdin)) > 0)
        len += got;

    if (len > HV_MAX_ASSERTION) {
        rc = print_failure(a.text, "HV_ERR_FORMAT", "assertion larger than 1 MiB");
    } else {
        struct hv_result res;
        hv_verify(json, len, &opt, &res);
        rc = res.err == HV_OK ? print_success(a.text, &res)
                              : print_failure(a.text, hv_err_str(res.err), res.message);
        hv_result_free(&res);
    }
    free(json);
    hv_trust_free(trust);
    return rc;
}

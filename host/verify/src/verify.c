/*
 * hv_verify(): the checks of docs/assertion.md, in order, stopping at the
 * first failure. The evidence is judged by the standards it comes from:
 * passive authentication (ICAO 9303-11 §5.1, hawiya/sod.h), the MRZ check
 * digits (9303-3 §4.9, hawiya/lds.h), Active Authentication (9303-11 §6.1,
 * hawiya/aa.h) and the reader's X.509 chain and ECDSA signature.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/pk.h>

#include "hawiya/aa.h"
#include "hawiya/assertion.h"
#include "hawiya/lds.h"
#include "hawiya/mrz.h"
#include "hawiya/sod.h"
#include "ecdsa_libcrypto.h"
#include "internal.h"

void hv_result_free(struct hv_result *res)
{
    if (!res)
        return;
    free(res->identity_json);
    res->identity_json = NULL;
}

/* The base64 members: where they live and whether they must be there. */
enum field {
    F_EF_COM,
    F_DG1,
    F_DG11,
    F_DG14,
    F_DG15,
    F_SOD,
    F_EF_CARDACCESS,
    F_AA_CHALLENGE,
    F_AA_SIGNATURE,
    F_READER_CERTIFICATE,
    F_READER_SIGNATURE,
    F_N
};

static const struct {
    const char *key;
    bool in_reader;
    bool required;
} fields[F_N] = {
    [F_EF_COM] = {"ef_com", false, false},
    [F_DG1] = {"dg1", false, true},
    [F_DG11] = {"dg11", false, false},
    [F_DG14] = {"dg14", false, false},
    [F_DG15] = {"dg15", false, true},
    [F_SOD] = {"sod", false, true},
    [F_EF_CARDACCESS] = {"ef_cardaccess", false, false},
    [F_AA_CHALLENGE] = {"aa_challenge", false, true},
    [F_AA_SIGNATURE] = {"aa_signature", false, true},
    [F_READER_CERTIFICATE] = {"certificate", true, true},
    [F_READER_SIGNATURE] = {"signature", true, true},
};

static const char *const top_keys[] = {
    "format",        "challenge",    "origin",       "identity",     "ef_com",
    "dg1",           "dg11",         "dg14",         "dg15",         "sod",
    "ef_cardaccess", "aa_challenge", "aa_signature", "aa_algorithm", "reader",
};
/* "reader": {"attested":true, id, certificate, counter, signature} or {"attested":false}. */
static const char *const reader_keys[] = {"attested", "id", "certificate", "counter", "signature"};

struct ctx {
    struct hv_result *res;
    cJSON *root;
    const char *format, *origin, *aa_algorithm, *reader_id;
    bool attested;
    const cJSON *identity;
    uint8_t challenge[HV_CHALLENGE_MAX];
    size_t challenge_len;
    uint64_t counter;
    uint8_t *b[F_N];
    size_t n[F_N];
};

static enum hv_err fail(struct ctx *c, enum hv_err e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum hv_err fail(struct ctx *c, enum hv_err e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->res->message, sizeof c->res->message, fmt, ap);
    va_end(ap);
    c->res->err = e;
    return e;
}

/* Every member of o is one of keys[], none twice (a duplicate would let two parsers disagree). */
static bool only_known_keys(const cJSON *o, const char *const *keys, size_t n_keys,
                            const char **bad)
{
    unsigned long seen = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, o)
    {
        size_t k = 0;
        while (k < n_keys && (!it->string || strcmp(it->string, keys[k]) != 0))
            k++;
        if (k == n_keys || (seen & (1ul << k))) {
            *bad = it->string ? it->string : "?";
            return false;
        }
        seen |= 1ul << k;
    }
    return true;
}

static const char *get_string(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) && v->valuestring ? v->valuestring : NULL;
}

/* Step 1: JSON shape and types, every encoding decoded. */
static enum hv_err check_shape(struct ctx *c, const char *json, size_t len)
{
    const char *bad = NULL;
    char why[128];
    /* A raw NUL would make C strings shorter than the JSON text says (an escaped one is
     * refused by hvi_json_strict). */
    if (len > HV_MAX_ASSERTION || memchr(json, '\0', len))
        return fail(c, HV_ERR_FORMAT, "not a JSON text of at most %u bytes without NUL",
                    HV_MAX_ASSERTION);
    if (!hvi_json_strict(json, len, why, sizeof why))
        return fail(c, HV_ERR_FORMAT, "not strict JSON: %s", why);
    c->root = cJSON_ParseWithLength(json, len);
    if (!c->root)
        return fail(c, HV_ERR_FORMAT, "not JSON");
    if (!cJSON_IsObject(c->root))
        return fail(c, HV_ERR_FORMAT, "not a JSON object");
    if (!only_known_keys(c->root, top_keys, sizeof top_keys / sizeof top_keys[0], &bad))
        return fail(c, HV_ERR_FORMAT, "unknown or repeated member \"%.64s\"", bad);
    const cJSON *reader = cJSON_GetObjectItemCaseSensitive(c->root, "reader");
    if (!cJSON_IsObject(reader))
        return fail(c, HV_ERR_FORMAT, "\"reader\" is not an object");
    const cJSON *attested = cJSON_GetObjectItemCaseSensitive(reader, "attested");
    if (!cJSON_IsBool(attested))
        return fail(c, HV_ERR_FORMAT, "\"reader.attested\" is not true or false");
    c->attested = cJSON_IsTrue(attested);
    /* Unattested: "attested" and nothing else; attested: every member. */
    size_t n_reader_keys = c->attested ? sizeof reader_keys / sizeof reader_keys[0] : 1;
    if (!only_known_keys(reader, reader_keys, n_reader_keys, &bad))
        return fail(c, HV_ERR_FORMAT, "unknown or repeated member \"reader.%.64s\"", bad);
    c->identity = cJSON_GetObjectItemCaseSensitive(c->root, "identity");
    if (!cJSON_IsObject(c->identity))
        return fail(c, HV_ERR_FORMAT, "\"identity\" is not an object");

    static const char *const strings[] = {"format", "challenge", "origin", "aa_algorithm"};
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++)
        if (!get_string(c->root, strings[i]))
            return fail(c, HV_ERR_FORMAT, "\"%s\" is not a string", strings[i]);
    c->format = get_string(c->root, "format");
    c->origin = get_string(c->root, "origin");
    c->aa_algorithm = get_string(c->root, "aa_algorithm");
    const char *ch = get_string(c->root, "challenge");
    /* One spelling: unpadded base64url, as the builder writes it. */
    char *again = NULL;
    if (hv_base64url_decode(ch, strlen(ch), c->challenge, sizeof c->challenge, &c->challenge_len) !=
            HV_OK ||
        c->challenge_len < HV_CHALLENGE_MIN ||
        !(again = hvi_b64url_encode(c->challenge, c->challenge_len)) || strcmp(again, ch) != 0) {
        free(again);
        return fail(c, HV_ERR_FORMAT,
                    "\"challenge\" is not unpadded canonical base64url of %d to %d bytes",
                    HV_CHALLENGE_MIN, HV_CHALLENGE_MAX);
    }
    free(again);
    if (!c->origin[0])
        return fail(c, HV_ERR_FORMAT, "\"origin\" is empty");

    if (c->attested) {
        c->reader_id = get_string(reader, "id");
        if (!c->reader_id || !hvi_reader_id_ok(c->reader_id))
            return fail(c, HV_ERR_FORMAT,
                        "\"reader.id\" is not 1 to %d characters of A-Z a-z 0-9 -_.",
                        HV_READER_ID_MAX);
        /* hvi_json_strict let through only digits without a leading zero, so the double
         * is exact up to 2^53 - 1 and anything larger rounds to at least 2^53. */
        const cJSON *counter = cJSON_GetObjectItemCaseSensitive(reader, "counter");
        double v = cJSON_IsNumber(counter) ? counter->valuedouble : -1;
        if (!(v >= 0 && v <= (double)HV_MAX_COUNTER) || v != (double)(uint64_t)v)
            return fail(c, HV_ERR_FORMAT, "\"reader.counter\" is not an integer 0 .. 2^53-1");
        c->counter = (uint64_t)v;
    }

    for (size_t f = 0; f < F_N; f++) {
        const cJSON *o = fields[f].in_reader ? reader : c->root;
        const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, fields[f].key);
        const char *where = fields[f].in_reader ? "reader." : "";
        if (fields[f].in_reader && !c->attested)
            continue;
        if (!it) {
            if (fields[f].required)
                return fail(c, HV_ERR_FORMAT, "\"%s%s\" is missing", where, fields[f].key);
            continue;
        }
        if (!cJSON_IsString(it) || !it->valuestring || !it->valuestring[0])
            return fail(c, HV_ERR_FORMAT, "\"%s%s\" is not a non-empty string", where,
                        fields[f].key);
        if (!hvi_b64_decode(it->valuestring, &c->b[f], &c->n[f]) || c->n[f] == 0)
            return fail(c, HV_ERR_FORMAT, "\"%s%s\" is not canonical base64", where, fields[f].key);
    }
    if (c->n[F_AA_CHALLENGE] != HV_AA_CHALLENGE_LEN)
        return fail(c, HV_ERR_FORMAT, "\"aa_challenge\" is not %d bytes", HV_AA_CHALLENGE_LEN);
    return HV_OK;
}

static enum hv_err map_sod(struct ctx *c, enum sod_err se, unsigned failed_dg)
{
    const char *why = sod_err_str(se);
    switch (se) {
    case SOD_OK: return HV_OK;
    case SOD_ERR_NO_DS_CERT:
    case SOD_ERR_BAD_CERT:
    case SOD_ERR_DS_NOT_TRUSTED:
        return fail(c, HV_ERR_DS_UNTRUSTED, "Document Signer not trusted (%s)", why);
    case SOD_ERR_CSCA_EXPIRED:
    case SOD_ERR_DS_EXPIRED:
        return fail(c, HV_ERR_CERT_EXPIRED, "certificate expired at the given time (%s)", why);
    case SOD_ERR_CSCA_NOT_YET_VALID:
    case SOD_ERR_DS_NOT_YET_VALID:
        return fail(c, HV_ERR_CERT_NOT_YET_VALID, "certificate not yet valid (%s)", why);
    case SOD_ERR_SIGNATURE:
    case SOD_ERR_MESSAGE_DIGEST:
        return fail(c, HV_ERR_SOD_SIGNATURE, "EF.SOD signature does not verify (%s)", why);
    case SOD_ERR_DG_MISSING:
    case SOD_ERR_DG_HASH:
        c->res->failed_dg = failed_dg;
        return fail(c, HV_ERR_DG_HASH, "DG%u does not match EF.SOD (%s)", failed_dg, why);
    case SOD_ERR_BAD_ARGUMENT: return fail(c, HV_ERR_ARGUMENT, "no CSCA certificate given");
    default: return fail(c, HV_ERR_SOD_MALFORMED, "EF.SOD rejected (%s)", why);
    }
}

/* Step 5: passive authentication, every data group of the assertion against EF.SOD. */
static enum hv_err check_passive(struct ctx *c, const struct hv_options *opt)
{
    struct sod sod;
    enum sod_err se = sod_parse(c->b[F_SOD], c->n[F_SOD], &sod);
    if (se != SOD_OK)
        return fail(c, HV_ERR_SOD_MALFORMED, "EF.SOD does not parse (%s)", sod_err_str(se));
    /* Only CSCAs whose subject is the issuer of a certificate in the SOD: a
     * platform may trust thousands (the ICAO master list) and sod_verify
     * parses each one it is given. With no candidate, one CSCA still gives
     * sod_verify's own answer (NO_DS_CERT or DS_NOT_TRUSTED). */
    const struct hv_trust *t = opt->trust;
    mbedtls_x509_crt in_sod[SOD_MAX_CERTS];
    for (size_t k = 0; k < sod.n_certs; k++) {
        mbedtls_x509_crt_init(&in_sod[k]);
        if (mbedtls_x509_crt_parse_der(&in_sod[k], sod.cert[k], sod.cert_len[k]) != 0)
            mbedtls_x509_crt_free(&in_sod[k]); /* leaves it empty: matches nothing */
    }
    const uint8_t **der = calloc(t->n_csca, sizeof *der);
    size_t *der_len = calloc(t->n_csca, sizeof *der_len);
    if (!der || !der_len) {
        free(der);
        free(der_len);
        for (size_t k = 0; k < sod.n_certs; k++)
            mbedtls_x509_crt_free(&in_sod[k]);
        return fail(c, HV_ERR_MEMORY, "out of memory");
    }
    size_t i = 0;
    for (const mbedtls_x509_crt *x = &t->csca; x && x->raw.len; x = x->next) {
        bool named = false;
        for (size_t k = 0; k < sod.n_certs && !named; k++)
            named = in_sod[k].raw.len && in_sod[k].issuer_raw.len == x->subject_raw.len &&
                    !memcmp(in_sod[k].issuer_raw.p, x->subject_raw.p, x->subject_raw.len);
        if (named) {
            der[i] = x->raw.p;
            der_len[i++] = x->raw.len;
        }
    }
    if (i == 0) {
        der[0] = t->csca.raw.p;
        der_len[0] = t->csca.raw.len;
        i = 1;
    }
    for (size_t k = 0; k < sod.n_certs; k++)
        mbedtls_x509_crt_free(&in_sod[k]);
    struct sod_dg_data dgs[4];
    size_t n = 0;
    static const struct {
        unsigned number;
        enum field f;
    } dg_of[] = {{1, F_DG1}, {11, F_DG11}, {14, F_DG14}, {15, F_DG15}};
    for (size_t k = 0; k < sizeof dg_of / sizeof dg_of[0]; k++)
        if (c->b[dg_of[k].f])
            dgs[n++] = (struct sod_dg_data){dg_of[k].number, c->b[dg_of[k].f], c->n[dg_of[k].f]};
    const struct sod_time now = {(uint16_t)opt->now.year, (uint8_t)opt->now.mon,
                                 (uint8_t)opt->now.day,   (uint8_t)opt->now.hour,
                                 (uint8_t)opt->now.min,   (uint8_t)opt->now.sec};
    struct sod_verify_result vr = {0};
    se = sod_verify(&sod, der, der_len, i, &now, dgs, n, &hvi_libcrypto_engine, &vr);
    free(der);
    free(der_len);
    return map_sod(c, se, vr.failed_dg);
}

/* want and got hold the same strings, arrays and members; no member of got is repeated. */
static bool json_same(const cJSON *want, const cJSON *got)
{
    if (cJSON_IsString(want))
        return cJSON_IsString(got) && got->valuestring &&
               !strcmp(want->valuestring, got->valuestring);
    if (cJSON_IsArray(want) || cJSON_IsObject(want)) {
        if ((cJSON_IsArray(want) && !cJSON_IsArray(got)) ||
            (cJSON_IsObject(want) && !cJSON_IsObject(got)) ||
            cJSON_GetArraySize(want) != cJSON_GetArraySize(got))
            return false;
        if (cJSON_IsArray(want)) {
            const cJSON *g = got->child, *w;
            cJSON_ArrayForEach(w, want)
            {
                if (!json_same(w, g))
                    return false;
                g = g->next;
            }
            return true;
        }
        const cJSON *w, *g;
        cJSON_ArrayForEach(w, want)
        {
            const cJSON *match = NULL;
            cJSON_ArrayForEach(g, got)
            {
                if (g->string && !strcmp(g->string, w->string)) {
                    if (match)
                        return false;
                    match = g;
                }
            }
            if (!match || !json_same(w, match))
                return false;
        }
        return true;
    }
    return false;
}

/* Steps 6-7: DG1 with every check digit, then the identity against DG1/DG11. */
static enum hv_err check_identity(struct ctx *c, cJSON **identity)
{
    struct lds_dg1 d1;
    enum lds_err le = lds_dg1_parse(c->b[F_DG1], c->n[F_DG1], &d1);
    if (le == LDS_ERR_MRZ_CHECK_DIGIT) {
        unsigned bit = d1.cd_fail & -d1.cd_fail;
        return fail(c, HV_ERR_DG1, "DG1: the %s check digit does not match", mrz_cd_name(bit));
    }
    if (le != LDS_OK)
        return fail(c, HV_ERR_DG1, "DG1 does not parse (%s)", lds_err_str(le));
    if (c->b[F_DG11]) {
        struct lds_dg11 d11;
        le = lds_dg11_parse(c->b[F_DG11], c->n[F_DG11], &d11);
        if (le != LDS_OK)
            return fail(c, HV_ERR_LDS, "DG11 does not parse (%s)", lds_err_str(le));
    }
    *identity = hv_identity_from_lds(c->b[F_DG1], c->n[F_DG1], c->b[F_DG11], c->n[F_DG11]);
    if (!*identity)
        return fail(c, HV_ERR_MEMORY, "out of memory");
    if (!json_same(*identity, c->identity))
        return fail(c, HV_ERR_IDENTITY, "\"identity\" is not what DG1%s say",
                    c->b[F_DG11] ? " and DG11" : "");
    return HV_OK;
}

/* Step 9: the card's signature over aa_challenge with the DG15 key. */
static enum hv_err check_aa(struct ctx *c)
{
    char alg[32];
    struct lds_dg15 d15;
    mbedtls_pk_context pk;
    enum lds_err le = lds_dg15_parse(c->b[F_DG15], c->n[F_DG15], &d15, NULL);
    if (le != LDS_OK)
        return fail(c, HV_ERR_LDS, "DG15 does not parse (%s)", lds_err_str(le));
    int hash;
    enum hv_err e = hvi_aa_params(c->b[F_DG14], c->n[F_DG14], c->b[F_DG15], c->n[F_DG15], alg,
                                  sizeof alg, &hash);
    if (e == HV_ERR_LDS)
        return fail(c, HV_ERR_LDS,
                    "an EC DG15 key needs DG14 with an ecdsa-plain ActiveAuthenticationInfo");
    if (e != HV_OK)
        return fail(c, e, "out of memory");
    if (strcmp(alg, c->aa_algorithm) != 0)
        return fail(c, HV_ERR_AA_SIGNATURE, "\"aa_algorithm\" is not %s (DG14/DG15)", alg);
    /* RSA names its hash in the trailer; aa_verify ignores this one for RSA keys. */
    enum aa_hash h = hash >= 0 ? (enum aa_hash)hash : AA_HASH_SHA1;
    mbedtls_pk_init(&pk);
    le = lds_dg15_parse(c->b[F_DG15], c->n[F_DG15], &d15, &pk);
    enum aa_err ae =
        le == LDS_OK ? aa_verify(&pk, h, c->b[F_AA_CHALLENGE], c->n[F_AA_CHALLENGE],
                                 c->b[F_AA_SIGNATURE], c->n[F_AA_SIGNATURE], &hvi_libcrypto_engine)
                     : AA_ERR_KEY;
    mbedtls_pk_free(&pk);
    if (ae != AA_OK)
        return fail(c, HV_ERR_AA_SIGNATURE, "Active Authentication does not verify (%s)",
                    aa_err_str(ae));
    return HV_OK;
}

static struct hv_bytes hb(const struct ctx *c, enum field f)
{
    return (struct hv_bytes){c->b[f], c->n[f]};
}

static enum hv_err run(struct ctx *c, const char *json, size_t len, const struct hv_options *opt,
                       cJSON **identity)
{
    enum hv_err e = check_shape(c, json, len);
    if (e != HV_OK)
        return e;
    if (strcmp(c->format, HV_FORMAT) != 0)
        return fail(c, HV_ERR_VERSION, "\"format\" is not \"%s\"", HV_FORMAT);
    if (c->challenge_len != opt->challenge_len ||
        memcmp(c->challenge, opt->challenge, c->challenge_len) != 0)
        return fail(c, HV_ERR_CHALLENGE, "not the expected challenge");
    if (strcmp(c->origin, opt->origin) != 0)
        return fail(c, HV_ERR_ORIGIN, "not the expected origin");
    if (!c->attested && !opt->allow_unattested)
        return fail(c, HV_ERR_UNATTESTED,
                    "no reader attested this session, and unattested readers are not allowed");
    if ((e = check_passive(c, opt)) != HV_OK || (e = check_identity(c, identity)) != HV_OK)
        return e;

    struct hv_evidence ev = {
        .challenge = {c->challenge, c->challenge_len},
        .origin = c->origin,
        .ef_com = hb(c, F_EF_COM),
        .dg1 = hb(c, F_DG1),
        .dg11 = hb(c, F_DG11),
        .dg14 = hb(c, F_DG14),
        .dg15 = hb(c, F_DG15),
        .ef_sod = hb(c, F_SOD),
        .ef_cardaccess = hb(c, F_EF_CARDACCESS),
        .aa_signature = hb(c, F_AA_SIGNATURE),
        .reader_id = c->reader_id,
        .counter = c->counter,
    };
    uint8_t aa[HV_AA_CHALLENGE_LEN], digest[HV_DIGEST_LEN];
    if (hv_aa_challenge(&ev, aa) != HV_OK)
        return fail(c, HV_ERR_FORMAT, "no aa_challenge from challenge, origin and DG1");
    if (memcmp(aa, c->b[F_AA_CHALLENGE], sizeof aa) != 0)
        return fail(c, HV_ERR_AA_CHALLENGE,
                    "\"aa_challenge\" is not the card-challenge digest of challenge, origin "
                    "and DG1");
    if ((e = check_aa(c)) != HV_OK)
        return e;
    if (!c->attested)
        return HV_OK; /* allowed above: the card's evidence is the whole of it */
    if (hv_reader_digest(&ev, digest) != HV_OK)
        return fail(c, HV_ERR_FORMAT, "no reader digest from the evidence");
    e = hvi_check_reader(opt->trust, &opt->now, c->reader_id, c->b[F_READER_CERTIFICATE],
                         c->n[F_READER_CERTIFICATE], digest, c->b[F_READER_SIGNATURE],
                         c->n[F_READER_SIGNATURE], c->res->message, sizeof c->res->message);
    c->res->err = e;
    return e;
}

enum hv_err hv_verify(const char *json, size_t len, const struct hv_options *opt,
                      struct hv_result *res)
{
    if (!res)
        return HV_ERR_ARGUMENT;
    memset(res, 0, sizeof *res);
    struct ctx c = {.res = res};
    if (!json || !opt || !opt->trust || !opt->origin || !opt->challenge ||
        opt->challenge_len < HV_CHALLENGE_MIN || opt->challenge_len > HV_CHALLENGE_MAX ||
        opt->trust->n_csca == 0 || (opt->trust->n_reader_ca == 0 && !opt->allow_unattested))
        return fail(&c, HV_ERR_ARGUMENT, "options: trust anchors, challenge or origin missing");
    cJSON *identity = NULL;
    enum hv_err e = run(&c, json, len, opt, &identity);
    if (e == HV_OK) {
        res->identity_json = cJSON_PrintUnformatted(identity);
        if (!res->identity_json)
            e = fail(&c, HV_ERR_MEMORY, "out of memory");
        else {
            res->attested = c.attested;
            if (c.attested) {
                snprintf(res->reader_id, sizeof res->reader_id, "%s", c.reader_id);
                res->counter = c.counter;
            }
            res->message[0] = '\0';
        }
    }
    res->err = e;
    cJSON_Delete(identity);
    cJSON_Delete(c.root);
    for (size_t f = 0; f < F_N; f++)
        free(c.b[f]);
    return e;
}

/*
 * hv_verify(): the checks of docs/assertion.md ("Checks"; steps numbered as there), in order,
 * stopping at the first failure. The evidence is judged by the standards it comes from: passive
 * authentication (ICAO 9303-11 §5.1, hawiya/sod.h), the MRZ check digits (9303-3 §4.9,
 * hawiya/lds.h), Active Authentication (9303-11 §6.1, hawiya/aa.h) and the reader's X.509 chain and
 * ECDSA signature.
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
#include "hawiya/sigverify.h"
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

/* A signingTime attribute's value (RFC 5652 §11.3), read under its own tag (hvi_der_time). */
static bool parse_signing_time(const struct sod *sod, struct hv_time *t)
{
    return sod->signing_time &&
           hvi_der_time(sod->signing_time_tag, sod->signing_time, sod->signing_time_len, t);
}

/* DG1's date of expiry (YYMMDD) is before now's date: the document expired. The century is the
 * one that puts the year within 50 years of now; an expiry of '<' (none, 9303-3) never passes. */
static bool document_expired(const struct mrz *m, const struct hv_time *now)
{
    const char *d = m->expiry_date;
    for (int i = 0; i < 6; i++)
        if (d[i] < '0' || d[i] > '9')
            return false;
    int year = 2000 + (d[0] - '0') * 10 + (d[1] - '0');
    if (year > now->year + 49)
        year -= 100;
    int mon = (d[2] - '0') * 10 + (d[3] - '0'), day = (d[4] - '0') * 10 + (d[5] - '0');
    const struct hv_time expiry = {year, mon, day, 23, 59, 59};
    return hvi_time_cmp(now, &expiry) > 0;
}

/* The certificate sid names: one of the SOD's own, or one the platform gave (t->ds). */
static bool find_signer(const struct sod *sod, const struct hv_trust *t, mbedtls_x509_crt *ds)
{
    for (size_t k = 0; k < sod->n_certs; k++) {
        mbedtls_x509_crt_init(ds);
        if (hvi_crt_parse_der(ds, sod->cert[k], sod->cert_len[k]) == 0 && sod_is_signer(sod, ds))
            return true;
        mbedtls_x509_crt_free(ds);
    }
    for (const mbedtls_x509_crt *x = &t->ds; x && x->raw.len; x = x->next) {
        if (!sod_is_signer(sod, x))
            continue;
        mbedtls_x509_crt_init(ds);
        if (hvi_crt_parse_der(ds, x->raw.p, x->raw.len) == 0)
            return true;
        mbedtls_x509_crt_free(ds);
    }
    mbedtls_x509_crt_init(ds);
    return false;
}

/*
 * The DS key was in use when it signed: EF.SOD's signingTime (a signed
 * attribute, so checked after the signature) within the DS certificate's
 * privateKeyUsagePeriod (X.509 §9.2.2.5), both ends included. A state gives
 * its DS key a signing period shorter than the certificate, which must
 * outlive the documents (9303-12 §4.1.1 and Table 1: up to 3 months of
 * signing, about 10 years of certificate; Table 6 makes the extension
 * mandatory, non-critical, for a DS); a SOD dated outside it was made by a key
 * the state did not use then (retired, or not yet issued). Without the
 * extension, or without a signingTime, there is nothing to compare.
 */
static enum hv_err check_key_usage_period(struct ctx *c, const struct sod *sod,
                                          const mbedtls_x509_crt *ds)
{
    struct hvi_key_period kp;
    struct hv_time at;
    if (hvi_key_usage_period(ds, &kp) <= 0 || !sod->signing_time)
        return HV_OK; /* a malformed one was refused with the DS profile */
    if (!parse_signing_time(sod, &at))
        return fail(c, HV_ERR_DS_KEY_USAGE_PERIOD,
                    "EF.SOD's signingTime is not UTCTime or GeneralizedTime to the second, so it "
                    "cannot be held to the Document Signer's privateKeyUsagePeriod");
    const struct hv_time *b = kp.has_not_before ? &kp.not_before : NULL;
    const struct hv_time *a = kp.has_not_after ? &kp.not_after : NULL;
    if ((b && hvi_time_cmp(&at, b) < 0) || (a && hvi_time_cmp(&at, a) > 0))
        return fail(c, HV_ERR_DS_KEY_USAGE_PERIOD,
                    "EF.SOD's signingTime %04d-%02d-%02dT%02d:%02d:%02dZ is %s the Document "
                    "Signer's privateKeyUsagePeriod",
                    at.year, at.mon, at.day, at.hour, at.min, at.sec,
                    b && hvi_time_cmp(&at, b) < 0 ? "before" : "after");
    return HV_OK;
}

/*
 * Step 9: passive authentication (9303-11 §5.1) with the profiles of
 * 9303-12: the EF.SOD signer is a Document Signer (never a CSCA, never a
 * reader's certificate) issued by a CSCA of the store, of the state that
 * issued the document, not revoked, valid (at `now`, or at the SOD's
 * signingTime for an expired document the platform accepts), and its
 * signature covers every data group of the assertion.
 */
static enum hv_err check_passive(struct ctx *c, const struct hv_options *opt, const struct sod *sod,
                                 const struct mrz *m, bool expired)
{
    const struct hv_trust *t = opt->trust;
    mbedtls_x509_crt ds;
    char why[160];
    enum hv_err e = HV_OK;
    if (!find_signer(sod, t, &ds))
        return fail(c, HV_ERR_DS_UNTRUSTED,
                    "no certificate in EF.SOD, nor a given Document Signer, is the one its "
                    "SignerInfo names");
    const char *not = hvi_not_document_signer(&ds);
    if (not ) {
        e = fail(c, HV_ERR_DS_UNTRUSTED, "the EF.SOD signer is not a Document Signer: %s", not );
        goto out;
    }
    /* The time the chain is judged at: now, or when it signed for an accepted expired document
     * (its DS may have expired with it; docs/assertion.md, "Document policy"). */
    struct hv_time when = opt->now;
    const char *at = "";
    if (expired) {
        if (!parse_signing_time(sod, &when)) {
            e = fail(c, HV_ERR_CERT_EXPIRED,
                     "the document expired and EF.SOD has no signingTime to judge its signer at");
            goto out;
        }
        if (hvi_time_cmp(&when, &opt->now) > 0) {
            e = fail(c, HV_ERR_CERT_NOT_YET_VALID, "EF.SOD's signingTime is after now");
            goto out;
        }
        at = " at EF.SOD's signingTime";
    }
    /* Its CSCA: one of the store whose name and key issued it, that someone still vouches for
     * (a master list's CSCA no more once its signer is revoked, or its CSCA's CRLs are stale),
     * valid at `when` if any is. */
    const mbedtls_x509_crt *csca = NULL;
    enum hv_err withdrawn = HV_OK;
    char why_withdrawn[192] = "";
    size_t pos = 0;
    for (const mbedtls_x509_crt *x = &t->csca; x && x->raw.len; x = x->next, pos++) {
        if (!hvi_issued_by(&ds, x))
            continue;
        /* Revocation is judged now, whatever time the signer is judged at (as below). */
        enum hv_err v = hvi_csca_vouched(t, pos, &opt->now, why, sizeof why);
        if (v != HV_OK) {
            if (withdrawn != HV_ERR_CRL_STALE) {
                withdrawn = v;
                snprintf(why_withdrawn, sizeof why_withdrawn, "%s", why);
            }
            continue;
        }
        bool valid = hvi_validity(x, &when, "", why, sizeof why) == HV_OK;
        if (!csca || valid)
            csca = x;
        if (valid)
            break;
    }
    if (!csca && withdrawn != HV_OK) {
        e = fail(c, withdrawn, "the Document Signer's CSCA came only from master lists: %s",
                 why_withdrawn);
        goto out;
    }
    if (!csca) {
        e = fail(c, HV_ERR_DS_UNTRUSTED, "the Document Signer is not issued by a given CSCA");
        goto out;
    }
    /* 9303-12 Table 5: the DS's country is its CSCA's, and both are the document's issuing
     * state. */
    char ds_c[3], csca_c[3];
    /* The field without its trailing fillers ("D<<" is "D"); a filler inside ("D<E") is no
     * code of 9303-3 and maps to nothing. */
    const char *state = m->issuing_state;
    const char *doc_c = hvi_country_alpha2(state);
    if (!hvi_subject_country(&ds, ds_c) || !hvi_subject_country(csca, csca_c) ||
        strcmp(ds_c, csca_c) != 0) {
        e = fail(c, HV_ERR_DS_UNTRUSTED, "the Document Signer's country is not its CSCA's");
        goto out;
    }
    if (!doc_c || strcmp(doc_c, ds_c) != 0) {
        e = fail(c, HV_ERR_DS_UNTRUSTED,
                 "a Document Signer of %s signed a document of issuing state %s (%s)", ds_c, state,
                 doc_c ? doc_c : "no ISO 3166 code");
        goto out;
    }
    if (hvi_revoked(t, HVI_PKI_ICAO, &ds)) {
        e = fail(c, HV_ERR_REVOKED, "the Document Signer is revoked by its CSCA's CRL");
        goto out;
    }
    /* A CSCA key that was compromised: its state's CRL (signed by the renewed CSCA key, same
     * name) lists the old CSCA certificate. */
    if (hvi_revoked(t, HVI_PKI_ICAO, csca)) {
        e = fail(c, HV_ERR_REVOKED, "the CSCA certificate is revoked by a CRL of its name");
        goto out;
    }
    char what[96];
    snprintf(what, sizeof what, "CSCA certificate%s", at);
    e = hvi_validity(csca, &when, what, c->res->message, sizeof c->res->message);
    if (e == HV_OK) {
        snprintf(what, sizeof what, "Document Signer certificate%s", at);
        e = hvi_validity(&ds, &when, what, c->res->message, sizeof c->res->message);
    }
    /* Revocation is judged now, whatever time the signer is judged at: with CRLs current now. */
    if (e == HV_OK)
        e = hvi_crl_current(t, HVI_PKI_ICAO, &ds.issuer, &opt->now, "the Document Signer's CSCA",
                            c->res->message, sizeof c->res->message);
    if (e == HV_OK)
        e = hvi_crl_current(t, HVI_PKI_ICAO, &csca->issuer, &opt->now, "the CSCA", c->res->message,
                            sizeof c->res->message);
    if (e != HV_OK) {
        c->res->err = e;
        goto out;
    }
    enum sod_err se = sod_check_signed(sod, &ds, &hvi_libcrypto_engine);
    if (se != SOD_OK) {
        e = fail(c, HV_ERR_SOD_SIGNATURE, "EF.SOD signature does not verify (%s)", sod_err_str(se));
        goto out;
    }
    if ((e = check_key_usage_period(c, sod, &ds)) != HV_OK)
        goto out;
    static const struct {
        unsigned number;
        enum field f;
    } dg_of[] = {{1, F_DG1}, {11, F_DG11}, {14, F_DG14}, {15, F_DG15}};
    for (size_t k = 0; k < sizeof dg_of / sizeof dg_of[0] && e == HV_OK; k++) {
        if (!c->b[dg_of[k].f])
            continue;
        se = sod_check_dg(sod, dg_of[k].number, c->b[dg_of[k].f], c->n[dg_of[k].f]);
        if (se != SOD_OK) {
            c->res->failed_dg = dg_of[k].number;
            e = fail(c, HV_ERR_DG_HASH, "DG%u does not match EF.SOD (%s)", dg_of[k].number,
                     sod_err_str(se));
        }
    }
out:
    mbedtls_x509_crt_free(&ds);
    return e;
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

/* Step 7: DG1 with every check digit (9303-3 §4.9). */
static enum hv_err check_dg1(struct ctx *c, struct lds_dg1 *d1)
{
    enum lds_err le = lds_dg1_parse(c->b[F_DG1], c->n[F_DG1], d1);
    if (le == LDS_ERR_MRZ_CHECK_DIGIT) {
        unsigned bit = d1->cd_fail & -d1->cd_fail;
        return fail(c, HV_ERR_DG1, "DG1: the %s check digit does not match", mrz_cd_name(bit));
    }
    if (le != LDS_OK)
        return fail(c, HV_ERR_DG1, "DG1 does not parse (%s)", lds_err_str(le));
    return HV_OK;
}

/* Step 10: DG11 parses, and the identity is exactly what DG1 (and DG11) say. */
static enum hv_err check_identity(struct ctx *c, cJSON **identity)
{
    if (c->b[F_DG11]) {
        struct lds_dg11 d11;
        enum lds_err le = lds_dg11_parse(c->b[F_DG11], c->n[F_DG11], &d11);
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

/* Step 12: the card's signature over aa_challenge with the DG15 key. */
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
    struct sod sod;
    enum sod_err se = sod_parse(c->b[F_SOD], c->n[F_SOD], &sod);
    if (se != SOD_OK)
        return fail(c, HV_ERR_SOD_MALFORMED, "EF.SOD does not parse (%s)", sod_err_str(se));
    struct lds_dg1 d1;
    if ((e = check_dg1(c, &d1)) != HV_OK)
        return e;
    c->res->document_expired = document_expired(&d1.mrz, &opt->now);
    if (c->res->document_expired && !opt->allow_expired_document)
        return fail(c, HV_ERR_DOCUMENT_EXPIRED,
                    "the document expired (date of expiry %.6s, YYMMDD)", d1.mrz.expiry_date);
    if ((e = check_passive(c, opt, &sod, &d1.mrz, c->res->document_expired)) != HV_OK ||
        (e = check_identity(c, identity)) != HV_OK)
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
            /* document_expired was set on the way */
            if (c.attested) {
                snprintf(res->reader_id, sizeof res->reader_id, "%s", c.reader_id);
                res->counter = c.counter;
            }
            res->message[0] = '\0';
        }
    }
    res->err = e;
    if (e != HV_OK)
        res->document_expired = false;
    cJSON_Delete(identity);
    cJSON_Delete(c.root);
    for (size_t f = 0; f < F_N; f++)
        free(c.b[f]);
    return e;
}

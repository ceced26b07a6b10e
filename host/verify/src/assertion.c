/*
 * The assertion's identity mapping and its builder (docs/assertion.md): the
 * one definition of the JSON that the bridge writes and hv_verify() reads.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/pk.h>

#include "hawiya/aa.h"
#include "hawiya/assertion.h"
#include "hawiya/lds.h"
#include "internal.h"

/* MRZ text: fillers at the end dropped, inner '<' as spaces (9303-3 §4.2.2 filler). */
const char *hv_err_str(enum hv_err e)
{
    switch (e) {
    case HV_OK: return "HV_OK";
    case HV_ERR_ARGUMENT: return "HV_ERR_ARGUMENT";
    case HV_ERR_MEMORY: return "HV_ERR_MEMORY";
    case HV_ERR_FORMAT: return "HV_ERR_FORMAT";
    case HV_ERR_VERSION: return "HV_ERR_VERSION";
    case HV_ERR_CHALLENGE: return "HV_ERR_CHALLENGE";
    case HV_ERR_ORIGIN: return "HV_ERR_ORIGIN";
    case HV_ERR_SOD_MALFORMED: return "HV_ERR_SOD_MALFORMED";
    case HV_ERR_DS_UNTRUSTED: return "HV_ERR_DS_UNTRUSTED";
    case HV_ERR_CERT_EXPIRED: return "HV_ERR_CERT_EXPIRED";
    case HV_ERR_CERT_NOT_YET_VALID: return "HV_ERR_CERT_NOT_YET_VALID";
    case HV_ERR_SOD_SIGNATURE: return "HV_ERR_SOD_SIGNATURE";
    case HV_ERR_DG_HASH: return "HV_ERR_DG_HASH";
    case HV_ERR_DG1: return "HV_ERR_DG1";
    case HV_ERR_LDS: return "HV_ERR_LDS";
    case HV_ERR_IDENTITY: return "HV_ERR_IDENTITY";
    case HV_ERR_AA_CHALLENGE: return "HV_ERR_AA_CHALLENGE";
    case HV_ERR_AA_SIGNATURE: return "HV_ERR_AA_SIGNATURE";
    case HV_ERR_READER_UNTRUSTED: return "HV_ERR_READER_UNTRUSTED";
    case HV_ERR_READER_SIGNATURE: return "HV_ERR_READER_SIGNATURE";
    case HV_ERR_UNATTESTED: return "HV_ERR_UNATTESTED";
    case HV_ERR_REVOKED: return "HV_ERR_REVOKED";
    case HV_ERR_DOCUMENT_EXPIRED: return "HV_ERR_DOCUMENT_EXPIRED";
    case HV_ERR_TRUST_STORE: return "HV_ERR_TRUST_STORE";
    case HV_ERR_CRL_STALE: return "HV_ERR_CRL_STALE";
    case HV_ERR_DS_KEY_USAGE_PERIOD: return "HV_ERR_DS_KEY_USAGE_PERIOD";
    }
    return "HV_ERR_UNKNOWN";
}

bool hvi_reader_id_ok(const char *id)
{
    size_t n = strlen(id);
    if (n < 1 || n > HV_READER_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return false;
    }
    return true;
}

static cJSON *mrz_text(const char *s)
{
    char buf[64];
    size_t n = strlen(s);
    if (n >= sizeof buf)
        n = sizeof buf - 1;
    while (n > 0 && s[n - 1] == '<')
        n--;
    for (size_t i = 0; i < n; i++)
        buf[i] = s[i] == '<' ? ' ' : s[i];
    buf[n] = '\0';
    return cJSON_CreateString(buf);
}

/* A DG11 text field (UTF-8, checked by lds_dg11_parse) as written, '<' included. */
static bool add_text(cJSON *o, const char *key, const struct lds_bytes *b)
{
    if (!b->p)
        return true;
    char *s = malloc(b->len + 1);
    if (!s)
        return false;
    memcpy(s, b->p, b->len);
    s[b->len] = '\0';
    /* An embedded NUL would cut the JSON string short: drop such a field. */
    bool ok = true;
    if (strlen(s) == b->len)
        ok = cJSON_AddItemToObject(o, key, cJSON_CreateString(s));
    free(s);
    return ok;
}

static bool add_mrz(cJSON *o, const char *key, const char *v)
{
    cJSON *s = mrz_text(v);
    return s && cJSON_AddItemToObject(o, key, s);
}

cJSON *hv_identity_from_lds(const uint8_t *dg1, size_t dg1_len, const uint8_t *dg11,
                            size_t dg11_len)
{
    struct lds_dg1 d1;
    struct lds_dg11 d11;
    if (!dg1 || lds_dg1_parse(dg1, dg1_len, &d1) != LDS_OK)
        return NULL;
    if (dg11 && lds_dg11_parse(dg11, dg11_len, &d11) != LDS_OK)
        return NULL;
    const struct mrz *m = &d1.mrz;
    cJSON *o = cJSON_CreateObject();
    bool ok = o && add_mrz(o, "document_type", m->document_code) &&
              add_mrz(o, "issuing_state", m->issuing_state) &&
              add_mrz(o, "document_number", m->document_number) &&
              add_mrz(o, "surname", m->primary_identifier) &&
              add_mrz(o, "given_names", m->secondary_identifier) &&
              add_mrz(o, "nationality", m->nationality) &&
              cJSON_AddStringToObject(o, "birth_date", m->birth_date) &&
              cJSON_AddStringToObject(o, "sex",
                                      m->sex == 'M'   ? "M"
                                      : m->sex == 'F' ? "F"
                                                      : "X") &&
              cJSON_AddStringToObject(o, "expiry_date", m->expiry_date);
    if (ok && dg11) {
        ok = add_text(o, "full_name", &d11.full_name);
        if (ok && d11.n_other_names) {
            cJSON *a = cJSON_AddArrayToObject(o, "other_names");
            ok = a != NULL;
            for (size_t i = 0; ok && i < d11.n_other_names; i++) {
                const struct lds_bytes *b = &d11.other_names[i];
                char *s = malloc(b->len + 1);
                ok = s != NULL;
                if (ok) {
                    memcpy(s, b->p, b->len);
                    s[b->len] = '\0';
                    ok = cJSON_AddItemToArray(a, cJSON_CreateString(s));
                    free(s);
                }
            }
        }
        ok = ok && add_text(o, "personal_number", &d11.personal_number);
        /* 9303-10 §4.7.11 asks for 8 digits; older issuers wrote BCD, left out here. */
        const struct lds_bytes *dob = &d11.full_date_of_birth;
        bool digits = dob->p && dob->len == 8;
        for (size_t i = 0; digits && i < 8; i++)
            digits = dob->p[i] >= '0' && dob->p[i] <= '9';
        if (ok && digits)
            ok = add_text(o, "full_date_of_birth", dob);
        ok = ok && add_text(o, "place_of_birth", &d11.place_of_birth) &&
             add_text(o, "address", &d11.address) && add_text(o, "telephone", &d11.telephone) &&
             add_text(o, "profession", &d11.profession) && add_text(o, "title", &d11.title) &&
             add_text(o, "personal_summary", &d11.personal_summary) &&
             add_text(o, "other_td_numbers", &d11.other_td_numbers) &&
             add_text(o, "custody_information", &d11.custody_information);
    }
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

const char *hvi_aa_hash_name(int h)
{
    switch (h) {
    case AA_HASH_SHA1: return "SHA1";
    case AA_HASH_SHA224: return "SHA224";
    case AA_HASH_SHA256: return "SHA256";
    case AA_HASH_SHA384: return "SHA384";
    case AA_HASH_SHA512: return "SHA512";
    case AA_HASH_RIPEMD160: return "RIPEMD160";
    }
    return NULL;
}

enum hv_err hvi_aa_params(const uint8_t *dg14, size_t dg14_len, const uint8_t *dg15,
                          size_t dg15_len, char *out, size_t cap, int *hash)
{
    struct lds_dg15 k;
    if (!dg15 || !out || cap < 32)
        return HV_ERR_ARGUMENT;
    out[0] = '\0';
    *hash = -1;
    if (lds_dg15_parse(dg15, dg15_len, &k, NULL) != LDS_OK)
        return HV_ERR_LDS;
    if (k.type == LDS_KEY_RSA) {
        strcpy(out, "rsa-iso9796-2");
        return HV_OK;
    }
    /* An EC key names no hash: DG14's ActiveAuthenticationInfo does (9303-11 §9.2.4). */
    struct security_infos *si = malloc(sizeof *si);
    if (!si)
        return HV_ERR_MEMORY;
    enum hv_err e = HV_ERR_LDS;
    enum aa_hash h;
    if (dg14 && lds_dg14_parse(dg14, dg14_len, si, NULL) == LDS_OK && si->has_aa &&
        aa_hash_from_oid(si->aa.signature_algorithm, si->aa.signature_algorithm_len, &h) == AA_OK &&
        hvi_aa_hash_name(h)) {
        strcpy(out, "ecdsa-plain-");
        strcat(out, hvi_aa_hash_name(h));
        *hash = (int)h;
        e = HV_OK;
    }
    free(si);
    return e;
}

enum hv_err hv_aa_algorithm(const uint8_t *dg14, size_t dg14_len, const uint8_t *dg15,
                            size_t dg15_len, char *out, size_t cap)
{
    int hash;
    return hvi_aa_params(dg14, dg14_len, dg15, dg15_len, out, cap, &hash);
}

static struct assertion_bytes ab(struct hv_bytes b)
{
    return (struct assertion_bytes){b.len ? b.p : NULL, b.p ? b.len : 0};
}

/* The card's part of the evidence, which every assertion has. */
static bool card_evidence_ok(const struct hv_evidence *ev)
{
    return ev && ev->origin && ev->origin[0] && ev->challenge.p &&
           ev->challenge.len >= HV_CHALLENGE_MIN && ev->challenge.len <= HV_CHALLENGE_MAX &&
           ev->dg1.p && ev->dg1.len && ev->dg15.p && ev->dg15.len && ev->ef_sod.p &&
           ev->ef_sod.len && ev->aa_signature.p && ev->aa_signature.len;
}

/* The reader's part, for an attested assertion (the signature may be absent while it is made). */
static bool reader_evidence_ok(const struct hv_evidence *ev)
{
    return ev->reader_id && hvi_reader_id_ok(ev->reader_id) && ev->counter <= HV_MAX_COUNTER;
}

enum hv_err hv_aa_challenge(const struct hv_evidence *ev, uint8_t out[HV_AA_CHALLENGE_LEN])
{
    if (!ev || !ev->origin)
        return HV_ERR_ARGUMENT;
    struct assertion_bytes c = ab(ev->challenge), d = ab(ev->dg1);
    struct assertion_bytes o = {(const uint8_t *)ev->origin, strlen(ev->origin)};
    return assertion_aa_challenge(&c, &o, &d, out) == ASSERTION_OK ? HV_OK : HV_ERR_ARGUMENT;
}

enum hv_err hv_reader_digest(const struct hv_evidence *ev, uint8_t out[HV_DIGEST_LEN])
{
    struct assertion_evidence e;
    if (!card_evidence_ok(ev) || !reader_evidence_ok(ev))
        return HV_ERR_ARGUMENT;
    memset(&e, 0, sizeof e);
    if (hv_aa_challenge(ev, e.aa_challenge) != HV_OK)
        return HV_ERR_ARGUMENT;
    e.challenge = ab(ev->challenge);
    e.origin = (struct assertion_bytes){(const uint8_t *)ev->origin, strlen(ev->origin)};
    e.ef_cardaccess = ab(ev->ef_cardaccess);
    e.ef_com = ab(ev->ef_com);
    e.dg1 = ab(ev->dg1);
    e.dg11 = ab(ev->dg11);
    e.dg14 = ab(ev->dg14);
    e.dg15 = ab(ev->dg15);
    e.ef_sod = ab(ev->ef_sod);
    e.aa_signature = ab(ev->aa_signature);
    e.counter = ev->counter;
    e.reader_id = (struct assertion_bytes){(const uint8_t *)ev->reader_id, strlen(ev->reader_id)};
    return assertion_tbs_digest(&e, out) == ASSERTION_OK ? HV_OK : HV_ERR_ARGUMENT;
}

static bool add_b64(cJSON *o, const char *key, struct hv_bytes b)
{
    if (!b.p || !b.len)
        return true; /* an optional file that was not read */
    char *s = hvi_b64_encode(b.p, b.len);
    bool ok = s && cJSON_AddStringToObject(o, key, s);
    free(s);
    return ok;
}

enum hv_err hv_assertion_build(const struct hv_evidence *ev, char **json)
{
    uint8_t aa[HV_AA_CHALLENGE_LEN];
    char alg[32];
    if (!json)
        return HV_ERR_ARGUMENT;
    *json = NULL;
    if (!card_evidence_ok(ev))
        return HV_ERR_ARGUMENT;
    /* Attested: the reader's id, certificate and signature; unattested: none of them. */
    bool attested = ev->reader_id != NULL;
    if (attested
            ? !reader_evidence_ok(ev) || !ev->reader_certificate.p || !ev->reader_certificate.len ||
                  !ev->reader_signature.p || !ev->reader_signature.len
            : ev->reader_certificate.len || ev->reader_signature.len || ev->counter)
        return HV_ERR_ARGUMENT;
    if (hv_aa_challenge(ev, aa) != HV_OK)
        return HV_ERR_ARGUMENT;
    cJSON *id = hv_identity_from_lds(ev->dg1.p, ev->dg1.len, ev->dg11.len ? ev->dg11.p : NULL,
                                     ev->dg11.len);
    if (!id)
        return lds_dg1_parse(ev->dg1.p, ev->dg1.len, &(struct lds_dg1){0}) != LDS_OK ? HV_ERR_DG1
                                                                                     : HV_ERR_LDS;
    const char *algorithm = ev->aa_algorithm;
    if (!algorithm) {
        enum hv_err e = hv_aa_algorithm(ev->dg14.len ? ev->dg14.p : NULL, ev->dg14.len, ev->dg15.p,
                                        ev->dg15.len, alg, sizeof alg);
        if (e != HV_OK) {
            cJSON_Delete(id);
            return e;
        }
        algorithm = alg;
    }
    cJSON *o = cJSON_CreateObject(), *r = NULL;
    char *chal = hvi_b64url_encode(ev->challenge.p, ev->challenge.len);
    bool ok = o && chal && cJSON_AddStringToObject(o, "format", HV_FORMAT) &&
              cJSON_AddStringToObject(o, "challenge", chal) &&
              cJSON_AddStringToObject(o, "origin", ev->origin) &&
              cJSON_AddItemToObject(o, "identity", id);
    if (!ok)
        cJSON_Delete(id); /* not owned by o */
    ok = ok && add_b64(o, "ef_com", ev->ef_com) && add_b64(o, "dg1", ev->dg1) &&
         add_b64(o, "dg11", ev->dg11) && add_b64(o, "dg14", ev->dg14) &&
         add_b64(o, "dg15", ev->dg15) && add_b64(o, "sod", ev->ef_sod) &&
         add_b64(o, "ef_cardaccess", ev->ef_cardaccess) &&
         add_b64(o, "aa_challenge", (struct hv_bytes){aa, sizeof aa}) &&
         add_b64(o, "aa_signature", ev->aa_signature) &&
         cJSON_AddStringToObject(o, "aa_algorithm", algorithm) &&
         (r = cJSON_AddObjectToObject(o, "reader")) != NULL &&
         cJSON_AddBoolToObject(r, "attested", attested);
    if (ok && attested) {
        /* The counter as digits: cJSON would print a double with %.15g/%.17g. */
        char digits[24];
        snprintf(digits, sizeof digits, "%llu", (unsigned long long)ev->counter);
        ok = cJSON_AddStringToObject(r, "id", ev->reader_id) &&
             add_b64(r, "certificate", ev->reader_certificate) &&
             cJSON_AddItemToObject(r, "counter", cJSON_CreateRaw(digits)) &&
             add_b64(r, "signature", ev->reader_signature);
    }
    free(chal);
    if (ok)
        *json = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return *json ? HV_OK : HV_ERR_MEMORY;
}

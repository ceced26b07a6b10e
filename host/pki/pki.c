/*
 * hawiya-pki's three jobs: the CA directory (init), one card's files
 * (card), a reader device certificate (reader). See docs/pki.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <mbedtls/x509_crt.h>

#include "hawiya/hex.h"
#include "hawiya/wipe.h"
#include "pki_internal.h"

const char *pki_err_str(enum pki_err e)
{
    switch (e) {
    case PKI_OK: return "PKI_OK";
    case PKI_ERR_USAGE: return "PKI_ERR_USAGE";
    case PKI_ERR_IO: return "PKI_ERR_IO";
    case PKI_ERR_NO_MEMORY: return "PKI_ERR_NO_MEMORY";
    case PKI_ERR_CRYPTO: return "PKI_ERR_CRYPTO";
    case PKI_ERR_CA_DIR: return "PKI_ERR_CA_DIR";
    case PKI_ERR_NO_DS: return "PKI_ERR_NO_DS";
    case PKI_ERR_BAD_KEY: return "PKI_ERR_BAD_KEY";
    case PKI_ERR_RANGE: return "PKI_ERR_RANGE";
    case PKI_ERR_MRZ_CHECK: return "PKI_ERR_MRZ_CHECK";
    case PKI_ERR_SECINFO_CHECK: return "PKI_ERR_SECINFO_CHECK";
    }
    return "PKI_ERR_UNKNOWN";
}

/* ICAO 9303-3 §5 codes of the states our personas use, to ISO 3166-1 alpha-2 for X.509 C=. */
const char *pki_country_alpha2(const char *state)
{
    /* UTO is Utopia, the state of the 9303 specimens; UT is its alpha-2 code there. */
    static const char *const map[][2] = {
        {"MAR", "MA"}, {"DZA", "DZ"}, {"TUN", "TN"}, {"EGY", "EG"}, {"FRA", "FR"}, {"D", "DE"},
        {"NLD", "NL"}, {"GBR", "GB"}, {"ESP", "ES"}, {"ITA", "IT"}, {"BEL", "BE"}, {"SAU", "SA"},
        {"SEN", "SN"}, {"MRT", "MR"}, {"LBY", "LY"}, {"SWE", "SE"}, {"UTO", "UT"},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(state, map[i][0]) == 0)
            return map[i][1];
    return NULL;
}

#define READER_CA_SUBJECT "C=UT,O=Hawiya Test Readers,CN=Hawiya Test Reader Manufacturer CA"
#define ML_SIGNER_NAME    "ml-signer"

static const uint8_t reader_ca_policy[] = PKI_READER_CA_POLICY;

static void csca_subject(const char *state, char *buf, size_t cap)
{
    snprintf(buf, cap, "C=%s,O=Hawiya Test PKI,OU=CSCA,CN=Hawiya Test CSCA %s",
             pki_country_alpha2(state), state);
}

/* The Document Signers of one state: the current one, the old one, the revoked one, and the
 * ones that break the 9303-12 DS profile on purpose (in bad/). */
enum ds_kind {
    DS_CURRENT,
    DS_OLD,
    DS_REVOKED,
    DS_KEY_PERIOD,       /* with a privateKeyUsagePeriod (2024), see PKI_DS_PKUP_* */
    DS_KEY_PERIOD_CRIT,  /* the same period marked critical, with fractions of a second */
    DS_BAD_CA,           /* basicConstraints cA TRUE */
    DS_BAD_KEYCERTSIGN,  /* keyUsage keyCertSign only */
    DS_BAD_NO_KEY_USAGE, /* no keyUsage extension */
    DS_BAD_NO_COUNTRY,   /* no countryName in the subject */
    DS_BAD_READER_CA,    /* issued by the reader manufacturer CA */
    DS_KINDS
};

static const struct {
    const char *suffix; /* file name: "ds-" state suffix */
    const char *label;  /* rng label: label state */
    const char *cn;     /* CN suffix */
    uint8_t serial;
} ds_kinds[DS_KINDS] = {
    [DS_CURRENT] = {"", "ds:", "2024", 0x24},
    [DS_OLD] = {"-old", "ds-old:", "2009", 0x09},
    [DS_REVOKED] = {"-revoked", "ds-revoked:", "revoked", 0x25},
    [DS_KEY_PERIOD] = {"-pkup", "ds-pkup:", "key usage 2024", 0x26},
    [DS_KEY_PERIOD_CRIT] = {"-pkup-critical", "ds-pkup-critical:", "critical key usage 2024", 0x27},
    [DS_BAD_CA] = {"-ca", "bad:ds-ca:", "cA", 0x31},
    [DS_BAD_KEYCERTSIGN] = {"-keycertsign", "bad:ds-kcs:", "keyCertSign", 0x32},
    [DS_BAD_NO_KEY_USAGE] = {"-no-keyusage", "bad:ds-noku:", "no keyUsage", 0x33},
    [DS_BAD_NO_COUNTRY] = {"-no-country", "bad:ds-noc:", "no country", 0x34},
    [DS_BAD_READER_CA] = {"-reader-ca", "bad:ds-rca:", "under the reader CA", 0x35},
};

/* A '<' filled state code ("D<<") is stored without its fillers. */
static void state_name(const char *state, char out[4])
{
    size_t n = 0;
    while (n < 3 && state[n] != '\0' && state[n] != '<') {
        out[n] = state[n];
        n++;
    }
    out[n] = '\0';
}

struct issued {
    mbedtls_pk_context key;
    struct pki_buf cert;
};

static void issued_free(struct issued *x)
{
    mbedtls_pk_free(&x->key);
    pki_buf_free(&x->cert);
}

/* Key from rng(seed, label), certificate, files root/sub/name.der/.pem and
 * root/private/name.key. */
static enum pki_err issue(const char *root, const char *sub, const char *name, uint64_t seed,
                          const char *label, mbedtls_ecp_group_id grp,
                          const struct pki_cert_spec *spec, struct issued *issuer,
                          struct issued *out)
{
    struct pki_rng r;
    struct pki_buf keyder = {0};
    char file[128];
    mbedtls_pk_init(&out->key);
    out->cert = (struct pki_buf){0};
    char *dir = pki_path(root, sub), *keys = pki_path(root, PKI_DIR_PRIVATE);
    enum pki_err e = dir && keys ? pki_rng_init(&r, seed, label) : PKI_ERR_NO_MEMORY;
    if (e != PKI_OK) {
        free(dir);
        free(keys);
        return e;
    }
    e = pki_gen_key(&out->key, grp, &r);
    if (e == PKI_OK)
        e = pki_make_cert(spec, &out->key, issuer ? &issuer->key : &out->key, &r, &out->cert);
    if (e == PKI_OK)
        e = pki_write_cert_files(dir, name, &out->cert);
    if (e == PKI_OK)
        e = pki_key_der(&out->key, true, &keyder);
    snprintf(file, sizeof file, "%s.key", name);
    if (e == PKI_OK)
        e = pki_write_file(keys, file, keyder.p, keyder.len);
    pki_buf_free(&keyder);
    pki_rng_free(&r);
    free(dir);
    free(keys);
    return e;
}

/* One Document Signer of `kind` for state, under csca (or the reader CA for DS_BAD_READER_CA). */
static enum pki_err issue_ds(const char *root, uint64_t seed, const char *state, enum ds_kind kind,
                             struct issued *csca, struct issued *reader_ca, struct issued *out)
{
    char subject[200], issuer[160], name[48], label[48];
    uint8_t serial[4] = {ds_kinds[kind].serial, (uint8_t)state[0], (uint8_t)state[1],
                         (uint8_t)state[2]};
    csca_subject(state, issuer, sizeof issuer);
    if (kind == DS_BAD_NO_COUNTRY)
        snprintf(subject, sizeof subject,
                 "O=Hawiya Test PKI,OU=Document Signers,CN=Hawiya Test DS %s %s", state,
                 ds_kinds[kind].cn);
    else
        snprintf(subject, sizeof subject,
                 "C=%s,O=Hawiya Test PKI,OU=Document Signers,CN=Hawiya Test DS %s %s",
                 pki_country_alpha2(state), state, ds_kinds[kind].cn);
    /* 9303-12 Table 6 DS: keyUsage critical digitalSignature, no basicConstraints (an end
     * entity). */
    struct pki_cert_spec s = {
        .subject = subject,
        .issuer = kind == DS_BAD_READER_CA ? READER_CA_SUBJECT : issuer,
        .serial = serial,
        .serial_len = sizeof serial,
        .not_before = kind == DS_OLD ? PKI_OLD_DS_NOT_BEFORE : PKI_DS_NOT_BEFORE,
        .not_after = kind == DS_OLD ? PKI_OLD_DS_NOT_AFTER : PKI_DS_NOT_AFTER,
        .is_ca = kind == DS_BAD_CA,
        .path_len = kind == DS_BAD_CA ? 0 : -1,
        .basic_constraints = kind == DS_BAD_CA,
        .key_usage = kind == DS_BAD_KEYCERTSIGN    ? MBEDTLS_X509_KU_KEY_CERT_SIGN
                     : kind == DS_BAD_NO_KEY_USAGE ? 0
                                                   : MBEDTLS_X509_KU_DIGITAL_SIGNATURE,
        .pkup_not_before = kind == DS_KEY_PERIOD        ? PKI_DS_PKUP_NOT_BEFORE
                           : kind == DS_KEY_PERIOD_CRIT ? PKI_DS_PKUP_CRIT_NOT_BEFORE
                                                        : NULL,
        .pkup_not_after = kind == DS_KEY_PERIOD        ? PKI_DS_PKUP_NOT_AFTER
                          : kind == DS_KEY_PERIOD_CRIT ? PKI_DS_PKUP_CRIT_NOT_AFTER
                                                       : NULL,
        .pkup_critical = kind == DS_KEY_PERIOD_CRIT,
    };
    snprintf(name, sizeof name, "ds-%s%s", state, ds_kinds[kind].suffix);
    snprintf(label, sizeof label, "%s%s", ds_kinds[kind].label, state);
    return issue(root, kind <= DS_KEY_PERIOD_CRIT ? PKI_DIR_DS : PKI_DIR_BAD, name, seed, label,
                 MBEDTLS_ECP_DP_BP256R1, &s, kind == DS_BAD_READER_CA ? reader_ca : csca, out);
}

static enum pki_err write_crl(const char *root, const char *name, const struct issued *issuer,
                              const struct pki_buf *revoked, size_t n, uint64_t seed)
{
    struct pki_rng r;
    struct pki_buf crl = {0};
    char label[64], file[64];
    snprintf(label, sizeof label, "crl:%s", name);
    enum pki_err e = pki_rng_init(&r, seed, label);
    if (e != PKI_OK)
        return e;
    e = pki_make_crl(&issuer->cert, (mbedtls_pk_context *)&issuer->key, revoked, n, 1, NULL, NULL,
                     &r, &crl);
    char *dir = pki_path(root, PKI_DIR_CRL);
    snprintf(file, sizeof file, "%s.crl", name);
    if (e == PKI_OK)
        e = dir ? pki_write_file(dir, file, crl.p, crl.len) : PKI_ERR_NO_MEMORY;
    free(dir);
    pki_buf_free(&crl);
    pki_rng_free(&r);
    return e;
}

static enum pki_err init_state(const char *root, uint64_t seed, const char *state,
                               struct issued *reader_ca, struct pki_buf *bundle,
                               struct issued *csca_out)
{
    char subject[160], name[32], label[48];
    uint8_t serial[4] = {0x01, (uint8_t)state[0], (uint8_t)state[1], (uint8_t)state[2]};
    struct issued *csca = csca_out, ds;
    csca_subject(state, subject, sizeof subject);
    /* 9303-12 §7.1.1 CSCA: self-signed, cA with pathLen 0, keyCertSign + cRLSign. */
    struct pki_cert_spec s = {
        .subject = subject,
        .issuer = subject,
        .serial = serial,
        .serial_len = sizeof serial,
        .not_before = PKI_CSCA_NOT_BEFORE,
        .not_after = PKI_CSCA_NOT_AFTER,
        .is_ca = true,
        .path_len = 0,
        .basic_constraints = true,
        .key_usage = MBEDTLS_X509_KU_KEY_CERT_SIGN | MBEDTLS_X509_KU_CRL_SIGN,
    };
    snprintf(name, sizeof name, "csca-%s", state);
    snprintf(label, sizeof label, "csca:%s", state);
    enum pki_err e =
        issue(root, PKI_DIR_CSCA, name, seed, label, MBEDTLS_ECP_DP_BP256R1, &s, NULL, csca);
    if (e == PKI_OK)
        e = pki_cert_pem(&csca->cert, bundle);
    for (int k = 0; e == PKI_OK && k < DS_KINDS; k++) {
        e = issue_ds(root, seed, state, (enum ds_kind)k, csca, reader_ca, &ds);
        /* The CSCA's CRL revokes its revoked DS (and nothing else). */
        if (e == PKI_OK && k == DS_REVOKED)
            e = write_crl(root, name, csca, &ds.cert, 1, seed);
        issued_free(&ds);
    }
    return e;
}

enum pki_err pki_make_masterlist(const struct pki_buf *certs, size_t n_certs,
                                 const struct pki_buf *signer_cert, mbedtls_pk_context *signer_key,
                                 struct pki_rng *rng, struct pki_buf *out)
{
    struct pki_buf list = {0}, set = {0};
    struct pki_buf *items = calloc(n_certs ? n_certs : 1, sizeof *items);
    if (items == NULL)
        return PKI_ERR_NO_MEMORY;
    enum pki_err e = der_uint(&list, 0);
    for (size_t i = 0; e == PKI_OK && i < n_certs; i++)
        e = pki_buf_append(&items[i], certs[i].p, certs[i].len);
    if (e == PKI_OK)
        e = der_set_of(&set, DER_SET, items, n_certs);
    else
        for (size_t i = 0; i < n_certs; i++)
            pki_buf_free(&items[i]);
    free(items);
    if (e == PKI_OK)
        e = pki_buf_append(&list, set.p, set.len);
    struct pki_buf ml = {0};
    if (e == PKI_OK)
        e = der_wrap(&ml, DER_SEQUENCE, &list);
    if (e == PKI_OK)
        e = pki_make_signed_data(OID_CSCA_MASTER_LIST, &ml, signer_cert, 1, signer_cert, signer_key,
                                 PKI_ML_SIGNING_TIME, rng, out);
    pki_buf_free(&list);
    pki_buf_free(&set);
    pki_buf_free(&ml);
    return e;
}

enum pki_err pki_init(const char *out_dir, uint64_t seed, const char (*states)[4], size_t n_states)
{
    struct pki_buf bundle = {0};
    char st[PKI_MAX_STATES][4];
    struct issued csca[PKI_MAX_STATES], rca, mls;
    size_t n_csca = 0;
    if (n_states == 0 || n_states > PKI_MAX_STATES)
        return PKI_ERR_USAGE;
    for (size_t i = 0; i < n_states; i++) {
        state_name(states[i], st[i]);
        if (pki_country_alpha2(st[i]) == NULL)
            return PKI_ERR_USAGE;
    }
    static const char *const dirs[] = {PKI_DIR_CSCA,      PKI_DIR_READER_CA, PKI_DIR_DS,
                                       PKI_DIR_BAD,       PKI_DIR_PRIVATE,   PKI_DIR_CRL,
                                       PKI_DIR_MASTERLIST};
    enum pki_err e = pki_mkdir(out_dir);
    for (size_t i = 0; e == PKI_OK && i < sizeof dirs / sizeof dirs[0]; i++) {
        char *d = pki_path(out_dir, dirs[i]);
        e = d ? pki_mkdir(d) : PKI_ERR_NO_MEMORY;
        free(d);
    }

    /* The reader manufacturer CA: ECDSA P-256, signs reader device certificates; its policy
     * says so, which no CSCA has. */
    const uint8_t rserial[] = {0x52, 0x43, 0x41, 0x01};
    struct pki_cert_spec s = {
        .subject = READER_CA_SUBJECT,
        .issuer = READER_CA_SUBJECT,
        .serial = rserial,
        .serial_len = sizeof rserial,
        .not_before = PKI_READER_NOT_BEFORE,
        .not_after = PKI_READER_NOT_AFTER,
        .is_ca = true,
        .path_len = 0,
        .basic_constraints = true,
        .key_usage = MBEDTLS_X509_KU_KEY_CERT_SIGN | MBEDTLS_X509_KU_CRL_SIGN,
        .policy = reader_ca_policy,
        .policy_len = sizeof reader_ca_policy,
    };
    mbedtls_pk_init(&rca.key);
    rca.cert = (struct pki_buf){0};
    if (e == PKI_OK)
        e = issue(out_dir, PKI_DIR_READER_CA, "reader-ca", seed, "reader-ca",
                  MBEDTLS_ECP_DP_SECP256R1, &s, NULL, &rca);
    /* Its CRL, with nothing revoked yet (`hawiya-pki crl` makes others). */
    if (e == PKI_OK)
        e = write_crl(out_dir, "reader-ca", &rca, NULL, 0, seed);

    for (size_t i = 0; e == PKI_OK && i < n_states; i++) {
        bool dup = false;
        for (size_t j = 0; j < i; j++)
            dup = dup || strcmp(st[i], st[j]) == 0;
        if (dup)
            continue;
        e = init_state(out_dir, seed, st[i], &rca, &bundle, &csca[n_csca]);
        n_csca++;
    }
    char *csca_dir = pki_path(out_dir, PKI_DIR_CSCA);
    if (e == PKI_OK)
        e = csca_dir ? pki_write_file(csca_dir, "csca.pem", bundle.p, bundle.len)
                     : PKI_ERR_NO_MEMORY;
    free(csca_dir);
    pki_buf_free(&bundle);

    /* The Master List Signer (9303-12 Table 6 and §7.1.1.3: digitalSignature, extKeyUsage
     * id-icao-cscaMasterListSigningKey) under the first state's CSCA, and the master list of
     * every CSCA it signs. */
    mbedtls_pk_init(&mls.key);
    mls.cert = (struct pki_buf){0};
    if (e == PKI_OK) {
        char subject[160];
        const uint8_t mserial[] = {0x4D, 0x4C, 0x53, 0x01};
        snprintf(subject, sizeof subject,
                 "C=%s,O=Hawiya Test PKI,OU=Master List Signers,CN=Hawiya Test ML Signer %s",
                 pki_country_alpha2(st[0]), st[0]);
        char issuer[160];
        csca_subject(st[0], issuer, sizeof issuer);
        struct pki_cert_spec m = {
            .subject = subject,
            .issuer = issuer,
            .serial = mserial,
            .serial_len = sizeof mserial,
            .not_before = PKI_DS_NOT_BEFORE,
            .not_after = PKI_DS_NOT_AFTER,
            .key_usage = MBEDTLS_X509_KU_DIGITAL_SIGNATURE,
            .ext_key_usage = OID_ML_SIGNING_KEY,
        };
        e = issue(out_dir, PKI_DIR_MASTERLIST, ML_SIGNER_NAME, seed, "ml-signer",
                  MBEDTLS_ECP_DP_BP256R1, &m, &csca[0], &mls);
        /* bad/: the same signer profile under the first state's CSCA, but naming another
         * country (the second state's): 9303-12 §3.1 has a state's CSCA issue its own Master
         * List Signer, and Table 5 makes the subject's countryName the issuer's, so a verifier
         * refuses it. */
        const char *a0 = pki_country_alpha2(st[0]);
        const char *other = n_csca > 1 ? pki_country_alpha2(st[1]) : strcmp(a0, "UT") ? "UT" : "MA";
        const uint8_t bserial[] = {0x4D, 0x4C, 0x53, 0x02};
        snprintf(subject, sizeof subject,
                 "C=%s,O=Hawiya Test PKI,OU=Master List Signers,CN=Hawiya Test ML Signer %s "
                 "other country",
                 other, st[0]);
        m.subject = subject;
        m.serial = bserial;
        struct issued bad;
        if (e == PKI_OK) {
            e = issue(out_dir, PKI_DIR_BAD, ML_SIGNER_NAME "-other-country", seed,
                      "bad:ml-signer-country", MBEDTLS_ECP_DP_BP256R1, &m, &csca[0], &bad);
            issued_free(&bad);
        }
    }
    if (e == PKI_OK) {
        struct pki_buf certs[PKI_MAX_STATES], ml = {0};
        struct pki_rng r;
        for (size_t i = 0; i < n_csca; i++)
            certs[i] = csca[i].cert;
        e = pki_rng_init(&r, seed, "masterlist");
        if (e == PKI_OK) {
            e = pki_make_masterlist(certs, n_csca, &mls.cert, &mls.key, &r, &ml);
            pki_rng_free(&r);
        }
        char *d = pki_path(out_dir, PKI_DIR_MASTERLIST);
        if (e == PKI_OK)
            e = d ? pki_write_file(d, "csca-masterlist.ml", ml.p, ml.len) : PKI_ERR_NO_MEMORY;
        free(d);
        pki_buf_free(&ml);
    }
    issued_free(&mls);
    issued_free(&rca);
    for (size_t i = 0; i < n_csca; i++)
        issued_free(&csca[i]);

    if (e == PKI_OK) {
        cJSON *j = cJSON_CreateObject();
        char seed_text[24];
        snprintf(seed_text, sizeof seed_text, "%llu", (unsigned long long)seed);
        cJSON_AddNumberToObject(j, "version", 2);
        cJSON_AddStringToObject(j, "seed", seed_text);
        cJSON_AddStringToObject(j, "test_now", PKI_TEST_NOW);
        cJSON *arr = cJSON_AddArrayToObject(j, "states");
        for (size_t i = 0; i < n_states; i++)
            cJSON_AddItemToArray(arr, cJSON_CreateString(st[i]));
        char *text = cJSON_Print(j);
        cJSON_Delete(j);
        e = text ? pki_write_file(out_dir, "pki.json", text, strlen(text)) : PKI_ERR_NO_MEMORY;
        free(text);
    }
    return e;
}

/* A certificate file, DER or PEM, as DER. */
static enum pki_err read_cert(const char *path, struct pki_buf *der)
{
    mbedtls_x509_crt c;
    mbedtls_x509_crt_init(&c);
    enum pki_err e = PKI_ERR_BAD_KEY;
    unsigned char *buf = NULL;
    size_t n = 0;
    /* DER through pki_crt_parse_der (a critical privateKeyUsagePeriod), PEM as mbedTLS reads it. */
    if (mbedtls_pk_load_file(path, &buf, &n) == 0 &&
        (pki_crt_parse_der(&c, buf, n) == 0 || mbedtls_x509_crt_parse_file(&c, path) == 0))
        e = pki_buf_append(der, c.raw.p, c.raw.len);
    free(buf);
    mbedtls_x509_crt_free(&c);
    return e;
}

/* dir/sub/file, read whole. */
static enum pki_err read_in(const char *dir, const char *sub, const char *file, struct pki_buf *out)
{
    char *d = pki_path(dir, sub);
    enum pki_err e = d ? pki_read_file(d, file, out) : PKI_ERR_NO_MEMORY;
    free(d);
    return e;
}

static enum pki_err key_in(const char *dir, const char *file, mbedtls_pk_context *pk)
{
    char *d = pki_path(dir, PKI_DIR_PRIVATE);
    enum pki_err e = d ? pki_load_key(d, file, pk) : PKI_ERR_NO_MEMORY;
    free(d);
    return e;
}

static enum pki_err read_seed(const char *ca_dir, uint64_t *seed)
{
    struct pki_buf b = {0};
    enum pki_err e = pki_read_file(ca_dir, "pki.json", &b);
    if (e != PKI_OK) {
        pki_buf_free(&b);
        return PKI_ERR_CA_DIR;
    }
    cJSON *j = cJSON_ParseWithLength((const char *)b.p, b.len);
    pki_buf_free(&b);
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(j, "seed");
    e = PKI_ERR_CA_DIR;
    if (cJSON_IsString(s) && s->valuestring[0] != '\0' && strlen(s->valuestring) <= 20) {
        char *end = NULL;
        unsigned long long v = strtoull(s->valuestring, &end, 10);
        if (end != NULL && *end == '\0') {
            *seed = v;
            e = PKI_OK;
        }
    }
    cJSON_Delete(j);
    return e;
}

/* --- card ------------------------------------------------------------------ */

#define EMRTD_AID "A0000002471001"

struct card_file {
    const char *name; /* as 9303-10 names it */
    const char *file; /* in the output directory */
    const char *fid;
    int sfi;
    bool in_mf; /* EF.CardAccess sits in the MF, the rest in the eMRTD application */
    int dg;     /* 0 for EF.COM, EF.SOD, EF.CardAccess */
    struct pki_buf data;
};

static void add_file_json(cJSON *arr, const struct card_file *f, const uint8_t hash[32])
{
    char fid_hex[65];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", f->name);
    cJSON_AddStringToObject(o, "file", f->file);
    cJSON *path = cJSON_AddArrayToObject(o, "path");
    if (!f->in_mf)
        cJSON_AddItemToArray(path, cJSON_CreateString(EMRTD_AID));
    cJSON_AddStringToObject(o, "fid", f->fid);
    cJSON_AddNumberToObject(o, "sfi", f->sfi);
    cJSON_AddStringToObject(o, "access", f->in_mf ? "always" : "sm");
    cJSON_AddNumberToObject(o, "size", (double)f->data.len);
    hex_encode(hash, 32, fid_hex);
    cJSON_AddStringToObject(o, "sha256", fid_hex);
    cJSON_AddItemToArray(arr, o);
}

static enum pki_err write_manifest(const char *out_dir, const struct persona *p,
                                   const struct pki_mrz *mrz, const char *ds_name,
                                   const char *csca_name, const char *signing_time,
                                   struct card_file *files, size_t n_files,
                                   const uint8_t (*hashes)[32])
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "version", 1);
    cJSON_AddStringToObject(j, "persona", p->id);
    cJSON_AddStringToObject(j, "issuing_state", p->holder.issuing_state);
    cJSON_AddStringToObject(j, "document_type", p->holder.document_type);
    cJSON *lines = cJSON_AddArrayToObject(j, "mrz");
    for (size_t i = 0; i < mrz->n_lines; i++)
        cJSON_AddItemToArray(lines, cJSON_CreateString(mrz->line[i]));
    cJSON_AddStringToObject(j, "csca", csca_name);
    cJSON_AddStringToObject(j, "document_signer", ds_name);
    cJSON_AddStringToObject(j, "signing_time", signing_time);
    cJSON *fl = cJSON_AddObjectToObject(j, "flags_applied");
    cJSON_AddBoolToObject(fl, "expired", p->flags.expired);
    cJSON_AddBoolToObject(fl, "wrong_dg_hash", p->flags.wrong_dg_hash);
    cJSON_AddBoolToObject(fl, "bad_aa_key", p->flags.bad_aa_key);
    cJSON_AddBoolToObject(fl, "bac_only", p->flags.bac_only);
    cJSON *arr = cJSON_AddArrayToObject(j, "files");
    for (size_t i = 0; i < n_files; i++)
        add_file_json(arr, &files[i], hashes[i]);
    cJSON *keys = cJSON_AddObjectToObject(j, "keys");
    cJSON_AddStringToObject(keys, "chip_authentication", "ca_key.der");
    cJSON_AddStringToObject(keys, "active_authentication", "aa_key.der");
    char *text = cJSON_Print(j);
    cJSON_Delete(j);
    enum pki_err e =
        text ? pki_write_file(out_dir, "manifest.json", text, strlen(text)) : PKI_ERR_NO_MEMORY;
    free(text);
    return e;
}

static enum pki_err card_key(uint64_t seed, const char *id, const char *what,
                             mbedtls_pk_context *pk)
{
    struct pki_rng r;
    char label[96];
    snprintf(label, sizeof label, "card:%s:%s", id, what);
    enum pki_err e = pki_rng_init(&r, seed, label);
    if (e != PKI_OK)
        return e;
    e = pki_gen_key(pk, MBEDTLS_ECP_DP_BP256R1, &r);
    pki_rng_free(&r);
    return e;
}

enum pki_err pki_card(const char *ca_dir, const struct persona *p, const char *out_dir,
                      const struct pki_card_options *opt)
{
    uint64_t seed;
    char state[4], ds_name[48], csca_name[48];
    struct card_file f[8] = {
        {"EF.COM", "com.bin", "011E", 30, false, 0, {0}},
        {"EF.DG1", "dg1.bin", "0101", 1, false, 1, {0}},
        {"EF.DG2", "dg2.bin", "0102", 2, false, 2, {0}},
        {"EF.DG11", "dg11.bin", "010B", 11, false, 11, {0}},
        {"EF.DG14", "dg14.bin", "010E", 14, false, 14, {0}},
        {"EF.DG15", "dg15.bin", "010F", 15, false, 15, {0}},
        {"EF.SOD", "sod.bin", "011D", 29, false, 0, {0}},
        {"EF.CardAccess", "cardaccess.bin", "011C", 28, true, 0, {0}},
    };
    size_t n_files = p->flags.bac_only ? 7 : 8;
    uint8_t hashes[8][32];
    int dg_numbers[8];
    uint8_t sod_hashes[8][32];
    size_t n_dg = 0;
    struct pki_mrz mrz;
    mbedtls_pk_context ca_key, aa_key, aa_card_key, ds_key;
    struct pki_buf ds_cert = {0}, spki = {0}, keyder = {0};
    mbedtls_pk_init(&ca_key);
    mbedtls_pk_init(&aa_key);
    mbedtls_pk_init(&aa_card_key);
    mbedtls_pk_init(&ds_key);

    enum pki_err e = read_seed(ca_dir, &seed);
    state_name(p->holder.issuing_state, state);
    snprintf(csca_name, sizeof csca_name, "csca-%s.der", state);
    /* The expired document was signed in 2010 by a DS whose certificate ran out in 2020. */
    snprintf(ds_name, sizeof ds_name, p->flags.expired ? "ds-%s-old" : "ds-%s", state);
    const char *signing_time = p->flags.expired ? PKI_OLD_SIGNING_TIME : PKI_DS_SIGNING_TIME;
    if (opt && opt->signing_time) {
        /* YYMMDDhhmmssZ (UTCTime), YYYYMMDDhhmmss[.f]Z (GeneralizedTime), with "17:"/"18:"
         * the tag forced on any text ending in Z, or "none" (docs/pki.md). */
        size_t n = strlen(opt->signing_time);
        if ((n < 13 || n > 40 || opt->signing_time[n - 1] != 'Z') &&
            strcmp(opt->signing_time, "none") != 0)
            e = PKI_ERR_USAGE;
        signing_time = opt->signing_time;
    }
    if (e == PKI_OK && opt && (opt->ds_cert || opt->ds_key)) {
        /* Another signer, chosen by the caller (a test of what a verifier refuses). */
        const char *base = opt->ds_cert ? strrchr(opt->ds_cert, '/') : NULL;
        snprintf(ds_name, sizeof ds_name, "%.40s", base ? base + 1 : opt->ds_cert);
        char *dot = strrchr(ds_name, '.');
        if (dot)
            *dot = '\0';
        if (!opt->ds_cert || !opt->ds_key)
            e = PKI_ERR_USAGE;
        if (e == PKI_OK && read_cert(opt->ds_cert, &ds_cert) != PKI_OK)
            e = PKI_ERR_NO_DS;
        if (e == PKI_OK && (mbedtls_pk_parse_keyfile(&ds_key, opt->ds_key, NULL) != 0 ||
                            mbedtls_pk_get_type(&ds_key) != MBEDTLS_PK_ECKEY))
            e = PKI_ERR_BAD_KEY;
    } else if (e == PKI_OK) {
        char file[64];
        snprintf(file, sizeof file, "%s.der", ds_name);
        if (read_in(ca_dir, PKI_DIR_DS, file, &ds_cert) != PKI_OK)
            e = PKI_ERR_NO_DS;
        snprintf(file, sizeof file, "%s.key", ds_name);
        if (e == PKI_OK)
            e = key_in(ca_dir, file, &ds_key);
    }
    if (e == PKI_OK)
        e = pki_mkdir(out_dir);

    /* Keys: Chip Authentication (ECDH) and Active Authentication (ECDSA), brainpoolP256r1. */
    if (e == PKI_OK)
        e = card_key(seed, p->id, "ca", &ca_key);
    if (e == PKI_OK)
        e = card_key(seed, p->id, "aa", &aa_key);
    /* bad_aa_key: the card holds (and signs with) a key other than the one DG15 publishes. */
    if (e == PKI_OK)
        e = card_key(seed, p->id, p->flags.bad_aa_key ? "aa-wrong" : "aa", &aa_card_key);

    if (e == PKI_OK)
        e = pki_make_com(&f[0].data);
    if (e == PKI_OK)
        e = pki_make_mrz(&p->holder, &mrz);
    if (e == PKI_OK)
        e = pki_make_dg1(&p->holder, &f[1].data);
    if (e == PKI_OK)
        e = pki_make_dg2(&f[2].data, p->id);
    if (e == PKI_OK)
        e = pki_make_dg11(&p->holder, &f[3].data);
    if (e == PKI_OK)
        e = pki_key_der(&ca_key, false, &spki);
    if (e == PKI_OK)
        e = pki_make_dg14(&spki, !p->flags.bac_only, &f[4].data);
    pki_buf_free(&spki);
    if (e == PKI_OK)
        e = pki_key_der(&aa_key, false, &spki);
    if (e == PKI_OK)
        e = pki_make_dg15(&spki, &f[5].data);
    pki_buf_free(&spki);
    if (e == PKI_OK && !p->flags.bac_only)
        e = pki_make_cardaccess(&f[7].data);

    for (size_t i = 0; e == PKI_OK && i < 6; i++) {
        if (f[i].dg == 0)
            continue;
        dg_numbers[n_dg] = f[i].dg;
        pki_sha256(f[i].data.p, f[i].data.len, sod_hashes[n_dg]);
        /* wrong_dg_hash: the SOD carries a DG1 hash that does not match DG1. */
        if (f[i].dg == 1 && p->flags.wrong_dg_hash)
            sod_hashes[n_dg][31] ^= 0x01;
        n_dg++;
    }
    if (e == PKI_OK) {
        struct pki_rng r;
        char label[96];
        snprintf(label, sizeof label, "card:%s:sod", p->id);
        e = pki_rng_init(&r, seed, label);
        if (e == PKI_OK) {
            e = pki_make_sod(dg_numbers, (const uint8_t(*)[32])sod_hashes, n_dg, &ds_cert, &ds_key,
                             signing_time, &r, &f[6].data);
            pki_rng_free(&r);
        }
    }
    /* A BAC-only card has no EF.CardAccess, even in a directory reused from another run. */
    if (e == PKI_OK && p->flags.bac_only)
        e = pki_remove_file(out_dir, "cardaccess.bin");
    for (size_t i = 0; e == PKI_OK && i < n_files; i++) {
        pki_sha256(f[i].data.p, f[i].data.len, hashes[i]);
        e = pki_write_file(out_dir, f[i].file, f[i].data.p, f[i].data.len);
    }
    if (e == PKI_OK)
        e = pki_key_der(&ca_key, true, &keyder);
    if (e == PKI_OK)
        e = pki_write_file(out_dir, "ca_key.der", keyder.p, keyder.len);
    pki_buf_free(&keyder);
    if (e == PKI_OK)
        e = pki_key_der(&aa_card_key, true, &keyder);
    if (e == PKI_OK)
        e = pki_write_file(out_dir, "aa_key.der", keyder.p, keyder.len);
    pki_buf_free(&keyder);
    if (e == PKI_OK) {
        char ds_file[64];
        snprintf(ds_file, sizeof ds_file, "%s.der", ds_name);
        e = write_manifest(out_dir, p, &mrz, ds_file, csca_name, signing_time, f, n_files,
                           (const uint8_t(*)[32])hashes);
    }

    for (size_t i = 0; i < 8; i++)
        pki_buf_free(&f[i].data);
    pki_buf_free(&ds_cert);
    mbedtls_pk_free(&ca_key);
    mbedtls_pk_free(&aa_key);
    mbedtls_pk_free(&aa_card_key);
    mbedtls_pk_free(&ds_key);
    return e;
}

/* --- reader ---------------------------------------------------------------- */

static bool reader_id_ok(const char *id)
{
    size_t n = strlen(id);
    if (n < 1 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_' || c == '.';
        if (!ok)
            return false;
    }
    return true;
}

enum pki_err pki_reader(const char *ca_dir, const char *pubkey_path, const char *reader_id,
                        const char *out_path)
{
    uint64_t seed;
    mbedtls_pk_context ca_key, pub;
    struct pki_buf spki = {0}, cert = {0}, serial_in = {0};
    char subject[200], label[96];
    uint8_t h[32];
    if (!reader_id_ok(reader_id))
        return PKI_ERR_USAGE;
    mbedtls_pk_init(&ca_key);
    mbedtls_pk_init(&pub);
    enum pki_err e = read_seed(ca_dir, &seed);
    if (e == PKI_OK)
        e = key_in(ca_dir, "reader-ca.key", &ca_key);
    if (e == PKI_OK && mbedtls_pk_parse_public_keyfile(&pub, pubkey_path) != 0)
        e = PKI_ERR_BAD_KEY;
    /* The reader's device key is ECDSA P-256 (the firmware's key type). */
    if (e == PKI_OK && (mbedtls_pk_get_type(&pub) != MBEDTLS_PK_ECKEY ||
                        mbedtls_pk_ec(pub)->grp.id != MBEDTLS_ECP_DP_SECP256R1))
        e = PKI_ERR_BAD_KEY;
    if (e == PKI_OK)
        e = pki_key_der(&pub, false, &spki);
    /* Serial: 128 bits from SHA-256(id, key), positive (RFC 5280 §4.1.2.2). */
    if (e == PKI_OK)
        e = pki_buf_append(&serial_in, reader_id, strlen(reader_id) + 1);
    if (e == PKI_OK)
        e = pki_buf_append(&serial_in, spki.p, spki.len);
    if (e == PKI_OK) {
        pki_sha256(serial_in.p, serial_in.len, h);
        h[0] = (uint8_t)((h[0] & 0x7Fu) | 0x40u);
        snprintf(subject, sizeof subject, "C=UT,O=Hawiya Test Readers,serialNumber=%s,CN=%s",
                 reader_id, reader_id);
        struct pki_cert_spec s = {
            .subject = subject,
            .issuer = READER_CA_SUBJECT,
            .serial = h,
            .serial_len = 16,
            .not_before = PKI_READER_NOT_BEFORE,
            .not_after = PKI_READER_NOT_AFTER,
            .is_ca = false,
            .path_len = -1,
            .basic_constraints = true,
            .key_usage = MBEDTLS_X509_KU_DIGITAL_SIGNATURE,
            .low_s = true,
        };
        struct pki_rng r;
        snprintf(label, sizeof label, "reader:%s", reader_id);
        e = pki_rng_init(&r, seed, label);
        if (e == PKI_OK) {
            e = pki_make_cert(&s, &pub, &ca_key, &r, &cert);
            pki_rng_free(&r);
        }
    }
    if (e == PKI_OK) {
        size_t n = strlen(out_path);
        bool pem = n >= 4 && strcmp(out_path + n - 4, ".pem") == 0;
        struct pki_buf text = {0};
        if (pem)
            e = pki_cert_pem(&cert, &text);
        if (e == PKI_OK)
            e = pem ? pki_write_file(NULL, out_path, text.p, text.len)
                    : pki_write_file(NULL, out_path, cert.p, cert.len);
        pki_buf_free(&text);
    }
    pki_buf_free(&spki);
    pki_buf_free(&cert);
    pki_buf_free(&serial_in);
    mbedtls_pk_free(&ca_key);
    mbedtls_pk_free(&pub);
    return e;
}

/* --- crl, masterlist ---------------------------------------------------------- */

enum pki_err pki_crl(const char *ca_dir, const char *issuer, const char *const *revoke,
                     size_t n_revoke, const char *this_update, const char *next_update,
                     const char *out_path)
{
    uint64_t seed;
    struct issued ca;
    struct pki_buf *revoked = calloc(n_revoke ? n_revoke : 1, sizeof *revoked), crl = {0};
    char file[64];
    mbedtls_pk_init(&ca.key);
    ca.cert = (struct pki_buf){0};
    bool reader = strcmp(issuer, "reader-ca") == 0;
    enum pki_err e = revoked ? read_seed(ca_dir, &seed) : PKI_ERR_NO_MEMORY;
    if (e == PKI_OK && !reader &&
        (strncmp(issuer, "csca-", 5) != 0 || strlen(issuer) > 9 || strchr(issuer, '/') ||
         strchr(issuer, '.')))
        e = PKI_ERR_USAGE;
    snprintf(file, sizeof file, "%s.der", issuer);
    if (e == PKI_OK &&
        read_in(ca_dir, reader ? PKI_DIR_READER_CA : PKI_DIR_CSCA, file, &ca.cert) != PKI_OK)
        e = PKI_ERR_CA_DIR;
    snprintf(file, sizeof file, "%s.key", issuer);
    if (e == PKI_OK)
        e = key_in(ca_dir, file, &ca.key);
    for (size_t i = 0; e == PKI_OK && i < n_revoke; i++)
        e = read_cert(revoke[i], &revoked[i]);
    if (e == PKI_OK) {
        struct pki_rng r;
        char label[96];
        snprintf(label, sizeof label, "crl:%s:%zu", issuer, n_revoke);
        e = pki_rng_init(&r, seed, label);
        if (e == PKI_OK) {
            e = pki_make_crl(&ca.cert, &ca.key, revoked, n_revoke, 2, this_update, next_update, &r,
                             &crl);
            pki_rng_free(&r);
        }
    }
    if (e == PKI_OK)
        e = pki_write_file(NULL, out_path, crl.p, crl.len);
    for (size_t i = 0; revoked && i < n_revoke; i++)
        pki_buf_free(&revoked[i]);
    free(revoked);
    pki_buf_free(&crl);
    issued_free(&ca);
    return e;
}

/* The states of pki.json, for the default master list. */
static enum pki_err read_states(const char *ca_dir, char (*states)[4], size_t *n)
{
    struct pki_buf b = {0};
    *n = 0;
    if (pki_read_file(ca_dir, "pki.json", &b) != PKI_OK) {
        pki_buf_free(&b);
        return PKI_ERR_CA_DIR;
    }
    cJSON *j = cJSON_ParseWithLength((const char *)b.p, b.len);
    pki_buf_free(&b);
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(j, "states"), *it;
    enum pki_err e = cJSON_IsArray(arr) ? PKI_OK : PKI_ERR_CA_DIR;
    cJSON_ArrayForEach(it, arr)
    {
        if (!cJSON_IsString(it) || strlen(it->valuestring) > 3 || *n == PKI_MAX_STATES) {
            e = PKI_ERR_CA_DIR;
            break;
        }
        strcpy(states[(*n)++], it->valuestring);
    }
    cJSON_Delete(j);
    return e;
}

enum pki_err pki_masterlist(const char *ca_dir, const char *const *certs, size_t n_certs,
                            const char *signer_cert, const char *signer_key, const char *out_path)
{
    uint64_t seed;
    char states[PKI_MAX_STATES][4];
    size_t n_states = 0;
    struct issued signer;
    struct pki_buf list[PKI_MAX_STATES * 4], ml = {0};
    size_t n = 0;
    mbedtls_pk_init(&signer.key);
    signer.cert = (struct pki_buf){0};
    memset(list, 0, sizeof list);
    enum pki_err e = read_seed(ca_dir, &seed);
    if (e == PKI_OK && n_certs > sizeof list / sizeof list[0])
        e = PKI_ERR_USAGE;
    if (e == PKI_OK && certs == NULL) {
        e = read_states(ca_dir, states, &n_states);
        for (size_t i = 0; e == PKI_OK && i < n_states; i++) {
            char file[32];
            snprintf(file, sizeof file, "csca-%s.der", states[i]);
            e = read_in(ca_dir, PKI_DIR_CSCA, file, &list[n++]);
        }
    }
    for (size_t i = 0; e == PKI_OK && certs && i < n_certs; i++)
        e = read_cert(certs[i], &list[n++]);
    if (e == PKI_OK && (signer_cert != NULL) != (signer_key != NULL))
        e = PKI_ERR_USAGE;
    if (e == PKI_OK && signer_cert) {
        e = read_cert(signer_cert, &signer.cert);
        if (e == PKI_OK && (mbedtls_pk_parse_keyfile(&signer.key, signer_key, NULL) != 0 ||
                            mbedtls_pk_get_type(&signer.key) != MBEDTLS_PK_ECKEY))
            e = PKI_ERR_BAD_KEY;
    } else if (e == PKI_OK) {
        e = read_in(ca_dir, PKI_DIR_MASTERLIST, ML_SIGNER_NAME ".der", &signer.cert);
        if (e == PKI_OK)
            e = key_in(ca_dir, ML_SIGNER_NAME ".key", &signer.key);
    }
    if (e == PKI_OK) {
        struct pki_rng r;
        e = pki_rng_init(&r, seed, "masterlist");
        if (e == PKI_OK) {
            e = pki_make_masterlist(list, n, &signer.cert, &signer.key, &r, &ml);
            pki_rng_free(&r);
        }
    }
    if (e == PKI_OK)
        e = pki_write_file(NULL, out_path, ml.p, ml.len);
    for (size_t i = 0; i < n; i++)
        pki_buf_free(&list[i]);
    pki_buf_free(&ml);
    issued_free(&signer);
    return e;
}

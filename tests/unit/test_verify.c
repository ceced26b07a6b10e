#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <mbedtls/asn1.h>
#include <mbedtls/asn1write.h>
#include <mbedtls/base64.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/pk.h>
#include <mbedtls/sha256.h>
#include <mbedtls/oid.h>
#include <mbedtls/x509_crt.h>

#include "hawiya-verify.h"
#include "hawiya/aa.h"
#include "hawiya/sod.h"

/*
 * Assertions built from the test PKI (`pki_data`, docs/pki.md: seed 9303,
 * test "now" 2026-01-01T00:00:00Z): each persona's card files, the card's
 * AA signature by aa_card_sign() with its aa_key.der, and a reader whose
 * P-256 key comes from a fixed-seed CTR_DRBG. The good reader certificate is
 * issued by `hawiya-pki reader` (the real issuing path); the short-lived and
 * rogue ones are issued in-process with mbedTLS (the reader CA's key, or a
 * rogue CA's), because hawiya-pki only issues the 2025..2045 profile.
 * Expected identity values are the default persona's holder in
 * tests/data/personas.json, whose MRZ pki writes (9303-5 TD1).
 * Each good assertion is also written to $HAWIYA_VERIFY_OUT for the CLI test.
 */

#define ORIGIN "https://record.example"

static const char *pki_dir, *pki_tool, *out_dir;
static const struct hv_time test_now = {2026, 1, 1, 0, 0, 0};

static int fixed_entropy(void *ctx, unsigned char *out, size_t n)
{
    unsigned *counter = ctx;
    for (size_t i = 0; i < n; i++)
        out[i] = (unsigned char)(*counter + i * 7);
    (*counter)++;
    return 0;
}

struct rng {
    unsigned counter;
    mbedtls_ctr_drbg_context drbg;
};

static void rng_init(struct rng *r, const char *label)
{
    r->counter = 1;
    mbedtls_ctr_drbg_init(&r->drbg);
    assert_int_equal(mbedtls_ctr_drbg_seed(&r->drbg, fixed_entropy, &r->counter,
                                           (const unsigned char *)label, strlen(label)),
                     0);
}

static void load(const char *path, uint8_t **buf, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s (built by the pki_data target)", path);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long len = ftell(f);
    assert_true(len >= 0);
    rewind(f);
    *buf = malloc((size_t)len + 1);
    assert_non_null(*buf);
    assert_int_equal(fread(*buf, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    *n = (size_t)len;
}

static void write_file(const char *path, const uint8_t *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    fclose(f);
}

static void save(const char *name, const char *text)
{
    char path[1024];
    if (!out_dir)
        return;
    snprintf(path, sizeof path, "%s/%s", out_dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

struct card {
    uint8_t *f[8];
    size_t n[8];
    mbedtls_pk_context aa_key;
};
enum { C_COM, C_DG1, C_DG11, C_DG14, C_DG15, C_SOD, C_CARDACCESS, C_AA_KEY };
static const char *const card_files[] = {"com.bin",  "dg1.bin", "dg11.bin",       "dg14.bin",
                                         "dg15.bin", "sod.bin", "cardaccess.bin", "aa_key.der"};

/* A persona's card of the test PKI, or (a name with a '/') the card directory at that path. */
static void card_load(struct card *c, const char *persona)
{
    char path[1024];
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < 8; i++) {
        struct stat st;
        if (strchr(persona, '/'))
            snprintf(path, sizeof path, "%s/%s", persona, card_files[i]);
        else
            snprintf(path, sizeof path, "%s/cards/%s/%s", pki_dir, persona, card_files[i]);
        if (i == C_CARDACCESS && stat(path, &st) != 0)
            continue; /* bac-only */
        load(path, &c->f[i], &c->n[i]);
    }
    mbedtls_pk_init(&c->aa_key);
    assert_int_equal(mbedtls_pk_parse_key(&c->aa_key, c->f[C_AA_KEY], c->n[C_AA_KEY], NULL, 0), 0);
}

static void card_free(struct card *c)
{
    for (size_t i = 0; i < 8; i++)
        free(c->f[i]);
    mbedtls_pk_free(&c->aa_key);
}

static uint8_t challenge[32], other_challenge[32];
static mbedtls_pk_context reader_key, rogue_ca_key;
static uint8_t *reader_cert; /* from hawiya-pki reader */
static size_t reader_cert_len;
static struct hv_trust *trust;

static void gen_p256(mbedtls_pk_context *pk, const char *label)
{
    struct rng r;
    rng_init(&r, label);
    mbedtls_pk_init(pk);
    assert_int_equal(mbedtls_pk_setup(pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)), 0);
    assert_int_equal(mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(*pk),
                                         mbedtls_ctr_drbg_random, &r.drbg),
                     0);
    mbedtls_ctr_drbg_free(&r.drbg);
}

static size_t set_s_half(uint8_t *sig, size_t len, size_t cap, bool high);

/*
 * A certificate DER with its issuer's P-256 ECDSA signature rewritten as the
 * high or the low one of (r, s) and (r, n - s), both of which verify; the
 * new length. hawiya-pki writes reader certificates low-S, their one
 * spelling; so do the in-process issuers below.
 */
static size_t cert_set_s(uint8_t *der, size_t len, size_t cap, mbedtls_pk_context *issuer_key,
                         bool high)
{
    const int seq = MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE;
    if (!mbedtls_pk_can_do(issuer_key, MBEDTLS_PK_ECDSA) ||
        mbedtls_pk_ec(*issuer_key)->grp.id != MBEDTLS_ECP_DP_SECP256R1)
        return len;
    unsigned char *p = der, *end = der + len;
    size_t l;
    assert_int_equal(mbedtls_asn1_get_tag(&p, end, &l, seq), 0);
    unsigned char *body = p;
    assert_int_equal(mbedtls_asn1_get_tag(&p, end, &l, seq), 0); /* TBSCertificate */
    p += l;
    assert_int_equal(mbedtls_asn1_get_tag(&p, end, &l, seq), 0); /* signatureAlgorithm */
    p += l;
    size_t head = (size_t)(p - body);
    assert_int_equal(mbedtls_asn1_get_tag(&p, end, &l, MBEDTLS_ASN1_BIT_STRING), 0);
    uint8_t sig[80], out[2048];
    assert_true(l >= 2 && l - 1 <= sizeof sig && p[0] == 0);
    memcpy(sig, p + 1, l - 1);
    size_t sl = set_s_half(sig, l - 1, sizeof sig, high);
    size_t bl = head;
    assert_true(head + 3 + sl <= sizeof out);
    memcpy(out, body, head);
    out[bl++] = MBEDTLS_ASN1_BIT_STRING;
    out[bl++] = (uint8_t)(sl + 1);
    out[bl++] = 0;
    memcpy(out + bl, sig, sl);
    bl += sl;
    size_t hl = bl < 0x80 ? 2 : bl < 0x100 ? 3 : 4;
    assert_true(hl + bl <= cap);
    der[0] = 0x30;
    if (hl == 2) {
        der[1] = (uint8_t)bl;
    } else if (hl == 3) {
        der[1] = 0x81;
        der[2] = (uint8_t)bl;
    } else {
        der[1] = 0x82;
        der[2] = (uint8_t)(bl >> 8);
        der[3] = (uint8_t)bl;
    }
    memcpy(der + hl, out, bl);
    return hl + bl;
}

/* A reader certificate issued in-process (see the comment at the top). */
static size_t issue_reader_cert(mbedtls_pk_context *issuer_key, const char *issuer,
                                const char *not_before, const char *not_after, const char *id,
                                uint8_t *out, size_t cap)
{
    mbedtls_x509write_cert w;
    mbedtls_mpi serial;
    struct rng r;
    char subject[128];
    uint8_t buf[2048];
    snprintf(subject, sizeof subject, "C=UT,O=Hawiya Test Readers,CN=%s", id);
    rng_init(&r, "issue");
    mbedtls_x509write_crt_init(&w);
    mbedtls_mpi_init(&serial);
    assert_int_equal(mbedtls_mpi_lset(&serial, 4242), 0);
    mbedtls_x509write_crt_set_version(&w, MBEDTLS_X509_CRT_VERSION_3);
    assert_int_equal(mbedtls_x509write_crt_set_serial(&w, &serial), 0);
    assert_int_equal(mbedtls_x509write_crt_set_validity(&w, not_before, not_after), 0);
    assert_int_equal(mbedtls_x509write_crt_set_issuer_name(&w, issuer), 0);
    assert_int_equal(mbedtls_x509write_crt_set_subject_name(&w, subject), 0);
    mbedtls_x509write_crt_set_subject_key(&w, &reader_key);
    mbedtls_x509write_crt_set_issuer_key(&w, issuer_key);
    mbedtls_x509write_crt_set_md_alg(&w, MBEDTLS_MD_SHA256);
    assert_int_equal(mbedtls_x509write_crt_set_basic_constraints(&w, 0, -1), 0);
    assert_int_equal(mbedtls_x509write_crt_set_key_usage(&w, MBEDTLS_X509_KU_DIGITAL_SIGNATURE), 0);
    int n = mbedtls_x509write_crt_der(&w, buf, sizeof buf, mbedtls_ctr_drbg_random, &r.drbg);
    assert_true(n > 0 && (size_t)n <= cap);
    memcpy(out, buf + sizeof buf - n, (size_t)n);
    mbedtls_x509write_crt_free(&w);
    mbedtls_mpi_free(&serial);
    mbedtls_ctr_drbg_free(&r.drbg);
    return cert_set_s(out, (size_t)n, cap, issuer_key, false);
}

static char cards_dir[1024];

/*
 * Cards the verifier must refuse, made by `hawiya-pki card` with another
 * signer or signing time (docs/pki.md): the default persona (a Moroccan
 * document valid until 2031) signed by ... , and the expired persona
 * signed at other times. Into DIR/cards-bad/NAME.
 */
static const struct {
    const char *name, *persona, *cert, *key, *signing_time;
} bad_cards[] = {
    {"old-ds", "default", "ds/ds-MAR-old.der", "private/ds-MAR-old.key", NULL},
    {"cross-country", "default", "ds/ds-DZA.der", "private/ds-DZA.key", NULL},
    {"revoked-ds", "default", "ds/ds-MAR-revoked.der", "private/ds-MAR-revoked.key", NULL},
    {"ds-ca", "default", "bad/ds-MAR-ca.der", "private/ds-MAR-ca.key", NULL},
    {"ds-keycertsign", "default", "bad/ds-MAR-keycertsign.der", "private/ds-MAR-keycertsign.key",
     NULL},
    {"ds-no-keyusage", "default", "bad/ds-MAR-no-keyusage.der", "private/ds-MAR-no-keyusage.key",
     NULL},
    {"ds-no-country", "default", "bad/ds-MAR-no-country.der", "private/ds-MAR-no-country.key",
     NULL},
    {"ds-reader-ca", "default", "bad/ds-MAR-reader-ca.der", "private/ds-MAR-reader-ca.key", NULL},
    {"csca-signed", "default", "csca/csca-MAR.der", "private/csca-MAR.key", NULL},
    {"reader-signed", "default", NULL, NULL, NULL}, /* the reader's own certificate and key */
    {"ml-signer-signed", "default", "masterlist/ml-signer.der", "private/ml-signer.key", NULL},
    {"expired-signed-late", "expired", "ds/ds-MAR-old.der", "private/ds-MAR-old.key",
     "210101000000Z"},
    {"expired-signed-early", "expired", "ds/ds-MAR-old.der", "private/ds-MAR-old.key",
     "080101000000Z"},
    {"expired-signed-future", "expired", "ds/ds-MAR-old.der", "private/ds-MAR-old.key",
     "300101000000Z"},
};

static int make_cards(const char *tmp)
{
    char cmd[4096], signer[2048];
    const char *personas = getenv("HAWIYA_PERSONAS");
    if (!personas) {
        fprintf(stderr, "HAWIYA_PERSONAS must be set\n");
        return -1;
    }
    snprintf(cards_dir, sizeof cards_dir, "%s/cards-bad", tmp);
    for (size_t i = 0; i < sizeof bad_cards / sizeof bad_cards[0]; i++) {
        if (bad_cards[i].cert)
            snprintf(signer, sizeof signer, "--ds-cert '%s/%s' --ds-key '%s/%s'", pki_dir,
                     bad_cards[i].cert, pki_dir, bad_cards[i].key);
        else
            snprintf(signer, sizeof signer,
                     "--ds-cert '%s/reader-sim-0001.der' --ds-key '%s/reader-key.pem'", tmp, tmp);
        snprintf(cmd, sizeof cmd,
                 "'%s' card --ca '%s' --personas '%s' --persona %s --out '%s/%s' %s %s%s", pki_tool,
                 pki_dir, personas, bad_cards[i].persona, cards_dir, bad_cards[i].name, signer,
                 bad_cards[i].signing_time ? "--signing-time " : "",
                 bad_cards[i].signing_time ? bad_cards[i].signing_time : "");
        if (system(cmd) != 0) {
            fprintf(stderr, "failed: %s\n", cmd);
            return -1;
        }
    }
    return 0;
}

static const char *bad_card(const char *name)
{
    static char path[1100];
    snprintf(path, sizeof path, "%s/%s", cards_dir, name);
    return path;
}

static int setup(void **state)
{
    char path[1024], cmd[4096];
    pki_dir = getenv("HAWIYA_PKI_DIR");
    pki_tool = getenv("HAWIYA_PKI");
    out_dir = getenv("HAWIYA_VERIFY_OUT");
    if (!pki_dir || !pki_tool) {
        fprintf(stderr, "HAWIYA_PKI_DIR and HAWIYA_PKI must be set (see tests/CMakeLists.txt)\n");
        return -1;
    }
    for (size_t i = 0; i < sizeof challenge; i++) {
        challenge[i] = (uint8_t)i;
        other_challenge[i] = (uint8_t)(0xFF - i);
    }
    gen_p256(&reader_key, "reader sim-0001");
    gen_p256(&rogue_ca_key, "rogue reader CA");

    /* The reader's public key to a file, certified by `hawiya-pki reader`. */
    const char *tmp = out_dir ? out_dir : "/tmp";
    if (out_dir)
        mkdir(out_dir, 0755);
    unsigned char pem[1024];
    assert_int_equal(mbedtls_pk_write_pubkey_pem(&reader_key, pem, sizeof pem), 0);
    snprintf(path, sizeof path, "%s/reader-pub.pem", tmp);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs((const char *)pem, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "'%s' reader --ca '%s' --pubkey '%s' --id sim-0001 --out '%s/%s'",
             pki_tool, pki_dir, path, tmp, "reader-sim-0001.der");
    if (system(cmd) != 0) {
        fprintf(stderr, "failed: %s\n", cmd);
        return -1;
    }
    snprintf(path, sizeof path, "%s/reader-sim-0001.der", tmp);
    load(path, &reader_cert, &reader_cert_len);

    /* The reader's private key too, for the SOD a reader key signs (forged_sod_by_reader). */
    unsigned char kpem[512];
    assert_int_equal(mbedtls_pk_write_key_pem(&reader_key, kpem, sizeof kpem), 0);
    snprintf(path, sizeof path, "%s/reader-key.pem", tmp);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs((const char *)kpem, f);
    fclose(f);
    if (make_cards(tmp) != 0)
        return -1;

    char msg[256];
    trust = hv_trust_new();
    assert_non_null(trust);
    snprintf(path, sizeof path, "%s/csca/csca.pem", pki_dir);
    uint8_t *b;
    size_t n;
    load(path, &b, &n);
    assert_int_equal(hv_trust_add_csca(trust, b, n), HV_OK);
    free(b);
    assert_int_equal(hv_trust_n_csca(trust), 2); /* MAR and DZA */
    snprintf(path, sizeof path, "%s/reader-ca/reader-ca.pem", pki_dir);
    assert_int_equal(hv_trust_load_reader_ca_file(trust, path, msg, sizeof msg), HV_OK);
    assert_int_equal(hv_trust_n_reader_ca(trust), 1);
    /* Every CRL of the test PKI: each CSCA revokes its ds-XXX-revoked. */
    snprintf(path, sizeof path, "%s/crl", pki_dir);
    assert_int_equal(hv_trust_load_crl(trust, path, msg, sizeof msg), HV_OK);
    assert_int_equal(hv_trust_n_crl(trust), 3);
    return 0;
}

static int teardown(void **state)
{
    hv_trust_free(trust);
    free(reader_cert);
    mbedtls_pk_free(&reader_key);
    mbedtls_pk_free(&rogue_ca_key);
    return 0;
}

/* How to build one assertion; zero fields mean "as a genuine reader would". */
struct recipe {
    const char *persona;
    mbedtls_pk_context *aa_key; /* another card's AA key */
    const uint8_t *cert;        /* another reader certificate */
    size_t cert_len;
    const char *reader_id;          /* default "sim-0001" */
    uint64_t signed_counter;        /* the reader signs this counter ... */
    bool sign_other_counter;        /* ... instead of the one in the JSON */
    void (*tamper)(struct card *c); /* change the card files before anything is signed */
    bool unattested;                /* no reader: "reader":{"attested":false} */
    bool high_s;                    /* the reader's signature with n - s, which also verifies */
    uint64_t counter;               /* the reader's counter (0: 7) */
};

/*
 * An ECDSA P-256 signature (DER) rewritten with s' = n - s when s is on the
 * wrong side of n/2 for `high`: (r, s) and (r, n - s) both verify (SEC 1
 * §4.1.4); the reader sends the low one. Returns the new length.
 */
static size_t set_s_half(uint8_t *sig, size_t len, size_t cap, bool high)
{
    mbedtls_mpi r, s, half;
    mbedtls_ecp_group g;
    unsigned char *p = sig, *end = sig + len;
    size_t seq;
    mbedtls_mpi_init(&r);
    mbedtls_mpi_init(&s);
    mbedtls_mpi_init(&half);
    mbedtls_ecp_group_init(&g);
    assert_int_equal(mbedtls_ecp_group_load(&g, MBEDTLS_ECP_DP_SECP256R1), 0);
    assert_int_equal(
        mbedtls_asn1_get_tag(&p, end, &seq, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE), 0);
    assert_int_equal(mbedtls_asn1_get_mpi(&p, end, &r), 0);
    assert_int_equal(mbedtls_asn1_get_mpi(&p, end, &s), 0);
    assert_int_equal(mbedtls_mpi_copy(&half, &g.N), 0);
    assert_int_equal(mbedtls_mpi_shift_r(&half, 1), 0);
    bool is_high = mbedtls_mpi_cmp_mpi(&s, &half) > 0;
    if (is_high != high)
        assert_int_equal(mbedtls_mpi_sub_mpi(&s, &g.N, &s), 0);
    uint8_t buf[80];
    unsigned char *w = buf + sizeof buf;
    int n = 0, k;
    assert_true((k = mbedtls_asn1_write_mpi(&w, buf, &s)) > 0);
    n += k;
    assert_true((k = mbedtls_asn1_write_mpi(&w, buf, &r)) > 0);
    n += k;
    assert_true((k = mbedtls_asn1_write_len(&w, buf, (size_t)n)) > 0);
    n += k;
    assert_true((k = mbedtls_asn1_write_tag(&w, buf,
                                            MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE)) > 0);
    n += k;
    assert_true((size_t)n <= cap);
    memcpy(sig, w, (size_t)n);
    mbedtls_mpi_free(&r);
    mbedtls_mpi_free(&s);
    mbedtls_mpi_free(&half);
    mbedtls_ecp_group_free(&g);
    return (size_t)n;
}

static struct hv_options options(void)
{
    return (struct hv_options){.trust = trust,
                               .challenge = challenge,
                               .challenge_len = sizeof challenge,
                               .origin = ORIGIN,
                               .now = test_now};
}

static uint8_t last_digest[HV_DIGEST_LEN], last_sig[MBEDTLS_PK_SIGNATURE_MAX_SIZE];
static size_t last_sig_len;

static char *build(const struct recipe *rc)
{
    struct card c;
    card_load(&c, rc->persona ? rc->persona : "default");
    if (rc->tamper)
        rc->tamper(&c);
    struct hv_evidence ev = {
        .challenge = {challenge, sizeof challenge},
        .origin = ORIGIN,
        .ef_com = {c.f[C_COM], c.n[C_COM]},
        .dg1 = {c.f[C_DG1], c.n[C_DG1]},
        .dg11 = {c.f[C_DG11], c.n[C_DG11]},
        .dg14 = {c.f[C_DG14], c.n[C_DG14]},
        .dg15 = {c.f[C_DG15], c.n[C_DG15]},
        .ef_sod = {c.f[C_SOD], c.n[C_SOD]},
        .ef_cardaccess = {c.f[C_CARDACCESS], c.n[C_CARDACCESS]},
        .reader_id = rc->unattested  ? NULL
                     : rc->reader_id ? rc->reader_id
                                     : "sim-0001",
        .reader_certificate = {rc->cert ? rc->cert : reader_cert,
                               rc->cert ? rc->cert_len : reader_cert_len},
        .counter = 7,
    };
    if (rc->unattested) {
        ev.reader_certificate = (struct hv_bytes){NULL, 0};
        ev.counter = 0;
    }
    /* The card signs aa_challenge (INTERNAL AUTHENTICATE), ecdsa-plain-SHA256 per its DG14. */
    uint8_t aa[HV_AA_CHALLENGE_LEN], aa_sig[132], digest[HV_DIGEST_LEN],
        sig[MBEDTLS_PK_SIGNATURE_MAX_SIZE];
    size_t aa_sig_len, sig_len;
    struct rng r;
    assert_int_equal(hv_aa_challenge(&ev, aa), HV_OK);
    rng_init(&r, "card");
    mbedtls_pk_context *k = rc->aa_key ? rc->aa_key : &c.aa_key;
    assert_int_equal(aa_card_sign(mbedtls_pk_ec(*k), aa, sizeof aa, AA_HASH_SHA256,
                                  mbedtls_ctr_drbg_random, &r.drbg, aa_sig, sizeof aa_sig,
                                  &aa_sig_len),
                     AA_OK);
    ev.aa_signature = (struct hv_bytes){aa_sig, aa_sig_len};
    /* The reader signs the digest of everything (with another counter if asked), low-S. */
    if (!rc->unattested) {
        uint64_t counter = rc->counter ? rc->counter : 7;
        ev.counter = rc->sign_other_counter ? rc->signed_counter : counter;
        assert_int_equal(hv_reader_digest(&ev, digest), HV_OK);
        ev.counter = counter;
        assert_int_equal(mbedtls_pk_sign(&reader_key, MBEDTLS_MD_SHA256, digest, sizeof digest, sig,
                                         &sig_len, mbedtls_ctr_drbg_random, &r.drbg),
                         0);
        sig_len = set_s_half(sig, sig_len, sizeof sig, rc->high_s);
        ev.reader_signature = (struct hv_bytes){sig, sig_len};
        memcpy(last_digest, digest, sizeof digest);
        memcpy(last_sig, sig, sig_len);
        last_sig_len = sig_len;
    }
    char *json = NULL;
    assert_int_equal(hv_assertion_build(&ev, &json), HV_OK);
    assert_non_null(json);
    mbedtls_ctr_drbg_free(&r.drbg);
    card_free(&c);
    return json;
}

static enum hv_err verify_with(const char *json, const struct hv_options *opt,
                               struct hv_result *res)
{
    enum hv_err e = hv_verify(json, strlen(json), opt, res);
    assert_int_equal(e, res->err);
    assert_string_equal(hv_err_str(e), hv_err_str(res->err));
    if (e == HV_OK)
        assert_non_null(res->identity_json);
    else
        assert_null(res->identity_json);
    return e;
}

static void expect(const char *json, const struct hv_options *opt, enum hv_err want)
{
    struct hv_result res;
    enum hv_err e = verify_with(json, opt, &res);
    if (e != want)
        fail_msg("got %s (%s), want %s", hv_err_str(e), res.message, hv_err_str(want));
    if (e != HV_OK)
        assert_true(res.message[0] != '\0');
    hv_result_free(&res);
}

static void expect_recipe(const struct recipe *rc, enum hv_err want)
{
    char *json = build(rc);
    struct hv_options opt = options();
    expect(json, &opt, want);
    free(json);
}

static const char *str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    assert_true(cJSON_IsString(v));
    return v->valuestring;
}

static void good_assertion(void **state)
{
    char *json = build(&(struct recipe){0});
    save("good.json", json);
    struct hv_options opt = options();
    struct hv_result res;
    assert_int_equal(verify_with(json, &opt, &res), HV_OK);
    assert_string_equal(res.message, "");
    assert_string_equal(res.reader_id, "sim-0001");
    assert_int_equal(res.counter, 7);
    assert_true(res.attested);
    cJSON *id = cJSON_Parse(res.identity_json);
    assert_non_null(id);
    /* tests/data/personas.json, persona "default" */
    assert_string_equal(str(id, "document_type"), "ID");
    assert_string_equal(str(id, "issuing_state"), "MAR");
    assert_string_equal(str(id, "document_number"), "AB1234567");
    assert_string_equal(str(id, "surname"), "BENALI");
    assert_string_equal(str(id, "given_names"), "MOHAMED AMINE");
    assert_string_equal(str(id, "nationality"), "MAR");
    assert_string_equal(str(id, "birth_date"), "900115");
    assert_string_equal(str(id, "sex"), "M");
    assert_string_equal(str(id, "expiry_date"), "310514");
    /* DG11 as hawiya-pki writes it: 5F0E "surname<<given names" in UTF-8, 5F10, 5F2B */
    assert_string_equal(str(id, "full_name"), "بن علي<<محمد أمين");
    assert_string_equal(str(id, "personal_number"), "BE123456");
    assert_string_equal(str(id, "full_date_of_birth"), "19900115");
    assert_int_equal(cJSON_GetArraySize(id), 12);
    cJSON_Delete(id);
    hv_result_free(&res);

    /* The assertion itself: the format, the algorithm and the challenge as base64url. */
    cJSON *a = cJSON_Parse(json);
    assert_string_equal(str(a, "format"), "hawiya-assertion/2");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(a, "reader"), "attested")));
    assert_string_equal(str(a, "aa_algorithm"), "ecdsa-plain-SHA256");
    /* RFC 4648 §5 of 00 01 .. 1F, unpadded (Python: base64.urlsafe_b64encode) */
    assert_string_equal(str(a, "challenge"), "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8");
    cJSON_Delete(a);
    free(json);
}

/* The other personas with no flaw verify too, and bac-only without EF.CardAccess. */
static void good_other_personas(void **state)
{
    static const char *const ok[] = {"algeria", "morocco-cnie", "bac-only"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        char *json = build(&(struct recipe){.persona = ok[i]});
        struct hv_options opt = options();
        expect(json, &opt, HV_OK);
        if (!strcmp(ok[i], "bac-only"))
            assert_null(strstr(json, "\"ef_cardaccess\""));
        free(json);
    }
}

/* The reader's signature checked by OpenSSL over the same digest, as any platform could. */
static void reader_signature_openssl(void **state)
{
    char path[1024], cmd[4096];
    const char *tmp = out_dir ? out_dir : "/tmp";
    if (system("openssl version >/dev/null 2>&1") != 0)
        skip();
    free(build(&(struct recipe){0}));
    const struct {
        const char *name;
        const uint8_t *p;
        size_t n;
    } files[] = {{"reader-digest.bin", last_digest, sizeof last_digest},
                 {"reader-sig.der", last_sig, last_sig_len}};
    for (size_t i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s", tmp, files[i].name);
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(files[i].p, 1, files[i].n, f), files[i].n);
        fclose(f);
    }
    snprintf(cmd, sizeof cmd,
             "cd '%s' && openssl x509 -inform DER -in reader-sim-0001.der -pubkey -noout "
             "> reader-cert-pub.pem && openssl pkeyutl -verify -pubin -inkey reader-cert-pub.pem "
             "-in reader-digest.bin -sigfile reader-sig.der >/dev/null",
             tmp);
    assert_int_equal(system(cmd), 0);
    last_digest[0] ^= 1; /* and OpenSSL is not saying yes to everything */
    snprintf(path, sizeof path, "%s/reader-digest.bin", tmp);
    FILE *f = fopen(path, "wb");
    fwrite(last_digest, 1, sizeof last_digest, f);
    fclose(f);
    assert_int_not_equal(system(cmd), 0);
}

/* --- one test per failure ---------------------------------------------------- */

static void flip_sod_signature(struct card *c)
{
    struct sod s;
    assert_int_equal(sod_parse(c->f[C_SOD], c->n[C_SOD], &s), SOD_OK);
    size_t off = (size_t)(s.signature - c->f[C_SOD]) + s.signature_len - 1;
    c->f[C_SOD][off] ^= 0x01;
}

static void forged_sod(void **state)
{
    expect_recipe(&(struct recipe){.tamper = flip_sod_signature}, HV_ERR_SOD_SIGNATURE);
}

static void alter_dg1_name(struct card *c)
{
    uint8_t *p = NULL;
    for (size_t i = 0; !p && i + 6 <= c->n[C_DG1]; i++)
        if (!memcmp(c->f[C_DG1] + i, "BENALI", 6))
            p = c->f[C_DG1] + i;
    assert_non_null(p);
    p[5] = 'Y'; /* BENALY: the name is under no check digit in TD1 */
}

static void altered_dg1(void **state)
{
    char *json = build(&(struct recipe){.tamper = alter_dg1_name});
    struct hv_options opt = options();
    struct hv_result res;
    assert_int_equal(verify_with(json, &opt, &res), HV_ERR_DG_HASH);
    assert_int_equal(res.failed_dg, 1);
    hv_result_free(&res);
    save("bad-dg1.json", json);
    free(json);
}

static char *with_identity_field(const char *json, const char *key, const char *value)
{
    cJSON *a = cJSON_Parse(json);
    cJSON *id = cJSON_GetObjectItemCaseSensitive(a, "identity");
    if (cJSON_GetObjectItemCaseSensitive(id, key))
        cJSON_ReplaceItemInObjectCaseSensitive(id, key, cJSON_CreateString(value));
    else
        cJSON_AddStringToObject(id, key, value);
    char *s = cJSON_PrintUnformatted(a);
    cJSON_Delete(a);
    return s;
}

static void altered_identity(void **state)
{
    char *json = build(&(struct recipe){0});
    struct hv_options opt = options();
    char *bad = with_identity_field(json, "given_names", "MOHAMED AMIN");
    expect(bad, &opt, HV_ERR_IDENTITY);
    save("bad-identity.json", bad);
    free(bad);
    bad = with_identity_field(json, "title", "DR"); /* a field DG11 does not hold */
    expect(bad, &opt, HV_ERR_IDENTITY);
    free(bad);
    /* A second "surname" (two parsers could read different ones). */
    const char *at = strstr(json, "\"surname\":\"BENALI\"");
    assert_non_null(at);
    size_t pre = (size_t)(at - json);
    bad = malloc(strlen(json) + 32);
    memcpy(bad, json, pre);
    strcpy(bad + pre, "\"surname\":\"OTHER\",");
    strcat(bad, at);
    expect(bad, &opt, HV_ERR_FORMAT); /* refused as JSON before the identity is compared */
    free(bad);
    free(json);
}

static void wrong_origin(void **state)
{
    char *json = build(&(struct recipe){0});
    struct hv_options opt = options();
    opt.origin = "https://evil.example";
    expect(json, &opt, HV_ERR_ORIGIN);
    free(json);
}

static void replayed_challenge(void **state)
{
    char *json = build(&(struct recipe){0});
    struct hv_options opt = options();
    opt.challenge = other_challenge;
    expect(json, &opt, HV_ERR_CHALLENGE);
    free(json);
}

static void aa_from_another_card(void **state)
{
    struct card algeria;
    card_load(&algeria, "algeria");
    expect_recipe(&(struct recipe){.aa_key = &algeria.aa_key}, HV_ERR_AA_SIGNATURE);
    card_free(&algeria);
}

static void bad_aa_key_persona(void **state)
{
    expect_recipe(&(struct recipe){.persona = "bad-aa-key"}, HV_ERR_AA_SIGNATURE);
}

static void aa_challenge_altered(void **state)
{
    char *json = build(&(struct recipe){0});
    cJSON *a = cJSON_Parse(json);
    cJSON_ReplaceItemInObjectCaseSensitive(a, "aa_challenge", cJSON_CreateString("AAAAAAAAAAA="));
    char *bad = cJSON_PrintUnformatted(a);
    struct hv_options opt = options();
    expect(bad, &opt, HV_ERR_AA_CHALLENGE);
    cJSON_Delete(a);
    free(bad);
    free(json);
}

static void untrusted_reader(void **state)
{
    uint8_t cert[2048];
    size_t n = issue_reader_cert(&rogue_ca_key,
                                 "C=UT,O=Hawiya Test Readers,CN=Hawiya Test Reader Manufacturer CA",
                                 "20250101000000", "20450101000000", "sim-0001", cert, sizeof cert);
    char *json = build(&(struct recipe){.cert = cert, .cert_len = n});
    struct hv_options opt = options();
    expect(json, &opt, HV_ERR_READER_UNTRUSTED);
    save("bad-reader.json", json);
    free(json);
    /* The genuine certificate of sim-0001 presented by "sim-0002". */
    expect_recipe(&(struct recipe){.reader_id = "sim-0002"}, HV_ERR_READER_UNTRUSTED);
}

static void expired_certificates(void **state)
{
    char *json = build(&(struct recipe){0});
    struct hv_options opt = options();
    /* Before the reader CA's notBefore (2025-01-01), with the DS already valid. */
    opt.now = (struct hv_time){2024, 7, 1, 0, 0, 0};
    expect(json, &opt, HV_ERR_CERT_NOT_YET_VALID);
    /* The document (valid until 2031-05-14) past its expiry: refused as such first. */
    opt.now = (struct hv_time){2036, 1, 1, 0, 0, 1};
    expect(json, &opt, HV_ERR_DOCUMENT_EXPIRED);
    free(json);

    /* The expired persona (document expiry 2020-01-01, signed by ds-MAR-old 2009 .. 2020-06-30):
     * refused as an expired document, not for its DS (docs/assertion.md, "Document policy"). */
    expect_recipe(&(struct recipe){.persona = "expired"}, HV_ERR_DOCUMENT_EXPIRED);

    /* A reader certificate valid during 2025 only, at the test "now". */
    mbedtls_pk_context ca_key;
    char path[1024];
    uint8_t *b, cert[2048];
    size_t n;
    snprintf(path, sizeof path, "%s/private/reader-ca.key", pki_dir);
    load(path, &b, &n);
    mbedtls_pk_init(&ca_key);
    assert_int_equal(mbedtls_pk_parse_key(&ca_key, b, n, NULL, 0), 0);
    free(b);
    n = issue_reader_cert(&ca_key,
                          "C=UT,O=Hawiya Test Readers,CN=Hawiya Test Reader Manufacturer CA",
                          "20250101000000", "20251231235959", "sim-0001", cert, sizeof cert);
    json = build(&(struct recipe){.cert = cert, .cert_len = n});
    opt = options();
    expect(json, &opt, HV_ERR_CERT_EXPIRED);
    opt.now = (struct hv_time){2025, 6, 1, 0, 0, 0};
    expect(json, &opt, HV_OK); /* the same certificate while valid: the issuing path is sound */
    free(json);
    mbedtls_pk_free(&ca_key);
}

static void reader_signed_other_counter(void **state)
{
    expect_recipe(&(struct recipe){.sign_other_counter = true, .signed_counter = 8},
                  HV_ERR_READER_SIGNATURE);
    char *json = build(&(struct recipe){0});
    cJSON *a = cJSON_Parse(json);
    cJSON *r = cJSON_GetObjectItemCaseSensitive(a, "reader");
    cJSON_ReplaceItemInObjectCaseSensitive(r, "counter", cJSON_CreateNumber(8));
    char *bad = cJSON_PrintUnformatted(a);
    struct hv_options opt = options();
    expect(bad, &opt, HV_ERR_READER_SIGNATURE);
    cJSON_Delete(a);
    free(bad);
    free(json);
}

static void wrong_dg_hash_persona(void **state)
{
    char *json = build(&(struct recipe){.persona = "wrong-dg-hash"});
    struct hv_options opt = options();
    struct hv_result res;
    assert_int_equal(verify_with(json, &opt, &res), HV_ERR_DG_HASH);
    assert_int_equal(res.failed_dg, 1);
    hv_result_free(&res);
    free(json);
}

static void untrusted_document_signer(void **state)
{
    char path[1024];
    uint8_t *b;
    size_t n;
    struct hv_trust *t = hv_trust_new();
    snprintf(path, sizeof path, "%s/csca/csca-DZA.der", pki_dir); /* not Morocco's CSCA */
    load(path, &b, &n);
    assert_int_equal(hv_trust_add_csca(t, b, n), HV_OK);
    free(b);
    snprintf(path, sizeof path, "%s/reader-ca/reader-ca.der", pki_dir);
    assert_int_equal(hv_trust_load_reader_ca_file(t, path, NULL, 0), HV_OK);
    char *json = build(&(struct recipe){0});
    struct hv_options opt = options();
    opt.trust = t;
    expect(json, &opt, HV_ERR_DS_UNTRUSTED);
    free(json);
    hv_trust_free(t);
}

static char *replace(const char *s, const char *from, const char *to)
{
    const char *at = strstr(s, from);
    assert_non_null(at);
    char *r = malloc(strlen(s) + strlen(to) + 1);
    size_t pre = (size_t)(at - s);
    memcpy(r, s, pre);
    strcpy(r + pre, to);
    strcat(r, at + strlen(from));
    return r;
}

static void format_errors(void **state)
{
    char *json = build(&(struct recipe){0});
    struct hv_options opt = options();
    expect("", &opt, HV_ERR_FORMAT);
    expect("[]", &opt, HV_ERR_FORMAT);
    expect("{\"format\":\"hawiya-assertion/2\"}", &opt, HV_ERR_FORMAT);
    char *bad =
        replace(json, "\"format\":\"hawiya-assertion/2\"", "\"format\":\"hawiya-assertion/1\"");
    expect(bad, &opt, HV_ERR_VERSION);
    free(bad);
    bad = replace(json, "\"origin\"", "\"extra\":1,\"origin\"");
    expect(bad, &opt, HV_ERR_FORMAT); /* an unknown member */
    free(bad);
    bad = replace(json, "\"origin\"", "\"origin\":\"x\",\"origin\"");
    expect(bad, &opt, HV_ERR_FORMAT); /* a repeated member */
    free(bad);
    bad = replace(json, "\"dg1\":\"", "\"dg1\":\" ");
    expect(bad, &opt, HV_ERR_FORMAT); /* base64 that is not canonical */
    free(bad);
    bad = replace(json, "\"counter\":7", "\"counter\":7.5");
    expect(bad, &opt, HV_ERR_FORMAT);
    free(bad);
    bad = replace(json, "\"counter\":7", "\"counter\":\"7\"");
    expect(bad, &opt, HV_ERR_FORMAT);
    free(bad);
    /* A \\u escape is refused for what it escapes, and says which rule it broke. */
    static const struct {
        const char *to, *why;
    } escapes[] = {
        {"\"surname\":\"BENALI\\u0000X\"", "\\u0000 (a NUL) in a string"},
        {"\"surname\":\"BENALI\\ud800\"", "a \\u escape for a character written as itself"},
        {"\"surname\":\"\\u0042ENALI\"", "a \\u escape for a character written as itself"},
        {"\"surname\":\"BENALI\\u000a\"", "a \\u escape for a character that has a short escape"},
    };
    for (size_t i = 0; i < sizeof escapes / sizeof escapes[0]; i++) {
        bad = replace(json, "\"surname\":\"BENALI\"", escapes[i].to);
        struct hv_result res;
        assert_int_equal(verify_with(bad, &opt, &res), HV_ERR_FORMAT);
        if (!strstr(res.message, escapes[i].why))
            fail_msg("%s: \"%s\", want \"%s\"", escapes[i].to, res.message, escapes[i].why);
        hv_result_free(&res);
        free(bad);
    }
    size_t n = strlen(json);
    bad = malloc(n + 3);
    memcpy(bad, json, n);
    memcpy(bad + n, " x", 3);
    expect(bad, &opt, HV_ERR_FORMAT); /* bytes after the object */
    bad[n] = '\n';
    bad[n + 1] = '\0';
    expect(bad, &opt, HV_OK);
    free(bad);
    /* Trust anchors and options. */
    struct hv_result res;
    opt.challenge_len = 16;
    assert_int_equal(hv_verify(json, strlen(json), &opt, &res), HV_ERR_ARGUMENT);
    hv_result_free(&res);
    assert_string_equal(hv_err_str(HV_ERR_READER_SIGNATURE), "HV_ERR_READER_SIGNATURE");
    free(json);
}

/* DG1 = 61 L 5F1F L MRZ (9303-10 §4.7.1). */
static size_t make_dg1(uint8_t *buf, const char *mrz)
{
    size_t n = strlen(mrz);
    buf[0] = 0x61;
    buf[1] = (uint8_t)(n + 3);
    buf[2] = 0x5F;
    buf[3] = 0x1F;
    buf[4] = (uint8_t)n;
    memcpy(buf + 5, mrz, n);
    return n + 5;
}

static void expect_identity(const char *mrz, const char *want)
{
    uint8_t dg1[128];
    size_t n = make_dg1(dg1, mrz);
    cJSON *id = hv_identity_from_lds(dg1, n, NULL, 0);
    assert_non_null(id);
    char *s = cJSON_PrintUnformatted(id);
    assert_string_equal(s, want);
    free(s);
    cJSON_Delete(id);
}

/* The mapping on the ICAO specimens: 9303-4 (TD3), 9303-5 (TD1), and 9303-5's long number. */
static void identity_specimens(void **state)
{
    expect_identity("P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<"
                    "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
                    "{\"document_type\":\"P\",\"issuing_state\":\"UTO\",\"document_number\":"
                    "\"L898902C3\",\"surname\":\"ERIKSSON\",\"given_names\":\"ANNA MARIA\","
                    "\"nationality\":\"UTO\",\"birth_date\":\"740812\",\"sex\":\"F\","
                    "\"expiry_date\":\"120415\"}");
    expect_identity("I<UTOD231458907<<<<<<<<<<<<<<<"
                    "7408122F1204159UTO<<<<<<<<<<<6"
                    "ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
                    "{\"document_type\":\"I\",\"issuing_state\":\"UTO\",\"document_number\":"
                    "\"D23145890\",\"surname\":\"ERIKSSON\",\"given_names\":\"ANNA MARIA\","
                    "\"nationality\":\"UTO\",\"birth_date\":\"740812\",\"sex\":\"F\","
                    "\"expiry_date\":\"120415\"}");
    expect_identity("I<UTOD23145890<7349<<<<<<<<<<<"
                    "3407127M9507122UTO<<<<<<<<<<<2"
                    "STEVENSON<<PETER<JOHN<<<<<<<<<",
                    "{\"document_type\":\"I\",\"issuing_state\":\"UTO\",\"document_number\":"
                    "\"D23145890734\",\"surname\":\"STEVENSON\",\"given_names\":\"PETER JOHN\","
                    "\"nationality\":\"UTO\",\"birth_date\":\"340712\",\"sex\":\"M\","
                    "\"expiry_date\":\"950712\"}");
    /* A failing check digit (birth date 740813 with the digit of 740812): no identity. */
    uint8_t dg1[128];
    size_t n = make_dg1(dg1, "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<"
                             "L898902C36UTO7408132F1204159ZE184226B<<<<<10");
    assert_null(hv_identity_from_lds(dg1, n, NULL, 0));
}

static void truncate_sod(struct card *c)
{
    c->n[C_SOD]--;
}

static char *without_member(const char *json, const char *key, const char *value)
{
    cJSON *a = cJSON_Parse(json);
    if (value)
        cJSON_ReplaceItemInObjectCaseSensitive(a, key, cJSON_CreateString(value));
    else
        cJSON_DeleteItemFromObjectCaseSensitive(a, key);
    char *s = cJSON_PrintUnformatted(a);
    cJSON_Delete(a);
    return s;
}

static void sod_and_aa_details(void **state)
{
    expect_recipe(&(struct recipe){.tamper = truncate_sod}, HV_ERR_SOD_MALFORMED);
    char *json = build(&(struct recipe){0});
    struct hv_options opt = options();
    /* Without DG14 an EC AA key has no hash (9303-11 §9.2.4), so no AA check. */
    char *bad = without_member(json, "dg14", NULL);
    expect(bad, &opt, HV_ERR_LDS);
    free(bad);
    bad = without_member(json, "aa_algorithm", "ecdsa-plain-SHA1");
    expect(bad, &opt, HV_ERR_AA_SIGNATURE);
    free(bad);
    /* Dropping DG11 changes what the identity must be (no full_name ...). */
    bad = without_member(json, "dg11", NULL);
    expect(bad, &opt, HV_ERR_IDENTITY);
    free(bad);
    free(json);
}

/* DER tag || length || value at out; returns the bytes written. */
static size_t der(uint8_t *out, uint8_t tag, const uint8_t *v, size_t n)
{
    size_t h = 0;
    out[h++] = tag;
    if (n < 0x80) {
        out[h++] = (uint8_t)n;
    } else if (n < 0x100) {
        out[h++] = 0x81;
        out[h++] = (uint8_t)n;
    } else {
        out[h++] = 0x82;
        out[h++] = (uint8_t)(n >> 8);
        out[h++] = (uint8_t)n;
    }
    memmove(out + h, v, n);
    return h + n;
}

/*
 * A new EF.SOD for the card's DG1, DG11, DG14, DG15, signed by OpenSSL with
 * the Document Signer ds-MAR (`openssl cms -sign`, as tests/data/lds/make.sh
 * does): the LDSSecurityObject of 9303-10 §4.6.2.2 with SHA-256 hashes.
 */
static void resign_sod_with(struct card *c, const char *extra);

/* The signer resign_sod_with() uses: ds-MAR unless a test sets another (certificate and key,
 * DER or PEM). */
static const char *sod_signer_cert, *sod_signer_key;

static void resign_sod_openssl(struct card *c)
{
    resign_sod_with(c, "");
}

/* The same without the DS certificate in the SOD (9303-10 allows it; the platform has it). */
static void resign_sod_openssl_nocerts(struct card *c)
{
    resign_sod_with(c, "-nocerts");
}

static void resign_sod_with(struct card *c, const char *extra)
{
    static const uint8_t sha256_alg[] = {0x30, 0x0B, 0x06, 0x09, 0x60, 0x86, 0x48,
                                         0x01, 0x65, 0x03, 0x04, 0x02, 0x01};
    const struct {
        uint8_t number;
        int file;
    } dgs[] = {{1, C_DG1}, {11, C_DG11}, {14, C_DG14}, {15, C_DG15}};
    uint8_t hashes[512], item[64], h[32], lds[640], tmp[640];
    size_t n_hashes = 0;
    for (size_t i = 0; i < 4; i++) {
        const uint8_t num[] = {0x02, 0x01, dgs[i].number};
        assert_int_equal(mbedtls_sha256_ret(c->f[dgs[i].file], c->n[dgs[i].file], h, 0), 0);
        memcpy(tmp, num, 3);
        size_t n = 3 + der(tmp + 3, 0x04, h, 32);
        n = der(item, 0x30, tmp, n);
        memcpy(hashes + n_hashes, item, n);
        n_hashes += n;
    }
    static const uint8_t version[] = {0x02, 0x01, 0x00};
    size_t n = 0;
    memcpy(tmp, version, 3);
    n = 3;
    memcpy(tmp + n, sha256_alg, sizeof sha256_alg);
    n += sizeof sha256_alg;
    n += der(tmp + n, 0x30, hashes, n_hashes);
    n = der(lds, 0x30, tmp, n);

    char path[1024], cmd[4096];
    const char *dir = out_dir ? out_dir : "/tmp";
    snprintf(path, sizeof path, "%s/ldsso.der", dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(lds, 1, n, f), n);
    fclose(f);
    char signer[2200];
    if (sod_signer_cert)
        snprintf(signer, sizeof signer, "-signer '%s' -inkey '%s'", sod_signer_cert,
                 sod_signer_key);
    else
        snprintf(signer, sizeof signer,
                 "-signer '%s/ds/ds-MAR.pem' -inkey '%s/private/ds-MAR.key' -keyform DER", pki_dir,
                 pki_dir);
    snprintf(cmd, sizeof cmd,
             "openssl cms -sign -binary -nodetach -outform DER -econtent_type 2.23.136.1.1.1 "
             "-md sha256 -nosmimecap %s -in '%s/ldsso.der' %s -out '%s/sod-cms.der'",
             extra, dir, signer, dir);
    assert_int_equal(system(cmd), 0);
    snprintf(path, sizeof path, "%s/sod-cms.der", dir);
    uint8_t *cms;
    size_t cms_len;
    load(path, &cms, &cms_len);
    free(c->f[C_SOD]);
    c->f[C_SOD] = malloc(cms_len + 4);
    c->n[C_SOD] = der(c->f[C_SOD], 0x77, cms, cms_len); /* EF.SOD = 77 { ContentInfo } */
    free(cms);
}

/* An EF.SOD made by OpenSSL verifies like hawiya-pki's: independent of our CMS writer. */
static void sod_signed_by_openssl(void **state)
{
    if (system("openssl version >/dev/null 2>&1") != 0)
        skip();
    expect_recipe(&(struct recipe){.tamper = resign_sod_openssl}, HV_OK);
}

static char *b64(const uint8_t *p, size_t n)
{
    size_t cap = 4 * ((n + 2) / 3) + 1, olen;
    char *s = malloc(cap);
    assert_int_equal(mbedtls_base64_encode((unsigned char *)s, cap, &olen, p, n), 0);
    return s;
}

/* A DG1 whose birth-date check digit is wrong, under a validly signed SOD. */
static void dg1_check_digit(void **state)
{
    if (system("openssl version >/dev/null 2>&1") != 0)
        skip();
    struct card c;
    card_load(&c, "default");
    /* DG1 = 61 5D 5F1F 5A MRZ: TD1 line 2 holds the birth date check digit at column 7. */
    uint8_t *cd = c.f[C_DG1] + 5 + 30 + 6;
    assert_true(*cd >= '0' && *cd <= '9');
    *cd = (uint8_t)('0' + (*cd - '0' + 1) % 10);
    resign_sod_openssl(&c);
    char *json = build(&(struct recipe){0});
    cJSON *a = cJSON_Parse(json);
    char *dg1 = b64(c.f[C_DG1], c.n[C_DG1]), *sod = b64(c.f[C_SOD], c.n[C_SOD]);
    cJSON_ReplaceItemInObjectCaseSensitive(a, "dg1", cJSON_CreateString(dg1));
    cJSON_ReplaceItemInObjectCaseSensitive(a, "sod", cJSON_CreateString(sod));
    char *bad = cJSON_PrintUnformatted(a);
    struct hv_options opt = options();
    struct hv_result res;
    assert_int_equal(verify_with(bad, &opt, &res), HV_ERR_DG1);
    assert_non_null(strstr(res.message, "birth_date"));
    hv_result_free(&res);
    free(dg1);
    free(sod);
    free(bad);
    free(json);
    cJSON_Delete(a);
    card_free(&c);
}

static void helpers(void **state)
{
    struct hv_time tm;
    assert_int_equal(hv_time_parse("20260101000000Z", &tm), HV_OK);
    assert_int_equal(tm.year, 2026);
    assert_int_equal(hv_time_parse("20250229000000Z", &tm), HV_ERR_ARGUMENT);
    assert_int_equal(hv_time_parse("20240229235959Z", &tm), HV_OK);
    assert_int_equal(hv_time_parse("2026010100000Z", &tm), HV_ERR_ARGUMENT);
    uint8_t out[8];
    size_t n;
    /* RFC 4648 §10: BASE64("foobar") = "Zm9vYmFy", "fo" = "Zm8=" */
    assert_int_equal(hv_base64url_decode("Zm9vYmFy", 8, out, sizeof out, &n), HV_OK);
    assert_int_equal(n, 6);
    assert_memory_equal(out, "foobar", 6);
    assert_int_equal(hv_base64url_decode("Zm8=", 4, out, sizeof out, &n), HV_OK);
    assert_int_equal(n, 2);
    assert_int_equal(hv_base64url_decode("Zm9", 3, out, sizeof out, &n), HV_ERR_FORMAT);
    assert_int_equal(hv_base64url_decode("Zm+v", 4, out, sizeof out, &n), HV_ERR_FORMAT);
    /* The CSCA directory of the test PKI: both CSCAs, the bundle counted once. */
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/csca", pki_dir);
    struct hv_trust *t = hv_trust_new();
    assert_int_equal(hv_trust_load_csca_dir(t, dir, NULL, 0), HV_OK);
    assert_int_equal(hv_trust_n_csca(t), 2);
    hv_trust_free(t);
    t = hv_trust_new();
    char msg[256];
    assert_int_equal(hv_trust_load_csca_dir(t, "/nonexistent", msg, sizeof msg), HV_ERR_ARGUMENT);
    assert_non_null(strstr(msg, "/nonexistent"));
    hv_trust_free(t);
}

/* --- hawiya-assertion/2: one reading of every byte, one spelling of every value --- */

/* A session on a plain PC/SC reader: no reader block but {"attested":false}. */
static void unattested_assertion(void **state)
{
    char *json = build(&(struct recipe){.unattested = true});
    save("unattested.json", json);
    assert_non_null(strstr(json, ",\"reader\":{\"attested\":false}}"));
    struct hv_options opt = options();
    expect(json, &opt, HV_ERR_UNATTESTED); /* not unless the platform allows it */
    opt.allow_unattested = true;
    struct hv_result res;
    assert_int_equal(verify_with(json, &opt, &res), HV_OK);
    assert_false(res.attested);
    assert_string_equal(res.reader_id, "");
    assert_int_equal(res.counter, 0);
    hv_result_free(&res);
    /* The card evidence still binds: another challenge, origin or card fails as before. */
    opt.origin = "https://evil.example";
    expect(json, &opt, HV_ERR_ORIGIN);
    opt = options();
    opt.allow_unattested = true;
    opt.challenge = other_challenge;
    expect(json, &opt, HV_ERR_CHALLENGE);
    free(json);
    struct card algeria;
    card_load(&algeria, "algeria");
    json = build(&(struct recipe){.unattested = true, .aa_key = &algeria.aa_key});
    opt = options();
    opt.allow_unattested = true;
    expect(json, &opt, HV_ERR_AA_SIGNATURE);
    free(json);
    card_free(&algeria);
    /* No reader CA at all is fine for a platform that takes unattested readers only. */
    struct hv_trust *t = hv_trust_new();
    char path[1024];
    uint8_t *b;
    size_t n;
    snprintf(path, sizeof path, "%s/csca/csca.pem", pki_dir);
    load(path, &b, &n);
    assert_int_equal(hv_trust_add_csca(t, b, n), HV_OK);
    free(b);
    json = build(&(struct recipe){.unattested = true});
    opt.trust = t;
    expect(json, &opt, HV_OK);
    opt.allow_unattested = false;
    struct hv_result r2;
    assert_int_equal(hv_verify(json, strlen(json), &opt, &r2), HV_ERR_ARGUMENT);
    hv_result_free(&r2);
    hv_trust_free(t);
    free(json);
}

/* The unattested shape is exact, and an attested one cannot pass for it half way. */
static void reader_block_shapes(void **state)
{
    char *json = build(&(struct recipe){0});
    const char *at = strstr(json, ",\"reader\":{");
    assert_non_null(at);
    size_t pre = (size_t)(at - json);
    struct hv_options opt = options();
    opt.allow_unattested = true;
    static const struct {
        const char *reader;
        enum hv_err want;
    } cases[] = {
        {"{\"attested\":false}}", HV_OK}, /* stripped: only the card's evidence is left */
        {"{\"attested\":false,\"id\":\"sim-0001\"}}", HV_ERR_FORMAT},
        {"{\"attested\":true}}", HV_ERR_FORMAT},
        {"{\"attested\":0}}", HV_ERR_FORMAT},
        {"{\"attested\":\"false\"}}", HV_ERR_FORMAT},
        {"{\"attested\":null}}", HV_ERR_FORMAT},
        {"{}}", HV_ERR_FORMAT},
        {"null}", HV_ERR_FORMAT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *bad = malloc(pre + 64);
        memcpy(bad, json, pre);
        strcpy(bad + pre, ",\"reader\":");
        strcat(bad, cases[i].reader);
        expect(bad, &opt, cases[i].want);
        if (cases[i].want == HV_OK) {
            struct hv_options strict = options();
            expect(bad, &strict, HV_ERR_UNATTESTED);
        }
        free(bad);
    }
    /* No "reader" at all is not the unattested shape either. */
    char *bad = malloc(pre + 2);
    memcpy(bad, json, pre);
    strcpy(bad + pre, "}");
    expect(bad, &opt, HV_ERR_FORMAT);
    free(bad);
    free(json);
}

/* s and n - s both verify; only the low one is the reader's signature. */
static void high_s_reader_signature(void **state)
{
    char *json = build(&(struct recipe){.high_s = true});
    /* The high-S signature is a valid ECDSA signature of the digest ... */
    assert_int_equal(mbedtls_pk_verify(&reader_key, MBEDTLS_MD_SHA256, last_digest,
                                       sizeof last_digest, last_sig, last_sig_len),
                     0);
    /* ... and refused for being the second spelling. */
    struct hv_options opt = options();
    expect(json, &opt, HV_ERR_READER_SIGNATURE);
    free(json);
    /* The same with the low s verifies. */
    json = build(&(struct recipe){0});
    expect(json, &opt, HV_OK);
    /* A non-minimal DER INTEGER (a 00 before r) is refused too, though libcrypto's parser and
     * the arithmetic would take the value. */
    uint8_t sig[80];
    memcpy(sig, last_sig, last_sig_len);
    assert_int_equal(sig[2], 0x02);
    uint8_t longer[81];
    longer[0] = 0x30;
    longer[1] = (uint8_t)(sig[1] + 1);
    longer[2] = 0x02;
    longer[3] = (uint8_t)(sig[3] + 1);
    longer[4] = 0x00;
    memcpy(longer + 5, sig + 4, last_sig_len - 4);
    char *b = b64(longer, last_sig_len + 1);
    cJSON *a = cJSON_Parse(json);
    cJSON_ReplaceItemInObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(a, "reader"),
                                           "signature", cJSON_CreateString(b));
    char *bad = cJSON_PrintUnformatted(a);
    expect(bad, &opt, HV_ERR_READER_SIGNATURE);
    free(bad);
    free(b);
    cJSON_Delete(a);
    free(json);
}

/*
 * The card signed SHA-256-based bytes over (challenge C, origin O, DG1). In
 * hawiya-assertion/1 those bytes were C || O || DG1 with no lengths, so the
 * same signature fitted (C || "https://", "record.example"): a platform that
 * issued the longer challenge for that origin would take it. Every field is
 * now length-prefixed, and the shifted reading is refused, attested or not.
 */
static void boundary_shifted_challenge_origin(void **state)
{
    uint8_t longer[40];
    memcpy(longer, challenge, 32);
    memcpy(longer + 32, "https://", 8);
    for (int unattested = 0; unattested < 2; unattested++) {
        char *json = build(&(struct recipe){.unattested = unattested});
        char *c40 = NULL;
        {
            size_t cap = 64, olen;
            char *s = malloc(cap);
            assert_int_equal(mbedtls_base64_encode((unsigned char *)s, cap, &olen, longer, 40), 0);
            for (size_t i = 0; i < olen; i++)
                s[i] = s[i] == '+' ? '-' : s[i] == '/' ? '_' : s[i];
            while (olen && s[olen - 1] == '=')
                olen--;
            s[olen] = '\0';
            c40 = s;
        }
        cJSON *a = cJSON_Parse(json);
        cJSON_ReplaceItemInObjectCaseSensitive(a, "challenge", cJSON_CreateString(c40));
        cJSON_ReplaceItemInObjectCaseSensitive(a, "origin", cJSON_CreateString("record.example"));
        char *shifted = cJSON_PrintUnformatted(a);
        struct hv_options opt = options();
        opt.challenge = longer;
        opt.challenge_len = sizeof longer;
        opt.origin = "record.example";
        opt.allow_unattested = true;
        expect(shifted, &opt, HV_ERR_AA_CHALLENGE);
        /* The v1 digest of both readings is the same: what the rule closes. */
        uint8_t v1a[32], v1b[32];
        mbedtls_sha256_context h;
        const char *o = ORIGIN;
        mbedtls_sha256_init(&h);
        mbedtls_sha256_starts_ret(&h, 0);
        mbedtls_sha256_update_ret(&h, challenge, 32);
        mbedtls_sha256_update_ret(&h, (const uint8_t *)o, strlen(o));
        mbedtls_sha256_finish_ret(&h, v1a);
        mbedtls_sha256_starts_ret(&h, 0);
        mbedtls_sha256_update_ret(&h, longer, 40);
        mbedtls_sha256_update_ret(&h, (const uint8_t *)"record.example", 14);
        mbedtls_sha256_finish_ret(&h, v1b);
        mbedtls_sha256_free(&h);
        assert_memory_equal(v1a, v1b, 32);
        free(shifted);
        free(c40);
        cJSON_Delete(a);
        free(json);
    }
}

/* Every second spelling of a value the assertion holds is refused as JSON (HV_ERR_FORMAT),
 * though cJSON alone would read it as the first and the assertion would verify. */
static void non_canonical_json(void **state)
{
    char *json = build(&(struct recipe){0});
    struct hv_options opt = options();
    expect(json, &opt, HV_OK);
    static const struct {
        const char *from, *to;
    } spellings[] = {
        /* the counter: one integer spelling */
        {"\"counter\":7", "\"counter\":7.0"},
        {"\"counter\":7", "\"counter\":7.00"},
        {"\"counter\":7", "\"counter\":7e0"},
        {"\"counter\":7", "\"counter\":7E0"},
        {"\"counter\":7", "\"counter\":0.7e1"},
        {"\"counter\":7", "\"counter\":70e-1"},
        {"\"counter\":7", "\"counter\":07"},
        {"\"counter\":7", "\"counter\":+7"},
        {"\"counter\":7", "\"counter\":7."},
        {"\"counter\":7", "\"counter\":\"7\""},
        {"\"counter\":7", "\"counter\":0x7"},
        /* strings: the escape-free spelling */
        {"\"origin\":\"https://record.example\"", "\"origin\":\"https:\\/\\/record.example\""},
        {"\"surname\":\"BENALI\"", "\"surname\":\"\\u0042ENALI\""},
        {"\"surname\":\"BENALI\"", "\"surname\":\"\\u0042\\u0045NALI\""},
        {"\"aa_algorithm\":\"ecdsa-plain-SHA256\"",
         "\"aa_algorithm\":\"ecdsa-plain-SHA\\u0032\\u0035\\u0036\""},
        {"\"format\":\"hawiya-assertion/2\"", "\"format\":\"hawiya-assertion\\/2\""},
        /* booleans and names */
        {"\"attested\":true", "\"attested\":True"},
        {"\"attested\":true", "\"\\u0061ttested\":true"},
        /* RFC 8259 only: no comments, trailing commas, single quotes */
        {"\"attested\":true", "\"attested\":true,"},
        {"\"origin\":", "/**/\"origin\":"},
        {"\"origin\":\"https://record.example\"", "'origin':'https://record.example'"},
    };
    for (size_t i = 0; i < sizeof spellings / sizeof spellings[0]; i++) {
        char *bad = replace(json, spellings[i].from, spellings[i].to);
        struct hv_result res;
        enum hv_err e = verify_with(bad, &opt, &res);
        if (e != HV_ERR_FORMAT)
            fail_msg("%s: got %s (%s), want HV_ERR_FORMAT", spellings[i].to, hv_err_str(e),
                     res.message);
        hv_result_free(&res);
        free(bad);
    }
    /* The challenge: unpadded base64url only (the 32 bytes end with one '=' of padding). */
    char *bad = replace(json, "Hh8\"", "Hh8=\"");
    expect(bad, &opt, HV_ERR_FORMAT);
    free(bad);
    bad = replace(json, "Hh8\"", "Hh9\""); /* the last 2 bits not zero: the same 32 bytes */
    expect(bad, &opt, HV_ERR_FORMAT);
    free(bad);
    /* A byte-order mark, as cJSON would skip it. */
    size_t n = strlen(json);
    bad = malloc(n + 4);
    memcpy(bad, "\xEF\xBB\xBF", 3);
    memcpy(bad + 3, json, n + 1);
    expect(bad, &opt, HV_ERR_FORMAT);
    free(bad);
    /* Raw control characters inside a string (RFC 8259 §7: they must be escaped). */
    static const char *const raw[] = {"\"BEN\tALI\"", "\"BEN\nALI\"",
                                      "\"BEN\x01"
                                      "ALI\"",
                                      "\"BEN\x1f"
                                      "ALI\""};
    for (size_t i = 0; i < sizeof raw / sizeof raw[0]; i++) {
        bad = replace(json, "\"BENALI\"", raw[i]);
        expect(bad, &opt, HV_ERR_FORMAT);
        free(bad);
    }
    /* Invalid UTF-8 in a string: a lone continuation, an overlong '/', a surrogate, past
     * U+10FFFF, a truncated sequence, a byte never used. */
    static const char *const utf8[] = {"\"BEN\x80LI\"",         "\"BEN\xC0\xAFLI\"",
                                       "\"BEN\xED\xA0\x80LI\"", "\"BEN\xF4\x90\x80\x80LI\"",
                                       "\"BEN\xE2\x82\"",       "\"BEN\xFFLI\""};
    for (size_t i = 0; i < sizeof utf8 / sizeof utf8[0]; i++) {
        bad = replace(json, "\"BENALI\"", utf8[i]);
        expect(bad, &opt, HV_ERR_FORMAT);
        free(bad);
    }
    /* Whitespace between tokens spells no value: still the same assertion. */
    bad = replace(json, "\"counter\":7", "\"counter\" :\t7\r\n");
    expect(bad, &opt, HV_OK);
    free(bad);
    free(json);
}

/* --- trust: roles that never cross --------------------------------------------------------- */

/* Verifies the assertion of a card directory, and writes it as NAME.json for cli_verify. */
static enum hv_err verify_card(const char *card, const struct hv_options *opt,
                               struct hv_result *res)
{
    char *json = build(&(struct recipe){.persona = card});
    enum hv_err e = verify_with(json, opt, res);
    char name[256];
    const char *base = strrchr(card, '/');
    snprintf(name, sizeof name, "%s.json", base ? base + 1 : card);
    save(name, json);
    free(json);
    return e;
}

static void expect_card(const char *card, const struct hv_options *opt, enum hv_err want,
                        const char *in_message)
{
    struct hv_result res;
    enum hv_err e = verify_card(card, opt, &res);
    if (e != want || (in_message && !strstr(res.message, in_message)))
        fail_msg("%s: got %s (%s), want %s with \"%s\"", card, hv_err_str(e), res.message,
                 hv_err_str(want), in_message ? in_message : "");
    hv_result_free(&res);
}

/*
 * EF.SOD signed by whatever is not a Document Signer of the document's
 * state is HV_ERR_DS_UNTRUSTED, each for its own reason: a reader's key with
 * the reader's certificate presented as DS (the hole of the old demo
 * trust), a DS under the reader CA, a CSCA signing directly, a DS that is a
 * CA or may only sign certificates, a DS without keyUsage or country, a DS
 * of another state.
 */
static void sod_signers_that_are_not_document_signers(void **state)
{
    struct hv_options opt = options();
    static const struct {
        const char *card, *why;
    } cases[] = {
        {"reader-signed", "not issued by a given CSCA"},
        {"ds-reader-ca", "not issued by a given CSCA"},
        {"csca-signed", "a CA certificate"},
        {"ds-ca", "a CA certificate"},
        {"ds-keycertsign", "keyUsage without digitalSignature"},
        {"ds-no-keyusage", "no keyUsage extension"},
        {"ds-no-country", "no single two-letter countryName"},
        {"cross-country", "a Document Signer of DZ signed a document of issuing state MAR (MA)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_card(bad_card(cases[i].card), &opt, HV_ERR_DS_UNTRUSTED, cases[i].why);
    /* Even with the reader CA in the CSCA role, as the old demo loaded it, the reader-signed and
     * reader-CA-issued SODs fail: the reader CA does not enter a CSCA store. */
    char path[1024];
    uint8_t *b;
    size_t n;
    snprintf(path, sizeof path, "%s/reader-ca/reader-ca.pem", pki_dir);
    load(path, &b, &n);
    struct hv_trust *t = hv_trust_new();
    assert_int_equal(hv_trust_add_csca(t, b, n), HV_ERR_TRUST_STORE);
    assert_int_equal(hv_trust_n_csca(t), 0);
    hv_trust_free(t);
    free(b);
}

/* A DS its CSCA revoked: refused with its CSCA's CRL, accepted by a trust without CRLs (the
 * SOD itself is sound). */
static void revoked_document_signer(void **state)
{
    struct hv_options opt = options();
    expect_card(bad_card("revoked-ds"), &opt, HV_ERR_REVOKED, "revoked");
    struct hv_trust *t = hv_trust_new();
    char path[1024], msg[256];
    snprintf(path, sizeof path, "%s/csca", pki_dir);
    assert_int_equal(hv_trust_load_csca_dir(t, path, msg, sizeof msg), HV_OK);
    snprintf(path, sizeof path, "%s/reader-ca", pki_dir);
    assert_int_equal(hv_trust_load_reader_ca_file(t, path, msg, sizeof msg), HV_OK);
    opt.trust = t;
    expect_card(bad_card("revoked-ds"), &opt, HV_OK, NULL);
    /* The DZA CRL does not revoke a MAR DS: issuer names differ. */
    snprintf(path, sizeof path, "%s/crl/csca-DZA.crl", pki_dir);
    assert_int_equal(hv_trust_load_crl(t, path, msg, sizeof msg), HV_OK);
    expect_card(bad_card("revoked-ds"), &opt, HV_OK, NULL);
    hv_trust_free(t);
}

/*
 * Document policy. An expired document is HV_ERR_DOCUMENT_EXPIRED unless
 * allowed; then the result says so, and its signer is judged at the SOD's
 * signingTime (its DS may have expired with it), which must fall inside the
 * DS's validity and not after now. A document still valid is judged with
 * its DS at now: a DS already expired refuses it, allowed or not.
 */
static void document_policy(void **state)
{
    struct hv_options opt = options();
    struct hv_result res;
    char *json = build(&(struct recipe){.persona = "expired"});
    save("expired.json", json);
    expect(json, &opt, HV_ERR_DOCUMENT_EXPIRED);
    opt.allow_expired_document = true;
    assert_int_equal(verify_with(json, &opt, &res), HV_OK);
    assert_true(res.document_expired);
    hv_result_free(&res);
    free(json);
    json = build(&(struct recipe){0});
    assert_int_equal(verify_with(json, &opt, &res), HV_OK);
    assert_false(res.document_expired);
    hv_result_free(&res);
    /* The last day of validity (2031-05-14) is valid; the next second is not. */
    opt.allow_expired_document = false;
    opt.now = (struct hv_time){2031, 5, 14, 23, 59, 59};
    expect(json, &opt, HV_OK);
    opt.now = (struct hv_time){2031, 5, 15, 0, 0, 0};
    expect(json, &opt, HV_ERR_DOCUMENT_EXPIRED);
    free(json);
    opt = options();
    opt.allow_expired_document = true;
    /* Signed when the DS had expired (2021), or before it was valid (2008), or in the future. */
    expect_card(bad_card("expired-signed-late"), &opt, HV_ERR_CERT_EXPIRED, "signingTime");
    expect_card(bad_card("expired-signed-early"), &opt, HV_ERR_CERT_NOT_YET_VALID, "signingTime");
    expect_card(bad_card("expired-signed-future"), &opt, HV_ERR_CERT_NOT_YET_VALID,
                "signingTime is after now");
    /* A valid document whose DS expired (2020): the DS is judged at now. */
    expect_card(bad_card("old-ds"), &opt, HV_ERR_CERT_EXPIRED, "Document Signer certificate");
    opt.allow_expired_document = false;
    expect_card(bad_card("old-ds"), &opt, HV_ERR_CERT_EXPIRED, "Document Signer certificate");
}

/* A directory given as CSCAs holds CSCAs only: anything else is refused, and named. */
static void csca_store_refuses_other_roles(void **state)
{
    char dir[1024], cmd[4096], msg[512];
    const char *tmp = out_dir ? out_dir : "/tmp";
    static const char *const intruders[] = {"reader-ca/reader-ca.pem", "ds/ds-MAR.der",
                                            "bad/ds-MAR-ca.pem",       "masterlist/ml-signer.pem",
                                            "crl/csca-MAR.crl",        "private/csca-MAR.key"};
    for (size_t i = 0; i < sizeof intruders / sizeof intruders[0]; i++) {
        snprintf(dir, sizeof dir, "%s/mixed-csca", tmp);
        snprintf(cmd, sizeof cmd,
                 "rm -rf '%s' && mkdir -p '%s' && cp '%s'/csca/csca-*.der '%s'/"
                 " && cp '%s/%s' '%s/zz-intruder'",
                 dir, dir, pki_dir, dir, pki_dir, intruders[i], dir);
        assert_int_equal(system(cmd), 0);
        struct hv_trust *t = hv_trust_new();
        assert_int_equal(hv_trust_load_csca_dir(t, dir, msg, sizeof msg), HV_ERR_TRUST_STORE);
        if (!strstr(msg, "zz-intruder"))
            fail_msg("%s: the message does not name the file: %s", intruders[i], msg);
        hv_trust_free(t);
    }
    /* And the reader-CA store takes no CSCA. */
    struct hv_trust *t = hv_trust_new();
    snprintf(dir, sizeof dir, "%s/csca/csca-MAR.pem", pki_dir);
    assert_int_equal(hv_trust_load_reader_ca_file(t, dir, msg, sizeof msg), HV_ERR_TRUST_STORE);
    assert_non_null(strstr(msg, "reader-CA certificate policy"));
    snprintf(dir, sizeof dir, "%s/ds/ds-MAR.pem", pki_dir);
    assert_int_equal(hv_trust_load_reader_ca_file(t, dir, msg, sizeof msg), HV_ERR_TRUST_STORE);
    /* The Document Signer store takes no CA. */
    snprintf(dir, sizeof dir, "%s/csca/csca-MAR.pem", pki_dir);
    assert_int_equal(hv_trust_load_ds(t, dir, msg, sizeof msg), HV_ERR_TRUST_STORE);
    snprintf(dir, sizeof dir, "%s/bad/ds-MAR-no-keyusage.pem", pki_dir);
    assert_int_equal(hv_trust_load_ds(t, dir, msg, sizeof msg), HV_ERR_TRUST_STORE);
    hv_trust_free(t);
}

/*
 * The reader certificate profile: keyUsage digitalSignature (absent is a
 * failure, though mbedTLS's own check passes it), not a CA, no keyCertSign,
 * ECDSA P-256, issued by a reader CA (a CSCA's signature is worth nothing
 * here), not revoked by the reader CA's CRL.
 */
static size_t issue_reader_cert_ex(mbedtls_pk_context *issuer_key, const char *issuer,
                                   mbedtls_pk_context *subject_key, int basic_ca,
                                   unsigned key_usage, uint8_t *out, size_t cap)
{
    mbedtls_x509write_cert w;
    mbedtls_mpi serial;
    struct rng r;
    uint8_t buf[2048];
    rng_init(&r, "issue-ex");
    mbedtls_x509write_crt_init(&w);
    mbedtls_mpi_init(&serial);
    assert_int_equal(mbedtls_mpi_lset(&serial, 4343), 0);
    mbedtls_x509write_crt_set_version(&w, MBEDTLS_X509_CRT_VERSION_3);
    assert_int_equal(mbedtls_x509write_crt_set_serial(&w, &serial), 0);
    assert_int_equal(mbedtls_x509write_crt_set_validity(&w, "20250101000000", "20450101000000"), 0);
    assert_int_equal(mbedtls_x509write_crt_set_issuer_name(&w, issuer), 0);
    assert_int_equal(
        mbedtls_x509write_crt_set_subject_name(&w, "C=UT,O=Hawiya Test Readers,CN=sim-0001"), 0);
    mbedtls_x509write_crt_set_subject_key(&w, subject_key);
    mbedtls_x509write_crt_set_issuer_key(&w, issuer_key);
    mbedtls_x509write_crt_set_md_alg(&w, MBEDTLS_MD_SHA256);
    if (basic_ca >= 0)
        assert_int_equal(mbedtls_x509write_crt_set_basic_constraints(&w, basic_ca, -1), 0);
    if (key_usage)
        assert_int_equal(mbedtls_x509write_crt_set_key_usage(&w, key_usage), 0);
    int n = mbedtls_x509write_crt_der(&w, buf, sizeof buf, mbedtls_ctr_drbg_random, &r.drbg);
    assert_true(n > 0 && (size_t)n <= cap);
    memcpy(out, buf + sizeof buf - n, (size_t)n);
    mbedtls_x509write_crt_free(&w);
    mbedtls_mpi_free(&serial);
    mbedtls_ctr_drbg_free(&r.drbg);
    return cert_set_s(out, (size_t)n, cap, issuer_key, false);
}

static void load_key(const char *file, mbedtls_pk_context *pk)
{
    char path[1024];
    uint8_t *b;
    size_t n;
    snprintf(path, sizeof path, "%s/%s", pki_dir, file);
    load(path, &b, &n);
    mbedtls_pk_init(pk);
    assert_int_equal(mbedtls_pk_parse_key(pk, b, n, NULL, 0), 0);
    free(b);
}

static void reader_certificate_profile(void **state)
{
    static const char rca[] = "C=UT,O=Hawiya Test Readers,CN=Hawiya Test Reader Manufacturer CA";
    static const char csca[] = "C=MA,O=Hawiya Test PKI,OU=CSCA,CN=Hawiya Test CSCA MAR";
    mbedtls_pk_context rca_key, csca_key, p384;
    load_key("private/reader-ca.key", &rca_key);
    load_key("private/csca-MAR.key", &csca_key);
    uint8_t cert[2048];
    static const struct {
        int basic_ca;
        unsigned ku;
        bool by_csca;
        const char *why;
    } cases[] = {
        {0, 0, false, "no keyUsage extension"},
        {1, MBEDTLS_X509_KU_DIGITAL_SIGNATURE, false, "a CA certificate"},
        {-1, MBEDTLS_X509_KU_DIGITAL_SIGNATURE | MBEDTLS_X509_KU_KEY_CERT_SIGN, false,
         "keyCertSign"},
        {-1, MBEDTLS_X509_KU_KEY_AGREEMENT, false, "without digitalSignature"},
        {0, MBEDTLS_X509_KU_DIGITAL_SIGNATURE, true, "not issued by a trusted reader CA"},
    };
    struct hv_options opt = options();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = issue_reader_cert_ex(cases[i].by_csca ? &csca_key : &rca_key,
                                        cases[i].by_csca ? csca : rca, &reader_key,
                                        cases[i].basic_ca, cases[i].ku, cert, sizeof cert);
        char *json = build(&(struct recipe){.cert = cert, .cert_len = n});
        struct hv_result res;
        enum hv_err e = verify_with(json, &opt, &res);
        if (e != HV_ERR_READER_UNTRUSTED || !strstr(res.message, cases[i].why))
            fail_msg("case %zu: %s (%s)", i, hv_err_str(e), res.message);
        hv_result_free(&res);
        free(json);
    }
    /* The same issuing path with keyUsage digitalSignature verifies: the rule is what refused. */
    size_t n = issue_reader_cert_ex(&rca_key, rca, &reader_key, 0,
                                    MBEDTLS_X509_KU_DIGITAL_SIGNATURE, cert, sizeof cert);
    char *json = build(&(struct recipe){.cert = cert, .cert_len = n});
    expect(json, &opt, HV_OK);
    free(json);
    /* A P-384 key is not the attestation key type. */
    struct rng r;
    rng_init(&r, "p384");
    mbedtls_pk_init(&p384);
    assert_int_equal(mbedtls_pk_setup(&p384, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)), 0);
    assert_int_equal(mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP384R1, mbedtls_pk_ec(p384),
                                         mbedtls_ctr_drbg_random, &r.drbg),
                     0);
    mbedtls_ctr_drbg_free(&r.drbg);
    n = issue_reader_cert_ex(&rca_key, rca, &p384, 0, MBEDTLS_X509_KU_DIGITAL_SIGNATURE, cert,
                             sizeof cert);
    json = build(&(struct recipe){.cert = cert, .cert_len = n});
    struct hv_result res;
    assert_int_equal(verify_with(json, &opt, &res), HV_ERR_READER_UNTRUSTED);
    assert_non_null(strstr(res.message, "P-256"));
    hv_result_free(&res);
    free(json);
    mbedtls_pk_free(&p384);
    mbedtls_pk_free(&rca_key);
    mbedtls_pk_free(&csca_key);
}

/* A reader the reader CA revoked (`hawiya-pki crl --issuer reader-ca --revoke`). */
static void revoked_reader(void **state)
{
    char cmd[4096], path[1024], msg[256];
    const char *tmp = out_dir ? out_dir : "/tmp";
    snprintf(cmd, sizeof cmd,
             "'%s' crl --ca '%s' --issuer reader-ca --revoke '%s/reader-sim-0001.der' --out "
             "'%s/reader-revoked.crl'",
             pki_tool, pki_dir, tmp, tmp);
    assert_int_equal(system(cmd), 0);
    struct hv_trust *t = hv_trust_new();
    snprintf(path, sizeof path, "%s/csca", pki_dir);
    assert_int_equal(hv_trust_load_csca_dir(t, path, msg, sizeof msg), HV_OK);
    snprintf(path, sizeof path, "%s/reader-ca", pki_dir);
    assert_int_equal(hv_trust_load_reader_ca_file(t, path, msg, sizeof msg), HV_OK);
    char *json = build(&(struct recipe){0});
    struct hv_options opt = options();
    opt.trust = t;
    expect(json, &opt, HV_OK);
    snprintf(path, sizeof path, "%s/reader-revoked.crl", tmp);
    assert_int_equal(hv_trust_load_crl(t, path, msg, sizeof msg), HV_OK);
    expect(json, &opt, HV_ERR_REVOKED);
    free(json);
    /* A CRL no loaded CA issued (the DZA CSCA's, into a trust without CSCAs). */
    struct hv_trust *empty = hv_trust_new();
    snprintf(path, sizeof path, "%s/crl/csca-DZA.crl", pki_dir);
    assert_int_equal(hv_trust_load_crl(empty, path, msg, sizeof msg), HV_ERR_TRUST_STORE);
    assert_non_null(strstr(msg, "csca-DZA.crl"));
    /* A CRL whose signature does not verify. */
    uint8_t *b;
    size_t n;
    load(path, &b, &n);
    b[n - 1] ^= 0x01;
    assert_int_equal(hv_trust_add_crl(t, b, n), HV_ERR_TRUST_STORE);
    free(b);
    hv_trust_free(empty);
    hv_trust_free(t);
}

/* An SOD without its DS certificate: the platform gives the DS (--ds), which must still be a DS
 * of a given CSCA. */
static void resign_sod_openssl_nocerts(struct card *c);

static void document_signer_given_apart(void **state)
{
    char path[1024], msg[256];
    char *json = build(&(struct recipe){.tamper = resign_sod_openssl_nocerts});
    struct hv_options opt = options();
    expect(json, &opt, HV_ERR_DS_UNTRUSTED);
    struct hv_trust *t = hv_trust_new();
    snprintf(path, sizeof path, "%s/csca", pki_dir);
    assert_int_equal(hv_trust_load_csca_dir(t, path, msg, sizeof msg), HV_OK);
    snprintf(path, sizeof path, "%s/reader-ca", pki_dir);
    assert_int_equal(hv_trust_load_reader_ca_file(t, path, msg, sizeof msg), HV_OK);
    snprintf(path, sizeof path, "%s/ds/ds-MAR.pem", pki_dir);
    assert_int_equal(hv_trust_load_ds(t, path, msg, sizeof msg), HV_OK);
    assert_int_equal(hv_trust_n_ds(t), 1);
    opt.trust = t;
    expect(json, &opt, HV_OK);
    free(json);
    hv_trust_free(t);
}

/*
 * 9303-3's own issuing-state codes: a German document says "D" (ISO DE), a
 * specimen "UTO" (Utopia, UT in the test PKI). A PKI of states D and UTO
 * issues one document of each (the default persona under another state);
 * each verifies against its own state's DS, and a D document signed by the
 * UTO DS does not.
 */
static void special_issuing_states(void **state)
{
    const char *tmp = out_dir ? out_dir : "/tmp";
    char path[1024], cmd[8192], msg[256];
    uint8_t *b;
    size_t n;
    load(getenv("HAWIYA_PERSONAS"), &b, &n);
    b[n] = '\0';
    cJSON *all = cJSON_Parse((const char *)b);
    free(b);
    cJSON *list = cJSON_GetObjectItemCaseSensitive(all, "personas");
    cJSON *out = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(out, "personas");
    cJSON_AddNumberToObject(out, "version", 1);
    static const char *const states[][2] = {{"german", "D<<"}, {"utopian", "UTO"}};
    for (size_t i = 0; i < 2; i++) {
        cJSON *p = cJSON_Duplicate(cJSON_GetArrayItem(list, 0), 1);
        cJSON_ReplaceItemInObjectCaseSensitive(p, "id", cJSON_CreateString(states[i][0]));
        cJSON *h = cJSON_GetObjectItemCaseSensitive(p, "holder");
        cJSON_ReplaceItemInObjectCaseSensitive(h, "issuing_state",
                                               cJSON_CreateString(states[i][1]));
        cJSON_ReplaceItemInObjectCaseSensitive(h, "nationality", cJSON_CreateString(states[i][1]));
        cJSON_AddItemToArray(arr, p);
    }
    char *text = cJSON_Print(out);
    cJSON_Delete(out);
    cJSON_Delete(all);
    snprintf(path, sizeof path, "%s/personas-special.json", tmp);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    free(text);
    snprintf(cmd, sizeof cmd,
             "P='%s' T='%s' && rm -rf \"$T/pki-special\" && "
             "\"$P\" init --out \"$T/pki-special\" --seed 11 --states D,UTO && "
             "for id in german utopian; do \"$P\" card --ca \"$T/pki-special\" --personas "
             "\"$T/personas-special.json\" --persona $id --out \"$T/pki-special/cards/$id\" || "
             "exit 1; done && \"$P\" card --ca \"$T/pki-special\" --personas "
             "\"$T/personas-special.json\" --persona german --out \"$T/pki-special/cards/x\" "
             "--ds-cert \"$T/pki-special/ds/ds-UTO.der\" --ds-key "
             "\"$T/pki-special/private/ds-UTO.key\"",
             pki_tool, tmp);
    assert_int_equal(system(cmd), 0);
    struct hv_trust *t = hv_trust_new();
    snprintf(path, sizeof path, "%s/pki-special/csca", tmp);
    assert_int_equal(hv_trust_load_csca_dir(t, path, msg, sizeof msg), HV_OK);
    snprintf(path, sizeof path, "%s/reader-ca", pki_dir);
    assert_int_equal(hv_trust_load_reader_ca_file(t, path, msg, sizeof msg), HV_OK);
    struct hv_options opt = options();
    opt.trust = t;
    struct hv_result res;
    snprintf(path, sizeof path, "%s/pki-special/cards/german", tmp);
    assert_int_equal(verify_card(path, &opt, &res), HV_OK);
    assert_non_null(strstr(res.identity_json, "\"issuing_state\":\"D\""));
    hv_result_free(&res);
    snprintf(path, sizeof path, "%s/pki-special/cards/utopian", tmp);
    expect_card(path, &opt, HV_OK, NULL);
    snprintf(path, sizeof path, "%s/pki-special/cards/x", tmp);
    expect_card(path, &opt, HV_ERR_DS_UNTRUSTED,
                "a Document Signer of UT signed a document of issuing state D (DE)");
    /* "D<X" is no code of 9303-3 (a filler inside the field), though it starts like Germany's:
     * its own DS signing it does not make it German. It verified as DE. */
    snprintf(cmd, sizeof cmd,
             "T='%s/pki-special/cards' && rm -rf \"$T/d-x\" && cp -r \"$T/german\" \"$T/d-x\"",
             tmp);
    assert_int_equal(system(cmd), 0);
    snprintf(path, sizeof path, "%s/pki-special/cards/d-x", tmp);
    struct card c;
    card_load(&c, path);
    uint8_t *state_field = c.f[C_DG1] + 5 + 2; /* 61 5D 5F1F 5A, then "I<" of TD1 line 1 */
    assert_memory_equal(state_field, "D<<", 3);
    memcpy(state_field, "D<X", 3); /* under no check digit in TD1 */
    char ds_cert[1024], ds_key[1024];
    snprintf(ds_cert, sizeof ds_cert, "%s/pki-special/ds/ds-D.pem", tmp);
    snprintf(ds_key, sizeof ds_key, "%s/pki-special/private/ds-D.key", tmp);
    sod_signer_cert = ds_cert;
    sod_signer_key = ds_key;
    resign_sod_with(&c, "");
    sod_signer_cert = sod_signer_key = NULL;
    snprintf(cmd, sizeof cmd, "%s/dg1.bin", path);
    write_file(cmd, c.f[C_DG1], c.n[C_DG1]);
    snprintf(cmd, sizeof cmd, "%s/sod.bin", path);
    write_file(cmd, c.f[C_SOD], c.n[C_SOD]);
    card_free(&c);
    expect_card(path, &opt, HV_ERR_DS_UNTRUSTED, "issuing state D<X (no ISO 3166 code)");
    hv_trust_free(t);
}

/* --- master lists ---------------------------------------------------------------------------- */

static struct hv_trust *ml_trust(const char *signer, const char *ml, enum hv_err want,
                                 const struct hv_time *now)
{
    char path[1024], msg[512];
    struct hv_trust *t = hv_trust_new();
    snprintf(path, sizeof path, "%s/%s", pki_dir, signer);
    assert_int_equal(hv_trust_load_masterlist_signer(t, path, msg, sizeof msg), HV_OK);
    if (ml[0] == '/')
        snprintf(path, sizeof path, "%s", ml);
    else
        snprintf(path, sizeof path, "%s/%s", pki_dir, ml);
    enum hv_err e = hv_trust_load_masterlist(t, path, now, msg, sizeof msg);
    if (e != want)
        fail_msg("%s: %s (%s), want %s", ml, hv_err_str(e), msg, hv_err_str(want));
    if (e != HV_OK)
        assert_non_null(strstr(msg, "master list"));
    snprintf(path, sizeof path, "%s/reader-ca", pki_dir);
    assert_int_equal(hv_trust_load_reader_ca_file(t, path, msg, sizeof msg), HV_OK);
    return t;
}

static void csca_master_list(void **state)
{
    /* The test PKI's master list, vouched for by its signer or by the CSCA that issued it. */
    static const char *const anchors[] = {"masterlist/ml-signer.pem", "csca/csca-MAR.pem"};
    for (size_t i = 0; i < 2; i++) {
        struct hv_trust *t =
            ml_trust(anchors[i], "masterlist/csca-masterlist.ml", HV_OK, &test_now);
        assert_int_equal(hv_trust_n_csca(t), 2);
        char *json = build(&(struct recipe){.persona = "algeria"});
        struct hv_options opt = options();
        opt.trust = t;
        expect(json, &opt, HV_OK);
        free(json);
        hv_trust_free(t);
    }
}

static void bad_master_lists(void **state)
{
    char cmd[4096], path[1024], out[1024];
    const char *tmp = out_dir ? out_dir : "/tmp";
    /* Not vouched for: the DZA CSCA did not issue the (MAR) signer. */
    hv_trust_free(ml_trust("csca/csca-DZA.pem", "masterlist/csca-masterlist.ml", HV_ERR_TRUST_STORE,
                           &test_now));
    /* The signer expired (2036-01-01) at "now". */
    const struct hv_time later = {2037, 1, 1, 0, 0, 0};
    hv_trust_free(ml_trust("masterlist/ml-signer.pem", "masterlist/csca-masterlist.ml",
                           HV_ERR_TRUST_STORE, &later));
    /* A flipped byte of the signature, of the content; the list cut short; an EF.SOD. */
    uint8_t *b;
    size_t n;
    snprintf(path, sizeof path, "%s/masterlist/csca-masterlist.ml", pki_dir);
    load(path, &b, &n);
    static const size_t offsets[] = {1, 0, 200};
    for (size_t i = 0; i < 3; i++) {
        uint8_t *c = malloc(n);
        memcpy(c, b, n);
        size_t len = n;
        if (i == 0)
            c[n - offsets[i]] ^= 0x01; /* the signature's last byte */
        else if (i == 1)
            len = n - 1;
        else
            c[offsets[i]] ^= 0x01; /* inside the certList */
        snprintf(out, sizeof out, "%s/bad-%zu.ml", tmp, i);
        FILE *f = fopen(out, "wb");
        fwrite(c, 1, len, f);
        fclose(f);
        free(c);
        hv_trust_free(ml_trust("masterlist/ml-signer.pem", out, HV_ERR_TRUST_STORE, &test_now));
    }
    free(b);
    snprintf(out, sizeof out, "%s/sod-as-ml", tmp);
    snprintf(cmd, sizeof cmd, "tail -c +5 '%s/cards/default/sod.bin' > '%s'", pki_dir, out);
    assert_int_equal(system(cmd), 0);
    hv_trust_free(ml_trust("masterlist/ml-signer.pem", out, HV_ERR_TRUST_STORE, &test_now));
    /* Signed by a DS (no Master List Signer extKeyUsage); listing a DS; listing the reader CA. */
    static const struct {
        const char *opt1, *file1, *opt2, *file2;
    } made[] = {
        {"--signer-cert", "ds/ds-MAR.der", "--signer-key", "private/ds-MAR.key"},
        {"--cert", "csca/csca-MAR.der", "--cert", "ds/ds-MAR.der"},
        {"--cert", "csca/csca-MAR.der", "--cert", "reader-ca/reader-ca.der"},
    };
    for (size_t i = 0; i < sizeof made / sizeof made[0]; i++) {
        char args[2048];
        snprintf(args, sizeof args, "%s '%s/%s' %s '%s/%s'", made[i].opt1, pki_dir, made[i].file1,
                 made[i].opt2, pki_dir, made[i].file2);
        snprintf(out, sizeof out, "%s/made-%zu.ml", tmp, i);
        snprintf(cmd, sizeof cmd, "'%s' masterlist --ca '%s' %s --out '%s'", pki_tool, pki_dir,
                 args, out);
        assert_int_equal(system(cmd), 0);
        hv_trust_free(ml_trust("csca/csca-MAR.pem", out, HV_ERR_TRUST_STORE, &test_now));
    }
    /* And the same tool's good list passes: the refusals are the rules'. */
    snprintf(out, sizeof out, "%s/made-good.ml", tmp);
    snprintf(cmd, sizeof cmd, "'%s' masterlist --ca '%s' --out '%s'", pki_tool, pki_dir, out);
    assert_int_equal(system(cmd), 0);
    hv_trust_free(ml_trust("csca/csca-MAR.pem", out, HV_OK, &test_now));
}

/* --- attacks: certificates hawiya-pki never issues ------------------------------------------ */

#define CSCA_MAR  "C=MA,O=Hawiya Test PKI,OU=CSCA,CN=Hawiya Test CSCA MAR"
#define READER_CA "C=UT,O=Hawiya Test Readers,CN=Hawiya Test Reader Manufacturer CA"

/* An extension for cert_spec: DER OID content octets and the extnValue's content. */
struct ext {
    const char *oid;
    size_t oid_len;
    int critical;
    const uint8_t *value;
    size_t len;
};

/* What issue_cert() writes: mbedTLS's x509write, then an optional edit of the TBSCertificate
 * (same length) and a new signature over it, for what x509write cannot say. */
struct cert_spec {
    const char *issuer, *subject;
    mbedtls_pk_context *issuer_key, *subject_key;
    int version;          /* 0: v3 */
    int basic_ca;         /* -1: no basicConstraints */
    unsigned ku;          /* 0: no keyUsage */
    mbedtls_md_type_t md; /* 0: SHA-256 */
    struct ext ext[4];
    const char *not_before, *not_after; /* NULL: 2024 .. 2036 */
    /* replace the first occurrence (every one with edit_all) of from[0..n) in the certificate
     * by to[0..n), then sign again */
    const uint8_t *from, *to;
    size_t edit_len;
    bool edit_all;
};

/* A new signature by key with md over der's TBSCertificate; the new length. */
static size_t resign_cert(uint8_t *der, size_t len, size_t cap, mbedtls_pk_context *key,
                          mbedtls_md_type_t md)
{
    unsigned char *p = der, *end = der + len, *tbs, *alg;
    size_t n, tbs_len, alg_len;
    const int seq = MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE;
    assert_int_equal(mbedtls_asn1_get_tag(&p, end, &n, seq), 0);
    tbs = p;
    assert_int_equal(mbedtls_asn1_get_tag(&p, end, &n, seq), 0);
    p += n;
    tbs_len = (size_t)(p - tbs);
    alg = p;
    assert_int_equal(mbedtls_asn1_get_tag(&p, end, &n, seq), 0);
    alg_len = (size_t)(p + n - alg);
    uint8_t h[MBEDTLS_MD_MAX_SIZE], sig[MBEDTLS_PK_SIGNATURE_MAX_SIZE], buf[4096];
    size_t sig_len;
    const mbedtls_md_info_t *info = mbedtls_md_info_from_type(md);
    assert_non_null(info);
    assert_int_equal(mbedtls_md(info, tbs, tbs_len, h), 0);
    struct rng r;
    rng_init(&r, "resign");
    assert_int_equal(mbedtls_pk_sign(key, md, h, mbedtls_md_get_size(info), sig, &sig_len,
                                     mbedtls_ctr_drbg_random, &r.drbg),
                     0);
    mbedtls_ctr_drbg_free(&r.drbg);
    unsigned char *w = buf + sizeof buf;
    int k, total = 0;
    assert_true((k = mbedtls_asn1_write_bitstring(&w, buf, sig, sig_len * 8)) > 0);
    total += k;
    assert_true((k = mbedtls_asn1_write_raw_buffer(&w, buf, alg, alg_len)) > 0);
    total += k;
    assert_true((k = mbedtls_asn1_write_raw_buffer(&w, buf, tbs, tbs_len)) > 0);
    total += k;
    assert_true((k = mbedtls_asn1_write_len(&w, buf, (size_t)total)) > 0);
    total += k;
    assert_true((k = mbedtls_asn1_write_tag(&w, buf, seq)) > 0);
    total += k;
    assert_true((size_t)total <= cap);
    memcpy(der, w, (size_t)total);
    return (size_t)total;
}

static size_t issue_cert(const struct cert_spec *s, uint8_t *out, size_t cap)
{
    mbedtls_x509write_cert w;
    mbedtls_mpi serial;
    struct rng r;
    uint8_t buf[4096];
    mbedtls_md_type_t md = s->md ? s->md : MBEDTLS_MD_SHA256;
    rng_init(&r, "issue-cert");
    mbedtls_x509write_crt_init(&w);
    mbedtls_mpi_init(&serial);
    assert_int_equal(mbedtls_mpi_lset(&serial, 4444), 0);
    mbedtls_x509write_crt_set_version(&w, s->version == 1 ? MBEDTLS_X509_CRT_VERSION_1
                                                          : MBEDTLS_X509_CRT_VERSION_3);
    assert_int_equal(mbedtls_x509write_crt_set_serial(&w, &serial), 0);
    assert_int_equal(
        mbedtls_x509write_crt_set_validity(&w, s->not_before ? s->not_before : "20240101000000",
                                           s->not_after ? s->not_after : "20360101000000"),
        0);
    assert_int_equal(mbedtls_x509write_crt_set_issuer_name(&w, s->issuer), 0);
    assert_int_equal(mbedtls_x509write_crt_set_subject_name(&w, s->subject), 0);
    mbedtls_x509write_crt_set_subject_key(&w, s->subject_key);
    mbedtls_x509write_crt_set_issuer_key(&w, s->issuer_key);
    mbedtls_x509write_crt_set_md_alg(&w, md);
    if (s->basic_ca >= 0)
        assert_int_equal(mbedtls_x509write_crt_set_basic_constraints(&w, s->basic_ca, -1), 0);
    if (s->ku)
        assert_int_equal(mbedtls_x509write_crt_set_key_usage(&w, s->ku), 0);
    if (s->version != 1)
        assert_int_equal(mbedtls_x509write_crt_set_subject_key_identifier(&w), 0);
    for (size_t i = 0; i < 4 && s->ext[i].oid; i++)
        assert_int_equal(mbedtls_x509write_crt_set_extension(&w, s->ext[i].oid, s->ext[i].oid_len,
                                                             s->ext[i].critical, s->ext[i].value,
                                                             s->ext[i].len),
                         0);
    int n = mbedtls_x509write_crt_der(&w, buf, sizeof buf, mbedtls_ctr_drbg_random, &r.drbg);
    assert_true(n > 0 && (size_t)n <= cap);
    memcpy(out, buf + sizeof buf - n, (size_t)n);
    mbedtls_x509write_crt_free(&w);
    mbedtls_mpi_free(&serial);
    mbedtls_ctr_drbg_free(&r.drbg);
    size_t len = (size_t)n;
    if (s->edit_len) {
        size_t edits = 0;
        for (size_t i = 0; (s->edit_all || !edits) && i + s->edit_len <= len; i++)
            if (!memcmp(out + i, s->from, s->edit_len)) {
                memcpy(out + i, s->to, s->edit_len);
                edits++;
            }
        assert_true(edits > 0);
        len = resign_cert(out, len, cap, s->issuer_key, md);
    }
    return len;
}

/* The default persona's card with EF.SOD signed by cert (DER) and key: its directory. */
static const char *forged_ds_card(const char *name, const uint8_t *cert, size_t n,
                                  mbedtls_pk_context *key)
{
    static char dir[1100];
    char cert_path[1024], key_path[1024], cmd[4096];
    const char *tmp = out_dir ? out_dir : "/tmp";
    unsigned char pem[1024];
    snprintf(cert_path, sizeof cert_path, "%s/forged-%s.der", tmp, name);
    snprintf(key_path, sizeof key_path, "%s/forged-%s.key", tmp, name);
    write_file(cert_path, cert, n);
    assert_int_equal(mbedtls_pk_write_key_pem(key, pem, sizeof pem), 0);
    write_file(key_path, pem, strlen((const char *)pem));
    snprintf(dir, sizeof dir, "%s/cards-forged/%s", tmp, name);
    snprintf(cmd, sizeof cmd,
             "'%s' card --ca '%s' --personas '%s' --persona default --out '%s' --ds-cert '%s' "
             "--ds-key '%s' 2>/dev/null",
             pki_tool, pki_dir, getenv("HAWIYA_PERSONAS"), dir, cert_path, key_path);
    if (system(cmd) == 0)
        return dir;
    /* A certificate mbedTLS (in hawiya-pki) does not parse: the default card re-signed by
     * `openssl cms -sign`, which takes it. */
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s' && cp '%s'/cards/default/* '%s'/", dir,
             dir, pki_dir, dir);
    assert_int_equal(system(cmd), 0);
    struct card c;
    card_load(&c, dir);
    sod_signer_cert = cert_path;
    sod_signer_key = key_path;
    resign_sod_with(&c, "");
    sod_signer_cert = sod_signer_key = NULL;
    snprintf(cert_path, sizeof cert_path, "%s/sod.bin", dir);
    write_file(cert_path, c.f[C_SOD], c.n[C_SOD]);
    card_free(&c);
    return dir;
}

/*
 * A certificate is only ever accepted in the role its profile gives it. A
 * Master List Signer has every rule of a Document Signer but one: its
 * extKeyUsage id-icao-cscaMasterListSigningKey, which limits it to master
 * lists (RFC 5280 §4.2.1.12). The test PKI's own Master List Signer (under
 * the MAR CSCA) signing a Moroccan EF.SOD verified before this rule; so did
 * a "DS" with any extKeyUsage. And anyExtendedKeyUsage names no role: a
 * certificate with it is not a Master List Signer either (mbedTLS's own
 * check takes it for any purpose).
 */
static void master_list_signer_is_not_a_document_signer(void **state)
{
    struct hv_options opt = options();
    expect_card(bad_card("ml-signer-signed"), &opt, HV_ERR_DS_UNTRUSTED, "extKeyUsage");
    /* The platform cannot give it as a Document Signer either. */
    char path[1024], msg[512];
    struct hv_trust *t = hv_trust_new();
    snprintf(path, sizeof path, "%s/masterlist/ml-signer.pem", pki_dir);
    assert_int_equal(hv_trust_load_ds(t, path, msg, sizeof msg), HV_ERR_TRUST_STORE);
    assert_non_null(strstr(msg, "extKeyUsage"));
    hv_trust_free(t);

    /* A DS of MAR with extKeyUsage anyExtendedKeyUsage, or serverAuth. */
    mbedtls_pk_context csca_key, ds_key;
    load_key("private/csca-MAR.key", &csca_key);
    gen_p256(&ds_key, "ds with eku");
    static const uint8_t any_eku[] = {0x30, 0x06, 0x06, 0x04, 0x55, 0x1D, 0x25, 0x00};
    static const uint8_t server_auth[] = {0x30, 0x0A, 0x06, 0x08, 0x2B, 0x06,
                                          0x01, 0x05, 0x05, 0x07, 0x03, 0x01};
    const uint8_t *ekus[] = {any_eku, server_auth};
    const size_t eku_len[] = {sizeof any_eku, sizeof server_auth};
    for (size_t i = 0; i < 2; i++) {
        uint8_t cert[2048];
        struct cert_spec spec = {
            .issuer = CSCA_MAR,
            .subject = "C=MA,O=Hawiya Test PKI,OU=Document Signers,CN=EKU DS",
            .issuer_key = &csca_key,
            .subject_key = &ds_key,
            .basic_ca = -1,
            .ku = MBEDTLS_X509_KU_DIGITAL_SIGNATURE,
            .ext = {{MBEDTLS_OID_EXTENDED_KEY_USAGE,
                     MBEDTLS_OID_SIZE(MBEDTLS_OID_EXTENDED_KEY_USAGE), 0, ekus[i], eku_len[i]}},
        };
        size_t n = issue_cert(&spec, cert, sizeof cert);
        const char *card = forged_ds_card(i ? "eku-server-auth" : "eku-any", cert, n, &ds_key);
        expect_card(card, &opt, HV_ERR_DS_UNTRUSTED, "extKeyUsage");
        t = hv_trust_new();
        assert_int_equal(hv_trust_add_ds(t, cert, n), HV_ERR_TRUST_STORE);
        /* Nor is the anyExtendedKeyUsage one a Master List Signer. */
        assert_int_equal(hv_trust_add_masterlist_signer(t, cert, n), HV_ERR_TRUST_STORE);
        hv_trust_free(t);
    }
    /* The same DS without extKeyUsage verifies: the extension is what refused. */
    uint8_t cert[2048];
    struct cert_spec spec = {
        .issuer = CSCA_MAR,
        .subject = "C=MA,O=Hawiya Test PKI,OU=Document Signers,CN=EKU DS",
        .issuer_key = &csca_key,
        .subject_key = &ds_key,
        .basic_ca = -1,
        .ku = MBEDTLS_X509_KU_DIGITAL_SIGNATURE,
    };
    size_t n = issue_cert(&spec, cert, sizeof cert);
    expect_card(forged_ds_card("no-eku", cert, n, &ds_key), &opt, HV_OK, NULL);
    mbedtls_pk_free(&csca_key);
    mbedtls_pk_free(&ds_key);
}

static void gen_ec(mbedtls_pk_context *pk, mbedtls_ecp_group_id grp, const char *label)
{
    struct rng r;
    rng_init(&r, label);
    mbedtls_pk_init(pk);
    assert_int_equal(mbedtls_pk_setup(pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)), 0);
    assert_int_equal(mbedtls_ecp_gen_key(grp, mbedtls_pk_ec(*pk), mbedtls_ctr_drbg_random, &r.drbg),
                     0);
    mbedtls_ctr_drbg_free(&r.drbg);
}

/* An RSA key of `bits` from openssl (mbedTLS's generator is slow under ASan). */
static void gen_rsa(mbedtls_pk_context *pk, int bits)
{
    char path[1024], cmd[2048];
    const char *tmp = out_dir ? out_dir : "/tmp";
    snprintf(path, sizeof path, "%s/rsa-%d.pem", tmp, bits);
    snprintf(cmd, sizeof cmd,
             "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:%d -out '%s' 2>/dev/null",
             bits, path);
    assert_int_equal(system(cmd), 0);
    mbedtls_pk_init(pk);
    assert_int_equal(mbedtls_pk_parse_keyfile(pk, path, NULL), 0);
}

/* A self-signed CSCA of MAR with key and md, as the CSCA store sees it. */
static enum hv_err csca_with(mbedtls_pk_context *key, mbedtls_md_type_t md, char *msg, size_t cap)
{
    uint8_t cert[4096];
    struct cert_spec spec = {
        .issuer = "C=MA,O=Hawiya Test PKI,OU=CSCA,CN=Weak CSCA",
        .subject = "C=MA,O=Hawiya Test PKI,OU=CSCA,CN=Weak CSCA",
        .issuer_key = key,
        .subject_key = key,
        .basic_ca = 1,
        .ku = MBEDTLS_X509_KU_KEY_CERT_SIGN | MBEDTLS_X509_KU_CRL_SIGN,
        .md = md,
    };
    size_t n = issue_cert(&spec, cert, sizeof cert);
    char path[1024];
    snprintf(path, sizeof path, "%s/weak-csca.der", out_dir ? out_dir : "/tmp");
    write_file(path, cert, n);
    struct hv_trust *t = hv_trust_new();
    enum hv_err e = hv_trust_load_csca_dir(t, path, msg, cap);
    hv_trust_free(t);
    return e;
}

/*
 * What any certificate must be, whatever its role (docs/assertion.md,
 * "Algorithms"). mbedTLS's parser already refuses an unknown critical
 * extension, a v1 certificate with extensions and an inner signature
 * algorithm that differs from the outer one; these cases pin that. It
 * refuses a repeated extension only of the kinds it parses: a second
 * subjectKeyIdentifier passed, as did MD5 signatures, RSA-1024 and P-192
 * keys in the ICAO chain and SHA-1 in the reader PKI.
 */
static void certificates_that_are_not_sound(void **state)
{
    struct hv_options opt = options();
    mbedtls_pk_context csca_key, ds_key, p192, rca_key;
    load_key("private/csca-MAR.key", &csca_key);
    load_key("private/reader-ca.key", &rca_key);
    gen_p256(&ds_key, "unsound ds");
    gen_ec(&p192, MBEDTLS_ECP_DP_SECP192R1, "p192 ds");
    static const uint8_t ski_oid[] = {0x06, 0x03, 0x55, 0x1D, 0x0E};
    static const uint8_t placeholder_oid[] = {0x06, 0x03, 0x55, 0x1D, 0x7F}; /* 2.5.29.127 */
    static const uint8_t ski_value[] = {0x04, 0x04, 0xDE, 0xAD, 0xBE, 0xEF};
    static const uint8_t ecdsa_sha256[] = {0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x02};
    static const uint8_t ecdsa_sha384[] = {0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x03};
    static const uint8_t unknown[] = {0x05, 0x00};
    const struct {
        const char *name, *why;
        struct cert_spec spec;
    } cases[] = {
        {"dup-ski",
         "an extension twice",
         {.ext = {{"\x55\x1D\x7F", 3, 0, ski_value, sizeof ski_value}},
          .from = placeholder_oid,
          .to = ski_oid,
          .edit_len = sizeof placeholder_oid}},
        {"p192", "an EC key of fewer than 224 bits", {.subject_key = &p192}},
        {"critical-unknown",
         "no certificate in EF.SOD",
         {.ext = {{"\x2B\x06\x01\x04\x01\x82\x37\x7F", 8, 1, unknown, sizeof unknown}}}},
        {"alg-mismatch",
         "no certificate in EF.SOD",
         /* the TBSCertificate's signature field says SHA-384, the outer one SHA-256 */
         {.from = ecdsa_sha256, .to = ecdsa_sha384, .edit_len = sizeof ecdsa_sha256}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct cert_spec spec = cases[i].spec;
        spec.issuer = CSCA_MAR;
        spec.subject = "C=MA,O=Hawiya Test PKI,OU=Document Signers,CN=Unsound DS";
        spec.issuer_key = &csca_key;
        if (!spec.subject_key)
            spec.subject_key = &ds_key;
        spec.basic_ca = -1;
        spec.ku = MBEDTLS_X509_KU_DIGITAL_SIGNATURE;
        uint8_t cert[2048];
        size_t n = issue_cert(&spec, cert, sizeof cert);
        const char *card = forged_ds_card(cases[i].name, cert, n, spec.subject_key);
        expect_card(card, &opt, HV_ERR_DS_UNTRUSTED, cases[i].why);
    }

    /* CSCAs: MD5, RSA-1024, P-192 are refused at load; RSA-2048 with SHA-256 and SHA-1 are
     * taken (SHA-1 is the ICAO chain's legacy). */
    char msg[512];
    mbedtls_pk_context rsa2048, rsa1024;
    gen_rsa(&rsa2048, 2048);
    gen_rsa(&rsa1024, 1024);
    assert_int_equal(csca_with(&rsa2048, MBEDTLS_MD_SHA256, msg, sizeof msg), HV_OK);
    assert_int_equal(csca_with(&rsa2048, MBEDTLS_MD_SHA1, msg, sizeof msg), HV_OK);
    assert_int_equal(csca_with(&rsa2048, MBEDTLS_MD_MD5, msg, sizeof msg), HV_ERR_TRUST_STORE);
    assert_non_null(strstr(msg, "MD5"));
    assert_int_equal(csca_with(&rsa1024, MBEDTLS_MD_SHA256, msg, sizeof msg), HV_ERR_TRUST_STORE);
    assert_non_null(strstr(msg, "fewer than 2048 bits"));
    assert_int_equal(csca_with(&p192, MBEDTLS_MD_SHA256, msg, sizeof msg), HV_ERR_TRUST_STORE);
    assert_non_null(strstr(msg, "fewer than 224 bits"));
    /* A v1 CSCA (no extensions at all). */
    uint8_t cert[2048];
    struct cert_spec v1 = {.issuer = CSCA_MAR,
                           .subject = CSCA_MAR,
                           .issuer_key = &csca_key,
                           .subject_key = &csca_key,
                           .version = 1,
                           .basic_ca = -1};
    size_t n = issue_cert(&v1, cert, sizeof cert);
    struct hv_trust *t = hv_trust_new();
    assert_int_equal(hv_trust_add_csca(t, cert, n), HV_ERR_TRUST_STORE);
    hv_trust_free(t);

    /* The reader PKI is SHA-2 only: a reader certificate its CA signed with ECDSA-SHA1. */
    struct cert_spec rs = {.issuer = READER_CA,
                           .subject = "C=UT,O=Hawiya Test Readers,CN=sim-0001",
                           .issuer_key = &rca_key,
                           .subject_key = &reader_key,
                           .basic_ca = 0,
                           .ku = MBEDTLS_X509_KU_DIGITAL_SIGNATURE,
                           .md = MBEDTLS_MD_SHA1,
                           .not_before = "20250101000000",
                           .not_after = "20450101000000"};
    n = issue_cert(&rs, cert, sizeof cert);
    char *json = build(&(struct recipe){.cert = cert, .cert_len = n});
    struct hv_result res;
    assert_int_equal(verify_with(json, &opt, &res), HV_ERR_READER_UNTRUSTED);
    assert_non_null(strstr(res.message, "SHA-1"));
    hv_result_free(&res);
    free(json);
    rs.md = MBEDTLS_MD_SHA384; /* and the same with SHA-384 verifies */
    n = issue_cert(&rs, cert, sizeof cert);
    json = build(&(struct recipe){.cert = cert, .cert_len = n});
    expect(json, &opt, HV_OK);
    free(json);

    mbedtls_pk_free(&rsa2048);
    mbedtls_pk_free(&rsa1024);
    mbedtls_pk_free(&csca_key);
    mbedtls_pk_free(&rca_key);
    mbedtls_pk_free(&ds_key);
    mbedtls_pk_free(&p192);
}

/* --- attacks: CRLs ---------------------------------------------------------------------------- */

/* The subject Name (DER) of a certificate file of the test PKI. */
static size_t subject_of(const char *file, uint8_t *out, size_t cap)
{
    char path[1024];
    uint8_t *b;
    size_t n;
    mbedtls_x509_crt c;
    snprintf(path, sizeof path, "%s/%s", pki_dir, file);
    load(path, &b, &n);
    mbedtls_x509_crt_init(&c);
    assert_int_equal(mbedtls_x509_crt_parse_der(&c, b, n), 0);
    assert_true(c.subject_raw.len <= cap);
    memcpy(out, c.subject_raw.p, c.subject_raw.len);
    n = c.subject_raw.len;
    mbedtls_x509_crt_free(&c);
    free(b);
    return n;
}

/* The serialNumber content octets of a certificate file of the test PKI. */
static size_t serial_of(const char *file, uint8_t *out, size_t cap)
{
    char path[1024];
    uint8_t *b;
    size_t n;
    mbedtls_x509_crt c;
    snprintf(path, sizeof path, "%s/%s", pki_dir, file);
    load(path, &b, &n);
    mbedtls_x509_crt_init(&c);
    assert_int_equal(mbedtls_x509_crt_parse_der(&c, b, n), 0);
    assert_true(c.serial.len <= cap);
    memcpy(out, c.serial.p, c.serial.len);
    n = c.serial.len;
    mbedtls_x509_crt_free(&c);
    free(b);
    return n;
}

/*
 * An RFC 5280 v2 CRL written field by field (what hawiya-pki never makes):
 * issuer Name (DER), one revoked serial (INTEGER content octets) with
 * optional raw crlEntryExtensions content, optional raw crlExtensions
 * content, signed ECDSA with md by key.
 */
/* thisUpdate and nextUpdate of the CRLs make_crl() writes (UTCTime; nextUpdate NULL: none). */
static const char *crl_this_update = "251201000000Z", *crl_next_update = "450101000000Z";

static size_t make_crl(const uint8_t *issuer, size_t issuer_len, mbedtls_pk_context *key,
                       mbedtls_md_type_t md, const uint8_t *serial, size_t serial_len,
                       const uint8_t *entry_ext, size_t entry_ext_len, const uint8_t *crl_ext,
                       size_t crl_ext_len, uint8_t *out, size_t cap)
{
    uint8_t buf[4096];
    unsigned char *w = buf + sizeof buf;
    const int seq = MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE;
    int len = 0, k, mark;
#define PUT(call)                                                                                  \
    do {                                                                                           \
        assert_true((k = (call)) >= 0);                                                            \
        len += k;                                                                                  \
    } while (0)
#define WRAP(tag, from)                                                                            \
    do {                                                                                           \
        PUT(mbedtls_asn1_write_len(&w, buf, (size_t)(len - (from))));                              \
        PUT(mbedtls_asn1_write_tag(&w, buf, (tag)));                                               \
    } while (0)
    /* the signature: a placeholder that resign_cert() replaces */
    static const uint8_t zero[8] = {0};
    PUT(mbedtls_asn1_write_bitstring(&w, buf, zero, 64));
    const char *sig_oid = md == MBEDTLS_MD_SHA1 ? MBEDTLS_OID_ECDSA_SHA1 : MBEDTLS_OID_ECDSA_SHA256;
    size_t sig_oid_len = md == MBEDTLS_MD_SHA1 ? MBEDTLS_OID_SIZE(MBEDTLS_OID_ECDSA_SHA1)
                                               : MBEDTLS_OID_SIZE(MBEDTLS_OID_ECDSA_SHA256);
    mark = len;
    PUT(mbedtls_asn1_write_oid(&w, buf, sig_oid, sig_oid_len));
    WRAP(seq, mark);
    int tbs_end = len;
    if (crl_ext) {
        mark = len;
        PUT(mbedtls_asn1_write_raw_buffer(&w, buf, crl_ext, crl_ext_len));
        WRAP(seq, mark);
        WRAP(MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_ASN1_CONSTRUCTED | 0, mark);
    }
    int entries = len;
    mark = len;
    if (entry_ext) {
        PUT(mbedtls_asn1_write_raw_buffer(&w, buf, entry_ext, entry_ext_len));
        WRAP(seq, mark);
    }
    PUT(mbedtls_asn1_write_tagged_string(&w, buf, MBEDTLS_ASN1_UTC_TIME, "250601000000Z", 13));
    PUT(mbedtls_asn1_write_raw_buffer(&w, buf, serial, serial_len));
    PUT(mbedtls_asn1_write_len(&w, buf, serial_len));
    PUT(mbedtls_asn1_write_tag(&w, buf, MBEDTLS_ASN1_INTEGER));
    WRAP(seq, mark);
    WRAP(seq, entries);
    if (crl_next_update)
        PUT(mbedtls_asn1_write_tagged_string(&w, buf, MBEDTLS_ASN1_UTC_TIME, crl_next_update, 13));
    PUT(mbedtls_asn1_write_tagged_string(&w, buf, MBEDTLS_ASN1_UTC_TIME, crl_this_update, 13));
    PUT(mbedtls_asn1_write_raw_buffer(&w, buf, issuer, issuer_len));
    mark = len;
    PUT(mbedtls_asn1_write_oid(&w, buf, sig_oid, sig_oid_len));
    WRAP(seq, mark);
    PUT(mbedtls_asn1_write_int(&w, buf, 1)); /* v2 */
    WRAP(seq, tbs_end);
    WRAP(seq, 0);
#undef PUT
#undef WRAP
    assert_true((size_t)len <= cap);
    memcpy(out, w, (size_t)len);
    return resign_cert(out, (size_t)len, cap, key, md);
}

/* A trust of the test PKI's CSCAs and reader CA, and one CRL (DER) added: its result. */
static enum hv_err trust_with_crl(struct hv_trust **t, const uint8_t *crl, size_t n)
{
    char path[1024], msg[256];
    *t = hv_trust_new();
    snprintf(path, sizeof path, "%s/csca", pki_dir);
    assert_int_equal(hv_trust_load_csca_dir(*t, path, msg, sizeof msg), HV_OK);
    snprintf(path, sizeof path, "%s/reader-ca", pki_dir);
    assert_int_equal(hv_trust_load_reader_ca_file(*t, path, msg, sizeof msg), HV_OK);
    return crl ? hv_trust_add_crl(*t, crl, n) : HV_OK;
}

/* `hawiya-pki crl --issuer ISSUER --revoke FILE` into OUT (a file name under the output dir). */
static void pki_crl(const char *issuer, const char *revoke, const char *out, char *path, size_t cap)
{
    char cmd[4096];
    snprintf(path, cap, "%s/%s", out_dir ? out_dir : "/tmp", out);
    snprintf(cmd, sizeof cmd, "'%s' crl --ca '%s' --issuer %s --revoke '%s/%s' --out '%s'",
             pki_tool, pki_dir, issuer, pki_dir, revoke, path);
    assert_int_equal(system(cmd), 0);
}

/*
 * Revocation as RFC 5280 §5 and 9303-12 have it, each case refused or
 * accepted as it must be, and each failing before its rule:
 *   - a CRL entry with a critical extension (certificateIssuer: an indirect
 *     CRL's entry revokes another CA's certificate) must not be used (§5.3):
 *     it was, revoking the DS of that serial under the CRL's own issuer;
 *   - a CRL of the CSCA's name listing the CSCA itself (a compromised key),
 *     and the reader CA's CRL listing the reader CA: the documents and
 *     readers under them were accepted;
 *   - a serial written with a leading 00 is the same number;
 *   - a CRL that a reader CA named like the Moroccan CSCA signed revoked
 *     Moroccan Document Signers: CRLs revoke in their own PKI only;
 *   - the reader PKI's CRLs are SHA-2 (a SHA-1 one was taken);
 *   - a master-list anchor CSCA's CRL revokes its Master List Signer (the
 *     CRL was refused: its issuer was not a CSCA of the CSCA store).
 * A delta CRL (critical deltaCRLIndicator) is refused, as mbedTLS already did.
 */
static void revocation_rules(void **state)
{
    uint8_t mar[512], rca_name[512], serial[32], crl[4096], cert[2048];
    size_t mar_len = subject_of("csca/csca-MAR.der", mar, sizeof mar);
    size_t rca_len = subject_of("reader-ca/reader-ca.der", rca_name, sizeof rca_name);
    size_t serial_len = serial_of("ds/ds-MAR.der", serial, sizeof serial);
    mbedtls_pk_context csca_key, rca_key;
    load_key("private/csca-MAR.key", &csca_key);
    load_key("private/reader-ca.key", &rca_key);
    struct hv_options opt = options();
    struct hv_trust *t;
    char *good = build(&(struct recipe){0});

    /* certificateIssuer, critical: the CRL is refused whole. */
    static const uint8_t cert_issuer[] = {0x30, 0x0A, 0x06, 0x03, 0x55, 0x1D,
                                          0x1D, 0x01, 0x01, 0xFF, 0x04, 0x00};
    size_t n = make_crl(mar, mar_len, &csca_key, MBEDTLS_MD_SHA256, serial, serial_len, cert_issuer,
                        sizeof cert_issuer, NULL, 0, crl, sizeof crl);
    assert_int_equal(trust_with_crl(&t, crl, n), HV_ERR_TRUST_STORE);
    opt.trust = t;
    expect(good, &opt, HV_OK);
    hv_trust_free(t);
    /* The same entry with a reasonCode (not critical) revokes ds-MAR: the CRL writer is right. */
    static const uint8_t reason[] = {0x30, 0x0A, 0x06, 0x03, 0x55, 0x1D,
                                     0x15, 0x04, 0x03, 0x0A, 0x01, 0x01};
    n = make_crl(mar, mar_len, &csca_key, MBEDTLS_MD_SHA256, serial, serial_len, reason,
                 sizeof reason, NULL, 0, crl, sizeof crl);
    assert_int_equal(trust_with_crl(&t, crl, n), HV_OK);
    opt.trust = t;
    expect(good, &opt, HV_ERR_REVOKED);
    hv_trust_free(t);
    /* The serial with a leading 00 (as a careless CA writes it) is the same certificate. */
    uint8_t padded[33] = {0};
    memcpy(padded + 1, serial, serial_len);
    n = make_crl(mar, mar_len, &csca_key, MBEDTLS_MD_SHA256, padded, serial_len + 1, NULL, 0, NULL,
                 0, crl, sizeof crl);
    assert_int_equal(trust_with_crl(&t, crl, n), HV_OK);
    opt.trust = t;
    expect(good, &opt, HV_ERR_REVOKED);
    hv_trust_free(t);
    /* A delta CRL: deltaCRLIndicator (2.5.29.27), critical. */
    static const uint8_t delta[] = {0x30, 0x0C, 0x06, 0x03, 0x55, 0x1D, 0x1B, 0x01,
                                    0x01, 0xFF, 0x04, 0x03, 0x02, 0x01, 0x01};
    n = make_crl(mar, mar_len, &csca_key, MBEDTLS_MD_SHA256, serial, serial_len, NULL, 0, delta,
                 sizeof delta, crl, sizeof crl);
    assert_int_equal(trust_with_crl(&t, crl, n), HV_ERR_TRUST_STORE);
    hv_trust_free(t);
    /* The reader PKI is SHA-2: the reader CA's CRL signed with ECDSA-SHA1. */
    uint8_t none[] = {0x7F};
    n = make_crl(rca_name, rca_len, &rca_key, MBEDTLS_MD_SHA1, none, 1, NULL, 0, NULL, 0, crl,
                 sizeof crl);
    assert_int_equal(trust_with_crl(&t, crl, n), HV_ERR_TRUST_STORE);
    hv_trust_free(t);
    n = make_crl(rca_name, rca_len, &rca_key, MBEDTLS_MD_SHA256, none, 1, NULL, 0, NULL, 0, crl,
                 sizeof crl);
    assert_int_equal(trust_with_crl(&t, crl, n), HV_OK);
    hv_trust_free(t);

    /* The CSCA revoked by a CRL of its name; the reader CA by its own. */
    char path[1024], msg[256];
    pki_crl("csca-MAR", "csca/csca-MAR.der", "csca-revoked.crl", path, sizeof path);
    trust_with_crl(&t, NULL, 0);
    assert_int_equal(hv_trust_load_crl(t, path, msg, sizeof msg), HV_OK);
    opt.trust = t;
    struct hv_result res;
    assert_int_equal(verify_with(good, &opt, &res), HV_ERR_REVOKED);
    assert_non_null(strstr(res.message, "CSCA"));
    hv_result_free(&res);
    hv_trust_free(t);
    pki_crl("reader-ca", "reader-ca/reader-ca.der", "reader-ca-revoked.crl", path, sizeof path);
    trust_with_crl(&t, NULL, 0);
    assert_int_equal(hv_trust_load_crl(t, path, msg, sizeof msg), HV_OK);
    opt.trust = t;
    assert_int_equal(verify_with(good, &opt, &res), HV_ERR_REVOKED);
    assert_non_null(strstr(res.message, "reader CA"));
    hv_result_free(&res);
    hv_trust_free(t);

    /* A reader CA named like the Moroccan CSCA: its CRL is the reader PKI's and revokes no DS. */
    static const uint8_t policy[] = {0x30, 0x17, 0x30, 0x15, 0x06, 0x13, 0x69, 0xCD, 0xA0,
                                     0xF7, 0xCD, 0xA8, 0x84, 0xBA, 0xA4, 0xA1, 0xBA, 0xEB,
                                     0xC7, 0xE4, 0x99, 0xA2, 0xEA, 0xE1, 0x5F};
    struct cert_spec namesake = {
        .issuer = CSCA_MAR,
        .subject = CSCA_MAR,
        .issuer_key = &rca_key,
        .subject_key = &rca_key,
        .basic_ca = 1,
        .ku = MBEDTLS_X509_KU_KEY_CERT_SIGN | MBEDTLS_X509_KU_CRL_SIGN,
        .ext = {{MBEDTLS_OID_CERTIFICATE_POLICIES,
                 MBEDTLS_OID_SIZE(MBEDTLS_OID_CERTIFICATE_POLICIES), 0, policy, sizeof policy}},
    };
    n = issue_cert(&namesake, cert, sizeof cert);
    t = hv_trust_new();
    snprintf(path, sizeof path, "%s/csca", pki_dir);
    assert_int_equal(hv_trust_load_csca_dir(t, path, msg, sizeof msg), HV_OK);
    snprintf(path, sizeof path, "%s/reader-ca", pki_dir);
    assert_int_equal(hv_trust_load_reader_ca_file(t, path, msg, sizeof msg), HV_OK);
    assert_int_equal(hv_trust_add_reader_ca(t, cert, n), HV_OK);
    n = make_crl(mar, mar_len, &rca_key, MBEDTLS_MD_SHA256, serial, serial_len, NULL, 0, NULL, 0,
                 crl, sizeof crl);
    assert_int_equal(hv_trust_add_crl(t, crl, n), HV_OK);
    opt.trust = t;
    expect(good, &opt, HV_OK);
    hv_trust_free(t);

    /* A CSCA given only as master-list anchor issues the CRL that revokes its ML Signer. */
    pki_crl("csca-MAR", "masterlist/ml-signer.der", "ml-signer-revoked.crl", path, sizeof path);
    t = hv_trust_new();
    char anchor[1024], ml[1024];
    snprintf(anchor, sizeof anchor, "%s/csca/csca-MAR.pem", pki_dir);
    assert_int_equal(hv_trust_load_masterlist_signer(t, anchor, msg, sizeof msg), HV_OK);
    assert_int_equal(hv_trust_load_crl(t, path, msg, sizeof msg), HV_OK);
    snprintf(ml, sizeof ml, "%s/masterlist/csca-masterlist.ml", pki_dir);
    assert_int_equal(hv_trust_load_masterlist(t, ml, &test_now, msg, sizeof msg),
                     HV_ERR_TRUST_STORE);
    assert_non_null(strstr(msg, "revoked"));
    hv_trust_free(t);

    free(good);
    mbedtls_pk_free(&csca_key);
    mbedtls_pk_free(&rca_key);
}

/*
 * A file given to a store holds that store's objects and nothing else: a
 * PEM private key, CRL or OpenSSL TRUSTED CERTIFICATE block beside the
 * certificates, bytes after a DER certificate, a certificate in a CRL file
 * were skipped in silence (mbedTLS reads what it knows). A path that is no
 * regular file or directory (a FIFO, a device) is refused before it is
 * read: /dev/zero was read to 64 MiB, a FIFO blocked forever. And the
 * reader certificate in an assertion is one DER certificate: bytes after it
 * made a second spelling of the same assertion.
 */
static void trust_files_hold_only_their_role(void **state)
{
    const char *tmp = out_dir ? out_dir : "/tmp";
    char path[1024], cmd[4096], msg[512];
    uint8_t *b;
    size_t n;
    unsigned char key_pem[1024];
    mbedtls_pk_context key;
    load_key("private/csca-MAR.key", &key);
    assert_int_equal(mbedtls_pk_write_key_pem(&key, key_pem, sizeof key_pem), 0);
    mbedtls_pk_free(&key);
    snprintf(path, sizeof path, "%s/csca/csca-MAR.pem", pki_dir);
    load(path, &b, &n);
    b[n] = '\0';
    struct hv_trust *t = hv_trust_new();
    assert_int_equal(hv_trust_add_csca(t, b, n), HV_OK); /* the file alone is fine */
    hv_trust_free(t);
    size_t kn = strlen((const char *)key_pem);
    char *with_key = malloc(n + kn);
    memcpy(with_key, b, n);
    memcpy(with_key + n, key_pem, kn);
    /* TRUSTED CERTIFICATE: the same base64 again under OpenSSL's other label. */
    const char *body = strstr((const char *)b, "-----\n") + 6;
    const char *body_end = strstr(body, "-----END CERTIFICATE-----");
    assert_non_null(body_end);
    char *trusted = malloc(2 * n + 128);
    int tn = snprintf(trusted, 2 * n + 128,
                      "%s-----BEGIN TRUSTED CERTIFICATE-----\n%.*s-----END TRUSTED "
                      "CERTIFICATE-----\n",
                      (const char *)b, (int)(body_end - body), body);
    free(b);
    snprintf(path, sizeof path, "%s/csca/csca-MAR.der", pki_dir);
    load(path, &b, &n);
    b[n] = 0x00; /* one byte after the DER certificate (load() leaves room for it) */
    const struct {
        const char *name;
        const void *p;
        size_t n;
    } files[] = {
        {"csca-and-key.pem", with_key, n + kn},
        {"csca-and-trusted.pem", trusted, (size_t)tn},
        {"csca-trailing.der", b, n + 1},
    };

    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", tmp, files[i].name);
        write_file(path, files[i].p, files[i].n);
        t = hv_trust_new();
        enum hv_err e = hv_trust_load_csca_dir(t, path, msg, sizeof msg);
        if (e != HV_ERR_TRUST_STORE || !strstr(msg, files[i].name))
            fail_msg("%s: %s (%s)", files[i].name, hv_err_str(e), msg);
        /* The master-list anchor store reads files the same way. */
        assert_int_equal(hv_trust_add_masterlist_signer(t, files[i].p, files[i].n),
                         HV_ERR_TRUST_STORE);
        hv_trust_free(t);
    }
    free(with_key);
    free(trusted);
    free(b);
    /* A CRL file with a certificate in it. */
    snprintf(path, sizeof path, "%s/crl-and-cert.pem", tmp);
    snprintf(cmd, sizeof cmd,
             "openssl crl -inform DER -in '%s/crl/csca-MAR.crl' -outform PEM > '%s' && "
             "cat '%s/csca/csca-MAR.pem' >> '%s'",
             pki_dir, path, pki_dir, path);
    assert_int_equal(system(cmd), 0);
    trust_with_crl(&t, NULL, 0);
    assert_int_equal(hv_trust_load_crl(t, path, msg, sizeof msg), HV_ERR_TRUST_STORE);
    assert_int_equal(hv_trust_n_crl(t), 0);
    hv_trust_free(t);
    /* The same CRL alone in PEM loads. */
    snprintf(cmd, sizeof cmd,
             "openssl crl -inform DER -in '%s/crl/csca-MAR.crl' -outform PEM > '%s'", pki_dir,
             path);
    assert_int_equal(system(cmd), 0);
    trust_with_crl(&t, NULL, 0);
    assert_int_equal(hv_trust_load_crl(t, path, msg, sizeof msg), HV_OK);
    hv_trust_free(t);
    /* A device and a FIFO: refused at once, named. */
    snprintf(path, sizeof path, "%s/trust-fifo", tmp);
    unlink(path);
    assert_int_equal(mkfifo(path, 0600), 0);
    const char *specials[] = {"/dev/zero", path};
    for (size_t i = 0; i < 2; i++) {
        t = hv_trust_new();
        assert_int_equal(hv_trust_load_csca_dir(t, specials[i], msg, sizeof msg),
                         HV_ERR_TRUST_STORE);
        assert_non_null(strstr(msg, "not a regular file or a directory"));
        assert_int_equal(hv_trust_load_crl(t, specials[i], msg, sizeof msg), HV_ERR_TRUST_STORE);
        hv_trust_free(t);
    }
    unlink(path);

    /* The reader certificate with one byte after it. */
    uint8_t cert[2048];
    memcpy(cert, reader_cert, reader_cert_len);
    cert[reader_cert_len] = 0x00;
    char *json = build(&(struct recipe){.cert = cert, .cert_len = reader_cert_len + 1});
    struct hv_options opt = options();
    struct hv_result res;
    assert_int_equal(verify_with(json, &opt, &res), HV_ERR_READER_UNTRUSTED);
    assert_non_null(strstr(res.message, "one DER certificate"));
    hv_result_free(&res);
    free(json);
}

/*
 * Names are compared as RFC 5280 §7.1 has it, not byte for byte: a state
 * that writes its CSCA's name with a PrintableString CN in one place and a
 * UTF8String in another, or in another case or spacing, names the same CSCA.
 * Byte comparison refused such a genuine Document Signer, and, worse, let a
 * revoked one through: after a key rollover whose renewed CSCA re-encoded
 * the name, the renewed key's CRL (its issuer as the renewed CSCA writes it)
 * did not match the old DS's issuer bytes, so its revocation was never seen.
 * Names that really differ (another CN, the RDNs in another order) still
 * differ, and the signature still decides.
 */
static void names_compared_as_rfc5280_says(void **state)
{
    static const uint8_t cn_utf8[] = "\x0c\x14Hawiya Test CSCA MAR";
    static const uint8_t cn_printable[] = "\x13\x14Hawiya Test CSCA MAR";
    struct hv_options opt = options();
    mbedtls_pk_context csca_key, ds_key, renewed_key;
    load_key("private/csca-MAR.key", &csca_key);
    gen_p256(&ds_key, "name ds");
    gen_p256(&renewed_key, "renewed csca");
    uint8_t cert[2048];
    const struct {
        const char *name, *issuer;
        bool printable_cn;
        enum hv_err want;
    } cases[] = {
        {"issuer-printable-cn", CSCA_MAR, true, HV_OK},
        {"issuer-case-space", "C=MA,O=hawiya test PKI,OU=CSCA,CN=  HAWIYA  Test csca MAR ", false,
         HV_OK},
        {"issuer-other-cn", "C=MA,O=Hawiya Test PKI,OU=CSCA,CN=Hawiya Test CSCA MAR2", false,
         HV_ERR_DS_UNTRUSTED},
        {"issuer-rdn-order", "C=MA,O=Hawiya Test PKI,CN=Hawiya Test CSCA MAR,OU=CSCA", false,
         HV_ERR_DS_UNTRUSTED},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct cert_spec spec = {
            .issuer = cases[i].issuer,
            .subject = "C=MA,O=Hawiya Test PKI,OU=Document Signers,CN=Name DS",
            .issuer_key = &csca_key,
            .subject_key = &ds_key,
            .basic_ca = -1,
            .ku = MBEDTLS_X509_KU_DIGITAL_SIGNATURE,
        };
        if (cases[i].printable_cn) {
            spec.from = cn_utf8;
            spec.to = cn_printable;
            spec.edit_len = sizeof cn_utf8 - 1;
        }
        size_t n = issue_cert(&spec, cert, sizeof cert);
        expect_card(forged_ds_card(cases[i].name, cert, n, &ds_key), &opt, cases[i].want,
                    cases[i].want == HV_OK ? NULL : "not issued by a given CSCA");
    }

    /* The rollover: a renewed MAR CSCA (new key) writes its CN as a PrintableString, and its
     * CRL revokes ds-MAR, which the old CSCA issued under the UTF8String name. */
    struct cert_spec renewed = {
        .issuer = CSCA_MAR,
        .subject = CSCA_MAR,
        .issuer_key = &renewed_key,
        .subject_key = &renewed_key,
        .basic_ca = 1,
        .ku = MBEDTLS_X509_KU_KEY_CERT_SIGN | MBEDTLS_X509_KU_CRL_SIGN,
        .from = cn_utf8,
        .to = cn_printable,
        .edit_len = sizeof cn_utf8 - 1,
        .edit_all = true,
    };
    size_t n = issue_cert(&renewed, cert, sizeof cert);
    mbedtls_x509_crt parsed;
    mbedtls_x509_crt_init(&parsed);
    assert_int_equal(mbedtls_x509_crt_parse_der(&parsed, cert, n), 0);
    uint8_t serial[32], crl[4096];
    size_t serial_len = serial_of("ds/ds-MAR.der", serial, sizeof serial);
    size_t crl_len =
        make_crl(parsed.subject_raw.p, parsed.subject_raw.len, &renewed_key, MBEDTLS_MD_SHA256,
                 serial, serial_len, NULL, 0, NULL, 0, crl, sizeof crl);
    mbedtls_x509_crt_free(&parsed);
    struct hv_trust *t;
    trust_with_crl(&t, NULL, 0);
    assert_int_equal(hv_trust_add_csca(t, cert, n), HV_OK);
    assert_int_equal(hv_trust_add_crl(t, crl, crl_len), HV_OK);
    char *good = build(&(struct recipe){0});
    opt.trust = t;
    expect(good, &opt, HV_ERR_REVOKED);
    free(good);
    hv_trust_free(t);
    mbedtls_pk_free(&csca_key);
    mbedtls_pk_free(&ds_key);
    mbedtls_pk_free(&renewed_key);
}

/*
 * A revoked Master List Signer vouches for nothing, whatever the order the
 * platform loads its files in. The check was made once, when the list was
 * loaded, against the CRLs loaded before it; `hawiya verify` loads CRLs
 * last (their issuers may come from the list), so a list whose signer its
 * CSCA had revoked, given with that very CRL, still filled the CSCA store
 * and its documents were VERIFIED. Now each CSCA remembers where it came
 * from, and at hv_verify() one that only a revoked signer (or a revoked
 * anchor) vouched for is no CSCA (HV_ERR_REVOKED); the same CSCA given
 * directly, or by another list whose signer stands, still is.
 */
static void masterlist_signer_revoked_in_any_order(void **state)
{
    (void)state;
    char crl[1024], anchor[1024], signer[1024], ml[1024], csca[1024], rca[1024], msg[512];
    pki_crl("csca-MAR", "masterlist/ml-signer.der", "ml-signer-revoked.crl", crl, sizeof crl);
    snprintf(anchor, sizeof anchor, "%s/csca/csca-MAR.pem", pki_dir);
    snprintf(signer, sizeof signer, "%s/masterlist/ml-signer.pem", pki_dir);
    snprintf(ml, sizeof ml, "%s/masterlist/csca-masterlist.ml", pki_dir);
    snprintf(csca, sizeof csca, "%s/csca", pki_dir);
    snprintf(rca, sizeof rca, "%s/reader-ca", pki_dir);
    char *good = build(&(struct recipe){0});
    const struct {
        const char *anchor;
        bool crl, direct_csca;
        enum hv_err want;
    } cases[] = {
        {anchor, false, false, HV_OK},
        {anchor, true, false, HV_ERR_REVOKED}, /* the CRL after the list */
        {signer, true, false, HV_ERR_REVOKED}, /* the signer itself as the anchor */
        {anchor, true, true, HV_OK},           /* the CSCA also given directly */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct hv_trust *t = hv_trust_new();
        assert_int_equal(hv_trust_load_masterlist_signer(t, cases[i].anchor, msg, sizeof msg),
                         HV_OK);
        if (cases[i].direct_csca)
            assert_int_equal(hv_trust_load_csca_dir(t, csca, msg, sizeof msg), HV_OK);
        assert_int_equal(hv_trust_load_masterlist(t, ml, &test_now, msg, sizeof msg), HV_OK);
        assert_int_equal(hv_trust_load_reader_ca_file(t, rca, msg, sizeof msg), HV_OK);
        if (cases[i].crl)
            assert_int_equal(hv_trust_load_crl(t, crl, msg, sizeof msg), HV_OK);
        struct hv_options opt = options();
        opt.trust = t;
        struct hv_result res;
        enum hv_err e = verify_with(good, &opt, &res);
        if (e != cases[i].want)
            fail_msg("case %zu: got %s (%s), want %s", i, hv_err_str(e), res.message,
                     hv_err_str(cases[i].want));
        if (e == HV_ERR_REVOKED)
            assert_non_null(strstr(res.message, "Master List Signer"));
        hv_result_free(&res);
        hv_trust_free(t);
    }
    free(good);
}

/*
 * A CRL is current until its nextUpdate (RFC 5280 §5.1.2.5), and `openssl
 * verify -crl_check` refuses a certificate whose issuer's CRL is past it
 * ("CRL has expired"). The verifier took any CRL "whatever its dates": a platform
 * whose CRL feed stopped (or was stopped) went on VERIFYING documents of
 * Document Signers revoked since. Now, for the issuer of each certificate
 * checked (DS and CSCA, reader certificate and reader CA), once the
 * platform gave CRLs of that issuer one of them must be current at now,
 * else HV_ERR_CRL_STALE; a certificate a stale CRL lists is still
 * HV_ERR_REVOKED (revocation does not expire), and an issuer with no CRL
 * given is not checked for revocation at all, as before. cli_verify holds
 * the stale CRL this writes against `openssl verify -crl_check`.
 */
static void stale_crls_are_not_current(void **state)
{
    (void)state;
    mbedtls_pk_context csca_key, rca_key, dza_key;
    load_key("private/csca-MAR.key", &csca_key);
    load_key("private/reader-ca.key", &rca_key);
    load_key("private/csca-DZA.key", &dza_key);
    uint8_t mar[256], rca_name[256], dza[256], crl[4096], crl2[4096], serial[32];
    size_t mar_len = subject_of("csca/csca-MAR.der", mar, sizeof mar);
    size_t rca_len = subject_of("reader-ca/reader-ca.der", rca_name, sizeof rca_name);
    size_t dza_len = subject_of("csca/csca-DZA.der", dza, sizeof dza);
    size_t serial_len = serial_of("ds/ds-MAR.der", serial, sizeof serial);
    static const uint8_t none[] = {0x7F}; /* a serial no certificate of the test PKI has */
    char *good = build(&(struct recipe){0});
    struct hv_options opt = options();
    struct hv_trust *t;
    const struct {
        const char *what, *this_update, *next_update;
        bool reader_pki, revoke_ds, other_state;
        enum hv_err want;
    } cases[] = {
        {"current", "251201000000Z", "260201000000Z", false, false, false, HV_OK},
        {"past nextUpdate", "251001000000Z", "251231000000Z", false, false, false,
         HV_ERR_CRL_STALE},
        /* issued after now (a platform judging at an earlier time): newer, not stale */
        {"after now", "260102000000Z", "260401000000Z", false, false, false, HV_OK},
        {"no nextUpdate", "251201000000Z", NULL, false, false, false, HV_OK},
        {"stale, listing the DS", "251001000000Z", "251231000000Z", false, true, false,
         HV_ERR_REVOKED},
        {"stale, of another state", "251001000000Z", "251231000000Z", false, false, true, HV_OK},
        {"the reader CA's, stale", "251001000000Z", "251231000000Z", true, false, false,
         HV_ERR_CRL_STALE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        crl_this_update = cases[i].this_update;
        crl_next_update = cases[i].next_update;
        size_t n = cases[i].reader_pki    ? make_crl(rca_name, rca_len, &rca_key, MBEDTLS_MD_SHA256,
                                                     none, 1, NULL, 0, NULL, 0, crl, sizeof crl)
                   : cases[i].other_state ? make_crl(dza, dza_len, &dza_key, MBEDTLS_MD_SHA256,
                                                     none, 1, NULL, 0, NULL, 0, crl, sizeof crl)
                                          : make_crl(mar, mar_len, &csca_key, MBEDTLS_MD_SHA256,
                                                     cases[i].revoke_ds ? serial : none,
                                                     cases[i].revoke_ds ? serial_len : 1, NULL, 0,
                                                     NULL, 0, crl, sizeof crl);
        assert_int_equal(trust_with_crl(&t, crl, n), HV_OK);
        opt.trust = t;
        struct hv_result res;
        enum hv_err e = verify_with(good, &opt, &res);
        if (e != cases[i].want)
            fail_msg("%s: got %s (%s), want %s", cases[i].what, hv_err_str(e), res.message,
                     hv_err_str(cases[i].want));
        hv_result_free(&res);
        hv_trust_free(t);
    }
    /* A stale CRL beside a current one of the same CSCA: the current one counts. */
    crl_this_update = "251001000000Z";
    crl_next_update = "251231000000Z";
    size_t n = make_crl(mar, mar_len, &csca_key, MBEDTLS_MD_SHA256, none, 1, NULL, 0, NULL, 0, crl,
                        sizeof crl);
    char path[1024];
    snprintf(path, sizeof path, "%s/csca-MAR-stale.crl", out_dir ? out_dir : "/tmp");
    write_file(path, crl, n);
    crl_this_update = "251201000000Z";
    crl_next_update = "450101000000Z";
    size_t n2 = make_crl(mar, mar_len, &csca_key, MBEDTLS_MD_SHA256, none, 1, NULL, 0, NULL, 0,
                         crl2, sizeof crl2);
    assert_int_equal(trust_with_crl(&t, crl, n), HV_OK);
    assert_int_equal(hv_trust_add_crl(t, crl2, n2), HV_OK);
    opt.trust = t;
    expect(good, &opt, HV_OK);
    hv_trust_free(t);
    assert_string_equal(hv_err_str(HV_ERR_CRL_STALE), "HV_ERR_CRL_STALE");
    free(good);
    mbedtls_pk_free(&csca_key);
    mbedtls_pk_free(&rca_key);
    mbedtls_pk_free(&dza_key);
}

/* `hawiya-pki crl --issuer ISSUER --this-update T --next-update T` (nothing revoked) into
 * OUT under the output dir. */
static void pki_crl_dated(const char *issuer, const char *this_update, const char *next_update,
                          const char *out, char *path, size_t cap)
{
    char cmd[4096];
    snprintf(path, cap, "%s/%s", out_dir ? out_dir : "/tmp", out);
    snprintf(cmd, sizeof cmd,
             "'%s' crl --ca '%s' --issuer %s --this-update %s --next-update %s --out '%s'",
             pki_tool, pki_dir, issuer, this_update, next_update, path);
    assert_int_equal(system(cmd), 0);
}

/*
 * A master list is refused like a Document Signer's SOD when the CRL feed of
 * its signer's issuer is behind (RFC 5280 §5.1.2.5 nextUpdate, the rule of
 * stale_crls_are_not_current): the Master List Signer is a certificate of
 * its CSCA like a DS, and a platform whose CSCA CRLs stopped coming cannot
 * know it was not revoked since. Only the DS's issuer was held to that: an
 * Algerian document whose CSCA came only from the Moroccan-signed master
 * list VERIFIED with every Moroccan CRL past nextUpdate. Now that CSCA is
 * vouched for by nobody current (HV_ERR_CRL_STALE at hv_verify, whatever
 * the load order), and a list loaded after the stale CRL is refused. The
 * stale CRL is hawiya-pki's, and `openssl verify -crl_check` calls it
 * expired for the signer too; cli_verify runs `hawiya verify` on it.
 */
static void masterlist_signer_crl_stale(void **state)
{
    (void)state;
    char stale[1024], current[1024], ml[1024], rca[1024], csca[1024], cmd[4096], msg[512];
    pki_crl_dated("csca-MAR", "251001000000Z", "251231000000Z", "csca-MAR-stale-pki.crl", stale,
                  sizeof stale);
    pki_crl_dated("csca-MAR", "251201000000Z", "260201000000Z", "csca-MAR-current-pki.crl", current,
                  sizeof current);
    snprintf(cmd, sizeof cmd,
             "openssl crl -inform DER -in '%s' -out '%s.pem' && openssl verify -crl_check "
             "-CAfile '%s/csca/csca-MAR.pem' -CRLfile '%s.pem' -attime 1767225600 -purpose any "
             "'%s/masterlist/ml-signer.pem' 2>&1 | grep -q 'CRL has expired'",
             stale, stale, pki_dir, stale, pki_dir);
    assert_int_equal(system(cmd), 0);
    snprintf(ml, sizeof ml, "%s/masterlist/csca-masterlist.ml", pki_dir);
    snprintf(rca, sizeof rca, "%s/reader-ca", pki_dir);
    snprintf(csca, sizeof csca, "%s/csca", pki_dir);
    char *algeria = build(&(struct recipe){.persona = "algeria"});
    save("algeria.json", algeria);
    static const char *const anchors[] = {"csca/csca-MAR.pem", "masterlist/ml-signer.pem"};
    const struct {
        const char *what;
        bool direct_csca, with_current;
        enum hv_err want;
    } cases[] = {
        {"stale", false, false, HV_ERR_CRL_STALE},
        {"stale, the CSCAs also given directly", true, false, HV_OK},
        {"stale beside a current one", false, true, HV_OK},
    };
    for (size_t a = 0; a < 2; a++) {
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            char anchor[1024];
            snprintf(anchor, sizeof anchor, "%s/%s", pki_dir, anchors[a]);
            struct hv_trust *t = hv_trust_new();
            assert_int_equal(hv_trust_load_masterlist_signer(t, anchor, msg, sizeof msg), HV_OK);
            if (cases[i].direct_csca)
                assert_int_equal(hv_trust_load_csca_dir(t, csca, msg, sizeof msg), HV_OK);
            assert_int_equal(hv_trust_load_masterlist(t, ml, &test_now, msg, sizeof msg), HV_OK);
            assert_int_equal(hv_trust_load_reader_ca_file(t, rca, msg, sizeof msg), HV_OK);
            assert_int_equal(hv_trust_load_crl(t, stale, msg, sizeof msg), HV_OK);
            if (cases[i].with_current)
                assert_int_equal(hv_trust_load_crl(t, current, msg, sizeof msg), HV_OK);
            struct hv_options opt = options();
            opt.trust = t;
            struct hv_result res;
            enum hv_err e = verify_with(algeria, &opt, &res);
            if (e != cases[i].want)
                fail_msg("%s, anchor %s: got %s (%s), want %s", cases[i].what, anchors[a],
                         hv_err_str(e), res.message, hv_err_str(cases[i].want));
            if (e == HV_ERR_CRL_STALE)
                assert_non_null(strstr(res.message, "Master List Signer"));
            hv_result_free(&res);
            hv_trust_free(t);
        }
    }
    /* The stale CRL loaded before the list (its issuer given as the anchor): the list is
     * refused when loaded, as one whose signer is revoked is; with a current CRL, taken. */
    for (size_t i = 0; i < 2; i++) {
        char anchor[1024];
        snprintf(anchor, sizeof anchor, "%s/csca/csca-MAR.pem", pki_dir);
        struct hv_trust *t = hv_trust_new();
        assert_int_equal(hv_trust_load_masterlist_signer(t, anchor, msg, sizeof msg), HV_OK);
        assert_int_equal(hv_trust_load_crl(t, i ? current : stale, msg, sizeof msg), HV_OK);
        enum hv_err e = hv_trust_load_masterlist(t, ml, &test_now, msg, sizeof msg);
        if (e != (i ? HV_OK : HV_ERR_TRUST_STORE))
            fail_msg("CRL %s before the list: %s (%s)", i ? "current" : "stale", hv_err_str(e),
                     msg);
        if (!i)
            assert_non_null(strstr(msg, "nextUpdate"));
        hv_trust_free(t);
    }
    free(algeria);
}

/*
 * 9303-12: a state's Master List Signer is issued by that state's CSCA, so
 * its countryName is its CSCA's (as a Document Signer's is, which hv_verify
 * checks). A certificate with the Master List Signer profile naming C=DZ
 * under the Moroccan CSCA (hawiya-pki's bad/ml-signer-other-country; its
 * chain and the list it signs verify with openssl) was taken as an anchor,
 * and its list filled the CSCA store. Now it is refused when loaded, as a
 * master-list anchor (the file named) and as the signer inside a list.
 */
static void masterlist_signer_country(void **state)
{
    (void)state;
    char bad[1024], ml[1024], anchor[1024], cmd[4096], msg[512];
    snprintf(bad, sizeof bad, "%s/bad/ml-signer-other-country.pem", pki_dir);
    snprintf(ml, sizeof ml, "%s/ml-other-country.ml", out_dir ? out_dir : "/tmp");
    snprintf(cmd, sizeof cmd,
             "'%s' masterlist --ca '%s' --signer-cert '%s' --signer-key "
             "'%s/private/ml-signer-other-country.key' --out '%s'",
             pki_tool, pki_dir, bad, pki_dir, ml);
    assert_int_equal(system(cmd), 0);
    /* openssl: a good chain, a list that verifies, and the two countries. */
    snprintf(cmd, sizeof cmd,
             "openssl verify -CAfile '%s/csca/csca-MAR.pem' -attime 1767225600 -purpose any '%s' "
             ">/dev/null && openssl cms -verify -inform DER -in '%s' -CAfile '%s/csca/csca.pem' "
             "-purpose any -binary -attime 1767225600 -out /dev/null 2>/dev/null && "
             "openssl x509 -in '%s' -noout -subject -issuer -nameopt compat | tr '\\n' ' ' | "
             "grep -q '^subject=/C=DZ/.* issuer=/C=MA/'",
             pki_dir, bad, ml, pki_dir, bad);
    assert_int_equal(system(cmd), 0);

    struct hv_trust *t = hv_trust_new();
    assert_int_equal(hv_trust_load_masterlist_signer(t, bad, msg, sizeof msg), HV_ERR_TRUST_STORE);
    if (!strstr(msg, bad) || !strstr(msg, "country"))
        fail_msg("message: %s", msg);
    hv_trust_free(t);

    snprintf(anchor, sizeof anchor, "%s/csca/csca-MAR.pem", pki_dir);
    t = hv_trust_new();
    assert_int_equal(hv_trust_load_masterlist_signer(t, anchor, msg, sizeof msg), HV_OK);
    assert_int_equal(hv_trust_load_masterlist(t, ml, &test_now, msg, sizeof msg),
                     HV_ERR_TRUST_STORE);
    if (!strstr(msg, ml) || !strstr(msg, "country"))
        fail_msg("message: %s", msg);
    assert_int_equal(hv_trust_n_csca(t), 0);
    hv_trust_free(t);
    /* The same list signed by the test PKI's own (Moroccan) signer is taken: the country is
     * what refused. */
    hv_trust_free(ml_trust("csca/csca-MAR.pem", "masterlist/csca-masterlist.ml", HV_OK, &test_now));
}

/*
 * A Document Signer's privateKeyUsagePeriod (X.509 §9.2.2.5, formerly RFC
 * 3280 §4.2.1.4; a 9303-12 certificate extension) says when its private key
 * may sign: a SOD whose signed signingTime falls outside it was signed by a
 * key the state had retired (or not yet put in use), whatever the
 * certificate's own validity. hawiya-pki's ds-MAR-pkup (period
 * 2024-01-01T00:00:00Z .. 2024-12-31T23:59:59Z, validity 2024 .. 2036)
 * signing at the period's ends verifies; one second outside either end was
 * VERIFIED too, and is now HV_ERR_DS_KEY_USAGE_PERIOD. Without the
 * extension (every other DS) nothing changes; a period that is not the
 * extension's DER is ignored when non-critical and refuses the DS
 * (HV_ERR_DS_UNTRUSTED) when critical.
 */
static void ds_private_key_usage_period(void **state)
{
    (void)state;
    char cmd[4096];
    /* openssl reads the period hawiya-pki wrote. */
    snprintf(cmd, sizeof cmd,
             "openssl x509 -in '%s/ds/ds-MAR-pkup.pem' -noout -text | tr -s ' \\n' ' ' | grep -q "
             "'X509v3 Private Key Usage Period: Not Before: Jan 1 00:00:00 2024 GMT, Not After: "
             "Dec 31 23:59:59 2024 GMT'",
             pki_dir);
    assert_int_equal(system(cmd), 0);
    const struct {
        const char *name, *signing_time;
        enum hv_err want;
    } cases[] = {
        {"pkup-default", NULL, HV_OK}, /* 2024-06-01 */
        {"pkup-first-second", "240101000000Z", HV_OK},
        {"pkup-last-second", "241231235959Z", HV_OK},
        {"pkup-before", "231231235959Z", HV_ERR_DS_KEY_USAGE_PERIOD},
        {"pkup-after", "250101000000Z", HV_ERR_DS_KEY_USAGE_PERIOD},
    };
    struct hv_options opt = options();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char dir[1200];
        snprintf(dir, sizeof dir, "%s/%s", cards_dir, cases[i].name);
        snprintf(cmd, sizeof cmd,
                 "'%s' card --ca '%s' --personas '%s' --persona default --out '%s' --ds-cert "
                 "'%s/ds/ds-MAR-pkup.der' --ds-key '%s/private/ds-MAR-pkup.key' %s%s",
                 pki_tool, pki_dir, getenv("HAWIYA_PERSONAS"), dir, pki_dir, pki_dir,
                 cases[i].signing_time ? "--signing-time " : "",
                 cases[i].signing_time ? cases[i].signing_time : "");
        assert_int_equal(system(cmd), 0);
        expect_card(dir, &opt, cases[i].want,
                    cases[i].want == HV_OK ? NULL : "privateKeyUsagePeriod");
    }
    assert_string_equal(hv_err_str(HV_ERR_DS_KEY_USAGE_PERIOD), "HV_ERR_DS_KEY_USAGE_PERIOD");

    /* Periods hawiya-pki never writes, on an in-process DS of MAR: notAfter only, notBefore
     * only (each side alone decides), with fractions of a second (valid DER, X.690 §11.7.3, cut
     * to the second: they still decide), and malformed ones (empty, UTCTime, the two swapped,
     * something after them, a fraction DER forbids): ignored when non-critical (RFC 5280 §4.2),
     * refusing the DS itself when critical (before, every malformed or fractional one refused
     * the DS, and mbedTLS refused every critical one before the profile was looked at). */
    mbedtls_pk_context csca_key, ds_key;
    load_key("private/csca-MAR.key", &csca_key);
    gen_p256(&ds_key, "ds with pkup");
    static const uint8_t only_after_early[] = {
        0x30, 0x11, 0x81, 0x0F, '2', '0', '2', '4', '0', '1',
        '0',  '1',  '0',  '0',  '0', '0', '0', '0', 'Z'}; /* notAfter 2024-01-01: 2024-06-01 after
                                                           */
    static const uint8_t only_before_late[] = {
        0x30, 0x11, 0x80, 0x0F, '2', '0', '2', '5', '0', '1',
        '0',  '1',  '0',  '0',  '0', '0', '0', '0', 'Z'}; /* notBefore 2025-01-01: 2024-06-01 before
                                                           */
    static const uint8_t only_before_early[] = {0x30, 0x11, 0x80, 0x0F, '2', '0', '2',
                                                '4',  '0',  '1',  '0',  '1', '0', '0',
                                                '0',  '0',  '0',  '0',  'Z'};
    /* notAfter 20240601000000.5Z: the SOD's 2024-06-01T00:00:00Z is within its second */
    static const uint8_t frac_after_same_second[] = {0x30, 0x13, 0x81, 0x11, '2', '0', '2',
                                                     '4',  '0',  '6',  '0',  '1', '0', '0',
                                                     '0',  '0',  '0',  '0',  '.', '5', 'Z'};
    /* notAfter 20240531235959.999Z: one second before it */
    static const uint8_t frac_after_early[] = {0x30, 0x15, 0x81, 0x13, '2', '0', '2', '4',
                                               '0',  '5',  '3',  '1',  '2', '3', '5', '9',
                                               '5',  '9',  '.',  '9',  '9', '9', 'Z'};
    /* notBefore 20240601000000.001Z: rounds down to the SOD's second */
    static const uint8_t frac_before_same_second[] = {0x30, 0x15, 0x80, 0x13, '2', '0', '2', '4',
                                                      '0',  '6',  '0',  '1',  '0', '0', '0', '0',
                                                      '0',  '0',  '.',  '0',  '0', '1', 'Z'};
    static const uint8_t empty[] = {0x30, 0x00};
    static const uint8_t utc[] = {0x30, 0x0F, 0x80, 0x0D, '2', '4', '0', '1', '0',
                                  '1',  '0',  '0',  '0',  '0', '0', '0', 'Z'};
    static const uint8_t swapped[] = {0x30, 0x22, 0x81, 0x0F, '2', '0', '2', '5', '0',
                                      '1',  '0',  '1',  '0',  '0', '0', '0', '0', '0',
                                      'Z',  0x80, 0x0F, '2',  '0', '2', '4', '0', '1',
                                      '0',  '1',  '0',  '0',  '0', '0', '0', '0', 'Z'};
    static const uint8_t trailing[] = {0x30, 0x13, 0x80, 0x0F, '2', '0', '2', '4', '0',  '1', '0',
                                       '1',  '0',  '0',  '0',  '0', '0', '0', 'Z', 0x05, 0x00};
    /* notAfter 20240101000000.50Z: a trailing 0 in the fraction is not DER (X.690 §11.7.3) */
    static const uint8_t frac_trailing_zero[] = {0x30, 0x14, 0x81, 0x12, '2', '0', '2', '4',
                                                 '0',  '1',  '0',  '1',  '0', '0', '0', '0',
                                                 '0',  '0',  '.',  '5',  '0', 'Z'};
    const struct {
        const char *name;
        const uint8_t *v;
        size_t n;
        enum hv_err want, want_critical;
    } made[] = {
        {"pkup-only-after", only_after_early, sizeof only_after_early, HV_ERR_DS_KEY_USAGE_PERIOD,
         HV_ERR_DS_KEY_USAGE_PERIOD},
        {"pkup-only-before", only_before_late, sizeof only_before_late, HV_ERR_DS_KEY_USAGE_PERIOD,
         HV_ERR_DS_KEY_USAGE_PERIOD},
        {"pkup-only-before-ok", only_before_early, sizeof only_before_early, HV_OK, HV_OK},
        {"pkup-frac-after-ok", frac_after_same_second, sizeof frac_after_same_second, HV_OK, HV_OK},
        {"pkup-frac-after", frac_after_early, sizeof frac_after_early, HV_ERR_DS_KEY_USAGE_PERIOD,
         HV_ERR_DS_KEY_USAGE_PERIOD},
        {"pkup-frac-before-ok", frac_before_same_second, sizeof frac_before_same_second, HV_OK,
         HV_OK},
        {"pkup-empty", empty, sizeof empty, HV_OK, HV_ERR_DS_UNTRUSTED},
        {"pkup-utctime", utc, sizeof utc, HV_OK, HV_ERR_DS_UNTRUSTED},
        {"pkup-swapped", swapped, sizeof swapped, HV_OK, HV_ERR_DS_UNTRUSTED},
        {"pkup-trailing", trailing, sizeof trailing, HV_OK, HV_ERR_DS_UNTRUSTED},
        {"pkup-frac-trailing-zero", frac_trailing_zero, sizeof frac_trailing_zero, HV_OK,
         HV_ERR_DS_UNTRUSTED},
    };
    for (size_t i = 0; i < sizeof made / sizeof made[0]; i++)
        for (int critical = 0; critical <= 1; critical++) {
            uint8_t cert[2048];
            char name[64];
            enum hv_err want = critical ? made[i].want_critical : made[i].want;
            struct cert_spec spec = {
                .issuer = CSCA_MAR,
                .subject = "C=MA,O=Hawiya Test PKI,OU=Document Signers,CN=PKUP DS",
                .issuer_key = &csca_key,
                .subject_key = &ds_key,
                .basic_ca = -1,
                .ku = MBEDTLS_X509_KU_DIGITAL_SIGNATURE,
                .ext = {{MBEDTLS_OID_PRIVATE_KEY_USAGE_PERIOD,
                         MBEDTLS_OID_SIZE(MBEDTLS_OID_PRIVATE_KEY_USAGE_PERIOD), critical,
                         made[i].v, made[i].n}},
            };
            size_t n = issue_cert(&spec, cert, sizeof cert);
            snprintf(name, sizeof name, "%s%s", made[i].name, critical ? "-critical" : "");
            expect_card(forged_ds_card(name, cert, n, &ds_key), &opt, want,
                        want == HV_OK ? NULL : "privateKeyUsagePeriod");
            /* Given apart (--ds), a critical malformed period is refused when loaded. */
            struct hv_trust *t = hv_trust_new();
            assert_int_equal(hv_trust_add_ds(t, cert, n),
                             want == HV_ERR_DS_UNTRUSTED ? HV_ERR_TRUST_STORE : HV_OK);
            hv_trust_free(t);
        }
    mbedtls_pk_free(&csca_key);
    mbedtls_pk_free(&ds_key);
}

/*
 * EF.SOD's signingTime read under its own tag (RFC 5652 §11.3, X.690 §11.7
 * / §11.8), on hawiya-pki cards (its --signing-time writes the tag asked
 * for). Before, the length alone chose the reading: the GeneralizedTime
 * "240601120000Z" (no seconds, no GeneralizedTime at all) was read as the
 * UTCTime 2024-06-01T12:00:00Z and "20240601120000Z" under the UTCTime
 * tag as GeneralizedTime, both VERIFIED inside ds-MAR-pkup's period; a
 * GeneralizedTime with a fraction was refused. Also the documented cases:
 * no signingTime beside a period verifies (nothing to compare), and a time
 * that does not parse beside one is HV_ERR_DS_KEY_USAGE_PERIOD, beside none
 * nothing; an expired document whose signingTime does not parse has no
 * time to judge its signer at (HV_ERR_CERT_EXPIRED). ds-MAR-pkup-critical
 * (the period critical, its ends with fractions .25 / .75) verifies and
 * keeps its bounds to the second.
 */
static void signing_time_forms(void **state)
{
    (void)state;
    char cmd[4096], dir[1200];
    const struct {
        const char *name, *ds, *persona, *signing_time;
        enum hv_err want;
        const char *why;
    } cases[] = {
        {"st-generalized", "ds-MAR-pkup", "default", "20240601120000Z", HV_OK, NULL},
        {"st-generalized-frac", "ds-MAR-pkup", "default", "20240601120000.123Z", HV_OK, NULL},
        {"st-generalized-after", "ds-MAR-pkup", "default", "20250101000000Z",
         HV_ERR_DS_KEY_USAGE_PERIOD, "2025-01-01T00:00:00Z is after"},
        {"st-generalized-13", "ds-MAR-pkup", "default", "18:240601120000Z",
         HV_ERR_DS_KEY_USAGE_PERIOD, "not UTCTime or GeneralizedTime"},
        {"st-utc-15", "ds-MAR-pkup", "default", "17:20240601120000Z", HV_ERR_DS_KEY_USAGE_PERIOD,
         "not UTCTime or GeneralizedTime"},
        {"st-frac-trailing-zero", "ds-MAR-pkup", "default", "18:20240601120000.10Z",
         HV_ERR_DS_KEY_USAGE_PERIOD, "not UTCTime or GeneralizedTime"},
        {"st-utc-frac", "ds-MAR-pkup", "default", "17:240601120000.5Z", HV_ERR_DS_KEY_USAGE_PERIOD,
         "not UTCTime or GeneralizedTime"},
        {"st-none", "ds-MAR-pkup", "default", "none", HV_OK, NULL},
        {"st-bad-no-pkup", "ds-MAR", "default", "18:240601120000Z", HV_OK, NULL},
        {"st-crit-default", "ds-MAR-pkup-critical", "default", NULL, HV_OK, NULL},
        {"st-crit-first", "ds-MAR-pkup-critical", "default", "240101000000Z", HV_OK, NULL},
        {"st-crit-last", "ds-MAR-pkup-critical", "default", "241231235959Z", HV_OK, NULL},
        {"st-crit-before", "ds-MAR-pkup-critical", "default", "231231235959Z",
         HV_ERR_DS_KEY_USAGE_PERIOD, "before"},
        {"st-crit-after", "ds-MAR-pkup-critical", "default", "250101000000Z",
         HV_ERR_DS_KEY_USAGE_PERIOD, "after"},
    };
    struct hv_options opt = options();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(dir, sizeof dir, "%s/%s", cards_dir, cases[i].name);
        snprintf(cmd, sizeof cmd,
                 "'%s' card --ca '%s' --personas '%s' --persona %s --out '%s' --ds-cert "
                 "'%s/ds/%s.der' --ds-key '%s/private/%s.key' %s%s",
                 pki_tool, pki_dir, getenv("HAWIYA_PERSONAS"), cases[i].persona, dir, pki_dir,
                 cases[i].ds, pki_dir, cases[i].ds, cases[i].signing_time ? "--signing-time " : "",
                 cases[i].signing_time ? cases[i].signing_time : "");
        assert_int_equal(system(cmd), 0);
        expect_card(dir, &opt, cases[i].want, cases[i].why);
    }
    /* openssl reads the tags hawiya-pki wrote: each text under the tag the case names. */
    snprintf(cmd, sizeof cmd,
             "cd '%s' && openssl asn1parse -inform DER -in st-generalized/sod.bin | grep -q "
             "'GENERALIZEDTIME *:20240601120000Z' && openssl asn1parse -inform DER -in "
             "st-generalized-13/sod.bin | grep -q 'GENERALIZEDTIME *:240601120000Z' && openssl "
             "asn1parse -inform DER -in st-utc-15/sod.bin | grep -q 'UTCTIME *:20240601120000Z' "
             "&& ! openssl asn1parse -inform DER -in st-none/sod.bin | grep -q 'signingTime'",
             cards_dir);
    assert_int_equal(system(cmd), 0);

    /* An expired document accepted by the platform is judged at its signingTime: one that does
     * not parse is none (before, "100115120000Z" under the GeneralizedTime tag was 2010-01-15). */
    opt.allow_expired_document = true;
    snprintf(dir, sizeof dir, "%s/st-expired-bad", cards_dir);
    snprintf(cmd, sizeof cmd,
             "'%s' card --ca '%s' --personas '%s' --persona expired --out '%s' --signing-time "
             "18:100115120000Z",
             pki_tool, pki_dir, getenv("HAWIYA_PERSONAS"), dir);
    assert_int_equal(system(cmd), 0);
    expect_card(dir, &opt, HV_ERR_CERT_EXPIRED, "no signingTime");
    snprintf(dir, sizeof dir, "%s/st-expired-generalized", cards_dir);
    snprintf(cmd, sizeof cmd,
             "'%s' card --ca '%s' --personas '%s' --persona expired --out '%s' --signing-time "
             "20100115120000Z",
             pki_tool, pki_dir, getenv("HAWIYA_PERSONAS"), dir);
    assert_int_equal(system(cmd), 0);
    expect_card(dir, &opt, HV_OK, NULL);
}

/*
 * The card's Active Authentication signature through hv_verify (the
 * libcrypto engine, ecdsa-plain r || s, BSI TR-03111): the card's own
 * (r, s) and (r, n - s) both verify (ICAO allows either: the card's
 * business, docs/assertion.md step 12), while r or s of 0, r or s equal to
 * the order n, r + n (the same point's x read past the order, where it
 * fits the plain field), and a signature a bit off are HV_ERR_AA_SIGNATURE.
 * Unattested, so that only the card's signature changes.
 */
static void aa_signature_edge_cases(void **state)
{
    (void)state;
    char *json = build(&(struct recipe){.unattested = true});
    struct hv_options opt = options();
    opt.allow_unattested = true;
    expect(json, &opt, HV_OK);
    cJSON *a = cJSON_Parse(json);
    const char *b64 = cJSON_GetObjectItemCaseSensitive(a, "aa_signature")->valuestring;
    uint8_t sig[132];
    size_t n;
    assert_int_equal(
        mbedtls_base64_decode(sig, sizeof sig, &n, (const unsigned char *)b64, strlen(b64)), 0);
    struct card c;
    card_load(&c, "default");
    const mbedtls_ecp_group *g = &mbedtls_pk_ec(c.aa_key)->grp;
    size_t half = n / 2;
    assert_int_equal(half, (g->nbits + 7) / 8);
    mbedtls_mpi r, sv, t;
    mbedtls_mpi_init(&r);
    mbedtls_mpi_init(&sv);
    mbedtls_mpi_init(&t);
    assert_int_equal(mbedtls_mpi_read_binary(&r, sig, half), 0);
    assert_int_equal(mbedtls_mpi_read_binary(&sv, sig + half, half), 0);
    enum { SAME, S_NEG, R_ZERO, S_ZERO, R_N, S_N, R_PLUS_N, FLIP };
    const struct {
        int what;
        enum hv_err want;
    } cases[] = {
        {SAME, HV_OK},
        {S_NEG, HV_OK}, /* n - s: high S where s was low, or the reverse */
        {R_ZERO, HV_ERR_AA_SIGNATURE},
        {S_ZERO, HV_ERR_AA_SIGNATURE},
        {R_N, HV_ERR_AA_SIGNATURE},
        {S_N, HV_ERR_AA_SIGNATURE},
        {R_PLUS_N, HV_ERR_AA_SIGNATURE},
        {FLIP, HV_ERR_AA_SIGNATURE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t out[132];
        memcpy(out, sig, n);
        switch (cases[i].what) {
        case SAME: break;
        case S_NEG:
            assert_int_equal(mbedtls_mpi_sub_mpi(&t, &g->N, &sv), 0);
            assert_int_equal(mbedtls_mpi_write_binary(&t, out + half, half), 0);
            break;
        case R_ZERO: memset(out, 0, half); break;
        case S_ZERO: memset(out + half, 0, half); break;
        case R_N: assert_int_equal(mbedtls_mpi_write_binary(&g->N, out, half), 0); break;
        case S_N: assert_int_equal(mbedtls_mpi_write_binary(&g->N, out + half, half), 0); break;
        case R_PLUS_N:
            assert_int_equal(mbedtls_mpi_add_mpi(&t, &r, &g->N), 0);
            if (mbedtls_mpi_bitlen(&t) > half * 8) /* does not fit: r + n is out anyway */
                continue;
            assert_int_equal(mbedtls_mpi_write_binary(&t, out, half), 0);
            break;
        case FLIP: out[half - 1] ^= 1; break;
        }
        char enc[256];
        size_t el;
        assert_int_equal(mbedtls_base64_encode((unsigned char *)enc, sizeof enc, &el, out, n), 0);
        enc[el] = '\0';
        char *bad = replace(json, b64, enc);
        struct hv_result res;
        enum hv_err e = verify_with(bad, &opt, &res);
        if (e != cases[i].want)
            fail_msg("case %zu: got %s (%s), want %s", i, hv_err_str(e), res.message,
                     hv_err_str(cases[i].want));
        hv_result_free(&res);
        free(bad);
    }
    mbedtls_mpi_free(&r);
    mbedtls_mpi_free(&sv);
    mbedtls_mpi_free(&t);
    card_free(&c);
    cJSON_Delete(a);
    free(json);
}

/*
 * The reader certificate in its one spelling. The reader's signature does
 * not cover it and its CA's covers the TBSCertificate only, so anyone on the
 * way could write the rest another way and the assertion still VERIFIED:
 * the outer SEQUENCE's length in a longer form (83 00 02 04 for 82 02 04,
 * which mbedTLS reads), the CA's ECDSA signature as (r, n - s), the BIT
 * STRING's length in a longer form. hawiya-pki now writes reader
 * certificates low-S and hv_verify takes only that spelling
 * (HV_ERR_READER_UNTRUSTED for the others).
 */
static void reader_certificate_one_spelling(void **state)
{
    (void)state;
    mbedtls_pk_context rca_key;
    load_key("private/reader-ca.key", &rca_key);
    uint8_t cert[2048];
    assert_true(reader_cert_len + 8 <= sizeof cert);
    assert_int_equal(reader_cert[0], 0x30);
    assert_int_equal(reader_cert[1], 0x82); /* a 520-byte certificate */
    enum { AS_IS, OUTER_LONGER, HIGH_S, BITS_LONGER };
    const struct {
        int what;
        enum hv_err want;
    } cases[] = {
        {AS_IS, HV_OK},
        {OUTER_LONGER, HV_ERR_READER_UNTRUSTED},
        {HIGH_S, HV_ERR_READER_UNTRUSTED},
        {BITS_LONGER, HV_ERR_READER_UNTRUSTED},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = reader_cert_len;
        memcpy(cert, reader_cert, n);
        if (cases[i].what == OUTER_LONGER) {
            memmove(cert + 5, reader_cert + 4, n - 4);
            cert[1] = 0x83;
            cert[2] = 0x00;
            cert[3] = reader_cert[2];
            cert[4] = reader_cert[3];
            n++;
        } else if (cases[i].what == HIGH_S) {
            n = cert_set_s(cert, n, sizeof cert, &rca_key, true);
            assert_memory_not_equal(cert, reader_cert, 64 < n ? 64 : n);
        } else if (cases[i].what == BITS_LONGER) {
            /* the BIT STRING 03 LL 00 sig written 03 81 LL 00 sig, the outer length one more */
            unsigned char *q = cert + 4, *end = cert + n;
            size_t l;
            const int seq = MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE;
            assert_int_equal(mbedtls_asn1_get_tag(&q, end, &l, seq), 0);
            q += l;
            assert_int_equal(mbedtls_asn1_get_tag(&q, end, &l, seq), 0);
            q += l;
            size_t bit_at = (size_t)(q - cert);
            assert_int_equal(reader_cert[bit_at], 0x03);
            assert_true(reader_cert[bit_at + 1] < 0x80);
            memcpy(cert, reader_cert, bit_at);
            cert[bit_at] = 0x03;
            cert[bit_at + 1] = 0x81;
            memcpy(cert + bit_at + 2, reader_cert + bit_at + 1, n - bit_at - 1);
            n++;
            size_t body = (size_t)(cert[2] << 8 | cert[3]) + 1;
            cert[2] = (uint8_t)(body >> 8);
            cert[3] = (uint8_t)body;
        }
        char *json = build(&(struct recipe){.cert = cert, .cert_len = n});
        struct hv_options opt = options();
        struct hv_result res;
        enum hv_err e = verify_with(json, &opt, &res);
        if (e != cases[i].want)
            fail_msg("case %zu: got %s (%s), want %s", i, hv_err_str(e), res.message,
                     hv_err_str(cases[i].want));
        hv_result_free(&res);
        free(json);
    }
    mbedtls_pk_free(&rca_key);
}

/* hawiya-verify.h: "a struct hv_trust may be shared by concurrent hv_verify()
 * calls once loaded". Four threads verify a good and a forged assertion
 * against one trust, 12 times each; every verdict must be the right one
 * (the ECDSA engine and mbedTLS's contexts share nothing writable). */
struct verify_job {
    const char *good, *forged;
    int wrong;
};

static void *verify_thread(void *arg)
{
    struct verify_job *j = arg;
    struct hv_options opt = options();
    for (int i = 0; i < 12; i++) {
        struct hv_result res;
        if (hv_verify(j->good, strlen(j->good), &opt, &res) != HV_OK)
            j->wrong++;
        hv_result_free(&res);
        if (hv_verify(j->forged, strlen(j->forged), &opt, &res) != HV_ERR_SOD_SIGNATURE)
            j->wrong++;
        hv_result_free(&res);
    }
    return NULL;
}

/*
 * The counter is written as the integer it is at every size it can take,
 * up to 2^53 - 1 (the reader stops there: ATTEST_COUNTER_MAX), and read back
 * exactly. cJSON's number printing gave 9.00719925474099e+15 for 2^53 - 1.
 */
static void counter_at_every_size(void **state)
{
    (void)state;
    static const uint64_t counters[] = {1,
                                        9,
                                        10,
                                        255,
                                        65536,
                                        4294967295,
                                        4294967296,
                                        999999999999999,
                                        1000000000000000,
                                        4503599627370496,
                                        9007199254740990,
                                        9007199254740991};
    for (size_t i = 0; i < sizeof counters / sizeof counters[0]; i++) {
        struct recipe rc = {.counter = counters[i]};
        char *json = build(&rc);
        char want[48];
        snprintf(want, sizeof want, "\"counter\":%llu,", (unsigned long long)counters[i]);
        if (!strstr(json, want))
            fail_msg("%s not in the assertion", want);
        struct hv_options opt = options();
        struct hv_result res;
        assert_int_equal(verify_with(json, &opt, &res), HV_OK);
        assert_true(res.counter == counters[i]);
        hv_result_free(&res);
        free(json);
    }
}

static void shared_trust_across_threads(void **state)
{
    char *good = build(&(struct recipe){0});
    char *forged = build(&(struct recipe){.tamper = flip_sod_signature});
    pthread_t t[4];
    struct verify_job jobs[4];
    for (int i = 0; i < 4; i++) {
        jobs[i] = (struct verify_job){good, forged, 0};
        assert_int_equal(pthread_create(&t[i], NULL, verify_thread, &jobs[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(jobs[i].wrong, 0);
    }
    free(good);
    free(forged);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(good_assertion),
        cmocka_unit_test(good_other_personas),
        cmocka_unit_test(reader_signature_openssl),
        cmocka_unit_test(forged_sod),
        cmocka_unit_test(altered_dg1),
        cmocka_unit_test(altered_identity),
        cmocka_unit_test(wrong_origin),
        cmocka_unit_test(replayed_challenge),
        cmocka_unit_test(aa_from_another_card),
        cmocka_unit_test(bad_aa_key_persona),
        cmocka_unit_test(aa_challenge_altered),
        cmocka_unit_test(untrusted_reader),
        cmocka_unit_test(expired_certificates),
        cmocka_unit_test(reader_signed_other_counter),
        cmocka_unit_test(wrong_dg_hash_persona),
        cmocka_unit_test(untrusted_document_signer),
        cmocka_unit_test(format_errors),
        cmocka_unit_test(identity_specimens),
        cmocka_unit_test(sod_signed_by_openssl),
        cmocka_unit_test(dg1_check_digit),
        cmocka_unit_test(sod_and_aa_details),
        cmocka_unit_test(helpers),
        cmocka_unit_test(shared_trust_across_threads),
        cmocka_unit_test(unattested_assertion),
        cmocka_unit_test(reader_block_shapes),
        cmocka_unit_test(high_s_reader_signature),
        cmocka_unit_test(boundary_shifted_challenge_origin),
        cmocka_unit_test(non_canonical_json),
        cmocka_unit_test(sod_signers_that_are_not_document_signers),
        cmocka_unit_test(revoked_document_signer),
        cmocka_unit_test(document_policy),
        cmocka_unit_test(csca_store_refuses_other_roles),
        cmocka_unit_test(reader_certificate_profile),
        cmocka_unit_test(revoked_reader),
        cmocka_unit_test(document_signer_given_apart),
        cmocka_unit_test(special_issuing_states),
        cmocka_unit_test(csca_master_list),
        cmocka_unit_test(bad_master_lists),
        cmocka_unit_test(master_list_signer_is_not_a_document_signer),
        cmocka_unit_test(certificates_that_are_not_sound),
        cmocka_unit_test(revocation_rules),
        cmocka_unit_test(trust_files_hold_only_their_role),
        cmocka_unit_test(names_compared_as_rfc5280_says),
        cmocka_unit_test(masterlist_signer_revoked_in_any_order),
        cmocka_unit_test(stale_crls_are_not_current),
        cmocka_unit_test(masterlist_signer_crl_stale),
        cmocka_unit_test(masterlist_signer_country),
        cmocka_unit_test(ds_private_key_usage_period),
        cmocka_unit_test(signing_time_forms),
        cmocka_unit_test(aa_signature_edge_cases),
        cmocka_unit_test(counter_at_every_size),
        cmocka_unit_test(reader_certificate_one_spelling),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/sha256.h>
#include <mbedtls/x509_crl.h>
#include <mbedtls/x509_crt.h>

#include "hawiya/cardaccess.h"
#include "hawiya/mrz.h"
#include "hawiya/sod.h"
#include "hawiya/tlv.h"
#include "persona.h"
#include "pki.h"

static struct persona_holder holder(const char *type, const char *state, const char *number,
                                    const char *surname, const char *given, const char *birth,
                                    char sex, const char *expiry, const char *opt)
{
    struct persona_holder h;
    memset(&h, 0, sizeof h);
    strcpy(h.document_type, type);
    strcpy(h.issuing_state, state);
    strcpy(h.nationality, state);
    strcpy(h.document_number, number);
    strcpy(h.surname, surname);
    strcpy(h.given_names, given);
    strcpy(h.birth_date, birth);
    h.sex = sex;
    strcpy(h.expiry_date, expiry);
    strcpy(h.optional_data, opt);
    return h;
}

/* ICAO 9303-5 Appendix A: the Utopian TD1 specimen (Anna Maria Eriksson). */
static void mrz_td1_9303_5_specimen(void **state)
{
    struct persona_holder h =
        holder("I", "UTO", "D23145890", "ERIKSSON", "ANNA<MARIA", "740812", 'F', "120415", "");
    struct pki_mrz m;
    assert_int_equal(pki_make_mrz(&h, &m), PKI_OK);
    assert_int_equal(m.n_lines, 3);
    assert_string_equal(m.line[0], "I<UTOD231458907<<<<<<<<<<<<<<<");
    assert_string_equal(m.line[1], "7408122F1204159UTO<<<<<<<<<<<6");
    assert_string_equal(m.line[2], "ERIKSSON<<ANNA<MARIA<<<<<<<<<<");
}

/* ICAO 9303-4 Appendix A: the Utopian TD3 passport specimen, personal number ZE184226B. */
static void mrz_td3_9303_4_specimen(void **state)
{
    struct persona_holder h = holder("P", "UTO", "L898902C3", "ERIKSSON", "ANNA<MARIA", "740812",
                                     'F', "120415", "ZE184226B");
    struct pki_mrz m;
    assert_int_equal(pki_make_mrz(&h, &m), PKI_OK);
    assert_int_equal(m.n_lines, 2);
    assert_string_equal(m.line[0], "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<");
    assert_string_equal(m.line[1], "L898902C36UTO7408122F1204159ZE184226B<<<<<10");
}

/*
 * The Swedish ID card specimen in the MIT-licensed "mrz" Python package's
 * checker examples (id_card_swe.py): optional data on line 1, composite 8.
 */
static void mrz_td1_swedish_specimen(void **state)
{
    struct persona_holder h =
        holder("I", "SWE", "59000002", "SPECIMEN", "SVEN", "870314", 'M', "170102", "198703142391");
    struct pki_mrz m;
    assert_int_equal(pki_make_mrz(&h, &m), PKI_OK);
    assert_string_equal(m.line[0], "I<SWE59000002<8198703142391<<<");
    assert_string_equal(m.line[1], "8703145M1701027SWE<<<<<<<<<<<8");
    assert_string_equal(m.line[2], "SPECIMEN<<SVEN<<<<<<<<<<<<<<<<");
}

/* 9303-5 note j: a 12-character number continues in the optional data; mrz_parse reads it back. */
static void mrz_td1_long_document_number(void **state)
{
    struct persona_holder h =
        holder("ID", "UTO", "D23145890734", "STEVENSON", "PETER<JOHN", "340712", 'M', "950712", "");
    struct pki_mrz m;
    assert_int_equal(pki_make_mrz(&h, &m), PKI_OK);
    assert_memory_equal(m.line[0], "IDUTOD23145890<7349<<<<<<<<<<<", 30);
    const char *lines[3] = {m.line[0], m.line[1], m.line[2]};
    struct mrz p;
    assert_int_equal(mrz_parse(lines, 3, &p), MRZ_OK);
    assert_int_equal(p.cd_fail, 0);
    assert_string_equal(p.document_number, "D23145890734");
}

static void mrz_fields_that_do_not_fit(void **state)
{
    struct pki_mrz m;
    /* TD3 has no long-number rule. */
    struct persona_holder h =
        holder("P", "UTO", "L898902C3XX", "A", "B", "740812", 'F', "120415", "");
    assert_int_equal(pki_make_mrz(&h, &m), PKI_ERR_RANGE);
    /* TD3 personal number: 14 characters at most. */
    h = holder("P", "UTO", "L898902C3", "A", "B", "740812", 'F', "120415", "123456789012345");
    assert_int_equal(pki_make_mrz(&h, &m), PKI_ERR_RANGE);
    /* TD1 with a long number leaves 11 characters of optional data. */
    h = holder("ID", "UTO", "D23145890734", "A", "B", "740812", 'F', "120415", "123456789012");
    assert_int_equal(pki_make_mrz(&h, &m), PKI_ERR_RANGE);
    assert_int_equal(m.n_lines, 0);
}

static void dg1_wraps_the_mrz(void **state)
{
    struct persona_holder h =
        holder("I", "UTO", "D23145890", "ERIKSSON", "ANNA<MARIA", "740812", 'F', "120415", "");
    struct pki_buf b = {0};
    assert_int_equal(pki_make_dg1(&h, &b), PKI_OK);
    /* 9303-10 §4.7.1: 61 5D 5F1F 5A, then the 90 MRZ characters. */
    assert_int_equal(b.len, 4 + 1 + 90);
    const uint8_t head[] = {0x61, 0x5D, 0x5F, 0x1F, 0x5A};
    assert_memory_equal(b.p, head, sizeof head);
    assert_memory_equal(b.p + 5, "I<UTOD231458907", 15);
    pki_buf_free(&b);
}

/*
 * 9303-11 Appendix G.1's EF.CardAccess is one PACEInfo (ECDH-GM-AES-128,
 * version 2, brainpoolP256r1 = 13); ours adds P-256 (12), and DER orders the
 * SET OF elements by their encoding (X.690 §11.6), so 12 comes first.
 */
static void cardaccess_bytes(void **state)
{
    static const uint8_t g1_entry[] = {0x30, 0x12, 0x06, 0x0A, 0x04, 0x00, 0x7F, 0x00, 0x07, 0x02,
                                       0x02, 0x04, 0x02, 0x02, 0x02, 0x01, 0x02, 0x02, 0x01, 0x0D};
    struct pki_buf b = {0};
    assert_int_equal(pki_make_cardaccess(&b), PKI_OK);
    assert_int_equal(b.len, 2 + 2 * sizeof g1_entry);
    assert_int_equal(b.p[0], 0x31);
    assert_int_equal(b.p[1], 0x28);
    assert_memory_equal(b.p + 2, g1_entry, sizeof g1_entry - 1);
    assert_int_equal(b.p[2 + sizeof g1_entry - 1], 0x0C);
    assert_memory_equal(b.p + 2 + sizeof g1_entry, g1_entry, sizeof g1_entry);

    struct security_infos si;
    assert_int_equal(cardaccess_parse(b.p, b.len, &si), CARDACCESS_OK);
    assert_int_equal(si.n_pace, 2);
    assert_int_equal(si.pace[0].parameter_id, PACE_PARAM_SECP256R1);
    assert_int_equal(si.pace[1].parameter_id, PACE_PARAM_BP256R1);
    assert_int_equal(si.pace[1].version, 2);
    assert_true(pace_info_supported(&si.pace[0]));
    assert_true(pace_info_supported(&si.pace[1]));
    pki_buf_free(&b);
}

/* OIDs as RFC 5758 §3.2, 9303-10 §4.6.2 and 9303-11 §9.2.1 print their encodings. */
static void oid_encodings(void **state)
{
    struct pki_buf b = {0};
    static const uint8_t ecdsa_sha256[] = {0x06, 0x08, 0x2A, 0x86, 0x48,
                                           0xCE, 0x3D, 0x04, 0x03, 0x02};
    static const uint8_t lds_so[] = {0x06, 0x06, 0x67, 0x81, 0x08, 0x01, 0x01, 0x01};
    static const uint8_t pace[] = {0x06, 0x0A, 0x04, 0x00, 0x7F, 0x00,
                                   0x07, 0x02, 0x02, 0x04, 0x02, 0x02};
    assert_int_equal(pki_der_oid(&b, "1.2.840.10045.4.3.2"), PKI_OK);
    assert_int_equal(pki_der_oid(&b, "2.23.136.1.1.1"), PKI_OK);
    assert_int_equal(pki_der_oid(&b, "0.4.0.127.0.7.2.2.4.2.2"), PKI_OK);
    assert_int_equal(b.len, sizeof ecdsa_sha256 + sizeof lds_so + sizeof pace);
    assert_memory_equal(b.p, ecdsa_sha256, sizeof ecdsa_sha256);
    assert_memory_equal(b.p + sizeof ecdsa_sha256, lds_so, sizeof lds_so);
    assert_memory_equal(b.p + sizeof ecdsa_sha256 + sizeof lds_so, pace, sizeof pace);
    size_t before = b.len;
    assert_int_equal(pki_der_oid(&b, "3.1"), PKI_ERR_RANGE);
    assert_int_equal(pki_der_oid(&b, "1.40"), PKI_ERR_RANGE);
    assert_int_equal(pki_der_oid(&b, "1..2"), PKI_ERR_RANGE);
    /* found by fuzz_pki: a trailing '.' was accepted */
    assert_int_equal(pki_der_oid(&b, "1.2.840."), PKI_ERR_RANGE);
    assert_int_equal(pki_der_oid(&b, "1.2.99999999999"), PKI_ERR_RANGE);
    assert_int_equal(b.len, before);
    pki_buf_free(&b);
}

static void err_names(void **state)
{
    assert_string_equal(pki_err_str(PKI_OK), "PKI_OK");
    assert_string_equal(pki_err_str(PKI_ERR_NO_DS), "PKI_ERR_NO_DS");
    assert_string_equal(pki_err_str(PKI_ERR_SECINFO_CHECK), "PKI_ERR_SECINFO_CHECK");
    assert_string_equal(pki_country_alpha2("MAR"), "MA");
    assert_string_equal(pki_country_alpha2("DZA"), "DZ");
    assert_null(pki_country_alpha2("XXX"));
}

/* --- whole cards from the test personas ------------------------------------ */

static char tmp_root[64];

static int make_tmp(void **state)
{
    strcpy(tmp_root, "/tmp/test_pki_XXXXXX");
    return mkdtemp(tmp_root) == NULL ? -1 : 0;
}

static int remove_tmp(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_root);
    return system(cmd) == 0 ? 0 : -1;
}

static struct persona *load(const char *id)
{
    char path[512];
    const char *dir = getenv("HAWIYA_TEST_DATA");
    snprintf(path, sizeof path, "%s/personas.json", dir ? dir : "tests/data");
    struct persona *p = malloc(sizeof *p);
    assert_non_null(p);
    assert_int_equal(persona_load_file(path, id, p, NULL), PERSONA_OK);
    return p;
}

static size_t read_all(const char *dir, const char *name, uint8_t *buf, size_t cap)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    assert_true(n < cap);
    return n;
}

static bool contains(const uint8_t *hay, size_t n, const uint8_t *needle, size_t k)
{
    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(hay + i, needle, k) == 0)
            return true;
    return false;
}

static void make_card(const char *id, char *out, size_t cap)
{
    char ca[128];
    snprintf(ca, sizeof ca, "%s/ca", tmp_root);
    snprintf(out, cap, "%s/cards/%s", tmp_root, id);
    struct persona *p = load(id);
    assert_int_equal(pki_card(ca, p, out, NULL), PKI_OK);
    persona_clear(p);
    free(p);
}

static void init_ca(void **state)
{
    char ca[128], ca2[128];
    static const char states[2][4] = {"MAR", "DZA"};
    snprintf(ca, sizeof ca, "%s/ca", tmp_root);
    snprintf(ca2, sizeof ca2, "%s/ca2", tmp_root);
    assert_int_equal(pki_init(ca, 5, states, 2), PKI_OK);
    assert_int_equal(pki_init(ca2, 5, states, 1), PKI_OK);
    /* Each key comes from (seed, its label): the same CSCA whatever else was made. */
    static uint8_t a[4096], b[4096];
    strcat(ca, "/csca");
    strcat(ca2, "/csca");
    size_t na = read_all(ca, "csca-MAR.der", a, sizeof a);
    size_t nb = read_all(ca2, "csca-MAR.der", b, sizeof b);
    ca[strlen(ca) - 5] = '\0';
    ca2[strlen(ca2) - 5] = '\0';
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na);
    static const char bad[1][4] = {"XXX"};
    assert_int_equal(pki_init(ca2, 5, bad, 1), PKI_ERR_USAGE);
}

static void card_default(void **state)
{
    char dir[256];
    static uint8_t dg1[256], dg11[256], dg14[512], dg15[256], sod[4096], ca[512];
    make_card("default", dir, sizeof dir);

    size_t n = read_all(dir, "dg1.bin", dg1, sizeof dg1);
    assert_int_equal(n, 95);
    char lines[3][31] = {{0}};
    for (int i = 0; i < 3; i++)
        memcpy(lines[i], dg1 + 5 + 30 * i, 30);
    const char *l[3] = {lines[0], lines[1], lines[2]};
    struct mrz m;
    assert_int_equal(mrz_parse(l, 3, &m), MRZ_OK);
    assert_int_equal(m.cd_fail, 0);
    assert_string_equal(m.document_number, "AB1234567");
    assert_string_equal(m.primary_identifier, "BENALI");
    assert_string_equal(m.expiry_date, "310514");
    assert_string_equal(lines[0], "IDMARAB12345671BE123456<<<<<<<");

    /* DG11: 5F0E is the UTF-8 name, 5F2B the full date of birth. */
    n = read_all(dir, "dg11.bin", dg11, sizeof dg11);
    struct tlv top, t;
    assert_int_equal(tlv_parse(dg11, n, TLV_STRICT, &top), TLV_OK);
    assert_int_equal(top.tag, 0x6B);
    assert_int_equal(top.hdr_len + top.len, n);
    assert_int_equal(tlv_find(top.value, top.len, 0x5F0E, &t), TLV_OK);
    const char *name = "بن علي<<محمد أمين";
    assert_int_equal(t.len, strlen(name));
    assert_memory_equal(t.value, name, t.len);
    assert_int_equal(tlv_find(top.value, top.len, 0x5F2B, &t), TLV_OK);
    assert_int_equal(t.len, 8);
    assert_memory_equal(t.value, "19900115", 8);

    /* DG14: CA (ECDH, AES-128) with its key, AA with ecdsa-plain-SHA256. */
    n = read_all(dir, "dg14.bin", dg14, sizeof dg14);
    struct security_infos si;
    assert_int_equal(cardaccess_parse_dg14(dg14, n, &si), CARDACCESS_OK);
    assert_int_equal(si.n_ca, 1);
    assert_int_equal(si.ca[0].ka, PACE_KA_ECDH);
    assert_int_equal(si.ca[0].version, 1);
    assert_int_equal(si.n_ca_pk, 1);
    assert_true(si.has_aa);
    /* DG14 repeats EF.CardAccess's PACEInfos, so Passive Authentication covers them. */
    assert_int_equal(si.n_pace, 2);
    static const uint8_t plain_sha256[] = {0x04, 0x00, 0x7F, 0x00, 0x07,
                                           0x01, 0x01, 0x04, 0x01, 0x03};
    assert_int_equal(si.aa.signature_algorithm_len, sizeof plain_sha256);
    assert_memory_equal(si.aa.signature_algorithm, plain_sha256, sizeof plain_sha256);

    /* The CA public key in DG14 is the one of ca_key.der. */
    size_t nk = read_all(dir, "ca_key.der", ca, sizeof ca);
    mbedtls_pk_context pk;
    mbedtls_pk_init(&pk);
    assert_int_equal(mbedtls_pk_parse_key(&pk, ca, nk, NULL, 0), 0);
    uint8_t spki[256];
    int sl = mbedtls_pk_write_pubkey_der(&pk, spki, sizeof spki);
    assert_true(sl > 0);
    assert_int_equal(si.ca_pk[0].spki_len, (size_t)sl);
    assert_memory_equal(si.ca_pk[0].spki, spki + sizeof spki - (size_t)sl, (size_t)sl);
    mbedtls_pk_free(&pk);

    /* DG15 is 6F around an EC SubjectPublicKeyInfo. */
    n = read_all(dir, "dg15.bin", dg15, sizeof dg15);
    assert_int_equal(dg15[0], 0x6F);
    mbedtls_pk_init(&pk);
    assert_int_equal(mbedtls_pk_parse_public_key(&pk, dg15 + 2, n - 2), 0);
    assert_int_equal(mbedtls_pk_get_type(&pk), MBEDTLS_PK_ECKEY);
    mbedtls_pk_free(&pk);

    /* EF.SOD carries the SHA-256 of DG1 (the openssl test checks the rest). */
    size_t ns = read_all(dir, "sod.bin", sod, sizeof sod);
    assert_int_equal(sod[0], 0x77);
    uint8_t h[32];
    mbedtls_sha256_ret(dg1, 95, h, 0);
    assert_true(contains(sod, ns, h, 32));
}

static void card_wrong_dg_hash(void **state)
{
    char dir[256];
    static uint8_t dg1[256], sod[4096];
    make_card("wrong-dg-hash", dir, sizeof dir);
    size_t n = read_all(dir, "dg1.bin", dg1, sizeof dg1);
    size_t ns = read_all(dir, "sod.bin", sod, sizeof sod);
    uint8_t h[32];
    mbedtls_sha256_ret(dg1, n, h, 0);
    assert_false(contains(sod, ns, h, 32));
    h[31] ^= 0x01;
    assert_true(contains(sod, ns, h, 32));
}

static void card_bac_only_has_no_cardaccess(void **state)
{
    char dir[256], path[300];
    /* Into a directory that already holds a PACE card's files. */
    make_card("default", dir, sizeof dir);
    char ca[128];
    snprintf(ca, sizeof ca, "%s/ca", tmp_root);
    struct persona *p = load("bac-only");
    assert_int_equal(pki_card(ca, p, dir, NULL), PKI_OK);
    persona_clear(p);
    free(p);
    snprintf(path, sizeof path, "%s/cardaccess.bin", dir);
    FILE *f = fopen(path, "rb");
    assert_null(f);
    static uint8_t dg14[512];
    size_t n = read_all(dir, "dg14.bin", dg14, sizeof dg14);
    struct security_infos si;
    assert_int_equal(cardaccess_parse_dg14(dg14, n, &si), CARDACCESS_OK);
    assert_int_equal(si.n_pace, 0);
    assert_int_equal(si.n_ca, 1);
}

static void card_errors(void **state)
{
    char out[256];
    struct persona *p = load("default");
    snprintf(out, sizeof out, "%s/nowhere", tmp_root);
    assert_int_equal(pki_card("/nonexistent/ca", p, out, NULL), PKI_ERR_CA_DIR);
    /* ca2 has MAR only: no Document Signer for Algeria. */
    char ca2[128];
    snprintf(ca2, sizeof ca2, "%s/ca2", tmp_root);
    persona_clear(p);
    free(p);
    p = load("algeria");
    assert_int_equal(pki_card(ca2, p, out, NULL), PKI_ERR_NO_DS);
    persona_clear(p);
    free(p);
}

static void reader_errors(void **state)
{
    char ca[128], out[160];
    snprintf(ca, sizeof ca, "%s/ca", tmp_root);
    snprintf(out, sizeof out, "%s/reader.der", tmp_root);
    assert_int_equal(pki_reader(ca, "/nonexistent.pem", "HWR-1", out), PKI_ERR_BAD_KEY);
    assert_int_equal(pki_reader(ca, "/nonexistent.pem", "", out), PKI_ERR_USAGE);
    assert_int_equal(pki_reader(ca, "/nonexistent.pem", "a,CN=b", out), PKI_ERR_USAGE);
    /* A brainpool key is not a reader device key (P-256). */
    char key[160];
    snprintf(key, sizeof key, "%s/ca/private/csca-MAR.key", tmp_root);
    assert_int_equal(pki_reader(ca, key, "HWR-1", out), PKI_ERR_BAD_KEY);
    /* The reader CA's key is P-256: its public half gets a certificate. */
    static uint8_t der[512];
    char keys[160];
    snprintf(keys, sizeof keys, "%s/ca/private", tmp_root);
    size_t n = read_all(keys, "reader-ca.key", der, sizeof der);
    mbedtls_pk_context pk;
    mbedtls_pk_init(&pk);
    assert_int_equal(mbedtls_pk_parse_key(&pk, der, n, NULL, 0), 0);
    int sl = mbedtls_pk_write_pubkey_der(&pk, der, sizeof der);
    assert_true(sl > 0);
    mbedtls_pk_free(&pk);
    snprintf(key, sizeof key, "%s/reader-pub.der", tmp_root);
    FILE *f = fopen(key, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(der + sizeof der - (size_t)sl, 1, (size_t)sl, f), (size_t)sl);
    fclose(f);
    assert_int_equal(pki_reader(ca, key, "HWR-1", out), PKI_OK);
}

/* A certificate file of the PKI, parsed. */
static void load_cert(const char *sub, const char *name, mbedtls_x509_crt *c)
{
    char dir[160];
    static uint8_t der[4096];
    snprintf(dir, sizeof dir, "%s/ca/%s", tmp_root, sub);
    size_t n = read_all(dir, name, der, sizeof der);
    mbedtls_x509_crt_init(c);
    assert_int_equal(mbedtls_x509_crt_parse_der(c, der, n), 0);
}

static bool policy_is_readers(const mbedtls_x509_crt *c)
{
    static const uint8_t oid[] = PKI_READER_CA_POLICY;
    for (const mbedtls_x509_sequence *q = &c->certificate_policies; q && q->buf.p; q = q->next)
        if (q->buf.len == sizeof oid && !memcmp(q->buf.p, oid, sizeof oid))
            return true;
    return false;
}

/* Each role's certificate has its profile, and the bad ones break exactly one rule. */
static void profiles(void **state)
{
    mbedtls_x509_crt c;
    load_cert("reader-ca", "reader-ca.der", &c);
    assert_true(c.ca_istrue);
    assert_true(policy_is_readers(&c));
    mbedtls_x509_crt_free(&c);
    load_cert("csca", "csca-MAR.der", &c);
    assert_true(c.ca_istrue);
    assert_false(policy_is_readers(&c));
    assert_int_equal(c.key_usage, MBEDTLS_X509_KU_KEY_CERT_SIGN | MBEDTLS_X509_KU_CRL_SIGN);
    mbedtls_x509_crt_free(&c);
    load_cert("ds", "ds-MAR.der", &c);
    assert_false(c.ca_istrue);
    assert_int_equal(c.key_usage, MBEDTLS_X509_KU_DIGITAL_SIGNATURE);
    mbedtls_x509_crt_free(&c);
    /* 9303-12 Master List Signer: digitalSignature, extKeyUsage 2.23.136.1.1.3. */
    load_cert("masterlist", "ml-signer.der", &c);
    assert_int_equal(c.key_usage, MBEDTLS_X509_KU_DIGITAL_SIGNATURE);
    assert_int_equal(mbedtls_x509_crt_check_extended_key_usage(&c, "\x67\x81\x08\x01\x01\x03", 6),
                     0);
    assert_true(c.ext_types & MBEDTLS_X509_EXT_EXTENDED_KEY_USAGE);
    mbedtls_x509_crt_free(&c);
    load_cert("bad", "ds-MAR-ca.der", &c);
    assert_true(c.ca_istrue);
    mbedtls_x509_crt_free(&c);
    load_cert("bad", "ds-MAR-keycertsign.der", &c);
    assert_int_equal(c.key_usage, MBEDTLS_X509_KU_KEY_CERT_SIGN);
    mbedtls_x509_crt_free(&c);
    load_cert("bad", "ds-MAR-no-keyusage.der", &c);
    assert_false(c.ext_types & MBEDTLS_X509_EXT_KEY_USAGE);
    mbedtls_x509_crt_free(&c);
    load_cert("bad", "ds-MAR-no-country.der", &c);
    for (const mbedtls_x509_name *a = &c.subject; a; a = a->next)
        assert_true(MBEDTLS_OID_CMP(MBEDTLS_OID_AT_COUNTRY, &a->oid) != 0);
    mbedtls_x509_crt_free(&c);
    load_cert("bad", "ds-MAR-reader-ca.der", &c);
    mbedtls_x509_crt r;
    load_cert("reader-ca", "reader-ca.der", &r);
    assert_int_equal(c.issuer_raw.len, r.subject_raw.len);
    assert_memory_equal(c.issuer_raw.p, r.subject_raw.p, r.subject_raw.len);
    mbedtls_x509_crt_free(&r);
    mbedtls_x509_crt_free(&c);
}

/* The CSCA's CRL names its revoked DS (and no other); `crl` revokes any given certificate. */
static void crls(void **state)
{
    char dir[160], path[200], out[200];
    static uint8_t der[4096];
    snprintf(dir, sizeof dir, "%s/ca/crl", tmp_root);
    size_t n = read_all(dir, "csca-MAR.crl", der, sizeof der);
    mbedtls_x509_crl crl;
    mbedtls_x509_crl_init(&crl);
    assert_int_equal(mbedtls_x509_crl_parse_der(&crl, der, n), 0);
    assert_int_equal(crl.version, 2);
    mbedtls_x509_crt ds;
    load_cert("ds", "ds-MAR-revoked.der", &ds);
    assert_int_equal(crl.entry.serial.len, ds.serial.len);
    assert_memory_equal(crl.entry.serial.p, ds.serial.p, ds.serial.len);
    assert_null(crl.entry.next);
    assert_int_equal(crl.issuer_raw.len, ds.issuer_raw.len);
    mbedtls_x509_crt_free(&ds);
    mbedtls_x509_crl_free(&crl);
    /* The reader CA's starts empty. */
    n = read_all(dir, "reader-ca.crl", der, sizeof der);
    mbedtls_x509_crl_init(&crl);
    assert_int_equal(mbedtls_x509_crl_parse_der(&crl, der, n), 0);
    assert_int_equal(crl.entry.serial.len, 0);
    mbedtls_x509_crl_free(&crl);
    /* `hawiya-pki crl`: revoke the current DS, as PEM. */
    char ca[128];
    snprintf(ca, sizeof ca, "%s/ca", tmp_root);
    snprintf(path, sizeof path, "%s/ca/ds/ds-MAR.pem", tmp_root);
    snprintf(out, sizeof out, "%s/more.crl", tmp_root);
    const char *revoke[] = {path};
    assert_int_equal(pki_crl(ca, "csca-MAR", revoke, 1, NULL, NULL, out), PKI_OK);
    assert_int_equal(pki_crl(ca, "csca-XYZ", revoke, 1, NULL, NULL, out), PKI_ERR_CA_DIR);
    assert_int_equal(pki_crl(ca, "../csca-MAR", revoke, 1, NULL, NULL, out), PKI_ERR_USAGE);
    assert_int_equal(pki_crl(ca, "reader-ca", NULL, 0, NULL, NULL, out), PKI_OK);
}

/* The master list is a SignedData of id-icao-cscaMasterList over every CSCA. */
static void masterlist(void **state)
{
    char dir[160];
    static uint8_t der[8192];
    snprintf(dir, sizeof dir, "%s/ca/masterlist", tmp_root);
    size_t n = read_all(dir, "csca-masterlist.ml", der, sizeof der);
    struct sod ml;
    assert_int_equal(
        sod_parse_cms(der, n, sod_oid_csca_master_list, sizeof sod_oid_csca_master_list, &ml),
        SOD_OK);
    assert_int_equal(ml.n_certs, 1); /* the signer's */
    mbedtls_x509_crt signer;
    load_cert("masterlist", "ml-signer.der", &signer);
    assert_int_equal(ml.cert_len[0], signer.raw.len);
    assert_true(sod_is_signer(&ml, &signer));
    assert_int_equal(sod_check_signed(&ml, &signer, NULL), SOD_OK);
    mbedtls_x509_crt_free(&signer);
    /* SEQUENCE { INTEGER 0, SET { both CSCAs } } */
    mbedtls_x509_crt mar, dza;
    load_cert("csca", "csca-MAR.der", &mar);
    load_cert("csca", "csca-DZA.der", &dza);
    assert_true(contains(ml.econtent, ml.econtent_len, mar.raw.p, mar.raw.len));
    assert_true(contains(ml.econtent, ml.econtent_len, dza.raw.p, dza.raw.len));
    static const uint8_t head[] = {0x30, 0x82}, version0[] = {0x02, 0x01, 0x00, 0x31, 0x82};
    assert_memory_equal(ml.econtent, head, 2);
    assert_memory_equal(ml.econtent + 4, version0, sizeof version0);
    mbedtls_x509_crt_free(&mar);
    mbedtls_x509_crt_free(&dza);
    /* Another signer, other certificates. */
    char ca[128], cert[200], key[200], out[200];
    snprintf(ca, sizeof ca, "%s/ca", tmp_root);
    snprintf(cert, sizeof cert, "%s/ca/ds/ds-MAR.der", tmp_root);
    snprintf(key, sizeof key, "%s/ca/private/ds-MAR.key", tmp_root);
    snprintf(out, sizeof out, "%s/other.ml", tmp_root);
    const char *certs[] = {cert};
    assert_int_equal(pki_masterlist(ca, certs, 1, cert, key, out), PKI_OK);
    assert_int_equal(pki_masterlist(ca, NULL, 0, cert, NULL, out), PKI_ERR_USAGE);
}

/* `card --ds-cert --ds-key --signing-time`: the SOD of another signer, at another time. */
static void card_other_signer(void **state)
{
    char ca[128], out[200], cert[200], key[200];
    snprintf(ca, sizeof ca, "%s/ca", tmp_root);
    snprintf(out, sizeof out, "%s/cards/other-signer", tmp_root);
    snprintf(cert, sizeof cert, "%s/ca/ds/ds-DZA.der", tmp_root);
    snprintf(key, sizeof key, "%s/ca/private/ds-DZA.key", tmp_root);
    struct persona *p = load("default");
    const struct pki_card_options opt = {cert, key, "300101000000Z"};
    assert_int_equal(pki_card(ca, p, out, &opt), PKI_OK);
    static uint8_t sod_der[4096];
    size_t n = read_all(out, "sod.bin", sod_der, sizeof sod_der);
    struct sod sod;
    assert_int_equal(sod_parse(sod_der, n, &sod), SOD_OK);
    mbedtls_x509_crt ds;
    load_cert("ds", "ds-DZA.der", &ds);
    assert_true(sod_is_signer(&sod, &ds));
    assert_int_equal(sod_check_signed(&sod, &ds, NULL), SOD_OK);
    assert_int_equal(sod.signing_time_len, 13);
    assert_memory_equal(sod.signing_time, "300101000000Z", 13);
    mbedtls_x509_crt_free(&ds);
    const struct pki_card_options half = {cert, NULL, NULL};
    assert_int_equal(pki_card(ca, p, out, &half), PKI_ERR_USAGE);
    const struct pki_card_options bad_time = {NULL, NULL, "2030"};
    assert_int_equal(pki_card(ca, p, out, &bad_time), PKI_ERR_USAGE);
    persona_clear(p);
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mrz_td1_9303_5_specimen),
        cmocka_unit_test(mrz_td3_9303_4_specimen),
        cmocka_unit_test(mrz_td1_swedish_specimen),
        cmocka_unit_test(mrz_td1_long_document_number),
        cmocka_unit_test(mrz_fields_that_do_not_fit),
        cmocka_unit_test(dg1_wraps_the_mrz),
        cmocka_unit_test(cardaccess_bytes),
        cmocka_unit_test(oid_encodings),
        cmocka_unit_test(err_names),
        cmocka_unit_test(init_ca),
        cmocka_unit_test(card_default),
        cmocka_unit_test(card_wrong_dg_hash),
        cmocka_unit_test(card_bac_only_has_no_cardaccess),
        cmocka_unit_test(card_errors),
        cmocka_unit_test(reader_errors),
        cmocka_unit_test(profiles),
        cmocka_unit_test(crls),
        cmocka_unit_test(masterlist),
        cmocka_unit_test(card_other_signer),
    };
    return cmocka_run_group_tests(tests, make_tmp, remove_tmp);
}

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mbedtls/asn1.h>
#include <mbedtls/asn1write.h>
#include <mbedtls/pk.h>

#include "hawiya/aa.h"
#include "hawiya/lds.h"
#include "lds_fixture.h"

/*
 * Fixtures from tests/data/lds/make.sh: an EC P-256 and an RSA-2048 Active
 * Authentication key (DG15), the challenge 01..08, an ECDSA signature by
 * `openssl dgst -sha256 -sign` (DER, converted to r || s here), and ISO/IEC
 * 9796-2 scheme 1 signatures built in the script (F = 6A || M1 || H || trailer)
 * and signed with `openssl rsautl -sign -raw`, some deliberately wrong.
 */

static struct fixture chal;

static int setup(void **state)
{
    fixture_load(&chal, "aa_challenge.bin");
    return 0;
}

static void load_key(const char *name, mbedtls_pk_context *pk)
{
    struct fixture f;
    struct lds_dg15 d;
    fixture_load(&f, name);
    mbedtls_pk_init(pk);
    assert_int_equal(lds_dg15_parse(f.b, f.n, &d, pk), LDS_OK);
}

/* ECDSA-Sig-Value (DER) -> r || s, each n bytes (BSI TR-03111 §5.2.1). */
static void der_to_plain(const uint8_t *der, size_t len, size_t n, uint8_t *out)
{
    unsigned char *p = (unsigned char *)der;
    const unsigned char *end = der + len;
    size_t l;
    mbedtls_mpi r, s;
    mbedtls_mpi_init(&r);
    mbedtls_mpi_init(&s);
    assert_int_equal(
        mbedtls_asn1_get_tag(&p, end, &l, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE), 0);
    assert_int_equal(mbedtls_asn1_get_mpi(&p, end, &r), 0);
    assert_int_equal(mbedtls_asn1_get_mpi(&p, end, &s), 0);
    assert_int_equal(mbedtls_mpi_write_binary(&r, out, n), 0);
    assert_int_equal(mbedtls_mpi_write_binary(&s, out + n, n), 0);
    mbedtls_mpi_free(&r);
    mbedtls_mpi_free(&s);
}

static void oids_and_lengths(void **state)
{
    enum aa_hash h;
    /* ecdsa-plain-SHA256 as DG14's ActiveAuthenticationInfo names it */
    const uint8_t sha256[] = {0x04, 0x00, 0x7F, 0x00, 0x07, 0x01, 0x01, 0x04, 0x01, 0x03};
    assert_int_equal(aa_hash_from_oid(sha256, sizeof sha256, &h), AA_OK);
    assert_int_equal(h, AA_HASH_SHA256);
    uint8_t o[sizeof sha256];
    memcpy(o, sha256, sizeof o);
    o[9] = 0x05;
    assert_int_equal(aa_hash_from_oid(o, sizeof o, &h), AA_OK);
    assert_int_equal(h, AA_HASH_SHA512);
    o[9] = 0x07;
    assert_int_equal(aa_hash_from_oid(o, sizeof o, &h), AA_ERR_UNKNOWN_ALGORITHM);
    o[9] = 0x03;
    o[8] = 0x02; /* 0.4.0.127.0.7.1.1.4.2: ecdsa-x962 family, not plain */
    assert_int_equal(aa_hash_from_oid(o, sizeof o, &h), AA_ERR_UNKNOWN_ALGORITHM);
    assert_int_equal(aa_hash_from_oid(sha256, 9, &h), AA_ERR_UNKNOWN_ALGORITHM);
    assert_int_equal(aa_hash_len(AA_HASH_SHA224), 28);
    assert_int_equal(aa_hash_len(AA_HASH_RIPEMD160), 20);

    mbedtls_pk_context ec, rsa;
    load_key("dg15.bin", &ec);
    load_key("dg15_rsa.bin", &rsa);
    assert_int_equal(aa_signature_len(&ec), 64);
    assert_int_equal(aa_signature_len(&rsa), 256);
    mbedtls_pk_free(&ec);
    mbedtls_pk_free(&rsa);
    assert_string_equal(aa_err_str(AA_ERR_TRAILER), "AA_ERR_TRAILER");
}

static void command(void **state)
{
    uint8_t out[32];
    size_t n;
    /* 9303-11 §6.1.1: 00 88 00 00 08 RND.IFD 00 */
    const uint8_t short_form[] = {0x00, 0x88, 0x00, 0x00, 0x08, 0x01, 0x02,
                                  0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x00};
    assert_int_equal(aa_build_command(chal.b, chal.n, 256, out, sizeof out, &n), AA_OK);
    assert_int_equal(n, sizeof short_form);
    assert_memory_equal(out, short_form, n);
    /* RSA-4096 answers 512 bytes: extended Lc and Le (7816-4 §5.1). */
    const uint8_t ext_form[] = {0x00, 0x88, 0x00, 0x00, 0x00, 0x00, 0x08, 0x01, 0x02,
                                0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x00, 0x00};
    assert_int_equal(aa_build_command(chal.b, chal.n, 512, out, sizeof out, &n), AA_OK);
    assert_int_equal(n, sizeof ext_form);
    assert_memory_equal(out, ext_form, n);
    assert_int_equal(aa_build_command(chal.b, chal.n, 64, out, 13, &n), AA_ERR_BUFFER);
    assert_int_equal(n, 0);
    assert_int_equal(aa_build_command(chal.b, 0, 64, out, sizeof out, &n), AA_ERR_BAD_ARGUMENT);
}

static void ecdsa_openssl_signature(void **state)
{
    struct fixture der;
    uint8_t sig[64];
    mbedtls_pk_context pk;
    load_key("dg15.bin", &pk);
    fixture_load(&der, "aa_ec_sig.der");
    der_to_plain(der.b, der.n, 32, sig);
    assert_int_equal(aa_verify(&pk, AA_HASH_SHA256, chal.b, chal.n, sig, 64, NULL), AA_OK);
    assert_int_equal(aa_verify(&pk, AA_HASH_SHA1, chal.b, chal.n, sig, 64, NULL), AA_ERR_SIGNATURE);
    const uint8_t other[8] = {1, 2, 3, 4, 5, 6, 7, 9};
    assert_int_equal(aa_verify(&pk, AA_HASH_SHA256, other, 8, sig, 64, NULL), AA_ERR_SIGNATURE);
    assert_int_equal(aa_verify(&pk, AA_HASH_SHA256, chal.b, chal.n, sig, 63, NULL),
                     AA_ERR_SIGNATURE_LENGTH);
    /* The DER form itself is not the plain format. */
    assert_int_equal(aa_verify(&pk, AA_HASH_SHA256, chal.b, chal.n, der.b, der.n, NULL),
                     AA_ERR_SIGNATURE_LENGTH);
    for (size_t i = 0; i < 64; i += 7) {
        sig[i] ^= 0x10;
        assert_int_equal(aa_verify(&pk, AA_HASH_SHA256, chal.b, chal.n, sig, 64, NULL),
                         AA_ERR_SIGNATURE);
        sig[i] ^= 0x10;
    }
    /* r = 0 and s = 0 are out of range. */
    memset(sig, 0, sizeof sig);
    assert_int_equal(aa_verify(&pk, AA_HASH_SHA256, chal.b, chal.n, sig, 64, NULL),
                     AA_ERR_SIGNATURE);
    mbedtls_pk_free(&pk);
}

static int counter_rng(void *ctx, unsigned char *out, size_t n)
{
    uint32_t *c = ctx;
    for (size_t i = 0; i < n; i++)
        out[i] = (uint8_t)((*c)++ * 167u + 13u);
    return 0;
}

/* openssl verifies our plain signature once converted back to DER. */
static int openssl_verifies(const uint8_t *sig, size_t n)
{
    char dir[] = "/tmp/hawiya-aa-XXXXXX";
    char cmd[1024], path[256];
    struct fixture dg15;
    uint8_t der[80];
    unsigned char *p = der + sizeof der;
    size_t len = 0;
    mbedtls_mpi r, s;

    if (system("openssl version >/dev/null 2>&1") != 0)
        return -1;
    assert_non_null(mkdtemp(dir));
    mbedtls_mpi_init(&r);
    mbedtls_mpi_init(&s);
    assert_int_equal(mbedtls_mpi_read_binary(&r, sig, n / 2), 0);
    assert_int_equal(mbedtls_mpi_read_binary(&s, sig + n / 2, n / 2), 0);
    len += (size_t)mbedtls_asn1_write_mpi(&p, der, &s);
    len += (size_t)mbedtls_asn1_write_mpi(&p, der, &r);
    len += (size_t)mbedtls_asn1_write_len(&p, der, len);
    len +=
        (size_t)mbedtls_asn1_write_tag(&p, der, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE);
    mbedtls_mpi_free(&r);
    mbedtls_mpi_free(&s);

    fixture_load(&dg15, "dg15.bin");
    const struct {
        const char *name;
        const uint8_t *b;
        size_t n;
    } files[] = {
        {"sig.der", p, len}, {"spki.der", dg15.b + 2, dg15.n - 2}, {"chal", chal.b, chal.n}};
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i].name);
        FILE *fp = fopen(path, "wb");
        assert_non_null(fp);
        assert_int_equal(fwrite(files[i].b, 1, files[i].n, fp), files[i].n);
        fclose(fp);
    }
    snprintf(cmd, sizeof cmd,
             "openssl dgst -sha256 -keyform DER -verify %s/spki.der -signature %s/sig.der "
             "%s/chal >/dev/null 2>&1",
             dir, dir, dir);
    int rc = system(cmd);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    return rc == 0 ? 1 : 0;
}

static void ecdsa_card_side(void **state)
{
    struct fixture keyfile;
    mbedtls_pk_context priv, pub;
    uint8_t sig[64];
    size_t n;
    uint32_t ctr = 1;

    fixture_load(&keyfile, "aa_ec_key.pem");
    keyfile.b[keyfile.n] = '\0';
    mbedtls_pk_init(&priv);
    assert_int_equal(mbedtls_pk_parse_key(&priv, keyfile.b, keyfile.n + 1, NULL, 0), 0);
    load_key("dg15.bin", &pub);
    assert_int_equal(aa_card_sign(mbedtls_pk_ec(priv), chal.b, chal.n, AA_HASH_SHA256, counter_rng,
                                  &ctr, sig, sizeof sig, &n),
                     AA_OK);
    assert_int_equal(n, 64);
    assert_int_equal(aa_verify(&pub, AA_HASH_SHA256, chal.b, chal.n, sig, n, NULL), AA_OK);
    int ok = openssl_verifies(sig, n);
    if (ok >= 0)
        assert_int_equal(ok, 1);
    sig[40] ^= 1;
    if (ok >= 0)
        assert_int_equal(openssl_verifies(sig, n), 0);
    assert_int_equal(aa_card_sign(mbedtls_pk_ec(priv), chal.b, chal.n, AA_HASH_SHA256, counter_rng,
                                  &ctr, sig, 63, &n),
                     AA_ERR_BUFFER);
    assert_int_equal(n, 0);
    /* SHA-384 over P-256: the hash is truncated to the order (TR-03111 §4.2.1.1). */
    assert_int_equal(aa_card_sign(mbedtls_pk_ec(priv), chal.b, chal.n, AA_HASH_SHA384, counter_rng,
                                  &ctr, sig, sizeof sig, &n),
                     AA_OK);
    assert_int_equal(aa_verify(&pub, AA_HASH_SHA384, chal.b, chal.n, sig, n, NULL), AA_OK);
    mbedtls_pk_free(&priv);
    mbedtls_pk_free(&pub);
}

static void rsa_9796_2(void **state)
{
    mbedtls_pk_context pk;
    struct fixture s;
    load_key("dg15_rsa.bin", &pk);
    static const struct {
        const char *file;
        enum aa_err want;
    } cases[] = {
        {"aa_rsa_sha1.bin", AA_OK},                 /* trailer BC */
        {"aa_rsa_sha256.bin", AA_OK},               /* trailer 34 CC */
        {"aa_rsa_sha512.bin", AA_OK},               /* trailer 35 CC */
        {"aa_rsa_bad_header.bin", AA_ERR_HEADER},   /* 4A: no partial recovery */
        {"aa_rsa_bad_trailer.bin", AA_ERR_TRAILER}, /* BD */
        {"aa_rsa_bad_hash.bin", AA_ERR_HASH},       /* M1 changed after hashing */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fixture_load(&s, cases[i].file);
        assert_int_equal(s.n, 256);
        assert_int_equal(aa_verify(&pk, AA_HASH_SHA256, chal.b, chal.n, s.b, s.n, NULL),
                         cases[i].want);
    }
    fixture_load(&s, "aa_rsa_sha256.bin");
    const uint8_t other[8] = {0};
    assert_int_equal(aa_verify(&pk, AA_HASH_SHA256, other, 8, s.b, s.n, NULL), AA_ERR_HASH);
    assert_int_equal(aa_verify(&pk, AA_HASH_SHA256, chal.b, chal.n, s.b, 255, NULL),
                     AA_ERR_SIGNATURE_LENGTH);
    s.b[100] ^= 1;
    assert_int_not_equal(aa_verify(&pk, AA_HASH_SHA256, chal.b, chal.n, s.b, s.n, NULL), AA_OK);
    /* s >= n is refused before any recovery. */
    memset(s.b, 0xFF, 256);
    assert_int_equal(aa_verify(&pk, AA_HASH_SHA256, chal.b, chal.n, s.b, s.n, NULL),
                     AA_ERR_SIGNATURE);
    assert_int_equal(aa_verify(NULL, AA_HASH_SHA256, chal.b, chal.n, s.b, s.n, NULL),
                     AA_ERR_BAD_ARGUMENT);
    mbedtls_pk_free(&pk);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(oids_and_lengths),
        cmocka_unit_test(command),
        cmocka_unit_test(ecdsa_openssl_signature),
        cmocka_unit_test(ecdsa_card_side),
        cmocka_unit_test(rsa_9796_2),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}

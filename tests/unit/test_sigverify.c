#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include <mbedtls/pk.h>

#include "ecdsa_libcrypto.h"
#include "hawiya/hex.h"
#include "hawiya/sigverify.h"

/*
 * Vectors:
 *  - P-256: NIST's worked example "ECDSA with P-256 and SHA-256" (CSRC,
 *    P256_SHA256.pdf, message "Example of ECDSA with P-256"): H, Q, R, S as
 *    published.
 *  - brainpoolP256r1: made with OpenSSL 3.0 (`openssl ecparam -genkey`,
 *    `openssl pkeyutl -sign` over SHA-256("Hawiya sigverify vector")) and
 *    checked with `openssl pkeyutl -verify`.
 * Each case runs on both engines, mbedTLS (NULL) and libcrypto, which must
 * give the same verdict: the verifier swaps one for the other for speed.
 */

struct bytes {
    uint8_t b[160];
    size_t n;
};

static struct bytes hx(const char *text)
{
    struct bytes r;
    assert_int_equal(hex_decode(text, strlen(text), r.b, sizeof r.b, &r.n), HEX_OK);
    return r;
}

#define NIST_H "A41A41A12A799548211C410C65D8133AFDE34D28BDD542E4B680CF2899C8A8C4"
#define NIST_Q                                                                                     \
    "04B7E08AFDFE94BAD3F1DC8C734798BA1C62B3A0AD1E9EA2A38201CD0889BC7A19"                           \
    "3603F747959DBF7A4BB226E41928729063ADC7AE43529E61B563BBC606CC5E09"
#define NIST_R  "2B42F576D07F4165FF65D1F3B1500F81E44C316F1F0B3EF57325B69ACA46104F"
#define NIST_S  "DC42C2122D6392CD3E3A993A89502A8198C1886FE69D262C4B329BDB6B63FAF1"
#define NIST_NS "23BD3DECD29C6D33C1C566C576AFD57E2425723DC07A7858A8872EE790FF2A60" /* n - S */
#define NIST_N  "FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551"
/* DER Ecdsa-Sig-Value: R as is (top bit clear), S with a leading 00 (top bit set). */
#define NIST_DER                                                                                   \
    "3045"                                                                                         \
    "0220" NIST_R "022100" NIST_S

#define BP_H "57366822666EC98C799DF191CD88B9102E173CDCE959CAF90A680EB7831291A1"
#define BP_Q                                                                                       \
    "040CB6F72F2C31D732E2CA012C98CC720D3FB091596AB43D86E3020E4A06D454ED"                           \
    "1A8E357B50C76F0DFF0DFF4B325759E090530F1BB4D48DB9B90AC6CC5E2E786A"
#define BP_R "83A45A4BD864B90739780DEAEF5064046A983725081B71B99A35555009BB7232"
#define BP_S "78A67570E9C066779E07A67B0251ADC2FD40C0916AD4CBCEC4C467473E16170A"
#define BP_DER                                                                                     \
    "3045"                                                                                         \
    "022100" BP_R "0220" BP_S

static const struct sigverify_engine *const engines[] = {NULL, &hvi_libcrypto_engine};
static const char *const engine_names[] = {"mbedTLS", "libcrypto"};

static void load_key(mbedtls_pk_context *pk, mbedtls_ecp_group_id id, const char *q_hex)
{
    struct bytes q = hx(q_hex);
    mbedtls_pk_init(pk);
    assert_int_equal(mbedtls_pk_setup(pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)), 0);
    mbedtls_ecp_keypair *ec = mbedtls_pk_ec(*pk);
    assert_int_equal(mbedtls_ecp_group_load(&ec->grp, id), 0);
    assert_int_equal(mbedtls_ecp_point_read_binary(&ec->grp, &ec->Q, q.b, q.n), 0);
}

/* The verdict of every engine for one DER signature. */
static void expect_der(mbedtls_ecp_group_id id, const char *q, const char *h, const char *sig,
                       int want)
{
    mbedtls_pk_context pk;
    struct bytes hb = hx(h), sb = hx(sig);
    load_key(&pk, id, q);
    for (size_t i = 0; i < 2; i++) {
        int got = sigverify_pk(engines[i], MBEDTLS_PK_ECDSA, NULL, &pk, MBEDTLS_MD_SHA256, hb.b,
                               hb.n, sb.b, sb.n);
        if (got != want)
            fail_msg("%s: %d, want %d for %s", engine_names[i], got, want, sig);
    }
    mbedtls_pk_free(&pk);
}

static void test_nist_p256_example_verifies(void **state)
{
    expect_der(MBEDTLS_ECP_DP_SECP256R1, NIST_Q, NIST_H, NIST_DER, 0);
    /* ECDSA does not fix the sign of s: (r, n - s) is the same signature. */
    expect_der(MBEDTLS_ECP_DP_SECP256R1, NIST_Q, NIST_H,
               "3044"
               "0220" NIST_R "0220" NIST_NS,
               0);
}

static void test_nist_p256_example_altered(void **state)
{
    /* The hash, r, s and the key one bit off each. */
    expect_der(MBEDTLS_ECP_DP_SECP256R1, NIST_Q,
               "A41A41A12A799548211C410C65D8133AFDE34D28BDD542E4B680CF2899C8A8C5", NIST_DER, -1);
    expect_der(MBEDTLS_ECP_DP_SECP256R1, NIST_Q, NIST_H,
               "3045"
               "0220"
               "2B42F576D07F4165FF65D1F3B1500F81E44C316F1F0B3EF57325B69ACA46104E"
               "022100" NIST_S,
               -1);
    expect_der(MBEDTLS_ECP_DP_SECP256R1, NIST_Q, NIST_H,
               "3045"
               "0220" NIST_R "022100"
               "DC42C2122D6392CD3E3A993A89502A8198C1886FE69D262C4B329BDB6B63FAF0",
               -1);
    /* A point of the curve, but not the signer's: the generator G. */
    expect_der(MBEDTLS_ECP_DP_SECP256R1,
               "046B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296"
               "4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5",
               NIST_H, NIST_DER, -1);
}

static void test_nist_p256_out_of_range_and_framing(void **state)
{
    /* r = 0, s = n (SEC 1 §4.1.4 step 1: both must lie in [1, n-1]). */
    expect_der(MBEDTLS_ECP_DP_SECP256R1, NIST_Q, NIST_H,
               "3026"
               "020100"
               "022100" NIST_S,
               -1);
    expect_der(MBEDTLS_ECP_DP_SECP256R1, NIST_Q, NIST_H,
               "3045"
               "0220" NIST_R "022100" NIST_N,
               -1);
    /* A byte after the SEQUENCE, a SEQUENCE cut short, an empty string. */
    expect_der(MBEDTLS_ECP_DP_SECP256R1, NIST_Q, NIST_H, NIST_DER "00", -1);
    expect_der(MBEDTLS_ECP_DP_SECP256R1, NIST_Q, NIST_H,
               "3045"
               "0220" NIST_R "022100"
               "DC42C2122D6392CD3E3A993A89502A8198C1886FE69D262C4B"
               "329BDB6B63FA",
               -1);
    expect_der(MBEDTLS_ECP_DP_SECP256R1, NIST_Q, NIST_H, "", -1);
}

static void test_brainpool_openssl_vector(void **state)
{
    expect_der(MBEDTLS_ECP_DP_BP256R1, BP_Q, BP_H, BP_DER, 0);
    expect_der(MBEDTLS_ECP_DP_BP256R1, BP_Q,
               "57366822666EC98C799DF191CD88B9102E173CDCE959CAF90A680EB7831291A0", BP_DER, -1);
    /* The same signature on the wrong curve. */
    expect_der(MBEDTLS_ECP_DP_SECP256R1, NIST_Q, BP_H, BP_DER, -1);
}

static void test_plain_format_both_engines(void **state)
{
    /* AA answers r || s (BSI TR-03111 §5.2.1); each engine must take it. */
    struct bytes h = hx(BP_H), rs = hx(BP_R BP_S);
    mbedtls_pk_context pk;
    load_key(&pk, MBEDTLS_ECP_DP_BP256R1, BP_Q);
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(sigverify_ecdsa_plain(engines[i], mbedtls_pk_ec(pk), h.b, h.n, rs.b, rs.n),
                         0);
        assert_int_equal(
            sigverify_ecdsa_plain(engines[i], mbedtls_pk_ec(pk), h.b, h.n, rs.b, rs.n - 1), -1);
        rs.b[40] ^= 0x01;
        assert_int_equal(sigverify_ecdsa_plain(engines[i], mbedtls_pk_ec(pk), h.b, h.n, rs.b, rs.n),
                         -1);
        rs.b[40] ^= 0x01;
    }
    mbedtls_pk_free(&pk);
}

static void test_ber_signature_refused_by_libcrypto(void **state)
{
    /* r with a superfluous leading 00 is BER, not DER (X.690 §8.3.2); the
     * verifier's engine refuses it (Wycheproof's "BER" cases). mbedTLS's
     * reader is more lenient, one more reason the verifier does not use it. */
    struct bytes h = hx(NIST_H), s = hx("3046"
                                        "022100" NIST_R "022100" NIST_S);
    mbedtls_pk_context pk;
    load_key(&pk, MBEDTLS_ECP_DP_SECP256R1, NIST_Q);
    assert_int_equal(sigverify_pk(&hvi_libcrypto_engine, MBEDTLS_PK_ECDSA, NULL, &pk,
                                  MBEDTLS_MD_SHA256, h.b, h.n, s.b, s.n),
                     -1);
    mbedtls_pk_free(&pk);
}

static void test_plain_to_der_exact(void **state)
{
    uint8_t out[SIGVERIFY_ECDSA_DER_MAX];
    size_t n;
    struct bytes rs = hx(NIST_R NIST_S), want = hx(NIST_DER);
    assert_int_equal(sigverify_plain_to_der(rs.b, 32, out, sizeof out, &n), 0);
    assert_int_equal(n, want.n);
    assert_memory_equal(out, want.b, n);

    /* Leading zero octets go (minimal INTEGERs); zero itself stays one octet. */
    static const uint8_t small[8] = {0x00, 0x00, 0x00, 0x7F, 0x00, 0x00, 0x00, 0x00};
    static const uint8_t small_der[] = {0x30, 0x06, 0x02, 0x01, 0x7F, 0x02, 0x01, 0x00};
    assert_int_equal(sigverify_plain_to_der(small, 4, out, sizeof out, &n), 0);
    assert_int_equal(n, sizeof small_der);
    assert_memory_equal(out, small_der, n);

    /* P-521 (66-byte r, s with the top bit set): over 127 octets, long-form length 81 8A. */
    uint8_t big[132];
    memset(big, 0xFF, sizeof big);
    assert_int_equal(sigverify_plain_to_der(big, 66, out, sizeof out, &n), 0);
    assert_int_equal(n, 3 + 2 * (3 + 66));
    assert_int_equal(out[0], 0x30);
    assert_int_equal(out[1], 0x81);
    assert_int_equal(out[2], 2 * (3 + 66));
    assert_int_equal(out[3], 0x02);
    assert_int_equal(out[4], 67);
    assert_int_equal(out[5], 0x00);

    assert_int_equal(sigverify_plain_to_der(big, 66, out, 140, &n), -1); /* cap */
    assert_int_equal(sigverify_plain_to_der(big, 0, out, sizeof out, &n), -1);
}

/* An engine that records its call and answers what it is told. */
struct recorder {
    int calls, answer;
    mbedtls_ecp_group_id group;
    uint8_t point[133], sig[160];
    size_t point_len, sig_len;
};

static int record(void *ctx, mbedtls_ecp_group_id group, const uint8_t *point, size_t point_len,
                  const uint8_t *hash, size_t hash_len, const uint8_t *sig, size_t sig_len)
{
    struct recorder *r = ctx;
    r->calls++;
    r->group = group;
    r->point_len = point_len;
    memcpy(r->point, point, point_len);
    r->sig_len = sig_len;
    memcpy(r->sig, sig, sig_len);
    return r->answer;
}

static void test_engine_sees_group_point_and_der(void **state)
{
    struct recorder rec = {0};
    const struct sigverify_engine eng = {record, &rec};
    struct bytes h = hx(NIST_H), der = hx(NIST_DER), q = hx(NIST_Q), rs = hx(NIST_R NIST_S);
    mbedtls_pk_context pk;
    load_key(&pk, MBEDTLS_ECP_DP_SECP256R1, NIST_Q);

    assert_int_equal(
        sigverify_pk(&eng, MBEDTLS_PK_ECDSA, NULL, &pk, MBEDTLS_MD_SHA256, h.b, h.n, der.b, der.n),
        0);
    assert_int_equal(rec.calls, 1);
    assert_int_equal(rec.group, MBEDTLS_ECP_DP_SECP256R1);
    assert_int_equal(rec.point_len, 65);
    assert_memory_equal(rec.point, q.b, 65);
    assert_int_equal(rec.sig_len, der.n);
    assert_memory_equal(rec.sig, der.b, der.n);

    /* The plain format reaches the engine as the same DER. */
    assert_int_equal(sigverify_ecdsa_plain(&eng, mbedtls_pk_ec(pk), h.b, h.n, rs.b, rs.n), 0);
    assert_int_equal(rec.calls, 2);
    assert_memory_equal(rec.sig, der.b, der.n);

    /* The engine's verdict is final, both ways. */
    rec.answer = 1;
    assert_int_equal(
        sigverify_pk(&eng, MBEDTLS_PK_ECDSA, NULL, &pk, MBEDTLS_MD_SHA256, h.b, h.n, der.b, der.n),
        -1);
    mbedtls_pk_free(&pk);

    /* An RSA verification never reaches an ECDSA engine. */
    mbedtls_pk_context rsa;
    mbedtls_pk_init(&rsa);
    assert_int_equal(mbedtls_pk_setup(&rsa, mbedtls_pk_info_from_type(MBEDTLS_PK_RSA)), 0);
    rec.calls = 0;
    assert_int_equal(
        sigverify_pk(&eng, MBEDTLS_PK_RSA, NULL, &rsa, MBEDTLS_MD_SHA256, h.b, h.n, der.b, der.n),
        -1);
    assert_int_equal(rec.calls, 0);
    mbedtls_pk_free(&rsa);
}

static void test_libcrypto_group_names(void **state)
{
    assert_string_equal(hvi_libcrypto_group(MBEDTLS_ECP_DP_SECP256R1), "prime256v1");
    assert_string_equal(hvi_libcrypto_group(MBEDTLS_ECP_DP_BP256R1), "brainpoolP256r1");
    assert_string_equal(hvi_libcrypto_group(MBEDTLS_ECP_DP_BP512R1), "brainpoolP512r1");
    assert_null(hvi_libcrypto_group(MBEDTLS_ECP_DP_CURVE25519));
    assert_null(hvi_libcrypto_group(MBEDTLS_ECP_DP_NONE));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nist_p256_example_verifies),
        cmocka_unit_test(test_nist_p256_example_altered),
        cmocka_unit_test(test_nist_p256_out_of_range_and_framing),
        cmocka_unit_test(test_brainpool_openssl_vector),
        cmocka_unit_test(test_plain_format_both_engines),
        cmocka_unit_test(test_ber_signature_refused_by_libcrypto),
        cmocka_unit_test(test_plain_to_der_exact),
        cmocka_unit_test(test_engine_sees_group_point_and_der),
        cmocka_unit_test(test_libcrypto_group_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

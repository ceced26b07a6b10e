/*
 * The Barrett reduction for brainpoolP256r1 (common/src/ecp_bp256.c) against
 * mbedTLS's own generic path and the published vectors: the curve of RFC
 * 5639 §3.4, the ECDH test vector of RFC 7027 Appendix A.1, and
 * mbedtls_mpi_mod_mpi on the edges (0, p - 1, p, 2p, 3p - 1, p^2, 2^512 - 1)
 * and 20 000 random products; scalar multiplications with the hook give
 * the points the generic group gives.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "hawiya/ecp_groups.h"
#include "hawiya/hex.h"

/* RFC 5639 §3.4, brainpoolP256r1. */
#define BP256_P  "A9FB57DBA1EEA9BC3E660A909D838D726E3BF623D52620282013481D1F6E5377"
#define BP256_A  "7D5A0975FC2C3057EEF67530417AFFE7FB8055C126DC5C6CE94A4B44F330B5D9"
#define BP256_B  "26DC5C6CE94A4B44F330B5D9BBD77CBF958416295CF7E1CE6BCCDC18FF8C07B6"
#define BP256_GX "8BD2AEB9CB7E57CB2C4B482FFC81B7AFB9DE27E1E3BD23C23A4453BD9ACE3262"
#define BP256_GY "547EF835C3DAC4FD97F8461A14611DC9C27745132DED8E545C1D54C72F046997"
#define BP256_N  "A9FB57DBA1EEA9BC3E660A909D838D718C397AA3B561A6F7901E0E82974856A7"

/* RFC 7027 Appendix A.1: ECDH on brainpoolP256r1. */
#define A1_DA  "81DB1EE100150FF2EA338D708271BE38300CB54241D79950F77B063039804F1D"
#define A1_QAX "44106E913F92BC02A1705D9953A8414DB95E1AAA49E81D9E85F929A8E3100BE5"
#define A1_QAY "8AB4846F11CACCB73CE49CBDD120F5A900A69FD32C272223F789EF10EB089BDC"
#define A1_DB  "55E40BC41E37E3E2AD25C3C6654511FFA8474A91A0032087593852D3E7D76BD3"
#define A1_QBX "8D2D688C6CF93E1160AD04CC4429117DC2C41825E1E9FCA0ADDD34E6F1B39F7B"
#define A1_QBY "990C57520812BE512641E47034832106BC7D3E8DD0E4C7F1136D7006547CEC6A"
#define A1_ZX  "89AFC39D41D3B327814B80940B042590F96556EC91E6AE7939BCE31F3A18BF2B"
#define A1_ZY  "49C27868F4ECA2179BFD7D59B1E3BF34C1DBDE61AE12931648F43E59632504DE"

static uint64_t rng_state = 0x5639;

static uint32_t rnd32(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 11);
}

static int rng(void *ctx, unsigned char *out, size_t len)
{
    (void)ctx;
    for (size_t i = 0; i < len; i++)
        out[i] = (unsigned char)rnd32();
    return 0;
}

static void mpi_hex(mbedtls_mpi *x, const char *h)
{
    uint8_t b[66];
    size_t n;
    assert_int_equal(hex_decode(h, strlen(h), b, sizeof b, &n), HEX_OK);
    assert_int_equal(mbedtls_mpi_read_binary(x, b, n), 0);
}

static void assert_mpi_hex(const mbedtls_mpi *x, const char *h)
{
    mbedtls_mpi want;
    mbedtls_mpi_init(&want);
    mpi_hex(&want, h);
    assert_int_equal(mbedtls_mpi_cmp_mpi(x, &want), 0);
    mbedtls_mpi_free(&want);
}

/* The group and its hook: the curve RFC 5639 gives, the hook set only there. */
static void curve_and_hook(void **state)
{
    (void)state;
    mbedtls_ecp_group g, p256;
    mbedtls_ecp_group_init(&g);
    mbedtls_ecp_group_init(&p256);
    assert_int_equal(ecp_group_load_fast(&g, MBEDTLS_ECP_DP_BP256R1), 0);
    assert_ptr_equal(g.modp, ecp_bp256_modp);
    assert_mpi_hex(&g.P, BP256_P);
    assert_mpi_hex(&g.A, BP256_A);
    assert_mpi_hex(&g.B, BP256_B);
    assert_mpi_hex(&g.G.X, BP256_GX);
    assert_mpi_hex(&g.G.Y, BP256_GY);
    assert_mpi_hex(&g.N, BP256_N);
    /* P-256 keeps mbedTLS's own NIST reduction. */
    assert_int_equal(ecp_group_load_fast(&p256, MBEDTLS_ECP_DP_SECP256R1), 0);
    assert_ptr_not_equal(p256.modp, ecp_bp256_modp);
    assert_non_null(p256.modp);
    mbedtls_ecp_group_free(&g);
    mbedtls_ecp_group_free(&p256);
}

/* x (16 words) reduced by the hook equals mbedtls_mpi_mod_mpi's x mod p. */
static void check_words(const uint32_t x[16], const mbedtls_mpi *p)
{
    uint8_t be[64];
    for (int i = 0; i < 16; i++)
        for (int k = 0; k < 4; k++)
            be[63 - 4 * i - k] = (uint8_t)(x[i] >> (8 * k));
    mbedtls_mpi a, want, got;
    mbedtls_mpi_init(&a);
    mbedtls_mpi_init(&want);
    mbedtls_mpi_init(&got);
    assert_int_equal(mbedtls_mpi_read_binary(&a, be, sizeof be), 0);
    assert_int_equal(mbedtls_mpi_mod_mpi(&want, &a, p), 0);
    uint32_t r[8];
    ecp_bp256_reduce_words(x, r);
    uint8_t rb[32];
    for (int i = 0; i < 8; i++)
        for (int k = 0; k < 4; k++)
            rb[31 - 4 * i - k] = (uint8_t)(r[i] >> (8 * k));
    assert_int_equal(mbedtls_mpi_read_binary(&got, rb, sizeof rb), 0);
    assert_int_equal(mbedtls_mpi_cmp_mpi(&got, &want), 0);
    /* The same through the hook, on an mpi of its own size and a larger one. */
    assert_int_equal(mbedtls_mpi_copy(&got, &a), 0);
    assert_int_equal(ecp_bp256_modp(&got), 0);
    assert_int_equal(mbedtls_mpi_cmp_mpi(&got, &want), 0);
    assert_int_equal(mbedtls_mpi_copy(&got, &a), 0);
    assert_int_equal(mbedtls_mpi_grow(&got, 40), 0);
    assert_int_equal(ecp_bp256_modp(&got), 0);
    assert_int_equal(mbedtls_mpi_cmp_mpi(&got, &want), 0);
    mbedtls_mpi_free(&a);
    mbedtls_mpi_free(&want);
    mbedtls_mpi_free(&got);
}

static void to_words(const mbedtls_mpi *v, uint32_t x[16])
{
    uint8_t be[64];
    assert_int_equal(mbedtls_mpi_write_binary(v, be, sizeof be), 0);
    for (int i = 0; i < 16; i++)
        x[i] = (uint32_t)be[63 - 4 * i] | (uint32_t)be[62 - 4 * i] << 8 |
               (uint32_t)be[61 - 4 * i] << 16 | (uint32_t)be[60 - 4 * i] << 24;
}

static void against_generic_division(void **state)
{
    (void)state;
    mbedtls_mpi p, v, t;
    mbedtls_mpi_init(&p);
    mbedtls_mpi_init(&v);
    mbedtls_mpi_init(&t);
    mpi_hex(&p, BP256_P);
    uint32_t x[16];
    /* mu = floor(2^512 / p): 9 words, top word 1, as the source has it. */
    assert_int_equal(mbedtls_mpi_lset(&v, 1), 0);
    assert_int_equal(mbedtls_mpi_shift_l(&v, 512), 0);
    assert_int_equal(mbedtls_mpi_div_mpi(&t, NULL, &v, &p), 0);
    assert_mpi_hex(&t, "01818C1131A1C55B7EBB73ABA8322A7BF29B4F54A0FF6A2FA9B62AE6301180DD0C");
    /* Edges: 0, 1, p - 1, p, p + 1, 2p, 3p - 1, 3p, (p - 1)^2, p^2, 2^256, 2^512 - 1. */
    static const int64_t small[] = {0, 1, -1, 0, 1};
    for (int k = 0; k < 5; k++) {
        assert_int_equal(mbedtls_mpi_lset(&v, 0), 0);
        if (k >= 2) {
            assert_int_equal(mbedtls_mpi_copy(&v, &p), 0);
            assert_int_equal(mbedtls_mpi_add_int(&v, &v, small[k]), 0);
        } else {
            assert_int_equal(mbedtls_mpi_lset(&v, small[k]), 0);
        }
        to_words(&v, x);
        check_words(x, &p);
    }
    for (int m = 2; m <= 3; m++) {
        assert_int_equal(mbedtls_mpi_mul_int(&v, &p, (mbedtls_mpi_uint)m), 0);
        to_words(&v, x);
        check_words(x, &p);
        assert_int_equal(mbedtls_mpi_sub_int(&v, &v, 1), 0);
        to_words(&v, x);
        check_words(x, &p);
    }
    assert_int_equal(mbedtls_mpi_sub_int(&t, &p, 1), 0);
    assert_int_equal(mbedtls_mpi_mul_mpi(&v, &t, &t), 0);
    to_words(&v, x);
    check_words(x, &p);
    assert_int_equal(mbedtls_mpi_mul_mpi(&v, &p, &p), 0);
    to_words(&v, x);
    check_words(x, &p);
    memset(x, 0, sizeof x);
    x[8] = 1;
    check_words(x, &p);
    memset(x, 0xFF, sizeof x);
    check_words(x, &p);
    /* Random values over the whole range, and products of two field elements. */
    for (int k = 0; k < 10000; k++) {
        for (int i = 0; i < 16; i++)
            x[i] = rnd32();
        if (k % 4 == 1)
            x[15] |= 0x80000000u;
        check_words(x, &p);
    }
    for (int k = 0; k < 10000; k++) {
        mbedtls_mpi a, b;
        mbedtls_mpi_init(&a);
        mbedtls_mpi_init(&b);
        assert_int_equal(mbedtls_mpi_fill_random(&a, 32, rng, NULL), 0);
        assert_int_equal(mbedtls_mpi_fill_random(&b, 32, rng, NULL), 0);
        assert_int_equal(mbedtls_mpi_mod_mpi(&a, &a, &p), 0);
        assert_int_equal(mbedtls_mpi_mod_mpi(&b, &b, &p), 0);
        assert_int_equal(mbedtls_mpi_mul_mpi(&v, &a, &b), 0);
        to_words(&v, x);
        check_words(x, &p);
        mbedtls_mpi_free(&a);
        mbedtls_mpi_free(&b);
    }
    mbedtls_mpi_free(&p);
    mbedtls_mpi_free(&v);
    mbedtls_mpi_free(&t);
}

static void point_hex(mbedtls_ecp_point *q, const char *x, const char *y)
{
    mpi_hex(&q->X, x);
    mpi_hex(&q->Y, y);
    assert_int_equal(mbedtls_mpi_lset(&q->Z, 1), 0);
}

static void assert_point(const mbedtls_ecp_point *q, const char *x, const char *y)
{
    assert_mpi_hex(&q->X, x);
    assert_mpi_hex(&q->Y, y);
}

/* RFC 7027 A.1 with the hook: both public keys and the shared secret. */
static void rfc7027_ecdh(void **state)
{
    (void)state;
    mbedtls_ecp_group g;
    mbedtls_ecp_point q, r;
    mbedtls_mpi d;
    mbedtls_ecp_group_init(&g);
    mbedtls_ecp_point_init(&q);
    mbedtls_ecp_point_init(&r);
    mbedtls_mpi_init(&d);
    assert_int_equal(ecp_group_load_fast(&g, MBEDTLS_ECP_DP_BP256R1), 0);
    assert_ptr_equal(g.modp, ecp_bp256_modp);
    /* Twice: the second k.G uses the comb table the first built. */
    for (int round = 0; round < 2; round++) {
        mpi_hex(&d, A1_DA);
        assert_int_equal(mbedtls_ecp_mul(&g, &r, &d, &g.G, rng, NULL), 0);
        assert_point(&r, A1_QAX, A1_QAY);
        mpi_hex(&d, A1_DB);
        assert_int_equal(mbedtls_ecp_mul(&g, &r, &d, &g.G, rng, NULL), 0);
        assert_point(&r, A1_QBX, A1_QBY);
    }
    mpi_hex(&d, A1_DA);
    point_hex(&q, A1_QBX, A1_QBY);
    assert_int_equal(mbedtls_ecp_check_pubkey(&g, &q), 0);
    assert_int_equal(mbedtls_ecp_mul(&g, &r, &d, &q, rng, NULL), 0);
    assert_point(&r, A1_ZX, A1_ZY);
    mpi_hex(&d, A1_DB);
    point_hex(&q, A1_QAX, A1_QAY);
    assert_int_equal(mbedtls_ecp_mul(&g, &r, &d, &q, rng, NULL), 0);
    assert_point(&r, A1_ZX, A1_ZY);
    mbedtls_mpi_free(&d);
    mbedtls_ecp_point_free(&q);
    mbedtls_ecp_point_free(&r);
    mbedtls_ecp_group_free(&g);
}

/* Random scalars on G and on other points: the same points as mbedTLS's
 * generic reduction gives. */
static void same_points_as_generic(void **state)
{
    (void)state;
    mbedtls_ecp_group fast, slow;
    mbedtls_ecp_point p, a, b;
    mbedtls_mpi k;
    mbedtls_ecp_group_init(&fast);
    mbedtls_ecp_group_init(&slow);
    mbedtls_ecp_point_init(&p);
    mbedtls_ecp_point_init(&a);
    mbedtls_ecp_point_init(&b);
    mbedtls_mpi_init(&k);
    assert_int_equal(ecp_group_load_fast(&fast, MBEDTLS_ECP_DP_BP256R1), 0);
    assert_int_equal(mbedtls_ecp_group_load(&slow, MBEDTLS_ECP_DP_BP256R1), 0);
    assert_null(slow.modp);
    assert_int_equal(mbedtls_ecp_copy(&p, &slow.G), 0);
    for (int i = 0; i < 12; i++) {
        assert_int_equal(mbedtls_ecp_gen_privkey(&slow, &k, rng, NULL), 0);
        assert_int_equal(mbedtls_ecp_mul(&fast, &a, &k, i % 2 ? &p : &fast.G, rng, NULL), 0);
        assert_int_equal(mbedtls_ecp_mul(&slow, &b, &k, i % 2 ? &p : &slow.G, rng, NULL), 0);
        assert_int_equal(mbedtls_ecp_point_cmp(&a, &b), 0);
        assert_int_equal(mbedtls_ecp_check_pubkey(&slow, &a), 0);
        assert_int_equal(mbedtls_ecp_copy(&p, &a), 0);
    }
    mbedtls_mpi_free(&k);
    mbedtls_ecp_point_free(&p);
    mbedtls_ecp_point_free(&a);
    mbedtls_ecp_point_free(&b);
    mbedtls_ecp_group_free(&fast);
    mbedtls_ecp_group_free(&slow);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(curve_and_hook),
        cmocka_unit_test(against_generic_division),
        cmocka_unit_test(rfc7027_ecdh),
        cmocka_unit_test(same_points_as_generic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

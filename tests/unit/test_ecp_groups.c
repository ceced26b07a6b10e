/*
 * hawiya/ecp_groups.h: curves kept loaded between sessions. Besides the
 * bookkeeping, this checks the mbedTLS behaviour the cache exists for (a
 * group keeps its table of multiples of G after multiplying G, 2.28's
 * MBEDTLS_ECP_FIXED_POINT_OPTIM) and that a kept group multiplies exactly as
 * a fresh one: SEC 2's generator of P-256 times 2, from the published
 * coordinates of 2G (NIST routine point doubling, also RFC 6979's key tests).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "hawiya/ecp_groups.h"
#include "hawiya/hex.h"

static int counter_rng(void *ctx, unsigned char *out, size_t n)
{
    unsigned *c = ctx;
    for (size_t i = 0; i < n; i++)
        out[i] = (unsigned char)(++*c * 131u);
    return 0;
}

static void keeps_and_finds(void **state)
{
    struct ecp_groups c;
    ecp_groups_init(&c);
    mbedtls_ecp_group *p256 = ecp_groups_get(&c, MBEDTLS_ECP_DP_SECP256R1);
    assert_non_null(p256);
    assert_int_equal(p256->id, MBEDTLS_ECP_DP_SECP256R1);
    assert_ptr_equal(ecp_groups_get(&c, MBEDTLS_ECP_DP_SECP256R1), p256);
    mbedtls_ecp_group *bp = ecp_groups_get(&c, MBEDTLS_ECP_DP_BP256R1);
    assert_non_null(bp);
    assert_ptr_not_equal(bp, p256);
    assert_int_equal(c.n, 2);
    /* Full: the caller loads its own. Unknown and NONE: NULL, nothing kept. */
    assert_non_null(ecp_groups_get(&c, MBEDTLS_ECP_DP_SECP384R1));
    assert_non_null(ecp_groups_get(&c, MBEDTLS_ECP_DP_BP384R1));
    assert_null(ecp_groups_get(&c, MBEDTLS_ECP_DP_SECP521R1));
    assert_null(ecp_groups_get(&c, MBEDTLS_ECP_DP_NONE));
    assert_null(ecp_groups_get(&c, (mbedtls_ecp_group_id)999));
    assert_null(ecp_groups_get(NULL, MBEDTLS_ECP_DP_SECP256R1));
    assert_int_equal(c.n, ECP_GROUPS_MAX);
    ecp_groups_free(&c);
    assert_int_equal(c.n, 0);
    ecp_groups_free(&c); /* twice is harmless */
}

static void kept_group_has_its_table_and_the_same_results(void **state)
{
    static const char two_g[] = "047CF27B188D034F7E8A52380304B51AC3C08969E277F21B35A60B48FC47669978"
                                "07775510DB8ED040293D9AC69F7430DBBA7DADE63CE982299E04B79D227873D1";
    uint8_t want[65], out[65];
    size_t n, olen;
    unsigned seed = 7;
    assert_int_equal(hex_decode(two_g, strlen(two_g), want, sizeof want, &n), HEX_OK);

    struct ecp_groups c;
    ecp_groups_init(&c);
    mbedtls_ecp_group *g = ecp_groups_get(&c, MBEDTLS_ECP_DP_SECP256R1);
    assert_non_null(g);
    assert_int_equal(g->T_size, 0);
    mbedtls_mpi two;
    mbedtls_ecp_point r;
    mbedtls_mpi_init(&two);
    mbedtls_ecp_point_init(&r);
    assert_int_equal(mbedtls_mpi_lset(&two, 2), 0);
    for (int i = 0; i < 2; i++) { /* first: builds the table; second: uses it */
        assert_int_equal(mbedtls_ecp_mul(g, &r, &two, &g->G, counter_rng, &seed), 0);
        assert_int_equal(mbedtls_ecp_point_write_binary(g, &r, MBEDTLS_ECP_PF_UNCOMPRESSED, &olen,
                                                        out, sizeof out),
                         0);
        assert_int_equal(olen, 65);
        assert_memory_equal(out, want, 65);
        assert_true(g->T_size > 0); /* kept for the next session */
    }
    assert_ptr_equal(ecp_groups_get(&c, MBEDTLS_ECP_DP_SECP256R1), g);
    mbedtls_mpi_free(&two);
    mbedtls_ecp_point_free(&r);
    ecp_groups_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(keeps_and_finds),
        cmocka_unit_test(kept_group_has_its_table_and_the_same_results),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

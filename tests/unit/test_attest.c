/*
 * The reader's attestation signature (firmware/src/attest.c) on the mock
 * board: every signature verifies with the device key and has s <= n/2
 * (docs/assertion.md: a high-S reader signature is refused, so the reader
 * must never send one). With a random k, s lands above n/2 half of the
 * time: 64 signatures without the normalisation fail this with probability
 * 1 - 2^-64.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "attest.h"
#include "mbedtls/asn1.h"
#include "mbedtls/ecdsa.h"
#include "mbedtls/sha256.h"
#include "mock_board.h"

static void signatures_are_low_s(void **state)
{
    struct attest a;
    mock_board_reset(7);
    assert_int_equal(attest_init(&a), ATTEST_OK);
    const mbedtls_ecp_keypair *ec = mbedtls_pk_ec(a.key);
    mbedtls_mpi half, r, s;
    mbedtls_mpi_init(&half);
    mbedtls_mpi_init(&r);
    mbedtls_mpi_init(&s);
    assert_int_equal(mbedtls_mpi_copy(&half, &ec->grp.N), 0);
    assert_int_equal(mbedtls_mpi_shift_r(&half, 1), 0);
    for (int i = 0; i < 64; i++) {
        uint8_t digest[32], sig[ATTEST_SIG_MAX];
        size_t n;
        mbedtls_sha256_ret((const uint8_t *)&i, sizeof i, digest, 0);
        assert_int_equal(attest_sign(&a, digest, sig, sizeof sig, &n), ATTEST_OK);
        assert_int_equal(mbedtls_pk_verify(&a.key, MBEDTLS_MD_SHA256, digest, 32, sig, n), 0);
        unsigned char *p = sig, *end = sig + n;
        size_t len;
        assert_int_equal(
            mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE),
            0);
        assert_int_equal(len, (size_t)(end - p));
        assert_int_equal(mbedtls_asn1_get_mpi(&p, end, &r), 0);
        assert_int_equal(mbedtls_asn1_get_mpi(&p, end, &s), 0);
        assert_ptr_equal(p, end);
        assert_true(mbedtls_mpi_cmp_int(&s, 0) > 0);
        assert_true(mbedtls_mpi_cmp_mpi(&s, &half) <= 0);
    }
    /* Too small a buffer is a named failure, not an overflow. */
    uint8_t digest[32] = {0}, small[16];
    size_t n;
    assert_int_equal(attest_sign(&a, digest, small, sizeof small, &n), ATTEST_ERR_SIGN);
    mbedtls_mpi_free(&half);
    mbedtls_mpi_free(&r);
    mbedtls_mpi_free(&s);
    mbedtls_pk_free(&a.key);
    mbedtls_ctr_drbg_free(&a.drbg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(signatures_are_low_s),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

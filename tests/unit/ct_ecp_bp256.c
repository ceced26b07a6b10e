/*
 * Constant time of the brainpoolP256r1 reduction (common/src/ecp_bp256.c),
 * the way ctgrind checks it: run under valgrind's memcheck with the value to
 * reduce marked undefined (VALGRIND_MAKE_MEM_UNDEFINED), so that any branch
 * taken on it, or any memory address computed from it, is reported as a use
 * of uninitialised data; CTest runs it with --error-exitcode=1. The result
 * is marked defined again before it is compared with the value reduced in
 * the open, so a wrong answer fails as well.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <valgrind/memcheck.h>

#include "hawiya/ecp_groups.h"

int main(void)
{
    uint64_t s = 0x7027;
    int bad = 0;
    for (int round = 0; round < 200; round++) {
        uint32_t x[16], secret[16], open_r[8], r[8];
        for (int i = 0; i < 16; i++) {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            x[i] = (uint32_t)(s >> 11);
        }
        if (round == 0)
            memset(x, 0, sizeof x);
        if (round == 1)
            memset(x, 0xFF, sizeof x);
        ecp_bp256_reduce_words(x, open_r);
        memcpy(secret, x, sizeof x);
        VALGRIND_MAKE_MEM_UNDEFINED(secret, sizeof secret);
        ecp_bp256_reduce_words(secret, r);
        VALGRIND_MAKE_MEM_DEFINED(r, sizeof r);
        bad |= memcmp(r, open_r, sizeof r) != 0;

        /* The same through the mbedTLS hook, on an mpi whose limbs are undefined. */
        mbedtls_mpi n;
        mbedtls_mpi_init(&n);
        uint8_t be[64];
        for (int i = 0; i < 16; i++)
            for (int k = 0; k < 4; k++)
                be[63 - 4 * i - k] = (uint8_t)(x[i] >> (8 * k));
        if (mbedtls_mpi_read_binary(&n, be, sizeof be) != 0 || mbedtls_mpi_grow(&n, 16) != 0)
            return 2;
        VALGRIND_MAKE_MEM_UNDEFINED(n.p, n.n * sizeof *n.p);
        if (ecp_bp256_modp(&n) != 0)
            return 2;
        VALGRIND_MAKE_MEM_DEFINED(n.p, n.n * sizeof *n.p);
        uint8_t out[32], want[32];
        for (int i = 0; i < 8; i++)
            for (int k = 0; k < 4; k++)
                want[31 - 4 * i - k] = (uint8_t)(open_r[i] >> (8 * k));
        bad |= mbedtls_mpi_write_binary(&n, out, sizeof out) != 0 || memcmp(out, want, 32) != 0;
        mbedtls_mpi_free(&n);
    }
    printf("ct_ecp_bp256: 400 reductions of secret values, %s\n",
           bad ? "WRONG RESULTS" : "results right");
    return bad;
}

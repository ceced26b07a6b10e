/*
 * Barrett reduction modulo the brainpoolP256r1 prime (RFC 5639 §3.4) for
 * mbedTLS 2.28's grp->modp hook: Menezes, van Oorschot, Vanstone, Handbook
 * of Applied Cryptography, Algorithm 14.42, with b = 2^32, k = 8 and
 * mu = floor(b^16 / p) (9 words). For x < b^16 it computes
 *   q3 = floor(floor(x / b^7) * mu / b^9),  r = x - q3 p (mod b^9),
 * then r < 3p (HAC Fact 14.43) and two conditional subtractions of p end
 * with 0 <= r < p. Everything runs the same instructions and touches the
 * same memory whatever the value: no branch and no index depends on x (the
 * subtractions select with a mask); tests/unit/ct_ecp_bp256.c checks that
 * under valgrind with x marked undefined.
 */
#include <stdint.h>
#include <string.h>

#include "hawiya/ecp_groups.h"
#include "hawiya/wipe.h"

#define K 8u

/* p and mu, least significant word first. */
static const uint32_t P[K] = {0x1F6E5377, 0x2013481D, 0xD5262028, 0x6E3BF623,
                              0x9D838D72, 0x3E660A90, 0xA1EEA9BC, 0xA9FB57DB};
static const uint32_t MU[K + 1] = {0x1180DD0C, 0xB62AE630, 0xFF6A2FA9, 0x9B4F54A0, 0x322A7BF2,
                                   0xBB73ABA8, 0xA1C55B7E, 0x818C1131, 0x00000001};

#define WORDS_PER_LIMB (sizeof(mbedtls_mpi_uint) / sizeof(uint32_t))

/* The 32-bit word i of N (0 past its limbs). */
static uint32_t word(const mbedtls_mpi *n, size_t i)
{
    size_t limb = i / WORDS_PER_LIMB;
    if (limb >= n->n)
        return 0;
    return (uint32_t)(n->p[limb] >> (32 * (i % WORDS_PER_LIMB)));
}

/* r - p into t (9 words); the borrow out (1 when r < p). */
static uint32_t sub_p(const uint32_t r[K + 1], uint32_t t[K + 1])
{
    uint64_t borrow = 0;
    for (size_t i = 0; i <= K; i++) {
        uint64_t d = (uint64_t)r[i] - (i < K ? P[i] : 0) - borrow;
        t[i] = (uint32_t)d;
        borrow = (d >> 32) & 1u;
    }
    return (uint32_t)borrow;
}

void ecp_bp256_reduce_words(const uint32_t x[2 * K], uint32_t out[K])
{
    /* q2 = q1 * mu, where q1 = x >> 224 is x[7..15] (9 words). */
    uint32_t q2[2 * (K + 1)];
    memset(q2, 0, sizeof q2);
    for (size_t i = 0; i <= K; i++) {
        uint64_t carry = 0;
        for (size_t j = 0; j <= K; j++) {
            uint64_t t = (uint64_t)x[K - 1 + i] * MU[j] + q2[i + j] + carry;
            q2[i + j] = (uint32_t)t;
            carry = t >> 32;
        }
        q2[i + K + 1] = (uint32_t)carry;
    }
    /* q3 = q2 >> 288: q2[9..17]. r2 = q3 * p mod b^9. */
    const uint32_t *q3 = q2 + K + 1;
    uint32_t r2[K + 1];
    memset(r2, 0, sizeof r2);
    for (size_t i = 0; i <= K; i++) {
        uint64_t carry = 0;
        for (size_t j = 0; j < K && i + j <= K; j++) {
            uint64_t t = (uint64_t)q3[i] * P[j] + r2[i + j] + carry;
            r2[i + j] = (uint32_t)t;
            carry = t >> 32;
        }
        if (i + K <= K)
            r2[i + K] += (uint32_t)carry;
    }
    /* r = x mod b^9 - r2, mod b^9. */
    uint32_t r[K + 1], t[K + 1];
    uint64_t borrow = 0;
    for (size_t i = 0; i <= K; i++) {
        uint64_t d = (uint64_t)x[i] - r2[i] - borrow;
        r[i] = (uint32_t)d;
        borrow = (d >> 32) & 1u;
    }
    /* r < 3p: at most two subtractions, both always computed. */
    for (int round = 0; round < 2; round++) {
        uint32_t keep = 0u - sub_p(r, t); /* all ones when r < p: keep r */
        for (size_t i = 0; i <= K; i++)
            r[i] = (r[i] & keep) | (t[i] & ~keep);
    }
    memcpy(out, r, K * sizeof *out);
}

int ecp_bp256_modp(mbedtls_mpi *n)
{
    uint32_t x[2 * K], r[K];
    /* ecp_modp (ecp.c) hands over 0 <= N < 2^(2 pbits) = 2^512. */
    for (size_t i = 0; i < 2 * K; i++)
        x[i] = word(n, i);
    ecp_bp256_reduce_words(x, r);
    int ret = mbedtls_mpi_grow(n, K / WORDS_PER_LIMB);
    if (ret != 0)
        return ret;
    for (size_t limb = 0; limb < n->n; limb++) {
        mbedtls_mpi_uint v = 0;
        for (size_t w = 0; w < WORDS_PER_LIMB; w++) {
            size_t i = limb * WORDS_PER_LIMB + w;
            if (i < K)
                v |= (mbedtls_mpi_uint)r[i] << (32 * w);
        }
        n->p[limb] = v;
    }
    n->s = 1;
    wipe(x, sizeof x);
    wipe(r, sizeof r);
    return 0;
}

void ecp_fast_install(mbedtls_ecp_group *g)
{
    /* mbedTLS 2.28 has fast reduction for the NIST primes only; a loaded
     * brainpool group reduces by long division (mbedtls_mpi_mod_mpi). */
    if (g->id == MBEDTLS_ECP_DP_BP256R1 && g->modp == NULL)
        g->modp = ecp_bp256_modp;
}

int ecp_group_load_fast(mbedtls_ecp_group *g, mbedtls_ecp_group_id id)
{
    int ret = mbedtls_ecp_group_load(g, id);
    if (ret == 0)
        ecp_fast_install(g);
    return ret;
}

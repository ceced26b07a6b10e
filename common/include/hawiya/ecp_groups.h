/*
 * ecp_groups: elliptic-curve domain parameters kept loaded between card
 * sessions. mbedTLS's comb method (MBEDTLS_ECP_FIXED_POINT_OPTIM) builds a
 * table of multiples of the generator G the first time a loaded group
 * multiplies G, and keeps it in the group: a reader that loads the curve
 * afresh for every PACE (ICAO 9303-11 §4.4) or Chip Authentication (§6.2)
 * rebuilds that table every time. Kept here, each x·G of a session (PACE's
 * mapping key, s·G of the Generic Mapping, CA's ephemeral key) costs about
 * half: P-256 0.55 -> 0.25 ms, brainpoolP256r1 1.9 -> 0.76 ms on a desktop
 * core, in proportion on a microcontroller.
 *
 * The groups hold public constants only, and nothing writes into them but
 * mbedTLS's own table (PACE's mapped generator is a separate point). One
 * cache per thread: mbedTLS fills the table without a lock.
 */
#ifndef HAWIYA_ECP_GROUPS_H
#define HAWIYA_ECP_GROUPS_H

#include <stddef.h>
#include <stdint.h>

#include <mbedtls/ecp.h>

#define ECP_GROUPS_MAX 4 /* the reader's PACE curve, the cards' CA curves */

struct ecp_groups {
    mbedtls_ecp_group g[ECP_GROUPS_MAX];
    size_t n;
};

void ecp_groups_init(struct ecp_groups *c);

/*
 * The group `id`, loaded on first use and kept; NULL for an unknown curve,
 * or when ECP_GROUPS_MAX others are already kept (the caller then loads
 * its own).
 */
mbedtls_ecp_group *ecp_groups_get(struct ecp_groups *c, mbedtls_ecp_group_id id);

void ecp_groups_free(struct ecp_groups *c);

/*
 * Fast reduction where mbedTLS 2.28 has none. It reduces the field products
 * of brainpool curves by long division (mbedtls_mpi_mod_mpi), which makes a
 * brainpoolP256r1 scalar multiplication 7x a P-256 one on a Cortex-M4
 * (../shared/research/mcu-ecc-cortex-m4.md). ecp_fast_install() sets the
 * group's modp hook to a Barrett reduction for brainpoolP256r1 (the curve of
 * the national cards' Chip Authentication keys); other groups are left as
 * they are. ecp_group_load_fast() is mbedtls_ecp_group_load() with it, as
 * ecp_groups_get() and the other loads of common/ use it.
 */
void ecp_fast_install(mbedtls_ecp_group *g);
int ecp_group_load_fast(mbedtls_ecp_group *g, mbedtls_ecp_group_id id);
/* grp->modp for brainpoolP256r1: N (0 <= N < 2^512) becomes N mod p. */
int ecp_bp256_modp(mbedtls_mpi *n);
/* The same on 32-bit words, least significant first: x < 2^512, out = x mod p. */
void ecp_bp256_reduce_words(const uint32_t x[16], uint32_t out[8]);

#endif

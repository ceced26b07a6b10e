/*
 * The verifier's ECDSA engine (hawiya/sigverify.h) over OpenSSL's libcrypto,
 * which a platform server has anyway: one brainpoolP256r1 verification takes
 * ~0.3 ms there against ~4 ms in mbedTLS's generic-curve arithmetic, and
 * passive authentication, Active Authentication and the reader checks make
 * five of them per assertion. Each call builds its key from the named group
 * and point (libcrypto checks that the point is on the curve) and frees
 * everything before it returns, so concurrent hv_verify() calls share
 * nothing.
 */
#ifndef HAWIYA_VERIFY_ECDSA_LIBCRYPTO_H
#define HAWIYA_VERIFY_ECDSA_LIBCRYPTO_H

#include "hawiya/sigverify.h"

/* libcrypto's name of an mbedTLS group ("brainpoolP256r1"), NULL if it has none. */
const char *hvi_libcrypto_group(mbedtls_ecp_group_id group);

/* The engine: {hvi_ecdsa_libcrypto, NULL}. */
extern const struct sigverify_engine hvi_libcrypto_engine;

#endif

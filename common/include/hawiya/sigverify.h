/*
 * sigverify: the one place where passive authentication (ICAO Doc 9303-11
 * §5.1: the Document Signer's certificate, the SOD's CMS signature), Active
 * Authentication (§6.1, ECDSA in the plain format of BSI TR-03111 §5.2.1)
 * and the verifier's reader checks do public-key arithmetic.
 *
 * Parsing, name chaining, key usage and the choice of hash stay here and in
 * the callers, over mbedTLS. Only the ECDSA verification itself may be
 * handed to an engine: mbedTLS's generic-curve arithmetic takes ~4 ms for
 * one brainpoolP256r1 verification on a desktop core, a platform server's
 * libcrypto ~0.3 ms. A NULL engine (the firmware, the card, the tests of
 * common/) means mbedTLS. An engine sees the key as a named group and an
 * uncompressed point (SEC 1 §2.3.3) and the signature as a DER
 * Ecdsa-Sig-Value (RFC 3279 §2.2.3), so it never parses a certificate.
 */
#ifndef HAWIYA_SIGVERIFY_H
#define HAWIYA_SIGVERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mbedtls/ecp.h>
#include <mbedtls/md.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>

/* Largest DER Ecdsa-Sig-Value: P-521, two 67-byte INTEGERs, long-form length. */
#define SIGVERIFY_ECDSA_DER_MAX (3 + 2 * (2 + MBEDTLS_ECP_MAX_BYTES + 1))

struct sigverify_engine {
    /* 0 when sig_der is a valid signature of hash under point on group. */
    int (*ecdsa)(void *ctx, mbedtls_ecp_group_id group, const uint8_t *point, size_t point_len,
                 const uint8_t *hash, size_t hash_len, const uint8_t *sig_der, size_t sig_len);
    void *ctx;
};

/*
 * mbedtls_pk_verify_ext() with the ECDSA arithmetic on `e` when it has one:
 * type MBEDTLS_PK_ECDSA (or ECKEY) with an EC key goes to the engine, RSA
 * (PKCS #1 v1.5 and PSS with opts) stays on mbedTLS, where the small public
 * exponent makes it cheap. 0 when the signature verifies.
 */
int sigverify_pk(const struct sigverify_engine *e, mbedtls_pk_type_t type, const void *opts,
                 const mbedtls_pk_context *pk, mbedtls_md_type_t md, const uint8_t *hash,
                 size_t hash_len, const uint8_t *sig, size_t sig_len);

/*
 * ECDSA over hash with an EC key, the signature in the plain format r || s
 * (each as long as the group order, as AA returns it). 0 when it verifies.
 */
int sigverify_ecdsa_plain(const struct sigverify_engine *e, const mbedtls_ecp_keypair *key,
                          const uint8_t *hash, size_t hash_len, const uint8_t *sig, size_t sig_len);

/*
 * r || s (each n bytes) -> DER Ecdsa-Sig-Value: minimal INTEGERs, a leading
 * 00 where the top bit is set. 0 on success, -1 if cap is too small or n is 0.
 */
int sigverify_plain_to_der(const uint8_t *rs, size_t n, uint8_t *out, size_t cap, size_t *out_len);

/*
 * Did `ca` issue `c` (RFC 5280 §6.1.3 without the validity period, which the
 * caller judges at its own `now`)? c's issuer is ca's subject byte for byte,
 * ca is a CA (basicConstraints cA) whose keyUsage, when present, allows
 * keyCertSign, and ca's key verifies c's signature over its TBSCertificate.
 */
bool sigverify_issued_by(const struct sigverify_engine *e, const mbedtls_x509_crt *c,
                         const mbedtls_x509_crt *ca);

#endif

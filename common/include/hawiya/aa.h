/*
 * aa: Active Authentication, ICAO Doc 9303-11 §6.1. The reader sends
 * INTERNAL AUTHENTICATE (00 88 00 00) with an 8-byte challenge (§6.1.1);
 * the chip signs it with the private key whose public half is in DG15, and
 * the reader verifies the answer (§6.1.2):
 *
 *   - RSA: ISO/IEC 9796-2 digital signature scheme 1 with partial message
 *     recovery: F = s^e mod n = 6A || M1 || H(M1 || challenge) || trailer,
 *     trailer BC (SHA-1, implicit) or HH CC with HH the ISO/IEC 10118-3
 *     hash-function identifier (33 SHA-1, 38 SHA-224, 34 SHA-256,
 *     36 SHA-384, 35 SHA-512, 31 RIPEMD-160).
 *   - ECDSA: the plain format of BSI TR-03111 §5.2.1, r || s each as long
 *     as the group order, over H(challenge); H is named by the
 *     signatureAlgorithm of DG14's ActiveAuthenticationInfo (§9.2.4):
 *     ecdsa-plain-SHA1/224/256/384/512/RIPEMD160, 0.4.0.127.0.7.1.1.4.1.1-6.
 *
 * The card side (for the virtual card) signs ECDSA in the plain format.
 * Keys are mbedTLS contexts, e.g. from lds_dg15_parse().
 */
#ifndef HAWIYA_AA_H
#define HAWIYA_AA_H

#include <stddef.h>
#include <stdint.h>

#include <mbedtls/ecp.h>
#include <mbedtls/pk.h>

#include "hawiya/sigverify.h"

enum aa_err {
    AA_OK = 0,
    AA_ERR_BAD_ARGUMENT,      /* NULL pointer or a challenge of 0 or > 255 bytes */
    AA_ERR_BUFFER,            /* output buffer too small */
    AA_ERR_UNKNOWN_ALGORITHM, /* not an ecdsa-plain-* OID, or an unknown hash */
    AA_ERR_KEY,               /* neither an RSA nor an EC public key */
    AA_ERR_SIGNATURE_LENGTH,  /* the answer is not as long as the key says */
    AA_ERR_SIGNATURE,         /* ECDSA does not verify / s is not below n (RSA) */
    AA_ERR_HEADER,            /* RSA: F does not start with 6A */
    AA_ERR_TRAILER,           /* RSA: F ends in neither BC nor a known HH CC */
    AA_ERR_HASH,              /* RSA: the recovered hash is not H(M1 || challenge) */
    AA_ERR_BACKEND,           /* mbedTLS failed (signing: the RNG) */
};

const char *aa_err_str(enum aa_err e);

enum aa_hash {
    AA_HASH_SHA1,
    AA_HASH_SHA224,
    AA_HASH_SHA256,
    AA_HASH_SHA384,
    AA_HASH_SHA512,
    AA_HASH_RIPEMD160,
};

#define AA_CHALLENGE_LEN 8 /* §6.1: RND.IFD, 8 bytes */

/* The hash of an ecdsa-plain-* OID (content octets), BSI TR-03111 §5.2.1. */
enum aa_err aa_hash_from_oid(const uint8_t *oid, size_t len, enum aa_hash *h);

/* Output bytes of the hash, 0 if unknown. */
size_t aa_hash_len(enum aa_hash h);

/* Bytes the card's answer must have for this key (modulus / 2 x order), 0 if unsupported. */
size_t aa_signature_len(const mbedtls_pk_context *pk);

/*
 * INTERNAL AUTHENTICATE with the challenge as data: short Le 00 when the
 * expected answer fits in 256 bytes (00 88 00 00 08 <challenge> 00), else
 * extended length fields with Le 00 00.
 */
enum aa_err aa_build_command(const uint8_t *challenge, size_t challenge_len, size_t expected_len,
                             uint8_t *out, size_t cap, size_t *out_len);

/*
 * Verifies the card's answer `sig` to `challenge` with the DG15 key.
 * ecdsa_hash is used for EC keys only (RSA names its hash in the trailer).
 * eng does the ECDSA arithmetic (hawiya/sigverify.h; NULL: mbedTLS).
 */
enum aa_err aa_verify(const mbedtls_pk_context *pk, enum aa_hash ecdsa_hash,
                      const uint8_t *challenge, size_t challenge_len, const uint8_t *sig,
                      size_t sig_len, const struct sigverify_engine *eng);

/*
 * Card side: ECDSA over H(challenge) with the chip's private key, written as
 * r || s (2 x order length) to out. f_rng supplies the per-signature nonce.
 */
enum aa_err aa_card_sign(mbedtls_ecp_keypair *key, const uint8_t *challenge, size_t challenge_len,
                         enum aa_hash h, int (*f_rng)(void *, unsigned char *, size_t), void *p_rng,
                         uint8_t *out, size_t cap, size_t *out_len);

#endif

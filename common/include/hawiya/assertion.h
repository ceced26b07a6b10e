/*
 * assertion: what binds one authentication together, shared by the reader
 * firmware (which signs it), the bridge (which builds the JSON assertion,
 * docs/assertion.md) and the verifier (which checks it).
 *
 * 1. The Active Authentication challenge (ICAO 9303-11 §6.1 takes 8 bytes):
 *      aa_challenge = first 8 bytes of SHA-256(challenge || origin || DG1)
 *    so the card's signature is bound to the platform's challenge, to the
 *    origin that asked, and to the identity read.
 *
 * 2. The reader's attestation: ECDSA P-256 with SHA-256 over the
 *    to-be-signed bytes
 *      "hawiya-assertion/1" || 0x00 ||
 *      for each field below, in this order: tag (1 byte) || length (4 bytes,
 *      big-endian) || value
 *    Fields: 01 challenge, 02 origin (UTF-8), 03 EF.COM, 04 DG1, 05 DG11,
 *    06 DG14, 07 DG15, 08 EF.SOD, 09 EF.CardAccess, 0A aa_challenge,
 *    0B aa_signature, 0C counter (8 bytes, big-endian), 0D reader id
 *    (UTF-8). A field that was not read (DG11, EF.CardAccess of a BAC-only
 *    card) is present with length 0, so every field has one place.
 *    The signature is DER (X9.62 Ecdsa-Sig-Value), as X.509 tools expect.
 */
#ifndef HAWIYA_ASSERTION_H
#define HAWIYA_ASSERTION_H

#include <stddef.h>
#include <stdint.h>

#define ASSERTION_FORMAT        "hawiya-assertion/1"
#define ASSERTION_AA_CHALLENGE  8
#define ASSERTION_CHALLENGE_MIN 32
#define ASSERTION_CHALLENGE_MAX 64
#define ASSERTION_DIGEST_LEN    32

enum assertion_err {
    ASSERTION_OK = 0,
    ASSERTION_ERR_CHALLENGE, /* challenge not 32..64 bytes */
    ASSERTION_ERR_FIELD,     /* a required field is empty, or a length above 2^32-1 */
    ASSERTION_ERR_CRYPTO,    /* the hash failed (should not happen) */
};

const char *assertion_err_str(enum assertion_err e);

/* A byte string; len 0 means absent. */
struct assertion_bytes {
    const uint8_t *p;
    size_t len;
};

/* Field tags of the to-be-signed bytes. */
enum assertion_field {
    ASSERTION_CHALLENGE = 0x01,
    ASSERTION_ORIGIN = 0x02,
    ASSERTION_EF_COM = 0x03,
    ASSERTION_DG1 = 0x04,
    ASSERTION_DG11 = 0x05,
    ASSERTION_DG14 = 0x06,
    ASSERTION_DG15 = 0x07,
    ASSERTION_EF_SOD = 0x08,
    ASSERTION_EF_CARDACCESS = 0x09,
    ASSERTION_AA_CHALLENGE_FIELD = 0x0A,
    ASSERTION_AA_SIGNATURE = 0x0B,
    ASSERTION_COUNTER = 0x0C,
    ASSERTION_READER_ID = 0x0D,
};

struct assertion_evidence {
    struct assertion_bytes challenge, origin;
    struct assertion_bytes ef_com, dg1, dg11, dg14, dg15, ef_sod, ef_cardaccess;
    uint8_t aa_challenge[ASSERTION_AA_CHALLENGE];
    struct assertion_bytes aa_signature;
    uint64_t counter;
    struct assertion_bytes reader_id;
};

/* aa_challenge from the platform's challenge, the origin and DG1 (item 1). */
enum assertion_err assertion_aa_challenge(const struct assertion_bytes *challenge,
                                          const struct assertion_bytes *origin,
                                          const struct assertion_bytes *dg1,
                                          uint8_t out[ASSERTION_AA_CHALLENGE]);

/* SHA-256 of the to-be-signed bytes (item 2). Required: challenge, origin,
 * DG1, DG15, EF.SOD, aa_signature, reader id. */
enum assertion_err assertion_tbs_digest(const struct assertion_evidence *e,
                                        uint8_t digest[ASSERTION_DIGEST_LEN]);

#endif

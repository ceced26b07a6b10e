/*
 * assertion: the bytes that bind one authentication together, shared by the
 * reader firmware (which signs them), the bridge (which builds the JSON
 * assertion, docs/assertion.md) and the verifier (which checks it). Format
 * "hawiya-assertion/2".
 *
 * Both digests below hash a fixed label and then a list of fields, each
 *      tag (1 byte) || length (4 bytes, big-endian) || value
 * so no field can run into the next: a challenge ending "...https://" with
 * the origin "record.example" hashes differently from the same bytes split
 * elsewhere. A field that was not read (DG11, EF.CardAccess of a BAC-only
 * card) is present with length 0, so every field has one place.
 *
 * 1. The Active Authentication challenge (ICAO 9303-11 §6.1 takes 8 bytes):
 *      aa_challenge = first 8 bytes of SHA-256(
 *          "hawiya-assertion/2 card challenge" 0x00
 *          01 challenge, 02 origin (UTF-8), 05 DG1 (the whole file, tag 61 included))
 *    so the card's signature is bound to the platform's challenge, to the
 *    origin that asked, and to the identity read.
 *
 * 2. The reader's attestation: ECDSA P-256 with SHA-256 over
 *      "hawiya-assertion/2 reader attestation" 0x00
 *      01 challenge, 02 origin, 03 EF.CardAccess, 04 EF.COM, 05 DG1, 06 DG11,
 *      07 DG14, 08 DG15, 09 EF.SOD, 0A aa_challenge (8 bytes), 0B aa_signature,
 *      0C counter (8 bytes, big-endian), 0D reader id (UTF-8)
 *    in this order, which is the order the reader learns them (the files in
 *    the order it reads them), so that a reader with little RAM hashes each
 *    file as it streams past (assertion_tbs_begin and the functions after
 *    it): the length of every field is known before its first byte. The
 *    signature is DER (X9.62 Ecdsa-Sig-Value) with s <= n/2 ("low S"), so
 *    that it has one encoding.
 */
#ifndef HAWIYA_ASSERTION_H
#define HAWIYA_ASSERTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mbedtls/sha256.h"

#define ASSERTION_FORMAT        "hawiya-assertion/2"
#define ASSERTION_AA_LABEL      ASSERTION_FORMAT " card challenge"
#define ASSERTION_TBS_LABEL     ASSERTION_FORMAT " reader attestation"
#define ASSERTION_AA_CHALLENGE  8
#define ASSERTION_CHALLENGE_MIN 32
#define ASSERTION_CHALLENGE_MAX 64
#define ASSERTION_COUNTER_LEN   8
#define ASSERTION_DIGEST_LEN    32

enum assertion_err {
    ASSERTION_OK = 0,
    ASSERTION_ERR_CHALLENGE, /* challenge not 32..64 bytes */
    ASSERTION_ERR_FIELD,     /* a required field is empty, a fixed one has another length,
                                or a length above 2^32-1 */
    ASSERTION_ERR_ORDER,     /* streaming: a field out of order, or more or fewer bytes than
                                its announced length */
    ASSERTION_ERR_CRYPTO,    /* the hash failed (should not happen) */
};

const char *assertion_err_str(enum assertion_err e);

/* A byte string; len 0 means absent. */
struct assertion_bytes {
    const uint8_t *p;
    size_t len;
};

/* Field tags, in the order they are hashed. */
enum assertion_field {
    ASSERTION_CHALLENGE = 0x01,
    ASSERTION_ORIGIN = 0x02,
    ASSERTION_EF_CARDACCESS = 0x03,
    ASSERTION_EF_COM = 0x04,
    ASSERTION_DG1 = 0x05,
    ASSERTION_DG11 = 0x06,
    ASSERTION_DG14 = 0x07,
    ASSERTION_DG15 = 0x08,
    ASSERTION_EF_SOD = 0x09,
    ASSERTION_AA_CHALLENGE_FIELD = 0x0A,
    ASSERTION_AA_SIGNATURE = 0x0B,
    ASSERTION_COUNTER = 0x0C,
    ASSERTION_READER_ID = 0x0D,
};

struct assertion_evidence {
    struct assertion_bytes challenge, origin;
    struct assertion_bytes ef_cardaccess, ef_com, dg1, dg11, dg14, dg15, ef_sod;
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

/*
 * The same digest, streamed: begin, then for every field of item 2 in
 * order assertion_tbs_field() with its tag and whole length (0 for an
 * absent optional file) followed by assertion_tbs_update() calls that add
 * up to exactly that length, then finish. Every call checks the order and
 * the lengths (fixed lengths, required fields not empty); after an error
 * the context stays failed and finish returns the first error.
 */
struct assertion_tbs {
    mbedtls_sha256_context sha;
    uint8_t next_tag; /* the tag the next field must have */
    uint32_t left;    /* value bytes still due for the current field */
    enum assertion_err err;
};

enum assertion_err assertion_tbs_begin(struct assertion_tbs *t);
enum assertion_err assertion_tbs_field(struct assertion_tbs *t, enum assertion_field tag,
                                       size_t len);
enum assertion_err assertion_tbs_update(struct assertion_tbs *t, const uint8_t *p, size_t n);
enum assertion_err assertion_tbs_finish(struct assertion_tbs *t,
                                        uint8_t digest[ASSERTION_DIGEST_LEN]);

#endif

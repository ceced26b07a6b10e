/*
 * attest: the reader's device identity. An ECDSA P-256 key made once, on
 * the first start, from the board's RNG (through a CTR_DRBG, NIST SP
 * 800-90A); its X.509 certificate once the manufacturer has issued it; and
 * a monotonic counter that every signature consumes, so a verifier can see
 * replays and gaps. All three live in the record store (store.h) over the
 * raw flash; the fact that the identity was made (and certified) is also
 * programmed into OTP, so that a flash that lost its key is not taken for a
 * new reader.
 *
 * The counter is written (both copies, read back) before the signature is
 * released: a power cut can skip a value, never repeat one. It stops at
 * ATTEST_COUNTER_MAX, the largest integer a JSON number carries exactly.
 * Nothing here invents a value: an unreadable or damaged store, a lost key,
 * certificate or counter, or a spent counter is a named state (`state`) that
 * stops attestation and is reported in INFO; a key is never made over one.
 */
#ifndef HAWIYA_FW_ATTEST_H
#define HAWIYA_FW_ATTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mbedtls/ctr_drbg.h"
#include "mbedtls/pk.h"
#include "store.h"

#define ATTEST_CERT_MAX    1024
#define ATTEST_ID_MAX      32
#define ATTEST_POINT_LEN   65
#define ATTEST_SIG_MAX     80                  /* DER ECDSA P-256 */
#define ATTEST_COUNTER_MAX 0x1FFFFFFFFFFFFFull /* 2^53 - 1 (HV_MAX_COUNTER) */

/* Record keys in the store. */
#define ATTEST_REC_KEY     0x01 /* the private key, DER (RFC 5915) */
#define ATTEST_REC_CERT    0x02 /* the certificate, DER */
#define ATTEST_REC_COUNTER 0x03 /* 8 bytes, big-endian: the last value used */

/* OTP blocks (32 bytes each): any bit cleared in a block means it was programmed. */
#define ATTEST_OTP_IDENTITY  0  /* "HWID", the first 16 bytes of SHA-256(public point), CRC-32 */
#define ATTEST_OTP_CERTIFIED 32 /* "HWCT": a certificate was stored once */

enum attest_err {
    ATTEST_OK = 0,
    ATTEST_ERR_RNG,          /* the board's RNG failed */
    ATTEST_ERR_FLASH,        /* a record could not be written */
    ATTEST_ERR_KEY,          /* the stored key does not parse (a new one is not made over it) */
    ATTEST_ERR_CERT,         /* the certificate is malformed or not for our key */
    ATTEST_ERR_SIGN,         /* the signature failed */
    ATTEST_ERR_STORE,        /* the flash cannot be read, or the store is damaged */
    ATTEST_ERR_KEY_LOST,     /* the reader made its key once, and it is gone */
    ATTEST_ERR_KEY_MISMATCH, /* the stored key is not the one the OTP records */
    ATTEST_ERR_CERT_LOST,    /* the reader was certified once, and the certificate is gone */
    ATTEST_ERR_COUNTER,      /* the counter is missing or not a valid value */
    ATTEST_ERR_COUNTER_EXHAUSTED, /* the counter reached ATTEST_COUNTER_MAX */
};

const char *attest_err_str(enum attest_err e);

struct attest {
    mbedtls_pk_context key;
    mbedtls_ctr_drbg_context drbg;
    struct store store;
    char id[ATTEST_ID_MAX];
    uint8_t point[ATTEST_POINT_LEN];
    uint8_t cert[ATTEST_CERT_MAX];
    size_t cert_len;
    uint64_t counter;      /* the last value used */
    bool ready;            /* the key is loaded: id and point are valid */
    enum attest_err state; /* ATTEST_OK, or what stops attestation */
};

/* Loads the key, certificate and counter, or makes the key on a blank
 * reader; returns (and keeps in a->state) what stops attestation, if anything. */
enum attest_err attest_init(struct attest *a);
/* Stores the certificate if its public key is ours. */
enum attest_err attest_set_cert(struct attest *a, const uint8_t *der, size_t len);
/* The next counter value, persisted; then a DER signature over the digest. */
enum attest_err attest_next_counter(struct attest *a, uint64_t *counter);
enum attest_err attest_sign(struct attest *a, const uint8_t digest[32], uint8_t *sig, size_t cap,
                            size_t *sig_len);
/* A DRBG draw for the protocols (PACE, BAC, CA nonces). */
int attest_random(void *ctx, unsigned char *out, size_t len);

#endif

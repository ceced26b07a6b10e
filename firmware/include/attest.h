/*
 * attest: the reader's device identity. An ECDSA P-256 key made on first
 * start from the board's RNG (through a CTR_DRBG, NIST SP 800-90A) and kept
 * in flash, its X.509 certificate once the manufacturer has issued it, and a
 * monotonic counter in flash that every signature consumes, so a verifier
 * can see replays and gaps. The counter is written before the signature is
 * released: a power cut can skip a value, never repeat one.
 */
#ifndef HAWIYA_FW_ATTEST_H
#define HAWIYA_FW_ATTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mbedtls/ctr_drbg.h"
#include "mbedtls/pk.h"

#define ATTEST_CERT_MAX  1024
#define ATTEST_ID_MAX    32
#define ATTEST_POINT_LEN 65
#define ATTEST_SIG_MAX   80 /* DER ECDSA P-256 */

enum attest_err {
    ATTEST_OK = 0,
    ATTEST_ERR_RNG,   /* the board's RNG failed */
    ATTEST_ERR_FLASH, /* a flash record could not be written */
    ATTEST_ERR_KEY,   /* the stored key is unreadable (a new one is not made over it) */
    ATTEST_ERR_CERT,  /* the certificate is malformed or not for our key */
    ATTEST_ERR_SIGN,  /* the signature failed */
};

const char *attest_err_str(enum attest_err e);

struct attest {
    mbedtls_pk_context key;
    mbedtls_ctr_drbg_context drbg;
    char id[ATTEST_ID_MAX];
    uint8_t point[ATTEST_POINT_LEN];
    uint8_t cert[ATTEST_CERT_MAX];
    size_t cert_len;
    uint64_t counter; /* the last value used */
    bool ready;
};

/* Loads the key, certificate and counter from flash, or makes the key. */
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

/*
 * Shared between the files of libhawiya-verify; nothing here is exported
 * (hawiya-verify.map keeps only hv_* functions of hawiya-verify.h global; internal helpers are
 * hvi_*).
 */
#ifndef HAWIYA_VERIFY_INTERNAL_H
#define HAWIYA_VERIFY_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mbedtls/x509_crt.h>

#include "hawiya-verify.h"

#define HV_MAX_CSCA      8192 /* the ICAO master list holds several hundred */
#define HV_MAX_READER_CA 16

struct hv_trust {
    mbedtls_x509_crt csca; /* one chain, CA certificates only */
    size_t n_csca;
    mbedtls_x509_crt reader_ca[HV_MAX_READER_CA]; /* one chain each, to know which signed */
    size_t n_reader_ca;
};

/* Standard base64 (RFC 4648 §4) with padding, NUL-terminated, malloc'd. */
char *hvi_b64_encode(const uint8_t *p, size_t n);
/* base64url (RFC 4648 §5) without padding, NUL-terminated, malloc'd. */
char *hvi_b64url_encode(const uint8_t *p, size_t n);
/*
 * Decodes canonical standard base64 (padding required, no whitespace: the
 * text must be exactly what hvi_b64_encode writes). *out is malloc'd (at
 * least 1 byte) and the caller frees it. false on bad text or no memory.
 */
bool hvi_b64_decode(const char *s, uint8_t **out, size_t *n);

/* Name of an aa_hash (hawiya/aa.h) as an aa_algorithm suffix, NULL if unknown. */
const char *hvi_aa_hash_name(int aa_hash);

/*
 * hv_aa_algorithm(), and in *hash the aa_hash (hawiya/aa.h) for an EC key,
 * -1 for RSA (whose signature names its own hash).
 */
enum hv_err hvi_aa_params(const uint8_t *dg14, size_t dg14_len, const uint8_t *dg15,
                          size_t dg15_len, char *out, size_t cap, int *hash);

/* A reader id: 1..64 characters of A-Z a-z 0-9 - _ . */
bool hvi_reader_id_ok(const char *id);

/*
 * The reader's certificate against the trust's reader CAs at `now`, its
 * id (the subject CN) and its key (EC P-256), then its signature over
 * digest. Returns HV_OK or one of HV_ERR_READER_UNTRUSTED,
 * HV_ERR_CERT_EXPIRED, HV_ERR_CERT_NOT_YET_VALID, HV_ERR_READER_SIGNATURE.
 */
enum hv_err hvi_check_reader(const struct hv_trust *t, const struct hv_time *now, const char *id,
                             const uint8_t *cert, size_t cert_len, const uint8_t *digest,
                             const uint8_t *sig, size_t sig_len, char *msg, size_t cap);

/*
 * The assertion's JSON text is RFC 8259 with one spelling per value
 * (json_strict.c says which); why (may be NULL) receives the first reason.
 */
#define HVI_JSON_MAX_DEPTH   8
#define HVI_JSON_MAX_MEMBERS 32
bool hvi_json_strict(const char *text, size_t len, char *why, size_t cap);

/* True if needle[0..m) occurs in hay[0..n) (memmem is a GNU extension). */
bool hvi_contains(const void *hay, size_t n, const char *needle, size_t m);

/* -1, 0, 1 as a is before, equal to, after b. */
int hvi_time_cmp(const struct hv_time *a, const struct hv_time *b);

#endif

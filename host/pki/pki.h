/*
 * pki: the test PKI of the virtual eID cards, on the issuer's side.
 *
 * It makes what a real issuing state's PKI makes for an eMRTD, so that every
 * virtual card is a document that standard tools verify:
 *   - a Country Signing CA per issuing state and a Document Signer under it
 *     (ICAO Doc 9303-12 §5 and §7.1 certificate profiles, RFC 5280), plus an
 *     "old" Document Signer whose certificate has expired, for the expired
 *     persona;
 *   - per persona, the LDS files of the eMRTD application (9303-10 §4.6,
 *     §4.7: EF.COM, DG1, DG2, DG11, DG14, DG15), EF.CardAccess (9303-11
 *     §9.2.1 PACEInfo), and EF.SOD: a CMS SignedData (RFC 5652 §5) over the
 *     LDSSecurityObject (9303-10 §4.6.2), signed by the Document Signer;
 *     and the card's Chip Authentication and Active Authentication keys;
 *   - the reader manufacturer CA and the reader device certificates it
 *     issues.
 *
 * Everything is deterministic for a given seed: every key and signature
 * draws from a CTR_DRBG seeded from (seed, a label naming its purpose).
 * The fixed dates are in docs/pki.md and below.
 */
#ifndef HAWIYA_PKI_H
#define HAWIYA_PKI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mbedtls/pk.h>

#include "persona.h"

struct pki_rng;

enum pki_err {
    PKI_OK = 0,
    PKI_ERR_USAGE,         /* a bad argument: reader id syntax, unknown state, ... */
    PKI_ERR_IO,            /* a file cannot be read or written */
    PKI_ERR_NO_MEMORY,     /* an allocation failed */
    PKI_ERR_CRYPTO,        /* mbedTLS failed (key generation, signature, encoding) */
    PKI_ERR_CA_DIR,        /* the CA directory lacks a file or pki.json is malformed */
    PKI_ERR_NO_DS,         /* no Document Signer for the persona's issuing state */
    PKI_ERR_BAD_KEY,       /* a key file does not parse, or is not EC P-256 where required */
    PKI_ERR_RANGE,         /* a holder field does not fit its MRZ or LDS field */
    PKI_ERR_MRZ_CHECK,     /* self-check: the generated MRZ does not parse with mrz_parse */
    PKI_ERR_SECINFO_CHECK, /* self-check: generated SecurityInfos do not parse */
};

const char *pki_err_str(enum pki_err e);

/* Growable byte buffer: host code may allocate. */
struct pki_buf {
    uint8_t *p;
    size_t len;
    size_t cap;
};

void pki_buf_free(struct pki_buf *b);

/*
 * Test times (UTC), see docs/pki.md. At PKI_TEST_NOW the current Document
 * Signers are valid and the old ones have expired, as has the expired
 * persona's document.
 */
#define PKI_TEST_NOW          "2026-01-01T00:00:00Z"
#define PKI_TEST_NOW_EPOCH    1767225600L
#define PKI_CSCA_NOT_BEFORE   "20050101000000"
#define PKI_CSCA_NOT_AFTER    "20400101000000"
#define PKI_DS_NOT_BEFORE     "20240101000000"
#define PKI_DS_NOT_AFTER      "20360101000000"
#define PKI_DS_SIGNING_TIME   "240601000000Z"
#define PKI_OLD_DS_NOT_BEFORE "20090101000000"
#define PKI_OLD_DS_NOT_AFTER  "20200630000000"
#define PKI_OLD_SIGNING_TIME  "100115000000Z"
#define PKI_READER_NOT_BEFORE "20250101000000"
#define PKI_READER_NOT_AFTER  "20450101000000"

/* Century of a YYMMDD date of birth: years after the test year are in the 1900s. */
#define PKI_TEST_YEAR 2026

#define PKI_MAX_STATES 16

/* The ISO 3166-1 alpha-2 code for an ICAO 9303-3 three-letter code, NULL if unknown. */
const char *pki_country_alpha2(const char *state);

/* `hawiya-pki init`: CSCA + DS (current and old) for each state, and the reader CA. */
enum pki_err pki_init(const char *out_dir, uint64_t seed, const char (*states)[4], size_t n_states);

/* `hawiya-pki card`: every file of persona p under out_dir (created if absent). */
enum pki_err pki_card(const char *ca_dir, const struct persona *p, const char *out_dir);

/* `hawiya-pki reader`: a device certificate for the public key in pubkey_path. */
enum pki_err pki_reader(const char *ca_dir, const char *pubkey_path, const char *reader_id,
                        const char *out_path);

/* --- builders of the LDS files (9303-10), exposed for the unit tests ---------- */

/* The MRZ lines: TD1 (3 x 30) for ID cards, TD3 (2 x 44) for document type P. */
struct pki_mrz {
    char line[3][45];
    size_t n_lines;
    size_t line_len;
};

enum pki_err pki_make_mrz(const struct persona_holder *h, struct pki_mrz *out);

/* DG1: 61 { 5F1F MRZ } (9303-10 §4.7.1). */
enum pki_err pki_make_dg1(const struct persona_holder *h, struct pki_buf *out);

/* EF.CardAccess: SET { PACEInfo ECDH-GM-AES-CBC-CMAC-128 v2, parameterId 12 and 13 }. */
enum pki_err pki_make_cardaccess(struct pki_buf *out);

/* EF.COM (9303-10 §4.6.1): LDS 1.7, Unicode 4.0.0, tags of DG1, DG2, DG11, DG14, DG15. */
enum pki_err pki_make_com(struct pki_buf *out);

/* DG2 (§4.7.2): a placeholder facial record of about 1 KiB. */
enum pki_err pki_make_dg2(struct pki_buf *out, const char *persona_id);

/* DG11 (§4.7.11): full name (UTF-8), personal number, full date of birth. */
enum pki_err pki_make_dg11(const struct persona_holder *h, struct pki_buf *out);

/*
 * DG14 (§4.7.14): CA public key info (ECDH), CA info, AA info
 * (ecdsa-plain-SHA256), and with_pace the PACEInfos of EF.CardAccess.
 */
enum pki_err pki_make_dg14(const struct pki_buf *ca_spki, bool with_pace, struct pki_buf *out);

/* DG15 (§4.7.15): 6F wrapping the AA key's SubjectPublicKeyInfo. */
enum pki_err pki_make_dg15(const struct pki_buf *aa_spki, struct pki_buf *out);

/*
 * EF.SOD (9303-10 §4.6.2): 77 { ContentInfo { signedData, SignedData } }
 * over an LDSSecurityObject v0 with the SHA-256 of each DG. dg_numbers[i]
 * and hashes[i] are listed in ascending DG order. signing_time is UTCTime
 * text "YYMMDDhhmmssZ"; ds_cert is the DS certificate's DER.
 */
enum pki_err pki_make_sod(const int *dg_numbers, const uint8_t (*hashes)[32], size_t n,
                          const struct pki_buf *ds_cert, mbedtls_pk_context *ds_key,
                          const char *signing_time, struct pki_rng *rng, struct pki_buf *out);

/* DER of a dotted OID's content octets ("1.2.840.10045.4.3.2"), appended to out. */
enum pki_err pki_der_oid(struct pki_buf *out, const char *dotted);

#endif

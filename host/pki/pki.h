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
 *     issues;
 *   - what a platform receives to trust the documents: the CSCAs in a CSCA
 *     Master List (9303-12, a CMS SignedData by a Master List Signer), and
 *     CRLs (RFC 5280 §5) of every CSCA and of the reader CA;
 *   - certificates that break a profile on purpose (bad/), for the tests
 *     of the verifier: a Document Signer that is a CA, one with keyCertSign
 *     only, one without keyUsage, one without a country, one under the
 *     reader CA, and a Document Signer its CSCA has revoked.
 * CSCAs and the reader CA live in separate directories (csca/, reader-ca/)
 * because a verifier must never take one for the other.
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
 * persona's document. ds-XXX-pkup's privateKeyUsagePeriod (GeneralizedTime)
 * holds PKI_DS_SIGNING_TIME.
 */
#define PKI_TEST_NOW           "2026-01-01T00:00:00Z"
#define PKI_TEST_NOW_EPOCH     1767225600L
#define PKI_CSCA_NOT_BEFORE    "20050101000000"
#define PKI_CSCA_NOT_AFTER     "20400101000000"
#define PKI_DS_NOT_BEFORE      "20240101000000"
#define PKI_DS_NOT_AFTER       "20360101000000"
#define PKI_DS_PKUP_NOT_BEFORE "20240101000000Z"
#define PKI_DS_PKUP_NOT_AFTER  "20241231235959Z"
/* ds-XXX-pkup-critical: the same period, critical, in GeneralizedTime with fractions of a
 * second (valid DER, X.690 §11.7.3; EJBCA writes them): a verifier reads it to the second. */
#define PKI_DS_PKUP_CRIT_NOT_BEFORE "20240101000000.25Z"
#define PKI_DS_PKUP_CRIT_NOT_AFTER  "20241231235959.75Z"
#define PKI_DS_SIGNING_TIME         "240601000000Z"
#define PKI_OLD_DS_NOT_BEFORE       "20090101000000"
#define PKI_OLD_DS_NOT_AFTER        "20200630000000"
#define PKI_OLD_SIGNING_TIME        "100115000000Z"
#define PKI_READER_NOT_BEFORE       "20250101000000"
#define PKI_READER_NOT_AFTER        "20450101000000"
#define PKI_CRL_THIS_UPDATE         "251201000000Z"
#define PKI_CRL_NEXT_UPDATE         "450101000000Z"
#define PKI_CRL_REVOCATION_DATE     "250601000000Z"
#define PKI_ML_SIGNING_TIME         "251201000000Z"

/*
 * The reader manufacturer CA's certificate policy, which marks a CA as one
 * that certifies reader device keys (and is what a verifier's reader-CA
 * store requires): 2.25.51346283052073480999273905127589327071 (a UUID OID,
 * ITU-T X.667), the OID's content octets.
 */
#define PKI_READER_CA_POLICY                                                                       \
    {                                                                                              \
        0x69, 0xCD, 0xA0, 0xF7, 0xCD, 0xA8, 0x84, 0xBA, 0xA4, 0xA1, 0xBA, 0xEB, 0xC7, 0xE4, 0x99,  \
            0xA2, 0xEA, 0xE1, 0x5F                                                                 \
    }

/* Century of a YYMMDD date of birth: years after the test year are in the 1900s. */
#define PKI_TEST_YEAR 2026

#define PKI_MAX_STATES 16

/* The ISO 3166-1 alpha-2 code for an ICAO 9303-3 three-letter code, NULL if unknown. */
const char *pki_country_alpha2(const char *state);

/* `hawiya-pki init`: CSCA + DS (current and old) for each state, and the reader CA. */
enum pki_err pki_init(const char *out_dir, uint64_t seed, const char (*states)[4], size_t n_states);

/*
 * `hawiya-pki card`: every file of persona p under out_dir (created if
 * absent). The options make documents the verifier must refuse: another
 * signer for EF.SOD (any certificate and its key, e.g. a reader's or a
 * CSCA's), another signingTime (UTCTime "YYMMDDhhmmssZ"). NULL: as the
 * persona says.
 */
struct pki_card_options {
    const char *ds_cert; /* path of a DER or PEM certificate */
    const char *ds_key;  /* path of its DER or PEM private key */
    const char *signing_time;
};
enum pki_err pki_card(const char *ca_dir, const struct persona *p, const char *out_dir,
                      const struct pki_card_options *opt);

/* `hawiya-pki reader`: a device certificate for the public key in pubkey_path. */
enum pki_err pki_reader(const char *ca_dir, const char *pubkey_path, const char *reader_id,
                        const char *out_path);

/*
 * `hawiya-pki crl`: a CRL by `issuer` (a CSCA's name "csca-XXX" or
 * "reader-ca") revoking each certificate file of revoke[] (DER or PEM),
 * with thisUpdate / nextUpdate (UTCTime "YYMMDDhhmmssZ"; NULL: the fixed
 * PKI_CRL_* dates), written DER to out_path.
 */
enum pki_err pki_crl(const char *ca_dir, const char *issuer, const char *const *revoke,
                     size_t n_revoke, const char *this_update, const char *next_update,
                     const char *out_path);

/*
 * `hawiya-pki masterlist`: a CSCA Master List (9303-12) of the certificate
 * files certs[] (NULL: every CSCA of the PKI), signed by the certificate
 * and key given (NULL: the PKI's Master List Signer), DER to out_path.
 */
enum pki_err pki_masterlist(const char *ca_dir, const char *const *certs, size_t n_certs,
                            const char *signer_cert, const char *signer_key, const char *out_path);

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
 * text "YYMMDDhhmmssZ", GeneralizedTime text if longer, "17:"/"18:" then any
 * text under that tag, or "none" (no signingTime); ds_cert is the DS
 * certificate's DER.
 */
enum pki_err pki_make_sod(const int *dg_numbers, const uint8_t (*hashes)[32], size_t n,
                          const struct pki_buf *ds_cert, mbedtls_pk_context *ds_key,
                          const char *signing_time, struct pki_rng *rng, struct pki_buf *out);

/*
 * An X.509 v2 CRL of issuer_cert (signed by issuer_key) revoking the
 * certificates revoked[] (DER), with thisUpdate / nextUpdate (UTCTime text;
 * NULL: the fixed dates above).
 */
enum pki_err pki_make_crl(const struct pki_buf *issuer_cert, mbedtls_pk_context *issuer_key,
                          const struct pki_buf *revoked, size_t n_revoked, uint32_t crl_number,
                          const char *this_update, const char *next_update, struct pki_rng *rng,
                          struct pki_buf *out);

/*
 * CscaMasterList ::= SEQUENCE { version INTEGER (0), certList SET OF
 * Certificate } (9303-12), DER-sorted, signed as a CMS SignedData of type
 * id-icao-cscaMasterList by signer_cert/signer_key, which it carries.
 */
enum pki_err pki_make_masterlist(const struct pki_buf *certs, size_t n_certs,
                                 const struct pki_buf *signer_cert, mbedtls_pk_context *signer_key,
                                 struct pki_rng *rng, struct pki_buf *out);

/* DER of a dotted OID's content octets ("1.2.840.10045.4.3.2"), appended to out. */
enum pki_err pki_der_oid(struct pki_buf *out, const char *dotted);

#endif

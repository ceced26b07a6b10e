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

#include <mbedtls/x509_crl.h>
#include <mbedtls/x509_crt.h>

#include "hawiya-verify.h"

#define HV_MAX_CSCA        8192 /* the ICAO master list holds several hundred */
#define HV_MAX_READER_CA   16
#define HV_MAX_DS          65536
#define HV_MAX_CRL         8192
#define HVI_MAX_MASTERLIST 64 /* master lists one trust takes (a bit each in csca_lists) */

/*
 * The stores never mix: a certificate is in csca only with the CSCA profile,
 * in reader_ca only with the reader-CA profile, and each role is looked up
 * in its own store alone.
 */
struct hv_trust {
    mbedtls_x509_crt csca; /* one chain: CSCA profile, deduplicated */
    size_t n_csca;
    mbedtls_x509_crt reader_ca[HV_MAX_READER_CA]; /* one chain each, to know which signed */
    size_t n_reader_ca;
    mbedtls_x509_crt ds; /* one chain: Document Signers given apart from the SODs */
    size_t n_ds;
    mbedtls_x509_crt ml_signer; /* one chain: what vouches for master lists */
    size_t n_ml_signer;
    /* CRLs by the store of the CA whose key verified them: a CSCA's (or a master-list
     * anchor's) revoke ICAO certificates only, a reader CA's reader certificates only */
    mbedtls_x509_crl crl[2];
    size_t n_crl;
    size_t n_masterlist, n_link_skipped; /* master lists loaded; link certificates left out */
    /* Who vouches for the CSCA at position k of csca: the platform directly (csca_direct[k]),
     * and/or master list i (bit i of csca_lists[k]), whose signer and anchor ml_origin[i]
     * keeps, so that a CRL loaded after the list still withdraws what it brought. */
    bool csca_direct[HV_MAX_CSCA];
    uint64_t csca_lists[HV_MAX_CSCA];
    struct {
        mbedtls_x509_crt signer, anchor;
    } ml_origin[HVI_MAX_MASTERLIST];
};

/* --- certificate profiles (trust.c): NULL when c has it, else why not ------------------------ */

/* ICAO 9303-12 §7.1.1 CSCA: v3, self-signed (the signature checked), basicConstraints cA,
 * keyUsage with keyCertSign, one countryName in the subject; not the reader-CA policy. */
const char *hvi_not_csca(const mbedtls_x509_crt *c);
/* A CSCA link certificate: the CSCA profile but signed by another key of the same CSCA. */
bool hvi_is_link_certificate(const mbedtls_x509_crt *c);
/* Reader manufacturer CA: v3, self-signed, basicConstraints cA, keyUsage with keyCertSign,
 * certificatePolicies with the Hawiya reader-CA policy (docs/pki.md). */
const char *hvi_not_reader_ca(const mbedtls_x509_crt *c);
/* 9303-12 §7.1.2 Document Signer: v3, not a CA, keyUsage with digitalSignature and neither
 * keyCertSign nor cRLSign, one countryName, no extKeyUsage, a privateKeyUsagePeriod (if any)
 * that parses; not the reader-CA policy. */
const char *hvi_not_document_signer(const mbedtls_x509_crt *c);
/* 9303-12 Master List Signer: the DS rules but extKeyUsage, which names
 * id-icao-cscaMasterListSigningKey itself, and a countryName that is its issuer's. */
const char *hvi_not_ml_signer(const mbedtls_x509_crt *c);
/* A certificate's privateKeyUsagePeriod (X.509 §9.2.2.5; RFC 3280 §4.2.1.4): when its private
 * key may sign. At least one bound. */
struct hvi_key_period {
    bool has_not_before, has_not_after;
    struct hv_time not_before, not_after;
};
/* 1: *kp holds c's privateKeyUsagePeriod; 0: c has none, or a non-critical one that is not the
 * extension's DER (ignored, RFC 5280 §4.2); -1: a critical one that is not (neither bound,
 * UTCTime, out of order, trailing bytes, notAfter before notBefore). */
int hvi_key_usage_period(const mbedtls_x509_crt *c, struct hvi_key_period *kp);
/* mbedtls_x509_crt_parse_der (a copy) that also takes a critical privateKeyUsagePeriod, which
 * this verifier applies; every other critical extension mbedTLS does not know is refused. */
int hvi_crt_parse_der(mbedtls_x509_crt *chain, const unsigned char *buf, size_t len);
/* Reader device certificate: v3, not a CA, keyUsage with digitalSignature (present) and neither
 * keyCertSign nor cRLSign, an ECDSA P-256 key. */
const char *hvi_not_reader_cert(const mbedtls_x509_crt *c);

/* A CSCA of a master list into the CSCA store (profile checked), listed by master list `list`. */
enum hv_err hvi_add_listed_csca(struct hv_trust *t, const uint8_t *buf, size_t len, size_t list);

/* A master list's signer still stands at now, under the rules of a Document Signer: no loaded
 * CRL revokes it or its anchor (HV_ERR_REVOKED), and CRLs of its issuer, once given, are
 * current (hvi_crl_current: HV_ERR_CRL_STALE); msg says which. */
enum hv_err hvi_ml_signer_stands(const struct hv_trust *t, const mbedtls_x509_crt *signer,
                                 const mbedtls_x509_crt *anchor, const struct hv_time *now,
                                 char *msg, size_t cap);

/* Someone still vouches for the CSCA at position k of t->csca at now: the platform gave it
 * directly, or a master list listed it whose signer stands (hvi_ml_signer_stands): HV_OK. Else
 * HV_ERR_CRL_STALE if one of its lists fails only for a stale CRL feed, or HV_ERR_REVOKED, with
 * the reason in msg. */
enum hv_err hvi_csca_vouched(const struct hv_trust *t, size_t k, const struct hv_time *now,
                             char *msg, size_t cap);

/* Two distinguished names are the same name (RFC 5280 §7.1, name.c). */
bool hvi_name_equal(const mbedtls_x509_name *a, const mbedtls_x509_name *b);

/* Did ca issue c: c's issuer is ca's subject (hvi_name_equal), ca is a CA (basicConstraints
 * cA) whose keyUsage, when present, allows keyCertSign, and ca's key verifies c's signature. */
bool hvi_issued_by(const mbedtls_x509_crt *c, const mbedtls_x509_crt *ca);

/* The subject's one countryName as 2 letters (out[3]); false if none, several, or not A-Z. */
bool hvi_subject_country(const mbedtls_x509_crt *c, char out[3]);

/* Which CRLs: those of the ICAO PKI (CSCAs, master-list anchors) or of the reader PKI. */
enum hvi_pki { HVI_PKI_ICAO, HVI_PKI_READER };

/* Is c's serial in a CRL of that PKI issued under c's issuer name? */
bool hvi_revoked(const struct hv_trust *t, enum hvi_pki pki, const mbedtls_x509_crt *c);

/* CRLs of pki under issuer were given, and every one is past its nextUpdate at now:
 * HV_ERR_CRL_STALE with msg naming who; else HV_OK. */
enum hv_err hvi_crl_current(const struct hv_trust *t, enum hvi_pki pki,
                            const mbedtls_x509_name *issuer, const struct hv_time *now,
                            const char *who, char *msg, size_t cap);

/* Validity of c at `now`: HV_OK, HV_ERR_CERT_EXPIRED or HV_ERR_CERT_NOT_YET_VALID, with the
 * reason naming `what` in msg. */
enum hv_err hvi_validity(const mbedtls_x509_crt *c, const struct hv_time *now, const char *what,
                         char *msg, size_t cap);

/* DER or PEM (one or more certificates) into a fresh chain (which the caller frees). */
enum hv_err hvi_parse_certs(const uint8_t *buf, size_t len, mbedtls_x509_crt *chain);

/* hv_trust_add_masterlist() with the reason in msg (masterlist.c). */
enum hv_err hvi_add_masterlist(struct hv_trust *t, const uint8_t *buf, size_t len,
                               const struct hv_time *now, char *msg, size_t cap);

/* The ISO 3166-1 alpha-2 code for an ICAO 9303-3 issuing-state code (three letters, or
 * "D" for Germany; fillers already removed), NULL if there is none. */
const char *hvi_country_alpha2(const char *icao);

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
 * The reader's certificate (its profile, its id as the subject CN, issued by
 * one of the trust's reader CAs, not revoked, valid with its CA at `now`),
 * then its signature over digest. Returns HV_OK or one of
 * HV_ERR_READER_UNTRUSTED, HV_ERR_REVOKED, HV_ERR_CERT_EXPIRED,
 * HV_ERR_CERT_NOT_YET_VALID, HV_ERR_READER_SIGNATURE.
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
/*
 * A DER time's content under its tag: 0x17 UTCTime YYMMDDhhmmssZ (X.690
 * §11.8; RFC 5280 §4.1.2.5.1: YY < 50 is 20YY), 0x18 GeneralizedTime
 * YYYYMMDDhhmmss[.f+]Z (X.690 §11.7), the fraction cut to the whole second
 * (so a notBefore rounds down and a notAfter keeps its whole last second). The
 * tag decides: 201001151200Z is no GeneralizedTime (no seconds), never the
 * UTCTime its 13 characters would be; 15 characters are no UTCTime.
 */
bool hvi_der_time(uint8_t tag, const uint8_t *p, size_t n, struct hv_time *t);

#endif

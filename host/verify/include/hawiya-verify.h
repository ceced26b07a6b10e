/*
 * libhawiya-verify: the platform server's check of a Hawiya identity
 * assertion (docs/assertion.md), and the builder the bridge uses to write
 * one, so that both sides share a single definition of the format.
 *
 * An assertion carries standard evidence: the ICAO Doc 9303-10 LDS files
 * read from the card (EF.COM, DG1, DG11, DG14, DG15, EF.SOD), the card's
 * Active Authentication signature (9303-11 §6.1) over a challenge bound to
 * the platform's challenge, the origin and DG1 (hawiya/assertion.h), and the
 * reader's ECDSA P-256 attestation over all of it with its X.509 device
 * certificate, or says that no reader attested it (a session run by the
 * bridge on a plain PC/SC reader), which a platform accepts only when it
 * allows unattested readers. hv_verify() runs passive authentication
 * (9303-11 §5.1), the MRZ check digits (9303-3 §4.9), Active
 * Authentication and the reader checks, in a fixed order, and names the
 * first failure.
 *
 * Thread safety: a struct hv_trust may be shared by concurrent hv_verify()
 * calls once loaded; nothing else is global.
 */
#ifndef HAWIYA_VERIFY_H
#define HAWIYA_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HV_FORMAT           "hawiya-assertion/2"
#define HV_MAX_ASSERTION    (1024u * 1024u) /* bytes of JSON hv_verify accepts */
#define HV_CHALLENGE_MIN    32
#define HV_CHALLENGE_MAX    64
#define HV_READER_ID_MAX    64
#define HV_MAX_COUNTER      9007199254740991ull /* 2^53 - 1: exact as a JSON number */
#define HV_DIGEST_LEN       32
#define HV_AA_CHALLENGE_LEN 8

enum hv_err {
    HV_OK = 0,
    HV_ERR_ARGUMENT,           /* a NULL or out-of-range argument, unreadable trust files */
    HV_ERR_MEMORY,             /* allocation failed */
    HV_ERR_FORMAT,             /* not JSON, or a field missing, of the wrong type or encoding */
    HV_ERR_VERSION,            /* "format" is not "hawiya-assertion/2" */
    HV_ERR_CHALLENGE,          /* not the challenge the platform expects (a replay) */
    HV_ERR_ORIGIN,             /* not the origin the platform expects */
    HV_ERR_SOD_MALFORMED,      /* EF.SOD does not parse */
    HV_ERR_DS_UNTRUSTED,       /* the EF.SOD signer is not a Document Signer of a given CSCA of
                                  DG1's issuing state (profile, chain or country) */
    HV_ERR_CERT_EXPIRED,       /* a CSCA, DS, reader or reader CA certificate is past notAfter */
    HV_ERR_CERT_NOT_YET_VALID, /* ... or before notBefore */
    HV_ERR_SOD_SIGNATURE,      /* the SOD signature (or its messageDigest) does not verify */
    HV_ERR_DG_HASH,            /* a data group has no hash or the wrong hash (failed_dg) */
    HV_ERR_DG1,                /* DG1 does not parse or an MRZ check digit fails */
    HV_ERR_LDS,                /* DG11, DG14 or DG15 does not parse */
    HV_ERR_IDENTITY,           /* "identity" is not exactly what DG1 (and DG11) say */
    HV_ERR_AA_CHALLENGE,       /* aa_challenge is not the one of hawiya/assertion.h */
    HV_ERR_AA_SIGNATURE,       /* the card's signature does not verify with DG15 / DG14 */
    HV_ERR_READER_UNTRUSTED,   /* the reader certificate does not chain to a reader CA */
    HV_ERR_READER_SIGNATURE,   /* the reader's signature does not verify, or is not low-S */
    HV_ERR_UNATTESTED,         /* no reader attested the session, and the platform requires one */
    HV_ERR_REVOKED,            /* the Document Signer or the reader certificate is on a CRL */
    HV_ERR_DOCUMENT_EXPIRED,   /* DG1's date of expiry is past, and the platform refuses that */
    HV_ERR_TRUST_STORE,        /* a file offered to a trust store does not belong there (not the
                                  store's profile, a master list or CRL that does not verify) */
    HV_ERR_CRL_STALE,          /* CRLs of a certificate's issuer were given, and every one is
                                  past its nextUpdate: the platform's CRL feed is behind */
    /* EF.SOD's signingTime is outside its Document Signer's privateKeyUsagePeriod: a key the
     * state did not use then signed it */
    HV_ERR_DS_KEY_USAGE_PERIOD,
};

/* The enumerator's name, e.g. "HV_ERR_DG_HASH". */
const char *hv_err_str(enum hv_err e);

/* A UTC instant, compared with certificate validity. */
struct hv_time {
    int year, mon, day, hour, min, sec;
};

/* "YYYYMMDDhhmmssZ" -> t; HV_ERR_ARGUMENT if malformed. */
enum hv_err hv_time_parse(const char *s, struct hv_time *t);
/* The system clock. */
enum hv_err hv_time_now(struct hv_time *t);

/* RFC 4648 §5 base64url, '=' padding optional; HV_ERR_FORMAT on bad input. */
enum hv_err hv_base64url_decode(const char *s, size_t len, uint8_t *out, size_t cap, size_t *n);

/* --- trust anchors ------------------------------------------------------- */

/*
 * What the platform trusts, in stores that never mix (docs/assertion.md,
 * "Trust"): CSCAs (ICAO 9303-12 profile: self-signed, cA, keyCertSign, a
 * country), reader manufacturer CAs (self-signed, cA, keyCertSign, the
 * Hawiya reader-CA certificate policy), Document Signers given apart from
 * the SODs, the certificates that vouch for master lists, and CRLs. A
 * certificate offered to a store without that store's profile is refused
 * (HV_ERR_TRUST_STORE), never skipped or taken in another role.
 */
struct hv_trust;

struct hv_trust *hv_trust_new(void);
void hv_trust_free(struct hv_trust *t);

/*
 * Adds certificates from DER or PEM bytes (a PEM file may hold several;
 * every one must fit the store, or none is added). HV_ERR_TRUST_STORE for
 * bytes that are not certificates or a certificate without the store's
 * profile.
 */
enum hv_err hv_trust_add_csca(struct hv_trust *t, const uint8_t *buf, size_t len);
enum hv_err hv_trust_add_reader_ca(struct hv_trust *t, const uint8_t *buf, size_t len);
/* Document Signers (profile of 9303-12 §7.1.2) for SODs that do not carry their own; their
 * chain to a CSCA is checked when used. */
enum hv_err hv_trust_add_ds(struct hv_trust *t, const uint8_t *buf, size_t len);
/* What vouches for master lists: a Master List Signer certificate itself, or a CSCA that
 * issues Master List Signers. */
enum hv_err hv_trust_add_masterlist_signer(struct hv_trust *t, const uint8_t *buf, size_t len);
/*
 * A CSCA Master List (9303-12: a CMS SignedData of id-icao-cscaMasterList,
 * DER): its signer must be a Master List Signer (profile) given by, or
 * issued by, a certificate of hv_trust_add_masterlist_signer(), valid at
 * `now`, and its signature must verify; then every CSCA it lists is added
 * (link certificates are left out: their CSCA is listed self-signed). Any
 * other entry refuses the whole list. HV_ERR_TRUST_STORE. At most 64 lists
 * per trust. A CRL added later that revokes the list's signer (or its
 * anchor) withdraws the CSCAs only it brought, in hv_verify().
 */
enum hv_err hv_trust_add_masterlist(struct hv_trust *t, const uint8_t *buf, size_t len,
                                    const struct hv_time *now);
/* A CRL (RFC 5280 §5, DER or PEM) whose issuer is a CSCA or reader CA already added and whose
 * signature it verifies; a certificate it lists is HV_ERR_REVOKED in hv_verify(). */
enum hv_err hv_trust_add_crl(struct hv_trust *t, const uint8_t *buf, size_t len);

/*
 * The same from files. path is a file, or a directory whose every file
 * (but hidden ones) must belong to the store: anything else in it is
 * HV_ERR_TRUST_STORE naming the file. err_msg (may be NULL) receives the
 * reason with the file's name. The CSCA store must end with one CSCA at least.
 */
enum hv_err hv_trust_load_csca_dir(struct hv_trust *t, const char *path, char *err_msg, size_t cap);
enum hv_err hv_trust_load_reader_ca_file(struct hv_trust *t, const char *path, char *err_msg,
                                         size_t cap);
enum hv_err hv_trust_load_ds(struct hv_trust *t, const char *path, char *err_msg, size_t cap);
enum hv_err hv_trust_load_masterlist_signer(struct hv_trust *t, const char *path, char *err_msg,
                                            size_t cap);
enum hv_err hv_trust_load_masterlist(struct hv_trust *t, const char *path,
                                     const struct hv_time *now, char *err_msg, size_t cap);
enum hv_err hv_trust_load_crl(struct hv_trust *t, const char *path, char *err_msg, size_t cap);
size_t hv_trust_n_csca(const struct hv_trust *t);
size_t hv_trust_n_reader_ca(const struct hv_trust *t);
size_t hv_trust_n_ds(const struct hv_trust *t);
size_t hv_trust_n_crl(const struct hv_trust *t);

/* --- identity ------------------------------------------------------------ */

/*
 * The identity object of an assertion, from DG1 (and DG11 when dg11 is not
 * NULL): MRZ fields with the '<' fillers removed and inner '<' as spaces,
 * dates as the MRZ's YYMMDD, sex "M" / "F" / "X"; DG11 text as written.
 * NULL if DG1 (or a given DG11) does not parse; the caller cJSON_Delete()s.
 */
cJSON *hv_identity_from_lds(const uint8_t *dg1, size_t dg1_len, const uint8_t *dg11,
                            size_t dg11_len);

/* --- building an assertion (the bridge) ------------------------------------ */

struct hv_bytes {
    const uint8_t *p;
    size_t len; /* 0: absent */
};

/*
 * What one session produced. The reader's part (reader_id, certificate,
 * counter, signature) is all there for an attested session, or reader_id is
 * NULL and the certificate and signature empty for an unattested one (the
 * bridge ran the session on a plain PC/SC reader): hv_assertion_build()
 * then writes "reader":{"attested":false}.
 */
struct hv_evidence {
    struct hv_bytes challenge; /* the platform's 32..64 bytes */
    const char *origin;
    struct hv_bytes ef_com, dg1, dg11, dg14, dg15, ef_sod,
        ef_cardaccess; /* ef_com, dg11, dg14,
                          ef_cardaccess optional */
    struct hv_bytes aa_signature;
    const char *aa_algorithm; /* NULL: derived from DG14 / DG15 (hv_aa_algorithm) */
    const char *reader_id;    /* 1..64 characters of A-Z a-z 0-9 - _ .; NULL: unattested */
    struct hv_bytes reader_certificate; /* DER */
    uint64_t counter;                   /* <= HV_MAX_COUNTER */
    struct hv_bytes reader_signature;   /* DER ECDSA over hv_reader_digest(), low-S; may be empty
                                           for hv_reader_digest() itself */
};

/* aa_challenge: the first 8 bytes of the card-challenge digest of hawiya/assertion.h
 * over the challenge, the origin and DG1. */
enum hv_err hv_aa_challenge(const struct hv_evidence *ev, uint8_t out[HV_AA_CHALLENGE_LEN]);

/* The digest the reader signs (assertion_tbs_digest of hawiya/assertion.h). */
enum hv_err hv_reader_digest(const struct hv_evidence *ev, uint8_t out[HV_DIGEST_LEN]);

/*
 * The aa_algorithm name for this card: "ecdsa-plain-SHA256" etc. for an EC
 * DG15 key (the hash named by DG14's ActiveAuthenticationInfo), or
 * "rsa-iso9796-2" for RSA (the hash is named by the signature's trailer).
 */
enum hv_err hv_aa_algorithm(const uint8_t *dg14, size_t dg14_len, const uint8_t *dg15,
                            size_t dg15_len, char *out, size_t cap);

/* The assertion as compact JSON in *json (malloc'd; free()), attested or not (see hv_evidence). */
enum hv_err hv_assertion_build(const struct hv_evidence *ev, char **json);

/* --- verifying an assertion (the platform) ---------------------------------- */

struct hv_options {
    const struct hv_trust *trust;
    const uint8_t *challenge; /* the challenge this platform issued */
    size_t challenge_len;
    const char *origin;    /* the origin it expects */
    struct hv_time now;    /* for certificate validity and the document's expiry */
    bool allow_unattested; /* accept an assertion no reader attested (else HV_ERR_UNATTESTED) */
    bool allow_expired_document; /* accept a document past its date of expiry (else
                                    HV_ERR_DOCUMENT_EXPIRED); its signer is then judged at the
                                    SOD's signingTime (docs/assertion.md, "Document policy") */
};

struct hv_result {
    enum hv_err err;
    char message[256];   /* a human-readable reason, "" on success */
    unsigned failed_dg;  /* HV_ERR_DG_HASH: the data group */
    char *identity_json; /* HV_OK: the verified identity, compact JSON (malloc'd) */
    char reader_id[HV_READER_ID_MAX + 1]; /* HV_OK and attested: the attesting reader, else "" */
    uint64_t counter;                     /* HV_OK and attested: its counter, else 0 */
    bool attested; /* HV_OK: a reader attested the session (false: allowed by allow_unattested) */
    bool document_expired; /* HV_OK: the document is past its date of expiry (allowed by
                              allow_expired_document) */
};

/*
 * Verifies json[0..len) (docs/assertion.md, "Checks"), stopping at the first
 * failure; returns res->err. Call hv_result_free() afterwards either way.
 */
enum hv_err hv_verify(const char *json, size_t len, const struct hv_options *opt,
                      struct hv_result *res);
void hv_result_free(struct hv_result *res);

#ifdef __cplusplus
}
#endif

#endif

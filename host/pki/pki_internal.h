/*
 * Internals shared by the pki sources: DER writing on growable buffers
 * (X.690 DER, tags and lengths through hawiya/tlv.h), the deterministic
 * random generator, keys, certificates and files.
 */
#ifndef HAWIYA_PKI_INTERNAL_H
#define HAWIYA_PKI_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>

#include "pki.h"

/* Universal and context tags used here. */
#define DER_INTEGER      0x02u
#define DER_BIT_STRING   0x03u
#define DER_OCTET_STRING 0x04u
#define DER_OID          0x06u
#define DER_UTC_TIME     0x17u
#define DER_SEQUENCE     0x30u
#define DER_SET          0x31u
#define DER_CTX0         0xA0u /* [0], constructed */

/* Object identifiers (dotted), with where each is defined. */
#define OID_SHA256              "2.16.840.1.101.3.4.2.1"  /* RFC 5754 */
#define OID_ECDSA_SHA256        "1.2.840.10045.4.3.2"     /* RFC 5758 */
#define OID_SIGNED_DATA         "1.2.840.113549.1.7.2"    /* RFC 5652 §5.1 */
#define OID_CONTENT_TYPE        "1.2.840.113549.1.9.3"    /* RFC 5652 §11.1 */
#define OID_MESSAGE_DIGEST      "1.2.840.113549.1.9.4"    /* RFC 5652 §11.2 */
#define OID_SIGNING_TIME        "1.2.840.113549.1.9.5"    /* RFC 5652 §11.3 */
#define OID_LDS_SECURITY_OBJ    "2.23.136.1.1.1"          /* 9303-10 §4.6.2 */
#define OID_AA                  "2.23.136.1.1.5"          /* 9303-11 §9.2.4 id-AA */
#define OID_ECDSA_PLAIN_SHA256  "0.4.0.127.0.7.1.1.4.1.3" /* BSI TR-03111 */
#define OID_PACE_ECDH_GM_AES128 "0.4.0.127.0.7.2.2.4.2.2" /* 9303-11 §9.2.1 */
#define OID_CA_ECDH_AES128      "0.4.0.127.0.7.2.2.3.2.2" /* 9303-11 §9.2.5 */
#define OID_PK_ECDH             "0.4.0.127.0.7.2.2.1.2"   /* 9303-11 §9.2.6 */
#define OID_CSCA_MASTER_LIST    "2.23.136.1.1.2"          /* 9303-12 id-icao-cscaMasterList */
#define OID_ML_SIGNING_KEY      "2.23.136.1.1.3" /* 9303-12 id-icao-cscaMasterListSigningKey */
#define OID_CRL_NUMBER          "2.5.29.20"      /* RFC 5280 §5.2.3 */
#define OID_AUTHORITY_KEY_ID    "2.5.29.35"      /* RFC 5280 §4.2.1.1 */
#define DER_GENERALIZED_TIME    0x18u
#define DER_CTX0_PRIM           0x80u /* [0] IMPLICIT, primitive */
#define DER_NULL_TAG            0x05u

/* The directories of `hawiya-pki init --out DIR` (docs/pki.md). */
#define PKI_DIR_CSCA       "csca"
#define PKI_DIR_READER_CA  "reader-ca"
#define PKI_DIR_DS         "ds"
#define PKI_DIR_BAD        "bad"
#define PKI_DIR_PRIVATE    "private"
#define PKI_DIR_CRL        "crl"
#define PKI_DIR_MASTERLIST "masterlist"

/* --- buffers and DER ----------------------------------------------------- */
enum pki_err pki_buf_append(struct pki_buf *b, const void *data, size_t n);
/* tag, minimal length, then content. */
enum pki_err der_put(struct pki_buf *b, uint32_t tag, const void *content, size_t n);
/* Same, content taken from another buffer, which is then freed. */
enum pki_err der_wrap(struct pki_buf *b, uint32_t tag, struct pki_buf *content);
/* A non-negative INTEGER. */
enum pki_err der_uint(struct pki_buf *b, uint32_t v);
/* An AlgorithmIdentifier with absent parameters (RFC 5754 §2, RFC 5758 §3.2). */
enum pki_err der_alg_id(struct pki_buf *b, const char *oid);
/*
 * A SET OF with its elements (whole DER objects) in ascending order (X.690
 * §11.6), under `tag` (0x31, or [0] IMPLICIT for signedAttrs). The items are freed.
 */
enum pki_err der_set_of(struct pki_buf *b, uint32_t tag, struct pki_buf *items, size_t n);

/* --- deterministic random generator -------------------------------------- */
struct pki_rng {
    mbedtls_ctr_drbg_context drbg;
    uint8_t key[32]; /* SHA-256(seed, label): the DRBG's only entropy */
    uint32_t counter;
};

enum pki_err pki_rng_init(struct pki_rng *r, uint64_t seed, const char *label);
void pki_rng_free(struct pki_rng *r);
int pki_rng_fn(void *ctx, unsigned char *out, size_t n); /* mbedTLS f_rng */

/* --- keys and certificates ----------------------------------------------- */
enum pki_err pki_gen_key(mbedtls_pk_context *pk, mbedtls_ecp_group_id grp, struct pki_rng *r);
/* SEC 1 ECPrivateKey DER / SubjectPublicKeyInfo DER. */
enum pki_err pki_key_der(mbedtls_pk_context *pk, bool private_key, struct pki_buf *out);

struct pki_cert_spec {
    const char *subject; /* mbedTLS string form: "C=MA,O=...,CN=..." */
    const char *issuer;
    const uint8_t *serial;
    size_t serial_len;
    const char *not_before; /* YYYYMMDDhhmmss */
    const char *not_after;
    bool is_ca;
    int path_len;              /* for a CA; -1 = unlimited */
    bool basic_constraints;    /* write the extension at all */
    unsigned key_usage;        /* MBEDTLS_X509_KU_*; 0: no keyUsage extension */
    const char *ext_key_usage; /* dotted OID of the one extKeyUsage purpose, or NULL */
    const uint8_t *policy;     /* certificatePolicies with this one policy (OID content octets) */
    size_t policy_len;
    bool low_s; /* the issuer's ECDSA signature with s <= n/2 (reader certificates: their one
                   spelling, docs/assertion.md "The reader block") */
    /* privateKeyUsagePeriod (X.509 §9.2.2.5, the ASN.1 of RFC 5280 Appendix A.2), non-critical:
     * GeneralizedTime "YYYYMMDDhhmmssZ" of notBefore / notAfter; both NULL: no extension. */
    const char *pkup_not_before, *pkup_not_after;
    bool pkup_critical; /* mark it critical */
};

enum pki_err pki_make_cert(const struct pki_cert_spec *s, mbedtls_pk_context *subject_key,
                           mbedtls_pk_context *issuer_key, struct pki_rng *r, struct pki_buf *der);

/*
 * A CMS SignedData (RFC 5652 §5) in a ContentInfo: eContent of type
 * econtent_type (dotted OID), the certificates given (whole DER, in this
 * order), one SignerInfo v1 (issuerAndSerialNumber of signer_cert) with
 * signed attributes contentType, messageDigest (SHA-256) and signingTime
 * (UTCTime text), ecdsa-with-SHA256 by signer_key. EF.SOD wraps it in 77.
 */
/* mbedtls_x509_crt_parse_der that also takes a critical privateKeyUsagePeriod. */
int pki_crt_parse_der(mbedtls_x509_crt *chain, const unsigned char *buf, size_t len);

enum pki_err pki_make_signed_data(const char *econtent_type, const struct pki_buf *econtent,
                                  const struct pki_buf *certs, size_t n_certs,
                                  const struct pki_buf *signer_cert, mbedtls_pk_context *signer_key,
                                  const char *signing_time, struct pki_rng *rng,
                                  struct pki_buf *out);

/*
 * An X.509 signed object (a certificate, a CRL): SEQUENCE { tbs, ecdsa-with-SHA256,
 * BIT STRING { key's signature of tbs } }, tbs being the whole DER to be signed.
 */
enum pki_err pki_signed_object(const struct pki_buf *tbs, mbedtls_pk_context *key,
                               struct pki_rng *r, struct pki_buf *out);

/* An ECDSA-with-SHA256 signature of data by key, as DER Ecdsa-Sig-Value. */
enum pki_err pki_sign(mbedtls_pk_context *key, const uint8_t *data, size_t n, struct pki_rng *r,
                      uint8_t *sig, size_t cap, size_t *sig_len);

/* --- files ---------------------------------------------------------------- */
enum pki_err pki_mkdir(const char *dir);
/* dir NULL: name is the whole path. */
enum pki_err pki_write_file(const char *dir, const char *name, const void *data, size_t n);
/* DER and PEM ("CERTIFICATE") of a certificate: name.der and name.pem. */
enum pki_err pki_write_cert_files(const char *dir, const char *name, const struct pki_buf *der);
/* Removes dir/name; a file that is not there is no error. */
enum pki_err pki_remove_file(const char *dir, const char *name);
/* Appends a certificate's PEM to an open text buffer. */
enum pki_err pki_cert_pem(const struct pki_buf *der, struct pki_buf *pem);
enum pki_err pki_read_file(const char *dir, const char *name, struct pki_buf *out);
enum pki_err pki_load_key(const char *dir, const char *name, mbedtls_pk_context *pk);
/* dir/sub as a new string (malloc'd), NULL when out of memory. */
char *pki_path(const char *dir, const char *sub);

void pki_sha256(const void *data, size_t n, uint8_t out[32]);

#endif

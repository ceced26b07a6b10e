/*
 * sod: EF.SOD, the Document Security Object of ICAO Doc 9303-10 §4.6.2, and
 * passive authentication (9303-11 §5.1).
 *
 * EF.SOD is tag 77 around a CMS ContentInfo whose content is SignedData
 * (RFC 5652 §5): version, digestAlgorithms, encapContentInfo (eContentType
 * id-icao-mrtd-security-ldsSecurityObject 2.23.136.1.1.1, eContent the DER
 * LDSSecurityObject { version, hashAlgorithm, dataGroupHashValues SEQUENCE OF
 * { dataGroupNumber, dataGroupHashValue }, ldsVersionInfo OPTIONAL }),
 * certificates [0] with the Document Signer certificate, and one SignerInfo:
 * sid (issuerAndSerialNumber or subjectKeyIdentifier), digestAlgorithm,
 * signedAttrs [0] (contentType, messageDigest, signingTime OPTIONAL),
 * signatureAlgorithm (RSA PKCS #1 v1.5, RSASSA-PSS, ECDSA with SHA-1/2),
 * signature.
 *
 * The parser is strict DER (minimal definite lengths, minimal INTEGERs, no
 * trailing bytes, the SETs of the signed attributes, of each attribute's
 * values and of digestAlgorithms in X.690 §11.6 order: the signature covers
 * the bytes sent, and a verifier that re-encodes them reads the same
 * message), checks every bound and keeps pointers into the caller's buffer.
 * As `openssl cms -verify` does, it requires the SignerInfo's
 * digestAlgorithm among the SignedData's digestAlgorithms; unlike OpenSSL
 * 3.0, also the hash its signatureAlgorithm names (if any) to be that one.
 * The same parser
 * reads ICAO's other signed object, the CSCA Master List of 9303-12 (a
 * ContentInfo whose eContentType is id-icao-cscaMasterList), with
 * sod_parse_cms(). sod_verify() does passive authentication against the caller's CSCA
 * certificates at a caller-given time (common/ has no clock); it uses the
 * mbedTLS X.509 parser, which allocates internally.
 */
#ifndef HAWIYA_SOD_H
#define HAWIYA_SOD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hawiya/sigverify.h"

enum sod_err {
    SOD_OK = 0,
    /* parsing */
    SOD_ERR_WRONG_TAG,             /* the file does not start with tag 77 */
    SOD_ERR_TRUNCATED,             /* a tag, length or value runs past its container */
    SOD_ERR_ENCODING,              /* not DER: indefinite, over-long or non-minimal length, or a
                                      SET OF out of order (signed attributes and their values,
                                      digestAlgorithms) */
    SOD_ERR_TRAILING_DATA,         /* bytes after an object that must end its container */
    SOD_ERR_BAD_STRUCTURE,         /* an element with the wrong tag where one is required */
    SOD_ERR_NOT_SIGNED_DATA,       /* ContentInfo contentType is not id-signedData */
    SOD_ERR_BAD_VERSION,           /* a version number RFC 5652 / 9303 do not allow */
    SOD_ERR_BAD_CONTENT_TYPE,      /* eContentType is not the LDSSecurityObject OID */
    SOD_ERR_BAD_INTEGER,           /* negative, non-minimal or too large INTEGER */
    SOD_ERR_UNSUPPORTED_ALGORITHM, /* a digest or signature algorithm not handled */
    SOD_ERR_TOO_MANY,              /* more hashes or certificates than this module holds */
    SOD_ERR_DUPLICATE_DG,          /* two hashes for one data-group number */
    SOD_ERR_BAD_DG_NUMBER,         /* a dataGroupNumber outside 1..16 */
    SOD_ERR_BAD_SIGNED_ATTRS,      /* signedAttrs absent, or contentType/messageDigest bad */
    SOD_ERR_SIGNER_COUNT,          /* signerInfos does not hold exactly one SignerInfo */
    /* passive authentication */
    SOD_ERR_BAD_ARGUMENT,       /* NULL pointers or no CSCA given */
    SOD_ERR_NO_DS_CERT,         /* no certificate in the SOD matches the signer's sid */
    SOD_ERR_BAD_CERT,           /* a DS or CSCA certificate mbedTLS cannot parse */
    SOD_ERR_DS_NOT_TRUSTED,     /* no given CSCA issued (signed) the DS certificate */
    SOD_ERR_CSCA_EXPIRED,       /* the issuing CSCA is past its notAfter at `now` */
    SOD_ERR_CSCA_NOT_YET_VALID, /* the issuing CSCA is before its notBefore at `now` */
    SOD_ERR_DS_EXPIRED,         /* the DS certificate is past its notAfter at `now` */
    SOD_ERR_DS_NOT_YET_VALID,   /* the DS certificate is before its notBefore at `now` */
    SOD_ERR_SIGNATURE,          /* the SignerInfo signature does not verify */
    SOD_ERR_MESSAGE_DIGEST,     /* messageDigest != hash(eContent) */
    SOD_ERR_DG_MISSING,         /* a data group read has no hash in the SOD */
    SOD_ERR_DG_HASH,            /* a data group read does not hash to its SOD value */
    /* parsing, added later */
    SOD_ERR_DIGEST_ALGORITHMS, /* the SignerInfo's digestAlgorithm is not among digestAlgorithms,
                                  or its signatureAlgorithm names another hash */
};

const char *sod_err_str(enum sod_err e);

/* Certificates in one SignedData: a master list may carry its signer, the signer's CSCA and
 * link certificates. */
#define SOD_MAX_DG    16
#define SOD_MAX_CERTS 8

/* Hash functions (mbedtls_md_type_t values are not exposed here). */
enum sod_hash {
    SOD_HASH_NONE = 0,
    SOD_HASH_SHA1,
    SOD_HASH_SHA224,
    SOD_HASH_SHA256,
    SOD_HASH_SHA384,
    SOD_HASH_SHA512,
};

enum sod_sig_scheme {
    SOD_SIG_RSA_PKCS1, /* rsaEncryption or shaNNNWithRSAEncryption */
    SOD_SIG_RSA_PSS,   /* id-RSASSA-PSS with its parameters */
    SOD_SIG_ECDSA,     /* ecdsa-with-SHAnnn or id-ecPublicKey, DER Ecdsa-Sig-Value */
};

struct sod_dg_hash {
    unsigned number; /* 1..16 */
    const uint8_t *value;
    size_t len;
};

struct sod {
    uint32_t version; /* SignedData version: 3 (1 tolerated) */
    /* encapContentInfo: eContentType's OID content octets, and eContent's content octets (the
     * LDSSecurityObject of an EF.SOD, parsed into the fields below; the CscaMasterList of a
     * master list, left to the caller) */
    const uint8_t *econtent_type;
    size_t econtent_type_len;
    const uint8_t *econtent;
    size_t econtent_len;
    uint32_t lds_so_version;      /* 0, or 1 with ldsVersionInfo (LDS 1.8) */
    enum sod_hash hash_algorithm; /* of the data-group hashes */
    struct sod_dg_hash dg[SOD_MAX_DG];
    size_t n_dg;
    bool has_lds_version;
    char lds_version[9];     /* PrintableString, e.g. "0108" */
    char unicode_version[9]; /* e.g. "040000" */
    /* certificates [0]: whole DER certificates */
    const uint8_t *cert[SOD_MAX_CERTS];
    size_t cert_len[SOD_MAX_CERTS];
    size_t n_certs;
    /* the SignerInfo */
    uint32_t signer_version;   /* 1: issuerAndSerialNumber, 3: subjectKeyIdentifier */
    const uint8_t *sid_issuer; /* issuer Name, whole DER object */
    size_t sid_issuer_len;
    const uint8_t *sid_serial; /* serialNumber INTEGER content octets */
    size_t sid_serial_len;
    const uint8_t *sid_ski; /* subjectKeyIdentifier octets */
    size_t sid_ski_len;
    enum sod_hash digest_algorithm;
    const uint8_t *signed_attrs; /* the whole [0] IMPLICIT object (tag A0) */
    size_t signed_attrs_len;
    const uint8_t *message_digest;
    size_t message_digest_len;
    const uint8_t *signing_time; /* UTCTime/GeneralizedTime content, NULL if absent */
    size_t signing_time_len;
    /* its tag, 0x17 UTCTime or 0x18 GeneralizedTime (X.680 §47, §46): the same digits read
     * differently under each (RFC 5280 §4.1.2.5), so a reader must know which it holds */
    uint8_t signing_time_tag;
    enum sod_sig_scheme sig_scheme;
    enum sod_hash sig_hash; /* hash named by signatureAlgorithm: NONE or digest_algorithm */
    enum sod_hash pss_mgf1_hash;
    uint32_t pss_salt_len;
    const uint8_t *signature;
    size_t signature_len;
};

/* Parses EF.SOD (77 ...) from buf[0..len). On error *out is zeroed. */
enum sod_err sod_parse(const uint8_t *buf, size_t len, struct sod *out);

/*
 * The same CMS SignedData rules for a bare ContentInfo (no 77 around it)
 * whose eContentType is the OID with content octets type[0..type_len) (the
 * contentType signed attribute must name it too); eContent is not parsed
 * and the LDSSecurityObject fields stay empty. SOD_ERR_BAD_CONTENT_TYPE for
 * another type.
 */
enum sod_err sod_parse_cms(const uint8_t *buf, size_t len, const uint8_t *type, size_t type_len,
                           struct sod *out);

/* id-icao-cscaMasterList, 2.23.136.1.1.2 (9303-12), content octets. */
extern const uint8_t sod_oid_csca_master_list[6];

/* Output length of a hash (20..64), 0 for SOD_HASH_NONE. */
size_t sod_hash_len(enum sod_hash h);

/* The hash in the LDSSecurityObject for data group `number`, NULL if none. */
const struct sod_dg_hash *sod_find_dg(const struct sod *sod, unsigned number);

/* A UTC instant, compared with the certificates' validity. */
struct sod_time {
    uint16_t year; /* 4 digits */
    uint8_t mon, day, hour, min, sec;
};

/* A data group as read from the chip: its number and its whole file. */
struct sod_dg_data {
    unsigned number;
    const uint8_t *data;
    size_t len;
};

struct sod_verify_result {
    size_t ds_cert_index; /* which sod->cert[] is the Document Signer */
    size_t csca_index;    /* which of the given CSCA certificates issued it */
    unsigned failed_dg;   /* the data group of SOD_ERR_DG_MISSING / SOD_ERR_DG_HASH */
};

/*
 * Passive authentication (9303-11 §5.1), in this order, stopping at the
 * first failure:
 *   1. the DS certificate is the one sid names (SOD_ERR_NO_DS_CERT);
 *   2. one of the CSCA certificates csca[i] (DER, csca_len[i] bytes) has the
 *      DS issuer as subject, is a CA and its key verifies the DS certificate
 *      signature (SOD_ERR_DS_NOT_TRUSTED); it is valid at `now`
 *      (SOD_ERR_CSCA_EXPIRED / _NOT_YET_VALID);
 *   3. the DS certificate is valid at `now` (SOD_ERR_DS_EXPIRED / _NOT_YET_VALID);
 *   4. the signature verifies with the DS key over the DER SET OF signed
 *      attributes (the [0] re-tagged 0x31, RFC 5652 §5.4) (SOD_ERR_SIGNATURE);
 *   5. messageDigest == digestAlgorithm(eContent) (SOD_ERR_MESSAGE_DIGEST);
 *   6. each given data group hashes to its value (SOD_ERR_DG_MISSING,
 *      SOD_ERR_DG_HASH, with res->failed_dg).
 * eng does the ECDSA arithmetic of steps 2 and 4 (hawiya/sigverify.h; NULL:
 * mbedTLS). res may be NULL.
 */
enum sod_err sod_verify(const struct sod *sod, const uint8_t *const *csca, const size_t *csca_len,
                        size_t n_csca, const struct sod_time *now, const struct sod_dg_data *dgs,
                        size_t n_dgs, const struct sigverify_engine *eng,
                        struct sod_verify_result *res);

/* Step 1 for one certificate: is c the one the SignerInfo's sid names? */
bool sod_is_signer(const struct sod *sod, const mbedtls_x509_crt *c);

/*
 * Steps 4 and 5 with the signer certificate the caller chose and judged
 * (its profile, its chain, its validity): the signature over the signed
 * attributes with signer's key, then messageDigest against eContent.
 * SOD_ERR_SIGNATURE, SOD_ERR_MESSAGE_DIGEST or SOD_ERR_UNSUPPORTED_ALGORITHM.
 */
enum sod_err sod_check_signed(const struct sod *sod, const mbedtls_x509_crt *signer,
                              const struct sigverify_engine *eng);

/* Step 6 alone for one data group. */
enum sod_err sod_check_dg(const struct sod *sod, unsigned number, const uint8_t *data, size_t len);

#endif

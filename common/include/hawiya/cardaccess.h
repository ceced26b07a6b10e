/*
 * cardaccess: the SecurityInfos of ICAO Doc 9303-11 §9.2 (BSI TR-03110-3
 * A.1.1), as stored in EF.CardAccess (PACE parameters, readable before any
 * access control) and in DG14 (Chip Authentication, Active Authentication).
 *
 *   SecurityInfos ::= SET OF SecurityInfo
 *   SecurityInfo  ::= SEQUENCE { protocol OBJECT IDENTIFIER,
 *                                requiredData ANY, optionalData ANY OPTIONAL }
 *
 * Recognised entries: PACEInfo (§9.2.1), PACEDomainParameterInfo (§9.2.2),
 * ChipAuthenticationInfo (§9.2.5), ChipAuthenticationPublicKeyInfo (§9.2.6),
 * ActiveAuthenticationInfo (§9.2.4). Entries with other protocol OIDs
 * (TerminalAuthenticationInfo, EFDIR, proprietary ones) are counted and
 * skipped, as §9.2 requires of an inspection system.
 *
 * The encoding must be DER: minimal length fields, minimal non-negative
 * INTEGERs, no bytes after the SET. Parsing never copies large objects: a
 * ChipAuthenticationPublicKeyInfo keeps a pointer to its
 * SubjectPublicKeyInfo inside the caller's buffer.
 */
#ifndef HAWIYA_CARDACCESS_H
#define HAWIYA_CARDACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hawiya/icao_crypto.h"

enum cardaccess_err {
    CARDACCESS_OK = 0,
    CARDACCESS_ERR_NOT_SET,            /* the outer object is not a SET (tag 31) */
    CARDACCESS_ERR_NOT_DG14,           /* DG14 does not start with tag 6E */
    CARDACCESS_ERR_TRUNCATED,          /* a tag, length or value runs past its container */
    CARDACCESS_ERR_NON_MINIMAL_LENGTH, /* a length field that DER forbids */
    CARDACCESS_ERR_TRAILING_DATA,      /* bytes after the SET or inside a SEQUENCE's end */
    CARDACCESS_ERR_BAD_SECURITY_INFO,  /* an element is not SEQUENCE { OID, ... } */
    CARDACCESS_ERR_BAD_OID,            /* an empty or over-long OBJECT IDENTIFIER */
    CARDACCESS_ERR_BAD_INTEGER,        /* negative, non-minimal or above 2^32-1 */
    CARDACCESS_ERR_BAD_PUBLIC_KEY,     /* a SubjectPublicKeyInfo that is not one */
    CARDACCESS_ERR_TOO_MANY,           /* more entries of one kind than this module holds */
    CARDACCESS_ERR_NO_PACE,            /* cardaccess_select_pace: nothing supported */
};

const char *cardaccess_err_str(enum cardaccess_err e);

/* Key agreement and mapping named by the protocol OID (9303-11 §9.2.1). */
enum pace_ka {
    PACE_KA_DH,
    PACE_KA_ECDH,
};

enum pace_mapping {
    PACE_MAPPING_GM,  /* Generic Mapping, §4.4.3.3.1 */
    PACE_MAPPING_IM,  /* Integrated Mapping, §4.4.3.3.2 (recognised, not supported) */
    PACE_MAPPING_CAM, /* Chip Authentication Mapping, §4.4.3.3.3 (recognised, not supported) */
};

#define CARDACCESS_OID_MAX     16
#define CARDACCESS_MAX_PACE    8
#define CARDACCESS_MAX_PACE_DP 4
#define CARDACCESS_MAX_CA      4
#define CARDACCESS_MAX_CA_PK   4

/* Standardized domain parameters, 9303-11 §9.5.1 Table 7. */
#define PACE_PARAM_MODP1024_160 0
#define PACE_PARAM_MODP2048_224 1
#define PACE_PARAM_MODP2048_256 2
#define PACE_PARAM_SECP192R1    8
#define PACE_PARAM_BP192R1      9
#define PACE_PARAM_SECP224R1    10
#define PACE_PARAM_BP224R1      11
#define PACE_PARAM_SECP256R1    12
#define PACE_PARAM_BP256R1      13
#define PACE_PARAM_BP320R1      14
#define PACE_PARAM_SECP384R1    15
#define PACE_PARAM_BP384R1      16
#define PACE_PARAM_BP512R1      17
#define PACE_PARAM_SECP521R1    18

/* PACEInfo ::= SEQUENCE { protocol, version INTEGER, parameterId INTEGER OPTIONAL } */
struct pace_info {
    uint8_t oid[CARDACCESS_OID_MAX]; /* content octets of the protocol OID */
    size_t oid_len;
    enum pace_ka ka;
    enum pace_mapping mapping;
    enum icao_cipher cipher;
    uint32_t version; /* 2 for this edition of 9303 */
    bool has_parameter_id;
    uint32_t parameter_id;
};

/* PACEDomainParameterInfo: proprietary domain parameters (kept as raw DER). */
struct pace_dp_info {
    uint8_t oid[CARDACCESS_OID_MAX]; /* id-PACE-DH-GM, id-PACE-ECDH-GM, ... */
    size_t oid_len;
    const uint8_t *domain_parameter; /* AlgorithmIdentifier, whole DER object */
    size_t domain_parameter_len;
    bool has_parameter_id;
    uint32_t parameter_id;
};

/* ChipAuthenticationInfo ::= SEQUENCE { protocol, version, keyId INTEGER OPTIONAL } */
struct ca_info {
    uint8_t oid[CARDACCESS_OID_MAX];
    size_t oid_len;
    enum pace_ka ka; /* id-CA-DH-* or id-CA-ECDH-* */
    enum icao_cipher cipher;
    uint32_t version; /* 1 or 2 */
    bool has_key_id;
    uint32_t key_id;
};

/*
 * ChipAuthenticationPublicKeyInfo ::= SEQUENCE { protocol id-PK-DH | id-PK-ECDH,
 *   chipAuthenticationPublicKey SubjectPublicKeyInfo, keyId INTEGER OPTIONAL }
 */
struct ca_pk_info {
    enum pace_ka ka;
    const uint8_t *spki; /* the SubjectPublicKeyInfo, whole DER object, in the caller's buffer */
    size_t spki_len;
    bool has_key_id;
    uint32_t key_id;
};

/* ActiveAuthenticationInfo ::= SEQUENCE { protocol id-AA, version 1, signatureAlgorithm OID } */
struct aa_info {
    uint32_t version;
    uint8_t signature_algorithm[CARDACCESS_OID_MAX];
    size_t signature_algorithm_len;
};

struct security_infos {
    struct pace_info pace[CARDACCESS_MAX_PACE];
    size_t n_pace;
    struct pace_dp_info pace_dp[CARDACCESS_MAX_PACE_DP];
    size_t n_pace_dp;
    struct ca_info ca[CARDACCESS_MAX_CA];
    size_t n_ca;
    struct ca_pk_info ca_pk[CARDACCESS_MAX_CA_PK];
    size_t n_ca_pk;
    bool has_aa;
    struct aa_info aa;
    size_t n_other; /* well-formed SecurityInfos with an unrecognised protocol */
};

/*
 * Parses SecurityInfos (EF.CardAccess is exactly this) from buf[0..len).
 * On error *out is zeroed.
 */
enum cardaccess_err cardaccess_parse(const uint8_t *buf, size_t len, struct security_infos *out);

/* DG14 (9303-10 §4.7.14): tag 6E wrapping the SecurityInfos. */
enum cardaccess_err cardaccess_parse_dg14(const uint8_t *buf, size_t len,
                                          struct security_infos *out);

/*
 * True if pace.c can run this PACEInfo: version 2, Generic Mapping, ECDH on
 * a standardized curve that mbedTLS has compiled in, or DH on one of the
 * standardized RFC 5114 groups (parameterId 0-2).
 */
bool pace_info_supported(const struct pace_info *pi);

/*
 * The reader's choice (§4.4.1: the terminal picks one PACEInfo): among the
 * supported entries ECDH before DH, then the strongest cipher, then the
 * largest curve.
 * *index receives its position in infos->pace.
 */
enum cardaccess_err cardaccess_select_pace(const struct security_infos *infos, size_t *index);

/*
 * True if MSE:Set AT must name the domain parameters (DO'84', §4.4.4.1):
 * another PACEInfo has the same protocol OID with another parameterId, or
 * the card lists proprietary PACEDomainParameterInfos. Pass the result as
 * PACE_FLAG_SEND_PARAMETER_ID to pace_begin().
 */
bool cardaccess_pace_ambiguous(const struct security_infos *infos, size_t index);

/* Bit length of the curve or of the DH modulus of a standardized parameterId, 0 if unknown. */
unsigned pace_param_bits(uint32_t parameter_id);

/*
 * The mbedtls_ecp_group_id of a standardized EC parameterId, or 0
 * (MBEDTLS_ECP_DP_NONE) if it is not one or mbedTLS lacks the curve
 * (brainpoolP192r1, P224r1 and P320r1 are not in mbedTLS).
 */
int pace_param_ecp_group(uint32_t parameter_id);

#endif

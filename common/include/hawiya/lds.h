/*
 * lds: the Logical Data Structure of ICAO Doc 9303-10 (eighth edition): the
 * elementary files of the eMRTD application (§4.6 EF.COM, §4.6.2 EF.SOD,
 * §4.7 the data groups), their tags, file identifiers and short EF
 * identifiers (§4.6.1 / §4.7, the LDS1 file table), and parsers for the
 * files a reader needs: EF.COM, DG1 (MRZ, §4.7.1), DG2 (outer template only,
 * §4.7.2), DG11 (additional personal details, §4.7.11), DG14 (security
 * options, §4.7.14, parsed by hawiya/cardaccess.h) and DG15 (Active
 * Authentication public key, §4.7.15).
 *
 * Every file is hostile input: each tag, length and value is bounds-checked
 * and a named error comes back. Parsers never copy large values: they keep
 * pointers into the caller's buffer, which must outlive the result. On any
 * error the output struct is zeroed (DG1 keeps cd_fail, see below).
 * Lengths may use the long form even where a shorter one fits (BER, as some
 * issuers write it); the hash in EF.SOD covers the bytes as read anyway.
 */
#ifndef HAWIYA_LDS_H
#define HAWIYA_LDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mbedtls/pk.h>

#include "hawiya/cardaccess.h"
#include "hawiya/mrz.h"

enum lds_err {
    LDS_OK = 0,
    LDS_ERR_WRONG_TAG,       /* the file does not start with its own tag (60, 61, 75, ...) */
    LDS_ERR_TRUNCATED,       /* a tag, length or value runs past its container */
    LDS_ERR_ENCODING,        /* not BER-TLV: bad tag, indefinite or over-long length */
    LDS_ERR_TRAILING_DATA,   /* bytes after the file's outer object */
    LDS_ERR_MISSING,         /* a mandatory data object is absent */
    LDS_ERR_DUPLICATE,       /* a data object that may appear once appears twice */
    LDS_ERR_BAD_VALUE,       /* a value of the wrong size or characters */
    LDS_ERR_BAD_UTF8,        /* DG11: a text field that is not well-formed UTF-8 */
    LDS_ERR_TOO_MANY,        /* more entries than this module holds */
    LDS_ERR_MRZ,             /* DG1: not a TD1, TD2 or TD3 MRZ */
    LDS_ERR_MRZ_CHECK_DIGIT, /* DG1: a check digit does not match (see cd_fail) */
    LDS_ERR_SECURITY_INFOS,  /* DG14: SecurityInfos rejected by cardaccess_parse */
    LDS_ERR_PUBLIC_KEY,      /* DG15: not a SubjectPublicKeyInfo mbedTLS can parse */
    LDS_ERR_UNSUPPORTED_KEY, /* DG15: a key that is neither RSA nor EC */
};

const char *lds_err_str(enum lds_err e);

/* --- files: 9303-10 LDS1 file table ------------------------------------- */

/* File numbers: 0 = EF.COM, 1..16 = DG1..DG16, 17 = EF.SOD. */
#define LDS_EF_COM 0u
#define LDS_DG_MAX 16u
#define LDS_EF_SOD 17u

struct lds_file {
    unsigned number;  /* LDS_EF_COM, 1..16, LDS_EF_SOD */
    uint8_t tag;      /* first byte of the file: 60, 61, 75, ..., 77 */
    uint16_t fid;     /* 011E, 0101..0110, 011D */
    uint8_t sfi;      /* short EF identifier: 1E, 01..10, 1D */
    const char *name; /* "EF.COM", "DG1", ..., "EF.SOD" */
};

/* Table lookups; NULL if nothing matches. */
const struct lds_file *lds_file_by_number(unsigned number);
const struct lds_file *lds_file_by_tag(uint8_t tag);
const struct lds_file *lds_file_by_fid(uint16_t fid);
const struct lds_file *lds_file_by_sfi(uint8_t sfi);

/* --- EF.COM (§4.6.1): 60 { 5F01 LDS version, 5F36 Unicode version, 5C tag list } --- */

struct lds_com {
    char lds_version[5];      /* "0107": 4 digits aabb, LDS version aa.bb */
    char unicode_version[7];  /* "040000": 6 digits aabbcc */
    uint8_t tags[LDS_DG_MAX]; /* data-group tags present, as listed */
    size_t n_tags;
};

enum lds_err lds_com_parse(const uint8_t *buf, size_t len, struct lds_com *out);

/* --- DG1 (§4.7.1): 61 { 5F1F MRZ } ----------------------------------------- */

struct lds_dg1 {
    struct mrz mrz;
    unsigned cd_fail; /* MRZ_CD_ bits; kept on LDS_ERR_MRZ_CHECK_DIGIT */
};

/*
 * The MRZ is 90 (TD1), 72 (TD2) or 88 (TD3) characters without line
 * breaks. Every check digit must match: otherwise LDS_ERR_MRZ_CHECK_DIGIT,
 * with out->mrz zeroed and out->cd_fail naming the failing digits.
 */
enum lds_err lds_dg1_parse(const uint8_t *buf, size_t len, struct lds_dg1 *out);

/* --- DG2 (§4.7.2): 75 { biometric templates }, kept raw ------------------- */

struct lds_dg2 {
    const uint8_t *value; /* content of the 75 template */
    size_t len;
};

enum lds_err lds_dg2_parse(const uint8_t *buf, size_t len, struct lds_dg2 *out);

/* --- DG11 (§4.7.11): additional personal details --------------------------- */

#define LDS_DG11_MAX_TAGS        16
#define LDS_DG11_MAX_OTHER_NAMES 8

/* A value inside the caller's buffer; p == NULL when the object is absent. */
struct lds_bytes {
    const uint8_t *p;
    size_t len;
};

/*
 * Text fields are UTF-8 (checked well-formed), not NUL-terminated, with the
 * MRZ-style '<' separators as the issuer wrote them. full_date_of_birth is
 * kept raw and not checked as text: 9303 asks for 8 digits yyyymmdd but
 * older issuers wrote 4 BCD bytes. proof_of_citizenship is an image.
 */
struct lds_dg11 {
    uint16_t tags[LDS_DG11_MAX_TAGS]; /* the 5C tag list: 5F0E, 5F0F, ... */
    size_t n_tags;
    struct lds_bytes full_name;                             /* 5F0E */
    struct lds_bytes other_names[LDS_DG11_MAX_OTHER_NAMES]; /* 5F0F, in A0 {02 n, 5F0F...} */
    size_t n_other_names;
    struct lds_bytes personal_number;      /* 5F10 */
    struct lds_bytes full_date_of_birth;   /* 5F2B */
    struct lds_bytes place_of_birth;       /* 5F11 */
    struct lds_bytes address;              /* 5F42 */
    struct lds_bytes telephone;            /* 5F12 */
    struct lds_bytes profession;           /* 5F13 */
    struct lds_bytes title;                /* 5F14 */
    struct lds_bytes personal_summary;     /* 5F15 */
    struct lds_bytes proof_of_citizenship; /* 5F16 (image, raw) */
    struct lds_bytes other_td_numbers;     /* 5F17 */
    struct lds_bytes custody_information;  /* 5F18 */
};

enum lds_err lds_dg11_parse(const uint8_t *buf, size_t len, struct lds_dg11 *out);

/* True if s[0..n) is well-formed UTF-8 (RFC 3629: no overlongs, surrogates, > U+10FFFF). */
bool lds_utf8_valid(const uint8_t *s, size_t n);

/* --- DG14 (§4.7.14): 6E { SecurityInfos } ---------------------------------- */

/* cardaccess_parse_dg14(); its own error is in *ca_err if ca_err is not NULL. */
enum lds_err lds_dg14_parse(const uint8_t *buf, size_t len, struct security_infos *out,
                            enum cardaccess_err *ca_err);

/* --- DG15 (§4.7.15): 6F { SubjectPublicKeyInfo } --------------------------- */

enum lds_key_type {
    LDS_KEY_NONE = 0,
    LDS_KEY_RSA,
    LDS_KEY_EC, /* id-ecPublicKey with a named curve or explicit parameters */
};

struct lds_dg15 {
    const uint8_t *spki; /* the whole SubjectPublicKeyInfo, in the caller's buffer */
    size_t spki_len;
    enum lds_key_type type;
    size_t key_bits; /* RSA modulus bits, or EC field size in bits (mbedtls_pk_get_bitlen) */
};

/*
 * Parses the key with mbedtls_pk_parse_public_key. If pk is not NULL (an
 * mbedtls_pk_init()ed context) it receives the key, for aa_verify(); the
 * caller frees it. On error pk is freed again (and re-initialised).
 */
enum lds_err lds_dg15_parse(const uint8_t *buf, size_t len, struct lds_dg15 *out,
                            mbedtls_pk_context *pk);

#endif

#include "hawiya/cardaccess.h"

#include <string.h>

#include <mbedtls/asn1.h>
#include <mbedtls/ecp.h>

const char *cardaccess_err_str(enum cardaccess_err e)
{
    switch (e) {
    case CARDACCESS_OK: return "CARDACCESS_OK";
    case CARDACCESS_ERR_NOT_SET: return "CARDACCESS_ERR_NOT_SET";
    case CARDACCESS_ERR_NOT_DG14: return "CARDACCESS_ERR_NOT_DG14";
    case CARDACCESS_ERR_TRUNCATED: return "CARDACCESS_ERR_TRUNCATED";
    case CARDACCESS_ERR_NON_MINIMAL_LENGTH: return "CARDACCESS_ERR_NON_MINIMAL_LENGTH";
    case CARDACCESS_ERR_TRAILING_DATA: return "CARDACCESS_ERR_TRAILING_DATA";
    case CARDACCESS_ERR_BAD_SECURITY_INFO: return "CARDACCESS_ERR_BAD_SECURITY_INFO";
    case CARDACCESS_ERR_BAD_OID: return "CARDACCESS_ERR_BAD_OID";
    case CARDACCESS_ERR_BAD_INTEGER: return "CARDACCESS_ERR_BAD_INTEGER";
    case CARDACCESS_ERR_BAD_PUBLIC_KEY: return "CARDACCESS_ERR_BAD_PUBLIC_KEY";
    case CARDACCESS_ERR_TOO_MANY: return "CARDACCESS_ERR_TOO_MANY";
    case CARDACCESS_ERR_NO_PACE: return "CARDACCESS_ERR_NO_PACE";
    }
    return "CARDACCESS_ERR_UNKNOWN";
}

/* bsi-de protocols smartcard (0.4.0.127.0.7.2.2), TR-03110-3 A.1.1. */
static const uint8_t oid_pace[] = {0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x04};
static const uint8_t oid_ca[] = {0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x03};
static const uint8_t oid_pk[] = {0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x01};
/* id-icao-mrtd-security-aaProtocolObject, 2.23.136.1.1.5 (9303-11 §9.2.4). */
static const uint8_t oid_aa[] = {0x67, 0x81, 0x08, 0x01, 0x01, 0x05};

#define PREFIX_LEN 8

static bool has_prefix(const uint8_t *oid, size_t len, const uint8_t *prefix, size_t plen)
{
    return len >= plen && memcmp(oid, prefix, plen) == 0;
}

/* Header bytes DER allows for a value of `len` bytes behind a one-byte tag. */
static size_t der_header_len(size_t len)
{
    if (len < 0x80)
        return 2;
    if (len <= 0xFF)
        return 3;
    if (len <= 0xFFFF)
        return 4;
    if (len <= 0xFFFFFF)
        return 5;
    return 6;
}

static enum cardaccess_err map_asn1(int ret)
{
    if (ret == MBEDTLS_ERR_ASN1_OUT_OF_DATA)
        return CARDACCESS_ERR_TRUNCATED;
    if (ret == MBEDTLS_ERR_ASN1_INVALID_LENGTH)
        return CARDACCESS_ERR_NON_MINIMAL_LENGTH;
    return CARDACCESS_ERR_BAD_SECURITY_INFO;
}

/*
 * One DER object with a one-byte tag at *p; on success *p points at its
 * value, *len is the value length (within end). Returns `wrong_tag` if the
 * tag differs, so a caller can tell an absent OPTIONAL element.
 */
static enum cardaccess_err der_get(const uint8_t **p, const uint8_t *end, int tag, size_t *len,
                                   enum cardaccess_err wrong_tag)
{
    unsigned char *q = (unsigned char *)*p;
    if (*p >= end)
        return CARDACCESS_ERR_TRUNCATED;
    if (**p != tag)
        return wrong_tag;
    int ret = mbedtls_asn1_get_tag(&q, end, len, tag);
    if (ret != 0)
        return map_asn1(ret);
    if ((size_t)(q - *p) != der_header_len(*len))
        return CARDACCESS_ERR_NON_MINIMAL_LENGTH;
    *p = q;
    return CARDACCESS_OK;
}

/* Skips one DER object of any tag (ANY in the SecurityInfo syntax). */
static enum cardaccess_err der_skip(const uint8_t **p, const uint8_t *end)
{
    const uint8_t *q = *p;
    size_t len;
    if (q >= end)
        return CARDACCESS_ERR_TRUNCATED;
    if ((*q & 0x1F) == 0x1F) {
        /* High tag number form: subsequent bytes while b8 is set, at most 3 of them. */
        size_t n = 0;
        do {
            q++;
            n++;
            if (q >= end)
                return CARDACCESS_ERR_TRUNCATED;
            if (n > 3)
                return CARDACCESS_ERR_BAD_SECURITY_INFO;
        } while (*q & 0x80);
    }
    q++;
    const uint8_t *len_start = q;
    unsigned char *lp = (unsigned char *)q;
    int ret = mbedtls_asn1_get_len(&lp, end, &len);
    if (ret != 0)
        return map_asn1(ret);
    if ((size_t)(lp - len_start) != der_header_len(len) - 1)
        return CARDACCESS_ERR_NON_MINIMAL_LENGTH;
    *p = lp + len;
    return CARDACCESS_OK;
}

static enum cardaccess_err der_oid(const uint8_t **p, const uint8_t *end, const uint8_t **oid,
                                   size_t *oid_len)
{
    const uint8_t *q = *p;
    enum cardaccess_err e = der_get(&q, end, MBEDTLS_ASN1_OID, oid_len, CARDACCESS_ERR_BAD_OID);
    if (e != CARDACCESS_OK)
        return e;
    /* X.690 8.19: at least one subidentifier, the last byte of each with b8 clear. */
    if (*oid_len == 0 || (q[*oid_len - 1] & 0x80) != 0)
        return CARDACCESS_ERR_BAD_OID;
    *oid = q;
    *p = q + *oid_len;
    return CARDACCESS_OK;
}

/* A DER INTEGER in 0..2^32-1 (X.690 8.3: minimal two's complement). */
static enum cardaccess_err der_uint32(const uint8_t **p, const uint8_t *end, uint32_t *v,
                                      enum cardaccess_err wrong_tag)
{
    size_t len;
    enum cardaccess_err e = der_get(p, end, MBEDTLS_ASN1_INTEGER, &len, wrong_tag);
    if (e != CARDACCESS_OK)
        return e;
    const uint8_t *q = *p;
    if (len == 0 || len > 5 || (q[0] & 0x80) != 0)
        return CARDACCESS_ERR_BAD_INTEGER;
    if (len > 1 && q[0] == 0 && (q[1] & 0x80) == 0)
        return CARDACCESS_ERR_BAD_INTEGER;
    if (len == 5 && q[0] != 0)
        return CARDACCESS_ERR_BAD_INTEGER;
    uint32_t x = 0;
    for (size_t i = 0; i < len; i++)
        x = x << 8 | q[i];
    *v = x;
    *p += len;
    return CARDACCESS_OK;
}

/* An OPTIONAL trailing INTEGER, then the end of the SEQUENCE. */
static enum cardaccess_err optional_uint32_then_end(const uint8_t **p, const uint8_t *end,
                                                    bool *has, uint32_t *v)
{
    *has = false;
    if (*p == end)
        return CARDACCESS_OK;
    enum cardaccess_err e = der_uint32(p, end, v, CARDACCESS_ERR_TRAILING_DATA);
    if (e != CARDACCESS_OK)
        return e;
    *has = true;
    return *p == end ? CARDACCESS_OK : CARDACCESS_ERR_TRAILING_DATA;
}

static bool cipher_of(uint8_t b, enum icao_cipher *c)
{
    switch (b) {
    case 1: *c = ICAO_3DES; return true;
    case 2: *c = ICAO_AES128; return true;
    case 3: *c = ICAO_AES192; return true;
    case 4: *c = ICAO_AES256; return true;
    }
    return false;
}

/* id-PACE-{DH,ECDH}-{GM,IM}, id-PACE-ECDH-CAM (TR-03110-3 A.1.1.1). */
static bool pace_kind(uint8_t b, enum pace_ka *ka, enum pace_mapping *m)
{
    switch (b) {
    case 1: *ka = PACE_KA_DH, *m = PACE_MAPPING_GM; return true;
    case 2: *ka = PACE_KA_ECDH, *m = PACE_MAPPING_GM; return true;
    case 3: *ka = PACE_KA_DH, *m = PACE_MAPPING_IM; return true;
    case 4: *ka = PACE_KA_ECDH, *m = PACE_MAPPING_IM; return true;
    case 6: *ka = PACE_KA_ECDH, *m = PACE_MAPPING_CAM; return true;
    }
    return false;
}

static enum cardaccess_err parse_pace_info(const uint8_t *oid, size_t oid_len, const uint8_t *p,
                                           const uint8_t *end, struct security_infos *out)
{
    struct pace_info pi;
    memset(&pi, 0, sizeof pi);
    if (!pace_kind(oid[PREFIX_LEN], &pi.ka, &pi.mapping) ||
        !cipher_of(oid[PREFIX_LEN + 1], &pi.cipher)) {
        /* A PACE variant this edition does not define: skip it like any unknown protocol. */
        out->n_other++;
        return CARDACCESS_OK;
    }
    memcpy(pi.oid, oid, oid_len);
    pi.oid_len = oid_len;
    enum cardaccess_err e = der_uint32(&p, end, &pi.version, CARDACCESS_ERR_BAD_SECURITY_INFO);
    if (e != CARDACCESS_OK)
        return e;
    e = optional_uint32_then_end(&p, end, &pi.has_parameter_id, &pi.parameter_id);
    if (e != CARDACCESS_OK)
        return e;
    if (out->n_pace >= CARDACCESS_MAX_PACE)
        return CARDACCESS_ERR_TOO_MANY;
    out->pace[out->n_pace++] = pi;
    return CARDACCESS_OK;
}

static enum cardaccess_err parse_pace_dp_info(const uint8_t *oid, size_t oid_len, const uint8_t *p,
                                              const uint8_t *end, struct security_infos *out)
{
    struct pace_dp_info dp;
    size_t len;
    memset(&dp, 0, sizeof dp);
    memcpy(dp.oid, oid, oid_len);
    dp.oid_len = oid_len;
    /* domainParameter AlgorithmIdentifier ::= SEQUENCE { algorithm OID, parameters ANY OPTIONAL }
     */
    const uint8_t *start = p;
    enum cardaccess_err e = der_get(&p, end, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE, &len,
                                    CARDACCESS_ERR_BAD_SECURITY_INFO);
    if (e != CARDACCESS_OK)
        return e;
    const uint8_t *alg_end = p + len;
    const uint8_t *alg_oid;
    size_t alg_oid_len;
    e = der_oid(&p, alg_end, &alg_oid, &alg_oid_len);
    if (e != CARDACCESS_OK)
        return e;
    if (p < alg_end) {
        e = der_skip(&p, alg_end);
        if (e != CARDACCESS_OK)
            return e;
    }
    if (p != alg_end)
        return CARDACCESS_ERR_TRAILING_DATA;
    dp.domain_parameter = start;
    dp.domain_parameter_len = (size_t)(alg_end - start);
    e = optional_uint32_then_end(&p, end, &dp.has_parameter_id, &dp.parameter_id);
    if (e != CARDACCESS_OK)
        return e;
    if (out->n_pace_dp >= CARDACCESS_MAX_PACE_DP)
        return CARDACCESS_ERR_TOO_MANY;
    out->pace_dp[out->n_pace_dp++] = dp;
    return CARDACCESS_OK;
}

static enum cardaccess_err parse_ca_info(const uint8_t *oid, size_t oid_len, const uint8_t *p,
                                         const uint8_t *end, struct security_infos *out)
{
    struct ca_info ci;
    memset(&ci, 0, sizeof ci);
    if ((oid[PREFIX_LEN] != 1 && oid[PREFIX_LEN] != 2) ||
        !cipher_of(oid[PREFIX_LEN + 1], &ci.cipher)) {
        out->n_other++;
        return CARDACCESS_OK;
    }
    ci.ka = oid[PREFIX_LEN] == 1 ? PACE_KA_DH : PACE_KA_ECDH;
    memcpy(ci.oid, oid, oid_len);
    ci.oid_len = oid_len;
    enum cardaccess_err e = der_uint32(&p, end, &ci.version, CARDACCESS_ERR_BAD_SECURITY_INFO);
    if (e != CARDACCESS_OK)
        return e;
    e = optional_uint32_then_end(&p, end, &ci.has_key_id, &ci.key_id);
    if (e != CARDACCESS_OK)
        return e;
    if (out->n_ca >= CARDACCESS_MAX_CA)
        return CARDACCESS_ERR_TOO_MANY;
    out->ca[out->n_ca++] = ci;
    return CARDACCESS_OK;
}

/* SubjectPublicKeyInfo ::= SEQUENCE { AlgorithmIdentifier, subjectPublicKey BIT STRING } */
static enum cardaccess_err check_spki(const uint8_t **p, const uint8_t *end, size_t *spki_len)
{
    const uint8_t *start = *p, *q = *p;
    size_t len;
    enum cardaccess_err e = der_get(&q, end, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE, &len,
                                    CARDACCESS_ERR_BAD_PUBLIC_KEY);
    if (e != CARDACCESS_OK)
        return e;
    const uint8_t *spki_end = q + len;
    e = der_get(&q, spki_end, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE, &len,
                CARDACCESS_ERR_BAD_PUBLIC_KEY);
    if (e != CARDACCESS_OK)
        return e;
    const uint8_t *alg_end = q + len;
    const uint8_t *oid;
    size_t oid_len;
    e = der_oid(&q, alg_end, &oid, &oid_len);
    if (e != CARDACCESS_OK)
        return e;
    if (q < alg_end) {
        e = der_skip(&q, alg_end);
        if (e != CARDACCESS_OK)
            return e;
    }
    if (q != alg_end)
        return CARDACCESS_ERR_BAD_PUBLIC_KEY;
    e = der_get(&q, spki_end, MBEDTLS_ASN1_BIT_STRING, &len, CARDACCESS_ERR_BAD_PUBLIC_KEY);
    if (e != CARDACCESS_OK)
        return e;
    /* A key is a whole number of bytes: no unused bits, and at least one byte of key. */
    if (len < 2 || q[0] != 0 || q + len != spki_end)
        return CARDACCESS_ERR_BAD_PUBLIC_KEY;
    *p = spki_end;
    *spki_len = (size_t)(spki_end - start);
    return CARDACCESS_OK;
}

static enum cardaccess_err parse_ca_pk_info(const uint8_t *oid, size_t oid_len, const uint8_t *p,
                                            const uint8_t *end, struct security_infos *out)
{
    struct ca_pk_info pk;
    memset(&pk, 0, sizeof pk);
    if (oid_len != PREFIX_LEN + 1 || (oid[PREFIX_LEN] != 1 && oid[PREFIX_LEN] != 2)) {
        out->n_other++;
        return CARDACCESS_OK;
    }
    pk.ka = oid[PREFIX_LEN] == 1 ? PACE_KA_DH : PACE_KA_ECDH;
    pk.spki = p;
    enum cardaccess_err e = check_spki(&p, end, &pk.spki_len);
    if (e != CARDACCESS_OK)
        return e;
    e = optional_uint32_then_end(&p, end, &pk.has_key_id, &pk.key_id);
    if (e != CARDACCESS_OK)
        return e;
    if (out->n_ca_pk >= CARDACCESS_MAX_CA_PK)
        return CARDACCESS_ERR_TOO_MANY;
    out->ca_pk[out->n_ca_pk++] = pk;
    return CARDACCESS_OK;
}

static enum cardaccess_err parse_aa_info(const uint8_t *p, const uint8_t *end,
                                         struct security_infos *out)
{
    struct aa_info aa;
    memset(&aa, 0, sizeof aa);
    enum cardaccess_err e = der_uint32(&p, end, &aa.version, CARDACCESS_ERR_BAD_SECURITY_INFO);
    if (e != CARDACCESS_OK)
        return e;
    const uint8_t *oid;
    e = der_oid(&p, end, &oid, &aa.signature_algorithm_len);
    if (e != CARDACCESS_OK)
        return e;
    if (aa.signature_algorithm_len > CARDACCESS_OID_MAX)
        return CARDACCESS_ERR_BAD_OID;
    memcpy(aa.signature_algorithm, oid, aa.signature_algorithm_len);
    if (p != end)
        return CARDACCESS_ERR_TRAILING_DATA;
    if (out->has_aa)
        return CARDACCESS_ERR_TOO_MANY;
    out->has_aa = true;
    out->aa = aa;
    return CARDACCESS_OK;
}

/* One SecurityInfo: p..end is the content of its SEQUENCE. */
static enum cardaccess_err parse_security_info(const uint8_t *p, const uint8_t *end,
                                               struct security_infos *out)
{
    const uint8_t *oid;
    size_t oid_len;
    enum cardaccess_err e = der_oid(&p, end, &oid, &oid_len);
    if (e == CARDACCESS_ERR_BAD_OID && p < end && *p != MBEDTLS_ASN1_OID)
        return CARDACCESS_ERR_BAD_SECURITY_INFO;
    if (e != CARDACCESS_OK)
        return e;
    /* requiredData is not OPTIONAL. */
    if (p == end)
        return CARDACCESS_ERR_BAD_SECURITY_INFO;

    if (oid_len == PREFIX_LEN + 2 && has_prefix(oid, oid_len, oid_pace, PREFIX_LEN))
        return parse_pace_info(oid, oid_len, p, end, out);
    if (oid_len == PREFIX_LEN + 1 && has_prefix(oid, oid_len, oid_pace, PREFIX_LEN))
        return parse_pace_dp_info(oid, oid_len, p, end, out);
    if (oid_len == PREFIX_LEN + 2 && has_prefix(oid, oid_len, oid_ca, PREFIX_LEN))
        return parse_ca_info(oid, oid_len, p, end, out);
    if (has_prefix(oid, oid_len, oid_pk, PREFIX_LEN))
        return parse_ca_pk_info(oid, oid_len, p, end, out);
    if (oid_len == sizeof oid_aa && memcmp(oid, oid_aa, sizeof oid_aa) == 0)
        return parse_aa_info(p, end, out);

    /* Unknown protocol: requiredData and an optional optionalData, nothing more. */
    e = der_skip(&p, end);
    if (e == CARDACCESS_OK && p < end)
        e = der_skip(&p, end);
    if (e != CARDACCESS_OK)
        return e;
    if (p != end)
        return CARDACCESS_ERR_TRAILING_DATA;
    out->n_other++;
    return CARDACCESS_OK;
}

/*
 * DER would also require the SET OF elements in ascending order of their
 * encodings (X.690 11.6); issued cards do not always follow it, and the
 * order carries no meaning, so it is not checked.
 */
static enum cardaccess_err parse_set(const uint8_t *p, const uint8_t *end,
                                     struct security_infos *out)
{
    size_t len;
    enum cardaccess_err e =
        der_get(&p, end, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SET, &len, CARDACCESS_ERR_NOT_SET);
    if (e != CARDACCESS_OK)
        return e;
    const uint8_t *set_end = p + len;
    if (set_end != end)
        return CARDACCESS_ERR_TRAILING_DATA;
    while (p < set_end) {
        e = der_get(&p, set_end, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE, &len,
                    CARDACCESS_ERR_BAD_SECURITY_INFO);
        if (e != CARDACCESS_OK)
            return e;
        e = parse_security_info(p, p + len, out);
        if (e != CARDACCESS_OK)
            return e;
        p += len;
    }
    return CARDACCESS_OK;
}

enum cardaccess_err cardaccess_parse(const uint8_t *buf, size_t len, struct security_infos *out)
{
    memset(out, 0, sizeof *out);
    if (buf == NULL || len == 0)
        return CARDACCESS_ERR_TRUNCATED;
    enum cardaccess_err e = parse_set(buf, buf + len, out);
    if (e != CARDACCESS_OK)
        memset(out, 0, sizeof *out);
    return e;
}

enum cardaccess_err cardaccess_parse_dg14(const uint8_t *buf, size_t len,
                                          struct security_infos *out)
{
    memset(out, 0, sizeof *out);
    if (buf == NULL || len == 0)
        return CARDACCESS_ERR_TRUNCATED;
    const uint8_t *p = buf, *end = buf + len;
    size_t vlen;
    /* 6E is [APPLICATION 14] constructed: one byte, so der_get handles it. */
    enum cardaccess_err e = der_get(&p, end, 0x6E, &vlen, CARDACCESS_ERR_NOT_DG14);
    if (e != CARDACCESS_OK)
        return e;
    if (p + vlen != end)
        return CARDACCESS_ERR_TRAILING_DATA;
    return cardaccess_parse(p, vlen, out);
}

int pace_param_ecp_group(uint32_t parameter_id)
{
    mbedtls_ecp_group_id id = MBEDTLS_ECP_DP_NONE;
    switch (parameter_id) {
    case PACE_PARAM_SECP192R1: id = MBEDTLS_ECP_DP_SECP192R1; break;
    case PACE_PARAM_SECP224R1: id = MBEDTLS_ECP_DP_SECP224R1; break;
    case PACE_PARAM_SECP256R1: id = MBEDTLS_ECP_DP_SECP256R1; break;
    case PACE_PARAM_BP256R1: id = MBEDTLS_ECP_DP_BP256R1; break;
    case PACE_PARAM_SECP384R1: id = MBEDTLS_ECP_DP_SECP384R1; break;
    case PACE_PARAM_BP384R1: id = MBEDTLS_ECP_DP_BP384R1; break;
    case PACE_PARAM_BP512R1: id = MBEDTLS_ECP_DP_BP512R1; break;
    case PACE_PARAM_SECP521R1: id = MBEDTLS_ECP_DP_SECP521R1; break;
    default: return MBEDTLS_ECP_DP_NONE;
    }
    /* Compiled out of this mbedTLS build? */
    if (mbedtls_ecp_curve_info_from_grp_id(id) == NULL)
        return MBEDTLS_ECP_DP_NONE;
    return id;
}

unsigned pace_param_bits(uint32_t parameter_id)
{
    switch (parameter_id) {
    case PACE_PARAM_SECP192R1:
    case PACE_PARAM_BP192R1: return 192;
    case PACE_PARAM_SECP224R1:
    case PACE_PARAM_BP224R1: return 224;
    case PACE_PARAM_SECP256R1:
    case PACE_PARAM_BP256R1: return 256;
    case PACE_PARAM_BP320R1: return 320;
    case PACE_PARAM_SECP384R1:
    case PACE_PARAM_BP384R1: return 384;
    case PACE_PARAM_BP512R1: return 512;
    case PACE_PARAM_SECP521R1: return 521;
    case PACE_PARAM_MODP1024_160: return 1024;
    case PACE_PARAM_MODP2048_224:
    case PACE_PARAM_MODP2048_256: return 2048;
    }
    return 0;
}

bool pace_info_supported(const struct pace_info *pi)
{
    if (pi->version != 2 || pi->mapping != PACE_MAPPING_GM || !pi->has_parameter_id)
        return false;
    if (pi->ka == PACE_KA_DH)
        return pi->parameter_id <= PACE_PARAM_MODP2048_256;
    return pace_param_ecp_group(pi->parameter_id) != MBEDTLS_ECP_DP_NONE;
}

static unsigned cipher_rank(enum icao_cipher c)
{
    switch (c) {
    case ICAO_3DES: return 1;
    case ICAO_AES128: return 2;
    case ICAO_AES192: return 3;
    case ICAO_AES256: return 4;
    }
    return 0;
}

enum cardaccess_err cardaccess_select_pace(const struct security_infos *infos, size_t *index)
{
    unsigned best = 0;
    for (size_t i = 0; i < infos->n_pace && i < CARDACCESS_MAX_PACE; i++) {
        const struct pace_info *pi = &infos->pace[i];
        if (!pace_info_supported(pi))
            continue;
        /* ECDH first: far cheaper than DH on the reader's microcontroller. */
        unsigned score = (pi->ka == PACE_KA_ECDH ? 10000u : 0u) + cipher_rank(pi->cipher) * 1000u +
                         pace_param_bits(pi->parameter_id) % 1000u;
        if (score > best) {
            best = score;
            *index = i;
        }
    }
    return best ? CARDACCESS_OK : CARDACCESS_ERR_NO_PACE;
}

bool cardaccess_pace_ambiguous(const struct security_infos *infos, size_t index)
{
    if (index >= infos->n_pace || index >= CARDACCESS_MAX_PACE)
        return false;
    if (infos->n_pace_dp > 0)
        return true;
    const struct pace_info *chosen = &infos->pace[index];
    for (size_t i = 0; i < infos->n_pace && i < CARDACCESS_MAX_PACE; i++) {
        const struct pace_info *pi = &infos->pace[i];
        if (i != index && pi->oid_len == chosen->oid_len &&
            memcmp(pi->oid, chosen->oid, pi->oid_len) == 0 &&
            (pi->has_parameter_id != chosen->has_parameter_id ||
             pi->parameter_id != chosen->parameter_id))
            return true;
    }
    return false;
}

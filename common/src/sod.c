#include "hawiya/sod.h"

#include <string.h>

#include <mbedtls/md.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>

const char *sod_err_str(enum sod_err e)
{
    switch (e) {
    case SOD_OK: return "SOD_OK";
    case SOD_ERR_WRONG_TAG: return "SOD_ERR_WRONG_TAG";
    case SOD_ERR_TRUNCATED: return "SOD_ERR_TRUNCATED";
    case SOD_ERR_ENCODING: return "SOD_ERR_ENCODING";
    case SOD_ERR_TRAILING_DATA: return "SOD_ERR_TRAILING_DATA";
    case SOD_ERR_BAD_STRUCTURE: return "SOD_ERR_BAD_STRUCTURE";
    case SOD_ERR_NOT_SIGNED_DATA: return "SOD_ERR_NOT_SIGNED_DATA";
    case SOD_ERR_BAD_VERSION: return "SOD_ERR_BAD_VERSION";
    case SOD_ERR_BAD_CONTENT_TYPE: return "SOD_ERR_BAD_CONTENT_TYPE";
    case SOD_ERR_BAD_INTEGER: return "SOD_ERR_BAD_INTEGER";
    case SOD_ERR_UNSUPPORTED_ALGORITHM: return "SOD_ERR_UNSUPPORTED_ALGORITHM";
    case SOD_ERR_TOO_MANY: return "SOD_ERR_TOO_MANY";
    case SOD_ERR_DUPLICATE_DG: return "SOD_ERR_DUPLICATE_DG";
    case SOD_ERR_BAD_DG_NUMBER: return "SOD_ERR_BAD_DG_NUMBER";
    case SOD_ERR_BAD_SIGNED_ATTRS: return "SOD_ERR_BAD_SIGNED_ATTRS";
    case SOD_ERR_SIGNER_COUNT: return "SOD_ERR_SIGNER_COUNT";
    case SOD_ERR_BAD_ARGUMENT: return "SOD_ERR_BAD_ARGUMENT";
    case SOD_ERR_NO_DS_CERT: return "SOD_ERR_NO_DS_CERT";
    case SOD_ERR_BAD_CERT: return "SOD_ERR_BAD_CERT";
    case SOD_ERR_DS_NOT_TRUSTED: return "SOD_ERR_DS_NOT_TRUSTED";
    case SOD_ERR_CSCA_EXPIRED: return "SOD_ERR_CSCA_EXPIRED";
    case SOD_ERR_CSCA_NOT_YET_VALID: return "SOD_ERR_CSCA_NOT_YET_VALID";
    case SOD_ERR_DS_EXPIRED: return "SOD_ERR_DS_EXPIRED";
    case SOD_ERR_DS_NOT_YET_VALID: return "SOD_ERR_DS_NOT_YET_VALID";
    case SOD_ERR_SIGNATURE: return "SOD_ERR_SIGNATURE";
    case SOD_ERR_MESSAGE_DIGEST: return "SOD_ERR_MESSAGE_DIGEST";
    case SOD_ERR_DG_MISSING: return "SOD_ERR_DG_MISSING";
    case SOD_ERR_DG_HASH: return "SOD_ERR_DG_HASH";
    case SOD_ERR_DIGEST_ALGORITHMS: return "SOD_ERR_DIGEST_ALGORITHMS";
    }
    return "SOD_ERR_UNKNOWN";
}

/* --- a strict DER reader over one-byte tags --------------------------------- */

struct der {
    const uint8_t *p;
    const uint8_t *end;
};

/* The object at d->p: its tag, its value (as a sub-reader) and its whole extent. */
struct der_obj {
    uint8_t tag;
    struct der val;
    const uint8_t *start;
    size_t total;
};

static bool der_more(const struct der *d)
{
    return d->p < d->end;
}

static int der_peek(const struct der *d)
{
    return d->p < d->end ? d->p[0] : -1;
}

static enum sod_err der_any(struct der *d, struct der_obj *o)
{
    size_t left = (size_t)(d->end - d->p);
    if (left < 2)
        return SOD_ERR_TRUNCATED;
    /* Multi-byte tags (low five bits all set) never occur in CMS or X.509 here. */
    if ((d->p[0] & 0x1F) == 0x1F)
        return SOD_ERR_ENCODING;
    size_t hdr = 2, len = d->p[1];
    if (len == 0x80)
        return SOD_ERR_ENCODING; /* indefinite: BER, not DER */
    if (len > 0x80) {
        size_t n = len & 0x7F;
        if (n > 4)
            return SOD_ERR_ENCODING;
        if (left < 2 + n)
            return SOD_ERR_TRUNCATED;
        len = 0;
        for (size_t i = 0; i < n; i++)
            len = len << 8 | d->p[2 + i];
        /* DER: the fewest length octets, long form only from 128 up. */
        if (len < 0x80 || d->p[2] == 0)
            return SOD_ERR_ENCODING;
        hdr += n;
    }
    if (len > left - hdr)
        return SOD_ERR_TRUNCATED;
    o->tag = d->p[0];
    o->start = d->p;
    o->total = hdr + len;
    o->val.p = d->p + hdr;
    o->val.end = d->p + hdr + len;
    d->p += hdr + len;
    return SOD_OK;
}

static enum sod_err der_get(struct der *d, uint8_t tag, struct der_obj *o)
{
    if (!der_more(d))
        return SOD_ERR_BAD_STRUCTURE;
    if (d->p[0] != tag)
        return SOD_ERR_BAD_STRUCTURE;
    return der_any(d, o);
}

static enum sod_err der_end(const struct der *d)
{
    return der_more(d) ? SOD_ERR_TRAILING_DATA : SOD_OK;
}

/* A non-negative INTEGER up to 2^32-1, minimally encoded. */
static enum sod_err der_uint(struct der *d, uint32_t *v)
{
    struct der_obj o;
    enum sod_err e = der_get(d, 0x02, &o);
    if (e != SOD_OK)
        return e;
    const uint8_t *p = o.val.p;
    size_t n = (size_t)(o.val.end - p);
    if (n == 0 || (p[0] & 0x80) != 0)
        return SOD_ERR_BAD_INTEGER;
    if (n > 1 && p[0] == 0 && (p[1] & 0x80) == 0)
        return SOD_ERR_BAD_INTEGER;
    if (p[0] == 0) {
        p++;
        n--;
    }
    if (n > 4)
        return SOD_ERR_BAD_INTEGER;
    *v = 0;
    for (size_t i = 0; i < n; i++)
        *v = *v << 8 | p[i];
    return SOD_OK;
}

/* X.690 §11.6: a DER SET OF has its elements in ascending order of their encodings, compared as
 * octet strings, the shorter padded with trailing zero octets. A BER order is another spelling of
 * the same set, and where the set is signed (the signed attributes, RFC 5652 §5.4) a verifier that
 * re-encodes it as DER before hashing reads another signed message than one that hashes the bytes
 * sent: only DER has one reading. */
static enum sod_err der_set_of_order(const struct der_obj *set)
{
    struct der d = set->val;
    /* prev is read only once the first pass has set it; gcc with ASan cannot tell. */
    struct der_obj prev = {0}, cur;
    enum sod_err e;
    bool first = true;
    while (der_more(&d)) {
        if ((e = der_any(&d, &cur)) != SOD_OK)
            return e;
        if (!first) {
            size_t n = prev.total < cur.total ? prev.total : cur.total;
            int c = memcmp(prev.start, cur.start, n);
            for (size_t i = n; c == 0 && i < prev.total; i++)
                c = prev.start[i] != 0;
            if (c > 0)
                return SOD_ERR_ENCODING;
        }
        prev = cur;
        first = false;
    }
    return SOD_OK;
}

static bool oid_is(const struct der_obj *o, const uint8_t *oid, size_t n)
{
    return (size_t)(o->val.end - o->val.p) == n && memcmp(o->val.p, oid, n) == 0;
}

/* --- object identifiers ---------------------------------------------------- */

/* 1.2.840.113549.1.7.2 id-signedData (RFC 5652 §5.1) */
static const uint8_t oid_signed_data[] = {0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x02};
/* 2.23.136.1.1.1 id-icao-mrtd-security-ldsSecurityObject (9303-10 §4.6.2) */
static const uint8_t oid_ldsso[] = {0x67, 0x81, 0x08, 0x01, 0x01, 0x01};
/* 2.23.136.1.1.2 id-icao-cscaMasterList (9303-12) */
const uint8_t sod_oid_csca_master_list[6] = {0x67, 0x81, 0x08, 0x01, 0x01, 0x02};
/* 1.2.840.113549.1.9.3 / .4 / .5: contentType, messageDigest, signingTime (RFC 5652 §11) */
static const uint8_t oid_content_type[] = {0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x03};
static const uint8_t oid_message_digest[] = {0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x04};
static const uint8_t oid_signing_time[] = {0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x05};
/* 1.2.840.113549.1.1.x: PKCS #1 (RFC 8017 Appendix C) */
static const uint8_t oid_pkcs1[] = {0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01};
/* 1.2.840.10045.4.1 and 1.2.840.10045.4.3.x: ECDSA with SHA-1 / SHA-2 (RFC 5758) */
static const uint8_t oid_ecdsa_sha1[] = {0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x01};
static const uint8_t oid_ecdsa_sha2[] = {0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03};
/* 1.2.840.10045.2.1 id-ecPublicKey, which some issuers write as the signature algorithm */
static const uint8_t oid_ec_public_key[] = {0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01};
/* 1.3.14.3.2.26 SHA-1; 2.16.840.1.101.3.4.2.x SHA-2 (RFC 5754) */
static const uint8_t oid_sha1[] = {0x2B, 0x0E, 0x03, 0x02, 0x1A};
static const uint8_t oid_sha2[] = {0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02};
/* 1.2.840.113549.1.1.8 id-mgf1 */
static const uint8_t oid_mgf1[] = {0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x08};
/* 2.5.29.14 subjectKeyIdentifier */
static const uint8_t oid_ski[] = {0x55, 0x1D, 0x0E};

static enum sod_hash hash_of_oid(const struct der_obj *o)
{
    size_t n = (size_t)(o->val.end - o->val.p);
    if (oid_is(o, oid_sha1, sizeof oid_sha1))
        return SOD_HASH_SHA1;
    if (n == sizeof oid_sha2 + 1 && memcmp(o->val.p, oid_sha2, sizeof oid_sha2) == 0) {
        switch (o->val.p[sizeof oid_sha2]) {
        case 1: return SOD_HASH_SHA256;
        case 2: return SOD_HASH_SHA384;
        case 3: return SOD_HASH_SHA512;
        case 4: return SOD_HASH_SHA224;
        }
    }
    return SOD_HASH_NONE;
}

size_t sod_hash_len(enum sod_hash h)
{
    switch (h) {
    case SOD_HASH_SHA1: return 20;
    case SOD_HASH_SHA224: return 28;
    case SOD_HASH_SHA256: return 32;
    case SOD_HASH_SHA384: return 48;
    case SOD_HASH_SHA512: return 64;
    case SOD_HASH_NONE: break;
    }
    return 0;
}

static mbedtls_md_type_t md_type(enum sod_hash h)
{
    switch (h) {
    case SOD_HASH_SHA1: return MBEDTLS_MD_SHA1;
    case SOD_HASH_SHA224: return MBEDTLS_MD_SHA224;
    case SOD_HASH_SHA256: return MBEDTLS_MD_SHA256;
    case SOD_HASH_SHA384: return MBEDTLS_MD_SHA384;
    case SOD_HASH_SHA512: return MBEDTLS_MD_SHA512;
    case SOD_HASH_NONE: break;
    }
    return MBEDTLS_MD_NONE;
}

/* AlgorithmIdentifier ::= SEQUENCE { algorithm OID, parameters ANY OPTIONAL } */
static enum sod_err alg_id(struct der *d, struct der_obj *oid, struct der_obj *params,
                           bool *has_params)
{
    struct der_obj seq;
    enum sod_err e = der_get(d, 0x30, &seq);
    if (e != SOD_OK)
        return e;
    if ((e = der_get(&seq.val, 0x06, oid)) != SOD_OK)
        return e;
    if (oid->val.p == oid->val.end)
        return SOD_ERR_BAD_STRUCTURE;
    *has_params = der_more(&seq.val);
    if (*has_params && (e = der_any(&seq.val, params)) != SOD_OK)
        return e;
    return der_end(&seq.val);
}

/* A digest AlgorithmIdentifier: a SHA OID, parameters absent or NULL (RFC 5754 §2). */
static enum sod_err digest_alg(struct der *d, enum sod_hash *h)
{
    struct der_obj oid, params;
    bool has;
    enum sod_err e = alg_id(d, &oid, &params, &has);
    if (e != SOD_OK)
        return e;
    if (has && (params.tag != 0x05 || params.val.p != params.val.end))
        return SOD_ERR_UNSUPPORTED_ALGORITHM;
    *h = hash_of_oid(&oid);
    return *h == SOD_HASH_NONE ? SOD_ERR_UNSUPPORTED_ALGORITHM : SOD_OK;
}

/*
 * RSASSA-PSS-params (RFC 8017 Appendix A.2.3): hashAlgorithm [0] (SHA-1),
 * maskGenAlgorithm [1] (MGF1 with SHA-1), saltLength [2] (20),
 * trailerField [3] (1, the only value defined).
 */
static enum sod_err pss_params(struct der_obj *params, struct sod *out)
{
    struct der *d = &params->val;
    struct der_obj o, oid, inner;
    bool has;
    enum sod_err e;

    out->sig_hash = SOD_HASH_SHA1;
    out->pss_mgf1_hash = SOD_HASH_SHA1;
    out->pss_salt_len = 20;
    if (params->tag != 0x30)
        return SOD_ERR_UNSUPPORTED_ALGORITHM;
    if (der_peek(d) == 0xA0) {
        if ((e = der_any(d, &o)) != SOD_OK || (e = digest_alg(&o.val, &out->sig_hash)) != SOD_OK)
            return e;
        if ((e = der_end(&o.val)) != SOD_OK)
            return e;
    }
    if (der_peek(d) == 0xA1) {
        if ((e = der_any(d, &o)) != SOD_OK || (e = alg_id(&o.val, &oid, &inner, &has)) != SOD_OK)
            return e;
        if ((e = der_end(&o.val)) != SOD_OK)
            return e;
        if (!oid_is(&oid, oid_mgf1, sizeof oid_mgf1) || !has || inner.tag != 0x30)
            return SOD_ERR_UNSUPPORTED_ALGORITHM;
        /* Re-read the MGF1 hash AlgorithmIdentifier from its whole extent. */
        struct der h = {inner.start, inner.start + inner.total};
        if ((e = digest_alg(&h, &out->pss_mgf1_hash)) != SOD_OK)
            return e;
    }
    if (der_peek(d) == 0xA2) {
        if ((e = der_any(d, &o)) != SOD_OK || (e = der_uint(&o.val, &out->pss_salt_len)) != SOD_OK)
            return e;
        if ((e = der_end(&o.val)) != SOD_OK)
            return e;
    }
    if (der_peek(d) == 0xA3) {
        uint32_t trailer;
        if ((e = der_any(d, &o)) != SOD_OK || (e = der_uint(&o.val, &trailer)) != SOD_OK)
            return e;
        if ((e = der_end(&o.val)) != SOD_OK)
            return e;
        if (trailer != 1)
            return SOD_ERR_UNSUPPORTED_ALGORITHM;
    }
    return der_end(d);
}

static enum sod_err signature_alg(struct der *d, struct sod *out)
{
    struct der_obj oid, params;
    bool has;
    enum sod_err e = alg_id(d, &oid, &params, &has);
    if (e != SOD_OK)
        return e;
    const uint8_t *p = oid.val.p;
    size_t n = (size_t)(oid.val.end - p);
    bool null_or_absent = !has || (params.tag == 0x05 && params.val.p == params.val.end);

    if (n == sizeof oid_pkcs1 + 1 && memcmp(p, oid_pkcs1, sizeof oid_pkcs1) == 0) {
        uint8_t last = p[sizeof oid_pkcs1];
        if (last == 10) {
            out->sig_scheme = SOD_SIG_RSA_PSS;
            if (!has)
                return SOD_ERR_UNSUPPORTED_ALGORITHM;
            return pss_params(&params, out);
        }
        out->sig_scheme = SOD_SIG_RSA_PKCS1;
        switch (last) {
        case 1: out->sig_hash = SOD_HASH_NONE; break;
        case 5: out->sig_hash = SOD_HASH_SHA1; break;
        case 11: out->sig_hash = SOD_HASH_SHA256; break;
        case 12: out->sig_hash = SOD_HASH_SHA384; break;
        case 13: out->sig_hash = SOD_HASH_SHA512; break;
        case 14: out->sig_hash = SOD_HASH_SHA224; break;
        default: return SOD_ERR_UNSUPPORTED_ALGORITHM;
        }
        return null_or_absent ? SOD_OK : SOD_ERR_UNSUPPORTED_ALGORITHM;
    }
    out->sig_scheme = SOD_SIG_ECDSA;
    if (oid_is(&oid, oid_ecdsa_sha1, sizeof oid_ecdsa_sha1)) {
        out->sig_hash = SOD_HASH_SHA1;
    } else if (oid_is(&oid, oid_ec_public_key, sizeof oid_ec_public_key)) {
        /* Its parameters, if any, are curve parameters: they do not matter here. */
        out->sig_hash = SOD_HASH_NONE;
        return SOD_OK;
    } else if (n == sizeof oid_ecdsa_sha2 + 1 &&
               memcmp(p, oid_ecdsa_sha2, sizeof oid_ecdsa_sha2) == 0) {
        switch (p[sizeof oid_ecdsa_sha2]) {
        case 1: out->sig_hash = SOD_HASH_SHA224; break;
        case 2: out->sig_hash = SOD_HASH_SHA256; break;
        case 3: out->sig_hash = SOD_HASH_SHA384; break;
        case 4: out->sig_hash = SOD_HASH_SHA512; break;
        default: return SOD_ERR_UNSUPPORTED_ALGORITHM;
        }
    } else {
        return SOD_ERR_UNSUPPORTED_ALGORITHM;
    }
    /* RFC 5758 §3.2: the parameters field is absent for ecdsa-with-SHAnnn. */
    return null_or_absent ? SOD_OK : SOD_ERR_UNSUPPORTED_ALGORITHM;
}

/* --- LDSSecurityObject (9303-10 §4.6.2.2) ---------------------------------- */

static enum sod_err printable(struct der *d, char *out, size_t cap)
{
    struct der_obj o;
    enum sod_err e = der_get(d, 0x13, &o);
    if (e != SOD_OK)
        return e;
    size_t n = (size_t)(o.val.end - o.val.p);
    if (n == 0 || n >= cap)
        return SOD_ERR_BAD_STRUCTURE;
    for (size_t i = 0; i < n; i++) {
        if (o.val.p[i] < '0' || o.val.p[i] > '9')
            return SOD_ERR_BAD_STRUCTURE;
        out[i] = (char)o.val.p[i];
    }
    out[n] = '\0';
    return SOD_OK;
}

static enum sod_err lds_security_object(struct der *d, struct sod *out)
{
    struct der_obj seq, hashes, entry, hv;
    enum sod_err e;

    if ((e = der_get(d, 0x30, &seq)) != SOD_OK)
        return e;
    if ((e = der_end(d)) != SOD_OK)
        return e;
    if ((e = der_uint(&seq.val, &out->lds_so_version)) != SOD_OK)
        return e;
    if (out->lds_so_version > 1)
        return SOD_ERR_BAD_VERSION;
    if ((e = digest_alg(&seq.val, &out->hash_algorithm)) != SOD_OK)
        return e;
    if ((e = der_get(&seq.val, 0x30, &hashes)) != SOD_OK)
        return e;
    /* SEQUENCE SIZE (2..ub-DataGroups) OF DataGroupHash; one is tolerated. */
    while (der_more(&hashes.val)) {
        uint32_t number;
        if ((e = der_get(&hashes.val, 0x30, &entry)) != SOD_OK)
            return e;
        if ((e = der_uint(&entry.val, &number)) != SOD_OK)
            return e;
        if (number < 1 || number > SOD_MAX_DG)
            return SOD_ERR_BAD_DG_NUMBER;
        if ((e = der_get(&entry.val, 0x04, &hv)) != SOD_OK)
            return e;
        if ((e = der_end(&entry.val)) != SOD_OK)
            return e;
        if ((size_t)(hv.val.end - hv.val.p) != sod_hash_len(out->hash_algorithm))
            return SOD_ERR_BAD_STRUCTURE;
        if (sod_find_dg(out, number) != NULL)
            return SOD_ERR_DUPLICATE_DG;
        if (out->n_dg >= SOD_MAX_DG)
            return SOD_ERR_TOO_MANY;
        out->dg[out->n_dg].number = number;
        out->dg[out->n_dg].value = hv.val.p;
        out->dg[out->n_dg].len = (size_t)(hv.val.end - hv.val.p);
        out->n_dg++;
    }
    if (out->n_dg == 0)
        return SOD_ERR_BAD_STRUCTURE;
    if (out->lds_so_version == 1) {
        /* LDSVersionInfo ::= SEQUENCE { ldsVersion, unicodeVersion PrintableString } */
        struct der_obj vi;
        if ((e = der_get(&seq.val, 0x30, &vi)) != SOD_OK)
            return e;
        if ((e = printable(&vi.val, out->lds_version, sizeof out->lds_version)) != SOD_OK)
            return e;
        if ((e = printable(&vi.val, out->unicode_version, sizeof out->unicode_version)) != SOD_OK)
            return e;
        if ((e = der_end(&vi.val)) != SOD_OK)
            return e;
        out->has_lds_version = true;
    }
    return der_end(&seq.val);
}

/* --- SignerInfo (RFC 5652 §5.3) --------------------------------------------- */

static enum sod_err signed_attrs(struct der_obj *a0, struct sod *out)
{
    struct der *d = &a0->val;
    struct der_obj attr, type, values, v;
    bool have_ct = false;
    enum sod_err e;

    out->signed_attrs = a0->start;
    out->signed_attrs_len = a0->total;
    if ((e = der_set_of_order(a0)) != SOD_OK)
        return e;
    while (der_more(d)) {
        if ((e = der_get(d, 0x30, &attr)) != SOD_OK)
            return e;
        if ((e = der_get(&attr.val, 0x06, &type)) != SOD_OK)
            return e;
        if ((e = der_get(&attr.val, 0x31, &values)) != SOD_OK)
            return e;
        if ((e = der_end(&attr.val)) != SOD_OK)
            return e;
        /* Each attribute's values are a SET OF too, signed as sent. */
        if ((e = der_set_of_order(&values)) != SOD_OK)
            return e;
        bool ct = oid_is(&type, oid_content_type, sizeof oid_content_type);
        bool md = oid_is(&type, oid_message_digest, sizeof oid_message_digest);
        bool st = oid_is(&type, oid_signing_time, sizeof oid_signing_time);
        if (!ct && !md && !st)
            continue;
        /* RFC 5652 §11: these attributes are single-valued and appear once. */
        if ((e = der_any(&values.val, &v)) != SOD_OK)
            return e;
        if (der_more(&values.val))
            return SOD_ERR_BAD_SIGNED_ATTRS;
        if (ct) {
            if (have_ct || v.tag != 0x06)
                return SOD_ERR_BAD_SIGNED_ATTRS;
            /* §11.1: it must name the eContentType. */
            if (!oid_is(&v, out->econtent_type, out->econtent_type_len))
                return SOD_ERR_BAD_SIGNED_ATTRS;
            have_ct = true;
        } else if (md) {
            if (out->message_digest != NULL || v.tag != 0x04 || v.val.p == v.val.end)
                return SOD_ERR_BAD_SIGNED_ATTRS;
            out->message_digest = v.val.p;
            out->message_digest_len = (size_t)(v.val.end - v.val.p);
        } else {
            if (out->signing_time != NULL || (v.tag != 0x17 && v.tag != 0x18))
                return SOD_ERR_BAD_SIGNED_ATTRS;
            out->signing_time = v.val.p;
            out->signing_time_len = (size_t)(v.val.end - v.val.p);
            out->signing_time_tag = (uint8_t)v.tag;
        }
    }
    if (!have_ct || out->message_digest == NULL)
        return SOD_ERR_BAD_SIGNED_ATTRS;
    return SOD_OK;
}

static enum sod_err signer_info(struct der *d, struct sod *out)
{
    struct der_obj si, o;
    enum sod_err e;

    if ((e = der_get(d, 0x30, &si)) != SOD_OK)
        return e;
    struct der *s = &si.val;
    if ((e = der_uint(s, &out->signer_version)) != SOD_OK)
        return e;
    if (out->signer_version == 1) {
        /* IssuerAndSerialNumber ::= SEQUENCE { issuer Name, serialNumber INTEGER } */
        struct der_obj name, serial;
        if ((e = der_get(s, 0x30, &o)) != SOD_OK)
            return e;
        if ((e = der_get(&o.val, 0x30, &name)) != SOD_OK)
            return e;
        if ((e = der_get(&o.val, 0x02, &serial)) != SOD_OK)
            return e;
        if ((e = der_end(&o.val)) != SOD_OK)
            return e;
        if (serial.val.p == serial.val.end)
            return SOD_ERR_BAD_INTEGER;
        out->sid_issuer = name.start;
        out->sid_issuer_len = name.total;
        out->sid_serial = serial.val.p;
        out->sid_serial_len = (size_t)(serial.val.end - serial.val.p);
    } else if (out->signer_version == 3) {
        /* [0] IMPLICIT SubjectKeyIdentifier (an OCTET STRING) */
        if ((e = der_get(s, 0x80, &o)) != SOD_OK)
            return e;
        if (o.val.p == o.val.end)
            return SOD_ERR_BAD_STRUCTURE;
        out->sid_ski = o.val.p;
        out->sid_ski_len = (size_t)(o.val.end - o.val.p);
    } else {
        return SOD_ERR_BAD_VERSION;
    }
    if ((e = digest_alg(s, &out->digest_algorithm)) != SOD_OK)
        return e;
    /* 9303 SODs always sign attributes; RFC 5652 §5.3 requires them for eContentType != id-data. */
    if (der_peek(s) != 0xA0)
        return SOD_ERR_BAD_SIGNED_ATTRS;
    if ((e = der_any(s, &o)) != SOD_OK || (e = signed_attrs(&o, out)) != SOD_OK)
        return e;
    if (out->message_digest_len != sod_hash_len(out->digest_algorithm))
        return SOD_ERR_BAD_SIGNED_ATTRS;
    if ((e = signature_alg(s, out)) != SOD_OK)
        return e;
    /* RFC 5652 §5.4: the signed attributes are digested with digestAlgorithm. A
     * signatureAlgorithm (or RSASSA-PSS hashAlgorithm) naming another hash would give the
     * signature two readings; `openssl cms -verify` takes digestAlgorithm's. */
    if (out->sig_hash != SOD_HASH_NONE && out->sig_hash != out->digest_algorithm)
        return SOD_ERR_DIGEST_ALGORITHMS;
    if ((e = der_get(s, 0x04, &o)) != SOD_OK)
        return e;
    if (o.val.p == o.val.end)
        return SOD_ERR_BAD_STRUCTURE;
    out->signature = o.val.p;
    out->signature_len = (size_t)(o.val.end - o.val.p);
    if (der_peek(s) == 0xA1 && (e = der_any(s, &o)) != SOD_OK) /* unsignedAttrs: ignored */
        return e;
    return der_end(s);
}

/* --- SignedData (RFC 5652 §5.1) --------------------------------------------- */

static enum sod_err signed_data(struct der *d, struct sod *out)
{
    struct der_obj sd, o, eci, oid, ec;
    enum sod_err e;

    if ((e = der_get(d, 0x30, &sd)) != SOD_OK)
        return e;
    if ((e = der_end(d)) != SOD_OK)
        return e;
    struct der *s = &sd.val;
    if ((e = der_uint(s, &out->version)) != SOD_OK)
        return e;
    /* §5.1 asks for 3 when eContentType is not id-data; early SODs wrote 1. */
    if (out->version != 3 && out->version != 1)
        return SOD_ERR_BAD_VERSION;
    /* digestAlgorithms: a SET of AlgorithmIdentifier; unknown ones are allowed here, but the
     * SignerInfo's must be one of them (checked below, as `openssl cms -verify` does). */
    struct der_obj digest_algs;
    if ((e = der_get(s, 0x31, &digest_algs)) != SOD_OK)
        return e;
    if ((e = der_set_of_order(&digest_algs)) != SOD_OK)
        return e;
    for (struct der da = digest_algs.val; der_more(&da);) {
        struct der_obj a, p;
        bool has;
        if ((e = alg_id(&da, &a, &p, &has)) != SOD_OK)
            return e;
    }
    /* EncapsulatedContentInfo ::= SEQUENCE { eContentType, eContent [0] EXPLICIT OCTET STRING } */
    if ((e = der_get(s, 0x30, &eci)) != SOD_OK)
        return e;
    if ((e = der_get(&eci.val, 0x06, &oid)) != SOD_OK)
        return e;
    if (!oid_is(&oid, out->econtent_type, out->econtent_type_len))
        return SOD_ERR_BAD_CONTENT_TYPE;
    out->econtent_type = oid.val.p; /* from here on, the bytes of the object itself */
    if ((e = der_get(&eci.val, 0xA0, &o)) != SOD_OK)
        return e;
    if ((e = der_end(&eci.val)) != SOD_OK)
        return e;
    /* DER: a primitive OCTET STRING (a constructed 0x24 one is BER only). */
    if ((e = der_get(&o.val, 0x04, &ec)) != SOD_OK)
        return e;
    if ((e = der_end(&o.val)) != SOD_OK)
        return e;
    out->econtent = ec.val.p;
    out->econtent_len = (size_t)(ec.val.end - ec.val.p);
    if (oid_is(&oid, oid_ldsso, sizeof oid_ldsso) &&
        (e = lds_security_object(&ec.val, out)) != SOD_OK)
        return e;
    if (der_peek(s) == 0xA0) {
        if ((e = der_any(s, &o)) != SOD_OK)
            return e;
        while (der_more(&o.val)) {
            struct der_obj c;
            /* CertificateChoices: only the plain Certificate is used by 9303. */
            if ((e = der_get(&o.val, 0x30, &c)) != SOD_OK)
                return e;
            if (out->n_certs >= SOD_MAX_CERTS)
                return SOD_ERR_TOO_MANY;
            out->cert[out->n_certs] = c.start;
            out->cert_len[out->n_certs] = c.total;
            out->n_certs++;
        }
    }
    if (der_peek(s) == 0xA1 && (e = der_any(s, &o)) != SOD_OK) /* crls: not used */
        return e;
    if ((e = der_get(s, 0x31, &o)) != SOD_OK)
        return e;
    if (!der_more(&o.val))
        return SOD_ERR_SIGNER_COUNT;
    if ((e = signer_info(&o.val, out)) != SOD_OK)
        return e;
    /* 9303-10 §4.6.2: exactly one SignerInfo. */
    if (der_more(&o.val))
        return SOD_ERR_SIGNER_COUNT;
    if ((e = der_end(s)) != SOD_OK)
        return e;
    bool listed = false;
    for (struct der da = digest_algs.val; der_more(&da) && !listed;) {
        struct der_obj a, p;
        bool has;
        alg_id(&da, &a, &p, &has); /* parsed above */
        listed = hash_of_oid(&a) == out->digest_algorithm;
    }
    return listed ? SOD_OK : SOD_ERR_DIGEST_ALGORITHMS;
}

/* ContentInfo ::= SEQUENCE { contentType, content [0] EXPLICIT }, the whole of d. */
static enum sod_err content_info(struct der *d, struct sod *out)
{
    struct der_obj ci, oid, content;
    enum sod_err e;
    if ((e = der_get(d, 0x30, &ci)) != SOD_OK)
        return e;
    if ((e = der_end(d)) != SOD_OK)
        return e;
    if ((e = der_get(&ci.val, 0x06, &oid)) != SOD_OK)
        return e;
    if (!oid_is(&oid, oid_signed_data, sizeof oid_signed_data))
        return SOD_ERR_NOT_SIGNED_DATA;
    if ((e = der_get(&ci.val, 0xA0, &content)) != SOD_OK)
        return e;
    if ((e = der_end(&ci.val)) != SOD_OK)
        return e;
    return signed_data(&content.val, out);
}

static enum sod_err parse(const uint8_t *buf, size_t len, struct sod *out)
{
    struct der d = {buf, buf + len};
    struct der_obj o;
    enum sod_err e;

    if (len == 0)
        return SOD_ERR_TRUNCATED;
    if (buf[0] != 0x77)
        return SOD_ERR_WRONG_TAG;
    if ((e = der_any(&d, &o)) != SOD_OK)
        return e;
    if ((e = der_end(&d)) != SOD_OK)
        return e;
    return content_info(&o.val, out);
}

enum sod_err sod_parse(const uint8_t *buf, size_t len, struct sod *out)
{
    memset(out, 0, sizeof *out);
    if (buf == NULL)
        return SOD_ERR_TRUNCATED;
    out->econtent_type = oid_ldsso;
    out->econtent_type_len = sizeof oid_ldsso;
    enum sod_err e = parse(buf, len, out);
    if (e != SOD_OK)
        memset(out, 0, sizeof *out);
    return e;
}

enum sod_err sod_parse_cms(const uint8_t *buf, size_t len, const uint8_t *type, size_t type_len,
                           struct sod *out)
{
    memset(out, 0, sizeof *out);
    if (buf == NULL || len == 0)
        return SOD_ERR_TRUNCATED;
    if (type == NULL || type_len == 0)
        return SOD_ERR_BAD_ARGUMENT;
    out->econtent_type = type;
    out->econtent_type_len = type_len;
    struct der d = {buf, buf + len};
    enum sod_err e = content_info(&d, out);
    if (e != SOD_OK)
        memset(out, 0, sizeof *out);
    return e;
}

const struct sod_dg_hash *sod_find_dg(const struct sod *sod, unsigned number)
{
    for (size_t i = 0; i < sod->n_dg; i++)
        if (sod->dg[i].number == number)
            return &sod->dg[i];
    return NULL;
}

/* --- passive authentication -------------------------------------------------- */

static int hash(enum sod_hash h, const uint8_t *data, size_t len, uint8_t *out)
{
    const mbedtls_md_info_t *info = mbedtls_md_info_from_type(md_type(h));
    if (info == NULL)
        return -1;
    return mbedtls_md(info, data, len, out);
}

/* -1, 0, 1 as t is before, at, after now. */
static int time_cmp(const mbedtls_x509_time *t, const struct sod_time *now)
{
    const int a[6] = {t->year, t->mon, t->day, t->hour, t->min, t->sec};
    const int b[6] = {now->year, now->mon, now->day, now->hour, now->min, now->sec};
    for (int i = 0; i < 6; i++)
        if (a[i] != b[i])
            return a[i] < b[i] ? -1 : 1;
    return 0;
}

/* 0 if valid at now, else the "expired" or "not yet valid" error given. */
static enum sod_err validity(const mbedtls_x509_crt *c, const struct sod_time *now,
                             enum sod_err expired, enum sod_err not_yet)
{
    if (time_cmp(&c->valid_from, now) > 0)
        return not_yet;
    if (time_cmp(&c->valid_to, now) < 0)
        return expired;
    return SOD_OK;
}

/* The subjectKeyIdentifier extension value of a certificate, from its raw extensions. */
static bool cert_ski(const mbedtls_x509_crt *c, const uint8_t **ski, size_t *len)
{
    /* mbedTLS points v3_ext inside [3] EXPLICIT, at the SEQUENCE OF Extension. */
    struct der d = {c->v3_ext.p, c->v3_ext.p + c->v3_ext.len};
    struct der_obj exts, ext, oid, v, inner;
    if (c->v3_ext.p == NULL || der_get(&d, 0x30, &exts) != SOD_OK)
        return false;
    while (der_more(&exts.val)) {
        if (der_get(&exts.val, 0x30, &ext) != SOD_OK || der_get(&ext.val, 0x06, &oid) != SOD_OK)
            return false;
        if (!oid_is(&oid, oid_ski, sizeof oid_ski))
            continue;
        if (der_peek(&ext.val) == 0x01 && der_any(&ext.val, &v) != SOD_OK) /* critical */
            return false;
        if (der_get(&ext.val, 0x04, &v) != SOD_OK || der_get(&v.val, 0x04, &inner) != SOD_OK)
            return false;
        *ski = inner.val.p;
        *len = (size_t)(inner.val.end - inner.val.p);
        return true;
    }
    return false;
}

bool sod_is_signer(const struct sod *sod, const mbedtls_x509_crt *c)
{
    if (sod->sid_ski != NULL) {
        const uint8_t *ski;
        size_t n;
        return cert_ski(c, &ski, &n) && n == sod->sid_ski_len && memcmp(ski, sod->sid_ski, n) == 0;
    }
    return c->issuer_raw.len == sod->sid_issuer_len &&
           memcmp(c->issuer_raw.p, sod->sid_issuer, sod->sid_issuer_len) == 0 &&
           c->serial.len == sod->sid_serial_len &&
           memcmp(c->serial.p, sod->sid_serial, sod->sid_serial_len) == 0;
}

/* Signed attributes as DER SET OF (RFC 5652 §5.4): the A0 tag becomes 31. */
static int signed_attrs_hash(const struct sod *sod, enum sod_hash h, uint8_t *out)
{
    const mbedtls_md_info_t *info = mbedtls_md_info_from_type(md_type(h));
    mbedtls_md_context_t ctx;
    static const uint8_t set_tag = 0x31;
    int ret;
    if (info == NULL)
        return -1;
    mbedtls_md_init(&ctx);
    ret = mbedtls_md_setup(&ctx, info, 0);
    if (ret == 0)
        ret = mbedtls_md_starts(&ctx);
    if (ret == 0)
        ret = mbedtls_md_update(&ctx, &set_tag, 1);
    if (ret == 0)
        ret = mbedtls_md_update(&ctx, sod->signed_attrs + 1, sod->signed_attrs_len - 1);
    if (ret == 0)
        ret = mbedtls_md_finish(&ctx, out);
    mbedtls_md_free(&ctx);
    return ret;
}

static enum sod_err check_signature(const struct sod *sod, const mbedtls_x509_crt *ds,
                                    const struct sigverify_engine *eng)
{
    uint8_t h[MBEDTLS_MD_MAX_SIZE];
    enum sod_hash sh = sod->digest_algorithm; /* sig_hash, when named, is the same (parse) */
    if (signed_attrs_hash(sod, sh, h) != 0)
        return SOD_ERR_UNSUPPORTED_ALGORITHM;
    size_t hl = sod_hash_len(sh);
    int ret;
    switch (sod->sig_scheme) {
    case SOD_SIG_RSA_PKCS1:
        if (mbedtls_pk_get_type(&ds->pk) != MBEDTLS_PK_RSA)
            return SOD_ERR_SIGNATURE;
        ret = sigverify_pk(eng, MBEDTLS_PK_RSA, NULL, &ds->pk, md_type(sh), h, hl, sod->signature,
                           sod->signature_len);
        break;
    case SOD_SIG_RSA_PSS: {
        mbedtls_pk_rsassa_pss_options opt;
        if (mbedtls_pk_get_type(&ds->pk) != MBEDTLS_PK_RSA || sod->pss_salt_len > 1024)
            return SOD_ERR_SIGNATURE;
        opt.mgf1_hash_id = md_type(sod->pss_mgf1_hash);
        opt.expected_salt_len = (int)sod->pss_salt_len;
        ret = sigverify_pk(eng, MBEDTLS_PK_RSASSA_PSS, &opt, &ds->pk, md_type(sh), h, hl,
                           sod->signature, sod->signature_len);
        break;
    }
    case SOD_SIG_ECDSA:
        if (!mbedtls_pk_can_do(&ds->pk, MBEDTLS_PK_ECDSA))
            return SOD_ERR_SIGNATURE;
        ret = sigverify_pk(eng, MBEDTLS_PK_ECDSA, NULL, &ds->pk, md_type(sh), h, hl, sod->signature,
                           sod->signature_len);
        break;
    default: return SOD_ERR_SIGNATURE;
    }
    return ret == 0 ? SOD_OK : SOD_ERR_SIGNATURE;
}

enum sod_err sod_check_signed(const struct sod *sod, const mbedtls_x509_crt *signer,
                              const struct sigverify_engine *eng)
{
    uint8_t h[MBEDTLS_MD_MAX_SIZE];
    if (sod == NULL || signer == NULL || sod->signed_attrs == NULL)
        return SOD_ERR_BAD_ARGUMENT;
    enum sod_err e = check_signature(sod, signer, eng);
    if (e != SOD_OK)
        return e;
    if (hash(sod->digest_algorithm, sod->econtent, sod->econtent_len, h) != 0)
        return SOD_ERR_UNSUPPORTED_ALGORITHM;
    if (sod->message_digest_len != sod_hash_len(sod->digest_algorithm) ||
        memcmp(h, sod->message_digest, sod->message_digest_len) != 0)
        return SOD_ERR_MESSAGE_DIGEST;
    return SOD_OK;
}

enum sod_err sod_check_dg(const struct sod *sod, unsigned number, const uint8_t *data, size_t len)
{
    uint8_t h[MBEDTLS_MD_MAX_SIZE];
    const struct sod_dg_hash *dh = sod_find_dg(sod, number);
    if (dh == NULL)
        return SOD_ERR_DG_MISSING;
    if (data == NULL && len != 0)
        return SOD_ERR_BAD_ARGUMENT;
    if (hash(sod->hash_algorithm, data, len, h) != 0)
        return SOD_ERR_UNSUPPORTED_ALGORITHM;
    if (dh->len != sod_hash_len(sod->hash_algorithm) || memcmp(h, dh->value, dh->len) != 0)
        return SOD_ERR_DG_HASH;
    return SOD_OK;
}

/* Steps 2 and 3: some CSCA issued the DS certificate; both valid at now. */
static enum sod_err check_chain(const mbedtls_x509_crt *ds, const uint8_t *const *csca,
                                const size_t *csca_len, size_t n_csca, const struct sod_time *now,
                                const struct sigverify_engine *eng, struct sod_verify_result *res)
{
    enum sod_err best = SOD_ERR_DS_NOT_TRUSTED;
    for (size_t i = 0; i < n_csca && best != SOD_OK; i++) {
        mbedtls_x509_crt ca;
        mbedtls_x509_crt_init(&ca);
        if (csca[i] != NULL && mbedtls_x509_crt_parse_der(&ca, csca[i], csca_len[i]) == 0 &&
            sigverify_issued_by(eng, ds, &ca)) {
            /* Prefer a CSCA valid at `now` (a renewed one) over an expired namesake. */
            enum sod_err e = validity(&ca, now, SOD_ERR_CSCA_EXPIRED, SOD_ERR_CSCA_NOT_YET_VALID);
            if (e == SOD_OK || best == SOD_ERR_DS_NOT_TRUSTED) {
                best = e;
                res->csca_index = i;
            }
        }
        mbedtls_x509_crt_free(&ca);
    }
    if (best != SOD_OK)
        return best;
    return validity(ds, now, SOD_ERR_DS_EXPIRED, SOD_ERR_DS_NOT_YET_VALID);
}

enum sod_err sod_verify(const struct sod *sod, const uint8_t *const *csca, const size_t *csca_len,
                        size_t n_csca, const struct sod_time *now, const struct sod_dg_data *dgs,
                        size_t n_dgs, const struct sigverify_engine *eng,
                        struct sod_verify_result *res)
{
    struct sod_verify_result local;
    mbedtls_x509_crt ds;
    enum sod_err e = SOD_ERR_NO_DS_CERT;

    if (res == NULL)
        res = &local;
    memset(res, 0, sizeof *res);
    if (sod == NULL || csca == NULL || csca_len == NULL || n_csca == 0 || now == NULL ||
        (dgs == NULL && n_dgs != 0) || sod->signed_attrs == NULL)
        return SOD_ERR_BAD_ARGUMENT;

    mbedtls_x509_crt_init(&ds);
    for (size_t i = 0; i < sod->n_certs; i++) {
        mbedtls_x509_crt_free(&ds);
        mbedtls_x509_crt_init(&ds);
        if (mbedtls_x509_crt_parse_der(&ds, sod->cert[i], sod->cert_len[i]) != 0) {
            e = SOD_ERR_BAD_CERT;
            continue;
        }
        if (sod_is_signer(sod, &ds)) {
            res->ds_cert_index = i;
            e = SOD_OK;
            break;
        }
        e = SOD_ERR_NO_DS_CERT;
    }
    if (e == SOD_OK)
        e = check_chain(&ds, csca, csca_len, n_csca, now, eng, res);
    if (e == SOD_OK)
        e = sod_check_signed(sod, &ds, eng);
    mbedtls_x509_crt_free(&ds);
    if (e != SOD_OK)
        return e;

    for (size_t i = 0; i < n_dgs; i++) {
        e = sod_check_dg(sod, dgs[i].number, dgs[i].data, dgs[i].len);
        if (e != SOD_OK) {
            res->failed_dg = dgs[i].number;
            return e;
        }
    }
    return SOD_OK;
}

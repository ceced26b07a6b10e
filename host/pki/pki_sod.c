/*
 * EF.SOD, the Document Security Object (ICAO Doc 9303-10 §4.6.2): a CMS
 * SignedData (RFC 5652 §5) whose encapsulated content is the
 * LDSSecurityObject, signed by the Document Signer.
 *
 *   LDSSecurityObject ::= SEQUENCE { version INTEGER v0(0),
 *       hashAlgorithm DigestAlgorithmIdentifier,
 *       dataGroupHashValues SEQUENCE OF DataGroupHash }
 *   DataGroupHash ::= SEQUENCE { dataGroupNumber INTEGER,
 *       dataGroupHashValue OCTET STRING }
 */
#include <string.h>

#include <mbedtls/x509_crt.h>

#include "pki_internal.h"

static enum pki_err lds_security_object(const int *dg, const uint8_t (*hashes)[32], size_t n,
                                        struct pki_buf *out)
{
    struct pki_buf c = {0}, list = {0};
    enum pki_err e = der_uint(&c, 0);
    if (e == PKI_OK)
        e = der_alg_id(&c, OID_SHA256);
    for (size_t i = 0; e == PKI_OK && i < n; i++) {
        struct pki_buf one = {0};
        e = der_uint(&one, (uint32_t)dg[i]);
        if (e == PKI_OK)
            e = der_put(&one, DER_OCTET_STRING, hashes[i], 32);
        if (e == PKI_OK)
            e = der_wrap(&list, DER_SEQUENCE, &one);
        pki_buf_free(&one);
    }
    if (e == PKI_OK)
        e = der_wrap(&c, DER_SEQUENCE, &list);
    if (e == PKI_OK)
        e = der_wrap(out, DER_SEQUENCE, &c);
    pki_buf_free(&c);
    pki_buf_free(&list);
    return e;
}

/* Attribute ::= SEQUENCE { attrType OID, attrValues SET OF value } (one value) */
static enum pki_err attribute(struct pki_buf *out, const char *oid, const struct pki_buf *value)
{
    struct pki_buf c = {0};
    enum pki_err e = pki_der_oid(&c, oid);
    if (e == PKI_OK)
        e = der_put(&c, DER_SET, value->p, value->len);
    if (e == PKI_OK)
        return der_wrap(out, DER_SEQUENCE, &c);
    pki_buf_free(&c);
    return e;
}

/*
 * signedAttrs (RFC 5652 §5.3, §11): contentType (the eContentType), messageDigest of the
 * eContent, signingTime; DER-sorted, since the signature covers their
 * DER encoding as a SET OF (§5.4).
 */
static enum pki_err signed_attrs(const char *content_type, const uint8_t digest[32],
                                 const char *signing_time, uint32_t tag, struct pki_buf *out)
{
    struct pki_buf items[3] = {{0}, {0}, {0}};
    struct pki_buf v = {0};
    enum pki_err e = pki_der_oid(&v, content_type);
    if (e == PKI_OK)
        e = attribute(&items[0], OID_CONTENT_TYPE, &v);
    pki_buf_free(&v);
    if (e == PKI_OK)
        e = der_put(&v, DER_OCTET_STRING, digest, 32);
    if (e == PKI_OK)
        e = attribute(&items[1], OID_MESSAGE_DIGEST, &v);
    pki_buf_free(&v);
    /* "none": no signingTime (RFC 5652 makes it optional). UTCTime for YYMMDDhhmmssZ,
     * GeneralizedTime for anything longer; a "17:" or "18:" prefix forces the tag whatever the
     * text (material a verifier must refuse). */
    size_t n_items = strcmp(signing_time, "none") == 0 ? 2 : 3;
    uint32_t time_tag = strlen(signing_time) == 13 ? DER_UTC_TIME : DER_GENERALIZED_TIME;
    if (strncmp(signing_time, "17:", 3) == 0 || strncmp(signing_time, "18:", 3) == 0) {
        time_tag = signing_time[1] == '7' ? DER_UTC_TIME : DER_GENERALIZED_TIME;
        signing_time += 3;
    }
    if (e == PKI_OK && n_items == 3)
        e = der_put(&v, time_tag, signing_time, strlen(signing_time));
    if (e == PKI_OK && n_items == 3)
        e = attribute(&items[2], OID_SIGNING_TIME, &v);
    pki_buf_free(&v);
    if (e == PKI_OK)
        return der_set_of(out, tag, items, n_items);
    for (size_t i = 0; i < 3; i++)
        pki_buf_free(&items[i]);
    return e;
}

enum pki_err pki_sign(mbedtls_pk_context *key, const uint8_t *data, size_t n, struct pki_rng *r,
                      uint8_t *sig, size_t cap, size_t *sig_len)
{
    uint8_t h[32], tmp[MBEDTLS_PK_SIGNATURE_MAX_SIZE];
    pki_sha256(data, n, h);
    if (mbedtls_pk_sign(key, MBEDTLS_MD_SHA256, h, sizeof h, tmp, sig_len, pki_rng_fn, r) != 0 ||
        *sig_len > cap)
        return PKI_ERR_CRYPTO;
    memcpy(sig, tmp, *sig_len);
    return PKI_OK;
}

enum pki_err pki_make_signed_data(const char *econtent_type, const struct pki_buf *econtent,
                                  const struct pki_buf *certs, size_t n_certs,
                                  const struct pki_buf *signer_cert, mbedtls_pk_context *signer_key,
                                  const char *signing_time, struct pki_rng *rng,
                                  struct pki_buf *out)
{
    struct pki_buf attrs_set = {0}, si = {0}, sd = {0}, tmp = {0}, ci = {0}, alg = {0}, eci = {0},
                   octet = {0}, cert_set = {0}, sdseq = {0};
    uint8_t digest[32];
    uint8_t sig[MBEDTLS_PK_SIGNATURE_MAX_SIZE];
    size_t sig_len = 0;
    mbedtls_x509_crt crt;
    mbedtls_x509_crt_init(&crt);
    enum pki_err e = PKI_ERR_CRYPTO;

    if (pki_crt_parse_der(&crt, signer_cert->p, signer_cert->len) != 0)
        goto out;
    pki_sha256(econtent->p, econtent->len, digest);
    /* The signature covers the attributes with the SET OF tag (§5.4), stored as [0] IMPLICIT. */
    e = signed_attrs(econtent_type, digest, signing_time, DER_SET, &attrs_set);
    if (e == PKI_OK)
        e = pki_sign(signer_key, attrs_set.p, attrs_set.len, rng, sig, sizeof sig, &sig_len);
    if (e != PKI_OK)
        goto out;
    attrs_set.p[0] = DER_CTX0;

    /* SignerInfo: version 1 with issuerAndSerialNumber (§5.3), as 9303-10 recommends. */
    e = der_uint(&si, 1);
    if (e == PKI_OK)
        e = pki_buf_append(&tmp, crt.issuer_raw.p, crt.issuer_raw.len);
    if (e == PKI_OK)
        e = der_put(&tmp, DER_INTEGER, crt.serial.p, crt.serial.len);
    if (e == PKI_OK)
        e = der_wrap(&si, DER_SEQUENCE, &tmp);
    if (e == PKI_OK)
        e = der_alg_id(&si, OID_SHA256);
    if (e == PKI_OK)
        e = pki_buf_append(&si, attrs_set.p, attrs_set.len);
    if (e == PKI_OK)
        e = der_alg_id(&si, OID_ECDSA_SHA256);
    if (e == PKI_OK)
        e = der_put(&si, DER_OCTET_STRING, sig, sig_len);
    if (e == PKI_OK)
        e = der_wrap(&tmp, DER_SEQUENCE, &si); /* tmp = SignerInfo */

    /* SignedData v3: the eContentType is not id-data (§5.1). */
    if (e == PKI_OK)
        e = der_uint(&sd, 3);
    if (e == PKI_OK)
        e = der_alg_id(&alg, OID_SHA256);
    if (e == PKI_OK)
        e = der_wrap(&sd, DER_SET, &alg);
    if (e == PKI_OK)
        e = pki_der_oid(&eci, econtent_type);
    if (e == PKI_OK)
        e = der_put(&octet, DER_OCTET_STRING, econtent->p, econtent->len);
    if (e == PKI_OK)
        e = der_wrap(&eci, DER_CTX0, &octet);
    if (e == PKI_OK)
        e = der_wrap(&sd, DER_SEQUENCE, &eci);
    /* certificates [0] IMPLICIT CertificateSet */
    for (size_t i = 0; e == PKI_OK && i < n_certs; i++)
        e = pki_buf_append(&cert_set, certs[i].p, certs[i].len);
    if (e == PKI_OK && n_certs)
        e = der_wrap(&sd, DER_CTX0, &cert_set);
    if (e == PKI_OK)
        e = der_wrap(&sd, DER_SET, &tmp);
    if (e == PKI_OK)
        e = der_wrap(&sdseq, DER_SEQUENCE, &sd);
    if (e == PKI_OK)
        e = pki_der_oid(&ci, OID_SIGNED_DATA);
    if (e == PKI_OK)
        e = der_wrap(&ci, DER_CTX0, &sdseq);
    if (e == PKI_OK)
        e = der_wrap(out, DER_SEQUENCE, &ci);
out:
    mbedtls_x509_crt_free(&crt);
    pki_buf_free(&attrs_set);
    pki_buf_free(&si);
    pki_buf_free(&sd);
    pki_buf_free(&tmp);
    pki_buf_free(&ci);
    pki_buf_free(&alg);
    pki_buf_free(&eci);
    pki_buf_free(&octet);
    pki_buf_free(&cert_set);
    pki_buf_free(&sdseq);
    return e;
}

enum pki_err pki_make_sod(const int *dg_numbers, const uint8_t (*hashes)[32], size_t n,
                          const struct pki_buf *ds_cert, mbedtls_pk_context *ds_key,
                          const char *signing_time, struct pki_rng *rng, struct pki_buf *out)
{
    struct pki_buf lso = {0}, ci = {0};
    enum pki_err e = lds_security_object(dg_numbers, hashes, n, &lso);
    /* certificates: the DS certificate (9303-10 §4.6.2.2) */
    if (e == PKI_OK)
        e = pki_make_signed_data(OID_LDS_SECURITY_OBJ, &lso, ds_cert, 1, ds_cert, ds_key,
                                 signing_time, rng, &ci);
    if (e == PKI_OK)
        e = der_wrap(out, 0x77, &ci);
    pki_buf_free(&lso);
    pki_buf_free(&ci);
    return e;
}

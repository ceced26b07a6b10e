/*
 * Certificate revocation lists as a CSCA or the reader CA issues them: an
 * X.509 v2 CRL (RFC 5280 §5) with the authorityKeyIdentifier and cRLNumber
 * extensions 9303-12 §7.1.3 asks for, signed ecdsa-with-SHA256 (mbedTLS
 * 2.28 writes no CRLs, so the DER is ours, through the helpers of pki_der.c).
 *
 *   CertificateList ::= SEQUENCE { tbsCertList, signatureAlgorithm, signatureValue }
 *   TBSCertList ::= SEQUENCE { version v2(1), signature, issuer Name, thisUpdate,
 *       nextUpdate, revokedCertificates SEQUENCE OF SEQUENCE { userCertificate
 *       CertificateSerialNumber, revocationDate } OPTIONAL, crlExtensions [0] }
 */
#include <string.h>

#include <mbedtls/x509_crt.h>

#include "hawiya/tlv.h"
#include "pki_internal.h"

/* The subjectKeyIdentifier of a certificate (RFC 5280 §4.2.1.2), from its extensions. */
static bool cert_ski(const mbedtls_x509_crt *c, const uint8_t **ski, size_t *len)
{
    static const uint8_t oid_ski[] = {0x55, 0x1D, 0x0E};
    struct tlv exts, ext, f;
    struct tlv_iter it, in;
    if (c->v3_ext.p == NULL || tlv_parse(c->v3_ext.p, c->v3_ext.len, TLV_STRICT, &exts) != TLV_OK ||
        exts.tag != DER_SEQUENCE)
        return false;
    tlv_iter_init(&it, exts.value, exts.len, TLV_STRICT);
    while (tlv_iter_next(&it, &ext) == TLV_OK) {
        tlv_iter_init(&in, ext.value, ext.len, TLV_STRICT);
        if (tlv_iter_next(&in, &f) != TLV_OK || f.tag != DER_OID || f.len != sizeof oid_ski ||
            memcmp(f.value, oid_ski, sizeof oid_ski) != 0)
            continue;
        while (tlv_iter_next(&in, &f) == TLV_OK) {
            struct tlv inner;
            if (f.tag == DER_OCTET_STRING &&
                tlv_parse(f.value, f.len, TLV_STRICT, &inner) == TLV_OK &&
                inner.tag == DER_OCTET_STRING) {
                *ski = inner.value;
                *len = inner.len;
                return true;
            }
        }
    }
    return false;
}

/* Extension ::= SEQUENCE { extnID, extnValue OCTET STRING } (not critical) */
static enum pki_err extension(struct pki_buf *out, const char *oid, struct pki_buf *value)
{
    struct pki_buf e = {0};
    enum pki_err r = pki_der_oid(&e, oid);
    if (r == PKI_OK)
        r = der_put(&e, DER_OCTET_STRING, value->p, value->len);
    pki_buf_free(value);
    if (r == PKI_OK)
        return der_wrap(out, DER_SEQUENCE, &e);
    pki_buf_free(&e);
    return r;
}

enum pki_err pki_make_crl(const struct pki_buf *issuer_cert, mbedtls_pk_context *issuer_key,
                          const struct pki_buf *revoked, size_t n_revoked, uint32_t crl_number,
                          const char *this_update, const char *next_update, struct pki_rng *rng,
                          struct pki_buf *out)
{
    mbedtls_x509_crt issuer, r;
    struct pki_buf tbs = {0}, list = {0}, exts = {0}, v = {0}, aki = {0}, body = {0};
    const uint8_t *ski = NULL;
    size_t ski_len = 0;
    enum pki_err e = PKI_ERR_CRYPTO;
    mbedtls_x509_crt_init(&issuer);
    if (mbedtls_x509_crt_parse_der(&issuer, issuer_cert->p, issuer_cert->len) != 0 ||
        !cert_ski(&issuer, &ski, &ski_len))
        goto out;
    e = der_uint(&tbs, 1); /* v2 */
    if (e == PKI_OK)
        e = der_alg_id(&tbs, OID_ECDSA_SHA256);
    if (e == PKI_OK)
        e = pki_buf_append(&tbs, issuer.subject_raw.p, issuer.subject_raw.len);
    if (!this_update)
        this_update = PKI_CRL_THIS_UPDATE;
    if (!next_update)
        next_update = PKI_CRL_NEXT_UPDATE;
    if (e == PKI_OK)
        e = der_put(&tbs, DER_UTC_TIME, this_update, strlen(this_update));
    if (e == PKI_OK)
        e = der_put(&tbs, DER_UTC_TIME, next_update, strlen(next_update));
    for (size_t i = 0; e == PKI_OK && i < n_revoked; i++) {
        struct pki_buf one = {0};
        mbedtls_x509_crt_init(&r);
        if (mbedtls_x509_crt_parse_der(&r, revoked[i].p, revoked[i].len) != 0)
            e = PKI_ERR_BAD_KEY;
        if (e == PKI_OK)
            e = der_put(&one, DER_INTEGER, r.serial.p, r.serial.len);
        if (e == PKI_OK)
            e = der_put(&one, DER_UTC_TIME, PKI_CRL_REVOCATION_DATE,
                        strlen(PKI_CRL_REVOCATION_DATE));
        if (e == PKI_OK)
            e = der_wrap(&list, DER_SEQUENCE, &one);
        pki_buf_free(&one);
        mbedtls_x509_crt_free(&r);
    }
    /* RFC 5280 §5.1.2.6: an empty list is left out, not written empty. */
    if (e == PKI_OK && n_revoked)
        e = der_wrap(&tbs, DER_SEQUENCE, &list);
    /* AuthorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0] IMPLICIT OCTET STRING } */
    if (e == PKI_OK)
        e = der_put(&aki, DER_CTX0_PRIM, ski, ski_len);
    if (e == PKI_OK)
        e = der_wrap(&v, DER_SEQUENCE, &aki);
    if (e == PKI_OK)
        e = extension(&exts, OID_AUTHORITY_KEY_ID, &v);
    if (e == PKI_OK)
        e = der_uint(&v, crl_number);
    if (e == PKI_OK)
        e = extension(&exts, OID_CRL_NUMBER, &v);
    if (e == PKI_OK)
        e = der_wrap(&v, DER_SEQUENCE, &exts);
    if (e == PKI_OK)
        e = der_wrap(&tbs, DER_CTX0, &v);
    if (e == PKI_OK)
        e = der_wrap(&body, DER_SEQUENCE, &tbs); /* body = TBSCertList */
    if (e == PKI_OK)
        e = pki_signed_object(&body, issuer_key, rng, out);
out:
    mbedtls_x509_crt_free(&issuer);
    pki_buf_free(&tbs);
    pki_buf_free(&list);
    pki_buf_free(&exts);
    pki_buf_free(&v);
    pki_buf_free(&aki);
    pki_buf_free(&body);
    return e;
}

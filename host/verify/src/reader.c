/*
 * The reader's attestation (docs/assertion.md, "The reader block"): its
 * device certificate against the reader-CA store (profile, chain, id,
 * revocation, validity at the caller's `now`), then its ECDSA P-256
 * signature over the to-be-signed digest, in its one encoding (DER,
 * minimal integers, low S).
 */
#include <stdio.h>
#include <string.h>

#include <mbedtls/oid.h>
#include <mbedtls/pk.h>

#include "ecdsa_libcrypto.h"
#include "hawiya/sigverify.h"
#include "internal.h"

/* The subject's commonName equals id (hawiya-pki writes CN = the reader id). */
static bool cn_is(const mbedtls_x509_crt *c, const char *id)
{
    size_t n = strlen(id), found = 0;
    bool same = false;
    for (const mbedtls_x509_name *a = &c->subject; a; a = a->next) {
        if (!a->oid.p || MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &a->oid) != 0)
            continue;
        found++;
        same = a->val.len == n && memcmp(a->val.p, id, n) == 0;
    }
    return found == 1 && same;
}

/* One DER INTEGER at *p (short form, as a P-256 signature's are): minimal, positive. */
static bool der_positive_int(const uint8_t **p, const uint8_t *end, mbedtls_mpi *v)
{
    if (end - *p < 3 || (*p)[0] != 0x02 || (*p)[1] == 0 || (*p)[1] >= 0x80 ||
        (*p)[1] > end - *p - 2)
        return false;
    const uint8_t *c = *p + 2;
    size_t n = (*p)[1];
    if ((c[0] & 0x80) || (n > 1 && c[0] == 0 && !(c[1] & 0x80)))
        return false;
    *p = c + n;
    return mbedtls_mpi_read_binary(v, c, n) == 0 && mbedtls_mpi_cmp_int(v, 0) > 0;
}

/* A DER header of `tag` at *p with the fewest length octets; *val and *len its value, *p past
 * it. */
static bool der_hdr(const uint8_t **p, const uint8_t *end, uint8_t tag, const uint8_t **val,
                    size_t *len)
{
    size_t left = (size_t)(end - *p), n, h = 2;
    if (left < 2 || (*p)[0] != tag)
        return false;
    n = (*p)[1];
    if (n & 0x80) {
        size_t k = n & 0x7F;
        if (k == 0 || k > 3 || left < 2 + k || (*p)[2] == 0)
            return false;
        n = 0;
        for (size_t i = 0; i < k; i++)
            n = n << 8 | (*p)[2 + i];
        if (n < 0x80)
            return false;
        h += k;
    }
    if (n > left - h)
        return false;
    *val = *p + h;
    *len = n;
    *p = *val + n;
    return true;
}

/*
 * The reader signature in its one encoding: DER Ecdsa-Sig-Value with
 * minimal INTEGERs, 0 < r < n and 0 < s <= n/2 (hawiya/assertion.h: the
 * reader writes the low one of s and n - s, which both verify).
 */
static bool ecdsa_der_low_s(const mbedtls_ecp_group *grp, const uint8_t *sig, size_t len)
{
    mbedtls_mpi r, s, half;
    const uint8_t *p = sig, *end = sig + len, *body;
    size_t body_len;
    if (!der_hdr(&p, end, 0x30, &body, &body_len) || p != end)
        return false;
    mbedtls_mpi_init(&r);
    mbedtls_mpi_init(&s);
    mbedtls_mpi_init(&half);
    p = body;
    bool ok = der_positive_int(&p, end, &r) && der_positive_int(&p, end, &s) && p == end &&
              mbedtls_mpi_cmp_mpi(&r, &grp->N) < 0 && mbedtls_mpi_copy(&half, &grp->N) == 0 &&
              mbedtls_mpi_shift_r(&half, 1) == 0 && mbedtls_mpi_cmp_mpi(&s, &half) <= 0;
    mbedtls_mpi_free(&r);
    mbedtls_mpi_free(&s);
    mbedtls_mpi_free(&half);
    return ok;
}

/*
 * The reader certificate in its one spelling. The reader's signature does not cover it and its
 * CA's signature covers the TBSCertificate only, so what lies around that must have one form:
 * the outer SEQUENCE and the BIT STRING with the fewest length octets, the signatureAlgorithm
 * byte for byte the TBSCertificate's, no unused bits, and an ECDSA CA signature in DER with
 * minimal integers and a low s (hawiya-pki writes the low one of (r, s) and (r, n - s), which
 * both verify). An RSA CA's PKCS #1 v1.5 signature has one form already.
 */
static bool reader_cert_one_spelling(const uint8_t *cert, size_t len, const mbedtls_x509_crt *ca)
{
    const uint8_t *p = cert, *end = cert + len, *body, *tbs, *alg, *bits, *t, *field;
    size_t body_len, tbs_len, alg_len, bits_len, field_len;
    if (!der_hdr(&p, end, 0x30, &body, &body_len) || p != end)
        return false;
    p = body;
    end = body + body_len;
    if (!der_hdr(&p, end, 0x30, &tbs, &tbs_len))
        return false;
    const uint8_t *alg_start = p;
    if (!der_hdr(&p, end, 0x30, &alg, &alg_len))
        return false;
    size_t alg_whole = (size_t)(p - alg_start);
    if (!der_hdr(&p, end, 0x03, &bits, &bits_len) || p != end || bits_len < 2 || bits[0] != 0)
        return false;
    /* TBSCertificate: [0] version, serialNumber, signature AlgorithmIdentifier, ... */
    t = tbs;
    const uint8_t *tend = tbs + tbs_len;
    if (!der_hdr(&t, tend, 0xA0, &field, &field_len) ||
        !der_hdr(&t, tend, 0x02, &field, &field_len))
        return false;
    const uint8_t *sig_alg = t;
    if (!der_hdr(&t, tend, 0x30, &field, &field_len) || (size_t)(t - sig_alg) != alg_whole ||
        memcmp(sig_alg, alg_start, alg_whole) != 0)
        return false;
    if (mbedtls_pk_can_do(&ca->pk, MBEDTLS_PK_ECDSA))
        return ecdsa_der_low_s(&mbedtls_pk_ec(ca->pk)->grp, bits + 1, bits_len - 1);
    return true;
}

enum hv_err hvi_check_reader(const struct hv_trust *t, const struct hv_time *now, const char *id,
                             const uint8_t *cert, size_t cert_len, const uint8_t *digest,
                             const uint8_t *sig, size_t sig_len, char *msg, size_t cap)
{
    mbedtls_x509_crt crt;
    mbedtls_x509_crt_init(&crt);
    enum hv_err e = HV_OK;
    const char *why;
    /* One DER certificate and nothing after it: appended bytes would be a second spelling of
     * the same assertion (the certificate is not under the reader's signature). */
    if (hvi_crt_parse_der(&crt, cert, cert_len) != 0 || crt.raw.len != cert_len) {
        snprintf(msg, cap, "reader certificate does not parse as one DER certificate");
        e = HV_ERR_READER_UNTRUSTED;
        goto out;
    }
    if ((why = hvi_not_reader_cert(&crt)) != NULL) {
        snprintf(msg, cap, "reader certificate: %s", why);
        e = HV_ERR_READER_UNTRUSTED;
        goto out;
    }
    const mbedtls_x509_crt *issuer = NULL;
    /* Only the reader-CA store: a CSCA never vouches for a reader. */
    for (size_t i = 0; i < t->n_reader_ca && !issuer; i++)
        if (hvi_issued_by(&crt, &t->reader_ca[i]))
            issuer = &t->reader_ca[i];
    if (!issuer) {
        snprintf(msg, cap, "reader certificate is not issued by a trusted reader CA");
        e = HV_ERR_READER_UNTRUSTED;
        goto out;
    }
    if (!cn_is(&crt, id)) {
        snprintf(msg, cap, "reader id is not the certificate's commonName");
        e = HV_ERR_READER_UNTRUSTED;
        goto out;
    }
    if (hvi_revoked(t, HVI_PKI_READER, &crt)) {
        snprintf(msg, cap, "reader certificate is revoked by its CA's CRL");
        e = HV_ERR_REVOKED;
        goto out;
    }
    /* A reader CA whose key was compromised is revoked by a CRL of its (renewed) CA name. */
    if (hvi_revoked(t, HVI_PKI_READER, issuer)) {
        snprintf(msg, cap, "the reader CA certificate is revoked by a CRL of its name");
        e = HV_ERR_REVOKED;
        goto out;
    }
    /* Validity is judged at `now`, not against the system clock. */
    e = hvi_validity(issuer, now, "reader CA certificate", msg, cap);
    if (e == HV_OK)
        e = hvi_validity(&crt, now, "reader certificate", msg, cap);
    if (e == HV_OK)
        e = hvi_crl_current(t, HVI_PKI_READER, &crt.issuer, now, "the reader CA", msg, cap);
    if (e == HV_OK)
        e = hvi_crl_current(t, HVI_PKI_READER, &issuer->issuer, now, "the reader CA", msg, cap);
    if (e != HV_OK)
        goto out;
    if (!reader_cert_one_spelling(cert, cert_len, issuer)) {
        snprintf(msg, cap,
                 "reader certificate is not in its one spelling (DER around the TBSCertificate, "
                 "the CA's ECDSA signature with minimal integers and a low s)");
        e = HV_ERR_READER_UNTRUSTED;
        goto out;
    }
    if (!ecdsa_der_low_s(&mbedtls_pk_ec(crt.pk)->grp, sig, sig_len)) {
        snprintf(msg, cap, "reader signature is not DER with minimal integers and a low s");
        e = HV_ERR_READER_SIGNATURE;
        goto out;
    }
    if (sigverify_pk(&hvi_libcrypto_engine, MBEDTLS_PK_ECDSA, NULL, &crt.pk, MBEDTLS_MD_SHA256,
                     digest, HV_DIGEST_LEN, sig, sig_len) != 0) {
        snprintf(msg, cap, "reader signature does not verify over the assertion digest");
        e = HV_ERR_READER_SIGNATURE;
    }
out:
    mbedtls_x509_crt_free(&crt);
    return e;
}

/*
 * CSCA Master Lists (ICAO 9303-12 §8.2.1 and its ASN.1): how a platform
 * receives the CSCAs of many states at once.
 *
 *   ContentInfo { id-signedData, SignedData { eContentType id-icao-cscaMasterList
 *       (2.23.136.1.1.2), eContent CscaMasterList, certificates (the Master List
 *       Signer's), one SignerInfo } }
 *   CscaMasterList ::= SEQUENCE { version CscaMasterListVersion (v0),
 *       certList SET OF Certificate }
 *
 * The SignedData is read by the EF.SOD parser (hawiya/sod.h, same CMS
 * rules); the list's signer must be a Master List Signer (extKeyUsage
 * id-icao-cscaMasterListSigningKey) that the platform trusts for master
 * lists, directly or through the CSCA that issued it.
 */
#include <stdio.h>
#include <string.h>

#include <mbedtls/asn1.h>

#include "ecdsa_libcrypto.h"
#include "hawiya/sod.h"
#include "internal.h"

static enum hv_err refuse(char *msg, size_t cap, const char *why)
{
    if (msg && cap)
        snprintf(msg, cap, "master list refused: %s", why);
    return HV_ERR_TRUST_STORE;
}

/* The signer certificate in the SignedData, checked as a Master List Signer the trust vouches
 * for at `now`; *why on failure (static text, or `buf`). */
static bool signer_trusted(const struct hv_trust *t, const struct sod *ml,
                           const struct hv_time *now, mbedtls_x509_crt *signer,
                           const mbedtls_x509_crt **anchor_out, const char **why, char *buf,
                           size_t cap)
{
    char msg[128];
    for (size_t i = 0; i < ml->n_certs; i++) {
        mbedtls_x509_crt_free(signer);
        mbedtls_x509_crt_init(signer);
        if (hvi_crt_parse_der(signer, ml->cert[i], ml->cert_len[i]) == 0 &&
            sod_is_signer(ml, signer))
            break;
        mbedtls_x509_crt_free(signer);
        mbedtls_x509_crt_init(signer);
    }
    if (!signer->raw.len) {
        *why = "no certificate in it is its signer";
        return false;
    }
    if ((*why = hvi_not_ml_signer(signer)) != NULL)
        return false;
    const mbedtls_x509_crt *anchor = NULL;
    for (const mbedtls_x509_crt *a = &t->ml_signer; !anchor && a && a->raw.len; a = a->next) {
        bool same = a->raw.len == signer->raw.len && !memcmp(a->raw.p, signer->raw.p, a->raw.len);
        if (same || (hvi_not_csca(a) == NULL && hvi_issued_by(signer, a)))
            anchor = a;
    }
    if (!anchor) {
        *why = "its signer is not a given master-list signer, nor issued by one";
        return false;
    }
    /* Revoked, or its CSCA's CRL feed behind: the rules of a Document Signer, which hv_verify
     * applies again with the CRLs loaded after the list. */
    if (hvi_ml_signer_stands(t, signer, anchor, now, buf, cap) != HV_OK) {
        *why = buf;
        return false;
    }
    if (hvi_validity(anchor, now, "anchor", msg, sizeof msg) != HV_OK ||
        hvi_validity(signer, now, "signer", msg, sizeof msg) != HV_OK) {
        *why = "its signer or the signer's anchor is not valid now";
        return false;
    }
    *anchor_out = anchor;
    return true;
}

enum hv_err hvi_add_masterlist(struct hv_trust *t, const uint8_t *buf, size_t len,
                               const struct hv_time *now, char *msg, size_t cap)
{
    struct sod ml;
    char why_cms[96];
    if (!t || !buf || !now)
        return HV_ERR_ARGUMENT;
    enum sod_err se =
        sod_parse_cms(buf, len, sod_oid_csca_master_list, sizeof sod_oid_csca_master_list, &ml);
    if (se != SOD_OK) {
        snprintf(why_cms, sizeof why_cms, "not a CMS SignedData of a CSCA master list (%s)",
                 sod_err_str(se));
        return refuse(msg, cap, why_cms);
    }
    if (t->n_masterlist >= HVI_MAX_MASTERLIST)
        return refuse(msg, cap, "too many master lists");
    mbedtls_x509_crt signer;
    mbedtls_x509_crt_init(&signer);
    const mbedtls_x509_crt *anchor = NULL;
    const char *why = NULL;
    char why_signer[192];
    bool ok = signer_trusted(t, &ml, now, &signer, &anchor, &why, why_signer, sizeof why_signer);
    if (ok && (se = sod_check_signed(&ml, &signer, &hvi_libcrypto_engine)) != SOD_OK) {
        snprintf(why_cms, sizeof why_cms, "its signature does not verify (%s)", sod_err_str(se));
        why = why_cms;
        ok = false;
    }
    /* Kept for hv_verify(): a CRL loaded later may still revoke the signer or its anchor. */
    const size_t list = t->n_masterlist;
    mbedtls_x509_crt *keep_signer = &t->ml_origin[list].signer;
    mbedtls_x509_crt *keep_anchor = &t->ml_origin[list].anchor;
    mbedtls_x509_crt_free(keep_signer);
    mbedtls_x509_crt_free(keep_anchor);
    mbedtls_x509_crt_init(keep_signer);
    mbedtls_x509_crt_init(keep_anchor);
    if (ok && (hvi_crt_parse_der(keep_signer, signer.raw.p, signer.raw.len) != 0 ||
               hvi_crt_parse_der(keep_anchor, anchor->raw.p, anchor->raw.len) != 0)) {
        why = "out of memory";
        ok = false;
    }
    mbedtls_x509_crt_free(&signer);
    if (!ok)
        return refuse(msg, cap, why);

    /* CscaMasterList ::= SEQUENCE { version INTEGER (0), certList SET OF Certificate } */
    unsigned char *p = (unsigned char *)ml.econtent, *end = p + ml.econtent_len, *set_end;
    size_t n;
    int version;
    if (mbedtls_asn1_get_tag(&p, end, &n, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE) ||
        p + n != end || mbedtls_asn1_get_int(&p, end, &version) || version != 0 ||
        mbedtls_asn1_get_tag(&p, end, &n, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SET) ||
        p + n != end)
        return refuse(msg, cap, "its content is not a CscaMasterList v0");
    set_end = p + n;
    /* Check every entry first: the list is taken whole or not at all. */
    mbedtls_x509_crt entries;
    mbedtls_x509_crt_init(&entries);
    enum hv_err e = HV_OK;
    size_t k = 0;
    while (p < set_end && e == HV_OK) {
        unsigned char *start = p;
        if (mbedtls_asn1_get_tag(&p, set_end, &n,
                                 MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE) ||
            hvi_crt_parse_der(&entries, start, (size_t)(p + n - start)) != 0) {
            e = refuse(msg, cap, "an entry of its certList is not a certificate");
            break;
        }
        p += n;
        k++;
    }
    if (e == HV_OK && k == 0)
        e = refuse(msg, cap, "its certList is empty");
    size_t links = 0;
    for (const mbedtls_x509_crt *c = &entries; e == HV_OK && c && c->raw.len; c = c->next) {
        const char *not = hvi_not_csca(c);
        if (not &&hvi_is_link_certificate(c)) {
            links++;
            continue;
        }
        if (not ) {
            char w[256];
            snprintf(w, sizeof w, "an entry is not a CSCA: %s", not );
            e = refuse(msg, cap, w);
        }
    }
    for (const mbedtls_x509_crt *c = &entries; e == HV_OK && c && c->raw.len; c = c->next) {
        if (hvi_not_csca(c))
            continue; /* a link certificate */
        e = hvi_add_listed_csca(t, c->raw.p, c->raw.len, list);
        if (e != HV_OK && msg && cap)
            snprintf(msg, cap, "master list: %s",
                     e == HV_ERR_MEMORY ? "out of memory" : "the CSCA store is full");
    }
    mbedtls_x509_crt_free(&entries);
    if (e == HV_OK) {
        t->n_masterlist++;
        t->n_link_skipped += links;
    } else {
        /* A list refused half-way vouches for nothing, and the next list takes its slot. */
        for (size_t i = 0; i < t->n_csca && i < HV_MAX_CSCA; i++)
            t->csca_lists[i] &= ~((uint64_t)1 << list);
    }
    return e;
}

enum hv_err hv_trust_add_masterlist(struct hv_trust *t, const uint8_t *buf, size_t len,
                                    const struct hv_time *now)
{
    return hvi_add_masterlist(t, buf, len, now, NULL, 0);
}

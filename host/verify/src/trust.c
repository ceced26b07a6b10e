/*
 * Trust stores (docs/assertion.md, "Trust"): CSCA certificates (ICAO
 * 9303-12 §7.1.1), the reader manufacturer's CAs, Document Signers given
 * apart from the SODs, master-list anchors and CRLs (RFC 5280 §5). Every
 * certificate is checked against its store's profile when it is added, and
 * a file offered to a store that holds anything else is refused with its
 * name, so that no certificate can serve in another role than its own.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <mbedtls/asn1.h>
#include <mbedtls/oid.h>
#include <mbedtls/pem.h>
#include <mbedtls/pk.h>

#include "ecdsa_libcrypto.h"
#include "hawiya/sigverify.h"
#include "internal.h"

/* The Hawiya reader-CA certificate policy, 2.25.51346283052073480999273905127589327071 (a UUID
 * OID, ITU-T X.667; host/pki/pki.h PKI_READER_CA_POLICY): its content octets. */
static const uint8_t reader_ca_policy[] = {0x69, 0xCD, 0xA0, 0xF7, 0xCD, 0xA8, 0x84,
                                           0xBA, 0xA4, 0xA1, 0xBA, 0xEB, 0xC7, 0xE4,
                                           0x99, 0xA2, 0xEA, 0xE1, 0x5F};
/* id-icao-cscaMasterListSigningKey, 2.23.136.1.1.3 (9303-12 §7.1.1.3) */
static const uint8_t oid_ml_signing_key[] = {0x67, 0x81, 0x08, 0x01, 0x01, 0x03};

struct hv_trust *hv_trust_new(void)
{
    struct hv_trust *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    mbedtls_x509_crt_init(&t->csca);
    for (size_t i = 0; i < HV_MAX_READER_CA; i++)
        mbedtls_x509_crt_init(&t->reader_ca[i]);
    mbedtls_x509_crt_init(&t->ds);
    mbedtls_x509_crt_init(&t->ml_signer);
    mbedtls_x509_crl_init(&t->crl[HVI_PKI_ICAO]);
    mbedtls_x509_crl_init(&t->crl[HVI_PKI_READER]);
    for (size_t i = 0; i < HVI_MAX_MASTERLIST; i++) {
        mbedtls_x509_crt_init(&t->ml_origin[i].signer);
        mbedtls_x509_crt_init(&t->ml_origin[i].anchor);
    }
    return t;
}

void hv_trust_free(struct hv_trust *t)
{
    if (!t)
        return;
    mbedtls_x509_crt_free(&t->csca);
    for (size_t i = 0; i < HV_MAX_READER_CA; i++)
        mbedtls_x509_crt_free(&t->reader_ca[i]);
    mbedtls_x509_crt_free(&t->ds);
    mbedtls_x509_crt_free(&t->ml_signer);
    mbedtls_x509_crl_free(&t->crl[HVI_PKI_ICAO]);
    mbedtls_x509_crl_free(&t->crl[HVI_PKI_READER]);
    for (size_t i = 0; i < HVI_MAX_MASTERLIST; i++) {
        mbedtls_x509_crt_free(&t->ml_origin[i].signer);
        mbedtls_x509_crt_free(&t->ml_origin[i].anchor);
    }
    free(t);
}

size_t hv_trust_n_csca(const struct hv_trust *t)
{
    return t ? t->n_csca : 0;
}

size_t hv_trust_n_reader_ca(const struct hv_trust *t)
{
    return t ? t->n_reader_ca : 0;
}

size_t hv_trust_n_ds(const struct hv_trust *t)
{
    return t ? t->n_ds : 0;
}

size_t hv_trust_n_crl(const struct hv_trust *t)
{
    return t ? t->n_crl : 0;
}

/* The reason for a refusal, when the caller wants one. */
static void say(char *msg, size_t cap, const char *why)
{
    if (msg && cap)
        snprintf(msg, cap, "%s", why);
}

/* --- profiles ----------------------------------------------------------------------------- */

/* The one countryName of a name as two capital letters; with fold, small letters are taken
 * and raised (an issuer name is its CSCA's subject up to ASCII case, RFC 5280 §7.1, name.c). */
static bool name_country(const mbedtls_x509_name *n, bool fold, char out[3])
{
    size_t found = 0;
    for (const mbedtls_x509_name *a = n; a; a = a->next) {
        if (!a->oid.p || MBEDTLS_OID_CMP(MBEDTLS_OID_AT_COUNTRY, &a->oid) != 0)
            continue;
        if (++found > 1 || a->val.len != 2)
            return false;
        for (size_t i = 0; i < 2; i++) {
            unsigned char ch = a->val.p[i];
            if (fold && ch >= 'a' && ch <= 'z')
                ch = (unsigned char)(ch - 'a' + 'A');
            if (ch < 'A' || ch > 'Z')
                return false;
            out[i] = (char)ch;
        }
        out[2] = '\0';
    }
    return found == 1;
}

bool hvi_subject_country(const mbedtls_x509_crt *c, char out[3])
{
    return name_country(&c->subject, false, out);
}

static bool has_policy(const mbedtls_x509_crt *c, const uint8_t *oid, size_t n)
{
    if (!(c->ext_types & MBEDTLS_X509_EXT_CERTIFICATE_POLICIES))
        return false;
    for (const mbedtls_x509_sequence *s = &c->certificate_policies; s && s->buf.p; s = s->next)
        if (s->buf.len == n && memcmp(s->buf.p, oid, n) == 0)
            return true;
    return false;
}

static bool has_key_usage(const mbedtls_x509_crt *c, unsigned bits)
{
    return (c->ext_types & MBEDTLS_X509_EXT_KEY_USAGE) && (c->key_usage & bits) == bits;
}

static bool is_ca(const mbedtls_x509_crt *c)
{
    return (c->ext_types & MBEDTLS_X509_EXT_BASIC_CONSTRAINTS) && c->ca_istrue;
}

/* key's signature sig (of type pk, with opts) over tbs hashed with md verifies. */
static bool signed_by(const mbedtls_x509_buf *tbs, mbedtls_md_type_t md, mbedtls_pk_type_t pk,
                      const void *opts, const mbedtls_x509_buf *sig, const mbedtls_pk_context *key)
{
    uint8_t h[MBEDTLS_MD_MAX_SIZE];
    const mbedtls_md_info_t *info = mbedtls_md_info_from_type(md);
    if (!info || mbedtls_md(info, tbs->p, tbs->len, h) != 0 || !mbedtls_pk_can_do(key, pk))
        return false;
    return sigverify_pk(&hvi_libcrypto_engine, pk, opts, key, md, h, mbedtls_md_get_size(info),
                        sig->p, sig->len) == 0;
}

bool hvi_issued_by(const mbedtls_x509_crt *c, const mbedtls_x509_crt *ca)
{
    return hvi_name_equal(&c->issuer, &ca->subject) && is_ca(ca) &&
           mbedtls_x509_crt_check_key_usage(ca, MBEDTLS_X509_KU_KEY_CERT_SIGN) == 0 &&
           signed_by(&c->tbs, c->sig_md, c->sig_pk, c->sig_opts, &c->sig, &ca->pk);
}

/* Self-signed: issuer is subject, and the certificate's own key verifies its signature. */
static bool self_signed(const mbedtls_x509_crt *c)
{
    return hvi_issued_by(c, c);
}

/* The extensions of a certificate one by one, from the SEQUENCE OF Extension that mbedTLS has
 * parsed already (v3_ext, inside [3]). */
struct ext_walk {
    unsigned char *p, *end;
    bool bad;      /* the walk stopped at bytes that are not an Extension */
    bool critical; /* of the Extension ext_next returned last */
};

static void ext_walk_init(struct ext_walk *w, const mbedtls_x509_crt *c)
{
    size_t len;
    w->p = c->v3_ext.p;
    w->end = w->p ? w->p + c->v3_ext.len : NULL;
    w->bad = w->p && mbedtls_asn1_get_tag(&w->p, w->end, &len,
                                          MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE) != 0;
    if (w->bad)
        w->p = w->end;
}

/* The next Extension { extnID, critical DEFAULT FALSE, extnValue }: the OID's content octets
 * and the OCTET STRING's content; false at the end, or (w->bad) at a malformed one. */
static bool ext_next(struct ext_walk *w, const unsigned char **oid, size_t *oid_len,
                     unsigned char **value, size_t *value_len)
{
    size_t len;
    int critical;
    if (!w->p || w->p >= w->end)
        return false;
    unsigned char *p = w->p, *ext_end;
    w->bad = true;
    if (mbedtls_asn1_get_tag(&p, w->end, &len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE))
        return false;
    ext_end = p + len;
    if (mbedtls_asn1_get_tag(&p, ext_end, oid_len, MBEDTLS_ASN1_OID) != 0)
        return false;
    *oid = p;
    p += *oid_len;
    if (mbedtls_asn1_get_bool(&p, ext_end, &critical) != 0)
        critical = 0; /* absent: DEFAULT FALSE */
    w->critical = critical != 0;
    if (mbedtls_asn1_get_tag(&p, ext_end, value_len, MBEDTLS_ASN1_OCTET_STRING) != 0 ||
        p + *value_len != ext_end)
        return false;
    *value = p;
    w->p = ext_end;
    w->bad = false;
    return true;
}

/* RFC 5280 §4.2: no extension twice. mbedTLS refuses a repeated extension of the kinds it
 * parses only; a second subjectKeyIdentifier (which sod_is_signer reads) would pass. */
static bool extensions_unique(const mbedtls_x509_crt *c)
{
    const unsigned char *oid[32], *id;
    size_t oid_len[32], n_oid = 0, id_len, v_len;
    unsigned char *v;
    struct ext_walk w;
    ext_walk_init(&w, c);
    while (ext_next(&w, &id, &id_len, &v, &v_len)) {
        if (n_oid == sizeof oid / sizeof oid[0])
            return false;
        for (size_t i = 0; i < n_oid; i++)
            if (oid_len[i] == id_len && memcmp(oid[i], id, id_len) == 0)
                return false;
        oid[n_oid] = id;
        oid_len[n_oid++] = id_len;
    }
    return !w.bad;
}

/*
 * What every certificate must be, whatever its role (docs/assertion.md,
 * "Algorithms"): v3 without a repeated extension, signed with SHA-1 or
 * SHA-2 (SHA-2 in the reader PKI, which is ours: a collision on a reader
 * certificate a CA signs for a device's request is worth a rogue
 * certificate), and a key of 2048 bits RSA or 224 bits EC at least (9303-12
 * has no document still valid under a smaller one).
 */
static const char *not_sound(const mbedtls_x509_crt *c, bool reader_pki)
{
    if (c->version != 3)
        return "not an X.509 v3 certificate";
    if (!extensions_unique(c))
        return "an extension twice (RFC 5280 §4.2)";
    switch (c->sig_md) {
    case MBEDTLS_MD_SHA1:
        if (reader_pki)
            return "signed with SHA-1 (the reader PKI signs with SHA-256 or stronger)";
        break;
    case MBEDTLS_MD_SHA224:
    case MBEDTLS_MD_SHA256:
    case MBEDTLS_MD_SHA384:
    case MBEDTLS_MD_SHA512: break;
    default: return "signed with a hash other than SHA-1 or SHA-2 (MD5, ...)";
    }
    size_t bits = mbedtls_pk_get_bitlen(&c->pk);
    if (mbedtls_pk_get_type(&c->pk) == MBEDTLS_PK_RSA && bits < 2048)
        return "an RSA key of fewer than 2048 bits";
    if (mbedtls_pk_get_type(&c->pk) != MBEDTLS_PK_RSA && bits < 224)
        return "an EC key of fewer than 224 bits";
    return NULL;
}

/* The rules every CA of ours shares; NULL when they hold. */
static const char *not_root_ca(const mbedtls_x509_crt *c, bool reader_pki)
{
    const char *why = not_sound(c, reader_pki);
    if (why)
        return why;
    if (!is_ca(c))
        return "no basicConstraints with cA TRUE";
    if (!has_key_usage(c, MBEDTLS_X509_KU_KEY_CERT_SIGN))
        return "no keyUsage with keyCertSign";
    if (!hvi_name_equal(&c->issuer, &c->subject))
        return "not self-issued (issuer is not the subject)";
    if (!self_signed(c))
        return "not self-signed (its own key does not verify its signature)";
    return NULL;
}

const char *hvi_not_csca(const mbedtls_x509_crt *c)
{
    char cc[3];
    if (has_policy(c, reader_ca_policy, sizeof reader_ca_policy))
        return "a reader manufacturer CA (its certificate policy says so), not a CSCA";
    const char *why = not_root_ca(c, false);
    if (why)
        return why;
    if (!hvi_subject_country(c, cc))
        return "no single two-letter countryName in the subject";
    return NULL;
}

bool hvi_is_link_certificate(const mbedtls_x509_crt *c)
{
    char cc[3];
    return c->version == 3 && is_ca(c) && has_key_usage(c, MBEDTLS_X509_KU_KEY_CERT_SIGN) &&
           hvi_subject_country(c, cc) && !self_signed(c) &&
           !has_policy(c, reader_ca_policy, sizeof reader_ca_policy);
}

const char *hvi_not_reader_ca(const mbedtls_x509_crt *c)
{
    const char *why = not_root_ca(c, true);
    if (why)
        return why;
    if (!has_policy(c, reader_ca_policy, sizeof reader_ca_policy))
        return "no Hawiya reader-CA certificate policy "
               "(2.25.51346283052073480999273905127589327071)";
    return NULL;
}

/* An end entity that signs: not a CA, keyUsage present with digitalSignature and no CA bit. */
static const char *not_signer(const mbedtls_x509_crt *c, bool reader_pki)
{
    const char *why = not_sound(c, reader_pki);
    if (why)
        return why;
    if (is_ca(c))
        return "a CA certificate (basicConstraints cA TRUE)";
    if (!(c->ext_types & MBEDTLS_X509_EXT_KEY_USAGE))
        return "no keyUsage extension";
    if (!(c->key_usage & MBEDTLS_X509_KU_DIGITAL_SIGNATURE))
        return "keyUsage without digitalSignature";
    if (c->key_usage & (MBEDTLS_X509_KU_KEY_CERT_SIGN | MBEDTLS_X509_KU_CRL_SIGN))
        return "keyUsage with keyCertSign or cRLSign, a CA's";
    return NULL;
}

/* The rules a Document Signer and a Master List Signer share: an end entity of a state's PKI. */
static const char *not_icao_signer(const mbedtls_x509_crt *c)
{
    char cc[3];
    const char *why = not_signer(c, false);
    if (why)
        return why;
    if (has_policy(c, reader_ca_policy, sizeof reader_ca_policy))
        return "a certificate of the reader PKI";
    if (!hvi_subject_country(c, cc))
        return "no single two-letter countryName in the subject";
    return NULL;
}

/* extKeyUsage lists this purpose itself (anyExtendedKeyUsage does not name a role). */
static bool names_purpose(const mbedtls_x509_crt *c, const uint8_t *oid, size_t n)
{
    if (!(c->ext_types & MBEDTLS_X509_EXT_EXTENDED_KEY_USAGE))
        return false;
    for (const mbedtls_x509_sequence *s = &c->ext_key_usage; s && s->buf.p; s = s->next)
        if (s->buf.len == n && memcmp(s->buf.p, oid, n) == 0)
            return true;
    return false;
}

/* The extnValue's content of c's extension oid[0..n) in *v, *len, and whether it is critical;
 * false if c has none. */
static bool find_extension(const mbedtls_x509_crt *c, const uint8_t *oid, size_t n,
                           unsigned char **v, size_t *len, bool *critical)
{
    const unsigned char *id;
    size_t id_len;
    struct ext_walk w;
    ext_walk_init(&w, c);
    while (ext_next(&w, &id, &id_len, v, len))
        if (id_len == n && memcmp(id, oid, n) == 0) {
            *critical = w.critical;
            return true;
        }
    return false;
}

/* id-ce-privateKeyUsagePeriod 2.5.29.16 */
static const uint8_t oid_key_usage_period[] = {0x55, 0x1D, 0x10};

/* An optional [tag] IMPLICIT GeneralizedTime at *p: absent leaves *has false; false if present
 * but not one. */
static bool optional_time(unsigned char **p, unsigned char *end, int tag, struct hv_time *t,
                          bool *has)
{
    size_t l;
    if (*p >= end || **p != (MBEDTLS_ASN1_CONTEXT_SPECIFIC | tag))
        return true;
    if (mbedtls_asn1_get_tag(p, end, &l, MBEDTLS_ASN1_CONTEXT_SPECIFIC | tag) != 0 ||
        !hvi_der_time(0x18, *p, l, t))
        return false;
    *has = true;
    *p += l;
    return true;
}

/* The privateKeyUsagePeriod's DER (X.509 §9.2.2.5): SEQUENCE { notBefore [0] IMPLICIT
 * GeneralizedTime OPTIONAL, notAfter [1] ... OPTIONAL }, one at least, in order, notBefore
 * not after notAfter; a fraction of a second (X.690 §11.7.3, as EJBCA writes) is cut. */
static bool key_usage_period(unsigned char *p, unsigned char *end, struct hvi_key_period *kp)
{
    size_t l;
    if (mbedtls_asn1_get_tag(&p, end, &l, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE) != 0 ||
        p + l != end)
        return false;
    if (!optional_time(&p, end, 0, &kp->not_before, &kp->has_not_before) ||
        !optional_time(&p, end, 1, &kp->not_after, &kp->has_not_after))
        return false;
    return p == end && (kp->has_not_before || kp->has_not_after) &&
           !(kp->has_not_before && kp->has_not_after &&
             hvi_time_cmp(&kp->not_before, &kp->not_after) > 0);
}

int hvi_key_usage_period(const mbedtls_x509_crt *c, struct hvi_key_period *kp)
{
    unsigned char *p;
    size_t len;
    bool critical = false;
    memset(kp, 0, sizeof *kp);
    if (!find_extension(c, oid_key_usage_period, sizeof oid_key_usage_period, &p, &len, &critical))
        return 0;
    if (key_usage_period(p, p + len, kp))
        return 1;
    memset(kp, 0, sizeof *kp);
    /* A non-critical extension the verifier cannot read may be ignored (RFC 5280 §4.2): the
     * certificate stands without the limit, as it would with no period. A critical one says
     * the certificate is not to be used by whoever cannot apply it. */
    return critical ? -1 : 0;
}

/* mbedTLS knows no privateKeyUsagePeriod and, built without
 * MBEDTLS_X509_ALLOW_UNSUPPORTED_CRITICAL_EXTENSION (Debian's 2.28), refuses a certificate that
 * marks it critical. This verifier applies it (hvi_key_usage_period), so it takes that one
 * extension, critical or not, and still lets mbedTLS refuse every other critical one it does
 * not know. */
static int known_extension(void *ctx, mbedtls_x509_crt const *crt, mbedtls_x509_buf const *oid,
                           int critical, const unsigned char *p, const unsigned char *end)
{
    (void)ctx, (void)crt, (void)critical, (void)p, (void)end;
    return oid->len == sizeof oid_key_usage_period &&
                   memcmp(oid->p, oid_key_usage_period, sizeof oid_key_usage_period) == 0
               ? 0
               : -1;
}

int hvi_crt_parse_der(mbedtls_x509_crt *chain, const unsigned char *buf, size_t len)
{
    return mbedtls_x509_crt_parse_der_with_ext_cb(chain, buf, len, 1, known_extension, NULL);
}

const char *hvi_not_document_signer(const mbedtls_x509_crt *c)
{
    struct hvi_key_period kp;
    const char *why = not_icao_signer(c);
    if (why)
        return why;
    if (hvi_key_usage_period(c, &kp) < 0)
        return "a critical privateKeyUsagePeriod that is not SEQUENCE { notBefore [0], notAfter "
               "[1] } of GeneralizedTime (one at least, in order, notBefore first)";
    /* 9303-12 Table 6 gives a Document Signer no extKeyUsage, and RFC 5280 §4.2.1.12 restricts a
     * certificate that has one to what it lists: a Master List (or any other) Signer's
     * certificate is not a Document Signer's, though it has every other DS rule. */
    if (c->ext_types & MBEDTLS_X509_EXT_EXTENDED_KEY_USAGE)
        return "an extKeyUsage (a Document Signer has none; this certificate is for what it "
               "lists, e.g. a Master List Signer's)";
    return NULL;
}

const char *hvi_not_ml_signer(const mbedtls_x509_crt *c)
{
    const char *why = not_icao_signer(c);
    if (why)
        return why;
    if (!(c->ext_types & MBEDTLS_X509_EXT_EXTENDED_KEY_USAGE))
        return "no extKeyUsage (a Master List Signer has id-icao-cscaMasterListSigningKey)";
    if (!names_purpose(c, oid_ml_signing_key, sizeof oid_ml_signing_key))
        return "extKeyUsage without id-icao-cscaMasterListSigningKey (anyExtendedKeyUsage "
               "names no role)";
    /* 9303-12 §3.1 has a state's CSCA issue its Master List Signer, and Table 5 (subject) holds
     * every certificate of the profile to its issuer's countryName: a state's master list is
     * signed by a signer its own CSCA issued, so the signer's country is its issuer's; a CSCA
     * vouching for another state's list signer is no master list a platform takes (the issuer's
     * name is its CSCA's subject, which hvi_issued_by and the anchor's own match hold to). */
    char cc[3], issuer_cc[3];
    if (!name_country(&c->issuer, true, issuer_cc) || !hvi_subject_country(c, cc) ||
        strcmp(cc, issuer_cc) != 0)
        return "a countryName other than its issuing CSCA's (9303-12 Table 5: a state's CSCA "
               "issues its "
               "own Master List Signer)";
    return NULL;
}

const char *hvi_not_reader_cert(const mbedtls_x509_crt *c)
{
    const char *why = not_signer(c, true);
    if (why)
        return why;
    if (mbedtls_pk_get_type(&c->pk) != MBEDTLS_PK_ECKEY ||
        mbedtls_pk_ec(c->pk)->grp.id != MBEDTLS_ECP_DP_SECP256R1)
        return "not an ECDSA P-256 key";
    return NULL;
}

/* --- validity and revocation --------------------------------------------------------------- */

static struct hv_time from_x509(const mbedtls_x509_time *x)
{
    return (struct hv_time){x->year, x->mon, x->day, x->hour, x->min, x->sec};
}

enum hv_err hvi_validity(const mbedtls_x509_crt *c, const struct hv_time *now, const char *what,
                         char *msg, size_t cap)
{
    struct hv_time from = from_x509(&c->valid_from), to = from_x509(&c->valid_to);
    if (hvi_time_cmp(now, &from) < 0) {
        snprintf(msg, cap, "%s not valid before %04d-%02d-%02d", what, from.year, from.mon,
                 from.day);
        return HV_ERR_CERT_NOT_YET_VALID;
    }
    if (hvi_time_cmp(now, &to) > 0) {
        snprintf(msg, cap, "%s expired on %04d-%02d-%02d", what, to.year, to.mon, to.day);
        return HV_ERR_CERT_EXPIRED;
    }
    return HV_OK;
}

/* Serial numbers as integers: a leading 00 (a positive number's sign octet, or a CA's
 * non-minimal encoding) does not make another number. */
static bool same_serial(const mbedtls_x509_buf *a, const mbedtls_x509_buf *b)
{
    const unsigned char *p = a->p, *q = b->p;
    size_t m = a->len, n = b->len;
    while (m > 1 && p[0] == 0)
        p++, m--;
    while (n > 1 && q[0] == 0)
        q++, n--;
    return m == n && memcmp(p, q, n) == 0;
}

bool hvi_revoked(const struct hv_trust *t, enum hvi_pki pki, const mbedtls_x509_crt *c)
{
    for (const mbedtls_x509_crl *l = &t->crl[pki]; l && l->raw.len; l = l->next) {
        if (!hvi_name_equal(&l->issuer, &c->issuer))
            continue;
        for (const mbedtls_x509_crl_entry *e = &l->entry; e && e->serial.len; e = e->next)
            if (same_serial(&e->serial, &c->serial))
                return true;
    }
    return false;
}

enum hv_err hvi_crl_current(const struct hv_trust *t, enum hvi_pki pki,
                            const mbedtls_x509_name *issuer, const struct hv_time *now,
                            const char *who, char *msg, size_t cap)
{
    bool given = false;
    for (const mbedtls_x509_crl *l = &t->crl[pki]; l && l->raw.len; l = l->next) {
        if (!hvi_name_equal(&l->issuer, issuer))
            continue;
        given = true;
        /* Current: now is not past its nextUpdate (mbedTLS leaves next_update zero when the CRL
         * has none, which RFC 5280 forbids and OpenSSL takes as never stale). A CRL issued after
         * now (a platform judging at an earlier --now with today's CRLs) is newer, not stale:
         * OpenSSL refuses it as not yet valid, we take what it knows. */
        struct hv_time to = from_x509(&l->next_update);
        if (to.year == 0 || hvi_time_cmp(now, &to) <= 0)
            return HV_OK;
    }
    if (!given)
        return HV_OK;
    snprintf(msg, cap, "every CRL of %s given is past its nextUpdate: the CRL feed is behind", who);
    return HV_ERR_CRL_STALE;
}

/* --- adding certificates --------------------------------------------------------------------- */

/* Every PEM block in buf is a `label` ("-----BEGIN label-----"): a private key, a CRL or an
 * OpenSSL TRUSTED CERTIFICATE beside certificates makes a file that does not belong (mbedTLS
 * would skip them silently). */
static bool pem_blocks_are(const uint8_t *buf, size_t len, const char *label)
{
    static const char begin[] = "-----BEGIN ";
    const size_t bl = sizeof begin - 1, ll = strlen(label);
    for (size_t i = 0; i + bl <= len; i++) {
        if (memcmp(buf + i, begin, bl) != 0)
            continue;
        if (len - i - bl < ll + 5 || memcmp(buf + i + bl, label, ll) != 0 ||
            memcmp(buf + i + bl + ll, "-----", 5) != 0)
            return false;
    }
    return true;
}

enum hv_err hvi_parse_certs(const uint8_t *buf, size_t len, mbedtls_x509_crt *chain)
{
    static const char begin[] = "-----BEGIN ";
    mbedtls_x509_crt_init(chain);
    if (!buf || !len)
        return HV_ERR_ARGUMENT;
    bool pem = len > sizeof begin && hvi_contains(buf, len, begin, sizeof begin - 1);
    if (!pem) {
        /* One DER certificate and nothing after it (mbedTLS reads the first and stops). */
        if (hvi_crt_parse_der(chain, buf, len) != 0)
            return HV_ERR_ARGUMENT;
        if (chain->raw.len != len) {
            mbedtls_x509_crt_free(chain);
            return HV_ERR_ARGUMENT;
        }
        return HV_OK;
    }
    if (!pem_blocks_are(buf, len, "CERTIFICATE"))
        return HV_ERR_ARGUMENT;
    /* mbedTLS wants PEM NUL-terminated. */
    char *text = malloc(len + 1);
    if (!text)
        return HV_ERR_MEMORY;
    memcpy(text, buf, len);
    text[len] = '\0';
    /* Block by block (mbedtls_x509_crt_parse's own loop takes no extension callback); one
     * that does not parse refuses the file. */
    const unsigned char *at = (const unsigned char *)text;
    int r = 0;
    while (r == 0 && *at) {
        mbedtls_pem_context block;
        size_t used = 0;
        mbedtls_pem_init(&block);
        r = mbedtls_pem_read_buffer(&block, "-----BEGIN CERTIFICATE-----",
                                    "-----END CERTIFICATE-----", at, NULL, 0, &used);
        if (r == MBEDTLS_ERR_PEM_NO_HEADER_FOOTER_PRESENT) {
            mbedtls_pem_free(&block);
            r = 0;
            break;
        }
        if (r == 0 && hvi_crt_parse_der(chain, block.buf, block.buflen) != 0)
            r = -1;
        mbedtls_pem_free(&block);
        at += used;
    }
    free(text);
    if (r != 0 || chain->raw.len == 0) {
        mbedtls_x509_crt_free(chain);
        return HV_ERR_ARGUMENT;
    }
    return HV_OK;
}

/* The position of raw in chain, or -1. */
static long in_chain_at(const mbedtls_x509_crt *chain, const mbedtls_x509_buf *raw)
{
    long k = 0;
    for (const mbedtls_x509_crt *x = chain; x && x->raw.len; x = x->next, k++)
        if (x->raw.len == raw->len && !memcmp(x->raw.p, raw->p, raw->len))
            return k;
    return -1;
}

static bool in_chain(const mbedtls_x509_crt *chain, const mbedtls_x509_buf *raw)
{
    return in_chain_at(chain, raw) >= 0;
}

/* Appends c to chain unless it is there already (the same bytes); counts it; *at = its
 * position. */
static enum hv_err append(mbedtls_x509_crt *chain, size_t *n, size_t max, const mbedtls_x509_crt *c,
                          size_t *at)
{
    long k = in_chain_at(chain, &c->raw);
    if (k >= 0) {
        *at = (size_t)k;
        return HV_OK;
    }
    if (*n >= max)
        return HV_ERR_TRUST_STORE;
    if (hvi_crt_parse_der(chain, c->raw.p, c->raw.len) != 0)
        return HV_ERR_MEMORY;
    *at = (*n)++;
    return HV_OK;
}

enum store { S_CSCA, S_READER_CA, S_DS, S_ML_SIGNER };

static const char *const store_role[] = {
    [S_CSCA] = "a CSCA",
    [S_READER_CA] = "a reader CA",
    [S_DS] = "a Document Signer",
    [S_ML_SIGNER] = "a master-list signer or its CSCA",
};

#define DIRECT ((size_t)-1) /* a CSCA the platform gave itself, not a master list's */

/* Every certificate of buf into the store, or none: the first misfit refuses them all. A CSCA
 * comes from `list` (a master list's index, or DIRECT). */
static enum hv_err add_certs(struct hv_trust *t, enum store s, const uint8_t *buf, size_t len,
                             size_t list, char *msg, size_t cap)
{
    mbedtls_x509_crt chain;
    if (!t)
        return HV_ERR_ARGUMENT;
    enum hv_err e = hvi_parse_certs(buf, len, &chain);
    if (e != HV_OK) {
        say(msg, cap,
            e == HV_ERR_MEMORY ? "out of memory"
                               : "not certificates only (one DER certificate and nothing after "
                                 "it, or PEM CERTIFICATE blocks only)");
        return e == HV_ERR_MEMORY ? e : HV_ERR_TRUST_STORE;
    }
    size_t k = 0;
    for (const mbedtls_x509_crt *c = &chain; c && c->raw.len && e == HV_OK; c = c->next, k++) {
        const char *why = NULL;
        switch (s) {
        case S_CSCA: why = hvi_not_csca(c); break;
        case S_READER_CA: why = hvi_not_reader_ca(c); break;
        case S_DS: why = hvi_not_document_signer(c); break;
        case S_ML_SIGNER: {
            const char *not_ml = hvi_not_ml_signer(c);
            why = not_ml && hvi_not_csca(c) ? not_ml : NULL;
            break;
        }
        }
        if (why) {
            if (msg && cap)
                snprintf(msg, cap, "certificate %zu is not %s: %s", k + 1, store_role[s], why);
            e = HV_ERR_TRUST_STORE;
        }
    }
    for (const mbedtls_x509_crt *c = &chain; c && c->raw.len && e == HV_OK; c = c->next) {
        size_t at;
        switch (s) {
        case S_CSCA:
            e = append(&t->csca, &t->n_csca, HV_MAX_CSCA, c, &at);
            if (e == HV_OK && list == DIRECT)
                t->csca_direct[at] = true;
            else if (e == HV_OK)
                t->csca_lists[at] |= (uint64_t)1 << list;
            break;
        case S_DS: e = append(&t->ds, &t->n_ds, HV_MAX_DS, c, &at); break;
        case S_ML_SIGNER:
            e = append(&t->ml_signer, &t->n_ml_signer, HV_MAX_READER_CA, c, &at);
            break;
        case S_READER_CA: {
            bool have = false;
            for (size_t i = 0; i < t->n_reader_ca && !have; i++)
                have = in_chain(&t->reader_ca[i], &c->raw);
            if (have)
                break;
            if (t->n_reader_ca >= HV_MAX_READER_CA)
                e = HV_ERR_TRUST_STORE;
            else if (hvi_crt_parse_der(&t->reader_ca[t->n_reader_ca], c->raw.p, c->raw.len) != 0)
                e = HV_ERR_MEMORY;
            else
                t->n_reader_ca++;
            break;
        }
        }
        if (e != HV_OK)
            say(msg, cap, e == HV_ERR_MEMORY ? "out of memory" : "the store is full");
    }
    mbedtls_x509_crt_free(&chain);
    return e;
}

enum hv_err hv_trust_add_csca(struct hv_trust *t, const uint8_t *buf, size_t len)
{
    return add_certs(t, S_CSCA, buf, len, DIRECT, NULL, 0);
}

enum hv_err hvi_add_listed_csca(struct hv_trust *t, const uint8_t *buf, size_t len, size_t list)
{
    if (list >= HVI_MAX_MASTERLIST)
        return HV_ERR_ARGUMENT;
    return add_certs(t, S_CSCA, buf, len, list, NULL, 0);
}

enum hv_err hvi_ml_signer_stands(const struct hv_trust *t, const mbedtls_x509_crt *signer,
                                 const mbedtls_x509_crt *anchor, const struct hv_time *now,
                                 char *msg, size_t cap)
{
    if (hvi_revoked(t, HVI_PKI_ICAO, signer) || hvi_revoked(t, HVI_PKI_ICAO, anchor)) {
        say(msg, cap, "its Master List Signer, or the signer's anchor, is revoked by a CRL");
        return HV_ERR_REVOKED;
    }
    /* The anchor is the signer itself or the CSCA whose name is the signer's issuer: one
     * issuer's CRLs decide, as for a Document Signer. */
    return hvi_crl_current(t, HVI_PKI_ICAO, &signer->issuer, now, "the Master List Signer's CSCA",
                           msg, cap);
}

enum hv_err hvi_csca_vouched(const struct hv_trust *t, size_t k, const struct hv_time *now,
                             char *msg, size_t cap)
{
    enum hv_err best = HV_ERR_REVOKED;
    char why[192] = "";
    if (k >= HV_MAX_CSCA)
        return HV_ERR_ARGUMENT;
    if (t->csca_direct[k])
        return HV_OK;
    for (size_t i = 0; i < t->n_masterlist && i < HVI_MAX_MASTERLIST; i++) {
        if (!(t->csca_lists[k] >> i & 1))
            continue;
        char one[192];
        enum hv_err e = hvi_ml_signer_stands(t, &t->ml_origin[i].signer, &t->ml_origin[i].anchor,
                                             now, one, sizeof one);
        if (e == HV_OK)
            return HV_OK;
        /* A stale feed may yet clear a list that is not revoked: say that rather than revoked. */
        if (e == HV_ERR_CRL_STALE || !why[0]) {
            best = e;
            snprintf(why, sizeof why, "%s", one);
        }
    }
    say(msg, cap, why[0] ? why : "no master list vouches for it");
    return best;
}

enum hv_err hv_trust_add_reader_ca(struct hv_trust *t, const uint8_t *buf, size_t len)
{
    return add_certs(t, S_READER_CA, buf, len, DIRECT, NULL, 0);
}

enum hv_err hv_trust_add_ds(struct hv_trust *t, const uint8_t *buf, size_t len)
{
    return add_certs(t, S_DS, buf, len, DIRECT, NULL, 0);
}

enum hv_err hv_trust_add_masterlist_signer(struct hv_trust *t, const uint8_t *buf, size_t len)
{
    return add_certs(t, S_ML_SIGNER, buf, len, DIRECT, NULL, 0);
}

/* --- CRLs ------------------------------------------------------------------------------------- */

/* ca issued crl: the same name (RFC 5280 §7.1), keyUsage cRLSign, a hash the store allows, and its
 * key verifies the CRL's signature. */
static bool crl_issued_by(const mbedtls_x509_crl *crl, const mbedtls_x509_crt *ca, enum hvi_pki pki)
{
    if (!hvi_name_equal(&crl->issuer, &ca->subject) || !has_key_usage(ca, MBEDTLS_X509_KU_CRL_SIGN))
        return false;
    if (crl->sig_md != MBEDTLS_MD_SHA224 && crl->sig_md != MBEDTLS_MD_SHA256 &&
        crl->sig_md != MBEDTLS_MD_SHA384 && crl->sig_md != MBEDTLS_MD_SHA512 &&
        !(crl->sig_md == MBEDTLS_MD_SHA1 && pki == HVI_PKI_ICAO))
        return false;
    return signed_by(&crl->tbs, crl->sig_md, crl->sig_pk, crl->sig_opts, &crl->sig, &ca->pk);
}

/*
 * RFC 5280 §5.3: a CRL with a critical entry extension the verifier does not
 * process must not be used. The only one defined is certificateIssuer (an
 * indirect CRL's entry revokes another CA's certificate), which a CSCA's or
 * our reader CA's CRL never needs. (mbedTLS already refuses critical CRL
 * extensions: a delta CRL, a partitioned one.)
 */
static bool entry_extension_critical(const mbedtls_x509_crl *l)
{
    const int seq = MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE;
    for (const mbedtls_x509_crl_entry *e = &l->entry; e && e->raw.len; e = e->next) {
        if (!e->entry_ext.p)
            continue;
        /* entry_ext.p is at the SEQUENCE OF Extension's tag, inside the CRL's raw bytes. */
        unsigned char *p = e->entry_ext.p, *end = l->raw.p + l->raw.len, *ext_end;
        size_t len;
        if (mbedtls_asn1_get_tag(&p, end, &len, seq) != 0)
            return true;
        end = p + len;
        while (p < end) {
            int critical = 0;
            if (mbedtls_asn1_get_tag(&p, end, &len, seq) != 0)
                return true;
            ext_end = p + len;
            if (mbedtls_asn1_get_tag(&p, ext_end, &len, MBEDTLS_ASN1_OID) != 0)
                return true;
            p += len;
            if (mbedtls_asn1_get_bool(&p, ext_end, &critical) != 0)
                critical = 0; /* DEFAULT FALSE */
            if (critical)
                return true;
            p = ext_end;
        }
    }
    return false;
}

static enum hv_err add_crl(struct hv_trust *t, const uint8_t *buf, size_t len, char *msg,
                           size_t cap)
{
    mbedtls_x509_crl one;
    if (!t || !buf || !len)
        return HV_ERR_ARGUMENT;
    mbedtls_x509_crl_init(&one);
    /* mbedTLS's parser takes DER, or PEM when NUL-terminated. */
    char *copy = malloc(len + 1);
    if (!copy)
        return HV_ERR_MEMORY;
    memcpy(copy, buf, len);
    copy[len] = '\0';
    bool pem = hvi_contains(buf, len, "-----BEGIN ", 11);
    int r = pem && !pem_blocks_are(buf, len, "X509 CRL")
                ? -1
                : mbedtls_x509_crl_parse(&one, (const unsigned char *)copy, pem ? len + 1 : len);
    free(copy);
    enum hv_err e = HV_OK;
    if (r != 0 || !one.raw.len) {
        say(msg, cap,
            "not a CRL (DER or PEM) mbedTLS can parse (a critical CRL extension, such as a delta "
            "CRL's, is not processed)");
        e = HV_ERR_TRUST_STORE;
    }
    size_t k = 0;
    enum hvi_pki of[16];
    for (const mbedtls_x509_crl *l = &one; e == HV_OK && l && l->raw.len; l = l->next, k++) {
        bool icao = false, reader = false;
        for (const mbedtls_x509_crt *c = &t->csca; !icao && c && c->raw.len; c = c->next)
            icao = crl_issued_by(l, c, HVI_PKI_ICAO);
        /* A CSCA given as a master-list anchor revokes its Master List Signers. */
        for (const mbedtls_x509_crt *c = &t->ml_signer; !icao && c && c->raw.len; c = c->next)
            icao = !hvi_not_csca(c) && crl_issued_by(l, c, HVI_PKI_ICAO);
        for (size_t i = 0; !icao && !reader && i < t->n_reader_ca; i++)
            reader = crl_issued_by(l, &t->reader_ca[i], HVI_PKI_READER);
        if (k == sizeof of / sizeof of[0]) {
            say(msg, cap, "too many CRLs in one file");
            e = HV_ERR_TRUST_STORE;
        } else if (!icao && !reader) {
            say(msg, cap,
                "a CRL no loaded CSCA or reader CA issued (load the CAs first), or whose "
                "signature does not verify with a hash its PKI allows");
            e = HV_ERR_TRUST_STORE;
        } else if (entry_extension_critical(l)) {
            say(msg, cap,
                "a CRL entry with a critical extension (an indirect CRL's certificateIssuer), "
                "which RFC 5280 §5.3 forbids using unprocessed");
            e = HV_ERR_TRUST_STORE;
        } else {
            of[k] = icao ? HVI_PKI_ICAO : HVI_PKI_READER;
        }
    }
    k = 0;
    for (const mbedtls_x509_crl *l = &one; e == HV_OK && l && l->raw.len; l = l->next, k++) {
        if (t->n_crl >= HV_MAX_CRL) {
            say(msg, cap, "too many CRLs");
            e = HV_ERR_TRUST_STORE;
        } else if (mbedtls_x509_crl_parse_der(&t->crl[of[k]], l->raw.p, l->raw.len) != 0) {
            e = HV_ERR_MEMORY;
        } else {
            t->n_crl++;
        }
    }
    mbedtls_x509_crl_free(&one);
    return e;
}

enum hv_err hv_trust_add_crl(struct hv_trust *t, const uint8_t *buf, size_t len)
{
    return add_crl(t, buf, len, NULL, 0);
}

/* --- files ------------------------------------------------------------------------------------ */

static enum hv_err read_file(const char *path, uint8_t **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return HV_ERR_ARGUMENT;
    size_t cap = 64 * 1024, len = 0;
    uint8_t *buf = malloc(cap);
    enum hv_err e = buf ? HV_OK : HV_ERR_MEMORY;
    while (e == HV_OK) {
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
        if (len == cap) {
            if (cap >= 64u * 1024 * 1024) { /* no trust file is this large */
                e = HV_ERR_ARGUMENT;
                break;
            }
            uint8_t *nb = realloc(buf, cap * 2);
            if (!nb)
                e = HV_ERR_MEMORY;
            else
                buf = nb, cap *= 2;
        }
    }
    if (e == HV_OK && ferror(f))
        e = HV_ERR_ARGUMENT;
    fclose(f);
    if (e != HV_OK) {
        free(buf);
        return e;
    }
    *out = buf;
    *n = len;
    return HV_OK;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

typedef enum hv_err (*add_fn)(struct hv_trust *t, const uint8_t *buf, size_t len, const void *ctx,
                              char *msg, size_t cap);

/* One file into the store; the reason for a refusal names it. */
static enum hv_err load_file(struct hv_trust *t, const char *path, add_fn add, const void *ctx,
                             char *msg, size_t cap)
{
    uint8_t *buf;
    size_t len;
    char why[384] = "";
    enum hv_err e = read_file(path, &buf, &len);
    if (e != HV_OK) {
        snprintf(msg, cap, "%s: cannot be read", path);
        return e;
    }
    e = add(t, buf, len, ctx, why, sizeof why);
    free(buf);
    if (e != HV_OK)
        snprintf(msg, cap, "%s: %s", path, why[0] ? why : hv_err_str(e));
    return e;
}

/*
 * A file, or every file of a directory in name order (so that which duplicate is kept does
 * not depend on the file system); hidden files are not read, and anything else that is not a
 * regular file is refused like a file that does not belong.
 */
static enum hv_err load_path(struct hv_trust *t, const char *path, add_fn add, const void *ctx,
                             char *msg, size_t cap)
{
    char dummy[1];
    struct stat st;
    if (!msg || !cap)
        msg = dummy, cap = sizeof dummy;
    msg[0] = '\0';
    if (!t || !path)
        return HV_ERR_ARGUMENT;
    if (stat(path, &st) != 0) {
        snprintf(msg, cap, "%s: no such file or directory", path);
        return HV_ERR_ARGUMENT;
    }
    /* A FIFO or a device would block or never end: a trust store is files. */
    if (S_ISREG(st.st_mode))
        return load_file(t, path, add, ctx, msg, cap);
    if (!S_ISDIR(st.st_mode)) {
        snprintf(msg, cap, "%s: not a regular file or a directory", path);
        return HV_ERR_TRUST_STORE;
    }
    DIR *d = opendir(path);
    if (!d) {
        snprintf(msg, cap, "%s: cannot open the directory", path);
        return HV_ERR_ARGUMENT;
    }
    char **names = NULL;
    size_t n = 0, cap_names = 0;
    enum hv_err e = HV_OK;
    struct dirent *ent;
    while (e == HV_OK && (ent = readdir(d)) != NULL) {
        if (ent->d_name[0] == '.')
            continue;
        if (n == cap_names) {
            size_t nc = cap_names ? cap_names * 2 : 16;
            char **nn = nc <= 65536 ? realloc(names, nc * sizeof *nn) : NULL;
            if (!nn) {
                e = HV_ERR_MEMORY;
                break;
            }
            names = nn;
            cap_names = nc;
        }
        names[n] = strdup(ent->d_name);
        if (!names[n])
            e = HV_ERR_MEMORY;
        else
            n++;
    }
    closedir(d);
    if (e == HV_OK && n)
        qsort(names, n, sizeof *names, cmp_names);
    for (size_t i = 0; i < n && e == HV_OK; i++) {
        char file[4096];
        snprintf(file, sizeof file, "%s/%s", path, names[i]);
        if (stat(file, &st) != 0 || !S_ISREG(st.st_mode)) {
            snprintf(msg, cap, "%s: not a regular file, in a trust store directory", file);
            e = HV_ERR_TRUST_STORE;
            break;
        }
        e = load_file(t, file, add, ctx, msg, cap);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    if (e == HV_ERR_MEMORY && !msg[0])
        snprintf(msg, cap, "out of memory");
    return e;
}

/* A file into a certificate store; ctx names the store. */
static enum hv_err add_certs_file(struct hv_trust *t, const uint8_t *b, size_t n, const void *ctx,
                                  char *msg, size_t cap)
{
    return add_certs(t, *(const enum store *)ctx, b, n, DIRECT, msg, cap);
}

static const enum store store_csca = S_CSCA, store_reader_ca = S_READER_CA, store_ds = S_DS,
                        store_ml_signer = S_ML_SIGNER;

static enum hv_err add_crl_file(struct hv_trust *t, const uint8_t *b, size_t n, const void *ctx,
                                char *msg, size_t cap)
{
    (void)ctx;
    return add_crl(t, b, n, msg, cap);
}

static enum hv_err add_ml_file(struct hv_trust *t, const uint8_t *b, size_t n, const void *ctx,
                               char *msg, size_t cap)
{
    return hvi_add_masterlist(t, b, n, ctx, msg, cap);
}

enum hv_err hv_trust_load_csca_dir(struct hv_trust *t, const char *path, char *err_msg, size_t cap)
{
    enum hv_err e = load_path(t, path, add_certs_file, &store_csca, err_msg, cap);
    if (e == HV_OK && t->n_csca == 0) {
        if (err_msg && cap)
            snprintf(err_msg, cap, "%s: no CSCA certificate", path);
        e = HV_ERR_ARGUMENT;
    }
    return e;
}

enum hv_err hv_trust_load_reader_ca_file(struct hv_trust *t, const char *path, char *err_msg,
                                         size_t cap)
{
    return load_path(t, path, add_certs_file, &store_reader_ca, err_msg, cap);
}

enum hv_err hv_trust_load_ds(struct hv_trust *t, const char *path, char *err_msg, size_t cap)
{
    return load_path(t, path, add_certs_file, &store_ds, err_msg, cap);
}

enum hv_err hv_trust_load_masterlist_signer(struct hv_trust *t, const char *path, char *err_msg,
                                            size_t cap)
{
    return load_path(t, path, add_certs_file, &store_ml_signer, err_msg, cap);
}

enum hv_err hv_trust_load_masterlist(struct hv_trust *t, const char *path,
                                     const struct hv_time *now, char *err_msg, size_t cap)
{
    if (!now)
        return HV_ERR_ARGUMENT;
    return load_path(t, path, add_ml_file, now, err_msg, cap);
}

enum hv_err hv_trust_load_crl(struct hv_trust *t, const char *path, char *err_msg, size_t cap)
{
    return load_path(t, path, add_crl_file, NULL, err_msg, cap);
}

/*
 * Deterministic randomness, EC keys, X.509 certificates (RFC 5280 through
 * mbedTLS's x509write) and the files of the PKI directories.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mbedtls/asn1.h>
#include <mbedtls/asn1write.h>
#include <mbedtls/bignum.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/oid.h>
#include <mbedtls/pem.h>
#include <mbedtls/sha256.h>
#include <mbedtls/x509_crt.h>

#include "hawiya/tlv.h"
#include "hawiya/wipe.h"
#include "pki_internal.h"

void pki_sha256(const void *data, size_t n, uint8_t out[32])
{
    mbedtls_sha256_ret(data, n, out, 0);
}

/*
 * The DRBG's entropy source is a stream SHA-256(key || counter) from the
 * seed and the label: the same (seed, label) always gives the same keys.
 * Test keys only: this is what makes them reproducible, and predictable.
 */
static int seeded_entropy(void *ctx, unsigned char *out, size_t n)
{
    struct pki_rng *r = ctx;
    while (n > 0) {
        uint8_t in[36];
        uint8_t block[32];
        memcpy(in, r->key, 32);
        in[32] = (uint8_t)(r->counter >> 24);
        in[33] = (uint8_t)(r->counter >> 16);
        in[34] = (uint8_t)(r->counter >> 8);
        in[35] = (uint8_t)r->counter;
        r->counter++;
        pki_sha256(in, sizeof in, block);
        size_t k = n < sizeof block ? n : sizeof block;
        memcpy(out, block, k);
        out += k;
        n -= k;
        wipe(block, sizeof block);
    }
    return 0;
}

enum pki_err pki_rng_init(struct pki_rng *r, uint64_t seed, const char *label)
{
    struct pki_buf in = {0};
    uint8_t s[8];
    for (int i = 0; i < 8; i++)
        s[i] = (uint8_t)(seed >> (56 - 8 * i));
    memset(r, 0, sizeof *r);
    if (pki_buf_append(&in, "hawiya-pki", 10) != PKI_OK || pki_buf_append(&in, s, 8) != PKI_OK ||
        pki_buf_append(&in, label, strlen(label)) != PKI_OK) {
        pki_buf_free(&in);
        return PKI_ERR_NO_MEMORY;
    }
    pki_sha256(in.p, in.len, r->key);
    pki_buf_free(&in);
    mbedtls_ctr_drbg_init(&r->drbg);
    if (mbedtls_ctr_drbg_seed(&r->drbg, seeded_entropy, r, (const unsigned char *)label,
                              strlen(label)) != 0) {
        pki_rng_free(r);
        return PKI_ERR_CRYPTO;
    }
    return PKI_OK;
}

void pki_rng_free(struct pki_rng *r)
{
    mbedtls_ctr_drbg_free(&r->drbg);
    wipe(r->key, sizeof r->key);
}

int pki_rng_fn(void *ctx, unsigned char *out, size_t n)
{
    struct pki_rng *r = ctx;
    return mbedtls_ctr_drbg_random(&r->drbg, out, n);
}

enum pki_err pki_gen_key(mbedtls_pk_context *pk, mbedtls_ecp_group_id grp, struct pki_rng *r)
{
    if (mbedtls_pk_setup(pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)) != 0)
        return PKI_ERR_CRYPTO;
    if (mbedtls_ecp_gen_key(grp, mbedtls_pk_ec(*pk), pki_rng_fn, r) != 0)
        return PKI_ERR_CRYPTO;
    return PKI_OK;
}

/* mbedTLS's writers fill the end of the buffer and return the length written. */
enum pki_err pki_key_der(mbedtls_pk_context *pk, bool private_key, struct pki_buf *out)
{
    uint8_t buf[1024];
    int n = private_key ? mbedtls_pk_write_key_der(pk, buf, sizeof buf)
                        : mbedtls_pk_write_pubkey_der(pk, buf, sizeof buf);
    enum pki_err e =
        n > 0 ? pki_buf_append(out, buf + sizeof buf - (size_t)n, (size_t)n) : PKI_ERR_CRYPTO;
    wipe(buf, sizeof buf);
    return e;
}

/*
 * mbedTLS 2.28 writes ecdsa-with-SHA256 with NULL parameters, where RFC 5758
 * §3.2 says the parameters MUST be absent. Rebuild the TBSCertificate with
 * the right AlgorithmIdentifier and sign it again with the issuer's key.
 */
static enum pki_err signed_object(const struct pki_buf *tbs, mbedtls_pk_context *key,
                                  struct pki_rng *r, bool low_s, struct pki_buf *out);

static enum pki_err fix_ecdsa_params(const uint8_t *crt, size_t n, mbedtls_pk_context *issuer_key,
                                     struct pki_rng *r, bool low_s, struct pki_buf *out)
{
    static const uint8_t with_null[] = {0x30, 0x0C, 0x06, 0x08, 0x2A, 0x86, 0x48,
                                        0xCE, 0x3D, 0x04, 0x03, 0x02, 0x05, 0x00};
    struct tlv cert, tbs, field;
    struct tlv_iter it;
    struct pki_buf content = {0}, tbs_der = {0};
    if (tlv_parse(crt, n, TLV_STRICT, &cert) != TLV_OK || cert.tag != DER_SEQUENCE ||
        tlv_parse(cert.value, cert.len, TLV_STRICT, &tbs) != TLV_OK || tbs.tag != DER_SEQUENCE)
        return PKI_ERR_CRYPTO;
    enum pki_err e = PKI_OK;
    bool fixed = false;
    tlv_iter_init(&it, tbs.value, tbs.len, TLV_STRICT);
    for (;;) {
        const uint8_t *start = it.p;
        enum tlv_err te = tlv_iter_next(&it, &field);
        if (te != TLV_OK) {
            if (te != TLV_ERR_END)
                e = PKI_ERR_CRYPTO;
            break;
        }
        size_t whole = field.hdr_len + field.len;
        if (!fixed && whole == sizeof with_null && memcmp(start, with_null, whole) == 0) {
            e = der_alg_id(&content, OID_ECDSA_SHA256);
            fixed = true;
        } else {
            e = pki_buf_append(&content, start, whole);
        }
        if (e != PKI_OK)
            break;
    }
    if (e == PKI_OK && !fixed)
        e = PKI_ERR_CRYPTO;
    if (e == PKI_OK)
        e = der_wrap(&tbs_der, DER_SEQUENCE, &content);
    if (e == PKI_OK)
        e = signed_object(&tbs_der, issuer_key, r, low_s, out);
    pki_buf_free(&content);
    pki_buf_free(&tbs_der);
    return e;
}

/* An ECDSA Ecdsa-Sig-Value (DER) rewritten with s' = n - s when s > n/2: (r, s) and (r, n - s)
 * both verify (SEC 1 §4.1.4), the low one is the one spelling. */
static enum pki_err ecdsa_low_s(mbedtls_pk_context *key, uint8_t *sig, size_t *len, size_t cap)
{
    mbedtls_mpi rr, ss, half;
    size_t seq;
    unsigned char *p = sig, *end = sig + *len;
    if (!mbedtls_pk_can_do(key, MBEDTLS_PK_ECDSA))
        return PKI_OK; /* RSA PKCS #1 v1.5: one signature per message already */
    const mbedtls_ecp_group *g = &mbedtls_pk_ec(*key)->grp;
    mbedtls_mpi_init(&rr);
    mbedtls_mpi_init(&ss);
    mbedtls_mpi_init(&half);
    enum pki_err e = PKI_ERR_CRYPTO;
    if (mbedtls_asn1_get_tag(&p, end, &seq, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE) ||
        mbedtls_asn1_get_mpi(&p, end, &rr) || mbedtls_asn1_get_mpi(&p, end, &ss) || p != end ||
        mbedtls_mpi_copy(&half, &g->N) || mbedtls_mpi_shift_r(&half, 1))
        goto out;
    if (mbedtls_mpi_cmp_mpi(&ss, &half) > 0) {
        uint8_t buf[MBEDTLS_ECDSA_MAX_LEN];
        unsigned char *w = buf + sizeof buf;
        int n = 0, k;
        if (mbedtls_mpi_sub_mpi(&ss, &g->N, &ss) || (k = mbedtls_asn1_write_mpi(&w, buf, &ss)) < 0)
            goto out;
        n += k;
        if ((k = mbedtls_asn1_write_mpi(&w, buf, &rr)) < 0)
            goto out;
        n += k;
        if ((k = mbedtls_asn1_write_len(&w, buf, (size_t)n)) < 0)
            goto out;
        n += k;
        if ((k = mbedtls_asn1_write_tag(&w, buf,
                                        MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE)) < 0)
            goto out;
        n += k;
        if ((size_t)n > cap)
            goto out;
        memcpy(sig, w, (size_t)n);
        *len = (size_t)n;
    }
    e = PKI_OK;
out:
    mbedtls_mpi_free(&rr);
    mbedtls_mpi_free(&ss);
    mbedtls_mpi_free(&half);
    return e;
}

enum pki_err pki_signed_object(const struct pki_buf *tbs, mbedtls_pk_context *key,
                               struct pki_rng *r, struct pki_buf *out)
{
    return signed_object(tbs, key, r, false, out);
}

static enum pki_err signed_object(const struct pki_buf *tbs, mbedtls_pk_context *key,
                                  struct pki_rng *r, bool low_s, struct pki_buf *out)
{
    struct pki_buf body = {0};
    uint8_t sig[MBEDTLS_PK_SIGNATURE_MAX_SIZE + 1];
    size_t sig_len = 0;
    sig[0] = 0; /* BIT STRING: no unused bits */
    enum pki_err e = pki_sign(key, tbs->p, tbs->len, r, sig + 1, sizeof sig - 1, &sig_len);
    if (e == PKI_OK && low_s)
        e = ecdsa_low_s(key, sig + 1, &sig_len, sizeof sig - 1);
    if (e == PKI_OK)
        e = pki_buf_append(&body, tbs->p, tbs->len);
    if (e == PKI_OK)
        e = der_alg_id(&body, OID_ECDSA_SHA256);
    if (e == PKI_OK)
        e = der_put(&body, DER_BIT_STRING, sig, sig_len + 1);
    if (e == PKI_OK)
        e = der_wrap(out, DER_SEQUENCE, &body);
    pki_buf_free(&body);
    return e;
}

enum pki_err pki_make_cert(const struct pki_cert_spec *s, mbedtls_pk_context *subject_key,
                           mbedtls_pk_context *issuer_key, struct pki_rng *r, struct pki_buf *der)
{
    mbedtls_x509write_cert w;
    mbedtls_mpi serial;
    uint8_t buf[4096];
    enum pki_err e = PKI_ERR_CRYPTO;
    mbedtls_x509write_crt_init(&w);
    mbedtls_mpi_init(&serial);
    mbedtls_x509write_crt_set_version(&w, MBEDTLS_X509_CRT_VERSION_3);
    mbedtls_x509write_crt_set_md_alg(&w, MBEDTLS_MD_SHA256);
    mbedtls_x509write_crt_set_subject_key(&w, subject_key);
    mbedtls_x509write_crt_set_issuer_key(&w, issuer_key);
    if (mbedtls_mpi_read_binary(&serial, s->serial, s->serial_len) != 0 ||
        mbedtls_x509write_crt_set_serial(&w, &serial) != 0 ||
        mbedtls_x509write_crt_set_subject_name(&w, s->subject) != 0 ||
        mbedtls_x509write_crt_set_issuer_name(&w, s->issuer) != 0 ||
        mbedtls_x509write_crt_set_validity(&w, s->not_before, s->not_after) != 0)
        goto out;
    /* 9303-12 §7.1.1: basicConstraints critical with cA for the CSCA. */
    if (s->basic_constraints &&
        mbedtls_x509write_crt_set_basic_constraints(&w, s->is_ca, s->path_len) != 0)
        goto out;
    /* keyUsage is written critical, as 9303-12 requires for CSCA and DS. */
    if ((s->key_usage && mbedtls_x509write_crt_set_key_usage(&w, s->key_usage) != 0) ||
        mbedtls_x509write_crt_set_subject_key_identifier(&w) != 0 ||
        mbedtls_x509write_crt_set_authority_key_identifier(&w) != 0)
        goto out;
    /* extKeyUsage ::= SEQUENCE OF KeyPurposeId (RFC 5280 §4.2.1.12), non-critical. */
    if (s->ext_key_usage) {
        struct pki_buf oid = {0}, v = {0};
        enum pki_err pe = pki_der_oid(&oid, s->ext_key_usage);
        if (pe == PKI_OK)
            pe = der_wrap(&v, DER_SEQUENCE, &oid);
        int rc = pe == PKI_OK ? mbedtls_x509write_crt_set_extension(
                                    &w, MBEDTLS_OID_EXTENDED_KEY_USAGE,
                                    MBEDTLS_OID_SIZE(MBEDTLS_OID_EXTENDED_KEY_USAGE), 0, v.p, v.len)
                              : -1;
        pki_buf_free(&oid);
        pki_buf_free(&v);
        if (rc != 0)
            goto out;
    }
    /* certificatePolicies ::= SEQUENCE OF PolicyInformation { policyIdentifier } (§4.2.1.4). */
    if (s->policy) {
        struct pki_buf info = {0}, seq = {0}, v = {0};
        enum pki_err pe = der_put(&info, DER_OID, s->policy, s->policy_len);
        if (pe == PKI_OK)
            pe = der_wrap(&seq, DER_SEQUENCE, &info);
        if (pe == PKI_OK)
            pe = der_wrap(&v, DER_SEQUENCE, &seq);
        int rc = pe == PKI_OK
                     ? mbedtls_x509write_crt_set_extension(
                           &w, MBEDTLS_OID_CERTIFICATE_POLICIES,
                           MBEDTLS_OID_SIZE(MBEDTLS_OID_CERTIFICATE_POLICIES), 0, v.p, v.len)
                     : -1;
        pki_buf_free(&info);
        pki_buf_free(&seq);
        pki_buf_free(&v);
        if (rc != 0)
            goto out;
    }
    /* PrivateKeyUsagePeriod ::= SEQUENCE { notBefore [0] IMPLICIT GeneralizedTime OPTIONAL,
     *     notAfter [1] IMPLICIT GeneralizedTime OPTIONAL }, non-critical (RFC 3280 §4.2.1.4)
     * unless the spec asks otherwise. */
    if (s->pkup_not_before || s->pkup_not_after) {
        struct pki_buf period = {0}, v = {0};
        enum pki_err pe = PKI_OK;
        if (s->pkup_not_before)
            pe = der_put(&period, DER_CTX0_PRIM, s->pkup_not_before, strlen(s->pkup_not_before));
        if (pe == PKI_OK && s->pkup_not_after)
            pe = der_put(&period, DER_CTX0_PRIM | 1u, s->pkup_not_after, strlen(s->pkup_not_after));
        if (pe == PKI_OK)
            pe = der_wrap(&v, DER_SEQUENCE, &period);
        int rc = pe == PKI_OK ? mbedtls_x509write_crt_set_extension(
                                    &w, MBEDTLS_OID_PRIVATE_KEY_USAGE_PERIOD,
                                    MBEDTLS_OID_SIZE(MBEDTLS_OID_PRIVATE_KEY_USAGE_PERIOD),
                                    s->pkup_critical, v.p, v.len)
                              : -1;
        pki_buf_free(&period);
        pki_buf_free(&v);
        if (rc != 0)
            goto out;
    }
    int n = mbedtls_x509write_crt_der(&w, buf, sizeof buf, pki_rng_fn, r);
    if (n <= 0)
        goto out;
    e = fix_ecdsa_params(buf + sizeof buf - (size_t)n, (size_t)n, issuer_key, r, s->low_s, der);
out:
    mbedtls_mpi_free(&serial);
    mbedtls_x509write_crt_free(&w);
    return e;
}

/* mkdir -p */
enum pki_err pki_mkdir(const char *dir)
{
    char *path = strdup(dir);
    if (path == NULL)
        return PKI_ERR_NO_MEMORY;
    enum pki_err e = PKI_OK;
    for (char *p = path + 1; e == PKI_OK; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        if (mkdir(path, 0755) != 0 && errno != EEXIST)
            e = PKI_ERR_IO;
        *p = c;
        if (c == '\0')
            break;
    }
    free(path);
    return e;
}

char *pki_path(const char *dir, const char *sub)
{
    size_t n = strlen(dir) + strlen(sub) + 2;
    char *path = malloc(n);
    if (path != NULL)
        snprintf(path, n, "%s/%s", dir, sub);
    return path;
}

enum pki_err pki_write_file(const char *dir, const char *name, const void *data, size_t n)
{
    char *path = dir != NULL ? pki_path(dir, name) : strdup(name);
    if (path == NULL)
        return PKI_ERR_NO_MEMORY;
    FILE *f = fopen(path, "wb");
    free(path);
    if (f == NULL)
        return PKI_ERR_IO;
    bool ok = fwrite(data, 1, n, f) == n;
    if (fclose(f) != 0)
        ok = false;
    return ok ? PKI_OK : PKI_ERR_IO;
}

enum pki_err pki_remove_file(const char *dir, const char *name)
{
    char *path = pki_path(dir, name);
    if (path == NULL)
        return PKI_ERR_NO_MEMORY;
    enum pki_err e = (unlink(path) == 0 || errno == ENOENT) ? PKI_OK : PKI_ERR_IO;
    free(path);
    return e;
}

enum pki_err pki_cert_pem(const struct pki_buf *der, struct pki_buf *pem)
{
    size_t olen = 0;
    size_t cap = der->len * 2 + 128;
    uint8_t *tmp = malloc(cap);
    if (tmp == NULL)
        return PKI_ERR_NO_MEMORY;
    enum pki_err e = PKI_ERR_CRYPTO;
    if (mbedtls_pem_write_buffer("-----BEGIN CERTIFICATE-----\n", "-----END CERTIFICATE-----\n",
                                 der->p, der->len, tmp, cap, &olen) == 0 &&
        olen > 0)
        e = pki_buf_append(pem, tmp, olen - 1); /* olen counts the NUL */
    free(tmp);
    return e;
}

enum pki_err pki_write_cert_files(const char *dir, const char *name, const struct pki_buf *der)
{
    char file[256];
    struct pki_buf pem = {0};
    snprintf(file, sizeof file, "%s.der", name);
    enum pki_err e = pki_write_file(dir, file, der->p, der->len);
    if (e == PKI_OK)
        e = pki_cert_pem(der, &pem);
    snprintf(file, sizeof file, "%s.pem", name);
    if (e == PKI_OK)
        e = pki_write_file(dir, file, pem.p, pem.len);
    pki_buf_free(&pem);
    return e;
}

enum pki_err pki_read_file(const char *dir, const char *name, struct pki_buf *out)
{
    char *path = dir != NULL ? pki_path(dir, name) : strdup(name);
    if (path == NULL)
        return PKI_ERR_NO_MEMORY;
    FILE *f = fopen(path, "rb");
    free(path);
    if (f == NULL)
        return PKI_ERR_IO;
    enum pki_err e = PKI_OK;
    uint8_t chunk[4096];
    size_t n;
    while (e == PKI_OK && (n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (out->len + n > 1u << 20)
            e = PKI_ERR_RANGE; /* no file of ours is near 1 MiB */
        else
            e = pki_buf_append(out, chunk, n);
    }
    if (ferror(f))
        e = PKI_ERR_IO;
    fclose(f);
    wipe(chunk, sizeof chunk);
    return e;
}

enum pki_err pki_load_key(const char *dir, const char *name, mbedtls_pk_context *pk)
{
    struct pki_buf b = {0};
    enum pki_err e = pki_read_file(dir, name, &b);
    if (e == PKI_ERR_IO)
        e = PKI_ERR_CA_DIR;
    if (e == PKI_OK && mbedtls_pk_parse_key(pk, b.p, b.len, NULL, 0) != 0)
        e = PKI_ERR_BAD_KEY;
    if (e == PKI_OK && mbedtls_pk_get_type(pk) != MBEDTLS_PK_ECKEY)
        e = PKI_ERR_BAD_KEY;
    pki_buf_free(&b);
    return e;
}

/* mbedTLS 2.28 refuses a critical extension it does not know; the test PKI writes a critical
 * privateKeyUsagePeriod (ds-XXX-pkup-critical) and must still sign with it. Only that one. */
static int pkup_extension(void *ctx, mbedtls_x509_crt const *crt, mbedtls_x509_buf const *oid,
                          int critical, const unsigned char *p, const unsigned char *end)
{
    static const uint8_t pkup[] = {0x55, 0x1D, 0x10}; /* 2.5.29.16 */
    (void)ctx, (void)crt, (void)critical, (void)p, (void)end;
    return oid->len == sizeof pkup && memcmp(oid->p, pkup, sizeof pkup) == 0 ? 0 : -1;
}

int pki_crt_parse_der(mbedtls_x509_crt *chain, const unsigned char *buf, size_t len)
{
    return mbedtls_x509_crt_parse_der_with_ext_cb(chain, buf, len, 1, pkup_extension, NULL);
}

/*
 * Trust anchors (CSCA certificates, ICAO 9303-12; the reader manufacturer's
 * CA) and the reader checks: RFC 5280 path validation of the one-level
 * reader chain by mbedTLS, with certificate validity taken at the caller's
 * `now` rather than the system clock.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <mbedtls/oid.h>
#include <mbedtls/pk.h>

#include "ecdsa_libcrypto.h"
#include "internal.h"

struct hv_trust *hv_trust_new(void)
{
    struct hv_trust *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    mbedtls_x509_crt_init(&t->csca);
    for (size_t i = 0; i < HV_MAX_READER_CA; i++)
        mbedtls_x509_crt_init(&t->reader_ca[i]);
    return t;
}

void hv_trust_free(struct hv_trust *t)
{
    if (!t)
        return;
    mbedtls_x509_crt_free(&t->csca);
    for (size_t i = 0; i < HV_MAX_READER_CA; i++)
        mbedtls_x509_crt_free(&t->reader_ca[i]);
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

/* DER or PEM (one or more certificates) into a fresh chain; mbedTLS wants PEM NUL-terminated. */
static enum hv_err parse_any(const uint8_t *buf, size_t len, mbedtls_x509_crt *chain)
{
    static const char begin[] = "-----BEGIN ";
    mbedtls_x509_crt_init(chain);
    if (!buf || !len)
        return HV_ERR_ARGUMENT;
    bool pem = len > sizeof begin && hvi_contains(buf, len, begin, sizeof begin - 1);
    if (!pem)
        return mbedtls_x509_crt_parse_der(chain, buf, len) == 0 ? HV_OK : HV_ERR_ARGUMENT;
    char *text = malloc(len + 1);
    if (!text)
        return HV_ERR_MEMORY;
    memcpy(text, buf, len);
    text[len] = '\0';
    int r = mbedtls_x509_crt_parse(chain, (const unsigned char *)text, len + 1);
    free(text);
    /* r > 0: some certificates of the bundle did not parse; refuse the file. */
    if (r != 0 || chain->raw.len == 0) {
        mbedtls_x509_crt_free(chain);
        return HV_ERR_ARGUMENT;
    }
    return HV_OK;
}

enum hv_err hv_trust_add_csca(struct hv_trust *t, const uint8_t *buf, size_t len)
{
    mbedtls_x509_crt chain;
    if (!t)
        return HV_ERR_ARGUMENT;
    enum hv_err e = parse_any(buf, len, &chain);
    if (e != HV_OK)
        return e;
    for (const mbedtls_x509_crt *c = &chain; c && c->raw.len && e == HV_OK; c = c->next) {
        if (!c->ca_istrue)
            continue; /* a Document Signer or another end-entity certificate */
        if (t->n_csca >= HV_MAX_CSCA)
            e = HV_ERR_ARGUMENT;
        else if (mbedtls_x509_crt_parse_der(&t->csca, c->raw.p, c->raw.len) != 0)
            e = HV_ERR_ARGUMENT;
        else
            t->n_csca++;
    }
    mbedtls_x509_crt_free(&chain);
    return e;
}

enum hv_err hv_trust_add_reader_ca(struct hv_trust *t, const uint8_t *buf, size_t len)
{
    mbedtls_x509_crt chain;
    if (!t)
        return HV_ERR_ARGUMENT;
    enum hv_err e = parse_any(buf, len, &chain);
    if (e != HV_OK)
        return e;
    for (const mbedtls_x509_crt *c = &chain; c && c->raw.len && e == HV_OK; c = c->next) {
        if (!c->ca_istrue || t->n_reader_ca >= HV_MAX_READER_CA)
            e = HV_ERR_ARGUMENT;
        else if (mbedtls_x509_crt_parse_der(&t->reader_ca[t->n_reader_ca], c->raw.p, c->raw.len) !=
                 0)
            e = HV_ERR_ARGUMENT;
        else
            t->n_reader_ca++;
    }
    mbedtls_x509_crt_free(&chain);
    return e;
}

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
            if (cap >= 4u * 1024 * 1024) { /* no certificate file is this large */
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

static bool cert_file_name(const char *name)
{
    static const char *const ext[] = {".der", ".pem", ".crt", ".cer"};
    size_t n = strlen(name);
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++)
        if (n > 4 && strcmp(name + n - 4, ext[i]) == 0)
            return true;
    return false;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

enum hv_err hv_trust_load_csca_dir(struct hv_trust *t, const char *dir, char *err_msg, size_t cap)
{
    char dummy[1];
    if (!err_msg)
        err_msg = dummy, cap = sizeof dummy;
    err_msg[0] = '\0';
    if (!t || !dir)
        return HV_ERR_ARGUMENT;
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(err_msg, cap, "cannot open directory %s", dir);
        return HV_ERR_ARGUMENT;
    }
    /* Sorted, so that the order (and which duplicate is kept) does not depend on the file system.
     */
    char **names = NULL;
    size_t n = 0, cap_names = 0;
    enum hv_err e = HV_OK;
    struct dirent *ent;
    while (e == HV_OK && (ent = readdir(d)) != NULL) {
        if (ent->d_name[0] == '.' || !cert_file_name(ent->d_name))
            continue;
        if (n == cap_names) {
            size_t nc = cap_names ? cap_names * 2 : 16;
            char **nn = nc <= 4096 ? realloc(names, nc * sizeof *nn) : NULL;
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
        char path[4096];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        uint8_t *buf;
        size_t len;
        e = read_file(path, &buf, &len);
        if (e == HV_OK) {
            e = hv_trust_add_csca(t, buf, len);
            free(buf);
        }
        if (e != HV_OK)
            snprintf(err_msg, cap, "%s: not a certificate file mbedTLS can parse", path);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    if (e == HV_OK && t->n_csca == 0) {
        snprintf(err_msg, cap, "no CSCA (CA) certificate in %s", dir);
        e = HV_ERR_ARGUMENT;
    }
    return e;
}

enum hv_err hv_trust_load_reader_ca_file(struct hv_trust *t, const char *path, char *err_msg,
                                         size_t cap)
{
    char dummy[1];
    if (!err_msg)
        err_msg = dummy, cap = sizeof dummy;
    err_msg[0] = '\0';
    if (!t || !path)
        return HV_ERR_ARGUMENT;
    uint8_t *buf;
    size_t len;
    enum hv_err e = read_file(path, &buf, &len);
    if (e == HV_OK) {
        e = hv_trust_add_reader_ca(t, buf, len);
        free(buf);
    }
    if (e != HV_OK)
        snprintf(err_msg, cap, "%s: not a CA certificate file mbedTLS can parse", path);
    return e;
}

static struct hv_time from_x509(const mbedtls_x509_time *x)
{
    return (struct hv_time){x->year, x->mon, x->day, x->hour, x->min, x->sec};
}

static enum hv_err validity(const mbedtls_x509_crt *c, const struct hv_time *now, const char *what,
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

/* The subject's commonName equals id (hawiya-pki writes CN = the reader id). */
static bool cn_is(const mbedtls_x509_crt *c, const char *id)
{
    size_t n = strlen(id), found = 0;
    bool same = false;
    for (const mbedtls_x509_name *a = &c->subject; a; a = a->next) {
        if (MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &a->oid) != 0)
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

/*
 * The reader signature in its one encoding: DER Ecdsa-Sig-Value with
 * minimal INTEGERs, 0 < r < n and 0 < s <= n/2 (hawiya/assertion.h: the
 * reader writes the low one of s and n - s, which both verify).
 */
static bool ecdsa_der_low_s(const mbedtls_ecp_group *grp, const uint8_t *sig, size_t len)
{
    mbedtls_mpi r, s, half;
    if (len < 8 || sig[0] != 0x30 || sig[1] >= 0x80 || sig[1] != len - 2)
        return false;
    mbedtls_mpi_init(&r);
    mbedtls_mpi_init(&s);
    mbedtls_mpi_init(&half);
    const uint8_t *p = sig + 2, *end = sig + len;
    bool ok = der_positive_int(&p, end, &r) && der_positive_int(&p, end, &s) && p == end &&
              mbedtls_mpi_cmp_mpi(&r, &grp->N) < 0 && mbedtls_mpi_copy(&half, &grp->N) == 0 &&
              mbedtls_mpi_shift_r(&half, 1) == 0 && mbedtls_mpi_cmp_mpi(&s, &half) <= 0;
    mbedtls_mpi_free(&r);
    mbedtls_mpi_free(&s);
    mbedtls_mpi_free(&half);
    return ok;
}

enum hv_err hvi_check_reader(const struct hv_trust *t, const struct hv_time *now, const char *id,
                             const uint8_t *cert, size_t cert_len, const uint8_t *digest,
                             const uint8_t *sig, size_t sig_len, char *msg, size_t cap)
{
    mbedtls_x509_crt crt;
    mbedtls_x509_crt_init(&crt);
    enum hv_err e = HV_OK;
    if (mbedtls_x509_crt_parse_der(&crt, cert, cert_len) != 0) {
        snprintf(msg, cap, "reader certificate does not parse");
        e = HV_ERR_READER_UNTRUSTED;
        goto out;
    }
    if (crt.ca_istrue) {
        snprintf(msg, cap, "reader certificate is a CA certificate");
        e = HV_ERR_READER_UNTRUSTED;
        goto out;
    }
    const mbedtls_x509_crt *issuer = NULL;
    /* Validity is judged at `now` below, not against the system clock. */
    for (size_t i = 0; i < t->n_reader_ca && !issuer; i++)
        if (sigverify_issued_by(&hvi_libcrypto_engine, &crt, &t->reader_ca[i]))
            issuer = &t->reader_ca[i];
    if (!issuer) {
        snprintf(msg, cap, "reader certificate is not issued by a trusted reader CA");
        e = HV_ERR_READER_UNTRUSTED;
        goto out;
    }
    e = validity(issuer, now, "reader CA certificate", msg, cap);
    if (e == HV_OK)
        e = validity(&crt, now, "reader certificate", msg, cap);
    if (e != HV_OK)
        goto out;
    if (!cn_is(&crt, id)) {
        snprintf(msg, cap, "reader id is not the certificate's commonName");
        e = HV_ERR_READER_UNTRUSTED;
        goto out;
    }
    /* The attestation key is ECDSA P-256 (hawiya/assertion.h) with digitalSignature use. */
    if (mbedtls_pk_get_type(&crt.pk) != MBEDTLS_PK_ECKEY ||
        mbedtls_pk_ec(crt.pk)->grp.id != MBEDTLS_ECP_DP_SECP256R1 ||
        mbedtls_x509_crt_check_key_usage(&crt, MBEDTLS_X509_KU_DIGITAL_SIGNATURE) != 0) {
        snprintf(msg, cap, "reader certificate key is not an ECDSA P-256 signing key");
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

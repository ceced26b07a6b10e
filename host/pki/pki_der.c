/*
 * DER writing (ITU-T X.690 §10) on growable buffers. Tags and minimal
 * length fields come from hawiya/tlv.h's encoder.
 */
#include <stdlib.h>
#include <string.h>

#include "hawiya/tlv.h"
#include "hawiya/wipe.h"
#include "pki_internal.h"

void pki_buf_free(struct pki_buf *b)
{
    /* Buffers hold private keys too: wiped before they go back to the heap. */
    if (b->p != NULL) {
        wipe(b->p, b->cap);
        free(b->p);
    }
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
}

static enum pki_err reserve(struct pki_buf *b, size_t extra)
{
    if (extra > SIZE_MAX / 2 - b->len)
        return PKI_ERR_NO_MEMORY;
    if (b->len + extra <= b->cap)
        return PKI_OK;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra)
        cap *= 2;
    uint8_t *p = realloc(b->p, cap);
    if (p == NULL)
        return PKI_ERR_NO_MEMORY;
    b->p = p;
    b->cap = cap;
    return PKI_OK;
}

enum pki_err pki_buf_append(struct pki_buf *b, const void *data, size_t n)
{
    enum pki_err e = reserve(b, n);
    if (e != PKI_OK)
        return e;
    if (n > 0)
        memcpy(b->p + b->len, data, n);
    b->len += n;
    return PKI_OK;
}

enum pki_err der_put(struct pki_buf *b, uint32_t tag, const void *content, size_t n)
{
    size_t hdr = tlv_header_size(tag, n);
    if (hdr == 0)
        return PKI_ERR_RANGE;
    enum pki_err e = reserve(b, hdr + n);
    if (e != PKI_OK)
        return e;
    if (tlv_put(b->p, b->cap, &b->len, tag, content, n) != TLV_OK)
        return PKI_ERR_RANGE;
    return PKI_OK;
}

enum pki_err der_wrap(struct pki_buf *b, uint32_t tag, struct pki_buf *content)
{
    enum pki_err e = der_put(b, tag, content->p, content->len);
    pki_buf_free(content);
    return e;
}

enum pki_err der_uint(struct pki_buf *b, uint32_t v)
{
    uint8_t bytes[5];
    size_t n = 0;
    /* Minimal two's complement: a leading 00 only when the top bit is set. */
    int shift = 24;
    while (shift > 0 && ((v >> shift) & 0xFFu) == 0)
        shift -= 8;
    if ((v >> shift) & 0x80u)
        bytes[n++] = 0;
    for (; shift >= 0; shift -= 8)
        bytes[n++] = (uint8_t)(v >> shift);
    return der_put(b, DER_INTEGER, bytes, n);
}

enum pki_err pki_der_oid(struct pki_buf *out, const char *dotted)
{
    uint8_t content[32];
    size_t n = 0;
    uint32_t arcs[20];
    size_t n_arcs = 0;
    const char *s = dotted;
    while (*s != '\0') {
        uint64_t v = 0;
        if (*s < '0' || *s > '9')
            return PKI_ERR_RANGE;
        while (*s >= '0' && *s <= '9') {
            v = v * 10 + (uint64_t)(*s - '0');
            if (v > UINT32_MAX)
                return PKI_ERR_RANGE;
            s++;
        }
        if (n_arcs == sizeof arcs / sizeof arcs[0])
            return PKI_ERR_RANGE;
        arcs[n_arcs++] = (uint32_t)v;
        if (*s == '.' && s[1] != '\0')
            s++;
        else if (*s != '\0')
            return PKI_ERR_RANGE; /* a character other than a digit, or a trailing '.' */
    }
    /* X.690 §8.19.4: the first two arcs make one subidentifier 40 * X + Y. */
    if (n_arcs < 2 || arcs[0] > 2 || (arcs[0] < 2 && arcs[1] > 39))
        return PKI_ERR_RANGE;
    for (size_t i = 1; i < n_arcs; i++) {
        uint64_t v = (i == 1) ? (uint64_t)arcs[0] * 40 + arcs[1] : arcs[i];
        uint8_t tmp[10];
        size_t k = 0;
        do {
            tmp[k++] = (uint8_t)(v & 0x7Fu);
            v >>= 7;
        } while (v != 0);
        if (n + k > sizeof content)
            return PKI_ERR_RANGE;
        while (k > 0) {
            k--;
            content[n++] = (uint8_t)(tmp[k] | (k > 0 ? 0x80u : 0));
        }
    }
    return der_put(out, DER_OID, content, n);
}

enum pki_err der_alg_id(struct pki_buf *b, const char *oid)
{
    struct pki_buf seq = {0};
    enum pki_err e = pki_der_oid(&seq, oid);
    if (e == PKI_OK)
        return der_wrap(b, DER_SEQUENCE, &seq);
    pki_buf_free(&seq);
    return e;
}

/* X.690 §11.6: compared as octet strings, the shorter padded with zeros at its end. */
static int der_cmp(const void *a, const void *b)
{
    const struct pki_buf *x = a;
    const struct pki_buf *y = b;
    size_t n = x->len > y->len ? x->len : y->len;
    for (size_t i = 0; i < n; i++) {
        uint8_t cx = i < x->len ? x->p[i] : 0;
        uint8_t cy = i < y->len ? y->p[i] : 0;
        if (cx != cy)
            return cx < cy ? -1 : 1;
    }
    return 0;
}

enum pki_err der_set_of(struct pki_buf *b, uint32_t tag, struct pki_buf *items, size_t n)
{
    struct pki_buf content = {0};
    enum pki_err e = PKI_OK;
    qsort(items, n, sizeof items[0], der_cmp);
    for (size_t i = 0; i < n && e == PKI_OK; i++)
        e = pki_buf_append(&content, items[i].p, items[i].len);
    for (size_t i = 0; i < n; i++)
        pki_buf_free(&items[i]);
    if (e == PKI_OK)
        return der_wrap(b, tag, &content);
    pki_buf_free(&content);
    return e;
}

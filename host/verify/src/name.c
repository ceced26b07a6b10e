/*
 * Distinguished names compared as RFC 5280 §7.1 asks (the LDAP StringPrep
 * of RFC 4518, simplified as OpenSSL's X509_NAME_cmp does it): the same
 * RDNs in the same order, each the same set of attribute types, and each
 * string value equal once decoded to Unicode (PrintableString, UTF8String,
 * IA5String, VisibleString, TeletexString read as Latin-1, BMPString,
 * UniversalString), its leading and trailing spaces dropped, inner runs of
 * spaces one space, and ASCII letters of one case. A state that re-encodes
 * its CSCA name (PrintableString to UTF8String at a key rollover) keeps its
 * name: its Document Signers still chain, and its CRL still revokes them.
 * Values of other types are compared byte for byte. Signatures still decide
 * who issued what; the name only says where to look.
 */
#include <string.h>

#include "internal.h"

#define CANON_MAX 512 /* bytes of UTF-8 in one canonical value; a longer one compares bytes */

/* The code points of a string value into out as UTF-8; false for another type or bad text. */
static bool to_utf8(const mbedtls_x509_buf *v, uint8_t *out, size_t cap, size_t *n)
{
    size_t unit, k = 0;
    switch (v->tag) {
    case MBEDTLS_ASN1_UTF8_STRING:
    case MBEDTLS_ASN1_PRINTABLE_STRING:
    case MBEDTLS_ASN1_IA5_STRING:
    case 0x1A: /* VisibleString */
        if (v->len > cap)
            return false;
        memcpy(out, v->p, v->len);
        *n = v->len;
        return true;
    case MBEDTLS_ASN1_T61_STRING: unit = 1; break;
    case MBEDTLS_ASN1_BMP_STRING: unit = 2; break;
    case MBEDTLS_ASN1_UNIVERSAL_STRING: unit = 4; break;
    default: return false;
    }
    if (v->len % unit)
        return false;
    for (size_t i = 0; i < v->len; i += unit) {
        uint32_t c = 0;
        for (size_t j = 0; j < unit; j++)
            c = c << 8 | v->p[i + j];
        if (c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF) || cap - k < 4)
            return false;
        if (c < 0x80) {
            out[k++] = (uint8_t)c;
        } else if (c < 0x800) {
            out[k++] = (uint8_t)(0xC0 | c >> 6);
            out[k++] = (uint8_t)(0x80 | (c & 0x3F));
        } else if (c < 0x10000) {
            out[k++] = (uint8_t)(0xE0 | c >> 12);
            out[k++] = (uint8_t)(0x80 | (c >> 6 & 0x3F));
            out[k++] = (uint8_t)(0x80 | (c & 0x3F));
        } else {
            out[k++] = (uint8_t)(0xF0 | c >> 18);
            out[k++] = (uint8_t)(0x80 | (c >> 12 & 0x3F));
            out[k++] = (uint8_t)(0x80 | (c >> 6 & 0x3F));
            out[k++] = (uint8_t)(0x80 | (c & 0x3F));
        }
    }
    *n = k;
    return true;
}

static bool space(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Spaces trimmed and folded, ASCII lower case; in place. */
static size_t fold(uint8_t *s, size_t n)
{
    size_t k = 0;
    bool gap = false;
    for (size_t i = 0; i < n; i++) {
        if (space(s[i])) {
            gap = k > 0;
            continue;
        }
        if (gap)
            s[k++] = ' ';
        gap = false;
        s[k++] = (uint8_t)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] - 'A' + 'a' : s[i]);
    }
    return k;
}

static bool same_value(const mbedtls_x509_buf *a, const mbedtls_x509_buf *b)
{
    uint8_t ca[CANON_MAX], cb[CANON_MAX];
    size_t na, nb;
    if (a->tag == b->tag && a->len == b->len && memcmp(a->p, b->p, a->len) == 0)
        return true;
    if (!to_utf8(a, ca, sizeof ca, &na) || !to_utf8(b, cb, sizeof cb, &nb))
        return false;
    na = fold(ca, na);
    nb = fold(cb, nb);
    return na == nb && memcmp(ca, cb, na) == 0;
}

static bool same_ava(const mbedtls_x509_name *a, const mbedtls_x509_name *b)
{
    return a->oid.len == b->oid.len && memcmp(a->oid.p, b->oid.p, a->oid.len) == 0 &&
           same_value(&a->val, &b->val);
}

/* The AVAs of the RDN starting at *x: their count; *x moves to the next RDN. */
static size_t rdn(const mbedtls_x509_name **x, const mbedtls_x509_name **first)
{
    size_t n = 0;
    *first = *x;
    while (*x && (*x)->oid.p) {
        bool merged = (*x)->next_merged;
        *x = (*x)->next;
        n++;
        if (!merged)
            break;
    }
    return n;
}

bool hvi_name_equal(const mbedtls_x509_name *a, const mbedtls_x509_name *b)
{
    for (;;) {
        const mbedtls_x509_name *ra, *rb;
        size_t na = rdn(&a, &ra), nb = rdn(&b, &rb);
        if (na != nb)
            return false;
        if (na == 0)
            return true;
        /* A multi-valued RDN is a SET: each AVA of one matches a distinct AVA of the other. */
        unsigned used = 0;
        if (na > 16)
            return false;
        const mbedtls_x509_name *x = ra;
        for (size_t i = 0; i < na; i++, x = x->next) {
            const mbedtls_x509_name *y = rb;
            size_t j = 0;
            while (j < nb && ((used >> j & 1) || !same_ava(x, y)))
                y = y->next, j++;
            if (j == nb)
                return false;
            used |= 1u << j;
        }
    }
}

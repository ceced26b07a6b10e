/* Base64 (RFC 4648 §4, the evidence fields) and base64url (§5, the challenge); UTC times. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mbedtls/base64.h>

#include "hawiya/base64.h"

#include "internal.h"

char *hvi_b64_encode(const uint8_t *p, size_t n)
{
    size_t cap = 4 * ((n + 2) / 3) + 1, olen;
    char *s = malloc(cap);
    if (!s)
        return NULL;
    if (mbedtls_base64_encode((unsigned char *)s, cap, &olen, p, n) != 0) {
        free(s);
        return NULL;
    }
    s[olen] = '\0';
    return s;
}

char *hvi_b64url_encode(const uint8_t *p, size_t n)
{
    char *s = hvi_b64_encode(p, n);
    if (!s)
        return NULL;
    size_t i = 0;
    for (; s[i] && s[i] != '='; i++) {
        if (s[i] == '+')
            s[i] = '-';
        else if (s[i] == '/')
            s[i] = '_';
    }
    s[i] = '\0';
    return s;
}

bool hvi_b64_decode(const char *s, uint8_t **out, size_t *n)
{
    size_t len = strlen(s), olen = 0;
    *out = NULL;
    *n = 0;
    if (len % 4 != 0)
        return false;
    uint8_t *buf = malloc(len / 4 * 3 + 1);
    if (!buf)
        return false;
    if (mbedtls_base64_decode(buf, len / 4 * 3 + 1, &olen, (const unsigned char *)s, len) != 0) {
        free(buf);
        return false;
    }
    /* One encoding per byte string: mbedTLS skips line breaks and spaces and
     * ignores stray low bits, so compare with the canonical re-encoding. */
    char *again = hvi_b64_encode(buf, olen);
    bool same = again && strcmp(again, s) == 0;
    free(again);
    if (!same) {
        free(buf);
        return false;
    }
    *out = buf;
    *n = olen;
    return true;
}

enum hv_err hv_base64url_decode(const char *s, size_t len, uint8_t *out, size_t cap, size_t *n)
{
    if (!s || !out || !n)
        return HV_ERR_ARGUMENT;
    return base64url_decode(s, len, out, cap, n) ? HV_OK : HV_ERR_FORMAT;
}

static int days_in_month(int y, int m)
{
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return d[m - 1];
}

enum hv_err hv_time_parse(const char *s, struct hv_time *t)
{
    int v[6] = {0};
    static const int width[6] = {4, 2, 2, 2, 2, 2};
    if (!s || !t || strlen(s) != 15 || s[14] != 'Z')
        return HV_ERR_ARGUMENT;
    const char *p = s;
    for (int f = 0; f < 6; f++)
        for (int i = 0; i < width[f]; i++, p++) {
            if (*p < '0' || *p > '9')
                return HV_ERR_ARGUMENT;
            v[f] = v[f] * 10 + (*p - '0');
        }
    if (v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > days_in_month(v[0], v[1]) || v[3] > 23 ||
        v[4] > 59 || v[5] > 59)
        return HV_ERR_ARGUMENT;
    *t = (struct hv_time){v[0], v[1], v[2], v[3], v[4], v[5]};
    return HV_OK;
}

enum hv_err hv_time_now(struct hv_time *t)
{
    struct tm tm;
    time_t now = time(NULL);
    if (!t || now == (time_t)-1 || !gmtime_r(&now, &tm))
        return HV_ERR_ARGUMENT;
    *t = (struct hv_time){tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                          tm.tm_hour,        tm.tm_min,     tm.tm_sec};
    return HV_OK;
}

bool hvi_der_time(uint8_t tag, const uint8_t *p, size_t n, struct hv_time *t)
{
    size_t digits = tag == 0x17 ? 12 : 14;
    char text[16];
    if (!p || (tag != 0x17 && tag != 0x18) || n < digits + 1 || p[n - 1] != 'Z')
        return false;
    for (size_t i = 0; i < digits; i++)
        if (p[i] < '0' || p[i] > '9')
            return false;
    if (n != digits + 1) {
        /* Only GeneralizedTime has more: '.' and digits, the last not 0 (X.690 §11.7.3: DER
         * drops trailing zeros, and a '.' with nothing after it). */
        if (tag != 0x18 || p[14] != '.' || n < 17 || p[n - 2] == '0')
            return false;
        for (size_t i = 15; i < n - 1; i++)
            if (p[i] < '0' || p[i] > '9')
                return false;
    }
    if (tag == 0x17) {
        int yy = (p[0] - '0') * 10 + (p[1] - '0');
        snprintf(text, sizeof text, "%s%.12sZ", yy < 50 ? "20" : "19", (const char *)p);
    } else {
        memcpy(text, p, 14);
        text[14] = 'Z';
        text[15] = '\0';
    }
    return hv_time_parse(text, t) == HV_OK;
}

int hvi_time_cmp(const struct hv_time *a, const struct hv_time *b)
{
    const int x[6] = {a->year, a->mon, a->day, a->hour, a->min, a->sec};
    const int y[6] = {b->year, b->mon, b->day, b->hour, b->min, b->sec};
    for (int i = 0; i < 6; i++)
        if (x[i] != y[i])
            return x[i] < y[i] ? -1 : 1;
    return 0;
}

bool hvi_contains(const void *hay, size_t n, const char *needle, size_t m)
{
    const char *h = hay;
    if (m == 0)
        return true;
    for (size_t i = 0; i + m <= n; i++)
        if (h[i] == needle[0] && memcmp(h + i, needle, m) == 0)
            return true;
    return false;
}

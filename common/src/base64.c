#include "hawiya/base64.h"

static int value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

bool base64url_decode(const char *s, size_t len, uint8_t *out, size_t cap, size_t *n)
{
    *n = 0;
    if (len % 4 == 0 && len > 0) {
        size_t pad = 0;
        while (pad < 2 && s[len - 1 - pad] == '=')
            pad++;
        len -= pad;
    }
    if (len % 4 == 1)
        return false;
    size_t want = len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0);
    if (want > cap)
        return false;
    uint32_t acc = 0;
    unsigned bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        int v = value((unsigned char)s[i]);
        if (v < 0)
            return false;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (acc != 0)
        return false;
    *n = o;
    return true;
}

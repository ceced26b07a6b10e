#include "hawiya/hex.h"

const char *hex_err_str(enum hex_err e)
{
    switch (e) {
    case HEX_OK: return "HEX_OK";
    case HEX_ERR_ODD_DIGITS: return "HEX_ERR_ODD_DIGITS";
    case HEX_ERR_BAD_CHAR: return "HEX_ERR_BAD_CHAR";
    case HEX_ERR_TOO_LONG: return "HEX_ERR_TOO_LONG";
    }
    return "HEX_ERR_UNKNOWN";
}

static int nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int is_separator(char c)
{
    return c == ' ' || c == '\t' || c == ':' || c == '-' || c == '\r' || c == '\n';
}

enum hex_err hex_decode(const char *text, size_t len, uint8_t *out, size_t cap, size_t *out_len)
{
    size_t n = 0;
    int high = -1;

    *out_len = 0;
    for (size_t i = 0; i < len && text[i] != '\0'; i++) {
        int v = nibble(text[i]);
        if (v < 0) {
            if (!is_separator(text[i]))
                return HEX_ERR_BAD_CHAR;
            /* A separator may only stand between bytes, never inside one. */
            if (high >= 0)
                return HEX_ERR_ODD_DIGITS;
            continue;
        }
        if (high < 0) {
            high = v;
            continue;
        }
        if (n >= cap)
            return HEX_ERR_TOO_LONG;
        out[n++] = (uint8_t)(high << 4 | v);
        high = -1;
    }
    if (high >= 0)
        return HEX_ERR_ODD_DIGITS;
    *out_len = n;
    return HEX_OK;
}

void hex_encode(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 0x0f];
    }
    out[2 * n] = '\0';
}

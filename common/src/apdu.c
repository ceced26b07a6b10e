#include <string.h>

#include "hawiya/apdu.h"

const char *apdu_err_str(enum apdu_err e)
{
    switch (e) {
    case APDU_OK: return "APDU_OK";
    case APDU_ERR_TOO_SHORT: return "APDU_ERR_TOO_SHORT";
    case APDU_ERR_LC_ZERO: return "APDU_ERR_LC_ZERO";
    case APDU_ERR_LENGTH_MISMATCH: return "APDU_ERR_LENGTH_MISMATCH";
    case APDU_ERR_NC_TOO_LARGE: return "APDU_ERR_NC_TOO_LARGE";
    case APDU_ERR_NE_TOO_LARGE: return "APDU_ERR_NE_TOO_LARGE";
    case APDU_ERR_NULL_DATA: return "APDU_ERR_NULL_DATA";
    case APDU_ERR_BUFFER_TOO_SMALL: return "APDU_ERR_BUFFER_TOO_SMALL";
    case APDU_ERR_BAD_SW: return "APDU_ERR_BAD_SW";
    }
    return "APDU_ERR_UNKNOWN";
}

enum apdu_case apdu_case_of(const struct apdu *a)
{
    bool ext = a->extended || a->nc > 255 || a->ne > APDU_NE_SHORT;

    if (a->nc == 0 && a->ne == 0)
        return APDU_CASE_1; /* §5.1: case 1 has no length field, short or extended */
    if (a->nc == 0)
        return ext ? APDU_CASE_2E : APDU_CASE_2S;
    if (a->ne == 0)
        return ext ? APDU_CASE_3E : APDU_CASE_3S;
    return ext ? APDU_CASE_4E : APDU_CASE_4S;
}

enum apdu_err apdu_encode(const struct apdu *a, uint8_t *out, size_t cap, size_t *out_len)
{
    *out_len = 0;
    if (a->nc > APDU_NC_MAX)
        return APDU_ERR_NC_TOO_LARGE;
    if (a->ne > APDU_NE_MAX)
        return APDU_ERR_NE_TOO_LARGE;
    if (a->nc > 0 && a->data == NULL)
        return APDU_ERR_NULL_DATA;

    enum apdu_case c = apdu_case_of(a);
    bool ext = c == APDU_CASE_2E || c == APDU_CASE_3E || c == APDU_CASE_4E;
    size_t lc_len = a->nc == 0 ? 0 : (ext ? 3 : 1);
    /* Extended Le is 3 bytes (00 xx xx) alone, 2 bytes after an extended Lc. */
    size_t le_len = a->ne == 0 ? 0 : (!ext ? 1 : (a->nc == 0 ? 3 : 2));
    size_t n = APDU_HEADER_LEN + lc_len + a->nc + le_len;
    if (n > cap)
        return APDU_ERR_BUFFER_TOO_SMALL;

    size_t i = 0;
    out[i++] = a->cla;
    out[i++] = a->ins;
    out[i++] = a->p1;
    out[i++] = a->p2;
    if (lc_len == 1) {
        out[i++] = (uint8_t)a->nc;
    } else if (lc_len == 3) {
        out[i++] = 0x00;
        out[i++] = (uint8_t)(a->nc >> 8);
        out[i++] = (uint8_t)a->nc;
    }
    if (a->nc > 0) {
        memmove(out + i, a->data, a->nc);
        i += a->nc;
    }
    if (le_len == 1) {
        out[i++] = (uint8_t)a->ne; /* 256 -> 00 */
    } else if (le_len > 1) {
        if (le_len == 3)
            out[i++] = 0x00;
        out[i++] = (uint8_t)(a->ne >> 8); /* 65536 -> 00 00 */
        out[i++] = (uint8_t)a->ne;
    }
    *out_len = i;
    return APDU_OK;
}

static enum apdu_err decode_fail(struct apdu *a, enum apdu_err e)
{
    memset(a, 0, sizeof *a);
    return e;
}

enum apdu_err apdu_decode(const uint8_t *in, size_t len, struct apdu *a, enum apdu_case *c)
{
    memset(a, 0, sizeof *a);
    if (len < APDU_HEADER_LEN)
        return APDU_ERR_TOO_SHORT;
    a->cla = in[0];
    a->ins = in[1];
    a->p1 = in[2];
    a->p2 = in[3];

    const uint8_t *b = in + APDU_HEADER_LEN;
    size_t l = len - APDU_HEADER_LEN;
    enum apdu_case cs;

    if (l == 0) {
        cs = APDU_CASE_1;
    } else if (l == 1) {
        a->ne = b[0] == 0 ? 256 : b[0];
        cs = APDU_CASE_2S;
    } else if (b[0] != 0) {
        /* Short Lc (B1 = 01..FF): the body is Lc + data, or Lc + data + Le. */
        a->nc = b[0];
        a->data = b + 1;
        if (l == 1 + a->nc) {
            cs = APDU_CASE_3S;
        } else if (l == 2 + a->nc) {
            a->ne = b[l - 1] == 0 ? 256 : b[l - 1];
            cs = APDU_CASE_4S;
        } else {
            return decode_fail(a, APDU_ERR_LENGTH_MISMATCH);
        }
    } else if (l == 3) {
        /* B1 = 00 and three bytes: an extended Le alone. */
        size_t le = (size_t)b[1] << 8 | b[2];
        a->ne = le == 0 ? APDU_NE_MAX : le;
        a->extended = true;
        cs = APDU_CASE_2E;
    } else if (l == 2) {
        /* 00 xx: a short Lc of zero followed by Le, or a truncated extended field. */
        return decode_fail(a, APDU_ERR_LC_ZERO);
    } else {
        size_t lc = (size_t)b[1] << 8 | b[2];
        if (lc == 0)
            return decode_fail(a, APDU_ERR_LC_ZERO);
        a->nc = lc;
        a->data = b + 3;
        a->extended = true;
        if (l == 3 + lc) {
            cs = APDU_CASE_3E;
        } else if (l == 5 + lc) {
            size_t le = (size_t)b[l - 2] << 8 | b[l - 1];
            a->ne = le == 0 ? APDU_NE_MAX : le;
            cs = APDU_CASE_4E;
        } else {
            return decode_fail(a, APDU_ERR_LENGTH_MISMATCH);
        }
    }
    if (c != NULL)
        *c = cs;
    return APDU_OK;
}

static bool sw1_valid(uint8_t sw1)
{
    /* §5.6: any SW1 other than 6X and 9X is invalid, and so is 60 (the T=0 NULL byte). */
    return (sw1 >= 0x61 && sw1 <= 0x6F) || (sw1 >= 0x90 && sw1 <= 0x9F);
}

enum apdu_err rapdu_decode(const uint8_t *in, size_t len, struct rapdu *r)
{
    memset(r, 0, sizeof *r);
    if (len < 2)
        return APDU_ERR_TOO_SHORT;
    if (!sw1_valid(in[len - 2]))
        return APDU_ERR_BAD_SW;
    r->data = len > 2 ? in : NULL;
    r->len = len - 2;
    r->sw = (uint16_t)(in[len - 2] << 8 | in[len - 1]);
    return APDU_OK;
}

enum apdu_err rapdu_encode(const uint8_t *data, size_t len, uint16_t sw, uint8_t *out, size_t cap,
                           size_t *out_len)
{
    *out_len = 0;
    if (len > APDU_NE_MAX)
        return APDU_ERR_NE_TOO_LARGE;
    if (len > 0 && data == NULL)
        return APDU_ERR_NULL_DATA;
    if (!sw1_valid((uint8_t)(sw >> 8)))
        return APDU_ERR_BAD_SW;
    if (cap < 2 || len > cap - 2)
        return APDU_ERR_BUFFER_TOO_SMALL;
    if (len > 0)
        memmove(out, data, len);
    out[len] = (uint8_t)(sw >> 8);
    out[len + 1] = (uint8_t)sw;
    *out_len = len + 2;
    return APDU_OK;
}

/* Status words with one fixed meaning (§5.6 Tables 5 and 6). */
struct sw_text {
    uint16_t sw;
    const char *text;
};

static const struct sw_text sw_exact[] = {
    {0x9000, "9000: normal processing, no further qualification"},
    {0x6200, "6200: warning, no information given (non-volatile memory unchanged)"},
    {0x6281, "6281: warning, part of returned data may be corrupted"},
    {0x6282, "6282: warning, end of file or record reached before reading Ne bytes"},
    {0x6283, "6283: warning, selected file deactivated"},
    {0x6284, "6284: warning, file control information not formatted according to 5.3.3"},
    {0x6285, "6285: warning, selected file in termination state"},
    {0x6286, "6286: warning, no input data available from a sensor on the card"},
    {0x6300, "6300: warning, no information given (non-volatile memory changed)"},
    {0x6381, "6381: warning, file filled up by the last write"},
    {0x6400, "6400: execution error, non-volatile memory unchanged"},
    {0x6401, "6401: execution error, immediate response required by the card"},
    {0x6500, "6500: execution error, no information given (non-volatile memory changed)"},
    {0x6581, "6581: execution error, memory failure"},
    {0x6600, "6600: security-related issue"},
    {0x6700, "6700: wrong length, no further indication"},
    {0x6800, "6800: function in CLA not supported, no information given"},
    {0x6881, "6881: logical channel not supported"},
    {0x6882, "6882: secure messaging not supported"},
    {0x6883, "6883: last command of the chain expected"},
    {0x6884, "6884: command chaining not supported"},
    {0x6900, "6900: command not allowed, no information given"},
    {0x6981, "6981: command incompatible with file structure"},
    {0x6982, "6982: security status not satisfied"},
    {0x6983, "6983: authentication method blocked"},
    {0x6984, "6984: reference data not usable"},
    {0x6985, "6985: conditions of use not satisfied"},
    {0x6986, "6986: command not allowed (no current EF)"},
    {0x6987, "6987: expected secure messaging data objects missing"},
    {0x6988, "6988: incorrect secure messaging data objects"},
    {0x6A00, "6A00: wrong parameters P1-P2, no information given"},
    {0x6A80, "6A80: incorrect parameters in the command data field"},
    {0x6A81, "6A81: function not supported"},
    {0x6A82, "6A82: file or application not found"},
    {0x6A83, "6A83: record not found"},
    {0x6A84, "6A84: not enough memory space in the file"},
    {0x6A85, "6A85: Nc inconsistent with TLV structure"},
    {0x6A86, "6A86: incorrect parameters P1-P2"},
    {0x6A87, "6A87: Nc inconsistent with parameters P1-P2"},
    {0x6A88, "6A88: referenced data or reference data not found"},
    {0x6A89, "6A89: file already exists"},
    {0x6A8A, "6A8A: DF name already exists"},
    {0x6B00, "6B00: wrong parameters P1-P2"},
    {0x6D00, "6D00: instruction code not supported or invalid"},
    {0x6E00, "6E00: class not supported"},
    {0x6F00, "6F00: no precise diagnosis"},
};

const char *sw_str(uint16_t sw)
{
    uint8_t sw1 = (uint8_t)(sw >> 8), sw2 = (uint8_t)sw;

    for (size_t i = 0; i < sizeof sw_exact / sizeof sw_exact[0]; i++)
        if (sw_exact[i].sw == sw)
            return sw_exact[i].text;
    if (sw1 == 0x61)
        return "61XX: normal processing, SW2 response bytes still available";
    if (sw1 == 0x6C)
        return "6CXX: wrong Le field, SW2 encodes the exact number of available bytes";
    if (sw1 == 0x63 && (sw2 & 0xF0) == 0xC0)
        return "63CX: warning, counter X (e.g. verification failed, X tries left)";
    if ((sw1 == 0x62 || sw1 == 0x64) && sw2 >= 0x02 && sw2 <= 0x80)
        return sw1 == 0x62 ? "62XX: warning, triggering by the card"
                           : "64XX: execution error, triggering by the card";
    switch (sw1) {
    case 0x62: return "62XX: warning, non-volatile memory unchanged";
    case 0x63: return "63XX: warning, non-volatile memory changed";
    case 0x64: return "64XX: execution error, non-volatile memory unchanged";
    case 0x65: return "65XX: execution error, non-volatile memory changed";
    case 0x66: return "66XX: security-related issue";
    case 0x67: return "67XX: wrong length";
    case 0x68: return "68XX: function in CLA not supported";
    case 0x69: return "69XX: command not allowed";
    case 0x6A: return "6AXX: wrong parameters P1-P2";
    case 0x6B: return "6BXX: wrong parameters P1-P2";
    case 0x6D: return "6DXX: instruction code not supported or invalid";
    case 0x6E: return "6EXX: class not supported";
    case 0x6F: return "6FXX: no precise diagnosis";
    default: break;
    }
    if (sw1 >= 0x90 && sw1 <= 0x9F)
        return "9XXX: proprietary status";
    return "invalid status word (SW1 neither 6X nor 9X)";
}

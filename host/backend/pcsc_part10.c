#include "pcsc_part10.h"

#include <string.h>

const char *pcsc10_err_str(enum pcsc10_err e)
{
    switch (e) {
    case PCSC10_OK: return "PCSC10_OK";
    case PCSC10_ERR_TRUNCATED: return "PCSC10_ERR_TRUNCATED";
    case PCSC10_ERR_LENGTH: return "PCSC10_ERR_LENGTH";
    case PCSC10_ERR_BUFFER: return "PCSC10_ERR_BUFFER";
    }
    return "PCSC10_ERR_UNKNOWN";
}

enum pcsc10_err pcsc10_features_parse(const uint8_t *p, size_t n, struct pcsc10_features *f)
{
    memset(f, 0, sizeof *f);
    for (size_t i = 0; i < n;) {
        if (n - i < 2)
            return PCSC10_ERR_TRUNCATED;
        uint8_t tag = p[i], len = p[i + 1];
        if (len != 4)
            return PCSC10_ERR_LENGTH;
        if (n - i - 2 < 4)
            return PCSC10_ERR_TRUNCATED;
        const uint8_t *v = p + i + 2;
        uint32_t code = (uint32_t)v[0] << 24 | (uint32_t)v[1] << 16 | (uint32_t)v[2] << 8 | v[3];
        if (tag < PCSC10_MAX_FEATURE && !f->code[tag])
            f->code[tag] = code;
        i += 6;
    }
    return PCSC10_OK;
}

static uint32_t le(const uint8_t *v, size_t n)
{
    uint32_t x = 0;
    for (size_t i = n; i > 0; i--)
        x = x << 8 | v[i - 1];
    return x;
}

enum pcsc10_err pcsc10_properties_parse(const uint8_t *p, size_t n, struct pcsc10_properties *o)
{
    memset(o, 0, sizeof *o);
    bool have_vendor = false, have_product = false;
    for (size_t i = 0; i < n;) {
        if (n - i < 2)
            return PCSC10_ERR_TRUNCATED;
        uint8_t tag = p[i], len = p[i + 1];
        if (n - i - 2 < len)
            return PCSC10_ERR_TRUNCATED;
        const uint8_t *v = p + i + 2;
        switch (tag) {
        case PCSC10_PROP_DWMAX_APDU_DATASIZE:
            if (len != 4)
                return PCSC10_ERR_LENGTH;
            o->has_max_apdu = true;
            o->max_apdu_data = le(v, 4);
            break;
        case PCSC10_PROP_WID_VENDOR:
        case PCSC10_PROP_WID_PRODUCT:
            if (len != 2)
                return PCSC10_ERR_LENGTH;
            if (tag == PCSC10_PROP_WID_VENDOR) {
                o->vendor = (uint16_t)le(v, 2);
                have_vendor = true;
            } else {
                o->product = (uint16_t)le(v, 2);
                have_product = true;
            }
            break;
        case PCSC10_PROP_SFIRMWARE_ID: {
            size_t k = len < sizeof o->firmware - 1 ? len : sizeof o->firmware - 1;
            for (size_t j = 0; j < k; j++)
                o->firmware[j] = v[j] >= 0x20 && v[j] < 0x7F ? (char)v[j] : '?';
            o->firmware[k] = '\0';
            break;
        }
        default: break; /* display, PIN and other properties: not ours to use */
        }
        i += 2 + (size_t)len;
    }
    o->has_ids = have_vendor && have_product;
    return PCSC10_OK;
}

enum pcsc10_err pcsc10_pace_establish_cmd(uint8_t pin_id, const uint8_t *pin, size_t pin_len,
                                          uint8_t *out, size_t cap, size_t *n)
{
    /* bIndex, wLengthInputData, then bPinID, bLengthCHAT (0), bLengthPIN, PIN,
     * wLengthCertificateDescription (0). */
    size_t input = 1 + 1 + 1 + pin_len + 2;
    *n = 0;
    if (pin_len > 0xFF || (pin_len && !pin))
        return PCSC10_ERR_LENGTH;
    if (cap < 3 + input)
        return PCSC10_ERR_BUFFER;
    size_t k = 0;
    out[k++] = PCSC10_PACE_ESTABLISH;
    out[k++] = (uint8_t)input;
    out[k++] = (uint8_t)(input >> 8);
    out[k++] = pin_id;
    out[k++] = 0;
    out[k++] = (uint8_t)pin_len;
    if (pin_len)
        memcpy(out + k, pin, pin_len);
    k += pin_len;
    out[k++] = 0;
    out[k++] = 0;
    *n = k;
    return PCSC10_OK;
}

enum pcsc10_err pcsc10_pace_answer(const uint8_t *p, size_t n, uint32_t *result,
                                   const uint8_t **out, size_t *out_len)
{
    *result = 0;
    *out = NULL;
    *out_len = 0;
    if (n < 6)
        return PCSC10_ERR_TRUNCATED;
    *result = le(p, 4);
    size_t len = le(p + 4, 2);
    if (n - 6 < len)
        return PCSC10_ERR_TRUNCATED;
    if (n - 6 > len)
        return PCSC10_ERR_LENGTH;
    *out = len ? p + 6 : NULL;
    *out_len = len;
    return PCSC10_OK;
}

enum pcsc10_err pcsc10_pace_output_parse(const uint8_t *p, size_t n, struct pcsc10_pace_output *o)
{
    memset(o, 0, sizeof *o);
    size_t i = 0;
    if (n < 4)
        return PCSC10_ERR_TRUNCATED;
    o->mse_sw = (uint16_t)(p[0] << 8 | p[1]);
    size_t len = le(p + 2, 2);
    i = 4;
    if (n - i < len)
        return PCSC10_ERR_TRUNCATED;
    o->ef_cardaccess = len ? p + i : NULL;
    o->ef_cardaccess_len = len;
    i += len;
    /* CARcurr and CARprev (Terminal Authentication's, unused for an eMRTD inspection). */
    for (int car = 0; car < 2; car++) {
        if (n - i < 1)
            return PCSC10_ERR_TRUNCATED;
        len = p[i++];
        if (n - i < len)
            return PCSC10_ERR_TRUNCATED;
        i += len;
    }
    if (n - i < 2)
        return PCSC10_ERR_TRUNCATED;
    len = le(p + i, 2);
    i += 2;
    if (n - i < len)
        return PCSC10_ERR_TRUNCATED;
    o->id_icc = len ? p + i : NULL;
    o->id_icc_len = len;
    i += len;
    return i == n ? PCSC10_OK : PCSC10_ERR_LENGTH;
}

const char *pcsc10_pace_result_str(uint32_t r)
{
    switch (r) {
    case 0x00000000: return "no error";
    case 0xD0000001: return "inconsistent lengths in the input";
    case 0xD0000002: return "unexpected data in the input";
    case 0xD0000003: return "unexpected combination of data in the input";
    case 0xE0000001: return "syntax error in the card's TLV response";
    case 0xE0000002: return "unexpected or missing object in the card's response";
    case 0xE0000003: return "unknown password ID";
    case 0xE0000006: return "wrong authentication token";
    case 0xE000000A: return "incorrect token from the card";
    case 0xF0100001: return "communication abort";
    case 0xF0100002: return "no card";
    case 0xF0200001: return "cancelled on the reader";
    case 0xF0200002: return "timeout on the reader's keypad";
    default: break;
    }
    switch (r & 0xFFFF0000u) {
    case 0xF0000000: return "the card refused MSE:Set AT";
    case 0xF0010000: return "the card refused General Authenticate 1";
    case 0xF0020000: return "the card refused General Authenticate 2";
    case 0xF0030000: return "the card refused General Authenticate 3";
    case 0xF0040000: return "the card refused General Authenticate 4 (mutual authentication)";
    default: return "unknown";
    }
}

/* PC/SC Part 3 3.1.3.2.3: the ATR of a contactless card, built and decoded. */
#include <string.h>

#include "hawiya/pcsc_atr.h"

static const uint8_t pcsc_rid[5] = {0xA0, 0x00, 0x00, 0x03, 0x06};

const char *pcsc_atr_err_str(enum pcsc_atr_err e)
{
    switch (e) {
    case PCSC_ATR_OK: return "PCSC_ATR_OK";
    case PCSC_ATR_ERR_BUF: return "PCSC_ATR_ERR_BUF";
    case PCSC_ATR_ERR_NOT_PCSC: return "PCSC_ATR_ERR_NOT_PCSC";
    case PCSC_ATR_ERR_TCK: return "PCSC_ATR_ERR_TCK";
    }
    return "PCSC_ATR_ERR_UNKNOWN";
}

static enum pcsc_atr_err build(const uint8_t *hist, size_t k, uint8_t *out, size_t cap,
                               size_t *out_len)
{
    *out_len = 0;
    if (k > PCSC_ATR_HIST_MAX)
        k = PCSC_ATR_HIST_MAX;
    if (cap < 5 + k)
        return PCSC_ATR_ERR_BUF;
    out[0] = 0x3B;
    out[1] = (uint8_t)(0x80 | k);
    out[2] = 0x80;
    out[3] = 0x01;
    if (k > 0)
        memcpy(out + 4, hist, k);
    uint8_t tck = 0;
    for (size_t i = 1; i < 4 + k; i++)
        tck ^= out[i];
    out[4 + k] = tck;
    *out_len = 5 + k;
    return PCSC_ATR_OK;
}

enum pcsc_atr_err pcsc_atr_from_ats(const uint8_t *hist, size_t hist_len, uint8_t *out, size_t cap,
                                    size_t *out_len)
{
    return build(hist, hist_len, out, cap, out_len);
}

enum pcsc_atr_err pcsc_atr_from_atqb(const uint8_t app_data[4], const uint8_t proto[3],
                                     uint8_t mbli, uint8_t *out, size_t cap, size_t *out_len)
{
    uint8_t h[8];
    memcpy(h, app_data, 4);
    memcpy(h + 4, proto, 3);
    h[7] = (uint8_t)(mbli << 4);
    return build(h, sizeof h, out, cap, out_len);
}

/* 7816-4 8.1.1: the category indicators a card's historical bytes start with. */
static bool category_indicator(uint8_t b)
{
    return b == 0x00 || b == 0x10 || (b & 0xF0) == 0x80;
}

enum pcsc_atr_err pcsc_atr_decode(const uint8_t *atr, size_t len, struct pcsc_atr_info *info)
{
    memset(info, 0, sizeof *info);
    if (len < 5 || atr[0] != 0x3B || (atr[1] & 0xF0) != 0x80 || atr[2] != 0x80 || atr[3] != 0x01 ||
        len != 5u + (atr[1] & 0x0Fu))
        return PCSC_ATR_ERR_NOT_PCSC;
    uint8_t x = 0;
    for (size_t i = 1; i < len; i++)
        x ^= atr[i];
    if (x != 0)
        return PCSC_ATR_ERR_TCK;
    const uint8_t *h = atr + 4;
    size_t k = len - 5;
    info->hist = h;
    info->hist_len = k;
    if (k == 15 && h[0] == 0x80 && h[1] == 0x4F && h[2] == 0x0C && !memcmp(h + 3, pcsc_rid, 5)) {
        info->kind = PCSC_ATR_STORAGE;
        info->standard = h[8];
        info->card_name = (uint16_t)(h[9] << 8 | h[10]);
        return PCSC_ATR_OK;
    }
    info->kind = PCSC_ATR_TYPE_A;
    if (k == 8 && !category_indicator(h[0]) && (h[7] & 0x0F) == 0) {
        uint8_t q[12] = {ISO14443B_ATQB, 0, 0, 0, 0};
        memcpy(q + 5, h, 7);
        if (iso14443b_atqb_parse(q, sizeof q, &info->atqb) == ISO14443_OK) {
            info->kind = PCSC_ATR_TYPE_B;
            info->mbli = h[7] >> 4;
        }
    }
    return PCSC_ATR_OK;
}

/* APDU sizes from the card's own indications, ISO/IEC 7816-4 8.1.1.2.7 and 12.7.1. */
#include "hawiya/card_caps.h"

#include <string.h>

#include "hawiya/tlv.h"

/* 7816-4 8.1.1.2.7 Table 118: third software function table, b7. */
#define CAPS_EXTENDED 0x40u
/* Under short secure messaging a response holds at most 223 plain bytes
 * (224 after AES padding, within 256 with DO'87' / '99' / '8E'). */
#define SM_SHORT_MAX 223u

static const size_t ladder[] = {256, 224, 160};

const char *card_caps_err_str(enum card_caps_err e)
{
    switch (e) {
    case CARD_CAPS_OK: return "CARD_CAPS_OK";
    case CARD_CAPS_ERR_ABSENT: return "CARD_CAPS_ERR_ABSENT";
    case CARD_CAPS_ERR_FORMAT: return "CARD_CAPS_ERR_FORMAT";
    }
    return "CARD_CAPS_ERR_UNKNOWN";
}

void card_caps_from_hist(const struct atr_hist *h, struct card_caps *c)
{
    memset(c, 0, sizeof *c);
    if (h && h->caps_len >= 3) {
        c->known = true;
        c->extended = h->extended_lc_le;
    }
}

/* An unsigned INTEGER (BER, 1..4 bytes of value). */
static bool integer(const struct tlv *t, size_t *v)
{
    if (t->tag != 0x02 || t->len < 1 || t->len > 4)
        return false;
    *v = 0;
    for (size_t i = 0; i < t->len; i++)
        *v = *v << 8 | t->value[i];
    return true;
}

enum card_caps_err card_caps_from_atr_info(const uint8_t *ef, size_t n, struct card_caps *c)
{
    struct tlv t;
    bool any = false;
    if (tlv_find(ef, n, 0x47, &t) == TLV_OK) {
        if (t.len < 3)
            return CARD_CAPS_ERR_FORMAT;
        c->known = any = true;
        c->extended = (t.value[2] & CAPS_EXTENDED) != 0;
    }
    if (tlv_find(ef, n, 0x7F66, &t) == TLV_OK) {
        struct tlv a, b;
        size_t cmd, resp;
        if (tlv_parse(t.value, t.len, 0, &a) != TLV_OK || !integer(&a, &cmd) ||
            tlv_parse(t.value + a.hdr_len + a.len, t.len - a.hdr_len - a.len, 0, &b) != TLV_OK ||
            !integer(&b, &resp) || cmd < 5 || resp < 2)
            return CARD_CAPS_ERR_FORMAT;
        c->known = any = true;
        c->max_command = cmd;
        c->max_response = resp;
        /* sizes beyond a short APDU's are only reachable with extended lengths */
        if (cmd > 261 || resp > CARD_CAPS_SHORT_RESPONSE)
            c->extended = true;
    }
    return any ? CARD_CAPS_OK : CARD_CAPS_ERR_ABSENT;
}

size_t card_caps_sm_response(size_t le)
{
    size_t padded = (le / 16 + 1) * 16;
    size_t v = 1 + padded; /* padding indicator and cryptogram */
    /* BER length: 1 byte below 80, then 81 xx, 82 xx xx, 83 xx xx xx (a
     * 65536-byte read makes 65553 bytes of DO'87' value) */
    size_t do87 = 1 + (v < 0x80 ? 1 : v < 0x100 ? 2 : v < 0x10000 ? 3 : 4) + v;
    return do87 + 4 + 10 + 2;
}

static size_t response_bytes(size_t le, bool sm)
{
    return sm ? card_caps_sm_response(le) : le + 2;
}

size_t card_caps_read_le(const struct card_caps *c, bool extended, bool sm, size_t link_max)
{
    size_t room = c->max_response ? c->max_response : CARD_CAPS_SHORT_RESPONSE;
    if (extended && c->extended) {
        size_t le = link_max ? link_max : 65536;
        if (c->max_response)
            while (le > 1 && response_bytes(le, sm) > room)
                le -= le > 256 ? 256 : 1;
        return le;
    }
    if (room > CARD_CAPS_SHORT_RESPONSE)
        room = CARD_CAPS_SHORT_RESPONSE;
    for (size_t i = 0; i < sizeof ladder / sizeof ladder[0]; i++) {
        size_t le = sm && ladder[i] > SM_SHORT_MAX ? SM_SHORT_MAX : ladder[i];
        if (response_bytes(le, sm) <= room)
            return le;
    }
    size_t le = ladder[sizeof ladder / sizeof ladder[0] - 1];
    while (le > 1 && response_bytes(le, sm) > room)
        le--;
    return le;
}

size_t card_caps_next_le(size_t le)
{
    for (size_t i = 0; i < sizeof ladder / sizeof ladder[0]; i++)
        if (ladder[i] < le)
            return ladder[i];
    return le > 1 ? le / 2 : 0;
}

#include "vpcd.h"

#include <string.h>

const char *vpcd_err_str(enum vpcd_err e)
{
    switch (e) {
    case VPCD_OK: return "VPCD_OK";
    case VPCD_ERR_NEED_MORE: return "VPCD_ERR_NEED_MORE";
    case VPCD_ERR_EMPTY: return "VPCD_ERR_EMPTY";
    case VPCD_ERR_CONTROL: return "VPCD_ERR_CONTROL";
    case VPCD_ERR_CARD: return "VPCD_ERR_CARD";
    case VPCD_ERR_BUFFER: return "VPCD_ERR_BUFFER";
    }
    return "VPCD_ERR_UNKNOWN";
}

enum vpcd_err vpcd_frame(const uint8_t *buf, size_t len, size_t *msg_len)
{
    *msg_len = 0;
    if (len < VPCD_HEADER)
        return VPCD_ERR_NEED_MORE;
    size_t n = (size_t)buf[0] << 8 | buf[1];
    *msg_len = VPCD_HEADER + n;
    if (n == 0)
        return VPCD_ERR_EMPTY;
    return len < *msg_len ? VPCD_ERR_NEED_MORE : VPCD_OK;
}

static enum vpcd_err answer(const uint8_t *p, size_t n, uint8_t *out, size_t cap, size_t *out_len)
{
    if (n > VPCD_MAX_PAYLOAD || cap < VPCD_HEADER + n)
        return VPCD_ERR_BUFFER;
    out[0] = (uint8_t)(n >> 8);
    out[1] = (uint8_t)n;
    if (p != out + VPCD_HEADER)
        memmove(out + VPCD_HEADER, p, n);
    *out_len = VPCD_HEADER + n;
    return VPCD_OK;
}

enum vpcd_err vpcd_handle(struct vpcd_card *c, const uint8_t *msg, size_t n, uint8_t *out,
                          size_t cap, size_t *out_len)
{
    *out_len = 0;
    if (n == 0)
        return VPCD_ERR_EMPTY;
    if (n == 1) {
        c->controls++;
        switch (msg[0]) {
        case VPCD_CTRL_OFF:
            /* The card's volatile state goes with its power (7816-3 §6.4). */
            vcard_reset(c->card);
            c->powered = false;
            return VPCD_OK;
        case VPCD_CTRL_ON:
        case VPCD_CTRL_RESET:
            vcard_reset(c->card);
            c->powered = true;
            return VPCD_OK;
        case VPCD_CTRL_ATR: return answer(c->persona->atr, c->persona->atr_len, out, cap, out_len);
        default: return VPCD_ERR_CONTROL;
        }
    }
    /* A command APDU. The driver waits for an answer whatever the power
     * state, so the card answers every command it is given. */
    if (cap < VPCD_HEADER + 2)
        return VPCD_ERR_BUFFER;
    size_t rlen = 0;
    size_t room = cap - VPCD_HEADER;
    if (room > VPCD_MAX_PAYLOAD)
        room = VPCD_MAX_PAYLOAD;
    if (vcard_apdu(c->card, msg, n, out + VPCD_HEADER, room, &rlen, NULL) != VCARD_OK)
        return VPCD_ERR_CARD;
    c->apdus++;
    return answer(out + VPCD_HEADER, rlen, out, cap, out_len);
}

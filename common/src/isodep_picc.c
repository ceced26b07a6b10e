/* ISO/IEC 14443-4 block protocol, PICC role: 7.5.3 rules C-E, 7.5.4 rules 1-3, 9-13. */
#include <string.h>

#include "hawiya/isodep.h"

static void act_clear(struct isodep_action *act)
{
    memset(act, 0, sizeof *act);
}

static enum isodep_err act_error(struct isodep_action *act, enum isodep_err e)
{
    act_clear(act);
    act->kind = ISODEP_ACT_ERROR;
    act->err = e;
    return e;
}

static enum isodep_err send_block(struct isodep_picc *c, struct isodep_action *act, uint8_t pcb,
                                  uint8_t nad, const uint8_t *inf, size_t len)
{
    enum isodep_err e =
        isodep_block_encode(c->tx, sizeof c->tx, pcb, c->cfg.cid, nad, inf, len, &c->tx_len);
    if (e != ISODEP_OK)
        return act_error(act, e);
    act_clear(act);
    act->kind = ISODEP_ACT_SEND;
    act->block = c->tx;
    act->block_len = c->tx_len;
    return ISODEP_OK;
}

/* 7.1.1.3: the NAD of the answer swaps the command's source and destination. */
static uint8_t nad_reply(uint8_t nad)
{
    return (uint8_t)((nad & 0x07u) << 4 | (nad >> 4 & 0x07u));
}

static size_t inf_max(const struct isodep_picc *c, bool nad)
{
    size_t fs = c->cfg.fsc < ISODEP_FRAME_MAX ? c->cfg.fsc : ISODEP_FRAME_MAX;
    return fs - ISO14443_CRC_LEN - 1 - (c->cid_reply ? 1u : 0u) - (nad ? 1u : 0u);
}

/* The response part at off with the current block number. */
static enum isodep_err send_i(struct isodep_picc *c, struct isodep_action *act)
{
    bool nad = c->nad_reply && c->off == 0;
    /* The part is cut to the frame at the time it is sent: a PCD that adds a
     * CID to its blocks in the middle of our chain (rule 11 resends, 7.1.1.2
     * answers with a CID) leaves one byte less for the INF; the rest goes in
     * the next block. */
    size_t max = inf_max(c, nad);
    if (c->chunk > max)
        c->chunk = max;
    bool more = c->rlen - c->off > c->chunk;
    enum isodep_err e = send_block(c, act, isodep_pcb_i(c->bn, more, c->cid_reply, nad),
                                   nad_reply(c->nad), c->rapdu + c->off, c->chunk);
    if (e != ISODEP_OK)
        return e;
    c->have_last = true;
    c->last_is_i = true;
    c->wtxm = 0;
    c->state = more ? ISODEP_PICC_SENDING : ISODEP_PICC_RECEIVING;
    return ISODEP_OK;
}

/* The next part: all that is left, cut by send_i to what the frame holds. */
static enum isodep_err send_next_i(struct isodep_picc *c, struct isodep_action *act)
{
    c->chunk = c->rlen - c->off;
    return send_i(c, act);
}

static enum isodep_err send_ack(struct isodep_picc *c, struct isodep_action *act)
{
    return send_block(c, act, isodep_pcb_r(c->bn, false, c->cid_reply), 0, NULL, 0);
}

static enum isodep_err send_wtx(struct isodep_picc *c, struct isodep_action *act)
{
    return send_block(c, act, isodep_pcb_s(ISODEP_S_WTX, c->cid_reply), 0, &c->wtxm, 1);
}

enum isodep_err isodep_picc_init(struct isodep_picc *c, const struct isodep_config *cfg,
                                 uint8_t *cbuf, size_t ccap)
{
    memset(c, 0, sizeof *c);
    if (cfg->fsc < ISODEP_FRAME_MIN || cfg->fsc > ISO14443_FS_MAX || cfg->cid > 14 ||
        (cbuf == NULL && ccap > 0))
        return ISODEP_ERR_PARAM;
    c->cfg = *cfg;
    c->cbuf = cbuf;
    c->ccap = ccap;
    c->bn = 1; /* rule C */
    c->state = ISODEP_PICC_RECEIVING;
    return ISODEP_OK;
}

/* rule 11: the last block again, as it was */
static enum isodep_err resend_last(struct isodep_picc *c, struct isodep_action *act)
{
    if (!c->have_last) {
        act_clear(act);
        return ISODEP_OK;
    }
    if (c->last_is_i)
        return send_i(c, act);
    if (c->state == ISODEP_PICC_WTX)
        return send_wtx(c, act);
    return send_ack(c, act);
}

static enum isodep_err take_i(struct isodep_picc *c, const struct isodep_block *b,
                              struct isodep_action *act)
{
    if (c->state != ISODEP_PICC_RECEIVING) {
        act_clear(act); /* a PCD sending while we chain: not answered */
        return ISODEP_OK;
    }
    c->bn ^= 1u; /* rule D */
    if (c->clen == 0 && !c->overflow) {
        c->nad_reply = b->has_nad;
        c->nad = b->nad;
    }
    if (b->len > c->ccap - c->clen)
        c->overflow = true;
    if (!c->overflow && b->len > 0) {
        memcpy(c->cbuf + c->clen, b->inf, b->len);
        c->clen += b->len;
    }
    if (b->chaining) {
        enum isodep_err e = send_ack(c, act); /* rule 2 */
        c->have_last = e == ISODEP_OK;
        c->last_is_i = false;
        return e;
    }
    size_t n = c->clen;
    bool over = c->overflow;
    c->clen = 0;
    c->overflow = false;
    c->state = ISODEP_PICC_BUSY;
    if (over)
        return act_error(act, ISODEP_ERR_COMMAND_TOO_LONG);
    act_clear(act);
    act->kind = ISODEP_ACT_DELIVER_APDU;
    act->apdu_len = n;
    return ISODEP_OK;
}

static enum isodep_err take_r(struct isodep_picc *c, const struct isodep_block *b,
                              struct isodep_action *act)
{
    if (b->bn == c->bn)
        return resend_last(c, act); /* rule 11 */
    if (b->nak)
        return send_ack(c, act); /* rule 12 (what the presence check expects) */
    if (c->state == ISODEP_PICC_SENDING) {
        /* rules E and 13 */
        c->bn ^= 1u;
        c->off += c->chunk;
        return send_next_i(c, act);
    }
    act_clear(act);
    return ISODEP_OK;
}

enum isodep_err isodep_picc_step(struct isodep_picc *c, const struct isodep_event *ev,
                                 struct isodep_action *act)
{
    act_clear(act);
    struct isodep_block b;
    /* 7.5.6.2: a damaged or invalid block is not answered. */
    if (ev->kind != ISODEP_EV_BLOCK || c->state == ISODEP_PICC_HALTED ||
        ev->len + ISO14443_CRC_LEN > c->cfg.fsd ||
        isodep_block_decode(ev->data, ev->len, &b) != ISODEP_OK)
        return ISODEP_OK;
    /* 7.1.1.2: a block for another CID, or without CID when ours is not 0,
     * is not for us; nor one with a NAD when we take none. */
    if ((b.has_cid && (!c->cfg.cid_on || b.cid != c->cfg.cid)) || (!b.has_cid && c->cfg.cid != 0) ||
        (b.has_nad && !c->cfg.nad_on))
        return ISODEP_OK;
    /* 7.1.1.2: the PICC answers with a CID when the PCD's block had one. */
    c->cid_reply = b.has_cid;

    if (b.type == ISODEP_BLOCK_S && b.s_type == ISODEP_S_DESELECT) {
        /* 7.3: answered, then the PICC goes to HALT */
        enum isodep_err e =
            send_block(c, act, isodep_pcb_s(ISODEP_S_DESELECT, c->cid_reply), 0, NULL, 0);
        if (e == ISODEP_OK)
            act->kind = ISODEP_ACT_DESELECTED;
        c->state = ISODEP_PICC_HALTED;
        return e;
    }
    switch (c->state) {
    case ISODEP_PICC_BUSY: return ISODEP_OK; /* computing: not listening */
    case ISODEP_PICC_WTX:
        if (b.type == ISODEP_BLOCK_S && b.s_type == ISODEP_S_WTX && b.wtxm == c->wtxm) {
            c->state = ISODEP_PICC_BUSY;
            return ISODEP_OK;
        }
        if (b.type == ISODEP_BLOCK_R && b.bn == c->bn)
            return send_wtx(c, act); /* rule 11: our S(WTX request) again */
        return ISODEP_OK;
    default: break;
    }
    switch (b.type) {
    case ISODEP_BLOCK_I: return take_i(c, &b, act);
    case ISODEP_BLOCK_R: return take_r(c, &b, act);
    case ISODEP_BLOCK_S: break; /* S(WTX response) out of place */
    }
    return ISODEP_OK;
}

enum isodep_err isodep_picc_respond(struct isodep_picc *c, const uint8_t *rapdu, size_t len,
                                    struct isodep_action *act)
{
    if (c->state != ISODEP_PICC_BUSY)
        return act_error(act, ISODEP_ERR_STATE);
    if (rapdu == NULL && len > 0)
        return act_error(act, ISODEP_ERR_PARAM);
    c->rapdu = rapdu;
    c->rlen = len;
    c->off = 0;
    return send_next_i(c, act);
}

enum isodep_err isodep_picc_request_wtx(struct isodep_picc *c, uint8_t wtxm,
                                        struct isodep_action *act)
{
    if (c->state != ISODEP_PICC_BUSY)
        return act_error(act, ISODEP_ERR_STATE);
    if (wtxm < 1 || wtxm > ISODEP_WTXM_MAX)
        return act_error(act, ISODEP_ERR_PARAM);
    c->wtxm = wtxm;
    c->state = ISODEP_PICC_WTX;
    c->have_last = true;
    c->last_is_i = false;
    return send_wtx(c, act);
}

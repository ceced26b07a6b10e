/* T=1 card role, ISO/IEC 7816-3:2006 11.6 (rules 1-7, card side). */
#include <string.h>

#include "hawiya/t1.h"

static void act_clear(struct t1_action *act)
{
    memset(act, 0, sizeof *act);
}

static enum t1_err act_error(struct t1_action *act, enum t1_err e)
{
    act_clear(act);
    act->kind = T1_ACT_ERROR;
    act->err = e;
    return e;
}

static enum t1_err send_block(struct t1_card *c, struct t1_action *act, uint8_t pcb,
                              const uint8_t *inf, size_t len)
{
    enum t1_err e = t1_block_encode(c->tx, sizeof c->tx, t1_nad_reply(c->cfg.nad), pcb, inf, len,
                                    c->cfg.edc, &c->tx_len);
    if (e != T1_OK)
        return act_error(act, e);
    c->last_was_r = (pcb & 0xC0u) == 0x80u;
    c->chain_step = false;
    act_clear(act);
    act->kind = T1_ACT_SEND;
    act->block = c->tx;
    act->block_len = c->tx_len;
    return T1_OK;
}

static enum t1_err send_tx(struct t1_card *c, struct t1_action *act)
{
    act_clear(act);
    act->kind = T1_ACT_SEND;
    act->block = c->tx;
    act->block_len = c->tx_len;
    return T1_OK;
}

static enum t1_err send_r(struct t1_card *c, struct t1_action *act, enum t1_r_err err)
{
    return send_block(c, act, t1_pcb_r(c->nr, err), NULL, 0);
}

/* Valid but unexpected block: repeat our R-block if that is what we sent
 * last (rule 7.2), otherwise say "other error". */
static enum t1_err reject(struct t1_card *c, struct t1_action *act)
{
    if (c->last_was_r)
        return send_tx(c, act);
    return send_r(c, act, T1_R_OTHER);
}

/* The response part at c->off with N(S) = last_i_ns, for the first
 * sending and for every retransmission; never more than the current IFSD,
 * which the IFD may have lowered in between (rule 4). */
static enum t1_err send_i(struct t1_card *c, struct t1_action *act)
{
    size_t left = c->rlen - c->off;
    if (c->chunk > c->ifsd)
        c->chunk = c->ifsd;
    bool more = left > c->chunk;
    enum t1_err e = send_block(c, act, t1_pcb_i(c->last_i_ns, more), c->rapdu + c->off, c->chunk);
    if (e != T1_OK)
        return e;
    c->have_last_i = true;
    c->chain_step = more || c->off > 0;
    c->state = more ? T1_CARD_SENDING : T1_CARD_RECEIVING;
    return T1_OK;
}

static enum t1_err send_next_i(struct t1_card *c, struct t1_action *act)
{
    size_t left = c->rlen - c->off;
    c->chunk = left < c->ifsd ? left : c->ifsd;
    c->last_i_ns = c->ns;
    c->ns ^= 1u;
    return send_i(c, act);
}

static void reset_link(struct t1_card *c)
{
    c->state = T1_CARD_RECEIVING;
    c->ifsd = T1_IFS_DEFAULT;
    c->ifsc = c->cfg.ifsc >= 1 && c->cfg.ifsc <= T1_INF_MAX ? c->cfg.ifsc : T1_IFS_DEFAULT;
    c->ns = 0;
    c->nr = 0;
    c->clen = 0;
    c->overflow = false;
    c->have_last_i = false;
    c->rapdu = NULL;
    c->rlen = 0;
    c->off = 0;
    c->chunk = 0;
}

enum t1_err t1_card_init(struct t1_card *c, const struct t1_config *cfg, uint8_t *cbuf, size_t ccap)
{
    memset(c, 0, sizeof *c);
    if ((cfg->nad & 0x88u) != 0 || (cfg->edc != T1_EDC_LRC && cfg->edc != T1_EDC_CRC) ||
        (cbuf == NULL && ccap > 0))
        return T1_ERR_PARAM;
    c->cfg = *cfg;
    c->cbuf = cbuf;
    c->ccap = ccap;
    reset_link(c);
    return T1_OK;
}

/* Rule 6: S(RESYNCH request) is honoured in every state. */
static enum t1_err resynch(struct t1_card *c, struct t1_action *act)
{
    reset_link(c);
    enum t1_err e = send_block(c, act, t1_pcb_s(T1_S_RESYNCH, true), NULL, 0);
    act->resynched = true;
    return e;
}

static enum t1_err on_i_block(struct t1_card *c, const struct t1_block *b, struct t1_action *act)
{
    if (c->state != T1_CARD_RECEIVING || b->ns != c->nr)
        return reject(c, act);
    /* The IFD's new I-block acknowledges our last one (rule 2). */
    c->have_last_i = false;
    if (b->len > c->ccap - c->clen)
        c->overflow = true;
    if (!c->overflow && b->len > 0) {
        memcpy(c->cbuf + c->clen, b->inf, b->len);
        c->clen += b->len;
    }
    c->nr ^= 1u;
    if (b->more) {
        enum t1_err e = send_r(c, act, T1_R_OK);
        c->chain_step = e == T1_OK;
        return e;
    }
    size_t n = c->clen;
    bool over = c->overflow;
    c->clen = 0;
    c->overflow = false;
    c->state = T1_CARD_BUSY;
    if (over)
        return act_error(act, T1_ERR_COMMAND_TOO_LONG);
    act_clear(act);
    act->kind = T1_ACT_DELIVER_APDU;
    act->apdu_len = n;
    return T1_OK;
}

static enum t1_err on_r_block(struct t1_card *c, const struct t1_block *b, struct t1_action *act)
{
    if (c->have_last_i && b->nr == c->last_i_ns)
        return send_i(c, act);
    if (c->state == T1_CARD_SENDING) {
        /* rule 5: our chained block was acknowledged */
        c->off += c->chunk;
        return send_next_i(c, act);
    }
    return reject(c, act);
}

static enum t1_err on_s_block(struct t1_card *c, const struct t1_block *b, struct t1_action *act)
{
    if (b->s_response)
        return reject(c, act);
    switch (b->s_type) {
    case T1_S_IFS:
        c->ifsd = b->inf[0];
        return send_block(c, act, t1_pcb_s(T1_S_IFS, true), b->inf, 1);
    case T1_S_ABORT:
        /* Rule 5 chain abortion: drop whatever chain is in progress. */
        c->clen = 0;
        c->overflow = false;
        c->have_last_i = false;
        c->state = T1_CARD_RECEIVING;
        return send_block(c, act, t1_pcb_s(T1_S_ABORT, true), NULL, 0);
    case T1_S_RESYNCH: return resynch(c, act);
    case T1_S_WTX: break; /* only the card asks for more time */
    }
    return reject(c, act);
}

enum t1_err t1_card_step(struct t1_card *c, const struct t1_event *ev, struct t1_action *act)
{
    act_clear(act);
    if (ev->kind == T1_EV_TIMEOUT)
        return T1_OK; /* the card has no waiting time of its own to enforce */

    struct t1_block b;
    enum t1_err de = T1_ERR_RX_PARITY;
    if (ev->kind == T1_EV_BLOCK) {
        de = ev->data == NULL ? T1_ERR_LEN_MISMATCH
                              : t1_block_decode(ev->data, ev->len, c->cfg.edc, &b);
        if (de == T1_OK && b.nad != c->cfg.nad)
            de = T1_ERR_NAD;
    }
    bool ok = de == T1_OK;
    bool is_resynch = ok && b.type == T1_BLOCK_S && b.s_type == T1_S_RESYNCH && !b.s_response;

    if (c->state == T1_CARD_BUSY)
        return is_resynch ? resynch(c, act) : T1_OK; /* computing: not listening */

    if (c->state == T1_CARD_WTX || c->state == T1_CARD_IFS) {
        if (is_resynch)
            return resynch(c, act);
        bool wtx = c->state == T1_CARD_WTX;
        enum t1_s_type want = wtx ? T1_S_WTX : T1_S_IFS;
        if (ok && b.type == T1_BLOCK_S && b.s_type == want && b.s_response &&
            b.inf[0] == (wtx ? c->wtx : c->ifs)) {
            if (!wtx)
                c->ifsc = c->ifs; /* rule 4: the IFD's I-blocks now carry at most this */
            c->state = T1_CARD_BUSY;
            return T1_OK;
        }
        return send_tx(c, act); /* rule 7.3: S(... request) again */
    }

    if (c->state == T1_CARD_ABORT) {
        if (is_resynch)
            return resynch(c, act);
        if (ok && b.type == T1_BLOCK_S && b.s_type == T1_S_ABORT && b.s_response) {
            /* rule 9: the right to send goes back to the IFD, with the
             * N(S) we expect on its next I-block */
            c->state = T1_CARD_RECEIVING;
            return send_r(c, act, T1_R_OK);
        }
        return send_tx(c, act); /* rule 7.3: S(ABORT request) again */
    }

    if (!ok) {
        bool line = de == T1_ERR_EDC || de == T1_ERR_RX_PARITY;
        return send_r(c, act, line ? T1_R_EDC : T1_R_OTHER);
    }
    switch (b.type) {
    case T1_BLOCK_I: return on_i_block(c, &b, act);
    case T1_BLOCK_R: return on_r_block(c, &b, act);
    case T1_BLOCK_S: return on_s_block(c, &b, act);
    }
    return reject(c, act);
}

enum t1_err t1_card_respond(struct t1_card *c, const uint8_t *rapdu, size_t len,
                            struct t1_action *act)
{
    if (c->state != T1_CARD_BUSY)
        return act_error(act, T1_ERR_STATE);
    if (rapdu == NULL && len > 0)
        return act_error(act, T1_ERR_PARAM);
    c->rapdu = rapdu;
    c->rlen = len;
    c->off = 0;
    return send_next_i(c, act);
}

enum t1_err t1_card_request_wtx(struct t1_card *c, uint8_t multiplier, struct t1_action *act)
{
    if (c->state != T1_CARD_BUSY)
        return act_error(act, T1_ERR_STATE);
    if (multiplier == 0)
        return act_error(act, T1_ERR_PARAM);
    c->wtx = multiplier;
    c->state = T1_CARD_WTX;
    return send_block(c, act, t1_pcb_s(T1_S_WTX, false), &multiplier, 1);
}

enum t1_err t1_card_request_ifs(struct t1_card *c, uint8_t ifsc, struct t1_action *act)
{
    if (c->state != T1_CARD_BUSY)
        return act_error(act, T1_ERR_STATE);
    if (ifsc < 1 || ifsc > T1_INF_MAX)
        return act_error(act, T1_ERR_PARAM);
    c->ifs = ifsc;
    c->state = T1_CARD_IFS;
    return send_block(c, act, t1_pcb_s(T1_S_IFS, false), &ifsc, 1);
}

enum t1_err t1_card_abort(struct t1_card *c, struct t1_action *act)
{
    if ((c->state != T1_CARD_SENDING && c->state != T1_CARD_RECEIVING) || !c->chain_step)
        return act_error(act, T1_ERR_STATE);
    if (c->last_was_r) {
        /* the IFD's chain: what we collected of it is dropped */
        c->clen = 0;
        c->overflow = false;
    } else {
        /* our chain: the I-block in tx never leaves */
        c->ns = c->last_i_ns;
        c->have_last_i = false;
    }
    c->state = T1_CARD_ABORT;
    return send_block(c, act, t1_pcb_s(T1_S_ABORT, false), NULL, 0);
}

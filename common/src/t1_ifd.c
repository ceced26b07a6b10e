/* T=1 interface-device role, ISO/IEC 7816-3:2006 11.6 (rules 1-9). */
#include <string.h>

#include "hawiya/t1.h"

static bool cfg_valid(const struct t1_config *cfg)
{
    return cfg->ifsc >= 1 && cfg->ifsc <= T1_INF_MAX && cfg->ifsd >= 1 && cfg->ifsd <= T1_INF_MAX &&
           (cfg->nad & 0x88u) == 0 && (cfg->edc == T1_EDC_LRC || cfg->edc == T1_EDC_CRC);
}

static void act_clear(struct t1_action *act)
{
    memset(act, 0, sizeof *act);
}

static enum t1_err fail(struct t1_ifd *t, struct t1_action *act, enum t1_err e, bool fatal)
{
    act_clear(act);
    act->kind = T1_ACT_ERROR;
    act->err = e;
    act->fatal = fatal;
    t->state = fatal ? T1_IFD_DEAD : T1_IFD_IDLE;
    t->part = NULL;
    t->rbuf = NULL;
    t->need_data = t->window_pending = false;
    return e;
}

/* Puts the block in tx and asks the caller to send it; never fails since
 * every INF built here is at most IFSC <= 254 bytes or one byte. */
static enum t1_err send_block(struct t1_ifd *t, struct t1_action *act, uint8_t pcb,
                              const uint8_t *inf, size_t len, uint32_t wait)
{
    enum t1_err e =
        t1_block_encode(t->tx, sizeof t->tx, t->cfg.nad, pcb, inf, len, t->cfg.edc, &t->tx_len);
    if (e != T1_OK)
        return fail(t, act, e, true);
    t->last_was_r = (pcb & 0xC0u) == 0x80u;
    t->chain_step = false;
    act_clear(act);
    act->kind = T1_ACT_SEND;
    act->block = t->tx;
    act->block_len = t->tx_len;
    act->wait = wait;
    act->cwt = t->cfg.cwt;
    return T1_OK;
}

static enum t1_err resend(struct t1_ifd *t, struct t1_action *act)
{
    act_clear(act);
    act->kind = T1_ACT_SEND;
    act->block = t->tx;
    act->block_len = t->tx_len;
    act->wait = t->cfg.bwt;
    act->cwt = t->cfg.cwt;
    return T1_OK;
}

/* Command bytes after the I-block in flight: unsent ones taken already, the
 * rest of the part, or parts still to come. */
static bool more_after(const struct t1_ifd *t, size_t chunk)
{
    return t->inf_len > chunk || t->part_off < t->part_len || t->part_more;
}

/* The I-block carrying inf[0..chunk) with N(S) = last_ns: for the first
 * sending and every retransmission (rule 7.1: same N(S), same INF). */
static enum t1_err send_i(struct t1_ifd *t, struct t1_action *act)
{
    /* The card may have lowered IFSC since (rule 4): never exceed it. */
    if (t->chunk > t->ifsc)
        t->chunk = t->ifsc;
    bool more = more_after(t, t->chunk);
    enum t1_err e = send_block(t, act, t1_pcb_i(t->last_ns, more), t->inf, t->chunk, t->cfg.bwt);
    if (e == T1_OK)
        t->chain_step = more || t->sent_any;
    t->last_more = more;
    return e;
}

static enum t1_err send_next_i(struct t1_ifd *t, struct t1_action *act)
{
    size_t want = t->ifsc - (t->inf_len < t->ifsc ? t->inf_len : t->ifsc);
    size_t have = t->part_len - t->part_off;
    size_t k = want < have ? want : have;
    if (k) {
        memcpy(t->inf + t->inf_len, t->part + t->part_off, k);
        t->inf_len += k;
        t->part_off += k;
    }
    /* A block's M bit must be known when it leaves: with the part used up
     * and more parts to come, wait for the next one. */
    if (t->part_off == t->part_len && t->part_more) {
        act_clear(act);
        act->kind = T1_ACT_NEED_DATA;
        t->need_data = true;
        return T1_OK;
    }
    t->chunk = t->inf_len < t->ifsc ? t->inf_len : t->ifsc;
    t->last_ns = t->ns;
    t->ns ^= 1u;
    return send_i(t, act);
}

static enum t1_err start_resynch(struct t1_ifd *t, struct t1_action *act)
{
    t->state = T1_IFD_RESYNCH;
    t->resynch_tries = 1;
    return send_block(t, act, t1_pcb_s(T1_S_RESYNCH, false), NULL, 0, t->cfg.bwt);
}

enum t1_err t1_ifd_init(struct t1_ifd *t, const struct t1_config *cfg)
{
    memset(t, 0, sizeof *t);
    if (!cfg_valid(cfg)) {
        t->state = T1_IFD_DEAD;
        return T1_ERR_PARAM;
    }
    t->cfg = *cfg;
    t->ifsc = cfg->ifsc;
    t->state = T1_IFD_IDLE;
    return T1_OK;
}

enum t1_err t1_ifd_ifs_begin(struct t1_ifd *t, struct t1_action *act)
{
    act_clear(act);
    if (t->state != T1_IFD_IDLE) {
        act->kind = T1_ACT_ERROR;
        act->err = T1_ERR_STATE;
        return T1_ERR_STATE;
    }
    t->tries = 0;
    t->state = T1_IFD_IFS;
    return send_block(t, act, t1_pcb_s(T1_S_IFS, false), &t->cfg.ifsd, 1, t->cfg.bwt);
}

static enum t1_err begin(struct t1_ifd *t, const uint8_t *part, size_t len, bool more,
                         uint8_t *rbuf, size_t rcap, bool windowed, struct t1_action *act)
{
    act_clear(act);
    if (t->state != T1_IFD_IDLE) {
        act->kind = T1_ACT_ERROR;
        act->err = T1_ERR_STATE;
        return T1_ERR_STATE;
    }
    if ((part == NULL && len > 0) || (rbuf == NULL && rcap > 0) ||
        (windowed && rcap < t->cfg.ifsd)) {
        act->kind = T1_ACT_ERROR;
        act->err = T1_ERR_PARAM;
        return T1_ERR_PARAM;
    }
    t->part = part;
    t->part_len = len;
    t->part_off = 0;
    t->part_more = more;
    t->inf_len = 0;
    t->sent_any = false;
    t->rbuf = rbuf;
    t->rcap = rcap;
    t->rlen = 0;
    t->windowed = windowed;
    t->need_data = t->window_pending = false;
    t->tries = 0;
    t->state = T1_IFD_SENDING;
    return send_next_i(t, act);
}

enum t1_err t1_ifd_transceive_begin(struct t1_ifd *t, const uint8_t *apdu, size_t len,
                                    uint8_t *rbuf, size_t rcap, struct t1_action *act)
{
    return begin(t, apdu, len, false, rbuf, rcap, false, act);
}

enum t1_err t1_ifd_stream_begin(struct t1_ifd *t, const uint8_t *part, size_t len, bool more,
                                uint8_t *rbuf, size_t rcap, struct t1_action *act)
{
    return begin(t, part, len, more, rbuf, rcap, true, act);
}

enum t1_err t1_ifd_stream_more(struct t1_ifd *t, const uint8_t *part, size_t len, bool more,
                               struct t1_action *act)
{
    act_clear(act);
    if (!t->need_data || t->state != T1_IFD_SENDING || (part == NULL && len > 0)) {
        act->kind = T1_ACT_ERROR;
        act->err = t->need_data ? T1_ERR_PARAM : T1_ERR_STATE;
        return act->err;
    }
    t->need_data = false;
    t->part = part;
    t->part_len = len;
    t->part_off = 0;
    t->part_more = more;
    return send_next_i(t, act);
}

enum t1_err t1_ifd_window_next(struct t1_ifd *t, struct t1_action *act)
{
    act_clear(act);
    if (!t->window_pending || t->state != T1_IFD_RECEIVING) {
        act->kind = T1_ACT_ERROR;
        act->err = T1_ERR_STATE;
        return T1_ERR_STATE;
    }
    t->window_pending = false;
    t->rlen = 0;
    enum t1_err e = send_block(t, act, t1_pcb_r(t->nr, T1_R_OK), NULL, 0, t->cfg.bwt);
    t->chain_step = e == T1_OK;
    return e;
}

/* Rule 7: something went wrong (bad block, timeout, or a valid block that
 * makes no sense here). rerr is the R-block error indication to use when a
 * fresh R-block is sent; resend_r asks to repeat the last R-block instead. */
static enum t1_err recover(struct t1_ifd *t, struct t1_action *act, enum t1_r_err rerr,
                           bool resend_r)
{
    if (t->tries >= T1_MAX_TRIES)
        return start_resynch(t, act);
    t->tries++;
    if (t->state == T1_IFD_IFS || t->state == T1_IFD_ABORT) /* rule 7.3: S(... request) again */
        return resend(t, act);
    if (resend_r && t->last_was_r)
        return resend(t, act);
    return send_block(t, act, t1_pcb_r(t->nr, rerr), NULL, 0, t->cfg.bwt);
}

static enum t1_err resynch_step(struct t1_ifd *t, const struct t1_block *b, bool ok,
                                struct t1_action *act)
{
    if (ok && b->type == T1_BLOCK_S && b->s_type == T1_S_RESYNCH && b->s_response) {
        /* rule 6.3: N(S) back to 0 on both sides, IFSC/IFSD to initial values */
        t->ns = 0;
        t->nr = 0;
        t->ifsc = t->cfg.ifsc;
        t->tries = 0;
        return fail(t, act, T1_ERR_RESYNCHED, false);
    }
    if (t->resynch_tries >= T1_MAX_TRIES)
        return fail(t, act, T1_ERR_RESYNCH_FAILED, true);
    t->resynch_tries++;
    return resend(t, act);
}

static enum t1_err on_i_block(struct t1_ifd *t, const struct t1_block *b, struct t1_action *act)
{
    bool chaining_out = t->state == T1_IFD_SENDING && t->last_more;
    /* While we chain, the card must acknowledge with R-blocks (rule 5). */
    if (chaining_out || b->ns != t->nr)
        return recover(t, act, T1_R_OTHER, true);
    if (b->len > t->rcap - t->rlen)
        return fail(t, act, T1_ERR_RESPONSE_TOO_LONG, true);
    if (b->len > 0)
        memcpy(t->rbuf + t->rlen, b->inf, b->len);
    t->rlen += b->len;
    t->nr ^= 1u;
    t->tries = 0;
    if (b->more) {
        t->state = T1_IFD_RECEIVING;
        if (t->windowed && t->rcap - t->rlen < t->cfg.ifsd) {
            /* The card's next block may not fit: the caller takes the window first. */
            act_clear(act);
            act->kind = T1_ACT_WINDOW;
            act->apdu_len = t->rlen;
            t->window_pending = true;
            t->chain_step = true; /* the acknowledgement it stands for is a chain step */
            return T1_OK;
        }
        enum t1_err e = send_block(t, act, t1_pcb_r(t->nr, T1_R_OK), NULL, 0, t->cfg.bwt);
        t->chain_step = e == T1_OK;
        return e;
    }
    act_clear(act);
    act->kind = T1_ACT_DONE;
    act->apdu_len = t->rlen;
    t->state = T1_IFD_IDLE;
    t->part = NULL;
    t->rbuf = NULL;
    return T1_OK;
}

static enum t1_err on_r_block(struct t1_ifd *t, const struct t1_block *b, struct t1_action *act)
{
    if (t->state != T1_IFD_SENDING)
        return recover(t, act, T1_R_OTHER, true);
    if (b->nr == t->last_ns) {
        /* rule 7.1/7.2: the card asks for our last I-block again */
        if (t->tries >= T1_MAX_TRIES)
            return start_resynch(t, act);
        t->tries++;
        return send_i(t, act);
    }
    if (t->last_more) {
        /* rule 5: chain acknowledged, next part */
        t->inf_len -= t->chunk;
        memmove(t->inf, t->inf + t->chunk, t->inf_len);
        t->sent_any = true;
        t->tries = 0;
        return send_next_i(t, act);
    }
    return recover(t, act, T1_R_OTHER, true);
}

static enum t1_err on_s_block(struct t1_ifd *t, const struct t1_block *b, struct t1_action *act)
{
    if (b->s_response) {
        if (t->state == T1_IFD_IFS && b->s_type == T1_S_IFS && b->inf[0] == t->cfg.ifsd) {
            act_clear(act);
            act->kind = T1_ACT_DONE;
            t->state = T1_IFD_IDLE;
            t->tries = 0;
            return T1_OK;
        }
        return recover(t, act, T1_R_OTHER, true);
    }
    if (t->state != T1_IFD_SENDING && t->state != T1_IFD_RECEIVING)
        return recover(t, act, T1_R_OTHER, true);
    switch (b->s_type) {
    case T1_S_WTX: {
        /* rule 3: the extension holds for the next block only */
        uint8_t m = b->inf[0];
        uint64_t w = (uint64_t)t->cfg.bwt * m;
        enum t1_err e = send_block(t, act, t1_pcb_s(T1_S_WTX, true), &m, 1,
                                   w > UINT32_MAX ? UINT32_MAX : (uint32_t)w);
        act->wtx = m;
        return e;
    }
    case T1_S_IFS:
        /* rule 4: from now on our I-blocks carry at most this many bytes */
        t->ifsc = b->inf[0];
        return send_block(t, act, t1_pcb_s(T1_S_IFS, true), b->inf, 1, t->cfg.bwt);
    case T1_S_ABORT:
        /* rule 9: the card abandons the chain; what it sends next gives
         * back the right to send */
        t->state = T1_IFD_ABORTED;
        t->tries = 0;
        return send_block(t, act, t1_pcb_s(T1_S_ABORT, true), NULL, 0, t->cfg.bwt);
    case T1_S_RESYNCH: /* only the IFD may ask for resynchronisation (rule 6.1) */ break;
    }
    return recover(t, act, T1_R_OTHER, true);
}

/* After our S(ABORT response) (rule 9): the card's R-block gives back the
 * right to send, and its N(R) is the N(S) it expects on our next I-block.
 * The card asking again, by S(ABORT request) or by an R-block with error
 * bits, did not get our response: it goes out again. */
static enum t1_err aborted_step(struct t1_ifd *t, const struct t1_block *b, struct t1_action *act)
{
    if (b->type == T1_BLOCK_R && b->r_err == T1_R_OK) {
        t->ns = b->nr;
        t->tries = 0;
        return fail(t, act, T1_ERR_ABORTED, false);
    }
    bool again = b->type == T1_BLOCK_R ||
                 (b->type == T1_BLOCK_S && b->s_type == T1_S_ABORT && !b->s_response);
    if (!again)
        return recover(t, act, T1_R_OTHER, true);
    if (t->tries >= T1_MAX_TRIES)
        return start_resynch(t, act);
    t->tries++;
    return send_block(t, act, t1_pcb_s(T1_S_ABORT, true), NULL, 0, t->cfg.bwt);
}

enum t1_err t1_ifd_abort(struct t1_ifd *t, struct t1_action *act)
{
    act_clear(act);
    if ((t->state != T1_IFD_SENDING && t->state != T1_IFD_RECEIVING) || !t->chain_step) {
        act->kind = T1_ACT_ERROR;
        act->err = T1_ERR_STATE;
        return T1_ERR_STATE;
    }
    /* The I-block in tx never leaves: the card still expects its N(S).
     * (Waiting for the next part, no block is in tx: N(S) moved on already.) */
    if (t->state == T1_IFD_SENDING && !t->need_data)
        t->ns = t->last_ns;
    t->need_data = t->window_pending = false;
    t->state = T1_IFD_ABORT;
    t->tries = 0;
    return send_block(t, act, t1_pcb_s(T1_S_ABORT, false), NULL, 0, t->cfg.bwt);
}

enum t1_err t1_ifd_step(struct t1_ifd *t, const struct t1_event *ev, struct t1_action *act)
{
    act_clear(act);
    if (t->need_data || t->window_pending) {
        act->kind = T1_ACT_ERROR;
        act->err = T1_ERR_STATE;
        return T1_ERR_STATE;
    }
    if (t->state == T1_IFD_IDLE || t->state == T1_IFD_DEAD) {
        act->kind = T1_ACT_ERROR;
        act->err = T1_ERR_STATE;
        act->fatal = t->state == T1_IFD_DEAD;
        return T1_ERR_STATE;
    }

    struct t1_block b;
    enum t1_err de = T1_ERR_TIMEOUT;
    if (ev->kind == T1_EV_BLOCK) {
        de = ev->data == NULL ? T1_ERR_LEN_MISMATCH
                              : t1_block_decode(ev->data, ev->len, t->cfg.edc, &b);
        if (de == T1_OK && b.nad != t1_nad_reply(t->cfg.nad))
            de = T1_ERR_NAD;
    } else if (ev->kind == T1_EV_RX_ERROR) {
        de = T1_ERR_RX_PARITY;
    }
    bool ok = de == T1_OK;

    if (t->state == T1_IFD_RESYNCH)
        return resynch_step(t, &b, ok, act);

    if (t->state == T1_IFD_ABORT) {
        if (ok && b.type == T1_BLOCK_S && b.s_type == T1_S_ABORT && b.s_response) {
            t->tries = 0;
            return fail(t, act, T1_ERR_ABORTED, false);
        }
        return recover(t, act, T1_R_OTHER, true); /* sends S(ABORT request) again */
    }

    if (t->state == T1_IFD_ABORTED && ok)
        return aborted_step(t, &b, act);

    if (!ok) {
        if (de == T1_ERR_TIMEOUT)
            return recover(t, act, T1_R_OTHER, true);
        bool line = de == T1_ERR_EDC || de == T1_ERR_RX_PARITY;
        return recover(t, act, line ? T1_R_EDC : T1_R_OTHER, false);
    }

    if (t->state == T1_IFD_IFS) {
        if (b.type == T1_BLOCK_S)
            return on_s_block(t, &b, act);
        return recover(t, act, T1_R_OTHER, true);
    }
    switch (b.type) {
    case T1_BLOCK_I: return on_i_block(t, &b, act);
    case T1_BLOCK_R: return on_r_block(t, &b, act);
    case T1_BLOCK_S: return on_s_block(t, &b, act);
    }
    return recover(t, act, T1_R_OTHER, true);
}

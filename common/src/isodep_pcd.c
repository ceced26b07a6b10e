/* ISO/IEC 14443-4 block protocol, PCD role: 7.5.3 rules A-B, 7.5.4 rules 1-8, 7.5.6. */
#include <string.h>

#include "hawiya/isodep.h"

static bool cfg_valid(const struct isodep_config *c)
{
    return c->fsc >= ISODEP_FRAME_MIN && c->fsc <= ISO14443_FS_MAX && c->fsd >= ISODEP_FRAME_MIN &&
           c->fsd <= ISO14443_FS_MAX && c->cid <= 14 && c->fwt_ns > 0;
}

static void act_clear(struct isodep_action *act)
{
    memset(act, 0, sizeof *act);
}

static enum isodep_err fail(struct isodep_pcd *p, struct isodep_action *act, enum isodep_err e)
{
    act_clear(act);
    act->kind = ISODEP_ACT_ERROR;
    act->err = e;
    p->state = ISODEP_PCD_DEAD;
    p->part = NULL;
    p->rbuf = NULL;
    p->need_data = p->window_pending = false;
    return e;
}

static enum isodep_err send_block(struct isodep_pcd *p, struct isodep_action *act, uint8_t pcb,
                                  const uint8_t *inf, size_t len, uint64_t wait_ns)
{
    enum isodep_err e =
        isodep_block_encode(p->tx, sizeof p->tx, pcb, p->cfg.cid, p->cfg.nad, inf, len, &p->tx_len);
    if (e != ISODEP_OK)
        return fail(p, act, e);
    p->last_was_i = (pcb & 0xC0u) == 0;
    act_clear(act);
    act->kind = ISODEP_ACT_SEND;
    act->block = p->tx;
    act->block_len = p->tx_len;
    act->wait_ns = wait_ns;
    return ISODEP_OK;
}

/* INF an I-block of ours may carry: FSC less PCB, CID, NAD and CRC, never
 * beyond our own frame buffer. */
static size_t inf_max(const struct isodep_pcd *p, bool first)
{
    size_t fs = p->cfg.fsc < ISODEP_FRAME_MAX ? p->cfg.fsc : ISODEP_FRAME_MAX;
    return fs - ISO14443_CRC_LEN - 1 - (p->cfg.cid_on ? 1u : 0u) -
           (p->cfg.nad_on && first ? 1u : 0u);
}

/* Command bytes after the I-block in flight: unsent ones taken already, the
 * rest of the part, or parts still to come. */
static bool more_after(const struct isodep_pcd *p, size_t chunk)
{
    return p->inf_len > chunk || p->part_off < p->part_len || p->part_more;
}

/* The I-block carrying inf[0..chunk): built for the first sending and for
 * every retransmission (rule 6: the same block again). */
static enum isodep_err send_i(struct isodep_pcd *p, struct isodep_action *act)
{
    bool nad = p->cfg.nad_on && !p->sent_any; /* 7.1.1.3: first block of a chain only */
    p->last_more = more_after(p, p->chunk);
    uint8_t pcb = isodep_pcb_i(p->bn, p->last_more, p->cfg.cid_on, nad);
    return send_block(p, act, pcb, p->inf, p->chunk, p->cfg.fwt_ns);
}

static enum isodep_err send_next_i(struct isodep_pcd *p, struct isodep_action *act)
{
    size_t max = inf_max(p, !p->sent_any);
    size_t want = max - (p->inf_len < max ? p->inf_len : max);
    size_t have = p->part_len - p->part_off;
    size_t k = want < have ? want : have;
    if (k) {
        memcpy(p->inf + p->inf_len, p->part + p->part_off, k);
        p->inf_len += k;
        p->part_off += k;
    }
    /* A block's chaining bit must be known when it leaves: with the part
     * used up and more parts to come, wait for the next one. */
    if (p->part_off == p->part_len && p->part_more) {
        act_clear(act);
        act->kind = ISODEP_ACT_NEED_DATA;
        p->need_data = true;
        return ISODEP_OK;
    }
    p->chunk = p->inf_len < max ? p->inf_len : max;
    return send_i(p, act);
}

static enum isodep_err send_r(struct isodep_pcd *p, struct isodep_action *act, bool nak)
{
    return send_block(p, act, isodep_pcb_r(p->bn, nak, p->cfg.cid_on), NULL, 0, p->cfg.fwt_ns);
}

enum isodep_err isodep_pcd_init(struct isodep_pcd *p, const struct isodep_config *cfg)
{
    memset(p, 0, sizeof *p);
    if (!cfg_valid(cfg)) {
        p->state = ISODEP_PCD_DEAD;
        return ISODEP_ERR_PARAM;
    }
    p->cfg = *cfg;
    p->bn = 0; /* rule A */
    p->state = ISODEP_PCD_IDLE;
    return ISODEP_OK;
}

static enum isodep_err refuse(struct isodep_action *act, enum isodep_err e)
{
    act_clear(act);
    act->kind = ISODEP_ACT_ERROR;
    act->err = e;
    return e;
}

static enum isodep_err begin(struct isodep_pcd *p, const uint8_t *part, size_t len, bool more,
                             uint8_t *rbuf, size_t rcap, bool windowed, struct isodep_action *act)
{
    if (p->state != ISODEP_PCD_IDLE)
        return refuse(act, ISODEP_ERR_STATE);
    if ((part == NULL && len > 0) || (rbuf == NULL && rcap > 0) || (windowed && rcap < p->cfg.fsd))
        return refuse(act, ISODEP_ERR_PARAM);
    p->part = part;
    p->part_len = len;
    p->part_off = 0;
    p->part_more = more;
    p->inf_len = 0;
    p->sent_any = false;
    p->rbuf = rbuf;
    p->rcap = rcap;
    p->rlen = 0;
    p->windowed = windowed;
    p->need_data = p->window_pending = false;
    p->tries = 0;
    p->wtx = 0;
    p->state = ISODEP_PCD_SENDING;
    return send_next_i(p, act);
}

enum isodep_err isodep_pcd_transceive_begin(struct isodep_pcd *p, const uint8_t *apdu, size_t len,
                                            uint8_t *rbuf, size_t rcap, struct isodep_action *act)
{
    return begin(p, apdu, len, false, rbuf, rcap, false, act);
}

enum isodep_err isodep_pcd_stream_begin(struct isodep_pcd *p, const uint8_t *part, size_t len,
                                        bool more, uint8_t *rbuf, size_t rcap,
                                        struct isodep_action *act)
{
    return begin(p, part, len, more, rbuf, rcap, true, act);
}

enum isodep_err isodep_pcd_stream_more(struct isodep_pcd *p, const uint8_t *part, size_t len,
                                       bool more, struct isodep_action *act)
{
    if (!p->need_data || p->state != ISODEP_PCD_SENDING)
        return refuse(act, ISODEP_ERR_STATE);
    if (part == NULL && len > 0)
        return refuse(act, ISODEP_ERR_PARAM);
    p->need_data = false;
    p->part = part;
    p->part_len = len;
    p->part_off = 0;
    p->part_more = more;
    return send_next_i(p, act);
}

enum isodep_err isodep_pcd_window_next(struct isodep_pcd *p, struct isodep_action *act)
{
    if (!p->window_pending || p->state != ISODEP_PCD_RECEIVING)
        return refuse(act, ISODEP_ERR_STATE);
    p->window_pending = false;
    p->rlen = 0;
    return send_r(p, act, false); /* rule 2 */
}

enum isodep_err isodep_pcd_presence_begin(struct isodep_pcd *p, struct isodep_action *act)
{
    if (p->state != ISODEP_PCD_IDLE)
        return refuse(act, ISODEP_ERR_STATE);
    p->tries = 0;
    p->state = ISODEP_PCD_PRESENCE;
    return send_r(p, act, true);
}

enum isodep_err isodep_pcd_deselect_begin(struct isodep_pcd *p, struct isodep_action *act)
{
    if (p->state == ISODEP_PCD_DEAD)
        return refuse(act, ISODEP_ERR_STATE);
    /* also what ends a streamed exchange paused between two calls */
    p->need_data = p->window_pending = false;
    p->part = NULL;
    p->rbuf = NULL;
    p->tries = 0;
    p->state = ISODEP_PCD_DESELECT;
    return send_block(p, act, isodep_pcb_s(ISODEP_S_DESELECT, p->cfg.cid_on), NULL, 0,
                      p->cfg.fwt_ns);
}

/* 7.5.6.1: a timeout or a damaged block. Rule 4: R(NAK); rule 5: R(ACK)
 * while the PICC chains; rule 8: S(DESELECT) again; the presence check's
 * R(NAK) again. After ISODEP_MAX_RETRIES the card is given up. */
static enum isodep_err recover(struct isodep_pcd *p, struct isodep_action *act, bool timeout)
{
    if (p->tries >= ISODEP_MAX_RETRIES)
        return fail(p, act, timeout ? ISODEP_ERR_TIMEOUT : ISODEP_ERR_TRANSMISSION);
    p->tries++;
    if (p->state == ISODEP_PCD_DESELECT)
        return send_block(p, act, isodep_pcb_s(ISODEP_S_DESELECT, p->cfg.cid_on), NULL, 0,
                          p->cfg.fwt_ns);
    return send_r(p, act, p->state != ISODEP_PCD_RECEIVING);
}

static enum isodep_err take_i(struct isodep_pcd *p, const struct isodep_block *b,
                              struct isodep_action *act)
{
    /* While we chain the PICC acknowledges with R(ACK) (rule 2); its
     * I-block carries the current block number (rule B). */
    if ((p->state == ISODEP_PCD_SENDING && p->last_more) || b->bn != p->bn)
        return fail(p, act, ISODEP_ERR_PROTOCOL);
    if (b->len > p->rcap - p->rlen)
        return fail(p, act, ISODEP_ERR_RESPONSE_TOO_LONG);
    if (b->len > 0)
        memcpy(p->rbuf + p->rlen, b->inf, b->len);
    p->rlen += b->len;
    p->bn ^= 1u;
    p->tries = 0;
    if (b->chaining) {
        p->state = ISODEP_PCD_RECEIVING;
        if (p->windowed && p->rcap - p->rlen < p->cfg.fsd) {
            /* The card's next block may not fit: the caller takes the window first. */
            act_clear(act);
            act->kind = ISODEP_ACT_WINDOW;
            act->apdu_len = p->rlen;
            p->window_pending = true;
            return ISODEP_OK;
        }
        return send_r(p, act, false); /* rule 2 */
    }
    act_clear(act);
    act->kind = ISODEP_ACT_DONE;
    act->apdu_len = p->rlen;
    p->state = ISODEP_PCD_IDLE;
    p->part = NULL;
    p->rbuf = NULL;
    return ISODEP_OK;
}

static enum isodep_err take_r(struct isodep_pcd *p, const struct isodep_block *b,
                              struct isodep_action *act)
{
    /* A PICC never sends R(NAK); R(ACK) only answers our chained I-blocks. */
    if (b->nak || p->state != ISODEP_PCD_SENDING)
        return fail(p, act, ISODEP_ERR_PROTOCOL);
    if (b->bn != p->bn) {
        /* rule 6: the PICC did not get our last I-block */
        if (p->tries >= ISODEP_MAX_RETRIES)
            return fail(p, act, ISODEP_ERR_TRANSMISSION);
        p->tries++;
        return send_i(p, act);
    }
    if (!p->last_more)
        return fail(p, act, ISODEP_ERR_PROTOCOL);
    /* rules B and 7: acknowledged, the next part of the chain */
    p->bn ^= 1u;
    p->tries = 0;
    p->inf_len -= p->chunk;
    memmove(p->inf, p->inf + p->chunk, p->inf_len);
    p->sent_any = true;
    return send_next_i(p, act);
}

static enum isodep_err take_wtx(struct isodep_pcd *p, const struct isodep_block *b,
                                struct isodep_action *act)
{
    /* rule 9: instead of an I-block or an R(ACK) */
    if (++p->wtx > ISODEP_WTX_MAX)
        return fail(p, act, ISODEP_ERR_WTX_LIMIT);
    uint8_t m = b->wtxm > ISODEP_WTXM_MAX ? ISODEP_WTXM_MAX : b->wtxm;
    /* 7.2: FWT x WTXM for the next block only, never beyond FWTmax. */
    uint64_t wait = p->cfg.fwt_ns * m, max = iso14443_fwt_ns(ISO14443_FWI_MAX);
    if (wait > max)
        wait = max;
    enum isodep_err e = send_block(p, act, isodep_pcb_s(ISODEP_S_WTX, p->cfg.cid_on), &m, 1, wait);
    act->wtxm = m;
    return e;
}

enum isodep_err isodep_pcd_step(struct isodep_pcd *p, const struct isodep_event *ev,
                                struct isodep_action *act)
{
    if (p->state == ISODEP_PCD_IDLE || p->state == ISODEP_PCD_DEAD || p->need_data ||
        p->window_pending)
        return refuse(act, ISODEP_ERR_STATE);

    struct isodep_block b;
    bool ok = false;
    if (ev->kind == ISODEP_EV_BLOCK && ev->len + ISO14443_CRC_LEN <= p->cfg.fsd &&
        isodep_block_decode(ev->data, ev->len, &b) == ISODEP_OK) {
        /* 7.1.1.2 / 7.1.1.3: the CID is ours when we use one, absent when
         * we do not; a NAD only when we sent one. */
        ok = b.has_cid == p->cfg.cid_on && (!b.has_cid || b.cid == p->cfg.cid) &&
             (!b.has_nad || p->cfg.nad_on);
    }
    if (!ok)
        return recover(p, act, ev->kind == ISODEP_EV_TIMEOUT);

    switch (p->state) {
    case ISODEP_PCD_PRESENCE:
        if (b.type == ISODEP_BLOCK_R && !b.nak) {
            act_clear(act);
            act->kind = ISODEP_ACT_DONE;
            p->state = ISODEP_PCD_IDLE;
            p->tries = 0;
            return ISODEP_OK;
        }
        return fail(p, act, ISODEP_ERR_PROTOCOL);
    case ISODEP_PCD_DESELECT:
        if (b.type == ISODEP_BLOCK_S && b.s_type == ISODEP_S_DESELECT) {
            act_clear(act);
            act->kind = ISODEP_ACT_DESELECTED;
            p->state = ISODEP_PCD_IDLE;
            return ISODEP_OK;
        }
        return recover(p, act, false);
    default: break;
    }
    switch (b.type) {
    case ISODEP_BLOCK_I: return take_i(p, &b, act);
    case ISODEP_BLOCK_R: return take_r(p, &b, act);
    case ISODEP_BLOCK_S:
        if (b.s_type == ISODEP_S_WTX)
            return take_wtx(p, &b, act);
        break; /* only the PCD deselects */
    }
    return fail(p, act, ISODEP_ERR_PROTOCOL);
}

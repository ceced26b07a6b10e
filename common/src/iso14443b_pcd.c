/* Type B activation, PCD role: 14443-3 7.7 to 7.12, and the ATQB codec. */
#include <string.h>

#include "hawiya/iso14443b.h"

#define TRIES_MAX 3u
/* Rounds of REQB with more and more slots before collisions count as unresolved. */
#define ROUNDS_MAX 6u

enum iso14443_err iso14443b_atqb_parse(const uint8_t *p, size_t n, struct iso14443b_atqb *out)
{
    memset(out, 0, sizeof *out);
    if ((n != 12 && n != 13) || p[0] != ISO14443B_ATQB)
        return ISO14443_ERR_ATQB;
    memcpy(out->pupi, p + 1, 4);
    memcpy(out->app_data, p + 5, 4);
    out->proto_len = n - 9;
    memcpy(out->proto, p + 9, out->proto_len);
    iso14443_rate_masks(iso14443b_rate_cap(out->proto[0]), &out->ds, &out->dr, &out->same_d);
    out->fsci = out->proto[1] >> 4;
    out->protocol_type = out->proto[1] & 0x0F;
    if (out->protocol_type & 0x08)
        return ISO14443_ERR_ATQB; /* 7.9.4.3: b4 = 1 is RFU, the PCD stops */
    out->iso_dep = (out->protocol_type & 0x01) != 0;
    out->fwi = out->proto[2] >> 4;
    if (out->fwi > ISO14443_FWI_MAX)
        out->fwi = ISO14443_FWI_DEFAULT;
    out->adc = out->proto[2] >> 2 & 3u;
    out->nad = (out->proto[2] & 0x02) != 0;
    out->cid = (out->proto[2] & 0x01) != 0;
    if (out->proto_len == 4) {
        out->sfgi = out->proto[3] >> 4;
        if (out->sfgi > ISO14443_FWI_MAX)
            out->sfgi = 0;
    }
    return ISO14443_OK;
}

static enum iso14443_err act_error(struct iso14443b_pcd *p, struct iso14443_act *act,
                                   enum iso14443_err e)
{
    memset(act, 0, sizeof *act);
    act->kind = ISO14443_ACT_ERROR;
    act->err = e;
    p->state = ISO14443B_PCD_IDLE;
    return e;
}

static enum iso14443_err send(struct iso14443b_pcd *p, struct iso14443_act *act, size_t n,
                              uint64_t timeout_ns, uint64_t guard_ns)
{
    memset(act, 0, sizeof *act);
    act->kind = ISO14443_ACT_SEND;
    act->tx = (struct iso14443_tx){
        .data = p->tx, .bits = 8 * n, .crc = true, .timeout_ns = timeout_ns, .guard_ns = guard_ns};
    act->tx_rate = p->rates_on ? p->dri : ISO14443_106;
    act->rx_rate = p->rates_on ? p->dsi : ISO14443_106;
    p->last = *act;
    return ISO14443_OK;
}

static enum iso14443_err send_req(struct iso14443b_pcd *p, struct iso14443_act *act)
{
    p->state = ISO14443B_PCD_REQ;
    p->slot = 1;
    p->collided = false;
    p->tx[0] = ISO14443B_APF;
    p->tx[1] = p->cfg.afi;
    p->tx[2] = (uint8_t)((p->cfg.wakeup ? ISO14443B_WUPB : 0) | p->n_code);
    return send(p, act, 3, ISO14443_ACTIVATION_WAIT_NS, 0);
}

static enum iso14443_err send_slot(struct iso14443b_pcd *p, struct iso14443_act *act)
{
    p->state = ISO14443B_PCD_SLOT;
    p->tx[0] = (uint8_t)((p->slot - 1) << 4 | ISO14443B_APF);
    return send(p, act, 1, ISO14443_ACTIVATION_WAIT_NS, 0);
}

static enum iso14443_rate best(unsigned mask, unsigned max)
{
    for (int r = ISO14443_848; r > ISO14443_106; r--)
        if ((unsigned)r <= max && (mask & (1u << r)))
            return (enum iso14443_rate)r;
    return ISO14443_106;
}

/* 7.10: ATTRIB selects the PICC by its PUPI and sets the rates, FSD, CID. */
static enum iso14443_err send_attrib(struct iso14443b_pcd *p, struct iso14443_act *act)
{
    const struct iso14443b_atqb *q = &p->atqb;
    unsigned ds = q->ds, dr = q->dr;
    if (q->same_d)
        ds = dr = ds & dr;
    p->dsi = best(ds, p->cfg.max_rate);
    p->dri = best(dr, p->cfg.max_rate);
    p->cid = q->cid ? p->cfg.cid : 0;
    p->state = ISO14443B_PCD_ATTRIB;
    p->tries = 0;
    p->tx[0] = ISO14443B_ATTRIB;
    memcpy(p->tx + 1, q->pupi, 4);
    p->tx[5] = 0x00; /* Param1: default TR0, TR1; SOF and EOF kept */
    p->tx[6] = (uint8_t)(p->dsi << 6 | p->dri << 4 | p->cfg.fsdi);
    p->tx[7] = (uint8_t)(q->protocol_type & 0x01);
    p->tx[8] = p->cid;
    return send(p, act, 9, iso14443_fwt_ns(q->fwi), 0);
}

enum iso14443_err iso14443b_pcd_begin(struct iso14443b_pcd *p,
                                      const struct iso14443b_pcd_config *cfg,
                                      struct iso14443_act *act)
{
    memset(p, 0, sizeof *p);
    if (cfg->cid > 14 || cfg->fsdi > 0x0C || cfg->max_rate > ISO14443_848)
        return act_error(p, act, ISO14443_ERR_PARAM);
    p->cfg = *cfg;
    return send_req(p, act);
}

void iso14443b_pcd_hltb(struct iso14443b_pcd *p, struct iso14443_act *act)
{
    p->tx[0] = ISO14443B_HLTB;
    memcpy(p->tx + 1, p->atqb.pupi, 4);
    p->state = ISO14443B_PCD_IDLE;
    send(p, act, 5, iso14443_fwt_ns(p->atqb.fwi), 0);
}

/* The end of a round of slots: done if nobody answered, again with more
 * slots after collisions. */
static enum iso14443_err next_slot(struct iso14443b_pcd *p, struct iso14443_act *act)
{
    if (p->slot < (1u << p->n_code)) {
        p->slot++;
        return send_slot(p, act);
    }
    if (!p->collided) {
        if (p->any)
            return act_error(p, act, ISO14443_ERR_NO_ANSWER);
        memset(act, 0, sizeof *act);
        act->kind = ISO14443_ACT_NO_CARD;
        p->state = ISO14443B_PCD_IDLE;
        return ISO14443_OK;
    }
    if (++p->rounds >= ROUNDS_MAX)
        return act_error(p, act, ISO14443_ERR_COLLISION);
    /* 7.7.5: more slots for the next round, up to 16. */
    if (p->n_code < 4)
        p->n_code = (uint8_t)(p->n_code == 0 ? 2 : p->n_code + 1);
    return send_req(p, act);
}

enum iso14443_err iso14443b_pcd_step(struct iso14443b_pcd *p, const struct iso14443_rx *rx,
                                     struct iso14443_act *act)
{
    bool frame = rx->kind == ISO14443_RX_FRAME && rx->data != NULL && rx->bits % 8 == 0;
    switch (p->state) {
    case ISO14443B_PCD_REQ:
    case ISO14443B_PCD_SLOT:
        if (rx->kind == ISO14443_RX_TIMEOUT)
            return next_slot(p, act);
        p->any = true;
        if (frame) {
            enum iso14443_err e = iso14443b_atqb_parse(rx->data, rx->bits / 8, &p->atqb);
            if (e == ISO14443_OK)
                return send_attrib(p, act);
        }
        /* 7.7.4: a damaged ATQB is most likely two PICCs in one slot. */
        p->collided = true;
        return next_slot(p, act);
    case ISO14443B_PCD_ATTRIB:
        if (frame && rx->bits >= 8) {
            /* 7.11: MBLI and the CID, which must be the one we gave (0 without CID). */
            if ((rx->data[0] & 0x0F) != p->cid)
                return act_error(p, act, ISO14443_ERR_ATTRIB);
            p->mbli = rx->data[0] >> 4;
            p->state = ISO14443B_PCD_DONE;
            p->rates_on = true;
            memset(act, 0, sizeof *act);
            act->kind = ISO14443_ACT_DONE;
            act->tx_rate = p->dri;
            act->rx_rate = p->dsi;
            act->tx.guard_ns = iso14443_sfgt_ns(p->atqb.sfgi);
            return ISO14443_OK;
        }
        if (++p->tries >= TRIES_MAX)
            return act_error(p, act,
                             rx->kind == ISO14443_RX_TIMEOUT ? ISO14443_ERR_NO_ANSWER
                                                             : ISO14443_ERR_TRANSMISSION);
        *act = p->last;
        return ISO14443_OK;
    default: return act_error(p, act, ISO14443_ERR_STATE);
    }
}

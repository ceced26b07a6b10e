/* Type A activation, PCD role: 14443-3 6.3 to 6.5 and 14443-4 5.1 to 5.6. */
#include <string.h>

#include "hawiya/iso14443a.h"

/* Damaged or missing answers tolerated in a row at one step. */
#define TRIES_MAX 3u
/* Each collision fixes at least one more of the 40 bits of CLn + BCC. */
#define COLLISIONS_MAX 40u
/* 14443-4 5.1: the ATS comes within FWT for FWI = 4, 65536 / fc. */
#define RATS_FWI 4u

static const uint8_t sel_code[4] = {0, ISO14443A_SEL_CL1, ISO14443A_SEL_CL2, ISO14443A_SEL_CL3};

static enum iso14443_err act_error(struct iso14443a_pcd *p, struct iso14443_act *act,
                                   enum iso14443_err e)
{
    memset(act, 0, sizeof *act);
    act->kind = ISO14443_ACT_ERROR;
    act->err = e;
    p->state = ISO14443A_PCD_IDLE;
    return e;
}

static enum iso14443_err send(struct iso14443a_pcd *p, struct iso14443_act *act, size_t bits,
                              bool crc, uint8_t align, uint64_t timeout_ns)
{
    memset(act, 0, sizeof *act);
    act->kind = ISO14443_ACT_SEND;
    act->tx = (struct iso14443_tx){.data = p->tx,
                                   .bits = bits,
                                   .crc = crc,
                                   .rx_align = align,
                                   .timeout_ns = timeout_ns,
                                   .guard_ns = p->guard_ns};
    /* Before the PPS response everything runs at 106 kbit/s. */
    act->tx_rate = p->rates_on ? p->dri : ISO14443_106;
    act->rx_rate = p->rates_on ? p->dsi : ISO14443_106;
    p->guard_ns = 0;
    p->last = *act;
    return ISO14443_OK;
}

static enum iso14443_err send_req(struct iso14443a_pcd *p, struct iso14443_act *act)
{
    p->state = ISO14443A_PCD_REQ;
    p->tx[0] = p->cfg.wakeup ? ISO14443A_WUPA : ISO14443A_REQA;
    return send(p, act, 7, false, 0, ISO14443_ACTIVATION_WAIT_NS);
}

/* SEL, NVB and the known bits of CLn (6.5.3.3: NVB high nibble = whole
 * bytes sent including SEL and NVB, low nibble = further bits). */
static enum iso14443_err send_anticol(struct iso14443a_pcd *p, struct iso14443_act *act)
{
    p->state = ISO14443A_PCD_ANTICOL;
    p->tx[0] = sel_code[p->level];
    p->tx[1] = (uint8_t)((2 + p->known / 8) << 4 | p->known % 8);
    memcpy(p->tx + 2, p->cln, (p->known + 7) / 8);
    if (p->known % 8)
        p->tx[2 + p->known / 8] &= (uint8_t)((1u << (p->known % 8)) - 1);
    return send(p, act, 16 + p->known, false, (uint8_t)(p->known % 8), ISO14443_ACTIVATION_WAIT_NS);
}

static enum iso14443_err send_select(struct iso14443a_pcd *p, struct iso14443_act *act)
{
    p->state = ISO14443A_PCD_SELECT;
    p->tx[0] = sel_code[p->level];
    p->tx[1] = ISO14443A_NVB_SELECT;
    memcpy(p->tx + 2, p->cln, 5);
    return send(p, act, 56, true, 0, ISO14443_ACTIVATION_WAIT_NS);
}

static enum iso14443_err send_rats(struct iso14443a_pcd *p, struct iso14443_act *act)
{
    p->state = ISO14443A_PCD_RATS;
    p->tx[0] = ISO14443A_RATS;
    p->tx[1] = (uint8_t)(p->cfg.fsdi << 4 | p->cfg.cid);
    return send(p, act, 16, true, 0, iso14443_fwt_ns(RATS_FWI));
}

static enum iso14443_err done(struct iso14443a_pcd *p, struct iso14443_act *act)
{
    p->state = ISO14443A_PCD_DONE;
    p->rates_on = true;
    memset(act, 0, sizeof *act);
    act->kind = ISO14443_ACT_DONE;
    act->tx_rate = p->dri;
    act->rx_rate = p->dsi;
    /* SFGT still to wait when no PPS went out after the ATS */
    act->tx.guard_ns = p->guard_ns;
    p->guard_ns = 0;
    return ISO14443_OK;
}

/* The highest rate in `mask` not above `max`. */
static enum iso14443_rate best(unsigned mask, unsigned max)
{
    for (int r = ISO14443_848; r > ISO14443_106; r--)
        if ((unsigned)r <= max && (mask & (1u << r)))
            return (enum iso14443_rate)r;
    return ISO14443_106;
}

/* 14443-4 5.6.2: PPS when the ATS offers a faster rate we can follow. */
static enum iso14443_err after_ats(struct iso14443a_pcd *p, struct iso14443_act *act)
{
    unsigned ds, dr;
    bool same;
    iso14443a_ats_rates(&p->ats, &ds, &dr, &same);
    if (same)
        ds = dr = ds & dr;
    p->dsi = best(ds, p->cfg.max_rate);
    p->dri = best(dr, p->cfg.max_rate);
    /* 5.2.5: nothing may be sent to the PICC before SFGT has passed. */
    p->guard_ns = iso14443_sfgt_ns(p->ats.sfgi);
    if (p->dsi == ISO14443_106 && p->dri == ISO14443_106)
        return done(p, act);
    p->state = ISO14443A_PCD_PPS;
    p->tx[0] = (uint8_t)(ISO14443A_PPSS | p->cfg.cid);
    p->tx[1] = 0x11; /* PPS0: PPS1 follows */
    p->tx[2] = (uint8_t)(p->dsi << 2 | p->dri);
    return send(p, act, 24, true, 0, iso14443_fwt_ns(p->ats.fwi));
}

/* Level complete (SAK received): the UID grows, then the next level or the end. */
static enum iso14443_err on_sak(struct iso14443a_pcd *p, uint8_t sak, struct iso14443_act *act)
{
    bool cascade = (sak & ISO14443A_SAK_CASCADE) != 0;
    if (cascade && p->level == 3)
        return act_error(p, act, ISO14443_ERR_CASCADE);
    /* 88 is the cascade tag at levels 1 and 2 only: uid0 of a single size
     * UID and uid3 of a double size one are never 88 (6.5.4), so there the
     * tag and the cascade bit must agree; uid6, first at level 3, may be 88. */
    bool ct = p->cln[0] == ISO14443A_CT && p->level < 3;
    if (ct != cascade)
        return act_error(p, act, ISO14443_ERR_SAK);
    if (ct) {
        memcpy(p->uid + p->uid_len, p->cln + 1, 3);
        p->uid_len += 3;
        p->level++;
        p->known = 0;
        p->tries = 0;
        return send_anticol(p, act);
    }
    memcpy(p->uid + p->uid_len, p->cln, 4);
    p->uid_len += 4;
    p->sak = sak;
    if (p->cfg.iso_dep && (sak & ISO14443A_SAK_ISO_DEP)) {
        p->tries = 0;
        return send_rats(p, act);
    }
    return done(p, act);
}

/* The rest of CLn + BCC arrived (possibly up to a collision). */
static enum iso14443_err on_anticol(struct iso14443a_pcd *p, const struct iso14443_rx *rx,
                                    struct iso14443_act *act)
{
    unsigned base = p->known / 8 * 8; /* bit of cln at bit 0 of rx->data[0] */
    unsigned end = base + p->known % 8 + (unsigned)rx->bits;
    unsigned upto = end;
    if (rx->kind == ISO14443_RX_COLLISION)
        upto = base + rx->coll_bit;
    /* A collision may come at the very first bit answered (upto == known:
     * the cards differ right after the bits we sent); it must come before
     * the end of what was received. A frame must complete CLn + BCC. */
    bool bad = rx->kind == ISO14443_RX_COLLISION ? upto < p->known || upto >= end
                                                 : upto <= p->known || end != 40;
    if (end > 40 || upto > end || bad) {
        if (++p->tries >= TRIES_MAX)
            return act_error(p, act, ISO14443_ERR_TRANSMISSION);
        return send_anticol(p, act);
    }
    for (unsigned b = p->known; b < upto; b++) {
        uint8_t bit = (uint8_t)(rx->data[(b - base) / 8] >> (b % 8) & 1u);
        p->cln[b / 8] = (uint8_t)((p->cln[b / 8] & ~(1u << (b % 8))) | bit << (b % 8));
    }
    p->known = upto;
    if (rx->kind == ISO14443_RX_COLLISION) {
        /* 6.5.3.3: take the colliding bit as 1 and ask again. */
        if (++p->tries > COLLISIONS_MAX)
            return act_error(p, act, ISO14443_ERR_COLLISION);
        p->cln[upto / 8] |= (uint8_t)(1u << (upto % 8));
        p->known = upto + 1;
        if (p->known < 40)
            return send_anticol(p, act);
    }
    if ((p->cln[0] ^ p->cln[1] ^ p->cln[2] ^ p->cln[3]) != p->cln[4]) {
        p->known = 0;
        if (++p->tries >= TRIES_MAX)
            return act_error(p, act, ISO14443_ERR_BCC);
        return send_anticol(p, act);
    }
    p->tries = 0;
    return send_select(p, act);
}

enum iso14443_err iso14443a_pcd_begin(struct iso14443a_pcd *p,
                                      const struct iso14443a_pcd_config *cfg,
                                      struct iso14443_act *act)
{
    memset(p, 0, sizeof *p);
    if (cfg->cid > 14 || cfg->fsdi > 0x0C || cfg->max_rate > ISO14443_848)
        return act_error(p, act, ISO14443_ERR_PARAM);
    p->cfg = *cfg;
    return send_req(p, act);
}

void iso14443a_pcd_hlta(struct iso14443a_pcd *p, struct iso14443_act *act)
{
    p->tx[0] = ISO14443A_HLTA;
    p->tx[1] = 0x00;
    p->state = ISO14443A_PCD_IDLE;
    send(p, act, 16, true, 0, ISO14443_ACTIVATION_WAIT_NS);
}

/* A damaged or missing answer: the same frame again, a few times. */
static enum iso14443_err again(struct iso14443a_pcd *p, const struct iso14443_rx *rx,
                               struct iso14443_act *act, unsigned max)
{
    if (++p->tries >= max)
        return act_error(p, act,
                         rx->kind == ISO14443_RX_TIMEOUT ? ISO14443_ERR_NO_ANSWER
                                                         : ISO14443_ERR_TRANSMISSION);
    *act = p->last;
    return ISO14443_OK;
}

enum iso14443_err iso14443a_pcd_step(struct iso14443a_pcd *p, const struct iso14443_rx *rx,
                                     struct iso14443_act *act)
{
    bool frame = rx->kind == ISO14443_RX_FRAME && (rx->data != NULL || rx->bits == 0);
    switch (p->state) {
    case ISO14443A_PCD_REQ:
        if (rx->kind == ISO14443_RX_TIMEOUT) {
            memset(act, 0, sizeof *act);
            act->kind = ISO14443_ACT_NO_CARD;
            p->state = ISO14443A_PCD_IDLE;
            return ISO14443_OK;
        }
        if (rx->kind == ISO14443_RX_COLLISION && rx->data) {
            /* Several cards with different ATQAs: anticollision sorts them out. */
            memcpy(p->atqa, rx->data, rx->bits >= 16 ? 2 : (rx->bits + 7) / 8);
        } else if (frame && rx->bits == 16) {
            memcpy(p->atqa, rx->data, 2);
            unsigned bf = p->atqa[0] & 0x1F;
            if ((p->atqa[0] & 0xC0) == 0xC0 || bf == 0 || (bf & (bf - 1)) != 0)
                return act_error(p, act, ISO14443_ERR_ATQA);
        } else {
            return again(p, rx, act, TRIES_MAX);
        }
        p->level = 1;
        p->known = 0;
        p->tries = 0;
        return send_anticol(p, act);
    case ISO14443A_PCD_ANTICOL:
        if ((frame || rx->kind == ISO14443_RX_COLLISION) && rx->data)
            return on_anticol(p, rx, act);
        return again(p, rx, act, TRIES_MAX);
    case ISO14443A_PCD_SELECT:
        if (frame && rx->bits == 8)
            return on_sak(p, rx->data[0], act);
        return again(p, rx, act, TRIES_MAX);
    case ISO14443A_PCD_RATS:
        if (frame && rx->bits % 8 == 0) {
            enum iso14443_err e = iso14443a_ats_parse(rx->data, rx->bits / 8, &p->ats);
            if (e != ISO14443_OK)
                return act_error(p, act, e);
            return after_ats(p, act);
        }
        /* 14443-4 5.6.1.1: RATS may be sent again once. */
        return again(p, rx, act, 2);
    case ISO14443A_PCD_PPS:
        if (frame && rx->bits == 8 && rx->data[0] == (uint8_t)(ISO14443A_PPSS | p->cfg.cid))
            return done(p, act);
        /* 5.6.2.2: without a valid PPS response the card's rate is unknown. */
        return act_error(p, act, ISO14443_ERR_PPS);
    default: return act_error(p, act, ISO14443_ERR_STATE);
    }
}

#include "rf_field.h"

#include <string.h>

/* What one card would send in answer to a frame. */
struct answer {
    bool has;
    struct rf_card *card;
    uint64_t start;
    enum iso14443_rate rate;
    uint8_t align;
    size_t bits;
    uint8_t data[SIMLINE_RF_MAX];
};

static void emit(struct rf_field *f, const struct simline_msg *m)
{
    size_t n;
    if (simline_encode(m, f->out + f->out_len, sizeof f->out - f->out_len, &n) == SIMLINE_OK)
        f->out_len += n;
}

static enum iso14443_type card_type(const struct rf_card *c)
{
    return c->persona->cl.type;
}

void rf_field_init(struct rf_field *f)
{
    memset(f, 0, sizeof *f);
    for (unsigned i = 0; i < RF_FIELD_CARDS; i++)
        f->cards[i].leave_after_frames = -1;
}

/* The card loses power (field off, or out of the field): everything goes. */
static void power_down(struct rf_card *c)
{
    iso14443a_picc_field(&c->a, false);
    iso14443b_picc_field(&c->b, false);
    c->dep_on = false;
    c->working = false;
    c->dsi = c->dri = ISO14443_106;
    vcard_reset(c->vc);
}

static void power_up(struct rf_card *c)
{
    power_down(c);
    if (card_type(c) == ISO14443_A)
        iso14443a_picc_field(&c->a, true);
    else
        iso14443b_picc_field(&c->b, true);
}

int rf_field_place(struct rf_field *f, unsigned slot, struct vcard *vc, const struct persona *p,
                   uint32_t seed)
{
    if (slot >= RF_FIELD_CARDS || !p->contactless)
        return -1;
    struct rf_card *c = &f->cards[slot];
    memset(&c->stats, 0, sizeof c->stats);
    c->vc = vc;
    c->persona = p;
    const struct persona_contactless *cl = &p->cl;
    if (cl->type == ISO14443_A) {
        struct iso14443a_picc_config a = {
            .uid_len = cl->uid_len, .sak = cl->sak, .ats = cl->ats, .ats_len = cl->ats_len};
        memcpy(a.atqa, cl->atqa, 2);
        memcpy(a.uid, cl->uid, cl->uid_len);
        if (iso14443a_picc_init(&c->a, &a) != ISO14443_OK)
            return -1;
    } else {
        struct iso14443b_picc_config b = {
            .proto_len = cl->proto_len, .mbli = cl->mbli, .seed = seed ? seed : 1};
        memcpy(b.pupi, cl->pupi, 4);
        memcpy(b.app_data, cl->app_data, 4);
        memcpy(b.proto, cl->proto, cl->proto_len);
        if (iso14443b_picc_init(&c->b, &b) != ISO14443_OK)
            return -1;
    }
    c->used = true;
    c->in_field = false;
    c->leave_at_ns = 0;
    c->leave_after_frames = -1;
    power_down(c);
    return 0;
}

void rf_field_unplace(struct rf_field *f, unsigned slot)
{
    if (slot < RF_FIELD_CARDS && f->cards[slot].used) {
        rf_field_leave(f, slot);
        f->cards[slot].used = false;
    }
}

void rf_field_enter(struct rf_field *f, unsigned slot)
{
    if (slot >= RF_FIELD_CARDS || !f->cards[slot].used)
        return;
    struct rf_card *c = &f->cards[slot];
    c->in_field = true;
    c->leave_at_ns = 0;
    c->leave_after_frames = -1;
    if (f->field_on)
        power_up(c);
}

static void leave(struct rf_card *c)
{
    if (c->in_field)
        power_down(c);
    c->in_field = false;
    c->leave_at_ns = 0;
    c->leave_after_frames = -1;
}

void rf_field_leave(struct rf_field *f, unsigned slot)
{
    if (slot < RF_FIELD_CARDS && f->cards[slot].used)
        leave(&f->cards[slot]);
}

void rf_field_leave_after(struct rf_field *f, unsigned slot, uint64_t after_ns)
{
    if (slot < RF_FIELD_CARDS && f->cards[slot].in_field)
        f->cards[slot].leave_at_ns = f->now_ns + (after_ns ? after_ns : 1);
}

void rf_field_leave_after_frames(struct rf_field *f, unsigned slot, long frames)
{
    if (slot < RF_FIELD_CARDS && f->cards[slot].in_field)
        f->cards[slot].leave_after_frames = frames < 0 ? 0 : frames;
}

void rf_field_mark(struct rf_field *f)
{
    f->span_first_ns = f->span_last_ns = 0;
}

void rf_field_new_reader(struct rf_field *f)
{
    f->field_on = false;
    f->now_ns = 0;
    for (unsigned i = 0; i < RF_FIELD_CARDS; i++) {
        struct rf_card *c = &f->cards[i];
        if (!c->used)
            continue;
        power_down(c);
        c->leave_at_ns = 0;
    }
}

/* ---- answers ------------------------------------------------------------------ */

static void answer_bytes(struct answer *ans, struct rf_card *c, uint64_t start, const uint8_t *p,
                         size_t n, bool crc)
{
    if (n + ISO14443_CRC_LEN > sizeof ans->data)
        return;
    memcpy(ans->data, p, n);
    if (crc) {
        iso14443_crc_append(card_type(c), ans->data, n);
        n += ISO14443_CRC_LEN;
    }
    ans->has = true;
    ans->card = c;
    ans->start = start;
    ans->rate = c->dsi;
    ans->align = 0;
    ans->bits = 8 * n;
}

/* 14443-4 starts: the block protocol with what activation agreed. */
static void start_iso_dep(struct rf_card *c)
{
    const struct persona_contactless *cl = &c->persona->cl;
    struct isodep_config cfg = {0};
    if (cl->type == ISO14443_A) {
        struct iso14443a_ats ats;
        iso14443a_ats_parse(cl->ats, cl->ats_len, &ats);
        cfg.fsc = iso14443_fs(c->a.fsdi);
        cfg.fsd = iso14443_fs(ats.fsci);
        cfg.cid_on = ats.cid;
        cfg.cid = c->a.cid;
        cfg.nad_on = ats.nad;
        c->fwt_ns = iso14443_fwt_ns(ats.fwi);
    } else {
        struct iso14443b_atqb q;
        uint8_t raw[13] = {ISO14443B_ATQB};
        memcpy(raw + 9, cl->proto, cl->proto_len);
        iso14443b_atqb_parse(raw, 9 + cl->proto_len, &q);
        cfg.fsc = iso14443_fs(c->b.fsdi);
        cfg.fsd = iso14443_fs(q.fsci);
        cfg.cid_on = q.cid;
        cfg.cid = c->b.cid;
        cfg.nad_on = q.nad;
        c->fwt_ns = iso14443_fwt_ns(q.fwi);
    }
    cfg.fwt_ns = c->fwt_ns;
    c->fsc = cfg.fsd;
    c->dep_on = isodep_picc_init(&c->dep, &cfg, c->cmd, sizeof c->cmd) == ISODEP_OK;
    c->working = false;
}

static void process_apdu(struct rf_card *c, size_t n, uint64_t t)
{
    uint32_t card_us = 0;
    if (vcard_apdu(c->vc, c->cmd, n, c->resp, sizeof c->resp, &c->resp_len, &card_us) != VCARD_OK) {
        c->resp[0] = 0x6F;
        c->resp[1] = 0x00;
        c->resp_len = 2;
    }
    c->ready_ns = t + (uint64_t)card_us * 1000u;
    c->stats.apdus++;
    c->stats.card_ns += (uint64_t)card_us * 1000u;
    c->working = true;
}

/* The card works on an APDU from time t (the end of the last frame it got,
 * `granted` the wait the PCD now allows): it answers if it will be ready in
 * time, or asks for more with S(WTX request) (14443-4 7.2, rule 9): at once
 * after the command, halfway through an extension already granted. */
static void continue_work(struct rf_card *c, uint64_t t, uint64_t granted, bool extended,
                          struct answer *ans)
{
    struct isodep_action act;
    uint64_t fdt = iso14443_fdt_ns(card_type(c));
    if (c->ready_ns <= t + fdt + granted * 9 / 10) {
        c->working = false;
        if (isodep_picc_respond(&c->dep, c->resp, c->resp_len, &act) == ISODEP_OK)
            answer_bytes(ans, c, c->ready_ns > t + fdt ? c->ready_ns : t + fdt, act.block,
                         act.block_len, true);
        return;
    }
    uint64_t at = t + fdt + (extended ? granted / 2 : 0);
    uint64_t left = c->ready_ns - at, fwt = c->fwt_ns ? c->fwt_ns : 1;
    /* enough that the answer falls within 9/10 of the extension */
    uint64_t m = left * 10 / 9 / fwt + 2;
    /* 7.2: the PCD waits FWT x WTXM but never beyond FWTmax (FWI 14): a
     * longer extension would be cut short. Ask for what will be granted,
     * and for more again when that runs out. */
    uint64_t m_max = iso14443_fwt_ns(ISO14443_FWI_MAX) / fwt;
    if (m > m_max)
        m = m_max;
    if (m > ISODEP_WTXM_MAX)
        m = ISODEP_WTXM_MAX;
    if (m < 1)
        m = 1;
    if (isodep_picc_request_wtx(&c->dep, (uint8_t)m, &act) == ISODEP_OK) {
        c->stats.wtx++;
        answer_bytes(ans, c, at, act.block, act.block_len, true);
    }
}

/* The wait the PCD allows after our S(WTX request) is answered: FWT x WTXM,
 * at most FWTmax (14443-4 7.2). */
static uint64_t wtx_granted(const struct rf_card *c)
{
    uint64_t g = c->fwt_ns * c->dep.wtxm, max = iso14443_fwt_ns(ISO14443_FWI_MAX);
    return g < max ? g : max;
}

static void halt(struct rf_card *c)
{
    if (card_type(c) == ISO14443_A)
        iso14443a_picc_halt(&c->a);
    else
        iso14443b_picc_halt(&c->b);
    c->dep_on = false;
    c->working = false;
}

static void block_in(struct rf_card *c, const uint8_t *b, size_t n, uint64_t t, struct answer *ans)
{
    struct isodep_event ev = {.kind = ISODEP_EV_BLOCK, .data = b, .len = n};
    struct isodep_action act;
    enum isodep_picc_state before = c->dep.state;
    isodep_picc_step(&c->dep, &ev, &act);
    uint64_t fdt = iso14443_fdt_ns(card_type(c));
    switch (act.kind) {
    case ISODEP_ACT_SEND: answer_bytes(ans, c, t + fdt, act.block, act.block_len, true); break;
    case ISODEP_ACT_DESELECTED:
        answer_bytes(ans, c, t + fdt, act.block, act.block_len, true);
        halt(c);
        c->stats.deselects++;
        break;
    case ISODEP_ACT_DELIVER_APDU:
        process_apdu(c, act.apdu_len, t);
        continue_work(c, t, c->fwt_ns, false, ans);
        break;
    case ISODEP_ACT_ERROR:
        /* a command longer than the card takes: 6700 */
        c->resp[0] = 0x67;
        c->resp[1] = 0x00;
        c->resp_len = 2;
        c->ready_ns = t;
        c->working = true;
        continue_work(c, t, c->fwt_ns, false, ans);
        break;
    case ISODEP_ACT_NONE:
        if (before == ISODEP_PICC_WTX && c->dep.state == ISODEP_PICC_BUSY && c->working)
            continue_work(c, t, wtx_granted(c), true, ans); /* S(WTX response) */
        break;
    case ISODEP_ACT_DONE:
    case ISODEP_ACT_NEED_DATA:
    case ISODEP_ACT_WINDOW: break; /* PCD actions */
    }
}

static void frame_a(struct rf_card *c, const struct simline_rf *rf, uint64_t t, struct answer *ans)
{
    struct iso14443a_picc_out out;
    iso14443a_picc_frame(&c->a, rf->data, rf->n_bits, &out);
    uint64_t fdt = iso14443_fdt_ns(ISO14443_A);
    switch (out.kind) {
    case ISO14443A_PICC_ANSWER: {
        size_t nbytes = (out.align + out.bits + 7) / 8;
        if (nbytes > sizeof ans->data)
            return;
        memcpy(ans->data, out.data, nbytes);
        ans->has = true;
        ans->card = c;
        ans->start = t + fdt;
        ans->rate = c->dsi;
        ans->align = out.align;
        ans->bits = out.bits;
        if (c->a.state == ISO14443A_PICC_PROTOCOL && !c->dep_on)
            start_iso_dep(c); /* the ATS went out */
        if (out.rates_changed) {
            c->dsi = out.dsi;
            c->dri = out.dri;
        }
        break;
    }
    case ISO14443A_PICC_BLOCK:
        if (c->dep_on)
            block_in(c, out.block, out.block_len, t, ans);
        break;
    case ISO14443A_PICC_SILENT: break;
    }
    if (c->a.state != ISO14443A_PICC_PROTOCOL && c->dep_on) {
        c->dep_on = false;
        c->working = false;
    }
}

static void frame_b(struct rf_card *c, const struct simline_rf *rf, uint64_t t, struct answer *ans)
{
    if (rf->n_bits % 8 != 0)
        return;
    struct iso14443b_picc_out out;
    iso14443b_picc_frame(&c->b, rf->data, rf->n_bits / 8, &out);
    switch (out.kind) {
    case ISO14443B_PICC_ANSWER:
        answer_bytes(ans, c, t + iso14443_fdt_ns(ISO14443_B), out.data, out.len, false);
        if (out.rates_changed) {
            start_iso_dep(c); /* the answer to ATTRIB */
            c->dsi = out.dsi;
            c->dri = out.dri;
        }
        break;
    case ISO14443B_PICC_BLOCK:
        if (c->dep_on)
            block_in(c, out.block, out.block_len, t, ans);
        break;
    case ISO14443B_PICC_SILENT: break;
    }
    if (c->b.state != ISO14443B_PICC_ACTIVE && c->dep_on) {
        c->dep_on = false;
        c->working = false;
    }
}

static uint64_t answer_end(const struct answer *a)
{
    return a->start + iso14443_frame_ns(card_type(a->card), a->rate, true, a->bits);
}

/* The air: what the reader receives from all the answers to one frame. */
static void send_answers(struct rf_field *f, struct answer *ans, size_t n)
{
    /* A card gone before its answer starts sends nothing. */
    for (size_t i = 0; i < n; i++) {
        struct rf_card *c = ans[i].card;
        if (ans[i].has && c->leave_at_ns && c->leave_at_ns <= ans[i].start) {
            f->now_ns = f->now_ns > c->leave_at_ns ? f->now_ns : c->leave_at_ns;
            leave(c);
            ans[i].has = false;
        }
    }
    struct answer *first = NULL;
    for (size_t i = 0; i < n; i++)
        if (ans[i].has && (!first || ans[i].start < first->start))
            first = &ans[i];
    if (!first)
        return;
    uint8_t flags = 0;
    uint16_t coll = 0;
    uint64_t end = answer_end(first);
    static uint8_t all[SIMLINE_RF_MAX];
    size_t nbytes = (first->align + first->bits + 7) / 8;
    memcpy(all, first->data, nbytes);
    for (size_t i = 0; i < n; i++) {
        struct answer *o = &ans[i];
        if (!o->has || o == first || o->start >= end)
            continue;
        o->card->stats.frames_tx++;
        bool same = card_type(o->card) == ISO14443_A && card_type(first->card) == ISO14443_A &&
                    o->start == first->start && o->align == first->align &&
                    o->bits == first->bits && o->rate == first->rate;
        if (!same) {
            flags |= SIMLINE_RF_DAMAGED;
            continue;
        }
        /* Type A: a 1 from either card is seen; disagreement is a collision */
        for (size_t k = 0; k < nbytes; k++) {
            first->data[k] |= o->data[k];
            all[k] &= o->data[k];
        }
    }
    for (size_t b = first->align; b < first->align + first->bits && !(flags & SIMLINE_RF_DAMAGED);
         b++)
        if ((first->data[b / 8] ^ all[b / 8]) >> (b % 8) & 1u) {
            flags |= SIMLINE_RF_COLLISION;
            coll = (uint16_t)b;
            break;
        }
    if (flags & SIMLINE_RF_DAMAGED)
        flags &= (uint8_t)~SIMLINE_RF_COLLISION;
    if (flags)
        f->collisions++;
    /* A card that leaves while sending cuts its frame. */
    for (size_t i = 0; i < n; i++) {
        struct rf_card *c = ans[i].card;
        if (ans[i].has && c->leave_at_ns && c->leave_at_ns < end) {
            flags = SIMLINE_RF_DAMAGED;
            leave(c);
        }
    }
    first->card->stats.frames_tx++;
    struct simline_msg m = {.type = SIMLINE_RF_FRAME, .t_ns = first->start};
    m.u.rf = (struct simline_rf){.type = (uint8_t)card_type(first->card),
                                 .rate = (uint8_t)first->rate,
                                 .align = first->align,
                                 .flags = flags,
                                 .n_bits = (uint16_t)first->bits,
                                 .coll_bit = coll,
                                 .data = first->data};
    emit(f, &m);
    if (end > f->now_ns)
        f->now_ns = end;
    f->span_last_ns = end;
}

static void frame_in(struct rf_field *f, const struct simline_msg *m)
{
    const struct simline_rf *rf = &m->u.rf;
    uint64_t end = m->t_ns + iso14443_frame_ns((enum iso14443_type)rf->type,
                                               (enum iso14443_rate)rf->rate, false, rf->n_bits);
    if (end > f->now_ns)
        f->now_ns = end;
    f->frames_rx++;
    f->last_rate = (enum iso14443_rate)rf->rate;
    if (!f->span_first_ns)
        f->span_first_ns = m->t_ns;
    static struct answer ans[RF_FIELD_CARDS];
    size_t n = 0;
    for (unsigned i = 0; i < RF_FIELD_CARDS; i++) {
        struct rf_card *c = &f->cards[i];
        if (!c->used || !c->in_field || !f->field_on)
            continue;
        if ((c->leave_at_ns && c->leave_at_ns <= m->t_ns) || c->leave_after_frames == 0) {
            leave(c); /* gone before this frame */
            continue;
        }
        if (c->leave_after_frames > 0)
            c->leave_after_frames--;
        /* A frame in another type or bit rate, or damaged, is not understood. */
        if (rf->type != (uint8_t)card_type(c) || rf->rate != (uint8_t)c->dri || rf->align != 0 ||
            (rf->flags & SIMLINE_RF_DAMAGED))
            continue;
        c->stats.frames_rx++;
        ans[n].has = false;
        ans[n].card = c;
        uint64_t deselects = c->stats.deselects;
        if (card_type(c) == ISO14443_A)
            frame_a(c, rf, end, &ans[n]);
        else
            frame_b(c, rf, end, &ans[n]);
        f->deselects += c->stats.deselects - deselects;
        n++;
    }
    send_answers(f, ans, n);
}

void rf_field_input(struct rf_field *f, const struct simline_msg *m)
{
    /* As on the contact line: a record stamped absurdly late is ignored. */
    if (m->t_ns <= (1ull << 62)) {
        if (m->t_ns > f->now_ns)
            f->now_ns = m->t_ns;
        switch (m->type) {
        case SIMLINE_RF_FIELD: {
            bool on = m->u.field != 0;
            if (on != f->field_on) {
                f->field_on = on;
                for (unsigned i = 0; i < RF_FIELD_CARDS; i++) {
                    struct rf_card *c = &f->cards[i];
                    if (!c->used || !c->in_field)
                        continue;
                    if (on)
                        power_up(c);
                    else
                        power_down(c);
                }
            }
            break;
        }
        case SIMLINE_RF_FRAME: frame_in(f, m); break;
        default: break; /* contact records have no meaning here */
        }
    }
    struct simline_msg sync = {.type = SIMLINE_SYNC, .t_ns = f->now_ns};
    emit(f, &sync);
}

#include "card_line.h"

#include <string.h>

#include "hawiya/apdu.h"
#include "hawiya/pps.h"

/* 7816-3 §6.2.2: the card answers 400 to 40 000 clock cycles after RST rises. */
#define ATR_DELAY_CLOCKS 2000u
/* 7816-3 §7.2 (T=0): 16 etu at least between characters in opposite directions. */
#define T0_TURNAROUND_ETU 16u
/* 7816-3 §11.2 (T=1): block guard time. */
#define T1_BGT_ETU 22u

static void emit(struct card_line *c, const struct simline_msg *m)
{
    size_t n;
    if (simline_encode(m, c->out + c->out_len, sizeof c->out - c->out_len, &n) == SIMLINE_OK)
        c->out_len += n;
}

static uint64_t etu_ns(const struct card_line *c, uint64_t etu)
{
    return etu * c->etu_ps / 1000;
}

static void set_rate(struct card_line *c, unsigned fi, unsigned di, unsigned char_etu)
{
    c->fi = fi;
    c->di = di;
    c->char_etu = char_etu;
    c->etu_ps = simline_etu_ps(fi, di, c->clk_hz);
}

/* 7816-3 §8.1: the inverse convention sends complemented bits, MSB first. */
static uint8_t to_line(const struct card_line *c, uint8_t v)
{
    return c->atr.convention == ATR_CONV_INVERSE ? atr_inverse_byte(v) : v;
}

void card_line_set_present(struct card_line *c, bool present);

/* Sends characters starting no earlier than `t_ns`; advances the card's time. */
static void send_chars(struct card_line *c, uint64_t t_ns, const uint8_t *p, size_t n)
{
    uint8_t raw[SIMLINE_MAX_IO];
    if (t_ns < c->now_ns)
        t_ns = c->now_ns;
    if (c->remove_at_ns && t_ns >= c->remove_at_ns) {
        /* Pulled out before these characters: the reader sees the switch open. */
        c->now_ns = c->remove_at_ns;
        c->remove_at_ns = 0;
        card_line_set_present(c, false);
        return;
    }
    while (n > 0) {
        size_t k = n < SIMLINE_MAX_IO ? n : SIMLINE_MAX_IO;
        for (size_t i = 0; i < k; i++)
            raw[i] = to_line(c, p[i]);
        struct simline_msg m = {.type = SIMLINE_IO, .t_ns = t_ns};
        m.u.io.etu_ps = c->etu_ps;
        m.u.io.char_etu = (uint16_t)c->char_etu;
        m.u.io.n = (uint16_t)k;
        m.u.io.chars = raw;
        emit(c, &m);
        t_ns += etu_ns(c, (uint64_t)k * c->char_etu);
        p += k;
        n -= k;
    }
    c->now_ns = t_ns;
}

static uint8_t class_of_mv(uint16_t mv)
{
    if (mv >= 4500)
        return ATR_CLASS_A;
    if (mv >= 2700)
        return ATR_CLASS_B;
    if (mv >= 1620)
        return ATR_CLASS_C;
    return 0;
}

int card_line_init(struct card_line *c, struct vcard *vc, const struct persona *p, bool present)
{
    memset(c, 0, sizeof *c);
    c->vc = vc;
    c->persona = p;
    if (atr_parse(p->atr, p->atr_len, &c->atr, NULL) != ATR_OK)
        return -1;
    /* A card states its classes in the ATR (7816-3 §8.3, T=15); without a
     * class indicator this one works at any voltage. */
    c->classes = c->atr.class_present ? c->atr.class_mask
                                      : (uint8_t)(ATR_CLASS_A | ATR_CLASS_B | ATR_CLASS_C);
    c->present = present;
    c->phase = CARD_OFF;
    return 0;
}

void card_line_remove_after(struct card_line *c, uint64_t after_ns)
{
    c->remove_at_ns = c->now_ns + (after_ns ? after_ns : 1);
}

void card_line_set_present(struct card_line *c, bool present)
{
    c->present = present;
    if (!present) {
        c->phase = CARD_OFF;
        c->working = false;
        vcard_reset(c->vc);
    }
    struct simline_msg m = {.type = SIMLINE_PRESENCE, .t_ns = c->now_ns};
    m.u.present = present;
    emit(c, &m);
}

static void power_down(struct card_line *c)
{
    c->phase = CARD_OFF;
    c->working = false;
    c->rx_len = 0;
    vcard_reset(c->vc);
}

void card_line_new_reader(struct card_line *c)
{
    power_down(c);
    c->vcc_mv = 0;
    c->clk_hz = 0;
    c->rst_high = false;
    c->now_ns = 0;
    c->last_rx_start_ns = 0;
    c->remove_at_ns = 0;
}

/* RST went high with power and clock: the ATR at the default rate. */
static void answer_to_reset(struct card_line *c, uint64_t t_rst)
{
    vcard_reset(c->vc);
    c->working = false;
    c->rx_len = 0;
    c->rx_bad = false;
    if (!(class_of_mv(c->vcc_mv) & c->classes) || c->clk_hz == 0) {
        c->phase = CARD_MUTE; /* 7816-3 §6.2.4: outside its class the card stays mute */
        return;
    }
    set_rate(c, 372, 1, 12);
    uint64_t t = t_rst + (uint64_t)ATR_DELAY_CLOCKS * 1000000000ull / c->clk_hz;
    send_chars(c, t, c->atr.raw, c->atr.len);
    c->phase = CARD_ATR_SENT;
}

static bool t0_takes_data(void *ctx, uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2)
{
    (void)ctx;
    (void)p1;
    (void)p2;
    /* Under secure messaging every command carries data objects (9303-11 §9.8). */
    if ((cla & 0x0C) != 0)
        return true;
    switch (ins) {
    case 0xB0: /* READ BINARY */
    case 0x84: /* GET CHALLENGE */
    case 0xC0: /* GET RESPONSE */
    case 0xCA: /* GET DATA */
    case 0xB2: /* READ RECORD */ return false;
    default: return true;
    }
}

static void start_protocol(struct card_line *c, uint8_t t)
{
    c->protocol = t;
    c->rx_len = 0;
    c->rx_bad = false;
    if (t == 1) {
        struct t1_config cfg = {.ifsc = T1_IFS_DEFAULT,
                                .ifsd = T1_IFS_DEFAULT,
                                .edc = c->atr.edc == ATR_EDC_CRC ? T1_EDC_CRC : T1_EDC_LRC,
                                .nad = 0};
        c->char_etu = atr_cgt_etu(c->atr.n, 1);
        c->bwt_ns = (uint64_t)atr_bwt_clocks(c->atr.bwi, (uint16_t)c->fi, (uint8_t)c->di) *
                    1000000000ull / c->clk_hz;
        c->cwt_etu = atr_cwt_etu(c->atr.cwi);
        t1_card_init(&c->t1, &cfg, c->cmd, sizeof c->cmd);
        c->phase = CARD_T1;
    } else {
        struct t0_io io;
        c->char_etu = atr_cgt_etu(c->atr.n, 0);
        c->wt_ns = (uint64_t)atr_wt_clocks(c->atr.wi, (uint16_t)c->fi) * 1000000000ull / c->clk_hz;
        t0_card_init(&c->t0, c->cmd, sizeof c->cmd, t0_takes_data, c, false, &io);
        c->phase = CARD_T0;
    }
}

/* After the ATR without PPS: specific mode (TA2) or the first protocol at Fd/Dd. */
static void start_default_protocol(struct card_line *c)
{
    if (c->atr.specific_mode && !c->atr.specific_implicit) {
        set_rate(c, c->atr.fi, c->atr.di, 12);
        start_protocol(c, c->atr.specific_protocol);
    } else {
        start_protocol(c, c->atr.first_protocol);
    }
}

/* ---- the APDU-level card, with the persona's processing time ------------ */

static void process_apdu(struct card_line *c, const uint8_t *cmd, size_t n)
{
    uint32_t card_us = 0;
    if (vcard_apdu(c->vc, cmd, n, c->resp, sizeof c->resp, &c->resp_len, &card_us) != VCARD_OK) {
        c->resp[0] = 0x6F;
        c->resp[1] = 0x00;
        c->resp_len = 2;
    }
    c->ready_ns = c->now_ns + (uint64_t)card_us * 1000u;
    if (c->stall && c->protocol == 1)
        c->ready_ns = UINT64_MAX / 4; /* never (in simulated time) */
    c->stats.apdus++;
    c->stats.card_ns += (uint64_t)card_us * 1000u;
    c->working = true;
}

/* ---- T=1 ------------------------------------------------------------------- */

static void t1_act(struct card_line *c, struct t1_action *act);

static void t1_continue_work(struct card_line *c)
{
    struct t1_action act;
    /* 7816-3 §11.3.2: the card must answer within BWT, or ask for more
     * time with S(WTX request) and then answer within the multiple granted. */
    if (c->ready_ns <= c->now_ns + c->bwt_ns * 9 / 10) {
        c->working = false;
        t1_card_respond(&c->t1, c->resp, c->resp_len, &act);
        c->now_ns = c->ready_ns > c->now_ns ? c->ready_ns : c->now_ns;
        t1_act(c, &act);
        return;
    }
    uint64_t need = (c->ready_ns - c->now_ns) / (c->bwt_ns ? c->bwt_ns : 1) + 1;
    uint8_t mult = need > 255 ? 255 : (uint8_t)need;
    /* The granted wait starts when the reader answers (t1_block_done). */
    if (t1_card_request_wtx(&c->t1, mult, &act) == T1_OK) {
        c->stats.wtx++;
        t1_act(c, &act);
    }
}

static void t1_act(struct card_line *c, struct t1_action *act)
{
    switch (act->kind) {
    case T1_ACT_SEND:
        if (act->resynched)
            c->working = false;
        send_chars(c, c->last_rx_start_ns + etu_ns(c, T1_BGT_ETU), act->block, act->block_len);
        break;
    case T1_ACT_DELIVER_APDU:
        process_apdu(c, c->cmd, act->apdu_len);
        t1_continue_work(c);
        break;
    default: break;
    }
}

static void t1_block_done(struct card_line *c)
{
    struct t1_event ev = {
        .kind = c->rx_bad ? T1_EV_RX_ERROR : T1_EV_BLOCK, .data = c->rx, .len = c->rx_len};
    struct t1_action act = {.kind = T1_ACT_NONE};
    enum t1_card_state before = c->t1.state;
    t1_card_step(&c->t1, &ev, &act);
    c->rx_len = 0;
    c->rx_bad = false;
    if (before == T1_CARD_WTX && c->t1.state == T1_CARD_BUSY && c->working) {
        /* S(WTX response): the reader now waits mult x BWT. */
        uint64_t granted = c->bwt_ns * c->t1.wtx;
        if (c->ready_ns <= c->now_ns + granted * 9 / 10) {
            c->working = false;
            t1_card_respond(&c->t1, c->resp, c->resp_len, &act);
            c->now_ns = c->ready_ns > c->now_ns ? c->ready_ns : c->now_ns;
        } else {
            t1_continue_work(c);
            return;
        }
    }
    t1_act(c, &act);
}

/* Collects one block; it is handed to the T=1 machine at the end of the
 * reader's record (t1_record_end), when we know whether anything followed. */
static void t1_rx(struct card_line *c, uint8_t ch, bool bad)
{
    if (c->t1_complete) {
        /* 7816-3 §11.2: nothing may follow a block within BGT; a character
         * here means the block was framed wrongly (one doubled on the line). */
        c->rx_bad = true;
        return;
    }
    if (c->rx_len < sizeof c->rx)
        c->rx[c->rx_len++] = ch;
    else
        c->rx_bad = true;
    c->rx_bad |= bad;
    if (c->rx_len < T1_PROLOGUE_LEN)
        return;
    size_t more;
    if (t1_block_remaining(c->rx, c->t1.cfg.edc, &more) != T1_OK ||
        T1_PROLOGUE_LEN + more > sizeof c->rx) {
        c->rx_bad = true; /* LEN = FF: invalid whatever follows */
        return;
    }
    if (c->rx_len == T1_PROLOGUE_LEN + more)
        c->t1_complete = true;
}

static void t1_record_end(struct card_line *c)
{
    if (!c->t1_complete && c->rx_len == 0)
        return;
    if (!c->t1_complete) {
        /* The reader sends each block in one go: what is missing never
         * comes, and CWT runs out (§11.4.3): an invalid block. */
        uint64_t cwt_end = c->last_rx_start_ns + etu_ns(c, c->cwt_etu);
        if (cwt_end > c->now_ns)
            c->now_ns = cwt_end;
        c->rx_bad = true;
    }
    c->t1_complete = false;
    t1_block_done(c);
}

/* ---- T=0 ------------------------------------------------------------------- */

static void t0_run(struct card_line *c, struct t0_io *io)
{
    for (int guard = 0; guard < 100000; guard++) {
        /* Pulled out mid-exchange (remove_at_ns): a card out of the slot
         * sends nothing more, and its NULL bytes stop. */
        if (!c->present)
            return;
        if (io->tx_len) {
            send_chars(c, c->last_rx_start_ns + etu_ns(c, T0_TURNAROUND_ETU), io->tx, io->tx_len);
            c->last_rx_start_ns = 0;
        }
        if (io->command) {
            uint8_t buf[CARD_LINE_MAX_APDU + 16];
            size_t n;
            if (apdu_encode(io->command, buf, sizeof buf, &n) != APDU_OK) {
                t0_card_respond(&c->t0, NULL, 0, 0x6700, io);
                continue;
            }
            process_apdu(c, buf, n);
            /* 7816-3 §10.3.3: NULL bytes keep the reader waiting past WT. */
            while (c->present && c->ready_ns > c->now_ns + c->wt_ns * 9 / 10) {
                struct t0_io nio;
                if (t0_card_null(&c->t0, &nio) != T0_OK)
                    break;
                send_chars(c, c->now_ns + c->wt_ns / 2, nio.tx, nio.tx_len);
                c->stats.wtx++;
            }
            c->working = false;
            c->now_ns = c->ready_ns > c->now_ns ? c->ready_ns : c->now_ns;
            uint16_t sw = (uint16_t)(c->resp[c->resp_len - 2] << 8 | c->resp[c->resp_len - 1]);
            t0_card_respond(&c->t0, c->resp, c->resp_len - 2, sw, io);
            continue;
        }
        if (io->more) {
            t0_card_sent(&c->t0, io);
            continue;
        }
        return;
    }
}

/* ---- characters from the reader -------------------------------------------- */

static void pps_rx(struct card_line *c, uint8_t ch, bool bad)
{
    if (bad) {
        c->phase = CARD_MUTE; /* an erroneous PPS request: stay silent (§9.2) */
        return;
    }
    c->rx[c->rx_len++] = ch;
    struct pps_params p;
    size_t needed;
    enum pps_err e = pps_parse(c->rx, c->rx_len, &p, &needed);
    if (e == PPS_ERR_INCOMPLETE && c->rx_len < PPS_MAX_LEN)
        return;
    uint8_t reply[PPS_MAX_LEN];
    size_t n;
    struct pps_card_caps caps = {.protocols = c->atr.protocols,
                                 .ta1 = (uint8_t)(c->atr.fi_code << 4 | c->atr.di_code)};
    if (e != PPS_OK || pps_card_reply(c->rx, c->rx_len, &caps, reply, sizeof reply, &n) != PPS_OK) {
        c->phase = CARD_MUTE;
        return;
    }
    send_chars(c, c->last_rx_start_ns + etu_ns(c, T0_TURNAROUND_ETU), reply, n);
    struct pps_params r;
    pps_parse(reply, n, &r, NULL);
    /* The new rate applies after the PPS response (§9.3). */
    if (r.has_pps1) {
        uint16_t fi;
        uint8_t di;
        uint32_t fmax;
        atr_fi_table(r.fi_code, &fi, &fmax);
        atr_di_table(r.di_code, &di);
        set_rate(c, fi, di, 12);
    }
    start_protocol(c, r.t);
}

static void char_in(struct card_line *c, uint8_t raw, uint8_t flags, uint32_t their_etu_ps,
                    uint64_t t_start)
{
    uint64_t d = their_etu_ps > c->etu_ps ? their_etu_ps - c->etu_ps : c->etu_ps - their_etu_ps;
    bool bad = (flags & SIMLINE_CHAR_PARITY_ERROR) || d * 50 > c->etu_ps;
    uint8_t ch = c->atr.convention == ATR_CONV_INVERSE ? atr_inverse_byte(raw) : raw;
    c->last_rx_start_ns = t_start;

    switch (c->phase) {
    case CARD_ATR_SENT:
        if (ch == PPS_PPSS && c->pps_mute) {
            c->phase = CARD_MUTE;
            return;
        }
        if (ch == PPS_PPSS && !bad) {
            c->phase = CARD_PPS;
            c->rx_len = 0;
            pps_rx(c, ch, bad);
            return;
        }
        start_default_protocol(c);
        char_in(c, raw, flags, their_etu_ps, t_start);
        return;
    case CARD_PPS: pps_rx(c, ch, bad); return;
    case CARD_T1: t1_rx(c, ch, bad); return;
    case CARD_T0: {
        struct t0_io io;
        if (bad)
            return; /* the error signal made the reader repeat it (§7.3) */
        if (t0_card_rx(&c->t0, &ch, 1, &io) == T0_OK)
            t0_run(c, &io);
        return;
    }
    default: return;
    }
}

/* Simulated time stays below 2^62 ns (146 years). A record stamped later
 * would make the card's deadlines (now + WT, now + BWT) wrap around, and a
 * T=0 card then sends NULL bytes for ever; such a record is ignored. */
#define CARD_LINE_TIME_MAX (1ull << 62)

void card_line_input(struct card_line *c, const struct simline_msg *m)
{
    if (m->t_ns > CARD_LINE_TIME_MAX) {
        struct simline_msg sync = {.type = SIMLINE_SYNC, .t_ns = c->now_ns};
        emit(c, &sync);
        return;
    }
    if (m->t_ns > c->now_ns)
        c->now_ns = m->t_ns;
    switch (m->type) {
    case SIMLINE_VCC:
        c->vcc_mv = m->u.vcc_mv;
        if (c->vcc_mv == 0)
            power_down(c);
        break;
    case SIMLINE_CLK:
        c->clk_hz = m->u.clk_hz;
        c->etu_ps = simline_etu_ps(c->fi ? c->fi : 372, c->di ? c->di : 1, c->clk_hz);
        if (c->clk_hz == 0 && c->phase != CARD_OFF)
            power_down(c);
        break;
    case SIMLINE_RST: {
        bool high = m->u.rst_level != 0;
        if (high && !c->rst_high && c->present && c->vcc_mv)
            answer_to_reset(c, m->t_ns);
        else if (!high)
            power_down(c);
        c->rst_high = high;
        break;
    }
    case SIMLINE_IO:
        if (!c->present)
            break;
        for (size_t i = 0; i < m->u.io.n; i++) {
            uint64_t t = simline_char_time_ns(m, i);
            uint64_t end = t + (uint64_t)m->u.io.etu_ps * m->u.io.char_etu / 1000;
            if (end > c->now_ns)
                c->now_ns = end;
            char_in(c, m->u.io.chars[i], m->u.io.flags[i], m->u.io.etu_ps, t);
        }
        if (c->phase == CARD_T1)
            t1_record_end(c);
        break;
    default: break; /* SYNC and PRESENCE come from the card, never to it */
    }
    struct simline_msg sync = {.type = SIMLINE_SYNC, .t_ns = c->now_ns};
    emit(c, &sync);
}

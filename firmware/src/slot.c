#include "slot.h"

#include <string.h>

#include "hal/board.h"
#include "hal/timer.h"
#include "hawiya/apdu.h"
#include "hawiya/pps.h"

/* 7816-3 §6.2.2: the clock during activation and the ATR stays within
 * 1..5 MHz; 4 MHz is what most readers use. */
#define ACTIVATION_CLK_HZ (SLOT_DEFAULT_CLOCK_KHZ * 1000u)
/* 7816-3 §6.2.2: RST stays low for at least 400 clock cycles (tb), and the
 * ATR starts between 400 and 40 000 clock cycles after RST rises (tc). */
#define RST_LOW_CLOCKS 500u
#define ATR_MAX_DELAY  40000u
/* 7816-3 §8.1 and §9.1: at most 9600 etu between two leading edges during
 * the ATR and the PPS exchange (initial waiting time). */
#define INITIAL_WT_ETU 9600u
/* 7816-3 §6.2.4: at least 10 ms deactivated before the next class. */
#define CLASS_SWITCH_NS 10000000u
/* Card-detect switches bounce; a state counts once stable this long. */
#define DEBOUNCE_NS 20000000u

const char *slot_err_str(enum slot_err e)
{
    switch (e) {
    case SLOT_OK: return "SLOT_OK";
    case SLOT_ERR_ABSENT: return "SLOT_ERR_ABSENT";
    case SLOT_ERR_REMOVED: return "SLOT_ERR_REMOVED";
    case SLOT_ERR_INACTIVE: return "SLOT_ERR_INACTIVE";
    case SLOT_ERR_MUTE: return "SLOT_ERR_MUTE";
    case SLOT_ERR_BAD_TS: return "SLOT_ERR_BAD_TS";
    case SLOT_ERR_BAD_ATR: return "SLOT_ERR_BAD_ATR";
    case SLOT_ERR_BAD_TCK: return "SLOT_ERR_BAD_TCK";
    case SLOT_ERR_CLASS: return "SLOT_ERR_CLASS";
    case SLOT_ERR_PROTOCOL: return "SLOT_ERR_PROTOCOL";
    case SLOT_ERR_PPS: return "SLOT_ERR_PPS";
    case SLOT_ERR_PARITY: return "SLOT_ERR_PARITY";
    case SLOT_ERR_TIMEOUT: return "SLOT_ERR_TIMEOUT";
    case SLOT_ERR_PROCEDURE: return "SLOT_ERR_PROCEDURE";
    case SLOT_ERR_RESPONSE_TOO_LONG: return "SLOT_ERR_RESPONSE_TOO_LONG";
    case SLOT_ERR_COMMAND_TOO_LONG: return "SLOT_ERR_COMMAND_TOO_LONG";
    case SLOT_ERR_T1_RESYNCHED: return "SLOT_ERR_T1_RESYNCHED";
    case SLOT_ERR_T1_DEAD: return "SLOT_ERR_T1_DEAD";
    }
    return "SLOT_ERR_UNKNOWN";
}

void slot_init(struct slot *s, const struct slot_limits *lim, line_tick_fn tick, void *tick_ctx)
{
    memset(s, 0, sizeof *s);
    s->lim = *lim;
    /* CCID 1.1 §6.2: the host hears from the reader at least every second. */
    line_init(&s->line, tick, tick_ctx, 1000000000ull);
    s->insertions_seen = hal_sc_insertions();
    s->state = hal_sc_present() ? SLOT_INACTIVE : SLOT_ABSENT;
}

static void deactivate(struct slot *s)
{
    /* 7816-3 §6.4: RST low, CLK stopped, I/O low, VCC off, in this order. */
    hal_sc_rst(false);
    line_set_clock(&s->line, 0);
    hal_sc_vcc(SC_CLASS_OFF);
    hal_sc_flush();
    s->act.vcc = SC_CLASS_OFF;
    s->xfr_paused = false;
}

void slot_power_off(struct slot *s)
{
    if (s->state == SLOT_ACTIVE)
        deactivate(s);
    if (s->state != SLOT_ABSENT)
        s->state = SLOT_INACTIVE;
}

enum slot_state slot_poll(struct slot *s, bool *changed)
{
    *changed = false;
    bool present = hal_sc_present();
    uint32_t ins = hal_sc_insertions();

    if (ins != s->insertions_seen && present) {
        /* Inserted (perhaps removed and reinserted): wait until the switch
         * has settled before trusting it. */
        hal_delay_ns(DEBOUNCE_NS);
        if (!hal_sc_present())
            return s->state;
        if (s->state == SLOT_ACTIVE)
            deactivate(s);
        s->insertions_seen = hal_sc_insertions();
        s->state = SLOT_INACTIVE;
        *changed = true;
        return s->state;
    }
    if (!present && s->state != SLOT_ABSENT) {
        hal_delay_ns(DEBOUNCE_NS);
        if (hal_sc_present())
            return s->state;
        if (s->state == SLOT_ACTIVE)
            deactivate(s);
        s->state = SLOT_ABSENT;
        *changed = true;
    }
    return s->state;
}

static void apply_line(struct slot *s, unsigned fi, unsigned di, unsigned char_etu,
                       enum sc_convention conv, bool error_signal)
{
    struct sc_line_config cfg = {.fi = fi,
                                 .di = di,
                                 .char_etu = char_etu,
                                 .t0_error_signal = error_signal,
                                 .convention = conv};
    line_configure(&s->line, &cfg);
}

static enum slot_err removed_or(enum slot_err e)
{
    return hal_sc_present() ? e : SLOT_ERR_REMOVED;
}

/* Cold (VCC applied here) or warm reset, then the ATR into s->atr. */
static enum slot_err reset_and_read_atr(struct slot *s, enum sc_class vcc, bool cold)
{
    uint8_t raw[ATR_MAX_LEN];
    size_t len = 0;

    apply_line(s, 372, 1, 12, SC_CONVENTION_DIRECT, true);
    hal_sc_rst(false);
    if (cold) {
        hal_sc_vcc(vcc);
        s->act.vcc = vcc;
    }
    line_set_clock(&s->line, ACTIVATION_CLK_HZ);
    hal_sc_flush();
    hal_delay_ns(line_clocks_ns(&s->line, RST_LOW_CLOCKS));
    hal_sc_rst(true);
    uint64_t t_rst = hal_now_ns();

    uint8_t c;
    enum line_rx r = line_recv(&s->line, &c, t_rst + line_clocks_ns(&s->line, ATR_MAX_DELAY));
    if (r == LINE_RX_REMOVED)
        return SLOT_ERR_REMOVED;
    if (r == LINE_RX_TIMEOUT)
        return SLOT_ERR_MUTE;
    enum atr_convention conv;
    if (r == LINE_RX_PARITY || atr_convention_from_raw(c, &conv) != ATR_OK)
        return SLOT_ERR_BAD_TS;
    if (conv == ATR_CONV_INVERSE)
        apply_line(s, 372, 1, 12, SC_CONVENTION_INVERSE, true);
    raw[len++] = atr_decode_char(conv, c);

    for (;;) {
        size_t needed;
        enum atr_err e = atr_parse(raw, len, &s->atr, &needed);
        if (e == ATR_OK)
            break;
        if (e == ATR_ERR_TCK_MISMATCH)
            return SLOT_ERR_BAD_TCK;
        if (e != ATR_ERR_INCOMPLETE || len == sizeof raw)
            return SLOT_ERR_BAD_ATR;
        r = line_recv(&s->line, &c,
                      s->line.last_rx_start_ns + line_etu_ns(&s->line, INITIAL_WT_ETU));
        if (r == LINE_RX_REMOVED)
            return SLOT_ERR_REMOVED;
        if (r != LINE_RX_OK)
            return r == LINE_RX_TIMEOUT ? SLOT_ERR_BAD_ATR : SLOT_ERR_PARITY;
        raw[len++] = c;
    }
    s->act.atr_ns = hal_now_ns() - t_rst;
    return SLOT_OK;
}

/* The class of enum sc_class as the ATR's class-indicator bit. */
static uint8_t class_bit(enum sc_class c)
{
    switch (c) {
    case SC_CLASS_A: return ATR_CLASS_A;
    case SC_CLASS_B: return ATR_CLASS_B;
    case SC_CLASS_C: return ATR_CLASS_C;
    default: return 0;
    }
}

/* 7816-3 §6.2.4: start at the lowest class, go up when the card is mute or
 * its class indicator excludes the class in use, never above what it names. */
static enum slot_err activate(struct slot *s, enum sc_class only)
{
    unsigned board = s->lim.classes & hal_sc_classes();
    uint8_t card_accepts = 0xFF; /* unknown until an ATR with a class indicator */
    enum slot_err e = SLOT_ERR_CLASS;

    s->act = (struct slot_activation){0};
    for (enum sc_class c = SC_CLASS_C; c <= SC_CLASS_A; c++) {
        if (!(board & (1u << c)) || (only != SC_CLASS_OFF && c != only))
            continue;
        if (!(card_accepts & class_bit(c)))
            continue;
        if (s->act.classes_tried)
            hal_delay_ns(CLASS_SWITCH_NS);
        s->act.classes_tried |= 1u << c;
        e = reset_and_read_atr(s, c, true);
        if (e == SLOT_OK) {
            if (!s->atr.class_present || (s->atr.class_mask & class_bit(c)))
                return SLOT_OK;
            card_accepts = s->atr.class_mask; /* try the next class it names */
            e = SLOT_ERR_CLASS;
        }
        deactivate(s);
        if (e == SLOT_ERR_REMOVED || !hal_sc_present())
            return SLOT_ERR_REMOVED;
        if (e != SLOT_ERR_MUTE && e != SLOT_ERR_CLASS)
            return e;
    }
    return e;
}

/* Exchange PPS (7816-3 §9.2): true when the card accepted `req`. */
static bool pps_exchange(struct slot *s, const uint8_t *req, size_t req_len, struct pps_result *res)
{
    uint8_t resp[PPS_MAX_LEN];
    size_t len = 0;
    uint64_t t0 = hal_now_ns();

    s->act.pps_tried = true;
    line_send(&s->line, req, req_len, 0);
    uint64_t deadline = hal_now_ns() + line_etu_ns(&s->line, INITIAL_WT_ETU);
    for (;;) {
        uint8_t c;
        if (line_recv(&s->line, &c, deadline) != LINE_RX_OK)
            return false;
        resp[len++] = c;
        size_t needed;
        struct pps_params p;
        enum pps_err e = pps_parse(resp, len, &p, &needed);
        if (e == PPS_OK)
            break;
        if (e != PPS_ERR_INCOMPLETE || len == sizeof resp)
            return false;
        deadline = s->line.last_rx_start_ns + line_etu_ns(&s->line, INITIAL_WT_ETU);
    }
    s->act.pps_ns = hal_now_ns() - t0;
    return pps_check_response(req, req_len, resp, len, res) == PPS_OK;
}

static void set_protocol(struct slot *s, uint8_t t, uint8_t fi_code, uint8_t di_code,
                         uint32_t clk_hz)
{
    uint32_t fmax;
    s->protocol = t;
    s->fi_code = fi_code;
    s->di_code = di_code;
    atr_fi_table(fi_code, &s->fi, &fmax);
    atr_di_table(di_code, &s->di);
    line_set_clock(&s->line, clk_hz);
    s->guard_etu = atr_cgt_etu(s->atr.n, t);
    enum sc_convention conv =
        s->atr.convention == ATR_CONV_INVERSE ? SC_CONVENTION_INVERSE : SC_CONVENTION_DIRECT;
    apply_line(s, s->fi, s->di, s->guard_etu, conv, t == 0);
    s->wt_ns = line_clocks_ns(&s->line, atr_wt_clocks(s->atr.wi, s->fi));
    s->bwt_ns = line_clocks_ns(&s->line, atr_bwt_clocks(s->atr.bwi, s->fi, s->di));
    s->cwt_etu = atr_cwt_etu(s->atr.cwi);
}

/* The clock for a card: its fmax (5 MHz without TA1) within the board's. */
static uint32_t limits_card_clock(const struct slot_limits *lim, uint8_t fi_code)
{
    uint16_t fi;
    uint32_t fmax_khz = 5000;
    if (!atr_fi_table(fi_code, &fi, &fmax_khz))
        fmax_khz = 5000;
    uint32_t hz = fmax_khz * 1000u;
    return hz < lim->clk_max_hz ? hz : lim->clk_max_hz;
}

static uint32_t card_clock(const struct slot *s, uint8_t fi_code)
{
    return limits_card_clock(&s->lim, fi_code);
}

/* Adds v to the ascending set out[0..n) unless it is there; returns the new n. */
static size_t set_add(uint32_t *out, size_t n, uint32_t v)
{
    size_t i = 0;
    while (i < n && out[i] < v)
        i++;
    if (i < n && out[i] == v)
        return n;
    memmove(out + i + 1, out + i, (n - i) * sizeof *out);
    out[i] = v;
    return n + 1;
}

size_t slot_clocks_khz(const struct slot_limits *lim, uint32_t out[SLOT_MAX_CLOCKS])
{
    size_t n = set_add(out, 0, ACTIVATION_CLK_HZ / 1000u);
    for (uint8_t code = 0; code < 16; code++) {
        uint16_t fi;
        uint32_t fmax;
        if (atr_fi_table(code, &fi, &fmax))
            n = set_add(out, n, limits_card_clock(lim, code) / 1000u);
    }
    return n;
}

size_t slot_data_rates(const struct slot_limits *lim, uint32_t out[SLOT_MAX_RATES])
{
    /* The default rate runs at the activation clock (select_protocol). */
    size_t n = set_add(out, 0, SLOT_DEFAULT_DATA_RATE);
    for (uint8_t f = 0; f < 16; f++) {
        uint16_t fi;
        uint32_t fmax;
        if (!atr_fi_table(f, &fi, &fmax))
            continue;
        for (uint8_t d = 1; d < 16; d++) {
            uint8_t di;
            if (!atr_di_table(d, &di) || !(lim->di_supported & (1u << d)) || (f == 1 && d == 1))
                continue;
            uint64_t bps = (uint64_t)limits_card_clock(lim, f) / 1000u * 1000u * di / fi;
            if (bps <= lim->max_baud)
                n = set_add(out, n, (uint32_t)bps);
        }
    }
    return n;
}

static enum slot_err run_t1(struct slot *s, struct t1_action *act);

static enum slot_err select_protocol(struct slot *s, enum sc_class only)
{
    struct pps_reader_limits lim = {.max_clock_khz = s->lim.clk_max_hz / 1000,
                                    .max_baud = s->lim.max_baud,
                                    .di_supported = s->lim.di_supported};
    struct pps_choice ch;
    enum pps_err pe = pps_choose(&s->atr, &lim, &ch);
    if (pe != PPS_OK || ch.t > 1)
        return SLOT_ERR_PROTOCOL;

    if (ch.pps_needed) {
        struct pps_params p = {
            .t = ch.t, .has_pps1 = true, .fi_code = ch.fi_code, .di_code = ch.di_code};
        uint8_t req[PPS_MAX_LEN];
        size_t req_len;
        struct pps_result res;
        if (pps_build_request(&p, req, sizeof req, &req_len) != PPS_OK)
            return SLOT_ERR_PPS;
        if (pps_exchange(s, req, req_len, &res)) {
            s->act.pps_accepted = true;
            uint32_t clk = res.default_rate ? ACTIVATION_CLK_HZ : card_clock(s, res.fi_code);
            set_protocol(s, res.t, res.fi_code, res.di_code, clk);
        } else {
            /* 7816-3 §9.2: a failed PPS leaves the card in an unknown state:
             * deactivate, activate again, and stay at the default rate with
             * the first protocol offered. */
            deactivate(s);
            if (!hal_sc_present())
                return SLOT_ERR_REMOVED;
            hal_delay_ns(CLASS_SWITCH_NS);
            enum slot_err e = activate(s, only == SC_CLASS_OFF ? s->act.vcc : only);
            if (e != SLOT_OK)
                return e;
            s->act.pps_tried = true;
            if (s->atr.first_protocol > 1)
                return SLOT_ERR_PROTOCOL;
            set_protocol(s, s->atr.first_protocol, 1, 1, ACTIVATION_CLK_HZ);
        }
    } else {
        /* Specific mode (TA2) or nothing to negotiate: the ATR's rate, at
         * the card's clock when TA1 is in force. */
        uint32_t clk =
            (ch.fi_code == 1 && ch.di_code == 1) ? ACTIVATION_CLK_HZ : card_clock(s, ch.fi_code);
        set_protocol(s, ch.t, ch.fi_code, ch.di_code, clk);
    }

    if (s->protocol == 1) {
        struct t1_config cfg = {.ifsc = (uint8_t)s->atr.ifsc,
                                .ifsd = (uint8_t)s->lim.ifsd,
                                .edc = s->atr.edc == ATR_EDC_CRC ? T1_EDC_CRC : T1_EDC_LRC,
                                .nad = 0,
                                .bwt = (uint32_t)((s->bwt_ns + 999) / 1000),
                                .cwt = s->cwt_etu};
        if (t1_ifd_init(&s->t1, &cfg) != T1_OK)
            return SLOT_ERR_PROTOCOL;
        /* 7816-3 §11.4.2: announce our IFSD, so the card need not chain
         * responses at the default 32 bytes. */
        struct t1_action act;
        if (t1_ifd_ifs_begin(&s->t1, &act) != T1_OK)
            return SLOT_ERR_PROTOCOL;
        enum slot_err e = run_t1(s, &act);
        if (e == SLOT_ERR_REMOVED || e == SLOT_ERR_T1_DEAD)
            return e;
    } else {
        t0_ifd_init(&s->t0);
    }
    return SLOT_OK;
}

enum slot_err slot_power_on(struct slot *s, enum sc_class only_class)
{
    bool changed;
    slot_poll(s, &changed);
    if (s->state == SLOT_ABSENT)
        return SLOT_ERR_ABSENT;
    if (s->state == SLOT_ACTIVE)
        deactivate(s);
    s->state = SLOT_INACTIVE;
    line_tick_restart(&s->line);

    enum slot_err e = activate(s, only_class);
    if (e == SLOT_OK)
        e = select_protocol(s, only_class);
    if (e != SLOT_OK) {
        deactivate(s);
        if (e == SLOT_ERR_REMOVED || !hal_sc_present())
            s->state = SLOT_ABSENT;
        return removed_or(e);
    }
    s->state = SLOT_ACTIVE;
    return SLOT_OK;
}

/* Drives the T=1 machine from its action until DONE or ERROR, or until a
 * streamed exchange pauses (NEED_DATA, WINDOW: SLOT_OK, act says which). */
static enum slot_err run_t1(struct slot *s, struct t1_action *act)
{
    uint8_t block[T1_BLOCK_MAX];
    for (;;) {
        switch (act->kind) {
        case T1_ACT_DONE:
        case T1_ACT_NEED_DATA:
        case T1_ACT_WINDOW: return SLOT_OK;
        case T1_ACT_ERROR:
            if (act->err == T1_ERR_RESPONSE_TOO_LONG)
                return SLOT_ERR_RESPONSE_TOO_LONG;
            if (act->fatal)
                return SLOT_ERR_T1_DEAD;
            return SLOT_ERR_T1_RESYNCHED;
        case T1_ACT_SEND:
            if (act->wtx)
                s->last_wtx = act->wtx;
            line_send(&s->line, act->block, act->block_len, LINE_T1_BGT_ETU);
            break;
        case T1_ACT_NONE:
        case T1_ACT_DELIVER_APDU: break;
        }
        struct t1_event ev;
        uint64_t deadline = hal_now_ns() + (uint64_t)act->wait * 1000u;
        if (line_t1_recv(&s->line, block, sizeof block, s->t1.cfg.edc, deadline, s->cwt_etu, &ev) ==
            LINE_RX_REMOVED)
            return SLOT_ERR_REMOVED;
        t1_ifd_step(&s->t1, &ev, act);
    }
}

static enum slot_err transmit_t1(struct slot *s, const uint8_t *apdu, size_t len, uint8_t *resp,
                                 size_t cap, size_t *rlen)
{
    struct t1_action act;
    if (t1_ifd_transceive_begin(&s->t1, apdu, len, resp, cap, &act) != T1_OK)
        return SLOT_ERR_COMMAND_TOO_LONG;
    enum slot_err e = run_t1(s, &act);
    if (e == SLOT_OK)
        *rlen = act.apdu_len;
    return e;
}

static enum slot_err transmit_t0(struct slot *s, const uint8_t *apdu, size_t len, uint8_t *resp,
                                 size_t cap, size_t *rlen)
{
    struct apdu cmd;
    enum apdu_case c;
    struct t0_io io;

    if (apdu_decode(apdu, len, &cmd, &c) != APDU_OK || cap < 2)
        return SLOT_ERR_COMMAND_TOO_LONG;
    size_t data_cap = cap - 2 < cmd.ne ? cap - 2 : cmd.ne;
    if (t0_ifd_transmit(&s->t0, &cmd, resp, data_cap, &io) != T0_OK)
        return cmd.ne > cap - 2 ? SLOT_ERR_RESPONSE_TOO_LONG : SLOT_ERR_COMMAND_TOO_LONG;

    for (;;) {
        if (io.tx_len)
            line_send(&s->line, io.tx, io.tx_len, 0);
        if (io.done)
            break;
        if (io.rx_len == 0)
            return SLOT_ERR_PROCEDURE;
        /* 7816-3 §10.2: each character within WT of the previous leading edge. */
        uint8_t ch;
        uint64_t from = hal_now_ns();
        enum line_rx r = line_recv(&s->line, &ch, from + s->wt_ns);
        enum t0_err te;
        if (r == LINE_RX_REMOVED)
            return SLOT_ERR_REMOVED;
        if (r == LINE_RX_TIMEOUT) {
            t0_ifd_timeout(&s->t0, &io);
            deactivate(s);
            s->state = SLOT_INACTIVE;
            return removed_or(SLOT_ERR_TIMEOUT);
        }
        if (r == LINE_RX_PARITY)
            return SLOT_ERR_PARITY;
        te = t0_ifd_rx(&s->t0, &ch, 1, &io);
        if (te != T0_OK)
            return te == T0_ERR_BUFFER_TOO_SMALL ? SLOT_ERR_RESPONSE_TOO_LONG : SLOT_ERR_PROCEDURE;
        if (io.null_received)
            s->last_wtx = 1;
    }
    struct rapdu r;
    if (t0_ifd_response(&s->t0, &r) != T0_OK)
        return SLOT_ERR_PROCEDURE;
    /* r.data already sits at the start of resp; the status word follows it. */
    if (r.data != resp && r.len)
        memmove(resp, r.data, r.len);
    resp[r.len] = (uint8_t)(r.sw >> 8);
    resp[r.len + 1] = (uint8_t)r.sw;
    *rlen = r.len + 2;
    return SLOT_OK;
}

/* After an exchange: a card gone or a dead link takes the slot down. */
static enum slot_err exchange_end(struct slot *s, enum slot_err e)
{
    if (e == SLOT_ERR_REMOVED || e == SLOT_ERR_T1_DEAD) {
        deactivate(s);
        s->state = hal_sc_present() ? SLOT_INACTIVE : SLOT_ABSENT;
        if (s->state == SLOT_ABSENT)
            e = SLOT_ERR_REMOVED;
    }
    return e;
}

static enum slot_err exchange_start(struct slot *s)
{
    if (s->state == SLOT_ABSENT)
        return SLOT_ERR_ABSENT;
    if (s->state != SLOT_ACTIVE)
        return SLOT_ERR_INACTIVE;
    line_tick_restart(&s->line);
    return SLOT_OK;
}

enum slot_err slot_transmit(struct slot *s, const uint8_t *apdu, size_t len, uint8_t *resp,
                            size_t cap, size_t *rlen)
{
    *rlen = 0;
    enum slot_err e = exchange_start(s);
    if (e != SLOT_OK)
        return e;
    e = s->protocol == 1 ? transmit_t1(s, apdu, len, resp, cap, rlen)
                         : transmit_t0(s, apdu, len, resp, cap, rlen);
    return exchange_end(s, e);
}

/* Runs a streamed T=1 exchange to its next pause or its end. */
static enum slot_err xfr_run(struct slot *s, struct xfr *x)
{
    enum slot_err e = run_t1(s, &s->t1_act);
    s->xfr_paused = false;
    if (e == SLOT_OK) {
        x->len = s->t1_act.apdu_len;
        switch (s->t1_act.kind) {
        case T1_ACT_NEED_DATA:
            x->state = XFR_NEED_COMMAND;
            s->xfr_paused = true;
            break;
        case T1_ACT_WINDOW:
            x->state = XFR_WINDOW;
            s->xfr_paused = true;
            break;
        default: x->state = XFR_DONE; break;
        }
    }
    return exchange_end(s, e);
}

enum slot_err slot_xfr_begin(struct slot *s, const uint8_t *part, size_t n, bool more, uint8_t *win,
                             size_t cap, struct xfr *x)
{
    *x = (struct xfr){.state = XFR_DONE};
    s->xfr_paused = false;
    enum slot_err e = exchange_start(s);
    if (e != SLOT_OK)
        return e;
    if (s->protocol == 0) {
        /* T=0 sends a command APDU in one TPDU or one ENVELOPE sequence. */
        if (more)
            return SLOT_ERR_COMMAND_TOO_LONG;
        return exchange_end(s, transmit_t0(s, part, n, win, cap, &x->len));
    }
    if (t1_ifd_stream_begin(&s->t1, part, n, more, win, cap, &s->t1_act) != T1_OK)
        return SLOT_ERR_COMMAND_TOO_LONG;
    return xfr_run(s, x);
}

enum slot_err slot_xfr_command(struct slot *s, const uint8_t *part, size_t n, bool more,
                               struct xfr *x)
{
    enum slot_err e = exchange_start(s);
    if (e != SLOT_OK)
        return e;
    if (!s->xfr_paused || t1_ifd_stream_more(&s->t1, part, n, more, &s->t1_act) != T1_OK)
        return SLOT_ERR_COMMAND_TOO_LONG;
    return xfr_run(s, x);
}

enum slot_err slot_xfr_next(struct slot *s, struct xfr *x)
{
    enum slot_err e = exchange_start(s);
    if (e != SLOT_OK)
        return e;
    if (!s->xfr_paused || t1_ifd_window_next(&s->t1, &s->t1_act) != T1_OK)
        return SLOT_ERR_RESPONSE_TOO_LONG;
    return xfr_run(s, x);
}

void slot_xfr_abort(struct slot *s)
{
    if (!s->xfr_paused)
        return;
    s->xfr_paused = false;
    if (s->state != SLOT_ACTIVE || t1_ifd_abort(&s->t1, &s->t1_act) != T1_OK)
        return;
    /* Ends with T1_ERR_ABORTED, or resynchronisation if the card is lost. */
    exchange_end(s, run_t1(s, &s->t1_act));
}

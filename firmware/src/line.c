#include "line.h"

#include "hal/timer.h"

void line_init(struct line *l, line_tick_fn tick, void *ctx, uint64_t tick_ns)
{
    *l = (struct line){.tick = tick, .tick_ctx = ctx, .tick_ns = tick_ns};
}

void line_tick_restart(struct line *l)
{
    l->tick_base_ns = hal_now_ns();
}

static void update_etu(struct line *l)
{
    if (l->cfg.di == 0 || l->clk_hz == 0) {
        l->etu_ps = 0;
        return;
    }
    l->etu_ps = ((uint64_t)l->cfg.fi * 1000000000000ull + (uint64_t)l->cfg.di * l->clk_hz / 2) /
                ((uint64_t)l->cfg.di * l->clk_hz);
}

uint32_t line_set_clock(struct line *l, uint32_t hz)
{
    l->clk_hz = hal_sc_clk(hz);
    update_etu(l);
    return l->clk_hz;
}

void line_configure(struct line *l, const struct sc_line_config *cfg)
{
    l->cfg = *cfg;
    update_etu(l);
    hal_sc_configure(cfg);
}

uint64_t line_etu_ns(const struct line *l, uint64_t etu)
{
    return (etu * l->etu_ps + 999) / 1000;
}

uint64_t line_clocks_ns(const struct line *l, uint64_t clocks)
{
    if (l->clk_hz == 0)
        return 0;
    return (clocks * 1000000000ull + l->clk_hz - 1) / l->clk_hz;
}

void line_send(struct line *l, const uint8_t *p, size_t n, uint64_t guard_etu)
{
    if (guard_etu && l->have_rx) {
        /* 7816-3 §11.2: BGT between the leading edges of the last character
         * received and the first one sent. */
        uint64_t earliest = l->last_rx_start_ns + line_etu_ns(l, guard_etu);
        uint64_t now = hal_now_ns();
        if (earliest > now)
            hal_delay_ns(earliest - now);
    }
    hal_sc_send(p, n);
    l->chars_tx += n;
    l->busy_ns += n * line_etu_ns(l, l->cfg.char_etu);
}

enum line_rx line_recv(struct line *l, uint8_t *c, uint64_t deadline_ns)
{
    uint64_t start = l->tick_base_ns;
    for (;;) {
        /* Never let the host go tick_ns without news, however the waits are
         * cut up (several BWTs, NULL bytes, WTX). */
        uint64_t slice = deadline_ns;
        bool ticking = l->tick && l->tick_ns && l->tick_base_ns + l->tick_ns < deadline_ns;
        if (ticking)
            slice = l->tick_base_ns + l->tick_ns;
        enum sc_rx r = hal_sc_recv(c, slice);
        if (r == SC_RX_TIMEOUT && ticking) {
            l->tick_base_ns = slice;
            if (!l->tick(l->tick_ctx, slice - start))
                return LINE_RX_REMOVED;
            continue;
        }
        switch (r) {
        case SC_RX_OK:
        case SC_RX_PARITY_ERROR: {
            /* hal_sc_recv returns when the character is complete. */
            uint64_t char_ns = line_etu_ns(l, l->cfg.char_etu);
            uint64_t now = hal_now_ns();
            l->last_rx_start_ns = now > char_ns ? now - char_ns : 0;
            l->have_rx = true;
            l->chars_rx++;
            l->busy_ns += char_ns;
            return r == SC_RX_OK ? LINE_RX_OK : LINE_RX_PARITY;
        }
        case SC_RX_TIMEOUT: return LINE_RX_TIMEOUT;
        case SC_RX_REMOVED: return LINE_RX_REMOVED;
        }
        return LINE_RX_REMOVED;
    }
}

/* Reads characters until CWT passes without one, so a broken block is
 * followed by silence before we answer it (7816-3 §11.6.3). */
static enum line_rx drain(struct line *l, uint32_t cwt_etu)
{
    uint8_t c;
    for (;;) {
        enum line_rx r = line_recv(l, &c, l->last_rx_start_ns + line_etu_ns(l, cwt_etu));
        if (r == LINE_RX_TIMEOUT || r == LINE_RX_REMOVED)
            return r;
    }
}

enum line_rx line_t1_recv(struct line *l, uint8_t *buf, size_t cap, enum t1_edc edc,
                          uint64_t first_deadline_ns, uint32_t cwt_etu, struct t1_event *ev)
{
    size_t len = 0, want = T1_PROLOGUE_LEN;
    bool bad = false;

    *ev = (struct t1_event){.kind = T1_EV_BLOCK, .data = buf};
    while (len < want) {
        uint8_t c;
        uint64_t deadline =
            len == 0 ? first_deadline_ns : l->last_rx_start_ns + line_etu_ns(l, cwt_etu);
        enum line_rx r = line_recv(l, &c, deadline);
        if (r == LINE_RX_REMOVED)
            return r;
        if (r == LINE_RX_TIMEOUT) {
            /* Silence before the first character is a BWT timeout; in the
             * middle of a block it is a CWT violation. */
            ev->kind = len == 0 ? T1_EV_TIMEOUT : T1_EV_RX_ERROR;
            return LINE_RX_OK;
        }
        if (r == LINE_RX_PARITY)
            bad = true;
        if (len < cap)
            buf[len] = c;
        len++;
        if (len == T1_PROLOGUE_LEN) {
            size_t more;
            if (bad || t1_block_remaining(buf, edc, &more) != T1_OK || len + more > cap) {
                ev->kind = T1_EV_RX_ERROR;
                return drain(l, cwt_etu) == LINE_RX_REMOVED ? LINE_RX_REMOVED : LINE_RX_OK;
            }
            want = len + more;
        }
    }
    /* The sender is silent for at least BGT after its block (7816-3 §11.2):
     * a character inside that window means the block was framed wrongly (a
     * character doubled on the line), whatever its EDC says. We wait out the
     * BGT before answering anyway, so looking costs nothing. */
    uint8_t extra;
    enum line_rx r = line_recv(l, &extra, l->last_rx_start_ns + line_etu_ns(l, LINE_T1_BGT_ETU));
    if (r == LINE_RX_REMOVED)
        return r;
    if (r != LINE_RX_TIMEOUT) {
        ev->kind = T1_EV_RX_ERROR;
        return drain(l, cwt_etu) == LINE_RX_REMOVED ? LINE_RX_REMOVED : LINE_RX_OK;
    }
    if (bad)
        ev->kind = T1_EV_RX_ERROR;
    ev->len = len;
    return LINE_RX_OK;
}

/*
 * line: the card-line driver, between the protocol state machines of
 * common/ and the board's hal/uart_sc. It turns ETUs and clock cycles into
 * board time, keeps the waiting times of ISO/IEC 7816-3 (the initial waiting
 * time 9600 etu of §8.1 and §9.1, T=0's WT of §10.2, T=1's CWT, BWT and BGT
 * of §11.2 and §11.4.3), and reports a long wait to its caller at least every
 * `tick_ns` so the reader can send CCID time extensions while the card works.
 */
#ifndef HAWIYA_FW_LINE_H
#define HAWIYA_FW_LINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hal/uart_sc.h"
#include "hawiya/t1.h"

/* 7816-3 §11.2: block guard time, between the leading edges of the last
 * character of a block and the first of the next block the other way. */
#define LINE_T1_BGT_ETU 22u

/* Called while a wait goes on, `tick_ns` after the previous call or after
 * line_tick_restart(); `waited_ns` since that restart. Returns false to
 * abandon the exchange (the host that asked for it is gone): the wait then
 * ends as if the card had left, and the slot looks at the card again. */
typedef bool (*line_tick_fn)(void *ctx, uint64_t waited_ns);

struct line {
    uint32_t clk_hz;
    struct sc_line_config cfg;
    uint64_t etu_ps;           /* 1 etu at cfg.fi / cfg.di and clk_hz */
    uint64_t last_rx_start_ns; /* leading edge of the last character received (for BGT) */
    bool have_rx;
    line_tick_fn tick;
    void *tick_ctx;
    uint64_t tick_ns;
    uint64_t tick_base_ns; /* the host last heard from us then */
    /* Characters on the line and the time they took, since start. */
    uint64_t chars_tx, chars_rx;
    uint64_t busy_ns;
};

enum line_rx {
    LINE_RX_OK = 0,
    LINE_RX_TIMEOUT,
    LINE_RX_PARITY,
    LINE_RX_REMOVED,
};

void line_init(struct line *l, line_tick_fn tick, void *ctx, uint64_t tick_ns);
/* The host has just heard from the reader: ticks count from now. */
void line_tick_restart(struct line *l);
/* Applies the clock and the UART framing; returns the clock the board made. */
uint32_t line_set_clock(struct line *l, uint32_t hz);
void line_configure(struct line *l, const struct sc_line_config *cfg);

uint64_t line_etu_ns(const struct line *l, uint64_t etu);
uint64_t line_clocks_ns(const struct line *l, uint64_t clocks);

/* Sends characters, after the block guard time when T=1 asks for it. */
void line_send(struct line *l, const uint8_t *p, size_t n, uint64_t guard_etu);

/* One character before `deadline_ns`, with ticks during the wait. */
enum line_rx line_recv(struct line *l, uint8_t *c, uint64_t deadline_ns);

/*
 * One T=1 block: the first character before `first_deadline_ns` (BWT), the
 * next ones each within CWT (`cwt_etu`) of the previous one's leading edge.
 * Fills `ev` for t1_ifd_step / t1_card_step; returns LINE_RX_REMOVED when the
 * card went away, else LINE_RX_OK (with the event saying what happened).
 */
enum line_rx line_t1_recv(struct line *l, uint8_t *buf, size_t cap, enum t1_edc edc,
                          uint64_t first_deadline_ns, uint32_t cwt_etu, struct t1_event *ev);

#endif

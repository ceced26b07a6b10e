/*
 * mock_board: a board (every header of firmware/hal/) for unit tests and fuzz targets of
 * the reader firmware. The host link is a byte queue the test fills and a
 * callback that sees every message the firmware sends; the flash is RAM;
 * the RNG is a seeded xorshift, so a run is replayed exactly; time is a
 * counter that only waits advance. The card slot is empty, or holds a mute
 * card (present, never answers: every receive times out at its deadline).
 * Like every board, it is the one place with global state.
 */
#ifndef HAWIYA_MOCK_BOARD_H
#define HAWIYA_MOCK_BOARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hal/board.h"
#include "hal/flash.h"
#include "hal/host_link.h"
#include "hal/rng.h"
#include "hal/timer.h"
#include "hal/uart_sc.h"

#define MOCK_FLASH_RECORDS 3
#define MOCK_FLASH_MAX     2048

/* Called for every bulk-IN (notify = false) and interrupt-IN message. */
typedef void (*mock_send_fn)(void *ctx, bool notify, const uint8_t *msg, size_t n);

struct mock_board {
    /* host link */
    bool host_connected;
    const uint8_t *host_in; /* what the host sends, handed out in chunks */
    size_t host_in_len, host_in_pos;
    size_t host_chunk; /* bytes per hal_host_recv (0: all that fits) */
    bool host_closed;  /* after host_in: HOST_RX_CLOSED instead of HOST_RX_IDLE */
    mock_send_fn on_send;
    void *on_send_ctx;
    unsigned sent, notified;
    /* card slot */
    bool card_present;
    uint32_t insertions;
    enum sc_class vcc;
    uint32_t clk_hz;
    bool rst_high;
    size_t chars_sent;
    /* flash */
    uint8_t flash[MOCK_FLASH_RECORDS][MOCK_FLASH_MAX];
    size_t flash_len[MOCK_FLASH_RECORDS];
    bool flash_has[MOCK_FLASH_RECORDS];
    bool flash_fail; /* every write fails */
    unsigned flash_writes;
    /* rng, clock */
    uint64_t rng_state;
    bool rng_fail;
    uint64_t now_ns, cpu_ns;
};

extern struct mock_board mock_board;

/* Back to an empty slot, no host, erased flash, RNG seeded with `seed`, time 0. */
void mock_board_reset(uint64_t seed);

#endif

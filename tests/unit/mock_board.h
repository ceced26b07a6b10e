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
#include "hal/rf.h"
#include "hal/rng.h"
#include "hal/timer.h"
#include "hal/uart_sc.h"

/* The flash: up to MOCK_FLASH_BYTES in sectors of the geometry below. */
#define MOCK_FLASH_BYTES  65536
#define MOCK_FLASH_SECTOR 4096 /* the default sector size, two sectors */
#define MOCK_OTP_BYTES    512

/* Called for every bulk-IN (notify = false) and interrupt-IN message. */
typedef void (*mock_send_fn)(void *ctx, bool notify, const uint8_t *msg, size_t n);

struct mock_board {
    /* host link */
    bool host_connected;
    const uint8_t *host_in; /* what the host sends, handed out in chunks */
    size_t host_in_len, host_in_pos;
    size_t host_chunk;         /* bytes per hal_host_recv (0: all that fits) */
    bool host_closed;          /* after host_in: HOST_RX_CLOSED instead of HOST_RX_IDLE */
    uint32_t host_attachments; /* hal_host_attachments(): bump it for a new host */
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
    /* flash (hal/flash.h semantics: erase to 0xFF, program erased bytes only) */
    uint8_t flash[MOCK_FLASH_BYTES];
    uint8_t otp[MOCK_OTP_BYTES];
    uint32_t sector_size, sectors, prog_unit, otp_size; /* the geometry (reset: 4096, 2, 8, 512) */
    bool flash_missing;                                 /* hal_flash_info fails: no usable flash */
    bool flash_fail; /* every program and erase fails (the flash is worn out) */
    /* Power cut: after `flash_budget` more bytes are programmed or erased
     * (-1: never), the byte being programmed keeps only the bits of
     * `flash_torn_mask` cleared, an erase stops there, and every flash call
     * fails until mock_board_power_cycle(). */
    long flash_budget;
    uint8_t flash_torn_mask;
    bool powered_off;
    unsigned flash_programs, flash_erases;
    unsigned erases_per_sector[16];
    /* rng, clock */
    uint64_t rng_state;
    bool rng_fail;
    uint64_t now_ns, cpu_ns;
};

extern struct mock_board mock_board;

/* Back to an empty slot, no host, erased flash, RNG seeded with `seed`, time 0. */
void mock_board_reset(uint64_t seed);
/* Power comes back after a cut: the flash works again (its bytes stay as the cut left them). */
void mock_board_power_cycle(void);

#endif

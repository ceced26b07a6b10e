/*
 * rf_link: the contactless frame driver, between the ISO/IEC 14443 state
 * machines of common/ and the board's hal/rf, as line.c is for the card
 * contacts. It adds and checks CRC_A / CRC_B itself when the front end
 * cannot (14443-3 Annex B), keeps the guard times between frames (the
 * PCD's wait after a PICC frame, 14443-3 6.2.1.2 and 7.10.3, and SFGT),
 * accounts the air time of every frame both ways, and tells its caller at
 * least every `tick_ns` of waiting so the reader can send CCID time
 * extensions while a card works.
 */
#ifndef HAWIYA_FW_RF_LINK_H
#define HAWIYA_FW_RF_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hal/rf.h"
#include "hawiya/iso14443.h"
#include "hawiya/isodep.h"
#include "line.h"

/* The largest frame handled: our FSD, an ATS or an I-block, CRC included. */
#define RF_LINK_FRAME_MAX (ISODEP_FRAME_MAX + ISO14443_CRC_LEN)

struct rf_link {
    struct rf_caps caps;
    bool field;
    enum iso14443_type type;
    enum iso14443_rate tx_rate, rx_rate;
    uint64_t last_end_ns; /* end of the last frame on the air, either way */
    line_tick_fn tick;
    void *tick_ctx;
    uint64_t tick_ns, tick_base_ns;
    bool abandoned; /* the tick said the host is gone: the exchange ends */
    /* since start */
    uint64_t frames_tx, frames_rx, busy_ns;
    uint8_t buf[RF_LINK_FRAME_MAX];
};

void rf_link_init(struct rf_link *l, line_tick_fn tick, void *ctx, uint64_t tick_ns);
/* True when the board has a front end (hal_rf_caps names a bit rate). */
bool rf_link_present(const struct rf_link *l);
void rf_link_tick_restart(struct rf_link *l);
void rf_link_field(struct rf_link *l, bool on);
void rf_link_configure(struct rf_link *l, enum iso14443_type t, enum iso14443_rate tx,
                       enum iso14443_rate rx);

/* One frame out, its answer in rx[0..cap) and described by *out (data
 * points into rx). */
void rf_link_xfer(struct rf_link *l, const struct iso14443_tx *tx, uint8_t *rx, size_t cap,
                  struct iso14443_rx *out);

#endif

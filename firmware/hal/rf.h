/*
 * hal/rf: the contactless front end (an NFC reader IC of the ST25R3916,
 * PN5180 or CLRC663 class driving the antenna), at the level such chips
 * offer: the carrier on or off (ISO/IEC 14443-2), the technology (Type A
 * or B) and the bit rate each way (fc/128 x 2^rate, 106 to 848 kbit/s), and
 * one frame sent and its answer received with a timeout, the chip adding
 * and checking CRC_A / CRC_B when asked and able (14443-3 Annex B), and
 * telling a damaged answer (CRC, parity, framing) from a collision, whose
 * first bit position it gives (14443-3 6.5.3.2).
 *
 * Time is the board's (hal/timer.h): the timeout counts from the end of
 * the frame sent to the start of the answer (frame delay or waiting time);
 * on the sim board both are simulated time, advanced by the frames' air
 * time. Cards are found only by polling: there is no presence switch.
 */
#ifndef HAWIYA_HAL_RF_H
#define HAWIYA_HAL_RF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum rf_tech { RF_TECH_A = 0, RF_TECH_B = 1 };

/* What the front end can do. */
#define RF_CAP_CRC_A 0x01u /* it adds and checks CRC_A itself */
#define RF_CAP_CRC_B 0x02u /* it adds and checks CRC_B itself */

struct rf_caps {
    unsigned flags;   /* RF_CAP_* */
    unsigned rates;   /* bit r set: rate r (enum iso14443_rate) both ways; 0: no front end */
    size_t max_frame; /* bytes of one frame either way, CRC included */
};

void hal_rf_caps(struct rf_caps *c);
/* Carrier on or off (off: every card in the field loses power). */
void hal_rf_field(bool on);
/* Technology and bit rates (enum iso14443_rate) for the frames that follow. */
void hal_rf_configure(enum rf_tech tech, unsigned tx_rate, unsigned rx_rate);

enum rf_rx {
    RF_RX_OK = 0,
    RF_RX_TIMEOUT,   /* nothing within the timeout */
    RF_RX_CRC,       /* an answer whose CRC the chip found wrong */
    RF_RX_FRAMING,   /* parity, coding or framing error, or a Type B collision */
    RF_RX_COLLISION, /* Type A: bits collided from coll_bit on */
    RF_RX_OVERFLOW,  /* more than rx_cap bytes */
};

struct rf_xfer {
    const uint8_t *tx;
    size_t tx_bits;      /* 7 (short frame), 16 + n (anticollision), or 8 x bytes */
    bool crc;            /* the chip appends the CRC and checks and strips it on the answer */
    uint8_t rx_align;    /* bit position of the answer's first bit in its first byte */
    uint64_t timeout_ns; /* end of our frame to the start of the answer */
    uint8_t *rx;
    size_t rx_cap;
};

struct rf_result {
    enum rf_rx status;
    size_t rx_bits;    /* bits received after rx_align (CRC stripped when the chip checked it) */
    uint16_t coll_bit; /* RF_RX_COLLISION: from bit 0 of rx[0] */
};

/* Sends one frame and receives its answer (or times out). */
void hal_rf_transceive(const struct rf_xfer *x, struct rf_result *r);

#endif

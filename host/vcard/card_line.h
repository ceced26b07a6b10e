/*
 * card_line: the virtual card's contacts, the card side of ISO/IEC 7816-3.
 * Fed the simline records the reader sends (VCC, CLK, RST, I/O characters,
 * hawiya/simline.h), it answers as a card would: the ATR after RST rises in
 * a voltage class the card accepts (§6.2, §8), the PPS reply (§9, card role
 * of common/pps), then T=0 (§10, common/t0 card role) or T=1 (§11, common/t1
 * card role), handing each command APDU to the APDU-level card (vcard.h)
 * and sending the response after the persona's processing time, with
 * S(WTX) or NULL bytes when that time exceeds the waiting time.
 *
 * Time: the card keeps its own copy of simulated time, driven by the
 * reader's records; every character it sends is stamped, and every batch
 * of output ends with SYNC (quiet until the reader sends again).
 * Pure state machine: the output records accumulate in `out`, the caller
 * writes them to the socket.
 */
#ifndef HAWIYA_CARD_LINE_H
#define HAWIYA_CARD_LINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hawiya/atr.h"
#include "hawiya/simline.h"
#include "hawiya/t0.h"
#include "hawiya/t1.h"
#include "vcard.h"

#define CARD_LINE_MAX_APDU 65544u
#define CARD_LINE_OUT_MAX  (2u * CARD_LINE_MAX_APDU + 64u * SIMLINE_HEADER_SIZE)

enum card_line_phase {
    CARD_OFF,      /* no VCC, no clock, or RST low: silent */
    CARD_ATR_SENT, /* waiting for PPS or the first command */
    CARD_PPS,      /* receiving a PPS request */
    CARD_T0,
    CARD_T1,
    CARD_MUTE, /* an erroneous PPS or an unusable voltage: silent until reset */
};

struct card_line_stats {
    uint64_t apdus;
    uint64_t card_ns; /* processing time spent by the card (persona timing) */
    uint64_t wtx;     /* S(WTX request) blocks or NULL bytes sent */
};

struct card_line {
    struct vcard *vc;
    const struct persona *persona;
    struct atr atr;
    uint8_t classes; /* ATR_CLASS_* the card works in */

    bool present;
    uint16_t vcc_mv;
    uint32_t clk_hz;
    bool rst_high;
    enum card_line_phase phase;
    uint64_t now_ns;
    uint64_t last_rx_start_ns;

    /* line parameters in force */
    unsigned fi, di, char_etu;
    uint32_t etu_ps;
    uint8_t protocol;

    /* receive assembly */
    uint8_t rx[T1_BLOCK_MAX + 8];
    size_t rx_len;
    bool rx_bad;

    /* T=1 */
    struct t1_card t1;
    uint64_t bwt_ns;
    uint32_t cwt_etu;
    bool t1_complete; /* rx holds a whole block, handed over at the record's end */
    /* T=0 */
    struct t0_card t0;
    uint64_t wt_ns;

    /* the APDU being worked on */
    uint8_t cmd[CARD_LINE_MAX_APDU];
    uint8_t resp[CARD_LINE_MAX_APDU];
    size_t resp_len;
    uint64_t ready_ns; /* when the response is ready */
    bool working;

    /* A removal scheduled in simulated time (0: none): the card leaves the
     * slot instead of sending anything that would start after it, which is
     * how a test pulls a card out in the middle of an exchange. */
    uint64_t remove_at_ns;
    /* A card that does not take PPS: it stays silent on any request (7816-3
     * §9.2 lets the reader only time out and reset it). */
    bool pps_mute;
    /* A card that never finishes a command: over T=1 it asks for more time
     * (S(WTX) requests) for ever, so its reader keeps sending CCID time
     * extensions to the host (the fault a host's deadlines exist for). */
    bool stall;

    uint8_t out[CARD_LINE_OUT_MAX];
    size_t out_len;
    struct card_line_stats stats;
};

/* The persona must have a valid ATR (persona_load checks it). */
int card_line_init(struct card_line *c, struct vcard *vc, const struct persona *p, bool present);

/* One record from the reader; the answer (ending with SYNC) is appended to out. */
void card_line_input(struct card_line *c, const struct simline_msg *m);

/* The card is put in or taken out of the slot; a PRESENCE record goes to out. */
void card_line_set_present(struct card_line *c, bool present);

/* A reader (re)connected: its contacts start unpowered and its simulated
 * clock starts again from zero, so the card's clock follows. */
void card_line_new_reader(struct card_line *c);

/* Takes the card out `after_ns` of simulated time from now (see remove_at_ns). */
void card_line_remove_after(struct card_line *c, uint64_t after_ns);

#endif

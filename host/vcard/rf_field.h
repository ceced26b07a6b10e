/*
 * rf_field: the virtual cards' side of a reader's RF field, ISO/IEC 14443.
 * Fed the simline records the reader sends on the contactless socket
 * (RF_FIELD: carrier on / off; RF_FRAME: one frame on the air,
 * hawiya/simline.h), it answers as the proximity cards in the field would:
 * each card's Type A or Type B activation (hawiya/iso14443a.h / b.h, PICC
 * role), then the 14443-4 block protocol (hawiya/isodep.h, PICC role)
 * carrying command APDUs to its APDU-level card (vcard.h), with the
 * persona's processing time and S(WTX) requests when that time exceeds the
 * frame waiting time: at once after the command, then halfway through each
 * extension granted, each for at most what the reader will wait (FWT x WTXM
 * is capped at FWTmax, 4.95 s: 14443-4 7.2), so any processing time up to
 * the personas' 60 s is carried.
 *
 * Time: every frame is stamped. A card answers at the end of the reader's
 * frame plus the frame delay time (Type A 1172 / fc, Type B TR0) plus, for
 * a command APDU, its processing time; the answer takes its air time at the
 * bit rate in force (SOF, characters, EOF, TR1: iso14443_frame_ns). Every
 * batch of output ends with SYNC (quiet until the reader sends again).
 *
 * Several cards may be in the field (anticollision): their answers to the
 * same frame start together and superpose. Type A: the union of their bits,
 * flagged with the first bit where they differ (what a front end's
 * collision detection sees); Type B: a damaged frame.
 *
 * A card leaves the field at a point of simulated time or after a number of
 * frames (rf_field_leave_after*): an answer it would start after leaving is
 * never sent, and one it is sending when it leaves arrives cut (damaged).
 * Pure state machine: output records accumulate in `out`.
 */
#ifndef HAWIYA_RF_FIELD_H
#define HAWIYA_RF_FIELD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hawiya/iso14443a.h"
#include "hawiya/iso14443b.h"
#include "hawiya/isodep.h"
#include "hawiya/simline.h"
#include "persona.h"
#include "vcard.h"

#define RF_FIELD_CARDS   2
#define RF_FIELD_APDU    65544u
#define RF_FIELD_OUT_MAX (8u * (SIMLINE_HEADER_SIZE + 8u + SIMLINE_RF_MAX))

struct rf_card_stats {
    uint64_t apdus;
    uint64_t card_ns; /* processing time spent (persona timing) */
    uint64_t wtx;     /* S(WTX request) blocks sent */
    uint64_t frames_rx, frames_tx;
    uint64_t deselects; /* S(DESELECT) answered: sessions the reader ended */
};

struct rf_card {
    struct vcard *vc;
    const struct persona *persona;
    bool used;     /* a card is in this place */
    bool in_field; /* and near enough the antenna to be powered */
    struct iso14443a_picc a;
    struct iso14443b_picc b;
    struct isodep_picc dep;
    bool dep_on;                 /* 14443-4 active (ATS or answer to ATTRIB sent) */
    enum iso14443_rate dsi, dri; /* PICC to PCD, PCD to PICC */
    uint64_t fwt_ns;
    size_t fsc; /* the frame size it takes */
    /* the APDU being worked on */
    bool working;
    uint64_t ready_ns;
    size_t resp_len;
    /* leaving: at a time (0: not scheduled), or after more frames (-1: no) */
    uint64_t leave_at_ns;
    long leave_after_frames;
    struct rf_card_stats stats;
    uint8_t cmd[RF_FIELD_APDU];
    uint8_t resp[RF_FIELD_APDU];
};

struct rf_field {
    bool field_on;
    uint64_t now_ns;
    struct rf_card cards[RF_FIELD_CARDS];
    uint64_t frames_rx;  /* frames from the reader */
    uint64_t collisions; /* answers of several cards superposed */
    uint64_t deselects;  /* S(DESELECT) answered by any card (sessions ended) */
    /* From the first frame after rf_field_mark() to the end of the last answer: how long
     * an exchange held the channel (benchmarks take the card's time out). */
    uint64_t span_first_ns, span_last_ns;
    enum iso14443_rate last_rate;
    uint8_t out[RF_FIELD_OUT_MAX];
    size_t out_len;
};

void rf_field_init(struct rf_field *f);

/* Puts a card (its APDU core and persona, which must support contactless)
 * in place `slot`, out of the field; `seed` is the Type B card's random
 * slot choice. Returns 0, or -1 if the persona has no contactless side. */
int rf_field_place(struct rf_field *f, unsigned slot, struct vcard *vc, const struct persona *p,
                   uint32_t seed);
/* Takes the card of that place away entirely. */
void rf_field_unplace(struct rf_field *f, unsigned slot);

/* The card enters the field (is tapped) or leaves it now. */
void rf_field_enter(struct rf_field *f, unsigned slot);
void rf_field_leave(struct rf_field *f, unsigned slot);
/* It leaves `after_ns` of simulated time from now, or after it has taken
 * `frames` more frames from the reader (0: before the next one). */
void rf_field_leave_after(struct rf_field *f, unsigned slot, uint64_t after_ns);
void rf_field_leave_after_frames(struct rf_field *f, unsigned slot, long frames);

/* One record from the reader; the answer (ending with SYNC) goes to out. */
void rf_field_input(struct rf_field *f, const struct simline_msg *m);

/* Starts a new span (span_first_ns / span_last_ns). */
void rf_field_mark(struct rf_field *f);

/* A reader (re)connected: its field is off and its clock starts from zero. */
void rf_field_new_reader(struct rf_field *f);

#endif

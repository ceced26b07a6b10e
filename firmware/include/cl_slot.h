/*
 * cl_slot: the reader's contactless slot, ISO/IEC 14443 seen from the
 * proximity coupling device. It polls for Type A and Type B cards in turn
 * (WUPA, then WUPB: 14443-3 clauses 6 and 7) while the field is empty,
 * activates the card it finds up to the 14443-4 block protocol (RATS / ATS
 * and PPS to the fastest bit rate both sides take, or ATTRIB), checks now
 * and then that the card is still there (a presence check: R(NAK) answered
 * by R(ACK), 14443-4 7.5.4 rule 12), and carries APDUs with the block
 * protocol of common/isodep, chained both ways.
 *
 * To the host the slot shows the card as a PC/SC reader does (PC/SC Part 3
 * 3.1.3.2.3): an ATR built from the ATS historical bytes (Type A) or the
 * ATQB's application data and protocol info (Type B), and T=1.
 *
 * States: ABSENT (nobody in the field), PRESENT (a card answered polling;
 * it is kept activated while unused, so the host's power-on is immediate),
 * ACTIVE (the host powered it on). Power-off deselects the card and drops
 * the field; the next poll finds out whether it is still there. Like the
 * contact slot, everything is sequential and blocking on the board's HAL,
 * and a long wait reports to the tick callback at least every tick_ns.
 */
#ifndef HAWIYA_FW_CL_SLOT_H
#define HAWIYA_FW_CL_SLOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hawiya/iso14443a.h"
#include "hawiya/iso14443b.h"
#include "hawiya/isodep.h"
#include "hawiya/pcsc_atr.h"
#include "line.h"
#include "rf_link.h"
#include "xfr.h"

/* How often an empty field is polled, and a present card checked. */
#define CL_POLL_NS     100000000ull
#define CL_PRESENCE_NS 250000000ull
/* 14443-3 6.2 / NFC Forum GT: the field is on this long before the first request. */
#define CL_FIELD_SETTLE_NS 5000000ull
/* At least this long without field when a card must be reset (14443-3 6.3.1). */
#define CL_FIELD_RESET_NS 5000000ull

enum cl_state {
    CL_ABSENT = 0,
    CL_PRESENT, /* in the field (activated unless the host powered it off) */
    CL_ACTIVE,  /* powered on by the host */
};

enum cl_err {
    CL_OK = 0,
    CL_ERR_NO_FRONT_END, /* the board has no contactless front end */
    CL_ERR_ABSENT,       /* no card in the field */
    CL_ERR_REMOVED,      /* the card left the field during the operation */
    CL_ERR_INACTIVE,     /* the host has not powered the card on */
    CL_ERR_ACTIVATION,   /* activation failed (see last_act_err) */
    CL_ERR_NOT_ISO_DEP,  /* a card without ISO/IEC 14443-4 (no APDUs) */
    CL_ERR_TRANSMISSION, /* frames kept arriving damaged: the card was reset */
    CL_ERR_PROTOCOL,     /* the card broke the block protocol's rules: reset */
    CL_ERR_WTX_LIMIT,    /* the card asked for more time without end: reset */
    CL_ERR_RESPONSE_TOO_LONG,
    CL_ERR_COMMAND_TOO_LONG,
};

const char *cl_err_str(enum cl_err e);

struct cl_limits {
    unsigned max_rate; /* highest enum iso14443_rate the reader uses (front end permitting) */
    uint8_t fsdi;      /* our FSD in RATS / ATTRIB: 8 = 256 bytes */
};

struct cl_slot {
    enum cl_state state;
    struct cl_limits lim;
    struct rf_link link;
    bool activated; /* 14443-4 is up with the card */
    bool fresh;     /* ... and the host has not used it since */
    bool notify;    /* a change the next cl_slot_poll reports */
    enum iso14443_type type;
    enum iso14443_rate dsi, dri;
    struct iso14443a_pcd a;
    struct iso14443b_pcd b;
    struct isodep_pcd dep;
    uint8_t uid[ISO14443A_UID_MAX]; /* or the PUPI */
    size_t uid_len;
    uint8_t atr[PCSC_ATR_MAX];
    size_t atr_len;
    bool b_first;     /* which type the next poll tries first */
    uint64_t next_ns; /* the next poll or presence check */
    uint32_t taps;    /* cards that arrived since start */
    enum iso14443_err last_act_err;
    uint8_t last_wtx;
    uint64_t activation_ns; /* the last activation, field on to ready */
    uint8_t rx[RF_LINK_FRAME_MAX];
    /* a streamed exchange (cl_slot_xfr_*) paused between two calls */
    struct isodep_action xfr_act;
    bool xfr_paused;
};

void cl_slot_init(struct cl_slot *s, const struct cl_limits *lim, line_tick_fn tick,
                  void *tick_ctx);

/* Polls or checks presence when it is time; `changed`: tell the host
 * (NotifySlotChange). */
enum cl_state cl_slot_poll(struct cl_slot *s, bool *changed);

/* The card's ATR in s->atr, activating it again if needed. */
enum cl_err cl_slot_power_on(struct cl_slot *s);
/* S(DESELECT) and field off. */
void cl_slot_power_off(struct cl_slot *s);

/* One command APDU in, one response APDU out. */
enum cl_err cl_slot_transmit(struct cl_slot *s, const uint8_t *apdu, size_t len, uint8_t *resp,
                             size_t cap, size_t *rlen);

/*
 * A streamed exchange (xfr.h), as slot_xfr_* for the contact slot: the
 * command APDU comes in parts, the response leaves in windows of `cap`
 * bytes (at least 256), both chained on the air as they come (ISO-DEP
 * chaining, 14443-4 7.5.2). No presence check runs while it is paused.
 */
enum cl_err cl_slot_xfr_begin(struct cl_slot *s, const uint8_t *part, size_t n, bool more,
                              uint8_t *win, size_t cap, struct xfr *x);
enum cl_err cl_slot_xfr_command(struct cl_slot *s, const uint8_t *part, size_t n, bool more,
                                struct xfr *x);
enum cl_err cl_slot_xfr_next(struct cl_slot *s, struct xfr *x);
/* Gives up a paused exchange: ISO-DEP cannot abandon a chain, so the card
 * is deselected and the field reset; the slot is PRESENT (powered off). */
void cl_slot_xfr_abort(struct cl_slot *s);

/* "A 848/848 kbit/s" and the like, for logs and the session's report. */
void cl_slot_describe(const struct cl_slot *s, char *buf, size_t cap);

#endif

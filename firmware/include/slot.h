/*
 * slot: the reader's card slot, ISO/IEC 7816-3 seen from the interface
 * device: presence (debounced, a fast remove-and-reinsert is a new card),
 * activation and cold/warm reset with their clock-cycle timings (§6.2),
 * voltage classes from the lowest up (§6.2.4, class indicator of §8.3),
 * the ATR (§8) with its waiting times, PPS to the fastest Fi/Di both the card
 * and the board allow with a fall back to default speed when the card
 * refuses (§9), protocol selection, deactivation (§6.4), and the APDU
 * exchange over T=0 (§10, §12.2) or T=1 (§11) with the state machines of
 * common/.
 *
 * Everything here is sequential and blocking on the board's HAL; while the
 * card works, the tick callback runs at least every `tick_ns` so the CCID
 * layer can send time extensions to the host.
 */
#ifndef HAWIYA_FW_SLOT_H
#define HAWIYA_FW_SLOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hawiya/atr.h"
#include "hawiya/t0.h"
#include "hawiya/t1.h"
#include "line.h"
#include "xfr.h"

enum slot_state {
    SLOT_ABSENT = 0,
    SLOT_INACTIVE, /* card in the slot, not powered */
    SLOT_ACTIVE,   /* powered, ATR read, protocol selected */
};

enum slot_err {
    SLOT_OK = 0,
    SLOT_ERR_ABSENT,    /* no card in the slot */
    SLOT_ERR_REMOVED,   /* the card left during the operation */
    SLOT_ERR_INACTIVE,  /* the card is not powered */
    SLOT_ERR_MUTE,      /* no ATR in any voltage class the board and card share */
    SLOT_ERR_BAD_TS,    /* the first character is not a TS */
    SLOT_ERR_BAD_ATR,   /* malformed ATR (wrong length, bad interface bytes) */
    SLOT_ERR_BAD_TCK,   /* ATR check character wrong */
    SLOT_ERR_CLASS,     /* the card accepts no voltage class the board has */
    SLOT_ERR_PROTOCOL,  /* no protocol both sides speak, or specific mode we cannot follow */
    SLOT_ERR_PPS,       /* PPS refused even after the fall back */
    SLOT_ERR_PARITY,    /* T=0: character parity error left uncorrected */
    SLOT_ERR_TIMEOUT,   /* the card stopped answering mid-exchange */
    SLOT_ERR_PROCEDURE, /* T=0: procedure byte conflict */
    SLOT_ERR_RESPONSE_TOO_LONG,
    SLOT_ERR_COMMAND_TOO_LONG,
    SLOT_ERR_T1_RESYNCHED, /* T=1 link resynchronised: the exchange is lost, card still up */
    SLOT_ERR_T1_DEAD,      /* T=1 recovery failed; the card has been deactivated */
};

const char *slot_err_str(enum slot_err e);

/* What the board can do, for PPS and voltage classes. */
struct slot_limits {
    unsigned classes;    /* bit mask of 1 << enum sc_class */
    uint32_t clk_max_hz; /* highest card clock */
    uint32_t max_baud;   /* highest bit rate the UART can sample */
    uint16_t di_supported;
    uint16_t ifsd; /* 1..254 */
};

/* What happened during activation, for logs, tests and benchmarks. */
struct slot_activation {
    enum sc_class vcc;
    unsigned classes_tried;
    bool pps_tried, pps_accepted;
    uint64_t atr_ns; /* from RST high to the end of the ATR */
    uint64_t pps_ns;
};

struct slot {
    enum slot_state state;
    struct slot_limits lim;
    uint32_t insertions_seen;
    struct line line;
    struct atr atr;
    struct slot_activation act;

    uint8_t protocol; /* 0 or 1 */
    uint16_t fi;
    uint8_t di;
    uint8_t fi_code, di_code;
    uint64_t wt_ns;   /* T=0 waiting time */
    uint64_t bwt_ns;  /* T=1 block waiting time */
    uint32_t cwt_etu; /* T=1 character waiting time */
    uint32_t guard_etu;

    struct t1_ifd t1;
    struct t0_ifd t0;

    /* The most recent WTX multiplier the card asked for (0: none since read). */
    uint8_t last_wtx;

    /* a streamed exchange (slot_xfr_*) paused between two calls */
    struct t1_action t1_act;
    bool xfr_paused;
};

void slot_init(struct slot *s, const struct slot_limits *lim, line_tick_fn tick, void *tick_ctx);

/*
 * Debounced presence. Returns the state; `changed` tells the caller to
 * notify the host (NotifySlotChange). A card removed and put back between
 * two polls reads as changed, SLOT_INACTIVE.
 */
enum slot_state slot_poll(struct slot *s, bool *changed);

/* Cold reset in the lowest class that works (or only in `only_class` when
 * not SC_CLASS_OFF), ATR, PPS, protocol setup. The ATR is in s->atr. */
enum slot_err slot_power_on(struct slot *s, enum sc_class only_class);

/* Deactivation, 7816-3 §6.4. */
void slot_power_off(struct slot *s);

/*
 * What the slot can run a card at, for the CCID class descriptor and its
 * GET_CLOCK_FREQUENCIES / GET_DATA_RATES requests (CCID 1.1 §5.1, §5.3.2,
 * §5.3.3): every card clock (kHz) and every bit rate (bps) that activation
 * and PPS may choose within `lim`, ascending, each once; they return how many.
 */
/* 7816-3 §6.2.2: activation and the ATR run at 1..5 MHz; the reader uses 4 MHz,
 * and the default rate Fd = 372, Dd = 1 at that clock (CCID dwDefaultClock,
 * dwDataRate). */
#define SLOT_DEFAULT_CLOCK_KHZ 4000u
#define SLOT_DEFAULT_DATA_RATE (SLOT_DEFAULT_CLOCK_KHZ * 1000u / 372u)
#define SLOT_MAX_CLOCKS        16u  /* the activation clock and one per Fi of Table 7 */
#define SLOT_MAX_RATES         161u /* the default rate and one per Fi x Di of Tables 7 and 8 */
size_t slot_clocks_khz(const struct slot_limits *lim, uint32_t out[SLOT_MAX_CLOCKS]);
size_t slot_data_rates(const struct slot_limits *lim, uint32_t out[SLOT_MAX_RATES]);

/* One command APDU in, one response APDU out. */
enum slot_err slot_transmit(struct slot *s, const uint8_t *apdu, size_t len, uint8_t *resp,
                            size_t cap, size_t *rlen);

/*
 * A streamed exchange (xfr.h): the command APDU comes in parts, the response
 * leaves in windows of `cap` bytes. Under T=1 both are chained on the card
 * line as they come (7816-3 §11.6.2 rule 5); under T=0 the command must come
 * in one part and the response fit one window. After each call x->state
 * says what the slot waits for: slot_xfr_command() for XFR_NEED_COMMAND,
 * slot_xfr_next() for XFR_WINDOW. An error ends the exchange (as
 * slot_transmit's would).
 */
enum slot_err slot_xfr_begin(struct slot *s, const uint8_t *part, size_t n, bool more, uint8_t *win,
                             size_t cap, struct xfr *x);
enum slot_err slot_xfr_command(struct slot *s, const uint8_t *part, size_t n, bool more,
                               struct xfr *x);
enum slot_err slot_xfr_next(struct slot *s, struct xfr *x);
/* Gives up a paused exchange (the host went away or broke the chain): the
 * card is told with S(ABORT) (7816-3 §11.6.2.3 rule 9). */
void slot_xfr_abort(struct slot *s);

#endif

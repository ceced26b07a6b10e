/*
 * pps: Protocol and Parameters Selection, ISO/IEC 7816-3:2006 clause 9.
 *
 * A PPS message is PPSS (0xFF), PPS0 (bits 4-1: protocol T; bits 5, 6, 7:
 * PPS1, PPS2, PPS3 follow; bit 8 RFU = 0), PPS1 (Fi code | Di code, Tables 7
 * and 8), PPS2, PPS3 and PCK (the exclusive-or of all characters is 0).
 *
 * Reader role: pps_build_request(), then pps_check_response() on the card's
 * answer (9.3: an exact echo is accepted; a PPS1 left out means the card
 * keeps Fd = 372 and Dd = 1; anything else fails). Card role:
 * pps_card_reply(). pps_choose() picks the Fi/Di and clock a reader should
 * ask for, given the card's ATR and the reader's limits.
 */
#ifndef HAWIYA_PPS_H
#define HAWIYA_PPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hawiya/atr.h"

#define PPS_MAX_LEN 6 /* PPSS PPS0 PPS1 PPS2 PPS3 PCK */
#define PPS_PPSS    0xFF

enum pps_err {
    PPS_OK = 0,
    PPS_ERR_INCOMPLETE,        /* a correct prefix: more characters are needed */
    PPS_ERR_BAD_PPSS,          /* first character is not 0xFF */
    PPS_ERR_RFU_BIT,           /* PPS0 bit 8 set */
    PPS_ERR_BAD_PCK,           /* exclusive-or of PPSS..PCK is not zero */
    PPS_ERR_TRAILING_BYTES,    /* characters after PCK */
    PPS_ERR_BAD_PARAM,         /* request parameters out of range (T > 15, RFU Fi/Di code) */
    PPS_ERR_BUFFER_TOO_SMALL,  /* output buffer shorter than the message */
    PPS_ERR_PROTOCOL_MISMATCH, /* response T differs from the request's */
    PPS_ERR_PPS1_MISMATCH,     /* response PPS1 present but not an echo */
    PPS_ERR_PPS2_MISMATCH,     /* response PPS2 present but not an echo */
    PPS_ERR_PPS3_MISMATCH,     /* response PPS3 present but not an echo */
    PPS_ERR_UNEXPECTED_PPSX,   /* response carries a PPSx the request did not */
    PPS_ERR_UNSUPPORTED,       /* card role: protocol not offered, no reply is sent */
    PPS_ERR_NO_COMMON_RATE,    /* chooser: specific mode the reader cannot follow */
};

const char *pps_err_str(enum pps_err e);

struct pps_params {
    uint8_t t;
    bool has_pps1;
    uint8_t fi_code, di_code; /* PPS1 nibbles */
    bool has_pps2;
    uint8_t pps2;
    bool has_pps3;
    uint8_t pps3;
};

/* Writes the request with its PCK; *out_len is its length. */
enum pps_err pps_build_request(const struct pps_params *p, uint8_t *out, size_t cap,
                               size_t *out_len);

/* Decodes one PPS message (request or response). As with atr_parse, a correct
 * prefix gives PPS_ERR_INCOMPLETE and *needed (if not NULL) > 0. */
enum pps_err pps_parse(const uint8_t *buf, size_t len, struct pps_params *out, size_t *needed);

/* What a successful exchange leaves in force. */
struct pps_result {
    uint8_t t;
    uint8_t fi_code, di_code; /* echoed PPS1, or 1 and 1 (Fd, Dd) */
    bool default_rate;        /* PPS1 left out of the response */
};

/* Reader role, 9.3: PPS_OK and *res when the exchange succeeded. */
enum pps_err pps_check_response(const uint8_t *req, size_t req_len, const uint8_t *resp,
                                size_t resp_len, struct pps_result *res);

/* What the card supports: its protocols (bit T) and its TA1. */
struct pps_card_caps {
    uint16_t protocols;
    uint8_t ta1;
};

/*
 * Card role: the response to a request. The card echoes PPS1 when it asks for
 * the card's own Fi and a Di no greater than the card's, and otherwise leaves
 * PPS1 out (Fd/Dd stay); PPS2 and PPS3 are never echoed. On an erroneous
 * request or an unsupported protocol it returns an error and must stay silent.
 */
enum pps_err pps_card_reply(const uint8_t *req, size_t req_len, const struct pps_card_caps *caps,
                            uint8_t *out, size_t cap, size_t *out_len);

struct pps_reader_limits {
    uint32_t max_clock_khz;
    uint32_t max_baud;     /* bits per second */
    uint16_t di_supported; /* bit n set: Di code n supported (bit 1 = Di 1) */
};

struct pps_choice {
    bool pps_needed; /* false: first protocol at Fd/Dd, or specific mode */
    uint8_t t;       /* T=1 if offered, else the first offered protocol */
    uint8_t fi_code, di_code;
    uint16_t fi;
    uint8_t di;
    uint32_t clock_khz; /* at most the card's fmax and the reader's max clock */
    uint32_t baud;      /* clock_khz * 1000 * di / fi, rounded down */
};

/*
 * Picks the fastest Fi/Di both sides allow: the card's Fi from TA1 with the
 * largest Di (value) not above the card's that the reader supports and whose
 * baud rate stays under max_baud; Fd/Dd when none fits. In specific mode the
 * ATR's rate is used without PPS, or PPS_ERR_NO_COMMON_RATE if the reader
 * cannot follow it.
 */
enum pps_err pps_choose(const struct atr *atr, const struct pps_reader_limits *lim,
                        struct pps_choice *out);

#endif

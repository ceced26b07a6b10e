/*
 * isodep: the half-duplex block transmission protocol of ISO/IEC
 * 14443-4:2016 clause 7 ("ISO-DEP" in NFC Forum terms), both roles, as pure
 * state machines (no I/O, no clock), like hawiya/t1.h for contact cards:
 * the proximity coupling device (PCD, the reader firmware) and the
 * proximity card (PICC, the virtual card). The block codec (7.1) is shared
 * by both roles, and by both card types: after activation (Type A RATS /
 * PPS, Type B ATTRIB) the protocol is the same.
 *
 * Map onto clause 7:
 *   7.1   block format: prologue PCB [CID] [NAD], INF, epilogue CRC (CRC_A or
 *         CRC_B, added and checked by the front end: not part of the blocks
 *         here, but counted in the frame sizes FSC and FSD)
 *         -> isodep_block_encode / isodep_block_decode
 *   7.1.1.1 PCB of I-, R- and S-blocks -> isodep_pcb_i / _r / _s
 *         I: 000C N01b (C chaining, N NAD follows, b block number; b4 CID follows)
 *         R: 101A C01b (A = 1 NAK), S: 11XX C010 (XX 00 DESELECT, 11 WTX)
 *   7.1.1.2 CID byte: b8b7 power level indication (from the PICC), b4..b1 CID
 *   7.1.1.3 NAD: I-blocks only, and in a chain only in the first block
 *   7.2   FWT and S(WTX): WTXM 1..59 (b6..b1 of the INF byte); the PCD
 *         waits FWT x WTXM for the next block only, at most FWTmax (FWI 14)
 *   7.3   S(DESELECT)
 *   7.4   chaining: FSC bounds what the PCD sends, FSD what the PICC sends
 *   7.5.3 rules A, B (PCD block number), C, D, E (PICC block number)
 *   7.5.4 rules 1-3 general, 4-8 PCD, 9-13 PICC
 *   7.5.6 error recovery: the PCD answers a damaged block or a timeout with
 *         R(NAK) (R(ACK) while the PICC chains, rule 5) and gives up after
 *         ISODEP_MAX_RETRIES in a row; the PICC never answers a damaged
 *         block (it stays in reception).
 *
 * Presence check: R(NAK) with the block number the PCD would use next;
 * the PICC, whose block number is the other one, answers R(ACK) (rule 12).
 * A PICC that never answers, after the retries, has left the field.
 *
 * Buffers: blocks to send are written into the context; the action points
 * at them and they stay valid until the next call on that context. The PCD
 * never builds a frame longer than ISODEP_FRAME_MAX: it may send less than
 * a large FSC allows, and it announces at most that as its FSD.
 *
 * Streaming (a reader that holds only a window of an APDU, as for T=1 in
 * hawiya/t1.h): the PCD can take the command APDU in parts and give the
 * response in windows (isodep_pcd_stream_begin). It copies the INF of the
 * I-block in flight into the context (for retransmission, rule 6), asks for
 * the next part with ISODEP_ACT_NEED_DATA before it sends a block whose
 * chaining bit it cannot know yet, and stops with ISODEP_ACT_WINDOW when the
 * card chains on and the window has less room than one frame (FSD): the
 * R(ACK) that asks the card for more leaves only when the caller has taken
 * the window. The PICC waits for it (7.5.4: it answers blocks, it sets no
 * time limit on the PCD).
 */
#ifndef HAWIYA_ISODEP_H
#define HAWIYA_ISODEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hawiya/iso14443.h"

#define ISODEP_FRAME_MAX   256u /* our frame size limit both ways, CRC included */
#define ISODEP_BLOCK_MAX   (ISODEP_FRAME_MAX - ISO14443_CRC_LEN)
#define ISODEP_FRAME_MIN   16u /* FSC / FSD = 16 (FSCI 0) */
#define ISODEP_MAX_RETRIES 3u  /* recovery blocks in a row before the PCD gives up */
#define ISODEP_WTXM_MAX    59u
/* S(WTX) requests in one exchange before the PCD gives up on the card
 * (59 x FWT each: enough for any signature a card computes). */
#define ISODEP_WTX_MAX 60u

enum isodep_err {
    ISODEP_OK = 0,
    ISODEP_ERR_EMPTY,             /* a block without even a PCB */
    ISODEP_ERR_PCB_INVALID,       /* a PCB value the standard does not define (or S(PARAMETERS)) */
    ISODEP_ERR_TRUNCATED,         /* the PCB announces a CID or NAD byte that is missing */
    ISODEP_ERR_R_INF,             /* an R-block with an INF field */
    ISODEP_ERR_S_INF,             /* S(DESELECT) with INF, S(WTX) without its one byte */
    ISODEP_ERR_WTXM,              /* WTXM 0 (7.2: 1..59) */
    ISODEP_ERR_INF_TOO_LONG,      /* encoding: more INF than the frame size allows */
    ISODEP_ERR_BUF_TOO_SMALL,     /* the output buffer cannot hold the block */
    ISODEP_ERR_PARAM,             /* invalid configuration or argument from the caller */
    ISODEP_ERR_STATE,             /* the call is not valid in the current state */
    ISODEP_ERR_TIMEOUT,           /* PCD: no answer through all the retries (the card left) */
    ISODEP_ERR_TRANSMISSION,      /* PCD: answers damaged through all the retries */
    ISODEP_ERR_PROTOCOL,          /* PCD: a valid block the rules do not allow here */
    ISODEP_ERR_WTX_LIMIT,         /* PCD: more than ISODEP_WTX_MAX S(WTX) in one exchange */
    ISODEP_ERR_RESPONSE_TOO_LONG, /* PCD: the response exceeds rbuf */
    ISODEP_ERR_COMMAND_TOO_LONG,  /* PICC: the command exceeds the command buffer */
};

const char *isodep_err_str(enum isodep_err e);

/* --- block codec (7.1) ------------------------------------------------------ */

enum isodep_block_type { ISODEP_BLOCK_I, ISODEP_BLOCK_R, ISODEP_BLOCK_S };
enum isodep_s_type { ISODEP_S_DESELECT = 0, ISODEP_S_WTX = 3 };

#define ISODEP_PCB_CID 0x08u
#define ISODEP_PCB_NAD 0x04u

struct isodep_block {
    enum isodep_block_type type;
    uint8_t pcb;
    uint8_t bn;    /* block number, b1 */
    bool chaining; /* I: more follows */
    bool nak;      /* R: NAK rather than ACK */
    enum isodep_s_type s_type;
    bool has_cid;
    uint8_t cid;   /* b4..b1 of the CID byte */
    uint8_t power; /* b8b7 of the CID byte (power level indication) */
    bool has_nad;
    uint8_t nad;
    uint8_t wtxm;       /* S(WTX): b6..b1 of INF */
    const uint8_t *inf; /* points into the decoded buffer */
    size_t len;
};

uint8_t isodep_pcb_i(uint8_t bn, bool chaining, bool cid, bool nad);
uint8_t isodep_pcb_r(uint8_t bn, bool nak, bool cid);
uint8_t isodep_pcb_s(enum isodep_s_type t, bool cid);

/* PCB, then the CID byte when PCB b4 says so, then NAD when b3 says so, INF. */
enum isodep_err isodep_block_encode(uint8_t *out, size_t cap, uint8_t pcb, uint8_t cid, uint8_t nad,
                                    const uint8_t *inf, size_t len, size_t *out_len);
/* Strict decoding of one block (the frame without its CRC). */
enum isodep_err isodep_block_decode(const uint8_t *buf, size_t len, struct isodep_block *b);

/* --- both roles ----------------------------------------------------------------- */

struct isodep_config {
    size_t fsc;      /* PCD: the PICC's FSC; PICC: the PCD's FSD (frame it accepts) */
    size_t fsd;      /* PCD: our FSD; PICC: its own FSC (frames it takes) */
    bool cid_on;     /* PCD: blocks carry a CID byte; PICC: it takes blocks with a CID
                      * (and answers with one when the PCD's block had one) */
    uint8_t cid;     /* 0..14 */
    bool nad_on;     /* PCD: a NAD goes with each command; PICC: it understands NAD */
    uint8_t nad;     /* PCD: the NAD it sends */
    uint64_t fwt_ns; /* PCD: FWT from FWI */
};

enum isodep_event_kind {
    ISODEP_EV_BLOCK,   /* a frame arrived whole (CRC correct): data / len without CRC */
    ISODEP_EV_TIMEOUT, /* nothing within the announced wait */
    ISODEP_EV_ERROR,   /* a frame arrived damaged (CRC, parity, framing, collision) */
};

struct isodep_event {
    enum isodep_event_kind kind;
    const uint8_t *data;
    size_t len;
};

enum isodep_action_kind {
    ISODEP_ACT_NONE,         /* nothing to send: keep listening (PICC) */
    ISODEP_ACT_SEND,         /* send block / block_len; PCD: then wait wait_ns */
    ISODEP_ACT_DONE,         /* PCD: response in rbuf (apdu_len), or presence confirmed */
    ISODEP_ACT_DELIVER_APDU, /* PICC: a command APDU is in the command buffer */
    ISODEP_ACT_DESELECTED,   /* PCD: S(DESELECT) answered; PICC: send the block, then HALT */
    ISODEP_ACT_ERROR,        /* err says why */
    ISODEP_ACT_NEED_DATA,    /* PCD streaming: isodep_pcd_stream_more() with the next part */
    ISODEP_ACT_WINDOW,       /* PCD streaming: rbuf[0..apdu_len) is a part of the response,
                              * more follows; take it, then isodep_pcd_window_next() */
};

struct isodep_action {
    enum isodep_action_kind kind;
    const uint8_t *block;
    size_t block_len;
    uint64_t wait_ns; /* PCD SEND: FWT, or FWT x WTXM once after S(WTX response) */
    uint8_t wtxm;     /* PCD SEND of S(WTX response): what the PICC asked for */
    size_t apdu_len;  /* DONE / DELIVER_APDU / WINDOW */
    enum isodep_err err;
};

/* --- PCD role ------------------------------------------------------------------------ */

enum isodep_pcd_state {
    ISODEP_PCD_IDLE,
    ISODEP_PCD_SENDING,   /* our I-block out: R(ACK) while we chain, or the response */
    ISODEP_PCD_RECEIVING, /* the PICC chains; our R(ACK) is out */
    ISODEP_PCD_PRESENCE,  /* our presence-check R(NAK) is out */
    ISODEP_PCD_DESELECT,  /* our S(DESELECT) is out */
    ISODEP_PCD_DEAD,      /* an unrecoverable error: only init leaves this state */
};

struct isodep_pcd {
    struct isodep_config cfg;
    enum isodep_pcd_state state;
    uint8_t bn;      /* rule A, B: the PCD's current block number */
    unsigned tries;  /* recovery blocks in a row */
    unsigned wtx;    /* S(WTX) in this exchange */
    bool last_was_i; /* tx holds our I-block (for rule 6) */
    /* the command: the part being sent, and whether more parts follow */
    const uint8_t *part;
    size_t part_len, part_off;
    bool part_more;
    bool sent_any;                 /* an I-block of this command was acknowledged */
    uint8_t inf[ISODEP_BLOCK_MAX]; /* command bytes taken from the parts, not yet acknowledged */
    size_t inf_len;
    size_t chunk;   /* the INF length of the I-block in flight (inf[0..chunk)) */
    bool last_more; /* its chaining bit */
    bool need_data; /* ISODEP_ACT_NEED_DATA given, isodep_pcd_stream_more due */
    /* the response */
    uint8_t *rbuf;
    size_t rcap, rlen;
    bool windowed;       /* the response may leave in windows (ISODEP_ACT_WINDOW) */
    bool window_pending; /* ISODEP_ACT_WINDOW given, isodep_pcd_window_next due */
    uint8_t tx[ISODEP_BLOCK_MAX];
    size_t tx_len;
};

/* Validates cfg (frame sizes 16..4096, CID 0..14, FWT nonzero); block number 0. */
enum isodep_err isodep_pcd_init(struct isodep_pcd *p, const struct isodep_config *cfg);

/* Sends a command APDU, chained by FSC (rule 2), response into rbuf. apdu
 * and rbuf stay the caller's and must remain valid until DONE or ERROR. */
enum isodep_err isodep_pcd_transceive_begin(struct isodep_pcd *p, const uint8_t *apdu, size_t len,
                                            uint8_t *rbuf, size_t rcap, struct isodep_action *act);

/*
 * Streaming (see the top of this header): sends the command from its first
 * part (more: further parts follow) and collects the response in windows of
 * rcap bytes (rcap >= cfg.fsd). The part stays the caller's until the next
 * NEED_DATA, DONE or ERROR.
 */
enum isodep_err isodep_pcd_stream_begin(struct isodep_pcd *p, const uint8_t *part, size_t len,
                                        bool more, uint8_t *rbuf, size_t rcap,
                                        struct isodep_action *act);
/* After ISODEP_ACT_NEED_DATA: the next part (more: still further ones). */
enum isodep_err isodep_pcd_stream_more(struct isodep_pcd *p, const uint8_t *part, size_t len,
                                       bool more, struct isodep_action *act);
/* After ISODEP_ACT_WINDOW: the window is free again; asks the card for more. */
enum isodep_err isodep_pcd_window_next(struct isodep_pcd *p, struct isodep_action *act);

/* Is the card still there? Ends with DONE or ERROR TIMEOUT. */
enum isodep_err isodep_pcd_presence_begin(struct isodep_pcd *p, struct isodep_action *act);

/* S(DESELECT) (7.3, rule 8: sent again when not answered). Ends with
 * DESELECTED or ERROR (the caller then turns the field off anyway). */
enum isodep_err isodep_pcd_deselect_begin(struct isodep_pcd *p, struct isodep_action *act);

/* Feeds one event; returns act->err (ISODEP_OK unless ERROR). Every ERROR
 * leaves the context DEAD: the PICC's state is unknown, deactivate it. */
enum isodep_err isodep_pcd_step(struct isodep_pcd *p, const struct isodep_event *ev,
                                struct isodep_action *act);

/* --- PICC role ------------------------------------------------------------------------ */

enum isodep_picc_state {
    ISODEP_PICC_RECEIVING, /* waiting for (the rest of) a command */
    ISODEP_PICC_BUSY,      /* the APDU was delivered: waiting for isodep_picc_respond */
    ISODEP_PICC_WTX,       /* our S(WTX request) is out */
    ISODEP_PICC_SENDING,   /* our chained response is out, waiting for R(ACK) */
    ISODEP_PICC_HALTED,    /* S(DESELECT) answered */
};

struct isodep_picc {
    struct isodep_config cfg;
    enum isodep_picc_state state;
    uint8_t bn;     /* rules C, D, E: the PICC's current block number */
    uint8_t wtxm;   /* of the S(WTX request) in flight */
    bool have_last; /* tx holds our last block (rule 11) */
    bool last_is_i;
    uint8_t *cbuf;
    size_t ccap, clen;
    bool overflow;
    bool nad_reply; /* the command came with a NAD: the response's first block carries one */
    bool cid_reply; /* the last block came with a CID: ours carry one too */
    uint8_t nad;
    const uint8_t *rapdu;
    size_t rlen, off, chunk;
    uint8_t tx[ISODEP_BLOCK_MAX];
    size_t tx_len;
};

/* cbuf receives command APDUs reassembled from chains; block number 1 (rule C). */
enum isodep_err isodep_picc_init(struct isodep_picc *c, const struct isodep_config *cfg,
                                 uint8_t *cbuf, size_t ccap);

enum isodep_err isodep_picc_step(struct isodep_picc *c, const struct isodep_event *ev,
                                 struct isodep_action *act);

/* After DELIVER_APDU: the response, chained by FSD. rapdu stays valid until
 * the next DELIVER_APDU. */
enum isodep_err isodep_picc_respond(struct isodep_picc *c, const uint8_t *rapdu, size_t len,
                                    struct isodep_action *act);

/* While BUSY: S(WTX request) for FWT x wtxm (1..59) for the next block (rule 9). */
enum isodep_err isodep_picc_request_wtx(struct isodep_picc *c, uint8_t wtxm,
                                        struct isodep_action *act);

#endif

/*
 * t1: the T=1 block transmission protocol of ISO/IEC 7816-3:2006 clause 11,
 * both roles, as pure state machines (no I/O, no clock): the interface
 * device (IFD, the reader firmware) and the card (the virtual card). The
 * block codec (11.3, 11.4) is shared by both roles.
 *
 * Map of this header onto clause 11:
 *   11.3  block frame: prologue NAD PCB LEN, INF (0..254 bytes), epilogue
 *         -> t1_block_encode / t1_block_decode / t1_block_remaining
 *   11.3.2.2 PCB of I-, R- and S-blocks -> t1_pcb_i / t1_pcb_r / t1_pcb_s
 *   11.4.2 IFSC / IFSD             -> struct t1_config.ifsc / .ifsd
 *   11.4.3 waiting times CWT, BWT  -> struct t1_config.cwt / .bwt (opaque units)
 *   11.4.4 epilogue: LRC (1 byte, XOR) or CRC (2 bytes, ISO/IEC 13239)
 *   11.6.2 rules 1-5: normal operation, chaining, S(WTX), S(IFS), S(ABORT)
 *   11.6.3 rules 6-7: error handling, S(RESYNCH), retransmission
 *
 * Notation as in Annex A: I(N(S),M), R(N(R)), S(xxx request/response).
 *
 * The CRC: 11.4.4 refers to ISO/IEC 13239 (formerly ISO 3309, the HDLC
 * FCS): polynomial x^16+x^12+x^5+1, register preset to FFFF, bits taken
 * least significant first, final ones' complement, and the low-order byte
 * sent first. It is the CRC_B of ISO/IEC 14443-3 (check value of
 * "123456789" is 0x906E). Some host stacks (OpenCT, libccid) compute it
 * without the final complement and send it high byte first; cards asking
 * for CRC in TC(3) are rare, LRC is what everyone uses.
 *
 * Recovery policy (11.6.3), shared by the tests and the fuzz target:
 *  - a block received with an EDC/parity error, or an invalid block, is
 *    answered by R(N(R)) with error bits (EDC/parity or "other");
 *  - a block that is valid but not expected is answered by resending the
 *    last R-block if one was sent last, else by R(N(R)) "other error";
 *  - R(N(R)) with N(R) equal to the N(S) of the last I-block sent asks for
 *    that I-block again; otherwise, while chaining, it acknowledges it;
 *  - the IFD counts recovery blocks; the fourth consecutive failure sends
 *    S(RESYNCH request) instead (rule 6.4), tried three times, after which
 *    the link is dead and the caller deactivates the card;
 *  - a successful resynchronisation resets N(S) on both sides and IFSC/IFSD
 *    to their initial values; the exchange in progress is lost and the IFD
 *    reports T1_ERR_RESYNCHED (not fatal: the caller may send the APDU again).
 *
 * Chain abortion (11.6.2.3 rule 9): either side may abort a chain with
 * S(ABORT request), answered by S(ABORT response).
 *  - The IFD aborts with t1_ifd_abort() in place of the next block of a
 *    chain; after the card's S(ABORT response) the IFD holds the right to
 *    send and reports T1_ERR_ABORTED (not fatal).
 *  - The card aborts with t1_card_abort() in the same way; after the IFD's
 *    S(ABORT response) it gives back the right to send with R(N(R)).
 *  - When the card aborts, the IFD answers S(ABORT response) and waits for
 *    the R-block by which the card gives back the right to send; its N(R)
 *    is the N(S) of the IFD's next I-block. A repeated S(ABORT request) or
 *    an R-block with error bits means our response was lost: it is sent
 *    again. Then the IFD reports T1_ERR_ABORTED (not fatal).
 *
 * Buffers: every block to send is written into the context; the action
 * points at it and stays valid until the next call on that context.
 *
 * Streaming (a reader that holds only a window of an APDU): the IFD can take
 * the command APDU in parts and give the response in windows, so neither
 * has to be whole in memory (t1_ifd_stream_begin). It copies the INF of the
 * I-block in flight into the context (for retransmission), asks for the next
 * part with T1_ACT_NEED_DATA before it sends a block whose M bit it cannot
 * know yet, and stops with T1_ACT_WINDOW when the card chains on and the
 * window has less room than one block (IFSD): the R-block that asks the card
 * for more leaves only when the caller has taken the window. The card waits
 * for it (7816-3 §11.4.3 bounds only the card's waiting times).
 */
#ifndef HAWIYA_T1_H
#define HAWIYA_T1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define T1_PROLOGUE_LEN 3u
#define T1_INF_MAX      254u /* LEN 0xFF is reserved (11.3.2.3) */
#define T1_BLOCK_MAX    (T1_PROLOGUE_LEN + T1_INF_MAX + 2u)
#define T1_IFS_DEFAULT  32u /* IFSC/IFSD before any TA(i) or S(IFS) (11.4.2) */
#define T1_MAX_TRIES    3u  /* retransmissions before S(RESYNCH); S(RESYNCH) tries */

enum t1_err {
    T1_OK = 0,
    T1_ERR_LEN_INVALID,       /* LEN = 0xFF (RFU) */
    T1_ERR_LEN_MISMATCH,      /* LEN disagrees with the number of bytes received */
    T1_ERR_EDC,               /* LRC or CRC does not match */
    T1_ERR_PCB_INVALID,       /* a PCB value the standard does not define */
    T1_ERR_R_INF,             /* an R-block with an INF field */
    T1_ERR_S_INF,             /* S-block INF: wrong length, IFS not 01..FE, WTX 00 */
    T1_ERR_INF_TOO_LONG,      /* more INF than 254 bytes (encoding) */
    T1_ERR_BUF_TOO_SMALL,     /* the output buffer cannot hold the block */
    T1_ERR_NAD,               /* the NAD of a received block is not the expected one */
    T1_ERR_RX_PARITY,         /* the line reported parity/overrun/CWT (event, not a block) */
    T1_ERR_TIMEOUT,           /* nothing arrived within the wait */
    T1_ERR_PARAM,             /* invalid configuration or argument from the caller */
    T1_ERR_STATE,             /* the call is not valid in the current state */
    T1_ERR_RESPONSE_TOO_LONG, /* IFD: the card's response exceeds rbuf (fatal) */
    T1_ERR_COMMAND_TOO_LONG,  /* card: the IFD's command exceeds the command buffer */
    T1_ERR_ABORTED,           /* the card aborted the chain with S(ABORT request) */
    T1_ERR_RESYNCHED,         /* exchange lost, link resynchronised; APDU may be resent */
    T1_ERR_RESYNCH_FAILED,    /* three S(RESYNCH request) failed: deactivate (fatal) */
};

const char *t1_err_str(enum t1_err e);

/* --- block codec (11.3, 11.4) -------------------------------------------- */

enum t1_edc { T1_EDC_LRC = 0, T1_EDC_CRC = 1 }; /* TC(3) b1 */

enum t1_block_type { T1_BLOCK_I, T1_BLOCK_R, T1_BLOCK_S };

/* R-block error indication, PCB b4..b1 (11.3.2.2, table 15). */
enum t1_r_err { T1_R_OK = 0, T1_R_EDC = 1, T1_R_OTHER = 2 };

/* S-block function, PCB b5..b1; b6 = 1 marks the response. */
enum t1_s_type { T1_S_RESYNCH = 0, T1_S_IFS = 1, T1_S_ABORT = 2, T1_S_WTX = 3 };

struct t1_block {
    uint8_t nad;
    uint8_t pcb;
    enum t1_block_type type;
    uint8_t ns;          /* I: N(S), 0 or 1 */
    bool more;           /* I: M, chaining */
    uint8_t nr;          /* R: N(R), 0 or 1 */
    enum t1_r_err r_err; /* R: error indication */
    enum t1_s_type s_type;
    bool s_response;
    const uint8_t *inf; /* points into the decoded buffer */
    size_t len;
};

uint8_t t1_pcb_i(uint8_t ns, bool more);
uint8_t t1_pcb_r(uint8_t nr, enum t1_r_err err);
uint8_t t1_pcb_s(enum t1_s_type type, bool response);

size_t t1_edc_len(enum t1_edc edc);
uint8_t t1_lrc(const uint8_t *p, size_t n);
/* ISO/IEC 13239 CRC as a number; on the line the low byte goes first. */
uint16_t t1_crc(const uint8_t *p, size_t n);

/* NAD as seen from the other side: SAD (b3..b1) and DAD (b7..b5) swapped. */
uint8_t t1_nad_reply(uint8_t nad);

enum t1_err t1_block_encode(uint8_t *out, size_t cap, uint8_t nad, uint8_t pcb, const uint8_t *inf,
                            size_t len, enum t1_edc edc, size_t *out_len);

/* Strict decoding of one complete block of exactly `len` bytes. */
enum t1_err t1_block_decode(const uint8_t *buf, size_t len, enum t1_edc edc, struct t1_block *blk);

/* For the line driver: from the three prologue bytes, how many bytes (INF +
 * epilogue) complete the block. */
enum t1_err t1_block_remaining(const uint8_t prologue[3], enum t1_edc edc, size_t *more);

/* --- both roles ------------------------------------------------------------ */

/* The card role reads edc and nad, and ifsc only to report it in
 * t1_card.ifsc: its IFSD starts at 32 and follows S(IFS request); what it
 * accepts is bounded by its command buffer. */
struct t1_config {
    uint8_t ifsc;    /* IFD: the card's IFSC, TA(i) of the ATR, 1..254 (default 32) */
    uint8_t ifsd;    /* IFD: the reader's IFSD announced by S(IFS request), 1..254 */
    enum t1_edc edc; /* TC(3) */
    uint8_t nad;     /* NAD on blocks from the IFD; b8 and b4 (Vpp) must be 0 */
    uint32_t bwt;    /* block waiting time, caller's unit */
    uint32_t cwt;    /* character waiting time, caller's unit (passed through) */
};

enum t1_event_kind {
    T1_EV_BLOCK,    /* a complete block was received: data/len */
    T1_EV_TIMEOUT,  /* nothing arrived within the announced wait */
    T1_EV_RX_ERROR, /* parity error, overrun or CWT exceeded while receiving */
};

struct t1_event {
    enum t1_event_kind kind;
    const uint8_t *data;
    size_t len;
};

enum t1_action_kind {
    T1_ACT_NONE,         /* nothing to send, keep listening */
    T1_ACT_SEND,         /* send block/block_len, then wait `wait` for the answer */
    T1_ACT_DONE,         /* IFD: the response APDU is in rbuf, apdu_len bytes */
    T1_ACT_DELIVER_APDU, /* card: a command APDU is in the command buffer, apdu_len bytes */
    T1_ACT_ERROR,        /* err says why; fatal means: deactivate the card */
    T1_ACT_NEED_DATA,    /* IFD streaming: the next part of the command, t1_ifd_stream_more() */
    T1_ACT_WINDOW,       /* IFD streaming: rbuf[0..apdu_len) is a part of the response and more
                          * follows; take it, then t1_ifd_window_next() */
};

struct t1_action {
    enum t1_action_kind kind;
    const uint8_t *block;
    size_t block_len;
    uint32_t wait;   /* IFD SEND: BWT, or WTX*BWT once after S(WTX response) */
    uint32_t cwt;    /* IFD SEND: CWT for the characters of the answer */
    uint8_t wtx;     /* SEND of S(WTX response): the multiplier the card asked for
                      * (the firmware then sends a CCID time extension to the host) */
    bool resynched;  /* card SEND of S(RESYNCH response): the work in progress is gone */
    size_t apdu_len; /* DONE / DELIVER_APDU / WINDOW */
    enum t1_err err; /* ERROR */
    bool fatal;      /* ERROR: the link is unusable */
};

/* --- interface-device role (11.6, IFD side) -------------------------------- */

enum t1_ifd_state {
    T1_IFD_IDLE,      /* no exchange in progress */
    T1_IFD_SENDING,   /* our I-block is out, waiting for R (chain ack) or I (response) */
    T1_IFD_RECEIVING, /* receiving the card's chain, our R-block ack is out */
    T1_IFD_IFS,       /* our S(IFS request) is out */
    T1_IFD_RESYNCH,   /* our S(RESYNCH request) is out */
    T1_IFD_ABORT,     /* our S(ABORT request) is out (t1_ifd_abort) */
    T1_IFD_ABORTED,   /* we answered S(ABORT request), waiting for the card's R-block */
    T1_IFD_DEAD,      /* fatal error: only t1_ifd_init leaves this state */
};

struct t1_ifd {
    struct t1_config cfg;
    enum t1_ifd_state state;
    uint8_t ifsc;  /* current IFSC (ATR, then S(IFS request) from the card) */
    uint8_t ns;    /* N(S) of our next new I-block */
    uint8_t nr;    /* N(S) expected on the card's next I-block */
    uint8_t tries; /* consecutive recovery blocks */
    uint8_t resynch_tries;
    bool last_was_r; /* the block in tx is an R-block */
    bool chain_step; /* the block in tx is a step of a chain: t1_ifd_abort may replace it */
    /* the command: the part being sent, and whether more parts follow */
    const uint8_t *part;
    size_t part_len, part_off;
    bool part_more;
    bool sent_any;           /* an I-block of this command has gone out */
    uint8_t inf[T1_INF_MAX]; /* command bytes taken from the parts, not yet acknowledged */
    size_t inf_len;
    size_t chunk;    /* the INF length of the I-block in flight (inf[0..chunk)) */
    uint8_t last_ns; /* its N(S) */
    bool last_more;  /* its M bit */
    bool need_data;  /* T1_ACT_NEED_DATA given, t1_ifd_stream_more due */
    /* the response */
    uint8_t *rbuf;
    size_t rcap;
    size_t rlen;
    bool windowed;       /* the response may leave in windows (T1_ACT_WINDOW) */
    bool window_pending; /* T1_ACT_WINDOW given, t1_ifd_window_next due */
    uint8_t tx[T1_BLOCK_MAX];
    size_t tx_len;
};

/* Validates cfg (ifsc/ifsd 1..254, Vpp bits of nad clear). */
enum t1_err t1_ifd_init(struct t1_ifd *t, const struct t1_config *cfg);

/* S(IFS request) announcing cfg.ifsd (rule 4); ends with DONE, apdu_len 0. */
enum t1_err t1_ifd_ifs_begin(struct t1_ifd *t, struct t1_action *act);

/* Sends a command APDU (chained by IFSC, rule 5); the response is collected
 * in rbuf. apdu and rbuf stay owned by the caller and must remain valid
 * until DONE or ERROR. */
enum t1_err t1_ifd_transceive_begin(struct t1_ifd *t, const uint8_t *apdu, size_t len,
                                    uint8_t *rbuf, size_t rcap, struct t1_action *act);

/* Feeds one event; fills act. Returns act->err (T1_OK unless ERROR). */
enum t1_err t1_ifd_step(struct t1_ifd *t, const struct t1_event *ev, struct t1_action *act);

/*
 * Streaming (see the top of this header): sends the command from its first
 * part (more: further parts follow) and collects the response in windows of
 * rcap bytes (rcap >= cfg.ifsd). The part stays the caller's until the next
 * T1_ACT_NEED_DATA, DONE or ERROR.
 */
enum t1_err t1_ifd_stream_begin(struct t1_ifd *t, const uint8_t *part, size_t len, bool more,
                                uint8_t *rbuf, size_t rcap, struct t1_action *act);
/* After T1_ACT_NEED_DATA: the next part (more: still further ones). */
enum t1_err t1_ifd_stream_more(struct t1_ifd *t, const uint8_t *part, size_t len, bool more,
                               struct t1_action *act);
/* After T1_ACT_WINDOW: the window is free again; asks the card for more. */
enum t1_err t1_ifd_window_next(struct t1_ifd *t, struct t1_action *act);

/* Rule 9: abandons the chain in progress. Call it in place of sending the
 * block of the last SEND action, when that block is a part of our chained
 * command (I-block) or the acknowledgement of a part of the card's chained
 * response (R-block with N(R), no error); act becomes S(ABORT request).
 * The exchange then ends with ERROR T1_ERR_ABORTED (not fatal), or with
 * resynchronisation if the card never answers (rule 7.3, 6.4). Anywhere
 * else T1_ERR_STATE, and nothing changes. */
enum t1_err t1_ifd_abort(struct t1_ifd *t, struct t1_action *act);

/* --- card role (11.6, card side) ------------------------------------------- */

enum t1_card_state {
    T1_CARD_RECEIVING, /* waiting for (the rest of) a command */
    T1_CARD_BUSY,      /* the APDU was delivered; waiting for t1_card_respond */
    T1_CARD_WTX,       /* our S(WTX request) is out, waiting for the response */
    T1_CARD_IFS,       /* our S(IFS request) is out, waiting for the response */
    T1_CARD_ABORT,     /* our S(ABORT request) is out (t1_card_abort) */
    T1_CARD_SENDING,   /* sending a chained response, waiting for R acks */
};

struct t1_card {
    struct t1_config cfg;
    enum t1_card_state state;
    uint8_t ifsd; /* current IFSD (default, then S(IFS request) from the IFD) */
    uint8_t ifsc; /* current IFSC: cfg.ifsc (if 1..254, else 32), then our S(IFS request) */
    uint8_t ifs;  /* value of the S(IFS request) in flight */
    uint8_t ns;   /* N(S) of our next new I-block */
    uint8_t nr;   /* N(S) expected on the IFD's next I-block */
    uint8_t wtx;  /* multiplier of the S(WTX request) in flight */
    bool last_was_r;
    bool chain_step;  /* the block in tx is a step of a chain: t1_card_abort may replace it */
    bool have_last_i; /* our last I-block may still be asked for again */
    uint8_t last_i_ns;
    uint8_t *cbuf;
    size_t ccap;
    size_t clen;
    bool overflow; /* the command in progress did not fit */
    const uint8_t *rapdu;
    size_t rlen;
    size_t off;
    size_t chunk;
    uint8_t tx[T1_BLOCK_MAX];
    size_t tx_len;
};

/* cbuf receives command APDUs (reassembled from chained I-blocks). */
enum t1_err t1_card_init(struct t1_card *c, const struct t1_config *cfg, uint8_t *cbuf,
                         size_t ccap);

enum t1_err t1_card_step(struct t1_card *c, const struct t1_event *ev, struct t1_action *act);

/* After DELIVER_APDU: sends the response, chained by IFSD. rapdu must stay
 * valid until the next DELIVER_APDU or S(RESYNCH). */
enum t1_err t1_card_respond(struct t1_card *c, const uint8_t *rapdu, size_t len,
                            struct t1_action *act);

/* While BUSY: asks for BWT * multiplier for the next block (rule 3). */
enum t1_err t1_card_request_wtx(struct t1_card *c, uint8_t multiplier, struct t1_action *act);

/* While BUSY: offers a new IFSC, 1..254, with S(IFS request) (rule 4), e.g.
 * before a long command the card can now take. The IFD's S(IFS response)
 * with the same value brings the card back to BUSY (act NONE) and sets
 * c->ifsc; anything else gets the request again (rule 7.3). */
enum t1_err t1_card_request_ifs(struct t1_card *c, uint8_t ifsc, struct t1_action *act);

/* Rule 9: abandons a chain, as t1_ifd_abort does for the IFD: in place of
 * the block of the last SEND action when that block is a part of our
 * chained response (I-block) or the acknowledgement of a part of the IFD's
 * chained command (R-block, no error); act becomes S(ABORT request). On the
 * IFD's S(ABORT response) the card sends R(N(R)), which gives back the
 * right to send, and waits for a command; anything else gets the request
 * again (rule 7.3). Anywhere else T1_ERR_STATE, and nothing changes. */
enum t1_err t1_card_abort(struct t1_card *c, struct t1_action *act);

#endif

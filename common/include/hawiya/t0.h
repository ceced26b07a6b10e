/*
 * t0: the character protocol T=0 of ISO/IEC 7816-3 §10 (command header
 * CLA INS P1 P2 P3, procedure bytes NULL / ACK / SW1, §10.3) and the
 * transport of APDUs by T=0 TPDUs of §12.2 (cases 1 to 4, short and
 * extended, GET RESPONSE after 61XX, re-issue after 6CXX, ENVELOPE for
 * command data longer than 255 bytes, 7816-4 §7.6.2 / §7.6.3 GET RESPONSE and
 * ENVELOPE), in both roles:
 *
 *  - t0_ifd: the interface device (the reader) sends one command APDU and
 *    collects its response APDU;
 *  - t0_card: the card (the virtual card) receives TPDUs and delivers
 *    command APDUs to its application.
 *
 * Both are pure state machines: no I/O and no clock. Each call fills a
 * struct t0_io: first send tx[0..tx_len) on the line, then
 *  - rx_len > 0: receive up to rx_len characters and feed them with
 *    t0_ifd_rx() / t0_card_rx(). For the interface device each character is
 *    due within the waiting time WT of the previous one (§10.2); WT is the
 *    caller's clock: on expiry call t0_ifd_timeout().
 *  - done (interface device): the response is ready, t0_ifd_response().
 *  - command (card): the application owes a response, t0_card_respond()
 *    (or t0_card_null() to ask for more time with a NULL byte).
 *  - more (card): call t0_card_sent() for the next characters to send.
 *
 * On any error the machine is back to idle and nothing is half-done.
 */
#ifndef HAWIYA_T0_H
#define HAWIYA_T0_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hawiya/apdu.h"

#define T0_NULL         0x60 /* procedure byte: the card asks for more time (§10.3.3) */
#define T0_INS_GET_RESP 0xC0 /* 7816-4 GET RESPONSE */
#define T0_INS_ENVELOPE 0xC2 /* 7816-4 ENVELOPE */
#define T0_HEADER_LEN   5    /* CLA INS P1 P2 P3 */
#define T0_P3_MAX       255  /* the most command data one TPDU carries */

enum t0_err {
    T0_OK = 0,
    T0_ERR_BAD_APDU,         /* the command APDU has lengths out of range or no data */
    T0_ERR_BAD_INS,          /* INS 6X or 9X, which §10.3.2 forbids (it reads as SW1) */
    T0_ERR_BUFFER_TOO_SMALL, /* the response / command buffer is smaller than needed */
    T0_ERR_BAD_PROCEDURE,    /* a procedure byte that is neither NULL, ACK nor SW1 */
    T0_ERR_UNEXPECTED_ACK,   /* an ACK when no data remains to be transferred */
    T0_ERR_UNEXPECTED_CHAR,  /* a character when none is due (the other side must send) */
    T0_ERR_TIMEOUT,          /* WT expired (the caller deactivates the card) */
    T0_ERR_STATE,            /* a call out of sequence */
    T0_ERR_BAD_SW,           /* the application answered an SW1 other than 6X / 9X */
};

const char *t0_err_str(enum t0_err e);

struct t0_io {
    const uint8_t *tx; /* characters to send now (tx_len 0: none) */
    size_t tx_len;
    size_t rx_len;      /* then characters to receive (each within WT, for the IFD) */
    bool null_received; /* IFD: a NULL came since the last call (send a CCID time extension) */
    bool done;          /* IFD: the exchange is over */
    const struct apdu *command; /* card: a command for the application (valid until respond) */
    bool more;                  /* card: call t0_card_sent() after sending tx */
};

/* ---- interface-device role ---------------------------------------------- */

enum t0_ifd_phase { T0_IFD_IDLE, T0_IFD_PROCEDURE, T0_IFD_DATA_IN, T0_IFD_SW2, T0_IFD_DONE };
enum t0_tpdu_kind { T0_TPDU_COMMAND, T0_TPDU_GET_RESPONSE, T0_TPDU_ENVELOPE, T0_TPDU_ENVELOPE_END };

struct t0_ifd {
    enum t0_ifd_phase phase;
    struct apdu cmd;
    uint8_t *resp; /* response data, up to cmd.ne bytes */
    size_t resp_cap;
    size_t nr; /* response data bytes kept so far */
    uint16_t sw;
    /* the TPDU in flight */
    enum t0_tpdu_kind kind;
    uint8_t tpdu[T0_HEADER_LEN + T0_P3_MAX]; /* header, then an ENVELOPE segment */
    const uint8_t *out;                      /* data still to send after an ACK */
    size_t out_left;
    size_t in_left;    /* data still to receive in this TPDU */
    size_t in_chunk;   /* data to receive before the next procedure byte */
    size_t tpdu_start; /* nr when the TPDU started, to undo a 6CXX */
    size_t tpdu_got;   /* data bytes received in this TPDU */
    bool reissued;     /* this TPDU already repeated once after 6CXX */
    uint8_t sw1;
    size_t env_pos; /* ENVELOPE: bytes of the extended command APDU already sent */
    size_t env_total;
};

void t0_ifd_init(struct t0_ifd *t);

/*
 * Starts sending `cmd` (its data must stay valid until done); the response
 * data goes to resp[0..resp_cap), which must hold cmd->ne bytes.
 */
enum t0_err t0_ifd_transmit(struct t0_ifd *t, const struct apdu *cmd, uint8_t *resp,
                            size_t resp_cap, struct t0_io *io);

/* Feeds n received characters (n <= the last io.rx_len). */
enum t0_err t0_ifd_rx(struct t0_ifd *t, const uint8_t *in, size_t n, struct t0_io *io);

/* WT expired while waiting for a character. */
enum t0_err t0_ifd_timeout(struct t0_ifd *t, struct t0_io *io);

/* After io.done: the response APDU (r->data points into the resp buffer). */
enum t0_err t0_ifd_response(const struct t0_ifd *t, struct rapdu *r);

/* ---- card role ------------------------------------------------------------ */

/*
 * Whether the instruction CLA INS P1 P2 carries command data (cases 3 and 4:
 * P3 is Lc, the card ACKs and receives) or not (cases 1 and 2: P3 is Le).
 * T=0 cannot tell from the header, so the application says (§10.3.2).
 * GET RESPONSE and ENVELOPE of an interindustry class (CLA b8 = 0) never
 * reach the application: the card role serves them itself, answering a GET
 * RESPONSE with nothing to get by 90 00 right after a command that took data
 * and answered 90 00 alone (the reader's case 4S.2 fetch), else by 69 85.
 */
typedef bool (*t0_takes_data_fn)(void *ctx, uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2);

enum t0_card_phase {
    T0_CARD_HEADER,     /* receiving CLA INS P1 P2 P3 */
    T0_CARD_DATA_IN,    /* receiving command data after an ACK */
    T0_CARD_PROCESSING, /* the application has the command */
    T0_CARD_SENDING,    /* sending procedure bytes, data and SW1 SW2 */
};
enum t0_card_step { T0_STEP_ACK, T0_STEP_DATA, T0_STEP_SW, T0_STEP_END };

struct t0_card {
    uint8_t *buf; /* command data, and a command APDU assembled from ENVELOPEs */
    size_t cap;
    t0_takes_data_fn takes_data;
    void *ctx;
    bool bytewise; /* ACK with ~INS, one data byte at a time (to exercise readers) */

    enum t0_card_phase phase;
    uint8_t hdr[T0_HEADER_LEN];
    size_t hdr_len;
    size_t data_len, data_want;
    bool data_is_envelope;
    size_t env_len; /* ENVELOPE bytes gathered so far */
    bool outgoing;  /* the TPDU asks for data from the card (case 1 or 2) */
    struct apdu cmd;

    /* the application's response, kept for GET RESPONSE and a 6CXX re-issue */
    const uint8_t *rdata;
    size_t rlen, roff;
    uint16_t rsw;
    bool pending;
    bool la_pending;    /* 6CXX was sent: the same header with P3 = La is served from here */
    bool last_empty_ok; /* the last command took data and answered 90 00 alone (case 4S.2) */
    uint8_t la_hdr[4];
    size_t la;

    /* what is being sent */
    enum t0_card_step step;
    size_t send_n;    /* data bytes to send in this TPDU */
    uint16_t send_sw; /* the SW1 SW2 closing it */
    uint8_t txb[2];
};

/*
 * `buf` receives command data: at least 255 bytes, and as much as the
 * longest extended command APDU (ENVELOPE) the application accepts.
 */
enum t0_err t0_card_init(struct t0_card *c, uint8_t *buf, size_t cap, t0_takes_data_fn takes_data,
                         void *ctx, bool bytewise, struct t0_io *io);

/* Feeds n characters received from the reader. */
enum t0_err t0_card_rx(struct t0_card *c, const uint8_t *in, size_t n, struct t0_io *io);

/* After sending io.tx when io.more was set. */
enum t0_err t0_card_sent(struct t0_card *c, struct t0_io *io);

/* Sends a NULL byte while the application works on io.command. */
enum t0_err t0_card_null(struct t0_card *c, struct t0_io *io);

/*
 * The application's response to io.command: data[0..len) (kept by pointer
 * until the reader has fetched it all, i.e. until the next command) and SW.
 */
enum t0_err t0_card_respond(struct t0_card *c, const uint8_t *data, size_t len, uint16_t sw,
                            struct t0_io *io);

#endif

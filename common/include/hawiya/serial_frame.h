/*
 * serial_frame: CCID messages over a byte stream that can lose, corrupt or
 * invent bytes (a UART between the reader and the host, where USB would
 * otherwise carry them). Asynchronous HDLC-like framing as PPP uses it
 * (RFC 1662 §4): every frame starts and ends with the flag 7E; inside a
 * frame 7E and 7D are sent as 7D followed by the byte XOR 20 (§4.2); the
 * frame ends with the 16-bit FCS of ISO/IEC 13239 (hawiya/crc16.h, RFC 1662
 * §C.2), low byte first. Before stuffing, a frame is
 *
 *   kind (1) | seq (1) | payload (0..max) | FCS (2)
 *
 * kind says what the payload is (SERIAL_KIND_*); seq counts the sender's
 * frames modulo 256, so the receiver can count frames it never saw.
 *
 * How the receiver recovers from lost, corrupted or extra bytes:
 *  - Resynchronisation is at the next flag, always. The receiver starts in
 *    "hunt" mode and discards everything up to the first 7E; every 7E ends
 *    the frame in progress and starts the next one, so one flag between two
 *    frames is enough, and extra flags (idle fill) are empty frames, ignored.
 *  - A frame is delivered only whole: a wrong FCS, a stuffing error (7D
 *    followed by a flag, RFC 1662's abort sequence, or by a byte that does
 *    not decode), fewer than four bytes, or more than the receiver's buffer
 *    holds drops the frame, counts it under its named error, and the
 *    receiver hunts for the next flag. A lost byte inside a frame therefore
 *    costs that frame (the FCS fails; a random corruption passes it with
 *    probability 2^-16); a lost flag merges two frames, which both fail the
 *    FCS, and the flag after them resynchronises.
 *  - Nothing below the CCID layer retransmits. A dropped CCID request gets
 *    no answer and no time extension (the reader sends one at least every
 *    second while it works, CCID 1.1 §6.2.6), so the host sees the loss
 *    within its CCID timeout and treats it as a failed exchange; the next
 *    request finds the link in step again. Sequence gaps are counted
 *    (rx.lost) for the logs.
 *  - HELLO from the host means "a new host is attached" (as a USB reset
 *    would): the reader resets its host-side state and answers HELLO, so
 *    the host knows the link works before it sends CCID. BYE means the host
 *    went away.
 *
 * Pure codec: no I/O, no heap. The decoder is fed bytes; the encoder writes
 * a frame in three pieces so a board can send it without a second buffer.
 */
#ifndef HAWIYA_SERIAL_FRAME_H
#define HAWIYA_SERIAL_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SERIAL_FRAME_FLAG     0x7Eu
#define SERIAL_FRAME_ESCAPE   0x7Du
#define SERIAL_FRAME_XOR      0x20u
#define SERIAL_FRAME_OVERHEAD 4u /* kind, seq, FCS */

enum serial_kind {
    SERIAL_KIND_HELLO = 0x01,    /* host -> reader: a host attaches; reader -> host: ready */
    SERIAL_KIND_BYE = 0x02,      /* host -> reader: the host detaches */
    SERIAL_KIND_BULK_OUT = 0x10, /* host -> reader: one PC_to_RDR message (CCID §6.1) */
    SERIAL_KIND_BULK_IN = 0x11,  /* reader -> host: one RDR_to_PC message (§6.2) */
    SERIAL_KIND_INTERRUPT = 0x12 /* reader -> host: NotifySlotChange, HardwareError (§6.3) */
};

bool serial_kind_valid(uint8_t kind);

enum serial_frame_err {
    SERIAL_FRAME_OK = 0,
    SERIAL_FRAME_NONE,       /* decoder: nothing complete yet */
    SERIAL_FRAME_ERR_FCS,    /* the frame check sequence does not match */
    SERIAL_FRAME_ERR_ESCAPE, /* 7D before a flag (abort) or before a byte that cannot be stuffed */
    SERIAL_FRAME_ERR_SHORT,  /* fewer bytes than kind, seq and FCS */
    SERIAL_FRAME_ERR_TOO_LONG, /* more payload than the receiver's buffer holds */
    SERIAL_FRAME_ERR_KIND,     /* a kind this link does not define */
    SERIAL_FRAME_ERR_NO_SPACE, /* encoder: the output buffer is too small */
};

const char *serial_frame_err_str(enum serial_frame_err e);

/* A decoded frame; payload points into the decoder's buffer until the next byte. */
struct serial_frame {
    uint8_t kind;
    uint8_t seq;
    const uint8_t *payload;
    size_t len;
};

struct serial_frame_stats {
    uint64_t frames; /* delivered */
    uint64_t bad_fcs, bad_escape, too_short, too_long, bad_kind;
    uint64_t lost;   /* frames missing by the sequence numbers */
    uint64_t hunted; /* bytes discarded while looking for a flag */
};

struct serial_frame_rx {
    uint8_t *buf; /* kind, seq, payload, FCS of the frame in progress */
    size_t cap;
    size_t len;
    bool hunting; /* discarding until the next flag */
    bool escaped; /* the last byte was 7D */
    bool have_seq;
    uint8_t next_seq;
    struct serial_frame_stats stats;
};

/* `buf` holds a frame's kind, seq, payload and FCS: max payload + 4 bytes. */
void serial_frame_rx_init(struct serial_frame_rx *rx, uint8_t *buf, size_t cap);

/*
 * Feeds one byte. SERIAL_FRAME_OK: *f is a whole frame (valid until the next
 * call). SERIAL_FRAME_NONE: nothing yet. An error: a frame was dropped for
 * that reason (counted in stats) and the decoder hunts for the next flag.
 */
enum serial_frame_err serial_frame_rx_byte(struct serial_frame_rx *rx, uint8_t b,
                                           struct serial_frame *f);

/* Forgets the frame in progress and the sequence (a new peer). */
void serial_frame_rx_reset(struct serial_frame_rx *rx);

/* --- encoder ------------------------------------------------------------- */

/* The most bytes a frame of n payload bytes takes on the line. */
#define SERIAL_FRAME_MAX_ENCODED(n) (2u + 2u * ((size_t)(n) + SERIAL_FRAME_OVERHEAD))

struct serial_frame_tx {
    uint16_t fcs;
};

/* The opening flag, kind and seq, stuffed: at most 5 bytes into out. */
size_t serial_frame_tx_begin(struct serial_frame_tx *tx, uint8_t kind, uint8_t seq, uint8_t out[5]);
/* n payload bytes, stuffed: at most 2n bytes into out. */
size_t serial_frame_tx_data(struct serial_frame_tx *tx, const uint8_t *p, size_t n, uint8_t *out);
/* The FCS, stuffed, and the closing flag: at most 5 bytes into out. */
size_t serial_frame_tx_end(struct serial_frame_tx *tx, uint8_t out[5]);

/* A whole frame into out (SERIAL_FRAME_MAX_ENCODED(n) bytes always suffice). */
enum serial_frame_err serial_frame_encode(uint8_t kind, uint8_t seq, const uint8_t *payload,
                                          size_t n, uint8_t *out, size_t cap, size_t *out_len);

#endif

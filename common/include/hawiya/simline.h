/*
 * simline: the wire format of the simulated card line.
 *
 * The sim board (boards/sim, the reader) and hawiya-vcard (the card) are two
 * processes joined by a stream socket that stands for the contacts of
 * ISO/IEC 7816-3 §5: VCC (C1), RST (C2), CLK (C3) and I/O (C7), plus the
 * slot's card-presence switch. Each record is one event on those contacts at a
 * point of simulated time, so both sides account every character in ETUs at
 * the Fi/Di and clock in force (7816-3 §7.1: 1 etu = F / (D x f)).
 *
 * Record: type (1) | reserved 0 (1) | payload length (2, LE) | time in ns (8, LE) | payload.
 *
 * I/O characters travel as the raw line byte a direct-convention UART would
 * read (LSB first, high = 1), so an inverse-convention card really sends TS
 * as 0x03 and the reader has to detect it (7816-3 §8.1). Each character
 * carries flags: a parity error seen on the line (7816-3 §7.3) and whether
 * the receiving UART's ETU differed from the sender's (the character is then
 * unreadable, as on a real line after a PPS only one side applied).
 *
 * Time is owned by the reader. The card never sends unprompted I/O: after
 * handling what the reader sent it answers with its characters, each block of
 * them stamped with its start time, then SYNC ("quiet until you send again"),
 * so the reader can decide a timeout in simulated time without sleeping.
 * PRESENCE may come at any moment (a card removed by a test).
 *
 * The same records carry the contactless interface on a socket of its own
 * (the reader's antenna and the cards in its field, ISO/IEC 14443): RF_FIELD
 * switches the reader's carrier on or off, RF_FRAME is one frame on the air
 * either way, stamped with its start, in its type (A or B) and bit rate
 * (fc/128 x 2^rate), as the bits that were sent: `align` bits of the first
 * byte are not part of the frame (a Type A anticollision answer starts in
 * the middle of a byte, 14443-3 6.5.3.2), then `n_bits` bits, CRC bytes
 * included as sent. Several cards answering at once arrive as one frame;
 * for Type A, a collision flag and the first colliding bit (counted from
 * bit 0 of byte 0). Presence has no record: a reader learns of a card only
 * by polling, as with a real antenna. The card side ends every answer with
 * SYNC as on the contact line.
 */
#ifndef HAWIYA_SIMLINE_H
#define HAWIYA_SIMLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIMLINE_HEADER_SIZE 12
#define SIMLINE_MAX_IO      1024 /* characters in one IO record */
#define SIMLINE_MAX_PAYLOAD (8 + 2 * SIMLINE_MAX_IO)
#define SIMLINE_RF_MAX      1024 /* bytes of one RF frame (FSC / FSD up to 1024) */
/* ETUs per character: 11 (T=1 without extra guard time) up to 12 + 254, TC1's
 * largest extra guard time N (7816-3 §8.3; N = 255 means the minimum). */
#define SIMLINE_CHAR_ETU_MIN 11
#define SIMLINE_CHAR_ETU_MAX 266

enum simline_type {
    SIMLINE_VCC = 1,      /* reader -> card: u16 millivolts, 0 = off */
    SIMLINE_CLK = 2,      /* reader -> card: u32 clock in Hz, 0 = stopped */
    SIMLINE_RST = 3,      /* reader -> card: u8 level, 0 = RST low (reset asserted) */
    SIMLINE_IO = 4,       /* both: u32 etu in ps, u16 etu per char, u16 n, n bytes, n flags */
    SIMLINE_SYNC = 5,     /* card -> reader: no payload; quiet until the reader sends */
    SIMLINE_PRESENCE = 6, /* card -> reader: u8 1 = card in the slot, 0 = removed */
    SIMLINE_RF_FIELD = 7, /* reader -> cards: u8 1 = carrier on, 0 = off */
    SIMLINE_RF_FRAME = 8, /* both: u8 type, u8 rate, u8 align, u8 flags, u16 n_bits,
                           * u16 collision bit, ceil((align + n_bits) / 8) bytes */
};

/* RF_FRAME flags. */
#define SIMLINE_RF_COLLISION 0x01 /* Type A: answers collided from coll_bit on */
#define SIMLINE_RF_DAMAGED   0x02 /* the receiver sees a damaged frame (Type B collision, noise) */

/* Per-character flags of an IO record. */
#define SIMLINE_CHAR_PARITY_ERROR 0x01

enum simline_err {
    SIMLINE_OK = 0,
    SIMLINE_ERR_INCOMPLETE,   /* a valid prefix: more bytes are needed */
    SIMLINE_ERR_BAD_TYPE,     /* unknown record type */
    SIMLINE_ERR_BAD_RESERVED, /* reserved byte not zero */
    SIMLINE_ERR_BAD_LENGTH,   /* payload length wrong for the type */
    SIMLINE_ERR_BAD_VALUE,    /* a field out of its range */
    SIMLINE_ERR_NO_SPACE,     /* the output buffer is too small */
};

const char *simline_err_str(enum simline_err e);

/* One RF frame on the air. */
struct simline_rf {
    uint8_t type;  /* enum iso14443_type */
    uint8_t rate;  /* enum iso14443_rate */
    uint8_t align; /* 0..7 */
    uint8_t flags; /* SIMLINE_RF_* */
    uint16_t n_bits;
    uint16_t coll_bit;   /* with SIMLINE_RF_COLLISION: align <= coll_bit < align + n_bits */
    const uint8_t *data; /* (align + n_bits + 7) / 8 bytes */
};

struct simline_msg {
    enum simline_type type;
    uint64_t t_ns; /* simulated time at which the event starts */
    union {
        uint16_t vcc_mv;
        uint32_t clk_hz;
        uint8_t rst_level;
        uint8_t present;
        uint8_t field;
        struct simline_rf rf;
        struct {
            uint32_t etu_ps;      /* the sender's ETU */
            uint16_t char_etu;    /* ETUs from one character's start to the next's, 11..266 */
            uint16_t n;           /* 1..SIMLINE_MAX_IO */
            const uint8_t *chars; /* points into the decoded buffer */
            const uint8_t *flags; /* n flags, same */
        } io;
    } u;
};

/*
 * Decodes one record from the start of `in`. On SIMLINE_OK `*used` is the
 * record's size; on SIMLINE_ERR_INCOMPLETE `*used` is how many bytes at least
 * the record needs in all. IO pointers point into `in`.
 */
enum simline_err simline_decode(const uint8_t *in, size_t len, struct simline_msg *m, size_t *used);

/* Bytes an RF frame of `align` + `n_bits` bits takes. */
size_t simline_rf_bytes(uint8_t align, uint16_t n_bits);

/* Encodes one record; IO records take chars/flags (flags may be NULL: all zero). */
enum simline_err simline_encode(const struct simline_msg *m, uint8_t *out, size_t cap,
                                size_t *out_len);

/* The first bytes of an IO record, before its n characters and n flags: a
 * sender with the characters elsewhere writes this, then them, then flags. */
#define SIMLINE_IO_HEAD_SIZE (SIMLINE_HEADER_SIZE + 8)
enum simline_err simline_encode_io_head(const struct simline_msg *io,
                                        uint8_t out[SIMLINE_IO_HEAD_SIZE]);

/* Start time of character i of an IO record. */
uint64_t simline_char_time_ns(const struct simline_msg *io, size_t i);

/*
 * 1 etu = F / (D x f) (7816-3 §7.1), in picoseconds, rounded; 0 when D or f
 * is 0. A character then takes `char_etu` etu: 12 for T=0, the ATR and PPS
 * (10 bits and the 2 etu guard time, §7.2), 11 for T=1 (CGT, §11.2), plus
 * the extra guard time N of TC1.
 */
uint32_t simline_etu_ps(unsigned fi, unsigned di, uint32_t clk_hz);

#endif

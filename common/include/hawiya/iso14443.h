/*
 * iso14443: what ISO/IEC 14443 Type A and Type B share, and what the
 * proximity coupling device (PCD, the reader) and the proximity card (PICC)
 * share: the carrier frequency fc and the bit rates fc/128 to fc/16
 * (14443-2 clause 8 and 9, "106 to 848 kbit/s"), the two CRCs of 14443-3
 * Annex B, the frame sizes of FSCI / FSDI (14443-4 5.2.3 and 5.1, with the
 * values 9 to C of Amendment 2: 512 to 4096 bytes), the frame waiting time
 * FWT from FWI and the start-up frame guard time SFGT from SFGI (14443-4
 * 7.2 and 5.2.5), and the time frames take on the air (14443-2 8.1 / 9.1
 * bit coding, 14443-3 6.1 Type A frames, 7.1 Type B characters, SOF, EOF,
 * and the frame delay times), which the sim board and the virtual card both
 * use to stamp frames in simulated time.
 *
 * CRC_A: polynomial x^16 + x^12 + x^5 + 1 taken least significant bit first,
 * register preset to 6363, no final complement. CRC_B: the same polynomial
 * preset to FFFF with the final ones' complement (the ISO/IEC 13239 FCS,
 * also T=1's CRC). Both are sent low byte first. Annex B's examples: CRC_A
 * of 00 00 is A0 1E, of 12 34 is 26 CF; CRC_B of 00 00 00 is CC C6, of
 * 0F AA FF is FC D1, of 0A 12 34 56 is 2C F6.
 *
 * Also here, for the activation machines of both types (iso14443a.h,
 * iso14443b.h), the frame a PCD asks its front end to send and what came
 * back: the level at which real NFC front ends work (bits, CRC, collision
 * position), so the machines run unchanged over a chip or over the sim
 * board's socket.
 */
#ifndef HAWIYA_ISO14443_H
#define HAWIYA_ISO14443_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ISO14443_FC_HZ   13560000u
#define ISO14443_CRC_LEN 2u
/* 14443-4 5.2.3 with Amendment 2: FSCI / FSDI C = 4096 bytes. */
#define ISO14443_FS_MAX 4096u
/* 14443-4 7.2: FWI 0..14; 15 is RFU and read as the default 4. */
#define ISO14443_FWI_MAX     14u
#define ISO14443_FWI_DEFAULT 4u

enum iso14443_type { ISO14443_A = 0, ISO14443_B = 1 };

/* Bit rates fc/128 x D, D = 1, 2, 4, 8: the divisor integer's code (DSI, DRI). */
enum iso14443_rate {
    ISO14443_106 = 0,
    ISO14443_212 = 1,
    ISO14443_424 = 2,
    ISO14443_848 = 3,
};

enum iso14443_err {
    ISO14443_OK = 0,
    ISO14443_ERR_PARAM,        /* invalid configuration or argument from the caller */
    ISO14443_ERR_STATE,        /* the call is not valid in the current state */
    ISO14443_ERR_LENGTH,       /* a frame of the wrong length for what it should be */
    ISO14443_ERR_CRC,          /* CRC_A / CRC_B does not match */
    ISO14443_ERR_ATQA,         /* ATQA: RFU UID size or not exactly one anticollision bit */
    ISO14443_ERR_BCC,          /* UID CLn check byte does not match */
    ISO14443_ERR_CASCADE,      /* more cascade levels than three, or a cascade tag misplaced */
    ISO14443_ERR_SAK,          /* SAK not coherent with the UID (cascade bit) */
    ISO14443_ERR_ATS,          /* ATS: TL disagrees with the length or the interface bytes */
    ISO14443_ERR_PPS,          /* the PPS response is not the echo of PPSS */
    ISO14443_ERR_ATQB,         /* ATQB: first byte not 50, length, or RFU protocol type */
    ISO14443_ERR_ATTRIB,       /* the answer to ATTRIB: length or CID not ours */
    ISO14443_ERR_NOT_ISO_DEP,  /* the card does not speak ISO/IEC 14443-4 */
    ISO14443_ERR_COLLISION,    /* collisions did not resolve within the tries allowed */
    ISO14443_ERR_NO_ANSWER,    /* a selected card stopped answering (it left the field) */
    ISO14443_ERR_TRANSMISSION, /* answers kept arriving damaged */
};

const char *iso14443_err_str(enum iso14443_err e);

uint16_t iso14443_crc_a(const uint8_t *p, size_t n);
uint16_t iso14443_crc_b(const uint8_t *p, size_t n);
/* Writes the CRC of p[0..n) at p[n], p[n+1] (low byte first). */
void iso14443_crc_append(enum iso14443_type t, uint8_t *p, size_t n);
/* True when p[0..n) ends with the right CRC (n counts the two CRC bytes). */
bool iso14443_crc_ok(enum iso14443_type t, const uint8_t *p, size_t n);

/* FSCI / FSDI to bytes: 0..8 = 16, 24, 32, 40, 48, 64, 96, 128, 256;
 * 9..C = 512..4096; D..F are RFU and read as C (14443-4:2016 5.2.3). */
size_t iso14443_fs(uint8_t fsci);
/* The largest code whose size is at most `bytes` (>= 16). */
uint8_t iso14443_fsi_for(size_t bytes);

/* Time of `cycles` periods of fc, in ns, rounded up. */
uint64_t iso14443_fc_ns(uint64_t cycles);
/* FWT = 256 x 16 / fc x 2^FWI (FWI 15 read as 4). */
uint64_t iso14443_fwt_ns(uint8_t fwi);
/* SFGT = 256 x 16 / fc x 2^SFGI; SFGI 0 and 15: none. */
uint64_t iso14443_sfgt_ns(uint8_t sfgi);
/* One bit period (elementary time unit) at the rate: 128 / (D fc). */
uint64_t iso14443_etu_ps(enum iso14443_rate r);

/* The bit rates a PICC announces, in TA(1) of its ATS (14443-4 5.2.4) or
 * the Bit_Rate_capability of its ATQB (14443-3 7.9.4.1), coded alike: b8
 * the same D both ways, b7..b5 PICC to PCD at 848 / 424 / 212 kbit/s,
 * b3..b1 PCD to PICC likewise (b4 is RFU: the callers read it as 106 only).
 * ds, dr: masks of 1 << enum iso14443_rate, 106 always in. */
void iso14443_rate_masks(uint8_t cap, unsigned *ds, unsigned *dr, bool *same_d);
/* Whether DSI (PICC to PCD) and DRI (PCD to PICC), as a PPS or an ATTRIB
 * chooses them, are among the rates `cap` announces: a PICC must not switch
 * to a divisor it did not offer (14443-4 5.6, 14443-3 7.10). */
bool iso14443_rates_offered(uint8_t cap, unsigned dsi, unsigned dri);

/*
 * The time a frame of `bits` data bits takes on the air, start to end:
 * Type A: start of communication, the bits, an odd parity bit after each
 * complete byte, end of communication (14443-3 6.1.2 to 6.1.5). Type B:
 * SOF (10 + 2 etu), 10 etu per character, EOF (10 etu), and from the PICC
 * its unmodulated subcarrier TR1 before SOF (14443-3 7.1, 14443-2 9.2.5).
 */
uint64_t iso14443_frame_ns(enum iso14443_type t, enum iso14443_rate r, bool from_picc, size_t bits);
/*
 * The earliest a PICC answers after the end of the PCD's frame: Type A
 * 1172 / fc (14443-3 6.2.1.1, n = 9, last bit 0); Type B TR0 = 1024 / fc
 * (14443-2 9.2.5). The latest for the activation commands the PCD waits
 * for is ISO14443_ACTIVATION_WAIT_NS.
 */
uint64_t iso14443_fdt_ns(enum iso14443_type t);
/* The PCD waits this long after a PICC's frame before its next one: Type A
 * 1172 / fc (6.2.1.2), Type B TR2 = 14 etu (7.10.3 default minimum). */
uint64_t iso14443_pcd_guard_ns(enum iso14443_type t, enum iso14443_rate r);
/* How long a PCD waits for the answer to REQA/WUPA, anticollision,
 * SELECT, HLTA, REQB/WUPB and slot markers before deciding there is none
 * (the answers are due 86 to 91 us after the command, ATQB within
 * FWT_ATQB = 7680 / fc = 566 us: 14443-3 7.9.4.3). */
#define ISO14443_ACTIVATION_WAIT_NS 1000000u

/* --- the front-end view the PCD activation machines work at ------------- */

/* A frame to send. */
struct iso14443_tx {
    const uint8_t *data;
    size_t bits;         /* 7 for a short frame, 16 + n in anticollision, else 8 x bytes */
    bool crc;            /* append CRC_A / CRC_B, and check and strip it on the answer */
    uint8_t rx_align;    /* bit position, in its first byte, of the answer's first bit */
    uint64_t timeout_ns; /* from the end of our frame to the start of the answer */
    uint64_t guard_ns;   /* at least this long after the last frame received */
};

enum iso14443_rx_kind {
    ISO14443_RX_FRAME,     /* a frame, data / bits (CRC checked and stripped if asked) */
    ISO14443_RX_TIMEOUT,   /* nothing within the timeout */
    ISO14443_RX_ERROR,     /* a damaged frame: CRC, parity or framing error */
    ISO14443_RX_COLLISION, /* Type A: bits collided from coll_bit on (data valid before it) */
};

struct iso14443_rx {
    enum iso14443_rx_kind kind;
    const uint8_t *data;
    size_t bits;       /* bits received, counted from rx_align of the first byte */
    uint16_t coll_bit; /* COLLISION: bit index in the data, from bit 0 of byte 0 */
};

/* What a PCD activation machine (Type A or B) asks for next. */
enum iso14443_act_kind {
    ISO14443_ACT_SEND,    /* send act.tx at act.tx_rate, answer at act.rx_rate */
    ISO14443_ACT_NO_CARD, /* nobody answered the request */
    ISO14443_ACT_DONE,    /* a card is selected (and activated, for 14443-4); wait
                           * act.tx.guard_ns (SFGT) before the first block */
    ISO14443_ACT_ERROR,   /* act.err; the card may be left in any state: field off */
};

struct iso14443_act {
    enum iso14443_act_kind kind;
    struct iso14443_tx tx;
    enum iso14443_rate tx_rate, rx_rate;
    enum iso14443_err err;
};

#endif

/*
 * card_caps: how long the command and response APDUs a card takes are, from
 * its own indications (ISO/IEC 7816-4:2013), and the READ BINARY size a
 * reader then uses, so that a card limited below the usual sizes is never
 * probed by trial and error on every read.
 *
 * Indications:
 *  - the card capabilities in the historical bytes (8.1.1.2.7, COMPACT-TLV
 *    tag 7, third software function table b7: extended Lc and Le), which a
 *    contactless Type A card carries in its ATS (the PC/SC ATR keeps them);
 *  - EF.ATR/INFO (8.2.1.1, FID 2F01; ICAO Doc 9303-10 gives it SFI 01 and
 *    has eMRTDs that support extended length show it there): DO'7F66',
 *    extended length information (12.7.1), two INTEGERs: the largest
 *    command APDU and the largest response APDU in bytes (SW1 SW2 included);
 *    a DO'47' card capabilities, as in the historical bytes.
 *
 * Read sizes: with extended lengths, one READ BINARY of up to the link's
 * limit (a file in one go), within the card's stated response size. Without
 * them, the largest of 256, 224 and 160 bytes whose response APDU (secure
 * messaging included: the protected answer with its padding, DO'87', DO'99',
 * DO'8E') fits what the card says it holds, 258 bytes when it says nothing:
 * the sizes eMRTD readers settled on for cards that refuse 256 (JMRTD reads
 * 224, NFCPassportReader 160). Below 160, the largest size that fits.
 */
#ifndef HAWIYA_CARD_CAPS_H
#define HAWIYA_CARD_CAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hawiya/atr.h"

/* A short response APDU: 256 data bytes and SW1 SW2. */
#define CARD_CAPS_SHORT_RESPONSE 258u

enum card_caps_err {
    CARD_CAPS_OK = 0,
    CARD_CAPS_ERR_ABSENT, /* EF.ATR/INFO says nothing about sizes */
    CARD_CAPS_ERR_FORMAT, /* DO'7F66' or DO'47' malformed */
};

const char *card_caps_err_str(enum card_caps_err e);

struct card_caps {
    bool known;          /* the card said something (else the defaults hold) */
    bool extended;       /* extended Lc and Le fields */
    size_t max_command;  /* bytes of a command APDU it takes; 0: not said */
    size_t max_response; /* bytes of a response APDU it sends, SW included; 0: not said */
};

/* From the decoded historical bytes (atr.h); nothing known without tag 7. */
void card_caps_from_hist(const struct atr_hist *h, struct card_caps *c);

/* Adds what EF.ATR/INFO's contents say to *c. */
enum card_caps_err card_caps_from_atr_info(const uint8_t *ef, size_t n, struct card_caps *c);

/* Bytes of the response APDU to a READ BINARY of `le` plain bytes under
 * short-length secure messaging (AES, the larger padding): DO'87' with the
 * padded cryptogram, DO'99', DO'8E', SW1 SW2. */
size_t card_caps_sm_response(size_t le);

/* The READ BINARY Le to use: extended (both the card and the link take
 * extended lengths) up to link_max; else the ladder 256 / 224 / 160. `sm`:
 * under secure messaging. */
size_t card_caps_read_le(const struct card_caps *c, bool extended, bool sm, size_t link_max);

/* After the card refused `le` with 6700 (wrong length): the next rung down
 * the ladder, 0 when there is none. */
size_t card_caps_next_le(size_t le);

#endif

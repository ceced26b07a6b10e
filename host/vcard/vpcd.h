/*
 * vpcd: the card's end of vsmartcard's vpcd link, so that hawiya-vcard can
 * sit in a real pcscd behind vsmartcard's reader driver (libifdvpcd.so, the
 * Debian package vsmartcard-vpcd) instead of on our own card line.
 *
 * The link is a TCP stream. Every message, either way, is a 2-byte
 * big-endian length followed by that many bytes. From the driver, a 1-byte
 * message is a control: power off (0), power on (1), reset (2), or "send
 * the ATR" (4); a longer one is a command APDU. The card answers the ATR
 * request with its ATR and a command with its response APDU, and nothing
 * else: power off, power on and reset have no answer. The driver asks for
 * the ATR to poll for the card, so a card that closes the link is a card
 * taken out of the slot.
 *
 * This module frames and answers messages over a struct vcard; the socket
 * is main.c's. Everything from the link is hostile: lengths are bounded and
 * a message the protocol does not define is a named error, never a crash.
 */
#ifndef HAWIYA_VPCD_H
#define HAWIYA_VPCD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "persona.h"
#include "vcard.h"

#define VPCD_HEADER      2u
#define VPCD_MAX_PAYLOAD 0xFFFFu
#define VPCD_MAX_MESSAGE (VPCD_HEADER + VPCD_MAX_PAYLOAD)

/* The control bytes. */
#define VPCD_CTRL_OFF   0x00u
#define VPCD_CTRL_ON    0x01u
#define VPCD_CTRL_RESET 0x02u
#define VPCD_CTRL_ATR   0x04u

enum vpcd_err {
    VPCD_OK = 0,
    VPCD_ERR_NEED_MORE, /* vpcd_frame: the message is not complete yet */
    VPCD_ERR_EMPTY,     /* a zero-length message: the driver never sends one */
    VPCD_ERR_CONTROL,   /* a 1-byte message that is no known control */
    VPCD_ERR_CARD,      /* the card core failed (vcard_err) */
    VPCD_ERR_BUFFER,    /* the answer does not fit the caller's buffer */
};

const char *vpcd_err_str(enum vpcd_err e);

/*
 * Stream framing: looks at buf[0..len). VPCD_OK: a whole message of
 * *msg_len bytes (header included) starts at buf[0]. VPCD_ERR_NEED_MORE: not
 * yet. VPCD_ERR_EMPTY: a zero length (*msg_len = 2, to skip it).
 */
enum vpcd_err vpcd_frame(const uint8_t *buf, size_t len, size_t *msg_len);

struct vpcd_card {
    struct vcard *card;
    const struct persona *persona;
    bool powered;
    uint64_t apdus, controls; /* counters, for the control socket's stats */
};

/*
 * Handles one message's payload msg[0..n) (without the length header) and
 * writes the whole answer frame, header included, to out[0..cap);
 * *out_len = 0 when the message has no answer.
 */
enum vpcd_err vpcd_handle(struct vpcd_card *c, const uint8_t *msg, size_t n, uint8_t *out,
                          size_t cap, size_t *out_len);

#endif

/*
 * loopback_applet: a test application of the virtual card that makes every
 * APDU case of ISO/IEC 7816-4 §5.1 (1 to 4, short and extended length
 * fields) checkable byte for byte from outside, through any reader and any
 * middleware (pcscd, a CCID reader, vpcd). A real card has no such
 * application; the virtual one has it so that the transport can be swept.
 *
 * SELECT by DF name LOOPBACK_AID makes it current. Then, with CLA 00,
 *   INS EE P1 P2 [data] [Le]:
 *     the command data field must be d[i] = (P1 + i) mod 256, else 6A80;
 *     the response data field is r[i] = (P2 + i) mod 256, Ne bytes long
 *     (Ne as 7816-4 §5.1 reads Le: 00 = 256, 0000 = 65536), or as many as
 *     the card can send (its persona's apdu.max_response_data);
 *     status 90 00.
 * So the data that reached the card is checked by the card, the data that
 * came back by the caller, each independently of the other. Other INS:
 * 6D00. Everything is stateless: nothing to reset.
 */
#ifndef HAWIYA_LOOPBACK_APPLET_H
#define HAWIYA_LOOPBACK_APPLET_H

#include "vcard.h"

/* A proprietary AID (7816-4 §8.2.1.2, category F): F0 "HAWIYA". */
#define LOOPBACK_AID                                                                               \
    {                                                                                              \
        0xF0, 0x48, 0x41, 0x57, 0x49, 0x59, 0x41                                                   \
    }
#define LOOPBACK_AID_LEN 7u
#define LOOPBACK_INS     0xEE

enum vcard_err loopback_applet_register(struct vcard *c);

#endif

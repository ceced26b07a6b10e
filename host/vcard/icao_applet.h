/*
 * icao_applet: the eMRTD application of the virtual card, the chip side of
 * ICAO Doc 9303-11: access control by PACE (§4.4, at the MF, before the
 * application is selected: §4.2) or BAC (§4.3), secure messaging (§9.8),
 * Active Authentication (§6.1) and Chip Authentication (§6.2), over the
 * files and keys of a pki_card. The protocols are common/'s card roles
 * (pace_card, bac_ic, sm, aa_card_sign, ca_card); this module only routes
 * APDUs and keeps the session.
 *
 * It registers as a card-level applet (VCARD_APPLET_CARD_LEVEL) with the
 * eMRTD AID A0000002471001 (9303-10 §3.1.1):
 *   plain MSE:Set AT 00 22 C1 A4 and GENERAL AUTHENTICATE 10/00 86: PACE
 *     with the MRZ information (password 1) or the CAN (password 2); on
 *     success secure messaging starts with the PACE keys and SSC 0. A card
 *     without EF.CardAccess refuses PACE (MSE 6A88, GENERAL AUTHENTICATE
 *     6D00), so the reader falls back to BAC.
 *   plain GET CHALLENGE 00 84 (Le 8) and EXTERNAL AUTHENTICATE 00 82: BAC
 *     with the MRZ keys; secure messaging with 3DES and BAC's SSC.
 *   CLA 0C: the command is unwrapped (MAC first), then SELECT / READ BINARY
 *     go to the file system with VFS_SEC_SM, INTERNAL AUTHENTICATE 00 88
 *     (8-byte challenge) signs with the AA key, MSE:Set KAT 41 A6, MSE:Set
 *     AT 41 A4 and GENERAL AUTHENTICATE run Chip Authentication, after whose
 *     90 00 (sent under the old keys) secure messaging restarts with the CA
 *     keys; the response is wrapped. Any SM error answers 6988 unprotected
 *     and ends the session (§9.8).
 *   a plain command while secure messaging is up ends the session (§9.8:
 *     the chip aborts secure messaging), then is processed as plain: files
 *     with access SM answer 6982.
 * Card reset wipes every session key and protocol state.
 */
#ifndef HAWIYA_ICAO_APPLET_H
#define HAWIYA_ICAO_APPLET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hawiya/bac.h"
#include "hawiya/ca.h"
#include "hawiya/pace.h"
#include "hawiya/sm.h"
#include "pki_card.h"
#include "vcard.h"

#define SW_SM_DATA_OBJECTS_INCORRECT 0x6988 /* 7816-4 §5.6 Table 6: SM data objects incorrect */
#define SW_AUTHENTICATION_FAILED     0x6300
#define SW_REFERENCED_DATA_NOT_FOUND 0x6A88

/* Largest plain response data under secure messaging (SM_OVERHEAD more on the wire). */
#define ICAO_APPLET_DATA_MAX 4096
/* Largest plain command re-encoded for pace_card / ca_card (a DH-2048 PACE step fits). */
#define ICAO_APPLET_RAW_MAX 1024

enum icao_applet_err {
    ICAO_APPLET_OK = 0,
    ICAO_APPLET_ERR_ARGS,     /* NULL pointer, or a pki_card not loaded */
    ICAO_APPLET_ERR_MRZ_INFO, /* the BAC keys cannot be derived from the MRZ information */
    ICAO_APPLET_ERR_REGISTER, /* vcard_register_applet refused (see vcard_err) */
};

const char *icao_applet_err_str(enum icao_applet_err e);

/* Which access control the current secure messaging session came from. */
enum icao_session {
    ICAO_SESSION_NONE = 0,
    ICAO_SESSION_BAC,
    ICAO_SESSION_PACE,
    ICAO_SESSION_CA, /* keys from Chip Authentication, after BAC or PACE */
};

struct icao_applet {
    struct pki_card *pki;
    uint8_t can[PACE_MAX_PASSWORD_LEN];
    size_t can_len;
    struct bac_keys bac_keys;
    pace_rng_fn rng;
    void *rng_ctx;
    struct pace_card pace;
    struct bac_ic bac;
    struct sm_ctx sm;
    struct ca_card ca;
    enum icao_session session;
    uint64_t le_refused; /* READ BINARY refused for asking more than the card holds */
    /* Work buffers (no secrets outlive a command in them: they are wiped). */
    uint8_t cmd[APDU_NC_MAX + 1];
    uint8_t data[ICAO_APPLET_DATA_MAX];
    uint8_t wrapped[ICAO_APPLET_DATA_MAX + SM_OVERHEAD + 2];
    uint8_t raw[ICAO_APPLET_RAW_MAX];
    uint8_t rraw[ICAO_APPLET_RAW_MAX];
};

/*
 * Prepares the applet for the card `pki` (which must stay loaded while the
 * applet lives) and the persona `p`, whose CAN it copies. `rng` draws the
 * challenges, nonces, ephemeral keys and ECDSA nonces; may be NULL (then
 * every protocol answers 6985 or fails).
 */
enum icao_applet_err icao_applet_init(struct icao_applet *ia, struct pki_card *pki,
                                      const struct persona *p, pace_rng_fn rng, void *rng_ctx);

/* Registers the applet on the card (after vcard_init). */
enum icao_applet_err icao_applet_register(struct icao_applet *ia, struct vcard *c);

/* The current session, ICAO_SESSION_NONE if secure messaging is off. */
enum icao_session icao_applet_session(const struct icao_applet *ia);

/* Wipes every key, the CAN and the session; the applet must be initialised again. */
void icao_applet_wipe(struct icao_applet *ia);

#endif

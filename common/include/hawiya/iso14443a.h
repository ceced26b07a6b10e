/*
 * iso14443a: bringing a Type A proximity card to life, both roles, as pure
 * state machines fed frames (no I/O, no clock): ISO/IEC 14443-3:2018
 * clause 6 (REQA / WUPA and ATQA 6.3.2, the anticollision and SELECT loop
 * over cascade levels for single, double and triple size UIDs 6.5.3 and
 * 6.5.4, SAK 6.5.3.4, HLTA 6.4.3 and the PICC states of 6.3) and ISO/IEC
 * 14443-4:2016 clause 5 (RATS and ATS with FSDI / FSCI, TA / TB / TC and
 * the historical bytes, PPS for the bit rates 106 to 848 kbit/s).
 *
 * Map onto the standards:
 *   REQA 26 / WUPA 52 (7-bit short frames)   -> ISO14443A_REQA / _WUPA
 *   ATQA (2 bytes, low first): b8b7 UID size, b5..b1 one anticollision bit
 *   SEL 93 / 95 / 97, NVB 20 + known bits; answer: the rest of UIDn + BCC
 *   SELECT: SEL 70 UID CLn BCC + CRC_A -> SAK + CRC_A; SAK 04: UID not
 *     complete (cascade tag 88 opened CLn), 20: ISO/IEC 14443-4 compliant
 *   HLTA 50 00 + CRC_A, never answered
 *   RATS E0 (FSDI << 4 | CID) + CRC_A -> ATS TL T0 [TA] [TB] [TC] T1..Tk
 *   PPS: PPSS D0 | CID, PPS0 11, PPS1 = DSI << 2 | DRI -> PPSS
 *
 * Collisions: when two PICCs answer at once, the PCD's front end reports
 * the first bit position where their answers differ (Manchester coding
 * makes a collision visible bit by bit, 14443-3 6.5.3.2); the PCD takes
 * the known bits up to it, sets the colliding bit to 1, and asks again
 * with NVB naming that many bits. Only PICCs whose UID starts with those
 * bits answer.
 *
 * The PCD machine: iso14443a_pcd_begin() gives the first frame (WUPA or
 * REQA); each answer (or timeout, or damaged frame) goes to
 * iso14443a_pcd_step(), which gives the next frame, NO_CARD, DONE (the
 * card is selected, and for a 14443-4 card has answered RATS and PPS) or
 * ERROR. After a PPS the new bit rates hold from the next frame on
 * (act.tx_rate / act.rx_rate say which to use for every frame).
 *
 * The PICC machine: iso14443a_picc_frame() takes each frame the PCD sends
 * (while the field is on) and says whether and what the card answers; once
 * it has sent its ATS, 14443-4 blocks go up to the block protocol (isodep.h)
 * and the PICC only takes PPS here.
 */
#ifndef HAWIYA_ISO14443A_H
#define HAWIYA_ISO14443A_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hawiya/iso14443.h"

#define ISO14443A_REQA        0x26
#define ISO14443A_WUPA        0x52
#define ISO14443A_SEL_CL1     0x93
#define ISO14443A_SEL_CL2     0x95
#define ISO14443A_SEL_CL3     0x97
#define ISO14443A_NVB_SELECT  0x70
#define ISO14443A_CT          0x88 /* cascade tag */
#define ISO14443A_HLTA        0x50
#define ISO14443A_RATS        0xE0
#define ISO14443A_PPSS        0xD0
#define ISO14443A_SAK_CASCADE 0x04
#define ISO14443A_SAK_ISO_DEP 0x20
#define ISO14443A_UID_MAX     10u
/* The ATS is at most FSD - 2 bytes (14443-4 5.2.1); ours hold up to 254. */
#define ISO14443A_ATS_MAX 254u

/* --- codecs ---------------------------------------------------------------- */

struct iso14443a_ats {
    uint8_t raw[ISO14443A_ATS_MAX];
    size_t len;   /* TL */
    uint8_t fsci; /* T0 b4..b1, default 2 (32 bytes) */
    bool ta_present, tb_present, tc_present;
    uint8_t ta;                /* default 00: 106 kbit/s only */
    uint8_t fwi;               /* TB b8..b5, default 4 */
    uint8_t sfgi;              /* TB b4..b1, default 0 */
    bool cid;                  /* TC b2: CID supported, default yes */
    bool nad;                  /* TC b1: NAD supported, default no */
    size_t hist_off, hist_len; /* historical bytes in raw */
};

/* An ATS without its CRC. RFU bits are ignored as 14443-4 5.2 says; a TA
 * with b4 set means 106 kbit/s only. */
enum iso14443_err iso14443a_ats_parse(const uint8_t *p, size_t n, struct iso14443a_ats *out);

/* Bit rates the PCD may choose from TA(1): masks of 1 << enum iso14443_rate,
 * both always holding 106; same_d: TA b8, one D for both directions. */
void iso14443a_ats_rates(const struct iso14443a_ats *a, unsigned *ds, unsigned *dr, bool *same_d);

/* --- PCD role ---------------------------------------------------------------- */

struct iso14443a_pcd_config {
    bool wakeup;       /* WUPA (cards in HALT answer too) rather than REQA */
    bool iso_dep;      /* go on with RATS and PPS when SAK says 14443-4 */
    uint8_t fsdi;      /* our frame size in RATS (8: 256 bytes) */
    uint8_t cid;       /* 0..14 */
    unsigned max_rate; /* highest enum iso14443_rate both ways (PPS) */
};

enum iso14443a_pcd_state {
    ISO14443A_PCD_IDLE,
    ISO14443A_PCD_REQ,     /* REQA / WUPA out */
    ISO14443A_PCD_ANTICOL, /* anticollision frame out */
    ISO14443A_PCD_SELECT,  /* SELECT out */
    ISO14443A_PCD_RATS,
    ISO14443A_PCD_PPS,
    ISO14443A_PCD_DONE,
};

struct iso14443a_pcd {
    struct iso14443a_pcd_config cfg;
    enum iso14443a_pcd_state state;
    /* outcome */
    uint8_t atqa[2];
    uint8_t uid[ISO14443A_UID_MAX];
    size_t uid_len;
    uint8_t sak;
    struct iso14443a_ats ats;
    enum iso14443_rate dsi, dri; /* PICC to PCD, PCD to PICC, after PPS */
    /* work */
    unsigned level; /* cascade level 1..3 */
    uint8_t cln[5]; /* UID CLn + BCC of this level, known bits first */
    unsigned known; /* bits of cln known */
    unsigned tries; /* damaged answers in a row, collisions at this level */
    uint64_t guard_ns;
    bool rates_on;            /* the PPS is through: dsi / dri in force */
    struct iso14443_act last; /* the frame in flight, for sending it again */
    uint8_t tx[16];
};

enum iso14443_err iso14443a_pcd_begin(struct iso14443a_pcd *p,
                                      const struct iso14443a_pcd_config *cfg,
                                      struct iso14443_act *act);
enum iso14443_err iso14443a_pcd_step(struct iso14443a_pcd *p, const struct iso14443_rx *rx,
                                     struct iso14443_act *act);
/* HLTA, for the caller to send (no answer comes); act->kind SEND. */
void iso14443a_pcd_hlta(struct iso14443a_pcd *p, struct iso14443_act *act);

/* --- PICC role ----------------------------------------------------------------- */

struct iso14443a_picc_config {
    uint8_t atqa[2];
    uint8_t uid[ISO14443A_UID_MAX];
    size_t uid_len;     /* 4, 7 or 10 */
    uint8_t sak;        /* the final SAK (cascade bit added by the machine) */
    const uint8_t *ats; /* TL..Tk, NULL when not 14443-4 */
    size_t ats_len;
};

enum iso14443a_picc_state {
    ISO14443A_PICC_OFF,
    ISO14443A_PICC_IDLE,
    ISO14443A_PICC_READY,
    ISO14443A_PICC_ACTIVE,
    ISO14443A_PICC_HALT,
    ISO14443A_PICC_PROTOCOL, /* ATS sent: 14443-4 blocks */
};

enum iso14443a_picc_out_kind {
    ISO14443A_PICC_SILENT, /* no answer */
    ISO14443A_PICC_ANSWER, /* send out.data / bits / align; then out.dsi / dri apply after a PPS */
    ISO14443A_PICC_BLOCK,  /* a 14443-4 block, CRC checked and stripped: for isodep_picc */
};

struct iso14443a_picc_out {
    enum iso14443a_picc_out_kind kind;
    const uint8_t *data;
    size_t bits;
    uint8_t align;
    bool rates_changed; /* ANSWER to PPS: dsi / dri from the next frame */
    enum iso14443_rate dsi, dri;
    /* BLOCK */
    const uint8_t *block;
    size_t block_len;
};

struct iso14443a_picc {
    struct iso14443a_picc_config cfg;
    enum iso14443a_picc_state state;
    bool halted;    /* READY* / ACTIVE*: came from HALT, goes back there */
    unsigned level; /* cascade level being resolved, 1..3 */
    bool pps_allowed;
    uint8_t ta;        /* TA(1) of its ATS: the rates a PPS may choose (0: 106 only) */
    uint8_t fsdi, cid; /* from RATS */
    uint8_t out[ISO14443A_ATS_MAX + ISO14443_CRC_LEN];
};

enum iso14443_err iso14443a_picc_init(struct iso14443a_picc *c,
                                      const struct iso14443a_picc_config *cfg);
/* The field came on (IDLE) or went off (OFF: everything forgotten). */
void iso14443a_picc_field(struct iso14443a_picc *c, bool on);
/* One frame from the PCD: `bits` bits from bit 0 of data[0] (CRC included). */
void iso14443a_picc_frame(struct iso14443a_picc *c, const uint8_t *data, size_t bits,
                          struct iso14443a_picc_out *out);
/* After S(DESELECT) the 14443-4 layer sends the card to HALT. */
void iso14443a_picc_halt(struct iso14443a_picc *c);
/* UID CLn and its BCC for cascade level 1..3 (cln: 5 bytes); false if none. */
bool iso14443a_uid_cln(const uint8_t *uid, size_t uid_len, unsigned level, uint8_t cln[5]);

#endif

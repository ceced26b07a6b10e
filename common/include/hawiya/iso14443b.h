/*
 * iso14443b: bringing a Type B proximity card to life, both roles, as pure
 * state machines fed frames: ISO/IEC 14443-3:2018 clause 7 (the PICC
 * states of 7.4, REQB / WUPB with N slots 7.7, the Slot-MARKER 7.8, ATQB
 * 7.9 with its PUPI, application data and protocol info, ATTRIB and its
 * answer 7.10 and 7.11, HLTB 7.12). ISO/IEC 14443-4 needs nothing more for
 * Type B: ATTRIB carries the frame size FSDI, the bit rates and the CID.
 *
 * Frames (CRC_B after each):
 *   REQB / WUPB  05 AFI PARAM       PARAM b4 = 1: WUPB; b3..b1: N = 2^code slots
 *   Slot-MARKER  (n - 1) << 4 | 05  for slot n = 2..16
 *   ATQB         50 PUPI(4) AppData(4) ProtoInfo(3 [+1 extended])
 *     ProtoInfo 1: bit rates, b8 same D both ways, b7..b5 PICC to PCD 847 /
 *                  424 / 212, b3..b1 PCD to PICC 847 / 424 / 212
 *     ProtoInfo 2: b8..b5 Max_Frame_Size (FSCI), b4..b1 Protocol_Type (b1:
 *                  ISO/IEC 14443-4 compliant; b4 must be 0)
 *     ProtoInfo 3: b8..b5 FWI, b4..b3 ADC, b2..b1 FO (b2 NAD, b1 CID supported)
 *     ProtoInfo 4: b8..b5 SFGI (extended ATQB)
 *   ATTRIB       1D PUPI(4) Param1 Param2 Param3 Param4 [higher layer INF]
 *     Param2: b8b7 PICC to PCD rate (DSI), b6b5 PCD to PICC (DRI), b4..b1 FSDI
 *     Param3: protocol type confirmed; Param4: b4..b1 CID
 *   answer       MBLI << 4 | CID [higher layer response]
 *   HLTB         50 PUPI(4) -> 00
 *
 * Collisions: Type B coding shows no colliding bit; two PICCs answering in
 * one slot give a damaged frame. The PCD then asks again with more slots,
 * each PICC picks one at random, and the first ATQB received whole is the
 * card selected by ATTRIB.
 */
#ifndef HAWIYA_ISO14443B_H
#define HAWIYA_ISO14443B_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hawiya/iso14443.h"

#define ISO14443B_APF       0x05
#define ISO14443B_ATQB      0x50
#define ISO14443B_ATTRIB    0x1D
#define ISO14443B_HLTB      0x50
#define ISO14443B_WUPB      0x08 /* PARAM b4 */
#define ISO14443B_SLOTS_MAX 16u

/* Bit_Rate_capability as announced: b4 = 1 is RFU, read as 106 kbit/s only (7.9.4.1). */
static inline uint8_t iso14443b_rate_cap(uint8_t proto1)
{
    return (proto1 & 0x08) ? 0 : proto1;
}

struct iso14443b_atqb {
    uint8_t pupi[4];
    uint8_t app_data[4];
    uint8_t proto[4];
    size_t proto_len; /* 3, or 4 for an extended ATQB */
    /* decoded */
    unsigned ds, dr; /* rate masks, 1 << enum iso14443_rate, 106 always */
    bool same_d;
    uint8_t fsci;
    uint8_t protocol_type;
    bool iso_dep; /* Protocol_Type b1 */
    uint8_t fwi;  /* 15 read as 4 */
    uint8_t adc;
    bool nad, cid; /* FO */
    uint8_t sfgi;  /* extended ATQB, else 0 */
};

/* ATQB without its CRC (12 or 13 bytes). */
enum iso14443_err iso14443b_atqb_parse(const uint8_t *p, size_t n, struct iso14443b_atqb *out);

/* --- PCD role -------------------------------------------------------------- */

struct iso14443b_pcd_config {
    bool wakeup;       /* WUPB rather than REQB */
    uint8_t afi;       /* 00: every family */
    uint8_t fsdi;      /* our frame size in ATTRIB */
    uint8_t cid;       /* 0..14, used when the PICC supports CID */
    unsigned max_rate; /* highest enum iso14443_rate both ways */
};

enum iso14443b_pcd_state {
    ISO14443B_PCD_IDLE,
    ISO14443B_PCD_REQ,  /* REQB / WUPB out */
    ISO14443B_PCD_SLOT, /* a Slot-MARKER out */
    ISO14443B_PCD_ATTRIB,
    ISO14443B_PCD_DONE,
};

struct iso14443b_pcd {
    struct iso14443b_pcd_config cfg;
    enum iso14443b_pcd_state state;
    /* outcome */
    struct iso14443b_atqb atqb;
    uint8_t mbli;
    uint8_t cid; /* in force: cfg.cid when the PICC supports CID, else 0 */
    enum iso14443_rate dsi, dri;
    /* work */
    uint8_t n_code; /* slots of this round: 1 << n_code */
    unsigned slot;  /* slot being listened to, 1..N */
    bool collided;  /* a damaged answer this round */
    bool any;       /* anything at all answered since the start */
    unsigned rounds;
    unsigned tries;
    bool rates_on;
    struct iso14443_act last;
    uint8_t tx[16];
};

enum iso14443_err iso14443b_pcd_begin(struct iso14443b_pcd *p,
                                      const struct iso14443b_pcd_config *cfg,
                                      struct iso14443_act *act);
enum iso14443_err iso14443b_pcd_step(struct iso14443b_pcd *p, const struct iso14443_rx *rx,
                                     struct iso14443_act *act);
/* HLTB for the selected PICC (its answer 00 may be ignored). */
void iso14443b_pcd_hltb(struct iso14443b_pcd *p, struct iso14443_act *act);

/* --- PICC role ----------------------------------------------------------------- */

struct iso14443b_picc_config {
    uint8_t pupi[4];
    uint8_t app_data[4];
    uint8_t proto[4];
    size_t proto_len; /* 3 or 4 */
    uint8_t mbli;     /* maximum buffer length index of the answer to ATTRIB */
    uint32_t seed;    /* for the slot the card picks (nonzero) */
};

enum iso14443b_picc_state {
    ISO14443B_PICC_OFF,
    ISO14443B_PICC_IDLE,
    ISO14443B_PICC_READY_REQUESTED,
    ISO14443B_PICC_READY_DECLARED,
    ISO14443B_PICC_ACTIVE,
    ISO14443B_PICC_HALT,
};

enum iso14443b_picc_out_kind {
    ISO14443B_PICC_SILENT,
    ISO14443B_PICC_ANSWER, /* out.data / len (CRC included); after ATTRIB the rates apply */
    ISO14443B_PICC_BLOCK,  /* a 14443-4 block, CRC checked and stripped */
};

struct iso14443b_picc_out {
    enum iso14443b_picc_out_kind kind;
    const uint8_t *data;
    size_t len;
    bool rates_changed;
    enum iso14443_rate dsi, dri;
    const uint8_t *block;
    size_t block_len;
};

struct iso14443b_picc {
    struct iso14443b_picc_config cfg;
    enum iso14443b_picc_state state;
    unsigned slot; /* READY_REQUESTED: the slot picked */
    uint32_t rnd;
    /* from ATTRIB */
    uint8_t fsdi, cid;
    bool fresh; /* ACTIVE, no block yet: a repeated ATTRIB is answered again */
    uint8_t out[24];
};

enum iso14443_err iso14443b_picc_init(struct iso14443b_picc *c,
                                      const struct iso14443b_picc_config *cfg);
void iso14443b_picc_field(struct iso14443b_picc *c, bool on);
/* One frame from the PCD, n bytes, CRC_B included. */
void iso14443b_picc_frame(struct iso14443b_picc *c, const uint8_t *data, size_t n,
                          struct iso14443b_picc_out *out);
void iso14443b_picc_halt(struct iso14443b_picc *c);

#endif

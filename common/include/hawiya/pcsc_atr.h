/*
 * pcsc_atr: the ATR a PC/SC reader shows for a contactless card, which has
 * none of its own (PC/SC Specification Part 3, "Supplemental Document for
 * Contactless ICCs", 3.1.3.2.3), both ways: built by our reader from the
 * card's activation, and decoded by `hawiya atr`.
 *
 * ISO/IEC 14443-4 cards (3.1.3.2.3.1): 3B 8n 80 01 T1..Tn TCK, where
 *   T0  = 8n: TD1 follows, n historical bytes;
 *   TD1 = 80: TD2 follows, T = 0;  TD2 = 01: T = 1;
 *   Type A: T1..Tn = the historical bytes of the ATS (at most 15);
 *   Type B: T1..T4 = the application data of ATQB, T5..T7 = its protocol
 *           info bytes, T8 = MBLI of the answer to ATTRIB in b8..b5, 0 in b4..b1;
 *   TCK = exclusive-or of T0 to Tn.
 * Storage cards (3.1.3.2.3.2): 3B 8F 80 01 80 4F 0C followed by the PC/SC
 * RID A0 00 00 03 06, the standard byte SS, the card name NN NN and four
 * RFU zeros.
 *
 * The ATR hides FSC, FWI, CID and the bit rates of a Type A card, and says
 * nothing explicit about the type: an ATR with eight historical bytes whose
 * first is not a category indicator of ISO/IEC 7816-4 8.1.1 (00, 10, 8x)
 * and whose last has b4..b1 = 0 reads as Type B; anything else as Type A.
 * Moroccan identity card (Type A): 3B 85 80 01 80 73 84 21 C0 92;
 * Algerian identity card (Type B): 3B 88 80 01 E1 68 6C 17 77 83 95 00 9A.
 */
#ifndef HAWIYA_PCSC_ATR_H
#define HAWIYA_PCSC_ATR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hawiya/iso14443b.h"

#define PCSC_ATR_HIST_MAX 15u
#define PCSC_ATR_MAX      (4u + PCSC_ATR_HIST_MAX + 1u)

enum pcsc_atr_err {
    PCSC_ATR_OK = 0,
    PCSC_ATR_ERR_BUF,      /* the output buffer is too small */
    PCSC_ATR_ERR_NOT_PCSC, /* not of the form 3B 8n 80 01 ... TCK */
    PCSC_ATR_ERR_TCK,      /* the check character is wrong */
};

const char *pcsc_atr_err_str(enum pcsc_atr_err e);

/* Type A: the ATS historical bytes (more than 15 are cut to 15, as Part 3 says). */
enum pcsc_atr_err pcsc_atr_from_ats(const uint8_t *hist, size_t hist_len, uint8_t *out, size_t cap,
                                    size_t *out_len);

/* Type B: ATQB application data (4), protocol info (its first 3 bytes), MBLI. */
enum pcsc_atr_err pcsc_atr_from_atqb(const uint8_t app_data[4], const uint8_t proto[3],
                                     uint8_t mbli, uint8_t *out, size_t cap, size_t *out_len);

enum pcsc_atr_kind {
    PCSC_ATR_TYPE_A, /* historical bytes of an ATS */
    PCSC_ATR_TYPE_B, /* ATQB application data, protocol info and MBLI */
    PCSC_ATR_STORAGE,
};

struct pcsc_atr_info {
    enum pcsc_atr_kind kind;
    const uint8_t *hist; /* into the decoded ATR */
    size_t hist_len;
    /* Type B */
    struct iso14443b_atqb atqb; /* pupi unknown: zero */
    uint8_t mbli;
    /* storage card */
    uint8_t standard;
    uint16_t card_name;
};

enum pcsc_atr_err pcsc_atr_decode(const uint8_t *atr, size_t len, struct pcsc_atr_info *info);

#endif

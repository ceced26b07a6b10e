/*
 * atr: the Answer-to-Reset, ISO/IEC 7816-3:2006 clause 8 (character TS and
 * conventions 8.1, T0 / TA..TD interface bytes / TCK 8.2, global interface
 * bytes 8.3 with Tables 7 and 8, T=0 parameter WI 10.2, T=1 parameters IFSC /
 * CWI / BWI / EDC 11.4), and the historical bytes, ISO/IEC 7816-4:2013
 * clause 8.1.1 (category indicator and COMPACT-TLV objects).
 *
 * atr_parse() takes the ATR as decoded byte values (TS = 0x3B direct or 0x3F
 * inverse; the line driver has already undone the inverse convention with
 * atr_decode_char()). It accepts a prefix: while the bytes seen so far are a
 * correct beginning it returns ATR_ERR_INCOMPLETE and how many bytes at least
 * are still missing, so a reader can call it after every received character.
 * Every other error means the ATR is malformed whatever follows.
 *
 * Units: Fi and Di are the integers of Tables 7 and 8; one etu lasts Fi/Di
 * clock cycles (1/f seconds each). Waiting times are returned in clock
 * cycles unless the name says etu.
 */
#ifndef HAWIYA_ATR_H
#define HAWIYA_ATR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ATR_MAX_LEN        33 /* TS + at most 32 characters, 8.2.1 */
#define ATR_MAX_HIST       15
#define ATR_MAX_LEVELS     32 /* interface-byte groups i = 1..; bounded by ATR_MAX_LEN */
#define ATR_TS_DIRECT      0x3B
#define ATR_TS_INVERSE     0x3F
#define ATR_RAW_TS_INVERSE 0x03 /* inverse-convention TS as a UART in direct mode reads it */

enum atr_err {
    ATR_OK = 0,
    ATR_ERR_INCOMPLETE,     /* a correct prefix: more characters are needed */
    ATR_ERR_BAD_TS,         /* TS is neither 0x3B nor 0x3F */
    ATR_ERR_TOO_LONG,       /* the interface bytes announce more than 33 characters */
    ATR_ERR_TCK_MISMATCH,   /* the exclusive-or of T0..TCK is not zero */
    ATR_ERR_BAD_IFSC,       /* first TA for T=1 is 0x00 or 0xFF (11.4.2) */
    ATR_ERR_TRAILING_BYTES, /* bytes after the last character of a complete ATR */
    ATR_ERR_HIST_TLV,       /* historical bytes: a COMPACT-TLV object runs past the end */
    ATR_ERR_HIST_STATUS,    /* historical bytes: category 0x00 without its 3-byte status */
};

const char *atr_err_str(enum atr_err e);

enum atr_convention {
    ATR_CONV_DIRECT = 0,
    ATR_CONV_INVERSE,
};

/* Presence bits of one level's interface bytes. */
#define ATR_TA 0x01
#define ATR_TB 0x02
#define ATR_TC 0x04
#define ATR_TD 0x08

struct atr_iface {
    uint8_t present; /* ATR_TA | ATR_TB | ATR_TC | ATR_TD */
    uint8_t ta, tb, tc, td;
};

/* Values the ATR codes as RFU or invalid; parsing goes on, defaults are used. */
#define ATR_RFU_FI      0x0001 /* TA1 Fi code RFU (Table 7) */
#define ATR_RFU_DI      0x0002 /* TA1 Di code RFU (Table 8) */
#define ATR_RFU_WI      0x0004 /* TC2 = 0 */
#define ATR_RFU_BWI     0x0008 /* BWI > 9 */
#define ATR_RFU_TA2     0x0010 /* TA2 bits 7-6 set */
#define ATR_RFU_EDC     0x0020 /* first TC for T=1 bits 8-2 set */
#define ATR_RFU_T_ORDER 0x0040 /* TDi protocols not in ascending order (8.2.3) */
#define ATR_RFU_T_TYPE  0x0080 /* a T value other than 0, 1, 14, 15 is offered */
#define ATR_RFU_CLASS   0x0100 /* class indicator with no class, or bits 6-4 set */

enum atr_edc { ATR_EDC_LRC = 0, ATR_EDC_CRC = 1 };

enum atr_clock_stop {
    ATR_CLOCK_STOP_NOT_SUPPORTED = 0, /* X = 00 */
    ATR_CLOCK_STOP_STATE_L = 1,       /* X = 01 */
    ATR_CLOCK_STOP_STATE_H = 2,       /* X = 10 */
    ATR_CLOCK_STOP_NO_PREFERENCE = 3, /* X = 11 */
};

/* Class indicator bits (first TA for T=15, bits 3-1, 7816-3 Table 10). */
#define ATR_CLASS_A 0x01 /* 5 V */
#define ATR_CLASS_B 0x02 /* 3 V */
#define ATR_CLASS_C 0x04 /* 1.8 V */

/* Historical bytes category indicator, 7816-4 8.1.1. */
enum atr_hist_format {
    ATR_HIST_NONE = 0,       /* K = 0 */
    ATR_HIST_COMPACT_STATUS, /* 0x00: COMPACT-TLV, then LCS SW1 SW2 as the last 3 bytes */
    ATR_HIST_DIR_REF,        /* 0x10: followed by a DIR data reference */
    ATR_HIST_COMPACT_TLV,    /* 0x80: COMPACT-TLV, status optional as tag 8 */
    ATR_HIST_RFU,            /* 0x81..0x8F */
    ATR_HIST_PROPRIETARY,    /* any other first byte */
};

/* A COMPACT-TLV object's value, as offset and length inside atr.hist. */
struct atr_span {
    uint8_t off, len;
};

/* COMPACT-TLV tags (7816-4 Table 116: the tag nibble is BER tag '4X'). */
enum atr_ctlv_tag {
    ATR_CTLV_COUNTRY = 0x1,        /* country code and national data */
    ATR_CTLV_ISSUER = 0x2,         /* issuer identification number */
    ATR_CTLV_SERVICE = 0x3,        /* card service data */
    ATR_CTLV_INITIAL_ACCESS = 0x4, /* initial access data */
    ATR_CTLV_ISSUER_DATA = 0x5,    /* card issuer's data */
    ATR_CTLV_PRE_ISSUING = 0x6,    /* pre-issuing data */
    ATR_CTLV_CAPABILITIES = 0x7,   /* card capabilities */
    ATR_CTLV_STATUS = 0x8,         /* status indicator */
    ATR_CTLV_AID = 0xF,            /* application identifier */
};

struct atr_hist {
    enum atr_hist_format format;
    enum atr_err err; /* ATR_OK, ATR_ERR_HIST_TLV or ATR_ERR_HIST_STATUS */
    uint8_t dir_ref;  /* category 0x10 */
    bool dir_ref_present;
    uint16_t tags; /* bit n set: COMPACT-TLV tag n seen (first one kept) */
    struct atr_span obj[16];
    uint8_t service_data; /* tag 3, first byte */
    /* card capabilities (tag 7): software function tables 1..3 */
    uint8_t caps[3];
    uint8_t caps_len;
    bool command_chaining;    /* third table, bit 8 */
    bool extended_lc_le;      /* third table, bit 7: extended Lc and Le fields */
    uint8_t logical_channels; /* third table bits 3-1 plus one; 0 when not stated */
    /* status indicator */
    bool lcs_present;
    uint8_t lcs;
    bool sw_present;
    uint16_t sw;
};

struct atr {
    uint8_t raw[ATR_MAX_LEN];
    size_t len; /* characters parsed into raw, TS included */
    enum atr_convention convention;
    uint8_t t0;
    size_t levels; /* iface[0] is level i = 1 */
    struct atr_iface iface[ATR_MAX_LEVELS];
    uint8_t hist[ATR_MAX_HIST];
    size_t hist_k;   /* K, the number of historical bytes announced by T0 */
    size_t hist_len; /* historical bytes received (= hist_k unless incomplete) */
    bool tck_present;
    uint8_t tck;
    uint32_t rfu; /* ATR_RFU_* */

    /* Decoded; defaults when the byte is absent. */
    uint16_t protocols;       /* bit T set when T is offered (T=15 is not a protocol) */
    uint8_t first_protocol;   /* T of TD1, or 0 without TD1 */
    uint8_t fi_code, di_code; /* TA1 nibbles; 1 and 1 when absent */
    uint16_t fi;              /* clock rate conversion integer; 0 if RFU */
    uint8_t di;               /* baud rate adjustment integer; 0 if RFU */
    uint32_t fmax_khz;        /* 0 if RFU */
    uint8_t n;                /* extra guard time TC1 */
    uint8_t wi;               /* TC2, default 10 */
    bool specific_mode;       /* TA2 present */
    uint8_t specific_protocol;
    bool specific_implicit;   /* TA2 bit 5: parameters not those of TA1 */
    bool specific_changeable; /* TA2 bit 8 = 0: can change to negotiable mode */
    uint16_t ifsc;            /* first TA for T=1, default 32 */
    uint8_t cwi, bwi;         /* first TB for T=1, defaults 13 and 4 */
    enum atr_edc edc;         /* first TC for T=1, default LRC */
    bool class_present;       /* first TA for T=15 present */
    uint8_t class_mask;       /* ATR_CLASS_*; ATR_CLASS_A when absent */
    enum atr_clock_stop clock_stop;
    bool spu_present; /* first TB for T=15 */
    uint8_t spu;
    struct atr_hist hist_decoded;
};

/*
 * Parses `len` decoded bytes. Fills `out` with whatever was read, also on
 * error. On ATR_ERR_INCOMPLETE, *needed (if not NULL) is the minimum number of
 * further bytes; otherwise it is 0.
 */
enum atr_err atr_parse(const uint8_t *buf, size_t len, struct atr *out, size_t *needed);

/* The first raw character read in direct mode: 0x3B direct, 0x03 inverse. */
enum atr_err atr_convention_from_raw(uint8_t raw, enum atr_convention *conv);

/* Inverse convention: complement the line levels and reverse the bit order. */
uint8_t atr_inverse_byte(uint8_t raw);
uint8_t atr_decode_char(enum atr_convention conv, uint8_t raw);

/* Fi and fmax (kHz) of a Table 7 code; false if RFU. */
bool atr_fi_table(uint8_t fi_code, uint16_t *fi, uint32_t *fmax_khz);
/* Di of a Table 8 code; false if RFU. */
bool atr_di_table(uint8_t di_code, uint8_t *di);

/* One etu = num/den clock cycles, reduced; both 0 if Fi or Di is RFU. */
struct atr_fraction {
    uint32_t num, den;
};
struct atr_fraction atr_etu_clocks(uint16_t fi, uint8_t di);

/* T=0 waiting time WT = WI * 960 * Fi clock cycles (10.2). */
uint32_t atr_wt_clocks(uint8_t wi, uint16_t fi);
/* Guard time between two characters sent to the card in etu: 12 + N,
 * but 12 for T=0 and 11 for T=1 when N = 255 (8.3). */
uint32_t atr_cgt_etu(uint8_t n, uint8_t protocol);
/* T=1 character waiting time CWT = 11 + 2^CWI etu (11.4.3). */
uint32_t atr_cwt_etu(uint8_t cwi);
/* T=1 block waiting time BWT = 11 etu + 2^BWI * 960 * 372 clock cycles
 * (11.4.3); the second term in clock cycles, independent of Fi/Di. */
uint32_t atr_bwt_extra_clocks(uint8_t bwi);
/* The whole BWT in clock cycles at Fi/Di, rounded up; 0 if Fi or Di is 0. */
uint32_t atr_bwt_clocks(uint8_t bwi, uint16_t fi, uint8_t di);

/* Decodes historical bytes alone (atr_parse calls it). */
void atr_hist_decode(const uint8_t *hist, size_t len, struct atr_hist *out);

#endif

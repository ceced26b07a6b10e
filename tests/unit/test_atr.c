#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "hawiya/atr.h"

/*
 * Real ATRs come from the pcsc-tools list (/usr/share/pcsc/smartcard_list.txt);
 * the expected field values were cross-checked with pcsc-tools' ATR_analysis,
 * an independent decoder. Synthetic ATRs are built by hand from the codings of
 * ISO/IEC 7816-3:2006 clause 8.3 and say so.
 */

/* "algeria national identity card (eID)": T=1, specific mode, TC1 = 255. */
static const uint8_t dz_eid[] = {0x3B, 0xFF, 0x96, 0x00, 0xFF, 0x91, 0x81, 0x31, 0xFE,
                                 0x4D, 0x80, 0x31, 0xE0, 0x6B, 0x04, 0x31, 0x05, 0x02,
                                 0x75, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x79};
/* "Algerian ID card (eID)": the PC/SC pseudo-ATR of its contactless side. */
static const uint8_t dz_eid_cl[] = {0x3B, 0x88, 0x80, 0x01, 0xE1, 0x68, 0x6C,
                                    0x17, 0x77, 0x83, 0x95, 0x00, 0x9A};
/* "Maroc Telecom USIM": T=0 plus T=15 global bytes (class, clock stop). */
static const uint8_t ma_usim[] = {0x3B, 0x9E, 0x96, 0x80, 0x1F, 0x47, 0x80, 0x31, 0xA0, 0x73, 0xBE,
                                  0x21, 0x13, 0x66, 0x86, 0x88, 0x02, 0x10, 0x1D, 0x10, 0x49};
/* "Sesam Vitale (French health card)": inverse convention, T=0 only, no TCK. */
static const uint8_t sesam[] = {0x3F, 0x65, 0x25, 0x00, 0x2C, 0x09, 0x69, 0x90, 0x00};
/* Inverse convention offering T=0 and T=1, TA1 = 0x18 (Di = 12). */
static const uint8_t inv_t1[] = {0x3F, 0x96, 0x18, 0x80, 0x01, 0x80,
                                 0x51, 0x00, 0x61, 0x10, 0x30, 0x9F};
/* T=0 only with TC1 = 255. */
static const uint8_t t0_n255[] = {0x3B, 0x64, 0x00, 0xFF, 0x80, 0x62, 0x02, 0xA2};
/* Category 0x00 historical bytes with card capabilities: extended Lc/Le. */
static const uint8_t cat00_ext[] = {0x3B, 0x78, 0x18, 0x00, 0x00, 0x00, 0x73,
                                    0xC8, 0x01, 0x40, 0x00, 0x90, 0x00};
/* Category 0x80, capabilities F7 41 C0 (chaining + extended), status tag 8 = LCS only. */
static const uint8_t cat80_lcs[] = {0x3B, 0x6C, 0x00, 0x00, 0x80, 0x64, 0x11, 0x34,
                                    0x01, 0x48, 0x73, 0xF7, 0x41, 0xC0, 0x81, 0x07};

static void check_all_prefixes(const uint8_t *atr, size_t len)
{
    struct atr a;
    size_t needed;
    for (size_t k = 0; k < len; k++) {
        needed = 0;
        assert_int_equal(atr_parse(atr, k, &a, &needed), ATR_ERR_INCOMPLETE);
        /* The count is a lower bound that never overshoots the real ATR. */
        assert_true(needed >= 1);
        assert_true(k + needed <= len);
    }
    assert_int_equal(atr_parse(atr, len, &a, &needed), ATR_OK);
    assert_int_equal(needed, 0);
}

static void algerian_eid(void **state)
{
    struct atr a;
    size_t needed = 99;
    assert_int_equal(atr_parse(dz_eid, sizeof dz_eid, &a, &needed), ATR_OK);
    assert_int_equal(needed, 0);
    assert_int_equal(a.len, sizeof dz_eid);
    assert_int_equal(a.convention, ATR_CONV_DIRECT);
    assert_int_equal(a.levels, 3);
    assert_int_equal(a.iface[0].present, ATR_TA | ATR_TB | ATR_TC | ATR_TD);
    assert_int_equal(a.iface[1].present, ATR_TA | ATR_TD);
    assert_int_equal(a.iface[2].present, ATR_TA | ATR_TB);
    assert_int_equal(a.fi, 512);
    assert_int_equal(a.di, 32);
    assert_int_equal(a.fmax_khz, 5000);
    assert_int_equal(a.n, 255);
    assert_int_equal(a.protocols, 1u << 1);
    assert_int_equal(a.first_protocol, 1);
    assert_true(a.specific_mode);
    assert_int_equal(a.specific_protocol, 1);
    assert_false(a.specific_implicit);
    assert_false(a.specific_changeable);
    assert_int_equal(a.ifsc, 254);
    assert_int_equal(a.bwi, 4);
    assert_int_equal(a.cwi, 13);
    assert_int_equal(a.edc, ATR_EDC_LRC);
    assert_int_equal(a.wi, 10);
    assert_false(a.class_present);
    assert_true(a.tck_present);
    assert_int_equal(a.tck, 0x79);
    assert_int_equal(a.rfu, 0);
    assert_int_equal(a.hist_len, 15);
    assert_memory_equal(a.hist, dz_eid + 10, 15);
    /* Historical bytes: 80, tag 3 (service data E0), tag 6 (11 bytes pre-issuing). */
    assert_int_equal(a.hist_decoded.format, ATR_HIST_COMPACT_TLV);
    assert_int_equal(a.hist_decoded.err, ATR_OK);
    assert_int_equal(a.hist_decoded.tags, (1u << 3) | (1u << 6));
    assert_int_equal(a.hist_decoded.service_data, 0xE0);
    assert_int_equal(a.hist_decoded.obj[6].off, 4);
    assert_int_equal(a.hist_decoded.obj[6].len, 11);
    assert_false(a.hist_decoded.extended_lc_le);

    /* 16 clock cycles per etu; ATR_analysis: "16 cycles/ETU". */
    struct atr_fraction etu = atr_etu_clocks(a.fi, a.di);
    assert_int_equal(etu.num, 16);
    assert_int_equal(etu.den, 1);
    /* 8.3: N = 255 means 11 etu between characters under T=1. */
    assert_int_equal(atr_cgt_etu(a.n, 1), 11);
    assert_int_equal(atr_cwt_etu(a.cwi), 11 + 8192);
    assert_int_equal(atr_bwt_extra_clocks(a.bwi), 16u * 960 * 372);
    assert_int_equal(atr_bwt_clocks(a.bwi, a.fi, a.di), 11u * 16 + 16u * 960 * 372);
    check_all_prefixes(dz_eid, sizeof dz_eid);
}

static void algerian_eid_contactless(void **state)
{
    struct atr a;
    assert_int_equal(atr_parse(dz_eid_cl, sizeof dz_eid_cl, &a, NULL), ATR_OK);
    assert_int_equal(a.protocols, (1u << 0) | (1u << 1));
    assert_int_equal(a.first_protocol, 0);
    assert_int_equal(a.fi, 372);
    assert_int_equal(a.di, 1);
    assert_int_equal(a.fmax_khz, 5000);
    assert_false(a.specific_mode);
    assert_int_equal(a.ifsc, 32);
    assert_int_equal(a.hist_decoded.format, ATR_HIST_PROPRIETARY);
    assert_true(a.tck_present);
    check_all_prefixes(dz_eid_cl, sizeof dz_eid_cl);
}

static void maroc_usim_t15(void **state)
{
    struct atr a;
    assert_int_equal(atr_parse(ma_usim, sizeof ma_usim, &a, NULL), ATR_OK);
    /* T=15 is announced but is not a transmission protocol. */
    assert_int_equal(a.protocols, 1u << 0);
    assert_true(a.tck_present);
    assert_true(a.class_present);
    assert_int_equal(a.class_mask, ATR_CLASS_A | ATR_CLASS_B | ATR_CLASS_C);
    assert_int_equal(a.clock_stop, ATR_CLOCK_STOP_STATE_L);
    assert_int_equal(a.hist_decoded.caps_len, 3);
    assert_int_equal(a.hist_decoded.caps[0], 0xBE);
    assert_false(a.hist_decoded.extended_lc_le);
    assert_false(a.hist_decoded.command_chaining);
    assert_int_equal(a.hist_decoded.logical_channels, 4);
    assert_int_equal(atr_wt_clocks(a.wi, a.fi), 10u * 960 * 512);
    check_all_prefixes(ma_usim, sizeof ma_usim);
}

static void inverse_t0_only(void **state)
{
    struct atr a;
    assert_int_equal(atr_parse(sesam, sizeof sesam, &a, NULL), ATR_OK);
    assert_int_equal(a.convention, ATR_CONV_INVERSE);
    /* 8.2.5: only T=0 indicated, so no TCK. */
    assert_false(a.tck_present);
    assert_int_equal(a.protocols, 1u << 0);
    assert_int_equal(a.levels, 1);
    assert_int_equal(a.iface[0].tb, 0x25);
    assert_int_equal(a.n, 0);
    assert_int_equal(atr_cgt_etu(a.n, 0), 12);
    assert_int_equal(a.hist_len, 5);
    assert_int_equal(a.hist_decoded.format, ATR_HIST_PROPRIETARY);
    check_all_prefixes(sesam, sizeof sesam);
    /* One byte more is not a TCK but garbage after the ATR. */
    uint8_t longer[sizeof sesam + 1];
    memcpy(longer, sesam, sizeof sesam);
    longer[sizeof sesam] = 0x00;
    assert_int_equal(atr_parse(longer, sizeof longer, &a, NULL), ATR_ERR_TRAILING_BYTES);
}

static void inverse_t0_t1(void **state)
{
    struct atr a;
    assert_int_equal(atr_parse(inv_t1, sizeof inv_t1, &a, NULL), ATR_OK);
    assert_int_equal(a.convention, ATR_CONV_INVERSE);
    assert_int_equal(a.protocols, 3);
    /* Fi = 372, Di = 12: ATR_analysis "31 cycles/ETU". */
    struct atr_fraction etu = atr_etu_clocks(a.fi, a.di);
    assert_int_equal(etu.num, 31);
    assert_int_equal(etu.den, 1);
    /* 80 | 51 00 | 61 10 | 30: a tag-3 object of length 0. */
    assert_int_equal(a.hist_decoded.tags, (1u << 5) | (1u << 6) | (1u << 3));
    assert_int_equal(a.hist_decoded.obj[3].len, 0);
    check_all_prefixes(inv_t1, sizeof inv_t1);
}

static void t0_tc1_255(void **state)
{
    struct atr a;
    assert_int_equal(atr_parse(t0_n255, sizeof t0_n255, &a, NULL), ATR_OK);
    assert_int_equal(a.n, 255);
    /* 8.3: N = 255 means 12 etu between characters under T=0. */
    assert_int_equal(atr_cgt_etu(a.n, 0), 12);
    assert_false(a.tck_present);
    check_all_prefixes(t0_n255, sizeof t0_n255);
}

static void card_capabilities(void **state)
{
    struct atr a;
    assert_int_equal(atr_parse(cat00_ext, sizeof cat00_ext, &a, NULL), ATR_OK);
    const struct atr_hist *h = &a.hist_decoded;
    assert_int_equal(h->format, ATR_HIST_COMPACT_STATUS);
    assert_int_equal(h->err, ATR_OK);
    assert_int_equal(h->tags, 1u << 7);
    assert_true(h->extended_lc_le);
    assert_false(h->command_chaining);
    assert_int_equal(h->logical_channels, 1);
    assert_true(h->lcs_present);
    assert_int_equal(h->lcs, 0x00);
    assert_true(h->sw_present);
    assert_int_equal(h->sw, 0x9000);

    assert_int_equal(atr_parse(cat80_lcs, sizeof cat80_lcs, &a, NULL), ATR_OK);
    assert_int_equal(h->format, ATR_HIST_COMPACT_TLV);
    assert_true(h->extended_lc_le);
    assert_true(h->command_chaining);
    assert_true(h->lcs_present);
    assert_int_equal(h->lcs, 0x07);
    assert_false(h->sw_present);
    const uint8_t caps[] = {0xF7, 0x41, 0xC0};
    assert_memory_equal(h->caps, caps, 3);
}

static void historical_edge_cases(void **state)
{
    struct atr_hist h;
    /* 7816-4 8.1.1: 0x10 is followed by a DIR data reference. */
    const uint8_t dir[] = {0x10, 0x42};
    atr_hist_decode(dir, sizeof dir, &h);
    assert_int_equal(h.format, ATR_HIST_DIR_REF);
    assert_true(h.dir_ref_present);
    assert_int_equal(h.dir_ref, 0x42);
    /* A tag 5 object announcing 4 bytes where 2 remain. */
    const uint8_t overrun[] = {0x80, 0x54, 0x01, 0x02};
    atr_hist_decode(overrun, sizeof overrun, &h);
    assert_int_equal(h.err, ATR_ERR_HIST_TLV);
    /* Category 0x00 needs its three status bytes. */
    const uint8_t short00[] = {0x00, 0x90, 0x00};
    atr_hist_decode(short00, sizeof short00, &h);
    assert_int_equal(h.err, ATR_ERR_HIST_STATUS);
    const uint8_t rfu[] = {0x85, 0x01};
    atr_hist_decode(rfu, sizeof rfu, &h);
    assert_int_equal(h.format, ATR_HIST_RFU);
    /* Status tag 8 with two bytes is SW1 SW2 only; AID is tag F. */
    const uint8_t sw[] = {0x80, 0xF3, 0xA0, 0x00, 0x00, 0x82, 0x90, 0x00};
    atr_hist_decode(sw, sizeof sw, &h);
    assert_int_equal(h.err, ATR_OK);
    assert_false(h.lcs_present);
    assert_int_equal(h.sw, 0x9000);
    assert_int_equal(h.obj[ATR_CTLV_AID].off, 2);
    assert_int_equal(h.obj[ATR_CTLV_AID].len, 3);
}

static uint8_t tck_of(const uint8_t *atr, size_t len_without_tck)
{
    uint8_t x = 0;
    for (size_t i = 1; i < len_without_tck; i++)
        x ^= atr[i];
    return x;
}

static void synthetic_specific_implicit_crc(void **state)
{
    /* Synthetic, 7816-3 8.3: TA1 = 13 (Fi 372, Di 4), TC1 = 2, TD1 = D1 (TA2 TC2 TD2, T=1),
     * TA2 = 91 (unable to change, implicit, T=1), TC2 = 20 (WI), TD2 = 71 (TA3 TB3 TC3, T=1),
     * TA3 = 80 (IFSC 128), TB3 = 5A (BWI 5, CWI 10), TC3 = 01 (CRC). */
    uint8_t atr[] = {0x3B, 0xF0, 0x13, 0x00, 0x02, 0xD1, 0x91, 0x14, 0x71, 0x80, 0x5A, 0x01, 0x00};
    atr[sizeof atr - 1] = tck_of(atr, sizeof atr - 1);
    struct atr a;
    assert_int_equal(atr_parse(atr, sizeof atr, &a, NULL), ATR_OK);
    assert_int_equal(a.fi, 372);
    assert_int_equal(a.di, 4);
    assert_int_equal(a.n, 2);
    assert_int_equal(atr_cgt_etu(a.n, 1), 14);
    assert_true(a.specific_mode);
    assert_true(a.specific_implicit);
    assert_false(a.specific_changeable);
    assert_int_equal(a.wi, 20);
    assert_int_equal(a.ifsc, 128);
    assert_int_equal(a.bwi, 5);
    assert_int_equal(a.cwi, 10);
    assert_int_equal(a.edc, ATR_EDC_CRC);
    assert_int_equal(atr_cwt_etu(a.cwi), 11 + 1024);
    /* 11 etu of 93 clocks + 32 * 960 * 372 clocks */
    assert_int_equal(atr_bwt_clocks(a.bwi, a.fi, a.di), 1023 + 32u * 960 * 372);
    assert_int_equal(a.rfu, 0);
    check_all_prefixes(atr, sizeof atr);
}

static void rfu_values_flagged(void **state)
{
    /* Synthetic: TA1 = 7A: Fi code 7 and Di code A are both RFU (Tables 7, 8). */
    const uint8_t atr[] = {0x3B, 0x10, 0x7A};
    struct atr a;
    assert_int_equal(atr_parse(atr, sizeof atr, &a, NULL), ATR_OK);
    assert_int_equal(a.rfu, ATR_RFU_FI | ATR_RFU_DI);
    assert_int_equal(a.fi, 0);
    assert_int_equal(a.di, 0);
    struct atr_fraction etu = atr_etu_clocks(a.fi, a.di);
    assert_int_equal(etu.num, 0);
    assert_int_equal(atr_bwt_clocks(4, a.fi, a.di), 0);
    /* TC2 = 0 (WI), TB3 for T=1 with BWI = A. */
    uint8_t atr2[] = {0x3B, 0x80, 0xC1, 0x00, 0x21, 0xA4, 0x00};
    atr2[6] = tck_of(atr2, 6);
    assert_int_equal(atr_parse(atr2, sizeof atr2, &a, NULL), ATR_OK);
    assert_int_equal(a.rfu, ATR_RFU_WI | ATR_RFU_BWI);
}

static void malformed(void **state)
{
    struct atr a;
    size_t needed = 99;
    const uint8_t bad_ts[] = {0x3C, 0x00};
    assert_int_equal(atr_parse(bad_ts, 1, &a, &needed), ATR_ERR_BAD_TS);
    assert_int_equal(needed, 0);
    /* The raw inverse TS is 0x03; passing it undecoded is an error. */
    const uint8_t raw_inverse[] = {0x03};
    assert_int_equal(atr_parse(raw_inverse, 1, &a, NULL), ATR_ERR_BAD_TS);

    uint8_t tck[sizeof dz_eid];
    memcpy(tck, dz_eid, sizeof tck);
    tck[sizeof tck - 1] = 0x78;
    assert_int_equal(atr_parse(tck, sizeof tck, &a, &needed), ATR_ERR_TCK_MISMATCH);
    /* What was read is still there for a diagnostic. */
    assert_int_equal(a.len, sizeof dz_eid);
    assert_int_equal(a.ifsc, 254);

    /* Synthetic: K = 15 and a TD chain announcing 35 characters (8.2.1: at most 33). */
    const uint8_t too_long[] = {0x3B, 0x8F, 0xF1, 0x20, 0x20, 0x20, 0xF1, 0x20,
                                0x20, 0x20, 0xF1, 0x20, 0x20, 0x20, 0xF1};
    assert_int_equal(atr_parse(too_long, 14, &a, &needed), ATR_ERR_INCOMPLETE);
    assert_int_equal(needed, 31 - 14);
    assert_int_equal(atr_parse(too_long, 15, &a, &needed), ATR_ERR_TOO_LONG);
    assert_int_equal(needed, 0);

    /* Synthetic: first TA for T=1 = 00, then FF (11.4.2). */
    uint8_t ifsc[] = {0x3B, 0x80, 0x81, 0x11, 0x00, 0x00};
    assert_int_equal(atr_parse(ifsc, 5, &a, NULL), ATR_ERR_BAD_IFSC);
    ifsc[4] = 0xFF;
    assert_int_equal(atr_parse(ifsc, 5, &a, NULL), ATR_ERR_BAD_IFSC);
    ifsc[4] = 0xFE;
    assert_int_equal(atr_parse(ifsc, 5, &a, &needed), ATR_ERR_INCOMPLETE);
    assert_int_equal(needed, 1);
    ifsc[5] = tck_of(ifsc, 5);
    assert_int_equal(atr_parse(ifsc, 6, &a, NULL), ATR_OK);
    assert_int_equal(a.ifsc, 254);

    /* Real list entry with IFSC = FF ("3B EF 00 FF 81 31 FF ..."). */
    const uint8_t ibm[] = {0x3B, 0xEF, 0x00, 0xFF, 0x81, 0x31, 0xFF, 0x65, 0x49, 0x42, 0x4D, 0x20,
                           0x4D, 0x46, 0x43, 0x39, 0x32, 0x32, 0x39, 0x32, 0x38, 0x39, 0x30, 0x17};
    assert_int_equal(atr_parse(ibm, sizeof ibm, &a, NULL), ATR_ERR_BAD_IFSC);

    const uint8_t minimal[] = {0x3B, 0x00, 0x3B};
    assert_int_equal(atr_parse(minimal, 2, &a, NULL), ATR_OK);
    assert_int_equal(atr_parse(minimal, 3, &a, NULL), ATR_ERR_TRAILING_BYTES);
}

static void prefixes_need_counts(void **state)
{
    struct atr a;
    size_t needed;
    assert_int_equal(atr_parse(dz_eid, 0, &a, &needed), ATR_ERR_INCOMPLETE);
    assert_int_equal(needed, 2);
    assert_int_equal(atr_parse(dz_eid, 1, &a, &needed), ATR_ERR_INCOMPLETE);
    assert_int_equal(needed, 1);
    /* T0 = FF: TA1..TD1 and 15 historical bytes, TCK not known yet. */
    assert_int_equal(atr_parse(dz_eid, 2, &a, &needed), ATR_ERR_INCOMPLETE);
    assert_int_equal(needed, 4 + 15);
    /* TD1 = 91 announces TA2, TD2 and, with T=1, a TCK. */
    assert_int_equal(atr_parse(dz_eid, 6, &a, &needed), ATR_ERR_INCOMPLETE);
    assert_int_equal(needed, 2 + 15 + 1);
    assert_int_equal(atr_parse(dz_eid, 25, &a, &needed), ATR_ERR_INCOMPLETE);
    assert_int_equal(needed, 1);
}

static void line_convention(void **state)
{
    enum atr_convention c = ATR_CONV_INVERSE;
    assert_int_equal(atr_convention_from_raw(0x3B, &c), ATR_OK);
    assert_int_equal(c, ATR_CONV_DIRECT);
    /* 8.1: the inverse-convention TS sampled as a direct-convention character reads 0x03. */
    assert_int_equal(atr_convention_from_raw(0x03, &c), ATR_OK);
    assert_int_equal(c, ATR_CONV_INVERSE);
    assert_int_equal(atr_convention_from_raw(0x3F, &c), ATR_ERR_BAD_TS);
    assert_int_equal(atr_inverse_byte(0x03), 0x3F);
    /* Complement + reverse: 0x01 -> ~ FE -> reversed 7F. */
    assert_int_equal(atr_inverse_byte(0x01), 0x7F);
    assert_int_equal(atr_inverse_byte(0xFF), 0x00);
    assert_int_equal(atr_decode_char(ATR_CONV_DIRECT, 0x03), 0x03);
    for (unsigned v = 0; v < 256; v++)
        assert_int_equal(atr_inverse_byte(atr_inverse_byte((uint8_t)v)), v);
}

static void tables_and_names(void **state)
{
    uint16_t fi;
    uint32_t fmax;
    uint8_t di;
    /* Table 7 */
    assert_true(atr_fi_table(0x0, &fi, &fmax));
    assert_int_equal(fi, 372);
    assert_int_equal(fmax, 4000);
    assert_true(atr_fi_table(0xA, &fi, &fmax));
    assert_int_equal(fi, 768);
    assert_int_equal(fmax, 7500);
    assert_true(atr_fi_table(0xD, &fi, &fmax));
    assert_int_equal(fi, 2048);
    assert_int_equal(fmax, 20000);
    assert_false(atr_fi_table(0x7, &fi, &fmax));
    assert_false(atr_fi_table(0x8, &fi, &fmax));
    assert_false(atr_fi_table(0xE, &fi, &fmax));
    /* Table 8 */
    assert_true(atr_di_table(0x8, &di));
    assert_int_equal(di, 12);
    assert_true(atr_di_table(0x9, &di));
    assert_int_equal(di, 20);
    assert_false(atr_di_table(0x0, &di));
    assert_false(atr_di_table(0xA, &di));
    assert_string_equal(atr_err_str(ATR_ERR_TCK_MISMATCH), "ATR_ERR_TCK_MISMATCH");
    assert_string_equal(atr_err_str(ATR_ERR_INCOMPLETE), "ATR_ERR_INCOMPLETE");
    /* 10.2: default WI = 10 at Fi = 372 gives 9600 etu at D = 1. */
    assert_int_equal(atr_wt_clocks(10, 372), 9600u * 372);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(algerian_eid),
        cmocka_unit_test(algerian_eid_contactless),
        cmocka_unit_test(maroc_usim_t15),
        cmocka_unit_test(inverse_t0_only),
        cmocka_unit_test(inverse_t0_t1),
        cmocka_unit_test(t0_tc1_255),
        cmocka_unit_test(card_capabilities),
        cmocka_unit_test(historical_edge_cases),
        cmocka_unit_test(synthetic_specific_implicit_crc),
        cmocka_unit_test(rfu_values_flagged),
        cmocka_unit_test(malformed),
        cmocka_unit_test(prefixes_need_counts),
        cmocka_unit_test(line_convention),
        cmocka_unit_test(tables_and_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

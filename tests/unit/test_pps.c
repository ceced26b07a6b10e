#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "hawiya/atr.h"
#include "hawiya/pps.h"

/*
 * PPS bytes follow ISO/IEC 7816-3:2006 9.2: PPSS = FF, PPS0 = b7-b5 presence
 * of PPS3..PPS1 | T, PCK makes the exclusive-or of the message zero. The
 * PCKs below were worked out by hand (FF ^ 11 ^ 96 = 78, FF ^ 10 ^ 96 = 79).
 */

static void build_requests(void **state)
{
    uint8_t out[PPS_MAX_LEN];
    size_t n;
    struct pps_params p = {.t = 1, .has_pps1 = true, .fi_code = 9, .di_code = 6};
    assert_int_equal(pps_build_request(&p, out, sizeof out, &n), PPS_OK);
    const uint8_t want_t1[] = {0xFF, 0x11, 0x96, 0x78};
    assert_int_equal(n, sizeof want_t1);
    assert_memory_equal(out, want_t1, n);

    p.t = 0;
    assert_int_equal(pps_build_request(&p, out, sizeof out, &n), PPS_OK);
    const uint8_t want_t0[] = {0xFF, 0x10, 0x96, 0x79};
    assert_memory_equal(out, want_t0, n);

    /* PPS0 only: protocol selection at Fd/Dd. */
    struct pps_params q = {.t = 1};
    assert_int_equal(pps_build_request(&q, out, sizeof out, &n), PPS_OK);
    const uint8_t want_t_only[] = {0xFF, 0x01, 0xFE};
    assert_int_equal(n, 3);
    assert_memory_equal(out, want_t_only, n);

    /* All of PPS1..PPS3: PPS0 = 0x71. */
    struct pps_params r = {.t = 1,
                           .has_pps1 = true,
                           .fi_code = 1,
                           .di_code = 3,
                           .has_pps2 = true,
                           .pps2 = 0x00,
                           .has_pps3 = true,
                           .pps3 = 0x00};
    assert_int_equal(pps_build_request(&r, out, sizeof out, &n), PPS_OK);
    const uint8_t want_all[] = {0xFF, 0x71, 0x13, 0x00, 0x00, 0xFF ^ 0x71 ^ 0x13};
    assert_int_equal(n, 6);
    assert_memory_equal(out, want_all, 6);

    assert_int_equal(pps_build_request(&r, out, 5, &n), PPS_ERR_BUFFER_TOO_SMALL);
    assert_int_equal(n, 0);
    /* Fi code 7 and Di code 0 are RFU (Tables 7, 8). */
    p.fi_code = 7;
    assert_int_equal(pps_build_request(&p, out, sizeof out, &n), PPS_ERR_BAD_PARAM);
    p.fi_code = 9;
    p.di_code = 0;
    assert_int_equal(pps_build_request(&p, out, sizeof out, &n), PPS_ERR_BAD_PARAM);
    p.di_code = 6;
    p.t = 16;
    assert_int_equal(pps_build_request(&p, out, sizeof out, &n), PPS_ERR_BAD_PARAM);
}

static void parse_messages(void **state)
{
    const uint8_t msg[] = {0xFF, 0x11, 0x96, 0x78};
    struct pps_params p;
    size_t needed;
    assert_int_equal(pps_parse(msg, 0, &p, &needed), PPS_ERR_INCOMPLETE);
    assert_int_equal(needed, 3);
    assert_int_equal(pps_parse(msg, 1, &p, &needed), PPS_ERR_INCOMPLETE);
    assert_int_equal(needed, 2);
    assert_int_equal(pps_parse(msg, 2, &p, &needed), PPS_ERR_INCOMPLETE);
    assert_int_equal(needed, 2);
    assert_int_equal(pps_parse(msg, 3, &p, &needed), PPS_ERR_INCOMPLETE);
    assert_int_equal(needed, 1);
    assert_int_equal(pps_parse(msg, 4, &p, &needed), PPS_OK);
    assert_int_equal(needed, 0);
    assert_int_equal(p.t, 1);
    assert_true(p.has_pps1);
    assert_int_equal(p.fi_code, 9);
    assert_int_equal(p.di_code, 6);
    assert_false(p.has_pps2);

    const uint8_t bad_ppss[] = {0xFE, 0x11, 0x96, 0x78};
    assert_int_equal(pps_parse(bad_ppss, 4, &p, NULL), PPS_ERR_BAD_PPSS);
    const uint8_t rfu[] = {0xFF, 0x91, 0x96, 0xF8};
    assert_int_equal(pps_parse(rfu, 4, &p, NULL), PPS_ERR_RFU_BIT);
    const uint8_t bad_pck[] = {0xFF, 0x11, 0x96, 0x77};
    assert_int_equal(pps_parse(bad_pck, 4, &p, NULL), PPS_ERR_BAD_PCK);
    const uint8_t trailing[] = {0xFF, 0x11, 0x96, 0x78, 0x00};
    assert_int_equal(pps_parse(trailing, 5, &p, NULL), PPS_ERR_TRAILING_BYTES);
    assert_string_equal(pps_err_str(PPS_ERR_BAD_PCK), "PPS_ERR_BAD_PCK");
    assert_string_equal(pps_err_str(PPS_ERR_NO_COMMON_RATE), "PPS_ERR_NO_COMMON_RATE");
}

static void check_responses(void **state)
{
    const uint8_t req[] = {0xFF, 0x11, 0x96, 0x78};
    struct pps_result res;

    /* 9.3: the exact echo is a success at the requested rate. */
    assert_int_equal(pps_check_response(req, 4, req, 4, &res), PPS_OK);
    assert_int_equal(res.t, 1);
    assert_int_equal(res.fi_code, 9);
    assert_int_equal(res.di_code, 6);
    assert_false(res.default_rate);

    /* PPS1 left out: success, but Fd = 372 and Dd = 1 stay. */
    const uint8_t no_pps1[] = {0xFF, 0x01, 0xFE};
    assert_int_equal(pps_check_response(req, 4, no_pps1, 3, &res), PPS_OK);
    assert_true(res.default_rate);
    assert_int_equal(res.fi_code, 1);
    assert_int_equal(res.di_code, 1);

    const uint8_t other_rate[] = {0xFF, 0x11, 0x95, 0x7B};
    assert_int_equal(pps_check_response(req, 4, other_rate, 4, &res), PPS_ERR_PPS1_MISMATCH);
    const uint8_t other_t[] = {0xFF, 0x10, 0x96, 0x79};
    assert_int_equal(pps_check_response(req, 4, other_t, 4, &res), PPS_ERR_PROTOCOL_MISMATCH);
    const uint8_t added_pps2[] = {0xFF, 0x31, 0x96, 0x00, 0x58};
    assert_int_equal(pps_check_response(req, 4, added_pps2, 5, &res), PPS_ERR_UNEXPECTED_PPSX);
    const uint8_t bad_pck[] = {0xFF, 0x11, 0x96, 0x79};
    assert_int_equal(pps_check_response(req, 4, bad_pck, 4, &res), PPS_ERR_BAD_PCK);
    assert_int_equal(pps_check_response(req, 4, req, 3, &res), PPS_ERR_INCOMPLETE);
    assert_int_equal(pps_check_response(req, 4, req, 0, &res), PPS_ERR_INCOMPLETE);

    const uint8_t req2[] = {0xFF, 0x31, 0x96, 0x01, 0x59};
    const uint8_t resp2[] = {0xFF, 0x31, 0x96, 0x02, 0x5A};
    assert_int_equal(pps_check_response(req2, 5, resp2, 5, &res), PPS_ERR_PPS2_MISMATCH);
    const uint8_t resp2_dropped[] = {0xFF, 0x11, 0x96, 0x78};
    assert_int_equal(pps_check_response(req2, 5, resp2_dropped, 4, &res), PPS_OK);
}

static void card_role(void **state)
{
    /* A card whose ATR offers T=0 and T=1 with TA1 = 96 (Fi 512, Di 32). */
    struct pps_card_caps caps = {.protocols = 0x3, .ta1 = 0x96};
    uint8_t out[PPS_MAX_LEN];
    size_t n;
    const uint8_t req[] = {0xFF, 0x11, 0x96, 0x78};
    assert_int_equal(pps_card_reply(req, 4, &caps, out, sizeof out, &n), PPS_OK);
    assert_int_equal(n, 4);
    assert_memory_equal(out, req, 4);

    /* Di 16 at the card's Fi is accepted too. */
    const uint8_t slower[] = {0xFF, 0x11, 0x95, 0x7B};
    assert_int_equal(pps_card_reply(slower, 4, &caps, out, sizeof out, &n), PPS_OK);
    assert_memory_equal(out, slower, 4);

    /* Di 64 exceeds TA1: the card answers without PPS1 (Fd/Dd). */
    const uint8_t faster[] = {0xFF, 0x11, 0x97, 0x79};
    assert_int_equal(pps_card_reply(faster, 4, &caps, out, sizeof out, &n), PPS_OK);
    const uint8_t keep[] = {0xFF, 0x01, 0xFE};
    assert_int_equal(n, 3);
    assert_memory_equal(out, keep, 3);
    struct pps_result res;
    assert_int_equal(pps_check_response(faster, 4, out, n, &res), PPS_OK);
    assert_true(res.default_rate);

    /* PPS2 is not echoed. */
    const uint8_t with_pps2[] = {0xFF, 0x31, 0x96, 0x01, 0x59};
    assert_int_equal(pps_card_reply(with_pps2, 5, &caps, out, sizeof out, &n), PPS_OK);
    assert_int_equal(n, 4);
    assert_memory_equal(out, req, 4);

    /* T=14 is not offered; an erroneous request gets no reply either. */
    const uint8_t t14[] = {0xFF, 0x0E, 0xF1};
    assert_int_equal(pps_card_reply(t14, 3, &caps, out, sizeof out, &n), PPS_ERR_UNSUPPORTED);
    assert_int_equal(n, 0);
    const uint8_t bad_pck[] = {0xFF, 0x11, 0x96, 0x00};
    assert_int_equal(pps_card_reply(bad_pck, 4, &caps, out, sizeof out, &n), PPS_ERR_BAD_PCK);
    assert_int_equal(pps_card_reply(req, 4, &caps, out, 3, &n), PPS_ERR_BUFFER_TOO_SMALL);
}

/* "algeria national identity card (eID)" and "Maroc Telecom USIM", pcsc-tools list. */
static const uint8_t dz_eid[] = {0x3B, 0xFF, 0x96, 0x00, 0xFF, 0x91, 0x81, 0x31, 0xFE,
                                 0x4D, 0x80, 0x31, 0xE0, 0x6B, 0x04, 0x31, 0x05, 0x02,
                                 0x75, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x79};
static const uint8_t ma_usim[] = {0x3B, 0x9E, 0x96, 0x80, 0x1F, 0x47, 0x80, 0x31, 0xA0, 0x73, 0xBE,
                                  0x21, 0x13, 0x66, 0x86, 0x88, 0x02, 0x10, 0x1D, 0x10, 0x49};
static const uint8_t dz_eid_cl[] = {0x3B, 0x88, 0x80, 0x01, 0xE1, 0x68, 0x6C,
                                    0x17, 0x77, 0x83, 0x95, 0x00, 0x9A};

static void choose_rates(void **state)
{
    struct atr a;
    struct pps_choice c;
    struct pps_reader_limits lim = {
        .max_clock_khz = 4000, .max_baud = 1000000, .di_supported = 0x3fe};

    /* Specific mode (TA2 = 81): TA1's rate at once, no PPS. ATR_analysis: 250000 bit/s at 4 MHz. */
    assert_int_equal(atr_parse(dz_eid, sizeof dz_eid, &a, NULL), ATR_OK);
    assert_int_equal(pps_choose(&a, &lim, &c), PPS_OK);
    assert_false(c.pps_needed);
    assert_int_equal(c.t, 1);
    assert_int_equal(c.fi, 512);
    assert_int_equal(c.di, 32);
    assert_int_equal(c.clock_khz, 4000);
    assert_int_equal(c.baud, 250000);
    lim.di_supported = 0x3e; /* Di 1..16 only */
    assert_int_equal(pps_choose(&a, &lim, &c), PPS_ERR_NO_COMMON_RATE);

    /* Negotiable, TA1 = 96: at fmax 5 MHz, 312500 bit/s (ATR_analysis). */
    lim.max_clock_khz = 20000;
    lim.di_supported = 0x3fe;
    assert_int_equal(atr_parse(ma_usim, sizeof ma_usim, &a, NULL), ATR_OK);
    assert_int_equal(pps_choose(&a, &lim, &c), PPS_OK);
    assert_true(c.pps_needed);
    assert_int_equal(c.t, 0);
    assert_int_equal(c.fi_code, 9);
    assert_int_equal(c.di_code, 6);
    assert_int_equal(c.clock_khz, 5000);
    assert_int_equal(c.baud, 312500);
    /* Under 200 kbit/s the best Di is 20 (code 9): 5 MHz * 20 / 512 = 195312. */
    lim.max_baud = 200000;
    assert_int_equal(pps_choose(&a, &lim, &c), PPS_OK);
    assert_int_equal(c.di_code, 9);
    assert_int_equal(c.di, 20);
    assert_int_equal(c.baud, 195312);
    /* Without Di 20 and 32: Di 16. */
    lim.max_baud = 1000000;
    lim.di_supported = 0x3e;
    assert_int_equal(pps_choose(&a, &lim, &c), PPS_OK);
    assert_int_equal(c.di, 16);
    assert_int_equal(c.baud, 156250);
    /* A reader at 9600 bit/s keeps the default rate. */
    lim.max_baud = 9600;
    assert_int_equal(pps_choose(&a, &lim, &c), PPS_OK);
    assert_false(c.pps_needed);
    assert_int_equal(c.fi, 372);
    assert_int_equal(c.di, 1);

    /* No TA1, T=0 first then T=1: PPS only to select T=1. */
    lim.max_baud = 1000000;
    lim.max_clock_khz = 3570;
    assert_int_equal(atr_parse(dz_eid_cl, sizeof dz_eid_cl, &a, NULL), ATR_OK);
    assert_int_equal(pps_choose(&a, &lim, &c), PPS_OK);
    assert_true(c.pps_needed);
    assert_int_equal(c.t, 1);
    assert_int_equal(c.fi_code, 1);
    assert_int_equal(c.di_code, 1);
    assert_int_equal(c.clock_khz, 3570);
    assert_int_equal(c.baud, 3570000 / 372);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(build_requests),  cmocka_unit_test(parse_messages),
        cmocka_unit_test(check_responses), cmocka_unit_test(card_role),
        cmocka_unit_test(choose_rates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

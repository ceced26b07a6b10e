#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "hawiya/apdu.h"

/* Decodes `in`, checks the case, and checks that encode gives back the same bytes. */
static void round_trip(const uint8_t *in, size_t len, enum apdu_case want_case, struct apdu *a)
{
    enum apdu_case c;
    uint8_t out[APDU_ENCODED_MAX];
    size_t n;

    assert_int_equal(apdu_decode(in, len, a, &c), APDU_OK);
    assert_int_equal(c, want_case);
    assert_int_equal(apdu_case_of(a), want_case);
    assert_int_equal(apdu_encode(a, out, sizeof out, &n), APDU_OK);
    assert_int_equal(n, len);
    assert_memory_equal(out, in, len);
}

/* ICAO 9303-11 Appendix D.4: the unprotected SELECT EF.COM (case 3S). */
static void icao_select_ef_com(void **state)
{
    const uint8_t in[] = {0x00, 0xA4, 0x02, 0x0C, 0x02, 0x01, 0x1E};
    struct apdu a;
    round_trip(in, sizeof in, APDU_CASE_3S, &a);
    assert_int_equal(a.cla, 0x00);
    assert_int_equal(a.ins, 0xA4);
    assert_int_equal(a.p1, 0x02);
    assert_int_equal(a.p2, 0x0C);
    assert_int_equal(a.nc, 2);
    assert_ptr_equal(a.data, in + 5);
    assert_int_equal(a.ne, 0);
    assert_false(a.extended);
}

/* ICAO 9303-11 Appendix D.4: READ BINARY of the first four bytes (case 2S). */
static void icao_read_binary_4(void **state)
{
    const uint8_t in[] = {0x00, 0xB0, 0x00, 0x00, 0x04};
    struct apdu a;
    round_trip(in, sizeof in, APDU_CASE_2S, &a);
    assert_int_equal(a.nc, 0);
    assert_null(a.data);
    assert_int_equal(a.ne, 4);
}

/* ICAO 9303-11 Appendix D.4: the protected SELECT EF.COM (case 4S, Lc 15, Le 00). */
static void icao_protected_select(void **state)
{
    const uint8_t in[] = {0x0C, 0xA4, 0x02, 0x0C, 0x15, 0x87, 0x09, 0x01, 0x63,
                          0x75, 0x43, 0x29, 0x08, 0xC0, 0x44, 0xF6, 0x8E, 0x08,
                          0xBF, 0x8B, 0x92, 0xD6, 0x35, 0xFF, 0x24, 0xF8, 0x00};
    struct apdu a;
    round_trip(in, sizeof in, APDU_CASE_4S, &a);
    assert_int_equal(a.cla, 0x0C);
    assert_int_equal(a.nc, 0x15);
    assert_int_equal(a.data[0], 0x87);
    assert_int_equal(a.data[0x14], 0xF8);
    assert_int_equal(a.ne, 256);
}

static void case1_header_only(void **state)
{
    const uint8_t in[] = {0x80, 0xCA, 0x9F, 0x7F};
    struct apdu a;
    round_trip(in, sizeof in, APDU_CASE_1, &a);
    assert_int_equal(a.nc, 0);
    assert_int_equal(a.ne, 0);

    /* `extended` cannot apply to case 1: there is no length field to extend. */
    a.extended = true;
    uint8_t out[8];
    size_t n;
    assert_int_equal(apdu_encode(&a, out, sizeof out, &n), APDU_OK);
    assert_int_equal(n, 4);
    assert_memory_equal(out, in, 4);
}

/* §5.1: short Le 00 means Ne = 256, extended Le 00 00 means Ne = 65536. */
static void le_zero_means_maximum(void **state)
{
    const uint8_t s[] = {0x00, 0xB0, 0x00, 0x00, 0x00};
    const uint8_t e[] = {0x00, 0xB0, 0x00, 0x00, 0x00, 0x00, 0x00};
    struct apdu a;
    round_trip(s, sizeof s, APDU_CASE_2S, &a);
    assert_int_equal(a.ne, 256);
    round_trip(e, sizeof e, APDU_CASE_2E, &a);
    assert_int_equal(a.ne, 65536);
    assert_true(a.extended);
}

static void ne_limits_choose_the_field(void **state)
{
    uint8_t out[16];
    size_t n;
    struct apdu a = {.cla = 0x00, .ins = 0xB0, .ne = 256};

    assert_int_equal(apdu_encode(&a, out, sizeof out, &n), APDU_OK);
    const uint8_t want256[] = {0x00, 0xB0, 0x00, 0x00, 0x00};
    assert_int_equal(n, sizeof want256);
    assert_memory_equal(out, want256, n);

    a.ne = 257;
    assert_int_equal(apdu_encode(&a, out, sizeof out, &n), APDU_OK);
    const uint8_t want257[] = {0x00, 0xB0, 0x00, 0x00, 0x00, 0x01, 0x01};
    assert_int_equal(n, sizeof want257);
    assert_memory_equal(out, want257, n);

    a.ne = 65535;
    assert_int_equal(apdu_encode(&a, out, sizeof out, &n), APDU_OK);
    const uint8_t want65535[] = {0x00, 0xB0, 0x00, 0x00, 0x00, 0xFF, 0xFF};
    assert_memory_equal(out, want65535, n);

    a.ne = 65536;
    assert_int_equal(apdu_encode(&a, out, sizeof out, &n), APDU_OK);
    const uint8_t want65536[] = {0x00, 0xB0, 0x00, 0x00, 0x00, 0x00, 0x00};
    assert_memory_equal(out, want65536, n);

    a.ne = 65537;
    assert_int_equal(apdu_encode(&a, out, sizeof out, &n), APDU_ERR_NE_TOO_LARGE);
    assert_int_equal(n, 0);

    /* A forced extended encoding of a small Ne. */
    a.ne = 4;
    a.extended = true;
    assert_int_equal(apdu_encode(&a, out, sizeof out, &n), APDU_OK);
    const uint8_t want4e[] = {0x00, 0xB0, 0x00, 0x00, 0x00, 0x00, 0x04};
    assert_int_equal(n, sizeof want4e);
    assert_memory_equal(out, want4e, n);
}

static void nc_limits_choose_the_field(void **state)
{
    static uint8_t data[65536];
    static uint8_t out[APDU_ENCODED_MAX + 1];
    size_t n;
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 7 + 1);

    struct apdu a = {.cla = 0x00, .ins = 0xD6, .data = data, .nc = 255};
    assert_int_equal(apdu_encode(&a, out, sizeof out, &n), APDU_OK);
    assert_int_equal(n, 4 + 1 + 255);
    assert_int_equal(out[4], 0xFF);
    assert_memory_equal(out + 5, data, 255);

    a.nc = 256;
    assert_int_equal(apdu_encode(&a, out, sizeof out, &n), APDU_OK);
    assert_int_equal(n, 4 + 3 + 256);
    const uint8_t lc256[] = {0x00, 0x01, 0x00};
    assert_memory_equal(out + 4, lc256, 3);

    /* Case 4E: Le is two bytes after an extended Lc. */
    a.ne = 256;
    assert_int_equal(apdu_encode(&a, out, sizeof out, &n), APDU_OK);
    assert_int_equal(n, 4 + 3 + 256 + 2);
    assert_int_equal(out[n - 2], 0x01);
    assert_int_equal(out[n - 1], 0x00);
    struct apdu b;
    enum apdu_case c;
    assert_int_equal(apdu_decode(out, n, &b, &c), APDU_OK);
    assert_int_equal(c, APDU_CASE_4E);
    assert_int_equal(b.nc, 256);
    assert_int_equal(b.ne, 256);

    a.nc = 65535;
    a.ne = 65536;
    assert_int_equal(apdu_encode(&a, out, sizeof out, &n), APDU_OK);
    assert_int_equal(n, APDU_ENCODED_MAX);
    const uint8_t lcmax[] = {0x00, 0xFF, 0xFF};
    assert_memory_equal(out + 4, lcmax, 3);
    assert_int_equal(out[n - 2], 0x00);
    assert_int_equal(out[n - 1], 0x00);
    assert_int_equal(apdu_decode(out, n, &b, &c), APDU_OK);
    assert_int_equal(c, APDU_CASE_4E);
    assert_int_equal(b.nc, 65535);
    assert_int_equal(b.ne, 65536);

    a.nc = 65536;
    assert_int_equal(apdu_encode(&a, out, sizeof out, &n), APDU_ERR_NC_TOO_LARGE);
}

static void case3e_round_trip(void **state)
{
    const uint8_t in[] = {0x00, 0x2A, 0x00, 0xA8, 0x00, 0x00, 0x03, 0xAA, 0xBB, 0xCC};
    struct apdu a;
    round_trip(in, sizeof in, APDU_CASE_3E, &a);
    assert_int_equal(a.nc, 3);
    assert_int_equal(a.ne, 0);
    assert_ptr_equal(a.data, in + 7);
}

static void case4e_round_trip(void **state)
{
    const uint8_t in[] = {0x00, 0x88, 0x00, 0x00, 0x00, 0x00, 0x02, 0x11, 0x22, 0x01, 0x00};
    struct apdu a;
    round_trip(in, sizeof in, APDU_CASE_4E, &a);
    assert_int_equal(a.nc, 2);
    assert_int_equal(a.ne, 256);
}

static void expect_decode_error(const uint8_t *in, size_t len, enum apdu_err want)
{
    struct apdu a;
    memset(&a, 0x5A, sizeof a);
    assert_int_equal(apdu_decode(in, len, &a, NULL), want);
    /* The output is left zeroed, not half-filled. */
    assert_int_equal(a.cla, 0);
    assert_int_equal(a.nc, 0);
    assert_int_equal(a.ne, 0);
    assert_null(a.data);
}

static void malformed_lengths(void **state)
{
    const uint8_t hdr3[] = {0x00, 0xA4, 0x04};
    expect_decode_error(hdr3, sizeof hdr3, APDU_ERR_TOO_SHORT);
    expect_decode_error(hdr3, 0, APDU_ERR_TOO_SHORT);

    /* Lc says 2, one byte present. */
    const uint8_t short_data[] = {0x00, 0xA4, 0x02, 0x0C, 0x02, 0x01};
    expect_decode_error(short_data, sizeof short_data, APDU_ERR_LENGTH_MISMATCH);
    /* Lc says 1, three bytes follow: neither case 3S nor 4S. */
    const uint8_t long_data[] = {0x00, 0xA4, 0x02, 0x0C, 0x01, 0x01, 0x02, 0x03};
    expect_decode_error(long_data, sizeof long_data, APDU_ERR_LENGTH_MISMATCH);
    /* Short Lc = 00 followed by Le: Lc 0 is forbidden. */
    const uint8_t lc0[] = {0x00, 0xB0, 0x00, 0x00, 0x00, 0x10};
    expect_decode_error(lc0, sizeof lc0, APDU_ERR_LC_ZERO);
    /* Extended Lc = 00 00 00 with one byte after. */
    const uint8_t elc0[] = {0x00, 0xD6, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01};
    expect_decode_error(elc0, sizeof elc0, APDU_ERR_LC_ZERO);
    /* Extended Lc 2, one data byte. */
    const uint8_t eshort[] = {0x00, 0xD6, 0x00, 0x00, 0x00, 0x00, 0x02, 0x01};
    expect_decode_error(eshort, sizeof eshort, APDU_ERR_LENGTH_MISMATCH);
    /* Extended Lc 1, data, then a one-byte Le (needs two). */
    const uint8_t ele1[] = {0x00, 0xD6, 0x00, 0x00, 0x00, 0x00, 0x01, 0x01, 0x05};
    expect_decode_error(ele1, sizeof ele1, APDU_ERR_LENGTH_MISMATCH);
    /* Extended Lc 1, data, then a three-byte Le. */
    const uint8_t ele3[] = {0x00, 0xD6, 0x00, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00, 0x00, 0x05};
    expect_decode_error(ele3, sizeof ele3, APDU_ERR_LENGTH_MISMATCH);
}

static void encode_errors(void **state)
{
    uint8_t out[8];
    size_t n = 99;
    struct apdu a = {.cla = 0x00, .ins = 0xA4, .nc = 2};
    assert_int_equal(apdu_encode(&a, out, sizeof out, &n), APDU_ERR_NULL_DATA);
    assert_int_equal(n, 0);
    const uint8_t d[] = {0x3F, 0x00};
    a.data = d;
    assert_int_equal(apdu_encode(&a, out, 6, &n), APDU_ERR_BUFFER_TOO_SMALL);
    assert_int_equal(apdu_encode(&a, out, 7, &n), APDU_OK);
    assert_int_equal(n, 7);
    assert_string_equal(apdu_err_str(APDU_ERR_LC_ZERO), "APDU_ERR_LC_ZERO");
    assert_string_equal(apdu_err_str(APDU_ERR_BUFFER_TOO_SMALL), "APDU_ERR_BUFFER_TOO_SMALL");
}

static void response_apdus(void **state)
{
    /* ICAO 9303-11 Appendix D.4: the response to the protected SELECT: DO'99' DO'8E' 90 00. */
    const uint8_t in[] = {0x99, 0x02, 0x90, 0x00, 0x8E, 0x08, 0xFA, 0x85,
                          0x5A, 0x5D, 0x4C, 0x50, 0xA8, 0xED, 0x90, 0x00};
    struct rapdu r;
    assert_int_equal(rapdu_decode(in, sizeof in, &r), APDU_OK);
    assert_int_equal(r.len, 14);
    assert_ptr_equal(r.data, in);
    assert_int_equal(r.sw, 0x9000);

    uint8_t out[16];
    size_t n;
    assert_int_equal(rapdu_encode(r.data, r.len, r.sw, out, sizeof out, &n), APDU_OK);
    assert_int_equal(n, sizeof in);
    assert_memory_equal(out, in, n);
    assert_int_equal(rapdu_encode(r.data, r.len, r.sw, out, 15, &n), APDU_ERR_BUFFER_TOO_SMALL);
    assert_int_equal(n, 0);

    const uint8_t sw_only[] = {0x6A, 0x82};
    assert_int_equal(rapdu_decode(sw_only, 2, &r), APDU_OK);
    assert_int_equal(r.len, 0);
    assert_null(r.data);
    assert_int_equal(r.sw, 0x6A82);

    assert_int_equal(rapdu_decode(sw_only, 1, &r), APDU_ERR_TOO_SHORT);
    /* 60 is the T=0 NULL byte, never an SW1; 00 and A0 are not 6X / 9X. */
    const uint8_t bad60[] = {0x60, 0x00}, bad00[] = {0x00, 0x00}, badA0[] = {0xA0, 0x00};
    assert_int_equal(rapdu_decode(bad60, 2, &r), APDU_ERR_BAD_SW);
    assert_int_equal(rapdu_decode(bad00, 2, &r), APDU_ERR_BAD_SW);
    assert_int_equal(rapdu_decode(badA0, 2, &r), APDU_ERR_BAD_SW);
    assert_int_equal(r.len, 0);
    assert_int_equal(rapdu_encode(NULL, 0, 0x6000, out, sizeof out, &n), APDU_ERR_BAD_SW);
    assert_int_equal(rapdu_encode(NULL, 0, 0x6282, out, sizeof out, &n), APDU_OK);
    assert_int_equal(n, 2);
    assert_int_equal(out[0], 0x62);
    assert_int_equal(out[1], 0x82);
}

/* Texts of 7816-4 §5.6 Tables 5 and 6. */
static void status_word_texts(void **state)
{
    assert_string_equal(sw_str(0x6A82), "6A82: file or application not found");
    assert_string_equal(sw_str(0x9000), "9000: normal processing, no further qualification");
    assert_string_equal(sw_str(0x6982), "6982: security status not satisfied");
    assert_string_equal(sw_str(0x6988), "6988: incorrect secure messaging data objects");
    assert_string_equal(sw_str(0x6110),
                        "61XX: normal processing, SW2 response bytes still available");
    assert_string_equal(sw_str(0x6C20),
                        "6CXX: wrong Le field, SW2 encodes the exact number of available bytes");
    assert_string_equal(sw_str(0x63C2),
                        "63CX: warning, counter X (e.g. verification failed, X tries left)");
    assert_string_equal(sw_str(0x6281), "6281: warning, part of returned data may be corrupted");
    assert_string_equal(sw_str(0x6210), "62XX: warning, triggering by the card");
    assert_string_equal(sw_str(0x6A99), "6AXX: wrong parameters P1-P2");
    assert_string_equal(sw_str(0x9F10), "9XXX: proprietary status");
    assert_string_equal(sw_str(0x1234), "invalid status word (SW1 neither 6X nor 9X)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(icao_select_ef_com),
        cmocka_unit_test(icao_read_binary_4),
        cmocka_unit_test(icao_protected_select),
        cmocka_unit_test(case1_header_only),
        cmocka_unit_test(le_zero_means_maximum),
        cmocka_unit_test(ne_limits_choose_the_field),
        cmocka_unit_test(nc_limits_choose_the_field),
        cmocka_unit_test(case3e_round_trip),
        cmocka_unit_test(case4e_round_trip),
        cmocka_unit_test(malformed_lengths),
        cmocka_unit_test(encode_errors),
        cmocka_unit_test(response_apdus),
        cmocka_unit_test(status_word_texts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

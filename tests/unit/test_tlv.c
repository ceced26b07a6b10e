#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "hawiya/tlv.h"

/*
 * ITU-T X.690 (08/2015) Annex A.3: the BER encoding of the PersonnelRecord
 * value of A.2, with the outer length in long form (81 85) as printed there.
 */
static const uint8_t x690_record[] = {
    0x60, 0x81, 0x85,                                                     /* [APPLICATION 0] */
    0x61, 0x10, 0x1A, 0x04, 'J',  'o',  'h', 'n',  0x1A, 0x01, 'P',       /* Name */
    0x1A, 0x05, 'S',  'm',  'i',  't',  'h',                              /**/
    0xA0, 0x0A, 0x1A, 0x08, 'D',  'i',  'r', 'e',  'c',  't',  'o',  'r', /* title */
    0x42, 0x01, 0x33,                                                     /* EmployeeNumber 51 */
    0xA1, 0x0A, 0x43, 0x08, '1',  '9',  '7', '1',  '0',  '9',  '1',  '7', /* dateOfHire */
    0xA2, 0x12, 0x61, 0x10, 0x1A, 0x04, 'M', 'a',  'r',  'y',  0x1A, 0x01, 'T', /* nameOfSpouse */
    0x1A, 0x05, 'S',  'm',  'i',  't',  'h',                                    /**/
    0xA3, 0x42,                                                                 /* children */
    0x31, 0x1F, 0x61, 0x11, 0x1A, 0x05, 'R', 'a',  'l',  'p',  'h',  0x1A, 0x01, 'T', /**/
    0x1A, 0x05, 'S',  'm',  'i',  't',  'h', 0xA0, 0x0A, 0x43, 0x08,                  /**/
    '1',  '9',  '5',  '7',  '1',  '1',  '1', '1',                                     /**/
    0x31, 0x1F, 0x61, 0x11, 0x1A, 0x05, 'S', 'u',  's',  'a',  'n',  0x1A, 0x01, 'B', /**/
    0x1A, 0x05, 'J',  'o',  'n',  'e',  's', 0xA0, 0x0A, 0x43, 0x08,                  /**/
    '1',  '9',  '5',  '9',  '0',  '7',  '1', '7',                                     /**/
};

/*
 * ICAO Doc 9303-11 (8th ed.) Appendix G.1, PACE ECDH generic mapping worked
 * example: the response to the first GENERAL AUTHENTICATE, dynamic
 * authentication data 7C holding the encrypted nonce in 80.
 */
static const uint8_t pace_ga1_response[] = {
    0x7C, 0x12, 0x80, 0x10, 0x95, 0xA3, 0xA0, 0x16, 0x52, 0x2E,
    0xE9, 0x8D, 0x01, 0xE7, 0x6C, 0xB6, 0xB9, 0x8B, 0x42, 0xC3,
};

/*
 * EF.COM laid out as ICAO 9303-10 4.6.1 specifies (LDS 0107, Unicode 040000,
 * tag list DG1 DG2 DG11 DG12); 5F01 has a second tag byte below 0x1F, which
 * 7816-4:2005 calls invalid but ICAO uses.
 */
static const uint8_t ef_com[] = {
    0x60, 0x16, 0x5F, 0x01, 0x04, '0', '1',  '0',  '7',  0x5F, 0x36, 0x06,
    '0',  '4',  '0',  '0',  '0',  '0', 0x5C, 0x04, 0x61, 0x75, 0x6B, 0x6C,
};

static void parse_x690_annex_a_record(void **state)
{
    struct tlv t;
    assert_int_equal(tlv_parse(x690_record, sizeof x690_record, 0, &t), TLV_OK);
    assert_int_equal(t.tag, 0x60);
    assert_true(t.constructed);
    assert_int_equal(t.len, 0x85);
    assert_int_equal(t.hdr_len, 3);
    assert_ptr_equal(t.value, x690_record + 3);
    assert_int_equal(t.hdr_len + t.len, sizeof x690_record);

    /* The top level: Name, title, number, dateOfHire, nameOfSpouse, children. */
    static const uint32_t want_tags[] = {0x61, 0xA0, 0x42, 0xA1, 0xA2, 0xA3};
    static const size_t want_lens[] = {0x10, 0x0A, 0x01, 0x0A, 0x12, 0x42};
    struct tlv_iter it;
    struct tlv c;
    size_t n = 0;
    tlv_iter_init(&it, t.value, t.len, TLV_STRICT);
    while (tlv_iter_next(&it, &c) == TLV_OK) {
        assert_true(n < 6);
        assert_int_equal(c.tag, want_tags[n]);
        assert_int_equal(c.len, want_lens[n]);
        n++;
    }
    assert_int_equal(n, 6);
    assert_int_equal(tlv_iter_next(&it, &c), TLV_ERR_END);

    /* EmployeeNumber 51 (0x33) is primitive, one byte. */
    assert_int_equal(tlv_find(t.value, t.len, 0x42, &c), TLV_OK);
    assert_false(c.constructed);
    assert_int_equal(c.len, 1);
    assert_int_equal(c.value[0], 0x33);

    /* children / first child / name / givenName = "Ralph" is the first hit. */
    static const uint32_t path[] = {0x60, 0xA3, 0x31, 0x61, 0x1A};
    assert_int_equal(tlv_find_path(x690_record, sizeof x690_record, TLV_STRICT, path, 5, &c),
                     TLV_OK);
    assert_int_equal(c.len, 5);
    assert_memory_equal(c.value, "Ralph", 5);
}

static void x690_record_header_round_trips(void **state)
{
    /* 81 85 is minimal (0x85 > 0x7F), so even TLV_STRICT takes it. */
    struct tlv t;
    assert_int_equal(tlv_parse(x690_record, sizeof x690_record, TLV_STRICT, &t), TLV_OK);
    /* Re-encoding the header gives the same three bytes. */
    uint8_t hdr[8];
    size_t pos = 0;
    assert_int_equal(tlv_put_header(hdr, sizeof hdr, &pos, 0x60, 0x85), TLV_OK);
    assert_int_equal(pos, 3);
    assert_memory_equal(hdr, x690_record, 3);
}

static void x690_length_examples(void **state)
{
    /* X.690 8.1.3.4 example: L = 38 is 26 in short form. */
    static const uint8_t short_form[] = {0x04, 0x26};
    uint8_t buf[2 + 201];
    memset(buf, 0xAA, sizeof buf);
    memcpy(buf, short_form, 2);
    struct tlv t;
    assert_int_equal(tlv_parse(buf, 2 + 38, TLV_STRICT, &t), TLV_OK);
    assert_int_equal(t.len, 38);

    /* X.690 8.1.3.5 example: L = 201 is 81 C9 in long form. */
    uint8_t out[3 + 201];
    size_t pos = 0;
    assert_int_equal(tlv_put(out, sizeof out, &pos, 0x04, buf, 201), TLV_OK);
    assert_int_equal(pos, 3 + 201);
    static const uint8_t long_hdr[] = {0x04, 0x81, 0xC9};
    assert_memory_equal(out, long_hdr, 3);
    assert_int_equal(tlv_header_size(0x04, 201), 3);
}

static void pace_dynamic_authentication_data(void **state)
{
    static const uint32_t path[] = {0x7C, 0x80};
    struct tlv t;
    assert_int_equal(
        tlv_find_path(pace_ga1_response, sizeof pace_ga1_response, TLV_STRICT, path, 2, &t),
        TLV_OK);
    assert_int_equal(t.tag, 0x80);
    assert_int_equal(t.len, 16);
    assert_ptr_equal(t.value, pace_ga1_response + 4);
    assert_int_equal(t.hdr_len, 2);

    static const uint32_t missing[] = {0x7C, 0x82};
    assert_int_equal(tlv_find_path(pace_ga1_response, sizeof pace_ga1_response, 0, missing, 2, &t),
                     TLV_ERR_NOT_FOUND);
    assert_null(t.value);
    /* 80 is primitive: there is nothing to descend into. */
    static const uint32_t too_deep[] = {0x7C, 0x80, 0x01};
    assert_int_equal(tlv_find_path(pace_ga1_response, sizeof pace_ga1_response, 0, too_deep, 3, &t),
                     TLV_ERR_NOT_CONSTRUCTED);

    /* The terminal's command 7C 00 (empty dynamic authentication data), built. */
    uint8_t cmd[4];
    size_t pos = 0;
    assert_int_equal(tlv_put(cmd, sizeof cmd, &pos, 0x7C, NULL, 0), TLV_OK);
    assert_int_equal(pos, 2);
    static const uint8_t want[] = {0x7C, 0x00};
    assert_memory_equal(cmd, want, 2);
}

static void ef_com_two_byte_tags(void **state)
{
    struct tlv t;
    static const uint32_t path_version[] = {0x60, 0x5F01};
    assert_int_equal(tlv_find_path(ef_com, sizeof ef_com, TLV_STRICT, path_version, 2, &t), TLV_OK);
    assert_int_equal(t.hdr_len, 3);
    assert_memory_equal(t.value, "0107", 4);
    static const uint32_t path_list[] = {0x60, 0x5C};
    assert_int_equal(tlv_find_path(ef_com, sizeof ef_com, TLV_STRICT, path_list, 2, &t), TLV_OK);
    static const uint8_t dgs[] = {0x61, 0x75, 0x6B, 0x6C};
    assert_int_equal(t.len, 4);
    assert_memory_equal(t.value, dgs, 4);
}

/* A BSI TR-03110 style 7F49 RSA public key: 7F49 82 01 15 { 06 OID, 81 modulus, 82 exponent }. */
static void public_key_7f49_with_82_lengths(void **state)
{
    static const uint8_t oid[] = {0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x02, 0x01, 0x02};
    static const uint8_t e[] = {0x01, 0x00, 0x01};
    uint8_t n[256];
    for (size_t i = 0; i < sizeof n; i++)
        n[i] = (uint8_t)(0xC0 ^ i);

    uint8_t buf[300];
    size_t pos = 0;
    size_t inner = tlv_header_size(0x06, sizeof oid) + sizeof oid +
                   tlv_header_size(0x81, sizeof n) + sizeof n + tlv_header_size(0x82, sizeof e) +
                   sizeof e;
    assert_int_equal(inner, 0x115);
    assert_int_equal(tlv_put_header(buf, sizeof buf, &pos, 0x7F49, inner), TLV_OK);
    assert_int_equal(tlv_put(buf, sizeof buf, &pos, 0x06, oid, sizeof oid), TLV_OK);
    assert_int_equal(tlv_put(buf, sizeof buf, &pos, 0x81, n, sizeof n), TLV_OK);
    assert_int_equal(tlv_put(buf, sizeof buf, &pos, 0x82, e, sizeof e), TLV_OK);
    assert_int_equal(pos, 5 + 0x115);

    static const uint8_t head[] = {0x7F, 0x49, 0x82, 0x01, 0x15, 0x06, 0x0A};
    assert_memory_equal(buf, head, sizeof head);
    static const uint8_t mod_hdr[] = {0x81, 0x82, 0x01, 0x00, 0xC0, 0xC1};
    assert_memory_equal(buf + 5 + 12, mod_hdr, sizeof mod_hdr);
    static const uint8_t exp_tlv[] = {0x82, 0x03, 0x01, 0x00, 0x01};
    assert_memory_equal(buf + pos - 5, exp_tlv, 5);

    struct tlv t;
    static const uint32_t path[] = {0x7F49, 0x81};
    assert_int_equal(tlv_find_path(buf, pos, TLV_STRICT, path, 2, &t), TLV_OK);
    assert_int_equal(t.len, 256);
    assert_int_equal(t.hdr_len, 4);
    assert_memory_equal(t.value, n, 256);
}

/* A 7816-4 FCI: 6F { 84 DF name, A5 proprietary { 61 { 4F AID } } }. */
static void fci_6f_a5_61_nesting(void **state)
{
    static const uint8_t fci[] = {
        0x6F, 0x16, 0x84, 0x07, 0xA0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x01, 0xA5,
        0x0B, 0x61, 0x09, 0x4F, 0x07, 0xA0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x01,
    };
    static const uint32_t path[] = {0x6F, 0xA5, 0x61, 0x4F};
    struct tlv t;
    assert_int_equal(tlv_find_path(fci, sizeof fci, TLV_STRICT, path, 4, &t), TLV_OK);
    assert_int_equal(t.len, 7);
    assert_ptr_equal(t.value, fci + sizeof fci - 7);
    static const uint32_t df_name[] = {0x6F, 0x84};
    assert_int_equal(tlv_find_path(fci, sizeof fci, 0, df_name, 2, &t), TLV_OK);
    assert_ptr_equal(t.value, fci + 4);
}

/* Every proper prefix of a valid object must be rejected, and never read past its end. */
static void every_truncation_rejected(void **state)
{
    static const uint8_t *const objs[] = {x690_record, pace_ga1_response, ef_com};
    static const size_t lens[] = {sizeof x690_record, sizeof pace_ga1_response, sizeof ef_com};
    static const uint8_t key_hdr[] = {0x7F, 0x49, 0x82, 0x01, 0x15};
    static const uint8_t big_len[] = {0x5F, 0x2E, 0x84, 0x00, 0x01, 0x00, 0x00};
    uint8_t copy[sizeof x690_record];

    for (size_t o = 0; o < 3; o++) {
        for (size_t cut = 0; cut < lens[o]; cut++) {
            memcpy(copy, objs[o], cut);
            struct tlv t;
            enum tlv_err e = tlv_parse(copy, cut, 0, &t);
            assert_true(e == TLV_ERR_TRUNCATED || e == TLV_ERR_VALUE_OVERRUN);
            assert_int_equal(t.len, 0);
            assert_null(t.value);
            struct tlv_iter it;
            tlv_iter_init(&it, copy, cut, TLV_SKIP_PADDING);
            if (cut == 0)
                assert_int_equal(tlv_iter_next(&it, &t), TLV_ERR_END);
            else
                assert_int_equal(tlv_iter_next(&it, &t), e);
        }
    }
    struct tlv t;
    for (size_t cut = 0; cut <= sizeof key_hdr; cut++) {
        enum tlv_err want = cut < 5 ? TLV_ERR_TRUNCATED : TLV_ERR_VALUE_OVERRUN;
        if (cut == 0)
            want = TLV_ERR_TRUNCATED;
        assert_int_equal(tlv_parse(key_hdr, cut, 0, &t), want);
    }
    assert_int_equal(tlv_parse(big_len, 6, 0, &t), TLV_ERR_TRUNCATED);
    assert_int_equal(tlv_parse(big_len, 7, 0, &t), TLV_ERR_VALUE_OVERRUN);
}

static void bad_tags(void **state)
{
    struct tlv t;
    /* 7816-4 uses neither 00 nor FF as a tag. */
    static const uint8_t t00[] = {0x00, 0x00};
    static const uint8_t tff[] = {0xFF, 0x00};
    assert_int_equal(tlv_parse(t00, 2, 0, &t), TLV_ERR_BAD_TAG);
    assert_int_equal(tlv_parse(tff, 2, 0, &t), TLV_ERR_BAD_TAG);
    /* X.690 8.1.2.4.2 c: the first subsequent byte may not be 0x80. */
    static const uint8_t t80[] = {0x5F, 0x80, 0x01, 0x00};
    assert_int_equal(tlv_parse(t80, 4, 0, &t), TLV_ERR_BAD_TAG);
    /* Four tag bytes: more than this module (and 7816-4 practice) takes. */
    static const uint8_t t4[] = {0x5F, 0x81, 0x81, 0x01, 0x00};
    assert_int_equal(tlv_parse(t4, 5, 0, &t), TLV_ERR_TAG_TOO_LONG);
    /* Three bytes are fine: DF 81 01 is private primitive tag number (0x01 << 7) | 0x01 = 129. */
    static const uint8_t t3[] = {0xDF, 0x81, 0x01, 0x01, 0xAB};
    assert_int_equal(tlv_parse(t3, 5, TLV_STRICT, &t), TLV_OK);
    assert_int_equal(t.tag, 0xDF8101);
    assert_false(t.constructed);
    assert_int_equal(t.hdr_len, 4);
    assert_int_equal(t.value[0], 0xAB);

    assert_true(tlv_tag_valid(0x7F49));
    assert_true(tlv_tag_valid(0xDF8101));
    assert_true(tlv_tag_valid(0x5F0E)); /* ICAO DG11 full name */
    assert_false(tlv_tag_valid(0));
    assert_false(tlv_tag_valid(0xFF));
    assert_false(tlv_tag_valid(0x1F));       /* announces a subsequent byte */
    assert_false(tlv_tag_valid(0x7C01));     /* 7C has no subsequent bytes */
    assert_false(tlv_tag_valid(0x5F80));     /* last byte with b8 set */
    assert_false(tlv_tag_valid(0x5F8001));   /* leading 0x80 */
    assert_false(tlv_tag_valid(0x5F0101));   /* middle byte without b8 */
    assert_false(tlv_tag_valid(0x5F818101)); /* four bytes */
    assert_int_equal(tlv_tag_size(0xDF8101), 3);
    assert_int_equal(tlv_header_size(0x1F, 0), 0);

    uint8_t out[8];
    size_t pos = 0;
    assert_int_equal(tlv_put(out, sizeof out, &pos, 0x7C01, NULL, 0), TLV_ERR_BAD_TAG);
    assert_int_equal(tlv_put_header(out, sizeof out, &pos, 0x00, 0), TLV_ERR_BAD_TAG);
    assert_int_equal(pos, 0);
    assert_string_equal(tlv_err_str(TLV_ERR_BAD_TAG), "TLV_ERR_BAD_TAG");
}

static void bad_and_over_long_lengths(void **state)
{
    struct tlv t;
    uint8_t buf[0x200];
    memset(buf, 0x11, sizeof buf);
    buf[0] = 0x04;

    buf[1] = 0x80; /* indefinite */
    assert_int_equal(tlv_parse(buf, sizeof buf, 0, &t), TLV_ERR_INDEFINITE_LENGTH);
    for (unsigned b = 0x85; b <= 0xFF; b++) {
        buf[1] = (uint8_t)b;
        assert_int_equal(tlv_parse(buf, sizeof buf, 0, &t), TLV_ERR_BAD_LENGTH);
    }

    /* Every over-long form of L = 5 and of L = 0x100: fine leniently, refused strictly. */
    static const uint8_t l5[][5] = {
        {0x81, 0x05}, {0x82, 0x00, 0x05}, {0x83, 0x00, 0x00, 0x05}, {0x84, 0x00, 0x00, 0x00, 0x05}};
    static const uint8_t l256[][5] = {{0x83, 0x00, 0x01, 0x00}, {0x84, 0x00, 0x00, 0x01, 0x00}};
    for (size_t i = 0; i < 4; i++) {
        memcpy(buf + 1, l5[i], i + 2);
        assert_int_equal(tlv_parse(buf, sizeof buf, 0, &t), TLV_OK);
        assert_int_equal(t.len, 5);
        assert_int_equal(t.hdr_len, 1 + i + 2);
        assert_int_equal(tlv_parse(buf, sizeof buf, TLV_STRICT, &t), TLV_ERR_NON_MINIMAL_LENGTH);
        assert_int_equal(t.len, 0);
    }
    for (size_t i = 0; i < 2; i++) {
        memcpy(buf + 1, l256[i], i + 4);
        assert_int_equal(tlv_parse(buf, sizeof buf, 0, &t), TLV_OK);
        assert_int_equal(t.len, 0x100);
        assert_int_equal(tlv_parse(buf, sizeof buf, TLV_STRICT, &t), TLV_ERR_NON_MINIMAL_LENGTH);
    }
    /* Just below each boundary the long form is over-long: 81 7F, 82 00 FF, 83 00 FF FF. */
    static const uint8_t edge[][4] = {{0x81, 0x7F}, {0x82, 0x00, 0xFF}, {0x83, 0x00, 0xFF, 0xFF}};
    for (size_t i = 0; i < 3; i++) {
        uint8_t big[0x10010];
        memset(big, 0x22, sizeof big);
        big[0] = 0x04;
        memcpy(big + 1, edge[i], i + 2);
        assert_int_equal(tlv_parse(big, sizeof big, 0, &t), TLV_OK);
        assert_int_equal(tlv_parse(big, sizeof big, TLV_STRICT, &t), TLV_ERR_NON_MINIMAL_LENGTH);
    }
    /* The minimal forms at each boundary pass strictly. */
    static const uint8_t ok[][4] = {{0x7F}, {0x81, 0x80}, {0x81, 0xFF}, {0x82, 0x01, 0x00}};
    static const size_t ok_len[] = {0x7F, 0x80, 0xFF, 0x100};
    static const size_t ok_n[] = {1, 2, 2, 3};
    for (size_t i = 0; i < 4; i++) {
        memcpy(buf + 1, ok[i], ok_n[i]);
        assert_int_equal(tlv_parse(buf, sizeof buf, TLV_STRICT, &t), TLV_OK);
        assert_int_equal(t.len, ok_len[i]);
        uint8_t hdr[8];
        size_t pos = 0;
        assert_int_equal(tlv_put_header(hdr, sizeof hdr, &pos, 0x04, ok_len[i]), TLV_OK);
        assert_int_equal(pos, 1 + ok_n[i]);
        assert_memory_equal(hdr, buf, pos);
    }
    /* Length past the buffer. */
    static const uint8_t over[] = {0x04, 0x03, 0x01, 0x02};
    assert_int_equal(tlv_parse(over, sizeof over, 0, &t), TLV_ERR_VALUE_OVERRUN);
    static const uint8_t huge[] = {0x04, 0x84, 0xFF, 0xFF, 0xFF, 0xFF, 0x00};
    assert_int_equal(tlv_parse(huge, sizeof huge, 0, &t), TLV_ERR_VALUE_OVERRUN);
}

static void encoder_lengths_and_capacity(void **state)
{
    uint8_t out[8];
    size_t pos;
    static const struct {
        size_t len;
        uint8_t enc[5];
        size_t n;
    } cases[] = {
        {0, {0x00}, 1},
        {0x7F, {0x7F}, 1},
        {0x80, {0x81, 0x80}, 2},
        {0xFFFF, {0x82, 0xFF, 0xFF}, 3},
        {0x10000, {0x83, 0x01, 0x00, 0x00}, 4},
        {0x1000000, {0x84, 0x01, 0x00, 0x00, 0x00}, 5},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        pos = 1;
        assert_int_equal(tlv_put_header(out, sizeof out, &pos, 0x5F2E, cases[i].len), TLV_OK);
        assert_int_equal(pos, 1 + 2 + cases[i].n);
        assert_int_equal(out[1], 0x5F);
        assert_int_equal(out[2], 0x2E);
        assert_memory_equal(out + 3, cases[i].enc, cases[i].n);
        assert_int_equal(tlv_len_size(cases[i].len), cases[i].n);
    }

    /* No space: nothing written, *pos kept. */
    static const uint8_t v[4] = {1, 2, 3, 4};
    memset(out, 0xEE, sizeof out);
    pos = 3;
    assert_int_equal(tlv_put(out, 8, &pos, 0x04, v, 4), TLV_ERR_NO_SPACE);
    assert_int_equal(pos, 3);
    for (size_t i = 0; i < sizeof out; i++)
        assert_int_equal(out[i], 0xEE);
    pos = 2;
    assert_int_equal(tlv_put(out, 8, &pos, 0x04, v, 4), TLV_OK);
    assert_int_equal(pos, 8);
    pos = 9;
    assert_int_equal(tlv_put_header(out, 8, &pos, 0x04, 0), TLV_ERR_NO_SPACE);
    pos = 7;
    assert_int_equal(tlv_put_header(out, 8, &pos, 0x7F49, 0), TLV_ERR_NO_SPACE);

#if SIZE_MAX > 0xFFFFFFFFu
    /* 84 is the longest length field: 2^32 cannot be encoded. */
    pos = 0;
    assert_int_equal(tlv_put_header(out, 8, &pos, 0x04, (size_t)0xFFFFFFFFu + 1),
                     TLV_ERR_VALUE_TOO_LONG);
    assert_int_equal(tlv_header_size(0x04, (size_t)0xFFFFFFFFu + 1), 0);
    assert_int_equal(tlv_header_size(0x04, 0xFFFFFFFFu), 6);
#endif
}

/* 7816-4: 00 and FF may stand before, between and after objects (erased records). */
static void padding_between_objects(void **state)
{
    static const uint8_t rec[] = {0x00, 0x00, 0x80, 0x01, 0xAA, 0xFF, 0x00, 0x81,
                                  0x00, 0xFF, 0x82, 0x02, 0x00, 0xFF, 0xFF, 0xFF};
    struct tlv_iter it;
    struct tlv t;

    tlv_iter_init(&it, rec, sizeof rec, TLV_SKIP_PADDING);
    assert_int_equal(tlv_iter_next(&it, &t), TLV_OK);
    assert_int_equal(t.tag, 0x80);
    assert_int_equal(t.value[0], 0xAA);
    assert_int_equal(tlv_iter_next(&it, &t), TLV_OK);
    assert_int_equal(t.tag, 0x81);
    assert_int_equal(t.len, 0);
    assert_null(t.value);
    /* Padding is never looked for inside a value: 00 FF is 82's content. */
    assert_int_equal(tlv_iter_next(&it, &t), TLV_OK);
    assert_int_equal(t.tag, 0x82);
    assert_int_equal(t.len, 2);
    assert_int_equal(t.value[0], 0x00);
    assert_int_equal(t.value[1], 0xFF);
    assert_int_equal(tlv_iter_next(&it, &t), TLV_ERR_END);
    assert_int_equal(tlv_iter_next(&it, &t), TLV_ERR_END);

    /* Without the option the first 00 is a bad tag, and the iterator stays put. */
    tlv_iter_init(&it, rec, sizeof rec, 0);
    assert_int_equal(tlv_iter_next(&it, &t), TLV_ERR_BAD_TAG);
    assert_int_equal(tlv_iter_next(&it, &t), TLV_ERR_BAD_TAG);
    assert_ptr_equal(it.p, rec);
    assert_int_equal(tlv_find_ex(rec, sizeof rec, TLV_SKIP_PADDING, 0x82, &t), TLV_OK);
    assert_int_equal(tlv_find(rec, sizeof rec, 0x82, &t), TLV_ERR_BAD_TAG);
    assert_int_equal(tlv_find_ex(rec, sizeof rec, TLV_SKIP_PADDING, 0x83, &t), TLV_ERR_NOT_FOUND);

    /* Only padding, or nothing at all: an empty sequence. */
    static const uint8_t blank[] = {0xFF, 0xFF, 0x00};
    tlv_iter_init(&it, blank, sizeof blank, TLV_SKIP_PADDING);
    assert_int_equal(tlv_iter_next(&it, &t), TLV_ERR_END);
    tlv_iter_init(&it, NULL, 5, 0);
    assert_int_equal(tlv_iter_next(&it, &t), TLV_ERR_END);
}

static void error_names(void **state)
{
    assert_string_equal(tlv_err_str(TLV_OK), "TLV_OK");
    assert_string_equal(tlv_err_str(TLV_ERR_NON_MINIMAL_LENGTH), "TLV_ERR_NON_MINIMAL_LENGTH");
    assert_string_equal(tlv_err_str(TLV_ERR_VALUE_TOO_LONG), "TLV_ERR_VALUE_TOO_LONG");
    assert_string_equal(tlv_err_str((enum tlv_err)999), "TLV_ERR_UNKNOWN");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_x690_annex_a_record),
        cmocka_unit_test(x690_record_header_round_trips),
        cmocka_unit_test(x690_length_examples),
        cmocka_unit_test(pace_dynamic_authentication_data),
        cmocka_unit_test(ef_com_two_byte_tags),
        cmocka_unit_test(public_key_7f49_with_82_lengths),
        cmocka_unit_test(fci_6f_a5_61_nesting),
        cmocka_unit_test(every_truncation_rejected),
        cmocka_unit_test(bad_tags),
        cmocka_unit_test(bad_and_over_long_lengths),
        cmocka_unit_test(encoder_lengths_and_capacity),
        cmocka_unit_test(padding_between_objects),
        cmocka_unit_test(error_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

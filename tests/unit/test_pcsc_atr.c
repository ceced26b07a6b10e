/*
 * PC/SC Part 3 ATRs of contactless cards (hawiya/pcsc_atr.h), checked
 * against the ATRs pcsc-tools' smartcard_list.txt gives for the real cards:
 * Moroccan identity card 3B 85 80 01 80 73 84 21 C0 92 (Type A, ATS
 * historical bytes 80 73 84 21 C0), Algerian identity card
 * 3B 88 80 01 E1 68 6C 17 77 83 95 00 9A (Type B), and the storage-card
 * ATR of a MIFARE Classic 1K 3B 8F 80 01 80 4F 0C A0 00 00 03 06 03 00 01
 * 00 00 00 00 6A. Every ATR built is also parsed by the 7816-3 parser
 * (hawiya/atr.h), an independent check of structure and TCK.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "hawiya/atr.h"
#include "hawiya/pcsc_atr.h"

static const uint8_t ma_atr[] = {0x3B, 0x85, 0x80, 0x01, 0x80, 0x73, 0x84, 0x21, 0xC0, 0x92};
static const uint8_t dz_atr[] = {0x3B, 0x88, 0x80, 0x01, 0xE1, 0x68, 0x6C,
                                 0x17, 0x77, 0x83, 0x95, 0x00, 0x9A};
static const uint8_t mifare_atr[] = {0x3B, 0x8F, 0x80, 0x01, 0x80, 0x4F, 0x0C, 0xA0, 0x00, 0x00,
                                     0x03, 0x06, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x6A};

static void build_type_a(void **state)
{
    (void)state;
    const uint8_t hist[5] = {0x80, 0x73, 0x84, 0x21, 0xC0};
    uint8_t out[PCSC_ATR_MAX];
    size_t n;
    assert_int_equal(pcsc_atr_from_ats(hist, 5, out, sizeof out, &n), PCSC_ATR_OK);
    assert_int_equal(n, sizeof ma_atr);
    assert_memory_equal(out, ma_atr, n);
    struct atr a;
    assert_int_equal(atr_parse(out, n, &a, NULL), ATR_OK);
    assert_int_equal(a.hist_len, 5);
    assert_true(a.hist_decoded.extended_lc_le); /* C0: extended Lc / Le, chaining */
    assert_true(a.hist_decoded.command_chaining);
    /* No historical bytes: 3B 80 80 01 01. */
    assert_int_equal(pcsc_atr_from_ats(NULL, 0, out, sizeof out, &n), PCSC_ATR_OK);
    const uint8_t empty[5] = {0x3B, 0x80, 0x80, 0x01, 0x01};
    assert_memory_equal(out, empty, 5);
    /* More than 15: cut to 15. */
    uint8_t many[20];
    memset(many, 0x41, sizeof many);
    assert_int_equal(pcsc_atr_from_ats(many, 20, out, sizeof out, &n), PCSC_ATR_OK);
    assert_int_equal(n, 20);
    assert_int_equal(out[1], 0x8F);
    assert_int_equal(atr_parse(out, n, &a, NULL), ATR_OK);
    assert_int_equal(pcsc_atr_from_ats(many, 20, out, 19, &n), PCSC_ATR_ERR_BUF);
}

static void build_type_b(void **state)
{
    (void)state;
    const uint8_t app[4] = {0xE1, 0x68, 0x6C, 0x17}, proto[3] = {0x77, 0x83, 0x95};
    uint8_t out[PCSC_ATR_MAX];
    size_t n;
    assert_int_equal(pcsc_atr_from_atqb(app, proto, 0, out, sizeof out, &n), PCSC_ATR_OK);
    assert_int_equal(n, sizeof dz_atr);
    assert_memory_equal(out, dz_atr, n);
    struct atr a;
    assert_int_equal(atr_parse(out, n, &a, NULL), ATR_OK);
    /* MBLI goes to the high nibble of the eighth historical byte. */
    assert_int_equal(pcsc_atr_from_atqb(app, proto, 3, out, sizeof out, &n), PCSC_ATR_OK);
    assert_int_equal(out[11], 0x30);
    assert_int_equal(atr_parse(out, n, &a, NULL), ATR_OK);
}

static void decode(void **state)
{
    (void)state;
    struct pcsc_atr_info info;
    assert_int_equal(pcsc_atr_decode(ma_atr, sizeof ma_atr, &info), PCSC_ATR_OK);
    assert_int_equal(info.kind, PCSC_ATR_TYPE_A);
    assert_int_equal(info.hist_len, 5);

    assert_int_equal(pcsc_atr_decode(dz_atr, sizeof dz_atr, &info), PCSC_ATR_OK);
    assert_int_equal(info.kind, PCSC_ATR_TYPE_B);
    assert_int_equal(info.atqb.fwi, 9);
    assert_int_equal(iso14443_fs(info.atqb.fsci), 256);
    assert_true(info.atqb.cid);
    assert_false(info.atqb.nad);
    assert_int_equal(info.atqb.ds, 0x0F);
    assert_int_equal(info.mbli, 0);

    assert_int_equal(pcsc_atr_decode(mifare_atr, sizeof mifare_atr, &info), PCSC_ATR_OK);
    assert_int_equal(info.kind, PCSC_ATR_STORAGE);
    assert_int_equal(info.standard, 0x03);
    assert_int_equal(info.card_name, 0x0001);

    /* An 8-byte Type A history starting with a category indicator stays Type A. */
    const uint8_t a8[13] = {0x3B, 0x88, 0x80, 0x01, 0x80, 0x31, 0x80,
                            0x65, 0xB0, 0x83, 0x11, 0x00, 0};
    uint8_t x[13];
    memcpy(x, a8, 13);
    for (int i = 1; i < 12; i++)
        x[12] ^= x[i];
    assert_int_equal(pcsc_atr_decode(x, 13, &info), PCSC_ATR_OK);
    assert_int_equal(info.kind, PCSC_ATR_TYPE_A);

    uint8_t bad[sizeof ma_atr];
    memcpy(bad, ma_atr, sizeof bad);
    bad[9] ^= 1;
    assert_int_equal(pcsc_atr_decode(bad, sizeof bad, &info), PCSC_ATR_ERR_TCK);
    assert_int_equal(pcsc_atr_decode(ma_atr, sizeof ma_atr - 1, &info), PCSC_ATR_ERR_NOT_PCSC);
    const uint8_t contact[] = {0x3B, 0x95, 0x96, 0x80, 0x31, 0xFE, 0x45,
                               0x80, 0x73, 0xB4, 0x21, 0x40, 0x2F};
    assert_int_equal(pcsc_atr_decode(contact, sizeof contact, &info), PCSC_ATR_ERR_NOT_PCSC);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(build_type_a),
        cmocka_unit_test(build_type_b),
        cmocka_unit_test(decode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

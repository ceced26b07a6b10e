/*
 * APDU sizes from a card's own indications (hawiya/card_caps.h): the card
 * capabilities of the historical bytes (7816-4 8.1.1.2.7) of the Moroccan
 * identity card's ATS and of our contact persona, EF.ATR/INFO's DO'7F66'
 * (7816-4 12.7.1) as our personas carry it, and the READ BINARY sizes that
 * follow, with the secure messaging overhead counted byte by byte.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "hawiya/card_caps.h"

static void from_historical_bytes(void **state)
{
    (void)state;
    struct atr_hist h;
    struct card_caps c;
    /* Moroccan ATS: 80, then tag 7 length 3: 84 21 C0 (C0: chaining, extended Lc/Le) */
    const uint8_t ma[] = {0x80, 0x73, 0x84, 0x21, 0xC0};
    atr_hist_decode(ma, sizeof ma, &h);
    card_caps_from_hist(&h, &c);
    assert_true(c.known);
    assert_true(c.extended);
    /* third table 00: a card that says it takes short APDUs only */
    const uint8_t short_only[] = {0x80, 0x73, 0x84, 0x21, 0x00};
    atr_hist_decode(short_only, sizeof short_only, &h);
    card_caps_from_hist(&h, &c);
    assert_true(c.known);
    assert_false(c.extended);
    /* the Algerian contact ATR's history: no tag 7, nothing said */
    const uint8_t dz[] = {0x80, 0x31, 0xE0, 0x6B, 0x04, 0x31, 0x05, 0x02,
                          0x75, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55};
    atr_hist_decode(dz, sizeof dz, &h);
    card_caps_from_hist(&h, &c);
    assert_false(c.known);
    card_caps_from_hist(NULL, &c);
    assert_false(c.known);
}

static void from_atr_info(void **state)
{
    (void)state;
    struct card_caps c = {0};
    /* 7F66: command APDUs up to 1033 bytes (04 09), responses up to 65538 (01 00 02) */
    const uint8_t ext[] = {0x7F, 0x66, 0x09, 0x02, 0x02, 0x04, 0x09, 0x02, 0x03, 0x01, 0x00, 0x02};
    assert_int_equal(card_caps_from_atr_info(ext, sizeof ext, &c), CARD_CAPS_OK);
    assert_true(c.known && c.extended);
    assert_int_equal(c.max_command, 1033);
    assert_int_equal(c.max_response, 65538);
    /* the Algerian-style card: 261 and 226, short */
    const uint8_t dz[] = {0x7F, 0x66, 0x08, 0x02, 0x02, 0x01, 0x05, 0x02, 0x02, 0x00, 0xE2};
    memset(&c, 0, sizeof c);
    assert_int_equal(card_caps_from_atr_info(dz, sizeof dz, &c), CARD_CAPS_OK);
    assert_false(c.extended);
    assert_int_equal(c.max_response, 226);
    /* DO'47' card capabilities before it */
    const uint8_t both[] = {0x47, 0x03, 0x94, 0x21, 0xC0, 0x7F, 0x66, 0x08,
                            0x02, 0x02, 0x01, 0x05, 0x02, 0x02, 0x01, 0x02};
    memset(&c, 0, sizeof c);
    assert_int_equal(card_caps_from_atr_info(both, sizeof both, &c), CARD_CAPS_OK);
    assert_true(c.extended);
    assert_int_equal(c.max_response, 258);
    /* malformed and absent */
    const uint8_t bad[] = {0x7F, 0x66, 0x03, 0x02, 0x01, 0x05};
    assert_int_equal(card_caps_from_atr_info(bad, sizeof bad, &c), CARD_CAPS_ERR_FORMAT);
    const uint8_t not_int[] = {0x7F, 0x66, 0x06, 0x04, 0x01, 0x05, 0x02, 0x01, 0x05};
    assert_int_equal(card_caps_from_atr_info(not_int, sizeof not_int, &c), CARD_CAPS_ERR_FORMAT);
    const uint8_t short47[] = {0x47, 0x01, 0x94};
    assert_int_equal(card_caps_from_atr_info(short47, sizeof short47, &c), CARD_CAPS_ERR_FORMAT);
    const uint8_t other[] = {0x5F, 0x52, 0x01, 0x00};
    assert_int_equal(card_caps_from_atr_info(other, sizeof other, &c), CARD_CAPS_ERR_ABSENT);
}

static void read_sizes(void **state)
{
    (void)state;
    /* 223 plain bytes under SM: 87 81 E1 01 + 224, 99 02 90 00, 8E 08 + MAC, 90 00 */
    assert_int_equal(card_caps_sm_response(223), 4 + 224 + 4 + 10 + 2);
    assert_int_equal(card_caps_sm_response(160), 4 + 176 + 4 + 10 + 2);
    assert_int_equal(card_caps_sm_response(100), 3 + 112 + 4 + 10 + 2);
    assert_int_equal(card_caps_sm_response(224), 4 + 240 + 4 + 10 + 2);

    struct card_caps unknown = {0};
    assert_int_equal(card_caps_read_le(&unknown, true, false, 4096), 256);
    assert_int_equal(card_caps_read_le(&unknown, true, true, 4096), 223);
    struct card_caps ext = {.known = true, .extended = true};
    assert_int_equal(card_caps_read_le(&ext, true, true, 4096), 4096);
    assert_int_equal(card_caps_read_le(&ext, false, true, 4096), 223); /* the link is short */
    struct card_caps ext2k = {.known = true, .extended = true, .max_response = 2000};
    size_t le = card_caps_read_le(&ext2k, true, false, 4096);
    assert_true(le + 2 <= 2000 && le + 2 + 256 > 2000);
    /* 226-byte responses: 224 plain, 160 under SM (223 would need 244) */
    struct card_caps dz = {.known = true, .max_response = 226};
    assert_int_equal(card_caps_read_le(&dz, true, false, 4096), 224);
    assert_int_equal(card_caps_read_le(&dz, true, true, 4096), 160);
    /* below the ladder: the largest that fits */
    struct card_caps tiny = {.known = true, .max_response = 150};
    assert_int_equal(card_caps_read_le(&tiny, true, false, 4096), 148);
    le = card_caps_read_le(&tiny, true, true, 4096);
    assert_true(card_caps_sm_response(le) <= 150 && card_caps_sm_response(le + 16) > 150);

    assert_int_equal(card_caps_next_le(256), 224);
    assert_int_equal(card_caps_next_le(223), 160);
    assert_int_equal(card_caps_next_le(160), 80);
    assert_int_equal(card_caps_next_le(1), 0);
}

/* A READ BINARY response under secure messaging, counted from ICAO 9303-11
 * 9.8 / ISO 7816-4 10.2 again: DO'87' (tag, BER length, padding-content
 * indicator and the cryptogram padded to the next 16-byte block), DO'99'
 * (4), DO'8E' (2 + 8), SW1 SW2. */
static size_t sm_bytes(size_t le)
{
    size_t v = 1 + (le / 16 + 1) * 16;
    size_t lenlen = v < 0x80 ? 1 : v < 0x100 ? 2 : v < 0x10000 ? 3 : 4;
    return 1 + lenlen + v + 4 + 10 + 2;
}

/* The read size as a class: for every response size a card may state (2 to
 * 70000 bytes, every one up to 600 and the edges of the length encodings),
 * with and without secure messaging, extended or short cards, extended or
 * short links of several limits: the response always fits what the card
 * said; short reads take the first of 256 (223 under SM) / 224 / 160 that
 * fits, else the largest that fits; extended ones reach the link's limit or
 * come within one 256-byte step of the largest that fits. */
static void every_stated_size(void **state)
{
    (void)state;
    static const size_t links[] = {300, 4096, 65536};
    size_t rooms[2000], nr = 0;
    for (size_t r = 2; r <= 600; r++)
        rooms[nr++] = r;
    for (size_t r = 601; r < 70000 && nr < 1950; r += 53)
        rooms[nr++] = r;
    static const size_t edges[] = {65569, 65570, 65571, 65572, 65573, 65574, 65575, 65590};
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++)
        rooms[nr++] = edges[i];
    unsigned checked = 0;
    for (size_t ri = 0; ri < nr; ri++)
        for (int sm = 0; sm < 2; sm++)
            for (int ext_card = 0; ext_card < 2; ext_card++)
                for (int ext_link = 0; ext_link < 2; ext_link++)
                    for (size_t li = 0; li < sizeof links / sizeof links[0]; li++) {
                        size_t room = rooms[ri], link = links[li];
                        struct card_caps c = {
                            .known = true, .extended = ext_card, .max_response = room};
                        size_t le = card_caps_read_le(&c, ext_link, sm, link);
                        size_t need = sm ? sm_bytes(le) : le + 2;
                        size_t floor1 = sm ? sm_bytes(1) : 3;
                        checked++;
                        if (room < floor1) {
                            assert_int_equal(le, 1); /* nothing fits: the least there is */
                            continue;
                        }
                        if (need > room)
                            fail_msg("room %zu sm %d ext %d/%d link %zu: Le %zu needs %zu", room,
                                     sm, ext_card, ext_link, link, le, need);
                        if (ext_card && ext_link) {
                            assert_true(le <= link);
                            size_t next = le + 256 > link ? link : le + 256;
                            if (le != link && (sm ? sm_bytes(next) : next + 2) <= room)
                                fail_msg("room %zu sm %d link %zu: Le %zu, %zu fits", room, sm,
                                         link, le, next);
                            continue;
                        }
                        size_t ladder[3] = {sm ? 223 : 256, 224, 160}, want = 0;
                        for (int k = 0; k < 3 && !want; k++)
                            if ((sm ? sm_bytes(ladder[k]) : ladder[k] + 2) <= room)
                                want = ladder[k];
                        for (size_t l = 159; !want && l >= 1; l--)
                            if ((sm ? sm_bytes(l) : l + 2) <= room)
                                want = l;
                        if (le != want)
                            fail_msg("room %zu sm %d short: Le %zu, not %zu", room, sm, le, want);
                    }
    print_message("read sizes: %u cases\n", checked);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(from_historical_bytes),
        cmocka_unit_test(from_atr_info),
        cmocka_unit_test(read_sizes),
        cmocka_unit_test(every_stated_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

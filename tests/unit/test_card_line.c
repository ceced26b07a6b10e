/*
 * The virtual card's contacts (host/vcard/card_line.c) fed simline records
 * by a reader that misbehaves: the default persona of tests/data/personas.json.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "card_line.h"
#include "persona.h"
#include "vcard.h"

static struct persona persona;
static struct vcard card;
static struct card_line line;

/* 7816-3 §7.1: 1 etu = Fd / f = 372 / 4 MHz = 93 us. */
#define ETU_PS 93000000u

static int test_rng(void *ctx, uint8_t *out, size_t n)
{
    (void)ctx;
    memset(out, 0x5A, n);
    return 0;
}

static void feed(enum simline_type type, uint64_t t_ns, uint32_t value)
{
    struct simline_msg m = {.type = type, .t_ns = t_ns};
    if (type == SIMLINE_VCC)
        m.u.vcc_mv = (uint16_t)value;
    else if (type == SIMLINE_CLK)
        m.u.clk_hz = value;
    else
        m.u.rst_level = (uint8_t)value;
    card_line_input(&line, &m);
}

static void feed_io_at(uint64_t t_ns, uint32_t etu_ps, const uint8_t *chars, uint16_t n)
{
    struct simline_msg m = {.type = SIMLINE_IO, .t_ns = t_ns};
    m.u.io.etu_ps = etu_ps;
    m.u.io.char_etu = 12;
    m.u.io.n = n;
    m.u.io.chars = chars;
    static const uint8_t no_flags[16];
    m.u.io.flags = no_flags;
    card_line_input(&line, &m);
}

static void feed_io(uint64_t t_ns, const uint8_t *chars, uint16_t n)
{
    feed_io_at(t_ns, ETU_PS, chars, n);
}

/* The card's output since the last call: its IO characters, and whether it ends with SYNC. */
static size_t take_out(uint8_t *chars, size_t cap, bool *sync_last)
{
    size_t off = 0, n = 0;
    *sync_last = false;
    while (off < line.out_len) {
        struct simline_msg m;
        size_t used;
        assert_int_equal(simline_decode(line.out + off, line.out_len - off, &m, &used), SIMLINE_OK);
        if (m.type == SIMLINE_IO) {
            assert_true(n + m.u.io.n <= cap);
            memcpy(chars + n, m.u.io.chars, m.u.io.n);
            n += m.u.io.n;
        }
        *sync_last = m.type == SIMLINE_SYNC;
        off += used;
    }
    line.out_len = 0;
    return n;
}

static int setup(void **state)
{
    (void)state;
    char path[4096];
    const char *dir = getenv("HAWIYA_TEST_DATA");
    snprintf(path, sizeof path, "%s/personas.json", dir ? dir : "tests/data");
    assert_int_equal(persona_load_file(path, "default", &persona, NULL), PERSONA_OK);
    assert_int_equal(vcard_init(&card, &persona, test_rng, NULL), VCARD_OK);
    assert_int_equal(card_line_init(&line, &card, &persona, true), 0);
    return 0;
}

/* A record stamped near 2^64 ns used to wrap the T=0 card's waiting-time
 * deadline (now + WT) so that it sent NULL procedure bytes for ever (found
 * by fuzz_card_line). It is ignored now, and the card goes on as before. */
static void time_near_wrap_is_ignored(void **state)
{
    (void)state;
    uint8_t out[64];
    bool sync;

    feed(SIMLINE_VCC, 0, 5000);
    feed(SIMLINE_CLK, 1000, 4000000);
    feed(SIMLINE_RST, 2000, 0);
    feed(SIMLINE_RST, 50000, 1);
    /* The persona's ATR (personas.json, "default"). */
    static const uint8_t atr[] = {0x3B, 0x95, 0x96, 0x80, 0x31, 0xFE, 0x45,
                                  0x80, 0x73, 0xB4, 0x21, 0x40, 0x2F};
    assert_int_equal(take_out(out, sizeof out, &sync), sizeof atr);
    assert_memory_equal(out, atr, sizeof atr);
    assert_true(sync);

    /* READ BINARY of EF.CardAccess by SFI 1C with P3 = 00: the default card
     * speaks T=0 (its first offered protocol) until a PPS. */
    static const uint8_t header[] = {0x00, 0xB0, 0x9C, 0x00, 0x00};
    feed_io(UINT64_MAX - 30000000u, header, sizeof header);
    assert_int_equal(take_out(out, sizeof out, &sync), 0);
    assert_true(sync);
    assert_true(line.now_ns < 1000000000u);

    /* 7816-3 §10.3.3 / 7816-4 §5.6: 6C XX gives the right Le, EF.CardAccess's 22 bytes. */
    feed_io(20000000, header, sizeof header);
    assert_int_equal(take_out(out, sizeof out, &sync), 2);
    assert_int_equal(out[0], 0x6C);
    assert_int_equal(out[1], 0x16);
    assert_true(sync);
}

/* A T=0 card pulled out while it sends NULL bytes (7816-3 §10.3.3) used to
 * go on sending them, and its answer, after PRESENCE 0; when the removal
 * lay far behind the reader's clock, the NULL bytes went on for ever (found
 * by fuzz_card_line). */
static void removed_t0_card_falls_silent(void **state)
{
    (void)state;
    uint8_t out[64];
    bool sync;

    /* At 4 GHz WT (9600 etu at Fd = 372, 7816-3 §10.2) is 0.89 ms, shorter
     * than the persona's 4 ms READ BINARY: the card sends NULL bytes. */
    const uint32_t etu_ps = simline_etu_ps(372, 1, 4000000000u);
    feed(SIMLINE_VCC, 0, 5000);
    feed(SIMLINE_CLK, 1000, 4000000000u);
    feed(SIMLINE_RST, 2000, 0);
    feed(SIMLINE_RST, 3000, 1);
    assert_int_equal(take_out(out, sizeof out, &sync), 13);
    card_line_remove_after(&line, 2000000);

    static const uint8_t header[] = {0x00, 0xB0, 0x9C, 0x00, 0x16};
    feed_io_at(line.now_ns + 1000, etu_ps, header, sizeof header);
    size_t off = 0;
    bool removed = false;
    unsigned nulls = 0;
    while (off < line.out_len) {
        struct simline_msg m;
        size_t used;
        assert_int_equal(simline_decode(line.out + off, line.out_len - off, &m, &used), SIMLINE_OK);
        if (m.type == SIMLINE_PRESENCE) {
            assert_int_equal(m.u.present, 0);
            removed = true;
        } else if (m.type == SIMLINE_IO) {
            /* Before the removal: NULL bytes only, never the data. */
            assert_false(removed);
            for (size_t i = 0; i < m.u.io.n; i++)
                assert_int_equal(m.u.io.chars[i], 0x60);
            nulls += m.u.io.n;
        }
        off += used;
    }
    assert_true(removed);
    assert_true(nulls >= 1);
    assert_false(line.present);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(time_near_wrap_is_ignored, setup),
        cmocka_unit_test_setup(removed_t0_card_falls_silent, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

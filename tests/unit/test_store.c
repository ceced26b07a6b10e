/*
 * The reader's record store (firmware/src/store.c) on the mock board's RAM
 * flash (tests/unit/mock_board.c), which keeps flash rules: erase to 0xFF,
 * program only erased bytes in whole program units, and a power cut after
 * any number of bytes programmed or erased (the byte under way keeps only
 * some of its new zero bits). The claims of store.h, checked:
 *   - a cut at every byte of a write, of a compaction and of its erases
 *     leaves the old value or the new one, never anything else, and the
 *     store goes on working;
 *   - damage no cut explains is STORE_ERR_CORRUPT, never an older value;
 *   - sectors take turns, so erases are spread over them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "mock_board.h"
#include "store.h"

#define K_COUNTER 3
#define K_CERT    2
#define K_KEY     1

static void be64(uint8_t b[8], uint64_t v)
{
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (56 - 8 * i));
}

static uint64_t get_counter(struct store *s)
{
    uint8_t b[8];
    size_t n;
    assert_int_equal(store_get(s, K_COUNTER, b, sizeof b, &n), STORE_OK);
    assert_int_equal(n, 8);
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | b[i];
    return v;
}

static enum store_err put_counter(struct store *s, uint64_t v)
{
    uint8_t b[8];
    be64(b, v);
    return store_put(s, K_COUNTER, b, sizeof b);
}

/* A value of `len` bytes that depends on `seed`. */
static void fill(uint8_t *p, size_t len, unsigned seed)
{
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)(seed * 31u + i * 7u + (i >> 3));
}

static void expect_stored(struct store *s, uint8_t key, size_t len, unsigned seed)
{
    uint8_t want[STORE_VALUE_MAX], got[STORE_VALUE_MAX];
    size_t n;
    fill(want, len, seed);
    assert_int_equal(store_get(s, key, got, sizeof got, &n), STORE_OK);
    assert_int_equal(n, len);
    assert_memory_equal(got, want, len);
}

static void blank_flash_then_values_survive_reopen(void **state)
{
    (void)state;
    struct store s;
    uint8_t v[600];
    mock_board_reset(1);
    assert_int_equal(store_open(&s), STORE_OK);
    assert_true(store_blank(&s));
    assert_false(store_has(&s, K_KEY));
    size_t n;
    assert_int_equal(store_get(&s, K_KEY, v, sizeof v, &n), STORE_ERR_NOT_FOUND);

    fill(v, 121, 1);
    assert_int_equal(store_put(&s, K_KEY, v, 121), STORE_OK);
    fill(v, 600, 2);
    assert_int_equal(store_put(&s, K_CERT, v, 600), STORE_OK);
    assert_int_equal(put_counter(&s, 0), STORE_OK);
    for (uint64_t c = 1; c <= 10; c++)
        assert_int_equal(put_counter(&s, c), STORE_OK);
    assert_false(store_blank(&s));

    struct store again;
    assert_int_equal(store_open(&again), STORE_OK);
    assert_false(store_blank(&again));
    expect_stored(&again, K_KEY, 121, 1);
    expect_stored(&again, K_CERT, 600, 2);
    assert_int_equal(get_counter(&again), 10);
    /* Nothing was ever programmed twice: the mock refuses it (ECC flash rule). */
    assert_int_equal(again.compactions, 0);

    /* Refused arguments, by name. */
    assert_int_equal(store_put(&again, 0, v, 1), STORE_ERR_ARGUMENT);
    assert_int_equal(store_put(&again, 0xFF, v, 1), STORE_ERR_ARGUMENT);
    assert_int_equal(store_put(&again, K_KEY, v, STORE_VALUE_MAX + 1), STORE_ERR_TOO_BIG);
    assert_int_equal(store_get(&again, K_CERT, v, 599, &n), STORE_ERR_TOO_BIG);
}

/* Hundreds of counter values: compactions happen, sectors take turns, and
 * every value survives a reopen after every write. */
static void compaction_and_wear(void **state)
{
    (void)state;
    struct store s;
    uint8_t v[600];
    mock_board_reset(2);
    mock_board.sectors = 3;
    assert_int_equal(store_open(&s), STORE_OK);
    fill(v, 121, 1);
    assert_int_equal(store_put(&s, K_KEY, v, 121), STORE_OK);
    fill(v, 600, 2);
    assert_int_equal(store_put(&s, K_CERT, v, 600), STORE_OK);
    const uint64_t n = 3000;
    for (uint64_t c = 0; c < n; c++) {
        assert_int_equal(put_counter(&s, c), STORE_OK);
        if (c % 97 == 0) {
            struct store again;
            assert_int_equal(store_open(&again), STORE_OK);
            assert_int_equal(get_counter(&again), c);
            expect_stored(&again, K_KEY, 121, 1);
            expect_stored(&again, K_CERT, 600, 2);
        }
    }
    assert_true(mock_board.flash_erases > 10);
    unsigned lo = mock_board.erases_per_sector[0], hi = lo;
    for (unsigned k = 1; k < 3; k++) {
        lo = mock_board.erases_per_sector[k] < lo ? mock_board.erases_per_sector[k] : lo;
        hi = mock_board.erases_per_sector[k] > hi ? mock_board.erases_per_sector[k] : hi;
    }
    /* Turns: no sector is erased more than once more than another. */
    assert_true(hi - lo <= 1);
    print_message("store: %llu counter values in %u-byte sectors: %u erases (%.1f values per "
                  "erase), per sector %u..%u\n",
                  (unsigned long long)n, mock_board.sector_size, mock_board.flash_erases,
                  (double)n / mock_board.flash_erases, lo, hi);
}

/* The heart of it: a power cut after every byte of a write. */
static void cut_at_every_byte_of_a_write(void **state)
{
    (void)state;
    static const uint8_t masks[] = {0x00, 0x0F, 0xA5, 0xFF};
    uint8_t snapshot[MOCK_FLASH_BYTES], v[200];
    unsigned cuts = 0;
    for (size_t m = 0; m < sizeof masks; m++) {
        for (long budget = 0;; budget++) {
            struct store s;
            mock_board_reset(3);
            assert_int_equal(store_open(&s), STORE_OK);
            fill(v, 121, 1);
            assert_int_equal(store_put(&s, K_KEY, v, 121), STORE_OK);
            assert_int_equal(put_counter(&s, 41), STORE_OK);
            memcpy(snapshot, mock_board.flash, sizeof snapshot);

            mock_board.flash_budget = budget;
            mock_board.flash_torn_mask = masks[m];
            enum store_err e = put_counter(&s, 42);
            bool cut = mock_board.powered_off;
            mock_board_power_cycle();

            struct store after;
            assert_int_equal(store_open(&after), STORE_OK);
            uint64_t c = get_counter(&after);
            if (e == STORE_OK)
                assert_int_equal(c, 42); /* acknowledged: it stays */
            else
                assert_true(c == 41 || c == 42); /* never anything else */
            expect_stored(&after, K_KEY, 121, 1);
            /* And the store goes on: the next value lands and reads back. */
            assert_int_equal(put_counter(&after, 43), STORE_OK);
            struct store third;
            assert_int_equal(store_open(&third), STORE_OK);
            assert_int_equal(get_counter(&third), 43);
            expect_stored(&third, K_KEY, 121, 1);
            if (!cut)
                break; /* the whole write fitted in the budget: every byte was tried */
            cuts++;
        }
    }
    print_message("store: %u power cuts inside one counter write, each recovered\n", cuts);
    assert_true(cuts > 4 * 60);
}

/* A cut at every byte of a write that compacts: the copy into the next
 * sector, its header, and the erase of the old sector. */
static void cut_at_every_byte_of_a_compaction(void **state)
{
    (void)state;
    uint8_t v[600];
    unsigned cuts = 0;
    for (long budget = 0;; budget++) {
        struct store s;
        mock_board_reset(4);
        mock_board.sector_size = 1024; /* few records per sector: compactions come soon */
        assert_int_equal(store_open(&s), STORE_OK);
        fill(v, 121, 1);
        assert_int_equal(store_put(&s, K_KEY, v, 121), STORE_OK);
        fill(v, 200, 2);
        assert_int_equal(store_put(&s, K_CERT, v, 200), STORE_OK);
        /* Counter values up to the one whose write must compact. */
        uint64_t old = 0;
        for (;;) {
            struct store probe;
            assert_int_equal(store_open(&probe), STORE_OK);
            if (probe.tail + 2 * (probe.hdr_size + 8) > mock_board.sector_size)
                break;
            assert_int_equal(put_counter(&s, ++old), STORE_OK);
        }
        uint32_t compactions = s.compactions;
        mock_board.flash_budget = budget;
        mock_board.flash_torn_mask = 0x3C;
        enum store_err e = put_counter(&s, old + 1);
        bool cut = mock_board.powered_off;
        mock_board_power_cycle();
        struct store after;
        assert_int_equal(store_open(&after), STORE_OK);
        uint64_t got = get_counter(&after);
        if (e == STORE_OK)
            assert_int_equal(got, old + 1);
        else
            assert_true(got == old || got == old + 1);
        expect_stored(&after, K_KEY, 121, 1);
        expect_stored(&after, K_CERT, 200, 2);
        assert_int_equal(put_counter(&after, old + 2), STORE_OK);
        struct store third;
        assert_int_equal(store_open(&third), STORE_OK);
        assert_int_equal(get_counter(&third), old + 2);
        expect_stored(&third, K_CERT, 200, 2);
        if (!cut) {
            assert_true(s.compactions > compactions);
            break;
        }
        cuts++;
    }
    print_message("store: %u power cuts inside one compacting write (every byte of the erase "
                  "of the next sector, the copy, its header and the erase of the old one), "
                  "each recovered\n",
                  cuts);
    assert_true(cuts > 1024 + 800); /* the erase of the old sector and the ~830-byte copy */
}

/* Damage a power cut cannot explain: never an older value, always named. */
static void damage_is_corrupt_not_older(void **state)
{
    (void)state;
    struct store s;
    uint8_t v[200];
    mock_board_reset(5);
    assert_int_equal(store_open(&s), STORE_OK);
    fill(v, 121, 1);
    assert_int_equal(store_put(&s, K_KEY, v, 121), STORE_OK);
    for (uint64_t c = 1; c <= 5; c++)
        assert_int_equal(put_counter(&s, c), STORE_OK);
    const struct store_entry *e = NULL;
    for (size_t i = 0; i < s.entries; i++)
        if (s.entry[i].key == K_COUNTER)
            e = &s.entry[i];
    assert_non_null(e);
    uint8_t *sector = mock_board.flash + (size_t)s.active * mock_board.sector_size;
    /* The newest counter's two copies: copy 1 is the one the index points at
     * after a clean write. */
    uint32_t rec = s.hdr_size + 8; /* a counter record: header + 8 bytes */
    uint32_t copy1 = e->offset, copy0 = copy1 - rec;
    uint8_t keep[MOCK_FLASH_BYTES];
    memcpy(keep, mock_board.flash, sizeof keep);

    /* One copy's value damaged: the other copy carries the value. */
    sector[copy1 + s.hdr_size + 7] ^= 0x01;
    struct store t;
    assert_int_equal(store_open(&t), STORE_OK);
    assert_int_equal(get_counter(&t), 5);
    /* Both copies' values damaged: not 4, but CORRUPT, and no writes. */
    sector[copy0 + s.hdr_size + 7] ^= 0x01;
    assert_int_equal(store_open(&t), STORE_ERR_CORRUPT);
    assert_int_equal(put_counter(&t, 6), STORE_ERR_CORRUPT);
    size_t n;
    assert_int_equal(store_get(&t, K_KEY, v, sizeof v, &n), STORE_ERR_CORRUPT);

    /* A header in the middle of the log damaged (the key's copy 0): the good
     * headers after it show it was no power cut. */
    memcpy(mock_board.flash, keep, sizeof keep);
    sector[16 + 5] ^= 0x40;
    assert_int_equal(store_open(&t), STORE_ERR_CORRUPT);

    /* Two sectors claiming the same generation. */
    memcpy(mock_board.flash, keep, sizeof keep);
    uint8_t *other = mock_board.flash + (size_t)(1 - s.active) * mock_board.sector_size;
    memcpy(other, sector, 16);
    assert_int_equal(store_open(&t), STORE_ERR_CORRUPT);

    /* Bytes written without any sector header: not a store, not blank. */
    mock_board_reset(5);
    mock_board.flash[100] = 0x00;
    assert_int_equal(store_open(&t), STORE_ERR_NOT_FORMATTED);
    assert_false(store_blank(&t));
    assert_int_equal(store_format(&t), STORE_OK);
    assert_true(store_blank(&t));

    /* No flash at all. */
    mock_board.flash_missing = true;
    assert_int_equal(store_open(&t), STORE_ERR_FLASH);
    assert_int_equal(put_counter(&t, 1), STORE_ERR_FLASH);
}

/* A flash that fails (worn out, or its controller flags an error) is
 * reported, and nothing acknowledged is lost. */
static void failing_flash_is_reported(void **state)
{
    (void)state;
    struct store s;
    mock_board_reset(6);
    assert_int_equal(store_open(&s), STORE_OK);
    assert_int_equal(put_counter(&s, 7), STORE_OK);
    mock_board.flash_fail = true;
    assert_int_equal(put_counter(&s, 8), STORE_ERR_FLASH);
    mock_board.flash_fail = false;
    struct store t;
    assert_int_equal(store_open(&t), STORE_OK);
    assert_int_equal(get_counter(&t), 7);
    assert_int_equal(put_counter(&s, 8), STORE_OK);
    assert_int_equal(store_open(&t), STORE_OK);
    assert_int_equal(get_counter(&t), 8);
}

/* Other geometries: program units of 1 and 32 bytes (ECC flash), more sectors;
 * and values that no longer fit a sector are refused, by name. */
static void geometries_and_full(void **state)
{
    (void)state;
    static const uint32_t units[] = {1, 4, 32};
    uint8_t v[STORE_VALUE_MAX];
    for (size_t u = 0; u < 3; u++) {
        struct store s;
        mock_board_reset(7);
        mock_board.prog_unit = units[u];
        mock_board.sector_size = 2048;
        assert_int_equal(store_open(&s), STORE_OK);
        fill(v, 121, 1);
        assert_int_equal(store_put(&s, K_KEY, v, 121), STORE_OK);
        for (uint64_t c = 0; c < 200; c++)
            assert_int_equal(put_counter(&s, c), STORE_OK);
        struct store t;
        assert_int_equal(store_open(&t), STORE_OK);
        assert_int_equal(get_counter(&t), 199);
        expect_stored(&t, K_KEY, 121, 1);
    }
    struct store s;
    mock_board_reset(8);
    mock_board.sector_size = 1024;
    assert_int_equal(store_open(&s), STORE_OK);
    fill(v, 500, 3);
    assert_int_equal(store_put(&s, K_CERT, v, 500), STORE_ERR_FULL); /* 2 copies > 1 KiB */
    assert_int_equal(store_put(&s, K_KEY, v, 200), STORE_OK);
    /* An unusable geometry. */
    mock_board.sectors = 1;
    assert_int_equal(store_open(&s), STORE_ERR_ARGUMENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(blank_flash_then_values_survive_reopen),
        cmocka_unit_test(compaction_and_wear),
        cmocka_unit_test(cut_at_every_byte_of_a_write),
        cmocka_unit_test(cut_at_every_byte_of_a_compaction),
        cmocka_unit_test(damage_is_corrupt_not_older),
        cmocka_unit_test(failing_flash_is_reported),
        cmocka_unit_test(geometries_and_full),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Every literal ATR of the pcsc-tools list (Debian package pcsc-tools,
 * /usr/share/pcsc/smartcard_list.txt, about 3800 real cards) through
 * atr_parse and pps_choose, checking invariants rather than values: the list
 * has malformed entries too, and those must fail with a named error.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hawiya/atr.h"
#include "hawiya/hex.h"
#include "hawiya/pps.h"

#define DEFAULT_LIST "/usr/share/pcsc/smartcard_list.txt"

static void check_derived(const struct atr *a, enum atr_err e)
{
    assert_true(a->len <= ATR_MAX_LEN);
    assert_true(a->levels <= ATR_MAX_LEVELS);
    assert_true(a->protocols != 0);
    if (a->fi != 0 && a->di != 0) {
        struct atr_fraction etu = atr_etu_clocks(a->fi, a->di);
        /* Exact: num/den == Fi/Di. */
        assert_int_equal((uint64_t)etu.num * a->di, (uint64_t)a->fi * etu.den);
        assert_true(atr_bwt_clocks(a->bwi, a->fi, a->di) >= atr_bwt_extra_clocks(a->bwi));
        assert_true(a->fmax_khz >= 4000 && a->fmax_khz <= 20000);
    } else {
        assert_true(a->rfu & (ATR_RFU_FI | ATR_RFU_DI));
    }
    assert_int_equal(atr_cwt_etu(a->cwi), 11u + (1u << a->cwi));
    assert_int_equal(atr_wt_clocks(a->wi, a->fi), (uint32_t)a->wi * 960u * a->fi);
    if ((a->protocols & (1u << 1)) && e != ATR_ERR_BAD_IFSC)
        assert_true(a->ifsc >= 1 && a->ifsc <= 254);
    assert_true(a->hist_len <= a->hist_k);
}

static void check_one(const uint8_t *b, size_t n, int *counts)
{
    struct atr a, again;
    size_t needed = 99;
    enum atr_err e = atr_parse(b, n, &a, &needed);
    counts[e]++;
    if (e != ATR_ERR_INCOMPLETE)
        assert_int_equal(needed, 0);
    if (e == ATR_ERR_BAD_TS) {
        assert_int_equal(a.len, 0);
        return;
    }
    if (a.len >= 2)
        check_derived(&a, e);
    switch (e) {
    case ATR_OK:
        assert_int_equal(a.len, n);
        assert_int_equal(a.hist_len, a.t0 & 0x0f);
        assert_memory_equal(a.raw, b, n);
        /* TCK is there exactly when some TDi indicates T != 0 (8.2.5). */
        {
            bool non_t0 = false;
            for (size_t i = 0; i < a.levels; i++)
                if ((a.iface[i].present & ATR_TD) && (a.iface[i].td & 0x0f) != 0)
                    non_t0 = true;
            assert_int_equal(a.tck_present, non_t0);
        }
        /* Fed byte by byte, every prefix asks for more and never for too much. */
        for (size_t k = 0; k < n; k++) {
            assert_int_equal(atr_parse(b, k, &again, &needed), ATR_ERR_INCOMPLETE);
            assert_true(needed >= 1 && k + needed <= n);
        }
        break;
    case ATR_ERR_TRAILING_BYTES:
        assert_true(a.len < n);
        assert_int_equal(atr_parse(b, a.len, &again, NULL), ATR_OK);
        break;
    case ATR_ERR_INCOMPLETE:
        assert_int_equal(a.len, n);
        assert_true(needed >= 1);
        break;
    default:
        /* Malformed stays malformed whatever follows. */
        assert_true(a.len <= n);
        for (size_t m = a.len; m <= n; m++)
            assert_int_equal(atr_parse(b, m, &again, NULL), e);
        break;
    }
    if (e != ATR_OK)
        return;

    static const struct pps_reader_limits limits[] = {
        {.max_clock_khz = 4000, .max_baud = 250000, .di_supported = 0x3fe},
        {.max_clock_khz = 20000, .max_baud = 10000000, .di_supported = 0x3fe},
        {.max_clock_khz = 3570, .max_baud = 115200, .di_supported = 0x1e},
    };
    for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
        struct pps_choice c;
        if (pps_choose(&a, &limits[i], &c) != PPS_OK) {
            assert_true(a.specific_mode);
            continue;
        }
        assert_true(c.clock_khz <= limits[i].max_clock_khz);
        if (a.fmax_khz)
            assert_true(c.clock_khz <= a.fmax_khz);
        assert_int_equal(c.baud, (uint32_t)((uint64_t)c.clock_khz * 1000 * c.di / c.fi));
        if (c.pps_needed && (c.fi_code != 1 || c.di_code != 1)) {
            assert_true(c.baud <= limits[i].max_baud);
            assert_true(limits[i].di_supported & (1u << c.di_code));
            assert_true(c.di <= a.di);
        }
    }
}

static void whole_pcsc_tools_list(void **state)
{
    const char *path = getenv("HAWIYA_PCSC_LIST");
    if (path == NULL)
        path = DEFAULT_LIST;
    FILE *f = fopen(path, "r");
    if (f == NULL)
        fail_msg("cannot open %s (Debian package pcsc-tools)", path);

    int counts[16] = {0};
    int skipped = 0, total = 0;
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        /* ATR lines start in column 0; descriptions start with a tab. */
        if (line[0] == '#' || line[0] == '\t' || line[0] == '\n' || line[0] == '\r')
            continue;
        uint8_t b[256];
        size_t n;
        if (strstr(line, "..") || hex_decode(line, strlen(line), b, sizeof b, &n) != HEX_OK) {
            skipped++;
            continue;
        }
        total++;
        check_one(b, n, counts);
    }
    fclose(f);
    print_message(
        "%d ATRs, %d valid, %d invalid (%d incomplete, %d TCK mismatch, %d bad IFSC, "
        "%d trailing bytes, %d other); %d wildcard lines skipped\n",
        total, counts[ATR_OK], total - counts[ATR_OK], counts[ATR_ERR_INCOMPLETE],
        counts[ATR_ERR_TCK_MISMATCH], counts[ATR_ERR_BAD_IFSC], counts[ATR_ERR_TRAILING_BYTES],
        total - counts[ATR_OK] - counts[ATR_ERR_INCOMPLETE] - counts[ATR_ERR_TCK_MISMATCH] -
            counts[ATR_ERR_BAD_IFSC] - counts[ATR_ERR_TRAILING_BYTES],
        skipped);
    /* The list has thousands of literal ATRs, nearly all well formed. */
    assert_true(total > 3000);
    assert_true(counts[ATR_OK] > total * 9 / 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(whole_pcsc_tools_list),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * The reader's contactless slot (CCID slot 1) against the virtual cards in
 * its RF field, through the whole stack: polling and activation of Type A
 * and Type B (ISO/IEC 14443-3), RATS / PPS / ATTRIB and the block protocol
 * (14443-4), the PC/SC Part 3 ATR the host sees (the Moroccan and Algerian
 * identity cards' ATRs from pcsc-tools' list, byte for byte), extended
 * APDUs over chained frames, two cards at once, a card leaving the field in
 * the middle of an exchange, and a front end without a CRC engine.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "sim_env.h"

#define TIMEOUT_MS 20000

static struct sim_env env;

static int teardown(void **state)
{
    (void)state;
    sim_env_stop(&env);
    return 0;
}

/* Waits until the reader says the contactless slot holds a card (or not). */
static void wait_cl(bool present)
{
    for (int i = 0; i < 50 && env.link.cl_present != present; i++)
        ccid_link_wait_notify(&env.link, TIMEOUT_MS);
    assert_int_equal(env.link.cl_present, present);
}

static void start(const char *persona, const char *const *reader_args)
{
    assert_int_equal(sim_env_start_rf(&env, persona, true, reader_args), 0);
    wait_cl(true);
    env.link.slot = 1;
}

static void power_on(const uint8_t *want, size_t n)
{
    uint8_t atr[64];
    size_t len;
    assert_int_equal(
        ccid_link_power_on(&env.link, CCID_POWER_AUTO, atr, sizeof atr, &len, TIMEOUT_MS),
        CCID_LINK_OK);
    assert_int_equal(len, n);
    assert_memory_equal(atr, want, n);
}

static void xfr(const uint8_t *apdu, size_t n, uint8_t *resp, size_t cap, size_t *rlen)
{
    enum ccid_link_err e = ccid_link_xfr(&env.link, apdu, n, resp, cap, rlen, TIMEOUT_MS);
    if (e != CCID_LINK_OK)
        fail_msg("XfrBlock: %s (bError %u)", ccid_link_err_str(e), env.link.berror);
}

static const uint8_t select_bench[] = {0x00, 0xA4, 0x02, 0x0C, 0x02, 0x0F, 0x0F};

/* READ BINARY of EF.BENCH (byte i is i mod 256) at offset off for le bytes. */
static void read_bench(size_t off, size_t le, bool extended)
{
    static uint8_t resp[70000];
    uint8_t cmd[7] = {0x00, 0xB0, (uint8_t)(off >> 8), (uint8_t)off};
    size_t n = 5, rlen;
    if (extended) {
        cmd[4] = 0x00;
        cmd[5] = (uint8_t)(le >> 8);
        cmd[6] = (uint8_t)le;
        n = 7;
    } else {
        cmd[4] = (uint8_t)le;
    }
    xfr(cmd, n, resp, sizeof resp, &rlen);
    assert_int_equal(rlen, le + 2);
    for (size_t i = 0; i < le; i++)
        assert_int_equal(resp[i], (uint8_t)(off + i));
    assert_int_equal(resp[le], 0x90);
}

static void morocco_type_a(void **state)
{
    (void)state;
    start("morocco-cl", NULL);
    /* ATS historical bytes 80 73 84 21 C0 -> the card's PC/SC ATR */
    const uint8_t atr[] = {0x3B, 0x85, 0x80, 0x01, 0x80, 0x73, 0x84, 0x21, 0xC0, 0x92};
    power_on(atr, sizeof atr);
    uint8_t resp[16];
    size_t rlen;
    xfr(select_bench, sizeof select_bench, resp, sizeof resp, &rlen);
    assert_int_equal(rlen, 2);
    assert_int_equal(resp[0], 0x90);
    /* 4 KiB in one extended READ BINARY: 17 I-blocks chained from the card */
    read_bench(0, 4096, true);
    read_bench(100, 256, false);
    read_bench(7000, 1192, true);
    /* PPS took both directions to 848 kbit/s (TA 77) */
    assert_int_equal(sim_env_stat(&env, "rf_dsi"), 3);
    assert_int_equal(sim_env_stat(&env, "rf_dri"), 3);
    assert_int_equal(sim_env_stat(&env, "rf_apdus"), 4);

    /* A command chained by the reader: 1000 bytes of SELECT data (the card refuses it). */
    static uint8_t big[1010];
    big[1] = 0xA4;
    big[2] = 0x04;
    big[4] = 0x00;
    big[5] = 0x03;
    big[6] = 0xE8;
    xfr(big, 7 + 1000, resp, sizeof resp, &rlen);
    assert_int_equal(rlen, 2);
    assert_int_equal(resp[0] & 0xF0, 0x60);
    assert_int_equal(sim_env_stat(&env, "rf_apdus"), 5);

    assert_int_equal(ccid_link_power_off(&env.link, TIMEOUT_MS), CCID_LINK_OK);
    /* powered again: a fresh activation, the same ATR */
    power_on(atr, sizeof atr);
    xfr(select_bench, sizeof select_bench, resp, sizeof resp, &rlen);
    read_bench(0, 200, false);
}

static void algeria_type_b(void **state)
{
    (void)state;
    start("algeria-cl", NULL);
    const uint8_t atr[] = {0x3B, 0x88, 0x80, 0x01, 0xE1, 0x68, 0x6C,
                           0x17, 0x77, 0x83, 0x95, 0x00, 0x9A};
    power_on(atr, sizeof atr);
    uint8_t resp[300];
    size_t rlen;
    xfr(select_bench, sizeof select_bench, resp, sizeof resp, &rlen);
    assert_int_equal(resp[0], 0x90);
    /* a short card holding 224 response bytes: 224 comes whole (FSD 256: one frame) */
    read_bench(0, 224, false);
    read_bench(1000, 224, false);
    /* ATTRIB set 848 kbit/s both ways (protocol info 77) */
    assert_int_equal(sim_env_stat(&env, "rf_dsi"), 3);
    assert_int_equal(sim_env_stat(&env, "rf_dri"), 3);
    /* its EF.ATR/INFO (SFI 1) says so: 7F66, command APDUs 261, response APDUs 226 */
    const uint8_t read_atr_info[] = {0x00, 0xB0, 0x81, 0x00, 0x00};
    xfr(read_atr_info, sizeof read_atr_info, resp, sizeof resp, &rlen);
    const uint8_t info[] = {0x7F, 0x66, 0x08, 0x02, 0x02, 0x01, 0x05, 0x02, 0x02, 0x00, 0xE2};
    assert_int_equal(rlen, sizeof info + 2);
    assert_memory_equal(resp, info, sizeof info);
}

static void slow_front_end_soft_crc(void **state)
{
    (void)state;
    static const char *const args[] = {"--rf-max-kbps", "106", "--rf-soft-crc", NULL};
    start("morocco-cl-only", args);
    const uint8_t atr[] = {0x3B, 0x85, 0x80, 0x01, 0x80, 0x73, 0x84, 0x21, 0xC0, 0x92};
    power_on(atr, sizeof atr);
    uint8_t resp[16];
    size_t rlen;
    xfr(select_bench, sizeof select_bench, resp, sizeof resp, &rlen);
    read_bench(0, 1000, true);
    assert_int_equal(sim_env_stat(&env, "rf_dsi"), 0);
    assert_int_equal(sim_env_stat(&env, "rf_dri"), 0);
}

static void two_cards_in_the_field(void **state)
{
    (void)state;
    start("morocco-cl", NULL);
    char reply[256];
    /* a second card joins: the reader goes on with the one it has */
    assert_int_equal(sim_env_control(&env, "tap morocco-cl-only", reply, sizeof reply), 0);
    const uint8_t atr[] = {0x3B, 0x85, 0x80, 0x01, 0x80, 0x73, 0x84, 0x21, 0xC0, 0x92};
    power_on(atr, sizeof atr);
    uint8_t resp[16];
    size_t rlen;
    xfr(select_bench, sizeof select_bench, resp, sizeof resp, &rlen);
    /* power off and on: a new activation with both in the field, anticollision
     * between UID 08 5A 91 C3 and CL1 88 04 9C 49 picks one; both read alike */
    assert_int_equal(sim_env_stat(&env, "rf_collisions"), 0);
    assert_int_equal(ccid_link_power_off(&env.link, TIMEOUT_MS), CCID_LINK_OK);
    power_on(atr, sizeof atr);
    assert_true(sim_env_stat(&env, "rf_collisions") >= 1);
    xfr(select_bench, sizeof select_bench, resp, sizeof resp, &rlen);
    read_bench(0, 300, true);
}

/* A Type A and a Type B card in the field together: polling (WUPA, then
 * WUPB) activates one and the host reads it; when it leaves, the presence
 * check sees it gone and the next poll finds the other type, whose ATR the
 * host then gets, and reads it too. */
static void type_a_and_type_b_together(void **state)
{
    (void)state;
    start("morocco-cl", NULL);
    char reply[256];
    assert_int_equal(sim_env_control(&env, "tap algeria-cl", reply, sizeof reply), 0);
    const uint8_t atr_a[] = {0x3B, 0x85, 0x80, 0x01, 0x80, 0x73, 0x84, 0x21, 0xC0, 0x92};
    const uint8_t atr_b[] = {0x3B, 0x88, 0x80, 0x01, 0xE1, 0x68, 0x6C,
                             0x17, 0x77, 0x83, 0x95, 0x00, 0x9A};
    uint8_t resp[16];
    size_t rlen;
    /* a power-off and on: activation with both in the field */
    assert_int_equal(ccid_link_power_off(&env.link, TIMEOUT_MS), CCID_LINK_OK);
    power_on(atr_a, sizeof atr_a);
    xfr(select_bench, sizeof select_bench, resp, sizeof resp, &rlen);
    read_bench(0, 200, true);
    /* the Type A card goes; the Type B one stays */
    assert_int_equal(sim_env_control(&env, "leave-after-frames 0", reply, sizeof reply), 0);
    assert_int_equal(ccid_link_power_off(&env.link, TIMEOUT_MS), CCID_LINK_OK);
    for (int i = 0; i < 50 && !(env.link.cl_present && env.link.taps >= 2); i++)
        ccid_link_wait_notify(&env.link, TIMEOUT_MS);
    power_on(atr_b, sizeof atr_b);
    xfr(select_bench, sizeof select_bench, resp, sizeof resp, &rlen);
    read_bench(0, 224, false);
}

/* The card leaves the field after N more frames, for every frame of a 4 KiB
 * read (the command and 16 R(ACK) while the card chains its answer): the
 * exchange fails with a named error, the reader reports the slot empty, and
 * the next tap works. */
static void card_leaves_mid_exchange(void **state)
{
    (void)state;
    start("morocco-cl", NULL);
    const uint8_t atr[] = {0x3B, 0x85, 0x80, 0x01, 0x80, 0x73, 0x84, 0x21, 0xC0, 0x92};
    uint8_t resp[8000];
    size_t rlen;
    char reply[256], cmd[64];
    const uint8_t read4k[] = {0x00, 0xB0, 0x00, 0x00, 0x00, 0x10, 0x00};
    unsigned failures = 0;
    for (int n = 0; n <= 18; n++) {
        power_on(atr, sizeof atr);
        xfr(select_bench, sizeof select_bench, resp, sizeof resp, &rlen);
        snprintf(cmd, sizeof cmd, "leave-after-frames %d", n);
        assert_int_equal(sim_env_control(&env, cmd, reply, sizeof reply), 0);
        enum ccid_link_err e =
            ccid_link_xfr(&env.link, read4k, sizeof read4k, resp, sizeof resp, &rlen, TIMEOUT_MS);
        if (n >= 17) {
            /* it left after the answer was complete: the presence check sees it gone */
            assert_int_equal(e, CCID_LINK_OK);
            assert_int_equal(rlen, 4098);
        } else {
            assert_int_equal(e, CCID_LINK_ERR_FAILED);
            assert_int_equal(env.link.berror, CCID_BERROR_ICC_MUTE);
            failures++;
        }
        wait_cl(false);
        assert_int_equal(sim_env_control(&env, "tap", reply, sizeof reply), 0);
        wait_cl(true);
    }
    assert_int_equal(failures, 17);
}

/* A copy of the persona file in which `id` takes this long to select a file
 * and to read one (persona timing: select_us, read_binary_us). */
static void slow_personas(const char *id, unsigned long select_us, unsigned long read_us,
                          char *path, size_t cap)
{
    FILE *in = fopen(getenv("HAWIYA_PERSONAS"), "rb");
    assert_non_null(in);
    static char json[1 << 20], out[(1 << 20) + 256];
    size_t n = fread(json, 1, sizeof json - 1, in);
    fclose(in);
    json[n] = '\0';
    char key[64];
    snprintf(key, sizeof key, "\"id\": \"%s\",", id);
    char *at = strstr(json, key);
    assert_non_null(at);
    at += strlen(key);
    snprintf(out, sizeof out, "%.*s \"timing\": {\"select_us\": %lu, \"read_binary_us\": %lu},%s",
             (int)(at - json), json, select_us, read_us, at);
    snprintf(path, cap, "/tmp/hawiya-personas-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(out, 1, strlen(out), f), strlen(out));
    fclose(f);
}

/* The span of simulated time on the air from rf-mark to the end of the last answer. */
static long long span_ns(void)
{
    return sim_env_stat(&env, "rf_span_ns");
}

static void mark(void)
{
    char reply[64];
    assert_int_equal(sim_env_control(&env, "rf-mark", reply, sizeof reply), 0);
}

/* Frame waiting time and S(WTX) in simulated time (14443-4 7.2), on the
 * Algerian-style Type B card (FWI 9: FWT = 2^9 x 4096 / fc = 154.66 ms):
 * a card that answers within FWT asks for nothing; one that works 1 s asks
 * for one extension; one that works 7 s, beyond the 4.95 s FWTmax that caps
 * any FWT x WTXM, asks for what the reader will grant and then again, and
 * its answer comes whole, 7 s after the command. */
static void waiting_time_extensions(void **state)
{
    (void)state;
    static const struct {
        unsigned long read_us;
        long long wtx_min, wtx_max;
    } cases[] = {{100000, 0, 0}, {1000000, 1, 1}, {7000000, 2, 4}};
    const uint64_t fwt = 154655000; /* 2^9 x 4096 / 13.56 MHz, ns (rounded down) */
    const uint8_t atr[] = {0x3B, 0x88, 0x80, 0x01, 0xE1, 0x68, 0x6C,
                           0x17, 0x77, 0x83, 0x95, 0x00, 0x9A};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[64];
        slow_personas("algeria-cl", 100000, cases[i].read_us, path, sizeof path);
        char *saved = strdup(getenv("HAWIYA_PERSONAS"));
        setenv("HAWIYA_PERSONAS", path, 1);
        start("algeria-cl", NULL);
        setenv("HAWIYA_PERSONAS", saved, 1);
        free(saved);
        unlink(path);
        power_on(atr, sizeof atr);
        uint8_t resp[16];
        size_t rlen;
        /* 100 ms of work, under FWT: no extension */
        mark();
        xfr(select_bench, sizeof select_bench, resp, sizeof resp, &rlen);
        assert_int_equal(sim_env_stat(&env, "rf_wtx"), 0);
        long long sel = span_ns();
        assert_true(sel >= 100000000 && (uint64_t)sel < fwt);

        mark();
        read_bench(0, 200, false);
        long long span = span_ns(), wtx = sim_env_stat(&env, "rf_wtx");
        print_message("READ BINARY with %lu us of card time: %lld S(WTX), %.3f ms on the channel\n",
                      cases[i].read_us, wtx, (double)span / 1e6);
        /* 7 s: no single extension reaches that far (FWTmax), nor should
         * the card ask more than every half extension */
        assert_in_range(wtx, cases[i].wtx_min, cases[i].wtx_max);
        /* the answer follows the card's work by its frames' air time only
         * (848 kbit/s: a 214-byte frame and a few WTX exchanges, well under 5 ms) */
        assert_true(span >= (long long)cases[i].read_us * 1000);
        assert_true(span < (long long)cases[i].read_us * 1000 + 5000000);
        sim_env_stop(&env);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(morocco_type_a, teardown),
        cmocka_unit_test_teardown(algeria_type_b, teardown),
        cmocka_unit_test_teardown(slow_front_end_soft_crc, teardown),
        cmocka_unit_test_teardown(two_cards_in_the_field, teardown),
        cmocka_unit_test_teardown(type_a_and_type_b_together, teardown),
        cmocka_unit_test_teardown(card_leaves_mid_exchange, teardown),
        cmocka_unit_test(waiting_time_extensions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Contactless soak: 10,000 APDU exchanges between the sim reader's
 * contactless slot and a card in its field, the Moroccan-style Type A card
 * (848 kbit/s, FSC 256, extended lengths) and the Algerian-style Type B card
 * (848 kbit/s, short APDUs), with a noisy RF channel: a frame error rate of 1e-3
 * (frames lost either way, bits flipped so that CRC or parity fails, answers
 * arriving after the reader stopped waiting; fixed seed), and the card
 * leaving the field now and then, between exchanges and in the middle of
 * them (after a random number of frames).
 *
 * As in the contact soak: every exchange either returns exactly the
 * expected response or fails with a named CCID error (USB CCID 1.1
 * §6.2.6); a corrupted response delivered as data fails the test; after
 * each departure the next tap is served. The counts are printed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sim_env.h"

#define EXCHANGES  10000
#define TIMEOUT_MS 20000

static struct sim_env env;

static int teardown(void **state)
{
    (void)state;
    sim_env_stop(&env);
    return 0;
}

static uint64_t prng_state;

static uint32_t prng(void)
{
    prng_state = prng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(prng_state >> 33);
}

struct counts {
    unsigned ok, failed, power_ons, power_on_failures, departures, mid_departures;
    unsigned berror[256];
};

static void wait_cl(bool present)
{
    for (int i = 0; i < 100 && env.link.cl_present != present; i++)
        ccid_link_wait_notify(&env.link, TIMEOUT_MS);
    assert_int_equal(env.link.cl_present, present);
}

/* Powers the card on and selects EF.BENCH, retrying while faults spoil it. */
static void bring_up(struct counts *c)
{
    if (sim_env_bring_up(&env, 20, TIMEOUT_MS, &c->power_ons, &c->power_on_failures) != 0)
        fail_msg("the reader could not bring the card up in 20 tries");
}

static void tap_again(struct counts *c)
{
    char reply[64];
    wait_cl(false);
    assert_int_equal(sim_env_control(&env, "tap", reply, sizeof reply), 0);
    wait_cl(true);
    bring_up(c);
}

/* persona: the card; short_max: the longest short read it serves; extended:
 * whether it takes extended lengths (one read in eight is then extended). */
static void soak_card(const char *persona, unsigned short_max, bool extended)
{
    const char *seed = getenv("HAWIYA_SOAK_SEED") ? getenv("HAWIYA_SOAK_SEED") : "14443";
    prng_state = strtoull(seed, NULL, 0);
    const char *const args[] = {
        "--rf-fault-rate", "0.001", "--rf-fault-seed", seed, "--rf-fault-kinds",
        "lost,crc,late",   NULL};
    assert_int_equal(sim_env_start_rf(&env, persona, true, args), 0);
    wait_cl(true);
    env.link.slot = 1;
    struct counts c = {0};
    bring_up(&c);
    long long frames0 = sim_env_stat(&env, "rf_frames");

    static uint8_t resp[2100];
    for (int i = 0; i < EXCHANGES; i++) {
        uint32_t r = prng();
        char reply[64], cmd[64];
        if (r % 1000 == 0) {
            /* out of the field between two exchanges */
            assert_int_equal(sim_env_control(&env, "leave", reply, sizeof reply), 0);
            c.departures++;
            tap_again(&c);
        }
        bool mid = r % 1000 == 1;
        if (mid) {
            /* out of the field within the next exchange's first frames */
            snprintf(cmd, sizeof cmd, "leave-after-frames %u", prng() % 4);
            assert_int_equal(sim_env_control(&env, cmd, reply, sizeof reply), 0);
            c.mid_departures++;
        }

        /* short reads, and one in eight extended (chained over several frames) */
        unsigned off = prng() % 6000, len = 1 + prng() % short_max;
        uint8_t apdu[7] = {0x00, 0xB0, (uint8_t)(off >> 8), (uint8_t)off, (uint8_t)len};
        size_t alen = 5;
        if (prng() % 8 == 0 && extended) {
            len = 257 + prng() % 1800;
            apdu[4] = 0x00;
            apdu[5] = (uint8_t)(len >> 8);
            apdu[6] = (uint8_t)len;
            alen = 7;
        }
        size_t n;
        enum ccid_link_err e =
            ccid_link_xfr(&env.link, apdu, alen, resp, sizeof resp, &n, TIMEOUT_MS);
        if (e == CCID_LINK_OK) {
            if (n != len + 2)
                fail_msg("exchange %d: %zu bytes, SW %02X%02X", i, n, resp[n - 2], resp[n - 1]);
            for (unsigned k = 0; k < len; k++)
                if (resp[k] != (uint8_t)(off + k))
                    fail_msg("exchange %d: corrupted byte %u delivered as data", i, k);
            assert_int_equal(resp[len], 0x90);
            assert_int_equal(resp[len + 1], 0x00);
            c.ok++;
        } else {
            assert_int_equal(e, CCID_LINK_ERR_FAILED);
            assert_int_equal(ccid_status_command(env.link.status), CCID_CMD_FAILED);
            c.failed++;
            c.berror[env.link.berror]++;
        }
        if (mid) {
            tap_again(&c);
            continue;
        }
        enum ccid_icc_status icc;
        assert_int_equal(ccid_link_slot_status(&env.link, &icc, TIMEOUT_MS), CCID_LINK_OK);
        if (icc != CCID_ICC_PRESENT_ACTIVE)
            bring_up(&c); /* the reader gave the card up or reset it */
    }
    long long frames = sim_env_stat(&env, "rf_frames") - frames0;

    printf("contactless soak (%s): %d exchanges, %u exact, %u named errors; %u departures between "
           "and %u during exchanges; %u power-ons (%u failed); %lld frames from the reader\n",
           persona, EXCHANGES, c.ok, c.failed, c.departures, c.mid_departures, c.power_ons,
           c.power_on_failures, frames);
    for (int b = 0; b < 256; b++)
        if (c.berror[b])
            printf("contactless soak:   bError 0x%02X %s: %u\n", b, ccid_berror_str((uint8_t)b),
                   c.berror[b]);
    /* 14443-4 error recovery (7.5.6) must save nearly every exchange the noise hits. */
    assert_true(c.ok >= EXCHANGES * 99 / 100);
}

/* The Moroccan-style Type A card (extended lengths, 848 kbit/s, FSC 256), and
 * the Algerian-style Type B one (short APDUs of at most 224 response bytes,
 * FWI 9, CID). */
static void soak(void **state)
{
    (void)state;
    soak_card("morocco-cl", 256, true);
}

static void soak_type_b(void **state)
{
    (void)state;
    soak_card("algeria-cl", 224, false);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(soak, teardown),
        cmocka_unit_test_teardown(soak_type_b, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

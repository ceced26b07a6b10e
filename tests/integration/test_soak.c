/*
 * Soak: 10,000 APDU exchanges between the sim reader and the virtual card
 * (the Moroccan CNIE persona, T=1) with a noisy card line (a character error rate of 1e-3: flipped
 * bits, dropped and duplicated characters, fixed seed) and random card removals, between exchanges
 * and in the middle of them.
 *
 * Every exchange must either return exactly the expected response or fail
 * with a named CCID error (USB CCID 1.1 §6.2.6); a corrupted response
 * delivered as data fails the test. After each removal the next card must be
 * served. The counts are printed.
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
#define TIMEOUT_MS 10000

static struct sim_env env;

static int teardown(void **state)
{
    sim_env_stop(&env);
    return 0;
}

static uint64_t prng_state = 0x5eed;

static uint32_t prng(void)
{
    prng_state = prng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(prng_state >> 33);
}

struct counts {
    unsigned ok, failed, power_ons, power_on_failures, removals, mid_removals;
    unsigned berror[256];
};

/* Powers the card on and selects EF.BENCH, retrying while faults spoil it. */
static void bring_up(struct counts *c)
{
    if (sim_env_bring_up(&env, 20, TIMEOUT_MS, &c->power_ons, &c->power_on_failures) != 0)
        fail_msg("the reader could not bring the card up in 20 tries");
}

static void reinsert(struct counts *c)
{
    char reply[64];
    assert_int_equal(sim_env_control(&env, "insert", reply, sizeof reply), 0);
    do
        assert_true(ccid_link_wait_notify(&env.link, TIMEOUT_MS));
    while (!env.link.card_present);
    bring_up(c);
}

static void soak(void **state)
{
    /* A fixed seed by default, so a failure replays; HAWIYA_SOAK_SEED explores others. */
    const char *seed = getenv("HAWIYA_SOAK_SEED") ? getenv("HAWIYA_SOAK_SEED") : "20261121";
    prng_state = strtoull(seed, NULL, 0);
    const char *const args[] = {"--fault-rate",  "0.001", "--fault-seed", seed, "--fault-kinds",
                                "flip,drop,dup", NULL};
    /* The CNIE speaks T=1 only, so even a PPS spoilt by the noise leaves it on
     * T=1 (at default speed), whose EDC and block framing catch every fault.
     * T=0 has no check that could catch a dropped or doubled character. */
    assert_int_equal(sim_env_start(&env, "morocco-cnie", args), 0);
    struct counts c = {0};
    bring_up(&c);

    static uint8_t resp[600];
    for (int i = 0; i < EXCHANGES; i++) {
        uint32_t r = prng();
        char reply[64];
        if (r % 1000 == 0) {
            /* Out of the slot between two exchanges. */
            assert_int_equal(sim_env_control(&env, "remove", reply, sizeof reply), 0);
            c.removals++;
            reinsert(&c);
        }
        bool mid = r % 1000 == 1;
        if (mid) {
            /* Out of the slot 1 ms into the next exchange (the card needs 4 ms). */
            assert_int_equal(sim_env_control(&env, "remove-after 1", reply, sizeof reply), 0);
            c.mid_removals++;
        }

        unsigned off = prng() % 7000, len = 1 + prng() % 256;
        uint8_t apdu[] = {0x00, 0xB0, (uint8_t)(off >> 8), (uint8_t)off, (uint8_t)len};
        size_t n;
        enum ccid_link_err e =
            ccid_link_xfr(&env.link, apdu, sizeof apdu, resp, sizeof resp, &n, TIMEOUT_MS);
        if (e == CCID_LINK_OK) {
            /* Data delivered: it must be exactly the file's bytes and 90 00. */
            if (n != len + 2)
                fail_msg("exchange %d: %zu bytes, SW %02X%02X", i, n, resp[n - 2], resp[n - 1]);
            for (unsigned k = 0; k < len; k++)
                if (resp[k] != (uint8_t)(off + k))
                    fail_msg("exchange %d: corrupted byte %u delivered as data", i, k);
            assert_int_equal(resp[len], 0x90);
            assert_int_equal(resp[len + 1], 0x00);
            c.ok++;
        } else {
            /* A named failure, never a broken link. */
            assert_int_equal(e, CCID_LINK_ERR_FAILED);
            assert_int_equal(ccid_status_command(env.link.status), CCID_CMD_FAILED);
            c.failed++;
            c.berror[env.link.berror]++;
        }
        if (mid) {
            reinsert(&c);
            continue;
        }
        enum ccid_icc_status icc;
        assert_int_equal(ccid_link_slot_status(&env.link, &icc, TIMEOUT_MS), CCID_LINK_OK);
        if (icc != CCID_ICC_PRESENT_ACTIVE)
            bring_up(&c); /* the reader deactivated a card it could not talk to */
    }

    printf("soak: %d exchanges, %u exact, %u named errors; %u removals between and %u during "
           "exchanges; %u power-ons (%u failed)\n",
           EXCHANGES, c.ok, c.failed, c.removals, c.mid_removals, c.power_ons, c.power_on_failures);
    for (int b = 0; b < 256; b++)
        if (c.berror[b])
            printf("soak:   bError 0x%02X %s: %u\n", b, ccid_berror_str((uint8_t)b), c.berror[b]);
    /* T=1 error recovery (7816-3 §11.6.3) must save most exchanges. */
    assert_true(c.ok >= EXCHANGES * 95 / 100);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(soak, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Our USB CCID reader under the real PC/SC stack: the sim board's USB device
 * (firmware/include/usb_ccid.h) reaches a QEMU guest through usbredir, and
 * inside it Debian's own pcscd and libccid, configured as an administrator
 * would (tests/usb/guest_image.sh), enumerate it by its VID:PID and drive
 * it for tests/usb/guest_pcsc.c: descriptors, ATR and T=1, APDUs of every
 * length short and extended, SCardControl to the reader's escape, card
 * removal and insertion, the reader unplugged and plugged in again
 * (bench_usb times the same path).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>

#include "guest.h"

static struct sim_env env;

static int teardown(void **state)
{
    (void)state;
    sim_env_stop(&env);
    return 0;
}

static void pcscd_and_libccid_drive_our_reader(void **state)
{
    (void)state;
    const char *personas = getenv("HAWIYA_USB_PERSONAS"), *client = getenv("HAWIYA_GUEST_PCSC");
    assert_non_null(personas);
    assert_non_null(client);
    assert_int_equal(sim_env_start_usbredir(&env, personas, "usb-sweep"), 0);
    const char *programs[] = {client, NULL};
    struct guest_result res;
    /* ATR of the persona usb-sweep (tests/usb/personas.json). */
    assert_int_equal(guest_run(&env, programs, "pcsc", "3B95968031FE458073B421402F", 600, &res), 0);
    fprintf(stderr, "guest: %.1f s from QEMU's start to its power-off\n", res.wall_s);
    assert_int_equal(res.exit_status, 0);
    /* pcscd may die only of the known libccid 1.5.2 unplug abort or be killed after its known
     * unplug hang, once per unplug, and the guest's client has carried on through the pcscd
     * started again (tests/usb/guest_pcscd.sh, docs/reader.md). */
    assert_int_equal(res.pcscd_other_exits, 0);
    assert_int_equal(res.pcscd_stuck_said, 0);
    assert_true(res.pcscd_known_crashes + res.pcscd_known_hangs <= res.unplugs);
    assert_int_equal(res.card_removals, 1);
    assert_int_equal(res.card_insertions, 1);
    assert_int_equal(res.unplugs, 1);
    assert_int_equal(res.plugs, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(pcscd_and_libccid_drive_our_reader, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

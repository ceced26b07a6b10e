/*
 * The bridge's PC/SC backend on our USB reader under the unmodified pcscd +
 * libccid, in the USB test guest (tests/usb/guest_pcsc_bridge.sh): the
 * bridge recognises our reader behind pcscd, runs its attested session
 * through SCardControl and libccid, and hears the reader unplugged and
 * plugged in again through pcscd's PnP notification. The assertion comes
 * back to the host and is verified here as the platform would, attested.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge_test.h"
#include "guest.h"

static struct sim_env env;
static struct guest_result res;

static int teardown(void **state)
{
    (void)state;
    sim_env_stop(&env);
    free(res.assertion);
    res.assertion = NULL;
    return 0;
}

static void bridge_takes_our_reader_through_pcscd(void **state)
{
    (void)state;
    const char *bridge = getenv("HAWIYA_BRIDGE"), *cli = getenv("HAWIYA_CLI"),
               *script = getenv("HAWIYA_GUEST_PCSC_BRIDGE"),
               *lister = getenv("HAWIYA_GUEST_PCSC"); /* "guest_pcsc list": pcscd's own list */
    assert_non_null(bridge);
    assert_non_null(lister);
    assert_non_null(cli);
    assert_non_null(script);
    /* Provisioned on the sim board's socket, then on USB with the same state. */
    assert_int_equal(sim_env_start(&env, "default", NULL), 0);
    assert_int_equal(sim_env_provision(&env), 0);
    assert_int_equal(sim_env_reader_usbredir(&env), 0);

    const char *programs[] = {bridge, cli, script, lister, NULL};
    assert_int_equal(guest_run(&env, programs, "guest_pcsc_bridge.sh", "", 600, &res), 0);
    fprintf(stderr, "guest: %.1f s from QEMU's start to its power-off\n", res.wall_s);
    assert_int_equal(res.exit_status, 0);
    /* pcscd may die only of the known libccid 1.5.2 unplug abort or be killed after its known
     * unplug hang, once per unplug, and the bridge has carried on through the pcscd started
     * again (tests/usb/guest_pcscd.sh, guest_pcsc_bridge.sh). */
    assert_int_equal(res.pcscd_other_exits, 0);
    assert_int_equal(res.pcscd_stuck_said, 0);
    assert_true(res.pcscd_known_crashes + res.pcscd_known_hangs <= res.unplugs);
    assert_int_equal(res.unplugs, 1);
    assert_int_equal(res.plugs, 1);
    assert_non_null(res.assertion);

    cJSON *a = cJSON_ParseWithLength(res.assertion, res.assertion_len);
    assert_non_null(a);
    char doc[32];
    bool attested = false;
    assert_int_equal(bt_verify(a, false, doc, sizeof doc, &attested), HV_OK);
    assert_true(attested);
    assert_string_equal(doc, "AB1234567");
    cJSON_Delete(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(bridge_takes_our_reader_through_pcscd, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

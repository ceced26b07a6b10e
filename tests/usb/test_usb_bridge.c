/*
 * The bridge's libusb backend (host/bridge/backend_usb.c) on our USB reader:
 * the sim board's USB device reaches a QEMU guest through usbredir, and in
 * the guest hawiya-bridge drives it over libusb with no pcscd
 * (tests/usb/guest_bridge.sh): it leaves the reader to pcscd while pcscd
 * holds it and says so, claims it once pcscd is gone, runs one attested
 * authentication through the reader's escape commands, hears the card
 * leave and come back on the interrupt pipe, and sees the reader unplugged
 * and takes it back when it is plugged in again. The assertion comes back to the
 * host and is verified here with libhawiya-verify against the test PKI.
 *
 * The reader has its contactless front end too: a dual-interface card is
 * tapped and authenticated over the field, and as the session ends (right
 * after the card's S(DESELECT)) another card takes its place, before the
 * reader's next poll. The reader finds a new UID in one poll and says so in
 * one NotifySlotChange (CCID 1.1 §6.3.1, slot 1's bits 2-3): 50 0C, present
 * and changed, the card still present for the bridge. Subscribers must hear
 * the first card removed, then the second inserted, and the second card's
 * session is its own (its CAN, its document).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guest.h"
#include "hawiya-verify.h"

#define ORIGIN "https://record.example"

static struct sim_env env;
static struct guest_result res;

static int teardown(void **state)
{
    (void)state;
    sim_env_stop(&env);
    free(res.assertion);
    free(res.assertion2);
    res.assertion = res.assertion2 = NULL;
    return 0;
}

/* The platform's check of one assertion: the document number it proves. */
static void verify_assertion(const char *json, size_t len, const char *doc)
{
    const char *pki = getenv("HAWIYA_PKI_DIR");
    char dir[600], reader_ca[700], msg[256];
    snprintf(dir, sizeof dir, "%s/csca", pki);
    snprintf(reader_ca, sizeof reader_ca, "%s/reader-ca/reader-ca.pem", pki);
    struct hv_trust *trust = hv_trust_new();
    assert_non_null(trust);
    assert_int_equal(hv_trust_load_csca_dir(trust, dir, msg, sizeof msg), HV_OK);
    assert_int_equal(hv_trust_load_reader_ca_file(trust, reader_ca, msg, sizeof msg), HV_OK);
    uint8_t challenge[32];
    for (int i = 0; i < 32; i++)
        challenge[i] = (uint8_t)i; /* the script's challenge: base64url of 00 01 .. 1F */
    struct hv_options opt = {.trust = trust,
                             .challenge = challenge,
                             .challenge_len = 32,
                             .origin = ORIGIN,
                             .now = {2026, 1, 1, 0, 0, 0}};
    struct hv_result vr;
    enum hv_err e = hv_verify(json, len, &opt, &vr);
    if (e != HV_OK)
        fprintf(stderr, "verify: %s\n%s\n", hv_err_str(e), json);
    assert_int_equal(e, HV_OK);
    assert_true(vr.attested);
    if (!strstr(vr.identity_json, doc))
        fail_msg("expected document %s: %s", doc, vr.identity_json);
    hv_result_free(&vr);
    hv_trust_free(trust);
}

static void bridge_drives_our_reader_over_libusb(void **state)
{
    (void)state;
    const char *bridge = getenv("HAWIYA_BRIDGE"), *cli = getenv("HAWIYA_CLI"),
               *script = getenv("HAWIYA_GUEST_BRIDGE"), *pki = getenv("HAWIYA_PKI_DIR");
    assert_non_null(bridge);
    assert_non_null(cli);
    assert_non_null(script);
    assert_non_null(pki);

    /* The reader gets its device certificate on the sim board's socket, as
     * at the manufacturer's station, then goes on USB with the same state. */
    assert_int_equal(sim_env_start_rf(&env, "default", false, NULL), 0);
    assert_int_equal(sim_env_provision(&env), 0);
    assert_int_equal(sim_env_reader_usbredir(&env), 0);

    const char *programs[] = {bridge, cli, script, NULL};
    assert_int_equal(guest_run(&env, programs, "guest_bridge.sh", "", 600, &res), 0);
    fprintf(stderr, "guest: %.1f s from QEMU's start to its power-off\n", res.wall_s);
    assert_int_equal(res.exit_status, 0);
    assert_int_equal(res.card_removals, 1);
    assert_int_equal(res.card_insertions, 1);
    assert_int_equal(res.unplugs, 1);
    assert_int_equal(res.plugs, 1);
    assert_int_equal(res.controls_failed, 0);
    assert_non_null(res.assertion);
    assert_non_null(res.assertion2);

    /* The swap in the field: what the bridge read on the interrupt pipe,
     * then what it told its subscriber, in order. */
    assert_int_equal(res.n_seen, 3);
    assert_string_equal(res.seen[0], "notify 50 0C");
    assert_string_equal(res.seen[1], "event {\"event\":\"card_removed\",\"reader\":\"u1\","
                                     "\"interface\":\"contactless\"}");
    assert_string_equal(res.seen[2], "event {\"event\":\"card_inserted\",\"reader\":\"u1\","
                                     "\"interface\":\"contactless\"}");

    /* The platform's check: the card's evidence and the reader's signature;
     * the second card's is its own. */
    verify_assertion(res.assertion, res.assertion_len, "AB1234567");
    verify_assertion(res.assertion2, res.assertion2_len, "EF1122334");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(bridge_drives_our_reader_over_libusb, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

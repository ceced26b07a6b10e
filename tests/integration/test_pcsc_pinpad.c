/*
 * The bridge's PC/SC backend on a PIN-pad reader that runs PACE itself (PC/SC
 * Part 10 AMD1 FEATURE_EXECUTE_PACE), in a real pcscd: the reader is
 * libifdtestpad.so (tests/support/ifd_testpad.c, pinpad.h's software keypad)
 * with our virtual eID on its vpcd link, in a private pcscd (pcscd_env.h).
 * The holder "types" the CAN on the reader (its reader.conf entry); the
 * request carries none. Checked: the reader is listed with pinpad_pace, the
 * authentication runs PACE by SCardControl on the reader's keypad and the
 * reads and Active Authentication through the reader's secure channel (no
 * Chip Authentication, whose keys the reader would not have), and the
 * unattested assertion verifies (only when unattested readers are allowed);
 * a wrong CAN typed on a second reader is CARD_AUTH_FAILED, named; a card
 * pulled out of a third in the middle of the reads is CARD_REMOVED.
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

#include "bridge_test.h"
#include "pcscd_env.h"

#define PAD       "Hawiya PIN pad"
#define WRONG_PAD "Hawiya wrong keypad"
#define PULLED    "Hawiya card pulled"

static struct pcscd_env pe;
static pid_t bridge = -1, card_ok = -1, card_wrong = -1, card_pulled = -1;
static char bsock[400];

static pid_t start_card(int port, const char *name)
{
    char host[64], log[400];
    snprintf(host, sizeof host, "127.0.0.1:%d", port);
    snprintf(log, sizeof log, "%s/%s.log", pe.dir, name);
    char *argv[] = {getenv("HAWIYA_VCARD"),
                    "--vpcd",
                    host,
                    "--personas",
                    getenv("HAWIYA_PERSONAS"),
                    "--pki",
                    getenv("HAWIYA_PKI_DIR"),
                    "--persona",
                    "default",
                    NULL};
    return pcscd_env_spawn(argv, log);
}

static int setup(void **state)
{
    (void)state;
    int port, port2;
    char conf[1600], bconf[400], blog[400];
    const char *lib = getenv("HAWIYA_IFD_TESTPAD");
    if (pcscd_env_init(&pe) < 0 || (port = pcscd_env_free_port_pair()) < 0 ||
        (port2 = pcscd_env_free_port_pair()) < 0 || port2 + 1 == port || port2 == port ||
        port2 == port + 1)
        return -1;
    /* The keypad's password is the reader's (its configuration), never the host's. The third
     * reader loses its card at the host's third APDU, after PACE: in the middle of the reads. */
    snprintf(conf, sizeof conf,
             "FRIENDLYNAME \"" PAD "\"\nDEVICENAME tcp:%d:123456\nLIBPATH %s\n\n"
             "FRIENDLYNAME \"" WRONG_PAD "\"\nDEVICENAME tcp:%d:654321\nLIBPATH %s\n\n"
             "FRIENDLYNAME \"" PULLED "\"\nDEVICENAME tcp:%d:123456:gone=3\nLIBPATH %s\n",
             port, lib, port + 1, lib, port2, lib);
    if (pcscd_env_conf(&pe, "testpad", conf) < 0 || pcscd_env_start(&pe) < 0) {
        fprintf(stderr, "cannot start pcscd (see %s)\n", pe.log);
        return -1;
    }
    card_ok = start_card(port, "card-ok");
    card_wrong = start_card(port + 1, "card-wrong");
    card_pulled = start_card(port2, "card-pulled");
    snprintf(bsock, sizeof bsock, "%s/bridge.sock", pe.dir);
    snprintf(blog, sizeof blog, "%s/bridge.log", pe.dir);
    snprintf(bconf, sizeof bconf, "%s/bridge.conf", pe.dir);
    FILE *f = fopen(bconf, "w");
    if (!f)
        return -1;
    fputs("origin = " BT_ORIGIN "\nreader = pcsc:pad:" PAD "\nreader = pcsc:wrongpad:" WRONG_PAD
          "\nreader = pcsc:pulled:" PULLED "\nlog_level = debug\n",
          f);
    fclose(f);
    bridge = bt_bridge_start(bconf, bsock, blog);
    if (card_ok <= 0 || card_wrong <= 0 || card_pulled <= 0 || bridge <= 0 ||
        !bt_wait_reader(bsock, "pad", "up", "present", 20000) ||
        !bt_wait_reader(bsock, "wrongpad", "up", "present", 20000) ||
        !bt_wait_reader(bsock, "pulled", "up", "present", 20000)) {
        fprintf(stderr, "the readers did not come up (see %s, %s)\n", blog, pe.log);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    bt_stop(&bridge);
    pcscd_env_kill(&card_ok);
    pcscd_env_kill(&card_wrong);
    pcscd_env_kill(&card_pulled);
    pcscd_env_cleanup(&pe);
    return 0;
}

static void reader_says_it_runs_pace(void **state)
{
    (void)state;
    int fd = bt_connect(bsock);
    cJSON *j = bt_call(fd, "{\"id\":1,\"method\":\"readers\"}\n");
    const cJSON *list = bt_get(j, "result.readers");
    int seen = 0;
    for (const cJSON *r = list ? list->child : NULL; r; r = r->next) {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(r, "name");
        if (!cJSON_IsString(name))
            continue;
        assert_true(cJSON_IsTrue(bt_get(r, "pinpad_pace")));
        assert_true(cJSON_IsFalse(bt_get(r, "attested")));
        seen++;
    }
    assert_int_equal(seen, 3);
    cJSON_Delete(j);
    close(fd);
}

static void pace_on_the_readers_keypad(void **state)
{
    (void)state;
    int fd = bt_connect(bsock);
    char line[600];
    /* No CAN, no MRZ: the reader has a keypad. */
    bt_auth_line(line, sizeof line, "k", ",\"reader\":\"pad\"");
    bt_send(fd, line);
    char steps[16][24];
    size_t n = 0;
    bool pace_on_keypad = false;
    cJSON *j;
    for (;;) {
        j = bt_read(fd, 60000);
        assert_non_null(j);
        if (!cJSON_GetObjectItemCaseSensitive(j, "event"))
            break;
        const cJSON *step = bt_find(j, "step");
        if (cJSON_IsString(step) && n < 16) {
            snprintf(steps[n++], sizeof steps[0], "%s", step->valuestring);
            const cJSON *d = bt_find(j, "detail");
            if (!strcmp(step->valuestring, "pace") && cJSON_IsString(d) &&
                !strcmp(d->valuestring, "on the reader's keypad"))
                pace_on_keypad = true;
        }
        cJSON_Delete(j);
    }
    assert_true(pace_on_keypad);
    /* PACE on the keypad, then the reads and AA through the reader's secure channel; no Chip
     * Authentication: its new session keys would be the host's, and the reader keeps the
     * channel (common/emrtd.c, sm_by_reader). */
    static const char *const want[] = {"queued", "started", "atr", "pace",
                                       "select", "read",    "aa",  NULL};
    size_t k = 0;
    for (size_t i = 0; i < n && want[k]; i++)
        if (!strcmp(steps[i], want[k]))
            k++;
    if (want[k])
        for (size_t i = 0; i < n; i++)
            fprintf(stderr, "step %zu: %s\n", i, steps[i]);
    assert_null(want[k]);

    const cJSON *res = bt_get(j, "result");
    assert_non_null(res);
    assert_true(cJSON_IsFalse(bt_get(res, "reader.attested")));
    char doc[32];
    bool attested = true;
    assert_int_equal(bt_verify(res, true, doc, sizeof doc, &attested), HV_OK);
    assert_string_equal(doc, "AB1234567");
    assert_false(attested);
    assert_int_equal(bt_verify(res, false, doc, sizeof doc, NULL), HV_ERR_UNATTESTED);
    cJSON_Delete(j);
    close(fd);
}

static void wrong_can_on_the_keypad(void **state)
{
    (void)state;
    int fd = bt_connect(bsock);
    char line[600];
    bt_auth_line(line, sizeof line, "w", ",\"reader\":\"wrongpad\"");
    cJSON *j = bt_call(fd, line);
    /* The card refuses PACE's mutual authentication (6300): the reader's dwResult F0046300. */
    bt_expect_error(j, "CARD_AUTH_FAILED",
                    "pace: the reader's PACE failed: the card refused General Authenticate 4 "
                    "(mutual authentication) (F0046300)");
    cJSON_Delete(j);
    close(fd);
}

static void card_pulled_mid_session(void **state)
{
    (void)state;
    int fd = bt_connect(bsock);
    char line[600];
    bt_auth_line(line, sizeof line, "p", ",\"reader\":\"pulled\"");
    cJSON *j = bt_call(fd, line);
    /* pcscd says SCARD_E_NO_SMARTCARD for the APDU that found no card, or SCARD_W_REMOVED_CARD
     * if its slot thread saw the card go first: both are the card removed. */
    const cJSON *code = bt_get(j, "error.code"), *msg = bt_get(j, "error.message");
    assert_true(cJSON_IsString(code) && cJSON_IsString(msg));
    fprintf(stderr, "pulled: %s: %s\n", code->valuestring, msg->valuestring);
    assert_string_equal(code->valuestring, "CARD_REMOVED");
    const char *tail = ": the card was removed";
    size_t ml = strlen(msg->valuestring), tl = strlen(tail);
    assert_true(ml > tl && !strcmp(msg->valuestring + ml - tl, tail));
    assert_true(strstr(msg->valuestring, "SCARD_E_NO_SMARTCARD") ||
                strstr(msg->valuestring, "SCARD_W_REMOVED_CARD"));
    cJSON_Delete(j);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reader_says_it_runs_pace),
        cmocka_unit_test(pace_on_the_readers_keypad),
        cmocka_unit_test(wrong_can_on_the_keypad),
        cmocka_unit_test(card_pulled_mid_session),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

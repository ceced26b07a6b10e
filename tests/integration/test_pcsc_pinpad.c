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
 * pulled out of a third in the middle of the reads is CARD_REMOVED; and on
 * readers without keypad that give their dwMaxAPDUDataSize (Part 10
 * FEATURE_GET_TLV_PROPERTIES: 65536, 1024) the bridge reads with extended
 * lengths of 4096 (its own maximum) and 992 (the reader's less secure
 * messaging's 32), decided once for the card.
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
#define EXT_BIG   "Hawiya extended reader"
#define EXT_SMALL "Hawiya 1 KiB reader"
#define CARD_ATR  "3B95968031FE458073B421402F" /* the default persona's: extended lengths */

static struct pcscd_env pe;
static pid_t bridge = -1, card_ok = -1, card_wrong = -1, card_pulled = -1, card_big = -1,
             card_small = -1;
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
    int port, port2, port3;
    char conf[2400], bconf[400], blog[400];
    const char *lib = getenv("HAWIYA_IFD_TESTPAD");
    if (pcscd_env_init(&pe) < 0 || (port = pcscd_env_free_port_pair()) < 0 ||
        (port2 = pcscd_env_free_port_pair()) < 0 || (port3 = pcscd_env_free_port_pair()) < 0 ||
        abs(port2 - port) < 2 || abs(port3 - port) < 2 || abs(port3 - port2) < 2)
        return -1;
    /* The keypad's password is the reader's (its configuration), never the host's. The third
     * reader loses its card at the host's third APDU, after PACE: in the middle of the reads. */
    snprintf(conf, sizeof conf,
             "FRIENDLYNAME \"" PAD "\"\nDEVICENAME tcp:%d:123456\nLIBPATH %s\n\n"
             "FRIENDLYNAME \"" WRONG_PAD "\"\nDEVICENAME tcp:%d:654321\nLIBPATH %s\n\n"
             "FRIENDLYNAME \"" PULLED "\"\nDEVICENAME tcp:%d:123456:gone=3\nLIBPATH %s\n\n"
             "FRIENDLYNAME \"" EXT_BIG "\"\nDEVICENAME tcp:%d:-:max=65536\nLIBPATH %s\n\n"
             "FRIENDLYNAME \"" EXT_SMALL "\"\nDEVICENAME tcp:%d:-:max=1024\nLIBPATH %s\n",
             port, lib, port + 1, lib, port2, lib, port2 + 1, lib, port3, lib);
    if (pcscd_env_conf(&pe, "testpad", conf) < 0 || pcscd_env_start(&pe) < 0) {
        fprintf(stderr, "cannot start pcscd (see %s)\n", pe.log);
        return -1;
    }
    card_ok = start_card(port, "card-ok");
    card_wrong = start_card(port + 1, "card-wrong");
    card_pulled = start_card(port2, "card-pulled");
    card_big = start_card(port2 + 1, "card-big");
    card_small = start_card(port3, "card-small");
    snprintf(bsock, sizeof bsock, "%s/bridge.sock", pe.dir);
    snprintf(blog, sizeof blog, "%s/bridge.log", pe.dir);
    snprintf(bconf, sizeof bconf, "%s/bridge.conf", pe.dir);
    FILE *f = fopen(bconf, "w");
    if (!f)
        return -1;
    fputs("origin = " BT_ORIGIN "\nreader = pcsc:pad:" PAD "\nreader = pcsc:wrongpad:" WRONG_PAD
          "\nreader = pcsc:pulled:" PULLED "\nreader = pcsc:big:" EXT_BIG
          "\nreader = pcsc:small:" EXT_SMALL "\nlog_level = debug\n",
          f);
    fclose(f);
    bridge = bt_bridge_start(bconf, bsock, blog);
    if (card_ok <= 0 || card_wrong <= 0 || card_pulled <= 0 || bridge <= 0 ||
        !bt_wait_reader(bsock, "pad", "up", "present", 20000) ||
        !bt_wait_reader(bsock, "wrongpad", "up", "present", 20000) ||
        !bt_wait_reader(bsock, "pulled", "up", "present", 20000) ||
        !bt_wait_reader(bsock, "big", "up", "present", 20000) ||
        !bt_wait_reader(bsock, "small", "up", "present", 20000)) {
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
    pcscd_env_kill(&card_big);
    pcscd_env_kill(&card_small);
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
        bool keypad = strcmp(name->valuestring, "big") && strcmp(name->valuestring, "small");
        assert_true(cJSON_IsBool(bt_get(r, "pinpad_pace")));
        assert_int_equal(cJSON_IsTrue(bt_get(r, "pinpad_pace")), keypad);
        assert_true(cJSON_IsFalse(bt_get(r, "attested")));
        seen++;
    }
    assert_int_equal(seen, 5);
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

/* A plain reader that says how large an APDU it carries (Part 10 dwMaxAPDUDataSize): the
 * bridge runs PACE itself with the CAN and reads with extended lengths up to that size less
 * the secure-messaging overhead (32), at most HOST_MAX_LE 4096, decided once for the card. */
static void extended_lengths_as_the_reader_allows(const char *reader, unsigned max,
                                                  const char *want_le)
{
    int fd = bt_connect(bsock);
    char line[600], want_atr[128];
    snprintf(line, sizeof line,
             "{\"id\":\"x\",\"method\":\"authenticate\",\"params\":{\"challenge\":\"" BT_CHALLENGE
             "\",\"origin\":\"" BT_ORIGIN "\",\"reader\":\"%s\",\"can\":\"123456\"}}\n",
             reader);
    bt_send(fd, line);
    snprintf(want_atr, sizeof want_atr, CARD_ATR " T=1 reader max APDU data %u, card extended",
             max);
    bool atr_ok = false, le_ok = false;
    cJSON *j;
    for (;;) {
        j = bt_read(fd, 60000);
        assert_non_null(j);
        if (!cJSON_GetObjectItemCaseSensitive(j, "event"))
            break;
        const cJSON *step = bt_find(j, "step"), *d = bt_find(j, "detail");
        if (cJSON_IsString(step) && cJSON_IsString(d)) {
            if (!strcmp(step->valuestring, "atr"))
                atr_ok = !strcmp(d->valuestring, want_atr);
            if (!strcmp(step->valuestring, "cardaccess"))
                le_ok = !strcmp(d->valuestring, want_le);
            if (!strcmp(step->valuestring, "atr") || !strcmp(step->valuestring, "cardaccess"))
                fprintf(stderr, "%s: %s: %s\n", reader, step->valuestring, d->valuestring);
        }
        cJSON_Delete(j);
    }
    assert_true(atr_ok);
    assert_true(le_ok);
    const cJSON *res = bt_get(j, "result");
    assert_non_null(res);
    char doc[32];
    assert_int_equal(bt_verify(res, true, doc, sizeof doc, NULL), HV_OK);
    assert_string_equal(doc, "AB1234567");
    cJSON_Delete(j);
    close(fd);
}

static void extended_up_to_4096(void **state)
{
    (void)state;
    extended_lengths_as_the_reader_allows("big", 65536, "extended length, Le 4096");
}

static void extended_within_the_readers_1024(void **state)
{
    (void)state;
    extended_lengths_as_the_reader_allows("small", 1024, "extended length, Le 992");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reader_says_it_runs_pace),
        cmocka_unit_test(pace_on_the_readers_keypad),
        cmocka_unit_test(wrong_can_on_the_keypad),
        cmocka_unit_test(card_pulled_mid_session),
        cmocka_unit_test(extended_up_to_4096),
        cmocka_unit_test(extended_within_the_readers_1024),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

/*
 * The bridge's PC/SC backend when the PC/SC world misbehaves under a
 * session (issue 11 §1), with our virtual eID behind vsmartcard's vpcd in a
 * private pcscd (pcscd_env.h):
 *   - another program resets the card: between two of the bridge's sessions
 *     and while the bridge waits for it (a real second PC/SC client: its
 *     shared connection, SCardReconnect and SCardDisconnect with
 *     SCARD_RESET_CARD), and, through the fault injector preloaded into the
 *     bridge (pcsc_shim.c), SCARD_W_RESET_CARD answered to the bridge's
 *     SCardBeginTransaction and in the middle of its APDUs with the card
 *     really reset: the bridge starts again from the ATR once and succeeds;
 *     reset again, it answers READER_ERROR naming SCARD_W_RESET_CARD; the
 *     reader serves the next request either way;
 *   - pcscd stops answering (SIGSTOP) in the middle of a session: the bridge
 *     answers that request TIMEOUT, naming the PC/SC call that does not
 *     return, by the request's deadline, serves `status` and `readers`
 *     meanwhile, and once pcscd runs again the reader serves the next
 *     request.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <PCSC/winscard.h>

#include "bridge_test.h"
#include "pcsc_client.h"
#include "pcscd_env.h"

#define CARD_CAN    "123456" /* the default persona's CAN (tests/data/personas.json) */
#define SLOT0       "Virtual PCD 00 00"
#define READER      "virtual-pcd-00-00"
#define DEFAULT_ATR "3B95968031FE458073B421402F"
#define AUTH        ",\"reader\":\"" READER "\",\"can\":\"" CARD_CAN "\""

static struct pcscd_env pe;
static pid_t vcard = -1, bridge = -1;
static char bsock[400], blog[400], shim_dir[400];

static int64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec d = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&d, NULL);
}

static void write_file(const char *path, const char *text)
{
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(rename(tmp, path), 0); /* the shim never reads half an order */
}

static void shim_order(const char *order)
{
    char path[500];
    snprintf(path, sizeof path, "%s/cmd", shim_dir);
    write_file(path, order);
}

static int setup(void **state)
{
    (void)state;
    int port;
    if (pcscd_env_init(&pe) < 0 || (port = pcscd_env_free_port_pair()) < 0 ||
        pcscd_env_vpcd(&pe, "vpcd", port) < 0 || pcscd_env_start(&pe) < 0) {
        fprintf(stderr, "cannot start pcscd (see %s)\n", pe.log);
        return -1;
    }
    char host[64], log[400], conf[400], asan[600];
    snprintf(host, sizeof host, "127.0.0.1:%d", port);
    snprintf(log, sizeof log, "%s/vcard.log", pe.dir);
    char *argv[] = {
        getenv("HAWIYA_VCARD"),   "--vpcd", host, "--personas", getenv("HAWIYA_PERSONAS"), "--pki",
        getenv("HAWIYA_PKI_DIR"), NULL};
    vcard = pcscd_env_spawn(argv, log);
    snprintf(shim_dir, sizeof shim_dir, "%s", pe.dir);
    snprintf(bsock, sizeof bsock, "%s/bridge.sock", pe.dir);
    snprintf(blog, sizeof blog, "%s/bridge.log", pe.dir);
    snprintf(conf, sizeof conf, "%s/bridge.conf", pe.dir);
    write_file(conf, "origin = " BT_ORIGIN "\npcsc = all\nlog_level = debug\n");
    /* The injector in the bridge only (before a sanitizer's runtime, which then
     * must not insist on coming first). */
    const char *was = getenv("ASAN_OPTIONS");
    snprintf(asan, sizeof asan, "%s%sverify_asan_link_order=0", was ? was : "", was ? ":" : "");
    char *saved = was ? strdup(was) : NULL;
    setenv("ASAN_OPTIONS", asan, 1);
    setenv("LD_PRELOAD", getenv("HAWIYA_PCSC_SHIM"), 1);
    setenv("HAWIYA_PCSC_SHIM_DIR", shim_dir, 1);
    bridge = bt_bridge_start(conf, bsock, blog);
    unsetenv("LD_PRELOAD");
    unsetenv("HAWIYA_PCSC_SHIM_DIR");
    if (saved)
        setenv("ASAN_OPTIONS", saved, 1);
    else
        unsetenv("ASAN_OPTIONS");
    free(saved);
    if (bridge <= 0 || !bt_wait_reader(bsock, READER, "up", "present", 20000)) {
        fprintf(stderr, "the reader did not come up (see %s, %s)\n", blog, pe.log);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (pe.pid > 0)
        kill(pe.pid, SIGCONT); /* a failed test may leave it stopped */
    bt_stop(&bridge);
    pcscd_env_kill(&vcard);
    pcscd_env_cleanup(&pe);
    return 0;
}

/* One authenticate: its answer, and how many times the bridge read the ATR. */
static cJSON *authenticate(int fd, const char *id, int *atr_steps)
{
    char line[600];
    bt_auth_line(line, sizeof line, id, AUTH);
    bt_send(fd, line);
    *atr_steps = 0;
    for (;;) {
        cJSON *j = bt_read(fd, 60000);
        assert_non_null(j);
        if (!cJSON_GetObjectItemCaseSensitive(j, "event"))
            return j;
        const cJSON *step = cJSON_GetObjectItemCaseSensitive(j, "step");
        if (cJSON_IsString(step) && !strcmp(step->valuestring, "atr")) {
            bt_expect_str(j, "detail", DEFAULT_ATR " T=1 reader max APDU data 0, card extended");
            (*atr_steps)++;
        }
        cJSON_Delete(j);
    }
}

/* An authenticate that must succeed: the assertion verifies. */
static void expect_verified(cJSON *j)
{
    if (!bt_find(j, "result")) {
        char *s = cJSON_PrintUnformatted(j);
        fail_msg("%s (see %s)", s, blog);
    }
    char doc[32];
    assert_int_equal(bt_verify(bt_get(j, "result"), true, doc, sizeof doc, NULL), HV_OK);
    assert_string_equal(doc, "AB1234567");
}

/* Another PC/SC program: a shared connection to the card, which it resets
 * (SCardReconnect) and leaves reset (SCardDisconnect) after hold_ms. */
static pid_t other_program_resets(int hold_ms)
{
    return pcsc_client_hold(SLOT0, SCARD_SHARE_SHARED, hold_ms, true);
}

static void expect_exit_0(pid_t pid)
{
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

static void reset_by_another_program(void **state)
{
    (void)state;
    int fd = bt_connect(bsock), atrs;
    cJSON *j = authenticate(fd, "r0", &atrs);
    expect_verified(j);
    cJSON_Delete(j);

    /* Between two sessions: the next one starts from the card's ATR again. */
    expect_exit_0(other_program_resets(0));
    j = authenticate(fd, "r1", &atrs);
    expect_verified(j);
    assert_int_equal(atrs, 1);
    cJSON_Delete(j);

    /* While the bridge waits for the card (SCARD_E_SHARING_VIOLATION for less
     * than its 3 s): it connects once the other program has reset it and gone. */
    pid_t other = other_program_resets(1000);
    j = authenticate(fd, "r2", &atrs);
    expect_verified(j);
    assert_int_equal(atrs, 1);
    cJSON_Delete(j);
    expect_exit_0(other);
    close(fd);
}

static void reset_answered_to_begin_transaction(void **state)
{
    (void)state;
    int fd = bt_connect(bsock), atrs;
    /* SCardBeginTransaction says the card was reset: reconnect, begin again. */
    shim_order("reset begin 1 1\n");
    cJSON *j = authenticate(fd, "b1", &atrs);
    expect_verified(j);
    cJSON_Delete(j);
    close(fd);
}

static void reset_in_the_middle_of_the_apdus(void **state)
{
    (void)state;
    int fd = bt_connect(bsock), atrs;
    /* Reset at the 5th APDU (PACE under way): the whole inspection again,
     * from the ATR, once. */
    shim_order("reset transmit 5 1\n");
    cJSON *j = authenticate(fd, "m1", &atrs);
    expect_verified(j);
    assert_int_equal(atrs, 2);
    cJSON_Delete(j);

    /* Reset in the second run too: named, not a third run. */
    shim_order("reset transmit 5 2\n");
    j = authenticate(fd, "m2", &atrs);
    assert_int_equal(atrs, 2);
    bt_expect_str(j, "error.code", "READER_ERROR");
    const char *msg = bt_get(j, "error.message")->valuestring;
    const char *tail = ": SCardTransmit: SCARD_W_RESET_CARD: another program reset the card";
    if (strlen(msg) < strlen(tail) || strcmp(msg + strlen(msg) - strlen(tail), tail) != 0)
        fail_msg("message: %s", msg);
    cJSON_Delete(j);

    /* The reader is usable at once. */
    j = authenticate(fd, "m3", &atrs);
    expect_verified(j);
    assert_int_equal(atrs, 1);
    cJSON_Delete(j);
    close(fd);
}

static bool file_exists_within(const char *path, int ms)
{
    for (int64_t end = now_ms() + ms; now_ms() < end; sleep_ms(10))
        if (access(path, F_OK) == 0)
            return true;
    return false;
}

/* `status` answers while a PC/SC call of the bridge is stuck. */
static void status_answers(void)
{
    int fd = bt_connect(bsock);
    bt_send(fd, "{\"id\":\"s\",\"method\":\"status\"}\n");
    cJSON *j = bt_read(fd, 60000); /* a hang detector, not a time bound */
    assert_non_null(j);
    bt_expect_str(j, "id", "s");
    bt_expect_num(j, "result.readers.configured", 2); /* vpcd's two slots */
    cJSON_Delete(j);
    j = bt_call(fd, "{\"id\":\"r\",\"method\":\"readers\"}\n");
    bt_expect_str(j, "result.readers.0.name", READER);
    cJSON_Delete(j);
    close(fd);
}

static void pcscd_stops_answering(void **state)
{
    (void)state;
    char paused[500], go[500], line[700];
    snprintf(paused, sizeof paused, "%s/paused", shim_dir);
    snprintf(go, sizeof go, "%s/go", shim_dir);
    int fd = bt_connect(bsock);
    /* The bridge stops before its 3rd APDU (EF.CardAccess read, PACE next)
     * until pcscd is stopped: its SCardTransmit then goes to a pcscd that
     * does not answer. */
    shim_order("pause transmit 3 1\n");
    const int timeout_ms = 5000;
    bt_auth_line(line, sizeof line, "stuck", AUTH ",\"timeout_ms\":5000");
    int64_t t0 = now_ms();
    bt_send(fd, line);
    assert_true(file_exists_within(paused, 60000));
    assert_int_equal(kill(pe.pid, SIGSTOP), 0);
    int64_t stopped = now_ms();
    write_file(go, "");

    status_answers();
    cJSON *j;
    for (;;) {
        j = bt_read(fd, 60000); /* a hang detector only */
        if (!j)
            fail_msg("no answer 60 s after pcscd stopped (see %s)", blog);
        if (!cJSON_GetObjectItemCaseSensitive(j, "event"))
            break;
        cJSON_Delete(j);
    }
    int64_t answered = now_ms();
    print_message("pcscd stopped: TIMEOUT %lld ms after the request (timeout_ms %d), %lld ms after "
                  "pcscd stopped\n",
                  (long long)(answered - t0), timeout_ms, (long long)(answered - stopped));
    bt_expect_str(j, "id", "stuck");
    /* Named: the call, how long it has waited, and why. */
    bt_expect_str(j, "error.code", "TIMEOUT");
    const char *msg = bt_get(j, "error.message")->valuestring;
    long long in_call = -1;
    int end = 0;
    if (sscanf(msg,
               "the card session took too long: SCardTransmit has not returned after %lld "
               "ms: pcscd has not answered%n",
               &in_call, &end) != 1 ||
        msg[end] != '\0' || in_call < 0 || in_call > answered - stopped + 1000)
        fail_msg("message: %s", msg);
    cJSON_Delete(j);
    /* Still stuck in pcscd, still serving. */
    status_answers();

    /* pcscd runs again: the stuck call returns, the session ends, and the
     * reader serves the next request. */
    assert_int_equal(kill(pe.pid, SIGCONT), 0);
    int atrs;
    j = authenticate(fd, "after", &atrs);
    expect_verified(j);
    cJSON_Delete(j);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reset_by_another_program),
        cmocka_unit_test(reset_answered_to_begin_transaction),
        cmocka_unit_test(reset_in_the_middle_of_the_apdus),
        cmocka_unit_test(pcscd_stops_answering),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

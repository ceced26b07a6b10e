/*
 * The bridge's PC/SC backend against cards in a real pcscd behind a reader
 * driver we did not write: vsmartcard's vpcd (Debian vsmartcard-vpcd), with
 * our virtual eID (hawiya-vcard --vpcd) in its first slot and vsmartcard's
 * own generic ISO 7816 card (vicc, vsmartcard-vpicc) in its second. Each run
 * has its own pcscd (pcscd_env.h). Checked: the readers pcscd lists, card
 * events, a whole authentication run by the bridge (an unattested assertion
 * that libhawiya-verify accepts only when unattested readers are allowed),
 * the named errors (wrong CAN, a card held by another program, a card that
 * is no eMRTD), BAC and T=0 cards, readers named by a prefix of their PC/SC
 * name, and the APDU path (SELECT, READ BINARY, GET CHALLENGE) on vicc.
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
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <PCSC/winscard.h>

#include "bridge_test.h"
#include "pcsc_client.h"
#include "pcscd_env.h"
#include "pcsc_card.h"

#define CARD_CAN    "123456" /* the default persona's CAN (tests/data/personas.json) */
#define WRONG_CAN   "314159"
#define SLOT0       "Virtual PCD 00 00"
#define SLOT1       "Virtual PCD 00 01"
#define DEFAULT_ATR "3B95968031FE458073B421402F"

static struct pcscd_env pe;
static pid_t vcard = -1, vicc = -1, bridge = -1;
static int port;
static char vctl[400], bsock[400], blog[400], bconf[400];

static int64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* One command to the virtual card's control socket ("remove", "persona ID", ...). */
static void vcard_control(const char *cmd)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", vctl);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    char line[160], reply[512];
    snprintf(line, sizeof line, "%s\n", cmd);
    assert_true(write(fd, line, strlen(line)) > 0);
    ssize_t r = read(fd, reply, sizeof reply - 1);
    close(fd);
    assert_true(r > 0);
    reply[r] = '\0';
    assert_memory_equal(reply, "ok", 2);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/*
 * vicc as Debian 12 ships it: its Python package sits one directory too
 * deep (site-packages/virtualsmartcard/virtualsmartcard), and without
 * PyCrypto it imports Python 2's `sha` module. A PYTHONPATH with that
 * directory and a two-line `sha` over hashlib lets it run unchanged.
 */
static pid_t start_vicc(int vicc_port)
{
    char shim[400], sha[450], pp[600], p[16], log[400];
    snprintf(shim, sizeof shim, "%s/pyshim", pe.dir);
    snprintf(sha, sizeof sha, "%s/sha.py", shim);
    mkdir(shim, 0755);
    write_file(sha, "import hashlib\nnew = hashlib.sha1\ndigest_size = 20\n");
    snprintf(pp, sizeof pp, "/usr/lib/python3/site-packages/virtualsmartcard:%s", shim);
    setenv("PYTHONPATH", pp, 1);
    snprintf(p, sizeof p, "%d", vicc_port);
    snprintf(log, sizeof log, "%s/vicc.log", pe.dir);
    char *argv[] = {
        "/usr/bin/python3", "/usr/bin/vicc", "-t", "iso7816", "-H", "127.0.0.1", "-P", p, NULL};
    pid_t pid = pcscd_env_spawn(argv, log);
    unsetenv("PYTHONPATH");
    return pid;
}

static int setup(void **state)
{
    (void)state;
    if (pcscd_env_init(&pe) < 0 || (port = pcscd_env_free_port_pair()) < 0 ||
        pcscd_env_vpcd(&pe, "vpcd", port) < 0 || pcscd_env_start(&pe) < 0) {
        fprintf(stderr, "cannot start pcscd (see %s)\n", pe.log);
        return -1;
    }
    char host[64], log[400];
    snprintf(host, sizeof host, "127.0.0.1:%d", port);
    snprintf(vctl, sizeof vctl, "%s/vcard.sock", pe.dir);
    snprintf(log, sizeof log, "%s/vcard.log", pe.dir);
    char *argv[] = {getenv("HAWIYA_VCARD"),
                    "--vpcd",
                    host,
                    "--personas",
                    getenv("HAWIYA_PERSONAS"),
                    "--pki",
                    getenv("HAWIYA_PKI_DIR"),
                    "--control",
                    vctl,
                    NULL};
    vcard = pcscd_env_spawn(argv, log);
    vicc = start_vicc(port + 1);
    snprintf(bsock, sizeof bsock, "%s/bridge.sock", pe.dir);
    snprintf(blog, sizeof blog, "%s/bridge.log", pe.dir);
    snprintf(bconf, sizeof bconf, "%s/bridge.conf", pe.dir);
    write_file(bconf, "origin = " BT_ORIGIN "\npcsc = all\nlog_level = debug\n");
    bridge = bt_bridge_start(bconf, bsock, blog);
    if (bridge <= 0 || !bt_wait_reader(bsock, "virtual-pcd-00-00", "up", "present", 20000) ||
        !bt_wait_reader(bsock, "virtual-pcd-00-01", "up", "present", 20000)) {
        fprintf(stderr, "the readers did not come up (see %s, %s)\n", blog, pe.log);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    bt_stop(&bridge);
    pcscd_env_kill(&vcard);
    pcscd_env_kill(&vicc);
    pcscd_env_cleanup(&pe);
    return 0;
}

static void readers_and_diagnose(void **state)
{
    (void)state;
    int fd = bt_connect(bsock);
    cJSON *j = bt_call(fd, "{\"id\":1,\"method\":\"readers\"}\n");
    assert_int_equal(cJSON_GetArraySize(bt_get(j, "result.readers")), 2);
    bt_expect_str(j, "result.readers.0.name", "virtual-pcd-00-00");
    bt_expect_str(j, "result.readers.0.backend", "pcsc");
    bt_expect_str(j, "result.readers.0.pcsc_name", SLOT0);
    bt_expect_str(j, "result.readers.0.link", "up");
    bt_expect_str(j, "result.readers.0.state", "present");
    assert_true(cJSON_IsFalse(bt_get(j, "result.readers.0.attested")));
    assert_true(cJSON_IsFalse(bt_get(j, "result.readers.0.pinpad_pace")));
    bt_expect_str(j, "result.readers.1.name", "virtual-pcd-00-01");
    bt_expect_str(j, "result.readers.1.pcsc_name", SLOT1);
    cJSON_Delete(j);

    j = bt_call(fd, "{\"id\":2,\"method\":\"diagnose\"}\n");
    const cJSON *be = NULL, *it;
    cJSON_ArrayForEach(it, bt_get(j, "result.backends"))
    {
        if (!strcmp(bt_get(it, "name")->valuestring, "pcsc"))
            be = it;
    }
    assert_non_null(be);
    bt_expect_str(be, "state", "up");
    bt_expect_str(be, "detail", "pcscd lists 2 reader(s)");
    bt_expect_num(be, "readers_up", 2);
    bt_expect_str(j, "result.config.pcsc", "all");
    /* Debian's vpcd answers no Part 10 feature request: no APDU size is known. */
    assert_null(bt_find(j, "result.readers.0.max_apdu_data"));
    cJSON_Delete(j);

    j = bt_call(fd, "{\"id\":3,\"method\":\"status\"}\n");
    bt_expect_num(j, "result.readers.configured", 2);
    bt_expect_num(j, "result.readers.with_card", 2);
    cJSON_Delete(j);
    close(fd);
}

/* The progress events of one authenticate, then its answer. */
static cJSON *authenticate(int fd, const char *id, const char *params, char steps[][24],
                           size_t *n_steps, cJSON **atr_event, cJSON **cardaccess_event)
{
    char line[600];
    bt_auth_line(line, sizeof line, id, params);
    bt_send(fd, line);
    *n_steps = 0;
    for (;;) {
        cJSON *j = bt_read(fd, 30000);
        assert_non_null(j);
        const cJSON *ev = cJSON_GetObjectItemCaseSensitive(j, "event");
        if (!ev)
            return j;
        const cJSON *step = cJSON_GetObjectItemCaseSensitive(j, "step");
        if (cJSON_IsString(step) && *n_steps < 16)
            snprintf(steps[(*n_steps)++], 24, "%s", step->valuestring);
        if (cJSON_IsString(step) && !strcmp(step->valuestring, "atr") && atr_event) {
            *atr_event = j;
            continue;
        }
        if (cJSON_IsString(step) && !strcmp(step->valuestring, "cardaccess") && cardaccess_event) {
            *cardaccess_event = j;
            continue;
        }
        cJSON_Delete(j);
    }
}

static void expect_steps(char steps[][24], size_t n, const char *const *want)
{
    size_t k = 0;
    while (want[k])
        k++;
    if (n != k) {
        for (size_t i = 0; i < n; i++)
            fprintf(stderr, "step %zu: %s\n", i, steps[i]);
        fail_msg("%zu steps, expected %zu", n, k);
    }
    for (size_t i = 0; i < n; i++)
        assert_string_equal(steps[i], want[i]);
}

static void authenticate_unattested(void **state)
{
    (void)state;
    int fd = bt_connect(bsock);
    char steps[16][24];
    size_t n;
    cJSON *atr = NULL, *ca = NULL;
    cJSON *j = authenticate(fd, "a1", ",\"reader\":\"virtual-pcd-00-00\",\"can\":\"" CARD_CAN "\"",
                            steps, &n, &atr, &ca);
    static const char *const want[] = {"queued", "started", "atr", "cardaccess", "pace",
                                       "select", "read",    "ca",  "aa",         NULL};
    expect_steps(steps, n, want);
    /* The reader's ATR as pcscd gives it, T=1, and sizes: short (vpcd tells none). */
    bt_expect_str(atr, "detail", DEFAULT_ATR " T=1 reader max APDU data 0, card extended");
    bt_expect_str(ca, "detail", "short length, Le 256");
    bt_expect_num(ca, "apdus", 1);
    bt_expect_num(ca, "pcsc_calls", 1);
    assert_true(cJSON_IsNumber(bt_get(ca, "bridge_cpu_ms")));
    cJSON_Delete(atr);
    cJSON_Delete(ca);

    const cJSON *res = bt_get(j, "result");
    bt_expect_str(res, "format", "hawiya-assertion/2");
    assert_true(cJSON_IsFalse(bt_get(res, "reader.attested")));
    assert_null(bt_find(res, "reader.certificate"));
    char doc[32];
    bool attested = true;
    assert_int_equal(bt_verify(res, true, doc, sizeof doc, &attested), HV_OK);
    assert_string_equal(doc, "AB1234567");
    assert_false(attested);
    assert_int_equal(bt_verify(res, false, doc, sizeof doc, NULL), HV_ERR_UNATTESTED);
    cJSON_Delete(j);

    j = bt_call(fd, "{\"id\":4,\"method\":\"readers\"}\n");
    bt_expect_str(j, "result.readers.0.atr", DEFAULT_ATR);
    cJSON_Delete(j);
    close(fd);
}

static void wrong_can(void **state)
{
    (void)state;
    int fd = bt_connect(bsock);
    char line[600];
    bt_auth_line(line, sizeof line, "w",
                 ",\"reader\":\"virtual-pcd-00-00\",\"can\":\"" WRONG_CAN "\"");
    cJSON *j = bt_call(fd, line);
    bt_expect_error(j, "CARD_AUTH_FAILED", "pace: PACE_ERR_TOKEN_REJECTED (SW 6300)");
    cJSON_Delete(j);
    bt_auth_line(line, sizeof line, "n", ",\"reader\":\"virtual-pcd-00-00\"");
    j = bt_call(fd, line);
    bt_expect_error(j, "NO_CAN", "this reader has no keypad: pass the CAN (or the MRZ fields)");
    cJSON_Delete(j);
    close(fd);
}

static void card_events(void **state)
{
    (void)state;
    int fd = bt_connect(bsock);
    cJSON *j = bt_call(fd, "{\"id\":1,\"method\":\"subscribe\"}\n");
    cJSON_Delete(j);
    vcard_control("remove");
    j = bt_event(fd, "card_removed", 10000);
    assert_non_null(j);
    bt_expect_str(j, "reader", "virtual-pcd-00-00");
    cJSON_Delete(j);
    /* An authenticate waits for the card, and runs when it comes. */
    char line[600];
    bt_auth_line(line, sizeof line, "wait",
                 ",\"reader\":\"virtual-pcd-00-00\",\"can\":\"" CARD_CAN "\"");
    bt_send(fd, line);
    bool waiting = false;
    while (!waiting) {
        j = bt_event(fd, "progress", 10000);
        assert_non_null(j);
        waiting = !strcmp(bt_get(j, "step")->valuestring, "waiting_for_card");
        cJSON_Delete(j);
    }
    vcard_control("insert");
    j = bt_event(fd, "card_inserted", 10000);
    assert_non_null(j);
    bt_expect_str(j, "reader", "virtual-pcd-00-00");
    cJSON_Delete(j);
    j = bt_answer(fd);
    assert_true(cJSON_IsFalse(bt_get(j, "result.reader.attested")));
    cJSON_Delete(j);
    close(fd);
}

/* Another program holds the card exclusively for hold_ms. */
static pid_t hold_card(int hold_ms)
{
    return pcsc_client_hold(SLOT0, SCARD_SHARE_EXCLUSIVE, hold_ms, false);
}

static void held_by_another_program(void **state)
{
    (void)state;
    int fd = bt_connect(bsock);
    char line[600];
    bt_auth_line(line, sizeof line, "b",
                 ",\"reader\":\"virtual-pcd-00-00\",\"can\":\"" CARD_CAN "\"");

    /* Held for longer than the bridge waits: READER_BUSY after 3 s (it did not wait
     * for the holder's 6 s, or it would have run). */
    pid_t h = hold_card(6000);
    int64_t t0 = now_ms();
    cJSON *j = bt_call(fd, line);
    int64_t waited = now_ms() - t0;
    bt_expect_error(j, "READER_BUSY",
                    "SCardConnect: SCARD_E_SHARING_VIOLATION for 3000 ms: another program holds "
                    "the card");
    print_message("READER_BUSY after %lld ms\n", (long long)waited);
    assert_true(waited >= 3000);
    cJSON_Delete(j);
    int st;
    waitpid(h, &st, 0);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);

    /* Held for half a second: the bridge waits and then runs. */
    h = hold_card(500);
    j = bt_call(fd, line);
    assert_true(cJSON_IsFalse(bt_get(j, "result.reader.attested")));
    cJSON_Delete(j);
    waitpid(h, &st, 0);
    close(fd);
}

/*
 * Another card in the slot, with the events a subscriber sees. Out first and
 * seen gone, then the other one in: vpcd notices a card only when it polls,
 * and a card swapped between two polls (or while pcscd powers it down
 * after a session) would show as the same card still there.
 */
static void swap_card(int fd, const char *persona)
{
    char cmd[64];
    vcard_control("remove");
    cJSON *ev = bt_event(fd, "card_removed", 10000);
    assert_non_null(ev);
    cJSON_Delete(ev);
    snprintf(cmd, sizeof cmd, "persona %s", persona);
    vcard_control(cmd);
    assert_non_null(ev = bt_event(fd, "card_inserted", 10000));
    cJSON_Delete(ev);
}

static void bac_and_t0_cards(void **state)
{
    (void)state;
    int fd = bt_connect(bsock);
    char steps[16][24];
    size_t n;
    cJSON *atr = NULL;
    cJSON *ev = bt_call(fd, "{\"id\":1,\"method\":\"subscribe\"}\n");
    cJSON_Delete(ev);
    swap_card(fd, "bac-only");
    cJSON *j = authenticate(fd, "bac",
                            ",\"reader\":\"virtual-pcd-00-00\",\"mrz\":{\"document_number\":"
                            "\"AB1234567\",\"birth_date\":\"900115\",\"expiry_date\":\"310514\"}",
                            steps, &n, NULL, NULL);
    if (!bt_find(j, "result")) {
        char *s = cJSON_PrintUnformatted(j);
        fail_msg("%s", s);
    }
    bool bac = false;
    for (size_t i = 0; i < n; i++)
        bac |= !strcmp(steps[i], "bac");
    assert_true(bac);
    char doc[32];
    assert_int_equal(bt_verify(bt_get(j, "result"), true, doc, sizeof doc, NULL), HV_OK);
    assert_string_equal(doc, "AB1234567");
    cJSON_Delete(j);

    swap_card(fd, "t0-only");
    j = authenticate(fd, "t0", ",\"reader\":\"virtual-pcd-00-00\",\"can\":\"" CARD_CAN "\"", steps,
                     &n, &atr, NULL);
    bt_expect_str(atr, "detail", "3B15138073B42100 T=0 reader max APDU data 0, card short");
    cJSON_Delete(atr);
    assert_int_equal(bt_verify(bt_get(j, "result"), true, doc, sizeof doc, NULL), HV_OK);
    cJSON_Delete(j);
    swap_card(fd, "default");
    close(fd);
}

static void readers_named_by_prefix(void **state)
{
    (void)state;
    char conf[500], sock[500], log[500];
    snprintf(conf, sizeof conf, "%s/named.conf", pe.dir);
    snprintf(sock, sizeof sock, "%s/named.sock", pe.dir);
    snprintf(log, sizeof log, "%s/named.log", pe.dir);
    write_file(conf, "origin = " BT_ORIGIN "\n"
                     "reader = pcsc:desk:Virtual PCD 00 01\n"
                     "reader = pcsc:spare:Nothing like it\n");
    pid_t b = bt_bridge_start(conf, sock, log);
    assert_true(b > 0);
    assert_true(bt_wait_reader(sock, "desk", "up", "present", 10000));
    int fd = bt_connect(sock);
    cJSON *j = bt_call(fd, "{\"id\":1,\"method\":\"diagnose\"}\n");
    assert_int_equal(cJSON_GetArraySize(bt_get(j, "result.readers")), 2);
    bt_expect_str(j, "result.readers.0.name", "desk");
    bt_expect_str(j, "result.readers.0.pcsc_name", SLOT1);
    bt_expect_str(j, "result.readers.1.name", "spare");
    bt_expect_str(j, "result.readers.1.link", "down");
    bt_expect_str(j, "result.readers.1.last_error", "no PC/SC reader named \"Nothing like it...\"");
    bt_expect_str(j, "result.config.pcsc", "named");
    cJSON_Delete(j);
    close(fd);
    bt_stop(&b);
}

/* vsmartcard's own ISO 7816 card through the bridge's APDU path (pcsc_card). */
static void vicc_through_the_apdu_path(void **state)
{
    (void)state;
    SCARDCONTEXT ctx;
    struct pcsc_card c;
    uint8_t r[300];
    size_t n;
    assert_int_equal(SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx), SCARD_S_SUCCESS);
    assert_int_equal(pcsc_card_connect(&c, ctx, SLOT1, SCARD_SHARE_EXCLUSIVE, 1000),
                     SCARD_S_SUCCESS);
    /* vicc's generic card: 3B 95 13 81 01 80 73 FF 01 00 0B, T=1. */
    static const uint8_t vicc_atr[] = {0x3B, 0x95, 0x13, 0x81, 0x01, 0x80,
                                       0x73, 0xFF, 0x01, 0x00, 0x0B};
    assert_int_equal(c.atr_len, sizeof vicc_atr);
    assert_memory_equal(c.atr, vicc_atr, sizeof vicc_atr);
    assert_int_equal(c.protocol, SCARD_PROTOCOL_T1);
    assert_int_equal(pcsc_card_begin(&c), SCARD_S_SUCCESS);
    /* SELECT the MF, no answer data (7816-4 §7.1.1, P2 = 0C). */
    static const uint8_t select_mf[] = {0x00, 0xA4, 0x00, 0x0C, 0x02, 0x3F, 0x00};
    assert_int_equal(pcsc_card_transmit(&c, select_mf, sizeof select_mf, r, sizeof r, &n),
                     SCARD_S_SUCCESS);
    assert_int_equal(n, 2);
    assert_int_equal(r[0] << 8 | r[1], 0x9000);
    /* READ BINARY with no current EF: 6986 "command not allowed (no current EF)". */
    static const uint8_t read_binary[] = {0x00, 0xB0, 0x00, 0x00, 0x10};
    assert_int_equal(pcsc_card_transmit(&c, read_binary, sizeof read_binary, r, sizeof r, &n),
                     SCARD_S_SUCCESS);
    assert_int_equal(n, 2);
    assert_int_equal(r[0] << 8 | r[1], 0x6986);
    /* SELECT a file that is not there: 6A82. */
    static const uint8_t select_ef[] = {0x00, 0xA4, 0x02, 0x0C, 0x02, 0x01, 0x1E};
    assert_int_equal(pcsc_card_transmit(&c, select_ef, sizeof select_ef, r, sizeof r, &n),
                     SCARD_S_SUCCESS);
    assert_int_equal(r[n - 2] << 8 | r[n - 1], 0x6A82);
    /* GET CHALLENGE: 8 fresh bytes each time. */
    static const uint8_t get_challenge[] = {0x00, 0x84, 0x00, 0x00, 0x08};
    uint8_t first[8];
    assert_int_equal(pcsc_card_transmit(&c, get_challenge, sizeof get_challenge, r, sizeof r, &n),
                     SCARD_S_SUCCESS);
    assert_int_equal(n, 10);
    assert_int_equal(r[8] << 8 | r[9], 0x9000);
    memcpy(first, r, 8);
    assert_int_equal(pcsc_card_transmit(&c, get_challenge, sizeof get_challenge, r, sizeof r, &n),
                     SCARD_S_SUCCESS);
    assert_int_equal(n, 10);
    assert_memory_not_equal(first, r, 8);
    assert_int_equal(c.apdus, 5);
    assert_int_equal(pcsc_card_end(&c, SCARD_LEAVE_CARD), SCARD_S_SUCCESS);
    assert_int_equal(pcsc_card_disconnect(&c, SCARD_RESET_CARD), SCARD_S_SUCCESS);
    SCardReleaseContext(ctx);

    /* The bridge on that card: no eMRTD there, said by name. */
    int fd = bt_connect(bsock);
    char line[600];
    bt_auth_line(line, sizeof line, "v",
                 ",\"reader\":\"virtual-pcd-00-01\",\"can\":\"" CARD_CAN "\"");
    cJSON *j = bt_call(fd, line);
    bt_expect_str(j, "error.code", "CARD_ERROR");
    const char *msg = bt_get(j, "error.message")->valuestring;
    assert_non_null(strstr(msg, "cardaccess: "));
    cJSON_Delete(j);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(readers_and_diagnose),
        cmocka_unit_test(authenticate_unattested),
        cmocka_unit_test(wrong_can),
        cmocka_unit_test(card_events),
        cmocka_unit_test(held_by_another_program),
        cmocka_unit_test(bac_and_t0_cards),
        cmocka_unit_test(readers_named_by_prefix),
        cmocka_unit_test(vicc_through_the_apdu_path),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

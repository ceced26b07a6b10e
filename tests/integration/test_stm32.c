/*
 * The reader firmware on the microcontroller: the STM32F405 image booted in
 * QEMU (netduinoplus2, boards/stm32f405), hawiya-vcard on its USART2 and the
 * bridge on its USART1 through hawiya-serial-link (sim_env.h), running what
 * the demo runs:
 *   - an authentication through the bridge whose assertion `hawiya verify`
 *     (the platform's command) accepts, made by reader "stm32f4-...";
 *   - a card removed in the middle of the session, a mute card, and a card
 *     line with errors injected (flipped, dropped and duplicated characters
 *     at a fixed seed): each scenario runs on the sim board and on the
 *     microcontroller, and both give the same named outcome;
 *   - a second boot of the same image on the same flash keeps the device
 *     key (same reader id and public key), and the counter goes on.
 * QEMU is started and stopped by the test; every wait is bounded (CTest's
 * timeout above them), none is a timing assertion.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bridge_env.h"
#include "hawiya/reader_escape.h"
#include "hawiya/tlv.h"
#include "reader_session.h"
#include "sim_env.h"

#define ORIGIN    "https://record.example"
#define CHALLENGE "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
#define CARD_CAN  "123456"

static char elf[1024], personas[1024], board_personas[1024], pki_dir[1024];

struct rig {
    struct sim_env env;
    pid_t bridge;
    char sock[400];
};

static void use_board(bool stm32)
{
    if (stm32)
        setenv("HAWIYA_STM32_ELF", elf, 1);
    else
        unsetenv("HAWIYA_STM32_ELF");
}

/* vcard + reader (+ QEMU), provisioned, and a bridge that sees the reader. */
static void rig_start(struct rig *r, bool stm32, const char *persona, const char *const *args)
{
    use_board(stm32);
    r->bridge = -1;
    assert_int_equal(sim_env_start(&r->env, persona, args), 0);
    ccid_link_close(&r->env.link);
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "'%s' provision --ca '%s' --reader '%s' >/dev/null",
             getenv("HAWIYA_PKI"), pki_dir, r->env.host_path);
    assert_int_equal(system(cmd), 0);
    char conf[400], log[400], text[1200];
    snprintf(r->sock, sizeof r->sock, "%s/run/bridge.sock", r->env.dir);
    snprintf(conf, sizeof conf, "%s/bridge.conf", r->env.dir);
    snprintf(log, sizeof log, "%s/bridge.log", r->env.dir);
    snprintf(text, sizeof text,
             "origin = " ORIGIN "\nreader = sim:r1:%s\ntimeout_ms = 60000\nlog_level = debug\n",
             r->env.host_path);
    r->bridge = bridge_spawn(conf, text, r->sock, log, NULL, NULL);
    assert_true(r->bridge > 0);
    assert_true(bridge_wait_reader(r->sock, "r1", "present", 30000) >= 0);
}

static void rig_stop(struct rig *r)
{
    bridge_stop(&r->bridge);
    sim_env_stop(&r->env);
}

/* One authentication; the assertion's text in *assertion (malloc'd, NULL
 * on error), and the outcome: "OK", or the error code and message. */
static void authenticate(struct rig *r, char *outcome, size_t cap, char **assertion)
{
    int fd = bridge_conn(r->sock);
    cJSON *j = bridge_call(
        fd, "{\"id\":1,\"method\":\"authenticate\",\"params\":{\"challenge\":\"" CHALLENGE
            "\",\"origin\":\"" ORIGIN "\",\"can\":\"" CARD_CAN "\"}}\n");
    assert_non_null(j);
    if (assertion)
        *assertion = NULL;
    if (jget(j, "result.format")) {
        snprintf(outcome, cap, "OK");
        if (assertion)
            *assertion = cJSON_PrintUnformatted(jget(j, "result"));
    } else {
        snprintf(outcome, cap, "%s: %s", jstr(j, "error.code"), jstr(j, "error.message"));
    }
    cJSON_Delete(j);
    close(fd);
}

/* `hawiya verify` on the assertion, as the platform runs it: its first line. */
static int cli_verify(const char *assertion, char *first_line, size_t cap)
{
    char path[64] = "/tmp/hawiya-stm32-assertion-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, assertion, strlen(assertion)), (ssize_t)strlen(assertion));
    close(fd);
    char cmd[3000];
    snprintf(
        cmd, sizeof cmd,
        "'%s' verify --csca '%s/csca' --reader-ca '%s/reader-ca/reader-ca.pem' --challenge '%s' "
        "--origin '%s' --text < '%s'",
        getenv("HAWIYA_CLI"), pki_dir, pki_dir, CHALLENGE, ORIGIN, path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    first_line[0] = '\0';
    if (!fgets(first_line, (int)cap, p))
        first_line[0] = '\0';
    char rest[512];
    while (fgets(rest, sizeof rest, p))
        ;
    int st = pclose(p);
    unlink(path);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void authenticates_and_verifies(void **state)
{
    (void)state;
    struct rig r;
    rig_start(&r, true, "default", NULL);
    char outcome[256], line[512];
    char *assertion;
    authenticate(&r, outcome, sizeof outcome, &assertion);
    assert_string_equal(outcome, "OK");
    assert_int_equal(cli_verify(assertion, line, sizeof line), 0);
    print_message("hawiya verify: %s", line);
    assert_non_null(strstr(line, "VERIFIED by reader stm32f4-"));
    assert_non_null(strstr(line, "(counter 1)"));
    free(assertion);
    rig_stop(&r);
}

/* One scenario on both boards: the outcomes the sim board and the
 * microcontroller give must be the same, and `want` (a prefix). */
static void same_outcome(const char *persona, const char *const *args, const char *card_cmd,
                         const char *want)
{
    char outcomes[2][256];
    for (int board = 0; board < 2; board++) {
        struct rig r;
        rig_start(&r, board == 1, persona, args);
        if (card_cmd) {
            char reply[64];
            assert_int_equal(sim_env_control(&r.env, card_cmd, reply, sizeof reply), 0);
        }
        authenticate(&r, outcomes[board], sizeof outcomes[board], NULL);
        print_message("%s: %s\n", board ? "stm32f405" : "sim", outcomes[board]);
        rig_stop(&r);
    }
    assert_string_equal(outcomes[0], outcomes[1]);
    assert_true(strncmp(outcomes[0], want, strlen(want)) == 0);
}

/* 200 ms of card time in: inside PACE (four GENERAL AUTHENTICATEs of 80 ms). */
static void card_removed_mid_session(void **state)
{
    (void)state;
    same_outcome("default", NULL, "remove-after 200", "CARD_REMOVED: pace: SLOT_ERR_REMOVED");
}

/* A card that names no voltage class it runs at stays mute in every one
 * (7816-3 §6.2.4): no ATR. */
static void mute_card(void **state)
{
    (void)state;
    setenv("HAWIYA_PERSONAS", board_personas, 1);
    unsetenv("HAWIYA_PKI_DIR"); /* the mute card has no eMRTD application */
    same_outcome("mute", NULL, NULL, "READER_ERROR: atr: SLOT_ERR_MUTE");
    setenv("HAWIYA_PKI_DIR", pki_dir, 1);
    setenv("HAWIYA_PERSONAS", personas, 1);
}

/* Characters corrupted on the card line both ways, at a fixed seed: T=1
 * recovers the blocks (7816-3 §11.6.3) and the session ends the same way. */
static void injected_line_errors(void **state)
{
    (void)state;
    const char *const flips[] = {"--fault-rate",  "0.002", "--fault-seed", "7", "--fault-kinds",
                                 "flip,drop,dup", NULL};
    same_outcome("default", flips, NULL, "OK");
    /* Errors beyond what T=1's retries recover: named the same way too. */
    const char *const heavy[] = {"--fault-rate", "0.3", "--fault-seed", "11", "--fault-kinds",
                                 "flip",         NULL};
    same_outcome("default", heavy, NULL, "");
}

/* INFO: the reader id, its public key, the counter. */
static void info(struct sim_env *e, char *id, size_t cap, uint8_t key[65], uint64_t *counter)
{
    uint8_t cmd = RESC_INFO, out[4096];
    size_t n;
    struct tlv t;
    assert_int_equal(reader_escape(&e->link, &cmd, 1, out, sizeof out, &n, 60000), CCID_LINK_OK);
    assert_int_equal(tlv_find(out, n, RESC_T_READER_ID, &t), TLV_OK);
    assert_true(t.len > 0 && t.len < cap);
    memcpy(id, t.value, t.len);
    id[t.len] = '\0';
    assert_int_equal(tlv_find(out, n, RESC_T_PUBLIC_KEY, &t), TLV_OK);
    assert_int_equal(t.len, 65);
    memcpy(key, t.value, 65);
    assert_int_equal(tlv_find(out, n, RESC_T_COUNTER, &t), TLV_OK);
    assert_int_equal(t.len, 8);
    *counter = 0;
    for (int i = 0; i < 8; i++)
        *counter = *counter << 8 | t.value[i];
}

static void second_boot_keeps_key_and_counter(void **state)
{
    (void)state;
    struct rig r;
    rig_start(&r, true, "default", NULL);
    char outcome[256];
    authenticate(&r, outcome, sizeof outcome, NULL);
    assert_string_equal(outcome, "OK");
    bridge_stop(&r.bridge);
    /* The same image boots again on the same flash (STATE.flash, STATE.otp). */
    assert_int_equal(sim_env_restart_reader(&r.env, NULL, NULL), 0);
    char id[64], id2[64];
    uint8_t key[65], key2[65];
    uint64_t counter, counter2;
    info(&r.env, id, sizeof id, key, &counter);
    assert_int_equal(counter, 1);
    /* An authentication after the reboot takes the next value. */
    ccid_link_close(&r.env.link);
    char conf[400], log[400], text[1200];
    snprintf(conf, sizeof conf, "%s/bridge.conf", r.env.dir);
    snprintf(log, sizeof log, "%s/bridge2.log", r.env.dir);
    snprintf(text, sizeof text, "origin = " ORIGIN "\nreader = sim:r1:%s\ntimeout_ms = 60000\n",
             r.env.host_path);
    r.bridge = bridge_spawn(conf, text, r.sock, log, NULL, NULL);
    assert_true(bridge_wait_reader(r.sock, "r1", "present", 30000) >= 0);
    char *assertion, line[512];
    authenticate(&r, outcome, sizeof outcome, &assertion);
    assert_string_equal(outcome, "OK");
    assert_int_equal(cli_verify(assertion, line, sizeof line), 0);
    assert_non_null(strstr(line, "(counter 2)"));
    free(assertion);
    bridge_stop(&r.bridge);
    assert_int_equal(sim_env_restart_reader(&r.env, NULL, NULL), 0);
    info(&r.env, id2, sizeof id2, key2, &counter2);
    assert_string_equal(id2, id);
    assert_memory_equal(key2, key, 65);
    assert_int_equal(counter2, 2);
    assert_non_null(strstr(line, id));
    rig_stop(&r);
}

int main(void)
{
    const char *e = getenv("HAWIYA_STM32_ELF"), *p = getenv("HAWIYA_PERSONAS"),
               *k = getenv("HAWIYA_PKI_DIR");
    if (!e || !p || !k || !getenv("HAWIYA_BOARD_PERSONAS")) {
        fprintf(stderr, "test_stm32: HAWIYA_STM32_ELF, HAWIYA_PERSONAS, HAWIYA_BOARD_PERSONAS, "
                        "HAWIYA_PKI_DIR must be set\n");
        return 2;
    }
    snprintf(elf, sizeof elf, "%s", e);
    snprintf(personas, sizeof personas, "%s", p);
    snprintf(board_personas, sizeof board_personas, "%s", getenv("HAWIYA_BOARD_PERSONAS"));
    snprintf(pki_dir, sizeof pki_dir, "%s", k);
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(authenticates_and_verifies),
        cmocka_unit_test(card_removed_mid_session),
        cmocka_unit_test(mute_card),
        cmocka_unit_test(injected_line_errors),
        cmocka_unit_test(second_boot_keeps_key_and_counter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

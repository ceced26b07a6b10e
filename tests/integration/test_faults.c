/*
 * The bridge and the reader under faults (issue 10): the bridge killed at
 * every step of a session, a card (and so a reader) that asks for more
 * time forever, a frozen reader, a bridge out of file descriptors, a
 * stopped bridge under the CLI. Each must end in a named state, quickly,
 * with nothing stuck: the next host sees the true slot state at once, every
 * request is answered, nothing spins.
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
#include "sim_env.h"

#define ORIGIN    "https://record.example"
#define CHALLENGE "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
#define CARD_CAN  "123456"

static struct sim_env env;
static char sock[400], conf[400], log_path[400], conf_text[1200];
static pid_t bridge = -1;

static int setup(void **state)
{
    (void)state;
    if (sim_env_start(&env, "default", NULL) != 0)
        return -1;
    ccid_link_close(&env.link);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "'%s' provision --ca '%s' --reader '%s' >/dev/null",
             getenv("HAWIYA_PKI"), getenv("HAWIYA_PKI_DIR"), env.host_path);
    if (system(cmd) != 0)
        return -1;
    snprintf(sock, sizeof sock, "%s/run/bridge.sock", env.dir);
    snprintf(conf, sizeof conf, "%s/bridge.conf", env.dir);
    snprintf(log_path, sizeof log_path, "%s/bridge.log", env.dir);
    snprintf(conf_text, sizeof conf_text,
             "origin = " ORIGIN "\nreader = sim:r1:%s\ntimeout_ms = 20000\nlog_level = debug\n",
             env.host_path);
    bridge = bridge_spawn(conf, conf_text, sock, log_path, NULL, NULL);
    if (bridge < 0)
        return -1;
    return bridge_wait_reader(sock, "r1", "present", 10000) >= 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    bridge_stop(&bridge);
    sim_env_stop(&env);
    return 0;
}

static const char *const steps[] = {"queued", "started", "atr", "cardaccess", "pace",
                                    "select", "read",    "ca",  "aa",         "attest"};

static void authenticate_verified(void)
{
    int fd = bridge_conn(sock);
    cJSON *j = bridge_call(
        fd, "{\"id\":1,\"method\":\"authenticate\",\"params\":{\"challenge\":\"" CHALLENGE
            "\",\"origin\":\"" ORIGIN "\",\"can\":\"" CARD_CAN "\"}}\n");
    if (strcmp(jstr(j, "result.format"), "hawiya-assertion/1") &&
        strcmp(jstr(j, "result.format"), "hawiya-assertion/2"))
        fail_msg("authenticate: %s", cJSON_PrintUnformatted(j));
    cJSON_Delete(j);
    close(fd);
}

/*
 * SIGKILL the bridge as each progress step arrives: the reader must drop
 * the dead host's session (the card powered down), and the bridge started
 * again must see the card present at once (NotifySlotChange to the new
 * host), then authenticate as if nothing happened.
 */
static void bridge_killed_at_every_step(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof steps / sizeof steps[0]; k++) {
        int fd = bridge_conn(sock);
        bridge_send(
            fd, "{\"id\":\"k\",\"method\":\"authenticate\",\"params\":{\"challenge\":\"" CHALLENGE
                "\",\"origin\":\"" ORIGIN "\",\"can\":\"" CARD_CAN "\"}}\n");
        for (;;) {
            cJSON *ev = bridge_read(fd, 10000);
            if (!ev)
                fail_msg("no progress '%s'", steps[k]);
            bool at = !strcmp(jstr(ev, "step"), steps[k]);
            cJSON_Delete(ev);
            if (at)
                break;
        }
        kill(bridge, SIGKILL);
        waitpid(bridge, NULL, 0);
        close(fd);
        bridge = bridge_spawn(conf, conf_text, sock, log_path, NULL, NULL);
        assert_true(bridge > 0);
        /* The failure this catches is "never" (a reader that kept the dead host's session);
         * how soon is printed: a bound on it flakes under ASan on a loaded machine. */
        long ms = bridge_wait_reader(sock, "r1", "present", 60000);
        if (ms < 0)
            fail_msg("killed at '%s': the new bridge never saw the card", steps[k]);
        /* The reader ended the dead host's session: the card is unpowered. */
        long long vcc = -1;
        for (int i = 0; i < 200 && (vcc = sim_env_stat(&env, "vcc_mv")) != 0; i++)
            usleep(10000);
        assert_int_equal(vcc, 0);
        print_message("killed at %-10s: card present again after %ld ms\n", steps[k], ms);
        authenticate_verified();
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(bridge_killed_at_every_step, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

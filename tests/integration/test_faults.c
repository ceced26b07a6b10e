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
#include <sys/resource.h>
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
    if (sim_env_provision(&env) != 0)
        return -1;
    snprintf(sock, sizeof sock, "%s/run/bridge.sock", env.dir);
    snprintf(conf, sizeof conf, "%s/bridge.conf", env.dir);
    snprintf(log_path, sizeof log_path, "%s/bridge.log", env.dir);
    snprintf(conf_text, sizeof conf_text,
             "origin = " ORIGIN "\nreader = sim:r1:%s\ntimeout_ms = 20000\nlog_level = debug\n"
             "reader_call_max_ms = 1500\nauth_delay_ms = 300\nauth_delay_max_ms = 1200\n",
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

/* Runs `cmd` (a shell line); its exit status, how long it took, and its stderr. */
static int run_timed(const char *cmd, long long *ms, char *err, size_t cap)
{
    char full[2048], errfile[420];
    snprintf(errfile, sizeof errfile, "%s/cli.err", env.dir);
    snprintf(full, sizeof full, "%s >/dev/null 2>'%s'", cmd, errfile);
    long long t0 = bridge_now_ms();
    int st = system(full);
    *ms = bridge_now_ms() - t0;
    FILE *f = fopen(errfile, "r");
    size_t n = f ? fread(err, 1, cap - 1, f) : 0;
    if (f)
        fclose(f);
    err[n] = '\0';
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/*
 * A bridge that is there but stopped (SIGSTOP: its socket accepts, nothing
 * answers): every CLI command gives up by itself with exit 2 and says why,
 * including an authenticate waiting for a card and a watch, which may
 * legitimately wait long but check the bridge is alive.
 */
static void cli_never_hangs_on_a_stopped_bridge(void **state)
{
    (void)state;
    const char *cli = getenv("HAWIYA_CLI");
    char cmd[1500], err[2048];
    long long ms;
    /* A request already waiting for a card when the bridge stops: the
     * liveness check sees it. */
    char reply[64];
    assert_int_equal(sim_env_control(&env, "remove", reply, sizeof reply), 0);
    assert_true(bridge_wait_reader(sock, "r1", "absent", 5000) >= 0);
    snprintf(cmd, sizeof cmd,
             "(sleep 1; kill -STOP %d) & echo 907214 | '%s' auth --socket '%s' --challenge %s "
             "--origin %s --can - --reader r1 --timeout-ms 600000",
             (int)bridge, cli, sock, CHALLENGE, ORIGIN);
    int rc = run_timed(cmd, &ms, err, sizeof err);
    print_message("auth, bridge stopped after 1 s: exit %d after %lld ms: %s", rc, ms, err);
    assert_int_equal(rc, 2);
    assert_true(ms < 1000 + 2000 + 3000 + 2000);
    assert_non_null(strstr(err, "stopped answering"));

    /* Stopped before the command starts: status, readers, watch. */
    static const char *const sub[] = {"status --timeout-ms 1500", "readers --timeout-ms 1500",
                                      "watch --count 1"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(cmd, sizeof cmd, "'%s' %s --socket '%s'", cli, sub[i], sock);
        rc = run_timed(cmd, &ms, err, sizeof err);
        print_message("%s, bridge stopped: exit %d after %lld ms: %s", sub[i], rc, ms, err);
        assert_int_equal(rc, 2);
        assert_true(ms < (i < 2 ? 1500 + 2000 : 10000 + 2000));
        assert_true(strstr(err, "no answer in time") || strstr(err, "stopped answering"));
    }
    kill(bridge, SIGCONT);
    assert_int_equal(sim_env_control(&env, "insert", reply, sizeof reply), 0);
    assert_true(bridge_wait_reader(sock, "r1", "present", 5000) >= 0);
    /* The bridge, running again, is as good as before. */
    authenticate_verified();
}

static cJSON *authenticate_with(const char *can)
{
    char line[400];
    snprintf(line, sizeof line,
             "{\"id\":1,\"method\":\"authenticate\",\"params\":{\"challenge\":\"" CHALLENGE
             "\",\"origin\":\"" ORIGIN "\",\"can\":\"%s\"}}\n",
             can);
    int fd = bridge_conn(sock);
    cJSON *j = bridge_call(fd, line);
    close(fd);
    return j;
}

static cJSON *query(const char *method)
{
    char line[100];
    snprintf(line, sizeof line, "{\"id\":1,\"method\":\"%s\"}\n", method);
    int fd = bridge_conn(sock);
    cJSON *j = bridge_call(fd, line);
    close(fd);
    return j;
}

/*
 * A card that asks for more time for ever (T=1 S(WTX) requests), so the
 * reader sends CCID time extensions for ever: the call ends at
 * reader_call_max_ms (1.5 s here) with READER_TIMEOUT, the reader is reset
 * (it abandons the exchange and powers the card down), and once the card
 * behaves the reader serves the next request: nothing stays stuck.
 */
static void reader_that_never_finishes(void **state)
{
    (void)state;
    char reply[64];
    assert_int_equal(sim_env_control(&env, "stall on", reply, sizeof reply), 0);
    long long t0 = bridge_now_ms();
    cJSON *j = authenticate_with(CARD_CAN);
    long long ms = bridge_now_ms() - t0;
    print_message("stalled card: %s after %lld ms: %s\n", jstr(j, "error.code"), ms,
                  jstr(j, "error.message"));
    assert_string_equal(jstr(j, "error.code"), "READER_TIMEOUT");
    assert_non_null(strstr(jstr(j, "error.message"), "kept asking for more time"));
    assert_non_null(strstr(jstr(j, "error.message"), "reset"));
    assert_true(ms >= 1500 && ms < 8000);
    cJSON_Delete(j);
    assert_int_equal(sim_env_control(&env, "stall off", reply, sizeof reply), 0);
    long long vcc = -1;
    for (int i = 0; i < 500 && (vcc = sim_env_stat(&env, "vcc_mv")) != 0; i++)
        usleep(10000);
    assert_int_equal(vcc, 0); /* the reader let go of the card */
    assert_true(bridge_wait_reader(sock, "r1", "present", 10000) >= 0);
    authenticate_verified();
}

/* The reader crashes mid-session: the answer says the link broke, and
 * when, not "reader escape failed (bError 0)"; it is served again once back. */
static void reader_crash_is_named(void **state)
{
    (void)state;
    int fd = bridge_conn(sock);
    bridge_send(fd,
                "{\"id\":\"c\",\"method\":\"authenticate\",\"params\":{\"challenge\":\"" CHALLENGE
                "\",\"origin\":\"" ORIGIN "\",\"can\":\"" CARD_CAN "\"}}\n");
    for (;;) {
        cJSON *ev = bridge_read(fd, 10000);
        assert_non_null(ev);
        bool at = !strcmp(jstr(ev, "step"), "cardaccess");
        cJSON_Delete(ev);
        if (at)
            break;
    }
    kill(env.reader, SIGKILL);
    cJSON *j = bridge_answer(fd);
    print_message("reader killed mid-session: %s: %s\n", jstr(j, "error.code"),
                  jstr(j, "error.message"));
    assert_string_equal(jstr(j, "error.code"), "READER_UNREACHABLE");
    assert_non_null(strstr(jstr(j, "error.message"), "the link to the reader broke after the"));
    assert_null(strstr(jstr(j, "error.message"), "bError"));
    cJSON_Delete(j);
    close(fd);
    waitpid(env.reader, NULL, 0);
    env.reader = 0;
    int status;
    assert_int_equal(sim_env_restart_reader(&env, NULL, &status), 0);
    ccid_link_close(&env.link);
    assert_true(bridge_wait_reader(sock, "r1", "present", 10000) >= 0);
    authenticate_verified();
}

/* A reader that is connected but frozen (SIGSTOP) is not "link: up": the
 * bridge's liveness probe finds it out, and finds it back. */
static void frozen_reader_is_named(void **state)
{
    (void)state;
    cJSON *j = query("diagnose");
    assert_string_equal(jstr(j, "result.readers.0.link"), "up");
    assert_string_equal(jstr(j, "result.readers.0.identity.attestation"), "ATTEST_OK");
    assert_true(jget(j, "result.readers.0.identity.certified") &&
                cJSON_IsTrue(jget(j, "result.readers.0.identity.certified")));
    cJSON_Delete(j);
    kill(env.reader, SIGSTOP);
    long long t0 = bridge_now_ms();
    bool seen = false;
    while (!seen && bridge_now_ms() - t0 < 15000) {
        j = query("diagnose");
        seen = !strcmp(jstr(j, "result.readers.0.link"), "unresponsive");
        if (seen) {
            assert_string_equal(jstr(j, "result.problems.0.code"), "READER_UNRESPONSIVE");
            print_message("frozen reader named after %lld ms: %s\n", bridge_now_ms() - t0,
                          jstr(j, "result.problems.0.message"));
        }
        cJSON_Delete(j);
        usleep(100000);
    }
    assert_true(seen);
    j = query("status");
    assert_true(jnum(j, "result.readers.unresponsive") == 1);
    assert_true(jnum(j, "result.readers.up") == 0);
    cJSON_Delete(j);
    /* A request meanwhile waits for the reader, and is told so. */
    int fd = bridge_conn(sock);
    bridge_send(fd,
                "{\"id\":\"w\",\"method\":\"authenticate\",\"params\":{\"challenge\":\"" CHALLENGE
                "\",\"origin\":\"" ORIGIN "\",\"can\":\"" CARD_CAN "\",\"timeout_ms\":800}}\n");
    cJSON *ev = bridge_read(fd, 5000);
    assert_string_equal(jstr(ev, "step"), "queued");
    cJSON_Delete(ev);
    ev = bridge_read(fd, 5000);
    assert_string_equal(jstr(ev, "step"), "waiting_for_reader");
    cJSON_Delete(ev);
    j = bridge_answer(fd);
    assert_string_equal(jstr(j, "error.code"), "READER_UNREACHABLE");
    assert_non_null(strstr(jstr(j, "error.message"), "does not answer"));
    cJSON_Delete(j);
    close(fd);
    kill(env.reader, SIGCONT);
    t0 = bridge_now_ms();
    bool back = false;
    while (!back && bridge_now_ms() - t0 < 10000) {
        j = query("readers");
        back = !strcmp(jstr(j, "result.readers.0.link"), "up");
        cJSON_Delete(j);
        usleep(50000);
    }
    assert_true(back);
    authenticate_verified();
}

/* Process CPU time (user + system) of pid, in ms. */
static long long cpu_ms(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    assert_non_null(p);
    unsigned long long ut = 0, st = 0;
    /* after ") ": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
     */
    int k = sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st);
    assert_int_equal(k, 2);
    return (long long)(ut + st) * 1000 / sysconf(_SC_CLK_TCK);
}

static void low_fd_limit(void *ctx)
{
    (void)ctx;
    struct rlimit rl = {48, 48};
    setrlimit(RLIMIT_NOFILE, &rl);
}

/*
 * Out of descriptors: every client past the limit gets one line,
 * TOO_MANY_CLIENTS, and is closed; the bridge does not spin (its CPU over
 * two seconds of a waiting crowd stays low), logs it once, and serves again
 * as soon as some close.
 */
static void out_of_descriptors(void **state)
{
    (void)state;
    char sock2[420], conf2[420], log2[420];
    snprintf(sock2, sizeof sock2, "%s/emfile.sock", env.dir);
    snprintf(conf2, sizeof conf2, "%s/emfile.conf", env.dir);
    snprintf(log2, sizeof log2, "%s/emfile.log", env.dir);
    pid_t b2 = bridge_spawn(conf2, "origin = " ORIGIN "\n", sock2, log2, low_fd_limit, NULL);
    assert_true(b2 > 0);
    enum { N = 120 };
    int fds[N], held = 0, refused = 0;
    for (int i = 0; i < N; i++) {
        fds[i] = bridge_conn(sock2);
        cJSON *j = bridge_call(fds[i], "{\"id\":1,\"method\":\"version\"}\n");
        if (!strcmp(jstr(j, "error.code"), "TOO_MANY_CLIENTS")) {
            refused++;
            assert_string_equal(jstr(j, "error.message"), "the bridge is out of file descriptors");
            close(fds[i]);
            fds[i] = -1;
        } else {
            assert_string_equal(jstr(j, "result.bridge"), "0.1.0");
            held++;
        }
        cJSON_Delete(j);
    }
    assert_true(held > 20 && refused > 20);
    /* A crowd waiting in the backlog, unanswered, for two seconds: no spin. */
    int crowd[40];
    for (int i = 0; i < 40; i++)
        crowd[i] = bridge_conn(sock2);
    long long c0 = cpu_ms(b2);
    usleep(2000000);
    long long used = cpu_ms(b2) - c0;
    print_message("out of descriptors: %d held, %d refused by name; %lld ms of CPU in 2 s with "
                  "40 more waiting\n",
                  held, refused, used);
    assert_true(used < 400);
    for (int i = 0; i < 40; i++) {
        cJSON *j = bridge_read(crowd[i], 5000);
        assert_non_null(j); /* each one answered */
        assert_string_equal(jstr(j, "error.code"), "TOO_MANY_CLIENTS");
        cJSON_Delete(j);
        close(crowd[i]);
    }
    for (int i = 0; i < N; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    usleep(300000);
    int fd = bridge_conn(sock2);
    cJSON *j = bridge_call(fd, "{\"id\":1,\"method\":\"status\"}\n");
    assert_true(jnum(j, "result.clients") >= 1);
    cJSON_Delete(j);
    close(fd);
    bridge_stop(&b2);
    char text[1 << 16];
    FILE *f = fopen(log2, "r");
    assert_non_null(f);
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    int lines = 0;
    for (char *p = text; (p = strstr(p, "cannot accept a client")); p++)
        lines++;
    assert_true(lines >= 1 && lines <= 2); /* once per episode (at most two here) */
    assert_non_null(strstr(text, "descriptors available again"));
}

/*
 * Wrong CANs in a row: each one makes the reader wait longer before its next
 * session (300, 600, 1200 ms here), subscribers are told, status and
 * diagnose show it; the right CAN clears it.
 */
static void brute_force_is_slowed_down(void **state)
{
    (void)state;
    int sub = bridge_conn(sock);
    cJSON *j = bridge_call(sub, "{\"id\":1,\"method\":\"subscribe\"}\n");
    cJSON_Delete(j);
    long long fail_at = 0;
    static const long long want_delay[] = {0, 300, 600, 1200, 1200};
    for (int k = 1; k <= 4; k++) {
        int fd = bridge_conn(sock);
        bridge_send(
            fd, "{\"id\":\"b\",\"method\":\"authenticate\",\"params\":{\"challenge\":\"" CHALLENGE
                "\",\"origin\":\"" ORIGIN "\",\"can\":\"000000\"}}\n");
        long long started = 0;
        bool told_delayed = false;
        for (;;) {
            cJSON *m = bridge_read(fd, 15000);
            assert_non_null(m);
            if (!strcmp(jstr(m, "step"), "delayed"))
                told_delayed = true;
            if (!strcmp(jstr(m, "step"), "started"))
                started = bridge_now_ms();
            bool done = jget(m, "error") != NULL;
            if (done)
                assert_string_equal(jstr(m, "error.code"), "CARD_AUTH_FAILED");
            cJSON_Delete(m);
            if (done)
                break;
        }
        close(fd);
        if (k > 1) {
            print_message("wrong CAN #%d started %lld ms after failure #%d (delay %lld)\n", k,
                          started - fail_at, k - 1, want_delay[k - 1]);
            assert_true(told_delayed);
            assert_true(started - fail_at >= want_delay[k - 1] - 20);
        }
        fail_at = bridge_now_ms();
        /* The subscriber hears of it. */
        for (;;) {
            cJSON *ev = bridge_read(sub, 5000);
            assert_non_null(ev);
            bool mine = !strcmp(jstr(ev, "event"), "auth_failed");
            if (mine) {
                assert_true(jnum(ev, "failures") == k);
                assert_true(jnum(ev, "retry_in_ms") == want_delay[k > 4 ? 4 : k]);
            }
            cJSON_Delete(ev);
            if (mine)
                break;
        }
    }
    j = query("status");
    assert_string_equal(jstr(j, "result.auth_failures.0.reader"), "r1");
    assert_true(jnum(j, "result.auth_failures.0.failures") == 4);
    assert_true(jnum(j, "result.auth_failures.0.retry_in_ms") > 0);
    assert_true(jnum(j, "result.readers.delayed") == 1);
    cJSON_Delete(j);
    j = query("diagnose");
    assert_true(jnum(j, "result.readers.0.auth_failures") == 4);
    bool problem = false;
    for (int i = 0; i < cJSON_GetArraySize(jget(j, "result.problems")); i++)
        problem |= !strcmp(jstr(cJSON_GetArrayItem(jget(j, "result.problems"), i), "code"),
                           "AUTH_FAILURES");
    assert_true(problem);
    cJSON_Delete(j);
    /* The holder's right CAN, after the wait: verified, and the count is cleared. */
    authenticate_verified();
    j = query("status");
    assert_int_equal(cJSON_GetArraySize(jget(j, "result.auth_failures")), 0);
    cJSON_Delete(j);
    close(sub);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(bridge_killed_at_every_step, setup, teardown),
        cmocka_unit_test_setup_teardown(cli_never_hangs_on_a_stopped_bridge, setup, teardown),
        cmocka_unit_test_setup_teardown(reader_that_never_finishes, setup, teardown),
        cmocka_unit_test_setup_teardown(frozen_reader_is_named, setup, teardown),
        cmocka_unit_test_setup_teardown(reader_crash_is_named, setup, teardown),
        cmocka_unit_test_setup_teardown(out_of_descriptors, setup, teardown),
        cmocka_unit_test_setup_teardown(brute_force_is_slowed_down, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

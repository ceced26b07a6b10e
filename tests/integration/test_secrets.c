/*
 * No CAN or MRZ left behind (issue 10, "Secrets"): the memory of the bridge,
 * the sim reader and the CLI is searched (/proc/PID/maps + /proc/PID/mem,
 * as root) for the exact secret after each way a session can end: success,
 * a wrong CAN, cancel, the client hanging up, a timeout in the queue, the
 * bridge killed mid-session, and the CLI while it waits. And no core dump
 * carries one: RLIMIT_CORE 0 and PR_SET_DUMPABLE 0 in all three (the second
 * seen as /proc/PID/mem turning root's in a process of another user), and a
 * secret that must stay in memory (a queued request's CAN in the bridge, a
 * running session's in the reader) is in /proc/PID/mem only in pages marked
 * MADV_DONTDUMP (/proc/PID/smaps), and not in gcore's core.
 *
 * CANs here are ones no card data contains: the right one of the "algeria"
 * persona (654321; the default persona's 123456 is inside its document
 * number AB1234567), and wrong ones 9071xx.
 */
#define _GNU_SOURCE /* memmem */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bridge_env.h"
#include "pcscd_env.h"
#include "sim_env.h"

#define ORIGIN    "https://record.example"
#define CHALLENGE "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
#define GOOD_CAN  "654321" /* the algeria persona's (tests/data/personas.json) */

static struct sim_env env;
/* Where the last count_in_memory found its needle (the first ones). */
static unsigned long found_at[16];
static size_t n_found_at;
static pid_t bridge = -1;
static char sock[400], conf[400], log_path[400], conf_text[1200];

/* Searches mem[at .. at + len) of the process in chunks overlapping by n - 1. */
static size_t search(int mem, unsigned long at, unsigned long len, const void *needle, size_t n,
                     const char *where, size_t *scanned)
{
    static uint8_t buf[1 << 20];
    size_t found = 0;
    unsigned long end = at + len;
    while (at < end) {
        size_t want = end - at < sizeof buf ? end - at : sizeof buf;
        ssize_t k = pread(mem, buf, want, (off_t)at);
        if (k <= 0)
            break;
        *scanned += (size_t)k;
        for (size_t i = 0; i + n <= (size_t)k; i++)
            if (buf[i] == ((const uint8_t *)needle)[0] && !memcmp(buf + i, needle, n)) {
                found++;
                if (n_found_at < sizeof found_at / sizeof found_at[0])
                    found_at[n_found_at++] = at + i;
                /* Where, and what is around it, to find the copy that was missed. */
                char around[97];
                size_t from = i >= 32 ? i - 32 : 0,
                       to = i + n + 32 < (size_t)k ? i + n + 32 : (size_t)k;
                for (size_t c = from; c < to && c - from < sizeof around - 1; c++)
                    around[c - from] = buf[c] >= 0x20 && buf[c] < 0x7F ? (char)buf[c] : '.';
                around[to - from < sizeof around - 1 ? to - from : sizeof around - 1] = '\0';
                print_message("  found at %#lx in %s: %s\n", at + i, where, around);
            }
        if ((size_t)k < n || at + (unsigned long)k >= end)
            break;
        at += (unsigned long)k - (n - 1);
    }
    return found;
}

/*
 * Occurrences of needle[0..n) in every readable mapping of pid, reading only
 * the pages that exist (/proc/PID/pagemap: present or swapped), so that a
 * sanitizer's reserved terabytes cost nothing.
 */
static size_t count_in_memory(pid_t pid, const void *needle, size_t n)
{
    char path[64], line[512];
    snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
    FILE *maps = fopen(path, "r");
    assert_non_null(maps);
    snprintf(path, sizeof path, "/proc/%d/mem", (int)pid);
    int mem = open(path, O_RDONLY);
    assert_true(mem >= 0);
    snprintf(path, sizeof path, "/proc/%d/pagemap", (int)pid);
    int pm = open(path, O_RDONLY);
    assert_true(pm >= 0);
    const unsigned long page = (unsigned long)sysconf(_SC_PAGESIZE);
    static uint64_t ent[4096];
    size_t found = 0, scanned = 0;
    n_found_at = 0;
    while (fgets(line, sizeof line, maps)) {
        unsigned long lo, hi;
        char perms[8];
        if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3 || perms[0] != 'r' ||
            strstr(line, "[vvar]") || strstr(line, "[vsyscall]"))
            continue;
        line[strcspn(line, "\n")] = '\0';
        /* A sanitizer's shadow memory: terabytes reserved, never a buffer of ours. */
        if (hi - lo > (1ul << 32))
            continue;
        /* Runs of existing pages; a secret across two runs would need both to exist. */
        unsigned long run = 0, run_len = 0;
        for (unsigned long pg = lo; pg < hi;) {
            size_t k = (hi - pg) / page < 4096 ? (hi - pg) / page : 4096;
            ssize_t r = pread(pm, ent, k * 8, (off_t)(pg / page * 8));
            if (r <= 0)
                break;
            for (size_t e = 0; e < (size_t)r / 8; e++, pg += page) {
                bool there = (ent[e] >> 63) & 1 || (ent[e] >> 62) & 1;
                if (there && !run_len)
                    run = pg;
                if (there) {
                    run_len += page;
                    continue;
                }
                if (run_len)
                    found += search(mem, run, run_len, needle, n, line, &scanned);
                run_len = 0;
            }
        }
        if (run_len)
            found += search(mem, run, run_len, needle, n, line, &scanned);
    }
    fclose(maps);
    close(mem);
    close(pm);
    assert_true(scanned > 100000); /* we did read its memory */
    return found;
}

static size_t count_str(pid_t pid, const char *s)
{
    return count_in_memory(pid, s, strlen(s));
}

/* The CAN or MRZ in none of the bridge's and the reader's memory once
 * they are done with the session (what ends it may still be on its way:
 * a cancel to the reader, a hang-up noticed; 15 s at most). */
static void none_left(const char *secret, const char *after)
{
    size_t in_reader, in_bridge;
    for (int k = 0;; k++) {
        in_reader = count_str(env.reader, secret);
        in_bridge = bridge > 0 ? count_str(bridge, secret) : 0;
        if ((!in_reader && !in_bridge) || k == 150)
            break;
        usleep(100000);
    }
    print_message("after %-34s: '%s' in the bridge %zux, in the reader %zux\n", after, secret,
                  in_bridge, in_reader);
    if (in_bridge || in_reader)
        fail_msg("%s left behind after %s", secret, after);
}

static void start_bridge(void)
{
    bridge = bridge_spawn(conf, conf_text, sock, log_path, NULL, NULL);
    assert_true(bridge > 0);
    assert_true(bridge_wait_reader(sock, "r1", "present", 10000) >= 0);
}

static int setup(void **state)
{
    (void)state;
    if (geteuid() != 0) {
        fprintf(stderr, "test_secrets must run as root (it reads other processes' memory)\n");
        return -1;
    }
    if (sim_env_start(&env, "algeria", NULL) != 0)
        return -1;
    if (sim_env_provision(&env) != 0)
        return -1;
    snprintf(sock, sizeof sock, "%s/run/bridge.sock", env.dir);
    snprintf(conf, sizeof conf, "%s/bridge.conf", env.dir);
    snprintf(log_path, sizeof log_path, "%s/bridge.log", env.dir);
    snprintf(conf_text, sizeof conf_text,
             "origin = " ORIGIN "\nreader = sim:r1:%s\nlog_level = debug\nauth_delay_ms = 0\n"
             "queue_per_peer = 8\n",
             env.host_path);
    bridge = bridge_spawn(conf, conf_text, sock, log_path, NULL, NULL);
    return bridge > 0 && bridge_wait_reader(sock, "r1", "present", 10000) >= 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    bridge_stop(&bridge);
    sim_env_stop(&env);
    return 0;
}

static char *auth_line(const char *id, const char *can, const char *extra)
{
    static char line[600];
    snprintf(line, sizeof line,
             "{\"id\":\"%s\",\"method\":\"authenticate\",\"params\":{\"challenge\":\"" CHALLENGE
             "\",\"origin\":\"" ORIGIN "\",\"can\":\"%s\"%s}}\n",
             id, can, extra);
    return line;
}

/* Until the bridge has n authenticates queued (10 s at most). */
static void wait_queued(double n)
{
    for (int k = 0; k < 1000; k++) {
        int fd = bridge_conn(sock);
        cJSON *st = bridge_call(fd, "{\"id\":1,\"method\":\"status\"}\n");
        close(fd);
        bool there = jnum(st, "result.sessions.queued") == n;
        cJSON_Delete(st);
        if (there)
            return;
        usleep(10000);
    }
    fail_msg("%g authenticates never queued", n);
}

/* Reads events until `step` (NULL: until the answer); returns the answer or NULL. */
static cJSON *until(int fd, const char *step)
{
    for (;;) {
        cJSON *j = bridge_read(fd, 20000);
        assert_non_null(j);
        if (step && !strcmp(jstr(j, "step"), step)) {
            cJSON_Delete(j);
            return NULL;
        }
        if (!jget(j, "event"))
            return j;
        cJSON_Delete(j);
    }
}

/* Every way a session ends, the bridge's and the reader's memory searched after each. */
static void no_secret_left_after_any_session(void **state)
{
    (void)state;
    static const char *const cans[] = {GOOD_CAN, "907153", "907154", "907155", "907156", "907157"};
    for (size_t i = 0; i < sizeof cans / sizeof cans[0]; i++)
        none_left(cans[i], "nothing yet (baseline)");

    /* Success. */
    int fd = bridge_conn(sock);
    cJSON *j = bridge_call(fd, auth_line("ok", GOOD_CAN, ""));
    assert_non_null(jget(j, "result.format"));
    cJSON_Delete(j);
    none_left(GOOD_CAN, "a verified session");

    /* A wrong CAN (PACE fails). */
    j = bridge_call(fd, auth_line("bad", "907153", ""));
    assert_string_equal(jstr(j, "error.code"), "CARD_AUTH_FAILED");
    cJSON_Delete(j);
    none_left("907153", "a wrong CAN");

    /* Cancelled while the reader holds it (after the ATR, before PACE). */
    bridge_send(fd, auth_line("c", "907154", ""));
    assert_null(until(fd, "atr"));
    bridge_send(fd, "{\"id\":\"x\",\"method\":\"cancel\",\"params\":{\"request\":\"c\"}}\n");
    j = until(fd, NULL);
    assert_string_equal(jstr(j, "error.code"), "CANCELLED");
    cJSON_Delete(j);
    j = bridge_answer(fd);
    cJSON_Delete(j);
    none_left("907154", "cancel mid-session");
    close(fd);

    /* The client hangs up mid-session. */
    fd = bridge_conn(sock);
    bridge_send(fd, auth_line("d", "907155", ""));
    assert_null(until(fd, "cardaccess"));
    close(fd);
    none_left("907155", "the client hanging up");

    /* Timed out in the queue, never sent to the reader (no card). */
    char reply[64];
    assert_int_equal(sim_env_control(&env, "remove", reply, sizeof reply), 0);
    assert_true(bridge_wait_reader(sock, "r1", "absent", 5000) >= 0);
    fd = bridge_conn(sock);
    j = bridge_call(fd, auth_line("t", "907156", ",\"timeout_ms\":300"));
    assert_string_equal(jstr(j, "error.code"), "TIMEOUT");
    cJSON_Delete(j);
    close(fd);
    none_left("907156", "a timeout in the queue");
    assert_int_equal(sim_env_control(&env, "insert", reply, sizeof reply), 0);
    assert_true(bridge_wait_reader(sock, "r1", "present", 5000) >= 0);

    /* The bridge killed mid-session: the reader ends the dead host's session. */
    fd = bridge_conn(sock);
    bridge_send(fd, auth_line("k", "907157", ""));
    assert_null(until(fd, "cardaccess"));
    kill(bridge, SIGKILL);
    waitpid(bridge, NULL, 0);
    bridge = -1;
    close(fd);
    none_left("907157", "the bridge killed mid-session");
    start_bridge();

    /* The MRZ (PACE with the MRZ on this card): the MRZ information and the
     * request's fields. The algeria persona: 100200300, born 850520, expires 300101. */
    fd = bridge_conn(sock);
    j = bridge_call(
        fd, "{\"id\":\"m\",\"method\":\"authenticate\",\"params\":{\"challenge\":\"" CHALLENGE
            "\",\"origin\":\"" ORIGIN "\",\"mrz\":{\"document_number\":\"X9071589\","
            "\"birth_date\":\"710203\",\"expiry_date\":\"330405\"}}}\n");
    assert_string_equal(jstr(j, "error.code"), "CARD_AUTH_FAILED");
    cJSON_Delete(j);
    close(fd);
    none_left("X9071589", "a wrong MRZ (document number)");
    none_left("\"710203\"", "a wrong MRZ (birth date field)");
}

/*
 * Requests refused before any session: the line that carried the CAN went
 * through the client's input buffer, the parser and (for some) the request,
 * and is wiped all the same. One CAN per way to be refused: an origin not
 * allowed, no such reader, bad parameters, JSON that is not strict, not
 * JSON, a full queue, a line too long, half a line and a hang-up.
 */
static void no_secret_left_after_refused_requests(void **state)
{
    (void)state;
    static const struct {
        const char *can, *extra, *code;
    } refused[] = {
        {"907201", ",\"origin\":\"https://evil.example\"", "ORIGIN_NOT_ALLOWED"},
        {"907202", ",\"reader\":\"nope\"", "NO_READER"},
        {"907203", ",\"timeout_ms\":-5", "BAD_PARAMS"},
        {"907204", ",\"can\":\"907204\"", "BAD_JSON"}, /* a name twice */
        {"907205", ",\"x\":\"\\u0000\"", "BAD_JSON"},
    };
    int fd = bridge_conn(sock);
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        char line[700];
        const char *l = auth_line("r", refused[i].can, refused[i].extra);
        /* the other origin in place of the allowed one (not given twice) */
        snprintf(line, sizeof line, "%s", l);
        if (!strncmp(refused[i].extra, ",\"origin\"", 9)) {
            char *o = strstr(line, "\"origin\":\"" ORIGIN "\",");
            assert_non_null(o);
            memmove(o, o + strlen("\"origin\":\"" ORIGIN "\","),
                    strlen(o + strlen("\"origin\":\"" ORIGIN "\",")) + 1);
        }
        cJSON *j = bridge_call(fd, line);
        assert_string_equal(jstr(j, "error.code"), refused[i].code);
        cJSON_Delete(j);
    }
    /* Not JSON at all (cut short, then a newline). */
    bridge_send(fd, "{\"id\":1,\"method\":\"authenticate\",\"params\":{\"can\":\"907206\"\n");
    cJSON *j = bridge_answer(fd);
    assert_string_equal(jstr(j, "error.code"), "BAD_JSON");
    cJSON_Delete(j);
    close(fd);

    /* A full queue: no card, queue_per_peer (8) pending, the ninth refused. */
    char reply[64];
    assert_int_equal(sim_env_control(&env, "remove", reply, sizeof reply), 0);
    assert_true(bridge_wait_reader(sock, "r1", "absent", 5000) >= 0);
    fd = bridge_conn(sock);
    for (int i = 0; i < 8; i++) {
        char id[8];
        snprintf(id, sizeof id, "q%d", i);
        bridge_send(fd, auth_line(id, "907207", ",\"timeout_ms\":60000"));
    }
    assert_null(until(fd, "waiting_for_card")); /* the first; the others behind it */
    wait_queued(8);
    j = bridge_call(fd, auth_line("full", "907208", ""));
    assert_string_equal(jstr(j, "error.code"), "READER_BUSY");
    cJSON_Delete(j);
    close(fd); /* and the eight queued ones go with their client */
    none_left("907208", "a request refused by a full queue");
    none_left("907207", "queued requests whose client left");
    assert_int_equal(sim_env_control(&env, "insert", reply, sizeof reply), 0);
    assert_true(bridge_wait_reader(sock, "r1", "present", 5000) >= 0);

    /* A line longer than the bridge takes, the CAN at its start. */
    fd = bridge_conn(sock);
    static char big[70000];
    int n = snprintf(big, sizeof big,
                     "{\"id\":1,\"method\":\"authenticate\",\"params\":{\"can\":\"907209\","
                     "\"pad\":\"");
    memset(big + n, 'a', sizeof big - (size_t)n - 3);
    memcpy(big + sizeof big - 3, "\"\n", 3);
    bridge_send(fd, big);
    j = bridge_read(fd, 20000);
    if (j) /* answered and closed, or closed */
        cJSON_Delete(j);
    close(fd);

    /* Half a line, then the client hangs up. */
    fd = bridge_conn(sock);
    bridge_send(fd, "{\"id\":1,\"method\":\"authenticate\",\"params\":{\"can\":\"907210\"");
    int other = bridge_conn(sock); /* the bridge has read it once it served another */
    j = bridge_call(other, "{\"id\":2,\"method\":\"version\"}\n");
    cJSON_Delete(j);
    close(other);
    close(fd);

    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        none_left(refused[i].can, refused[i].code);
    none_left("907206", "not JSON");
    none_left("907209", "a line too long");
    none_left("907210", "half a line and a hang-up");
}

/* ---- the WebSocket (a browser's page) ------------------------------------- */

/* A page's WebSocket to the bridge on 127.0.0.1:port (RFC 6455 §4.1), with
 * the allowed origin; -1 if the upgrade is refused. */
static int ws_open(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    char req[400], resp[2048];
    int n = snprintf(req, sizeof req,
                     "GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\nOrigin: " ORIGIN "\r\n\r\n",
                     port);
    assert_int_equal(write(fd, req, (size_t)n), n);
    size_t got = 0;
    while (got < sizeof resp - 1 && !memmem(resp, got, "\r\n\r\n", 4)) {
        ssize_t k = read(fd, resp + got, 1); /* no byte of a frame after it */
        assert_true(k == 1);
        got++;
    }
    resp[got] = '\0';
    if (strncmp(resp, "HTTP/1.1 101", 12)) {
        close(fd);
        return -1;
    }
    return fd;
}

/* One masked text frame (§5.2, §5.3: a client masks every frame). */
static void ws_send(int fd, const char *text)
{
    static const uint8_t key[4] = {0x5A, 0x3C, 0x96, 0xE1};
    size_t n = strlen(text), h = 0;
    uint8_t *f = malloc(n + 14);
    assert_non_null(f);
    f[h++] = 0x81;
    if (n < 126) {
        f[h++] = (uint8_t)(0x80 | n);
    } else {
        f[h++] = 0x80 | 126;
        f[h++] = (uint8_t)(n >> 8);
        f[h++] = (uint8_t)n;
    }
    memcpy(f + h, key, 4);
    h += 4;
    for (size_t i = 0; i < n; i++)
        f[h + i] = (uint8_t)text[i] ^ key[i % 4];
    assert_int_equal(write(fd, f, h + n), (ssize_t)(h + n));
    free(f);
}

static bool read_all(int fd, uint8_t *p, size_t n)
{
    while (n) {
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        if (poll(&pf, 1, 20000) != 1)
            return false;
        ssize_t k = read(fd, p, n);
        if (k <= 0)
            return false;
        p += k;
        n -= (size_t)k;
    }
    return true;
}

/* The next text message from the bridge (unmasked), parsed; NULL on close. */
static cJSON *ws_read(int fd)
{
    uint8_t h[8];
    if (!read_all(fd, h, 2))
        return NULL;
    size_t n = h[1] & 0x7F;
    if (n == 126) {
        if (!read_all(fd, h + 2, 2))
            return NULL;
        n = (size_t)h[2] << 8 | h[3];
    }
    assert_true(n < 126 || (h[1] & 0x7F) == 126);
    char *p = malloc(n + 1);
    assert_non_null(p);
    if (!read_all(fd, (uint8_t *)p, n)) {
        free(p);
        return NULL;
    }
    p[n] = '\0';
    cJSON *j = (h[0] & 0x0F) == 1 ? cJSON_Parse(p) : NULL;
    free(p);
    return j;
}

/* Messages until the step (NULL: until the answer, returned). */
static cJSON *ws_until(int fd, const char *step)
{
    for (;;) {
        cJSON *j = ws_read(fd);
        assert_non_null(j);
        if (step && !strcmp(jstr(j, "step"), step)) {
            cJSON_Delete(j);
            return NULL;
        }
        if (!jget(j, "event"))
            return j;
        cJSON_Delete(j);
    }
}

/* A free TCP port on loopback (the bridge takes it just after). */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

/* The same through a page's WebSocket: what libwebsockets took in (the
 * unmasked message) is wiped too. */
static void no_secret_left_after_websocket_sessions(void **state)
{
    (void)state;
    bridge_stop(&bridge);
    int port = free_port();
    size_t at = strlen(conf_text);
    snprintf(conf_text + at, sizeof conf_text - at, "websocket = 127.0.0.1:%d\n", port);
    start_bridge();
    int fd = ws_open(port);
    assert_true(fd >= 0);
    char line[600];
    snprintf(line, sizeof line, "%s", auth_line("ok", GOOD_CAN, ""));
    ws_send(fd, line);
    cJSON *j = ws_until(fd, NULL);
    assert_non_null(jget(j, "result.format"));
    cJSON_Delete(j);
    none_left(GOOD_CAN, "a verified session (WebSocket)");

    snprintf(line, sizeof line, "%s", auth_line("bad", "907301", ""));
    ws_send(fd, line);
    j = ws_until(fd, NULL);
    assert_string_equal(jstr(j, "error.code"), "CARD_AUTH_FAILED");
    cJSON_Delete(j);
    none_left("907301", "a wrong CAN (WebSocket)");

    /* Refused: another origin than the page's. */
    snprintf(line, sizeof line,
             "{\"id\":\"o\",\"method\":\"authenticate\",\"params\":{\"challenge\":\"" CHALLENGE
             "\",\"origin\":\"https://other.example\",\"can\":\"907302\"}}");
    ws_send(fd, line);
    j = ws_until(fd, NULL);
    assert_string_equal(jstr(j, "error.code"), "ORIGIN_NOT_ALLOWED");
    cJSON_Delete(j);
    none_left("907302", "a request refused (WebSocket)");

    /* The page goes away mid-session. */
    snprintf(line, sizeof line, "%s", auth_line("gone", "907303", ""));
    ws_send(fd, line);
    assert_null(ws_until(fd, "cardaccess"));
    close(fd);
    none_left("907303", "the page going away (WebSocket)");

    /* Half a frame (the library holds what came, unmasked), then the page goes. */
    fd = ws_open(port);
    assert_true(fd >= 0);
    snprintf(line, sizeof line, "%s", auth_line("half", "907304", ""));
    static const uint8_t key[4] = {0x11, 0x22, 0x33, 0x44};
    size_t n = strlen(line);
    uint8_t f[700] = {0x81, 0x80 | 126, (uint8_t)(n >> 8), (uint8_t)n, 0x11, 0x22, 0x33, 0x44};
    for (size_t i = 0; i < n; i++)
        f[8 + i] = (uint8_t)line[i] ^ key[i % 4];
    assert_int_equal(write(fd, f, 8 + n - 10), (ssize_t)(8 + n - 10)); /* all but 10 bytes */
    int other = bridge_conn(sock); /* the bridge has read it once it served another */
    j = bridge_call(other, "{\"id\":2,\"method\":\"version\"}\n");
    cJSON_Delete(j);
    close(other);
    close(fd);
    none_left("907304", "half a message, then the page going away (WebSocket)");
}

/* The PC/SC backend with a plain reader (vsmartcard's vpcd in a pcscd of the
 * test's own): the bridge runs PACE itself, so the CAN, its key K_pi and
 * the session keys pass through the bridge's own memory. */
static void no_secret_left_after_pcsc_sessions(void **state)
{
    (void)state;
    struct pcscd_env pe;
    int port;
    assert_int_equal(pcscd_env_init(&pe), 0);
    assert_true((port = pcscd_env_free_port_pair()) > 0);
    assert_int_equal(pcscd_env_vpcd(&pe, "vpcd", port), 0);
    assert_int_equal(pcscd_env_start(&pe), 0);
    char host[64], vlog[400];
    snprintf(host, sizeof host, "127.0.0.1:%d", port);
    snprintf(vlog, sizeof vlog, "%s/vcard.log", pe.dir);
    char *argv[] = {getenv("HAWIYA_VCARD"),    "--vpcd",    host,      "--personas",
                    getenv("HAWIYA_PERSONAS"), "--persona", "algeria", "--pki",
                    getenv("HAWIYA_PKI_DIR"),  NULL};
    pid_t vcard = pcscd_env_spawn(argv, vlog);
    assert_true(vcard > 0);
    bridge_stop(&bridge);
    snprintf(conf_text, sizeof conf_text,
             "origin = " ORIGIN "\npcsc = all\nlog_level = debug\nauth_delay_ms = 0\n");
    bridge = bridge_spawn(conf, conf_text, sock, log_path, NULL, NULL);
    assert_true(bridge > 0);
    assert_true(bridge_wait_reader(sock, "virtual-pcd-00-00", "present", 20000) >= 0);
    const char *on = ",\"reader\":\"virtual-pcd-00-00\"";

    int fd = bridge_conn(sock);
    cJSON *j = bridge_call(fd, auth_line("ok", GOOD_CAN, on));
    assert_non_null(jget(j, "result.format"));
    cJSON_Delete(j);
    none_left(GOOD_CAN, "a session through pcscd");

    j = bridge_call(fd, auth_line("bad", "907401", on));
    assert_string_equal(jstr(j, "error.code"), "CARD_AUTH_FAILED");
    cJSON_Delete(j);
    none_left("907401", "a wrong CAN through pcscd");

    /* Cancelled once the card is powered, before PACE ends. */
    bridge_send(fd, auth_line("c", "907402", on));
    assert_null(until(fd, "atr"));
    bridge_send(fd, "{\"id\":\"x\",\"method\":\"cancel\",\"params\":{\"request\":\"c\"}}\n");
    j = until(fd, NULL);
    cJSON_Delete(j);
    j = bridge_answer(fd);
    cJSON_Delete(j);
    close(fd);
    none_left("907402", "a session through pcscd cancelled");

    bridge_stop(&bridge);
    pcscd_env_kill(&vcard);
    pcscd_env_cleanup(&pe);
}

/* The CLI: what it holds while it waits for a card, with --can - and with
 * the CAN (and MRZ) as arguments. */
static void cli_keeps_no_copy_while_it_waits(void **state)
{
    (void)state;
    char reply[64];
    assert_int_equal(sim_env_control(&env, "remove", reply, sizeof reply), 0);
    assert_true(bridge_wait_reader(sock, "r1", "absent", 5000) >= 0);
    const char *cli = getenv("HAWIYA_CLI");
    static const struct {
        const char *secret, *how;
    } cases[] = {
        {"907158", "stdin"},
        {"907159", "argv"},
        {"Z9071600", "mrz stdin"},
        {"Z9071611", "mrz argv"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int in[2];
        assert_int_equal(pipe(in), 0);
        pid_t p = fork();
        if (p == 0) {
            dup2(in[0], 0);
            close(in[1]);
            int null = open("/dev/null", O_WRONLY);
            dup2(null, 1);
            dup2(null, 2);
            if (!strcmp(cases[i].how, "stdin"))
                execl(cli, cli, "auth", "--socket", sock, "--challenge", CHALLENGE, "--origin",
                      ORIGIN, "--reader", "r1", "--can", "-", "--timeout-ms", "60000",
                      (char *)NULL);
            else if (!strcmp(cases[i].how, "argv"))
                execl(cli, cli, "auth", "--socket", sock, "--challenge", CHALLENGE, "--origin",
                      ORIGIN, "--reader", "r1", "--can", cases[i].secret, "--timeout-ms", "60000",
                      (char *)NULL);
            else if (!strcmp(cases[i].how, "mrz argv"))
                execl(cli, cli, "auth", "--socket", sock, "--challenge", CHALLENGE, "--origin",
                      ORIGIN, "--reader", "r1", "--mrz", "Z9071611,710203,330405", "--timeout-ms",
                      "60000", (char *)NULL);
            else
                execl(cli, cli, "auth", "--socket", sock, "--challenge", CHALLENGE, "--origin",
                      ORIGIN, "--reader", "r1", "--mrz", "-", "--timeout-ms", "60000",
                      (char *)NULL);
            _exit(127);
        }
        close(in[0]);
        char line[64];
        if (!strcmp(cases[i].how, "mrz stdin"))
            snprintf(line, sizeof line, "%s,710203,330405\n", cases[i].secret);
        else
            snprintf(line, sizeof line, "%s\n", cases[i].secret);
        ssize_t w = write(in[1], line, strlen(line));
        assert_true(w > 0);
        /* Once the bridge has it queued, the CLI is waiting. */
        wait_queued(1);
        /* Sent, so wiped: at once, or within 10 s (it may be just sending). */
        size_t n;
        for (int k = 0; (n = count_str(p, cases[i].secret)) && k < 100; k++)
            usleep(100000);
        print_message("hawiya auth (%s) waiting: '%s' in its memory %zux\n", cases[i].how,
                      cases[i].secret, n);
        /* Its process list entry shows no CAN either. */
        char path[64], cmdline[4096];
        snprintf(path, sizeof path, "/proc/%d/cmdline", (int)p);
        FILE *f = fopen(path, "r");
        size_t m = f ? fread(cmdline, 1, sizeof cmdline, f) : 0;
        if (f)
            fclose(f);
        assert_null(memmem(cmdline, m, cases[i].secret, strlen(cases[i].secret)));
        /* The core-dump side of the CLI: no core file size. */
        char limits[64];
        snprintf(limits, sizeof limits, "/proc/%d/limits", (int)p);
        f = fopen(limits, "r");
        assert_non_null(f);
        char text[4096];
        m = fread(text, 1, sizeof text - 1, f);
        fclose(f);
        text[m] = '\0';
        assert_non_null(strstr(text, "Max core file size        0                    0"));
        kill(p, SIGTERM);
        waitpid(p, NULL, 0);
        close(in[1]);
        assert_int_equal(n, 0);
    }
    assert_int_equal(sim_env_control(&env, "insert", reply, sizeof reply), 0);
}

/* Whether the mapping of pid that holds addr is left out of core dumps
 * (MADV_DONTDUMP: "dd" among its VmFlags in /proc/PID/smaps). */
static bool never_dumped(pid_t pid, unsigned long addr)
{
    char path[64], line[512];
    snprintf(path, sizeof path, "/proc/%d/smaps", (int)pid);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    bool inside = false, dd = false, seen = false;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, ' ') > strchr(line, '-'))
            inside = addr >= lo && addr < hi;
        else if (inside && !strncmp(line, "VmFlags:", 8)) {
            seen = true;
            dd = strstr(line, " dd") != NULL;
            break;
        }
    }
    fclose(f);
    assert_true(seen);
    return dd;
}

/* Every copy of secret that pid holds now (at least one) is in pages left out of core dumps. */
static size_t live_but_never_dumped(pid_t pid, const char *secret)
{
    size_t live = count_str(pid, secret);
    assert_true(live >= 1);
    for (size_t i = 0; i < n_found_at; i++)
        if (!never_dumped(pid, found_at[i]))
            fail_msg("%s at %#lx in pid %d is in a mapping a core dump would carry", secret,
                     found_at[i], (int)pid);
    return live;
}

#if !defined(__SANITIZE_ADDRESS__)
/* `gcore` (gdb) of pid into dir; the core's size, and how many times needle
 * is in it. Not under AddressSanitizer: gcore does not finish on a process
 * with its terabytes of shadow (never_dumped() checks the same pages). */
static size_t count_in_core(pid_t pid, const char *needle, long *size)
{
    char cmd[800], core[500];
    snprintf(core, sizeof core, "%s/core", env.dir);
    snprintf(cmd, sizeof cmd, "gcore -o '%s' %d >/dev/null 2>&1", core, (int)pid);
    assert_int_equal(system(cmd), 0);
    snprintf(core + strlen(core), sizeof core - strlen(core), ".%d", (int)pid);
    FILE *f = fopen(core, "rb");
    assert_non_null(f);
    static uint8_t buf[1 << 20];
    size_t found = 0, n = strlen(needle), k;
    *size = 0;
    long carry = 0;
    while ((k = fread(buf + carry, 1, sizeof buf - (size_t)carry, f)) > 0) {
        size_t have = (size_t)carry + k;
        *size += (long)k;
        for (size_t i = 0; i + n <= have; i++)
            if (!memcmp(buf + i, needle, n))
                found++;
        carry = have >= n - 1 ? (long)n - 1 : (long)have;
        memmove(buf, buf + have - (size_t)carry, (size_t)carry);
    }
    fclose(f);
    unlink(core);
    return found;
}
#endif

static void limits_say_no_core(pid_t pid)
{
    char path[64], text[4096];
    snprintf(path, sizeof path, "/proc/%d/limits", (int)pid);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t m = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[m] = '\0';
    assert_non_null(strstr(text, "Max core file size        0                    0"));
}

/* The processes as another user: /proc/PID/mem turns root's when the
 * process made itself non-dumpable. */
static void not_dumpable_as(const char *const *argv, const char *what)
{
    int in[2]; /* a stdin that never ends (hawiya auth --can - waits on it) */
    assert_int_equal(pipe(in), 0);
    pid_t p = fork();
    if (p == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(in[0], 0);
        close(in[1]);
        dup2(null, 1);
        dup2(null, 2);
        if (setgid(65534) || setuid(65534))
            _exit(120);
        execv(argv[0], (char *const *)argv);
        _exit(121);
    }
    /* Once it runs the program (setuid alone makes the child non-dumpable
     * until its exec), /proc/PID/mem turns root's when the program hardens
     * itself: at once, or within 10 s on a loaded machine. */
    char path[64], exe[PATH_MAX], want[PATH_MAX];
    assert_non_null(realpath(argv[0], want));
    snprintf(path, sizeof path, "/proc/%d/exe", (int)p);
    for (int k = 0; k < 1000; k++) {
        ssize_t n = readlink(path, exe, sizeof exe - 1);
        exe[n > 0 ? n : 0] = '\0';
        if (!strcmp(exe, want))
            break;
        usleep(10000);
    }
    assert_string_equal(exe, want);
    snprintf(path, sizeof path, "/proc/%d/mem", (int)p);
    struct stat mem;
    for (int k = 0; k < 1000; k++) {
        assert_int_equal(stat(path, &mem), 0);
        if (mem.st_uid == 0)
            break;
        usleep(10000);
    }
    print_message("%s as uid 65534: /proc/PID/mem owned by uid %u (0: not dumpable)\n", what,
                  (unsigned)mem.st_uid);
    assert_int_equal(mem.st_uid, 0);
    limits_say_no_core(p);
    kill(p, SIGKILL);
    waitpid(p, NULL, 0);
    close(in[0]);
    close(in[1]);
}

static void no_core_dump_carries_a_secret(void **state)
{
    (void)state;
    limits_say_no_core(bridge);
    limits_say_no_core(env.reader);
    /* Each program as an ordinary user: not dumpable. */
    const char *cli[] = {getenv("HAWIYA_CLI"),
                         "auth",
                         "--socket",
                         "/nonexistent/b.sock",
                         "--challenge",
                         CHALLENGE,
                         "--origin",
                         ORIGIN,
                         "--can",
                         "-",
                         NULL};
    not_dumpable_as(cli, "hawiya auth --can -");
    char run[64] = "/tmp/hawiya-secrets-XXXXXX", bsock[128];
    assert_non_null(mkdtemp(run));
    assert_int_equal(chown(run, 65534, 65534), 0);
    snprintf(bsock, sizeof bsock, "%s/bridge.sock", run);
    const char *br[] = {getenv("HAWIYA_BRIDGE"), "--config", "/dev/null", "--socket", bsock, NULL};
    not_dumpable_as(br, "hawiya-bridge");
    char rm[128];
    snprintf(rm, sizeof rm, "rm -rf '%s'", run);
    assert_int_equal(system(rm), 0);
    char line[300];
    snprintf(line, sizeof line, "%s/none.sock", env.dir);
    const char *rd[] = {
        getenv("HAWIYA_SIM_READER"), "--card", line, "--host", "/nonexistent/h", NULL};
    not_dumpable_as(rd, "hawiya-sim-reader");

    /* A queued request's CAN is in the bridge's memory, not in its core. */
    char reply[64];
    assert_int_equal(sim_env_control(&env, "remove", reply, sizeof reply), 0);
    assert_true(bridge_wait_reader(sock, "r1", "absent", 5000) >= 0);
    int fd = bridge_conn(sock);
    bridge_send(fd, auth_line("q", "907161", ",\"timeout_ms\":60000"));
    assert_null(until(fd, "waiting_for_card"));
    size_t live = live_but_never_dumped(bridge, "907161");
    print_message("queued CAN: in the bridge's memory %zux, each in MADV_DONTDUMP pages\n", live);
#if !defined(__SANITIZE_ADDRESS__)
    long size;
    size_t dumped = count_in_core(bridge, "907161", &size);
    print_message("queued CAN: in its gcore (%ld bytes) %zux\n", size, dumped);
    assert_true(size > 100000);
    assert_int_equal(dumped, 0);
#endif
    close(fd);
    assert_int_equal(sim_env_control(&env, "insert", reply, sizeof reply), 0);
    assert_true(bridge_wait_reader(sock, "r1", "present", 5000) >= 0);

    /* A running session's CAN in the reader (the card stalls mid-session). */
    assert_int_equal(sim_env_control(&env, "stall on", reply, sizeof reply), 0);
    fd = bridge_conn(sock);
    bridge_send(fd, auth_line("s", "907162", ""));
    assert_null(until(fd, "atr"));
    for (int k = 0; !count_str(env.reader, "907162") && k < 100; k++)
        usleep(100000); /* the reader has the CAN once the bridge sent its escape */
    live = live_but_never_dumped(env.reader, "907162");
    print_message("session CAN: in the reader's memory %zux, each in MADV_DONTDUMP pages\n", live);
#if !defined(__SANITIZE_ADDRESS__)
    dumped = count_in_core(env.reader, "907162", &size);
    print_message("session CAN: in its gcore (%ld bytes) %zux\n", size, dumped);
    assert_true(size > 100000);
    assert_int_equal(dumped, 0);
#endif
    assert_int_equal(sim_env_control(&env, "stall off", reply, sizeof reply), 0);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(no_secret_left_after_any_session, setup, teardown),
        cmocka_unit_test_setup_teardown(no_secret_left_after_refused_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(no_secret_left_after_websocket_sessions, setup, teardown),
        cmocka_unit_test_setup_teardown(no_secret_left_after_pcsc_sessions, setup, teardown),
        cmocka_unit_test_setup_teardown(cli_keeps_no_copy_while_it_waits, setup, teardown),
        cmocka_unit_test_setup_teardown(no_core_dump_carries_a_secret, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

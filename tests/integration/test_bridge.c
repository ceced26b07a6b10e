/*
 * hawiya-bridge end to end: the bridge runs as its own process against the
 * sim reader and the virtual card (sim_env), with a second reader whose
 * socket does not exist ("empty": no card ever), and is driven over its
 * socket with the protocol of docs/bridge-protocol.md. Expected values are
 * the documented answers; the ATR is the default persona's
 * (tests/data/personas.json).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <syslog.h>
#include <unistd.h>
#include <cmocka.h>

#include <cjson/cJSON.h>

#include "hawiya-verify.h"
#include "sim_env.h"

#define ORIGIN "https://record.example"
/* 32 bytes 00..1F, base64url without padding (RFC 4648 §5). */
#define CHALLENGE   "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
#define SECRET_CAN  "314159" /* a wrong CAN: the card refuses it */
#define CARD_CAN    "123456" /* the default persona's CAN (tests/data/personas.json) */
#define DEFAULT_ATR "3B95968031FE458073B421402F"

static struct sim_env env;
static pid_t bridge = -1;
static char sock_path[320], log_path[320], conf_path[320];

static pid_t spawn_bridge(const char *conf, const char *sock, const char *log)
{
    const char *exe = getenv("HAWIYA_BRIDGE");
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        FILE *f = freopen(log, "w", stderr);
        (void)f;
        execl(exe, exe, "--config", conf, "--socket", sock, (char *)NULL);
        _exit(127);
    }
    /* Generous: under ASan on a loaded 2-core machine a start takes seconds. */
    for (int i = 0; i < 3000; i++) {
        struct stat st;
        if (stat(sock, &st) == 0 && S_ISSOCK(st.st_mode))
            return pid;
        struct timespec d = {0, 10000000};
        nanosleep(&d, NULL);
    }
    return -1;
}

static void stop_pid(pid_t *pid)
{
    if (*pid <= 0)
        return;
    kill(*pid, SIGTERM);
    for (int i = 0; i < 300; i++) {
        if (waitpid(*pid, NULL, WNOHANG) == *pid) {
            *pid = -1;
            return;
        }
        struct timespec d = {0, 10000000};
        nanosleep(&d, NULL);
    }
    kill(*pid, SIGKILL);
    waitpid(*pid, NULL, 0);
    *pid = -1;
}

static int conn(const char *path)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

static void send_str(int fd, const char *s)
{
    size_t n = strlen(s);
    while (n > 0) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        assert_true(w > 0);
        s += w;
        n -= (size_t)w;
    }
}

/* One line within timeout_ms, parsed; NULL on EOF (or a timeout when allowed). */
static cJSON *read_json(int fd, int timeout_ms)
{
    static char buf[1 << 16];
    size_t n = 0;
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, timeout_ms) <= 0)
            return NULL;
        /* One byte at a time: lines stay in the socket for the next call. */
        ssize_t k = read(fd, buf + n, 1);
        if (k <= 0)
            return NULL;
        if (buf[n] == '\n') {
            cJSON *j = cJSON_ParseWithLength(buf, n);
            assert_non_null(j);
            return j;
        }
        n++;
        assert_true(n < sizeof buf);
    }
}

/* The next answer (skipping events). */
static cJSON *answer(int fd)
{
    for (;;) {
        cJSON *j = read_json(fd, 10000);
        assert_non_null(j);
        if (!cJSON_GetObjectItemCaseSensitive(j, "event"))
            return j;
        cJSON_Delete(j);
    }
}

static cJSON *call(int fd, const char *line)
{
    send_str(fd, line);
    return answer(fd);
}

static const cJSON *get(const cJSON *j, const char *path)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", path);
    const cJSON *cur = j;
    for (char *save = NULL, *t = strtok_r(buf, ".", &save); t && cur;
         t = strtok_r(NULL, ".", &save)) {
        if (cJSON_IsArray(cur))
            cur = cJSON_GetArrayItem(cur, atoi(t));
        else
            cur = cJSON_GetObjectItemCaseSensitive(cur, t);
    }
    if (!cur)
        fail_msg("no %s", path);
    return cur;
}

static void expect_str(const cJSON *j, const char *path, const char *want)
{
    const cJSON *v = get(j, path);
    assert_true(cJSON_IsString(v));
    assert_string_equal(v->valuestring, want);
}

static void expect_num(const cJSON *j, const char *path, double want)
{
    const cJSON *v = get(j, path);
    assert_true(cJSON_IsNumber(v));
    assert_true(v->valuedouble == want);
}

static void expect_error(const cJSON *j, const char *code, const char *message)
{
    expect_str(j, "error.code", code);
    if (message)
        expect_str(j, "error.message", message);
    assert_null(cJSON_GetObjectItemCaseSensitive(j, "result"));
}

static void expect_event(int fd, const char *name, const char *reader)
{
    cJSON *j = read_json(fd, 10000);
    assert_non_null(j);
    expect_str(j, "event", name);
    expect_str(j, "reader", reader);
    cJSON_Delete(j);
}

/* Polls `readers` until r1 shows `state`. */
static void wait_r1(const char *state)
{
    for (int i = 0; i < 500; i++) {
        int fd = conn(sock_path);
        cJSON *j = call(fd, "{\"id\":1,\"method\":\"readers\"}\n");
        close(fd);
        bool ok = !strcmp(get(j, "result.readers.0.state")->valuestring, state);
        cJSON_Delete(j);
        if (ok)
            return;
        struct timespec d = {0, 10000000};
        nanosleep(&d, NULL);
    }
    fail_msg("reader r1 never became %s", state);
}

static int setup(void **state)
{
    if (sim_env_start(&env, "default", NULL) != 0)
        return -1;
    /* The sim reader serves one host: hand it over to the manufacturer's
     * station (its device certificate from the test reader CA), then to the
     * bridge. */
    if (sim_env_provision(&env) != 0)
        return -1;
    snprintf(sock_path, sizeof sock_path, "%s/run/bridge.sock", env.dir);
    snprintf(log_path, sizeof log_path, "%s/bridge.log", env.dir);
    snprintf(conf_path, sizeof conf_path, "%s/bridge.conf", env.dir);
    FILE *f = fopen(conf_path, "w");
    if (!f)
        return -1;
    fprintf(f,
            "# test configuration\n"
            "origin = " ORIGIN "\n"
            "reader = sim:r1:%s\n"
            "reader = sim:empty:%s/none.sock\n"
            "timeout_ms = 5000\n"
            "queue_max = 4\n"
            "queue_per_peer = 4  # every client here is the same uid\n"
            "log = stderr\n"
            "log_level = debug   # everything that could leak is logged at debug\n",
            env.host_path, env.dir);
    fclose(f);
    bridge = spawn_bridge(conf_path, sock_path, log_path);
    if (bridge < 0)
        return -1;
    wait_r1("present");
    return 0;
}

static int teardown(void **state)
{
    stop_pid(&bridge);
    sim_env_stop(&env);
    return 0;
}

static void version_readers_status_diagnose(void **state)
{
    int fd = conn(sock_path);
    cJSON *j = call(fd, "{\"id\":\"v\",\"method\":\"version\"}\n");
    expect_str(j, "id", "v");
    expect_str(j, "result.bridge", "0.1.0");
    expect_num(j, "result.protocol", 1);
    cJSON_Delete(j);

    j = call(fd, "{\"id\":2,\"method\":\"readers\",\"params\":{}}\n");
    expect_num(j, "id", 2);
    assert_int_equal(cJSON_GetArraySize(get(j, "result.readers")), 2);
    expect_str(j, "result.readers.0.name", "r1");
    expect_str(j, "result.readers.0.backend", "sim");
    expect_str(j, "result.readers.0.state", "present");
    expect_str(j, "result.readers.0.link", "up");
    expect_str(j, "result.readers.1.name", "empty");
    expect_str(j, "result.readers.1.state", "absent");
    expect_str(j, "result.readers.1.link", "down");
    cJSON_Delete(j);

    j = call(fd, "{\"id\":3,\"method\":\"status\"}\n");
    assert_true(get(j, "result.uptime_ms")->valuedouble > 0);
    expect_num(j, "result.readers.configured", 2);
    expect_num(j, "result.readers.up", 1);
    expect_num(j, "result.readers.with_card", 1);
    expect_num(j, "result.sessions.running", 0);
    expect_num(j, "result.sessions.queued", 0);
    expect_num(j, "result.subscribers", 0);
    cJSON_Delete(j);

    j = call(fd, "{\"id\":4,\"method\":\"diagnose\"}\n");
    expect_str(j, "result.backends.0.name", "sim");
    expect_str(j, "result.backends.0.state", "up");
    expect_num(j, "result.backends.0.readers", 2);
    expect_num(j, "result.backends.0.readers_up", 1);
    expect_str(j, "result.readers.0.state", "present");
    assert_true(cJSON_IsNull(get(j, "result.readers.0.last_error")));
    expect_str(j, "result.problems.0.code", "READER_UNREACHABLE");
    expect_str(j, "result.problems.0.reader", "empty");
    assert_non_null(strstr(get(j, "result.problems.0.message")->valuestring, "none.sock"));
    expect_str(j, "result.problems.1.code", "NO_PEER_ALLOW_LIST");
    expect_str(j, "result.problems.1.severity", "warning");
    assert_int_equal(cJSON_GetArraySize(get(j, "result.problems")), 2);
    expect_str(j, "result.config.origins.0", ORIGIN);
    expect_num(j, "result.config.timeout_ms", 5000);
    expect_num(j, "result.config.queue_max", 4);
    cJSON_Delete(j);
    close(fd);
}

/* The platform's own check of what the bridge returned (libhawiya-verify):
 * its error code, and on success the verified document number in doc. */
static enum hv_err platform_verify(const cJSON *assertion, char *doc, size_t cap)
{
    char dir[600];
    snprintf(dir, sizeof dir, "%s/csca", getenv("HAWIYA_PKI_DIR"));
    struct hv_trust *trust = hv_trust_new();
    char msg[256], reader_ca[700];
    assert_non_null(trust);
    assert_int_equal(hv_trust_load_csca_dir(trust, dir, msg, sizeof msg), HV_OK);
    snprintf(reader_ca, sizeof reader_ca, "%s/reader-ca/reader-ca.pem", getenv("HAWIYA_PKI_DIR"));
    assert_int_equal(hv_trust_load_reader_ca_file(trust, reader_ca, msg, sizeof msg), HV_OK);
    uint8_t challenge[32];
    for (int i = 0; i < 32; i++)
        challenge[i] = (uint8_t)i; /* CHALLENGE is base64url of 00 01 .. 1F */
    /* The test PKI's "today" (docs/pki.md): every certificate is valid then,
     * but the expired persona's. */
    struct hv_options opt = {.trust = trust,
                             .challenge = challenge,
                             .challenge_len = 32,
                             .origin = ORIGIN,
                             .now = {2026, 1, 1, 0, 0, 0}};
    char *json = cJSON_PrintUnformatted(assertion);
    struct hv_result res;
    enum hv_err e = hv_verify(json, strlen(json), &opt, &res);
    if (e == HV_OK) {
        cJSON *id = cJSON_Parse(res.identity_json);
        snprintf(doc, cap, "%s", get(id, "document_number")->valuestring);
        cJSON_Delete(id);
    }
    hv_result_free(&res);
    free(json);
    hv_trust_free(trust);
    return e;
}

static void expect_verified(const cJSON *assertion)
{
    char doc[32];
    assert_int_equal(platform_verify(assertion, doc, sizeof doc), HV_OK);
    assert_string_equal(doc, "AB1234567");
    expect_str(assertion, "identity.surname", "BENALI");
    expect_str(assertion, "identity.given_names", "MOHAMED AMINE");
}

/* One authentication as a platform runs it: progress for every step of the
 * reader's session, then an assertion the platform's verifier accepts. */
static void authenticate_returns_verified_assertion(void **state)
{
    int fd = conn(sock_path);
    send_str(fd, "{\"id\":7,\"method\":\"authenticate\",\"params\":{\"challenge\":\"" CHALLENGE
                 "\",\"origin\":\"" ORIGIN "\",\"can\":\"" CARD_CAN "\"}}\n");
    static const char *const steps[] = {"queued", "started", "atr", "cardaccess", "pace",
                                        "select", "read",    "ca",  "aa",         "attest"};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        cJSON *ev = read_json(fd, 10000);
        assert_non_null(ev);
        expect_str(ev, "event", "progress");
        expect_num(ev, "request", 7);
        expect_str(ev, "reader", "r1");
        expect_str(ev, "step", steps[i]);
        if (i >= 2)
            assert_true(cJSON_IsNumber(get(ev, "elapsed_ms")));
        cJSON_Delete(ev);
    }
    cJSON *j = answer(fd);
    expect_num(j, "id", 7);
    expect_str(j, "result.format", "hawiya-assertion/2");
    expect_str(j, "result.origin", ORIGIN);
    expect_verified(get(j, "result"));
    cJSON_Delete(j);
    /* The reader reset the card after the session: present, not active. */
    j = call(fd, "{\"id\":8,\"method\":\"readers\"}\n");
    expect_str(j, "result.readers.0.state", "present");
    cJSON_Delete(j);

    /* A wrong CAN: the card refuses PACE, named, and nothing else changes. */
    j = call(fd, "{\"id\":9,\"method\":\"authenticate\",\"params\":{\"challenge\":\"" CHALLENGE
                 "\",\"origin\":\"" ORIGIN "\",\"can\":\"" SECRET_CAN "\"}}\n");
    expect_error(j, "CARD_AUTH_FAILED", NULL);
    cJSON_Delete(j);
    /* No CAN and no keypad on the sim reader. */
    j = call(fd, "{\"id\":10,\"method\":\"authenticate\",\"params\":{\"challenge\":\"" CHALLENGE
                 "\",\"origin\":\"" ORIGIN "\"}}\n");
    expect_error(j, "NO_CAN", NULL);
    cJSON_Delete(j);
    close(fd);
}

/* Every persona through the whole chain (reader firmware session, bridge,
 * platform verifier): the good cards verify, each bad one fails with its own
 * named error (ICAO 9303-11 §5 and §6.1 checks). */
static void every_persona(void **state)
{
    static const struct {
        const char *id, *can, *doc;
        const char *bridge_error; /* NULL: an assertion comes back */
        enum hv_err verify;
        const char *mrz; /* the params.mrz object, or NULL */
    } cases[] = {
        {"algeria", "654321", "100200300", NULL, HV_OK, NULL},
        {"morocco-cnie", CARD_CAN, "AB1234567", NULL, HV_OK, NULL},
        {"t0-only", CARD_CAN, "AB1234567", NULL, HV_OK, NULL},
        {"inverse", CARD_CAN, "AB1234567", NULL, HV_OK, NULL},
        {"slow", CARD_CAN, "AB1234567", NULL, HV_OK, NULL},
        {"class-ab", CARD_CAN, "AB1234567", NULL, HV_OK, NULL},
        {"expired", CARD_CAN, NULL, NULL, HV_ERR_DOCUMENT_EXPIRED, NULL},
        {"wrong-dg-hash", CARD_CAN, NULL, NULL, HV_ERR_DG_HASH, NULL},
        {"bad-aa-key", CARD_CAN, NULL, NULL, HV_ERR_AA_SIGNATURE, NULL},
        /* No EF.CardAccess, so no PACE, and BAC needs the MRZ: with a CAN
         * alone the reader says so by name; with the MRZ fields, BAC + CA. */
        {"bac-only", CARD_CAN, NULL, "CARD_ERROR", HV_OK, NULL},
        {"bac-only", NULL, "AB1234567", NULL, HV_OK,
         "{\"document_number\":\"AB1234567\",\"birth_date\":\"900115\",\"expiry_date\":"
         "\"310514\"}"},
        /* Both given: a PACE card uses the CAN (this MRZ is not the card's). */
        {"default", CARD_CAN, "AB1234567", NULL, HV_OK,
         "{\"document_number\":\"ZZ9999999\",\"birth_date\":\"000101\",\"expiry_date\":"
         "\"300101\"}"},
        /* A wrong MRZ: BAC's EXTERNAL AUTHENTICATE fails (6300). */
        {"bac-only", NULL, NULL, "CARD_AUTH_FAILED", HV_OK,
         "{\"document_number\":\"AB1234567\",\"birth_date\":\"900116\",\"expiry_date\":"
         "\"310514\"}"},
        {"default", CARD_CAN, "AB1234567", NULL, HV_OK, NULL},
    };
    int fd = conn(sock_path);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char cmd[64], reply[64], req[512], secret[256] = "";
        snprintf(cmd, sizeof cmd, "persona %s", cases[i].id);
        assert_int_equal(sim_env_control(&env, cmd, reply, sizeof reply), 0);
        wait_r1("present");
        if (cases[i].can)
            snprintf(secret, sizeof secret, ",\"can\":\"%s\"", cases[i].can);
        if (cases[i].mrz)
            snprintf(secret + strlen(secret), sizeof secret - strlen(secret), ",\"mrz\":%s",
                     cases[i].mrz);
        snprintf(req, sizeof req,
                 "{\"id\":%zu,\"method\":\"authenticate\",\"params\":{\"challenge\":"
                 "\"" CHALLENGE "\",\"origin\":\"" ORIGIN "\"%s}}\n",
                 i, secret);
        cJSON *j = call(fd, req);
        if (cases[i].bridge_error) {
            expect_error(j, cases[i].bridge_error, NULL);
            cJSON_Delete(j);
            continue;
        }
        if (!get(j, "result.format"))
            fail_msg("%s: %s", cases[i].id, cJSON_PrintUnformatted(j));
        char doc[32] = "";
        enum hv_err e = platform_verify(get(j, "result"), doc, sizeof doc);
        if (e != cases[i].verify)
            fail_msg("%s: verify gave %s, want %s", cases[i].id, hv_err_str(e),
                     hv_err_str(cases[i].verify));
        if (cases[i].doc)
            assert_string_equal(doc, cases[i].doc);
        cJSON_Delete(j);
    }
    close(fd);
}

/* A bridge with two readers, a card in each, asked at once from two clients:
 * both sessions run side by side (one worker per reader) and each answer is
 * its own card's verified assertion. */
static void two_readers_side_by_side(void **state)
{
    static struct sim_env a, b;
    assert_int_equal(sim_env_start(&a, "algeria", NULL), 0);
    assert_int_equal(sim_env_start(&b, "default", NULL), 0);
    char conf[400], sock[400], log[400];
    struct sim_env *envs[2] = {&a, &b};
    for (int i = 0; i < 2; i++)
        assert_int_equal(sim_env_provision(envs[i]), 0);
    snprintf(conf, sizeof conf, "%s/two.conf", a.dir);
    snprintf(sock, sizeof sock, "%s/two.sock", a.dir);
    snprintf(log, sizeof log, "%s/two.log", a.dir);
    FILE *f = fopen(conf, "w");
    assert_non_null(f);
    fprintf(f, "origin = " ORIGIN "\nreader = sim:a:%s\nreader = sim:b:%s\n", a.host_path,
            b.host_path);
    fclose(f);
    pid_t two = spawn_bridge(conf, sock, log);
    assert_true(two > 0);
    int fa = conn(sock), fb = conn(sock);
    /* Both readers up with their cards before asking. */
    for (int tries = 0; tries < 200; tries++) {
        cJSON *j = call(fa, "{\"id\":0,\"method\":\"status\"}\n");
        bool ready = get(j, "result.readers.with_card") &&
                     get(j, "result.readers.with_card")->valuedouble == 2;
        cJSON_Delete(j);
        if (ready)
            break;
        struct timespec d = {0, 20000000};
        nanosleep(&d, NULL);
    }
    send_str(fa, "{\"id\":\"a\",\"method\":\"authenticate\",\"params\":{\"challenge\":\"" CHALLENGE
                 "\",\"origin\":\"" ORIGIN "\",\"reader\":\"a\",\"can\":\"654321\"}}\n");
    send_str(fb, "{\"id\":\"b\",\"method\":\"authenticate\",\"params\":{\"challenge\":\"" CHALLENGE
                 "\",\"origin\":\"" ORIGIN "\",\"reader\":\"b\",\"can\":\"" CARD_CAN "\"}}\n");
    static const char *const want[2] = {"100200300", "AB1234567"};
    int fds[2] = {fa, fb};
    for (int i = 0; i < 2; i++) {
        cJSON *j = answer(fds[i]);
        if (!get(j, "result.format"))
            fail_msg("reader %c: %s", 'a' + i, cJSON_PrintUnformatted(j));
        char doc[32] = "";
        assert_int_equal(platform_verify(get(j, "result"), doc, sizeof doc), HV_OK);
        assert_string_equal(doc, want[i]);
        cJSON_Delete(j);
    }
    close(fa);
    close(fb);
    stop_pid(&two);
    sim_env_stop(&a);
    sim_env_stop(&b);
}

/* The card leaves the slot in the middle of the session: CARD_REMOVED, and the
 * next card is served. */
static void card_removed_mid_session(void **state)
{
    char reply[64];
    int fd = conn(sock_path);
    /* 200 ms of card time in: inside PACE (four GENERAL AUTHENTICATEs of 80 ms). */
    assert_int_equal(sim_env_control(&env, "remove-after 200", reply, sizeof reply), 0);
    cJSON *j =
        call(fd, "{\"id\":1,\"method\":\"authenticate\",\"params\":{\"challenge\":\"" CHALLENGE
                 "\",\"origin\":\"" ORIGIN "\",\"can\":\"" CARD_CAN "\"}}\n");
    expect_error(j, "CARD_REMOVED", NULL);
    cJSON_Delete(j);
    assert_int_equal(sim_env_control(&env, "insert", reply, sizeof reply), 0);
    wait_r1("present");
    j = call(fd, "{\"id\":2,\"method\":\"authenticate\",\"params\":{\"challenge\":\"" CHALLENGE
                 "\",\"origin\":\"" ORIGIN "\",\"can\":\"" CARD_CAN "\"}}\n");
    expect_verified(get(j, "result"));
    cJSON_Delete(j);
    close(fd);
}

static void card_events(void **state)
{
    int fd = conn(sock_path);
    cJSON *j = call(fd, "{\"id\":1,\"method\":\"subscribe\"}\n");
    assert_true(cJSON_IsTrue(get(j, "result.subscribed")));
    cJSON_Delete(j);
    char reply[64];
    assert_int_equal(sim_env_control(&env, "remove", reply, sizeof reply), 0);
    expect_event(fd, "card_removed", "r1");
    assert_int_equal(sim_env_control(&env, "insert", reply, sizeof reply), 0);
    expect_event(fd, "card_inserted", "r1");

    /* The reader goes away and comes back: the bridge reconnects. */
    kill(env.reader, SIGTERM);
    waitpid(env.reader, NULL, 0);
    expect_event(fd, "card_removed", "r1");
    cJSON *ev = read_json(fd, 10000);
    assert_non_null(ev);
    expect_str(ev, "event", "reader_removed");
    expect_str(ev, "reader", "r1");
    assert_true(cJSON_IsString(get(ev, "reason")));
    cJSON_Delete(ev);
    env.reader = fork();
    if (env.reader == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        const char *exe = getenv("HAWIYA_SIM_READER");
        execl(exe, exe, "--card", env.line_path, "--host", env.host_path, "--state", env.state_path,
              (char *)NULL);
        _exit(127);
    }
    ev = read_json(fd, 10000);
    assert_non_null(ev);
    expect_str(ev, "event", "reader_added");
    expect_str(ev, "backend", "sim");
    cJSON_Delete(ev);
    expect_event(fd, "card_inserted", "r1");
    close(fd);
}

/* With no card, authenticate waits; requests are served first come, first
 * served once the card is in (a subscriber sees every progress event). */
static void waits_for_card_then_fifo(void **state)
{
    char reply[64];
    int sub = conn(sock_path);
    cJSON *j = call(sub, "{\"id\":1,\"method\":\"subscribe\"}\n");
    cJSON_Delete(j);
    assert_int_equal(sim_env_control(&env, "remove", reply, sizeof reply), 0);
    expect_event(sub, "card_removed", "r1");
    int a = conn(sock_path), b = conn(sock_path);
    send_str(a, "{\"id\":\"A\",\"method\":\"authenticate\",\"params\":{\"challenge\":\"" CHALLENGE
                "\",\"origin\":\"" ORIGIN "\",\"reader\":\"r1\",\"can\":\"" CARD_CAN "\"}}\n");
    static const char *const want_a[][2] = {{"A", "queued"}, {"A", "waiting_for_card"}};
    for (size_t i = 0; i < 2; i++) {
        cJSON *ev = read_json(sub, 10000);
        assert_non_null(ev);
        expect_str(ev, "request", want_a[i][0]);
        expect_str(ev, "step", want_a[i][1]);
        cJSON_Delete(ev);
    }
    send_str(b, "{\"id\":\"B\",\"method\":\"authenticate\",\"params\":{\"challenge\":\"" CHALLENGE
                "\",\"origin\":\"" ORIGIN "\",\"reader\":\"r1\",\"can\":\"" CARD_CAN "\"}}\n");
    cJSON *ev = read_json(sub, 10000);
    expect_str(ev, "request", "B");
    expect_str(ev, "step", "queued");
    cJSON_Delete(ev);
    assert_int_equal(sim_env_control(&env, "insert", reply, sizeof reply), 0);
    expect_event(sub, "card_inserted", "r1");
    /* A's whole session, then B's: first come, first served. */
    static const char *const session[] = {"started", "atr", "cardaccess", "pace",  "select",
                                          "read",    "ca",  "aa",         "attest"};
    for (int who = 0; who < 2; who++)
        for (size_t i = 0; i < sizeof session / sizeof session[0]; i++) {
            ev = read_json(sub, 10000);
            assert_non_null(ev);
            expect_str(ev, "request", who ? "B" : "A");
            expect_str(ev, "step", session[i]);
            cJSON_Delete(ev);
        }
    j = answer(a);
    expect_str(j, "id", "A");
    expect_str(j, "result.format", "hawiya-assertion/2");
    cJSON_Delete(j);
    j = answer(b);
    expect_str(j, "id", "B");
    expect_str(j, "result.format", "hawiya-assertion/2");
    cJSON_Delete(j);
    close(a);
    close(b);
    close(sub);
}

/* How many clients the bridge has subscribed to its events now. */
static double subscribers(void)
{
    int fd = conn(sock_path);
    cJSON *j = call(fd, "{\"id\":1,\"method\":\"status\"}\n");
    close(fd);
    double n = get(j, "result.subscribers")->valuedouble;
    cJSON_Delete(j);
    return n;
}

/* The hawiya client commands against the same bridge. */
/* Runs a shell command; its stdout as JSON (NULL if none) and its exit status. */
static cJSON *run_json(const char *cmd, int *status)
{
    char out[8192];
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    assert_true(WIFEXITED(st));
    *status = WEXITSTATUS(st);
    return cJSON_Parse(out);
}

static void cli_commands(void **state)
{
    const char *cli = getenv("HAWIYA_CLI");
    assert_non_null(cli);
    char cmd[1024], out[4096];
    int st;
    snprintf(cmd, sizeof cmd, "'%s' status --socket '%s'", cli, sock_path);
    cJSON *j = run_json(cmd, &st);
    assert_int_equal(st, 0);
    expect_num(j, "readers.configured", 2);
    cJSON_Delete(j);

    snprintf(cmd, sizeof cmd, "'%s' readers --socket '%s'", cli, sock_path);
    j = run_json(cmd, &st);
    assert_int_equal(st, 0);
    expect_str(j, "readers.0.name", "r1");
    expect_str(j, "readers.1.name", "empty");
    cJSON_Delete(j);

    /* The CAN through stdin; progress on stderr; the error object on stdout, exit 1. */
    snprintf(cmd, sizeof cmd,
             "echo %s | '%s' auth --socket '%s' --challenge %s --origin %s --can - "
             "--reader r1 2>/dev/null",
             SECRET_CAN, cli, sock_path, CHALLENGE, ORIGIN);
    j = run_json(cmd, &st);
    assert_int_equal(st, 1);
    expect_str(j, "code", "CARD_AUTH_FAILED");
    cJSON_Delete(j);

    /* The MRZ fields through stdin (a PACE card then runs PACE with the MRZ
     * password, 9303-11 §4.4.1): the assertion on stdout, exit 0. */
    snprintf(cmd, sizeof cmd,
             "echo AB1234567,900115,310514 | '%s' auth --socket '%s' --challenge %s --origin %s "
             "--mrz - --reader r1 2>/dev/null",
             cli, sock_path, CHALLENGE, ORIGIN);
    j = run_json(cmd, &st);
    assert_int_equal(st, 0);
    expect_str(j, "format", "hawiya-assertion/2");
    cJSON_Delete(j);
    /* Two fields only: a usage error, nothing sent. */
    snprintf(cmd, sizeof cmd,
             "'%s' auth --socket '%s' --challenge %s --origin %s --mrz AB1234567,900115 "
             "2>/dev/null",
             cli, sock_path, CHALLENGE, ORIGIN);
    st = system(cmd);
    assert_int_equal(WEXITSTATUS(st), 2);

    /* watch prints one event per line. The card leaves once the bridge counts watch among
     * its subscribers: after a fixed pause instead, a watch slow to start (ASan, a loaded
     * machine) missed the event and waited for another until CTest's timeout killed the
     * test with its bridge and card. */
    double subs = subscribers();
    snprintf(cmd, sizeof cmd, "'%s' watch --socket '%s' --count 1", cli, sock_path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    for (int i = 0; i < 6000 && subscribers() <= subs; i++) {
        struct timespec d = {0, 10000000};
        nanosleep(&d, NULL);
    }
    assert_true(subscribers() > subs);
    char reply[64];
    assert_int_equal(sim_env_control(&env, "remove", reply, sizeof reply), 0);
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    assert_int_equal(pclose(p), 0);
    assert_string_equal(
        out, "{\"event\":\"card_removed\",\"reader\":\"r1\",\"interface\":\"contact\"}\n");
    assert_int_equal(sim_env_control(&env, "insert", reply, sizeof reply), 0);
    wait_r1("present");

    /* No bridge there: exit 2. */
    snprintf(cmd, sizeof cmd, "'%s' status --socket '%s/nothing.sock' 2>/dev/null", cli, env.dir);
    st = system(cmd);
    assert_int_equal(WEXITSTATUS(st), 2);
}

/* Each bad request gets its exact error; the connection, and others, go on. */
static void bad_requests(void **state)
{
    static const struct {
        const char *line, *code, *message;
    } cases[] = {
        {"{\"id\":1,\"method\":\"version\"\n", "BAD_JSON", "not JSON"},
        {"[1,2]\n", "BAD_JSON", "a request is a JSON object"},
        {"{\"id\":1,\"method\":\"version\"} x\n", "BAD_JSON",
         "trailing bytes after the JSON object"},
        {"{\"id\":1,\"method\":\"reboot\"}\n", "UNKNOWN_METHOD", "no method named like that"},
        {"{\"method\":\"version\"}\n", "BAD_PARAMS", "id: missing"},
        {"{\"id\":[1],\"method\":\"version\"}\n", "BAD_PARAMS",
         "id: must be a string or an integer (at most 2^53 - 1 in size)"},
        {"{\"id\":1}\n", "BAD_PARAMS", "method: missing"},
        {"{\"id\":1,\"method\":5}\n", "BAD_PARAMS", "method: must be a string"},
        {"{\"id\":1,\"method\":\"status\",\"params\":7}\n", "BAD_PARAMS",
         "params: must be an object"},
        {"{\"id\":1,\"method\":\"authenticate\"}\n", "BAD_PARAMS", "params: missing"},
        {"{\"id\":1,\"method\":\"authenticate\",\"params\":{\"origin\":\"" ORIGIN "\"}}\n",
         "BAD_PARAMS", "challenge: missing"},
        {"{\"id\":1,\"method\":\"authenticate\",\"params\":{\"challenge\":5,\"origin\":\"" ORIGIN
         "\"}}\n",
         "BAD_PARAMS", "challenge: must be a string"},
        /* 31 bytes: one short of the minimum */
        {"{\"id\":1,\"method\":\"authenticate\",\"params\":{\"challenge\":"
         "\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg\",\"origin\":\"" ORIGIN "\"}}\n",
         "BAD_PARAMS", "challenge: must be base64url of 32 to 64 bytes"},
        {"{\"id\":1,\"method\":\"authenticate\",\"params\":{\"challenge\":\"" CHALLENGE "\"}}\n",
         "BAD_PARAMS", "origin: missing"},
        {"{\"id\":1,\"method\":\"authenticate\",\"params\":{\"challenge\":\"" CHALLENGE
         "\",\"origin\":\"" ORIGIN "\",\"can\":314159}}\n",
         "BAD_PARAMS", "can: must be a string"},
        {"{\"id\":1,\"method\":\"authenticate\",\"params\":{\"challenge\":\"" CHALLENGE
         "\",\"origin\":\"" ORIGIN "\",\"can\":\"31415\"}}\n",
         "BAD_PARAMS", "can: must be 6 decimal digits"},
        {"{\"id\":1,\"method\":\"authenticate\",\"params\":{\"challenge\":\"" CHALLENGE
         "\",\"origin\":\"" ORIGIN "\",\"timeout_ms\":\"5\"}}\n",
         "BAD_PARAMS", "timeout_ms: must be an integer from 1 to 600000"},
        {"{\"id\":1,\"method\":\"authenticate\",\"params\":{\"challenge\":\"" CHALLENGE
         "\",\"origin\":\"" ORIGIN "\",\"reader\":false}}\n",
         "BAD_PARAMS", "reader: must be a string"},
        {"{\"id\":1,\"method\":\"cancel\",\"params\":{}}\n", "BAD_PARAMS", "request: missing"},
        {"{\"id\":1,\"method\":\"cancel\",\"params\":{\"request\":99}}\n", "BAD_PARAMS",
         "request: no pending authenticate with that id on this connection"},
        {"{\"id\":1,\"method\":\"authenticate\",\"params\":{\"challenge\":\"" CHALLENGE
         "\",\"origin\":\"https://evil.example\",\"can\":\"" SECRET_CAN "\"}}\n",
         "ORIGIN_NOT_ALLOWED", "origin: not on the bridge's allow-list"},
        {"{\"id\":1,\"method\":\"authenticate\",\"params\":{\"challenge\":\"" CHALLENGE
         "\",\"origin\":\"" ORIGIN "\",\"reader\":\"r9\"}}\n",
         "NO_READER", "reader: no reader of that name"},
        /* A broken line with a CAN in it: BAD_JSON, and the CAN not in the log. */
        {"{\"id\":1,\"method\":\"authenticate\",\"params\":{\"can\":\"" SECRET_CAN "\"\n",
         "BAD_JSON", "not JSON"},
    };
    int fd = conn(sock_path), other = conn(sock_path);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cJSON *j = call(fd, cases[i].line);
        expect_error(j, cases[i].code, cases[i].message);
        cJSON_Delete(j);
        j = call(other, "{\"id\":1,\"method\":\"version\"}\n");
        expect_str(j, "result.bridge", "0.1.0");
        cJSON_Delete(j);
    }
    /* The same connection still works. */
    cJSON *j = call(fd, "{\"id\":\"after\",\"method\":\"status\"}\n");
    expect_str(j, "id", "after");
    expect_num(j, "result.sessions.queued", 0);
    cJSON_Delete(j);

    /* Over 64 KiB without a newline: TOO_LARGE, then the bridge hangs up. */
    int big = conn(sock_path);
    static char line[70001];
    memset(line, ' ', sizeof line - 1);
    send_str(big, line);
    j = read_json(big, 10000);
    assert_non_null(j);
    assert_true(cJSON_IsNull(get(j, "id")));
    expect_error(j, "TOO_LARGE", "a request line is at most 65536 bytes");
    cJSON_Delete(j);
    assert_null(read_json(big, 10000));
    close(big);
    /* Exactly 64 KiB is still a request (here of blanks: not JSON). */
    big = conn(sock_path);
    line[65536] = '\n';
    line[65537] = '\0';
    send_str(big, line);
    j = answer(big);
    expect_error(j, "BAD_JSON", "not JSON");
    cJSON_Delete(j);
    close(big);

    j = call(other, "{\"id\":1,\"method\":\"status\"}\n");
    expect_num(j, "result.readers.up", 1);
    cJSON_Delete(j);
    close(fd);
    close(other);
}

/* 200 clients that connect and stay idle, write half a line, or pipeline
 * requests and never read: a newcomer's status is still answered. A bridge
 * that blocked on any of them would never answer; how fast it answers is
 * bench_bridge's figure (a bound on time here failed under ASan at load 10). */
static void many_idle_clients(void **state)
{
    enum { N = 200 };
    int fds[N];
    for (int i = 0; i < N; i++) {
        fds[i] = conn(sock_path);
        if (i % 3 == 1)
            send_str(fds[i], "{\"id\":1,\"meth");
        if (i % 3 == 2)
            for (int k = 0; k < 50; k++)
                send_str(fds[i], "{\"id\":1,\"method\":\"diagnose\"}\n");
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int fd = conn(sock_path);
    send_str(fd, "{\"id\":1,\"method\":\"status\"}\n");
    cJSON *j = read_json(fd, 60000);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_non_null(j);
    expect_num(j, "id", 1);
    assert_true(get(j, "result.clients")->valuedouble >= N);
    cJSON_Delete(j);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    print_message("status with %d idle clients: %.2f ms\n", N, ms);
    for (int i = 0; i < N; i++)
        close(fds[i]);
    close(fd);
}

/* A request for a reader with no card waits; cancel and disconnect end it. */
static void cancel_and_disconnect(void **state)
{
    int fd = conn(sock_path);
    send_str(fd, "{\"id\":\"a1\",\"method\":\"authenticate\",\"params\":{\"challenge\":\"" CHALLENGE
                 "\",\"origin\":\"" ORIGIN "\",\"reader\":\"empty\",\"can\":\"" SECRET_CAN
                 "\",\"timeout_ms\":60000}}\n");
    cJSON *ev = read_json(fd, 10000);
    expect_str(ev, "step", "queued");
    cJSON_Delete(ev);
    ev = read_json(fd, 10000);
    /* Not "waiting_for_card": the reader itself is out of reach. */
    expect_str(ev, "step", "waiting_for_reader");
    expect_str(ev, "request", "a1");
    cJSON_Delete(ev);
    send_str(fd, "{\"id\":\"c1\",\"method\":\"cancel\",\"params\":{\"request\":\"a1\"}}\n");
    cJSON *j = answer(fd);
    expect_str(j, "id", "a1");
    expect_error(j, "CANCELLED", "cancelled by the client");
    cJSON_Delete(j);
    j = answer(fd);
    expect_str(j, "id", "c1");
    assert_true(cJSON_IsTrue(get(j, "result.cancelled")));
    cJSON_Delete(j);
    j = call(fd, "{\"id\":1,\"method\":\"status\"}\n");
    expect_num(j, "result.sessions.queued", 0);
    cJSON_Delete(j);

    /* Fill the queue (queue_max = 4), overflow it, then hang up. */
    int q = conn(sock_path);
    for (int i = 0; i < 4; i++) {
        char line[400];
        snprintf(line, sizeof line,
                 "{\"id\":%d,\"method\":\"authenticate\",\"params\":{\"challenge\":\"" CHALLENGE
                 "\",\"origin\":\"" ORIGIN "\",\"reader\":\"empty\"}}\n",
                 i);
        send_str(q, line);
    }
    j = call(fd, "{\"id\":1,\"method\":\"status\"}\n");
    for (int i = 0; i < 200 && get(j, "result.sessions.queued")->valuedouble < 4; i++) {
        cJSON_Delete(j);
        j = call(fd, "{\"id\":1,\"method\":\"status\"}\n");
    }
    expect_num(j, "result.sessions.queued", 4);
    cJSON_Delete(j);
    j = call(fd, "{\"id\":5,\"method\":\"authenticate\",\"params\":{\"challenge\":\"" CHALLENGE
                 "\",\"origin\":\"" ORIGIN "\",\"reader\":\"empty\"}}\n");
    expect_error(j, "READER_BUSY", "the reader's queue is full");
    cJSON_Delete(j);
    close(q);
    double queued = -1;
    for (int i = 0; i < 500 && queued != 0; i++) {
        j = call(fd, "{\"id\":1,\"method\":\"status\"}\n");
        queued = get(j, "result.sessions.queued")->valuedouble;
        cJSON_Delete(j);
    }
    assert_true(queued == 0);

    /* A short wait on a reader that cannot be reached: named as such, not as a
     * card that was not presented; the bridge is fine. */
    j = call(fd, "{\"id\":6,\"method\":\"authenticate\",\"params\":{\"challenge\":\"" CHALLENGE
                 "\",\"origin\":\"" ORIGIN "\",\"reader\":\"empty\",\"timeout_ms\":200}}\n");
    expect_str(j, "error.code", "READER_UNREACHABLE");
    assert_non_null(
        strstr(get(j, "error.message")->valuestring, "the reader could not be reached: "));
    assert_non_null(strstr(get(j, "error.message")->valuestring, "none.sock"));
    cJSON_Delete(j);
    j = call(fd, "{\"id\":7,\"method\":\"version\"}\n");
    expect_str(j, "result.bridge", "0.1.0");
    cJSON_Delete(j);
    close(fd);
}

/* No origins, no readers, our own uid allowed: diagnose says what is wrong. */
static void diagnose_config_problems(void **state)
{
    char conf[400], sock[400], log[400];
    snprintf(conf, sizeof conf, "%s/bare.conf", env.dir);
    snprintf(sock, sizeof sock, "%s/bare/bridge.sock", env.dir);
    snprintf(log, sizeof log, "%s/bare.log", env.dir);
    FILE *f = fopen(conf, "w");
    assert_non_null(f);
    fprintf(f, "allow_uid = %u\nallow_gid = %u\n", (unsigned)getuid(), (unsigned)getgid() + 77u);
    fclose(f);
    pid_t bare = spawn_bridge(conf, sock, log);
    assert_true(bare > 0);
    struct stat st;
    /* With an allow-list the list decides (SO_PEERCRED and the peer's groups):
     * anyone may reach the socket (0666) through a directory they cannot
     * list (0711). */
    assert_int_equal(stat(sock, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0666);
    char dir[400];
    snprintf(dir, sizeof dir, "%s/bare", env.dir);
    assert_int_equal(stat(dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0711);
    int fd = conn(sock);
    cJSON *j = call(fd, "{\"id\":1,\"method\":\"diagnose\"}\n");
    expect_str(j, "result.backends.0.state", "down");
    assert_int_equal(cJSON_GetArraySize(get(j, "result.readers")), 0);
    assert_int_equal(cJSON_GetArraySize(get(j, "result.problems")), 2);
    expect_str(j, "result.problems.0.code", "NO_ORIGINS");
    expect_str(j, "result.problems.0.severity", "error");
    expect_str(j, "result.problems.1.code", "NO_READERS");
    expect_num(j, "result.config.allow_uid.0", getuid());
    expect_num(j, "result.config.allow_gid.0", getgid() + 77u);
    assert_int_equal(cJSON_GetArraySize(get(j, "result.config.origins")), 0);
    cJSON_Delete(j);
    j = call(fd, "{\"id\":2,\"method\":\"authenticate\",\"params\":{\"challenge\":\"" CHALLENGE
                 "\",\"origin\":\"" ORIGIN "\"}}\n");
    expect_error(j, "ORIGIN_NOT_ALLOWED", NULL);
    cJSON_Delete(j);
    close(fd);
    stop_pid(&bare);

    /* A bad configuration stops the bridge with FILE:LINE and exit 2. */
    f = fopen(conf, "w");
    assert_non_null(f);
    fprintf(f, "origin = " ORIGIN "\n\ntimeout_ms = soon\n");
    fclose(f);
    char cmd[1400], out[512];
    snprintf(cmd, sizeof cmd, "'%s' --config '%s' --socket '%s' 2>&1", getenv("HAWIYA_BRIDGE"),
             conf, sock);
    FILE *p = popen(cmd, "r");
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    int status = pclose(p);
    assert_int_equal(WEXITSTATUS(status), 2);
    char want[600];
    snprintf(want, sizeof want, "hawiya-bridge: %s:3: timeout_ms: 1 to 600000\n", conf);
    assert_string_equal(out, want);
}

/* Last: nothing above put the CAN in the log, though everything was logged. */
static void can_never_logged(void **state)
{
    FILE *f = fopen(log_path, "r");
    assert_non_null(f);
    static char text[1 << 20];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    assert_non_null(strstr(text, "req=")); /* the log is there and has request ids */
    assert_non_null(strstr(text, "CARD_AUTH_FAILED"));
    assert_null(strstr(text, SECRET_CAN));
    assert_null(strstr(text, CARD_CAN));
    /* Nor the MRZ fields sent by every_persona and cli_commands. */
    assert_null(strstr(text, "AB1234567"));
    assert_null(strstr(text, "900115"));
    assert_null(strstr(text, "310514"));
}

/*
 * `log = syslog`: every line goes to syslog(3) (here the preloaded stand-in,
 * syslog_shim.c) as LOG_DAEMON, ident "hawiya-bridge", with its level's
 * priority and a request id; nothing to stderr; no CAN.
 */
static void logs_to_syslog(void **state)
{
    char conf[400], sock[400], log[400], sys[400], preload[600];
    snprintf(conf, sizeof conf, "%s/syslog.conf", env.dir);
    snprintf(sock, sizeof sock, "%s/syslog.sock", env.dir);
    snprintf(log, sizeof log, "%s/syslog.stderr", env.dir);
    snprintf(sys, sizeof sys, "%s/syslog.lines", env.dir);
    FILE *f = fopen(conf, "w");
    assert_non_null(f);
    fprintf(f, "origin = " ORIGIN "\nlog = syslog\nlog_level = info\n");
    fclose(f);
    const char *asan = getenv("ASAN_OPTIONS");
    snprintf(preload, sizeof preload, "%s%sverify_asan_link_order=0", asan ? asan : "",
             asan ? ":" : "");
    setenv("ASAN_OPTIONS", preload, 1); /* the shim comes before the sanitizer runtime */
    setenv("LD_PRELOAD", getenv("HAWIYA_SYSLOG_SHIM"), 1);
    setenv("HAWIYA_SYSLOG_FILE", sys, 1);
    pid_t b = spawn_bridge(conf, sock, log);
    unsetenv("LD_PRELOAD");
    unsetenv("HAWIYA_SYSLOG_FILE");
    if (asan)
        setenv("ASAN_OPTIONS", asan, 1);
    else
        unsetenv("ASAN_OPTIONS");
    assert_true(b > 0);
    int fd = conn(sock);
    /* No reader is configured: NO_READER, logged at info with its request id. */
    cJSON *j =
        call(fd, "{\"id\":1,\"method\":\"authenticate\",\"params\":{\"challenge\":\"" CHALLENGE
                 "\",\"origin\":\"" ORIGIN "\",\"can\":\"" SECRET_CAN "\"}}\n");
    expect_error(j, "NO_READER", NULL);
    cJSON_Delete(j);
    close(fd);
    stop_pid(&b);

    static char text[1 << 16];
    f = fopen(sys, "r");
    assert_non_null(f);
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    char want[64];
    snprintf(want, sizeof want, "%d %d hawiya-bridge info req=", LOG_INFO, LOG_DAEMON);
    assert_non_null(strstr(text, want)); /* e.g. "serving ..." */
    assert_non_null(strstr(text, "authenticate: NO_READER"));
    assert_non_null(strstr(text, "hawiya-bridge info req=- stopping"));
    assert_null(strstr(text, SECRET_CAN));
    size_t lines = 0;
    for (char *l = text; *l; lines++) {
        char *e = strchr(l, '\n');
        assert_non_null(e);
        *e = '\0';
        if (!strstr(l, " hawiya-bridge ") || !strstr(l, " req="))
            fail_msg("syslog line without ident or request id: %s", l);
        l = e + 1;
    }
    assert_true(lines >= 3);
    /* And nothing on stderr. */
    struct stat st;
    assert_int_equal(stat(log, &st), 0);
    assert_int_equal(st.st_size, 0);
}

/* A bridge with an allow-list that does not hold our uid: one error line, then EOF. */
static void peer_not_on_allow_list(void **state)
{
    char conf[400], sock[400], log[400];
    snprintf(conf, sizeof conf, "%s/strict.conf", env.dir);
    snprintf(sock, sizeof sock, "%s/strict.sock", env.dir);
    snprintf(log, sizeof log, "%s/strict.log", env.dir);
    FILE *f = fopen(conf, "w");
    assert_non_null(f);
    fprintf(f, "origin = " ORIGIN "\nallow_uid = %u\n", (unsigned)getuid() + 4242u);
    fclose(f);
    pid_t strict = spawn_bridge(conf, sock, log);
    assert_true(strict > 0);
    for (int round = 0; round < 2; round++) {
        int fd = conn(sock);
        /* Nothing sent: the bridge speaks first, and may hang up before any write. */
        cJSON *j = read_json(fd, 10000);
        assert_non_null(j);
        assert_true(cJSON_IsNull(get(j, "id")));
        expect_error(j, "PEER_NOT_ALLOWED", "this user is not on the bridge's allow-list");
        cJSON_Delete(j);
        assert_null(read_json(fd, 10000));
        close(fd);
    }
    assert_int_equal(kill(strict, 0), 0);
    stop_pid(&strict);
    /* The main bridge, without a list, serves us. */
    int fd = conn(sock_path);
    cJSON *j = call(fd, "{\"id\":1,\"method\":\"version\"}\n");
    expect_str(j, "result.bridge", "0.1.0");
    cJSON_Delete(j);
    close(fd);
}

/* SIGTERM: exit status 0, and no sanitizer report (leaks included) in the log. */
static void bridge_exits_cleanly(void **state)
{
    int status = -1;
    kill(bridge, SIGTERM);
    assert_int_equal(waitpid(bridge, &status, 0), bridge);
    bridge = -1;
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    FILE *f = fopen(log_path, "r");
    assert_non_null(f);
    static char text[1 << 20];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    assert_null(strstr(text, "Sanitizer"));
    assert_null(strstr(text, "runtime error"));
    struct stat st;
    assert_int_not_equal(stat(sock_path, &st), 0); /* the socket is removed */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(version_readers_status_diagnose),
        cmocka_unit_test(authenticate_returns_verified_assertion),
        cmocka_unit_test(every_persona),
        cmocka_unit_test(card_removed_mid_session),
        cmocka_unit_test(two_readers_side_by_side),
        cmocka_unit_test(card_events),
        cmocka_unit_test(waits_for_card_then_fifo),
        cmocka_unit_test(cli_commands),
        cmocka_unit_test(bad_requests),
        cmocka_unit_test(many_idle_clients),
        cmocka_unit_test(cancel_and_disconnect),
        cmocka_unit_test(peer_not_on_allow_list),
        cmocka_unit_test(logs_to_syslog),
        cmocka_unit_test(diagnose_config_problems),
        cmocka_unit_test(can_never_logged),
        cmocka_unit_test(bridge_exits_cleanly),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

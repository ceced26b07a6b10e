#include "bridge_test.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
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
#include <unistd.h>
#include <cmocka.h>

static void sleep_ms(int ms)
{
    struct timespec d = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&d, NULL);
}

pid_t bt_bridge_start(const char *conf, const char *sock, const char *log)
{
    const char *exe = getenv("HAWIYA_BRIDGE");
    assert_non_null(exe);
    unlink(sock);
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        FILE *f = freopen(log, "a", stderr);
        (void)f;
        execl(exe, exe, "--config", conf, "--socket", sock, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 1000; i++) {
        struct stat st;
        if (stat(sock, &st) == 0 && S_ISSOCK(st.st_mode))
            return pid;
        if (waitpid(pid, NULL, WNOHANG) == pid)
            return -1;
        sleep_ms(10);
    }
    return -1;
}

void bt_stop(pid_t *pid)
{
    if (*pid <= 0)
        return;
    kill(*pid, SIGTERM);
    for (int i = 0; i < 500; i++) {
        if (waitpid(*pid, NULL, WNOHANG) == *pid) {
            *pid = -1;
            return;
        }
        sleep_ms(10);
    }
    kill(*pid, SIGKILL);
    waitpid(*pid, NULL, 0);
    *pid = -1;
}

int bt_connect(const char *path)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

void bt_send(int fd, const char *s)
{
    size_t n = strlen(s);
    while (n > 0) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        assert_true(w > 0);
        s += w;
        n -= (size_t)w;
    }
}

cJSON *bt_read(int fd, int timeout_ms)
{
    size_t cap = 1 << 20, n = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        /* One byte at a time: the next line stays in the socket. */
        if (poll(&p, 1, timeout_ms) <= 0 || read(fd, buf + n, 1) <= 0) {
            free(buf);
            return NULL;
        }
        if (buf[n] == '\n') {
            cJSON *j = cJSON_ParseWithLength(buf, n);
            free(buf);
            assert_non_null(j);
            return j;
        }
        n++;
        assert_true(n < cap);
    }
}

cJSON *bt_answer(int fd)
{
    for (;;) {
        cJSON *j = bt_read(fd, 30000);
        assert_non_null(j);
        if (!cJSON_GetObjectItemCaseSensitive(j, "event"))
            return j;
        cJSON_Delete(j);
    }
}

cJSON *bt_call(int fd, const char *line)
{
    bt_send(fd, line);
    return bt_answer(fd);
}

cJSON *bt_event(int fd, const char *name, int timeout_ms)
{
    for (;;) {
        cJSON *j = bt_read(fd, timeout_ms);
        if (!j)
            return NULL;
        const cJSON *ev = cJSON_GetObjectItemCaseSensitive(j, "event");
        if (cJSON_IsString(ev) && !strcmp(ev->valuestring, name))
            return j;
        cJSON_Delete(j);
    }
}

const cJSON *bt_find(const cJSON *j, const char *path)
{
    char buf[160];
    snprintf(buf, sizeof buf, "%s", path);
    const cJSON *cur = j;
    for (char *save = NULL, *t = strtok_r(buf, ".", &save); t && cur;
         t = strtok_r(NULL, ".", &save)) {
        if (cJSON_IsArray(cur))
            cur = cJSON_GetArrayItem(cur, atoi(t));
        else
            cur = cJSON_GetObjectItemCaseSensitive(cur, t);
    }
    return cur;
}

const cJSON *bt_get(const cJSON *j, const char *path)
{
    const cJSON *v = bt_find(j, path);
    if (!v) {
        char *s = cJSON_PrintUnformatted(j);
        fail_msg("no %s in %s", path, s ? s : "?");
    }
    return v;
}

void bt_expect_str(const cJSON *j, const char *path, const char *want)
{
    const cJSON *v = bt_get(j, path);
    assert_true(cJSON_IsString(v));
    assert_string_equal(v->valuestring, want);
}

void bt_expect_num(const cJSON *j, const char *path, double want)
{
    const cJSON *v = bt_get(j, path);
    assert_true(cJSON_IsNumber(v));
    if (v->valuedouble != want)
        fail_msg("%s: %g, expected %g", path, v->valuedouble, want);
}

void bt_expect_error(const cJSON *j, const char *code, const char *message)
{
    bt_expect_str(j, "error.code", code);
    if (message)
        bt_expect_str(j, "error.message", message);
    assert_null(cJSON_GetObjectItemCaseSensitive(j, "result"));
}

void bt_auth_line(char *out, size_t cap, const char *id, const char *extra)
{
    snprintf(out, cap,
             "{\"id\":\"%s\",\"method\":\"authenticate\",\"params\":{\"challenge\":\"" BT_CHALLENGE
             "\",\"origin\":\"" BT_ORIGIN "\"%s}}\n",
             id, extra);
}

enum hv_err bt_verify(const cJSON *assertion, bool allow_unattested, char *doc, size_t cap,
                      bool *attested)
{
    char dir[600], reader_ca[700], msg[256];
    const char *pki = getenv("HAWIYA_PKI_DIR");
    assert_non_null(pki);
    /* The test PKI's two stores (docs/pki.md): CSCAs, and the reader manufacturer CA. */
    snprintf(dir, sizeof dir, "%s/csca", pki);
    struct hv_trust *trust = hv_trust_new();
    assert_non_null(trust);
    assert_int_equal(hv_trust_load_csca_dir(trust, dir, msg, sizeof msg), HV_OK);
    snprintf(reader_ca, sizeof reader_ca, "%s/reader-ca/reader-ca.pem", pki);
    assert_int_equal(hv_trust_load_reader_ca_file(trust, reader_ca, msg, sizeof msg), HV_OK);
    uint8_t challenge[32];
    for (int i = 0; i < 32; i++)
        challenge[i] = (uint8_t)i;
    /* The test PKI's "today" (docs/pki.md). */
    struct hv_options opt = {.trust = trust,
                             .challenge = challenge,
                             .challenge_len = 32,
                             .origin = BT_ORIGIN,
                             .now = {2026, 1, 1, 0, 0, 0},
                             .allow_unattested = allow_unattested};
    char *json = cJSON_PrintUnformatted(assertion);
    struct hv_result res;
    enum hv_err e = hv_verify(json, strlen(json), &opt, &res);
    if (e == HV_OK) {
        cJSON *id = cJSON_Parse(res.identity_json);
        snprintf(doc, cap, "%s", bt_get(id, "document_number")->valuestring);
        cJSON_Delete(id);
        if (attested)
            *attested = res.attested;
    }
    hv_result_free(&res);
    free(json);
    hv_trust_free(trust);
    return e;
}

bool bt_wait_reader(const char *sock, const char *name, const char *link, const char *state,
                    int timeout_ms)
{
    for (int waited = 0; waited <= timeout_ms; waited += 50) {
        int fd = bt_connect(sock);
        cJSON *j = bt_call(fd, "{\"id\":1,\"method\":\"readers\"}\n");
        close(fd);
        const cJSON *arr = bt_get(j, "result.readers"), *r;
        bool ok = false;
        cJSON_ArrayForEach(r, arr)
        {
            const cJSON *n = cJSON_GetObjectItemCaseSensitive(r, "name");
            const cJSON *l = cJSON_GetObjectItemCaseSensitive(r, "link");
            const cJSON *s = cJSON_GetObjectItemCaseSensitive(r, "state");
            if (cJSON_IsString(n) && !strcmp(n->valuestring, name) && cJSON_IsString(l) &&
                !strcmp(l->valuestring, link) &&
                (!state || (cJSON_IsString(s) && !strcmp(s->valuestring, state))))
                ok = true;
        }
        cJSON_Delete(j);
        if (ok)
            return true;
        sleep_ms(50);
    }
    return false;
}

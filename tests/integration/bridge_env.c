#include "bridge_env.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

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
#include <unistd.h>

long long bridge_now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void nap_ms(long ms)
{
    struct timespec d = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&d, NULL);
}

pid_t bridge_spawn(const char *conf, const char *text, const char *sock, const char *log,
                   void (*before_exec)(void *ctx), void *ctx)
{
    FILE *f = fopen(conf, "w");
    if (!f)
        return -1;
    fputs(text, f);
    fclose(f);
    const char *exe = getenv("HAWIYA_BRIDGE");
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (!freopen(log, "a", stderr))
            _exit(126);
        if (before_exec)
            before_exec(ctx);
        execl(exe, exe, "--config", conf, "--socket", sock, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 1000; i++) {
        struct stat st;
        if (stat(sock, &st) == 0 && S_ISSOCK(st.st_mode)) {
            /* The file may be a stale one of a bridge killed before: connect. */
            int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
            struct sockaddr_un a = {.sun_family = AF_UNIX};
            snprintf(a.sun_path, sizeof a.sun_path, "%s", sock);
            bool up = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
            close(fd);
            if (up)
                return pid;
        }
        if (waitpid(pid, NULL, WNOHANG) == pid)
            return -1;
        nap_ms(10);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

int bridge_stop(pid_t *pid)
{
    int status = -1;
    if (*pid <= 0)
        return -1;
    kill(*pid, SIGTERM);
    for (int i = 0; i < 300; i++) {
        if (waitpid(*pid, &status, WNOHANG) == *pid) {
            *pid = -1;
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        }
        nap_ms(10);
    }
    kill(*pid, SIGKILL);
    waitpid(*pid, NULL, 0);
    *pid = -1;
    return -1;
}

int bridge_conn(const char *sock)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", sock);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
        fail_msg("connect %s: %s", sock, strerror(errno));
    return fd;
}

void bridge_send(int fd, const char *s)
{
    size_t n = strlen(s);
    while (n > 0) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        assert_true(w > 0);
        s += w;
        n -= (size_t)w;
    }
}

cJSON *bridge_read(int fd, int timeout_ms)
{
    static char buf[1 << 20];
    size_t n = 0;
    long long end = bridge_now_ms() + timeout_ms;
    for (;;) {
        long long left = end - bridge_now_ms();
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (left <= 0 || poll(&p, 1, (int)left) <= 0)
            return NULL;
        /* One byte at a time: lines stay in the socket for the next call. */
        ssize_t k = read(fd, buf + n, 1);
        if (k <= 0)
            return NULL;
        if (buf[n] == '\n') {
            cJSON *j = cJSON_ParseWithLength(buf, n);
            if (!j)
                fail_msg("not JSON: %.*s", (int)n, buf);
            return j;
        }
        n++;
        assert_true(n < sizeof buf);
    }
}

cJSON *bridge_answer(int fd)
{
    for (;;) {
        cJSON *j = bridge_read(fd, 10000);
        if (!j)
            fail_msg("no answer from the bridge within 10 s");
        if (!cJSON_GetObjectItemCaseSensitive(j, "event"))
            return j;
        cJSON_Delete(j);
    }
}

cJSON *bridge_call(int fd, const char *line)
{
    bridge_send(fd, line);
    return bridge_answer(fd);
}

const cJSON *jget(const cJSON *j, const char *path)
{
    char buf[256];
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

const char *jstr(const cJSON *j, const char *path)
{
    const cJSON *v = jget(j, path);
    return cJSON_IsString(v) ? v->valuestring : "";
}

double jnum(const cJSON *j, const char *path)
{
    const cJSON *v = jget(j, path);
    return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

long bridge_wait_reader(const char *sock, const char *name, const char *state, int timeout_ms)
{
    long long t0 = bridge_now_ms();
    while (bridge_now_ms() - t0 <= timeout_ms) {
        int fd = bridge_conn(sock);
        cJSON *j = bridge_call(fd, "{\"id\":1,\"method\":\"readers\"}\n");
        close(fd);
        bool ok = false;
        const cJSON *rs = jget(j, "result.readers");
        for (int i = 0; rs && i < cJSON_GetArraySize(rs); i++) {
            const cJSON *r = cJSON_GetArrayItem(rs, i);
            if (!strcmp(jstr(r, "name"), name))
                ok = !strcmp(jstr(r, "state"), state);
        }
        cJSON_Delete(j);
        if (ok)
            return (long)(bridge_now_ms() - t0);
        nap_ms(10);
    }
    return -1;
}

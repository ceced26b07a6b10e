#include "bridge_client.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "hawiya/wipe.h"
#include "harden.h"
#include "safe_path.h"

#define LINE_MAX_BYTES (4u << 20)
#define PING_ID_PREFIX "hawiya-ping-"

int64_t bridge_client_now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void nap_ms(int ms)
{
    struct timespec d = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&d, NULL);
}

bool bridge_client_open(struct bridge_client *bc, const char *path, int timeout_ms)
{
    char def[BRIDGE_PATH_MAX], why[600];
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    memset(bc, 0, sizeof *bc);
    bc->fd = -1;
    if (!path) {
        bridge_default_socket(def, sizeof def);
        path = def;
    }
    if (strlen(path) >= sizeof a.sun_path) {
        fprintf(stderr, "hawiya: socket path too long\n");
        return false;
    }
    snprintf(bc->path, sizeof bc->path, "%s", path);
    memcpy(a.sun_path, path, strlen(path) + 1);
    if (!safe_socket_check(path, why, sizeof why)) {
        fprintf(stderr, "hawiya: not using the bridge socket: %s\n", why);
        return false;
    }
    /* Non-blocking: a bridge that stopped accepting (its backlog full) makes
     * connect() fail with EAGAIN at once rather than wait. */
    bc->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int64_t end = bridge_client_now_ms() + timeout_ms;
    int r = -1;
    while (bc->fd >= 0) {
        r = connect(bc->fd, (struct sockaddr *)&a, sizeof a);
        if (r == 0 || errno != EAGAIN || bridge_client_now_ms() >= end)
            break;
        nap_ms(20);
    }
    if (bc->fd < 0 || r < 0) {
        fprintf(stderr, "hawiya: cannot reach the bridge at %s: %s\n", path,
                errno == EAGAIN ? "it accepts no connection (stopped or overloaded?)"
                                : strerror(errno));
        bridge_client_close(bc);
        return false;
    }
    bc->heard = bridge_client_now_ms();
    return true;
}

void bridge_client_close(struct bridge_client *bc)
{
    if (bc->fd >= 0)
        close(bc->fd);
    if (bc->buf)
        wipe(bc->buf, bc->cap);
    free(bc->buf);
    memset(bc, 0, sizeof *bc);
    bc->fd = -1;
}

/* Writes all of p, waiting for room at most until the deadline (or 10 s). */
static bool send_all(struct bridge_client *bc, const char *p, size_t n)
{
    int64_t end = bc->deadline ? bc->deadline : bridge_client_now_ms() + BRIDGE_CLIENT_TIMEOUT_MS;
    while (n > 0) {
        ssize_t w = send(bc->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        int64_t left = end - bridge_client_now_ms();
        struct pollfd pf = {.fd = bc->fd, .events = POLLOUT};
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && left > 0 &&
            poll(&pf, 1, (int)left) > 0)
            continue;
        bc->failure = w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)
                          ? "the bridge does not take our request (stopped or overloaded?)"
                          : "the bridge closed the connection";
        return false;
    }
    return true;
}

static void wipe_strings(cJSON *v)
{
    if (cJSON_IsString(v) && v->valuestring)
        wipe(v->valuestring, strlen(v->valuestring));
    for (cJSON *c = v ? v->child : NULL; c; c = c->next)
        wipe_strings(c);
}

bool bridge_client_send(struct bridge_client *bc, const char *method, cJSON *params)
{
    cJSON *req = cJSON_CreateObject();
    cJSON_AddNumberToObject(req, "id", 1);
    cJSON_AddStringToObject(req, "method", method);
    if (params)
        cJSON_AddItemToObject(req, "params", params);
    char *s = cJSON_PrintUnformatted(req);
    /* The secrets' copies in the tree: the CAN and the MRZ fields. */
    wipe_strings(params ? cJSON_GetObjectItemCaseSensitive(params, "can") : NULL);
    wipe_strings(params ? cJSON_GetObjectItemCaseSensitive(params, "mrz") : NULL);
    cJSON_Delete(req);
    if (!s)
        return false;
    size_t n = strlen(s);
    s[n] = '\n'; /* overwrites the NUL: send n + 1 bytes, no string use after */
    bool ok = send_all(bc, s, n + 1);
    wipe(s, n + 1); /* the request may hold a CAN or an MRZ */
    free(s);
    wipe_stack(65536); /* and what printing and sending it left below us */
    return ok;
}

static void ping(struct bridge_client *bc)
{
    char line[96];
    snprintf(line, sizeof line, "{\"id\":\"" PING_ID_PREFIX "%u\",\"method\":\"version\"}\n",
             ++bc->pings);
    bc->ping_sent = bridge_client_now_ms();
    if (!send_all(bc, line, strlen(line)))
        bc->ping_sent = 1; /* counts as unanswered */
}

static bool is_pong(const cJSON *j)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "id");
    return cJSON_IsString(id) && !strncmp(id->valuestring, PING_ID_PREFIX, strlen(PING_ID_PREFIX));
}

/* Waits for readable data until the deadline or a liveness failure; false with bc->failure. */
static bool wait_readable(struct bridge_client *bc)
{
    for (;;) {
        int64_t now = bridge_client_now_ms(), until = INT64_MAX;
        if (bc->deadline) {
            if (now >= bc->deadline) {
                bc->failure = "no answer in time";
                return false;
            }
            until = bc->deadline;
        }
        if (bc->keepalive) {
            if (bc->ping_sent && now - bc->ping_sent >= BRIDGE_CLIENT_PONG_MS) {
                bc->failure = "the bridge stopped answering (a liveness check went unanswered)";
                return false;
            }
            if (!bc->ping_sent && now - bc->heard >= BRIDGE_CLIENT_PING_MS) {
                ping(bc);
                continue;
            }
            int64_t next = bc->ping_sent ? bc->ping_sent + BRIDGE_CLIENT_PONG_MS
                                         : bc->heard + BRIDGE_CLIENT_PING_MS;
            if (next < until)
                until = next;
        }
        struct pollfd p = {.fd = bc->fd, .events = POLLIN};
        int wait = until == INT64_MAX ? -1 : (int)(until - now > 0 ? until - now : 0);
        int r = poll(&p, 1, wait);
        if (r > 0)
            return true;
        if (r < 0 && errno != EINTR) {
            bc->failure = "the connection failed";
            return false;
        }
    }
}

cJSON *bridge_client_next(struct bridge_client *bc)
{
    for (;;) {
        char *nl = bc->len ? memchr(bc->buf, '\n', bc->len) : NULL;
        if (nl) {
            size_t n = (size_t)(nl - bc->buf);
            cJSON *j = cJSON_ParseWithLength(bc->buf, n);
            memmove(bc->buf, nl + 1, bc->len - n - 1);
            bc->len -= n + 1;
            if (!j) {
                bc->failure = "the bridge sent a line that is not JSON";
                return NULL;
            }
            if (is_pong(j)) {
                bc->ping_sent = 0;
                cJSON_Delete(j);
                continue;
            }
            return j;
        }
        if (bc->len == bc->cap) {
            if (bc->cap >= LINE_MAX_BYTES) {
                bc->failure = "the bridge sent a line too long";
                return NULL;
            }
            size_t cap = bc->cap ? bc->cap * 2 : 4096;
            char *p = realloc(bc->buf, cap);
            if (!p) {
                bc->failure = "out of memory";
                return NULL;
            }
            bc->buf = p;
            bc->cap = cap;
        }
        if (!wait_readable(bc))
            return NULL;
        ssize_t k = read(bc->fd, bc->buf + bc->len, bc->cap - bc->len);
        if (k < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (k <= 0) {
            bc->failure = "the bridge closed the connection";
            return NULL;
        }
        bc->len += (size_t)k;
        bc->heard = bridge_client_now_ms();
    }
}

void bridge_client_report(const struct bridge_client *bc)
{
    fprintf(stderr, "hawiya: %s (bridge at %s)\n", bc->failure ? bc->failure : "failed", bc->path);
}

static void print_json(FILE *f, const cJSON *j)
{
    char *s = cJSON_PrintUnformatted(j);
    if (s) {
        fprintf(f, "%s\n", s);
        fflush(f);
    }
    free(s);
}

static void print_event(const cJSON *ev, void *ctx)
{
    print_json(ctx, ev);
}

int bridge_client_call(const char *path, const char *method, cJSON *params, FILE *events,
                       int timeout_ms)
{
    return bridge_client_call_ex(path, method, params, events ? print_event : NULL, events,
                                 timeout_ms, false);
}

int bridge_client_call_ex(const char *path, const char *method, cJSON *params,
                          void (*on_event)(const cJSON *ev, void *ctx), void *ctx, int timeout_ms,
                          bool keepalive)
{
    struct bridge_client bc;
    int connect_ms = timeout_ms > 0 && timeout_ms < BRIDGE_CLIENT_TIMEOUT_MS
                         ? timeout_ms
                         : BRIDGE_CLIENT_TIMEOUT_MS;
    if (!bridge_client_open(&bc, path, connect_ms)) {
        if (params) {
            wipe_strings(params);
            cJSON_Delete(params);
        }
        return 2;
    }
    bc.deadline = timeout_ms > 0 ? bridge_client_now_ms() + timeout_ms : 0;
    bc.keepalive = keepalive;
    int rc = 2;
    if (!bridge_client_send(&bc, method, params)) {
        /* A bridge that refused us said why before closing (PEER_NOT_ALLOWED,
         * TOO_MANY_CLIENTS): show that rather than the broken pipe. */
        bc.deadline = bridge_client_now_ms() + 1000;
        bc.keepalive = false;
        cJSON *j = bridge_client_next(&bc);
        const cJSON *err = j ? cJSON_GetObjectItemCaseSensitive(j, "error") : NULL;
        if (err) {
            print_json(stdout, err);
            rc = 1;
        } else {
            bc.failure = "the bridge closed the connection";
            bridge_client_report(&bc);
        }
        cJSON_Delete(j);
        goto out;
    }
    for (;;) {
        cJSON *j = bridge_client_next(&bc);
        if (!j) {
            bridge_client_report(&bc);
            goto out;
        }
        const cJSON *res = cJSON_GetObjectItemCaseSensitive(j, "result");
        const cJSON *err = cJSON_GetObjectItemCaseSensitive(j, "error");
        if (cJSON_GetObjectItemCaseSensitive(j, "event")) {
            if (on_event)
                on_event(j, ctx);
        } else if (res || err) {
            print_json(stdout, res ? res : err);
            rc = res ? 0 : 1;
            cJSON_Delete(j);
            goto out;
        }
        cJSON_Delete(j);
    }
out:
    bridge_client_close(&bc);
    return rc;
}

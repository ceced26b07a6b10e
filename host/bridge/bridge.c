#define _GNU_SOURCE /* struct ucred (SO_PEERCRED), accept4, pipe2 */
#include "bridge.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "hawiya/hex.h"
#include "hawiya/wipe.h"
#include "log.h"
#include "request.h"

#ifndef HAWIYA_VERSION
#define HAWIYA_VERSION "0.1.0"
#endif
#define BRIDGE_PROTOCOL_VERSION 1

#define IN_LIMIT        (BRIDGE_LINE_MAX + 1u) /* a maximal line and its LF */
#define OUT_PAUSE       (64u * 1024u)          /* stop reading a client above this */
#define OUT_MAX         (256u * 1024u)         /* drop a client above this */
#define MAX_CLIENTS     4096u
#define RECONNECT_MS    500
#define PROGRESS_RING   64u
#define CLOSE_DRAIN_MAX (1u << 20)
#define EPOLL_BATCH     256u

/* What an epoll event is about: the first member of each watched object. */
enum watch_kind { WATCH_LISTEN, WATCH_WAKE, WATCH_SIGNAL, WATCH_READER, WATCH_CLIENT };
struct watch {
    enum watch_kind kind;
};

struct client {
    struct watch w;
    struct bridge *b;
    uint32_t ep_events; /* the events registered with epoll */
    int fd;
    uint64_t cid;
    char *in;
    size_t in_len, in_cap;
    char *out;
    size_t out_len, out_cap;
    bool subscribed;
    bool dead;
};

struct reader;

struct auth {
    struct auth *next;
    struct client *client; /* NULL once answered early (cancel, timeout, disconnect) */
    uint64_t seq;
    struct bridge_request req;
    struct reader *reader;
    int64_t deadline;
    bool told_waiting;
    /* shared with the worker */
    atomic_bool cancel;
    enum bridge_err result;
    struct bridge_auth_result res;
};

struct reader {
    struct watch w;
    struct bridge *b;
    int ep_fd; /* the fd registered with epoll, -1 while the worker owns the link */
    struct bridge_reader_config cfg;
    const struct bridge_backend_ops *ops;
    void *be;
    int fd;
    bool up, present, active;
    uint8_t atr[BRIDGE_ATR_MAX];
    size_t atr_len;
    char last_error[200];
    int64_t next_connect;
    struct auth *head, *tail;
    size_t queued;
    struct auth *running;
    /* worker thread */
    pthread_t thread;
    bool thread_ok;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct auth *job;
    bool done, quit;
};

struct progress_msg {
    uint64_t seq;
    size_t reader;
    struct bridge_progress p;
};

/* The daemon: one per bridge_run(), owned by its event loop thread. */
struct bridge {
    const struct bridge_config *cfg;
    int listen_fd;
    int wake[2];
    int ep;
    struct watch w_listen, w_wake;
    struct client **clients;
    size_t n_clients, cap_clients;
    struct reader readers[BRIDGE_MAX_READERS];
    size_t n_readers;
    uint64_t next_cid, next_seq;
    int64_t start_ms;
    pthread_mutex_t pmu;
    struct progress_msg ring[PROGRESS_RING];
    size_t ring_n;
    int sig_fd; /* SIGTERM and SIGINT, read as events (signalfd) */
    struct watch w_signal;
    bool stop;
};

static int64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void wake_loop(struct bridge *b)
{
    char one = 1;
    ssize_t w = write(b->wake[1], &one, 1);
    (void)w; /* a full pipe already wakes the loop */
}

/* ---- output ------------------------------------------------------------- */

static void drop_client(struct client *c, const char *why);

static void flush_client(struct client *c)
{
    size_t off = 0;
    while (off < c->out_len) {
        ssize_t w = send(c->fd, c->out + off, c->out_len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (w <= 0) {
            c->out_len = 0;
            drop_client(c, "write failed");
            return;
        }
        off += (size_t)w;
    }
    memmove(c->out, c->out + off, c->out_len - off);
    c->out_len -= off;
    if (c->out_len == 0 && c->out_cap > 16384) {
        free(c->out);
        c->out = NULL;
        c->out_cap = 0;
    }
}

/* Queues one line (takes ownership of `line`) and tries to send it now. */
static void send_line(struct client *c, char *line)
{
    if (!line || c->dead) {
        free(line);
        return;
    }
    size_t n = strlen(line);
    if (c->out_len + n > OUT_MAX) {
        free(line);
        drop_client(c, "too much unread output");
        return;
    }
    if (c->out_len + n > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : 1024;
        while (cap < c->out_len + n)
            cap *= 2;
        char *p = realloc(c->out, cap);
        if (!p) {
            free(line);
            drop_client(c, "out of memory");
            return;
        }
        c->out = p;
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, line, n);
    c->out_len += n;
    free(line);
    flush_client(c);
}

static void send_error(struct client *c, const cJSON *id, enum bridge_err e, const char *msg)
{
    send_line(c, bridge_answer_error(id, e, msg));
}

static void send_result(struct client *c, const cJSON *id, cJSON *result)
{
    char *line = bridge_answer_result(id, result);
    if (!line) {
        send_error(c, id, BRIDGE_ERR_INTERNAL, "out of memory");
        return;
    }
    send_line(c, line);
}

/* An event to every subscriber, and to `also` (the requester of a progress event). */
static void broadcast(struct bridge *b, cJSON *ev, struct client *also)
{
    char *s = ev ? cJSON_PrintUnformatted(ev) : NULL;
    cJSON_Delete(ev);
    if (!s)
        return;
    size_t n = strlen(s);
    for (size_t i = 0; i < b->n_clients; i++) {
        struct client *c = b->clients[i];
        if (c->dead || !(c->subscribed || c == also))
            continue;
        char *line = malloc(n + 2);
        if (!line)
            continue;
        memcpy(line, s, n);
        line[n] = '\n';
        line[n + 1] = '\0';
        send_line(c, line);
    }
    free(s);
}

static cJSON *event(const char *name, const struct reader *r)
{
    cJSON *ev = cJSON_CreateObject();
    cJSON_AddStringToObject(ev, "event", name);
    cJSON_AddStringToObject(ev, "reader", r->cfg.name);
    return ev;
}

static void progress_event(struct auth *a, const struct bridge_progress *p)
{
    cJSON *ev = cJSON_CreateObject();
    cJSON_AddStringToObject(ev, "event", "progress");
    cJSON_AddItemToObject(ev, "request",
                          a->req.id ? cJSON_Duplicate(a->req.id, false) : cJSON_CreateNull());
    cJSON_AddStringToObject(ev, "reader", a->reader->cfg.name);
    cJSON_AddStringToObject(ev, "step", p->step);
    if (p->detail[0])
        cJSON_AddStringToObject(ev, "detail", p->detail);
    if (p->has_costs) {
        cJSON_AddNumberToObject(ev, "elapsed_ms", p->elapsed_ms);
        cJSON_AddNumberToObject(ev, "line_ms", p->line_ms);
        cJSON_AddNumberToObject(ev, "reader_cpu_ms", p->cpu_ms);
        cJSON_AddNumberToObject(ev, "apdus", p->apdus);
    }
    bridge_log(BRIDGE_LOG_DEBUG, a->seq, "progress %s on %s", p->step, a->reader->cfg.name);
    broadcast(a->reader->b, ev, a->client);
}

static void progress_step(struct auth *a, const char *step)
{
    struct bridge_progress p = {0};
    snprintf(p.step, sizeof p.step, "%s", step);
    progress_event(a, &p);
}

/* ---- sessions ------------------------------------------------------------ */

static void free_auth(struct auth *a)
{
    bridge_request_clear(&a->req);
    free(a->res.assertion_json);
    wipe(a, sizeof *a);
    free(a);
}

/* Answers a session early; a running one is left to its worker, told to stop. */
static void answer_auth(struct auth *a, enum bridge_err e, const char *msg)
{
    if (a->client) {
        send_error(a->client, a->req.id, e, msg);
        bridge_log(BRIDGE_LOG_INFO, a->seq, "authenticate on %s: %s", a->reader->cfg.name,
                   bridge_err_code(e));
    }
    a->client = NULL;
    atomic_store(&a->cancel, true);
}

static void unlink_queued(struct reader *r, struct auth *a)
{
    struct auth **pp = &r->head, *prev = NULL;
    while (*pp && *pp != a) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    if (!*pp)
        return;
    *pp = a->next;
    if (r->tail == a)
        r->tail = prev;
    r->queued--;
}

static bool worker_progress(void *ctx, const struct bridge_progress *p)
{
    struct auth *a = ctx;
    struct bridge *b = a->reader->b;
    pthread_mutex_lock(&b->pmu);
    if (b->ring_n < PROGRESS_RING)
        b->ring[b->ring_n++] = (struct progress_msg){a->seq, (size_t)(a->reader - b->readers), *p};
    pthread_mutex_unlock(&b->pmu);
    wake_loop(b);
    return !atomic_load(&a->cancel);
}

static void *worker(void *arg)
{
    struct reader *r = arg;
    pthread_mutex_lock(&r->mu);
    for (;;) {
        while (!r->job && !r->quit)
            pthread_cond_wait(&r->cv, &r->mu);
        if (r->quit)
            break;
        struct auth *a = r->job;
        pthread_mutex_unlock(&r->mu);
        int64_t left = a->deadline - now_ms();
        struct bridge_auth p = {
            .challenge = a->req.challenge,
            .challenge_len = a->req.challenge_len,
            .origin = a->req.origin,
            .can = a->req.can[0] ? a->req.can : NULL,
            .mrz_info = a->req.mrz_info[0] ? a->req.mrz_info : NULL,
            .timeout_ms = left > 0 ? (uint32_t)left : 1,
        };
        enum bridge_err e = r->ops->authenticate(r->be, &p, worker_progress, a, &a->res);
        pthread_mutex_lock(&r->mu);
        a->result = e;
        r->job = NULL;
        r->done = true;
        wake_loop(r->b);
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

static void schedule(struct reader *r)
{
    while (r->head && !r->running) {
        struct auth *a = r->head;
        if (!r->up || !r->present) {
            if (!a->told_waiting) {
                a->told_waiting = true;
                progress_step(a, "waiting_for_card");
            }
            return;
        }
        unlink_queued(r, a);
        r->running = a;
        progress_step(a, "started");
        bridge_log(BRIDGE_LOG_INFO, a->seq, "authenticate starts on %s", r->cfg.name);
        pthread_mutex_lock(&r->mu);
        r->done = false;
        r->job = a;
        pthread_cond_signal(&r->cv);
        pthread_mutex_unlock(&r->mu);
    }
}

/* ---- readers ------------------------------------------------------------- */

static void reader_down(struct reader *r, const char *why)
{
    bool was_up = r->up;
    r->ops->disconnect(r->be);
    r->fd = -1;
    r->ep_fd = -1; /* closing the fd took it out of the epoll set */
    r->up = false;
    snprintf(r->last_error, sizeof r->last_error, "%s", why);
    r->next_connect = now_ms() + RECONNECT_MS;
    if (r->present) {
        r->present = false;
        broadcast(r->b, event("card_removed", r), NULL);
    }
    r->active = false;
    r->atr_len = 0;
    if (was_up) {
        bridge_log(BRIDGE_LOG_WARN, 0, "reader %s lost: %s", r->cfg.name, why);
        cJSON *ev = event("reader_removed", r);
        cJSON_AddStringToObject(ev, "reason", why);
        broadcast(r->b, ev, NULL);
    }
}

/* Takes in the backend's view of the slot and announces changes. */
static void sync_reader(struct reader *r)
{
    if (r->ops->monitor(r->be) == BRIDGE_MONITOR_BROKEN) {
        reader_down(r, "the reader closed the link");
        return;
    }
    bool present = r->ops->card_present(r->be);
    r->active = r->ops->card_active(r->be);
    if (!present)
        r->atr_len = 0;
    if (present != r->present) {
        r->present = present;
        bridge_log(BRIDGE_LOG_INFO, 0, "reader %s: card %s", r->cfg.name,
                   present ? "inserted" : "removed");
        broadcast(r->b, event(present ? "card_inserted" : "card_removed", r), NULL);
        schedule(r);
    }
}

static void try_connect(struct reader *r)
{
    char why[200];
    int fd = r->ops->connect(r->be, why, sizeof why);
    if (fd < 0) {
        if (strcmp(why, r->last_error))
            bridge_log(BRIDGE_LOG_WARN, 0, "reader %s: %s", r->cfg.name, why);
        snprintf(r->last_error, sizeof r->last_error, "%s", why);
        r->next_connect = now_ms() + RECONNECT_MS;
        return;
    }
    r->fd = fd;
    r->up = true;
    r->last_error[0] = '\0';
    bridge_log(BRIDGE_LOG_INFO, 0, "reader %s connected", r->cfg.name);
    cJSON *ev = event("reader_added", r);
    cJSON_AddStringToObject(ev, "backend", r->ops->name);
    broadcast(r->b, ev, NULL);
}

static void finish_session(struct reader *r)
{
    struct auth *a = r->running;
    r->running = NULL;
    r->done = false;
    if (a->res.atr_len) {
        memcpy(r->atr, a->res.atr, a->res.atr_len);
        r->atr_len = a->res.atr_len;
    }
    if (a->result != BRIDGE_OK)
        snprintf(r->last_error, sizeof r->last_error, "%s: %s", bridge_err_code(a->result),
                 a->res.detail);
    if (a->client) {
        if (a->result == BRIDGE_OK && a->res.assertion_json) {
            cJSON *as = cJSON_Parse(a->res.assertion_json);
            if (as)
                send_result(a->client, a->req.id, as);
            else
                send_error(a->client, a->req.id, BRIDGE_ERR_INTERNAL, "bad assertion");
        } else {
            send_error(a->client, a->req.id,
                       a->result == BRIDGE_OK ? BRIDGE_ERR_INTERNAL : a->result, a->res.detail);
        }
        bridge_log(BRIDGE_LOG_INFO, a->seq, "authenticate on %s: %s", r->cfg.name,
                   a->result == BRIDGE_OK ? "OK" : bridge_err_code(a->result));
    }
    free_auth(a);
    if (r->up)
        sync_reader(r);
    schedule(r);
}

static void drain_wake(struct bridge *b)
{
    char buf[256];
    while (read(b->wake[0], buf, sizeof buf) > 0)
        ;
    struct progress_msg ring[PROGRESS_RING];
    pthread_mutex_lock(&b->pmu);
    size_t n = b->ring_n;
    memcpy(ring, b->ring, n * sizeof ring[0]);
    b->ring_n = 0;
    pthread_mutex_unlock(&b->pmu);
    for (size_t i = 0; i < n; i++) {
        struct auth *a = b->readers[ring[i].reader].running;
        if (a && a->seq == ring[i].seq && a->client)
            progress_event(a, &ring[i].p);
    }
    for (size_t i = 0; i < b->n_readers; i++) {
        struct reader *r = &b->readers[i];
        if (!r->running)
            continue;
        pthread_mutex_lock(&r->mu);
        bool done = r->done;
        pthread_mutex_unlock(&r->mu);
        if (done)
            finish_session(r);
    }
}

static void check_deadlines(struct bridge *b, int64_t now)
{
    for (size_t i = 0; i < b->n_readers; i++) {
        struct reader *r = &b->readers[i];
    rescan:
        for (struct auth *a = r->head; a; a = a->next) {
            if (a->deadline > now)
                continue;
            /* Waiting for a card at the head of an idle reader is TIMEOUT;
             * waiting behind another session is QUEUE_TIMEOUT. */
            bool for_card = a == r->head && !r->running;
            unlink_queued(r, a);
            answer_auth(a, for_card ? BRIDGE_ERR_TIMEOUT : BRIDGE_ERR_QUEUE_TIMEOUT,
                        for_card ? "no card was presented in time"
                                 : "the reader stayed busy with other sessions");
            free_auth(a);
            goto rescan; /* answering may have dropped the client and its other requests */
        }
        if (r->running && r->running->client && r->running->deadline <= now)
            answer_auth(r->running, BRIDGE_ERR_TIMEOUT, "the card session took too long");
        schedule(r);
    }
}

/* ---- methods ------------------------------------------------------------- */

static const char *slot_state(const struct reader *r)
{
    return !r->present ? "absent" : r->active ? "active" : "present";
}

static cJSON *reader_json(const struct reader *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", r->cfg.name);
    cJSON_AddStringToObject(o, "backend", r->ops->name);
    cJSON_AddStringToObject(o, "state", slot_state(r));
    cJSON_AddStringToObject(o, "link", r->up ? "up" : "down");
    if (r->atr_len && r->present) {
        char hex[2 * BRIDGE_ATR_MAX + 1];
        hex_encode(r->atr, r->atr_len, hex);
        cJSON_AddStringToObject(o, "atr", hex);
    }
    return o;
}

static void m_readers(struct client *c, const cJSON *id)
{
    struct bridge *b = c->b;
    cJSON *res = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(res, "readers");
    for (size_t i = 0; i < b->n_readers; i++)
        cJSON_AddItemToArray(arr, reader_json(&b->readers[i]));
    send_result(c, id, res);
}

static void count_sessions(const struct bridge *b, size_t *running, size_t *queued)
{
    *running = *queued = 0;
    for (size_t i = 0; i < b->n_readers; i++) {
        *running += b->readers[i].running != NULL;
        *queued += b->readers[i].queued;
    }
}

/* A count as a JSON integer. Debian's cJSON 1.7.15 prints every number with
 * "%1.15g" and reads it back with sscanf to check it: most of the cost of a
 * `status` answer, the request hundreds of clients poll (bench_bridge). */
static void add_count(cJSON *o, const char *key, uint64_t v)
{
    char digits[24];
    snprintf(digits, sizeof digits, "%llu", (unsigned long long)v);
    cJSON_AddRawToObject(o, key, digits);
}

static void m_status(struct client *c, const cJSON *id)
{
    struct bridge *b = c->b;
    size_t running, queued, up = 0, cards = 0, subs = 0;
    count_sessions(b, &running, &queued);
    for (size_t i = 0; i < b->n_readers; i++) {
        up += b->readers[i].up;
        cards += b->readers[i].present;
    }
    for (size_t i = 0; i < b->n_clients; i++)
        subs += b->clients[i]->subscribed && !b->clients[i]->dead;
    cJSON *res = cJSON_CreateObject();
    add_count(res, "uptime_ms", (uint64_t)(now_ms() - b->start_ms));
    cJSON *rd = cJSON_AddObjectToObject(res, "readers");
    add_count(rd, "configured", (uint64_t)b->n_readers);
    add_count(rd, "up", (uint64_t)up);
    add_count(rd, "with_card", (uint64_t)cards);
    cJSON *ss = cJSON_AddObjectToObject(res, "sessions");
    add_count(ss, "running", (uint64_t)running);
    add_count(ss, "queued", (uint64_t)queued);
    add_count(res, "clients", (uint64_t)b->n_clients);
    add_count(res, "subscribers", (uint64_t)subs);
    send_result(c, id, res);
}

static void add_problem(cJSON *arr, const char *code, const char *severity, const char *reader,
                        const char *msg)
{
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "code", code);
    cJSON_AddStringToObject(p, "severity", severity);
    if (reader)
        cJSON_AddStringToObject(p, "reader", reader);
    cJSON_AddStringToObject(p, "message", msg);
    cJSON_AddItemToArray(arr, p);
}

static void m_diagnose(struct client *c, const cJSON *id)
{
    const struct bridge *b = c->b;
    const struct bridge_config *cfg = b->cfg;
    cJSON *res = cJSON_CreateObject();
    cJSON *be = cJSON_AddArrayToObject(res, "backends");
    cJSON *sim = cJSON_CreateObject();
    size_t n_sim = 0, up_sim = 0;
    for (size_t i = 0; i < b->n_readers; i++) {
        n_sim++;
        up_sim += b->readers[i].up;
    }
    cJSON_AddStringToObject(sim, "name", "sim");
    cJSON_AddStringToObject(sim, "state", up_sim ? "up" : "down");
    cJSON_AddNumberToObject(sim, "readers", (double)n_sim);
    cJSON_AddNumberToObject(sim, "readers_up", (double)up_sim);
    cJSON_AddItemToArray(be, sim);

    cJSON *rs = cJSON_AddArrayToObject(res, "readers");
    for (size_t i = 0; i < b->n_readers; i++) {
        const struct reader *r = &b->readers[i];
        cJSON *o = reader_json(r);
        cJSON_AddStringToObject(o, "path", r->cfg.path);
        cJSON_AddBoolToObject(o, "busy", r->running != NULL);
        cJSON_AddNumberToObject(o, "queued", (double)r->queued);
        if (r->last_error[0])
            cJSON_AddStringToObject(o, "last_error", r->last_error);
        else
            cJSON_AddNullToObject(o, "last_error");
        cJSON_AddItemToArray(rs, o);
    }

    cJSON *probs = cJSON_AddArrayToObject(res, "problems");
    if (cfg->n_origin == 0)
        add_problem(probs, "NO_ORIGINS", "error", NULL,
                    "the origin allow-list is empty: every authenticate is refused");
    if (b->n_readers == 0)
        add_problem(probs, "NO_READERS", "error", NULL, "no reader is configured");
    for (size_t i = 0; i < b->n_readers; i++)
        if (!b->readers[i].up)
            add_problem(probs, "READER_UNREACHABLE", "error", b->readers[i].cfg.name,
                        b->readers[i].last_error);
    if (cfg->n_allow_uid == 0 && cfg->n_allow_gid == 0)
        add_problem(probs, "NO_PEER_ALLOW_LIST", "warning", NULL,
                    "any local user who can open the socket is served");

    cJSON *cf = cJSON_AddObjectToObject(res, "config");
    cJSON_AddStringToObject(cf, "socket", cfg->socket);
    cJSON *o = cJSON_AddArrayToObject(cf, "origins");
    for (size_t i = 0; i < cfg->n_origin; i++)
        cJSON_AddItemToArray(o, cJSON_CreateString(cfg->origin[i]));
    cJSON *u = cJSON_AddArrayToObject(cf, "allow_uid");
    for (size_t i = 0; i < cfg->n_allow_uid; i++)
        cJSON_AddItemToArray(u, cJSON_CreateNumber(cfg->allow_uid[i]));
    cJSON *g = cJSON_AddArrayToObject(cf, "allow_gid");
    for (size_t i = 0; i < cfg->n_allow_gid; i++)
        cJSON_AddItemToArray(g, cJSON_CreateNumber(cfg->allow_gid[i]));
    cJSON_AddNumberToObject(cf, "timeout_ms", cfg->timeout_ms);
    cJSON_AddNumberToObject(cf, "queue_max", cfg->queue_max);
    cJSON_AddStringToObject(cf, "log", cfg->log_syslog ? "syslog" : "stderr");
    send_result(c, id, res);
}

static struct reader *pick_reader(struct bridge *b, const char *name)
{
    if (name[0]) {
        for (size_t i = 0; i < b->n_readers; i++)
            if (!strcmp(b->readers[i].cfg.name, name))
                return &b->readers[i];
        return NULL;
    }
    /* Any reader: an idle one with a card, else one with a card, else the first. */
    for (size_t i = 0; i < b->n_readers; i++)
        if (b->readers[i].present && !b->readers[i].running && !b->readers[i].queued)
            return &b->readers[i];
    for (size_t i = 0; i < b->n_readers; i++)
        if (b->readers[i].present)
            return &b->readers[i];
    return b->n_readers ? &b->readers[0] : NULL;
}

static void m_authenticate(struct client *c, struct bridge_request *req, uint64_t seq)
{
    struct bridge *b = c->b;
    bool allowed = false;
    for (size_t i = 0; i < b->cfg->n_origin && !allowed; i++)
        allowed = !strcmp(b->cfg->origin[i], req->origin);
    if (!allowed) {
        send_error(c, req->id, BRIDGE_ERR_ORIGIN_NOT_ALLOWED,
                   "origin: not on the bridge's allow-list");
        bridge_log(BRIDGE_LOG_INFO, seq, "authenticate: ORIGIN_NOT_ALLOWED");
        return;
    }
    struct reader *r = pick_reader(b, req->reader);
    if (!r) {
        send_error(c, req->id, BRIDGE_ERR_NO_READER,
                   req->reader[0] ? "reader: no reader of that name" : "no reader is configured");
        bridge_log(BRIDGE_LOG_INFO, seq, "authenticate: NO_READER");
        return;
    }
    if (r->queued >= b->cfg->queue_max) {
        send_error(c, req->id, BRIDGE_ERR_READER_BUSY, "the reader's queue is full");
        bridge_log(BRIDGE_LOG_INFO, seq, "authenticate on %s: READER_BUSY", r->cfg.name);
        return;
    }
    struct auth *a = calloc(1, sizeof *a);
    if (!a) {
        send_error(c, req->id, BRIDGE_ERR_INTERNAL, "out of memory");
        return;
    }
    a->req = *req;
    wipe(req, sizeof *req); /* the auth owns the ids, the CAN and the MRZ now */
    a->client = c;
    a->seq = seq;
    a->reader = r;
    atomic_init(&a->cancel, false);
    a->deadline = now_ms() + (a->req.timeout_ms ? a->req.timeout_ms : b->cfg->timeout_ms);
    if (r->tail)
        r->tail->next = a;
    else
        r->head = a;
    r->tail = a;
    r->queued++;
    bridge_log(BRIDGE_LOG_INFO, seq, "authenticate queued on %s (%zu in queue)", r->cfg.name,
               r->queued);
    progress_step(a, "queued");
    schedule(r);
}

static void m_cancel(struct client *c, const struct bridge_request *req, uint64_t seq)
{
    struct bridge *b = c->b;
    struct auth *found = NULL;
    for (size_t i = 0; i < b->n_readers && !found; i++) {
        struct reader *r = &b->readers[i];
        if (r->running && r->running->client == c && r->running->req.id &&
            cJSON_Compare(r->running->req.id, req->cancel_id, true))
            found = r->running;
        for (struct auth *a = r->head; a && !found; a = a->next)
            if (a->client == c && a->req.id && cJSON_Compare(a->req.id, req->cancel_id, true))
                found = a;
    }
    if (!found) {
        send_error(c, req->id, BRIDGE_ERR_BAD_PARAMS,
                   "request: no pending authenticate with that id on this connection");
        return;
    }
    struct reader *r = found->reader;
    bridge_log(BRIDGE_LOG_INFO, found->seq, "cancelled by request %llu", (unsigned long long)seq);
    if (found == r->running) {
        answer_auth(found, BRIDGE_ERR_CANCELLED, "cancelled by the client");
    } else {
        unlink_queued(r, found);
        answer_auth(found, BRIDGE_ERR_CANCELLED, "cancelled by the client");
        free_auth(found);
        schedule(r);
    }
    cJSON *res = cJSON_CreateObject();
    cJSON_AddBoolToObject(res, "cancelled", true);
    send_result(c, req->id, res);
}

static void handle_line(struct client *c, char *line, size_t len)
{
    struct bridge *b = c->b;
    uint64_t seq = ++b->next_seq;
    struct bridge_request req;
    char msg[160];
    enum bridge_err e = bridge_request_parse(line, len, &req, msg, sizeof msg);
    wipe(line, len); /* the line may hold a CAN */
    if (e != BRIDGE_OK) {
        bridge_log(BRIDGE_LOG_INFO, seq, "client %llu: %s (%s)", (unsigned long long)c->cid,
                   bridge_err_code(e), msg);
        send_error(c, req.id, e, msg);
        bridge_request_clear(&req);
        return;
    }
    bridge_log(BRIDGE_LOG_DEBUG, seq, "client %llu: %s", (unsigned long long)c->cid,
               bridge_method_name(req.method));
    switch (req.method) {
    case BRIDGE_M_VERSION: {
        cJSON *res = cJSON_CreateObject();
        cJSON_AddStringToObject(res, "bridge", HAWIYA_VERSION);
        cJSON_AddNumberToObject(res, "protocol", BRIDGE_PROTOCOL_VERSION);
        send_result(c, req.id, res);
        break;
    }
    case BRIDGE_M_READERS: m_readers(c, req.id); break;
    case BRIDGE_M_STATUS: m_status(c, req.id); break;
    case BRIDGE_M_DIAGNOSE: m_diagnose(c, req.id); break;
    case BRIDGE_M_SUBSCRIBE: {
        c->subscribed = true;
        cJSON *res = cJSON_CreateObject();
        cJSON_AddBoolToObject(res, "subscribed", true);
        send_result(c, req.id, res);
        break;
    }
    case BRIDGE_M_CANCEL: m_cancel(c, &req, seq); break;
    case BRIDGE_M_AUTHENTICATE: m_authenticate(c, &req, seq); break;
    }
    bridge_request_clear(&req);
}

/* ---- clients ------------------------------------------------------------- */

static void drop_client(struct client *c, const char *why)
{
    struct bridge *b = c->b;
    if (c->dead)
        return;
    c->dead = true;
    bridge_log(BRIDGE_LOG_DEBUG, 0, "client %llu closed: %s", (unsigned long long)c->cid, why);
    for (size_t i = 0; i < b->n_readers; i++) {
        struct reader *r = &b->readers[i];
        if (r->running && r->running->client == c) {
            bridge_log(BRIDGE_LOG_INFO, r->running->seq, "client gone: session cancelled");
            r->running->client = NULL;
            atomic_store(&r->running->cancel, true);
        }
        bool removed = false;
        for (struct auth *a = r->head, *next; a; a = next) {
            next = a->next;
            if (a->client != c)
                continue;
            bridge_log(BRIDGE_LOG_INFO, a->seq, "client gone: queued session dropped");
            unlink_queued(r, a);
            free_auth(a);
            removed = true;
        }
        if (removed)
            schedule(r);
    }
    /* Leave unread input behind and Linux resets the peer instead of
     * letting it read our last answer: drain what is there first. */
    char buf[4096];
    size_t drained = 0;
    ssize_t k;
    while (drained < CLOSE_DRAIN_MAX && (k = recv(c->fd, buf, sizeof buf, MSG_DONTWAIT)) > 0)
        drained += (size_t)k;
    close(c->fd);
    c->fd = -1;
    if (c->in)
        wipe(c->in, c->in_cap);
    free(c->in);
    free(c->out);
    c->in = c->out = NULL;
    c->in_len = c->in_cap = c->out_len = c->out_cap = 0;
}

static void process_lines(struct client *c)
{
    struct bridge *b = c->b;
    size_t start = 0;
    while (!c->dead && c->out_len <= OUT_PAUSE) {
        char *nl = memchr(c->in + start, '\n', c->in_len - start);
        if (!nl)
            break;
        size_t len = (size_t)(nl - (c->in + start));
        if (len > 0 && !(len == 1 && c->in[start] == '\r'))
            handle_line(c, c->in + start, len);
        start += len + 1;
    }
    if (c->dead)
        return;
    if (start) {
        memmove(c->in, c->in + start, c->in_len - start);
        wipe(c->in + c->in_len - start, start);
        c->in_len -= start;
    }
    if (c->in_len >= IN_LIMIT && !memchr(c->in, '\n', c->in_len)) {
        char msg[80];
        snprintf(msg, sizeof msg, "a request line is at most %u bytes", BRIDGE_LINE_MAX);
        bridge_log(BRIDGE_LOG_INFO, ++b->next_seq, "client %llu: TOO_LARGE",
                   (unsigned long long)c->cid);
        send_error(c, NULL, BRIDGE_ERR_TOO_LARGE, msg);
        drop_client(c, "request line too large");
    }
}

static void read_client(struct client *c)
{
    if (c->in_len == IN_LIMIT)
        return; /* lines wait for our answers to drain */
    if (c->in_len == c->in_cap) {
        size_t cap = c->in_cap ? c->in_cap * 2 : 1024;
        if (cap > IN_LIMIT)
            cap = IN_LIMIT;
        char *p = malloc(cap);
        if (!p) {
            drop_client(c, "out of memory");
            return;
        }
        if (c->in_len)
            memcpy(p, c->in, c->in_len);
        if (c->in)
            wipe(c->in, c->in_cap);
        free(c->in);
        c->in = p;
        c->in_cap = cap;
    }
    ssize_t k = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, MSG_DONTWAIT);
    if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (k <= 0) {
        drop_client(c, k == 0 ? "peer closed" : "read failed");
        return;
    }
    c->in_len += (size_t)k;
    process_lines(c);
    if (!c->dead && c->in_len == 0 && c->in_cap > 4096) {
        free(c->in); /* an idle client keeps no buffer */
        c->in = NULL;
        c->in_cap = 0;
    }
}

static bool peer_allowed(const struct bridge *b, int fd, struct ucred *cr)
{
    socklen_t len = sizeof *cr;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cr, &len) < 0)
        return false;
    const struct bridge_config *cfg = b->cfg;
    if (cfg->n_allow_uid == 0 && cfg->n_allow_gid == 0)
        return true;
    for (size_t i = 0; i < cfg->n_allow_uid; i++)
        if (cfg->allow_uid[i] == cr->uid)
            return true;
    for (size_t i = 0; i < cfg->n_allow_gid; i++)
        if (cfg->allow_gid[i] == cr->gid)
            return true;
    return false;
}

static void accept_clients(struct bridge *b)
{
    for (int burst = 0; burst < 64; burst++) {
        int fd = accept4(b->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        struct ucred cr = {0};
        if (!peer_allowed(b, fd, &cr)) {
            bridge_log(BRIDGE_LOG_WARN, ++b->next_seq, "peer uid %u gid %u refused",
                       (unsigned)cr.uid, (unsigned)cr.gid);
            char *line = bridge_answer_error(NULL, BRIDGE_ERR_PEER_NOT_ALLOWED,
                                             "this user is not on the bridge's allow-list");
            if (line) {
                ssize_t w = send(fd, line, strlen(line), MSG_NOSIGNAL | MSG_DONTWAIT);
                (void)w;
            }
            free(line);
            close(fd);
            continue;
        }
        if (b->n_clients >= MAX_CLIENTS) {
            bridge_log(BRIDGE_LOG_WARN, 0, "too many clients, one refused");
            close(fd);
            continue;
        }
        if (b->n_clients == b->cap_clients) {
            size_t cap = b->cap_clients ? b->cap_clients * 2 : 64;
            struct client **p = realloc(b->clients, cap * sizeof *p);
            if (!p) {
                close(fd);
                continue;
            }
            b->clients = p;
            b->cap_clients = cap;
        }
        struct client *c = calloc(1, sizeof *c);
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        if (!c || epoll_ctl(b->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
            free(c);
            close(fd);
            continue;
        }
        c->w.kind = WATCH_CLIENT;
        c->ep_events = EPOLLIN;
        c->fd = fd;
        c->b = b;
        c->cid = ++b->next_cid;
        b->clients[b->n_clients++] = c;
        bridge_log(BRIDGE_LOG_DEBUG, 0, "client %llu: uid %u connected", (unsigned long long)c->cid,
                   (unsigned)cr.uid);
    }
}

static void reap_clients(struct bridge *b)
{
    size_t j = 0;
    for (size_t i = 0; i < b->n_clients; i++) {
        if (b->clients[i]->dead)
            free(b->clients[i]);
        else
            b->clients[j++] = b->clients[i];
    }
    b->n_clients = j;
}

/* ---- setup --------------------------------------------------------------- */

static int make_parent_dir(const char *path, mode_t mode)
{
    char dir[BRIDGE_PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return 0;
    *slash = '\0';
    struct stat st;
    if (stat(dir, &st) == 0)
        return S_ISDIR(st.st_mode) ? 0 : -1;
    /* Create missing ancestors too (as with mkdir -p), each with `mode`. */
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(dir, mode) < 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(dir, mode) < 0 && errno != EEXIST)
        return -1;
    return chmod(dir, mode);
}

static int open_listener(const struct bridge *b, const char *path)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof a.sun_path)
        return -1;
    memcpy(a.sun_path, path, strlen(path) + 1);
    if (make_parent_dir(path, b->cfg->n_allow_gid ? 0750 : 0700) < 0) {
        bridge_log(BRIDGE_LOG_ERROR, 0, "cannot create the directory of %s: %s", path,
                   strerror(errno));
        return -1;
    }
    struct stat st;
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            bridge_log(BRIDGE_LOG_ERROR, 0, "%s exists and is not a socket", path);
            return -1;
        }
        int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        bool live = probe >= 0 && connect(probe, (struct sockaddr *)&a, sizeof a) == 0;
        if (probe >= 0)
            close(probe);
        if (live) {
            bridge_log(BRIDGE_LOG_ERROR, 0, "another bridge is serving %s", path);
            return -1;
        }
        unlink(path); /* a stale socket of a bridge that died */
    }
    /* Bound and listening under a temporary name, then renamed into place:
     * a client that sees the socket can connect to it. */
    struct sockaddr_un tmp = a;
    int k = snprintf(tmp.sun_path, sizeof tmp.sun_path, "%s.new", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (k <= 0 || (size_t)k >= sizeof tmp.sun_path) {
        bridge_log(BRIDGE_LOG_ERROR, 0, "socket path too long: %s", path);
        if (fd >= 0)
            close(fd);
        return -1;
    }
    unlink(tmp.sun_path);
    if (fd < 0 || bind(fd, (struct sockaddr *)&tmp, sizeof tmp) < 0 ||
        chmod(tmp.sun_path, 0660) < 0 || listen(fd, 128) < 0 || rename(tmp.sun_path, path) < 0) {
        bridge_log(BRIDGE_LOG_ERROR, 0, "cannot listen on %s: %s", path, strerror(errno));
        unlink(tmp.sun_path);
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static bool start_readers(struct bridge *b, const struct bridge_config *cfg)
{
    for (size_t i = 0; i < cfg->n_reader; i++) {
        struct reader *r = &b->readers[i];
        memset(r, 0, sizeof *r);
        r->cfg = cfg->reader[i];
        r->ops = &bridge_backend_sim;
        r->w.kind = WATCH_READER;
        r->b = b;
        r->fd = -1;
        r->ep_fd = -1;
        r->be = r->ops->create(&r->cfg);
        if (!r->be)
            return false;
        pthread_mutex_init(&r->mu, NULL);
        pthread_cond_init(&r->cv, NULL);
        if (pthread_create(&r->thread, NULL, worker, r) != 0)
            return false;
        r->thread_ok = true;
        b->n_readers++;
        try_connect(r);
    }
    return true;
}

/* Stops the workers; false when one is still inside a backend call. */
static bool stop_readers(struct bridge *b)
{
    bool all = true;
    for (size_t i = 0; i < b->n_readers; i++) {
        struct reader *r = &b->readers[i];
        pthread_mutex_lock(&r->mu);
        r->quit = true;
        pthread_cond_signal(&r->cv);
        pthread_mutex_unlock(&r->mu);
        /* A worker still inside a backend call is left to process exit. */
        if (r->running) {
            all = false;
            continue;
        }
        if (r->thread_ok)
            pthread_join(r->thread, NULL);
        while (r->head) {
            struct auth *a = r->head;
            r->head = a->next;
            free_auth(a);
        }
        r->ops->destroy(r->be);
    }
    return all;
}

/* ---- the event loop ------------------------------------------------------ */

/* A reader's link is watched while idle; a running session's worker owns it. */
static void watch_reader(struct reader *r)
{
    struct bridge *b = r->b;
    int want = r->up && !r->running ? r->fd : -1;
    if (want == r->ep_fd)
        return;
    if (r->ep_fd >= 0)
        epoll_ctl(b->ep, EPOLL_CTL_DEL, r->ep_fd, NULL);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &r->w};
    r->ep_fd = want >= 0 && epoll_ctl(b->ep, EPOLL_CTL_ADD, want, &ev) == 0 ? want : -1;
}

/* Read while our answers drain (back-pressure above OUT_PAUSE); write while any wait. */
static void watch_client(struct client *c)
{
    struct bridge *b = c->b;
    if (c->dead)
        return;
    uint32_t want = (c->out_len <= OUT_PAUSE ? EPOLLIN : 0u) | (c->out_len ? EPOLLOUT : 0u);
    if (want == c->ep_events)
        return;
    struct epoll_event ev = {.events = want, .data.ptr = c};
    if (epoll_ctl(b->ep, EPOLL_CTL_MOD, c->fd, &ev) == 0)
        c->ep_events = want;
    else
        drop_client(c, "epoll failed");
}

static int serve(struct bridge *b, const struct bridge_config *cfg)
{
    b->cfg = cfg;
    b->start_ms = now_ms();
    pthread_mutex_init(&b->pmu, NULL);
    bridge_log_open(cfg->log_syslog, cfg->log_level);

    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    /* SIGTERM and SIGINT arrive as events of the loop (signalfd), blocked
     * before the workers start so that every thread inherits the mask. */
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    b->sig_fd = signalfd(-1, &stop_signals, SFD_NONBLOCK | SFD_CLOEXEC);
    if (b->sig_fd < 0)
        return 1;
    signal(SIGPIPE, SIG_IGN);

    if (pipe2(b->wake, O_NONBLOCK | O_CLOEXEC) < 0)
        return 1;
    b->listen_fd = open_listener(b, cfg->socket);
    if (b->listen_fd < 0)
        return 1;
    if (!start_readers(b, cfg)) {
        bridge_log(BRIDGE_LOG_ERROR, 0, "cannot start the readers");
        return 1;
    }
    bridge_log(BRIDGE_LOG_INFO, 0, "serving %s with %zu reader(s), %zu origin(s)", cfg->socket,
               b->n_readers, cfg->n_origin);

    /* epoll, not poll: with hundreds of idle clients connected, each wakeup
     * costs the ready descriptors, not all of them (bench_bridge). */
    b->ep = epoll_create1(EPOLL_CLOEXEC);
    b->w_listen.kind = WATCH_LISTEN;
    b->w_wake.kind = WATCH_WAKE;
    b->w_signal.kind = WATCH_SIGNAL;
    struct epoll_event lev = {.events = EPOLLIN, .data.ptr = &b->w_listen};
    struct epoll_event wev = {.events = EPOLLIN, .data.ptr = &b->w_wake};
    struct epoll_event sev = {.events = EPOLLIN, .data.ptr = &b->w_signal};
    if (b->ep < 0 || epoll_ctl(b->ep, EPOLL_CTL_ADD, b->listen_fd, &lev) < 0 ||
        epoll_ctl(b->ep, EPOLL_CTL_ADD, b->wake[0], &wev) < 0 ||
        epoll_ctl(b->ep, EPOLL_CTL_ADD, b->sig_fd, &sev) < 0) {
        bridge_log(BRIDGE_LOG_ERROR, 0, "epoll: %s", strerror(errno));
        return 1;
    }
    struct epoll_event evs[EPOLL_BATCH];
    while (!b->stop) {
        int64_t now = now_ms(), next = now + 1000;
        for (size_t i = 0; i < b->n_readers; i++) {
            struct reader *r = &b->readers[i];
            watch_reader(r);
            if (!r->up && !r->running && r->next_connect < next)
                next = r->next_connect;
            for (struct auth *a = r->head; a; a = a->next)
                if (a->deadline < next)
                    next = a->deadline;
            if (r->running && r->running->client && r->running->deadline < next)
                next = r->running->deadline;
        }
        for (size_t i = 0; i < b->n_clients; i++)
            watch_client(b->clients[i]);
        int timeout = next > now ? (int)(next - now) : 0;
        int k = epoll_wait(b->ep, evs, (int)EPOLL_BATCH, timeout);
        if (k < 0 && errno != EINTR)
            break;
        now = now_ms();
        bool wake = false, accept = false;
        for (int i = 0; i < k; i++) {
            struct watch *w = evs[i].data.ptr;
            uint32_t re = evs[i].events;
            if (w->kind == WATCH_LISTEN) {
                accept = true;
            } else if (w->kind == WATCH_WAKE) {
                wake = true;
            } else if (w->kind == WATCH_SIGNAL) {
                struct signalfd_siginfo si;
                if (read(b->sig_fd, &si, sizeof si) == (ssize_t)sizeof si)
                    b->stop = true;
            } else if (w->kind == WATCH_READER) {
                struct reader *r = (struct reader *)w;
                /* The event may predate a session that took the link since. */
                if (r->up && !r->running)
                    sync_reader(r);
            } else {
                struct client *c = (struct client *)w; /* freed only by reap_clients */
                if (c->dead)
                    continue;
                if (re & EPOLLOUT) {
                    flush_client(c);
                    if (!c->dead && c->out_len <= OUT_PAUSE)
                        process_lines(c);
                }
                if (!c->dead && (re & (EPOLLIN | EPOLLHUP | EPOLLERR)))
                    read_client(c);
            }
        }
        if (wake)
            drain_wake(b);
        if (accept)
            accept_clients(b);
        for (size_t i = 0; i < b->n_readers; i++) {
            struct reader *r = &b->readers[i];
            if (!r->up && !r->running && r->next_connect <= now)
                try_connect(r);
        }
        check_deadlines(b, now);
        reap_clients(b);
    }
    bridge_log(BRIDGE_LOG_INFO, 0, "stopping");
    for (size_t i = 0; i < b->n_clients; i++)
        drop_client(b->clients[i], "bridge stopping");
    reap_clients(b);
    free(b->clients);
    bool joined = stop_readers(b);
    close(b->listen_fd);
    close(b->ep);
    close(b->sig_fd);
    unlink(cfg->socket);
    if (!joined)
        return -1;
    close(b->wake[0]);
    close(b->wake[1]);
    return 0;
}

int bridge_run(const struct bridge_config *cfg)
{
    struct bridge *b = calloc(1, sizeof *b);
    if (!b)
        return 1;
    b->sig_fd = b->ep = b->listen_fd = b->wake[0] = b->wake[1] = -1;
    int rc = serve(b, cfg);
    if (rc < 0)
        return 0; /* a worker is still inside a backend call: it keeps b until exit */
    pthread_mutex_destroy(&b->pmu);
    free(b);
    return rc;
}

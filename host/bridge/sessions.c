/*
 * The readers of hawiya-bridge and their sessions. Each reader has a
 * backend (backend.h), one worker thread that runs the backend's
 * authenticate() for the session at the head of the reader's FIFO queue,
 * and reports progress and completion back to the event loop through the
 * bridge's wake pipe. One session per reader at a time; every queued
 * request has its own deadline (docs/bridge-protocol.md "authenticate").
 *
 * Who goes next is fair between requesters (a uid, or a page origin): the
 * one served least recently, first come first served among its own
 * requests; each has at most queue_per_peer pending per reader. After a
 * failed CAN or MRZ a reader waits auth_delay_ms, doubling with each
 * failure in a row up to auth_delay_max_ms, before its next session (a
 * brute force of the 10^6 CANs then takes years). Idle readers are probed
 * for liveness (the reader's INFO, which also tells its identity's state).
 * A request's CAN and MRZ wait in a page of their own that no core dump
 * includes, wiped when the request ends.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "daemon.h"
#include "harden.h"
#include "hawiya/wipe.h"
#include "log.h"

#define RECONNECT_MS      500
#define PROBE_INTERVAL_MS 5000   /* an idle reader is asked this often */
#define PROBE_ANSWER_MS   3000   /* ... and must answer within this */
#define AUTH_FORGET_MS    900000 /* failures in a row are forgotten after 15 min without one */

cJSON *reader_event(const char *name, const struct reader *r)
{
    cJSON *ev = cJSON_CreateObject();
    cJSON_AddStringToObject(ev, "event", name);
    cJSON_AddStringToObject(ev, "reader", r->cfg.name);
    return ev;
}

/* card_inserted / card_removed, with the interface when the backend knows it. */
static cJSON *card_event(const char *name, const struct reader *r)
{
    cJSON *ev = reader_event(name, r);
    if (r->iface[0])
        cJSON_AddStringToObject(ev, "interface", r->iface);
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
    if (p->has_host_costs) {
        cJSON_AddNumberToObject(ev, "elapsed_ms", p->host_elapsed_ms);
        cJSON_AddNumberToObject(ev, "bridge_cpu_ms", p->host_cpu_ms);
        cJSON_AddNumberToObject(ev, "apdus", p->apdus);
        cJSON_AddNumberToObject(ev, "pcsc_calls", p->pcsc_calls);
    }
    bridge_log(BRIDGE_LOG_DEBUG, a->seq, "progress %s on %s", p->step, a->reader->cfg.name);
    bridge_broadcast(a->reader->b, ev, a->client);
}

static void progress_step(struct auth *a, const char *step)
{
    struct bridge_progress p = {0};
    snprintf(p.step, sizeof p.step, "%s", step);
    progress_event(a, &p);
}

/* ---- sessions ------------------------------------------------------------ */

/* The request no longer belongs to a client (answered, or the client left). */
static void detach_client(struct auth *a)
{
    if (a->client && a->client->pending)
        a->client->pending--;
    a->client = NULL;
}

static void free_auth(struct auth *a)
{
    detach_client(a);
    bridge_request_clear(&a->req);
    secret_free(a->secret, sizeof *a->secret);
    free(a->res.assertion_json);
    wipe(a, sizeof *a);
    free(a);
}

/* Answers a session early; a running one is left to its worker, told to stop. */
static void answer_auth(struct auth *a, enum bridge_err e, const char *msg)
{
    if (a->client) {
        client_send_error(a->client, a->req.id, e, msg);
        bridge_log(BRIDGE_LOG_INFO, a->seq, "authenticate on %s: %s", a->reader->cfg.name,
                   bridge_err_code(e));
    }
    detach_client(a);
    atomic_store(&a->cancel, true);
}

int64_t auth_delay_ms(const struct bridge_config *cfg, unsigned failures)
{
    if (failures == 0)
        return 0;
    uint64_t d = cfg->auth_delay_ms;
    for (unsigned i = 1; i < failures && d < cfg->auth_delay_max_ms; i++)
        d *= 2;
    return (int64_t)(d < cfg->auth_delay_max_ms ? d : cfg->auth_delay_max_ms);
}

size_t reader_pending_of_peer(const struct reader *r, const struct client *c)
{
    uint64_t key = client_peer_key(c);
    size_t n = r->running && r->running->client && r->running->peer == key;
    for (const struct auth *a = r->head; a; a = a->next)
        n += a->peer == key;
    return n;
}

static uint64_t last_served(const struct reader *r, uint64_t peer)
{
    for (size_t i = 0; i < sizeof r->served / sizeof r->served[0]; i++)
        if (r->served[i].tick && r->served[i].peer == peer)
            return r->served[i].tick;
    return 0;
}

static void note_served(struct reader *r, uint64_t peer)
{
    size_t slot = 0;
    for (size_t i = 0; i < sizeof r->served / sizeof r->served[0]; i++) {
        if (r->served[i].peer == peer || !r->served[i].tick) {
            slot = i;
            break;
        }
        if (r->served[i].tick < r->served[slot].tick)
            slot = i; /* the one served longest ago makes room */
    }
    r->served[slot].peer = peer;
    r->served[slot].tick = ++r->serve_tick;
}

/* The queued request to serve next: the requester served least recently,
 * its oldest request. */
static struct auth *next_in_line(const struct reader *r)
{
    struct auth *best = NULL;
    uint64_t best_tick = 0;
    for (struct auth *a = r->head; a; a = a->next) {
        uint64_t t = last_served(r, a->peer);
        if (!best || t < best_tick) {
            best = a;
            best_tick = t;
        }
    }
    return best;
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
        b->ring[b->ring_n++] = (struct progress_msg){a->seq, a->reader->rid, *p};
    pthread_mutex_unlock(&b->pmu);
    bridge_wake(b);
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
        int64_t left = a->deadline - bridge_now_ms();
        struct bridge_auth p = {
            .challenge = a->req.challenge,
            .challenge_len = a->req.challenge_len,
            .origin = a->req.origin,
            .can = a->secret->can[0] ? a->secret->can : NULL,
            .mrz_info = a->secret->mrz_info[0] ? a->secret->mrz_info : NULL,
            .timeout_ms = left > 0 ? (uint32_t)left : 1,
            .call_max_ms = r->b->cfg->reader_call_max_ms,
        };
        enum bridge_err e = r->ops->authenticate(r->be, &p, worker_progress, a, &a->res);
        /* What the session left on this thread's stack and in its vector
         * registers (a PC/SC reader's PACE runs here: K_pi, session keys in
         * mbedTLS's temporaries), before a lazily bound library (libusb is
         * not -z now) could save those registers somewhere. */
        wipe_stack(65536);
        pthread_mutex_lock(&r->mu);
        a->result = e;
        r->job = NULL;
        r->done = true;
        bridge_wake(r->b);
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

static void schedule(struct reader *r)
{
    while (r->head && !r->running) {
        struct auth *a = next_in_line(r);
        int64_t now = bridge_now_ms();
        if (!r->up || r->unresponsive || !r->present) {
            /* Say which: a reader out of reach is not a card not presented. */
            if (!a->told_waiting) {
                a->told_waiting = true;
                progress_step(a, !r->up || r->unresponsive ? "waiting_for_reader"
                                                           : "waiting_for_card");
            }
            return;
        }
        if (r->auth_failures && now - r->auth_last_failure > AUTH_FORGET_MS)
            r->auth_failures = 0;
        if (now < r->auth_hold_until) {
            if (!a->told_delayed) {
                a->told_delayed = true;
                struct bridge_progress p = {0};
                snprintf(p.step, sizeof p.step, "delayed");
                snprintf(p.detail, sizeof p.detail,
                         "%u failed CAN or MRZ attempt(s) in a row on this reader: next session "
                         "in %lld ms",
                         r->auth_failures, (long long)(r->auth_hold_until - now));
                progress_event(a, &p);
            }
            return;
        }
        unlink_queued(r, a);
        note_served(r, a->peer);
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

/* A reader of that name that went away with failures: it takes them back. */
static void penalty_restore(struct bridge *b, struct reader *r)
{
    for (size_t i = 0; i < b->n_penalties; i++) {
        struct auth_penalty *pn = &b->penalties[i];
        if (strcmp(pn->name, r->cfg.name))
            continue;
        r->auth_failures = pn->failures;
        r->auth_hold_until = pn->hold_until;
        r->auth_last_failure = pn->last_failure;
        *pn = b->penalties[--b->n_penalties];
        bridge_log(BRIDGE_LOG_INFO, 0,
                   "reader %s is back with %u failed CAN/MRZ attempt(s) in a row", r->cfg.name,
                   r->auth_failures);
        return;
    }
}

/* A reader goes away: its failures stay (the oldest forgotten when full);
 * a reader of that name already back (the old one finished its session
 * after) takes them at once. */
static void penalty_keep(struct bridge *b, const struct reader *r)
{
    if (!r->auth_failures || bridge_now_ms() - r->auth_last_failure > AUTH_FORGET_MS)
        return;
    for (size_t i = 0; i < b->n_readers; i++) {
        struct reader *o = b->readers[i];
        if (o == r || o->gone || strcmp(o->cfg.name, r->cfg.name))
            continue;
        if (r->auth_last_failure > o->auth_last_failure) {
            o->auth_failures = r->auth_failures;
            o->auth_hold_until = r->auth_hold_until;
            o->auth_last_failure = r->auth_last_failure;
        }
        return;
    }
    size_t at = b->n_penalties;
    for (size_t i = 0; i < b->n_penalties; i++)
        if (!strcmp(b->penalties[i].name, r->cfg.name))
            at = i;
    if (at == BRIDGE_MAX_LIVE_READERS) {
        at = 0;
        for (size_t i = 1; i < b->n_penalties; i++)
            if (b->penalties[i].last_failure < b->penalties[at].last_failure)
                at = i;
    } else if (at == b->n_penalties) {
        b->n_penalties++;
    }
    struct auth_penalty *pn = &b->penalties[at];
    snprintf(pn->name, sizeof pn->name, "%s", r->cfg.name);
    pn->failures = r->auth_failures;
    pn->hold_until = r->auth_hold_until;
    pn->last_failure = r->auth_last_failure;
}

static struct reader *reader_new(struct bridge *b, const struct bridge_reader_config *cfg,
                                 bool dynamic)
{
    const struct bridge_backend_ops *ops = bridge_backend_find(cfg->backend);
    if (!ops || b->n_readers >= BRIDGE_MAX_LIVE_READERS)
        return NULL;
    void *provider = NULL;
    for (size_t i = 0; i < b->n_providers; i++)
        if (!strcmp(b->providers[i].ops->backend, ops->name))
            provider = b->providers[i].p;
    struct reader *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->cfg = *cfg;
    r->ops = ops;
    r->dynamic = dynamic;
    r->w.kind = WATCH_READER;
    r->b = b;
    r->rid = ++b->next_rid;
    r->fd = -1;
    r->ep_fd = -1;
    r->be = r->ops->create(&r->cfg, provider);
    if (!r->be) {
        free(r);
        return NULL;
    }
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    if (pthread_create(&r->thread, NULL, worker, r) != 0) {
        r->ops->destroy(r->be);
        pthread_mutex_destroy(&r->mu);
        pthread_cond_destroy(&r->cv);
        free(r);
        return NULL;
    }
    r->thread_ok = true;
    penalty_restore(b, r);
    b->readers[b->n_readers++] = r;
    return r;
}

/* Ends r's worker and frees r (not running a session); the caller unlinks it. */
static void reader_free(struct reader *r)
{
    pthread_mutex_lock(&r->mu);
    r->quit = true;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
    if (r->thread_ok)
        pthread_join(r->thread, NULL);
    while (r->head) {
        struct auth *a = r->head;
        r->head = a->next;
        free_auth(a);
    }
    if (r->ep_fd >= 0)
        epoll_ctl(r->b->ep, EPOLL_CTL_DEL, r->ep_fd, NULL);
    r->ops->destroy(r->be);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
    free(r);
}

static void reader_unlink(struct bridge *b, struct reader *r)
{
    for (size_t i = 0; i < b->n_readers; i++)
        if (b->readers[i] == r) {
            memmove(&b->readers[i], &b->readers[i + 1], (b->n_readers - i - 1) * sizeof r);
            b->n_readers--;
            return;
        }
}

static void reader_down(struct reader *r, const char *why)
{
    bool was_up = r->up;
    r->ops->disconnect(r->be);
    r->fd = -1;
    r->ep_fd = -1; /* closing the fd took it out of the epoll set */
    r->up = false;
    snprintf(r->last_error, sizeof r->last_error, "%s", why);
    r->next_connect = bridge_now_ms() + RECONNECT_MS;
    if (r->present) {
        r->present = false;
        bridge_broadcast(r->b, card_event("card_removed", r), NULL);
        r->iface[0] = '\0';
    }
    r->active = false;
    r->atr_len = 0;
    if (was_up) {
        bridge_log(BRIDGE_LOG_WARN, 0, "reader %s lost: %s", r->cfg.name, why);
        cJSON *ev = reader_event("reader_removed", r);
        cJSON_AddStringToObject(ev, "reason", why);
        bridge_broadcast(r->b, ev, NULL);
    }
}

/* Takes in the backend's view of the slot and announces changes. */
void reader_sync(struct reader *r)
{
    enum bridge_monitor m = r->ops->monitor(r->be);
    if (m == BRIDGE_MONITOR_BROKEN) {
        reader_down(r, "the reader closed the link");
        return;
    }
    bool present = r->ops->card_present(r->be);
    const char *iface = r->ops->card_interface ? r->ops->card_interface(r->be) : NULL;
    /* Out and in again between two looks, or a tap while a card sits in the
     * slot (and the other way round): two events, as it happened. */
    bool moved = present && r->present && iface && strcmp(iface, r->iface);
    if ((m == BRIDGE_MONITOR_SWAPPED || moved) && r->present && present) {
        r->present = false;
        r->atr_len = 0;
        bridge_log(BRIDGE_LOG_INFO, 0, "reader %s: card removed", r->cfg.name);
        bridge_broadcast(r->b, card_event("card_removed", r), NULL);
    }
    r->active = r->ops->card_active(r->be);
    if (!present)
        r->atr_len = 0;
    if (present != r->present) {
        r->present = present;
        if (present)
            snprintf(r->iface, sizeof r->iface, "%s", iface ? iface : "");
        bridge_log(BRIDGE_LOG_INFO, 0, "reader %s: card %s%s%s", r->cfg.name,
                   present ? "inserted" : "removed", r->iface[0] ? " " : "", r->iface);
        bridge_broadcast(r->b, card_event(present ? "card_inserted" : "card_removed", r), NULL);
        if (!present)
            r->iface[0] = '\0';
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
        r->next_connect = bridge_now_ms() + RECONNECT_MS;
        return;
    }
    r->fd = fd;
    r->up = true;
    r->unresponsive = false;
    r->probe_at = 0;
    r->next_probe = bridge_now_ms(); /* at once: its identity's state for status */
    r->last_error[0] = '\0';
    bridge_log(BRIDGE_LOG_INFO, 0, "reader %s connected", r->cfg.name);
    cJSON *ev = reader_event("reader_added", r);
    cJSON_AddStringToObject(ev, "backend", r->ops->name);
    bridge_broadcast(r->b, ev, NULL);
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
    int64_t now = bridge_now_ms();
    if (a->result == BRIDGE_ERR_CARD_AUTH_FAILED) {
        r->auth_failures++;
        r->auth_last_failure = now;
        int64_t d = auth_delay_ms(r->b->cfg, r->auth_failures);
        r->auth_hold_until = now + d;
        bridge_log(BRIDGE_LOG_WARN, a->seq,
                   "reader %s: %u failed CAN/MRZ attempt(s) in a row, next session in %lld ms",
                   r->cfg.name, r->auth_failures, (long long)d);
        cJSON *ev = reader_event("auth_failed", r);
        cJSON_AddNumberToObject(ev, "failures", r->auth_failures);
        cJSON_AddNumberToObject(ev, "retry_in_ms", (double)d);
        bridge_broadcast(r->b, ev, NULL);
    } else if (a->result == BRIDGE_OK) {
        r->auth_failures = 0;
        r->auth_hold_until = 0;
    }
    /* The worker owned the link: whatever probe was out, start afresh. */
    r->probe_at = 0;
    r->next_probe = now;
    if (a->client) {
        if (a->result == BRIDGE_OK && a->res.assertion_json) {
            cJSON *as = cJSON_Parse(a->res.assertion_json);
            if (as)
                client_send_result(a->client, a->req.id, as);
            else
                client_send_error(a->client, a->req.id, BRIDGE_ERR_INTERNAL, "bad assertion");
        } else {
            client_send_error(a->client, a->req.id,
                              a->result == BRIDGE_OK ? BRIDGE_ERR_INTERNAL : a->result,
                              a->res.detail);
        }
        bridge_log(BRIDGE_LOG_INFO, a->seq, "authenticate on %s: %s", r->cfg.name,
                   a->result == BRIDGE_OK ? "OK" : bridge_err_code(a->result));
    }
    free_auth(a);
    if (r->gone)
        return; /* readers_reap frees it */
    if (r->up)
        reader_sync(r);
    schedule(r);
}

void readers_drain_wake(struct bridge *b)
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
        for (size_t k = 0; k < b->n_readers; k++) {
            struct auth *a = b->readers[k]->running;
            if (b->readers[k]->rid == ring[i].rid && a && a->seq == ring[i].seq && a->client)
                progress_event(a, &ring[i].p);
        }
    }
    for (size_t i = 0; i < b->n_readers; i++) {
        struct reader *r = b->readers[i];
        if (!r->running)
            continue;
        pthread_mutex_lock(&r->mu);
        bool done = r->done;
        pthread_mutex_unlock(&r->mu);
        if (done)
            finish_session(r);
    }
}

void readers_check_deadlines(struct bridge *b, int64_t now)
{
    for (size_t i = 0; i < b->n_readers; i++) {
        struct reader *r = b->readers[i];
    rescan:
        for (struct auth *a = r->head; a; a = a->next) {
            if (a->deadline > now)
                continue;
            /* Next in line on an idle reader: it waited for the reader (out
             * of reach, or holding back after failed CANs) or for a card;
             * behind another session: QUEUE_TIMEOUT. */
            bool first = a == next_in_line(r) && !r->running;
            char msg[300];
            enum bridge_err e = BRIDGE_ERR_QUEUE_TIMEOUT;
            snprintf(msg, sizeof msg, "the reader stayed busy with other sessions");
            if (first && (!r->up || r->unresponsive)) {
                e = BRIDGE_ERR_READER_UNREACHABLE;
                snprintf(msg, sizeof msg, "the reader could not be reached: %s",
                         r->unresponsive ? "it does not answer (stopped or frozen?)"
                                         : r->last_error);
            } else if (first && now < r->auth_hold_until && r->present) {
                e = BRIDGE_ERR_QUEUE_TIMEOUT;
                snprintf(msg, sizeof msg,
                         "the reader held back after %u failed CAN or MRZ attempt(s) in a row",
                         r->auth_failures);
            } else if (first) {
                e = BRIDGE_ERR_TIMEOUT;
                snprintf(msg, sizeof msg, "no card was presented in time");
            }
            unlink_queued(r, a);
            answer_auth(a, e, msg);
            free_auth(a);
            goto rescan; /* answering may have dropped the client and its other requests */
        }
        if (r->running && r->running->client && r->running->deadline <= now) {
            /* The worker may be blocked in a call nothing can interrupt (a
             * stopped pcscd): the client is answered now all the same, and
             * the reader takes its next session once the call returns. */
            char why[160], msg[220] = "the card session took too long";
            if (r->ops->stuck && r->ops->stuck(r->be, why, sizeof why))
                snprintf(msg, sizeof msg, "the card session took too long: %s", why);
            answer_auth(r->running, BRIDGE_ERR_TIMEOUT, msg);
        }
        schedule(r);
    }
}

struct reader *reader_pick(struct bridge *b, const char *name)
{
    if (name[0]) {
        for (size_t i = 0; i < b->n_readers; i++)
            if (!strcmp(b->readers[i]->cfg.name, name))
                return b->readers[i];
        return NULL;
    }
    /* Any reader: an idle one with a card, else one with a card, else the first. */
    for (size_t i = 0; i < b->n_readers; i++)
        if (b->readers[i]->present && !b->readers[i]->running && !b->readers[i]->queued)
            return b->readers[i];
    for (size_t i = 0; i < b->n_readers; i++)
        if (b->readers[i]->present)
            return b->readers[i];
    return b->n_readers ? b->readers[0] : NULL;
}

bool readers_start(struct bridge *b, const struct bridge_config *cfg)
{
    /* Providers first: a configured reader of theirs asks them for its link. */
    for (size_t i = 0; i < bridge_n_providers && b->n_providers < BRIDGE_MAX_PROVIDERS; i++) {
        const struct bridge_provider_ops *ops = bridge_providers[i];
        void *p = ops->start(cfg);
        if (!p)
            continue;
        struct provider *pv = &b->providers[b->n_providers++];
        *pv = (struct provider){.w.kind = WATCH_PROVIDER, .b = b, .ops = ops, .p = p};
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &pv->w};
        if (epoll_ctl(b->ep, EPOLL_CTL_ADD, ops->fd(p), &ev) < 0)
            return false;
        bridge_log(BRIDGE_LOG_INFO, 0, "watching %s readers", ops->backend);
    }
    for (size_t i = 0; i < cfg->n_reader; i++) {
        struct reader *r = reader_new(b, &cfg->reader[i], false);
        if (!r)
            return false;
        try_connect(r);
    }
    for (size_t i = 0; i < b->n_providers; i++)
        provider_sync(&b->providers[i]);
    return true;
}

/* Takes a reader the provider no longer sees out of the bridge. */
static void reader_remove(struct reader *r, const char *why)
{
    struct bridge *b = r->b;
    if (r->up)
        reader_down(r, why);
    bridge_log(BRIDGE_LOG_INFO, 0, "reader %s removed: %s", r->cfg.name, why);
    while (r->head) {
        struct auth *a = r->head;
        unlink_queued(r, a);
        answer_auth(a, BRIDGE_ERR_NO_READER, "the reader was removed");
        free_auth(a);
    }
    /* Out of the list now; freed at the end of the loop's turn (an epoll
     * event of this turn may still name it), or after its session. */
    r->gone = true;
    reader_unlink(b, r);
    r->next_gone = b->gone;
    b->gone = r;
}

void readers_reap(struct bridge *b)
{
    for (struct reader **pp = &b->gone; *pp;) {
        struct reader *r = *pp;
        pthread_mutex_lock(&r->mu);
        bool busy = r->running && !r->done;
        pthread_mutex_unlock(&r->mu);
        if (busy) {
            pp = &r->next_gone;
            continue;
        }
        *pp = r->next_gone;
        if (r->running)
            finish_session(r);
        penalty_keep(b, r);
        reader_free(r);
    }
}

void provider_sync(struct provider *pv)
{
    struct bridge *b = pv->b;
    struct bridge_reader_config seen[BRIDGE_MAX_LIVE_READERS];
    size_t n = pv->ops->readers(pv->p, seen, BRIDGE_MAX_LIVE_READERS);
    /* Gone: a reader of this backend that the provider no longer lists. */
    for (size_t i = b->n_readers; i-- > 0;) {
        struct reader *r = b->readers[i];
        if (r->gone || strcmp(r->cfg.backend, pv->ops->backend))
            continue;
        bool listed = false;
        for (size_t k = 0; k < n && !listed; k++)
            listed = !strcmp(seen[k].name, r->cfg.name);
        if (listed)
            continue;
        if (r->dynamic)
            reader_remove(r, "the reader was unplugged or its service stopped");
        else if (r->up && !r->running)
            reader_sync(r); /* the backend finds its link broken */
    }
    /* Here: a reader of that name comes up, or is added. */
    for (size_t k = 0; k < n; k++) {
        struct reader *r = NULL;
        for (size_t i = 0; i < b->n_readers && !r; i++)
            if (!strcmp(b->readers[i]->cfg.name, seen[k].name) && !b->readers[i]->gone)
                r = b->readers[i];
        if (r && strcmp(r->cfg.backend, pv->ops->backend))
            continue; /* a configured reader of another kind has that name */
        if (!r && !(r = reader_new(b, &seen[k], true))) {
            bridge_log(BRIDGE_LOG_WARN, 0, "reader %s not added (at most %u readers)", seen[k].name,
                       BRIDGE_MAX_LIVE_READERS);
            continue;
        }
        if (r->running)
            continue;
        if (!r->up)
            try_connect(r);
        else
            reader_sync(r);
    }
}

bool readers_stop(struct bridge *b)
{
    bool all = true;
    size_t kept = 0;
    for (size_t i = 0; i < b->n_readers; i++) {
        struct reader *r = b->readers[i];
        /* A worker still inside a backend call is left to process exit. */
        if (r->running) {
            pthread_mutex_lock(&r->mu);
            r->quit = true;
            pthread_cond_signal(&r->cv);
            pthread_mutex_unlock(&r->mu);
            all = false;
            b->readers[kept++] = r;
            continue;
        }
        reader_free(r);
    }
    b->n_readers = kept;
    readers_reap(b);
    all = all && !b->gone;
    if (all) {
        for (size_t i = 0; i < b->n_providers; i++)
            b->providers[i].ops->stop(b->providers[i].p);
        b->n_providers = 0;
    }
    return all;
}

/* A reader's link is watched while idle; a running session's worker owns it. */
void reader_watch(struct reader *r)
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

void readers_reconnect(struct bridge *b, int64_t now)
{
    for (size_t i = 0; i < b->n_readers; i++) {
        struct reader *r = b->readers[i];
        if (!r->up && !r->running && r->next_connect <= now)
            try_connect(r);
    }
}

void readers_probe(struct bridge *b, int64_t now)
{
    for (size_t i = 0; i < b->n_readers; i++) {
        struct reader *r = b->readers[i];
        if (!r->up || r->running || !r->ops->probe || !r->ops->answers)
            continue;
        uint64_t answers = r->ops->answers(r->be);
        if (r->probe_at && answers != r->probe_answers) {
            r->probe_at = 0; /* answered */
            if (r->ops->identity)
                r->ops->identity(r->be, &r->ident);
            if (r->unresponsive) {
                r->unresponsive = false;
                bridge_log(BRIDGE_LOG_INFO, 0, "reader %s answers again", r->cfg.name);
                schedule(r);
            }
        }
        if (r->probe_at && now - r->probe_at >= PROBE_ANSWER_MS && !r->unresponsive) {
            /* Connected but silent: a frozen reader is not "up". */
            r->unresponsive = true;
            snprintf(r->last_error, sizeof r->last_error,
                     "the reader does not answer (no answer to a probe within %d ms)",
                     PROBE_ANSWER_MS);
            bridge_log(BRIDGE_LOG_WARN, 0, "reader %s: %s", r->cfg.name, r->last_error);
        }
        if (!r->probe_at && now >= r->next_probe) {
            if (!r->ops->probe(r->be)) {
                reader_down(r, "the link to the reader failed");
                continue;
            }
            r->probe_at = now;
            r->probe_answers = answers;
            r->next_probe = now + PROBE_INTERVAL_MS;
        } else if (r->probe_at && r->unresponsive && now >= r->next_probe) {
            r->next_probe = now + PROBE_INTERVAL_MS; /* still waiting for the last one */
        }
    }
}

int64_t readers_next_timer(struct bridge *b, int64_t next)
{
    for (size_t i = 0; i < b->n_readers; i++) {
        struct reader *r = b->readers[i];
        reader_watch(r);
        if (r->up && !r->running && r->ops->probe) {
            int64_t t = r->probe_at ? r->probe_at + PROBE_ANSWER_MS : r->next_probe;
            if (!(r->probe_at && r->unresponsive) && t < next)
                next = t;
        }
        if (r->head && !r->running && r->auth_hold_until && r->auth_hold_until < next &&
            r->auth_hold_until > bridge_now_ms())
            next = r->auth_hold_until;
        if (!r->up && !r->running && r->next_connect < next)
            next = r->next_connect;
        for (struct auth *a = r->head; a; a = a->next)
            if (a->deadline < next)
                next = a->deadline;
        if (r->running && r->running->client && r->running->deadline < next)
            next = r->running->deadline;
    }
    return next;
}

bool reader_enqueue(struct reader *r, struct client *c, struct bridge_request *req, uint64_t seq)
{
    struct auth *a = calloc(1, sizeof *a);
    struct auth_secret *sec = secret_alloc(sizeof *sec);
    if (!a || !sec) {
        free(a);
        secret_free(sec, sizeof *sec);
        return false;
    }
    a->req = *req;
    wipe(req, sizeof *req); /* the auth owns the ids, the CAN and the MRZ now */
    /* The secrets wait in their page; the request struct keeps no copy. */
    memcpy(sec->can, a->req.can, sizeof sec->can);
    memcpy(sec->mrz_info, a->req.mrz_info, sizeof sec->mrz_info);
    wipe(a->req.can, sizeof a->req.can);
    wipe(a->req.mrz_info, sizeof a->req.mrz_info);
    a->secret = sec;
    a->peer = client_peer_key(c);
    c->pending++;
    a->client = c;
    a->seq = seq;
    a->reader = r;
    atomic_init(&a->cancel, false);
    a->deadline = bridge_now_ms() + (a->req.timeout_ms ? a->req.timeout_ms : r->b->cfg->timeout_ms);
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
    return true;
}

bool sessions_cancel(struct bridge *b, struct client *c, const cJSON *id, uint64_t seq)
{
    struct auth *found = NULL;
    for (struct reader *r = b->gone; r && !found; r = r->next_gone)
        if (r->running && r->running->client == c && r->running->req.id &&
            cJSON_Compare(r->running->req.id, id, true))
            found = r->running;
    for (size_t i = 0; i < b->n_readers && !found; i++) {
        struct reader *r = b->readers[i];
        if (r->running && r->running->client == c && r->running->req.id &&
            cJSON_Compare(r->running->req.id, id, true))
            found = r->running;
        for (struct auth *a = r->head; a && !found; a = a->next)
            if (a->client == c && a->req.id && cJSON_Compare(a->req.id, id, true))
                found = a;
    }
    if (!found)
        return false;
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
    return true;
}

void sessions_drop_client(struct bridge *b, struct client *c)
{
    for (struct reader *r = b->gone; r; r = r->next_gone)
        if (r->running && r->running->client == c) {
            r->running->client = NULL;
            atomic_store(&r->running->cancel, true);
        }
    for (size_t i = 0; i < b->n_readers; i++) {
        struct reader *r = b->readers[i];
        if (r->running && r->running->client == c) {
            bridge_log(BRIDGE_LOG_INFO, r->running->seq, "client gone: session cancelled");
            detach_client(r->running);
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
}

/*
 * The methods of docs/bridge-protocol.md: one request line in, one answer
 * (or, for authenticate, a queued session whose answer comes later) out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "harden.h"
#include "hawiya/hex.h"
#include "hawiya/wipe.h"
#include "log.h"

static const char *slot_state(const struct reader *r)
{
    return !r->present ? "absent" : r->active ? "active" : "present";
}

/* "up", "down", or "unresponsive": connected but not answering (a frozen reader). */
static const char *link_state(const struct reader *r)
{
    return !r->up ? "down" : r->unresponsive ? "unresponsive" : "up";
}

/* What stops the reader attesting, by name ("" when nothing, or when it cannot tell). */
static const char *attest_problem(const struct reader *r)
{
    return r->up && r->ident.known && strcmp(r->ident.attest, "ATTEST_OK") ? r->ident.attest : "";
}

static int64_t retry_in_ms(const struct reader *r)
{
    int64_t left = r->auth_hold_until - bridge_now_ms();
    return left > 0 ? left : 0;
}

static cJSON *reader_json(const struct reader *r, bool diagnose)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", r->cfg.name);
    cJSON_AddStringToObject(o, "backend", r->ops->name);
    cJSON_AddStringToObject(o, "state", slot_state(r));
    cJSON_AddStringToObject(o, "link", link_state(r));
    if (r->present && r->iface[0])
        cJSON_AddStringToObject(o, "interface", r->iface);
    if (r->atr_len && r->present) {
        char hex[2 * BRIDGE_ATR_MAX + 1];
        hex_encode(r->atr, r->atr_len, hex);
        cJSON_AddStringToObject(o, "atr", hex);
    }
    if (r->ops->describe)
        r->ops->describe(r->be, o, diagnose);
    return o;
}

static void m_readers(struct client *c, const cJSON *id)
{
    struct bridge *b = c->b;
    cJSON *res = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(res, "readers");
    for (size_t i = 0; i < b->n_readers; i++)
        cJSON_AddItemToArray(arr, reader_json(b->readers[i], false));
    client_send_result(c, id, res);
}

static void count_sessions(const struct bridge *b, size_t *running, size_t *queued)
{
    *running = *queued = 0;
    for (size_t i = 0; i < b->n_readers; i++) {
        *running += b->readers[i]->running != NULL;
        *queued += b->readers[i]->queued;
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
    size_t running, queued, up = 0, cards = 0, subs = 0, frozen = 0, cannot = 0, delayed = 0;
    count_sessions(b, &running, &queued);
    for (size_t i = 0; i < b->n_readers; i++) {
        const struct reader *r = b->readers[i];
        up += r->up && !r->unresponsive;
        frozen += r->up && r->unresponsive;
        cards += r->present;
        cannot += attest_problem(r)[0] != '\0';
        delayed += retry_in_ms(r) > 0;
    }
    for (size_t i = 0; i < b->n_clients; i++)
        subs += b->clients[i]->subscribed && !b->clients[i]->dead;
    cJSON *res = cJSON_CreateObject();
    add_count(res, "uptime_ms", (uint64_t)(bridge_now_ms() - b->start_ms));
    cJSON *rd = cJSON_AddObjectToObject(res, "readers");
    add_count(rd, "configured", (uint64_t)b->n_readers);
    add_count(rd, "up", (uint64_t)up);
    add_count(rd, "with_card", (uint64_t)cards);
    add_count(rd, "unresponsive", (uint64_t)frozen);
    add_count(rd, "cannot_attest", (uint64_t)cannot);
    add_count(rd, "delayed", (uint64_t)delayed);
    /* Failed CANs / MRZs in a row, per reader, and when it takes the next session. */
    cJSON *af = cJSON_AddArrayToObject(res, "auth_failures");
    cJSON *ip = cJSON_AddArrayToObject(res, "identity_problems");
    for (size_t i = 0; i < b->n_readers; i++) {
        const struct reader *r = b->readers[i];
        if (r->auth_failures) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "reader", r->cfg.name);
            add_count(o, "failures", r->auth_failures);
            add_count(o, "retry_in_ms", (uint64_t)retry_in_ms(r));
            cJSON_AddItemToArray(af, o);
        }
        if (attest_problem(r)[0]) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "reader", r->cfg.name);
            cJSON_AddStringToObject(o, "attestation", r->ident.attest);
            cJSON_AddStringToObject(o, "store", r->ident.store);
            cJSON_AddItemToArray(ip, o);
        }
    }
    cJSON *ss = cJSON_AddObjectToObject(res, "sessions");
    add_count(ss, "running", (uint64_t)running);
    add_count(ss, "queued", (uint64_t)queued);
    add_count(res, "clients", (uint64_t)b->n_clients);
    add_count(res, "subscribers", (uint64_t)subs);
    client_send_result(c, id, res);
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

static void provider_problem(void *ctx, const char *code, const char *severity, const char *reader,
                             const char *message)
{
    add_problem(ctx, code, severity, reader, message);
}

static void m_diagnose(struct client *c, const cJSON *id)
{
    const struct bridge *b = c->b;
    const struct bridge_config *cfg = b->cfg;
    cJSON *res = cJSON_CreateObject();
    cJSON *be = cJSON_AddArrayToObject(res, "backends");
    for (size_t k = 0; k < bridge_n_backends; k++) {
        const struct bridge_backend_ops *ops = bridge_backends[k];
        const struct provider *pv = NULL;
        for (size_t i = 0; i < b->n_providers; i++)
            if (!strcmp(b->providers[i].ops->backend, ops->name))
                pv = &b->providers[i];
        size_t n = 0, up = 0;
        for (size_t i = 0; i < b->n_readers; i++) {
            n += b->readers[i]->ops == ops;
            up += b->readers[i]->ops == ops && b->readers[i]->up;
        }
        bool provided = false; /* a kind whose readers a provider finds */
        for (size_t i = 0; i < bridge_n_providers; i++)
            provided |= !strcmp(bridge_providers[i]->backend, ops->name);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", ops->name);
        char detail[200] = "";
        const char *state = pv         ? pv->ops->state(pv->p, detail, sizeof detail)
                            : provided ? "off"
                            : up       ? "up"
                                       : "down";
        cJSON_AddStringToObject(o, "state", state);
        if (detail[0])
            cJSON_AddStringToObject(o, "detail", detail);
        cJSON_AddNumberToObject(o, "readers", (double)n);
        cJSON_AddNumberToObject(o, "readers_up", (double)up);
        cJSON_AddItemToArray(be, o);
    }

    cJSON *rs = cJSON_AddArrayToObject(res, "readers");
    for (size_t i = 0; i < b->n_readers; i++) {
        const struct reader *r = b->readers[i];
        cJSON *o = reader_json(r, true);
        cJSON_AddStringToObject(o, "path", r->cfg.path);
        cJSON_AddBoolToObject(o, "busy", r->running != NULL);
        cJSON_AddNumberToObject(o, "queued", (double)r->queued);
        if (r->last_error[0])
            cJSON_AddStringToObject(o, "last_error", r->last_error);
        else
            cJSON_AddNullToObject(o, "last_error");
        if (r->ident.known) {
            /* What the reader says about itself (its INFO, at the last probe). */
            cJSON *who = cJSON_AddObjectToObject(o, "identity");
            cJSON_AddStringToObject(who, "id", r->ident.id);
            cJSON_AddBoolToObject(who, "certified", r->ident.certified);
            add_count(who, "counter", r->ident.counter);
            cJSON_AddStringToObject(who, "attestation", r->ident.attest);
            cJSON_AddStringToObject(who, "store", r->ident.store);
            cJSON_AddStringToObject(who, "firmware", r->ident.firmware);
        } else {
            cJSON_AddNullToObject(o, "identity");
        }
        add_count(o, "auth_failures", r->auth_failures);
        add_count(o, "retry_in_ms", (uint64_t)retry_in_ms(r));
        cJSON_AddItemToArray(rs, o);
    }

    cJSON *probs = cJSON_AddArrayToObject(res, "problems");
    if (cfg->n_origin == 0)
        add_problem(probs, "NO_ORIGINS", "error", NULL,
                    "the origin allow-list is empty: every authenticate is refused");
    for (size_t i = 0; i < b->n_providers; i++)
        b->providers[i].ops->problems(b->providers[i].p, provider_problem, probs);
    if (b->n_readers == 0)
        add_problem(probs, "NO_READERS", "error", NULL,
                    b->n_providers ? "no reader is configured or connected"
                                   : "no reader is configured");
    for (size_t i = 0; i < b->n_readers; i++) {
        const struct reader *r = b->readers[i];
        char msg[300];
        if (!r->up)
            add_problem(probs, "READER_UNREACHABLE", "error", r->cfg.name, r->last_error);
        else if (r->unresponsive)
            add_problem(probs, "READER_UNRESPONSIVE", "error", r->cfg.name, r->last_error);
        if (attest_problem(r)[0]) {
            snprintf(msg, sizeof msg, "the reader cannot attest: %s (store: %s)", r->ident.attest,
                     r->ident.store);
            add_problem(probs, "READER_CANNOT_ATTEST", "error", r->cfg.name, msg);
        } else if (r->up && r->ident.known && !r->ident.certified) {
            add_problem(probs, "READER_NOT_PROVISIONED", "warning", r->cfg.name,
                        "the reader has no device certificate: its assertions cannot be verified");
        }
        if (r->auth_failures) {
            snprintf(msg, sizeof msg,
                     "%u failed CAN or MRZ attempt(s) in a row; next session in %lld ms",
                     r->auth_failures, (long long)retry_in_ms(r));
            add_problem(probs, "AUTH_FAILURES", "warning", r->cfg.name, msg);
        }
    }
    if (cfg->n_allow_uid == 0 && cfg->n_allow_gid == 0)
        add_problem(probs, "NO_PEER_ALLOW_LIST", "warning", NULL,
                    "any local user who can open the socket is served");

    cJSON *cf = cJSON_AddObjectToObject(res, "config");
    cJSON_AddStringToObject(cf, "socket", cfg->socket);
    if (cfg->ws_port)
        cJSON_AddStringToObject(cf, "websocket", cfg->websocket);
    else
        cJSON_AddNullToObject(cf, "websocket");
    cJSON *o = cJSON_AddArrayToObject(cf, "origins");
    for (size_t i = 0; i < cfg->n_origin; i++)
        cJSON_AddItemToArray(o, cJSON_CreateString(cfg->origin[i]));
    cJSON *u = cJSON_AddArrayToObject(cf, "allow_uid");
    for (size_t i = 0; i < cfg->n_allow_uid; i++)
        cJSON_AddItemToArray(u, cJSON_CreateNumber(cfg->allow_uid[i]));
    cJSON *g = cJSON_AddArrayToObject(cf, "allow_gid");
    for (size_t i = 0; i < cfg->n_allow_gid; i++)
        cJSON_AddItemToArray(g, cJSON_CreateNumber(cfg->allow_gid[i]));
    static const char *const pcsc_modes[] = {"off", "named", "all"};
    cJSON_AddStringToObject(cf, "pcsc", pcsc_modes[cfg->pcsc]);
    cJSON_AddNumberToObject(cf, "timeout_ms", cfg->timeout_ms);
    cJSON_AddNumberToObject(cf, "queue_max", cfg->queue_max);
    cJSON_AddNumberToObject(cf, "clients_per_uid", cfg->clients_per_uid);
    cJSON_AddNumberToObject(cf, "queue_per_peer", cfg->queue_per_peer);
    cJSON_AddNumberToObject(cf, "idle_timeout_ms", cfg->idle_timeout_ms);
    cJSON_AddNumberToObject(cf, "auth_delay_ms", cfg->auth_delay_ms);
    cJSON_AddNumberToObject(cf, "auth_delay_max_ms", cfg->auth_delay_max_ms);
    cJSON_AddNumberToObject(cf, "reader_call_max_ms", cfg->reader_call_max_ms);
    cJSON_AddStringToObject(cf, "log", cfg->log_syslog ? "syslog" : "stderr");
    client_send_result(c, id, res);
}

static void m_authenticate(struct client *c, struct bridge_request *req, uint64_t seq)
{
    struct bridge *b = c->b;
    /* On the WebSocket the page's browser named its origin at the handshake
     * (checked against the allow-list there): that one is bound into the
     * assertion, and a request naming another is refused. */
    if (c->origin[0] && strcmp(c->origin, req->origin)) {
        client_send_error(c, req->id, BRIDGE_ERR_ORIGIN_NOT_ALLOWED,
                          "origin: not this page's origin (the WebSocket handshake's Origin)");
        bridge_log_limited(&b->lim_req, bridge_now_ms(), "request refused", BRIDGE_LOG_INFO, seq,
                           "authenticate: ORIGIN_NOT_ALLOWED (not the page's)");
        return;
    }
    bool allowed = false;
    for (size_t i = 0; i < b->cfg->n_origin && !allowed; i++)
        allowed = !strcmp(b->cfg->origin[i], req->origin);
    if (!allowed) {
        client_send_error(c, req->id, BRIDGE_ERR_ORIGIN_NOT_ALLOWED,
                          "origin: not on the bridge's allow-list");
        bridge_log_limited(&b->lim_req, bridge_now_ms(), "request refused", BRIDGE_LOG_INFO, seq,
                           "authenticate: ORIGIN_NOT_ALLOWED");
        return;
    }
    struct reader *r = reader_pick(b, req->reader);
    if (!r) {
        client_send_error(c, req->id, BRIDGE_ERR_NO_READER,
                          req->reader[0]   ? "reader: no reader of that name"
                          : b->n_providers ? "no reader is configured or connected"
                                           : "no reader is configured");
        bridge_log_limited(&b->lim_req, bridge_now_ms(), "request refused", BRIDGE_LOG_INFO, seq,
                           "authenticate: NO_READER");
        return;
    }
    if (r->queued >= b->cfg->queue_max) {
        client_send_error(c, req->id, BRIDGE_ERR_READER_BUSY, "the reader's queue is full");
        bridge_log_limited(&b->lim_req, bridge_now_ms(), "request refused", BRIDGE_LOG_INFO, seq,
                           "authenticate on %s: READER_BUSY", r->cfg.name);
        return;
    }
    if (reader_pending_of_peer(r, c) >= b->cfg->queue_per_peer) {
        char who[300], msg[400];
        client_peer_name(c, who, sizeof who);
        snprintf(msg, sizeof msg,
                 "%s already has %u authenticate(s) pending on this reader (queue_per_peer)", who,
                 b->cfg->queue_per_peer);
        client_send_error(c, req->id, BRIDGE_ERR_READER_BUSY, msg);
        bridge_log_limited(&b->lim_req, bridge_now_ms(), "request refused", BRIDGE_LOG_INFO, seq,
                           "authenticate on %s: READER_BUSY (%s)", r->cfg.name, who);
        return;
    }
    if (!reader_enqueue(r, c, req, seq))
        client_send_error(c, req->id, BRIDGE_ERR_INTERNAL, "out of memory");
}

static void m_cancel(struct client *c, const struct bridge_request *req, uint64_t seq)
{
    if (!sessions_cancel(c->b, c, req->cancel_id, seq)) {
        client_send_error(c, req->id, BRIDGE_ERR_BAD_PARAMS,
                          "request: no pending authenticate with that id on this connection");
        return;
    }
    cJSON *res = cJSON_CreateObject();
    cJSON_AddBoolToObject(res, "cancelled", true);
    client_send_result(c, req->id, res);
}

void bridge_handle_line(struct client *c, char *line, size_t len)
{
    struct bridge *b = c->b;
    uint64_t seq = ++b->next_seq;
    struct bridge_request req;
    char msg[160];
    enum bridge_err e = bridge_request_parse(line, len, &req, msg, sizeof msg);
    wipe(line, len); /* the line may hold a CAN */
    c->last_request = bridge_now_ms();
    if (e != BRIDGE_OK) {
        bridge_log_limited(&b->lim_req, c->last_request, "request refused", BRIDGE_LOG_INFO, seq,
                           "client %llu: %s (%s)", (unsigned long long)c->cid, bridge_err_code(e),
                           msg);
        client_send_error(c, req.id, e, msg);
        bridge_request_clear(&req);
        wipe_stack(16384); /* a refused line may have held a CAN all the same */
        return;
    }
    bool secret = req.can[0] || req.mrz_info[0]; /* the auth takes them: known now */
    bridge_log(BRIDGE_LOG_DEBUG, seq, "client %llu: %s", (unsigned long long)c->cid,
               bridge_method_name(req.method));
    switch (req.method) {
    case BRIDGE_M_VERSION: {
        cJSON *res = cJSON_CreateObject();
        cJSON_AddStringToObject(res, "bridge", HAWIYA_VERSION);
        cJSON_AddNumberToObject(res, "protocol", BRIDGE_PROTOCOL_VERSION);
        client_send_result(c, req.id, res);
        break;
    }
    case BRIDGE_M_READERS: m_readers(c, req.id); break;
    case BRIDGE_M_STATUS: m_status(c, req.id); break;
    case BRIDGE_M_DIAGNOSE: m_diagnose(c, req.id); break;
    case BRIDGE_M_SUBSCRIBE: {
        c->subscribed = true;
        cJSON *res = cJSON_CreateObject();
        cJSON_AddBoolToObject(res, "subscribed", true);
        client_send_result(c, req.id, res);
        break;
    }
    case BRIDGE_M_CANCEL: m_cancel(c, &req, seq); break;
    case BRIDGE_M_AUTHENTICATE: m_authenticate(c, &req, seq); break;
    }
    bridge_request_clear(&req);
    if (secret)
        wipe_stack(16384); /* the parse's temporaries, and the vector registers */
}

/*
 * The loopback WebSocket of hawiya-bridge (docs/bridge-protocol.md
 * "WebSocket"), for the record platform's page in a browser: RFC 6455
 * through Debian's libwebsockets, the same JSON requests, answers and
 * events as the UNIX socket, one JSON object per text message.
 *
 * The browser is the one party that knows which page is calling, and says
 * so in the handshake's Origin header (RFC 6455 §4.1, §10.2; RFC 6454). The
 * upgrade is refused (HTTP 403) without an Origin on the allow-list, or with
 * a Host that is not a loopback name (a DNS-rebinding page names its own
 * host), or past the connections allowed per origin (HTTP 429). That origin
 * is then the only one the connection may authenticate for (methods.c).
 *
 * One event loop. Debian's libwebsockets 4.1 is built without its
 * external-poll callbacks (LWS_WITH_EXTERNAL_POLL is off), so the way it
 * supports running inside someone else's loop is a foreign event library
 * loop: a libuv loop of ours, whose whole poll set is one epoll descriptor
 * (uv_backend_fd) sitting in the bridge's epoll set. The bridge runs it with
 * uv_run(UV_RUN_NOWAIT) on each turn of its own loop and wakes for its next
 * timer (uv_backend_timeout); nothing ever blocks inside libuv. The
 * listening sockets are the bridge's own, bound to exactly 127.0.0.1 and/or
 * ::1: it accepts and hands each connection to the library, which parses
 * the HTTP upgrade and does the framing.
 */
#define _GNU_SOURCE /* accept4 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libwebsockets.h>
#include <uv.h>

#include "daemon.h"
#include "hawiya/wipe.h"
#include "log.h"

#define WS_CONNS_MAX      1024u /* TCP connections, handshaking or open */
#define WS_HANDSHAKE_S    10    /* the library's timeout for a connection's HTTP phase */
#define WS_CLOSE_S        5     /* the last answers and the close frame, at most */
#define WS_ACCEPT_BACKOFF 1000  /* ms without accepting after EMFILE / ENFILE */

struct ws_listener {
    struct watch w;
    int fd;
};

struct ws_server {
    struct bridge *b;
    struct ws_listener lis[2];
    size_t n_lis;
    int64_t accept_paused_until; /* 0: accepting */
    uv_loop_t loop;
    bool loop_ok;
    struct watch w_loop;
    struct lws_context *ctx;
    struct lws_vhost *vh;
    size_t conns;            /* adopted connections not yet destroyed */
    struct ws_conn *closing; /* connections to close once their last answers are out */
};

/* The library's per-connection data. */
struct ws_conn {
    struct client *c; /* NULL before the upgrade and once the client is dropped */
    struct lws *wsi;
    char *last; /* answers still owed after the client was dropped */
    size_t last_len, last_off;
    struct ws_conn *next_closing;
    uint16_t close_code;
    bool closing, paused, binary;
};

/* ---- handshake checks ------------------------------------------------------ */

/* A header's value as text for a log line: printable ASCII, at most 100 bytes. */
static void printable(char *s)
{
    for (size_t i = 0; s[i]; i++) {
        if (i == 100) {
            s[i] = '\0';
            break;
        }
        if (s[i] < 0x20 || s[i] > 0x7e)
            s[i] = '?';
    }
}

/*
 * Host (RFC 9110 §7.2) as a browser sends it: the URL's host and port. A
 * page that reached us through a name of its own resolving to 127.0.0.1
 * (DNS rebinding) sends that name, and is refused.
 */
static bool host_is_loopback(const char *h, uint16_t port)
{
    static const char *const names[] = {"localhost", "127.0.0.1", "[::1]"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        size_t n = strlen(names[i]);
        if (strncasecmp(h, names[i], n))
            continue;
        const char *rest = h + n;
        if (!*rest)
            return true;
        if (*rest != ':')
            continue;
        char *end;
        unsigned long p = strtoul(rest + 1, &end, 10);
        if (rest[1] >= '0' && rest[1] <= '9' && !*end && p == port)
            return true;
    }
    return false;
}

static bool origin_allowed(const struct bridge_config *cfg, const char *origin)
{
    for (size_t i = 0; i < cfg->n_origin; i++)
        if (!strcmp(cfg->origin[i], origin))
            return true;
    return false;
}

static size_t clients_of_origin(const struct bridge *b, const char *origin)
{
    size_t n = 0;
    for (size_t i = 0; i < b->n_clients; i++) {
        const struct client *c = b->clients[i];
        n += c->tp == &websocket_transport && !c->dead && !strcmp(c->origin, origin);
    }
    return n;
}

static int refuse(struct lws *wsi, unsigned status, const char *why, const char *value)
{
    char v[BRIDGE_ORIGIN_MAX + 1];
    snprintf(v, sizeof v, "%s", value ? value : "");
    printable(v);
    bridge_log(BRIDGE_LOG_WARN, 0, "websocket upgrade refused (HTTP %u): %s%s%s%s", status, why,
               value ? " \"" : "", v, value ? "\"" : "");
    if (lws_return_http_status(wsi, status, why))
        return -1;
    return 1; /* the answer is ours: the library ends the transaction */
}

/* The handshake's headers are parsed; the answer is not sent yet. */
static int confirm_upgrade(struct ws_server *s, struct lws *wsi)
{
    const struct bridge_config *cfg = s->b->cfg;
    char host[260], origin[BRIDGE_ORIGIN_MAX + 2];
    int hl = lws_hdr_copy(wsi, host, sizeof host, WSI_TOKEN_HOST);
    if (hl <= 0 || !host_is_loopback(host, cfg->ws_port))
        return refuse(wsi, HTTP_STATUS_FORBIDDEN, "Host is not a loopback name",
                      hl > 0 ? host : NULL);
    int ol = lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN);
    if (ol <= 0)
        return refuse(wsi, HTTP_STATUS_FORBIDDEN, "no Origin (browsers only)", NULL);
    if (ol > (int)BRIDGE_ORIGIN_MAX ||
        lws_hdr_copy(wsi, origin, sizeof origin, WSI_TOKEN_ORIGIN) != ol ||
        !origin_allowed(cfg, origin))
        return refuse(wsi, HTTP_STATUS_FORBIDDEN, "Origin not on the allow-list",
                      ol <= (int)BRIDGE_ORIGIN_MAX ? origin : NULL);
    if (clients_of_origin(s->b, origin) >= cfg->ws_max_per_origin)
        return refuse(wsi, 429, "too many connections from this origin", origin);
    return 0;
}

/* ---- the connection ---------------------------------------------------------- */

static int established(struct ws_server *s, struct lws *wsi, struct ws_conn *wc)
{
    char origin[BRIDGE_ORIGIN_MAX + 1];
    int ol = lws_hdr_copy(wsi, origin, sizeof origin, WSI_TOKEN_ORIGIN);
    /* Checked at the upgrade; again here, where two handshakes may have raced. */
    if (ol <= 0 || !origin_allowed(s->b->cfg, origin) ||
        clients_of_origin(s->b, origin) >= s->b->cfg->ws_max_per_origin)
        return -1;
    struct client *c = client_new(s->b, &websocket_transport);
    if (!c)
        return -1;
    memcpy(c->origin, origin, (size_t)ol + 1);
    c->conn = wsi;
    wc->c = c;
    wc->wsi = wsi;
    bridge_log(BRIDGE_LOG_DEBUG, 0, "client %llu: websocket connected", (unsigned long long)c->cid);
    return 0;
}

static void received(struct lws *wsi, struct ws_conn *wc, const char *in, size_t len)
{
    struct client *c = wc->c;
    if (!c || c->dead)
        return;
    bool final = lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0;
    if (lws_frame_is_binary(wsi))
        wc->binary = true;
    if (wc->binary) {
        /* Not accumulated: answered once the message ends. */
        if (final) {
            wc->binary = false;
            c->in_len = 0;
            client_send_error(c, NULL, BRIDGE_ERR_BAD_JSON, "a request is a JSON text message");
        }
    } else {
        client_message(c, in, len, final);
    }
    /* The library unmasked the frame into its own buffer, where it would stay
     * until overwritten: a CAN, an MRZ. Wiped once taken (the buffer is the
     * library's, writable; it only hands it over as const). */
    wipe((void *)(uintptr_t)in, len);
}

/* Sends the first answer of q[*off..len) as one text message. */
static int send_one(struct lws *wsi, const char *q, size_t len, size_t *off)
{
    const char *start = q + *off;
    const char *nl = memchr(start, '\n', len - *off);
    size_t n = nl ? (size_t)(nl - start) : len - *off;
    unsigned char *buf = malloc(LWS_PRE + n);
    if (!buf)
        return -1;
    memcpy(buf + LWS_PRE, start, n);
    int w = lws_write(wsi, buf + LWS_PRE, n, LWS_WRITE_TEXT);
    free(buf);
    *off += n + (nl ? 1 : 0);
    return w < (int)n ? -1 : 0;
}

static int writeable(struct lws *wsi, struct ws_conn *wc)
{
    struct client *c = wc->c;
    if (c && !c->dead) {
        if (!c->out_len)
            return 0;
        size_t off = 0;
        if (send_one(wsi, c->out, c->out_len, &off) < 0)
            return -1;
        memmove(c->out, c->out + off, c->out_len - off);
        c->out_len -= off;
        if (c->out_len)
            lws_callback_on_writable(wsi);
        return 0;
    }
    /* The close itself comes from websocket_service(), outside the
     * library's callbacks (see there). */
    if (wc->last && wc->last_off < wc->last_len) {
        if (send_one(wsi, wc->last, wc->last_len, &wc->last_off) < 0)
            return -1;
        if (wc->last_off < wc->last_len)
            lws_callback_on_writable(wsi);
    }
    return 0;
}

static void unlist_closing(struct ws_server *s, struct ws_conn *wc)
{
    for (struct ws_conn **pp = &s->closing; *pp; pp = &(*pp)->next_closing)
        if (*pp == wc) {
            *pp = wc->next_closing;
            break;
        }
    wc->next_closing = NULL;
}

static void closed(struct ws_server *s, struct ws_conn *wc)
{
    if (wc->closing)
        unlist_closing(s, wc);
    wc->closing = false;
    struct client *c = wc->c;
    wc->c = NULL;
    if (c) {
        c->conn = NULL;
        client_drop(c, "peer closed");
    }
    free(wc->last);
    wc->last = NULL;
}

static int ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                       size_t len)
{
    struct ws_server *s = lws_context_user(lws_get_context(wsi));
    struct ws_conn *wc = user;
    switch (reason) {
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE: return confirm_upgrade(s, wsi);
    case LWS_CALLBACK_HTTP:
        /* Not an upgrade: this port serves nothing else. */
        if (lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, "WebSocket only"))
            return -1;
        return lws_http_transaction_completed(wsi) ? -1 : 0;
    case LWS_CALLBACK_ESTABLISHED: return established(s, wsi, wc);
    case LWS_CALLBACK_RECEIVE: received(wsi, wc, in, len); return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE: return writeable(wsi, wc);
    case LWS_CALLBACK_CLOSED: closed(s, wc); return 0;
    case LWS_CALLBACK_WSI_DESTROY:
        if (lws_get_opaque_user_data(wsi) == s && s->conns)
            s->conns--;
        return 0;
    default: return 0;
    }
}

static const struct lws_protocols protocols[] = {
    {
        .name = "hawiya-bridge",
        .callback = ws_callback,
        .per_session_data_size = sizeof(struct ws_conn),
        .rx_buffer_size = 0, /* the library's default; messages are reassembled in clients.c */
    },
    {0},
};

/* ---- the transport --------------------------------------------------------- */

static void ws_flush(struct client *c)
{
    if (c->conn && c->out_len)
        lws_callback_on_writable(c->conn);
}

static void ws_watch(struct client *c, bool readable)
{
    if (!c->conn)
        return;
    struct ws_conn *wc = lws_wsi_user(c->conn);
    if (wc->paused != readable)
        return;
    wc->paused = !readable;
    lws_rx_flow_control(c->conn, readable ? 1 : 0);
}

static void ws_close(struct client *c, const char *why)
{
    struct lws *wsi = c->conn;
    c->conn = NULL;
    if (!wsi)
        return; /* the connection is already gone */
    struct ws_conn *wc = lws_wsi_user(wsi);
    wc->c = NULL;
    wc->closing = true;
    /* RFC 6455 §7.4.1: 1009 for a message too big, 1008 for a reader too
     * slow for its events, 1001 otherwise (idle, bridge stopping). */
    if (!strcmp(why, "request line too large"))
        wc->close_code = LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE;
    else if (!strcmp(why, "too much unread output"))
        wc->close_code = LWS_CLOSE_STATUS_POLICY_VIOLATION;
    else
        wc->close_code = LWS_CLOSE_STATUS_GOINGAWAY;
    if (wc->close_code != LWS_CLOSE_STATUS_POLICY_VIOLATION && c->out_len) {
        wc->last = c->out; /* the last answers (TOO_LARGE, ...) still go out */
        wc->last_len = c->out_len;
        wc->last_off = 0;
        c->out = NULL;
        c->out_len = c->out_cap = 0;
    }
    struct ws_server *s = lws_context_user(lws_get_context(wsi));
    wc->next_closing = s->closing;
    s->closing = wc;
    lws_callback_on_writable(wsi);
    lws_set_timeout(wsi, PENDING_TIMEOUT_CLOSE_SEND, WS_CLOSE_S);
}

const struct client_transport websocket_transport = {
    .name = "websocket",
    .flush = ws_flush,
    .watch = ws_watch,
    .close = ws_close,
};

/* ---- listening, the nested loop ---------------------------------------------- */

static void lws_log_line(int level, const char *line)
{
    char buf[300];
    snprintf(buf, sizeof buf, "%s", line);
    size_t n = strlen(buf);
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    bridge_log(level == LLL_ERR ? BRIDGE_LOG_ERROR : BRIDGE_LOG_WARN, 0, "websocket: %s", buf);
}

static int open_listener(struct ws_server *s, int family)
{
    const struct bridge_config *cfg = s->b->cfg;
    struct sockaddr_in a4 = {.sin_family = AF_INET, .sin_port = htons(cfg->ws_port)};
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_port = htons(cfg->ws_port)};
    a4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a6.sin6_addr = in6addr_loopback;
    const char *name = family == AF_INET ? "127.0.0.1" : "[::1]";
    int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    /* SO_REUSEADDR lets a restarted bridge bind past its old connections in
     * TIME_WAIT; on Linux it never lets two sockets listen on one address. */
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        (family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0) ||
        bind(fd, family == AF_INET ? (struct sockaddr *)&a4 : (struct sockaddr *)&a6,
             family == AF_INET ? sizeof a4 : sizeof a6) < 0 ||
        listen(fd, 128) < 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        /* No IPv6 on this machine: nobody can hold [::1] either. */
        if (family == AF_INET6 && cfg->ws_ipv4 && (e == EADDRNOTAVAIL || e == EAFNOSUPPORT)) {
            bridge_log(BRIDGE_LOG_WARN, 0, "websocket: no IPv6 loopback here (%s)", strerror(e));
            return 0;
        }
        bridge_log(BRIDGE_LOG_ERROR, 0, "websocket: cannot listen on %s:%u: %s%s", name,
                   (unsigned)cfg->ws_port, strerror(e),
                   e == EADDRINUSE ? " (another program holds the port)" : "");
        return -1;
    }
    struct ws_listener *l = &s->lis[s->n_lis++];
    l->w.kind = WATCH_WS_LISTEN;
    l->fd = fd;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &l->w};
    if (epoll_ctl(s->b->ep, EPOLL_CTL_ADD, fd, &ev) < 0)
        return -1;
    return 0;
}

bool websocket_open(struct bridge *b)
{
    const struct bridge_config *cfg = b->cfg;
    struct ws_server *s = calloc(1, sizeof *s);
    if (!s)
        return false;
    s->b = b;
    b->ws = s;
    if ((cfg->ws_ipv4 && open_listener(s, AF_INET) < 0) ||
        (cfg->ws_ipv6 && open_listener(s, AF_INET6) < 0) || s->n_lis == 0)
        return false;
    if (uv_loop_init(&s->loop) != 0)
        return false;
    s->loop_ok = true;

    lws_set_log_level(getenv("HAWIYA_LWS_DEBUG") ? 0xff : (LLL_ERR | LLL_WARN), lws_log_line);
    void *loops[1] = {&s->loop};
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN_SERVER; /* we listen, the library serves */
    info.protocols = protocols;
    info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_VALIDATE_UTF8;
    info.foreign_loops = loops;
    info.user = s;
    info.gid = (gid_t)-1;
    info.uid = (uid_t)-1;
    info.timeout_secs = WS_HANDSHAKE_S;
    info.max_http_header_data = 4096;
    info.server_string = "hawiya-bridge";
    info.vhost_name = "hawiya";
    info.pcontext = &s->ctx; /* NULLed by the library once the context is gone */
    s->ctx = lws_create_context(&info);
    s->vh = s->ctx ? lws_get_vhost_by_name(s->ctx, "hawiya") : NULL;
    if (!s->vh) {
        bridge_log(BRIDGE_LOG_ERROR, 0, "websocket: cannot start libwebsockets");
        return false;
    }
    s->w_loop.kind = WATCH_WS_LOOP;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &s->w_loop};
    if (epoll_ctl(b->ep, EPOLL_CTL_ADD, uv_backend_fd(&s->loop), &ev) < 0)
        return false;
    bridge_log(BRIDGE_LOG_INFO, 0, "websocket on %s", cfg->websocket);
    return true;
}

static void pause_accepting(struct ws_server *s, bool pause)
{
    for (size_t i = 0; i < s->n_lis; i++) {
        struct epoll_event ev = {.events = pause ? 0u : EPOLLIN, .data.ptr = &s->lis[i].w};
        epoll_ctl(s->b->ep, EPOLL_CTL_MOD, s->lis[i].fd, &ev);
    }
}

void websocket_accept(struct bridge *b, struct watch *w)
{
    struct ws_server *s = b->ws;
    struct ws_listener *l = (struct ws_listener *)w;
    for (int burst = 0; burst < 64; burst++) {
        int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE) {
                bridge_log(BRIDGE_LOG_WARN, 0,
                           "websocket: out of descriptors, not accepting "
                           "for a second");
                s->accept_paused_until = bridge_now_ms() + WS_ACCEPT_BACKOFF;
                pause_accepting(s, true);
            }
            return;
        }
        if (s->conns >= WS_CONNS_MAX) {
            bridge_log(BRIDGE_LOG_WARN, 0, "websocket: too many connections, one refused");
            close(fd);
            continue;
        }
        lws_adopt_desc_t ad;
        memset(&ad, 0, sizeof ad);
        ad.vh = s->vh;
        ad.type = LWS_ADOPT_SOCKET | LWS_ADOPT_HTTP;
        ad.fd.sockfd = fd;
        ad.opaque = s;
        if (lws_adopt_descriptor_vhost_via_info(&ad)) /* on failure it closed fd */
            s->conns++;
    }
}

/*
 * Closes, with a close frame (RFC 6455 §5.5.1, §7.4), the connections whose
 * last answers are out. From here and not from a callback's return value:
 * Debian's libwebsockets 4.1.6 is a debug build, and on the libuv loop a
 * close asked for by a callback is run twice ("close_and_handled uv repeat
 * test"), the second time killing the socket before the close frame goes.
 */
static void close_flushed(struct ws_server *s)
{
    for (struct ws_conn **pp = &s->closing; *pp;) {
        struct ws_conn *wc = *pp;
        if ((wc->last && wc->last_off < wc->last_len) || lws_partial_buffered(wc->wsi)) {
            pp = &wc->next_closing;
            continue;
        }
        *pp = wc->next_closing;
        wc->next_closing = NULL;
        wc->closing = false;
        lws_close_reason(wc->wsi, wc->close_code, NULL, 0);
        lws_set_timeout(wc->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_SYNC);
    }
}

void websocket_service(struct bridge *b)
{
    if (!b->ws || !b->ws->loop_ok)
        return;
    close_flushed(b->ws);
    uv_run(&b->ws->loop, UV_RUN_NOWAIT);
}

int64_t websocket_next_timer(struct bridge *b, int64_t now, int64_t next)
{
    if (!b->ws || !b->ws->loop_ok)
        return next;
    int t = uv_backend_timeout(&b->ws->loop);
    if (t >= 0 && now + t < next)
        next = now + t;
    return next;
}

/* A page waiting for a card hears nothing until its authenticate ends. */
static bool has_pending_auth(const struct bridge *b, const struct client *c)
{
    for (size_t i = 0; i < b->n_readers; i++) {
        const struct reader *r = b->readers[i];
        if (r->running && r->running->client == c)
            return true;
        for (const struct auth *a = r->head; a; a = a->next)
            if (a->client == c)
                return true;
    }
    return false;
}

void websocket_check_idle(struct bridge *b, int64_t now)
{
    struct ws_server *s = b->ws;
    if (!s)
        return;
    if (s->accept_paused_until && now >= s->accept_paused_until) {
        s->accept_paused_until = 0;
        pause_accepting(s, false);
    }
    for (size_t i = 0; i < b->n_clients; i++) {
        struct client *c = b->clients[i];
        if (c->tp == &websocket_transport && !c->dead &&
            now - c->last_active > (int64_t)b->cfg->ws_idle_ms && !has_pending_auth(b, c))
            client_drop(c, "idle");
    }
}

void websocket_shutdown(struct bridge *b)
{
    struct ws_server *s = b->ws;
    if (!s)
        return;
    for (size_t i = 0; i < s->n_lis; i++)
        close(s->lis[i].fd);
    /* On a foreign loop the library closes its handles through the loop,
     * then needs a second call to free the context (context.c, "three
     * separate parts"); pcontext tells when it is gone. */
    if (s->ctx)
        lws_context_destroy(s->ctx);
    for (int i = 0; s->loop_ok && i < 1000 && uv_loop_alive(&s->loop); i++)
        uv_run(&s->loop, UV_RUN_NOWAIT);
    if (s->ctx)
        lws_context_destroy(s->ctx);
    for (int i = 0; s->loop_ok && i < 1000 && uv_loop_close(&s->loop) == UV_EBUSY; i++)
        uv_run(&s->loop, UV_RUN_NOWAIT);
    free(s);
    b->ws = NULL;
}

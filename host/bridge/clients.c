/*
 * Client connections of hawiya-bridge (docs/bridge-protocol.md
 * "Connecting", "Framing"), whatever their transport (daemon.h, struct
 * client_transport): bounded buffers, a request at most BRIDGE_LINE_MAX
 * bytes, a client not read while more than OUT_PAUSE of its answers are
 * unsent and dropped above OUT_MAX, so slow or silent clients hold up nobody
 * else. And the UNIX socket transport: the listening socket with its
 * SO_PEERCRED check, one JSON request per line.
 */
#define _GNU_SOURCE /* struct ucred (SO_PEERCRED), accept4 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon.h"
#include "hawiya/wipe.h"
#include "log.h"
#include "safe_path.h"

#define IN_LIMIT        (BRIDGE_LINE_MAX + 1u) /* a maximal line and its LF */
#define OUT_PAUSE       (64u * 1024u)          /* stop reading a client above this */
#define OUT_MAX         (256u * 1024u)         /* drop a client above this */
#define MAX_CLIENTS     4096u
#define CLOSE_DRAIN_MAX (1u << 20)

/* ---- output ------------------------------------------------------------- */

void client_flush(struct client *c)
{
    if (!c->dead)
        c->tp->flush(c);
}

static void unix_flush(struct client *c)
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
            client_drop(c, "write failed");
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
void client_send_line(struct client *c, char *line)
{
    if (!line || c->dead) {
        free(line);
        return;
    }
    size_t n = strlen(line);
    if (c->out_len + n > OUT_MAX) {
        free(line);
        client_drop(c, "too much unread output");
        return;
    }
    if (c->out_len + n > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : 1024;
        while (cap < c->out_len + n)
            cap *= 2;
        char *p = realloc(c->out, cap);
        if (!p) {
            free(line);
            client_drop(c, "out of memory");
            return;
        }
        c->out = p;
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, line, n);
    c->out_len += n;
    free(line);
    c->last_active = bridge_now_ms();
    client_flush(c);
    /* Back-pressure at once, not at the next loop turn: a transport that
     * hands over many requests in one go (the WebSocket library) stops now. */
    if (!c->dead && c->out_len > OUT_PAUSE)
        client_watch(c);
}

void client_send_error(struct client *c, const cJSON *id, enum bridge_err e, const char *msg)
{
    client_send_line(c, bridge_answer_error(id, e, msg));
}

void client_send_result(struct client *c, const cJSON *id, cJSON *result)
{
    char *line = bridge_answer_result(id, result);
    if (!line) {
        client_send_error(c, id, BRIDGE_ERR_INTERNAL, "out of memory");
        return;
    }
    client_send_line(c, line);
}

/* An event to every subscriber, and to `also` (the requester of a progress event). */
void bridge_broadcast(struct bridge *b, cJSON *ev, struct client *also)
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
        client_send_line(c, line);
    }
    free(s);
}

/* ---- input -------------------------------------------------------------- */

void client_drop(struct client *c, const char *why)
{
    struct bridge *b = c->b;
    if (c->dead)
        return;
    c->dead = true;
    bridge_log(BRIDGE_LOG_DEBUG, 0, "client %llu (%s) closed: %s", (unsigned long long)c->cid,
               c->tp->name, why);
    sessions_drop_client(b, c);
    c->tp->close(c, why);
    if (c->in)
        wipe(c->in, c->in_cap);
    free(c->in);
    free(c->out);
    c->in = c->out = NULL;
    c->in_len = c->in_cap = c->out_len = c->out_cap = 0;
}

static void unix_close(struct client *c, const char *why)
{
    (void)why;
    /* Leave unread input behind and Linux resets the peer instead of
     * letting it read our last answer: drain what is there first. */
    char buf[4096];
    size_t drained = 0;
    ssize_t k;
    while (drained < CLOSE_DRAIN_MAX && (k = recv(c->fd, buf, sizeof buf, MSG_DONTWAIT)) > 0)
        drained += (size_t)k;
    close(c->fd);
    c->fd = -1;
}

/* Grows c->in to hold at least `need` bytes (doubling, at most `limit`);
 * the old buffer, which may hold a CAN, is wiped. false: c was dropped. */
static bool in_grow(struct client *c, size_t need, size_t limit)
{
    size_t cap = c->in_cap ? c->in_cap : 1024;
    while (cap < need)
        cap *= 2;
    if (cap > limit)
        cap = limit;
    char *q = malloc(cap);
    if (!q) {
        client_drop(c, "out of memory");
        return false;
    }
    if (c->in_len)
        memcpy(q, c->in, c->in_len);
    if (c->in)
        wipe(c->in, c->in_cap);
    free(c->in);
    c->in = q;
    c->in_cap = cap;
    return true;
}

/* An idle client keeps no large buffer. */
static void in_shrink(struct client *c)
{
    if (!c->dead && c->in_len == 0 && c->in_cap > 4096) {
        wipe(c->in, c->in_cap);
        free(c->in);
        c->in = NULL;
        c->in_cap = 0;
    }
}

static void too_large(struct client *c)
{
    char msg[80];
    snprintf(msg, sizeof msg, "a request line is at most %u bytes", BRIDGE_LINE_MAX);
    bridge_log(BRIDGE_LOG_INFO, ++c->b->next_seq, "client %llu: TOO_LARGE",
               (unsigned long long)c->cid);
    client_send_error(c, NULL, BRIDGE_ERR_TOO_LARGE, msg);
    client_drop(c, "request line too large");
}

bool client_message(struct client *c, const char *p, size_t n, bool final)
{
    if (c->dead)
        return false;
    if (n > BRIDGE_LINE_MAX - c->in_len) {
        too_large(c);
        return false;
    }
    if (c->in_len + n > c->in_cap && !in_grow(c, c->in_len + n, BRIDGE_LINE_MAX))
        return false;
    if (n)
        memcpy(c->in + c->in_len, p, n);
    c->in_len += n;
    c->last_active = bridge_now_ms();
    if (!final)
        return true;
    size_t len = c->in_len;
    c->in_len = 0;
    /* RFC 8259 §2 allows whitespace after the value; a line's LF is not part of it either. */
    while (len && (c->in[len - 1] == ' ' || c->in[len - 1] == '\t' || c->in[len - 1] == '\n' ||
                   c->in[len - 1] == '\r'))
        len--;
    bridge_handle_line(c, c->in, len); /* wipes the request */
    in_shrink(c);
    return true;
}

void client_process_lines(struct client *c)
{
    size_t start = 0;
    while (!c->dead && c->out_len <= OUT_PAUSE) {
        char *nl = memchr(c->in + start, '\n', c->in_len - start);
        if (!nl)
            break;
        size_t len = (size_t)(nl - (c->in + start));
        if (len > 0 && !(len == 1 && c->in[start] == '\r'))
            bridge_handle_line(c, c->in + start, len);
        start += len + 1;
    }
    if (c->dead)
        return;
    if (start) {
        memmove(c->in, c->in + start, c->in_len - start);
        wipe(c->in + c->in_len - start, start);
        c->in_len -= start;
    }
    if (c->in_len >= IN_LIMIT && !memchr(c->in, '\n', c->in_len))
        too_large(c);
}

void client_read(struct client *c)
{
    if (c->in_len == IN_LIMIT)
        return; /* lines wait for our answers to drain */
    if (c->in_len == c->in_cap && !in_grow(c, c->in_cap + 1, IN_LIMIT))
        return;
    ssize_t k = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, MSG_DONTWAIT);
    if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (k <= 0) {
        client_drop(c, k == 0 ? "peer closed" : "read failed");
        return;
    }
    c->in_len += (size_t)k;
    c->last_active = bridge_now_ms();
    client_process_lines(c);
    in_shrink(c);
}

/*
 * The peer's credentials as the kernel recorded them when it connected
 * (SO_PEERCRED: uid, gid; SO_PEERGROUPS: its supplementary groups, Linux
 * 4.13), so no later change of the peer (setuid, another process reusing
 * its pid) matters; the groups are the process's real ones, not what
 * /etc/group says the user could have (getgrouplist).
 */
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
    if (cfg->n_allow_gid == 0)
        return false;
    gid_t small[64], *groups = small;
    socklen_t glen = sizeof small;
    int r = getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &glen);
    if (r < 0 && errno == ERANGE && glen > sizeof small) {
        groups = malloc(glen);
        r = groups ? getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &glen) : -1;
    }
    size_t n = r == 0 ? glen / sizeof *groups : 0;
    bool ok = false;
    for (size_t i = 0; i < cfg->n_allow_gid && !ok; i++) {
        ok = cfg->allow_gid[i] == cr->gid;
        for (size_t k = 0; k < n && !ok; k++)
            ok = cfg->allow_gid[i] == groups[k];
    }
    if (groups != small)
        free(groups);
    return ok;
}

/* One line to a connection we will not serve, then close it. */
static void refuse(int fd, enum bridge_err e, const char *msg)
{
    char *line = bridge_answer_error(NULL, e, msg);
    if (line) {
        ssize_t w = send(fd, line, strlen(line), MSG_NOSIGNAL | MSG_DONTWAIT);
        (void)w;
    }
    free(line);
    /* Drain what it sent, so the close does not reset the connection before it reads. */
    char buf[512];
    while (recv(fd, buf, sizeof buf, MSG_DONTWAIT) > 0)
        ;
    close(fd);
}

static size_t clients_of_uid(const struct bridge *b, uid_t uid)
{
    size_t n = 0;
    for (size_t i = 0; i < b->n_clients; i++)
        n += b->clients[i]->tp == &unix_transport && !b->clients[i]->dead &&
             b->clients[i]->uid == uid;
    return n;
}

#define ACCEPT_PAUSE_MS 200

/*
 * Out of descriptors (EMFILE, ENFILE) or kernel memory: the connection
 * stays in the backlog and the listener stays readable, so a plain loop
 * would spin. The reserve descriptor is given up to take one connection,
 * answer it TOO_MANY_CLIENTS and close it; either way the listener is
 * left alone for ACCEPT_PAUSE_MS.
 */
static void accept_exhausted(struct bridge *b, int err)
{
    int64_t now = bridge_now_ms();
    if (!b->exhausted)
        bridge_log(BRIDGE_LOG_WARN, 0,
                   "cannot accept a client: %s; answering TOO_MANY_CLIENTS until some close",
                   strerror(err));
    if (b->reserve_fd >= 0) {
        close(b->reserve_fd);
        b->reserve_fd = -1;
        int fd = accept4(b->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            refuse(fd, BRIDGE_ERR_TOO_MANY_CLIENTS, "the bridge is out of file descriptors");
            b->exhausted_refused++;
        }
        b->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    }
    b->exhausted = true;
    struct epoll_event ev = {.events = 0, .data.ptr = &b->w_listen};
    if (!b->listen_paused && epoll_ctl(b->ep, EPOLL_CTL_MOD, b->listen_fd, &ev) == 0)
        b->listen_paused = true;
    b->listen_paused_until = now + ACCEPT_PAUSE_MS;
}

void clients_accept(struct bridge *b)
{
    for (int burst = 0; burst < 64; burst++) {
        int fd = accept4(b->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                accept_exhausted(b, errno);
            return;
        }
        if (b->exhausted) {
            bridge_log(BRIDGE_LOG_INFO, 0,
                       "descriptors available again; %u client(s) refused meanwhile",
                       b->exhausted_refused);
            b->exhausted = false;
            b->exhausted_refused = 0;
        }
        struct ucred cr = {0};
        int64_t now = bridge_now_ms();
        if (!peer_allowed(b, fd, &cr)) {
            bridge_log_limited(&b->lim_conn, now, "peer refused", BRIDGE_LOG_WARN, ++b->next_seq,
                               "peer uid %u gid %u refused", (unsigned)cr.uid, (unsigned)cr.gid);
            refuse(fd, BRIDGE_ERR_PEER_NOT_ALLOWED, "this user is not on the bridge's allow-list");
            continue;
        }
        if (clients_of_uid(b, cr.uid) >= b->cfg->clients_per_uid) {
            char msg[120];
            snprintf(msg, sizeof msg, "uid %u has %u connections open (clients_per_uid)",
                     (unsigned)cr.uid, b->cfg->clients_per_uid);
            bridge_log_limited(&b->lim_conn, now, "connection refused", BRIDGE_LOG_WARN,
                               ++b->next_seq, "%s: one more refused", msg);
            refuse(fd, BRIDGE_ERR_TOO_MANY_CLIENTS, msg);
            continue;
        }
        struct client *c = client_new(b, &unix_transport);
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        if (!c || epoll_ctl(b->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
            if (c)
                b->n_clients--; /* the newest: nothing refers to it yet */
            free(c);
            refuse(fd, BRIDGE_ERR_TOO_MANY_CLIENTS, "the bridge has no room for another client");
            continue;
        }
        c->w.kind = WATCH_CLIENT;
        c->ep_events = EPOLLIN;
        c->fd = fd;
        c->uid = cr.uid;
        bridge_log(BRIDGE_LOG_DEBUG, 0, "client %llu: uid %u connected", (unsigned long long)c->cid,
                   (unsigned)cr.uid);
    }
}

uint64_t client_peer_key(const struct client *c)
{
    if (c->tp == &unix_transport)
        return (uint64_t)c->uid;
    /* FNV-1a of the origin, with the top bit set: never a uid. */
    uint64_t h = 0xcbf29ce484222325ull;
    for (const char *p = c->origin; *p; p++)
        h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
    return h | (1ull << 63);
}

void client_peer_name(const struct client *c, char *out, size_t cap)
{
    if (c->tp == &unix_transport)
        snprintf(out, cap, "uid %u", (unsigned)c->uid);
    else
        snprintf(out, cap, "origin %s", c->origin);
}

/* A client is idle when it has nothing pending, is not a subscriber, and
 * sent no whole request for idle_timeout_ms (half a line does not count). */
void clients_check_timers(struct bridge *b, int64_t now)
{
    for (size_t i = 0; i < b->n_clients; i++) {
        struct client *c = b->clients[i];
        if (c->dead || c->tp != &unix_transport || c->subscribed || c->pending ||
            now - c->last_request < (int64_t)b->cfg->idle_timeout_ms)
            continue;
        bridge_log(BRIDGE_LOG_DEBUG, 0, "client %llu idle", (unsigned long long)c->cid);
        client_drop(c, "idle");
    }
    if (b->listen_paused && now >= b->listen_paused_until) {
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &b->w_listen};
        if (epoll_ctl(b->ep, EPOLL_CTL_MOD, b->listen_fd, &ev) == 0)
            b->listen_paused = false;
        else
            b->listen_paused_until = now + ACCEPT_PAUSE_MS;
    }
    bridge_log_limit_flush(&b->lim_conn, now, "connection refused");
    bridge_log_limit_flush(&b->lim_req, now, "request refused");
    bridge_log_limit_flush(&b->lim_accept, now, "out of descriptors");
}

int64_t clients_next_timer(struct bridge *b, int64_t next)
{
    if (b->listen_paused && b->listen_paused_until < next)
        next = b->listen_paused_until;
    for (size_t i = 0; i < b->n_clients; i++) {
        const struct client *c = b->clients[i];
        if (c->dead || c->tp != &unix_transport || c->subscribed || c->pending)
            continue;
        int64_t t = c->last_request + (int64_t)b->cfg->idle_timeout_ms;
        if (t < next)
            next = t;
    }
    return next;
}

struct client *client_new(struct bridge *b, const struct client_transport *tp)
{
    if (b->n_clients >= MAX_CLIENTS) {
        bridge_log_limited(&b->lim_conn, bridge_now_ms(), "connection refused", BRIDGE_LOG_WARN, 0,
                           "%u clients: one more refused", MAX_CLIENTS);
        return NULL;
    }
    if (b->n_clients == b->cap_clients) {
        size_t cap = b->cap_clients ? b->cap_clients * 2 : 64;
        struct client **p = realloc(b->clients, cap * sizeof *p);
        if (!p)
            return NULL;
        b->clients = p;
        b->cap_clients = cap;
    }
    struct client *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->w.kind = WATCH_CLIENT;
    c->tp = tp;
    c->fd = -1;
    c->b = b;
    c->cid = ++b->next_cid;
    c->last_active = c->last_request = bridge_now_ms();
    b->clients[b->n_clients++] = c;
    return c;
}

void clients_reap(struct bridge *b)
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

/* ---- the listening socket ----------------------------------------------- */

int listener_open(const struct bridge *b, const char *path)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof a.sun_path)
        return -1;
    memcpy(a.sun_path, path, strlen(path) + 1);
    /* Who may connect is decided by SO_PEERCRED (peer_allowed). Without an
     * allow-list only our own user is served, and the directory and socket
     * say so (0700, 0600); with one, anyone may reach the socket (0711,
     * 0666) and the list decides. Either way the directory is ours, made by
     * us or checked to be, in a path no other user can change. */
    bool listed = b->cfg->n_allow_uid || b->cfg->n_allow_gid;
    struct safe_dir want = {.mode = listed ? 0711 : 0700, .create = true};
    char why[600], name[BRIDGE_PATH_MAX];
    int dirfd = safe_parent_open(path, &want, NULL, name, sizeof name, why, sizeof why);
    if (dirfd < 0) {
        bridge_log(BRIDGE_LOG_ERROR, 0, "refusing the socket directory: %s", why);
        return -1;
    }
    close(dirfd);
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
    mode_t mode = listed ? 0666 : 0600;
    mode_t old_mask = umask(listed ? 0 : 0177); /* only one thread runs yet */
    int bound = fd < 0 ? -1 : bind(fd, (struct sockaddr *)&tmp, sizeof tmp);
    umask(old_mask);
    if (bound < 0 || chmod(tmp.sun_path, mode) < 0 || listen(fd, 128) < 0 ||
        rename(tmp.sun_path, path) < 0) {
        bridge_log(BRIDGE_LOG_ERROR, 0, "cannot listen on %s: %s", path, strerror(errno));
        unlink(tmp.sun_path);
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

/* Read while our answers drain (back-pressure above OUT_PAUSE). */
void client_watch(struct client *c)
{
    if (!c->dead)
        c->tp->watch(c, c->out_len <= OUT_PAUSE);
}

/* epoll: read while readable, write while answers wait. */
static void unix_watch(struct client *c, bool readable)
{
    struct bridge *b = c->b;
    uint32_t want = (readable ? EPOLLIN : 0u) | (c->out_len ? EPOLLOUT : 0u);
    if (want == c->ep_events)
        return;
    struct epoll_event ev = {.events = want, .data.ptr = c};
    if (epoll_ctl(b->ep, EPOLL_CTL_MOD, c->fd, &ev) == 0)
        c->ep_events = want;
    else
        client_drop(c, "epoll failed");
}

/* epoll said the client's socket is writable and / or readable. */
void client_event(struct client *c, uint32_t events)
{
    if (events & EPOLLOUT) {
        client_flush(c);
        if (!c->dead && c->out_len <= OUT_PAUSE)
            client_process_lines(c);
    }
    if (!c->dead && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
        client_read(c);
}

const struct client_transport unix_transport = {
    .name = "unix",
    .flush = unix_flush,
    .watch = unix_watch,
    .close = unix_close,
};

/*
 * The daemon's internals, shared by its files (bridge.h is the public face).
 * hawiya-bridge is split along its seams:
 *
 *   loop.c      the event loop: epoll over the listener, clients, readers'
 *               notification links, the workers' wake pipe and the stop
 *               signals; timers. It knows no backend and no transport.
 *   clients.c   client connections, whatever their transport: bounded
 *               buffers, back-pressure, limits, subscribers and broadcast;
 *               and the UNIX socket transport (listener, peer check, line
 *               framing).
 *   websocket.c the loopback WebSocket transport for browsers (RFC 6455
 *               through libwebsockets): origin and Host checks at the
 *               handshake, one JSON object per text message.
 *   methods.c   one JSON request line -> the method it names
 *               (docs/bridge-protocol.md "Methods").
 *   sessions.c  the readers: one worker thread and one FIFO queue of
 *               authenticate requests each, link up/down and slot changes,
 *               deadlines, progress.
 *   backend_*.c a kind of reader (backend.h); backends.c names them.
 *
 * Everything here is owned by the event-loop thread, except the fields a
 * worker shares with it (marked), which are guarded by the reader's mutex,
 * the bridge's progress mutex or atomics.
 */
#ifndef HAWIYA_BRIDGE_DAEMON_H
#define HAWIYA_BRIDGE_DAEMON_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "backend.h"
#include "config.h"
#include "log.h"
#include "request.h"

#ifndef HAWIYA_VERSION
#define HAWIYA_VERSION "0.1.0"
#endif
#define BRIDGE_PROTOCOL_VERSION 1

#define PROGRESS_RING 64u
/* Readers at once: the configured ones and those providers add. */
#define BRIDGE_MAX_LIVE_READERS 64u
#define BRIDGE_MAX_PROVIDERS    4u

/* What an epoll event is about: the first member of each watched object. */
enum watch_kind {
    WATCH_LISTEN,
    WATCH_WAKE,
    WATCH_SIGNAL,
    WATCH_READER,
    WATCH_CLIENT,
    WATCH_WS_LISTEN, /* a loopback WebSocket listener (websocket.c) */
    WATCH_WS_LOOP,   /* the WebSocket library's own poll set, nested in ours */
    WATCH_PROVIDER,  /* a backend's provider of readers (backend.h) */
};
struct watch {
    enum watch_kind kind;
};

struct client;

/*
 * How a client's messages travel. methods.c and sessions.c see only struct
 * client and client_send_*(); the buffers, back-pressure and limits of
 * clients.c hold for every transport. c->out is always a queue of answers,
 * one JSON object and its LF each: the UNIX socket sends it as it is, the
 * WebSocket one text message per object.
 */
struct client_transport {
    const char *name; /* "unix", "websocket" */
    /* Send what can be sent of c->out now. */
    void (*flush)(struct client *c);
    /* Once per loop turn: take requests only while `readable` (back-pressure). */
    void (*watch)(struct client *c, bool readable);
    /* c is being dropped (its sessions are already cancelled): end the
     * connection. It may take over c->out to deliver the last answers. */
    void (*close)(struct client *c, const char *why);
};
extern const struct client_transport unix_transport;      /* clients.c */
extern const struct client_transport websocket_transport; /* websocket.c */

struct client {
    struct watch w;
    struct bridge *b;
    const struct client_transport *tp;
    uint32_t ep_events; /* unix: the events registered with epoll */
    int fd;             /* unix: the connection; websocket: -1 */
    void *conn;         /* websocket: the library's connection (NULL once it is gone) */
    /* websocket: the page's origin as its browser vouched for it (the
     * handshake's Origin); "" on the UNIX socket, where the request names it */
    char origin[BRIDGE_ORIGIN_MAX + 1];
    int64_t last_active;  /* last message in either direction (idle timeout) */
    int64_t last_request; /* last whole request, or the connection (UNIX idle timeout) */
    uid_t uid;            /* unix: the peer's (SO_PEERCRED); fairness and limits count by it */
    unsigned pending;     /* authenticates of this client queued or running */
    uint64_t cid;
    char *in;
    size_t in_len, in_cap;
    char *out;
    size_t out_len, out_cap;
    bool subscribed;
    bool dead;
};

struct reader;

/* One authenticate request, queued on a reader or running on it. */
struct auth {
    struct auth *next;
    struct client *client; /* NULL once answered early (cancel, timeout, disconnect) */
    uint64_t seq;
    struct bridge_request req;
    struct reader *reader;
    int64_t deadline;
    bool told_waiting, told_delayed;
    uint64_t peer;              /* client_peer_key of the requester (fairness) */
    struct auth_secret *secret; /* the CAN and MRZ information, in a page no core dump holds */
    /* shared with the worker */
    atomic_bool cancel;
    enum bridge_err result;
    struct bridge_auth_result res;
};

/* A backend's provider of readers (backend.h), watched by the loop. */
struct provider {
    struct watch w;
    struct bridge *b;
    const struct bridge_provider_ops *ops;
    void *p;
};

struct reader {
    struct watch w;
    struct bridge *b;
    uint64_t rid; /* unique for the daemon's life: progress messages name it */
    bool dynamic; /* added by a provider, not bridge.conf: removed when it goes */
    bool gone;    /* removed: freed by readers_reap once no session runs on it */
    struct reader *next_gone;
    int ep_fd; /* the fd registered with epoll, -1 while the worker owns the link */
    struct bridge_reader_config cfg;
    const struct bridge_backend_ops *ops;
    void *be;
    int fd;
    bool up, present, active;
    char iface[16]; /* the card came in on: "contact", "contactless" or "" */
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
    struct auth *job; /* shared with the worker, under mu */
    bool done, quit;  /* shared with the worker, under mu */
    /* Brute force: failed CANs / MRZs in a row, and no session before hold_until. */
    unsigned auth_failures;
    int64_t auth_hold_until, auth_last_failure;
    /* Fairness: when each recent requester was last served (round robin). */
    struct {
        uint64_t peer, tick;
    } served[8];
    uint64_t serve_tick;
    /* Liveness while idle: a probe out since probe_at (0: none), the answers
     * count then; a reader silent past the probe's time is unresponsive. */
    int64_t probe_at, next_probe;
    uint64_t probe_answers;
    bool unresponsive;
    struct bridge_reader_identity ident; /* what it said about itself last */
};

/* A removed reader's failed CANs / MRZs (struct reader's auth_*), kept by
 * name: a reader unplugged and plugged in again (or whose pcscd restarted)
 * comes back with its delay, so pulling it out does not reset a brute force. */
struct auth_penalty {
    char name[BRIDGE_READER_NAME_MAX + 1];
    unsigned failures;
    int64_t hold_until, last_failure;
};

/* A queued request's secrets (harden.h secret_alloc). */
struct auth_secret {
    char can[BRIDGE_CAN_LEN + 1];
    char mrz_info[MRZ_BAC_INFO_MAX + 1];
};

struct ws_server; /* websocket.c */

struct progress_msg {
    uint64_t seq;
    uint64_t rid;
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
    struct reader *readers[BRIDGE_MAX_LIVE_READERS];
    size_t n_readers;
    struct provider providers[BRIDGE_MAX_PROVIDERS];
    size_t n_providers;
    struct reader *gone; /* removed readers, freed at the end of a loop turn */
    struct auth_penalty penalties[BRIDGE_MAX_LIVE_READERS];
    size_t n_penalties;
    uint64_t next_cid, next_seq, next_rid;
    int64_t start_ms;
    pthread_mutex_t pmu; /* guards ring and ring_n, which workers fill */
    struct progress_msg ring[PROGRESS_RING];
    size_t ring_n;
    int sig_fd; /* SIGTERM and SIGINT, read as events (signalfd) */
    struct watch w_signal;
    struct ws_server *ws; /* NULL unless `websocket =` is configured */
    bool stop;
    /* Out of descriptors: one kept in reserve to answer and close a client
     * with; the listener is not watched until listen_paused_until. */
    int reserve_fd;
    bool exhausted;             /* descriptors ran out, not yet back (logged once) */
    unsigned exhausted_refused; /* clients answered TOO_MANY_CLIENTS meanwhile */
    bool listen_paused;
    int64_t listen_paused_until;
    struct bridge_log_limit lim_conn, lim_req, lim_accept; /* log.h */
};

/* loop.c */
int64_t bridge_now_ms(void);
void bridge_wake(struct bridge *b); /* from any thread */

/* clients.c */
int listener_open(const struct bridge *b, const char *path);
void clients_accept(struct bridge *b);
/* A new client of transport tp, counted against the bridge's limits; NULL
 * when refused (too many clients, out of memory). */
struct client *client_new(struct bridge *b, const struct client_transport *tp);
/* One piece of a message-framed request (a WebSocket text message arrives
 * in fragments): handled once `final`. false: the request is over
 * BRIDGE_LINE_MAX bytes, TOO_LARGE was answered and c dropped. */
bool client_message(struct client *c, const char *p, size_t n, bool final);
void clients_reap(struct bridge *b);
/* Closes UNIX clients idle past idle_timeout_ms; resumes a paused listener. */
void clients_check_timers(struct bridge *b, int64_t now);
int64_t clients_next_timer(struct bridge *b, int64_t next);
/* Who a client is, for fairness and limits: its uid on the UNIX socket, its
 * page origin on the WebSocket (a hash, kept apart from uids). */
uint64_t client_peer_key(const struct client *c);
/* "uid 1000" or "origin https://..." */
void client_peer_name(const struct client *c, char *out, size_t cap);
void client_watch(struct client *c);
void client_flush(struct client *c);
void client_read(struct client *c);
/* epoll's events for c: flushes, reads and handles what they allow. */
void client_event(struct client *c, uint32_t events);
void client_process_lines(struct client *c);
void client_drop(struct client *c, const char *why);
/* Queues one line (takes ownership of `line`, a NUL-terminated text ending
 * in LF) and tries to send it now. */
void client_send_line(struct client *c, char *line);
void client_send_error(struct client *c, const cJSON *id, enum bridge_err e, const char *msg);
void client_send_result(struct client *c, const cJSON *id, cJSON *result);
/* An event (consumed) to every subscriber, and to `also` (a requester). */
void bridge_broadcast(struct bridge *b, cJSON *ev, struct client *also);

/* websocket.c: the loopback WebSocket (docs/bridge-protocol.md "WebSocket") */
bool websocket_open(struct bridge *b); /* false: cannot listen (port taken, ...) */
void websocket_accept(struct bridge *b, struct watch *listener);
/* Runs the library's ready work without waiting (its poll set is nested in ours). */
void websocket_service(struct bridge *b);
/* The earliest instant the loop must wake for the library, no later than `next`. */
int64_t websocket_next_timer(struct bridge *b, int64_t now, int64_t next);
void websocket_check_idle(struct bridge *b, int64_t now);
void websocket_shutdown(struct bridge *b);

/* methods.c */
void bridge_handle_line(struct client *c, char *line, size_t len);

/* sessions.c */
bool readers_start(struct bridge *b, const struct bridge_config *cfg);
/* The provider's fd was readable: readers it now sees are added (or brought
 * up), those it no longer sees are taken down (removed when it added them). */
void provider_sync(struct provider *pv);
/* Frees the removed readers whose workers are idle (end of a loop turn). */
void readers_reap(struct bridge *b);
bool readers_stop(struct bridge *b); /* false: a worker is still inside a backend call */
void readers_drain_wake(struct bridge *b);
void readers_check_deadlines(struct bridge *b, int64_t now);
void readers_reconnect(struct bridge *b, int64_t now);
/* Liveness probes of idle readers; marks the ones that stopped answering. */
void readers_probe(struct bridge *b, int64_t now);
/* The delay after the n-th failed CAN / MRZ in a row (config auth_delay_*). */
int64_t auth_delay_ms(const struct bridge_config *cfg, unsigned failures);
/* The earliest instant the loop must wake for a reader, no later than `next`. */
int64_t readers_next_timer(struct bridge *b, int64_t next);
void reader_watch(struct reader *r);
void reader_sync(struct reader *r);
struct reader *reader_pick(struct bridge *b, const char *name);
cJSON *reader_event(const char *name, const struct reader *r);
/* Queues an authenticate on r (takes the request's contents) and starts it when it can. */
bool reader_enqueue(struct reader *r, struct client *c, struct bridge_request *req, uint64_t seq);
/* Authenticates of c's peer (client_same_peer) queued on r or running on it. */
size_t reader_pending_of_peer(const struct reader *r, const struct client *c);
/* Finds c's pending authenticate whose id equals `id`; cancels it. */
bool sessions_cancel(struct bridge *b, struct client *c, const cJSON *id, uint64_t seq);
/* c is gone: its running sessions are told to stop, its queued ones dropped. */
void sessions_drop_client(struct bridge *b, struct client *c);

#endif

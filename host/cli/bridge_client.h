/*
 * The client side of hawiya-bridge's socket (docs/bridge-protocol.md), shared
 * by `hawiya status`, `readers`, `watch` and `auth`: connect, send one
 * request line, read lines until the answer with the same id.
 *
 * The socket is used only where no other user can have put it (its
 * directory and the socket pass safe_socket_check, host/posix/safe_path.h):
 * a listener of another user's in its place would get the CAN. And nothing
 * waits forever: the connection, every write and the answer have a
 * deadline; while an answer may legitimately take long (authenticate
 * waiting for a card, watch waiting for events) the client checks that the
 * bridge is alive with a `version` request whenever it has heard nothing
 * for BRIDGE_CLIENT_PING_MS, and gives up if that is not answered within
 * BRIDGE_CLIENT_PONG_MS. Giving up is exit 2 with the reason on stderr.
 */
#ifndef HAWIYA_CLI_BRIDGE_CLIENT_H
#define HAWIYA_CLI_BRIDGE_CLIENT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#define BRIDGE_CLIENT_TIMEOUT_MS 10000 /* status, readers: the whole call */
#define BRIDGE_CLIENT_PING_MS    2000  /* silence after which the bridge is asked */
#define BRIDGE_CLIENT_PONG_MS    3000  /* ... and must answer within this */
#define BRIDGE_CLIENT_GRACE_MS   10000 /* after an authenticate's own timeout */

struct bridge_client {
    int fd;
    char path[108];
    char *buf;
    size_t len, cap;
    int64_t deadline;  /* absolute (ms, CLOCK_MONOTONIC); 0: none */
    bool keepalive;    /* liveness checks while waiting */
    int64_t heard;     /* when the bridge last sent anything */
    int64_t ping_sent; /* an unanswered liveness check went out then (0: none) */
    unsigned pings;
    const char *failure; /* why the last call gave up (for the message) */
};

int64_t bridge_client_now_ms(void);

/* path NULL = the default socket. false with a message on stderr. The
 * connection must be made within timeout_ms. */
bool bridge_client_open(struct bridge_client *bc, const char *path, int timeout_ms);
void bridge_client_close(struct bridge_client *bc);
/* Sends {"id":1,"method":..,"params":..} (params may be NULL; it is freed). */
bool bridge_client_send(struct bridge_client *bc, const char *method, cJSON *params);
/* The next line as parsed JSON, liveness answers left out; NULL at end of
 * stream, on a broken line, past bc->deadline, or when a liveness check
 * went unanswered (bc->failure says which). */
cJSON *bridge_client_next(struct bridge_client *bc);
/* Prints why the last call gave up, on stderr. */
void bridge_client_report(const struct bridge_client *bc);

/*
 * Sends one request and waits for its answer, at most timeout_ms (0: no
 * overall limit), checking liveness meanwhile when `keepalive`; prints
 * events to `events` (if not NULL), then the result (exit 0) or the error
 * object (exit 1) as one JSON line on stdout. Exit 2 when the bridge cannot
 * be reached or does not answer in time.
 */
int bridge_client_call(const char *path, const char *method, cJSON *params, FILE *events,
                       int timeout_ms);
/* The same, with each event handed to on_event (may be NULL). */
int bridge_client_call_ex(const char *path, const char *method, cJSON *params,
                          void (*on_event)(const cJSON *ev, void *ctx), void *ctx, int timeout_ms,
                          bool keepalive);

#endif

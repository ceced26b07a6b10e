/*
 * The client side of hawiya-bridge's socket (docs/bridge-protocol.md), shared
 * by `hawiya status`, `readers`, `watch` and `auth`: connect, send one
 * request line, read lines until the answer with the same id.
 */
#ifndef HAWIYA_CLI_BRIDGE_CLIENT_H
#define HAWIYA_CLI_BRIDGE_CLIENT_H

#include <stdbool.h>
#include <stdio.h>

#include <cjson/cJSON.h>

struct bridge_client {
    int fd;
    char *buf;
    size_t len, cap;
};

/* path NULL = the default socket. false with a message on stderr. */
bool bridge_client_open(struct bridge_client *bc, const char *path);
void bridge_client_close(struct bridge_client *bc);
/* Sends {"id":1,"method":..,"params":..} (params may be NULL; it is freed). */
bool bridge_client_send(struct bridge_client *bc, const char *method, cJSON *params);
/* The next line as parsed JSON (NULL at end of stream or on a broken line). */
cJSON *bridge_client_next(struct bridge_client *bc);
/*
 * Sends one request and waits for its answer; prints events to `events`
 * (if not NULL), then the result (exit 0) or the error object (exit 1) as
 * one JSON line on stdout. Exit 2 when the bridge cannot be reached.
 */
int bridge_client_call(const char *path, const char *method, cJSON *params, FILE *events);
/* The same, with each event handed to on_event (may be NULL). */
int bridge_client_call_ex(const char *path, const char *method, cJSON *params,
                          void (*on_event)(const cJSON *ev, void *ctx), void *ctx);

#endif

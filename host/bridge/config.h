/*
 * hawiya-bridge configuration: a "key = value" file, one setting a line,
 * '#' starts a comment (docs/bridge-protocol.md, "Configuration"). Lists
 * (allow_uid, allow_gid, origin, reader) take one value a line and repeat.
 * Command-line options are applied on top of the file.
 */
#ifndef HAWIYA_BRIDGE_CONFIG_H
#define HAWIYA_BRIDGE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "request.h"

#define BRIDGE_MAX_READERS     16
#define BRIDGE_MAX_ORIGINS     32
#define BRIDGE_MAX_IDS         32
#define BRIDGE_PATH_MAX        108 /* sun_path */
#define BRIDGE_CONFIG_LINE_MAX 1023
#define BRIDGE_CONFIG_FILE_MAX (64u * 1024u)

enum bridge_log_level { BRIDGE_LOG_ERROR, BRIDGE_LOG_WARN, BRIDGE_LOG_INFO, BRIDGE_LOG_DEBUG };

#define BRIDGE_READER_KEY_MAX 128 /* pcsc-lite's MAX_READERNAME */

struct bridge_reader_config {
    char backend[16];                      /* "sim", "pcsc" */
    char name[BRIDGE_READER_NAME_MAX + 1]; /* unique */
    /* sim: the board's host-link socket; pcsc: in bridge.conf a prefix of the
     * PC/SC reader name, from the provider the whole name */
    char path[BRIDGE_READER_KEY_MAX];
};

/* Which PC/SC readers the bridge takes (`pcsc =`). */
enum bridge_pcsc_mode {
    BRIDGE_PCSC_OFF,   /* none, pcscd is never contacted (the default without pcsc readers) */
    BRIDGE_PCSC_NAMED, /* those of the `reader = pcsc:NAME:PREFIX` lines */
    BRIDGE_PCSC_ALL,   /* those, and every other PC/SC reader under a name made from its own */
};

struct bridge_config {
    char socket[BRIDGE_PATH_MAX];
    uid_t allow_uid[BRIDGE_MAX_IDS];
    size_t n_allow_uid;
    gid_t allow_gid[BRIDGE_MAX_IDS];
    size_t n_allow_gid;
    char origin[BRIDGE_MAX_ORIGINS][BRIDGE_ORIGIN_MAX + 1];
    size_t n_origin;
    struct bridge_reader_config reader[BRIDGE_MAX_READERS];
    size_t n_reader;
    enum bridge_pcsc_mode pcsc;
    uint32_t timeout_ms; /* default authenticate timeout */
    uint32_t queue_max;  /* authenticate requests queued per reader */
    /* Fairness (docs/bridge-protocol.md "Limits"): no one user or page fills the bridge. */
    uint32_t clients_per_uid; /* open connections of one peer uid */
    uint32_t queue_per_peer;  /* pending authenticates of one uid (or page origin) per reader */
    uint32_t idle_timeout_ms; /* a connection with nothing pending, silent this long, is closed */
    /* Brute force: after the n-th failed CAN / MRZ in a row a reader waits
     * min(auth_delay_ms x 2^(n-1), auth_delay_max_ms) before its next session. */
    uint32_t auth_delay_ms, auth_delay_max_ms;
    uint32_t reader_call_max_ms; /* one reader call (an escape step) at most this long */
    bool log_syslog;
    enum bridge_log_level log_level;
    /* The loopback WebSocket for browsers (websocket.h); ws_port 0 = off. */
    char websocket[32]; /* as configured: "127.0.0.1:PORT", "[::1]:PORT", "localhost:PORT" */
    uint16_t ws_port;
    bool ws_ipv4, ws_ipv6;      /* which loopback addresses to listen on */
    uint32_t ws_max_per_origin; /* open WebSocket connections per page origin */
    uint32_t ws_idle_ms;        /* a WebSocket silent this long is closed */
};

/* Defaults: the per-user socket path, 30 s timeout, 8 queued, stderr, info,
 * no WebSocket (8 connections per origin, 10 min idle when configured), 256
 * connections per uid, 2 pending authenticates per uid per reader, 5 min
 * idle, brute-force delay 1 s doubling up to 60 s, 30 s per reader call. */
void bridge_config_defaults(struct bridge_config *c);
/* The default socket path: /run/hawiya/bridge.sock for root, else
 * $XDG_RUNTIME_DIR/hawiya/bridge.sock, else /run/user/UID/hawiya/bridge.sock
 * when that directory is ours, else /tmp/hawiya-UID/bridge.sock. */
void bridge_default_socket(char *out, size_t cap);

/* One "key = value" setting; false with a reason in err. */
bool bridge_config_set(struct bridge_config *c, const char *key, const char *value, char *err,
                       size_t cap);
/* "sim:NAME:PATH" or "pcsc:NAME:PREFIX" (the first PC/SC reader whose name
 * starts with PREFIX; a pcsc reader line implies `pcsc = named` at least). */
bool bridge_config_add_reader(struct bridge_config *c, const char *spec, char *err, size_t cap);
/*
 * The text of a configuration file, text[0..len): settings applied in
 * order onto c, stopping at the first bad line with "NAME:LINE: reason" in
 * err. Lines of at most BRIDGE_CONFIG_LINE_MAX bytes, no NUL bytes.
 */
bool bridge_config_parse(struct bridge_config *c, const char *text, size_t len, const char *name,
                         char *err, size_t cap);
/* Reads a file (at most 64 KiB) and parses it; a missing file is an error
 * only when `required`. */
bool bridge_config_load(struct bridge_config *c, const char *path, bool required, char *err,
                        size_t cap);

#endif

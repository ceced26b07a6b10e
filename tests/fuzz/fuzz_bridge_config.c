/*
 * fuzz_bridge_config: hostile bytes as hawiya-bridge's configuration file
 * (host/bridge/config.c). Whatever the text, parsing ends with true or with
 * a "NAME:LINE: reason" error, and the configuration stays within its
 * bounds: counts at most their maxima, every string NUL-terminated inside
 * its array, numbers in their ranges.
 */
#include <stdint.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void bounded(const char *s, size_t cap)
{
    if (strnlen(s, cap) == cap)
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct bridge_config c;
    char err[256];
    err[0] = '\0';
    bridge_config_defaults(&c);
    bool ok = bridge_config_parse(&c, (const char *)data, size, "fuzz.conf", err, sizeof err);
    if (!ok && strncmp(err, "fuzz.conf:", 10) != 0)
        __builtin_trap();
    if (c.n_origin > BRIDGE_MAX_ORIGINS || c.n_reader > BRIDGE_MAX_READERS ||
        c.n_allow_uid > BRIDGE_MAX_IDS || c.n_allow_gid > BRIDGE_MAX_IDS)
        __builtin_trap();
    if (c.timeout_ms < 1 || c.timeout_ms > BRIDGE_TIMEOUT_MAX_MS || c.queue_max < 1 ||
        c.queue_max > 1000 || c.log_level > BRIDGE_LOG_DEBUG)
        __builtin_trap();
    bounded(c.socket, sizeof c.socket);
    if (!c.socket[0])
        __builtin_trap();
    for (size_t i = 0; i < c.n_origin; i++) {
        bounded(c.origin[i], sizeof c.origin[i]);
        if (!c.origin[i][0])
            __builtin_trap();
    }
    for (size_t i = 0; i < c.n_reader; i++) {
        bounded(c.reader[i].backend, sizeof c.reader[i].backend);
        bounded(c.reader[i].name, sizeof c.reader[i].name);
        bounded(c.reader[i].path, sizeof c.reader[i].path);
        if ((strcmp(c.reader[i].backend, "sim") && strcmp(c.reader[i].backend, "usb") &&
             strcmp(c.reader[i].backend, "pcsc")) ||
            !c.reader[i].name[0] || !c.reader[i].path[0])
            __builtin_trap();
        for (size_t j = 0; j < i; j++)
            if (!strcmp(c.reader[i].name, c.reader[j].name))
                __builtin_trap();
    }
    /* The WebSocket listens on loopback only, and only when configured. */
    bounded(c.websocket, sizeof c.websocket);
    if (c.ws_port ? !(c.ws_ipv4 || c.ws_ipv6) || (strncmp(c.websocket, "127.0.0.1:", 10) &&
                                                  strncmp(c.websocket, "[::1]:", 6) &&
                                                  strncmp(c.websocket, "localhost:", 10))
                  : c.websocket[0] != '\0' || c.ws_ipv4 || c.ws_ipv6)
        __builtin_trap();
    if (c.ws_max_per_origin < 1 || c.ws_max_per_origin > 1000 || c.ws_idle_ms < 1000 ||
        c.ws_idle_ms > 86400000)
        __builtin_trap();
    return 0;
}

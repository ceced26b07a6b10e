#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * Places another user cannot make first: /run (root's) for root; the
 * per-user runtime directory (XDG_RUNTIME_DIR, or /run/user/UID when logind
 * made one for us); only then /tmp, where anyone can make anything, which
 * the bridge and the CLI accept only as a directory of ours (safe_path.h).
 */
void bridge_default_socket(char *out, size_t cap)
{
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    uid_t me = geteuid();
    char run_user[64];
    struct stat st;
    snprintf(run_user, sizeof run_user, "/run/user/%u", (unsigned)me);
    if (me == 0)
        snprintf(out, cap, "/run/hawiya/bridge.sock");
    else if (xdg && xdg[0] == '/')
        snprintf(out, cap, "%s/hawiya/bridge.sock", xdg);
    else if (lstat(run_user, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == me)
        snprintf(out, cap, "%s/hawiya/bridge.sock", run_user);
    else
        snprintf(out, cap, "/tmp/hawiya-%u/bridge.sock", (unsigned)me);
}

void bridge_config_defaults(struct bridge_config *c)
{
    memset(c, 0, sizeof *c);
    bridge_default_socket(c->socket, sizeof c->socket);
    c->timeout_ms = 30000;
    c->queue_max = 8;
    c->clients_per_uid = 256;
    c->queue_per_peer = 2;
    c->idle_timeout_ms = 300000;
    c->auth_delay_ms = 1000;
    c->auth_delay_max_ms = 60000;
    c->reader_call_max_ms = 30000;
    c->log_level = BRIDGE_LOG_INFO;
    c->ws_max_per_origin = 8;
    c->ws_idle_ms = 600000;
}

static bool parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
    char *end;
    if (!isdigit((unsigned char)s[0]))
        return false;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return false;
    *out = (uint32_t)v;
    return true;
}

/* Loopback only, by construction: the three spellings name the loopback
 * interface (RFC 6761 §6.3 for localhost, which then means both). */
static bool parse_websocket(struct bridge_config *c, const char *value)
{
    static const struct {
        const char *prefix;
        bool v4, v6;
    } hosts[] = {{"127.0.0.1:", true, false}, {"[::1]:", false, true}, {"localhost:", true, true}};
    for (size_t i = 0; i < sizeof hosts / sizeof hosts[0]; i++) {
        size_t n = strlen(hosts[i].prefix);
        uint32_t port;
        if (strncmp(value, hosts[i].prefix, n) || !parse_u32(value + n, 1, 65535, &port))
            continue;
        snprintf(c->websocket, sizeof c->websocket, "%s", value);
        c->ws_port = (uint16_t)port;
        c->ws_ipv4 = hosts[i].v4;
        c->ws_ipv6 = hosts[i].v6;
        return true;
    }
    return false;
}

bool bridge_config_add_reader(struct bridge_config *c, const char *spec, char *err, size_t cap)
{
    const char *a = strchr(spec, ':');
    const char *b = a ? strchr(a + 1, ':') : NULL;
    if (!a || !b) {
        snprintf(err, cap, "reader: expected BACKEND:NAME:PATH");
        return false;
    }
    if (c->n_reader >= BRIDGE_MAX_READERS) {
        snprintf(err, cap, "reader: at most %d readers", BRIDGE_MAX_READERS);
        return false;
    }
    struct bridge_reader_config *r = &c->reader[c->n_reader];
    size_t bl = (size_t)(a - spec), nl = (size_t)(b - a - 1), pl = strlen(b + 1);
    bool usb = bl == 3 && !strncmp(spec, "usb", 3), sim = bl == 3 && !strncmp(spec, "sim", 3),
         pcsc = bl == 4 && !strncmp(spec, "pcsc", 4);
    if (!sim && !usb && !pcsc) {
        snprintf(err, cap, "reader: unknown backend (sim, usb, pcsc)");
        return false;
    }
    /* usb: VID:PID in hex, then optionally :SERIAL (printable, no space). */
    size_t used = 9;
    bool hex = true;
    for (size_t i = 0; usb && i < used; i++)
        hex = hex && (i == 4 ? b[1 + i] == ':' : isxdigit((unsigned char)b[1 + i]) != 0);
    if (usb && (!hex || (b[1 + used] != '\0' && b[1 + used] != ':'))) {
        snprintf(err, cap, "reader: usb:NAME:VID:PID[:SERIAL], VID and PID in 4 hex digits");
        return false;
    }
    for (const char *q = b + 1 + used; usb && *q; q++)
        if (*q <= ' ' || *q > '~') {
            snprintf(err, cap, "reader: a USB serial number is printable ASCII");
            return false;
        }
    /* A sim path is a socket's (sun_path); a pcsc prefix, a PC/SC name's. */
    if (nl == 0 || nl > BRIDGE_READER_NAME_MAX || pl == 0 ||
        pl >= (pcsc ? sizeof r->path : BRIDGE_PATH_MAX)) {
        snprintf(err, cap, "reader: bad name or path length");
        return false;
    }
    for (size_t i = 0; i < nl; i++)
        if (!isalnum((unsigned char)a[1 + i]) && a[1 + i] != '-' && a[1 + i] != '_' &&
            a[1 + i] != '.') {
            snprintf(err, cap, "reader: a name is letters, digits, '-', '_', '.'");
            return false;
        }
    memset(r, 0, sizeof *r);
    memcpy(r->backend, spec, bl);
    memcpy(r->name, a + 1, nl);
    memcpy(r->path, b + 1, pl + 1);
    for (size_t i = 0; i < c->n_reader; i++)
        if (!strcmp(c->reader[i].name, r->name)) {
            snprintf(err, cap, "reader: duplicate name");
            return false;
        }
    c->n_reader++;
    if (pcsc && c->pcsc == BRIDGE_PCSC_OFF)
        c->pcsc = BRIDGE_PCSC_NAMED;
    return true;
}

bool bridge_config_set(struct bridge_config *c, const char *key, const char *value, char *err,
                       size_t cap)
{
    uint32_t v;
    if (!strcmp(key, "socket")) {
        if (!value[0] || strlen(value) >= sizeof c->socket) {
            snprintf(err, cap, "socket: empty or too long");
            return false;
        }
        snprintf(c->socket, sizeof c->socket, "%s", value);
    } else if (!strcmp(key, "allow_uid") || !strcmp(key, "allow_gid")) {
        bool uid = key[6] == 'u';
        size_t *n = uid ? &c->n_allow_uid : &c->n_allow_gid;
        if (!parse_u32(value, 0, 0xFFFFFFFEu, &v) || *n >= BRIDGE_MAX_IDS) {
            snprintf(err, cap, "%s: a number (at most %d entries)", key, BRIDGE_MAX_IDS);
            return false;
        }
        if (uid)
            c->allow_uid[(*n)++] = (uid_t)v;
        else
            c->allow_gid[(*n)++] = (gid_t)v;
    } else if (!strcmp(key, "origin")) {
        if (!value[0] || strlen(value) > BRIDGE_ORIGIN_MAX || c->n_origin >= BRIDGE_MAX_ORIGINS) {
            snprintf(err, cap, "origin: empty, too long or too many");
            return false;
        }
        snprintf(c->origin[c->n_origin++], BRIDGE_ORIGIN_MAX + 1, "%s", value);
    } else if (!strcmp(key, "reader")) {
        return bridge_config_add_reader(c, value, err, cap);
    } else if (!strcmp(key, "pcsc")) {
        bool named = false;
        for (size_t i = 0; i < c->n_reader; i++)
            named |= !strcmp(c->reader[i].backend, "pcsc");
        if (!strcmp(value, "all"))
            c->pcsc = BRIDGE_PCSC_ALL;
        else if (!strcmp(value, "named"))
            c->pcsc = BRIDGE_PCSC_NAMED;
        else if (!strcmp(value, "off") && !named)
            c->pcsc = BRIDGE_PCSC_OFF;
        else {
            snprintf(err, cap, "pcsc: all, named or off (off with no pcsc reader line)");
            return false;
        }
    } else if (!strcmp(key, "timeout_ms")) {
        if (!parse_u32(value, 1, BRIDGE_TIMEOUT_MAX_MS, &c->timeout_ms)) {
            snprintf(err, cap, "timeout_ms: 1 to %u", BRIDGE_TIMEOUT_MAX_MS);
            return false;
        }
    } else if (!strcmp(key, "clients_per_uid")) {
        if (!parse_u32(value, 1, 4096, &c->clients_per_uid)) {
            snprintf(err, cap, "clients_per_uid: 1 to 4096");
            return false;
        }
    } else if (!strcmp(key, "queue_per_peer")) {
        if (!parse_u32(value, 1, 1000, &c->queue_per_peer)) {
            snprintf(err, cap, "queue_per_peer: 1 to 1000");
            return false;
        }
    } else if (!strcmp(key, "idle_timeout_ms")) {
        if (!parse_u32(value, 100, 86400000, &c->idle_timeout_ms)) {
            snprintf(err, cap, "idle_timeout_ms: 100 to 86400000");
            return false;
        }
    } else if (!strcmp(key, "auth_delay_ms")) {
        if (!parse_u32(value, 0, 600000, &c->auth_delay_ms)) {
            snprintf(err, cap, "auth_delay_ms: 0 to 600000");
            return false;
        }
    } else if (!strcmp(key, "auth_delay_max_ms")) {
        if (!parse_u32(value, 0, 3600000, &c->auth_delay_max_ms)) {
            snprintf(err, cap, "auth_delay_max_ms: 0 to 3600000");
            return false;
        }
    } else if (!strcmp(key, "reader_call_max_ms")) {
        if (!parse_u32(value, 100, BRIDGE_TIMEOUT_MAX_MS, &c->reader_call_max_ms)) {
            snprintf(err, cap, "reader_call_max_ms: 100 to %u", BRIDGE_TIMEOUT_MAX_MS);
            return false;
        }
    } else if (!strcmp(key, "queue_max")) {
        if (!parse_u32(value, 1, 1000, &c->queue_max)) {
            snprintf(err, cap, "queue_max: 1 to 1000");
            return false;
        }
    } else if (!strcmp(key, "websocket")) {
        if (!parse_websocket(c, value)) {
            snprintf(err, cap,
                     "websocket: 127.0.0.1:PORT, [::1]:PORT or localhost:PORT "
                     "(loopback only)");
            return false;
        }
    } else if (!strcmp(key, "websocket_max_per_origin")) {
        if (!parse_u32(value, 1, 1000, &c->ws_max_per_origin)) {
            snprintf(err, cap, "websocket_max_per_origin: 1 to 1000");
            return false;
        }
    } else if (!strcmp(key, "websocket_idle_ms")) {
        if (!parse_u32(value, 1000, 86400000, &c->ws_idle_ms)) {
            snprintf(err, cap, "websocket_idle_ms: 1000 to 86400000");
            return false;
        }
    } else if (!strcmp(key, "log")) {
        if (strcmp(value, "stderr") && strcmp(value, "syslog")) {
            snprintf(err, cap, "log: stderr or syslog");
            return false;
        }
        c->log_syslog = value[1] == 'y';
    } else if (!strcmp(key, "log_level")) {
        static const char *const names[] = {"error", "warn", "info", "debug"};
        size_t i = 0;
        while (i < 4 && strcmp(value, names[i]))
            i++;
        if (i == 4) {
            snprintf(err, cap, "log_level: error, warn, info or debug");
            return false;
        }
        c->log_level = (enum bridge_log_level)i;
    } else {
        snprintf(err, cap, "unknown key");
        return false;
    }
    return true;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

bool bridge_config_parse(struct bridge_config *c, const char *text, size_t len, const char *name,
                         char *err, size_t cap)
{
    char line[BRIDGE_CONFIG_LINE_MAX + 1], why[160];
    unsigned no = 0;
    for (size_t pos = 0; pos < len;) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
        no++;
        if (n > BRIDGE_CONFIG_LINE_MAX) {
            snprintf(err, cap, "%s:%u: line too long", name, no);
            return false;
        }
        memcpy(line, text + pos, n);
        line[n] = '\0';
        pos += n + (nl ? 1 : 0);
        if (strlen(line) != n) {
            snprintf(err, cap, "%s:%u: NUL byte", name, no);
            return false;
        }
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char *s = trim(line);
        if (!*s)
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            snprintf(err, cap, "%s:%u: expected key = value", name, no);
            return false;
        }
        *eq = '\0';
        if (!bridge_config_set(c, trim(s), trim(eq + 1), why, sizeof why)) {
            snprintf(err, cap, "%s:%u: %s", name, no, why);
            return false;
        }
    }
    return true;
}

bool bridge_config_load(struct bridge_config *c, const char *path, bool required, char *err,
                        size_t cap)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        if (!required && errno == ENOENT)
            return true;
        snprintf(err, cap, "%s: %s", path, strerror(errno));
        return false;
    }
    char *text = malloc(BRIDGE_CONFIG_FILE_MAX + 1);
    size_t n = text ? fread(text, 1, BRIDGE_CONFIG_FILE_MAX + 1, f) : 0;
    bool too_big = n > BRIDGE_CONFIG_FILE_MAX, failed = !text || ferror(f) != 0;
    fclose(f);
    if (too_big || failed) {
        snprintf(err, cap, "%s: %s", path, too_big ? "larger than 64 KiB" : "cannot be read");
        free(text);
        return false;
    }
    bool ok = bridge_config_parse(c, text, n, path, err, cap);
    free(text);
    return ok;
}

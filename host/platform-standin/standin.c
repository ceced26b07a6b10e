/*
 * hawiya-platform-standin: the record platform's server as the desk page
 * (examples/desk) needs it, for the tests and the demo; not a product. An
 * HTTP server (libmicrohttpd, optionally over TLS) on a loopback address
 * that
 *   - serves the page's static files,
 *   - issues single-use challenges (32 random bytes, base64url) that live
 *     --challenge-lifetime-ms (default 120 s), at most CHALLENGES_MAX at once,
 *   - verifies an assertion with libhawiya-verify (docs/assertion.md)
 *     against the challenge it names and the platform's own origin, and
 *     consumes that challenge whatever the outcome: a reused, unknown or
 *     expired challenge is refused before any verification.
 *
 *   GET  /api/config     {"bridge":"ws://127.0.0.1:PORT"}   where the page finds the bridge
 *   POST /api/challenge  {"challenge":"B64URL","expires_in_ms":N}
 *   POST /api/verify     the bridge's assertion -> {"verified":true,"identity":{..},
 *                        "reader":{"attested":true,"id":..,"counter":..}}
 *                        or {"verified":false,"error":"CHALLENGE_UNKNOWN" (reused or never
 *                        issued) | "CHALLENGE_EXPIRED" | "HV_ERR_...","message":".."}
 *
 * One thread (the library's polling thread) handles every request, so the
 * challenge table needs no lock; the trust store is read-only once loaded.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>

#include "hawiya-verify.h"

#define CHALLENGE_LEN  32
#define CHALLENGES_MAX 4096
#define FILE_MAX       (1u << 20)
#define BODY_MAX       HV_MAX_ASSERTION

struct challenge {
    uint8_t bytes[CHALLENGE_LEN];
    int64_t expires; /* ms, CLOCK_MONOTONIC; 0 = free slot */
};

struct standin {
    const char *www;
    char origin[300]; /* the platform's own origin, bound into every assertion it accepts */
    char bridge[300];
    uint32_t lifetime_ms;
    bool allow_unattested; /* readers behind PC/SC have no signature of their own */
    struct hv_trust *trust;
    struct challenge ch[CHALLENGES_MAX];
};

/* What one request accumulates: its body, bounded. */
struct req {
    char *body;
    size_t len;
    bool too_big;
};

static int64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void b64url(const uint8_t *in, size_t n, char *out)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) |
                     (i + 2 < n ? in[i + 2] : 0);
        out[o++] = a[v >> 18 & 63];
        out[o++] = a[v >> 12 & 63];
        if (i + 1 < n)
            out[o++] = a[v >> 6 & 63];
        if (i + 2 < n)
            out[o++] = a[v & 63];
    }
    out[o] = '\0';
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, const char *type,
                             const void *body, size_t len, bool api)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    if (api) {
        MHD_add_response_header(r, "Cache-Control", "no-store");
    } else {
        /* The page may talk to its own server and to the bridge on loopback, nothing else. */
        MHD_add_response_header(r, "Content-Security-Policy",
                                "default-src 'self'; connect-src 'self' ws://127.0.0.1:* "
                                "ws://localhost:* ws://[::1]:*; frame-ancestors 'none'; "
                                "base-uri 'none'; form-action 'none'");
        MHD_add_response_header(r, "Cache-Control", "no-cache");
    }
    enum MHD_Result ok = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result reply_json(struct MHD_Connection *conn, unsigned status, cJSON *j)
{
    char *s = j ? cJSON_PrintUnformatted(j) : NULL;
    cJSON_Delete(j);
    if (!s)
        return reply(conn, 500, "text/plain", "out of memory", 13, true);
    enum MHD_Result ok = reply(conn, status, "application/json", s, strlen(s), true);
    free(s);
    return ok;
}

static enum MHD_Result refuse(struct MHD_Connection *conn, unsigned status, const char *error,
                              const char *message)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddFalseToObject(j, "verified");
    cJSON_AddStringToObject(j, "error", error);
    cJSON_AddStringToObject(j, "message", message);
    return reply_json(conn, status, j);
}

/* ---- static files ------------------------------------------------------------ */

static const char *content_type(const char *name)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
    };
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
        if (!strcmp(dot, types[i].ext))
            return types[i].type;
    return NULL;
}

static enum MHD_Result serve_file(struct standin *s, struct MHD_Connection *conn, const char *url)
{
    const char *name = !strcmp(url, "/") ? "index.html" : url + 1;
    /* One path segment of [A-Za-z0-9._-], not starting with '.': nothing outside www. */
    bool ok = name[0] && name[0] != '.' && strlen(name) < 100;
    for (const char *p = name; ok && *p; p++)
        ok = isalnum((unsigned char)*p) || *p == '.' || *p == '_' || *p == '-';
    const char *type = ok ? content_type(name) : NULL;
    char path[512];
    snprintf(path, sizeof path, "%s/%s", s->www, name);
    int fd = type ? open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) : -1;
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > FILE_MAX) {
        if (fd >= 0)
            close(fd);
        return reply(conn, 404, "text/plain", "not found", 9, false);
    }
    char *buf = malloc((size_t)st.st_size + 1);
    ssize_t n = buf ? read(fd, buf, (size_t)st.st_size) : -1;
    close(fd);
    enum MHD_Result r = n == st.st_size ? reply(conn, 200, type, buf, (size_t)n, false)
                                        : reply(conn, 500, "text/plain", "read error", 10, false);
    free(buf);
    return r;
}

/* ---- challenges ---------------------------------------------------------------- */

static enum MHD_Result new_challenge(struct standin *s, struct MHD_Connection *conn)
{
    int64_t now = now_ms();
    struct challenge *slot = NULL;
    for (size_t i = 0; i < CHALLENGES_MAX && !slot; i++)
        if (s->ch[i].expires <= now)
            slot = &s->ch[i]; /* free, or expired: reusable */
    if (!slot)
        return refuse(conn, 503, "BUSY", "too many challenges outstanding");
    if (getrandom(slot->bytes, CHALLENGE_LEN, 0) != CHALLENGE_LEN)
        return refuse(conn, 500, "INTERNAL", "no randomness");
    slot->expires = now + s->lifetime_ms;
    char b64[64];
    b64url(slot->bytes, CHALLENGE_LEN, b64);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "challenge", b64);
    cJSON_AddNumberToObject(j, "expires_in_ms", s->lifetime_ms);
    return reply_json(conn, 200, j);
}

/* Finds the challenge an assertion names and consumes it (single use);
 * NULL, or the refusal's code with its HTTP status and words. */
static const char *take_challenge(struct standin *s, const char *b64, uint8_t out[CHALLENGE_LEN],
                                  unsigned *status, const char **words)
{
    uint8_t c[HV_CHALLENGE_MAX];
    size_t n = 0;
    *status = 409;
    *words = "the challenge was already used, or never issued by this server";
    if (hv_base64url_decode(b64, strlen(b64), c, sizeof c, &n) != HV_OK || n != CHALLENGE_LEN)
        return "CHALLENGE_UNKNOWN";
    int64_t now = now_ms();
    for (size_t i = 0; i < CHALLENGES_MAX; i++) {
        struct challenge *ch = &s->ch[i];
        if (!ch->expires || memcmp(ch->bytes, c, CHALLENGE_LEN))
            continue;
        bool expired = ch->expires <= now;
        memcpy(out, ch->bytes, CHALLENGE_LEN);
        memset(ch, 0, sizeof *ch);
        if (!expired)
            return NULL;
        *status = 410;
        *words = "the challenge expired: start again";
        return "CHALLENGE_EXPIRED";
    }
    return "CHALLENGE_UNKNOWN";
}

static enum MHD_Result verify(struct standin *s, struct MHD_Connection *conn, const struct req *q)
{
    if (q->too_big)
        return refuse(conn, 413, "TOO_LARGE", "an assertion is at most 1 MiB");
    cJSON *a = cJSON_ParseWithLength(q->body ? q->body : "", q->len);
    const cJSON *ch = cJSON_GetObjectItemCaseSensitive(a, "challenge");
    if (!cJSON_IsString(ch)) {
        cJSON_Delete(a);
        return refuse(conn, 400, "HV_ERR_FORMAT", "not an assertion");
    }
    uint8_t challenge[CHALLENGE_LEN];
    unsigned status;
    const char *words;
    const char *refused = take_challenge(s, ch->valuestring, challenge, &status, &words);
    cJSON_Delete(a);
    if (refused)
        return refuse(conn, status, refused, words);

    struct hv_options opt = {
        .trust = s->trust,
        .challenge = challenge,
        .challenge_len = CHALLENGE_LEN,
        .origin = s->origin,
        .allow_unattested = s->allow_unattested,
    };
    struct hv_result res;
    memset(&res, 0, sizeof res);
    if (hv_time_now(&opt.now) != HV_OK)
        return refuse(conn, 500, "INTERNAL", "no clock");
    enum hv_err e = hv_verify(q->body, q->len, &opt, &res);
    if (e != HV_OK) {
        fprintf(stderr, "standin: verify: %s: %s\n", hv_err_str(e), res.message);
        enum MHD_Result r = refuse(conn, 422, hv_err_str(e), res.message);
        hv_result_free(&res);
        return r;
    }
    cJSON *j = cJSON_CreateObject();
    cJSON_AddTrueToObject(j, "verified");
    cJSON_AddItemToObject(j, "identity", cJSON_Parse(res.identity_json));
    cJSON *r = cJSON_AddObjectToObject(j, "reader");
    cJSON_AddBoolToObject(r, "attested", res.attested);
    if (res.attested) {
        cJSON_AddStringToObject(r, "id", res.reader_id);
        /* As its digits: cJSON prints 2^53 - 1 as 9.00719925474099e+15. */
        char digits[24];
        snprintf(digits, sizeof digits, "%llu", (unsigned long long)res.counter);
        cJSON_AddItemToObject(r, "counter", cJSON_CreateRaw(digits));
    }
    hv_result_free(&res);
    return reply_json(conn, 200, j);
}

/* ---- HTTP ---------------------------------------------------------------------------- */

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_len, void **ctx)
{
    struct standin *s = cls;
    (void)version;
    bool post = !strcmp(method, "POST");
    if (!*ctx) {
        struct req *q = calloc(1, sizeof *q);
        if (!q)
            return MHD_NO;
        *ctx = q;
        return MHD_YES; /* headers only so far */
    }
    struct req *q = *ctx;
    if (post && *upload_len) {
        if (q->len + *upload_len > BODY_MAX) {
            q->too_big = true;
        } else {
            char *p = realloc(q->body, q->len + *upload_len + 1);
            if (!p)
                return MHD_NO;
            q->body = p;
            memcpy(q->body + q->len, upload, *upload_len);
            q->len += *upload_len;
        }
        *upload_len = 0;
        return MHD_YES;
    }
    if (!strcmp(method, "GET") && !strcmp(url, "/api/config")) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "bridge", s->bridge);
        cJSON_AddStringToObject(j, "origin", s->origin);
        return reply_json(conn, 200, j);
    }
    if (post && !strcmp(url, "/api/challenge"))
        return new_challenge(s, conn);
    if (post && !strcmp(url, "/api/verify"))
        return verify(s, conn, q);
    if (!strcmp(method, "GET") || !strcmp(method, "HEAD"))
        return serve_file(s, conn, url);
    return reply(conn, 405, "text/plain", "method not allowed", 18, true);
}

static void completed(void *cls, struct MHD_Connection *conn, void **ctx,
                      enum MHD_RequestTerminationCode code)
{
    (void)cls, (void)conn, (void)code;
    struct req *q = *ctx;
    if (q) {
        free(q->body);
        free(q);
    }
    *ctx = NULL;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = calloc(1, 65537);
    size_t n = buf ? fread(buf, 1, 65536, f) : 0;
    fclose(f);
    if (buf && n == 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

static int usage(void)
{
    fprintf(stderr,
            "usage: hawiya-platform-standin --listen 127.0.0.1:PORT|[::1]:PORT --www DIR\n"
            "         --csca DIR --reader-ca FILE --bridge ws://127.0.0.1:PORT\n"
            "         [--cert PEM --key PEM] [--origin ORIGIN] [--challenge-lifetime-ms N]\n"
            "         [--allow-unattested]   accept readers without a signature of their own\n");
    return 2;
}

int main(int argc, char **argv)
{
    static struct standin s;
    const char *listen = NULL, *csca = NULL, *reader_ca = NULL, *cert = NULL, *key = NULL,
               *origin = NULL;
    s.lifetime_ms = 120000;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--allow-unattested")) {
            s.allow_unattested = true;
            continue;
        }
        if (!v)
            return usage();
        i++;
        if (!strcmp(a, "--listen"))
            listen = v;
        else if (!strcmp(a, "--www"))
            s.www = v;
        else if (!strcmp(a, "--csca"))
            csca = v;
        else if (!strcmp(a, "--reader-ca"))
            reader_ca = v;
        else if (!strcmp(a, "--bridge"))
            snprintf(s.bridge, sizeof s.bridge, "%s", v);
        else if (!strcmp(a, "--cert"))
            cert = v;
        else if (!strcmp(a, "--key"))
            key = v;
        else if (!strcmp(a, "--origin"))
            origin = v;
        else if (!strcmp(a, "--challenge-lifetime-ms"))
            s.lifetime_ms = (uint32_t)strtoul(v, NULL, 10);
        else
            return usage();
    }
    if (!listen || !s.www || !csca || !reader_ca || !s.bridge[0] || !s.lifetime_ms || !cert != !key)
        return usage();

    /* Loopback only: it is a stand-in for tests and the demo. */
    struct sockaddr_in a4 = {.sin_family = AF_INET};
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6};
    const char *colon = strrchr(listen, ':');
    unsigned long port = colon ? strtoul(colon + 1, NULL, 10) : 0;
    bool v6 = !strncmp(listen, "[::1]:", 6);
    if (!port || port > 65535 || (!v6 && strncmp(listen, "127.0.0.1:", 10))) {
        fprintf(stderr, "standin: --listen must be 127.0.0.1:PORT or [::1]:PORT\n");
        return 2;
    }
    a4.sin_port = a6.sin6_port = htons((uint16_t)port);
    a4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a6.sin6_addr = in6addr_loopback;
    if (origin)
        snprintf(s.origin, sizeof s.origin, "%s", origin);
    else
        snprintf(s.origin, sizeof s.origin, "%s://%s", cert ? "https" : "http", listen);

    char msg[256];
    s.trust = hv_trust_new();
    if (!s.trust || hv_trust_load_csca_dir(s.trust, csca, msg, sizeof msg) != HV_OK ||
        hv_trust_load_reader_ca_file(s.trust, reader_ca, msg, sizeof msg) != HV_OK) {
        fprintf(stderr, "standin: trust: %s\n", msg);
        return 1;
    }

    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG | (v6 ? MHD_USE_IPv6 : 0);
    char *cert_pem = NULL, *key_pem = NULL;
    if (cert) {
        cert_pem = slurp(cert);
        key_pem = slurp(key);
        if (!cert_pem || !key_pem || MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
            fprintf(stderr, "standin: cannot serve TLS with %s / %s\n", cert, key);
            return 1;
        }
        flags |= MHD_USE_TLS;
    }
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL); /* before the library's thread starts */

    struct MHD_Daemon *d;
    const struct sockaddr *sa = v6 ? (const struct sockaddr *)&a6 : (const struct sockaddr *)&a4;
    if (cert)
        d = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, handle, &s, MHD_OPTION_SOCK_ADDR,
                             sa, MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
                             MHD_OPTION_HTTPS_MEM_CERT, cert_pem, MHD_OPTION_HTTPS_MEM_KEY, key_pem,
                             MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
    else
        d = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, handle, &s, MHD_OPTION_SOCK_ADDR,
                             sa, MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
                             MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "standin: cannot listen on %s: %s\n", listen, strerror(errno));
        return 1;
    }
    fprintf(stderr, "standin: serving %s as %s, bridge %s\n", s.www, s.origin, s.bridge);
    int sig;
    sigwait(&stop, &sig);
    MHD_stop_daemon(d);
    hv_trust_free(s.trust);
    free(cert_pem);
    free(key_pem);
    return 0;
}

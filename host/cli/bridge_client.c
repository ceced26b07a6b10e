#include "bridge_client.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "config.h"
#include "hawiya/wipe.h"

#define LINE_MAX_BYTES (4u << 20)

bool bridge_client_open(struct bridge_client *bc, const char *path)
{
    char def[BRIDGE_PATH_MAX];
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    memset(bc, 0, sizeof *bc);
    bc->fd = -1;
    if (!path) {
        bridge_default_socket(def, sizeof def);
        path = def;
    }
    if (strlen(path) >= sizeof a.sun_path) {
        fprintf(stderr, "hawiya: socket path too long\n");
        return false;
    }
    memcpy(a.sun_path, path, strlen(path) + 1);
    bc->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (bc->fd < 0 || connect(bc->fd, (struct sockaddr *)&a, sizeof a) < 0) {
        fprintf(stderr, "hawiya: cannot reach the bridge at %s: %s\n", path, strerror(errno));
        bridge_client_close(bc);
        return false;
    }
    return true;
}

void bridge_client_close(struct bridge_client *bc)
{
    if (bc->fd >= 0)
        close(bc->fd);
    free(bc->buf);
    memset(bc, 0, sizeof *bc);
    bc->fd = -1;
}

bool bridge_client_send(struct bridge_client *bc, const char *method, cJSON *params)
{
    cJSON *req = cJSON_CreateObject();
    cJSON_AddNumberToObject(req, "id", 1);
    cJSON_AddStringToObject(req, "method", method);
    if (params)
        cJSON_AddItemToObject(req, "params", params);
    char *s = cJSON_PrintUnformatted(req);
    /* The secrets' copies in the tree: the CAN and the MRZ fields. */
    cJSON *can = params ? cJSON_GetObjectItemCaseSensitive(params, "can") : NULL;
    if (cJSON_IsString(can) && can->valuestring)
        wipe(can->valuestring, strlen(can->valuestring));
    cJSON *mrz = params ? cJSON_GetObjectItemCaseSensitive(params, "mrz") : NULL;
    for (cJSON *f = mrz ? mrz->child : NULL; f; f = f->next)
        if (cJSON_IsString(f) && f->valuestring)
            wipe(f->valuestring, strlen(f->valuestring));
    cJSON_Delete(req);
    if (!s)
        return false;
    size_t n = strlen(s);
    s[n] = '\n'; /* overwrites the NUL: send n + 1 bytes, no string use after */
    bool ok = true;
    for (size_t off = 0; ok && off < n + 1;) {
        ssize_t w = send(bc->fd, s + off, n + 1 - off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        ok = w > 0;
        off += ok ? (size_t)w : 0;
    }
    wipe(s, n + 1); /* the request may hold a CAN or an MRZ */
    free(s);
    return ok;
}

cJSON *bridge_client_next(struct bridge_client *bc)
{
    for (;;) {
        char *nl = bc->len ? memchr(bc->buf, '\n', bc->len) : NULL;
        if (nl) {
            size_t n = (size_t)(nl - bc->buf);
            cJSON *j = cJSON_ParseWithLength(bc->buf, n);
            memmove(bc->buf, nl + 1, bc->len - n - 1);
            bc->len -= n + 1;
            return j;
        }
        if (bc->len == bc->cap) {
            if (bc->cap >= LINE_MAX_BYTES)
                return NULL;
            size_t cap = bc->cap ? bc->cap * 2 : 4096;
            char *p = realloc(bc->buf, cap);
            if (!p)
                return NULL;
            bc->buf = p;
            bc->cap = cap;
        }
        ssize_t k = read(bc->fd, bc->buf + bc->len, bc->cap - bc->len);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return NULL;
        bc->len += (size_t)k;
    }
}

static void print_json(FILE *f, const cJSON *j)
{
    char *s = cJSON_PrintUnformatted(j);
    if (s) {
        fprintf(f, "%s\n", s);
        fflush(f);
    }
    free(s);
}

static void print_event(const cJSON *ev, void *ctx)
{
    print_json(ctx, ev);
}

int bridge_client_call(const char *path, const char *method, cJSON *params, FILE *events)
{
    return bridge_client_call_ex(path, method, params, events ? print_event : NULL, events);
}

int bridge_client_call_ex(const char *path, const char *method, cJSON *params,
                          void (*on_event)(const cJSON *ev, void *ctx), void *ctx)
{
    struct bridge_client bc;
    if (!bridge_client_open(&bc, path)) {
        cJSON_Delete(params);
        return 2;
    }
    int rc = 2;
    if (!bridge_client_send(&bc, method, params)) {
        fprintf(stderr, "hawiya: cannot send to the bridge\n");
        goto out;
    }
    for (;;) {
        cJSON *j = bridge_client_next(&bc);
        if (!j) {
            fprintf(stderr, "hawiya: the bridge closed the connection\n");
            goto out;
        }
        const cJSON *res = cJSON_GetObjectItemCaseSensitive(j, "result");
        const cJSON *err = cJSON_GetObjectItemCaseSensitive(j, "error");
        if (cJSON_GetObjectItemCaseSensitive(j, "event")) {
            if (on_event)
                on_event(j, ctx);
        } else if (res || err) {
            print_json(stdout, res ? res : err);
            rc = res ? 0 : 1;
            cJSON_Delete(j);
            goto out;
        }
        cJSON_Delete(j);
    }
out:
    bridge_client_close(&bc);
    return rc;
}

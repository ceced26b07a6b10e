/*
 * `hawiya auth --challenge B64URL --origin URL [--can N|-]
 * [--mrz DOCNO,YYMMDD,YYMMDD|-] [--reader NAME] [--timeout-ms N]
 * [--socket PATH]`: asks hawiya-bridge to authenticate the
 * card holder (docs/bridge-protocol.md, "authenticate"). Progress goes to
 * stderr, one readable line per step with its times (`--events json`: the
 * raw event lines); the assertion (exit 0) or the error object (exit 1) to
 * stdout.
 * `--can -` reads the CAN from stdin, which keeps it out of the process
 * list (given as an argument, it is wiped from the arguments at once); the
 * copy here is kept in a page of its own that no core dump includes, read
 * without stdio's buffers, and wiped once sent, before the wait for the
 * answer. The wait checks that the bridge is alive and ends at the
 * authenticate's timeout plus BRIDGE_CLIENT_GRACE_MS. `--mrz` gives the
 * document number, birth date and expiry date printed on a BAC-only
 * document (the bridge computes the check digits); `--mrz -` reads them
 * from stdin, after the CAN when both come that way.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include "bridge_client.h"
#include "commands.h"
#include "harden.h"
#include "hawiya/wipe.h"
#include "request.h"

static int usage(void)
{
    fprintf(stderr, "usage: hawiya auth %s\n", CLI_AUTH_USAGE);
    return 2;
}

static double num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

/* "  pace         38.2 ms  (line 3.1 ms, reader CPU 0.9 ms, 5 APDUs)", or for a
 * session the bridge runs itself (a plain PC/SC reader)
 * "  pace         12.0 ms  (bridge CPU 4.1 ms, 5 APDUs, 5 PC/SC calls)" */
static void print_progress(const cJSON *ev, void *ctx)
{
    FILE *f = ctx;
    const cJSON *step = cJSON_GetObjectItemCaseSensitive(ev, "step");
    const cJSON *detail = cJSON_GetObjectItemCaseSensitive(ev, "detail");
    if (!cJSON_IsString(step))
        return;
    if (num(ev, "elapsed_ms") < 0) {
        fprintf(f, "  %-12s\n", step->valuestring);
        return;
    }
    if (num(ev, "bridge_cpu_ms") >= 0) {
        fprintf(f, "  %-12s %8.1f ms  (bridge CPU %.2f ms, %d APDU%s, %d PC/SC call%s)%s%s\n",
                step->valuestring, num(ev, "elapsed_ms"), num(ev, "bridge_cpu_ms"),
                (int)num(ev, "apdus"), num(ev, "apdus") == 1 ? "" : "s", (int)num(ev, "pcsc_calls"),
                num(ev, "pcsc_calls") == 1 ? "" : "s", cJSON_IsString(detail) ? "  " : "",
                cJSON_IsString(detail) ? detail->valuestring : "");
        fflush(f);
        return;
    }
    fprintf(f, "  %-12s %8.1f ms  (line %.1f ms, reader CPU %.2f ms, %d APDU%s)%s%s\n",
            step->valuestring, num(ev, "elapsed_ms"), num(ev, "line_ms"), num(ev, "reader_cpu_ms"),
            (int)num(ev, "apdus"), num(ev, "apdus") == 1 ? "" : "s",
            cJSON_IsString(detail) ? "  " : "", cJSON_IsString(detail) ? detail->valuestring : "");
    fflush(f);
}

/* --events json: the event line as it came. */
static void json_event(const cJSON *ev, void *ctx)
{
    char *s = cJSON_PrintUnformatted(ev);
    if (s) {
        fprintf(ctx, "%s\n", s);
        fflush(ctx);
    }
    free(s);
}

/* The value itself (then wiped from the arguments), or with "-" a line of
 * stdin, read a byte at a time so no stdio buffer keeps a copy. */
static bool secret_arg(char *v, char *out, size_t cap)
{
    if (strcmp(v, "-")) {
        size_t n = strlen(v);
        bool fits = n < cap;
        if (fits)
            memcpy(out, v, n + 1);
        wipe(v, n); /* out of /proc/PID/cmdline too */
        return fits;
    }
    size_t n = 0;
    for (;;) {
        char c;
        ssize_t k = read(STDIN_FILENO, &c, 1);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0 || c == '\n')
            break;
        if (n + 1 >= cap) {
            wipe(&c, 1);
            return false;
        }
        out[n++] = c;
    }
    while (n > 0 && out[n - 1] == '\r')
        n--;
    out[n] = '\0';
    return n > 0;
}

struct secrets {
    char can[16], mrz[96];
};

int cmd_auth(int argc, char **argv)
{
    const char *path = NULL, *challenge = NULL, *origin = NULL, *reader = NULL;
    bool json_events = false;
    long timeout = 0;
    int rc = 2;
    struct secrets *sec = secret_alloc(sizeof *sec);
    if (!sec) {
        fprintf(stderr, "hawiya: out of memory\n");
        return 2;
    }
    char *can = sec->can, *mrz = sec->mrz;
    for (int i = 1; i < argc; i++) {
        char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            goto usage;
        i++;
        if (!strcmp(a, "--socket")) {
            path = v;
        } else if (!strcmp(a, "--challenge")) {
            challenge = v;
        } else if (!strcmp(a, "--origin")) {
            origin = v;
        } else if (!strcmp(a, "--events")) {
            if (strcmp(v, "json") && strcmp(v, "text"))
                goto usage;
            json_events = !strcmp(v, "json");
        } else if (!strcmp(a, "--reader")) {
            reader = v;
        } else if (!strcmp(a, "--timeout-ms")) {
            if (!cli_int_arg(v, 1, BRIDGE_TIMEOUT_MAX_MS, &timeout))
                goto usage;
        } else if (!strcmp(a, "--mrz")) {
            if (!secret_arg(v, mrz, sizeof sec->mrz))
                goto usage;
        } else if (!strcmp(a, "--can")) {
            if (!secret_arg(v, can, sizeof sec->can))
                goto usage;
        } else {
            goto usage;
        }
    }
    /* DOCNO,YYMMDD,YYMMDD: three comma-separated fields, none empty. */
    char *field[3] = {NULL, NULL, NULL};
    if (mrz[0]) {
        char *f = mrz;
        for (size_t k = 0; k < 3; k++) {
            field[k] = f;
            f = k < 2 ? strchr(f, ',') : NULL;
            if (k < 2 && !f)
                break;
            if (f)
                *f++ = '\0';
        }
        if (!field[2] || strchr(field[2], ',') || !*field[0] || !*field[1] || !*field[2])
            goto usage;
    }
    if (!challenge || !origin)
        goto usage;
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "challenge", challenge);
    cJSON_AddStringToObject(p, "origin", origin);
    if (reader)
        cJSON_AddStringToObject(p, "reader", reader);
    if (timeout)
        cJSON_AddNumberToObject(p, "timeout_ms", (double)timeout);
    if (can[0])
        cJSON_AddStringToObject(p, "can", can); /* cJSON's copy is wiped by bridge_client_send */
    if (mrz[0]) {
        cJSON *m = cJSON_AddObjectToObject(p, "mrz");
        cJSON_AddStringToObject(m, "document_number", field[0]);
        cJSON_AddStringToObject(m, "birth_date", field[1]);
        cJSON_AddStringToObject(m, "expiry_date", field[2]);
    }
    secret_free(sec, sizeof *sec); /* wiped: the tree's copies go when it is sent */
    sec = NULL;
    /* The bridge answers by the request's timeout (its configured default is
     * at most the protocol's maximum); a little more, and no more. */
    int wait = (int)(timeout ? timeout : BRIDGE_TIMEOUT_MAX_MS) + BRIDGE_CLIENT_GRACE_MS;
    if (json_events)
        return bridge_client_call_ex(path, "authenticate", p, json_event, stderr, wait, true);
    return bridge_client_call_ex(path, "authenticate", p, print_progress, stderr, wait, true);
usage:
    rc = usage();
    secret_free(sec, sizeof *sec);
    return rc;
}

/*
 * `hawiya auth --challenge B64URL --origin URL [--can N|-]
 * [--mrz DOCNO,YYMMDD,YYMMDD|-] [--reader NAME] [--timeout-ms N]
 * [--socket PATH]`: asks hawiya-bridge to authenticate the
 * card holder (docs/bridge-protocol.md, "authenticate"). Progress goes to
 * stderr, one readable line per step with its times (`--events json`: the
 * raw event lines); the assertion (exit 0) or the error object (exit 1) to
 * stdout.
 * `--can -` reads the CAN from stdin, which keeps it out of the process
 * list; either way the copy here is wiped once sent. `--mrz` gives the
 * document number, birth date and expiry date printed on a BAC-only
 * document (the bridge computes the check digits); `--mrz -` reads them
 * from stdin, after the CAN when both come that way.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge_client.h"
#include "commands.h"
#include "hawiya/wipe.h"

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

/* The value itself, or with "-" a line of stdin (out of the process list). */
static bool secret_arg(const char *v, char *out, size_t cap)
{
    if (strcmp(v, "-")) {
        snprintf(out, cap, "%s", v);
        return true;
    }
    if (!fgets(out, (int)cap, stdin))
        return false;
    out[strcspn(out, "\r\n")] = '\0';
    return true;
}

int cmd_auth(int argc, char **argv)
{
    const char *path = NULL, *challenge = NULL, *origin = NULL, *reader = NULL;
    bool json_events = false;
    char can[16] = "", mrz[96] = "";
    long timeout = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            return usage();
        i++;
        if (!strcmp(a, "--socket")) {
            path = v;
        } else if (!strcmp(a, "--challenge")) {
            challenge = v;
        } else if (!strcmp(a, "--origin")) {
            origin = v;
        } else if (!strcmp(a, "--events")) {
            if (strcmp(v, "json") && strcmp(v, "text"))
                return usage();
            json_events = !strcmp(v, "json");
        } else if (!strcmp(a, "--reader")) {
            reader = v;
        } else if (!strcmp(a, "--timeout-ms")) {
            char *end;
            timeout = strtol(v, &end, 10);
            if (*end || timeout < 1)
                return usage();
        } else if (!strcmp(a, "--mrz")) {
            if (!secret_arg(v, mrz, sizeof mrz))
                return usage();
        } else if (!strcmp(a, "--can")) {
            if (!secret_arg(v, can, sizeof can))
                return usage();
        } else {
            return usage();
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
        if (!field[2] || strchr(field[2], ',') || !*field[0] || !*field[1] || !*field[2]) {
            wipe(mrz, sizeof mrz);
            wipe(can, sizeof can);
            return usage();
        }
    }
    if (!challenge || !origin) {
        wipe(mrz, sizeof mrz);
        wipe(can, sizeof can);
        return usage();
    }
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "challenge", challenge);
    cJSON_AddStringToObject(p, "origin", origin);
    if (reader)
        cJSON_AddStringToObject(p, "reader", reader);
    if (timeout)
        cJSON_AddNumberToObject(p, "timeout_ms", (double)timeout);
    if (can[0]) {
        cJSON_AddStringToObject(p, "can", can);
        wipe(can, sizeof can); /* cJSON's copy is wiped by bridge_client_send */
    }
    if (mrz[0]) {
        cJSON *m = cJSON_AddObjectToObject(p, "mrz");
        cJSON_AddStringToObject(m, "document_number", field[0]);
        cJSON_AddStringToObject(m, "birth_date", field[1]);
        cJSON_AddStringToObject(m, "expiry_date", field[2]);
        wipe(mrz, sizeof mrz); /* and these copies too */
    }
    if (json_events)
        return bridge_client_call(path, "authenticate", p, stderr);
    return bridge_client_call_ex(path, "authenticate", p, print_progress, stderr);
}

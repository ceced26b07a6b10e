/*
 * `hawiya auth --challenge B64URL --origin URL [--can N|-] [--reader NAME]
 * [--timeout-ms N] [--socket PATH]`: asks hawiya-bridge to authenticate the
 * card holder (docs/bridge-protocol.md, "authenticate"). Progress events go
 * to stderr; the assertion (exit 0) or the error object (exit 1) to stdout.
 * `--can -` reads the CAN from stdin, which keeps it out of the process
 * list; either way the copy here is wiped once sent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge_client.h"
#include "commands.h"
#include "hawiya/wipe.h"

static int usage(void)
{
    fprintf(stderr, "usage: hawiya auth --challenge B64URL --origin URL [--can N|-] "
                    "[--reader NAME] [--timeout-ms N] [--socket PATH]\n");
    return 2;
}

int cmd_auth(int argc, char **argv)
{
    const char *path = NULL, *challenge = NULL, *origin = NULL, *reader = NULL;
    char can[16] = "";
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
        } else if (!strcmp(a, "--reader")) {
            reader = v;
        } else if (!strcmp(a, "--timeout-ms")) {
            char *end;
            timeout = strtol(v, &end, 10);
            if (*end || timeout < 1)
                return usage();
        } else if (!strcmp(a, "--can")) {
            if (!strcmp(v, "-")) {
                if (!fgets(can, sizeof can, stdin))
                    return usage();
                can[strcspn(can, "\r\n")] = '\0';
            } else {
                snprintf(can, sizeof can, "%s", v);
            }
        } else {
            return usage();
        }
    }
    if (!challenge || !origin)
        return usage();
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
    return bridge_client_call(path, "authenticate", p, stderr);
}

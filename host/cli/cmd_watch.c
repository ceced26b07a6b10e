/*
 * `hawiya watch [--socket PATH] [--count N]`: subscribes to hawiya-bridge's
 * events (reader_added, reader_removed, card_inserted, card_removed,
 * progress; docs/bridge-protocol.md) and prints each as one JSON line, until
 * the bridge goes away, stops answering (a liveness check every
 * BRIDGE_CLIENT_PING_MS of silence), or N events were printed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge_client.h"
#include "commands.h"

int cmd_watch(int argc, char **argv)
{
    const char *path = NULL;
    long count = -1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--socket") && i + 1 < argc) {
            path = argv[++i];
        } else if (!strcmp(argv[i], "--count") && i + 1 < argc &&
                   cli_int_arg(argv[++i], 1, 1000000000, &count)) {
            continue;
        } else {
            fprintf(stderr, "usage: hawiya watch [--socket PATH] [--count N]\n");
            return 2;
        }
    }
    struct bridge_client bc;
    if (!bridge_client_open(&bc, path, BRIDGE_CLIENT_TIMEOUT_MS))
        return 2;
    /* The subscription is answered within the usual time; events take what they take. */
    bc.deadline = bridge_client_now_ms() + BRIDGE_CLIENT_TIMEOUT_MS;
    bc.keepalive = true;
    int rc = 2;
    if (!bridge_client_send(&bc, "subscribe", NULL)) {
        bridge_client_report(&bc);
        goto out;
    }
    for (;;) {
        cJSON *j = bridge_client_next(&bc);
        if (!j)
            break;
        if (cJSON_GetObjectItemCaseSensitive(j, "result"))
            bc.deadline = 0;
        if (cJSON_GetObjectItemCaseSensitive(j, "error")) {
            char *s = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(j, "error"));
            printf("%s\n", s ? s : "{}");
            free(s);
            cJSON_Delete(j);
            rc = 1;
            goto out;
        }
        if (cJSON_GetObjectItemCaseSensitive(j, "event")) {
            char *s = cJSON_PrintUnformatted(j);
            printf("%s\n", s ? s : "{}");
            fflush(stdout);
            free(s);
            if (count > 0 && --count == 0) {
                cJSON_Delete(j);
                rc = 0;
                goto out;
            }
        }
        cJSON_Delete(j);
    }
    bridge_client_report(&bc);
out:
    bridge_client_close(&bc);
    return rc;
}

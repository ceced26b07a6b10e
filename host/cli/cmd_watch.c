/*
 * `hawiya watch [--socket PATH] [--count N]`: subscribes to hawiya-bridge's
 * events (reader_added, reader_removed, card_inserted, card_removed,
 * progress; docs/bridge-protocol.md) and prints each as one JSON line, until
 * the bridge goes away or N events were printed.
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
        } else if (!strcmp(argv[i], "--count") && i + 1 < argc) {
            char *end;
            count = strtol(argv[++i], &end, 10);
            if (*end || count < 1)
                count = 0;
        } else {
            count = 0;
        }
        if (count == 0) {
            fprintf(stderr, "usage: hawiya watch [--socket PATH] [--count N]\n");
            return 2;
        }
    }
    struct bridge_client bc;
    if (!bridge_client_open(&bc, path))
        return 2;
    int rc = 1;
    if (!bridge_client_send(&bc, "subscribe", NULL)) {
        fprintf(stderr, "hawiya: cannot send to the bridge\n");
        goto out;
    }
    for (;;) {
        cJSON *j = bridge_client_next(&bc);
        if (!j)
            break;
        if (cJSON_GetObjectItemCaseSensitive(j, "error")) {
            char *s = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(j, "error"));
            printf("%s\n", s ? s : "{}");
            free(s);
            cJSON_Delete(j);
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
    fprintf(stderr, "hawiya: the bridge closed the connection\n");
out:
    bridge_client_close(&bc);
    return rc;
}

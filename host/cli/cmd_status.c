/*
 * `hawiya status [--socket PATH]`: asks hawiya-bridge for its `status` answer
 * (docs/bridge-protocol.md) and prints the result as one JSON line; exit 1
 * with the error object when the bridge refuses, 2 when it cannot be reached.
 */
#include <stdio.h>
#include <string.h>

#include "bridge_client.h"
#include "commands.h"

int cmd_status(int argc, char **argv)
{
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--socket") && i + 1 < argc) {
            path = argv[++i];
        } else {
            fprintf(stderr, "usage: hawiya status [--socket PATH]\n");
            return 2;
        }
    }
    return bridge_client_call(path, "status", NULL, NULL);
}

/*
 * `hawiya status [--socket PATH] [--timeout-ms N]`: asks hawiya-bridge for
 * its `status` answer (docs/bridge-protocol.md) and prints the result as one
 * JSON line; exit 1 with the error object when the bridge refuses, 2 when it
 * cannot be reached or does not answer within N ms (default 10000).
 */
#include "bridge_client.h"
#include "commands.h"

int cmd_status(int argc, char **argv)
{
    const char *path = NULL;
    int timeout = BRIDGE_CLIENT_TIMEOUT_MS;
    if (!cli_socket_args(argc, argv, &path, &timeout, "status"))
        return 2;
    return bridge_client_call(path, "status", NULL, NULL, timeout);
}

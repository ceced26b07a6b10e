/*
 * `hawiya readers [--socket PATH] [--timeout-ms N]`: the readers hawiya-bridge
 * sees (docs/bridge-protocol.md, "readers"), as one JSON line; exit 2 when the
 * bridge cannot be reached or does not answer within N ms (default 10000).
 */
#include "bridge_client.h"
#include "commands.h"

int cmd_readers(int argc, char **argv)
{
    const char *path = NULL;
    int timeout = BRIDGE_CLIENT_TIMEOUT_MS;
    if (!cli_socket_args(argc, argv, &path, &timeout, "readers"))
        return 2;
    return bridge_client_call(path, "readers", NULL, NULL, timeout);
}

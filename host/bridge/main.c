/* hawiya-bridge: the host daemon (docs/bridge-protocol.md). */
#include <stdio.h>
#include <string.h>

#include "bridge.h"
#include "config.h"
#include "harden.h"

static int usage(FILE *f)
{
    fprintf(f,
            "usage: hawiya-bridge [--config FILE] [--socket PATH] [--reader sim:NAME:PATH]...\n"
            "  --config FILE   key = value settings (default /etc/hawiya/bridge.conf)\n"
            "  --socket PATH   the client socket (default /run/hawiya/bridge.sock for root,\n"
            "                  else $XDG_RUNTIME_DIR/hawiya/bridge.sock)\n"
            "  --reader SPEC   a reader, repeatable: sim:NAME:PATH (the sim board's host socket)\n"
            "                  or usb:NAME:VID:PID[:SERIAL] (our reader over libusb)\n");
    return f == stderr ? 2 : 0;
}

int main(int argc, char **argv)
{
    static struct bridge_config cfg;
    const char *config = "/etc/hawiya/bridge.conf", *socket = NULL;
    bool config_given = false;
    char err[256];

    /* CANs and MRZs pass through: no core dump, no ptrace by our own user,
     * and every cJSON block wiped when freed (host/posix/harden.h). */
    if (!harden_process()) {
        fprintf(stderr, "hawiya-bridge: cannot turn core dumps off\n");
        return 1;
    }
    harden_cjson();

    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
            return usage(stdout);
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], "--config")) {
            config = argv[i + 1];
            config_given = true;
        }
    bridge_config_defaults(&cfg);
    if (!bridge_config_load(&cfg, config, config_given, err, sizeof err)) {
        fprintf(stderr, "hawiya-bridge: %s\n", err);
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            return usage(stderr);
        i++;
        if (!strcmp(a, "--config"))
            continue;
        if (!strcmp(a, "--socket"))
            socket = v;
        else if (!strcmp(a, "--reader")) {
            if (!bridge_config_add_reader(&cfg, v, err, sizeof err)) {
                fprintf(stderr, "hawiya-bridge: %s\n", err);
                return 2;
            }
        } else
            return usage(stderr);
    }
    if (socket && !bridge_config_set(&cfg, "socket", socket, err, sizeof err)) {
        fprintf(stderr, "hawiya-bridge: %s\n", err);
        return 2;
    }
    return bridge_run(&cfg);
}

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "harden.h"

static const struct cli_command commands[] = {
    {"version", "", cmd_version},
    {"atr", "HEX... | -   (decode ATRs, one JSON line each)", cmd_atr},
    {"mrz", "'LINE1' 'LINE2' ['LINE3']   (TD1/TD2/TD3 fields, check digits, BAC keys)", cmd_mrz},
    {"status", "[--socket PATH] [--timeout-ms N]   (hawiya-bridge's status)", cmd_status},
    {"readers", "[--socket PATH] [--timeout-ms N]   (readers seen by hawiya-bridge)", cmd_readers},
    {"watch", "[--socket PATH] [--count N]   (hawiya-bridge events, one JSON line each)",
     cmd_watch},
    {"auth", CLI_AUTH_USAGE, cmd_auth},
    {"verify", CLI_VERIFY_USAGE, cmd_verify},
};

bool cli_int_arg(const char *v, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || end == v || *end || n < min || n > max)
        return false;
    *out = n;
    return true;
}

bool cli_socket_args(int argc, char **argv, const char **path, int *timeout_ms, const char *cmd)
{
    for (int i = 1; i < argc; i++) {
        long t;
        if (!strcmp(argv[i], "--socket") && i + 1 < argc) {
            *path = argv[++i];
        } else if (!strcmp(argv[i], "--timeout-ms") && i + 1 < argc &&
                   cli_int_arg(argv[++i], 1, 3600000, &t)) {
            *timeout_ms = (int)t;
        } else {
            fprintf(stderr, "usage: hawiya %s [--socket PATH] [--timeout-ms N]\n", cmd);
            return false;
        }
    }
    return true;
}

static int usage(FILE *f)
{
    fprintf(f, "usage:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  hawiya %s %s\n", commands[i].name, commands[i].usage);
    return f == stderr ? 2 : 0;
}

int main(int argc, char **argv)
{
    /* `auth` handles a CAN: no core dump, no ptrace by our own user, cJSON's
     * blocks wiped when freed (host/posix/harden.h). For every command:
     * nothing here needs a core dump. */
    harden_process();
    harden_cjson();
    if (argc < 2)
        return usage(stderr);
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help"))
        return usage(stdout);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "hawiya: unknown command '%s'\n", argv[1]);
    return usage(stderr);
}

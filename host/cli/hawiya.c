#include <stdio.h>
#include <string.h>

#include "commands.h"

static const struct cli_command commands[] = {
    {"version", "", cmd_version},
    {"atr", "HEX... | -   (decode ATRs, one JSON line each)", cmd_atr},
    {"mrz", "'LINE1' 'LINE2' ['LINE3']   (TD1/TD2/TD3 fields, check digits, BAC keys)", cmd_mrz},
    {"status", "[--socket PATH]   (hawiya-bridge's status)", cmd_status},
    {"readers", "[--socket PATH]   (readers seen by hawiya-bridge)", cmd_readers},
    {"watch", "[--socket PATH] [--count N]   (hawiya-bridge events, one JSON line each)",
     cmd_watch},
    {"auth", CLI_AUTH_USAGE, cmd_auth},
    {"verify", CLI_VERIFY_USAGE, cmd_verify},
};

static int usage(FILE *f)
{
    fprintf(f, "usage:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  hawiya %s %s\n", commands[i].name, commands[i].usage);
    return f == stderr ? 2 : 0;
}

int main(int argc, char **argv)
{
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

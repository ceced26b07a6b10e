/*
 * The `hawiya` command-line tool: each subcommand is one function in its own
 * cmd_NAME.c, listed in the table in hawiya.c. A subcommand returns the
 * process exit status: 0 on success, 1 when what it checked failed, 2 on a
 * usage error.
 */
#ifndef HAWIYA_CLI_COMMANDS_H
#define HAWIYA_CLI_COMMANDS_H

#include <stdbool.h>

/* The usage lines that `hawiya --help` and the subcommands' own usage print alike. */
#define CLI_AUTH_USAGE                                                                             \
    "--challenge B64URL --origin URL [--can N|-] [--mrz DOCNO,YYMMDD,YYMMDD|-] "                   \
    "[--reader NAME] [--timeout-ms N] [--socket PATH] [--events text|json]"
#define CLI_VERIFY_USAGE                                                                           \
    "--challenge B64URL --origin URL (--csca DIR|FILE | --csca-masterlist FILE "                   \
    "--masterlist-signer FILE)... (--reader-ca DIR|FILE | --allow-unattested) [--ds DIR|FILE] "    \
    "[--crl DIR|FILE]... [--allow-expired-document] [--now YYYYMMDDhhmmssZ] [--text] "             \
    "< assertion.json"

struct cli_command {
    const char *name;
    const char *usage;                 /* one line, after "hawiya NAME " */
    int (*run)(int argc, char **argv); /* argv[0] is the subcommand's name */
};

/* `[--socket PATH] [--timeout-ms N]`, the options of the bridge's simple
 * queries; false after a usage message naming `cmd`. */
bool cli_socket_args(int argc, char **argv, const char **path, int *timeout_ms, const char *cmd);
/* An integer option value in [min, max]; false if it is not one. */
bool cli_int_arg(const char *v, long min, long max, long *out);

int cmd_version(int argc, char **argv);
int cmd_atr(int argc, char **argv);
int cmd_mrz(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_readers(int argc, char **argv);
int cmd_watch(int argc, char **argv);
int cmd_auth(int argc, char **argv);
int cmd_verify(int argc, char **argv);

#endif

/*
 * pcscd_env: a private pcscd for one test. pcscd 1.9.9 always listens on
 * /run/pcscd/pcscd.comm (PCSCLITE_CSOCK_NAME is read by the client library
 * only), so the daemon runs in a mount namespace of its own where a
 * temporary directory is bound over /run/pcscd: the socket appears in that
 * directory, clients reach it with PCSCLITE_CSOCK_NAME (set here for this
 * process and its children), and several tests, or a system pcscd, run side
 * by side. pcscd runs in the foreground (-f) with a temporary
 * reader.conf.d (-c) and APDU logging (-a) into a log file, and is stopped
 * by the test. It needs CAP_SYS_ADMIN or unprivileged user namespaces.
 */
#ifndef HAWIYA_TEST_PCSCD_ENV_H
#define HAWIYA_TEST_PCSCD_ENV_H

#include <stdbool.h>
#include <sys/types.h>

struct pcscd_env {
    char dir[256];
    char run[300];  /* bound over /run/pcscd in pcscd's namespace */
    char conf[300]; /* its reader.conf.d */
    char sock[320]; /* PCSCLITE_CSOCK_NAME */
    char log[320];
    pid_t pid;
    int starts;
};

/* A temporary directory with run/ and conf/; sets PCSCLITE_CSOCK_NAME. */
int pcscd_env_init(struct pcscd_env *e);
/* Writes conf/NAME. */
int pcscd_env_conf(struct pcscd_env *e, const char *name, const char *text);
/* A vsmartcard vpcd reader (two slots, on TCP ports port and port + 1). */
int pcscd_env_vpcd(struct pcscd_env *e, const char *name, int port);
/* Starts pcscd and waits until it answers (10 s at most). */
int pcscd_env_start(struct pcscd_env *e);
/* SIGTERM, and waits for it to exit. */
void pcscd_env_stop(struct pcscd_env *e);
/* Stops pcscd and removes the directory (kept when HAWIYA_TEST_KEEP is set). */
void pcscd_env_cleanup(struct pcscd_env *e);
/* A TCP port p with p + 1 also free on every address (for vpcd), or -1. */
int pcscd_env_free_port_pair(void);
/* Starts a program with PR_SET_PDEATHSIG, stdout and stderr to log (NULL: inherited). */
pid_t pcscd_env_spawn(char *const argv[], const char *log);
/* SIGTERM, then SIGKILL after 3 s. */
void pcscd_env_kill(pid_t *pid);

#endif

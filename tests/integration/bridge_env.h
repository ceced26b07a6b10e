/*
 * bridge_env: hawiya-bridge as its own process for the integration tests
 * (HAWIYA_BRIDGE from the environment), and the client side of its socket
 * (docs/bridge-protocol.md): connect, send lines, read JSON lines with a
 * timeout, look values up by a dotted path. Failures are cmocka failures.
 */
#ifndef HAWIYA_TEST_BRIDGE_ENV_H
#define HAWIYA_TEST_BRIDGE_ENV_H

#include <stdbool.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

/* Writes `text` to `conf` and starts the bridge on it and `sock`, stderr to
 * `log`; the pid once the socket is there, -1 if it never came (or the
 * bridge exited). `before_exec` (may be NULL) runs in the child first. */
pid_t bridge_spawn(const char *conf, const char *text, const char *sock, const char *log,
                   void (*before_exec)(void *ctx), void *ctx);
/* SIGTERM, then SIGKILL after 3 s; the exit status (-1 if killed). */
int bridge_stop(pid_t *pid);

int bridge_conn(const char *sock);
void bridge_send(int fd, const char *line);
/* One JSON line within timeout_ms; NULL on EOF or timeout. */
cJSON *bridge_read(int fd, int timeout_ms);
/* The next answer (events skipped), within 10 s. */
cJSON *bridge_answer(int fd);
cJSON *bridge_call(int fd, const char *line);
/* A value by dotted path ("result.readers.0.state"); NULL if absent. */
const cJSON *jget(const cJSON *j, const char *path);
/* The string at path, or "" if absent or not a string. */
const char *jstr(const cJSON *j, const char *path);
/* The number at path, or -1. */
double jnum(const cJSON *j, const char *path);
/* Polls `readers` on a new connection until reader `name` has `state` (up to
 * timeout_ms); the ms it took, or -1. */
long bridge_wait_reader(const char *sock, const char *name, const char *state, int timeout_ms);
long long bridge_now_ms(void);

#endif

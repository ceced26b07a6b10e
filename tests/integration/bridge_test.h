/*
 * bridge_test: driving a hawiya-bridge process over its socket from a test
 * (docs/bridge-protocol.md): start it on a configuration, send request
 * lines, read answers and events as JSON, check members by path
 * ("result.readers.0.name"), and check an assertion as the platform does
 * (libhawiya-verify on the test PKI of HAWIYA_PKI_DIR).
 */
#ifndef HAWIYA_TEST_BRIDGE_TEST_H
#define HAWIYA_TEST_BRIDGE_TEST_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "hawiya-verify.h"

#define BT_ORIGIN "https://record.example"
/* 32 bytes 00..1F, base64url without padding (RFC 4648 §5). */
#define BT_CHALLENGE "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"

/* hawiya-bridge (HAWIYA_BRIDGE) on conf and sock, stderr to log; waits for the socket. */
pid_t bt_bridge_start(const char *conf, const char *sock, const char *log);
void bt_stop(pid_t *pid);
int bt_connect(const char *sock);
void bt_send(int fd, const char *line);
/* One line within timeout_ms, parsed; NULL on EOF or timeout. */
cJSON *bt_read(int fd, int timeout_ms);
/* The next answer, skipping events (10 s at most). */
cJSON *bt_answer(int fd);
cJSON *bt_call(int fd, const char *line);
/* The next event named `name` (others skipped), within timeout_ms; NULL if none. */
cJSON *bt_event(int fd, const char *name, int timeout_ms);
/* A member by dotted path (array indexes as numbers); fails the test when absent. */
const cJSON *bt_get(const cJSON *j, const char *path);
/* NULL when absent. */
const cJSON *bt_find(const cJSON *j, const char *path);
void bt_expect_str(const cJSON *j, const char *path, const char *want);
void bt_expect_num(const cJSON *j, const char *path, double want);
void bt_expect_error(const cJSON *j, const char *code, const char *message);
/* An authenticate line for the test challenge and origin; extra is ",..." or "". */
void bt_auth_line(char *out, size_t cap, const char *id, const char *extra);
/*
 * The platform's check of an assertion (libhawiya-verify, the test PKI's
 * trust and "today"); on HV_OK the verified document number in doc and
 * whether a reader attested it.
 */
enum hv_err bt_verify(const cJSON *assertion, bool allow_unattested, char *doc, size_t cap,
                      bool *attested);
/* Polls `readers` until the reader `name` has link `link` and state `state` (NULL: any). */
bool bt_wait_reader(const char *sock, const char *name, const char *link, const char *state,
                    int timeout_ms);

#endif

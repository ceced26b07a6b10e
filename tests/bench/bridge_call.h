/*
 * bridge_call: one request to hawiya-bridge over its UNIX socket, for the
 * benchmarks that time the whole chain (docs/bridge-protocol.md): the final
 * answer, and the costs the progress events report summed (line time,
 * elapsed time, the reader's CPU time).
 */
#ifndef HAWIYA_BENCH_BRIDGE_CALL_H
#define HAWIYA_BENCH_BRIDGE_CALL_H

#include <cjson/cJSON.h>

/* 0 with *answer (the caller deletes it), -1 if the bridge could not be
 * reached or closed the connection first. */
int bridge_call(const char *sock, const char *line, cJSON **answer, double *line_ms,
                double *elapsed_ms, double *reader_cpu_ms);

#endif

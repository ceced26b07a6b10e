/*
 * hawiya-bridge logging: to stderr or syslog, one line per event, each with
 * the request number it belongs to ("req=17", or "req=-"). Callers never
 * pass request parameters here: no CAN, PIN, key, challenge or identity
 * data is ever logged.
 */
#ifndef HAWIYA_BRIDGE_LOG_H
#define HAWIYA_BRIDGE_LOG_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"

void bridge_log_open(bool use_syslog, enum bridge_log_level level);
/* req 0 = not about a request. */
void bridge_log(enum bridge_log_level level, uint64_t req, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Lines that anyone who can connect can cause (a refused peer, a bad
 * request, a connection over the limits, accept failures) go through a
 * limiter each: at most BRIDGE_LOG_BURST lines per BRIDGE_LOG_WINDOW_MS,
 * then one line saying how many like `what` were left out, so a flood
 * cannot fill the disk or bury the lines that matter.
 */
#define BRIDGE_LOG_BURST     20
#define BRIDGE_LOG_WINDOW_MS 10000

struct bridge_log_limit {
    int64_t window_start;
    unsigned lines, suppressed;
};

/* Says how many lines were left out once their window is over (call now and then). */
void bridge_log_limit_flush(struct bridge_log_limit *l, int64_t now_ms, const char *what);
void bridge_log_limited(struct bridge_log_limit *l, int64_t now_ms, const char *what,
                        enum bridge_log_level level, uint64_t req, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

#endif

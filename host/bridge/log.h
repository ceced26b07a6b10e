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

#endif

#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>

/* Set once by bridge_log_open() before any worker thread starts, read-only after. */
static bool log_syslog;
static enum bridge_log_level log_level = BRIDGE_LOG_INFO;

void bridge_log_open(bool use_syslog, enum bridge_log_level level)
{
    log_syslog = use_syslog;
    log_level = level;
    if (use_syslog)
        openlog("hawiya-bridge", LOG_PID, LOG_DAEMON);
}

void bridge_log(enum bridge_log_level level, uint64_t req, const char *fmt, ...)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
    if (level > log_level)
        return;
    char msg[512], reqs[24];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (req)
        snprintf(reqs, sizeof reqs, "%llu", (unsigned long long)req);
    else
        snprintf(reqs, sizeof reqs, "-");
    if (log_syslog)
        syslog(prio[level], "%s req=%s %s", names[level], reqs, msg);
    else
        fprintf(stderr, "hawiya-bridge: %s req=%s %s\n", names[level], reqs, msg);
}

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

void bridge_log_limit_flush(struct bridge_log_limit *l, int64_t now_ms, const char *what)
{
    if (now_ms - l->window_start < BRIDGE_LOG_WINDOW_MS)
        return;
    if (l->suppressed)
        bridge_log(BRIDGE_LOG_WARN, 0, "%u more lines like '%s' left out in %d s", l->suppressed,
                   what, BRIDGE_LOG_WINDOW_MS / 1000);
    l->window_start = now_ms;
    l->lines = l->suppressed = 0;
}

void bridge_log_limited(struct bridge_log_limit *l, int64_t now_ms, const char *what,
                        enum bridge_log_level level, uint64_t req, const char *fmt, ...)
{
    bridge_log_limit_flush(l, now_ms, what);
    if (l->lines >= BRIDGE_LOG_BURST) {
        l->suppressed++;
        return;
    }
    l->lines++;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    bridge_log(level, req, "%s", msg);
}

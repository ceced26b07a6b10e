/*
 * A stand-in for the C library's syslog(3), preloaded (LD_PRELOAD) into a
 * hawiya-bridge under test: each message goes to the file named by
 * HAWIYA_SYSLOG_FILE as one line "PRIORITY FACILITY IDENT MESSAGE", so that
 * integration_bridge sees what the bridge sends to syslog without a syslog
 * daemon or /dev/log. Like the C library, it keeps openlog()'s arguments.
 */
#define _DEFAULT_SOURCE /* vsyslog */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>

/* The _FORTIFY_SOURCE entry points glibc's headers may route syslog() to. */
void __syslog_chk(int pri, int flag, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void __vsyslog_chk(int pri, int flag, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static const char *shim_ident = "";
static int shim_facility = LOG_USER;

void openlog(const char *ident, int option, int facility)
{
    (void)option;
    shim_ident = ident ? ident : "";
    shim_facility = facility;
}

void closelog(void)
{
}

void vsyslog(int pri, const char *fmt, va_list ap)
{
    const char *path = getenv("HAWIYA_SYSLOG_FILE");
    FILE *f = path ? fopen(path, "a") : NULL;
    if (!f)
        return;
    fprintf(f, "%d %d %s ", pri & LOG_PRIMASK,
            (pri & LOG_FACMASK) ? pri & LOG_FACMASK : shim_facility, shim_ident);
    vfprintf(f, fmt, ap);
    fputc('\n', f);
    fclose(f);
}

void syslog(int pri, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsyslog(pri, fmt, ap);
    va_end(ap);
}

void __vsyslog_chk(int pri, int flag, const char *fmt, va_list ap)
{
    (void)flag;
    vsyslog(pri, fmt, ap);
}

void __syslog_chk(int pri, int flag, const char *fmt, ...)
{
    va_list ap;
    (void)flag;
    va_start(ap, fmt);
    vsyslog(pri, fmt, ap);
    va_end(ap);
}

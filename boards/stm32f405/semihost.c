#include "semihost.h"

#include <string.h>

enum {
    SYS_OPEN = 0x01,
    SYS_CLOSE = 0x02,
    SYS_WRITE = 0x05,
    SYS_READ = 0x06,
    SYS_SEEK = 0x0A,
    SYS_FLEN = 0x0C,
    SYS_RENAME = 0x0F,
    SYS_GET_CMDLINE = 0x15,
    SYS_EXIT_EXTENDED = 0x20,
    SYS_ELAPSED = 0x30,
};

#define ADP_STOPPED_APPLICATION_EXIT 0x20026u

static int call(int op, void *args)
{
    register int r0 __asm__("r0") = op;
    register void *r1 __asm__("r1") = args;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

int semihost_open(const char *path, int mode)
{
    uint32_t a[3] = {(uint32_t)(uintptr_t)path, (uint32_t)mode, (uint32_t)strlen(path)};
    return call(SYS_OPEN, a);
}

void semihost_close(int fd)
{
    uint32_t a[1] = {(uint32_t)fd};
    call(SYS_CLOSE, a);
}

bool semihost_read(int fd, void *buf, size_t n)
{
    uint32_t a[3] = {(uint32_t)fd, (uint32_t)(uintptr_t)buf, (uint32_t)n};
    return call(SYS_READ, a) == 0; /* the number of bytes NOT read */
}

bool semihost_write(int fd, const void *buf, size_t n)
{
    uint32_t a[3] = {(uint32_t)fd, (uint32_t)(uintptr_t)buf, (uint32_t)n};
    return call(SYS_WRITE, a) == 0;
}

bool semihost_seek(int fd, uint32_t pos)
{
    uint32_t a[2] = {(uint32_t)fd, pos};
    return call(SYS_SEEK, a) == 0;
}

long semihost_flen(int fd)
{
    uint32_t a[1] = {(uint32_t)fd};
    return call(SYS_FLEN, a);
}

bool semihost_rename(const char *from, const char *to)
{
    uint32_t a[4] = {(uint32_t)(uintptr_t)from, (uint32_t)strlen(from), (uint32_t)(uintptr_t)to,
                     (uint32_t)strlen(to)};
    return call(SYS_RENAME, a) == 0;
}

void semihost_log(const char *s)
{
    static int err = -2;
    if (err == -2)
        err = semihost_open(":tt", 8); /* "a": stderr */
    if (err >= 0) {
        semihost_write(err, s, strlen(s));
        semihost_write(err, "\n", 1);
    }
}

bool semihost_cmdline(char *buf, size_t cap)
{
    uint32_t a[2] = {(uint32_t)(uintptr_t)buf, (uint32_t)cap};
    if (cap == 0 || call(SYS_GET_CMDLINE, a) != 0)
        return false;
    buf[cap - 1] = '\0';
    return true;
}

uint64_t semihost_elapsed_ns(void)
{
    uint32_t a[2] = {0, 0};
    if (call(SYS_ELAPSED, a) != 0)
        return 0;
    return (uint64_t)a[1] << 32 | a[0];
}

void semihost_exit(int status)
{
    uint32_t a[2] = {ADP_STOPPED_APPLICATION_EXIT, (uint32_t)status};
    for (;;)
        call(SYS_EXIT_EXTENDED, a);
}

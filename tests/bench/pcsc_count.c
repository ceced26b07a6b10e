/*
 * pcsc_count: counts a process's PC/SC calls from outside it, for
 * bench_pcsc. Preloaded (LD_PRELOAD) into hawiya-bridge, it stands in front
 * of every winscard function of pcsc-lite's libpcsclite, adds one to that
 * function's counter and calls the library's own (dlsym RTLD_NEXT). The
 * counters are a file shared with the benchmark (HAWIYA_PCSC_COUNTS, one
 * uint64 per function in the order of enum pcsc_count_fn, pcsc_count.h), so
 * it reads them before and after each authentication: every thread's calls
 * (the monitor's SCardGetStatusChange too), whatever the bridge itself
 * counts.
 */
#define _GNU_SOURCE /* RTLD_NEXT */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include <PCSC/winscard.h>

#include "pcsc_count.h"

static uint64_t *counts;

__attribute__((constructor)) static void pcsc_count_init(void)
{
    const char *path = getenv("HAWIYA_PCSC_COUNTS");
    if (!path)
        return;
    int fd = open(path, O_RDWR);
    if (fd < 0)
        return;
    void *m = mmap(NULL, PCSC_COUNT_FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (m != MAP_FAILED)
        counts = m;
}

static void *real(const char *name)
{
    return dlsym(RTLD_NEXT, name);
}

static void count(enum pcsc_count_fn f)
{
    if (counts)
        __atomic_fetch_add(&counts[f], 1, __ATOMIC_RELAXED);
}

/* Each function: counted, then pcsc-lite's own with the same arguments. */
#define FORWARD(fn, params, args)                                                                  \
    LONG fn params                                                                                 \
    {                                                                                              \
        static LONG(*next) params;                                                                 \
        if (!next)                                                                                 \
            *(void **)&next = real(#fn);                                                           \
        count(PCSC_COUNT_##fn);                                                                    \
        return next ? next args : SCARD_F_INTERNAL_ERROR;                                          \
    }

FORWARD(SCardEstablishContext, (DWORD scope, LPCVOID r1, LPCVOID r2, LPSCARDCONTEXT ctx),
        (scope, r1, r2, ctx))
FORWARD(SCardReleaseContext, (SCARDCONTEXT ctx), (ctx))
FORWARD(SCardIsValidContext, (SCARDCONTEXT ctx), (ctx))
FORWARD(SCardConnect,
        (SCARDCONTEXT ctx, LPCSTR reader, DWORD share, DWORD protocols, LPSCARDHANDLE h,
         LPDWORD active),
        (ctx, reader, share, protocols, h, active))
FORWARD(SCardReconnect, (SCARDHANDLE h, DWORD share, DWORD protocols, DWORD init, LPDWORD active),
        (h, share, protocols, init, active))
FORWARD(SCardDisconnect, (SCARDHANDLE h, DWORD disposition), (h, disposition))
FORWARD(SCardBeginTransaction, (SCARDHANDLE h), (h))
FORWARD(SCardEndTransaction, (SCARDHANDLE h, DWORD disposition), (h, disposition))
FORWARD(SCardStatus,
        (SCARDHANDLE h, LPSTR name, LPDWORD name_len, LPDWORD state, LPDWORD protocol, LPBYTE atr,
         LPDWORD atr_len),
        (h, name, name_len, state, protocol, atr, atr_len))
FORWARD(SCardGetStatusChange, (SCARDCONTEXT ctx, DWORD timeout, SCARD_READERSTATE *states, DWORD n),
        (ctx, timeout, states, n))
FORWARD(SCardControl,
        (SCARDHANDLE h, DWORD code, LPCVOID in, DWORD in_len, LPVOID out, DWORD out_cap,
         LPDWORD out_len),
        (h, code, in, in_len, out, out_cap, out_len))
FORWARD(SCardTransmit,
        (SCARDHANDLE h, const SCARD_IO_REQUEST *send_pci, LPCBYTE in, DWORD in_len,
         SCARD_IO_REQUEST *recv_pci, LPBYTE out, LPDWORD out_len),
        (h, send_pci, in, in_len, recv_pci, out, out_len))
FORWARD(SCardListReaderGroups, (SCARDCONTEXT ctx, LPSTR groups, LPDWORD len), (ctx, groups, len))
FORWARD(SCardListReaders, (SCARDCONTEXT ctx, LPCSTR groups, LPSTR readers, LPDWORD len),
        (ctx, groups, readers, len))
FORWARD(SCardFreeMemory, (SCARDCONTEXT ctx, LPCVOID mem), (ctx, mem))
FORWARD(SCardCancel, (SCARDCONTEXT ctx), (ctx))
FORWARD(SCardGetAttrib, (SCARDHANDLE h, DWORD id, LPBYTE attr, LPDWORD len), (h, id, attr, len))
FORWARD(SCardSetAttrib, (SCARDHANDLE h, DWORD id, LPCBYTE attr, DWORD len), (h, id, attr, len))

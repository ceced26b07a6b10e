/*
 * A fault injector around libpcsclite, preloaded (LD_PRELOAD) into a
 * hawiya-bridge under test (integration_pcsc_faults). It stands between the
 * bridge and the real library and, when the test asks, makes one of two
 * things happen at an exact call, so the test needs no race with the
 * bridge's worker thread:
 *
 *   "reset CALL N TIMES": the Nth SCardTransmit (CALL "transmit") or
 *     SCardBeginTransaction ("begin") after the order really resets the card
 *     through pcscd (SCardReconnect with SCARD_RESET_CARD on the bridge's own
 *     handle: the card loses its session) and returns SCARD_W_RESET_CARD
 *     without carrying the call, which is what pcsc-lite answers (winscard.c,
 *     RFCheckReaderEventState) on a handle whose card another program reset.
 *     pcsc-lite never lets another program reset a card the bridge holds
 *     exclusively, so this is the only way to put that answer in front of
 *     the bridge; counting starts again after each one, TIMES in all.
 *   "pause CALL N 1": before the Nth such call, writes the file `paused`
 *     and waits until the file `go` appears (the test stops pcscd in
 *     between), then makes the real call.
 *
 * The order is the file `cmd` in HAWIYA_PCSC_SHIM_DIR, read (and removed)
 * at the next SCardTransmit or SCardBeginTransaction.
 */
#define _GNU_SOURCE /* RTLD_NEXT */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <PCSC/winscard.h>

enum shim_call { SHIM_NONE, SHIM_TRANSMIT, SHIM_BEGIN };

static pthread_mutex_t shim_mu = PTHREAD_MUTEX_INITIALIZER;
static enum shim_call shim_on = SHIM_NONE;
static char shim_action[16];
static unsigned shim_every, shim_times, shim_count;

static void shim_path(char *out, size_t cap, const char *name)
{
    const char *dir = getenv("HAWIYA_PCSC_SHIM_DIR");
    snprintf(out, cap, "%s/%s", dir ? dir : "/nonexistent", name);
}

/* Takes a new order, if the test left one. */
static void shim_load(void)
{
    char path[512], call[16];
    shim_path(path, sizeof path, "cmd");
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    unsigned n = 0, times = 0;
    if (fscanf(f, "%15s %15s %u %u", shim_action, call, &n, &times) == 4 && n > 0) {
        shim_on = !strcmp(call, "transmit") ? SHIM_TRANSMIT
                  : !strcmp(call, "begin")  ? SHIM_BEGIN
                                            : SHIM_NONE;
        shim_every = n;
        shim_times = times;
        shim_count = 0;
    }
    fclose(f);
    unlink(path);
}

/* What to do at this call: 'r' reset, 'p' pause, 0 nothing. */
static char shim_decide(enum shim_call call)
{
    char what = 0;
    pthread_mutex_lock(&shim_mu);
    shim_load();
    if (shim_on == call && shim_times > 0 && ++shim_count == shim_every) {
        shim_count = 0;
        shim_times--;
        what = shim_action[0];
    }
    pthread_mutex_unlock(&shim_mu);
    return what;
}

static void shim_pause(void)
{
    char paused[512], go[512];
    shim_path(paused, sizeof paused, "paused");
    shim_path(go, sizeof go, "go");
    FILE *f = fopen(paused, "w");
    if (f)
        fclose(f);
    while (access(go, F_OK) != 0) {
        struct timespec d = {0, 10000000};
        nanosleep(&d, NULL);
    }
    unlink(go);
}

typedef LONG reconnect_fn(SCARDHANDLE, DWORD, DWORD, DWORD, LPDWORD);
typedef LONG transmit_fn(SCARDHANDLE, const SCARD_IO_REQUEST *, LPCBYTE, DWORD, SCARD_IO_REQUEST *,
                         LPBYTE, LPDWORD);
typedef LONG begin_fn(SCARDHANDLE);

static LONG shim_reset(SCARDHANDLE h)
{
    reconnect_fn *reconnect = (reconnect_fn *)dlsym(RTLD_NEXT, "SCardReconnect");
    DWORD proto = 0;
    LONG rv = reconnect(h, SCARD_SHARE_EXCLUSIVE, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1,
                        SCARD_RESET_CARD, &proto);
    return rv == SCARD_S_SUCCESS ? SCARD_W_RESET_CARD : rv;
}

LONG SCardTransmit(SCARDHANDLE h, const SCARD_IO_REQUEST *send_pci, LPCBYTE send, DWORD send_len,
                   SCARD_IO_REQUEST *recv_pci, LPBYTE recv, LPDWORD recv_len)
{
    transmit_fn *real = (transmit_fn *)dlsym(RTLD_NEXT, "SCardTransmit");
    char what = shim_decide(SHIM_TRANSMIT);
    if (what == 'r')
        return shim_reset(h);
    if (what == 'p')
        shim_pause();
    return real(h, send_pci, send, send_len, recv_pci, recv, recv_len);
}

LONG SCardBeginTransaction(SCARDHANDLE h)
{
    begin_fn *real = (begin_fn *)dlsym(RTLD_NEXT, "SCardBeginTransaction");
    char what = shim_decide(SHIM_BEGIN);
    if (what == 'r')
        return shim_reset(h);
    if (what == 'p')
        shim_pause();
    return real(h);
}

#include "pcsc_card.h"

#include <string.h>
#include <time.h>

#include <PCSC/reader.h>

const char *pcsc_rv_name(LONG rv)
{
    switch ((unsigned long)rv) {
#define N(x)                                                                                       \
    case (unsigned long)(x): return #x
        N(SCARD_S_SUCCESS);
        N(SCARD_F_INTERNAL_ERROR);
        N(SCARD_E_CANCELLED);
        N(SCARD_E_INVALID_HANDLE);
        N(SCARD_E_INVALID_PARAMETER);
        N(SCARD_E_INVALID_TARGET);
        N(SCARD_E_NO_MEMORY);
        N(SCARD_F_WAITED_TOO_LONG);
        N(SCARD_E_INSUFFICIENT_BUFFER);
        N(SCARD_E_UNKNOWN_READER);
        N(SCARD_E_TIMEOUT);
        N(SCARD_E_SHARING_VIOLATION);
        N(SCARD_E_NO_SMARTCARD);
        N(SCARD_E_UNKNOWN_CARD);
        N(SCARD_E_CANT_DISPOSE);
        N(SCARD_E_PROTO_MISMATCH);
        N(SCARD_E_NOT_READY);
        N(SCARD_E_INVALID_VALUE);
        N(SCARD_E_SYSTEM_CANCELLED);
        N(SCARD_F_COMM_ERROR);
        N(SCARD_F_UNKNOWN_ERROR);
        N(SCARD_E_INVALID_ATR);
        N(SCARD_E_NOT_TRANSACTED);
        N(SCARD_E_READER_UNAVAILABLE);
        N(SCARD_P_SHUTDOWN);
        N(SCARD_E_PCI_TOO_SMALL);
        N(SCARD_E_READER_UNSUPPORTED);
        N(SCARD_E_DUPLICATE_READER);
        N(SCARD_E_CARD_UNSUPPORTED);
        N(SCARD_E_NO_SERVICE);
        N(SCARD_E_SERVICE_STOPPED);
        N(SCARD_E_UNEXPECTED);
        N(SCARD_E_ICC_INSTALLATION);
        N(SCARD_E_ICC_CREATEORDER);
        N(SCARD_E_DIR_NOT_FOUND);
        N(SCARD_E_FILE_NOT_FOUND);
        N(SCARD_E_NO_DIR);
        N(SCARD_E_NO_FILE);
        N(SCARD_E_NO_ACCESS);
        N(SCARD_E_WRITE_TOO_MANY);
        N(SCARD_E_BAD_SEEK);
        N(SCARD_E_INVALID_CHV);
        N(SCARD_E_UNKNOWN_RES_MNG);
        N(SCARD_E_NO_SUCH_CERTIFICATE);
        N(SCARD_E_CERTIFICATE_UNAVAILABLE);
        N(SCARD_E_NO_READERS_AVAILABLE);
        N(SCARD_E_COMM_DATA_LOST);
        N(SCARD_E_NO_KEY_CONTAINER);
        N(SCARD_E_SERVER_TOO_BUSY);
        N(SCARD_W_UNSUPPORTED_CARD);
        N(SCARD_W_UNRESPONSIVE_CARD);
        N(SCARD_W_UNPOWERED_CARD);
        N(SCARD_W_RESET_CARD);
        N(SCARD_W_REMOVED_CARD);
        N(SCARD_W_SECURITY_VIOLATION);
        N(SCARD_W_WRONG_CHV);
        N(SCARD_W_CHV_BLOCKED);
        N(SCARD_W_EOF);
        N(SCARD_W_CANCELLED_BY_USER);
        N(SCARD_W_CARD_NOT_AUTHENTICATED);
#undef N
    }
    /* SCARD_E_UNSUPPORTED_FEATURE has two values in pcsclite.h (0x8010001F, 0x80100022). */
    if (rv == SCARD_E_UNSUPPORTED_FEATURE || (unsigned long)rv == 0x8010001FUL)
        return "SCARD_E_UNSUPPORTED_FEATURE";
    return "SCARD_UNKNOWN";
}

void pcsc_call_enter(struct pcsc_in_call *w, const char *name)
{
    if (!w)
        return;
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    atomic_store(&w->since_ms, (int_least64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000);
    atomic_store(&w->name, name);
}

void pcsc_call_leave(struct pcsc_in_call *w)
{
    if (w)
        atomic_store(&w->name, (const char *)NULL);
}

/* Every SCard* call of this file goes through here: counted and published. */
#define CALL(c, name, expr)                                                                        \
    ((c)->calls++, pcsc_call_enter((c)->in_call, name), call_done((c), (expr)))

static LONG call_done(struct pcsc_card *c, LONG rv)
{
    pcsc_call_leave(c->in_call);
    return rv;
}

static LONG fail(struct pcsc_card *c, LONG rv)
{
    if (rv != SCARD_S_SUCCESS)
        c->last_rv = rv;
    return rv;
}

static void sleep_ms(int ms)
{
    struct timespec d = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&d, NULL);
}

static LONG read_atr(struct pcsc_card *c)
{
    char name[MAX_READERNAME];
    DWORD name_len = sizeof name, state = 0, proto = 0, atr_len = sizeof c->atr;
    LONG rv = CALL(c, "SCardStatus",
                   SCardStatus(c->h, name, &name_len, &state, &proto, c->atr, &atr_len));
    if (rv != SCARD_S_SUCCESS) {
        c->atr_len = 0;
        return fail(c, rv);
    }
    c->atr_len = atr_len <= sizeof c->atr ? atr_len : 0;
    c->protocol = proto;
    return SCARD_S_SUCCESS;
}

LONG pcsc_card_connect(struct pcsc_card *c, SCARDCONTEXT ctx, const char *reader, DWORD share,
                       int busy_wait_ms)
{
    return pcsc_card_connect_watched(c, ctx, reader, share, busy_wait_ms, NULL);
}

LONG pcsc_card_connect_watched(struct pcsc_card *c, SCARDCONTEXT ctx, const char *reader,
                               DWORD share, int busy_wait_ms, struct pcsc_in_call *in_call)
{
    memset(c, 0, sizeof *c);
    c->in_call = in_call;
    c->ctx = ctx;
    DWORD protocols = share == SCARD_SHARE_DIRECT ? 0 : SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1;
    for (;;) {
        DWORD active = 0;
        LONG rv =
            CALL(c, "SCardConnect", SCardConnect(ctx, reader, share, protocols, &c->h, &active));
        if (rv == SCARD_S_SUCCESS) {
            c->connected = true;
            c->protocol = active;
            return share == SCARD_SHARE_DIRECT ? SCARD_S_SUCCESS : read_atr(c);
        }
        if (rv != SCARD_E_SHARING_VIOLATION || c->busy_waited_ms >= busy_wait_ms)
            return fail(c, rv);
        sleep_ms(50);
        c->busy_waited_ms += 50;
    }
}

LONG pcsc_card_disconnect(struct pcsc_card *c, DWORD disposition)
{
    if (!c->connected)
        return SCARD_S_SUCCESS;
    c->connected = false;
    return fail(c, CALL(c, "SCardDisconnect", SCardDisconnect(c->h, disposition)));
}

LONG pcsc_card_reconnect(struct pcsc_card *c, DWORD share, DWORD init)
{
    DWORD active = 0;
    LONG rv =
        CALL(c, "SCardReconnect",
             SCardReconnect(c->h, share, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, init, &active));
    if (rv != SCARD_S_SUCCESS)
        return fail(c, rv);
    c->protocol = active;
    return read_atr(c);
}

LONG pcsc_card_begin(struct pcsc_card *c)
{
    return fail(c, CALL(c, "SCardBeginTransaction", SCardBeginTransaction(c->h)));
}

LONG pcsc_card_end(struct pcsc_card *c, DWORD disposition)
{
    return fail(c, CALL(c, "SCardEndTransaction", SCardEndTransaction(c->h, disposition)));
}

static LONG transmit1(struct pcsc_card *c, const uint8_t *cmd, size_t n, uint8_t *resp, size_t cap,
                      size_t *rlen)
{
    const SCARD_IO_REQUEST *pci = c->protocol == SCARD_PROTOCOL_T0    ? SCARD_PCI_T0
                                  : c->protocol == SCARD_PROTOCOL_RAW ? SCARD_PCI_RAW
                                                                      : SCARD_PCI_T1;
    DWORD len = (DWORD)cap;
    c->apdus++;
    LONG rv = CALL(c, "SCardTransmit", SCardTransmit(c->h, pci, cmd, (DWORD)n, NULL, resp, &len));
    *rlen = rv == SCARD_S_SUCCESS ? len : 0;
    if (rv == SCARD_S_SUCCESS && (len < 2 || len > cap))
        rv = SCARD_F_COMM_ERROR; /* a driver that returns no status word */
    return fail(c, rv);
}

/* The largest number of GET RESPONSE rounds: 65536 bytes in 256-byte pieces and some. */
#define MAX_GET_RESPONSE 260

LONG pcsc_card_transmit(struct pcsc_card *c, const uint8_t *cmd, size_t n, uint8_t *resp,
                        size_t cap, size_t *rlen)
{
    uint8_t again[4 + 1 + 255 + 1];
    size_t got = 0, k;
    *rlen = 0;
    if (n < 4 || cap < 2)
        return fail(c, SCARD_E_INVALID_PARAMETER);
    LONG rv = transmit1(c, cmd, n, resp, cap, &k);
    if (rv != SCARD_S_SUCCESS)
        return rv;
    /* 6CXX: the same command with Le = XX, for a short case 2 or 4 command (the
     * only kind that can be refused for its Le). */
    if (resp[k - 2] == 0x6C && n <= sizeof again &&
        (n == 5 || (n > 5 && n == 6u + (size_t)cmd[4]))) {
        memcpy(again, cmd, n);
        again[n - 1] = resp[k - 1];
        if ((rv = transmit1(c, again, n, resp, cap, &k)) != SCARD_S_SUCCESS)
            return rv;
    }
    for (int round = 0; resp[got + k - 2] == 0x61; round++) {
        uint8_t xx = resp[got + k - 1];
        got += k - 2; /* keep the data, drop the 61XX */
        if (round >= MAX_GET_RESPONSE || cap - got < (xx ? xx : 256u) + 2u)
            return fail(c, SCARD_E_INSUFFICIENT_BUFFER);
        /* GET RESPONSE (7816-4 §7.6.1) on the command's logical channel. */
        const uint8_t gr[5] = {(uint8_t)(cmd[0] & 0x03), 0xC0, 0x00, 0x00, xx};
        if ((rv = transmit1(c, gr, sizeof gr, resp + got, cap - got, &k)) != SCARD_S_SUCCESS)
            return rv;
    }
    *rlen = got + k;
    return SCARD_S_SUCCESS;
}

LONG pcsc_card_control(struct pcsc_card *c, DWORD code, const uint8_t *in, size_t n, uint8_t *out,
                       size_t cap, size_t *rlen)
{
    DWORD len = 0;
    LONG rv =
        CALL(c, "SCardControl", SCardControl(c->h, code, in, (DWORD)n, out, (DWORD)cap, &len));
    *rlen = rv == SCARD_S_SUCCESS && len <= cap ? len : 0;
    return fail(c, rv);
}

void pcsc_card_features(struct pcsc_card *c, struct pcsc10_features *f, struct pcsc10_properties *p)
{
    uint8_t buf[512];
    size_t n;
    memset(f, 0, sizeof *f);
    memset(p, 0, sizeof *p);
    LONG saved = c->last_rv;
    if (pcsc_card_control(c, PCSC_IOCTL_GET_FEATURE_REQUEST, NULL, 0, buf, sizeof buf, &n) ==
            SCARD_S_SUCCESS &&
        pcsc10_features_parse(buf, n, f) != PCSC10_OK)
        memset(f, 0, sizeof *f);
    uint32_t code = f->code[PCSC10_FEATURE_GET_TLV_PROPERTIES];
    if (code && pcsc_card_control(c, code, NULL, 0, buf, sizeof buf, &n) == SCARD_S_SUCCESS &&
        pcsc10_properties_parse(buf, n, p) != PCSC10_OK)
        memset(p, 0, sizeof *p);
    c->last_rv = saved; /* a reader without features has not failed */
}

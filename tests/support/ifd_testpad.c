/*
 * libifdtestpad.so: a PIN-pad reader with PACE (PC/SC Part 10 AMD1
 * FEATURE_EXECUTE_PACE, BSI TR-03119) inside a real pcscd, for the tests: a
 * pcsc-lite IFD handler (ifdhandler.h 3.0) whose keypad is pinpad.h's
 * software one, with the "typed" password in its reader.conf entry, and whose
 * card is hawiya-vcard on vsmartcard's vpcd link (host/vcard/vpcd.h: the
 * driver listens, the card connects, 2-byte big-endian length + payload
 * either way; 1-byte payloads are controls: off 0, on 1, reset 2, ATR 4).
 *
 *   DEVICENAME  tcp:PORT:KEYPAD[:gone=N][:max=M]
 *               listen on 127.0.0.1:PORT, the keypad says KEYPAD ("-": a reader
 *               without keypad, no FEATURE_EXECUTE_PACE, APDUs passed as they
 *               come); gone=N: the card is pulled out at the host's Nth APDU
 *               (that one and all after find no card, IFD_ICC_NOT_PRESENT);
 *               max=M: FEATURE_GET_TLV_PROPERTIES says dwMaxAPDUDataSize M
 *               (Part 10 §2.6.14), the largest APDU data field it carries
 *
 * What a host sees: GET_FEATURE_REQUEST lists FEATURE_EXECUTE_PACE (with a
 * keypad) and FEATURE_GET_TLV_PROPERTIES (with max=M);
 * EstablishPACEChannel runs PACE with the keypad's password, after which the
 * host's plain APDUs go to the card under the PACE session's secure
 * messaging until the card is reset or powered down, as such a reader does.
 * The host never gives the password.
 */
#define _GNU_SOURCE /* accept4 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <PCSC/ifdhandler.h>
#include <PCSC/reader.h>

#include "pinpad.h"

#define MAX_READERS 8
#define IO_MS       10000 /* one exchange with the card */
/* The control code the feature list gives for FEATURE_EXECUTE_PACE (any free one). */
#define IOCTL_EXECUTE_PACE   SCARD_CTL_CODE(3500)
#define IOCTL_TLV_PROPERTIES SCARD_CTL_CODE(3501)
#define TAG_EXECUTE_PACE     0x20u
#define TAG_TLV_PROPERTIES   0x12u
#define PROP_MAX_APDU_DATA   0x0Au

struct testpad {
    bool used;
    DWORD lun;
    int listen_fd, fd;
    char keypad[32];
    unsigned gone_at, apdus; /* gone=N (0: never), the host's APDUs so far */
    unsigned max_apdu;       /* max=M (0: not said) */
    bool keypad_on;
    bool gone;
    struct pinpad pad;
    uint8_t atr[33];
    DWORD atr_len;
    uint8_t buf[2 + 0xFFFF];
};

static struct testpad pads[MAX_READERS];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static struct testpad *find(DWORD lun)
{
    for (int i = 0; i < MAX_READERS; i++)
        if (pads[i].used && pads[i].lun == lun)
            return &pads[i];
    return NULL;
}

static void drop_card(struct testpad *t)
{
    if (t->fd >= 0)
        close(t->fd);
    t->fd = -1;
    t->atr_len = 0;
    pinpad_reset(&t->pad);
}

/* The card connecting, if it has. */
static bool card_here(struct testpad *t)
{
    if (t->fd >= 0)
        return true;
    struct pollfd p = {.fd = t->listen_fd, .events = POLLIN};
    if (poll(&p, 1, 0) <= 0)
        return false;
    t->fd = accept4(t->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    return t->fd >= 0;
}

static bool io_all(struct testpad *t, uint8_t *b, size_t n, bool in)
{
    for (size_t off = 0; off < n;) {
        struct pollfd p = {.fd = t->fd, .events = in ? POLLIN : POLLOUT};
        if (poll(&p, 1, IO_MS) <= 0)
            return false;
        ssize_t k =
            in ? recv(t->fd, b + off, n - off, 0) : send(t->fd, b + off, n - off, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return false;
        off += (size_t)k;
    }
    return true;
}

/* One vpcd message out; its answer in (want_answer), as payload. */
static bool vpcd(struct testpad *t, const uint8_t *msg, size_t n, bool want_answer, uint8_t *out,
                 size_t cap, size_t *out_len)
{
    if (t->fd < 0 || n > 0xFFFF)
        return false;
    t->buf[0] = (uint8_t)(n >> 8);
    t->buf[1] = (uint8_t)n;
    memcpy(t->buf + 2, msg, n);
    if (!io_all(t, t->buf, n + 2, false)) {
        drop_card(t);
        return false;
    }
    if (!want_answer)
        return true;
    uint8_t h[2];
    if (!io_all(t, h, 2, true)) {
        drop_card(t);
        return false;
    }
    size_t len = (size_t)h[0] << 8 | h[1];
    if (len > cap || !io_all(t, out, len, true)) {
        drop_card(t);
        return false;
    }
    *out_len = len;
    return true;
}

static int to_card(void *ctx, const uint8_t *cmd, size_t n, uint8_t *resp, size_t cap, size_t *rlen)
{
    return vpcd(ctx, cmd, n, true, resp, cap, rlen) ? 0 : -1;
}

RESPONSECODE IFDHCreateChannelByName(DWORD Lun, LPSTR DeviceName)
{
    unsigned port, gone_at = 0, max_apdu = 0;
    char keypad[32];
    if (!DeviceName || sscanf(DeviceName, "tcp:%u:%31[0-9-]", &port, keypad) != 2 || port == 0 ||
        port > 65535)
        return IFD_COMMUNICATION_ERROR;
    const char *o;
    if ((o = strstr(DeviceName, ":gone=")) && sscanf(o, ":gone=%u", &gone_at) != 1)
        return IFD_COMMUNICATION_ERROR;
    if ((o = strstr(DeviceName, ":max=")) && sscanf(o, ":max=%u", &max_apdu) != 1)
        return IFD_COMMUNICATION_ERROR;
    pthread_mutex_lock(&mu);
    struct testpad *t = NULL;
    for (int i = 0; i < MAX_READERS && !t; i++)
        if (!pads[i].used)
            t = &pads[i];
    RESPONSECODE rc = IFD_COMMUNICATION_ERROR;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (t && fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0 &&
        bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && listen(fd, 1) == 0) {
        memset(t, 0, sizeof *t);
        t->used = true;
        t->lun = Lun;
        t->listen_fd = fd;
        t->fd = -1;
        snprintf(t->keypad, sizeof t->keypad, "%s", keypad);
        t->gone_at = gone_at;
        t->max_apdu = max_apdu;
        t->keypad_on = strcmp(keypad, "-") != 0;
        pinpad_init(&t->pad, t->keypad, to_card, t);
        fd = -1;
        rc = IFD_SUCCESS;
    }
    if (fd >= 0)
        close(fd);
    pthread_mutex_unlock(&mu);
    return rc;
}

RESPONSECODE IFDHCreateChannel(DWORD Lun, DWORD Channel)
{
    (void)Lun;
    (void)Channel;
    return IFD_COMMUNICATION_ERROR; /* DEVICENAME only */
}

RESPONSECODE IFDHCloseChannel(DWORD Lun)
{
    pthread_mutex_lock(&mu);
    struct testpad *t = find(Lun);
    if (t) {
        drop_card(t);
        close(t->listen_fd);
        pinpad_free(&t->pad);
        memset(t->keypad, 0, sizeof t->keypad);
        t->used = false;
    }
    pthread_mutex_unlock(&mu);
    return IFD_SUCCESS;
}

static RESPONSECODE put(PDWORD len, PUCHAR val, const void *v, DWORD n)
{
    if (*len < n)
        return IFD_ERROR_INSUFFICIENT_BUFFER;
    memcpy(val, v, n);
    *len = n;
    return IFD_SUCCESS;
}

RESPONSECODE IFDHGetCapabilities(DWORD Lun, DWORD Tag, PDWORD Length, PUCHAR Value)
{
    if (!Length || !Value)
        return IFD_COMMUNICATION_ERROR;
    pthread_mutex_lock(&mu);
    struct testpad *t = find(Lun);
    RESPONSECODE rc = IFD_COMMUNICATION_ERROR;
    UCHAR one;
    if (t) {
        switch (Tag) {
        case TAG_IFD_ATR:
        case SCARD_ATTR_ATR_STRING: rc = put(Length, Value, t->atr, t->atr_len); break;
        case TAG_IFD_SLOTS_NUMBER: one = 1, rc = put(Length, Value, &one, 1); break;
        case TAG_IFD_SIMULTANEOUS_ACCESS:
            one = MAX_READERS, rc = put(Length, Value, &one, 1);
            break;
        case TAG_IFD_THREAD_SAFE:
        case TAG_IFD_SLOT_THREAD_SAFE: one = 0, rc = put(Length, Value, &one, 1); break;
        default: rc = IFD_ERROR_TAG; break;
        }
    }
    if (rc != IFD_SUCCESS)
        *Length = 0;
    pthread_mutex_unlock(&mu);
    return rc;
}

RESPONSECODE IFDHSetCapabilities(DWORD Lun, DWORD Tag, DWORD Length, PUCHAR Value)
{
    (void)Lun;
    (void)Tag;
    (void)Length;
    (void)Value;
    return IFD_NOT_SUPPORTED;
}

RESPONSECODE IFDHSetProtocolParameters(DWORD Lun, DWORD Protocol, UCHAR Flags, UCHAR PTS1,
                                       UCHAR PTS2, UCHAR PTS3)
{
    (void)Lun;
    (void)Flags;
    (void)PTS1;
    (void)PTS2;
    (void)PTS3;
    /* vpcd carries APDUs: the card's T=1 as its ATR says. */
    return Protocol == SCARD_PROTOCOL_T1 ? IFD_SUCCESS : IFD_PROTOCOL_NOT_SUPPORTED;
}

RESPONSECODE IFDHPowerICC(DWORD Lun, DWORD Action, PUCHAR Atr, PDWORD AtrLength)
{
    pthread_mutex_lock(&mu);
    struct testpad *t = find(Lun);
    RESPONSECODE rc = IFD_COMMUNICATION_ERROR;
    if (t && t->gone) {
        rc = IFD_ICC_NOT_PRESENT;
    } else if (t && card_here(t)) {
        /* The secure channel ends with the card's power or reset. */
        pinpad_reset(&t->pad);
        uint8_t ctl = Action == IFD_POWER_DOWN ? 0 : Action == IFD_RESET ? 2 : 1, atr_req = 4;
        size_t n = 0;
        if (Action != IFD_POWER_DOWN && Action != IFD_POWER_UP && Action != IFD_RESET) {
            rc = IFD_NOT_SUPPORTED;
        } else if (!vpcd(t, &ctl, 1, false, NULL, 0, NULL)) {
            rc = IFD_COMMUNICATION_ERROR;
        } else if (Action == IFD_POWER_DOWN) {
            t->atr_len = 0;
            rc = IFD_SUCCESS;
        } else if (vpcd(t, &atr_req, 1, true, t->atr, sizeof t->atr, &n) && n > 0) {
            t->atr_len = (DWORD)n;
            rc = IFD_SUCCESS;
            if (Atr && AtrLength)
                rc = put(AtrLength, Atr, t->atr, t->atr_len);
        } else {
            rc = IFD_ERROR_POWER_ACTION;
        }
    }
    if (rc != IFD_SUCCESS && AtrLength)
        *AtrLength = 0;
    pthread_mutex_unlock(&mu);
    return rc;
}

RESPONSECODE IFDHTransmitToICC(DWORD Lun, SCARD_IO_HEADER SendPci, PUCHAR TxBuffer, DWORD TxLength,
                               PUCHAR RxBuffer, PDWORD RxLength, PSCARD_IO_HEADER RecvPci)
{
    (void)SendPci;
    (void)RecvPci;
    if (!RxLength)
        return IFD_COMMUNICATION_ERROR;
    pthread_mutex_lock(&mu);
    struct testpad *t = find(Lun);
    RESPONSECODE rc = IFD_COMMUNICATION_ERROR;
    size_t n = 0;
    if (t && t->gone_at && ++t->apdus >= t->gone_at)
        t->gone = true;
    if (t && t->gone) {
        rc = IFD_ICC_NOT_PRESENT;
        *RxLength = 0;
    } else if (t && t->fd >= 0 &&
               pinpad_transmit(&t->pad, TxBuffer, TxLength, RxBuffer, *RxLength, &n) == 0) {
        *RxLength = (DWORD)n;
        rc = IFD_SUCCESS;
    } else {
        *RxLength = 0;
    }
    pthread_mutex_unlock(&mu);
    return rc;
}

RESPONSECODE IFDHControl(DWORD Lun, DWORD dwControlCode, PUCHAR TxBuffer, DWORD TxLength,
                         PUCHAR RxBuffer, DWORD RxLength, LPDWORD pdwBytesReturned)
{
    if (!pdwBytesReturned)
        return IFD_COMMUNICATION_ERROR;
    *pdwBytesReturned = 0;
    pthread_mutex_lock(&mu);
    struct testpad *t = find(Lun);
    RESPONSECODE rc = IFD_COMMUNICATION_ERROR;
    size_t n = 0;
    if (!t) {
        rc = IFD_COMMUNICATION_ERROR;
    } else if (dwControlCode == CM_IOCTL_GET_FEATURE_REQUEST) {
        /* PC/SC Part 10 §2.2: tag, length 4, control code big-endian. */
        uint8_t f[12];
        DWORD k = 0, len = RxLength;
        const uint32_t codes[2] = {IOCTL_EXECUTE_PACE, IOCTL_TLV_PROPERTIES};
        const uint8_t tags[2] = {TAG_EXECUTE_PACE, TAG_TLV_PROPERTIES};
        const bool on[2] = {t->keypad_on, t->max_apdu != 0};
        for (int i = 0; i < 2; i++)
            if (on[i]) {
                const uint8_t e[6] = {tags[i],
                                      4,
                                      (uint8_t)(codes[i] >> 24),
                                      (uint8_t)(codes[i] >> 16),
                                      (uint8_t)(codes[i] >> 8),
                                      (uint8_t)codes[i]};
                memcpy(f + k, e, sizeof e);
                k += (DWORD)sizeof e;
            }
        rc = put(&len, RxBuffer, f, k);
        if (rc == IFD_SUCCESS)
            *pdwBytesReturned = len;
    } else if (dwControlCode == IOCTL_TLV_PROPERTIES && t->max_apdu) {
        /* §2.6.14: tag, length, value little-endian. */
        const uint8_t pr[6] = {PROP_MAX_APDU_DATA,           4,
                               (uint8_t)t->max_apdu,         (uint8_t)(t->max_apdu >> 8),
                               (uint8_t)(t->max_apdu >> 16), (uint8_t)(t->max_apdu >> 24)};
        DWORD len = RxLength;
        rc = put(&len, RxBuffer, pr, sizeof pr);
        if (rc == IFD_SUCCESS)
            *pdwBytesReturned = len;
    } else if (dwControlCode == IOCTL_EXECUTE_PACE && t->keypad_on) {
        if (t->fd < 0)
            rc = IFD_ICC_NOT_PRESENT;
        else if (pinpad_execute_pace(&t->pad, TxBuffer, TxLength, RxBuffer, RxLength, &n)) {
            *pdwBytesReturned = (DWORD)n;
            rc = IFD_SUCCESS;
        }
    } else {
        rc = IFD_ERROR_NOT_SUPPORTED;
    }
    pthread_mutex_unlock(&mu);
    return rc;
}

RESPONSECODE IFDHICCPresence(DWORD Lun)
{
    pthread_mutex_lock(&mu);
    struct testpad *t = find(Lun);
    RESPONSECODE rc = IFD_COMMUNICATION_ERROR;
    if (t) {
        /* vpcd's way: a card that does not answer the ATR request is gone. */
        uint8_t atr_req = 4, atr[33];
        size_t n = 0;
        bool here =
            !t->gone && card_here(t) && vpcd(t, &atr_req, 1, true, atr, sizeof atr, &n) && n > 0;
        rc = here ? IFD_ICC_PRESENT : IFD_ICC_NOT_PRESENT;
    }
    pthread_mutex_unlock(&mu);
    return rc;
}

/*
 * libifdhawiya.so: a pcsc-lite reader driver (IFD handler, version 3.0 of
 * pcsc-lite's ifdhandler.h) for our reader, so that every PC/SC program
 * drives the Hawiya firmware: pcscd loads it for a reader.conf.d entry
 * (packaging/reader.conf.d/hawiya) whose DEVICENAME says where the reader's
 * host link is. It carries USB CCID 1.1 messages (§6, common/ccid.h) over
 * that link (host/backend/ccid_link.h):
 *
 *   unix:PATH   the sim board's host-link socket (boards/sim)
 *
 * The seam for another link (the QEMU STM32 board's framed serial line, a
 * USB device through libusb) is open_link(): a new DEVICENAME scheme whose
 * transport ends in a connected ccid_link. A link that does not answer (the
 * reader not started yet, or gone) is an empty slot, tried again at each of
 * pcscd's presence polls.
 *
 * The reader works at the extended APDU level (dwFeatures 0x00040000): it
 * activates the card, makes PPS and the T=1 IFSD exchange itself, and takes
 * whole APDUs in XfrBlock, chained (§6.1.4) when a message would exceed its
 * dwMaxCCIDMessageLength, which this driver reads from the reader (the INFO
 * escape carries its class descriptor, hawiya/reader_escape.h). pcscd's
 * protocol choice is accepted when it is the one the reader negotiated
 * (IFDHSetProtocolParameters), and refused otherwise, so pcscd uses the
 * reader's.
 *
 * SCardControl reaches the reader's own functions: PC/SC Part 10's
 * GET_FEATURE_REQUEST lists FEATURE_GET_TLV_PROPERTIES (dwMaxAPDUDataSize,
 * wIdVendor:wIdProduct 1209:0001, sFirmwareID) and FEATURE_CCID_ESC_COMMAND,
 * whose control code SCARD_CTL_CODE(1) (libccid's) sends PC_to_RDR_Escape:
 * INFO, and the attested session the bridge runs through pcscd. That
 * session resets the card and leaves it unpowered; a card pcscd had powered
 * is powered again after it, so pcscd's view of the slot stays true.
 *
 * The IFD handler API names a reader only by its Lun, so the readers are a
 * table here, the driver's only state; pcscd serialises calls into it
 * (TAG_IFD_THREAD_SAFE 0), and a mutex per reader guards it anyway.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include <PCSC/ifdhandler.h>
#include <PCSC/reader.h>

#include "ccid_link.h"
#include "hawiya/ccid.h"
#include "hawiya/reader_escape.h"
#include "hawiya/tlv.h"
#include "hawiya/wipe.h"
#include "reader_session.h"

#define MAX_READERS          16
#define LINK_TIMEOUT         30000 /* ms between two messages of the reader (it sends time extensions) */
#define CONNECT_WAIT         2000 /* ms for the reader's first NotifySlotChange */
#define MIN_MESSAGE          (CCID_HEADER_SIZE + 261u) /* the least a CCID reader takes (§5.1) */
#define VENDOR_ID            0x1209 /* pid.codes test VID:PID, as the USB descriptors say */
#define PRODUCT_ID           0x0001
#define IOCTL_TLV_PROPERTIES SCARD_CTL_CODE(0x330000 + FEATURE_GET_TLV_PROPERTIES)
#define IOCTL_ESCAPE         SCARD_CTL_CODE(1)

struct ifd_reader {
    bool used;
    DWORD lun;
    char device[256];
    pthread_mutex_t mu;
    struct ccid_link link;
    bool broken; /* the link failed: the reader is gone until it answers again */
    struct ccid_descriptor desc;
    char firmware[64];
    uint8_t atr[MAX_ATR_SIZE];
    DWORD atr_len;
    bool powered;     /* pcscd powered the card */
    uint8_t protocol; /* CCID_PROTOCOL_T0 / T1, once powered */
    uint8_t buf[CCID_MAX_MESSAGE_SIZE];
};

static struct ifd_reader readers[MAX_READERS];
static pthread_mutex_t table = PTHREAD_MUTEX_INITIALIZER;

static struct ifd_reader *find(DWORD lun)
{
    for (int i = 0; i < MAX_READERS; i++)
        if (readers[i].used && readers[i].lun >> 16 == lun >> 16)
            return &readers[i];
    return NULL;
}

/* The reader's INFO: its firmware name, and the class descriptor it runs with. */
static bool read_info(struct ifd_reader *r)
{
    uint8_t cmd = RESC_INFO;
    size_t n;
    struct tlv t;
    if (reader_escape(&r->link, &cmd, 1, r->buf, sizeof r->buf, &n, LINK_TIMEOUT) != CCID_LINK_OK)
        return false;
    if (tlv_find(r->buf, n, RESC_T_VERSION, &t) == TLV_OK) {
        size_t k = t.len < sizeof r->firmware - 1 ? t.len : sizeof r->firmware - 1;
        for (size_t i = 0; i < k; i++)
            r->firmware[i] = t.value[i] >= 0x20 && t.value[i] < 0x7F ? (char)t.value[i] : '?';
        r->firmware[k] = '\0';
    }
    /* Without its descriptor, the least any CCID reader takes: every APDU
     * above 261 bytes is then chained. */
    if (tlv_find(r->buf, n, RESC_T_CCID_DESCRIPTOR, &t) != TLV_OK ||
        ccid_decode_descriptor(t.value, t.len, &r->desc) != CCID_OK ||
        r->desc.max_ccid_message_length < MIN_MESSAGE)
        r->desc = (struct ccid_descriptor){.max_ccid_message_length = MIN_MESSAGE,
                                           .features = CCID_FEATURE_LEVEL_SHORT_APDU};
    r->link.max_message = r->desc.max_ccid_message_length;
    if (r->link.max_message > CCID_MAX_MESSAGE_SIZE)
        r->link.max_message = CCID_MAX_MESSAGE_SIZE;
    return true;
}

/* DEVICENAME -> a connected link, its first slot report read, its INFO taken. */
static bool open_link(struct ifd_reader *r)
{
    if (!strncmp(r->device, "unix:", 5)) {
        if (ccid_link_open(&r->link, r->device + 5) != CCID_LINK_OK)
            return false;
    } else {
        syslog(LOG_ERR, "ifd-hawiya: %s: unknown link (unix:PATH)", r->device);
        return false;
    }
    /* The reader reports the slot as soon as a host connects (§6.3.1). */
    ccid_link_wait_notify(&r->link, CONNECT_WAIT);
    if (!read_info(r)) {
        ccid_link_close(&r->link);
        return false;
    }
    r->broken = false;
    return true;
}

/* After a failure: the link again, at once (a sim board restarted). */
static bool relink(struct ifd_reader *r)
{
    ccid_link_close(&r->link);
    r->powered = false;
    r->broken = !open_link(r);
    return !r->broken;
}

static RESPONSECODE link_error(struct ifd_reader *r, enum ccid_link_err e)
{
    if (e == CCID_LINK_ERR_IO || e == CCID_LINK_ERR_TIMEOUT || e == CCID_LINK_ERR_PROTOCOL) {
        r->broken = true;
        return e == CCID_LINK_ERR_TIMEOUT ? IFD_RESPONSE_TIMEOUT : IFD_COMMUNICATION_ERROR;
    }
    if (ccid_status_icc(r->link.status) == CCID_ICC_ABSENT)
        return IFD_ICC_NOT_PRESENT;
    return IFD_COMMUNICATION_ERROR;
}

RESPONSECODE IFDHCreateChannelByName(DWORD Lun, LPSTR DeviceName)
{
    pthread_mutex_lock(&table);
    struct ifd_reader *r = NULL;
    for (int i = 0; i < MAX_READERS && !r; i++)
        if (!readers[i].used)
            r = &readers[i];
    if (!r || find(Lun) || strlen(DeviceName) >= sizeof r->device) {
        pthread_mutex_unlock(&table);
        return IFD_COMMUNICATION_ERROR;
    }
    memset(r, 0, sizeof *r);
    r->link.fd = -1;
    r->lun = Lun;
    snprintf(r->device, sizeof r->device, "%s", DeviceName);
    /* A link that does not answer yet (the reader starts after pcscd, which
     * adds a configured serial reader only when it starts) is tried again at
     * each presence poll: until then the slot is empty. */
    if (strncmp(r->device, "unix:", 5)) {
        syslog(LOG_ERR, "ifd-hawiya: %s: unknown link (unix:PATH)", r->device);
        pthread_mutex_unlock(&table);
        return IFD_NO_SUCH_DEVICE;
    }
    if (!open_link(r)) {
        r->broken = true;
        r->link.max_message = MIN_MESSAGE;
    }
    pthread_mutex_init(&r->mu, NULL);
    r->used = true;
    pthread_mutex_unlock(&table);
    return IFD_SUCCESS;
}

RESPONSECODE IFDHCreateChannel(DWORD Lun, DWORD Channel)
{
    (void)Lun;
    (void)Channel;
    return IFD_NOT_SUPPORTED; /* a DEVICENAME names the link */
}

RESPONSECODE IFDHCloseChannel(DWORD Lun)
{
    pthread_mutex_lock(&table);
    struct ifd_reader *r = find(Lun);
    if (!r) {
        pthread_mutex_unlock(&table);
        return IFD_COMMUNICATION_ERROR;
    }
    pthread_mutex_lock(&r->mu);
    if (r->powered && !r->broken) {
        ccid_link_power_off(&r->link, LINK_TIMEOUT);
        r->powered = false;
    }
    ccid_link_close(&r->link);
    r->used = false;
    pthread_mutex_unlock(&r->mu);
    pthread_mutex_destroy(&r->mu);
    pthread_mutex_unlock(&table);
    return IFD_SUCCESS;
}

static RESPONSECODE put_value(PDWORD Length, PUCHAR Value, const void *v, DWORD n)
{
    if (*Length < n)
        return IFD_ERROR_INSUFFICIENT_BUFFER;
    memcpy(Value, v, n);
    *Length = n;
    return IFD_SUCCESS;
}

RESPONSECODE IFDHGetCapabilities(DWORD Lun, DWORD Tag, PDWORD Length, PUCHAR Value)
{
    struct ifd_reader *r = find(Lun);
    if (!r || !Length || !Value)
        return IFD_COMMUNICATION_ERROR;
    pthread_mutex_lock(&r->mu);
    RESPONSECODE rc;
    UCHAR one;
    DWORD dw;
    switch (Tag) {
    case TAG_IFD_ATR:
    case SCARD_ATTR_ATR_STRING: rc = put_value(Length, Value, r->atr, r->atr_len); break;
    case TAG_IFD_SLOTS_NUMBER: one = 1, rc = put_value(Length, Value, &one, 1); break;
    case TAG_IFD_SIMULTANEOUS_ACCESS:
        one = MAX_READERS, rc = put_value(Length, Value, &one, 1);
        break;
    case TAG_IFD_THREAD_SAFE:
    case TAG_IFD_SLOT_THREAD_SAFE: one = 0, rc = put_value(Length, Value, &one, 1); break;
    case SCARD_ATTR_VENDOR_NAME: rc = put_value(Length, Value, "Hawiya", 7); break;
    case SCARD_ATTR_ICC_PRESENCE:
        one = r->link.card_present ? 2 : 0, rc = put_value(Length, Value, &one, 1);
        break;
    case SCARD_ATTR_MAXINPUT:
        dw = (DWORD)(r->link.max_message - CCID_HEADER_SIZE);
        rc = put_value(Length, Value, &dw, sizeof dw);
        break;
    default: rc = IFD_ERROR_TAG; break;
    }
    if (rc != IFD_SUCCESS)
        *Length = 0;
    pthread_mutex_unlock(&r->mu);
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

/* The protocol the reader negotiated (it makes PPS itself, dwFeatures). */
static bool active_protocol(struct ifd_reader *r, uint8_t *protocol)
{
    uint8_t none[8];
    struct ccid_msg req = {.type = CCID_PC_TO_RDR_GET_PARAMETERS}, resp;
    if (ccid_link_transact(&r->link, &req, &resp, none, sizeof none, LINK_TIMEOUT) != CCID_LINK_OK)
        return false;
    *protocol = resp.params.protocol_num;
    return true;
}

RESPONSECODE IFDHSetProtocolParameters(DWORD Lun, DWORD Protocol, UCHAR Flags, UCHAR PTS1,
                                       UCHAR PTS2, UCHAR PTS3)
{
    (void)Flags;
    (void)PTS1;
    (void)PTS2;
    (void)PTS3;
    struct ifd_reader *r = find(Lun);
    if (!r)
        return IFD_COMMUNICATION_ERROR;
    pthread_mutex_lock(&r->mu);
    uint8_t p;
    RESPONSECODE rc = IFD_COMMUNICATION_ERROR;
    if (!r->broken && active_protocol(r, &p)) {
        r->protocol = p;
        bool same = (Protocol == SCARD_PROTOCOL_T0 && p == CCID_PROTOCOL_T0) ||
                    (Protocol == SCARD_PROTOCOL_T1 && p == CCID_PROTOCOL_T1);
        rc = same ? IFD_SUCCESS : IFD_PROTOCOL_NOT_SUPPORTED;
    }
    pthread_mutex_unlock(&r->mu);
    return rc;
}

static RESPONSECODE power_on(struct ifd_reader *r, PUCHAR Atr, PDWORD AtrLength)
{
    size_t n = 0;
    enum ccid_link_err e =
        ccid_link_power_on(&r->link, CCID_POWER_AUTO, r->atr, sizeof r->atr, &n, LINK_TIMEOUT);
    if (e != CCID_LINK_OK) {
        r->atr_len = 0;
        return e == CCID_LINK_ERR_FAILED ? IFD_ERROR_POWER_ACTION : link_error(r, e);
    }
    r->atr_len = (DWORD)n;
    r->powered = true;
    if (!active_protocol(r, &r->protocol))
        r->protocol = CCID_PROTOCOL_T1;
    if (Atr && AtrLength) {
        if (*AtrLength < r->atr_len)
            return IFD_ERROR_INSUFFICIENT_BUFFER;
        memcpy(Atr, r->atr, r->atr_len);
        *AtrLength = r->atr_len;
    }
    return IFD_SUCCESS;
}

RESPONSECODE IFDHPowerICC(DWORD Lun, DWORD Action, PUCHAR Atr, PDWORD AtrLength)
{
    struct ifd_reader *r = find(Lun);
    if (!r)
        return IFD_COMMUNICATION_ERROR;
    pthread_mutex_lock(&r->mu);
    RESPONSECODE rc;
    if (AtrLength && Action != IFD_POWER_UP && Action != IFD_RESET)
        *AtrLength = 0;
    if (r->broken && !relink(r)) {
        rc = IFD_NO_SUCH_DEVICE;
    } else if (Action == IFD_POWER_DOWN) {
        enum ccid_link_err e = ccid_link_power_off(&r->link, LINK_TIMEOUT);
        r->powered = false;
        r->atr_len = 0;
        rc = e == CCID_LINK_OK ? IFD_SUCCESS : link_error(r, e);
    } else if (Action == IFD_POWER_UP || Action == IFD_RESET) {
        /* A reset is a cold one here: off, then on (7816-3 §6.2.2). */
        if (Action == IFD_RESET)
            ccid_link_power_off(&r->link, LINK_TIMEOUT);
        rc = power_on(r, Atr, AtrLength);
    } else {
        rc = IFD_NOT_SUPPORTED;
    }
    if (rc != IFD_SUCCESS && AtrLength)
        *AtrLength = 0;
    pthread_mutex_unlock(&r->mu);
    return rc;
}

RESPONSECODE IFDHTransmitToICC(DWORD Lun, SCARD_IO_HEADER SendPci, PUCHAR TxBuffer, DWORD TxLength,
                               PUCHAR RxBuffer, PDWORD RxLength, PSCARD_IO_HEADER RecvPci)
{
    (void)SendPci;
    struct ifd_reader *r = find(Lun);
    if (!r || !RxLength)
        return IFD_COMMUNICATION_ERROR;
    pthread_mutex_lock(&r->mu);
    size_t n = 0;
    enum ccid_link_err e = r->broken ? CCID_LINK_ERR_IO
                                     : ccid_link_xfr(&r->link, TxBuffer, TxLength, RxBuffer,
                                                     *RxLength, &n, LINK_TIMEOUT);
    RESPONSECODE rc = IFD_SUCCESS;
    if (e == CCID_LINK_ERR_TOO_LONG)
        rc = IFD_ERROR_INSUFFICIENT_BUFFER;
    else if (e != CCID_LINK_OK)
        rc = r->broken ? IFD_COMMUNICATION_ERROR : link_error(r, e);
    *RxLength = rc == IFD_SUCCESS ? (DWORD)n : 0;
    if (rc == IFD_SUCCESS && RecvPci)
        RecvPci->Protocol = r->protocol == CCID_PROTOCOL_T0 ? SCARD_PROTOCOL_T0 : SCARD_PROTOCOL_T1;
    pthread_mutex_unlock(&r->mu);
    return rc;
}

/* The answer to GET_FEATURE_REQUEST: tag, length 4, big-endian control code (Part 10 §2.2). */
static size_t features(uint8_t *out)
{
    static const struct {
        uint8_t tag;
        uint32_t code;
    } f[] = {{FEATURE_GET_TLV_PROPERTIES, IOCTL_TLV_PROPERTIES},
             {FEATURE_CCID_ESC_COMMAND, IOCTL_ESCAPE}};
    size_t k = 0;
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        out[k++] = f[i].tag;
        out[k++] = 4;
        out[k++] = (uint8_t)(f[i].code >> 24);
        out[k++] = (uint8_t)(f[i].code >> 16);
        out[k++] = (uint8_t)(f[i].code >> 8);
        out[k++] = (uint8_t)f[i].code;
    }
    return k;
}

/* FEATURE_GET_TLV_PROPERTIES (Part 10 §2.6.14): tag, length, little-endian value. */
static size_t properties(const struct ifd_reader *r, uint8_t *out)
{
    size_t k = 0;
    uint32_t max_apdu =
        (r->desc.features & CCID_FEATURE_LEVEL_MASK) == CCID_FEATURE_LEVEL_EXTENDED_APDU ? 65536u
                                                                                         : 0u;
    out[k++] = PCSCv2_PART10_PROPERTY_dwMaxAPDUDataSize;
    out[k++] = 4;
    for (int i = 0; i < 4; i++)
        out[k++] = (uint8_t)(max_apdu >> (8 * i));
    out[k++] = PCSCv2_PART10_PROPERTY_wIdVendor;
    out[k++] = 2;
    out[k++] = (uint8_t)VENDOR_ID;
    out[k++] = (uint8_t)(VENDOR_ID >> 8);
    out[k++] = PCSCv2_PART10_PROPERTY_wIdProduct;
    out[k++] = 2;
    out[k++] = (uint8_t)PRODUCT_ID;
    out[k++] = (uint8_t)(PRODUCT_ID >> 8);
    size_t fl = strlen(r->firmware);
    out[k++] = PCSCv2_PART10_PROPERTY_sFirmwareID;
    out[k++] = (uint8_t)fl;
    memcpy(out + k, r->firmware, fl);
    k += fl;
    return k;
}

/* After an escape that ends the reader's session (which powers the card
 * off), the card is powered again if pcscd had it powered. */
static void after_escape(struct ifd_reader *r, const uint8_t *cmd, size_t n, const uint8_t *ans,
                         size_t an)
{
    if (n < 1 || !r->powered)
        return;
    bool ends = cmd[0] == RESC_AUTH_ABORT;
    if (cmd[0] == RESC_AUTH_BEGIN || cmd[0] == RESC_AUTH_NEXT) {
        struct reader_step st;
        ends = !reader_step_parse(ans, an, &st) ||
               (st.status != RESC_STATUS_CONTINUE && st.status != RESC_STATUS_MORE);
    }
    if (ends)
        power_on(r, NULL, NULL);
}

RESPONSECODE IFDHControl(DWORD Lun, DWORD dwControlCode, PUCHAR TxBuffer, DWORD TxLength,
                         PUCHAR RxBuffer, DWORD RxLength, LPDWORD pdwBytesReturned)
{
    struct ifd_reader *r = find(Lun);
    if (!r || !pdwBytesReturned)
        return IFD_COMMUNICATION_ERROR;
    *pdwBytesReturned = 0;
    pthread_mutex_lock(&r->mu);
    RESPONSECODE rc = IFD_SUCCESS;
    uint8_t out[512];
    size_t n = 0;
    if (dwControlCode == CM_IOCTL_GET_FEATURE_REQUEST) {
        n = features(out);
    } else if (dwControlCode == IOCTL_TLV_PROPERTIES) {
        n = properties(r, out);
    } else if (dwControlCode == IOCTL_ESCAPE) {
        if (r->broken && !relink(r)) {
            rc = IFD_NO_SUCH_DEVICE;
        } else {
            enum ccid_link_err e =
                reader_escape(&r->link, TxBuffer, TxLength, RxBuffer, RxLength, &n, LINK_TIMEOUT);
            if (e == CCID_LINK_OK) {
                *pdwBytesReturned = (DWORD)n;
                after_escape(r, TxBuffer, TxLength, RxBuffer, n);
            } else {
                rc = e == CCID_LINK_ERR_TOO_LONG ? IFD_ERROR_INSUFFICIENT_BUFFER : link_error(r, e);
            }
        }
        pthread_mutex_unlock(&r->mu);
        return rc;
    } else {
        rc = IFD_ERROR_NOT_SUPPORTED;
    }
    if (rc == IFD_SUCCESS) {
        if (n > RxLength) {
            rc = IFD_ERROR_INSUFFICIENT_BUFFER;
        } else {
            memcpy(RxBuffer, out, n);
            *pdwBytesReturned = (DWORD)n;
        }
    }
    pthread_mutex_unlock(&r->mu);
    return rc;
}

RESPONSECODE IFDHICCPresence(DWORD Lun)
{
    struct ifd_reader *r = find(Lun);
    if (!r)
        return IFD_COMMUNICATION_ERROR;
    pthread_mutex_lock(&r->mu);
    /* Slot changes arrive as NotifySlotChange (§6.3.1); take those waiting. */
    while (!r->broken && ccid_link_wait_notify(&r->link, 0))
        ;
    /* A closed link shows as a readable socket that reads nothing. */
    if (!r->broken) {
        enum ccid_icc_status icc;
        if (ccid_link_slot_status(&r->link, &icc, LINK_TIMEOUT) == CCID_LINK_OK)
            r->link.card_present = icc != CCID_ICC_ABSENT;
        else
            r->broken = true;
    }
    /* A reader whose link is gone shows an empty slot until it answers again. */
    if (r->broken && !relink(r))
        r->link.card_present = false;
    RESPONSECODE rc = r->link.card_present ? IFD_ICC_PRESENT : IFD_ICC_NOT_PRESENT;
    if (!r->link.card_present)
        r->powered = false;
    pthread_mutex_unlock(&r->mu);
    return rc;
}

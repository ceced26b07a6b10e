/*
 * pcsc_card: one card (or one reader, connected directly) through PC/SC,
 * PCSC-lite's winscard API: the APDU path of the bridge's PC/SC backend.
 *
 *  - pcsc_card_transmit() sends a command APDU (ISO/IEC 7816-4 §5.1) and
 *    returns the whole response, handling the two status words that belong
 *    to the transport, not to the command: 61XX (7816-4 §5.1.3: XX more
 *    bytes are ready: GET RESPONSE with Le = XX, collected, as a T=0 card
 *    needs behind a TPDU-level driver) and 6CXX (wrong Le: the same command
 *    again with Le = XX). A command at the basic channel is answered like
 *    that; the caller sees one response APDU.
 *  - every SCard* call is counted (the benchmark prints them) and the last
 *    failure is kept; errors are PC/SC's own codes, named by pcsc_rv_name()
 *    (SCARD_W_RESET_CARD, SCARD_E_SHARING_VIOLATION...).
 *  - the reader's PC/SC Part 10 features (pcsc_part10.h) through
 *    SCardControl.
 *
 * pcsc-lite blocks inside SCardBeginTransaction for as long as another
 * program holds a transaction on the card, and (unless PCSCLITE_NO_BLOCKING
 * is set before the first SCardEstablishContext) inside SCardTransmit,
 * SCardStatus and SCardReconnect while another holds it exclusively. So the
 * bridge connects exclusively, which fails at once with
 * SCARD_E_SHARING_VIOLATION when anyone else has the card, and retries that
 * for a bounded time; its transaction then never waits for anyone.
 */
#ifndef HAWIYA_PCSC_CARD_H
#define HAWIYA_PCSC_CARD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <PCSC/winscard.h>
#include <PCSC/wintypes.h>

#include "pcsc_part10.h"

/* Part 10 §2.2 and the escape code libccid uses (IOCTL_SMARTCARD_VENDOR_IFD_EXCHANGE). */
#define PCSC_IOCTL_GET_FEATURE_REQUEST SCARD_CTL_CODE(3400)
#define PCSC_IOCTL_CCID_ESCAPE         SCARD_CTL_CODE(1)

#define PCSC_ATR_MAX 33

/* "SCARD_W_RESET_CARD", ... (the names of pcsclite.h); "SCARD_UNKNOWN" otherwise. */
const char *pcsc_rv_name(LONG rv);

/*
 * The SCard* call a thread is inside, for another thread to name when it
 * does not return (libpcsclite waits for pcscd's answer without bound: a
 * pcscd that is stopped or hung holds the caller). `name` is a literal or
 * NULL between calls; `since_ms` is CLOCK_MONOTONIC.
 */
struct pcsc_in_call {
    _Atomic(const char *) name;
    _Atomic int_least64_t since_ms;
};
void pcsc_call_enter(struct pcsc_in_call *w, const char *name);
void pcsc_call_leave(struct pcsc_in_call *w);

struct pcsc_card {
    SCARDCONTEXT ctx;
    SCARDHANDLE h;
    bool connected;
    DWORD protocol; /* SCARD_PROTOCOL_T0 / T1 / RAW; 0 when connected directly */
    uint8_t atr[PCSC_ATR_MAX];
    size_t atr_len;
    unsigned calls;               /* SCard* calls made through this struct */
    unsigned apdus;               /* command APDUs on the wire, GET RESPONSE included */
    LONG last_rv;                 /* the last failure, SCARD_S_SUCCESS when none */
    int busy_waited_ms;           /* how long pcsc_card_connect waited for another program */
    struct pcsc_in_call *in_call; /* NULL, or where each call is published */
};

/*
 * Connects to the card in `reader` (share SCARD_SHARE_EXCLUSIVE or
 * SCARD_SHARE_SHARED, T=0 or T=1 as the card and reader agree), or to the
 * reader itself (SCARD_SHARE_DIRECT, no card needed), and reads the ATR.
 * SCARD_E_SHARING_VIOLATION is retried every 50 ms for busy_wait_ms.
 */
LONG pcsc_card_connect(struct pcsc_card *c, SCARDCONTEXT ctx, const char *reader, DWORD share,
                       int busy_wait_ms);
/* The same, each SCard* call of this card then published in *in_call. */
LONG pcsc_card_connect_watched(struct pcsc_card *c, SCARDCONTEXT ctx, const char *reader,
                               DWORD share, int busy_wait_ms, struct pcsc_in_call *in_call);
/* SCARD_LEAVE_CARD, SCARD_RESET_CARD or SCARD_UNPOWER_CARD. */
LONG pcsc_card_disconnect(struct pcsc_card *c, DWORD disposition);
/* SCardReconnect with the same share mode: `init` SCARD_RESET_CARD resets the card. */
LONG pcsc_card_reconnect(struct pcsc_card *c, DWORD share, DWORD init);
LONG pcsc_card_begin(struct pcsc_card *c);
LONG pcsc_card_end(struct pcsc_card *c, DWORD disposition);

/* One command APDU, the whole response APDU (data + SW) in resp[0..*rlen). */
LONG pcsc_card_transmit(struct pcsc_card *c, const uint8_t *cmd, size_t n, uint8_t *resp,
                        size_t cap, size_t *rlen);

LONG pcsc_card_control(struct pcsc_card *c, DWORD code, const uint8_t *in, size_t n, uint8_t *out,
                       size_t cap, size_t *rlen);

/*
 * The reader's Part 10 features and properties. A reader (or driver) that
 * knows neither answers with an error: that is not a failure here, the
 * features are then all 0 and the properties empty.
 */
void pcsc_card_features(struct pcsc_card *c, struct pcsc10_features *f,
                        struct pcsc10_properties *p);

#endif

/*
 * ccid_link: the host side of a CCID reader on a byte stream (USB CCID 1.1
 * §6 messages over the sim board's host-link socket). It numbers requests
 * (bSeq), waits for the matching RDR_to_PC answer while passing over
 * time-extension answers (§6.2.6, bmCommandStatus 2: the reader asks for more
 * time, at least once a second while the card works) and interrupt-IN
 * notifications (§6.3: card inserted or removed), which it records.
 *
 * The bytes move over a socket (the sim board's host link) by default, or
 * over the caller's transport (struct ccid_link_io: the USB bulk pipes of
 * the libusb backend, where interrupt-IN notifications come apart).
 *
 * An APDU whose XfrBlock would exceed the reader's dwMaxCCIDMessageLength
 * (max_message, from its class descriptor) goes out in pieces chained by
 * wLevelParameter (§6.1.4: 01 begin, 03 continue, 02 end; the reader answers
 * each but the last with an empty DataBlock, bChainParameter 10), and a
 * response the reader chains (bChainParameter 01, 03, then 02) is collected
 * by empty XfrBlocks with wLevelParameter 10, at the extended APDU level.
 *
 * A reader may ask for more time as often as it likes; a call still ends at
 * its deadline (CCID_LINK_ERR_DEADLINE), after which the caller resets the
 * reader. Answers to an earlier request (a liveness probe the caller sent
 * without waiting) are passed over. What went out (a CAN in an escape) and
 * what came in are wiped from the buffers once used.
 */
#ifndef HAWIYA_CCID_LINK_H
#define HAWIYA_CCID_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hawiya/ccid.h"
#include "slot_watch.h"

/* Our reader's slots: 0 the contact slot, 1 the contactless one. A reader
 * with one slot sends the same 2-byte NotifySlotChange, slot 1 always empty. */
#define CCID_LINK_SLOTS 2u

enum ccid_link_err {
    CCID_LINK_OK = 0,
    CCID_LINK_ERR_CONNECT,  /* cannot reach the reader */
    CCID_LINK_ERR_IO,       /* the connection broke */
    CCID_LINK_ERR_TIMEOUT,  /* no answer, and no time extension, within the timeout */
    CCID_LINK_ERR_PROTOCOL, /* a malformed or unexpected message from the reader */
    CCID_LINK_ERR_FAILED,   /* the reader answered "command failed": see berror */
    CCID_LINK_ERR_TOO_LONG, /* the answer does not fit the caller's buffer */
    CCID_LINK_ERR_DEADLINE, /* time extensions went on past the call's or the link's deadline */
};

const char *ccid_link_err_str(enum ccid_link_err e);

/* A transport other than a socket. */
struct ccid_link_io {
    /* Sends n bytes within timeout_ms; false on failure. */
    bool (*send)(void *ctx, const uint8_t *p, size_t n, int timeout_ms);
    /* Receives up to cap bytes within timeout_ms: how many (> 0), 0 when
     * nothing came in time, -1 when the transport failed. */
    int (*recv)(void *ctx, uint8_t *p, size_t cap, int timeout_ms);
    void *ctx;
};

struct ccid_link {
    int fd;
    struct ccid_link_io io; /* used when io.recv is set */
    uint8_t seq;
    uint8_t slot; /* bSlot of power on / off, XfrBlock and slot status (0: contact) */
    uint8_t in[CCID_MAX_MESSAGE_SIZE];
    size_t in_len;
    uint8_t out[CCID_MAX_MESSAGE_SIZE];
    /* what the last answer said */
    uint8_t status, berror;
    /* Deadlines (0: none): every call ends by deadline_ms (absolute, CLOCK_MONOTONIC ms)
     * and within call_max_ms of its start, however many time extensions the reader
     * sends; which one ended it is in deadline_call. */
    int64_t deadline_ms;
    uint32_t call_max_ms;
    bool deadline_call;
    enum ccid_link_err last_err; /* of the last call */
    /* counters */
    uint64_t time_extensions;
    uint64_t notifications;
    bool card_present; /* from the last NotifySlotChange: the contact slot */
    bool present_changed;
    bool cl_present; /* the same for the contactless slot */
    bool cl_changed;
    uint64_t taps;           /* contactless cards arrived since the link opened */
    struct slot_watch watch; /* the same reports, for a host that looks now and then */
    /* The reader's dwMaxCCIDMessageLength (header included): over a socket
     * CCID_LINK_SIM_MAX_MESSAGE until the caller knows better; over io 0
     * until known, which means CCID_MAX_MESSAGE_SIZE. */
    size_t max_message;
    uint64_t chained_blocks; /* XfrBlocks sent as pieces of a chain, both ways */
};

/* dwMaxCCIDMessageLength of our firmware (CCID_DEVICE_MAX_MESSAGE), for a
 * socket to the sim board's reader (or hawiya-serial-link's), which carries
 * no class descriptor: RESC_INFO's RESC_T_CCID_DESCRIPTOR says it too. */
#define CCID_LINK_SIM_MAX_MESSAGE 2048u

enum ccid_link_err ccid_link_open(struct ccid_link *l, const char *path);
/* A link over `io` (fd stays -1). */
void ccid_link_open_io(struct ccid_link *l, const struct ccid_link_io *io);
void ccid_link_close(struct ccid_link *l);

/*
 * Sends `req` (bSeq is set here) and waits for its answer, at most
 * `timeout_ms` between two messages from the reader. The answer's abData is
 * copied to data[0..cap) and its header to *resp (resp->data points there).
 */
enum ccid_link_err ccid_link_transact(struct ccid_link *l, struct ccid_msg *req,
                                      struct ccid_msg *resp, uint8_t *data, size_t cap,
                                      int timeout_ms);

/* The usual sequences. */
enum ccid_link_err ccid_link_power_on(struct ccid_link *l, uint8_t power_select, uint8_t *atr,
                                      size_t cap, size_t *atr_len, int timeout_ms);
enum ccid_link_err ccid_link_power_off(struct ccid_link *l, int timeout_ms);
enum ccid_link_err ccid_link_xfr(struct ccid_link *l, const uint8_t *apdu, size_t len,
                                 uint8_t *resp, size_t cap, size_t *rlen, int timeout_ms);
enum ccid_link_err ccid_link_slot_status(struct ccid_link *l, enum ccid_icc_status *icc,
                                         int timeout_ms);
/* Sends req (bSeq set here) without waiting for its answer: a probe whose
 * answer ccid_link_take() picks up later (ccid_link_transact passes it over). */
enum ccid_link_err ccid_link_send(struct ccid_link *l, struct ccid_msg *req, int timeout_ms);
/* Without waiting: the next answer the reader already sent (notifications
 * are recorded on the way, time extensions passed over) into *resp and
 * data; CCID_LINK_ERR_TIMEOUT when there is none yet. */
enum ccid_link_err ccid_link_take(struct ccid_link *l, struct ccid_msg *resp, uint8_t *data,
                                  size_t cap);
/* Waits up to timeout_ms for a NotifySlotChange; true if one came. */
bool ccid_link_wait_notify(struct ccid_link *l, int timeout_ms);

#endif

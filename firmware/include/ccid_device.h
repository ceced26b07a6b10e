/*
 * ccid_device: the reader's USB CCID 1.1 device class, two slots: slot 0
 * the contact slot (slot.h), slot 1 the contactless one (cl_slot.h). It frames
 * the PC_to_RDR messages of §6.1 arriving on the host link (hal/host_link),
 * runs them on the slot, and answers with the RDR_to_PC messages of §6.2,
 * using the one wire codec of common/ccid. While the card works, it sends
 * DataBlocks with the time-extension status (§6.2.6, bmCommandStatus 2) at
 * least once a second; card insertion and removal go out as
 * RDR_to_PC_NotifySlotChange (§6.3.1).
 *
 * The reader exchanges at the extended APDU level (dwFeatures 0x00040000):
 * it makes the PPS and the T=1 IFSD exchange itself, so the host sends
 * command APDUs in XfrBlock and gets response APDUs back. An APDU longer than
 * one message travels by APDU chaining (§6.1.4 wLevelParameter, §6.2.1
 * bChainParameter): the host sends the command in parts (01, 03 ... 02), each
 * acknowledged by an empty DataBlock "continue" (10); the response comes in
 * DataBlocks 01, 03 ... 02, the host asking for each next one with an empty
 * XfrBlock 10. The reader holds one message of each way at a time and chains
 * the APDU on the card line as it goes (T=1 or ISO-DEP chaining: slot_xfr_*,
 * cl_slot_xfr_*), so a 64 KiB READ BINARY answer and a 4 KiB command pass
 * through a few KiB of RAM.
 * PC_to_RDR_Escape carries the reader's own commands (the session of the
 * ICAO issue); an escape handler can be installed for them.
 *
 * A host that goes away, however it goes (its link closes, or a new host
 * attaches in its place), takes its state with it: the card is powered
 * down, the receive buffer (which held its messages, a CAN among them) is
 * wiped, the escape handler is told (host_gone), and the next host gets
 * the slot's true state in a NotifySlotChange at once. A card exchange
 * under way is abandoned at the next time extension.
 */
#ifndef HAWIYA_FW_CCID_DEVICE_H
#define HAWIYA_FW_CCID_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cl_slot.h"
#include "hawiya/ccid.h"
#include "slot.h"

/* The largest CCID message the reader takes or sends, header included: the
 * class descriptor's dwMaxCCIDMessageLength (§5.1) and the size of the bulk
 * buffers. The one name every layer uses (the USB device layer too).
 * Longer APDUs travel by APDU chaining. The largest single message the
 * reader needs is an escape: SET_CERT with a 1 KiB certificate, or the last
 * step report (certificate, Active Authentication signature, the reader's). */
#define CCID_DEVICE_MAX_MESSAGE 2048u
/* The slots (bSlot): the contact slot, then the contactless one. A board
 * without a contactless front end still has slot 1, always empty. */
#define CCID_SLOT_CONTACT     0u
#define CCID_SLOT_CONTACTLESS 1u
#define CCID_DEVICE_SLOTS     2u
/* bMaxSlotIndex (§5.1) */
#define CCID_DEVICE_MAX_SLOT_INDEX (CCID_DEVICE_SLOTS - 1u)

struct ccid_device;

/* Handles PC_to_RDR_Escape: writes the answer into out (up to cap bytes);
 * returns a CCID bError (0xFF..0x80 or 0 for not supported) or -1 on success. */
typedef int (*ccid_escape_fn)(void *ctx, struct ccid_device *d, const uint8_t *in, size_t n,
                              uint8_t *out, size_t cap, size_t *out_len);
/* The host went away (USB reset or unplug; the sim board's socket closed,
 * or another host took its place): whatever it had started must end. */
typedef void (*ccid_host_gone_fn)(void *ctx, struct ccid_device *d);

struct ccid_device {
    struct slot slot;
    struct cl_slot cl;
    struct ccid_descriptor desc;
    ccid_escape_fn escape;
    void *escape_ctx;
    ccid_host_gone_fn host_gone; /* called with escape_ctx */

    uint8_t rx[CCID_DEVICE_MAX_MESSAGE];
    size_t rx_len;
    /* Answers are built in place, after the header; a response window too. */
    uint8_t tx[CCID_DEVICE_MAX_MESSAGE];
    /* Time extensions go out while a window fills tx. */
    uint8_t tx_short[CCID_HEADER_SIZE];

    /* the command being worked on, for time extensions */
    bool busy;
    uint8_t busy_seq, busy_slot;
    /* an APDU exchange in progress across messages (APDU chaining), on chain_slot */
    enum { CHAIN_IDLE, CHAIN_COMMAND, CHAIN_RESPONSE } chain;
    uint8_t chain_slot;
    bool chain_windows;       /* a window of the response has gone out already */
    uint64_t time_extensions; /* sent since start */
    bool host_connected;
    uint32_t host_attach; /* hal_host_attachments() of the host we serve */
};

void ccid_device_init(struct ccid_device *d, const struct slot_limits *lim);
/* The contactless slot's limits (the defaults: 848 kbit/s, FSD 256). */
void ccid_device_cl_limits(struct ccid_device *d, const struct cl_limits *lim);

/* bmICCStatus (§6.2.6) of the contact slot as it is now. */
enum ccid_icc_status ccid_device_icc_status(const struct ccid_device *d);
/* The same for any slot (bSlot); absent for a slot that does not exist. */
enum ccid_icc_status ccid_device_slot_status(const struct ccid_device *d, uint8_t slot);

/* One turn of the main loop: host messages, card presence. Never blocks
 * longer than a card exchange takes. Every message is wiped from the
 * receive buffer once handled. */
void ccid_device_poll(struct ccid_device *d);

#endif

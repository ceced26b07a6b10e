/*
 * usb_ccid: the reader's CCID interface on USB (CCID 1.1 §3, §5), over the
 * chapter-9 layer of usb_device.h, for boards whose host link is USB.
 *
 * It owns the descriptors (§5.1: interface class 0x0B, the class descriptor
 * of ccid_device with the clocks and data rates the slot really runs,
 * bulk-OUT 0x02, bulk-IN 0x82, interrupt-IN 0x81), the class requests of
 * §5.3 (ABORT, GET_CLOCK_FREQUENCIES, GET_DATA_RATES) and the pipes of §5.2:
 * a bulk-OUT message arrives in 64-byte packets and ends at 10 + dwLength
 * bytes or at a short packet, whichever comes first (a transfer that ends
 * early, runs over, or announces more than dwMaxCCIDMessageLength is
 * answered with bError 1, the offset of dwLength, and dropped: the one
 * announced too long up to its announced end or a short packet);
 * a bulk-IN message leaves in 64-byte packets and, when its length is a
 * multiple of 64, a zero-length packet (USB 2.0 §5.8.3); the interrupt pipe
 * carries RDR_to_PC_NotifySlotChange (merged while the host has not read the
 * previous one: present bits the latest, changed bits accumulated) and
 * RDR_to_PC_HardwareError (§6.3), never lost to a merge.
 *
 * The usb_ccid_host_* functions have the meaning of hal/host_link.h, so a
 * USB board implements its host link with them. Sending blocks until the host
 * has taken the message (as on a real controller, the FIFO holds it), while
 * EP0 keeps being served; it gives up when the host resets, deconfigures,
 * halts the pipe or aborts, or reads nothing for USB_CCID_SEND_IDLE_MS.
 */
#ifndef HAWIYA_FW_USB_CCID_H
#define HAWIYA_FW_USB_CCID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ccid_device.h"
#include "hal/host_link.h"
#include "usb_device.h"

/* pid.codes (VID 0x1209, open-source vendor ID) test PID 0x0001, reserved
 * for testing: replace with an allocated PID before a product ships. */
#define USB_CCID_VID          0x1209u
#define USB_CCID_PID          0x0001u
#define USB_CCID_BCD_DEVICE   0x0100u
#define USB_CCID_EP_BULK_OUT  0x02u
#define USB_CCID_EP_BULK_IN   0x82u
#define USB_CCID_EP_INTERRUPT 0x81u
#define USB_CCID_INTERRUPT_MP 8u  /* HardwareError is 4 bytes, NotifySlotChange 2 */
#define USB_CCID_INTERVAL_MS  16u /* bInterval of the interrupt endpoint */
#define USB_CCID_MAX_POWER_MA 100u
#define USB_CLASS_CCID        0x0Bu
/* CCID 1.1 §5.3, Table 5.3-1 */
#define USB_CCID_REQ_ABORT                 0x01u
#define USB_CCID_REQ_GET_CLOCK_FREQUENCIES 0x02u
#define USB_CCID_REQ_GET_DATA_RATES        0x03u
/* configuration + interface + class + 3 endpoints */
#define USB_CCID_CONFIG_SIZE                                                                       \
    (USB_DT_CONFIGURATION_SIZE + USB_DT_INTERFACE_SIZE + CCID_DESCRIPTOR_SIZE +                    \
     3 * USB_DT_ENDPOINT_SIZE)
/* How long a bulk-IN answer waits for a host that reads nothing. */
#define USB_CCID_SEND_IDLE_MS 5000u

struct usb_ccid {
    struct usb_device usb;
    const struct ccid_device *ccid;
    uint8_t config[USB_CCID_CONFIG_SIZE];
    uint32_t clocks[SLOT_MAX_CLOCKS], rates[SLOT_MAX_RATES];
    size_t nclocks, nrates;

    /* bulk-OUT: one message being received, then held until the CCID layer takes it */
    uint8_t rx[CCID_DEVICE_MAX_MESSAGE + USB_DC_MAX_PACKET];
    size_t rx_len, rx_taken;
    bool rx_ready;     /* rx holds one whole message */
    size_t rx_discard; /* bytes still to drop of a message announced too long */
    /* the answer to a bad transfer, sent after the message on its way, if any */
    uint8_t reject_msg[CCID_HEADER_SIZE];
    bool reject_pending;
    /* bulk-IN: the message being sent (the caller's buffer) */
    const uint8_t *tx;
    size_t tx_len, tx_off;
    bool tx_active, tx_zlp;
    /* interrupt-IN */
    bool int_busy;
    uint8_t int_buf[USB_CCID_INTERRUPT_MP];
    uint8_t notify_pending[USB_CCID_INTERRUPT_MP];
    size_t notify_len;
    uint8_t hw_error_pending[4];
    bool hw_error;

    bool was_configured; /* to report a lost host once (HOST_RX_CLOSED) */
    bool closed;
    uint64_t aborts, rejected, zlps_sent, notifications_merged;
};

/* Builds the descriptors for `d` (already initialised: its class descriptor
 * and slot limits); `serial` (ASCII, may be NULL) names this reader. */
void usb_ccid_init(struct usb_ccid *u, const struct ccid_device *d, const char *manufacturer,
                   const char *product, const char *serial);

/* Handles every pending controller event (never blocks). */
void usb_ccid_poll(struct usb_ccid *u);

/* hal/host_link.h over USB. */
bool usb_ccid_host_connected(struct usb_ccid *u);
enum host_rx usb_ccid_host_recv(struct usb_ccid *u, uint8_t *buf, size_t cap, size_t *n);
void usb_ccid_host_send(struct usb_ccid *u, const uint8_t *msg, size_t n);
void usb_ccid_host_notify(struct usb_ccid *u, const uint8_t *msg, size_t n);

/* RDR_to_PC_HardwareError (§6.3.2) for `slot`, naming the command `seq` that met it. */
void usb_ccid_hardware_error(struct usb_ccid *u, uint8_t slot, uint8_t seq, uint8_t code);

#endif

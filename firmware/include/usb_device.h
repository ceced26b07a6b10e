/*
 * usb_device: USB 2.0 chapter 9 for a full-speed device with one
 * configuration, over the board's device controller (hal/usb_dc.h).
 *
 * It runs the default control pipe: the three stages of a control transfer
 * (§8.5.3; the data stage in packets of bMaxPacketSize0 = 64 bytes, ended by
 * a short packet, or by a zero-length packet when fewer bytes than wLength
 * go back and they are a multiple of 64), the standard requests of §9.4
 * (GET_STATUS, CLEAR/SET_FEATURE for ENDPOINT_HALT, SET_ADDRESS applied after
 * its status stage, GET_DESCRIPTOR for the device, configuration and string
 * descriptors, GET/SET_CONFIGURATION, GET/SET_INTERFACE), and a request error
 * (STALL) for everything else a full-speed, bus-powered device without
 * remote wake-up does not do: DEVICE_QUALIFIER (§9.6.2), TEST_MODE,
 * SET_DESCRIPTOR, SYNCH_FRAME.
 *
 * Class and vendor requests and the packets of the other endpoints belong to
 * the function (the CCID interface, usb_ccid.h) through struct usb_function.
 */
#ifndef HAWIYA_FW_USB_DEVICE_H
#define HAWIYA_FW_USB_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hal/usb_dc.h"

/* The largest control transfer data stage either way (a CCID GET_DATA_RATES
 * list of up to 161 rates is the longest). */
#define USB_DEVICE_EP0_MAX 1024u
#define USB_SETUP_SIZE     8u

/* bmRequestType (§9.3) */
#define USB_DIR_IN          0x80u
#define USB_TYPE_MASK       0x60u
#define USB_TYPE_STANDARD   0x00u
#define USB_TYPE_CLASS      0x20u
#define USB_TYPE_VENDOR     0x40u
#define USB_RECIP_MASK      0x1Fu
#define USB_RECIP_DEVICE    0x00u
#define USB_RECIP_INTERFACE 0x01u
#define USB_RECIP_ENDPOINT  0x02u

/* bRequest (§9.4, Table 9-4) */
enum usb_request {
    USB_REQ_GET_STATUS = 0,
    USB_REQ_CLEAR_FEATURE = 1,
    USB_REQ_SET_FEATURE = 3,
    USB_REQ_SET_ADDRESS = 5,
    USB_REQ_GET_DESCRIPTOR = 6,
    USB_REQ_SET_DESCRIPTOR = 7,
    USB_REQ_GET_CONFIGURATION = 8,
    USB_REQ_SET_CONFIGURATION = 9,
    USB_REQ_GET_INTERFACE = 10,
    USB_REQ_SET_INTERFACE = 11,
    USB_REQ_SYNCH_FRAME = 12,
};

/* Descriptor types (Table 9-5) and feature selectors (Table 9-6) */
#define USB_DT_DEVICE                1u
#define USB_DT_CONFIGURATION         2u
#define USB_DT_STRING                3u
#define USB_DT_INTERFACE             4u
#define USB_DT_ENDPOINT              5u
#define USB_DT_DEVICE_QUALIFIER      6u
#define USB_DT_DEVICE_SIZE           18u
#define USB_DT_CONFIGURATION_SIZE    9u
#define USB_DT_INTERFACE_SIZE        9u
#define USB_DT_ENDPOINT_SIZE         7u
#define USB_FEATURE_ENDPOINT_HALT    0u
#define USB_FEATURE_REMOTE_WAKEUP    1u
#define USB_FEATURE_TEST_MODE        2u
#define USB_LANGID_EN_US             0x0409u
#define USB_STRING_MANUFACTURER      1u
#define USB_STRING_PRODUCT           2u
#define USB_STRING_SERIAL            3u
#define USB_STRING_MAX_CHARS         62u   /* bLength is one byte: 2 + 2 x 62 */
#define USB_CONFIG_ATTR_BUS_POWERED  0x80u /* bmAttributes bit 7 is always one */
#define USB_DEVICE_CONFIGURATION_ONE 1u

struct usb_setup {
    uint8_t request_type; /* bmRequestType */
    uint8_t request;      /* bRequest */
    uint16_t value, index, length;
};

void usb_setup_parse(const uint8_t raw[USB_SETUP_SIZE], struct usb_setup *s);

/* What the device descriptor and the string descriptors say. */
struct usb_device_info {
    uint16_t id_vendor, id_product, bcd_device;
    const char *manufacturer, *product, *serial; /* printable ASCII */
    /* The configuration descriptor with its interface, class and endpoint
     * descriptors (wTotalLength bytes). */
    const uint8_t *config;
    size_t config_len;
};

/* The function behind the device (one interface). */
struct usb_function {
    /*
     * A class or vendor request. For a device-to-host request, write at most
     * setup->length bytes into out and set *n; for host-to-device, `data`
     * holds the setup->length bytes of the data stage. false: request error.
     */
    bool (*request)(void *ctx, const struct usb_setup *setup, const uint8_t *data, uint8_t *out,
                    size_t cap, size_t *n);
    /* The configuration was set (true) or lost: SET_CONFIGURATION 0, a bus
     * reset, a detach. Endpoints are opened by the device layer. */
    void (*configured)(void *ctx, bool on);
    /* An OUT packet or an IN_DONE on one of the function's endpoints. */
    void (*packet)(void *ctx, const struct usb_dc_event *ev);
    /* SET_FEATURE / CLEAR_FEATURE(ENDPOINT_HALT), or SET_INTERFACE: a halted
     * endpoint drops what it was doing; a cleared one starts afresh. */
    void (*halt)(void *ctx, uint8_t ep, bool halted);
    void *ctx;
};

enum usb_device_state {
    USB_STATE_DETACHED = 0,
    USB_STATE_DEFAULT,
    USB_STATE_ADDRESS,
    USB_STATE_CONFIGURED,
};

enum usb_ep0_stage {
    USB_EP0_IDLE = 0,
    USB_EP0_DATA_IN,    /* sending the data stage */
    USB_EP0_DATA_OUT,   /* receiving the data stage */
    USB_EP0_STATUS_IN,  /* our zero-length packet ends the transfer */
    USB_EP0_STATUS_OUT, /* the host's zero-length packet ends it */
    USB_EP0_STALLED,    /* until the next SETUP */
};

struct usb_device {
    struct usb_device_info info;
    struct usb_function fn;
    enum usb_device_state state;
    uint8_t address, configuration;
    bool address_pending;
    uint32_t halted; /* bit (ep & 15) for OUT, 16 + (ep & 15) for IN */

    enum usb_ep0_stage ep0;
    struct usb_setup setup;
    uint8_t ep0_buf[USB_DEVICE_EP0_MAX];
    size_t ep0_len, ep0_off;
    bool ep0_zlp; /* the data stage still owes a zero-length packet */

    uint64_t setups, stalls, resets; /* counters, for tests and logs */
};

void usb_device_init(struct usb_device *u, const struct usb_device_info *info,
                     const struct usb_function *fn);
/* Connects the pull-up (or removes it): the host sees the device come or go. */
void usb_device_attach(struct usb_device *u, bool on);
/* Handles one controller event; false when there was none. */
bool usb_device_poll(struct usb_device *u);
/* One endpoint of the configuration is halted (SET_FEATURE(ENDPOINT_HALT)). */
bool usb_device_halted(const struct usb_device *u, uint8_t ep);

#endif

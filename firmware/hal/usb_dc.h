/*
 * hal/usb_dc: the board's USB 2.0 full-speed device controller, at the level
 * of packets (USB 2.0 §8.4-8.5): what an STM32 OTG_FS or any other device
 * controller does in hardware, and no more. The firmware's USB device layer
 * (firmware/include/usb_device.h) does everything of chapter 9 on top:
 * descriptors, SET_ADDRESS's timing, configurations, halts.
 *
 * Events come one at a time from hal_usb_dc_poll (an interrupt handler's
 * queue on an MCU, a socket on the sim board): a bus reset, a SETUP packet,
 * an OUT packet, an IN packet the host has taken. An OUT endpoint takes one
 * packet and NAKs the next until it is armed again, which is how the device
 * holds the host back while it is busy. An IN endpoint holds one packet
 * until the host takes it. Endpoint addresses carry the direction bit 0x80
 * as in USB 2.0 §9.6.6.
 */
#ifndef HAWIYA_HAL_USB_DC_H
#define HAWIYA_HAL_USB_DC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Full speed: bulk and control packets of at most 64 bytes (USB 2.0 §5.8.3). */
#define USB_DC_MAX_PACKET 64u
#define USB_DC_EP_IN      0x80u

enum usb_dc_ep_type {
    USB_DC_EP_CONTROL = 0,
    USB_DC_EP_ISOCHRONOUS = 1,
    USB_DC_EP_BULK = 2,
    USB_DC_EP_INTERRUPT = 3,
};

enum usb_dc_event_type {
    USB_DC_EVENT_NONE = 0,
    USB_DC_EVENT_RESET,   /* bus reset: address 0, every endpoint but EP0 closed */
    USB_DC_EVENT_DETACH,  /* VBUS gone, or the host closed the link */
    USB_DC_EVENT_SETUP,   /* an 8-byte SETUP packet on EP0 (in data) */
    USB_DC_EVENT_OUT,     /* one OUT packet of len bytes (0: a zero-length packet) on ep */
    USB_DC_EVENT_IN_DONE, /* the host took the packet written on IN endpoint ep */
};

struct usb_dc_event {
    enum usb_dc_event_type type;
    uint8_t ep;
    uint8_t len;
    uint8_t data[USB_DC_MAX_PACKET];
};

/* The next event; false when there is none now. */
bool hal_usb_dc_poll(struct usb_dc_event *ev);
/* Connects the D+ pull-up (the host sees a device) or removes it. */
void hal_usb_dc_attach(bool on);
/* The address SET_ADDRESS gave, applied after its status stage (USB 2.0 §9.4.6). */
void hal_usb_dc_set_address(uint8_t address);
/* Opens a non-control endpoint after SET_CONFIGURATION; close on a new configuration. */
void hal_usb_dc_ep_open(uint8_t ep, enum usb_dc_ep_type type, uint16_t max_packet);
void hal_usb_dc_ep_close(uint8_t ep);
/* Queues one packet (0..max_packet bytes) on an IN endpoint; false while the
 * previous one has not been taken. */
bool hal_usb_dc_ep_write(uint8_t ep, const uint8_t *data, size_t len);
/* Drops a packet queued on an IN endpoint and not taken (a halt, an abort). */
void hal_usb_dc_ep_flush(uint8_t ep);
/* Lets an OUT endpoint take its next packet. */
void hal_usb_dc_ep_arm(uint8_t ep);
/* STALL handshakes on ep until cleared (EP0: until the next SETUP). */
void hal_usb_dc_ep_stall(uint8_t ep, bool stall);

#endif

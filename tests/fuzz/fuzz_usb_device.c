/*
 * The reader's USB device layer (firmware/src/usb_device.c, usb_ccid.c) fed
 * what a hostile host can send: a sequence of controller events (bus reset,
 * SETUP packets, OUT packets of 0-64 bytes on any endpoint, IN packets taken
 * or not) from the input, with the CCID layer taking every bulk-OUT message
 * as ccid_device would, and answering it with a message of the input's
 * length. The mock controller checks the HAL's contract: one packet in flight
 * per IN endpoint, none longer than 64 bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ccid_device.h"
#include "mock_board.h"
#include "usb_ccid.h"

static struct {
    const uint8_t *p;
    size_t n;
    bool busy[32];
    bool armed[32];
} F;

static unsigned idx(uint8_t ep)
{
    return (ep & USB_DC_EP_IN ? 16u : 0u) + (ep & 15u);
}

static int take(void)
{
    if (F.n == 0)
        return -1;
    F.n--;
    return *F.p++;
}

bool hal_usb_dc_poll(struct usb_dc_event *ev)
{
    int k = take();
    if (k < 0)
        return false;
    memset(ev, 0, sizeof *ev);
    switch (k % 5) {
    case 0: ev->type = USB_DC_EVENT_RESET; break;
    case 1:
        ev->type = USB_DC_EVENT_SETUP;
        ev->len = USB_SETUP_SIZE;
        break;
    case 2:
        ev->type = USB_DC_EVENT_OUT;
        ev->ep = (uint8_t)((k / 5) & 3u);
        ev->len = (uint8_t)(take() & 0x7F);
        if (ev->len > USB_DC_MAX_PACKET)
            ev->len = USB_DC_MAX_PACKET;
        break;
    case 3:
        ev->type = USB_DC_EVENT_IN_DONE;
        ev->ep = (uint8_t)(USB_DC_EP_IN | ((k / 5) & 3u));
        F.busy[idx(ev->ep)] = false;
        return true;
    default: ev->type = USB_DC_EVENT_DETACH; return true;
    }
    for (size_t i = 0; i < ev->len; i++) {
        int b = take();
        ev->data[i] = (uint8_t)(b < 0 ? 0 : b);
    }
    return true;
}

void hal_usb_dc_attach(bool on)
{
    (void)on;
}

void hal_usb_dc_set_address(uint8_t address)
{
    if (address > 127)
        abort();
}

void hal_usb_dc_ep_open(uint8_t ep, enum usb_dc_ep_type type, uint16_t max_packet)
{
    (void)type;
    if (max_packet > USB_DC_MAX_PACKET)
        abort();
    F.busy[idx(ep)] = false;
}

void hal_usb_dc_ep_close(uint8_t ep)
{
    F.busy[idx(ep)] = F.armed[idx(ep)] = false;
}

bool hal_usb_dc_ep_write(uint8_t ep, const uint8_t *data, size_t len)
{
    if (!(ep & USB_DC_EP_IN) || len > USB_DC_MAX_PACKET || (len && !data))
        abort();
    volatile uint8_t sink = 0;
    for (size_t i = 0; i < len; i++)
        sink ^= data[i]; /* ASan sees a read past the message */
    (void)sink;
    if (F.busy[idx(ep)])
        return false;
    F.busy[idx(ep)] = true;
    return true;
}

void hal_usb_dc_ep_flush(uint8_t ep)
{
    F.busy[idx(ep)] = false;
}

void hal_usb_dc_ep_arm(uint8_t ep)
{
    F.armed[idx(ep)] = true;
}

void hal_usb_dc_ep_stall(uint8_t ep, bool stall)
{
    (void)ep;
    (void)stall;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ccid_device dev;
static struct usb_ccid usb;
static uint8_t msg[CCID_DEVICE_MAX_MESSAGE];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool init;
    if (!init) {
        struct slot_limits lim = {.classes = 0x0E,
                                  .clk_max_hz = 20000000,
                                  .max_baud = 825000,
                                  .di_supported = 0x03FE,
                                  .ifsd = 254};
        mock_board_reset(1);
        ccid_device_init(&dev, &lim);
        init = true;
    }
    memset(&F, 0, sizeof F);
    F.p = data;
    F.n = size;
    usb_ccid_init(&usb, &dev, "Hawiya", "fuzz", "0");
    usb_device_attach(&usb.usb, true);
    /* The CCID layer's side: takes messages, answers some, notifies. */
    for (int turn = 0; turn < 64 && F.n > 0; turn++) {
        size_t n;
        enum host_rx r = usb_ccid_host_recv(&usb, msg, sizeof msg, &n);
        if (r == HOST_RX_OK && n > 0) {
            size_t answer = n < 4 ? n : (size_t)msg[n - 1] * 3u;
            usb_ccid_host_send(&usb, msg, answer < sizeof msg ? answer : sizeof msg);
        }
        if (turn % 7 == 0)
            usb_ccid_host_notify(&usb, (const uint8_t[]){0x50, (uint8_t)(turn & 3)}, 2);
        if (turn % 11 == 0)
            usb_ccid_hardware_error(&usb, 0, (uint8_t)turn, 1);
    }
    return 0;
}

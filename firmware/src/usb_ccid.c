#include "usb_ccid.h"

#include <string.h>

#include "hawiya/wipe.h"

#include "hal/board.h"

/* ---- descriptors (CCID 1.1 §5.1, USB 2.0 §9.6) ------------------------------ */

static uint8_t *put_endpoint(uint8_t *p, uint8_t ep, uint8_t attributes, uint16_t mps,
                             uint8_t interval)
{
    const uint8_t d[USB_DT_ENDPOINT_SIZE] = {
        USB_DT_ENDPOINT_SIZE, USB_DT_ENDPOINT,     ep,      attributes,
        (uint8_t)mps,         (uint8_t)(mps >> 8), interval};
    memcpy(p, d, sizeof d);
    return p + sizeof d;
}

static void build_config(struct usb_ccid *u)
{
    struct ccid_descriptor cd = u->ccid->desc;
    uint8_t *p = u->config;
    const uint8_t config[USB_DT_CONFIGURATION_SIZE] = {USB_DT_CONFIGURATION_SIZE,
                                                       USB_DT_CONFIGURATION,
                                                       (uint8_t)USB_CCID_CONFIG_SIZE,
                                                       (uint8_t)(USB_CCID_CONFIG_SIZE >> 8),
                                                       1, /* bNumInterfaces */
                                                       USB_DEVICE_CONFIGURATION_ONE,
                                                       0, /* iConfiguration */
                                                       USB_CONFIG_ATTR_BUS_POWERED,
                                                       USB_CCID_MAX_POWER_MA / 2};
    const uint8_t iface[USB_DT_INTERFACE_SIZE] = {USB_DT_INTERFACE_SIZE,
                                                  USB_DT_INTERFACE,
                                                  0, /* bInterfaceNumber */
                                                  0, /* bAlternateSetting */
                                                  3, /* bNumEndpoints */
                                                  USB_CLASS_CCID,
                                                  0, /* bInterfaceSubClass */
                                                  0, /* bInterfaceProtocol: bulk + interrupt */
                                                  0};
    memcpy(p, config, sizeof config);
    p += sizeof config;
    memcpy(p, iface, sizeof iface);
    p += sizeof iface;
    size_t n = 0;
    ccid_encode_descriptor(&cd, p, CCID_DESCRIPTOR_SIZE, &n);
    p += CCID_DESCRIPTOR_SIZE;
    p = put_endpoint(p, USB_CCID_EP_BULK_OUT, USB_DC_EP_BULK, USB_DC_MAX_PACKET, 0);
    p = put_endpoint(p, USB_CCID_EP_BULK_IN, USB_DC_EP_BULK, USB_DC_MAX_PACKET, 0);
    put_endpoint(p, USB_CCID_EP_INTERRUPT, USB_DC_EP_INTERRUPT, USB_CCID_INTERRUPT_MP,
                 USB_CCID_INTERVAL_MS);
}

/* ---- the pipes ----------------------------------------------------------------- */

static void rx_reset(struct usb_ccid *u)
{
    wipe(u->rx, u->rx_len); /* a bulk-OUT message may have carried a CAN */
    u->rx_len = u->rx_taken = 0;
    u->rx_ready = false;
    u->rx_discard = 0;
}

static void tx_next(struct usb_ccid *u)
{
    size_t left = u->tx_len - u->tx_off;
    size_t k = left < USB_DC_MAX_PACKET ? left : USB_DC_MAX_PACKET;
    if (k == 0 && !u->tx_zlp) {
        u->tx_active = false;
        return;
    }
    if (k == 0) {
        u->tx_zlp = false;
        u->zlps_sent++;
    }
    hal_usb_dc_ep_write(USB_CCID_EP_BULK_IN, u->tx + u->tx_off, k);
    u->tx_off += k;
}

static void tx_drop(struct usb_ccid *u)
{
    if (u->tx_active)
        hal_usb_dc_ep_flush(USB_CCID_EP_BULK_IN);
    u->tx_active = false;
}

static void int_write(struct usb_ccid *u, const uint8_t *m, size_t n)
{
    memcpy(u->int_buf, m, n);
    u->int_busy = true;
    hal_usb_dc_ep_write(USB_CCID_EP_INTERRUPT, u->int_buf, n);
}

static void int_next(struct usb_ccid *u)
{
    u->int_busy = false;
    if (u->hw_error) {
        u->hw_error = false;
        int_write(u, u->hw_error_pending, sizeof u->hw_error_pending);
    } else if (u->notify_len) {
        size_t n = u->notify_len;
        u->notify_len = 0;
        int_write(u, u->notify_pending, n);
    }
}

static void send_reject(struct usb_ccid *u)
{
    u->reject_pending = false;
    usb_ccid_host_send(u, u->reject_msg, sizeof u->reject_msg);
}

/* A bulk-OUT transfer that does not make one message: §6.2.6 names the byte
 * at fault, here dwLength (offset 1); the answer carries the header's bSeq. */
static void reject(struct usb_ccid *u, const uint8_t *hdr, size_t len)
{
    struct ccid_msg m = {.type = CCID_RDR_TO_PC_SLOT_STATUS,
                         .slot = len > 5 ? hdr[5] : 0,
                         .seq = len > 6 ? hdr[6] : 0,
                         .error = 1,
                         .clock_status = CCID_CLOCK_STOPPED_UNKNOWN};
    size_t n;
    m.status = ccid_status(ccid_device_icc_status(u->ccid), CCID_CMD_FAILED);
    u->rejected++;
    if (ccid_encode(&m, u->reject_msg, sizeof u->reject_msg, &n) != CCID_OK)
        return;
    /* While an answer is on its way (the host sent the next transfer before
     * reading it), this one waits its turn behind it. */
    u->reject_pending = true;
    if (!u->tx_active)
        send_reject(u);
}

static void on_bulk_out(struct usb_ccid *u, const struct usb_dc_event *ev)
{
    bool last = ev->len < USB_DC_MAX_PACKET; /* a short packet ends the transfer */
    if (u->rx_ready)
        return; /* the endpoint was not armed: the controller NAKed it */
    if (u->rx_discard) {
        /* The rest of a message announced above our maximum: up to its
         * announced end, or the transfer's. */
        u->rx_discard = last ? 0 : u->rx_discard > ev->len ? u->rx_discard - ev->len : 0;
        hal_usb_dc_ep_arm(USB_CCID_EP_BULK_OUT);
        return;
    }
    if (u->rx_len == 0 && ev->len == 0) {
        /* A zero-length packet after a message of a multiple of 64 bytes. */
        hal_usb_dc_ep_arm(USB_CCID_EP_BULK_OUT);
        return;
    }
    size_t want = 0;
    /* rx_len < 10 + dwLength <= the maximum here: one more packet fits. */
    memcpy(u->rx + u->rx_len, ev->data, ev->len);
    u->rx_len += ev->len;
    bool bad = last && u->rx_len < CCID_HEADER_SIZE; /* a header cut short */
    if (u->rx_len >= CCID_HEADER_SIZE) {
        want = CCID_HEADER_SIZE + ((size_t)u->rx[1] | (size_t)u->rx[2] << 8 |
                                   (size_t)u->rx[3] << 16 | (size_t)u->rx[4] << 24);
        /* Above the maximum; more in the transfer than announced; less. */
        bad = want > CCID_DEVICE_MAX_MESSAGE || u->rx_len > want || (last && u->rx_len < want);
    }
    if (bad) {
        uint8_t hdr[CCID_HEADER_SIZE];
        size_t hl = u->rx_len < sizeof hdr ? u->rx_len : sizeof hdr;
        memcpy(hdr, u->rx, hl);
        size_t left = !last && want > u->rx_len ? want - u->rx_len : 0;
        rx_reset(u);
        u->rx_discard = left;
        hal_usb_dc_ep_arm(USB_CCID_EP_BULK_OUT);
        reject(u, hdr, hl);
        return;
    }
    if (u->rx_len == want) {
        u->rx_ready = true; /* NAK the next one until the CCID layer took this */
        return;
    }
    hal_usb_dc_ep_arm(USB_CCID_EP_BULK_OUT);
}

/* ---- struct usb_function ------------------------------------------------------- */

static size_t put_list(const uint32_t *v, size_t count, uint8_t *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < count && n + 4 <= cap; i++, n += 4) {
        out[n] = (uint8_t)v[i];
        out[n + 1] = (uint8_t)(v[i] >> 8);
        out[n + 2] = (uint8_t)(v[i] >> 16);
        out[n + 3] = (uint8_t)(v[i] >> 24);
    }
    return n;
}

static bool on_request(void *ctx, const struct usb_setup *s, const uint8_t *data, uint8_t *out,
                       size_t cap, size_t *n)
{
    struct usb_ccid *u = ctx;
    (void)data;
    bool in = (s->request_type & USB_DIR_IN) != 0;
    /* §5.3: class requests to interface 0. */
    if ((s->request_type & USB_TYPE_MASK) != USB_TYPE_CLASS ||
        (s->request_type & USB_RECIP_MASK) != USB_RECIP_INTERFACE || s->index != 0)
        return false;
    switch (s->request) {
    case USB_CCID_REQ_ABORT:
        /* wValue: bSeq << 8 | bSlot. The command of that slot is dropped
         * (its answer, if waiting) and PC_to_RDR_Abort follows on bulk-OUT. */
        if (in || s->length != 0 || (s->value & 0xFF) > CCID_DEVICE_MAX_SLOT_INDEX)
            return false;
        u->aborts++;
        tx_drop(u);
        if (!u->rx_ready)
            rx_reset(u);
        return true;
    case USB_CCID_REQ_GET_CLOCK_FREQUENCIES:
        if (!in || s->value != 0)
            return false;
        *n = put_list(u->clocks, u->nclocks, out, cap);
        return true;
    case USB_CCID_REQ_GET_DATA_RATES:
        if (!in || s->value != 0)
            return false;
        *n = put_list(u->rates, u->nrates, out, cap);
        return true;
    default: return false;
    }
}

static void on_configured(void *ctx, bool on)
{
    struct usb_ccid *u = ctx;
    rx_reset(u);
    u->reject_pending = false;
    u->tx_active = false;
    u->int_busy = u->hw_error = false;
    u->notify_len = 0;
    if (!on && u->was_configured)
        u->closed = true;
    u->was_configured = on;
}

static void on_packet(void *ctx, const struct usb_dc_event *ev)
{
    struct usb_ccid *u = ctx;
    if (ev->type == USB_DC_EVENT_OUT && ev->ep == USB_CCID_EP_BULK_OUT)
        on_bulk_out(u, ev);
    else if (ev->type == USB_DC_EVENT_IN_DONE && ev->ep == USB_CCID_EP_BULK_IN && u->tx_active)
        tx_next(u);
    else if (ev->type == USB_DC_EVENT_IN_DONE && ev->ep == USB_CCID_EP_INTERRUPT)
        int_next(u);
}

static void on_halt(void *ctx, uint8_t ep, bool halted)
{
    struct usb_ccid *u = ctx;
    if (ep == USB_CCID_EP_BULK_IN)
        tx_drop(u);
    else if (ep == USB_CCID_EP_BULK_OUT) {
        rx_reset(u);
        if (!halted)
            hal_usb_dc_ep_arm(USB_CCID_EP_BULK_OUT);
    } else if (ep == USB_CCID_EP_INTERRUPT) {
        u->int_busy = false;
        hal_usb_dc_ep_flush(USB_CCID_EP_INTERRUPT);
    }
}

void usb_ccid_init(struct usb_ccid *u, const struct ccid_device *d, const char *manufacturer,
                   const char *product, const char *serial)
{
    memset(u, 0, sizeof *u);
    u->ccid = d;
    u->nclocks = slot_clocks_khz(&d->slot.lim, u->clocks);
    u->nrates = slot_data_rates(&d->slot.lim, u->rates);
    build_config(u);
    const struct usb_device_info info = {.id_vendor = USB_CCID_VID,
                                         .id_product = USB_CCID_PID,
                                         .bcd_device = USB_CCID_BCD_DEVICE,
                                         .manufacturer = manufacturer,
                                         .product = product,
                                         .serial = serial,
                                         .config = u->config,
                                         .config_len = sizeof u->config};
    const struct usb_function fn = {.request = on_request,
                                    .configured = on_configured,
                                    .packet = on_packet,
                                    .halt = on_halt,
                                    .ctx = u};
    usb_device_init(&u->usb, &info, &fn);
}

void usb_ccid_poll(struct usb_ccid *u)
{
    while (usb_device_poll(&u->usb))
        ;
}

/* ---- hal/host_link over USB -------------------------------------------------- */

bool usb_ccid_host_connected(struct usb_ccid *u)
{
    usb_ccid_poll(u);
    return u->usb.state == USB_STATE_CONFIGURED;
}

enum host_rx usb_ccid_host_recv(struct usb_ccid *u, uint8_t *buf, size_t cap, size_t *n)
{
    *n = 0;
    usb_ccid_poll(u);
    if (u->closed) {
        u->closed = false;
        return HOST_RX_CLOSED;
    }
    if (!u->rx_ready || cap == 0)
        return HOST_RX_IDLE;
    size_t k = u->rx_len - u->rx_taken;
    if (k > cap)
        k = cap;
    memcpy(buf, u->rx + u->rx_taken, k);
    u->rx_taken += k;
    *n = k;
    if (u->rx_taken == u->rx_len) {
        rx_reset(u);
        hal_usb_dc_ep_arm(USB_CCID_EP_BULK_OUT);
    }
    return HOST_RX_OK;
}

void usb_ccid_host_send(struct usb_ccid *u, const uint8_t *msg, size_t n)
{
    if (u->usb.state != USB_STATE_CONFIGURED || usb_device_halted(&u->usb, USB_CCID_EP_BULK_IN))
        return;
    u->tx = msg;
    u->tx_len = n;
    u->tx_off = 0;
    u->tx_zlp = n % USB_DC_MAX_PACKET == 0;
    u->tx_active = true;
    tx_next(u);
    uint32_t idle_ms = 0;
    while (u->tx_active && u->usb.state == USB_STATE_CONFIGURED) {
        if (usb_device_poll(&u->usb)) {
            idle_ms = 0;
            continue;
        }
        if (idle_ms >= USB_CCID_SEND_IDLE_MS) {
            tx_drop(u);
            break;
        }
        hal_idle(10);
        idle_ms += 10;
    }
    u->tx_active = false;
    if (u->reject_pending)
        send_reject(u);
}

void usb_ccid_host_notify(struct usb_ccid *u, const uint8_t *msg, size_t n)
{
    if (u->usb.state != USB_STATE_CONFIGURED || n == 0 || n > USB_CCID_INTERRUPT_MP)
        return;
    if (!u->int_busy) {
        int_write(u, msg, n);
        return;
    }
    if (msg[0] == CCID_RDR_TO_PC_HARDWARE_ERROR && n == sizeof u->hw_error_pending) {
        memcpy(u->hw_error_pending, msg, n);
        u->hw_error = true;
        return;
    }
    if (msg[0] == CCID_RDR_TO_PC_NOTIFY_SLOT_CHANGE && u->notify_len == n) {
        /* §6.3.1: bit 0 of each pair is "present" now, bit 1 "changed since the
         * last report": the latest presence, every change. */
        for (size_t i = 1; i < n; i++)
            u->notify_pending[i] =
                (uint8_t)((msg[i] & 0x55u) | ((u->notify_pending[i] | msg[i]) & 0xAAu));
        u->notifications_merged++;
        return;
    }
    memcpy(u->notify_pending, msg, n);
    u->notify_len = n;
}

void usb_ccid_hardware_error(struct usb_ccid *u, uint8_t slot, uint8_t seq, uint8_t code)
{
    struct ccid_interrupt it = {.type = CCID_RDR_TO_PC_HARDWARE_ERROR,
                                .slot = slot,
                                .seq = seq,
                                .hardware_error_code = code};
    uint8_t buf[USB_CCID_INTERRUPT_MP];
    size_t n;
    if (ccid_encode_interrupt(&it, buf, sizeof buf, &n) == CCID_OK)
        usb_ccid_host_notify(u, buf, n);
}

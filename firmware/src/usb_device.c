#include "usb_device.h"

#include <string.h>

void usb_setup_parse(const uint8_t raw[USB_SETUP_SIZE], struct usb_setup *s)
{
    s->request_type = raw[0];
    s->request = raw[1];
    s->value = (uint16_t)(raw[2] | raw[3] << 8);
    s->index = (uint16_t)(raw[4] | raw[5] << 8);
    s->length = (uint16_t)(raw[6] | raw[7] << 8);
}

static unsigned halt_bit(uint8_t ep)
{
    return (ep & USB_DC_EP_IN ? 16u : 0u) + (ep & 0x0Fu);
}

bool usb_device_halted(const struct usb_device *u, uint8_t ep)
{
    return (u->halted >> halt_bit(ep)) & 1u;
}

void usb_device_init(struct usb_device *u, const struct usb_device_info *info,
                     const struct usb_function *fn)
{
    memset(u, 0, sizeof *u);
    u->info = *info;
    u->fn = *fn;
}

/* The endpoint descriptors of the configuration (§9.6.6), one per call from
 * *off (start at 0); NULL after the last. */
static const uint8_t *next_endpoint(const struct usb_device *u, size_t *off)
{
    const uint8_t *p = u->info.config;
    size_t n = u->info.config_len;
    while (*off + 2 <= n && p[*off] >= 2 && *off + p[*off] <= n) {
        const uint8_t *d = p + *off;
        *off += d[0];
        if (d[1] == USB_DT_ENDPOINT && d[0] >= USB_DT_ENDPOINT_SIZE)
            return d;
    }
    return NULL;
}

static bool has_endpoint(const struct usb_device *u, uint8_t ep)
{
    size_t off = 0;
    for (const uint8_t *d; (d = next_endpoint(u, &off)) != NULL;)
        if (d[2] == ep)
            return true;
    return false;
}

static void deconfigure(struct usb_device *u)
{
    if (u->configuration) {
        size_t off = 0;
        for (const uint8_t *d; (d = next_endpoint(u, &off)) != NULL;)
            hal_usb_dc_ep_close(d[2]);
        u->configuration = 0;
        u->halted = 0;
        if (u->fn.configured)
            u->fn.configured(u->fn.ctx, false);
    }
}

void usb_device_attach(struct usb_device *u, bool on)
{
    if (!on)
        deconfigure(u);
    u->state = on ? USB_STATE_DEFAULT : USB_STATE_DETACHED;
    u->ep0 = USB_EP0_IDLE;
    hal_usb_dc_attach(on);
}

/* ---- EP0 stages ------------------------------------------------------------ */

static void ep0_stall(struct usb_device *u)
{
    hal_usb_dc_ep_stall(0, true);
    hal_usb_dc_ep_stall(USB_DC_EP_IN, true);
    u->ep0 = USB_EP0_STALLED;
    u->stalls++;
}

/* The next packet of the IN data stage (§8.5.3.2: a short packet, or a ZLP
 * when fewer bytes than wLength go back and they end on a packet boundary). */
static void ep0_send_next(struct usb_device *u)
{
    size_t left = u->ep0_len - u->ep0_off;
    size_t k = left < USB_DC_MAX_PACKET ? left : USB_DC_MAX_PACKET;
    if (k == 0 && !u->ep0_zlp) {
        u->ep0 = USB_EP0_STATUS_OUT;
        hal_usb_dc_ep_arm(0);
        return;
    }
    if (k == 0)
        u->ep0_zlp = false;
    hal_usb_dc_ep_write(USB_DC_EP_IN, u->ep0_buf + u->ep0_off, k);
    u->ep0_off += k;
}

static void ep0_data_in(struct usb_device *u, size_t n)
{
    if (n > u->setup.length)
        n = u->setup.length;
    u->ep0_len = n;
    u->ep0_off = 0;
    u->ep0_zlp = n < u->setup.length && n % USB_DC_MAX_PACKET == 0;
    u->ep0 = USB_EP0_DATA_IN;
    /* The host may end the data stage early with its status packet. */
    hal_usb_dc_ep_arm(0);
    ep0_send_next(u);
}

static void ep0_status_in(struct usb_device *u)
{
    u->ep0 = USB_EP0_STATUS_IN;
    hal_usb_dc_ep_write(USB_DC_EP_IN, NULL, 0);
}

/* ---- standard requests (§9.4) ---------------------------------------------- */

static size_t string_descriptor(const char *s, uint8_t *out)
{
    size_t n = 0;
    while (s && s[n] && n < USB_STRING_MAX_CHARS) {
        out[2 + 2 * n] = (uint8_t)s[n];
        out[3 + 2 * n] = 0;
        n++;
    }
    out[0] = (uint8_t)(2 + 2 * n);
    out[1] = USB_DT_STRING;
    return 2 + 2 * n;
}

static bool get_descriptor(struct usb_device *u, size_t *n)
{
    uint8_t type = (uint8_t)(u->setup.value >> 8), index = (uint8_t)u->setup.value;
    uint8_t *o = u->ep0_buf;
    const struct usb_device_info *i = &u->info;
    switch (type) {
    case USB_DT_DEVICE: {
        const uint8_t d[USB_DT_DEVICE_SIZE] = {USB_DT_DEVICE_SIZE,
                                               USB_DT_DEVICE,
                                               0x00,
                                               0x02, /* bcdUSB 2.00 */
                                               0x00,
                                               0x00,
                                               0x00, /* class in the interface descriptor */
                                               USB_DC_MAX_PACKET,
                                               (uint8_t)i->id_vendor,
                                               (uint8_t)(i->id_vendor >> 8),
                                               (uint8_t)i->id_product,
                                               (uint8_t)(i->id_product >> 8),
                                               (uint8_t)i->bcd_device,
                                               (uint8_t)(i->bcd_device >> 8),
                                               i->manufacturer ? USB_STRING_MANUFACTURER : 0,
                                               i->product ? USB_STRING_PRODUCT : 0,
                                               i->serial ? USB_STRING_SERIAL : 0,
                                               1 /* bNumConfigurations */};
        memcpy(o, d, sizeof d);
        *n = sizeof d;
        return index == 0;
    }
    case USB_DT_CONFIGURATION:
        if (index != 0 || i->config_len > sizeof u->ep0_buf)
            return false;
        memcpy(o, i->config, i->config_len);
        *n = i->config_len;
        return true;
    case USB_DT_STRING:
        if (index == 0) {
            const uint8_t langs[4] = {4, USB_DT_STRING, (uint8_t)USB_LANGID_EN_US,
                                      (uint8_t)(USB_LANGID_EN_US >> 8)};
            memcpy(o, langs, sizeof langs);
            *n = sizeof langs;
            return true;
        }
        if (u->setup.index != USB_LANGID_EN_US)
            return false;
        if (index == USB_STRING_MANUFACTURER && i->manufacturer)
            *n = string_descriptor(i->manufacturer, o);
        else if (index == USB_STRING_PRODUCT && i->product)
            *n = string_descriptor(i->product, o);
        else if (index == USB_STRING_SERIAL && i->serial)
            *n = string_descriptor(i->serial, o);
        else
            return false;
        return true;
    default:
        /* DEVICE_QUALIFIER and OTHER_SPEED_CONFIGURATION: a full-speed-only
         * device answers with a request error (§9.6.2). */
        return false;
    }
}

static void set_configuration(struct usb_device *u, uint8_t value)
{
    deconfigure(u);
    if (value == USB_DEVICE_CONFIGURATION_ONE) {
        u->configuration = value;
        u->state = USB_STATE_CONFIGURED;
        size_t off = 0;
        for (const uint8_t *d; (d = next_endpoint(u, &off)) != NULL;) {
            hal_usb_dc_ep_open(d[2], (enum usb_dc_ep_type)(d[3] & 3u),
                               (uint16_t)(d[4] | d[5] << 8));
            if (!(d[2] & USB_DC_EP_IN))
                hal_usb_dc_ep_arm(d[2]);
        }
        if (u->fn.configured)
            u->fn.configured(u->fn.ctx, true);
    } else {
        u->state = USB_STATE_ADDRESS;
    }
}

static void set_halt(struct usb_device *u, uint8_t ep, bool halt)
{
    if (halt)
        u->halted |= 1u << halt_bit(ep);
    else
        u->halted &= ~(1u << halt_bit(ep));
    hal_usb_dc_ep_stall(ep, halt);
    if (u->fn.halt)
        u->fn.halt(u->fn.ctx, ep, halt);
}

static void clear_halts(struct usb_device *u)
{
    size_t off = 0;
    for (const uint8_t *d; (d = next_endpoint(u, &off)) != NULL;)
        if (usb_device_halted(u, d[2]))
            set_halt(u, d[2], false);
}

/* false: a request error. *in: a data stage to the host of *n bytes in ep0_buf. */
static bool standard_request(struct usb_device *u, bool *in, size_t *n)
{
    const struct usb_setup *s = &u->setup;
    uint8_t recip = s->request_type & USB_RECIP_MASK;
    bool configured = u->state == USB_STATE_CONFIGURED;
    uint8_t ep = (uint8_t)s->index;
    bool ep_ok =
        recip == USB_RECIP_ENDPOINT && ((ep & 0x7Fu) == 0 || (configured && has_endpoint(u, ep)));
    bool if_ok = recip == USB_RECIP_INTERFACE && configured && s->index == 0;

    *in = (s->request_type & USB_DIR_IN) != 0;
    *n = 0;
    switch (s->request) {
    case USB_REQ_GET_STATUS:
        if (!*in || s->value != 0 || s->length != 2)
            return false;
        u->ep0_buf[0] = u->ep0_buf[1] = 0; /* bus-powered, no remote wake-up */
        if (recip == USB_RECIP_ENDPOINT && ep_ok)
            u->ep0_buf[0] = usb_device_halted(u, ep) ? 1 : 0;
        else if (!(recip == USB_RECIP_DEVICE && s->index == 0) && !if_ok)
            return false;
        *n = 2;
        return true;
    case USB_REQ_CLEAR_FEATURE:
    case USB_REQ_SET_FEATURE:
        if (*in || s->length != 0 || recip != USB_RECIP_ENDPOINT || !ep_ok ||
            s->value != USB_FEATURE_ENDPOINT_HALT)
            return false; /* no remote wake-up, no test modes at full speed */
        if ((ep & 0x7Fu) != 0)
            set_halt(u, ep, s->request == USB_REQ_SET_FEATURE);
        return true;
    case USB_REQ_SET_ADDRESS:
        if (*in || recip != USB_RECIP_DEVICE || s->value > 127 || s->index || s->length ||
            configured)
            return false;
        u->address = (uint8_t)s->value;
        u->address_pending = true;
        return true;
    case USB_REQ_GET_DESCRIPTOR: return *in && recip == USB_RECIP_DEVICE && get_descriptor(u, n);
    case USB_REQ_GET_CONFIGURATION:
        if (!*in || recip != USB_RECIP_DEVICE || s->value || s->index || s->length != 1)
            return false;
        u->ep0_buf[0] = u->configuration;
        *n = 1;
        return true;
    case USB_REQ_SET_CONFIGURATION:
        if (*in || recip != USB_RECIP_DEVICE || (s->value & 0xFF) > USB_DEVICE_CONFIGURATION_ONE ||
            s->value > 0xFF || s->index || s->length || u->state == USB_STATE_DEFAULT)
            return false;
        set_configuration(u, (uint8_t)s->value);
        return true;
    case USB_REQ_GET_INTERFACE:
        if (!*in || !if_ok || s->value || s->length != 1)
            return false;
        u->ep0_buf[0] = 0;
        *n = 1;
        return true;
    case USB_REQ_SET_INTERFACE:
        if (*in || !if_ok || s->value != 0 || s->length)
            return false;
        /* §9.4.10: the one alternate setting again; its endpoints start afresh. */
        clear_halts(u);
        return true;
    default: return false; /* SET_DESCRIPTOR, SYNCH_FRAME */
    }
}

static void on_setup(struct usb_device *u, const uint8_t *raw)
{
    usb_setup_parse(raw, &u->setup);
    u->setups++;
    /* A SETUP ends any transfer in progress and clears a protocol stall (§8.5.3.4). */
    hal_usb_dc_ep_flush(USB_DC_EP_IN);
    hal_usb_dc_ep_stall(0, false);
    hal_usb_dc_ep_stall(USB_DC_EP_IN, false);
    u->ep0_zlp = false;

    const struct usb_setup *s = &u->setup;
    bool in = (s->request_type & USB_DIR_IN) != 0;
    if (!in && s->length > 0) {
        if (s->length > sizeof u->ep0_buf) {
            ep0_stall(u);
            return;
        }
        u->ep0 = USB_EP0_DATA_OUT;
        u->ep0_len = 0;
        hal_usb_dc_ep_arm(0);
        return;
    }

    size_t n = 0;
    bool ok;
    if ((s->request_type & USB_TYPE_MASK) == USB_TYPE_STANDARD)
        ok = standard_request(u, &in, &n);
    else
        ok = u->fn.request && u->state == USB_STATE_CONFIGURED &&
             u->fn.request(u->fn.ctx, s, NULL, u->ep0_buf,
                           s->length < sizeof u->ep0_buf ? s->length : sizeof u->ep0_buf, &n);
    if (!ok)
        ep0_stall(u);
    else if (in)
        ep0_data_in(u, n);
    else
        ep0_status_in(u);
}

/* The OUT data stage is complete: run the request on its data. */
static void on_data_out_done(struct usb_device *u)
{
    const struct usb_setup *s = &u->setup;
    size_t n = 0;
    static const uint8_t none[1];
    bool ok = (s->request_type & USB_TYPE_MASK) != USB_TYPE_STANDARD && u->fn.request &&
              u->state == USB_STATE_CONFIGURED &&
              u->fn.request(u->fn.ctx, s, u->ep0_len ? u->ep0_buf : none, NULL, 0, &n);
    if (ok)
        ep0_status_in(u);
    else
        ep0_stall(u);
}

static void on_ep0_out(struct usb_device *u, const struct usb_dc_event *ev)
{
    switch (u->ep0) {
    case USB_EP0_DATA_OUT:
        if (u->ep0_len + ev->len > u->setup.length) {
            ep0_stall(u);
            return;
        }
        memcpy(u->ep0_buf + u->ep0_len, ev->data, ev->len);
        u->ep0_len += ev->len;
        if (u->ep0_len == u->setup.length || ev->len < USB_DC_MAX_PACKET)
            on_data_out_done(u);
        else
            hal_usb_dc_ep_arm(0);
        return;
    case USB_EP0_DATA_IN:
    case USB_EP0_STATUS_OUT:
        /* The host's status stage (possibly before all the data went). */
        if (ev->len != 0) {
            ep0_stall(u);
            return;
        }
        hal_usb_dc_ep_flush(USB_DC_EP_IN);
        u->ep0 = USB_EP0_IDLE;
        return;
    default: ep0_stall(u); return;
    }
}

static void on_ep0_in_done(struct usb_device *u)
{
    switch (u->ep0) {
    case USB_EP0_DATA_IN: ep0_send_next(u); return;
    case USB_EP0_STATUS_IN:
        u->ep0 = USB_EP0_IDLE;
        if (u->address_pending) {
            /* §9.4.6: the new address counts after the status stage. */
            u->address_pending = false;
            hal_usb_dc_set_address(u->address);
            u->state = u->address ? USB_STATE_ADDRESS : USB_STATE_DEFAULT;
        }
        return;
    default: return;
    }
}

bool usb_device_poll(struct usb_device *u)
{
    struct usb_dc_event ev;
    if (!hal_usb_dc_poll(&ev))
        return false;
    switch (ev.type) {
    case USB_DC_EVENT_RESET:
        deconfigure(u);
        u->state = USB_STATE_DEFAULT;
        u->address = 0;
        u->address_pending = false;
        u->ep0 = USB_EP0_IDLE;
        u->resets++;
        hal_usb_dc_set_address(0);
        break;
    case USB_DC_EVENT_DETACH:
        deconfigure(u);
        u->state = USB_STATE_DETACHED;
        u->ep0 = USB_EP0_IDLE;
        break;
    case USB_DC_EVENT_SETUP:
        if (ev.len == USB_SETUP_SIZE && u->state != USB_STATE_DETACHED)
            on_setup(u, ev.data);
        break;
    case USB_DC_EVENT_OUT:
        if ((ev.ep & 0x0Fu) == 0)
            on_ep0_out(u, &ev);
        else if (u->configuration && u->fn.packet && !usb_device_halted(u, ev.ep))
            u->fn.packet(u->fn.ctx, &ev);
        break;
    case USB_DC_EVENT_IN_DONE:
        if ((ev.ep & 0x0Fu) == 0)
            on_ep0_in_done(u);
        else if (u->configuration && u->fn.packet)
            u->fn.packet(u->fn.ctx, &ev);
        break;
    case USB_DC_EVENT_NONE: break;
    }
    return true;
}

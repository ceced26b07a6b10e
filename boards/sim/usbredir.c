/*
 * The sim board's USB device controller (hal/usb_dc.h), presented to QEMU's
 * usb-redir device through the usbredir protocol (Debian libusbredirparser):
 * the board plays the bus between the guest's host controller and the
 * firmware's USB device layer, packet by packet.
 *
 * usbredir works in transfers, the HAL in packets, as a real host controller
 * turns one into the other: a bulk-OUT transfer goes to the device as 64-byte
 * packets, each when the endpoint takes it; a bulk-IN transfer collects
 * packets until a short one or its length; a control transfer runs its
 * SETUP, data and status stages. QEMU itself answers SET_ADDRESS, so the board
 * addresses the device as a bus would, once after every reset, and reads its
 * descriptors to announce it (ep_info, interface_info, then device_connect:
 * QEMU drops a device whose connect comes first).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <usbredirparser.h>

#include "hal/usb_dc.h"
#include "sim_board.h"

#define EVQ_MAX  64
#define XFER_MAX 16
#define CTRL_MAX 8
#define EP0_MAX  4096u
#define IN_MAX   (1u << 20) /* the longest bulk-IN transfer taken from the guest */
#define ADDRESS  1u

enum ctrl_kind { CTRL_PLAIN, CTRL_SET_CONFIG, CTRL_GET_CONFIG, CTRL_SET_ALT, CTRL_GET_ALT };
enum ctrl_stage { STAGE_NONE, STAGE_DATA_IN, STAGE_DATA_OUT, STAGE_STATUS_IN, STAGE_STATUS_OUT };

struct ctrl {
    bool internal; /* the board's own enumeration */
    enum ctrl_kind kind;
    uint64_t id;
    struct usb_redir_control_packet_header h;
    uint8_t data[EP0_MAX];
    size_t len, off;
    enum ctrl_stage stage;
};

struct xfer {
    uint64_t id;
    uint8_t ep;
    uint8_t *data;
    size_t len, off;
};

static struct {
    const char *where; /* PATH of a UNIX socket, or a TCP port on 127.0.0.1 */
    int listen_fd, fd;
    struct usbredirparser *parser;
    bool hello, announced;

    bool attached;
    uint8_t device[18];
    uint8_t config[EP0_MAX];
    size_t config_len;
    bool enumerated;

    struct usb_dc_event q[EVQ_MAX];
    unsigned q_head, q_count;
    bool armed[32];
    uint8_t in_pkt[32][USB_DC_MAX_PACKET];
    size_t in_len[32];
    bool in_full[32];

    struct ctrl ctrl[CTRL_MAX];
    unsigned ctrl_head, ctrl_count;
    struct xfer out[XFER_MAX], in[XFER_MAX];
    unsigned out_count, in_count;
    bool int_receiving;
    uint8_t ep_type[32]; /* enum usb_dc_ep_type of each endpoint the device opened */
    struct sim_usb_stats stats;
} R = {.listen_fd = -1, .fd = -1};

static void log_msg(const char *what, const char *detail)
{
    fprintf(stderr, "sim-usbredir: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
}

static unsigned idx(uint8_t ep)
{
    return (ep & USB_DC_EP_IN ? 16u : 0u) + (ep & 15u);
}

static void push(enum usb_dc_event_type t, uint8_t ep, const uint8_t *data, size_t len)
{
    if (R.q_count == EVQ_MAX) {
        log_msg("event queue full", "event dropped");
        return;
    }
    struct usb_dc_event *e = &R.q[(R.q_head + R.q_count++) % EVQ_MAX];
    memset(e, 0, sizeof *e);
    e->type = t;
    e->ep = ep;
    e->len = (uint8_t)len;
    if (len)
        memcpy(e->data, data, len);
}

/* ---- the usbredir connection --------------------------------------------------- */

static void flush_writes(void)
{
    while (R.parser && R.fd >= 0 && usbredirparser_has_data_to_write(R.parser))
        if (usbredirparser_do_write(R.parser) < 0)
            break;
}

static int on_read(void *priv, uint8_t *data, int count)
{
    (void)priv;
    ssize_t r = recv(R.fd, data, (size_t)count, MSG_DONTWAIT);
    if (r < 0 && (errno == EAGAIN || errno == EINTR))
        return 0;
    return r <= 0 ? -1 : (int)r;
}

static int on_write(void *priv, uint8_t *data, int count)
{
    (void)priv;
    for (;;) {
        ssize_t w = send(R.fd, data, (size_t)count, MSG_NOSIGNAL);
        if (w >= 0)
            return (int)w;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN) {
            struct pollfd p = {.fd = R.fd, .events = POLLOUT};
            if (poll(&p, 1, 5000) > 0)
                continue;
        }
        return -1;
    }
}

static void on_log(void *priv, int level, const char *msg)
{
    (void)priv;
    if (level <= usbredirparser_warning)
        log_msg("usbredirparser", msg);
}

static void drop_xfers(void)
{
    for (unsigned i = 0; i < R.out_count; i++)
        free(R.out[i].data);
    for (unsigned i = 0; i < R.in_count; i++)
        free(R.in[i].data);
    R.out_count = R.in_count = 0;
    /* The board's own requests survive; the guest's die with its link. */
    unsigned keep = 0;
    for (unsigned i = 0; i < R.ctrl_count; i++) {
        struct ctrl *c = &R.ctrl[(R.ctrl_head + i) % CTRL_MAX];
        if (c->internal)
            R.ctrl[(R.ctrl_head + keep++) % CTRL_MAX] = *c;
    }
    R.ctrl_count = keep;
}

static void bus_reset(void);

static void disconnect(const char *why)
{
    if (R.fd < 0)
        return;
    log_msg("guest link closed", why);
    if (R.parser)
        usbredirparser_destroy(R.parser);
    R.parser = NULL;
    close(R.fd);
    R.fd = -1;
    R.hello = R.announced = R.int_receiving = false;
    drop_xfers();
    if (R.attached)
        push(USB_DC_EVENT_DETACH, 0, NULL, 0);
}

/* ---- control transfers ---------------------------------------------------------- */

static struct ctrl *ctrl_new(bool internal, enum ctrl_kind kind, uint64_t id, uint8_t type,
                             uint8_t req, uint16_t value, uint16_t index, uint16_t length)
{
    if (R.ctrl_count == CTRL_MAX)
        return NULL;
    struct ctrl *c = &R.ctrl[(R.ctrl_head + R.ctrl_count++) % CTRL_MAX];
    memset(c, 0, sizeof *c);
    c->internal = internal;
    c->kind = kind;
    c->id = id;
    c->h.endpoint = type & 0x80u;
    c->h.requesttype = type;
    c->h.request = req;
    c->h.value = value;
    c->h.index = index;
    c->h.length = length;
    return c;
}

static void announce(void);

static void ctrl_done(uint8_t status)
{
    struct ctrl *c = &R.ctrl[R.ctrl_head];
    R.ctrl_head = (R.ctrl_head + 1) % CTRL_MAX;
    R.ctrl_count--;
    if (status == usb_redir_stall)
        R.stats.stalls++;
    if (c->internal) {
        if (c->h.request == 6 && c->h.value == 0x0100 && status == usb_redir_success &&
            c->len == sizeof R.device && c->data[1] == 1)
            memcpy(R.device, c->data, sizeof R.device);
        if (c->h.request == 6 && c->h.value == 0x0200 && status == usb_redir_success) {
            /* Announced only as the configuration descriptor it must be (USB 2.0
             * §9.6.3: type 2, wTotalLength all of it): a device announced with
             * the wrong endpoints has every transfer NAKed by QEMU. */
            if (c->len < 9 || c->data[1] != 2 || (size_t)(c->data[2] | c->data[3] << 8) != c->len) {
                log_msg("enumeration", "not a configuration descriptor: device not announced");
                return;
            }
            memcpy(R.config, c->data, c->len);
            R.config_len = c->len;
            R.enumerated = true;
            announce();
        }
        return;
    }
    if (!R.parser)
        return;
    switch (c->kind) {
    case CTRL_PLAIN: {
        struct usb_redir_control_packet_header h = c->h;
        h.status = status;
        bool in = (h.requesttype & 0x80u) != 0;
        h.length = (uint16_t)(status == usb_redir_success ? c->len : 0);
        usbredirparser_send_control_packet(R.parser, c->id, &h, in ? c->data : NULL,
                                           in ? h.length : 0);
        break;
    }
    case CTRL_SET_CONFIG:
    case CTRL_GET_CONFIG: {
        struct usb_redir_configuration_status_header h = {
            .status = status,
            .configuration =
                c->kind == CTRL_GET_CONFIG && c->len ? c->data[0] : (uint8_t)c->h.value};
        usbredirparser_send_configuration_status(R.parser, c->id, &h);
        break;
    }
    case CTRL_SET_ALT:
    case CTRL_GET_ALT: {
        struct usb_redir_alt_setting_status_header h = {
            .status = status,
            .interface = (uint8_t)c->h.index,
            .alt = c->kind == CTRL_GET_ALT && c->len ? c->data[0] : (uint8_t)c->h.value};
        usbredirparser_send_alt_setting_status(R.parser, c->id, &h);
        break;
    }
    }
    flush_writes();
}

/* ---- the bus: moves packets while the device takes them -------------------------- */

static uint8_t le_lo(uint16_t v)
{
    return (uint8_t)v;
}

static void pump(void)
{
    for (bool moved = true; moved;) {
        moved = false;
        if (R.ctrl_count && R.attached) {
            struct ctrl *c = &R.ctrl[R.ctrl_head];
            if (c->stage == STAGE_NONE) {
                const uint8_t s[8] = {c->h.requesttype,   c->h.request,
                                      le_lo(c->h.value),  (uint8_t)(c->h.value >> 8),
                                      le_lo(c->h.index),  (uint8_t)(c->h.index >> 8),
                                      le_lo(c->h.length), (uint8_t)(c->h.length >> 8)};
                R.armed[0] = false;
                R.in_full[16] = false;
                push(USB_DC_EVENT_SETUP, 0, s, sizeof s);
                c->stage = (c->h.requesttype & 0x80u) ? STAGE_DATA_IN
                           : c->h.length              ? STAGE_DATA_OUT
                                                      : STAGE_STATUS_IN;
                moved = true;
            } else if (c->stage == STAGE_DATA_OUT && R.armed[0]) {
                size_t k =
                    c->len - c->off < USB_DC_MAX_PACKET ? c->len - c->off : USB_DC_MAX_PACKET;
                R.armed[0] = false;
                push(USB_DC_EVENT_OUT, 0, c->data + c->off, k);
                c->off += k;
                if (c->off == c->len)
                    c->stage = STAGE_STATUS_IN;
                moved = true;
            } else if ((c->stage == STAGE_DATA_IN || c->stage == STAGE_STATUS_IN) &&
                       R.in_full[16]) {
                size_t k = R.in_len[16];
                R.in_full[16] = false;
                push(USB_DC_EVENT_IN_DONE, USB_DC_EP_IN, NULL, 0);
                moved = true;
                if (c->stage == STAGE_STATUS_IN) {
                    ctrl_done(k == 0 ? usb_redir_success : usb_redir_babble);
                    continue;
                }
                if (c->len + k > c->h.length) {
                    ctrl_done(usb_redir_babble);
                    continue;
                }
                memcpy(c->data + c->len, R.in_pkt[16], k);
                c->len += k;
                if (k < USB_DC_MAX_PACKET || c->len == c->h.length)
                    c->stage = STAGE_STATUS_OUT;
            } else if (c->stage == STAGE_STATUS_OUT && R.armed[0]) {
                R.armed[0] = false;
                push(USB_DC_EVENT_OUT, 0, NULL, 0);
                ctrl_done(usb_redir_success);
                moved = true;
            }
        }
        if (R.out_count && R.armed[idx(R.out[0].ep)]) {
            struct xfer *x = &R.out[0];
            size_t k = x->len - x->off < USB_DC_MAX_PACKET ? x->len - x->off : USB_DC_MAX_PACKET;
            R.armed[idx(x->ep)] = false;
            push(USB_DC_EVENT_OUT, x->ep, x->data + x->off, k);
            x->off += k;
            R.stats.out_packets++;
            if (x->off == x->len) {
                struct usb_redir_bulk_packet_header h = {.endpoint = x->ep,
                                                         .status = usb_redir_success,
                                                         .length = (uint16_t)x->len,
                                                         .length_high = (uint16_t)(x->len >> 16)};
                if (R.parser)
                    usbredirparser_send_bulk_packet(R.parser, x->id, &h, NULL, 0);
                flush_writes();
                free(x->data);
                memmove(R.out, R.out + 1, --R.out_count * sizeof *R.out);
            }
            moved = true;
        }
        if (R.in_count && R.in_full[idx(R.in[0].ep)]) {
            struct xfer *x = &R.in[0];
            unsigned e = idx(x->ep);
            size_t k = R.in_len[e];
            R.in_full[e] = false;
            push(USB_DC_EVENT_IN_DONE, x->ep, NULL, 0);
            R.stats.in_packets++;
            if (k == 0)
                R.stats.in_zlps++;
            uint8_t status = usb_redir_success;
            if (x->off + k > x->len) {
                k = x->len - x->off;
                status = usb_redir_babble;
            }
            memcpy(x->data + x->off, R.in_pkt[e], k);
            x->off += k;
            if (status != usb_redir_success || k < USB_DC_MAX_PACKET || x->off == x->len) {
                struct usb_redir_bulk_packet_header h = {.endpoint = x->ep,
                                                         .status = status,
                                                         .length = (uint16_t)x->off,
                                                         .length_high = (uint16_t)(x->off >> 16)};
                if (R.parser)
                    usbredirparser_send_bulk_packet(R.parser, x->id, &h, x->data, (int)x->off);
                flush_writes();
                free(x->data);
                memmove(R.in, R.in + 1, --R.in_count * sizeof *R.in);
            }
            moved = true;
        }
        for (unsigned e = 17; e < 32; e++) {
            /* An interrupt endpoint: every packet goes to the guest as it comes. */
            if (!R.in_full[e] || !R.int_receiving || R.ep_type[e] != USB_DC_EP_INTERRUPT)
                continue;
            struct usb_redir_interrupt_packet_header h = {.endpoint = (uint8_t)(0x80u | (e - 16)),
                                                          .status = usb_redir_success,
                                                          .length = (uint16_t)R.in_len[e]};
            R.in_full[e] = false;
            if (R.parser)
                usbredirparser_send_interrupt_packet(R.parser, 0, &h, R.in_pkt[e], h.length);
            flush_writes();
            push(USB_DC_EVENT_IN_DONE, h.endpoint, NULL, 0);
            R.stats.interrupt_packets++;
            moved = true;
        }
    }
}

/* ---- usbredir callbacks (from the guest's side) ------------------------------------ */

static void on_hello(void *priv, struct usb_redir_hello_header *h)
{
    (void)priv;
    log_msg("guest connected", h->version);
    R.hello = true;
    announce();
}

static void on_reset(void *priv)
{
    (void)priv;
    bus_reset();
}

static void on_set_configuration(void *priv, uint64_t id,
                                 struct usb_redir_set_configuration_header *h)
{
    (void)priv;
    ctrl_new(false, CTRL_SET_CONFIG, id, 0x00, 9, h->configuration, 0, 0);
    pump();
}

static void on_get_configuration(void *priv, uint64_t id)
{
    (void)priv;
    ctrl_new(false, CTRL_GET_CONFIG, id, 0x80, 8, 0, 0, 1);
    pump();
}

static void on_set_alt_setting(void *priv, uint64_t id, struct usb_redir_set_alt_setting_header *h)
{
    (void)priv;
    ctrl_new(false, CTRL_SET_ALT, id, 0x01, 11, h->alt, h->interface, 0);
    pump();
}

static void on_get_alt_setting(void *priv, uint64_t id, struct usb_redir_get_alt_setting_header *h)
{
    (void)priv;
    ctrl_new(false, CTRL_GET_ALT, id, 0x81, 10, 0, h->interface, 1);
    pump();
}

static void on_start_interrupt(void *priv, uint64_t id,
                               struct usb_redir_start_interrupt_receiving_header *h)
{
    (void)priv;
    struct usb_redir_interrupt_receiving_status_header st = {.status = usb_redir_success,
                                                             .endpoint = h->endpoint};
    R.int_receiving = true;
    usbredirparser_send_interrupt_receiving_status(R.parser, id, &st);
    flush_writes();
    pump();
}

static void on_stop_interrupt(void *priv, uint64_t id,
                              struct usb_redir_stop_interrupt_receiving_header *h)
{
    (void)priv;
    struct usb_redir_interrupt_receiving_status_header st = {.status = usb_redir_success,
                                                             .endpoint = h->endpoint};
    R.int_receiving = false;
    usbredirparser_send_interrupt_receiving_status(R.parser, id, &st);
    flush_writes();
}

static void on_control_packet(void *priv, uint64_t id, struct usb_redir_control_packet_header *h,
                              uint8_t *data, int data_len)
{
    (void)priv;
    struct ctrl *c =
        ctrl_new(false, CTRL_PLAIN, id, h->requesttype, h->request, h->value, h->index, h->length);
    bool out = !(h->requesttype & 0x80u);
    if (!c || h->length > EP0_MAX || (out && data_len != h->length)) {
        if (c)
            R.ctrl_count--;
        struct usb_redir_control_packet_header r = *h;
        r.status = usb_redir_inval;
        r.length = 0;
        usbredirparser_send_control_packet(R.parser, id, &r, NULL, 0);
        flush_writes();
    } else if (out && data_len > 0) {
        memcpy(c->data, data, (size_t)data_len);
        c->len = (size_t)data_len;
    }
    if (data)
        usbredirparser_free_packet_data(R.parser, data);
    pump();
}

static size_t bulk_length(const struct usb_redir_bulk_packet_header *h)
{
    size_t n = h->length;
    if (usbredirparser_peer_has_cap(R.parser, usb_redir_cap_32bits_bulk_length))
        n |= (size_t)h->length_high << 16;
    return n;
}

static void on_bulk_packet(void *priv, uint64_t id, struct usb_redir_bulk_packet_header *h,
                           uint8_t *data, int data_len)
{
    (void)priv;
    size_t n = bulk_length(h);
    bool in = (h->endpoint & 0x80u) != 0;
    struct xfer *q = in ? R.in : R.out;
    unsigned *count = in ? &R.in_count : &R.out_count;
    uint8_t *buf = NULL;
    if (*count < XFER_MAX && (in ? n > 0 && n <= IN_MAX : (size_t)data_len == n))
        buf = malloc(n ? n : 1);
    if (!buf) {
        struct usb_redir_bulk_packet_header r = *h;
        r.status = usb_redir_inval;
        r.length = r.length_high = 0;
        usbredirparser_send_bulk_packet(R.parser, id, &r, NULL, 0);
        flush_writes();
    } else {
        if (!in && n)
            memcpy(buf, data, n);
        q[(*count)++] = (struct xfer){.id = id, .ep = h->endpoint, .data = buf, .len = n};
    }
    if (data)
        usbredirparser_free_packet_data(R.parser, data);
    pump();
}

static void on_cancel(void *priv, uint64_t id)
{
    (void)priv;
    struct xfer *qs[2] = {R.out, R.in};
    unsigned *counts[2] = {&R.out_count, &R.in_count};
    for (int k = 0; k < 2; k++)
        for (unsigned i = 0; i < *counts[k]; i++) {
            struct xfer *x = &qs[k][i];
            if (x->id != id)
                continue;
            struct usb_redir_bulk_packet_header h = {.endpoint = x->ep,
                                                     .status = usb_redir_cancelled};
            usbredirparser_send_bulk_packet(R.parser, id, &h, NULL, 0);
            flush_writes();
            free(x->data);
            memmove(x, x + 1, (--*counts[k] - i) * sizeof *x);
            R.stats.cancelled++;
            return;
        }
}

static void on_device_disconnect_ack(void *priv)
{
    (void)priv;
}

static void accept_guest(void)
{
    int fd = accept4(R.listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0)
        return;
    if (R.fd >= 0) {
        close(fd); /* one guest at a time, as one cable */
        return;
    }
    R.fd = fd;
    R.parser = usbredirparser_create();
    if (!R.parser) {
        close(fd);
        R.fd = -1;
        return;
    }
    struct usbredirparser *p = R.parser;
    p->log_func = on_log;
    p->read_func = on_read;
    p->write_func = on_write;
    p->hello_func = on_hello;
    p->reset_func = on_reset;
    p->set_configuration_func = on_set_configuration;
    p->get_configuration_func = on_get_configuration;
    p->set_alt_setting_func = on_set_alt_setting;
    p->get_alt_setting_func = on_get_alt_setting;
    p->start_interrupt_receiving_func = on_start_interrupt;
    p->stop_interrupt_receiving_func = on_stop_interrupt;
    p->control_packet_func = on_control_packet;
    p->bulk_packet_func = on_bulk_packet;
    p->cancel_data_packet_func = on_cancel;
    p->device_disconnect_ack_func = on_device_disconnect_ack;
    uint32_t caps[USB_REDIR_CAPS_SIZE] = {0};
    usbredirparser_caps_set_cap(caps, usb_redir_cap_connect_device_version);
    usbredirparser_caps_set_cap(caps, usb_redir_cap_ep_info_max_packet_size);
    usbredirparser_caps_set_cap(caps, usb_redir_cap_64bits_ids);
    usbredirparser_caps_set_cap(caps, usb_redir_cap_32bits_bulk_length);
    usbredirparser_init(p, "hawiya-sim-reader", caps, USB_REDIR_CAPS_SIZE,
                        usbredirparser_fl_usb_host);
    flush_writes();
    R.stats.connections++;
    /* A new cable: the bus resets the device before the guest sees it. */
    if (R.attached)
        bus_reset();
}

/* ---- the announcement (from the device's own descriptors) --------------------------- */

static void announce(void)
{
    if (!R.hello || !R.enumerated || !R.attached || R.announced || !R.parser)
        return;
    struct usb_redir_ep_info_header ep = {0};
    struct usb_redir_interface_info_header itf = {0};
    for (int i = 0; i < 32; i++)
        ep.type[i] = usb_redir_type_invalid;
    ep.type[0] = ep.type[16] = usb_redir_type_control;
    ep.max_packet_size[0] = ep.max_packet_size[16] = R.device[7];
    uint8_t cur_if = 0;
    for (size_t off = 0; off + 2 <= R.config_len && R.config[off] >= 2; off += R.config[off]) {
        const uint8_t *d = R.config + off;
        if (d[1] == 4 && d[0] >= 9 && itf.interface_count < 32 && d[3] == 0) {
            cur_if = d[2];
            itf.interface[itf.interface_count] = d[2];
            itf.interface_class[itf.interface_count] = d[5];
            itf.interface_subclass[itf.interface_count] = d[6];
            itf.interface_protocol[itf.interface_count] = d[7];
            itf.interface_count++;
        } else if (d[1] == 5 && d[0] >= 7) {
            unsigned i = idx(d[2]);
            ep.type[i] = d[3] & 3u;
            ep.interval[i] = d[6];
            ep.interface[i] = cur_if;
            ep.max_packet_size[i] = (uint16_t)(d[4] | d[5] << 8);
        }
    }
    struct usb_redir_device_connect_header dc = {
        .speed = usb_redir_speed_full,
        .device_class = R.device[4],
        .device_subclass = R.device[5],
        .device_protocol = R.device[6],
        .vendor_id = (uint16_t)(R.device[8] | R.device[9] << 8),
        .product_id = (uint16_t)(R.device[10] | R.device[11] << 8),
        .device_version_bcd = (uint16_t)(R.device[12] | R.device[13] << 8)};
    usbredirparser_send_ep_info(R.parser, &ep);
    usbredirparser_send_interface_info(R.parser, &itf);
    usbredirparser_send_device_connect(R.parser, &dc);
    flush_writes();
    R.announced = true;
    log_msg("device announced", NULL);
}

static void bus_reset(void)
{
    /* Everything in flight on the bus is gone; the device starts from its
     * default state and the board gives it its address again. That includes
     * the events the device has not taken yet: left in the queue before the
     * reset, a SETUP of a transfer that no longer exists would be answered
     * after it, into the next control transfer, and shift every one after
     * it by one (a guest connecting during the board's own enumeration got
     * the device descriptor announced as the configuration: no endpoints). */
    R.q_head = R.q_count = 0;
    for (unsigned i = 0; i < R.out_count; i++)
        free(R.out[i].data);
    for (unsigned i = 0; i < R.in_count; i++)
        free(R.in[i].data);
    R.out_count = R.in_count = 0;
    R.ctrl_count = 0;
    memset(R.armed, 0, sizeof R.armed);
    memset(R.in_full, 0, sizeof R.in_full);
    memset(R.ep_type, 0, sizeof R.ep_type);
    push(USB_DC_EVENT_RESET, 0, NULL, 0);
    ctrl_new(true, CTRL_PLAIN, 0, 0x00, 5, ADDRESS, 0, 0);
    if (!R.enumerated) {
        ctrl_new(true, CTRL_PLAIN, 0, 0x80, 6, 0x0100, 0, sizeof R.device);
        ctrl_new(true, CTRL_PLAIN, 0, 0x80, 6, 0x0200, 0, EP0_MAX);
    }
    R.stats.resets++;
    pump();
}

/* ---- hal/usb_dc ----------------------------------------------------------------- */

bool hal_usb_dc_poll(struct usb_dc_event *ev)
{
    if (R.q_count == 0)
        sim_usbredir_service(false);
    pump();
    if (R.q_count == 0)
        return false;
    *ev = R.q[R.q_head];
    R.q_head = (R.q_head + 1) % EVQ_MAX;
    R.q_count--;
    return true;
}

void hal_usb_dc_attach(bool on)
{
    if (on == R.attached)
        return;
    R.attached = on;
    if (on) {
        R.enumerated = false;
        bus_reset();
    } else if (R.announced && R.parser) {
        usbredirparser_send_device_disconnect(R.parser);
        flush_writes();
        R.announced = false;
    }
}

void hal_usb_dc_set_address(uint8_t address)
{
    (void)address; /* the guest's address lives in QEMU */
}

void hal_usb_dc_ep_open(uint8_t ep, enum usb_dc_ep_type type, uint16_t max_packet)
{
    (void)max_packet;
    R.ep_type[idx(ep)] = (uint8_t)type;
    R.armed[idx(ep)] = false;
    R.in_full[idx(ep)] = false;
}

void hal_usb_dc_ep_close(uint8_t ep)
{
    R.armed[idx(ep)] = false;
    R.in_full[idx(ep)] = false;
}

bool hal_usb_dc_ep_write(uint8_t ep, const uint8_t *data, size_t len)
{
    unsigned i = idx(ep);
    if (R.in_full[i] || len > USB_DC_MAX_PACKET)
        return false;
    if (len)
        memcpy(R.in_pkt[i], data, len);
    R.in_len[i] = len;
    R.in_full[i] = true;
    pump();
    return true;
}

void hal_usb_dc_ep_flush(uint8_t ep)
{
    R.in_full[idx(ep)] = false;
}

void hal_usb_dc_ep_arm(uint8_t ep)
{
    R.armed[idx(ep)] = true;
    pump();
}

void hal_usb_dc_ep_stall(uint8_t ep, bool stall)
{
    if (!stall)
        return;
    if ((ep & 15u) == 0) {
        if (R.ctrl_count && R.ctrl[R.ctrl_head].stage != STAGE_NONE)
            ctrl_done(usb_redir_stall);
        return;
    }
    /* A halted bulk endpoint: the guest's transfers on it end stalled. */
    struct xfer *q = ep & USB_DC_EP_IN ? R.in : R.out;
    unsigned *count = ep & USB_DC_EP_IN ? &R.in_count : &R.out_count;
    for (unsigned i = 0; i < *count;) {
        if (q[i].ep != ep) {
            i++;
            continue;
        }
        struct usb_redir_bulk_packet_header h = {.endpoint = ep, .status = usb_redir_stall};
        if (R.parser)
            usbredirparser_send_bulk_packet(R.parser, q[i].id, &h, NULL, 0);
        free(q[i].data);
        memmove(q + i, q + i + 1, (--*count - i) * sizeof *q);
    }
    flush_writes();
}

/* ---- the board's side ------------------------------------------------------------- */

int sim_usbredir_listen(const char *where)
{
    R.where = where;
    char *end;
    unsigned long port = strtoul(where, &end, 10);
    if (*where && *end == '\0' && port > 0 && port < 65536) {
        struct sockaddr_in a = {.sin_family = AF_INET,
                                .sin_port = htons((uint16_t)port),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        int one = 1;
        R.listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (R.listen_fd >= 0)
            setsockopt(R.listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (R.listen_fd < 0 || bind(R.listen_fd, (struct sockaddr *)&a, sizeof a) < 0 ||
            listen(R.listen_fd, 1) < 0) {
            fprintf(stderr, "sim-usbredir: cannot listen on 127.0.0.1:%lu: %s\n", port,
                    strerror(errno));
            return -1;
        }
        return 0;
    }
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (strlen(where) + 4 >= sizeof a.sun_path) {
        fprintf(stderr, "sim-usbredir: socket path too long\n");
        return -1;
    }
    /* Bound under a temporary name, then renamed: whoever sees it can connect. */
    snprintf(a.sun_path, sizeof a.sun_path, "%s.new", where);
    unlink(a.sun_path);
    unlink(where);
    R.listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (R.listen_fd < 0 || bind(R.listen_fd, (struct sockaddr *)&a, sizeof a) < 0 ||
        listen(R.listen_fd, 1) < 0 || rename(a.sun_path, where) < 0) {
        fprintf(stderr, "sim-usbredir: cannot listen on %s: %s\n", where, strerror(errno));
        return -1;
    }
    return 0;
}

int sim_usbredir_fd(void)
{
    return R.fd >= 0 ? R.fd : R.listen_fd;
}

void sim_usbredir_service(bool readable)
{
    if (R.listen_fd < 0)
        return;
    if (R.fd < 0) {
        struct pollfd p = {.fd = R.listen_fd, .events = POLLIN};
        if (readable || poll(&p, 1, 0) > 0)
            accept_guest();
        return;
    }
    int r = usbredirparser_do_read(R.parser);
    if (r < 0) {
        disconnect(r == usbredirparser_read_io_error ? "closed" : "protocol error");
        return;
    }
    flush_writes();
}

void sim_usbredir_stats(struct sim_usb_stats *s)
{
    *s = R.stats;
}

void sim_usbredir_close(void)
{
    disconnect("reader stopping");
    if (R.listen_fd >= 0) {
        close(R.listen_fd);
        if (R.where && strchr(R.where, '/'))
            unlink(R.where);
    }
    R.listen_fd = -1;
}

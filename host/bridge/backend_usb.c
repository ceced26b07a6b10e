/*
 * The usb backend: our reader over libusb-1.0 directly, for a kiosk without
 * pcscd. bridge.conf names it `reader = usb:NAME:VID:PID[:SERIAL]` (hex, e.g.
 * usb:desk:1209:0001); the first device that matches, and that is a CCID
 * interface (class 0x0B, CCID 1.1 §5.1), is taken.
 *
 * The CCID messages go over the bulk pipes through the same ccid_link and
 * reader session as the sim backend (every transfer bounded in time); the
 * interrupt pipe's RDR_to_PC_NotifySlotChange (§6.3.1) is read by a thread
 * of the reader's own, which also runs libusb's events for a hot-plug
 * callback that sees the device leave, and wakes the bridge's event loop
 * through a pipe. What the reports say goes through slot_watch: a card
 * present again with its "changed" bit set, or out and in between two
 * looks, is reported as a removal then an insertion (BRIDGE_MONITOR_SWAPPED),
 * so nothing of the first card's session is kept for the second. The
 * interrupt pipe is read from before the slots' GetSlotStatus at connect:
 * a report the reader kept from before us (a host's arrival, changes no
 * host heard) comes in first and the answers, taken in the order libusb
 * completes the transfers, supersede it.
 *
 * Claiming the interface never takes it from another program: when it is
 * held (by pcscd's libccid most of the time) the reader stays down with
 * that reason, and the bridge tries again later.
 */
#define _GNU_SOURCE /* pipe2 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libusb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "ccid_link.h"
#include "log.h"
#include "slot_watch.h"

#define USB_CLASS_CCID   0x0B
#define INT_MAX_PACKET   64
#define EVENT_SLICE_MS   200
#define SEND_TIMEOUT_MIN 1000

struct usb_reader {
    struct bridge_reader_config cfg;
    uint16_t vid, pid;
    char serial[64];

    libusb_context *ctx;
    libusb_device_handle *h;
    libusb_device *dev;
    int iface;
    uint8_t ep_out, ep_in, ep_int;
    uint8_t max_slot_index;
    size_t max_message; /* dwMaxCCIDMessageLength: longer APDUs are chained */
    struct ccid_link link;

    pthread_t thread;
    bool thread_on;
    atomic_bool stop, gone;
    /* The slots as the interrupt pipe tells them (its thread), looked at by
     * monitor() (the event loop) and changed by authenticate() (the worker). */
    pthread_mutex_t mu;
    struct slot_watch watch;
    struct slot_look look;
    int pipe[2];
    struct libusb_transfer *int_xfer;
    uint8_t int_buf[INT_MAX_PACKET];
    /* GetSlotStatus at connect (slot_status) */
    struct libusb_transfer *status_xfer;
    uint8_t status_buf[CCID_HEADER_SIZE + 16];
    uint8_t status_seq;
    volatile int status_result; /* 0 waiting, 1 answered, -1 failed */
    libusb_hotplug_callback_handle hotplug;
    bool hotplug_on;

    bool active;
    uint8_t report[CCID_MAX_MESSAGE_SIZE];
};

static bool parse_spec(struct usb_reader *u, const char *spec)
{
    unsigned vid, pid;
    int used = 0;
    if (sscanf(spec, "%4x:%4x%n", &vid, &pid, &used) != 2)
        return false;
    u->vid = (uint16_t)vid;
    u->pid = (uint16_t)pid;
    if (spec[used] == ':')
        snprintf(u->serial, sizeof u->serial, "%s", spec + used + 1);
    else if (spec[used] != '\0')
        return false;
    return true;
}

static void *usb_create(const struct bridge_reader_config *cfg, void *provider)
{
    (void)provider;
    struct usb_reader *u = calloc(1, sizeof *u);
    if (!u)
        return NULL;
    u->cfg = *cfg;
    u->pipe[0] = u->pipe[1] = -1;
    u->link.fd = -1;
    u->iface = -1;
    if (!parse_spec(u, cfg->path) || libusb_init(&u->ctx) != 0) {
        free(u);
        return NULL;
    }
    pthread_mutex_init(&u->mu, NULL);
    return u;
}

/* ---- the bulk pipes as a ccid_link transport ------------------------------------ */

static bool bulk_send(void *ctx, const uint8_t *p, size_t n, int timeout_ms)
{
    struct usb_reader *u = ctx;
    int done = 0;
    /* A command goes out at once or the reader is gone: at least a second. */
    int t = timeout_ms > SEND_TIMEOUT_MIN ? timeout_ms : SEND_TIMEOUT_MIN;
    int r = libusb_bulk_transfer(u->h, u->ep_out, (uint8_t *)p, (int)n, &done, (unsigned)t);
    return r == 0 && (size_t)done == n;
}

static int bulk_recv(void *ctx, uint8_t *p, size_t cap, int timeout_ms)
{
    struct usb_reader *u = ctx;
    int done = 0;
    /* One transfer is one message: the reader ends it with a short packet. */
    int r = libusb_bulk_transfer(u->h, u->ep_in, p, (int)(cap > INT32_MAX ? INT32_MAX : cap), &done,
                                 (unsigned)(timeout_ms > 0 ? timeout_ms : 1));
    if (r == 0 || (r == LIBUSB_ERROR_TIMEOUT && done > 0))
        return done;
    return r == LIBUSB_ERROR_TIMEOUT ? 0 : -1;
}

/* ---- the reader's thread: interrupt pipe and hot-plug ------------------------------ */

static void wake(struct usb_reader *u)
{
    char c = 1;
    if (write(u->pipe[1], &c, 1) < 0 && errno != EAGAIN)
        atomic_store(&u->gone, true);
}

static void LIBUSB_CALL on_interrupt(struct libusb_transfer *t)
{
    struct usb_reader *u = t->user_data;
    if (t->status == LIBUSB_TRANSFER_COMPLETED) {
        size_t n = (size_t)t->actual_length;
        pthread_mutex_lock(&u->mu);
        bool noted = slot_watch_note(&u->watch, t->buffer, n);
        pthread_mutex_unlock(&u->mu);
        if (noted) {
            /* a few bytes, on a card's arrival or departure only */
            char hex[3 * INT_MAX_PACKET + 1] = "";
            for (size_t i = 0, k = 0; i < n && k + 4 <= sizeof hex; i++)
                k += (size_t)snprintf(hex + k, sizeof hex - k, i ? " %02X" : "%02X", t->buffer[i]);
            bridge_log(BRIDGE_LOG_INFO, 0, "reader %s: NotifySlotChange %s", u->cfg.name, hex);
            wake(u);
        }
        if (!atomic_load(&u->stop) && libusb_submit_transfer(t) == 0)
            return;
    } else if (t->status == LIBUSB_TRANSFER_TIMED_OUT && !atomic_load(&u->stop) &&
               libusb_submit_transfer(t) == 0) {
        return;
    }
    if (t->status != LIBUSB_TRANSFER_CANCELLED) {
        atomic_store(&u->gone, true);
        wake(u);
    }
    u->int_xfer = NULL;
    libusb_free_transfer(t);
}

static int LIBUSB_CALL on_hotplug(libusb_context *ctx, libusb_device *dev,
                                  libusb_hotplug_event event, void *user)
{
    (void)ctx;
    struct usb_reader *u = user;
    if (event == LIBUSB_HOTPLUG_EVENT_DEVICE_LEFT && dev == u->dev) {
        atomic_store(&u->gone, true);
        wake(u);
    }
    return 0;
}

static void *events(void *arg)
{
    struct usb_reader *u = arg;
    while (!atomic_load(&u->stop)) {
        struct timeval tv = {0, EVENT_SLICE_MS * 1000};
        if (libusb_handle_events_timeout_completed(u->ctx, &tv, NULL) < 0 &&
            !atomic_load(&u->stop)) {
            atomic_store(&u->gone, true);
            wake(u);
            break;
        }
    }
    return NULL;
}

/* ---- finding and claiming the reader --------------------------------------------- */

/* The CCID interface of a configuration: its number, endpoints, class descriptor. */
static bool find_ccid(struct usb_reader *u, const struct libusb_config_descriptor *c)
{
    for (int i = 0; i < c->bNumInterfaces; i++) {
        const struct libusb_interface_descriptor *d = &c->interface[i].altsetting[0];
        if (c->interface[i].num_altsetting < 1 || d->bInterfaceClass != USB_CLASS_CCID)
            continue;
        struct ccid_descriptor cd;
        if (d->extra_length < (int)CCID_DESCRIPTOR_SIZE ||
            ccid_decode_descriptor(d->extra, CCID_DESCRIPTOR_SIZE, &cd) != CCID_OK)
            continue;
        u->ep_out = u->ep_in = u->ep_int = 0;
        for (int e = 0; e < d->bNumEndpoints; e++) {
            const struct libusb_endpoint_descriptor *ep = &d->endpoint[e];
            uint8_t type = ep->bmAttributes & 3u;
            if (type == LIBUSB_TRANSFER_TYPE_BULK && !(ep->bEndpointAddress & 0x80u))
                u->ep_out = ep->bEndpointAddress;
            else if (type == LIBUSB_TRANSFER_TYPE_BULK)
                u->ep_in = ep->bEndpointAddress;
            else if (type == LIBUSB_TRANSFER_TYPE_INTERRUPT && (ep->bEndpointAddress & 0x80u))
                u->ep_int = ep->bEndpointAddress;
        }
        if (!u->ep_out || !u->ep_in || !u->ep_int)
            continue;
        u->iface = d->bInterfaceNumber;
        u->max_slot_index = cd.max_slot_index;
        u->max_message = cd.max_ccid_message_length;
        return true;
    }
    return false;
}

/* Who else may hold the interface: pcscd, by its process name. */
static bool pcscd_running(void)
{
    DIR *d = opendir("/proc");
    bool found = false;
    for (struct dirent *e; d && !found && (e = readdir(d)) != NULL;) {
        char path[300], comm[32] = "";
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof path, "/proc/%s/comm", e->d_name);
        FILE *f = fopen(path, "r");
        if (f && fgets(comm, sizeof comm, f))
            found = !strcmp(comm, "pcscd\n");
        if (f)
            fclose(f);
    }
    if (d)
        closedir(d);
    return found;
}

static bool serial_matches(struct usb_reader *u, libusb_device_handle *h,
                           const struct libusb_device_descriptor *dd)
{
    if (!u->serial[0])
        return true;
    unsigned char s[128];
    return dd->iSerialNumber &&
           libusb_get_string_descriptor_ascii(h, dd->iSerialNumber, s, sizeof s) > 0 &&
           !strcmp((const char *)s, u->serial);
}

/* GetSlotStatus with its answer read by a transfer of our own: libusb calls
 * back the interrupt pipe's reports and this answer in the order they
 * completed, so the answer supersedes exactly the reports before it. */
static void LIBUSB_CALL on_slot_status(struct libusb_transfer *t)
{
    struct usb_reader *u = t->user_data;
    struct ccid_msg m;
    if (t->status != LIBUSB_TRANSFER_COMPLETED) {
        u->status_result = -1;
        return;
    }
    if (ccid_decode(t->buffer, (size_t)t->actual_length, sizeof u->status_buf, &m, NULL) ==
            CCID_OK &&
        m.type == CCID_RDR_TO_PC_SLOT_STATUS && m.seq == u->status_seq) {
        pthread_mutex_lock(&u->mu);
        slot_watch_status(&u->watch, m.slot, ccid_status_icc(m.status) != CCID_ICC_ABSENT);
        pthread_mutex_unlock(&u->mu);
        u->status_result = 1;
        return;
    }
    /* an answer to a host before us: the next one */
    if (libusb_submit_transfer(t) != 0)
        u->status_result = -1;
}

static bool slot_status(struct usb_reader *u, uint8_t slot, int timeout_ms)
{
    struct ccid_msg req = {.type = CCID_PC_TO_RDR_GET_SLOT_STATUS, .slot = slot};
    uint8_t out[CCID_HEADER_SIZE];
    size_t n;
    req.seq = u->status_seq = u->link.seq++;
    if (ccid_encode(&req, out, sizeof out, &n) != CCID_OK || !bulk_send(u, out, n, timeout_ms))
        return false;
    if (!u->status_xfer && !(u->status_xfer = libusb_alloc_transfer(0)))
        return false;
    libusb_fill_bulk_transfer(u->status_xfer, u->h, u->ep_in, u->status_buf, sizeof u->status_buf,
                              on_slot_status, u, (unsigned)timeout_ms);
    u->status_result = 0;
    if (libusb_submit_transfer(u->status_xfer) != 0)
        return false;
    /* The transfer's own timeout ends the wait; the rest is a margin. */
    for (int i = 0; u->status_result == 0 && i < timeout_ms / 100 + 50; i++) {
        struct timeval tv = {0, 100000};
        libusb_handle_events_timeout_completed(u->ctx, &tv, NULL);
    }
    if (u->status_result == 0 && libusb_cancel_transfer(u->status_xfer) == 0)
        for (int i = 0; i < 50 && u->status_result == 0; i++) {
            struct timeval tv = {0, 20000};
            libusb_handle_events_timeout_completed(u->ctx, &tv, NULL);
        }
    return u->status_result > 0;
}

static void usb_disconnect(void *r);

static int usb_connect(void *r, char *why, size_t cap)
{
    struct usb_reader *u = r;
    libusb_device **list;
    ssize_t n = libusb_get_device_list(u->ctx, &list);
    bool seen = false;
    int err = 0;
    for (ssize_t i = 0; i < n && !u->h; i++) {
        struct libusb_device_descriptor dd;
        if (libusb_get_device_descriptor(list[i], &dd) != 0 || dd.idVendor != u->vid ||
            dd.idProduct != u->pid)
            continue;
        seen = true;
        struct libusb_config_descriptor *c;
        if (libusb_get_active_config_descriptor(list[i], &c) != 0)
            continue;
        bool ccid = find_ccid(u, c);
        libusb_free_config_descriptor(c);
        libusb_device_handle *h;
        if (!ccid || (err = libusb_open(list[i], &h)) != 0)
            continue;
        if (!serial_matches(u, h, &dd)) {
            libusb_close(h);
            continue;
        }
        libusb_set_auto_detach_kernel_driver(h, 1);
        err = libusb_claim_interface(h, u->iface);
        if (err != 0) {
            libusb_close(h);
            continue;
        }
        u->h = h;
        u->dev = libusb_ref_device(list[i]);
    }
    if (n >= 0)
        libusb_free_device_list(list, 1);
    if (!u->h) {
        if (!seen)
            snprintf(why, cap, "no USB device %04x:%04x%s%s", u->vid, u->pid,
                     u->serial[0] ? " with serial " : "", u->serial);
        else if (err == LIBUSB_ERROR_BUSY)
            snprintf(why, cap, "USB %04x:%04x is claimed by another program%s", u->vid, u->pid,
                     pcscd_running() ? " (pcscd is running: its libccid holds every reader it "
                                       "lists; stop pcscd, or name the reader pcsc:...)"
                                     : "");
        else if (err == LIBUSB_ERROR_ACCESS)
            snprintf(why, cap,
                     "USB %04x:%04x: permission denied (udev rule for the bridge's "
                     "user?)",
                     u->vid, u->pid);
        else
            snprintf(why, cap, "USB %04x:%04x: no CCID interface could be opened (%s)", u->vid,
                     u->pid, err ? libusb_error_name(err) : "none found");
        return -1;
    }

    /* Both bulk pipes from a clean state: an answer left from a host before
     * us (the reader drops it when its pipe's halt is cleared). */
    libusb_clear_halt(u->h, u->ep_in);
    libusb_clear_halt(u->h, u->ep_out);
    const struct ccid_link_io io = {.send = bulk_send, .recv = bulk_recv, .ctx = u};
    ccid_link_open_io(&u->link, &io);
    if (u->max_message > CCID_HEADER_SIZE && u->max_message < CCID_MAX_MESSAGE_SIZE)
        u->link.max_message = u->max_message;
    atomic_store(&u->stop, false);
    atomic_store(&u->gone, false);
    pthread_mutex_lock(&u->mu);
    slot_watch_reset(&u->watch, u->max_slot_index);
    memset(&u->look, 0, sizeof u->look);
    pthread_mutex_unlock(&u->mu);
    u->active = false;
    if (pipe2(u->pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
        snprintf(why, cap, "pipe: %s", strerror(errno));
        usb_disconnect(u);
        return -1;
    }

    u->int_xfer = libusb_alloc_transfer(0);
    if (u->int_xfer) {
        libusb_fill_interrupt_transfer(u->int_xfer, u->h, u->ep_int, u->int_buf, sizeof u->int_buf,
                                       on_interrupt, u, 0);
        if (libusb_submit_transfer(u->int_xfer) != 0) {
            libusb_free_transfer(u->int_xfer);
            u->int_xfer = NULL;
        }
    }
    /* Whether a card is in each slot now (slot 1: our reader's contactless
     * front end); NotifySlotChange tells every change after. */
    for (unsigned s = 0; s <= u->max_slot_index && s < SLOT_WATCH_SLOTS; s++)
        if (!slot_status(u, (uint8_t)s, 5000)) {
            snprintf(why, cap, "GetSlotStatus of slot %u: no answer", s);
            usb_disconnect(u);
            return -1;
        }
    if (libusb_has_capability(LIBUSB_CAP_HAS_HOTPLUG) &&
        libusb_hotplug_register_callback(u->ctx, LIBUSB_HOTPLUG_EVENT_DEVICE_LEFT, 0, u->vid,
                                         u->pid, LIBUSB_HOTPLUG_MATCH_ANY, on_hotplug, u,
                                         &u->hotplug) == 0)
        u->hotplug_on = true;
    if (!u->int_xfer || pthread_create(&u->thread, NULL, events, u) != 0) {
        snprintf(why, cap, "cannot watch the interrupt pipe");
        usb_disconnect(u);
        return -1;
    }
    u->thread_on = true;
    wake(u); /* the bridge takes in the slot's state at once */
    return u->pipe[0];
}

static void usb_disconnect(void *r)
{
    struct usb_reader *u = r;
    atomic_store(&u->stop, true);
    if (u->int_xfer)
        libusb_cancel_transfer(u->int_xfer);
    if (u->hotplug_on)
        libusb_hotplug_deregister_callback(u->ctx, u->hotplug);
    u->hotplug_on = false;
    if (u->thread_on) {
        libusb_interrupt_event_handler(u->ctx);
        pthread_join(u->thread, NULL);
    }
    u->thread_on = false;
    /* The cancelled transfer's callback frees it, from the events it still needs. */
    for (int i = 0; i < 50 && u->int_xfer; i++) {
        struct timeval tv = {0, 20000};
        libusb_handle_events_timeout_completed(u->ctx, &tv, NULL);
    }
    ccid_link_close(&u->link);
    if (u->h) {
        libusb_release_interface(u->h, u->iface);
        libusb_close(u->h);
    }
    if (u->dev)
        libusb_unref_device(u->dev);
    u->h = NULL;
    u->dev = NULL;
    for (int i = 0; i < 2; i++) {
        if (u->pipe[i] >= 0)
            close(u->pipe[i]);
        u->pipe[i] = -1;
    }
    pthread_mutex_lock(&u->mu);
    slot_watch_reset(&u->watch, u->max_slot_index);
    memset(&u->look, 0, sizeof u->look);
    pthread_mutex_unlock(&u->mu);
    u->active = false;
}

static void usb_destroy(void *r)
{
    struct usb_reader *u = r;
    if (!u)
        return;
    usb_disconnect(u);
    if (u->status_xfer)
        libusb_free_transfer(u->status_xfer);
    libusb_exit(u->ctx);
    pthread_mutex_destroy(&u->mu);
    free(u);
}

static enum bridge_monitor usb_monitor(void *r)
{
    struct usb_reader *u = r;
    char buf[64];
    while (u->pipe[0] >= 0 && read(u->pipe[0], buf, sizeof buf) > 0)
        ;
    if (!u->h || atomic_load(&u->gone))
        return BRIDGE_MONITOR_BROKEN;
    pthread_mutex_lock(&u->mu);
    slot_watch_look(&u->watch, &u->look);
    struct slot_look l = u->look;
    pthread_mutex_unlock(&u->mu);
    /* A removal, even one followed by an insertion, ends the powered session. */
    if (l.changed)
        u->active = false;
    /* The card seen at the last look left and one came back (the same or
     * another: a reader cannot tell): a removal and an insertion. */
    if (l.swapped[0] || l.swapped[1])
        return BRIDGE_MONITOR_SWAPPED;
    return BRIDGE_MONITOR_OK;
}

/* As at the last look: what monitor() announced is what the bridge acts on. */
static bool slot_seen(struct usb_reader *u, unsigned slot)
{
    pthread_mutex_lock(&u->mu);
    bool p = u->look.present[slot];
    pthread_mutex_unlock(&u->mu);
    return p;
}

static bool usb_card_present(void *r)
{
    struct usb_reader *u = r;
    return slot_seen(u, 0) || slot_seen(u, 1);
}

static bool usb_card_active(void *r)
{
    struct usb_reader *u = r;
    return usb_card_present(r) && u->active;
}

static const char *usb_card_interface(void *r)
{
    struct usb_reader *u = r;
    return slot_seen(u, 1) ? "contactless" : slot_seen(u, 0) ? "contact" : NULL;
}

static enum bridge_err usb_authenticate(void *r, const struct bridge_auth *a,
                                        bridge_progress_fn progress, void *ctx,
                                        struct bridge_auth_result *res)
{
    struct usb_reader *u = r;
    bool gone = false, reset = false;
    u->active = false; /* the reader resets the card before and after */
    enum bridge_err e = bridge_reader_authenticate(&u->link, u->report, sizeof u->report, a,
                                                   progress, ctx, res, &gone, &reset);
    if (gone) {
        /* the card the session ran on: the one in the field when there was one */
        pthread_mutex_lock(&u->mu);
        unsigned slot = u->look.present[1] ? 1 : 0;
        slot_watch_gone(&u->watch, slot);
        u->look.present[slot] = false;
        pthread_mutex_unlock(&u->mu);
    }
    /* A USB bus reset: the firmware drops the host's session (usb_ccid sees
     * it); the device is then claimed again from scratch. */
    if (reset) {
        if (u->h)
            libusb_reset_device(u->h);
        atomic_store(&u->gone, true);
    }
    return e;
}

const struct bridge_backend_ops bridge_backend_usb = {
    .name = "usb",
    .create = usb_create,
    .destroy = usb_destroy,
    .connect = usb_connect,
    .disconnect = usb_disconnect,
    .monitor = usb_monitor,
    .card_present = usb_card_present,
    .card_active = usb_card_active,
    .authenticate = usb_authenticate,
    .card_interface = usb_card_interface,
};

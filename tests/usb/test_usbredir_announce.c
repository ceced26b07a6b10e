/*
 * The sim board's usbredir device announces the reader's endpoints whatever
 * moment the guest connects: this test plays QEMU's usb-redir (the guest side
 * of the usbredir protocol, Debian libusbredirparser) and connects as soon as
 * the reader's socket is there, while the board may still be reading the
 * device's descriptors for its announcement, as QEMU's reconnect timer does
 * when a reader is plugged in again. Every start must announce interface 0
 * class 0x0B and the three endpoints of the configuration descriptor
 * (bulk-OUT 0x02 and bulk-IN 0x82 of 64 bytes, interrupt-IN 0x81 of 8 bytes
 * every USB_CCID_INTERVAL_MS), before device_connect with our VID:PID.
 *
 * A guest connecting inside the board's own enumeration used to shift its
 * control transfers by one (the bus reset left the events in flight), so the
 * "configuration" it announced was the device descriptor and ep_info said
 * the data endpoints were invalid: QEMU then NAKs every bulk transfer ("usb-redir
 * error: handle_data ep 82 has unknown type 255"), libccid 1.5.2 times out
 * opening the reader and pcscd drops it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <usbredirparser.h>

#include "sim_env.h"
#include "usb_ccid.h"

#define STARTS 25

static struct sim_env env;

static struct {
    int fd;
    bool ep_info, interface_info, connected;
    bool connect_before_info;
    struct usb_redir_ep_info_header ep;
    struct usb_redir_interface_info_header itf;
    struct usb_redir_device_connect_header dc;
} G;

static unsigned ep_index(uint8_t ep)
{
    return ((ep & 0x80u) >> 3) | (ep & 0x0Fu);
}

static int on_read(void *priv, uint8_t *data, int count)
{
    (void)priv;
    ssize_t r = recv(G.fd, data, (size_t)count, MSG_DONTWAIT);
    if (r < 0 && (errno == EAGAIN || errno == EINTR))
        return 0;
    return r <= 0 ? -1 : (int)r;
}

static int on_write(void *priv, uint8_t *data, int count)
{
    (void)priv;
    ssize_t w = send(G.fd, data, (size_t)count, MSG_NOSIGNAL);
    return w < 0 ? (errno == EAGAIN || errno == EINTR ? 0 : -1) : (int)w;
}

static void on_log(void *priv, int level, const char *msg)
{
    (void)priv;
    if (level <= usbredirparser_warning)
        fprintf(stderr, "usbredirparser: %s\n", msg);
}

static void on_hello(void *priv, struct usb_redir_hello_header *h)
{
    (void)priv;
    (void)h;
}

static void on_ep_info(void *priv, struct usb_redir_ep_info_header *ep)
{
    (void)priv;
    G.ep = *ep;
    G.ep_info = true;
}

static void on_interface_info(void *priv, struct usb_redir_interface_info_header *itf)
{
    (void)priv;
    G.itf = *itf;
    G.interface_info = true;
}

static void on_device_connect(void *priv, struct usb_redir_device_connect_header *dc)
{
    (void)priv;
    G.dc = *dc;
    G.connected = true;
    G.connect_before_info = !G.ep_info || !G.interface_info;
}

static void on_device_disconnect(void *priv)
{
    (void)priv;
    G.connected = false;
}

/* Connects to the reader's usbredir socket at once and reads until its device_connect. */
static void connect_and_read_announcement(void)
{
    memset(&G, 0, sizeof G);
    G.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(G.fd >= 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", env.usb_path);
    assert_int_equal(connect(G.fd, (struct sockaddr *)&a, sizeof a), 0);

    struct usbredirparser *p = usbredirparser_create();
    assert_non_null(p);
    p->log_func = on_log;
    p->read_func = on_read;
    p->write_func = on_write;
    p->hello_func = on_hello;
    p->ep_info_func = on_ep_info;
    p->interface_info_func = on_interface_info;
    p->device_connect_func = on_device_connect;
    p->device_disconnect_func = on_device_disconnect;
    uint32_t caps[USB_REDIR_CAPS_SIZE] = {0};
    /* What QEMU 7.2's usb-redir offers that matters here. */
    usbredirparser_caps_set_cap(caps, usb_redir_cap_connect_device_version);
    usbredirparser_caps_set_cap(caps, usb_redir_cap_ep_info_max_packet_size);
    usbredirparser_caps_set_cap(caps, usb_redir_cap_64bits_ids);
    usbredirparser_caps_set_cap(caps, usb_redir_cap_32bits_bulk_length);
    usbredirparser_init(p, "hawiya test guest", caps, USB_REDIR_CAPS_SIZE, 0);

    /* Generous: the reader starts under ASan on a loaded machine. */
    time_t end = time(NULL) + 30;
    while (!G.connected && time(NULL) < end) {
        while (usbredirparser_has_data_to_write(p))
            if (usbredirparser_do_write(p) < 0)
                break;
        struct pollfd pf = {.fd = G.fd, .events = POLLIN};
        if (poll(&pf, 1, 200) > 0)
            assert_int_equal(usbredirparser_do_read(p), 0);
    }
    usbredirparser_destroy(p);
    close(G.fd);
}

static void announcement_whenever_the_guest_connects(void **state)
{
    (void)state;
    const char *personas = getenv("HAWIYA_USB_PERSONAS");
    assert_non_null(personas);
    assert_int_equal(sim_env_start_usbredir(&env, personas, "usb-sweep"), 0);
    for (int i = 0; i < STARTS; i++) {
        if (i > 0)
            assert_int_equal(sim_env_reader_usbredir(&env), 0);
        connect_and_read_announcement();
        assert_true(G.connected);
        const unsigned out = ep_index(USB_CCID_EP_BULK_OUT), in = ep_index(USB_CCID_EP_BULK_IN),
                       irq = ep_index(USB_CCID_EP_INTERRUPT);
        if (G.dc.vendor_id != USB_CCID_VID || G.ep.type[out] != usb_redir_type_bulk ||
            G.ep.type[in] != usb_redir_type_bulk || G.ep.type[irq] != usb_redir_type_interrupt)
            fprintf(stderr,
                    "start %d: announced %04X:%04X, endpoint types OUT %u IN %u INT %u "
                    "(bulk 3, interrupt 2)\n",
                    i, G.dc.vendor_id, G.dc.product_id, G.ep.type[out], G.ep.type[in],
                    G.ep.type[irq]);
        assert_false(G.connect_before_info); /* QEMU drops a device announced the other way */
        assert_int_equal(G.dc.vendor_id, USB_CCID_VID);
        assert_int_equal(G.dc.product_id, USB_CCID_PID);
        assert_int_equal(G.dc.speed, usb_redir_speed_full);

        assert_int_equal(G.itf.interface_count, 1);
        assert_int_equal(G.itf.interface[0], 0);
        assert_int_equal(G.itf.interface_class[0], USB_CLASS_CCID);

        assert_int_equal(G.ep.type[0], usb_redir_type_control);
        assert_int_equal(G.ep.type[out], usb_redir_type_bulk);
        assert_int_equal(G.ep.type[in], usb_redir_type_bulk);
        assert_int_equal(G.ep.type[irq], usb_redir_type_interrupt);
        assert_int_equal(G.ep.max_packet_size[out], 64);
        assert_int_equal(G.ep.max_packet_size[in], 64);
        assert_int_equal(G.ep.max_packet_size[irq], USB_CCID_INTERRUPT_MP);
        assert_int_equal(G.ep.interval[irq], USB_CCID_INTERVAL_MS);
        /* Nothing else: every other endpoint invalid. */
        for (unsigned e = 0; e < 32; e++)
            if (e != 0 && e != 16 && e != out && e != in && e != irq)
                assert_int_equal(G.ep.type[e], usb_redir_type_invalid);
    }
}

static int teardown(void **state)
{
    (void)state;
    sim_env_stop(&env);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(announcement_whenever_the_guest_connects, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

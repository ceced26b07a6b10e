/*
 * The USB device layer (firmware/src/usb_device.c, usb_ccid.c) against a
 * mock device controller (hal/usb_dc.h) that plays the host at the packet
 * level: control transfers with their three stages (USB 2.0 §8.5.3), the
 * standard requests of §9.4, the CCID descriptors and class requests (CCID
 * 1.1 §5.1, §5.3), and the bulk and interrupt pipes' packets, short packets
 * and zero-length packets. The rest of the board is tests/unit/mock_board.c
 * with an empty slot.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "ccid_device.h"
#include "mock_board.h"
#include "usb_ccid.h"

/* ---- the mock device controller ------------------------------------------------ */

#define QMAX    64
#define LOG_MAX 8192

struct ep_log {
    uint8_t bytes[LOG_MAX];
    size_t len;
    unsigned packets, zlps, short_packets;
    size_t last_len;
};

static struct {
    struct usb_dc_event q[QMAX];
    unsigned head, count;
    bool attached;
    uint8_t address;
    bool open[32], armed[32], stalled[32], busy[32];
    uint16_t mps[32];
    enum usb_dc_ep_type type[32];
    bool host_reads[32]; /* the host takes IN packets as soon as they are written */
    bool read_when_idle; /* ...or, once nothing else is queued, starts taking them */
    uint8_t fifo[32][USB_DC_MAX_PACKET];
    size_t fifo_len[32];
    struct ep_log log[32];
    unsigned flushes[32];
} dc;

static unsigned idx(uint8_t ep)
{
    return (ep & USB_DC_EP_IN ? 16u : 0u) + (ep & 15u);
}

static void push(enum usb_dc_event_type t, uint8_t ep, const uint8_t *data, size_t len)
{
    assert_true(dc.count < QMAX);
    struct usb_dc_event *e = &dc.q[(dc.head + dc.count++) % QMAX];
    memset(e, 0, sizeof *e);
    e->type = t;
    e->ep = ep;
    e->len = (uint8_t)len;
    if (len)
        memcpy(e->data, data, len);
}

static void take(uint8_t ep, const uint8_t *data, size_t len);

bool hal_usb_dc_poll(struct usb_dc_event *ev)
{
    for (unsigned i = 16; dc.count == 0 && dc.read_when_idle && i < 32; i++) {
        dc.host_reads[i] = true;
        if (dc.busy[i]) {
            dc.busy[i] = false;
            take((uint8_t)(USB_DC_EP_IN | (i - 16)), dc.fifo[i], dc.fifo_len[i]);
            push(USB_DC_EVENT_IN_DONE, (uint8_t)(USB_DC_EP_IN | (i - 16)), NULL, 0);
        }
    }
    if (dc.count == 0)
        return false;
    *ev = dc.q[dc.head];
    dc.head = (dc.head + 1) % QMAX;
    dc.count--;
    return true;
}

void hal_usb_dc_attach(bool on)
{
    dc.attached = on;
}

void hal_usb_dc_set_address(uint8_t address)
{
    dc.address = address;
}

void hal_usb_dc_ep_open(uint8_t ep, enum usb_dc_ep_type type, uint16_t max_packet)
{
    dc.open[idx(ep)] = true;
    dc.type[idx(ep)] = type;
    dc.mps[idx(ep)] = max_packet;
}

void hal_usb_dc_ep_close(uint8_t ep)
{
    dc.open[idx(ep)] = dc.armed[idx(ep)] = dc.busy[idx(ep)] = false;
}

static void take(uint8_t ep, const uint8_t *data, size_t len)
{
    struct ep_log *l = &dc.log[idx(ep)];
    assert_true(l->len + len <= LOG_MAX);
    if (len)
        memcpy(l->bytes + l->len, data, len);
    l->len += len;
    l->packets++;
    l->last_len = len;
    if (len == 0)
        l->zlps++;
    else if (len < USB_DC_MAX_PACKET)
        l->short_packets++;
}

bool hal_usb_dc_ep_write(uint8_t ep, const uint8_t *data, size_t len)
{
    unsigned i = idx(ep);
    assert_true(ep & USB_DC_EP_IN);
    assert_true(len <= (i == 16 ? USB_DC_MAX_PACKET : dc.mps[i]));
    assert_false(dc.busy[i]); /* one packet at a time */
    if (dc.host_reads[i]) {
        take(ep, data, len);
        push(USB_DC_EVENT_IN_DONE, ep, NULL, 0);
    } else {
        dc.busy[i] = true; /* the packet stays in the FIFO */
        if (len)
            memcpy(dc.fifo[i], data, len);
        dc.fifo_len[i] = len;
    }
    return true;
}

void hal_usb_dc_ep_flush(uint8_t ep)
{
    dc.busy[idx(ep)] = false;
    dc.flushes[idx(ep)]++;
}

void hal_usb_dc_ep_arm(uint8_t ep)
{
    dc.armed[idx(ep)] = true;
}

void hal_usb_dc_ep_stall(uint8_t ep, bool stall)
{
    dc.stalled[idx(ep)] = stall;
}

/* ---- the host's side ------------------------------------------------------------ */

static struct ccid_device dev;
static struct usb_ccid usb;

static void run(void)
{
    usb_ccid_poll(&usb);
}

/* A control transfer; returns the data stage's bytes (IN) or -1 on a STALL. */
static int control(uint8_t type, uint8_t req, uint16_t value, uint16_t index, uint16_t length,
                   const uint8_t *out_data, uint8_t *in, struct ep_log *seen)
{
    const uint8_t setup[8] = {type,
                              req,
                              (uint8_t)value,
                              (uint8_t)(value >> 8),
                              (uint8_t)index,
                              (uint8_t)(index >> 8),
                              (uint8_t)length,
                              (uint8_t)(length >> 8)};
    memset(&dc.log[16], 0, sizeof dc.log[16]);
    dc.host_reads[16] = true;
    push(USB_DC_EVENT_SETUP, 0, setup, sizeof setup);
    run();
    if (dc.stalled[16] || dc.stalled[0])
        return -1;
    if (type & USB_DIR_IN) {
        /* The device stopped sending: a short packet, or wLength reached. */
        struct ep_log *l = &dc.log[16];
        assert_true(l->len == length || l->last_len < USB_DC_MAX_PACKET);
        memcpy(in, l->bytes, l->len);
        if (seen)
            *seen = *l;
        assert_true(dc.armed[0]);
        push(USB_DC_EVENT_OUT, 0, NULL, 0); /* status stage */
        run();
        return (int)l->len;
    }
    for (size_t off = 0; off < length; off += USB_DC_MAX_PACKET) {
        assert_true(dc.armed[0]);
        dc.armed[0] = false;
        size_t k = length - off < USB_DC_MAX_PACKET ? length - off : USB_DC_MAX_PACKET;
        push(USB_DC_EVENT_OUT, 0, out_data + off, k);
        run();
    }
    if (dc.stalled[16] || dc.stalled[0])
        return -1;
    assert_int_equal(dc.log[16].packets, 1); /* the status stage's ZLP */
    assert_int_equal(dc.log[16].zlps, 1);
    return 0;
}

static int get(uint8_t type, uint8_t req, uint16_t value, uint16_t index, uint16_t length,
               uint8_t *in)
{
    return control(type | USB_DIR_IN, req, value, index, length, NULL, in, NULL);
}

static int set(uint8_t type, uint8_t req, uint16_t value, uint16_t index)
{
    return control(type, req, value, index, 0, NULL, NULL, NULL);
}

/* Sends a bulk-OUT transfer in 64-byte packets while the endpoint takes them;
 * returns the bytes it took (the rest was NAKed). */
static size_t bulk_out(const uint8_t *m, size_t n, bool zlp)
{
    size_t off = 0;
    do {
        if (!dc.armed[USB_CCID_EP_BULK_OUT])
            return off;
        dc.armed[USB_CCID_EP_BULK_OUT] = false;
        size_t k = n - off < USB_DC_MAX_PACKET ? n - off : USB_DC_MAX_PACKET;
        push(USB_DC_EVENT_OUT, USB_CCID_EP_BULK_OUT, m + off, k);
        run();
        off += k;
    } while (off < n);
    if (zlp && n % USB_DC_MAX_PACKET == 0 && dc.armed[USB_CCID_EP_BULK_OUT]) {
        dc.armed[USB_CCID_EP_BULK_OUT] = false;
        push(USB_DC_EVENT_OUT, USB_CCID_EP_BULK_OUT, NULL, 0);
        run();
    }
    return off;
}

static void configure(void)
{
    uint8_t b[8];
    assert_int_equal(set(0, USB_REQ_SET_ADDRESS, 9, 0), 0);
    assert_int_equal(set(0, USB_REQ_SET_CONFIGURATION, 1, 0), 0);
    assert_int_equal(get(0, USB_REQ_GET_CONFIGURATION, 0, 0, 1, b), 1);
    assert_int_equal(b[0], 1);
    dc.host_reads[idx(USB_CCID_EP_BULK_IN)] = true;
    dc.host_reads[idx(USB_CCID_EP_INTERRUPT)] = true;
}

static int setup(void **state)
{
    (void)state;
    mock_board_reset(1);
    memset(&dc, 0, sizeof dc);
    struct slot_limits lim = {.classes =
                                  (1u << SC_CLASS_A) | (1u << SC_CLASS_B) | (1u << SC_CLASS_C),
                              .clk_max_hz = 20000000,
                              .max_baud = 825000,
                              .di_supported = 0x03FE,
                              .ifsd = 254};
    ccid_device_init(&dev, &lim);
    usb_ccid_init(&usb, &dev, "Hawiya", "Hawiya eID reader (sim)", "0123");
    usb_device_attach(&usb.usb, true);
    push(USB_DC_EVENT_RESET, 0, NULL, 0);
    run();
    return 0;
}

/* ---- descriptors ------------------------------------------------------------------ */

static void test_device_descriptor(void **state)
{
    (void)state;
    uint8_t b[64];
    const uint8_t want[18] = {0x12, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x40, 0x09,
                              0x12, 0x01, 0x00, 0x00, 0x01, 0x01, 0x02, 0x03, 0x01};
    assert_true(dc.attached);
    /* Linux first asks for 64 bytes at address 0: it gets 18, a short packet. */
    assert_int_equal(get(0, USB_REQ_GET_DESCRIPTOR, 0x0100, 0, 64, b), 18);
    assert_memory_equal(b, want, sizeof want);
    /* wLength 8: just the first packet's worth (bMaxPacketSize0 at offset 7). */
    assert_int_equal(get(0, USB_REQ_GET_DESCRIPTOR, 0x0100, 0, 8, b), 8);
    assert_memory_equal(b, want, 8);
}

static void test_configuration_descriptor(void **state)
{
    (void)state;
    uint8_t b[USB_DEVICE_EP0_MAX];
    struct ep_log seen;
    assert_int_equal(get(0, USB_REQ_GET_DESCRIPTOR, 0x0200, 0, 9, b), 9);
    assert_int_equal(b[2] | b[3] << 8, 93); /* wTotalLength: 9 + 9 + 54 + 3 x 7 */
    /* 93 bytes for 255 asked: 64 + 29, the short packet ends it, no ZLP. */
    assert_int_equal(control(USB_DIR_IN, USB_REQ_GET_DESCRIPTOR, 0x0200, 0, 255, NULL, b, &seen),
                     93);
    assert_int_equal(seen.packets, 2);
    assert_int_equal(seen.zlps, 0);
    const uint8_t config[9] = {9, 2, 93, 0, 1, 1, 0, 0x80, 50};
    const uint8_t iface[9] = {9, 4, 0, 0, 3, 0x0B, 0, 0, 0};
    assert_memory_equal(b, config, 9);
    assert_memory_equal(b + 9, iface, 9);
    struct ccid_descriptor cd;
    assert_int_equal(ccid_decode_descriptor(b + 18, 54, &cd), CCID_OK);
    assert_int_equal(cd.bcd_ccid, 0x0110);
    assert_int_equal(cd.max_slot_index, CCID_DEVICE_MAX_SLOT_INDEX);
    assert_int_equal(cd.voltage_support, 0x07);
    assert_int_equal(cd.protocols, 0x03);
    /* automatic ATR parameters, voltage, clock, baud, negotiation, IFSD; extended APDUs */
    assert_int_equal(cd.features, 0x0004047Au);
    assert_int_equal(cd.max_ccid_message_length, CCID_DEVICE_MAX_MESSAGE);
    assert_int_equal(cd.max_ifsd, 254);
    assert_int_equal(cd.default_clock, 4000);
    assert_int_equal(cd.maximum_clock, 20000);
    assert_int_equal(cd.data_rate, 10752);
    assert_int_equal(cd.num_clock_supported, usb.nclocks);
    assert_int_equal(cd.num_data_rates_supported, usb.nrates);
    assert_int_equal(cd.max_data_rate, usb.rates[usb.nrates - 1]);
    assert_true(cd.max_data_rate <= 825000);
    const uint8_t eps[21] = {7,  5, 0x02, 2, 64, 0,    0, 7, 5, 0x82, 2,
                             64, 0, 0,    7, 5,  0x81, 3, 8, 0, 16};
    assert_memory_equal(b + 72, eps, sizeof eps);
    /* wLength 64: exactly one full packet and nothing more. */
    assert_int_equal(control(USB_DIR_IN, USB_REQ_GET_DESCRIPTOR, 0x0200, 0, 64, NULL, b, &seen),
                     64);
    assert_int_equal(seen.packets, 1);
}

static void test_strings_and_zlp(void **state)
{
    (void)state;
    uint8_t b[256];
    struct ep_log seen;
    assert_int_equal(get(0, USB_REQ_GET_DESCRIPTOR, 0x0300, 0, 255, b), 4);
    assert_memory_equal(b, ((const uint8_t[]){4, 3, 0x09, 0x04}), 4);
    assert_int_equal(get(0, USB_REQ_GET_DESCRIPTOR, 0x0301, 0x0409, 255, b), 14);
    assert_memory_equal(b, ((const uint8_t[]){14, 3, 'H', 0, 'a', 0, 'w', 0}), 8);
    /* A 31-character product: 2 + 62 = 64 bytes for 255 asked: a full packet,
     * then the zero-length packet that tells the host this is all. */
    usb.usb.info.product = "0123456789012345678901234567890";
    assert_int_equal(
        control(USB_DIR_IN, USB_REQ_GET_DESCRIPTOR, 0x0302, 0x0409, 255, NULL, b, &seen), 64);
    assert_int_equal(seen.packets, 2);
    assert_int_equal(seen.zlps, 1);
    /* The same asked for exactly 64: no ZLP. */
    assert_int_equal(
        control(USB_DIR_IN, USB_REQ_GET_DESCRIPTOR, 0x0302, 0x0409, 64, NULL, b, &seen), 64);
    assert_int_equal(seen.zlps, 0);
    /* No such string, another language, a device qualifier (full speed only): STALL. */
    assert_int_equal(get(0, USB_REQ_GET_DESCRIPTOR, 0x0304, 0x0409, 255, b), -1);
    assert_int_equal(get(0, USB_REQ_GET_DESCRIPTOR, 0x0301, 0x0407, 255, b), -1);
    assert_int_equal(get(0, USB_REQ_GET_DESCRIPTOR, 0x0600, 0, 10, b), -1);
    /* A SETUP clears the stall: the next request works. */
    assert_int_equal(get(0, USB_REQ_GET_DESCRIPTOR, 0x0100, 0, 18, b), 18);
}

/* ---- standard requests --------------------------------------------------------- */

static void test_address_and_configuration(void **state)
{
    (void)state;
    uint8_t b[8];
    /* SET_CONFIGURATION before an address: a request error in the Default state. */
    assert_int_equal(set(0, USB_REQ_SET_CONFIGURATION, 1, 0), -1);
    dc.address = 0xFF;
    dc.host_reads[16] = false;
    push(USB_DC_EVENT_SETUP, 0, (const uint8_t[]){0, 5, 9, 0, 0, 0, 0, 0}, 8);
    run();
    /* §9.4.6: the address changes only after the status stage. */
    assert_int_equal(dc.address, 0xFF);
    assert_true(dc.busy[16] || dc.log[16].zlps == 1);
    memset(&dc.log[16], 0, sizeof dc.log[16]);
    assert_int_equal(usb.usb.state, USB_STATE_DEFAULT);
    dc.busy[16] = false;
    push(USB_DC_EVENT_IN_DONE, USB_DC_EP_IN, NULL, 0);
    run();
    assert_int_equal(dc.address, 9);
    assert_int_equal(usb.usb.state, USB_STATE_ADDRESS);
    assert_false(usb_ccid_host_connected(&usb));

    assert_int_equal(set(0, USB_REQ_SET_CONFIGURATION, 2, 0), -1);
    assert_int_equal(set(0, USB_REQ_SET_CONFIGURATION, 1, 0), 0);
    assert_true(usb_ccid_host_connected(&usb));
    assert_true(dc.open[idx(0x02)] && dc.open[idx(0x82)] && dc.open[idx(0x81)]);
    assert_int_equal(dc.type[idx(0x02)], USB_DC_EP_BULK);
    assert_int_equal(dc.type[idx(0x81)], USB_DC_EP_INTERRUPT);
    assert_int_equal(dc.mps[idx(0x82)], 64);
    assert_int_equal(dc.mps[idx(0x81)], 8);
    assert_true(dc.armed[idx(0x02)]);
    assert_int_equal(get(USB_RECIP_INTERFACE, USB_REQ_GET_INTERFACE, 0, 0, 1, b), 1);
    assert_int_equal(b[0], 0);
    assert_int_equal(set(USB_RECIP_INTERFACE, USB_REQ_SET_INTERFACE, 0, 0), 0);
    assert_int_equal(set(USB_RECIP_INTERFACE, USB_REQ_SET_INTERFACE, 1, 0), -1);
    assert_int_equal(get(USB_RECIP_INTERFACE, USB_REQ_GET_INTERFACE, 0, 1, 1, b), -1);
    /* Unconfigured again: endpoints closed, the host link reports the host gone once. */
    assert_int_equal(set(0, USB_REQ_SET_CONFIGURATION, 0, 0), 0);
    assert_false(dc.open[idx(0x82)]);
    size_t n;
    assert_int_equal(usb_ccid_host_recv(&usb, b, sizeof b, &n), HOST_RX_CLOSED);
    assert_int_equal(usb_ccid_host_recv(&usb, b, sizeof b, &n), HOST_RX_IDLE);
}

static void test_status_and_halt(void **state)
{
    (void)state;
    uint8_t b[8];
    configure();
    assert_int_equal(get(0, USB_REQ_GET_STATUS, 0, 0, 2, b), 2);
    assert_memory_equal(b, ((const uint8_t[]){0, 0}), 2); /* bus-powered, no wake-up */
    assert_int_equal(get(USB_RECIP_ENDPOINT, USB_REQ_GET_STATUS, 0, 0x82, 2, b), 2);
    assert_int_equal(b[0], 0);
    assert_int_equal(set(USB_RECIP_ENDPOINT, USB_REQ_SET_FEATURE, 0, 0x82), 0);
    assert_true(dc.stalled[idx(0x82)]);
    assert_int_equal(get(USB_RECIP_ENDPOINT, USB_REQ_GET_STATUS, 0, 0x82, 2, b), 2);
    assert_int_equal(b[0], 1);
    assert_int_equal(set(USB_RECIP_ENDPOINT, USB_REQ_CLEAR_FEATURE, 0, 0x82), 0);
    assert_false(dc.stalled[idx(0x82)]);
    assert_int_equal(get(USB_RECIP_ENDPOINT, USB_REQ_GET_STATUS, 0, 0x82, 2, b), 2);
    assert_int_equal(b[0], 0);
    /* No endpoint 0x83; no remote wake-up; no test mode; no SET_DESCRIPTOR. */
    assert_int_equal(get(USB_RECIP_ENDPOINT, USB_REQ_GET_STATUS, 0, 0x83, 2, b), -1);
    assert_int_equal(set(0, USB_REQ_SET_FEATURE, USB_FEATURE_REMOTE_WAKEUP, 0), -1);
    assert_int_equal(set(0, USB_REQ_SET_FEATURE, USB_FEATURE_TEST_MODE, 0x0100), -1);
    assert_int_equal(set(0, USB_REQ_SET_DESCRIPTOR, 0x0100, 0), -1);
    /* SET_INTERFACE clears a halt (§9.4.10). */
    assert_int_equal(set(USB_RECIP_ENDPOINT, USB_REQ_SET_FEATURE, 0, 0x02), 0);
    assert_int_equal(set(USB_RECIP_INTERFACE, USB_REQ_SET_INTERFACE, 0, 0), 0);
    assert_false(dc.stalled[idx(0x02)]);
    assert_true(dc.armed[idx(0x02)]);
}

/* ---- CCID class requests (§5.3) --------------------------------------------------- */

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void test_class_requests(void **state)
{
    (void)state;
    uint8_t b[USB_DEVICE_EP0_MAX];
    const uint8_t cls = USB_TYPE_CLASS | USB_RECIP_INTERFACE;
    /* Not before SET_CONFIGURATION. */
    assert_int_equal(get(cls, USB_CCID_REQ_GET_CLOCK_FREQUENCIES, 0, 0, 255, b), -1);
    configure();

    int n = get(cls, USB_CCID_REQ_GET_CLOCK_FREQUENCIES, 0, 0, 255, b);
    /* 4 MHz for activation, then each Fi's fmax of 7816-3 Table 7 up to 20 MHz. */
    const uint32_t clocks[] = {4000, 5000, 6000, 7500, 8000, 10000, 12000, 15000, 16000, 20000};
    assert_int_equal(n, (int)sizeof clocks);
    for (size_t i = 0; i < sizeof clocks / 4; i++)
        assert_int_equal(le32(b + 4 * i), clocks[i]);

    n = get(cls, USB_CCID_REQ_GET_DATA_RATES, 0, 0, sizeof b, b);
    /* Every f x Di / Fi of 7816-3 Tables 7 and 8 (Di codes 1-9, f the Fi's fmax
     * within 20 MHz) up to 825 000 bps, counted apart with a script: 24. */
    assert_int_equal(n, 24 * 4);
    assert_int_equal(le32(b), 9765);           /* 5 MHz / 512 */
    assert_int_equal(le32(b + n - 4), 688172); /* Di 64 at fmax / Fi = 1 / 372 x 4 MHz x 64 */
    for (int i = 4; i < n; i += 4)
        assert_true(le32(b + i) > le32(b + i - 4)); /* ascending, each once */
    /* The default (4 MHz / 372) and Fi 372 at 5 MHz with Di 2 are there. */
    bool fd = false, fi372_5mhz_di2 = false;
    for (int i = 0; i < n; i += 4) {
        fd |= le32(b + i) == 10752;
        fi372_5mhz_di2 |= le32(b + i) == 26881;
    }
    assert_true(fd && fi372_5mhz_di2);

    /* ABORT: slots 0 and 1 (contactless), any bSeq; not to slot 2, not as IN,
     * not to interface 1. */
    assert_int_equal(set(cls, USB_CCID_REQ_ABORT, 0x0700, 0), 0);
    assert_int_equal(usb.aborts, 1);
    assert_int_equal(set(cls, USB_CCID_REQ_ABORT, 0x0701, 0), 0);
    assert_int_equal(usb.aborts, 2);
    assert_int_equal(set(cls, USB_CCID_REQ_ABORT, 0x0702, 0), -1);
    assert_int_equal(get(cls, USB_CCID_REQ_ABORT, 0x0700, 0, 4, b), -1);
    assert_int_equal(set(cls, USB_CCID_REQ_ABORT, 0x0700, 1), -1);
    assert_int_equal(get(cls, 0x04, 0, 0, 4, b), -1);
    assert_int_equal(get(USB_TYPE_VENDOR | USB_RECIP_DEVICE, 1, 0, 0, 4, b), -1);
}

/* ---- bulk pipes ------------------------------------------------------------------ */

static size_t xfr(uint8_t *m, size_t apdu_len, uint8_t seq)
{
    m[0] = CCID_PC_TO_RDR_XFR_BLOCK;
    m[1] = (uint8_t)apdu_len;
    m[2] = (uint8_t)(apdu_len >> 8);
    m[3] = (uint8_t)(apdu_len >> 16);
    m[4] = 0;
    m[5] = 0;
    m[6] = seq;
    m[7] = m[8] = m[9] = 0;
    for (size_t i = 0; i < apdu_len; i++)
        m[10 + i] = (uint8_t)(i * 7 + seq);
    return 10 + apdu_len;
}

static void recv_exactly(const uint8_t *m, size_t n)
{
    static uint8_t got[CCID_DEVICE_MAX_MESSAGE];
    size_t k;
    assert_int_equal(usb_ccid_host_recv(&usb, got, sizeof got, &k), HOST_RX_OK);
    assert_int_equal(k, n);
    assert_memory_equal(got, m, n);
    assert_int_equal(usb_ccid_host_recv(&usb, got, sizeof got, &k), HOST_RX_IDLE);
}

static void test_bulk_out_messages(void **state)
{
    (void)state;
    static uint8_t m[2048], m2[2048];
    configure();
    /* Each size around the packet boundaries, with and without a trailing ZLP. */
    const size_t sizes[] = {0, 1, 53, 54, 55, 117, 118, 119, 300, 1014, 1500};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t n = xfr(m, sizes[i], (uint8_t)i);
        assert_int_equal(bulk_out(m, n, i & 1), n);
        /* Held: the next message is NAKed until the CCID layer takes this one. */
        size_t n2 = xfr(m2, 3, 0x55);
        assert_int_equal(bulk_out(m2, n2, false), 0);
        recv_exactly(m, n);
        assert_int_equal(bulk_out(m2, n2, false), n2);
        recv_exactly(m2, n2);
    }
    /* Taken in pieces by a caller with a small buffer. */
    size_t n = xfr(m, 200, 9);
    assert_int_equal(bulk_out(m, n, false), n);
    uint8_t part[100];
    size_t k, total = 0;
    while (usb_ccid_host_recv(&usb, part, sizeof part, &k) == HOST_RX_OK) {
        assert_memory_equal(part, m + total, k);
        total += k;
    }
    assert_int_equal(total, n);
    assert_int_equal(usb.rejected, 0);
}

/* The answers the device sent on bulk-IN, message after message. */
static void expect_reject(uint8_t seq)
{
    struct ep_log *l = &dc.log[idx(USB_CCID_EP_BULK_IN)];
    assert_int_equal(l->len, 10);
    struct ccid_msg r;
    assert_int_equal(ccid_decode(l->bytes, l->len, 64, &r, NULL), CCID_OK);
    assert_int_equal(r.type, CCID_RDR_TO_PC_SLOT_STATUS);
    assert_int_equal(r.seq, seq);
    assert_int_equal(ccid_status_command(r.status), CCID_CMD_FAILED);
    assert_int_equal(ccid_status_icc(r.status), CCID_ICC_ABSENT);
    assert_int_equal(r.error, 1); /* dwLength */
    memset(l, 0, sizeof *l);
}

static void test_bulk_out_bad_transfers(void **state)
{
    (void)state;
    static uint8_t m[4096];
    configure();
    /* dwLength says 100, the transfer ends (short packet) after 30 bytes. */
    xfr(m, 100, 0x21);
    assert_int_equal(bulk_out(m, 40, false), 40);
    expect_reject(0x21);
    /* A header cut short. */
    assert_int_equal(bulk_out((const uint8_t[]){0x65, 0, 0, 0, 0, 0, 0x22}, 7, false), 7);
    expect_reject(0x22);
    /* More in the transfer than dwLength: 10 + 60 announced, 128 sent. */
    xfr(m, 60, 0x23);
    m[1] = 60;
    assert_int_equal(bulk_out(m, 128, false), 128);
    expect_reject(0x23);
    /* Above dwMaxCCIDMessageLength: answered at once, the rest of the
     * transfer (up to its short packet) dropped, then all is well again. */
    memset(m, 0xEE, sizeof m);
    xfr(m, 64, 0x24);
    m[3] = 0x10; /* dwLength 0x100040 */
    assert_int_equal(bulk_out(m, 64 * 20 + 5, false), 64 * 20 + 5);
    expect_reject(0x24);
    size_t n = xfr(m, 5, 0x25);
    assert_int_equal(bulk_out(m, n, false), n);
    recv_exactly(m, n);
    assert_int_equal(usb.rejected, 4);
}

static void test_bulk_in_packets(void **state)
{
    (void)state;
    static uint8_t m[1024];
    configure();
    struct ep_log *l = &dc.log[idx(USB_CCID_EP_BULK_IN)];
    for (size_t i = 0; i < sizeof m; i++)
        m[i] = (uint8_t)(i ^ 0x5A);
    /* size: packets, of which zero-length */
    const struct {
        size_t n;
        unsigned packets, zlps;
    } cases[] = {{10, 1, 0},  {63, 1, 0},  {64, 2, 1},   {65, 2, 0},
                 {128, 3, 1}, {200, 4, 0}, {1024, 17, 1}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memset(l, 0, sizeof *l);
        usb_ccid_host_send(&usb, m, cases[i].n);
        assert_int_equal(l->len, cases[i].n);
        assert_memory_equal(l->bytes, m, cases[i].n);
        assert_int_equal(l->packets, cases[i].packets);
        assert_int_equal(l->zlps, cases[i].zlps);
    }
    /* A host that never reads: the device gives up after USB_CCID_SEND_IDLE_MS
     * and drops the packet from its FIFO. */
    dc.host_reads[idx(USB_CCID_EP_BULK_IN)] = false;
    uint64_t t0 = mock_board.now_ns;
    usb_ccid_host_send(&usb, m, 10);
    assert_int_equal(dc.flushes[idx(USB_CCID_EP_BULK_IN)], 1);
    assert_true(mock_board.now_ns - t0 >= (uint64_t)USB_CCID_SEND_IDLE_MS * 1000000u);
    /* A halted pipe sends nothing. */
    dc.busy[idx(USB_CCID_EP_BULK_IN)] = false;
    dc.host_reads[idx(USB_CCID_EP_BULK_IN)] = true;
    assert_int_equal(set(USB_RECIP_ENDPOINT, USB_REQ_SET_FEATURE, 0, 0x82), 0);
    memset(l, 0, sizeof *l);
    usb_ccid_host_send(&usb, m, 10);
    assert_int_equal(l->packets, 0);
}

static void test_abort_drops_the_answer(void **state)
{
    (void)state;
    static uint8_t m[300];
    configure();
    /* The host does not read; ABORT arrives on EP0 while the answer waits. */
    dc.host_reads[idx(USB_CCID_EP_BULK_IN)] = false;
    const uint8_t abort_setup[8] = {
        USB_TYPE_CLASS | USB_RECIP_INTERFACE, USB_CCID_REQ_ABORT, 0, 3, 0, 0, 0, 0};
    push(USB_DC_EVENT_SETUP, 0, abort_setup, 8);
    uint64_t t0 = mock_board.now_ns;
    usb_ccid_host_send(&usb, m, sizeof m);
    assert_int_equal(usb.aborts, 1);
    assert_true(mock_board.now_ns - t0 < 1000000000u); /* at once, not after the idle bound */
    assert_true(dc.flushes[idx(USB_CCID_EP_BULK_IN)] >= 1);
}

/* A bad transfer while an answer waits for the host: its rejection goes out
 * after the answer, not into the middle of it. */
static void test_reject_waits_behind_the_answer(void **state)
{
    (void)state;
    static uint8_t m[128];
    configure();
    struct ep_log *l = &dc.log[idx(USB_CCID_EP_BULK_IN)];
    dc.host_reads[idx(USB_CCID_EP_BULK_IN)] = false;
    dc.read_when_idle = true;
    xfr(m, 100, 0x31); /* announces 110 bytes, the transfer ends after 30 */
    dc.armed[USB_CCID_EP_BULK_OUT] = false;
    push(USB_DC_EVENT_OUT, USB_CCID_EP_BULK_OUT, m, 30);
    const uint8_t answer[10] = {0x81, 0, 0, 0, 0, 0, 0x30, 0x02, 0, 0x01};
    usb_ccid_host_send(&usb, answer, sizeof answer);
    assert_int_equal(l->len, 20);
    assert_memory_equal(l->bytes, answer, sizeof answer);
    memmove(l->bytes, l->bytes + 10, 10);
    l->len = 10;
    expect_reject(0x31);
}

/* ---- interrupt pipe (§6.3) -------------------------------------------------------- */

static void test_interrupt_notifications(void **state)
{
    (void)state;
    configure();
    struct ep_log *l = &dc.log[idx(USB_CCID_EP_INTERRUPT)];
    dc.host_reads[idx(USB_CCID_EP_INTERRUPT)] = false;
    /* In flight: present + changed. Then removed, inserted again, before the
     * host polls: one message, present and changed. */
    usb_ccid_host_notify(&usb, (const uint8_t[]){0x50, 0x03}, 2);
    assert_true(dc.busy[idx(USB_CCID_EP_INTERRUPT)]);
    usb_ccid_host_notify(&usb, (const uint8_t[]){0x50, 0x02}, 2);
    usb_ccid_host_notify(&usb, (const uint8_t[]){0x50, 0x03}, 2);
    assert_int_equal(usb.notifications_merged, 1);
    /* A hardware error meanwhile is not merged away, and goes first. */
    usb_ccid_hardware_error(&usb, 0, 0x42, CCID_HW_ERROR_OVERCURRENT);
    dc.busy[idx(USB_CCID_EP_INTERRUPT)] = false;
    dc.host_reads[idx(USB_CCID_EP_INTERRUPT)] = true;
    push(USB_DC_EVENT_IN_DONE, USB_CCID_EP_INTERRUPT, NULL, 0);
    run();
    const uint8_t want[] = {0x51, 0x00, 0x42, 0x01, 0x50, 0x03};
    assert_int_equal(l->len, sizeof want);
    assert_memory_equal(l->bytes, want, sizeof want);
    /* Removed while idle: sent at once, present 0 changed 1. */
    usb_ccid_host_notify(&usb, (const uint8_t[]){0x50, 0x02}, 2);
    assert_int_equal(l->len, sizeof want + 2);
    assert_int_equal(l->bytes[sizeof want + 1], 0x02);
}

static void test_bus_reset_closes_the_link(void **state)
{
    (void)state;
    static uint8_t m[100];
    configure();
    size_t n = xfr(m, 70, 1);
    assert_int_equal(bulk_out(m, 40, false), 40); /* half a message */
    (void)n;
    push(USB_DC_EVENT_RESET, 0, NULL, 0);
    uint8_t b[128];
    size_t k;
    assert_int_equal(usb_ccid_host_recv(&usb, b, sizeof b, &k), HOST_RX_CLOSED);
    assert_int_equal(usb.usb.state, USB_STATE_DEFAULT);
    assert_int_equal(dc.address, 0);
    assert_false(dc.open[idx(0x82)]);
    assert_false(usb_ccid_host_connected(&usb));
    /* Enumerated again: the half message is forgotten. */
    configure();
    n = xfr(m, 5, 2);
    assert_int_equal(bulk_out(m, n, false), n);
    recv_exactly(m, n);
    /* Detached: the same. */
    push(USB_DC_EVENT_DETACH, 0, NULL, 0);
    assert_int_equal(usb_ccid_host_recv(&usb, b, sizeof b, &k), HOST_RX_CLOSED);
    assert_int_equal(usb.usb.state, USB_STATE_DETACHED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_device_descriptor, setup),
        cmocka_unit_test_setup(test_configuration_descriptor, setup),
        cmocka_unit_test_setup(test_strings_and_zlp, setup),
        cmocka_unit_test_setup(test_address_and_configuration, setup),
        cmocka_unit_test_setup(test_status_and_halt, setup),
        cmocka_unit_test_setup(test_class_requests, setup),
        cmocka_unit_test_setup(test_bulk_out_messages, setup),
        cmocka_unit_test_setup(test_bulk_out_bad_transfers, setup),
        cmocka_unit_test_setup(test_bulk_in_packets, setup),
        cmocka_unit_test_setup(test_abort_drops_the_answer, setup),
        cmocka_unit_test_setup(test_reject_waits_behind_the_answer, setup),
        cmocka_unit_test_setup(test_interrupt_notifications, setup),
        cmocka_unit_test_setup(test_bus_reset_closes_the_link, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

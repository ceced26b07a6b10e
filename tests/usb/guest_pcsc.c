/*
 * Runs inside the USB test guest (tests/usb/guest_init.sh): the unmodified
 * Debian pcscd + libccid drive our reader, the sim board's USB device seen
 * through QEMU's usb-redir, and this PC/SC client checks what comes out:
 * the descriptors as the guest kernel read them (sysfs), the reader listed,
 * the ATR and T=1, every APDU length short and extended (ISO/IEC 7816-4 §5.1:
 * cases 2, 3 and 4, Le 1-256 and Lc 1-255 each, extended up to Lc 65535 and
 * Le 65536) checked byte for byte against the persona's counter file
 * (tests/usb/personas.json: EF 0F0F, byte i = i mod 256), SCardControl to
 * the reader's INFO escape, card removal and insertion (asked of the host
 * with "@@CARD remove|insert" on the console), and the reader unplugged and
 * plugged in again ("@@UNPLUG", "@@PLUG": pcscd hears of it through udevd). With "bench" it prints
 * the time per APDU through libccid as "@@BENCH NAME US RUNS" (bench_usb).
 *
 * usage: guest_pcsc ATR_HEX [bench]
 *        guest_pcsc list
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <PCSC/reader.h>
#include <PCSC/winscard.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hawiya/ccid.h"
#include "hawiya/hex.h"
#include "hawiya/reader_escape.h"
#include "hawiya/tlv.h"

#define FILE_SIZE 100000u
#define EF_FID_HI 0x0F
#define EF_FID_LO 0x0F

static const char *want_atr_hex;
static SCARDCONTEXT ctx;
static char reader[256];
static SCARDHANDLE card;
static DWORD proto;
static struct ccid_descriptor desc;
static uint8_t rbuf[65536 + 2 + 64];

static const uint8_t emrtd_aid[7] = {0xA0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x01};

static LONG transmit(const uint8_t *apdu, size_t n, DWORD *rlen)
{
    SCARD_IO_REQUEST recv_pci;
    *rlen = sizeof rbuf;
    return SCardTransmit(card, proto == SCARD_PROTOCOL_T1 ? SCARD_PCI_T1 : SCARD_PCI_T0, apdu,
                         (DWORD)n, &recv_pci, rbuf, rlen);
}

static void wait_state(DWORD want, int seconds)
{
    SCARD_READERSTATE rs = {.szReader = reader, .dwCurrentState = SCARD_STATE_UNAWARE};
    time_t end = time(NULL) + seconds;
    for (;;) {
        LONG r = SCardGetStatusChange(ctx, 1000, &rs, 1);
        assert_true(r == SCARD_S_SUCCESS || r == SCARD_E_TIMEOUT);
        if (rs.dwEventState & want)
            return;
        rs.dwCurrentState = rs.dwEventState;
        assert_true(time(NULL) < end);
    }
}

static void connect_card(void)
{
    uint8_t atr[40], want[40];
    size_t want_len;
    DWORD atr_len = sizeof atr, state, rl = 0;
    wait_state(SCARD_STATE_PRESENT, 30);
    assert_int_equal(SCardConnect(ctx, reader, SCARD_SHARE_SHARED,
                                  SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &card, &proto),
                     SCARD_S_SUCCESS);
    assert_int_equal(proto, SCARD_PROTOCOL_T1); /* the card prefers T=1 */
    assert_int_equal(SCardStatus(card, NULL, &rl, &state, &proto, atr, &atr_len), SCARD_S_SUCCESS);
    assert_int_equal(hex_decode(want_atr_hex, strlen(want_atr_hex), want, sizeof want, &want_len),
                     HEX_OK);
    assert_int_equal(atr_len, want_len);
    assert_memory_equal(atr, want, want_len);
}

/* ---- the reader as the guest sees it ------------------------------------------------ */

static void descriptors_in_sysfs(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s/descriptors", getenv("HAWIYA_USB_SYSFS"));
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    uint8_t d[1024];
    size_t n = fread(d, 1, sizeof d, f);
    fclose(f);
    assert_true(n > 18);
    assert_int_equal(d[8] | d[9] << 8, 0x1209); /* idVendor: pid.codes */
    assert_int_equal(d[10] | d[11] << 8, 0x0001);
    bool iface = false, cls = false;
    for (size_t off = 18; off + 2 <= n && d[off] >= 2; off += d[off]) {
        if (d[off + 1] == 4 && d[off + 5] == 0x0B)
            iface = true;
        if (d[off + 1] == CCID_DESCRIPTOR_TYPE) {
            assert_int_equal(ccid_decode_descriptor(d + off, d[off], &desc), CCID_OK);
            cls = true;
        }
    }
    assert_true(iface && cls);
    assert_int_equal(desc.features & CCID_FEATURE_LEVEL_MASK, CCID_FEATURE_LEVEL_EXTENDED_APDU);
    assert_int_equal(desc.num_clock_supported, 10);
    assert_int_equal(desc.num_data_rates_supported, 24);
    assert_int_equal(desc.max_ifsd, 254);
    print_message("@@ dwMaxCCIDMessageLength %u dwFeatures %08X\n", desc.max_ccid_message_length,
                  desc.features);
}

static void reader_listed(void **state)
{
    (void)state;
    /* pcscd starts beside us: its socket comes within seconds. */
    time_t end = time(NULL) + 30;
    LONG r;
    while ((r = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx)) ==
               SCARD_E_NO_SERVICE &&
           time(NULL) < end) {
        struct timespec t = {0, 100000000};
        nanosleep(&t, NULL);
    }
    assert_int_equal(r, SCARD_S_SUCCESS);
    char list[4096];
    for (;;) {
        DWORD n = sizeof list;
        r = SCardListReaders(ctx, NULL, list, &n);
        if (r == SCARD_S_SUCCESS)
            for (const char *p = list; *p; p += strlen(p) + 1) {
                /* the contact slot: libccid names slot N of a reader "... 00 N" */
                size_t k = strlen(p);
                if (strstr(p, "Hawiya") && k > 6 && !strcmp(p + k - 6, " 00 00"))
                    snprintf(reader, sizeof reader, "%s", p);
            }
        if (reader[0] || time(NULL) > end)
            break;
        struct timespec t = {0, 200000000};
        nanosleep(&t, NULL);
    }
    print_message("@@ reader \"%s\"\n", reader);
    assert_true(reader[0] != '\0');
}

static void atr_and_t1(void **state)
{
    (void)state;
    connect_card();
    /* libccid: the largest command it sends in one XfrBlock. */
    uint8_t v[8];
    DWORD n = sizeof v;
    assert_int_equal(SCardGetAttrib(card, SCARD_ATTR_MAXINPUT, v, &n), SCARD_S_SUCCESS);
    assert_int_equal(n, 4);
    assert_int_equal(v[0] | v[1] << 8 | v[2] << 16 | (uint32_t)v[3] << 24,
                     desc.max_ccid_message_length - CCID_HEADER_SIZE);
}

/* ---- APDUs of every length ---------------------------------------------------------- */

static void select_ef(void)
{
    const uint8_t sel_mf[] = {0x00, 0xA4, 0x00, 0x0C};
    const uint8_t sel[] = {0x00, 0xA4, 0x02, 0x0C, 0x02, EF_FID_HI, EF_FID_LO};
    DWORD rl;
    assert_int_equal(transmit(sel_mf, sizeof sel_mf, &rl), SCARD_S_SUCCESS);
    assert_int_equal(transmit(sel, sizeof sel, &rl), SCARD_S_SUCCESS);
    assert_int_equal(rl, 2);
    assert_int_equal(rbuf[0] << 8 | rbuf[1], 0x9000);
}

/* READ BINARY (case 2) of ne bytes at offset; short or extended Le. */
static void read_expect(unsigned offset, unsigned ne, bool extended)
{
    uint8_t a[7] = {0x00, 0xB0, (uint8_t)(offset >> 8), (uint8_t)offset};
    size_t n = 4;
    if (extended) {
        a[n++] = 0;
        a[n++] = (uint8_t)(ne >> 8); /* 65536 is 00 00 */
        a[n++] = (uint8_t)ne;
    } else {
        a[n++] = (uint8_t)ne; /* 256 is 00 */
    }
    DWORD rl;
    assert_int_equal(transmit(a, n, &rl), SCARD_S_SUCCESS);
    if (rl != ne + 2)
        print_message("@@ READ BINARY %u at %u%s: %lu bytes back\n", ne, offset,
                      extended ? " (extended)" : "", (unsigned long)rl);
    assert_int_equal(rl, ne + 2);
    for (unsigned i = 0; i < ne; i++)
        if (rbuf[i] != (uint8_t)(offset + i))
            fail_msg("byte %u of a %u-byte read at %u: %02X", i, ne, offset, rbuf[i]);
    assert_int_equal(rbuf[ne] << 8 | rbuf[ne + 1], 0x9000);
}

/* SELECT by DF name (case 3), Lc bytes: the eMRTD AID's first bytes match
 * (9000) up to 7; a longer name matches no DF (6A82); a name above the 16
 * bytes of 7816-4 §8.2.1.2 is a wrong length (6700), which the card's APDU
 * parser says only of a whole, well-formed command of that Lc. Any byte lost
 * or changed in the first 16 turns a 9000 into a 6A82, a length into 6700. */
static void select_expect(unsigned lc, bool extended)
{
    static uint8_t a[65535 + 7];
    size_t n = 4;
    a[0] = 0x00;
    a[1] = 0xA4;
    a[2] = 0x04;
    a[3] = 0x0C;
    if (extended) {
        a[n++] = 0;
        a[n++] = (uint8_t)(lc >> 8);
    }
    a[n++] = (uint8_t)lc;
    for (unsigned i = 0; i < lc; i++)
        a[n + i] = i < sizeof emrtd_aid ? emrtd_aid[i] : (uint8_t)(i * 13 + lc);
    n += lc;
    DWORD rl;
    assert_int_equal(transmit(a, n, &rl), SCARD_S_SUCCESS);
    assert_int_equal(rl, 2);
    unsigned sw = (unsigned)(rbuf[0] << 8 | rbuf[1]);
    unsigned want = lc <= sizeof emrtd_aid ? 0x9000u : lc <= 16 ? 0x6A82u : 0x6700u;
    if (sw != want)
        fail_msg("SELECT with Lc %u%s: SW %04X", lc, extended ? " (extended)" : "", sw);
}

/* READ BINARY with the odd INS (case 4): the offset in DO '54', the data back
 * in DO '53' (7816-4 §7.2.3), as much as Le leaves room for. */
static void read_odd_expect(unsigned offset, unsigned ne, bool extended)
{
    uint8_t a[16] = {0x00, 0xB1, 0x00, 0x00};
    size_t n = 4;
    const uint8_t data[5] = {0x54, 0x03, (uint8_t)(offset >> 16), (uint8_t)(offset >> 8),
                             (uint8_t)offset};
    if (extended) {
        a[n++] = 0;
        a[n++] = 0;
    }
    a[n++] = sizeof data;
    memcpy(a + n, data, sizeof data);
    n += sizeof data;
    if (extended) {
        a[n++] = (uint8_t)(ne >> 8);
        a[n++] = (uint8_t)ne;
    } else {
        a[n++] = (uint8_t)ne;
    }
    DWORD rl;
    assert_int_equal(transmit(a, n, &rl), SCARD_S_SUCCESS);
    assert_true(rl >= 4 && rl <= ne + 2);
    assert_int_equal(rbuf[rl - 2] << 8 | rbuf[rl - 1], 0x9000);
    struct tlv t;
    assert_int_equal(tlv_find(rbuf, rl - 2, 0x53, &t), TLV_OK);
    assert_true(t.len > 0 && t.len <= ne);
    for (size_t i = 0; i < t.len; i++)
        if (t.value[i] != (uint8_t)(offset + i))
            fail_msg("byte %zu of DO 53 at %u (Le %u): %02X", i, offset, ne, t.value[i]);
}

static void short_apdus(void **state)
{
    (void)state;
    select_ef();
    for (unsigned le = 1; le <= 256; le++)
        read_expect((le * 37) % 30000, le, false);
    for (unsigned lc = 1; lc <= 255; lc++)
        select_expect(lc, false);
    select_ef();
    for (unsigned le = 8; le <= 256; le += 31)
        read_odd_expect(le * 101, le, false);
}

static void extended_apdus(void **state)
{
    (void)state;
    select_ef();
    /* Around the short limit, libccid's and the reader's buffer sizes, the
     * 64-byte packets, and the largest of all. */
    const unsigned les[] = {1,    255,  256,  257,   258,   261,   262,  1000,
                            4086, 4096, 8192, 32767, 32768, 65535, 65536};
    for (size_t i = 0; i < sizeof les / sizeof les[0]; i++)
        read_expect(les[i] < 30000 ? 7 : 0, les[i], true);
    const unsigned lcs[] = {1, 7, 8, 255, 256, 257, 1000, 4096, 4097, 32768, 65535};
    for (size_t i = 0; i < sizeof lcs / sizeof lcs[0]; i++)
        select_expect(lcs[i], true);
    select_ef();
    const unsigned odd[] = {300, 4096, 40000, 65535};
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++)
        read_odd_expect(33000 + (unsigned)i, odd[i], true);
}

/* ---- the reader's own functions ----------------------------------------------------- */

static void escape_info(void **state)
{
    (void)state;
    const uint8_t cmd[1] = {RESC_INFO};
    uint8_t out[4096];
    DWORD n = 0;
    LONG r = SCardControl(card, SCARD_CTL_CODE(1), cmd, sizeof cmd, out, sizeof out, &n);
    if (r != SCARD_S_SUCCESS)
        print_message("@@ SCardControl: %s\n", pcsc_stringify_error(r));
    assert_int_equal(r, SCARD_S_SUCCESS);
    struct tlv t;
    assert_int_equal(tlv_find(out, n, RESC_T_VERSION, &t), TLV_OK);
    assert_true(t.len > 0);
    print_message("@@ reader INFO: %lu bytes, version %.*s\n", (unsigned long)n, (int)t.len,
                  (const char *)t.value);
}

/* ---- card out, card in ------------------------------------------------------------- */

static void removal_and_insertion(void **state)
{
    (void)state;
    printf("@@CARD remove\n");
    fflush(stdout);
    wait_state(SCARD_STATE_EMPTY, 30);
    DWORD rl;
    const uint8_t rb[] = {0x00, 0xB0, 0x00, 0x00, 0x08};
    LONG r = transmit(rb, sizeof rb, &rl);
    assert_true(r == SCARD_W_REMOVED_CARD || r == SCARD_E_NO_SMARTCARD);
    SCardDisconnect(card, SCARD_LEAVE_CARD);
    /* The card stays out a moment, as a hand takes it. Not a bound on anything: libccid's
     * Multi_InterruptRead (1.5.2, and CCID's master still) waits for the interrupt thread's
     * broadcast with no predicate, so a slot change that comes while pcscd's slot thread is
     * still busy with the previous one (here the host put the card back within 2 ms of
     * pcscd reporting it gone) is lost until pcscd's next poll, 10 minutes later
     * (docs/reader.md, "Under Debian 12's libccid"). */
    struct timespec out = {0, 500000000};
    nanosleep(&out, NULL);
    printf("@@CARD insert\n");
    fflush(stdout);
    connect_card();
    select_ef();
    read_expect(1234, 100, false);
}

/* pcscd's hot-plug (libudev, udevd running): the reader unplugged goes from
 * the list, plugged in again comes back, and works. 1: listed, 0: a live
 * pcscd does not list it, -1: no answer from pcscd. */
static int reader_listed_now(void)
{
    char list[4096];
    DWORD n = sizeof list;
    LONG r = SCardListReaders(ctx, NULL, list, &n);
    if (r == SCARD_E_NO_SERVICE || r == SCARD_E_INVALID_HANDLE) {
        /* pcscd died (libccid 1.5.2 can abort it on this unplug, see
         * guest_pcscd.sh) and is started again: a PC/SC client's context dies
         * with the pcscd it was made with, so make a new one, as any client must. */
        SCardReleaseContext(ctx);
        ctx = 0;
        if (SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx) != SCARD_S_SUCCESS)
            return -1;
        printf("@@ pcscd is back: new PC/SC context\n");
        n = sizeof list;
        r = SCardListReaders(ctx, NULL, list, &n);
    }
    if (r == SCARD_E_NO_READERS_AVAILABLE)
        return 0;
    if (r != SCARD_S_SUCCESS)
        return -1;
    for (const char *p = list; *p; p += strlen(p) + 1)
        if (strstr(p, "Hawiya"))
            return 1;
    return 0;
}

/* true once the reader's listing is `want`, false if not within `seconds` */
static bool listed_until(bool want, int seconds)
{
    time_t end = time(NULL) + seconds;
    while (reader_listed_now() != (want ? 1 : 0)) {
        if (time(NULL) >= end)
            return false;
        struct timespec t = {0, 200000000};
        nanosleep(&t, NULL);
    }
    return true;
}

static void wait_listed(bool want, int seconds)
{
    assert_true(listed_until(want, seconds));
}

static void reader_unplugged_and_back(void **state)
{
    (void)state;
    SCardDisconnect(card, SCARD_LEAVE_CARD);
    printf("@@UNPLUG\n");
    fflush(stdout);
    /* Plugged in again only once a live pcscd has dropped it: the pcscd that
     * saw it go, or the one started after libccid 1.5.2 aborted that one.
     * libusb's 60 s event timeout can come first (docs/reader.md); a pcscd
     * still listing a slot after 90 s keeps it for good ("A slot kept after
     * the unplug"): the host is told, pcscd is killed and started again, as a
     * kiosk restarts it, and this client carries on through the new one. */
    if (!listed_until(false, 90)) {
        printf("@@PCSCD_STUCK our reader still listed 90 s after the unplug\n");
        fflush(stdout);
        assert_int_equal(system("kill -KILL $(pidof pcscd)"), 0);
        wait_listed(false, 30);
    }
    printf("@@PLUG\n");
    fflush(stdout);
    wait_listed(true, 60);
    connect_card();
    select_ef();
    read_expect(4321, 200, false);
}

static double now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

/* Figures for bench_usb: wall time per APDU through pcscd, libccid and USB;
 * "@@MARK" lets the host sample the reader's CPU time around each series. */
static bool benchmark;

static void bench(void **state)
{
    (void)state;
    select_ef();
    const unsigned sizes[] = {8, 256, 4096};
    for (size_t s = 0; benchmark && s < sizeof sizes / sizeof sizes[0]; s++) {
        unsigned runs = sizes[s] > 256 ? 50 : 200;
        printf("@@MARK\n");
        fflush(stdout);
        double t0 = now_us();
        for (unsigned i = 0; i < runs; i++)
            read_expect(0, sizes[s], sizes[s] > 256);
        printf("@@BENCH read_binary_%u %.0f %u\n", sizes[s], (now_us() - t0) / runs, runs);
        fflush(stdout);
    }
    SCardDisconnect(card, SCARD_UNPOWER_CARD);
    SCardReleaseContext(ctx);
}

/* "guest_pcsc list": pcscd's own list of readers, one per line, from a new
 * context (the guest scripts ask it rather than a client that may hold a
 * stale view). 0: pcscd answered, 1: it did not. */
static int list_readers(void)
{
    SCARDCONTEXT c;
    char list[4096];
    DWORD n = sizeof list;
    if (SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &c) != SCARD_S_SUCCESS)
        return 1;
    LONG r = SCardListReaders(c, NULL, list, &n);
    SCardReleaseContext(c);
    if (r == SCARD_E_NO_READERS_AVAILABLE)
        return 0;
    if (r != SCARD_S_SUCCESS)
        return 1;
    for (const char *p = list; *p; p += strlen(p) + 1)
        printf("%s\n", p);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "list"))
        return list_readers();
    if (argc < 2 || argc > 3 || (argc == 3 && strcmp(argv[2], "bench"))) {
        fprintf(stderr, "usage: guest_pcsc ATR_HEX [bench] | guest_pcsc list\n");
        return 2;
    }
    want_atr_hex = argv[1];
    benchmark = argc == 3;
    setvbuf(stdout, NULL, _IOLBF, 0);
    /* In this order: each needs the state the one before left. */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(descriptors_in_sysfs),
        cmocka_unit_test(reader_listed),
        cmocka_unit_test(atr_and_t1),
        cmocka_unit_test(short_apdus),
        cmocka_unit_test(extended_apdus),
        cmocka_unit_test(escape_info),
        cmocka_unit_test(removal_and_insertion),
        cmocka_unit_test(reader_unplugged_and_back),
        cmocka_unit_test(bench),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

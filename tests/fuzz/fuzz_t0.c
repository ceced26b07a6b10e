/*
 * libFuzzer target for T=0 (ISO/IEC 7816-3 §10, §12.2). The first byte picks
 * a role:
 *  - even: the interface device sends a command APDU built from the next
 *    bytes, and the rest is what a hostile card answers (a 0xFF..0xFD byte in
 *    the stream stands for a WT timeout);
 *  - odd: the card role reads the rest as what a hostile reader sends, and
 *    answers each command with data and a status taken from the input;
 *  - 2 mod 4: both roles back to back, for an APDU and an answer length taken
 *    from the input: the reader must get exactly min(answer, Ne) bytes.
 * Invariants: the response never exceeds Ne and ends in a valid SW1, every
 * character to send lies in a buffer we own, and after an error the machine
 * is idle again.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hawiya/t0.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t cmd_data[600];
static uint8_t resp[1200];
static uint8_t card_buf[1024];
static uint8_t answer[700];

static void check_io(const struct t0_io *io)
{
    if (io->tx_len > 0 && io->tx == NULL)
        __builtin_trap();
    if (io->tx_len > T0_HEADER_LEN + T0_P3_MAX && io->tx_len > sizeof answer)
        __builtin_trap();
}

static void fuzz_ifd(const uint8_t *d, size_t n)
{
    struct t0_ifd t;
    struct t0_io io;
    struct apdu a = {0};

    if (n < 5)
        return;
    a.cla = d[0];
    a.ins = d[1];
    a.p1 = d[2];
    a.nc = (size_t)(d[3] & 0x03) * 150 + (d[3] >> 2 & 0x03); /* 0..453: short and ENVELOPE */
    a.ne = (size_t)d[4] * 4 + (d[3] >> 4);                   /* 0..1035 */
    a.data = cmd_data;
    for (size_t i = 0; i < a.nc; i++)
        cmd_data[i] = (uint8_t)i;
    d += 5;
    n -= 5;

    t0_ifd_init(&t);
    if (t0_ifd_transmit(&t, &a, resp, sizeof resp, &io) != T0_OK) {
        if (t.phase != T0_IFD_IDLE)
            __builtin_trap();
        return;
    }
    size_t pos = 0;
    while (pos < n) {
        check_io(&io);
        if (io.done)
            break;
        enum t0_err e;
        if (d[pos] >= 0xFD && pos + 1 < n && d[pos + 1] == 0xFD) {
            e = t0_ifd_timeout(&t, &io);
            pos += 2;
        } else {
            /* Pieces of the size asked for, or one more to probe the edges. */
            size_t k = io.rx_len + (d[pos] & 1);
            if (k == 0)
                k = 1;
            if (k > n - pos)
                k = n - pos;
            e = t0_ifd_rx(&t, d + pos, k, &io);
            pos += k;
        }
        if (e != T0_OK) {
            if (t.phase != T0_IFD_IDLE || io.tx_len != 0 || io.done)
                __builtin_trap();
            return;
        }
    }
    if (io.done) {
        struct rapdu r;
        if (t0_ifd_response(&t, &r) != T0_OK || r.len > a.ne)
            __builtin_trap();
        uint8_t sw1 = (uint8_t)(r.sw >> 8);
        if (sw1 == T0_NULL || ((sw1 & 0xF0) != 0x60 && (sw1 & 0xF0) != 0x90))
            __builtin_trap();
        if (r.len > 0 && r.data != resp)
            __builtin_trap();
    }
}

static bool takes_data(void *ctx, uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2)
{
    return (ins & 1) != 0;
}

static void fuzz_card(const uint8_t *d, size_t n)
{
    struct t0_card c;
    struct t0_io io;
    bool bytewise = n > 0 && (d[0] & 1);

    if (t0_card_init(&c, card_buf, sizeof card_buf, takes_data, NULL, bytewise, &io) != T0_OK)
        __builtin_trap();
    for (size_t i = 0; i < sizeof answer; i++)
        answer[i] = (uint8_t)(i * 3);
    size_t pos = n > 0 ? 1 : 0;
    for (int steps = 0; steps < 100000 && pos < n; steps++) {
        check_io(&io);
        enum t0_err e;
        if (io.command != NULL) {
            const struct apdu *a = io.command;
            if (a->nc > sizeof card_buf ||
                (a->nc > 0 && (a->data < card_buf || a->data + a->nc > card_buf + sizeof card_buf)))
                __builtin_trap();
            uint8_t x = d[pos++];
            if (x == 0x60) {
                e = t0_card_null(&c, &io);
            } else {
                size_t len = (size_t)(x & 0x7F) * 5;
                uint16_t sw = (x & 0x80) ? 0x6282 : 0x9000;
                e = t0_card_respond(&c, answer, len, sw, &io);
            }
        } else if (io.more) {
            e = t0_card_sent(&c, &io);
        } else {
            size_t k = io.rx_len + (d[pos] == 0xA5);
            if (k == 0)
                k = 1;
            if (k > n - pos)
                k = n - pos;
            e = t0_card_rx(&c, d + pos, k, &io);
            pos += k;
        }
        if (e != T0_OK) {
            if (c.phase != T0_CARD_HEADER || io.rx_len != T0_HEADER_LEN || c.pending)
                __builtin_trap();
        }
        if (c.env_len > c.cap || c.roff > c.rlen)
            __builtin_trap();
    }
}

static bool lb_takes_data;

static bool lb_takes(void *ctx, uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2)
{
    return lb_takes_data;
}

static void fuzz_loopback(const uint8_t *d, size_t n)
{
    static uint8_t big_buf[1200];
    struct t0_ifd t;
    struct t0_card c;
    struct t0_io iio, cio;
    struct apdu a = {0};

    if (n < 6)
        return;
    a.cla = d[0] & 0x03;
    /* INS 6X / 9X cannot be sent; GET RESPONSE and ENVELOPE belong to the transport. */
    a.ins = (d[1] & 0xF0) == 0x60 || (d[1] & 0xF0) == 0x90 || d[1] == 0xC0 || d[1] == 0xC2 ? 0xB0
                                                                                           : d[1];
    a.nc = (size_t)(d[2] & 0x03) * 150 + (d[3] & 0x03);
    a.ne = (size_t)d[4] * 4 + (d[3] >> 4);
    a.data = cmd_data;
    size_t len = (size_t)d[5] * 2 + (d[3] >> 2 & 1);
    if (len > sizeof answer)
        len = sizeof answer;
    /* Case 1 and case 2 look alike on the line (P3 = 00): a case 1 answers no data. */
    if (a.nc == 0 && a.ne == 0)
        len = 0;
    bool bytewise = d[2] & 0x80;
    lb_takes_data = a.nc > 0;

    t0_ifd_init(&t);
    if (t0_ifd_transmit(&t, &a, resp, sizeof resp, &iio) != T0_OK)
        __builtin_trap();
    if (t0_card_init(&c, big_buf, sizeof big_buf, lb_takes, NULL, bytewise, &cio) != T0_OK)
        __builtin_trap();
    for (int guard = 0; !iio.done; guard++) {
        if (guard > 100000 || iio.tx_len == 0 || iio.tx_len > cio.rx_len)
            __builtin_trap();
        if (t0_card_rx(&c, iio.tx, iio.tx_len, &cio) != T0_OK)
            __builtin_trap();
        memset(&iio, 0, sizeof iio);
        iio.rx_len = 1;
        for (;;) {
            if (cio.tx_len > 0) {
                for (size_t i = 0; i < cio.tx_len;) {
                    size_t k = cio.tx_len - i < iio.rx_len ? cio.tx_len - i : iio.rx_len;
                    if (k == 0 || t0_ifd_rx(&t, cio.tx + i, k, &iio) != T0_OK)
                        __builtin_trap();
                    i += k;
                }
            }
            if (cio.command != NULL) {
                if (t0_card_respond(&c, answer, len, 0x9000, &cio) != T0_OK)
                    __builtin_trap();
            } else if (cio.more) {
                if (t0_card_sent(&c, &cio) != T0_OK)
                    __builtin_trap();
            } else {
                break;
            }
        }
    }
    struct rapdu r;
    if (t0_ifd_response(&t, &r) != T0_OK)
        __builtin_trap();
    size_t want = a.ne == 0 ? 0 : (len < a.ne ? len : a.ne);
    size_t rest = len - want;
    uint16_t want_sw = rest == 0 ? 0x9000 : (uint16_t)(0x6100 | (rest >= 256 ? 0 : rest));
    if (r.len != want || r.sw != want_sw || (want > 0 && memcmp(r.data, answer, want) != 0))
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    if ((data[0] & 3) == 2)
        fuzz_loopback(data + 1, size - 1);
    else if (data[0] & 1)
        fuzz_card(data + 1, size - 1);
    else
        fuzz_ifd(data + 1, size - 1);
    return 0;
}

/*
 * serial_frame: RFC 1662 async HDLC-like framing of CCID messages on a UART.
 * Exact bytes for known frames (FCS-16 per RFC 1662 §C.2, check value of
 * "123456789" 0x906E), stuffing of 7E / 7D, and the recovery the header
 * promises: resynchronisation at the next flag after garbage, a corrupted
 * frame dropped by its FCS, every single lost, duplicated or inserted byte
 * costing at most the frame it hits, the abort sequence, an over-long frame,
 * sequence gaps counted.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "hawiya/crc16.h"
#include "hawiya/serial_frame.h"

#define CAP 600

static uint8_t rxbuf[CAP];

struct got {
    uint8_t kind, seq;
    uint8_t payload[CAP];
    size_t len;
};

/* Feeds a stream; collects whole frames and counts errors. */
static size_t feed(struct serial_frame_rx *rx, const uint8_t *p, size_t n, struct got *out,
                   size_t max, size_t *errors)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        struct serial_frame f;
        enum serial_frame_err e = serial_frame_rx_byte(rx, p[i], &f);
        if (e == SERIAL_FRAME_OK) {
            assert_true(k < max);
            assert_true(f.len <= CAP - SERIAL_FRAME_OVERHEAD);
            out[k].kind = f.kind;
            out[k].seq = f.seq;
            out[k].len = f.len;
            memcpy(out[k].payload, f.payload, f.len);
            k++;
        } else if (e != SERIAL_FRAME_NONE && errors) {
            (*errors)++;
        }
    }
    return k;
}

static void crc_check_value(void **state)
{
    (void)state;
    assert_int_equal(
        (uint16_t)~crc16_13239_update(CRC16_13239_INIT, (const uint8_t *)"123456789", 9), 0x906E);
}

static void hello_exact_bytes(void **state)
{
    (void)state;
    uint8_t out[16];
    size_t n;
    /* FCS-16 of 01 00 is 169F, sent low byte first. */
    static const uint8_t want[] = {0x7E, 0x01, 0x00, 0x9F, 0x16, 0x7E};
    assert_int_equal(serial_frame_encode(SERIAL_KIND_HELLO, 0, NULL, 0, out, sizeof out, &n),
                     SERIAL_FRAME_OK);
    assert_int_equal(n, sizeof want);
    assert_memory_equal(out, want, sizeof want);
}

static void stuffing_exact_bytes(void **state)
{
    (void)state;
    static const uint8_t payload[] = {0x7E, 0x7D, 0x41};
    /* FCS-16 of 10 05 7E 7D 41 is 9692; 7E -> 7D 5E and 7D -> 7D 5D (RFC 1662 §4.2). */
    static const uint8_t want[] = {0x7E, 0x10, 0x05, 0x7D, 0x5E, 0x7D,
                                   0x5D, 0x41, 0x92, 0x96, 0x7E};
    uint8_t out[32];
    size_t n;
    assert_int_equal(
        serial_frame_encode(SERIAL_KIND_BULK_OUT, 5, payload, sizeof payload, out, sizeof out, &n),
        SERIAL_FRAME_OK);
    assert_int_equal(n, sizeof want);
    assert_memory_equal(out, want, sizeof want);

    struct serial_frame_rx rx;
    serial_frame_rx_init(&rx, rxbuf, CAP);
    struct got g[2];
    assert_int_equal(feed(&rx, out, n, g, 2, NULL), 1);
    assert_int_equal(g[0].kind, SERIAL_KIND_BULK_OUT);
    assert_int_equal(g[0].seq, 5);
    assert_int_equal(g[0].len, 3);
    assert_memory_equal(g[0].payload, payload, 3);
}

/* The three-piece encoder gives the same bytes as the whole-frame one. */
static void pieces_equal_whole(void **state)
{
    (void)state;
    uint8_t payload[300], whole[SERIAL_FRAME_MAX_ENCODED(300)],
        parts[SERIAL_FRAME_MAX_ENCODED(300)];
    for (size_t i = 0; i < sizeof payload; i++)
        payload[i] = (uint8_t)(i * 7 + 0x70);
    size_t n;
    assert_int_equal(serial_frame_encode(SERIAL_KIND_BULK_IN, 200, payload, sizeof payload, whole,
                                         sizeof whole, &n),
                     SERIAL_FRAME_OK);
    struct serial_frame_tx tx;
    size_t k = serial_frame_tx_begin(&tx, SERIAL_KIND_BULK_IN, 200, parts);
    k += serial_frame_tx_data(&tx, payload, 100, parts + k);
    k += serial_frame_tx_data(&tx, payload + 100, 200, parts + k);
    k += serial_frame_tx_end(&tx, parts + k);
    assert_int_equal(k, n);
    assert_memory_equal(parts, whole, n);
}

static void round_trip_every_length(void **state)
{
    (void)state;
    static uint8_t stream[SERIAL_FRAME_MAX_ENCODED(CAP)];
    uint8_t payload[CAP - SERIAL_FRAME_OVERHEAD];
    struct serial_frame_rx rx;
    serial_frame_rx_init(&rx, rxbuf, CAP);
    srand(12);
    for (size_t len = 0; len <= sizeof payload; len++) {
        for (size_t i = 0; i < len; i++)
            payload[i] = (uint8_t)(rand() % 4 == 0 ? 0x7E - (rand() & 1) : rand());
        size_t n;
        assert_int_equal(serial_frame_encode(SERIAL_KIND_BULK_IN, (uint8_t)len, payload, len,
                                             stream, sizeof stream, &n),
                         SERIAL_FRAME_OK);
        static struct got g[2];
        assert_int_equal(feed(&rx, stream, n, g, 2, NULL), 1);
        assert_int_equal(g[0].len, len);
        assert_int_equal(g[0].seq, (uint8_t)len);
        if (len)
            assert_memory_equal(g[0].payload, payload, len);
    }
    assert_int_equal(rx.stats.frames, sizeof payload + 1);
    assert_int_equal(rx.stats.lost, 0);
}

/* Three frames, and the stream after one fault at position i. */
struct trio {
    uint8_t stream[3 * SERIAL_FRAME_MAX_ENCODED(40)];
    size_t n, start2, end2; /* the middle frame occupies [start2, end2) */
    uint8_t payload[3][40];
};

static void make_trio(struct trio *t)
{
    t->n = 0;
    for (int f = 0; f < 3; f++) {
        for (int i = 0; i < 40; i++)
            t->payload[f][i] = (uint8_t)(f == 1 ? 0x7D + (i % 3) : f * 40 + i);
        size_t k;
        if (f == 1)
            t->start2 = t->n;
        assert_int_equal(serial_frame_encode(SERIAL_KIND_BULK_IN, (uint8_t)f, t->payload[f], 40,
                                             t->stream + t->n, sizeof t->stream - t->n, &k),
                         SERIAL_FRAME_OK);
        t->n += k;
        if (f == 1)
            t->end2 = t->n;
    }
}

/* Frames delivered after a fault are exact copies of sent ones, in order,
 * and the first and third always arrive: the fault costs at most the
 * middle frame. */
static void check_survivors(const struct trio *t, const struct got *g, size_t k, bool middle_hit)
{
    assert_true(k == 2 || k == 3);
    assert_int_equal(g[0].seq, 0);
    assert_memory_equal(g[0].payload, t->payload[0], 40);
    assert_int_equal(g[k - 1].seq, 2);
    assert_memory_equal(g[k - 1].payload, t->payload[2], 40);
    if (k == 3) {
        assert_int_equal(g[1].seq, 1);
        assert_int_equal(g[1].len, 40);
        assert_memory_equal(g[1].payload, t->payload[1], 40);
    } else {
        assert_true(middle_hit);
    }
}

static void one_lost_byte_costs_one_frame(void **state)
{
    (void)state;
    static struct trio t;
    make_trio(&t);
    for (size_t i = t.start2; i < t.end2; i++) {
        uint8_t damaged[sizeof t.stream];
        memcpy(damaged, t.stream, i);
        memcpy(damaged + i, t.stream + i + 1, t.n - i - 1);
        struct serial_frame_rx rx;
        serial_frame_rx_init(&rx, rxbuf, CAP);
        static struct got g[4];
        size_t k = feed(&rx, damaged, t.n - 1, g, 4, NULL);
        check_survivors(&t, g, k, true);
        /* Only the loss of one of the two flags between frames keeps the
         * middle frame whole. */
        bool flag = i == t.start2 || i == t.end2 - 1;
        assert_int_equal(k, flag ? 3 : 2);
        if (k == 2)
            assert_int_equal(rx.stats.lost, 1);
    }
}

static void one_duplicated_or_flipped_byte(void **state)
{
    (void)state;
    static struct trio t;
    make_trio(&t);
    for (size_t i = t.start2 + 1; i + 1 < t.end2; i++) {
        /* duplicated */
        uint8_t damaged[sizeof t.stream + 1];
        memcpy(damaged, t.stream, i + 1);
        memcpy(damaged + i + 1, t.stream + i, t.n - i);
        struct serial_frame_rx rx;
        serial_frame_rx_init(&rx, rxbuf, CAP);
        static struct got g[4];
        size_t errors = 0;
        size_t k = feed(&rx, damaged, t.n + 1, g, 4, &errors);
        check_survivors(&t, g, k, true);
        assert_int_equal(k, 2);
        assert_true(errors >= 1);
        /* every single-bit flip of that byte */
        for (int bit = 0; bit < 8; bit++) {
            memcpy(damaged, t.stream, t.n);
            damaged[i] ^= (uint8_t)(1u << bit);
            serial_frame_rx_init(&rx, rxbuf, CAP);
            k = feed(&rx, damaged, t.n, g, 4, NULL);
            check_survivors(&t, g, k, true);
            assert_int_equal(k, 2);
        }
    }
}

static void garbage_before_first_flag(void **state)
{
    (void)state;
    uint8_t stream[64] = {0x41, 0x42, 0x7D, 0x10, 0x00, 0x99};
    size_t n;
    assert_int_equal(
        serial_frame_encode(SERIAL_KIND_HELLO, 9, NULL, 0, stream + 6, sizeof stream - 6, &n),
        SERIAL_FRAME_OK);
    struct serial_frame_rx rx;
    serial_frame_rx_init(&rx, rxbuf, CAP);
    struct got g[2];
    size_t errors = 0;
    assert_int_equal(feed(&rx, stream, n + 6, g, 2, &errors), 1);
    assert_int_equal(errors, 0);
    assert_int_equal(rx.stats.hunted, 6);
    assert_int_equal(g[0].kind, SERIAL_KIND_HELLO);
    assert_int_equal(g[0].seq, 9);
}

/* A receiver that starts in the middle of a frame (the host attached late)
 * takes the tail up to the next flag as a frame that fails, then resumes. */
static void joins_mid_frame(void **state)
{
    (void)state;
    static struct trio t;
    make_trio(&t);
    struct serial_frame_rx rx;
    serial_frame_rx_init(&rx, rxbuf, CAP);
    static struct got g[4];
    size_t k = feed(&rx, t.stream + t.start2 + 10, t.n - t.start2 - 10, g, 4, NULL);
    assert_int_equal(k, 1);
    assert_int_equal(g[0].seq, 2);
    assert_memory_equal(g[0].payload, t.payload[2], 40);
}

static void abort_sequence_and_bad_escape(void **state)
{
    (void)state;
    uint8_t out[32];
    size_t n;
    assert_int_equal(serial_frame_encode(SERIAL_KIND_BYE, 1, NULL, 0, out, sizeof out, &n),
                     SERIAL_FRAME_OK);
    static const uint8_t aborted[] = {0x7E, 0x10, 0x00, 0x33, 0x7D, 0x7E};
    static const uint8_t bad_escape[] = {0x7E, 0x10, 0x7D, 0x41, 0x00, 0x7E};
    const uint8_t *cases[] = {aborted, bad_escape};
    for (int c = 0; c < 2; c++) {
        struct serial_frame_rx rx;
        serial_frame_rx_init(&rx, rxbuf, CAP);
        struct got g[2];
        size_t errors = 0;
        assert_int_equal(feed(&rx, cases[c], 6, g, 2, &errors), 0);
        assert_int_equal(errors, 1);
        assert_int_equal(rx.stats.bad_escape, 1);
        /* the frame after it arrives */
        assert_int_equal(feed(&rx, out, n, g, 2, NULL), 1);
        assert_int_equal(g[0].kind, SERIAL_KIND_BYE);
    }
}

static void short_unknown_kind_and_too_long(void **state)
{
    (void)state;
    struct serial_frame_rx rx;
    uint8_t small[8];
    serial_frame_rx_init(&rx, small, sizeof small);
    struct got g[2];
    size_t errors = 0;
    static const uint8_t short_frame[] = {0x7E, 0x01, 0x00, 0x9F, 0x7E};
    assert_int_equal(feed(&rx, short_frame, sizeof short_frame, g, 2, &errors), 0);
    assert_int_equal(rx.stats.too_short, 1);

    uint8_t out[64];
    size_t n;
    uint8_t payload[5] = {1, 2, 3, 4, 5};
    assert_int_equal(serial_frame_encode(SERIAL_KIND_BULK_OUT, 0, payload, 5, out, sizeof out, &n),
                     SERIAL_FRAME_OK);
    assert_int_equal(feed(&rx, out, n, g, 2, &errors), 0); /* 9 bytes > 8 */
    assert_int_equal(rx.stats.too_long, 1);
    assert_int_equal(serial_frame_encode(SERIAL_KIND_BULK_OUT, 1, payload, 4, out, sizeof out, &n),
                     SERIAL_FRAME_OK);
    assert_int_equal(feed(&rx, out, n, g, 2, &errors), 1); /* exactly 8 */
    assert_int_equal(g[0].len, 4);

    assert_int_equal(serial_frame_encode(0x55, 2, payload, 1, out, sizeof out, &n),
                     SERIAL_FRAME_OK);
    assert_int_equal(feed(&rx, out, n, g, 2, &errors), 0);
    assert_int_equal(rx.stats.bad_kind, 1);
    assert_int_equal(errors, 3);
}

static void sequence_gaps_counted(void **state)
{
    (void)state;
    struct serial_frame_rx rx;
    serial_frame_rx_init(&rx, rxbuf, CAP);
    static const uint8_t seqs[] = {250, 251, 254, 255, 3};
    for (size_t i = 0; i < sizeof seqs; i++) {
        uint8_t out[16];
        size_t n;
        assert_int_equal(
            serial_frame_encode(SERIAL_KIND_BULK_IN, seqs[i], NULL, 0, out, sizeof out, &n),
            SERIAL_FRAME_OK);
        struct got g[1];
        assert_int_equal(feed(&rx, out, n, g, 1, NULL), 1);
    }
    assert_int_equal(rx.stats.lost, 2 + 3);
    serial_frame_rx_reset(&rx);
    uint8_t out[16];
    size_t n;
    assert_int_equal(serial_frame_encode(SERIAL_KIND_BULK_IN, 77, NULL, 0, out, sizeof out, &n),
                     SERIAL_FRAME_OK);
    struct got g[1];
    assert_int_equal(feed(&rx, out, n, g, 1, NULL), 1);
    assert_int_equal(rx.stats.lost, 5); /* a new peer starts its own count */
}

static void encoder_space(void **state)
{
    (void)state;
    static const uint8_t payload[] = {0x7E, 0x00};
    uint8_t out[32];
    size_t n;
    /* 7E kind seq 7D 5E 00 fcs fcs 7E: 9 bytes unless the FCS needs stuffing */
    assert_int_equal(serial_frame_encode(SERIAL_KIND_BULK_IN, 0, payload, 2, out, sizeof out, &n),
                     SERIAL_FRAME_OK);
    size_t exact = n;
    assert_int_equal(serial_frame_encode(SERIAL_KIND_BULK_IN, 0, payload, 2, out, exact, &n),
                     SERIAL_FRAME_OK);
    assert_int_equal(n, exact);
    assert_int_equal(serial_frame_encode(SERIAL_KIND_BULK_IN, 0, payload, 2, out, exact - 1, &n),
                     SERIAL_FRAME_ERR_NO_SPACE);
    assert_int_equal(n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(crc_check_value),
        cmocka_unit_test(hello_exact_bytes),
        cmocka_unit_test(stuffing_exact_bytes),
        cmocka_unit_test(pieces_equal_whole),
        cmocka_unit_test(round_trip_every_length),
        cmocka_unit_test(one_lost_byte_costs_one_frame),
        cmocka_unit_test(one_duplicated_or_flipped_byte),
        cmocka_unit_test(garbage_before_first_flag),
        cmocka_unit_test(joins_mid_frame),
        cmocka_unit_test(abort_sequence_and_bad_escape),
        cmocka_unit_test(short_unknown_kind_and_too_long),
        cmocka_unit_test(sequence_gaps_counted),
        cmocka_unit_test(encoder_space),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

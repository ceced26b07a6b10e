#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "hawiya/simline.h"
#include "hawiya/simline_port.h"

/* 7816-3 §7.1: at f = 3.5712 MHz and F/D = 372/1 the line runs at 9600 bit/s:
 * 1 etu = 104.1666.. us. */
static void etu_default_speed(void **state)
{
    assert_int_equal(simline_etu_ps(372, 1, 3571200), 104166667u);
    /* TA1 = 0x96 (F = 512, D = 32) at 4 MHz: 1 etu = 4 us. */
    assert_int_equal(simline_etu_ps(512, 32, 4000000), 4000000u);
    assert_int_equal(simline_etu_ps(512, 0, 4000000), 0);
}

static void io_record_exact_bytes(void **state)
{
    const uint8_t chars[] = {0x03, 0x3F};
    const uint8_t flags[] = {0x00, SIMLINE_CHAR_PARITY_ERROR};
    struct simline_msg m = {.type = SIMLINE_IO, .t_ns = 0x0102030405060708ull};
    m.u.io.etu_ps = 104166667u;
    m.u.io.char_etu = 12;
    m.u.io.n = 2;
    m.u.io.chars = chars;
    m.u.io.flags = flags;
    uint8_t buf[64];
    size_t n;
    assert_int_equal(simline_encode(&m, buf, sizeof buf, &n), SIMLINE_OK);
    /* 104166667 = 0x0635750B */
    const uint8_t want[] = {0x04, 0x00, 0x0C, 0x00, 0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,
                            0x0B, 0x75, 0x35, 0x06, 0x0C, 0x00, 0x02, 0x00, 0x03, 0x3F, 0x00, 0x01};
    assert_int_equal(n, sizeof want);
    assert_memory_equal(buf, want, sizeof want);

    struct simline_msg d;
    size_t used;
    assert_int_equal(simline_decode(buf, n, &d, &used), SIMLINE_OK);
    assert_int_equal(used, n);
    assert_int_equal(d.type, SIMLINE_IO);
    assert_true(d.t_ns == m.t_ns);
    assert_int_equal(d.u.io.n, 2);
    assert_memory_equal(d.u.io.chars, chars, 2);
    assert_memory_equal(d.u.io.flags, flags, 2);
    assert_int_equal(d.u.io.etu_ps, 104166667u);
    assert_int_equal(d.u.io.char_etu, 12);
    /* The second character starts 12 etu = 1.25 ms after the first (9600 bit/s). */
    d.t_ns = 1000;
    assert_true(simline_char_time_ns(&d, 1) == 1000 + 1250000);

    /* Every proper prefix is incomplete, and says how much is needed. */
    for (size_t k = 0; k < n; k++) {
        assert_int_equal(simline_decode(buf, k, &d, &used), SIMLINE_ERR_INCOMPLETE);
        assert_true(used > k && used <= n);
    }
}

/* TC1 = 254, the largest extra guard time (7816-3 §8.3): a character takes
 * 12 + 254 = 266 etu, which the record carries in its 16-bit field (LE
 * 0A 01). 267 cannot come from any ATR and is refused both ways. */
static void io_record_longest_guard_time(void **state)
{
    (void)state;
    const uint8_t chars[] = {0x3B};
    struct simline_msg m = {.type = SIMLINE_IO, .t_ns = 0};
    m.u.io.etu_ps = 104166667u;
    m.u.io.char_etu = 12 + 254;
    m.u.io.n = 1;
    m.u.io.chars = chars;
    uint8_t buf[64];
    size_t n, used;
    assert_int_equal(simline_encode(&m, buf, sizeof buf, &n), SIMLINE_OK);
    const uint8_t want[] = {0x04, 0x00, 0x0A, 0x00, 0,    0,    0,    0,    0,    0,    0,
                            0,    0x0B, 0x75, 0x35, 0x06, 0x0A, 0x01, 0x01, 0x00, 0x3B, 0x00};
    assert_int_equal(n, sizeof want);
    assert_memory_equal(buf, want, sizeof want);
    struct simline_msg d;
    assert_int_equal(simline_decode(buf, n, &d, &used), SIMLINE_OK);
    assert_int_equal(d.u.io.char_etu, 266);
    /* 266 etu at 9600 bit/s: 27.708 ms from one character's start to the next's. */
    assert_true(simline_char_time_ns(&d, 1) == 27708333);

    buf[16] = 0x0B; /* 267 */
    assert_int_equal(simline_decode(buf, n, &d, &used), SIMLINE_ERR_BAD_VALUE);
    m.u.io.char_etu = 267;
    assert_int_equal(simline_encode(&m, buf, sizeof buf, &n), SIMLINE_ERR_BAD_VALUE);
}

static void fixed_records(void **state)
{
    uint8_t buf[32];
    size_t n, used;
    struct simline_msg m = {.type = SIMLINE_CLK, .t_ns = 5};
    m.u.clk_hz = 4000000;
    assert_int_equal(simline_encode(&m, buf, sizeof buf, &n), SIMLINE_OK);
    const uint8_t want[] = {0x02, 0, 4, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x09, 0x3D, 0x00};
    assert_int_equal(n, sizeof want);
    assert_memory_equal(buf, want, n);

    struct simline_msg d;
    assert_int_equal(simline_decode(buf, n, &d, &used), SIMLINE_OK);
    assert_int_equal(d.u.clk_hz, 4000000);

    m.type = SIMLINE_SYNC;
    assert_int_equal(simline_encode(&m, buf, sizeof buf, &n), SIMLINE_OK);
    assert_int_equal(n, SIMLINE_HEADER_SIZE);
    assert_int_equal(simline_encode(&m, buf, 11, &n), SIMLINE_ERR_NO_SPACE);
}

static void hostile_records(void **state)
{
    struct simline_msg d;
    size_t used;
    uint8_t bad_type[12] = {0x09};
    assert_int_equal(simline_decode(bad_type, 12, &d, &used), SIMLINE_ERR_BAD_TYPE);
    uint8_t bad_res[12] = {SIMLINE_SYNC, 1};
    assert_int_equal(simline_decode(bad_res, 12, &d, &used), SIMLINE_ERR_BAD_RESERVED);
    uint8_t bad_len[13] = {SIMLINE_RST, 0, 2, 0};
    assert_int_equal(simline_decode(bad_len, 13, &d, &used), SIMLINE_ERR_BAD_LENGTH);
    uint8_t bad_rst[13] = {SIMLINE_RST, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
    assert_int_equal(simline_decode(bad_rst, 13, &d, &used), SIMLINE_ERR_BAD_VALUE);
    /* IO whose count disagrees with the payload length. */
    uint8_t bad_io[12 + 10] = {SIMLINE_IO, 0, 10, 0, 0, 0, 0,  0, 0, 0,
                               0,          0, 1,  0, 0, 0, 12, 0, 2, 0};
    assert_int_equal(simline_decode(bad_io, sizeof bad_io, &d, &used), SIMLINE_ERR_BAD_LENGTH);
    /* IO with zero characters. */
    uint8_t zero_io[12 + 10] = {SIMLINE_IO, 0, 10, 0, 0, 0, 0,  0, 0, 0,
                                0,          0, 1,  0, 0, 0, 12, 0, 0, 0};
    assert_int_equal(simline_decode(zero_io, sizeof zero_io, &d, &used), SIMLINE_ERR_BAD_LENGTH);
    /* A character shorter than 11 etu cannot exist on a 7816-3 line. */
    uint8_t short_char[12 + 10] = {SIMLINE_IO, 0, 10, 0, 0, 0,  0, 0, 0, 0,    0,
                                   0,          1, 0,  0, 0, 10, 0, 1, 0, 0x3B, 0};
    assert_int_equal(simline_decode(short_char, sizeof short_char, &d, &used),
                     SIMLINE_ERR_BAD_VALUE);
    assert_string_equal(simline_err_str(SIMLINE_ERR_BAD_LENGTH), "SIMLINE_ERR_BAD_LENGTH");
}

/* RF records: a Type A anticollision answer starting at bit 2 of its first
 * byte, with a collision at bit 9; the field switch; hostile variants. */
static void rf_records(void **state)
{
    (void)state;
    const uint8_t bits[4] = {0xFC, 0x12, 0x34, 0x56};
    struct simline_msg m = {.type = SIMLINE_RF_FRAME, .t_ns = 0x0102};
    m.u.rf = (struct simline_rf){.type = 0,
                                 .rate = 3,
                                 .align = 2,
                                 .flags = SIMLINE_RF_COLLISION,
                                 .n_bits = 30,
                                 .coll_bit = 9,
                                 .data = bits};
    uint8_t buf[64];
    size_t n, used;
    assert_int_equal(simline_encode(&m, buf, sizeof buf, &n), SIMLINE_OK);
    const uint8_t want[12 + 12] = {0x08, 0x00, 0x0C, 0x00, 0x02, 0x01, 0,    0,
                                   0,    0,    0,    0,    0x00, 0x03, 0x02, 0x01,
                                   30,   0,    9,    0,    0xFC, 0x12, 0x34, 0x56};
    assert_int_equal(n, sizeof want);
    assert_memory_equal(buf, want, n);
    struct simline_msg d;
    assert_int_equal(simline_decode(buf, n, &d, &used), SIMLINE_OK);
    assert_int_equal(used, n);
    assert_int_equal(d.u.rf.n_bits, 30);
    assert_int_equal(d.u.rf.coll_bit, 9);
    assert_int_equal(simline_rf_bytes(2, 30), 4);

    /* collision bit outside the frame, align 8, too many bytes, unknown flags */
    uint8_t bad[sizeof want];
    memcpy(bad, want, sizeof bad);
    bad[18] = 40;
    assert_int_equal(simline_decode(bad, sizeof bad, &d, &used), SIMLINE_ERR_BAD_VALUE);
    memcpy(bad, want, sizeof bad);
    bad[14] = 8;
    assert_int_equal(simline_decode(bad, sizeof bad, &d, &used), SIMLINE_ERR_BAD_LENGTH);
    memcpy(bad, want, sizeof bad);
    bad[15] = 0x80;
    assert_int_equal(simline_decode(bad, sizeof bad, &d, &used), SIMLINE_ERR_BAD_VALUE);
    memcpy(bad, want, sizeof bad);
    bad[16] = 31; /* 33 bits need 5 bytes, 4 given */
    assert_int_equal(simline_decode(bad, sizeof bad, &d, &used), SIMLINE_ERR_BAD_LENGTH);
    /* a collision position without the collision flag (fuzz_simline found
     * it: it decoded, and re-encoded with the position 0) */
    memcpy(bad, want, sizeof bad);
    bad[15] = 0x00;
    assert_int_equal(simline_decode(bad, sizeof bad, &d, &used), SIMLINE_ERR_BAD_VALUE);
    bad[18] = 0;
    assert_int_equal(simline_decode(bad, sizeof bad, &d, &used), SIMLINE_OK);
    m.u.rf.n_bits = 8 * (SIMLINE_RF_MAX + 1);
    assert_int_equal(simline_encode(&m, buf, sizeof buf, &n), SIMLINE_ERR_BAD_VALUE);

    struct simline_msg f = {.type = SIMLINE_RF_FIELD, .t_ns = 5};
    f.u.field = 1;
    assert_int_equal(simline_encode(&f, buf, sizeof buf, &n), SIMLINE_OK);
    assert_int_equal(n, 13);
    assert_int_equal(buf[0], 0x07);
    assert_int_equal(buf[12], 0x01);
    buf[12] = 2;
    assert_int_equal(simline_decode(buf, n, &d, &used), SIMLINE_ERR_BAD_VALUE);
}

/* ---- simline_port: the reader's end ---------------------------------------- */

/* A card process that sent everything at once, then falls silent: like the
 * STM32 board's USART, a read after that would block until the card speaks
 * again, which it never does. */
struct quiet_card {
    uint8_t script[256];
    size_t len;
    unsigned writes, reads, blocked_reads;
};

static bool quiet_write(void *ctx, const uint8_t *p, size_t n)
{
    (void)p;
    (void)n;
    ((struct quiet_card *)ctx)->writes++;
    return true;
}

static long quiet_read(void *ctx, uint8_t *buf, size_t cap, int wait_ms)
{
    (void)wait_ms;
    struct quiet_card *q = ctx;
    q->reads++;
    if (q->len == 0) {
        q->blocked_reads++;
        return 0;
    }
    size_t n = q->len < cap ? q->len : cap;
    memcpy(buf, q->script, n);
    memmove(q->script, q->script + n, q->len - n);
    q->len -= n;
    return (long)n;
}

static void script_add(struct quiet_card *q, const struct simline_msg *m)
{
    size_t n;
    assert_int_equal(simline_encode(m, q->script + q->len, sizeof q->script - q->len, &n),
                     SIMLINE_OK);
    q->len += n;
}

/* The card's characters at t_ns, at 9600 bit/s (372/1 at 3.5712 MHz), 12 etu each. */
static void script_io(struct quiet_card *q, uint64_t t_ns, const uint8_t *chars,
                      const uint8_t *flags, uint16_t n)
{
    struct simline_msg m = {.type = SIMLINE_IO, .t_ns = t_ns};
    m.u.io.etu_ps = 104166667u;
    m.u.io.char_etu = 12;
    m.u.io.n = n;
    m.u.io.chars = chars;
    m.u.io.flags = flags;
    script_add(q, &m);
}

/* A port on static buffers (a 4-character queue, rec_cap records of at most
 * 2), powered (class C) and clocked at clk_hz, as a board leaves it before
 * the ATR. */
static void port_open(struct simline_port *p, const struct simline_port_ops *ops, void *ctx,
                      unsigned rec_cap, uint32_t clk_hz)
{
    static uint8_t in[SIMLINE_RECORD_MAX * 2], chars[2 * 4], tx[SIMLINE_PORT_TX_SIZE(16)];
    static struct simline_port_rec recs[2];
    const struct simline_port_config cfg = {.stall_ms = 1000};
    const struct simline_port_buffers b = {.in = in,
                                           .in_cap = sizeof in,
                                           .recs = recs,
                                           .rec_cap = rec_cap,
                                           .chars = chars,
                                           .char_cap = 4,
                                           .tx = tx,
                                           .tx_cap = sizeof tx};
    simline_port_init(p, ops, ctx, &cfg, &b);
    simline_port_up(p);
    simline_port_vcc(p, 3);
    simline_port_clk(p, clk_hz);
}

/* Two IO records and the SYNCs arrive in one read while the queue holds only
 * the first record: the second is decoded from what was read, without a read
 * the silent card would never end. */
static void port_decodes_buffered_before_reading(void **state)
{
    (void)state;
    struct quiet_card q = {0};
    const struct simline_port_ops ops = {.write = quiet_write, .read = quiet_read};
    struct simline_port p;
    port_open(&p, &ops, &q, 1, 3571200);
    simline_port_configure(&p, 372, 1, 12, false, false);
    const uint8_t cmd[1] = {0x00};
    simline_port_send(&p, cmd, 1);

    struct simline_msg m = {.type = SIMLINE_PRESENCE};
    m.u.present = 1;
    script_add(&q, &m);
    const uint8_t a[2] = {0x3B, 0x00}, c[1] = {0x90}, noflags[2] = {0};
    script_io(&q, 1000, a, noflags, 2);
    script_io(&q, 10000000, c, noflags, 1);
    for (unsigned i = 0; i < q.writes; i++)
        script_add(&q, &(struct simline_msg){.type = SIMLINE_SYNC});

    assert_true(simline_port_present(&p));
    const uint8_t want[3] = {0x3B, 0x00, 0x90};
    for (size_t i = 0; i < sizeof want; i++) {
        uint8_t got = 0;
        assert_int_equal(simline_port_recv(&p, &got, UINT64_MAX / 2), SIMLINE_RX_OK);
        assert_int_equal(got, want[i]);
    }
    assert_int_equal(p.stats.overruns, 1); /* the second record waited once */
    /* The card said all it will: the wait ends at the deadline, read nothing. */
    uint8_t got;
    assert_int_equal(simline_port_recv(&p, &got, 50000000), SIMLINE_RX_TIMEOUT);
    assert_int_equal(q.blocked_reads, 0);
    assert_int_equal(q.reads, 1);
}

static const char *closed_why;

static void note_closed(void *ctx, const char *why)
{
    (void)ctx;
    closed_why = why;
}

/* A card record of more characters than the reader's whole queue (5 > 4)
 * can never be taken: the line goes down saying so, instead of waiting for
 * room and then blaming a silent card process (fuzz_simline_port). */
static void port_refuses_record_longer_than_queue(void **state)
{
    (void)state;
    struct quiet_card q = {0};
    const struct simline_port_ops ops = {
        .write = quiet_write, .read = quiet_read, .closed = note_closed};
    struct simline_port p;
    closed_why = NULL;
    port_open(&p, &ops, &q, 2, 3571200);
    simline_port_configure(&p, 372, 1, 12, false, false);
    const uint8_t cmd[1] = {0x00};
    simline_port_send(&p, cmd, 1);

    struct simline_msg m = {.type = SIMLINE_PRESENCE};
    m.u.present = 1;
    script_add(&q, &m);
    const uint8_t five[5] = {0x3B, 0x00, 0x11, 0x22, 0x33}, noflags[5] = {0};
    script_io(&q, 1000, five, noflags, 5);
    for (unsigned i = 0; i < q.writes; i++)
        script_add(&q, &(struct simline_msg){.type = SIMLINE_SYNC});

    /* The presence and the record come in one read: the line is down by then. */
    assert_false(simline_port_present(&p));
    assert_non_null(closed_why);
    assert_string_equal(closed_why, "a card record longer than the reader's character queue");
    assert_false(p.up);
}

/* What the port writes, kept whole. */
struct written {
    uint8_t buf[512];
    size_t len;
};

static bool keep_write(void *ctx, const uint8_t *p, size_t n)
{
    struct written *w = ctx;
    if (n > sizeof w->buf - w->len)
        return false;
    memcpy(w->buf + w->len, p, n);
    w->len += n;
    return true;
}

static long no_read(void *ctx, uint8_t *buf, size_t cap, int wait_ms)
{
    (void)ctx, (void)buf, (void)cap, (void)wait_ms;
    return 0;
}

/* A card whose ATR has TC1 = 254: the reader's characters take 266 etu each
 * and still go on the line (fuzz_simline_port found them silently dropped:
 * 266 did not fit the record's old 8-bit field, so the card looked mute). */
static void port_sends_with_longest_guard_time(void **state)
{
    (void)state;
    struct written w = {0};
    const struct simline_port_ops ops = {.write = keep_write, .read = no_read};
    struct simline_port p;
    port_open(&p, &ops, &w, 1, 3571200);
    size_t before = w.len;
    simline_port_configure(&p, 372, 1, 12 + 254, false, false);
    const uint8_t cmd[2] = {0xFF, 0x10};
    simline_port_send(&p, cmd, 2);
    assert_int_equal(w.len - before, SIMLINE_IO_HEAD_SIZE + 4);
    struct simline_msg d;
    size_t used;
    assert_int_equal(simline_decode(w.buf + before, w.len - before, &d, &used), SIMLINE_OK);
    assert_int_equal(d.type, SIMLINE_IO);
    assert_int_equal(d.u.io.char_etu, 266);
    assert_int_equal(d.u.io.n, 2);
    assert_memory_equal(d.u.io.chars, cmd, 2);
}

/* Settings no character can be sent with (267 etu, more than any TC1
 * gives; no clock) take the line down by name: before, the characters were
 * dropped and the card looked mute. */
static void port_refuses_unsayable_settings(void **state)
{
    (void)state;
    const struct simline_port_ops ops = {
        .write = keep_write, .read = no_read, .closed = note_closed};
    const uint32_t clocks[2] = {3571200, 0};
    const unsigned char_etus[2] = {267, 12};
    for (int i = 0; i < 2; i++) {
        struct written w = {0};
        struct simline_port p;
        closed_why = NULL;
        port_open(&p, &ops, &w, 1, clocks[i]);
        simline_port_configure(&p, 372, 1, char_etus[i], false, false);
        size_t before = w.len;
        const uint8_t cmd[1] = {0xFF};
        simline_port_send(&p, cmd, 1);
        assert_int_equal(w.len, before);
        assert_false(p.up);
        assert_non_null(closed_why);
        assert_string_equal(closed_why, "the reader's line settings cannot carry a character");
    }
}

/* The fault list of --fault-kinds and fault-kinds=: names between commas,
 * 0 when any is unknown, an empty one included (fuzz_simline_port found
 * "flip," taken as "flip"). */
static void fault_kinds_list(void **state)
{
    (void)state;
    assert_int_equal(simline_fault_kinds("flip"), SIMLINE_FAULT_FLIP);
    assert_int_equal(simline_fault_kinds("dup,drop"), SIMLINE_FAULT_DUP | SIMLINE_FAULT_DROP);
    assert_int_equal(simline_fault_kinds("flip,drop,dup"), 7u);
    assert_int_equal(simline_fault_kinds("drop,drop"), SIMLINE_FAULT_DROP);
    assert_int_equal(simline_fault_kinds(""), 0u);
    assert_int_equal(simline_fault_kinds("flip,"), 0u);
    assert_int_equal(simline_fault_kinds("flip,drop,"), 0u);
    assert_int_equal(simline_fault_kinds(","), 0u);
    assert_int_equal(simline_fault_kinds(",dup"), 0u);
    assert_int_equal(simline_fault_kinds("flip,,dup"), 0u);
    assert_int_equal(simline_fault_kinds("flips"), 0u);
    assert_int_equal(simline_fault_kinds("fli"), 0u);
    assert_int_equal(simline_fault_kinds("flip drop"), 0u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(etu_default_speed),
        cmocka_unit_test(io_record_exact_bytes),
        cmocka_unit_test(io_record_longest_guard_time),
        cmocka_unit_test(port_sends_with_longest_guard_time),
        cmocka_unit_test(port_refuses_record_longer_than_queue),
        cmocka_unit_test(port_refuses_unsayable_settings),
        cmocka_unit_test(fixed_records),
        cmocka_unit_test(hostile_records),
        cmocka_unit_test(rf_records),
        cmocka_unit_test(port_decodes_buffered_before_reading),
        cmocka_unit_test(fault_kinds_list),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

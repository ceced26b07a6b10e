/*
 * Every APDU length through the reader board, byte for byte, as the host's
 * CCID layer sends them (host/backend/ccid_link.c: APDU chaining of CCID 1.1
 * §6.1.4 / §6.2.1 when an APDU is longer than the reader's
 * dwMaxCCIDMessageLength): the cases of ISO/IEC 7816-4 §5.1, short (Le
 * 1-256, Lc 1-255 each) and extended (around the short limit, the reader's
 * message size, up to Lc 65535 and Le 65536), against the persona
 * "sweep-t1" of tests/data/board-personas.json (EF 0F0F: byte i = i mod 256).
 * The reader holds a window of each APDU only (firmware/src/ccid_device.c):
 * the card's 64 KiB answer and the host's 4 KiB command pass through it.
 *
 * On a T=0 card ("sweep-t0") the reader passes what fits one message (a
 * command of one part, an ENVELOPE sequence; a response of one window) and
 * names the rest: XFR_OVERRUN, not a wrong answer.
 *
 * The board is the sim board, or the STM32F405 image in QEMU when CTest sets
 * HAWIYA_STM32_ELF (sim_env.h). In QEMU every byte crosses two emulated
 * USARTs at about 0.1 ms each (a 64 KiB answer takes 20 s), so there the
 * short lengths are sampled (every 17th, and the limits) and the extended
 * ones kept around every boundary, with one 64 KiB answer and a 4 KiB
 * command.
 *
 * A host may also send before the reader has answered (a probe, another
 * slot's command): those bytes reach a reader that is busy with the card and
 * not reading its host link. On the STM32 board they fill USART1's receive
 * ring; the reader must hold them back (the byte waits in the USART's DR,
 * QEMU holds the rest in its chardev) and serve them once it is done, byte
 * for byte, not stop (commands_queued_behind_a_long_one).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hawiya/tlv.h"
#include "sim_env.h"

#define TIMEOUT_MS 60000
#define FILE_SIZE  100000u

static struct sim_env env;
static uint8_t rbuf[65536 + 2 + 64];
static uint8_t apdu[65535 + 9];

static const uint8_t emrtd_aid[7] = {0xA0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x01};

static int start(const char *persona)
{
    if (sim_env_start(&env, persona, NULL) != 0)
        return -1;
    uint8_t atr[40];
    size_t n;
    return ccid_link_power_on(&env.link, 0, atr, sizeof atr, &n, TIMEOUT_MS) == CCID_LINK_OK ? 0
                                                                                             : -1;
}

static int setup_t1(void **state)
{
    (void)state;
    return start("sweep-t1");
}

static int setup_t0(void **state)
{
    (void)state;
    return start("sweep-t0");
}

static int teardown(void **state)
{
    (void)state;
    sim_env_stop(&env);
    return 0;
}

static enum ccid_link_err xfr(size_t n, size_t *rl)
{
    return ccid_link_xfr(&env.link, apdu, n, rbuf, sizeof rbuf, rl, TIMEOUT_MS);
}

static void select_ef(void)
{
    const uint8_t sel_mf[] = {0x00, 0xA4, 0x00, 0x0C};
    const uint8_t sel[] = {0x00, 0xA4, 0x02, 0x0C, 0x02, 0x0F, 0x0F};
    size_t rl;
    memcpy(apdu, sel_mf, sizeof sel_mf);
    enum ccid_link_err e = xfr(sizeof sel_mf, &rl);
    if (e != CCID_LINK_OK)
        fail_msg("SELECT MF: %s, bError %02X", ccid_link_err_str(e), env.link.berror);
    memcpy(apdu, sel, sizeof sel);
    assert_int_equal(xfr(sizeof sel, &rl), CCID_LINK_OK);
    assert_int_equal(rl, 2);
    assert_int_equal(rbuf[0] << 8 | rbuf[1], 0x9000);
}

/* READ BINARY (case 2) of ne bytes at offset, short or extended Le. */
static enum ccid_link_err read_binary(unsigned offset, unsigned ne, bool extended, size_t *rl)
{
    size_t n = 0;
    apdu[n++] = 0x00;
    apdu[n++] = 0xB0;
    apdu[n++] = (uint8_t)(offset >> 8);
    apdu[n++] = (uint8_t)offset;
    if (extended) {
        apdu[n++] = 0;
        apdu[n++] = (uint8_t)(ne >> 8); /* 65536 is 00 00 */
    }
    apdu[n++] = (uint8_t)ne; /* 256 is 00 */
    return xfr(n, rl);
}

static void read_expect(unsigned offset, unsigned ne, bool extended)
{
    size_t rl;
    assert_int_equal(read_binary(offset, ne, extended, &rl), CCID_LINK_OK);
    if (rl != ne + 2)
        fail_msg("READ BINARY %u at %u%s: %zu bytes back, SW %02X%02X", ne, offset,
                 extended ? " (ext)" : "", rl, rl >= 2 ? rbuf[rl - 2] : 0,
                 rl >= 2 ? rbuf[rl - 1] : 0);
    for (unsigned i = 0; i < ne; i++)
        if (rbuf[i] != (uint8_t)(offset + i))
            fail_msg("byte %u of a %u-byte read at %u: %02X", i, ne, offset, rbuf[i]);
    assert_int_equal(rbuf[ne] << 8 | rbuf[ne + 1], 0x9000);
}

/* SELECT by DF name (case 3) with Lc bytes: the eMRTD AID's first bytes
 * match (9000) up to 7; a longer name matches nothing (6A82); above the 16
 * bytes of 7816-4 §8.2.1.2 a wrong length (6700), said only of a whole,
 * well-formed command of that Lc: a byte lost or changed shows. */
static size_t select_apdu(unsigned lc, bool extended)
{
    size_t n = 0;
    apdu[n++] = 0x00;
    apdu[n++] = 0xA4;
    apdu[n++] = 0x04;
    apdu[n++] = 0x0C;
    if (extended) {
        apdu[n++] = 0;
        apdu[n++] = (uint8_t)(lc >> 8);
    }
    apdu[n++] = (uint8_t)lc;
    for (unsigned i = 0; i < lc; i++)
        apdu[n + i] = i < sizeof emrtd_aid ? emrtd_aid[i] : (uint8_t)(i * 13 + lc);
    return n + lc;
}

static void select_expect(unsigned lc, bool extended)
{
    size_t rl;
    enum ccid_link_err e = xfr(select_apdu(lc, extended), &rl);
    if (e != CCID_LINK_OK)
        fail_msg("SELECT with Lc %u%s: %s, bError %02X", lc, extended ? " (ext)" : "",
                 ccid_link_err_str(e), env.link.berror);
    assert_int_equal(rl, 2);
    unsigned sw = (unsigned)(rbuf[0] << 8 | rbuf[1]);
    unsigned want = lc <= sizeof emrtd_aid ? 0x9000u : lc <= 16 ? 0x6A82u : 0x6700u;
    if (sw != want)
        fail_msg("SELECT with Lc %u%s: SW %04X", lc, extended ? " (ext)" : "", sw);
}

/* READ BINARY with the odd INS (case 4): the offset in DO'54', the data
 * back in DO'53' (7816-4 §7.2.3). */
static void read_odd_expect(unsigned offset, unsigned ne, bool extended)
{
    const uint8_t data[5] = {0x54, 0x03, (uint8_t)(offset >> 16), (uint8_t)(offset >> 8),
                             (uint8_t)offset};
    size_t n = 0;
    apdu[n++] = 0x00;
    apdu[n++] = 0xB1;
    apdu[n++] = 0x00;
    apdu[n++] = 0x00;
    if (extended) {
        apdu[n++] = 0;
        apdu[n++] = 0;
    }
    apdu[n++] = sizeof data;
    memcpy(apdu + n, data, sizeof data);
    n += sizeof data;
    if (extended)
        apdu[n++] = (uint8_t)(ne >> 8);
    apdu[n++] = (uint8_t)ne;
    size_t rl;
    assert_int_equal(xfr(n, &rl), CCID_LINK_OK);
    assert_true(rl >= 4 && rl <= ne + 2);
    assert_int_equal(rbuf[rl - 2] << 8 | rbuf[rl - 1], 0x9000);
    struct tlv t;
    assert_int_equal(tlv_find(rbuf, rl - 2, 0x53, &t), TLV_OK);
    assert_true(t.len > 0 && t.len <= ne);
    for (size_t i = 0; i < t.len; i++)
        if (t.value[i] != (uint8_t)(offset + i))
            fail_msg("byte %zu of DO 53 at %u (Le %u): %02X", i, offset, ne, t.value[i]);
}

/* The lengths 1..max to try: all of them, or a sample in QEMU. */
static unsigned next_len(unsigned n, unsigned max)
{
    if (!sim_env_stm32() || n + 1 >= max - 1)
        return n + 1;
    return n + 17 < max - 1 ? n + 17 : max - 1;
}

static void short_apdus(void **state)
{
    (void)state;
    select_ef();
    for (unsigned le = 1; le <= 256; le = next_len(le, 256))
        read_expect((le * 37) % 30000, le, false);
    for (unsigned lc = 1; lc <= 255; lc = next_len(lc, 255))
        select_expect(lc, false);
    select_ef();
    for (unsigned le = 8; le <= 256; le += 31)
        read_odd_expect(le * 101, le, false);
}

static void extended_apdus(void **state)
{
    (void)state;
    select_ef();
    /* Around the short limit, the reader's message (2048 - 10) and the
     * T=1 blocks (254), and the largest of all; in QEMU the boundaries and
     * one 64 KiB answer. */
    static const unsigned les[] = {1,    255,  256,   257,   258,   261,   1000,
                                   2034, 2036, 2037,  2038,  2039,  2040,  2290,
                                   4096, 8192, 32767, 32768, 65000, 65535, 65536};
    static const unsigned les_qemu[] = {1, 256, 257, 2036, 2037, 2038, 2039, 4096, 65536};
    static const unsigned lcs[] = {1,    7,    8,    255,  256,  257,  1000,  2028, 2029,
                                   2030, 2031, 2032, 2280, 4096, 4097, 32768, 65535};
    static const unsigned lcs_qemu[] = {1, 255, 256, 2029, 2030, 2031, 4096};
    static const unsigned odd[] = {300, 4096, 40000, 65535};
    bool q = sim_env_stm32();
    size_t nle = q ? sizeof les_qemu / sizeof les_qemu[0] : sizeof les / sizeof les[0];
    size_t nlc = q ? sizeof lcs_qemu / sizeof lcs_qemu[0] : sizeof lcs / sizeof lcs[0];
    for (size_t i = 0; i < nle; i++) {
        unsigned ne = q ? les_qemu[i] : les[i];
        read_expect(ne < 30000 ? 7 : 0, ne, true);
    }
    for (size_t i = 0; i < nlc; i++)
        select_expect(q ? lcs_qemu[i] : lcs[i], true);
    select_ef();
    for (size_t i = 0; i < (q ? 1 : 4); i++)
        read_odd_expect(33000 + (unsigned)i, odd[i], true);
}

/* T=0: short APDUs all pass; extended ones as long as one message of each
 * way holds them (2038 bytes: a response of 2036 data bytes and SW); above,
 * the reader says XFR_OVERRUN and the card and the link go on. */
static void t0_apdus(void **state)
{
    (void)state;
    select_ef();
    for (unsigned le = 1; le <= 256; le = next_len(le, 256))
        read_expect((le * 37) % 30000, le, false);
    for (unsigned lc = 1; lc <= 255; lc += 7)
        select_expect(lc, false);
    select_ef();
    size_t rl;
    assert_int_equal(read_binary(0, 2037, true, &rl), CCID_LINK_ERR_FAILED);
    assert_int_equal(env.link.berror, CCID_BERROR_XFR_OVERRUN);
    assert_int_equal(read_binary(0, 65536, true, &rl), CCID_LINK_ERR_FAILED);
    assert_int_equal(env.link.berror, CCID_BERROR_XFR_OVERRUN);
    select_expect(300, true);
    select_ef();
    read_expect(100, 200, false);
}

/* The next answer the reader sends, waiting for it (bounded) without
 * sending anything. */
static enum ccid_link_err take(struct ccid_msg *resp, uint8_t *data, size_t cap)
{
    for (;;) {
        enum ccid_link_err e = ccid_link_take(&env.link, resp, data, cap);
        if (e != CCID_LINK_ERR_TIMEOUT)
            return e;
        struct pollfd p = {.fd = env.link.fd, .events = POLLIN};
        if (poll(&p, 1, TIMEOUT_MS) != 1)
            return CCID_LINK_ERR_TIMEOUT;
    }
}

/* Three XfrBlocks sent back to back: a READ BINARY whose answer takes the
 * card a while (2000 bytes in one message, eight T=1 blocks from the card),
 * then two SELECTs of 1000 and 2000 name bytes that arrive while the reader
 * is still busy with it: more than a USART ring holds (512). Each gets its
 * own exact answer, in order, with its bSeq; before the fix of
 * boards/stm32f405/uart.c the reader never answered the first. */
static void commands_queued_behind_a_long_one(void **state)
{
    (void)state;
    select_ef();
    static uint8_t cmd[3][2100];
    static const unsigned lcs[2] = {1000, 2000};
    size_t n[3] = {0};
    uint8_t seq[3];
    cmd[0][n[0]++] = 0x00;
    cmd[0][n[0]++] = 0xB0;
    cmd[0][n[0]++] = 0x01; /* offset 300 */
    cmd[0][n[0]++] = 0x2C;
    cmd[0][n[0]++] = 0x00;
    cmd[0][n[0]++] = 2000 >> 8;
    cmd[0][n[0]++] = 2000 & 0xFF;
    for (int i = 0; i < 2; i++) {
        n[i + 1] = select_apdu(lcs[i], true);
        memcpy(cmd[i + 1], apdu, n[i + 1]);
    }
    for (int i = 0; i < 3; i++) {
        struct ccid_msg req = {.type = CCID_PC_TO_RDR_XFR_BLOCK,
                               .slot = env.link.slot,
                               .data = cmd[i],
                               .len = (uint32_t)n[i],
                               .level_parameter = CCID_CHAIN_BEGIN_END};
        assert_int_equal(ccid_link_send(&env.link, &req, TIMEOUT_MS), CCID_LINK_OK);
        seq[i] = req.seq;
    }
    for (int i = 0; i < 3; i++) {
        struct ccid_msg resp;
        enum ccid_link_err e = take(&resp, rbuf, sizeof rbuf);
        if (e != CCID_LINK_OK)
            fail_msg("answer %d of 3: %s", i + 1, ccid_link_err_str(e));
        assert_int_equal(resp.type, CCID_RDR_TO_PC_DATA_BLOCK);
        assert_int_equal(resp.seq, seq[i]);
        assert_int_equal(ccid_status_command(resp.status), CCID_CMD_OK);
        if (i == 0) {
            assert_int_equal(resp.len, 2000 + 2);
            for (unsigned k = 0; k < 2000; k++)
                if (rbuf[k] != (uint8_t)(300 + k))
                    fail_msg("byte %u of the queued read: %02X", k, rbuf[k]);
            assert_int_equal(rbuf[2000] << 8 | rbuf[2001], 0x9000);
        } else {
            assert_int_equal(resp.len, 2);
            assert_int_equal(rbuf[0] << 8 | rbuf[1], 0x6700);
        }
    }
    /* And the link goes on in step. */
    select_ef();
    read_expect(7, 256, false);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(short_apdus, setup_t1, teardown),
        cmocka_unit_test_setup_teardown(extended_apdus, setup_t1, teardown),
        cmocka_unit_test_setup_teardown(t0_apdus, setup_t0, teardown),
        cmocka_unit_test_setup_teardown(commands_queued_behind_a_long_one, setup_t1, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

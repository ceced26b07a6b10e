/*
 * ISO/IEC 14443-4 block protocol (hawiya/isodep.h): the PCB values of
 * 7.1.1.1 byte for byte, strict decoding of hostile blocks, the rules of
 * 7.5.3 and 7.5.4 one by one with the exact blocks each side must send,
 * chaining both ways up to an extended APDU, S(WTX) and FWT x WTXM (7.2),
 * S(DESELECT), the presence check, and a loopback of both roles over a
 * lossy channel where every exchange ends exact or with a named error.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "hawiya/isodep.h"

#define FWT 4833039u

static struct isodep_config cfg(size_t fsc, size_t fsd, bool cid)
{
    return (struct isodep_config){
        .fsc = fsc, .fsd = fsd, .cid_on = cid, .cid = cid ? 5 : 0, .fwt_ns = FWT};
}

static void pcb_values(void **state)
{
    (void)state;
    assert_int_equal(isodep_pcb_i(0, false, false, false), 0x02);
    assert_int_equal(isodep_pcb_i(1, false, false, false), 0x03);
    assert_int_equal(isodep_pcb_i(0, true, false, false), 0x12);
    assert_int_equal(isodep_pcb_i(1, false, true, false), 0x0B);
    assert_int_equal(isodep_pcb_i(0, false, false, true), 0x06);
    assert_int_equal(isodep_pcb_r(0, false, false), 0xA2);
    assert_int_equal(isodep_pcb_r(1, false, false), 0xA3);
    assert_int_equal(isodep_pcb_r(0, true, false), 0xB2);
    assert_int_equal(isodep_pcb_r(1, true, true), 0xBB);
    assert_int_equal(isodep_pcb_s(ISODEP_S_DESELECT, false), 0xC2);
    assert_int_equal(isodep_pcb_s(ISODEP_S_DESELECT, true), 0xCA);
    assert_int_equal(isodep_pcb_s(ISODEP_S_WTX, false), 0xF2);
    assert_int_equal(isodep_pcb_s(ISODEP_S_WTX, true), 0xFA);

    uint8_t out[16];
    size_t n;
    const uint8_t apdu[4] = {0x00, 0xA4, 0x04, 0x00};
    assert_int_equal(isodep_block_encode(out, sizeof out, 0x0E, 5, 0x12, apdu, 4, &n), ISODEP_OK);
    const uint8_t want[7] = {0x0E, 0x05, 0x12, 0x00, 0xA4, 0x04, 0x00};
    assert_int_equal(n, 7);
    assert_memory_equal(out, want, 7);
    assert_int_equal(isodep_block_encode(out, 6, 0x0E, 5, 0x12, apdu, 4, &n),
                     ISODEP_ERR_BUF_TOO_SMALL);
}

static void decode_strict(void **state)
{
    (void)state;
    struct isodep_block b;
    static const uint8_t bad_pcbs[] = {0x00, 0x01, 0x22, 0x42, 0x82, 0xA0, 0xA6, 0xB6, 0xC0,
                                       0xC3, 0xD2, 0xE2, 0xF0, 0xF6, 0xFF, 0x62, 0xE3};
    for (size_t i = 0; i < sizeof bad_pcbs; i++) {
        uint8_t blk[2] = {bad_pcbs[i], 0x01};
        size_t len = (bad_pcbs[i] & 0xF0) == 0xF0 ? 2 : 1;
        assert_int_equal(isodep_block_decode(blk, len, &b), ISODEP_ERR_PCB_INVALID);
    }
    assert_int_equal(isodep_block_decode(NULL, 0, &b), ISODEP_ERR_EMPTY);
    const uint8_t cid_missing[1] = {0x0A};
    assert_int_equal(isodep_block_decode(cid_missing, 1, &b), ISODEP_ERR_TRUNCATED);
    const uint8_t nad_missing[2] = {0x0E, 0x01};
    assert_int_equal(isodep_block_decode(nad_missing, 2, &b), ISODEP_ERR_TRUNCATED);
    const uint8_t cid_rfu[2] = {0x0A, 0x15};
    assert_int_equal(isodep_block_decode(cid_rfu, 2, &b), ISODEP_ERR_PCB_INVALID);
    const uint8_t r_inf[2] = {0xA2, 0x00};
    assert_int_equal(isodep_block_decode(r_inf, 2, &b), ISODEP_ERR_R_INF);
    const uint8_t desel_inf[2] = {0xC2, 0x00};
    assert_int_equal(isodep_block_decode(desel_inf, 2, &b), ISODEP_ERR_S_INF);
    const uint8_t wtx_short[1] = {0xF2};
    assert_int_equal(isodep_block_decode(wtx_short, 1, &b), ISODEP_ERR_S_INF);
    const uint8_t wtx0[2] = {0xF2, 0xC0}; /* power level bits, WTXM 0 */
    assert_int_equal(isodep_block_decode(wtx0, 2, &b), ISODEP_ERR_WTXM);

    const uint8_t ok[5] = {0x1B, 0x45, 0x90, 0x00, 0x01};
    assert_int_equal(isodep_block_decode(ok, 5, &b), ISODEP_OK);
    assert_int_equal(b.type, ISODEP_BLOCK_I);
    assert_true(b.chaining);
    assert_int_equal(b.bn, 1);
    assert_true(b.has_cid);
    assert_int_equal(b.cid, 5);
    assert_int_equal(b.power, 1);
    assert_int_equal(b.len, 3);
    const uint8_t wtx[2] = {0xF2, 0x3B};
    assert_int_equal(isodep_block_decode(wtx, 2, &b), ISODEP_OK);
    assert_int_equal(b.wtxm, 59);
}

/* ---- a channel between the two roles ------------------------------------ */

struct link {
    struct isodep_pcd pcd;
    struct isodep_picc picc;
    uint8_t cbuf[70000];
    uint8_t rbuf[70000];
    uint8_t resp[70000];
    size_t resp_len;
    uint8_t frame[ISO14443_FS_MAX];
    double loss; /* per frame, each way: lost or damaged */
    uint64_t rng;
    unsigned frames, wtx_asked, biggest_pcd, biggest_picc;
    bool ask_wtx, pending;
    /* scripted faults: frames crossing the channel either way are counted
     * (hop); those numbered fault_at[i] are lost (1) or damaged (2) */
    unsigned hop, fault_at[8], delivered;
    int fault_kind;
};

static uint32_t rnd(struct link *l)
{
    l->rng = l->rng * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(l->rng >> 33);
}

/* 0 delivered, 1 lost, 2 damaged */
static int fate(struct link *l)
{
    l->hop++;
    for (size_t i = 0; i < sizeof l->fault_at / sizeof l->fault_at[0]; i++)
        if (l->fault_at[i] == l->hop)
            return l->fault_kind;
    if (l->loss <= 0 || (double)rnd(l) / 4294967296.0 >= l->loss)
        return 0;
    return 1 + (int)(rnd(l) & 1u);
}

/* The PICC computes a response: the command reversed and 90 00, or long. */
static void card_answers(struct link *l, const uint8_t *cmd, size_t n)
{
    if (n >= 4 && cmd[1] == 0xB0) {
        size_t want = (size_t)cmd[2] << 8 | cmd[3];
        for (size_t i = 0; i < want; i++)
            l->resp[i] = (uint8_t)(i * 7);
        l->resp[want] = 0x90;
        l->resp[want + 1] = 0x00;
        l->resp_len = want + 2;
        return;
    }
    for (size_t i = 0; i < n; i++)
        l->resp[i] = cmd[n - 1 - i];
    l->resp[n] = 0x90;
    l->resp[n + 1] = 0x00;
    l->resp_len = n + 2;
}

static void link_init(struct link *l, struct isodep_config pc, struct isodep_config cc)
{
    l->pending = false;
    assert_int_equal(isodep_pcd_init(&l->pcd, &pc), ISODEP_OK);
    assert_int_equal(isodep_picc_init(&l->picc, &cc, l->cbuf, sizeof l->cbuf), ISODEP_OK);
}

/* Runs the PCD's action through the channel until DONE / DESELECTED / ERROR. */
static struct isodep_action drive(struct link *l, struct isodep_action act)
{
    for (int guard = 0; guard < 100000 && act.kind == ISODEP_ACT_SEND; guard++) {
        l->frames++;
        if (act.block_len + 2 > l->biggest_pcd)
            l->biggest_pcd = (unsigned)act.block_len + 2;
        struct isodep_event to_pcd = {.kind = ISODEP_EV_TIMEOUT};
        int f = fate(l);
        if (f != 1) {
            struct isodep_event to_card = {.kind = f == 2 ? ISODEP_EV_ERROR : ISODEP_EV_BLOCK,
                                           .data = act.block,
                                           .len = act.block_len};
            struct isodep_action ca;
            isodep_picc_step(&l->picc, &to_card, &ca);
            if (ca.kind == ISODEP_ACT_DELIVER_APDU || ca.kind == ISODEP_ACT_ERROR) {
                l->delivered++;
                if (ca.kind == ISODEP_ACT_ERROR) {
                    assert_int_equal(ca.err, ISODEP_ERR_COMMAND_TOO_LONG);
                    l->resp[0] = 0x67;
                    l->resp[1] = 0x00;
                    l->resp_len = 2;
                } else {
                    card_answers(l, l->cbuf, ca.apdu_len);
                }
                if (l->ask_wtx && rnd(l) % 4 == 0) {
                    /* the card needs more time: S(WTX request), the answer later */
                    l->wtx_asked++;
                    l->pending = true;
                    assert_int_equal(isodep_picc_request_wtx(&l->picc, 3, &ca), ISODEP_OK);
                } else {
                    isodep_picc_respond(&l->picc, l->resp, l->resp_len, &ca);
                }
            } else if (ca.kind == ISODEP_ACT_NONE && l->pending &&
                       l->picc.state == ISODEP_PICC_BUSY) {
                /* our S(WTX request) was granted: the answer now */
                l->pending = false;
                isodep_picc_respond(&l->picc, l->resp, l->resp_len, &ca);
            }
            if (ca.kind == ISODEP_ACT_SEND || ca.kind == ISODEP_ACT_DESELECTED) {
                if (ca.block_len + 2 > l->biggest_picc)
                    l->biggest_picc = (unsigned)ca.block_len + 2;
                memcpy(l->frame, ca.block, ca.block_len);
                int g = fate(l);
                if (g != 1)
                    to_pcd =
                        (struct isodep_event){.kind = g == 2 ? ISODEP_EV_ERROR : ISODEP_EV_BLOCK,
                                              .data = l->frame,
                                              .len = ca.block_len};
            }
        }
        isodep_pcd_step(&l->pcd, &to_pcd, &act);
    }
    return act;
}

static void exchange(struct link *l, const uint8_t *apdu, size_t n, size_t *rlen)
{
    struct isodep_action act;
    assert_int_equal(isodep_pcd_transceive_begin(&l->pcd, apdu, n, l->rbuf, sizeof l->rbuf, &act),
                     ISODEP_OK);
    act = drive(l, act);
    assert_int_equal(act.kind, ISODEP_ACT_DONE);
    *rlen = act.apdu_len;
}

static void loopback_sizes(void **state)
{
    (void)state;
    static const size_t sizes[] = {0, 1, 4, 250, 251, 252, 253, 254, 255, 1000, 4096, 65544};
    static const size_t fs[] = {16, 24, 64, 256, 1024};
    static uint8_t apdu[65544];
    for (size_t i = 0; i < sizeof apdu; i++)
        apdu[i] = (uint8_t)(i * 13 + 1);
    struct link *l = calloc(1, sizeof *l);
    for (size_t f = 0; f < sizeof fs / sizeof fs[0]; f++)
        for (int cid = 0; cid < 2; cid++) {
            struct isodep_config pc = cfg(fs[f], 256, cid), cc = cfg(256, fs[f], cid);
            link_init(l, pc, cc);
            l->biggest_pcd = l->biggest_picc = 0;
            for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
                size_t rlen;
                exchange(l, apdu, sizes[s], &rlen);
                assert_int_equal(rlen, sizes[s] + 2);
                for (size_t k = 0; k < sizes[s]; k++)
                    assert_int_equal(l->rbuf[k], apdu[sizes[s] - 1 - k]);
                assert_int_equal(l->rbuf[sizes[s]], 0x90);
            }
            /* Frames never exceed FSC (capped by our 256) and FSD. */
            size_t cap = fs[f] < ISODEP_FRAME_MAX ? fs[f] : ISODEP_FRAME_MAX;
            assert_int_equal(l->biggest_pcd, cap);
            assert_int_equal(l->biggest_picc, 256);
        }
    free(l);
}

static void block_counts(void **state)
{
    (void)state;
    /* 1000 bytes at FSC 256 without CID: INF 253 per block (PCB + 2 CRC),
     * 4 I-blocks; the 1002-byte answer comes in 4 I-blocks too, which
     * the PCD acknowledges with 3 R(ACK): 7 frames from the PCD. */
    static uint8_t apdu[1000];
    struct link *l = calloc(1, sizeof *l);
    link_init(l, cfg(256, 256, false), cfg(256, 256, false));
    size_t rlen;
    exchange(l, apdu, sizeof apdu, &rlen);
    assert_int_equal(l->frames, 7);
    assert_int_equal(l->biggest_pcd, 256);
    /* With CID and NAD: 252 in the first block, 253 after (NAD only first). */
    struct isodep_config pc = cfg(256, 256, true), cc = cfg(256, 256, true);
    pc.nad_on = cc.nad_on = true;
    pc.nad = 0x12;
    link_init(l, pc, cc);
    struct isodep_action act;
    isodep_pcd_transceive_begin(&l->pcd, apdu, 1000, l->rbuf, sizeof l->rbuf, &act);
    assert_int_equal(act.block_len, 256 - 2);
    assert_int_equal(act.block[0], 0x1E); /* I, chaining, CID, NAD, block 0 */
    assert_int_equal(act.block[1], 0x05);
    assert_int_equal(act.block[2], 0x12);
    act = drive(l, act);
    assert_int_equal(act.kind, ISODEP_ACT_DONE);
    free(l);
}

/* Helpers for scripted scenarios: the PCD's next block must be `want`. */
static void expect_block(const struct isodep_action *act, const uint8_t *want, size_t n)
{
    assert_int_equal(act->kind, ISODEP_ACT_SEND);
    assert_int_equal(act->block_len, n);
    assert_memory_equal(act->block, want, n);
}

static struct isodep_event blk(const uint8_t *b, size_t n)
{
    return (struct isodep_event){.kind = ISODEP_EV_BLOCK, .data = b, .len = n};
}

static const struct isodep_event TIMEOUT = {.kind = ISODEP_EV_TIMEOUT};
static const struct isodep_event DAMAGED = {.kind = ISODEP_EV_ERROR};

static void pcd_rules(void **state)
{
    (void)state;
    struct isodep_pcd p;
    struct isodep_action act;
    static uint8_t rbuf[600];
    const uint8_t apdu[3] = {0xAA, 0xBB, 0xCC};
    struct isodep_config c = cfg(256, 256, false);

    /* rule 1 and A: I(0); rule 4: timeout -> R(NAK)(0); the answer I(0) ends it. */
    isodep_pcd_init(&p, &c);
    isodep_pcd_transceive_begin(&p, apdu, 3, rbuf, sizeof rbuf, &act);
    const uint8_t i0[4] = {0x02, 0xAA, 0xBB, 0xCC};
    expect_block(&act, i0, 4);
    assert_int_equal(act.wait_ns, FWT);
    isodep_pcd_step(&p, &TIMEOUT, &act);
    const uint8_t nak0[1] = {0xB2};
    expect_block(&act, nak0, 1);
    isodep_pcd_step(&p, &DAMAGED, &act);
    expect_block(&act, nak0, 1);
    const uint8_t resp0[3] = {0x02, 0x90, 0x00};
    struct isodep_event e = blk(resp0, 3);
    isodep_pcd_step(&p, &e, &act);
    assert_int_equal(act.kind, ISODEP_ACT_DONE);
    assert_int_equal(act.apdu_len, 2);
    assert_int_equal(p.bn, 1); /* rule B */

    /* rule 6: R(ACK) with the other block number: our I-block again. */
    isodep_pcd_transceive_begin(&p, apdu, 3, rbuf, sizeof rbuf, &act);
    const uint8_t i1[4] = {0x03, 0xAA, 0xBB, 0xCC};
    expect_block(&act, i1, 4);
    const uint8_t ack0[1] = {0xA2};
    e = blk(ack0, 1);
    isodep_pcd_step(&p, &e, &act);
    expect_block(&act, i1, 4);
    /* An I-block with the wrong block number breaks the rules. */
    const uint8_t resp_wrong[3] = {0x02, 0x90, 0x00};
    e = blk(resp_wrong, 3);
    assert_int_equal(isodep_pcd_step(&p, &e, &act), ISODEP_ERR_PROTOCOL);
    assert_int_equal(p.state, ISODEP_PCD_DEAD);

    /* Retries: after ISODEP_MAX_RETRIES R(NAK) the card is given up. */
    isodep_pcd_init(&p, &c);
    isodep_pcd_transceive_begin(&p, apdu, 3, rbuf, sizeof rbuf, &act);
    for (unsigned k = 0; k < ISODEP_MAX_RETRIES; k++) {
        isodep_pcd_step(&p, &TIMEOUT, &act);
        expect_block(&act, nak0, 1);
    }
    assert_int_equal(isodep_pcd_step(&p, &TIMEOUT, &act), ISODEP_ERR_TIMEOUT);
    isodep_pcd_init(&p, &c);
    isodep_pcd_transceive_begin(&p, apdu, 3, rbuf, sizeof rbuf, &act);
    for (unsigned k = 0; k < ISODEP_MAX_RETRIES; k++)
        isodep_pcd_step(&p, &DAMAGED, &act);
    assert_int_equal(isodep_pcd_step(&p, &DAMAGED, &act), ISODEP_ERR_TRANSMISSION);

    /* rule 2 and 5: the PICC chains; we acknowledge with R(ACK), and a
     * timeout while it chains gets R(ACK) again, not R(NAK). */
    isodep_pcd_init(&p, &c);
    isodep_pcd_transceive_begin(&p, apdu, 3, rbuf, sizeof rbuf, &act);
    const uint8_t part1[3] = {0x12, 0x01, 0x02};
    e = blk(part1, 3);
    isodep_pcd_step(&p, &e, &act);
    const uint8_t ack1[1] = {0xA3};
    expect_block(&act, ack1, 1);
    isodep_pcd_step(&p, &TIMEOUT, &act);
    expect_block(&act, ack1, 1);
    const uint8_t part2[3] = {0x03, 0x90, 0x00};
    e = blk(part2, 3);
    isodep_pcd_step(&p, &e, &act);
    assert_int_equal(act.kind, ISODEP_ACT_DONE);
    const uint8_t whole[4] = {0x01, 0x02, 0x90, 0x00};
    assert_int_equal(act.apdu_len, 4);
    assert_memory_equal(rbuf, whole, 4);

    /* rule 7: we chain (FSC 16: 13 bytes per block), R(ACK) with our
     * number asks for the next part; an I-block meanwhile is a violation. */
    struct isodep_config small = cfg(16, 256, false);
    static uint8_t big[30];
    isodep_pcd_init(&p, &small);
    isodep_pcd_transceive_begin(&p, big, sizeof big, rbuf, sizeof rbuf, &act);
    assert_int_equal(act.block[0], 0x12);
    assert_int_equal(act.block_len, 14);
    e = blk(ack0, 1);
    isodep_pcd_step(&p, &e, &act);
    assert_int_equal(act.block[0], 0x13);
    assert_int_equal(act.block_len, 14);
    e = blk(resp0, 3);
    assert_int_equal(isodep_pcd_step(&p, &e, &act), ISODEP_ERR_PROTOCOL);

    /* A PICC never sends R(NAK), nor S(DESELECT request). */
    isodep_pcd_init(&p, &c);
    isodep_pcd_transceive_begin(&p, apdu, 3, rbuf, sizeof rbuf, &act);
    e = blk(nak0, 1);
    assert_int_equal(isodep_pcd_step(&p, &e, &act), ISODEP_ERR_PROTOCOL);
    isodep_pcd_init(&p, &c);
    isodep_pcd_transceive_begin(&p, apdu, 3, rbuf, sizeof rbuf, &act);
    const uint8_t desel[1] = {0xC2};
    e = blk(desel, 1);
    assert_int_equal(isodep_pcd_step(&p, &e, &act), ISODEP_ERR_PROTOCOL);

    /* A response larger than the caller's buffer. */
    isodep_pcd_init(&p, &c);
    isodep_pcd_transceive_begin(&p, apdu, 3, rbuf, 2, &act);
    const uint8_t three[4] = {0x02, 1, 2, 3};
    e = blk(three, 4);
    assert_int_equal(isodep_pcd_step(&p, &e, &act), ISODEP_ERR_RESPONSE_TOO_LONG);

    /* A block with a CID when none is in use is invalid: R(NAK). */
    isodep_pcd_init(&p, &c);
    isodep_pcd_transceive_begin(&p, apdu, 3, rbuf, sizeof rbuf, &act);
    const uint8_t with_cid[4] = {0x0A, 0x00, 0x90, 0x00};
    e = blk(with_cid, 4);
    isodep_pcd_step(&p, &e, &act);
    expect_block(&act, nak0, 1);

    /* Not idle: no new exchange; dead: nothing at all. */
    assert_int_equal(isodep_pcd_transceive_begin(&p, apdu, 3, rbuf, sizeof rbuf, &act),
                     ISODEP_ERR_STATE);
    struct isodep_config bad = cfg(15, 256, false);
    assert_int_equal(isodep_pcd_init(&p, &bad), ISODEP_ERR_PARAM);
    assert_int_equal(isodep_pcd_step(&p, &TIMEOUT, &act), ISODEP_ERR_STATE);
}

static void wtx_rules(void **state)
{
    (void)state;
    struct isodep_pcd p;
    struct isodep_action act;
    static uint8_t rbuf[64];
    const uint8_t apdu[1] = {0x01};
    struct isodep_config c = cfg(256, 256, false);
    isodep_pcd_init(&p, &c);
    isodep_pcd_transceive_begin(&p, apdu, 1, rbuf, sizeof rbuf, &act);
    /* S(WTX request) WTXM 10: answered F2 0A, the next wait is 10 x FWT. */
    const uint8_t wtx10[2] = {0xF2, 0x0A};
    struct isodep_event e = blk(wtx10, 2);
    isodep_pcd_step(&p, &e, &act);
    expect_block(&act, wtx10, 2);
    assert_int_equal(act.wtxm, 10);
    assert_int_equal(act.wait_ns, 10ull * FWT);
    /* ... for that block only: a timeout then, and R(NAK) waits FWT again. */
    isodep_pcd_step(&p, &TIMEOUT, &act);
    assert_int_equal(act.wait_ns, FWT);
    /* WTXM 63 (RFU, power bits set): 59; FWT x 59 capped at FWT(14). */
    struct isodep_config slow = c;
    slow.fwt_ns = iso14443_fwt_ns(9);
    isodep_pcd_init(&p, &slow);
    isodep_pcd_transceive_begin(&p, apdu, 1, rbuf, sizeof rbuf, &act);
    const uint8_t wtx63[2] = {0xF2, 0xFF};
    e = blk(wtx63, 2);
    isodep_pcd_step(&p, &e, &act);
    const uint8_t answer59[2] = {0xF2, 0x3B};
    expect_block(&act, answer59, 2);
    assert_int_equal(act.wait_ns, iso14443_fwt_ns(14));
    /* A card that asks for time for ever is given up. */
    isodep_pcd_init(&p, &c);
    isodep_pcd_transceive_begin(&p, apdu, 1, rbuf, sizeof rbuf, &act);
    e = blk(wtx10, 2);
    for (unsigned k = 0; k < ISODEP_WTX_MAX; k++) {
        isodep_pcd_step(&p, &e, &act);
        assert_int_equal(act.kind, ISODEP_ACT_SEND);
    }
    assert_int_equal(isodep_pcd_step(&p, &e, &act), ISODEP_ERR_WTX_LIMIT);
}

static void picc_rules(void **state)
{
    (void)state;
    struct isodep_picc c;
    struct isodep_action act;
    static uint8_t cbuf[300];
    struct isodep_config cc = cfg(256, 256, false);
    isodep_picc_init(&c, &cc, cbuf, sizeof cbuf);
    assert_int_equal(c.bn, 1); /* rule C */

    /* rule 12: R(NAK) with the other number -> R(ACK) with ours (presence). */
    const uint8_t nak0[1] = {0xB2}, nak1[1] = {0xB3};
    struct isodep_event e = blk(nak0, 1);
    isodep_picc_step(&c, &e, &act);
    const uint8_t ack1[1] = {0xA3};
    expect_block(&act, ack1, 1);

    /* rule D and 10: I(0) toggles to 0 and is answered by I(0). */
    const uint8_t i0[3] = {0x02, 0x00, 0xB0};
    e = blk(i0, 3);
    isodep_picc_step(&c, &e, &act);
    assert_int_equal(act.kind, ISODEP_ACT_DELIVER_APDU);
    assert_int_equal(act.apdu_len, 2);
    /* Busy: blocks are not answered. */
    isodep_picc_step(&c, &e, &act);
    assert_int_equal(act.kind, ISODEP_ACT_NONE);
    /* rule 9: S(WTX request) instead of the answer; R(NAK)(0) gets it again. */
    assert_int_equal(isodep_picc_request_wtx(&c, 0, &act), ISODEP_ERR_PARAM);
    assert_int_equal(isodep_picc_request_wtx(&c, 60, &act), ISODEP_ERR_PARAM);
    isodep_picc_request_wtx(&c, 4, &act);
    const uint8_t wtx4[2] = {0xF2, 0x04};
    expect_block(&act, wtx4, 2);
    e = blk(nak0, 1);
    isodep_picc_step(&c, &e, &act);
    expect_block(&act, wtx4, 2);
    e = blk(wtx4, 2);
    isodep_picc_step(&c, &e, &act);
    assert_int_equal(act.kind, ISODEP_ACT_NONE);
    assert_int_equal(c.state, ISODEP_PICC_BUSY);
    const uint8_t sw[2] = {0x90, 0x00};
    isodep_picc_respond(&c, sw, 2, &act);
    const uint8_t r0[3] = {0x02, 0x90, 0x00};
    expect_block(&act, r0, 3);
    /* rule 11: R(NAK)(0) = our number: the last block again. */
    e = blk(nak0, 1);
    isodep_picc_step(&c, &e, &act);
    expect_block(&act, r0, 3);
    /* rule 12 again, now with number 1. */
    e = blk(nak1, 1);
    isodep_picc_step(&c, &e, &act);
    const uint8_t ack0[1] = {0xA2};
    expect_block(&act, ack0, 1);
    /* Damaged or invalid blocks are never answered. */
    struct isodep_event d = {.kind = ISODEP_EV_ERROR};
    isodep_picc_step(&c, &d, &act);
    assert_int_equal(act.kind, ISODEP_ACT_NONE);
    const uint8_t junk[2] = {0x22, 0x00};
    e = blk(junk, 2);
    isodep_picc_step(&c, &e, &act);
    assert_int_equal(act.kind, ISODEP_ACT_NONE);
    /* A block for CID 3 when ours is 0: not for us. */
    const uint8_t other_cid[2] = {0xBA, 0x03};
    e = blk(other_cid, 2);
    isodep_picc_step(&c, &e, &act);
    assert_int_equal(act.kind, ISODEP_ACT_NONE);

    /* rules 2, E and 13: a chained answer (FSD 16: 13 bytes per block). */
    struct isodep_config small = cfg(16, 256, false);
    isodep_picc_init(&c, &small, cbuf, sizeof cbuf);
    e = blk(i0, 3);
    isodep_picc_step(&c, &e, &act);
    static uint8_t long_resp[30];
    isodep_picc_respond(&c, long_resp, sizeof long_resp, &act);
    assert_int_equal(act.block[0], 0x12);
    assert_int_equal(act.block_len, 14);
    e = blk(ack1, 1);
    isodep_picc_step(&c, &e, &act);
    assert_int_equal(act.block[0], 0x13);
    e = blk(ack1, 1); /* rule 11: R(ACK) with our number: that block again */
    isodep_picc_step(&c, &e, &act);
    assert_int_equal(act.block[0], 0x13);
    e = blk(ack0, 1);
    isodep_picc_step(&c, &e, &act);
    assert_int_equal(act.block[0], 0x02); /* the last part, no chaining */
    assert_int_equal(act.block_len, 5);

    /* A PCD that asks for the part again with a CID it did not send before
     * (7.1.1.2: the answer carries one): the part shrinks by that byte and
     * still fits its FSD of 16; nothing is lost or repeated. */
    struct isodep_config small_cid = small;
    small_cid.cid_on = true;
    isodep_picc_init(&c, &small_cid, cbuf, sizeof cbuf);
    e = blk(i0, 3);
    isodep_picc_step(&c, &e, &act);
    for (size_t i = 0; i < sizeof long_resp; i++)
        long_resp[i] = (uint8_t)i;
    isodep_picc_respond(&c, long_resp, sizeof long_resp, &act);
    const uint8_t part0[14] = {0x12, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    expect_block(&act, part0, 14);
    const uint8_t nak0_cid[2] = {0xBA, 0x00};
    e = blk(nak0_cid, 2);
    isodep_picc_step(&c, &e, &act);
    const uint8_t part0_cid[14] = {0x1A, 0x00, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
    expect_block(&act, part0_cid, 14);
    const uint8_t ack1_cid[2] = {0xAB, 0x00};
    e = blk(ack1_cid, 2);
    isodep_picc_step(&c, &e, &act);
    const uint8_t part1_cid[14] = {0x1B, 0x00, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23};
    expect_block(&act, part1_cid, 14);
    const uint8_t ack0_cid[2] = {0xAA, 0x00};
    e = blk(ack0_cid, 2);
    isodep_picc_step(&c, &e, &act);
    const uint8_t part2_cid[8] = {0x0A, 0x00, 24, 25, 26, 27, 28, 29};
    expect_block(&act, part2_cid, 8);

    /* A chained command: R(ACK) for each part, overflow is named. */
    static uint8_t tiny[4];
    isodep_picc_init(&c, &cc, tiny, sizeof tiny);
    const uint8_t c1[4] = {0x12, 1, 2, 3}, c2[4] = {0x03, 4, 5, 6};
    e = blk(c1, 4);
    isodep_picc_step(&c, &e, &act);
    expect_block(&act, ack0, 1);
    e = blk(c2, 4);
    assert_int_equal(isodep_picc_step(&c, &e, &act), ISODEP_ERR_COMMAND_TOO_LONG);
    assert_int_equal(c.state, ISODEP_PICC_BUSY);

    /* S(DESELECT): answered, then nothing more. */
    const uint8_t desel[1] = {0xC2};
    e = blk(desel, 1);
    isodep_picc_step(&c, &e, &act);
    assert_int_equal(act.kind, ISODEP_ACT_DESELECTED);
    expect_block(&(struct isodep_action){.kind = ISODEP_ACT_SEND,
                                         .block = act.block,
                                         .block_len = act.block_len},
                 desel, 1);
    e = blk(nak0, 1);
    isodep_picc_step(&c, &e, &act);
    assert_int_equal(act.kind, ISODEP_ACT_NONE);
}

static void presence_and_deselect(void **state)
{
    (void)state;
    struct link *l = calloc(1, sizeof *l);
    link_init(l, cfg(256, 256, true), cfg(256, 256, true));
    struct isodep_action act;
    /* Before any exchange: R(NAK)(0) with CID 5 -> R(ACK)(1). */
    isodep_pcd_presence_begin(&l->pcd, &act);
    const uint8_t nak0[2] = {0xBA, 0x05};
    expect_block(&act, nak0, 2);
    act = drive(l, act);
    assert_int_equal(act.kind, ISODEP_ACT_DONE);
    size_t rlen;
    const uint8_t apdu[2] = {1, 2};
    exchange(l, apdu, 2, &rlen);
    isodep_pcd_presence_begin(&l->pcd, &act);
    const uint8_t nak1[2] = {0xBB, 0x05};
    expect_block(&act, nak1, 2);
    act = drive(l, act);
    assert_int_equal(act.kind, ISODEP_ACT_DONE);
    exchange(l, apdu, 2, &rlen); /* block numbers still in step */
    assert_int_equal(rlen, 4);

    /* Deselect; afterwards the card is silent and presence fails. */
    isodep_pcd_deselect_begin(&l->pcd, &act);
    const uint8_t desel[2] = {0xCA, 0x05};
    expect_block(&act, desel, 2);
    act = drive(l, act);
    assert_int_equal(act.kind, ISODEP_ACT_DESELECTED);
    assert_int_equal(l->picc.state, ISODEP_PICC_HALTED);
    isodep_pcd_presence_begin(&l->pcd, &act);
    act = drive(l, act);
    assert_int_equal(act.kind, ISODEP_ACT_ERROR);
    assert_int_equal(act.err, ISODEP_ERR_TIMEOUT);
    free(l);
}

/* Both roles over a channel losing or damaging 2% of frames each way:
 * every exchange ends with the exact answer or a named error, never with
 * wrong data; after an error both sides start again (a new activation). */
static void lossy_loopback(void **state)
{
    (void)state;
    struct link *l = calloc(1, sizeof *l);
    static uint8_t apdu[1200];
    l->loss = 0.02;
    l->rng = 42;
    l->ask_wtx = true;
    unsigned ok = 0, timeouts = 0, transmission = 0;
    struct isodep_config pc = cfg(64, 256, false), cc = cfg(256, 64, false);
    link_init(l, pc, cc);
    for (int k = 0; k < 3000; k++) {
        size_t n = 1 + rnd(l) % sizeof apdu;
        for (size_t i = 0; i < n; i++)
            apdu[i] = (uint8_t)rnd(l);
        if (n > 1)
            apdu[1] = 0x00; /* not B0: the card echoes */
        struct isodep_action act;
        isodep_pcd_transceive_begin(&l->pcd, apdu, n, l->rbuf, sizeof l->rbuf, &act);
        act = drive(l, act);
        if (act.kind == ISODEP_ACT_DONE) {
            assert_int_equal(act.apdu_len, n + 2);
            for (size_t i = 0; i < n; i++)
                assert_int_equal(l->rbuf[i], apdu[n - 1 - i]);
            ok++;
            continue;
        }
        assert_int_equal(act.kind, ISODEP_ACT_ERROR);
        assert_true(act.err == ISODEP_ERR_TIMEOUT || act.err == ISODEP_ERR_TRANSMISSION);
        if (act.err == ISODEP_ERR_TIMEOUT)
            timeouts++;
        else
            transmission++;
        link_init(l, pc, cc);
    }
    print_message("lossy loopback: %u exact, %u timeout, %u transmission, %u S(WTX)\n", ok,
                  timeouts, transmission, l->wtx_asked);
    assert_true(ok > 2900);
    assert_true(l->wtx_asked > 100);
    free(l);
}

/* One exchange over a link whose frames numbered f[0..n) (both ways, from
 * 1) are lost or damaged: its outcome, the response checked exact when it
 * is DONE. */
static struct isodep_action scripted(struct link *l, struct isodep_config pc,
                                     struct isodep_config cc, const uint8_t *apdu, size_t n,
                                     const unsigned *f, size_t nf, int kind)
{
    link_init(l, pc, cc);
    memset(l->fault_at, 0, sizeof l->fault_at);
    for (size_t i = 0; i < nf; i++)
        l->fault_at[i] = f[i];
    l->fault_kind = kind;
    l->hop = 0;
    l->delivered = 0;
    l->rng = 7;
    struct isodep_action act;
    isodep_pcd_transceive_begin(&l->pcd, apdu, n, l->rbuf, sizeof l->rbuf, &act);
    act = drive(l, act);
    if (act.kind == ISODEP_ACT_DONE) {
        assert_int_equal(act.apdu_len, n + 2);
        for (size_t i = 0; i < n; i++)
            assert_int_equal(l->rbuf[i], apdu[n - 1 - i]);
        assert_int_equal(l->rbuf[n], 0x90);
    }
    return act;
}

/* 7.5.6 as a class: for exchanges that chain both ways or not, with and
 * without CID, with and without S(WTX), every frame of the exchange lost or
 * damaged, alone and with the next one too: the exchange still ends exact,
 * the card executed the command exactly once (the block numbers told a
 * repeated I-block from a new one), and the next exchange works. Four
 * faults in a row may exhaust the retries: then a named error, never a
 * wrong answer, never the command run twice. */
static void every_frame_every_fault(void **state)
{
    (void)state;
    static uint8_t apdu[600];
    for (size_t i = 0; i < sizeof apdu; i++)
        apdu[i] = (uint8_t)(i * 11 + 3);
    apdu[1] = 0x00; /* not B0: the card echoes */
    static const struct {
        size_t n, fs;
        bool cid, wtx;
    } sc[] = {{5, 256, false, false},  {5, 256, true, true},    {600, 64, false, false},
              {600, 64, true, true},   {250, 256, false, true}, {253, 256, false, false},
              {600, 256, true, false}, {40, 16, false, true}};
    struct link *l = calloc(1, sizeof *l);
    unsigned runs = 0, exhausted = 0;
    for (size_t s = 0; s < sizeof sc / sizeof sc[0]; s++) {
        struct isodep_config pc = cfg(sc[s].fs, sc[s].fs, sc[s].cid),
                             cc = cfg(sc[s].fs, sc[s].fs, sc[s].cid);
        l->ask_wtx = sc[s].wtx;
        struct isodep_action act = scripted(l, pc, cc, apdu, sc[s].n, NULL, 0, 0);
        assert_int_equal(act.kind, ISODEP_ACT_DONE);
        unsigned hops = l->hop;
        for (int kind = 1; kind <= 2; kind++)
            for (unsigned burst = 1; burst <= 4; burst++)
                for (unsigned k = 1; k <= hops + 1; k++) {
                    unsigned f[4];
                    for (unsigned b = 0; b < burst; b++)
                        f[b] = k + b;
                    act = scripted(l, pc, cc, apdu, sc[s].n, f, burst, kind);
                    runs++;
                    if (burst <= 2 && act.kind != ISODEP_ACT_DONE)
                        fail_msg("n %zu FS %zu: %s at frames %u..%u: %s", sc[s].n, sc[s].fs,
                                 kind == 1 ? "lost" : "damaged", k, k + burst - 1,
                                 isodep_err_str(act.err));
                    assert_true(l->delivered <= 1);
                    if (act.kind != ISODEP_ACT_DONE) {
                        assert_int_equal(act.kind, ISODEP_ACT_ERROR);
                        assert_true(act.err == ISODEP_ERR_TIMEOUT ||
                                    act.err == ISODEP_ERR_TRANSMISSION);
                        exhausted++;
                        continue;
                    }
                    if (l->delivered != 1)
                        fail_msg("n %zu FS %zu: %s at frames %u..%u: the card ran it %u times",
                                 sc[s].n, sc[s].fs, kind == 1 ? "lost" : "damaged", k,
                                 k + burst - 1, l->delivered);
                    /* both sides still in step */
                    memset(l->fault_at, 0, sizeof l->fault_at);
                    l->delivered = 0;
                    size_t rlen;
                    exchange(l, apdu, 7, &rlen);
                    assert_int_equal(rlen, 9);
                    assert_int_equal(l->delivered, 1);
                }
    }
    print_message("every frame, every fault: %u scripted exchanges, %u ran out of retries\n", runs,
                  exhausted);
    assert_true(exhausted > 0);
    free(l);
}

/* One exchange streamed: the command handed over in parts of at most
 * part_max bytes, the response taken in windows of `window` bytes into out. */
static struct isodep_action stream_exchange(struct link *l, const uint8_t *apdu, size_t n,
                                            size_t part_max, size_t window, uint8_t *out,
                                            size_t *rlen)
{
    struct isodep_action act;
    size_t off = n < part_max ? n : part_max;
    unsigned windows = 0;
    *rlen = 0;
    isodep_pcd_stream_begin(&l->pcd, apdu, off, off < n, l->rbuf, window, &act);
    for (int guard = 0; guard < 100000; guard++) {
        act = drive(l, act);
        if (act.kind == ISODEP_ACT_NEED_DATA) {
            size_t k = n - off < part_max ? n - off : part_max;
            assert_int_equal(isodep_pcd_stream_more(&l->pcd, apdu + off, k, off + k < n, &act),
                             ISODEP_OK);
            off += k;
            continue;
        }
        if (act.kind != ISODEP_ACT_WINDOW && act.kind != ISODEP_ACT_DONE)
            return act;
        /* every window but the last is more than full but for one frame */
        assert_true(act.apdu_len <= window);
        if (act.kind == ISODEP_ACT_WINDOW)
            assert_true(act.apdu_len + l->pcd.cfg.fsd > window);
        memcpy(out + *rlen, l->rbuf, act.apdu_len);
        *rlen += act.apdu_len;
        if (act.kind == ISODEP_ACT_DONE) {
            assert_int_equal(off, n); /* the whole command went out first */
            return act;
        }
        windows++;
        assert_int_equal(isodep_pcd_window_next(&l->pcd, &act), ISODEP_OK);
    }
    fail_msg("streamed exchange without end");
    return act;
}

/* The streamed exchange gives the same bytes as the whole one, whatever
 * the parts and windows, on a clean channel and on a lossy one. */
static void loopback_streamed(void **state)
{
    (void)state;
    static const size_t sizes[] = {0, 1, 4, 252, 253, 254, 1000, 4096, 65544};
    static const struct {
        size_t part_max, window;
    } shapes[] = {{1, 256}, {3, 300}, {253, 256}, {254, 511}, {2038, 2038}, {70000, 4096}};
    static uint8_t apdu[65544], out[70000];
    for (size_t i = 0; i < sizeof apdu; i++)
        apdu[i] = (uint8_t)(i * 13 + 1);
    struct link *l = calloc(1, sizeof *l);
    for (size_t h = 0; h < sizeof shapes / sizeof shapes[0]; h++)
        for (int cid = 0; cid < 2; cid++) {
            struct isodep_config pc = cfg(cid ? 64 : 256, 256, cid),
                                 cc = cfg(256, cid ? 64 : 256, cid);
            pc.nad_on = cc.nad_on = cid;
            link_init(l, pc, cc);
            for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
                size_t n = sizes[s], rlen;
                if (shapes[h].part_max < 16 && n > 4096)
                    continue; /* byte by byte: 64 KiB adds nothing but time */
                struct isodep_action act =
                    stream_exchange(l, apdu, n, shapes[h].part_max, shapes[h].window, out, &rlen);
                assert_int_equal(act.kind, ISODEP_ACT_DONE);
                assert_int_equal(rlen, n + 2);
                for (size_t k = 0; k < n; k++)
                    assert_int_equal(out[k], apdu[n - 1 - k]);
                assert_int_equal(out[n], 0x90);
            }
        }
    /* the 64 KiB READ BINARY answer in 2 KiB windows */
    link_init(l, cfg(256, 256, false), cfg(256, 256, false));
    static const uint8_t read64k[] = {0x00, 0xB0, 0xFF, 0xFF};
    size_t rlen;
    struct isodep_action act = stream_exchange(l, read64k, 4, 2038, 2038, out, &rlen);
    assert_int_equal(act.kind, ISODEP_ACT_DONE);
    assert_int_equal(rlen, 0xFFFF + 2);
    for (size_t i = 0; i < 0xFFFF; i++)
        assert_int_equal(out[i], (uint8_t)(i * 7));
    /* lossy: exact answers or named errors, never wrong bytes */
    l->loss = 0.02;
    l->rng = 7;
    unsigned ok = 0, errors = 0;
    struct isodep_config pc = cfg(64, 256, false), cc = cfg(256, 64, false);
    link_init(l, pc, cc);
    for (int k = 0; k < 600; k++) {
        size_t n = 1 + rnd(l) % 3000;
        for (size_t i = 0; i < n; i++)
            apdu[i] = (uint8_t)rnd(l);
        if (n > 1)
            apdu[1] = 0x00;
        act = stream_exchange(l, apdu, n, 1 + rnd(l) % 600, 256 + rnd(l) % 600, out, &rlen);
        if (act.kind == ISODEP_ACT_DONE) {
            assert_int_equal(rlen, n + 2);
            for (size_t i = 0; i < n; i++)
                assert_int_equal(out[i], apdu[n - 1 - i]);
            ok++;
            continue;
        }
        assert_int_equal(act.kind, ISODEP_ACT_ERROR);
        assert_true(act.err == ISODEP_ERR_TIMEOUT || act.err == ISODEP_ERR_TRANSMISSION);
        errors++;
        link_init(l, pc, cc);
    }
    print_message("streamed lossy loopback: %u exact, %u named errors\n", ok, errors);
    assert_true(ok > 550);
    free(l);
}

/* Streaming's own rules: a window smaller than FSD is refused, the next
 * part only when asked for, the window only when given, no event between. */
static void stream_misuse(void **state)
{
    (void)state;
    struct isodep_pcd p;
    struct isodep_action a;
    static uint8_t win[256];
    static const uint8_t apdu[] = {0x00, 0xA4, 0x04, 0x0C};
    assert_int_equal(
        isodep_pcd_init(&p, &(struct isodep_config){.fsc = 256, .fsd = 256, .fwt_ns = 1000000}),
        ISODEP_OK);
    assert_int_equal(isodep_pcd_stream_begin(&p, apdu, 4, false, win, 255, &a), ISODEP_ERR_PARAM);
    assert_int_equal(a.kind, ISODEP_ACT_ERROR);
    assert_int_equal(isodep_pcd_stream_more(&p, apdu, 4, false, &a), ISODEP_ERR_STATE);
    assert_int_equal(isodep_pcd_window_next(&p, &a), ISODEP_ERR_STATE);
    /* An empty first part, more to come: nothing leaves before the next part. */
    assert_int_equal(isodep_pcd_stream_begin(&p, apdu, 0, true, win, sizeof win, &a), ISODEP_OK);
    assert_int_equal(a.kind, ISODEP_ACT_NEED_DATA);
    assert_int_equal(isodep_pcd_step(&p, &TIMEOUT, &a), ISODEP_ERR_STATE);
    assert_int_equal(isodep_pcd_window_next(&p, &a), ISODEP_ERR_STATE);
    assert_int_equal(isodep_pcd_stream_more(&p, apdu, 4, false, &a), ISODEP_OK);
    static const uint8_t want[] = {0x02, 0x00, 0xA4, 0x04, 0x0C};
    expect_block(&a, want, sizeof want);
    /* A card chaining into a full window: WINDOW, and the R(ACK) only after it. */
    static const uint8_t chained[256] = {0x12};
    struct isodep_event ev = blk(chained, 254);
    assert_int_equal(isodep_pcd_step(&p, &ev, &a), ISODEP_OK);
    assert_int_equal(a.kind, ISODEP_ACT_WINDOW);
    assert_int_equal(a.apdu_len, 253);
    assert_int_equal(isodep_pcd_step(&p, &TIMEOUT, &a), ISODEP_ERR_STATE);
    assert_int_equal(isodep_pcd_window_next(&p, &a), ISODEP_OK);
    static const uint8_t ack[] = {0xA3};
    expect_block(&a, ack, sizeof ack);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pcb_values),        cmocka_unit_test(decode_strict),
        cmocka_unit_test(loopback_sizes),    cmocka_unit_test(block_counts),
        cmocka_unit_test(pcd_rules),         cmocka_unit_test(wtx_rules),
        cmocka_unit_test(picc_rules),        cmocka_unit_test(presence_and_deselect),
        cmocka_unit_test(lossy_loopback),    cmocka_unit_test(every_frame_every_fault),
        cmocka_unit_test(loopback_streamed), cmocka_unit_test(stream_misuse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

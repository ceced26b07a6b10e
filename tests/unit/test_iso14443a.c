/*
 * Type A activation, both roles of hawiya/iso14443a.h, through a little
 * "air" of this test's own: the PCD's frame goes to every card in the
 * field, their answers are superposed bit by bit and the first bit where
 * they differ is reported as a collision, as a real front end does.
 * Expected frames are written out byte for byte from 14443-3 clause 6 and
 * 14443-4 clause 5 (WUPA 52, SEL 93 20, SELECT 93 70 + CLn + BCC + CRC_A,
 * RATS E0 80 31 73, PPS D0 11 0F); ATS examples: the DESFire EV1 ATS
 * 06 75 77 81 02 80 that reader logs show, and our Moroccan persona's.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "hawiya/iso14443a.h"
#include "rate_table.h"

/* TL 0A, T0 78 (TA TB TC, FSCI 8), TA 77, TB 71 (FWI 7, SFGI 1), TC 02, then 80 73 84 21 C0. */
static const uint8_t ma_ats[] = {0x0A, 0x78, 0x77, 0x71, 0x02, 0x80, 0x73, 0x84, 0x21, 0xC0};

struct air {
    struct iso14443a_picc *cards[3];
    size_t n;
    uint8_t frame[300];
    uint8_t rx[300];
    /* what the PCD sent last, with CRC */
    uint8_t sent[300];
    size_t sent_bits;
};

/* One frame through the air: returns the PCD's view of the answers. */
static struct iso14443_rx air_xfer(struct air *a, const struct iso14443_act *act)
{
    struct iso14443_rx rx = {.kind = ISO14443_RX_TIMEOUT};
    size_t bits = act->tx.bits;
    memcpy(a->sent, act->tx.data, (bits + 7) / 8);
    if (act->tx.crc) {
        assert_int_equal(bits % 8, 0);
        iso14443_crc_append(ISO14443_A, a->sent, bits / 8);
        bits += 16;
    }
    a->sent_bits = bits;
    struct iso14443a_picc_out outs[3];
    size_t answers = 0, first = 0;
    for (size_t i = 0; i < a->n; i++) {
        iso14443a_picc_frame(a->cards[i], a->sent, bits, &outs[i]);
        if (outs[i].kind == ISO14443A_PICC_ANSWER) {
            assert_int_equal(outs[i].align, act->tx.rx_align);
            if (answers++ == 0)
                first = i;
        }
    }
    if (answers == 0)
        return rx;
    const struct iso14443a_picc_out *o = &outs[first];
    size_t nbytes = (o->align + o->bits + 7) / 8;
    memcpy(a->rx, o->data, nbytes);
    rx.kind = ISO14443_RX_FRAME;
    rx.data = a->rx;
    rx.bits = o->bits;
    /* Superposition: a bit is seen as 1 if any card sends 1; the first bit
     * where the cards disagree is the collision. */
    uint8_t all[300];
    memcpy(all, a->rx, nbytes);
    for (size_t i = first + 1; i < a->n; i++) {
        if (outs[i].kind != ISO14443A_PICC_ANSWER)
            continue;
        assert_int_equal(outs[i].bits, o->bits);
        for (size_t k = 0; k < nbytes; k++) {
            a->rx[k] |= outs[i].data[k];
            all[k] &= outs[i].data[k];
        }
    }
    for (size_t b = o->align; b < o->align + o->bits; b++)
        if ((a->rx[b / 8] ^ all[b / 8]) >> (b % 8) & 1u) {
            rx.kind = ISO14443_RX_COLLISION;
            rx.coll_bit = (uint16_t)b;
            break;
        }
    if (rx.kind == ISO14443_RX_FRAME && act->tx.crc) {
        if (!iso14443_crc_ok(ISO14443_A, a->rx, o->bits / 8)) {
            rx.kind = ISO14443_RX_ERROR;
            return rx;
        }
        rx.bits -= 16;
    }
    return rx;
}

static void picc(struct iso14443a_picc *c, const uint8_t *uid, size_t n, uint8_t sak,
                 const uint8_t *ats, size_t ats_len)
{
    struct iso14443a_picc_config cfg = {.uid_len = n, .sak = sak, .ats = ats, .ats_len = ats_len};
    cfg.atqa[0] = (uint8_t)((n == 4 ? 0x00 : n == 7 ? 0x40 : 0x80) | 0x04);
    memcpy(cfg.uid, uid, n);
    assert_int_equal(iso14443a_picc_init(c, &cfg), ISO14443_OK);
    iso14443a_picc_field(c, true);
}

static const struct iso14443a_pcd_config PCD = {
    .wakeup = true, .iso_dep = true, .fsdi = 8, .cid = 0, .max_rate = ISO14443_848};

/* Runs the PCD to its end; returns the final action. */
static struct iso14443_act run(struct air *a, struct iso14443a_pcd *p,
                               const struct iso14443a_pcd_config *cfg, unsigned *frames)
{
    struct iso14443_act act;
    iso14443a_pcd_begin(p, cfg, &act);
    unsigned k = 0;
    while (act.kind == ISO14443_ACT_SEND && k < 200) {
        struct iso14443_rx rx = air_xfer(a, &act);
        iso14443a_pcd_step(p, &rx, &act);
        k++;
    }
    if (frames)
        *frames = k;
    return act;
}

static void single_uid_frames(void **state)
{
    (void)state;
    static const uint8_t uid[4] = {0x08, 0x12, 0x34, 0x56};
    struct iso14443a_picc c;
    picc(&c, uid, 4, 0x20, ma_ats, sizeof ma_ats);
    struct air a = {.cards = {&c}, .n = 1};
    struct iso14443a_pcd p;
    struct iso14443_act act;
    struct iso14443_rx rx;

    assert_int_equal(iso14443a_pcd_begin(&p, &PCD, &act), ISO14443_OK);
    assert_int_equal(act.tx.bits, 7);
    assert_int_equal(act.tx.data[0], 0x52); /* WUPA */
    rx = air_xfer(&a, &act);
    assert_int_equal(rx.kind, ISO14443_RX_FRAME);
    assert_int_equal(rx.bits, 16);
    assert_int_equal(rx.data[0], 0x04);

    iso14443a_pcd_step(&p, &rx, &act);
    const uint8_t anticol[2] = {0x93, 0x20};
    assert_int_equal(act.tx.bits, 16);
    assert_memory_equal(act.tx.data, anticol, 2);
    rx = air_xfer(&a, &act);
    const uint8_t cl1[5] = {0x08, 0x12, 0x34, 0x56, 0x08 ^ 0x12 ^ 0x34 ^ 0x56};
    assert_int_equal(rx.bits, 40);
    assert_memory_equal(rx.data, cl1, 5);

    iso14443a_pcd_step(&p, &rx, &act);
    assert_int_equal(act.tx.bits, 56);
    assert_true(act.tx.crc);
    rx = air_xfer(&a, &act);
    const uint8_t select[9] = {0x93, 0x70, 0x08, 0x12, 0x34, 0x56, 0x08 ^ 0x12 ^ 0x34 ^ 0x56};
    assert_memory_equal(a.sent, select, 7);
    assert_true(iso14443_crc_ok(ISO14443_A, a.sent, 9));
    assert_int_equal(rx.bits, 8);
    assert_int_equal(rx.data[0], 0x20);

    iso14443a_pcd_step(&p, &rx, &act);
    const uint8_t rats[4] = {0xE0, 0x80, 0x31, 0x73};
    rx = air_xfer(&a, &act);
    assert_int_equal(a.sent_bits, 32);
    assert_memory_equal(a.sent, rats, 4);
    assert_int_equal(rx.bits, 8 * sizeof ma_ats);
    assert_memory_equal(rx.data, ma_ats, sizeof ma_ats);

    /* TA 77: 848 kbit/s both ways; TB SFGI 1: SFGT before the PPS. */
    iso14443a_pcd_step(&p, &rx, &act);
    assert_int_equal(act.tx.guard_ns, iso14443_sfgt_ns(1));
    assert_int_equal(act.tx_rate, ISO14443_106);
    const uint8_t pps[3] = {0xD0, 0x11, 0x0F};
    assert_int_equal(act.tx.bits, 24);
    assert_memory_equal(act.tx.data, pps, 3);
    assert_int_equal(act.tx.timeout_ns, iso14443_fwt_ns(7));
    rx = air_xfer(&a, &act);
    assert_int_equal(rx.bits, 8);
    assert_int_equal(rx.data[0], 0xD0);
    iso14443a_pcd_step(&p, &rx, &act);
    assert_int_equal(act.kind, ISO14443_ACT_DONE);
    assert_int_equal(act.tx_rate, ISO14443_848);
    assert_int_equal(act.rx_rate, ISO14443_848);
    assert_int_equal(p.uid_len, 4);
    assert_memory_equal(p.uid, uid, 4);
    assert_int_equal(p.sak, 0x20);
    assert_int_equal(p.ats.fsci, 8);
    assert_int_equal(p.ats.fwi, 7);
    assert_int_equal(p.ats.hist_len, 5);
    assert_memory_equal(p.ats.raw + p.ats.hist_off, ma_ats + 5, 5);
    assert_int_equal(c.state, ISO14443A_PICC_PROTOCOL);
}

static void cascade_levels(void **state)
{
    (void)state;
    static const uint8_t uid7[7] = {0x04, 0x9C, 0x49, 0x6A, 0x2F, 0x58, 0x80};
    static const uint8_t uid10[10] = {0x04, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09};
    const uint8_t *uids[2] = {uid7, uid10};
    size_t lens[2] = {7, 10};
    for (int t = 0; t < 2; t++) {
        struct iso14443a_picc c;
        picc(&c, uids[t], lens[t], 0x20, ma_ats, sizeof ma_ats);
        struct air a = {.cards = {&c}, .n = 1};
        struct iso14443a_pcd p;
        struct iso14443a_pcd_config cfg = PCD;
        cfg.max_rate = ISO14443_106; /* no PPS */
        unsigned frames;
        struct iso14443_act act = run(&a, &p, &cfg, &frames);
        assert_int_equal(act.kind, ISO14443_ACT_DONE);
        assert_int_equal(p.uid_len, lens[t]);
        assert_memory_equal(p.uid, uids[t], lens[t]);
        /* WUPA, then anticollision + SELECT per level, then RATS */
        assert_int_equal(frames, 1 + 2 * (lens[t] == 7 ? 2 : 3) + 1);
        assert_int_equal(act.tx_rate, ISO14443_106);
        /* SFGT is still due before the first block */
        assert_int_equal(act.tx.guard_ns, iso14443_sfgt_ns(1));
    }
    /* CL1 of a double size UID starts with the cascade tag 88. */
    uint8_t cln[5];
    assert_true(iso14443a_uid_cln(uid7, 7, 1, cln));
    const uint8_t want1[5] = {0x88, 0x04, 0x9C, 0x49, 0x88 ^ 0x04 ^ 0x9C ^ 0x49};
    assert_memory_equal(cln, want1, 5);
    assert_true(iso14443a_uid_cln(uid7, 7, 2, cln));
    const uint8_t want2[5] = {0x6A, 0x2F, 0x58, 0x80, 0x6A ^ 0x2F ^ 0x58 ^ 0x80};
    assert_memory_equal(cln, want2, 5);
    assert_false(iso14443a_uid_cln(uid7, 7, 3, cln));
    assert_false(iso14443a_uid_cln(uid7, 5, 1, cln));
}

/* Two cards in the field: the anticollision loop picks one (the bit 1 at
 * the first collision), HLTA puts it aside, the next REQA finds the other. */
static void two_cards_collide(void **state)
{
    (void)state;
    static const uint8_t u1[4] = {0x08, 0x12, 0x34, 0x56}; /* differs from u2 at bit 9 */
    static const uint8_t u2[4] = {0x08, 0x10, 0x34, 0x56};
    struct iso14443a_picc c1, c2;
    picc(&c1, u1, 4, 0x20, ma_ats, sizeof ma_ats);
    picc(&c2, u2, 4, 0x20, ma_ats, sizeof ma_ats);
    struct air a = {.cards = {&c1, &c2}, .n = 2};
    struct iso14443a_pcd p;
    struct iso14443a_pcd_config cfg = PCD;
    cfg.iso_dep = false;
    cfg.wakeup = false;
    struct iso14443_act act;
    iso14443a_pcd_begin(&p, &cfg, &act);
    struct iso14443_rx rx = air_xfer(&a, &act); /* same ATQA: no collision */
    assert_int_equal(rx.kind, ISO14443_RX_FRAME);
    iso14443a_pcd_step(&p, &rx, &act);
    rx = air_xfer(&a, &act);
    assert_int_equal(rx.kind, ISO14443_RX_COLLISION);
    assert_int_equal(rx.coll_bit, 9);
    iso14443a_pcd_step(&p, &rx, &act);
    /* NVB 32: 3 whole bytes (SEL, NVB, 08) and 2 more bits (bit 9 = 1, bit 8 = 0) */
    const uint8_t again[4] = {0x93, 0x32, 0x08, 0x02};
    assert_int_equal(act.tx.bits, 26);
    assert_int_equal(act.tx.rx_align, 2);
    assert_memory_equal(act.tx.data, again, 4);
    rx = air_xfer(&a, &act);
    assert_int_equal(rx.kind, ISO14443_RX_FRAME);
    assert_int_equal(rx.bits, 30);
    while (act.kind == ISO14443_ACT_SEND) {
        iso14443a_pcd_step(&p, &rx, &act);
        if (act.kind == ISO14443_ACT_SEND)
            rx = air_xfer(&a, &act);
    }
    assert_int_equal(act.kind, ISO14443_ACT_DONE);
    assert_memory_equal(p.uid, u1, 4);
    assert_int_equal(c1.state, ISO14443A_PICC_ACTIVE);
    assert_int_equal(c2.state, ISO14443A_PICC_IDLE); /* another UID was selected */

    iso14443a_pcd_hlta(&p, &act);
    const uint8_t hlta[4] = {0x50, 0x00, 0x57, 0xCD};
    rx = air_xfer(&a, &act);
    assert_memory_equal(a.sent, hlta, 4);
    assert_int_equal(rx.kind, ISO14443_RX_TIMEOUT);
    assert_int_equal(c1.state, ISO14443A_PICC_HALT);

    /* REQA wakes only the card still IDLE. */
    act = run(&a, &p, &cfg, NULL);
    assert_int_equal(act.kind, ISO14443_ACT_DONE);
    assert_memory_equal(p.uid, u2, 4);
    /* WUPA wakes the halted one too: they collide again and c1 wins. */
    iso14443a_picc_field(&c2, true);
    cfg.wakeup = true;
    act = run(&a, &p, &cfg, NULL);
    assert_int_equal(act.kind, ISO14443_ACT_DONE);
    assert_memory_equal(p.uid, u1, 4);
}

static void three_cards_seven_byte(void **state)
{
    (void)state;
    static const uint8_t u[3][7] = {{0x04, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66},
                                    {0x04, 0x11, 0x22, 0x33, 0x44, 0x55, 0x67},
                                    {0x04, 0x11, 0x22, 0xB3, 0x44, 0x55, 0x66}};
    struct iso14443a_picc c[3];
    for (int i = 0; i < 3; i++)
        picc(&c[i], u[i], 7, 0x20, ma_ats, sizeof ma_ats);
    struct air a = {.cards = {&c[0], &c[1], &c[2]}, .n = 3};
    struct iso14443a_pcd p;
    struct iso14443a_pcd_config cfg = PCD;
    cfg.iso_dep = false;
    bool seen[3] = {false};
    for (int round = 0; round < 3; round++) {
        struct iso14443_act act = run(&a, &p, &cfg, NULL);
        cfg.wakeup = false; /* REQA from now on: halted cards stay quiet */
        assert_int_equal(act.kind, ISO14443_ACT_DONE);
        assert_int_equal(p.uid_len, 7);
        int who = -1;
        for (int i = 0; i < 3; i++)
            if (!memcmp(p.uid, u[i], 7))
                who = i;
        assert_true(who >= 0 && !seen[who]);
        seen[who] = true;
        iso14443a_pcd_hlta(&p, &act);
        air_xfer(&a, &act);
    }
    struct iso14443_act act = run(&a, &p, &cfg, NULL);
    assert_int_equal(act.kind, ISO14443_ACT_NO_CARD);
}

/* Bit i of a UID as the anticollision loop sees it: UID CL1, CL2, CL3 in
 * turn, 32 bits each, least significant bit of each byte first. */
static int uid_bit(const uint8_t *uid, size_t len, unsigned i)
{
    uint8_t cln[5];
    if (!iso14443a_uid_cln(uid, len, i / 32 + 1, cln))
        return -1;
    return cln[i % 32 / 8] >> (i % 8) & 1;
}

/* 14443-3 6.5.3 as a class: two cards of every pair of UID sizes (4, 7 and
 * 10 bytes, hence different ATQAs too), alike but for one bit, for every bit
 * of the shorter UID, in the field together. Each round selects one whole
 * UID: first the one with a 1 where they first differ (the bit the PCD takes
 * as 1 after the collision), HLTA puts it aside, the next REQA gets the other
 * one, then nobody answers. */
static void anticollision_every_bit(void **state)
{
    (void)state;
    static const size_t sizes[3] = {4, 7, 10};
    static const uint8_t base[10] = {0x08, 0x5A, 0x91, 0xC3, 0x2F, 0x58, 0x80, 0x17, 0x6B, 0xE4};
    unsigned pairs = 0;
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++) {
            size_t la = sizes[a], lb = sizes[b], shortest = la < lb ? la : lb;
            for (unsigned k = 0; k < 8 * shortest; k++) {
                uint8_t ua[10], ub[10];
                memcpy(ua, base, la);
                memcpy(ub, base, lb);
                ub[k / 8] ^= (uint8_t)(1u << (k % 8));
                /* 88 is the cascade tag, never uid0 of a single size UID nor
                 * uid3 of a double size one (6.5.4) */
                if ((lb == 4 && ub[0] == ISO14443A_CT) || (lb == 7 && ub[3] == ISO14443A_CT))
                    continue;
                if (la == lb && !memcmp(ua, ub, la))
                    continue;
                struct iso14443a_picc ca, cb;
                picc(&ca, ua, la, 0x20, ma_ats, sizeof ma_ats);
                picc(&cb, ub, lb, 0x20, ma_ats, sizeof ma_ats);
                struct air air = {.cards = {&ca, &cb}, .n = 2};
                /* where the two first differ as the PCD reads them */
                int first = -1;
                for (unsigned i = 0; i < 96 && first < 0; i++) {
                    int x = uid_bit(ua, la, i), y = uid_bit(ub, lb, i);
                    if (x < 0 || y < 0)
                        break;
                    if (x != y)
                        first = (int)i;
                }
                assert_true(first >= 0);
                const uint8_t *winner = uid_bit(ua, la, (unsigned)first) ? ua : ub;
                size_t wlen = winner == ua ? la : lb;
                const uint8_t *loser = winner == ua ? ub : ua;
                size_t llen = winner == ua ? lb : la;

                struct iso14443a_pcd p;
                struct iso14443a_pcd_config cfg = PCD;
                cfg.iso_dep = false;
                cfg.wakeup = false;
                struct iso14443_act act = run(&air, &p, &cfg, NULL);
                if (act.kind != ISO14443_ACT_DONE)
                    fail_msg("sizes %zu/%zu, bit %u: %s", la, lb, k,
                             act.kind == ISO14443_ACT_ERROR ? iso14443_err_str(act.err)
                                                            : "no card");
                if (p.uid_len != wlen || memcmp(p.uid, winner, wlen))
                    fail_msg("sizes %zu/%zu, bit %u: the wrong card or a mixed UID selected", la,
                             lb, k);
                iso14443a_pcd_hlta(&p, &act);
                air_xfer(&air, &act);
                act = run(&air, &p, &cfg, NULL);
                if (act.kind != ISO14443_ACT_DONE)
                    fail_msg("sizes %zu/%zu, bit %u, the second card: %s", la, lb, k,
                             act.kind == ISO14443_ACT_ERROR ? iso14443_err_str(act.err)
                                                            : "no card");
                assert_int_equal(p.uid_len, llen);
                assert_memory_equal(p.uid, loser, llen);
                iso14443a_pcd_hlta(&p, &act);
                air_xfer(&air, &act);
                act = run(&air, &p, &cfg, NULL);
                assert_int_equal(act.kind, ISO14443_ACT_NO_CARD);
                pairs++;
            }
        }
    print_message("anticollision: %u pairs of cards, each selected in turn\n", pairs);
    assert_int_equal(pairs, 405); /* 408 bits, 3 whose flip would make a forbidden 88 */
}

/* The divisor the PCD should pick, from the bit table of 14443-4 5.2.4
 * written out again: b7 b6 b5 = DS 8, 4, 2; b3 b2 b1 = DR 8, 4, 2; b8: the
 * same D both ways; b4 = 1 (RFU): 106 kbit/s only. Highest allowed <= max. */
static void expected_rates(uint8_t ta, unsigned max, unsigned *dsi, unsigned *dri)
{
    bool ds[4] = {true, (ta & 0x10) != 0, (ta & 0x20) != 0, (ta & 0x40) != 0};
    bool dr[4] = {true, (ta & 0x01) != 0, (ta & 0x02) != 0, (ta & 0x04) != 0};
    *dsi = *dri = 0;
    if (ta & 0x08)
        return;
    for (unsigned r = 0; r <= max; r++) {
        bool s = ds[r], d = dr[r];
        if (ta & 0x80)
            s = d = ds[r] && dr[r];
        if (s)
            *dsi = r;
        if (d)
            *dri = r;
    }
}

/* 14443-4 5.6 as a class: for every TA(1) byte and every highest rate the
 * reader allows, the PPS request carries exactly the divisors the table
 * gives (none at all when both stay at 106 kbit/s), the card echoes PPSS and
 * takes them from the next frame on, and the PCD uses them both ways. */
static void pps_every_ta(void **state)
{
    (void)state;
    static const uint8_t uid[4] = {0x08, 0x12, 0x34, 0x56};
    unsigned with_pps = 0;
    for (unsigned ta = 0; ta < 256; ta++)
        for (unsigned max = ISO14443_106; max <= ISO14443_848; max++) {
            uint8_t ats[7] = {0x07, 0x78, (uint8_t)ta, 0x71, 0x02, 0x80, 0x00};
            struct iso14443a_picc c;
            picc(&c, uid, 4, 0x20, ats, sizeof ats);
            struct air a = {.cards = {&c}, .n = 1};
            struct iso14443a_pcd p;
            struct iso14443a_pcd_config cfg = PCD;
            cfg.max_rate = max;
            struct iso14443_act act;
            iso14443a_pcd_begin(&p, &cfg, &act);
            bool pps_seen = false;
            struct iso14443a_picc_out last = {0};
            for (int k = 0; act.kind == ISO14443_ACT_SEND && k < 50; k++) {
                /* every frame up to and including the PPS goes at 106 kbit/s */
                assert_int_equal(act.tx_rate, ISO14443_106);
                assert_int_equal(act.rx_rate, ISO14443_106);
                if (act.tx.data[0] == ISO14443A_PPSS && act.tx.bits == 24) {
                    pps_seen = true;
                    unsigned dsi, dri;
                    expected_rates((uint8_t)ta, max, &dsi, &dri);
                    assert_int_equal(act.tx.data[1], 0x11);
                    assert_int_equal(act.tx.data[2], dsi << 2 | dri);
                    /* what the card does with it */
                    uint8_t f[5];
                    memcpy(f, act.tx.data, 3);
                    iso14443_crc_append(ISO14443_A, f, 3);
                    iso14443a_picc_frame(&c, f, 40, &last);
                    assert_int_equal(last.kind, ISO14443A_PICC_ANSWER);
                    assert_true(last.rates_changed);
                    assert_int_equal(last.dsi, dsi);
                    assert_int_equal(last.dri, dri);
                    struct iso14443_rx rx = {
                        .kind = ISO14443_RX_FRAME, .data = last.data, .bits = 8};
                    iso14443a_pcd_step(&p, &rx, &act);
                    continue;
                }
                struct iso14443_rx rx = air_xfer(&a, &act);
                iso14443a_pcd_step(&p, &rx, &act);
            }
            assert_int_equal(act.kind, ISO14443_ACT_DONE);
            unsigned dsi, dri;
            expected_rates((uint8_t)ta, max, &dsi, &dri);
            if (pps_seen != (dsi != 0 || dri != 0))
                fail_msg("TA %02X, up to rate %u: PPS %s", ta, max, pps_seen ? "sent" : "missing");
            assert_int_equal(act.rx_rate, dsi);
            assert_int_equal(act.tx_rate, dri);
            with_pps += pps_seen;
        }
    print_message("PPS: %u of 1024 TA x rate limits change the bit rate\n", with_pps);
    assert_int_equal(with_pps, 252); /* counted apart from the table too */
}

/* 14443-4 5.6 from the card's side, as a class: for every TA(1) byte and
 * every PPS1 (DSI, DRI), the card in its first frame after the ATS answers
 * the PPS request with exactly PPSS and CRC_A (D0 73 87, CID 0) and takes the
 * divisors from the next frame on when TA(1) offered them, and otherwise
 * stays silent, keeps 106 kbit/s and still takes a PPS it can follow. */
static void picc_pps_only_offered_rates(void **state)
{
    (void)state;
    static const uint8_t uid[4] = {0x08, 0x12, 0x34, 0x56};
    static const uint8_t answer[3] = {0xD0, 0x73, 0x87};
    unsigned answered = 0, refused = 0;
    for (unsigned ta = 0; ta < 256; ta++)
        for (unsigned dsi = 0; dsi < 4; dsi++)
            for (unsigned dri = 0; dri < 4; dri++) {
                uint8_t ats[3] = {0x03, 0x15, (uint8_t)ta}; /* T0: TA(1) only, FSCI 5 */
                struct iso14443a_picc c;
                picc(&c, uid, 4, 0x20, ats, sizeof ats);
                struct air a = {.cards = {&c}, .n = 1};
                struct iso14443a_pcd p;
                struct iso14443a_pcd_config cfg = PCD;
                cfg.max_rate = ISO14443_106; /* RATS, no PPS of its own */
                assert_int_equal(run(&a, &p, &cfg, NULL).kind, ISO14443_ACT_DONE);
                assert_int_equal(c.state, ISO14443A_PICC_PROTOCOL);
                uint8_t pps[5] = {0xD0, 0x11, (uint8_t)(dsi << 2 | dri)};
                iso14443_crc_append(ISO14443_A, pps, 3);
                struct iso14443a_picc_out out;
                iso14443a_picc_frame(&c, pps, 40, &out);
                if (rate_table_offers((uint8_t)ta, dsi, dri)) {
                    answered++;
                    assert_int_equal(out.kind, ISO14443A_PICC_ANSWER);
                    assert_int_equal(out.bits, 24);
                    assert_memory_equal(out.data, answer, 3);
                    assert_true(out.rates_changed);
                    assert_int_equal(out.dsi, dsi);
                    assert_int_equal(out.dri, dri);
                    continue;
                }
                refused++;
                if (out.kind != ISO14443A_PICC_SILENT || out.rates_changed)
                    fail_msg("TA %02X: PPS1 %02X taken", ta, pps[2]);
                assert_int_equal(c.state, ISO14443A_PICC_PROTOCOL);
                /* the PCD may ask again with what it was offered: 106 both ways */
                uint8_t pps0[5] = {0xD0, 0x11, 0x00};
                iso14443_crc_append(ISO14443_A, pps0, 3);
                iso14443a_picc_frame(&c, pps0, 40, &out);
                assert_int_equal(out.kind, ISO14443A_PICC_ANSWER);
                assert_memory_equal(out.data, answer, 3);
                assert_int_equal(out.dsi, ISO14443_106);
                assert_int_equal(out.dri, ISO14443_106);
            }
    print_message("PPS: %u of 4096 TA x PPS1 answered, %u refused\n", answered, refused);
    /* Counted apart: b4 set (128 TA) offers only 106/106, 1 pair each; with
     * b4 and b8 clear (64 TA) the pairs are (1 + DS bits) x (1 + DR bits),
     * summed (8 + 12) x (8 + 12) = 400; with b8 set (64 TA) 1 + the bits
     * DS and DR share, summed 64 + 48 = 112. */
    assert_int_equal(answered, 128 + 400 + 112);
    assert_int_equal(refused, 4096 - answered);

    /* No TA(1) at all (T0 05): its default, 106 kbit/s both ways only. */
    static const uint8_t bare_ats[2] = {0x02, 0x05};
    for (unsigned pps1 = 0; pps1 < 16; pps1++) {
        struct iso14443a_picc c;
        picc(&c, uid, 4, 0x20, bare_ats, sizeof bare_ats);
        struct air a = {.cards = {&c}, .n = 1};
        struct iso14443a_pcd p;
        struct iso14443a_pcd_config cfg = PCD;
        assert_int_equal(run(&a, &p, &cfg, NULL).kind, ISO14443_ACT_DONE);
        uint8_t pps[5] = {0xD0, 0x11, (uint8_t)pps1};
        iso14443_crc_append(ISO14443_A, pps, 3);
        struct iso14443a_picc_out out;
        iso14443a_picc_frame(&c, pps, 40, &out);
        assert_int_equal(out.kind, pps1 == 0 ? ISO14443A_PICC_ANSWER : ISO14443A_PICC_SILENT);
    }
}

static void not_iso_dep_and_errors(void **state)
{
    (void)state;
    static const uint8_t uid[4] = {0x01, 0x02, 0x03, 0x04};
    struct iso14443a_picc c;
    picc(&c, uid, 4, 0x08, NULL, 0); /* a MIFARE Classic-like SAK */
    struct air a = {.cards = {&c}, .n = 1};
    struct iso14443a_pcd p;
    struct iso14443_act act = run(&a, &p, &PCD, NULL);
    assert_int_equal(act.kind, ISO14443_ACT_DONE);
    assert_int_equal(p.sak, 0x08);

    /* Nobody in the field. */
    struct air empty = {.n = 0};
    act = run(&empty, &p, &PCD, NULL);
    assert_int_equal(act.kind, ISO14443_ACT_NO_CARD);

    /* The card leaves after its ATQA: anticollision gets nothing. */
    picc(&c, uid, 4, 0x20, ma_ats, sizeof ma_ats);
    iso14443a_pcd_begin(&p, &PCD, &act);
    struct iso14443_rx rx = air_xfer(&a, &act);
    iso14443a_pcd_step(&p, &rx, &act);
    struct iso14443_rx none = {.kind = ISO14443_RX_TIMEOUT};
    for (int i = 0; i < 3; i++)
        iso14443a_pcd_step(&p, &none, &act);
    assert_int_equal(act.kind, ISO14443_ACT_ERROR);
    assert_int_equal(act.err, ISO14443_ERR_NO_ANSWER);

    /* A UID CLn whose BCC is wrong, three times: ISO14443_ERR_BCC. */
    iso14443a_pcd_begin(&p, &PCD, &act);
    const uint8_t atqa[2] = {0x04, 0x00}, bad[5] = {1, 2, 3, 4, 5};
    rx = (struct iso14443_rx){.kind = ISO14443_RX_FRAME, .data = atqa, .bits = 16};
    iso14443a_pcd_step(&p, &rx, &act);
    rx = (struct iso14443_rx){.kind = ISO14443_RX_FRAME, .data = bad, .bits = 40};
    for (int i = 0; i < 3; i++)
        iso14443a_pcd_step(&p, &rx, &act);
    assert_int_equal(act.kind, ISO14443_ACT_ERROR);
    assert_int_equal(act.err, ISO14443_ERR_BCC);

    /* ATQA with two anticollision bits, or UID size 11 (RFU). */
    const uint8_t two_bits[2] = {0x05, 0x00}, rfu[2] = {0xC4, 0x00};
    iso14443a_pcd_begin(&p, &PCD, &act);
    rx = (struct iso14443_rx){.kind = ISO14443_RX_FRAME, .data = two_bits, .bits = 16};
    assert_int_equal(iso14443a_pcd_step(&p, &rx, &act), ISO14443_ERR_ATQA);
    iso14443a_pcd_begin(&p, &PCD, &act);
    rx = (struct iso14443_rx){.kind = ISO14443_RX_FRAME, .data = rfu, .bits = 16};
    assert_int_equal(iso14443a_pcd_step(&p, &rx, &act), ISO14443_ERR_ATQA);

    /* SAK with the cascade bit after a CLn without the cascade tag. */
    iso14443a_pcd_begin(&p, &PCD, &act);
    rx = (struct iso14443_rx){.kind = ISO14443_RX_FRAME, .data = atqa, .bits = 16};
    iso14443a_pcd_step(&p, &rx, &act);
    const uint8_t good[5] = {1, 2, 3, 4, 1 ^ 2 ^ 3 ^ 4}, sak[1] = {0x04};
    rx = (struct iso14443_rx){.kind = ISO14443_RX_FRAME, .data = good, .bits = 40};
    iso14443a_pcd_step(&p, &rx, &act);
    rx = (struct iso14443_rx){.kind = ISO14443_RX_FRAME, .data = sak, .bits = 8};
    assert_int_equal(iso14443a_pcd_step(&p, &rx, &act), ISO14443_ERR_SAK);

    struct iso14443a_pcd_config bad_cfg = PCD;
    bad_cfg.cid = 15;
    assert_int_equal(iso14443a_pcd_begin(&p, &bad_cfg, &act), ISO14443_ERR_PARAM);
    assert_int_equal(act.kind, ISO14443_ACT_ERROR);
}

static void ats_layouts(void **state)
{
    (void)state;
    struct iso14443a_ats s;
    /* DESFire EV1: FSCI 5 (64 bytes), TA 77, FWI 8, SFGI 1, CID, hist 80. */
    const uint8_t desfire[] = {0x06, 0x75, 0x77, 0x81, 0x02, 0x80};
    assert_int_equal(iso14443a_ats_parse(desfire, sizeof desfire, &s), ISO14443_OK);
    assert_int_equal(iso14443_fs(s.fsci), 64);
    assert_int_equal(s.ta, 0x77);
    assert_int_equal(s.fwi, 8);
    assert_int_equal(s.sfgi, 1);
    assert_true(s.cid);
    assert_false(s.nad);
    assert_int_equal(s.hist_len, 1);
    assert_int_equal(s.raw[s.hist_off], 0x80);
    unsigned ds, dr;
    bool same;
    iso14443a_ats_rates(&s, &ds, &dr, &same);
    assert_int_equal(ds, 0x0F);
    assert_int_equal(dr, 0x0F);
    assert_false(same);

    /* TL alone: every default (FSCI 2, FWI 4, CID yes, NAD no, 106 only). */
    const uint8_t tl[] = {0x01};
    assert_int_equal(iso14443a_ats_parse(tl, 1, &s), ISO14443_OK);
    assert_int_equal(s.fsci, 2);
    assert_int_equal(s.fwi, 4);
    assert_true(s.cid);
    assert_int_equal(s.hist_len, 0);

    /* Only T0 with TB: TA default 00, TC default 02. */
    const uint8_t t0tb[] = {0x03, 0x28, 0xE0};
    assert_int_equal(iso14443a_ats_parse(t0tb, 3, &s), ISO14443_OK);
    assert_int_equal(s.fwi, 14);
    assert_int_equal(s.ta, 0);
    /* FWI F and SFGI F are RFU: read as 4 and 0. */
    const uint8_t rfu[] = {0x03, 0x28, 0xFF};
    assert_int_equal(iso14443a_ats_parse(rfu, 3, &s), ISO14443_OK);
    assert_int_equal(s.fwi, 4);
    assert_int_equal(s.sfgi, 0);
    /* TA with b4 set: 106 kbit/s only. */
    const uint8_t ta_rfu[] = {0x03, 0x18, 0xFF};
    assert_int_equal(iso14443a_ats_parse(ta_rfu, 3, &s), ISO14443_OK);
    iso14443a_ats_rates(&s, &ds, &dr, &same);
    assert_int_equal(ds, 1);
    assert_int_equal(dr, 1);

    /* TL disagreeing with the length, or interface bytes beyond it. */
    const uint8_t short_tl[] = {0x05, 0x78, 0x77};
    assert_int_equal(iso14443a_ats_parse(short_tl, 3, &s), ISO14443_ERR_ATS);
    const uint8_t missing[] = {0x03, 0x78, 0x77};
    assert_int_equal(iso14443a_ats_parse(missing, 3, &s), ISO14443_ERR_ATS);
    assert_int_equal(iso14443a_ats_parse(missing, 0, &s), ISO14443_ERR_ATS);

    assert_int_equal(iso14443a_ats_parse(ma_ats, sizeof ma_ats, &s), ISO14443_OK);
    assert_int_equal(s.hist_len, 5);
}

static void picc_states(void **state)
{
    (void)state;
    static const uint8_t uid[4] = {0x08, 0xAA, 0xBB, 0xCC};
    struct iso14443a_picc c;
    struct iso14443a_picc_out out;
    picc(&c, uid, 4, 0x20, ma_ats, sizeof ma_ats);
    const uint8_t reqa = 0x26, wupa = 0x52;
    iso14443a_picc_field(&c, false);
    iso14443a_picc_frame(&c, &reqa, 7, &out);
    assert_int_equal(out.kind, ISO14443A_PICC_SILENT); /* no field, no card */
    iso14443a_picc_field(&c, true);
    iso14443a_picc_frame(&c, &reqa, 7, &out);
    assert_int_equal(out.kind, ISO14443A_PICC_ANSWER);
    assert_int_equal(c.state, ISO14443A_PICC_READY);
    /* SEL of level 2 while at level 1: not for us. */
    const uint8_t cl2[2] = {0x95, 0x20};
    iso14443a_picc_frame(&c, cl2, 16, &out);
    assert_int_equal(out.kind, ISO14443A_PICC_SILENT);
    assert_int_equal(c.state, ISO14443A_PICC_READY);
    /* A garbage frame in READY: back to IDLE. */
    const uint8_t junk[2] = {0x12, 0x34};
    iso14443a_picc_frame(&c, junk, 16, &out);
    assert_int_equal(c.state, ISO14443A_PICC_IDLE);

    /* Select, HLTA, then only WUPA wakes it. */
    struct air a = {.cards = {&c}, .n = 1};
    struct iso14443a_pcd p;
    struct iso14443a_pcd_config cfg = PCD;
    cfg.iso_dep = false;
    struct iso14443_act act = run(&a, &p, &cfg, NULL);
    assert_int_equal(act.kind, ISO14443_ACT_DONE);
    uint8_t hlta[4] = {0x50, 0x00, 0x57, 0xCD};
    iso14443a_picc_frame(&c, hlta, 32, &out);
    assert_int_equal(out.kind, ISO14443A_PICC_SILENT);
    assert_int_equal(c.state, ISO14443A_PICC_HALT);
    iso14443a_picc_frame(&c, &reqa, 7, &out);
    assert_int_equal(out.kind, ISO14443A_PICC_SILENT);
    iso14443a_picc_frame(&c, &wupa, 7, &out);
    assert_int_equal(out.kind, ISO14443A_PICC_ANSWER);

    /* RATS with CID 15 (RFU) is refused; a PPS only right after the ATS. */
    iso14443a_picc_field(&c, true);
    act = run(&a, &p, &cfg, NULL);
    assert_int_equal(c.state, ISO14443A_PICC_ACTIVE);
    uint8_t rats15[4] = {0xE0, 0x8F};
    iso14443_crc_append(ISO14443_A, rats15, 2);
    iso14443a_picc_frame(&c, rats15, 32, &out);
    assert_int_equal(out.kind, ISO14443A_PICC_SILENT);
    assert_int_equal(c.state, ISO14443A_PICC_IDLE);
    act = run(&a, &p, &cfg, NULL);
    assert_int_equal(c.state, ISO14443A_PICC_ACTIVE);
    uint8_t rats[4] = {0xE0, 0x81, 0, 0};
    iso14443_crc_append(ISO14443_A, rats, 2);
    iso14443a_picc_frame(&c, rats, 32, &out);
    assert_int_equal(out.kind, ISO14443A_PICC_ANSWER);
    assert_int_equal(c.cid, 1);
    uint8_t block[4] = {0x0A, 0x01};
    iso14443_crc_append(ISO14443_A, block, 2);
    uint8_t pps[5] = {0xD1, 0x11, 0x05};
    iso14443_crc_append(ISO14443_A, pps, 3);
    iso14443a_picc_frame(&c, block, 32, &out);
    assert_int_equal(out.kind, ISO14443A_PICC_BLOCK);
    assert_int_equal(out.block_len, 2);
    iso14443a_picc_frame(&c, pps, 40, &out);
    assert_int_equal(out.kind, ISO14443A_PICC_BLOCK); /* too late: a (bad) block */
    /* A damaged block is ignored. */
    block[2] ^= 1;
    iso14443a_picc_frame(&c, block, 32, &out);
    assert_int_equal(out.kind, ISO14443A_PICC_SILENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(single_uid_frames),
        cmocka_unit_test(cascade_levels),
        cmocka_unit_test(two_cards_collide),
        cmocka_unit_test(three_cards_seven_byte),
        cmocka_unit_test(anticollision_every_bit),
        cmocka_unit_test(pps_every_ta),
        cmocka_unit_test(picc_pps_only_offered_rates),
        cmocka_unit_test(not_iso_dep_and_errors),
        cmocka_unit_test(ats_layouts),
        cmocka_unit_test(picc_states),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Type B activation, both roles of hawiya/iso14443b.h, through this test's
 * own air (two PICCs answering in one slot make a damaged frame, as Type B
 * coding gives no colliding bit). Frames written out from 14443-3 clause 7:
 * WUPB 05 00 08 39 73, ATQB 50 PUPI AppData ProtoInfo, ATTRIB 1D PUPI
 * Param1..4, HLTB 50 PUPI answered 00. The ATQB application data and
 * protocol info are the Algerian identity card's (pcsc-tools list:
 * 3B 88 80 01 E1 68 6C 17 77 83 95 00 9A).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "hawiya/iso14443b.h"
#include "rate_table.h"

static const uint8_t dz_app[4] = {0xE1, 0x68, 0x6C, 0x17};
static const uint8_t dz_proto[3] = {0x77, 0x83, 0x95};

struct air {
    struct iso14443b_picc *cards[3];
    size_t n;
    uint8_t sent[64], rx[64];
    size_t sent_len;
};

static struct iso14443_rx air_xfer(struct air *a, const struct iso14443_act *act)
{
    struct iso14443_rx rx = {.kind = ISO14443_RX_TIMEOUT};
    assert_true(act->tx.crc);
    size_t n = act->tx.bits / 8;
    memcpy(a->sent, act->tx.data, n);
    iso14443_crc_append(ISO14443_B, a->sent, n);
    a->sent_len = n + 2;
    size_t answers = 0;
    for (size_t i = 0; i < a->n; i++) {
        struct iso14443b_picc_out out;
        iso14443b_picc_frame(a->cards[i], a->sent, a->sent_len, &out);
        if (out.kind != ISO14443B_PICC_ANSWER)
            continue;
        if (answers++ == 0) {
            memcpy(a->rx, out.data, out.len);
            rx.kind = ISO14443_RX_FRAME;
            rx.data = a->rx;
            assert_true(iso14443_crc_ok(ISO14443_B, a->rx, out.len));
            rx.bits = 8 * (out.len - 2);
        } else {
            rx.kind = ISO14443_RX_ERROR;
        }
    }
    return rx;
}

static void picc(struct iso14443b_picc *c, uint8_t pupi0, uint32_t seed)
{
    struct iso14443b_picc_config cfg = {
        .pupi = {pupi0, 0x2B, 0x3C, 0x4D}, .proto_len = 3, .mbli = 0, .seed = seed};
    memcpy(cfg.app_data, dz_app, 4);
    memcpy(cfg.proto, dz_proto, 3);
    assert_int_equal(iso14443b_picc_init(c, &cfg), ISO14443_OK);
    iso14443b_picc_field(c, true);
}

static const struct iso14443b_pcd_config PCD = {
    .wakeup = true, .afi = 0, .fsdi = 8, .cid = 0, .max_rate = ISO14443_848};

static struct iso14443_act run(struct air *a, struct iso14443b_pcd *p,
                               const struct iso14443b_pcd_config *cfg)
{
    struct iso14443_act act;
    iso14443b_pcd_begin(p, cfg, &act);
    for (int k = 0; act.kind == ISO14443_ACT_SEND && k < 300; k++) {
        struct iso14443_rx rx = air_xfer(a, &act);
        iso14443b_pcd_step(p, &rx, &act);
    }
    return act;
}

static void atqb_layout(void **state)
{
    (void)state;
    struct iso14443b_atqb q;
    const uint8_t atqb[12] = {0x50, 1, 2, 3, 4, 0xE1, 0x68, 0x6C, 0x17, 0x77, 0x83, 0x95};
    assert_int_equal(iso14443b_atqb_parse(atqb, 12, &q), ISO14443_OK);
    /* 77: 212 / 424 / 847 both ways, different D allowed */
    assert_int_equal(q.ds, 0x0F);
    assert_int_equal(q.dr, 0x0F);
    assert_false(q.same_d);
    /* 83: frame 256 bytes, ISO/IEC 14443-4, minimum TR2 code 01 */
    assert_int_equal(iso14443_fs(q.fsci), 256);
    assert_int_equal(q.protocol_type, 3);
    assert_true(q.iso_dep);
    /* 95: FWI 9 (154.7 ms), ADC 01, CID yes, NAD no */
    assert_int_equal(q.fwi, 9);
    assert_int_equal(q.adc, 1);
    assert_true(q.cid);
    assert_false(q.nad);
    assert_int_equal(q.sfgi, 0);
    assert_memory_equal(q.app_data, dz_app, 4);

    /* Extended ATQB: a fourth protocol byte with SFGI. */
    const uint8_t ext[13] = {0x50, 1, 2, 3, 4, 0, 0, 0, 0, 0x80, 0x71, 0x41, 0x50};
    assert_int_equal(iso14443b_atqb_parse(ext, 13, &q), ISO14443_OK);
    assert_int_equal(q.sfgi, 5);
    assert_true(q.same_d);
    assert_int_equal(q.ds, 1); /* b8 set but no rate bits: 106 only */
    /* Bit rate byte with b4 set (RFU): 106 kbit/s only. */
    uint8_t rfu[12];
    memcpy(rfu, atqb, 12);
    rfu[9] = 0x7F;
    assert_int_equal(iso14443b_atqb_parse(rfu, 12, &q), ISO14443_OK);
    assert_int_equal(q.ds, 1);
    assert_int_equal(q.dr, 1);
    /* Protocol_Type b4 set is RFU: the PCD stops. */
    rfu[9] = 0x77;
    rfu[10] = 0x89;
    assert_int_equal(iso14443b_atqb_parse(rfu, 12, &q), ISO14443_ERR_ATQB);
    assert_int_equal(iso14443b_atqb_parse(atqb, 11, &q), ISO14443_ERR_ATQB);
    uint8_t not50[12];
    memcpy(not50, atqb, 12);
    not50[0] = 0x51;
    assert_int_equal(iso14443b_atqb_parse(not50, 12, &q), ISO14443_ERR_ATQB);
}

static void single_card_frames(void **state)
{
    (void)state;
    struct iso14443b_picc c;
    picc(&c, 0x1A, 7);
    struct air a = {.cards = {&c}, .n = 1};
    struct iso14443b_pcd p;
    struct iso14443_act act;
    iso14443b_pcd_begin(&p, &PCD, &act);
    struct iso14443_rx rx = air_xfer(&a, &act);
    const uint8_t wupb[5] = {0x05, 0x00, 0x08, 0x39, 0x73};
    assert_int_equal(a.sent_len, 5);
    assert_memory_equal(a.sent, wupb, 5);
    const uint8_t atqb[12] = {0x50, 0x1A, 0x2B, 0x3C, 0x4D, 0xE1,
                              0x68, 0x6C, 0x17, 0x77, 0x83, 0x95};
    assert_int_equal(rx.bits, 96);
    assert_memory_equal(rx.data, atqb, 12);

    iso14443b_pcd_step(&p, &rx, &act);
    /* ATTRIB: Param2 F8 = 847 kbit/s both ways (11 11) and FSDI 8; Param3 01; CID 0 */
    const uint8_t attrib[9] = {0x1D, 0x1A, 0x2B, 0x3C, 0x4D, 0x00, 0xF8, 0x01, 0x00};
    assert_int_equal(act.tx.timeout_ns, iso14443_fwt_ns(9));
    rx = air_xfer(&a, &act);
    assert_memory_equal(a.sent, attrib, 9);
    assert_int_equal(rx.bits, 8);
    assert_int_equal(rx.data[0], 0x00); /* MBLI 0, CID 0 */
    iso14443b_pcd_step(&p, &rx, &act);
    assert_int_equal(act.kind, ISO14443_ACT_DONE);
    assert_int_equal(act.tx_rate, ISO14443_848);
    assert_int_equal(act.rx_rate, ISO14443_848);
    assert_int_equal(c.state, ISO14443B_PICC_ACTIVE);
    assert_int_equal(c.fsdi, 8);

    /* HLTB: 50 PUPI, answered 00. */
    iso14443b_pcd_hltb(&p, &act);
    rx = air_xfer(&a, &act);
    const uint8_t hltb[5] = {0x50, 0x1A, 0x2B, 0x3C, 0x4D};
    assert_memory_equal(a.sent, hltb, 5);
    assert_int_equal(rx.bits, 8);
    assert_int_equal(rx.data[0], 0x00);
    assert_int_equal(c.state, ISO14443B_PICC_HALT);
    /* Halted: REQB gets nothing, WUPB the ATQB again. */
    struct iso14443b_pcd_config req = PCD;
    req.wakeup = false;
    act = run(&a, &p, &req);
    assert_int_equal(act.kind, ISO14443_ACT_NO_CARD);
    act = run(&a, &p, &PCD);
    assert_int_equal(act.kind, ISO14443_ACT_DONE);
}

static void two_cards_slots(void **state)
{
    (void)state;
    for (uint32_t seed = 1; seed < 40; seed++) {
        struct iso14443b_picc c1, c2;
        picc(&c1, 0x11, seed);
        picc(&c2, 0x22, seed * 7919u + 13u);
        struct air a = {.cards = {&c1, &c2}, .n = 2};
        struct iso14443b_pcd p;
        struct iso14443_act act = run(&a, &p, &PCD);
        assert_int_equal(act.kind, ISO14443_ACT_DONE);
        assert_true(p.rounds >= 1); /* the first WUPB, one slot, collided */
        struct iso14443b_picc *chosen = p.atqb.pupi[0] == 0x11 ? &c1 : &c2;
        struct iso14443b_picc *other = chosen == &c1 ? &c2 : &c1;
        assert_int_equal(chosen->state, ISO14443B_PICC_ACTIVE);
        assert_int_not_equal(other->state, ISO14443B_PICC_ACTIVE);
        iso14443b_pcd_hltb(&p, &act);
        air_xfer(&a, &act);
        struct iso14443b_pcd_config req = PCD;
        req.wakeup = false;
        act = run(&a, &p, &req);
        assert_int_equal(act.kind, ISO14443_ACT_DONE);
        assert_memory_equal(p.atqb.pupi, other->cfg.pupi, 4);
    }
    /* The second round of slots is REQB with N = 4: 05 00 0A. */
    struct iso14443b_picc c1, c2;
    picc(&c1, 0x11, 5);
    picc(&c2, 0x22, 6);
    struct air a = {.cards = {&c1, &c2}, .n = 2};
    struct iso14443b_pcd p;
    struct iso14443_act act;
    iso14443b_pcd_begin(&p, &PCD, &act);
    struct iso14443_rx rx = air_xfer(&a, &act);
    assert_int_equal(rx.kind, ISO14443_RX_ERROR);
    iso14443b_pcd_step(&p, &rx, &act);
    assert_int_equal(act.tx.bits, 24);
    const uint8_t req4[3] = {0x05, 0x00, 0x0A};
    assert_memory_equal(act.tx.data, req4, 3);
}

/* Three cards in the field, for 300 ways they may pick their slots: each
 * WUPB / REQB round set selects one card not selected before, HLTB puts it
 * aside, and once all three are halted nobody answers REQB. */
static void three_cards_every_draw(void **state)
{
    (void)state;
    unsigned rounds = 0;
    for (uint32_t seed = 1; seed <= 300; seed++) {
        struct iso14443b_picc c[3];
        for (int i = 0; i < 3; i++)
            picc(&c[i], (uint8_t)(0x10 * (i + 1)), seed * 2654435761u + (uint32_t)i * 40503u + 1);
        struct air a = {.cards = {&c[0], &c[1], &c[2]}, .n = 3};
        bool seen[3] = {false};
        struct iso14443b_pcd_config cfg = PCD;
        for (int k = 0; k < 3; k++) {
            struct iso14443b_pcd p;
            struct iso14443_act act = run(&a, &p, &cfg);
            cfg.wakeup = false;
            if (act.kind != ISO14443_ACT_DONE)
                fail_msg("seed %u, card %d: %s", seed, k,
                         act.kind == ISO14443_ACT_ERROR ? iso14443_err_str(act.err) : "none");
            int who = p.atqb.pupi[0] / 0x10 - 1;
            assert_true(who >= 0 && who < 3 && !seen[who]);
            seen[who] = true;
            assert_int_equal(c[who].state, ISO14443B_PICC_ACTIVE);
            rounds += p.rounds;
            iso14443b_pcd_hltb(&p, &act);
            air_xfer(&a, &act);
            assert_int_equal(c[who].state, ISO14443B_PICC_HALT);
        }
        struct iso14443b_pcd p;
        struct iso14443_act act = run(&a, &p, &cfg);
        assert_int_equal(act.kind, ISO14443_ACT_NO_CARD);
    }
    print_message("three Type B cards, 300 draws: %u extra rounds of slots\n", rounds);
}

static void picc_rules(void **state)
{
    (void)state;
    struct iso14443b_picc c;
    struct iso14443b_picc_out out;
    picc(&c, 0x33, 3);
    /* AFI: 00 all, E0 the family E, E1 exactly, 20 another family. */
    static const uint8_t afis[4] = {0x00, 0xE0, 0xE1, 0x20};
    static const bool answers[4] = {true, true, true, false};
    for (int i = 0; i < 4; i++) {
        iso14443b_picc_field(&c, true);
        uint8_t req[5] = {0x05, afis[i], 0x00};
        iso14443_crc_append(ISO14443_B, req, 3);
        iso14443b_picc_frame(&c, req, 5, &out);
        assert_int_equal(out.kind == ISO14443B_PICC_ANSWER, answers[i]);
    }
    /* A damaged REQB changes nothing. */
    iso14443b_picc_field(&c, true);
    uint8_t req[5] = {0x05, 0x00, 0x00};
    iso14443_crc_append(ISO14443_B, req, 3);
    req[4] ^= 0x80;
    iso14443b_picc_frame(&c, req, 5, &out);
    assert_int_equal(out.kind, ISO14443B_PICC_SILENT);
    assert_int_equal(c.state, ISO14443B_PICC_IDLE);
    /* N = 16: the card picks a slot; the matching Slot-MARKER gets the ATQB. */
    uint8_t req16[5] = {0x05, 0x00, 0x04};
    iso14443_crc_append(ISO14443_B, req16, 3);
    iso14443b_picc_frame(&c, req16, 5, &out);
    unsigned slot = c.slot;
    assert_true(slot >= 1 && slot <= 16);
    if (slot > 1) {
        assert_int_equal(out.kind, ISO14443B_PICC_SILENT);
        for (unsigned n = 2; n <= 16; n++) {
            uint8_t mk[3] = {(uint8_t)((n - 1) << 4 | 0x05)};
            iso14443_crc_append(ISO14443_B, mk, 1);
            iso14443b_picc_frame(&c, mk, 3, &out);
            assert_int_equal(out.kind == ISO14443B_PICC_ANSWER, n == slot);
        }
    }
    assert_int_equal(c.state, ISO14443B_PICC_READY_DECLARED);
    /* ATTRIB for another PUPI: silence. With ours and CID 3: answer MBLI|CID. */
    uint8_t attrib[11] = {0x1D, 0x99, 0x2B, 0x3C, 0x4D, 0x00, 0x08, 0x01, 0x03};
    iso14443_crc_append(ISO14443_B, attrib, 9);
    iso14443b_picc_frame(&c, attrib, 11, &out);
    assert_int_equal(out.kind, ISO14443B_PICC_SILENT);
    attrib[1] = 0x33;
    iso14443_crc_append(ISO14443_B, attrib, 9);
    iso14443b_picc_frame(&c, attrib, 11, &out);
    assert_int_equal(out.kind, ISO14443B_PICC_ANSWER);
    assert_int_equal(out.data[0], 0x03);
    assert_false(out.dsi != ISO14443_106 || out.dri != ISO14443_106);
    /* The answer was lost: the same ATTRIB again is answered again... */
    iso14443b_picc_frame(&c, attrib, 11, &out);
    assert_int_equal(out.kind, ISO14443B_PICC_ANSWER);
    /* ...and blocks go up to ISO/IEC 14443-4. */
    uint8_t blk[4] = {0x0A, 0x03};
    iso14443_crc_append(ISO14443_B, blk, 2);
    iso14443b_picc_frame(&c, blk, 4, &out);
    assert_int_equal(out.kind, ISO14443B_PICC_BLOCK);
    assert_int_equal(out.block_len, 2);
    iso14443b_picc_frame(&c, attrib, 11, &out);
    assert_int_equal(out.kind, ISO14443B_PICC_BLOCK); /* no longer an ATTRIB */
}

static void pcd_errors(void **state)
{
    (void)state;
    struct iso14443b_pcd p;
    struct iso14443_act act;
    struct air empty = {.n = 0};
    act = run(&empty, &p, &PCD);
    assert_int_equal(act.kind, ISO14443_ACT_NO_CARD);

    /* An answer to ATTRIB naming another CID. */
    struct iso14443b_pcd_config cfg = PCD;
    cfg.cid = 2;
    iso14443b_pcd_begin(&p, &cfg, &act);
    const uint8_t atqb[12] = {0x50, 1, 2, 3, 4, 0xE1, 0x68, 0x6C, 0x17, 0x77, 0x83, 0x95};
    struct iso14443_rx rx = {.kind = ISO14443_RX_FRAME, .data = atqb, .bits = 96};
    iso14443b_pcd_step(&p, &rx, &act);
    assert_int_equal(act.tx.data[8], 2);
    const uint8_t wrong[1] = {0x05};
    rx = (struct iso14443_rx){.kind = ISO14443_RX_FRAME, .data = wrong, .bits = 8};
    assert_int_equal(iso14443b_pcd_step(&p, &rx, &act), ISO14443_ERR_ATTRIB);

    /* ATTRIB unanswered three times: the card is gone. */
    iso14443b_pcd_begin(&p, &cfg, &act);
    rx = (struct iso14443_rx){.kind = ISO14443_RX_FRAME, .data = atqb, .bits = 96};
    iso14443b_pcd_step(&p, &rx, &act);
    struct iso14443_rx none = {.kind = ISO14443_RX_TIMEOUT};
    iso14443b_pcd_step(&p, &none, &act);
    assert_int_equal(act.kind, ISO14443_ACT_SEND);
    assert_int_equal(act.tx.data[0], 0x1D);
    iso14443b_pcd_step(&p, &none, &act);
    iso14443b_pcd_step(&p, &none, &act);
    assert_int_equal(act.kind, ISO14443_ACT_ERROR);
    assert_int_equal(act.err, ISO14443_ERR_NO_ANSWER);

    /* Always damaged answers: unresolved collisions. */
    iso14443b_pcd_begin(&p, &PCD, &act);
    struct iso14443_rx dmg = {.kind = ISO14443_RX_ERROR};
    int k = 0;
    while (act.kind == ISO14443_ACT_SEND && k++ < 500)
        iso14443b_pcd_step(&p, &dmg, &act);
    assert_int_equal(act.kind, ISO14443_ACT_ERROR);
    assert_int_equal(act.err, ISO14443_ERR_COLLISION);
}

/* The divisors ATTRIB should carry, from the ATQB bit rate byte's table
 * (14443-3 7.9.4.1) written out again: b7 b6 b5 = PICC to PCD 847, 424,
 * 212; b3 b2 b1 = PCD to PICC 847, 424, 212; b8: the same both ways; b4 = 1
 * (RFU): 106 kbit/s only. */
static void expected_rates(uint8_t br, unsigned max, unsigned *dsi, unsigned *dri)
{
    bool ds[4] = {true, (br & 0x10) != 0, (br & 0x20) != 0, (br & 0x40) != 0};
    bool dr[4] = {true, (br & 0x01) != 0, (br & 0x02) != 0, (br & 0x04) != 0};
    *dsi = *dri = 0;
    if (br & 0x08)
        return;
    for (unsigned r = 0; r <= max; r++) {
        bool s = ds[r], d = dr[r];
        if (br & 0x80)
            s = d = ds[r] && dr[r];
        if (s)
            *dsi = r;
        if (d)
            *dri = r;
    }
}

/* 7.10 as a class: for every bit rate byte a card may announce and every
 * highest rate the reader allows, ATTRIB's Param 2 carries exactly the
 * divisors the table gives (b8b7 PICC to PCD, b6b5 PCD to PICC) with FSDI,
 * the card takes them, and the PCD switches to them after the answer. */
static void attrib_every_rate_byte(void **state)
{
    (void)state;
    unsigned faster = 0;
    for (unsigned br = 0; br < 256; br++)
        for (unsigned max = ISO14443_106; max <= ISO14443_848; max++) {
            struct iso14443b_picc c;
            struct iso14443b_picc_config pcfg = {.pupi = {1, 2, 3, 4},
                                                 .proto = {(uint8_t)br, 0x81, 0x95},
                                                 .proto_len = 3,
                                                 .seed = 9};
            memcpy(pcfg.app_data, dz_app, 4);
            assert_int_equal(iso14443b_picc_init(&c, &pcfg), ISO14443_OK);
            iso14443b_picc_field(&c, true);
            struct air a = {.cards = {&c}, .n = 1};
            struct iso14443b_pcd p;
            struct iso14443b_pcd_config cfg = PCD;
            cfg.max_rate = max;
            struct iso14443_act act;
            iso14443b_pcd_begin(&p, &cfg, &act);
            unsigned dsi, dri;
            expected_rates((uint8_t)br, max, &dsi, &dri);
            bool attrib = false;
            for (int k = 0; act.kind == ISO14443_ACT_SEND && k < 20; k++) {
                assert_int_equal(act.tx_rate, ISO14443_106);
                if (act.tx.data[0] == ISO14443B_ATTRIB) {
                    attrib = true;
                    assert_int_equal(act.tx.data[6], dsi << 6 | dri << 4 | 8);
                    struct iso14443b_picc_out out;
                    uint8_t f[11];
                    memcpy(f, act.tx.data, 9);
                    iso14443_crc_append(ISO14443_B, f, 9);
                    iso14443b_picc_frame(&c, f, 11, &out);
                    assert_int_equal(out.kind, ISO14443B_PICC_ANSWER);
                    assert_int_equal(out.dsi, dsi);
                    assert_int_equal(out.dri, dri);
                    struct iso14443_rx rx = {
                        .kind = ISO14443_RX_FRAME, .data = out.data, .bits = 8 * (out.len - 2)};
                    iso14443b_pcd_step(&p, &rx, &act);
                    continue;
                }
                struct iso14443_rx rx = air_xfer(&a, &act);
                iso14443b_pcd_step(&p, &rx, &act);
            }
            assert_true(attrib);
            assert_int_equal(act.kind, ISO14443_ACT_DONE);
            assert_int_equal(act.rx_rate, dsi);
            assert_int_equal(act.tx_rate, dri);
            faster += dsi != 0 || dri != 0;
        }
    print_message("ATTRIB: %u of 1024 bit rate bytes x rate limits go faster than 106\n", faster);
    assert_int_equal(faster, 252); /* counted apart from the table too */
}

/* 14443-3 7.10 from the card's side, as a class: for every Bit_Rate_capability
 * byte and every Param2 (DSI, DRI), ATTRIB 1D PUPI 00 Param2 01 00 is answered
 * with exactly 00 78 F0 (MBLI 0, CID 0, CRC_B) and the divisors taken when
 * the ATQB offered them; otherwise no answer, the card still READY
 * (declared), and an ATTRIB at 106 kbit/s is then answered. A card already
 * selected by an ATTRIB it could follow ignores a repeat asking for more. */
static void picc_attrib_only_offered_rates(void **state)
{
    (void)state;
    static const uint8_t answer[3] = {0x00, 0x78, 0xF0};
    unsigned answered = 0, refused = 0;
    for (unsigned cap = 0; cap < 256; cap++)
        for (unsigned dsi = 0; dsi < 4; dsi++)
            for (unsigned dri = 0; dri < 4; dri++) {
                struct iso14443b_picc c;
                struct iso14443b_picc_config cfg = {
                    .pupi = {0x1A, 0x2B, 0x3C, 0x4D}, .proto_len = 3, .mbli = 0, .seed = 1};
                memcpy(cfg.app_data, dz_app, 4);
                cfg.proto[0] = (uint8_t)cap;
                cfg.proto[1] = dz_proto[1];
                cfg.proto[2] = 0x70; /* FWI 7, no NAD, no CID */
                assert_int_equal(iso14443b_picc_init(&c, &cfg), ISO14443_OK);
                iso14443b_picc_field(&c, true);
                struct iso14443b_picc_out out;
                uint8_t wupb[5] = {0x05, 0x00, 0x08};
                iso14443_crc_append(ISO14443_B, wupb, 3);
                iso14443b_picc_frame(&c, wupb, 5, &out);
                assert_int_equal(out.kind, ISO14443B_PICC_ANSWER);
                assert_int_equal(out.data[9], cap); /* the ATQB says what it offers */
                uint8_t attrib[11] = {
                    0x1D, 0x1A, 0x2B, 0x3C, 0x4D, 0x00, (uint8_t)(dsi << 6 | dri << 4 | 0x08),
                    0x01, 0x00};
                iso14443_crc_append(ISO14443_B, attrib, 9);
                iso14443b_picc_frame(&c, attrib, 11, &out);
                if (rate_table_offers((uint8_t)cap, dsi, dri)) {
                    answered++;
                    assert_int_equal(out.kind, ISO14443B_PICC_ANSWER);
                    assert_int_equal(out.len, 3);
                    assert_memory_equal(out.data, answer, 3);
                    assert_true(out.rates_changed);
                    assert_int_equal(out.dsi, dsi);
                    assert_int_equal(out.dri, dri);
                    assert_int_equal(c.state, ISO14443B_PICC_ACTIVE);
                    if (dsi == 3 && dri == 3)
                        continue;
                    /* a repeat asking for 848 both ways, when not offered, is ignored */
                    uint8_t more[11] = {0x1D, 0x1A, 0x2B, 0x3C, 0x4D, 0x00, 0xF8, 0x01, 0x00};
                    iso14443_crc_append(ISO14443_B, more, 9);
                    iso14443b_picc_frame(&c, more, 11, &out);
                    if (!rate_table_offers((uint8_t)cap, 3, 3)) {
                        assert_int_equal(out.kind, ISO14443B_PICC_SILENT);
                        assert_int_equal(c.state, ISO14443B_PICC_ACTIVE);
                    }
                    continue;
                }
                refused++;
                if (out.kind != ISO14443B_PICC_SILENT || out.rates_changed)
                    fail_msg("Bit_Rate_capability %02X: Param2 %02X taken", cap, attrib[6]);
                assert_int_equal(c.state, ISO14443B_PICC_READY_DECLARED);
                attrib[6] = 0x08;
                iso14443_crc_append(ISO14443_B, attrib, 9);
                iso14443b_picc_frame(&c, attrib, 11, &out);
                assert_int_equal(out.kind, ISO14443B_PICC_ANSWER);
                assert_memory_equal(out.data, answer, 3);
                assert_int_equal(out.dsi, ISO14443_106);
                assert_int_equal(out.dri, ISO14443_106);
            }
    print_message("ATTRIB: %u of 4096 capability x Param2 answered, %u refused\n", answered,
                  refused);
    /* The same count as TA(1)'s (the same coding): 128 + 400 + 112. */
    assert_int_equal(answered, 640);
    assert_int_equal(refused, 4096 - 640);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(atqb_layout),
        cmocka_unit_test(single_card_frames),
        cmocka_unit_test(two_cards_slots),
        cmocka_unit_test(picc_rules),
        cmocka_unit_test(pcd_errors),
        cmocka_unit_test(attrib_every_rate_byte),
        cmocka_unit_test(picc_attrib_only_offered_rates),
        cmocka_unit_test(three_cards_every_draw),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

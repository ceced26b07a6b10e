/*
 * The virtual card's RF side (host/vcard/rf_field.c) on exact frames: the
 * Moroccan-style Type A persona and the Algerian-style Type B one, their
 * bit rate offer (TA(1) of the ATS, Bit_Rate_capability of the ATQB) set
 * by the test. A PPS or an ATTRIB choosing a divisor the card did not offer
 * gets no frame back and the card stays at 106 kbit/s (a frame at the
 * refused rate is not understood); one it offered is answered (D0 73 87;
 * MBLI|CID and CRC_B) and the card answers at the new rate from then on
 * (ISO/IEC 14443-4 5.6, 14443-3 7.10).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hawiya/simline.h"
#include "persona.h"
#include "rf_field.h"
#include "vcard.h"

static struct persona persona;
static struct vcard card;
static struct rf_field field;

static int test_rng(void *ctx, uint8_t *out, size_t n)
{
    (void)ctx;
    memset(out, 0x5A, n);
    return 0;
}

/* The persona in the field, powered, its offer byte replaced by `cap`. */
static void tap(const char *id, uint8_t cap)
{
    char path[4096];
    const char *dir = getenv("HAWIYA_TEST_DATA");
    snprintf(path, sizeof path, "%s/personas.json", dir ? dir : "tests/data");
    struct persona_diag d;
    assert_int_equal(persona_load_file(path, id, &persona, &d), PERSONA_OK);
    if (persona.cl.type == ISO14443_A) {
        assert_int_equal(persona.cl.ats[1] & 0x10, 0x10); /* T0: TA(1) present */
        persona.cl.ats[2] = cap;
    } else {
        persona.cl.proto[0] = cap;
    }
    assert_int_equal(vcard_init(&card, &persona, test_rng, NULL), VCARD_OK);
    rf_field_init(&field);
    assert_int_equal(rf_field_place(&field, 0, &card, &persona, 1), 0);
    rf_field_enter(&field, 0);
    struct simline_msg on = {.type = SIMLINE_RF_FIELD, .t_ns = 1000000, .u.field = 1};
    rf_field_input(&field, &on);
}

struct answer {
    bool has;
    enum iso14443_rate rate;
    size_t bits;
    uint8_t data[300];
};

/* One frame from the reader (CRC added when crc) at `rate`; the card's answer. */
static struct answer xfer(enum iso14443_type t, const uint8_t *d, size_t bits, bool crc,
                          enum iso14443_rate rate)
{
    uint8_t f[300];
    memcpy(f, d, (bits + 7) / 8);
    if (crc) {
        iso14443_crc_append(t, f, bits / 8);
        bits += 16;
    }
    struct simline_msg m = {.type = SIMLINE_RF_FRAME, .t_ns = field.now_ns + 1000000};
    m.u.rf = (struct simline_rf){
        .type = (uint8_t)t, .rate = (uint8_t)rate, .n_bits = (uint16_t)bits, .data = f};
    field.out_len = 0;
    rf_field_input(&field, &m);
    struct answer a = {0};
    for (size_t off = 0, used = 0; off < field.out_len; off += used) {
        struct simline_msg r;
        assert_int_equal(simline_decode(field.out + off, field.out_len - off, &r, &used),
                         SIMLINE_OK);
        if (r.type != SIMLINE_RF_FRAME)
            continue;
        assert_false(a.has); /* one card, one answer */
        a.has = true;
        a.rate = (enum iso14443_rate)r.u.rf.rate;
        a.bits = r.u.rf.n_bits;
        memcpy(a.data, r.u.rf.data, (a.bits + 7) / 8);
    }
    return a;
}

/* WUPA, SELECT (one cascade level), RATS: the card speaks 14443-4. */
static void activate_a(void)
{
    static const uint8_t wupa = 0x52;
    struct answer a = xfer(ISO14443_A, &wupa, 7, false, ISO14443_106);
    assert_true(a.has);
    assert_memory_equal(a.data, persona.cl.atqa, 2);
    const uint8_t *u = persona.cl.uid;
    assert_int_equal(persona.cl.uid_len, 4);
    uint8_t sel[7] = {0x93, 0x70, u[0], u[1], u[2], u[3], (uint8_t)(u[0] ^ u[1] ^ u[2] ^ u[3])};
    a = xfer(ISO14443_A, sel, 56, true, ISO14443_106);
    assert_true(a.has);
    assert_int_equal(a.data[0], persona.cl.sak);
    static const uint8_t rats[2] = {0xE0, 0x80};
    a = xfer(ISO14443_A, rats, 16, true, ISO14443_106);
    assert_true(a.has);
    assert_int_equal(a.bits, 8 * (persona.cl.ats_len + 2));
    assert_memory_equal(a.data, persona.cl.ats, persona.cl.ats_len);
}

/* An I-block (a SELECT of the eMRTD application) at `rate`: answered at that rate or not. */
static bool i_block_answered(enum iso14443_type t, enum iso14443_rate rate)
{
    static const uint8_t blk[] = {0x02, 0x00, 0xA4, 0x04, 0x0C, 0x07, 0xA0,
                                  0x00, 0x00, 0x02, 0x47, 0x10, 0x01};
    struct answer a = xfer(t, blk, 8 * sizeof blk, true, rate);
    if (!a.has)
        return false;
    assert_int_equal(a.rate, rate);
    assert_int_equal(a.data[0], 0x02); /* I-block, block number 0 */
    return true;
}

/* TA(1) 11: 212 kbit/s both ways and nothing faster. */
static void type_a_pps_beyond_ta_refused(void **state)
{
    (void)state;
    tap("morocco-cl", 0x11);
    activate_a();
    static const uint8_t pps848[3] = {0xD0, 0x11, 0x0F}, pps424_212[3] = {0xD0, 0x11, 0x09},
                         pps212[3] = {0xD0, 0x11, 0x05};
    assert_false(xfer(ISO14443_A, pps848, 24, true, ISO14443_106).has);
    assert_false(xfer(ISO14443_A, pps424_212, 24, true, ISO14443_106).has);
    /* still at 106: a frame at 848 kbit/s is not understood */
    assert_false(i_block_answered(ISO14443_A, ISO14443_848));
    struct answer a = xfer(ISO14443_A, pps212, 24, true, ISO14443_106);
    assert_true(a.has);
    assert_int_equal(a.rate, ISO14443_106); /* the PPS response goes at the old rate */
    static const uint8_t response[3] = {0xD0, 0x73, 0x87};
    assert_int_equal(a.bits, 24);
    assert_memory_equal(a.data, response, 3);
    assert_true(i_block_answered(ISO14443_A, ISO14443_212));
}

/* TA(1) 77 (the persona's own): 848 kbit/s both ways is taken. */
static void type_a_pps_offered_taken(void **state)
{
    (void)state;
    tap("morocco-cl", 0x77);
    activate_a();
    static const uint8_t pps848[3] = {0xD0, 0x11, 0x0F}, response[3] = {0xD0, 0x73, 0x87};
    struct answer a = xfer(ISO14443_A, pps848, 24, true, ISO14443_106);
    assert_true(a.has);
    assert_memory_equal(a.data, response, 3);
    assert_false(i_block_answered(ISO14443_A, ISO14443_106));
    assert_true(i_block_answered(ISO14443_A, ISO14443_848));
}

/* WUPB (one slot): the ATQB with the offer byte. */
static void wake_b(uint8_t cap)
{
    static const uint8_t wupb[3] = {0x05, 0x00, 0x08};
    struct answer a = xfer(ISO14443_B, wupb, 24, true, ISO14443_106);
    assert_true(a.has);
    assert_int_equal(a.data[0], 0x50);
    assert_memory_equal(a.data + 1, persona.cl.pupi, 4);
    assert_int_equal(a.data[9], cap);
}

static struct answer attrib(uint8_t param2)
{
    const uint8_t *p = persona.cl.pupi;
    uint8_t f[9] = {0x1D, p[0], p[1], p[2], p[3], 0x00, param2, 0x01, 0x00};
    return xfer(ISO14443_B, f, 72, true, ISO14443_106);
}

/* Bit_Rate_capability 00: 106 kbit/s only; then 22: 424 kbit/s both ways
 * (b6 PICC to PCD, b2 PCD to PICC). Param2: DSI << 6 | DRI << 4 | FSDI 8. */
static void type_b_attrib_beyond_capability_refused(void **state)
{
    (void)state;
    tap("algeria-cl", 0x00);
    wake_b(0x00);
    assert_false(attrib(0xF8).has); /* 848 both ways */
    assert_false(attrib(0x48).has); /* 212 PICC to PCD */
    assert_false(attrib(0x18).has); /* 212 PCD to PICC */
    struct answer a = attrib(0x08);
    assert_true(a.has);
    uint8_t expect[3] = {(uint8_t)(persona.cl.mbli << 4)};
    iso14443_crc_append(ISO14443_B, expect, 1);
    assert_int_equal(a.bits, 24);
    assert_memory_equal(a.data, expect, 3);
    assert_true(i_block_answered(ISO14443_B, ISO14443_106));

    tap("algeria-cl", 0x22);
    wake_b(0x22);
    static const uint8_t refused[] = {0xF8, 0xB8, 0xE8, 0x98, 0x68};
    for (size_t i = 0; i < sizeof refused; i++)
        if (attrib(refused[i]).has)
            fail_msg("Param2 %02X answered", refused[i]);
    a = attrib(0xA8);
    assert_true(a.has);
    assert_int_equal(a.rate, ISO14443_106); /* the answer at the old rate */
    assert_memory_equal(a.data, expect, 3);
    assert_false(i_block_answered(ISO14443_B, ISO14443_106));
    assert_true(i_block_answered(ISO14443_B, ISO14443_424));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(type_a_pps_beyond_ta_refused),
        cmocka_unit_test(type_a_pps_offered_taken),
        cmocka_unit_test(type_b_attrib_beyond_capability_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

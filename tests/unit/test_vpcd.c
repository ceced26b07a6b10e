/*
 * vpcd: the card's end of vsmartcard's vpcd link, byte for byte: framing
 * (2-byte big-endian length), the controls (power off / on / reset, ATR)
 * and command APDUs answered by the virtual card, the largest response the
 * 16-bit length carries, and every malformed message named.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loopback_applet.h"
#include "persona.h"
#include "vcard.h"
#include "vpcd.h"

struct env {
    struct persona persona;
    struct vcard card;
    struct vpcd_card vc;
    uint8_t out[VPCD_MAX_MESSAGE];
};

static struct env *card(const char *id)
{
    struct env *e = calloc(1, sizeof *e);
    char path[4096];
    struct persona_diag d;
    assert_non_null(e);
    snprintf(path, sizeof path, "%s/personas.json", getenv("HAWIYA_TEST_DATA"));
    assert_int_equal(persona_load_file(path, id, &e->persona, &d), PERSONA_OK);
    assert_int_equal(vcard_init(&e->card, &e->persona, NULL, NULL), VCARD_OK);
    assert_int_equal(loopback_applet_register(&e->card), VCARD_OK);
    e->vc = (struct vpcd_card){.card = &e->card, .persona = &e->persona};
    return e;
}

static void done(struct env *e)
{
    persona_clear(&e->persona);
    free(e);
}

static void framing(void **state)
{
    (void)state;
    size_t n;
    static const uint8_t m[] = {0x00, 0x05, 0x00, 0xA4, 0x04, 0x00, 0x00, 0xFF};
    assert_int_equal(vpcd_frame(m, 0, &n), VPCD_ERR_NEED_MORE);
    assert_int_equal(vpcd_frame(m, 1, &n), VPCD_ERR_NEED_MORE);
    assert_int_equal(vpcd_frame(m, 6, &n), VPCD_ERR_NEED_MORE);
    assert_int_equal(n, 7);
    assert_int_equal(vpcd_frame(m, sizeof m, &n), VPCD_OK);
    assert_int_equal(n, 7); /* the byte after belongs to the next message */
    static const uint8_t empty[] = {0x00, 0x00};
    assert_int_equal(vpcd_frame(empty, 2, &n), VPCD_ERR_EMPTY);
    assert_int_equal(n, 2);
    static const uint8_t big[] = {0xFF, 0xFF};
    assert_int_equal(vpcd_frame(big, 2, &n), VPCD_ERR_NEED_MORE);
    assert_int_equal(n, VPCD_MAX_MESSAGE);
}

static void controls(void **state)
{
    (void)state;
    struct env *e = card("default");
    size_t n;
    uint8_t c = VPCD_CTRL_ATR;
    /* The ATR of the persona (tests/data/personas.json), framed. */
    static const uint8_t atr[] = {0x00, 0x0D, 0x3B, 0x95, 0x96, 0x80, 0x31, 0xFE,
                                  0x45, 0x80, 0x73, 0xB4, 0x21, 0x40, 0x2F};
    assert_int_equal(vpcd_handle(&e->vc, &c, 1, e->out, sizeof e->out, &n), VPCD_OK);
    assert_int_equal(n, sizeof atr);
    assert_memory_equal(e->out, atr, n);
    c = VPCD_CTRL_ON;
    assert_int_equal(vpcd_handle(&e->vc, &c, 1, e->out, sizeof e->out, &n), VPCD_OK);
    assert_int_equal(n, 0);
    assert_true(e->vc.powered);
    c = VPCD_CTRL_OFF;
    assert_int_equal(vpcd_handle(&e->vc, &c, 1, e->out, sizeof e->out, &n), VPCD_OK);
    assert_int_equal(n, 0);
    assert_false(e->vc.powered);
    c = VPCD_CTRL_RESET;
    assert_int_equal(vpcd_handle(&e->vc, &c, 1, e->out, sizeof e->out, &n), VPCD_OK);
    assert_true(e->vc.powered);
    for (unsigned x = 0; x < 256; x++) {
        c = (uint8_t)x;
        enum vpcd_err r = vpcd_handle(&e->vc, &c, 1, e->out, sizeof e->out, &n);
        bool known = x == 0 || x == 1 || x == 2 || x == 4;
        assert_int_equal(r, known ? VPCD_OK : VPCD_ERR_CONTROL);
    }
    assert_int_equal(vpcd_handle(&e->vc, &c, 0, e->out, sizeof e->out, &n), VPCD_ERR_EMPTY);
    c = VPCD_CTRL_ATR;
    assert_int_equal(vpcd_handle(&e->vc, &c, 1, e->out, 14, &n), VPCD_ERR_BUFFER);
    assert_int_equal(e->vc.controls, 4 + 256 + 1);
    done(e);
}

static void apdus(void **state)
{
    (void)state;
    struct env *e = card("default");
    size_t n;
    static const uint8_t select[] = {0x00, 0xA4, 0x04, 0x00, 0x07, 0xF0,
                                     0x48, 0x41, 0x57, 0x49, 0x59, 0x41};
    assert_int_equal(vpcd_handle(&e->vc, select, sizeof select, e->out, sizeof e->out, &n),
                     VPCD_OK);
    assert_int_equal(n, 4);
    assert_memory_equal(e->out, "\x00\x02\x90\x00", 4);
    /* Case 4 short: data 05 06 07 (P1 = 05), 4 bytes back from P2 = 0x10. */
    static const uint8_t c4[] = {0x00, LOOPBACK_INS, 0x05, 0x10, 0x03, 0x05, 0x06, 0x07, 0x04};
    assert_int_equal(vpcd_handle(&e->vc, c4, sizeof c4, e->out, sizeof e->out, &n), VPCD_OK);
    static const uint8_t r4[] = {0x00, 0x06, 0x10, 0x11, 0x12, 0x13, 0x90, 0x00};
    assert_int_equal(n, sizeof r4);
    assert_memory_equal(e->out, r4, n);
    /* Wrong data: 6A80 from the card, still one answer. */
    static const uint8_t bad[] = {0x00, LOOPBACK_INS, 0x05, 0x10, 0x01, 0x04};
    assert_int_equal(vpcd_handle(&e->vc, bad, sizeof bad, e->out, sizeof e->out, &n), VPCD_OK);
    assert_memory_equal(e->out, "\x00\x02\x6A\x80", 4);
    /* Extended Le 0000 = 65536: the 16-bit length carries 65533 data bytes and the SW. */
    static const uint8_t big[] = {0x00, LOOPBACK_INS, 0x00, 0x00, 0x00, 0x00, 0x00};
    assert_int_equal(vpcd_handle(&e->vc, big, sizeof big, e->out, sizeof e->out, &n), VPCD_OK);
    assert_int_equal(n, VPCD_MAX_MESSAGE);
    assert_int_equal(e->out[0] << 8 | e->out[1], 0xFFFF);
    for (size_t i = 0; i < 65533; i++)
        assert_int_equal(e->out[2 + i], (uint8_t)i);
    assert_memory_equal(e->out + 2 + 65533, "\x90\x00", 2);
    /* A garbled command is still answered (6700), never dropped. */
    static const uint8_t garbled[] = {0x00, 0xB0, 0x00, 0x00, 0x05, 0x01};
    assert_int_equal(vpcd_handle(&e->vc, garbled, sizeof garbled, e->out, sizeof e->out, &n),
                     VPCD_OK);
    assert_memory_equal(e->out, "\x00\x02\x67\x00", 4);
    assert_int_equal(vpcd_handle(&e->vc, select, sizeof select, e->out, 3, &n), VPCD_ERR_BUFFER);
    assert_int_equal(e->vc.apdus, 5);
    assert_string_equal(vpcd_err_str(VPCD_ERR_CONTROL), "VPCD_ERR_CONTROL");
    done(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(framing),
        cmocka_unit_test(controls),
        cmocka_unit_test(apdus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * ISO/IEC 14443 shared pieces: the CRC examples of 14443-3 Annex B, the
 * check values of the CRC catalogue (CRC-16/ISO-IEC-14443-3-A "123456789"
 * = BF05, CRC-16/IBM-SDLC = X-25 = 906E), frames every reader log shows
 * (HLTA 50 00 57 CD, RATS E0 80 31 73, WUPB 05 00 08 39 73), the frame size
 * table of 14443-4 5.2.3 with Amendment 2, FWT / SFGT of 7.2 and 5.2.5, and
 * the air time of frames.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "hawiya/iso14443.h"

static void crc_a_annex_b(void **state)
{
    (void)state;
    const uint8_t z[2] = {0x00, 0x00}, x[2] = {0x12, 0x34};
    /* Annex B.1 / B.2: the CRC_A of 00 00 is sent A0 1E, of 12 34 is 26 CF. */
    assert_int_equal(iso14443_crc_a(z, 2), 0x1EA0);
    assert_int_equal(iso14443_crc_a(x, 2), 0xCF26);
    assert_int_equal(iso14443_crc_a((const uint8_t *)"123456789", 9), 0xBF05);
    uint8_t hlta[4] = {0x50, 0x00}, rats[4] = {0xE0, 0x80};
    iso14443_crc_append(ISO14443_A, hlta, 2);
    iso14443_crc_append(ISO14443_A, rats, 2);
    const uint8_t want_hlta[4] = {0x50, 0x00, 0x57, 0xCD}, want_rats[4] = {0xE0, 0x80, 0x31, 0x73};
    assert_memory_equal(hlta, want_hlta, 4);
    assert_memory_equal(rats, want_rats, 4);
    assert_true(iso14443_crc_ok(ISO14443_A, want_hlta, 4));
    uint8_t bad[4];
    memcpy(bad, want_hlta, 4);
    bad[1] ^= 0x01;
    assert_false(iso14443_crc_ok(ISO14443_A, bad, 4));
    assert_false(iso14443_crc_ok(ISO14443_A, bad, 1));
    /* CRC_B over the same bytes differs. */
    assert_false(iso14443_crc_ok(ISO14443_B, want_hlta, 4));
}

static void crc_b_annex_b(void **state)
{
    (void)state;
    const uint8_t a[3] = {0x00, 0x00, 0x00}, b[3] = {0x0F, 0xAA, 0xFF},
                  c[4] = {0x0A, 0x12, 0x34, 0x56};
    assert_int_equal(iso14443_crc_b(a, 3), 0xC6CC);
    assert_int_equal(iso14443_crc_b(b, 3), 0xD1FC);
    assert_int_equal(iso14443_crc_b(c, 4), 0xF62C);
    assert_int_equal(iso14443_crc_b((const uint8_t *)"123456789", 9), 0x906E);
    uint8_t wupb[5] = {0x05, 0x00, 0x08}, reqb[5] = {0x05, 0x00, 0x00};
    iso14443_crc_append(ISO14443_B, wupb, 3);
    iso14443_crc_append(ISO14443_B, reqb, 3);
    const uint8_t want_wupb[5] = {0x05, 0x00, 0x08, 0x39, 0x73},
                  want_reqb[5] = {0x05, 0x00, 0x00, 0x71, 0xFF};
    assert_memory_equal(wupb, want_wupb, 5);
    assert_memory_equal(reqb, want_reqb, 5);
    assert_true(iso14443_crc_ok(ISO14443_B, want_wupb, 5));
}

static void frame_sizes(void **state)
{
    (void)state;
    static const size_t want[16] = {16,  24,  32,   40,   48,   64,   96,   128,
                                    256, 512, 1024, 2048, 4096, 4096, 4096, 4096};
    for (uint8_t i = 0; i < 16; i++)
        assert_int_equal(iso14443_fs(i), want[i]);
    assert_int_equal(iso14443_fsi_for(256), 8);
    assert_int_equal(iso14443_fsi_for(255), 7);
    assert_int_equal(iso14443_fsi_for(16), 0);
    assert_int_equal(iso14443_fsi_for(100000), 12);
}

static void waiting_times(void **state)
{
    (void)state;
    /* FWT = 256 x 16 / fc x 2^FWI: 4.833 ms at FWI 4, 154.7 ms at 9 (the
     * Algerian card), 4949 ms at 14; FWI 15 is RFU and counts as 4. */
    assert_int_equal(iso14443_fwt_ns(0), 302065);
    assert_int_equal(iso14443_fwt_ns(4), 4833039);
    assert_int_equal(iso14443_fwt_ns(9), 154657228);
    assert_int_equal(iso14443_fwt_ns(14), 4949031269ull);
    assert_int_equal(iso14443_fwt_ns(15), iso14443_fwt_ns(4));
    assert_int_equal(iso14443_sfgt_ns(0), 0);
    assert_int_equal(iso14443_sfgt_ns(15), 0);
    assert_int_equal(iso14443_sfgt_ns(1), 604130);
    /* 128 / fc = 9.4395 us; 16 / fc at 848 kbit/s. */
    assert_int_equal(iso14443_etu_ps(ISO14443_106), 9439528);
    assert_int_equal(iso14443_etu_ps(ISO14443_848), 1179941);
    /* 14443-3 6.2.1.1: 1172 / fc = 86.43 us; Type B TR0 1024 / fc. */
    assert_int_equal(iso14443_fdt_ns(ISO14443_A), 86431);
    assert_int_equal(iso14443_fdt_ns(ISO14443_B), 75517);
}

static void air_time(void **state)
{
    (void)state;
    /* REQA: start, 7 bits, end = 9 bit periods at 106 kbit/s. */
    assert_int_equal(iso14443_frame_ns(ISO14443_A, ISO14443_106, false, 7), 84956);
    /* SELECT (9 bytes): 1 + 72 + 9 parity + 1 = 83 bit periods. */
    assert_int_equal(iso14443_frame_ns(ISO14443_A, ISO14443_106, false, 72), 783481);
    /* ATQB (14 bytes with CRC) from the PICC: TR1 10 + SOF 12 + 140 + EOF 10 etu. */
    assert_int_equal(iso14443_frame_ns(ISO14443_B, ISO14443_106, true, 112), 1623599);
    /* The same frame from the PCD has no TR1; 848 kbit/s takes an eighth. */
    assert_int_equal(iso14443_frame_ns(ISO14443_B, ISO14443_848, false, 112), 191151);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(crc_a_annex_b), cmocka_unit_test(crc_b_annex_b),
        cmocka_unit_test(frame_sizes),   cmocka_unit_test(waiting_times),
        cmocka_unit_test(air_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * pcsc_part10: the PC/SC Part 10 answers a reader's driver gives, parsed as
 * the specification lays them out (feature TLVs with big-endian control
 * codes, properties with little-endian values, AMD1's PACE command and
 * answer), and every malformed variant refused by name.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "pcsc_part10.h"

static void features(void **state)
{
    (void)state;
    /* As libccid answers for a PIN pad: VERIFY_PIN_DIRECT, GET_TLV_PROPERTIES,
     * CCID_ESC_COMMAND, EXECUTE_PACE, each SCARD_CTL_CODE(0x330000 + tag). */
    static const uint8_t a[] = {0x06, 0x04, 0x42, 0x33, 0x00, 0x06, 0x12, 0x04, 0x42,
                                0x33, 0x00, 0x12, 0x13, 0x04, 0x42, 0x33, 0x00, 0x13,
                                0x20, 0x04, 0x42, 0x33, 0x00, 0x20, 0x41, 0x04, 0x01,
                                0x02, 0x03, 0x04, 0x12, 0x04, 0xFF, 0xFF, 0xFF, 0xFF};
    struct pcsc10_features f;
    assert_int_equal(pcsc10_features_parse(a, sizeof a, &f), PCSC10_OK);
    assert_int_equal(f.code[PCSC10_FEATURE_VERIFY_PIN_DIRECT], 0x42330006u);
    assert_int_equal(f.code[PCSC10_FEATURE_GET_TLV_PROPERTIES], 0x42330012u); /* first kept */
    assert_int_equal(f.code[PCSC10_FEATURE_CCID_ESC_COMMAND], 0x42330013u);
    assert_int_equal(f.code[PCSC10_FEATURE_EXECUTE_PACE], 0x42330020u);
    assert_int_equal(f.code[0x01], 0);
    assert_int_equal(pcsc10_features_parse(a, 0, &f), PCSC10_OK); /* none offered */
    assert_int_equal(f.code[PCSC10_FEATURE_GET_TLV_PROPERTIES], 0);

    assert_int_equal(pcsc10_features_parse(a, 1, &f), PCSC10_ERR_TRUNCATED);
    assert_int_equal(pcsc10_features_parse(a, 5, &f), PCSC10_ERR_TRUNCATED);
    assert_int_equal(pcsc10_features_parse(a, 7, &f), PCSC10_ERR_TRUNCATED);
    static const uint8_t bad_len[] = {0x12, 0x02, 0x42, 0x33};
    assert_int_equal(pcsc10_features_parse(bad_len, sizeof bad_len, &f), PCSC10_ERR_LENGTH);
    assert_int_equal(f.code[PCSC10_FEATURE_GET_TLV_PROPERTIES], 0); /* nothing half-kept */
}

static void properties(void **state)
{
    (void)state;
    static const uint8_t a[] = {
        0x01, 0x02, 0x00, 0x00,                      /* wLcdLayout: ignored */
        0x0A, 0x04, 0x00, 0x00, 0x01, 0x00,          /* dwMaxAPDUDataSize 65536 */
        0x0B, 0x02, 0x09, 0x12,                      /* wIdVendor 0x1209 */
        0x0C, 0x02, 0x01, 0x00,                      /* wIdProduct 0x0001 */
        0x08, 0x06, 'h',  'a',  'w',  0x01, 'y', 'a' /* sFirmwareID, one byte unprintable */
    };
    struct pcsc10_properties p;
    assert_int_equal(pcsc10_properties_parse(a, sizeof a, &p), PCSC10_OK);
    assert_true(p.has_max_apdu);
    assert_int_equal(p.max_apdu_data, 65536);
    assert_true(p.has_ids);
    assert_int_equal(p.vendor, 0x1209);
    assert_int_equal(p.product, 0x0001);
    assert_string_equal(p.firmware, "haw?ya");

    /* A short-APDU reader says 0; a property of a wrong size is an error. */
    static const uint8_t zero[] = {0x0A, 0x04, 0x00, 0x00, 0x00, 0x00};
    assert_int_equal(pcsc10_properties_parse(zero, sizeof zero, &p), PCSC10_OK);
    assert_true(p.has_max_apdu && p.max_apdu_data == 0 && !p.has_ids);
    static const uint8_t three[] = {0x0A, 0x03, 0x00, 0x00, 0x01};
    assert_int_equal(pcsc10_properties_parse(three, sizeof three, &p), PCSC10_ERR_LENGTH);
    static const uint8_t vid1[] = {0x0B, 0x01, 0x09};
    assert_int_equal(pcsc10_properties_parse(vid1, sizeof vid1, &p), PCSC10_ERR_LENGTH);
    assert_int_equal(pcsc10_properties_parse(a, 9, &p), PCSC10_ERR_TRUNCATED);
    assert_int_equal(pcsc10_properties_parse(a, 5, &p), PCSC10_ERR_TRUNCATED);
}

static void pace_command(void **state)
{
    (void)state;
    uint8_t out[64];
    size_t n;
    /* PIN typed on the reader: bIndex 02, wLengthInputData 5, bPinID 02 (CAN),
     * bLengthCHAT 0, bLengthPIN 0, wLengthCertificateDescription 0. */
    static const uint8_t keypad[] = {0x02, 0x05, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00};
    assert_int_equal(pcsc10_pace_establish_cmd(PCSC10_PACE_PIN_CAN, NULL, 0, out, sizeof out, &n),
                     PCSC10_OK);
    assert_int_equal(n, sizeof keypad);
    assert_memory_equal(out, keypad, n);
    static const uint8_t given[] = {0x02, 0x0B, 0x00, 0x01, 0x00, 0x06, '1',
                                    '2',  '3',  '4',  '5',  '6',  0x00, 0x00};
    assert_int_equal(pcsc10_pace_establish_cmd(PCSC10_PACE_PIN_MRZ, (const uint8_t *)"123456", 6,
                                               out, sizeof out, &n),
                     PCSC10_OK);
    assert_int_equal(n, sizeof given);
    assert_memory_equal(out, given, n);
    assert_int_equal(pcsc10_pace_establish_cmd(PCSC10_PACE_PIN_CAN, NULL, 0, out, 7, &n),
                     PCSC10_ERR_BUFFER);
    assert_int_equal(pcsc10_pace_establish_cmd(PCSC10_PACE_PIN_CAN, NULL, 3, out, sizeof out, &n),
                     PCSC10_ERR_LENGTH);
}

static void pace_answer_and_output(void **state)
{
    (void)state;
    /* dwResult 0, wLengthOutputData 12, then the output: MSE:Set AT 9000,
     * EF.CardAccess (2 bytes), no CARs, IDicc (2 bytes); a byte too many. */
    static const uint8_t a[] = {0x00, 0x00, 0x00, 0x00, 0x0C, 0x00, 0x90, 0x00, 0x02, 0x00,
                                0x31, 0x00, 0x00, 0x00, 0x02, 0x00, 0x04, 0x05, 0xAA};
    uint32_t result;
    const uint8_t *out;
    size_t len;
    assert_int_equal(pcsc10_pace_answer(a, sizeof a - 1, &result, &out, &len), PCSC10_OK);
    assert_int_equal(result, 0);
    assert_int_equal(len, 12);
    assert_ptr_equal(out, a + 6);
    struct pcsc10_pace_output po;
    assert_int_equal(pcsc10_pace_output_parse(out, len, &po), PCSC10_OK);
    assert_int_equal(po.mse_sw, 0x9000);
    assert_int_equal(pcsc10_pace_output_parse(out, len - 1, &po), PCSC10_ERR_TRUNCATED);
    assert_int_equal(pcsc10_pace_answer(a, sizeof a, &result, &out, &len), PCSC10_ERR_LENGTH);
    assert_int_equal(pcsc10_pace_answer(a, 5, &result, &out, &len), PCSC10_ERR_TRUNCATED);

    static const uint8_t o[] = {0x90, 0x00, 0x02, 0x00, 0x31, 0x00, 0x01,
                                0x41, 0x00, 0x02, 0x00, 0x04, 0x05};
    assert_int_equal(pcsc10_pace_output_parse(o, sizeof o, &po), PCSC10_OK);
    assert_int_equal(po.mse_sw, 0x9000);
    assert_int_equal(po.ef_cardaccess_len, 2);
    assert_memory_equal(po.ef_cardaccess, "\x31\x00", 2);
    assert_int_equal(po.id_icc_len, 2);
    assert_memory_equal(po.id_icc, "\x04\x05", 2);
    for (size_t n = 0; n < sizeof o; n++)
        assert_int_equal(pcsc10_pace_output_parse(o, n, &po), PCSC10_ERR_TRUNCATED);
    uint8_t longer[sizeof o + 1];
    memcpy(longer, o, sizeof o);
    longer[sizeof o] = 0;
    assert_int_equal(pcsc10_pace_output_parse(longer, sizeof longer, &po), PCSC10_ERR_LENGTH);

    /* A failed PACE: the card refused General Authenticate 4 with 6300 (a wrong CAN). */
    static const uint8_t failed[] = {0x00, 0x63, 0x04, 0xF0, 0x00, 0x00};
    assert_int_equal(pcsc10_pace_answer(failed, sizeof failed, &result, &out, &len), PCSC10_OK);
    assert_int_equal(result, 0xF0046300u);
    assert_null(out);
    assert_string_equal(pcsc10_pace_result_str(result),
                        "the card refused General Authenticate 4 (mutual authentication)");
    assert_string_equal(pcsc10_pace_result_str(0xF0200001u), "cancelled on the reader");
    assert_string_equal(pcsc10_pace_result_str(0x12345678u), "unknown");
    assert_string_equal(pcsc10_err_str(PCSC10_ERR_TRUNCATED), "PCSC10_ERR_TRUNCATED");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(features),
        cmocka_unit_test(properties),
        cmocka_unit_test(pace_command),
        cmocka_unit_test(pace_answer_and_output),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

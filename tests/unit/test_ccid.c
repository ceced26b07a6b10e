#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "hawiya/ccid.h"
#include "hawiya/hex.h"

#define MAX_MSG 271u /* dwMaxCCIDMessageLength of a short-APDU reader (ACR39U, below) */

static size_t unhex(const char *text, uint8_t *out, size_t cap)
{
    size_t n;
    assert_int_equal(hex_decode(text, strlen(text), out, cap, &n), HEX_OK);
    return n;
}

/* Encodes m and checks the exact bytes, then decodes them back to the same fields. */
static void round_trip(const struct ccid_msg *m, const char *want_hex)
{
    uint8_t want[300], out[300];
    size_t wn = unhex(want_hex, want, sizeof want), n;
    assert_int_equal(ccid_encode(m, out, sizeof out, &n), CCID_OK);
    assert_int_equal(n, wn);
    assert_memory_equal(out, want, n);

    struct ccid_msg d;
    size_t bad = 99;
    assert_int_equal(ccid_decode(want, wn, MAX_MSG, &d, &bad), CCID_OK);
    assert_int_equal(bad, 0);
    assert_int_equal(d.type, m->type);
    assert_int_equal(d.slot, m->slot);
    assert_int_equal(d.seq, m->seq);
    /* every proper prefix is a truncated message */
    for (size_t cut = 0; cut < wn; cut++)
        assert_int_equal(ccid_decode(want, cut, MAX_MSG, &d, NULL), CCID_ERR_TRUNCATED);
    assert_int_equal(ccid_decode(want, wn, MAX_MSG, &d, &bad), CCID_OK);
    /* and the decoded message encodes to the same bytes again */
    assert_int_equal(ccid_encode(&d, out, sizeof out, &n), CCID_OK);
    assert_int_equal(n, wn);
    assert_memory_equal(out, want, n);
}

/* The brief's own example, from the §6.1.1 layout: IccPowerOn slot 0 seq 1, automatic voltage. */
static void icc_power_on(void **state)
{
    struct ccid_msg m = {.type = CCID_PC_TO_RDR_ICC_POWER_ON, .seq = 1};
    round_trip(&m, "62 00000000 00 01 00 0000");
    m.power_select = CCID_POWER_1V8;
    m.slot = 2;
    m.seq = 0xFF;
    round_trip(&m, "62 00000000 02 FF 03 0000");

    uint8_t buf[16];
    struct ccid_msg d;
    size_t n = unhex("62 00000000 00 01 03 0000", buf, sizeof buf), bad;
    assert_int_equal(ccid_decode(buf, n, MAX_MSG, &d, &bad), CCID_OK);
    assert_int_equal(d.power_select, CCID_POWER_1V8);
    assert_true(ccid_is_pc_to_rdr(d.type));
    assert_false(ccid_is_rdr_to_pc(d.type));
}

static void no_data_commands(void **state)
{
    struct ccid_msg m = {.type = CCID_PC_TO_RDR_ICC_POWER_OFF, .seq = 2};
    round_trip(&m, "63 00000000 00 02 000000");
    m.type = CCID_PC_TO_RDR_GET_SLOT_STATUS;
    round_trip(&m, "65 00000000 00 02 000000");
    m.type = CCID_PC_TO_RDR_GET_PARAMETERS;
    round_trip(&m, "6C 00000000 00 02 000000");
    m.type = CCID_PC_TO_RDR_RESET_PARAMETERS;
    round_trip(&m, "6D 00000000 00 02 000000");
    m.type = CCID_PC_TO_RDR_ABORT;
    round_trip(&m, "72 00000000 00 02 000000");
    m.type = CCID_PC_TO_RDR_ICC_CLOCK;
    m.clock_command = CCID_CLOCK_STOP;
    round_trip(&m, "6E 00000000 00 02 01 0000");
    m.type = CCID_PC_TO_RDR_MECHANICAL;
    m.function = CCID_MECH_EJECT_CARD;
    round_trip(&m, "71 00000000 00 02 02 0000");
    m = (struct ccid_msg){.type = CCID_PC_TO_RDR_T0_APDU,
                          .seq = 3,
                          .changes = CCID_T0APDU_CHANGE_GET_RESPONSE | CCID_T0APDU_CHANGE_ENVELOPE,
                          .class_get_response = 0xFF,
                          .class_envelope = 0x00};
    round_trip(&m, "6A 00000000 00 03 03 FF 00");
}

/* XfrBlock carrying SELECT eMRTD (ICAO 9303-10: 00 A4 04 0C 07 A0000002471001), bBWI 0. */
static void xfr_block_select(void **state)
{
    static const uint8_t apdu[] = {0x00, 0xA4, 0x04, 0x0C, 0x07, 0xA0,
                                   0x00, 0x00, 0x02, 0x47, 0x10, 0x01};
    struct ccid_msg m = {
        .type = CCID_PC_TO_RDR_XFR_BLOCK, .seq = 5, .data = apdu, .len = sizeof apdu};
    round_trip(&m, "6F 0C000000 00 05 00 0000 00A4040C07A0000002471001");

    /* Extended APDU level chaining: begin, bBWI 2, wLevelParameter 0x0001 little-endian. */
    m.bwi = 2;
    m.level_parameter = CCID_CHAIN_BEGIN;
    round_trip(&m, "6F 0C000000 00 05 02 0100 00A4040C07A0000002471001");

    uint8_t buf[64];
    size_t n = unhex("6F 0C000000 00 05 02 1000 00A4040C07A0000002471001", buf, sizeof buf), bad;
    struct ccid_msg d;
    assert_int_equal(ccid_decode(buf, n, MAX_MSG, &d, &bad), CCID_OK);
    assert_int_equal(d.level_parameter, 0x0010);
    assert_int_equal(d.bwi, 2);
    assert_int_equal(d.len, 12);
    assert_ptr_equal(d.data, buf + 10);

    /* Secure and Escape carry opaque data too. */
    static const uint8_t esc[] = {0xDE, 0xAD};
    m = (struct ccid_msg){.type = CCID_PC_TO_RDR_ESCAPE, .seq = 9, .data = esc, .len = 2};
    round_trip(&m, "6B 02000000 00 09 000000 DEAD");
    m.type = CCID_PC_TO_RDR_SECURE;
    m.level_parameter = 0x0000;
    round_trip(&m, "69 02000000 00 09 00 0000 DEAD");
}

/*
 * SetParameters T=1 with the 7816-3 defaults (Fi/Di 372/1 = TA1 0x11, LRC,
 * direct convention, no extra guard time, BWI 4 / CWI 13, IFSC 32, NAD 0),
 * and T=0 with WI 10 (TC2 default) -- Tables 6.1-2/6.1-3 of §6.1.7.
 */
static void set_parameters(void **state)
{
    struct ccid_msg m = {.type = CCID_PC_TO_RDR_SET_PARAMETERS, .seq = 7};
    m.params = (struct ccid_params){.protocol_num = CCID_PROTOCOL_T1,
                                    .findex_dindex = 0x11,
                                    .tccks = CCID_TCCKS_T1_BASE,
                                    .waiting_integer = 0x4D,
                                    .ifsc = 0x20};
    round_trip(&m, "61 07000000 00 07 01 0000 11 10 00 4D 00 20 00");

    m.params = (struct ccid_params){.protocol_num = CCID_PROTOCOL_T0,
                                    .findex_dindex = 0x96,
                                    .tccks = CCID_TCCKS_CONVENTION,
                                    .guard_time = 0x00,
                                    .waiting_integer = 0x0A,
                                    .clock_stop = 3};
    round_trip(&m, "61 05000000 00 07 00 0000 96 02 00 0A 03");

    uint8_t buf[32];
    struct ccid_msg d;
    size_t bad, n = unhex("61 07000000 00 07 01 0000 96 13 02 4D 00 FE 00", buf, sizeof buf);
    assert_int_equal(ccid_decode(buf, n, MAX_MSG, &d, &bad), CCID_OK);
    assert_int_equal(d.params.protocol_num, 1);
    assert_int_equal(d.params.findex_dindex, 0x96);
    assert_int_equal(d.params.tccks, 0x13); /* CRC, inverse convention */
    assert_int_equal(d.params.guard_time, 2);
    assert_int_equal(d.params.ifsc, 0xFE);
}

/* Each malformed message: the named error and the §6.2.6 offset of the bad byte. */
static void malformed_commands(void **state)
{
    static const struct {
        const char *hex;
        enum ccid_err err;
        size_t offset;
    } cases[] = {
        /* header */
        {"62 00000000 00 01 00 00", CCID_ERR_TRUNCATED, 9},
        {"", CCID_ERR_TRUNCATED, 0},
        {"99 00000000 00 01 00 0000", CCID_ERR_UNKNOWN_TYPE, 0},
        {"00 00000000 00 01 00 0000", CCID_ERR_UNKNOWN_TYPE, 0},
        {"50 00000000 00 01 00 0000", CCID_ERR_UNKNOWN_TYPE, 0}, /* interrupt-IN, not bulk */
        {"62 00000000 00 01 00 0000 00", CCID_ERR_TRAILING, 1},
        {"6F 05000000 00 01 00 0000 00A404", CCID_ERR_TRUNCATED, 1},
        {"6F FFFFFFFF 00 01 00 0000 00", CCID_ERR_TOO_LONG, 1},
        {"6F 06010000 00 01 00 0000", CCID_ERR_TOO_LONG, 1}, /* 10 + 262 > 271 */
        /* dwLength where none is allowed */
        {"62 01000000 00 01 00 0000 00", CCID_ERR_BAD_LENGTH, 1},
        {"65 01000000 00 01 000000 00", CCID_ERR_BAD_LENGTH, 1},
        /* RFU bytes */
        {"62 00000000 00 01 00 0100", CCID_ERR_RESERVED, 8},
        {"63 00000000 00 01 01 0000", CCID_ERR_RESERVED, 7},
        {"65 00000000 00 01 00 0001", CCID_ERR_RESERVED, 9},
        {"6B 00000000 00 01 00 8000", CCID_ERR_RESERVED, 8},
        {"72 00000000 00 01 00 0001", CCID_ERR_RESERVED, 9},
        {"6A 00000000 00 01 04 0000", CCID_ERR_RESERVED, 7},
        /* undefined values */
        {"62 00000000 00 01 04 0000", CCID_ERR_BAD_PARAM, 7},
        {"6E 00000000 00 01 02 0000", CCID_ERR_BAD_PARAM, 7},
        {"71 00000000 00 01 00 0000", CCID_ERR_BAD_PARAM, 7},
        {"71 00000000 00 01 06 0000", CCID_ERR_BAD_PARAM, 7},
        /* SetParameters: bProtocolNum and the structure length must agree */
        {"61 05000000 00 01 02 0000 1100000A00", CCID_ERR_BAD_PARAM, 7},
        {"61 05000000 00 01 01 0000 1110004D00", CCID_ERR_BAD_LENGTH, 1},
        {"61 07000000 00 01 00 0000 1100000A000000", CCID_ERR_BAD_LENGTH, 1},
        {"61 00000000 00 01 00 0000", CCID_ERR_BAD_LENGTH, 1},
        {"61 05000000 00 01 00 0000 1101000A00", CCID_ERR_BAD_PARAM, 11},     /* bmTCCKST0 */
        {"61 05000000 00 01 00 0000 1100000A04", CCID_ERR_BAD_PARAM, 14},     /* bClockStop */
        {"61 07000000 00 01 01 0000 1100004D002000", CCID_ERR_BAD_PARAM, 11}, /* bmTCCKST1 */
        {"61 07000000 00 01 01 0000 1114004D002000", CCID_ERR_BAD_PARAM, 11},
        {"61 07000000 00 01 01 0000 111000AD002000", CCID_ERR_BAD_PARAM, 13}, /* BWI 10 */
        {"61 07000000 00 01 01 0000 1110004D000000", CCID_ERR_BAD_PARAM, 15}, /* IFSC 0 */
        {"61 07000000 00 01 01 0000 1110004D00FF00", CCID_ERR_BAD_PARAM, 15}, /* IFSC FF */
        {"61 05000000 00 01 00 0100 1100000A00", CCID_ERR_RESERVED, 8},
        /* SetDataRateAndClockFrequency: exactly 8 bytes */
        {"73 07000000 00 01 000000 C012000067320000", CCID_ERR_TRAILING, 1},
        {"73 07000000 00 01 000000 C0120000673200", CCID_ERR_BAD_LENGTH, 1},
        {"73 08000000 00 01 010000 C012000067320000", CCID_ERR_RESERVED, 7},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t buf[64];
        size_t n = unhex(cases[i].hex, buf, sizeof buf), bad = 99;
        struct ccid_msg d;
        memset(&d, 0xA5, sizeof d);
        enum ccid_err e = ccid_decode(buf, n, MAX_MSG, &d, &bad);
        if (e != cases[i].err || bad != cases[i].offset)
            fail_msg("case %zu (%s): %s at %zu, want %s at %zu", i, cases[i].hex, ccid_err_str(e),
                     bad, ccid_err_str(cases[i].err), cases[i].offset);
        /* State left clean. */
        assert_int_equal(d.type, 0);
        assert_null(d.data);
        assert_int_equal(d.len, 0);
    }
    struct ccid_msg d;
    assert_int_equal(ccid_decode(NULL, 10, MAX_MSG, &d, NULL), CCID_ERR_TRUNCATED);
}

static void set_data_rate_and_clock(void **state)
{
    /* 4.8 MHz (4800 kHz = 0x12C0) and 12903 bps (0x3267), the ACR39U defaults below. */
    struct ccid_msg m = {.type = CCID_PC_TO_RDR_SET_DATA_RATE_AND_CLOCK_FREQUENCY,
                         .seq = 4,
                         .clock_frequency = 4800,
                         .data_rate = 12903};
    round_trip(&m, "73 08000000 00 04 000000 C0120000 67320000");
    m = (struct ccid_msg){.type = CCID_RDR_TO_PC_DATA_RATE_AND_CLOCK_FREQUENCY,
                          .seq = 4,
                          .clock_frequency = 4800,
                          .data_rate = 12903};
    round_trip(&m, "84 08000000 00 04 00 00 00 C0120000 67320000");
}

/* A cold reset answered with a 15-byte T=1 ATR, card present and active. */
static void data_block_with_atr(void **state)
{
    static const uint8_t atr[] = {0x3B, 0x8A, 0x80, 0x01, 0x80, 0x31, 0xF8, 0x73,
                                  0xF7, 0x41, 0xE0, 0x82, 0x90, 0x00, 0x75};
    struct ccid_msg m = {.type = CCID_RDR_TO_PC_DATA_BLOCK,
                         .seq = 1,
                         .status = ccid_status(CCID_ICC_PRESENT_ACTIVE, CCID_CMD_OK),
                         .data = atr,
                         .len = sizeof atr};
    round_trip(&m, "80 0F000000 00 01 00 00 00 3B8A80018031F873F741E082900075");

    uint8_t buf[64];
    size_t bad,
        n = unhex("80 0F000000 00 01 00 00 00 3B8A80018031F873F741E082900075", buf, sizeof buf);
    struct ccid_msg d;
    assert_int_equal(ccid_decode(buf, n, MAX_MSG, &d, &bad), CCID_OK);
    assert_true(ccid_is_rdr_to_pc(d.type));
    assert_int_equal(ccid_status_icc(d.status), CCID_ICC_PRESENT_ACTIVE);
    assert_int_equal(ccid_status_command(d.status), CCID_CMD_OK);
    assert_int_equal(d.len, 15);
    assert_memory_equal(d.data, atr, 15);

    /* Extended APDU chaining in bChainParameter: 0x10 "empty, more to come". */
    m = (struct ccid_msg){.type = CCID_RDR_TO_PC_DATA_BLOCK,
                          .seq = 2,
                          .chain_parameter = CCID_CHAIN_EMPTY_EXPECT_MORE};
    round_trip(&m, "80 00000000 00 02 00 00 10");
}

/*
 * Replies with bStatus/bError: the "no card" answer to IccPowerOn that
 * libccid logs as 80 ... 42 FE (failed, ICC absent, ICC_MUTE), a time
 * extension request (bError = BWT multiplier), and SlotStatus.
 */
static void status_and_errors(void **state)
{
    struct ccid_msg m = {.type = CCID_RDR_TO_PC_DATA_BLOCK,
                         .seq = 1,
                         .status = ccid_status(CCID_ICC_ABSENT, CCID_CMD_FAILED),
                         .error = CCID_BERROR_ICC_MUTE};
    round_trip(&m, "80 00000000 00 01 42 FE 00");
    assert_int_equal(ccid_status(CCID_ICC_ABSENT, CCID_CMD_FAILED), 0x42);
    assert_int_equal(ccid_status(CCID_ICC_PRESENT_ACTIVE, CCID_CMD_TIME_EXTENSION), 0x80);

    m.status = ccid_status(CCID_ICC_PRESENT_ACTIVE, CCID_CMD_TIME_EXTENSION);
    m.error = 3;
    round_trip(&m, "80 00000000 00 01 80 03 00");

    m = (struct ccid_msg){.type = CCID_RDR_TO_PC_SLOT_STATUS,
                          .seq = 6,
                          .status = ccid_status(CCID_ICC_PRESENT_INACTIVE, CCID_CMD_OK),
                          .clock_status = CCID_CLOCK_STOPPED_L};
    round_trip(&m, "81 00000000 00 06 01 00 01");
    /* "Command not supported": failed, bError 0. */
    m.status = ccid_status(CCID_ICC_PRESENT_INACTIVE, CCID_CMD_FAILED);
    m.error = CCID_BERROR_CMD_NOT_SUPPORTED;
    m.clock_status = 0;
    round_trip(&m, "81 00000000 00 06 41 00 00");

    static const struct {
        const char *hex;
        enum ccid_err err;
        size_t offset;
    } bad_cases[] = {
        {"81 00000000 00 06 03 00 00", CCID_ERR_BAD_PARAM, 7}, /* bmICCStatus 3 */
        {"81 00000000 00 06 C0 00 00", CCID_ERR_BAD_PARAM, 7}, /* bmCommandStatus 3 */
        {"81 00000000 00 06 04 00 00", CCID_ERR_RESERVED, 7},  /* bits 2-5 */
        {"81 00000000 00 06 00 00 04", CCID_ERR_BAD_PARAM, 9}, /* bClockStatus */
        {"81 01000000 00 06 00 00 00 00", CCID_ERR_BAD_LENGTH, 1},
        {"80 00000000 00 06 00 00 04", CCID_ERR_BAD_PARAM, 9}, /* bChainParameter */
        {"80 00000000 00 06 00 00 11", CCID_ERR_BAD_PARAM, 9},
        {"83 00000000 00 06 00 00 01", CCID_ERR_RESERVED, 9},
        {"84 00000000 00 06 00 00 00", CCID_ERR_BAD_LENGTH, 1}, /* no rates, yet OK */
        {"82 05000000 00 06 00 00 02 1100000A00", CCID_ERR_BAD_PARAM, 9},
        {"82 00000000 00 06 00 00 01", CCID_ERR_BAD_LENGTH, 1}, /* no structure, yet OK */
        {"82 07000000 00 06 00 00 00 1110004D002000", CCID_ERR_BAD_LENGTH, 1},
    };
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        uint8_t buf[32];
        size_t n = unhex(bad_cases[i].hex, buf, sizeof buf), bad = 99;
        struct ccid_msg d;
        enum ccid_err e = ccid_decode(buf, n, MAX_MSG, &d, &bad);
        if (e != bad_cases[i].err || bad != bad_cases[i].offset)
            fail_msg("case %zu (%s): %s at %zu", i, bad_cases[i].hex, ccid_err_str(e), bad);
    }

    assert_string_equal(ccid_berror_str(0xFE), "ICC_MUTE");
    assert_string_equal(ccid_berror_str(0xE0), "CMD_SLOT_BUSY");
    assert_string_equal(ccid_berror_str(0xEF), "PIN_CANCELLED");
    assert_string_equal(ccid_berror_str(0x00), "CMD_NOT_SUPPORTED");
    assert_string_equal(ccid_berror_str(0x07), "BAD_PARAMETER_OFFSET");
    assert_string_equal(ccid_berror_str(0x90), "USER_DEFINED");
    assert_string_equal(ccid_berror_str(0xF9), "RFU");
}

static void parameters_reply(void **state)
{
    struct ccid_msg m = {.type = CCID_RDR_TO_PC_PARAMETERS, .seq = 8};
    m.params = (struct ccid_params){.protocol_num = CCID_PROTOCOL_T1,
                                    .findex_dindex = 0x96,
                                    .tccks = 0x11,
                                    .guard_time = 0xFF,
                                    .waiting_integer = 0x45,
                                    .ifsc = 0xFE};
    round_trip(&m, "82 07000000 00 08 00 00 01 96 11 FF 45 00 FE 00");

    /* A failed GetParameters may come without a structure, and goes out without one. */
    m = (struct ccid_msg){.type = CCID_RDR_TO_PC_PARAMETERS,
                          .seq = 8,
                          .status = ccid_status(CCID_ICC_ABSENT, CCID_CMD_FAILED),
                          .error = CCID_BERROR_ICC_MUTE};
    round_trip(&m, "82 00000000 00 08 42 FE 00");
    m.type = CCID_RDR_TO_PC_DATA_RATE_AND_CLOCK_FREQUENCY;
    round_trip(&m, "84 00000000 00 08 42 FE 00");
}

static void encoder_refuses(void **state)
{
    uint8_t out[32];
    size_t n = 5;
    struct ccid_msg m = {.type = CCID_PC_TO_RDR_ICC_POWER_ON, .power_select = 4};
    assert_int_equal(ccid_encode(&m, out, sizeof out, &n), CCID_ERR_BAD_PARAM);
    assert_int_equal(n, 0);
    m.power_select = 0;
    assert_int_equal(ccid_encode(&m, out, 9, &n), CCID_ERR_NO_SPACE);
    assert_int_equal(ccid_encode(&m, out, 10, &n), CCID_OK);
    m.type = 0x55;
    assert_int_equal(ccid_encode(&m, out, sizeof out, &n), CCID_ERR_UNKNOWN_TYPE);

    static const uint8_t apdu[4] = {0x00, 0x84, 0x00, 0x00};
    m = (struct ccid_msg){.type = CCID_PC_TO_RDR_XFR_BLOCK, .data = apdu, .len = 4};
    assert_int_equal(ccid_encode(&m, out, 13, &n), CCID_ERR_NO_SPACE);
    assert_int_equal(ccid_encode(&m, out, 14, &n), CCID_OK);
    m.data = NULL;
    assert_int_equal(ccid_encode(&m, out, sizeof out, &n), CCID_ERR_BAD_LENGTH);

    m = (struct ccid_msg){.type = CCID_PC_TO_RDR_SET_PARAMETERS};
    m.params.protocol_num = 1; /* tccks 0 and ifsc 0 are not valid T=1 values */
    assert_int_equal(ccid_encode(&m, out, sizeof out, &n), CCID_ERR_BAD_PARAM);
    m.params.protocol_num = 2;
    assert_int_equal(ccid_encode(&m, out, sizeof out, &n), CCID_ERR_BAD_PARAM);
    m = (struct ccid_msg){.type = CCID_RDR_TO_PC_SLOT_STATUS, .status = 0x03};
    assert_int_equal(ccid_encode(&m, out, sizeof out, &n), CCID_ERR_BAD_PARAM);
}

/* A stream that delivers a message in pieces, then two messages back to back. */
static void stream_framing(void **state)
{
    uint8_t buf[64];
    size_t len = unhex("6F 0C000000 00 05 00 0000 00A4040C07A0000002471001 65 00000000 00 06 "
                       "000000",
                       buf, sizeof buf);
    size_t need;
    assert_int_equal(len, 22 + 10);
    assert_int_equal(ccid_frame(buf, 0, MAX_MSG, &need), CCID_ERR_NEED_MORE);
    assert_int_equal(need, 10);
    assert_int_equal(ccid_frame(buf, 4, MAX_MSG, &need), CCID_ERR_NEED_MORE);
    assert_int_equal(need, 6);
    assert_int_equal(ccid_frame(buf, 10, MAX_MSG, &need), CCID_ERR_NEED_MORE);
    assert_int_equal(need, 12);
    assert_int_equal(ccid_frame(buf, 21, MAX_MSG, &need), CCID_ERR_NEED_MORE);
    assert_int_equal(need, 1);
    assert_int_equal(ccid_frame(buf, len, MAX_MSG, &need), CCID_OK);
    assert_int_equal(need, 22);
    struct ccid_msg d;
    assert_int_equal(ccid_decode(buf, need, MAX_MSG, &d, NULL), CCID_OK);
    assert_int_equal(ccid_frame(buf + 22, len - 22, MAX_MSG, &need), CCID_OK);
    assert_int_equal(need, 10);
    assert_int_equal(ccid_decode(buf + 22, need, MAX_MSG, &d, NULL), CCID_OK);
    assert_int_equal(d.seq, 6);

    /* A dwLength beyond the maximum is refused as soon as the header is in. */
    static const uint8_t huge[10] = {0x6F, 0xFF, 0xFF, 0xFF, 0xFF};
    assert_int_equal(ccid_frame(huge, 10, MAX_MSG, &need), CCID_ERR_TOO_LONG);
    assert_int_equal(need, 0);
    assert_int_equal(ccid_frame(huge, 10, CCID_MAX_MESSAGE_SIZE, &need), CCID_ERR_TOO_LONG);
    static const uint8_t biggest[10] = {0x6F, 0x08, 0x00, 0x01, 0x00};
    assert_int_equal(ccid_frame(biggest, 10, CCID_MAX_MESSAGE_SIZE, &need), CCID_ERR_NEED_MORE);
    assert_int_equal(need, 65544);
    assert_int_equal(ccid_frame(biggest, 10, 5, &need), CCID_ERR_TOO_LONG);
}

/* §6.3.1: one-slot insertion 50 03 and removal 50 02; two slots, slot 1 inserted: 50 0D. */
static void notify_slot_change(void **state)
{
    uint8_t out[80];
    size_t n;
    struct ccid_interrupt it = {.type = CCID_RDR_TO_PC_NOTIFY_SLOT_CHANGE, .nslots = 1};
    ccid_slot_state_set(&it, 0, true, true);
    assert_int_equal(ccid_encode_interrupt(&it, out, sizeof out, &n), CCID_OK);
    assert_int_equal(n, 2);
    assert_int_equal(out[0], 0x50);
    assert_int_equal(out[1], 0x03);
    ccid_slot_state_set(&it, 0, false, true);
    assert_int_equal(ccid_encode_interrupt(&it, out, sizeof out, &n), CCID_OK);
    assert_int_equal(out[1], 0x02);

    static const uint8_t two[] = {0x50, 0x0D};
    struct ccid_interrupt d;
    assert_int_equal(ccid_decode_interrupt(two, 2, 1, &d), CCID_OK);
    assert_int_equal(d.nslots, 2);
    assert_true(ccid_slot_present(&d, 0));
    assert_false(ccid_slot_changed(&d, 0));
    assert_true(ccid_slot_present(&d, 1));
    assert_true(ccid_slot_changed(&d, 1));

    /* Bits past the last slot, wrong sizes. */
    assert_int_equal(ccid_decode_interrupt(two, 2, 0, &d), CCID_ERR_RESERVED);
    assert_int_equal(d.type, 0);
    assert_int_equal(ccid_decode_interrupt(two, 1, 0, &d), CCID_ERR_TRUNCATED);
    static const uint8_t five[] = {0x50, 0xFF, 0x03};
    assert_int_equal(ccid_decode_interrupt(five, 3, 4, &d), CCID_OK); /* 5 slots: 2 bytes */
    assert_true(ccid_slot_changed(&d, 4));
    assert_int_equal(ccid_decode_interrupt(five, 3, 3, &d), CCID_ERR_TRAILING);
    assert_int_equal(ccid_notify_size(256), 65);
    assert_int_equal(ccid_notify_size(4), 2);
    assert_int_equal(ccid_notify_size(5), 3);

    it.nslots = 0;
    assert_int_equal(ccid_encode_interrupt(&it, out, sizeof out, &n), CCID_ERR_BAD_PARAM);
    it.nslots = 1;
    it.slot_icc_state[0] = 0x0C; /* slot 1 bits set on a one-slot reader */
    assert_int_equal(ccid_encode_interrupt(&it, out, sizeof out, &n), CCID_ERR_RESERVED);
    it.slot_icc_state[0] = 0x03;
    assert_int_equal(ccid_encode_interrupt(&it, out, 1, &n), CCID_ERR_NO_SPACE);
}

static void hardware_error(void **state)
{
    static const uint8_t msg[] = {0x51, 0x00, 0x05, 0x01};
    struct ccid_interrupt d;
    assert_int_equal(ccid_decode_interrupt(msg, 4, 0, &d), CCID_OK);
    assert_int_equal(d.seq, 5);
    assert_int_equal(d.hardware_error_code, CCID_HW_ERROR_OVERCURRENT);
    uint8_t out[8];
    size_t n;
    assert_int_equal(ccid_encode_interrupt(&d, out, sizeof out, &n), CCID_OK);
    assert_int_equal(n, 4);
    assert_memory_equal(out, msg, 4);

    static const uint8_t bad_code[] = {0x51, 0x00, 0x05, 0x02};
    assert_int_equal(ccid_decode_interrupt(bad_code, 4, 0, &d), CCID_ERR_BAD_PARAM);
    assert_int_equal(ccid_decode_interrupt(msg, 3, 0, &d), CCID_ERR_TRUNCATED);
    static const uint8_t longer[] = {0x51, 0x00, 0x05, 0x01, 0x00};
    assert_int_equal(ccid_decode_interrupt(longer, 5, 0, &d), CCID_ERR_TRAILING);
    static const uint8_t bulk[] = {0x80, 0x00};
    assert_int_equal(ccid_decode_interrupt(bulk, 2, 0, &d), CCID_ERR_UNKNOWN_TYPE);
    assert_int_equal(ccid_decode_interrupt(NULL, 0, 0, &d), CCID_ERR_TRUNCATED);
}

/*
 * The ACS ACR39U class descriptor as libccid's readers/ACS_ACR39U_ICC_Reader.txt
 * lists it (bcdCCID 1.10, 5/3/1.8 V, T=0+T=1, 4.8/16 MHz, 12903/826000 bps,
 * IFSD 247, features 0x000100B2 = TPDU level + auto ATR params, clock, baud,
 * PPS; 271-byte messages; CLA echo), laid out per §5.1 Table 5.1-1.
 */
static void class_descriptor_acr39u(void **state)
{
    uint8_t raw[64];
    size_t n = unhex("36 21 1001 00 07 03000000 C0120000 803E0000 00 67320000 909A0C00 00"
                     "F7000000 00000000 00000000 B2000100 0F010000 FF FF 0000 00 01",
                     raw, sizeof raw);
    assert_int_equal(n, CCID_DESCRIPTOR_SIZE);
    struct ccid_descriptor d;
    assert_int_equal(ccid_decode_descriptor(raw, n, &d), CCID_OK);
    assert_int_equal(d.bcd_ccid, 0x0110);
    assert_int_equal(d.max_slot_index, 0);
    assert_int_equal(d.voltage_support, CCID_VOLTAGE_5V | CCID_VOLTAGE_3V | CCID_VOLTAGE_1V8);
    assert_int_equal(d.protocols, CCID_PROTOCOLS_T0 | CCID_PROTOCOLS_T1);
    assert_int_equal(d.default_clock, 4800);
    assert_int_equal(d.maximum_clock, 16000);
    assert_int_equal(d.data_rate, 12903);
    assert_int_equal(d.max_data_rate, 826000);
    assert_int_equal(d.max_ifsd, 247);
    assert_int_equal(d.features, CCID_FEATURE_AUTO_PARAM_ATR | CCID_FEATURE_AUTO_CLOCK |
                                     CCID_FEATURE_AUTO_BAUD | CCID_FEATURE_AUTO_PPS_ACTIVE |
                                     CCID_FEATURE_LEVEL_TPDU);
    assert_int_equal(d.features & CCID_FEATURE_LEVEL_MASK, CCID_FEATURE_LEVEL_TPDU);
    assert_int_equal(d.max_ccid_message_length, 271);
    assert_int_equal(d.class_get_response, 0xFF);
    assert_int_equal(d.class_envelope, 0xFF);
    assert_int_equal(d.lcd_layout, 0);
    assert_int_equal(d.pin_support, 0);
    assert_int_equal(d.max_ccid_busy_slots, 1);

    uint8_t out[64];
    size_t m;
    assert_int_equal(ccid_encode_descriptor(&d, out, sizeof out, &m), CCID_OK);
    assert_int_equal(m, 54);
    assert_memory_equal(out, raw, 54);
    assert_int_equal(ccid_encode_descriptor(&d, out, 53, &m), CCID_ERR_NO_SPACE);

    assert_int_equal(ccid_decode_descriptor(raw, 53, &d), CCID_ERR_TRUNCATED);
    assert_int_equal(d.bcd_ccid, 0);
    assert_int_equal(ccid_decode_descriptor(raw, 55, &d), CCID_ERR_TRAILING);
    raw[1] = 0xFF; /* pre-1.0 readers' vendor-specific descriptor type */
    assert_int_equal(ccid_decode_descriptor(raw, 54, &d), CCID_ERR_BAD_DESCRIPTOR);
    raw[1] = 0x21;
    raw[0] = 0x35;
    assert_int_equal(ccid_decode_descriptor(raw, 54, &d), CCID_ERR_BAD_DESCRIPTOR);
}

static void error_names(void **state)
{
    assert_string_equal(ccid_err_str(CCID_OK), "CCID_OK");
    assert_string_equal(ccid_err_str(CCID_ERR_NEED_MORE), "CCID_ERR_NEED_MORE");
    assert_string_equal(ccid_err_str(CCID_ERR_BAD_DESCRIPTOR), "CCID_ERR_BAD_DESCRIPTOR");
    assert_string_equal(ccid_err_str((enum ccid_err)77), "CCID_ERR_UNKNOWN");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(icc_power_on),        cmocka_unit_test(no_data_commands),
        cmocka_unit_test(xfr_block_select),    cmocka_unit_test(set_parameters),
        cmocka_unit_test(malformed_commands),  cmocka_unit_test(set_data_rate_and_clock),
        cmocka_unit_test(data_block_with_atr), cmocka_unit_test(status_and_errors),
        cmocka_unit_test(parameters_reply),    cmocka_unit_test(encoder_refuses),
        cmocka_unit_test(stream_framing),      cmocka_unit_test(notify_slot_change),
        cmocka_unit_test(hardware_error),      cmocka_unit_test(class_descriptor_acr39u),
        cmocka_unit_test(error_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

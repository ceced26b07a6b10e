#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "hawiya/hex.h"

static void decode_pcsc_tools_spacing(void **state)
{
    uint8_t out[8];
    size_t n;
    assert_int_equal(hex_decode("3B 8e:80-01", 64, out, sizeof out, &n), HEX_OK);
    assert_int_equal(n, 4);
    const uint8_t want[] = {0x3B, 0x8E, 0x80, 0x01};
    assert_memory_equal(out, want, 4);
}

static void decode_rejects_bad_input(void **state)
{
    uint8_t out[2];
    size_t n = 99;
    assert_int_equal(hex_decode("3B8", 64, out, sizeof out, &n), HEX_ERR_ODD_DIGITS);
    assert_int_equal(n, 0);
    assert_int_equal(hex_decode("3 B", 64, out, sizeof out, &n), HEX_ERR_ODD_DIGITS);
    assert_int_equal(hex_decode("3G", 64, out, sizeof out, &n), HEX_ERR_BAD_CHAR);
    assert_int_equal(hex_decode("010203", 64, out, sizeof out, &n), HEX_ERR_TOO_LONG);
    assert_string_equal(hex_err_str(HEX_ERR_TOO_LONG), "HEX_ERR_TOO_LONG");
}

static void encode_upper_case(void **state)
{
    const uint8_t in[] = {0x00, 0xAB, 0x7f};
    char out[7];
    hex_encode(in, 3, out);
    assert_string_equal(out, "00AB7F");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(decode_pcsc_tools_spacing),
        cmocka_unit_test(decode_rejects_bad_input),
        cmocka_unit_test(encode_upper_case),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* base64url decoding against the test vectors of RFC 4648 §10 (the url
 * alphabet only differs in '-' and '_', exercised by the last vectors). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "hawiya/base64.h"

static void rfc4648_section10(void **state)
{
    static const struct {
        const char *in, *out;
    } v[] = {{"", ""},
             {"Zg==", "f"},
             {"Zm8=", "fo"},
             {"Zm9v", "foo"},
             {"Zm9vYg==", "foob"},
             {"Zm9vYmE=", "fooba"},
             {"Zm9vYmFy", "foobar"},
             {"Zg", "f"},
             {"Zm8", "fo"},
             {"Zm9vYmE", "fooba"}};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        uint8_t out[16];
        size_t n;
        assert_true(base64url_decode(v[i].in, strlen(v[i].in), out, sizeof out, &n));
        assert_int_equal(n, strlen(v[i].out));
        assert_memory_equal(out, v[i].out, n);
    }
}

static void url_alphabet_and_refusals(void **state)
{
    uint8_t out[8];
    size_t n;
    /* FB FF BF is "-_-_" in base64url ("+/+/" in base64). */
    assert_true(base64url_decode("-_-_", 4, out, sizeof out, &n));
    assert_int_equal(n, 3);
    assert_int_equal(out[0], 0xFB);
    assert_int_equal(out[1], 0xFF);
    assert_int_equal(out[2], 0xBF);
    assert_false(base64url_decode("+/+/", 4, out, sizeof out, &n)); /* base64, not url */
    assert_false(base64url_decode("Zh", 2, out, sizeof out, &n));   /* stray bits, §3.5 */
    assert_false(base64url_decode("Z", 1, out, sizeof out, &n));    /* no quantum */
    assert_false(base64url_decode("Zm9vYmFy", 8, out, 5, &n));      /* does not fit */
    assert_int_equal(n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rfc4648_section10),
        cmocka_unit_test(url_alphabet_and_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * libFuzzer target: apdu_decode on arbitrary bytes. A command that decodes
 * must encode back to exactly the same bytes (the encoding of 7816-4 §5.1 is
 * canonical once `extended` records the field size), and a response must
 * split and re-join unchanged.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hawiya/apdu.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t out[APDU_ENCODED_MAX + 8];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct apdu a;
    enum apdu_case c;
    size_t n;

    if (apdu_decode(data, size, &a, &c) == APDU_OK) {
        if (a.nc > APDU_NC_MAX || a.ne > APDU_NE_MAX || apdu_case_of(&a) != c)
            __builtin_trap();
        if (a.nc > 0 && (a.data < data || a.data + a.nc > data + size))
            __builtin_trap();
        if (apdu_encode(&a, out, sizeof out, &n) != APDU_OK || n != size ||
            memcmp(out, data, size) != 0)
            __builtin_trap();
        /* One byte short of room must fail cleanly. */
        if (apdu_encode(&a, out, size - 1, &n) != APDU_ERR_BUFFER_TOO_SMALL || n != 0)
            __builtin_trap();
    }

    struct rapdu r;
    if (rapdu_decode(data, size, &r) == APDU_OK) {
        if (r.len + 2 != size || sw_str(r.sw) == NULL)
            __builtin_trap();
        if (rapdu_encode(r.data, r.len, r.sw, out, sizeof out, &n) == APDU_OK &&
            (n != size || memcmp(out, data, size) != 0))
            __builtin_trap();
    }
    return 0;
}

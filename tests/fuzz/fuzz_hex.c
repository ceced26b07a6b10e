/* libFuzzer target: hex_decode on arbitrary text, checked against re-encoding. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hawiya/hex.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t out[64];
    size_t n;
    char text[2 * sizeof out + 1];

    if (hex_decode((const char *)data, size, out, sizeof out, &n) != HEX_OK)
        return 0;
    /* A successful decode round-trips through hex_encode. */
    hex_encode(out, n, text);
    uint8_t again[sizeof out];
    size_t m;
    if (hex_decode(text, strlen(text), again, sizeof again, &m) != HEX_OK || m != n ||
        memcmp(out, again, n) != 0)
        __builtin_trap();
    return 0;
}

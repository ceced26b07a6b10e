/* libFuzzer target: simline_decode on hostile bytes; what decodes re-encodes identically. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hawiya/simline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t out[SIMLINE_HEADER_SIZE + SIMLINE_MAX_PAYLOAD];
    while (size > 0) {
        struct simline_msg m;
        size_t used, n;
        enum simline_err e = simline_decode(data, size, &m, &used);
        if (e == SIMLINE_ERR_INCOMPLETE) {
            if (used <= size || used > SIMLINE_HEADER_SIZE + SIMLINE_MAX_PAYLOAD)
                __builtin_trap();
            return 0;
        }
        if (e != SIMLINE_OK)
            return 0;
        if (used > size)
            __builtin_trap();
        if (simline_encode(&m, out, sizeof out, &n) != SIMLINE_OK || n != used ||
            memcmp(out, data, n) != 0)
            __builtin_trap();
        data += used;
        size -= used;
    }
    return 0;
}

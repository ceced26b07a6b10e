/*
 * libFuzzer target: what a PC/SC reader's driver answers about itself
 * (host/backend/pcsc_part10.h): the feature list, the TLV properties, and
 * FEATURE_EXECUTE_PACE's answer and EstablishPACEChannel output. The first
 * byte picks the parser. An accepted PACE output must point inside the input.
 */
#include <stddef.h>
#include <stdint.h>

#include "pcsc_part10.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    switch (data[0] % 4) {
    case 0: {
        struct pcsc10_features f;
        pcsc10_features_parse(p, n, &f);
        break;
    }
    case 1: {
        struct pcsc10_properties o;
        if (pcsc10_properties_parse(p, n, &o) == PCSC10_OK && o.firmware[sizeof o.firmware - 1])
            __builtin_trap();
        break;
    }
    case 2: {
        uint32_t result;
        const uint8_t *out;
        size_t len;
        if (pcsc10_pace_answer(p, n, &result, &out, &len) == PCSC10_OK &&
            (len != n - 6 || (len && out != p + 6)))
            __builtin_trap();
        pcsc10_pace_result_str(result);
        break;
    }
    default: {
        struct pcsc10_pace_output o;
        if (pcsc10_pace_output_parse(p, n, &o) == PCSC10_OK &&
            ((o.ef_cardaccess &&
              (o.ef_cardaccess < p || o.ef_cardaccess + o.ef_cardaccess_len > p + n)) ||
             (o.id_icc && (o.id_icc < p || o.id_icc + o.id_icc_len > p + n))))
            __builtin_trap();
        break;
    }
    }
    return 0;
}

/* libFuzzer target: EF.ATR/INFO contents (hawiya/card_caps.h): whatever the
 * card says, the read sizes that follow stay within 1..link and, without
 * extended lengths, within a short response the card says it can hold. */
#include <stddef.h>
#include <stdint.h>

#include "hawiya/card_caps.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct card_caps c = {0};
    enum card_caps_err e = card_caps_from_atr_info(data, size, &c);
    if (e == CARD_CAPS_OK && !c.known)
        __builtin_trap();
    for (int sm = 0; sm < 2; sm++)
        for (int ext = 0; ext < 2; ext++) {
            size_t le = card_caps_read_le(&c, ext, sm, 4096);
            if (le < 1 || le > 4096)
                __builtin_trap();
            if (!(ext && c.extended) && le > 256)
                __builtin_trap();
            size_t resp = sm ? card_caps_sm_response(le) : le + 2;
            if (c.max_response >= 3 && resp > c.max_response && le > 1)
                __builtin_trap();
        }
    return 0;
}

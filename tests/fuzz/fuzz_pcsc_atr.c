/* libFuzzer target: PC/SC Part 3 ATR decoding (hawiya/pcsc_atr.h); every
 * decoded ATR built again from its parts must give the same bytes. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hawiya/pcsc_atr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pcsc_atr_info info;
    if (pcsc_atr_decode(data, size, &info) != PCSC_ATR_OK)
        return 0;
    if (info.hist_len > PCSC_ATR_HIST_MAX || info.hist != data + 4)
        __builtin_trap();
    uint8_t out[PCSC_ATR_MAX];
    size_t n;
    enum pcsc_atr_err e = info.kind == PCSC_ATR_TYPE_B
                              ? pcsc_atr_from_atqb(info.atqb.app_data, info.atqb.proto, info.mbli,
                                                   out, sizeof out, &n)
                              : pcsc_atr_from_ats(info.hist, info.hist_len, out, sizeof out, &n);
    if (e != PCSC_ATR_OK || n != size || memcmp(out, data, n) != 0)
        __builtin_trap();
    return 0;
}

/*
 * libFuzzer target: PPS codec in both roles. A parsed request re-encodes to
 * the same bytes, whatever the card role answers the reader role accepts, and
 * pps_choose stays within the ATR's and the reader's limits.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hawiya/atr.h"
#include "hawiya/pps.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pps_params p;
    size_t needed, n;
    uint8_t out[PPS_MAX_LEN];
    enum pps_err e = pps_parse(data, size, &p, &needed);

    if ((e == PPS_ERR_INCOMPLETE) != (needed != 0))
        __builtin_trap();
    if (e == PPS_OK) {
        enum pps_err b = pps_build_request(&p, out, sizeof out, &n);
        if (b == PPS_OK && (n != size || memcmp(out, data, n) != 0))
            __builtin_trap();
    }

    /* Card role with capabilities taken from the last two bytes. */
    if (size >= 2) {
        struct pps_card_caps caps = {.protocols = (uint16_t)(data[size - 1] | 1u << 1),
                                     .ta1 = data[size - 2]};
        enum pps_err r = pps_card_reply(data, size - 2, &caps, out, sizeof out, &n);
        if (r == PPS_OK) {
            struct pps_result res;
            if (n < 3 || n > PPS_MAX_LEN)
                __builtin_trap();
            if (pps_check_response(data, size - 2, out, n, &res) != PPS_OK)
                __builtin_trap();
            if (res.default_rate && (res.fi_code != 1 || res.di_code != 1))
                __builtin_trap();
        } else if (n != 0) {
            __builtin_trap();
        }
    }

    /* Reader role on a split: request first, then response. */
    if (size >= 1) {
        size_t cut = data[0] % (size + 1);
        struct pps_result res;
        if (pps_check_response(data, cut, data + cut, size - cut, &res) == PPS_OK &&
            res.default_rate && (res.fi_code != 1 || res.di_code != 1))
            __builtin_trap();
    }

    /* Chooser: an ATR from the bytes after a 6-byte limits header. */
    if (size >= 6) {
        struct atr a;
        struct pps_reader_limits lim = {
            .max_clock_khz = (uint32_t)(data[0] << 8 | data[1]),
            .max_baud = (uint32_t)(data[2] << 16 | data[3] << 8),
            .di_supported = (uint16_t)(data[4] << 8 | data[5]),
        };
        struct pps_choice c;
        if (atr_parse(data + 6, size - 6, &a, NULL) == ATR_OK &&
            pps_choose(&a, &lim, &c) == PPS_OK) {
            if (c.clock_khz > lim.max_clock_khz || (a.fmax_khz && c.clock_khz > a.fmax_khz))
                __builtin_trap();
            if (c.fi == 0 || c.di == 0)
                __builtin_trap();
            if (!a.specific_mode && (c.fi_code != 1 || c.di_code != 1) &&
                (c.baud > lim.max_baud || !(lim.di_supported & (1u << c.di_code)) || c.di > a.di))
                __builtin_trap();
        }
    }
    return 0;
}

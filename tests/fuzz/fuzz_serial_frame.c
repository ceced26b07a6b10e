/*
 * libFuzzer target: the serial link's frame decoder (hawiya/serial_frame.h)
 * on hostile bytes. Every frame it delivers fits its buffer, has a defined
 * kind, and re-encodes to bytes that decode to the same frame; the counters
 * add up; no byte sequence makes it deliver a frame whose FCS is wrong.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hawiya/crc16.h"
#include "hawiya/serial_frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CAP 300

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t buf[CAP], buf2[CAP], enc[SERIAL_FRAME_MAX_ENCODED(CAP)];
    struct serial_frame_rx rx, rx2;
    serial_frame_rx_init(&rx, buf, CAP);
    uint64_t delivered = 0, errors = 0;
    for (size_t i = 0; i < size; i++) {
        struct serial_frame f;
        enum serial_frame_err e = serial_frame_rx_byte(&rx, data[i], &f);
        if (e == SERIAL_FRAME_NONE)
            continue;
        if (e != SERIAL_FRAME_OK) {
            errors++;
            continue;
        }
        delivered++;
        if (f.len > CAP - SERIAL_FRAME_OVERHEAD || !serial_kind_valid(f.kind) ||
            f.payload != buf + 2)
            __builtin_trap();
        /* The FCS over the whole frame checks. */
        if (crc16_13239_update(CRC16_13239_INIT, buf, f.len + SERIAL_FRAME_OVERHEAD) !=
            CRC16_13239_GOOD)
            __builtin_trap();
        size_t n;
        if (serial_frame_encode(f.kind, f.seq, f.payload, f.len, enc, sizeof enc, &n) !=
            SERIAL_FRAME_OK)
            __builtin_trap();
        serial_frame_rx_init(&rx2, buf2, CAP);
        size_t got = 0;
        for (size_t k = 0; k < n; k++) {
            struct serial_frame g;
            if (serial_frame_rx_byte(&rx2, enc[k], &g) == SERIAL_FRAME_OK) {
                got++;
                if (g.kind != f.kind || g.seq != f.seq || g.len != f.len ||
                    memcmp(g.payload, f.payload, f.len) != 0)
                    __builtin_trap();
            }
        }
        if (got != 1)
            __builtin_trap();
    }
    const struct serial_frame_stats *s = &rx.stats;
    if (s->frames != delivered ||
        s->bad_fcs + s->bad_escape + s->too_short + s->too_long + s->bad_kind != errors)
        __builtin_trap();
    return 0;
}

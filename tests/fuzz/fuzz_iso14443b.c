/* libFuzzer target: Type B activation, both roles (hawiya/iso14443b.h).
 * The PCD gets arbitrary ATQBs, answers to ATTRIB, damage and timeouts; the
 * PICC arbitrary frames (REQB / WUPB, Slot-MARKERs, ATTRIB, HLTB, blocks),
 * the CRC made right when the input asks, to get past it. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hawiya/iso14443b.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct iso14443b_atqb q;
    if (iso14443b_atqb_parse(data, size, &q) == ISO14443_OK &&
        (q.proto_len < 3 || q.proto_len > 4 || q.fwi > 14 || q.sfgi > 14 || !(q.ds & 1)))
        __builtin_trap();
    if (size < 1)
        return 0;
    struct iso14443b_pcd_config cfg = {.wakeup = data[0] & 1,
                                       .afi = 0,
                                       .fsdi = 8,
                                       .cid = (uint8_t)((data[0] >> 4) % 15),
                                       .max_rate = (data[0] >> 1) & 3};
    static struct iso14443b_pcd p;
    struct iso14443_act act;
    iso14443b_pcd_begin(&p, &cfg, &act);
    struct iso14443b_picc_config pc = {.pupi = {1, 2, 3, 4},
                                       .app_data = {0xE1, 0x68, 0x6C, 0x17},
                                       .proto = {0x77, 0x83, 0x95},
                                       .proto_len = 3,
                                       .seed = data[0] + 1u};
    static struct iso14443b_picc c;
    if (iso14443b_picc_init(&c, &pc) != ISO14443_OK)
        __builtin_trap();
    iso14443b_picc_field(&c, true);

    size_t i = 1;
    uint8_t frame[64];
    while (i < size) {
        uint8_t kind = data[i++];
        struct iso14443_rx rx = {.kind = (enum iso14443_rx_kind)(kind & 3)};
        size_t n = 0;
        if (rx.kind == ISO14443_RX_FRAME) {
            if (i >= size)
                break;
            n = data[i++] % sizeof frame;
            if (n > size - i)
                n = size - i;
            memcpy(frame, data + i, n);
            i += n;
            rx.data = frame;
            rx.bits = 8 * n;
        }
        if (kind & 0x80) {
            if ((kind & 0x40) && n >= 3)
                iso14443_crc_append(ISO14443_B, frame, n - 2);
            struct iso14443b_picc_out out;
            iso14443b_picc_frame(&c, frame, n, &out);
            if (out.kind == ISO14443B_PICC_ANSWER &&
                (out.len < 3 || out.len > sizeof c.out ||
                 !iso14443_crc_ok(ISO14443_B, out.data, out.len)))
                __builtin_trap();
            if (out.kind == ISO14443B_PICC_BLOCK && out.block_len + 2 != n)
                __builtin_trap();
            if (kind & 0x20)
                iso14443b_picc_field(&c, kind & 0x10);
        }
        if (act.kind != ISO14443_ACT_SEND) {
            iso14443b_pcd_begin(&p, &cfg, &act);
            continue;
        }
        iso14443b_pcd_step(&p, &rx, &act);
        if (act.kind == ISO14443_ACT_SEND &&
            (act.tx.data == NULL || act.tx.bits % 8 || act.tx.bits == 0 || act.tx.bits > 8 * 16 ||
             !act.tx.crc))
            __builtin_trap();
        if (p.n_code > 4 || p.slot > 16 || p.cid > 14)
            __builtin_trap();
    }
    return 0;
}

/* libFuzzer target: Type A activation, both roles (hawiya/iso14443a.h).
 * The PCD gets arbitrary answers (ATQA, UID CLn, SAK, ATS, PPS response,
 * collisions, timeouts) and must only ever ask for well-formed frames, keep
 * its UID within 10 bytes and end; the PICC gets arbitrary frames and may
 * only answer with frames of its own configuration's sizes. The ATS parser
 * sees every input whole. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hawiya/iso14443a.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t ats[] = {0x0A, 0x78, 0x77, 0x71, 0x02, 0x80, 0x73, 0x84, 0x21, 0xC0};

static void check_tx(const struct iso14443_act *a)
{
    if (a->kind != ISO14443_ACT_SEND)
        return;
    if (a->tx.data == NULL || a->tx.bits == 0 || a->tx.bits > 8 * 16 || a->tx.rx_align > 7 ||
        (a->tx.crc && a->tx.bits % 8 != 0) || a->tx_rate > ISO14443_848 ||
        a->rx_rate > ISO14443_848)
        __builtin_trap();
}

/* Records: kind byte (low 2 bits: 0 frame, 1 timeout, 2 damaged, 3 collision),
 * then for frames and collisions a bit count byte and the bytes. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct iso14443a_ats s;
    iso14443a_ats_parse(data, size, &s);
    if (s.hist_off + s.hist_len > sizeof s.raw || s.fsci > 15 || s.fwi > 14 || s.sfgi > 14)
        __builtin_trap();

    if (size < 1)
        return 0;
    struct iso14443a_pcd_config cfg = {.wakeup = data[0] & 1,
                                       .iso_dep = (data[0] & 2) != 0,
                                       .fsdi = 8,
                                       .cid = (uint8_t)(data[0] >> 4 & 0x0F) % 15,
                                       .max_rate = (data[0] >> 2) & 3};
    static struct iso14443a_pcd p;
    struct iso14443_act act;
    iso14443a_pcd_begin(&p, &cfg, &act);
    check_tx(&act);

    static const uint8_t uid[7] = {0x04, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66};
    struct iso14443a_picc_config pc = {
        .atqa = {0x44, 0x00}, .uid_len = 7, .sak = 0x20, .ats = ats, .ats_len = sizeof ats};
    memcpy(pc.uid, uid, 7);
    static struct iso14443a_picc c;
    if (iso14443a_picc_init(&c, &pc) != ISO14443_OK)
        __builtin_trap();
    iso14443a_picc_field(&c, true);

    size_t i = 1;
    uint8_t frame[64];
    while (i < size) {
        uint8_t kind = data[i++];
        struct iso14443_rx rx = {.kind = (enum iso14443_rx_kind)(kind & 3)};
        size_t bits = 0;
        if (rx.kind == ISO14443_RX_FRAME || rx.kind == ISO14443_RX_COLLISION) {
            if (i >= size)
                break;
            bits = data[i++] % (8 * sizeof frame);
            size_t n = (bits + 7) / 8;
            if (n > size - i)
                n = size - i;
            memset(frame, 0, sizeof frame);
            memcpy(frame, data + i, n);
            i += n;
            rx.data = frame;
            rx.bits = bits;
            rx.coll_bit = (uint16_t)(kind >> 2);
        }
        /* the same bytes as a frame from a PCD to the card */
        struct iso14443a_picc_out out;
        if (kind & 0x80) {
            if (bits >= 16 && bits % 8 == 0 && (kind & 0x40))
                iso14443_crc_append(ISO14443_A, frame, bits / 8 - 2);
            iso14443a_picc_frame(&c, frame, bits, &out);
            if (out.kind == ISO14443A_PICC_ANSWER &&
                (out.data == NULL || out.bits == 0 || out.align > 7 ||
                 (out.align + out.bits + 7) / 8 > sizeof c.out))
                __builtin_trap();
            if (out.kind == ISO14443A_PICC_BLOCK &&
                (out.block != frame || out.block_len + 2 > bits / 8))
                __builtin_trap();
            if (kind & 0x20)
                iso14443a_picc_field(&c, kind & 0x10);
        }
        if (act.kind != ISO14443_ACT_SEND) {
            iso14443a_pcd_begin(&p, &cfg, &act);
            continue;
        }
        iso14443a_pcd_step(&p, &rx, &act);
        check_tx(&act);
        if (p.uid_len > ISO14443A_UID_MAX || p.level > 3 || p.known > 40)
            __builtin_trap();
    }
    return 0;
}

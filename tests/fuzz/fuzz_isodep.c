/* libFuzzer target: arbitrary blocks and events fed to both roles of the
 * ISO/IEC 14443-4 block protocol (hawiya/isodep.h). Every block either side
 * sends must decode, stay within the frame size the other side announced,
 * carry the CID in use (the PICC: when the PCD's block had one), and every length reported must fit
 * its buffer. The input also decides when the PCD checks presence or deselects and when the PICC
 * asks for more time. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hawiya/isodep.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t rbuf[700], cbuf[700], apdu[800];

/* SEND from either side, and the PICC's DESELECTED (its S(DESELECT) response). */
static void check_sent(const struct isodep_action *a, bool cid_on, uint8_t cid, size_t fs,
                       bool picc)
{
    if (a->kind != ISODEP_ACT_SEND && !(picc && a->kind == ISODEP_ACT_DESELECTED))
        return;
    struct isodep_block b;
    size_t cap = fs < ISODEP_FRAME_MAX ? fs : ISODEP_FRAME_MAX;
    if (a->block == NULL || a->block_len + 2 > cap ||
        isodep_block_decode(a->block, a->block_len, &b) != ISODEP_OK || b.has_cid != cid_on ||
        (b.has_cid && b.cid != cid))
        __builtin_trap();
}

/* byte 0: FSC / FSD codes; byte 1: CID, NAD, APDU length / 3; then records:
 * a kind byte (F0 timeout, F1 damaged, else block of kind % 32 bytes),
 * bit 5 = PCD presence check / deselect when idle, bit 6 = the PICC asks
 * for WTX when busy, bit 7 = the PICC answers when busy. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    struct isodep_config pc = {.fsc = iso14443_fs(data[0] & 0x0F),
                               .fsd = 256,
                               .cid_on = data[1] & 1,
                               .cid = (uint8_t)((data[1] >> 1 & 7) * (data[1] & 1)),
                               .nad_on = (data[1] & 0x10) != 0,
                               .nad = 0x12,
                               .fwt_ns = 1000};
    struct isodep_config cc = pc;
    cc.fsc = iso14443_fs(data[0] >> 4);
    cc.fsd = 256;
    size_t alen = (size_t)data[2] * 3 % sizeof apdu;
    for (size_t i = 0; i < alen; i++)
        apdu[i] = (uint8_t)i;

    static struct isodep_pcd p;
    static struct isodep_picc c;
    struct isodep_action pa, ca = {.kind = ISODEP_ACT_NONE};
    if (isodep_pcd_init(&p, &pc) != ISODEP_OK ||
        isodep_picc_init(&c, &cc, cbuf, sizeof cbuf) != ISODEP_OK)
        __builtin_trap();
    isodep_pcd_transceive_begin(&p, apdu, alen, rbuf, sizeof rbuf, &pa);
    check_sent(&pa, pc.cid_on, pc.cid, pc.fsc, false);

    uint8_t blk[64];
    size_t i = 3;
    while (i < size) {
        uint8_t kind = data[i++];
        struct isodep_event ev = {.kind = ISODEP_EV_BLOCK};
        if (kind == 0xF0) {
            ev.kind = ISODEP_EV_TIMEOUT;
        } else if (kind == 0xF1) {
            ev.kind = ISODEP_EV_ERROR;
        } else {
            size_t n = kind % 32u;
            if (n > size - i)
                n = size - i;
            memcpy(blk, data + i, n);
            i += n;
            ev.data = blk;
            ev.len = n;
        }
        isodep_pcd_step(&p, &ev, &pa);
        check_sent(&pa, pc.cid_on, pc.cid, pc.fsc, false);
        if (pa.kind == ISODEP_ACT_DONE && pa.apdu_len > sizeof rbuf)
            __builtin_trap();
        if (pa.kind == ISODEP_ACT_ERROR && p.state != ISODEP_PCD_DEAD && pa.err != ISODEP_ERR_STATE)
            __builtin_trap();
        if (p.state == ISODEP_PCD_DEAD)
            isodep_pcd_init(&p, &pc);
        if (p.state == ISODEP_PCD_IDLE) {
            if ((kind & 0x60) == 0x20)
                isodep_pcd_presence_begin(&p, &pa);
            else if ((kind & 0x60) == 0x60)
                isodep_pcd_deselect_begin(&p, &pa);
            else
                isodep_pcd_transceive_begin(&p, apdu, alen, rbuf, sizeof rbuf, &pa);
            check_sent(&pa, pc.cid_on, pc.cid, pc.fsc, false);
        }

        isodep_picc_step(&c, &ev, &ca);
        check_sent(&ca, c.cid_reply, cc.cid, cc.fsc, true);
        if (ca.kind == ISODEP_ACT_DELIVER_APDU && ca.apdu_len > sizeof cbuf)
            __builtin_trap();
        if (c.state == ISODEP_PICC_BUSY) {
            if ((kind & 0x40) &&
                isodep_picc_request_wtx(&c, (uint8_t)(1 + kind % 59), &ca) != ISODEP_OK)
                __builtin_trap();
            else if ((kind & 0xC0) == 0x80 && isodep_picc_respond(&c, apdu, alen, &ca) != ISODEP_OK)
                __builtin_trap();
            check_sent(&ca, c.cid_reply, cc.cid, cc.fsc, true);
        }
        if (c.state == ISODEP_PICC_HALTED && (kind & 0x10))
            isodep_picc_init(&c, &cc, cbuf, sizeof cbuf);
    }
    return 0;
}

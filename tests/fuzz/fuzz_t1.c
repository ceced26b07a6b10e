/* libFuzzer target: arbitrary bytes as a sequence of received blocks (and
 * line events) fed to both T=1 roles. Every block either role sends must be
 * a valid block within the negotiated sizes, and every length reported back
 * must fit its buffer. The fuzzer also decides when the IFD abandons a
 * chain (t1_ifd_abort, t1_card_abort: S(ABORT request) or a refusal that
 * changes nothing) and when the card offers a new IFSC
 * (t1_card_request_ifs). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hawiya/t1.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t rbuf[600];
static uint8_t cbuf[600];
static uint8_t apdu[700];

static void check_sent(const struct t1_action *a, enum t1_edc edc, size_t max_inf)
{
    if (a->kind != T1_ACT_SEND)
        return;
    struct t1_block b;
    if (a->block == NULL || a->block_len > T1_BLOCK_MAX ||
        t1_block_decode(a->block, a->block_len, edc, &b) != T1_OK)
        __builtin_trap();
    if (b.type == T1_BLOCK_I && b.len > max_inf)
        __builtin_trap();
}

/* t1_ifd_abort either replaces the pending block by S(ABORT request) or
 * refuses and leaves the context exactly as it was. */
static void try_abort(struct t1_ifd *t, struct t1_action *ia, enum t1_edc edc)
{
    static struct t1_ifd before;
    memcpy(&before, t, sizeof before);
    struct t1_action a;
    if (t1_ifd_abort(t, &a) == T1_OK) {
        struct t1_block b;
        if (a.kind != T1_ACT_SEND || t->state != T1_IFD_ABORT ||
            t1_block_decode(a.block, a.block_len, edc, &b) != T1_OK || b.type != T1_BLOCK_S ||
            b.s_type != T1_S_ABORT || b.s_response)
            __builtin_trap();
        *ia = a;
    } else if (a.kind != T1_ACT_ERROR || a.err != T1_ERR_STATE ||
               memcmp(&before, t, sizeof before) != 0) {
        __builtin_trap();
    }
}

/* The same for t1_card_abort. */
static void try_card_abort(struct t1_card *c, struct t1_action *ca, enum t1_edc edc)
{
    static struct t1_card before;
    memcpy(&before, c, sizeof before);
    struct t1_action a;
    if (t1_card_abort(c, &a) == T1_OK) {
        struct t1_block b;
        if (a.kind != T1_ACT_SEND || c->state != T1_CARD_ABORT ||
            t1_block_decode(a.block, a.block_len, edc, &b) != T1_OK || b.type != T1_BLOCK_S ||
            b.s_type != T1_S_ABORT || b.s_response)
            __builtin_trap();
        *ca = a;
    } else if (a.kind != T1_ACT_ERROR || a.err != T1_ERR_STATE ||
               memcmp(&before, c, sizeof before) != 0) {
        __builtin_trap();
    }
}

/* Input layout: byte 0 = configuration, byte 1 = APDU length / 3, then
 * records: a kind byte (0xF0 timeout, 0xF1 line error, else block length
 * = kind % 64), then that many bytes; bit 6 of the kind byte re-computes
 * the EDC so that the fuzzer gets past it; bit 7 asks the IFD to abort
 * (before the event), bits 7 and 0 the card as well, bits 1-2 = 11 make a busy card offer IFSC =
 * the record's last byte (or 0, refused). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    struct t1_config cfg = {
        .ifsc = (uint8_t)(1 + (data[0] & 0x0F) * 16),
        .ifsd = (uint8_t)(1 + (data[0] >> 4 & 0x07) * 30),
        .edc = (data[0] & 0x80) ? T1_EDC_CRC : T1_EDC_LRC,
        .nad = 0,
        .bwt = 100,
        .cwt = 1,
    };
    size_t alen = (size_t)data[1] * 3 % sizeof apdu;
    for (size_t i = 0; i < alen; i++)
        apdu[i] = (uint8_t)i;

    struct t1_ifd t;
    struct t1_card c;
    struct t1_action ia, ca = {.kind = T1_ACT_NONE};
    if (t1_ifd_init(&t, &cfg) != T1_OK || t1_card_init(&c, &cfg, cbuf, sizeof cbuf) != T1_OK)
        __builtin_trap();
    t1_ifd_transceive_begin(&t, apdu, alen, rbuf, sizeof rbuf, &ia);
    check_sent(&ia, cfg.edc, t.ifsc);

    size_t i = 2;
    uint8_t blk[T1_BLOCK_MAX];
    while (i < size) {
        uint8_t kind = data[i++];
        struct t1_event ev = {.kind = T1_EV_BLOCK};
        if (kind == 0xF0) {
            ev.kind = T1_EV_TIMEOUT;
        } else if (kind == 0xF1) {
            ev.kind = T1_EV_RX_ERROR;
        } else {
            size_t n = kind % 64u;
            if (n > size - i)
                n = size - i;
            memcpy(blk, data + i, n);
            i += n;
            if ((kind & 0x40) && n >= 3 + t1_edc_len(cfg.edc)) {
                /* make LEN and the EDC consistent with the bytes given */
                size_t inf = n - 3 - t1_edc_len(cfg.edc);
                blk[2] = (uint8_t)inf;
                size_t out;
                t1_block_encode(blk, sizeof blk, blk[0], blk[1], blk + 3, inf, cfg.edc, &out);
            }
            ev.data = blk;
            ev.len = n;
        }

        if ((kind & 0x80) && ia.kind == T1_ACT_SEND)
            try_abort(&t, &ia, cfg.edc);
        t1_ifd_step(&t, &ev, &ia);
        check_sent(&ia, cfg.edc, t.ifsc);
        if (ia.kind == T1_ACT_DONE && ia.apdu_len > sizeof rbuf)
            __builtin_trap();
        if (t.state == T1_IFD_IDLE) {
            if (ia.kind == T1_ACT_ERROR && ia.fatal)
                __builtin_trap();
            t1_ifd_transceive_begin(&t, apdu, alen, rbuf, sizeof rbuf, &ia);
            check_sent(&ia, cfg.edc, t.ifsc);
        } else if (t.state == T1_IFD_DEAD) {
            if (ia.kind != T1_ACT_ERROR || !ia.fatal)
                __builtin_trap();
            t1_ifd_init(&t, &cfg);
            t1_ifd_transceive_begin(&t, apdu, alen, rbuf, sizeof rbuf, &ia);
        }

        if ((kind & 0x81) == 0x81 && ca.kind == T1_ACT_SEND)
            try_card_abort(&c, &ca, cfg.edc);
        t1_card_step(&c, &ev, &ca);
        check_sent(&ca, cfg.edc, c.ifsd);
        if (ca.kind == T1_ACT_DELIVER_APDU && ca.apdu_len > sizeof cbuf)
            __builtin_trap();
        if (c.state == T1_CARD_BUSY) {
            uint8_t ifsc = ev.kind == T1_EV_BLOCK && ev.len > 0 ? blk[ev.len - 1] : 0;
            if ((kind & 6) == 6) {
                enum t1_err e = t1_card_request_ifs(&c, ifsc, &ca);
                bool valid = ifsc >= 1 && ifsc <= T1_INF_MAX;
                if (valid ? (e != T1_OK || c.state != T1_CARD_IFS)
                          : (e != T1_ERR_PARAM || c.state != T1_CARD_BUSY))
                    __builtin_trap();
            } else if ((kind & 1) && t1_card_request_wtx(&c, 2, &ca) != T1_OK)
                __builtin_trap();
            else if (!(kind & 1) && t1_card_respond(&c, apdu, alen, &ca) != T1_OK)
                __builtin_trap();
            check_sent(&ca, cfg.edc, c.ifsd);
        }
    }
    return 0;
}

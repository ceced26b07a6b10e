#include "hawiya/serial_frame.h"

#include <string.h>

#include "hawiya/crc16.h"

const char *serial_frame_err_str(enum serial_frame_err e)
{
    switch (e) {
    case SERIAL_FRAME_OK: return "SERIAL_FRAME_OK";
    case SERIAL_FRAME_NONE: return "SERIAL_FRAME_NONE";
    case SERIAL_FRAME_ERR_FCS: return "SERIAL_FRAME_ERR_FCS";
    case SERIAL_FRAME_ERR_ESCAPE: return "SERIAL_FRAME_ERR_ESCAPE";
    case SERIAL_FRAME_ERR_SHORT: return "SERIAL_FRAME_ERR_SHORT";
    case SERIAL_FRAME_ERR_TOO_LONG: return "SERIAL_FRAME_ERR_TOO_LONG";
    case SERIAL_FRAME_ERR_KIND: return "SERIAL_FRAME_ERR_KIND";
    case SERIAL_FRAME_ERR_NO_SPACE: return "SERIAL_FRAME_ERR_NO_SPACE";
    }
    return "SERIAL_FRAME_ERR_UNKNOWN";
}

bool serial_kind_valid(uint8_t kind)
{
    switch (kind) {
    case SERIAL_KIND_HELLO:
    case SERIAL_KIND_BYE:
    case SERIAL_KIND_BULK_OUT:
    case SERIAL_KIND_BULK_IN:
    case SERIAL_KIND_INTERRUPT: return true;
    }
    return false;
}

void serial_frame_rx_init(struct serial_frame_rx *rx, uint8_t *buf, size_t cap)
{
    memset(rx, 0, sizeof *rx);
    rx->buf = buf;
    rx->cap = cap;
    rx->hunting = true;
}

void serial_frame_rx_reset(struct serial_frame_rx *rx)
{
    rx->len = 0;
    rx->escaped = false;
    rx->hunting = true;
    rx->have_seq = false;
}

/* Drops the frame in progress for reason e; the next flag starts afresh. */
static enum serial_frame_err drop(struct serial_frame_rx *rx, enum serial_frame_err e)
{
    switch (e) {
    case SERIAL_FRAME_ERR_FCS: rx->stats.bad_fcs++; break;
    case SERIAL_FRAME_ERR_ESCAPE: rx->stats.bad_escape++; break;
    case SERIAL_FRAME_ERR_SHORT: rx->stats.too_short++; break;
    case SERIAL_FRAME_ERR_TOO_LONG: rx->stats.too_long++; break;
    case SERIAL_FRAME_ERR_KIND: rx->stats.bad_kind++; break;
    default: break;
    }
    rx->len = 0;
    rx->escaped = false;
    rx->hunting = true;
    return e;
}

/* A flag closed the bytes in rx->buf: a frame, or the reason it is not one. */
static enum serial_frame_err close_frame(struct serial_frame_rx *rx, struct serial_frame *f)
{
    size_t n = rx->len;
    rx->len = 0;
    if (rx->escaped) {
        rx->escaped = false;
        return drop(rx, SERIAL_FRAME_ERR_ESCAPE); /* 7D 7E: the sender aborted */
    }
    if (n == 0)
        return SERIAL_FRAME_NONE; /* back-to-back flags */
    if (n < SERIAL_FRAME_OVERHEAD)
        return drop(rx, SERIAL_FRAME_ERR_SHORT);
    if (crc16_13239_update(CRC16_13239_INIT, rx->buf, n) != CRC16_13239_GOOD)
        return drop(rx, SERIAL_FRAME_ERR_FCS);
    if (!serial_kind_valid(rx->buf[0]))
        return drop(rx, SERIAL_FRAME_ERR_KIND);
    /* The flag that closed this frame opens the next one: no hunting. */
    rx->hunting = false;
    uint8_t seq = rx->buf[1];
    if (rx->have_seq && seq != rx->next_seq)
        rx->stats.lost += (uint8_t)(seq - rx->next_seq);
    rx->have_seq = true;
    rx->next_seq = (uint8_t)(seq + 1);
    rx->stats.frames++;
    f->kind = rx->buf[0];
    f->seq = seq;
    f->payload = rx->buf + 2;
    f->len = n - SERIAL_FRAME_OVERHEAD;
    return SERIAL_FRAME_OK;
}

enum serial_frame_err serial_frame_rx_byte(struct serial_frame_rx *rx, uint8_t b,
                                           struct serial_frame *f)
{
    if (b == SERIAL_FRAME_FLAG) {
        if (rx->hunting) {
            rx->hunting = false;
            rx->len = 0;
            rx->escaped = false;
            return SERIAL_FRAME_NONE;
        }
        return close_frame(rx, f);
    }
    if (rx->hunting) {
        rx->stats.hunted++;
        return SERIAL_FRAME_NONE;
    }
    if (rx->escaped) {
        rx->escaped = false;
        b ^= SERIAL_FRAME_XOR;
        /* Only 7E and 7D need stuffing; the sender never stuffs anything
         * else, so anything else after 7D is a corrupted line. */
        if (b != SERIAL_FRAME_FLAG && b != SERIAL_FRAME_ESCAPE)
            return drop(rx, SERIAL_FRAME_ERR_ESCAPE);
    } else if (b == SERIAL_FRAME_ESCAPE) {
        rx->escaped = true;
        return SERIAL_FRAME_NONE;
    }
    if (rx->len >= rx->cap)
        return drop(rx, SERIAL_FRAME_ERR_TOO_LONG);
    rx->buf[rx->len++] = b;
    return SERIAL_FRAME_NONE;
}

/* --- encoder ------------------------------------------------------------- */

static size_t stuff(uint8_t b, uint8_t *out)
{
    if (b == SERIAL_FRAME_FLAG || b == SERIAL_FRAME_ESCAPE) {
        out[0] = SERIAL_FRAME_ESCAPE;
        out[1] = (uint8_t)(b ^ SERIAL_FRAME_XOR);
        return 2;
    }
    out[0] = b;
    return 1;
}

size_t serial_frame_tx_begin(struct serial_frame_tx *tx, uint8_t kind, uint8_t seq, uint8_t out[5])
{
    uint8_t hdr[2] = {kind, seq};
    tx->fcs = crc16_13239_update(CRC16_13239_INIT, hdr, sizeof hdr);
    size_t k = 0;
    out[k++] = SERIAL_FRAME_FLAG;
    k += stuff(kind, out + k);
    k += stuff(seq, out + k);
    return k;
}

size_t serial_frame_tx_data(struct serial_frame_tx *tx, const uint8_t *p, size_t n, uint8_t *out)
{
    size_t k = 0;
    tx->fcs = crc16_13239_update(tx->fcs, p, n);
    for (size_t i = 0; i < n; i++)
        k += stuff(p[i], out + k);
    return k;
}

size_t serial_frame_tx_end(struct serial_frame_tx *tx, uint8_t out[5])
{
    uint16_t fcs = (uint16_t)~tx->fcs;
    size_t k = 0;
    k += stuff((uint8_t)fcs, out + k);
    k += stuff((uint8_t)(fcs >> 8), out + k);
    out[k++] = SERIAL_FRAME_FLAG;
    return k;
}

static size_t stuffed_len(uint8_t b)
{
    return b == SERIAL_FRAME_FLAG || b == SERIAL_FRAME_ESCAPE ? 2 : 1;
}

enum serial_frame_err serial_frame_encode(uint8_t kind, uint8_t seq, const uint8_t *payload,
                                          size_t n, uint8_t *out, size_t cap, size_t *out_len)
{
    *out_len = 0;
    if (cap < SERIAL_FRAME_MAX_ENCODED(n)) {
        /* Below the worst case: the exact size decides. */
        uint8_t hdr[2] = {kind, seq};
        uint16_t fcs = (uint16_t)~crc16_13239_update(
            crc16_13239_update(CRC16_13239_INIT, hdr, sizeof hdr), payload, n);
        size_t need = 2 + stuffed_len(kind) + stuffed_len(seq) + stuffed_len((uint8_t)fcs) +
                      stuffed_len((uint8_t)(fcs >> 8));
        for (size_t i = 0; i < n; i++)
            need += stuffed_len(payload[i]);
        if (cap < need)
            return SERIAL_FRAME_ERR_NO_SPACE;
    }
    struct serial_frame_tx tx;
    size_t k = serial_frame_tx_begin(&tx, kind, seq, out);
    k += serial_frame_tx_data(&tx, payload, n, out + k);
    k += serial_frame_tx_end(&tx, out + k);
    *out_len = k;
    return SERIAL_FRAME_OK;
}

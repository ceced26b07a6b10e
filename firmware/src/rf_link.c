#include "rf_link.h"

#include <string.h>

#include "hal/timer.h"

void rf_link_init(struct rf_link *l, line_tick_fn tick, void *ctx, uint64_t tick_ns)
{
    memset(l, 0, sizeof *l);
    hal_rf_caps(&l->caps);
    l->tick = tick;
    l->tick_ctx = ctx;
    l->tick_ns = tick_ns;
}

bool rf_link_present(const struct rf_link *l)
{
    return l->caps.rates != 0;
}

void rf_link_tick_restart(struct rf_link *l)
{
    l->tick_base_ns = hal_now_ns();
    l->abandoned = false;
}

void rf_link_field(struct rf_link *l, bool on)
{
    if (on == l->field)
        return;
    hal_rf_field(on);
    l->field = on;
    l->last_end_ns = hal_now_ns();
}

void rf_link_configure(struct rf_link *l, enum iso14443_type t, enum iso14443_rate tx,
                       enum iso14443_rate rx)
{
    l->type = t;
    l->tx_rate = tx;
    l->rx_rate = rx;
    hal_rf_configure(t == ISO14443_A ? RF_TECH_A : RF_TECH_B, tx, rx);
}

/* Whatever waiting the exchange took, the host hears from us every tick_ns. */
static void ticks(struct rf_link *l)
{
    uint64_t now = hal_now_ns();
    while (l->tick && l->tick_ns && now - l->tick_base_ns >= l->tick_ns) {
        l->tick_base_ns += l->tick_ns;
        if (!l->tick(l->tick_ctx, l->tick_base_ns))
            l->abandoned = true;
    }
}

static bool chip_crc(const struct rf_link *l)
{
    return (l->caps.flags & (l->type == ISO14443_A ? RF_CAP_CRC_A : RF_CAP_CRC_B)) != 0;
}

void rf_link_xfer(struct rf_link *l, const struct iso14443_tx *tx, uint8_t *rx, size_t cap,
                  struct iso14443_rx *out)
{
    *out = (struct iso14443_rx){.kind = ISO14443_RX_TIMEOUT, .data = rx};
    if (l->abandoned)
        return; /* nobody waits for the answer any more: as if the card had gone */
    size_t nbytes = (tx->bits + 7) / 8;
    bool soft = tx->crc && !chip_crc(l);
    if (nbytes + ISO14443_CRC_LEN > sizeof l->buf || (tx->crc && tx->bits % 8 != 0)) {
        out->kind = ISO14443_RX_ERROR;
        return;
    }
    /* 14443-3 6.2.1.2, 7.10.3: the PCD leaves the PICC time after its frame
     * (and SFGT after an ATS, when asked). */
    uint64_t guard = iso14443_pcd_guard_ns(l->type, l->tx_rate);
    if (tx->guard_ns > guard)
        guard = tx->guard_ns;
    uint64_t now = hal_now_ns();
    if (l->last_end_ns + guard > now)
        hal_delay_ns(l->last_end_ns + guard - now);

    memcpy(l->buf, tx->data, nbytes);
    size_t bits = tx->bits;
    if (soft) {
        iso14443_crc_append(l->type, l->buf, nbytes);
        bits += 8 * ISO14443_CRC_LEN;
    }
    struct rf_xfer x = {.tx = l->buf,
                        .tx_bits = bits,
                        .crc = tx->crc && !soft,
                        .rx_align = tx->rx_align,
                        .timeout_ns = tx->timeout_ns,
                        .rx = rx,
                        .rx_cap = cap};
    struct rf_result r;
    hal_rf_transceive(&x, &r);
    l->frames_tx++;
    l->busy_ns +=
        iso14443_frame_ns(l->type, l->tx_rate, false, bits + (x.crc ? 8 * ISO14443_CRC_LEN : 0));
    if (r.status != RF_RX_TIMEOUT) {
        l->frames_rx++;
        size_t air = r.rx_bits + (x.crc && r.status == RF_RX_OK ? 8 * ISO14443_CRC_LEN : 0);
        l->busy_ns += iso14443_frame_ns(l->type, l->rx_rate, true, air);
    }
    l->last_end_ns = hal_now_ns();
    ticks(l);

    switch (r.status) {
    case RF_RX_OK: break;
    case RF_RX_TIMEOUT: return;
    case RF_RX_COLLISION:
        out->kind = ISO14443_RX_COLLISION;
        out->bits = r.rx_bits;
        out->coll_bit = r.coll_bit;
        return;
    default: out->kind = ISO14443_RX_ERROR; return;
    }
    out->kind = ISO14443_RX_FRAME;
    out->bits = r.rx_bits;
    if (soft) {
        /* our CRC: the whole answer came in, its last two bytes the CRC */
        size_t n = r.rx_bits / 8;
        if (r.rx_bits % 8 != 0 || tx->rx_align != 0 || n < ISO14443_CRC_LEN ||
            !iso14443_crc_ok(l->type, rx, n)) {
            out->kind = ISO14443_RX_ERROR;
            return;
        }
        out->bits -= 8 * ISO14443_CRC_LEN;
    }
}

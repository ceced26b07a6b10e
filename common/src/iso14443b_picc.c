/* Type B card role: the PICC states of 14443-3 7.4, its answers 7.7 to 7.12. */
#include <string.h>

#include "hawiya/iso14443b.h"

enum iso14443_err iso14443b_picc_init(struct iso14443b_picc *c,
                                      const struct iso14443b_picc_config *cfg)
{
    memset(c, 0, sizeof *c);
    if ((cfg->proto_len != 3 && cfg->proto_len != 4) || cfg->mbli > 15)
        return ISO14443_ERR_PARAM;
    c->cfg = *cfg;
    c->rnd = cfg->seed ? cfg->seed : 0x2545F491u;
    c->state = ISO14443B_PICC_OFF;
    return ISO14443_OK;
}

void iso14443b_picc_field(struct iso14443b_picc *c, bool on)
{
    c->state = on ? ISO14443B_PICC_IDLE : ISO14443B_PICC_OFF;
    c->slot = 0;
}

void iso14443b_picc_halt(struct iso14443b_picc *c)
{
    if (c->state != ISO14443B_PICC_OFF)
        c->state = ISO14443B_PICC_HALT;
}

static void answer(struct iso14443b_picc *c, struct iso14443b_picc_out *out, size_t n)
{
    iso14443_crc_append(ISO14443_B, c->out, n);
    out->kind = ISO14443B_PICC_ANSWER;
    out->data = c->out;
    out->len = n + ISO14443_CRC_LEN;
}

static void atqb(struct iso14443b_picc *c, struct iso14443b_picc_out *out)
{
    c->state = ISO14443B_PICC_READY_DECLARED;
    c->out[0] = ISO14443B_ATQB;
    memcpy(c->out + 1, c->cfg.pupi, 4);
    memcpy(c->out + 5, c->cfg.app_data, 4);
    memcpy(c->out + 9, c->cfg.proto, c->cfg.proto_len);
    answer(c, out, 9 + c->cfg.proto_len);
}

/* 7.7.3: AFI 00 addresses every PICC; x0 every sub-family of family x. */
static bool afi_matches(const struct iso14443b_picc *c, uint8_t afi)
{
    uint8_t ours = c->cfg.app_data[0];
    if (afi == 0)
        return true;
    if ((afi & 0x0F) == 0)
        return (afi & 0xF0) == (ours & 0xF0);
    return afi == ours;
}

static uint32_t next_random(struct iso14443b_picc *c)
{
    uint32_t x = c->rnd; /* xorshift32 */
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c->rnd = x;
    return x;
}

/* 7.7: REQB / WUPB: pick a slot among N; answer now if it is the first. */
static void on_req(struct iso14443b_picc *c, const uint8_t *d, struct iso14443b_picc_out *out)
{
    uint8_t code = d[2] & 0x07;
    bool wup = (d[2] & ISO14443B_WUPB) != 0;
    if (code > 4 || !afi_matches(c, d[1]))
        return;
    if (c->state == ISO14443B_PICC_HALT && !wup)
        return;
    if (c->state == ISO14443B_PICC_ACTIVE)
        return;
    unsigned n = 1u << code;
    c->slot = 1 + (unsigned)(next_random(c) % n);
    if (c->slot == 1)
        atqb(c, out);
    else
        c->state = ISO14443B_PICC_READY_REQUESTED;
}

/* 7.10 / 7.11: ATTRIB with our PUPI selects the card. Param2 choosing a
 * divisor our Bit_Rate_capability did not offer (or two different ones
 * when its b8 asks for the same both ways) is not answered and changes
 * nothing: the card stays as it was, for an ATTRIB it can take. */
static void on_attrib(struct iso14443b_picc *c, const uint8_t *d, size_t n,
                      struct iso14443b_picc_out *out)
{
    if (n < 9 + ISO14443_CRC_LEN || memcmp(d + 1, c->cfg.pupi, 4) != 0)
        return;
    if ((d[7] & 0xF0) != 0 || (d[8] & 0xF0) != 0 || (d[8] & 0x0F) == 15)
        return; /* RFU bits in Param3 / Param4, or CID 15 */
    if (!iso14443_rates_offered(iso14443b_rate_cap(c->cfg.proto[0]), d[6] >> 6 & 3u,
                                d[6] >> 4 & 3u))
        return;
    bool cid_ok = (c->cfg.proto[2] & 0x01) != 0;
    c->fsdi = d[6] & 0x0F;
    c->cid = cid_ok ? (uint8_t)(d[8] & 0x0F) : 0;
    c->state = ISO14443B_PICC_ACTIVE;
    c->fresh = true;
    c->out[0] = (uint8_t)(c->cfg.mbli << 4 | c->cid);
    answer(c, out, 1);
    out->rates_changed = true;
    out->dsi = (enum iso14443_rate)(d[6] >> 6 & 3u);
    out->dri = (enum iso14443_rate)(d[6] >> 4 & 3u);
}

void iso14443b_picc_frame(struct iso14443b_picc *c, const uint8_t *data, size_t n,
                          struct iso14443b_picc_out *out)
{
    memset(out, 0, sizeof *out);
    /* A damaged frame changes nothing and gets no answer. */
    if (c->state == ISO14443B_PICC_OFF || data == NULL || n < 1 + ISO14443_CRC_LEN ||
        !iso14443_crc_ok(ISO14443_B, data, n))
        return;
    size_t len = n - ISO14443_CRC_LEN;
    bool ready =
        c->state == ISO14443B_PICC_READY_REQUESTED || c->state == ISO14443B_PICC_READY_DECLARED;
    if (len == 5 && data[0] == ISO14443B_HLTB && memcmp(data + 1, c->cfg.pupi, 4) == 0 &&
        (ready || c->state == ISO14443B_PICC_ACTIVE)) {
        c->state = ISO14443B_PICC_HALT; /* 7.12: answered with 00 */
        c->out[0] = 0x00;
        answer(c, out, 1);
        return;
    }
    if (c->state == ISO14443B_PICC_ACTIVE && c->fresh && len >= 9 && data[0] == ISO14443B_ATTRIB) {
        /* our answer to ATTRIB was lost: the PCD sends it again */
        on_attrib(c, data, n, out);
        return;
    }
    if (c->state == ISO14443B_PICC_ACTIVE) {
        c->fresh = false;
        out->kind = ISO14443B_PICC_BLOCK;
        out->block = data;
        out->block_len = len;
        return;
    }
    if (len == 3 && data[0] == ISO14443B_APF) {
        on_req(c, data, out);
        return;
    }
    if (len == 1 && (data[0] & 0x0F) == ISO14443B_APF && data[0] != ISO14443B_APF) {
        /* 7.8: Slot-MARKER for slot n = (APn >> 4) + 1 */
        if (c->state == ISO14443B_PICC_READY_REQUESTED && (unsigned)(data[0] >> 4) + 1 == c->slot)
            atqb(c, out);
        return;
    }
    if (len >= 9 && data[0] == ISO14443B_ATTRIB && c->state == ISO14443B_PICC_READY_DECLARED)
        on_attrib(c, data, n, out);
}

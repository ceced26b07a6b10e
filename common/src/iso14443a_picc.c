/* Type A card role: the PICC states of 14443-3 6.3 and RATS / PPS of 14443-4 5. */
#include <string.h>

#include "hawiya/iso14443a.h"

enum iso14443_err iso14443a_picc_init(struct iso14443a_picc *c,
                                      const struct iso14443a_picc_config *cfg)
{
    uint8_t cln[5];
    memset(c, 0, sizeof *c);
    if (!iso14443a_uid_cln(cfg->uid, cfg->uid_len, 1, cln) ||
        (cfg->ats &&
         (cfg->ats_len < 1 || cfg->ats_len > ISO14443A_ATS_MAX || cfg->ats[0] != cfg->ats_len)))
        return ISO14443_ERR_PARAM;
    c->cfg = *cfg;
    struct iso14443a_ats ats;
    if (cfg->ats && iso14443a_ats_parse(cfg->ats, cfg->ats_len, &ats) == ISO14443_OK)
        c->ta = ats.ta; /* b4 = 1 already read as 0 */
    c->state = ISO14443A_PICC_OFF;
    return ISO14443_OK;
}

void iso14443a_picc_field(struct iso14443a_picc *c, bool on)
{
    /* 6.3.1 / 6.3.2: power-off state until the field comes, then IDLE. */
    c->state = on ? ISO14443A_PICC_IDLE : ISO14443A_PICC_OFF;
    c->halted = false;
    c->level = 0;
    c->pps_allowed = false;
}

void iso14443a_picc_halt(struct iso14443a_picc *c)
{
    if (c->state != ISO14443A_PICC_OFF) {
        c->state = ISO14443A_PICC_HALT;
        c->halted = true;
    }
}

/* 6.3: an unexpected frame in READY or ACTIVE sends the card back to IDLE,
 * or to HALT when it came from there (READY*, ACTIVE*). */
static void fall_back(struct iso14443a_picc *c)
{
    c->state = c->halted ? ISO14443A_PICC_HALT : ISO14443A_PICC_IDLE;
    c->level = 0;
}

static void answer(struct iso14443a_picc *c, struct iso14443a_picc_out *out, size_t n, bool crc)
{
    if (crc) {
        iso14443_crc_append(ISO14443_A, c->out, n);
        n += ISO14443_CRC_LEN;
    }
    out->kind = ISO14443A_PICC_ANSWER;
    out->data = c->out;
    out->bits = 8 * n;
    out->align = 0;
}

static void atqa(struct iso14443a_picc *c, struct iso14443a_picc_out *out)
{
    c->state = ISO14443A_PICC_READY;
    c->level = 1;
    memcpy(c->out, c->cfg.atqa, 2);
    answer(c, out, 2, false);
}

static size_t levels(const struct iso14443a_picc *c)
{
    return c->cfg.uid_len == 4 ? 1 : c->cfg.uid_len == 7 ? 2 : 3;
}

/* 6.5.3: SEL NVB [known bits of CLn] -> the rest of CLn + BCC, or SELECT. */
static void on_select(struct iso14443a_picc *c, const uint8_t *d, size_t bits,
                      struct iso14443a_picc_out *out)
{
    static const uint8_t sel[4] = {0, ISO14443A_SEL_CL1, ISO14443A_SEL_CL2, ISO14443A_SEL_CL3};
    uint8_t cln[5];
    if (d[0] != sel[c->level] || !iso14443a_uid_cln(c->cfg.uid, c->cfg.uid_len, c->level, cln)) {
        /* another level's SEL is not for us at this point; anything else ends READY */
        if (d[0] != ISO14443A_SEL_CL1 && d[0] != ISO14443A_SEL_CL2 && d[0] != ISO14443A_SEL_CL3)
            fall_back(c);
        return;
    }
    uint8_t nvb = d[1];
    if (nvb == ISO14443A_NVB_SELECT) {
        if (bits != 72 || !iso14443_crc_ok(ISO14443_A, d, 9)) {
            fall_back(c);
            return;
        }
        if (memcmp(d + 2, cln, 5) != 0) {
            fall_back(c); /* 6.3.4: another card was selected */
            return;
        }
        if (c->level < levels(c)) {
            c->level++;
            c->out[0] = ISO14443A_SAK_CASCADE;
        } else {
            c->state = ISO14443A_PICC_ACTIVE;
            c->out[0] = (uint8_t)(c->cfg.sak & ~ISO14443A_SAK_CASCADE);
        }
        answer(c, out, 1, true);
        return;
    }
    unsigned whole = nvb >> 4, extra = nvb & 0x0F;
    if (whole < 2 || whole > 6 || extra > 7)
        return;
    unsigned known = (whole - 2) * 8 + extra;
    if (known >= 40 || bits != 16 + known)
        return;
    for (unsigned b = 0; b < known; b++)
        if ((d[2 + b / 8] >> (b % 8) & 1u) != (cln[b / 8] >> (b % 8) & 1u))
            return; /* our UID does not start with these bits: keep quiet */
    size_t first = known / 8;
    memcpy(c->out, cln + first, 5 - first);
    c->out[0] &= (uint8_t) ~((1u << (known % 8)) - 1); /* those bits are not sent */
    out->kind = ISO14443A_PICC_ANSWER;
    out->data = c->out;
    out->bits = 40 - known;
    out->align = (uint8_t)(known % 8);
}

/* 14443-4 5.1 / 5.2: RATS -> ATS; the card then speaks 14443-4. */
static void on_rats(struct iso14443a_picc *c, const uint8_t *d, struct iso14443a_picc_out *out)
{
    uint8_t cid = d[1] & 0x0F;
    if (!c->cfg.ats || cid == 15) {
        fall_back(c);
        return;
    }
    c->fsdi = d[1] >> 4;
    c->cid = cid;
    memcpy(c->out, c->cfg.ats, c->cfg.ats_len);
    c->state = ISO14443A_PICC_PROTOCOL;
    c->pps_allowed = true;
    answer(c, out, c->cfg.ats_len, true);
}

/* 14443-4 5.3: PPSS PPS0 [PPS1], only as the first frame after the ATS.
 * A PPS1 choosing a divisor TA(1) did not offer (or two different ones
 * when TA(1) b8 asks for the same both ways) is not a valid PPS request for
 * this card: it is not answered and changes nothing (5.6; the PCD may ask
 * again with rates it was offered). */
static bool on_pps(struct iso14443a_picc *c, const uint8_t *d, size_t n,
                   struct iso14443a_picc_out *out)
{
    if ((d[0] & 0xF0) != ISO14443A_PPSS || (n != 4 && n != 5) ||
        !iso14443_crc_ok(ISO14443_A, d, n) || (d[0] & 0x0F) != c->cid || (d[1] & 0xEF) != 0x01 ||
        ((d[1] & 0x10) != 0) != (n == 5))
        return false;
    if (n == 5 && !iso14443_rates_offered(c->ta, d[2] >> 2 & 3u, d[2] & 3u))
        return true; /* silent */
    c->pps_allowed = false;
    c->out[0] = d[0];
    answer(c, out, 1, true);
    if (n == 5) {
        out->rates_changed = true;
        out->dsi = (enum iso14443_rate)(d[2] >> 2 & 3u);
        out->dri = (enum iso14443_rate)(d[2] & 3u);
    }
    return true;
}

void iso14443a_picc_frame(struct iso14443a_picc *c, const uint8_t *data, size_t bits,
                          struct iso14443a_picc_out *out)
{
    memset(out, 0, sizeof *out);
    if (c->state == ISO14443A_PICC_OFF || data == NULL || bits == 0)
        return;
    if (bits == 7) {
        /* 6.3: REQA wakes IDLE cards, WUPA IDLE and HALT ones. */
        uint8_t cmd = data[0] & 0x7F;
        bool wake =
            cmd == ISO14443A_WUPA || (cmd == ISO14443A_REQA && c->state != ISO14443A_PICC_HALT);
        if ((c->state == ISO14443A_PICC_IDLE || c->state == ISO14443A_PICC_HALT) && wake) {
            c->halted = c->state == ISO14443A_PICC_HALT;
            atqa(c, out);
        } else if (c->state == ISO14443A_PICC_READY || c->state == ISO14443A_PICC_ACTIVE) {
            fall_back(c);
        }
        return;
    }
    size_t n = bits / 8;
    switch (c->state) {
    case ISO14443A_PICC_READY:
        if (bits >= 16)
            on_select(c, data, bits, out);
        else
            fall_back(c);
        return;
    case ISO14443A_PICC_ACTIVE:
        if (bits == 32 && data[0] == ISO14443A_HLTA && data[1] == 0 &&
            iso14443_crc_ok(ISO14443_A, data, 4)) {
            iso14443a_picc_halt(c); /* 6.4.3: HLTA is never answered */
            return;
        }
        if (bits == 32 && data[0] == ISO14443A_RATS && iso14443_crc_ok(ISO14443_A, data, 4)) {
            on_rats(c, data, out);
            return;
        }
        fall_back(c);
        return;
    case ISO14443A_PICC_PROTOCOL:
        if (bits % 8 != 0 || n < 1 + ISO14443_CRC_LEN)
            return; /* 14443-4 7.5.6.2: a damaged frame is ignored */
        if (c->pps_allowed && on_pps(c, data, n, out))
            return;
        if (!iso14443_crc_ok(ISO14443_A, data, n))
            return;
        c->pps_allowed = false;
        out->kind = ISO14443A_PICC_BLOCK;
        out->block = data;
        out->block_len = n - ISO14443_CRC_LEN;
        return;
    default: return;
    }
}

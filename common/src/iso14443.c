/* ISO/IEC 14443 shared by Type A and B, PCD and PICC: CRCs, sizes, times. */
#include "hawiya/iso14443.h"

const char *iso14443_err_str(enum iso14443_err e)
{
    switch (e) {
    case ISO14443_OK: return "ISO14443_OK";
    case ISO14443_ERR_PARAM: return "ISO14443_ERR_PARAM";
    case ISO14443_ERR_STATE: return "ISO14443_ERR_STATE";
    case ISO14443_ERR_LENGTH: return "ISO14443_ERR_LENGTH";
    case ISO14443_ERR_CRC: return "ISO14443_ERR_CRC";
    case ISO14443_ERR_ATQA: return "ISO14443_ERR_ATQA";
    case ISO14443_ERR_BCC: return "ISO14443_ERR_BCC";
    case ISO14443_ERR_CASCADE: return "ISO14443_ERR_CASCADE";
    case ISO14443_ERR_SAK: return "ISO14443_ERR_SAK";
    case ISO14443_ERR_ATS: return "ISO14443_ERR_ATS";
    case ISO14443_ERR_PPS: return "ISO14443_ERR_PPS";
    case ISO14443_ERR_ATQB: return "ISO14443_ERR_ATQB";
    case ISO14443_ERR_ATTRIB: return "ISO14443_ERR_ATTRIB";
    case ISO14443_ERR_NOT_ISO_DEP: return "ISO14443_ERR_NOT_ISO_DEP";
    case ISO14443_ERR_COLLISION: return "ISO14443_ERR_COLLISION";
    case ISO14443_ERR_NO_ANSWER: return "ISO14443_ERR_NO_ANSWER";
    case ISO14443_ERR_TRANSMISSION: return "ISO14443_ERR_TRANSMISSION";
    }
    return "ISO14443_ERR_UNKNOWN";
}

/* 14443-3 Annex B: x^16 + x^12 + x^5 + 1, LSB first (0x8408). */
static uint16_t crc16(uint16_t crc, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int b = 0; b < 8; b++)
            crc = (crc & 1u) ? (uint16_t)((crc >> 1) ^ 0x8408u) : (uint16_t)(crc >> 1);
    }
    return crc;
}

uint16_t iso14443_crc_a(const uint8_t *p, size_t n)
{
    return crc16(0x6363, p, n);
}

uint16_t iso14443_crc_b(const uint8_t *p, size_t n)
{
    return (uint16_t)~crc16(0xFFFF, p, n);
}

static uint16_t crc_of(enum iso14443_type t, const uint8_t *p, size_t n)
{
    return t == ISO14443_A ? iso14443_crc_a(p, n) : iso14443_crc_b(p, n);
}

void iso14443_crc_append(enum iso14443_type t, uint8_t *p, size_t n)
{
    uint16_t c = crc_of(t, p, n);
    p[n] = (uint8_t)c;
    p[n + 1] = (uint8_t)(c >> 8);
}

bool iso14443_crc_ok(enum iso14443_type t, const uint8_t *p, size_t n)
{
    if (n < ISO14443_CRC_LEN)
        return false;
    uint16_t c = crc_of(t, p, n - ISO14443_CRC_LEN);
    return p[n - 2] == (uint8_t)c && p[n - 1] == (uint8_t)(c >> 8);
}

size_t iso14443_fs(uint8_t fsci)
{
    static const uint16_t fs[] = {16, 24, 32, 40, 48, 64, 96, 128, 256, 512, 1024, 2048, 4096};
    if (fsci > 0x0C)
        fsci = 0x0C;
    return fs[fsci];
}

uint8_t iso14443_fsi_for(size_t bytes)
{
    uint8_t i = 0;
    while (i < 0x0C && iso14443_fs((uint8_t)(i + 1)) <= bytes)
        i++;
    return i;
}

uint64_t iso14443_fc_ns(uint64_t cycles)
{
    return (cycles * 1000000000ull + ISO14443_FC_HZ - 1) / ISO14443_FC_HZ;
}

uint64_t iso14443_fwt_ns(uint8_t fwi)
{
    if (fwi > ISO14443_FWI_MAX)
        fwi = ISO14443_FWI_DEFAULT;
    return iso14443_fc_ns((uint64_t)(256u * 16u) << fwi);
}

uint64_t iso14443_sfgt_ns(uint8_t sfgi)
{
    if (sfgi == 0 || sfgi > ISO14443_FWI_MAX)
        return 0;
    return iso14443_fc_ns((uint64_t)(256u * 16u) << sfgi);
}

void iso14443_rate_masks(uint8_t cap, unsigned *ds, unsigned *dr, bool *same_d)
{
    *ds = 1u << ISO14443_106;
    *dr = 1u << ISO14443_106;
    for (unsigned k = 0; k < 3; k++) {
        if (cap & (0x10u << k))
            *ds |= 1u << (ISO14443_212 + k);
        if (cap & (0x01u << k))
            *dr |= 1u << (ISO14443_212 + k);
    }
    *same_d = (cap & 0x80) != 0;
}

bool iso14443_rates_offered(uint8_t cap, unsigned dsi, unsigned dri)
{
    unsigned ds, dr;
    bool same_d;
    iso14443_rate_masks(cap, &ds, &dr, &same_d);
    return dsi <= ISO14443_848 && dri <= ISO14443_848 && (ds >> dsi & 1u) && (dr >> dri & 1u) &&
           (!same_d || dsi == dri);
}

uint64_t iso14443_etu_ps(enum iso14443_rate r)
{
    /* 128 / (D fc) s in ps: 9439.5 ps at 106 kbit/s, rounded per rate. */
    uint64_t d = 1ull << ((unsigned)r & 3u);
    return (128ull * 1000000000000ull + d * ISO14443_FC_HZ / 2) / (d * ISO14443_FC_HZ);
}

uint64_t iso14443_frame_ns(enum iso14443_type t, enum iso14443_rate r, bool from_picc, size_t bits)
{
    uint64_t etu = iso14443_etu_ps(r), n;
    if (t == ISO14443_A) {
        /* start bit, data, one parity bit per whole byte, end of communication */
        n = 1 + bits + bits / 8 + 1;
    } else {
        /* SOF 10 + 2, characters of start + 8 + stop, EOF 10; TR1 = 80 / fs
         * of unmodulated subcarrier before the PICC's SOF (fs = fc / 16: 10 etu). */
        n = 12 + 10 * ((bits + 7) / 8) + 10 + (from_picc ? 10 : 0);
    }
    return (n * etu + 999) / 1000;
}

uint64_t iso14443_fdt_ns(enum iso14443_type t)
{
    return iso14443_fc_ns(t == ISO14443_A ? 1172u : 1024u);
}

uint64_t iso14443_pcd_guard_ns(enum iso14443_type t, enum iso14443_rate r)
{
    if (t == ISO14443_A)
        return iso14443_fc_ns(1172u);
    return (14u * iso14443_etu_ps(r) + 999) / 1000;
}

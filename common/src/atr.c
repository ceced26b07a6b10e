#include "hawiya/atr.h"

#include <string.h>

const char *atr_err_str(enum atr_err e)
{
    switch (e) {
    case ATR_OK: return "ATR_OK";
    case ATR_ERR_INCOMPLETE: return "ATR_ERR_INCOMPLETE";
    case ATR_ERR_BAD_TS: return "ATR_ERR_BAD_TS";
    case ATR_ERR_TOO_LONG: return "ATR_ERR_TOO_LONG";
    case ATR_ERR_TCK_MISMATCH: return "ATR_ERR_TCK_MISMATCH";
    case ATR_ERR_BAD_IFSC: return "ATR_ERR_BAD_IFSC";
    case ATR_ERR_TRAILING_BYTES: return "ATR_ERR_TRAILING_BYTES";
    case ATR_ERR_HIST_TLV: return "ATR_ERR_HIST_TLV";
    case ATR_ERR_HIST_STATUS: return "ATR_ERR_HIST_STATUS";
    }
    return "ATR_ERR_UNKNOWN";
}

enum atr_err atr_convention_from_raw(uint8_t raw, enum atr_convention *conv)
{
    if (raw == ATR_TS_DIRECT) {
        *conv = ATR_CONV_DIRECT;
        return ATR_OK;
    }
    if (raw == ATR_RAW_TS_INVERSE) {
        *conv = ATR_CONV_INVERSE;
        return ATR_OK;
    }
    return ATR_ERR_BAD_TS;
}

uint8_t atr_inverse_byte(uint8_t raw)
{
    uint8_t v = (uint8_t)~raw;
    uint8_t r = 0;
    for (int i = 0; i < 8; i++) {
        r = (uint8_t)(r << 1 | (v & 1));
        v >>= 1;
    }
    return r;
}

uint8_t atr_decode_char(enum atr_convention conv, uint8_t raw)
{
    return conv == ATR_CONV_INVERSE ? atr_inverse_byte(raw) : raw;
}

bool atr_fi_table(uint8_t fi_code, uint16_t *fi, uint32_t *fmax_khz)
{
    /* 7816-3 Table 7; codes 7, 8, 14 and 15 are RFU. */
    static const uint16_t fis[16] = {372, 372, 558, 744,  1116, 1488, 1860, 0,
                                     0,   512, 768, 1024, 1536, 2048, 0,    0};
    static const uint32_t fmaxs[16] = {4000, 5000, 6000, 8000,  12000, 16000, 20000, 0,
                                       0,    5000, 7500, 10000, 15000, 20000, 0,     0};
    if (fi_code > 15 || fis[fi_code] == 0)
        return false;
    *fi = fis[fi_code];
    *fmax_khz = fmaxs[fi_code];
    return true;
}

bool atr_di_table(uint8_t di_code, uint8_t *di)
{
    /* 7816-3 Table 8; codes 0 and 10..15 are RFU. */
    static const uint8_t dis[16] = {0, 1, 2, 4, 8, 16, 32, 64, 12, 20, 0, 0, 0, 0, 0, 0};
    if (di_code > 15 || dis[di_code] == 0)
        return false;
    *di = dis[di_code];
    return true;
}

static uint32_t gcd32(uint32_t a, uint32_t b)
{
    while (b != 0) {
        uint32_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

struct atr_fraction atr_etu_clocks(uint16_t fi, uint8_t di)
{
    struct atr_fraction f = {0, 0};
    if (fi == 0 || di == 0)
        return f;
    uint32_t g = gcd32(fi, di);
    f.num = fi / g;
    f.den = di / g;
    return f;
}

uint32_t atr_wt_clocks(uint8_t wi, uint16_t fi)
{
    return (uint32_t)wi * 960u * fi;
}

uint32_t atr_cgt_etu(uint8_t n, uint8_t protocol)
{
    if (n == 255)
        return protocol == 1 ? 11 : 12;
    return 12u + n;
}

uint32_t atr_cwt_etu(uint8_t cwi)
{
    return 11u + (1u << (cwi & 0x0f));
}

uint32_t atr_bwt_extra_clocks(uint8_t bwi)
{
    return (1u << (bwi & 0x0f)) * 960u * 372u;
}

uint32_t atr_bwt_clocks(uint8_t bwi, uint16_t fi, uint8_t di)
{
    if (fi == 0 || di == 0)
        return 0;
    uint64_t etu11 = ((uint64_t)11 * fi + di - 1) / di;
    uint64_t total = etu11 + (uint64_t)(1u << (bwi & 0x0f)) * 960u * 372u;
    return total > UINT32_MAX ? UINT32_MAX : (uint32_t)total;
}

static unsigned popcount4(uint8_t y)
{
    return (unsigned)((y & 1) + (y >> 1 & 1) + (y >> 2 & 1) + (y >> 3 & 1));
}

void atr_hist_decode(const uint8_t *hist, size_t len, struct atr_hist *out)
{
    memset(out, 0, sizeof *out);
    if (len == 0)
        return;
    uint8_t cat = hist[0];
    size_t end = len;
    if (cat == 0x00) {
        out->format = ATR_HIST_COMPACT_STATUS;
        /* 8.1.1.2: the last three bytes are LCS, SW1, SW2, outside TLV. */
        if (len < 4) {
            out->err = ATR_ERR_HIST_STATUS;
            return;
        }
        end = len - 3;
        out->lcs_present = true;
        out->lcs = hist[end];
        out->sw_present = true;
        out->sw = (uint16_t)(hist[end + 1] << 8 | hist[end + 2]);
    } else if (cat == 0x10) {
        out->format = ATR_HIST_DIR_REF;
        if (len >= 2) {
            out->dir_ref_present = true;
            out->dir_ref = hist[1];
        }
        return;
    } else if (cat == 0x80) {
        out->format = ATR_HIST_COMPACT_TLV;
    } else if (cat > 0x80 && cat <= 0x8F) {
        out->format = ATR_HIST_RFU;
        return;
    } else {
        out->format = ATR_HIST_PROPRIETARY;
        return;
    }

    size_t pos = 1;
    while (pos < end) {
        uint8_t tag = hist[pos] >> 4;
        uint8_t l = hist[pos] & 0x0f;
        pos++;
        if (l > end - pos) {
            out->err = ATR_ERR_HIST_TLV;
            return;
        }
        if (!(out->tags & (1u << tag))) {
            out->tags |= (uint16_t)(1u << tag);
            out->obj[tag].off = (uint8_t)pos;
            out->obj[tag].len = l;
            const uint8_t *v = hist + pos;
            switch (tag) {
            case ATR_CTLV_SERVICE:
                if (l >= 1)
                    out->service_data = v[0];
                break;
            case ATR_CTLV_CAPABILITIES:
                out->caps_len = l > 3 ? 3 : l;
                memcpy(out->caps, v, out->caps_len);
                if (l >= 3) {
                    out->command_chaining = (v[2] & 0x80) != 0;
                    out->extended_lc_le = (v[2] & 0x40) != 0;
                    out->logical_channels = (uint8_t)((v[2] & 0x07) + 1);
                }
                break;
            case ATR_CTLV_STATUS:
                /* 7816-4 8.1.1.3: one byte LCS, two bytes SW, three bytes LCS SW. */
                if (out->format == ATR_HIST_COMPACT_TLV) {
                    if (l == 1 || l == 3) {
                        out->lcs_present = true;
                        out->lcs = v[0];
                    }
                    if (l == 2 || l == 3) {
                        out->sw_present = true;
                        out->sw = (uint16_t)(v[l - 2] << 8 | v[l - 1]);
                    }
                }
                break;
            default: break;
            }
        }
        pos += l;
    }
}

/* Level-specific parameters; `t` is the protocol of TD(i-1) for i >= 3. */
static void decode_specific(struct atr *a)
{
    bool t1_ta = false, t1_tb = false, t1_tc = false, t15_ta = false, t15_tb = false;
    for (size_t i = 2; i < a->levels; i++) {
        const struct atr_iface *f = &a->iface[i];
        uint8_t t = a->iface[i - 1].td & 0x0f;
        if (t == 1) {
            if ((f->present & ATR_TA) && !t1_ta) {
                t1_ta = true;
                a->ifsc = f->ta;
            }
            if ((f->present & ATR_TB) && !t1_tb) {
                t1_tb = true;
                a->bwi = f->tb >> 4;
                a->cwi = f->tb & 0x0f;
                if (a->bwi > 9)
                    a->rfu |= ATR_RFU_BWI;
            }
            if ((f->present & ATR_TC) && !t1_tc) {
                t1_tc = true;
                a->edc = (f->tc & 1) ? ATR_EDC_CRC : ATR_EDC_LRC;
                if (f->tc & 0xfe)
                    a->rfu |= ATR_RFU_EDC;
            }
        } else if (t == 15) {
            if ((f->present & ATR_TA) && !t15_ta) {
                t15_ta = true;
                a->class_present = true;
                a->class_mask = f->ta & 0x07;
                a->clock_stop = (enum atr_clock_stop)(f->ta >> 6);
                if ((f->ta & 0x3f) == 0 || (f->ta & 0x38))
                    a->rfu |= ATR_RFU_CLASS;
            }
            if ((f->present & ATR_TB) && !t15_tb) {
                t15_tb = true;
                a->spu_present = true;
                a->spu = f->tb;
            }
        }
    }
}

static void decode(struct atr *a)
{
    a->fi_code = 1;
    a->di_code = 1;
    a->wi = 10;
    a->ifsc = 32;
    a->cwi = 13;
    a->bwi = 4;
    a->edc = ATR_EDC_LRC;
    a->class_mask = ATR_CLASS_A;
    a->clock_stop = ATR_CLOCK_STOP_NOT_SUPPORTED;

    int last_t = -1;
    for (size_t i = 0; i < a->levels; i++) {
        if (!(a->iface[i].present & ATR_TD))
            continue;
        uint8_t t = a->iface[i].td & 0x0f;
        /* T=15 in TD1 is invalid (8.2.3); the card then defaults to T=0. */
        if (i == 0 && t != 15)
            a->first_protocol = t;
        if (t != 15)
            a->protocols |= (uint16_t)(1u << t);
        if (t != 0 && t != 1 && t != 14 && t != 15)
            a->rfu |= ATR_RFU_T_TYPE;
        if ((int)t < last_t)
            a->rfu |= ATR_RFU_T_ORDER;
        last_t = t;
    }
    if (a->protocols == 0)
        a->protocols = 1u << 0;

    if (a->levels >= 1) {
        const struct atr_iface *f = &a->iface[0];
        if (f->present & ATR_TA) {
            a->fi_code = f->ta >> 4;
            a->di_code = f->ta & 0x0f;
        }
        if (f->present & ATR_TC)
            a->n = f->tc;
    }
    if (!atr_fi_table(a->fi_code, &a->fi, &a->fmax_khz))
        a->rfu |= ATR_RFU_FI;
    if (!atr_di_table(a->di_code, &a->di))
        a->rfu |= ATR_RFU_DI;
    if (a->levels >= 2) {
        const struct atr_iface *f = &a->iface[1];
        if (f->present & ATR_TA) {
            a->specific_mode = true;
            a->specific_protocol = f->ta & 0x0f;
            a->specific_implicit = (f->ta & 0x10) != 0;
            a->specific_changeable = (f->ta & 0x80) == 0;
            if (f->ta & 0x60)
                a->rfu |= ATR_RFU_TA2;
        }
        if (f->present & ATR_TC) {
            a->wi = f->tc;
            if (a->wi == 0)
                a->rfu |= ATR_RFU_WI;
        }
    }
    decode_specific(a);
    atr_hist_decode(a->hist, a->hist_len, &a->hist_decoded);
}

enum atr_err atr_parse(const uint8_t *buf, size_t len, struct atr *out, size_t *needed)
{
    enum atr_err err = ATR_ERR_INCOMPLETE;
    size_t need = 0;
    size_t pos = 0;
    size_t total;            /* lower bound on the ATR's length so far */
    bool tck_needed = false; /* some TDi indicated a T other than 0 */
    bool t1_ta_seen = false;

    memset(out, 0, sizeof *out);
    if (len < 1) {
        need = 2;
        goto done;
    }
    if (buf[0] != ATR_TS_DIRECT && buf[0] != ATR_TS_INVERSE) {
        err = ATR_ERR_BAD_TS;
        goto done;
    }
    out->convention = buf[0] == ATR_TS_INVERSE ? ATR_CONV_INVERSE : ATR_CONV_DIRECT;
    out->raw[0] = buf[0];
    out->len = 1;
    if (len < 2) {
        need = 1;
        goto done;
    }
    out->t0 = buf[1];
    out->raw[1] = buf[1];
    out->len = 2;
    pos = 2;
    out->hist_k = out->t0 & 0x0f;
    uint8_t y = out->t0 >> 4;
    total = 2 + popcount4(y) + out->hist_k;

    for (size_t level = 0; y != 0; level++) {
        if (total > ATR_MAX_LEN || level >= ATR_MAX_LEVELS) {
            err = ATR_ERR_TOO_LONG;
            goto done;
        }
        out->levels = level + 1;
        struct atr_iface *f = &out->iface[level];
        uint8_t next_y = 0;
        for (int b = 0; b < 4; b++) {
            if (!(y & (1u << b)))
                continue;
            if (pos >= len) {
                need = total - len;
                goto done;
            }
            uint8_t c = buf[pos];
            out->raw[pos] = c;
            out->len = ++pos;
            f->present |= (uint8_t)(1u << b);
            switch (b) {
            case 0:
                f->ta = c;
                /* 11.4.2: IFSC 0x00 and 0xFF are RFU, so the ATR is unusable for T=1. */
                if (level >= 2 && (out->iface[level - 1].td & 0x0f) == 1 && !t1_ta_seen) {
                    t1_ta_seen = true;
                    if (c == 0x00 || c == 0xFF) {
                        err = ATR_ERR_BAD_IFSC;
                        goto done;
                    }
                }
                break;
            case 1: f->tb = c; break;
            case 2: f->tc = c; break;
            default:
                f->td = c;
                next_y = c >> 4;
                total += popcount4(next_y);
                if ((c & 0x0f) != 0 && !tck_needed) {
                    tck_needed = true;
                    total++;
                }
                break;
            }
        }
        y = next_y;
    }
    if (total > ATR_MAX_LEN) {
        err = ATR_ERR_TOO_LONG;
        goto done;
    }
    for (size_t k = 0; k < out->hist_k; k++) {
        if (pos >= len) {
            need = total - len;
            goto done;
        }
        out->hist[k] = buf[pos];
        out->hist_len = k + 1;
        out->raw[pos] = buf[pos];
        out->len = ++pos;
    }
    if (tck_needed) {
        if (pos >= len) {
            need = total - len;
            goto done;
        }
        out->tck_present = true;
        out->tck = buf[pos];
        out->raw[pos] = buf[pos];
        out->len = ++pos;
        uint8_t x = 0;
        for (size_t i = 1; i < pos; i++)
            x ^= buf[i];
        if (x != 0) {
            err = ATR_ERR_TCK_MISMATCH;
            goto done;
        }
    }
    err = len > pos ? ATR_ERR_TRAILING_BYTES : ATR_OK;

done:
    if (out->len >= 2)
        decode(out);
    if (needed)
        *needed = err == ATR_ERR_INCOMPLETE ? need : 0;
    return err;
}

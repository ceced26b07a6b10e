#include "hawiya/pps.h"

#include <string.h>

const char *pps_err_str(enum pps_err e)
{
    switch (e) {
    case PPS_OK: return "PPS_OK";
    case PPS_ERR_INCOMPLETE: return "PPS_ERR_INCOMPLETE";
    case PPS_ERR_BAD_PPSS: return "PPS_ERR_BAD_PPSS";
    case PPS_ERR_RFU_BIT: return "PPS_ERR_RFU_BIT";
    case PPS_ERR_BAD_PCK: return "PPS_ERR_BAD_PCK";
    case PPS_ERR_TRAILING_BYTES: return "PPS_ERR_TRAILING_BYTES";
    case PPS_ERR_BAD_PARAM: return "PPS_ERR_BAD_PARAM";
    case PPS_ERR_BUFFER_TOO_SMALL: return "PPS_ERR_BUFFER_TOO_SMALL";
    case PPS_ERR_PROTOCOL_MISMATCH: return "PPS_ERR_PROTOCOL_MISMATCH";
    case PPS_ERR_PPS1_MISMATCH: return "PPS_ERR_PPS1_MISMATCH";
    case PPS_ERR_PPS2_MISMATCH: return "PPS_ERR_PPS2_MISMATCH";
    case PPS_ERR_PPS3_MISMATCH: return "PPS_ERR_PPS3_MISMATCH";
    case PPS_ERR_UNEXPECTED_PPSX: return "PPS_ERR_UNEXPECTED_PPSX";
    case PPS_ERR_UNSUPPORTED: return "PPS_ERR_UNSUPPORTED";
    case PPS_ERR_NO_COMMON_RATE: return "PPS_ERR_NO_COMMON_RATE";
    }
    return "PPS_ERR_UNKNOWN";
}

#define PPS0_PPS1 0x10
#define PPS0_PPS2 0x20
#define PPS0_PPS3 0x40
#define PPS0_RFU  0x80

static size_t encode(const struct pps_params *p, uint8_t *msg)
{
    size_t n = 0;
    uint8_t pps0 = p->t & 0x0f;
    if (p->has_pps1)
        pps0 |= PPS0_PPS1;
    if (p->has_pps2)
        pps0 |= PPS0_PPS2;
    if (p->has_pps3)
        pps0 |= PPS0_PPS3;
    msg[n++] = PPS_PPSS;
    msg[n++] = pps0;
    if (p->has_pps1)
        msg[n++] = (uint8_t)(p->fi_code << 4 | (p->di_code & 0x0f));
    if (p->has_pps2)
        msg[n++] = p->pps2;
    if (p->has_pps3)
        msg[n++] = p->pps3;
    uint8_t pck = 0;
    for (size_t i = 0; i < n; i++)
        pck ^= msg[i];
    msg[n++] = pck;
    return n;
}

enum pps_err pps_build_request(const struct pps_params *p, uint8_t *out, size_t cap,
                               size_t *out_len)
{
    uint8_t msg[PPS_MAX_LEN];
    uint16_t fi;
    uint32_t fmax;
    uint8_t di;

    *out_len = 0;
    if (p->t > 15)
        return PPS_ERR_BAD_PARAM;
    if (p->has_pps1 && (p->fi_code > 15 || p->di_code > 15 ||
                        !atr_fi_table(p->fi_code, &fi, &fmax) || !atr_di_table(p->di_code, &di)))
        return PPS_ERR_BAD_PARAM;
    size_t n = encode(p, msg);
    if (n > cap)
        return PPS_ERR_BUFFER_TOO_SMALL;
    memcpy(out, msg, n);
    *out_len = n;
    return PPS_OK;
}

enum pps_err pps_parse(const uint8_t *buf, size_t len, struct pps_params *out, size_t *needed)
{
    enum pps_err err = PPS_ERR_INCOMPLETE;
    size_t need = 0;

    memset(out, 0, sizeof *out);
    if (len < 1) {
        need = 3;
        goto done;
    }
    if (buf[0] != PPS_PPSS) {
        err = PPS_ERR_BAD_PPSS;
        goto done;
    }
    if (len < 2) {
        need = 2;
        goto done;
    }
    uint8_t pps0 = buf[1];
    if (pps0 & PPS0_RFU) {
        err = PPS_ERR_RFU_BIT;
        goto done;
    }
    out->t = pps0 & 0x0f;
    out->has_pps1 = (pps0 & PPS0_PPS1) != 0;
    out->has_pps2 = (pps0 & PPS0_PPS2) != 0;
    out->has_pps3 = (pps0 & PPS0_PPS3) != 0;
    size_t total = 3u + out->has_pps1 + out->has_pps2 + out->has_pps3;
    if (len < total) {
        need = total - len;
        goto done;
    }
    size_t pos = 2;
    if (out->has_pps1) {
        out->fi_code = buf[pos] >> 4;
        out->di_code = buf[pos] & 0x0f;
        pos++;
    }
    if (out->has_pps2)
        out->pps2 = buf[pos++];
    if (out->has_pps3)
        out->pps3 = buf[pos++];
    uint8_t x = 0;
    for (size_t i = 0; i < total; i++)
        x ^= buf[i];
    if (x != 0)
        err = PPS_ERR_BAD_PCK;
    else
        err = len > total ? PPS_ERR_TRAILING_BYTES : PPS_OK;
done:
    if (needed)
        *needed = err == PPS_ERR_INCOMPLETE ? need : 0;
    return err;
}

enum pps_err pps_check_response(const uint8_t *req, size_t req_len, const uint8_t *resp,
                                size_t resp_len, struct pps_result *res)
{
    struct pps_params rq, rs;
    enum pps_err e;

    memset(res, 0, sizeof *res);
    e = pps_parse(req, req_len, &rq, NULL);
    if (e != PPS_OK)
        return e == PPS_ERR_INCOMPLETE ? PPS_ERR_BAD_PARAM : e;
    e = pps_parse(resp, resp_len, &rs, NULL);
    if (e != PPS_OK)
        return e;
    if (rs.t != rq.t)
        return PPS_ERR_PROTOCOL_MISMATCH;
    /* 9.3: each PPSx is either echoed or left out, never added. */
    if ((rs.has_pps1 && !rq.has_pps1) || (rs.has_pps2 && !rq.has_pps2) ||
        (rs.has_pps3 && !rq.has_pps3))
        return PPS_ERR_UNEXPECTED_PPSX;
    if (rs.has_pps1 && (rs.fi_code != rq.fi_code || rs.di_code != rq.di_code))
        return PPS_ERR_PPS1_MISMATCH;
    if (rs.has_pps2 && rs.pps2 != rq.pps2)
        return PPS_ERR_PPS2_MISMATCH;
    if (rs.has_pps3 && rs.pps3 != rq.pps3)
        return PPS_ERR_PPS3_MISMATCH;
    res->t = rs.t;
    res->default_rate = !rs.has_pps1;
    res->fi_code = rs.has_pps1 ? rs.fi_code : 1;
    res->di_code = rs.has_pps1 ? rs.di_code : 1;
    return PPS_OK;
}

enum pps_err pps_card_reply(const uint8_t *req, size_t req_len, const struct pps_card_caps *caps,
                            uint8_t *out, size_t cap, size_t *out_len)
{
    struct pps_params rq, rs;
    enum pps_err e;

    *out_len = 0;
    e = pps_parse(req, req_len, &rq, NULL);
    if (e != PPS_OK)
        return e;
    if (rq.t > 15 || !(caps->protocols & (1u << rq.t)))
        return PPS_ERR_UNSUPPORTED;
    memset(&rs, 0, sizeof rs);
    rs.t = rq.t;
    if (rq.has_pps1) {
        uint16_t fi_req, fi_card;
        uint32_t fmax;
        uint8_t di_req, di_card;
        uint8_t card_fi_code = caps->ta1 >> 4;
        if (atr_fi_table(rq.fi_code, &fi_req, &fmax) && atr_di_table(rq.di_code, &di_req) &&
            atr_fi_table(card_fi_code, &fi_card, &fmax) &&
            atr_di_table(caps->ta1 & 0x0f, &di_card) && rq.fi_code == card_fi_code &&
            di_req <= di_card) {
            rs.has_pps1 = true;
            rs.fi_code = rq.fi_code;
            rs.di_code = rq.di_code;
        }
    }
    uint8_t msg[PPS_MAX_LEN];
    size_t n = encode(&rs, msg);
    if (n > cap)
        return PPS_ERR_BUFFER_TOO_SMALL;
    memcpy(out, msg, n);
    *out_len = n;
    return PPS_OK;
}

static uint32_t baud_of(uint32_t clock_khz, uint16_t fi, uint8_t di)
{
    uint64_t b = (uint64_t)clock_khz * 1000u * di / fi;
    return b > UINT32_MAX ? UINT32_MAX : (uint32_t)b;
}

static uint32_t min32(uint32_t a, uint32_t b)
{
    return a < b ? a : b;
}

enum pps_err pps_choose(const struct atr *atr, const struct pps_reader_limits *lim,
                        struct pps_choice *out)
{
    memset(out, 0, sizeof *out);

    if (atr->specific_mode) {
        /* 8.3 TA2: the card runs at TA1's rate at once; PPS is not allowed. */
        if (atr->specific_implicit || atr->fi == 0 || atr->di == 0 ||
            !(lim->di_supported & (1u << atr->di_code)))
            return PPS_ERR_NO_COMMON_RATE;
        out->t = atr->specific_protocol;
        out->fi_code = atr->fi_code;
        out->di_code = atr->di_code;
        out->fi = atr->fi;
        out->di = atr->di;
        out->clock_khz = min32(atr->fmax_khz, lim->max_clock_khz);
        out->baud = baud_of(out->clock_khz, out->fi, out->di);
        if (out->baud > lim->max_baud)
            return PPS_ERR_NO_COMMON_RATE;
        return PPS_OK;
    }

    /* Hawiya runs eID cards over T=1 when they offer it. */
    out->t = (atr->protocols & (1u << 1)) ? 1 : atr->first_protocol;
    /* Default: Fd = 372, Dd = 1 at no more than 5 MHz (Table 7, code 1). */
    out->fi_code = 1;
    out->di_code = 1;
    out->fi = 372;
    out->di = 1;
    out->clock_khz = min32(5000, lim->max_clock_khz);
    if (atr->fmax_khz != 0)
        out->clock_khz = min32(out->clock_khz, atr->fmax_khz);
    out->baud = baud_of(out->clock_khz, out->fi, out->di);

    if (atr->fi != 0 && atr->di != 0) {
        uint32_t clock = min32(atr->fmax_khz, lim->max_clock_khz);
        uint8_t best_code = 0, best_di = 0;
        for (uint8_t code = 1; code <= 9; code++) {
            uint8_t di;
            if (!atr_di_table(code, &di) || di > atr->di || !(lim->di_supported & (1u << code)))
                continue;
            if (baud_of(clock, atr->fi, di) > lim->max_baud)
                continue;
            if (di > best_di) {
                best_di = di;
                best_code = code;
            }
        }
        if (best_di != 0 && baud_of(clock, atr->fi, best_di) > out->baud) {
            out->fi_code = atr->fi_code;
            out->di_code = best_code;
            out->fi = atr->fi;
            out->di = best_di;
            out->clock_khz = clock;
            out->baud = baud_of(clock, atr->fi, best_di);
        }
    }
    out->pps_needed = out->fi_code != 1 || out->di_code != 1 || out->t != atr->first_protocol;
    return PPS_OK;
}

/* ISO/IEC 14443-4 block codec, 7.1, shared by both roles. */
#include <string.h>

#include "hawiya/isodep.h"

const char *isodep_err_str(enum isodep_err e)
{
    switch (e) {
    case ISODEP_OK: return "ISODEP_OK";
    case ISODEP_ERR_EMPTY: return "ISODEP_ERR_EMPTY";
    case ISODEP_ERR_PCB_INVALID: return "ISODEP_ERR_PCB_INVALID";
    case ISODEP_ERR_TRUNCATED: return "ISODEP_ERR_TRUNCATED";
    case ISODEP_ERR_R_INF: return "ISODEP_ERR_R_INF";
    case ISODEP_ERR_S_INF: return "ISODEP_ERR_S_INF";
    case ISODEP_ERR_WTXM: return "ISODEP_ERR_WTXM";
    case ISODEP_ERR_INF_TOO_LONG: return "ISODEP_ERR_INF_TOO_LONG";
    case ISODEP_ERR_BUF_TOO_SMALL: return "ISODEP_ERR_BUF_TOO_SMALL";
    case ISODEP_ERR_PARAM: return "ISODEP_ERR_PARAM";
    case ISODEP_ERR_STATE: return "ISODEP_ERR_STATE";
    case ISODEP_ERR_TIMEOUT: return "ISODEP_ERR_TIMEOUT";
    case ISODEP_ERR_TRANSMISSION: return "ISODEP_ERR_TRANSMISSION";
    case ISODEP_ERR_PROTOCOL: return "ISODEP_ERR_PROTOCOL";
    case ISODEP_ERR_WTX_LIMIT: return "ISODEP_ERR_WTX_LIMIT";
    case ISODEP_ERR_RESPONSE_TOO_LONG: return "ISODEP_ERR_RESPONSE_TOO_LONG";
    case ISODEP_ERR_COMMAND_TOO_LONG: return "ISODEP_ERR_COMMAND_TOO_LONG";
    }
    return "ISODEP_ERR_UNKNOWN";
}

/* 7.1.1.1: b2 is always 1 in I-, R- and S(DESELECT / WTX) blocks. */
uint8_t isodep_pcb_i(uint8_t bn, bool chaining, bool cid, bool nad)
{
    return (uint8_t)(0x02u | (chaining ? 0x10u : 0) | (cid ? ISODEP_PCB_CID : 0) |
                     (nad ? ISODEP_PCB_NAD : 0) | (bn & 1u));
}

uint8_t isodep_pcb_r(uint8_t bn, bool nak, bool cid)
{
    return (uint8_t)(0xA2u | (nak ? 0x10u : 0) | (cid ? ISODEP_PCB_CID : 0) | (bn & 1u));
}

uint8_t isodep_pcb_s(enum isodep_s_type t, bool cid)
{
    return (uint8_t)(0xC2u | ((unsigned)t & 3u) << 4 | (cid ? ISODEP_PCB_CID : 0));
}

enum isodep_err isodep_block_encode(uint8_t *out, size_t cap, uint8_t pcb, uint8_t cid, uint8_t nad,
                                    const uint8_t *inf, size_t len, size_t *out_len)
{
    *out_len = 0;
    size_t n = 1 + ((pcb & ISODEP_PCB_CID) ? 1u : 0u) + ((pcb & ISODEP_PCB_NAD) ? 1u : 0u);
    if (len > ISO14443_FS_MAX)
        return ISODEP_ERR_INF_TOO_LONG;
    if (cap < n + len)
        return ISODEP_ERR_BUF_TOO_SMALL;
    /* INF first: it may already sit where the prologue ends (memmove). */
    if (len > 0)
        memmove(out + n, inf, len);
    size_t i = 0;
    out[i++] = pcb;
    if (pcb & ISODEP_PCB_CID)
        out[i++] = cid & 0x0F;
    if (pcb & ISODEP_PCB_NAD)
        out[i++] = nad;
    *out_len = n + len;
    return ISODEP_OK;
}

static enum isodep_err parse_pcb(uint8_t pcb, struct isodep_block *b)
{
    b->pcb = pcb;
    b->bn = pcb & 1u;
    switch (pcb & 0xC0u) {
    case 0x00:
        /* I: 000C N01b with b4 CID, b3 NAD */
        if ((pcb & 0xE2u) != 0x02u)
            return ISODEP_ERR_PCB_INVALID;
        b->type = ISODEP_BLOCK_I;
        b->chaining = (pcb & 0x10u) != 0;
        return ISODEP_OK;
    case 0x80:
        /* R: 101A C01b */
        if ((pcb & 0xE6u) != 0xA2u)
            return ISODEP_ERR_PCB_INVALID;
        b->type = ISODEP_BLOCK_R;
        b->nak = (pcb & 0x10u) != 0;
        return ISODEP_OK;
    case 0xC0:
        /* S: 11XX C010; XX = 00 DESELECT or 11 WTX (b2 = 0 would be PARAMETERS) */
        if ((pcb & 0xC7u) != 0xC2u || ((pcb >> 4 & 3u) != 0 && (pcb >> 4 & 3u) != 3))
            return ISODEP_ERR_PCB_INVALID;
        b->type = ISODEP_BLOCK_S;
        b->s_type = (enum isodep_s_type)(pcb >> 4 & 3u);
        return ISODEP_OK;
    default: return ISODEP_ERR_PCB_INVALID;
    }
}

enum isodep_err isodep_block_decode(const uint8_t *buf, size_t len, struct isodep_block *b)
{
    memset(b, 0, sizeof *b);
    if (buf == NULL || len < 1)
        return ISODEP_ERR_EMPTY;
    enum isodep_err e = parse_pcb(buf[0], b);
    if (e != ISODEP_OK)
        return e;
    size_t i = 1;
    if (buf[0] & ISODEP_PCB_CID) {
        if (i >= len)
            return ISODEP_ERR_TRUNCATED;
        b->has_cid = true;
        b->cid = buf[i] & 0x0F;
        b->power = buf[i] >> 6;
        /* b6b5 of the CID byte are 0 (7.1.1.2) */
        if (buf[i] & 0x30)
            return ISODEP_ERR_PCB_INVALID;
        i++;
    }
    if (buf[0] & ISODEP_PCB_NAD) {
        if (i >= len)
            return ISODEP_ERR_TRUNCATED;
        b->has_nad = true;
        b->nad = buf[i++];
    }
    b->inf = buf + i;
    b->len = len - i;
    if (b->type == ISODEP_BLOCK_R && b->len != 0)
        return ISODEP_ERR_R_INF;
    if (b->type == ISODEP_BLOCK_S) {
        if (b->s_type == ISODEP_S_DESELECT && b->len != 0)
            return ISODEP_ERR_S_INF;
        if (b->s_type == ISODEP_S_WTX) {
            if (b->len != 1)
                return ISODEP_ERR_S_INF;
            /* 7.2: b8b7 power level indication, b6..b1 WTXM 1..59; above
             * 59 the PCD uses 59 (read here as given, capped by the PCD). */
            b->wtxm = b->inf[0] & 0x3F;
            if (b->wtxm == 0)
                return ISODEP_ERR_WTXM;
        }
    }
    return ISODEP_OK;
}

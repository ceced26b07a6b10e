/* T=1 block codec, ISO/IEC 7816-3:2006 11.3 and 11.4, shared by both roles. */
#include <string.h>

#include "hawiya/crc16.h"
#include "hawiya/t1.h"

const char *t1_err_str(enum t1_err e)
{
    switch (e) {
    case T1_OK: return "T1_OK";
    case T1_ERR_LEN_INVALID: return "T1_ERR_LEN_INVALID";
    case T1_ERR_LEN_MISMATCH: return "T1_ERR_LEN_MISMATCH";
    case T1_ERR_EDC: return "T1_ERR_EDC";
    case T1_ERR_PCB_INVALID: return "T1_ERR_PCB_INVALID";
    case T1_ERR_R_INF: return "T1_ERR_R_INF";
    case T1_ERR_S_INF: return "T1_ERR_S_INF";
    case T1_ERR_INF_TOO_LONG: return "T1_ERR_INF_TOO_LONG";
    case T1_ERR_BUF_TOO_SMALL: return "T1_ERR_BUF_TOO_SMALL";
    case T1_ERR_NAD: return "T1_ERR_NAD";
    case T1_ERR_RX_PARITY: return "T1_ERR_RX_PARITY";
    case T1_ERR_TIMEOUT: return "T1_ERR_TIMEOUT";
    case T1_ERR_PARAM: return "T1_ERR_PARAM";
    case T1_ERR_STATE: return "T1_ERR_STATE";
    case T1_ERR_RESPONSE_TOO_LONG: return "T1_ERR_RESPONSE_TOO_LONG";
    case T1_ERR_COMMAND_TOO_LONG: return "T1_ERR_COMMAND_TOO_LONG";
    case T1_ERR_ABORTED: return "T1_ERR_ABORTED";
    case T1_ERR_RESYNCHED: return "T1_ERR_RESYNCHED";
    case T1_ERR_RESYNCH_FAILED: return "T1_ERR_RESYNCH_FAILED";
    }
    return "T1_ERR_UNKNOWN";
}

/* PCB coding, 11.3.2.2: I-block b8=0, b7=N(S), b6=M; R-block b8b7=10,
 * b5=N(R), b4..b1 error; S-block b8b7=11, b6=response, b5..b1 function. */
uint8_t t1_pcb_i(uint8_t ns, bool more)
{
    return (uint8_t)((ns & 1u) << 6 | (more ? 0x20u : 0u));
}

uint8_t t1_pcb_r(uint8_t nr, enum t1_r_err err)
{
    return (uint8_t)(0x80u | (nr & 1u) << 4 | ((unsigned)err & 0x0fu));
}

uint8_t t1_pcb_s(enum t1_s_type type, bool response)
{
    return (uint8_t)(0xC0u | (response ? 0x20u : 0u) | ((unsigned)type & 0x1fu));
}

size_t t1_edc_len(enum t1_edc edc)
{
    return edc == T1_EDC_CRC ? 2u : 1u;
}

uint8_t t1_lrc(const uint8_t *p, size_t n)
{
    uint8_t x = 0;
    for (size_t i = 0; i < n; i++)
        x ^= p[i];
    return x;
}

uint16_t t1_crc(const uint8_t *p, size_t n)
{
    return (uint16_t)~crc16_13239_update(CRC16_13239_INIT, p, n);
}

uint8_t t1_nad_reply(uint8_t nad)
{
    return (uint8_t)((nad & 0x07u) << 4 | (nad >> 4 & 0x07u));
}

enum t1_err t1_block_encode(uint8_t *out, size_t cap, uint8_t nad, uint8_t pcb, const uint8_t *inf,
                            size_t len, enum t1_edc edc, size_t *out_len)
{
    *out_len = 0;
    if (len > T1_INF_MAX)
        return T1_ERR_INF_TOO_LONG;
    size_t total = T1_PROLOGUE_LEN + len + t1_edc_len(edc);
    if (cap < total)
        return T1_ERR_BUF_TOO_SMALL;
    out[0] = nad;
    out[1] = pcb;
    out[2] = (uint8_t)len;
    if (len > 0)
        memmove(out + T1_PROLOGUE_LEN, inf, len);
    size_t n = T1_PROLOGUE_LEN + len;
    if (edc == T1_EDC_CRC) {
        uint16_t crc = t1_crc(out, n);
        out[n] = (uint8_t)(crc & 0xFF);
        out[n + 1] = (uint8_t)(crc >> 8);
    } else {
        out[n] = t1_lrc(out, n);
    }
    *out_len = total;
    return T1_OK;
}

enum t1_err t1_block_remaining(const uint8_t prologue[3], enum t1_edc edc, size_t *more)
{
    *more = 0;
    if (prologue[2] == 0xFF)
        return T1_ERR_LEN_INVALID;
    *more = (size_t)prologue[2] + t1_edc_len(edc);
    return T1_OK;
}

static enum t1_err parse_pcb(uint8_t pcb, struct t1_block *blk)
{
    if ((pcb & 0x80u) == 0) {
        /* b5..b1 of an I-block PCB are RFU and shall be 0 */
        if (pcb & 0x1Fu)
            return T1_ERR_PCB_INVALID;
        blk->type = T1_BLOCK_I;
        blk->ns = (uint8_t)(pcb >> 6 & 1u);
        blk->more = (pcb & 0x20u) != 0;
        return T1_OK;
    }
    if ((pcb & 0xC0u) == 0x80u) {
        unsigned err = pcb & 0x0Fu;
        if ((pcb & 0x20u) || err > 2u)
            return T1_ERR_PCB_INVALID;
        blk->type = T1_BLOCK_R;
        blk->nr = (uint8_t)(pcb >> 4 & 1u);
        blk->r_err = (enum t1_r_err)err;
        return T1_OK;
    }
    unsigned fn = pcb & 0x1Fu;
    if (fn > (unsigned)T1_S_WTX)
        return T1_ERR_PCB_INVALID;
    blk->type = T1_BLOCK_S;
    blk->s_type = (enum t1_s_type)fn;
    blk->s_response = (pcb & 0x20u) != 0;
    return T1_OK;
}

enum t1_err t1_block_decode(const uint8_t *buf, size_t len, enum t1_edc edc, struct t1_block *blk)
{
    memset(blk, 0, sizeof *blk);
    size_t el = t1_edc_len(edc);
    if (len < T1_PROLOGUE_LEN + el)
        return T1_ERR_LEN_MISMATCH;
    if (buf[2] == 0xFF)
        return T1_ERR_LEN_INVALID;
    size_t inf_len = buf[2];
    if (len != T1_PROLOGUE_LEN + inf_len + el)
        return T1_ERR_LEN_MISMATCH;
    size_t n = T1_PROLOGUE_LEN + inf_len;
    if (edc == T1_EDC_CRC) {
        uint16_t crc = t1_crc(buf, n);
        if (buf[n] != (uint8_t)(crc & 0xFF) || buf[n + 1] != (uint8_t)(crc >> 8))
            return T1_ERR_EDC;
    } else if (t1_lrc(buf, n) != buf[n]) {
        return T1_ERR_EDC;
    }
    enum t1_err e = parse_pcb(buf[1], blk);
    if (e != T1_OK)
        return e;
    if (blk->type == T1_BLOCK_R && inf_len != 0)
        return T1_ERR_R_INF;
    if (blk->type == T1_BLOCK_S) {
        switch (blk->s_type) {
        case T1_S_RESYNCH:
        case T1_S_ABORT:
            if (inf_len != 0)
                return T1_ERR_S_INF;
            break;
        case T1_S_IFS:
            /* IFS 00 and FF are reserved (11.4.2) */
            if (inf_len != 1 || buf[3] == 0x00 || buf[3] == 0xFF)
                return T1_ERR_S_INF;
            break;
        case T1_S_WTX:
            if (inf_len != 1 || buf[3] == 0x00)
                return T1_ERR_S_INF;
            break;
        }
    }
    blk->nad = buf[0];
    blk->pcb = buf[1];
    blk->inf = buf + T1_PROLOGUE_LEN;
    blk->len = inf_len;
    return T1_OK;
}

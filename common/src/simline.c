#include "hawiya/simline.h"

#include <string.h>

const char *simline_err_str(enum simline_err e)
{
    switch (e) {
    case SIMLINE_OK: return "SIMLINE_OK";
    case SIMLINE_ERR_INCOMPLETE: return "SIMLINE_ERR_INCOMPLETE";
    case SIMLINE_ERR_BAD_TYPE: return "SIMLINE_ERR_BAD_TYPE";
    case SIMLINE_ERR_BAD_RESERVED: return "SIMLINE_ERR_BAD_RESERVED";
    case SIMLINE_ERR_BAD_LENGTH: return "SIMLINE_ERR_BAD_LENGTH";
    case SIMLINE_ERR_BAD_VALUE: return "SIMLINE_ERR_BAD_VALUE";
    case SIMLINE_ERR_NO_SPACE: return "SIMLINE_ERR_NO_SPACE";
    }
    return "SIMLINE_ERR_UNKNOWN";
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* Payload size a fixed-size record type must have, or -1 for IO (variable). */
static int fixed_payload(uint8_t type)
{
    switch (type) {
    case SIMLINE_VCC: return 2;
    case SIMLINE_CLK: return 4;
    case SIMLINE_RST: return 1;
    case SIMLINE_SYNC: return 0;
    case SIMLINE_PRESENCE: return 1;
    case SIMLINE_RF_FIELD: return 1;
    case SIMLINE_IO:
    case SIMLINE_RF_FRAME: return -1;
    }
    return -2;
}

enum simline_err simline_decode(const uint8_t *in, size_t len, struct simline_msg *m, size_t *used)
{
    *used = SIMLINE_HEADER_SIZE;
    if (len < SIMLINE_HEADER_SIZE)
        return SIMLINE_ERR_INCOMPLETE;
    int fixed = fixed_payload(in[0]);
    if (fixed == -2)
        return SIMLINE_ERR_BAD_TYPE;
    if (in[1] != 0)
        return SIMLINE_ERR_BAD_RESERVED;
    size_t plen = get16(in + 2);
    if (fixed >= 0 ? plen != (size_t)fixed : (plen < 9 || plen > SIMLINE_MAX_PAYLOAD))
        return SIMLINE_ERR_BAD_LENGTH;
    *used = SIMLINE_HEADER_SIZE + plen;
    if (len < *used)
        return SIMLINE_ERR_INCOMPLETE;

    const uint8_t *p = in + SIMLINE_HEADER_SIZE;
    memset(m, 0, sizeof *m);
    m->type = (enum simline_type)in[0];
    m->t_ns = get64(in + 4);
    switch (m->type) {
    case SIMLINE_VCC: m->u.vcc_mv = get16(p); break;
    case SIMLINE_CLK: m->u.clk_hz = get32(p); break;
    case SIMLINE_RST:
    case SIMLINE_PRESENCE:
    case SIMLINE_RF_FIELD:
        if (p[0] > 1)
            return SIMLINE_ERR_BAD_VALUE;
        m->u.rst_level = p[0]; /* same storage as present and field */
        break;
    case SIMLINE_SYNC: break;
    case SIMLINE_RF_FRAME: {
        uint16_t bits = get16(p + 4), coll = get16(p + 6);
        if (p[2] > 7 || bits == 0 || plen != 8 + simline_rf_bytes(p[2], bits) ||
            simline_rf_bytes(p[2], bits) > SIMLINE_RF_MAX)
            return SIMLINE_ERR_BAD_LENGTH;
        /* Without a collision the position field is 0: one spelling per
         * record, so that what decodes re-encodes byte for byte. */
        if (p[0] > 1 || p[1] > 3 || (p[3] & ~0x03u) != 0 ||
            ((p[3] & SIMLINE_RF_COLLISION) ? (coll < p[2] || coll >= p[2] + bits) : coll != 0))
            return SIMLINE_ERR_BAD_VALUE;
        m->u.rf.type = p[0];
        m->u.rf.rate = p[1];
        m->u.rf.align = p[2];
        m->u.rf.flags = p[3];
        m->u.rf.n_bits = bits;
        m->u.rf.coll_bit = (p[3] & SIMLINE_RF_COLLISION) ? coll : 0;
        m->u.rf.data = p + 8;
        break;
    }
    case SIMLINE_IO: {
        if (plen < 10)
            return SIMLINE_ERR_BAD_LENGTH;
        uint16_t n = get16(p + 6);
        if (n == 0 || n > SIMLINE_MAX_IO || plen != 8 + 2 * (size_t)n)
            return SIMLINE_ERR_BAD_LENGTH;
        m->u.io.etu_ps = get32(p);
        m->u.io.char_etu = get16(p + 4);
        if (m->u.io.etu_ps == 0 || m->u.io.char_etu < SIMLINE_CHAR_ETU_MIN ||
            m->u.io.char_etu > SIMLINE_CHAR_ETU_MAX)
            return SIMLINE_ERR_BAD_VALUE;
        m->u.io.n = n;
        m->u.io.chars = p + 8;
        m->u.io.flags = p + 8 + n;
        break;
    }
    }
    return SIMLINE_OK;
}

enum simline_err simline_encode(const struct simline_msg *m, uint8_t *out, size_t cap,
                                size_t *out_len)
{
    int fixed = fixed_payload((uint8_t)m->type);
    if (fixed == -2)
        return SIMLINE_ERR_BAD_TYPE;
    size_t plen = (size_t)fixed;
    if (m->type == SIMLINE_RF_FRAME) {
        const struct simline_rf *f = &m->u.rf;
        size_t nb = simline_rf_bytes(f->align, f->n_bits);
        if (f->n_bits == 0 || f->align > 7 || nb > SIMLINE_RF_MAX || f->type > 1 || f->rate > 3 ||
            (f->flags & ~0x03u) != 0 ||
            ((f->flags & SIMLINE_RF_COLLISION) &&
             (f->coll_bit < f->align || f->coll_bit >= f->align + f->n_bits)))
            return SIMLINE_ERR_BAD_VALUE;
        plen = 8 + nb;
    } else if (fixed < 0) {
        if (m->u.io.n == 0 || m->u.io.n > SIMLINE_MAX_IO || m->u.io.etu_ps == 0 ||
            m->u.io.char_etu < SIMLINE_CHAR_ETU_MIN || m->u.io.char_etu > SIMLINE_CHAR_ETU_MAX)
            return SIMLINE_ERR_BAD_VALUE;
        plen = 8 + 2 * (size_t)m->u.io.n;
    }
    if (cap < SIMLINE_HEADER_SIZE + plen)
        return SIMLINE_ERR_NO_SPACE;

    uint8_t *p = out + SIMLINE_HEADER_SIZE;
    out[0] = (uint8_t)m->type;
    out[1] = 0;
    put16(out + 2, (uint16_t)plen);
    put64(out + 4, m->t_ns);
    switch (m->type) {
    case SIMLINE_VCC: put16(p, m->u.vcc_mv); break;
    case SIMLINE_CLK: put32(p, m->u.clk_hz); break;
    case SIMLINE_RST:
    case SIMLINE_PRESENCE:
    case SIMLINE_RF_FIELD:
        if (m->u.rst_level > 1)
            return SIMLINE_ERR_BAD_VALUE;
        p[0] = m->u.rst_level;
        break;
    case SIMLINE_SYNC: break;
    case SIMLINE_RF_FRAME:
        p[0] = m->u.rf.type;
        p[1] = m->u.rf.rate;
        p[2] = m->u.rf.align;
        p[3] = m->u.rf.flags;
        put16(p + 4, m->u.rf.n_bits);
        put16(p + 6, (m->u.rf.flags & SIMLINE_RF_COLLISION) ? m->u.rf.coll_bit : 0);
        memcpy(p + 8, m->u.rf.data, plen - 8);
        break;
    case SIMLINE_IO:
        simline_encode_io_head(m, out);
        memcpy(p + 8, m->u.io.chars, m->u.io.n);
        if (m->u.io.flags)
            memcpy(p + 8 + m->u.io.n, m->u.io.flags, m->u.io.n);
        else
            memset(p + 8 + m->u.io.n, 0, m->u.io.n);
        break;
    }
    *out_len = SIMLINE_HEADER_SIZE + plen;
    return SIMLINE_OK;
}

enum simline_err simline_encode_io_head(const struct simline_msg *io,
                                        uint8_t out[SIMLINE_IO_HEAD_SIZE])
{
    if (io->type != SIMLINE_IO || io->u.io.n == 0 || io->u.io.n > SIMLINE_MAX_IO ||
        io->u.io.etu_ps == 0 || io->u.io.char_etu < SIMLINE_CHAR_ETU_MIN ||
        io->u.io.char_etu > SIMLINE_CHAR_ETU_MAX)
        return SIMLINE_ERR_BAD_VALUE;
    out[0] = SIMLINE_IO;
    out[1] = 0;
    put16(out + 2, (uint16_t)(8 + 2 * (size_t)io->u.io.n));
    put64(out + 4, io->t_ns);
    put32(out + 12, io->u.io.etu_ps);
    put16(out + 16, io->u.io.char_etu);
    put16(out + 18, io->u.io.n);
    return SIMLINE_OK;
}

size_t simline_rf_bytes(uint8_t align, uint16_t n_bits)
{
    return ((size_t)align + n_bits + 7) / 8;
}

uint64_t simline_char_time_ns(const struct simline_msg *io, size_t i)
{
    return io->t_ns + (uint64_t)io->u.io.etu_ps * io->u.io.char_etu * i / 1000;
}

uint32_t simline_etu_ps(unsigned fi, unsigned di, uint32_t clk_hz)
{
    if (di == 0 || clk_hz == 0)
        return 0;
    /* F / (D f) seconds in ps; 64 bits keep it exact before the one rounding. */
    uint64_t num = (uint64_t)fi * 1000000000000ull;
    uint64_t den = (uint64_t)di * clk_hz;
    uint64_t ps = (num + den / 2) / den;
    return ps > UINT32_MAX ? UINT32_MAX : (uint32_t)ps;
}

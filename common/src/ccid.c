#include "hawiya/ccid.h"

#include <string.h>

const char *ccid_err_str(enum ccid_err e)
{
    switch (e) {
    case CCID_OK: return "CCID_OK";
    case CCID_ERR_NEED_MORE: return "CCID_ERR_NEED_MORE";
    case CCID_ERR_TRUNCATED: return "CCID_ERR_TRUNCATED";
    case CCID_ERR_TRAILING: return "CCID_ERR_TRAILING";
    case CCID_ERR_TOO_LONG: return "CCID_ERR_TOO_LONG";
    case CCID_ERR_UNKNOWN_TYPE: return "CCID_ERR_UNKNOWN_TYPE";
    case CCID_ERR_BAD_LENGTH: return "CCID_ERR_BAD_LENGTH";
    case CCID_ERR_RESERVED: return "CCID_ERR_RESERVED";
    case CCID_ERR_BAD_PARAM: return "CCID_ERR_BAD_PARAM";
    case CCID_ERR_NO_SPACE: return "CCID_ERR_NO_SPACE";
    case CCID_ERR_BAD_DESCRIPTOR: return "CCID_ERR_BAD_DESCRIPTOR";
    }
    return "CCID_ERR_UNKNOWN";
}

const char *ccid_berror_str(uint8_t berror)
{
    switch (berror) {
    case CCID_BERROR_CMD_NOT_SUPPORTED: return "CMD_NOT_SUPPORTED";
    case CCID_BERROR_CMD_ABORTED: return "CMD_ABORTED";
    case CCID_BERROR_ICC_MUTE: return "ICC_MUTE";
    case CCID_BERROR_XFR_PARITY_ERROR: return "XFR_PARITY_ERROR";
    case CCID_BERROR_XFR_OVERRUN: return "XFR_OVERRUN";
    case CCID_BERROR_HW_ERROR: return "HW_ERROR";
    case CCID_BERROR_BAD_ATR_TS: return "BAD_ATR_TS";
    case CCID_BERROR_BAD_ATR_TCK: return "BAD_ATR_TCK";
    case CCID_BERROR_ICC_PROTOCOL_NOT_SUPPORTED: return "ICC_PROTOCOL_NOT_SUPPORTED";
    case CCID_BERROR_ICC_CLASS_NOT_SUPPORTED: return "ICC_CLASS_NOT_SUPPORTED";
    case CCID_BERROR_PROCEDURE_BYTE_CONFLICT: return "PROCEDURE_BYTE_CONFLICT";
    case CCID_BERROR_DEACTIVATED_PROTOCOL: return "DEACTIVATED_PROTOCOL";
    case CCID_BERROR_BUSY_WITH_AUTO_SEQUENCE: return "BUSY_WITH_AUTO_SEQUENCE";
    case CCID_BERROR_PIN_TIMEOUT: return "PIN_TIMEOUT";
    case CCID_BERROR_PIN_CANCELLED: return "PIN_CANCELLED";
    case CCID_BERROR_CMD_SLOT_BUSY: return "CMD_SLOT_BUSY";
    }
    /* §6.2.6: 0x01-0x7F index the bad parameter, 0x81-0xC0 are user defined, the rest RFU. */
    if (berror < 0x80)
        return "BAD_PARAMETER_OFFSET";
    if (berror >= 0x81 && berror <= 0xC0)
        return "USER_DEFINED";
    return "RFU";
}

uint8_t ccid_status(enum ccid_icc_status icc, enum ccid_command_status cmd)
{
    return (uint8_t)(((unsigned)cmd & 3u) << 6 | ((unsigned)icc & 3u));
}

enum ccid_icc_status ccid_status_icc(uint8_t bstatus)
{
    return (enum ccid_icc_status)(bstatus & 3u);
}

enum ccid_command_status ccid_status_command(uint8_t bstatus)
{
    return (enum ccid_command_status)(bstatus >> 6);
}

static uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t get_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static void put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

/* What abData holds for each message. */
enum data_kind {
    DATA_NONE,   /* dwLength must be 0 */
    DATA_OPAQUE, /* any length: APDU, TPDU, escape or PIN data, ATR */
    DATA_PARAMS, /* abProtocolDataStructure, 5 or 7 bytes by bProtocolNum */
    DATA_RATE,   /* dwClockFrequency, dwDataRate */
};

struct msg_rule {
    uint8_t type;
    bool pc_to_rdr;
    uint8_t data;
    uint8_t rfu; /* bit i set: header byte 7 + i is RFU */
};

#define RFU7 1u
#define RFU8 2u
#define RFU9 4u

static const struct msg_rule rules[] = {
    {CCID_PC_TO_RDR_ICC_POWER_ON, true, DATA_NONE, RFU8 | RFU9},
    {CCID_PC_TO_RDR_ICC_POWER_OFF, true, DATA_NONE, RFU7 | RFU8 | RFU9},
    {CCID_PC_TO_RDR_GET_SLOT_STATUS, true, DATA_NONE, RFU7 | RFU8 | RFU9},
    {CCID_PC_TO_RDR_XFR_BLOCK, true, DATA_OPAQUE, 0},
    {CCID_PC_TO_RDR_GET_PARAMETERS, true, DATA_NONE, RFU7 | RFU8 | RFU9},
    {CCID_PC_TO_RDR_RESET_PARAMETERS, true, DATA_NONE, RFU7 | RFU8 | RFU9},
    {CCID_PC_TO_RDR_SET_PARAMETERS, true, DATA_PARAMS, RFU8 | RFU9},
    {CCID_PC_TO_RDR_ESCAPE, true, DATA_OPAQUE, RFU7 | RFU8 | RFU9},
    {CCID_PC_TO_RDR_ICC_CLOCK, true, DATA_NONE, RFU8 | RFU9},
    {CCID_PC_TO_RDR_T0_APDU, true, DATA_NONE, 0},
    {CCID_PC_TO_RDR_SECURE, true, DATA_OPAQUE, 0},
    {CCID_PC_TO_RDR_MECHANICAL, true, DATA_NONE, RFU8 | RFU9},
    {CCID_PC_TO_RDR_ABORT, true, DATA_NONE, RFU7 | RFU8 | RFU9},
    {CCID_PC_TO_RDR_SET_DATA_RATE_AND_CLOCK_FREQUENCY, true, DATA_RATE, RFU7 | RFU8 | RFU9},
    {CCID_RDR_TO_PC_DATA_BLOCK, false, DATA_OPAQUE, 0},
    {CCID_RDR_TO_PC_SLOT_STATUS, false, DATA_NONE, 0},
    {CCID_RDR_TO_PC_PARAMETERS, false, DATA_PARAMS, 0},
    {CCID_RDR_TO_PC_ESCAPE, false, DATA_OPAQUE, RFU9},
    {CCID_RDR_TO_PC_DATA_RATE_AND_CLOCK_FREQUENCY, false, DATA_RATE, RFU9},
};

static const struct msg_rule *find_rule(uint8_t type)
{
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        if (rules[i].type == type)
            return &rules[i];
    }
    return NULL;
}

bool ccid_is_pc_to_rdr(uint8_t type)
{
    const struct msg_rule *r = find_rule(type);
    return r != NULL && r->pc_to_rdr;
}

bool ccid_is_rdr_to_pc(uint8_t type)
{
    const struct msg_rule *r = find_rule(type);
    return r != NULL && !r->pc_to_rdr;
}

enum ccid_err ccid_frame(const uint8_t *buf, size_t len, size_t max_msg_len, size_t *n)
{
    *n = 0;
    if (len < CCID_HEADER_SIZE) {
        *n = CCID_HEADER_SIZE - len;
        return CCID_ERR_NEED_MORE;
    }
    uint32_t dw = get_le32(buf + 1);
    /* Written so that 10 + dwLength cannot overflow a 32-bit size_t. */
    if (max_msg_len < CCID_HEADER_SIZE || dw > max_msg_len - CCID_HEADER_SIZE)
        return CCID_ERR_TOO_LONG;
    size_t total = CCID_HEADER_SIZE + (size_t)dw;
    if (len < total) {
        *n = total - len;
        return CCID_ERR_NEED_MORE;
    }
    *n = total;
    return CCID_OK;
}

/* §6.1.7 Tables 6.1-2 and 6.1-3, checked against ISO/IEC 7816-3 where CCID defers to it. */
static enum ccid_err decode_params(const uint8_t *d, size_t n, uint8_t protocol,
                                   struct ccid_params *p, size_t *bad)
{
    p->protocol_num = protocol;
    if (n == 0)
        return CCID_OK;
    p->findex_dindex = d[0];
    p->tccks = d[1];
    p->guard_time = d[2];
    p->waiting_integer = d[3];
    p->clock_stop = d[4];
    if (protocol == CCID_PROTOCOL_T0) {
        /* bmTCCKST0: only bit 1 (convention) may be set. */
        if (d[1] & ~CCID_TCCKS_CONVENTION) {
            *bad = CCID_HEADER_SIZE + 1;
            return CCID_ERR_BAD_PARAM;
        }
    } else {
        p->ifsc = d[5];
        p->nad = d[6];
        /* bmTCCKST1: 0x10 | convention | checksum type. */
        if ((d[1] & ~(CCID_TCCKS_CONVENTION | CCID_TCCKS_T1_CRC)) != CCID_TCCKS_T1_BASE) {
            *bad = CCID_HEADER_SIZE + 1;
            return CCID_ERR_BAD_PARAM;
        }
        /* 7816-3 11.4.3: BWI 0-9; A-F are RFU. */
        if ((d[3] >> 4) > 9) {
            *bad = CCID_HEADER_SIZE + 3;
            return CCID_ERR_BAD_PARAM;
        }
        /* 7816-3 11.4.2: IFSC 0x01-0xFE. */
        if (d[5] == 0x00 || d[5] == 0xFF) {
            *bad = CCID_HEADER_SIZE + 5;
            return CCID_ERR_BAD_PARAM;
        }
    }
    if (d[4] > 3) {
        *bad = CCID_HEADER_SIZE + 4;
        return CCID_ERR_BAD_PARAM;
    }
    return CCID_OK;
}

static bool chain_valid(unsigned c)
{
    return c <= CCID_CHAIN_CONTINUE || c == CCID_CHAIN_EMPTY_EXPECT_MORE;
}

static enum ccid_err decode_body(const uint8_t *buf, size_t len, size_t max_msg_len,
                                 struct ccid_msg *m, size_t *bad)
{
    *bad = 0;
    if (len < CCID_HEADER_SIZE) {
        *bad = len;
        return CCID_ERR_TRUNCATED;
    }
    const struct msg_rule *r = find_rule(buf[0]);
    if (r == NULL)
        return CCID_ERR_UNKNOWN_TYPE;

    uint32_t dw = get_le32(buf + 1);
    *bad = 1;
    if (max_msg_len < CCID_HEADER_SIZE || dw > max_msg_len - CCID_HEADER_SIZE)
        return CCID_ERR_TOO_LONG;
    if (len - CCID_HEADER_SIZE < dw)
        return CCID_ERR_TRUNCATED;
    if (len - CCID_HEADER_SIZE > dw)
        return CCID_ERR_TRAILING;

    m->type = buf[0];
    m->slot = buf[5];
    m->seq = buf[6];
    m->len = dw;
    m->data = dw ? buf + CCID_HEADER_SIZE : NULL;

    for (unsigned i = 0; i < 3; i++) {
        if ((r->rfu & (1u << i)) && buf[7 + i] != 0) {
            *bad = 7 + i;
            return CCID_ERR_RESERVED;
        }
    }

    bool failed = false;
    if (!r->pc_to_rdr) {
        uint8_t st = buf[7];
        m->status = st;
        m->error = buf[8];
        *bad = 7;
        if (st & 0x3Cu)
            return CCID_ERR_RESERVED;
        if ((st & 3u) == 3u || (st >> 6) == 3u)
            return CCID_ERR_BAD_PARAM;
        failed = ccid_status_command(st) == CCID_CMD_FAILED;
    }

    *bad = 1;
    switch (r->data) {
    case DATA_NONE:
        if (dw != 0)
            return CCID_ERR_BAD_LENGTH;
        break;
    case DATA_RATE:
        /* A reader that failed the command may send no rates (§6.2.5). */
        if (dw == 0 && failed)
            break;
        if (dw != 8)
            return CCID_ERR_BAD_LENGTH;
        m->clock_frequency = get_le32(buf + 10);
        m->data_rate = get_le32(buf + 14);
        break;
    case DATA_PARAMS: {
        uint8_t proto = buf[7 + (r->pc_to_rdr ? 0 : 2)];
        if (proto > CCID_PROTOCOL_T1) {
            *bad = r->pc_to_rdr ? 7 : 9;
            return CCID_ERR_BAD_PARAM;
        }
        size_t want = proto == CCID_PROTOCOL_T0 ? CCID_PARAMS_T0_SIZE : CCID_PARAMS_T1_SIZE;
        /* A failed GetParameters/SetParameters may come back without a structure. */
        if (!(dw == 0 && failed) && dw != want)
            return CCID_ERR_BAD_LENGTH;
        enum ccid_err e = decode_params(buf + 10, dw, proto, &m->params, bad);
        if (e != CCID_OK)
            return e;
        break;
    }
    default: break;
    }

    switch (m->type) {
    case CCID_PC_TO_RDR_ICC_POWER_ON:
        m->power_select = buf[7];
        *bad = 7;
        if (buf[7] > CCID_POWER_1V8)
            return CCID_ERR_BAD_PARAM;
        break;
    case CCID_PC_TO_RDR_XFR_BLOCK:
    case CCID_PC_TO_RDR_SECURE:
        m->bwi = buf[7];
        m->level_parameter = get_le16(buf + 8);
        break;
    case CCID_PC_TO_RDR_ICC_CLOCK:
        m->clock_command = buf[7];
        *bad = 7;
        if (buf[7] > CCID_CLOCK_STOP)
            return CCID_ERR_BAD_PARAM;
        break;
    case CCID_PC_TO_RDR_T0_APDU:
        m->changes = buf[7];
        m->class_get_response = buf[8];
        m->class_envelope = buf[9];
        *bad = 7;
        if (buf[7] & ~(CCID_T0APDU_CHANGE_GET_RESPONSE | CCID_T0APDU_CHANGE_ENVELOPE))
            return CCID_ERR_RESERVED;
        break;
    case CCID_PC_TO_RDR_MECHANICAL:
        m->function = buf[7];
        *bad = 7;
        if (buf[7] < CCID_MECH_ACCEPT_CARD || buf[7] > CCID_MECH_UNLOCK_CARD)
            return CCID_ERR_BAD_PARAM;
        break;
    case CCID_RDR_TO_PC_DATA_BLOCK:
        m->chain_parameter = buf[9];
        *bad = 9;
        if (!chain_valid(buf[9]))
            return CCID_ERR_BAD_PARAM;
        break;
    case CCID_RDR_TO_PC_SLOT_STATUS:
        m->clock_status = buf[9];
        *bad = 9;
        if (buf[9] > CCID_CLOCK_STOPPED_UNKNOWN)
            return CCID_ERR_BAD_PARAM;
        break;
    default: break;
    }
    *bad = 0;
    return CCID_OK;
}

enum ccid_err ccid_decode(const uint8_t *buf, size_t len, size_t max_msg_len, struct ccid_msg *m,
                          size_t *bad_offset)
{
    size_t bad = 0;
    memset(m, 0, sizeof *m);
    if (buf == NULL)
        len = 0;
    enum ccid_err e = decode_body(buf, len, max_msg_len, m, &bad);
    if (e != CCID_OK)
        memset(m, 0, sizeof *m);
    if (bad_offset)
        *bad_offset = e == CCID_OK ? 0 : bad;
    return e;
}

static size_t encode_params(const struct ccid_params *p, uint8_t *d)
{
    d[0] = p->findex_dindex;
    d[1] = p->tccks;
    d[2] = p->guard_time;
    d[3] = p->waiting_integer;
    d[4] = p->clock_stop;
    if (p->protocol_num != CCID_PROTOCOL_T1)
        return CCID_PARAMS_T0_SIZE;
    d[5] = p->ifsc;
    d[6] = p->nad;
    return CCID_PARAMS_T1_SIZE;
}

enum ccid_err ccid_encode(const struct ccid_msg *m, uint8_t *out, size_t cap, size_t *n)
{
    *n = 0;
    const struct msg_rule *r = find_rule(m->type);
    if (r == NULL)
        return CCID_ERR_UNKNOWN_TYPE;

    bool failed = !r->pc_to_rdr && ccid_status_command(m->status) == CCID_CMD_FAILED;
    size_t dlen = 0;
    switch (r->data) {
    case DATA_OPAQUE:
        if (m->len != 0 && m->data == NULL)
            return CCID_ERR_BAD_LENGTH;
        dlen = m->len;
        break;
    case DATA_RATE: dlen = (failed && m->len == 0) ? 0 : 8; break;
    case DATA_PARAMS:
        if (failed && m->len == 0)
            dlen = 0;
        else
            dlen = m->params.protocol_num == CCID_PROTOCOL_T1 ? CCID_PARAMS_T1_SIZE
                                                              : CCID_PARAMS_T0_SIZE;
        break;
    default: break;
    }
    if (cap < CCID_HEADER_SIZE || cap - CCID_HEADER_SIZE < dlen)
        return CCID_ERR_NO_SPACE;

    memset(out, 0, CCID_HEADER_SIZE);
    out[0] = m->type;
    put_le32(out + 1, (uint32_t)dlen);
    out[5] = m->slot;
    out[6] = m->seq;
    if (!r->pc_to_rdr) {
        out[7] = m->status;
        out[8] = m->error;
    }
    switch (m->type) {
    case CCID_PC_TO_RDR_ICC_POWER_ON: out[7] = m->power_select; break;
    case CCID_PC_TO_RDR_XFR_BLOCK:
    case CCID_PC_TO_RDR_SECURE:
        out[7] = m->bwi;
        put_le16(out + 8, m->level_parameter);
        break;
    case CCID_PC_TO_RDR_SET_PARAMETERS: out[7] = m->params.protocol_num; break;
    case CCID_PC_TO_RDR_ICC_CLOCK: out[7] = m->clock_command; break;
    case CCID_PC_TO_RDR_T0_APDU:
        out[7] = m->changes;
        out[8] = m->class_get_response;
        out[9] = m->class_envelope;
        break;
    case CCID_PC_TO_RDR_MECHANICAL: out[7] = m->function; break;
    case CCID_RDR_TO_PC_DATA_BLOCK: out[9] = m->chain_parameter; break;
    case CCID_RDR_TO_PC_SLOT_STATUS: out[9] = m->clock_status; break;
    case CCID_RDR_TO_PC_PARAMETERS: out[9] = m->params.protocol_num; break;
    default: break;
    }
    if (dlen) {
        switch (r->data) {
        case DATA_OPAQUE: memmove(out + CCID_HEADER_SIZE, m->data, dlen); break;
        case DATA_RATE:
            put_le32(out + 10, m->clock_frequency);
            put_le32(out + 14, m->data_rate);
            break;
        case DATA_PARAMS: encode_params(&m->params, out + CCID_HEADER_SIZE); break;
        default: break;
        }
    }

    /* Whatever goes out obeys the rules the other side checks. */
    struct ccid_msg check;
    enum ccid_err e = ccid_decode(out, CCID_HEADER_SIZE + dlen, (size_t)-1, &check, NULL);
    if (e != CCID_OK)
        return e;
    *n = CCID_HEADER_SIZE + dlen;
    return CCID_OK;
}

/* --- interrupt-IN --------------------------------------------------------- */

size_t ccid_notify_size(unsigned nslots)
{
    return 1 + (2 * (size_t)nslots + 7) / 8;
}

void ccid_slot_state_set(struct ccid_interrupt *it, unsigned slot, bool present, bool changed)
{
    if (slot >= CCID_MAX_SLOTS)
        return;
    unsigned shift = (slot % 4) * 2;
    uint8_t *b = &it->slot_icc_state[slot / 4];
    *b = (uint8_t)((*b & ~(3u << shift)) | (present ? 1u : 0u) << shift |
                   (changed ? 2u : 0u) << shift);
}

bool ccid_slot_present(const struct ccid_interrupt *it, unsigned slot)
{
    return slot < CCID_MAX_SLOTS && (it->slot_icc_state[slot / 4] >> ((slot % 4) * 2)) & 1u;
}

bool ccid_slot_changed(const struct ccid_interrupt *it, unsigned slot)
{
    return slot < CCID_MAX_SLOTS && (it->slot_icc_state[slot / 4] >> ((slot % 4) * 2)) & 2u;
}

static enum ccid_err decode_interrupt(const uint8_t *buf, size_t len, uint8_t max_slot_index,
                                      struct ccid_interrupt *out)
{
    if (len == 0)
        return CCID_ERR_TRUNCATED;
    out->type = buf[0];
    if (buf[0] == CCID_RDR_TO_PC_NOTIFY_SLOT_CHANGE) {
        unsigned nslots = (unsigned)max_slot_index + 1;
        size_t want = ccid_notify_size(nslots);
        if (len < want)
            return CCID_ERR_TRUNCATED;
        if (len > want)
            return CCID_ERR_TRAILING;
        /* The bit pairs past the last slot pad the final byte and must be 0. */
        unsigned used_bits = (2 * nslots) % 8;
        if (used_bits && (buf[want - 1] >> used_bits) != 0)
            return CCID_ERR_RESERVED;
        out->nslots = nslots;
        memcpy(out->slot_icc_state, buf + 1, want - 1);
        return CCID_OK;
    }
    if (buf[0] == CCID_RDR_TO_PC_HARDWARE_ERROR) {
        if (len < 4)
            return CCID_ERR_TRUNCATED;
        if (len > 4)
            return CCID_ERR_TRAILING;
        if (buf[3] != CCID_HW_ERROR_OVERCURRENT)
            return CCID_ERR_BAD_PARAM;
        out->slot = buf[1];
        out->seq = buf[2];
        out->hardware_error_code = buf[3];
        return CCID_OK;
    }
    return CCID_ERR_UNKNOWN_TYPE;
}

enum ccid_err ccid_decode_interrupt(const uint8_t *buf, size_t len, uint8_t max_slot_index,
                                    struct ccid_interrupt *out)
{
    memset(out, 0, sizeof *out);
    if (buf == NULL)
        len = 0;
    enum ccid_err e = decode_interrupt(buf, len, max_slot_index, out);
    if (e != CCID_OK)
        memset(out, 0, sizeof *out);
    return e;
}

enum ccid_err ccid_encode_interrupt(const struct ccid_interrupt *in, uint8_t *out, size_t cap,
                                    size_t *n)
{
    *n = 0;
    if (in->type == CCID_RDR_TO_PC_NOTIFY_SLOT_CHANGE) {
        if (in->nslots == 0 || in->nslots > CCID_MAX_SLOTS)
            return CCID_ERR_BAD_PARAM;
        size_t want = ccid_notify_size(in->nslots);
        if (cap < want)
            return CCID_ERR_NO_SPACE;
        unsigned used_bits = (2 * in->nslots) % 8;
        if (used_bits && (in->slot_icc_state[want - 2] >> used_bits) != 0)
            return CCID_ERR_RESERVED;
        out[0] = in->type;
        memcpy(out + 1, in->slot_icc_state, want - 1);
        *n = want;
        return CCID_OK;
    }
    if (in->type == CCID_RDR_TO_PC_HARDWARE_ERROR) {
        if (in->hardware_error_code != CCID_HW_ERROR_OVERCURRENT)
            return CCID_ERR_BAD_PARAM;
        if (cap < 4)
            return CCID_ERR_NO_SPACE;
        out[0] = in->type;
        out[1] = in->slot;
        out[2] = in->seq;
        out[3] = in->hardware_error_code;
        *n = 4;
        return CCID_OK;
    }
    return CCID_ERR_UNKNOWN_TYPE;
}

/* --- class descriptor -------------------------------------------------------- */

enum ccid_err ccid_decode_descriptor(const uint8_t *buf, size_t len, struct ccid_descriptor *d)
{
    memset(d, 0, sizeof *d);
    if (buf == NULL || len < CCID_DESCRIPTOR_SIZE)
        return CCID_ERR_TRUNCATED;
    if (len > CCID_DESCRIPTOR_SIZE)
        return CCID_ERR_TRAILING;
    if (buf[0] != CCID_DESCRIPTOR_SIZE || buf[1] != CCID_DESCRIPTOR_TYPE)
        return CCID_ERR_BAD_DESCRIPTOR;
    d->bcd_ccid = get_le16(buf + 2);
    d->max_slot_index = buf[4];
    d->voltage_support = buf[5];
    d->protocols = get_le32(buf + 6);
    d->default_clock = get_le32(buf + 10);
    d->maximum_clock = get_le32(buf + 14);
    d->num_clock_supported = buf[18];
    d->data_rate = get_le32(buf + 19);
    d->max_data_rate = get_le32(buf + 23);
    d->num_data_rates_supported = buf[27];
    d->max_ifsd = get_le32(buf + 28);
    d->synch_protocols = get_le32(buf + 32);
    d->mechanical = get_le32(buf + 36);
    d->features = get_le32(buf + 40);
    d->max_ccid_message_length = get_le32(buf + 44);
    d->class_get_response = buf[48];
    d->class_envelope = buf[49];
    d->lcd_layout = get_le16(buf + 50);
    d->pin_support = buf[52];
    d->max_ccid_busy_slots = buf[53];
    return CCID_OK;
}

enum ccid_err ccid_encode_descriptor(const struct ccid_descriptor *d, uint8_t *out, size_t cap,
                                     size_t *n)
{
    *n = 0;
    if (cap < CCID_DESCRIPTOR_SIZE)
        return CCID_ERR_NO_SPACE;
    out[0] = CCID_DESCRIPTOR_SIZE;
    out[1] = CCID_DESCRIPTOR_TYPE;
    put_le16(out + 2, d->bcd_ccid);
    out[4] = d->max_slot_index;
    out[5] = d->voltage_support;
    put_le32(out + 6, d->protocols);
    put_le32(out + 10, d->default_clock);
    put_le32(out + 14, d->maximum_clock);
    out[18] = d->num_clock_supported;
    put_le32(out + 19, d->data_rate);
    put_le32(out + 23, d->max_data_rate);
    out[27] = d->num_data_rates_supported;
    put_le32(out + 28, d->max_ifsd);
    put_le32(out + 32, d->synch_protocols);
    put_le32(out + 36, d->mechanical);
    put_le32(out + 40, d->features);
    put_le32(out + 44, d->max_ccid_message_length);
    out[48] = d->class_get_response;
    out[49] = d->class_envelope;
    put_le16(out + 50, d->lcd_layout);
    out[52] = d->pin_support;
    out[53] = d->max_ccid_busy_slots;
    *n = CCID_DESCRIPTOR_SIZE;
    return CCID_OK;
}

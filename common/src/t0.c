#include <string.h>

#include "hawiya/t0.h"

const char *t0_err_str(enum t0_err e)
{
    switch (e) {
    case T0_OK: return "T0_OK";
    case T0_ERR_BAD_APDU: return "T0_ERR_BAD_APDU";
    case T0_ERR_BAD_INS: return "T0_ERR_BAD_INS";
    case T0_ERR_BUFFER_TOO_SMALL: return "T0_ERR_BUFFER_TOO_SMALL";
    case T0_ERR_BAD_PROCEDURE: return "T0_ERR_BAD_PROCEDURE";
    case T0_ERR_UNEXPECTED_ACK: return "T0_ERR_UNEXPECTED_ACK";
    case T0_ERR_UNEXPECTED_CHAR: return "T0_ERR_UNEXPECTED_CHAR";
    case T0_ERR_TIMEOUT: return "T0_ERR_TIMEOUT";
    case T0_ERR_STATE: return "T0_ERR_STATE";
    case T0_ERR_BAD_SW: return "T0_ERR_BAD_SW";
    }
    return "T0_ERR_UNKNOWN";
}

static void io_clear(struct t0_io *io)
{
    memset(io, 0, sizeof *io);
}

/* §10.3.2: INS 6X and 9X are invalid, a card would read them as SW1. */
static bool ins_valid(uint8_t ins)
{
    return (ins & 0xF0) != 0x60 && (ins & 0xF0) != 0x90;
}

static bool is_sw1(uint8_t b)
{
    return b != T0_NULL && ((b & 0xF0) == 0x60 || (b & 0xF0) == 0x90);
}

static size_t min_size(size_t a, size_t b)
{
    return a < b ? a : b;
}

/* ---- interface-device role ---------------------------------------------- */

void t0_ifd_init(struct t0_ifd *t)
{
    memset(t, 0, sizeof *t);
}

static enum t0_err ifd_fail(struct t0_ifd *t, struct t0_io *io, enum t0_err e)
{
    t0_ifd_init(t);
    io_clear(io);
    return e;
}

/*
 * CLA of the GET RESPONSE and ENVELOPE the transport adds (7816-4 §5.4.1):
 * interindustry classes keep their logical channel and lose secure messaging
 * and chaining, which belong to the command they carry; proprietary classes
 * (GSM 11.11 uses A0 C0) are kept as they are.
 */
static uint8_t transport_cla(uint8_t cla)
{
    if ((cla & 0xE0) == 0x00)
        return cla & 0x03;
    if ((cla & 0xC0) == 0x40)
        return cla & 0x4F;
    return cla;
}

static void start_tpdu(struct t0_ifd *t, enum t0_tpdu_kind kind, uint8_t cla, uint8_t ins,
                       uint8_t p1, uint8_t p2, uint8_t p3, const uint8_t *out, size_t out_n,
                       size_t in_n, struct t0_io *io)
{
    t->kind = kind;
    t->tpdu[0] = cla;
    t->tpdu[1] = ins;
    t->tpdu[2] = p1;
    t->tpdu[3] = p2;
    t->tpdu[4] = p3;
    t->out = out;
    t->out_left = out_n;
    t->in_left = in_n;
    t->in_chunk = 0;
    t->tpdu_start = t->nr;
    t->tpdu_got = 0;
    t->reissued = false;
    t->phase = T0_IFD_PROCEDURE;
    io->tx = t->tpdu;
    io->tx_len = T0_HEADER_LEN;
}

/* Byte `pos` of the command APDU in its extended encoding, which ENVELOPE carries. */
static uint8_t envelope_byte(const struct t0_ifd *t, size_t pos)
{
    const struct apdu *a = &t->cmd;
    const uint8_t head[7] = {a->cla,        a->ins, a->p1, a->p2, 0x00, (uint8_t)(a->nc >> 8),
                             (uint8_t)a->nc};
    if (pos < sizeof head)
        return head[pos];
    pos -= sizeof head;
    if (pos < a->nc)
        return a->data[pos];
    pos -= a->nc;
    return pos == 0 ? (uint8_t)(a->ne >> 8) : (uint8_t)a->ne; /* 65536 -> 00 00 */
}

/*
 * §12.2.7 / §12.2.8, cases 3E.2 and 4E.2: the extended command APDU goes in
 * ENVELOPE segments of up to 255 bytes; an ENVELOPE with no data ends it.
 */
static void send_envelope(struct t0_ifd *t, struct t0_io *io)
{
    size_t n = min_size(t->env_total - t->env_pos, T0_P3_MAX);
    for (size_t i = 0; i < n; i++)
        t->tpdu[T0_HEADER_LEN + i] = envelope_byte(t, t->env_pos + i);
    t->env_pos += n;
    start_tpdu(t, n > 0 ? T0_TPDU_ENVELOPE : T0_TPDU_ENVELOPE_END, transport_cla(t->cmd.cla),
               T0_INS_ENVELOPE, 0x00, 0x00, (uint8_t)n, t->tpdu + T0_HEADER_LEN, n, 0, io);
}

/* GET RESPONSE for at most `avail` bytes, never more than Ne still wants. */
static void get_response(struct t0_ifd *t, size_t avail, struct t0_io *io)
{
    size_t n = min_size(avail, t->cmd.ne - t->nr);
    start_tpdu(t, T0_TPDU_GET_RESPONSE, transport_cla(t->cmd.cla), T0_INS_GET_RESP, 0x00, 0x00,
               (uint8_t)n, NULL, 0, n, io);
}

enum t0_err t0_ifd_transmit(struct t0_ifd *t, const struct apdu *cmd, uint8_t *resp,
                            size_t resp_cap, struct t0_io *io)
{
    io_clear(io);
    if (t->phase != T0_IFD_IDLE && t->phase != T0_IFD_DONE)
        return ifd_fail(t, io, T0_ERR_STATE);
    if (cmd->nc > APDU_NC_MAX || cmd->ne > APDU_NE_MAX || (cmd->nc > 0 && cmd->data == NULL))
        return ifd_fail(t, io, T0_ERR_BAD_APDU);
    if (!ins_valid(cmd->ins))
        return ifd_fail(t, io, T0_ERR_BAD_INS);
    if (resp_cap < cmd->ne || (cmd->ne > 0 && resp == NULL))
        return ifd_fail(t, io, T0_ERR_BUFFER_TOO_SMALL);

    t0_ifd_init(t);
    t->cmd = *cmd;
    t->resp = resp;
    t->resp_cap = resp_cap;
    if (cmd->nc > T0_P3_MAX) {
        t->env_total = 7 + cmd->nc + (cmd->ne > 0 ? 2 : 0);
        send_envelope(t, io);
    } else if (cmd->nc > 0) {
        /* Cases 3S, 4S, 3E.1, 4E.1: P3 = Lc; Le waits for the GET RESPONSE. */
        start_tpdu(t, T0_TPDU_COMMAND, cmd->cla, cmd->ins, cmd->p1, cmd->p2, (uint8_t)cmd->nc,
                   cmd->data, cmd->nc, 0, io);
    } else if (cmd->ne > 0) {
        /* Cases 2S and 2E: P3 = Le, 00 for 256 and for anything larger (2E.2). */
        size_t n = min_size(cmd->ne, APDU_NE_SHORT);
        start_tpdu(t, T0_TPDU_COMMAND, cmd->cla, cmd->ins, cmd->p1, cmd->p2, (uint8_t)n, NULL, 0, n,
                   io);
    } else {
        /* Case 1: P3 = 00. */
        start_tpdu(t, T0_TPDU_COMMAND, cmd->cla, cmd->ins, cmd->p1, cmd->p2, 0x00, NULL, 0, 0, io);
    }
    io->rx_len = 1;
    return T0_OK;
}

/* SW1 SW2 closed a TPDU: decide the next TPDU of §12.2, or the end. */
static void ifd_after_sw(struct t0_ifd *t, uint8_t sw2, struct t0_io *io)
{
    uint8_t sw1 = t->sw1;
    size_t xx = sw2 == 0 ? 256 : sw2;
    bool data_in = t->kind == T0_TPDU_GET_RESPONSE ||
                   (t->kind == T0_TPDU_COMMAND && t->cmd.nc == 0 && t->cmd.ne > 0);

    t->sw = (uint16_t)(sw1 << 8 | sw2);
    if (sw1 == 0x6C && data_in && !t->reissued) {
        /* Case 2S.3: the same header again with P3 = La; only once, a card repeating it is broken.
         */
        t->nr = t->tpdu_start;
        start_tpdu(t, t->kind, t->tpdu[0], t->tpdu[1], t->tpdu[2], t->tpdu[3], sw2, NULL, 0, xx,
                   io);
        t->reissued = true;
        return;
    }
    if (t->kind == T0_TPDU_ENVELOPE) {
        if (t->sw == 0x9000) {
            send_envelope(t, io);
            return;
        }
    } else if (sw1 == 0x61 && t->cmd.ne > 0 && t->nr < t->cmd.ne &&
               !(t->kind == T0_TPDU_GET_RESPONSE && t->tpdu_got == 0)) {
        /* 61XX: fetch and concatenate, up to Ne; a GET RESPONSE that brings nothing ends it. */
        get_response(t, xx, io);
        return;
    } else if (t->sw == 0x9000 && t->kind == T0_TPDU_COMMAND && t->cmd.nc > 0 && t->cmd.ne > 0) {
        /* Case 4S.2: the command was accepted, its response is fetched with Le. */
        get_response(t, APDU_NE_SHORT, io);
        return;
    }
    t->phase = T0_IFD_DONE;
    io->done = true;
}

static enum t0_err ifd_char(struct t0_ifd *t, uint8_t b, struct t0_io *io)
{
    switch (t->phase) {
    case T0_IFD_PROCEDURE: {
        uint8_t ins = t->tpdu[1];
        uint8_t ins_bar = (uint8_t)(ins ^ 0xFF);
        if (b == T0_NULL) {
            io->null_received = true;
            return T0_OK;
        }
        if (is_sw1(b)) {
            t->sw1 = b;
            t->phase = T0_IFD_SW2;
            return T0_OK;
        }
        if (b != ins && b != ins_bar)
            return T0_ERR_BAD_PROCEDURE;
        /* §10.3.3: INS -> all remaining data, ~INS -> the next byte only. */
        if (t->out_left > 0) {
            size_t k = b == ins ? t->out_left : 1;
            io->tx = t->out;
            io->tx_len = k;
            t->out += k;
            t->out_left -= k;
            return T0_OK;
        }
        if (t->in_left > 0) {
            t->in_chunk = b == ins ? t->in_left : 1;
            t->phase = T0_IFD_DATA_IN;
            return T0_OK;
        }
        return T0_ERR_UNEXPECTED_ACK;
    }
    case T0_IFD_DATA_IN:
        /* Bytes beyond Ne (after a 6CXX with La > Ne) are dropped, as §12.2.3 says. */
        if (t->nr < t->cmd.ne)
            t->resp[t->nr++] = b;
        t->tpdu_got++;
        t->in_left--;
        if (--t->in_chunk == 0)
            t->phase = T0_IFD_PROCEDURE;
        return T0_OK;
    case T0_IFD_SW2: ifd_after_sw(t, b, io); return T0_OK;
    case T0_IFD_IDLE:
    case T0_IFD_DONE: break;
    }
    return T0_ERR_UNEXPECTED_CHAR;
}

enum t0_err t0_ifd_rx(struct t0_ifd *t, const uint8_t *in, size_t n, struct t0_io *io)
{
    io_clear(io);
    if (t->phase == T0_IFD_IDLE || t->phase == T0_IFD_DONE)
        return n > 0 ? ifd_fail(t, io, T0_ERR_UNEXPECTED_CHAR) : ifd_fail(t, io, T0_ERR_STATE);
    for (size_t i = 0; i < n; i++) {
        /* Once we must send (or are done), the card has nothing more to say. */
        if (io->tx_len > 0 || io->done)
            return ifd_fail(t, io, T0_ERR_UNEXPECTED_CHAR);
        enum t0_err e = ifd_char(t, in[i], io);
        if (e != T0_OK)
            return ifd_fail(t, io, e);
    }
    if (!io->done)
        io->rx_len = t->phase == T0_IFD_DATA_IN ? t->in_chunk : 1;
    return T0_OK;
}

enum t0_err t0_ifd_timeout(struct t0_ifd *t, struct t0_io *io)
{
    if (t->phase == T0_IFD_IDLE || t->phase == T0_IFD_DONE)
        return ifd_fail(t, io, T0_ERR_STATE);
    return ifd_fail(t, io, T0_ERR_TIMEOUT);
}

enum t0_err t0_ifd_response(const struct t0_ifd *t, struct rapdu *r)
{
    memset(r, 0, sizeof *r);
    if (t->phase != T0_IFD_DONE)
        return T0_ERR_STATE;
    r->data = t->nr > 0 ? t->resp : NULL;
    r->len = t->nr;
    r->sw = t->sw;
    return T0_OK;
}

/* ---- card role ------------------------------------------------------------ */

static void card_reset(struct t0_card *c)
{
    uint8_t *buf = c->buf;
    size_t cap = c->cap;
    t0_takes_data_fn fn = c->takes_data;
    void *ctx = c->ctx;
    bool bytewise = c->bytewise;

    memset(c, 0, sizeof *c);
    c->buf = buf;
    c->cap = cap;
    c->takes_data = fn;
    c->ctx = ctx;
    c->bytewise = bytewise;
    c->phase = T0_CARD_HEADER;
}

static enum t0_err card_fail(struct t0_card *c, struct t0_io *io, enum t0_err e)
{
    card_reset(c);
    io_clear(io);
    io->rx_len = T0_HEADER_LEN;
    return e;
}

enum t0_err t0_card_init(struct t0_card *c, uint8_t *buf, size_t cap, t0_takes_data_fn takes_data,
                         void *ctx, bool bytewise, struct t0_io *io)
{
    memset(c, 0, sizeof *c);
    io_clear(io);
    if (takes_data == NULL)
        return T0_ERR_STATE;
    if (buf == NULL || cap < T0_P3_MAX)
        return T0_ERR_BUFFER_TOO_SMALL;
    c->buf = buf;
    c->cap = cap;
    c->takes_data = takes_data;
    c->ctx = ctx;
    c->bytewise = bytewise;
    c->phase = T0_CARD_HEADER;
    io->rx_len = T0_HEADER_LEN;
    return T0_OK;
}

/* Emits the next characters of the current answer: ACK, data, SW1 SW2. */
static void card_next(struct t0_card *c, struct t0_io *io)
{
    uint8_t ins = c->hdr[1];

    c->phase = T0_CARD_SENDING;
    switch (c->step) {
    case T0_STEP_ACK:
        c->txb[0] = c->bytewise ? (uint8_t)(ins ^ 0xFF) : ins;
        io->tx = c->txb;
        io->tx_len = 1;
        io->more = true;
        c->step = T0_STEP_DATA;
        return;
    case T0_STEP_DATA: {
        size_t k = c->bytewise ? 1 : c->send_n;
        io->tx = c->rdata + c->roff;
        io->tx_len = k;
        io->more = true;
        c->roff += k;
        c->send_n -= k;
        c->step = c->send_n > 0 ? T0_STEP_ACK : T0_STEP_SW;
        return;
    }
    case T0_STEP_SW:
    case T0_STEP_END: break;
    }
    c->txb[0] = (uint8_t)(c->send_sw >> 8);
    c->txb[1] = (uint8_t)c->send_sw;
    io->tx = c->txb;
    io->tx_len = 2;
    if (c->pending && c->roff >= c->rlen)
        c->pending = false;
    c->step = T0_STEP_END;
    c->phase = T0_CARD_HEADER;
    c->hdr_len = 0;
    io->rx_len = T0_HEADER_LEN;
}

static void card_send_sw(struct t0_card *c, uint16_t sw, struct t0_io *io)
{
    c->send_sw = sw;
    c->step = T0_STEP_SW;
    card_next(c, io);
}

/* Sends n bytes of the kept response, closed by 61XX if more remain, else by its SW. */
static void card_serve(struct t0_card *c, size_t n, struct t0_io *io)
{
    size_t rest = c->rlen - c->roff - n;

    c->la_pending = false;
    c->send_n = n;
    c->send_sw = rest > 0 ? (uint16_t)(0x6100 | (rest >= 256 ? 0 : rest)) : c->rsw;
    c->step = T0_STEP_ACK;
    card_next(c, io);
}

static void card_deliver(struct t0_card *c, const uint8_t *data, size_t nc, size_t ne,
                         struct t0_io *io)
{
    memset(&c->cmd, 0, sizeof c->cmd);
    c->cmd.cla = c->hdr[0];
    c->cmd.ins = c->hdr[1];
    c->cmd.p1 = c->hdr[2];
    c->cmd.p2 = c->hdr[3];
    c->cmd.data = data;
    c->cmd.nc = nc;
    c->cmd.ne = ne;
    c->phase = T0_CARD_PROCESSING;
    io->command = &c->cmd;
}

static void card_start_data(struct t0_card *c, size_t want, bool envelope, struct t0_io *io)
{
    c->phase = T0_CARD_DATA_IN;
    c->data_len = 0;
    c->data_want = want;
    c->data_is_envelope = envelope;
    c->txb[0] = c->bytewise ? (uint8_t)(c->hdr[1] ^ 0xFF) : c->hdr[1];
    io->tx = c->txb;
    io->tx_len = 1;
}

/* The empty ENVELOPE: the gathered bytes must be one well-formed command APDU. */
static void card_envelope_end(struct t0_card *c, struct t0_io *io)
{
    size_t len = c->env_len;

    c->env_len = 0;
    if (len == 0 || apdu_decode(c->buf, len, &c->cmd, NULL) != APDU_OK) {
        card_send_sw(c, 0x6700, io);
        return;
    }
    c->outgoing = false;
    c->phase = T0_CARD_PROCESSING;
    io->command = &c->cmd;
}

static void card_header(struct t0_card *c, struct t0_io *io)
{
    uint8_t cla = c->hdr[0], ins = c->hdr[1], p1 = c->hdr[2], p2 = c->hdr[3], p3 = c->hdr[4];
    size_t p3_out = p3 == 0 ? 256 : p3;

    bool get_response = ins == T0_INS_GET_RESP && p1 == 0 && p2 == 0;
    bool empty_ok = c->last_empty_ok;

    c->hdr_len = 0;
    c->last_empty_ok = false;
    if (!ins_valid(ins)) {
        c->pending = c->la_pending = false;
        card_send_sw(c, 0x6D00, io);
        return;
    }
    if (c->pending) {
        if (get_response) {
            size_t avail = c->rlen - c->roff;
            if (p3_out > avail) {
                /* avail < 256 here: tell the reader the exact length. */
                card_send_sw(c, (uint16_t)(0x6C00 | avail), io);
                return;
            }
            card_serve(c, p3_out, io);
            return;
        }
        if (c->la_pending && memcmp(c->la_hdr, c->hdr, 4) == 0 && p3_out == c->la) {
            card_serve(c, c->la, io);
            return;
        }
        c->pending = c->la_pending = false;
    }
    if (get_response && (cla & 0x80) == 0) {
        card_send_sw(c, empty_ok ? 0x9000 : 0x6985, io);
        return;
    }
    if (ins == T0_INS_ENVELOPE && (cla & 0x80) == 0) {
        if (p3 == 0) {
            card_envelope_end(c, io);
            return;
        }
        if (p3 > c->cap - c->env_len) {
            c->env_len = 0;
            card_send_sw(c, 0x6700, io);
            return;
        }
        card_start_data(c, p3, true, io);
        return;
    }
    c->env_len = 0; /* any other command abandons a half-sent ENVELOPE sequence */
    if (c->takes_data(c->ctx, cla, ins, p1, p2)) {
        c->outgoing = false;
        if (p3 == 0) {
            card_deliver(c, NULL, 0, 0, io);
            return;
        }
        card_start_data(c, p3, false, io);
        return;
    }
    /* Case 1 and case 2 look the same on the line (P3 = 00 is Le = 256, §10.3.2). */
    c->outgoing = true;
    card_deliver(c, NULL, 0, p3_out, io);
}

static void card_data_done(struct t0_card *c, struct t0_io *io)
{
    if (c->data_is_envelope) {
        c->env_len += c->data_len;
        card_send_sw(c, 0x9000, io);
        return;
    }
    card_deliver(c, c->buf, c->data_len, 0, io);
}

enum t0_err t0_card_rx(struct t0_card *c, const uint8_t *in, size_t n, struct t0_io *io)
{
    io_clear(io);
    for (size_t i = 0; i < n; i++) {
        /* The reader must wait for what we send before it says anything more. */
        if (io->tx_len > 0 || io->command != NULL)
            return card_fail(c, io, T0_ERR_UNEXPECTED_CHAR);
        switch (c->phase) {
        case T0_CARD_HEADER:
            c->hdr[c->hdr_len++] = in[i];
            if (c->hdr_len == T0_HEADER_LEN)
                card_header(c, io);
            break;
        case T0_CARD_DATA_IN: {
            size_t base = c->data_is_envelope ? c->env_len : 0;
            c->buf[base + c->data_len++] = in[i];
            if (c->data_len == c->data_want) {
                card_data_done(c, io);
            } else if (c->bytewise) {
                io->tx = c->txb; /* ~INS again for the next byte */
                io->tx_len = 1;
            }
            break;
        }
        case T0_CARD_PROCESSING:
        case T0_CARD_SENDING: return card_fail(c, io, T0_ERR_UNEXPECTED_CHAR);
        }
    }
    if (io->command == NULL && !io->more && io->rx_len == 0) {
        if (c->phase == T0_CARD_HEADER)
            io->rx_len = T0_HEADER_LEN - c->hdr_len;
        else if (c->phase == T0_CARD_DATA_IN)
            io->rx_len = c->bytewise ? 1 : c->data_want - c->data_len;
    }
    return T0_OK;
}

enum t0_err t0_card_sent(struct t0_card *c, struct t0_io *io)
{
    io_clear(io);
    if (c->phase != T0_CARD_SENDING || c->step == T0_STEP_END)
        return card_fail(c, io, T0_ERR_STATE);
    card_next(c, io);
    return T0_OK;
}

enum t0_err t0_card_null(struct t0_card *c, struct t0_io *io)
{
    io_clear(io);
    if (c->phase != T0_CARD_PROCESSING)
        return card_fail(c, io, T0_ERR_STATE);
    c->txb[0] = T0_NULL;
    io->tx = c->txb;
    io->tx_len = 1;
    io->command = &c->cmd;
    return T0_OK;
}

enum t0_err t0_card_respond(struct t0_card *c, const uint8_t *data, size_t len, uint16_t sw,
                            struct t0_io *io)
{
    io_clear(io);
    if (c->phase != T0_CARD_PROCESSING)
        return card_fail(c, io, T0_ERR_STATE);
    if (!is_sw1((uint8_t)(sw >> 8)))
        return card_fail(c, io, T0_ERR_BAD_SW);
    if (len > APDU_NE_MAX || (len > 0 && data == NULL))
        return card_fail(c, io, T0_ERR_BAD_APDU);

    c->rdata = data;
    c->rlen = len;
    c->roff = 0;
    c->rsw = sw;
    c->pending = len > 0;
    c->la_pending = false;
    c->last_empty_ok = len == 0 && sw == 0x9000 && !c->outgoing;
    if (len == 0) {
        card_send_sw(c, sw, io);
        return T0_OK;
    }
    if (!c->outgoing) {
        /* Data cannot follow incoming data in one TPDU: announce it (case 4S). */
        card_send_sw(c, (uint16_t)(0x6100 | (len >= 256 ? 0 : len)), io);
        return T0_OK;
    }
    if (len < c->cmd.ne) {
        /* Case 2S.3: Le not accepted, La indicated; the re-issue is served from here. */
        c->la_pending = true;
        memcpy(c->la_hdr, c->hdr, 4);
        c->la = len;
        card_send_sw(c, (uint16_t)(0x6C00 | len), io);
        return T0_OK;
    }
    card_serve(c, c->cmd.ne, io);
    return T0_OK;
}

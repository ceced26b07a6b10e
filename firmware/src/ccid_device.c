#include "ccid_device.h"

#include <string.h>

#include "hal/board.h"
#include "hal/host_link.h"
#include "hal/timer.h"
#include "hawiya/wipe.h"

/* Messages without data go out of their own small buffer, so a response
 * window can fill tx meanwhile; the others are built in tx (their data may
 * already sit there, after the header). */
static void send_msg(struct ccid_device *d, const struct ccid_msg *m)
{
    size_t n;
    bool small =
        m->len == 0 && (m->type == CCID_RDR_TO_PC_DATA_BLOCK ||
                        m->type == CCID_RDR_TO_PC_SLOT_STATUS || m->type == CCID_RDR_TO_PC_ESCAPE);
    uint8_t *out = small ? d->tx_short : d->tx;
    size_t cap = small ? sizeof d->tx_short : sizeof d->tx;
    if (ccid_encode(m, out, cap, &n) == CCID_OK)
        hal_host_send(out, n);
}

enum ccid_icc_status ccid_device_icc_status(const struct ccid_device *d)
{
    return ccid_device_slot_status(d, CCID_SLOT_CONTACT);
}

enum ccid_icc_status ccid_device_slot_status(const struct ccid_device *d, uint8_t slot)
{
    if (slot == CCID_SLOT_CONTACTLESS) {
        switch (d->cl.state) {
        case CL_ACTIVE: return CCID_ICC_PRESENT_ACTIVE;
        case CL_PRESENT: return CCID_ICC_PRESENT_INACTIVE;
        default: return CCID_ICC_ABSENT;
        }
    }
    if (slot != CCID_SLOT_CONTACT)
        return CCID_ICC_ABSENT;
    switch (d->slot.state) {
    case SLOT_ACTIVE: return CCID_ICC_PRESENT_ACTIVE;
    case SLOT_INACTIVE: return CCID_ICC_PRESENT_INACTIVE;
    default: return CCID_ICC_ABSENT;
    }
}

static void reply_chain(struct ccid_device *d, const struct ccid_msg *req, uint8_t type, bool ok,
                        uint8_t berror, const uint8_t *data, size_t len, uint8_t chain)
{
    struct ccid_msg m = {.type = type, .slot = req->slot, .seq = req->seq};
    m.chain_parameter = chain;
    enum ccid_icc_status icc = ccid_device_slot_status(d, req->slot);
    m.status = ccid_status(icc, ok ? CCID_CMD_OK : CCID_CMD_FAILED);
    m.error = ok ? 0 : berror;
    m.data = data;
    m.len = (uint32_t)len;
    if (type == CCID_RDR_TO_PC_SLOT_STATUS)
        m.clock_status = icc == CCID_ICC_PRESENT_ACTIVE ? CCID_CLOCK_RUNNING : CCID_CLOCK_STOPPED_L;
    send_msg(d, &m);
}

static void reply(struct ccid_device *d, const struct ccid_msg *req, uint8_t type, bool ok,
                  uint8_t berror, const uint8_t *data, size_t len)
{
    reply_chain(d, req, type, ok, berror, data, len, CCID_CHAIN_BEGIN_END);
}

/* CCID 1.1 §6.2.6 names what went wrong with the card. */
static uint8_t slot_berror(enum slot_err e)
{
    switch (e) {
    case SLOT_ERR_MUTE:
    case SLOT_ERR_ABSENT:
    case SLOT_ERR_REMOVED:
    case SLOT_ERR_TIMEOUT: return CCID_BERROR_ICC_MUTE;
    case SLOT_ERR_BAD_TS: return CCID_BERROR_BAD_ATR_TS;
    case SLOT_ERR_BAD_TCK: return CCID_BERROR_BAD_ATR_TCK;
    case SLOT_ERR_BAD_ATR: return CCID_BERROR_BAD_ATR_TS;
    case SLOT_ERR_CLASS: return CCID_BERROR_ICC_CLASS_NOT_SUPPORTED;
    case SLOT_ERR_PROTOCOL:
    case SLOT_ERR_PPS: return CCID_BERROR_ICC_PROTOCOL_NOT_SUPPORTED;
    case SLOT_ERR_PARITY: return CCID_BERROR_XFR_PARITY_ERROR;
    case SLOT_ERR_PROCEDURE: return CCID_BERROR_PROCEDURE_BYTE_CONFLICT;
    case SLOT_ERR_RESPONSE_TOO_LONG: return CCID_BERROR_XFR_OVERRUN;
    case SLOT_ERR_INACTIVE:
    case SLOT_ERR_T1_DEAD: return CCID_BERROR_DEACTIVATED_PROTOCOL;
    case SLOT_ERR_T1_RESYNCHED: return CCID_BERROR_XFR_PARITY_ERROR;
    case SLOT_ERR_COMMAND_TOO_LONG: return 10; /* abData */
    case SLOT_OK: return 0;
    }
    return CCID_BERROR_HW_ERROR;
}

/* The host we serve is still there (no other took its place). */
static bool same_host(const struct ccid_device *d)
{
    return d->host_connected && hal_host_connected() && hal_host_attachments() == d->host_attach;
}

static uint8_t cl_berror(enum cl_err e)
{
    switch (e) {
    case CL_ERR_ABSENT:
    case CL_ERR_REMOVED:
    case CL_ERR_NO_FRONT_END: return CCID_BERROR_ICC_MUTE;
    case CL_ERR_ACTIVATION:
    case CL_ERR_NOT_ISO_DEP: return CCID_BERROR_ICC_PROTOCOL_NOT_SUPPORTED;
    case CL_ERR_TRANSMISSION: return CCID_BERROR_XFR_PARITY_ERROR;
    case CL_ERR_RESPONSE_TOO_LONG: return CCID_BERROR_XFR_OVERRUN;
    case CL_ERR_INACTIVE:
    case CL_ERR_PROTOCOL:
    case CL_ERR_WTX_LIMIT: return CCID_BERROR_DEACTIVATED_PROTOCOL;
    case CL_ERR_COMMAND_TOO_LONG: return 10; /* abData */
    case CL_OK: return 0;
    }
    return CCID_BERROR_HW_ERROR;
}

/* Called from the line driver while the card works (at least once a second). */
static bool on_tick(void *ctx, uint64_t waited_ns)
{
    struct ccid_device *d = ctx;
    if (!d->busy)
        return true;
    /* §6.2.6: bmCommandStatus "time extension", bError the multiplier. */
    struct ccid_msg m = {
        .type = CCID_RDR_TO_PC_DATA_BLOCK, .slot = d->busy_slot, .seq = d->busy_seq};
    uint8_t wtx = d->busy_slot == CCID_SLOT_CONTACTLESS ? d->cl.last_wtx : d->slot.last_wtx;
    m.status = ccid_status(ccid_device_slot_status(d, d->busy_slot), CCID_CMD_TIME_EXTENSION);
    m.error = wtx ? wtx : 1;
    send_msg(d, &m);
    d->time_extensions++;
    /* Nobody to answer any more: stop working the card for them. */
    return same_host(d);
}

void ccid_device_cl_limits(struct ccid_device *d, const struct cl_limits *lim)
{
    cl_slot_init(&d->cl, lim, on_tick, d);
}

void ccid_device_init(struct ccid_device *d, const struct slot_limits *lim)
{
    /* §5.1: the clocks and rates the slot really runs, as GET_CLOCK_FREQUENCIES
     * and GET_DATA_RATES (§5.3.2, §5.3.3) list them. */
    uint32_t clocks[SLOT_MAX_CLOCKS], rates[SLOT_MAX_RATES];
    size_t nclocks = slot_clocks_khz(lim, clocks), nrates = slot_data_rates(lim, rates);
    memset(d, 0, sizeof *d);
    slot_init(&d->slot, lim, on_tick, d);
    cl_slot_init(&d->cl, &(struct cl_limits){.max_rate = ISO14443_848, .fsdi = 8}, on_tick, d);
    d->desc = (struct ccid_descriptor){
        .bcd_ccid = 0x0110,
        .max_slot_index = CCID_DEVICE_MAX_SLOT_INDEX,
        .voltage_support = (uint8_t)(((lim->classes & (1u << SC_CLASS_A)) ? CCID_VOLTAGE_5V : 0) |
                                     ((lim->classes & (1u << SC_CLASS_B)) ? CCID_VOLTAGE_3V : 0) |
                                     ((lim->classes & (1u << SC_CLASS_C)) ? CCID_VOLTAGE_1V8 : 0)),
        .protocols = CCID_PROTOCOLS_T0 | CCID_PROTOCOLS_T1,
        .default_clock = SLOT_DEFAULT_CLOCK_KHZ,
        .maximum_clock = clocks[nclocks - 1],
        .num_clock_supported = (uint8_t)nclocks,
        .data_rate = SLOT_DEFAULT_DATA_RATE,
        .max_data_rate = rates[nrates - 1],
        .num_data_rates_supported = (uint8_t)nrates,
        .max_ifsd = lim->ifsd,
        .features = CCID_FEATURE_AUTO_PARAM_ATR | CCID_FEATURE_AUTO_VOLTAGE |
                    CCID_FEATURE_AUTO_CLOCK | CCID_FEATURE_AUTO_BAUD |
                    CCID_FEATURE_AUTO_PARAM_NEGOTIATE | CCID_FEATURE_AUTO_IFSD |
                    CCID_FEATURE_LEVEL_EXTENDED_APDU,
        .max_ccid_message_length = CCID_DEVICE_MAX_MESSAGE,
        .class_get_response = 0xFF,
        .class_envelope = 0xFF,
        .max_ccid_busy_slots = 1,
    };
}

/* A contactless card shows as T=1 (PC/SC Part 3): the frame waiting time
 * in place of BWI, the card's frame size less PCB and CRC as IFSC. */
static void cl_params(const struct ccid_device *d, struct ccid_params *p)
{
    const struct cl_slot *c = &d->cl;
    memset(p, 0, sizeof *p);
    p->protocol_num = 1;
    p->findex_dindex = 0x11;
    p->tccks = CCID_TCCKS_T1_BASE;
    uint8_t fwi = c->type == ISO14443_A ? c->a.ats.fwi : c->b.atqb.fwi;
    p->waiting_integer = (uint8_t)(fwi << 4);
    size_t inf = c->dep.cfg.fsc > 3 ? c->dep.cfg.fsc - 3 : 0;
    p->ifsc = (uint8_t)(inf > 254 ? 254 : inf);
}

static void current_params(const struct ccid_device *d, uint8_t slot, struct ccid_params *p)
{
    if (slot == CCID_SLOT_CONTACTLESS) {
        cl_params(d, p);
        return;
    }
    const struct slot *s = &d->slot;
    bool inverse = s->atr.convention == ATR_CONV_INVERSE;
    memset(p, 0, sizeof *p);
    p->protocol_num = s->protocol;
    p->findex_dindex = (uint8_t)(s->fi_code << 4 | s->di_code);
    p->guard_time = s->atr.n;
    p->clock_stop = (uint8_t)s->atr.clock_stop;
    if (s->protocol == 1) {
        p->tccks = (uint8_t)(CCID_TCCKS_T1_BASE | (inverse ? CCID_TCCKS_CONVENTION : 0) |
                             (s->t1.cfg.edc == T1_EDC_CRC ? CCID_TCCKS_T1_CRC : 0));
        p->waiting_integer = (uint8_t)(s->atr.bwi << 4 | s->atr.cwi);
        p->ifsc = s->t1.ifsc;
        p->nad = 0;
    } else {
        p->tccks = inverse ? CCID_TCCKS_CONVENTION : 0;
        p->waiting_integer = s->atr.wi;
    }
}

static void reply_params(struct ccid_device *d, const struct ccid_msg *req, bool ok, uint8_t berror)
{
    struct ccid_msg m = {.type = CCID_RDR_TO_PC_PARAMETERS, .slot = req->slot, .seq = req->seq};
    m.status =
        ccid_status(ccid_device_slot_status(d, req->slot), ok ? CCID_CMD_OK : CCID_CMD_FAILED);
    m.error = ok ? 0 : berror;
    current_params(d, req->slot, &m.params);
    send_msg(d, &m);
}

static enum sc_class power_class(uint8_t power_select)
{
    switch (power_select) {
    case CCID_POWER_5V: return SC_CLASS_A;
    case CCID_POWER_3V: return SC_CLASS_B;
    case CCID_POWER_1V8: return SC_CLASS_C;
    default: return SC_CLASS_OFF; /* automatic */
    }
}

/* The response window and the escape answers: tx after the header. */
#define WINDOW(d)     ((d)->tx + CCID_HEADER_SIZE)
#define WINDOW_CAP(d) (sizeof(d)->tx - CCID_HEADER_SIZE)

/* Where an exchange stands after a slot call: the answer that says so. */
static void xfr_answer(struct ccid_device *d, const struct ccid_msg *m, uint8_t berror,
                       const struct xfr *x)
{
    if (berror) {
        d->chain = CHAIN_IDLE;
        reply(d, m, CCID_RDR_TO_PC_DATA_BLOCK, false, berror, NULL, 0);
        return;
    }
    switch (x->state) {
    case XFR_NEED_COMMAND:
        d->chain = CHAIN_COMMAND;
        reply_chain(d, m, CCID_RDR_TO_PC_DATA_BLOCK, true, 0, NULL, 0,
                    CCID_CHAIN_EMPTY_EXPECT_MORE);
        break;
    case XFR_WINDOW:
        reply_chain(d, m, CCID_RDR_TO_PC_DATA_BLOCK, true, 0, WINDOW(d), x->len,
                    d->chain_windows ? CCID_CHAIN_CONTINUE : CCID_CHAIN_BEGIN);
        d->chain = CHAIN_RESPONSE;
        d->chain_windows = true;
        break;
    case XFR_DONE:
        reply_chain(d, m, CCID_RDR_TO_PC_DATA_BLOCK, true, 0, WINDOW(d), x->len,
                    d->chain_windows ? CCID_CHAIN_END : CCID_CHAIN_BEGIN_END);
        d->chain = CHAIN_IDLE;
        break;
    }
}

/* The card's side of a chained exchange, on the slot it runs on. */
static void chain_abort(struct ccid_device *d)
{
    if (d->chain == CHAIN_IDLE)
        return;
    if (d->chain_slot == CCID_SLOT_CONTACTLESS)
        cl_slot_xfr_abort(&d->cl);
    else
        slot_xfr_abort(&d->slot);
    d->chain = CHAIN_IDLE;
}

/* PC_to_RDR_XfrBlock at the extended APDU level: wLevelParameter says where
 * the message sits in the APDU's chain (§6.1.4). */
static void xfr_block(struct ccid_device *d, const struct ccid_msg *m)
{
    struct xfr x = {.state = XFR_DONE};
    uint16_t level = m->level_parameter;
    bool more = level == CCID_CHAIN_BEGIN || level == CCID_CHAIN_CONTINUE;
    bool cl = m->slot == CCID_SLOT_CONTACTLESS;
    enum { BEGIN, COMMAND, NEXT } op;
    if (d->chain != CHAIN_IDLE && m->slot != d->chain_slot)
        chain_abort(d); /* another slot's exchange: the chain is broken */
    switch (d->chain) {
    case CHAIN_IDLE:
        if (level != CCID_CHAIN_BEGIN_END && level != CCID_CHAIN_BEGIN)
            goto broken;
        op = BEGIN;
        break;
    case CHAIN_COMMAND:
        if (level != CCID_CHAIN_CONTINUE && level != CCID_CHAIN_END)
            goto broken;
        op = COMMAND;
        break;
    case CHAIN_RESPONSE:
    default:
        if (level != CCID_CHAIN_EMPTY_EXPECT_MORE || m->len != 0)
            goto broken;
        op = NEXT;
        break;
    }
    if (op == BEGIN) {
        d->chain_slot = m->slot;
        d->chain_windows = false;
    }
    uint8_t berror;
    if (cl) {
        if (op == BEGIN)
            d->cl.last_wtx = 0;
        enum cl_err e = op == BEGIN ? cl_slot_xfr_begin(&d->cl, m->data, m->len, more, WINDOW(d),
                                                        WINDOW_CAP(d), &x)
                        : op == COMMAND ? cl_slot_xfr_command(&d->cl, m->data, m->len, more, &x)
                                        : cl_slot_xfr_next(&d->cl, &x);
        berror = cl_berror(e);
    } else {
        if (op == BEGIN)
            d->slot.last_wtx = 0;
        enum slot_err e = op == BEGIN ? slot_xfr_begin(&d->slot, m->data, m->len, more, WINDOW(d),
                                                       WINDOW_CAP(d), &x)
                          : op == COMMAND ? slot_xfr_command(&d->slot, m->data, m->len, more, &x)
                                          : slot_xfr_next(&d->slot, &x);
        berror = slot_berror(e);
    }
    xfr_answer(d, m, berror, &x);
    return;
broken:
    /* A chain broken by the host: the card's exchange is given up too.
     * bError names wLevelParameter, at offset 8. */
    chain_abort(d);
    reply(d, m, CCID_RDR_TO_PC_DATA_BLOCK, false, 8, NULL, 0);
}

static void handle_contact(struct ccid_device *d, const struct ccid_msg *m)
{
    enum slot_err e;
    switch (m->type) {
    case CCID_PC_TO_RDR_ICC_POWER_ON:
        e = slot_power_on(&d->slot, power_class(m->power_select));
        if (e == SLOT_OK)
            reply(d, m, CCID_RDR_TO_PC_DATA_BLOCK, true, 0, d->slot.atr.raw, d->slot.atr.len);
        else
            reply(d, m, CCID_RDR_TO_PC_DATA_BLOCK, false, slot_berror(e), NULL, 0);
        break;
    case CCID_PC_TO_RDR_ICC_POWER_OFF:
        slot_power_off(&d->slot);
        reply(d, m, CCID_RDR_TO_PC_SLOT_STATUS, true, 0, NULL, 0);
        break;
    case CCID_PC_TO_RDR_XFR_BLOCK: xfr_block(d, m); break;
    case CCID_PC_TO_RDR_GET_PARAMETERS:
    case CCID_PC_TO_RDR_RESET_PARAMETERS:
        reply_params(d, m, d->slot.state == SLOT_ACTIVE, CCID_BERROR_ICC_MUTE);
        break;
    case CCID_PC_TO_RDR_SET_PARAMETERS:
        /* The reader negotiated the parameters itself (automatic PPS); it
         * accepts a request for the protocol in force and reports what is. */
        if (d->slot.state != SLOT_ACTIVE)
            reply_params(d, m, false, CCID_BERROR_ICC_MUTE);
        else
            reply_params(d, m, m->params.protocol_num == d->slot.protocol, 7);
        break;
    case CCID_PC_TO_RDR_SET_DATA_RATE_AND_CLOCK_FREQUENCY: {
        struct ccid_msg r = {
            .type = CCID_RDR_TO_PC_DATA_RATE_AND_CLOCK_FREQUENCY, .slot = m->slot, .seq = m->seq};
        r.status = ccid_status(ccid_device_icc_status(d), CCID_CMD_OK);
        r.clock_frequency = d->slot.line.clk_hz / 1000;
        r.data_rate =
            d->slot.fi ? (uint32_t)((uint64_t)d->slot.line.clk_hz * d->slot.di / d->slot.fi) : 0;
        send_msg(d, &r);
        break;
    }
    default:
        /* T0APDU, Secure, Mechanical: not supported (bError 0, §6.2.6). */
        reply(d, m, CCID_RDR_TO_PC_SLOT_STATUS, false, CCID_BERROR_CMD_NOT_SUPPORTED, NULL, 0);
        break;
    }
}

static void handle_contactless(struct ccid_device *d, const struct ccid_msg *m)
{
    enum cl_err e;
    bool active = d->cl.state == CL_ACTIVE;
    switch (m->type) {
    case CCID_PC_TO_RDR_ICC_POWER_ON:
        /* No voltage to choose: the field powers the card. */
        e = cl_slot_power_on(&d->cl);
        if (e == CL_OK)
            reply(d, m, CCID_RDR_TO_PC_DATA_BLOCK, true, 0, d->cl.atr, d->cl.atr_len);
        else
            reply(d, m, CCID_RDR_TO_PC_DATA_BLOCK, false, cl_berror(e), NULL, 0);
        break;
    case CCID_PC_TO_RDR_ICC_POWER_OFF:
        cl_slot_power_off(&d->cl);
        reply(d, m, CCID_RDR_TO_PC_SLOT_STATUS, true, 0, NULL, 0);
        break;
    case CCID_PC_TO_RDR_XFR_BLOCK: xfr_block(d, m); break;
    case CCID_PC_TO_RDR_GET_PARAMETERS:
    case CCID_PC_TO_RDR_RESET_PARAMETERS: reply_params(d, m, active, CCID_BERROR_ICC_MUTE); break;
    case CCID_PC_TO_RDR_SET_PARAMETERS:
        reply_params(d, m, active && m->params.protocol_num == 1,
                     active ? 7 : CCID_BERROR_ICC_MUTE);
        break;
    default:
        reply(d, m, CCID_RDR_TO_PC_SLOT_STATUS, false, CCID_BERROR_CMD_NOT_SUPPORTED, NULL, 0);
        break;
    }
}

static void handle(struct ccid_device *d, const struct ccid_msg *m)
{
    if (m->slot > CCID_DEVICE_MAX_SLOT_INDEX) {
        /* §6.2.6: bError is the offset of the bad field, bSlot at 5. */
        reply(d, m, CCID_RDR_TO_PC_SLOT_STATUS, false, 5, NULL, 0);
        return;
    }
    d->busy = true;
    d->busy_seq = m->seq;
    d->busy_slot = m->slot;
    if (m->type != CCID_PC_TO_RDR_XFR_BLOCK)
        chain_abort(d); /* anything else in the middle of a chained APDU ends it */
    switch (m->type) {
    case CCID_PC_TO_RDR_GET_SLOT_STATUS:
    case CCID_PC_TO_RDR_ICC_CLOCK:
    case CCID_PC_TO_RDR_ABORT: reply(d, m, CCID_RDR_TO_PC_SLOT_STATUS, true, 0, NULL, 0); break;
    case CCID_PC_TO_RDR_ESCAPE: {
        /* the reader's own commands, whichever slot the message names */
        size_t n = 0;
        int r = d->escape
                    ? d->escape(d->escape_ctx, d, m->data, m->len, WINDOW(d), WINDOW_CAP(d), &n)
                    : CCID_BERROR_CMD_NOT_SUPPORTED;
        reply(d, m, CCID_RDR_TO_PC_ESCAPE, r < 0, (uint8_t)(r < 0 ? 0 : r), WINDOW(d),
              r < 0 ? n : 0);
        break;
    }
    default:
        if (m->slot == CCID_SLOT_CONTACTLESS)
            handle_contactless(d, m);
        else
            handle_contact(d, m);
        break;
    }
    d->busy = false;
}

/* §6.3.1: every slot's presence, and which changed. */
static void notify_slot(struct ccid_device *d, bool contact, bool contactless)
{
    struct ccid_interrupt it = {.type = CCID_RDR_TO_PC_NOTIFY_SLOT_CHANGE,
                                .nslots = CCID_DEVICE_SLOTS};
    uint8_t buf[8];
    size_t n;
    ccid_slot_state_set(&it, CCID_SLOT_CONTACT, d->slot.state != SLOT_ABSENT, contact);
    ccid_slot_state_set(&it, CCID_SLOT_CONTACTLESS, d->cl.state != CL_ABSENT, contactless);
    if (ccid_encode_interrupt(&it, buf, sizeof buf, &n) == CCID_OK)
        hal_host_notify(buf, n);
}

/* The host went away: its card session and its bytes go with it. */
static void host_reset(struct ccid_device *d)
{
    d->chain = CHAIN_IDLE;
    slot_power_off(&d->slot); /* ends an exchange paused between messages too */
    cl_slot_power_off(&d->cl);
    wipe(d->rx, sizeof d->rx);
    d->rx_len = 0;
    d->busy = false;
    d->host_connected = false;
    if (d->host_gone)
        d->host_gone(d->escape_ctx, d);
}

/* A malformed message still gets an answer with its bSeq, naming the bad byte. */
static void reject(struct ccid_device *d, const uint8_t *raw, size_t len, enum ccid_err e,
                   size_t bad_offset)
{
    struct ccid_msg req = {.slot = len > 5 ? raw[5] : 0, .seq = len > 6 ? raw[6] : 0};
    uint8_t berror = e == CCID_ERR_UNKNOWN_TYPE ? CCID_BERROR_CMD_NOT_SUPPORTED
                                                : (uint8_t)(bad_offset < 0x80 ? bad_offset : 1);
    reply(d, &req, CCID_RDR_TO_PC_SLOT_STATUS, false, berror ? berror : 0, NULL, 0);
}

void ccid_device_poll(struct ccid_device *d)
{
    bool changed, cl_changed;
    slot_poll(&d->slot, &changed);
    cl_slot_poll(&d->cl, &cl_changed);
    if ((changed || cl_changed) && d->host_connected)
        notify_slot(d, changed, cl_changed);

    /* A host that left without a word (its link failed under a send, or
     * another attached in its place) is gone all the same. */
    if (d->host_connected && !same_host(d))
        host_reset(d);
    if (!d->host_connected && hal_host_connected()) {
        d->host_connected = true;
        d->host_attach = hal_host_attachments();
        /* §6.3.1: tell a new host at once whether a card is in. */
        notify_slot(d, true, true);
    }

    size_t got;
    enum host_rx r = hal_host_recv(d->rx + d->rx_len, sizeof d->rx - d->rx_len, &got);
    if (r == HOST_RX_CLOSED) {
        /* The host went away (USB reset): the card goes down with it. */
        host_reset(d);
        return;
    }
    if (r != HOST_RX_OK)
        return;
    d->rx_len += got;

    for (;;) {
        size_t n;
        enum ccid_err e = ccid_frame(d->rx, d->rx_len, sizeof d->rx, &n);
        if (e == CCID_ERR_NEED_MORE)
            return;
        if (e != CCID_OK) {
            /* A length we can never hold: answer and drop what we have. */
            reject(d, d->rx, d->rx_len, e, 1);
            wipe(d->rx, d->rx_len);
            d->rx_len = 0;
            return;
        }
        struct ccid_msg m;
        size_t bad = 0;
        e = ccid_decode(d->rx, n, sizeof d->rx, &m, &bad);
        if (e == CCID_OK && ccid_is_pc_to_rdr(m.type))
            handle(d, &m);
        else
            reject(d, d->rx, n, e == CCID_OK ? CCID_ERR_UNKNOWN_TYPE : e, bad);
        memmove(d->rx, d->rx + n, d->rx_len - n);
        d->rx_len -= n;
        wipe(d->rx + d->rx_len, n); /* the message (an escape may carry a CAN) */
    }
}

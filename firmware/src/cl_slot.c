#include "cl_slot.h"

#include <stdio.h>
#include <string.h>

#include "hal/timer.h"

static const unsigned kbps[4] = {106, 212, 424, 848};

const char *cl_err_str(enum cl_err e)
{
    switch (e) {
    case CL_OK: return "CL_OK";
    case CL_ERR_NO_FRONT_END: return "CL_ERR_NO_FRONT_END";
    case CL_ERR_ABSENT: return "CL_ERR_ABSENT";
    case CL_ERR_REMOVED: return "CL_ERR_REMOVED";
    case CL_ERR_INACTIVE: return "CL_ERR_INACTIVE";
    case CL_ERR_ACTIVATION: return "CL_ERR_ACTIVATION";
    case CL_ERR_NOT_ISO_DEP: return "CL_ERR_NOT_ISO_DEP";
    case CL_ERR_TRANSMISSION: return "CL_ERR_TRANSMISSION";
    case CL_ERR_PROTOCOL: return "CL_ERR_PROTOCOL";
    case CL_ERR_WTX_LIMIT: return "CL_ERR_WTX_LIMIT";
    case CL_ERR_RESPONSE_TOO_LONG: return "CL_ERR_RESPONSE_TOO_LONG";
    case CL_ERR_COMMAND_TOO_LONG: return "CL_ERR_COMMAND_TOO_LONG";
    }
    return "CL_ERR_UNKNOWN";
}

void cl_slot_init(struct cl_slot *s, const struct cl_limits *lim, line_tick_fn tick, void *tick_ctx)
{
    memset(s, 0, sizeof *s);
    s->lim = *lim;
    if (s->lim.fsdi > 8)
        s->lim.fsdi = 8; /* our frames stop at ISODEP_FRAME_MAX */
    /* CCID 1.1 §6.2: the host hears from the reader at least every second. */
    rf_link_init(&s->link, tick, tick_ctx, 1000000000ull);
    s->state = CL_ABSENT;
}

/* The fastest rate both the front end and our limits allow. */
static unsigned max_rate(const struct cl_slot *s)
{
    unsigned r = s->lim.max_rate > ISO14443_848 ? ISO14443_848 : s->lim.max_rate;
    while (r > ISO14443_106 && !(s->link.caps.rates & (1u << r)))
        r--;
    return r;
}

static void field_off(struct cl_slot *s)
{
    rf_link_field(&s->link, false);
    s->activated = false;
    s->fresh = false;
    s->xfr_paused = false;
}

/* Runs one type's activation machine; *found says whether a card answered. */
static enum cl_err run_activation(struct cl_slot *s, enum iso14443_type t, bool *found)
{
    struct iso14443_act act;
    *found = false;
    rf_link_configure(&s->link, t, ISO14443_106, ISO14443_106);
    if (t == ISO14443_A) {
        struct iso14443a_pcd_config c = {.wakeup = true,
                                         .iso_dep = true,
                                         .fsdi = s->lim.fsdi,
                                         .cid = 0,
                                         .max_rate = max_rate(s)};
        iso14443a_pcd_begin(&s->a, &c, &act);
    } else {
        struct iso14443b_pcd_config c = {
            .wakeup = true, .afi = 0, .fsdi = s->lim.fsdi, .cid = 0, .max_rate = max_rate(s)};
        iso14443b_pcd_begin(&s->b, &c, &act);
    }
    while (act.kind == ISO14443_ACT_SEND) {
        struct iso14443_rx rx;
        if (act.tx_rate != s->link.tx_rate || act.rx_rate != s->link.rx_rate)
            rf_link_configure(&s->link, t, act.tx_rate, act.rx_rate);
        rf_link_xfer(&s->link, &act.tx, s->rx, sizeof s->rx, &rx);
        if (t == ISO14443_A)
            iso14443a_pcd_step(&s->a, &rx, &act);
        else
            iso14443b_pcd_step(&s->b, &rx, &act);
    }
    if (act.kind == ISO14443_ACT_NO_CARD)
        return CL_OK;
    if (act.kind == ISO14443_ACT_ERROR) {
        s->last_act_err = act.err;
        return act.err == ISO14443_ERR_NO_ANSWER ? CL_ERR_REMOVED : CL_ERR_ACTIVATION;
    }
    if (t == ISO14443_A && !(s->a.sak & ISO14443A_SAK_ISO_DEP)) {
        iso14443a_pcd_hlta(&s->a, &act);
        struct iso14443_rx rx;
        rf_link_xfer(&s->link, &act.tx, s->rx, sizeof s->rx, &rx);
        return CL_ERR_NOT_ISO_DEP;
    }

    /* The block protocol with what activation agreed (14443-4 5.2, 14443-3 7.9). */
    s->type = t;
    s->dri = act.tx_rate;
    s->dsi = act.rx_rate;
    rf_link_configure(&s->link, t, s->dri, s->dsi);
    if (act.tx.guard_ns)
        hal_delay_ns(act.tx.guard_ns); /* SFGT */
    struct isodep_config dc = {.fsd = iso14443_fs(s->lim.fsdi), .cid = 0};
    uint8_t fwi;
    enum pcsc_atr_err ae;
    if (t == ISO14443_A) {
        dc.fsc = iso14443_fs(s->a.ats.fsci);
        fwi = s->a.ats.fwi;
        memcpy(s->uid, s->a.uid, s->a.uid_len);
        s->uid_len = s->a.uid_len;
        ae = pcsc_atr_from_ats(s->a.ats.raw + s->a.ats.hist_off, s->a.ats.hist_len, s->atr,
                               sizeof s->atr, &s->atr_len);
    } else {
        dc.fsc = iso14443_fs(s->b.atqb.fsci);
        fwi = s->b.atqb.fwi;
        memcpy(s->uid, s->b.atqb.pupi, 4);
        s->uid_len = 4;
        ae = pcsc_atr_from_atqb(s->b.atqb.app_data, s->b.atqb.proto, s->b.mbli, s->atr,
                                sizeof s->atr, &s->atr_len);
    }
    dc.fwt_ns = iso14443_fwt_ns(fwi);
    if (ae != PCSC_ATR_OK || isodep_pcd_init(&s->dep, &dc) != ISODEP_OK)
        return CL_ERR_ACTIVATION;
    *found = true;
    return CL_OK;
}

/* Field on, Type A and Type B in turn (the first one alternating from one
 * poll to the next), the card found activated; the field goes off when
 * nobody answers. */
static enum cl_err activate(struct cl_slot *s)
{
    uint64_t t0 = hal_now_ns();
    if (!s->link.field) {
        rf_link_field(&s->link, true);
        hal_delay_ns(CL_FIELD_SETTLE_NS);
    }
    for (int i = 0; i < 2; i++) {
        enum iso14443_type t = (i == 0) != s->b_first ? ISO14443_A : ISO14443_B;
        bool found;
        enum cl_err e = run_activation(s, t, &found);
        if (e != CL_OK) {
            field_off(s);
            return e;
        }
        if (found) {
            s->activated = s->fresh = true;
            s->activation_ns = hal_now_ns() - t0;
            return CL_OK;
        }
    }
    s->b_first = !s->b_first;
    field_off(s);
    return CL_ERR_ABSENT;
}

/* Runs the block protocol from its first action until it ends. */
static enum cl_err run_dep(struct cl_slot *s, struct isodep_action *act)
{
    for (;;) {
        switch (act->kind) {
        case ISODEP_ACT_DONE:
        case ISODEP_ACT_DESELECTED:
        case ISODEP_ACT_NEED_DATA:
        case ISODEP_ACT_WINDOW: return CL_OK;
        case ISODEP_ACT_ERROR:
            switch (act->err) {
            case ISODEP_ERR_TIMEOUT: return CL_ERR_REMOVED;
            case ISODEP_ERR_TRANSMISSION: return CL_ERR_TRANSMISSION;
            case ISODEP_ERR_WTX_LIMIT: return CL_ERR_WTX_LIMIT;
            case ISODEP_ERR_RESPONSE_TOO_LONG: return CL_ERR_RESPONSE_TOO_LONG;
            default: return CL_ERR_PROTOCOL;
            }
        case ISODEP_ACT_SEND: break;
        default: return CL_ERR_PROTOCOL;
        }
        if (act->wtxm)
            s->last_wtx = act->wtxm;
        struct iso14443_tx tx = {.data = act->block,
                                 .bits = 8 * act->block_len,
                                 .crc = true,
                                 .timeout_ns = act->wait_ns};
        struct iso14443_rx rx;
        rf_link_xfer(&s->link, &tx, s->rx, sizeof s->rx, &rx);
        struct isodep_event ev = {.kind = ISODEP_EV_ERROR};
        if (rx.kind == ISO14443_RX_FRAME && rx.bits % 8 == 0)
            ev =
                (struct isodep_event){.kind = ISODEP_EV_BLOCK, .data = rx.data, .len = rx.bits / 8};
        else if (rx.kind == ISO14443_RX_TIMEOUT)
            ev.kind = ISODEP_EV_TIMEOUT;
        isodep_pcd_step(&s->dep, &ev, act);
    }
}

/* The card has gone: the field goes off and the host is told. */
static void lost(struct cl_slot *s)
{
    field_off(s);
    s->state = CL_ABSENT;
    s->notify = true;
    s->next_ns = hal_now_ns() + CL_POLL_NS;
}

static bool still_there(struct cl_slot *s)
{
    struct isodep_action act;
    if (isodep_pcd_presence_begin(&s->dep, &act) != ISODEP_OK)
        return false;
    return run_dep(s, &act) == CL_OK;
}

enum cl_state cl_slot_poll(struct cl_slot *s, bool *changed)
{
    *changed = false;
    if (!rf_link_present(&s->link))
        return CL_ABSENT;
    uint64_t now = hal_now_ns();
    if (s->notify) {
        s->notify = false;
        *changed = true;
    }
    if (now < s->next_ns || s->xfr_paused)
        return s->state;
    if (s->state == CL_ABSENT) {
        s->next_ns = now + CL_POLL_NS;
        if (activate(s) == CL_OK) {
            s->state = CL_PRESENT;
            s->taps++;
            *changed = true;
        }
        return s->state;
    }
    s->next_ns = now + CL_PRESENCE_NS;
    if (s->activated) {
        if (!still_there(s)) {
            lost(s);
            s->notify = false;
            *changed = true;
        }
        return s->state;
    }
    /* Powered off by the host: is it (the same card) still in the field? */
    uint8_t uid[ISO14443A_UID_MAX];
    size_t uid_len = s->uid_len;
    memcpy(uid, s->uid, uid_len);
    if (activate(s) != CL_OK) {
        lost(s);
        s->notify = false;
        *changed = true;
        return s->state;
    }
    s->state = CL_PRESENT;
    if (uid_len != s->uid_len || memcmp(uid, s->uid, uid_len) != 0) {
        s->taps++;
        *changed = true; /* another card was tapped in between */
    }
    return s->state;
}

enum cl_err cl_slot_power_on(struct cl_slot *s)
{
    if (!rf_link_present(&s->link))
        return CL_ERR_NO_FRONT_END;
    rf_link_tick_restart(&s->link);
    /* A card kept activated since the last poll may have been swapped for
     * another in between: one presence check before it is handed over. */
    if (s->activated && s->fresh && !still_there(s))
        s->fresh = false;
    if (!(s->activated && s->fresh)) {
        if (s->activated) {
            /* a used card starts again from nothing: deselected, unpowered */
            struct isodep_action act;
            if (isodep_pcd_deselect_begin(&s->dep, &act) == ISODEP_OK)
                run_dep(s, &act);
            field_off(s);
            hal_delay_ns(CL_FIELD_RESET_NS);
        }
        bool was_absent = s->state == CL_ABSENT;
        enum cl_err e = activate(s);
        if (e != CL_OK) {
            if (!was_absent)
                lost(s);
            return was_absent && e == CL_ERR_ABSENT ? CL_ERR_ABSENT
                   : e == CL_ERR_ABSENT             ? CL_ERR_REMOVED
                                                    : e;
        }
        if (was_absent) {
            s->taps++;
            s->notify = true;
        }
    }
    s->fresh = false;
    s->state = CL_ACTIVE;
    s->next_ns = hal_now_ns() + CL_PRESENCE_NS;
    return CL_OK;
}

void cl_slot_power_off(struct cl_slot *s)
{
    if (s->activated) {
        struct isodep_action act;
        if (isodep_pcd_deselect_begin(&s->dep, &act) == ISODEP_OK)
            run_dep(s, &act);
    }
    field_off(s);
    if (s->state == CL_ACTIVE)
        s->state = CL_PRESENT;
    /* Whether the card is still there, the next poll says. */
    s->next_ns = hal_now_ns();
}

static enum cl_err exchange_start(struct cl_slot *s)
{
    if (!rf_link_present(&s->link))
        return CL_ERR_NO_FRONT_END;
    if (s->state == CL_ABSENT)
        return CL_ERR_ABSENT;
    if (s->state != CL_ACTIVE || !s->activated)
        return CL_ERR_INACTIVE;
    rf_link_tick_restart(&s->link);
    return CL_OK;
}

/* After an exchange (or a part of one): a card gone or a broken protocol
 * takes the card down. */
static enum cl_err exchange_end(struct cl_slot *s, enum cl_err e)
{
    if (e == CL_OK) {
        s->next_ns = hal_now_ns() + CL_PRESENCE_NS;
        return CL_OK;
    }
    s->xfr_paused = false;
    if (e == CL_ERR_REMOVED) {
        lost(s);
    } else {
        /* 14443-4 7.5.6: the card's state is unknown; it starts again */
        field_off(s);
        s->state = CL_PRESENT;
        s->next_ns = hal_now_ns();
    }
    return e;
}

enum cl_err cl_slot_transmit(struct cl_slot *s, const uint8_t *apdu, size_t len, uint8_t *resp,
                             size_t cap, size_t *rlen)
{
    *rlen = 0;
    enum cl_err e = exchange_start(s);
    if (e != CL_OK)
        return e;
    struct isodep_action act;
    if (isodep_pcd_transceive_begin(&s->dep, apdu, len, resp, cap, &act) != ISODEP_OK)
        return CL_ERR_COMMAND_TOO_LONG;
    e = exchange_end(s, run_dep(s, &act));
    if (e == CL_OK)
        *rlen = act.apdu_len;
    return e;
}

/* Runs a streamed exchange to its next pause or its end. */
static enum cl_err xfr_run(struct cl_slot *s, struct xfr *x)
{
    enum cl_err e = run_dep(s, &s->xfr_act);
    s->xfr_paused = false;
    if (e == CL_OK) {
        x->len = s->xfr_act.apdu_len;
        switch (s->xfr_act.kind) {
        case ISODEP_ACT_NEED_DATA:
            x->state = XFR_NEED_COMMAND;
            s->xfr_paused = true;
            break;
        case ISODEP_ACT_WINDOW:
            x->state = XFR_WINDOW;
            s->xfr_paused = true;
            break;
        default: x->state = XFR_DONE; break;
        }
    }
    return exchange_end(s, e);
}

enum cl_err cl_slot_xfr_begin(struct cl_slot *s, const uint8_t *part, size_t n, bool more,
                              uint8_t *win, size_t cap, struct xfr *x)
{
    *x = (struct xfr){.state = XFR_DONE};
    s->xfr_paused = false;
    enum cl_err e = exchange_start(s);
    if (e != CL_OK)
        return e;
    if (isodep_pcd_stream_begin(&s->dep, part, n, more, win, cap, &s->xfr_act) != ISODEP_OK)
        return CL_ERR_COMMAND_TOO_LONG;
    return xfr_run(s, x);
}

enum cl_err cl_slot_xfr_command(struct cl_slot *s, const uint8_t *part, size_t n, bool more,
                                struct xfr *x)
{
    enum cl_err e = exchange_start(s);
    if (e != CL_OK)
        return e;
    if (!s->xfr_paused || isodep_pcd_stream_more(&s->dep, part, n, more, &s->xfr_act) != ISODEP_OK)
        return CL_ERR_COMMAND_TOO_LONG;
    return xfr_run(s, x);
}

enum cl_err cl_slot_xfr_next(struct cl_slot *s, struct xfr *x)
{
    enum cl_err e = exchange_start(s);
    if (e != CL_OK)
        return e;
    if (!s->xfr_paused || isodep_pcd_window_next(&s->dep, &s->xfr_act) != ISODEP_OK)
        return CL_ERR_RESPONSE_TOO_LONG;
    return xfr_run(s, x);
}

void cl_slot_xfr_abort(struct cl_slot *s)
{
    if (!s->xfr_paused)
        return;
    s->xfr_paused = false;
    cl_slot_power_off(s);
}

void cl_slot_describe(const struct cl_slot *s, char *buf, size_t cap)
{
    char uid[2 * ISO14443A_UID_MAX + 1];
    for (size_t i = 0; i < s->uid_len; i++)
        snprintf(uid + 2 * i, 3, "%02X", s->uid[i]);
    uid[2 * s->uid_len] = '\0';
    snprintf(buf, cap, "contactless Type %c %u/%u kbit/s FSC %u %s %s",
             s->type == ISO14443_A ? 'A' : 'B', kbps[s->dri & 3], kbps[s->dsi & 3],
             (unsigned)s->dep.cfg.fsc, s->type == ISO14443_A ? "UID" : "PUPI", uid);
}

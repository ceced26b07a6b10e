/*
 * The sim backend: one ccid_link per reader to the sim board's host-link
 * socket (boards/sim). Card presence comes from RDR_to_PC_NotifySlotChange
 * (USB CCID 1.1 §6.3.1), which the board sends when the host connects and on
 * every insertion or removal.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "backend.h"
#include "ccid_link.h"
#include "hawiya-verify.h"
#include "hawiya/hex.h"
#include "hawiya/reader_escape.h"
#include "reader_session.h"
#include "hawiya/tlv.h"
#include "hawiya/wipe.h"

struct sim_reader {
    struct bridge_reader_config cfg;
    struct ccid_link link;
    bool active;
    /* The reader's last report (the evidence): this reader's worker only, so
     * readers authenticate side by side without sharing it. */
    uint8_t report[CCID_MAX_MESSAGE_SIZE];
};

static void *sim_create(const struct bridge_reader_config *cfg)
{
    struct sim_reader *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->cfg = *cfg;
    s->link.fd = -1;
    return s;
}

static void sim_destroy(void *r)
{
    struct sim_reader *s = r;
    if (s)
        ccid_link_close(&s->link);
    free(s);
}

static int sim_connect(void *r, char *why, size_t cap)
{
    struct sim_reader *s = r;
    if (ccid_link_open(&s->link, s->cfg.path) != CCID_LINK_OK) {
        snprintf(why, cap, "connect %s: %s", s->cfg.path, strerror(errno));
        return -1;
    }
    s->active = false;
    return s->link.fd;
}

static void sim_disconnect(void *r)
{
    struct sim_reader *s = r;
    ccid_link_close(&s->link);
    s->link.card_present = false;
    s->active = false;
}

static enum bridge_monitor sim_monitor(void *r)
{
    struct sim_reader *s = r;
    if (s->link.fd < 0)
        return BRIDGE_MONITOR_BROKEN;
    char c;
    ssize_t k = recv(s->link.fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (k == 0 || (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
        return BRIDGE_MONITOR_BROKEN;
    bool was = s->link.card_present;
    uint64_t before = s->link.notifications;
    while (ccid_link_wait_notify(&s->link, 0))
        ;
    /* Anything left must be the start of a message; garbage means a broken link. */
    if (s->link.in_len > 0) {
        size_t n;
        enum ccid_err e = ccid_frame(s->link.in, s->link.in_len, sizeof s->link.in, &n);
        if (e != CCID_OK && e != CCID_ERR_NEED_MORE)
            return BRIDGE_MONITOR_BROKEN;
    }
    /* A removal, even one followed by an insertion, ends the powered session. */
    if (s->link.notifications != before && (was != s->link.card_present || s->link.present_changed))
        s->active = false;
    return BRIDGE_MONITOR_OK;
}

static bool sim_card_present(void *r)
{
    return ((struct sim_reader *)r)->link.card_present;
}

static bool sim_card_active(void *r)
{
    struct sim_reader *s = r;
    return s->link.card_present && s->active;
}

static bool field(const uint8_t *p, size_t n, uint32_t tag, struct tlv *t)
{
    return tlv_find(p, n, tag, t) == TLV_OK;
}

/* The named errors of the reader's report, as the bridge's error codes. */
static enum bridge_err report_error(const char *name)
{
    if (!strcmp(name, "SLOT_ERR_REMOVED") || !strcmp(name, "SLOT_ERR_ABSENT"))
        return BRIDGE_ERR_CARD_REMOVED;
    if (!strcmp(name, "PACE_ERR_TOKEN_MISMATCH") || !strcmp(name, "PACE_ERR_TOKEN_REJECTED") ||
        !strcmp(name, "EMRTD_ERR_BAC"))
        return BRIDGE_ERR_CARD_AUTH_FAILED;
    if (!strncmp(name, "SLOT_ERR_", 9) || !strncmp(name, "ATTEST_", 7) ||
        !strncmp(name, "RESC_", 5))
        return BRIDGE_ERR_READER_ERROR;
    return BRIDGE_ERR_CARD_ERROR;
}

enum bridge_err bridge_assertion_from_report(const uint8_t *r, size_t n,
                                             const struct bridge_auth *a,
                                             struct bridge_auth_result *res)
{
    struct tlv t;
    struct hv_evidence ev = {.challenge = {a->challenge, a->challenge_len}, .origin = a->origin};
    static const struct {
        uint32_t tag;
        size_t off;
    } files[] = {
        {RESC_T_EF_COM, offsetof(struct hv_evidence, ef_com)},
        {RESC_T_DG1, offsetof(struct hv_evidence, dg1)},
        {RESC_T_DG11, offsetof(struct hv_evidence, dg11)},
        {RESC_T_DG14, offsetof(struct hv_evidence, dg14)},
        {RESC_T_DG15, offsetof(struct hv_evidence, dg15)},
        {RESC_T_EF_SOD, offsetof(struct hv_evidence, ef_sod)},
        {RESC_T_EF_CARDACCESS, offsetof(struct hv_evidence, ef_cardaccess)},
        {RESC_T_AA_SIGNATURE, offsetof(struct hv_evidence, aa_signature)},
        {RESC_T_READER_CRT, offsetof(struct hv_evidence, reader_certificate)},
        {RESC_T_SIGNATURE, offsetof(struct hv_evidence, reader_signature)},
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        if (field(r, n, files[i].tag, &t))
            *(struct hv_bytes *)((char *)&ev + files[i].off) = (struct hv_bytes){t.value, t.len};
    if (!field(r, n, RESC_T_READER_CRT, &t)) {
        snprintf(res->detail, sizeof res->detail,
                 "the reader has no device certificate: it was never provisioned");
        return BRIDGE_ERR_READER_ERROR;
    }
    char id[72] = "";
    if (field(r, n, RESC_T_READER_ID, &t) && t.len > 0 && t.len < sizeof id) {
        memcpy(id, t.value, t.len);
        id[t.len] = '\0';
    }
    ev.reader_id = id;
    if (field(r, n, RESC_T_COUNTER, &t) && t.len == 8)
        for (size_t i = 0; i < 8; i++)
            ev.counter = ev.counter << 8 | t.value[i];
    enum hv_err e = hv_assertion_build(&ev, &res->assertion_json);
    if (e != HV_OK) {
        snprintf(res->detail, sizeof res->detail, "the reader's evidence is incomplete: %s",
                 hv_err_str(e));
        return BRIDGE_ERR_READER_ERROR;
    }
    return BRIDGE_OK;
}

struct step_ctx {
    bridge_progress_fn progress;
    void *ctx;
    struct bridge_auth_result *res;
};

/* Each step the reader reports becomes a progress event, live. */
static bool on_step(void *ctx, const struct reader_step *st)
{
    struct step_ctx *c = ctx;
    struct bridge_progress p = {.has_costs = st->has_costs,
                                .elapsed_ms = (double)st->elapsed_ns / 1e6,
                                .line_ms = (double)st->line_ns / 1e6,
                                .cpu_ms = (double)st->cpu_ns / 1e6,
                                .apdus = st->apdus};
    snprintf(p.step, sizeof p.step, "%s", st->name);
    snprintf(p.detail, sizeof p.detail, "%s", st->detail);
    if (!strcmp(st->name, "atr")) {
        /* The ATR is the detail's first word, in hex. */
        size_t k = strcspn(st->detail, " "), alen = 0;
        uint8_t atr[BRIDGE_ATR_MAX];
        if (hex_decode(st->detail, k, atr, sizeof atr, &alen) == HEX_OK) {
            memcpy(c->res->atr, atr, alen);
            c->res->atr_len = alen;
        }
    }
    return c->progress(c->ctx, &p);
}

static enum bridge_err sim_authenticate(void *r, const struct bridge_auth *a,
                                        bridge_progress_fn progress, void *ctx,
                                        struct bridge_auth_result *res)
{
    struct sim_reader *s = r;
    uint8_t *out = s->report;
    size_t n;

    if (s->link.fd < 0) {
        snprintf(res->detail, sizeof res->detail, "the reader is not connected");
        return BRIDGE_ERR_READER_ERROR;
    }
    /* The sim reader has no keypad: the CAN (or, for a BAC-only document,
     * the MRZ fields) must come with the request. */
    if (!a->can && !a->mrz_info) {
        snprintf(res->detail, sizeof res->detail,
                 "this reader has no keypad: pass the CAN (or the MRZ fields)");
        return BRIDGE_ERR_NO_CAN;
    }
    struct reader_auth_params p = {.challenge = a->challenge,
                                   .challenge_len = a->challenge_len,
                                   .origin = a->origin,
                                   .can = a->can,
                                   .mrz_info = a->mrz_info};
    struct step_ctx sc = {progress, ctx, res};
    struct reader_step last;
    int t = a->timeout_ms > 30000 ? 30000 : (int)a->timeout_ms;
    s->active = false; /* the reader resets the card before and after */
    enum reader_session_err e =
        reader_session_run(&s->link, &p, t, on_step, &sc, out, sizeof s->report, &n, &last);
    enum bridge_err be = BRIDGE_OK;
    switch (e) {
    case READER_SESSION_OK: be = bridge_assertion_from_report(out, n, a, res); break;
    case READER_SESSION_ERR_FAILED:
        be = report_error(last.error);
        if (last.has_sw)
            snprintf(res->detail, sizeof res->detail, "%s: %s (SW %04X)", last.name, last.error,
                     last.sw);
        else
            snprintf(res->detail, sizeof res->detail, "%s: %s", last.name, last.error);
        if (be == BRIDGE_ERR_CARD_REMOVED)
            s->link.card_present = false;
        break;
    case READER_SESSION_ERR_CANCELLED:
        snprintf(res->detail, sizeof res->detail, "cancelled");
        be = BRIDGE_ERR_CANCELLED;
        break;
    case READER_SESSION_ERR_LINK:
        if (s->link.fd >= 0 && ccid_status_icc(s->link.status) == CCID_ICC_ABSENT) {
            s->link.card_present = false;
            snprintf(res->detail, sizeof res->detail, "no card in the slot");
            be = BRIDGE_ERR_CARD_REMOVED;
            break;
        }
        snprintf(res->detail, sizeof res->detail, "reader escape failed (bError %u)",
                 s->link.berror);
        be = BRIDGE_ERR_READER_ERROR;
        break;
    default:
        snprintf(res->detail, sizeof res->detail, "%s", reader_session_err_str(e));
        be = BRIDGE_ERR_READER_ERROR;
        break;
    }
    wipe(out, sizeof s->report);
    return be;
}

const struct bridge_backend_ops bridge_backend_sim = {
    .name = "sim",
    .create = sim_create,
    .destroy = sim_destroy,
    .connect = sim_connect,
    .disconnect = sim_disconnect,
    .monitor = sim_monitor,
    .card_present = sim_card_present,
    .card_active = sim_card_active,
    .authenticate = sim_authenticate,
};

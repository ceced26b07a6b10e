/*
 * Our reader's attested session as every backend that reaches it runs it
 * (the sim board's socket, USB through libusb): the escape steps of
 * hawiya/reader_escape.h over a ccid_link (host/backend/reader_session.c),
 * each step a progress event, the last report made the assertion.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <time.h>

#include "backend.h"
#include "ccid_link.h"
#include "hawiya-verify.h"
#include "hawiya/hex.h"
#include "hawiya/reader_escape.h"
#include "hawiya/tlv.h"
#include "hawiya/wipe.h"
#include "reader_session.h"

static bool field(const uint8_t *p, size_t n, uint32_t tag, struct tlv *t)
{
    return tlv_find(p, n, tag, t) == TLV_OK;
}

enum bridge_err bridge_err_from_name(const char *name)
{
    if (!strcmp(name, "SLOT_ERR_REMOVED") || !strcmp(name, "SLOT_ERR_ABSENT") ||
        !strcmp(name, "CL_ERR_REMOVED") || !strcmp(name, "CL_ERR_ABSENT"))
        return BRIDGE_ERR_CARD_REMOVED;
    if (!strcmp(name, "PACE_ERR_TOKEN_MISMATCH") || !strcmp(name, "PACE_ERR_TOKEN_REJECTED") ||
        !strcmp(name, "EMRTD_ERR_BAC"))
        return BRIDGE_ERR_CARD_AUTH_FAILED;
    if (!strncmp(name, "SLOT_ERR_", 9) || !strncmp(name, "CL_ERR_", 7) ||
        !strncmp(name, "ATTEST_", 7) || !strncmp(name, "RESC_", 5))
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

/* A link failure of the session after the step `after` ("" = at the start),
 * as the escape transport reads it; *reset: the backend must reset the reader. */
typedef enum bridge_err (*link_failure_fn)(void *ectx, const char *after,
                                           const struct bridge_auth *a,
                                           struct bridge_auth_result *res, bool *card_gone,
                                           bool *reset);

bool bridge_reader_info_parse(const uint8_t *p, size_t n, struct bridge_reader_identity *id)
{
    struct tlv t;
    memset(id, 0, sizeof *id);
    if (!field(p, n, RESC_T_READER_ID, &t) || !field(p, n, RESC_T_COUNTER, &t) || t.len != 8)
        return false;
    for (size_t i = 0; i < 8; i++)
        id->counter = id->counter << 8 | t.value[i];
    struct {
        uint32_t tag;
        char *out;
        size_t cap;
    } texts[] = {{RESC_T_READER_ID, id->id, sizeof id->id},
                 {RESC_T_ATTEST_STATE, id->attest, sizeof id->attest},
                 {RESC_T_STORE_STATE, id->store, sizeof id->store},
                 {RESC_T_VERSION, id->firmware, sizeof id->firmware}};
    for (size_t k = 0; k < sizeof texts / sizeof texts[0]; k++) {
        if (!field(p, n, texts[k].tag, &t))
            continue;
        size_t len = t.len < texts[k].cap - 1 ? t.len : texts[k].cap - 1;
        for (size_t i = 0; i < len; i++) /* printable ASCII only */
            texts[k].out[i] = t.value[i] >= 0x20 && t.value[i] < 0x7F ? (char)t.value[i] : '?';
        texts[k].out[len] = '\0';
    }
    /* A reader from before the store reported no state: its key was usable if it had an id. */
    if (!id->attest[0])
        snprintf(id->attest, sizeof id->attest, id->id[0] ? "ATTEST_OK" : "ATTEST_ERR_KEY");
    id->certified = field(p, n, RESC_T_READER_CRT, &t) && t.len > 0;
    id->known = true;
    return true;
}

static enum bridge_err run(reader_escape_fn escape, void *ectx, link_failure_fn link_failure,
                           uint8_t *report, size_t cap, const struct bridge_auth *a,
                           bridge_progress_fn progress, void *ctx, struct bridge_auth_result *res,
                           bool *card_gone, bool *reset)
{
    uint8_t *out = report;
    size_t n;
    *card_gone = *reset = false;
    /* Our reader has no keypad (yet): the CAN (or, for a BAC-only document,
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
    /* Silence between two messages ends a call after 10 s; time extensions
     * do not, but the call still ends at call_max_ms and the session at its
     * timeout, whatever the reader says (the transport's deadlines). */
    int t = a->timeout_ms > 10000 ? 10000 : (int)a->timeout_ms;
    enum reader_session_err e =
        reader_session_run_via(escape, ectx, &p, t, on_step, &sc, out, cap, &n, &last);
    enum bridge_err be = BRIDGE_OK;
    switch (e) {
    case READER_SESSION_OK: be = bridge_assertion_from_report(out, n, a, res); break;
    case READER_SESSION_ERR_FAILED:
        be = bridge_err_from_name(last.error);
        if (last.has_sw)
            snprintf(res->detail, sizeof res->detail, "%s: %s (SW %04X)", last.name, last.error,
                     last.sw);
        else
            snprintf(res->detail, sizeof res->detail, "%s: %s", last.name, last.error);
        if (be == BRIDGE_ERR_CARD_REMOVED)
            *card_gone = true;
        break;
    case READER_SESSION_ERR_CANCELLED:
        snprintf(res->detail, sizeof res->detail, "cancelled");
        be = BRIDGE_ERR_CANCELLED;
        break;
    case READER_SESSION_ERR_LINK:
        be = link_failure(ectx, last.name, a, res, card_gone, reset);
        break;
    default:
        snprintf(res->detail, sizeof res->detail, "%s", reader_session_err_str(e));
        be = BRIDGE_ERR_READER_ERROR;
        break;
    }
    wipe(out, cap);
    return be;
}

static enum ccid_link_err link_escape(void *ctx, const uint8_t *cmd, size_t n, uint8_t *out,
                                      size_t cap, size_t *out_len, int timeout_ms)
{
    return reader_escape(ctx, cmd, n, out, cap, out_len, timeout_ms);
}

static enum bridge_err link_failure(void *ectx, const char *after, const struct bridge_auth *a,
                                    struct bridge_auth_result *res, bool *card_gone, bool *reset)
{
    const struct ccid_link *l = ectx;
    if (l->last_err == CCID_LINK_ERR_FAILED && ccid_status_icc(l->status) == CCID_ICC_ABSENT) {
        *card_gone = true;
        snprintf(res->detail, sizeof res->detail, "no card in the slot");
        return BRIDGE_ERR_CARD_REMOVED;
    }
    char when[48];
    snprintf(when, sizeof when, after[0] ? "after the %s step" : "at the start", after);
    switch (l->last_err) {
    case CCID_LINK_ERR_DEADLINE:
        *reset = true;
        if (l->deadline_call) {
            snprintf(res->detail, sizeof res->detail,
                     "the reader did not finish its step %s within %u ms (it kept asking for "
                     "more time): it was reset",
                     when, a->call_max_ms);
            return BRIDGE_ERR_READER_TIMEOUT;
        }
        snprintf(res->detail, sizeof res->detail,
                 "the card session took too long (unfinished %s): the reader was reset", when);
        return BRIDGE_ERR_TIMEOUT;
    case CCID_LINK_ERR_IO:
        snprintf(res->detail, sizeof res->detail,
                 "the link to the reader broke %s (the reader was unplugged, restarted or "
                 "crashed)",
                 when);
        return BRIDGE_ERR_READER_UNREACHABLE;
    case CCID_LINK_ERR_TIMEOUT:
        *reset = true;
        snprintf(res->detail, sizeof res->detail, "the reader stopped answering %s: it was reset",
                 when);
        return BRIDGE_ERR_READER_TIMEOUT;
    case CCID_LINK_ERR_FAILED:
        snprintf(res->detail, sizeof res->detail,
                 "the reader refused its escape command %s (CCID bError %u)", when, l->berror);
        return BRIDGE_ERR_READER_ERROR;
    default:
        *reset = true;
        snprintf(res->detail, sizeof res->detail, "the reader broke the CCID protocol %s (%s)",
                 when, ccid_link_err_str(l->last_err));
        return BRIDGE_ERR_READER_ERROR;
    }
}

enum bridge_err bridge_reader_authenticate(struct ccid_link *l, uint8_t *report, size_t cap,
                                           const struct bridge_auth *a, bridge_progress_fn progress,
                                           void *ctx, struct bridge_auth_result *res,
                                           bool *card_gone, bool *reset)
{
    *card_gone = *reset = false;
    if (l->fd < 0 && !l->io.recv) {
        snprintf(res->detail, sizeof res->detail, "the reader is not connected");
        return BRIDGE_ERR_READER_UNREACHABLE;
    }
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    l->deadline_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000 + a->timeout_ms;
    l->call_max_ms = a->call_max_ms;
    enum bridge_err e =
        run(link_escape, l, link_failure, report, cap, a, progress, ctx, res, card_gone, reset);
    l->deadline_ms = 0;
    l->call_max_ms = 0;
    return e;
}

static enum bridge_err escape_failure(void *ectx, const char *after, const struct bridge_auth *a,
                                      struct bridge_auth_result *res, bool *card_gone, bool *reset)
{
    (void)ectx;
    (void)a;
    (void)card_gone;
    (void)reset;
    snprintf(res->detail, sizeof res->detail, "the reader's escape failed %s%s",
             after[0] ? "after the step " : "at the start", after);
    return BRIDGE_ERR_READER_ERROR;
}

enum bridge_err bridge_reader_authenticate_via(reader_escape_fn escape, void *ectx, uint8_t *report,
                                               size_t cap, const struct bridge_auth *a,
                                               bridge_progress_fn progress, void *ctx,
                                               struct bridge_auth_result *res, bool *card_gone)
{
    bool reset;
    return run(escape, ectx, escape_failure, report, cap, a, progress, ctx, res, card_gone, &reset);
}

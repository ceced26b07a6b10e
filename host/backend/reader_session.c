#include "reader_session.h"

#include <stdlib.h>
#include <string.h>

#include "hawiya/emrtd.h"
#include "hawiya/reader_escape.h"
#include "hawiya/tlv.h"
#include "hawiya/wipe.h"

const char *reader_session_err_str(enum reader_session_err e)
{
    switch (e) {
    case READER_SESSION_OK: return "READER_SESSION_OK";
    case READER_SESSION_ERR_PARAMS: return "READER_SESSION_ERR_PARAMS";
    case READER_SESSION_ERR_LINK: return "READER_SESSION_ERR_LINK";
    case READER_SESSION_ERR_REPORT: return "READER_SESSION_ERR_REPORT";
    case READER_SESSION_ERR_FAILED: return "READER_SESSION_ERR_FAILED";
    case READER_SESSION_ERR_CANCELLED: return "READER_SESSION_ERR_CANCELLED";
    }
    return "READER_SESSION_ERR_UNKNOWN";
}

enum ccid_link_err reader_escape(struct ccid_link *l, const uint8_t *cmd, size_t n, uint8_t *out,
                                 size_t cap, size_t *out_len, int timeout_ms)
{
    struct ccid_msg req = {.type = CCID_PC_TO_RDR_ESCAPE, .data = cmd, .len = (uint32_t)n}, resp;
    enum ccid_link_err e = ccid_link_transact(l, &req, &resp, out, cap, timeout_ms);
    *out_len = e == CCID_LINK_OK ? resp.len : 0;
    return e;
}

static uint64_t be(const struct tlv *t)
{
    uint64_t v = 0;
    for (size_t i = 0; i < t->len && i < 8; i++)
        v = v << 8 | t->value[i];
    return v;
}

/* Printable ASCII only: a report is the reader's, still not to be trusted blindly. */
static void copy_text(char *dst, size_t cap, const struct tlv *t)
{
    size_t n = t->len < cap - 1 ? t->len : cap - 1;
    for (size_t i = 0; i < n; i++)
        dst[i] = (t->value[i] >= 0x20 && t->value[i] < 0x7F) ? (char)t->value[i] : '?';
    dst[n] = '\0';
}

bool reader_step_parse(const uint8_t *r, size_t n, struct reader_step *st)
{
    struct tlv t;
    memset(st, 0, sizeof *st);
    if (tlv_find(r, n, RESC_T_STEP, &t) != TLV_OK || t.len == 0)
        return false;
    copy_text(st->name, sizeof st->name, &t);
    if (tlv_find(r, n, RESC_T_STATUS, &t) != TLV_OK || t.len != 1 || t.value[0] > RESC_STATUS_MORE)
        return false;
    st->status = t.value[0];
    if (tlv_find(r, n, RESC_T_ERROR, &t) == TLV_OK)
        copy_text(st->error, sizeof st->error, &t);
    if (tlv_find(r, n, RESC_T_SW, &t) == TLV_OK && t.len == 2) {
        st->has_sw = true;
        st->sw = (uint16_t)be(&t);
    }
    if (tlv_find(r, n, RESC_T_ELAPSED_NS, &t) == TLV_OK && t.len == 8) {
        st->has_costs = true;
        st->elapsed_ns = be(&t);
        if (tlv_find(r, n, RESC_T_LINE_NS, &t) == TLV_OK && t.len == 8)
            st->line_ns = be(&t);
        if (tlv_find(r, n, RESC_T_CPU_NS, &t) == TLV_OK && t.len == 8)
            st->cpu_ns = be(&t);
        if (tlv_find(r, n, RESC_T_APDUS, &t) == TLV_OK && t.len == 2)
            st->apdus = (unsigned)be(&t);
        if (tlv_find(r, n, RESC_T_CHARS, &t) == TLV_OK && t.len == 8)
            st->chars = be(&t);
        if (tlv_find(r, n, RESC_T_INSTRUCTIONS, &t) == TLV_OK && t.len == 8)
            st->instructions = be(&t);
    }
    if (tlv_find(r, n, RESC_T_DETAIL, &t) == TLV_OK)
        copy_text(st->detail, sizeof st->detail, &t);
    /* An empty TLV has no value pointer (hawiya/tlv.h): nothing to copy then. */
    if (tlv_find(r, n, RESC_T_TRACE, &t) == TLV_OK && t.len > 0 && t.len % 4 == 0 &&
        t.len <= sizeof st->trace) {
        memcpy(st->trace, t.value, t.len);
        st->trace_len = t.len;
    }
    if (st->status == RESC_STATUS_FAILED && !st->error[0])
        return false;
    return true;
}

/* The files as their parts arrive, in reading order (RESC_T_EF_CARDACCESS..). */
static const uint8_t file_tags[EMRTD_FILES] = {RESC_T_EF_CARDACCESS, RESC_T_EF_COM, RESC_T_DG1,
                                               RESC_T_DG11,          RESC_T_DG14,   RESC_T_DG15,
                                               RESC_T_EF_SOD};

struct files {
    uint8_t buf[EMRTD_FILES][EMRTD_SOD_MAX];
    size_t len[EMRTD_FILES], total[EMRTD_FILES];
};

/* Takes every RESC_T_FILE_PART of a report; false if one does not follow on. */
static bool take_parts(struct files *f, const uint8_t *r, size_t n)
{
    struct tlv_iter it;
    struct tlv t;
    tlv_iter_init(&it, r, n, 0);
    while (tlv_iter_next(&it, &t) == TLV_OK) {
        if (t.tag != RESC_T_FILE_PART)
            continue;
        if (t.len < 9)
            return false;
        int id = -1;
        for (int i = 0; i < EMRTD_FILES; i++)
            if (file_tags[i] == t.value[0])
                id = i;
        uint32_t off = 0, total = 0;
        for (int i = 0; i < 4; i++) {
            off = off << 8 | t.value[1 + i];
            total = total << 8 | t.value[5 + i];
        }
        size_t len = t.len - 9, cap = id == EMRTD_EF_SOD ? EMRTD_SOD_MAX : EMRTD_SMALL_FILE;
        if (id < 0 || off != f->len[id] || total == 0 || total > cap ||
            (off > 0 && total != f->total[id]) || len == 0 || len > total - off)
            return false;
        f->total[id] = total;
        memcpy(f->buf[id] + off, t.value + 9, len);
        f->len[id] += len;
    }
    return true;
}

/* The whole files, then the last report. */
static bool assemble(const struct files *f, const uint8_t *last, size_t n, uint8_t *out, size_t cap,
                     size_t *out_len)
{
    size_t pos = 0;
    for (int i = 0; i < EMRTD_FILES; i++) {
        if (f->len[i] != f->total[i])
            return false; /* a file cut short */
        if (f->len[i] && tlv_put(out, cap, &pos, file_tags[i], f->buf[i], f->len[i]) != TLV_OK)
            return false;
    }
    if (cap - pos < n)
        return false;
    memcpy(out + pos, last, n);
    *out_len = pos + n;
    return true;
}

static enum ccid_link_err link_escape(void *ctx, const uint8_t *cmd, size_t n, uint8_t *out,
                                      size_t cap, size_t *out_len, int timeout_ms)
{
    return reader_escape(ctx, cmd, n, out, cap, out_len, timeout_ms);
}

enum reader_session_err reader_session_run(struct ccid_link *l, const struct reader_auth_params *p,
                                           int timeout_ms, reader_step_fn on_step, void *ctx,
                                           uint8_t *out, size_t cap, size_t *out_len,
                                           struct reader_step *last)
{
    return reader_session_run_via(link_escape, l, p, timeout_ms, on_step, ctx, out, cap, out_len,
                                  last);
}

enum reader_session_err reader_session_run_via(reader_escape_fn escape, void *ectx,
                                               const struct reader_auth_params *p, int timeout_ms,
                                               reader_step_fn on_step, void *ctx, uint8_t *out,
                                               size_t cap, size_t *out_len,
                                               struct reader_step *last)
{
    uint8_t cmd[1024];
    size_t pos = 1, n = 0;
    *out_len = 0;
    memset(last, 0, sizeof *last);
    cmd[0] = RESC_AUTH_BEGIN;
    bool ok = tlv_put(cmd, sizeof cmd, &pos, RESC_T_CHALLENGE, p->challenge, p->challenge_len) ==
                  TLV_OK &&
              tlv_put(cmd, sizeof cmd, &pos, RESC_T_ORIGIN, (const uint8_t *)p->origin,
                      strlen(p->origin)) == TLV_OK;
    if (ok && p->can)
        ok = tlv_put(cmd, sizeof cmd, &pos, RESC_T_CAN, (const uint8_t *)p->can, strlen(p->can)) ==
             TLV_OK;
    if (ok && p->mrz_info)
        ok = tlv_put(cmd, sizeof cmd, &pos, RESC_T_MRZ_INFO, (const uint8_t *)p->mrz_info,
                     strlen(p->mrz_info)) == TLV_OK;
    if (ok && p->flags)
        ok = tlv_put(cmd, sizeof cmd, &pos, RESC_T_FLAGS, &p->flags, 1) == TLV_OK;
    struct files *files = calloc(1, sizeof *files);
    uint8_t *rep = malloc(CCID_MAX_MESSAGE_SIZE);
    if (!ok || !files || !rep) {
        wipe(cmd, sizeof cmd);
        free(files);
        free(rep);
        return READER_SESSION_ERR_PARAMS;
    }
    enum ccid_link_err le = escape(ectx, cmd, pos, rep, CCID_MAX_MESSAGE_SIZE, &n, timeout_ms);
    wipe(cmd, sizeof cmd); /* it held the CAN */

    enum reader_session_err e = READER_SESSION_ERR_REPORT; /* a reader that never ends */
    for (int steps = 0, parts = 0; steps < 32 && parts < 1024;) {
        if (le != CCID_LINK_OK) {
            e = READER_SESSION_ERR_LINK;
            break;
        }
        if (!reader_step_parse(rep, n, last) || !take_parts(files, rep, n)) {
            e = READER_SESSION_ERR_REPORT;
            break;
        }
        if (last->status == RESC_STATUS_FAILED) {
            e = READER_SESSION_ERR_FAILED;
            break;
        }
        if (last->status == RESC_STATUS_MORE) {
            parts++; /* the step goes on: only its last report is a step */
        } else {
            steps++;
            if (on_step && !on_step(ctx, last)) {
                uint8_t abort_cmd = RESC_AUTH_ABORT;
                escape(ectx, &abort_cmd, 1, rep, CCID_MAX_MESSAGE_SIZE, &n, timeout_ms);
                e = READER_SESSION_ERR_CANCELLED;
                break;
            }
            if (last->status == RESC_STATUS_DONE) {
                e = assemble(files, rep, n, out, cap, out_len) ? READER_SESSION_OK
                                                               : READER_SESSION_ERR_REPORT;
                break;
            }
        }
        uint8_t next = RESC_AUTH_NEXT;
        le = escape(ectx, &next, 1, rep, CCID_MAX_MESSAGE_SIZE, &n, timeout_ms);
    }
    wipe(rep, CCID_MAX_MESSAGE_SIZE);
    free(rep);
    free(files);
    return e;
}

#include "session.h"

#include <stdio.h>
#include <string.h>

#include "hal/board.h"
#include "hal/timer.h"
#include "hawiya/hex.h"
#include "hawiya/reader_escape.h"
#include "hawiya/tlv.h"
#include "hawiya/wipe.h"

#define FIRMWARE_VERSION "hawiya-reader 0.1"

void session_build_tables(struct session *s)
{
    static const mbedtls_ecp_group_id ids[] = {MBEDTLS_ECP_DP_SECP256R1, MBEDTLS_ECP_DP_BP256R1};
    mbedtls_ecp_group *groups[3] = {NULL, NULL, NULL};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        groups[i] = ecp_groups_get(&s->groups, ids[i]);
    if (s->attest.ready && mbedtls_pk_get_type(&s->attest.key) == MBEDTLS_PK_ECKEY)
        groups[2] = &mbedtls_pk_ec(s->attest.key)->grp;
    mbedtls_mpi k;
    mbedtls_ecp_point r;
    mbedtls_mpi_init(&k);
    mbedtls_ecp_point_init(&r);
    for (size_t i = 0; i < 3; i++)
        if (groups[i] && groups[i]->T == NULL &&
            mbedtls_ecp_gen_privkey(groups[i], &k, attest_random, &s->attest) == 0)
            mbedtls_ecp_mul(groups[i], &r, &k, &groups[i]->G, attest_random, &s->attest);
    mbedtls_mpi_free(&k);
    mbedtls_ecp_point_free(&r);
}

void session_init(struct session *s)
{
    memset(s, 0, sizeof *s);
    ecp_groups_init(&s->groups);
    attest_init(&s->attest);
}

static bool contactless(const struct session *s)
{
    return s->iface == RESC_IF_CONTACTLESS;
}

static void end(struct session *s, struct ccid_device *d)
{
    emrtd_wipe(&s->em);
    wipe(s->can, sizeof s->can);
    wipe(s->mrz, sizeof s->mrz);
    wipe(s->resp, sizeof s->resp);
    s->can_len = s->mrz_len = 0;
    if (s->tbs_open) {
        uint8_t none[ASSERTION_DIGEST_LEN];
        assertion_tbs_finish(&s->tbs, none); /* frees the hash; the digest is not used */
        s->tbs_open = false;
    }
    s->active = false;
    s->in_step = false;
    /* The card's own session (PACE keys, selected files) ends with it. */
    if (contactless(s))
        cl_slot_power_off(&d->cl);
    else
        slot_power_off(&d->slot);
}

/* The interface's counters: time on the line or the air, characters or frames. */
static uint64_t busy_ns(const struct session *s, const struct ccid_device *d)
{
    return contactless(s) ? d->cl.link.busy_ns : d->slot.line.busy_ns;
}

static uint64_t units(const struct session *s, const struct ccid_device *d)
{
    return contactless(s) ? d->cl.link.frames_tx + d->cl.link.frames_rx
                          : d->slot.line.chars_tx + d->slot.line.chars_rx;
}

void session_host_gone(void *ctx, struct ccid_device *d)
{
    struct session *s = ctx;
    if (s->active)
        end(s, d);
}

/* A report under construction. */
struct report {
    uint8_t *out;
    size_t cap, pos;
    bool overflow;
};

static void put(struct report *r, uint32_t tag, const void *v, size_t len)
{
    if (!r->overflow && tlv_put(r->out, r->cap, &r->pos, tag, v, len) != TLV_OK)
        r->overflow = true;
}

static void put_u64(struct report *r, uint32_t tag, uint64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (56 - 8 * i));
    put(r, tag, b, 8);
}

static void put_str(struct report *r, uint32_t tag, const char *s)
{
    put(r, tag, s, strlen(s));
}

/* What a step cost: marks taken at its start (a step may span several
 * AUTH_NEXT calls that answered RESC_STATUS_MORE). */
static void mark(const struct ccid_device *d, struct session *s)
{
    s->trace_len = 0;
    s->step_marks.now = hal_now_ns();
    s->step_marks.line = busy_ns(s, d);
    s->step_marks.chars = units(s, d);
    s->step_marks.cpu = hal_cpu_ns();
    s->step_marks.instructions = hal_cpu_instructions();
    s->step_marks.apdus = s->apdus;
}

static void put_costs(struct report *r, const struct ccid_device *d, const struct session *s)
{
    put_u64(r, RESC_T_LINE_NS, busy_ns(s, d) - s->step_marks.line);
    put_u64(r, RESC_T_ELAPSED_NS, hal_now_ns() - s->step_marks.now);
    put_u64(r, RESC_T_CPU_NS, hal_cpu_ns() - s->step_marks.cpu);
    uint64_t instructions = hal_cpu_instructions();
    if (instructions)
        put_u64(r, RESC_T_INSTRUCTIONS, instructions - s->step_marks.instructions);
    put_u64(r, contactless(s) ? RESC_T_FRAMES : RESC_T_CHARS, units(s, d) - s->step_marks.chars);
    unsigned apdus = s->apdus - s->step_marks.apdus;
    uint8_t n[2] = {(uint8_t)(apdus >> 8), (uint8_t)apdus};
    put(r, RESC_T_APDUS, n, 2);
    if (s->trace_len)
        put(r, RESC_T_TRACE, s->trace, s->trace_len);
}

static int failed(struct session *s, struct ccid_device *d, struct report *r, const char *step,
                  const char *error, uint16_t sw, bool costs)
{
    put_str(r, RESC_T_STEP, step);
    uint8_t st = RESC_STATUS_FAILED;
    put(r, RESC_T_STATUS, &st, 1);
    put_str(r, RESC_T_ERROR, error);
    if (sw) {
        uint8_t b[2] = {(uint8_t)(sw >> 8), (uint8_t)sw};
        put(r, RESC_T_SW, b, 2);
    }
    if (costs)
        put_costs(r, d, s);
    end(s, d);
    return -1;
}

static bool param(const uint8_t *p, size_t n, uint32_t tag, struct tlv *t)
{
    return tlv_find(p, n, tag, t) == TLV_OK;
}

static int auth_begin(struct session *s, struct ccid_device *d, const uint8_t *p, size_t n,
                      struct report *r)
{
    struct tlv ch, org, can, mrz, fl;
    if (s->active)
        end(s, d);
    /* A reader that cannot attest says so before the holder waits for a card session. */
    if (s->attest.state != ATTEST_OK)
        return failed(s, d, r, "begin", attest_err_str(s->attest.state), 0, false);
    if (!param(p, n, RESC_T_CHALLENGE, &ch) || ch.len < ASSERTION_CHALLENGE_MIN ||
        ch.len > ASSERTION_CHALLENGE_MAX || !param(p, n, RESC_T_ORIGIN, &org) || org.len == 0 ||
        org.len > sizeof s->origin)
        return failed(s, d, r, "begin", "RESC_ERR_PARAMS", 0, false);
    bool have_can = param(p, n, RESC_T_CAN, &can), have_mrz = param(p, n, RESC_T_MRZ_INFO, &mrz);
    if ((!have_can && !have_mrz) || (have_can && (can.len == 0 || can.len > sizeof s->can)) ||
        (have_mrz && (mrz.len == 0 || mrz.len > sizeof s->mrz)))
        return failed(s, d, r, "begin", "RESC_ERR_PARAMS", 0, false);
    memcpy(s->challenge, ch.value, ch.len);
    s->challenge_len = ch.len;
    memcpy(s->origin, org.value, org.len);
    s->origin_len = org.len;
    if (have_can) {
        memcpy(s->can, can.value, can.len);
        s->can_len = can.len;
    }
    if (have_mrz) {
        memcpy(s->mrz, mrz.value, mrz.len);
        s->mrz_len = mrz.len;
    }
    s->no_ca = param(p, n, RESC_T_FLAGS, &fl) && fl.len == 1 && (fl.value[0] & RESC_FLAG_NO_CA);
    struct tlv itf;
    if (param(p, n, RESC_T_INTERFACE, &itf)) {
        if (itf.len != 1 || itf.value[0] > RESC_IF_CONTACTLESS)
            return failed(s, d, r, "begin", "RESC_ERR_PARAMS", 0, false);
        s->iface = itf.value[0];
    } else {
        /* the card just tapped, else the one in the slot */
        s->iface = d->cl.state != CL_ABSENT ? RESC_IF_CONTACTLESS : RESC_IF_CONTACT;
    }
    s->active = true;
    s->apdus = 0;
    /* The to-be-signed bytes start with what the platform sent. */
    assertion_tbs_begin(&s->tbs);
    s->tbs_open = true;
    assertion_tbs_field(&s->tbs, ASSERTION_CHALLENGE, s->challenge_len);
    assertion_tbs_update(&s->tbs, s->challenge, s->challenge_len);
    assertion_tbs_field(&s->tbs, ASSERTION_ORIGIN, s->origin_len);
    assertion_tbs_update(&s->tbs, s->origin, s->origin_len);
    s->next_file = EMRTD_EF_CARDACCESS;

    /* A cold reset: whatever the card did before is gone. */
    mark(d, s);
    struct atr atr_buf;
    const struct atr *atr = &atr_buf;
    char detail[2 * ATR_MAX_LEN + 96], hex[2 * ATR_MAX_LEN + 1];
    if (contactless(s)) {
        enum cl_err ce = cl_slot_power_on(&d->cl);
        if (ce != CL_OK)
            return failed(s, d, r, "atr", cl_err_str(ce), 0, true);
        /* The PC/SC ATR carries the ATS historical bytes; a Type B card's
         * capabilities are in its EF.ATR/INFO alone. */
        if (atr_parse(d->cl.atr, d->cl.atr_len, &atr_buf, NULL) != ATR_OK ||
            d->cl.type == ISO14443_B)
            memset(&atr_buf.hist_decoded, 0, sizeof atr_buf.hist_decoded);
        hex_encode(d->cl.atr, d->cl.atr_len, hex);
        char how[96];
        cl_slot_describe(&d->cl, how, sizeof how);
        snprintf(detail, sizeof detail, "%s %s", hex, how);
    } else {
        enum slot_err se = slot_power_on(&d->slot, SC_CLASS_OFF);
        if (se != SLOT_OK)
            return failed(s, d, r, "atr", slot_err_str(se), 0, true);
        atr = &d->slot.atr;
        hex_encode(atr->raw, atr->len, hex);
        snprintf(detail, sizeof detail, "%s T=%u Fi/Di %u/%u %lu kHz", hex, d->slot.protocol,
                 d->slot.fi, d->slot.di, (unsigned long)(d->slot.line.clk_hz / 1000));
    }
    /* What the card says of its APDU sizes: its historical bytes (the ATR,
     * or a Type A card's ATS); without them, its EF.ATR/INFO. */
    struct card_caps caps;
    card_caps_from_hist(&atr->hist_decoded, &caps);
    struct emrtd_params ep = {
        .can = s->can_len ? s->can : NULL,
        .can_len = s->can_len,
        .mrz_info = s->mrz_len ? s->mrz : NULL,
        .mrz_info_len = s->mrz_len,
        .challenge = s->challenge,
        .challenge_len = s->challenge_len,
        .origin = s->origin,
        .origin_len = s->origin_len,
        .chip_authentication = !s->no_ca,
        .active_authentication = true,
        /* Chunks as large as a step report carries (SESSION_READ_MAX) where
         * the card takes extended lengths (our CCID link always does); else
         * the sizes the card allows. */
        .max_le = SESSION_READ_MAX,
        .extended = true,
        .caps = caps,
        .atr_info = !caps.known,
        .rng = attest_random,
        .rng_ctx = &s->attest,
        .groups = &s->groups,
    };
    enum emrtd_err ee = emrtd_begin(&s->em, &ep, s->cmd, sizeof s->cmd, &s->cmd_len);
    if (ee != EMRTD_OK)
        return failed(s, d, r, "atr", emrtd_err_str(ee), 0, true);

    put_str(r, RESC_T_STEP, "atr");
    uint8_t st = RESC_STATUS_CONTINUE;
    put(r, RESC_T_STATUS, &st, 1);
    put_str(r, RESC_T_DETAIL, detail);
    put(r, RESC_T_INTERFACE, &s->iface, 1);
    put_costs(r, d, s);
    return -1;
}

/* Report tags of the files, in reading order (enum emrtd_file_id). */
static const uint8_t file_tags[EMRTD_FILES] = {RESC_T_EF_CARDACCESS, RESC_T_EF_COM, RESC_T_DG1,
                                               RESC_T_DG11,          RESC_T_DG14,   RESC_T_DG15,
                                               RESC_T_EF_SOD};

/* Files passed over (not read, or absent) are hashed empty in their place. */
static void tbs_files_up_to(struct session *s, enum emrtd_file_id id)
{
    for (; s->next_file < id; s->next_file++)
        assertion_tbs_field(&s->tbs, (enum assertion_field)(ASSERTION_EF_CARDACCESS + s->next_file),
                            0);
}

/* RESC_T_FILE_PART: file tag, offset and total length (4 bytes each, big
 * endian), then the bytes. */
#define FILE_PART_HEAD 9u
#define FILE_PART_MAX  (4 + FILE_PART_HEAD + SESSION_READ_MAX)

/* The bytes a response brought go to the host and into the hash. */
static void stream_chunk(struct session *s, struct report *r, const struct emrtd_chunk *c)
{
    if (c->offset == 0) {
        tbs_files_up_to(s, c->id);
        assertion_tbs_field(&s->tbs, (enum assertion_field)(ASSERTION_EF_CARDACCESS + c->id),
                            c->total);
        s->next_file = (enum emrtd_file_id)(c->id + 1);
    }
    assertion_tbs_update(&s->tbs, c->p, c->len);
    size_t pos = r->pos;
    if (r->overflow ||
        tlv_put_header(r->out, r->cap, &pos, RESC_T_FILE_PART, FILE_PART_HEAD + c->len) != TLV_OK ||
        r->cap - pos < FILE_PART_HEAD + c->len) {
        r->overflow = true;
        return;
    }
    uint8_t *v = r->out + pos;
    v[0] = file_tags[c->id];
    for (int i = 0; i < 4; i++) {
        v[1 + i] = (uint8_t)(c->offset >> (24 - 8 * i));
        v[5 + i] = (uint8_t)(c->total >> (24 - 8 * i));
    }
    memcpy(v + FILE_PART_HEAD, c->p, c->len);
    r->pos = pos + FILE_PART_HEAD + c->len;
}

static int attest_and_report(struct session *s, struct ccid_device *d, struct report *r)
{
    mark(d, s);
    const struct emrtd_evidence *ev = &s->em.ev;
    if (!ev->aa)
        return failed(s, d, r, "attest", "RESC_ERR_NO_AA", 0, true);
    if (s->attest.state != ATTEST_OK)
        return failed(s, d, r, "attest", attest_err_str(s->attest.state), 0, true);

    /* The rest of the to-be-signed bytes, after the files. */
    uint8_t digest[ASSERTION_DIGEST_LEN], sig[ATTEST_SIG_MAX], counter[ASSERTION_COUNTER_LEN];
    size_t sig_len;
    uint64_t n;
    enum attest_err ce = attest_next_counter(&s->attest, &n);
    if (ce != ATTEST_OK)
        return failed(s, d, r, "attest", attest_err_str(ce), 0, true);
    for (int i = 0; i < ASSERTION_COUNTER_LEN; i++)
        counter[i] = (uint8_t)(n >> (56 - 8 * i));
    tbs_files_up_to(s, EMRTD_FILES);
    assertion_tbs_field(&s->tbs, ASSERTION_AA_CHALLENGE_FIELD, sizeof ev->aa_challenge);
    assertion_tbs_update(&s->tbs, ev->aa_challenge, sizeof ev->aa_challenge);
    assertion_tbs_field(&s->tbs, ASSERTION_AA_SIGNATURE, ev->aa_signature_len);
    assertion_tbs_update(&s->tbs, ev->aa_signature, ev->aa_signature_len);
    assertion_tbs_field(&s->tbs, ASSERTION_COUNTER, sizeof counter);
    assertion_tbs_update(&s->tbs, counter, sizeof counter);
    assertion_tbs_field(&s->tbs, ASSERTION_READER_ID, strlen(s->attest.id));
    assertion_tbs_update(&s->tbs, (const uint8_t *)s->attest.id, strlen(s->attest.id));
    enum assertion_err ae = assertion_tbs_finish(&s->tbs, digest);
    s->tbs_open = false;
    if (ae != ASSERTION_OK)
        return failed(s, d, r, "attest", assertion_err_str(ae), 0, true);
    if (attest_sign(&s->attest, digest, sig, sizeof sig, &sig_len) != ATTEST_OK)
        return failed(s, d, r, "attest", "ATTEST_ERR_SIGN", 0, true);

    put_str(r, RESC_T_STEP, "attest");
    uint8_t st = RESC_STATUS_DONE;
    put(r, RESC_T_STATUS, &st, 1);
    put(r, RESC_T_AA_CHALLENGE, ev->aa_challenge, sizeof ev->aa_challenge);
    put(r, RESC_T_AA_SIGNATURE, ev->aa_signature, ev->aa_signature_len);
    put_str(r, RESC_T_ACCESS,
            ev->pace ? (ev->ca ? "pace+ca" : "pace") : (ev->ca ? "bac+ca" : "bac"));
    put_str(r, RESC_T_READER_ID, s->attest.id);
    if (s->attest.cert_len)
        put(r, RESC_T_READER_CRT, s->attest.cert, s->attest.cert_len);
    put_u64(r, RESC_T_COUNTER, n);
    put(r, RESC_T_SIGNATURE, sig, sig_len);
    put_costs(r, d, s);
    end(s, d);
    return -1;
}

/* Room a step report keeps for its closing fields (name, status, costs,
 * trace, or a failure's error and status word). */
#define REPORT_CLOSE 400u

/* Runs APDUs until the inspection moves to another phase, and reports the
 * phase that finished; or, when the report has no room for another chunk
 * of a file, sends what it has with RESC_STATUS_MORE. */
static int auth_next(struct session *s, struct ccid_device *d, struct report *r)
{
    if (!s->active)
        return failed(s, d, r, "next", "RESC_ERR_NO_SESSION", 0, false);
    if (s->cmd_len == 0)
        return attest_and_report(s, d, r);

    if (!s->in_step) {
        mark(d, s);
        s->step_phase = s->em.phase;
        s->in_step = true;
    }
    enum emrtd_phase phase = s->step_phase;
    while (s->cmd_len && s->em.phase == phase) {
        if (r->cap < r->pos + FILE_PART_MAX + REPORT_CLOSE) {
            put_str(r, RESC_T_STEP, emrtd_phase_str(phase));
            uint8_t st = RESC_STATUS_MORE;
            put(r, RESC_T_STATUS, &st, 1);
            return -1;
        }
        size_t rlen;
        if (s->cmd_len >= 4 && s->trace_len + 4 <= sizeof s->trace) {
            memcpy(s->trace + s->trace_len, s->cmd, 4);
            s->trace_len += 4;
        }
        const char *err = NULL;
        if (contactless(s)) {
            enum cl_err ce =
                cl_slot_transmit(&d->cl, s->cmd, s->cmd_len, s->resp, sizeof s->resp, &rlen);
            err = ce == CL_OK ? NULL : cl_err_str(ce);
        } else {
            enum slot_err se =
                slot_transmit(&d->slot, s->cmd, s->cmd_len, s->resp, sizeof s->resp, &rlen);
            err = se == SLOT_OK ? NULL : slot_err_str(se);
        }
        s->apdus++;
        if (err)
            return failed(s, d, r, emrtd_phase_str(phase), err, 0, true);
        enum emrtd_err ee = emrtd_step(&s->em, s->resp, rlen, s->cmd, sizeof s->cmd, &s->cmd_len);
        if (ee != EMRTD_OK) {
            const char *name = emrtd_err_str(ee);
            if (ee == EMRTD_ERR_PACE)
                name = pace_err_str(s->em.pace_err);
            else if (ee == EMRTD_ERR_SM)
                name = sm_err_str(s->em.sm_err);
            return failed(s, d, r, emrtd_phase_str(phase), name, s->em.sw, true);
        }
        const struct emrtd_chunk *c = emrtd_chunk(&s->em);
        if (c)
            stream_chunk(s, r, c);
    }
    s->in_step = false;
    put_str(r, RESC_T_STEP, emrtd_phase_str(phase));
    uint8_t st = RESC_STATUS_CONTINUE;
    put(r, RESC_T_STATUS, &st, 1);
    put_costs(r, d, s);
    return -1;
}

int session_escape(void *ctx, struct ccid_device *d, const uint8_t *in, size_t n, uint8_t *out,
                   size_t cap, size_t *out_len)
{
    struct session *s = ctx;
    struct report r = {.out = out, .cap = cap};
    *out_len = 0;
    if (n < 1)
        return 10; /* bError: the offset of the first byte of abData */
    switch (in[0]) {
    case RESC_INFO:
        put_str(&r, RESC_T_READER_ID, s->attest.ready ? s->attest.id : "");
        if (s->attest.cert_len)
            put(&r, RESC_T_READER_CRT, s->attest.cert, s->attest.cert_len);
        if (s->attest.ready)
            put(&r, RESC_T_PUBLIC_KEY, s->attest.point, sizeof s->attest.point);
        put_u64(&r, RESC_T_COUNTER, s->attest.counter);
        put_str(&r, RESC_T_VERSION, FIRMWARE_VERSION);
        /* What stops attestation, by name; and the store's own state. */
        put_str(&r, RESC_T_ATTEST_STATE, attest_err_str(s->attest.state));
        put_str(&r, RESC_T_STORE_STATE, store_err_str(s->attest.store.state));
        {
            uint8_t desc[CCID_DESCRIPTOR_SIZE];
            size_t dn;
            if (ccid_encode_descriptor(&d->desc, desc, sizeof desc, &dn) == CCID_OK)
                put(&r, RESC_T_CCID_DESCRIPTOR, desc, dn);
        }
        struct hal_memory mem;
        if (hal_memory(&mem)) {
            const uint32_t v[3] = {mem.static_ram, mem.heap_peak, mem.stack_peak};
            uint8_t b[12];
            for (int i = 0; i < 12; i++)
                b[i] = (uint8_t)(v[i / 4] >> (24 - 8 * (i % 4)));
            put(&r, RESC_T_MEMORY, b, sizeof b);
        }
        break;
    case RESC_SET_CERT: {
        struct tlv t;
        if (!param(in + 1, n - 1, RESC_T_CERT, &t) ||
            attest_set_cert(&s->attest, t.value, t.len) != ATTEST_OK)
            return 11;
        break;
    }
    case RESC_AUTH_BEGIN: auth_begin(s, d, in + 1, n - 1, &r); break;
    case RESC_AUTH_NEXT: auth_next(s, d, &r); break;
    case RESC_AUTH_ABORT:
        if (s->active)
            end(s, d);
        break;
    default: return CCID_BERROR_CMD_NOT_SUPPORTED;
    }
    if (r.overflow)
        return CCID_BERROR_XFR_OVERRUN;
    *out_len = r.pos;
    return -1;
}

#include "hawiya/emrtd.h"

#include <string.h>

#include "hawiya/apdu.h"
#include "hawiya/lds.h"
#include "hawiya/wipe.h"

/* 9303-10 §3.11.2: the eMRTD application. */
static const uint8_t emrtd_aid[] = {0xA0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x01};

/* Short EF identifiers (9303-10 §3.11.3, §4.6). */
static const uint8_t file_sfi[EMRTD_FILES] = {0x1C, 0x1E, 0x01, 0x0B, 0x0E, 0x0F, 0x1D};
/* Tags of EF.COM's tag list, per file (0: not listed there). */
static const uint8_t file_tag[EMRTD_FILES] = {0, 0, 0x61, 0x6B, 0x6E, 0x6F, 0};

/* SFI of EF.ATR/INFO at the MF (9303-10 §3.11.1). */
#define SFI_ATR_INFO 0x01
/* Smaller sizes a card refusing with 6700 is tried at, before giving up. */
#define DOWNGRADES_MAX 4u

enum state {
    ST_IDLE,
    ST_ATR_INFO,
    ST_CARDACCESS,
    ST_PACE,
    ST_SELECT,
    ST_BAC_CHALLENGE,
    ST_BAC_AUTH,
    ST_READ,
    ST_CA,
    ST_AA,
    ST_DONE,
    ST_DEAD,
};

const char *emrtd_err_str(enum emrtd_err e)
{
    switch (e) {
    case EMRTD_OK: return "EMRTD_OK";
    case EMRTD_ERR_PARAM: return "EMRTD_ERR_PARAM";
    case EMRTD_ERR_STATE: return "EMRTD_ERR_STATE";
    case EMRTD_ERR_SW: return "EMRTD_ERR_SW";
    case EMRTD_ERR_PACE: return "EMRTD_ERR_PACE";
    case EMRTD_ERR_BAC: return "EMRTD_ERR_BAC";
    case EMRTD_ERR_SM: return "EMRTD_ERR_SM";
    case EMRTD_ERR_CA: return "EMRTD_ERR_CA";
    case EMRTD_ERR_NO_ACCESS: return "EMRTD_ERR_NO_ACCESS";
    case EMRTD_ERR_FILE_MISSING: return "EMRTD_ERR_FILE_MISSING";
    case EMRTD_ERR_FILE_TOO_LARGE: return "EMRTD_ERR_FILE_TOO_LARGE";
    case EMRTD_ERR_FILE_FORMAT: return "EMRTD_ERR_FILE_FORMAT";
    case EMRTD_ERR_RESPONSE: return "EMRTD_ERR_RESPONSE";
    case EMRTD_ERR_BUFFER: return "EMRTD_ERR_BUFFER";
    }
    return "EMRTD_ERR_UNKNOWN";
}

const char *emrtd_phase_str(enum emrtd_phase p)
{
    switch (p) {
    case EMRTD_PHASE_CARDACCESS: return "cardaccess";
    case EMRTD_PHASE_PACE: return "pace";
    case EMRTD_PHASE_SELECT: return "select";
    case EMRTD_PHASE_BAC: return "bac";
    case EMRTD_PHASE_READ: return "read";
    case EMRTD_PHASE_CA: return "ca";
    case EMRTD_PHASE_AA: return "aa";
    case EMRTD_PHASE_DONE: return "done";
    }
    return "unknown";
}

void emrtd_wipe(struct emrtd *s)
{
    pace_wipe(&s->pace);
    bac_ifd_wipe(&s->bac);
    ca_wipe(&s->ca);
    sm_wipe(&s->sm);
    s->sm_on = false;
    wipe(s->scratch, sizeof s->scratch);
    wipe(s->wrap, sizeof s->wrap);
    wipe(s->dg1, sizeof s->dg1);
    wipe(s->parse_buf, sizeof s->parse_buf);
    s->chunk.len = 0;
    s->p.can = NULL;
    s->p.mrz_info = NULL;
}

static enum emrtd_err fail(struct emrtd *s, enum emrtd_err e)
{
    emrtd_wipe(s);
    s->state = ST_DEAD;
    return e;
}

/* Encodes `a`, through secure messaging when it is on. */
static enum emrtd_err emit(struct emrtd *s, const struct apdu *a, uint8_t *cmd, size_t cap,
                           size_t *cmd_len)
{
    struct apdu prot;
    const struct apdu *out = a;
    if (s->sm_on) {
        enum sm_err e = sm_wrap_command(&s->sm, a, s->wrap, sizeof s->wrap, &prot);
        if (e != SM_OK) {
            s->sm_err = e;
            return fail(s, EMRTD_ERR_SM);
        }
        out = &prot;
    }
    if (apdu_encode(out, cmd, cap, cmd_len) != APDU_OK)
        return fail(s, EMRTD_ERR_BUFFER);
    s->last_ins = a->ins;
    s->apdus++;
    return EMRTD_OK;
}

/* The response as plain data and SW: unwrapped when secure messaging is on.
 * A bare status word under SM means the card has ended secure messaging. */
static enum emrtd_err open_response(struct emrtd *s, const uint8_t *rapdu, size_t len,
                                    struct rapdu *r)
{
    if (len < 2)
        return fail(s, EMRTD_ERR_RESPONSE);
    if (!s->sm_on || len == 2) {
        if (rapdu_decode(rapdu, len, r) != APDU_OK)
            return fail(s, EMRTD_ERR_RESPONSE);
        s->sw = r->sw;
        return EMRTD_OK;
    }
    enum sm_err e = sm_unwrap_response(&s->sm, rapdu, len, s->scratch, sizeof s->scratch, r);
    if (e != SM_OK) {
        s->sm_err = e;
        return fail(s, EMRTD_ERR_SM);
    }
    s->sw = r->sw;
    return EMRTD_OK;
}

/* Extended lengths when the link takes them and the card said so; a caller
 * that asked for no EF.ATR/INFO and gave no card capabilities has judged
 * the card itself (p.extended). */
static bool extended(const struct emrtd *s)
{
    if (!s->p.extended)
        return false;
    return s->caps.known ? s->caps.extended : !s->p.atr_info;
}

static size_t read_chunk(const struct emrtd *s)
{
    bool ext;
    return emrtd_read_size(s, s->sm_on || s->p.sm_by_reader, &ext);
}

size_t emrtd_read_size(const struct emrtd *s, bool sm, bool *ext)
{
    struct card_caps c = s->caps;
    c.extended = extended(s);
    size_t le = card_caps_read_le(&c, c.extended, sm, s->p.max_le);
    if (s->p.max_le && le > s->p.max_le)
        le = s->p.max_le;
    if (s->le_cap && le > s->le_cap)
        le = s->le_cap;
    if (le > EMRTD_READ_MAX)
        le = EMRTD_READ_MAX;
    *ext = c.extended && le > 256;
    return le;
}

/* READ BINARY of the current file at its current length. */
static enum emrtd_err read_next(struct emrtd *s, uint8_t *cmd, size_t cap, size_t *cmd_len)
{
    struct emrtd_file *f = &s->ev.file[s->file];
    size_t le = read_chunk(s);
    struct apdu a = {.cla = 0x00, .ins = 0xB0};
    if (f->len == 0) {
        /* 7816-4 §7.2.3: P1 = 1000 0 SFI selects the EF and reads from 0. */
        a.p1 = (uint8_t)(0x80 | file_sfi[s->file]);
        a.p2 = 0;
    } else {
        if (f->len > 0x7FFF)
            return fail(s, EMRTD_ERR_FILE_TOO_LARGE);
        a.p1 = (uint8_t)(f->len >> 8);
        a.p2 = (uint8_t)f->len;
        if (f->total && f->total - f->len < le)
            le = f->total - f->len;
    }
    a.ne = le;
    a.extended = le > 256;
    s->last_le = le;
    return emit(s, &a, cmd, cap, cmd_len);
}

/* The card refused the last READ BINARY's Le (6700): the same read one rung
 * down the ladder, and every read after it too. */
static bool read_smaller(struct emrtd *s, const struct rapdu *r)
{
    if (r->sw != 0x6700 || s->last_le > 256 || s->downgrades >= DOWNGRADES_MAX)
        return false;
    size_t next = card_caps_next_le(s->last_le);
    if (next == 0)
        return false;
    s->le_cap = next;
    s->downgrades++;
    return true;
}

/* The length of a file from its first TLV header (1-byte tag, BER length). */
static bool tlv_total(const uint8_t *p, size_t n, size_t *total)
{
    if (n < 2)
        return false;
    if (p[1] < 0x80) {
        *total = 2 + (size_t)p[1];
        return true;
    }
    size_t k = p[1] & 0x7F;
    if (k == 0 || k > 3 || n < 2 + k)
        return false;
    size_t len = 0;
    for (size_t i = 0; i < k; i++)
        len = len << 8 | p[2 + i];
    *total = 2 + k + len;
    return true;
}

static void start_file(struct emrtd *s, enum emrtd_file_id id)
{
    s->file = id;
    s->ev.file[id].len = 0;
    s->ev.file[id].total = 0;
}

static enum emrtd_err next_command(struct emrtd *s, uint8_t *cmd, size_t cap, size_t *cmd_len);

/* After a file: the next one EF.COM lists, then CA / AA, then done. */
static enum emrtd_err after_file(struct emrtd *s, uint8_t *cmd, size_t cap, size_t *cmd_len)
{
    for (int f = (int)s->file + 1; f < EMRTD_FILES; f++)
        if (s->want[f]) {
            start_file(s, (enum emrtd_file_id)f);
            return read_next(s, cmd, cap, cmd_len);
        }
    s->state = ST_CA;
    return next_command(s, cmd, cap, cmd_len);
}

static void plan_reads(struct emrtd *s)
{
    s->want[EMRTD_EF_COM] = s->want[EMRTD_DG1] = s->want[EMRTD_EF_SOD] = true;
    /* Without EF.COM's list (absent or unreadable) try DG14 and DG15; DG11 is optional. */
    s->want[EMRTD_DG14] = s->want[EMRTD_DG15] = true;
    s->want[EMRTD_DG11] = false;
}

static void apply_com(struct emrtd *s)
{
    struct lds_com com;
    const struct emrtd_file *f = &s->ev.file[EMRTD_EF_COM];
    if (lds_com_parse(s->parse_buf, f->len, &com) != LDS_OK)
        return;
    for (int id = EMRTD_DG11; id <= EMRTD_DG15; id++) {
        bool listed = false;
        for (size_t i = 0; i < com.n_tags; i++)
            listed |= com.tags[i] == file_tag[id];
        s->want[id] = listed;
    }
}

/* Starts the phase the state names, when it begins with a command of ours. */
static enum emrtd_err next_command(struct emrtd *s, uint8_t *cmd, size_t cap, size_t *cmd_len)
{
    struct apdu a = {0};
    switch (s->state) {
    case ST_SELECT:
        s->phase = EMRTD_PHASE_SELECT;
        a = (struct apdu){.cla = 0,
                          .ins = 0xA4,
                          .p1 = 0x04,
                          .p2 = 0x0C,
                          .data = emrtd_aid,
                          .nc = sizeof emrtd_aid};
        return emit(s, &a, cmd, cap, cmd_len);
    case ST_BAC_CHALLENGE: {
        struct bac_keys keys;
        s->phase = EMRTD_PHASE_BAC;
        if (bac_keys_from_mrz_info(s->p.mrz_info, s->p.mrz_info_len, NULL, &keys) != BAC_OK)
            return fail(s, EMRTD_ERR_BAC);
        bac_ifd_init(&s->bac, &keys);
        wipe(&keys, sizeof keys);
        bac_get_challenge_apdu(&a);
        return emit(s, &a, cmd, cap, cmd_len);
    }
    case ST_READ:
        s->phase = EMRTD_PHASE_READ;
        plan_reads(s);
        start_file(s, EMRTD_EF_COM);
        return read_next(s, cmd, cap, cmd_len);
    case ST_CA: {
        s->phase = EMRTD_PHASE_CA;
        if (s->p.chip_authentication && s->have_dg14 && s->infos.n_ca > 0) {
            uint8_t plain[PACE_APDU_MAX];
            size_t n;
            if (ca_begin(&s->ca, &s->infos, s->p.rng, s->p.rng_ctx, NULL, NULL, s->p.groups, plain,
                         sizeof plain, &n) != CA_OK)
                return fail(s, EMRTD_ERR_CA);
            enum apdu_case c;
            if (apdu_decode(plain, n, &a, &c) != APDU_OK)
                return fail(s, EMRTD_ERR_CA);
            return emit(s, &a, cmd, cap, cmd_len);
        }
        s->state = ST_AA;
        return next_command(s, cmd, cap, cmd_len);
    }
    case ST_AA:
        s->phase = EMRTD_PHASE_AA;
        if (!s->p.active_authentication || !s->ev.file[EMRTD_DG15].present) {
            s->state = ST_DONE;
            return next_command(s, cmd, cap, cmd_len);
        }
        if (s->p.challenge) {
            struct assertion_bytes c = {s->p.challenge, s->p.challenge_len},
                                   o = {s->p.origin, s->p.origin_len},
                                   d = {s->dg1, s->ev.file[EMRTD_DG1].len};
            if (assertion_aa_challenge(&c, &o, &d, s->ev.aa_challenge) != ASSERTION_OK)
                return fail(s, EMRTD_ERR_PARAM);
        } else {
            memcpy(s->ev.aa_challenge, s->p.aa_challenge, ASSERTION_AA_CHALLENGE);
        }
        /* 9303-11 §6.1: INTERNAL AUTHENTICATE, P1 = P2 = 00, Le up to the key size. */
        a = (struct apdu){.cla = 0,
                          .ins = 0x88,
                          .data = s->ev.aa_challenge,
                          .nc = ASSERTION_AA_CHALLENGE,
                          .ne = extended(s) ? EMRTD_AA_SIG_MAX : 256,
                          .extended = extended(s)};
        return emit(s, &a, cmd, cap, cmd_len);
    case ST_DONE:
        s->phase = EMRTD_PHASE_DONE;
        *cmd_len = 0;
        emrtd_wipe(s);
        return EMRTD_OK;
    default: return fail(s, EMRTD_ERR_STATE);
    }
}

enum emrtd_err emrtd_begin(struct emrtd *s, const struct emrtd_params *p, uint8_t *cmd, size_t cap,
                           size_t *cmd_len)
{
    memset(s, 0, sizeof *s);
    *cmd_len = 0;
    if (!p->rng || (!p->can && !p->mrz_info && !p->sm_by_reader) ||
        (p->sm_by_reader && !p->files) ||
        (p->challenge && (!p->origin || p->challenge_len < ASSERTION_CHALLENGE_MIN ||
                          p->challenge_len > ASSERTION_CHALLENGE_MAX)))
        return fail(s, EMRTD_ERR_PARAM);
    s->p = *p;
    for (int f = 0; f < EMRTD_FILES && p->files; f++) {
        s->ev.file[f].buf = f == EMRTD_EF_SOD ? p->files->sod : p->files->small[f];
        s->ev.file[f].cap = f == EMRTD_EF_SOD ? EMRTD_SOD_MAX : EMRTD_SMALL_FILE;
    }
    s->caps = p->caps;
    if (s->p.sm_by_reader) {
        struct emrtd_file *f = &s->ev.file[EMRTD_EF_CARDACCESS];
        if (p->ef_cardaccess_len > f->cap || (p->ef_cardaccess_len && !p->ef_cardaccess))
            return fail(s, EMRTD_ERR_FILE_TOO_LARGE);
        if (p->ef_cardaccess_len)
            memcpy(f->buf, p->ef_cardaccess, p->ef_cardaccess_len);
        f->len = f->total = p->ef_cardaccess_len;
        f->present = f->len > 0;
        s->p.chip_authentication = false;
        s->p.can = NULL;
        s->p.mrz_info = NULL;
        s->ev.pace = true;
        s->state = ST_SELECT;
        return next_command(s, cmd, cap, cmd_len);
    }
    s->phase = EMRTD_PHASE_CARDACCESS;
    if (p->atr_info) {
        /* READ BINARY by SFI, short Le: the card has not said more is fine */
        s->state = ST_ATR_INFO;
        struct apdu a = {.cla = 0x00, .ins = 0xB0, .p1 = 0x80 | SFI_ATR_INFO, .ne = 256};
        return emit(s, &a, cmd, cap, cmd_len);
    }
    s->state = ST_CARDACCESS;
    start_file(s, EMRTD_EF_CARDACCESS);
    return read_next(s, cmd, cap, cmd_len);
}

/* The files the inspection parses itself are held until they are whole. */
static uint8_t *keep_buffer(struct emrtd *s, enum emrtd_file_id id, size_t *cap)
{
    switch (id) {
    case EMRTD_EF_CARDACCESS:
    case EMRTD_EF_COM:
    case EMRTD_DG14: *cap = sizeof s->parse_buf; return s->parse_buf;
    case EMRTD_DG1: *cap = sizeof s->dg1; return s->dg1;
    default: *cap = 0; return NULL;
    }
}

/* Takes a READ BINARY response into the current file (the chunk for the
 * caller, what we keep, and the store); true when the file is complete. */
static enum emrtd_err take_read(struct emrtd *s, const struct rapdu *r, bool *complete)
{
    struct emrtd_file *f = &s->ev.file[s->file];
    size_t cap = s->file == EMRTD_EF_SOD ? EMRTD_SOD_MAX : EMRTD_SMALL_FILE;
    *complete = false;
    if (r->sw != 0x9000 && r->sw != 0x6282)
        return fail(s, EMRTD_ERR_SW);
    if (r->len == 0) {
        /* We only ask for bytes the file's own length says are there: an
         * empty answer means the file is shorter than it claims. */
        return fail(s, EMRTD_ERR_FILE_FORMAT);
    }
    if (f->len == 0) {
        /* The first chunk holds the file's first TLV header. */
        if (!tlv_total(r->data, r->len, &f->total))
            return fail(s, EMRTD_ERR_FILE_FORMAT);
        if (f->total > cap)
            return fail(s, EMRTD_ERR_FILE_TOO_LARGE);
    }
    /* A card may pad the last chunk: the file ends where its header says. */
    size_t n = r->len < f->total - f->len ? r->len : f->total - f->len;
    size_t keep_cap;
    uint8_t *keep = keep_buffer(s, s->file, &keep_cap);
    if (keep) {
        if (f->total > keep_cap)
            return fail(s, EMRTD_ERR_FILE_TOO_LARGE);
        memcpy(keep + f->len, r->data, n);
    }
    if (f->buf)
        memcpy(f->buf + f->len, r->data, n);
    s->chunk = (struct emrtd_chunk){
        .id = s->file, .offset = f->len, .total = f->total, .p = r->data, .len = n};
    f->len += n;
    if (f->len == f->total) {
        f->present = true;
        *complete = true;
    } else if (r->sw == 0x6282) {
        return fail(s, EMRTD_ERR_FILE_FORMAT); /* the file ends before its own length */
    }
    return EMRTD_OK;
}

static enum emrtd_err start_sm(struct emrtd *s, enum icao_cipher cipher, const uint8_t *enc,
                               const uint8_t *mac, const uint8_t *ssc)
{
    static const uint8_t zero[ICAO_MAX_BLOCK_LEN];
    enum sm_err e = sm_init(&s->sm, cipher, enc, mac, ssc ? ssc : zero);
    if (e != SM_OK) {
        s->sm_err = e;
        return fail(s, EMRTD_ERR_SM);
    }
    s->sm_on = true;
    return EMRTD_OK;
}

enum emrtd_err emrtd_step(struct emrtd *s, const uint8_t *rapdu, size_t len, uint8_t *cmd,
                          size_t cap, size_t *cmd_len)
{
    struct rapdu r;
    enum emrtd_err e;
    bool complete;
    *cmd_len = 0;
    s->chunk.len = 0;
    if (s->state == ST_DEAD || s->state == ST_DONE || s->state == ST_IDLE)
        return EMRTD_ERR_STATE;

    switch (s->state) {
    case ST_ATR_INFO:
        if ((e = open_response(s, rapdu, len, &r)) != EMRTD_OK)
            return e;
        /* Absent or unreadable: the card said nothing, the defaults hold. */
        if ((r.sw == 0x9000 || r.sw == 0x6282) && r.len > 0)
            card_caps_from_atr_info(r.data, r.len, &s->caps);
        s->state = ST_CARDACCESS;
        start_file(s, EMRTD_EF_CARDACCESS);
        return read_next(s, cmd, cap, cmd_len);

    case ST_CARDACCESS:
        if ((e = open_response(s, rapdu, len, &r)) != EMRTD_OK)
            return e;
        if (read_smaller(s, &r))
            return read_next(s, cmd, cap, cmd_len);
        if (r.sw == 0x6A82 || r.sw == 0x6982 || r.sw == 0x6986) {
            /* No EF.CardAccess: a BAC-only document (9303-11 §4.2). */
            if (!s->p.mrz_info)
                return fail(s, EMRTD_ERR_NO_ACCESS);
            s->state = ST_SELECT;
            return next_command(s, cmd, cap, cmd_len);
        }
        if ((e = take_read(s, &r, &complete)) != EMRTD_OK)
            return e;
        if (!complete)
            return read_next(s, cmd, cap, cmd_len);
        size_t idx;
        const struct emrtd_file *ca = &s->ev.file[EMRTD_EF_CARDACCESS];
        bool pace = cardaccess_parse(s->parse_buf, ca->len, &s->infos) == CARDACCESS_OK &&
                    cardaccess_select_pace(&s->infos, &idx) == CARDACCESS_OK;
        if (!pace) {
            if (!s->p.mrz_info)
                return fail(s, EMRTD_ERR_NO_ACCESS);
            s->state = ST_SELECT;
            return next_command(s, cmd, cap, cmd_len);
        }
        s->state = ST_PACE;
        s->phase = EMRTD_PHASE_PACE;
        {
            bool use_can = s->p.can != NULL;
            unsigned flags =
                cardaccess_pace_ambiguous(&s->infos, idx) ? PACE_FLAG_SEND_PARAMETER_ID : 0;
            s->pace_err = pace_begin(&s->pace, &s->infos.pace[idx],
                                     use_can ? PACE_PASSWORD_CAN : PACE_PASSWORD_MRZ,
                                     use_can ? s->p.can : (const uint8_t *)s->p.mrz_info,
                                     use_can ? s->p.can_len : s->p.mrz_info_len, flags, s->p.rng,
                                     s->p.rng_ctx, s->p.groups, cmd, cap, cmd_len);
            if (s->pace_err != PACE_OK)
                return fail(s, EMRTD_ERR_PACE);
            s->apdus++;
            return EMRTD_OK;
        }

    case ST_PACE: {
        s->pace_err = pace_step(&s->pace, rapdu, len, cmd, cap, cmd_len);
        if (s->pace_err != PACE_OK) {
            s->sw = s->pace.sw;
            return fail(s, EMRTD_ERR_PACE);
        }
        if (*cmd_len) {
            s->apdus++;
            return EMRTD_OK;
        }
        struct pace_result res;
        if (pace_get_result(&s->pace, &res) != PACE_OK)
            return fail(s, EMRTD_ERR_PACE);
        e = start_sm(s, res.cipher, res.ks_enc, res.ks_mac, NULL);
        wipe(&res, sizeof res);
        pace_wipe(&s->pace);
        if (e != EMRTD_OK)
            return e;
        s->ev.pace = true;
        s->state = ST_SELECT;
        return next_command(s, cmd, cap, cmd_len);
    }

    case ST_SELECT:
        if ((e = open_response(s, rapdu, len, &r)) != EMRTD_OK)
            return e;
        if (r.sw != 0x9000)
            return fail(s, EMRTD_ERR_SW);
        s->state = s->sm_on || s->p.sm_by_reader ? ST_READ : ST_BAC_CHALLENGE;
        return next_command(s, cmd, cap, cmd_len);

    case ST_BAC_CHALLENGE: {
        if ((e = open_response(s, rapdu, len, &r)) != EMRTD_OK)
            return e;
        if (r.sw != 0x9000)
            return fail(s, EMRTD_ERR_SW);
        uint8_t data[BAC_CRYPTO_LEN];
        struct apdu a;
        if (bac_ifd_authenticate(&s->bac, r.data, r.len, s->p.rng, s->p.rng_ctx, data) != BAC_OK)
            return fail(s, EMRTD_ERR_BAC);
        bac_external_authenticate_apdu(data, &a);
        s->state = ST_BAC_AUTH;
        e = emit(s, &a, cmd, cap, cmd_len);
        wipe(data, sizeof data);
        return e;
    }

    case ST_BAC_AUTH: {
        if ((e = open_response(s, rapdu, len, &r)) != EMRTD_OK)
            return e;
        if (r.sw != 0x9000)
            return fail(s, r.sw == 0x6300 ? EMRTD_ERR_BAC : EMRTD_ERR_SW);
        struct bac_session ses;
        if (bac_ifd_finish(&s->bac, r.data, r.len, &ses) != BAC_OK)
            return fail(s, EMRTD_ERR_BAC);
        e = start_sm(s, ICAO_3DES, ses.ks_enc, ses.ks_mac, ses.ssc);
        wipe(&ses, sizeof ses);
        if (e != EMRTD_OK)
            return e;
        s->ev.bac = true;
        s->state = ST_READ;
        return next_command(s, cmd, cap, cmd_len);
    }

    case ST_READ:
        if ((e = open_response(s, rapdu, len, &r)) != EMRTD_OK)
            return e;
        if (read_smaller(s, &r))
            return read_next(s, cmd, cap, cmd_len);
        if (r.sw == 0x6A82 && s->ev.file[s->file].len == 0) {
            /* Absent: fine for EF.COM, DG11 and DG14, not for what the assertion needs. */
            if (s->file == EMRTD_DG1 || s->file == EMRTD_DG15 || s->file == EMRTD_EF_SOD)
                return fail(s, EMRTD_ERR_FILE_MISSING);
            return after_file(s, cmd, cap, cmd_len);
        }
        if ((e = take_read(s, &r, &complete)) != EMRTD_OK)
            return e;
        if (!complete)
            return read_next(s, cmd, cap, cmd_len);
        if (s->file == EMRTD_EF_COM)
            apply_com(s);
        if (s->file == EMRTD_DG14)
            /* DG14's SecurityInfos take the place of EF.CardAccess's (PACE is over). */
            s->have_dg14 = cardaccess_parse_dg14(s->parse_buf, s->ev.file[EMRTD_DG14].len,
                                                 &s->infos) == CARDACCESS_OK;
        return after_file(s, cmd, cap, cmd_len);

    case ST_CA: {
        if ((e = open_response(s, rapdu, len, &r)) != EMRTD_OK)
            return e;
        /* ca_step wants the plain response APDU back. */
        uint8_t plain[PACE_APDU_MAX];
        size_t n;
        if (rapdu_encode(r.data, r.len, r.sw, plain, sizeof plain, &n) != APDU_OK)
            return fail(s, EMRTD_ERR_RESPONSE);
        uint8_t next[PACE_APDU_MAX];
        size_t next_len;
        if (ca_step(&s->ca, plain, n, next, sizeof next, &next_len) != CA_OK)
            return fail(s, EMRTD_ERR_CA);
        if (next_len) {
            struct apdu a;
            enum apdu_case c;
            if (apdu_decode(next, next_len, &a, &c) != APDU_OK)
                return fail(s, EMRTD_ERR_CA);
            return emit(s, &a, cmd, cap, cmd_len);
        }
        struct ca_result res;
        if (ca_get_result(&s->ca, &res) != CA_OK)
            return fail(s, EMRTD_ERR_CA);
        /* 9303-11 §6.2: secure messaging restarts with the new keys, SSC 0. */
        sm_wipe(&s->sm);
        e = start_sm(s, res.cipher, res.ks_enc, res.ks_mac, NULL);
        wipe(&res, sizeof res);
        ca_wipe(&s->ca);
        if (e != EMRTD_OK)
            return e;
        s->ev.ca = true;
        s->state = ST_AA;
        return next_command(s, cmd, cap, cmd_len);
    }

    case ST_AA:
        if ((e = open_response(s, rapdu, len, &r)) != EMRTD_OK)
            return e;
        if (r.sw != 0x9000)
            return fail(s, EMRTD_ERR_SW);
        if (r.len == 0 || r.len > sizeof s->ev.aa_signature)
            return fail(s, EMRTD_ERR_RESPONSE);
        memcpy(s->ev.aa_signature, r.data, r.len);
        s->ev.aa_signature_len = r.len;
        s->ev.aa = true;
        s->state = ST_DONE;
        return next_command(s, cmd, cap, cmd_len);

    default: return fail(s, EMRTD_ERR_STATE);
    }
}

const struct emrtd_chunk *emrtd_chunk(const struct emrtd *s)
{
    return s->chunk.len ? &s->chunk : NULL;
}

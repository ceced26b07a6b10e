/*
 * libFuzzer target: the reader's eMRTD inspection (common/emrtd.c) against a
 * card that is honest or hostile answer by answer.
 *
 * The honest card is scripted here from the card-side modules: PACE
 * (pace_card_*, CAN 123456 or the MRZ information of 9303-11 Appendix G.1,
 * ECDH Generic Mapping with AES-128 as in Appendix G.1 but on NIST P-256,
 * parameterId 12, which mbedTLS computes ~3x faster than brainpoolP256r1), BAC (bac_ic_*), secure
 * messaging (sm_unwrap_command / sm_wrap_response), READ BINARY by SFI and offset over a small LDS
 * (EF.COM listing DG1, DG11, DG15; DG15 and EF.SOD longer than one short response), and an INTERNAL
 * AUTHENTICATE answered with 64 bytes. Every RNG is seeded.
 *
 * Input: byte 0 chooses the parameters (bit 0 CAN, bit 1 MRZ information,
 * both absent -> CAN; bit 2 Chip Authentication; bit 3 Active
 * Authentication; bit 4 extended lengths; bit 5 a BAC-only card without
 * EF.CardAccess; bit 6 the AA challenge from challenge/origin/DG1; bit 7
 * EF.ATR/INFO read first), byte 1
 * the largest Le and the command buffer size. Then, per response, a control
 * byte: 00-7F the honest card answers; 80-BF raw bytes follow (a length
 * byte, then that many bytes: hostile answers, under SM too); C0-FF a
 * length byte and that many bytes of plain data whose last two are the
 * status word, which the card wraps with its secure messaging when it is on
 * (hostile content with a correct MAC: a hostile file, a hostile DG14 that
 * starts Chip Authentication, CA and AA answers).
 *
 * Invariants: commands fit the buffer and decode as command APDUs; evidence
 * lengths never exceed their buffers; a file marked present has exactly the
 * length its first TLV header says; after any error emrtd_step answers
 * EMRTD_ERR_STATE with no command, and the secrets are wiped; a completed
 * inspection has DG1 and EF.SOD.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hawiya/apdu.h"
#include "hawiya/bac.h"
#include "hawiya/emrtd.h"
#include "hawiya/pace.h"
#include "hawiya/sm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 9303-11 Appendix G.1: MRZ information of the worked example. */
static const char mrz_info[] = "T22000129364081251010318";
static const char can[] = "123456";

/* EF.CardAccess of Appendix G.1 (id-PACE-ECDH-GM-AES-CBC-CMAC-128) with parameterId 12. */
static const uint8_t ef_cardaccess[] = {0x31, 0x14, 0x30, 0x12, 0x06, 0x0A, 0x04, 0x00,
                                        0x7F, 0x00, 0x07, 0x02, 0x02, 0x04, 0x02, 0x02,
                                        0x02, 0x01, 0x02, 0x02, 0x01, 0x0C};
/* EF.COM (9303-10 §4.6.1): LDS 0107, Unicode 040000, tag list DG1 DG11 DG15. */
static const uint8_t ef_com[] = {0x60, 0x15, 0x5F, 0x01, 0x04, 0x30, 0x31, 0x30,
                                 0x37, 0x5F, 0x36, 0x06, 0x30, 0x34, 0x30, 0x30,
                                 0x30, 0x30, 0x5C, 0x03, 0x61, 0x6B, 0x6F};
static const uint8_t dg11[] = {0x6B, 0x0A, 0x5C, 0x02, 0x5F, 0x0E, 0x5F, 0x0E, 0x03, 'A', 'B', 'C'};

/* DG1, DG15 and EF.SOD: a TLV header and filler (emrtd reads, never parses, them). */
static uint8_t dg1[2 + 3 + 90], dg15[4 + 300], sod[4 + 2000];

struct file {
    uint8_t sfi;
    const uint8_t *data;
    size_t len;
};

struct card {
    bool bac_only;
    struct pace_card pace;
    struct pace_info info;
    struct bac_ic bac;
    struct sm_ctx sm;
    bool sm_on;
    int cur; /* current EF, -1 none */
    uint64_t rng;
};

static struct file files[6];

static int xorshift(void *p, unsigned char *out, size_t len)
{
    uint64_t *x = p;
    for (size_t i = 0; i < len; i++) {
        *x ^= *x << 13;
        *x ^= *x >> 7;
        *x ^= *x << 17;
        out[i] = (uint8_t)(*x >> 32);
    }
    return 0;
}

static int bac_rng(void *p, uint8_t *out, size_t len)
{
    return xorshift(p, out, len);
}

static void init_files(void)
{
    dg1[0] = 0x61;
    dg1[1] = sizeof dg1 - 2;
    dg1[2] = 0x5F;
    dg1[3] = 0x1F;
    dg1[4] = 90;
    memset(dg1 + 5, '<', 90);
    memcpy(dg1 + 5, "IDUTOL898902C36<<<<<<<<<<<<<<<", 30);
    dg15[0] = 0x6F;
    dg15[1] = 0x82;
    dg15[2] = (uint8_t)((sizeof dg15 - 4) >> 8);
    dg15[3] = (uint8_t)(sizeof dg15 - 4);
    sod[0] = 0x77;
    sod[1] = 0x82;
    sod[2] = (uint8_t)((sizeof sod - 4) >> 8);
    sod[3] = (uint8_t)(sizeof sod - 4);
    for (size_t i = 4; i < sizeof dg15; i++)
        dg15[i] = (uint8_t)(i * 7);
    for (size_t i = 4; i < sizeof sod; i++)
        sod[i] = (uint8_t)(i * 13);
    files[0] = (struct file){0x1C, ef_cardaccess, sizeof ef_cardaccess};
    files[1] = (struct file){0x1E, ef_com, sizeof ef_com};
    files[2] = (struct file){0x01, dg1, sizeof dg1};
    files[3] = (struct file){0x0B, dg11, sizeof dg11};
    files[4] = (struct file){0x0F, dg15, sizeof dg15};
    files[5] = (struct file){0x1D, sod, sizeof sod};
}

/* The plain answer of the honest card's file system and AA. */
static uint16_t card_plain(struct card *c, const struct apdu *a, uint8_t *out, size_t cap,
                           size_t *n)
{
    *n = 0;
    switch (a->ins) {
    case 0xA4: return 0x9000;
    case 0xB0: {
        size_t off;
        if (a->p1 & 0x80) {
            c->cur = -1;
            for (int i = 0; i < 6; i++)
                if (files[i].sfi == (a->p1 & 0x1F) && !(i == 0 && c->bac_only))
                    c->cur = i;
            off = a->p2;
        } else {
            off = (size_t)a->p1 << 8 | a->p2;
        }
        if (c->cur < 0)
            return 0x6A82;
        const struct file *f = &files[c->cur];
        if (off > f->len)
            return 0x6B00;
        size_t k = a->ne ? a->ne : 256;
        if (k > f->len - off)
            k = f->len - off;
        if (k > cap)
            k = cap;
        memcpy(out, f->data + off, k);
        *n = k;
        return k < a->ne ? 0x6282 : 0x9000;
    }
    case 0x88:
        if (cap < 64)
            return 0x6700;
        memset(out, 0xA5, 64);
        *n = 64;
        return 0x9000;
    default: return 0x6D00;
    }
}

/* The honest card: one command in, one response out. */
static size_t card_answer(struct card *c, const uint8_t *cmd, size_t len, uint8_t *resp, size_t cap)
{
    struct apdu a, plain;
    enum apdu_case ac;
    size_t n = 0;
    uint16_t sw;
    static uint8_t buf[8192], data[8192];

    if (apdu_decode(cmd, len, &a, &ac) != APDU_OK) {
        resp[0] = 0x67;
        resp[1] = 0x00;
        return 2;
    }
    if (c->sm_on) {
        if ((a.cla & 0x0C) != 0x0C || sm_unwrap_command(&c->sm, &a, buf, sizeof buf, &plain)) {
            /* 9303-11 §9.8: the card ends secure messaging. */
            sm_wipe(&c->sm);
            c->sm_on = false;
            resp[0] = 0x69;
            resp[1] = 0x88;
            return 2;
        }
        sw = card_plain(c, &plain, data, sizeof data, &n);
        if (sm_wrap_response(&c->sm, plain.ins, data, n, sw, resp, cap, &n) != SM_OK)
            __builtin_trap();
        return n;
    }
    if (a.ins == 0x22 || a.ins == 0x86) {
        if (c->bac_only) {
            resp[0] = 0x6D;
            resp[1] = 0x00;
            return 2;
        }
        pace_card_process(&c->pace, cmd, len, resp, cap, &n);
        if (pace_card_done(&c->pace)) {
            static const uint8_t zero[16];
            struct pace_result r;
            if (pace_card_get_result(&c->pace, &r) != PACE_OK ||
                sm_init(&c->sm, r.cipher, r.ks_enc, r.ks_mac, zero) != SM_OK)
                __builtin_trap();
            pace_card_wipe(&c->pace);
            c->sm_on = true;
        }
        return n;
    }
    if (a.ins == 0x84) {
        if (bac_ic_get_challenge(&c->bac, bac_rng, &c->rng, resp) != BAC_OK)
            __builtin_trap();
        resp[8] = 0x90;
        resp[9] = 0x00;
        return 10;
    }
    if (a.ins == 0x82) {
        struct bac_session s;
        if (bac_ic_authenticate(&c->bac, a.data, a.nc, bac_rng, &c->rng, resp, &s) != BAC_OK) {
            resp[0] = 0x63;
            resp[1] = 0x00;
            return 2;
        }
        if (sm_init(&c->sm, ICAO_3DES, s.ks_enc, s.ks_mac, s.ssc) != SM_OK)
            __builtin_trap();
        c->sm_on = true;
        resp[40] = 0x90;
        resp[41] = 0x00;
        return 42;
    }
    sw = card_plain(c, &a, resp, cap - 2, &n);
    resp[n] = (uint8_t)(sw >> 8);
    resp[n + 1] = (uint8_t)sw;
    return n + 2;
}

/* Hostile plain data with a correct MAC: the card keeps its SSC in step. */
static size_t card_wrap(struct card *c, const uint8_t *cmd, size_t len, const uint8_t *p, size_t n,
                        uint8_t *resp, size_t cap)
{
    struct apdu a, plain;
    enum apdu_case ac;
    static uint8_t buf[8192];
    if (n < 2 || !c->sm_on || apdu_decode(cmd, len, &a, &ac) != APDU_OK ||
        sm_unwrap_command(&c->sm, &a, buf, sizeof buf, &plain) != SM_OK) {
        memcpy(resp, p, n);
        return n;
    }
    uint16_t sw = (uint16_t)(p[n - 2] << 8 | p[n - 1]);
    size_t out;
    if (sm_wrap_response(&c->sm, plain.ins, p, n - 2, sw, resp, cap, &out) != SM_OK)
        __builtin_trap();
    return out;
}

/* The file's length from its first TLV header (one tag byte, BER length). */
static bool header_total(const uint8_t *p, size_t n, size_t *total)
{
    if (n < 2)
        return false;
    if (!(p[1] & 0x80)) {
        *total = 2u + p[1];
        return true;
    }
    size_t k = p[1] & 0x7F, v = 0;
    if (k < 1 || k > 3 || n < 2 + k)
        return false;
    for (size_t i = 0; i < k; i++)
        v = v << 8 | p[2 + i];
    *total = 2 + k + v;
    return true;
}

static bool all_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= b[i];
    return acc == 0;
}

static void check_evidence(const struct emrtd *em)
{
    for (int f = 0; f < EMRTD_FILES; f++) {
        const struct emrtd_file *file = &em->ev.file[f];
        size_t total;
        if (file->total > (f == EMRTD_EF_SOD ? EMRTD_SOD_MAX : EMRTD_SMALL_FILE) ||
            file->len > file->total || (file->present && file->len != file->total))
            __builtin_trap();
        if (file->buf && file->present &&
            (!header_total(file->buf, file->len, &total) || total != file->len))
            __builtin_trap();
    }
    /* The chunk a step brought lies in its file, and a store holds the same bytes. */
    const struct emrtd_chunk *c = emrtd_chunk(em);
    if (c) {
        const struct emrtd_file *file = &em->ev.file[c->id];
        if (c->total != file->total || c->offset + c->len != file->len)
            __builtin_trap();
        if (file->buf && memcmp(file->buf + c->offset, c->p, c->len) != 0)
            __builtin_trap();
    }
    if (em->ev.aa_signature_len > sizeof em->ev.aa_signature ||
        em->ev.aa != (em->ev.aa_signature_len > 0))
        __builtin_trap();
}

static void check_wiped(const struct emrtd *em)
{
    if (em->sm_on || em->sm.alive || !all_zero(em->sm.ks_enc, sizeof em->sm.ks_enc) ||
        !all_zero(em->sm.ks_mac, sizeof em->sm.ks_mac) || em->p.can || em->p.mrz_info ||
        !all_zero(em->pace.c.kpi, sizeof em->pace.c.kpi) ||
        !all_zero(em->pace.c.sk, sizeof em->pace.c.sk) ||
        !all_zero(em->bac.keys.k_enc, sizeof em->bac.keys.k_enc) ||
        !all_zero(em->scratch, sizeof em->scratch))
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t les[4] = {0, 256, 4096, 100};
    static const size_t caps[4] = {700, 300, 80, 20};
    static struct emrtd em;
    static struct card card;
    static uint8_t cmd[700], resp[8192 + 128];
    static const uint8_t challenge[32] = {1, 2, 3};
    static bool ready;
    if (!ready) {
        init_files();
        ready = true;
    }
    if (size < 2 || size > 4096)
        return 0;

    uint8_t cfg = data[0], lim = data[1];
    data += 2;
    size -= 2;
    uint64_t reader_rng = 0x0123456789ABCDEFull;
    static struct emrtd_files files;
    struct emrtd_params p = {
        .files = (lim & 0x10) ? &files : NULL,
        .can = (cfg & 1) || !(cfg & 2) ? (const uint8_t *)can : NULL,
        .can_len = sizeof can - 1,
        .mrz_info = (cfg & 2) ? mrz_info : NULL,
        .mrz_info_len = sizeof mrz_info - 1,
        .challenge = (cfg & 0x40) ? challenge : NULL,
        .challenge_len = sizeof challenge,
        .origin = (const uint8_t *)"https://hr.example",
        .origin_len = 18,
        .aa_challenge = {8, 7, 6, 5, 4, 3, 2, 1},
        .chip_authentication = (cfg & 4) != 0,
        .active_authentication = (cfg & 8) != 0,
        .max_le = les[lim & 3],
        .extended = (cfg & 0x10) != 0,
        .caps = {.known = true, .extended = (cfg & 0x10) != 0},
        .atr_info = (cfg & 0x80) != 0,
        .rng = xorshift,
        .rng_ctx = &reader_rng,
    };
    size_t cap = caps[(lim >> 2) & 3];

    memset(&card, 0, sizeof card);
    card.bac_only = (cfg & 0x20) != 0;
    card.cur = -1;
    card.rng = 0xFEDCBA9876543210ull;
    card.info =
        (struct pace_info){.oid = {0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x04, 0x02, 0x02},
                           .oid_len = 10,
                           .ka = PACE_KA_ECDH,
                           .mapping = PACE_MAPPING_GM,
                           .cipher = ICAO_AES128,
                           .version = 2,
                           .has_parameter_id = true,
                           .parameter_id = PACE_PARAM_SECP256R1};
    struct pace_card_config pc = {.infos = &card.info,
                                  .n_infos = 1,
                                  .mrz_info = (const uint8_t *)mrz_info,
                                  .mrz_info_len = sizeof mrz_info - 1,
                                  .can = (const uint8_t *)can,
                                  .can_len = sizeof can - 1,
                                  .rng = xorshift,
                                  .rng_ctx = &card.rng};
    pace_card_init(&card.pace, &pc);
    struct bac_keys keys;
    if (bac_keys_from_mrz_info(mrz_info, sizeof mrz_info - 1, NULL, &keys) != BAC_OK)
        __builtin_trap();
    bac_ic_init(&card.bac, &keys);

    size_t cmd_len;
    enum emrtd_err e = emrtd_begin(&em, &p, cmd, cap, &cmd_len);
    while (e == EMRTD_OK && cmd_len > 0 && size > 0) {
        struct apdu a;
        enum apdu_case ac;
        if (cmd_len > cap || apdu_decode(cmd, cmd_len, &a, &ac) != APDU_OK)
            __builtin_trap();
        uint8_t ctl = data[0];
        data++;
        size--;
        size_t rlen;
        if (ctl < 0x80) {
            rlen = card_answer(&card, cmd, cmd_len, resp, sizeof resp);
        } else {
            size_t n = size ? data[0] : 0;
            if (size)
                data++, size--;
            if (n > size)
                n = size;
            if (ctl < 0xC0) {
                memcpy(resp, data, n);
                rlen = n;
            } else {
                rlen = card_wrap(&card, cmd, cmd_len, data, n, resp, sizeof resp);
            }
            data += n;
            size -= n;
        }
        e = emrtd_step(&em, resp, rlen, cmd, cap, &cmd_len);
        check_evidence(&em);
    }
    if (e != EMRTD_OK) {
        static const uint8_t ok[] = {0x90, 0x00};
        if (cmd_len != 0 || emrtd_step(&em, ok, sizeof ok, cmd, cap, &cmd_len) != EMRTD_ERR_STATE ||
            cmd_len != 0)
            __builtin_trap();
        check_wiped(&em);
    } else if (cmd_len == 0) {
        if (em.phase != EMRTD_PHASE_DONE || !em.ev.file[EMRTD_DG1].present ||
            !em.ev.file[EMRTD_EF_SOD].present)
            __builtin_trap();
        check_wiped(&em);
    }
    emrtd_wipe(&em);
    pace_card_wipe(&card.pace);
    bac_ic_wipe(&card.bac);
    sm_wipe(&card.sm);
    return 0;
}

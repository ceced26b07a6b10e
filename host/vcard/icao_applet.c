#include "icao_applet.h"

#include <string.h>

#include "hawiya/aa.h"
#include "hawiya/wipe.h"

#define INS_MSE              0x22
#define INS_EXTERNAL_AUTH    0x82
#define INS_GET_CHALLENGE    0x84
#define INS_GENERAL_AUTH     0x86
#define INS_INTERNAL_AUTH    0x88
#define INS_SELECT           0xA4
#define INS_READ_BINARY      0xB0
#define INS_READ_BINARY_ODD  0xB1
#define CLA_CHAINING         0x10
#define SW_CONDITIONS_NOT_OK 0x6985

const char *icao_applet_err_str(enum icao_applet_err e)
{
    switch (e) {
    case ICAO_APPLET_OK: return "ICAO_APPLET_OK";
    case ICAO_APPLET_ERR_ARGS: return "ICAO_APPLET_ERR_ARGS";
    case ICAO_APPLET_ERR_MRZ_INFO: return "ICAO_APPLET_ERR_MRZ_INFO";
    case ICAO_APPLET_ERR_REGISTER: return "ICAO_APPLET_ERR_REGISTER";
    }
    return "ICAO_APPLET_ERR_UNKNOWN";
}

static void end_session(struct icao_applet *ia)
{
    sm_wipe(&ia->sm);
    ca_card_wipe(&ia->ca);
    ia->session = ICAO_SESSION_NONE;
}

/* Secure messaging with fresh keys; Chip Authentication becomes possible. */
static void start_session(struct icao_applet *ia, enum icao_session kind, enum icao_cipher cipher,
                          const uint8_t *ks_enc, const uint8_t *ks_mac, const uint8_t *ssc)
{
    static const uint8_t zero_ssc[ICAO_MAX_BLOCK_LEN];
    end_session(ia);
    if (sm_init(&ia->sm, cipher, ks_enc, ks_mac, ssc ? ssc : zero_ssc) != SM_OK) {
        sm_wipe(&ia->sm);
        return;
    }
    ia->session = kind;
    /* A failed init leaves the ca_card unusable: CA then answers 6985. */
    if (ca_card_init(&ia->ca, ia->pki->ca_info, ia->pki->ca_spki, ia->pki->ca_spki_len,
                     ia->pki->ca_sk, ia->pki->ca_sk_len, ia->rng, ia->rng_ctx) != CA_OK)
        ca_card_wipe(&ia->ca);
}

/* Copies a protocol's response APDU rapdu[0..rlen) (data || SW) to the applet's output. */
static uint16_t take_response(const uint8_t *rapdu, size_t rlen, uint8_t *out, size_t cap,
                              size_t *out_len)
{
    *out_len = 0;
    if (rlen < 2)
        return SW_NO_DIAGNOSIS;
    if (rlen - 2 > cap)
        return SW_NO_DIAGNOSIS;
    memcpy(out, rapdu, rlen - 2);
    *out_len = rlen - 2;
    return (uint16_t)(rapdu[rlen - 2] << 8 | rapdu[rlen - 1]);
}

/* --- plain commands: access control ------------------------------------------ */

static uint16_t pace(struct icao_applet *ia, const struct apdu *a, uint8_t *out, size_t cap,
                     size_t *rlen)
{
    size_t raw_len, rr;
    if (!ia->pki->has_card_access)
        return a->ins == INS_MSE ? SW_REFERENCED_DATA_NOT_FOUND : SW_INS_NOT_SUPPORTED;
    if (apdu_encode(a, ia->raw, sizeof ia->raw, &raw_len) != APDU_OK)
        return SW_WRONG_LENGTH;
    pace_card_process(&ia->pace, ia->raw, raw_len, ia->rraw, sizeof ia->rraw, &rr);
    uint16_t sw = take_response(ia->rraw, rr, out, cap, rlen);
    wipe(ia->raw, sizeof ia->raw);
    wipe(ia->rraw, sizeof ia->rraw);
    if (sw == SW_NO_DIAGNOSIS) {
        pace_card_wipe(&ia->pace);
        return sw;
    }
    if (pace_card_done(&ia->pace)) {
        /* The token exchange went out in plain; SM starts with the next command (§4.4). */
        struct pace_result r;
        if (pace_card_get_result(&ia->pace, &r) == PACE_OK)
            start_session(ia, ICAO_SESSION_PACE, r.cipher, r.ks_enc, r.ks_mac, NULL);
        wipe(&r, sizeof r);
        pace_card_wipe(&ia->pace);
        if (ia->session == ICAO_SESSION_NONE) {
            *rlen = 0;
            return SW_NO_DIAGNOSIS;
        }
    }
    return sw;
}

static uint16_t get_challenge(struct icao_applet *ia, const struct apdu *a, uint8_t *out,
                              size_t cap, size_t *rlen)
{
    if (a->p1 != 0 || a->p2 != 0)
        return SW_WRONG_P1P2;
    if (a->nc != 0 || a->ne != BAC_RND_LEN)
        return SW_WRONG_LENGTH;
    if (!ia->rng)
        return SW_CONDITIONS_NOT_OK;
    if (cap < BAC_RND_LEN)
        return SW_NO_DIAGNOSIS;
    if (bac_ic_get_challenge(&ia->bac, ia->rng, ia->rng_ctx, out) != BAC_OK)
        return SW_NO_DIAGNOSIS;
    *rlen = BAC_RND_LEN;
    return SW_OK;
}

static uint16_t external_authenticate(struct icao_applet *ia, const struct apdu *a, uint8_t *out,
                                      size_t cap, size_t *rlen)
{
    struct bac_session s;
    if (a->p1 != 0 || a->p2 != 0)
        return SW_WRONG_P1P2;
    if (a->nc != BAC_CRYPTO_LEN || a->ne < BAC_CRYPTO_LEN)
        return SW_WRONG_LENGTH;
    if (!ia->rng)
        return SW_CONDITIONS_NOT_OK;
    if (cap < BAC_CRYPTO_LEN)
        return SW_NO_DIAGNOSIS;
    enum bac_err e = bac_ic_authenticate(&ia->bac, a->data, a->nc, ia->rng, ia->rng_ctx, out, &s);
    /* Keep the keys for the next attempt; the challenge is burnt either way. */
    bac_ic_init(&ia->bac, &ia->bac_keys);
    switch (e) {
    case BAC_OK: break;
    case BAC_ERR_STATE: return SW_CONDITIONS_NOT_OK; /* no GET CHALLENGE before */
    case BAC_ERR_MAC:
    case BAC_ERR_RND_IC: return SW_AUTHENTICATION_FAILED;
    default: return SW_NO_DIAGNOSIS;
    }
    start_session(ia, ICAO_SESSION_BAC, ICAO_3DES, s.ks_enc, s.ks_mac, s.ssc);
    wipe(&s, sizeof s);
    if (ia->session == ICAO_SESSION_NONE)
        return SW_NO_DIAGNOSIS;
    *rlen = BAC_CRYPTO_LEN;
    return SW_OK;
}

static enum vcard_applet_result plain(struct icao_applet *ia, const struct apdu *a, uint8_t *out,
                                      size_t cap, size_t *rlen, uint16_t *sw)
{
    if ((a->cla & ~CLA_CHAINING) != 0)
        return VCARD_APPLET_PASS;
    switch (a->ins) {
    case INS_MSE:
    case INS_GENERAL_AUTH: *sw = pace(ia, a, out, cap, rlen); return VCARD_APPLET_DONE;
    }
    if (a->cla != 0)
        return VCARD_APPLET_PASS;
    switch (a->ins) {
    case INS_GET_CHALLENGE: *sw = get_challenge(ia, a, out, cap, rlen); return VCARD_APPLET_DONE;
    case INS_EXTERNAL_AUTH:
        *sw = external_authenticate(ia, a, out, cap, rlen);
        return VCARD_APPLET_DONE;
    case INS_INTERNAL_AUTH:
        /* Active Authentication only after access control (9303-11 §6.1). */
        *sw = SW_SECURITY_STATUS;
        return VCARD_APPLET_DONE;
    }
    return VCARD_APPLET_PASS;
}

/* --- protected commands ---------------------------------------------------------- */

static uint16_t internal_authenticate(struct icao_applet *ia, const struct apdu *a, uint8_t *out,
                                      size_t cap, size_t *rlen)
{
    struct pki_card *pki = ia->pki;
    size_t sig_len = aa_signature_len(&pki->aa_key);
    if (a->p1 != 0 || a->p2 != 0)
        return SW_WRONG_P1P2;
    if (a->nc != AA_CHALLENGE_LEN || a->ne < sig_len)
        return SW_WRONG_LENGTH;
    if (!ia->rng)
        return SW_CONDITIONS_NOT_OK;
    if (sig_len == 0 || sig_len > cap)
        return SW_NO_DIAGNOSIS;
    if (aa_card_sign(mbedtls_pk_ec(pki->aa_key), a->data, a->nc, pki->aa_hash, ia->rng, ia->rng_ctx,
                     out, cap, rlen) != AA_OK) {
        *rlen = 0;
        return SW_NO_DIAGNOSIS;
    }
    return SW_OK;
}

static uint16_t chip_authentication(struct icao_applet *ia, const struct apdu *a, uint8_t *out,
                                    size_t cap, size_t *rlen)
{
    size_t raw_len, rr;
    /* Every CA command carries data; ca_card_process is not handed empty ones
     * (its GENERAL AUTHENTICATE does pointer arithmetic on the NULL data). */
    if (a->nc == 0)
        return SW_WRONG_DATA;
    if (apdu_encode(a, ia->raw, sizeof ia->raw, &raw_len) != APDU_OK)
        return SW_WRONG_LENGTH;
    ca_card_process(&ia->ca, ia->raw, raw_len, ia->rraw, sizeof ia->rraw, &rr);
    wipe(ia->raw, sizeof ia->raw);
    return take_response(ia->rraw, rr, out, cap, rlen);
}

/*
 * Bytes of a response once wrapped (9303-11 §9.8): DO'87' (01 || padded
 * cryptogram; DO'85' without the 01 for odd INS), DO'99' (4), DO'8E' (10).
 */
static size_t wrapped_len(size_t n, size_t block, bool odd)
{
    if (n == 0)
        return 4 + 10;
    size_t body = (n / block + 1) * block + (odd ? 0 : 1);
    size_t len_len = body < 0x80 ? 1 : body < 0x100 ? 2 : body < 0x10000 ? 3 : 4;
    return 1 + len_len + body + 4 + 10;
}

/* The most plain bytes (at most `max`) whose wrapped response fits in cap. */
static size_t sm_room(size_t max, size_t cap, size_t block, bool odd)
{
    size_t n = max;
    while (n > 0 && wrapped_len(n, block, odd) > cap)
        n--;
    return n;
}

static enum vcard_applet_result protected_command(struct icao_applet *ia, struct vcard *c,
                                                  const struct apdu *a, uint8_t *out, size_t cap,
                                                  size_t *rlen, uint16_t *sw)
{
    struct apdu in;
    size_t n = 0, wlen = 0;
    uint16_t isw;

    *sw = SW_SM_DATA_OBJECTS_INCORRECT;
    if (!ia->sm.alive)
        return VCARD_APPLET_DONE;
    if (sm_unwrap_command(&ia->sm, a, ia->cmd, sizeof ia->cmd, &in) != SM_OK) {
        end_session(ia);
        return VCARD_APPLET_DONE;
    }
    size_t data_cap = sm_room(cap < sizeof ia->data ? cap : sizeof ia->data, cap, ia->sm.block,
                              (in.ins & 1) != 0);
    switch (in.ins) {
    case INS_READ_BINARY:
    case INS_READ_BINARY_ODD:
        /* A card whose response buffer cannot hold the protected answer to
         * this Le refuses it (what chips limited below 256 bytes do); the
         * reader should have asked for less (EF.ATR/INFO says how much). */
        if (in.ne > data_cap && c->persona->max_ne < APDU_NE_SHORT) {
            ia->le_refused++;
            isw = SW_WRONG_LENGTH;
            break;
        }
        isw = vcard_fs_command(c, &in, VFS_SEC_SM, ia->data, data_cap, &n);
        break;
    case INS_SELECT:
    case INS_GET_CHALLENGE:
        isw = vcard_fs_command(c, &in, VFS_SEC_SM, ia->data, data_cap, &n);
        break;
    case INS_INTERNAL_AUTH: isw = internal_authenticate(ia, &in, ia->data, data_cap, &n); break;
    case INS_MSE:
    case INS_GENERAL_AUTH: isw = chip_authentication(ia, &in, ia->data, data_cap, &n); break;
    default: isw = SW_INS_NOT_SUPPORTED; break;
    }
    wipe(ia->cmd, in.nc < sizeof ia->cmd ? in.nc : sizeof ia->cmd);
    if (n > data_cap)
        n = 0, isw = SW_NO_DIAGNOSIS;
    enum sm_err e =
        sm_wrap_response(&ia->sm, in.ins, ia->data, n, isw, ia->wrapped, sizeof ia->wrapped, &wlen);
    wipe(ia->data, n);
    if (e != SM_OK || wlen < 2 || wlen - 2 > cap) {
        end_session(ia);
        *sw = SW_NO_DIAGNOSIS;
        return VCARD_APPLET_DONE;
    }
    *sw = take_response(ia->wrapped, wlen, out, cap, rlen);
    /* Chip Authentication's 90 00 went under the old keys; the new ones start now (§6.2). */
    if ((in.ins == INS_MSE || in.ins == INS_GENERAL_AUTH) && ca_card_done(&ia->ca)) {
        struct ca_result r;
        if (ca_card_get_result(&ia->ca, &r) == CA_OK) {
            if (sm_init(&ia->sm, r.cipher, r.ks_enc, r.ks_mac,
                        (const uint8_t[ICAO_MAX_BLOCK_LEN]){0}) == SM_OK)
                ia->session = ICAO_SESSION_CA;
            else
                end_session(ia);
        }
        wipe(&r, sizeof r);
        ca_card_wipe(&ia->ca); /* once per session */
    }
    return VCARD_APPLET_DONE;
}

/* --- the vcard applet -------------------------------------------------------- */

/* 7816-4 §5.4.1: interindustry class with secure messaging bits b4-b3 set. */
static bool is_protected(uint8_t cla)
{
    return (cla & 0x80) == 0 && (cla & 0x40) == 0 && (cla & 0x0C) != 0;
}

static enum vcard_applet_result process(struct vcard *c, void *ctx, const struct apdu *a,
                                        uint8_t *out, size_t cap, size_t *rlen, uint16_t *sw)
{
    struct icao_applet *ia = ctx;
    *rlen = 0;
    if (!ia->pki) /* wiped: the card is being swapped */
        return VCARD_APPLET_PASS;
    if (is_protected(a->cla))
        return protected_command(ia, c, a, out, cap, rlen, sw);
    /* §9.8: an unprotected command during secure messaging aborts the session. */
    if (ia->session != ICAO_SESSION_NONE || ia->sm.alive)
        end_session(ia);
    return plain(ia, a, out, cap, rlen, sw);
}

static void reset(struct vcard *c, void *ctx)
{
    struct icao_applet *ia = ctx;
    (void)c;
    end_session(ia);
    pace_card_wipe(&ia->pace);
    bac_ic_init(&ia->bac, &ia->bac_keys);
}

static const struct vcard_applet icao_applet_desc = {
    .name = "eMRTD",
    .aid = {0xA0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x01},
    .aid_len = 7,
    .flags = VCARD_APPLET_CARD_LEVEL,
    .process = process,
    .reset = reset,
};

enum icao_applet_err icao_applet_init(struct icao_applet *ia, struct pki_card *pki,
                                      const struct persona *p, pace_rng_fn rng, void *rng_ctx)
{
    if (!ia || !pki || !pki->loaded || !p)
        return ICAO_APPLET_ERR_ARGS;
    memset(ia, 0, sizeof *ia);
    ia->pki = pki;
    ia->rng = rng;
    ia->rng_ctx = rng_ctx;
    ia->can_len = strlen(p->holder.can);
    if (ia->can_len > sizeof ia->can)
        ia->can_len = 0;
    memcpy(ia->can, p->holder.can, ia->can_len);
    if (bac_keys_from_mrz_info(pki->mrz_info, pki->mrz_info_len, NULL, &ia->bac_keys) != BAC_OK) {
        icao_applet_wipe(ia);
        return ICAO_APPLET_ERR_MRZ_INFO;
    }
    bac_ic_init(&ia->bac, &ia->bac_keys);
    struct pace_card_config cfg = {
        .infos = pki->card_access.pace,
        .n_infos = pki->has_card_access ? pki->card_access.n_pace : 0,
        .mrz_info = (const uint8_t *)pki->mrz_info,
        .mrz_info_len = pki->mrz_info_len,
        .can = ia->can_len ? ia->can : NULL,
        .can_len = ia->can_len,
        .rng = rng,
        .rng_ctx = rng_ctx,
    };
    pace_card_init(&ia->pace, &cfg);
    return ICAO_APPLET_OK;
}

enum icao_applet_err icao_applet_register(struct icao_applet *ia, struct vcard *c)
{
    if (!ia || !ia->pki || !c)
        return ICAO_APPLET_ERR_ARGS;
    return vcard_register_applet(c, &icao_applet_desc, ia) == VCARD_OK ? ICAO_APPLET_OK
                                                                       : ICAO_APPLET_ERR_REGISTER;
}

enum icao_session icao_applet_session(const struct icao_applet *ia)
{
    return ia && ia->sm.alive ? ia->session : ICAO_SESSION_NONE;
}

void icao_applet_wipe(struct icao_applet *ia)
{
    if (!ia)
        return;
    end_session(ia);
    pace_card_wipe(&ia->pace);
    bac_ic_wipe(&ia->bac);
    wipe(ia, sizeof *ia);
}

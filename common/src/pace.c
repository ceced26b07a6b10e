#include "hawiya/pace.h"

#include "hawiya/ecp_groups.h"

#include <string.h>

#include <mbedtls/bignum.h>
#include <mbedtls/ecp.h>
#include <mbedtls/sha1.h>

#include "hawiya/apdu.h"
#include "hawiya/wipe.h"

const char *pace_err_str(enum pace_err e)
{
    switch (e) {
    case PACE_OK: return "PACE_OK";
    case PACE_ERR_UNSUPPORTED: return "PACE_ERR_UNSUPPORTED";
    case PACE_ERR_PASSWORD: return "PACE_ERR_PASSWORD";
    case PACE_ERR_STATE: return "PACE_ERR_STATE";
    case PACE_ERR_BUFFER: return "PACE_ERR_BUFFER";
    case PACE_ERR_RNG: return "PACE_ERR_RNG";
    case PACE_ERR_SW: return "PACE_ERR_SW";
    case PACE_ERR_BAD_RESPONSE: return "PACE_ERR_BAD_RESPONSE";
    case PACE_ERR_BAD_TAG: return "PACE_ERR_BAD_TAG";
    case PACE_ERR_BAD_LENGTH: return "PACE_ERR_BAD_LENGTH";
    case PACE_ERR_BAD_NONCE: return "PACE_ERR_BAD_NONCE";
    case PACE_ERR_BAD_POINT: return "PACE_ERR_BAD_POINT";
    case PACE_ERR_MAPPING: return "PACE_ERR_MAPPING";
    case PACE_ERR_ECHOED_KEY: return "PACE_ERR_ECHOED_KEY";
    case PACE_ERR_TOKEN_MISMATCH: return "PACE_ERR_TOKEN_MISMATCH";
    case PACE_ERR_TOKEN_REJECTED: return "PACE_ERR_TOKEN_REJECTED";
    case PACE_ERR_BAD_COMMAND: return "PACE_ERR_BAD_COMMAND";
    case PACE_ERR_CRYPTO: return "PACE_ERR_CRYPTO";
    }
    return "PACE_ERR_UNKNOWN";
}

/* Dynamic authentication data objects of GENERAL AUTHENTICATE (§4.4.4.2, Table 4). */
#define DO_DYN_AUTH        0x7C
#define DO_NONCE           0x80
#define DO_MAP_IFD         0x81
#define DO_MAP_IC          0x82
#define DO_KA_IFD          0x83
#define DO_KA_IC           0x84
#define DO_TOKEN_IFD       0x85
#define DO_TOKEN_IC        0x86
#define DO_CAR1            0x87 /* certification authority references (EAC, TR-03110) */
#define DO_CAR2            0x88
#define DO_CAM_DATA        0x8A /* encrypted chip authentication data (PACE-CAM) */
#define DO_PUBLIC_POINT    0x86 /* inside 7F49, §9.4.2 / TR-03110-3 D.3.3 */
#define DO_DH_PUBLIC_VALUE 0x84 /* inside 7F49, TR-03110-3 D.3.2 */

#define INS_MSE                  0x22
#define INS_GENERAL_AUTHENTICATE 0x86
#define CLA_CHAINING             0x10

#define SW_OK                0x9000
#define SW_AUTH_FAILED       0x6300
#define SW_WRONG_DATA        0x6A80
#define SW_REF_NOT_FOUND     0x6A88
#define SW_CONDITIONS        0x6985
#define SW_WRONG_P1P2        0x6A86
#define SW_INS_UNSUPPORTED   0x6D00
#define SW_LAST_CMD_EXPECTED 0x6883

#define TOKEN_LEN ICAO_MAC_LEN

/* ---- BER-TLV of the GENERAL AUTHENTICATE data fields ------------------ */

/* Length forms 7816-4 allows: short, 81 xx, 82 xx xx (no card sends more). */
static enum pace_err ber_get(const uint8_t **p, const uint8_t *end, uint8_t tag, const uint8_t **v,
                             size_t *vlen)
{
    const uint8_t *q = *p;
    size_t len;
    if (q >= end)
        return PACE_ERR_BAD_LENGTH;
    if (*q != tag)
        return PACE_ERR_BAD_TAG;
    q++;
    if (q >= end)
        return PACE_ERR_BAD_LENGTH;
    if (*q < 0x80) {
        len = *q++;
    } else if (*q == 0x81) {
        if (end - q < 2)
            return PACE_ERR_BAD_LENGTH;
        len = q[1];
        q += 2;
    } else if (*q == 0x82) {
        if (end - q < 3)
            return PACE_ERR_BAD_LENGTH;
        len = (size_t)q[1] << 8 | q[2];
        q += 3;
    } else {
        return PACE_ERR_BAD_LENGTH;
    }
    if ((size_t)(end - q) < len)
        return PACE_ERR_BAD_LENGTH;
    *v = q;
    *vlen = len;
    *p = q + len;
    return PACE_OK;
}

static size_t ber_len_size(size_t len)
{
    return len < 0x80 ? 1 : len <= 0xFF ? 2 : 3;
}

/* Writes tag and length; the caller has checked the room. */
static size_t ber_put_header(uint8_t *out, uint8_t tag, size_t len)
{
    size_t n = 0;
    out[n++] = tag;
    if (len >= 0x100) {
        out[n++] = 0x82;
        out[n++] = (uint8_t)(len >> 8);
    } else if (len >= 0x80) {
        out[n++] = 0x81;
    }
    out[n++] = (uint8_t)len;
    return n;
}

/*
 * data[0..len) must be exactly one 7C object holding one object with `tag`
 * (absent when tag == 0: 7C 00). After the token 86, the EAC references
 * 87 / 88 and PACE-CAM's 8A are tolerated and ignored.
 */
static enum pace_err dyn_auth_get(const uint8_t *data, size_t len, uint8_t tag, const uint8_t **v,
                                  size_t *vlen)
{
    if (data == NULL || len == 0)
        return PACE_ERR_BAD_LENGTH;
    const uint8_t *p = data, *end = data + len, *in;
    size_t in_len;
    enum pace_err e = ber_get(&p, end, DO_DYN_AUTH, &in, &in_len);
    if (e != PACE_OK)
        return e;
    if (p != end)
        return PACE_ERR_BAD_LENGTH;
    const uint8_t *in_end = in + in_len;
    if (tag == 0)
        return in_len == 0 ? PACE_OK : PACE_ERR_BAD_TAG;
    e = ber_get(&in, in_end, tag, v, vlen);
    if (e != PACE_OK)
        return e;
    while (in < in_end) {
        const uint8_t *ignored;
        size_t ignored_len;
        if (tag != DO_TOKEN_IC || (*in != DO_CAR1 && *in != DO_CAR2 && *in != DO_CAM_DATA))
            return PACE_ERR_BAD_TAG;
        e = ber_get(&in, in_end, *in, &ignored, &ignored_len);
        if (e != PACE_OK)
            return e;
    }
    return PACE_OK;
}

/* GENERAL AUTHENTICATE with 7C{tag value} (or 7C{} when tag == 0), Le = 00. */
static enum pace_err put_ga(uint8_t cla, uint8_t tag, const uint8_t *v, size_t vlen, uint8_t *cmd,
                            size_t cap, size_t *cmd_len)
{
    uint8_t data[PACE_APDU_MAX];
    size_t inner = tag ? 1 + ber_len_size(vlen) + vlen : 0;
    size_t n = 0;
    if (1 + ber_len_size(inner) + inner > sizeof data)
        return PACE_ERR_BUFFER;
    n += ber_put_header(data, DO_DYN_AUTH, inner);
    if (tag) {
        n += ber_put_header(data + n, tag, vlen);
        memcpy(data + n, v, vlen);
        n += vlen;
    }
    struct apdu a = {
        .cla = cla,
        .ins = INS_GENERAL_AUTHENTICATE,
        .p1 = 0,
        .p2 = 0,
        .data = data,
        .nc = n,
        .ne = APDU_NE_SHORT,
    };
    return apdu_encode(&a, cmd, cap, cmd_len) == APDU_OK ? PACE_OK : PACE_ERR_BUFFER;
}

/* Response data || SW, as the card side sends it. */
static enum pace_err put_response(uint8_t tag, const uint8_t *v, size_t vlen, uint16_t sw,
                                  uint8_t *out, size_t cap, size_t *out_len)
{
    uint8_t data[PACE_APDU_MAX];
    size_t n = 0;
    if (tag) {
        size_t inner = 1 + ber_len_size(vlen) + vlen;
        if (1 + ber_len_size(inner) + inner > sizeof data)
            return PACE_ERR_BUFFER;
        n += ber_put_header(data, DO_DYN_AUTH, inner);
        n += ber_put_header(data + n, tag, vlen);
        memcpy(data + n, v, vlen);
        n += vlen;
    }
    return rapdu_encode(data, n, sw, out, cap, out_len) == APDU_OK ? PACE_OK : PACE_ERR_BUFFER;
}

/* ---- primitives shared by both roles ------------------------------------ */

static void core_reset(struct pace_core *c)
{
    pace_rng_fn rng = c->rng, blind = c->blind;
    void *rng_ctx = c->rng_ctx, *blind_ctx = c->blind_ctx;
    struct ecp_groups *groups = c->groups;
    wipe(c, sizeof *c);
    c->rng = rng;
    c->rng_ctx = rng_ctx;
    c->blind = blind;
    c->blind_ctx = blind_ctx;
    c->groups = groups;
}

void pace_core_set_blinding_rng(struct pace_core *c, pace_rng_fn blind, void *blind_ctx)
{
    c->blind = blind;
    c->blind_ctx = blind_ctx;
}

/* K_pi = KDF(f(pi), 3), §9.7.3: f = SHA-1(MRZ information) or the CAN itself. */
static enum pace_err derive_kpi(struct pace_core *c, enum pace_password type, const uint8_t *pw,
                                size_t pw_len)
{
    uint8_t h[20];
    enum icao_crypto_err ce;
    if (pw == NULL || pw_len == 0 || pw_len > PACE_MAX_PASSWORD_LEN)
        return PACE_ERR_PASSWORD;
    if (type == PACE_PASSWORD_MRZ) {
        if (mbedtls_sha1_ret(pw, pw_len, h) != 0)
            return PACE_ERR_CRYPTO;
        ce = icao_kdf(c->info.cipher, h, sizeof h, ICAO_KDF_PACE, c->kpi);
        wipe(h, sizeof h);
    } else if (type == PACE_PASSWORD_CAN) {
        ce = icao_kdf(c->info.cipher, pw, pw_len, ICAO_KDF_PACE, c->kpi);
    } else {
        return PACE_ERR_PASSWORD;
    }
    return ce == ICAO_CRYPTO_OK ? PACE_OK : PACE_ERR_CRYPTO;
}

/*
 * The standardized DH groups of §9.5.1 (Table 7, parameterIds 0-2): the
 * MODP groups with prime order subgroups of RFC 5114 §2.1-2.3, as OpenSSL
 * prints them (`openssl genpkey -genparam -algorithm DHX -pkeyopt
 * dh_rfc5114:N`), in the order p, g, q.
 */
static const uint8_t modp1024_160_p[128] = {
    0xB1, 0x0B, 0x8F, 0x96, 0xA0, 0x80, 0xE0, 0x1D, 0xDE, 0x92, 0xDE, 0x5E, 0xAE, 0x5D, 0x54, 0xEC,
    0x52, 0xC9, 0x9F, 0xBC, 0xFB, 0x06, 0xA3, 0xC6, 0x9A, 0x6A, 0x9D, 0xCA, 0x52, 0xD2, 0x3B, 0x61,
    0x60, 0x73, 0xE2, 0x86, 0x75, 0xA2, 0x3D, 0x18, 0x98, 0x38, 0xEF, 0x1E, 0x2E, 0xE6, 0x52, 0xC0,
    0x13, 0xEC, 0xB4, 0xAE, 0xA9, 0x06, 0x11, 0x23, 0x24, 0x97, 0x5C, 0x3C, 0xD4, 0x9B, 0x83, 0xBF,
    0xAC, 0xCB, 0xDD, 0x7D, 0x90, 0xC4, 0xBD, 0x70, 0x98, 0x48, 0x8E, 0x9C, 0x21, 0x9A, 0x73, 0x72,
    0x4E, 0xFF, 0xD6, 0xFA, 0xE5, 0x64, 0x47, 0x38, 0xFA, 0xA3, 0x1A, 0x4F, 0xF5, 0x5B, 0xCC, 0xC0,
    0xA1, 0x51, 0xAF, 0x5F, 0x0D, 0xC8, 0xB4, 0xBD, 0x45, 0xBF, 0x37, 0xDF, 0x36, 0x5C, 0x1A, 0x65,
    0xE6, 0x8C, 0xFD, 0xA7, 0x6D, 0x4D, 0xA7, 0x08, 0xDF, 0x1F, 0xB2, 0xBC, 0x2E, 0x4A, 0x43, 0x71};
static const uint8_t modp1024_160_g[128] = {
    0xA4, 0xD1, 0xCB, 0xD5, 0xC3, 0xFD, 0x34, 0x12, 0x67, 0x65, 0xA4, 0x42, 0xEF, 0xB9, 0x99, 0x05,
    0xF8, 0x10, 0x4D, 0xD2, 0x58, 0xAC, 0x50, 0x7F, 0xD6, 0x40, 0x6C, 0xFF, 0x14, 0x26, 0x6D, 0x31,
    0x26, 0x6F, 0xEA, 0x1E, 0x5C, 0x41, 0x56, 0x4B, 0x77, 0x7E, 0x69, 0x0F, 0x55, 0x04, 0xF2, 0x13,
    0x16, 0x02, 0x17, 0xB4, 0xB0, 0x1B, 0x88, 0x6A, 0x5E, 0x91, 0x54, 0x7F, 0x9E, 0x27, 0x49, 0xF4,
    0xD7, 0xFB, 0xD7, 0xD3, 0xB9, 0xA9, 0x2E, 0xE1, 0x90, 0x9D, 0x0D, 0x22, 0x63, 0xF8, 0x0A, 0x76,
    0xA6, 0xA2, 0x4C, 0x08, 0x7A, 0x09, 0x1F, 0x53, 0x1D, 0xBF, 0x0A, 0x01, 0x69, 0xB6, 0xA2, 0x8A,
    0xD6, 0x62, 0xA4, 0xD1, 0x8E, 0x73, 0xAF, 0xA3, 0x2D, 0x77, 0x9D, 0x59, 0x18, 0xD0, 0x8B, 0xC8,
    0x85, 0x8F, 0x4D, 0xCE, 0xF9, 0x7C, 0x2A, 0x24, 0x85, 0x5E, 0x6E, 0xEB, 0x22, 0xB3, 0xB2, 0xE5};
static const uint8_t modp1024_160_q[20] = {0xF5, 0x18, 0xAA, 0x87, 0x81, 0xA8, 0xDF,
                                           0x27, 0x8A, 0xBA, 0x4E, 0x7D, 0x64, 0xB7,
                                           0xCB, 0x9D, 0x49, 0x46, 0x23, 0x53};
static const uint8_t modp2048_224_p[256] = {
    0xAD, 0x10, 0x7E, 0x1E, 0x91, 0x23, 0xA9, 0xD0, 0xD6, 0x60, 0xFA, 0xA7, 0x95, 0x59, 0xC5, 0x1F,
    0xA2, 0x0D, 0x64, 0xE5, 0x68, 0x3B, 0x9F, 0xD1, 0xB5, 0x4B, 0x15, 0x97, 0xB6, 0x1D, 0x0A, 0x75,
    0xE6, 0xFA, 0x14, 0x1D, 0xF9, 0x5A, 0x56, 0xDB, 0xAF, 0x9A, 0x3C, 0x40, 0x7B, 0xA1, 0xDF, 0x15,
    0xEB, 0x3D, 0x68, 0x8A, 0x30, 0x9C, 0x18, 0x0E, 0x1D, 0xE6, 0xB8, 0x5A, 0x12, 0x74, 0xA0, 0xA6,
    0x6D, 0x3F, 0x81, 0x52, 0xAD, 0x6A, 0xC2, 0x12, 0x90, 0x37, 0xC9, 0xED, 0xEF, 0xDA, 0x4D, 0xF8,
    0xD9, 0x1E, 0x8F, 0xEF, 0x55, 0xB7, 0x39, 0x4B, 0x7A, 0xD5, 0xB7, 0xD0, 0xB6, 0xC1, 0x22, 0x07,
    0xC9, 0xF9, 0x8D, 0x11, 0xED, 0x34, 0xDB, 0xF6, 0xC6, 0xBA, 0x0B, 0x2C, 0x8B, 0xBC, 0x27, 0xBE,
    0x6A, 0x00, 0xE0, 0xA0, 0xB9, 0xC4, 0x97, 0x08, 0xB3, 0xBF, 0x8A, 0x31, 0x70, 0x91, 0x88, 0x36,
    0x81, 0x28, 0x61, 0x30, 0xBC, 0x89, 0x85, 0xDB, 0x16, 0x02, 0xE7, 0x14, 0x41, 0x5D, 0x93, 0x30,
    0x27, 0x82, 0x73, 0xC7, 0xDE, 0x31, 0xEF, 0xDC, 0x73, 0x10, 0xF7, 0x12, 0x1F, 0xD5, 0xA0, 0x74,
    0x15, 0x98, 0x7D, 0x9A, 0xDC, 0x0A, 0x48, 0x6D, 0xCD, 0xF9, 0x3A, 0xCC, 0x44, 0x32, 0x83, 0x87,
    0x31, 0x5D, 0x75, 0xE1, 0x98, 0xC6, 0x41, 0xA4, 0x80, 0xCD, 0x86, 0xA1, 0xB9, 0xE5, 0x87, 0xE8,
    0xBE, 0x60, 0xE6, 0x9C, 0xC9, 0x28, 0xB2, 0xB9, 0xC5, 0x21, 0x72, 0xE4, 0x13, 0x04, 0x2E, 0x9B,
    0x23, 0xF1, 0x0B, 0x0E, 0x16, 0xE7, 0x97, 0x63, 0xC9, 0xB5, 0x3D, 0xCF, 0x4B, 0xA8, 0x0A, 0x29,
    0xE3, 0xFB, 0x73, 0xC1, 0x6B, 0x8E, 0x75, 0xB9, 0x7E, 0xF3, 0x63, 0xE2, 0xFF, 0xA3, 0x1F, 0x71,
    0xCF, 0x9D, 0xE5, 0x38, 0x4E, 0x71, 0xB8, 0x1C, 0x0A, 0xC4, 0xDF, 0xFE, 0x0C, 0x10, 0xE6, 0x4F};
static const uint8_t modp2048_224_g[256] = {
    0xAC, 0x40, 0x32, 0xEF, 0x4F, 0x2D, 0x9A, 0xE3, 0x9D, 0xF3, 0x0B, 0x5C, 0x8F, 0xFD, 0xAC, 0x50,
    0x6C, 0xDE, 0xBE, 0x7B, 0x89, 0x99, 0x8C, 0xAF, 0x74, 0x86, 0x6A, 0x08, 0xCF, 0xE4, 0xFF, 0xE3,
    0xA6, 0x82, 0x4A, 0x4E, 0x10, 0xB9, 0xA6, 0xF0, 0xDD, 0x92, 0x1F, 0x01, 0xA7, 0x0C, 0x4A, 0xFA,
    0xAB, 0x73, 0x9D, 0x77, 0x00, 0xC2, 0x9F, 0x52, 0xC5, 0x7D, 0xB1, 0x7C, 0x62, 0x0A, 0x86, 0x52,
    0xBE, 0x5E, 0x90, 0x01, 0xA8, 0xD6, 0x6A, 0xD7, 0xC1, 0x76, 0x69, 0x10, 0x19, 0x99, 0x02, 0x4A,
    0xF4, 0xD0, 0x27, 0x27, 0x5A, 0xC1, 0x34, 0x8B, 0xB8, 0xA7, 0x62, 0xD0, 0x52, 0x1B, 0xC9, 0x8A,
    0xE2, 0x47, 0x15, 0x04, 0x22, 0xEA, 0x1E, 0xD4, 0x09, 0x93, 0x9D, 0x54, 0xDA, 0x74, 0x60, 0xCD,
    0xB5, 0xF6, 0xC6, 0xB2, 0x50, 0x71, 0x7C, 0xBE, 0xF1, 0x80, 0xEB, 0x34, 0x11, 0x8E, 0x98, 0xD1,
    0x19, 0x52, 0x9A, 0x45, 0xD6, 0xF8, 0x34, 0x56, 0x6E, 0x30, 0x25, 0xE3, 0x16, 0xA3, 0x30, 0xEF,
    0xBB, 0x77, 0xA8, 0x6F, 0x0C, 0x1A, 0xB1, 0x5B, 0x05, 0x1A, 0xE3, 0xD4, 0x28, 0xC8, 0xF8, 0xAC,
    0xB7, 0x0A, 0x81, 0x37, 0x15, 0x0B, 0x8E, 0xEB, 0x10, 0xE1, 0x83, 0xED, 0xD1, 0x99, 0x63, 0xDD,
    0xD9, 0xE2, 0x63, 0xE4, 0x77, 0x05, 0x89, 0xEF, 0x6A, 0xA2, 0x1E, 0x7F, 0x5F, 0x2F, 0xF3, 0x81,
    0xB5, 0x39, 0xCC, 0xE3, 0x40, 0x9D, 0x13, 0xCD, 0x56, 0x6A, 0xFB, 0xB4, 0x8D, 0x6C, 0x01, 0x91,
    0x81, 0xE1, 0xBC, 0xFE, 0x94, 0xB3, 0x02, 0x69, 0xED, 0xFE, 0x72, 0xFE, 0x9B, 0x6A, 0xA4, 0xBD,
    0x7B, 0x5A, 0x0F, 0x1C, 0x71, 0xCF, 0xFF, 0x4C, 0x19, 0xC4, 0x18, 0xE1, 0xF6, 0xEC, 0x01, 0x79,
    0x81, 0xBC, 0x08, 0x7F, 0x2A, 0x70, 0x65, 0xB3, 0x84, 0xB8, 0x90, 0xD3, 0x19, 0x1F, 0x2B, 0xFA};
static const uint8_t modp2048_224_q[28] = {
    0x80, 0x1C, 0x0D, 0x34, 0xC5, 0x8D, 0x93, 0xFE, 0x99, 0x71, 0x77, 0x10, 0x1F, 0x80,
    0x53, 0x5A, 0x47, 0x38, 0xCE, 0xBC, 0xBF, 0x38, 0x9A, 0x99, 0xB3, 0x63, 0x71, 0xEB};
static const uint8_t modp2048_256_p[256] = {
    0x87, 0xA8, 0xE6, 0x1D, 0xB4, 0xB6, 0x66, 0x3C, 0xFF, 0xBB, 0xD1, 0x9C, 0x65, 0x19, 0x59, 0x99,
    0x8C, 0xEE, 0xF6, 0x08, 0x66, 0x0D, 0xD0, 0xF2, 0x5D, 0x2C, 0xEE, 0xD4, 0x43, 0x5E, 0x3B, 0x00,
    0xE0, 0x0D, 0xF8, 0xF1, 0xD6, 0x19, 0x57, 0xD4, 0xFA, 0xF7, 0xDF, 0x45, 0x61, 0xB2, 0xAA, 0x30,
    0x16, 0xC3, 0xD9, 0x11, 0x34, 0x09, 0x6F, 0xAA, 0x3B, 0xF4, 0x29, 0x6D, 0x83, 0x0E, 0x9A, 0x7C,
    0x20, 0x9E, 0x0C, 0x64, 0x97, 0x51, 0x7A, 0xBD, 0x5A, 0x8A, 0x9D, 0x30, 0x6B, 0xCF, 0x67, 0xED,
    0x91, 0xF9, 0xE6, 0x72, 0x5B, 0x47, 0x58, 0xC0, 0x22, 0xE0, 0xB1, 0xEF, 0x42, 0x75, 0xBF, 0x7B,
    0x6C, 0x5B, 0xFC, 0x11, 0xD4, 0x5F, 0x90, 0x88, 0xB9, 0x41, 0xF5, 0x4E, 0xB1, 0xE5, 0x9B, 0xB8,
    0xBC, 0x39, 0xA0, 0xBF, 0x12, 0x30, 0x7F, 0x5C, 0x4F, 0xDB, 0x70, 0xC5, 0x81, 0xB2, 0x3F, 0x76,
    0xB6, 0x3A, 0xCA, 0xE1, 0xCA, 0xA6, 0xB7, 0x90, 0x2D, 0x52, 0x52, 0x67, 0x35, 0x48, 0x8A, 0x0E,
    0xF1, 0x3C, 0x6D, 0x9A, 0x51, 0xBF, 0xA4, 0xAB, 0x3A, 0xD8, 0x34, 0x77, 0x96, 0x52, 0x4D, 0x8E,
    0xF6, 0xA1, 0x67, 0xB5, 0xA4, 0x18, 0x25, 0xD9, 0x67, 0xE1, 0x44, 0xE5, 0x14, 0x05, 0x64, 0x25,
    0x1C, 0xCA, 0xCB, 0x83, 0xE6, 0xB4, 0x86, 0xF6, 0xB3, 0xCA, 0x3F, 0x79, 0x71, 0x50, 0x60, 0x26,
    0xC0, 0xB8, 0x57, 0xF6, 0x89, 0x96, 0x28, 0x56, 0xDE, 0xD4, 0x01, 0x0A, 0xBD, 0x0B, 0xE6, 0x21,
    0xC3, 0xA3, 0x96, 0x0A, 0x54, 0xE7, 0x10, 0xC3, 0x75, 0xF2, 0x63, 0x75, 0xD7, 0x01, 0x41, 0x03,
    0xA4, 0xB5, 0x43, 0x30, 0xC1, 0x98, 0xAF, 0x12, 0x61, 0x16, 0xD2, 0x27, 0x6E, 0x11, 0x71, 0x5F,
    0x69, 0x38, 0x77, 0xFA, 0xD7, 0xEF, 0x09, 0xCA, 0xDB, 0x09, 0x4A, 0xE9, 0x1E, 0x1A, 0x15, 0x97};
static const uint8_t modp2048_256_g[256] = {
    0x3F, 0xB3, 0x2C, 0x9B, 0x73, 0x13, 0x4D, 0x0B, 0x2E, 0x77, 0x50, 0x66, 0x60, 0xED, 0xBD, 0x48,
    0x4C, 0xA7, 0xB1, 0x8F, 0x21, 0xEF, 0x20, 0x54, 0x07, 0xF4, 0x79, 0x3A, 0x1A, 0x0B, 0xA1, 0x25,
    0x10, 0xDB, 0xC1, 0x50, 0x77, 0xBE, 0x46, 0x3F, 0xFF, 0x4F, 0xED, 0x4A, 0xAC, 0x0B, 0xB5, 0x55,
    0xBE, 0x3A, 0x6C, 0x1B, 0x0C, 0x6B, 0x47, 0xB1, 0xBC, 0x37, 0x73, 0xBF, 0x7E, 0x8C, 0x6F, 0x62,
    0x90, 0x12, 0x28, 0xF8, 0xC2, 0x8C, 0xBB, 0x18, 0xA5, 0x5A, 0xE3, 0x13, 0x41, 0x00, 0x0A, 0x65,
    0x01, 0x96, 0xF9, 0x31, 0xC7, 0x7A, 0x57, 0xF2, 0xDD, 0xF4, 0x63, 0xE5, 0xE9, 0xEC, 0x14, 0x4B,
    0x77, 0x7D, 0xE6, 0x2A, 0xAA, 0xB8, 0xA8, 0x62, 0x8A, 0xC3, 0x76, 0xD2, 0x82, 0xD6, 0xED, 0x38,
    0x64, 0xE6, 0x79, 0x82, 0x42, 0x8E, 0xBC, 0x83, 0x1D, 0x14, 0x34, 0x8F, 0x6F, 0x2F, 0x91, 0x93,
    0xB5, 0x04, 0x5A, 0xF2, 0x76, 0x71, 0x64, 0xE1, 0xDF, 0xC9, 0x67, 0xC1, 0xFB, 0x3F, 0x2E, 0x55,
    0xA4, 0xBD, 0x1B, 0xFF, 0xE8, 0x3B, 0x9C, 0x80, 0xD0, 0x52, 0xB9, 0x85, 0xD1, 0x82, 0xEA, 0x0A,
    0xDB, 0x2A, 0x3B, 0x73, 0x13, 0xD3, 0xFE, 0x14, 0xC8, 0x48, 0x4B, 0x1E, 0x05, 0x25, 0x88, 0xB9,
    0xB7, 0xD2, 0xBB, 0xD2, 0xDF, 0x01, 0x61, 0x99, 0xEC, 0xD0, 0x6E, 0x15, 0x57, 0xCD, 0x09, 0x15,
    0xB3, 0x35, 0x3B, 0xBB, 0x64, 0xE0, 0xEC, 0x37, 0x7F, 0xD0, 0x28, 0x37, 0x0D, 0xF9, 0x2B, 0x52,
    0xC7, 0x89, 0x14, 0x28, 0xCD, 0xC6, 0x7E, 0xB6, 0x18, 0x4B, 0x52, 0x3D, 0x1D, 0xB2, 0x46, 0xC3,
    0x2F, 0x63, 0x07, 0x84, 0x90, 0xF0, 0x0E, 0xF8, 0xD6, 0x47, 0xD1, 0x48, 0xD4, 0x79, 0x54, 0x51,
    0x5E, 0x23, 0x27, 0xCF, 0xEF, 0x98, 0xC5, 0x82, 0x66, 0x4B, 0x4C, 0x0F, 0x6C, 0xC4, 0x16, 0x59};
static const uint8_t modp2048_256_q[32] = {
    0x8C, 0xF8, 0x36, 0x42, 0xA7, 0x09, 0xA0, 0x97, 0xB4, 0x47, 0x99, 0x76, 0x40, 0x12, 0x9D, 0xA2,
    0x99, 0xB1, 0xA4, 0x7D, 0x1E, 0xB3, 0x75, 0x0B, 0xA3, 0x08, 0xB0, 0xFE, 0x64, 0xF5, 0xFB, 0xD3};

struct dh_group {
    const uint8_t *p, *g, *q;
    size_t p_len, q_len;
};

static const struct dh_group dh_groups[] = {
    {modp1024_160_p, modp1024_160_g, modp1024_160_q, sizeof modp1024_160_p, sizeof modp1024_160_q},
    {modp2048_224_p, modp2048_224_g, modp2048_224_q, sizeof modp2048_224_p, sizeof modp2048_224_q},
    {modp2048_256_p, modp2048_256_g, modp2048_256_q, sizeof modp2048_256_p, sizeof modp2048_256_q},
};

static const struct dh_group *dh_group_of(uint32_t parameter_id)
{
    return parameter_id < sizeof dh_groups / sizeof dh_groups[0] ? &dh_groups[parameter_id] : NULL;
}

static enum pace_err core_start(struct pace_core *c, const struct pace_info *info)
{
    core_reset(c);
    if (info == NULL || !pace_info_supported(info))
        return PACE_ERR_UNSUPPORTED;
    c->info = *info;
    if (info->ka == PACE_KA_DH) {
        const struct dh_group *g = dh_group_of(info->parameter_id);
        if (g == NULL)
            return PACE_ERR_UNSUPPORTED;
        c->group = MBEDTLS_ECP_DP_NONE;
        c->field_len = g->p_len;
        c->n_len = g->q_len;
        c->point_len = g->p_len;
        return PACE_OK;
    }
    c->group = pace_param_ecp_group(info->parameter_id);
    const mbedtls_ecp_curve_info *ci = mbedtls_ecp_curve_info_from_grp_id(c->group);
    if (ci == NULL)
        return PACE_ERR_UNSUPPORTED;
    c->field_len = ((size_t)ci->bit_size + 7) / 8;
    c->n_len = c->field_len; /* every standardized curve has an order as long as p */
    c->point_len = 1 + 2 * c->field_len;
    return PACE_OK;
}

/*
 * The standardized group: the caller's kept one (hawiya/ecp_groups.h, with
 * mbedTLS's table of multiples of G) or `local`, loaded now. Either way its
 * constants may be shared, so the mapped generator is never written into
 * grp->G: it is a separate point.
 */
static enum pace_err use_group(const struct pace_core *c, mbedtls_ecp_group *local,
                               mbedtls_ecp_group **grp)
{
    *grp = ecp_groups_get(c->groups, (mbedtls_ecp_group_id)c->group);
    if (*grp != NULL)
        return PACE_OK;
    *grp = local;
    return ecp_group_load_fast(local, (mbedtls_ecp_group_id)c->group) == 0 ? PACE_OK
                                                                           : PACE_ERR_CRYPTO;
}

/* The group and G~ (already validated when it was computed). */
static enum pace_err use_mapped(const struct pace_core *c, mbedtls_ecp_group *local,
                                mbedtls_ecp_group **grp, mbedtls_ecp_point *gm)
{
    enum pace_err e = use_group(c, local, grp);
    if (e == PACE_OK && mbedtls_ecp_point_read_binary(*grp, gm, c->g_mapped, c->point_len) != 0)
        e = PACE_ERR_CRYPTO;
    return e;
}

/* A received public key: uncompressed, on the curve, not the identity. */
static enum pace_err read_point(const struct pace_core *c, const mbedtls_ecp_group *grp,
                                const uint8_t *buf, size_t len, mbedtls_ecp_point *pt)
{
    if (len != c->point_len || buf[0] != 0x04)
        return PACE_ERR_BAD_POINT;
    if (mbedtls_ecp_point_read_binary(grp, pt, buf, len) != 0)
        return PACE_ERR_BAD_POINT;
    if (mbedtls_ecp_check_pubkey(grp, pt) != 0)
        return PACE_ERR_BAD_POINT;
    return PACE_OK;
}

static enum pace_err write_point(const struct pace_core *c, const mbedtls_ecp_group *grp,
                                 const mbedtls_ecp_point *pt, uint8_t *out)
{
    size_t olen;
    if (mbedtls_ecp_point_write_binary(grp, pt, MBEDTLS_ECP_PF_UNCOMPRESSED, &olen, out,
                                       PACE_MAX_POINT_LEN) != 0 ||
        olen != c->point_len)
        return PACE_ERR_CRYPTO;
    return PACE_OK;
}

/*
 * A fresh private key in [1, n-1] into c->sk by rejection sampling (the
 * excess high bits of the drawn bytes masked off), and PK = SK * G.
 */
static enum pace_err draw_scalar(struct pace_core *c, const mbedtls_mpi *n, mbedtls_mpi *d)
{
    size_t excess = c->n_len * 8 - mbedtls_mpi_bitlen(n);
    for (int tries = 0; tries < 32; tries++) {
        if (c->rng == NULL || c->rng(c->rng_ctx, c->sk, c->n_len) != 0)
            break;
        c->sk[0] &= (uint8_t)(0xFF >> excess);
        if (mbedtls_mpi_read_binary(d, c->sk, c->n_len) != 0)
            return PACE_ERR_CRYPTO;
        if (mbedtls_mpi_cmp_int(d, 1) >= 0 && mbedtls_mpi_cmp_mpi(d, n) < 0)
            return PACE_OK;
    }
    wipe(c->sk, sizeof c->sk);
    return PACE_ERR_RNG;
}

static enum pace_err gen_keypair(struct pace_core *c, mbedtls_ecp_group *grp,
                                 const mbedtls_ecp_point *base, uint8_t *pk)
{
    mbedtls_mpi d;
    mbedtls_ecp_point q;
    mbedtls_mpi_init(&d);
    mbedtls_ecp_point_init(&q);
    enum pace_err e = draw_scalar(c, &grp->N, &d);
    if (e == PACE_OK) {
        if (mbedtls_ecp_mul(grp, &q, &d, base, c->blind, c->blind_ctx) != 0)
            e = PACE_ERR_CRYPTO;
        else
            e = write_point(c, grp, &q, pk);
    }
    if (e != PACE_OK)
        wipe(c->sk, sizeof c->sk);
    mbedtls_mpi_free(&d);
    mbedtls_ecp_point_free(&q);
    return e;
}

/* R = c->sk * peer, which must not be the identity. */
static enum pace_err mul_peer(struct pace_core *c, mbedtls_ecp_group *grp,
                              const mbedtls_ecp_point *peer, mbedtls_ecp_point *r)
{
    mbedtls_mpi d;
    enum pace_err e = PACE_OK;
    mbedtls_mpi_init(&d);
    if (mbedtls_mpi_read_binary(&d, c->sk, c->n_len) != 0 ||
        mbedtls_ecp_mul(grp, r, &d, peer, c->blind, c->blind_ctx) != 0)
        e = PACE_ERR_CRYPTO;
    else if (mbedtls_ecp_is_zero(r))
        e = PACE_ERR_BAD_POINT;
    mbedtls_mpi_free(&d);
    return e;
}

/*
 * Generic Mapping for ECDH (§4.4.3.3.1): H = SK_map * PK_map_peer,
 * G~ = s*G + H, stored in c->g_mapped. c->sk is SK_map and is wiped here.
 */
static enum pace_err ec_map(struct pace_core *c, const uint8_t *pk_map_peer, size_t len,
                            uint8_t *h_out)
{
    mbedtls_ecp_group local, *grp;
    mbedtls_ecp_point peer, h, sg, gm;
    mbedtls_mpi s, one;
    enum pace_err e;
    mbedtls_ecp_group_init(&local);
    mbedtls_ecp_point_init(&peer);
    mbedtls_ecp_point_init(&h);
    mbedtls_ecp_point_init(&sg);
    mbedtls_ecp_point_init(&gm);
    mbedtls_mpi_init(&s);
    mbedtls_mpi_init(&one);

    e = use_group(c, &local, &grp);
    if (e == PACE_OK)
        e = read_point(c, grp, pk_map_peer, len, &peer);
    if (e == PACE_OK)
        e = mul_peer(c, grp, &peer, &h);
    if (e == PACE_OK && h_out != NULL)
        e = write_point(c, grp, &h, h_out);
    if (e == PACE_OK) {
        /* s*G with s reduced mod n (a 32-byte nonce exceeds a 192-bit order). */
        if (mbedtls_mpi_read_binary(&s, c->s, c->s_len) != 0 ||
            mbedtls_mpi_mod_mpi(&s, &s, &grp->N) != 0 || mbedtls_mpi_lset(&one, 1) != 0)
            e = PACE_ERR_CRYPTO;
    }
    if (e == PACE_OK) {
        if (mbedtls_mpi_cmp_int(&s, 0) == 0) {
            if (mbedtls_ecp_copy(&gm, &h) != 0)
                e = PACE_ERR_CRYPTO;
        } else if (mbedtls_ecp_mul(grp, &sg, &s, &grp->G, c->blind, c->blind_ctx) != 0 ||
                   mbedtls_ecp_muladd(grp, &gm, &one, &sg, &one, &h) != 0) {
            e = PACE_ERR_CRYPTO;
        }
    }
    if (e == PACE_OK && mbedtls_ecp_is_zero(&gm))
        e = PACE_ERR_MAPPING;
    if (e == PACE_OK)
        e = write_point(c, grp, &gm, c->g_mapped);

    wipe(c->sk, sizeof c->sk);
    wipe(c->s, sizeof c->s);
    mbedtls_ecp_group_free(&local);
    mbedtls_ecp_point_free(&peer);
    mbedtls_ecp_point_free(&h);
    mbedtls_ecp_point_free(&sg);
    mbedtls_ecp_point_free(&gm);
    mbedtls_mpi_free(&s);
    mbedtls_mpi_free(&one);
    return e;
}

/* A key pair on G~: SK_DH into c->sk, PK_DH into c->pk_own. */
static enum pace_err ec_gen_dh_keypair(struct pace_core *c)
{
    mbedtls_ecp_group local, *grp;
    mbedtls_ecp_point gm;
    mbedtls_ecp_group_init(&local);
    mbedtls_ecp_point_init(&gm);
    enum pace_err e = use_mapped(c, &local, &grp, &gm);
    if (e == PACE_OK)
        e = gen_keypair(c, grp, &gm, c->pk_own);
    mbedtls_ecp_group_free(&local);
    mbedtls_ecp_point_free(&gm);
    return e;
}

/*
 * Key agreement (§4.4.3.4 step 1-2): validates PK_DH_peer, K = x(SK_DH *
 * PK_DH_peer), KS_enc and KS_mac. Wipes SK_DH and K.
 */
static enum pace_err ec_agree(struct pace_core *c, const uint8_t *pk_peer, size_t len)
{
    mbedtls_ecp_group local, *grp;
    mbedtls_ecp_point peer, k;
    uint8_t kx[PACE_MAX_FIELD_LEN];
    enum pace_err e;
    mbedtls_ecp_group_init(&local);
    mbedtls_ecp_point_init(&peer);
    mbedtls_ecp_point_init(&k);

    e = use_group(c, &local, &grp);
    if (e == PACE_OK)
        e = read_point(c, grp, pk_peer, len, &peer);
    if (e == PACE_OK && memcmp(pk_peer, c->pk_own, c->point_len) == 0)
        e = PACE_ERR_ECHOED_KEY;
    if (e == PACE_OK)
        e = mul_peer(c, grp, &peer, &k);
    if (e == PACE_OK && mbedtls_mpi_write_binary(&k.X, kx, c->field_len) != 0)
        e = PACE_ERR_CRYPTO;
    if (e == PACE_OK) {
        memcpy(c->pk_peer, pk_peer, c->point_len);
        if (icao_kdf(c->info.cipher, kx, c->field_len, ICAO_KDF_ENC, c->ks_enc) != ICAO_CRYPTO_OK ||
            icao_kdf(c->info.cipher, kx, c->field_len, ICAO_KDF_MAC, c->ks_mac) != ICAO_CRYPTO_OK)
            e = PACE_ERR_CRYPTO;
    }
    wipe(kx, sizeof kx);
    wipe(c->sk, sizeof c->sk);
    mbedtls_ecp_group_free(&local);
    mbedtls_ecp_point_free(&peer);
    mbedtls_ecp_point_free(&k);
    return e;
}

/* ---- DH (§4.4.3.3.1 on a MODP group) ------------------------------------ */

static enum pace_err dh_load(const struct pace_core *c, mbedtls_mpi *p, mbedtls_mpi *q)
{
    const struct dh_group *g = dh_group_of(c->info.parameter_id);
    if (g == NULL || mbedtls_mpi_read_binary(p, g->p, g->p_len) != 0 ||
        mbedtls_mpi_read_binary(q, g->q, g->q_len) != 0)
        return PACE_ERR_CRYPTO;
    return PACE_OK;
}

/*
 * A received DH value: exactly as long as p, 1 < y < p-1, and y^q = 1
 * mod p, i.e. in the prime order subgroup (no small-subgroup confinement).
 */
static enum pace_err dh_read_public(const struct pace_core *c, const mbedtls_mpi *p,
                                    const mbedtls_mpi *q, const uint8_t *buf, size_t len,
                                    mbedtls_mpi *y)
{
    mbedtls_mpi t;
    enum pace_err e = PACE_OK;
    if (len != c->point_len)
        return PACE_ERR_BAD_POINT;
    mbedtls_mpi_init(&t);
    if (mbedtls_mpi_read_binary(y, buf, len) != 0 || mbedtls_mpi_sub_int(&t, p, 1) != 0)
        e = PACE_ERR_CRYPTO;
    else if (mbedtls_mpi_cmp_int(y, 1) <= 0 || mbedtls_mpi_cmp_mpi(y, &t) >= 0)
        e = PACE_ERR_BAD_POINT;
    else if (mbedtls_mpi_exp_mod(&t, y, q, p, NULL) != 0)
        e = PACE_ERR_CRYPTO;
    else if (mbedtls_mpi_cmp_int(&t, 1) != 0)
        e = PACE_ERR_BAD_POINT;
    mbedtls_mpi_free(&t);
    return e;
}

/* SK into c->sk (in [1, q-1]) and PK = base^SK mod p. */
static enum pace_err dh_gen_keypair(struct pace_core *c, const uint8_t *base, uint8_t *pk)
{
    mbedtls_mpi p, q, g, d, y;
    mbedtls_mpi_init(&p);
    mbedtls_mpi_init(&q);
    mbedtls_mpi_init(&g);
    mbedtls_mpi_init(&d);
    mbedtls_mpi_init(&y);
    enum pace_err e = dh_load(c, &p, &q);
    if (e == PACE_OK && mbedtls_mpi_read_binary(&g, base, c->point_len) != 0)
        e = PACE_ERR_CRYPTO;
    if (e == PACE_OK)
        e = draw_scalar(c, &q, &d);
    if (e == PACE_OK && (mbedtls_mpi_exp_mod(&y, &g, &d, &p, NULL) != 0 ||
                         mbedtls_mpi_write_binary(&y, pk, c->point_len) != 0))
        e = PACE_ERR_CRYPTO;
    if (e != PACE_OK)
        wipe(c->sk, sizeof c->sk);
    mbedtls_mpi_free(&p);
    mbedtls_mpi_free(&q);
    mbedtls_mpi_free(&g);
    mbedtls_mpi_free(&d);
    mbedtls_mpi_free(&y);
    return e;
}

/* x = peer^c->sk mod p for a validated peer value, on the length of p. */
static enum pace_err dh_exp_peer(struct pace_core *c, const uint8_t *peer_buf, size_t len,
                                 mbedtls_mpi *x)
{
    mbedtls_mpi p, q, y, d;
    mbedtls_mpi_init(&p);
    mbedtls_mpi_init(&q);
    mbedtls_mpi_init(&y);
    mbedtls_mpi_init(&d);
    enum pace_err e = dh_load(c, &p, &q);
    if (e == PACE_OK)
        e = dh_read_public(c, &p, &q, peer_buf, len, &y);
    if (e == PACE_OK && (mbedtls_mpi_read_binary(&d, c->sk, c->n_len) != 0 ||
                         mbedtls_mpi_exp_mod(x, &y, &d, &p, NULL) != 0))
        e = PACE_ERR_CRYPTO;
    mbedtls_mpi_free(&p);
    mbedtls_mpi_free(&q);
    mbedtls_mpi_free(&y);
    mbedtls_mpi_free(&d);
    return e;
}

/* Generic Mapping: h = PK_map_peer^SK_map mod p, g~ = g^s * h mod p (not 1). */
static enum pace_err dh_map(struct pace_core *c, const uint8_t *pk_map_peer, size_t len)
{
    const struct dh_group *grp = dh_group_of(c->info.parameter_id);
    mbedtls_mpi h, p, g, s, gs, gm;
    mbedtls_mpi_init(&h);
    mbedtls_mpi_init(&p);
    mbedtls_mpi_init(&g);
    mbedtls_mpi_init(&s);
    mbedtls_mpi_init(&gs);
    mbedtls_mpi_init(&gm);
    enum pace_err e = grp != NULL ? dh_exp_peer(c, pk_map_peer, len, &h) : PACE_ERR_CRYPTO;
    if (e == PACE_OK &&
        (mbedtls_mpi_read_binary(&p, grp->p, grp->p_len) != 0 ||
         mbedtls_mpi_read_binary(&g, grp->g, grp->p_len) != 0 ||
         mbedtls_mpi_read_binary(&s, c->s, c->s_len) != 0 ||
         mbedtls_mpi_exp_mod(&gs, &g, &s, &p, NULL) != 0 ||
         mbedtls_mpi_mul_mpi(&gm, &gs, &h) != 0 || mbedtls_mpi_mod_mpi(&gm, &gm, &p) != 0))
        e = PACE_ERR_CRYPTO;
    if (e == PACE_OK && mbedtls_mpi_cmp_int(&gm, 1) <= 0)
        e = PACE_ERR_MAPPING;
    if (e == PACE_OK && mbedtls_mpi_write_binary(&gm, c->g_mapped, c->point_len) != 0)
        e = PACE_ERR_CRYPTO;
    wipe(c->sk, sizeof c->sk);
    wipe(c->s, sizeof c->s);
    mbedtls_mpi_free(&h);
    mbedtls_mpi_free(&p);
    mbedtls_mpi_free(&g);
    mbedtls_mpi_free(&s);
    mbedtls_mpi_free(&gs);
    mbedtls_mpi_free(&gm);
    return e;
}

/* K = PK_DH_peer^SK_DH mod p on the length of p, then KS_enc and KS_mac. */
static enum pace_err dh_agree(struct pace_core *c, const uint8_t *pk_peer, size_t len)
{
    uint8_t k[PACE_MAX_PUBLIC_LEN];
    mbedtls_mpi x;
    enum pace_err e = PACE_OK;
    mbedtls_mpi_init(&x);
    if (len == c->point_len && memcmp(pk_peer, c->pk_own, c->point_len) == 0)
        e = PACE_ERR_ECHOED_KEY;
    if (e == PACE_OK)
        e = dh_exp_peer(c, pk_peer, len, &x);
    if (e == PACE_OK && mbedtls_mpi_write_binary(&x, k, c->field_len) != 0)
        e = PACE_ERR_CRYPTO;
    if (e == PACE_OK) {
        memcpy(c->pk_peer, pk_peer, c->point_len);
        if (icao_kdf(c->info.cipher, k, c->field_len, ICAO_KDF_ENC, c->ks_enc) != ICAO_CRYPTO_OK ||
            icao_kdf(c->info.cipher, k, c->field_len, ICAO_KDF_MAC, c->ks_mac) != ICAO_CRYPTO_OK)
            e = PACE_ERR_CRYPTO;
    }
    wipe(k, sizeof k);
    wipe(c->sk, sizeof c->sk);
    mbedtls_mpi_free(&x);
    return e;
}

/* ---- the steps, for either key agreement --------------------------------- */

/* SK_map and PK_map on the standard generator. */
static enum pace_err gen_map_keypair(struct pace_core *c, uint8_t *pk)
{
    if (c->group == MBEDTLS_ECP_DP_NONE) {
        const struct dh_group *g = dh_group_of(c->info.parameter_id);
        return g != NULL ? dh_gen_keypair(c, g->g, pk) : PACE_ERR_CRYPTO;
    }
    mbedtls_ecp_group local, *grp;
    mbedtls_ecp_group_init(&local);
    enum pace_err e = use_group(c, &local, &grp);
    if (e == PACE_OK)
        e = gen_keypair(c, grp, &grp->G, pk);
    mbedtls_ecp_group_free(&local);
    return e;
}

static enum pace_err gm_map(struct pace_core *c, const uint8_t *pk_map_peer, size_t len)
{
    return c->group == MBEDTLS_ECP_DP_NONE ? dh_map(c, pk_map_peer, len)
                                           : ec_map(c, pk_map_peer, len, NULL);
}

static enum pace_err gen_dh_keypair(struct pace_core *c)
{
    return c->group == MBEDTLS_ECP_DP_NONE ? dh_gen_keypair(c, c->g_mapped, c->pk_own)
                                           : ec_gen_dh_keypair(c);
}

static enum pace_err agree(struct pace_core *c, const uint8_t *pk_peer, size_t len)
{
    return c->group == MBEDTLS_ECP_DP_NONE ? dh_agree(c, pk_peer, len) : ec_agree(c, pk_peer, len);
}

/*
 * T = MAC(KS_mac, 7F49{06 OID, 86 point | 84 DH value}) (§4.4.3.4 step 3,
 * public key data object of §9.4.2): CMAC-8 for AES, retail MAC with
 * padding for 3DES.
 */
static enum pace_err token(const struct pace_core *c, const uint8_t *point, uint8_t *t)
{
    uint8_t obj[PACE_APDU_MAX];
    size_t inner = 2 + c->info.oid_len + 1 + ber_len_size(c->point_len) + c->point_len;
    size_t n = 0;
    if (2 + ber_len_size(inner) + inner > sizeof obj)
        return PACE_ERR_BUFFER;
    obj[n++] = 0x7F;
    n += ber_put_header(obj + n, 0x49, inner);
    obj[n++] = 0x06;
    obj[n++] = (uint8_t)c->info.oid_len;
    memcpy(obj + n, c->info.oid, c->info.oid_len);
    n += c->info.oid_len;
    n += ber_put_header(obj + n,
                        c->group == MBEDTLS_ECP_DP_NONE ? DO_DH_PUBLIC_VALUE : DO_PUBLIC_POINT,
                        c->point_len);
    memcpy(obj + n, point, c->point_len);
    n += c->point_len;
    enum icao_crypto_err ce = c->info.cipher == ICAO_3DES
                                  ? icao_mac(ICAO_3DES, c->ks_mac, obj, n, t)
                                  : icao_cmac8(c->info.cipher, c->ks_mac, obj, n, t);
    return ce == ICAO_CRYPTO_OK ? PACE_OK : PACE_ERR_CRYPTO;
}

static bool ct_equal(const uint8_t *a, const uint8_t *b, size_t n)
{
    uint8_t d = 0;
    for (size_t i = 0; i < n; i++)
        d |= a[i] ^ b[i];
    return d == 0;
}

/* The nonce: s = D(K_pi, z) with a zero IV (§4.4.3.1). */
static enum pace_err decrypt_nonce(struct pace_core *c, const uint8_t *z, size_t len)
{
    static const uint8_t zero_iv[ICAO_MAX_BLOCK_LEN];
    size_t block = icao_block_len(c->info.cipher);
    if (len == 0 || len > PACE_MAX_NONCE_LEN || block == 0 || len % block != 0)
        return PACE_ERR_BAD_NONCE;
    if (icao_cbc_decrypt(c->info.cipher, c->kpi, zero_iv, z, len, c->s) != ICAO_CRYPTO_OK)
        return PACE_ERR_CRYPTO;
    c->s_len = len;
    wipe(c->kpi, sizeof c->kpi);
    return PACE_OK;
}

static void result_of(const struct pace_core *c, const uint8_t *pk_ic, struct pace_result *out)
{
    memset(out, 0, sizeof *out);
    out->cipher = c->info.cipher;
    out->key_len = icao_key_len(c->info.cipher);
    memcpy(out->ks_enc, c->ks_enc, out->key_len);
    memcpy(out->ks_mac, c->ks_mac, out->key_len);
    memcpy(out->pk_ic, pk_ic, c->point_len);
    out->pk_ic_len = c->point_len;
}

/* ---- the primitives on their own --------------------------------------- */

static enum pace_err primitive_core(struct pace_core *c, uint32_t parameter_id)
{
    struct pace_info info;
    memset(&info, 0, sizeof info);
    memset(c, 0, sizeof *c);
    info.ka = PACE_KA_ECDH;
    info.mapping = PACE_MAPPING_GM;
    info.cipher = ICAO_AES128;
    info.version = 2;
    info.has_parameter_id = true;
    info.parameter_id = parameter_id;
    return core_start(c, &info);
}

enum pace_err pace_ecdh_gm_map(uint32_t parameter_id, const uint8_t *s, size_t s_len,
                               const uint8_t *sk_map, const uint8_t *pk_map_peer, size_t pk_len,
                               uint8_t *h, uint8_t *g_mapped)
{
    struct pace_core c;
    enum pace_err e = primitive_core(&c, parameter_id);
    if (e == PACE_OK && (s_len == 0 || s_len > sizeof c.s))
        e = PACE_ERR_BAD_NONCE;
    if (e == PACE_OK) {
        memcpy(c.s, s, s_len);
        c.s_len = s_len;
        memcpy(c.sk, sk_map, c.n_len);
        e = ec_map(&c, pk_map_peer, pk_len, h);
    }
    if (e == PACE_OK)
        memcpy(g_mapped, c.g_mapped, c.point_len);
    wipe(&c, sizeof c);
    return e;
}

enum pace_err pace_ecdh_public(uint32_t parameter_id, const uint8_t *generator, const uint8_t *sk,
                               uint8_t *pk)
{
    struct pace_core c;
    mbedtls_ecp_group local, *grp;
    mbedtls_ecp_point g, q;
    enum pace_err e = primitive_core(&c, parameter_id);
    mbedtls_ecp_group_init(&local);
    mbedtls_ecp_point_init(&g);
    mbedtls_ecp_point_init(&q);
    if (e == PACE_OK)
        e = use_group(&c, &local, &grp);
    if (e == PACE_OK)
        e = read_point(&c, grp, generator, c.point_len, &g);
    if (e == PACE_OK) {
        memcpy(c.sk, sk, c.n_len);
        e = mul_peer(&c, grp, &g, &q);
    }
    if (e == PACE_OK)
        e = write_point(&c, grp, &q, pk);
    wipe(&c, sizeof c);
    mbedtls_ecp_group_free(&local);
    mbedtls_ecp_point_free(&g);
    mbedtls_ecp_point_free(&q);
    return e;
}

enum pace_err pace_ecdh_shared_x(uint32_t parameter_id, const uint8_t *sk, const uint8_t *pk_peer,
                                 size_t pk_len, uint8_t *x)
{
    struct pace_core c;
    mbedtls_ecp_group local, *grp;
    mbedtls_ecp_point p, k;
    enum pace_err e = primitive_core(&c, parameter_id);
    mbedtls_ecp_group_init(&local);
    mbedtls_ecp_point_init(&p);
    mbedtls_ecp_point_init(&k);
    if (e == PACE_OK)
        e = use_group(&c, &local, &grp);
    if (e == PACE_OK)
        e = read_point(&c, grp, pk_peer, pk_len, &p);
    if (e == PACE_OK) {
        memcpy(c.sk, sk, c.n_len);
        e = mul_peer(&c, grp, &p, &k);
    }
    if (e == PACE_OK && mbedtls_mpi_write_binary(&k.X, x, c.field_len) != 0)
        e = PACE_ERR_CRYPTO;
    wipe(&c, sizeof c);
    mbedtls_ecp_group_free(&local);
    mbedtls_ecp_point_free(&p);
    mbedtls_ecp_point_free(&k);
    return e;
}

/* ---- reader side -------------------------------------------------------- */

enum reader_state {
    R_IDLE = 0,
    R_WAIT_MSE,
    R_WAIT_NONCE,
    R_WAIT_MAP,
    R_WAIT_KA,
    R_WAIT_TOKEN,
    R_DONE,
    R_FAILED,
};

static enum pace_err reader_fail(struct pace *ctx, enum pace_err e)
{
    core_reset(&ctx->c);
    ctx->c.state = R_FAILED;
    return e;
}

enum pace_err pace_begin(struct pace *ctx, const struct pace_info *info,
                         enum pace_password password, const uint8_t *pw, size_t pw_len,
                         unsigned flags, pace_rng_fn rng, void *rng_ctx, struct ecp_groups *groups,
                         uint8_t *cmd, size_t cap, size_t *cmd_len)
{
    uint8_t data[CARDACCESS_OID_MAX + 16];
    size_t n = 0;
    enum pace_err e;

    *cmd_len = 0;
    wipe(ctx, sizeof *ctx);
    ctx->c.rng = rng;
    ctx->c.rng_ctx = rng_ctx;
    ctx->c.blind = rng;
    ctx->c.blind_ctx = rng_ctx;
    ctx->c.groups = groups;
    ctx->flags = flags;
    e = core_start(&ctx->c, info);
    if (e == PACE_OK)
        e = derive_kpi(&ctx->c, password, pw, pw_len);
    if (e != PACE_OK)
        return reader_fail(ctx, e);

    /* MSE:Set AT for PACE, §4.4.4.1 (Table 3). */
    data[n++] = 0x80;
    data[n++] = (uint8_t)info->oid_len;
    memcpy(data + n, info->oid, info->oid_len);
    n += info->oid_len;
    data[n++] = 0x83;
    data[n++] = 0x01;
    data[n++] = (uint8_t)password;
    if ((flags & PACE_FLAG_SEND_PARAMETER_ID) && info->parameter_id <= 0xFF) {
        data[n++] = 0x84;
        data[n++] = 0x01;
        data[n++] = (uint8_t)info->parameter_id;
    }
    struct apdu a = {
        .cla = 0x00,
        .ins = INS_MSE,
        .p1 = 0xC1,
        .p2 = 0xA4,
        .data = data,
        .nc = n,
        .ne = 0,
    };
    if (apdu_encode(&a, cmd, cap, cmd_len) != APDU_OK)
        return reader_fail(ctx, PACE_ERR_BUFFER);
    ctx->c.state = R_WAIT_MSE;
    return PACE_OK;
}

static enum pace_err reader_step(struct pace *ctx, const struct rapdu *r, uint8_t *cmd, size_t cap,
                                 size_t *cmd_len)
{
    struct pace_core *c = &ctx->c;
    const uint8_t *v;
    size_t vlen;
    enum pace_err e;
    uint8_t pk[PACE_MAX_PUBLIC_LEN];
    uint8_t t[TOKEN_LEN];

    switch (c->state) {
    case R_WAIT_MSE:
        if (r->len != 0)
            return PACE_ERR_BAD_RESPONSE;
        e = put_ga(CLA_CHAINING, 0, NULL, 0, cmd, cap, cmd_len);
        if (e == PACE_OK)
            c->state = R_WAIT_NONCE;
        return e;

    case R_WAIT_NONCE:
        e = dyn_auth_get(r->data, r->len, DO_NONCE, &v, &vlen);
        if (e == PACE_OK)
            e = decrypt_nonce(c, v, vlen);
        if (e == PACE_OK)
            e = gen_map_keypair(c, pk);
        if (e == PACE_OK)
            e = put_ga(CLA_CHAINING, DO_MAP_IFD, pk, c->point_len, cmd, cap, cmd_len);
        if (e == PACE_OK)
            c->state = R_WAIT_MAP;
        return e;

    case R_WAIT_MAP:
        e = dyn_auth_get(r->data, r->len, DO_MAP_IC, &v, &vlen);
        if (e == PACE_OK)
            e = gm_map(c, v, vlen);
        if (e == PACE_OK)
            e = gen_dh_keypair(c);
        if (e == PACE_OK)
            e = put_ga(CLA_CHAINING, DO_KA_IFD, c->pk_own, c->point_len, cmd, cap, cmd_len);
        if (e == PACE_OK)
            c->state = R_WAIT_KA;
        return e;

    case R_WAIT_KA:
        e = dyn_auth_get(r->data, r->len, DO_KA_IC, &v, &vlen);
        if (e == PACE_OK)
            e = agree(c, v, vlen);
        if (e == PACE_OK)
            e = token(c, c->pk_peer, t); /* T_IFD over PK_DH_IC */
        if (e == PACE_OK)
            e = put_ga(0x00, DO_TOKEN_IFD, t, sizeof t, cmd, cap, cmd_len);
        if (e == PACE_OK)
            c->state = R_WAIT_TOKEN;
        return e;

    case R_WAIT_TOKEN:
        e = dyn_auth_get(r->data, r->len, DO_TOKEN_IC, &v, &vlen);
        if (e == PACE_OK && vlen != TOKEN_LEN)
            e = PACE_ERR_BAD_LENGTH;
        if (e == PACE_OK)
            e = token(c, c->pk_own, t); /* T_IC over PK_DH_IFD */
        if (e == PACE_OK && !ct_equal(t, v, TOKEN_LEN))
            e = PACE_ERR_TOKEN_MISMATCH;
        if (e == PACE_OK) {
            *cmd_len = 0;
            c->state = R_DONE;
        }
        return e;
    }
    return PACE_ERR_STATE;
}

enum pace_err pace_step(struct pace *ctx, const uint8_t *rapdu, size_t len, uint8_t *cmd,
                        size_t cap, size_t *cmd_len)
{
    struct rapdu r;
    *cmd_len = 0;
    if (ctx->c.state == R_IDLE || ctx->c.state == R_DONE || ctx->c.state == R_FAILED)
        return PACE_ERR_STATE;
    if (rapdu == NULL || rapdu_decode(rapdu, len, &r) != APDU_OK)
        return reader_fail(ctx, PACE_ERR_BAD_RESPONSE);
    ctx->sw = r.sw;
    if (r.sw != SW_OK) {
        /* §4.4.4.2: the card answers a wrong T_IFD with 63 00. */
        bool rejected = ctx->c.state == R_WAIT_TOKEN && r.sw == SW_AUTH_FAILED;
        return reader_fail(ctx, rejected ? PACE_ERR_TOKEN_REJECTED : PACE_ERR_SW);
    }
    enum pace_err e = reader_step(ctx, &r, cmd, cap, cmd_len);
    if (e != PACE_OK) {
        *cmd_len = 0;
        return reader_fail(ctx, e);
    }
    if (ctx->c.state == R_DONE) {
        /* Only the session keys and the public keys are still needed. */
        wipe(ctx->c.kpi, sizeof ctx->c.kpi);
        wipe(ctx->c.sk, sizeof ctx->c.sk);
    }
    return PACE_OK;
}

bool pace_done(const struct pace *ctx)
{
    return ctx->c.state == R_DONE;
}

enum pace_err pace_get_result(const struct pace *ctx, struct pace_result *out)
{
    if (ctx->c.state != R_DONE)
        return PACE_ERR_STATE;
    result_of(&ctx->c, ctx->c.pk_peer, out);
    return PACE_OK;
}

void pace_wipe(struct pace *ctx)
{
    wipe(ctx, sizeof *ctx);
}

/* ---- card side ---------------------------------------------------------- */

enum card_state {
    C_IDLE = 0, /* waiting for MSE:Set AT */
    C_SET,      /* waiting for GA 7C{} */
    C_NONCE,    /* nonce sent, waiting for 7C{81} */
    C_MAPPED,   /* G~ known, waiting for 7C{83} */
    C_KEYS,     /* session keys derived, waiting for 7C{85} */
    C_DONE,
};

void pace_card_init(struct pace_card *card, const struct pace_card_config *cfg)
{
    wipe(card, sizeof *card);
    card->cfg = *cfg;
    card->c.rng = cfg->rng;
    card->c.rng_ctx = cfg->rng_ctx;
    card->c.blind = cfg->rng;
    card->c.blind_ctx = cfg->rng_ctx;
}

/* MSE:Set AT data: 80 OID, 83 password reference, optional 84 parameterId. */
static enum pace_err card_mse(struct pace_card *card, const struct apdu *a, uint16_t *sw)
{
    static const uint8_t none[1];
    const uint8_t *p = a->nc ? a->data : none, *end = p + a->nc;
    const uint8_t *oid = NULL, *ref = NULL, *pid = NULL;
    size_t oid_len = 0, ref_len = 0, pid_len = 0;

    *sw = SW_WRONG_DATA;
    if (a->p1 != 0xC1 || a->p2 != 0xA4) {
        *sw = SW_WRONG_P1P2;
        return PACE_ERR_BAD_COMMAND;
    }
    while (p < end) {
        const uint8_t *v;
        size_t vlen;
        uint8_t tag = *p;
        if (ber_get(&p, end, tag, &v, &vlen) != PACE_OK)
            return PACE_ERR_BAD_COMMAND;
        if (tag == 0x80 && oid == NULL)
            oid = v, oid_len = vlen;
        else if (tag == 0x83 && ref == NULL)
            ref = v, ref_len = vlen;
        else if (tag == 0x84 && pid == NULL)
            pid = v, pid_len = vlen;
        else
            return PACE_ERR_BAD_COMMAND;
    }
    if (oid == NULL || ref == NULL || ref_len != 1 || (pid != NULL && pid_len != 1))
        return PACE_ERR_BAD_COMMAND;

    const struct pace_info *chosen = NULL;
    for (size_t i = 0; i < card->cfg.n_infos; i++) {
        const struct pace_info *pi = &card->cfg.infos[i];
        if (pi->oid_len != oid_len || memcmp(pi->oid, oid, oid_len) != 0)
            continue;
        if (pid != NULL && pi->parameter_id != pid[0])
            continue;
        chosen = pi;
        break;
    }
    const uint8_t *pw = NULL;
    size_t pw_len = 0;
    if (ref[0] == PACE_PASSWORD_MRZ)
        pw = card->cfg.mrz_info, pw_len = card->cfg.mrz_info_len;
    else if (ref[0] == PACE_PASSWORD_CAN)
        pw = card->cfg.can, pw_len = card->cfg.can_len;
    if (chosen == NULL || pw == NULL) {
        *sw = SW_REF_NOT_FOUND;
        return chosen == NULL ? PACE_ERR_UNSUPPORTED : PACE_ERR_PASSWORD;
    }
    enum pace_err e = core_start(&card->c, chosen);
    if (e == PACE_OK)
        e = derive_kpi(&card->c, (enum pace_password)ref[0], pw, pw_len);
    if (e != PACE_OK) {
        *sw = SW_REF_NOT_FOUND;
        return e;
    }
    card->c.state = C_SET;
    *sw = SW_OK;
    return PACE_OK;
}

/*
 * The nonce is as long as the key, rounded up to whole cipher blocks: 16
 * bytes for 3DES and AES-128 as issued cards send it, 32 for AES-192/256.
 */
static enum pace_err card_nonce(struct pace_core *c, uint8_t *z, size_t *z_len)
{
    static const uint8_t zero_iv[ICAO_MAX_BLOCK_LEN];
    size_t block = icao_block_len(c->info.cipher);
    size_t n = (icao_key_len(c->info.cipher) + block - 1) / block * block;
    if (c->rng == NULL || c->rng(c->rng_ctx, c->s, n) != 0)
        return PACE_ERR_RNG;
    c->s_len = n;
    if (icao_cbc_encrypt(c->info.cipher, c->kpi, zero_iv, c->s, n, z) != ICAO_CRYPTO_OK)
        return PACE_ERR_CRYPTO;
    wipe(c->kpi, sizeof c->kpi);
    *z_len = n;
    return PACE_OK;
}

static enum pace_err card_ga(struct pace_card *card, const struct apdu *a, uint8_t *rapdu,
                             size_t cap, size_t *rlen, uint16_t *sw)
{
    struct pace_core *c = &card->c;
    const uint8_t *v;
    size_t vlen;
    enum pace_err e;
    uint8_t out[PACE_MAX_PUBLIC_LEN];
    size_t out_len;

    *sw = SW_WRONG_DATA;
    if (a->p1 != 0 || a->p2 != 0) {
        *sw = SW_WRONG_P1P2;
        return PACE_ERR_BAD_COMMAND;
    }
    if (c->state == C_IDLE || c->state == C_DONE) {
        *sw = SW_CONDITIONS;
        return PACE_ERR_STATE;
    }
    /* Command chaining (7816-4 §5.1.1.1): every step but the token is chained. */
    bool last = c->state == C_KEYS;
    if (((a->cla & CLA_CHAINING) != 0) == last) {
        *sw = last ? SW_LAST_CMD_EXPECTED : SW_CONDITIONS;
        return PACE_ERR_BAD_COMMAND;
    }
    switch (c->state) {
    case C_SET:
        e = dyn_auth_get(a->data, a->nc, 0, &v, &vlen);
        if (e == PACE_OK)
            e = card_nonce(c, out, &out_len);
        if (e == PACE_OK)
            e = put_response(DO_NONCE, out, out_len, SW_OK, rapdu, cap, rlen);
        if (e == PACE_OK)
            c->state = C_NONCE;
        return e;

    case C_NONCE: {
        e = dyn_auth_get(a->data, a->nc, DO_MAP_IFD, &v, &vlen);
        if (e == PACE_OK)
            e = gen_map_keypair(c, out);
        if (e == PACE_OK)
            e = gm_map(c, v, vlen);
        if (e == PACE_OK)
            e = put_response(DO_MAP_IC, out, c->point_len, SW_OK, rapdu, cap, rlen);
        if (e == PACE_OK)
            c->state = C_MAPPED;
        return e;
    }

    case C_MAPPED:
        e = dyn_auth_get(a->data, a->nc, DO_KA_IFD, &v, &vlen);
        if (e == PACE_OK)
            e = gen_dh_keypair(c);
        if (e == PACE_OK)
            e = agree(c, v, vlen);
        if (e == PACE_OK)
            e = put_response(DO_KA_IC, c->pk_own, c->point_len, SW_OK, rapdu, cap, rlen);
        if (e == PACE_OK)
            c->state = C_KEYS;
        return e;

    case C_KEYS:
        e = dyn_auth_get(a->data, a->nc, DO_TOKEN_IFD, &v, &vlen);
        if (e == PACE_OK && vlen != TOKEN_LEN)
            e = PACE_ERR_BAD_LENGTH;
        if (e == PACE_OK)
            e = token(c, c->pk_own, out); /* the expected T_IFD, over PK_DH_IC */
        if (e == PACE_OK && !ct_equal(out, v, TOKEN_LEN)) {
            *sw = SW_AUTH_FAILED;
            return PACE_ERR_TOKEN_MISMATCH;
        }
        if (e == PACE_OK)
            e = token(c, c->pk_peer, out); /* T_IC over PK_DH_IFD */
        if (e == PACE_OK)
            e = put_response(DO_TOKEN_IC, out, TOKEN_LEN, SW_OK, rapdu, cap, rlen);
        if (e == PACE_OK)
            c->state = C_DONE;
        return e;
    }
    *sw = SW_CONDITIONS;
    return PACE_ERR_STATE;
}

enum pace_err pace_card_process(struct pace_card *card, const uint8_t *capdu, size_t len,
                                uint8_t *rapdu, size_t cap, size_t *rlen)
{
    struct apdu a;
    uint16_t sw = SW_WRONG_DATA;
    enum pace_err e;

    *rlen = 0;
    if (capdu == NULL || apdu_decode(capdu, len, &a, NULL) != APDU_OK) {
        e = PACE_ERR_BAD_COMMAND;
    } else if (a.ins == INS_MSE && (a.cla & ~CLA_CHAINING) == 0) {
        /* A new MSE:Set AT abandons any session in progress. */
        core_reset(&card->c);
        e = (a.cla & CLA_CHAINING) ? PACE_ERR_BAD_COMMAND : card_mse(card, &a, &sw);
    } else if (a.ins == INS_GENERAL_AUTHENTICATE && (a.cla & ~CLA_CHAINING) == 0) {
        e = card_ga(card, &a, rapdu, cap, rlen, &sw);
        if (e == PACE_OK)
            return PACE_OK;
    } else {
        sw = SW_INS_UNSUPPORTED;
        e = PACE_ERR_BAD_COMMAND;
    }
    if (e != PACE_OK) {
        core_reset(&card->c);
        card->c.state = C_IDLE;
        *rlen = 0;
    }
    if (rapdu_encode(NULL, 0, sw, rapdu, cap, rlen) != APDU_OK)
        return PACE_ERR_BUFFER;
    return e;
}

bool pace_card_done(const struct pace_card *card)
{
    return card->c.state == C_DONE;
}

enum pace_err pace_card_get_result(const struct pace_card *card, struct pace_result *out)
{
    if (card->c.state != C_DONE)
        return PACE_ERR_STATE;
    result_of(&card->c, card->c.pk_own, out);
    return PACE_OK;
}

void pace_card_wipe(struct pace_card *card)
{
    core_reset(&card->c);
}

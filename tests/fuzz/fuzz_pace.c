/*
 * libFuzzer target: hostile peers of PACE. The first input byte picks the
 * role under attack:
 *   even: the reader, after a fixed MSE:Set AT (Appendix G.1 PACEInfo, MRZ
 *         password, the G.1 private keys), fed the following responses;
 *   odd:  the card (G.1 PACEInfo and MRZ), fed the following commands;
 *   bit 1 set: the same with the DH example of Appendix G.2.
 * The rest is a list of messages, each a length byte then that many bytes.
 * Invariants: outputs fit their buffers, a failed reader emits nothing and
 * stays failed, a card always answers with a status word, and a finished
 * session has keys of the cipher's length and a 65-byte PK_DH_IC.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hawiya/pace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char mrz[] = "T22000129364081251010318";

/* Appendix G.1 private keys first (so seeds reach the late steps), then a stream. */
struct rng_state {
    const uint8_t (*keys)[32];
    size_t lens[3];
    int calls;
    uint64_t x;
};

/* SK_map_IFD, SK_DH_IFD */
static const uint8_t ifd_keys[3][32] = {
    {0x7F, 0x4E, 0xF0, 0x7B, 0x9E, 0xA8, 0x2F, 0xD7, 0x8A, 0xD6, 0x89,
     0xB3, 0x8D, 0x0B, 0xC7, 0x8C, 0xF2, 0x1F, 0x24, 0x9D, 0x95, 0x3B,
     0xC4, 0x6F, 0x4C, 0x6E, 0x19, 0x25, 0x9C, 0x01, 0x0F, 0x99},
    {0xA7, 0x3F, 0xB7, 0x03, 0xAC, 0x14, 0x36, 0xA1, 0x8E, 0x0C, 0xFA,
     0x5A, 0xBB, 0x3F, 0x7B, 0xEC, 0x7A, 0x07, 0x0E, 0x7A, 0x67, 0x88,
     0x48, 0x6B, 0xEE, 0x23, 0x0C, 0x4A, 0x22, 0x76, 0x25, 0x95},
};

/* nonce s, SK_map_IC, SK_DH_IC */
static const uint8_t ic_keys[3][32] = {
    {0x3F, 0x00, 0xC4, 0xD3, 0x9D, 0x15, 0x3F, 0x2B, 0x2A, 0x21, 0x4A, 0x07, 0x8D, 0x89, 0x9B,
     0x22},
    {0x49, 0x8F, 0xF4, 0x97, 0x56, 0xF2, 0xDC, 0x15, 0x87, 0x84, 0x00,
     0x41, 0x83, 0x9A, 0x85, 0x98, 0x2B, 0xE7, 0x76, 0x1D, 0x14, 0x71,
     0x5F, 0xB0, 0x91, 0xEF, 0xA7, 0xBC, 0xE9, 0x05, 0x85, 0x60},
    {0x10, 0x7C, 0xF5, 0x86, 0x96, 0xEF, 0x61, 0x55, 0x05, 0x33, 0x40,
     0xFD, 0x63, 0x33, 0x92, 0xBA, 0x81, 0x90, 0x9D, 0xF7, 0xB9, 0x70,
     0x6F, 0x22, 0x6F, 0x32, 0x08, 0x6C, 0x7A, 0xFF, 0x97, 0x4A},
};

static int rng(void *p, unsigned char *out, size_t len)
{
    struct rng_state *s = p;
    if (s->calls < 3 && s->lens[s->calls] == len) {
        memcpy(out, s->keys[s->calls++], len);
        return 0;
    }
    for (size_t i = 0; i < len; i++) {
        s->x ^= s->x << 13;
        s->x ^= s->x >> 7;
        s->x ^= s->x << 17;
        out[i] = (uint8_t)s->x;
    }
    return 0;
}

static int blind(void *p, unsigned char *out, size_t len)
{
    memset(out, 0x5A, len);
    (void)p;
    return 0;
}

/* Appendix G.2 (DH, parameterId 0): SK_map_IFD, SK_DH_IFD; s, SK_map_IC, SK_DH_IC. */
static const uint8_t g2_ifd_keys[3][32] = {
    {0x52, 0x65, 0x03, 0x0F, 0x75, 0x1F, 0x4A, 0xD1, 0x8B, 0x08,
     0xAC, 0x56, 0x5F, 0xC7, 0xAC, 0x95, 0x2E, 0x41, 0x61, 0x8D},
    {0x89, 0xCC, 0xD9, 0x9B, 0x0E, 0x8D, 0x3B, 0x1F, 0x11, 0xE1,
     0x29, 0x6D, 0xCA, 0x68, 0xEC, 0x53, 0x41, 0x1C, 0xF2, 0xCA},
};
static const uint8_t g2_ic_keys[3][32] = {
    {0xFA, 0x5B, 0x7E, 0x3E, 0x49, 0x75, 0x3A, 0x0D, 0xB9, 0x17, 0x8B, 0x7B, 0x9B, 0xD8, 0x98,
     0xC8},
    {0x66, 0xDD, 0xAF, 0xEA, 0xC1, 0x60, 0x9C, 0xB5, 0xB9, 0x63,
     0xBB, 0x0C, 0xB3, 0xFF, 0x8B, 0x3E, 0x04, 0x7F, 0x33, 0x6C},
    {0xA5, 0xB7, 0x80, 0x12, 0x6B, 0x7C, 0x98, 0x0E, 0x9F, 0xCE,
     0xA1, 0xD4, 0x53, 0x9D, 0xA1, 0xD2, 0x7C, 0x34, 0x2D, 0xFA},
};

static struct pace_info g1_info(bool dh)
{
    static const uint8_t oid[] = {0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x04, 0x02, 0x02};
    struct pace_info info;
    memset(&info, 0, sizeof info);
    memcpy(info.oid, oid, sizeof oid);
    info.oid_len = sizeof oid;
    info.ka = PACE_KA_ECDH;
    info.mapping = PACE_MAPPING_GM;
    info.cipher = ICAO_AES128;
    info.version = 2;
    info.has_parameter_id = true;
    info.parameter_id = PACE_PARAM_BP256R1;
    if (dh) {
        info.oid[8] = 1; /* id-PACE-DH-GM-AES-CBC-CMAC-128 */
        info.ka = PACE_KA_DH;
        info.parameter_id = PACE_PARAM_MODP1024_160;
    }
    return info;
}

static void check_result(const struct pace_result *r)
{
    if (r->key_len != 16 || (r->pk_ic_len != 65 && r->pk_ic_len != 128) ||
        (r->pk_ic_len == 65 && r->pk_ic[0] != 0x04))
        __builtin_trap();
}

static void attack_reader(const uint8_t *data, size_t size, bool dh)
{
    static struct pace ctx;
    struct pace_info info = g1_info(dh);
    struct rng_state rs = {
        dh ? g2_ifd_keys : ifd_keys, {dh ? 20 : 32, dh ? 20 : 32, 0}, 0, 88172645463325252ULL};
    uint8_t cmd[PACE_APDU_MAX];
    size_t cmd_len;
    struct pace_result res;
    bool failed = false;

    if (pace_begin(&ctx, &info, PACE_PASSWORD_MRZ, (const uint8_t *)mrz, sizeof mrz - 1, 0, rng,
                   &rs, NULL, cmd, sizeof cmd, &cmd_len) != PACE_OK)
        __builtin_trap();
    pace_core_set_blinding_rng(&ctx.c, blind, NULL);
    while (size > 0) {
        size_t n = data[0];
        if (n > size - 1)
            n = size - 1;
        enum pace_err e = pace_step(&ctx, data + 1, n, cmd, sizeof cmd, &cmd_len);
        data += 1 + n;
        size -= 1 + n;
        if (cmd_len > sizeof cmd)
            __builtin_trap();
        if (e != PACE_OK) {
            if (cmd_len != 0)
                __builtin_trap();
            if (pace_done(&ctx)) {
                /* A step after the end is refused and leaves the result alone. */
                if (e != PACE_ERR_STATE)
                    __builtin_trap();
                continue;
            }
            if (failed && e != PACE_ERR_STATE)
                __builtin_trap();
            failed = true;
        } else if (failed) {
            __builtin_trap();
        } else if (cmd_len == 0 && !pace_done(&ctx)) {
            __builtin_trap();
        }
    }
    if (pace_done(&ctx)) {
        if (pace_get_result(&ctx, &res) != PACE_OK)
            __builtin_trap();
        check_result(&res);
    }
    pace_wipe(&ctx);
}

static void attack_card(const uint8_t *data, size_t size, bool dh)
{
    static struct pace_card card;
    struct pace_info info = g1_info(dh);
    struct rng_state rs = {
        dh ? g2_ic_keys : ic_keys, {16, dh ? 20 : 32, dh ? 20 : 32}, 0, 0x123456789ULL};
    struct pace_card_config cfg = {
        .infos = &info,
        .n_infos = 1,
        .mrz_info = (const uint8_t *)mrz,
        .mrz_info_len = sizeof mrz - 1,
        .can = (const uint8_t *)"123456",
        .can_len = 6,
        .rng = rng,
        .rng_ctx = &rs,
    };
    uint8_t resp[PACE_APDU_MAX];
    size_t rlen;
    struct pace_result res;

    pace_card_init(&card, &cfg);
    pace_core_set_blinding_rng(&card.c, blind, NULL);
    while (size > 0) {
        size_t n = data[0];
        if (n > size - 1)
            n = size - 1;
        enum pace_err e = pace_card_process(&card, data + 1, n, resp, sizeof resp, &rlen);
        data += 1 + n;
        size -= 1 + n;
        if (rlen < 2 || rlen > sizeof resp)
            __builtin_trap();
        uint16_t sw = (uint16_t)(resp[rlen - 2] << 8 | resp[rlen - 1]);
        if ((e == PACE_OK) != (sw == 0x9000))
            __builtin_trap();
    }
    if (pace_card_done(&card)) {
        if (pace_card_get_result(&card, &res) != PACE_OK)
            __builtin_trap();
        check_result(&res);
    }
    pace_card_wipe(&card);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0 || size > 2048)
        return 0;
    /* Bit 1 selects DH Generic Mapping (Appendix G.2) instead of ECDH (G.1). */
    bool dh = (data[0] & 2) != 0;
    if (data[0] & 1)
        attack_card(data + 1, size - 1, dh);
    else
        attack_reader(data + 1, size - 1, dh);
    return 0;
}

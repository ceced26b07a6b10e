/*
 * libFuzzer target: Chip Authentication against hostile peers. The first
 * byte picks the role: even = the reader (a fixed DG14 key, AES-128 or 3DES
 * by bit 1) fed the following responses; odd = the card (brainpoolP256r1
 * key, AES-128) fed the following commands. The rest is a list of messages,
 * each a length byte then that many bytes. A third use of the input: the
 * whole tail as a SubjectPublicKeyInfo for ca_begin.
 * Invariants: outputs fit their buffers, a card always answers a status
 * word, failures emit no command, and a finished run has keys.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hawiya/ca.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* brainpoolP256r1 key pair (see tests/unit/test_ca.c for where it comes from). */
static const uint8_t spki[] = {
    0x30, 0x5a, 0x30, 0x14, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x09, 0x2b,
    0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x07, 0x03, 0x42, 0x00, 0x04, 0x6c, 0xd0, 0x1b, 0x91,
    0xb9, 0x4b, 0x41, 0xb3, 0x2a, 0x71, 0x4a, 0x8e, 0x75, 0x3d, 0x28, 0x79, 0xbb, 0x1c, 0x04, 0x47,
    0xa0, 0x33, 0xf8, 0x9b, 0xf7, 0xe8, 0xe5, 0x3c, 0xf7, 0xdb, 0xaf, 0x21, 0x31, 0x64, 0x85, 0x88,
    0xf9, 0x95, 0xf3, 0x67, 0x77, 0x4c, 0xd3, 0x34, 0x98, 0x73, 0x30, 0x48, 0x64, 0xab, 0x85, 0x12,
    0x1d, 0x3a, 0x3f, 0xd0, 0xf8, 0xc1, 0x11, 0x22, 0x48, 0xe2, 0x62, 0xf5};
static const uint8_t sk_ic[] = {0x10, 0x7C, 0xF5, 0x86, 0x96, 0xEF, 0x61, 0x55, 0x05, 0x33, 0x40,
                                0xFD, 0x63, 0x33, 0x92, 0xBA, 0x81, 0x90, 0x9D, 0xF7, 0xB9, 0x70,
                                0x6F, 0x22, 0x6F, 0x32, 0x08, 0x6C, 0x7A, 0xFF, 0x97, 0x4A};

static int rng(void *p, unsigned char *out, size_t len)
{
    uint64_t *x = p;
    for (size_t i = 0; i < len; i++) {
        *x ^= *x << 13;
        *x ^= *x >> 7;
        *x ^= *x << 17;
        out[i] = (uint8_t)*x;
    }
    return 0;
}

static void make_infos(struct security_infos *si, bool des, const uint8_t *key, size_t key_len)
{
    static const uint8_t oid[] = {0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x03, 0x02, 0x02};
    memset(si, 0, sizeof *si);
    si->n_ca = 1;
    memcpy(si->ca[0].oid, oid, sizeof oid);
    si->ca[0].oid_len = sizeof oid;
    si->ca[0].ka = PACE_KA_ECDH;
    si->ca[0].cipher = des ? ICAO_3DES : ICAO_AES128;
    if (des)
        si->ca[0].oid[9] = 1;
    si->ca[0].version = 1;
    si->n_ca_pk = 1;
    si->ca_pk[0].ka = PACE_KA_ECDH;
    si->ca_pk[0].spki = key;
    si->ca_pk[0].spki_len = key_len;
}

static void attack_reader(const uint8_t *data, size_t size, bool des)
{
    static struct ca ctx;
    struct security_infos si;
    uint64_t seed = 7;
    uint8_t cmd[256];
    size_t cmd_len;
    bool failed = false;
    make_infos(&si, des, spki, sizeof spki);
    if (ca_begin(&ctx, &si, rng, &seed, NULL, NULL, NULL, cmd, sizeof cmd, &cmd_len) != CA_OK)
        __builtin_trap();
    while (size > 0) {
        size_t n = data[0] < size - 1 ? data[0] : size - 1;
        enum ca_err e = ca_step(&ctx, data + 1, n, cmd, sizeof cmd, &cmd_len);
        data += 1 + n;
        size -= 1 + n;
        if (cmd_len > sizeof cmd || (e != CA_OK && cmd_len != 0))
            __builtin_trap();
        if (failed && e != CA_ERR_STATE)
            __builtin_trap();
        if (e != CA_OK && e != CA_ERR_STATE)
            failed = true;
    }
    struct ca_result res;
    if (ca_done(&ctx) && (ca_get_result(&ctx, &res) != CA_OK || res.key_len == 0))
        __builtin_trap();
    ca_wipe(&ctx);
}

static void attack_card(const uint8_t *data, size_t size)
{
    static struct ca_card card;
    struct security_infos si;
    uint8_t resp[64];
    size_t rlen;
    make_infos(&si, false, spki, sizeof spki);
    if (ca_card_init(&card, &si.ca[0], spki, sizeof spki, sk_ic, sizeof sk_ic, NULL, NULL) != CA_OK)
        __builtin_trap();
    while (size > 0) {
        size_t n = data[0] < size - 1 ? data[0] : size - 1;
        enum ca_err e = ca_card_process(&card, data + 1, n, resp, sizeof resp, &rlen);
        data += 1 + n;
        size -= 1 + n;
        if (rlen < 2 || rlen > sizeof resp)
            __builtin_trap();
        bool ok = resp[rlen - 2] == 0x90 && resp[rlen - 1] == 0x00;
        if ((e == CA_OK) != ok)
            __builtin_trap();
    }
    struct ca_result res;
    if (ca_card_done(&card) && (ca_card_get_result(&card, &res) != CA_OK || res.key_len != 16))
        __builtin_trap();
    ca_card_wipe(&card);
}

/* Any bytes as the DG14 public key: parsed or refused, never trusted blindly. */
static void attack_key(const uint8_t *data, size_t size)
{
    static struct ca ctx;
    struct security_infos si;
    uint64_t seed = 9;
    uint8_t cmd[256];
    size_t cmd_len;
    make_infos(&si, false, data, size);
    enum ca_err e = ca_begin(&ctx, &si, rng, &seed, NULL, NULL, NULL, cmd, sizeof cmd, &cmd_len);
    if ((e == CA_OK) != (cmd_len > 0) || cmd_len > sizeof cmd)
        __builtin_trap();
    ca_wipe(&ctx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0 || size > 2048)
        return 0;
    switch (data[0] & 3) {
    case 0: attack_reader(data + 1, size - 1, false); break;
    case 2: attack_reader(data + 1, size - 1, true); break;
    case 1: attack_card(data + 1, size - 1); break;
    default: attack_key(data + 1, size - 1); break;
    }
    return 0;
}

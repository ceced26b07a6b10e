#include <string.h>

#include <mbedtls/aes.h>
#include <mbedtls/des.h>
#include <mbedtls/sha1.h>
#include <mbedtls/sha256.h>

#include "hawiya/icao_crypto.h"
#include "hawiya/wipe.h"

const char *icao_crypto_err_str(enum icao_crypto_err e)
{
    switch (e) {
    case ICAO_CRYPTO_OK: return "ICAO_CRYPTO_OK";
    case ICAO_CRYPTO_ERR_CIPHER: return "ICAO_CRYPTO_ERR_CIPHER";
    case ICAO_CRYPTO_ERR_LENGTH: return "ICAO_CRYPTO_ERR_LENGTH";
    case ICAO_CRYPTO_ERR_BUFFER: return "ICAO_CRYPTO_ERR_BUFFER";
    case ICAO_CRYPTO_ERR_PADDING: return "ICAO_CRYPTO_ERR_PADDING";
    case ICAO_CRYPTO_ERR_BACKEND: return "ICAO_CRYPTO_ERR_BACKEND";
    }
    return "ICAO_CRYPTO_ERR_UNKNOWN";
}

size_t icao_key_len(enum icao_cipher c)
{
    switch (c) {
    case ICAO_3DES: return 16;
    case ICAO_AES128: return 16;
    case ICAO_AES192: return 24;
    case ICAO_AES256: return 32;
    }
    return 0;
}

size_t icao_block_len(enum icao_cipher c)
{
    switch (c) {
    case ICAO_3DES: return 8;
    case ICAO_AES128:
    case ICAO_AES192:
    case ICAO_AES256: return 16;
    }
    return 0;
}

void icao_des_set_parity(uint8_t *key, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        uint8_t b = key[i] & 0xfe;
        unsigned ones = 0;
        for (unsigned bit = 1; bit < 8; bit++)
            ones += (b >> bit) & 1u;
        key[i] = (uint8_t)(b | ((ones & 1u) ? 0 : 1));
    }
}

enum icao_crypto_err icao_kdf(enum icao_cipher cipher, const uint8_t *secret, size_t secret_len,
                              uint32_t counter, uint8_t *key)
{
    size_t klen = icao_key_len(cipher);
    uint8_t c[4] = {(uint8_t)(counter >> 24), (uint8_t)(counter >> 16), (uint8_t)(counter >> 8),
                    (uint8_t)counter};
    uint8_t digest[32];
    int rc;

    if (klen == 0)
        return ICAO_CRYPTO_ERR_CIPHER;
    /* §9.7.1: SHA-1 yields enough for 3DES and AES-128, SHA-256 for the rest. */
    if (cipher == ICAO_3DES || cipher == ICAO_AES128) {
        mbedtls_sha1_context h;
        mbedtls_sha1_init(&h);
        rc = mbedtls_sha1_starts_ret(&h);
        if (rc == 0)
            rc = mbedtls_sha1_update_ret(&h, secret, secret_len);
        if (rc == 0)
            rc = mbedtls_sha1_update_ret(&h, c, sizeof c);
        if (rc == 0)
            rc = mbedtls_sha1_finish_ret(&h, digest);
        mbedtls_sha1_free(&h);
    } else {
        mbedtls_sha256_context h;
        mbedtls_sha256_init(&h);
        rc = mbedtls_sha256_starts_ret(&h, 0);
        if (rc == 0)
            rc = mbedtls_sha256_update_ret(&h, secret, secret_len);
        if (rc == 0)
            rc = mbedtls_sha256_update_ret(&h, c, sizeof c);
        if (rc == 0)
            rc = mbedtls_sha256_finish_ret(&h, digest);
        mbedtls_sha256_free(&h);
    }
    if (rc != 0) {
        wipe(digest, sizeof digest);
        return ICAO_CRYPTO_ERR_BACKEND;
    }
    memcpy(key, digest, klen);
    wipe(digest, sizeof digest);
    /* §9.7.1: Ka = bytes 1..8, Kb = bytes 9..16, parity bits adjusted. */
    if (cipher == ICAO_3DES)
        icao_des_set_parity(key, klen);
    return ICAO_CRYPTO_OK;
}

static enum icao_crypto_err cbc(enum icao_cipher cipher, const uint8_t *key, const uint8_t *iv_in,
                                const uint8_t *in, size_t len, uint8_t *out, int encrypt)
{
    size_t block = icao_block_len(cipher);
    uint8_t iv[ICAO_MAX_BLOCK_LEN];
    int rc;

    if (block == 0)
        return ICAO_CRYPTO_ERR_CIPHER;
    if (len % block != 0)
        return ICAO_CRYPTO_ERR_LENGTH;
    if (len == 0)
        return ICAO_CRYPTO_OK;
    memcpy(iv, iv_in, block);
    if (cipher == ICAO_3DES) {
        mbedtls_des3_context ctx;
        mbedtls_des3_init(&ctx);
        rc = encrypt ? mbedtls_des3_set2key_enc(&ctx, key) : mbedtls_des3_set2key_dec(&ctx, key);
        if (rc == 0)
            rc = mbedtls_des3_crypt_cbc(&ctx, encrypt ? MBEDTLS_DES_ENCRYPT : MBEDTLS_DES_DECRYPT,
                                        len, iv, in, out);
        mbedtls_des3_free(&ctx);
    } else {
        mbedtls_aes_context ctx;
        unsigned bits = (unsigned)icao_key_len(cipher) * 8;
        mbedtls_aes_init(&ctx);
        rc = encrypt ? mbedtls_aes_setkey_enc(&ctx, key, bits)
                     : mbedtls_aes_setkey_dec(&ctx, key, bits);
        if (rc == 0)
            rc = mbedtls_aes_crypt_cbc(&ctx, encrypt ? MBEDTLS_AES_ENCRYPT : MBEDTLS_AES_DECRYPT,
                                       len, iv, in, out);
        mbedtls_aes_free(&ctx);
    }
    wipe(iv, sizeof iv);
    return rc == 0 ? ICAO_CRYPTO_OK : ICAO_CRYPTO_ERR_BACKEND;
}

enum icao_crypto_err icao_cbc_encrypt(enum icao_cipher cipher, const uint8_t *key,
                                      const uint8_t *iv, const uint8_t *in, size_t len,
                                      uint8_t *out)
{
    return cbc(cipher, key, iv, in, len, out, 1);
}

enum icao_crypto_err icao_cbc_decrypt(enum icao_cipher cipher, const uint8_t *key,
                                      const uint8_t *iv, const uint8_t *in, size_t len,
                                      uint8_t *out)
{
    return cbc(cipher, key, iv, in, len, out, 0);
}

enum icao_crypto_err icao_block_encrypt(enum icao_cipher cipher, const uint8_t *key,
                                        const uint8_t *in, uint8_t *out)
{
    static const uint8_t zero[ICAO_MAX_BLOCK_LEN];
    /* One block of CBC with a zero IV is ECB. */
    return cbc(cipher, key, zero, in, icao_block_len(cipher), out, 1);
}

/* Doubling in GF(2^128) for the CMAC subkeys (RFC 4493 §2.3). */
static void cmac_dbl(uint8_t b[16])
{
    uint8_t carry = b[0] >> 7;
    for (int i = 0; i < 15; i++)
        b[i] = (uint8_t)(b[i] << 1 | b[i + 1] >> 7);
    b[15] = (uint8_t)(b[15] << 1);
    if (carry)
        b[15] ^= 0x87;
}

void icao_mac_abort(struct icao_mac_ctx *c)
{
    mbedtls_aes_free(&c->aes);
    mbedtls_des_free(&c->ka);
    mbedtls_des_free(&c->kb);
    wipe(c, sizeof *c);
}

/*
 * CMAC is written over AES-ECB (RFC 4493 §2.4) rather than taken from
 * mbedtls_cipher_cmac: the generic cipher layer allocates its context on the
 * heap, which common/ may not.
 */
enum icao_crypto_err icao_mac_start(struct icao_mac_ctx *c, enum icao_cipher cipher,
                                    const uint8_t *key)
{
    int rc = 0;

    memset(c, 0, sizeof *c);
    mbedtls_aes_init(&c->aes);
    mbedtls_des_init(&c->ka);
    mbedtls_des_init(&c->kb);
    c->cipher = cipher;
    c->block = icao_block_len(cipher);
    if (c->block == 0) {
        icao_mac_abort(c);
        return ICAO_CRYPTO_ERR_CIPHER;
    }
    if (cipher == ICAO_3DES) {
        rc = mbedtls_des_setkey_enc(&c->ka, key);
        if (rc == 0)
            rc = mbedtls_des_setkey_dec(&c->kb, key + 8);
    } else {
        rc = mbedtls_aes_setkey_enc(&c->aes, key, (unsigned)icao_key_len(cipher) * 8);
        if (rc == 0) /* L = E(K, 0^128), K1 = dbl(L) */
            rc = mbedtls_aes_crypt_ecb(&c->aes, MBEDTLS_AES_ENCRYPT, c->k1, c->k1);
        cmac_dbl(c->k1);
    }
    if (rc != 0) {
        icao_mac_abort(c);
        return ICAO_CRYPTO_ERR_BACKEND;
    }
    return ICAO_CRYPTO_OK;
}

/* chain = E(chain xor blk): one CBC step (single DES Ka for the retail MAC). */
static int mac_block(struct icao_mac_ctx *c, const uint8_t *blk)
{
    for (size_t i = 0; i < c->block; i++)
        c->chain[i] ^= blk[i];
    if (c->cipher == ICAO_3DES)
        return mbedtls_des_crypt_ecb(&c->ka, c->chain, c->chain);
    return mbedtls_aes_crypt_ecb(&c->aes, MBEDTLS_AES_ENCRYPT, c->chain, c->chain);
}

enum icao_crypto_err icao_mac_update(struct icao_mac_ctx *c, const uint8_t *msg, size_t len)
{
    if (c->block == 0)
        return ICAO_CRYPTO_ERR_CIPHER;
    while (len > 0) {
        /* A full held-back block is not the last one once more data arrives. */
        if (c->part_len == c->block) {
            if (mac_block(c, c->part) != 0)
                return ICAO_CRYPTO_ERR_BACKEND;
            c->part_len = 0;
        }
        size_t take = c->block - c->part_len;
        if (take > len)
            take = len;
        memcpy(c->part + c->part_len, msg, take);
        c->part_len += take;
        msg += take;
        len -= take;
    }
    return ICAO_CRYPTO_OK;
}

enum icao_crypto_err icao_mac_finish(struct icao_mac_ctx *c, int pad, uint8_t mac[ICAO_MAC_LEN])
{
    static const uint8_t marker = 0x80;
    enum icao_crypto_err e = ICAO_CRYPTO_OK;
    int rc = 0;

    if (c->block == 0)
        return ICAO_CRYPTO_ERR_CIPHER;
    if (!pad && c->cipher == ICAO_3DES) {
        /* MAC algorithm 3 is only defined here with padding method 2. */
        icao_mac_abort(c);
        return ICAO_CRYPTO_ERR_PADDING;
    }
    if (pad) {
        /* ISO/IEC 9797-1 padding method 2: 0x80 then zeros to the block end. */
        e = icao_mac_update(c, &marker, 1);
        if (e == ICAO_CRYPTO_OK && c->part_len < c->block) {
            memset(c->part + c->part_len, 0, c->block - c->part_len);
            c->part_len = c->block;
        }
    }
    if (e == ICAO_CRYPTO_OK && c->cipher == ICAO_3DES) {
        /* Output transformation 3: H = E(Ka, D(Kb, H_q)). */
        rc = mac_block(c, c->part);
        if (rc == 0)
            rc = mbedtls_des_crypt_ecb(&c->kb, c->chain, c->chain);
        if (rc == 0)
            rc = mbedtls_des_crypt_ecb(&c->ka, c->chain, c->chain);
    } else if (e == ICAO_CRYPTO_OK) {
        if (c->part_len < 16) {
            /* Incomplete (or empty) last block: CMAC's own 10* padding and K2. */
            c->part[c->part_len] = 0x80;
            memset(c->part + c->part_len + 1, 0, 16 - c->part_len - 1);
            cmac_dbl(c->k1);
        }
        for (int i = 0; i < 16; i++)
            c->part[i] ^= c->k1[i];
        rc = mac_block(c, c->part);
    }
    if (e == ICAO_CRYPTO_OK && rc != 0)
        e = ICAO_CRYPTO_ERR_BACKEND;
    if (e == ICAO_CRYPTO_OK)
        memcpy(mac, c->chain, ICAO_MAC_LEN);
    icao_mac_abort(c);
    return e;
}

static enum icao_crypto_err mac_oneshot(enum icao_cipher cipher, const uint8_t *key,
                                        const uint8_t *msg, size_t len, int pad,
                                        uint8_t mac[ICAO_MAC_LEN])
{
    struct icao_mac_ctx c;
    enum icao_crypto_err e = icao_mac_start(&c, cipher, key);
    if (e != ICAO_CRYPTO_OK)
        return e;
    e = icao_mac_update(&c, msg, len);
    if (e != ICAO_CRYPTO_OK) {
        icao_mac_abort(&c);
        return e;
    }
    return icao_mac_finish(&c, pad, mac);
}

void icao_retail_mac(const uint8_t *key, const uint8_t *msg, size_t len, uint8_t mac[ICAO_MAC_LEN])
{
    if (mac_oneshot(ICAO_3DES, key, msg, len, 1, mac) != ICAO_CRYPTO_OK)
        memset(mac, 0, ICAO_MAC_LEN);
}

enum icao_crypto_err icao_cmac8(enum icao_cipher cipher, const uint8_t *key, const uint8_t *msg,
                                size_t len, uint8_t mac[ICAO_MAC_LEN])
{
    if (cipher == ICAO_3DES)
        return ICAO_CRYPTO_ERR_CIPHER;
    return mac_oneshot(cipher, key, msg, len, 0, mac);
}

enum icao_crypto_err icao_mac(enum icao_cipher cipher, const uint8_t *key, const uint8_t *msg,
                              size_t len, uint8_t mac[ICAO_MAC_LEN])
{
    return mac_oneshot(cipher, key, msg, len, 1, mac);
}

size_t icao_pad_len(size_t len, size_t block)
{
    return block - len % block;
}

enum icao_crypto_err icao_pad(uint8_t *buf, size_t len, size_t cap, size_t block, size_t *out_len)
{
    size_t n;

    if (block == 0)
        return ICAO_CRYPTO_ERR_LENGTH;
    n = icao_pad_len(len, block);
    if (len > cap || cap - len < n)
        return ICAO_CRYPTO_ERR_BUFFER;
    buf[len] = 0x80;
    memset(buf + len + 1, 0, n - 1);
    *out_len = len + n;
    return ICAO_CRYPTO_OK;
}

enum icao_crypto_err icao_unpad(const uint8_t *buf, size_t len, size_t block, size_t *out_len)
{
    size_t i;

    if (block == 0 || len == 0 || len % block != 0)
        return ICAO_CRYPTO_ERR_PADDING;
    i = len;
    while (i > 0 && buf[i - 1] == 0x00 && len - i < block)
        i--;
    /* The 0x80 must sit in the last block: at most block-1 zeros follow it. */
    if (i == 0 || buf[i - 1] != 0x80 || len - i >= block)
        return ICAO_CRYPTO_ERR_PADDING;
    *out_len = i - 1;
    return ICAO_CRYPTO_OK;
}

int icao_ct_equal(const uint8_t *a, const uint8_t *b, size_t n)
{
    uint8_t d = 0;
    for (size_t i = 0; i < n; i++)
        d |= (uint8_t)(a[i] ^ b[i]);
    return d == 0;
}

#include <string.h>

#include <mbedtls/sha1.h>

#include "hawiya/bac.h"
#include "hawiya/icao_crypto.h"
#include "hawiya/wipe.h"

/* IFD: ST_READY -> ST_AUTHENTICATING; IC: ST_IDLE -> ST_CHALLENGED. */
enum { ST_IDLE = 0, ST_READY, ST_CHALLENGED, ST_AUTHENTICATING };

static const uint8_t zero_iv[8];

const char *bac_err_str(enum bac_err e)
{
    switch (e) {
    case BAC_OK: return "BAC_OK";
    case BAC_ERR_LENGTH: return "BAC_ERR_LENGTH";
    case BAC_ERR_MAC: return "BAC_ERR_MAC";
    case BAC_ERR_RND_IFD: return "BAC_ERR_RND_IFD";
    case BAC_ERR_RND_IC: return "BAC_ERR_RND_IC";
    case BAC_ERR_STATE: return "BAC_ERR_STATE";
    case BAC_ERR_RNG: return "BAC_ERR_RNG";
    case BAC_ERR_CRYPTO: return "BAC_ERR_CRYPTO";
    case BAC_ERR_MRZ_INFO: return "BAC_ERR_MRZ_INFO";
    }
    return "BAC_ERR_UNKNOWN";
}

enum bac_err bac_keys_from_mrz_info(const char *info, size_t len, uint8_t k_seed[BAC_KEY_LEN],
                                    struct bac_keys *keys)
{
    uint8_t digest[20];
    enum bac_err e = BAC_OK;

    if (info == NULL || len == 0)
        return BAC_ERR_MRZ_INFO;
    if (mbedtls_sha1_ret((const unsigned char *)info, len, digest) != 0)
        return BAC_ERR_CRYPTO;
    /* §4.3: K_seed is the 16 most significant bytes of the SHA-1 digest. */
    if (icao_kdf(ICAO_3DES, digest, BAC_KEY_LEN, ICAO_KDF_ENC, keys->k_enc) != ICAO_CRYPTO_OK ||
        icao_kdf(ICAO_3DES, digest, BAC_KEY_LEN, ICAO_KDF_MAC, keys->k_mac) != ICAO_CRYPTO_OK) {
        wipe(keys, sizeof *keys);
        e = BAC_ERR_CRYPTO;
    } else if (k_seed != NULL) {
        memcpy(k_seed, digest, BAC_KEY_LEN);
    }
    wipe(digest, sizeof digest);
    return e;
}

/* §4.3 and §9.8: session keys from K.IFD xor K.IC, SSC from the nonces. */
static enum bac_err derive_session(const uint8_t *k_ifd, const uint8_t *k_ic, const uint8_t *rnd_ic,
                                   const uint8_t *rnd_ifd, struct bac_session *out)
{
    uint8_t seed[BAC_KEY_LEN];
    enum bac_err e = BAC_OK;

    for (int i = 0; i < BAC_KEY_LEN; i++)
        seed[i] = k_ifd[i] ^ k_ic[i];
    if (icao_kdf(ICAO_3DES, seed, sizeof seed, ICAO_KDF_ENC, out->ks_enc) != ICAO_CRYPTO_OK ||
        icao_kdf(ICAO_3DES, seed, sizeof seed, ICAO_KDF_MAC, out->ks_mac) != ICAO_CRYPTO_OK) {
        wipe(out, sizeof *out);
        e = BAC_ERR_CRYPTO;
    } else {
        memcpy(out->ssc, rnd_ic + 4, 4);
        memcpy(out->ssc + 4, rnd_ifd + 4, 4);
    }
    wipe(seed, sizeof seed);
    return e;
}

/* E = 3DES-CBC(K_enc, plain, IV 0) and M = MAC(K_mac, E) into out[0..40). */
static enum bac_err seal(const struct bac_keys *keys, const uint8_t plain[32], uint8_t out[40])
{
    if (icao_cbc_encrypt(ICAO_3DES, keys->k_enc, zero_iv, plain, 32, out) != ICAO_CRYPTO_OK)
        return BAC_ERR_CRYPTO;
    icao_retail_mac(keys->k_mac, out, 32, out + 32);
    return BAC_OK;
}

/* Verifies M over E, then decrypts E into plain; the MAC is checked before any decryption. */
static enum bac_err open_sealed(const struct bac_keys *keys, const uint8_t *in, size_t len,
                                uint8_t plain[32])
{
    uint8_t mac[ICAO_MAC_LEN];
    int ok;

    if (len != BAC_CRYPTO_LEN)
        return BAC_ERR_LENGTH;
    icao_retail_mac(keys->k_mac, in, 32, mac);
    ok = icao_ct_equal(mac, in + 32, ICAO_MAC_LEN);
    wipe(mac, sizeof mac);
    if (!ok)
        return BAC_ERR_MAC;
    if (icao_cbc_decrypt(ICAO_3DES, keys->k_enc, zero_iv, in, 32, plain) != ICAO_CRYPTO_OK)
        return BAC_ERR_CRYPTO;
    return BAC_OK;
}

void bac_ifd_init(struct bac_ifd *b, const struct bac_keys *keys)
{
    memset(b, 0, sizeof *b);
    b->keys = *keys;
    b->state = ST_READY;
}

void bac_ifd_wipe(struct bac_ifd *b)
{
    wipe(b, sizeof *b);
}

void bac_get_challenge_apdu(struct apdu *a)
{
    memset(a, 0, sizeof *a);
    a->ins = 0x84;
    a->ne = BAC_RND_LEN;
}

void bac_external_authenticate_apdu(const uint8_t cmd_data[BAC_CRYPTO_LEN], struct apdu *a)
{
    memset(a, 0, sizeof *a);
    a->ins = 0x82;
    a->data = cmd_data;
    a->nc = BAC_CRYPTO_LEN;
    a->ne = BAC_CRYPTO_LEN;
}

enum bac_err bac_ifd_authenticate(struct bac_ifd *b, const uint8_t *rnd_ic, size_t rnd_ic_len,
                                  bac_rng_fn rng, void *rng_ctx, uint8_t cmd_data[BAC_CRYPTO_LEN])
{
    uint8_t s[32];
    enum bac_err e;

    if (b->state != ST_READY)
        return BAC_ERR_STATE;
    if (rnd_ic_len != BAC_RND_LEN) {
        bac_ifd_wipe(b);
        return BAC_ERR_LENGTH;
    }
    memcpy(b->rnd_ic, rnd_ic, BAC_RND_LEN);
    if (rng(rng_ctx, b->rnd_ifd, BAC_RND_LEN) != 0 || rng(rng_ctx, b->k_ifd, BAC_KEY_LEN) != 0) {
        bac_ifd_wipe(b);
        return BAC_ERR_RNG;
    }
    /* S = RND.IFD || RND.IC || K.IFD (§4.3). */
    memcpy(s, b->rnd_ifd, 8);
    memcpy(s + 8, b->rnd_ic, 8);
    memcpy(s + 16, b->k_ifd, 16);
    e = seal(&b->keys, s, cmd_data);
    wipe(s, sizeof s);
    if (e != BAC_OK) {
        bac_ifd_wipe(b);
        return e;
    }
    b->state = ST_AUTHENTICATING;
    return BAC_OK;
}

enum bac_err bac_ifd_finish(struct bac_ifd *b, const uint8_t *resp, size_t len,
                            struct bac_session *out)
{
    uint8_t r[32];
    enum bac_err e;

    memset(out, 0, sizeof *out);
    if (b->state != ST_AUTHENTICATING) {
        bac_ifd_wipe(b);
        return BAC_ERR_STATE;
    }
    e = open_sealed(&b->keys, resp, len, r);
    /* R = RND.IC || RND.IFD || K.IC: our nonce must come back (§4.3). */
    if (e == BAC_OK && !icao_ct_equal(r + 8, b->rnd_ifd, BAC_RND_LEN))
        e = BAC_ERR_RND_IFD;
    if (e == BAC_OK)
        e = derive_session(b->k_ifd, r + 16, b->rnd_ic, b->rnd_ifd, out);
    wipe(r, sizeof r);
    bac_ifd_wipe(b);
    return e;
}

void bac_ic_init(struct bac_ic *c, const struct bac_keys *keys)
{
    memset(c, 0, sizeof *c);
    c->keys = *keys;
    c->state = ST_IDLE;
}

void bac_ic_wipe(struct bac_ic *c)
{
    wipe(c, sizeof *c);
}

enum bac_err bac_ic_get_challenge(struct bac_ic *c, bac_rng_fn rng, void *rng_ctx,
                                  uint8_t rnd_ic[BAC_RND_LEN])
{
    if (rng(rng_ctx, c->rnd_ic, BAC_RND_LEN) != 0) {
        wipe(c->rnd_ic, sizeof c->rnd_ic);
        c->state = ST_IDLE;
        return BAC_ERR_RNG;
    }
    memcpy(rnd_ic, c->rnd_ic, BAC_RND_LEN);
    c->state = ST_CHALLENGED;
    return BAC_OK;
}

enum bac_err bac_ic_authenticate(struct bac_ic *c, const uint8_t *cmd_data, size_t len,
                                 bac_rng_fn rng, void *rng_ctx, uint8_t resp[BAC_CRYPTO_LEN],
                                 struct bac_session *out)
{
    uint8_t s[32], r[32];
    enum bac_err e;

    memset(out, 0, sizeof *out);
    if (c->state != ST_CHALLENGED)
        return BAC_ERR_STATE;
    /* One challenge, one attempt. */
    c->state = ST_IDLE;
    e = open_sealed(&c->keys, cmd_data, len, s);
    /* S = RND.IFD || RND.IC || K.IFD. */
    if (e == BAC_OK && !icao_ct_equal(s + 8, c->rnd_ic, BAC_RND_LEN))
        e = BAC_ERR_RND_IC;
    if (e == BAC_OK) {
        memcpy(r, c->rnd_ic, 8);
        memcpy(r + 8, s, 8);
        if (rng(rng_ctx, r + 16, BAC_KEY_LEN) != 0)
            e = BAC_ERR_RNG;
    }
    if (e == BAC_OK)
        e = seal(&c->keys, r, resp);
    if (e == BAC_OK)
        e = derive_session(s + 16, r + 16, c->rnd_ic, s, out);
    if (e != BAC_OK)
        memset(resp, 0, BAC_CRYPTO_LEN);
    wipe(s, sizeof s);
    wipe(r, sizeof r);
    wipe(c->rnd_ic, sizeof c->rnd_ic);
    return e;
}

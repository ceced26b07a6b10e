/*
 * icao_crypto: the symmetric building blocks of ICAO Doc 9303-11 shared by
 * BAC (§4.3), PACE (§4.4) and secure messaging (§9.8), over mbedTLS:
 * the key derivation function of §9.7.1, 3DES / AES in CBC mode, the
 * ISO/IEC 9797-1 MAC algorithm 3 ("retail MAC") for 3DES and AES-CMAC
 * truncated to 8 bytes for AES, and ISO/IEC 9797-1 padding method 2.
 *
 * Keys are passed as byte strings of icao_key_len(cipher) bytes: 16 for
 * 3DES (two-key 3DES, Ka || Kb, as BAC and PACE use it), 16/24/32 for AES.
 * No function keeps a key: every internal copy and mbedTLS context is wiped
 * before it returns.
 */
#ifndef HAWIYA_ICAO_CRYPTO_H
#define HAWIYA_ICAO_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include <mbedtls/aes.h>
#include <mbedtls/des.h>

enum icao_cipher {
    ICAO_3DES,
    ICAO_AES128,
    ICAO_AES192,
    ICAO_AES256,
};

enum icao_crypto_err {
    ICAO_CRYPTO_OK = 0,
    ICAO_CRYPTO_ERR_CIPHER,  /* not one of enum icao_cipher */
    ICAO_CRYPTO_ERR_LENGTH,  /* input is not a whole number of cipher blocks */
    ICAO_CRYPTO_ERR_BUFFER,  /* output buffer too small */
    ICAO_CRYPTO_ERR_PADDING, /* not ISO/IEC 9797-1 padding method 2 */
    ICAO_CRYPTO_ERR_BACKEND, /* mbedTLS refused (should not happen) */
};

const char *icao_crypto_err_str(enum icao_crypto_err e);

/* The counter c of KDF(K, c), 9303-11 §9.7.1. */
#define ICAO_KDF_ENC  1u
#define ICAO_KDF_MAC  2u
#define ICAO_KDF_PACE 3u

#define ICAO_MAX_KEY_LEN   32
#define ICAO_MAX_BLOCK_LEN 16
#define ICAO_MAC_LEN       8

/* 16, 16, 24, 32; 0 for an unknown cipher. */
size_t icao_key_len(enum icao_cipher c);
/* 8 for 3DES, 16 for AES; 0 for an unknown cipher. */
size_t icao_block_len(enum icao_cipher c);

/*
 * KDF(K, c) = H(K || c), c a 32-bit big-endian counter (§9.7.1): SHA-1 for
 * 3DES and AES-128, SHA-256 for AES-192/256, truncated to icao_key_len().
 * For 3DES the 16 bytes are Ka || Kb with the DES parity bits adjusted.
 * Writes icao_key_len(cipher) bytes to `key`.
 */
enum icao_crypto_err icao_kdf(enum icao_cipher cipher, const uint8_t *secret, size_t secret_len,
                              uint32_t counter, uint8_t *key);

/* Sets the DES odd-parity bit (the low bit) of each byte. */
void icao_des_set_parity(uint8_t *key, size_t len);

/*
 * CBC encryption / decryption of `len` bytes (a multiple of the block size,
 * possibly 0) with the given IV (not modified). `out` may equal `in`.
 */
enum icao_crypto_err icao_cbc_encrypt(enum icao_cipher cipher, const uint8_t *key,
                                      const uint8_t *iv, const uint8_t *in, size_t len,
                                      uint8_t *out);
enum icao_crypto_err icao_cbc_decrypt(enum icao_cipher cipher, const uint8_t *key,
                                      const uint8_t *iv, const uint8_t *in, size_t len,
                                      uint8_t *out);

/* One block in ECB mode: the AES SM IV, E(KS_enc, SSC) (§9.8). */
enum icao_crypto_err icao_block_encrypt(enum icao_cipher cipher, const uint8_t *key,
                                        const uint8_t *in, uint8_t *out);

/*
 * ISO/IEC 9797-1 MAC algorithm 3 with DES (key = Ka || Kb, 16 bytes) and
 * padding method 2: the message is padded here, so pass it unpadded.
 */
void icao_retail_mac(const uint8_t *key, const uint8_t *msg, size_t len, uint8_t mac[ICAO_MAC_LEN]);

/* AES-CMAC (NIST SP 800-38B / RFC 4493) of `msg` as it is, first 8 bytes. */
enum icao_crypto_err icao_cmac8(enum icao_cipher cipher, const uint8_t *key, const uint8_t *msg,
                                size_t len, uint8_t mac[ICAO_MAC_LEN]);

/*
 * The MAC of 9303-11 with padding method 2 applied to `msg` first, as BAC
 * (§4.3) and secure messaging (§9.8) use it: the retail MAC for 3DES,
 * CMAC over the padded message for AES.
 */
enum icao_crypto_err icao_mac(enum icao_cipher cipher, const uint8_t *key, const uint8_t *msg,
                              size_t len, uint8_t mac[ICAO_MAC_LEN]);

/*
 * ISO/IEC 9797-1 padding method 2 in place: buf holds `len` bytes and has
 * room for `cap`; appends 0x80 and zeros up to a multiple of `block`
 * (always at least one byte).
 */
enum icao_crypto_err icao_pad(uint8_t *buf, size_t len, size_t cap, size_t block, size_t *out_len);
/* Number of bytes the padding of `len` bytes takes (1..block). */
size_t icao_pad_len(size_t len, size_t block);

/*
 * Strict removal of padding method 2: `len` must be a non-zero multiple of
 * `block`, the last non-zero byte 0x80, and fewer than `block` zeros after it.
 */
enum icao_crypto_err icao_unpad(const uint8_t *buf, size_t len, size_t block, size_t *out_len);

/*
 * The same MACs computed over a message given in pieces (secure messaging
 * MACs SSC || header || data objects without copying them together).
 * icao_mac_finish() with pad = 1 is icao_mac(); with pad = 0 (AES only) it is
 * icao_cmac8(). finish wipes the context; so does icao_mac_abort().
 */
struct icao_mac_ctx {
    enum icao_cipher cipher;
    size_t block;
    mbedtls_aes_context aes;
    mbedtls_des_context ka, kb; /* retail MAC: Ka for the chain, Kb for the output step */
    uint8_t k1[16];             /* CMAC subkey K1 */
    uint8_t chain[16];
    uint8_t part[16]; /* the last 1..block bytes, held back until more come or finish */
    size_t part_len;
};

enum icao_crypto_err icao_mac_start(struct icao_mac_ctx *c, enum icao_cipher cipher,
                                    const uint8_t *key);
enum icao_crypto_err icao_mac_update(struct icao_mac_ctx *c, const uint8_t *msg, size_t len);
enum icao_crypto_err icao_mac_finish(struct icao_mac_ctx *c, int pad, uint8_t mac[ICAO_MAC_LEN]);
void icao_mac_abort(struct icao_mac_ctx *c);

/* 1 if a[0..n) == b[0..n), in time independent of the contents (for MACs). */
int icao_ct_equal(const uint8_t *a, const uint8_t *b, size_t n);

#endif

/*
 * bac: Basic Access Control, ICAO Doc 9303-11 §4.3, both roles.
 *
 * The document basic access keys come from the MRZ information (§4.3):
 * K_seed = the first 16 bytes of SHA-1(MRZ information), K_enc = KDF(K_seed, 1),
 * K_mac = KDF(K_seed, 2). Mutual authentication (§4.3) is GET CHALLENGE
 * (RND.IC) then EXTERNAL AUTHENTICATE with E_IFD || M_IFD, where
 * E_IFD = 3DES-CBC(K_enc, RND.IFD || RND.IC || K.IFD) and
 * M_IFD = retail MAC(K_mac, E_IFD); the card answers E_IC || M_IC over
 * RND.IC || RND.IFD || K.IC. Both sides then derive KS_enc / KS_mac from
 * K.IFD xor K.IC and the send sequence counter SSC = the 4 least significant
 * bytes of RND.IC || those of RND.IFD (§4.3, §9.8).
 *
 * Random values come from a caller-supplied RNG callback so that a session
 * can be replayed from the standard's worked example (Appendix D.3). Every
 * key and nonce is wiped when a step fails and when the exchange ends.
 */
#ifndef HAWIYA_BAC_H
#define HAWIYA_BAC_H

#include <stddef.h>
#include <stdint.h>

#include "hawiya/apdu.h"

#define BAC_KEY_LEN    16
#define BAC_RND_LEN    8
#define BAC_SSC_LEN    8
#define BAC_CRYPTO_LEN 40 /* E (32) || M (8): EXTERNAL AUTHENTICATE data and response */

enum bac_err {
    BAC_OK = 0,
    BAC_ERR_LENGTH,   /* the cryptogram is not 40 bytes */
    BAC_ERR_MAC,      /* M_IC / M_IFD does not verify */
    BAC_ERR_RND_IFD,  /* the card did not echo our RND.IFD */
    BAC_ERR_RND_IC,   /* (card) the terminal did not echo RND.IC */
    BAC_ERR_STATE,    /* a step called out of order */
    BAC_ERR_RNG,      /* the RNG callback failed */
    BAC_ERR_CRYPTO,   /* a primitive failed (should not happen) */
    BAC_ERR_MRZ_INFO, /* empty MRZ information */
};

const char *bac_err_str(enum bac_err e);

/* Fills out[0..len) with random bytes; returns 0 on success. */
typedef int (*bac_rng_fn)(void *ctx, uint8_t *out, size_t len);

/* The document basic access keys. */
struct bac_keys {
    uint8_t k_enc[BAC_KEY_LEN];
    uint8_t k_mac[BAC_KEY_LEN];
};

/* What secure messaging (hawiya/sm.h) starts from: 3DES keys and the SSC. */
struct bac_session {
    uint8_t ks_enc[BAC_KEY_LEN];
    uint8_t ks_mac[BAC_KEY_LEN];
    uint8_t ssc[BAC_SSC_LEN];
};

/* K_seed (may be NULL), K_enc and K_mac from the MRZ information (hawiya/mrz.h). */
enum bac_err bac_keys_from_mrz_info(const char *info, size_t len, uint8_t k_seed[BAC_KEY_LEN],
                                    struct bac_keys *keys);

/* --- the terminal (IFD) ------------------------------------------------- */

struct bac_ifd {
    struct bac_keys keys;
    uint8_t rnd_ic[BAC_RND_LEN];
    uint8_t rnd_ifd[BAC_RND_LEN];
    uint8_t k_ifd[BAC_KEY_LEN];
    int state;
};

/* Copies the keys; the caller may wipe its own copy. */
void bac_ifd_init(struct bac_ifd *b, const struct bac_keys *keys);

/* GET CHALLENGE: 00 84 00 00 08. */
void bac_get_challenge_apdu(struct apdu *a);

/*
 * Takes RND.IC (the GET CHALLENGE response data, 8 bytes), draws RND.IFD
 * then K.IFD from the RNG, and writes E_IFD || M_IFD to cmd_data.
 */
enum bac_err bac_ifd_authenticate(struct bac_ifd *b, const uint8_t *rnd_ic, size_t rnd_ic_len,
                                  bac_rng_fn rng, void *rng_ctx, uint8_t cmd_data[BAC_CRYPTO_LEN]);

/* EXTERNAL AUTHENTICATE 00 82 00 00 28 <data> 28; a->data points at cmd_data. */
void bac_external_authenticate_apdu(const uint8_t cmd_data[BAC_CRYPTO_LEN], struct apdu *a);

/*
 * Checks the card's response data E_IC || M_IC (MAC first, then the RND.IFD
 * echo) and derives the session. The context is wiped whatever the outcome.
 */
enum bac_err bac_ifd_finish(struct bac_ifd *b, const uint8_t *resp, size_t len,
                            struct bac_session *out);

void bac_ifd_wipe(struct bac_ifd *b);

/* --- the card (IC), for the virtual card ------------------------------------ */

struct bac_ic {
    struct bac_keys keys;
    uint8_t rnd_ic[BAC_RND_LEN];
    int state;
};

void bac_ic_init(struct bac_ic *c, const struct bac_keys *keys);

/* GET CHALLENGE: draws RND.IC from the RNG and returns it. */
enum bac_err bac_ic_get_challenge(struct bac_ic *c, bac_rng_fn rng, void *rng_ctx,
                                  uint8_t rnd_ic[BAC_RND_LEN]);

/*
 * EXTERNAL AUTHENTICATE: verifies M_IFD, decrypts, checks the RND.IC echo,
 * draws K.IC from the RNG, writes E_IC || M_IC to resp and derives the
 * session. A failed check burns the challenge (a new GET CHALLENGE is needed).
 */
enum bac_err bac_ic_authenticate(struct bac_ic *c, const uint8_t *cmd_data, size_t len,
                                 bac_rng_fn rng, void *rng_ctx, uint8_t resp[BAC_CRYPTO_LEN],
                                 struct bac_session *out);

void bac_ic_wipe(struct bac_ic *c);

#endif

/*
 * ca: Chip Authentication version 1, ICAO Doc 9303-11 §6.2 (BSI TR-03110-1
 * §3.2 / -3 B.1), with ECDH, both roles, as state machines over APDUs.
 *
 * The card's static key pair is announced in DG14 (ChipAuthenticationInfo
 * and ChipAuthenticationPublicKeyInfo, parsed by hawiya/cardaccess.h). The
 * reader generates an ephemeral key pair on the card's domain parameters
 * and sends its public key:
 *   3DES (§6.2.4.1): MSE:Set KAT  00 22 41 A6 {91 PK_IFD, [84 keyId]}
 *   AES  (§6.2.4.2): MSE:Set AT   00 22 41 A4 {80 CA OID, [84 keyId]}
 *                    GENERAL AUTHENTICATE 00 86 00 00 7C{80 PK_IFD} -> 7C{}
 * Both sides compute K = x(SK * PK_other), KS_enc = KDF(K, 1),
 * KS_mac = KDF(K, 2) with the cipher of the CA OID (§9.7.1). The commands
 * travel under the current secure messaging session; once the card has
 * answered 90 00 (still under the old keys) both sides restart secure
 * messaging with the new keys and a zero SSC. Authenticity of the chip is
 * implicit: only the holder of SK_IC can continue the session.
 *
 * The card's key may use namedCurve or explicit (specifiedCurve) domain
 * parameters, as long as they are one of the curves mbedTLS has compiled in.
 * DH keys (id-PK-DH) are recognised and refused.
 */
#ifndef HAWIYA_CA_H
#define HAWIYA_CA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hawiya/cardaccess.h"
#include "hawiya/icao_crypto.h"
#include "hawiya/pace.h"

enum ca_err {
    CA_OK = 0,
    CA_ERR_NO_KEY,       /* no ECDH ChipAuthenticationInfo with a matching public key */
    CA_ERR_BAD_KEY,      /* the SubjectPublicKeyInfo is not an EC key on a known curve */
    CA_ERR_UNSUPPORTED,  /* DH, or a curve mbedTLS lacks */
    CA_ERR_STATE,        /* call out of order */
    CA_ERR_BUFFER,       /* output buffer too small */
    CA_ERR_RNG,          /* the RNG failed */
    CA_ERR_SW,           /* the card answered other than 90 00 */
    CA_ERR_BAD_RESPONSE, /* unexpected response data */
    CA_ERR_BAD_POINT,    /* card side: PK_IFD not a valid point */
    CA_ERR_BAD_COMMAND,  /* card side: malformed or unexpected command */
    CA_ERR_CRYPTO,       /* mbedTLS refused (should not happen) */
};

const char *ca_err_str(enum ca_err e);

#define CA_MAX_POINT_LEN PACE_MAX_POINT_LEN

struct ca_result {
    enum icao_cipher cipher;
    size_t key_len;
    uint8_t ks_enc[ICAO_MAX_KEY_LEN];
    uint8_t ks_mac[ICAO_MAX_KEY_LEN];
};

struct ca {
    int state;
    struct ca_info info;
    int group; /* mbedtls_ecp_group_id */
    size_t point_len;
    uint8_t pk_ifd[CA_MAX_POINT_LEN];
    uint8_t ks_enc[ICAO_MAX_KEY_LEN];
    uint8_t ks_mac[ICAO_MAX_KEY_LEN];
    uint16_t sw;
};

/*
 * Picks the first ECDH ChipAuthenticationInfo of DG14 whose key is in a
 * ChipAuthenticationPublicKeyInfo (same keyId, or the only key), generates
 * the ephemeral key pair, derives the new session keys (kept until the card
 * confirms) and writes the first command. `blind` randomises the scalar
 * multiplications (NULL: the session RNG). groups (hawiya/ecp_groups.h,
 * may be NULL) keeps the card's curve loaded for the next session.
 */
enum ca_err ca_begin(struct ca *ctx, const struct security_infos *dg14, pace_rng_fn rng,
                     void *rng_ctx, pace_rng_fn blind, void *blind_ctx, struct ecp_groups *groups,
                     uint8_t *cmd, size_t cap, size_t *cmd_len);

/* The (unwrapped) response to the last command; *cmd_len == 0 once done. */
enum ca_err ca_step(struct ca *ctx, const uint8_t *rapdu, size_t len, uint8_t *cmd, size_t cap,
                    size_t *cmd_len);

bool ca_done(const struct ca *ctx);
enum ca_err ca_get_result(const struct ca *ctx, struct ca_result *out);
void ca_wipe(struct ca *ctx);

/* Card side: the static key pair of DG14 and its private key. */
struct ca_card {
    int state;
    struct ca_info info;
    int group;
    size_t point_len;
    size_t n_len;
    uint8_t sk_ic[PACE_MAX_FIELD_LEN];
    uint8_t ks_enc[ICAO_MAX_KEY_LEN];
    uint8_t ks_mac[ICAO_MAX_KEY_LEN];
    pace_rng_fn blind;
    void *blind_ctx;
};

/*
 * `info` is the card's ChipAuthenticationInfo, `spki` its public key
 * (ChipAuthenticationPublicKeyInfo.spki), `sk_ic` the private key,
 * big-endian, as long as the group order. The key pair is checked.
 */
enum ca_err ca_card_init(struct ca_card *card, const struct ca_info *info, const uint8_t *spki,
                         size_t spki_len, const uint8_t *sk_ic, size_t sk_len, pace_rng_fn blind,
                         void *blind_ctx);

/*
 * Answers MSE:Set KAT, MSE:Set AT (P1-P2 41 A4) and the GENERAL
 * AUTHENTICATE of CA; always writes a response (data || SW). Once
 * ca_card_done(), the caller sends that 90 00 under the old keys and then
 * switches to ca_card_get_result()'s keys.
 */
enum ca_err ca_card_process(struct ca_card *card, const uint8_t *capdu, size_t len, uint8_t *rapdu,
                            size_t cap, size_t *rlen);
bool ca_card_done(const struct ca_card *card);
enum ca_err ca_card_get_result(const struct ca_card *card, struct ca_result *out);
void ca_card_wipe(struct ca_card *card);

#endif

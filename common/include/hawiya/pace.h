/*
 * pace: Password Authenticated Connection Establishment, ICAO Doc 9303-11
 * §4.4 (BSI TR-03110-2 §3.2, -3 Annex A.3), with Generic Mapping on ECDH
 * and on DH (§4.4.3.3.1), both roles, as pure state machines over APDUs
 * (no I/O).
 *
 * The protocol (§4.4.4 gives the APDUs):
 *   MSE:Set AT            00 22 C1 A4 {80 protocol OID, 83 password ref, [84 parameterId]}
 *   GENERAL AUTHENTICATE  10 86 00 00 7C{}                 -> 7C{80 z = E(K_pi, s)}
 *                         10 86 00 00 7C{81 PK_map_IFD}    -> 7C{82 PK_map_IC}
 *                         10 86 00 00 7C{83 PK_DH_IFD}     -> 7C{84 PK_DH_IC}
 *                         00 86 00 00 7C{85 T_IFD}         -> 7C{86 T_IC}
 * with K_pi = KDF(f(password), 3) (§9.7.3: f = SHA-1 of the MRZ information,
 * or the CAN as it is), G~ = s*G + SK_map*PK_map_other on a curve or
 * g~ = g^s * PK_map_other^SK_map mod p for DH (§4.4.3.3.1), the shared
 * secret K = x(SK_DH * PK_DH_other) or PK_DH_other^SK_DH mod p,
 * KS_enc = KDF(K, 1), KS_mac = KDF(K, 2) (§9.7.1), and the authentication
 * tokens T = MAC(KS_mac, 7F49{06 OID, 86 point | 84 DH value}) (§4.4.3.4,
 * §9.4.2), the MAC being the retail MAC for 3DES and CMAC-8 for AES.
 *
 * Every received point is checked to be a well-formed uncompressed point on
 * the curve and not the identity, every DH value to be in 2..p-2 and in the
 * order-q subgroup (RFC 5114 groups, §9.5.1 parameterIds 0-2, encoded on
 * the length of p); the card's ephemeral key must differ from the reader's
 * (§4.4.1 step 3). A 2048-bit DH run needs extended-length APDUs. Any error ends the session: the
 * secrets are wiped and the context must be restarted with pace_begin().
 *
 * Secrets (password, K_pi, nonce s, private keys, K) never leave the
 * context and are wiped as soon as they are no longer needed; the session
 * keys are copied out with pace_get_result() and must be wiped by the caller.
 */
#ifndef HAWIYA_PACE_H
#define HAWIYA_PACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hawiya/cardaccess.h"
#include "hawiya/icao_crypto.h"

enum pace_err {
    PACE_OK = 0,
    PACE_ERR_UNSUPPORTED,    /* PACEInfo not supported (see pace_info_supported) */
    PACE_ERR_PASSWORD,       /* password type other than MRZ / CAN, or bad length */
    PACE_ERR_STATE,          /* call out of order (not started, done or failed) */
    PACE_ERR_BUFFER,         /* the caller's output buffer is too small */
    PACE_ERR_RNG,            /* the random number generator failed */
    PACE_ERR_SW,             /* the card answered a status word other than 9000 */
    PACE_ERR_BAD_RESPONSE,   /* response shorter than SW1-SW2, or data where none belongs */
    PACE_ERR_BAD_TAG,        /* not 7C, or not the data object this step expects */
    PACE_ERR_BAD_LENGTH,     /* a BER length that overruns or does not fill its object */
    PACE_ERR_BAD_NONCE,      /* encrypted nonce not a whole number of blocks, or too long */
    PACE_ERR_BAD_POINT,      /* not an uncompressed point on the curve, or the identity;
                                a DH value of the wrong length, out of range or subgroup */
    PACE_ERR_MAPPING,        /* the mapped generator is the identity (1 for DH) */
    PACE_ERR_ECHOED_KEY,     /* PK_DH_IC equals PK_DH_IFD */
    PACE_ERR_TOKEN_MISMATCH, /* the peer's authentication token is wrong */
    PACE_ERR_TOKEN_REJECTED, /* the card answered 63 00 to our token: wrong password */
    PACE_ERR_BAD_COMMAND,    /* card side: a malformed or unexpected command APDU */
    PACE_ERR_CRYPTO,         /* mbedTLS or icao_crypto refused (should not happen) */
};

const char *pace_err_str(enum pace_err e);

/* Password references of MSE:Set AT DO'83' (9303-11 §4.4.4.1, Table 3). */
enum pace_password {
    PACE_PASSWORD_MRZ = 1,
    PACE_PASSWORD_CAN = 2,
};

/* mbedTLS-compatible RNG: fills out[0..len), returns 0 on success. */
typedef int (*pace_rng_fn)(void *p_rng, unsigned char *out, size_t len);

/* Largest field: secp521r1, 66 bytes; an uncompressed point 04 || X || Y. */
#define PACE_MAX_FIELD_LEN    66
#define PACE_MAX_POINT_LEN    (1 + 2 * PACE_MAX_FIELD_LEN)
#define PACE_MAX_NONCE_LEN    32
#define PACE_MAX_PASSWORD_LEN 64
/* Largest public key: a 2048-bit DH value. */
#define PACE_MAX_PUBLIC_LEN 256
/* Enough for any command or response APDU of this module (extended for DH 2048). */
#define PACE_APDU_MAX 300

/* pace_begin() flags. */
/* Send DO'84' (parameterId) in MSE:Set AT; §4.4.4.1 requires it when the
 * card's domain parameters are ambiguous (several PACEInfos share an OID). */
#define PACE_FLAG_SEND_PARAMETER_ID 1u

struct pace_result {
    enum icao_cipher cipher;
    size_t key_len; /* icao_key_len(cipher) */
    uint8_t ks_enc[ICAO_MAX_KEY_LEN];
    uint8_t ks_mac[ICAO_MAX_KEY_LEN];
    /* The card's ephemeral public key PK_DH_IC: an uncompressed point (its x
     * coordinate is the chip identifier ID_IC = Comp(PK_DH_IC) of TR-03110)
     * or a DH value on the length of p. */
    uint8_t pk_ic[PACE_MAX_PUBLIC_LEN];
    size_t pk_ic_len;
};

struct ecp_groups; /* hawiya/ecp_groups.h */

/* State shared by both roles (internal; use the functions). */
struct pace_core {
    int state;
    struct pace_info info;
    int group;        /* mbedtls_ecp_group_id; 0 (MBEDTLS_ECP_DP_NONE) for DH */
    size_t field_len; /* bytes of a coordinate, or of p */
    size_t n_len;     /* bytes of a private key (of n, or of q) */
    uint8_t kpi[ICAO_MAX_KEY_LEN];
    uint8_t s[PACE_MAX_NONCE_LEN];
    size_t s_len;
    uint8_t sk[PACE_MAX_FIELD_LEN]; /* SK_map, then SK_DH */
    uint8_t g_mapped[PACE_MAX_PUBLIC_LEN];
    uint8_t pk_own[PACE_MAX_PUBLIC_LEN]; /* PK_DH of this side */
    uint8_t pk_peer[PACE_MAX_PUBLIC_LEN];
    size_t point_len; /* bytes of a public key: a point, or a DH value */
    uint8_t ks_enc[ICAO_MAX_KEY_LEN];
    uint8_t ks_mac[ICAO_MAX_KEY_LEN];
    pace_rng_fn rng;
    void *rng_ctx;
    pace_rng_fn blind; /* randomises scalar multiplications (mbedtls_ecp_mul) */
    void *blind_ctx;
    struct ecp_groups *groups; /* curves kept between sessions, or NULL */
};

/* Reader (inspection system, "IFD") side. */
struct pace {
    struct pace_core c;
    unsigned flags;
    uint16_t sw; /* the status word behind PACE_ERR_SW / PACE_ERR_TOKEN_REJECTED */
};

/*
 * Starts PACE with the chosen PACEInfo (from cardaccess_select_pace) and the
 * password: the MRZ information (document number, date of birth, date of
 * expiry with their check digits, §9.7.2) or the CAN, as ASCII. The
 * password is hashed into K_pi at once and not kept. Writes MSE:Set AT to
 * cmd[0..cap). groups (hawiya/ecp_groups.h, may be NULL) keeps the curve
 * loaded for the next session.
 */
enum pace_err pace_begin(struct pace *ctx, const struct pace_info *info,
                         enum pace_password password, const uint8_t *pw, size_t pw_len,
                         unsigned flags, pace_rng_fn rng, void *rng_ctx, struct ecp_groups *groups,
                         uint8_t *cmd, size_t cap, size_t *cmd_len);

/*
 * Feeds the card's response APDU (data || SW1-SW2) to the last command.
 * On PACE_OK, *cmd_len > 0 means: send cmd[0..*cmd_len) next; *cmd_len == 0
 * means PACE is complete (pace_done() is true). On error the session is over.
 */
enum pace_err pace_step(struct pace *ctx, const uint8_t *rapdu, size_t len, uint8_t *cmd,
                        size_t cap, size_t *cmd_len);

bool pace_done(const struct pace *ctx);

/* Copies the session keys and PK_DH_IC out; PACE_ERR_STATE unless done. */
enum pace_err pace_get_result(const struct pace *ctx, struct pace_result *out);

/* Wipes every secret and returns the context to its idle state. */
void pace_wipe(struct pace *ctx);

/*
 * Card ("IC") side, for the virtual card. The card answers MSE:Set AT and
 * the four GENERAL AUTHENTICATE steps for the PACEInfos it lists, with the
 * passwords it holds (NULL / 0 if it has none of that kind).
 */
struct pace_card_config {
    const struct pace_info *infos;
    size_t n_infos;
    const uint8_t *mrz_info; /* MRZ information, ASCII */
    size_t mrz_info_len;
    const uint8_t *can;
    size_t can_len;
    pace_rng_fn rng;
    void *rng_ctx;
};

struct pace_card {
    struct pace_core c;
    struct pace_card_config cfg;
};

void pace_card_init(struct pace_card *card, const struct pace_card_config *cfg);

/*
 * Processes one command APDU and always writes a response APDU (data ||
 * SW1-SW2) to rapdu[0..cap) unless cap < 2: 9000 on success, 6300 for a
 * wrong token, 6A80 for wrong data, 6A88 for an unknown password or
 * protocol, 6985 for a step out of order, 6A86 for wrong P1-P2, 6D00 for an
 * instruction it does not handle. Any error wipes the session.
 */
enum pace_err pace_card_process(struct pace_card *card, const uint8_t *capdu, size_t len,
                                uint8_t *rapdu, size_t cap, size_t *rlen);

bool pace_card_done(const struct pace_card *card);
enum pace_err pace_card_get_result(const struct pace_card *card, struct pace_result *out);
void pace_card_wipe(struct pace_card *card);

/*
 * The ECDH primitives of the protocol, exposed so that each can be checked
 * against the worked example; the state machines above use the same code.
 * Points are uncompressed (04 || X || Y), private keys and coordinates are
 * big-endian of the field length; inputs are validated as received ones.
 */
/* Generic Mapping §4.4.3.3.1: H = SK_map * PK_map_peer, G~ = s*G + H. */
enum pace_err pace_ecdh_gm_map(uint32_t parameter_id, const uint8_t *s, size_t s_len,
                               const uint8_t *sk_map, const uint8_t *pk_map_peer, size_t pk_len,
                               uint8_t *h, uint8_t *g_mapped);
/* PK = SK * generator (the generator is G~ after the mapping). */
enum pace_err pace_ecdh_public(uint32_t parameter_id, const uint8_t *generator, const uint8_t *sk,
                               uint8_t *pk);
/* K = x(SK * PK_peer). */
enum pace_err pace_ecdh_shared_x(uint32_t parameter_id, const uint8_t *sk, const uint8_t *pk_peer,
                                 size_t pk_len, uint8_t *x);

/*
 * Test hook: the RNG that blinds scalar multiplications (by default the
 * session RNG). Separating it lets a test feed the published private keys
 * through the session RNG while blinding consumes other bytes.
 */
void pace_core_set_blinding_rng(struct pace_core *c, pace_rng_fn blind, void *blind_ctx);

#endif

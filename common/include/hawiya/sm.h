/*
 * sm: secure messaging of ICAO Doc 9303-11 §9.8 (on ISO/IEC 7816-4 §6 SM
 * data objects), for the terminal and for the card.
 *
 * A protected command carries DO'87' (01 || cryptogram, even INS) or DO'85'
 * (cryptogram, odd INS), DO'97' (Le) and DO'8E' (MAC), with CLA's SM bits
 * '0C' set (§9.8); a protected response DO'87'/'85', DO'99' (status) and
 * DO'8E' (§9.8). Data is padded with ISO/IEC 9797-1 method 2 and
 * encrypted in CBC mode; the MAC covers SSC || padded header || DOs, padded.
 * 3DES (BAC, PACE-3DES): SSC of 8 bytes, IV zero, retail MAC (§9.8).
 * AES (PACE-AES): SSC of 16 bytes, IV = E(KS_enc, SSC), CMAC-8 (§9.8).
 * The SSC is incremented before each command and each response (§9.8).
 *
 * The MAC is verified before anything of a message is decrypted or used.
 * Any failure while unwrapping (bad or missing MAC, malformed data objects,
 * bad padding, an unprotected message) wipes the session keys and leaves the
 * context dead: every later call returns SM_ERR_DEAD, and a new session
 * (BAC or PACE) is needed, as 9303-11 §9.8 requires of both sides.
 */
#ifndef HAWIYA_SM_H
#define HAWIYA_SM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hawiya/apdu.h"
#include "hawiya/icao_crypto.h"

enum sm_err {
    SM_OK = 0,
    SM_ERR_DEAD,    /* not initialised, or killed by an earlier failure */
    SM_ERR_MAC,     /* DO'8E' does not verify */
    SM_ERR_NO_MAC,  /* no DO'8E' (or no DO'99' in a response): an unprotected message */
    SM_ERR_FORMAT,  /* malformed, duplicated, unknown or misplaced data objects */
    SM_ERR_PADDING, /* decrypted data without ISO/IEC 9797-1 method 2 padding */
    SM_ERR_CLA,     /* command CLA already has SM bits or is not interindustry; or
                       a command to unwrap lacks them */
    SM_ERR_LENGTH,  /* the protected command would exceed the extended APDU limits */
    SM_ERR_BUFFER,  /* output buffer too small */
    SM_ERR_CIPHER,  /* unknown cipher at sm_init */
    SM_ERR_CRYPTO,  /* a primitive failed (should not happen) */
};

const char *sm_err_str(enum sm_err e);

struct sm_ctx {
    enum icao_cipher cipher;
    size_t block; /* 8 (3DES) or 16 (AES): also the SSC length */
    uint8_t ks_enc[ICAO_MAX_KEY_LEN];
    uint8_t ks_mac[ICAO_MAX_KEY_LEN];
    uint8_t ssc[ICAO_MAX_BLOCK_LEN];
    bool alive;
};

/*
 * Copies the session keys and the initial SSC (icao_block_len(cipher)
 * bytes: BAC's SSC, or zeros after PACE).
 */
enum sm_err sm_init(struct sm_ctx *sm, enum icao_cipher cipher, const uint8_t *ks_enc,
                    const uint8_t *ks_mac, const uint8_t *ssc);

/* Wipes the keys; the context is dead afterwards. */
void sm_wipe(struct sm_ctx *sm);

/* Extra bytes a protected data field needs beyond the plain Nc (upper bound). */
#define SM_OVERHEAD 48

/* --- terminal -------------------------------------------------------------- */

/*
 * Protects `cmd` into `out`: out->data points into buf[0..cap), which must
 * hold cmd->nc + SM_OVERHEAD bytes. Le of the protected command is '00'
 * ('0000' extended); extended length fields are used when the plain command
 * has them or the protected data field needs them. cmd->data must not
 * overlap buf. Errors here leave the context and SSC untouched.
 */
enum sm_err sm_wrap_command(struct sm_ctx *sm, const struct apdu *cmd, uint8_t *buf, size_t cap,
                            struct apdu *out);

/*
 * Checks and opens a protected response resp[0..len) (data field and the
 * trailing SW1-SW2). The plain data goes to data[0..cap) (cap must be at
 * least the cryptogram's length), out->data points at it, and out->sw is
 * the status from DO'99'.
 */
enum sm_err sm_unwrap_response(struct sm_ctx *sm, const uint8_t *resp, size_t len, uint8_t *data,
                               size_t cap, struct rapdu *out);

/* --- card ------------------------------------------------------------------ */

/*
 * Checks and opens a protected command (as apdu_decode() gave it): out gets
 * the plain CLA (SM bits cleared), INS, P1, P2, the plain data in
 * data[0..cap) and Ne from DO'97' (0 if absent).
 */
enum sm_err sm_unwrap_command(struct sm_ctx *sm, const struct apdu *prot, uint8_t *data, size_t cap,
                              struct apdu *out);

/*
 * Protects a response: DO'87' (DO'85' when the command's INS is odd) if
 * len > 0, DO'99' with sw, DO'8E', then SW1-SW2, into out[0..cap); cap must
 * be at least len + SM_OVERHEAD.
 */
enum sm_err sm_wrap_response(struct sm_ctx *sm, uint8_t ins, const uint8_t *data, size_t len,
                             uint16_t sw, uint8_t *out, size_t cap, size_t *out_len);

#endif

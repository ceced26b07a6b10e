#include <string.h>

#include "hawiya/sm.h"
#include "hawiya/tlv.h"
#include "hawiya/wipe.h"

#define DO_CRYPTO_PI 0x87 /* padding-content indicator || cryptogram (even INS) */
#define DO_CRYPTO    0x85 /* cryptogram (odd INS) */
#define DO_LE        0x97
#define DO_STATUS    0x99
#define DO_MAC       0x8E
#define PI_PADDED    0x01 /* ISO/IEC 9797-1 padding method 2 */
#define CLA_SM       0x0C /* 7816-4 §5.4.1: SM, command header authenticated */

const char *sm_err_str(enum sm_err e)
{
    switch (e) {
    case SM_OK: return "SM_OK";
    case SM_ERR_DEAD: return "SM_ERR_DEAD";
    case SM_ERR_MAC: return "SM_ERR_MAC";
    case SM_ERR_NO_MAC: return "SM_ERR_NO_MAC";
    case SM_ERR_FORMAT: return "SM_ERR_FORMAT";
    case SM_ERR_PADDING: return "SM_ERR_PADDING";
    case SM_ERR_CLA: return "SM_ERR_CLA";
    case SM_ERR_LENGTH: return "SM_ERR_LENGTH";
    case SM_ERR_BUFFER: return "SM_ERR_BUFFER";
    case SM_ERR_CIPHER: return "SM_ERR_CIPHER";
    case SM_ERR_CRYPTO: return "SM_ERR_CRYPTO";
    }
    return "SM_ERR_UNKNOWN";
}

enum sm_err sm_init(struct sm_ctx *sm, enum icao_cipher cipher, const uint8_t *ks_enc,
                    const uint8_t *ks_mac, const uint8_t *ssc)
{
    size_t klen = icao_key_len(cipher);

    memset(sm, 0, sizeof *sm);
    if (klen == 0)
        return SM_ERR_CIPHER;
    sm->cipher = cipher;
    sm->block = icao_block_len(cipher);
    memcpy(sm->ks_enc, ks_enc, klen);
    memcpy(sm->ks_mac, ks_mac, klen);
    memcpy(sm->ssc, ssc, sm->block);
    sm->alive = true;
    return SM_OK;
}

void sm_wipe(struct sm_ctx *sm)
{
    wipe(sm, sizeof *sm);
}

/* Kills the session: the keys are gone, every later call fails. */
static enum sm_err session_abort(struct sm_ctx *sm, enum sm_err e)
{
    sm_wipe(sm);
    return e;
}

/* §9.8: the SSC is a big-endian counter, incremented before each message. */
static void ssc_increment(struct sm_ctx *sm)
{
    for (size_t i = sm->block; i-- > 0;)
        if (++sm->ssc[i] != 0)
            break;
}

/* §9.8: IV zero for 3DES; IV = E(KS_enc, SSC) for AES. */
static enum sm_err make_iv(const struct sm_ctx *sm, uint8_t iv[ICAO_MAX_BLOCK_LEN])
{
    memset(iv, 0, ICAO_MAX_BLOCK_LEN);
    if (sm->cipher == ICAO_3DES)
        return SM_OK;
    if (icao_block_encrypt(sm->cipher, sm->ks_enc, sm->ssc, iv) != ICAO_CRYPTO_OK)
        return SM_ERR_CRYPTO;
    return SM_OK;
}

/* MAC over SSC || [padded header] || dos, padded (§9.8). */
static enum sm_err compute_mac(const struct sm_ctx *sm, const uint8_t *header, const uint8_t *dos,
                               size_t dos_len, uint8_t mac[ICAO_MAC_LEN])
{
    struct icao_mac_ctx c;
    enum icao_crypto_err e = icao_mac_start(&c, sm->cipher, sm->ks_mac);

    if (e == ICAO_CRYPTO_OK)
        e = icao_mac_update(&c, sm->ssc, sm->block);
    if (e == ICAO_CRYPTO_OK && header != NULL) {
        uint8_t padded[ICAO_MAX_BLOCK_LEN] = {0};
        memcpy(padded, header, 4);
        padded[4] = 0x80;
        e = icao_mac_update(&c, padded, sm->block);
    }
    if (e == ICAO_CRYPTO_OK)
        e = icao_mac_update(&c, dos, dos_len);
    if (e == ICAO_CRYPTO_OK)
        return icao_mac_finish(&c, 1, mac) == ICAO_CRYPTO_OK ? SM_OK : SM_ERR_CRYPTO;
    icao_mac_abort(&c);
    return SM_ERR_CRYPTO;
}

/*
 * Writes DO'87' (with the padding indicator) or DO'85' holding the padded,
 * encrypted data at out[*pos]. The IV must already be derived from the SSC.
 */
static enum sm_err put_cryptogram(const struct sm_ctx *sm, bool odd, const uint8_t *data,
                                  size_t len, uint8_t *out, size_t cap, size_t *pos)
{
    size_t padded = len + icao_pad_len(len, sm->block);
    size_t vlen = padded + (odd ? 0 : 1);
    uint8_t iv[ICAO_MAX_BLOCK_LEN];
    size_t p = *pos, n;
    enum sm_err e = SM_OK;

    if (tlv_put_header(out, cap, &p, odd ? DO_CRYPTO : DO_CRYPTO_PI, vlen) != TLV_OK ||
        cap - p < vlen)
        return SM_ERR_BUFFER;
    if (!odd)
        out[p++] = PI_PADDED;
    memcpy(out + p, data, len);
    if (icao_pad(out + p, len, cap - p, sm->block, &n) != ICAO_CRYPTO_OK)
        return SM_ERR_BUFFER;
    e = make_iv(sm, iv);
    if (e == SM_OK &&
        icao_cbc_encrypt(sm->cipher, sm->ks_enc, iv, out + p, n, out + p) != ICAO_CRYPTO_OK)
        e = SM_ERR_CRYPTO;
    wipe(iv, sizeof iv);
    if (e == SM_OK)
        *pos = p + n;
    return e;
}

/* Decrypts a DO'87' / DO'85' value into data[0..cap) and removes the padding. */
static enum sm_err open_cryptogram(const struct sm_ctx *sm, const struct tlv *t, uint8_t *data,
                                   size_t cap, size_t *len)
{
    const uint8_t *c = t->value;
    size_t n = t->len;
    uint8_t iv[ICAO_MAX_BLOCK_LEN];
    enum sm_err e;

    if (t->tag == DO_CRYPTO_PI) {
        if (n < 1 || c[0] != PI_PADDED)
            return SM_ERR_FORMAT;
        c++;
        n--;
    }
    if (n == 0 || n % sm->block != 0)
        return SM_ERR_FORMAT;
    if (n > cap)
        return SM_ERR_BUFFER;
    e = make_iv(sm, iv);
    if (e == SM_OK && icao_cbc_decrypt(sm->cipher, sm->ks_enc, iv, c, n, data) != ICAO_CRYPTO_OK)
        e = SM_ERR_CRYPTO;
    wipe(iv, sizeof iv);
    if (e == SM_OK && icao_unpad(data, n, sm->block, len) != ICAO_CRYPTO_OK) {
        wipe(data, n);
        e = SM_ERR_PADDING;
    }
    return e;
}

/*
 * The SM data objects of one message: at most one cryptogram, one Le (commands)
 * or status (responses) object, then DO'8E' last. `maced` is how many bytes
 * precede DO'8E' (what the MAC covers).
 */
struct sm_dos {
    struct tlv crypto, le, status, mac;
    bool has_crypto, has_le, has_status, has_mac;
    size_t maced;
};

static enum sm_err parse_dos(const uint8_t *buf, size_t len, bool command, struct sm_dos *d)
{
    struct tlv_iter it;
    struct tlv t;
    enum tlv_err te;
    size_t off = 0;

    memset(d, 0, sizeof *d);
    tlv_iter_init(&it, buf, len, 0);
    while ((te = tlv_iter_next(&it, &t)) == TLV_OK) {
        if (d->has_mac)
            return SM_ERR_FORMAT; /* nothing may follow the MAC */
        switch (t.tag) {
        case DO_CRYPTO_PI:
        case DO_CRYPTO:
            if (d->has_crypto || d->has_le || d->has_status)
                return SM_ERR_FORMAT;
            d->crypto = t;
            d->has_crypto = true;
            break;
        case DO_LE:
            if (!command || d->has_le)
                return SM_ERR_FORMAT;
            d->le = t;
            d->has_le = true;
            break;
        case DO_STATUS:
            if (command || d->has_status)
                return SM_ERR_FORMAT;
            d->status = t;
            d->has_status = true;
            break;
        case DO_MAC:
            d->mac = t;
            d->has_mac = true;
            d->maced = off;
            break;
        default: return SM_ERR_FORMAT;
        }
        off += t.hdr_len + t.len;
    }
    if (te != TLV_ERR_END)
        return SM_ERR_FORMAT;
    if (!d->has_mac)
        return SM_ERR_NO_MAC;
    if (d->mac.len != ICAO_MAC_LEN)
        return SM_ERR_FORMAT;
    return SM_OK;
}

static bool mac_ok(const uint8_t *want, const struct tlv *t)
{
    return icao_ct_equal(want, t->value, ICAO_MAC_LEN) != 0;
}

enum sm_err sm_wrap_command(struct sm_ctx *sm, const struct apdu *cmd, uint8_t *buf, size_t cap,
                            struct apdu *out)
{
    uint8_t header[4], mac[ICAO_MAC_LEN], saved_ssc[ICAO_MAX_BLOCK_LEN];
    bool odd, extended;
    size_t pos = 0;
    enum sm_err e;

    memset(out, 0, sizeof *out);
    if (!sm->alive)
        return SM_ERR_DEAD;
    /* First interindustry class only (7816-4 §5.4.1): b8-b6 zero, no SM yet. */
    if ((cmd->cla & 0xE0) != 0 || (cmd->cla & CLA_SM) != 0)
        return SM_ERR_CLA;
    if (cmd->nc > APDU_NC_MAX || cmd->ne > APDU_NE_MAX || (cmd->nc > 0 && cmd->data == NULL))
        return SM_ERR_LENGTH;
    odd = (cmd->ins & 1) != 0;
    header[0] = (uint8_t)(cmd->cla | CLA_SM);
    header[1] = cmd->ins;
    header[2] = cmd->p1;
    header[3] = cmd->p2;
    extended = cmd->extended || cmd->ne > APDU_NE_SHORT;

    memcpy(saved_ssc, sm->ssc, sm->block);
    ssc_increment(sm);
    e = SM_OK;
    if (cmd->nc > 0)
        e = put_cryptogram(sm, odd, cmd->data, cmd->nc, buf, cap, &pos);
    if (e == SM_OK && cmd->ne > 0) {
        /* DO'97': Le as one byte ('00' = 256) or, for extended commands, two. */
        uint8_t le[2];
        size_t le_len;
        if (!extended) {
            le[0] = (uint8_t)(cmd->ne & 0xFF);
            le_len = 1;
        } else {
            le[0] = (uint8_t)((cmd->ne >> 8) & 0xFF);
            le[1] = (uint8_t)(cmd->ne & 0xFF);
            le_len = 2;
        }
        if (tlv_put(buf, cap, &pos, DO_LE, le, le_len) != TLV_OK)
            e = SM_ERR_BUFFER;
    }
    if (e == SM_OK)
        e = compute_mac(sm, header, buf, pos, mac);
    if (e == SM_OK && tlv_put(buf, cap, &pos, DO_MAC, mac, sizeof mac) != TLV_OK)
        e = SM_ERR_BUFFER;
    if (e == SM_OK && pos > APDU_NC_MAX)
        e = SM_ERR_LENGTH;
    if (e != SM_OK) {
        /* Nothing was sent: the command can be retried with a bigger buffer. */
        memcpy(sm->ssc, saved_ssc, sm->block);
        return e;
    }
    out->cla = header[0];
    out->ins = cmd->ins;
    out->p1 = cmd->p1;
    out->p2 = cmd->p2;
    out->data = buf;
    out->nc = pos;
    out->extended = extended || pos > 255;
    /* §9.8: Le of the protected command is always '00' or '0000'. */
    out->ne = out->extended ? APDU_NE_MAX : APDU_NE_SHORT;
    return SM_OK;
}

enum sm_err sm_unwrap_response(struct sm_ctx *sm, const uint8_t *resp, size_t len, uint8_t *data,
                               size_t cap, struct rapdu *out)
{
    struct sm_dos d;
    uint8_t mac[ICAO_MAC_LEN];
    size_t n = 0;
    enum sm_err e;

    memset(out, 0, sizeof *out);
    if (!sm->alive)
        return SM_ERR_DEAD;
    if (len < 2)
        return session_abort(sm, SM_ERR_FORMAT);
    e = parse_dos(resp, len - 2, false, &d);
    if (e == SM_OK && !d.has_status)
        e = SM_ERR_NO_MAC; /* §9.8: DO'99' is mandatory in a protected response */
    if (e != SM_OK)
        return session_abort(sm, e);
    ssc_increment(sm);
    e = compute_mac(sm, NULL, resp, d.maced, mac);
    if (e == SM_OK && !mac_ok(mac, &d.mac))
        e = SM_ERR_MAC;
    wipe(mac, sizeof mac);
    if (e != SM_OK)
        return session_abort(sm, e);
    /* Authentic from here on. */
    if (d.status.len != 2)
        return session_abort(sm, SM_ERR_FORMAT);
    if (d.has_crypto) {
        e = open_cryptogram(sm, &d.crypto, data, cap, &n);
        if (e != SM_OK)
            return session_abort(sm, e);
    }
    out->data = n > 0 ? data : NULL;
    out->len = n;
    out->sw = (uint16_t)(d.status.value[0] << 8 | d.status.value[1]);
    return SM_OK;
}

enum sm_err sm_unwrap_command(struct sm_ctx *sm, const struct apdu *prot, uint8_t *data, size_t cap,
                              struct apdu *out)
{
    struct sm_dos d;
    uint8_t header[4], mac[ICAO_MAC_LEN];
    size_t n = 0;
    enum sm_err e;

    memset(out, 0, sizeof *out);
    if (!sm->alive)
        return SM_ERR_DEAD;
    /* 9303-11 §9.8: a plain command ends the session on the chip. */
    if ((prot->cla & 0xE0) != 0 || (prot->cla & CLA_SM) != CLA_SM)
        return session_abort(sm, SM_ERR_CLA);
    if (prot->nc > 0 && prot->data == NULL)
        return session_abort(sm, SM_ERR_FORMAT);
    e = parse_dos(prot->data, prot->nc, true, &d);
    if (e != SM_OK)
        return session_abort(sm, e);
    header[0] = prot->cla;
    header[1] = prot->ins;
    header[2] = prot->p1;
    header[3] = prot->p2;
    ssc_increment(sm);
    e = compute_mac(sm, header, prot->data, d.maced, mac);
    if (e == SM_OK && !mac_ok(mac, &d.mac))
        e = SM_ERR_MAC;
    wipe(mac, sizeof mac);
    if (e != SM_OK)
        return session_abort(sm, e);
    /* Authentic from here on. */
    if (d.has_crypto) {
        /* DO'85' goes with odd INS, DO'87' with even INS. */
        if ((d.crypto.tag == DO_CRYPTO) != ((prot->ins & 1) != 0))
            return session_abort(sm, SM_ERR_FORMAT);
        e = open_cryptogram(sm, &d.crypto, data, cap, &n);
        if (e != SM_OK)
            return session_abort(sm, e);
    }
    if (d.has_le) {
        if (d.le.len == 1)
            out->ne = d.le.value[0] == 0 ? APDU_NE_SHORT : d.le.value[0];
        else if (d.le.len == 2)
            out->ne = (size_t)(d.le.value[0] << 8 | d.le.value[1]);
        else
            return session_abort(sm, SM_ERR_FORMAT);
        if (out->ne == 0)
            out->ne = APDU_NE_MAX;
    }
    out->cla = (uint8_t)(prot->cla & ~CLA_SM);
    out->ins = prot->ins;
    out->p1 = prot->p1;
    out->p2 = prot->p2;
    out->data = n > 0 ? data : NULL;
    out->nc = n;
    out->extended = prot->extended || out->ne > APDU_NE_SHORT || n > 255;
    return SM_OK;
}

enum sm_err sm_wrap_response(struct sm_ctx *sm, uint8_t ins, const uint8_t *data, size_t len,
                             uint16_t sw, uint8_t *out, size_t cap, size_t *out_len)
{
    uint8_t status[2] = {(uint8_t)(sw >> 8), (uint8_t)sw};
    uint8_t mac[ICAO_MAC_LEN];
    uint8_t saved_ssc[ICAO_MAX_BLOCK_LEN];
    size_t pos = 0;
    enum sm_err e = SM_OK;

    *out_len = 0;
    if (!sm->alive)
        return SM_ERR_DEAD;
    if (len > APDU_NE_MAX || (len > 0 && data == NULL))
        return SM_ERR_LENGTH;
    memcpy(saved_ssc, sm->ssc, sm->block);
    ssc_increment(sm);
    if (len > 0)
        e = put_cryptogram(sm, (ins & 1) != 0, data, len, out, cap, &pos);
    if (e == SM_OK && tlv_put(out, cap, &pos, DO_STATUS, status, 2) != TLV_OK)
        e = SM_ERR_BUFFER;
    if (e == SM_OK)
        e = compute_mac(sm, NULL, out, pos, mac);
    if (e == SM_OK && tlv_put(out, cap, &pos, DO_MAC, mac, sizeof mac) != TLV_OK)
        e = SM_ERR_BUFFER;
    if (e == SM_OK && cap - pos < 2)
        e = SM_ERR_BUFFER;
    if (e != SM_OK) {
        memcpy(sm->ssc, saved_ssc, sm->block);
        return e;
    }
    out[pos++] = status[0];
    out[pos++] = status[1];
    *out_len = pos;
    return SM_OK;
}

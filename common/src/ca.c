#include "hawiya/ca.h"

#include "hawiya/ecp_groups.h"

#include <string.h>

#include <mbedtls/bignum.h>
#include <mbedtls/ecp.h>
#include <mbedtls/asn1.h>
#include <mbedtls/oid.h>

#include "hawiya/apdu.h"
#include "hawiya/wipe.h"

const char *ca_err_str(enum ca_err e)
{
    switch (e) {
    case CA_OK: return "CA_OK";
    case CA_ERR_NO_KEY: return "CA_ERR_NO_KEY";
    case CA_ERR_BAD_KEY: return "CA_ERR_BAD_KEY";
    case CA_ERR_UNSUPPORTED: return "CA_ERR_UNSUPPORTED";
    case CA_ERR_STATE: return "CA_ERR_STATE";
    case CA_ERR_BUFFER: return "CA_ERR_BUFFER";
    case CA_ERR_RNG: return "CA_ERR_RNG";
    case CA_ERR_SW: return "CA_ERR_SW";
    case CA_ERR_BAD_RESPONSE: return "CA_ERR_BAD_RESPONSE";
    case CA_ERR_BAD_POINT: return "CA_ERR_BAD_POINT";
    case CA_ERR_BAD_COMMAND: return "CA_ERR_BAD_COMMAND";
    case CA_ERR_CRYPTO: return "CA_ERR_CRYPTO";
    }
    return "CA_ERR_UNKNOWN";
}

#define INS_MSE                  0x22
#define INS_GENERAL_AUTHENTICATE 0x86
#define P1_SET_COMPUTE           0x41 /* MSE: set for internal authentication / key agreement */
#define P2_KAT                   0xA6 /* key agreement template */
#define P2_AT                    0xA4 /* authentication template */
#define DO_OID                   0x80
#define DO_KEY_REF               0x84
#define DO_EPHEMERAL_PK          0x91 /* MSE:Set KAT, §6.2.4.1 */
#define DO_DYN_AUTH              0x7C
#define DO_GA_EPHEMERAL_PK       0x80 /* inside 7C, §6.2.4.2 */

#define SW_OK              0x9000
#define SW_WRONG_DATA      0x6A80
#define SW_REF_NOT_FOUND   0x6A88
#define SW_CONDITIONS      0x6985
#define SW_WRONG_P1P2      0x6A86
#define SW_INS_UNSUPPORTED 0x6D00

enum { R_IDLE = 0, R_WAIT_KAT, R_WAIT_AT, R_WAIT_GA, R_DONE, R_FAILED };
enum { C_IDLE = 0, C_AT_SET, C_DONE };

/* ---- shared helpers ----------------------------------------------------- */

/* id-ecPublicKey (RFC 5480) and prime-field (X9.62), content octets. */
static const uint8_t oid_ec_public_key[] = {0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01};
static const uint8_t oid_prime_field[] = {0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x01, 0x01};

static bool get(unsigned char **p, const unsigned char *end, size_t *len, int tag)
{
    return mbedtls_asn1_get_tag(p, end, len, tag) == 0;
}

/* An unsigned big-endian field element (OCTET STRING or INTEGER content) equals x. */
static bool equals_mpi(const unsigned char *v, size_t len, const mbedtls_mpi *x)
{
    mbedtls_mpi t;
    mbedtls_mpi_init(&t);
    bool eq = mbedtls_mpi_read_binary(&t, v, len) == 0 && mbedtls_mpi_cmp_mpi(&t, x) == 0;
    mbedtls_mpi_free(&t);
    return eq;
}

/*
 * Explicit ECParameters (X9.62, RFC 3279 §2.3.5), which DG14 often carries
 * instead of a named curve: the curve is identified by comparing p, a, b, G
 * and n with every group mbedTLS has compiled in.
 */
static mbedtls_ecp_group_id specified_curve(unsigned char *p, const unsigned char *end)
{
    size_t len, plen, alen, blen, glen, nlen;
    unsigned char *pv, *av, *bv, *gv, *nv, *seq_end;
    int version;
    if (mbedtls_asn1_get_int(&p, end, &version) != 0 || version != 1)
        return MBEDTLS_ECP_DP_NONE;
    /* fieldID SEQUENCE { prime-field, p INTEGER } */
    if (!get(&p, end, &len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE))
        return MBEDTLS_ECP_DP_NONE;
    seq_end = p + len;
    if (!get(&p, seq_end, &len, MBEDTLS_ASN1_OID) || len != sizeof oid_prime_field ||
        memcmp(p, oid_prime_field, len) != 0)
        return MBEDTLS_ECP_DP_NONE;
    p += len;
    if (!get(&p, seq_end, &plen, MBEDTLS_ASN1_INTEGER) || p + plen != seq_end)
        return MBEDTLS_ECP_DP_NONE;
    pv = p;
    p = seq_end;
    /* curve SEQUENCE { a, b OCTET STRING, seed BIT STRING OPTIONAL } */
    if (!get(&p, end, &len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE))
        return MBEDTLS_ECP_DP_NONE;
    seq_end = p + len;
    if (!get(&p, seq_end, &alen, MBEDTLS_ASN1_OCTET_STRING))
        return MBEDTLS_ECP_DP_NONE;
    av = p;
    p += alen;
    if (!get(&p, seq_end, &blen, MBEDTLS_ASN1_OCTET_STRING))
        return MBEDTLS_ECP_DP_NONE;
    bv = p;
    p = seq_end;
    if (!get(&p, end, &glen, MBEDTLS_ASN1_OCTET_STRING))
        return MBEDTLS_ECP_DP_NONE;
    gv = p;
    p += glen;
    if (!get(&p, end, &nlen, MBEDTLS_ASN1_INTEGER))
        return MBEDTLS_ECP_DP_NONE;
    nv = p;

    mbedtls_ecp_group_id found = MBEDTLS_ECP_DP_NONE;
    for (const mbedtls_ecp_group_id *id = mbedtls_ecp_grp_id_list();
         *id != MBEDTLS_ECP_DP_NONE && found == MBEDTLS_ECP_DP_NONE; id++) {
        mbedtls_ecp_group grp;
        mbedtls_ecp_point g;
        mbedtls_mpi a;
        mbedtls_ecp_group_init(&grp);
        mbedtls_ecp_point_init(&g);
        mbedtls_mpi_init(&a);
        if (mbedtls_ecp_group_load(&grp, *id) == 0 &&
            mbedtls_ecp_get_type(&grp) == MBEDTLS_ECP_TYPE_SHORT_WEIERSTRASS &&
            equals_mpi(pv, plen, &grp.P) && equals_mpi(bv, blen, &grp.B) &&
            equals_mpi(nv, nlen, &grp.N)) {
            /* mbedTLS leaves A empty for the curves with a = -3. */
            int ok =
                grp.A.p == NULL ? mbedtls_mpi_sub_int(&a, &grp.P, 3) : mbedtls_mpi_copy(&a, &grp.A);
            if (ok == 0 && equals_mpi(av, alen, &a) &&
                mbedtls_ecp_point_read_binary(&grp, &g, gv, glen) == 0 &&
                mbedtls_ecp_point_cmp(&g, &grp.G) == 0)
                found = *id;
        }
        mbedtls_mpi_free(&a);
        mbedtls_ecp_point_free(&g);
        mbedtls_ecp_group_free(&grp);
    }
    return found;
}

/*
 * The group and point of an EC SubjectPublicKeyInfo (RFC 5480 §2): named
 * or explicit domain parameters; the point must be uncompressed and on the
 * curve.
 */
static enum ca_err spki_key(const uint8_t *spki, size_t spki_len, mbedtls_ecp_group *grp,
                            mbedtls_ecp_point *q)
{
    unsigned char *p = (unsigned char *)spki, *end, *alg_end;
    size_t len;
    mbedtls_ecp_group_id id = MBEDTLS_ECP_DP_NONE;
    if (spki == NULL || spki_len == 0)
        return CA_ERR_BAD_KEY;
    end = p + spki_len;
    if (!get(&p, end, &len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE) || p + len != end)
        return CA_ERR_BAD_KEY;
    if (!get(&p, end, &len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE))
        return CA_ERR_BAD_KEY;
    alg_end = p + len;
    if (!get(&p, alg_end, &len, MBEDTLS_ASN1_OID))
        return CA_ERR_BAD_KEY;
    if (len != sizeof oid_ec_public_key || memcmp(p, oid_ec_public_key, len) != 0)
        return CA_ERR_UNSUPPORTED;
    p += len;
    if (p < alg_end && *p == MBEDTLS_ASN1_OID) {
        mbedtls_asn1_buf oid;
        if (!get(&p, alg_end, &len, MBEDTLS_ASN1_OID))
            return CA_ERR_BAD_KEY;
        oid.tag = MBEDTLS_ASN1_OID;
        oid.len = len;
        oid.p = p;
        if (mbedtls_oid_get_ec_grp(&oid, &id) != 0)
            return CA_ERR_UNSUPPORTED;
        p += len;
    } else if (p < alg_end && *p == (MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE)) {
        if (!get(&p, alg_end, &len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE) ||
            p + len != alg_end)
            return CA_ERR_BAD_KEY;
        id = specified_curve(p, alg_end);
        if (id == MBEDTLS_ECP_DP_NONE)
            return CA_ERR_UNSUPPORTED;
        p = alg_end;
    } else {
        return CA_ERR_BAD_KEY;
    }
    if (p != alg_end)
        return CA_ERR_BAD_KEY;
    if (!get(&p, end, &len, MBEDTLS_ASN1_BIT_STRING) || p + len != end || len < 2 || p[0] != 0 ||
        p[1] != 0x04)
        return CA_ERR_BAD_KEY;
    if (ecp_group_load_fast(grp, id) != 0)
        return CA_ERR_UNSUPPORTED;
    if (len - 1 != 1 + 2 * ((grp->pbits + 7) / 8) ||
        mbedtls_ecp_point_read_binary(grp, q, p + 1, len - 1) != 0 ||
        mbedtls_ecp_check_pubkey(grp, q) != 0)
        return CA_ERR_BAD_KEY;
    return CA_OK;
}

static size_t point_len_of(const mbedtls_ecp_group *grp)
{
    return 1 + 2 * ((grp->pbits + 7) / 8);
}

/* K = x(d * peer), then KS_enc and KS_mac with the cipher of the CA OID. */
static enum ca_err derive(const mbedtls_ecp_group *grp_in, const mbedtls_mpi *d,
                          const mbedtls_ecp_point *peer, enum icao_cipher cipher, pace_rng_fn blind,
                          void *blind_ctx, uint8_t *ks_enc, uint8_t *ks_mac)
{
    mbedtls_ecp_point k;
    uint8_t kx[PACE_MAX_FIELD_LEN];
    size_t flen = (grp_in->pbits + 7) / 8;
    enum ca_err e = CA_OK;
    /* mbedtls_ecp_mul takes a non-const group (it may cache a table of G). */
    mbedtls_ecp_group *grp = (mbedtls_ecp_group *)grp_in;
    mbedtls_ecp_point_init(&k);
    if (mbedtls_ecp_mul(grp, &k, d, peer, blind, blind_ctx) != 0 || mbedtls_ecp_is_zero(&k) ||
        mbedtls_mpi_write_binary(&k.X, kx, flen) != 0)
        e = CA_ERR_CRYPTO;
    else if (icao_kdf(cipher, kx, flen, ICAO_KDF_ENC, ks_enc) != ICAO_CRYPTO_OK ||
             icao_kdf(cipher, kx, flen, ICAO_KDF_MAC, ks_mac) != ICAO_CRYPTO_OK)
        e = CA_ERR_CRYPTO;
    wipe(kx, sizeof kx);
    mbedtls_ecp_point_free(&k);
    return e;
}

/* keyId as the minimal big-endian octets of DO'84'. */
static size_t key_ref(uint32_t id, uint8_t *out)
{
    size_t n = id > 0xFFFFFF ? 4 : id > 0xFFFF ? 3 : id > 0xFF ? 2 : 1;
    for (size_t i = 0; i < n; i++)
        out[i] = (uint8_t)(id >> (8 * (n - 1 - i)));
    return n;
}

/* One BER-TLV with a one-byte tag and a short or 81 length. */
static bool tlv_next(const uint8_t **p, const uint8_t *end, uint8_t *tag, const uint8_t **v,
                     size_t *vlen)
{
    const uint8_t *q = *p;
    if (end - q < 2)
        return false;
    *tag = q[0];
    size_t len = q[1];
    q += 2;
    if (len == 0x81) {
        if (q >= end || *q < 0x80)
            return false;
        len = *q++;
    } else if (len > 0x80) {
        return false;
    }
    if ((size_t)(end - q) < len)
        return false;
    *v = q;
    *vlen = len;
    *p = q + len;
    return true;
}

static size_t put_tlv(uint8_t *out, uint8_t tag, const uint8_t *v, size_t vlen)
{
    size_t n = 0;
    out[n++] = tag;
    if (vlen >= 0x80)
        out[n++] = 0x81;
    out[n++] = (uint8_t)vlen;
    memcpy(out + n, v, vlen);
    return n + vlen;
}

/* ---- reader side -------------------------------------------------------- */

static const struct ca_pk_info *find_key(const struct security_infos *dg14,
                                         const struct ca_info *ci)
{
    for (size_t i = 0; i < dg14->n_ca_pk && i < CARDACCESS_MAX_CA_PK; i++) {
        const struct ca_pk_info *pk = &dg14->ca_pk[i];
        if (pk->ka != PACE_KA_ECDH)
            continue;
        if (!ci->has_key_id || (pk->has_key_id && pk->key_id == ci->key_id))
            return pk;
    }
    return NULL;
}

static enum ca_err reader_fail(struct ca *ctx, enum ca_err e)
{
    uint16_t sw = ctx->sw;
    wipe(ctx, sizeof *ctx);
    ctx->sw = sw;
    ctx->state = R_FAILED;
    return e;
}

enum ca_err ca_begin(struct ca *ctx, const struct security_infos *dg14, pace_rng_fn rng,
                     void *rng_ctx, pace_rng_fn blind, void *blind_ctx, struct ecp_groups *groups,
                     uint8_t *cmd, size_t cap, size_t *cmd_len)
{
    const struct ca_info *ci = NULL;
    const struct ca_pk_info *pk = NULL;
    mbedtls_ecp_group grp;
    mbedtls_ecp_point pk_ic, q;
    mbedtls_mpi d;
    uint8_t sk[PACE_MAX_FIELD_LEN];
    uint8_t data[CA_MAX_POINT_LEN + 16];
    size_t n = 0, olen;
    enum ca_err e = CA_OK;

    *cmd_len = 0;
    wipe(ctx, sizeof *ctx);
    if (blind == NULL) {
        blind = rng;
        blind_ctx = rng_ctx;
    }
    for (size_t i = 0; i < dg14->n_ca && i < CARDACCESS_MAX_CA && pk == NULL; i++) {
        if (dg14->ca[i].ka != PACE_KA_ECDH)
            continue;
        ci = &dg14->ca[i];
        pk = find_key(dg14, ci);
    }
    if (pk == NULL)
        return reader_fail(ctx, CA_ERR_NO_KEY);
    ctx->info = *ci;

    mbedtls_ecp_group_init(&grp);
    mbedtls_ecp_point_init(&pk_ic);
    mbedtls_ecp_point_init(&q);
    mbedtls_mpi_init(&d);
    e = spki_key(pk->spki, pk->spki_len, &grp, &pk_ic);
    /* The same curve kept from earlier sessions computes x·G with its table. */
    mbedtls_ecp_group *g = e == CA_OK ? ecp_groups_get(groups, grp.id) : NULL;
    if (g == NULL)
        g = &grp;
    if (e == CA_OK) {
        ctx->group = grp.id;
        ctx->point_len = point_len_of(&grp);
        /* SK_IFD in [1, n-1] by rejection sampling, as in pace.c. */
        size_t n_len = (grp.nbits + 7) / 8, excess = n_len * 8 - grp.nbits;
        e = CA_ERR_RNG;
        for (int tries = 0; tries < 32 && rng != NULL; tries++) {
            if (rng(rng_ctx, sk, n_len) != 0)
                break;
            sk[0] &= (uint8_t)(0xFF >> excess);
            if (mbedtls_mpi_read_binary(&d, sk, n_len) != 0) {
                e = CA_ERR_CRYPTO;
                break;
            }
            if (mbedtls_mpi_cmp_int(&d, 1) >= 0 && mbedtls_mpi_cmp_mpi(&d, &g->N) < 0) {
                e = CA_OK;
                break;
            }
        }
    }
    if (e == CA_OK && (mbedtls_ecp_mul(g, &q, &d, &g->G, blind, blind_ctx) != 0 ||
                       mbedtls_ecp_point_write_binary(g, &q, MBEDTLS_ECP_PF_UNCOMPRESSED, &olen,
                                                      ctx->pk_ifd, sizeof ctx->pk_ifd) != 0 ||
                       olen != ctx->point_len))
        e = CA_ERR_CRYPTO;
    if (e == CA_OK)
        e = derive(g, &d, &pk_ic, ci->cipher, blind, blind_ctx, ctx->ks_enc, ctx->ks_mac);
    wipe(sk, sizeof sk);
    mbedtls_mpi_free(&d);
    mbedtls_ecp_group_free(&grp);
    mbedtls_ecp_point_free(&pk_ic);
    mbedtls_ecp_point_free(&q);
    if (e != CA_OK)
        return reader_fail(ctx, e);

    uint8_t ref[4];
    size_t ref_len = key_ref(ci->key_id, ref);
    struct apdu a = {.cla = 0x00, .ins = INS_MSE, .p1 = P1_SET_COMPUTE, .data = data};
    if (ci->cipher == ICAO_3DES) {
        a.p2 = P2_KAT;
        n += put_tlv(data + n, DO_EPHEMERAL_PK, ctx->pk_ifd, ctx->point_len);
        ctx->state = R_WAIT_KAT;
    } else {
        a.p2 = P2_AT;
        n += put_tlv(data + n, DO_OID, ci->oid, ci->oid_len);
        ctx->state = R_WAIT_AT;
    }
    if (ci->has_key_id)
        n += put_tlv(data + n, DO_KEY_REF, ref, ref_len);
    a.nc = n;
    if (apdu_encode(&a, cmd, cap, cmd_len) != APDU_OK)
        return reader_fail(ctx, CA_ERR_BUFFER);
    return CA_OK;
}

enum ca_err ca_step(struct ca *ctx, const uint8_t *rapdu, size_t len, uint8_t *cmd, size_t cap,
                    size_t *cmd_len)
{
    struct rapdu r;
    *cmd_len = 0;
    if (ctx->state != R_WAIT_KAT && ctx->state != R_WAIT_AT && ctx->state != R_WAIT_GA)
        return CA_ERR_STATE;
    if (rapdu == NULL || rapdu_decode(rapdu, len, &r) != APDU_OK)
        return reader_fail(ctx, CA_ERR_BAD_RESPONSE);
    ctx->sw = r.sw;
    if (r.sw != SW_OK)
        return reader_fail(ctx, CA_ERR_SW);

    if (ctx->state == R_WAIT_AT) {
        uint8_t data[CA_MAX_POINT_LEN + 8];
        size_t inner = (ctx->point_len >= 0x80 ? 3 : 2) + ctx->point_len;
        size_t n = 0;
        if (r.len != 0)
            return reader_fail(ctx, CA_ERR_BAD_RESPONSE);
        data[n++] = DO_DYN_AUTH;
        if (inner >= 0x80)
            data[n++] = 0x81;
        data[n++] = (uint8_t)inner;
        n += put_tlv(data + n, DO_GA_EPHEMERAL_PK, ctx->pk_ifd, ctx->point_len);
        struct apdu a = {.cla = 0x00,
                         .ins = INS_GENERAL_AUTHENTICATE,
                         .p1 = 0,
                         .p2 = 0,
                         .data = data,
                         .nc = n,
                         .ne = APDU_NE_SHORT};
        if (apdu_encode(&a, cmd, cap, cmd_len) != APDU_OK)
            return reader_fail(ctx, CA_ERR_BUFFER);
        ctx->state = R_WAIT_GA;
        return CA_OK;
    }
    /* MSE:Set KAT answers no data; the GENERAL AUTHENTICATE of CA an empty 7C
     * (§6.2.4.2), which some cards leave out altogether. */
    bool ok = r.len == 0 ||
              (ctx->state == R_WAIT_GA && r.len == 2 && r.data[0] == DO_DYN_AUTH && r.data[1] == 0);
    if (!ok)
        return reader_fail(ctx, CA_ERR_BAD_RESPONSE);
    ctx->state = R_DONE;
    return CA_OK;
}

bool ca_done(const struct ca *ctx)
{
    return ctx->state == R_DONE;
}

enum ca_err ca_get_result(const struct ca *ctx, struct ca_result *out)
{
    if (ctx->state != R_DONE)
        return CA_ERR_STATE;
    memset(out, 0, sizeof *out);
    out->cipher = ctx->info.cipher;
    out->key_len = icao_key_len(ctx->info.cipher);
    memcpy(out->ks_enc, ctx->ks_enc, out->key_len);
    memcpy(out->ks_mac, ctx->ks_mac, out->key_len);
    return CA_OK;
}

void ca_wipe(struct ca *ctx)
{
    wipe(ctx, sizeof *ctx);
}

/* ---- card side ---------------------------------------------------------- */

enum ca_err ca_card_init(struct ca_card *card, const struct ca_info *info, const uint8_t *spki,
                         size_t spki_len, const uint8_t *sk_ic, size_t sk_len, pace_rng_fn blind,
                         void *blind_ctx)
{
    mbedtls_ecp_group grp;
    mbedtls_ecp_point q, check;
    mbedtls_mpi d;
    enum ca_err e;

    wipe(card, sizeof *card);
    if (info->ka != PACE_KA_ECDH)
        return CA_ERR_UNSUPPORTED;
    mbedtls_ecp_group_init(&grp);
    mbedtls_ecp_point_init(&q);
    mbedtls_ecp_point_init(&check);
    mbedtls_mpi_init(&d);
    e = spki_key(spki, spki_len, &grp, &q);
    if (e == CA_OK) {
        card->n_len = (grp.nbits + 7) / 8;
        if (sk_len != card->n_len || sk_len > sizeof card->sk_ic ||
            mbedtls_mpi_read_binary(&d, sk_ic, sk_len) != 0 ||
            mbedtls_ecp_check_privkey(&grp, &d) != 0)
            e = CA_ERR_BAD_KEY;
    }
    /* The private key must be the one of the announced public key. */
    if (e == CA_OK && (mbedtls_ecp_mul(&grp, &check, &d, &grp.G, blind, blind_ctx) != 0 ||
                       mbedtls_ecp_point_cmp(&check, &q) != 0))
        e = CA_ERR_BAD_KEY;
    if (e == CA_OK) {
        card->info = *info;
        card->group = grp.id;
        card->point_len = point_len_of(&grp);
        memcpy(card->sk_ic, sk_ic, sk_len);
        card->blind = blind;
        card->blind_ctx = blind_ctx;
    }
    mbedtls_mpi_free(&d);
    mbedtls_ecp_group_free(&grp);
    mbedtls_ecp_point_free(&q);
    mbedtls_ecp_point_free(&check);
    if (e != CA_OK)
        wipe(card, sizeof *card);
    return e;
}

/* Validates PK_IFD and derives the new session keys. */
static enum ca_err card_agree(struct ca_card *card, const uint8_t *pk, size_t len)
{
    mbedtls_ecp_group grp;
    mbedtls_ecp_point peer;
    mbedtls_mpi d;
    enum ca_err e = CA_OK;
    mbedtls_ecp_group_init(&grp);
    mbedtls_ecp_point_init(&peer);
    mbedtls_mpi_init(&d);
    if (ecp_group_load_fast(&grp, (mbedtls_ecp_group_id)card->group) != 0)
        e = CA_ERR_CRYPTO;
    else if (len != card->point_len || pk[0] != 0x04 ||
             mbedtls_ecp_point_read_binary(&grp, &peer, pk, len) != 0 ||
             mbedtls_ecp_check_pubkey(&grp, &peer) != 0)
        e = CA_ERR_BAD_POINT;
    else if (mbedtls_mpi_read_binary(&d, card->sk_ic, card->n_len) != 0)
        e = CA_ERR_CRYPTO;
    else
        e = derive(&grp, &d, &peer, card->info.cipher, card->blind, card->blind_ctx, card->ks_enc,
                   card->ks_mac);
    mbedtls_mpi_free(&d);
    mbedtls_ecp_group_free(&grp);
    mbedtls_ecp_point_free(&peer);
    return e;
}

/* DO'84', when present, must name this card's key. */
static bool key_ref_matches(const struct ca_card *card, const uint8_t *v, size_t vlen)
{
    uint8_t ref[4];
    if (!card->info.has_key_id)
        return false;
    size_t n = key_ref(card->info.key_id, ref);
    return vlen == n && memcmp(v, ref, n) == 0;
}

static enum ca_err card_mse(struct ca_card *card, const struct apdu *a, uint16_t *sw)
{
    static const uint8_t none[1];
    const uint8_t *p = a->nc ? a->data : none, *end = p + a->nc;
    const uint8_t *pk = NULL, *oid = NULL;
    size_t pk_len = 0, oid_len = 0;
    bool kat = a->p2 == P2_KAT;

    if (a->p1 != P1_SET_COMPUTE || (a->p2 != P2_KAT && a->p2 != P2_AT)) {
        *sw = SW_WRONG_P1P2;
        return CA_ERR_BAD_COMMAND;
    }
    /* 3DES uses MSE:Set KAT, AES MSE:Set AT + GENERAL AUTHENTICATE (§6.2.4). */
    if (kat != (card->info.cipher == ICAO_3DES)) {
        *sw = SW_CONDITIONS;
        return CA_ERR_BAD_COMMAND;
    }
    while (p < end) {
        uint8_t tag;
        const uint8_t *v;
        size_t vlen;
        if (!tlv_next(&p, end, &tag, &v, &vlen))
            return CA_ERR_BAD_COMMAND;
        if (tag == DO_KEY_REF) {
            if (!key_ref_matches(card, v, vlen)) {
                *sw = SW_REF_NOT_FOUND;
                return CA_ERR_NO_KEY;
            }
        } else if (kat && tag == DO_EPHEMERAL_PK && pk == NULL) {
            pk = v, pk_len = vlen;
        } else if (!kat && tag == DO_OID && oid == NULL) {
            oid = v, oid_len = vlen;
        } else {
            return CA_ERR_BAD_COMMAND;
        }
    }
    if (kat) {
        if (pk == NULL)
            return CA_ERR_BAD_COMMAND;
        enum ca_err e = card_agree(card, pk, pk_len);
        if (e != CA_OK)
            return e;
        card->state = C_DONE;
    } else {
        if (oid == NULL || oid_len != card->info.oid_len ||
            memcmp(oid, card->info.oid, oid_len) != 0) {
            *sw = SW_REF_NOT_FOUND;
            return CA_ERR_BAD_COMMAND;
        }
        card->state = C_AT_SET;
    }
    *sw = SW_OK;
    return CA_OK;
}

static enum ca_err card_ga(struct ca_card *card, const struct apdu *a, uint8_t *rapdu, size_t cap,
                           size_t *rlen, uint16_t *sw)
{
    const uint8_t *p = a->data, *end, *in, *pk;
    size_t in_len, pk_len;
    uint8_t tag;
    if (a->p1 != 0 || a->p2 != 0) {
        *sw = SW_WRONG_P1P2;
        return CA_ERR_BAD_COMMAND;
    }
    if (card->state != C_AT_SET) {
        *sw = SW_CONDITIONS;
        return CA_ERR_STATE;
    }
    if (a->data == NULL || a->nc == 0) {
        /* No dynamic authentication data: nothing to point into (no NULL + 0). */
        *sw = SW_WRONG_DATA;
        return CA_ERR_BAD_COMMAND;
    }
    end = a->data + a->nc;
    if (a->nc == 0 || !tlv_next(&p, end, &tag, &in, &in_len) || tag != DO_DYN_AUTH || p != end)
        return CA_ERR_BAD_COMMAND;
    const uint8_t *in_end = in + in_len;
    if (!tlv_next(&in, in_end, &tag, &pk, &pk_len) || tag != DO_GA_EPHEMERAL_PK || in != in_end)
        return CA_ERR_BAD_COMMAND;
    enum ca_err e = card_agree(card, pk, pk_len);
    if (e != CA_OK)
        return e;
    static const uint8_t empty_dyn_auth[] = {DO_DYN_AUTH, 0x00};
    if (rapdu_encode(empty_dyn_auth, sizeof empty_dyn_auth, SW_OK, rapdu, cap, rlen) != APDU_OK)
        return CA_ERR_BUFFER;
    card->state = C_DONE;
    return CA_OK;
}

enum ca_err ca_card_process(struct ca_card *card, const uint8_t *capdu, size_t len, uint8_t *rapdu,
                            size_t cap, size_t *rlen)
{
    struct apdu a;
    uint16_t sw = SW_WRONG_DATA;
    enum ca_err e;

    *rlen = 0;
    if (card->group == 0) {
        sw = SW_CONDITIONS;
        e = CA_ERR_STATE;
    } else if (capdu == NULL || apdu_decode(capdu, len, &a, NULL) != APDU_OK ||
               (a.cla & ~0x0Cu) != 0) {
        /* Secure messaging bits are tolerated: the SM layer has unwrapped the command. */
        e = CA_ERR_BAD_COMMAND;
    } else if (a.ins == INS_MSE) {
        wipe(card->ks_enc, sizeof card->ks_enc);
        wipe(card->ks_mac, sizeof card->ks_mac);
        card->state = C_IDLE;
        e = card_mse(card, &a, &sw);
    } else if (a.ins == INS_GENERAL_AUTHENTICATE) {
        e = card_ga(card, &a, rapdu, cap, rlen, &sw);
        if (e == CA_OK)
            return CA_OK;
    } else {
        sw = SW_INS_UNSUPPORTED;
        e = CA_ERR_BAD_COMMAND;
    }
    if (e != CA_OK && card->group != 0) {
        wipe(card->ks_enc, sizeof card->ks_enc);
        wipe(card->ks_mac, sizeof card->ks_mac);
        card->state = C_IDLE;
    }
    if (rapdu_encode(NULL, 0, sw, rapdu, cap, rlen) != APDU_OK)
        return CA_ERR_BUFFER;
    return e;
}

bool ca_card_done(const struct ca_card *card)
{
    return card->state == C_DONE;
}

enum ca_err ca_card_get_result(const struct ca_card *card, struct ca_result *out)
{
    if (card->state != C_DONE)
        return CA_ERR_STATE;
    memset(out, 0, sizeof *out);
    out->cipher = card->info.cipher;
    out->key_len = icao_key_len(card->info.cipher);
    memcpy(out->ks_enc, card->ks_enc, out->key_len);
    memcpy(out->ks_mac, card->ks_mac, out->key_len);
    return CA_OK;
}

void ca_card_wipe(struct ca_card *card)
{
    wipe(card, sizeof *card);
}

#include "attest.h"

#include <string.h>

#include "hal/board.h"
#include "hal/rng.h"
#include "mbedtls/asn1write.h"
#include "mbedtls/ecdsa.h"
#include "mbedtls/ecp.h"
#include "mbedtls/sha256.h"
#include "mbedtls/x509_crt.h"

const char *attest_err_str(enum attest_err e)
{
    switch (e) {
    case ATTEST_OK: return "ATTEST_OK";
    case ATTEST_ERR_RNG: return "ATTEST_ERR_RNG";
    case ATTEST_ERR_FLASH: return "ATTEST_ERR_FLASH";
    case ATTEST_ERR_KEY: return "ATTEST_ERR_KEY";
    case ATTEST_ERR_CERT: return "ATTEST_ERR_CERT";
    case ATTEST_ERR_SIGN: return "ATTEST_ERR_SIGN";
    case ATTEST_ERR_STORE: return "ATTEST_ERR_STORE";
    case ATTEST_ERR_KEY_LOST: return "ATTEST_ERR_KEY_LOST";
    case ATTEST_ERR_KEY_MISMATCH: return "ATTEST_ERR_KEY_MISMATCH";
    case ATTEST_ERR_CERT_LOST: return "ATTEST_ERR_CERT_LOST";
    case ATTEST_ERR_COUNTER: return "ATTEST_ERR_COUNTER";
    case ATTEST_ERR_COUNTER_EXHAUSTED: return "ATTEST_ERR_COUNTER_EXHAUSTED";
    }
    return "ATTEST_ERR_UNKNOWN";
}

static int entropy(void *ctx, unsigned char *out, size_t len)
{
    (void)ctx;
    return hal_rng(out, len) ? 0 : -1;
}

int attest_random(void *ctx, unsigned char *out, size_t len)
{
    struct attest *a = ctx;
    return mbedtls_ctr_drbg_random(&a->drbg, out, len);
}

static void put_be64(uint8_t b[8], uint64_t v)
{
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (56 - 8 * i));
}

static bool all_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

static bool all_ff(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0xFF)
            return false;
    return true;
}

/* The reader id and public point of the loaded key. */
static enum attest_err describe_key(struct attest *a)
{
    size_t plen;
    const mbedtls_ecp_keypair *ec = mbedtls_pk_ec(a->key);
    if (mbedtls_ecp_point_write_binary(&ec->grp, &ec->Q, MBEDTLS_ECP_PF_UNCOMPRESSED, &plen,
                                       a->point, sizeof a->point) ||
        plen != sizeof a->point)
        return ATTEST_ERR_KEY;
    /* The reader id names the key: board and the first bytes of SHA-256(Q). */
    uint8_t h[32];
    static const char hex[] = "0123456789abcdef";
    mbedtls_sha256_ret(a->point, sizeof a->point, h, 0);
    size_t k = 0;
    for (const char *b = hal_board_name(); *b && k < ATTEST_ID_MAX - 10; b++)
        a->id[k++] = *b;
    a->id[k++] = '-';
    for (int i = 0; i < 4; i++) {
        a->id[k++] = hex[h[i] >> 4];
        a->id[k++] = hex[h[i] & 15];
    }
    a->id[k] = '\0';
    a->ready = true;
    return ATTEST_OK;
}

/* OTP block ATTEST_OTP_IDENTITY for our key: "HWID", SHA-256(Q)[0..16), FF.., CRC-32. */
static void identity_block(const struct attest *a, uint8_t b[32])
{
    uint8_t h[32];
    memset(b, 0xFF, 32);
    memcpy(b, "HWID", 4);
    mbedtls_sha256_ret(a->point, sizeof a->point, h, 0);
    memcpy(b + 4, h, 16);
    uint32_t crc = store_crc32(b, 28);
    for (int i = 0; i < 4; i++)
        b[28 + i] = (uint8_t)(crc >> (8 * i));
}

/* What the OTP says: whether the identity was made, whether it was certified,
 * and (when the identity block is whole) which key it was. */
struct otp_view {
    bool present, made, certified, whole;
    uint8_t identity[32];
};

static void read_otp(struct otp_view *o)
{
    struct hal_flash_info fi;
    uint8_t cert[32];
    memset(o, 0, sizeof *o);
    if (!hal_flash_info(&fi) || fi.otp_size < 64 ||
        !hal_otp_read(ATTEST_OTP_IDENTITY, o->identity, 32) ||
        !hal_otp_read(ATTEST_OTP_CERTIFIED, cert, 32))
        return;
    o->present = true;
    o->made = !all_ff(o->identity, 32);
    o->certified = !all_ff(cert, 32);
    uint32_t crc = store_crc32(o->identity, 28);
    o->whole = !memcmp(o->identity, "HWID", 4) && o->identity[28] == (uint8_t)crc &&
               o->identity[29] == (uint8_t)(crc >> 8) && o->identity[30] == (uint8_t)(crc >> 16) &&
               o->identity[31] == (uint8_t)(crc >> 24);
}

/* Programs an OTP block once. A failure is not fatal: the store still holds
 * the identity, and the block is programmed at the next start. */
static void program_otp(uint32_t off, const uint8_t b[32])
{
    (void)hal_otp_program(off, b, 32);
}

/* A blank reader's first start: counter 0, then the key (the commit), then
 * the OTP mark, in that order, so that a cut anywhere leaves either what a
 * first start may redo (nothing, or counter 0 alone) or a whole identity. */
static enum attest_err make_identity(struct attest *a)
{
    uint8_t der[256], c[8] = {0}, otp[32];
    if (mbedtls_pk_setup(&a->key, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)) ||
        mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(a->key),
                            mbedtls_ctr_drbg_random, &a->drbg))
        return ATTEST_ERR_RNG;
    int n = mbedtls_pk_write_key_der(&a->key, der, sizeof der);
    bool ok = n > 0 && store_put(&a->store, ATTEST_REC_COUNTER, c, sizeof c) == STORE_OK &&
              store_put(&a->store, ATTEST_REC_KEY, der + sizeof der - n, (size_t)n) == STORE_OK;
    memset(der, 0, sizeof der);
    if (!ok)
        return ATTEST_ERR_FLASH;
    if (describe_key(a) != ATTEST_OK)
        return ATTEST_ERR_KEY;
    identity_block(a, otp);
    program_otp(ATTEST_OTP_IDENTITY, otp);
    return ATTEST_OK;
}

static enum attest_err load_identity(struct attest *a)
{
    struct otp_view otp;
    uint8_t buf[ATTEST_CERT_MAX];
    size_t n;
    read_otp(&otp);
    enum store_err se = store_open(&a->store);
    /* Written but without a store header: a first start cut before the
     * identity was made (else the OTP would say so) — start again. */
    if (se == STORE_ERR_NOT_FORMATTED && !otp.made)
        se = store_format(&a->store);
    if (se != STORE_OK)
        return ATTEST_ERR_STORE;

    if (!store_has(&a->store, ATTEST_REC_KEY)) {
        /* Only a reader that never made its identity makes a key: nothing in
         * the OTP, and in the store nothing but (from a first start cut
         * short) counter 0, which released no signature. */
        uint8_t c[8];
        bool only_zero = store_get(&a->store, ATTEST_REC_COUNTER, c, sizeof c, &n) == STORE_OK &&
                         n == 8 && all_zero(c, 8) && a->store.entries == 1;
        if (otp.made || !(store_blank(&a->store) || only_zero))
            return ATTEST_ERR_KEY_LOST;
        return make_identity(a);
    }
    if (store_get(&a->store, ATTEST_REC_KEY, buf, sizeof buf, &n) != STORE_OK)
        return ATTEST_ERR_STORE;
    int r = mbedtls_pk_parse_key(&a->key, buf, n, NULL, 0);
    memset(buf, 0, sizeof buf);
    if (r || !mbedtls_pk_can_do(&a->key, MBEDTLS_PK_ECDSA) ||
        mbedtls_pk_ec(a->key)->grp.id != MBEDTLS_ECP_DP_SECP256R1 || describe_key(a) != ATTEST_OK)
        return ATTEST_ERR_KEY;
    uint8_t mine[32];
    identity_block(a, mine);
    if (otp.whole && memcmp(otp.identity, mine, 32) != 0)
        return ATTEST_ERR_KEY_MISMATCH;
    if (otp.present && !otp.made)
        program_otp(ATTEST_OTP_IDENTITY, mine); /* the first start was cut before it */

    if (store_has(&a->store, ATTEST_REC_CERT)) {
        if (store_get(&a->store, ATTEST_REC_CERT, a->cert, sizeof a->cert, &a->cert_len) !=
            STORE_OK)
            return ATTEST_ERR_STORE;
    } else if (otp.certified) {
        return ATTEST_ERR_CERT_LOST;
    }

    uint8_t c[8];
    if (!store_has(&a->store, ATTEST_REC_COUNTER))
        return ATTEST_ERR_COUNTER;
    if (store_get(&a->store, ATTEST_REC_COUNTER, c, sizeof c, &n) != STORE_OK)
        return ATTEST_ERR_STORE;
    if (n != sizeof c)
        return ATTEST_ERR_COUNTER;
    for (int i = 0; i < 8; i++)
        a->counter = a->counter << 8 | c[i];
    if (a->counter > ATTEST_COUNTER_MAX)
        return ATTEST_ERR_COUNTER;
    return a->counter == ATTEST_COUNTER_MAX ? ATTEST_ERR_COUNTER_EXHAUSTED : ATTEST_OK;
}

enum attest_err attest_init(struct attest *a)
{
    static const char personalization[] = "hawiya reader attestation";

    memset(a, 0, sizeof *a);
    mbedtls_pk_init(&a->key);
    mbedtls_ctr_drbg_init(&a->drbg);
    if (mbedtls_ctr_drbg_seed(&a->drbg, entropy, NULL, (const unsigned char *)personalization,
                              sizeof personalization - 1))
        a->state = ATTEST_ERR_RNG;
    else
        a->state = load_identity(a);
    return a->state;
}

/* A state in which the key itself is not to be trusted or used. */
static bool key_unusable(const struct attest *a)
{
    return !a->ready || a->state == ATTEST_ERR_STORE || a->state == ATTEST_ERR_KEY ||
           a->state == ATTEST_ERR_KEY_LOST || a->state == ATTEST_ERR_KEY_MISMATCH ||
           a->state == ATTEST_ERR_RNG;
}

enum attest_err attest_set_cert(struct attest *a, const uint8_t *der, size_t len)
{
    mbedtls_x509_crt crt;
    enum attest_err e = ATTEST_ERR_CERT;
    if (key_unusable(a) || len == 0 || len > sizeof a->cert)
        return ATTEST_ERR_CERT;
    mbedtls_x509_crt_init(&crt);
    if (mbedtls_x509_crt_parse_der(&crt, der, len) == 0 &&
        mbedtls_pk_get_type(&crt.pk) == MBEDTLS_PK_ECKEY) {
        const mbedtls_ecp_keypair *theirs = mbedtls_pk_ec(crt.pk);
        const mbedtls_ecp_keypair *ours = mbedtls_pk_ec(a->key);
        if (theirs->grp.id == ours->grp.id && mbedtls_ecp_point_cmp(&theirs->Q, &ours->Q) == 0) {
            e = store_put(&a->store, ATTEST_REC_CERT, der, len) == STORE_OK ? ATTEST_OK
                                                                            : ATTEST_ERR_FLASH;
            if (e == ATTEST_OK) {
                static const uint8_t certified[32] = {'H', 'W', 'C', 'T'};
                uint8_t b[32];
                memcpy(b, certified, sizeof b);
                memset(b + 4, 0xFF, sizeof b - 4);
                program_otp(ATTEST_OTP_CERTIFIED, b);
                memcpy(a->cert, der, len);
                a->cert_len = len;
                if (a->state == ATTEST_ERR_CERT_LOST)
                    a->state = ATTEST_OK;
            }
        }
    }
    mbedtls_x509_crt_free(&crt);
    return e;
}

enum attest_err attest_next_counter(struct attest *a, uint64_t *counter)
{
    uint8_t c[8];
    if (a->state != ATTEST_OK)
        return a->state;
    if (a->counter >= ATTEST_COUNTER_MAX)
        return a->state = ATTEST_ERR_COUNTER_EXHAUSTED;
    uint64_t next = a->counter + 1;
    put_be64(c, next);
    if (store_put(&a->store, ATTEST_REC_COUNTER, c, sizeof c) != STORE_OK)
        return ATTEST_ERR_FLASH;
    a->counter = next;
    *counter = next;
    /* This value is used; after it there is none. */
    if (next == ATTEST_COUNTER_MAX)
        a->state = ATTEST_ERR_COUNTER_EXHAUSTED;
    return ATTEST_OK;
}

/*
 * ECDSA P-256 over the digest, DER-encoded with s <= n/2. (r, s) and
 * (r, n - s) both verify (SEC 1 §4.1.4), so the reader always gives the
 * low one: the assertion then has one reader signature, not two, and the
 * verifier refuses the other (docs/assertion.md).
 */
enum attest_err attest_sign(struct attest *a, const uint8_t digest[32], uint8_t *sig, size_t cap,
                            size_t *sig_len)
{
    uint8_t der[MBEDTLS_ECDSA_MAX_LEN];
    mbedtls_mpi r, s, half;
    if (!a->ready)
        return ATTEST_ERR_KEY;
    mbedtls_ecp_keypair *ec = mbedtls_pk_ec(a->key);
    mbedtls_mpi_init(&r);
    mbedtls_mpi_init(&s);
    mbedtls_mpi_init(&half);
    int ret =
        mbedtls_ecdsa_sign(&ec->grp, &r, &s, &ec->d, digest, 32, mbedtls_ctr_drbg_random, &a->drbg);
    if (ret == 0)
        ret = mbedtls_mpi_copy(&half, &ec->grp.N);
    if (ret == 0)
        ret = mbedtls_mpi_shift_r(&half, 1);
    if (ret == 0 && mbedtls_mpi_cmp_mpi(&s, &half) > 0)
        ret = mbedtls_mpi_sub_mpi(&s, &ec->grp.N, &s);
    /* Ecdsa-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }, written back to front. */
    unsigned char *p = der + sizeof der;
    size_t len = 0;
    int n;
    if (ret == 0 && (n = mbedtls_asn1_write_mpi(&p, der, &s)) > 0)
        len += (size_t)n;
    else
        ret = -1;
    if (ret == 0 && (n = mbedtls_asn1_write_mpi(&p, der, &r)) > 0)
        len += (size_t)n;
    else
        ret = -1;
    if (ret == 0 && (n = mbedtls_asn1_write_len(&p, der, len)) > 0)
        len += (size_t)n;
    else
        ret = -1;
    if (ret == 0 &&
        (n = mbedtls_asn1_write_tag(&p, der, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE)) > 0)
        len += (size_t)n;
    else
        ret = -1;
    mbedtls_mpi_free(&r);
    mbedtls_mpi_free(&s);
    mbedtls_mpi_free(&half);
    if (ret != 0 || len > cap)
        return ATTEST_ERR_SIGN;
    memcpy(sig, p, len);
    *sig_len = len;
    return ATTEST_OK;
}

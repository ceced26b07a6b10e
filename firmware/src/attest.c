#include "attest.h"

#include <string.h>

#include "hal/board.h"
#include "hal/flash.h"
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

static enum attest_err make_key(struct attest *a)
{
    uint8_t der[256];
    if (mbedtls_pk_setup(&a->key, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)) ||
        mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(a->key),
                            mbedtls_ctr_drbg_random, &a->drbg))
        return ATTEST_ERR_RNG;
    int n = mbedtls_pk_write_key_der(&a->key, der, sizeof der);
    bool ok = n > 0 && hal_flash_write(FLASH_DEVICE_KEY, der + sizeof der - n, (size_t)n);
    memset(der, 0, sizeof der);
    return ok ? ATTEST_OK : ATTEST_ERR_FLASH;
}

enum attest_err attest_init(struct attest *a)
{
    static const char personalization[] = "hawiya reader attestation";
    uint8_t buf[ATTEST_CERT_MAX];
    size_t n;

    memset(a, 0, sizeof *a);
    mbedtls_pk_init(&a->key);
    mbedtls_ctr_drbg_init(&a->drbg);
    if (mbedtls_ctr_drbg_seed(&a->drbg, entropy, NULL, (const unsigned char *)personalization,
                              sizeof personalization - 1))
        return ATTEST_ERR_RNG;

    if (hal_flash_read(FLASH_DEVICE_KEY, buf, sizeof buf, &n) && n > 0) {
        int r = mbedtls_pk_parse_key(&a->key, buf, n, NULL, 0);
        memset(buf, 0, sizeof buf);
        if (r || !mbedtls_pk_can_do(&a->key, MBEDTLS_PK_ECDSA))
            return ATTEST_ERR_KEY;
    } else {
        enum attest_err e = make_key(a);
        if (e != ATTEST_OK)
            return e;
    }

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

    if (hal_flash_read(FLASH_DEVICE_CERT, a->cert, sizeof a->cert, &n))
        a->cert_len = n;
    uint8_t c[8];
    if (hal_flash_read(FLASH_COUNTER, c, sizeof c, &n) && n == 8)
        for (int i = 0; i < 8; i++)
            a->counter = a->counter << 8 | c[i];
    a->ready = true;
    return ATTEST_OK;
}

enum attest_err attest_set_cert(struct attest *a, const uint8_t *der, size_t len)
{
    mbedtls_x509_crt crt;
    enum attest_err e = ATTEST_ERR_CERT;
    if (!a->ready || len == 0 || len > sizeof a->cert)
        return ATTEST_ERR_CERT;
    mbedtls_x509_crt_init(&crt);
    if (mbedtls_x509_crt_parse_der(&crt, der, len) == 0 &&
        mbedtls_pk_get_type(&crt.pk) == MBEDTLS_PK_ECKEY) {
        const mbedtls_ecp_keypair *theirs = mbedtls_pk_ec(crt.pk);
        const mbedtls_ecp_keypair *ours = mbedtls_pk_ec(a->key);
        if (theirs->grp.id == ours->grp.id && mbedtls_ecp_point_cmp(&theirs->Q, &ours->Q) == 0) {
            e = hal_flash_write(FLASH_DEVICE_CERT, der, len) ? ATTEST_OK : ATTEST_ERR_FLASH;
            if (e == ATTEST_OK) {
                memcpy(a->cert, der, len);
                a->cert_len = len;
            }
        }
    }
    mbedtls_x509_crt_free(&crt);
    return e;
}

enum attest_err attest_next_counter(struct attest *a, uint64_t *counter)
{
    uint8_t c[8];
    uint64_t next = a->counter + 1;
    for (int i = 0; i < 8; i++)
        c[i] = (uint8_t)(next >> (56 - 8 * i));
    if (!hal_flash_write(FLASH_COUNTER, c, sizeof c))
        return ATTEST_ERR_FLASH;
    a->counter = next;
    *counter = next;
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

#include "hawiya/aa.h"

#include <string.h>

#include <mbedtls/bignum.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/md.h>
#include <mbedtls/rsa.h>

#include "hawiya/apdu.h"
#include "hawiya/wipe.h"

const char *aa_err_str(enum aa_err e)
{
    switch (e) {
    case AA_OK: return "AA_OK";
    case AA_ERR_BAD_ARGUMENT: return "AA_ERR_BAD_ARGUMENT";
    case AA_ERR_BUFFER: return "AA_ERR_BUFFER";
    case AA_ERR_UNKNOWN_ALGORITHM: return "AA_ERR_UNKNOWN_ALGORITHM";
    case AA_ERR_KEY: return "AA_ERR_KEY";
    case AA_ERR_SIGNATURE_LENGTH: return "AA_ERR_SIGNATURE_LENGTH";
    case AA_ERR_SIGNATURE: return "AA_ERR_SIGNATURE";
    case AA_ERR_HEADER: return "AA_ERR_HEADER";
    case AA_ERR_TRAILER: return "AA_ERR_TRAILER";
    case AA_ERR_HASH: return "AA_ERR_HASH";
    case AA_ERR_BACKEND: return "AA_ERR_BACKEND";
    }
    return "AA_ERR_UNKNOWN";
}

/* 0.4.0.127.0.7.1.1.4.1 ecdsa-plain-signatures (BSI TR-03111 §5.2.1) */
static const uint8_t oid_ecdsa_plain[] = {0x04, 0x00, 0x7F, 0x00, 0x07, 0x01, 0x01, 0x04, 0x01};

enum aa_err aa_hash_from_oid(const uint8_t *oid, size_t len, enum aa_hash *h)
{
    if (oid == NULL || h == NULL)
        return AA_ERR_BAD_ARGUMENT;
    if (len != sizeof oid_ecdsa_plain + 1 || memcmp(oid, oid_ecdsa_plain, len - 1) != 0)
        return AA_ERR_UNKNOWN_ALGORITHM;
    switch (oid[len - 1]) {
    case 1: *h = AA_HASH_SHA1; break;
    case 2: *h = AA_HASH_SHA224; break;
    case 3: *h = AA_HASH_SHA256; break;
    case 4: *h = AA_HASH_SHA384; break;
    case 5: *h = AA_HASH_SHA512; break;
    case 6: *h = AA_HASH_RIPEMD160; break;
    default: return AA_ERR_UNKNOWN_ALGORITHM;
    }
    return AA_OK;
}

static mbedtls_md_type_t md_type(enum aa_hash h)
{
    switch (h) {
    case AA_HASH_SHA1: return MBEDTLS_MD_SHA1;
    case AA_HASH_SHA224: return MBEDTLS_MD_SHA224;
    case AA_HASH_SHA256: return MBEDTLS_MD_SHA256;
    case AA_HASH_SHA384: return MBEDTLS_MD_SHA384;
    case AA_HASH_SHA512: return MBEDTLS_MD_SHA512;
    case AA_HASH_RIPEMD160: return MBEDTLS_MD_RIPEMD160;
    }
    return MBEDTLS_MD_NONE;
}

size_t aa_hash_len(enum aa_hash h)
{
    const mbedtls_md_info_t *info = mbedtls_md_info_from_type(md_type(h));
    return info != NULL ? mbedtls_md_get_size(info) : 0;
}

size_t aa_signature_len(const mbedtls_pk_context *pk)
{
    if (pk == NULL)
        return 0;
    if (mbedtls_pk_get_type(pk) == MBEDTLS_PK_RSA)
        return mbedtls_pk_get_len(pk);
    if (mbedtls_pk_can_do(pk, MBEDTLS_PK_ECDSA))
        return 2 * ((mbedtls_pk_ec(*pk)->grp.nbits + 7) / 8);
    return 0;
}

enum aa_err aa_build_command(const uint8_t *challenge, size_t challenge_len, size_t expected_len,
                             uint8_t *out, size_t cap, size_t *out_len)
{
    if (out_len != NULL)
        *out_len = 0;
    if (challenge == NULL || out == NULL || out_len == NULL || challenge_len == 0 ||
        challenge_len > 255)
        return AA_ERR_BAD_ARGUMENT;
    struct apdu a = {
        .cla = 0x00,
        .ins = 0x88,
        .p1 = 0x00,
        .p2 = 0x00,
        .data = challenge,
        .nc = challenge_len,
        /* Le 00 (256) or, for a longer signature, extended Le 00 00 (65536). */
        .ne = expected_len <= APDU_NE_SHORT ? APDU_NE_SHORT : APDU_NE_MAX,
        .extended = expected_len > APDU_NE_SHORT,
    };
    if (apdu_encode(&a, out, cap, out_len) != APDU_OK)
        return AA_ERR_BUFFER;
    return AA_OK;
}

static int hash_parts(enum aa_hash h, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
                      uint8_t *out)
{
    const mbedtls_md_info_t *info = mbedtls_md_info_from_type(md_type(h));
    mbedtls_md_context_t ctx;
    int ret;
    if (info == NULL)
        return -1;
    mbedtls_md_init(&ctx);
    ret = mbedtls_md_setup(&ctx, info, 0);
    if (ret == 0)
        ret = mbedtls_md_starts(&ctx);
    if (ret == 0 && alen > 0)
        ret = mbedtls_md_update(&ctx, a, alen);
    if (ret == 0 && blen > 0)
        ret = mbedtls_md_update(&ctx, b, blen);
    if (ret == 0)
        ret = mbedtls_md_finish(&ctx, out);
    mbedtls_md_free(&ctx);
    return ret;
}

/* The ISO/IEC 10118-3 hash-function identifier in an HH CC trailer. */
static bool hash_of_trailer_id(uint8_t id, enum aa_hash *h)
{
    switch (id) {
    case 0x31: *h = AA_HASH_RIPEMD160; return true;
    case 0x33: *h = AA_HASH_SHA1; return true;
    case 0x34: *h = AA_HASH_SHA256; return true;
    case 0x35: *h = AA_HASH_SHA512; return true;
    case 0x36: *h = AA_HASH_SHA384; return true;
    case 0x38: *h = AA_HASH_SHA224; return true;
    }
    return false;
}

#define RSA_MAX_BYTES (MBEDTLS_MPI_MAX_SIZE)

static enum aa_err verify_rsa(const mbedtls_pk_context *pk, const uint8_t *challenge,
                              size_t challenge_len, const uint8_t *sig, size_t sig_len)
{
    uint8_t f[RSA_MAX_BYTES];
    uint8_t d[MBEDTLS_MD_MAX_SIZE];
    size_t k = mbedtls_pk_get_len(pk);
    enum aa_hash h;
    size_t t;

    if (k < 2 || k > sizeof f)
        return AA_ERR_KEY;
    if (sig_len != k)
        return AA_ERR_SIGNATURE_LENGTH;
    /* mbedtls_rsa_public rejects s >= n. */
    if (mbedtls_rsa_public(mbedtls_pk_rsa(*pk), sig, f) != 0)
        return AA_ERR_SIGNATURE;
    /* §6.1.2 step 1: trailer, then header. */
    if (f[k - 1] == 0xBC) {
        h = AA_HASH_SHA1, t = 1;
    } else if (f[k - 1] == 0xCC && hash_of_trailer_id(f[k - 2], &h)) {
        t = 2;
    } else {
        return AA_ERR_TRAILER;
    }
    if (f[0] != 0x6A)
        return AA_ERR_HEADER;
    size_t hl = aa_hash_len(h);
    if (hl == 0 || k < 1 + hl + t + 1)
        return AA_ERR_KEY;
    /* Steps 2-4: M1 = F[1 .. k-hl-t), D = F[k-hl-t .. k-t), D' = H(M1 || challenge). */
    const uint8_t *m1 = f + 1;
    size_t m1_len = k - hl - t - 1;
    if (hash_parts(h, m1, m1_len, challenge, challenge_len, d) != 0)
        return AA_ERR_BACKEND;
    uint8_t diff = 0;
    for (size_t i = 0; i < hl; i++)
        diff |= (uint8_t)(d[i] ^ f[k - t - hl + i]);
    return diff == 0 ? AA_OK : AA_ERR_HASH;
}

static enum aa_err verify_ecdsa(const struct sigverify_engine *eng, const mbedtls_pk_context *pk,
                                enum aa_hash hh, const uint8_t *challenge, size_t challenge_len,
                                const uint8_t *sig, size_t sig_len)
{
    const mbedtls_ecp_keypair *ec = mbedtls_pk_ec(*pk);
    uint8_t d[MBEDTLS_MD_MAX_SIZE];
    size_t n = (ec->grp.nbits + 7) / 8;
    size_t hl = aa_hash_len(hh);

    if (hl == 0)
        return AA_ERR_UNKNOWN_ALGORITHM;
    if (n == 0)
        return AA_ERR_KEY;
    if (sig_len != 2 * n)
        return AA_ERR_SIGNATURE_LENGTH;
    if (hash_parts(hh, challenge, challenge_len, NULL, 0, d) != 0)
        return AA_ERR_BACKEND;
    return sigverify_ecdsa_plain(eng, ec, d, hl, sig, sig_len) == 0 ? AA_OK : AA_ERR_SIGNATURE;
}

enum aa_err aa_verify(const mbedtls_pk_context *pk, enum aa_hash ecdsa_hash,
                      const uint8_t *challenge, size_t challenge_len, const uint8_t *sig,
                      size_t sig_len, const struct sigverify_engine *eng)
{
    if (pk == NULL || challenge == NULL || sig == NULL || challenge_len == 0 || challenge_len > 255)
        return AA_ERR_BAD_ARGUMENT;
    if (mbedtls_pk_get_type(pk) == MBEDTLS_PK_RSA)
        return verify_rsa(pk, challenge, challenge_len, sig, sig_len);
    if (mbedtls_pk_can_do(pk, MBEDTLS_PK_ECDSA))
        return verify_ecdsa(eng, pk, ecdsa_hash, challenge, challenge_len, sig, sig_len);
    return AA_ERR_KEY;
}

enum aa_err aa_card_sign(mbedtls_ecp_keypair *key, const uint8_t *challenge, size_t challenge_len,
                         enum aa_hash h, int (*f_rng)(void *, unsigned char *, size_t), void *p_rng,
                         uint8_t *out, size_t cap, size_t *out_len)
{
    uint8_t d[MBEDTLS_MD_MAX_SIZE];
    mbedtls_mpi r, s;
    enum aa_err e = AA_OK;

    if (out_len != NULL)
        *out_len = 0;
    if (key == NULL || challenge == NULL || out == NULL || out_len == NULL || f_rng == NULL ||
        challenge_len == 0 || challenge_len > 255)
        return AA_ERR_BAD_ARGUMENT;
    size_t n = (key->grp.nbits + 7) / 8;
    size_t hl = aa_hash_len(h);
    if (n == 0)
        return AA_ERR_KEY;
    if (hl == 0)
        return AA_ERR_UNKNOWN_ALGORITHM;
    if (cap < 2 * n)
        return AA_ERR_BUFFER;
    if (hash_parts(h, challenge, challenge_len, NULL, 0, d) != 0)
        return AA_ERR_BACKEND;
    mbedtls_mpi_init(&r);
    mbedtls_mpi_init(&s);
    if (mbedtls_ecdsa_sign(&key->grp, &r, &s, &key->d, d, hl, f_rng, p_rng) != 0 ||
        mbedtls_mpi_write_binary(&r, out, n) != 0 || mbedtls_mpi_write_binary(&s, out + n, n) != 0)
        e = AA_ERR_BACKEND;
    else
        *out_len = 2 * n;
    if (e != AA_OK)
        wipe(out, 2 * n);
    mbedtls_mpi_free(&r);
    mbedtls_mpi_free(&s);
    wipe(d, sizeof d);
    return e;
}

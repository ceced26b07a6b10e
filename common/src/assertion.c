#include "hawiya/assertion.h"

#include <string.h>

#include "mbedtls/sha256.h"

const char *assertion_err_str(enum assertion_err e)
{
    switch (e) {
    case ASSERTION_OK: return "ASSERTION_OK";
    case ASSERTION_ERR_CHALLENGE: return "ASSERTION_ERR_CHALLENGE";
    case ASSERTION_ERR_FIELD: return "ASSERTION_ERR_FIELD";
    case ASSERTION_ERR_CRYPTO: return "ASSERTION_ERR_CRYPTO";
    }
    return "ASSERTION_ERR_UNKNOWN";
}

static int challenge_ok(const struct assertion_bytes *c)
{
    return c->p && c->len >= ASSERTION_CHALLENGE_MIN && c->len <= ASSERTION_CHALLENGE_MAX;
}

enum assertion_err assertion_aa_challenge(const struct assertion_bytes *challenge,
                                          const struct assertion_bytes *origin,
                                          const struct assertion_bytes *dg1,
                                          uint8_t out[ASSERTION_AA_CHALLENGE])
{
    uint8_t h[32];
    mbedtls_sha256_context ctx;
    if (!challenge_ok(challenge))
        return ASSERTION_ERR_CHALLENGE;
    if (!origin->p || !origin->len || !dg1->p || !dg1->len)
        return ASSERTION_ERR_FIELD;
    mbedtls_sha256_init(&ctx);
    int r = mbedtls_sha256_starts_ret(&ctx, 0) ||
            mbedtls_sha256_update_ret(&ctx, challenge->p, challenge->len) ||
            mbedtls_sha256_update_ret(&ctx, origin->p, origin->len) ||
            mbedtls_sha256_update_ret(&ctx, dg1->p, dg1->len) || mbedtls_sha256_finish_ret(&ctx, h);
    mbedtls_sha256_free(&ctx);
    if (r)
        return ASSERTION_ERR_CRYPTO;
    memcpy(out, h, ASSERTION_AA_CHALLENGE);
    return ASSERTION_OK;
}

static int put_field(mbedtls_sha256_context *ctx, uint8_t tag, const uint8_t *p, size_t len)
{
    uint8_t hdr[5] = {tag, (uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8),
                      (uint8_t)len};
    if (mbedtls_sha256_update_ret(ctx, hdr, sizeof hdr))
        return -1;
    return len ? mbedtls_sha256_update_ret(ctx, p, len) : 0;
}

enum assertion_err assertion_tbs_digest(const struct assertion_evidence *e,
                                        uint8_t digest[ASSERTION_DIGEST_LEN])
{
    if (!challenge_ok(&e->challenge))
        return ASSERTION_ERR_CHALLENGE;
    const struct assertion_bytes *required[] = {&e->origin, &e->dg1,          &e->dg15,
                                                &e->ef_sod, &e->aa_signature, &e->reader_id};
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
        if (!required[i]->p || !required[i]->len)
            return ASSERTION_ERR_FIELD;
    const struct {
        uint8_t tag;
        const struct assertion_bytes *b;
    } fields[] = {
        {ASSERTION_CHALLENGE, &e->challenge},
        {ASSERTION_ORIGIN, &e->origin},
        {ASSERTION_EF_COM, &e->ef_com},
        {ASSERTION_DG1, &e->dg1},
        {ASSERTION_DG11, &e->dg11},
        {ASSERTION_DG14, &e->dg14},
        {ASSERTION_DG15, &e->dg15},
        {ASSERTION_EF_SOD, &e->ef_sod},
        {ASSERTION_EF_CARDACCESS, &e->ef_cardaccess},
    };
    uint8_t counter[8];
    for (int i = 0; i < 8; i++)
        counter[i] = (uint8_t)(e->counter >> (56 - 8 * i));

    mbedtls_sha256_context ctx;
    mbedtls_sha256_init(&ctx);
    int r = mbedtls_sha256_starts_ret(&ctx, 0) ||
            mbedtls_sha256_update_ret(&ctx, (const uint8_t *)ASSERTION_FORMAT,
                                      sizeof ASSERTION_FORMAT); /* with its NUL */
    for (size_t i = 0; !r && i < sizeof fields / sizeof fields[0]; i++) {
        if ((uint64_t)fields[i].b->len > 0xFFFFFFFFu) {
            mbedtls_sha256_free(&ctx);
            return ASSERTION_ERR_FIELD;
        }
        r = put_field(&ctx, fields[i].tag, fields[i].b->p, fields[i].b->len);
    }
    r = r ||
        put_field(&ctx, ASSERTION_AA_CHALLENGE_FIELD, e->aa_challenge, ASSERTION_AA_CHALLENGE) ||
        put_field(&ctx, ASSERTION_AA_SIGNATURE, e->aa_signature.p, e->aa_signature.len) ||
        put_field(&ctx, ASSERTION_COUNTER, counter, sizeof counter) ||
        put_field(&ctx, ASSERTION_READER_ID, e->reader_id.p, e->reader_id.len) ||
        mbedtls_sha256_finish_ret(&ctx, digest);
    mbedtls_sha256_free(&ctx);
    return r ? ASSERTION_ERR_CRYPTO : ASSERTION_OK;
}

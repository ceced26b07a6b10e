#include "hawiya/assertion.h"

#include <string.h>

const char *assertion_err_str(enum assertion_err e)
{
    switch (e) {
    case ASSERTION_OK: return "ASSERTION_OK";
    case ASSERTION_ERR_CHALLENGE: return "ASSERTION_ERR_CHALLENGE";
    case ASSERTION_ERR_FIELD: return "ASSERTION_ERR_FIELD";
    case ASSERTION_ERR_ORDER: return "ASSERTION_ERR_ORDER";
    case ASSERTION_ERR_CRYPTO: return "ASSERTION_ERR_CRYPTO";
    }
    return "ASSERTION_ERR_UNKNOWN";
}

/* tag || 4-byte big-endian length: the header every field of both digests has. */
static int put_header(mbedtls_sha256_context *ctx, uint8_t tag, size_t len)
{
    const uint8_t hdr[5] = {tag, (uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8),
                            (uint8_t)len};
    return mbedtls_sha256_update_ret(ctx, hdr, sizeof hdr);
}

static int put_label(mbedtls_sha256_context *ctx, const char *label, size_t size_with_nul)
{
    return mbedtls_sha256_update_ret(ctx, (const uint8_t *)label, size_with_nul);
}

static bool challenge_ok(const struct assertion_bytes *c)
{
    return c->p && c->len >= ASSERTION_CHALLENGE_MIN && c->len <= ASSERTION_CHALLENGE_MAX;
}

/* A length that fits the 4-byte length field (always, where size_t is 32 bits). */
static bool fits_u32(size_t len)
{
#if SIZE_MAX > 0xFFFFFFFFu
    return len <= 0xFFFFFFFFu;
#else
    (void)len;
    return true;
#endif
}

enum assertion_err assertion_aa_challenge(const struct assertion_bytes *challenge,
                                          const struct assertion_bytes *origin,
                                          const struct assertion_bytes *dg1,
                                          uint8_t out[ASSERTION_AA_CHALLENGE])
{
    uint8_t h[ASSERTION_DIGEST_LEN];
    mbedtls_sha256_context ctx;
    if (!challenge_ok(challenge))
        return ASSERTION_ERR_CHALLENGE;
    if (!origin->p || !origin->len || !dg1->p || !dg1->len || !fits_u32(origin->len) ||
        !fits_u32(dg1->len))
        return ASSERTION_ERR_FIELD;
    mbedtls_sha256_init(&ctx);
    int r = mbedtls_sha256_starts_ret(&ctx, 0) ||
            put_label(&ctx, ASSERTION_AA_LABEL, sizeof ASSERTION_AA_LABEL) ||
            put_header(&ctx, ASSERTION_CHALLENGE, challenge->len) ||
            mbedtls_sha256_update_ret(&ctx, challenge->p, challenge->len) ||
            put_header(&ctx, ASSERTION_ORIGIN, origin->len) ||
            mbedtls_sha256_update_ret(&ctx, origin->p, origin->len) ||
            put_header(&ctx, ASSERTION_DG1, dg1->len) ||
            mbedtls_sha256_update_ret(&ctx, dg1->p, dg1->len) || mbedtls_sha256_finish_ret(&ctx, h);
    mbedtls_sha256_free(&ctx);
    if (r)
        return ASSERTION_ERR_CRYPTO;
    memcpy(out, h, ASSERTION_AA_CHALLENGE);
    return ASSERTION_OK;
}

/* --- the reader's to-be-signed bytes, streamed ------------------------------- */

#define TAG_DONE (ASSERTION_READER_ID + 1)

static enum assertion_err tbs_fail(struct assertion_tbs *t, enum assertion_err e)
{
    if (t->err == ASSERTION_OK)
        t->err = e;
    return t->err;
}

enum assertion_err assertion_tbs_begin(struct assertion_tbs *t)
{
    memset(t, 0, sizeof *t);
    mbedtls_sha256_init(&t->sha);
    t->next_tag = ASSERTION_CHALLENGE;
    if (mbedtls_sha256_starts_ret(&t->sha, 0) ||
        put_label(&t->sha, ASSERTION_TBS_LABEL, sizeof ASSERTION_TBS_LABEL))
        return tbs_fail(t, ASSERTION_ERR_CRYPTO);
    return ASSERTION_OK;
}

/* Which lengths each field may have. */
static enum assertion_err length_ok(enum assertion_field tag, size_t len)
{
    switch (tag) {
    case ASSERTION_CHALLENGE:
        return len >= ASSERTION_CHALLENGE_MIN && len <= ASSERTION_CHALLENGE_MAX
                   ? ASSERTION_OK
                   : ASSERTION_ERR_CHALLENGE;
    case ASSERTION_AA_CHALLENGE_FIELD:
        return len == ASSERTION_AA_CHALLENGE ? ASSERTION_OK : ASSERTION_ERR_FIELD;
    case ASSERTION_COUNTER:
        return len == ASSERTION_COUNTER_LEN ? ASSERTION_OK : ASSERTION_ERR_FIELD;
    case ASSERTION_EF_CARDACCESS:
    case ASSERTION_EF_COM:
    case ASSERTION_DG11:
    case ASSERTION_DG14: return fits_u32(len) ? ASSERTION_OK : ASSERTION_ERR_FIELD;
    case ASSERTION_ORIGIN:
    case ASSERTION_DG1:
    case ASSERTION_DG15:
    case ASSERTION_EF_SOD:
    case ASSERTION_AA_SIGNATURE:
    case ASSERTION_READER_ID: return len > 0 && fits_u32(len) ? ASSERTION_OK : ASSERTION_ERR_FIELD;
    }
    return ASSERTION_ERR_ORDER;
}

enum assertion_err assertion_tbs_field(struct assertion_tbs *t, enum assertion_field tag,
                                       size_t len)
{
    if (t->err != ASSERTION_OK)
        return t->err;
    if (t->left != 0 || tag != t->next_tag)
        return tbs_fail(t, ASSERTION_ERR_ORDER);
    enum assertion_err e = length_ok(tag, len);
    if (e != ASSERTION_OK)
        return tbs_fail(t, e);
    if (put_header(&t->sha, (uint8_t)tag, len))
        return tbs_fail(t, ASSERTION_ERR_CRYPTO);
    t->left = (uint32_t)len;
    t->next_tag = (uint8_t)(tag + 1);
    return ASSERTION_OK;
}

enum assertion_err assertion_tbs_update(struct assertion_tbs *t, const uint8_t *p, size_t n)
{
    if (t->err != ASSERTION_OK)
        return t->err;
    if (n > t->left || (n && !p))
        return tbs_fail(t, ASSERTION_ERR_ORDER);
    if (n && mbedtls_sha256_update_ret(&t->sha, p, n))
        return tbs_fail(t, ASSERTION_ERR_CRYPTO);
    t->left -= (uint32_t)n;
    return ASSERTION_OK;
}

enum assertion_err assertion_tbs_finish(struct assertion_tbs *t,
                                        uint8_t digest[ASSERTION_DIGEST_LEN])
{
    if (t->err == ASSERTION_OK && (t->left != 0 || t->next_tag != TAG_DONE))
        tbs_fail(t, ASSERTION_ERR_ORDER);
    if (t->err == ASSERTION_OK && mbedtls_sha256_finish_ret(&t->sha, digest))
        tbs_fail(t, ASSERTION_ERR_CRYPTO);
    mbedtls_sha256_free(&t->sha);
    return t->err;
}

enum assertion_err assertion_tbs_digest(const struct assertion_evidence *e,
                                        uint8_t digest[ASSERTION_DIGEST_LEN])
{
    uint8_t counter[ASSERTION_COUNTER_LEN];
    for (int i = 0; i < ASSERTION_COUNTER_LEN; i++)
        counter[i] = (uint8_t)(e->counter >> (56 - 8 * i));
    const struct assertion_bytes fields[] = {
        e->challenge,     e->origin,
        e->ef_cardaccess, e->ef_com,
        e->dg1,           e->dg11,
        e->dg14,          e->dg15,
        e->ef_sod,        {e->aa_challenge, ASSERTION_AA_CHALLENGE},
        e->aa_signature,  {counter, sizeof counter},
        e->reader_id,
    };
    struct assertion_tbs t;
    assertion_tbs_begin(&t);
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        /* An absent file: no pointer means length 0, whatever len says. */
        size_t len = fields[i].p ? fields[i].len : 0;
        assertion_tbs_field(&t, (enum assertion_field)(ASSERTION_CHALLENGE + i), len);
        assertion_tbs_update(&t, fields[i].p, len);
    }
    return assertion_tbs_finish(&t, digest);
}

/*
 * libFuzzer target: hostile INTERNAL AUTHENTICATE answers (9303-11 §6.1)
 * against fixed DG15 keys (the test fixtures of tests/data/lds).
 *   mode 0/1: the input is the answer to a fixed challenge, for the EC
 *             P-256 key (ecdsa-plain, hash chosen by the input) or the RSA
 *             key; aa_verify must agree with mbedTLS's DER ECDSA verification,
 *             and for RSA with an independent 9796-2 check of s^e mod n.
 *   mode 2:   the input is an ISO/IEC 9796-2 message representative F of the
 *             fuzzer's choosing, signed with the RSA private key, so that the
 *             recovery code sees every hostile header, trailer and M1; it may
 *             only accept an F that really is 6A || M1 || H(M1 || RND) || trailer.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <mbedtls/asn1write.h>
#include <mbedtls/md.h>
#include <mbedtls/pk.h>
#include <mbedtls/rsa.h>

#include "hawiya/aa.h"
#include "hawiya/lds.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t dg15_ec[] = {
    0x6F, 0x5B, 0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01, 0x06,
    0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00, 0x04, 0x66, 0x70, 0xDA,
    0xC8, 0x69, 0x95, 0x7B, 0x84, 0x48, 0x4A, 0xA1, 0x01, 0xD7, 0x2E, 0x6C, 0xD7, 0x52, 0x14, 0xB8,
    0xAD, 0x83, 0x32, 0x94, 0xDA, 0x52, 0x9D, 0xAC, 0xCE, 0xC2, 0xC8, 0xF3, 0xE0, 0x6C, 0x25, 0x1D,
    0x67, 0xCB, 0x24, 0xE5, 0x1D, 0x3E, 0x44, 0xFE, 0x94, 0x4D, 0x36, 0xBE, 0xD2, 0xDB, 0x36, 0x16,
    0xC8, 0x96, 0xFF, 0xD3, 0x09, 0x07, 0x1A, 0x01, 0x3B, 0xE1, 0x08, 0xF4, 0x42,
};

static const uint8_t dg15_rsa[] = {
    0x6F, 0x82, 0x01, 0x26, 0x30, 0x82, 0x01, 0x22, 0x30, 0x0D, 0x06, 0x09, 0x2A, 0x86, 0x48, 0x86,
    0xF7, 0x0D, 0x01, 0x01, 0x01, 0x05, 0x00, 0x03, 0x82, 0x01, 0x0F, 0x00, 0x30, 0x82, 0x01, 0x0A,
    0x02, 0x82, 0x01, 0x01, 0x00, 0xB6, 0xF0, 0x8D, 0x91, 0x1F, 0xF1, 0x51, 0x44, 0xFB, 0xAF, 0x8B,
    0x5C, 0x98, 0xB2, 0x95, 0x55, 0xFA, 0x18, 0x3F, 0xA1, 0xCA, 0xA7, 0xA4, 0xC0, 0x28, 0x0D, 0x1E,
    0x5F, 0x06, 0x2A, 0x5D, 0x0F, 0x4A, 0xAC, 0x3A, 0x85, 0x51, 0xE2, 0x52, 0xB8, 0xB0, 0x96, 0x73,
    0x89, 0xAF, 0xA1, 0x44, 0x6E, 0xBE, 0x10, 0x4E, 0x29, 0x05, 0xA7, 0x51, 0x0D, 0x85, 0x3D, 0xB3,
    0x7B, 0xF3, 0x0E, 0xEE, 0x87, 0xE4, 0x31, 0xB9, 0xA8, 0xCA, 0xF1, 0xC1, 0xB3, 0x47, 0x6D, 0x50,
    0x4A, 0x34, 0xAA, 0xCD, 0xFC, 0x7D, 0xC4, 0xC7, 0xC3, 0xC7, 0x3F, 0x43, 0x72, 0x5F, 0x19, 0x40,
    0xDF, 0xC8, 0x3F, 0xB4, 0x67, 0x76, 0x9D, 0xAB, 0x99, 0x26, 0xC4, 0x3B, 0xC8, 0x67, 0x5F, 0x8F,
    0x43, 0x56, 0x60, 0x28, 0x4F, 0xF1, 0x38, 0x29, 0xE5, 0x9B, 0x87, 0xEE, 0xA8, 0xE1, 0x50, 0xE8,
    0xC7, 0x1D, 0x1E, 0x76, 0xE1, 0xE1, 0x0B, 0xDA, 0xE1, 0x4C, 0xA7, 0x01, 0x65, 0x67, 0x1C, 0x9E,
    0x71, 0xEA, 0xBC, 0xD5, 0x4F, 0xE2, 0x0E, 0xE7, 0xA1, 0x7B, 0x50, 0x5B, 0xAB, 0x9E, 0xE9, 0x8C,
    0xED, 0x94, 0xDF, 0x9C, 0xF4, 0x85, 0x63, 0x61, 0x44, 0x9A, 0x0A, 0x48, 0xF3, 0xD5, 0xF9, 0x8D,
    0xD2, 0x8C, 0xC1, 0xBD, 0xCA, 0x59, 0xC9, 0x3E, 0xA0, 0x93, 0xCC, 0xC9, 0xD0, 0xFF, 0xC5, 0xC1,
    0x51, 0xF1, 0x5D, 0xF7, 0x97, 0x74, 0x8E, 0xFF, 0x80, 0xA1, 0xCF, 0xA3, 0xF1, 0x99, 0x79, 0x8B,
    0x51, 0xD8, 0x8C, 0x02, 0xA4, 0xD3, 0x3D, 0xF0, 0xBE, 0x1A, 0x06, 0x0F, 0xA4, 0xAF, 0xA1, 0x5D,
    0xE2, 0xDD, 0xE8, 0xD9, 0xC4, 0x8C, 0xE2, 0xB4, 0x33, 0x94, 0x95, 0xD1, 0x16, 0xEA, 0x0B, 0xD4,
    0x93, 0x34, 0xCF, 0x03, 0xBA, 0xB9, 0x62, 0x61, 0x7D, 0xCB, 0xB9, 0xD0, 0x29, 0x86, 0x85, 0xAB,
    0xDF, 0x1D, 0x09, 0x8E, 0x6D, 0x02, 0x03, 0x01, 0x00, 0x01,
};

static const char aa_rsa_key_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC28I2RH/FRRPuv\n"
    "i1yYspVV+hg/ocqnpMAoDR5fBipdD0qsOoVR4lK4sJZzia+hRG6+EE4pBadRDYU9\n"
    "s3vzDu6H5DG5qMrxwbNHbVBKNKrN/H3Ex8PHP0NyXxlA38g/tGd2nauZJsQ7yGdf\n"
    "j0NWYChP8Tgp5ZuH7qjhUOjHHR524eEL2uFMpwFlZxyeceq81U/iDuehe1Bbq57p\n"
    "jO2U35z0hWNhRJoKSPPV+Y3SjMG9ylnJPqCTzMnQ/8XBUfFd95d0jv+Aoc+j8Zl5\n"
    "i1HYjAKk0z3wvhoGD6SvoV3i3ejZxIzitDOUldEW6gvUkzTPA7q5YmF9y7nQKYaF\n"
    "q98dCY5tAgMBAAECggEAIITgyWIh+bYXPlR51Iv0N1kSa+dE+Kl03fm9Axu7tpik\n"
    "B7sMXWqrlTiQuf+I6JQbUm5gEnM2k5Yhb/8igqmOFbpm62+ZicGKrqD8I4C6twyR\n"
    "x8PR5a51fRRyDwHonQhi1uc+rGYDfnQIiihTijxkFhfVSb9Otyphu1GwW0quEmgW\n"
    "IOHOTw0SKHa91TamMY2/3lrcGKtfiu5F19djDtFcR7AsHTlpjGEdX+watlW1MXGC\n"
    "LEEavwn0zRICXBTni4fm2PUqisIdPay0GmhP6DoAOnu3iKjhlEGTXjWhiEcydo8d\n"
    "QhepyyGYa+0TajkRgLSHOAak0CqlavjI5HrcPIxPQQKBgQDhz1IOJjuy0vocRIB1\n"
    "h/Red+LWRJ7FbBf6viGrjEUs527krei1Up+uCxpFnRN97hVh9YtTcQUf0mJkHUqS\n"
    "EVLXaZ1UMUfkScaYf4S7Qc7FG9LQacZ1eUCF2PUN7x73h9GX4OTOUv90On6Ykh+D\n"
    "z/UJMIGHjdfYKGrh6y7HhYxcQQKBgQDPZe+wlNx7rgii5NLmBptOjWMZXcvMfwmI\n"
    "/s+MGxuXi0uURs2iU0yRElFmOkm0mrGnH+AKtWhFEdHBEzAHOHugjPI38yiKy2Ch\n"
    "7C2TUblhGgIw4TPyeCkQ1Zt61+HjXbQt5ov2jrzP1RBRrl7BaTHSXoUC8kFia0V0\n"
    "k9BSeDOXLQKBgFQq3r7/aUkicq+OqQMmBeQgc6DCOxwDSnzf2dUDl9VA/oimehL8\n"
    "FSDeapCAF//ceoPk7mXPvsU5ugrvEBiZ9HLunwH+zHk/NpMpFORnhxbZZB7jDmJD\n"
    "K9W4JL9o3fYN3gXqgd6V+Tntg7qC3NRY81DVj7JjII0lo5FKBEnCcasBAoGBALGY\n"
    "EVp87hw+V4jdNrbgW2c1bPGQvu36rniP8buAju0Cy5JJ2tYwTDVBoVBPg0PS32ND\n"
    "yT6CPqo+awXQ32SfekVtzBAa+NF4++NL8W7gIUTD17JxdWEggdG3iC7146klWR+g\n"
    "9qMHcSjqwtGe5ebqpE4GwBFYzqJvRwdfd5jW8x51AoGAJhKAUYdE9Fatgw9y8r/n\n"
    "8QAjo/OniW+dWM3yqxK0GkZ6WGkp8mWvyjDbSZE1CdsBPRBmbcU1aAsr6k3g0v3+\n"
    "jjjWFUsYpFmDiNsU3U5HTnXjSs3521Y2WKveGHJzIaaWqKHrmVKlMv3lx7vmgmV4\n"
    "Crkf63Tprfqw/dHhHq4X/EA=\n"
    "-----END PRIVATE KEY-----\n";

static const uint8_t challenge[AA_CHALLENGE_LEN] = {1, 2, 3, 4, 5, 6, 7, 8};

static mbedtls_pk_context ec_pub, rsa_pub, rsa_priv;

static int fixed_rng(void *ctx, unsigned char *out, size_t n)
{
    uint32_t *c = ctx;
    for (size_t i = 0; i < n; i++)
        out[i] = (uint8_t)((*c)++ * 193u + 7u);
    return 0;
}

static void init(void)
{
    static int done;
    struct lds_dg15 d;
    if (done)
        return;
    done = 1;
    mbedtls_pk_init(&ec_pub);
    mbedtls_pk_init(&rsa_pub);
    mbedtls_pk_init(&rsa_priv);
    if (lds_dg15_parse(dg15_ec, sizeof dg15_ec, &d, &ec_pub) != LDS_OK ||
        lds_dg15_parse(dg15_rsa, sizeof dg15_rsa, &d, &rsa_pub) != LDS_OK ||
        mbedtls_pk_parse_key(&rsa_priv, (const unsigned char *)aa_rsa_key_pem,
                             sizeof aa_rsa_key_pem, NULL, 0) != 0)
        __builtin_trap();
}

/* The trailer's hash as 9303-11 §6.1.2 reads it, or -1. */
static int trailer_hash(const uint8_t *f, size_t k, size_t *t)
{
    if (f[k - 1] == 0xBC) {
        *t = 1;
        return MBEDTLS_MD_SHA1;
    }
    if (f[k - 1] != 0xCC)
        return -1;
    *t = 2;
    switch (f[k - 2]) {
    case 0x31: return MBEDTLS_MD_RIPEMD160;
    case 0x33: return MBEDTLS_MD_SHA1;
    case 0x34: return MBEDTLS_MD_SHA256;
    case 0x35: return MBEDTLS_MD_SHA512;
    case 0x36: return MBEDTLS_MD_SHA384;
    case 0x38: return MBEDTLS_MD_SHA224;
    }
    return -1;
}

/* An independent check that F is a genuine representative for `challenge`. */
static int genuine(const uint8_t *f, size_t k)
{
    size_t t;
    int md = trailer_hash(f, k, &t);
    if (md < 0 || f[0] != 0x6A)
        return 0;
    const mbedtls_md_info_t *info = mbedtls_md_info_from_type((mbedtls_md_type_t)md);
    size_t hl = mbedtls_md_get_size(info);
    uint8_t msg[512 + AA_CHALLENGE_LEN], h[64];
    size_t m1 = k - 1 - hl - t;
    memcpy(msg, f + 1, m1);
    memcpy(msg + m1, challenge, sizeof challenge);
    if (mbedtls_md(info, msg, m1 + sizeof challenge, h) != 0)
        __builtin_trap();
    return memcmp(h, f + k - t - hl, hl) == 0;
}

/* The same question through mbedTLS's DER ECDSA path: r || s -> Ecdsa-Sig-Value. */
static bool ec_reference(enum aa_hash h, const uint8_t *sig)
{
    static const mbedtls_md_type_t mds[] = {MBEDTLS_MD_SHA1,   MBEDTLS_MD_SHA224,
                                            MBEDTLS_MD_SHA256, MBEDTLS_MD_SHA384,
                                            MBEDTLS_MD_SHA512, MBEDTLS_MD_RIPEMD160};
    const mbedtls_md_info_t *info = mbedtls_md_info_from_type(mds[h]);
    uint8_t der[80], hash[64];
    unsigned char *p = der + sizeof der;
    mbedtls_mpi r, s;
    int len = 0, ret = 0;
    mbedtls_mpi_init(&r);
    mbedtls_mpi_init(&s);
    if (mbedtls_mpi_read_binary(&r, sig, 32) != 0 || mbedtls_mpi_read_binary(&s, sig + 32, 32))
        __builtin_trap();
    ret |= len += mbedtls_asn1_write_mpi(&p, der, &s);
    ret |= len += mbedtls_asn1_write_mpi(&p, der, &r);
    ret |= len += mbedtls_asn1_write_len(&p, der, (size_t)len);
    ret |= len += mbedtls_asn1_write_tag(&p, der, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE);
    mbedtls_mpi_free(&r);
    mbedtls_mpi_free(&s);
    if (ret < 0 || mbedtls_md(info, challenge, sizeof challenge, hash) != 0)
        __builtin_trap();
    return mbedtls_pk_verify(&ec_pub, mds[h], hash, mbedtls_md_get_size(info), p, (size_t)len) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    init();
    if (size < 1)
        return 0;
    uint8_t mode = data[0] % 3, sel = data[0] / 3;
    data++, size--;
    enum aa_err e;

    if (mode == 0) {
        enum aa_hash h = (enum aa_hash)(sel % 6);
        e = aa_verify(&ec_pub, h, challenge, sizeof challenge, data, size, NULL);
        if (size != 64 && e != AA_ERR_SIGNATURE_LENGTH)
            __builtin_trap();
        if (size == 64 && (e == AA_OK) != ec_reference(h, data))
            __builtin_trap();
    } else if (mode == 1) {
        uint8_t f[256];
        e = aa_verify(&rsa_pub, AA_HASH_SHA256, challenge, sizeof challenge, data, size, NULL);
        if (size != 256) {
            if (e != AA_ERR_SIGNATURE_LENGTH)
                __builtin_trap();
        } else if (mbedtls_rsa_public(mbedtls_pk_rsa(rsa_pub), data, f) != 0) {
            if (e != AA_ERR_SIGNATURE)
                __builtin_trap();
        } else if ((e == AA_OK) != (genuine(f, sizeof f) == 1)) {
            __builtin_trap();
        }
    } else {
        uint8_t f[256], s[256];
        uint32_t ctr = 1;
        memset(f, 0, sizeof f);
        memcpy(f, data, size < sizeof f ? size : sizeof f);
        /* Keep F below n: the modulus of a 2048-bit key starts with a bit set. */
        f[0] &= 0x7F;
        if (mbedtls_rsa_private(mbedtls_pk_rsa(rsa_priv), fixed_rng, &ctr, f, s) != 0)
            __builtin_trap();
        e = aa_verify(&rsa_pub, AA_HASH_SHA256, challenge, sizeof challenge, s, sizeof s, NULL);
        if ((e == AA_OK) != (genuine(f, sizeof f) == 1))
            __builtin_trap();
    }
    /* The command for any expected length stays a well-formed case 4 APDU. */
    uint8_t cmd[32];
    size_t n;
    if (aa_build_command(challenge, sizeof challenge, size * 3, cmd, sizeof cmd, &n) != AA_OK ||
        (n != 14 && n != 17) || cmd[1] != 0x88)
        __builtin_trap();
    return 0;
}

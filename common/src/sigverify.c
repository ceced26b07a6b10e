#include "hawiya/sigverify.h"

#include <string.h>

#include <mbedtls/ecdsa.h>

static int engine_ecdsa(const struct sigverify_engine *e, const mbedtls_ecp_keypair *ec,
                        const uint8_t *hash, size_t hash_len, const uint8_t *sig, size_t sig_len)
{
    uint8_t q[1 + 2 * MBEDTLS_ECP_MAX_BYTES];
    size_t ql;
    if (mbedtls_ecp_point_write_binary(&ec->grp, &ec->Q, MBEDTLS_ECP_PF_UNCOMPRESSED, &ql, q,
                                       sizeof q) != 0)
        return -1;
    return e->ecdsa(e->ctx, ec->grp.id, q, ql, hash, hash_len, sig, sig_len) == 0 ? 0 : -1;
}

int sigverify_pk(const struct sigverify_engine *e, mbedtls_pk_type_t type, const void *opts,
                 const mbedtls_pk_context *pk, mbedtls_md_type_t md, const uint8_t *hash,
                 size_t hash_len, const uint8_t *sig, size_t sig_len)
{
    if (pk == NULL || hash == NULL || sig == NULL)
        return -1;
    bool ecdsa = type == MBEDTLS_PK_ECDSA || type == MBEDTLS_PK_ECKEY;
    if (e != NULL && e->ecdsa != NULL && ecdsa) {
        if (!mbedtls_pk_can_do(pk, MBEDTLS_PK_ECDSA))
            return -1;
        return engine_ecdsa(e, mbedtls_pk_ec(*pk), hash, hash_len, sig, sig_len);
    }
    /* mbedTLS 2.28 takes the context non-const; verification does not change it. */
    return mbedtls_pk_verify_ext(type, opts, (mbedtls_pk_context *)pk, md, hash, hash_len, sig,
                                 sig_len) == 0
               ? 0
               : -1;
}

/* One DER INTEGER of the unsigned big-endian v[0..n): minimal, 00 before a set top bit. */
static size_t der_uint(const uint8_t *v, size_t n, uint8_t *out)
{
    while (n > 1 && v[0] == 0)
        v++, n--;
    size_t pad = (v[0] & 0x80) ? 1 : 0;
    out[0] = 0x02;
    out[1] = (uint8_t)(n + pad);
    out[2] = 0x00;
    memcpy(out + 2 + pad, v, n);
    return 2 + pad + n;
}

int sigverify_plain_to_der(const uint8_t *rs, size_t n, uint8_t *out, size_t cap, size_t *out_len)
{
    uint8_t body[2 * (2 + MBEDTLS_ECP_MAX_BYTES + 1)];
    if (rs == NULL || out == NULL || out_len == NULL || n == 0 || n > MBEDTLS_ECP_MAX_BYTES)
        return -1;
    size_t bl = der_uint(rs, n, body);
    bl += der_uint(rs + n, n, body + bl);
    size_t hl = bl < 0x80 ? 2 : 3; /* X.690 §8.1.3: long form from 128 octets */
    if (cap < hl + bl)
        return -1;
    out[0] = 0x30;
    if (hl == 2) {
        out[1] = (uint8_t)bl;
    } else {
        out[1] = 0x81;
        out[2] = (uint8_t)bl;
    }
    memcpy(out + hl, body, bl);
    *out_len = hl + bl;
    return 0;
}

int sigverify_ecdsa_plain(const struct sigverify_engine *e, const mbedtls_ecp_keypair *key,
                          const uint8_t *hash, size_t hash_len, const uint8_t *sig, size_t sig_len)
{
    if (key == NULL || hash == NULL || sig == NULL)
        return -1;
    size_t n = (key->grp.nbits + 7) / 8;
    if (n == 0 || sig_len != 2 * n)
        return -1;
    if (e != NULL && e->ecdsa != NULL) {
        uint8_t der[SIGVERIFY_ECDSA_DER_MAX];
        size_t dl;
        if (sigverify_plain_to_der(sig, n, der, sizeof der, &dl) != 0)
            return -1;
        return engine_ecdsa(e, key, hash, hash_len, der, dl);
    }
    mbedtls_mpi r, s;
    mbedtls_mpi_init(&r);
    mbedtls_mpi_init(&s);
    int ret = mbedtls_mpi_read_binary(&r, sig, n);
    if (ret == 0)
        ret = mbedtls_mpi_read_binary(&s, sig + n, n);
    if (ret == 0)
        ret = mbedtls_ecdsa_verify((mbedtls_ecp_group *)&key->grp, hash, hash_len, &key->Q, &r, &s);
    mbedtls_mpi_free(&r);
    mbedtls_mpi_free(&s);
    return ret == 0 ? 0 : -1;
}

bool sigverify_issued_by(const struct sigverify_engine *e, const mbedtls_x509_crt *c,
                         const mbedtls_x509_crt *ca)
{
    uint8_t h[MBEDTLS_MD_MAX_SIZE];
    if (c == NULL || ca == NULL)
        return false;
    if (c->issuer_raw.len != ca->subject_raw.len ||
        memcmp(c->issuer_raw.p, ca->subject_raw.p, c->issuer_raw.len) != 0)
        return false;
    if (!ca->ca_istrue)
        return false;
    if (mbedtls_x509_crt_check_key_usage(ca, MBEDTLS_X509_KU_KEY_CERT_SIGN) != 0)
        return false;
    const mbedtls_md_info_t *info = mbedtls_md_info_from_type(c->sig_md);
    if (info == NULL || mbedtls_md(info, c->tbs.p, c->tbs.len, h) != 0)
        return false;
    if (!mbedtls_pk_can_do(&ca->pk, c->sig_pk))
        return false;
    return sigverify_pk(e, c->sig_pk, c->sig_opts, &ca->pk, c->sig_md, h, mbedtls_md_get_size(info),
                        c->sig.p, c->sig.len) == 0;
}

#include "ecdsa_libcrypto.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

const char *hvi_libcrypto_group(mbedtls_ecp_group_id group)
{
    switch (group) {
    case MBEDTLS_ECP_DP_SECP192R1: return "prime192v1";
    case MBEDTLS_ECP_DP_SECP224R1: return "secp224r1";
    case MBEDTLS_ECP_DP_SECP256R1: return "prime256v1";
    case MBEDTLS_ECP_DP_SECP384R1: return "secp384r1";
    case MBEDTLS_ECP_DP_SECP521R1: return "secp521r1";
    case MBEDTLS_ECP_DP_BP256R1: return "brainpoolP256r1";
    case MBEDTLS_ECP_DP_BP384R1: return "brainpoolP384r1";
    case MBEDTLS_ECP_DP_BP512R1: return "brainpoolP512r1";
    case MBEDTLS_ECP_DP_SECP192K1: return "secp192k1";
    case MBEDTLS_ECP_DP_SECP224K1: return "secp224k1";
    case MBEDTLS_ECP_DP_SECP256K1: return "secp256k1";
    default: return NULL; /* Curve25519 / Curve448 do not sign ECDSA */
    }
}

static int ecdsa_libcrypto(void *ctx, mbedtls_ecp_group_id group, const uint8_t *point,
                           size_t point_len, const uint8_t *hash, size_t hash_len,
                           const uint8_t *sig_der, size_t sig_len)
{
    (void)ctx;
    const char *name = hvi_libcrypto_group(group);
    if (name == NULL || point == NULL || hash == NULL || sig_der == NULL)
        return -1;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)name, 0),
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)point, point_len),
        OSSL_PARAM_construct_end(),
    };
    EVP_PKEY_CTX *kctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    EVP_PKEY_CTX *vctx = NULL;
    EVP_PKEY *key = NULL;
    int ok = kctx != NULL && EVP_PKEY_fromdata_init(kctx) == 1 &&
             EVP_PKEY_fromdata(kctx, &key, EVP_PKEY_PUBLIC_KEY, params) == 1;
    if (ok)
        vctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
    /* No signature digest is set: hash is already the digest, truncated to the
     * order's length inside as SEC 1 §4.1.4 says, the same as mbedTLS. */
    ok = ok && vctx != NULL && EVP_PKEY_verify_init(vctx) == 1 &&
         EVP_PKEY_verify(vctx, sig_der, sig_len, hash, hash_len) == 1;
    EVP_PKEY_CTX_free(vctx);
    EVP_PKEY_free(key);
    EVP_PKEY_CTX_free(kctx);
    return ok ? 0 : -1;
}

const struct sigverify_engine hvi_libcrypto_engine = {ecdsa_libcrypto, NULL};

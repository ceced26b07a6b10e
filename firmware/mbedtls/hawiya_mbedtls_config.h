/*
 * The reader firmware's mbedTLS 2.28 configuration on a microcontroller
 * (MBEDTLS_CONFIG_FILE): only what the reader itself uses. The sim board links
 * Debian's libmbedtls with its default configuration; the same code compiles
 * against both.
 *
 *  - ICAO 9303-11 BAC and secure messaging: DES / 3DES-CBC, SHA-1 (BAC keys);
 *    PACE and AES secure messaging: AES-CBC/ECB, AES-CMAC, SHA-1/SHA-256 KDF.
 *  - PACE Generic Mapping and Chip Authentication on the standardized curves
 *    of 9303-11 §9.5.1 (NIST P-192..P-521, brainpoolP256/384/512r1): ECP with
 *    the fixed-point comb (tables kept in hawiya/ecp_groups.h), NIST fast
 *    reduction, and the UMAAL multiply-accumulate of MBEDTLS_HAVE_ASM.
 *  - The device key: ECDSA P-256, kept as DER (PK parse/write), the
 *    certificate checked against it (X.509), CTR_DRBG over the board's RNG.
 *    The signature's k comes from the CTR_DRBG (no RFC 6979, no HMAC_DRBG).
 *
 * Research behind the ECC choices: ../shared/research/mcu-ecc-cortex-m4.md.
 */
#ifndef HAWIYA_MBEDTLS_CONFIG_H
#define HAWIYA_MBEDTLS_CONFIG_H

/* System: no OS, no file system, no clock; the board provides entropy. */
#define MBEDTLS_HAVE_ASM
#define MBEDTLS_NO_PLATFORM_ENTROPY
#define MBEDTLS_PLATFORM_C

/* Symmetric ciphers: tables in flash, the smaller set (2 KiB, not 8). */
#define MBEDTLS_AES_C
#define MBEDTLS_AES_ROM_TABLES
#define MBEDTLS_AES_FEWER_TABLES
#define MBEDTLS_DES_C
#define MBEDTLS_CIPHER_C
#define MBEDTLS_CIPHER_MODE_CBC
#define MBEDTLS_CMAC_C

/* Hashes. */
#define MBEDTLS_MD_C
#define MBEDTLS_SHA1_C
#define MBEDTLS_SHA256_C
#define MBEDTLS_SHA256_SMALLER

/* Big numbers and elliptic curves. */
#define MBEDTLS_BIGNUM_C
#define MBEDTLS_ECP_C
#define MBEDTLS_ECDSA_C
#define MBEDTLS_ECP_DP_SECP192R1_ENABLED
#define MBEDTLS_ECP_DP_SECP224R1_ENABLED
#define MBEDTLS_ECP_DP_SECP256R1_ENABLED
#define MBEDTLS_ECP_DP_SECP384R1_ENABLED
#define MBEDTLS_ECP_DP_SECP521R1_ENABLED
#define MBEDTLS_ECP_DP_BP256R1_ENABLED
#define MBEDTLS_ECP_DP_BP384R1_ENABLED
#define MBEDTLS_ECP_DP_BP512R1_ENABLED
#define MBEDTLS_ECP_NIST_OPTIM
/* Window 4 with the comb tables kept: window 5 saves 2.4 % of the CPU for
 * 1.6 KiB more of kept tables and 1.3 KiB more heap peak (research §4 item 4). */
#define MBEDTLS_ECP_WINDOW_SIZE       4
#define MBEDTLS_ECP_FIXED_POINT_OPTIM 1
#define MBEDTLS_MPI_MAX_SIZE          66 /* P-521: the largest field of 9303-11 */

/* Keys and certificates. */
#define MBEDTLS_ASN1_PARSE_C
#define MBEDTLS_ASN1_WRITE_C
#define MBEDTLS_OID_C
#define MBEDTLS_PK_C
#define MBEDTLS_PK_PARSE_C
#define MBEDTLS_PK_WRITE_C
#define MBEDTLS_X509_USE_C
#define MBEDTLS_X509_CRT_PARSE_C

/* Random numbers: NIST SP 800-90A CTR_DRBG seeded from the board's RNG. */
#define MBEDTLS_CTR_DRBG_C

#include "mbedtls/check_config.h"

#endif

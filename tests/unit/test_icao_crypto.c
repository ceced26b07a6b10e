#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "hawiya/hex.h"
#include "hawiya/icao_crypto.h"

/* Decodes a hex literal; the vectors below are typed as the standards print them. */
static size_t unhex(const char *s, uint8_t *out, size_t cap)
{
    size_t n = 0;
    assert_int_equal(hex_decode(s, strlen(s), out, cap, &n), HEX_OK);
    return n;
}

static void assert_hex(const uint8_t *got, size_t n, const char *want)
{
    char text[2 * 128 + 1];
    assert_true(n <= 128);
    hex_encode(got, n, text);
    assert_string_equal(text, want);
}

/* ICAO 9303-11 Appendix D.2: K_seed of "L898902C<369080619406236" -> K_enc, K_mac. */
static void kdf_3des_appendix_d2(void **state)
{
    uint8_t seed[16], key[16];
    unhex("239AB9CB282DAF66231DC5A4DF6BFBAE", seed, sizeof seed);
    assert_int_equal(icao_kdf(ICAO_3DES, seed, 16, ICAO_KDF_ENC, key), ICAO_CRYPTO_OK);
    assert_hex(key, 16, "AB94FDECF2674FDFB9B391F85D7F76F2");
    assert_int_equal(icao_kdf(ICAO_3DES, seed, 16, ICAO_KDF_MAC, key), ICAO_CRYPTO_OK);
    assert_hex(key, 16, "7962D9ECE03D1ACD4C76089DCE131543");
}

/* Appendix D.3: K_seed = K.IFD xor K.IC -> KS_enc, KS_mac. */
static void kdf_3des_appendix_d3_session(void **state)
{
    uint8_t seed[16], key[16];
    unhex("0036D272F5C350ACAC50C3F572D23600", seed, sizeof seed);
    assert_int_equal(icao_kdf(ICAO_3DES, seed, 16, ICAO_KDF_ENC, key), ICAO_CRYPTO_OK);
    assert_hex(key, 16, "979EC13B1CBFE9DCD01AB0FED307EAE5");
    assert_int_equal(icao_kdf(ICAO_3DES, seed, 16, ICAO_KDF_MAC, key), ICAO_CRYPTO_OK);
    assert_hex(key, 16, "F1CB1F1FB5ADF208806B89DC579DC1F8");
}

/*
 * Appendix G.1 (PACE ECDH generic mapping, AES-128): K_pi from the MRZ
 * password, and KS_enc / KS_mac from the shared secret.
 */
static void kdf_aes128_appendix_g1(void **state)
{
    uint8_t secret[32], key[16];
    size_t n = unhex("7E2D2A41C74EA0B38CD36F863939BFA8E9032AAD", secret, sizeof secret);
    assert_int_equal(icao_kdf(ICAO_AES128, secret, n, ICAO_KDF_PACE, key), ICAO_CRYPTO_OK);
    assert_hex(key, 16, "89DED1B26624EC1E634C1989302849DD");
    n = unhex("28768D20701247DAE81804C9E780EDE582A9996DB4A315020B2733197DB84925", secret,
              sizeof secret);
    assert_int_equal(icao_kdf(ICAO_AES128, secret, n, ICAO_KDF_ENC, key), ICAO_CRYPTO_OK);
    assert_hex(key, 16, "F5F0E35C0D7161EE6724EE513A0D9A7F");
    assert_int_equal(icao_kdf(ICAO_AES128, secret, n, ICAO_KDF_MAC, key), ICAO_CRYPTO_OK);
    assert_hex(key, 16, "FE251C7858B356B24514B3BD5F4297D1");
}

/*
 * AES-192/256 use SHA-256 (§9.7.1). The appendices have no AES-256 KDF
 * example, so the expected value comes from coreutils:
 *   printf '28768D...8492500000001' | xxd -r -p | sha256sum
 */
static void kdf_aes256_is_sha256(void **state)
{
    uint8_t secret[32], key[32], key192[24];
    size_t n = unhex("28768D20701247DAE81804C9E780EDE582A9996DB4A315020B2733197DB84925", secret,
                     sizeof secret);
    assert_int_equal(icao_kdf(ICAO_AES256, secret, n, ICAO_KDF_ENC, key), ICAO_CRYPTO_OK);
    assert_hex(key, 32, "8419651A9932A555FE20D96406746A82F750F4CCB3D6BE786D4630BCC681BF0E");
    assert_int_equal(icao_kdf(ICAO_AES192, secret, n, ICAO_KDF_ENC, key192), ICAO_CRYPTO_OK);
    assert_memory_equal(key192, key, 24);
    assert_int_equal(icao_kdf((enum icao_cipher)9, secret, n, ICAO_KDF_ENC, key),
                     ICAO_CRYPTO_ERR_CIPHER);
}

/* Appendix D.3: E_IFD = E(K_enc, S) and M_IFD = MAC(K_mac, E_IFD); and the card's E_IC, M_IC. */
static void des3_cbc_and_retail_mac_appendix_d3(void **state)
{
    uint8_t kenc[16], kmac[16], s[32], e[32], back[32], mac[8];
    static const uint8_t zero_iv[8];
    unhex("AB94FDECF2674FDFB9B391F85D7F76F2", kenc, sizeof kenc);
    unhex("7962D9ECE03D1ACD4C76089DCE131543", kmac, sizeof kmac);

    unhex("781723860C06C2264608F919887022120B795240CB7049B01C19B33E32804F0B", s, sizeof s);
    assert_int_equal(icao_cbc_encrypt(ICAO_3DES, kenc, zero_iv, s, 32, e), ICAO_CRYPTO_OK);
    assert_hex(e, 32, "72C29C2371CC9BDB65B779B8E8D37B29ECC154AA56A8799FAE2F498F76ED92F2");
    icao_retail_mac(kmac, e, 32, mac);
    assert_hex(mac, 8, "5F1448EEA8AD90A7");
    assert_int_equal(icao_mac(ICAO_3DES, kmac, e, 32, mac), ICAO_CRYPTO_OK);
    assert_hex(mac, 8, "5F1448EEA8AD90A7");

    unhex("46B9342A41396CD7386BF5803104D7CEDC122B9132139BAF2EEDC94EE178534F", e, sizeof e);
    icao_retail_mac(kmac, e, 32, mac);
    assert_hex(mac, 8, "2F2D235D074D7449");
    assert_int_equal(icao_cbc_decrypt(ICAO_3DES, kenc, zero_iv, e, 32, back), ICAO_CRYPTO_OK);
    assert_hex(back, 32, "4608F91988702212781723860C06C2260B4F80323EB3191CB04970CB4052790B");
    /* In place works too. */
    assert_int_equal(icao_cbc_decrypt(ICAO_3DES, kenc, zero_iv, e, 32, e), ICAO_CRYPTO_OK);
    assert_memory_equal(e, back, 32);
    assert_int_equal(icao_cbc_encrypt(ICAO_3DES, kenc, zero_iv, e, 31, e), ICAO_CRYPTO_ERR_LENGTH);
}

/* Appendix D.4: the MAC over N = SSC || padded header || DO'87' (N as printed there, padded). */
static void retail_mac_appendix_d4(void **state)
{
    uint8_t ksmac[16], n[40], mac[8];
    size_t len;
    unhex("F1CB1F1FB5ADF208806B89DC579DC1F8", ksmac, sizeof ksmac);
    len = unhex("887022120C06C2270CA4020C800000008709016375432908C044F6", n, sizeof n);
    icao_retail_mac(ksmac, n, len, mac);
    assert_hex(mac, 8, "BF8B92D635FF24F8");
}

/*
 * Appendix G.1: the PACE encrypted nonce is AES-CBC with a zero IV under K_pi,
 * and the authentication tokens are CMAC-8 over the public key data objects
 * without padding.
 */
static void aes_cbc_and_cmac_appendix_g1(void **state)
{
    uint8_t kpi[16], ksmac[16], z[16], s[16], data[128], mac[8];
    static const uint8_t zero_iv[16];
    size_t n;
    unhex("89DED1B26624EC1E634C1989302849DD", kpi, sizeof kpi);
    unhex("95A3A016522EE98D01E76CB6B98B42C3", z, sizeof z);
    assert_int_equal(icao_cbc_decrypt(ICAO_AES128, kpi, zero_iv, z, 16, s), ICAO_CRYPTO_OK);
    assert_hex(s, 16, "3F00C4D39D153F2B2A214A078D899B22");
    assert_int_equal(icao_cbc_encrypt(ICAO_AES128, kpi, zero_iv, s, 16, s), ICAO_CRYPTO_OK);
    assert_memory_equal(s, z, 16);
    assert_int_equal(icao_block_encrypt(ICAO_AES128, kpi, z, s), ICAO_CRYPTO_OK);
    assert_int_equal(icao_cbc_decrypt(ICAO_AES128, kpi, zero_iv, s, 16, s), ICAO_CRYPTO_OK);
    assert_memory_equal(s, z, 16);

    unhex("FE251C7858B356B24514B3BD5F4297D1", ksmac, sizeof ksmac);
    n = unhex("7F494F060A04007F000702020402028641049E880F842905B8B3181F7AF7CAA9F0EFB743847F44A3"
              "06D2D28C1D9EC65DF6DB7764B22277A2EDDC3C265A9F018F9CB852E111B768B326904B59A0193776"
              "F094",
              data, sizeof data);
    assert_int_equal(icao_cmac8(ICAO_AES128, ksmac, data, n, mac), ICAO_CRYPTO_OK);
    assert_hex(mac, 8, "C2B0BD78D94BA866");
    n = unhex("7F494F060A04007F000702020402028641042DB7A64C0355044EC9DF190514C625CBA2CEA4875488"
              "7122F3A5EF0D5EDD301C3556F3B3B186DF10B857B58F6A7EB80F20BA5DC7BE1D43D9BF850149FBB3"
              "6462",
              data, sizeof data);
    assert_int_equal(icao_cmac8(ICAO_AES128, ksmac, data, n, mac), ICAO_CRYPTO_OK);
    assert_hex(mac, 8, "3ABB9674BCE93C08");
}

/* RFC 4493 §4 examples 1-4 (AES-128), truncated to the 8 bytes 9303 uses. */
static void cmac_rfc4493(void **state)
{
    uint8_t key[16], msg[64], mac[8];
    unhex("2B7E151628AED2A6ABF7158809CF4F3C", key, sizeof key);
    unhex("6BC1BEE22E409F96E93D7E117393172AAE2D8A571E03AC9C9EB76FAC45AF8E51"
          "30C81C46A35CE411E5FBC1191A0A52EFF69F2445DF4F9B17AD2B417BE66C3710",
          msg, sizeof msg);
    assert_int_equal(icao_cmac8(ICAO_AES128, key, msg, 0, mac), ICAO_CRYPTO_OK);
    assert_hex(mac, 8, "BB1D6929E9593728");
    assert_int_equal(icao_cmac8(ICAO_AES128, key, msg, 16, mac), ICAO_CRYPTO_OK);
    assert_hex(mac, 8, "070A16B46B4D4144");
    assert_int_equal(icao_cmac8(ICAO_AES128, key, msg, 40, mac), ICAO_CRYPTO_OK);
    assert_hex(mac, 8, "DFA66747DE9AE630");
    assert_int_equal(icao_cmac8(ICAO_AES128, key, msg, 64, mac), ICAO_CRYPTO_OK);
    assert_hex(mac, 8, "51F0BEBF7E3B9D92");
    assert_int_equal(icao_cmac8(ICAO_3DES, key, msg, 64, mac), ICAO_CRYPTO_ERR_CIPHER);
}

/* NIST SP 800-38B Appendix D.3 example 9 (AES-256, empty message). */
static void cmac_aes256_sp800_38b(void **state)
{
    uint8_t key[32], mac[8];
    unhex("603DEB1015CA71BE2B73AEF0857D77811F352C073B6108D72D9810A30914DFF4", key, sizeof key);
    assert_int_equal(icao_cmac8(ICAO_AES256, key, NULL, 0, mac), ICAO_CRYPTO_OK);
    assert_hex(mac, 8, "028962F61B7BF89E");
}

/* icao_mac for AES pads first: CMAC(pad(m)) = CMAC of the explicitly padded message. */
static void mac_aes_pads_method2(void **state)
{
    uint8_t key[16], msg[32] = {1, 2, 3}, a[8], b[8];
    size_t n;
    unhex("2B7E151628AED2A6ABF7158809CF4F3C", key, sizeof key);
    assert_int_equal(icao_mac(ICAO_AES128, key, msg, 3, a), ICAO_CRYPTO_OK);
    assert_int_equal(icao_pad(msg, 3, sizeof msg, 16, &n), ICAO_CRYPTO_OK);
    assert_int_equal(n, 16);
    assert_int_equal(icao_cmac8(ICAO_AES128, key, msg, n, b), ICAO_CRYPTO_OK);
    assert_memory_equal(a, b, 8);
}

/* ISO/IEC 9797-1 padding method 2; Appendix D.4 pads "011E" to 011E800000000000. */
static void pad_and_strict_unpad(void **state)
{
    uint8_t buf[16] = {0x01, 0x1E};
    size_t n = 0;
    assert_int_equal(icao_pad(buf, 2, sizeof buf, 8, &n), ICAO_CRYPTO_OK);
    assert_int_equal(n, 8);
    assert_hex(buf, 8, "011E800000000000");
    assert_int_equal(icao_unpad(buf, 8, 8, &n), ICAO_CRYPTO_OK);
    assert_int_equal(n, 2);
    /* A whole block of padding after a full block. */
    memset(buf, 0xAA, 8);
    assert_int_equal(icao_pad(buf, 8, sizeof buf, 8, &n), ICAO_CRYPTO_OK);
    assert_int_equal(n, 16);
    assert_int_equal(icao_unpad(buf, 16, 8, &n), ICAO_CRYPTO_OK);
    assert_int_equal(n, 8);
    assert_int_equal(icao_pad(buf, 8, 15, 8, &n), ICAO_CRYPTO_ERR_BUFFER);

    uint8_t bad[16] = {0};
    assert_int_equal(icao_unpad(bad, 8, 8, &n), ICAO_CRYPTO_ERR_PADDING); /* all zeros */
    bad[7] = 0x81;
    assert_int_equal(icao_unpad(bad, 8, 8, &n), ICAO_CRYPTO_ERR_PADDING); /* wrong marker */
    bad[7] = 0x80;
    assert_int_equal(icao_unpad(bad, 7, 8, &n), ICAO_CRYPTO_ERR_PADDING); /* not whole blocks */
    assert_int_equal(icao_unpad(bad, 0, 8, &n), ICAO_CRYPTO_ERR_PADDING);
    memset(bad, 0, sizeof bad);
    bad[3] = 0x80; /* 0x80 followed by 12 zeros: more than a block of padding */
    assert_int_equal(icao_unpad(bad, 16, 8, &n), ICAO_CRYPTO_ERR_PADDING);
    assert_string_equal(icao_crypto_err_str(ICAO_CRYPTO_ERR_PADDING), "ICAO_CRYPTO_ERR_PADDING");
}

/* The streaming MAC equals the one-shot MAC for every way of cutting the message. */
static void mac_in_pieces(void **state)
{
    uint8_t ksmac[16], aes[16], n[40], a[8], b[8];
    size_t len;
    struct icao_mac_ctx c;
    unhex("F1CB1F1FB5ADF208806B89DC579DC1F8", ksmac, sizeof ksmac);
    unhex("2B7E151628AED2A6ABF7158809CF4F3C", aes, sizeof aes);
    len = unhex("887022120C06C2270CA4020C800000008709016375432908C044F6", n, sizeof n);
    for (size_t cut = 0; cut <= len; cut++) {
        assert_int_equal(icao_mac_start(&c, ICAO_3DES, ksmac), ICAO_CRYPTO_OK);
        assert_int_equal(icao_mac_update(&c, n, cut), ICAO_CRYPTO_OK);
        assert_int_equal(icao_mac_update(&c, n + cut, len - cut), ICAO_CRYPTO_OK);
        assert_int_equal(icao_mac_finish(&c, 1, a), ICAO_CRYPTO_OK);
        /* Appendix D.4 again: CC = BF8B92D635FF24F8. */
        assert_hex(a, 8, "BF8B92D635FF24F8");
        for (int pad = 0; pad <= 1; pad++) {
            assert_int_equal(icao_mac_start(&c, ICAO_AES128, aes), ICAO_CRYPTO_OK);
            assert_int_equal(icao_mac_update(&c, n, cut), ICAO_CRYPTO_OK);
            assert_int_equal(icao_mac_update(&c, n + cut, len - cut), ICAO_CRYPTO_OK);
            assert_int_equal(icao_mac_finish(&c, pad, a), ICAO_CRYPTO_OK);
            if (pad)
                assert_int_equal(icao_mac(ICAO_AES128, aes, n, len, b), ICAO_CRYPTO_OK);
            else
                assert_int_equal(icao_cmac8(ICAO_AES128, aes, n, len, b), ICAO_CRYPTO_OK);
            assert_memory_equal(a, b, 8);
        }
    }
    assert_int_equal(icao_mac_start(&c, ICAO_3DES, ksmac), ICAO_CRYPTO_OK);
    assert_int_equal(icao_mac_finish(&c, 0, a), ICAO_CRYPTO_ERR_PADDING);
}

static void parity(void **state)
{
    /* 9303-11 D.2 before parity adjustment: AB94FCEDF2664EDF -> AB94FDECF2674FDF. */
    uint8_t k[8];
    unhex("AB94FCEDF2664EDF", k, sizeof k);
    icao_des_set_parity(k, 8);
    assert_hex(k, 8, "AB94FDECF2674FDF");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(kdf_3des_appendix_d2),
        cmocka_unit_test(kdf_3des_appendix_d3_session),
        cmocka_unit_test(kdf_aes128_appendix_g1),
        cmocka_unit_test(kdf_aes256_is_sha256),
        cmocka_unit_test(des3_cbc_and_retail_mac_appendix_d3),
        cmocka_unit_test(retail_mac_appendix_d4),
        cmocka_unit_test(aes_cbc_and_cmac_appendix_g1),
        cmocka_unit_test(cmac_rfc4493),
        cmocka_unit_test(cmac_aes256_sp800_38b),
        cmocka_unit_test(mac_aes_pads_method2),
        cmocka_unit_test(pad_and_strict_unpad),
        cmocka_unit_test(mac_in_pieces),
        cmocka_unit_test(parity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "hawiya/apdu.h"
#include "hawiya/bac.h"
#include "hawiya/hex.h"
#include "hawiya/icao_crypto.h"

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

/* A scripted RNG: hands out the bytes of one hex string in order. */
struct script {
    uint8_t bytes[64];
    size_t len, pos;
    int fail;
};

static int script_rng(void *ctx, uint8_t *out, size_t len)
{
    struct script *s = ctx;
    if (s->fail || s->len - s->pos < len)
        return -1;
    memcpy(out, s->bytes + s->pos, len);
    s->pos += len;
    return 0;
}

static void script_load(struct script *s, const char *hex)
{
    memset(s, 0, sizeof *s);
    s->len = unhex(hex, s->bytes, sizeof s->bytes);
}

/* 9303-11 Appendix D.3 values. */
#define RND_IC    "4608F91988702212"
#define RND_IFD   "781723860C06C226"
#define K_IFD     "0B795240CB7049B01C19B33E32804F0B"
#define K_IC      "0B4F80323EB3191CB04970CB4052790B"
#define CMD_DATA  "72C29C2371CC9BDB65B779B8E8D37B29ECC154AA56A8799FAE2F498F76ED92F25F1448EEA8AD90A7"
#define RESP_DATA "46B9342A41396CD7386BF5803104D7CEDC122B9132139BAF2EEDC94EE178534F2F2D235D074D7449"

static void appendix_d_keys(struct bac_keys *k)
{
    const char *info = "L898902C<369080619406236";
    assert_int_equal(bac_keys_from_mrz_info(info, strlen(info), NULL, k), BAC_OK);
}

/* Appendix D.2: K_seed, K_enc, K_mac from the MRZ information. */
static void document_keys_appendix_d2(void **state)
{
    struct bac_keys k;
    uint8_t seed[16];
    const char *info = "L898902C<369080619406236";
    assert_int_equal(bac_keys_from_mrz_info(info, strlen(info), seed, &k), BAC_OK);
    assert_hex(seed, 16, "239AB9CB282DAF66231DC5A4DF6BFBAE");
    assert_hex(k.k_enc, 16, "AB94FDECF2674FDFB9B391F85D7F76F2");
    assert_hex(k.k_mac, 16, "7962D9ECE03D1ACD4C76089DCE131543");
    assert_int_equal(bac_keys_from_mrz_info(info, 0, seed, &k), BAC_ERR_MRZ_INFO);
}

/* Appendix D.3, terminal side: EXTERNAL AUTHENTICATE, then the card's answer and the session. */
static void ifd_appendix_d3(void **state)
{
    struct bac_keys k;
    struct bac_ifd ifd;
    struct bac_session s;
    struct script rng;
    struct apdu a;
    uint8_t rnd_ic[8], cmd[40], resp[40], enc[64];
    size_t n;

    appendix_d_keys(&k);
    bac_get_challenge_apdu(&a);
    assert_int_equal(apdu_encode(&a, enc, sizeof enc, &n), APDU_OK);
    assert_hex(enc, n, "0084000008");

    bac_ifd_init(&ifd, &k);
    script_load(&rng, RND_IFD K_IFD);
    unhex(RND_IC, rnd_ic, sizeof rnd_ic);
    assert_int_equal(bac_ifd_authenticate(&ifd, rnd_ic, 8, script_rng, &rng, cmd), BAC_OK);
    assert_hex(cmd, 40, CMD_DATA);
    bac_external_authenticate_apdu(cmd, &a);
    assert_int_equal(apdu_encode(&a, enc, sizeof enc, &n), APDU_OK);
    assert_hex(enc, n, "0082000028" CMD_DATA "28");

    unhex(RESP_DATA, resp, sizeof resp);
    assert_int_equal(bac_ifd_finish(&ifd, resp, 40, &s), BAC_OK);
    assert_hex(s.ks_enc, 16, "979EC13B1CBFE9DCD01AB0FED307EAE5");
    assert_hex(s.ks_mac, 16, "F1CB1F1FB5ADF208806B89DC579DC1F8");
    assert_hex(s.ssc, 8, "887022120C06C226");
    /* The context is spent and wiped. */
    assert_int_equal(ifd.state, 0);
    assert_int_equal(bac_ifd_finish(&ifd, resp, 40, &s), BAC_ERR_STATE);
}

/* Appendix D.3, card side: the same exchange from the chip's point of view. */
static void ic_appendix_d3(void **state)
{
    struct bac_keys k;
    struct bac_ic ic;
    struct bac_session s;
    struct script rng;
    uint8_t rnd_ic[8], cmd[40], resp[40];

    appendix_d_keys(&k);
    bac_ic_init(&ic, &k);
    script_load(&rng, RND_IC K_IC);
    unhex(CMD_DATA, cmd, sizeof cmd);
    assert_int_equal(bac_ic_authenticate(&ic, cmd, 40, script_rng, &rng, resp, &s), BAC_ERR_STATE);
    assert_int_equal(bac_ic_get_challenge(&ic, script_rng, &rng, rnd_ic), BAC_OK);
    assert_hex(rnd_ic, 8, RND_IC);
    assert_int_equal(bac_ic_authenticate(&ic, cmd, 40, script_rng, &rng, resp, &s), BAC_OK);
    assert_hex(resp, 40, RESP_DATA);
    assert_hex(s.ks_enc, 16, "979EC13B1CBFE9DCD01AB0FED307EAE5");
    assert_hex(s.ks_mac, 16, "F1CB1F1FB5ADF208806B89DC579DC1F8");
    assert_hex(s.ssc, 8, "887022120C06C226");
    /* A replay of the same cryptogram needs a fresh challenge. */
    assert_int_equal(bac_ic_authenticate(&ic, cmd, 40, script_rng, &rng, resp, &s), BAC_ERR_STATE);
}

static void ifd_rejects_bad_responses(void **state)
{
    struct bac_keys k;
    struct bac_ifd ifd;
    struct bac_session s;
    struct script rng;
    uint8_t rnd_ic[8], cmd[40], resp[40], r[32];
    static const uint8_t zero_iv[8];

    appendix_d_keys(&k);
    unhex(RND_IC, rnd_ic, sizeof rnd_ic);

    /* One flipped bit in M_IC. */
    bac_ifd_init(&ifd, &k);
    script_load(&rng, RND_IFD K_IFD);
    assert_int_equal(bac_ifd_authenticate(&ifd, rnd_ic, 8, script_rng, &rng, cmd), BAC_OK);
    unhex(RESP_DATA, resp, sizeof resp);
    resp[39] ^= 0x01;
    assert_int_equal(bac_ifd_finish(&ifd, resp, 40, &s), BAC_ERR_MAC);
    assert_int_equal(s.ks_enc[0] | s.ks_mac[0] | s.ssc[0], 0);

    /* One flipped bit in E_IC: the MAC catches it before decryption. */
    bac_ifd_init(&ifd, &k);
    script_load(&rng, RND_IFD K_IFD);
    assert_int_equal(bac_ifd_authenticate(&ifd, rnd_ic, 8, script_rng, &rng, cmd), BAC_OK);
    unhex(RESP_DATA, resp, sizeof resp);
    resp[0] ^= 0x80;
    assert_int_equal(bac_ifd_finish(&ifd, resp, 40, &s), BAC_ERR_MAC);

    /* A well-MACed answer that does not echo RND.IFD (a replayed card answer). */
    bac_ifd_init(&ifd, &k);
    script_load(&rng, RND_IFD K_IFD);
    assert_int_equal(bac_ifd_authenticate(&ifd, rnd_ic, 8, script_rng, &rng, cmd), BAC_OK);
    unhex(RND_IC "0000000000000000" K_IC, r, sizeof r);
    assert_int_equal(icao_cbc_encrypt(ICAO_3DES, k.k_enc, zero_iv, r, 32, resp), ICAO_CRYPTO_OK);
    icao_retail_mac(k.k_mac, resp, 32, resp + 32);
    assert_int_equal(bac_ifd_finish(&ifd, resp, 40, &s), BAC_ERR_RND_IFD);

    /* Wrong lengths and a failing RNG. */
    bac_ifd_init(&ifd, &k);
    script_load(&rng, RND_IFD K_IFD);
    assert_int_equal(bac_ifd_authenticate(&ifd, rnd_ic, 7, script_rng, &rng, cmd), BAC_ERR_LENGTH);
    bac_ifd_init(&ifd, &k);
    script_load(&rng, RND_IFD);
    assert_int_equal(bac_ifd_authenticate(&ifd, rnd_ic, 8, script_rng, &rng, cmd), BAC_ERR_RNG);
    bac_ifd_init(&ifd, &k);
    script_load(&rng, RND_IFD K_IFD);
    assert_int_equal(bac_ifd_authenticate(&ifd, rnd_ic, 8, script_rng, &rng, cmd), BAC_OK);
    assert_int_equal(bac_ifd_finish(&ifd, resp, 39, &s), BAC_ERR_LENGTH);
    assert_string_equal(bac_err_str(BAC_ERR_RND_IFD), "BAC_ERR_RND_IFD");
}

static void ic_rejects_bad_commands(void **state)
{
    struct bac_keys k, wrong;
    struct bac_ic ic;
    struct bac_ifd ifd;
    struct bac_session s;
    struct script rng, ifd_rng;
    uint8_t rnd_ic[8], cmd[40], resp[40];
    const char *other = "L898902C<369080619406237";

    appendix_d_keys(&k);
    /* A terminal with keys from a mistyped MRZ: M_IFD fails on the card. */
    assert_int_equal(bac_keys_from_mrz_info(other, strlen(other), NULL, &wrong), BAC_OK);
    bac_ic_init(&ic, &k);
    script_load(&rng, RND_IC K_IC);
    assert_int_equal(bac_ic_get_challenge(&ic, script_rng, &rng, rnd_ic), BAC_OK);
    bac_ifd_init(&ifd, &wrong);
    script_load(&ifd_rng, RND_IFD K_IFD);
    assert_int_equal(bac_ifd_authenticate(&ifd, rnd_ic, 8, script_rng, &ifd_rng, cmd), BAC_OK);
    assert_int_equal(bac_ic_authenticate(&ic, cmd, 40, script_rng, &rng, resp, &s), BAC_ERR_MAC);
    assert_int_equal(resp[0] | resp[39], 0);

    /* The right keys, but the cryptogram answers another challenge. */
    script_load(&rng, "0102030405060708" K_IC);
    assert_int_equal(bac_ic_get_challenge(&ic, script_rng, &rng, rnd_ic), BAC_OK);
    unhex(CMD_DATA, cmd, sizeof cmd);
    assert_int_equal(bac_ic_authenticate(&ic, cmd, 40, script_rng, &rng, resp, &s), BAC_ERR_RND_IC);
    assert_int_equal(bac_ic_authenticate(&ic, cmd, 40, script_rng, &rng, resp, &s), BAC_ERR_STATE);

    script_load(&rng, RND_IC K_IC);
    assert_int_equal(bac_ic_get_challenge(&ic, script_rng, &rng, rnd_ic), BAC_OK);
    assert_int_equal(bac_ic_authenticate(&ic, cmd, 41, script_rng, &rng, resp, &s), BAC_ERR_LENGTH);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(document_keys_appendix_d2),
        cmocka_unit_test(ifd_appendix_d3),
        cmocka_unit_test(ic_appendix_d3),
        cmocka_unit_test(ifd_rejects_bad_responses),
        cmocka_unit_test(ic_rejects_bad_commands),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

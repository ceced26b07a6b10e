#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include <mbedtls/ecp.h>
#include <mbedtls/pk.h>

#include "hawiya/ca.h"
#include "hawiya/ecp_groups.h"
#include "hawiya/cardaccess.h"
#include "hawiya/hex.h"

static size_t unhex(const char *s, uint8_t *out, size_t cap)
{
    size_t n = 0;
    assert_int_equal(hex_decode(s, strlen(s), out, cap, &n), HEX_OK);
    return n;
}

static void assert_hex(const uint8_t *got, size_t n, const char *want)
{
    uint8_t w[256];
    size_t wn = unhex(want, w, sizeof w);
    assert_int_equal(n, wn);
    assert_memory_equal(got, w, n);
}

struct script_rng {
    const char *value;
    int used;
};

static int script_rng(void *p, unsigned char *out, size_t len)
{
    struct script_rng *s = p;
    uint8_t buf[80];
    if (s->used)
        return -1;
    size_t n = unhex(s->value, buf, sizeof buf);
    if (n != len)
        return -1;
    memcpy(out, buf, n);
    s->used = 1;
    return 0;
}

static int prng(void *p, unsigned char *out, size_t len)
{
    uint64_t *x = p;
    for (size_t i = 0; i < len; i++) {
        *x ^= *x << 13;
        *x ^= *x >> 7;
        *x ^= *x << 17;
        out[i] = (uint8_t)*x;
    }
    return 0;
}

/*
 * Vector computed with OpenSSL 3 (independent of mbedTLS): brainpoolP256r1,
 * card key SK_IC and reader key SK_IFD (the G.1 ephemeral DH scalars reused
 * as plain keys on the standard generator), keys written as RFC 5915
 * ECPrivateKey with `openssl asn1parse -genconf`, then
 *   openssl pkeyutl -derive -inkey ifd.pem -peerkey card.pub.pem  -> K
 *   openssl ec -in card.pem -pubout -outform DER [-param_enc explicit] -> SPKI
 * and KS = SHA-1(K || counter) from sha1sum (9303-11 §9.7.1; the 3DES keys
 * with DES parity set).
 */
#define SK_IC  "107CF58696EF6155053340FD633392BA81909DF7B9706F226F32086C7AFF974A"
#define SK_IFD "A73FB703AC1436A18E0CFA5ABB3F7BEC7A070E7A6788486BEE230C4A22762595"
#define PK_IC                                                                                      \
    "046cd01b91b94b41b32a714a8e753d2879bb1c0447a033f89bf7e8e53cf7dbaf21"                           \
    "31648588f995f367774cd3349873304864ab85121d3a3fd0f8c1112248e262f5"
#define PK_IFD                                                                                     \
    "04a6740b393f8c7d0640c1c37bac925fb90693e1770f2ad1402a171cc1e8a8a16d"                           \
    "8125cb7d8eb8bdea294d182b7f12a64d29337d166e52edcc61209ae01bf71e45"
#define SPKI_NAMED "305a301406072a8648ce3d020106092b2403030208010107034200" PK_IC
#define SPKI_EXPLICIT                                                                              \
    "308201333081ec06072a8648ce3d02013081e0020101302c06072a8648ce3d0101022100a9fb57dba1eea9bc3e66" \
    "0a909d838d726e3bf623d52620282013481d1f6e5377304404207d5a0975fc2c3057eef67530417affe7fb8055c1" \
    "26dc5c6ce94a4b44f330b5d9042026dc5c6ce94a4b44f330b5d9bbd77cbf958416295cf7e1ce6bccdc18ff8c07b6" \
    "0441048bd2aeb9cb7e57cb2c4b482ffc81b7afb9de27e1e3bd23c23a4453bd9ace3262547ef835c3dac4fd97f846" \
    "1a14611dc9c27745132ded8e545c1d54c72f046997022100a9fb57dba1eea9bc3e660a909d838d718c397aa3b561" \
    "a6f7901e0e82974856a7020101034200" PK_IC
#define K_AES128_ENC "9BC8B02F271E64E633D6027A4E805EE7"
#define K_AES128_MAC "521041881BF73D674C779C8BAB62DAF9"
#define K_3DES_ENC   "9BC8B02F261F64E632D6027A4F805EE6"
#define K_3DES_MAC   "521040891AF73D674C769D8AAB62DAF8"

/* A DG14 SET with one ChipAuthenticationInfo and one public key. */
static void make_dg14(struct security_infos *si, uint8_t *spki_buf, const char *spki_hex,
                      uint8_t cipher_byte, bool key_id)
{
    static const uint8_t ca_oid[] = {0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x03, 0x02, 0x00};
    memset(si, 0, sizeof *si);
    si->n_ca = 1;
    memcpy(si->ca[0].oid, ca_oid, sizeof ca_oid);
    si->ca[0].oid[9] = cipher_byte;
    si->ca[0].oid_len = sizeof ca_oid;
    si->ca[0].ka = PACE_KA_ECDH;
    si->ca[0].cipher = cipher_byte == 1 ? ICAO_3DES : ICAO_AES128;
    si->ca[0].version = 1;
    si->ca[0].has_key_id = key_id;
    si->ca[0].key_id = key_id ? 1 : 0;
    si->n_ca_pk = 1;
    si->ca_pk[0].ka = PACE_KA_ECDH;
    si->ca_pk[0].spki = spki_buf;
    si->ca_pk[0].spki_len = unhex(spki_hex, spki_buf, 400);
    si->ca_pk[0].has_key_id = key_id;
    si->ca_pk[0].key_id = key_id ? 1 : 0;
}

/* DG14 as the parser sees it: id-CA-ECDH-AES-CBC-CMAC-128 and the SPKI above. */
static void dg14_from_der(void **state)
{
    uint8_t buf[256];
    struct security_infos si;
    size_t n = unhex("317D3012060A04007F00070202030202020101020101"
                     "3067060904007F000702020102" SPKI_NAMED,
                     buf, sizeof buf);
    assert_int_equal(cardaccess_parse(buf, n, &si), CARDACCESS_OK);
    assert_int_equal(si.n_ca, 1);
    assert_int_equal(si.n_ca_pk, 1);
    assert_false(si.ca_pk[0].has_key_id);

    struct ca ctx;
    struct script_rng rng = {SK_IFD, 0};
    uint8_t cmd[200];
    size_t cmd_len;
    /* keyId 1 in the info but no key with keyId 1: no key to use. */
    assert_int_equal(ca_begin(&ctx, &si, script_rng, &rng, prng, &(uint64_t){1}, NULL, cmd,
                              sizeof cmd, &cmd_len),
                     CA_ERR_NO_KEY);
    si.ca[0].has_key_id = false;
    assert_int_equal(ca_begin(&ctx, &si, script_rng, &rng, prng, &(uint64_t){1}, NULL, cmd,
                              sizeof cmd, &cmd_len),
                     CA_OK);
    assert_hex(cmd, cmd_len, "002241A40C800A04007F00070202030202");
}

static void run_reader_aes_with(const char *spki, struct ecp_groups *groups)
{
    struct security_infos si;
    uint8_t spki_buf[400], cmd[200], resp[8];
    size_t cmd_len, n;
    struct script_rng rng = {SK_IFD, 0};
    uint64_t seed = 3;
    struct ca ctx;
    struct ca_result res;
    make_dg14(&si, spki_buf, spki, 2, false);
    assert_int_equal(
        ca_begin(&ctx, &si, script_rng, &rng, prng, &seed, groups, cmd, sizeof cmd, &cmd_len),
        CA_OK);
    /* §6.2.4.2: MSE:Set AT with the CA OID, no DO'84' without a keyId. */
    assert_hex(cmd, cmd_len, "002241A40C800A04007F00070202030202");
    n = unhex("9000", resp, sizeof resp);
    assert_int_equal(ca_step(&ctx, resp, n, cmd, sizeof cmd, &cmd_len), CA_OK);
    assert_hex(cmd, cmd_len, "00860000457C438041" PK_IFD "00");
    assert_false(ca_done(&ctx));
    n = unhex("7C009000", resp, sizeof resp);
    assert_int_equal(ca_step(&ctx, resp, n, cmd, sizeof cmd, &cmd_len), CA_OK);
    assert_int_equal(cmd_len, 0);
    assert_true(ca_done(&ctx));
    assert_int_equal(ca_get_result(&ctx, &res), CA_OK);
    assert_int_equal(res.cipher, ICAO_AES128);
    assert_hex(res.ks_enc, res.key_len, K_AES128_ENC);
    assert_hex(res.ks_mac, res.key_len, K_AES128_MAC);
    ca_wipe(&ctx);
    assert_false(ca_done(&ctx));
}

static void run_reader_aes(const char *spki, void **state)
{
    run_reader_aes_with(spki, NULL);
}

static void reader_aes_named_curve(void **state)
{
    run_reader_aes(SPKI_NAMED, state);
}

/* The card's curve kept between sessions (hawiya/ecp_groups.h): the same
 * PK_IFD and keys each time, with named and explicit parameters alike. */
static void reader_aes_kept_curve(void **state)
{
    struct ecp_groups groups;
    ecp_groups_init(&groups);
    for (int i = 0; i < 2; i++) {
        run_reader_aes_with(SPKI_NAMED, &groups);
        run_reader_aes_with(SPKI_EXPLICIT, &groups);
    }
    assert_int_equal(groups.n, 1);
    assert_int_equal(groups.g[0].id, MBEDTLS_ECP_DP_BP256R1);
    ecp_groups_free(&groups);
}

/* Explicit domain parameters (as many issued DG14s carry them) give the same result. */
static void reader_aes_explicit_parameters(void **state)
{
    run_reader_aes(SPKI_EXPLICIT, state);
}

static void reader_3des_kat_and_card(void **state)
{
    struct security_infos si;
    uint8_t spki_buf[400], cmd[200], resp[200], sk[32];
    size_t cmd_len, n, rlen;
    struct script_rng rng = {SK_IFD, 0};
    uint64_t seed = 4, cseed = 5;
    struct ca ctx;
    struct ca_card card;
    struct ca_result res, cres;
    make_dg14(&si, spki_buf, SPKI_NAMED, 1, true);
    assert_int_equal(
        ca_begin(&ctx, &si, script_rng, &rng, prng, &seed, NULL, cmd, sizeof cmd, &cmd_len), CA_OK);
    /* §6.2.4.1: MSE:Set KAT with the ephemeral key and the key reference. */
    assert_hex(cmd, cmd_len, "002241A6469141" PK_IFD "840101");

    unhex(SK_IC, sk, sizeof sk);
    assert_int_equal(ca_card_init(&card, &si.ca[0], si.ca_pk[0].spki, si.ca_pk[0].spki_len, sk,
                                  sizeof sk, prng, &cseed),
                     CA_OK);
    assert_int_equal(ca_card_process(&card, cmd, cmd_len, resp, sizeof resp, &rlen), CA_OK);
    assert_hex(resp, rlen, "9000");
    assert_true(ca_card_done(&card));
    assert_int_equal(ca_step(&ctx, resp, rlen, cmd, sizeof cmd, &cmd_len), CA_OK);
    assert_true(ca_done(&ctx));
    assert_int_equal(ca_get_result(&ctx, &res), CA_OK);
    assert_int_equal(ca_card_get_result(&card, &cres), CA_OK);
    assert_int_equal(res.cipher, ICAO_3DES);
    assert_hex(res.ks_enc, 16, K_3DES_ENC);
    assert_hex(res.ks_mac, 16, K_3DES_MAC);
    assert_memory_equal(&res, &cres, sizeof res);
    ca_card_wipe(&card);

    /* The card refuses a private key that is not the one of its SPKI. */
    sk[31] ^= 1;
    assert_int_equal(ca_card_init(&card, &si.ca[0], si.ca_pk[0].spki, si.ca_pk[0].spki_len, sk,
                                  sizeof sk, prng, &cseed),
                     CA_ERR_BAD_KEY);
    (void)n;
}

/* Loopback with keys made by mbedTLS on several curves, AES-128 and AES-256. */
static void loopback_curves(void **state)
{
    static const mbedtls_ecp_group_id groups[] = {MBEDTLS_ECP_DP_SECP256R1, MBEDTLS_ECP_DP_BP384R1,
                                                  MBEDTLS_ECP_DP_BP512R1, MBEDTLS_ECP_DP_SECP521R1};
    for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++) {
        mbedtls_pk_context pk;
        uint8_t der[400], sk[66], cmd[200], resp[200];
        uint64_t seed = 100 + g, rseed = 200 + g, cseed = 300 + g;
        mbedtls_pk_init(&pk);
        assert_int_equal(mbedtls_pk_setup(&pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)), 0);
        assert_int_equal(mbedtls_ecp_gen_key(groups[g], mbedtls_pk_ec(pk), prng, &seed), 0);
        int len = mbedtls_pk_write_pubkey_der(&pk, der, sizeof der);
        assert_true(len > 0);
        size_t n_len = (mbedtls_pk_ec(pk)->grp.nbits + 7) / 8;
        assert_int_equal(mbedtls_mpi_write_binary(&mbedtls_pk_ec(pk)->d, sk, n_len), 0);
        mbedtls_pk_free(&pk);

        struct security_infos si;
        uint8_t unused[4];
        make_dg14(&si, unused, "00", g % 2 ? 4 : 2, g == 1);
        si.ca_pk[0].spki = der + sizeof der - len; /* mbedTLS writes at the end */
        si.ca_pk[0].spki_len = (size_t)len;
        si.ca[0].cipher = g % 2 ? ICAO_AES256 : ICAO_AES128;

        struct ca ctx;
        struct ca_card card;
        struct ca_result res, cres;
        size_t cmd_len, rlen;
        assert_int_equal(ca_card_init(&card, &si.ca[0], si.ca_pk[0].spki, si.ca_pk[0].spki_len, sk,
                                      n_len, NULL, NULL),
                         CA_OK);
        assert_int_equal(
            ca_begin(&ctx, &si, prng, &rseed, NULL, NULL, NULL, cmd, sizeof cmd, &cmd_len), CA_OK);
        while (cmd_len > 0) {
            assert_int_equal(ca_card_process(&card, cmd, cmd_len, resp, sizeof resp, &rlen), CA_OK);
            assert_int_equal(ca_step(&ctx, resp, rlen, cmd, sizeof cmd, &cmd_len), CA_OK);
        }
        assert_int_equal(ca_get_result(&ctx, &res), CA_OK);
        assert_int_equal(ca_card_get_result(&card, &cres), CA_OK);
        assert_int_equal(res.key_len, g % 2 ? 32 : 16);
        assert_memory_equal(&res, &cres, sizeof res);
        (void)cseed;
    }
}

static void reader_hostile(void **state)
{
    struct security_infos si;
    uint8_t spki_buf[400], cmd[200], resp[16];
    size_t cmd_len, n;
    struct ca ctx;
    uint64_t seed = 9;
    static const char *const bad[] = {"6A80", "019000", "90"};
    static const enum ca_err want[] = {CA_ERR_SW, CA_ERR_BAD_RESPONSE, CA_ERR_BAD_RESPONSE};
    make_dg14(&si, spki_buf, SPKI_NAMED, 2, false);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(
            ca_begin(&ctx, &si, prng, &seed, NULL, NULL, NULL, cmd, sizeof cmd, &cmd_len), CA_OK);
        n = unhex(bad[i], resp, sizeof resp);
        assert_int_equal(ca_step(&ctx, resp, n, cmd, sizeof cmd, &cmd_len), want[i]);
        assert_int_equal(cmd_len, 0);
        assert_int_equal(ca_step(&ctx, resp, n, cmd, sizeof cmd, &cmd_len), CA_ERR_STATE);
        assert_int_equal(ca_get_result(&ctx, &(struct ca_result){0}), CA_ERR_STATE);
    }
    /* A GENERAL AUTHENTICATE answer with data in the 7C. */
    assert_int_equal(ca_begin(&ctx, &si, prng, &seed, NULL, NULL, NULL, cmd, sizeof cmd, &cmd_len),
                     CA_OK);
    n = unhex("9000", resp, sizeof resp);
    assert_int_equal(ca_step(&ctx, resp, n, cmd, sizeof cmd, &cmd_len), CA_OK);
    n = unhex("7C0180009000", resp, sizeof resp);
    assert_int_equal(ca_step(&ctx, resp, n, cmd, sizeof cmd, &cmd_len), CA_ERR_BAD_RESPONSE);

    /* Keys that are no keys: a point off the curve, DH only, nothing. */
    char spki_bad[sizeof SPKI_NAMED];
    strcpy(spki_bad, SPKI_NAMED);
    spki_bad[strlen(spki_bad) - 1] = '6';
    make_dg14(&si, spki_buf, spki_bad, 2, false);
    assert_int_equal(ca_begin(&ctx, &si, prng, &seed, NULL, NULL, NULL, cmd, sizeof cmd, &cmd_len),
                     CA_ERR_BAD_KEY);
    make_dg14(&si, spki_buf, SPKI_NAMED, 2, false);
    si.ca[0].ka = PACE_KA_DH;
    assert_int_equal(ca_begin(&ctx, &si, prng, &seed, NULL, NULL, NULL, cmd, sizeof cmd, &cmd_len),
                     CA_ERR_NO_KEY);
    memset(&si, 0, sizeof si);
    assert_int_equal(ca_begin(&ctx, &si, prng, &seed, NULL, NULL, NULL, cmd, sizeof cmd, &cmd_len),
                     CA_ERR_NO_KEY);
    assert_string_equal(ca_err_str(CA_ERR_NO_KEY), "CA_ERR_NO_KEY");
}

static void card_hostile(void **state)
{
    struct security_infos si;
    uint8_t spki_buf[400], cmd[200], resp[16], sk[32];
    size_t n, rlen;
    struct ca_card card;
    make_dg14(&si, spki_buf, SPKI_NAMED, 2, true);
    unhex(SK_IC, sk, sizeof sk);
    assert_int_equal(ca_card_init(&card, &si.ca[0], si.ca_pk[0].spki, si.ca_pk[0].spki_len, sk,
                                  sizeof sk, NULL, NULL),
                     CA_OK);
    /* GENERAL AUTHENTICATE before MSE:Set AT. */
    n = unhex("00860000457C438041" PK_IFD "00", cmd, sizeof cmd);
    assert_int_equal(ca_card_process(&card, cmd, n, resp, sizeof resp, &rlen), CA_ERR_STATE);
    assert_hex(resp, rlen, "6985");
    /* An AES card does not take MSE:Set KAT. */
    n = unhex("002241A6469141" PK_IFD "840101", cmd, sizeof cmd);
    assert_int_equal(ca_card_process(&card, cmd, n, resp, sizeof resp, &rlen), CA_ERR_BAD_COMMAND);
    assert_hex(resp, rlen, "6985");
    /* Another key reference, another OID. */
    n = unhex("002241A40F800A04007F00070202030202840102", cmd, sizeof cmd);
    assert_int_equal(ca_card_process(&card, cmd, n, resp, sizeof resp, &rlen), CA_ERR_NO_KEY);
    assert_hex(resp, rlen, "6A88");
    n = unhex("002241A40F800A04007F00070202030204840101", cmd, sizeof cmd);
    assert_int_equal(ca_card_process(&card, cmd, n, resp, sizeof resp, &rlen), CA_ERR_BAD_COMMAND);
    assert_hex(resp, rlen, "6A88");
    /* A good MSE:Set AT, then a point off the curve. */
    n = unhex("002241A40F800A04007F00070202030202840101", cmd, sizeof cmd);
    assert_int_equal(ca_card_process(&card, cmd, n, resp, sizeof resp, &rlen), CA_OK);
    assert_hex(resp, rlen, "9000");
    n = unhex("00860000457C438041" PK_IFD "00", cmd, sizeof cmd);
    cmd[n - 2] ^= 1;
    assert_int_equal(ca_card_process(&card, cmd, n, resp, sizeof resp, &rlen), CA_ERR_BAD_POINT);
    assert_hex(resp, rlen, "6A80");
    assert_false(ca_card_done(&card));
    /* Truncated 7C. */
    n = unhex("002241A40F800A04007F00070202030202840101", cmd, sizeof cmd);
    assert_int_equal(ca_card_process(&card, cmd, n, resp, sizeof resp, &rlen), CA_OK);
    n = unhex("00860000037C4380", cmd, sizeof cmd);
    assert_int_equal(ca_card_process(&card, cmd, n, resp, sizeof resp, &rlen), CA_ERR_BAD_COMMAND);
    assert_hex(resp, rlen, "6A80");
    /* Good path: the answer is an empty 7C. */
    n = unhex("002241A40F800A04007F00070202030202840101", cmd, sizeof cmd);
    assert_int_equal(ca_card_process(&card, cmd, n, resp, sizeof resp, &rlen), CA_OK);
    n = unhex("00860000457C438041" PK_IFD "00", cmd, sizeof cmd);
    assert_int_equal(ca_card_process(&card, cmd, n, resp, sizeof resp, &rlen), CA_OK);
    assert_hex(resp, rlen, "7C009000");
    struct ca_result res;
    assert_int_equal(ca_card_get_result(&card, &res), CA_OK);
    assert_hex(res.ks_enc, 16, K_AES128_ENC);
    assert_hex(res.ks_mac, 16, K_AES128_MAC);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dg14_from_der),
        cmocka_unit_test(reader_aes_named_curve),
        cmocka_unit_test(reader_aes_kept_curve),
        cmocka_unit_test(reader_aes_explicit_parameters),
        cmocka_unit_test(reader_3des_kat_and_card),
        cmocka_unit_test(loopback_curves),
        cmocka_unit_test(reader_hostile),
        cmocka_unit_test(card_hostile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

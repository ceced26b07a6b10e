#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "hawiya/cardaccess.h"
#include "hawiya/hex.h"
#include "hawiya/ecp_groups.h"
#include "hawiya/pace.h"

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

/* ---- RNGs --------------------------------------------------------------- */

/* Hands out the published random values in order, each request exactly as long. */
struct script_rng {
    const char *values[4];
    size_t next;
};

static int script_rng(void *p, unsigned char *out, size_t len)
{
    struct script_rng *s = p;
    uint8_t buf[128];
    if (s->next >= 4 || s->values[s->next] == NULL)
        return -1;
    size_t n = unhex(s->values[s->next++], buf, sizeof buf);
    if (n != len)
        return -1;
    memcpy(out, buf, n);
    return 0;
}

/* A deterministic stream for blinding and loopback runs (xorshift64*). */
static int prng(void *p, unsigned char *out, size_t len)
{
    uint64_t *x = p;
    for (size_t i = 0; i < len; i++) {
        *x ^= *x >> 12;
        *x ^= *x << 25;
        *x ^= *x >> 27;
        out[i] = (uint8_t)((*x * 0x2545F4914F6CDD1DULL) >> 56);
    }
    return 0;
}

/*
 * ICAO 9303-11 Appendix G.1 (PACE ECDH-GM, brainpoolP256r1, AES-128, MRZ
 * password). The APDUs are those of the worked example as reproduced in
 * the test suite of gmrtd (pace/pace_test.go, TestDoPace_GM_ECDH), the
 * intermediate values those printed in G.1 (also in proxmark3's emrtd
 * self-test and the gmrtd / dmrtd tests).
 */
#define G1_MRZ        "T22000129364081251010318"
#define G1_K_PI       "89DED1B26624EC1E634C1989302849DD"
#define G1_Z          "95A3A016522EE98D01E76CB6B98B42C3"
#define G1_S          "3F00C4D39D153F2B2A214A078D899B22"
#define G1_SK_MAP_IFD "7F4EF07B9EA82FD78AD689B38D0BC78CF21F249D953BC46F4C6E19259C010F99"
#define G1_PK_MAP_IFD                                                                              \
    "047ACF3EFC982EC45565A4B155129EFBC74650DCBFA6362D896FC70262E0C2CC5E"                           \
    "544552DCB6725218799115B55C9BAA6D9F6BC3A9618E70C25AF71777A9C4922D"
#define G1_SK_MAP_IC "498FF49756F2DC1587840041839A85982BE7761D14715FB091EFA7BCE9058560"
#define G1_PK_MAP_IC                                                                               \
    "04824FBA91C9CBE26BEF53A0EBE7342A3BF178CEA9F45DE0B70AA601651FBA3F57"                           \
    "30D8C879AAA9C9F73991E61B58F4D52EB87A0A0C709A49DC63719363CCD13C54"
#define G1_H                                                                                       \
    "0460332EF2450B5D247EF6D3868397D398852ED6E8CAF6FFEEF6BF85CA57057FD5"                           \
    "0840CA7415BAF3E43BD414D35AA4608B93A2CAF3A4E3EA4E82C9C13D03EB7181"
#define G1_G_MAPPED                                                                                \
    "048CED63C91426D4F0EB1435E7CB1D74A46723A0AF21C89634F65A9AE87A9265E2"                           \
    "8C879506743F8611AC33645C5B985C80B5F09A0B83407C1B6A4D857AE76FE522"
#define G1_SK_DH_IFD "A73FB703AC1436A18E0CFA5ABB3F7BEC7A070E7A6788486BEE230C4A22762595"
#define G1_PK_DH_IFD                                                                               \
    "042DB7A64C0355044EC9DF190514C625CBA2CEA48754887122F3A5EF0D5EDD301C"                           \
    "3556F3B3B186DF10B857B58F6A7EB80F20BA5DC7BE1D43D9BF850149FBB36462"
#define G1_SK_DH_IC "107CF58696EF6155053340FD633392BA81909DF7B9706F226F32086C7AFF974A"
#define G1_PK_DH_IC                                                                                \
    "049E880F842905B8B3181F7AF7CAA9F0EFB743847F44A306D2D28C1D9EC65DF6DB"                           \
    "7764B22277A2EDDC3C265A9F018F9CB852E111B768B326904B59A0193776F094"
#define G1_K      "28768D20701247DAE81804C9E780EDE582A9996DB4A315020B2733197DB84925"
#define G1_KS_ENC "F5F0E35C0D7161EE6724EE513A0D9A7F"
#define G1_KS_MAC "FE251C7858B356B24514B3BD5F4297D1"
#define G1_T_IFD  "C2B0BD78D94BA866"
#define G1_T_IC   "3ABB9674BCE93C08"

static const char *const g1_cmds[] = {
    "0022C1A40F800A04007F00070202040202830101", "10860000027C0000",
    "10860000457C438141" G1_PK_MAP_IFD "00",    "10860000457C438341" G1_PK_DH_IFD "00",
    "008600000C7C0A8508" G1_T_IFD "00",
};
static const char *const g1_resps[] = {
    "9000",
    "7C128010" G1_Z "9000",
    "7C438241" G1_PK_MAP_IC "9000",
    "7C438441" G1_PK_DH_IC "9000",
    "7C0A8608" G1_T_IC "9000",
};

static struct pace_info g1_info(void)
{
    struct security_infos si;
    uint8_t buf[32];
    size_t n = unhex("31143012060A04007F0007020204020202010202010D", buf, sizeof buf);
    assert_int_equal(cardaccess_parse(buf, n, &si), CARDACCESS_OK);
    return si.pace[0];
}

/* The reader against the published card responses: every APDU and value. */
static void g1_reader_run(struct ecp_groups *groups)
{
    struct pace ctx;
    struct pace_info info = g1_info();
    struct script_rng rng = {{G1_SK_MAP_IFD, G1_SK_DH_IFD, NULL, NULL}, 0};
    uint64_t blind_seed = 1;
    uint8_t cmd[PACE_APDU_MAX], resp[PACE_APDU_MAX];
    size_t cmd_len, resp_len;
    struct pace_result res;

    assert_int_equal(pace_begin(&ctx, &info, PACE_PASSWORD_MRZ, (const uint8_t *)G1_MRZ,
                                strlen(G1_MRZ), 0, script_rng, &rng, groups, cmd, sizeof cmd,
                                &cmd_len),
                     PACE_OK);
    pace_core_set_blinding_rng(&ctx.c, prng, &blind_seed);
    assert_hex(ctx.c.kpi, 16, G1_K_PI);
    assert_hex(cmd, cmd_len, g1_cmds[0]);

    for (int i = 0; i < 5; i++) {
        resp_len = unhex(g1_resps[i], resp, sizeof resp);
        assert_int_equal(pace_step(&ctx, resp, resp_len, cmd, sizeof cmd, &cmd_len), PACE_OK);
        if (i == 1)
            assert_hex(ctx.c.s, ctx.c.s_len, G1_S); /* decrypted nonce */
        if (i == 2)
            assert_hex(ctx.c.g_mapped, 65, G1_G_MAPPED);
        if (i == 3) {
            assert_hex(ctx.c.ks_enc, 16, G1_KS_ENC);
            assert_hex(ctx.c.ks_mac, 16, G1_KS_MAC);
        }
        if (i < 4)
            assert_hex(cmd, cmd_len, g1_cmds[i + 1]);
    }
    assert_int_equal(cmd_len, 0);
    assert_true(pace_done(&ctx));
    assert_int_equal(pace_get_result(&ctx, &res), PACE_OK);
    assert_int_equal(res.cipher, ICAO_AES128);
    assert_int_equal(res.key_len, 16);
    assert_hex(res.ks_enc, 16, G1_KS_ENC);
    assert_hex(res.ks_mac, 16, G1_KS_MAC);
    assert_hex(res.pk_ic, res.pk_ic_len, G1_PK_DH_IC);
    /* Everything secret is gone once done. */
    static const uint8_t zero[PACE_MAX_FIELD_LEN];
    assert_memory_equal(ctx.c.kpi, zero, sizeof ctx.c.kpi);
    assert_memory_equal(ctx.c.sk, zero, sizeof ctx.c.sk);
    assert_memory_equal(ctx.c.s, zero, sizeof ctx.c.s);
    assert_int_equal(pace_step(&ctx, resp, resp_len, cmd, sizeof cmd, &cmd_len), PACE_ERR_STATE);
    pace_wipe(&ctx);
    assert_false(pace_done(&ctx));
}

static void appendix_g1_reader(void **state)
{
    g1_reader_run(NULL);
}

/* The same values with the curve kept between sessions (hawiya/ecp_groups.h):
 * the first session loads brainpoolP256r1, the next ones use its table of G. */
static void appendix_g1_reader_kept_curve(void **state)
{
    struct ecp_groups groups;
    ecp_groups_init(&groups);
    for (int i = 0; i < 3; i++)
        g1_reader_run(&groups);
    assert_int_equal(groups.n, 1);
    assert_int_equal(groups.g[0].id, MBEDTLS_ECP_DP_BP256R1);
    ecp_groups_free(&groups);
}

/* The card side fed the published commands answers the published responses. */
static void appendix_g1_card(void **state)
{
    struct pace_info info = g1_info();
    struct script_rng rng = {{G1_S, G1_SK_MAP_IC, G1_SK_DH_IC, NULL}, 0};
    uint64_t blind_seed = 2;
    struct pace_card_config cfg = {
        .infos = &info,
        .n_infos = 1,
        .mrz_info = (const uint8_t *)G1_MRZ,
        .mrz_info_len = strlen(G1_MRZ),
        .rng = script_rng,
        .rng_ctx = &rng,
    };
    struct pace_card card;
    uint8_t cmd[PACE_APDU_MAX], resp[PACE_APDU_MAX];
    size_t cmd_len, resp_len;
    struct pace_result res;

    pace_card_init(&card, &cfg);
    pace_core_set_blinding_rng(&card.c, prng, &blind_seed);
    for (int i = 0; i < 5; i++) {
        cmd_len = unhex(g1_cmds[i], cmd, sizeof cmd);
        assert_int_equal(pace_card_process(&card, cmd, cmd_len, resp, sizeof resp, &resp_len),
                         PACE_OK);
        assert_hex(resp, resp_len, g1_resps[i]);
        if (i == 0)
            assert_hex(card.c.kpi, 16, G1_K_PI);
        if (i == 2)
            assert_hex(card.c.g_mapped, 65, G1_G_MAPPED);
    }
    assert_true(pace_card_done(&card));
    assert_int_equal(pace_card_get_result(&card, &res), PACE_OK);
    assert_hex(res.ks_enc, 16, G1_KS_ENC);
    assert_hex(res.ks_mac, 16, G1_KS_MAC);
    assert_hex(res.pk_ic, res.pk_ic_len, G1_PK_DH_IC);
    pace_card_wipe(&card);
    assert_false(pace_card_done(&card));
}

/* The Generic Mapping and key agreement primitives, value by value (G.1). */
static void appendix_g1_primitives(void **state)
{
    uint8_t s[16], sk[32], pk[65], h[65], gm[65], k[32];
    unhex(G1_S, s, sizeof s);
    unhex(G1_SK_MAP_IFD, sk, sizeof sk);
    unhex(G1_PK_MAP_IC, pk, sizeof pk);
    assert_int_equal(pace_ecdh_gm_map(PACE_PARAM_BP256R1, s, sizeof s, sk, pk, sizeof pk, h, gm),
                     PACE_OK);
    assert_hex(h, 65, G1_H);
    assert_hex(gm, 65, G1_G_MAPPED);
    /* The card's view: its SK_map and our PK_map give the same H and G~. */
    unhex(G1_SK_MAP_IC, sk, sizeof sk);
    unhex(G1_PK_MAP_IFD, pk, sizeof pk);
    assert_int_equal(pace_ecdh_gm_map(PACE_PARAM_BP256R1, s, sizeof s, sk, pk, sizeof pk, h, gm),
                     PACE_OK);
    assert_hex(h, 65, G1_H);
    assert_hex(gm, 65, G1_G_MAPPED);

    unhex(G1_SK_DH_IFD, sk, sizeof sk);
    assert_int_equal(pace_ecdh_public(PACE_PARAM_BP256R1, gm, sk, pk), PACE_OK);
    assert_hex(pk, 65, G1_PK_DH_IFD);
    unhex(G1_SK_DH_IC, sk, sizeof sk);
    assert_int_equal(pace_ecdh_public(PACE_PARAM_BP256R1, gm, sk, pk), PACE_OK);
    assert_hex(pk, 65, G1_PK_DH_IC);
    unhex(G1_PK_DH_IFD, pk, sizeof pk);
    assert_int_equal(pace_ecdh_shared_x(PACE_PARAM_BP256R1, sk, pk, sizeof pk, k), PACE_OK);
    assert_hex(k, 32, G1_K);
}

/*
 * A New Zealand passport, PACE-ECDH-GM-3DES on brainpoolP256r1, MRZ
 * LM277954 / 781214 / 271115: APDUs and session keys from the trace in
 * gmrtd's tests (pace/pace_test.go). Checks the 3DES path: a 16-byte nonce
 * in two DES blocks and retail-MAC tokens.
 */
static void nz_passport_3des_trace(void **state)
{
    static const char *const cmds[] = {
        "0022C1A40F800A04007F00070202040201830101",
        "10860000027c0000",
        "10860000457c438141047706b2b6246ab4612229b8a11212ddba7fea0568c9c0975dee22c0e3dd3a3f0321"
        "e8afee836e373b570d24000d56fb195104d486e63321ff8c819dd5ee018dcb00",
        "10860000457c43834104507a0156efae8fb8acc519036c0b2fe0393c878744c7f91878ee4e07a41412ba5c"
        "0753d68a44a91e9f57f3f992ab689e6c2065d3b2a27c3658a4fd632931ee3800",
        "008600000c7c0a85088d7c617d43efe09e00",
    };
    static const char *const resps[] = {
        "9000",
        "7c128010b88382812290017af1cc906ff00e7f4d9000",
        "7c43824104780b4edec9b926f9f964fad826d9990a667608d96ba7b397ae8609b6533e0d036d148365ddf4"
        "e5ff6611c2b62aa17fc9899f327bc929db543e7abd0ee724e4be9000",
        "7c438441042dbaf62e6fdfb31eb66f206493b9e7721586f0e5c93754d7bd5a884ca251ee4d720ab539a605"
        "61bc46812fa289b58ac69f0c6e32adbaf7241049a31211f80f5b9000",
        "7c0a8608cb57047c809079f69000",
    };
    /* Check digits 1, 5, 1 (9303-3 §4.9). */
    static const char mrz[] = "LM277954<178121452711151";
    struct security_infos si;
    uint8_t buf[PACE_APDU_MAX], cmd[PACE_APDU_MAX];
    size_t n, cmd_len;
    struct script_rng rng = {{"2808272c0ec20e01a3450030ef32855e9feb5cb17719e985389b1cf47609e69f",
                              "8f89449052df6c7983750c7b042c3cea12b36819174424c7cd28153f7b70b402",
                              NULL, NULL},
                             0};
    uint64_t blind_seed = 3;
    struct pace ctx;
    struct pace_result res;

    n = unhex("31143012060a04007f0007020204020102010202010d", buf, sizeof buf);
    assert_int_equal(cardaccess_parse(buf, n, &si), CARDACCESS_OK);
    assert_int_equal(pace_begin(&ctx, &si.pace[0], PACE_PASSWORD_MRZ, (const uint8_t *)mrz,
                                strlen(mrz), 0, script_rng, &rng, NULL, cmd, sizeof cmd, &cmd_len),
                     PACE_OK);
    pace_core_set_blinding_rng(&ctx.c, prng, &blind_seed);
    assert_hex(cmd, cmd_len, cmds[0]);
    for (int i = 0; i < 5; i++) {
        n = unhex(resps[i], buf, sizeof buf);
        assert_int_equal(pace_step(&ctx, buf, n, cmd, sizeof cmd, &cmd_len), PACE_OK);
        if (i < 4)
            assert_hex(cmd, cmd_len, cmds[i + 1]);
    }
    assert_int_equal(pace_get_result(&ctx, &res), PACE_OK);
    assert_int_equal(res.cipher, ICAO_3DES);
    assert_hex(res.ks_enc, 16, "430e4c8c38dfefaed92067b919a897f8");
    assert_hex(res.ks_mac, 16, "c1bc1f075797b970b5a45e64a764b0cb");
}

/* ---- loopback ----------------------------------------------------------- */

struct run {
    enum pace_err reader, card;
    uint16_t sw;
    struct pace_result r_res, c_res;
};

static void loopback(const struct pace_info *info, enum pace_password type, const char *reader_pw,
                     const char *card_mrz, const char *card_can, uint64_t seed, struct run *out)
{
    struct pace ctx;
    struct pace_card card;
    uint64_t r_seed = seed, c_seed = seed ^ 0x9E3779B97F4A7C15ULL;
    struct pace_card_config cfg = {
        .infos = info,
        .n_infos = 1,
        .mrz_info = (const uint8_t *)card_mrz,
        .mrz_info_len = strlen(card_mrz),
        .can = (const uint8_t *)card_can,
        .can_len = strlen(card_can),
        .rng = prng,
        .rng_ctx = &c_seed,
    };
    uint8_t cmd[PACE_APDU_MAX], resp[PACE_APDU_MAX];
    size_t cmd_len, resp_len;

    memset(out, 0, sizeof *out);
    pace_card_init(&card, &cfg);
    out->reader =
        pace_begin(&ctx, info, type, (const uint8_t *)reader_pw, strlen(reader_pw),
                   PACE_FLAG_SEND_PARAMETER_ID, prng, &r_seed, NULL, cmd, sizeof cmd, &cmd_len);
    while (out->reader == PACE_OK && cmd_len > 0) {
        out->card = pace_card_process(&card, cmd, cmd_len, resp, sizeof resp, &resp_len);
        out->reader = pace_step(&ctx, resp, resp_len, cmd, sizeof cmd, &cmd_len);
        out->sw = ctx.sw;
    }
    if (out->reader == PACE_OK) {
        assert_int_equal(pace_get_result(&ctx, &out->r_res), PACE_OK);
        assert_int_equal(pace_card_get_result(&card, &out->c_res), PACE_OK);
    }
    pace_wipe(&ctx);
    pace_card_wipe(&card);
}

static void loopback_every_curve_and_cipher(void **state)
{
    static const uint32_t params[] = {
        PACE_PARAM_SECP192R1, PACE_PARAM_SECP224R1, PACE_PARAM_SECP256R1, PACE_PARAM_BP256R1,
        PACE_PARAM_SECP384R1, PACE_PARAM_BP384R1,   PACE_PARAM_BP512R1,   PACE_PARAM_SECP521R1,
    };
    static const enum icao_cipher ciphers[] = {ICAO_3DES, ICAO_AES128, ICAO_AES192, ICAO_AES256};
    struct pace_info info = g1_info();
    uint64_t seed = 42;
    int runs = 0;
    for (size_t p = 0; p < sizeof params / sizeof params[0]; p++) {
        for (size_t c = 0; c < 4; c++) {
            struct run r;
            info.parameter_id = params[p];
            info.cipher = ciphers[c];
            info.oid[9] = (uint8_t)(c + 1); /* id-PACE-ECDH-GM-3DES / -AES-128 / 192 / 256 */
            assert_true(pace_info_supported(&info));
            /* Alternate the password types; the SECP256R1 runs use both. */
            enum pace_password t = (p + c) % 2 ? PACE_PASSWORD_CAN : PACE_PASSWORD_MRZ;
            for (int twice = 0; twice < (params[p] == PACE_PARAM_SECP256R1 ? 2 : 1); twice++) {
                if (twice)
                    t = t == PACE_PASSWORD_CAN ? PACE_PASSWORD_MRZ : PACE_PASSWORD_CAN;
                loopback(&info, t, t == PACE_PASSWORD_CAN ? "123456" : G1_MRZ, G1_MRZ, "123456",
                         seed++, &r);
                assert_int_equal(r.reader, PACE_OK);
                assert_int_equal(r.card, PACE_OK);
                assert_int_equal(r.r_res.key_len, icao_key_len(ciphers[c]));
                assert_memory_equal(&r.r_res, &r.c_res, sizeof r.r_res);
                assert_int_equal(r.r_res.pk_ic_len, 1 + 2 * ((pace_param_bits(params[p]) + 7) / 8));
                runs++;
            }
        }
    }
    assert_int_equal(runs, 36);
}

/* A wrong CAN: the card refuses T_IFD with 63 00, both sides name it. */
static void wrong_can(void **state)
{
    struct pace_info info = g1_info();
    struct run r;
    loopback(&info, PACE_PASSWORD_CAN, "123457", G1_MRZ, "123456", 7, &r);
    assert_int_equal(r.card, PACE_ERR_TOKEN_MISMATCH);
    assert_int_equal(r.reader, PACE_ERR_TOKEN_REJECTED);
    assert_int_equal(r.sw, 0x6300);
    assert_string_equal(pace_err_str(r.reader), "PACE_ERR_TOKEN_REJECTED");
    /* A wrong MRZ the same way. */
    loopback(&info, PACE_PASSWORD_MRZ, "T22000129364081251010319", G1_MRZ, "123456", 8, &r);
    assert_int_equal(r.reader, PACE_ERR_TOKEN_REJECTED);
    /* A card without a CAN answers 6A88 to MSE:Set AT. */
    loopback(&info, PACE_PASSWORD_CAN, "123456", G1_MRZ, "", 9, &r);
    assert_int_equal(r.card, PACE_ERR_PASSWORD);
    assert_int_equal(r.reader, PACE_ERR_SW);
    assert_int_equal(r.sw, 0x6A88);
}

/*
 * ICAO 9303-11 Appendix G.2 (Appendix H in earlier editions): PACE DH-GM on
 * the 1024-bit MODP group with 160-bit subgroup (parameterId 0), AES-128,
 * MRZ password of G.1. Values as reproduced in public test suites
 * (animamea's PaceDHTest, dmrtd's DH PACE tests).
 */
#define G2_Z          "854D8DF5827FA6852D1A4FA701CDDDCA"
#define G2_S          "FA5B7E3E49753A0DB9178B7B9BD898C8"
#define G2_SK_MAP_IFD "5265030F751F4AD18B08AC565FC7AC952E41618D"
#define G2_SK_MAP_IC  "66DDAFEAC1609CB5B963BB0CB3FF8B3E047F336C"
#define G2_PK_MAP_IFD                                                                              \
    "23FB3749EA030D2A25B278D2A562047ADE3F01B74F17A15402CB7352CA7D2B3E"                             \
    "B71C343DB13D1DEBCE9A3666DBCFC920B49174A602CB47965CAA73DC702489A4"                             \
    "4D41DB914DE9613DC5E98C94160551C0DF86274B9359BC0490D01B03AD54022D"                             \
    "CB4F57FAD6322497D7A1E28D46710F461AFE710FBBBC5F8BA166F4311975EC6C"
#define G2_PK_MAP_IC                                                                               \
    "78879F57225AA8080D52ED0FC890A4B25336F699AA89A2D3A189654AF70729E6"                             \
    "23EA5738B26381E4DA19E004706FACE7B235C2DBF2F38748312F3C98C2DD4882"                             \
    "A41947B324AA1259AC22579DB93F7085655AF30889DBB845D9E6783FE42C9F24"                             \
    "49400306254C8AE8EE9DD812A804C0B66E8CAFC14F84D8258950A91B44126EE6"
#define G2_G_MAPPED                                                                                \
    "7C9CBFE98F9FBDDA8D143506FA7D9306F4CB17E3C71707AFF5E1C1A123702496"                             \
    "84D64EE37AF44B8DBD9D45BF6023919CBAA027AB97ACC771666C8E98FF483301"                             \
    "BFA4872DEDE9034EDFACB70814166B7F360676829B826BEA57291B5AD69FBC84"                             \
    "EF1E779032A305803F74341793E869742D401325B37EE8565FFCDEE618342DC5"
#define G2_SK_DH_IFD "89CCD99B0E8D3B1F11E1296DCA68EC53411CF2CA"
#define G2_SK_DH_IC  "A5B780126B7C980E9FCEA1D4539DA1D27C342DFA"
#define G2_PK_DH_IFD                                                                               \
    "907D89E2D425A178AA81AF4A7774EC8E388C115CAE67031E85EECE520BD91155"                             \
    "1B9AE4D04369F29A02626C86FBC6747CC7BC352645B6161A2A42D44EDA80A08F"                             \
    "A8D61B76D3A154AD8A5A51786B0BC07147057871A922212C5F67F43173172236"                             \
    "B7747D1671E6D692A3C7D40A0C3C5CE397545D015C175EB5130551EDBC2EE5D4"
#define G2_PK_DH_IC                                                                                \
    "075693D9AE941877573E634B6E644F8E60AF17A0076B8B123D9201074D36152B"                             \
    "D8B3A213F53820C42ADC79AB5D0AEEC3AEFB91394DA476BD97B9B14D0A65C1FC"                             \
    "71A0E019CB08AF55E1F729005FBA7E3FA5DC41899238A250767A6D46DB974064"                             \
    "386CD456743585F8E5D90CC8B4004B1F6D866C79CE0584E49687FF61BC29AEA1"
#define G2_KS_ENC "2F7F46ADCC9E7E521B45D192FAFA9126"
#define G2_KS_MAC "805A1D27D45A5116F73C54469462B7D8"
#define G2_T_IFD  "B46DD9BD4D98381F"
#define G2_T_IC   "917F37B5C0E6D8D1"

static const char *const g2_cmds[] = {
    "0022C1A40F800A04007F00070202040102830101",  "10860000027C0000",
    "10860000867C8183818180" G2_PK_MAP_IFD "00", "10860000867C8183838180" G2_PK_DH_IFD "00",
    "008600000C7C0A8508" G2_T_IFD "00",
};
static const char *const g2_resps[] = {
    "9000",
    "7C128010" G2_Z "9000",
    "7C8183828180" G2_PK_MAP_IC "9000",
    "7C8183848180" G2_PK_DH_IC "9000",
    "7C0A8608" G2_T_IC "9000",
};

static struct pace_info g2_info(void)
{
    struct security_infos si;
    uint8_t buf[32];
    size_t n = unhex("31143012060A04007F00070202040102020102020100", buf, sizeof buf);
    assert_int_equal(cardaccess_parse(buf, n, &si), CARDACCESS_OK);
    assert_true(pace_info_supported(&si.pace[0]));
    return si.pace[0];
}

static void appendix_g2_dh_reader(void **state)
{
    struct pace ctx;
    struct pace_info info = g2_info();
    struct script_rng rng = {{G2_SK_MAP_IFD, G2_SK_DH_IFD, NULL, NULL}, 0};
    uint8_t cmd[PACE_APDU_MAX], resp[PACE_APDU_MAX];
    size_t cmd_len, resp_len;
    struct pace_result res;

    assert_int_equal(pace_begin(&ctx, &info, PACE_PASSWORD_MRZ, (const uint8_t *)G1_MRZ,
                                strlen(G1_MRZ), 0, script_rng, &rng, NULL, cmd, sizeof cmd,
                                &cmd_len),
                     PACE_OK);
    assert_hex(ctx.c.kpi, 16, G1_K_PI);
    assert_hex(cmd, cmd_len, g2_cmds[0]);
    for (int i = 0; i < 5; i++) {
        resp_len = unhex(g2_resps[i], resp, sizeof resp);
        assert_int_equal(pace_step(&ctx, resp, resp_len, cmd, sizeof cmd, &cmd_len), PACE_OK);
        if (i == 1)
            assert_hex(ctx.c.s, ctx.c.s_len, G2_S);
        if (i == 2)
            assert_hex(ctx.c.g_mapped, 128, G2_G_MAPPED);
        if (i < 4)
            assert_hex(cmd, cmd_len, g2_cmds[i + 1]);
    }
    assert_true(pace_done(&ctx));
    assert_int_equal(pace_get_result(&ctx, &res), PACE_OK);
    assert_hex(res.ks_enc, 16, G2_KS_ENC);
    assert_hex(res.ks_mac, 16, G2_KS_MAC);
    assert_hex(res.pk_ic, res.pk_ic_len, G2_PK_DH_IC);
}

static void appendix_g2_dh_card(void **state)
{
    struct pace_info info = g2_info();
    struct script_rng rng = {{G2_S, G2_SK_MAP_IC, G2_SK_DH_IC, NULL}, 0};
    struct pace_card_config cfg = {
        .infos = &info,
        .n_infos = 1,
        .mrz_info = (const uint8_t *)G1_MRZ,
        .mrz_info_len = strlen(G1_MRZ),
        .rng = script_rng,
        .rng_ctx = &rng,
    };
    struct pace_card card;
    uint8_t cmd[PACE_APDU_MAX], resp[PACE_APDU_MAX];
    size_t cmd_len, resp_len;
    pace_card_init(&card, &cfg);
    for (int i = 0; i < 5; i++) {
        cmd_len = unhex(g2_cmds[i], cmd, sizeof cmd);
        assert_int_equal(pace_card_process(&card, cmd, cmd_len, resp, sizeof resp, &resp_len),
                         PACE_OK);
        assert_hex(resp, resp_len, g2_resps[i]);
    }
    assert_true(pace_card_done(&card));
}

/* DH values the reader must refuse: 1, p-1, 2 (outside the order-q subgroup), short. */
static void dh_hostile_values(void **state)
{
    struct pace ctx;
    struct pace_info info = g2_info();
    char bad[600];
    static const char *const values[] = {
        "0000000000000000000000000000000000000000000000000000000000000000"
        "0000000000000000000000000000000000000000000000000000000000000000"
        "0000000000000000000000000000000000000000000000000000000000000000"
        "0000000000000000000000000000000000000000000000000000000000000001",
        /* p - 1 (RFC 5114 §2.1) */
        "B10B8F96A080E01DDE92DE5EAE5D54EC52C99FBCFB06A3C69A6A9DCA52D23B61"
        "6073E28675A23D189838EF1E2EE652C013ECB4AEA906112324975C3CD49B83BF"
        "ACCBDD7D90C4BD7098488E9C219A73724EFFD6FAE5644738FAA31A4FF55BCCC0"
        "A151AF5F0DC8B4BD45BF37DF365C1A65E68CFDA76D4DA708DF1FB2BC2E4A4370",
        "0000000000000000000000000000000000000000000000000000000000000000"
        "0000000000000000000000000000000000000000000000000000000000000000"
        "0000000000000000000000000000000000000000000000000000000000000000"
        "0000000000000000000000000000000000000000000000000000000000000002",
    };
    for (int v = 0; v < 4; v++) {
        struct script_rng rng = {{G2_SK_MAP_IFD, G2_SK_DH_IFD, NULL, NULL}, 0};
        uint8_t cmd[PACE_APDU_MAX], resp[PACE_APDU_MAX];
        size_t cmd_len, resp_len;
        assert_int_equal(pace_begin(&ctx, &info, PACE_PASSWORD_MRZ, (const uint8_t *)G1_MRZ,
                                    strlen(G1_MRZ), 0, script_rng, &rng, NULL, cmd, sizeof cmd,
                                    &cmd_len),
                         PACE_OK);
        for (int i = 0; i < 2; i++) {
            resp_len = unhex(g2_resps[i], resp, sizeof resp);
            assert_int_equal(pace_step(&ctx, resp, resp_len, cmd, sizeof cmd, &cmd_len), PACE_OK);
        }
        if (v < 3) {
            strcpy(bad, "7C8183828180");
            strcat(bad, values[v]);
        } else {
            /* 127 bytes: one short of p. */
            strcpy(bad, "7C818282817F");
            strncat(bad, G2_PK_MAP_IC, 254);
        }
        strcat(bad, "9000");
        resp_len = unhex(bad, resp, sizeof resp);
        assert_int_equal(pace_step(&ctx, resp, resp_len, cmd, sizeof cmd, &cmd_len),
                         PACE_ERR_BAD_POINT);
    }
}

static void loopback_dh(void **state)
{
    struct pace_info info = g2_info();
    static const enum icao_cipher ciphers[] = {ICAO_3DES, ICAO_AES128, ICAO_AES192, ICAO_AES256};
    for (uint32_t pid = 0; pid <= 2; pid++) {
        for (size_t c = 0; c < 4; c += (pid ? 3 : 1)) {
            struct run r;
            info.parameter_id = pid;
            info.cipher = ciphers[c];
            info.oid[9] = (uint8_t)(c + 1);
            loopback(&info, c % 2 ? PACE_PASSWORD_CAN : PACE_PASSWORD_MRZ,
                     c % 2 ? "123456" : G1_MRZ, G1_MRZ, "123456", 1000 + pid * 10 + c, &r);
            assert_int_equal(r.reader, PACE_OK);
            assert_int_equal(r.card, PACE_OK);
            assert_memory_equal(&r.r_res, &r.c_res, sizeof r.r_res);
            assert_int_equal(r.r_res.pk_ic_len, pid ? 256 : 128);
        }
    }
    struct run r;
    info.parameter_id = 1;
    loopback(&info, PACE_PASSWORD_CAN, "654321", G1_MRZ, "123456", 77, &r);
    assert_int_equal(r.reader, PACE_ERR_TOKEN_REJECTED);
    assert_int_equal(r.card, PACE_ERR_TOKEN_MISMATCH);
}

/* ---- hostile card responses --------------------------------------------- */

/* Runs the G.1 reader with response i replaced by `bad`; returns the error. */
static enum pace_err g1_with_bad_response(int at, const char *bad, uint16_t *sw)
{
    struct pace ctx;
    struct pace_info info = g1_info();
    struct script_rng rng = {{G1_SK_MAP_IFD, G1_SK_DH_IFD, NULL, NULL}, 0};
    uint64_t blind_seed = 5;
    uint8_t cmd[PACE_APDU_MAX], resp[PACE_APDU_MAX];
    size_t cmd_len, resp_len;
    enum pace_err e =
        pace_begin(&ctx, &info, PACE_PASSWORD_MRZ, (const uint8_t *)G1_MRZ, strlen(G1_MRZ), 0,
                   script_rng, &rng, NULL, cmd, sizeof cmd, &cmd_len);
    assert_int_equal(e, PACE_OK);
    pace_core_set_blinding_rng(&ctx.c, prng, &blind_seed);
    for (int i = 0; i <= at; i++) {
        resp_len = unhex(i == at ? bad : g1_resps[i], resp, sizeof resp);
        e = pace_step(&ctx, resp, resp_len, cmd, sizeof cmd, &cmd_len);
        if (i < at)
            assert_int_equal(e, PACE_OK);
    }
    *sw = ctx.sw;
    if (e != PACE_OK) {
        /* A failed session is over and holds no secret. */
        static const uint8_t zero[PACE_MAX_FIELD_LEN];
        assert_int_equal(cmd_len, 0);
        assert_memory_equal(ctx.c.sk, zero, sizeof ctx.c.sk);
        assert_memory_equal(ctx.c.kpi, zero, sizeof ctx.c.kpi);
        assert_int_equal(pace_step(&ctx, resp, resp_len, cmd, sizeof cmd, &cmd_len),
                         PACE_ERR_STATE);
    }
    return e;
}

static void hostile_responses(void **state)
{
    uint16_t sw;
    /* Status words, by step. */
    assert_int_equal(g1_with_bad_response(0, "6A80", &sw), PACE_ERR_SW);
    assert_int_equal(sw, 0x6A80);
    assert_int_equal(g1_with_bad_response(2, "6982", &sw), PACE_ERR_SW);
    assert_int_equal(sw, 0x6982);
    assert_int_equal(g1_with_bad_response(4, "6300", &sw), PACE_ERR_TOKEN_REJECTED);
    assert_int_equal(g1_with_bad_response(0, "90", &sw), PACE_ERR_BAD_RESPONSE);
    assert_int_equal(g1_with_bad_response(0, "019000", &sw), PACE_ERR_BAD_RESPONSE);
    /* Wrong tags. */
    assert_int_equal(g1_with_bad_response(1, "7D128010" G1_Z "9000", &sw), PACE_ERR_BAD_TAG);
    assert_int_equal(g1_with_bad_response(1, "7C128110" G1_Z "9000", &sw), PACE_ERR_BAD_TAG);
    assert_int_equal(g1_with_bad_response(2, "7C438441" G1_PK_MAP_IC "9000", &sw),
                     PACE_ERR_BAD_TAG);
    assert_int_equal(g1_with_bad_response(1, "7C008010" G1_Z "9000", &sw), PACE_ERR_BAD_LENGTH);
    assert_int_equal(
        g1_with_bad_response(1, "7C14801095A3A016522EE98D01E76CB6B98B42C300009000", &sw),
        PACE_ERR_BAD_TAG);
    /* Truncated 7C objects and lengths that overrun. */
    assert_int_equal(g1_with_bad_response(1, "7C9000", &sw), PACE_ERR_BAD_LENGTH);
    /* No data at all (found by fuzz_pace: NULL data pointer arithmetic). */
    assert_int_equal(g1_with_bad_response(1, "9000", &sw), PACE_ERR_BAD_LENGTH);
    assert_int_equal(g1_with_bad_response(1, "7C13801095A3A016522EE98D01E76CB6B98B42C39000", &sw),
                     PACE_ERR_BAD_LENGTH);
    assert_int_equal(g1_with_bad_response(1, "7C12801195A3A016522EE98D01E76CB6B98B42C39000", &sw),
                     PACE_ERR_BAD_LENGTH);
    assert_int_equal(g1_with_bad_response(1, "7C128010" G1_Z "009000", &sw), PACE_ERR_BAD_LENGTH);
    assert_int_equal(g1_with_bad_response(1, "7C85009000", &sw), PACE_ERR_BAD_LENGTH);
    assert_int_equal(g1_with_bad_response(2, "7C4382419000", &sw), PACE_ERR_BAD_LENGTH);
    /* Nonces that are not whole AES blocks, or too long. */
    assert_int_equal(g1_with_bad_response(1, "7C11800F95A3A016522EE98D01E76CB6B98B429000", &sw),
                     PACE_ERR_BAD_NONCE);
    assert_int_equal(g1_with_bad_response(1, "7C0280009000", &sw), PACE_ERR_BAD_NONCE);
    assert_int_equal(g1_with_bad_response(1, "7C328030" G1_Z G1_Z G1_Z "9000", &sw),
                     PACE_ERR_BAD_NONCE);
    /* Bad points: off the curve, compressed, the identity, short, x >= p. */
    assert_int_equal(g1_with_bad_response(2,
                                          "7C438241"
                                          "04824FBA91C9CBE26BEF53A0EBE7342A3BF178CEA9F45DE0B70AA6"
                                          "01651FBA3F5730D8C879AAA9C9F73991E61B58F4D52EB87A0A0C70"
                                          "9A49DC63719363CCD13C55"
                                          "9000",
                                          &sw),
                     PACE_ERR_BAD_POINT);
    assert_int_equal(g1_with_bad_response(2,
                                          "7C438241"
                                          "02824FBA91C9CBE26BEF53A0EBE7342A3BF178CEA9F45DE0B70AA6"
                                          "01651FBA3F5730D8C879AAA9C9F73991E61B58F4D52EB87A0A0C70"
                                          "9A49DC63719363CCD13C54"
                                          "9000",
                                          &sw),
                     PACE_ERR_BAD_POINT);
    assert_int_equal(g1_with_bad_response(2,
                                          "7C03820100"
                                          "9000",
                                          &sw),
                     PACE_ERR_BAD_POINT);
    assert_int_equal(g1_with_bad_response(2,
                                          "7C238221"
                                          "02824FBA91C9CBE26BEF53A0EBE7342A3BF178CEA9F45DE0B70AA6"
                                          "01651FBA3F57"
                                          "9000",
                                          &sw),
                     PACE_ERR_BAD_POINT);
    /* x = p of brainpoolP256r1 (RFC 5639 §3.4), any y. */
    assert_int_equal(
        g1_with_bad_response(2,
                             "7C438241"
                             "04A9FB57DBA1EEA9BC3E660A909D838D726E3BF623D52620282013481D1F6E5377"
                             "30D8C879AAA9C9F73991E61B58F4D52EB87A0A0C709A49DC63719363CCD13C54"
                             "9000",
                             &sw),
        PACE_ERR_BAD_POINT);
    assert_int_equal(
        g1_with_bad_response(3,
                             "7C438441"
                             "049E880F842905B8B3181F7AF7CAA9F0EFB743847F44A306D2D28C1D9EC65DF6DB"
                             "7764B22277A2EDDC3C265A9F018F9CB852E111B768B326904B59A0193776F095"
                             "9000",
                             &sw),
        PACE_ERR_BAD_POINT);
    /* The card echoes our ephemeral key. */
    assert_int_equal(g1_with_bad_response(3, "7C438441" G1_PK_DH_IFD "9000", &sw),
                     PACE_ERR_ECHOED_KEY);
    /* A wrong, short or long T_IC. */
    assert_int_equal(g1_with_bad_response(4, "7C0A86083ABB9674BCE93C099000", &sw),
                     PACE_ERR_TOKEN_MISMATCH);
    assert_int_equal(g1_with_bad_response(4, "7C0986073ABB9674BCE93C9000", &sw),
                     PACE_ERR_BAD_LENGTH);
    assert_int_equal(g1_with_bad_response(4, "7C0B86093ABB9674BCE93C08009000", &sw),
                     PACE_ERR_BAD_LENGTH);
    /* Data after the token: EAC's 87 is tolerated, anything else is not. */
    assert_int_equal(g1_with_bad_response(4,
                                          "7C0E86083ABB9674BCE93C0887020102"
                                          "9000",
                                          &sw),
                     PACE_OK);
    assert_int_equal(g1_with_bad_response(4,
                                          "7C0E86083ABB9674BCE93C0899020102"
                                          "9000",
                                          &sw),
                     PACE_ERR_BAD_TAG);
    /* Data in the answer to MSE:Set AT. */
    assert_int_equal(g1_with_bad_response(0, "019000", &sw), PACE_ERR_BAD_RESPONSE);
}

/* The card side refuses malformed and out-of-order commands with a SW. */
static void card_rejects_bad_commands(void **state)
{
    struct pace_info info = g1_info();
    uint64_t seed = 11;
    struct pace_card_config cfg = {
        .infos = &info,
        .n_infos = 1,
        .mrz_info = (const uint8_t *)G1_MRZ,
        .mrz_info_len = strlen(G1_MRZ),
        .rng = prng,
        .rng_ctx = &seed,
    };
    struct pace_card card;
    uint8_t cmd[PACE_APDU_MAX], resp[PACE_APDU_MAX];
    size_t n, rlen;
    pace_card_init(&card, &cfg);

    /* GENERAL AUTHENTICATE before MSE:Set AT. */
    n = unhex("10860000027C0000", cmd, sizeof cmd);
    assert_int_equal(pace_card_process(&card, cmd, n, resp, sizeof resp, &rlen), PACE_ERR_STATE);
    assert_hex(resp, rlen, "6985");
    /* An unknown protocol OID, an unknown password, a stray tag, wrong P1-P2. */
    n = unhex("0022C1A40F800A04007F00070202040203830101", cmd, sizeof cmd);
    assert_int_equal(pace_card_process(&card, cmd, n, resp, sizeof resp, &rlen),
                     PACE_ERR_UNSUPPORTED);
    assert_hex(resp, rlen, "6A88");
    n = unhex("0022C1A40F800A04007F00070202040202830102", cmd, sizeof cmd);
    assert_int_equal(pace_card_process(&card, cmd, n, resp, sizeof resp, &rlen), PACE_ERR_PASSWORD);
    assert_hex(resp, rlen, "6A88");
    n = unhex("0022C1A412800A04007F00070202040202830101990100", cmd, sizeof cmd);
    assert_int_equal(pace_card_process(&card, cmd, n, resp, sizeof resp, &rlen),
                     PACE_ERR_BAD_COMMAND);
    assert_hex(resp, rlen, "6A80");
    n = unhex("0022C1A60F800A04007F00070202040202830101", cmd, sizeof cmd);
    assert_int_equal(pace_card_process(&card, cmd, n, resp, sizeof resp, &rlen),
                     PACE_ERR_BAD_COMMAND);
    assert_hex(resp, rlen, "6A86");
    n = unhex("00A4040C", cmd, sizeof cmd);
    assert_int_equal(pace_card_process(&card, cmd, n, resp, sizeof resp, &rlen),
                     PACE_ERR_BAD_COMMAND);
    assert_hex(resp, rlen, "6D00");

    /* A good start, then the mapping step without chaining, then a bad point. */
    n = unhex(g1_cmds[0], cmd, sizeof cmd);
    assert_int_equal(pace_card_process(&card, cmd, n, resp, sizeof resp, &rlen), PACE_OK);
    assert_hex(resp, rlen, "9000");
    n = unhex(g1_cmds[1], cmd, sizeof cmd);
    assert_int_equal(pace_card_process(&card, cmd, n, resp, sizeof resp, &rlen), PACE_OK);
    assert_int_equal(rlen, 2 + 2 + 2 + 16);
    n = unhex("00860000457C438141" G1_PK_MAP_IFD "00", cmd, sizeof cmd);
    assert_int_equal(pace_card_process(&card, cmd, n, resp, sizeof resp, &rlen),
                     PACE_ERR_BAD_COMMAND);
    assert_hex(resp, rlen, "6985");
    /* The session is gone: the card wants MSE:Set AT again. */
    n = unhex("10860000457C438141" G1_PK_MAP_IFD "00", cmd, sizeof cmd);
    assert_int_equal(pace_card_process(&card, cmd, n, resp, sizeof resp, &rlen), PACE_ERR_STATE);
    assert_hex(resp, rlen, "6985");

    n = unhex(g1_cmds[0], cmd, sizeof cmd);
    assert_int_equal(pace_card_process(&card, cmd, n, resp, sizeof resp, &rlen), PACE_OK);
    n = unhex(g1_cmds[1], cmd, sizeof cmd);
    assert_int_equal(pace_card_process(&card, cmd, n, resp, sizeof resp, &rlen), PACE_OK);
    n = unhex("10860000457C438141" G1_PK_DH_IC "00", cmd, sizeof cmd);
    cmd[n - 2] ^= 1; /* last byte of y */
    assert_int_equal(pace_card_process(&card, cmd, n, resp, sizeof resp, &rlen),
                     PACE_ERR_BAD_POINT);
    assert_hex(resp, rlen, "6A80");
    assert_false(pace_card_done(&card));
    /* Too small a response buffer. */
    assert_int_equal(pace_card_process(&card, cmd, n, resp, 1, &rlen), PACE_ERR_BUFFER);
}

static void begin_rejects(void **state)
{
    struct pace ctx;
    struct pace_info info = g1_info();
    uint8_t cmd[PACE_APDU_MAX];
    size_t cmd_len;
    uint64_t seed = 1;
    assert_int_equal(pace_begin(&ctx, &info, (enum pace_password)3, (const uint8_t *)"1234", 4, 0,
                                prng, &seed, NULL, cmd, sizeof cmd, &cmd_len),
                     PACE_ERR_PASSWORD);
    assert_int_equal(pace_begin(&ctx, &info, PACE_PASSWORD_CAN, (const uint8_t *)"", 0, 0, prng,
                                &seed, NULL, cmd, sizeof cmd, &cmd_len),
                     PACE_ERR_PASSWORD);
    assert_int_equal(pace_begin(&ctx, &info, PACE_PASSWORD_CAN, (const uint8_t *)"123456", 6, 0,
                                prng, &seed, NULL, cmd, 10, &cmd_len),
                     PACE_ERR_BUFFER);
    info.mapping = PACE_MAPPING_IM;
    assert_int_equal(pace_begin(&ctx, &info, PACE_PASSWORD_CAN, (const uint8_t *)"123456", 6, 0,
                                prng, &seed, NULL, cmd, sizeof cmd, &cmd_len),
                     PACE_ERR_UNSUPPORTED);
    info = g1_info();
    assert_int_equal(pace_begin(&ctx, &info, PACE_PASSWORD_CAN, (const uint8_t *)"123456", 6,
                                PACE_FLAG_SEND_PARAMETER_ID, prng, &seed, NULL, cmd, sizeof cmd,
                                &cmd_len),
                     PACE_OK);
    /* §4.4.4.1 Table 3: DO'84' carries the parameterId (13 = brainpoolP256r1). */
    assert_hex(cmd, cmd_len, "0022C1A412800A04007F0007020204020283010284010D");
    assert_string_equal(pace_err_str(PACE_ERR_ECHOED_KEY), "PACE_ERR_ECHOED_KEY");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(appendix_g1_reader),
        cmocka_unit_test(appendix_g1_reader_kept_curve),
        cmocka_unit_test(appendix_g1_card),
        cmocka_unit_test(appendix_g1_primitives),
        cmocka_unit_test(nz_passport_3des_trace),
        cmocka_unit_test(loopback_every_curve_and_cipher),
        cmocka_unit_test(wrong_can),
        cmocka_unit_test(appendix_g2_dh_reader),
        cmocka_unit_test(appendix_g2_dh_card),
        cmocka_unit_test(dh_hostile_values),
        cmocka_unit_test(loopback_dh),
        cmocka_unit_test(hostile_responses),
        cmocka_unit_test(card_rejects_bad_commands),
        cmocka_unit_test(begin_rejects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

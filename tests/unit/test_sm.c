#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "hawiya/apdu.h"
#include "hawiya/hex.h"
#include "hawiya/icao_crypto.h"
#include "hawiya/sm.h"

static size_t unhex(const char *s, uint8_t *out, size_t cap)
{
    size_t n = 0;
    assert_int_equal(hex_decode(s, strlen(s), out, cap, &n), HEX_OK);
    return n;
}

static void assert_hex(const uint8_t *got, size_t n, const char *want)
{
    char text[2 * 512 + 1];
    assert_true(n <= 512);
    hex_encode(got, n, text);
    assert_string_equal(text, want);
}

/* 9303-11 Appendix D.3 session: KS_enc, KS_mac, SSC. */
static void d3_session(struct sm_ctx *sm)
{
    uint8_t enc[16], mac[16], ssc[8];
    unhex("979EC13B1CBFE9DCD01AB0FED307EAE5", enc, sizeof enc);
    unhex("F1CB1F1FB5ADF208806B89DC579DC1F8", mac, sizeof mac);
    unhex("887022120C06C226", ssc, sizeof ssc);
    assert_int_equal(sm_init(sm, ICAO_3DES, enc, mac, ssc), SM_OK);
}

/*
 * A session with the 9303-11 Appendix G.1 PACE keys (AES-128) and SSC zero,
 * as after PACE.
 */
static void g1_session(struct sm_ctx *sm)
{
    uint8_t enc[16], mac[16], ssc[16] = {0};
    unhex("F5F0E35C0D7161EE6724EE513A0D9A7F", enc, sizeof enc);
    unhex("FE251C7858B356B24514B3BD5F4297D1", mac, sizeof mac);
    assert_int_equal(sm_init(sm, ICAO_AES128, enc, mac, ssc), SM_OK);
}

/* Wraps `plain` (hex of a command APDU) and checks the encoded protected APDU. */
static void wrap_expect(struct sm_ctx *sm, const char *plain, const char *want)
{
    uint8_t in[300], buf[400], enc[500];
    struct apdu cmd, prot;
    size_t n = unhex(plain, in, sizeof in), m;
    assert_int_equal(apdu_decode(in, n, &cmd, NULL), APDU_OK);
    assert_int_equal(sm_wrap_command(sm, &cmd, buf, sizeof buf, &prot), SM_OK);
    assert_int_equal(apdu_encode(&prot, enc, sizeof enc, &m), APDU_OK);
    assert_hex(enc, m, want);
}

/* Unwraps a protected response and checks the plain data and status. */
static void unwrap_expect(struct sm_ctx *sm, const char *resp, const char *data, uint16_t sw)
{
    uint8_t in[300], out[300];
    struct rapdu r;
    size_t n = unhex(resp, in, sizeof in);
    assert_int_equal(sm_unwrap_response(sm, in, n, out, sizeof out, &r), SM_OK);
    assert_hex(r.data == NULL ? out : r.data, r.len, data);
    assert_int_equal(r.sw, sw);
}

/*
 * 9303-11 Appendix D.4, step by step: SELECT EF.COM, READ BINARY of the
 * first 4 bytes, READ BINARY of the remaining 18. Intermediate values are
 * checked with the primitives, the protected APDUs and the SSC with sm.
 */
static void appendix_d4_terminal(void **state)
{
    struct sm_ctx sm;
    uint8_t k[16], buf[64], mac[8];
    static const uint8_t zero_iv[8];
    size_t n;

    d3_session(&sm);
    unhex("979EC13B1CBFE9DCD01AB0FED307EAE5", k, sizeof k);
    /* D.4.1 c-d: padded data 011E800000000000 -> EncryptedData 6375432908C044F6. */
    n = unhex("011E800000000000", buf, sizeof buf);
    assert_int_equal(icao_cbc_encrypt(ICAO_3DES, k, zero_iv, buf, n, buf), ICAO_CRYPTO_OK);
    assert_hex(buf, 8, "6375432908C044F6");
    /* D.4.1 g-i: N = SSC || CmdHeader || DO'87' (padded by the MAC) -> CC = BF8B92D635FF24F8. */
    unhex("F1CB1F1FB5ADF208806B89DC579DC1F8", k, sizeof k);
    n = unhex("887022120C06C2270CA4020C800000008709016375432908C044F6", buf, sizeof buf);
    icao_retail_mac(k, buf, n, mac);
    assert_hex(mac, 8, "BF8B92D635FF24F8");
    /* D.4.1 l-n: K = SSC || DO'99' -> CC' = FA855A5D4C50A8ED. */
    n = unhex("887022120C06C22899029000", buf, sizeof buf);
    icao_retail_mac(k, buf, n, mac);
    assert_hex(mac, 8, "FA855A5D4C50A8ED");

    wrap_expect(&sm, "00A4020C02011E", "0CA4020C158709016375432908C044F68E08BF8B92D635FF24F800");
    assert_hex(sm.ssc, 8, "887022120C06C227");
    unwrap_expect(&sm, "990290008E08FA855A5D4C50A8ED9000", "", 0x9000);
    assert_hex(sm.ssc, 8, "887022120C06C228");

    wrap_expect(&sm, "00B0000004", "0CB000000D9701048E08ED6705417E96BA5500");
    assert_hex(sm.ssc, 8, "887022120C06C229");
    unwrap_expect(&sm, "8709019FF0EC34F9922651990290008E08AD55CC17140B2DED9000", "60145F01",
                  0x9000);
    assert_hex(sm.ssc, 8, "887022120C06C22A");

    wrap_expect(&sm, "00B0000412", "0CB000040D9701128E082EA28A70F3C7B53500");
    assert_hex(sm.ssc, 8, "887022120C06C22B");
    unwrap_expect(&sm,
                  "871901FB9235F4E4037F2327DCC8964F1F9B8C30F42C8E2FFF224A990290008E08C8B2787EAEA0"
                  "7D749000",
                  "04303130365F36063034303030305C026175", 0x9000);
    assert_hex(sm.ssc, 8, "887022120C06C22C");
    sm_wipe(&sm);
}

/* The card side of Appendix D.4 reproduces the chip's responses byte for byte. */
static void appendix_d4_card(void **state)
{
    static const struct {
        const char *prot, *plain_data, *resp_data, *rapdu;
        uint8_t ins;
        size_t ne;
    } steps[] = {
        {"0CA4020C158709016375432908C044F68E08BF8B92D635FF24F800", "011E", "",
         "990290008E08FA855A5D4C50A8ED9000", 0xA4, 0},
        {"0CB000000D9701048E08ED6705417E96BA5500", "", "60145F01",
         "8709019FF0EC34F9922651990290008E08AD55CC17140B2DED9000", 0xB0, 4},
        {"0CB000040D9701128E082EA28A70F3C7B53500", "", "04303130365F36063034303030305C026175",
         "871901FB9235F4E4037F2327DCC8964F1F9B8C30F42C8E2FFF224A990290008E08C8B2787EAEA07D7490"
         "00",
         0xB0, 18},
    };
    struct sm_ctx card;

    d3_session(&card);
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        uint8_t in[128], data[64], rdata[64], out[128];
        struct apdu prot, plain;
        size_t n = unhex(steps[i].prot, in, sizeof in), dn, m;
        assert_int_equal(apdu_decode(in, n, &prot, NULL), APDU_OK);
        assert_int_equal(sm_unwrap_command(&card, &prot, data, sizeof data, &plain), SM_OK);
        assert_int_equal(plain.cla, 0x00);
        assert_int_equal(plain.ins, steps[i].ins);
        assert_int_equal(plain.ne, steps[i].ne);
        assert_hex(plain.data == NULL ? data : plain.data, plain.nc, steps[i].plain_data);
        dn = unhex(steps[i].resp_data, rdata, sizeof rdata);
        assert_int_equal(sm_wrap_response(&card, plain.ins, rdata, dn, 0x9000, out, sizeof out, &m),
                         SM_OK);
        assert_hex(out, m, steps[i].rapdu);
    }
    assert_hex(card.ssc, 8, "887022120C06C22C");
}

/*
 * AES-128 secure messaging. There is no SM worked example in 9303-11 for
 * AES, so the expected bytes were computed with the openssl CLI alone
 * (OpenSSL 3, `enc -aes-128-ecb/-cbc -nopad` and `mac ... CMAC`), with the
 * Appendix G.1 session keys and SSC 0:
 *   IV  = openssl enc -aes-128-ecb -K $KSENC -nopad  <<< SSC
 *   E   = openssl enc -aes-128-cbc -K $KSENC -iv $IV -nopad <<< pad(data)
 *   MAC = first 8 bytes of openssl mac -cipher AES-128-CBC
 *           -macopt hexkey:$KSMAC CMAC <<< pad(SSC || pad(header) || DOs)
 * SELECT EF.COM: SSC 1, IV D1CF7FA98B424030D5183A196CB23B94,
 * E EE0E4724F4465C1BE9C2F73ABDD73A3D, MAC 835D1B54575C955F; its response
 * (SSC 2) MAC BEA7B381C494A079; READ BINARY Le 4 (SSC 3) MAC
 * AA6BA54F44DF8364; its response (SSC 4) IV 1F6CF237A6D40C7728CF9BADC9CB8798,
 * E(60145F01 80..) 645C0B1F998A088278D07942BBE94B60, MAC 94A33C6AA2D8CCC8.
 */
static void aes_openssl_vectors(void **state)
{
    struct sm_ctx ifd, card;
    uint8_t in[128], data[64], out[128], ssc[16];
    struct apdu prot, plain;
    size_t n, m;

    g1_session(&ifd);
    g1_session(&card);
    wrap_expect(&ifd, "00A4020C02011E",
                "0CA4020C1D871101EE0E4724F4465C1BE9C2F73ABDD73A3D8E08835D1B54575C955F00");
    unhex("00000000000000000000000000000001", ssc, sizeof ssc);
    assert_memory_equal(ifd.ssc, ssc, 16);
    unwrap_expect(&ifd, "990290008E08BEA7B381C494A0799000", "", 0x9000);
    wrap_expect(&ifd, "00B0000004", "0CB000000D9701048E08AA6BA54F44DF836400");
    unwrap_expect(&ifd, "871101645C0B1F998A088278D07942BBE94B60990290008E0894A33C6AA2D8CCC89000",
                  "60145F01", 0x9000);

    /* The card side gives the same bytes back. */
    n = unhex("0CA4020C1D871101EE0E4724F4465C1BE9C2F73ABDD73A3D8E08835D1B54575C955F00", in,
              sizeof in);
    assert_int_equal(apdu_decode(in, n, &prot, NULL), APDU_OK);
    assert_int_equal(sm_unwrap_command(&card, &prot, data, sizeof data, &plain), SM_OK);
    assert_hex(plain.data, plain.nc, "011E");
    assert_int_equal(sm_wrap_response(&card, 0xA4, NULL, 0, 0x9000, out, sizeof out, &m), SM_OK);
    assert_hex(out, m, "990290008E08BEA7B381C494A0799000");
    n = unhex("0CB000000D9701048E08AA6BA54F44DF836400", in, sizeof in);
    assert_int_equal(apdu_decode(in, n, &prot, NULL), APDU_OK);
    assert_int_equal(sm_unwrap_command(&card, &prot, data, sizeof data, &plain), SM_OK);
    assert_int_equal(plain.ne, 4);
    n = unhex("60145F01", data, sizeof data);
    assert_int_equal(sm_wrap_response(&card, 0xB0, data, n, 0x9000, out, sizeof out, &m), SM_OK);
    assert_hex(out, m, "871101645C0B1F998A088278D07942BBE94B60990290008E0894A33C6AA2D8CCC89000");
}

/* Runs `resp` through a fresh D.4 session positioned at the first response. */
static enum sm_err unwrap_first_response(const char *resp, struct sm_ctx *sm)
{
    uint8_t in[128], buf[64], out[64];
    struct apdu cmd = {
        .ins = 0xA4, .p1 = 0x02, .p2 = 0x0C, .data = (const uint8_t *)"\x01\x1E", .nc = 2};
    struct apdu prot;
    struct rapdu r;
    size_t n = unhex(resp, in, sizeof in);
    d3_session(sm);
    assert_int_equal(sm_wrap_command(sm, &cmd, buf, sizeof buf, &prot), SM_OK);
    return sm_unwrap_response(sm, in, n, out, sizeof out, &r);
}

static void assert_dead(struct sm_ctx *sm)
{
    static const uint8_t zero[ICAO_MAX_KEY_LEN];
    uint8_t buf[64], out[64];
    struct apdu cmd = {.ins = 0xB0, .ne = 4}, prot;
    struct rapdu r;
    assert_false(sm->alive);
    assert_memory_equal(sm->ks_enc, zero, sizeof zero);
    assert_memory_equal(sm->ks_mac, zero, sizeof zero);
    assert_int_equal(sm_wrap_command(sm, &cmd, buf, sizeof buf, &prot), SM_ERR_DEAD);
    assert_int_equal(sm_unwrap_response(sm, buf, 2, out, sizeof out, &r), SM_ERR_DEAD);
}

static void bad_responses_kill_the_session(void **state)
{
    struct sm_ctx sm;
    /* The genuine response for reference. */
    assert_int_equal(unwrap_first_response("990290008E08FA855A5D4C50A8ED9000", &sm), SM_OK);
    /* A flipped MAC bit. */
    assert_int_equal(unwrap_first_response("990290008E08FA855A5D4C50A8EC9000", &sm), SM_ERR_MAC);
    assert_dead(&sm);
    /* A changed status inside DO'99' (the MAC covers it). */
    assert_int_equal(unwrap_first_response("990262828E08FA855A5D4C50A8ED9000", &sm), SM_ERR_MAC);
    assert_dead(&sm);
    /* A flipped cryptogram bit is a MAC failure, never a padding error: nothing is decrypted. */
    assert_int_equal(
        unwrap_first_response("8709019FF0EC34F9922650990290008E08AD55CC17140B2DED9000", &sm),
        SM_ERR_MAC);
    assert_dead(&sm);
    /* An unprotected error status (the card dropped SM) and a response without DO'99'. */
    assert_int_equal(unwrap_first_response("6988", &sm), SM_ERR_NO_MAC);
    assert_dead(&sm);
    assert_int_equal(unwrap_first_response("8E08FA855A5D4C50A8ED9000", &sm), SM_ERR_NO_MAC);
    assert_dead(&sm);
    /* Something after DO'8E', a short MAC, a truncated TLV, an unknown tag. */
    assert_int_equal(unwrap_first_response("990290008E08FA855A5D4C50A8ED99029000", &sm),
                     SM_ERR_FORMAT);
    assert_int_equal(unwrap_first_response("990290008E07FA855A5D4C50A89000", &sm), SM_ERR_FORMAT);
    assert_int_equal(unwrap_first_response("990290008E09FA855A5D4C50A8ED9000", &sm), SM_ERR_FORMAT);
    assert_int_equal(unwrap_first_response("53009902", &sm), SM_ERR_FORMAT);
    assert_int_equal(unwrap_first_response("", &sm), SM_ERR_FORMAT);
    assert_dead(&sm);
    assert_string_equal(sm_err_str(SM_ERR_MAC), "SM_ERR_MAC");
}

/* A correctly MACed cryptogram whose plaintext has no 9797-1 padding. */
static void authentic_bad_padding(void **state)
{
    struct sm_ctx sm;
    uint8_t k[16], resp[64], mac[8], out[64];
    static const uint8_t zero_iv[8];
    struct rapdu r;
    struct apdu cmd = {.ins = 0xB0, .ne = 8}, prot;
    uint8_t buf[64];
    size_t n;

    d3_session(&sm);
    assert_int_equal(sm_wrap_command(&sm, &cmd, buf, sizeof buf, &prot), SM_OK);
    /* Response SSC = 887022120C06C228. */
    n = unhex("887022120C06C228870901AAAAAAAAAAAAAAAA99029000", resp, sizeof resp);
    unhex("979EC13B1CBFE9DCD01AB0FED307EAE5", k, sizeof k);
    unhex("0102030405060708", resp + 11, 8);
    assert_int_equal(icao_cbc_encrypt(ICAO_3DES, k, zero_iv, resp + 11, 8, resp + 11),
                     ICAO_CRYPTO_OK);
    unhex("F1CB1F1FB5ADF208806B89DC579DC1F8", k, sizeof k);
    icao_retail_mac(k, resp, n, mac);
    memmove(resp, resp + 8, n - 8);
    n -= 8;
    resp[n++] = 0x8E;
    resp[n++] = 0x08;
    memcpy(resp + n, mac, 8);
    n += 8;
    resp[n++] = 0x90;
    resp[n++] = 0x00;
    assert_int_equal(sm_unwrap_response(&sm, resp, n, out, sizeof out, &r), SM_ERR_PADDING);
    assert_dead(&sm);
}

static void card_rejects_bad_commands(void **state)
{
    struct sm_ctx card;
    uint8_t in[64], data[64];
    struct apdu prot, plain;
    size_t n;

    /* A plain command during SM ends the session. */
    d3_session(&card);
    n = unhex("00A4020C02011E", in, sizeof in);
    assert_int_equal(apdu_decode(in, n, &prot, NULL), APDU_OK);
    assert_int_equal(sm_unwrap_command(&card, &prot, data, sizeof data, &plain), SM_ERR_CLA);
    assert_dead(&card);
    /* A wrong MAC. */
    d3_session(&card);
    n = unhex("0CA4020C158709016375432908C044F68E08BF8B92D635FF24F900", in, sizeof in);
    assert_int_equal(apdu_decode(in, n, &prot, NULL), APDU_OK);
    assert_int_equal(sm_unwrap_command(&card, &prot, data, sizeof data, &plain), SM_ERR_MAC);
    assert_dead(&card);
    /* The header is MACed too: P2 changed. */
    d3_session(&card);
    n = unhex("0CA4020D158709016375432908C044F68E08BF8B92D635FF24F800", in, sizeof in);
    assert_int_equal(apdu_decode(in, n, &prot, NULL), APDU_OK);
    assert_int_equal(sm_unwrap_command(&card, &prot, data, sizeof data, &plain), SM_ERR_MAC);
    /* No DO'8E'. */
    d3_session(&card);
    n = unhex("0CB0000003970104", in, sizeof in);
    assert_int_equal(apdu_decode(in, n, &prot, NULL), APDU_OK);
    assert_int_equal(sm_unwrap_command(&card, &prot, data, sizeof data, &plain), SM_ERR_NO_MAC);
    /* A DO'99' has no place in a command. */
    d3_session(&card);
    n = unhex("0CB000000E990290008E08ED6705417E96BA55", in, sizeof in);
    assert_int_equal(apdu_decode(in, n, &prot, NULL), APDU_OK);
    assert_int_equal(sm_unwrap_command(&card, &prot, data, sizeof data, &plain), SM_ERR_FORMAT);
}

static void wrap_errors_keep_the_session(void **state)
{
    struct sm_ctx sm;
    uint8_t buf[64];
    struct apdu cmd = {.cla = 0x0C, .ins = 0xA4, .data = (const uint8_t *)"\x01\x1E", .nc = 2};
    struct apdu prot;

    d3_session(&sm);
    assert_int_equal(sm_wrap_command(&sm, &cmd, buf, sizeof buf, &prot), SM_ERR_CLA);
    cmd.cla = 0x80;
    assert_int_equal(sm_wrap_command(&sm, &cmd, buf, sizeof buf, &prot), SM_ERR_CLA);
    cmd.cla = 0x00;
    assert_int_equal(sm_wrap_command(&sm, &cmd, buf, 20, &prot), SM_ERR_BUFFER);
    assert_true(sm.alive);
    assert_hex(sm.ssc, 8, "887022120C06C226");
    /* And the next command is D.4's first, unchanged. */
    wrap_expect(&sm, "00A4020C02011E", "0CA4020C158709016375432908C044F68E08BF8B92D635FF24F800");
    /* Chaining (CLA 10) keeps its bit: 1C. */
    cmd.cla = 0x10;
    assert_int_equal(sm_wrap_command(&sm, &cmd, buf, sizeof buf, &prot), SM_OK);
    assert_int_equal(prot.cla, 0x1C);
}

/* Extended lengths, odd INS (DO'85') and Le 65536 survive a terminal -> card -> terminal trip. */
static void round_trips(void **state)
{
    for (int aes = 0; aes <= 1; aes++) {
        struct sm_ctx ifd, card;
        static uint8_t big[300], buf[400], data[400], out[400], back[400];
        struct apdu cmd = {.ins = 0xD6, .data = big, .nc = sizeof big}, prot, plain;
        struct rapdu r;
        uint8_t enc[500], in_copy[500];
        size_t m, n;

        for (size_t i = 0; i < sizeof big; i++)
            big[i] = (uint8_t)(i * 7 + 1);
        if (aes) {
            g1_session(&ifd);
            g1_session(&card);
        } else {
            d3_session(&ifd);
            d3_session(&card);
        }
        /* 300 bytes of data need extended length fields. */
        assert_int_equal(sm_wrap_command(&ifd, &cmd, buf, sizeof buf, &prot), SM_OK);
        assert_true(prot.extended);
        assert_int_equal(prot.ne, 65536);
        assert_int_equal(apdu_encode(&prot, enc, sizeof enc, &m), APDU_OK);
        memcpy(in_copy, enc, m);
        assert_int_equal(apdu_decode(in_copy, m, &prot, NULL), APDU_OK);
        assert_int_equal(sm_unwrap_command(&card, &prot, data, sizeof data, &plain), SM_OK);
        assert_int_equal(plain.nc, sizeof big);
        assert_memory_equal(plain.data, big, sizeof big);
        assert_int_equal(plain.ne, 0);
        assert_int_equal(sm_wrap_response(&card, plain.ins, NULL, 0, 0x9000, out, sizeof out, &n),
                         SM_OK);
        assert_int_equal(sm_unwrap_response(&ifd, out, n, back, sizeof back, &r), SM_OK);
        assert_int_equal(r.sw, 0x9000);

        /* Odd INS: READ BINARY B1 with an offset DO, Le 65536. */
        struct apdu odd = {
            .ins = 0xB1, .data = (const uint8_t *)"\x54\x02\x01\x00", .nc = 4, .ne = 65536};
        assert_int_equal(sm_wrap_command(&ifd, &odd, buf, sizeof buf, &prot), SM_OK);
        assert_int_equal(buf[0], 0x85);
        assert_int_equal(sm_unwrap_command(&card, &prot, data, sizeof data, &plain), SM_OK);
        assert_int_equal(plain.ne, 65536);
        assert_hex(plain.data, plain.nc, "54020100");
        assert_int_equal(sm_wrap_response(&card, plain.ins, big, 200, 0x6282, out, sizeof out, &n),
                         SM_OK);
        assert_int_equal(out[0], 0x85);
        assert_int_equal(sm_unwrap_response(&ifd, out, n, back, sizeof back, &r), SM_OK);
        assert_int_equal(r.sw, 0x6282);
        assert_int_equal(r.len, 200);
        assert_memory_equal(r.data, big, 200);
        /* Too small an output buffer still ends the session (the SSC is spent). */
        assert_int_equal(sm_wrap_response(&card, plain.ins, big, 200, 0x9000, out, sizeof out, &n),
                         SM_OK);
        assert_int_equal(sm_unwrap_response(&ifd, out, n, back, 100, &r), SM_ERR_BUFFER);
        assert_dead(&ifd);
        sm_wipe(&card);
    }
}

static void ssc_wraps(void **state)
{
    struct sm_ctx sm;
    uint8_t k[16] = {0}, ssc[8];
    struct apdu cmd = {.ins = 0xB0, .ne = 1}, prot;
    uint8_t buf[64];
    memset(ssc, 0xFF, sizeof ssc);
    assert_int_equal(sm_init(&sm, ICAO_3DES, k, k, ssc), SM_OK);
    assert_int_equal(sm_wrap_command(&sm, &cmd, buf, sizeof buf, &prot), SM_OK);
    assert_hex(sm.ssc, 8, "0000000000000000");
    assert_int_equal(sm_init(&sm, (enum icao_cipher)7, k, k, ssc), SM_ERR_CIPHER);
    assert_false(sm.alive);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(appendix_d4_terminal),
        cmocka_unit_test(appendix_d4_card),
        cmocka_unit_test(aes_openssl_vectors),
        cmocka_unit_test(bad_responses_kill_the_session),
        cmocka_unit_test(authentic_bad_padding),
        cmocka_unit_test(card_rejects_bad_commands),
        cmocka_unit_test(wrap_errors_keep_the_session),
        cmocka_unit_test(round_trips),
        cmocka_unit_test(ssc_wraps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "hawiya/cardaccess.h"
#include "hawiya/hex.h"

static size_t unhex(const char *s, uint8_t *out, size_t cap)
{
    size_t n = 0;
    assert_int_equal(hex_decode(s, strlen(s), out, cap, &n), HEX_OK);
    return n;
}

static enum cardaccess_err parse_hex(const char *s, struct security_infos *si)
{
    uint8_t buf[512];
    size_t n = unhex(s, buf, sizeof buf);
    return cardaccess_parse(buf, n, si);
}

/* ICAO 9303-11 Appendix G.1: EF.CardAccess of the worked example. */
#define CARDACCESS_G1 "31143012060A04007F0007020204020202010202010D"

static void appendix_g1_cardaccess(void **state)
{
    struct security_infos si;
    static const uint8_t oid[] = {0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x04, 0x02, 0x02};
    size_t idx = 99;
    assert_int_equal(parse_hex(CARDACCESS_G1, &si), CARDACCESS_OK);
    assert_int_equal(si.n_pace, 1);
    assert_int_equal(si.pace[0].oid_len, sizeof oid);
    assert_memory_equal(si.pace[0].oid, oid, sizeof oid);
    assert_int_equal(si.pace[0].ka, PACE_KA_ECDH);
    assert_int_equal(si.pace[0].mapping, PACE_MAPPING_GM);
    assert_int_equal(si.pace[0].cipher, ICAO_AES128);
    assert_int_equal(si.pace[0].version, 2);
    assert_true(si.pace[0].has_parameter_id);
    assert_int_equal(si.pace[0].parameter_id, PACE_PARAM_BP256R1);
    assert_int_equal(si.n_ca + si.n_ca_pk + si.n_pace_dp + si.n_other, 0);
    assert_false(si.has_aa);
    assert_true(pace_info_supported(&si.pace[0]));
    assert_int_equal(cardaccess_select_pace(&si, &idx), CARDACCESS_OK);
    assert_int_equal(idx, 0);
    assert_false(cardaccess_pace_ambiguous(&si, 0));
}

/*
 * EF.CardAccess of a New Zealand passport (PACE-ECDH-GM-3DES, BP256) and of
 * a German ID card (GM and CAM, AES-128), as published in the test suite of
 * gmrtd (Go eMRTD reader, pace/pace_test.go).
 */
static void real_card_access_files(void **state)
{
    struct security_infos si;
    size_t idx = 99;
    assert_int_equal(parse_hex("31143012060a04007f0007020204020102010202010d", &si), CARDACCESS_OK);
    assert_int_equal(si.n_pace, 1);
    assert_int_equal(si.pace[0].cipher, ICAO_3DES);
    assert_int_equal(si.pace[0].parameter_id, 13);

    assert_int_equal(parse_hex("31283012060A04007F0007020204020202010202010D"
                               "3012060A04007F0007020204060202010202010D",
                               &si),
                     CARDACCESS_OK);
    assert_int_equal(si.n_pace, 2);
    assert_int_equal(si.pace[0].mapping, PACE_MAPPING_GM);
    assert_int_equal(si.pace[1].mapping, PACE_MAPPING_CAM);
    assert_int_equal(si.pace[1].cipher, ICAO_AES128);
    assert_false(pace_info_supported(&si.pace[1]));
    assert_int_equal(cardaccess_select_pace(&si, &idx), CARDACCESS_OK);
    assert_int_equal(idx, 0);
}

/*
 * The reader prefers ECDH, then the strongest cipher, then the larger curve;
 * IM is recognised but not chosen. Hand-built SET (checked with
 * `openssl asn1parse -inform DER`): DH-GM-AES128/param 0, ECDH-IM-AES128/13,
 * ECDH-GM-AES128/13, ECDH-GM-AES256/16 (BP384), ECDH-GM-AES256/13.
 */
static void select_prefers_strongest(void **state)
{
    struct security_infos si;
    size_t idx = 99;
    assert_int_equal(parse_hex("3164"
                               "3012060A04007F00070202040102020102020100"
                               "3012060A04007F0007020204040202010202010D"
                               "3012060A04007F0007020204020202010202010D"
                               "3012060A04007F00070202040204020102020110"
                               "3012060A04007F0007020204020402010202010D",
                               &si),
                     CARDACCESS_OK);
    assert_int_equal(si.n_pace, 5);
    assert_int_equal(si.pace[0].ka, PACE_KA_DH);
    assert_int_equal(si.pace[1].mapping, PACE_MAPPING_IM);
    assert_int_equal(cardaccess_select_pace(&si, &idx), CARDACCESS_OK);
    assert_int_equal(idx, 3);
    /* ECDH-GM-AES256 is listed on BP384 and BP256: MSE:Set AT must say which. */
    assert_true(cardaccess_pace_ambiguous(&si, 3));
    assert_true(cardaccess_pace_ambiguous(&si, 4));
    assert_false(cardaccess_pace_ambiguous(&si, 2));
    assert_false(cardaccess_pace_ambiguous(&si, 9));

    /* DH and IM: DH Generic Mapping is the one to run. */
    assert_int_equal(parse_hex("3128"
                               "3012060A04007F00070202040102020102020100"
                               "3012060A04007F0007020204040202010202010D",
                               &si),
                     CARDACCESS_OK);
    assert_true(pace_info_supported(&si.pace[0]));
    assert_int_equal(cardaccess_select_pace(&si, &idx), CARDACCESS_OK);
    assert_int_equal(idx, 0);
    /* IM alone: nothing to run. */
    assert_int_equal(parse_hex("3114"
                               "3012060A04007F0007020204040202010202010D",
                               &si),
                     CARDACCESS_OK);
    assert_int_equal(cardaccess_select_pace(&si, &idx), CARDACCESS_ERR_NO_PACE);
    /* DH on a parameterId that is not one of the three MODP groups. */
    assert_int_equal(parse_hex("31143012060A04007F00070202040102020102020103", &si), CARDACCESS_OK);
    assert_false(pace_info_supported(&si.pace[0]));

    /* Version 1 or no parameterId (proprietary parameters) is not run either. */
    assert_int_equal(parse_hex("3111300F060A04007F000702020402020201 01", &si), CARDACCESS_OK);
    assert_false(si.pace[0].has_parameter_id);
    assert_false(pace_info_supported(&si.pace[0]));
    assert_int_equal(parse_hex("31143012060A04007F0007020204020202010102010D", &si), CARDACCESS_OK);
    assert_int_equal(si.pace[0].version, 1);
    assert_false(pace_info_supported(&si.pace[0]));
    /* brainpoolP320r1 is not in mbedTLS. */
    assert_int_equal(parse_hex("31143012060A04007F0007020204020202010202010E", &si), CARDACCESS_OK);
    assert_false(pace_info_supported(&si.pace[0]));
}

/*
 * A DG14 as 9303-11 §9.2.5 / §9.2.6 / §9.2.4 describe it, built by hand and
 * checked with `openssl asn1parse -inform DER`: ChipAuthenticationInfo
 * (id-CA-ECDH-AES-CBC-CMAC-128, version 1, keyId 1),
 * ChipAuthenticationPublicKeyInfo (id-PK-ECDH, SPKI id-ecPublicKey with
 * namedCurve brainpoolP256r1 and the point PK_DH_IC of Appendix G.1,
 * keyId 1), ActiveAuthenticationInfo (version 1, ecdsa-with-SHA256), and a
 * TerminalAuthenticationInfo (id-TA, version 1) that is skipped.
 */
#define DG14_HEX                                                                                   \
    "6E81A9"                                                                                       \
    "3181A6"                                                                                       \
    "3012060A04007F00070202030202020101020101"                                                     \
    "306A"                                                                                         \
    "060904007F000702020102"                                                                       \
    "305A"                                                                                         \
    "3014"                                                                                         \
    "06072A8648CE3D0201"                                                                           \
    "06092B2403030208010107"                                                                       \
    "034200"                                                                                       \
    "049E880F842905B8B3181F7AF7CAA9F0EFB743847F44A306D2D28C1D9EC65DF6DB"                           \
    "7764B22277A2EDDC3C265A9F018F9CB852E111B768B326904B59A0193776F094"                             \
    "020101"                                                                                       \
    "3015060667810801010502010106082A8648CE3D040302"                                               \
    "300D060804007F00070202020201 01"

static void dg14_security_infos(void **state)
{
    uint8_t buf[512];
    struct security_infos si;
    size_t n = unhex(DG14_HEX, buf, sizeof buf);
    assert_int_equal(n, 3 + 0xA9);
    assert_int_equal(cardaccess_parse_dg14(buf, n, &si), CARDACCESS_OK);
    assert_int_equal(si.n_pace, 0);
    assert_int_equal(si.n_ca, 1);
    assert_int_equal(si.ca[0].ka, PACE_KA_ECDH);
    assert_int_equal(si.ca[0].cipher, ICAO_AES128);
    assert_int_equal(si.ca[0].version, 1);
    assert_true(si.ca[0].has_key_id);
    assert_int_equal(si.ca[0].key_id, 1);
    assert_int_equal(si.n_ca_pk, 1);
    assert_int_equal(si.ca_pk[0].ka, PACE_KA_ECDH);
    assert_int_equal(si.ca_pk[0].spki_len, 2 + 0x5A);
    assert_ptr_equal(si.ca_pk[0].spki, buf + 3 + 3 + 20 + 2 + 11);
    assert_true(si.ca_pk[0].has_key_id);
    assert_int_equal(si.ca_pk[0].key_id, 1);
    assert_true(si.has_aa);
    assert_int_equal(si.aa.version, 1);
    assert_int_equal(si.aa.signature_algorithm_len, 8);
    assert_int_equal(si.n_other, 1);
    /* The same SET without the 6E wrapper is not a DG14, but is SecurityInfos. */
    assert_int_equal(cardaccess_parse_dg14(buf + 3, n - 3, &si), CARDACCESS_ERR_NOT_DG14);
    assert_int_equal(cardaccess_parse(buf + 3, n - 3, &si), CARDACCESS_OK);
    /* A BIT STRING with unused bits is no key. */
    buf[3 + 3 + 20 + 2 + 11 + 2 + 22 + 2] = 0x01;
    assert_int_equal(cardaccess_parse_dg14(buf, n, &si), CARDACCESS_ERR_BAD_PUBLIC_KEY);
}

static void every_truncation_is_an_error(void **state)
{
    uint8_t buf[64];
    struct security_infos si;
    size_t n = unhex(CARDACCESS_G1, buf, sizeof buf);
    for (size_t cut = 0; cut < n; cut++) {
        enum cardaccess_err e = cardaccess_parse(buf, cut, &si);
        assert_int_not_equal(e, CARDACCESS_OK);
        assert_int_equal(si.n_pace, 0);
    }
    /* Shortening the SET length by one hides the last byte of the last element. */
    buf[1] = 0x13;
    assert_int_equal(cardaccess_parse(buf, n - 1, &si), CARDACCESS_ERR_TRUNCATED);
}

static void strict_der(void **state)
{
    struct security_infos si;
    /* Long-form length where the short form fits. */
    assert_int_equal(parse_hex("318114 3012060A04007F0007020204020202010202010D", &si),
                     CARDACCESS_ERR_NON_MINIMAL_LENGTH);
    assert_int_equal(parse_hex("3115 308112060A04007F0007020204020202010202010D", &si),
                     CARDACCESS_ERR_NON_MINIMAL_LENGTH);
    /* Indefinite length. */
    assert_int_equal(parse_hex("3180 3012060A04007F0007020204020202010202010D 0000", &si),
                     CARDACCESS_ERR_NON_MINIMAL_LENGTH);
    /* A byte after the SET. */
    assert_int_equal(parse_hex(CARDACCESS_G1 "00", &si), CARDACCESS_ERR_TRAILING_DATA);
    /* A fourth element in a PACEInfo. */
    assert_int_equal(parse_hex("31173015060A04007F0007020204020202010202010D020100", &si),
                     CARDACCESS_ERR_TRAILING_DATA);
    /* SEQUENCE where the SET should be. */
    assert_int_equal(parse_hex("30143012060A04007F0007020204020202010202010D", &si),
                     CARDACCESS_ERR_NOT_SET);
    /* Negative, non-minimal and too-large INTEGERs. */
    assert_int_equal(parse_hex("31143012060A04007F00070202040202020102020180", &si),
                     CARDACCESS_ERR_BAD_INTEGER);
    assert_int_equal(parse_hex("31153013060A04007F00070202040202020102 0202000D", &si),
                     CARDACCESS_ERR_BAD_INTEGER);
    assert_int_equal(parse_hex("31193017060A04007F00070202040202 020102 0206010000000000", &si),
                     CARDACCESS_ERR_BAD_INTEGER);
    assert_int_equal(parse_hex("31133011060A04007F000702020402020201020200", &si),
                     CARDACCESS_ERR_BAD_INTEGER);
    /* Empty OID, OID whose last byte continues. */
    assert_int_equal(parse_hex("310A30080600020102020100", &si), CARDACCESS_ERR_BAD_OID);
    assert_int_equal(parse_hex("31143012060A04007F00070202040282 020102 02010D", &si),
                     CARDACCESS_ERR_BAD_OID);
    /* A SecurityInfo with no OID, and one with nothing after it. */
    assert_int_equal(parse_hex("31053003020102", &si), CARDACCESS_ERR_BAD_SECURITY_INFO);
    assert_int_equal(parse_hex("310E300C060A04007F00070202040202", &si),
                     CARDACCESS_ERR_BAD_SECURITY_INFO);
    /* An element that is not a SEQUENCE. */
    assert_int_equal(parse_hex("3103020101", &si), CARDACCESS_ERR_BAD_SECURITY_INFO);
    assert_string_equal(cardaccess_err_str(CARDACCESS_ERR_BAD_INTEGER),
                        "CARDACCESS_ERR_BAD_INTEGER");
    assert_string_equal(cardaccess_err_str(CARDACCESS_ERR_NO_PACE), "CARDACCESS_ERR_NO_PACE");
}

static void too_many_pace_infos(void **state)
{
    char hexbuf[512] = "31";
    struct security_infos si;
    int count = CARDACCESS_MAX_PACE + 1;
    assert_int_equal(count * 0x14, 0xB4);
    strcat(hexbuf, "81B4");
    for (int i = 0; i < count; i++)
        strcat(hexbuf, "3012060A04007F0007020204020202010202010D");
    assert_int_equal(parse_hex(hexbuf, &si), CARDACCESS_ERR_TOO_MANY);
    assert_int_equal(si.n_pace, 0);
}

/* An unknown protocol (EF.DIR-like, id-TA) is skipped but must still be well formed. */
static void unknown_protocols(void **state)
{
    struct security_infos si;
    assert_int_equal(parse_hex("312C"
                               "300D060804007F00070202020201 01"
                               "301B06032A0304" CARDACCESS_G1 /* a nested SET is ANY */,
                               &si),
                     CARDACCESS_OK);
    assert_int_equal(si.n_other, 2);
    assert_int_equal(si.n_pace, 0);
    assert_int_equal(parse_hex("310E300C0608 04007F0007020202 0205", &si),
                     CARDACCESS_ERR_TRUNCATED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(appendix_g1_cardaccess),       cmocka_unit_test(real_card_access_files),
        cmocka_unit_test(select_prefers_strongest),     cmocka_unit_test(dg14_security_infos),
        cmocka_unit_test(every_truncation_is_an_error), cmocka_unit_test(strict_der),
        cmocka_unit_test(too_many_pace_infos),          cmocka_unit_test(unknown_protocols),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

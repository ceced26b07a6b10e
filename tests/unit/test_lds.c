#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "hawiya/lds.h"
#include "lds_fixture.h"

/*
 * Fixtures come from tests/data/lds/make.sh (openssl command line and
 * printf): EF.COM, DG1 with the 9303 Part 4 TD3 specimen MRZ, DG11, DG14
 * and DG15 as an independent issuer writes them.
 */

/* tag || short length || content (content < 128 bytes) */
static size_t wrap(uint8_t *out, const uint8_t *tag, size_t tag_len, const void *content,
                   size_t len)
{
    memcpy(out, tag, tag_len);
    if (len < 128) {
        out[tag_len] = (uint8_t)len;
        memcpy(out + tag_len + 1, content, len);
        return tag_len + 1 + len;
    }
    out[tag_len] = 0x81;
    out[tag_len + 1] = (uint8_t)len;
    memcpy(out + tag_len + 2, content, len);
    return tag_len + 2 + len;
}

static size_t make_dg1(uint8_t *out, const char *mrz)
{
    uint8_t inner[256]; /* a TD3 MRZ (88) or TD1 (90) plus its 5F1F header */
    static const uint8_t t5f1f[] = {0x5F, 0x1F}, t61[] = {0x61};
    size_t n = wrap(inner, t5f1f, 2, mrz, strlen(mrz));
    return wrap(out, t61, 1, inner, n);
}

static void file_table(void **state)
{
    /* 9303-10 LDS1 table: DGn -> tag, FID 01 0n, SFI n; EF.COM 011E/1E; EF.SOD 011D/1D. */
    const struct lds_file *f = lds_file_by_number(1);
    assert_non_null(f);
    assert_int_equal(f->tag, 0x61);
    assert_int_equal(f->fid, 0x0101);
    assert_int_equal(f->sfi, 0x01);
    f = lds_file_by_tag(0x6F);
    assert_non_null(f);
    assert_int_equal(f->number, 15);
    assert_int_equal(f->fid, 0x010F);
    f = lds_file_by_fid(0x011D);
    assert_non_null(f);
    assert_int_equal(f->number, LDS_EF_SOD);
    assert_int_equal(f->tag, 0x77);
    assert_string_equal(f->name, "EF.SOD");
    f = lds_file_by_sfi(0x1E);
    assert_non_null(f);
    assert_int_equal(f->number, LDS_EF_COM);
    assert_int_equal(f->tag, 0x60);
    assert_int_equal(lds_file_by_tag(0x75)->number, 2);
    assert_int_equal(lds_file_by_number(16)->tag, 0x70);
    assert_int_equal(lds_file_by_number(11)->fid, 0x010B);
    assert_null(lds_file_by_number(18));
    assert_null(lds_file_by_tag(0x62));
    assert_null(lds_file_by_fid(0x011C));
    assert_null(lds_file_by_sfi(0x11));
    assert_string_equal(lds_err_str(LDS_ERR_MRZ_CHECK_DIGIT), "LDS_ERR_MRZ_CHECK_DIGIT");
}

static void com_fixture(void **state)
{
    struct fixture f;
    struct lds_com c;
    fixture_load(&f, "com.bin");
    assert_int_equal(lds_com_parse(f.b, f.n, &c), LDS_OK);
    assert_string_equal(c.lds_version, "0107");
    assert_string_equal(c.unicode_version, "040000");
    const uint8_t tags[] = {0x61, 0x75, 0x6B, 0x6E, 0x6F};
    assert_int_equal(c.n_tags, 5);
    assert_memory_equal(c.tags, tags, 5);
    for (size_t n = 0; n < f.n; n++) {
        assert_int_not_equal(lds_com_parse(f.b, n, &c), LDS_OK);
        assert_int_equal(c.n_tags, 0);
    }
}

static void com_garbage(void **state)
{
    struct lds_com c;
    struct fixture f;
    fixture_load(&f, "com.bin");
    f.b[f.n] = 0x00;
    assert_int_equal(lds_com_parse(f.b, f.n + 1, &c), LDS_ERR_TRAILING_DATA);
    f.b[0] = 0x61;
    assert_int_equal(lds_com_parse(f.b, f.n, &c), LDS_ERR_WRONG_TAG);
    /* 5C listing 0x62, which is no data-group tag. */
    const uint8_t bad_tag[] = {0x60, 0x14, 0x5F, 0x01, 0x04, '0', '1', '0',  '7',  0x5F, 0x36,
                               0x06, '0',  '4',  '0',  '0',  '0', '0', 0x5C, 0x02, 0x61, 0x62};
    assert_int_equal(lds_com_parse(bad_tag, sizeof bad_tag, &c), LDS_ERR_BAD_VALUE);
    const uint8_t dup_tag[] = {0x60, 0x14, 0x5F, 0x01, 0x04, '0', '1', '0',  '7',  0x5F, 0x36,
                               0x06, '0',  '4',  '0',  '0',  '0', '0', 0x5C, 0x02, 0x61, 0x61};
    assert_int_equal(lds_com_parse(dup_tag, sizeof dup_tag, &c), LDS_ERR_DUPLICATE);
    const uint8_t no_unicode[] = {0x60, 0x0B, 0x5F, 0x01, 0x04, '0', '1',
                                  '0',  '7',  0x5C, 0x02, 0x61, 0x75};
    assert_int_equal(lds_com_parse(no_unicode, sizeof no_unicode, &c), LDS_ERR_MISSING);
    const uint8_t letters[] = {0x60, 0x0B, 0x5F, 0x01, 0x04, '0', '1',
                               'A',  '7',  0x5C, 0x02, 0x61, 0x75};
    assert_int_equal(lds_com_parse(letters, sizeof letters, &c), LDS_ERR_BAD_VALUE);
    const uint8_t indefinite[] = {0x60, 0x80, 0x00, 0x00};
    assert_int_equal(lds_com_parse(indefinite, sizeof indefinite, &c), LDS_ERR_ENCODING);
    assert_int_equal(lds_com_parse(NULL, 0, &c), LDS_ERR_TRUNCATED);
}

static void dg1_td3_specimen(void **state)
{
    /* 9303 Part 4 Appendix: the TD3 specimen (Anna Maria Eriksson, Utopia). */
    struct fixture f;
    struct lds_dg1 d;
    fixture_load(&f, "dg1.bin");
    assert_int_equal(f.n, 93);
    assert_int_equal(lds_dg1_parse(f.b, f.n, &d), LDS_OK);
    assert_int_equal(d.mrz.format, MRZ_TD3);
    assert_string_equal(d.mrz.document_number, "L898902C3");
    assert_string_equal(d.mrz.birth_date, "740812");
    assert_string_equal(d.mrz.expiry_date, "120415");
    assert_string_equal(d.mrz.primary_identifier, "ERIKSSON");
    assert_string_equal(d.mrz.secondary_identifier, "ANNA MARIA");
    assert_int_equal(d.mrz.sex, 'F');
    assert_int_equal(d.cd_fail, 0);
    for (size_t n = 0; n < f.n; n++)
        assert_int_not_equal(lds_dg1_parse(f.b, n, &d), LDS_OK);
}

static void dg1_td1_specimen(void **state)
{
    /* 9303 Part 5 Appendix: the TD1 specimen. */
    uint8_t buf[128];
    struct lds_dg1 d;
    size_t n = make_dg1(buf, "I<UTOD231458907<<<<<<<<<<<<<<<"
                             "7408122F1204159UTO<<<<<<<<<<<6"
                             "ERIKSSON<<ANNA<MARIA<<<<<<<<<<");
    assert_int_equal(lds_dg1_parse(buf, n, &d), LDS_OK);
    assert_int_equal(d.mrz.format, MRZ_TD1);
    assert_string_equal(d.mrz.document_number, "D23145890");
    assert_string_equal(d.mrz.nationality, "UTO");
}

static void dg1_check_digits(void **state)
{
    uint8_t buf[128];
    struct lds_dg1 d;
    /* Birth date 740812 -> 740813: its own digit and the composite one fail. */
    size_t n = make_dg1(buf, "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<"
                             "L898902C36UTO7408132F1204159ZE184226B<<<<<10");
    assert_int_equal(lds_dg1_parse(buf, n, &d), LDS_ERR_MRZ_CHECK_DIGIT);
    assert_int_equal(d.cd_fail, MRZ_CD_BIRTH_DATE | MRZ_CD_COMPOSITE);
    assert_string_equal(d.mrz.document_number, "");
    /* Document number check digit 6 -> 7. */
    n = make_dg1(buf, "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<"
                      "L898902C37UTO7408122F1204159ZE184226B<<<<<10");
    assert_int_equal(lds_dg1_parse(buf, n, &d), LDS_ERR_MRZ_CHECK_DIGIT);
    assert_true(d.cd_fail & MRZ_CD_DOCUMENT_NUMBER);
}

static void dg1_garbage(void **state)
{
    uint8_t buf[128];
    struct lds_dg1 d;
    /* 87 characters: no MRZ format. */
    size_t n = make_dg1(buf, "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<"
                             "L898902C36UTO7408122F1204159ZE184226B<<<<<10");
    assert_int_equal(lds_dg1_parse(buf, n, &d), LDS_ERR_MRZ);
    /* Lower case letters. */
    n = make_dg1(buf, "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<"
                      "l898902C36UTO7408122F1204159ZE184226B<<<<<10");
    assert_int_equal(lds_dg1_parse(buf, n, &d), LDS_ERR_MRZ);
    const uint8_t no_5f1f[] = {0x61, 0x03, 0x5F, 0x1E, 0x00};
    assert_int_equal(lds_dg1_parse(no_5f1f, sizeof no_5f1f, &d), LDS_ERR_MISSING);
    const uint8_t overrun[] = {0x61, 0x05, 0x5F, 0x1F, 0x58, 'P', '<'};
    assert_int_equal(lds_dg1_parse(overrun, sizeof overrun, &d), LDS_ERR_TRUNCATED);
}

static void dg2_outer_only(void **state)
{
    struct fixture f;
    struct lds_dg2 d;
    fixture_load(&f, "dg2.bin");
    assert_int_equal(lds_dg2_parse(f.b, f.n, &d), LDS_OK);
    assert_ptr_equal(d.value, f.b + 2);
    assert_int_equal(d.len, f.n - 2);
    const uint8_t wrong[] = {0x76, 0x00};
    assert_int_equal(lds_dg2_parse(wrong, sizeof wrong, &d), LDS_ERR_WRONG_TAG);
    assert_null(d.value);
    const uint8_t big[] = {0x75, 0x82, 0x10, 0x00, 0x7F};
    assert_int_equal(lds_dg2_parse(big, sizeof big, &d), LDS_ERR_TRUNCATED);
}

static void dg11_fixture(void **state)
{
    struct fixture f;
    struct lds_dg11 d;
    fixture_load(&f, "dg11.bin");
    assert_int_equal(lds_dg11_parse(f.b, f.n, &d), LDS_OK);
    assert_int_equal(d.n_tags, 5);
    assert_int_equal(d.tags[0], 0x5F0E);
    assert_int_equal(d.tags[4], 0x5F11);
    assert_int_equal(d.full_name.len, 20);
    assert_memory_equal(d.full_name.p, "ERIKSSON<<ANNA<MARIA", 20);
    /* The other name is Arabic "هوية" in UTF-8. */
    const uint8_t other[] = {0xD9, 0x87, 0xD9, 0x88, 0xD9, 0x8A, 0xD8, 0xA9};
    assert_int_equal(d.n_other_names, 1);
    assert_int_equal(d.other_names[0].len, sizeof other);
    assert_memory_equal(d.other_names[0].p, other, sizeof other);
    assert_memory_equal(d.personal_number.p, "UTO123456", 9);
    assert_memory_equal(d.full_date_of_birth.p, "19740812", 8);
    assert_memory_equal(d.place_of_birth.p, "ZENITH<UTOPIA", 13);
    assert_int_equal(d.address.len, 27);
    assert_null(d.telephone.p);
    for (size_t n = 0; n < f.n; n++) {
        assert_int_not_equal(lds_dg11_parse(f.b, n, &d), LDS_OK);
        assert_null(d.full_name.p);
    }
}

static void dg11_garbage(void **state)
{
    struct lds_dg11 d;
    /* Overlong NUL (C0 80) in the full name. */
    const uint8_t overlong2[] = {0x6B, 0x0A, 0x5C, 0x02, 0x5F, 0x0E,
                                 0x5F, 0x0E, 0x03, 'A',  0xC0, 0x80};
    assert_int_equal(lds_dg11_parse(overlong2, sizeof overlong2, &d), LDS_ERR_BAD_UTF8);
    /* A0 announces 2 other names but holds 1. */
    const uint8_t count[] = {0x6B, 0x0D, 0x5C, 0x02, 0x5F, 0x0F, 0xA0, 0x07,
                             0x02, 0x01, 0x02, 0x5F, 0x0F, 0x01, 'X'};
    assert_int_equal(lds_dg11_parse(count, sizeof count, &d), LDS_ERR_BAD_VALUE);
    const uint8_t dup[] = {0x6B, 0x0C, 0x5C, 0x02, 0x5F, 0x0E, 0x5F,
                           0x0E, 0x01, 'A',  0x5F, 0x0E, 0x01, 'B'};
    assert_int_equal(lds_dg11_parse(dup, sizeof dup, &d), LDS_ERR_DUPLICATE);
    const uint8_t no_list[] = {0x6B, 0x04, 0x5F, 0x0E, 0x01, 'A'};
    assert_int_equal(lds_dg11_parse(no_list, sizeof no_list, &d), LDS_ERR_MISSING);
    const uint8_t odd_list[] = {0x6B, 0x03, 0x5C, 0x01, 0x5F};
    assert_int_equal(lds_dg11_parse(odd_list, sizeof odd_list, &d), LDS_ERR_BAD_VALUE);
}

static void utf8_rules(void **state)
{
    /* RFC 3629 §3 and §4: overlongs, surrogates and > U+10FFFF are ill-formed. */
    assert_true(lds_utf8_valid((const uint8_t *)"abc", 3));
    assert_true(lds_utf8_valid((const uint8_t *)"\xE2\x82\xAC", 3));     /* U+20AC */
    assert_true(lds_utf8_valid((const uint8_t *)"\xF4\x8F\xBF\xBF", 4)); /* U+10FFFF */
    assert_false(lds_utf8_valid((const uint8_t *)"\xC0\x80", 2));
    assert_false(lds_utf8_valid((const uint8_t *)"\xE0\x80\xAF", 3));
    assert_false(lds_utf8_valid((const uint8_t *)"\xED\xA0\x80", 3)); /* U+D800 */
    assert_false(lds_utf8_valid((const uint8_t *)"\xF4\x90\x80\x80", 4));
    assert_false(lds_utf8_valid((const uint8_t *)"\xE2\x82", 2));
    assert_false(lds_utf8_valid((const uint8_t *)"\x80", 1));
    assert_false(lds_utf8_valid((const uint8_t *)"\xFF", 1));
}

static void dg14_fixture(void **state)
{
    struct fixture f;
    struct security_infos si;
    enum cardaccess_err ce;
    fixture_load(&f, "dg14.bin");
    assert_int_equal(lds_dg14_parse(f.b, f.n, &si, &ce), LDS_OK);
    assert_true(si.has_aa);
    assert_int_equal(si.aa.version, 1);
    /* ecdsa-plain-SHA256, 0.4.0.127.0.7.1.1.4.1.3 */
    const uint8_t oid[] = {0x04, 0x00, 0x7F, 0x00, 0x07, 0x01, 0x01, 0x04, 0x01, 0x03};
    assert_int_equal(si.aa.signature_algorithm_len, sizeof oid);
    assert_memory_equal(si.aa.signature_algorithm, oid, sizeof oid);
    for (size_t n = 0; n < f.n; n++)
        assert_int_not_equal(lds_dg14_parse(f.b, n, &si, NULL), LDS_OK);
    f.b[2] = 0x30; /* the SET becomes a SEQUENCE */
    assert_int_equal(lds_dg14_parse(f.b, f.n, &si, &ce), LDS_ERR_SECURITY_INFOS);
    assert_int_equal(ce, CARDACCESS_ERR_NOT_SET);
}

static void dg15_keys(void **state)
{
    struct fixture f;
    struct lds_dg15 d;
    mbedtls_pk_context pk;

    fixture_load(&f, "dg15.bin");
    mbedtls_pk_init(&pk);
    assert_int_equal(lds_dg15_parse(f.b, f.n, &d, &pk), LDS_OK);
    assert_int_equal(d.type, LDS_KEY_EC);
    assert_int_equal(d.key_bits, 256);
    assert_ptr_equal(d.spki, f.b + 2);
    assert_int_equal(mbedtls_pk_get_type(&pk), MBEDTLS_PK_ECKEY);
    mbedtls_pk_free(&pk);

    fixture_load(&f, "dg15_rsa.bin");
    assert_int_equal(lds_dg15_parse(f.b, f.n, &d, NULL), LDS_OK);
    assert_int_equal(d.type, LDS_KEY_RSA);
    assert_int_equal(d.key_bits, 2048);
    for (size_t n = 0; n < f.n; n++)
        assert_int_not_equal(lds_dg15_parse(f.b, n, &d, NULL), LDS_OK);

    /* brainpoolP256r1 given by explicit domain parameters (openssl -param_enc explicit). */
    fixture_load(&f, "dg15_bp_explicit.bin");
    mbedtls_pk_init(&pk);
    assert_int_equal(lds_dg15_parse(f.b, f.n, &d, &pk), LDS_OK);
    assert_int_equal(d.type, LDS_KEY_EC);
    assert_int_equal(mbedtls_pk_ec(pk)->grp.id, MBEDTLS_ECP_DP_BP256R1);
    mbedtls_pk_free(&pk);

    /* A SEQUENCE that is no key: the context comes back empty. */
    const uint8_t junk[] = {0x6F, 0x04, 0x30, 0x02, 0x05, 0x00};
    mbedtls_pk_init(&pk);
    assert_int_equal(lds_dg15_parse(junk, sizeof junk, &d, &pk), LDS_ERR_PUBLIC_KEY);
    assert_int_equal(mbedtls_pk_get_type(&pk), MBEDTLS_PK_NONE);
    assert_int_equal(d.type, LDS_KEY_NONE);
    const uint8_t two[] = {0x6F, 0x04, 0x30, 0x00, 0x30, 0x00};
    assert_int_equal(lds_dg15_parse(two, sizeof two, &d, NULL), LDS_ERR_TRAILING_DATA);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(file_table),       cmocka_unit_test(com_fixture),
        cmocka_unit_test(com_garbage),      cmocka_unit_test(dg1_td3_specimen),
        cmocka_unit_test(dg1_td1_specimen), cmocka_unit_test(dg1_check_digits),
        cmocka_unit_test(dg1_garbage),      cmocka_unit_test(dg2_outer_only),
        cmocka_unit_test(dg11_fixture),     cmocka_unit_test(dg11_garbage),
        cmocka_unit_test(utf8_rules),       cmocka_unit_test(dg14_fixture),
        cmocka_unit_test(dg15_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "hawiya/mrz.h"

/* ICAO 9303 Part 5 (TD1) specimen, Figure "Data Page of a TD1 MROTD". */
static const char *const td1_specimen[] = {
    "I<UTOD231458907<<<<<<<<<<<<<<<",
    "7408122F1204159UTO<<<<<<<<<<<6",
    "ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
};

/* ICAO 9303 Part 4 (TD3) specimen passport. */
static const char *const td3_specimen[] = {
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
    "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
};

/* 9303-11 Appendix D.2: the BAC worked example's document (number L898902C<). */
static const char *const td3_appendix_d[] = {
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
    "L898902C<3UTO6908061F9406236ZE184226B<<<<<14",
};

/* 9303-11 Appendix D.2: document number D23145890734, longer than 9 characters. */
static const char *const td1_long[] = {
    "I<UTOD23145890<7349<<<<<<<<<<<",
    "3407127M9507122UTO<<<<<<<<<<<2",
    "STEVENSON<<PETER<JOHN<<<<<<<<<",
};
static const char *const td2_long[] = {
    "I<UTOSTEVENSON<<PETER<JOHN<<<<<<<<<<",
    "D23145890<UTO3407127M95071227349<<<8",
};

static void check_digit_part3_examples(void **state)
{
    /* Part 3 §4.9.1 worked example: 520727 -> 3; the specimens' fields. */
    assert_int_equal(mrz_check_digit("520727", 6), 3);
    assert_int_equal(mrz_check_digit("L898902C<", 9), 3);
    assert_int_equal(mrz_check_digit("D23145890734", 12), 9);
    assert_int_equal(mrz_check_digit("AB2134<<<", 9), 5);
    assert_int_equal(mrz_check_digit("ab", 2), -1);
}

static void td1_specimen_fields(void **state)
{
    struct mrz m;
    char info[MRZ_BAC_INFO_MAX + 1];
    size_t n;

    assert_int_equal(mrz_parse(td1_specimen, 3, &m), MRZ_OK);
    assert_int_equal(m.format, MRZ_TD1);
    assert_string_equal(m.document_code, "I");
    assert_string_equal(m.issuing_state, "UTO");
    assert_string_equal(m.document_number, "D23145890");
    assert_int_equal(m.document_number_cd, '7');
    assert_string_equal(m.birth_date, "740812");
    assert_int_equal(m.birth_date_cd, '2');
    assert_int_equal(m.sex, 'F');
    assert_string_equal(m.expiry_date, "120415");
    assert_int_equal(m.expiry_date_cd, '9');
    assert_string_equal(m.nationality, "UTO");
    assert_string_equal(m.optional_data, "");
    assert_string_equal(m.optional_data2, "");
    assert_int_equal(m.composite_cd, '6');
    assert_string_equal(m.primary_identifier, "ERIKSSON");
    assert_string_equal(m.secondary_identifier, "ANNA MARIA");
    assert_int_equal(m.cd_fail, 0);
    assert_int_equal(mrz_bac_info(&m, info, sizeof info, &n), MRZ_OK);
    assert_string_equal(info, "D23145890774081221204159");
    assert_int_equal(n, 24);
}

static void td3_specimen_fields(void **state)
{
    struct mrz m;
    char info[MRZ_BAC_INFO_MAX + 1];
    size_t n;

    assert_int_equal(mrz_parse(td3_specimen, 2, &m), MRZ_OK);
    assert_int_equal(m.format, MRZ_TD3);
    assert_string_equal(m.document_code, "P");
    assert_string_equal(m.issuing_state, "UTO");
    assert_string_equal(m.document_number, "L898902C3");
    assert_int_equal(m.document_number_cd, '6');
    assert_string_equal(m.nationality, "UTO");
    assert_string_equal(m.birth_date, "740812");
    assert_int_equal(m.sex, 'F');
    assert_string_equal(m.expiry_date, "120415");
    assert_string_equal(m.optional_data, "ZE184226B");
    assert_int_equal(m.optional_data_cd, '1');
    assert_int_equal(m.composite_cd, '0');
    assert_string_equal(m.primary_identifier, "ERIKSSON");
    assert_string_equal(m.secondary_identifier, "ANNA MARIA");
    assert_int_equal(m.cd_fail, 0);
    assert_int_equal(mrz_bac_info(&m, info, sizeof info, &n), MRZ_OK);
    assert_string_equal(info, "L898902C3674081221204159");
}

/* 9303-11 D.2: MRZ information "L898902C<369080619406236" (short number keeps its filler). */
static void td3_appendix_d_bac_info(void **state)
{
    struct mrz m;
    char info[MRZ_BAC_INFO_MAX + 1];
    size_t n;

    assert_int_equal(mrz_parse(td3_appendix_d, 2, &m), MRZ_OK);
    assert_int_equal(m.cd_fail, 0);
    assert_string_equal(m.document_number, "L898902C");
    assert_string_equal(m.document_number_field, "L898902C<");
    assert_int_equal(mrz_bac_info(&m, info, sizeof info, &n), MRZ_OK);
    assert_string_equal(info, "L898902C<369080619406236");
    assert_int_equal(
        mrz_bac_info_from_fields("L898902C", "690806", "940623", info, sizeof info, &n), MRZ_OK);
    assert_string_equal(info, "L898902C<369080619406236");
    assert_int_equal(mrz_bac_info(&m, info, 24, &n), MRZ_ERR_BUFFER);
}

/* 9303-11 D.2: MRZ information "D23145890734934071279507122" from both the TD1 and the TD2. */
static void long_document_number(void **state)
{
    struct mrz m;
    char info[MRZ_BAC_INFO_MAX + 1];
    size_t n;

    assert_int_equal(mrz_parse(td1_long, 3, &m), MRZ_OK);
    assert_int_equal(m.cd_fail, 0);
    assert_string_equal(m.document_number, "D23145890734");
    assert_int_equal(m.document_number_cd, '9');
    assert_string_equal(m.optional_data, "");
    assert_int_equal(m.sex, 'M');
    assert_string_equal(m.primary_identifier, "STEVENSON");
    assert_string_equal(m.secondary_identifier, "PETER JOHN");
    assert_int_equal(mrz_bac_info(&m, info, sizeof info, &n), MRZ_OK);
    assert_string_equal(info, "D23145890734934071279507122");

    assert_int_equal(mrz_parse(td2_long, 2, &m), MRZ_OK);
    assert_int_equal(m.format, MRZ_TD2);
    assert_int_equal(m.cd_fail, 0);
    assert_string_equal(m.document_number, "D23145890734");
    assert_int_equal(m.composite_cd, '8');
    assert_int_equal(mrz_bac_info(&m, info, sizeof info, &n), MRZ_OK);
    assert_string_equal(info, "D23145890734934071279507122");
    assert_int_equal(
        mrz_bac_info_from_fields("D23145890734", "340712", "950712", info, sizeof info, &n),
        MRZ_OK);
    assert_string_equal(info, "D23145890734934071279507122");
}

static void corrupted_check_digits_are_reported(void **state)
{
    struct mrz m;
    char l2[45];
    const char *lines[2] = {td3_specimen[0], l2};

    /* Birth date check digit 2 -> 3: the field and the composite both fail. */
    strcpy(l2, td3_specimen[1]);
    l2[19] = '3';
    assert_int_equal(mrz_parse(lines, 2, &m), MRZ_OK);
    assert_int_equal(m.cd_fail, MRZ_CD_BIRTH_DATE | MRZ_CD_COMPOSITE);
    assert_string_equal(mrz_cd_name(MRZ_CD_BIRTH_DATE), "birth_date");

    /* Only the composite. */
    strcpy(l2, td3_specimen[1]);
    l2[43] = '1';
    assert_int_equal(mrz_parse(lines, 2, &m), MRZ_OK);
    assert_int_equal(m.cd_fail, MRZ_CD_COMPOSITE);

    /* A changed document number character: its check digit and the composite. */
    strcpy(l2, td3_specimen[1]);
    l2[0] = 'M';
    assert_int_equal(mrz_parse(lines, 2, &m), MRZ_OK);
    assert_int_equal(m.cd_fail, MRZ_CD_DOCUMENT_NUMBER | MRZ_CD_COMPOSITE);

    /* Personal number check digit, expiry check digit as a letter. */
    strcpy(l2, td3_specimen[1]);
    l2[42] = '2';
    l2[27] = 'X';
    assert_int_equal(mrz_parse(lines, 2, &m), MRZ_OK);
    assert_int_equal(m.cd_fail, MRZ_CD_OPTIONAL_DATA | MRZ_CD_EXPIRY_DATE | MRZ_CD_COMPOSITE);

    /* TD1: corrupt the long number's check digit in the optional data. */
    char t1[31];
    const char *l1s[3] = {t1, td1_long[1], td1_long[2]};
    strcpy(t1, td1_long[0]);
    t1[18] = '8';
    assert_int_equal(mrz_parse(l1s, 3, &m), MRZ_OK);
    assert_int_equal(m.cd_fail, MRZ_CD_DOCUMENT_NUMBER | MRZ_CD_COMPOSITE);
}

/* Part 4 (TD3 personal number): an unused personal number may have '<' as its check digit. */
static void td3_unused_personal_number(void **state)
{
    struct mrz m;
    const char *lines[2] = {td3_specimen[0], "L898902C36UTO7408122F1204159<<<<<<<<<<<<<<<8"};
    assert_int_equal(mrz_parse(lines, 2, &m), MRZ_OK);
    assert_int_equal(m.cd_fail, 0);
    assert_int_equal(m.optional_data_cd, '<');
}

/* Part 3 §4.9 / Part 4 note: an unknown day or month is '<<' and stays in the MRZ information. */
static void unknown_date_parts_are_kept(void **state)
{
    struct mrz m;
    char info[MRZ_BAC_INFO_MAX + 1];
    size_t n;
    /* The specimen with an unknown birth day; check digits recomputed (7, composite 0). */
    const char *lines[2] = {td3_specimen[0], "L898902C36UTO7408<<7F1204159ZE184226B<<<<<10"};
    assert_int_equal(mrz_parse(lines, 2, &m), MRZ_OK);
    assert_string_equal(m.birth_date, "7408<<");
    assert_int_equal(m.cd_fail, 0);
    assert_int_equal(mrz_bac_info(&m, info, sizeof info, &n), MRZ_OK);
    assert_string_equal(info, "L898902C367408<<71204159");
}

static void malformed_input(void **state)
{
    struct mrz m;
    const char *short_line[2] = {td3_specimen[0], "L898902C36UTO7408122F1204159ZE184226B<<<<<1"};
    const char *lower[2] = {td3_specimen[0], "l898902C36UTO7408122F1204159ZE184226B<<<<<10"};
    const char *mixed[3] = {td3_specimen[0], td1_specimen[1], td1_specimen[2]};
    /* A '<' check digit announces a long number, but the optional data has no check digit. */
    const char *no_cd[3] = {"I<UTOD23145890<<<<<<<<<<<<<<<<", td1_long[1], td1_long[2]};

    assert_int_equal(mrz_parse(short_line, 2, &m), MRZ_ERR_SHAPE);
    assert_int_equal(mrz_parse(lower, 2, &m), MRZ_ERR_CHARSET);
    assert_int_equal(mrz_parse(mixed, 3, &m), MRZ_ERR_SHAPE);
    assert_int_equal(mrz_parse(td1_specimen, 2, &m), MRZ_ERR_SHAPE);
    assert_int_equal(mrz_parse(td3_specimen, 1, &m), MRZ_ERR_SHAPE);
    assert_int_equal(mrz_parse(no_cd, 3, &m), MRZ_ERR_DOC_NUMBER);
    assert_int_equal(m.document_number[0], '\0');
    assert_string_equal(mrz_err_str(MRZ_ERR_DOC_NUMBER), "MRZ_ERR_DOC_NUMBER");

    char info[MRZ_BAC_INFO_MAX + 1];
    size_t n;
    assert_int_equal(mrz_bac_info_from_fields("", "690806", "940623", info, sizeof info, &n),
                     MRZ_ERR_SHAPE);
    assert_int_equal(mrz_bac_info_from_fields("L8989", "6908", "940623", info, sizeof info, &n),
                     MRZ_ERR_SHAPE);
    assert_int_equal(mrz_bac_info_from_fields("l8989", "690806", "940623", info, sizeof info, &n),
                     MRZ_ERR_CHARSET);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(check_digit_part3_examples),
        cmocka_unit_test(td1_specimen_fields),
        cmocka_unit_test(td3_specimen_fields),
        cmocka_unit_test(td3_appendix_d_bac_info),
        cmocka_unit_test(long_document_number),
        cmocka_unit_test(corrupted_check_digits_are_reported),
        cmocka_unit_test(td3_unused_personal_number),
        cmocka_unit_test(unknown_date_parts_are_kept),
        cmocka_unit_test(malformed_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

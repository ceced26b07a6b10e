/*
 * libFuzzer target: the LDS parsers (EF.COM, DG1, DG2, DG11, DG14, DG15) on
 * the same hostile bytes. What parses must point inside the input, respect
 * the struct bounds and parse the same way twice; what fails must leave the
 * output zeroed (DG1 keeps only cd_fail) and the mbedTLS key empty.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hawiya/lds.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void inside(const uint8_t *p, size_t len, const uint8_t *data, size_t size)
{
    if (p == NULL)
        return;
    /* Empty DG11 values point at a static "" instead of into the buffer. */
    if (len == 0)
        return;
    if (p < data || len > size || p + len > data + size)
        __builtin_trap();
}

static void check_com(const uint8_t *data, size_t size)
{
    struct lds_com c, again;
    enum lds_err e = lds_com_parse(data, size, &c);
    if (lds_com_parse(data, size, &again) != e || memcmp(&c, &again, sizeof c) != 0)
        __builtin_trap();
    if (e != LDS_OK) {
        if (c.n_tags != 0 || c.lds_version[0] != '\0')
            __builtin_trap();
        return;
    }
    if (c.n_tags > LDS_DG_MAX || strlen(c.lds_version) != 4 || strlen(c.unicode_version) != 6)
        __builtin_trap();
    for (size_t i = 0; i < c.n_tags; i++) {
        const struct lds_file *f = lds_file_by_tag(c.tags[i]);
        if (f == NULL || f->number < 1 || f->number > LDS_DG_MAX)
            __builtin_trap();
    }
}

static void check_dg1(const uint8_t *data, size_t size)
{
    struct lds_dg1 d;
    enum lds_err e = lds_dg1_parse(data, size, &d);
    if (e == LDS_OK) {
        if (d.cd_fail != 0 || d.mrz.cd_fail != 0 || d.mrz.document_number[MRZ_DOC_NUMBER_MAX] != 0)
            __builtin_trap();
        if (size < 77) /* 61 L 5F1F L + 72 characters at least */
            __builtin_trap();
    } else if (d.mrz.document_number[0] != '\0' || (e != LDS_ERR_MRZ_CHECK_DIGIT && d.cd_fail))
        __builtin_trap();
    else if (e == LDS_ERR_MRZ_CHECK_DIGIT && d.cd_fail == 0)
        __builtin_trap();
}

static void check_dg11(const uint8_t *data, size_t size)
{
    struct lds_dg11 d;
    if (lds_dg11_parse(data, size, &d) != LDS_OK) {
        if (d.full_name.p != NULL || d.n_tags != 0 || d.n_other_names != 0)
            __builtin_trap();
        return;
    }
    if (d.n_tags > LDS_DG11_MAX_TAGS || d.n_other_names > LDS_DG11_MAX_OTHER_NAMES)
        __builtin_trap();
    const struct lds_bytes *fields[] = {
        &d.full_name,        &d.personal_number,  &d.full_date_of_birth,  &d.place_of_birth,
        &d.address,          &d.telephone,        &d.profession,          &d.title,
        &d.personal_summary, &d.other_td_numbers, &d.custody_information, &d.proof_of_citizenship,
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        inside(fields[i]->p, fields[i]->len, data, size);
        /* Text fields (all but date of birth and the image) are valid UTF-8. */
        if (i != 2 && i != 11 && fields[i]->p != NULL &&
            !lds_utf8_valid(fields[i]->p, fields[i]->len))
            __builtin_trap();
    }
    for (size_t i = 0; i < d.n_other_names; i++) {
        inside(d.other_names[i].p, d.other_names[i].len, data, size);
        if (!lds_utf8_valid(d.other_names[i].p, d.other_names[i].len))
            __builtin_trap();
    }
}

static void check_dg15(const uint8_t *data, size_t size)
{
    struct lds_dg15 d;
    mbedtls_pk_context pk;
    mbedtls_pk_init(&pk);
    enum lds_err e = lds_dg15_parse(data, size, &d, &pk);
    if (e == LDS_OK) {
        inside(d.spki, d.spki_len, data, size);
        if (d.spki == NULL || d.spki[0] != 0x30 || d.key_bits == 0 ||
            (d.type == LDS_KEY_RSA) != (mbedtls_pk_get_type(&pk) == MBEDTLS_PK_RSA) ||
            (d.type == LDS_KEY_EC) != (mbedtls_pk_get_type(&pk) == MBEDTLS_PK_ECKEY))
            __builtin_trap();
    } else if (mbedtls_pk_get_type(&pk) != MBEDTLS_PK_NONE || d.spki != NULL) {
        __builtin_trap();
    }
    mbedtls_pk_free(&pk);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct lds_dg2 dg2;
    struct security_infos si;

    check_com(data, size);
    check_dg1(data, size);
    check_dg11(data, size);
    check_dg15(data, size);
    if (lds_dg2_parse(data, size, &dg2) == LDS_OK) {
        inside(dg2.value, dg2.len, data, size);
        if (data[0] != 0x75)
            __builtin_trap();
    }
    if (lds_dg14_parse(data, size, &si, NULL) == LDS_OK && data[0] != 0x6E)
        __builtin_trap();
    for (unsigned n = 0; n <= LDS_EF_SOD; n++) {
        const struct lds_file *f = lds_file_by_number(n);
        if (f == NULL || lds_file_by_tag(f->tag) != f || lds_file_by_fid(f->fid) != f ||
            lds_file_by_sfi(f->sfi) != f)
            __builtin_trap();
    }
    return 0;
}

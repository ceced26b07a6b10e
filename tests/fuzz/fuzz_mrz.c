/*
 * libFuzzer target: mrz_parse on arbitrary text split into lines at '\n'.
 * Checks: every text field stays NUL-terminated inside its array, the
 * document number check digit agrees with mrz_check_digit, and for a fully
 * valid MRZ the MRZ information rebuilt from the printed fields is the same.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hawiya/mrz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FIELD_OK(f) (memchr((f), '\0', sizeof(f)) != NULL)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char lines[4][64];
    const char *ptrs[4];
    size_t n = 0, col = 0;
    struct mrz m;

    memset(lines, 0, sizeof lines);
    for (size_t i = 0; i < size; i++) {
        if (data[i] == '\n') {
            if (++n == 4)
                return 0;
            col = 0;
            continue;
        }
        if (col + 1 >= sizeof lines[0])
            return 0;
        lines[n][col++] = (char)data[i];
    }
    n++;
    for (size_t i = 0; i < n; i++)
        ptrs[i] = lines[i];

    if (mrz_parse(ptrs, n, &m) != MRZ_OK)
        return 0;
    if (!FIELD_OK(m.document_code) || !FIELD_OK(m.issuing_state) || !FIELD_OK(m.document_number) ||
        !FIELD_OK(m.document_number_field) || !FIELD_OK(m.birth_date) || !FIELD_OK(m.expiry_date) ||
        !FIELD_OK(m.nationality) || !FIELD_OK(m.optional_data) || !FIELD_OK(m.optional_data2) ||
        !FIELD_OK(m.primary_identifier) || !FIELD_OK(m.secondary_identifier))
        __builtin_trap();

    int cd = mrz_check_digit(m.document_number_field, strlen(m.document_number_field));
    int claims_ok = (m.cd_fail & MRZ_CD_DOCUMENT_NUMBER) == 0;
    if (claims_ok != (cd >= 0 && m.document_number_cd == '0' + cd))
        __builtin_trap();

    char info[MRZ_BAC_INFO_MAX + 1], again[MRZ_BAC_INFO_MAX + 1];
    size_t len, len2;
    if (mrz_bac_info(&m, info, sizeof info, &len) != MRZ_OK || len > MRZ_BAC_INFO_MAX ||
        strlen(info) != len)
        __builtin_trap();
    if (m.cd_fail == 0 && m.document_number[0] != '\0') {
        if (mrz_bac_info_from_fields(m.document_number, m.birth_date, m.expiry_date, again,
                                     sizeof again, &len2) != MRZ_OK ||
            len2 != len || memcmp(info, again, len) != 0)
            __builtin_trap();
    }
    return 0;
}

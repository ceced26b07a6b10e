/*
 * `hawiya mrz LINE1 LINE2 [LINE3]`: parses a TD1 (3 lines), TD2 or TD3
 * (2 lines) machine readable zone (ICAO 9303 Parts 3-6) and prints one JSON
 * object: the fields, the check digits that fail, the MRZ information and
 * the BAC document keys it gives (9303-11 §4.3). Exit status 0 when every
 * check digit matches, 1 when one fails, 2 on a usage error or an MRZ that
 * cannot be parsed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "commands.h"
#include "hawiya/bac.h"
#include "hawiya/hex.h"
#include "hawiya/mrz.h"
#include "hawiya/wipe.h"

static const char *format_name(enum mrz_format f)
{
    switch (f) {
    case MRZ_TD1: return "TD1";
    case MRZ_TD2: return "TD2";
    case MRZ_TD3: return "TD3";
    }
    return "unknown";
}

static void add_char(cJSON *o, const char *key, char c)
{
    char s[2] = {c, '\0'};
    cJSON_AddStringToObject(o, key, s);
}

static void add_hex(cJSON *o, const char *key, const uint8_t *b, size_t n)
{
    char text[2 * BAC_KEY_LEN + 1];
    hex_encode(b, n, text);
    cJSON_AddStringToObject(o, key, text);
    wipe(text, sizeof text);
}

static int fail(const char *what)
{
    printf("{\"error\":\"%s\"}\n", what);
    return 2;
}

int cmd_mrz(int argc, char **argv)
{
    struct mrz m;
    struct bac_keys keys;
    uint8_t seed[BAC_KEY_LEN];
    char info[MRZ_BAC_INFO_MAX + 1];
    size_t info_len;
    enum mrz_err e;
    enum bac_err be;

    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: hawiya mrz LINE1 LINE2 [LINE3]   (quote the lines: '<' is a "
                        "shell character)\n");
        return 2;
    }
    e = mrz_parse((const char *const *)(argv + 1), (size_t)(argc - 1), &m);
    if (e != MRZ_OK)
        return fail(mrz_err_str(e));
    e = mrz_bac_info(&m, info, sizeof info, &info_len);
    if (e != MRZ_OK)
        return fail(mrz_err_str(e));
    be = bac_keys_from_mrz_info(info, info_len, seed, &keys);
    if (be != BAC_OK)
        return fail(bac_err_str(be));

    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "format", format_name(m.format));
    cJSON_AddStringToObject(o, "document_code", m.document_code);
    cJSON_AddStringToObject(o, "issuing_state", m.issuing_state);
    cJSON_AddStringToObject(o, "document_number", m.document_number);
    add_char(o, "document_number_check_digit", m.document_number_cd);
    cJSON_AddStringToObject(o, "birth_date", m.birth_date);
    add_char(o, "birth_date_check_digit", m.birth_date_cd);
    add_char(o, "sex", m.sex);
    cJSON_AddStringToObject(o, "expiry_date", m.expiry_date);
    add_char(o, "expiry_date_check_digit", m.expiry_date_cd);
    cJSON_AddStringToObject(o, "nationality", m.nationality);
    cJSON_AddStringToObject(o, "optional_data", m.optional_data);
    if (m.format == MRZ_TD3)
        add_char(o, "optional_data_check_digit", m.optional_data_cd);
    if (m.format == MRZ_TD1)
        cJSON_AddStringToObject(o, "optional_data2", m.optional_data2);
    add_char(o, "composite_check_digit", m.composite_cd);
    cJSON_AddStringToObject(o, "primary_identifier", m.primary_identifier);
    cJSON_AddStringToObject(o, "secondary_identifier", m.secondary_identifier);
    cJSON *failed = cJSON_AddArrayToObject(o, "check_digits_failed");
    for (unsigned bit = 1; bit <= MRZ_CD_COMPOSITE; bit <<= 1)
        if (m.cd_fail & bit)
            cJSON_AddItemToArray(failed, cJSON_CreateString(mrz_cd_name(bit)));
    cJSON_AddStringToObject(o, "mrz_information", info);
    cJSON *bac = cJSON_AddObjectToObject(o, "bac");
    add_hex(bac, "k_seed", seed, sizeof seed);
    add_hex(bac, "k_enc", keys.k_enc, sizeof keys.k_enc);
    add_hex(bac, "k_mac", keys.k_mac, sizeof keys.k_mac);
    wipe(seed, sizeof seed);
    wipe(&keys, sizeof keys);
    wipe(info, sizeof info);

    char *text = cJSON_PrintUnformatted(o);
    if (text != NULL) {
        puts(text);
        wipe(text, strlen(text));
        free(text);
    }
    cJSON_Delete(o);
    return m.cd_fail ? 1 : 0;
}

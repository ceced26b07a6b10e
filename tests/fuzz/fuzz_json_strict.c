/*
 * libFuzzer target: hvi_json_strict (host/verify/src/json_strict.c), the
 * check of the assertion's JSON text. Invariants: a refusal says why; an
 * accepted text parses with cJSON, and when the text has no whitespace
 * between tokens and no 16-digit number (which cJSON prints as 1.2e+15)
 * cJSON's compact re-print of it is the text itself, byte for byte: the
 * builder's spelling is the one accepted spelling of each value.
 * The request rules (JSON_ANY_SPELLING, the bridge's socket) accept every
 * text the assertion rules accept; what they accept parses with cJSON, and
 * cJSON's re-print of it is accepted too.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "internal.h"
#include "json_strict.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Whitespace outside strings, or a run of 16 digits outside strings. */
static bool loose(const uint8_t *p, size_t n)
{
    bool in_string = false;
    size_t digits = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = p[i];
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = false;
            continue;
        }
        if (c == '"')
            in_string = true;
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
            return true;
        digits = c >= '0' && c <= '9' ? digits + 1 : 0;
        if (digits >= 16)
            return true;
    }
    return false;
}

/* The request rules: a superset, and nothing cJSON would not read. */
static void any_spelling(const uint8_t *data, size_t size, bool one_ok)
{
    char why[128];
    bool ok = json_strict_check((const char *)data, size, JSON_ANY_SPELLING, why, sizeof why);
    if ((one_ok && !ok) || (!ok && why[0] == '\0'))
        __builtin_trap();
    if (!ok || memchr(data, '\0', size))
        return;
    cJSON *j = cJSON_ParseWithLength((const char *)data, size);
    if (!j)
        __builtin_trap();
    char *again = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (again && !json_strict_check(again, strlen(again), JSON_ANY_SPELLING, NULL, 0))
        __builtin_trap();
    free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char why[128];
    any_spelling(data, size, hvi_json_strict((const char *)data, size, NULL, 0));
    if (!hvi_json_strict((const char *)data, size, why, sizeof why)) {
        if (why[0] == '\0' || memchr(why, '\0', sizeof why) == NULL)
            __builtin_trap();
        return 0;
    }
    if (memchr(data, '\0', size))
        return 0; /* a NUL is JSON's business only inside strings, where it is refused */
    cJSON *j = cJSON_ParseWithLength((const char *)data, size);
    if (!j)
        __builtin_trap();
    char *again = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (!again)
        return 0; /* out of memory */
    size_t n = strlen(again);
    if (!loose(data, size) &&
        (!hvi_json_strict(again, n, NULL, 0) || n != size || memcmp(again, data, size) != 0))
        __builtin_trap();
    free(again);
    return 0;
}

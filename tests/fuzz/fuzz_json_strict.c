/*
 * libFuzzer target: hvi_json_strict (host/verify/src/json_strict.c), the
 * check of the assertion's JSON text. Invariants: a refusal says why; an
 * accepted text parses with cJSON, and when the text has no whitespace
 * between tokens and no 16-digit number (which cJSON prints as 1.2e+15)
 * cJSON's compact re-print of it is the text itself, byte for byte: the
 * builder's spelling is the one accepted spelling of each value.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "internal.h"

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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char why[128];
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

/*
 * libFuzzer target: arbitrary bytes as a persona file. Loading must never
 * crash; a failure must leave the persona zeroed and name an error; a
 * persona that loads must satisfy the bounds the card relies on.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "persona.h"
#include "vcard.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct persona persona;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char ids[4][PERSONA_ID_MAX + 1];
    size_t n = 0;
    struct persona_diag d;
    if (persona_list_json((const char *)data, size, ids, 4, &n, &d) != PERSONA_OK) {
        if (d.err == PERSONA_OK)
            __builtin_trap();
        return 0;
    }
    for (size_t i = 0; i < n && i < 4; i++) {
        enum persona_err e = persona_load_json((const char *)data, size, ids[i], &persona, &d);
        if (e != PERSONA_OK) {
            if (d.err != e || persona.n_files != 0 || persona.atr_len != 0)
                __builtin_trap();
            continue;
        }
        if (persona.atr_len < 2 || persona.atr_len > PERSONA_ATR_MAX ||
            persona.n_files > PERSONA_MAX_FILES || persona.pool_len > PERSONA_POOL_MAX ||
            persona.max_ne > 65536 || persona.max_nc > 65535 || persona.n_protocols < 1 ||
            persona.n_protocols > 2 || strlen(persona.id) == 0)
            __builtin_trap();
        for (size_t f = 0; f < persona.n_files; f++)
            if (persona.files[f].offset + persona.files[f].size > persona.pool_len)
                __builtin_trap();
        /* Every persona that loads makes a card. */
        static struct vcard card;
        if (vcard_init(&card, &persona, NULL, NULL) != VCARD_OK)
            __builtin_trap();
    }
    return 0;
}

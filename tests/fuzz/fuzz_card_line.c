/*
 * libFuzzer target: the virtual card's contacts (host/vcard/card_line.c) fed
 * by a hostile reader. The first input byte picks one of four cards compiled
 * in below (the default persona of tests/data/personas.json: T=1 preferred,
 * direct convention, WTX when slow; its inverse-convention twin; the T=0-only
 * card, which sends NULL bytes when slow; a T=1 card with a class indicator
 * for A and B only) and whether the card starts in the slot. The rest is a
 * stream of simline records (hawiya/simline.h) as the reader would send them;
 * bytes that do not decode are skipped one at a time. Where a record should
 * start, a byte F0..F7 puts the card in (odd) or takes it out (even) and
 * F8..FF schedules its removal 0.5 to 4 ms of line time later (the slot
 * switch a test pulls, card_line_remove_after).
 *
 * Invariants, after every record: out_len within out, and out holds a valid
 * simline stream (every record decodes, only IO, PRESENCE and SYNC come from
 * a card) that ends with SYNC (7816-3 timing rests on it: the reader decides
 * its timeouts once the card is quiet).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "card_line.h"
#include "hawiya/simline.h"
#include "persona.h"
#include "vcard.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The default persona's card data (tests/data/personas.json, trimmed to the
 * files the file system serves without the ICAO applet). */
#define HOLDER                                                                                     \
    "\"holder\": {\"document_type\": \"ID\", \"issuing_state\": \"MAR\","                          \
    " \"document_number\": \"AB1234567\", \"surname\": \"BENALI\","                                \
    " \"given_names\": \"MOHAMED<AMINE\", \"nationality\": \"MAR\", \"birth_date\": \"900115\","   \
    " \"sex\": \"M\", \"expiry_date\": \"310514\", \"can\": \"123456\","                           \
    " \"optional_data\": \"BE123456\"},"
#define FILES                                                                                      \
    "\"files\": ["                                                                                 \
    " {\"fid\": \"011C\", \"sfi\": 28, \"data\": \"31 14 30 12 06 0A 04 00 7F 00 07 02 02 04 02 "  \
    "02 02 01 02 02 01 0D\"},"                                                                     \
    " {\"fid\": \"2F01\", \"data\": \"7F 66 09 02 02 04 09 02 03 01 00 02\"},"                     \
    " {\"path\": [\"A0000002471001\"], \"fid\": \"0102\", \"sfi\": 2,"                             \
    "  \"generate\": {\"size\": 3000, \"pattern\": \"counter\"}}"                                  \
    "]"
#define TIMING(slow)                                                                               \
    "\"timing\": {\"default_us\": 2000, \"select_us\": 3000, \"read_binary_us\": 4000,"            \
    " \"get_challenge_us\": 3000, \"internal_authenticate_us\": 150000,"                           \
    " \"general_authenticate_us\": 80000, \"when_slow\": \"" slow "\"},"
#define APDU_EXT                                                                                   \
    "\"apdu\": {\"extended_length\": true, \"max_command_data\": 1024,"                            \
    " \"max_response_data\": 65536},"

static const char personas_json[] = "{\"version\": 1, \"personas\": ["
                                    "{\"id\": \"default\", \"description\": \"fuzz\", \"atr\": "
                                    "\"3B 95 96 80 31 FE 45 80 73 B4 21 40 2F\","
                                    " \"protocols\": [1, 0], " APDU_EXT TIMING("wtx") HOLDER FILES
    "},"
    "{\"id\": \"inverse\", \"description\": \"fuzz\", \"atr\": \"3F 95 96 80 31 FE 45 80 73 B4 21 "
    "40 2F\","
    " \"protocols\": [1, 0], " APDU_EXT TIMING("wtx") HOLDER FILES
    "},"
    "{\"id\": \"t0-only\", \"description\": \"fuzz\", \"atr\": \"3B 15 13 80 73 B4 21 00\", "
    "\"protocols\": [0],"
    " \"apdu\": {\"extended_length\": false, \"max_command_data\": 255,"
    " \"max_response_data\": 256}," TIMING("null") HOLDER FILES
    "},"
    "{\"id\": \"class-ab\", \"description\": \"fuzz\", \"atr\": \"3B 95 96 80 B1 FE 45 1F 03 80 73 "
    "B4 21 40 B3\","
    " \"protocols\": [1, 0], " APDU_EXT TIMING("wtx") HOLDER FILES "}"
                                                                   "]}";

static const char *const ids[4] = {"default", "inverse", "t0-only", "class-ab"};

static struct persona personas[4];
static struct vcard card;
static struct card_line line;

static int fuzz_rng(void *ctx, uint8_t *out, size_t n)
{
    (void)ctx;
    memset(out, 0x5A, n);
    return 0;
}

/* What the card wrote since the last check: whole records, ending with SYNC. */
static void check_out(void)
{
    if (line.out_len > sizeof line.out || line.out_len < SIMLINE_HEADER_SIZE)
        __builtin_trap();
    size_t off = 0;
    enum simline_type last = SIMLINE_VCC;
    while (off < line.out_len) {
        struct simline_msg m;
        size_t used;
        if (simline_decode(line.out + off, line.out_len - off, &m, &used) != SIMLINE_OK ||
            used > line.out_len - off)
            __builtin_trap();
        if (m.type != SIMLINE_IO && m.type != SIMLINE_SYNC && m.type != SIMLINE_PRESENCE)
            __builtin_trap();
        last = m.type;
        off += used;
    }
    if (last != SIMLINE_SYNC)
        __builtin_trap();
    line.out_len = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool loaded;
    if (!loaded) {
        for (int i = 0; i < 4; i++) {
            struct persona_diag diag;
            if (persona_load_json(personas_json, sizeof personas_json - 1, ids[i], &personas[i],
                                  &diag) != PERSONA_OK) {
                char msg[256];
                persona_diag_format(&diag, msg, sizeof msg);
                fprintf(stderr, "fuzz_card_line: %s\n", msg);
                __builtin_trap();
            }
        }
        loaded = true;
    }
    if (size < 1 || size > 16384)
        return 0;
    const struct persona *p = &personas[data[0] & 3];
    if (vcard_init(&card, p, fuzz_rng, NULL) != VCARD_OK ||
        card_line_init(&line, &card, p, (data[0] & 4) == 0) != 0)
        __builtin_trap();
    data++;
    size--;

    while (size > 0) {
        struct simline_msg m;
        size_t used;
        if (data[0] >= 0xF0) {
            /* The test harness's slot switch: out, back in, or out later. */
            if (data[0] >= 0xF8)
                card_line_remove_after(&line, (uint64_t)((data[0] & 7) + 1) * 500000u);
            else
                card_line_set_present(&line, (data[0] & 1) != 0);
            if (line.out_len > sizeof line.out)
                __builtin_trap();
            line.out_len = 0;
            data++;
            size--;
            continue;
        }
        enum simline_err e = simline_decode(data, size, &m, &used);
        if (e == SIMLINE_ERR_INCOMPLETE)
            break;
        if (e != SIMLINE_OK) {
            data++;
            size--;
            continue;
        }
        card_line_input(&line, &m);
        check_out();
        data += used;
        size -= used;
    }
    return 0;
}

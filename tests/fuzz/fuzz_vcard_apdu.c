/*
 * libFuzzer target: a stream of arbitrary command APDUs into a virtual card
 * built from a persona compiled in below. Input: records of [ctl][len][len
 * bytes of APDU]; ctl picks the response buffer size and may reset the card.
 * The card must never crash, always answer with 2..cap bytes ending in a
 * valid SW1 (61..6F, 90..9F), keep its data field within the persona's
 * maximum, and keep its current DF / EF consistent.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "persona.h"
#include "vcard.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char persona_json[] =
    "{\"version\": 1, \"personas\": [{"
    "\"id\": \"fuzz\", \"description\": \"default-like card with a big EF\","
    "\"apdu\": {\"extended_length\": true, \"max_command_data\": 1024,"
    "           \"max_response_data\": 65536},"
    "\"holder\": {\"document_type\": \"ID\", \"issuing_state\": \"MAR\","
    "  \"document_number\": \"AB1234567\", \"surname\": \"BENALI\","
    "  \"given_names\": \"MOHAMED<AMINE\", \"nationality\": \"MAR\", \"birth_date\": \"900115\","
    "  \"sex\": \"M\", \"expiry_date\": \"310514\", \"can\": \"123456\", \"optional_data\": \"\"},"
    "\"files\": ["
    "  {\"fid\": \"011C\", \"sfi\": 28, \"data\": \"31 14 30 12 06 0A 04 00 7F 00 07 02 02 04 02 "
    "02 "
    "02 01 02 02 01 0D\"},"
    "  {\"fid\": \"2F01\", \"data\": \"7F 66 09 02 02 04 09 02 03 01 00 02\"},"
    "  {\"fid\": \"0E00\", \"data\": \"\"},"
    "  {\"path\": [\"5000\"], \"fid\": \"5001\", \"sfi\": 1, \"data\": \"01 02 03\"},"
    "  {\"path\": [\"5000\", \"A000000247200100\"], \"fid\": \"0101\", \"data\": \"AA\"},"
    "  {\"path\": [\"A0000002471001\"], \"fid\": \"011E\", \"sfi\": 30, \"access\": \"sm\","
    "   \"data\": \"60 16 5F 01 04 30 31 30 37\"},"
    "  {\"path\": [\"A0000002471001\"], \"fid\": \"0102\", \"sfi\": 2, \"access\": \"sm\","
    "   \"generate\": {\"size\": 40000, \"pattern\": \"counter\"}},"
    "  {\"path\": [\"A0000002471001\"], \"fid\": \"0103\", \"sfi\": 3, \"access\": \"never\","
    "   \"data\": \"63 00\"}"
    "]}]}";

static struct persona persona;
static struct vcard card;
static uint8_t resp[65536 + 2];

static int fuzz_rng(void *ctx, uint8_t *out, size_t n)
{
    (void)ctx;
    memset(out, 0x5A, n);
    return 0;
}

/* Stands in for the ICAO applet: CLA 0C commands go to the file system as if unwrapped. */
static enum vcard_applet_result sm_process(struct vcard *c, void *ctx, const struct apdu *a,
                                           uint8_t *out, size_t cap, size_t *rlen, uint16_t *sw)
{
    (void)ctx;
    if ((a->cla & 0x0C) != 0x0C)
        return VCARD_APPLET_PASS;
    *sw = vcard_fs_command(c, a, VFS_SEC_SM, out, cap, rlen);
    return VCARD_APPLET_DONE;
}

static void sm_reset(struct vcard *c, void *ctx)
{
    (void)c;
    (void)ctx;
}

static const struct vcard_applet sm_applet = {
    .name = "fuzz-sm",
    .aid = {0xA0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x01},
    .aid_len = 7,
    .process = sm_process,
    .reset = sm_reset,
};

static void check_state(const struct vcard *c)
{
    const struct vfs *v = &c->vfs;
    if (v->cur_df < 0 || (size_t)v->cur_df >= v->n_nodes || v->nodes[v->cur_df].kind == VFS_EF)
        __builtin_trap();
    if (v->cur_ef >= 0 && ((size_t)v->cur_ef >= v->n_nodes || v->nodes[v->cur_ef].kind != VFS_EF))
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t caps[8] = {0, 2, 3, 6, 18, 258, 1000, sizeof resp};
    static bool loaded;
    if (!loaded) {
        if (persona_load_json(persona_json, sizeof persona_json - 1, "fuzz", &persona, NULL) !=
            PERSONA_OK)
            __builtin_trap();
        loaded = true;
    }
    if (vcard_init(&card, &persona, fuzz_rng, NULL) != VCARD_OK ||
        vcard_register_applet(&card, &sm_applet, NULL) != VCARD_OK)
        __builtin_trap();

    size_t i = 0;
    while (i + 2 <= size) {
        uint8_t ctl = data[i];
        size_t len = data[i + 1];
        i += 2;
        if (ctl & 0x80) /* long command: a second length byte */
            len = len << 4 | (i < size ? data[i++] & 0x0F : 0);
        if (len > size - i)
            len = size - i;
        if ((ctl & 0x70) == 0x70)
            vcard_reset(&card);
        size_t cap = caps[ctl & 7], rlen = 12345;
        uint32_t us;
        enum vcard_err e = vcard_apdu(&card, data + i, len, resp, cap, &rlen, &us);
        i += len;
        if (cap < 2) {
            if (e != VCARD_ERR_BUFFER || rlen != 0)
                __builtin_trap();
            continue;
        }
        if (e != VCARD_OK || rlen < 2 || rlen > cap || rlen - 2 > persona.max_ne)
            __builtin_trap();
        uint8_t sw1 = resp[rlen - 2];
        if (!((sw1 >= 0x61 && sw1 <= 0x6F) || (sw1 >= 0x90 && sw1 <= 0x9F)))
            __builtin_trap();
        check_state(&card);
    }
    return 0;
}

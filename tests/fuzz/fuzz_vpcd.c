/*
 * libFuzzer target: a byte stream from vsmartcard's vpcd driver into the
 * virtual card's end of the link (host/vcard/vpcd.h): framed by vpcd_frame,
 * each message answered by vpcd_handle over a card with the default persona
 * and the loopback application. Every answer must be one whole frame whose
 * length field matches, and an APDU must always be answered.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loopback_applet.h"
#include "persona.h"
#include "vcard.h"
#include "vpcd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct persona persona;
static struct vcard card;
static uint8_t out[VPCD_MAX_MESSAGE];
static bool ready;

static const char personas[] =
    "{\"version\":1,\"personas\":[{\"id\":\"f\",\"description\":\"fuzz\","
    "\"apdu\":{\"extended_length\":true,\"max_command_data\":65535,\"max_response_data\":65536},"
    "\"holder\":{\"document_type\":\"ID\",\"issuing_state\":\"MAR\",\"document_number\":"
    "\"AB1234567\",\"surname\":\"A\",\"given_names\":\"B\",\"nationality\":\"MAR\","
    "\"birth_date\":\"900115\",\"sex\":\"M\",\"expiry_date\":\"310514\",\"can\":\"123456\"}}]}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ready) {
        struct persona_diag d;
        if (persona_load_json(personas, strlen(personas), "f", &persona, &d) != PERSONA_OK)
            __builtin_trap();
        ready = true;
    }
    if (vcard_init(&card, &persona, NULL, NULL) != VCARD_OK ||
        loopback_applet_register(&card) != VCARD_OK)
        __builtin_trap();
    struct vpcd_card vc = {.card = &card, .persona = &persona};
    size_t off = 0;
    while (off < size) {
        size_t n, k;
        enum vpcd_err e = vpcd_frame(data + off, size - off, &n);
        if (e == VPCD_ERR_NEED_MORE)
            break;
        if (e == VPCD_OK) {
            size_t payload = n - VPCD_HEADER;
            e = vpcd_handle(&vc, data + off + VPCD_HEADER, payload, out, sizeof out, &k);
            if (e == VPCD_OK && k &&
                (k < VPCD_HEADER + 1 || (size_t)(out[0] << 8 | out[1]) != k - 2))
                __builtin_trap();
            if (payload > 1 && (e != VPCD_OK || k < VPCD_HEADER + 2))
                __builtin_trap();
        }
        off += n;
    }
    return 0;
}

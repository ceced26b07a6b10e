/*
 * libFuzzer target: the virtual cards' side of the RF field (host/vcard/rf_field.h), what
 * hawiya-vcard reads from a reader's contactless socket. Two cards, a Type A one (double size
 * UID, ATS with TA / TB / TC) and a Type B one (ATQB of the Algerian card), enter and leave the
 * field while arbitrary frames arrive at any bit rate, for either type, the CRC made right when
 * the input asks so that they get past the activation machines into the block protocol and the
 * APDU core. Every batch of output must be whole simline records (RF frames from the cards,
 * ending with SYNC), fit the output buffer, go forward in time, and each answer must fit the
 * frame sizes the cards announced.
 *
 * Input records: a kind byte, then
 *   kind % 4 == 0: field on / off (bit 2);
 *   kind % 4 == 1: a frame: type (bit 2), rate (bits 3-4), fix the CRC (bit 5), short frame of 7
 *                  bits (bit 6); a length byte and that many bytes;
 *   kind % 4 == 2: card (bit 2) enters (bit 3), leaves, or leaves after (kind >> 4) frames;
 *   kind % 4 == 3: a canned frame (bits 2-5) that moves activation on (REQA / WUPA,
 *                  anticollision, SELECT of either level, RATS, PPS, WUPB, ATTRIB, an I-block,
 *                  R(ACK), S(WTX)), blocks as Type B (bit 6), at 848 kbit/s (bit 7) or 106.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hawiya/iso14443.h"
#include "hawiya/simline.h"
#include "persona.h"
#include "rf_field.h"
#include "vcard.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FILES                                                                                      \
    "\"files\": [{\"fid\": \"011C\", \"sfi\": 28, \"data\": \"31 14 30 12 06 0A 04 00 7F 00 07 "   \
    "02 02 04 02 02 02 01 02 02 01 0D\"},"                                                         \
    "{\"fid\": \"0F0F\", \"generate\": {\"size\": 3000, \"pattern\": \"counter\"}}]"
#define HOLDER                                                                                     \
    "\"holder\": {\"document_type\": \"ID\", \"issuing_state\": \"MAR\","                          \
    "\"document_number\": \"AB1234567\", \"surname\": \"BENALI\", \"given_names\": \"AMINE\","     \
    "\"nationality\": \"MAR\", \"birth_date\": \"900115\", \"sex\": \"M\","                        \
    "\"expiry_date\": \"310514\", \"can\": \"123456\", \"optional_data\": \"\"},"

static const char personas_json[] =
    "{\"version\": 1, \"personas\": ["
    "{\"id\": \"a\", \"description\": \"Type A\", \"interfaces\": [\"contactless\"],"
    "\"apdu\": {\"extended_length\": true, \"max_command_data\": 1024, \"max_response_data\": "
    "4096}," HOLDER
    "\"contactless\": {\"type\": \"A\", \"atqa\": \"44 00\", \"uid\": \"04 9C 49 6A 2F 58 80\","
    "\"sak\": \"20\", \"ats\": \"0A 78 77 71 02 80 73 84 21 C0\"}," FILES "},"
    "{\"id\": \"b\", \"description\": \"Type B\", \"interfaces\": [\"contactless\"],"
    "\"apdu\": {\"extended_length\": false, \"max_command_data\": 255, \"max_response_data\": "
    "224}," HOLDER
    "\"contactless\": {\"type\": \"B\", \"pupi\": \"5A 3C 91 E2\", \"app_data\": \"E1 68 6C "
    "17\", \"protocol_info\": \"77 83 95\", \"mbli\": 0}," FILES "}]}";

static struct persona persona[2];
static struct vcard card[2];
static struct rf_field field;

static int fuzz_rng(void *ctx, uint8_t *out, size_t n)
{
    (void)ctx;
    memset(out, 0xA5, n);
    return 0;
}

/* What a card sent must be whole records, RF frames then SYNC, in time order. */
static void check_out(const struct rf_field *f, uint64_t *t)
{
    size_t i = 0;
    bool sync = f->out_len == 0;
    while (i < f->out_len) {
        struct simline_msg m;
        size_t used;
        if (sync || simline_decode(f->out + i, f->out_len - i, &m, &used) != SIMLINE_OK)
            __builtin_trap();
        if (m.t_ns < *t)
            __builtin_trap();
        *t = m.t_ns;
        if (m.type == SIMLINE_SYNC)
            sync = true;
        else if (m.type != SIMLINE_RF_FRAME || m.u.rf.rate > ISO14443_848 ||
                 /* FSD 256 at most is what a reader here announces; ATQ / ATS are smaller */
                 m.u.rf.n_bits > 8 * 258)
            __builtin_trap();
        i += used;
    }
    if (f->out_len > 0 && !sync)
        __builtin_trap();
}

static void send(struct rf_field *f, const struct simline_msg *m, uint64_t *t)
{
    f->out_len = 0;
    rf_field_input(f, m);
    check_out(f, t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool loaded;
    if (!loaded) {
        static const char *const ids[2] = {"a", "b"};
        for (int k = 0; k < 2; k++)
            if (persona_load_json(personas_json, sizeof personas_json - 1, ids[k], &persona[k],
                                  NULL) != PERSONA_OK)
                __builtin_trap();
        loaded = true;
    }
    rf_field_init(&field);
    for (unsigned k = 0; k < 2; k++) {
        if (vcard_init(&card[k], &persona[k], fuzz_rng, NULL) != VCARD_OK ||
            rf_field_place(&field, k, &card[k], &persona[k], 12345u + k) != 0)
            __builtin_trap();
        rf_field_enter(&field, k);
    }
    static const uint8_t canned[][12] = {
        {1, 0x26},                                                 /* REQA (7 bits) */
        {1, 0x52},                                                 /* WUPA */
        {2, 0x93, 0x20},                                           /* anticollision CL1 */
        {7, 0x93, 0x70, 0x88, 0x04, 0x9C, 0x49, 0x59},             /* SELECT CL1 */
        {2, 0x95, 0x20},                                           /* anticollision CL2 */
        {7, 0x95, 0x70, 0x6A, 0x2F, 0x58, 0x80, 0x9D},             /* SELECT CL2 */
        {2, 0xE0, 0x80},                                           /* RATS FSDI 8, CID 0 */
        {3, 0xD0, 0x11, 0x0F},                                     /* PPS 848 both ways */
        {3, 0x05, 0x00, 0x08},                                     /* WUPB */
        {9, 0x1D, 0x5A, 0x3C, 0x91, 0xE2, 0x00, 0xF8, 0x01, 0x00}, /* ATTRIB 848, FSD 256 */
        {8, 0x02, 0x00, 0xA4, 0x02, 0x0C, 0x02, 0x0F, 0x0F},       /* I(0) SELECT EF 0F0F */
        {6, 0x03, 0x00, 0xB0, 0x00, 0x00, 0x00},                   /* I(1) READ BINARY 256 */
        {1, 0xA2},                                                 /* R(ACK) 0 */
        {1, 0xA3},                                                 /* R(ACK) 1 */
        {2, 0xF2, 0x0A},                                           /* S(WTX) response */
        {1, 0xC2},                                                 /* S(DESELECT) */
    };
    uint64_t t = 0;
    uint8_t frame[300];
    size_t i = 0;
    while (i < size) {
        uint8_t kind = data[i++];
        struct simline_msg m = {.t_ns = field.now_ns + 100000};
        switch (kind & 3) {
        case 0:
            m.type = SIMLINE_RF_FIELD;
            m.u.field = (kind >> 2) & 1;
            send(&field, &m, &t);
            break;
        case 2: {
            unsigned c = (kind >> 2) & 1;
            if (kind & 8)
                rf_field_enter(&field, c);
            else if (kind & 0x80)
                rf_field_leave_after_frames(&field, c, kind >> 4 & 7);
            else
                rf_field_leave(&field, c);
            break;
        }
        default: {
            enum iso14443_type type = (kind >> 2) & 1 ? ISO14443_B : ISO14443_A;
            size_t n;
            if ((kind & 3) == 3) {
                const uint8_t *cf = canned[(kind >> 2) % (sizeof canned / sizeof canned[0])];
                n = cf[0];
                memcpy(frame, cf + 1, n);
                type = cf[1] == 0x05 || cf[1] == 0x1D || (kind & 0x40) ? ISO14443_B : ISO14443_A;
            } else {
                if (i >= size)
                    return 0;
                n = data[i++];
                if (n > size - i)
                    n = size - i;
                if (n > sizeof frame - 2)
                    n = sizeof frame - 2;
                memcpy(frame, data + i, n);
                i += n;
            }
            size_t bits = 8 * n;
            bool short_frame =
                (kind & 3) == 3 ? frame[0] == 0x26 || frame[0] == 0x52 : (kind & 0x40) != 0;
            bool anticol = (kind & 3) == 3 && n == 2 && (frame[0] == 0x93 || frame[0] == 0x95);
            if (short_frame && n >= 1) {
                bits = 7;
            } else if (!anticol && ((kind & 3) == 3 || (kind & 0x20)) && n >= 1) {
                iso14443_crc_append(type, frame, n);
                bits += 16;
            }
            if (bits == 0)
                break;
            m.type = SIMLINE_RF_FRAME;
            m.u.rf = (struct simline_rf){
                .type = (uint8_t)type,
                .rate = (uint8_t)((kind & 3) == 3 ? ((kind & 0x80) ? ISO14443_848 : ISO14443_106)
                                                  : (kind >> 3) & 3),
                .n_bits = (uint16_t)bits,
                .data = frame};
            send(&field, &m, &t);
            break;
        }
        }
    }
    return 0;
}

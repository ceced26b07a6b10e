/*
 * libFuzzer target: hostile APDUs into the eMRTD application of the virtual
 * card (icao_applet over the PKI card of the "default" persona).
 *
 * Input: [mode] then records [ctl][len][len bytes]; ctl picks the response
 * buffer size and may reset the card.
 *   mode 0: raw APDUs into a fresh card (PACE / BAC / plain commands);
 *   mode 1: raw APDUs into a card where PACE with the CAN is done (every
 *           protected command the fuzzer makes up must fail the MAC);
 *   mode 2: after PACE, each record is a plain command that the harness
 *           wraps with the reader's session and whose answer it unwraps.
 * Invariants: the card always answers 2..cap bytes with SW1 in 61..6F or
 * 90..9F; an unprotected answer to a protected command is an error status
 * and a 6988 ends the session; in mode 2 every protected answer unwraps
 * with the reader's keys (until Chip Authentication, which changes them).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hawiya/cardaccess.h"
#include "hawiya/pace.h"
#include "hawiya/sm.h"
#include "icao_applet.h"
#include "persona.h"
#include "pki_card.h"
#include "vcard.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct persona persona;
static struct pki_card pki;
static struct vcard card, fresh_card, pace_card_snap;
static struct icao_applet applet, fresh_applet, pace_applet_snap;
static struct sm_ctx reader_sm, pace_reader_sm;
static uint64_t rng_state;
static uint8_t resp[8192], buf[70000], plain[8192];

static int fuzz_rng(void *ctx, unsigned char *out, size_t n)
{
    uint64_t *s = ctx;
    for (size_t i = 0; i < n; i++) {
        *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
        out[i] = (uint8_t)(*s >> 56);
    }
    return 0;
}

static uint16_t sw_of(const uint8_t *r, size_t n)
{
    return (uint16_t)(r[n - 2] << 8 | r[n - 1]);
}

/* The reader's PACE with the CAN, once, to snapshot a card with secure messaging up. */
static void setup(void)
{
    struct security_infos si;
    struct pace p;
    struct pace_result r;
    uint8_t cmd[PACE_APDU_MAX];
    size_t idx, n, rlen;
    static const uint8_t zero[16];

    if (persona_load_file(HAWIYA_PERSONAS, "default", &persona, NULL) != PERSONA_OK ||
        pki_card_load(&pki, HAWIYA_PKI_CARDS "/default", NULL) != PKI_CARD_OK ||
        pki_card_install(&pki, &persona, NULL) != PKI_CARD_OK ||
        vcard_init(&card, &persona, fuzz_rng, &rng_state) != VCARD_OK ||
        icao_applet_init(&applet, &pki, &persona, fuzz_rng, &rng_state) != ICAO_APPLET_OK ||
        icao_applet_register(&applet, &card) != ICAO_APPLET_OK)
        __builtin_trap();
    fresh_card = card;
    fresh_applet = applet;

    const struct pki_card_file *ca = pki_card_find(&pki, "EF.CardAccess");
    if (!ca || cardaccess_parse(ca->data, ca->len, &si) != CARDACCESS_OK ||
        cardaccess_select_pace(&si, &idx) != CARDACCESS_OK)
        __builtin_trap();
    enum pace_err e =
        pace_begin(&p, &si.pace[idx], PACE_PASSWORD_CAN, (const uint8_t *)persona.holder.can,
                   strlen(persona.holder.can), 0, fuzz_rng, &rng_state, NULL, cmd, sizeof cmd, &n);
    while (e == PACE_OK && n > 0) {
        if (vcard_apdu(&card, cmd, n, resp, sizeof resp, &rlen, NULL) != VCARD_OK)
            __builtin_trap();
        e = pace_step(&p, resp, rlen, cmd, sizeof cmd, &n);
    }
    if (e != PACE_OK || pace_get_result(&p, &r) != PACE_OK ||
        sm_init(&pace_reader_sm, r.cipher, r.ks_enc, r.ks_mac, zero) != SM_OK ||
        icao_applet_session(&applet) != ICAO_SESSION_PACE)
        __builtin_trap();
    pace_wipe(&p);
    pace_card_snap = card;
    pace_applet_snap = applet;
}

static void check_answer(size_t cap, enum vcard_err e, size_t rlen)
{
    if (cap < 2) {
        if (e != VCARD_ERR_BUFFER || rlen != 0)
            __builtin_trap();
        return;
    }
    if (e != VCARD_OK || rlen < 2 || rlen > cap || rlen - 2 > persona.max_ne)
        __builtin_trap();
    uint8_t sw1 = resp[rlen - 2];
    if (!((sw1 >= 0x61 && sw1 <= 0x6F) || (sw1 >= 0x90 && sw1 <= 0x9F)))
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t caps[8] = {0, 2, 3, 18, 64, 258, 1000, sizeof resp};
    static bool ready;
    if (!ready) {
        setup();
        ready = true;
    }
    if (size < 1)
        return 0;
    unsigned mode = data[0] % 3;
    /* The card and the applet are plain structs: a snapshot restores a whole session. */
    card = mode == 0 ? fresh_card : pace_card_snap;
    applet = mode == 0 ? fresh_applet : pace_applet_snap;
    reader_sm = pace_reader_sm;
    rng_state = 0x9303;
    bool keys_may_change = false;

    size_t i = 1;
    while (i + 2 <= size) {
        uint8_t ctl = data[i];
        size_t len = data[i + 1];
        i += 2;
        if (ctl & 0x80) /* long command: a second length byte */
            len = len << 4 | (i < size ? data[i++] & 0x0F : 0);
        if (len > size - i)
            len = size - i;
        const uint8_t *cmd = data + i;
        i += len;
        if ((ctl & 0x70) == 0x70)
            vcard_reset(&card);
        size_t cap = caps[ctl & 7], rlen = 12345, n = len;
        bool wrapped = false;

        if (mode == 2 && reader_sm.alive) {
            struct apdu a, prot;
            if (apdu_decode(cmd, len, &a, NULL) == APDU_OK &&
                sm_wrap_command(&reader_sm, &a, buf, sizeof buf, &prot) == SM_OK &&
                apdu_encode(&prot, plain, sizeof plain, &n) == APDU_OK) {
                cmd = plain;
                wrapped = true;
                if (a.ins == 0x22 || a.ins == 0x86)
                    keys_may_change = true;
            }
        }
        enum vcard_err e = vcard_apdu(&card, cmd, n, resp, cap, &rlen, NULL);
        check_answer(cap, e, rlen);
        if (cap < 2)
            continue;
        if (rlen == 2 && sw_of(resp, rlen) == SW_SM_DATA_OBJECTS_INCORRECT &&
            icao_applet_session(&applet) != ICAO_SESSION_NONE)
            __builtin_trap();
        if (wrapped && rlen > 2 && !keys_may_change) {
            struct rapdu r;
            /* A protected answer the reader cannot open would be a card bug. */
            if (sm_unwrap_response(&reader_sm, resp, rlen, buf, sizeof buf, &r) != SM_OK)
                __builtin_trap();
            if (r.len > rlen)
                __builtin_trap();
        } else if (wrapped) {
            /* A plain error (6700 for a length the card refuses, 6F00 when the
             * answer cannot fit cap): the reader gives up on the session too. */
            sm_wipe(&reader_sm);
        }
    }
    return 0;
}

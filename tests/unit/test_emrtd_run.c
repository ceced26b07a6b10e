/*
 * emrtd_run: the eMRTD inspection on the host, against the virtual card in
 * the same process (its ICAO application over the test PKI): the phases in
 * order with their APDU counts, the APDU sizes decided once per card
 * (extended, short 256, and the fallbacks a card's "wrong length" forces),
 * transport failures and cancellation by name, a wrong CAN, and a PIN-pad
 * reader that runs PACE and secure messaging itself (tests/support/pinpad.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emrtd_run.h"
#include "hawiya/atr.h"
#include "hawiya/card_caps.h"
#include "icao_applet.h"
#include "persona.h"
#include "pinpad.h"
#include "pcsc_part10.h"
#include "pki_card.h"
#include "vcard.h"

#define CHALLENGE_LEN 32
#define ORIGIN        "https://record.example"

struct env {
    struct persona persona;
    struct pki_card pki;
    struct vcard card;
    struct icao_applet ia;
    uint64_t card_rng, host_rng;
    struct emrtd_run run;
    uint8_t challenge[CHALLENGE_LEN];
    /* the transport's behaviour */
    unsigned sent;
    unsigned fail_at;     /* the APDU number that fails in transport (0: none) */
    bool refuse_le00;     /* a card that answers 6700 to a short READ BINARY with Le 00 */
    bool refuse_extended; /* a card that answers 6700 to any extended APDU */
    unsigned reads, extended_reads;
    const char *cancel_at; /* the phase whose report says stop */
    char phases[16][16];
    unsigned phase_apdus[16];
    size_t n_phases;
    char cardaccess_detail[96];
    struct pinpad pad;
};

static int test_rng(void *ctx, unsigned char *out, size_t n)
{
    uint64_t *s = ctx;
    for (size_t i = 0; i < n; i++) {
        *s ^= *s >> 12;
        *s ^= *s << 25;
        *s ^= *s >> 27;
        out[i] = (uint8_t)((*s * 0x2545F4914F6CDD1DULL) >> 56);
    }
    return 0;
}

static struct env *card(const char *id)
{
    struct env *e = calloc(1, sizeof *e);
    char path[4096];
    struct persona_diag pd;
    struct pki_card_diag kd;
    assert_non_null(e);
    snprintf(path, sizeof path, "%s/personas.json", getenv("HAWIYA_TEST_DATA"));
    assert_int_equal(persona_load_file(path, id, &e->persona, &pd), PERSONA_OK);
    snprintf(path, sizeof path, "%s/%s", getenv("HAWIYA_PKI_CARDS"), id);
    assert_int_equal(pki_card_load(&e->pki, path, &kd), PKI_CARD_OK);
    assert_int_equal(pki_card_install(&e->pki, &e->persona, &kd), PKI_CARD_OK);
    e->card_rng = 0x9303000000000011ULL;
    e->host_rng = 0x7816000000000003ULL;
    assert_int_equal(vcard_init(&e->card, &e->persona, test_rng, &e->card_rng), VCARD_OK);
    assert_int_equal(icao_applet_init(&e->ia, &e->pki, &e->persona, test_rng, &e->card_rng),
                     ICAO_APPLET_OK);
    assert_int_equal(icao_applet_register(&e->ia, &e->card), ICAO_APPLET_OK);
    for (int i = 0; i < CHALLENGE_LEN; i++)
        e->challenge[i] = (uint8_t)i;
    return e;
}

static void done(struct env *e)
{
    emrtd_run_clear(&e->run);
    icao_applet_wipe(&e->ia);
    pki_card_free(&e->pki);
    persona_clear(&e->persona);
    pinpad_free(&e->pad);
    free(e);
}

static int to_card(void *ctx, const uint8_t *cmd, size_t n, uint8_t *resp, size_t cap, size_t *rlen)
{
    struct env *e = ctx;
    return vcard_apdu(&e->card, cmd, n, resp, cap, rlen, NULL) == VCARD_OK ? 0 : -1;
}

static long tx(void *ctx, const uint8_t *cmd, size_t n, uint8_t *resp, size_t cap, size_t *rlen)
{
    struct env *e = ctx;
    e->sent++;
    if (e->fail_at && e->sent == e->fail_at)
        return -5;
    struct apdu a;
    enum apdu_case c;
    bool decoded = apdu_decode(cmd, n, &a, &c) == APDU_OK;
    if (decoded && (a.ins == 0xB0 || (a.cla & 0x0C))) {
        e->reads += a.ins == 0xB0;
        e->extended_reads += a.ins == 0xB0 && a.extended;
    }
    /* Only plain commands: under secure messaging the outer Le is always 00 (9303-11 §9.8). */
    if (decoded &&
        ((e->refuse_le00 && a.ins == 0xB0 && !(a.cla & 0x0C) && !a.extended && a.ne == 256) ||
         (e->refuse_extended && a.extended))) {
        resp[0] = 0x67;
        resp[1] = 0x00;
        *rlen = 2;
        return 0;
    }
    if (e->pad.card)
        return pinpad_transmit(&e->pad, cmd, n, resp, cap, rlen) == 0 ? 0 : -6;
    return to_card(e, cmd, n, resp, cap, rlen) == 0 ? 0 : -7;
}

static bool on_phase(void *ctx, const struct emrtd_run_phase *ph)
{
    struct env *e = ctx;
    assert_true(e->n_phases < 16);
    snprintf(e->phases[e->n_phases], 16, "%s", ph->name);
    e->phase_apdus[e->n_phases++] = ph->apdus;
    if (!strcmp(ph->name, "cardaccess"))
        snprintf(e->cardaccess_detail, sizeof e->cardaccess_detail, "%s", ph->detail);
    return !e->cancel_at || strcmp(ph->name, e->cancel_at) != 0;
}

static struct emrtd_params params(struct env *e, const char *can, bool extended, size_t max_le)
{
    return (struct emrtd_params){.can = can ? (const uint8_t *)can : NULL,
                                 .can_len = can ? strlen(can) : 0,
                                 .challenge = e->challenge,
                                 .challenge_len = CHALLENGE_LEN,
                                 .origin = (const uint8_t *)ORIGIN,
                                 .origin_len = strlen(ORIGIN),
                                 .chip_authentication = true,
                                 .active_authentication = true,
                                 .max_le = max_le,
                                 .extended = extended,
                                 .rng = test_rng,
                                 .rng_ctx = &e->host_rng};
}

static void expect_phases(const struct env *e, const char *const *names, const unsigned *apdus)
{
    size_t k = 0;
    while (names[k])
        k++;
    assert_int_equal(e->n_phases, k);
    for (size_t i = 0; i < k; i++) {
        assert_string_equal(e->phases[i], names[i]);
        assert_int_equal(e->phase_apdus[i], apdus[i]);
    }
}

static void short_lengths(void **state)
{
    (void)state;
    struct env *e = card("default");
    struct emrtd_params p = params(e, "123456", false, 256);
    assert_int_equal(emrtd_run(&e->run, &p, tx, e, on_phase, e), EMRTD_RUN_OK);
    static const char *const names[] = {"cardaccess", "pace", "select", "read", "ca", "aa", NULL};
    /* read: EF.COM, DG1, DG11 (EF.COM lists it), DG14, DG15, and EF.SOD in
     * 223-byte pieces under short secure messaging. */
    static const unsigned apdus[] = {1, 5, 1, 10, 2, 1};
    expect_phases(e, names, apdus);
    assert_string_equal(e->cardaccess_detail, "short length, Le 256");
    assert_false(e->run.extended);
    assert_int_equal(e->run.max_le, 256);
    assert_int_equal(e->run.apdus, 20);
    assert_int_equal(e->extended_reads, 0);
    const struct emrtd_evidence *ev = &e->run.em.ev;
    assert_true(ev->pace && ev->ca && ev->aa && !ev->bac);
    assert_true(ev->file[EMRTD_DG1].present && ev->file[EMRTD_EF_SOD].present);
    /* EF.CardAccess as the test PKI made it: a SET OF SecurityInfos. */
    assert_true(ev->file[EMRTD_EF_CARDACCESS].len > 2 &&
                ev->file[EMRTD_EF_CARDACCESS].buf[0] == 0x31);
    done(e);
}

static void extended_lengths(void **state)
{
    (void)state;
    struct env *e = card("default");
    struct emrtd_params p = params(e, "123456", true, 4096);
    assert_int_equal(emrtd_run(&e->run, &p, tx, e, on_phase, e), EMRTD_RUN_OK);
    assert_string_equal(e->cardaccess_detail, "extended length, Le 4096");
    assert_true(e->run.extended);
    /* One READ BINARY per file: EF.CardAccess, EF.COM, DG1, DG11, DG14, DG15, EF.SOD. */
    assert_int_equal(e->reads, 7);
    assert_int_equal(e->run.apdus, 7 + 5 + 1 + 2 + 1);
    done(e);
}

static void sizes_fall_back_once_per_card(void **state)
{
    (void)state;
    /* Extended asked for, but the card refuses extended fields: short 256. */
    struct env *e = card("default");
    e->refuse_extended = true;
    struct emrtd_params p = params(e, "123456", true, 4096);
    assert_int_equal(emrtd_run(&e->run, &p, tx, e, on_phase, e), EMRTD_RUN_OK);
    assert_string_equal(e->cardaccess_detail, "short length, Le 256");
    assert_int_equal(e->run.apdus, 1 + 20); /* the refused first command, then the session */
    done(e);

    /* A card that refuses Le = 00: 224, and no more extended or 256 after. */
    e = card("default");
    e->refuse_le00 = true;
    p = params(e, "123456", false, 256);
    assert_int_equal(emrtd_run(&e->run, &p, tx, e, on_phase, e), EMRTD_RUN_OK);
    assert_string_equal(e->cardaccess_detail, "short length, Le 224");
    assert_int_equal(e->run.max_le, 224);
    assert_int_equal(e->run.apdus, 1 + 20);
    done(e);
}

/* A card whose ATR says nothing of its APDU sizes (the Algerian eID's has no
 * card capabilities): EF.ATR/INFO first, in the first phase, then the sizes
 * it gives. */
static void sizes_from_ef_atr_info(void **state)
{
    (void)state;
    struct env *e = card("algeria");
    struct atr atr;
    size_t need;
    struct emrtd_params p = params(e, "654321", true, 4096); /* its CAN (personas.json) */
    assert_int_equal(atr_parse(e->persona.atr, e->persona.atr_len, &atr, &need), ATR_OK);
    card_caps_from_hist(&atr.hist_decoded, &p.caps);
    assert_false(p.caps.known);
    p.atr_info = true;
    enum emrtd_run_err re = emrtd_run(&e->run, &p, tx, e, on_phase, e);
    if (re != EMRTD_RUN_OK)
        fail_msg("%s in %s: %s SW %04X", emrtd_run_err_str(re), e->run.phase, e->run.err_name,
                 e->run.sw);
    assert_string_equal(e->phases[0], "cardaccess");
    assert_int_equal(e->phase_apdus[0], 2); /* EF.ATR/INFO, EF.CardAccess */
    /* Its DO'7F66' gives sizes but no DO'47' says "extended Lc and Le": short,
     * at the 256 its 65538-byte responses leave room for (card_caps.h). */
    assert_string_equal(e->cardaccess_detail, "short length, Le 256");
    assert_int_equal(e->extended_reads, 0);
    done(e);
}

static void transport_failure_and_cancel(void **state)
{
    (void)state;
    struct env *e = card("default");
    e->fail_at = 9; /* cardaccess 1, pace 5, select 1, read: the second */
    struct emrtd_params p = params(e, "123456", false, 256);
    assert_int_equal(emrtd_run(&e->run, &p, tx, e, on_phase, e), EMRTD_RUN_ERR_TRANSPORT);
    assert_int_equal(e->run.transport_err, -5);
    assert_string_equal(e->run.phase, "read");
    done(e);

    e = card("default");
    e->cancel_at = "pace";
    p = params(e, "123456", false, 256);
    assert_int_equal(emrtd_run(&e->run, &p, tx, e, on_phase, e), EMRTD_RUN_ERR_CANCELLED);
    assert_int_equal(e->run.apdus, 1 + 5); /* stopped before the next phase's first command */
    assert_string_equal(emrtd_run_err_str(EMRTD_RUN_ERR_CANCELLED), "EMRTD_RUN_ERR_CANCELLED");
    done(e);
}

static void wrong_can(void **state)
{
    (void)state;
    struct env *e = card("default");
    struct emrtd_params p = params(e, "314159", false, 256);
    assert_int_equal(emrtd_run(&e->run, &p, tx, e, on_phase, e), EMRTD_RUN_ERR_CARD);
    assert_int_equal(e->run.err, EMRTD_ERR_PACE);
    assert_string_equal(e->run.err_name, "PACE_ERR_TOKEN_REJECTED");
    assert_int_equal(e->run.sw, 0x6300);
    assert_string_equal(e->run.phase, "pace");
    done(e);
}

static void pace_by_a_pin_pad(void **state)
{
    (void)state;
    struct env *e = card("default");
    uint8_t cmd[16], out[2048];
    size_t n, k;
    pinpad_init(&e->pad, "123456", to_card, e);
    assert_int_equal(pcsc10_pace_establish_cmd(PCSC10_PACE_PIN_CAN, NULL, 0, cmd, sizeof cmd, &n),
                     PCSC10_OK);
    assert_true(pinpad_execute_pace(&e->pad, cmd, n, out, sizeof out, &k));
    uint32_t result;
    const uint8_t *data;
    size_t len;
    struct pcsc10_pace_output po;
    assert_int_equal(pcsc10_pace_answer(out, k, &result, &data, &len), PCSC10_OK);
    assert_int_equal(result, 0);
    assert_int_equal(pcsc10_pace_output_parse(data, len, &po), PCSC10_OK);
    assert_int_equal(po.mse_sw, 0x9000);
    assert_int_equal(po.ef_cardaccess_len, 42); /* the test PKI's EF.CardAccess */
    assert_int_equal(po.id_icc_len, 65);        /* an uncompressed P-256 / brainpool point */

    struct emrtd_params p = params(e, NULL, false, 256);
    p.sm_by_reader = true;
    p.ef_cardaccess = po.ef_cardaccess;
    p.ef_cardaccess_len = po.ef_cardaccess_len;
    assert_int_equal(emrtd_run(&e->run, &p, tx, e, on_phase, e), EMRTD_RUN_OK);
    /* No PACE and no CA from the host: the reader holds the secure channel. */
    static const char *const names[] = {"select", "read", "aa", NULL};
    static const unsigned apdus[] = {1, 10, 1};
    expect_phases(e, names, apdus);
    const struct emrtd_evidence *ev = &e->run.em.ev;
    assert_true(ev->pace && !ev->ca && ev->aa);
    assert_memory_equal(ev->file[EMRTD_EF_CARDACCESS].buf, po.ef_cardaccess, 42);
    done(e);

    /* The holder types a wrong CAN: General Authenticate 4 refused, 6300. */
    e = card("default");
    pinpad_init(&e->pad, "314159", to_card, e);
    assert_true(pinpad_execute_pace(&e->pad, cmd, n, out, sizeof out, &k));
    assert_int_equal(pcsc10_pace_answer(out, k, &result, &data, &len), PCSC10_OK);
    assert_int_equal(result, 0xF0046300u);
    /* A PIN from the host is refused: the keypad is the only way in. */
    assert_int_equal(pcsc10_pace_establish_cmd(PCSC10_PACE_PIN_CAN, (const uint8_t *)"123456", 6,
                                               cmd, sizeof cmd, &n),
                     PCSC10_OK);
    assert_true(pinpad_execute_pace(&e->pad, cmd, n, out, sizeof out, &k));
    assert_int_equal(pcsc10_pace_answer(out, k, &result, &data, &len), PCSC10_OK);
    assert_int_equal(result, 0xD0000002u);
    done(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(short_lengths),
        cmocka_unit_test(extended_lengths),
        cmocka_unit_test(sizes_fall_back_once_per_card),
        cmocka_unit_test(sizes_from_ef_atr_info),
        cmocka_unit_test(transport_failure_and_cancel),
        cmocka_unit_test(wrong_can),
        cmocka_unit_test(pace_by_a_pin_pad),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

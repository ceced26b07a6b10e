/*
 * The reader firmware on the sim board against the virtual card, through
 * CCID as the host sees it (USB CCID 1.1 §6): power on with the ATR, PPS,
 * APDUs over T=1 and T=0, normal and inverse convention, specific mode,
 * time extensions for a slow card, removal mid-exchange, and malformed CCID
 * messages. Expected bytes come from the persona file (tests/data) and the
 * ICAO eMRTD application (9303-10 §3.11: AID A0 00 00 02 47 10 01).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <unistd.h>

#include "hawiya/atr.h"
#include "hawiya/hex.h"
#include "hawiya/reader_escape.h"
#include "hawiya/tlv.h"
#include "reader_session.h"
#include "sim_env.h"

#define TIMEOUT_MS 10000

static struct sim_env env;

static const uint8_t select_emrtd[] = {0x00, 0xA4, 0x04, 0x0C, 0x07, 0xA0,
                                       0x00, 0x00, 0x02, 0x47, 0x10, 0x01};

/* Stops the processes even when an assertion ended the test early. */
static int teardown(void **state)
{
    sim_env_stop(&env);
    return 0;
}

static void start(const char *persona, const char *const *reader_args)
{
    assert_int_equal(sim_env_start(&env, persona, reader_args), 0);
    assert_true(env.link.card_present);
}

static void power_on_expect(const char *atr_hex)
{
    uint8_t want[40], atr[64];
    size_t want_len, atr_len;
    assert_int_equal(hex_decode(atr_hex, 200, want, sizeof want, &want_len), HEX_OK);
    assert_int_equal(
        ccid_link_power_on(&env.link, CCID_POWER_AUTO, atr, sizeof atr, &atr_len, TIMEOUT_MS),
        CCID_LINK_OK);
    assert_int_equal(atr_len, want_len);
    assert_memory_equal(atr, want, want_len);
}

static void xfr_expect(const uint8_t *apdu, size_t len, const uint8_t *want, size_t want_len)
{
    static uint8_t resp[70000];
    size_t rlen;
    assert_int_equal(ccid_link_xfr(&env.link, apdu, len, resp, sizeof resp, &rlen, TIMEOUT_MS),
                     CCID_LINK_OK);
    assert_int_equal(rlen, want_len);
    assert_memory_equal(resp, want, want_len);
}

static const uint8_t sw_ok[] = {0x90, 0x00};

static void params(struct ccid_params *p)
{
    uint8_t none[16];
    struct ccid_msg req = {.type = CCID_PC_TO_RDR_GET_PARAMETERS}, resp;
    assert_int_equal(ccid_link_transact(&env.link, &req, &resp, none, sizeof none, TIMEOUT_MS),
                     CCID_LINK_OK);
    *p = resp.params;
}

/* The default persona offers T=0 first and T=1 with TA1 = 96: the reader
 * must PPS to T=1 at Fi = 512, Di = 32 (7816-3 §9). */
static void t1_after_pps(void **state)
{
    start("default", NULL);
    power_on_expect("3B 95 96 80 31 FE 45 80 73 B4 21 40 2F");
    struct ccid_params p;
    params(&p);
    assert_int_equal(p.protocol_num, 1);
    assert_int_equal(p.findex_dindex, 0x96);
    assert_int_equal(p.ifsc, 0xFE);
    assert_int_equal(p.waiting_integer, 0x45);
    xfr_expect(select_emrtd, sizeof select_emrtd, sw_ok, 2);
    /* An unknown instruction: the card's status word comes back intact. */
    const uint8_t bad_ins[] = {0x00, 0x10, 0x00, 0x00};
    const uint8_t sw_ins[] = {0x6D, 0x00};
    xfr_expect(bad_ins, sizeof bad_ins, sw_ins, 2);
}

/* TA2 = 81: specific mode, T=1 at TA1 without PPS (7816-3 §8.3); TC1 = FF. */
static void t1_specific_mode(void **state)
{
    start("algeria", NULL);
    power_on_expect(
        "3B FF 96 00 FF 91 81 31 FE 4D 80 31 E0 6B 04 31 05 02 75 55 55 55 55 55 55 79");
    struct ccid_params p;
    params(&p);
    assert_int_equal(p.protocol_num, 1);
    assert_int_equal(p.findex_dindex, 0x96);
    xfr_expect(select_emrtd, sizeof select_emrtd, sw_ok, 2);
}

/* TC1 = FE, the largest extra guard time (7816-3 §8.3): every character the
 * reader sends takes 12 + 254 = 266 etu. The default persona with that ATR,
 * from a copy of the persona file: TB3 = 48 so that the card's character
 * waiting time (11 + 2^8 = 267 etu, §11.4.3) leaves room for that guard time
 * (with CWI 5 the card rightly drops the reader's blocks), TCK 9C. Before the
 * card line carried 16 bits per record, 266 did not fit, nothing the reader
 * sent reached the card and it looked mute. */
static void longest_extra_guard_time(void **state)
{
    (void)state;
    const char *orig = getenv("HAWIYA_PERSONAS");
    assert_non_null(orig);
    FILE *f = fopen(orig, "rb");
    assert_non_null(f);
    static char text[1 << 20];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    assert_true(n > 0 && n < sizeof text - 1);
    text[n] = '\0';
    cJSON *doc = cJSON_Parse(text);
    assert_non_null(doc);
    cJSON *list = cJSON_GetObjectItemCaseSensitive(doc, "personas"), *p, *def = NULL;
    cJSON_ArrayForEach(p, list)
    {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(p, "id");
        if (cJSON_IsString(id) && !strcmp(id->valuestring, "default"))
            def = p;
    }
    assert_non_null(def);
    assert_true(cJSON_ReplaceItemInObjectCaseSensitive(
        def, "atr", cJSON_CreateString("3B D5 96 FE 80 31 FE 48 80 73 B4 21 40 9C")));
    char path[] = "/tmp/hawiya-guard-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    char *out = cJSON_Print(doc);
    assert_non_null(out);
    size_t len = strlen(out);
    assert_int_equal(write(fd, out, len), (ssize_t)len);
    close(fd);
    free(out);
    cJSON_Delete(doc);
    char *saved = strdup(orig);
    setenv("HAWIYA_PERSONAS", path, 1);
    int started = sim_env_start(&env, "default", NULL);
    setenv("HAWIYA_PERSONAS", saved, 1);
    free(saved);
    unlink(path);
    assert_int_equal(started, 0);
    assert_true(env.link.card_present);

    power_on_expect("3B D5 96 FE 80 31 FE 48 80 73 B4 21 40 9C");
    struct ccid_params prm;
    params(&prm);
    assert_int_equal(prm.protocol_num, 1);
    assert_int_equal(prm.findex_dindex, 0x96);
    assert_int_equal(prm.guard_time, 0xFE);
    xfr_expect(select_emrtd, sizeof select_emrtd, sw_ok, 2);
    const uint8_t bad_ins[] = {0x00, 0x10, 0x00, 0x00};
    const uint8_t sw_ins[] = {0x6D, 0x00};
    xfr_expect(bad_ins, sizeof bad_ins, sw_ins, 2);
}

/* A T=0-only card with TA1 = 13 (Fi 372, Di 4): PPS, then T=0 TPDUs. */
static void t0_card(void **state)
{
    start("t0-only", NULL);
    power_on_expect("3B 15 13 80 73 B4 21 00");
    struct ccid_params p;
    params(&p);
    assert_int_equal(p.protocol_num, 0);
    assert_int_equal(p.findex_dindex, 0x13);
    xfr_expect(select_emrtd, sizeof select_emrtd, sw_ok, 2);
    const uint8_t get_challenge[] = {0x00, 0x84, 0x00, 0x00, 0x08};
    static uint8_t resp[64];
    size_t rlen;
    assert_int_equal(ccid_link_xfr(&env.link, get_challenge, sizeof get_challenge, resp,
                                   sizeof resp, &rlen, TIMEOUT_MS),
                     CCID_LINK_OK);
    assert_int_equal(rlen, 10);
    assert_int_equal(resp[8], 0x90);
}

/* TS = 3F: the reader reads TS as 03 and switches to the inverse convention. */
static void inverse_convention(void **state)
{
    start("inverse", NULL);
    power_on_expect("3F 95 96 80 31 FE 45 80 73 B4 21 40 2F");
    struct ccid_params p;
    params(&p);
    assert_int_equal(p.tccks & CCID_TCCKS_CONVENTION, CCID_TCCKS_CONVENTION);
    xfr_expect(select_emrtd, sizeof select_emrtd, sw_ok, 2);
}

/* A board that cannot follow TA1 (max 9600 bit/s * 4): PPS at default speed. */
static void default_speed_when_board_is_slow(void **state)
{
    const char *const args[] = {"--max-baud", "12000", NULL};
    start("default", args);
    power_on_expect("3B 95 96 80 31 FE 45 80 73 B4 21 40 2F");
    struct ccid_params p;
    params(&p);
    assert_int_equal(p.findex_dindex, 0x11);
    xfr_expect(select_emrtd, sizeof select_emrtd, sw_ok, 2);
}

/* A card that does not answer PPS (7816-3 §9.2): the reader deactivates it,
 * activates it again and goes on at the default rate with the first protocol
 * offered, here T=1 (TD1 = 81). */
static void pps_refused_falls_back_to_default_rate(void **state)
{
    start("morocco-cnie", NULL);
    char reply[64];
    assert_int_equal(sim_env_control(&env, "pps-mute on", reply, sizeof reply), 0);
    power_on_expect("3B DA 96 00 81 31 FE 45 80 73 B4 21 40 54 43 4E 49 45 34");
    struct ccid_params p;
    params(&p);
    assert_int_equal(p.protocol_num, 1);
    assert_int_equal(p.findex_dindex, 0x11);
    assert_int_equal(sim_env_stat(&env, "fi"), 372);
    assert_int_equal(sim_env_stat(&env, "di"), 1);
    xfr_expect(select_emrtd, sizeof select_emrtd, sw_ok, 2);
}

/* INTERNAL AUTHENTICATE takes 2 s on the slow persona, whose BWT is
 * 2^1 x 960 x 372 / 5 MHz = 143 ms (TB3 = 15): the card asks for S(WTX), and
 * the reader keeps the host waiting with CCID time extensions at least once
 * a second (CCID 1.1 §6.2.6). */
static const uint8_t internal_authenticate[] = {0x00, 0x88, 0x00, 0x00, 0x08, 1, 2,
                                                3,    4,    5,    6,    7,    8, 0x00};

static void slow_card_time_extensions(void **state)
{
    start("slow", NULL);
    power_on_expect("3B 95 96 80 31 FE 15 80 73 B4 21 40 7F");
    xfr_expect(select_emrtd, sizeof select_emrtd, sw_ok, 2);
    assert_true(sim_env_stat(&env, "wtx") > 0);

    uint64_t before = env.link.time_extensions;
    long long t0 = sim_env_stat(&env, "now_ns");
    static uint8_t resp[300];
    size_t rlen;
    assert_int_equal(ccid_link_xfr(&env.link, internal_authenticate, sizeof internal_authenticate,
                                   resp, sizeof resp, &rlen, TIMEOUT_MS),
                     CCID_LINK_OK);
    long long took = sim_env_stat(&env, "now_ns") - t0;
    assert_true(took >= 2000000000ll);
    /* The host never waits a second without news: one extension per full second. */
    assert_true(env.link.time_extensions - before >= (uint64_t)(took / 1000000000ll));
}

/* The same over T=0: the card sends NULL procedure bytes (7816-3 §10.3.3)
 * past WT = 10 x 960 x 372 / 5 MHz = 714 ms, for a 1.5 s command. */
static void t0_null_bytes_time_extensions(void **state)
{
    start("t0-only", NULL);
    power_on_expect("3B 15 13 80 73 B4 21 00");
    uint64_t before = env.link.time_extensions;
    static uint8_t resp[300];
    size_t rlen;
    assert_int_equal(ccid_link_xfr(&env.link, internal_authenticate, sizeof internal_authenticate,
                                   resp, sizeof resp, &rlen, TIMEOUT_MS),
                     CCID_LINK_OK);
    assert_true(rlen >= 2);
    assert_true(sim_env_stat(&env, "wtx") >= 2);
    /* 1.5 s of card time: the host hears from the reader at 1 s. */
    assert_true(env.link.time_extensions - before >= 1);
}

/* 7816-3 §6.2.4: the class-AB card is mute at 1.8 V; the reader moves up to
 * class B, not to A. */
static void voltage_class_escalation(void **state)
{
    start("class-ab", NULL);
    power_on_expect("3B 95 96 80 B1 FE 45 1F 03 80 73 B4 21 40 B3");
    assert_int_equal(sim_env_stat(&env, "vcc_mv"), 3000);
    xfr_expect(select_emrtd, sizeof select_emrtd, sw_ok, 2);
}

/* A board without class B: the card gets 5 V, never more than it names. */
static void voltage_class_a_only_board(void **state)
{
    const char *const args[] = {"--classes", "CA", NULL};
    start("class-ab", args);
    power_on_expect("3B 95 96 80 B1 FE 45 1F 03 80 73 B4 21 40 B3");
    assert_int_equal(sim_env_stat(&env, "vcc_mv"), 5000);
}

/* A board of class C only cannot power the class-AB card: ICC_CLASS_NOT_SUPPORTED
 * would need an ATR; a mute card is ICC_MUTE. */
static void voltage_class_none_fits(void **state)
{
    const char *const args[] = {"--classes", "C", NULL};
    start("class-ab", args);
    uint8_t atr[64];
    size_t atr_len;
    assert_int_equal(
        ccid_link_power_on(&env.link, CCID_POWER_AUTO, atr, sizeof atr, &atr_len, TIMEOUT_MS),
        CCID_LINK_ERR_FAILED);
    assert_int_equal(env.link.berror, CCID_BERROR_ICC_MUTE);
}

/* The card leaves the slot 300 ms into a 2 s command: the exchange ends with
 * a named error and an empty slot, and the next card is served. */
static void removal_mid_exchange(void **state)
{
    start("slow", NULL);
    power_on_expect("3B 95 96 80 31 FE 15 80 73 B4 21 40 7F");
    char reply[64];
    assert_int_equal(sim_env_control(&env, "remove-after 300", reply, sizeof reply), 0);
    static uint8_t resp[300];
    size_t rlen;
    assert_int_equal(ccid_link_xfr(&env.link, internal_authenticate, sizeof internal_authenticate,
                                   resp, sizeof resp, &rlen, TIMEOUT_MS),
                     CCID_LINK_ERR_FAILED);
    assert_int_equal(ccid_status_icc(env.link.status), CCID_ICC_ABSENT);
    assert_int_equal(env.link.berror, CCID_BERROR_ICC_MUTE);

    assert_int_equal(sim_env_control(&env, "insert", reply, sizeof reply), 0);
    assert_true(ccid_link_wait_notify(&env.link, TIMEOUT_MS));
    assert_true(env.link.card_present);
    power_on_expect("3B 95 96 80 31 FE 15 80 73 B4 21 40 7F");
    xfr_expect(select_emrtd, sizeof select_emrtd, sw_ok, 2);
}

/* Out and back in between two polls of the reader: still a new card, which
 * is not powered until the host asks (the old session must not go on). */
static void fast_reinsertion_is_a_new_card(void **state)
{
    start("default", NULL);
    power_on_expect("3B 95 96 80 31 FE 45 80 73 B4 21 40 2F");
    char reply[64];
    assert_int_equal(sim_env_control(&env, "remove", reply, sizeof reply), 0);
    assert_int_equal(sim_env_control(&env, "insert", reply, sizeof reply), 0);
    /* The reader may report the removal and the insertion, or only the new card. */
    do
        assert_true(ccid_link_wait_notify(&env.link, TIMEOUT_MS));
    while (!env.link.card_present);
    assert_true(env.link.present_changed);
    static uint8_t resp[300];
    size_t rlen;
    assert_int_equal(ccid_link_xfr(&env.link, select_emrtd, sizeof select_emrtd, resp, sizeof resp,
                                   &rlen, TIMEOUT_MS),
                     CCID_LINK_ERR_FAILED);
    assert_int_equal(ccid_status_icc(env.link.status), CCID_ICC_PRESENT_INACTIVE);
    power_on_expect("3B 95 96 80 31 FE 45 80 73 B4 21 40 2F");
    xfr_expect(select_emrtd, sizeof select_emrtd, sw_ok, 2);
}

/* Removal: the slot reports absent, an exchange fails with ICC_MUTE, and a
 * new card is served after reinsertion. */
static void removal_and_reinsertion(void **state)
{
    start("default", NULL);
    power_on_expect("3B 95 96 80 31 FE 45 80 73 B4 21 40 2F");
    char reply[64];
    assert_int_equal(sim_env_control(&env, "remove", reply, sizeof reply), 0);
    assert_true(ccid_link_wait_notify(&env.link, TIMEOUT_MS));
    assert_false(env.link.card_present);

    static uint8_t resp[300];
    size_t rlen;
    assert_int_equal(ccid_link_xfr(&env.link, select_emrtd, sizeof select_emrtd, resp, sizeof resp,
                                   &rlen, TIMEOUT_MS),
                     CCID_LINK_ERR_FAILED);
    assert_int_equal(ccid_status_icc(env.link.status), CCID_ICC_ABSENT);

    assert_int_equal(sim_env_control(&env, "insert", reply, sizeof reply), 0);
    assert_true(ccid_link_wait_notify(&env.link, TIMEOUT_MS));
    assert_true(env.link.card_present);
    power_on_expect("3B 95 96 80 31 FE 45 80 73 B4 21 40 2F");
    xfr_expect(select_emrtd, sizeof select_emrtd, sw_ok, 2);
}

/* Power off, slot status, and a malformed message answered with the offset
 * of the bad byte (CCID 1.1 §6.2.6). */
static void slot_status_and_bad_messages(void **state)
{
    start("default", NULL);
    enum ccid_icc_status icc;
    assert_int_equal(ccid_link_slot_status(&env.link, &icc, TIMEOUT_MS), CCID_LINK_OK);
    assert_int_equal(icc, CCID_ICC_PRESENT_INACTIVE);
    power_on_expect("3B 95 96 80 31 FE 45 80 73 B4 21 40 2F");
    assert_int_equal(ccid_link_slot_status(&env.link, &icc, TIMEOUT_MS), CCID_LINK_OK);
    assert_int_equal(icc, CCID_ICC_PRESENT_ACTIVE);
    assert_int_equal(ccid_link_power_off(&env.link, TIMEOUT_MS), CCID_LINK_OK);
    assert_int_equal(ccid_link_slot_status(&env.link, &icc, TIMEOUT_MS), CCID_LINK_OK);
    assert_int_equal(icc, CCID_ICC_PRESENT_INACTIVE);

    /* Slot 2 does not exist (0 is the contact slot, 1 the contactless one):
     * bError 5, the offset of bSlot. */
    uint8_t none[8];
    struct ccid_msg req = {.type = CCID_PC_TO_RDR_GET_SLOT_STATUS, .slot = 2}, resp;
    assert_int_equal(ccid_link_transact(&env.link, &req, &resp, none, sizeof none, TIMEOUT_MS),
                     CCID_LINK_ERR_FAILED);
    assert_int_equal(env.link.berror, 5);
    /* Secure (PIN entry) is not supported: bError 0. */
    struct ccid_msg sec = {.type = CCID_PC_TO_RDR_SECURE, .data = none, .len = 1};
    none[0] = 0;
    assert_int_equal(ccid_link_transact(&env.link, &sec, &resp, none, sizeof none, TIMEOUT_MS),
                     CCID_LINK_ERR_FAILED);
    assert_int_equal(env.link.berror, 0);
}

/* The reader's eMRTD session through the firmware (escape commands): a card
 * without EF.CardAccess gets BAC with the MRZ information (9303-11 §4.3), and
 * the whole inspection completes with Active Authentication. */
static void bac_only_card_through_the_reader(void **state)
{
    start("bac-only", NULL);
    uint8_t challenge[32], out[16384];
    for (int i = 0; i < 32; i++)
        challenge[i] = (uint8_t)i;
    /* Document number, birth and expiry dates with their check digits, from
     * the card's MRZ: IDMARAB12345671..., 9001158M3105146MAR... */
    struct reader_auth_params p = {.challenge = challenge,
                                   .challenge_len = 32,
                                   .origin = "https://record.example",
                                   .mrz_info = "AB123456719001158310514"
                                               "6"};
    struct reader_step last;
    size_t n;
    assert_int_equal(
        reader_session_run(&env.link, &p, TIMEOUT_MS, NULL, NULL, out, sizeof out, &n, &last),
        READER_SESSION_OK);
    struct tlv t;
    assert_int_equal(tlv_find(out, n, RESC_T_ACCESS, &t), TLV_OK);
    /* BAC, then Chip Authentication from DG14 upgrades its 3DES session (§6.2). */
    assert_int_equal(t.len, 6);
    assert_memory_equal(t.value, "bac+ca", 6);
    assert_int_equal(tlv_find(out, n, RESC_T_EF_CARDACCESS, &t), TLV_ERR_NOT_FOUND);
    assert_int_equal(tlv_find(out, n, RESC_T_DG1, &t), TLV_OK);
    assert_int_equal(t.value[0], 0x61);
    assert_int_equal(tlv_find(out, n, RESC_T_AA_SIGNATURE, &t), TLV_OK);
    assert_int_equal(t.len, 64); /* ECDSA P-256 / brainpoolP256r1, plain r || s */

    /* With only a CAN the reader has no way in, and says so. */
    p.mrz_info = NULL;
    p.can = "123456";
    assert_int_equal(
        reader_session_run(&env.link, &p, TIMEOUT_MS, NULL, NULL, out, sizeof out, &n, &last),
        READER_SESSION_ERR_FAILED);
    assert_string_equal(last.error, "EMRTD_ERR_NO_ACCESS");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(t1_after_pps, teardown),
        cmocka_unit_test_teardown(t1_specific_mode, teardown),
        cmocka_unit_test_teardown(longest_extra_guard_time, teardown),
        cmocka_unit_test_teardown(t0_card, teardown),
        cmocka_unit_test_teardown(inverse_convention, teardown),
        cmocka_unit_test_teardown(default_speed_when_board_is_slow, teardown),
        cmocka_unit_test_teardown(pps_refused_falls_back_to_default_rate, teardown),
        cmocka_unit_test_teardown(slow_card_time_extensions, teardown),
        cmocka_unit_test_teardown(t0_null_bytes_time_extensions, teardown),
        cmocka_unit_test_teardown(voltage_class_escalation, teardown),
        cmocka_unit_test_teardown(voltage_class_a_only_board, teardown),
        cmocka_unit_test_teardown(voltage_class_none_fits, teardown),
        cmocka_unit_test_teardown(removal_mid_exchange, teardown),
        cmocka_unit_test_teardown(fast_reinsertion_is_a_new_card, teardown),
        cmocka_unit_test_teardown(bac_only_card_through_the_reader, teardown),
        cmocka_unit_test_teardown(removal_and_reinsertion, teardown),
        cmocka_unit_test_teardown(slot_status_and_bad_messages, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

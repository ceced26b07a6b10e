#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hawiya/aa.h"
#include "hawiya/bac.h"
#include "hawiya/ca.h"
#include "hawiya/cardaccess.h"
#include "hawiya/hex.h"
#include "hawiya/lds.h"
#include "hawiya/mrz.h"
#include "hawiya/pace.h"
#include "hawiya/sm.h"
#include "hawiya/sod.h"
#include "icao_applet.h"
#include "persona.h"
#include "pki_card.h"
#include "vcard.h"

/*
 * The card is driven by the reader-side state machines of common/ (pace,
 * bac, sm, ca, aa), as an inspection system would drive a chip; every byte
 * read under secure messaging is compared with the file hawiya-pki wrote
 * (whose SHA-256 the pki_openssl test checks with sha256sum and whose SOD
 * openssl cms -verify accepts), and the data group hashes are checked
 * against that SOD.
 */

#define RESP_MAX 4200

struct env {
    struct persona persona;
    struct pki_card pki;
    struct vcard card;
    struct icao_applet ia;
    struct sm_ctx sm; /* the reader's session */
    uint64_t card_rng, reader_rng;
    char dir[4096];
};

/* xorshift64*: deterministic, distinct streams for the card and the reader. */
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

static const char *env_or_skip(const char *name)
{
    const char *v = getenv(name);
    if (!v)
        fail_msg("%s is not set (run through ctest)", name);
    return v;
}

static struct env *setup_card(const char *id)
{
    struct env *e = calloc(1, sizeof *e);
    char path[4096];
    struct persona_diag pd;
    struct pki_card_diag kd;
    assert_non_null(e);
    snprintf(path, sizeof path, "%s/personas.json", env_or_skip("HAWIYA_TEST_DATA"));
    assert_int_equal(persona_load_file(path, id, &e->persona, &pd), PERSONA_OK);
    snprintf(e->dir, sizeof e->dir, "%s/%s", env_or_skip("HAWIYA_PKI_CARDS"), id);
    assert_int_equal(pki_card_load(&e->pki, e->dir, &kd), PKI_CARD_OK);
    assert_int_equal(pki_card_install(&e->pki, &e->persona, &kd), PKI_CARD_OK);
    e->card_rng = 0x9303000000000011ULL;
    e->reader_rng = 0x7816000000000003ULL;
    assert_int_equal(vcard_init(&e->card, &e->persona, test_rng, &e->card_rng), VCARD_OK);
    assert_int_equal(icao_applet_init(&e->ia, &e->pki, &e->persona, test_rng, &e->card_rng),
                     ICAO_APPLET_OK);
    assert_int_equal(icao_applet_register(&e->ia, &e->card), ICAO_APPLET_OK);
    return e;
}

static void teardown_card(struct env *e)
{
    icao_applet_wipe(&e->ia);
    pki_card_free(&e->pki);
    sm_wipe(&e->sm);
    free(e);
}

/* The PKI's file as written on disk, independent of pki_card. */
static size_t disk_file(const struct env *e, const char *name, uint8_t *buf, size_t cap)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", e->dir, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    assert_true(n > 0 && n < cap);
    return n;
}

/* One command APDU in, the response APDU out; returns SW1-SW2. */
static uint16_t xfer_raw(struct env *e, const uint8_t *cmd, size_t n, uint8_t *resp, size_t *rlen)
{
    assert_int_equal(vcard_apdu(&e->card, cmd, n, resp, RESP_MAX, rlen, NULL), VCARD_OK);
    assert_true(*rlen >= 2);
    return (uint16_t)(resp[*rlen - 2] << 8 | resp[*rlen - 1]);
}

static uint16_t xfer(struct env *e, const struct apdu *a, uint8_t *resp, size_t *rlen)
{
    uint8_t cmd[APDU_ENCODED_MAX];
    size_t n;
    assert_int_equal(apdu_encode(a, cmd, sizeof cmd, &n), APDU_OK);
    return xfer_raw(e, cmd, n, resp, rlen);
}

static uint16_t xfer_hex(struct env *e, const char *hex, uint8_t *resp, size_t *rlen)
{
    uint8_t cmd[300];
    size_t n;
    assert_int_equal(hex_decode(hex, strlen(hex), cmd, sizeof cmd, &n), HEX_OK);
    return xfer_raw(e, cmd, n, resp, rlen);
}

/* A command under the reader's secure messaging; the response must unwrap. */
static uint16_t xfer_sm(struct env *e, const struct apdu *plain, uint8_t *data, size_t *dlen)
{
    uint8_t buf[600], resp[RESP_MAX];
    struct apdu prot;
    struct rapdu r;
    size_t rlen;
    assert_int_equal(sm_wrap_command(&e->sm, plain, buf, sizeof buf, &prot), SM_OK);
    xfer(e, &prot, resp, &rlen);
    assert_int_equal(sm_unwrap_response(&e->sm, resp, rlen, data, RESP_MAX, &r), SM_OK);
    *dlen = r.len;
    return r.sw;
}

/* The same command, but the card's answer is returned raw (for failures of SM itself). */
static uint16_t xfer_sm_raw(struct env *e, const struct apdu *plain, uint8_t *resp, size_t *rlen)
{
    uint8_t buf[600];
    struct apdu prot;
    assert_int_equal(sm_wrap_command(&e->sm, plain, buf, sizeof buf, &prot), SM_OK);
    return xfer(e, &prot, resp, rlen);
}

/* READ BINARY by SFI, then by offset, as long as the outer TLV says; 223 bytes a time. */
static size_t read_sm(struct env *e, uint8_t sfi, uint8_t *out, size_t cap)
{
    struct apdu a = {.cla = 0x00, .ins = 0xB0, .p1 = (uint8_t)(0x80 | sfi), .p2 = 0, .ne = 223};
    size_t n, total;
    /* 7816-4 §7.2.3: 6282 when the file ends before Ne bytes. */
    uint16_t sw0 = xfer_sm(e, &a, out, &n);
    assert_true(sw0 == 0x9000 || sw0 == 0x6282);
    assert_true(n >= 4);
    /* tag, then a BER length: short, 81 xx or 82 xx xx */
    if (out[1] < 0x80)
        total = 2 + out[1];
    else if (out[1] == 0x81)
        total = 3 + out[2];
    else
        total = 4 + ((size_t)out[2] << 8 | out[3]);
    assert_true(total <= cap);
    /* Le 223 fits a short response under either cipher: the card sends it all. */
    if (total >= 223)
        assert_int_equal(n, 223);
    size_t got = n < total ? n : total;
    while (got < total) {
        a.p1 = (uint8_t)(got >> 8);
        a.p2 = (uint8_t)got;
        uint16_t sw = xfer_sm(e, &a, out + got, &n);
        assert_true(sw == 0x9000 || sw == 0x6282);
        assert_true(n > 0);
        got += n;
    }
    assert_int_equal(got, total);
    return total;
}

static void assert_reads_as_disk(struct env *e, uint8_t sfi, const char *file)
{
    static uint8_t want[8192], got[8192];
    size_t wn = disk_file(e, file, want, sizeof want);
    size_t gn = read_sm(e, sfi, got, sizeof got);
    assert_int_equal(gn, wn);
    assert_memory_equal(got, want, wn);
}

/* PACE as the reader runs it: EF.CardAccess read in plain, the reader's choice, the CAN. */
static enum pace_err run_pace(struct env *e, enum pace_password pw_type, const char *pw,
                              uint16_t *sw_out)
{
    uint8_t resp[RESP_MAX], cmd[PACE_APDU_MAX];
    size_t rlen, cmd_len, idx;
    struct security_infos si;
    struct pace pace;
    static uint8_t ca_buf[512];

    /* EF.CardAccess is in the MF (9303-10 §3.11.1); by SFI 28, plain, Le 00: the whole file. */
    assert_int_equal(xfer_hex(e, "00A4000C023F00", resp, &rlen), 0x9000);
    assert_int_equal(xfer_hex(e, "00B09C0000", resp, &rlen), 0x6282);
    size_t n = disk_file(e, "cardaccess.bin", ca_buf, sizeof ca_buf);
    assert_int_equal(rlen - 2, n);
    assert_memory_equal(resp, ca_buf, n);
    assert_int_equal(cardaccess_parse(ca_buf, n, &si), CARDACCESS_OK);
    assert_int_equal(cardaccess_select_pace(&si, &idx), CARDACCESS_OK);

    enum pace_err pe =
        pace_begin(&pace, &si.pace[idx], pw_type, (const uint8_t *)pw, strlen(pw),
                   cardaccess_pace_ambiguous(&si, idx) ? PACE_FLAG_SEND_PARAMETER_ID : 0, test_rng,
                   &e->reader_rng, NULL, cmd, sizeof cmd, &cmd_len);
    while (pe == PACE_OK && cmd_len > 0) {
        xfer_raw(e, cmd, cmd_len, resp, &rlen);
        pe = pace_step(&pace, resp, rlen, cmd, sizeof cmd, &cmd_len);
    }
    if (sw_out)
        *sw_out = pace.sw;
    if (pe == PACE_OK) {
        struct pace_result r;
        static const uint8_t zero[16];
        assert_int_equal(pace_get_result(&pace, &r), PACE_OK);
        assert_int_equal(sm_init(&e->sm, r.cipher, r.ks_enc, r.ks_mac, zero), SM_OK);
    }
    pace_wipe(&pace);
    return pe;
}

static void select_emrtd_sm(struct env *e)
{
    static const uint8_t aid[] = {0xA0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x01};
    struct apdu a = {.cla = 0x00, .ins = 0xA4, .p1 = 0x04, .p2 = 0x0C, .data = aid, .nc = 7};
    uint8_t data[RESP_MAX];
    size_t n;
    assert_int_equal(xfer_sm(e, &a, data, &n), 0x9000);
    assert_int_equal(n, 0);
}

/* The MRZ information typed from the persona's printed fields (an independent route). */
static size_t mrz_info_of(const struct env *e, char *out)
{
    size_t n;
    const struct persona_holder *h = &e->persona.holder;
    assert_int_equal(mrz_bac_info_from_fields(h->document_number, h->birth_date, h->expiry_date,
                                              out, MRZ_BAC_INFO_MAX + 1, &n),
                     MRZ_OK);
    return n;
}

static void run_bac(struct env *e)
{
    char info[MRZ_BAC_INFO_MAX + 1];
    size_t n = mrz_info_of(e, info), rlen;
    struct bac_keys keys;
    struct bac_ifd b;
    struct bac_session s;
    struct apdu a;
    uint8_t resp[RESP_MAX], ea[BAC_CRYPTO_LEN];

    assert_int_equal(bac_keys_from_mrz_info(info, n, NULL, &keys), BAC_OK);
    bac_ifd_init(&b, &keys);
    bac_get_challenge_apdu(&a);
    assert_int_equal(xfer(e, &a, resp, &rlen), 0x9000);
    assert_int_equal(rlen, 10);
    assert_int_equal(bac_ifd_authenticate(&b, resp, 8, test_rng, &e->reader_rng, ea), BAC_OK);
    bac_external_authenticate_apdu(ea, &a);
    assert_int_equal(xfer(e, &a, resp, &rlen), 0x9000);
    assert_int_equal(bac_ifd_finish(&b, resp, rlen - 2, &s), BAC_OK);
    assert_int_equal(sm_init(&e->sm, ICAO_3DES, s.ks_enc, s.ks_mac, s.ssc), SM_OK);
    assert_int_equal(icao_applet_session(&e->ia), ICAO_SESSION_BAC);
}

/* Active Authentication: the answer verified with DG15's key and DG14's hash. */
static enum aa_err run_aa(struct env *e)
{
    static uint8_t dg14[1024], dg15[1024];
    size_t n14 = read_sm(e, 14, dg14, sizeof dg14), n15 = read_sm(e, 15, dg15, sizeof dg15);
    struct security_infos si;
    struct lds_dg15 k;
    mbedtls_pk_context pk;
    enum aa_hash h;
    uint8_t challenge[AA_CHALLENGE_LEN], sig[RESP_MAX];
    size_t sig_len;

    assert_int_equal(lds_dg14_parse(dg14, n14, &si, NULL), LDS_OK);
    assert_true(si.has_aa);
    assert_int_equal(aa_hash_from_oid(si.aa.signature_algorithm, si.aa.signature_algorithm_len, &h),
                     AA_OK);
    mbedtls_pk_init(&pk);
    assert_int_equal(lds_dg15_parse(dg15, n15, &k, &pk), LDS_OK);
    test_rng(&e->reader_rng, challenge, sizeof challenge);
    struct apdu a = {.cla = 0, .ins = 0x88, .data = challenge, .nc = 8, .ne = 256};
    assert_int_equal(xfer_sm(e, &a, sig, &sig_len), 0x9000);
    assert_int_equal(sig_len, aa_signature_len(&pk));
    enum aa_err r = aa_verify(&pk, h, challenge, sizeof challenge, sig, sig_len, NULL);
    mbedtls_pk_free(&pk);
    return r;
}

/* Chip Authentication with DG14's key; the reader switches keys after the card's 90 00. */
static void run_ca(struct env *e)
{
    static uint8_t dg14[1024];
    size_t n = read_sm(e, 14, dg14, sizeof dg14), cmd_len, dlen;
    struct security_infos si;
    struct ca ca;
    struct ca_result r;
    uint8_t cmd[600], data[RESP_MAX];
    static const uint8_t zero[16];

    assert_int_equal(lds_dg14_parse(dg14, n, &si, NULL), LDS_OK);
    enum ca_err ce =
        ca_begin(&ca, &si, test_rng, &e->reader_rng, NULL, NULL, NULL, cmd, sizeof cmd, &cmd_len);
    while (ce == CA_OK && cmd_len > 0) {
        struct apdu a;
        assert_int_equal(apdu_decode(cmd, cmd_len, &a, NULL), APDU_OK);
        uint16_t sw = xfer_sm(e, &a, data, &dlen);
        data[dlen] = (uint8_t)(sw >> 8);
        data[dlen + 1] = (uint8_t)sw;
        ce = ca_step(&ca, data, dlen + 2, cmd, sizeof cmd, &cmd_len);
    }
    assert_int_equal(ce, CA_OK);
    assert_int_equal(ca_get_result(&ca, &r), CA_OK);
    ca_wipe(&ca);
    sm_wipe(&e->sm);
    assert_int_equal(sm_init(&e->sm, r.cipher, r.ks_enc, r.ks_mac, zero), SM_OK);
    assert_int_equal(icao_applet_session(&e->ia), ICAO_SESSION_CA);
}

static void pace_can_then_read_every_file(void **state)
{
    (void)state;
    struct env *e = setup_card("default");
    /* PACE at the MF, before the eMRTD application is selected (9303-11 §4.2). */
    assert_int_equal(run_pace(e, PACE_PASSWORD_CAN, e->persona.holder.can, NULL), PACE_OK);
    assert_int_equal(icao_applet_session(&e->ia), ICAO_SESSION_PACE);
    select_emrtd_sm(e);
    assert_reads_as_disk(e, 30, "com.bin");
    assert_reads_as_disk(e, 1, "dg1.bin");
    assert_reads_as_disk(e, 2, "dg2.bin");
    assert_reads_as_disk(e, 11, "dg11.bin");
    assert_reads_as_disk(e, 14, "dg14.bin");
    assert_reads_as_disk(e, 15, "dg15.bin");
    assert_reads_as_disk(e, 29, "sod.bin");

    /* Passive authentication's last step on what came over the air. */
    static uint8_t sod_buf[4096], dg[4096];
    static struct sod sod;
    size_t ns = read_sm(e, 29, sod_buf, sizeof sod_buf);
    assert_int_equal(sod_parse(sod_buf, ns, &sod), SOD_OK);
    static const uint8_t sfis[] = {1, 2, 11, 14, 15};
    for (size_t i = 0; i < sizeof sfis; i++) {
        size_t n = read_sm(e, sfis[i], dg, sizeof dg);
        assert_int_equal(sod_check_dg(&sod, sfis[i], dg, n), SOD_OK);
    }
    teardown_card(e);
}

static void pace_mrz_password(void **state)
{
    (void)state;
    struct env *e = setup_card("algeria");
    char info[MRZ_BAC_INFO_MAX + 1];
    mrz_info_of(e, info);
    assert_int_equal(run_pace(e, PACE_PASSWORD_MRZ, info, NULL), PACE_OK);
    select_emrtd_sm(e);
    assert_reads_as_disk(e, 1, "dg1.bin");
    teardown_card(e);
}

static void pace_wrong_can_is_rejected(void **state)
{
    (void)state;
    struct env *e = setup_card("default");
    uint16_t sw = 0;
    uint8_t resp[RESP_MAX];
    size_t rlen;
    /* The card answers 63 00 to the reader's token (9303-11 §4.4.4.2: wrong password). */
    assert_int_equal(run_pace(e, PACE_PASSWORD_CAN, "654321", &sw), PACE_ERR_TOKEN_REJECTED);
    assert_int_equal(sw, 0x6300);
    assert_int_equal(icao_applet_session(&e->ia), ICAO_SESSION_NONE);
    /* Nothing protected is readable: DG1 by SFI in plain. */
    assert_int_equal(xfer_hex(e, "00A4040C07A0000002471001", resp, &rlen), 0x9000);
    assert_int_equal(xfer_hex(e, "00B0810000", resp, &rlen), 0x6982);
    /* A second try with the right CAN works: the failure left the card clean. */
    assert_int_equal(run_pace(e, PACE_PASSWORD_CAN, "123456", NULL), PACE_OK);
    teardown_card(e);
}

static void bac_only_refuses_pace_and_does_bac(void **state)
{
    (void)state;
    struct env *e = setup_card("bac-only");
    uint8_t resp[RESP_MAX], cmd[PACE_APDU_MAX];
    size_t rlen, cmd_len;
    struct pace pace;
    /* No EF.CardAccess on this card. */
    assert_int_equal(xfer_hex(e, "00B09C0000", resp, &rlen), 0x6A82);
    /* MSE:Set AT for id-PACE-ECDH-GM-AES-CBC-CMAC-128 (0.4.0.127.0.7.2.2.4.2.2), CAN. */
    static const uint8_t oid[] = {0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x04, 0x02, 0x02};
    struct pace_info pi = {.ka = PACE_KA_ECDH,
                           .mapping = PACE_MAPPING_GM,
                           .cipher = ICAO_AES128,
                           .version = 2,
                           .has_parameter_id = true,
                           .parameter_id = PACE_PARAM_BP256R1};
    memcpy(pi.oid, oid, sizeof oid);
    pi.oid_len = sizeof oid;
    assert_int_equal(pace_begin(&pace, &pi, PACE_PASSWORD_CAN, (const uint8_t *)"123456", 6, 0,
                                test_rng, &e->reader_rng, NULL, cmd, sizeof cmd, &cmd_len),
                     PACE_OK);
    xfer_raw(e, cmd, cmd_len, resp, &rlen);
    assert_int_equal(pace_step(&pace, resp, rlen, cmd, sizeof cmd, &cmd_len), PACE_ERR_SW);
    assert_int_equal(pace.sw, 0x6A88);
    pace_wipe(&pace);
    assert_int_equal(xfer_hex(e, "10860000027C0000", resp, &rlen), 0x6D00);

    /* The reader falls back to BAC (9303-11 §4.2): select, then BAC, then read. */
    assert_int_equal(xfer_hex(e, "00A4040C07A0000002471001", resp, &rlen), 0x9000);
    run_bac(e);
    assert_reads_as_disk(e, 1, "dg1.bin");
    assert_reads_as_disk(e, 30, "com.bin");
    assert_int_equal(run_aa(e), AA_OK);
    /* CA under 3DES secure messaging moves the session to AES. */
    run_ca(e);
    assert_int_equal(e->sm.cipher, ICAO_AES128);
    assert_reads_as_disk(e, 11, "dg11.bin");
    teardown_card(e);
}

static void bac_wrong_mrz_fails(void **state)
{
    (void)state;
    struct env *e = setup_card("bac-only");
    struct bac_keys keys;
    struct bac_ifd b;
    struct apdu a;
    uint8_t resp[RESP_MAX], ea[BAC_CRYPTO_LEN];
    size_t rlen;
    /* 9303-11 Appendix D.2's MRZ information: not this card's. */
    assert_int_equal(bac_keys_from_mrz_info("L898902C<369080619406236", 24, NULL, &keys), BAC_OK);
    bac_ifd_init(&b, &keys);
    bac_get_challenge_apdu(&a);
    assert_int_equal(xfer(e, &a, resp, &rlen), 0x9000);
    assert_int_equal(bac_ifd_authenticate(&b, resp, 8, test_rng, &e->reader_rng, ea), BAC_OK);
    bac_external_authenticate_apdu(ea, &a);
    assert_int_equal(xfer(e, &a, resp, &rlen), 0x6300);
    assert_int_equal(rlen, 2);
    /* The challenge is burnt: the same cryptogram again is out of order. */
    assert_int_equal(xfer(e, &a, resp, &rlen), 0x6985);
    bac_ifd_wipe(&b);
    assert_int_equal(icao_applet_session(&e->ia), ICAO_SESSION_NONE);
    teardown_card(e);
}

static void aa_signature_verifies_against_dg15(void **state)
{
    (void)state;
    struct env *e = setup_card("default");
    assert_int_equal(run_pace(e, PACE_PASSWORD_CAN, "123456", NULL), PACE_OK);
    select_emrtd_sm(e);
    assert_int_equal(run_aa(e), AA_OK);
    assert_int_equal(run_aa(e), AA_OK);
    teardown_card(e);
}

static void aa_bad_key_fails(void **state)
{
    (void)state;
    struct env *e = setup_card("bad-aa-key");
    assert_int_equal(run_pace(e, PACE_PASSWORD_CAN, "123456", NULL), PACE_OK);
    select_emrtd_sm(e);
    assert_int_equal(run_aa(e), AA_ERR_SIGNATURE);
    teardown_card(e);
}

static void aa_needs_secure_messaging_and_8_bytes(void **state)
{
    (void)state;
    struct env *e = setup_card("default");
    uint8_t resp[RESP_MAX], data[RESP_MAX];
    size_t rlen, n;
    assert_int_equal(xfer_hex(e, "0088000008010203040506070800", resp, &rlen), 0x6982);
    assert_int_equal(run_pace(e, PACE_PASSWORD_CAN, "123456", NULL), PACE_OK);
    static const uint8_t c7[7] = {1, 2, 3, 4, 5, 6, 7};
    struct apdu a = {.cla = 0, .ins = 0x88, .data = c7, .nc = 7, .ne = 256};
    assert_int_equal(xfer_sm(e, &a, data, &n), 0x6700);
    assert_int_equal(n, 0);
    teardown_card(e);
}

static void ca_switches_keys_and_reading_continues(void **state)
{
    (void)state;
    struct env *e = setup_card("default");
    uint8_t resp[RESP_MAX];
    size_t rlen;
    assert_int_equal(run_pace(e, PACE_PASSWORD_CAN, "123456", NULL), PACE_OK);
    select_emrtd_sm(e);
    struct sm_ctx old = e->sm;
    run_ca(e);
    assert_reads_as_disk(e, 1, "dg1.bin");
    assert_reads_as_disk(e, 29, "sod.bin");
    assert_int_equal(run_aa(e), AA_OK);
    /* The PACE keys are gone: a command under them is an SM error. */
    struct apdu a = {.cla = 0, .ins = 0xB0, .p1 = 0x81, .ne = 4};
    struct sm_ctx saved = e->sm;
    e->sm = old;
    assert_int_equal(xfer_sm_raw(e, &a, resp, &rlen), 0x6988);
    assert_int_equal(rlen, 2);
    assert_int_equal(icao_applet_session(&e->ia), ICAO_SESSION_NONE);
    sm_wipe(&old);
    sm_wipe(&saved);
    teardown_card(e);
}

static void ca_refuses_empty_commands(void **state)
{
    (void)state;
    struct env *e = setup_card("default");
    uint8_t data[RESP_MAX];
    size_t n;
    assert_int_equal(run_pace(e, PACE_PASSWORD_CAN, "123456", NULL), PACE_OK);
    select_emrtd_sm(e);
    /* Found by fuzz_icao_applet: GENERAL AUTHENTICATE (and MSE) without data, under SM. */
    struct apdu ga = {.cla = 0, .ins = 0x86, .ne = 256};
    assert_int_equal(xfer_sm(e, &ga, data, &n), 0x6A80);
    struct apdu mse = {.cla = 0, .ins = 0x22, .p1 = 0x41, .p2 = 0xA4};
    assert_int_equal(xfer_sm(e, &mse, data, &n), 0x6A80);
    /* The session survives a refused command, and CA still works afterwards. */
    assert_int_equal(icao_applet_session(&e->ia), ICAO_SESSION_PACE);
    run_ca(e);
    assert_reads_as_disk(e, 1, "dg1.bin");
    teardown_card(e);
}

static void wrong_dg_hash_card_fails_passive_authentication(void **state)
{
    (void)state;
    struct env *e = setup_card("wrong-dg-hash");
    static uint8_t sod_buf[4096], dg[4096];
    static struct sod sod;
    assert_int_equal(run_pace(e, PACE_PASSWORD_CAN, "123456", NULL), PACE_OK);
    select_emrtd_sm(e);
    size_t ns = read_sm(e, 29, sod_buf, sizeof sod_buf);
    assert_int_equal(sod_parse(sod_buf, ns, &sod), SOD_OK);
    /* docs/pki.md: the SOD's DG1 hash has its last bit flipped; the others match. */
    size_t n = read_sm(e, 1, dg, sizeof dg);
    assert_int_equal(sod_check_dg(&sod, 1, dg, n), SOD_ERR_DG_HASH);
    n = read_sm(e, 15, dg, sizeof dg);
    assert_int_equal(sod_check_dg(&sod, 15, dg, n), SOD_OK);
    teardown_card(e);
}

static void tampered_mac_ends_the_session(void **state)
{
    (void)state;
    struct env *e = setup_card("default");
    uint8_t buf[600], cmd[700], resp[RESP_MAX], data[RESP_MAX];
    size_t n, rlen;
    struct apdu prot;
    assert_int_equal(run_pace(e, PACE_PASSWORD_CAN, "123456", NULL), PACE_OK);
    select_emrtd_sm(e);
    struct apdu a = {.cla = 0, .ins = 0xB0, .p1 = 0x81, .ne = 16};
    assert_int_equal(sm_wrap_command(&e->sm, &a, buf, sizeof buf, &prot), SM_OK);
    assert_int_equal(apdu_encode(&prot, cmd, sizeof cmd, &n), APDU_OK);
    cmd[n - 2] ^= 0x01; /* the last MAC byte of DO'8E', before Le */
    assert_int_equal(xfer_raw(e, cmd, n, resp, &rlen), 0x6988);
    assert_int_equal(rlen, 2); /* no SM objects: the card has no session any more */
    assert_int_equal(icao_applet_session(&e->ia), ICAO_SESSION_NONE);
    /* Even a correctly protected command (SSC as the card would have had it) is refused. */
    assert_int_equal(xfer_sm_raw(e, &a, resp, &rlen), 0x6988);
    assert_int_equal(xfer_hex(e, "00B0810000", resp, &rlen), 0x6982);
    /* A new PACE gives a new session. */
    sm_wipe(&e->sm);
    assert_int_equal(run_pace(e, PACE_PASSWORD_CAN, "123456", NULL), PACE_OK);
    select_emrtd_sm(e);
    assert_int_equal(xfer_sm(e, &a, data, &n), 0x9000);
    assert_int_equal(n, 16);
    teardown_card(e);
}

static void plain_command_during_sm_ends_it(void **state)
{
    (void)state;
    struct env *e = setup_card("default");
    uint8_t resp[RESP_MAX];
    size_t rlen;
    assert_int_equal(run_pace(e, PACE_PASSWORD_CAN, "123456", NULL), PACE_OK);
    select_emrtd_sm(e);
    /* 9303-11 §9.8: a plain READ BINARY of DG1 aborts SM and is refused. */
    assert_int_equal(xfer_hex(e, "00B0810000", resp, &rlen), 0x6982);
    assert_int_equal(icao_applet_session(&e->ia), ICAO_SESSION_NONE);
    struct apdu a = {.cla = 0, .ins = 0xB0, .p1 = 0x81, .ne = 4};
    assert_int_equal(xfer_sm_raw(e, &a, resp, &rlen), 0x6988);
    /* Files readable always (EF.CardAccess) still are. */
    assert_int_equal(xfer_hex(e, "00A4000C023F00", resp, &rlen), 0x9000);
    assert_int_equal(xfer_hex(e, "00B09C0000", resp, &rlen), 0x6282);
    teardown_card(e);
}

static void reset_wipes_the_session(void **state)
{
    (void)state;
    struct env *e = setup_card("default");
    uint8_t resp[RESP_MAX];
    size_t rlen;
    assert_int_equal(run_pace(e, PACE_PASSWORD_CAN, "123456", NULL), PACE_OK);
    vcard_reset(&e->card);
    assert_int_equal(icao_applet_session(&e->ia), ICAO_SESSION_NONE);
    static const uint8_t zero[sizeof e->ia.sm.ks_enc];
    assert_memory_equal(e->ia.sm.ks_enc, zero, sizeof zero);
    assert_memory_equal(e->ia.sm.ks_mac, zero, sizeof zero);
    struct apdu a = {.cla = 0, .ins = 0xB0, .p1 = 0x81, .ne = 4};
    assert_int_equal(xfer_sm_raw(e, &a, resp, &rlen), 0x6988);
    teardown_card(e);
}

static void protected_command_without_session(void **state)
{
    (void)state;
    struct env *e = setup_card("default");
    uint8_t resp[RESP_MAX];
    size_t rlen;
    /* 0C B0 81 00 with a DO'97' and a made-up DO'8E'. */
    assert_int_equal(xfer_hex(e,
                              "0CB081000D970104"
                              "8E080102030405060708"
                              "00",
                              resp, &rlen),
                     0x6988);
    assert_int_equal(rlen, 2);
    teardown_card(e);
}

/* --- pki_card: strict loading ---------------------------------------------------- */

static const char *const card_files[] = {"manifest.json",  "com.bin",    "dg1.bin",   "dg2.bin",
                                         "dg11.bin",       "dg14.bin",   "dg15.bin",  "sod.bin",
                                         "cardaccess.bin", "aa_key.der", "ca_key.der"};

/* A private copy of the default card to break. */
static void copy_card(const char *id, char *tmp)
{
    char src[4200], dst[4200];
    static uint8_t buf[1 << 16];
    strcpy(tmp, "/tmp/hawiya-pki-card-XXXXXX");
    assert_non_null(mkdtemp(tmp));
    for (size_t i = 0; i < sizeof card_files / sizeof *card_files; i++) {
        snprintf(src, sizeof src, "%s/%s/%s", env_or_skip("HAWIYA_PKI_CARDS"), id, card_files[i]);
        snprintf(dst, sizeof dst, "%s/%s", tmp, card_files[i]);
        FILE *f = fopen(src, "rb"), *g = fopen(dst, "wb");
        assert_non_null(f);
        assert_non_null(g);
        size_t n = fread(buf, 1, sizeof buf, f);
        assert_int_equal(fwrite(buf, 1, n, g), n);
        fclose(f);
        fclose(g);
    }
}

static void remove_card(const char *tmp)
{
    char p[4200];
    for (size_t i = 0; i < sizeof card_files / sizeof *card_files; i++) {
        snprintf(p, sizeof p, "%s/%s", tmp, card_files[i]);
        unlink(p);
    }
    rmdir(tmp);
}

static void pki_card_missing_file_is_named(void **state)
{
    (void)state;
    char tmp[64], p[200];
    struct pki_card pc;
    struct pki_card_diag d;
    copy_card("default", tmp);
    snprintf(p, sizeof p, "%s/dg14.bin", tmp);
    unlink(p);
    assert_int_equal(pki_card_load(&pc, tmp, &d), PKI_CARD_ERR_IO);
    assert_string_equal(d.file, "dg14.bin");
    char msg[200];
    pki_card_diag_format(&d, msg, sizeof msg);
    assert_string_equal(msg, "dg14.bin: PKI_CARD_ERR_IO");
    pki_card_free(&pc);
    remove_card(tmp);
}

static void pki_card_tampered_file_is_named(void **state)
{
    (void)state;
    char tmp[64], p[200];
    struct pki_card pc;
    struct pki_card_diag d;
    copy_card("default", tmp);
    snprintf(p, sizeof p, "%s/dg1.bin", tmp);
    FILE *f = fopen(p, "r+b");
    assert_non_null(f);
    fseek(f, 10, SEEK_SET);
    fputc('X', f);
    fclose(f);
    assert_int_equal(pki_card_load(&pc, tmp, &d), PKI_CARD_ERR_HASH);
    assert_string_equal(d.file, "dg1.bin");
    /* A key that is not DER at all. */
    copy_card("default", p);
    remove_card(tmp);
    char key[200];
    snprintf(key, sizeof key, "%s/aa_key.der", p);
    f = fopen(key, "wb");
    assert_non_null(f);
    fputs("not a key", f);
    fclose(f);
    assert_int_equal(pki_card_load(&pc, p, &d), PKI_CARD_ERR_KEY);
    assert_string_equal(d.file, "aa_key.der");
    /* The CA key of another card does not match this DG14. */
    char other[200];
    snprintf(other, sizeof other, "%s/algeria/ca_key.der", env_or_skip("HAWIYA_PKI_CARDS"));
    snprintf(key, sizeof key, "cp '%s' '%s/ca_key.der'", other, p);
    assert_int_equal(system(key), 0);
    assert_int_equal(pki_card_load(&pc, p, &d), PKI_CARD_ERR_KEY);
    assert_string_equal(d.file, "ca_key.der");
    remove_card(p);
}

static void pki_card_other_persona_refused(void **state)
{
    (void)state;
    struct env *e = setup_card("algeria");
    struct pki_card pc;
    struct pki_card_diag d;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/default", env_or_skip("HAWIYA_PKI_CARDS"));
    assert_int_equal(pki_card_load(&pc, dir, &d), PKI_CARD_OK);
    size_t pool = e->persona.pool_len;
    assert_int_equal(pki_card_install(&pc, &e->persona, &d), PKI_CARD_ERR_PERSONA);
    assert_int_equal(e->persona.pool_len, pool);
    assert_string_equal(pki_card_err_str(PKI_CARD_ERR_PERSONA), "PKI_CARD_ERR_PERSONA");
    pki_card_free(&pc);
    teardown_card(e);
}

static void pki_card_replaces_placeholders(void **state)
{
    (void)state;
    struct env *e = setup_card("default");
    uint8_t resp[RESP_MAX], want[512];
    size_t rlen, n = 0;
    /* One EF.CardAccess (011C) and one EF.COM (011E): replaced, not doubled. */
    for (size_t i = 0; i < e->persona.n_files; i++)
        if (e->persona.files[i].fid == 0x011C || e->persona.files[i].fid == 0x011E)
            n++;
    assert_int_equal(n, 2);
    /* The persona's other files stay: EF.ATR/INFO 2F01 in the MF. */
    assert_int_equal(xfer_hex(e, "00A4020C022F01", resp, &rlen), 0x9000);
    /* SELECT EF.CardAccess by FID and READ BINARY: the PKI's bytes. */
    assert_int_equal(xfer_hex(e, "00A4020C02011C", resp, &rlen), 0x9000);
    assert_int_equal(xfer_hex(e, "00B0000000", resp, &rlen), 0x6282);
    n = disk_file(e, "cardaccess.bin", want, sizeof want);
    assert_int_equal(rlen - 2, n);
    assert_memory_equal(resp, want, n);
    teardown_card(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pace_can_then_read_every_file),
        cmocka_unit_test(pace_mrz_password),
        cmocka_unit_test(pace_wrong_can_is_rejected),
        cmocka_unit_test(bac_only_refuses_pace_and_does_bac),
        cmocka_unit_test(bac_wrong_mrz_fails),
        cmocka_unit_test(aa_signature_verifies_against_dg15),
        cmocka_unit_test(aa_bad_key_fails),
        cmocka_unit_test(aa_needs_secure_messaging_and_8_bytes),
        cmocka_unit_test(ca_switches_keys_and_reading_continues),
        cmocka_unit_test(ca_refuses_empty_commands),
        cmocka_unit_test(wrong_dg_hash_card_fails_passive_authentication),
        cmocka_unit_test(tampered_mac_ends_the_session),
        cmocka_unit_test(plain_command_during_sm_ends_it),
        cmocka_unit_test(reset_wipes_the_session),
        cmocka_unit_test(protected_command_without_session),
        cmocka_unit_test(pki_card_missing_file_is_named),
        cmocka_unit_test(pki_card_tampered_file_is_named),
        cmocka_unit_test(pki_card_other_persona_refused),
        cmocka_unit_test(pki_card_replaces_placeholders),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

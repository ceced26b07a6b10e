/*
 * The assertion's binding values. Expected digests were computed
 * independently with Python's hashlib over the byte layout written in
 * hawiya/assertion.h (not with this code):
 *   aa  = sha256(challenge + origin + dg1)[:8]
 *   tbs = sha256(b"hawiya-assertion/1\0" + b"".join(bytes([tag]) +
 *                struct.pack(">I", len(v)) + v for tag, v in fields))
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "hawiya/assertion.h"
#include "hawiya/hex.h"

static uint8_t challenge[32];
static const char origin[] = "https://record.example";
static uint8_t dg1[20];
static size_t dg1_len;

static void fill(void)
{
    for (int i = 0; i < 32; i++)
        challenge[i] = (uint8_t)i;
    memcpy(dg1, "\x61\x5B\x5F\x1F\x58", 5);
    memcpy(dg1 + 5, "IDMARAB12345671", 15);
    dg1_len = 20;
}

static void want(const char *hex, const uint8_t *got, size_t n)
{
    uint8_t w[64];
    size_t wn;
    assert_int_equal(hex_decode(hex, 200, w, sizeof w, &wn), HEX_OK);
    assert_int_equal(wn, n);
    assert_memory_equal(got, w, n);
}

static void aa_challenge_binds_challenge_origin_dg1(void **state)
{
    fill();
    struct assertion_bytes c = {challenge, 32}, o = {(const uint8_t *)origin, strlen(origin)},
                           d = {dg1, dg1_len};
    uint8_t aa[8];
    assert_int_equal(assertion_aa_challenge(&c, &o, &d, aa), ASSERTION_OK);
    want("4104B90FF10900F5", aa, 8);
    /* Another origin gives another challenge. */
    struct assertion_bytes o2 = {(const uint8_t *)"https://evil.example", 20};
    uint8_t aa2[8];
    assert_int_equal(assertion_aa_challenge(&c, &o2, &d, aa2), ASSERTION_OK);
    assert_memory_not_equal(aa, aa2, 8);
    /* 31 and 65 bytes are not challenges. */
    c.len = 31;
    assert_int_equal(assertion_aa_challenge(&c, &o, &d, aa), ASSERTION_ERR_CHALLENGE);
    c.len = 65;
    assert_int_equal(assertion_aa_challenge(&c, &o, &d, aa), ASSERTION_ERR_CHALLENGE);
    c.len = 32;
    d.len = 0;
    assert_int_equal(assertion_aa_challenge(&c, &o, &d, aa), ASSERTION_ERR_FIELD);
}

static void tbs_digest_layout(void **state)
{
    fill();
    static const uint8_t com[] = {0x60, 0x03, 0x5F, 0x01, 0x00}, dg14[] = {0x6E, 0x00},
                         dg15[] = {0x6F, 0x01, 0x00}, sod[] = {0x77, 0x02, 0x30, 0x00};
    uint8_t sig[64];
    memset(sig, 0xAA, sizeof sig);
    struct assertion_evidence e = {
        .challenge = {challenge, 32},
        .origin = {(const uint8_t *)origin, strlen(origin)},
        .ef_com = {com, sizeof com},
        .dg1 = {dg1, dg1_len},
        .dg14 = {dg14, sizeof dg14},
        .dg15 = {dg15, sizeof dg15},
        .ef_sod = {sod, sizeof sod},
        .aa_signature = {sig, sizeof sig},
        .counter = 7,
        .reader_id = {(const uint8_t *)"sim-0001", 8},
    };
    assert_int_equal(assertion_aa_challenge(&e.challenge, &e.origin, &e.dg1, e.aa_challenge),
                     ASSERTION_OK);
    uint8_t d[32];
    assert_int_equal(assertion_tbs_digest(&e, d), ASSERTION_OK);
    want("B1FF31C3A93EA6C3F1176526ADB2DEEA783FE63960E83C1C58E61C301E386B64", d, 32);

    /* Every field counts: the counter, one byte of the SOD. */
    uint8_t d2[32];
    e.counter = 8;
    assert_int_equal(assertion_tbs_digest(&e, d2), ASSERTION_OK);
    assert_memory_not_equal(d, d2, 32);
    e.counter = 7;
    /* A required field missing is refused, not hashed as empty. */
    e.dg15.len = 0;
    assert_int_equal(assertion_tbs_digest(&e, d2), ASSERTION_ERR_FIELD);
    assert_string_equal(assertion_err_str(ASSERTION_ERR_FIELD), "ASSERTION_ERR_FIELD");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(aa_challenge_binds_challenge_origin_dg1),
        cmocka_unit_test(tbs_digest_layout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * The assertion's binding values (hawiya-assertion/2). Expected digests
 * were computed independently with Python's hashlib over the byte layout
 * written in hawiya/assertion.h and docs/assertion.md (not with this code):
 *   f   = lambda tag, v: bytes([tag]) + struct.pack(">I", len(v)) + v
 *   aa  = sha256(b"hawiya-assertion/2 card challenge\0"
 *                + f(1, challenge) + f(2, origin) + f(5, dg1))[:8]
 *   tbs = sha256(b"hawiya-assertion/2 reader attestation\0"
 *                + b"".join(f(i + 1, v) for i, v in enumerate(fields)))
 * with fields = challenge, origin, EF.CardAccess, EF.COM, DG1, DG11, DG14,
 * DG15, EF.SOD, aa_challenge, aa_signature, counter (8 bytes), reader id.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "hawiya/assertion.h"
#include "hawiya/hex.h"

static uint8_t challenge[40];
static const char origin[] = "https://record.example";
static uint8_t dg1[20];
static size_t dg1_len;

static void fill(void)
{
    for (int i = 0; i < 32; i++)
        challenge[i] = (uint8_t)i;
    memcpy(challenge + 32, "https://", 8);
    memcpy(dg1, "\x61\x5B\x5F\x1F\x58", 5);
    memcpy(dg1 + 5, "IDMARAB12345671", 15);
    dg1_len = 20;
}

static void want(const char *hex, const uint8_t *got, size_t n)
{
    uint8_t w[64];
    size_t wn;
    assert_int_equal(hex_decode(hex, strlen(hex), w, sizeof w, &wn), HEX_OK);
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
    want("E71F7581ABADD9EC", aa, 8);
    /* Another origin gives another challenge. */
    struct assertion_bytes o2 = {(const uint8_t *)"https://evil.example", 20};
    uint8_t aa2[8];
    assert_int_equal(assertion_aa_challenge(&c, &o2, &d, aa2), ASSERTION_OK);
    assert_memory_not_equal(aa, aa2, 8);
    /* The same bytes split elsewhere: challenge || "https://", origin "record.example".
     * Without the lengths this was the same digest. */
    struct assertion_bytes c40 = {challenge, 40}, o14 = {(const uint8_t *)"record.example", 14};
    assert_int_equal(assertion_aa_challenge(&c40, &o14, &d, aa2), ASSERTION_OK);
    want("4A7CFDC365CD0E19", aa2, 8);
    assert_memory_not_equal(aa, aa2, 8);
    /* 31 and 65 bytes are not challenges. */
    c.len = 31;
    assert_int_equal(assertion_aa_challenge(&c, &o, &d, aa), ASSERTION_ERR_CHALLENGE);
    c.len = 65;
    assert_int_equal(assertion_aa_challenge(&c, &o, &d, aa), ASSERTION_ERR_CHALLENGE);
    c.len = 32;
    d.len = 0;
    assert_int_equal(assertion_aa_challenge(&c, &o, &d, aa), ASSERTION_ERR_FIELD);
    d.len = dg1_len;
    o.len = 0;
    assert_int_equal(assertion_aa_challenge(&c, &o, &d, aa), ASSERTION_ERR_FIELD);
}

static const uint8_t com[] = {0x60, 0x03, 0x5F, 0x01, 0x00}, dg14[] = {0x6E, 0x00},
                     dg15[] = {0x6F, 0x01, 0x00}, sod[] = {0x77, 0x02, 0x30, 0x00};
static uint8_t sig[64];

static struct assertion_evidence evidence(void)
{
    fill();
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
    return e;
}

static const char tbs_want[] = "CE54FFB32CFAD2B19AB615BE6B3A7164CE53A5DD661052182E3FB38846B30DF9";

static void tbs_digest_layout(void **state)
{
    struct assertion_evidence e = evidence();
    uint8_t d[32];
    assert_int_equal(assertion_tbs_digest(&e, d), ASSERTION_OK);
    want(tbs_want, d, 32);

    /* Every field counts: the counter, the reader id. */
    uint8_t d2[32];
    e.counter = 8;
    assert_int_equal(assertion_tbs_digest(&e, d2), ASSERTION_OK);
    assert_memory_not_equal(d, d2, 32);
    e.counter = 7;
    /* The boundary between challenge and origin is in the digest. */
    e.challenge.len = 40;
    e.origin = (struct assertion_bytes){(const uint8_t *)"record.example", 14};
    assert_int_equal(assertion_tbs_digest(&e, d2), ASSERTION_OK);
    assert_memory_not_equal(d, d2, 32);
    e = evidence();
    /* An empty optional file and an absent one are the same field (length 0). */
    e.dg11 = (struct assertion_bytes){dg1, 0};
    assert_int_equal(assertion_tbs_digest(&e, d2), ASSERTION_OK);
    assert_memory_equal(d, d2, 32);
    /* Moving EF.COM's bytes into EF.CardAccess changes the digest: each file has its place. */
    e.ef_cardaccess = e.ef_com;
    e.ef_com = (struct assertion_bytes){NULL, 0};
    assert_int_equal(assertion_tbs_digest(&e, d2), ASSERTION_OK);
    assert_memory_not_equal(d, d2, 32);
    /* A required field missing is refused, not hashed as empty. */
    e = evidence();
    e.dg15.len = 0;
    assert_int_equal(assertion_tbs_digest(&e, d2), ASSERTION_ERR_FIELD);
    e = evidence();
    e.reader_id.len = 0;
    assert_int_equal(assertion_tbs_digest(&e, d2), ASSERTION_ERR_FIELD);
    e = evidence();
    e.challenge.len = 65;
    assert_int_equal(assertion_tbs_digest(&e, d2), ASSERTION_ERR_CHALLENGE);
    assert_string_equal(assertion_err_str(ASSERTION_ERR_FIELD), "ASSERTION_ERR_FIELD");
}

/* The streamed digest equals the one-shot one, whatever the chunking, and checks its order. */
static void tbs_streamed(void **state)
{
    struct assertion_evidence e = evidence();
    uint8_t counter[8] = {0, 0, 0, 0, 0, 0, 0, 7};
    const struct assertion_bytes fields[13] = {
        e.challenge,    e.origin,     e.ef_cardaccess, e.ef_com, e.dg1,
        e.dg11,         e.dg14,       e.dg15,          e.ef_sod, {e.aa_challenge, 8},
        e.aa_signature, {counter, 8}, e.reader_id,
    };
    for (size_t chunk = 1; chunk <= 7; chunk += 3) {
        struct assertion_tbs t;
        uint8_t d[32];
        assert_int_equal(assertion_tbs_begin(&t), ASSERTION_OK);
        for (int i = 0; i < 13; i++) {
            assert_int_equal(assertion_tbs_field(&t, (enum assertion_field)(i + 1), fields[i].len),
                             ASSERTION_OK);
            for (size_t off = 0; off < fields[i].len; off += chunk) {
                size_t n = fields[i].len - off < chunk ? fields[i].len - off : chunk;
                assert_int_equal(assertion_tbs_update(&t, fields[i].p + off, n), ASSERTION_OK);
            }
        }
        assert_int_equal(assertion_tbs_finish(&t, d), ASSERTION_OK);
        want(tbs_want, d, 32);
    }

    struct assertion_tbs t;
    uint8_t d[32];
    /* Out of order: DG1 before EF.COM. */
    assertion_tbs_begin(&t);
    assertion_tbs_field(&t, ASSERTION_CHALLENGE, 32);
    assertion_tbs_update(&t, challenge, 32);
    assertion_tbs_field(&t, ASSERTION_ORIGIN, 3);
    assertion_tbs_update(&t, (const uint8_t *)"abc", 3);
    assertion_tbs_field(&t, ASSERTION_EF_CARDACCESS, 0);
    assert_int_equal(assertion_tbs_field(&t, ASSERTION_DG1, 20), ASSERTION_ERR_ORDER);
    assert_int_equal(assertion_tbs_finish(&t, d), ASSERTION_ERR_ORDER);
    /* More bytes than announced, and a field started before the last one is complete. */
    assertion_tbs_begin(&t);
    assertion_tbs_field(&t, ASSERTION_CHALLENGE, 32);
    assert_int_equal(assertion_tbs_update(&t, challenge, 33), ASSERTION_ERR_ORDER);
    assert_int_equal(assertion_tbs_finish(&t, d), ASSERTION_ERR_ORDER);
    assertion_tbs_begin(&t);
    assertion_tbs_field(&t, ASSERTION_CHALLENGE, 32);
    assertion_tbs_update(&t, challenge, 31);
    assert_int_equal(assertion_tbs_field(&t, ASSERTION_ORIGIN, 1), ASSERTION_ERR_ORDER);
    assertion_tbs_finish(&t, d);
    /* Fixed lengths: an aa_challenge of 9 bytes, a counter of 4. */
    assertion_tbs_begin(&t);
    for (int i = 0; i < 9; i++) {
        assertion_tbs_field(&t, (enum assertion_field)(i + 1), fields[i].len);
        assertion_tbs_update(&t, fields[i].p, fields[i].len);
    }
    assert_int_equal(assertion_tbs_field(&t, ASSERTION_AA_CHALLENGE_FIELD, 9), ASSERTION_ERR_FIELD);
    assertion_tbs_finish(&t, d);
    /* Stopping before the reader id. */
    assertion_tbs_begin(&t);
    for (int i = 0; i < 12; i++) {
        assertion_tbs_field(&t, (enum assertion_field)(i + 1), fields[i].len);
        assertion_tbs_update(&t, fields[i].p, fields[i].len);
    }
    assert_int_equal(assertion_tbs_finish(&t, d), ASSERTION_ERR_ORDER);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(aa_challenge_binds_challenge_origin_dg1),
        cmocka_unit_test(tbs_digest_layout),
        cmocka_unit_test(tbs_streamed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * The reader's identity and counter (firmware/src/attest.c) over the record
 * store on the mock board's flash and OTP. What attest.h promises:
 *   - the key is made once; a flash that lost it (erased, damaged, missing)
 *     never makes another, and says which loss it is (INFO shows the name);
 *   - the counter never repeats a released value, at any power cut, and
 *     stops at 2^53 - 1;
 *   - a missing or invalid counter, or a lost certificate, stops
 *     attestation by name instead of inventing a value.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "attest.h"
#include "mbedtls/x509_crt.h"
#include "mock_board.h"

static struct attest a;

static void stop(void)
{
    mbedtls_pk_free(&a.key);
    mbedtls_ctr_drbg_free(&a.drbg);
}

/* A restart of the reader on whatever the flash and OTP hold now. */
static enum attest_err restart(void)
{
    stop();
    mock_board_power_cycle();
    return attest_init(&a);
}

static void put_counter_record(uint64_t v)
{
    struct store s;
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (56 - 8 * i));
    assert_int_equal(store_open(&s), STORE_OK);
    assert_int_equal(store_put(&s, ATTEST_REC_COUNTER, b, sizeof b), STORE_OK);
}

static bool all_ff(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0xFF)
            return false;
    return true;
}

static void key_made_once_and_kept(void **state)
{
    (void)state;
    mock_board_reset(11);
    assert_int_equal(attest_init(&a), ATTEST_OK);
    assert_true(a.ready);
    assert_int_equal(a.counter, 0);
    char id[ATTEST_ID_MAX];
    memcpy(id, a.id, sizeof id);
    /* The OTP records the identity: "HWID" and the key's fingerprint. */
    assert_memory_equal(mock_board.otp, "HWID", 4);
    assert_true(all_ff(mock_board.otp + 32, 32)); /* not certified yet */

    /* Restarts, with other RNG output: the same key every time. */
    for (int i = 0; i < 3; i++) {
        mock_board.rng_state += 12345;
        assert_int_equal(restart(), ATTEST_OK);
        assert_string_equal(a.id, id);
    }
    stop();
}

static void lost_key_is_named_never_replaced(void **state)
{
    (void)state;
    mock_board_reset(12);
    assert_int_equal(attest_init(&a), ATTEST_OK);
    uint8_t otp[MOCK_OTP_BYTES];
    memcpy(otp, mock_board.otp, sizeof otp);

    /* The whole flash erased (all 0xFF): the OTP knows there was a key. */
    memset(mock_board.flash, 0xFF, sizeof mock_board.flash);
    assert_int_equal(restart(), ATTEST_ERR_KEY_LOST);
    assert_false(a.ready);
    /* Nothing was written: no new key, the flash is as the loss left it. */
    assert_true(all_ff(mock_board.flash, sizeof mock_board.flash));
    assert_memory_equal(mock_board.otp, otp, sizeof otp);
    uint64_t c;
    assert_int_equal(attest_next_counter(&a, &c), ATTEST_ERR_KEY_LOST);
    assert_int_equal(attest_set_cert(&a, (const uint8_t *)"x", 1), ATTEST_ERR_CERT);

    /* A flash that cannot be read at all. */
    mock_board.flash_missing = true;
    assert_int_equal(restart(), ATTEST_ERR_STORE);
    assert_int_equal(a.store.state, STORE_ERR_FLASH);
    mock_board.flash_missing = false;

    /* Garbage without a store header, with the OTP set: damage, not a blank reader. */
    mock_board.flash[200] = 0x12;
    assert_int_equal(restart(), ATTEST_ERR_STORE);
    assert_int_equal(a.store.state, STORE_ERR_NOT_FORMATTED);
    assert_int_equal(mock_board.flash[200], 0x12); /* not formatted over */
    stop();
}

static void store_without_key_but_with_records(void **state)
{
    (void)state;
    /* No OTP on this board: the store alone says the reader kept something. */
    mock_board_reset(13);
    mock_board.otp_size = 0;
    put_counter_record(5);
    assert_int_equal(attest_init(&a), ATTEST_ERR_KEY_LOST);
    struct store s;
    assert_int_equal(store_open(&s), STORE_OK);
    assert_false(store_has(&s, ATTEST_REC_KEY));
    stop();
}

static void another_key_in_flash_is_a_mismatch(void **state)
{
    (void)state;
    uint8_t flash_b[MOCK_FLASH_BYTES];
    mock_board_reset(14);
    assert_int_equal(attest_init(&a), ATTEST_OK);
    memcpy(flash_b, mock_board.flash, sizeof flash_b); /* reader B's flash */
    stop();
    mock_board_reset(15);
    assert_int_equal(attest_init(&a), ATTEST_OK); /* reader A */
    /* B's flash copied into A: A's OTP names another key. */
    memcpy(mock_board.flash, flash_b, sizeof flash_b);
    assert_int_equal(restart(), ATTEST_ERR_KEY_MISMATCH);
    stop();
}

/* A first start cut at any byte: a blank store again, or a whole identity. */
static void first_start_cut_anywhere(void **state)
{
    (void)state;
    unsigned cuts = 0;
    for (long budget = 0;; budget++) {
        mock_board_reset(16);
        mock_board.flash_budget = budget;
        mock_board.flash_torn_mask = 0x5A;
        enum attest_err e = attest_init(&a);
        bool cut = mock_board.powered_off;
        enum attest_err again = restart();
        assert_int_equal(again, ATTEST_OK);
        if (e == ATTEST_OK && !cut) {
            stop();
            break;
        }
        cuts++;
        stop();
    }
    assert_true(cuts > 300);
    print_message("attest: %u power cuts inside a first start, each ends in one identity\n", cuts);
}

/* Released values never repeat, whatever byte the power is cut at. */
static void counter_never_repeats_across_cuts(void **state)
{
    (void)state;
    mock_board_reset(17);
    mock_board.sector_size = 1024; /* compactions among the writes */
    assert_int_equal(attest_init(&a), ATTEST_OK);
    uint64_t released = 0;
    unsigned cuts = 0;
    for (long budget = 0; budget < 3000; budget++) {
        mock_board.flash_budget = (budget * 7) % 1900; /* up to a whole compaction */
        mock_board.flash_torn_mask = (uint8_t)(budget * 37);
        uint64_t c = 0;
        enum attest_err e = attest_next_counter(&a, &c);
        if (e == ATTEST_OK) {
            assert_true(c > released); /* a signature would leave with c */
            released = c;
        }
        if (mock_board.powered_off) {
            cuts++;
            assert_int_equal(restart(), ATTEST_OK);
            assert_true(a.counter >= released);
        } else {
            mock_board.flash_budget = -1;
        }
    }
    assert_int_equal(restart(), ATTEST_OK);
    assert_true(a.counter >= released);
    print_message("attest: %u power cuts among counter writes, %llu values released, none "
                  "repeated\n",
                  cuts, (unsigned long long)released);
    assert_true(cuts > 1000);
    stop();
}

static void counter_stops_at_its_maximum(void **state)
{
    (void)state;
    mock_board_reset(18);
    assert_int_equal(attest_init(&a), ATTEST_OK);
    put_counter_record(ATTEST_COUNTER_MAX - 1);
    assert_int_equal(restart(), ATTEST_OK);
    uint64_t c;
    assert_int_equal(attest_next_counter(&a, &c), ATTEST_OK);
    assert_true(c == 9007199254740991ull); /* 2^53 - 1: the last value, still used */
    assert_int_equal(a.state, ATTEST_ERR_COUNTER_EXHAUSTED);
    assert_int_equal(attest_next_counter(&a, &c), ATTEST_ERR_COUNTER_EXHAUSTED);
    assert_int_equal(restart(), ATTEST_ERR_COUNTER_EXHAUSTED);
    assert_true(a.ready); /* the identity is still shown */

    /* Beyond the maximum (no firmware writes that): invalid, not wrapped. */
    put_counter_record(ATTEST_COUNTER_MAX + 1);
    assert_int_equal(restart(), ATTEST_ERR_COUNTER);
    put_counter_record(UINT64_MAX);
    assert_int_equal(restart(), ATTEST_ERR_COUNTER);
    assert_int_equal(attest_next_counter(&a, &c), ATTEST_ERR_COUNTER);
    stop();
}

static void counter_record_lost_or_wrong_size(void **state)
{
    (void)state;
    /* A store with the key but a counter of 4 bytes. */
    mock_board_reset(19);
    assert_int_equal(attest_init(&a), ATTEST_OK);
    struct store s;
    assert_int_equal(store_open(&s), STORE_OK);
    assert_int_equal(store_put(&s, ATTEST_REC_COUNTER, (const uint8_t *)"\0\0\0\1", 4), STORE_OK);
    assert_int_equal(restart(), ATTEST_ERR_COUNTER);
    uint64_t c;
    assert_int_equal(attest_next_counter(&a, &c), ATTEST_ERR_COUNTER);
    stop();
}

/* A certificate for our own key (self-signed here). */
static int own_cert(uint8_t *der, size_t cap, const uint8_t **cert)
{
    mbedtls_x509write_cert w;
    mbedtls_mpi serial;
    mbedtls_x509write_crt_init(&w);
    mbedtls_mpi_init(&serial);
    mbedtls_mpi_lset(&serial, 1);
    mbedtls_x509write_crt_set_version(&w, MBEDTLS_X509_CRT_VERSION_3);
    mbedtls_x509write_crt_set_md_alg(&w, MBEDTLS_MD_SHA256);
    mbedtls_x509write_crt_set_subject_key(&w, &a.key);
    mbedtls_x509write_crt_set_issuer_key(&w, &a.key);
    mbedtls_x509write_crt_set_subject_name(&w, "CN=mock reader");
    mbedtls_x509write_crt_set_issuer_name(&w, "CN=mock reader");
    mbedtls_x509write_crt_set_serial(&w, &serial);
    mbedtls_x509write_crt_set_validity(&w, "20260101000000", "20360101000000");
    int n = mbedtls_x509write_crt_der(&w, der, cap, attest_random, &a);
    mbedtls_x509write_crt_free(&w);
    mbedtls_mpi_free(&serial);
    *cert = der + cap - n;
    return n;
}

static void lost_certificate_is_named(void **state)
{
    (void)state;
    uint8_t before[MOCK_FLASH_BYTES], der[1024];
    const uint8_t *cert;
    mock_board_reset(20);
    assert_int_equal(attest_init(&a), ATTEST_OK);
    memcpy(before, mock_board.flash, sizeof before);
    int n = own_cert(der, sizeof der, &cert);
    assert_true(n > 0);
    assert_int_equal(attest_set_cert(&a, cert, (size_t)n), ATTEST_OK);
    assert_memory_equal(mock_board.otp + 32, "HWCT", 4);
    assert_int_equal(restart(), ATTEST_OK);
    assert_int_equal(a.cert_len, (size_t)n);

    /* The flash from before the certificate, the OTP from after. */
    memcpy(mock_board.flash, before, sizeof before);
    assert_int_equal(restart(), ATTEST_ERR_CERT_LOST);
    assert_true(a.ready);
    uint64_t c;
    assert_int_equal(attest_next_counter(&a, &c), ATTEST_ERR_CERT_LOST);
    /* Provisioned again: attestation resumes. */
    assert_int_equal(attest_set_cert(&a, cert, (size_t)n), ATTEST_OK);
    assert_int_equal(a.state, ATTEST_OK);
    assert_int_equal(attest_next_counter(&a, &c), ATTEST_OK);
    assert_int_equal(c, 1);
    stop();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(key_made_once_and_kept),
        cmocka_unit_test(lost_key_is_named_never_replaced),
        cmocka_unit_test(store_without_key_but_with_records),
        cmocka_unit_test(another_key_in_flash_is_a_mismatch),
        cmocka_unit_test(first_start_cut_anywhere),
        cmocka_unit_test(counter_never_repeats_across_cuts),
        cmocka_unit_test(counter_stops_at_its_maximum),
        cmocka_unit_test(counter_record_lost_or_wrong_size),
        cmocka_unit_test(lost_certificate_is_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

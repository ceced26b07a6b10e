/*
 * The reader's session over its escape commands (firmware/src/session.c,
 * hawiya/reader_escape.h), driven through the CCID device as the host
 * drives it: PC_to_RDR_Escape in, RDR_to_PC_Escape out (USB CCID 1.1
 * §6.1.8, §6.2.4), on the mock board (tests/unit/mock_board.c) with an
 * empty slot.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "ccid_device.h"
#include "hawiya/reader_escape.h"
#include "hawiya/tlv.h"
#include "mbedtls/ecp.h"
#include "mbedtls/pk.h"
#include "mbedtls/x509_crt.h"
#include "mock_board.h"
#include "session.h"

/*
 * A certificate for a P-256 key that is not the reader's, made by OpenSSL 3.0:
 *   openssl ecparam -name prime256v1 -genkey -noout -out other.key
 *   openssl req -x509 -new -key other.key -subj "/CN=another reader" -days 3650 \
 *       -outform DER -out other.der -set_serial 7
 */
static const uint8_t other_cert[] = {
    0x30, 0x82, 0x01, 0x74, 0x30, 0x82, 0x01, 0x1a, 0xa0, 0x03, 0x02, 0x01, 0x02, 0x02, 0x01, 0x07,
    0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02, 0x30, 0x19, 0x31, 0x17,
    0x30, 0x15, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x0e, 0x61, 0x6e, 0x6f, 0x74, 0x68, 0x65, 0x72,
    0x20, 0x72, 0x65, 0x61, 0x64, 0x65, 0x72, 0x30, 0x1e, 0x17, 0x0d, 0x32, 0x36, 0x31, 0x31, 0x32,
    0x32, 0x30, 0x30, 0x31, 0x31, 0x31, 0x39, 0x5a, 0x17, 0x0d, 0x33, 0x36, 0x31, 0x31, 0x31, 0x39,
    0x30, 0x30, 0x31, 0x31, 0x31, 0x39, 0x5a, 0x30, 0x19, 0x31, 0x17, 0x30, 0x15, 0x06, 0x03, 0x55,
    0x04, 0x03, 0x0c, 0x0e, 0x61, 0x6e, 0x6f, 0x74, 0x68, 0x65, 0x72, 0x20, 0x72, 0x65, 0x61, 0x64,
    0x65, 0x72, 0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06,
    0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00, 0x04, 0x01, 0x11, 0xa6,
    0x66, 0x2d, 0xf6, 0x5e, 0xd0, 0x4e, 0x21, 0x39, 0x50, 0x6d, 0xf8, 0x9c, 0xbb, 0x0e, 0xdf, 0x8b,
    0xfd, 0x26, 0xf4, 0xfc, 0x1d, 0x2c, 0x22, 0x30, 0xa8, 0x28, 0x0b, 0x46, 0xbc, 0xf9, 0x16, 0x77,
    0x39, 0xf9, 0xee, 0xcd, 0xc5, 0x90, 0xb6, 0x6b, 0xc5, 0x85, 0x98, 0xa8, 0x17, 0x5c, 0x3f, 0x30,
    0x19, 0xb3, 0xcb, 0x08, 0xc7, 0x42, 0x4a, 0x80, 0xb3, 0xd4, 0x08, 0xe7, 0xee, 0xa3, 0x53, 0x30,
    0x51, 0x30, 0x1d, 0x06, 0x03, 0x55, 0x1d, 0x0e, 0x04, 0x16, 0x04, 0x14, 0x1d, 0xfc, 0x14, 0x51,
    0xe1, 0x6e, 0xb6, 0x1e, 0x09, 0x5a, 0x1d, 0xd2, 0xcf, 0xbd, 0x96, 0x43, 0x4b, 0x51, 0x34, 0x08,
    0x30, 0x1f, 0x06, 0x03, 0x55, 0x1d, 0x23, 0x04, 0x18, 0x30, 0x16, 0x80, 0x14, 0x1d, 0xfc, 0x14,
    0x51, 0xe1, 0x6e, 0xb6, 0x1e, 0x09, 0x5a, 0x1d, 0xd2, 0xcf, 0xbd, 0x96, 0x43, 0x4b, 0x51, 0x34,
    0x08, 0x30, 0x0f, 0x06, 0x03, 0x55, 0x1d, 0x13, 0x01, 0x01, 0xff, 0x04, 0x05, 0x30, 0x03, 0x01,
    0x01, 0xff, 0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02, 0x03, 0x48,
    0x00, 0x30, 0x45, 0x02, 0x20, 0x61, 0xc0, 0x46, 0xa9, 0xba, 0x8b, 0x5f, 0x9f, 0x6e, 0x43, 0xa1,
    0x56, 0xba, 0xe8, 0x4a, 0x5d, 0x96, 0x0a, 0xa3, 0xe6, 0x09, 0x57, 0xdf, 0xd5, 0x22, 0x12, 0xe5,
    0x68, 0x0d, 0x72, 0x48, 0xb6, 0x02, 0x21, 0x00, 0xb9, 0xd1, 0x0d, 0xb3, 0x78, 0xe0, 0x81, 0x1d,
    0x56, 0x7e, 0xab, 0x69, 0x78, 0x1d, 0x29, 0x7d, 0xa6, 0x57, 0xc7, 0x81, 0x35, 0x98, 0x62, 0x30,
    0x43, 0xab, 0xe9, 0x43, 0x61, 0xee, 0x5c, 0xcf};

static struct ccid_device dev;
static struct session ses;
static uint8_t last[CCID_DEVICE_MAX_MESSAGE];
static size_t last_len;
static uint8_t seq;

static void capture(void *ctx, bool notify, const uint8_t *msg, size_t n)
{
    (void)ctx;
    if (notify || n > sizeof last)
        return;
    memcpy(last, msg, n);
    last_len = n;
}

static int setup(void **state)
{
    (void)state;
    static const struct slot_limits lim = {.classes = 0x0E,
                                           .clk_max_hz = 20000000,
                                           .max_baud = 825000,
                                           .di_supported = 0x03FE,
                                           .ifsd = 254};
    mock_board_reset(42);
    mock_board.host_connected = true;
    mock_board.on_send = capture;
    ccid_device_init(&dev, &lim);
    session_init(&ses);
    assert_int_equal(ses.attest.state, ATTEST_OK);
    dev.escape = session_escape;
    dev.escape_ctx = &ses;
    dev.host_gone = session_host_gone;
    return 0;
}

/* attest_init allocates in mbedTLS (the key, the DRBG's AES context), and
 * session_init the kept curves with their tables. */
static int teardown(void **state)
{
    (void)state;
    mbedtls_pk_free(&ses.attest.key);
    mbedtls_ctr_drbg_free(&ses.attest.drbg);
    ecp_groups_free(&ses.groups);
    return 0;
}

/* Sends one escape request; returns the RDR_to_PC_Escape answer (abData in `last`). */
static void escape(const uint8_t *req, size_t n, struct ccid_msg *ans)
{
    static uint8_t msg[CCID_DEVICE_MAX_MESSAGE];
    size_t len, bad;
    struct ccid_msg m = {
        .type = CCID_PC_TO_RDR_ESCAPE, .slot = 0, .seq = ++seq, .data = req, .len = (uint32_t)n};
    assert_int_equal(ccid_encode(&m, msg, sizeof msg, &len), CCID_OK);
    mock_board.host_in = msg;
    mock_board.host_in_len = len;
    mock_board.host_in_pos = 0;
    last_len = 0;
    ccid_device_poll(&dev);
    assert_int_equal(mock_board.host_in_pos, len);
    assert_true(last_len >= CCID_HEADER_SIZE);
    assert_int_equal(ccid_decode(last, last_len, sizeof last, ans, &bad), CCID_OK);
    assert_int_equal(ans->type, CCID_RDR_TO_PC_ESCAPE);
    assert_int_equal(ans->seq, seq);
}

static void assert_ok(const struct ccid_msg *a)
{
    assert_int_equal(ccid_status_command(a->status), CCID_CMD_OK);
    assert_int_equal(a->error, 0);
}

static void assert_tlv_str(const struct ccid_msg *a, uint32_t tag, const char *want)
{
    struct tlv t;
    assert_int_equal(tlv_find(a->data, a->len, tag, &t), TLV_OK);
    assert_int_equal(t.len, strlen(want));
    assert_memory_equal(t.value, want, t.len);
}

static bool all_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return false;
    return true;
}

static void info_answers_id_key_counter_version(void **state)
{
    (void)state;
    static const uint8_t req[] = {RESC_INFO};
    struct ccid_msg a;
    struct tlv t;
    escape(req, sizeof req, &a);
    assert_ok(&a);

    /* The reader id: board name, '-', the first 4 bytes of SHA-256(Q) in hex. */
    assert_int_equal(tlv_find(a.data, a.len, RESC_T_READER_ID, &t), TLV_OK);
    assert_int_equal(t.len, strlen("mock-") + 8);
    assert_memory_equal(t.value, "mock-", 5);
    assert_memory_equal(t.value, ses.attest.id, t.len);

    /* The public key is the one of the private key the reader stored in flash. */
    assert_int_equal(tlv_find(a.data, a.len, RESC_T_PUBLIC_KEY, &t), TLV_OK);
    assert_int_equal(t.len, 65);
    assert_int_equal(t.value[0], 0x04);
    uint8_t der[256];
    size_t der_len;
    struct store st;
    assert_int_equal(store_open(&st), STORE_OK); /* what is in the flash, read afresh */
    assert_int_equal(store_get(&st, ATTEST_REC_KEY, der, sizeof der, &der_len), STORE_OK);
    mbedtls_pk_context pk;
    mbedtls_pk_init(&pk);
    assert_int_equal(mbedtls_pk_parse_key(&pk, der, der_len, NULL, 0), 0);
    uint8_t q[65];
    size_t qlen;
    const mbedtls_ecp_keypair *ec = mbedtls_pk_ec(pk);
    assert_int_equal(ec->grp.id, MBEDTLS_ECP_DP_SECP256R1);
    assert_int_equal(mbedtls_ecp_point_write_binary(&ec->grp, &ec->Q, MBEDTLS_ECP_PF_UNCOMPRESSED,
                                                    &qlen, q, sizeof q),
                     0);
    mbedtls_pk_free(&pk);
    assert_int_equal(qlen, 65);
    assert_memory_equal(t.value, q, 65);

    /* A new reader has used no counter value yet. */
    static const uint8_t zero8[8];
    assert_int_equal(tlv_find(a.data, a.len, RESC_T_COUNTER, &t), TLV_OK);
    assert_int_equal(t.len, 8);
    assert_memory_equal(t.value, zero8, 8);
    assert_tlv_str(&a, RESC_T_VERSION, "hawiya-reader 0.1");
    /* Not provisioned: no certificate. */
    assert_int_equal(tlv_find(a.data, a.len, RESC_T_READER_CRT, &t), TLV_ERR_NOT_FOUND);
}

static void set_cert_for_another_key_is_refused(void **state)
{
    (void)state;
    uint8_t req[1 + 4 + sizeof other_cert];
    size_t pos = 1;
    req[0] = RESC_SET_CERT;
    assert_int_equal(tlv_put(req, sizeof req, &pos, RESC_T_CERT, other_cert, sizeof other_cert),
                     TLV_OK);
    struct ccid_msg a;
    escape(req, pos, &a);
    assert_int_equal(ccid_status_command(a.status), CCID_CMD_FAILED);
    /* §6.2.6: bError is the offset of the byte in error, 11 = abData[1], the certificate. */
    assert_int_equal(a.error, 11);
    assert_int_equal(a.len, 0);
    assert_false(store_has(&ses.attest.store, ATTEST_REC_CERT));
    assert_int_equal(ses.attest.cert_len, 0);

    /* Without the certificate object at all: refused the same way. */
    static const uint8_t bare[] = {RESC_SET_CERT};
    escape(bare, sizeof bare, &a);
    assert_int_equal(a.error, 11);
}

static void set_cert_for_own_key_is_stored(void **state)
{
    (void)state;
    /* A certificate for the reader's own key (self-signed here; the
     * manufacturer's CA signs it in production, hawiya-pki provision). */
    mbedtls_x509write_cert w;
    mbedtls_mpi serial;
    uint8_t der[1024];
    mbedtls_x509write_crt_init(&w);
    mbedtls_mpi_init(&serial);
    assert_int_equal(mbedtls_mpi_lset(&serial, 1), 0);
    mbedtls_x509write_crt_set_version(&w, MBEDTLS_X509_CRT_VERSION_3);
    mbedtls_x509write_crt_set_md_alg(&w, MBEDTLS_MD_SHA256);
    mbedtls_x509write_crt_set_subject_key(&w, &ses.attest.key);
    mbedtls_x509write_crt_set_issuer_key(&w, &ses.attest.key);
    assert_int_equal(mbedtls_x509write_crt_set_subject_name(&w, "CN=mock reader"), 0);
    assert_int_equal(mbedtls_x509write_crt_set_issuer_name(&w, "CN=mock reader"), 0);
    assert_int_equal(mbedtls_x509write_crt_set_serial(&w, &serial), 0);
    assert_int_equal(mbedtls_x509write_crt_set_validity(&w, "20260101000000", "20360101000000"), 0);
    int n = mbedtls_x509write_crt_der(&w, der, sizeof der, attest_random, &ses.attest);
    mbedtls_x509write_crt_free(&w);
    mbedtls_mpi_free(&serial);
    assert_true(n > 0);
    const uint8_t *cert = der + sizeof der - n;

    uint8_t req[1 + 4 + sizeof der];
    size_t pos = 1;
    req[0] = RESC_SET_CERT;
    assert_int_equal(tlv_put(req, sizeof req, &pos, RESC_T_CERT, cert, (size_t)n), TLV_OK);
    struct ccid_msg a;
    escape(req, pos, &a);
    assert_ok(&a);
    uint8_t stored[1024];
    size_t stored_len;
    struct store st;
    assert_int_equal(store_open(&st), STORE_OK);
    assert_int_equal(store_get(&st, ATTEST_REC_CERT, stored, sizeof stored, &stored_len), STORE_OK);
    assert_int_equal(stored_len, n);
    assert_memory_equal(stored, cert, n);

    static const uint8_t info[] = {RESC_INFO};
    struct tlv t;
    escape(info, sizeof info, &a);
    assert_ok(&a);
    assert_int_equal(tlv_find(a.data, a.len, RESC_T_READER_CRT, &t), TLV_OK);
    assert_int_equal(t.len, n);
    assert_memory_equal(t.value, cert, n);
}

/* AUTH_BEGIN's parameters: challenge (32..64 bytes), origin, CAN. */
static size_t auth_begin(uint8_t *req, size_t cap, size_t challenge_len, const char *can)
{
    uint8_t challenge[80];
    size_t pos = 1;
    for (size_t i = 0; i < sizeof challenge; i++)
        challenge[i] = (uint8_t)i;
    req[0] = RESC_AUTH_BEGIN;
    if (challenge_len)
        assert_int_equal(tlv_put(req, cap, &pos, RESC_T_CHALLENGE, challenge, challenge_len),
                         TLV_OK);
    assert_int_equal(tlv_put(req, cap, &pos, RESC_T_ORIGIN, (const uint8_t *)"https://hr.example",
                             strlen("https://hr.example")),
                     TLV_OK);
    if (can)
        assert_int_equal(tlv_put(req, cap, &pos, RESC_T_CAN, (const uint8_t *)can, strlen(can)),
                         TLV_OK);
    return pos;
}

static void assert_failed_step(const struct ccid_msg *a, const char *step, const char *error)
{
    struct tlv t;
    assert_ok(a); /* the escape itself worked: the report says what failed */
    assert_tlv_str(a, RESC_T_STEP, step);
    assert_int_equal(tlv_find(a->data, a->len, RESC_T_STATUS, &t), TLV_OK);
    assert_int_equal(t.len, 1);
    assert_int_equal(t.value[0], RESC_STATUS_FAILED);
    assert_tlv_str(a, RESC_T_ERROR, error);
}

static void auth_begin_bad_challenge_is_refused(void **state)
{
    (void)state;
    uint8_t req[256];
    struct ccid_msg a;

    escape(req, auth_begin(req, sizeof req, 0, "123456"), &a);
    assert_failed_step(&a, "begin", "RESC_ERR_PARAMS");
    assert_false(ses.active);

    /* 31 bytes: one short of ASSERTION_CHALLENGE_MIN. */
    escape(req, auth_begin(req, sizeof req, 31, "123456"), &a);
    assert_failed_step(&a, "begin", "RESC_ERR_PARAMS");
    assert_false(ses.active);
    assert_true(all_zero(ses.can, sizeof ses.can));

    /* 65 bytes: one over ASSERTION_CHALLENGE_MAX; and no password at all. */
    escape(req, auth_begin(req, sizeof req, 65, "123456"), &a);
    assert_failed_step(&a, "begin", "RESC_ERR_PARAMS");
    escape(req, auth_begin(req, sizeof req, 32, NULL), &a);
    assert_failed_step(&a, "begin", "RESC_ERR_PARAMS");
}

static void auth_begin_without_card_fails_at_atr_and_wipes_can(void **state)
{
    (void)state;
    uint8_t req[256];
    struct ccid_msg a;
    struct tlv t;

    escape(req, auth_begin(req, sizeof req, 32, "123456"), &a);
    assert_failed_step(&a, "atr", "SLOT_ERR_ABSENT");
    /* The step's costs are reported even when it fails: no APDU exchanged. */
    assert_int_equal(tlv_find(a.data, a.len, RESC_T_APDUS, &t), TLV_OK);
    assert_int_equal(t.len, 2);
    assert_int_equal(t.value[0] | t.value[1], 0);
    assert_false(ses.active);
    assert_int_equal(ses.can_len, 0);
    assert_true(all_zero(ses.can, sizeof ses.can));
    assert_true(all_zero(ses.mrz, sizeof ses.mrz));
    /* The CAN never comes back up, and the message that brought it is
     * wiped from the device's receive buffer. */
    for (size_t i = 0; i + 6 <= a.len; i++)
        assert_false(memcmp(a.data + i, "123456", 6) == 0);
    assert_int_equal(dev.rx_len, 0);
    assert_true(all_zero(dev.rx, sizeof dev.rx));

    /* Nothing is left to continue. */
    static const uint8_t next[] = {RESC_AUTH_NEXT};
    escape(next, sizeof next, &a);
    assert_failed_step(&a, "next", "RESC_ERR_NO_SESSION");
}

static void auth_begin_with_mute_card_fails_at_atr(void **state)
{
    (void)state;
    uint8_t req[256];
    struct ccid_msg a;

    mock_board.card_present = true;
    mock_board.insertions = 1;
    ccid_device_poll(&dev); /* the slot sees the card */
    escape(req, auth_begin(req, sizeof req, 64, "123456"), &a);
    assert_failed_step(&a, "atr", "SLOT_ERR_MUTE");
    assert_false(ses.active);
    assert_true(all_zero(ses.can, sizeof ses.can));
    /* The card was powered to try, and is powered off again. */
    assert_int_equal(mock_board.vcc, SC_CLASS_OFF);
}

static void auth_next_without_session(void **state)
{
    (void)state;
    static const uint8_t req[] = {RESC_AUTH_NEXT};
    struct ccid_msg a;
    escape(req, sizeof req, &a);
    assert_failed_step(&a, "next", "RESC_ERR_NO_SESSION");

    /* AUTH_ABORT without a session is harmless: an empty answer. */
    static const uint8_t abort_req[] = {RESC_AUTH_ABORT};
    escape(abort_req, sizeof abort_req, &a);
    assert_ok(&a);
    assert_int_equal(a.len, 0);
}

/* A host that vanishes (its link closed, or another host attached in its
 * place without the firmware seeing the first leave): the card goes down,
 * half a message it sent is wiped, and the next host hears at once that a
 * card is in. */
static unsigned notifies;
static bool last_present;

static void count_notify(void *ctx, bool notify, const uint8_t *msg, size_t n)
{
    capture(ctx, notify, msg, n);
    struct ccid_interrupt it;
    if (notify && ccid_decode_interrupt(msg, n, CCID_DEVICE_MAX_SLOT_INDEX, &it) == CCID_OK) {
        notifies++;
        last_present = ccid_slot_present(&it, 0);
    }
}

static void host_gone_resets_and_next_host_is_told(void **state)
{
    (void)state;
    mock_board.on_send = count_notify;
    mock_board.host_attachments = 1;
    mock_board.card_present = true;
    mock_board.insertions = 1;
    notifies = 0;
    ccid_device_poll(&dev);
    assert_true(notifies >= 1);
    assert_true(last_present);

    /* Half of an escape carrying a CAN, then the host silently replaced. */
    uint8_t req[256], msg[300];
    size_t len;
    size_t n = auth_begin(req, sizeof req, 32, "654321");
    struct ccid_msg m = {.type = CCID_PC_TO_RDR_ESCAPE, .seq = 9, .data = req, .len = (uint32_t)n};
    assert_int_equal(ccid_encode(&m, msg, sizeof msg, &len), CCID_OK);
    mock_board.host_in = msg;
    mock_board.host_in_len = len - 3;
    mock_board.host_in_pos = 0;
    ccid_device_poll(&dev);
    assert_true(dev.rx_len > 0);
    unsigned before = notifies;
    mock_board.host_attachments = 2;
    mock_board.host_in_len = mock_board.host_in_pos; /* the new host sent nothing yet */
    ccid_device_poll(&dev);
    assert_int_equal(notifies, before + 1); /* the new host hears at once */
    assert_true(last_present);              /* the card is still in */
    assert_int_equal(dev.rx_len, 0);
    assert_true(all_zero(dev.rx, sizeof dev.rx));
    assert_int_equal(mock_board.vcc, SC_CLASS_OFF);

    /* The link closing does the same. */
    mock_board.host_closed = true;
    ccid_device_poll(&dev);
    assert_false(dev.host_connected);
    assert_false(ses.active);
    mock_board.host_closed = false;
    ccid_device_poll(&dev);
    assert_int_equal(notifies, before + 2);
}

static void unknown_escape_is_not_supported(void **state)
{
    (void)state;
    static const uint8_t req[] = {0x7E, 0x01, 0x02};
    struct ccid_msg a;
    escape(req, sizeof req, &a);
    assert_int_equal(ccid_status_command(a.status), CCID_CMD_FAILED);
    assert_int_equal(a.error, CCID_BERROR_CMD_NOT_SUPPORTED);
    assert_int_equal(a.error, 0);
    assert_int_equal(a.len, 0);

    /* No command byte at all: bError 10, the offset of abData (§6.2.6). */
    escape(NULL, 0, &a);
    assert_int_equal(ccid_status_command(a.status), CCID_CMD_FAILED);
    assert_int_equal(a.error, 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(info_answers_id_key_counter_version, setup, teardown),
        cmocka_unit_test_setup_teardown(set_cert_for_another_key_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(set_cert_for_own_key_is_stored, setup, teardown),
        cmocka_unit_test_setup_teardown(auth_begin_bad_challenge_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(auth_begin_without_card_fails_at_atr_and_wipes_can, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(auth_begin_with_mute_card_fails_at_atr, setup, teardown),
        cmocka_unit_test_setup_teardown(auth_next_without_session, setup, teardown),
        cmocka_unit_test_setup_teardown(unknown_escape_is_not_supported, setup, teardown),
        cmocka_unit_test_setup_teardown(host_gone_resets_and_next_host_is_told, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

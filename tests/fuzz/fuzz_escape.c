/*
 * libFuzzer target: the reader's USB side. Fuzzer bytes are the host's
 * bulk-OUT stream (PC_to_RDR messages, USB CCID 1.1 §6.1) into ccid_device
 * with the session's escape handler installed (hawiya/reader_escape.h), on
 * the mock board (tests/unit/mock_board.c): RAM flash holding a device key,
 * a seeded RNG, a fake clock.
 *
 * Input byte 0: bits 0-2 how many bytes each hal_host_recv hands over (all,
 * 1, 2, 3, 7, 10, 11, 64: messages split anywhere); bit 3 a mute card in the
 * slot (present, never answers) instead of an empty slot; bit 4 the host
 * goes away (USB reset) once its bytes are read. The rest is the stream.
 *
 * Invariants: every bulk-IN message decodes (ccid_decode) as an RDR_to_PC
 * message, every interrupt-IN one as NotifySlotChange; a successful Escape
 * answer is a sequence of BER-TLV objects; whenever no session is active
 * its CAN and MRZ buffers are all zero; a host that goes away leaves no
 * session and an all-zero receive buffer; and after the stream, AUTH_BEGIN
 * with a CAN then AUTH_ABORT leaves the CAN buffer zero.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ccid_device.h"
#include "hawiya/ccid.h"
#include "hawiya/reader_escape.h"
#include "hawiya/tlv.h"
#include "mock_board.h"
#include "session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ccid_device dev;
static struct session ses;
static unsigned scripted_answers; /* RDR_to_PC_Escape with our scripted bSeq */

/* The flash and OTP after the first start: the device key is made once. */
static uint8_t flash_after[MOCK_FLASH_BYTES], otp_after[MOCK_OTP_BYTES];

static bool all_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= b[i];
    return acc == 0;
}

static void check_tlvs(const uint8_t *p, size_t n)
{
    while (n > 0) {
        struct tlv t;
        if (tlv_parse(p, n, 0, &t) != TLV_OK)
            __builtin_trap();
        size_t used = t.hdr_len + t.len;
        if (used == 0 || used > n)
            __builtin_trap();
        p += used;
        n -= used;
    }
}

static void on_send(void *ctx, bool notify, const uint8_t *msg, size_t n)
{
    (void)ctx;
    if (notify) {
        struct ccid_interrupt it;
        if (ccid_decode_interrupt(msg, n, CCID_DEVICE_MAX_SLOT_INDEX, &it) != CCID_OK ||
            it.type != CCID_RDR_TO_PC_NOTIFY_SLOT_CHANGE)
            __builtin_trap();
        return;
    }
    struct ccid_msg m;
    size_t bad;
    if (n > CCID_DEVICE_MAX_MESSAGE ||
        ccid_decode(msg, n, CCID_DEVICE_MAX_MESSAGE, &m, &bad) != CCID_OK ||
        !ccid_is_rdr_to_pc(m.type))
        __builtin_trap();
    if (m.type == CCID_RDR_TO_PC_ESCAPE && ccid_status_command(m.status) == CCID_CMD_OK)
        check_tlvs(m.data, m.len);
    if (m.type == CCID_RDR_TO_PC_ESCAPE && m.seq == 0xEE)
        scripted_answers++;
}

static void check_secrets(void)
{
    if (ses.active)
        return;
    if (ses.can_len || ses.mrz_len || !all_zero(ses.can, sizeof ses.can) ||
        !all_zero(ses.mrz, sizeof ses.mrz) ||
        !all_zero(ses.em.sm.ks_enc, sizeof ses.em.sm.ks_enc) ||
        !all_zero(ses.em.sm.ks_mac, sizeof ses.em.sm.ks_mac))
        __builtin_trap();
}

/* Runs the device until it has read everything the host sent. */
static void pump(size_t len)
{
    for (size_t i = 0; i <= len + 1 && mock_board.host_in_pos < len; i++) {
        ccid_device_poll(&dev);
        check_secrets();
    }
    ccid_device_poll(&dev);
    check_secrets();
}

static void send_escape(const uint8_t *req, size_t n)
{
    static uint8_t msg[CCID_HEADER_SIZE + 256];
    size_t len;
    struct ccid_msg m = {
        .type = CCID_PC_TO_RDR_ESCAPE, .seq = 0xEE, .data = req, .len = (uint32_t)n};
    if (ccid_encode(&m, msg, sizeof msg, &len) != CCID_OK)
        __builtin_trap();
    mock_board.host_chunk = 0;
    /* A USB reset first: whatever half message the fuzzer left is dropped. */
    mock_board.host_in_len = mock_board.host_in_pos;
    mock_board.host_closed = true;
    ccid_device_poll(&dev);
    /* The host is gone: no session, and nothing it sent stays in the buffer. */
    if (ses.active || dev.rx_len || !all_zero(dev.rx, sizeof dev.rx))
        __builtin_trap();
    mock_board.host_closed = false;
    mock_board.host_in = msg;
    mock_board.host_in_len = len;
    mock_board.host_in_pos = 0;
    unsigned before = scripted_answers;
    pump(len);
    if (scripted_answers != before + 1)
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t chunks[8] = {0, 1, 2, 3, 7, 10, 11, 64};
    static const struct slot_limits lim = {.classes = 0x0E,
                                           .clk_max_hz = 20000000,
                                           .max_baud = 825000,
                                           .di_supported = 0x03FE,
                                           .ifsd = 254};
    static bool keyed;
    if (size < 1 || size > 8192)
        return 0;

    mock_board_reset(1);
    if (keyed) {
        /* The same reader every run: its key from flash, not a new one. */
        memcpy(mock_board.flash, flash_after, sizeof flash_after);
        memcpy(mock_board.otp, otp_after, sizeof otp_after);
    }
    session_init(&ses);
    if (ses.attest.state != ATTEST_OK)
        __builtin_trap();
    if (!keyed) {
        memcpy(flash_after, mock_board.flash, sizeof flash_after);
        memcpy(otp_after, mock_board.otp, sizeof otp_after);
        keyed = true;
    }

    mock_board.host_connected = true;
    mock_board.on_send = on_send;
    mock_board.host_chunk = chunks[data[0] & 7];
    mock_board.card_present = (data[0] & 8) != 0;
    mock_board.insertions = mock_board.card_present;
    mock_board.host_closed = (data[0] & 16) != 0;
    mock_board.host_in = data + 1;
    mock_board.host_in_len = size - 1;
    ccid_device_init(&dev, &lim);
    dev.escape = session_escape;
    dev.escape_ctx = &ses;
    dev.host_gone = session_host_gone;
    pump(size - 1);

    /* Whatever came before: a CAN goes down, the session is aborted, the CAN is gone. */
    static const uint8_t begin[] =
        "\x10" /* RESC_AUTH_BEGIN */
        "\x80\x20"
        "0123456789abcdef0123456789abcdef" /* RESC_T_CHALLENGE, 32 bytes */
        "\x81\x04"
        "hr.x" /* RESC_T_ORIGIN */
        "\x82\x06"
        "123456"; /* RESC_T_CAN */
    static const uint8_t abort_req[] = {RESC_AUTH_ABORT};
    send_escape(begin, sizeof begin - 1);
    send_escape(abort_req, sizeof abort_req);
    if (ses.active || !all_zero(ses.can, sizeof ses.can))
        __builtin_trap();

    slot_power_off(&dev.slot);
    mbedtls_pk_free(&ses.attest.key);
    mbedtls_ctr_drbg_free(&ses.attest.drbg);
    return 0;
}

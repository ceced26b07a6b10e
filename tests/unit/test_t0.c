#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "hawiya/t0.h"

/*
 * Line scripts follow ISO/IEC 7816-3 §10.3 (procedure bytes) and §12.2
 * (mapping of each APDU case onto TPDUs). The commands are the eMRTD ones of
 * ICAO 9303-10/-11: SELECT of the eMRTD application A0 00 00 02 47 10 01,
 * SELECT EF.COM (01 1E) and READ BINARY, whose EF.COM starts 60 1A 5F 01.
 */

static struct t0_ifd t;
static struct t0_io io;
static uint8_t resp[70000];

static void check_tx(const uint8_t *want, size_t n)
{
    assert_int_equal(io.tx_len, n);
    assert_memory_equal(io.tx, want, n);
}

/* The reader must send exactly these characters now. */
#define IFD_SENDS(...)                                                                             \
    do {                                                                                           \
        const uint8_t w_[] = {__VA_ARGS__};                                                        \
        check_tx(w_, sizeof w_);                                                                   \
    } while (0)

/* The card answers these characters. */
#define CARD_SAYS(...)                                                                             \
    do {                                                                                           \
        const uint8_t c_[] = {__VA_ARGS__};                                                        \
        assert_int_equal(t0_ifd_rx(&t, c_, sizeof c_, &io), T0_OK);                                \
    } while (0)

static void card_says_buf(const uint8_t *b, size_t n)
{
    assert_int_equal(t0_ifd_rx(&t, b, n, &io), T0_OK);
}

static void expect_done(uint16_t sw, const uint8_t *data, size_t len)
{
    struct rapdu r;
    assert_true(io.done);
    assert_int_equal(io.tx_len, 0);
    assert_int_equal(io.rx_len, 0);
    assert_int_equal(t0_ifd_response(&t, &r), T0_OK);
    assert_int_equal(r.sw, sw);
    assert_int_equal(r.len, len);
    if (len > 0)
        assert_memory_equal(r.data, data, len);
}

static void start(const struct apdu *a)
{
    t0_ifd_init(&t);
    assert_int_equal(t0_ifd_transmit(&t, a, resp, sizeof resp, &io), T0_OK);
    assert_int_equal(io.rx_len, 1);
}

/* §12.2.2 case 1: P3 = 00, the answer is SW1 SW2 alone. */
static void ifd_case1(void **state)
{
    struct apdu a = {.cla = 0x00, .ins = 0x44, .p1 = 0x00, .p2 = 0x00};
    start(&a);
    IFD_SENDS(0x00, 0x44, 0x00, 0x00, 0x00);
    CARD_SAYS(0x90);
    assert_false(io.done);
    assert_int_equal(io.rx_len, 1);
    CARD_SAYS(0x00);
    expect_done(0x9000, NULL, 0);
}

/* §12.2.3 case 2S.1: READ BINARY of 4 bytes, ACK = INS, then the data and 90 00. */
static void ifd_case2s(void **state)
{
    struct apdu a = {.cla = 0x00, .ins = 0xB0, .ne = 4};
    start(&a);
    IFD_SENDS(0x00, 0xB0, 0x00, 0x00, 0x04);
    CARD_SAYS(0xB0);
    assert_int_equal(io.tx_len, 0);
    assert_int_equal(io.rx_len, 4);
    CARD_SAYS(0x60, 0x1A, 0x5F, 0x01);
    assert_int_equal(io.rx_len, 1);
    CARD_SAYS(0x90, 0x00);
    const uint8_t want[] = {0x60, 0x1A, 0x5F, 0x01};
    expect_done(0x9000, want, 4);
}

/* §12.2.4 case 3S: SELECT EF.COM; the data goes after the ACK. */
static void ifd_case3s(void **state)
{
    const uint8_t fid[] = {0x01, 0x1E};
    struct apdu a = {.cla = 0x00, .ins = 0xA4, .p1 = 0x02, .p2 = 0x0C, .data = fid, .nc = 2};
    start(&a);
    IFD_SENDS(0x00, 0xA4, 0x02, 0x0C, 0x02);
    CARD_SAYS(0xA4);
    IFD_SENDS(0x01, 0x1E);
    assert_int_equal(io.rx_len, 1);
    CARD_SAYS(0x90, 0x00);
    expect_done(0x9000, NULL, 0);
}

static const uint8_t emrtd_aid[] = {0xA0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x01};
static const uint8_t fci[16] = {0x6F, 0x0E, 0x84, 0x07, 0xA0, 0x00, 0x00, 0x02,
                                0x47, 0x10, 0x01, 0xA5, 0x03, 0x01, 0x02, 0x03};

/* §12.2.5 case 4S.3: 61XX -> GET RESPONSE with P3 = min(XX, Ne). */
static void ifd_case4s_61xx(void **state)
{
    struct apdu a = {
        .cla = 0x00, .ins = 0xA4, .p1 = 0x04, .p2 = 0x00, .data = emrtd_aid, .nc = 7, .ne = 256};
    start(&a);
    IFD_SENDS(0x00, 0xA4, 0x04, 0x00, 0x07);
    CARD_SAYS(0xA4);
    IFD_SENDS(0xA0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x01);
    CARD_SAYS(0x61, 0x10);
    IFD_SENDS(0x00, 0xC0, 0x00, 0x00, 0x10);
    CARD_SAYS(0xC0);
    assert_int_equal(io.rx_len, 16);
    card_says_buf(fci, sizeof fci);
    CARD_SAYS(0x90, 0x00);
    expect_done(0x9000, fci, sizeof fci);
}

/*
 * §12.2.5 case 4S.2: 90 00 after the data -> GET RESPONSE with P3 = Le (00);
 * the card answers 6C 10 and the GET RESPONSE is re-issued with P3 = 10.
 */
static void ifd_case4s_9000_then_6cxx(void **state)
{
    struct apdu a = {
        .cla = 0x0C, .ins = 0xA4, .p1 = 0x04, .p2 = 0x00, .data = emrtd_aid, .nc = 7, .ne = 256};
    start(&a);
    IFD_SENDS(0x0C, 0xA4, 0x04, 0x00, 0x07);
    CARD_SAYS(0xA4);
    IFD_SENDS(0xA0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x01);
    CARD_SAYS(0x90, 0x00);
    /* The transport's GET RESPONSE drops the secure-messaging bits of CLA 0C. */
    IFD_SENDS(0x00, 0xC0, 0x00, 0x00, 0x00);
    CARD_SAYS(0x6C, 0x10);
    IFD_SENDS(0x00, 0xC0, 0x00, 0x00, 0x10);
    CARD_SAYS(0xC0);
    card_says_buf(fci, sizeof fci);
    CARD_SAYS(0x90, 0x00);
    expect_done(0x9000, fci, sizeof fci);
}

/* §12.2.5 case 4S.1 / 4S.4: an error or a warning after the data is the answer. */
static void ifd_case4s_error_and_warning(void **state)
{
    struct apdu a = {.cla = 0x00, .ins = 0xA4, .p1 = 0x04, .data = emrtd_aid, .nc = 7, .ne = 256};
    start(&a);
    IFD_SENDS(0x00, 0xA4, 0x04, 0x00, 0x07);
    CARD_SAYS(0x6A, 0x82); /* refused before any data: SW1 instead of ACK */
    expect_done(0x6A82, NULL, 0);

    start(&a);
    CARD_SAYS(0xA4);
    CARD_SAYS(0x62, 0x83);
    expect_done(0x6283, NULL, 0);
}

/* §10.3.3: ~INS asks for one byte at a time, in both directions; INS then asks for the rest. */
static void ifd_ins_bar_bytewise(void **state)
{
    const uint8_t fid[] = {0x01, 0x1E};
    struct apdu a = {.cla = 0x00, .ins = 0xA4, .p1 = 0x02, .p2 = 0x0C, .data = fid, .nc = 2};
    start(&a);
    IFD_SENDS(0x00, 0xA4, 0x02, 0x0C, 0x02);
    CARD_SAYS(0x5B);
    IFD_SENDS(0x01);
    CARD_SAYS(0x5B);
    IFD_SENDS(0x1E);
    CARD_SAYS(0x90, 0x00);
    expect_done(0x9000, NULL, 0);

    struct apdu rb = {.cla = 0x00, .ins = 0xB0, .ne = 4};
    start(&rb);
    IFD_SENDS(0x00, 0xB0, 0x00, 0x00, 0x04);
    CARD_SAYS(0x4F);
    assert_int_equal(io.rx_len, 1);
    CARD_SAYS(0x60); /* a data byte, not a NULL: it follows an ACK */
    assert_false(io.null_received);
    CARD_SAYS(0x4F, 0x1A);
    CARD_SAYS(0xB0);
    assert_int_equal(io.rx_len, 2);
    CARD_SAYS(0x5F, 0x01, 0x90, 0x00);
    const uint8_t want[] = {0x60, 0x1A, 0x5F, 0x01};
    expect_done(0x9000, want, 4);
}

/* §10.3.3: NULL (60) only restarts the wait; the caller is told, for a CCID time extension. */
static void ifd_null_bytes(void **state)
{
    struct apdu a = {.cla = 0x00, .ins = 0xB0, .ne = 2};
    start(&a);
    CARD_SAYS(0x60);
    assert_true(io.null_received);
    assert_int_equal(io.rx_len, 1);
    CARD_SAYS(0x60, 0x60, 0xB0);
    assert_true(io.null_received);
    assert_int_equal(io.rx_len, 2);
    CARD_SAYS(0x11, 0x22);
    assert_false(io.null_received);
    CARD_SAYS(0x60, 0x90);
    assert_true(io.null_received);
    CARD_SAYS(0x00);
    const uint8_t want[] = {0x11, 0x22};
    expect_done(0x9000, want, 2);
}

/* §12.2.3 case 2S.3: 6C XX -> the same header with P3 = XX; La > Ne keeps the first Ne bytes. */
static void ifd_6cxx(void **state)
{
    struct apdu a = {.cla = 0x00, .ins = 0xB0, .ne = 256};
    start(&a);
    IFD_SENDS(0x00, 0xB0, 0x00, 0x00, 0x00);
    CARD_SAYS(0x6C, 0x03);
    IFD_SENDS(0x00, 0xB0, 0x00, 0x00, 0x03);
    CARD_SAYS(0xB0, 0x01, 0x02, 0x03, 0x90, 0x00);
    const uint8_t want[] = {0x01, 0x02, 0x03};
    expect_done(0x9000, want, 3);

    struct apdu b = {.cla = 0x00, .ins = 0xCA, .p1 = 0x01, .p2 = 0x01, .ne = 2};
    start(&b);
    IFD_SENDS(0x00, 0xCA, 0x01, 0x01, 0x02);
    CARD_SAYS(0x6C, 0x04);
    IFD_SENDS(0x00, 0xCA, 0x01, 0x01, 0x04);
    CARD_SAYS(0xCA, 0xAA, 0xBB, 0xCC, 0xDD, 0x90, 0x00);
    const uint8_t want2[] = {0xAA, 0xBB};
    expect_done(0x9000, want2, 2);

    /* Bytes a card sent before its 6C are not part of the answer. */
    start(&a);
    CARD_SAYS(0x4F, 0xEE, 0x6C, 0x02);
    IFD_SENDS(0x00, 0xB0, 0x00, 0x00, 0x02);
    CARD_SAYS(0xB0, 0x01, 0x02, 0x90, 0x00);
    expect_done(0x9000, want, 2);

    /* A card that answers 6C again is not obeyed a second time. */
    start(&a);
    CARD_SAYS(0x6C, 0x03);
    IFD_SENDS(0x00, 0xB0, 0x00, 0x00, 0x03);
    CARD_SAYS(0x6C, 0x05);
    expect_done(0x6C05, NULL, 0);
}

/* §12.2.6 case 2E.2: Ne = 600, P3 = 00, then 61XX GET RESPONSE chaining up to Ne. */
static void ifd_case2e_61xx_chain(void **state)
{
    static uint8_t file[600];
    for (size_t i = 0; i < sizeof file; i++)
        file[i] = (uint8_t)(i * 13 + 5);
    struct apdu a = {.cla = 0x00, .ins = 0xB0, .ne = 600, .extended = true};
    start(&a);
    IFD_SENDS(0x00, 0xB0, 0x00, 0x00, 0x00);
    CARD_SAYS(0xB0);
    assert_int_equal(io.rx_len, 256);
    card_says_buf(file, 256);
    CARD_SAYS(0x61, 0x00);
    IFD_SENDS(0x00, 0xC0, 0x00, 0x00, 0x00);
    CARD_SAYS(0xC0);
    card_says_buf(file + 256, 256);
    CARD_SAYS(0x61, 0x58);
    IFD_SENDS(0x00, 0xC0, 0x00, 0x00, 0x58);
    CARD_SAYS(0xC0);
    card_says_buf(file + 512, 88);
    CARD_SAYS(0x90, 0x00);
    expect_done(0x9000, file, 600);

    /* Ne reached while the card still offers more: its 61XX is the answer. */
    struct apdu b = {.cla = 0x00, .ins = 0xB0, .ne = 300, .extended = true};
    start(&b);
    CARD_SAYS(0xB0);
    card_says_buf(file, 256);
    CARD_SAYS(0x61, 0x00);
    IFD_SENDS(0x00, 0xC0, 0x00, 0x00, 0x2C);
    CARD_SAYS(0xC0);
    card_says_buf(file + 256, 44);
    CARD_SAYS(0x61, 0x10);
    expect_done(0x6110, file, 300);

    /* A GET RESPONSE that brings no data ends the chain (no endless loop). */
    start(&b);
    CARD_SAYS(0x61, 0x10);
    IFD_SENDS(0x00, 0xC0, 0x00, 0x00, 0x10);
    CARD_SAYS(0x61, 0x10);
    expect_done(0x6110, NULL, 0);
}

/*
 * §12.2.7 case 3E.2: 300 bytes of data -> the extended APDU
 * 00 D6 00 00 00 01 2C <300 bytes> goes in ENVELOPEs of 255 and 52 bytes,
 * then an empty ENVELOPE closes it.
 */
static void ifd_case3e_envelope(void **state)
{
    static uint8_t data[300];
    static uint8_t encoded[307];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i ^ 0x5A);
    struct apdu a = {.cla = 0x00, .ins = 0xD6, .data = data, .nc = 300};
    size_t n;
    assert_int_equal(apdu_encode(&a, encoded, sizeof encoded, &n), APDU_OK);
    assert_int_equal(n, 307);

    start(&a);
    IFD_SENDS(0x00, 0xC2, 0x00, 0x00, 0xFF);
    CARD_SAYS(0xC2);
    check_tx(encoded, 255);
    CARD_SAYS(0x90, 0x00);
    IFD_SENDS(0x00, 0xC2, 0x00, 0x00, 0x34);
    CARD_SAYS(0xC2);
    check_tx(encoded + 255, 52);
    CARD_SAYS(0x90, 0x00);
    IFD_SENDS(0x00, 0xC2, 0x00, 0x00, 0x00);
    CARD_SAYS(0x60, 0x90, 0x00);
    expect_done(0x9000, NULL, 0);

    /* A refused segment ends the exchange with the card's status. */
    start(&a);
    CARD_SAYS(0xC2);
    CARD_SAYS(0x6D, 0x00);
    expect_done(0x6D00, NULL, 0);
}

static void expect_ifd_error(const uint8_t *b, size_t n, enum t0_err want)
{
    struct rapdu r;
    assert_int_equal(t0_ifd_rx(&t, b, n, &io), want);
    assert_int_equal(t.phase, T0_IFD_IDLE);
    assert_int_equal(io.tx_len, 0);
    assert_int_equal(io.rx_len, 0);
    assert_false(io.done);
    assert_int_equal(t0_ifd_response(&t, &r), T0_ERR_STATE);
    assert_int_equal(r.len, 0);
}

#define CARD_BREAKS(err, ...)                                                                      \
    do {                                                                                           \
        const uint8_t h_[] = {__VA_ARGS__};                                                        \
        expect_ifd_error(h_, sizeof h_, err);                                                      \
    } while (0)

/* A hostile card: every wrong character is a named error and the machine is idle again. */
static void ifd_hostile_card(void **state)
{
    const uint8_t fid[] = {0x01, 0x1E};
    struct apdu c1 = {.cla = 0x00, .ins = 0x44};
    struct apdu c2 = {.cla = 0x00, .ins = 0xB0, .ne = 2};
    struct apdu c3 = {.cla = 0x00, .ins = 0xA4, .p1 = 0x02, .p2 = 0x0C, .data = fid, .nc = 2};

    start(&c2);
    CARD_BREAKS(T0_ERR_BAD_PROCEDURE, 0x12);
    start(&c2);
    CARD_BREAKS(T0_ERR_BAD_PROCEDURE, 0xB1); /* neither INS nor ~INS (4F) */
    start(&c1);
    CARD_BREAKS(T0_ERR_UNEXPECTED_ACK, 0x44); /* case 1 has no data to move */
    start(&c3);
    CARD_SAYS(0xA4);
    CARD_BREAKS(T0_ERR_UNEXPECTED_ACK, 0xA4); /* all data sent already */
    start(&c2);
    CARD_SAYS(0xB0, 0x01, 0x02);
    CARD_BREAKS(T0_ERR_UNEXPECTED_ACK, 0x4F);
    start(&c2);
    CARD_BREAKS(T0_ERR_UNEXPECTED_CHAR, 0x90, 0x00, 0x00); /* a character after SW2 */
    start(&c3);
    CARD_BREAKS(T0_ERR_UNEXPECTED_CHAR, 0xA4, 0x01); /* talking while we must send */
    start(&c2);
    CARD_SAYS(0xB0, 0x01);
    assert_int_equal(t0_ifd_timeout(&t, &io), T0_ERR_TIMEOUT);
    assert_int_equal(t.phase, T0_IFD_IDLE);
    assert_int_equal(t0_ifd_timeout(&t, &io), T0_ERR_STATE);
    CARD_BREAKS(T0_ERR_UNEXPECTED_CHAR, 0x90);

    /* After all that, a clean exchange works. */
    start(&c1);
    CARD_SAYS(0x90, 0x00);
    expect_done(0x9000, NULL, 0);
}

static void ifd_rejects_bad_commands(void **state)
{
    struct apdu a = {.cla = 0x00, .ins = 0x60};
    t0_ifd_init(&t);
    assert_int_equal(t0_ifd_transmit(&t, &a, resp, sizeof resp, &io), T0_ERR_BAD_INS);
    a.ins = 0x9F;
    assert_int_equal(t0_ifd_transmit(&t, &a, resp, sizeof resp, &io), T0_ERR_BAD_INS);
    a.ins = 0xB0;
    a.ne = 10;
    assert_int_equal(t0_ifd_transmit(&t, &a, resp, 9, &io), T0_ERR_BUFFER_TOO_SMALL);
    a.ne = 65537;
    assert_int_equal(t0_ifd_transmit(&t, &a, resp, sizeof resp, &io), T0_ERR_BAD_APDU);
    a.ne = 0;
    a.nc = 3;
    assert_int_equal(t0_ifd_transmit(&t, &a, resp, sizeof resp, &io), T0_ERR_BAD_APDU);
    assert_int_equal(io.tx_len, 0);
    assert_string_equal(t0_err_str(T0_ERR_UNEXPECTED_ACK), "T0_ERR_UNEXPECTED_ACK");
    assert_string_equal(t0_err_str(T0_ERR_BAD_PROCEDURE), "T0_ERR_BAD_PROCEDURE");

    /* A second transmit in the middle of an exchange is refused. */
    a.nc = 0;
    a.ne = 4;
    start(&a);
    assert_int_equal(t0_ifd_transmit(&t, &a, resp, sizeof resp, &io), T0_ERR_STATE);
    assert_int_equal(t.phase, T0_IFD_IDLE);
}

/* ---- card role ------------------------------------------------------------ */

static struct t0_card card;
static uint8_t card_buf[70000];

/* Instructions that carry command data in these tests. */
static bool takes_data(void *ctx, uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2)
{
    return ins == 0xA4 || ins == 0xD6 || ins == 0x88 || ins == 0x2A;
}

static void card_start(bool bytewise)
{
    assert_int_equal(
        t0_card_init(&card, card_buf, sizeof card_buf, takes_data, NULL, bytewise, &io), T0_OK);
    assert_int_equal(io.rx_len, 5);
}

#define READER_SAYS(...)                                                                           \
    do {                                                                                           \
        const uint8_t r_[] = {__VA_ARGS__};                                                        \
        assert_int_equal(t0_card_rx(&card, r_, sizeof r_, &io), T0_OK);                            \
    } while (0)

/* The card sends these characters, then continues with t0_card_sent() when asked. */
#define CARD_SENDS(...)                                                                            \
    do {                                                                                           \
        const uint8_t w_[] = {__VA_ARGS__};                                                        \
        check_tx(w_, sizeof w_);                                                                   \
        if (io.more)                                                                               \
            assert_int_equal(t0_card_sent(&card, &io), T0_OK);                                     \
    } while (0)

static void card_case2(void **state)
{
    card_start(false);
    READER_SAYS(0x00, 0xB0, 0x00);
    assert_int_equal(io.rx_len, 2);
    READER_SAYS(0x00, 0x04);
    assert_non_null(io.command);
    assert_int_equal(io.command->ins, 0xB0);
    assert_int_equal(io.command->nc, 0);
    assert_int_equal(io.command->ne, 4);
    const uint8_t ef_com[] = {0x60, 0x1A, 0x5F, 0x01};
    assert_int_equal(t0_card_respond(&card, ef_com, 4, 0x9000, &io), T0_OK);
    CARD_SENDS(0xB0);
    CARD_SENDS(0x60, 0x1A, 0x5F, 0x01);
    CARD_SENDS(0x90, 0x00);
    assert_false(io.more);
    assert_int_equal(io.rx_len, 5);
}

static void card_case3_and_null(void **state)
{
    card_start(false);
    READER_SAYS(0x00, 0xA4, 0x02, 0x0C, 0x02);
    CARD_SENDS(0xA4);
    assert_int_equal(io.rx_len, 2);
    READER_SAYS(0x01, 0x1E);
    assert_non_null(io.command);
    assert_int_equal(io.command->nc, 2);
    assert_int_equal(io.command->data[1], 0x1E);
    assert_int_equal(io.command->ne, 0);
    assert_int_equal(t0_card_null(&card, &io), T0_OK);
    CARD_SENDS(0x60);
    assert_non_null(io.command);
    assert_int_equal(t0_card_respond(&card, NULL, 0, 0x9000, &io), T0_OK);
    CARD_SENDS(0x90, 0x00);
    assert_int_equal(io.rx_len, 5);
}

/* Case 4S: data after incoming data is announced with 61XX and served by GET RESPONSE. */
static void card_case4_get_response(void **state)
{
    card_start(false);
    READER_SAYS(0x00, 0xA4, 0x04, 0x00, 0x07);
    CARD_SENDS(0xA4);
    READER_SAYS(0xA0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x01);
    assert_non_null(io.command);
    assert_int_equal(io.command->nc, 7);
    assert_int_equal(t0_card_respond(&card, fci, sizeof fci, 0x9000, &io), T0_OK);
    CARD_SENDS(0x61, 0x10);
    /* Asked for more than there is: 6C with the exact count. */
    READER_SAYS(0x00, 0xC0, 0x00, 0x00, 0x00);
    CARD_SENDS(0x6C, 0x10);
    /* Part of it, then the rest. */
    READER_SAYS(0x00, 0xC0, 0x00, 0x00, 0x0A);
    assert_null(io.command);
    CARD_SENDS(0xC0);
    check_tx(fci, 10);
    assert_int_equal(t0_card_sent(&card, &io), T0_OK);
    CARD_SENDS(0x61, 0x06);
    READER_SAYS(0x00, 0xC0, 0x00, 0x00, 0x06);
    CARD_SENDS(0xC0);
    check_tx(fci + 10, 6);
    assert_int_equal(t0_card_sent(&card, &io), T0_OK);
    CARD_SENDS(0x90, 0x00);
    /* Nothing is left to get: 69 85, conditions of use not satisfied. */
    READER_SAYS(0x00, 0xC0, 0x00, 0x00, 0x06);
    assert_null(io.command);
    CARD_SENDS(0x69, 0x85);

    /* Case 4S.2 from the card: 90 00 alone, and the reader's GET RESPONSE gets 90 00 too. */
    READER_SAYS(0x00, 0xA4, 0x04, 0x0C, 0x07);
    CARD_SENDS(0xA4);
    READER_SAYS(0xA0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x01);
    assert_int_equal(t0_card_respond(&card, NULL, 0, 0x9000, &io), T0_OK);
    CARD_SENDS(0x90, 0x00);
    READER_SAYS(0x00, 0xC0, 0x00, 0x00, 0x00);
    CARD_SENDS(0x90, 0x00);
    READER_SAYS(0x00, 0xC0, 0x00, 0x00, 0x00);
    CARD_SENDS(0x69, 0x85);
}

/* Case 2S.3 seen from the card: fewer bytes than P3 -> 6C La, and the re-issue is served. */
static void card_6cxx(void **state)
{
    const uint8_t data[3] = {0x01, 0x02, 0x03};
    card_start(false);
    READER_SAYS(0x00, 0xB0, 0x00, 0x00, 0x00);
    assert_int_equal(io.command->ne, 256);
    assert_int_equal(t0_card_respond(&card, data, 3, 0x6282, &io), T0_OK);
    CARD_SENDS(0x6C, 0x03);
    READER_SAYS(0x00, 0xB0, 0x00, 0x00, 0x03);
    assert_null(io.command); /* served without running the command twice */
    CARD_SENDS(0xB0);
    CARD_SENDS(0x01, 0x02, 0x03);
    CARD_SENDS(0x62, 0x82);

    /* More than P3: P3 bytes, then 61XX for the rest. */
    const uint8_t five[5] = {1, 2, 3, 4, 5};
    READER_SAYS(0x00, 0xCA, 0x01, 0x01, 0x02);
    assert_int_equal(t0_card_respond(&card, five, 5, 0x9000, &io), T0_OK);
    CARD_SENDS(0xCA);
    CARD_SENDS(0x01, 0x02);
    CARD_SENDS(0x61, 0x03);
    READER_SAYS(0x00, 0xC0, 0x00, 0x00, 0x03);
    CARD_SENDS(0xC0);
    CARD_SENDS(0x03, 0x04, 0x05);
    CARD_SENDS(0x90, 0x00);
}

static void card_bytewise(void **state)
{
    card_start(true);
    READER_SAYS(0x00, 0xA4, 0x02, 0x0C, 0x02);
    CARD_SENDS(0x5B);
    assert_int_equal(io.rx_len, 1);
    READER_SAYS(0x01);
    CARD_SENDS(0x5B);
    READER_SAYS(0x1E);
    assert_non_null(io.command);
    assert_int_equal(t0_card_respond(&card, NULL, 0, 0x9000, &io), T0_OK);
    CARD_SENDS(0x90, 0x00);

    READER_SAYS(0x00, 0xB0, 0x00, 0x00, 0x02);
    const uint8_t two[] = {0xAB, 0xCD};
    assert_int_equal(t0_card_respond(&card, two, 2, 0x9000, &io), T0_OK);
    CARD_SENDS(0x4F);
    CARD_SENDS(0xAB);
    CARD_SENDS(0x4F);
    CARD_SENDS(0xCD);
    CARD_SENDS(0x90, 0x00);
}

static void card_hostile_reader(void **state)
{
    card_start(false);
    /* INS 6X / 9X is refused with 6D00 (7816-4 Table 6). */
    READER_SAYS(0x00, 0x6A, 0x00, 0x00, 0x00);
    CARD_SENDS(0x6D, 0x00);
    /* Characters while the application works. */
    READER_SAYS(0x00, 0xB0, 0x00, 0x00, 0x04);
    const uint8_t x = 0x00;
    assert_int_equal(t0_card_rx(&card, &x, 1, &io), T0_ERR_UNEXPECTED_CHAR);
    assert_int_equal(card.phase, T0_CARD_HEADER);
    assert_int_equal(io.rx_len, 5);
    assert_int_equal(t0_card_respond(&card, NULL, 0, 0x9000, &io), T0_ERR_STATE);
    /* Data sent before the ACK. */
    const uint8_t early[] = {0x00, 0xA4, 0x02, 0x0C, 0x02, 0x01};
    assert_int_equal(t0_card_rx(&card, early, sizeof early, &io), T0_ERR_UNEXPECTED_CHAR);
    assert_int_equal(card.phase, T0_CARD_HEADER);
    /* An ENVELOPE sequence that is not a command APDU. */
    READER_SAYS(0x00, 0xC2, 0x00, 0x00, 0x03);
    CARD_SENDS(0xC2);
    READER_SAYS(0x00, 0xB0, 0x00);
    CARD_SENDS(0x90, 0x00);
    READER_SAYS(0x00, 0xC2, 0x00, 0x00, 0x00);
    CARD_SENDS(0x67, 0x00);
    /* The application answering a bad SW1. */
    READER_SAYS(0x00, 0xB0, 0x00, 0x00, 0x04);
    assert_int_equal(t0_card_respond(&card, NULL, 0, 0x6000, &io), T0_ERR_BAD_SW);
    assert_int_equal(card.phase, T0_CARD_HEADER);
    assert_int_equal(t0_card_sent(&card, &io), T0_ERR_STATE);
    assert_int_equal(t0_card_null(&card, &io), T0_ERR_STATE);
}

/* ---- loopback: the IFD role against the card role, in memory --------------- */

struct lb_app {
    size_t get_data_len; /* INS CA answers this many bytes whatever Le says */
    int nulls;           /* NULL bytes before each answer */
    size_t last_nc;
    size_t last_ne;
    uint8_t last_ins;
};

static uint8_t pattern(size_t i)
{
    return (uint8_t)(i * 31 + (i >> 8) + 7);
}

static uint8_t app_out[70000];

static void app_answer(struct lb_app *app, const struct apdu *c, struct t0_io *cio)
{
    uint16_t sw = 0x9000;
    size_t len = 0;

    app->last_nc = c->nc;
    app->last_ne = c->ne;
    app->last_ins = c->ins;
    switch (c->ins) {
    case 0xB0: /* READ BINARY of a 1000-byte file at offset P1 P2 */ {
        size_t off = (size_t)c->p1 << 8 | c->p2;
        len = off >= 1000 ? 0 : (c->ne < 1000 - off ? c->ne : 1000 - off);
        for (size_t i = 0; i < len; i++)
            app_out[i] = pattern(off + i);
        if (off >= 1000)
            sw = 0x6B00;
        break;
    }
    case 0xCA:
        len = app->get_data_len;
        for (size_t i = 0; i < len; i++)
            app_out[i] = pattern(i);
        break;
    case 0x88: /* returns the complement of its data */
        len = c->nc;
        for (size_t i = 0; i < len; i++)
            app_out[i] = (uint8_t)~c->data[i];
        break;
    case 0xD6:
        for (size_t i = 0; i < c->nc; i++)
            if (c->data[i] != pattern(i))
                sw = 0x6581;
        break;
    default: break;
    }
    assert_int_equal(t0_card_respond(&card, app_out, len, sw, cio), T0_OK);
}

/* Runs one APDU through both machines; returns the number of NULL bytes the IFD saw. */
static int loopback(struct lb_app *app, const struct apdu *cmd, struct rapdu *r)
{
    struct t0_io iio, cio;
    uint8_t q[600];
    size_t qn = 0;
    int nulls_seen = 0;

    t0_ifd_init(&t);
    assert_int_equal(t0_ifd_transmit(&t, cmd, resp, sizeof resp, &iio), T0_OK);
    memset(&cio, 0, sizeof cio);
    cio.rx_len = 5;
    for (int guard = 0; guard < 1000000 && !iio.done; guard++) {
        /* reader -> card */
        assert_true(iio.tx_len > 0);
        assert_true(iio.tx_len <= cio.rx_len);
        assert_int_equal(t0_card_rx(&card, iio.tx, iio.tx_len, &cio), T0_OK);
        /* the card talks until it waits for the reader */
        qn = 0;
        for (int nulls = 0;;) {
            if (cio.tx_len > 0) {
                assert_true(qn + cio.tx_len <= sizeof q);
                memcpy(q + qn, cio.tx, cio.tx_len);
                qn += cio.tx_len;
            }
            if (cio.command != NULL) {
                if (nulls++ < app->nulls) {
                    assert_int_equal(t0_card_null(&card, &cio), T0_OK);
                    continue;
                }
                app_answer(app, cio.command, &cio);
                continue;
            }
            if (cio.more) {
                assert_int_equal(t0_card_sent(&card, &cio), T0_OK);
                continue;
            }
            break;
        }
        /* card -> reader, in pieces no larger than the reader asks for */
        size_t pos = 0;
        memset(&iio, 0, sizeof iio);
        while (pos < qn) {
            struct t0_io before = iio;
            size_t want = pos == 0 ? 1 : before.rx_len;
            assert_true(want > 0);
            size_t k = qn - pos < want ? qn - pos : want;
            assert_int_equal(t0_ifd_rx(&t, q + pos, k, &iio), T0_OK);
            nulls_seen += iio.null_received;
            pos += k;
        }
    }
    assert_true(iio.done);
    assert_int_equal(t0_ifd_response(&t, r), T0_OK);
    assert_int_equal(card.phase, T0_CARD_HEADER);
    return nulls_seen;
}

static void check_pattern(const struct rapdu *r, size_t off, size_t len)
{
    assert_int_equal(r->len, len);
    for (size_t i = 0; i < len; i++)
        if (r->data[i] != pattern(off + i))
            fail_msg("byte %zu differs", i);
}

static void loopback_all_cases(bool bytewise, int nulls)
{
    static uint8_t data[65535];
    struct lb_app app = {.nulls = nulls};
    struct rapdu r;
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = pattern(i);
    card_start(bytewise);

    /* Case 1 */
    struct apdu c1 = {.cla = 0x00, .ins = 0x44};
    assert_int_equal(loopback(&app, &c1, &r), nulls);
    assert_int_equal(r.sw, 0x9000);
    assert_int_equal(r.len, 0);

    /* Case 2S: Ne 4, Ne 256, and a file end shorter than Ne (6C La then re-issue) */
    struct apdu c2 = {.cla = 0x00, .ins = 0xB0, .ne = 4};
    loopback(&app, &c2, &r);
    check_pattern(&r, 0, 4);
    c2.ne = 256;
    c2.p1 = 0x01;
    loopback(&app, &c2, &r);
    check_pattern(&r, 0x100, 256);
    c2.p1 = 0x03;
    c2.p2 = 0x80; /* offset 896: 104 bytes left */
    loopback(&app, &c2, &r);
    assert_int_equal(r.sw, 0x9000);
    check_pattern(&r, 896, 104);

    /* Case 3S: Nc 1 and 255 */
    struct apdu c3 = {.cla = 0x00, .ins = 0xD6, .data = data, .nc = 1};
    loopback(&app, &c3, &r);
    assert_int_equal(r.sw, 0x9000);
    assert_int_equal(app.last_nc, 1);
    c3.nc = 255;
    loopback(&app, &c3, &r);
    assert_int_equal(r.sw, 0x9000);
    assert_int_equal(app.last_nc, 255);

    /* Case 4S: Nc 7 / Ne 256 and Nc 255 / Ne 10 (61XX then GET RESPONSE) */
    struct apdu c4 = {.cla = 0x00, .ins = 0x88, .data = data, .nc = 7, .ne = 256};
    loopback(&app, &c4, &r);
    assert_int_equal(r.sw, 0x9000);
    assert_int_equal(r.len, 7);
    for (size_t i = 0; i < 7; i++)
        assert_int_equal(r.data[i], (uint8_t)~data[i]);
    c4.nc = 255;
    c4.ne = 10;
    loopback(&app, &c4, &r);
    assert_int_equal(r.len, 10);
    assert_int_equal(r.sw, 0x61F5); /* 245 more, beyond Ne: the card's word stands */

    /* Case 4S.2: the application answers 90 00 alone; the reader's GET RESPONSE gets 90 00 */
    struct apdu c4z = {.cla = 0x00, .ins = 0x2A, .data = data, .nc = 8, .ne = 256};
    loopback(&app, &c4z, &r);
    assert_int_equal(app.last_ins, 0x2A);
    assert_int_equal(r.sw, 0x9000);
    assert_int_equal(r.len, 0);

    /* Case 2E: Ne 1000 of a 1000-byte object and Ne 65536 of it */
    app.get_data_len = 1000;
    struct apdu c2e = {.cla = 0x00, .ins = 0xCA, .ne = 1000, .extended = true};
    loopback(&app, &c2e, &r);
    assert_int_equal(r.sw, 0x9000);
    check_pattern(&r, 0, 1000);
    c2e.ne = 65536;
    loopback(&app, &c2e, &r);
    check_pattern(&r, 0, 1000);

    /* Case 3E: Nc 256 and Nc 65535 through ENVELOPE */
    struct apdu c3e = {.cla = 0x00, .ins = 0xD6, .data = data, .nc = 256};
    loopback(&app, &c3e, &r);
    assert_int_equal(r.sw, 0x9000);
    assert_int_equal(app.last_nc, 256);
    assert_int_equal(app.last_ne, 0);
    c3e.nc = 65535;
    loopback(&app, &c3e, &r);
    assert_int_equal(r.sw, 0x9000);
    assert_int_equal(app.last_nc, 65535);

    /* Case 4E: Nc 1000 / Ne 65536 through ENVELOPE, answer by GET RESPONSE chaining */
    struct apdu c4e = {.cla = 0x00, .ins = 0x88, .data = data, .nc = 1000, .ne = 65536};
    loopback(&app, &c4e, &r);
    assert_int_equal(app.last_nc, 1000);
    assert_int_equal(app.last_ne, 65536);
    assert_int_equal(r.sw, 0x9000);
    assert_int_equal(r.len, 1000);
    for (size_t i = 0; i < 1000; i++)
        assert_int_equal(r.data[i], (uint8_t)~data[i]);
    /* Case 4E.1: Nc 3 fits one TPDU; the answer comes by 61XX and GET RESPONSE */
    c4e.nc = 3;
    c4e.ne = 600;
    c4e.extended = true;
    loopback(&app, &c4e, &r);
    assert_int_equal(r.len, 3);
    assert_int_equal(r.sw, 0x9000);
}

static void loopback_plain(void **state)
{
    loopback_all_cases(false, 0);
}

static void loopback_bytewise_with_nulls(void **state)
{
    loopback_all_cases(true, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ifd_case1),
        cmocka_unit_test(ifd_case2s),
        cmocka_unit_test(ifd_case3s),
        cmocka_unit_test(ifd_case4s_61xx),
        cmocka_unit_test(ifd_case4s_9000_then_6cxx),
        cmocka_unit_test(ifd_case4s_error_and_warning),
        cmocka_unit_test(ifd_ins_bar_bytewise),
        cmocka_unit_test(ifd_null_bytes),
        cmocka_unit_test(ifd_6cxx),
        cmocka_unit_test(ifd_case2e_61xx_chain),
        cmocka_unit_test(ifd_case3e_envelope),
        cmocka_unit_test(ifd_hostile_card),
        cmocka_unit_test(ifd_rejects_bad_commands),
        cmocka_unit_test(card_case2),
        cmocka_unit_test(card_case3_and_null),
        cmocka_unit_test(card_case4_get_response),
        cmocka_unit_test(card_6cxx),
        cmocka_unit_test(card_bytewise),
        cmocka_unit_test(card_hostile_reader),
        cmocka_unit_test(loopback_plain),
        cmocka_unit_test(loopback_bytewise_with_nulls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

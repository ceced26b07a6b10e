/*
 * ccid_link's APDU-level chaining (USB CCID 1.1 §6.1.4 and §6.2.1), what the
 * IFD handler relies on when an APDU does not fit the reader's
 * dwMaxCCIDMessageLength: a reader played by a thread on a socket pair,
 * with a 74-byte message limit (64 bytes of abData), checks every XfrBlock's
 * wLevelParameter and length and chains its own answer; the host side must
 * get the exact response bytes back, and name a reader that breaks the
 * chaining rules.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ccid_link.h"
#include "hawiya/ccid.h"

#define PIECE 64u

struct fake {
    int fd;
    size_t resp_len;     /* the response APDU it sends back, byte i = i ^ 0x5A */
    bool bad_continue;   /* answers a continuation with data: a chaining error */
    uint16_t levels[64]; /* every wLevelParameter it saw */
    uint32_t lens[64];
    size_t n;
    uint8_t cmd[8192];
    size_t cmd_len;
};

static bool read_msg(int fd, uint8_t *buf, size_t cap, size_t *n)
{
    size_t got = 0;
    for (;;) {
        size_t need;
        enum ccid_err e = ccid_frame(buf, got, cap, &need);
        if (e == CCID_OK) {
            *n = need;
            return true;
        }
        if (e != CCID_ERR_NEED_MORE)
            return false;
        ssize_t k = read(fd, buf + got, cap - got);
        if (k <= 0)
            return false;
        got += (size_t)k;
    }
}

static void send_block(int fd, uint8_t seq, const uint8_t *d, size_t n, uint8_t chain)
{
    struct ccid_msg m = {.type = CCID_RDR_TO_PC_DATA_BLOCK,
                         .seq = seq,
                         .status = ccid_status(CCID_ICC_PRESENT_ACTIVE, CCID_CMD_OK),
                         .chain_parameter = chain,
                         .data = d,
                         .len = (uint32_t)n};
    uint8_t out[256];
    size_t k;
    assert_int_equal(ccid_encode(&m, out, sizeof out, &k), CCID_OK);
    assert_int_equal(write(fd, out, k), (ssize_t)k);
}

static void *reader(void *arg)
{
    struct fake *f = arg;
    uint8_t buf[256], resp[8192];
    size_t n, sent = 0;
    for (size_t i = 0; i < f->resp_len; i++)
        resp[i] = (uint8_t)(i ^ 0x5A);
    while (read_msg(f->fd, buf, sizeof buf, &n)) {
        struct ccid_msg m;
        if (ccid_decode(buf, n, PIECE + CCID_HEADER_SIZE, &m, NULL) != CCID_OK ||
            m.type != CCID_PC_TO_RDR_XFR_BLOCK || f->n >= 64)
            break;
        f->levels[f->n] = m.level_parameter;
        f->lens[f->n++] = m.len;
        if (m.level_parameter == CCID_CHAIN_EMPTY_EXPECT_MORE) {
            /* the host asks for the next piece of the response */
            size_t k = f->resp_len - sent < PIECE ? f->resp_len - sent : PIECE;
            bool last = sent + k == f->resp_len;
            send_block(f->fd, m.seq, resp + sent, k, last ? CCID_CHAIN_END : CCID_CHAIN_CONTINUE);
            sent += k;
            continue;
        }
        memcpy(f->cmd + f->cmd_len, m.data, m.len);
        f->cmd_len += m.len;
        if (m.level_parameter == CCID_CHAIN_BEGIN || m.level_parameter == CCID_CHAIN_CONTINUE) {
            if (f->bad_continue)
                send_block(f->fd, m.seq, resp, 1, CCID_CHAIN_BEGIN_END);
            else
                send_block(f->fd, m.seq, NULL, 0, CCID_CHAIN_EMPTY_EXPECT_MORE);
            continue;
        }
        /* the whole command is in: the response, chained when it is long */
        size_t k = f->resp_len < PIECE ? f->resp_len : PIECE;
        send_block(f->fd, m.seq, resp, k,
                   k == f->resp_len ? CCID_CHAIN_BEGIN_END : CCID_CHAIN_BEGIN);
        sent = k;
    }
    return NULL;
}

struct env {
    int sv[2];
    pthread_t t;
    struct fake f;
    struct ccid_link l;
};

static void start(struct env *e, size_t resp_len)
{
    memset(e, 0, sizeof *e);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, e->sv), 0);
    e->f.fd = e->sv[1];
    e->f.resp_len = resp_len;
    e->l.fd = e->sv[0];
    e->l.max_message = PIECE + CCID_HEADER_SIZE;
}

static void run(struct env *e)
{
    assert_int_equal(pthread_create(&e->t, NULL, reader, &e->f), 0);
}

static void stop(struct env *e)
{
    shutdown(e->sv[0], SHUT_RDWR);
    pthread_join(e->t, NULL);
    close(e->sv[0]);
    close(e->sv[1]);
}

static void chained_both_ways(void **state)
{
    (void)state;
    static struct env e;
    start(&e, 150);
    run(&e);
    uint8_t cmd[200], resp[300];
    size_t n;
    for (size_t i = 0; i < sizeof cmd; i++)
        cmd[i] = (uint8_t)(i * 7);
    assert_int_equal(ccid_link_xfr(&e.l, cmd, sizeof cmd, resp, sizeof resp, &n, 5000),
                     CCID_LINK_OK);
    stop(&e);
    /* 200 bytes: 64 (begin), 64, 64 (continue), 8 (end); then two requests
     * for the rest of a 150-byte answer (64 + 64 + 22). */
    static const uint16_t levels[] = {1, 3, 3, 2, 0x10, 0x10};
    static const uint32_t lens[] = {64, 64, 64, 8, 0, 0};
    assert_int_equal(e.f.n, 6);
    for (size_t i = 0; i < 6; i++) {
        assert_int_equal(e.f.levels[i], levels[i]);
        assert_int_equal(e.f.lens[i], lens[i]);
    }
    assert_int_equal(e.f.cmd_len, sizeof cmd);
    assert_memory_equal(e.f.cmd, cmd, sizeof cmd);
    assert_int_equal(n, 150);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(resp[i], (uint8_t)(i ^ 0x5A));
    assert_int_equal(e.l.chained_blocks, 6);
}

static void exactly_one_message(void **state)
{
    (void)state;
    /* 64 bytes fit one message (74 with the header): no chaining either way. */
    static struct env e;
    start(&e, 64);
    run(&e);
    uint8_t cmd[64] = {0}, resp[100];
    size_t n;
    assert_int_equal(ccid_link_xfr(&e.l, cmd, sizeof cmd, resp, sizeof resp, &n, 5000),
                     CCID_LINK_OK);
    stop(&e);
    assert_int_equal(e.f.n, 1);
    assert_int_equal(e.f.levels[0], 0);
    assert_int_equal(n, 64);
    assert_int_equal(e.l.chained_blocks, 0);
}

static void chaining_errors_named(void **state)
{
    (void)state;
    /* A reader that answers a piece of the command with data breaks §6.1.4. */
    static struct env e;
    start(&e, 10);
    e.f.bad_continue = true;
    run(&e);
    uint8_t cmd[100] = {0}, resp[100];
    size_t n;
    assert_int_equal(ccid_link_xfr(&e.l, cmd, sizeof cmd, resp, sizeof resp, &n, 5000),
                     CCID_LINK_ERR_PROTOCOL);
    assert_int_equal(n, 0);
    stop(&e);

    /* A response longer than the caller's buffer: TOO_LONG, not an overrun. */
    start(&e, 150);
    run(&e);
    assert_int_equal(ccid_link_xfr(&e.l, cmd, 10, resp, 100, &n, 5000), CCID_LINK_ERR_TOO_LONG);
    stop(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(chained_both_ways),
        cmocka_unit_test(exactly_one_message),
        cmocka_unit_test(chaining_errors_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

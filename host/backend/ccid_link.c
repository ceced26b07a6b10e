#include "ccid_link.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "hawiya/wipe.h"

const char *ccid_link_err_str(enum ccid_link_err e)
{
    switch (e) {
    case CCID_LINK_OK: return "CCID_LINK_OK";
    case CCID_LINK_ERR_CONNECT: return "CCID_LINK_ERR_CONNECT";
    case CCID_LINK_ERR_IO: return "CCID_LINK_ERR_IO";
    case CCID_LINK_ERR_TIMEOUT: return "CCID_LINK_ERR_TIMEOUT";
    case CCID_LINK_ERR_PROTOCOL: return "CCID_LINK_ERR_PROTOCOL";
    case CCID_LINK_ERR_FAILED: return "CCID_LINK_ERR_FAILED";
    case CCID_LINK_ERR_TOO_LONG: return "CCID_LINK_ERR_TOO_LONG";
    case CCID_LINK_ERR_DEADLINE: return "CCID_LINK_ERR_DEADLINE";
    }
    return "CCID_LINK_ERR_UNKNOWN";
}

enum ccid_link_err ccid_link_open(struct ccid_link *l, const char *path)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    memset(l, 0, sizeof *l);
    l->fd = -1;
    l->max_message = CCID_LINK_SIM_MAX_MESSAGE;
    slot_watch_reset(&l->watch, CCID_LINK_SLOTS - 1);
    if (strlen(path) >= sizeof a.sun_path)
        return CCID_LINK_ERR_CONNECT;
    strcpy(a.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return CCID_LINK_ERR_CONNECT;
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        close(fd);
        return CCID_LINK_ERR_CONNECT;
    }
    l->fd = fd;
    return CCID_LINK_OK;
}

void ccid_link_open_io(struct ccid_link *l, const struct ccid_link_io *io)
{
    memset(l, 0, sizeof *l);
    l->fd = -1;
    l->io = *io;
    slot_watch_reset(&l->watch, CCID_LINK_SLOTS - 1);
}

void ccid_link_close(struct ccid_link *l)
{
    if (l->fd >= 0)
        close(l->fd);
    l->fd = -1;
    l->io.recv = NULL;
    l->io.send = NULL;
    l->in_len = 0;
}

static bool link_open(const struct ccid_link *l)
{
    return l->fd >= 0 || l->io.recv;
}

static enum ccid_link_err send_all(struct ccid_link *l, const uint8_t *p, size_t n, int timeout_ms)
{
    if (l->io.send)
        return l->io.send(l->io.ctx, p, n, timeout_ms) ? CCID_LINK_OK : CCID_LINK_ERR_IO;
    while (n > 0) {
        ssize_t w = send(l->fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return CCID_LINK_ERR_IO;
        p += w;
        n -= (size_t)w;
    }
    return CCID_LINK_OK;
}

/* NotifySlotChange is 2 bytes for our two slots (or one), HardwareError 4 (§6.3). */
static size_t interrupt_size(uint8_t type)
{
    return type == CCID_RDR_TO_PC_NOTIFY_SLOT_CHANGE ? ccid_notify_size(CCID_LINK_SLOTS)
           : type == CCID_RDR_TO_PC_HARDWARE_ERROR   ? 4
                                                     : 0;
}

static int64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Reads until one whole message is buffered; returns its size in *n. Waits
 * at most timeout_ms for bytes, and never past `end` (0: no end). */
static enum ccid_link_err next_message_until(struct ccid_link *l, int timeout_ms, int64_t end,
                                             size_t *n)
{
    for (;;) {
        if (l->in_len > 0 && interrupt_size(l->in[0])) {
            *n = interrupt_size(l->in[0]);
            if (l->in_len >= *n)
                return CCID_LINK_OK;
        } else if (l->in_len > 0) {
            enum ccid_err e = ccid_frame(l->in, l->in_len, sizeof l->in, n);
            if (e == CCID_OK)
                return CCID_LINK_OK;
            if (e != CCID_ERR_NEED_MORE)
                return CCID_LINK_ERR_PROTOCOL;
        }
        if (l->in_len == sizeof l->in)
            return CCID_LINK_ERR_PROTOCOL;
        if (end) {
            int64_t left = end - now_ms();
            if (left <= 0)
                return CCID_LINK_ERR_DEADLINE;
            if (timeout_ms < 0 || left < timeout_ms)
                timeout_ms = (int)left;
        }
        if (l->io.recv) {
            int k = l->io.recv(l->io.ctx, l->in + l->in_len, sizeof l->in - l->in_len, timeout_ms);
            if (k == 0)
                return CCID_LINK_ERR_TIMEOUT;
            if (k < 0)
                return CCID_LINK_ERR_IO;
            l->in_len += (size_t)k;
            continue;
        }
        struct pollfd p = {.fd = l->fd, .events = POLLIN};
        int r = poll(&p, 1, timeout_ms);
        if (r == 0)
            return end && now_ms() >= end ? CCID_LINK_ERR_DEADLINE : CCID_LINK_ERR_TIMEOUT;
        if (r < 0 && errno == EINTR)
            continue;
        ssize_t k = r < 0 ? -1 : read(l->fd, l->in + l->in_len, sizeof l->in - l->in_len);
        if (k <= 0)
            return CCID_LINK_ERR_IO;
        l->in_len += (size_t)k;
    }
}

static enum ccid_link_err next_message(struct ccid_link *l, int timeout_ms, size_t *n)
{
    return next_message_until(l, timeout_ms, 0, n);
}

static void consume(struct ccid_link *l, size_t n)
{
    memmove(l->in, l->in + n, l->in_len - n);
    l->in_len -= n;
    wipe(l->in + l->in_len, n);
}

static void note_interrupt(struct ccid_link *l, size_t n)
{
    struct ccid_interrupt it;
    if (ccid_decode_interrupt(l->in, n, CCID_LINK_SLOTS - 1, &it) == CCID_OK &&
        it.type == CCID_RDR_TO_PC_NOTIFY_SLOT_CHANGE) {
        l->notifications++;
        l->card_present = ccid_slot_present(&it, 0);
        l->present_changed = ccid_slot_changed(&it, 0);
        bool was = l->cl_present;
        l->cl_present = ccid_slot_present(&it, 1);
        l->cl_changed = ccid_slot_changed(&it, 1);
        if (l->cl_present && (!was || l->cl_changed))
            l->taps++;
        slot_watch_note(&l->watch, l->in, n);
    }
}

/* The next RDR_to_PC message (of n bytes, still buffered) decoded into *m;
 * interrupt-IN notifications on the way are recorded and dropped. */
static enum ccid_link_err next_answer(struct ccid_link *l, int timeout_ms, int64_t end,
                                      struct ccid_msg *m, size_t *n)
{
    for (;;) {
        enum ccid_link_err e = next_message_until(l, timeout_ms, end, n);
        if (e != CCID_LINK_OK)
            return e;
        if (interrupt_size(l->in[0])) {
            note_interrupt(l, *n);
            consume(l, *n);
            continue;
        }
        if (ccid_decode(l->in, *n, sizeof l->in, m, NULL) != CCID_OK ||
            !ccid_is_rdr_to_pc(m->type)) {
            consume(l, *n);
            return CCID_LINK_ERR_PROTOCOL;
        }
        return CCID_LINK_OK;
    }
}

/* The answer m (n bytes buffered) to the caller: its data copied to data[0..cap). */
static enum ccid_link_err hand_over(struct ccid_link *l, struct ccid_msg *m, size_t n,
                                    struct ccid_msg *resp, uint8_t *data, size_t cap)
{
    if (m->len > cap) {
        consume(l, n);
        return CCID_LINK_ERR_TOO_LONG;
    }
    if (m->len)
        memcpy(data, m->data, m->len);
    m->data = data;
    *resp = *m;
    consume(l, n);
    return CCID_LINK_OK;
}

static enum ccid_link_err transact(struct ccid_link *l, struct ccid_msg *req, struct ccid_msg *resp,
                                   uint8_t *data, size_t cap, int timeout_ms)
{
    size_t n;
    if (!link_open(l))
        return CCID_LINK_ERR_IO;
    int64_t start = now_ms(), end = l->deadline_ms;
    l->deadline_call = false;
    if (l->call_max_ms && (!end || start + l->call_max_ms < end)) {
        end = start + l->call_max_ms;
        l->deadline_call = true;
    }
    req->seq = l->seq++;
    if (ccid_encode(req, l->out, sizeof l->out, &n) != CCID_OK)
        return CCID_LINK_ERR_PROTOCOL;
    enum ccid_link_err e = send_all(l, l->out, n, timeout_ms);
    wipe(l->out, n); /* an escape may carry a CAN */
    if (e != CCID_LINK_OK)
        return e;
    for (;;) {
        struct ccid_msg m;
        e = next_answer(l, timeout_ms, end, &m, &n);
        if (e != CCID_LINK_OK)
            return e;
        if (m.seq != req->seq) {
            /* The late answer to an earlier request (a probe sent without waiting). */
            consume(l, n);
            continue;
        }
        if (ccid_status_command(m.status) == CCID_CMD_TIME_EXTENSION) {
            l->time_extensions++;
            consume(l, n);
            continue;
        }
        l->status = m.status;
        l->berror = m.error;
        e = hand_over(l, &m, n, resp, data, cap);
        if (e != CCID_LINK_OK)
            return e;
        return ccid_status_command(m.status) == CCID_CMD_OK ? CCID_LINK_OK : CCID_LINK_ERR_FAILED;
    }
}

enum ccid_link_err ccid_link_transact(struct ccid_link *l, struct ccid_msg *req,
                                      struct ccid_msg *resp, uint8_t *data, size_t cap,
                                      int timeout_ms)
{
    l->last_err = transact(l, req, resp, data, cap, timeout_ms);
    return l->last_err;
}

enum ccid_link_err ccid_link_power_on(struct ccid_link *l, uint8_t power_select, uint8_t *atr,
                                      size_t cap, size_t *atr_len, int timeout_ms)
{
    struct ccid_msg req = {
        .type = CCID_PC_TO_RDR_ICC_POWER_ON, .slot = l->slot, .power_select = power_select};
    struct ccid_msg resp;
    enum ccid_link_err e = ccid_link_transact(l, &req, &resp, atr, cap, timeout_ms);
    *atr_len = e == CCID_LINK_OK ? resp.len : 0;
    return e;
}

enum ccid_link_err ccid_link_power_off(struct ccid_link *l, int timeout_ms)
{
    uint8_t none[1];
    struct ccid_msg req = {.type = CCID_PC_TO_RDR_ICC_POWER_OFF, .slot = l->slot}, resp;
    return ccid_link_transact(l, &req, &resp, none, 0, timeout_ms);
}

static enum ccid_link_err xfr_block(struct ccid_link *l, const uint8_t *p, size_t n, uint16_t level,
                                    struct ccid_msg *resp, uint8_t *out, size_t cap, int timeout_ms)
{
    struct ccid_msg req = {.type = CCID_PC_TO_RDR_XFR_BLOCK,
                           .slot = l->slot,
                           .data = p,
                           .len = (uint32_t)n,
                           .level_parameter = level};
    return ccid_link_transact(l, &req, resp, out, cap, timeout_ms);
}

enum ccid_link_err ccid_link_xfr(struct ccid_link *l, const uint8_t *apdu, size_t len, uint8_t *out,
                                 size_t cap, size_t *rlen, int timeout_ms)
{
    struct ccid_msg resp;
    enum ccid_link_err e;
    size_t max = l->max_message > CCID_HEADER_SIZE ? l->max_message : CCID_MAX_MESSAGE_SIZE;
    size_t piece = max - CCID_HEADER_SIZE;
    *rlen = 0;
    if (len <= piece) {
        e = xfr_block(l, apdu, len, CCID_CHAIN_BEGIN_END, &resp, out, cap, timeout_ms);
    } else {
        /* §6.1.4: the command in pieces; every piece but the last is answered
         * by an empty DataBlock asking for more (bChainParameter 10). */
        size_t off = 0;
        for (;;) {
            size_t k = len - off < piece ? len - off : piece;
            bool last = off + k == len;
            uint16_t level = off == 0 ? CCID_CHAIN_BEGIN
                             : last   ? CCID_CHAIN_END
                                      : CCID_CHAIN_CONTINUE;
            l->chained_blocks++;
            e = xfr_block(l, apdu + off, k, level, &resp, out, cap, timeout_ms);
            off += k;
            if (e != CCID_LINK_OK || last)
                break;
            if (resp.len != 0 || resp.chain_parameter != CCID_CHAIN_EMPTY_EXPECT_MORE)
                return CCID_LINK_ERR_PROTOCOL;
        }
    }
    if (e != CCID_LINK_OK)
        return e;
    /* §6.2.1: a response in pieces (01 begin, 03 continue, 02 end), each
     * further piece asked for by an empty XfrBlock with wLevelParameter 10. */
    size_t got = resp.len;
    uint8_t chain = resp.chain_parameter;
    if (chain != CCID_CHAIN_BEGIN_END && chain != CCID_CHAIN_BEGIN)
        return CCID_LINK_ERR_PROTOCOL;
    while (chain == CCID_CHAIN_BEGIN || chain == CCID_CHAIN_CONTINUE) {
        l->chained_blocks++;
        e = xfr_block(l, NULL, 0, CCID_CHAIN_EMPTY_EXPECT_MORE, &resp, out + got, cap - got,
                      timeout_ms);
        if (e != CCID_LINK_OK)
            return e;
        got += resp.len;
        chain = resp.chain_parameter;
        if (chain != CCID_CHAIN_CONTINUE && chain != CCID_CHAIN_END)
            return CCID_LINK_ERR_PROTOCOL;
    }
    *rlen = got;
    return CCID_LINK_OK;
}

enum ccid_link_err ccid_link_slot_status(struct ccid_link *l, enum ccid_icc_status *icc,
                                         int timeout_ms)
{
    uint8_t none[1];
    struct ccid_msg req = {.type = CCID_PC_TO_RDR_GET_SLOT_STATUS, .slot = l->slot}, resp;
    enum ccid_link_err e = ccid_link_transact(l, &req, &resp, none, 0, timeout_ms);
    *icc = ccid_status_icc(l->status);
    return e;
}

bool ccid_link_wait_notify(struct ccid_link *l, int timeout_ms)
{
    uint64_t before = l->notifications;
    size_t n;
    while (l->notifications == before) {
        if (next_message(l, timeout_ms, &n) != CCID_LINK_OK)
            return false;
        if (!interrupt_size(l->in[0])) {
            consume(l, n); /* a stray answer: nothing is pending */
            continue;
        }
        note_interrupt(l, n);
        consume(l, n);
    }
    return true;
}

enum ccid_link_err ccid_link_send(struct ccid_link *l, struct ccid_msg *req, int timeout_ms)
{
    size_t n;
    if (!link_open(l))
        return CCID_LINK_ERR_IO;
    req->seq = l->seq++;
    if (ccid_encode(req, l->out, sizeof l->out, &n) != CCID_OK)
        return CCID_LINK_ERR_PROTOCOL;
    enum ccid_link_err e = send_all(l, l->out, n, timeout_ms);
    wipe(l->out, n);
    return e;
}

enum ccid_link_err ccid_link_take(struct ccid_link *l, struct ccid_msg *resp, uint8_t *data,
                                  size_t cap)
{
    size_t n;
    for (;;) {
        struct ccid_msg m;
        enum ccid_link_err e = next_answer(l, 0, 0, &m, &n);
        if (e != CCID_LINK_OK)
            return e;
        if (ccid_status_command(m.status) == CCID_CMD_TIME_EXTENSION) {
            consume(l, n);
            continue;
        }
        return hand_over(l, &m, n, resp, data, cap);
    }
}

/*
 * libFuzzer target: the reader's end of the simulated card line
 * (common/src/simline_port.c) against a hostile card process. The card's
 * bytes arrive through the board's read in chunks the input chooses (a few
 * bytes, whole kilobytes, nothing yet as a non-blocking socket says EAGAIN,
 * or the line closed), between the calls a board makes: up, down, VCC, CLK,
 * RST, configure, send, pump without waiting, recv, flush, present,
 * insertions, delay, and a write that fails.
 *
 * Input: 4 bytes of configuration (the port's buffer sizes, from the STM32
 * board's one record of input to the sim board's queues; fault injection),
 * a count and that many operation bytes, a count and that many read sizes,
 * then the card's byte stream.
 *
 * After every call the port is checked against a model built from the same
 * stream: the bytes it holds undecoded are exactly the stream's next ones,
 * the records it decoded are valid card records (or it went down naming the
 * first bad one, or the board said the line closed), every queued record
 * re-encodes to exactly the bytes it came from and its characters are the
 * stream's, presence, insertions and unanswered records follow the records,
 * nothing decodable that fits is left behind a pump (a board's read may block
 * for ever), what it writes is valid reader records carrying exactly the
 * characters sent, time never goes back, and after down() nothing is left.
 * Without fault injection each character recv gives is the queue head's, in
 * the convention configured. Buffers are allocated at their exact sizes so
 * that ASan sees any overrun. The stream's first bytes are also the list
 * simline_fault_kinds parses for a board's configuration.
 *
 * Seeds (corpus/simline_port): this port against hawiya-vcard's card_line,
 * recorded: ATR, PPS and a T=1 SELECT (default persona, STM32 buffers), a
 * T=0 SELECT (t0-only, sim buffers), an inverse-convention ATR, the card
 * out and back in, the line closed mid-ATR and connected again, an ATR into
 * a one-record queue; and what the fuzzer found: a read behind a waiting
 * record (the code before 11f0473), "flip," taken as "flip".
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hawiya/atr.h"
#include "hawiya/simline.h"
#include "hawiya/simline_port.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define STREAM_MAX  65536u
#define IO_HEAD     SIMLINE_IO_HEAD_SIZE
#define MODEL_RECS  (STREAM_MAX / (IO_HEAD + 2) + 2)
#define SEND_MAX    2100u
#define TX_ACC_SIZE (2 * SIMLINE_RECORD_MAX)

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c))                                                                                  \
            __builtin_trap();                                                                      \
    } while (0)

enum op {
    OP_UP,
    OP_DOWN,
    OP_VCC,
    OP_CLK,
    OP_RST,
    OP_CONFIGURE,
    OP_SEND,
    OP_PUMP,
    OP_RECV,
    OP_FLUSH,
    OP_PRESENT,
    OP_INSERTIONS,
    OP_DELAY,
    OP_FAIL_WRITE,
    OP_DRAIN,
    OP_PUMP2,
};

static struct {
    struct simline_port p;
    const uint8_t *stream; /* the card's bytes */
    size_t stream_len, pos;
    size_t consumed; /* stream bytes the port has decoded (or thrown away) */
    const uint8_t *chunks;
    size_t n_chunks, chunk_i;
    bool faults; /* fault injection is on: which characters come is the PRNG's */

    /* per call */
    bool read_failed, write_failed, fail_next_write;
    unsigned closed_calls;
    const char *why;
    uint64_t last_now;

    /* the model: IO records queued since the last drop, as stream offsets */
    size_t mrec[MODEL_RECS];
    unsigned mnext_head; /* characters of mrec[mhead] already taken */
    size_t mhead, mtail;
    bool present;
    uint32_t insertions;
    unsigned outstanding;

    /* what the port wrote, parsed into records */
    uint8_t acc[TX_ACC_SIZE];
    size_t acc_len;
    uint8_t sent[SEND_MAX * 2];
    size_t sent_len;
    unsigned records_written, io_written;
    struct simline_msg last_written;
} F;

static uint64_t touch; /* what trace gave, read so ASan checks it */

static bool fits(const struct simline_port *p, const struct simline_msg *m)
{
    return p->rec_count < p->rec_cap && p->char_cap - p->char_count >= m->u.io.n;
}

/* The port's input starts with a record it could decode now (or a bad one
 * it should have gone down for). */
static bool decodable(const struct simline_port *p)
{
    struct simline_msg m;
    size_t used;
    enum simline_err e = simline_decode(p->in, p->in_len, &m, &used);
    return e != SIMLINE_ERR_INCOMPLETE &&
           !(e == SIMLINE_OK && m.type == SIMLINE_IO && !fits(p, &m));
}

/* ---- the board's callbacks ------------------------------------------------ */

static bool fz_write(void *ctx, const uint8_t *p, size_t n)
{
    CHECK(ctx == &F && F.p.up && n > 0);
    if (F.fail_next_write) {
        F.fail_next_write = false;
        F.write_failed = true;
        F.acc_len = 0;
        return false;
    }
    CHECK(n <= sizeof F.acc - F.acc_len);
    memcpy(F.acc + F.acc_len, p, n);
    F.acc_len += n;
    for (;;) {
        struct simline_msg m;
        size_t used;
        enum simline_err e = simline_decode(F.acc, F.acc_len, &m, &used);
        if (e == SIMLINE_ERR_INCOMPLETE)
            break;
        /* A reader sends only VCC, CLK, RST and IO, each a valid record. */
        CHECK(e == SIMLINE_OK);
        CHECK(m.type == SIMLINE_VCC || m.type == SIMLINE_CLK || m.type == SIMLINE_RST ||
              m.type == SIMLINE_IO);
        if (m.type == SIMLINE_IO) {
            CHECK(m.u.io.etu_ps == F.p.etu_ps && m.u.io.char_etu == F.p.char_etu);
            CHECK(m.u.io.n <= sizeof F.sent - F.sent_len);
            memcpy(F.sent + F.sent_len, m.u.io.chars, m.u.io.n);
            F.sent_len += m.u.io.n;
            F.io_written++;
        }
        F.last_written = m;
        F.records_written++;
        F.outstanding++;
        memmove(F.acc, F.acc + used, F.acc_len - used);
        F.acc_len -= used;
    }
    return true;
}

static long fz_read(void *ctx, uint8_t *buf, size_t cap, int wait_ms)
{
    (void)wait_ms;
    CHECK(ctx == &F && F.p.up);
    /* Only into the free end of the port's input buffer. */
    CHECK(buf == F.p.in + F.p.in_len && cap == F.p.in_cap - F.p.in_len && cap > 0);
    /* Nothing it holds could be decoded now: the read may block until the
     * card speaks again, which a card waiting for the reader never does. */
    CHECK(!decodable(&F.p));
    size_t left = F.stream_len - F.pos, n = left;
    if (F.chunk_i < F.n_chunks) {
        uint8_t c = F.chunks[F.chunk_i++];
        if (c == 0xFF) {
            F.read_failed = true;
            return -1;
        }
        n = c < 0xF0 ? c : (size_t)(c - 0xEF) * 256u;
    }
    if (n > left)
        n = left;
    if (n > cap)
        n = cap;
    CHECK(F.pos + n <= F.stream_len);
    memcpy(buf, F.stream + F.pos, n);
    F.pos += n;
    return (long)n;
}

static void fz_closed(void *ctx, const char *why)
{
    CHECK(ctx == &F && !F.p.up && why != NULL);
    F.closed_calls++;
    F.why = why;
}

static void fz_advanced(void *ctx, uint64_t now_ns)
{
    CHECK(ctx == &F && now_ns == F.p.now_ns && now_ns > F.last_now);
    F.last_now = now_ns;
}

static void fz_trace(void *ctx, const char *what, uint64_t t_ns, const uint8_t *chars,
                     const uint8_t *flags, size_t n, unsigned fault)
{
    (void)t_ns;
    CHECK(ctx == &F && what != NULL && chars != NULL && n > 0 && n <= SIMLINE_MAX_IO);
    CHECK(fault <= SIMLINE_FAULT_DUP);
    if (strcmp(what, "tx") != 0)
        CHECK(n == 1);
    for (size_t i = 0; i < n; i++)
        touch += chars[i] + (flags ? flags[i] : 0);
}

static const struct simline_port_ops ops = {
    .write = fz_write,
    .read = fz_read,
    .closed = fz_closed,
    .advanced = fz_advanced,
    .trace = fz_trace,
};

/* ---- the model ------------------------------------------------------------ */

static void model_drop(void)
{
    F.mhead = F.mtail;
    F.mnext_head = 0;
}

/* The IO record at stream offset off. */
static struct simline_msg record_at(size_t off)
{
    struct simline_msg m;
    size_t used;
    CHECK(simline_decode(F.stream + off, F.stream_len - off, &m, &used) == SIMLINE_OK);
    CHECK(m.type == SIMLINE_IO);
    return m;
}

/* Applies the records the port decoded during one call, in stream order. A
 * port that went down must have met a bad record: its error is `why`. */
static void walk(size_t to, bool went_down)
{
    while (F.consumed < to || went_down) {
        struct simline_msg m;
        size_t used;
        enum simline_err e = simline_decode(F.stream + F.consumed, F.pos - F.consumed, &m, &used);
        if (went_down) {
            CHECK(e != SIMLINE_ERR_INCOMPLETE); /* no bad record: no reason to go down */
            if (e != SIMLINE_OK) {
                CHECK(strcmp(F.why, simline_err_str(e)) == 0);
                return;
            }
            if (m.type != SIMLINE_IO && m.type != SIMLINE_SYNC && m.type != SIMLINE_PRESENCE) {
                CHECK(strcmp(F.why, "unexpected record from the card") == 0);
                return;
            }
            if (m.type == SIMLINE_IO && m.u.io.n > F.p.char_cap) {
                CHECK(strcmp(F.why, "a card record longer than the reader's character queue") == 0);
                return;
            }
        } else {
            CHECK(e == SIMLINE_OK && used <= to - F.consumed);
        }
        switch (m.type) {
        case SIMLINE_IO:
            CHECK(F.mtail < MODEL_RECS);
            F.mrec[F.mtail++] = F.consumed;
            break;
        case SIMLINE_SYNC:
            if (F.outstanding > 0)
                F.outstanding--;
            break;
        case SIMLINE_PRESENCE:
            if (m.u.present && !F.present)
                F.insertions++;
            if (!m.u.present)
                model_drop();
            F.present = m.u.present;
            break;
        default: CHECK(0);
        }
        F.consumed += used;
    }
}

static size_t model_chars(void)
{
    size_t n = 0;
    for (size_t i = F.mhead; i < F.mtail; i++)
        n += record_at(F.mrec[i]).u.io.n;
    return n - F.mnext_head;
}

/* The port's queue is the model's tail, character for character, and each
 * whole record in it re-encodes to exactly the bytes it came from. */
static void check_queue(void)
{
    const struct simline_port *p = &F.p;
    CHECK(p->rec_count <= F.mtail - F.mhead);
    size_t first = F.mtail - p->rec_count, ci = 0;
    static uint8_t chars[SIMLINE_MAX_IO], flags[SIMLINE_MAX_IO], enc[SIMLINE_RECORD_MAX];
    for (unsigned i = 0; i < p->rec_count; i++) {
        const struct simline_port_rec *r = &p->recs[(p->rec_head + i) % p->rec_cap];
        size_t off = F.mrec[first + i];
        struct simline_msg m = record_at(off);
        CHECK(r->t_ns == m.t_ns && r->etu_ps == m.u.io.etu_ps && r->char_etu == m.u.io.char_etu &&
              r->n == m.u.io.n && r->next < r->n);
        CHECK(i == 0 || r->next == 0);
        if (i == 0 && first == F.mhead)
            CHECK(r->next >= F.mnext_head);
        for (unsigned k = r->next; k < r->n; k++, ci++) {
            CHECK(ci < p->char_count);
            const uint8_t *c = &p->chars[2 * ((p->char_head + ci) % p->char_cap)];
            CHECK(c[0] == m.u.io.chars[k] && c[1] == m.u.io.flags[k]);
            chars[k] = c[0];
            flags[k] = c[1];
        }
        if (r->next == 0) {
            struct simline_msg q = {.type = SIMLINE_IO, .t_ns = r->t_ns};
            size_t n;
            q.u.io.etu_ps = r->etu_ps;
            q.u.io.char_etu = r->char_etu;
            q.u.io.n = r->n;
            q.u.io.chars = chars;
            q.u.io.flags = flags;
            CHECK(simline_encode(&q, enc, sizeof enc, &n) == SIMLINE_OK);
            CHECK(n == IO_HEAD + 2u * r->n && memcmp(enc, F.stream + off, n) == 0);
        }
    }
    CHECK(ci == p->char_count);
    F.mhead = first;
    F.mnext_head = p->rec_count ? p->recs[p->rec_head].next : 0;
}

/* The port threw away all it held (down, or up again): so does the model. */
static void model_restart(void)
{
    F.consumed = F.pos;
    model_drop();
    F.present = false;
    F.outstanding = 0;
    F.acc_len = 0;
}

static void check_clean(void)
{
    const struct simline_port *p = &F.p;
    CHECK(!p->up && !p->present && p->outstanding == 0 && p->in_len == 0 && p->rec_count == 0 &&
          p->char_count == 0 && p->dup_delay_ns == 0);
}

static void start_call(void)
{
    F.read_failed = F.write_failed = false;
    F.closed_calls = 0;
    F.why = NULL;
    F.sent_len = 0;
    F.records_written = F.io_written = 0;
}

/* After each call: popped is how many characters the call took from the
 * queue (unknown with fault injection: one may be dropped or come twice). */
static void end_call(enum op op, bool was_up, size_t popped)
{
    const struct simline_port *p = &F.p;
    CHECK(p->in_len <= p->in_cap && p->rec_count <= p->rec_cap && p->char_count <= p->char_cap);
    CHECK(p->rec_head < p->rec_cap && p->char_head < p->char_cap);
    CHECK(p->now_ns >= F.last_now);
    F.last_now = p->now_ns;
    CHECK(F.pos <= F.stream_len);

    if (!p->up) {
        CHECK(F.closed_calls == (was_up ? 1u : 0u));
        if (was_up && op != OP_DOWN) {
            if (strcmp(F.why, "the card line closed") == 0)
                CHECK(F.read_failed || F.write_failed);
            else if (strcmp(F.why, "no answer from the card process") == 0)
                CHECK(op == OP_RECV);
            else if (strcmp(F.why, "the reader's line settings cannot carry a character") == 0)
                CHECK(op == OP_SEND && !(F.p.etu_ps != 0 && F.p.char_etu >= SIMLINE_CHAR_ETU_MIN &&
                                         F.p.char_etu <= SIMLINE_CHAR_ETU_MAX));
            else
                walk(F.pos, true);
        }
        check_clean();
        model_restart();
        return;
    }
    CHECK(F.closed_calls == 0 && !F.read_failed && !F.write_failed);
    if (op == OP_UP) {
        CHECK(p->in_len == 0 && p->rec_count == 0 && p->char_count == 0 && !p->present &&
              p->outstanding == 0);
        model_restart();
        return;
    }
    /* What the port holds undecoded is exactly what the stream said next. */
    CHECK(F.pos - F.consumed >= p->in_len);
    size_t decoded_to = F.pos - p->in_len;
    CHECK(memcmp(p->in, F.stream + decoded_to, p->in_len) == 0);
    walk(decoded_to, false);
    if (op == OP_FLUSH || (op == OP_VCC && p->vcc == 0))
        model_drop();
    CHECK(p->present == F.present && p->insertions == F.insertions &&
          p->outstanding == F.outstanding);
    size_t after_walk = model_chars();
    CHECK(p->char_count <= after_walk);
    if (!F.faults)
        CHECK(after_walk - p->char_count == popped);
    check_queue();

    /* A pump decodes every whole record that has room before it returns. */
    if (op == OP_PUMP || op == OP_PUMP2 || op == OP_PRESENT || op == OP_INSERTIONS ||
        op == OP_DELAY)
        CHECK(!decodable(p));
}

/* ---- the fault list a board is configured with ---------------------------- */

/* simline_fault_kinds on the stream's first bytes (up to a NUL), against the
 * header's rule: names from "flip", "drop", "dup" between commas, 0 when one
 * is unknown (an empty one included) or the list is empty. */
static void check_fault_kinds(const uint8_t *data, size_t size)
{
    static const char *const names[3] = {"flip", "drop", "dup"};
    char list[24];
    size_t len = 0;
    while (len < size && len < sizeof list - 1 && data[len] != 0) {
        list[len] = (char)data[len];
        len++;
    }
    list[len] = 0;
    unsigned want = 0;
    bool valid = len > 0;
    for (size_t start = 0; valid && start <= len;) {
        size_t end = start;
        while (end < len && list[end] != ',')
            end++;
        unsigned k = 0;
        for (unsigned i = 0; i < 3; i++)
            if (strlen(names[i]) == end - start && memcmp(list + start, names[i], end - start) == 0)
                k = SIMLINE_FAULT_FLIP << i;
        valid = k != 0;
        want |= k;
        start = end + 1;
    }
    CHECK(simline_fault_kinds(list) == (valid ? want : 0u));
}

/* ---- the calls ------------------------------------------------------------ */

struct cursor {
    const uint8_t *p;
    size_t n;
};

static uint8_t next(struct cursor *c)
{
    if (c->n == 0)
        return 0;
    c->n--;
    return *c->p++;
}

static void do_recv(uint64_t deadline)
{
    struct simline_port *p = &F.p;
    bool was_up = p->up;
    /* Without faults a character comes from the queue's head, as it was put
     * there (after whatever the call decoded first). */
    start_call();
    uint8_t c = 0;
    enum simline_rx r = simline_port_recv(p, &c, deadline);
    bool got = r == SIMLINE_RX_OK || r == SIMLINE_RX_PARITY_ERROR;
    if (got)
        CHECK(p->up || F.faults);
    if (!p->up || !p->present || p->vcc == 0)
        CHECK(got || r == SIMLINE_RX_REMOVED || r == SIMLINE_RX_TIMEOUT);
    if (got && !F.faults && p->up) {
        /* The character taken is the model's head once this call's records
         * are applied (end_call then finds nothing more to apply). */
        CHECK(F.pos - F.consumed >= p->in_len);
        walk(F.pos - p->in_len, false);
        size_t head = F.mhead;
        unsigned k = F.mnext_head;
        CHECK(head < F.mtail);
        struct simline_msg m = record_at(F.mrec[head]);
        uint8_t raw = m.u.io.chars[k], flag = m.u.io.flags[k];
        uint64_t a = m.u.io.etu_ps, b = p->etu_ps, d = a > b ? a - b : b - a;
        if (d * 50 > b) {
            CHECK(r == SIMLINE_RX_PARITY_ERROR && c == (uint8_t)(raw ^ 0xA5));
        } else {
            CHECK(c == (p->inverse ? atr_inverse_byte(raw) : raw));
            CHECK((r == SIMLINE_RX_PARITY_ERROR) == ((flag & SIMLINE_CHAR_PARITY_ERROR) != 0));
        }
    }
    end_call(OP_RECV, was_up, got ? 1 : 0);
}

static void run_op(struct cursor *c)
{
    static const uint32_t clocks[8] = {0,       1,       1000000,  3571200,
                                       4000000, 5000000, 20000000, 0xFFFFFFFFu};
    static const unsigned fis[8] = {372, 512, 558, 768, 1024, 2048, 1, 0};
    static const unsigned dis[8] = {1, 2, 4, 8, 16, 32, 64, 0};
    static const unsigned char_etus[8] = {12, 11, 266, 22, 255, 0, 10, 267};
    static const uint16_t millivolts[5] = {0, 1800, 3000, 5000, 0};
    static uint8_t chars[SEND_MAX], want[SEND_MAX];
    struct simline_port *p = &F.p;
    enum op op = (enum op)(next(c) & 15);
    bool was_up = p->up;

    if (op == OP_RECV) {
        /* A reader's deadlines are its time plus a waiting time (or the
         * unit test's UINT64_MAX / 2), never near 2^64 ns: simulated time is
         * not meant to wrap after 584 years. */
        uint8_t a = next(c);
        uint64_t deadline = a == 0   ? p->now_ns
                            : a == 1 ? p->now_ns + 1
                            : a == 2 ? UINT64_MAX / 2
                                     : p->now_ns + (uint64_t)a * 1000000u;
        do_recv(deadline);
        return;
    }
    if (op == OP_DRAIN) {
        unsigned n = next(c) + 1u;
        for (unsigned i = 0; i < n && p->up; i++)
            do_recv(UINT64_MAX / 2);
        return;
    }
    start_call();
    switch (op) {
    case OP_UP: simline_port_up(p); break;
    case OP_DOWN: simline_port_down(p, "fuzz"); break;
    case OP_VCC: {
        unsigned cls = next(c) % 5;
        simline_port_vcc(p, cls);
        if (was_up && p->up)
            CHECK(F.records_written == 1 && F.last_written.type == SIMLINE_VCC &&
                  F.last_written.u.vcc_mv == millivolts[cls]);
        break;
    }
    case OP_CLK: {
        uint32_t hz = clocks[next(c) & 7];
        simline_port_clk(p, hz);
        CHECK(p->etu_ps == simline_etu_ps(p->fi, p->di, hz));
        if (was_up && p->up)
            CHECK(F.records_written == 1 && F.last_written.type == SIMLINE_CLK &&
                  F.last_written.u.clk_hz == hz);
        break;
    }
    case OP_RST: {
        bool high = next(c) & 1;
        simline_port_rst(p, high);
        if (was_up && p->up)
            CHECK(F.records_written == 1 && F.last_written.type == SIMLINE_RST &&
                  F.last_written.u.rst_level == high);
        break;
    }
    case OP_CONFIGURE: {
        uint8_t a = next(c), b = next(c);
        simline_port_configure(p, fis[a & 7], dis[(a >> 3) & 7], char_etus[b & 7], b & 8, b & 16);
        break;
    }
    case OP_SEND: {
        /* The characters follow in the operations, or a pattern fills them. */
        uint8_t a = next(c), b = next(c), s = b & 8 ? next(c) : 0;
        size_t n = a | (size_t)(b & 7) << 8;
        for (size_t i = 0; i < n; i++)
            chars[i] = b & 8 ? (uint8_t)(s + i * 37u) : next(c);
        simline_port_send(p, chars, n);
        if (was_up && p->up && !F.faults) {
            /* Every character, in the line's convention, in records of at
             * most one chunk (settings that cannot be said take the line
             * down, checked in end_call). */
            bool sayable = p->etu_ps != 0 && p->char_etu >= SIMLINE_CHAR_ETU_MIN &&
                           p->char_etu <= SIMLINE_CHAR_ETU_MAX && p->send_chunk > 0;
            size_t chunk = p->send_chunk;
            for (size_t i = 0; i < n; i++)
                want[i] = p->inverse ? atr_inverse_byte(chars[i]) : chars[i];
            CHECK(sayable || n == 0 || chunk == 0);
            if (sayable) {
                CHECK(F.sent_len == n && memcmp(F.sent, want, n) == 0);
                CHECK(F.io_written == (n + chunk - 1) / chunk);
            } else {
                CHECK(F.records_written == 0);
            }
        }
        break;
    }
    case OP_PUMP:
    case OP_PUMP2: simline_port_pump(p, 0); break;
    case OP_FLUSH: simline_port_flush(p); break;
    case OP_PRESENT: {
        bool pres = simline_port_present(p);
        CHECK(pres == (p->up && p->present));
        break;
    }
    case OP_INSERTIONS: CHECK(simline_port_insertions(p) == p->insertions); break;
    case OP_DELAY: {
        uint64_t ns = (uint64_t)next(c) * 100000u;
        uint64_t before = p->now_ns;
        simline_port_delay(p, ns);
        if (before + ns >= before)
            CHECK(p->now_ns >= before + ns);
        break;
    }
    case OP_FAIL_WRITE: F.fail_next_write = true; break;
    case OP_RECV:
    case OP_DRAIN: break;
    }
    if (F.write_failed)
        F.fail_next_write = false;
    end_call(op, was_up, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t in_caps[4] = {SIMLINE_RECORD_MAX, SIMLINE_RECORD_MAX + 1,
                                      SIMLINE_RECORD_MAX + 37, 2 * SIMLINE_RECORD_MAX};
    static const unsigned rec_caps[8] = {1, 2, 3, 8, 8, 16, 256, 1};
    static const unsigned char_caps[8] = {1, 2, 4, 16, 320, 1024, 8192, 3};
    static const size_t tx_caps[8] = {SIMLINE_PORT_TX_SIZE(1),     SIMLINE_PORT_TX_SIZE(3) + 2,
                                      SIMLINE_PORT_TX_SIZE(16),    SIMLINE_PORT_TX_SIZE(264),
                                      SIMLINE_PORT_TX_SIZE(1024),  SIMLINE_PORT_TX_SIZE(1500),
                                      SIMLINE_PORT_TX_SIZE(1) - 1, SIMLINE_PORT_TX_SIZE(264)};
    if (size < 5 || size > STREAM_MAX)
        return 0;
    uint8_t c0 = data[0], c1 = data[1], rate = data[2], seed = data[3];
    data += 4;
    size -= 4;
    size_t n_ops = data[0] < size - 1 ? data[0] : size - 1;
    struct cursor ops_c = {data + 1, n_ops};
    data += 1 + n_ops;
    size -= 1 + n_ops;
    const uint8_t *chunks = NULL;
    size_t n_chunks = 0;
    if (size > 0) {
        n_chunks = data[0] < size - 1 ? data[0] : size - 1;
        chunks = data + 1;
        data += 1 + n_chunks;
        size -= 1 + n_chunks;
    }

    const struct simline_port_buffers b = {
        .in = malloc(in_caps[c0 & 3]),
        .in_cap = in_caps[c0 & 3],
        .recs = malloc(rec_caps[(c0 >> 2) & 7] * sizeof(struct simline_port_rec)),
        .rec_cap = rec_caps[(c0 >> 2) & 7],
        .chars = malloc(2u * char_caps[c0 >> 5]),
        .char_cap = char_caps[c0 >> 5],
        .tx = malloc(tx_caps[c1 & 7]),
        .tx_cap = tx_caps[c1 & 7],
    };
    CHECK(b.in && b.recs && b.chars && b.tx);
    const struct simline_port_config cfg = {.fault_rate = rate / 256.0,
                                            .fault_seed = seed,
                                            .fault_kinds = (c1 >> 3) & 7,
                                            .stall_ms = 1000};

    check_fault_kinds(data, size);
    memset(&F, 0, sizeof F);
    F.stream = data;
    F.stream_len = size;
    F.chunks = chunks;
    F.n_chunks = n_chunks;
    F.faults = cfg.fault_rate > 0 && cfg.fault_kinds != 0;
    simline_port_init(&F.p, &ops, &F, &cfg, &b);
    CHECK(!F.p.up && F.p.send_chunk <= SIMLINE_MAX_IO);

    start_call();
    simline_port_up(&F.p);
    end_call(OP_UP, false, 0);
    while (ops_c.n > 0)
        run_op(&ops_c);
    /* What is left comes in, then the board goes. */
    for (unsigned i = 0; i < 64 && F.p.up && F.p.char_count + F.p.in_len > 0; i++)
        do_recv(UINT64_MAX / 2);
    start_call();
    bool was_up = F.p.up;
    simline_port_down(&F.p, "end");
    end_call(OP_DOWN, was_up, 0);
    uint8_t ch;
    CHECK(simline_port_recv(&F.p, &ch, UINT64_MAX) == SIMLINE_RX_REMOVED);
    CHECK(!simline_port_present(&F.p));
    size_t pos = F.pos;
    simline_port_pump(&F.p, 0);
    CHECK(F.pos == pos);
    check_clean();

    free(b.in);
    free(b.recs);
    free(b.chars);
    free(b.tx);
    return 0;
}

#include "hawiya/simline_port.h"

#include <string.h>

#include "hawiya/atr.h"

void simline_port_init(struct simline_port *p, const struct simline_port_ops *ops, void *ctx,
                       const struct simline_port_config *cfg, const struct simline_port_buffers *b)
{
    memset(p, 0, sizeof *p);
    p->ops = *ops;
    p->ctx = ctx;
    p->cfg = *cfg;
    p->in = b->in;
    p->in_cap = b->in_cap;
    p->recs = b->recs;
    p->rec_cap = b->rec_cap;
    p->chars = b->chars;
    p->char_cap = b->char_cap;
    p->tx = b->tx;
    p->send_chunk = b->tx_cap / SIMLINE_PORT_TX_SIZE(1);
    if (p->send_chunk > SIMLINE_MAX_IO)
        p->send_chunk = SIMLINE_MAX_IO;
    p->rng_state = cfg->fault_seed ? cfg->fault_seed : 0x9E3779B97F4A7C15ull;
    p->fi = 372;
    p->di = 1;
    p->char_etu = 12;
}

static void advance_to(struct simline_port *p, uint64_t t_ns)
{
    if (t_ns <= p->now_ns)
        return;
    p->now_ns = t_ns;
    if (p->ops.advanced)
        p->ops.advanced(p->ctx, t_ns);
}

static void drop_queue(struct simline_port *p)
{
    p->rec_count = p->char_count = 0;
    p->dup_delay_ns = 0;
}

void simline_port_up(struct simline_port *p)
{
    p->up = true;
    p->present = false;
    p->outstanding = 0;
    p->in_len = 0;
    drop_queue(p);
}

void simline_port_down(struct simline_port *p, const char *why)
{
    bool was = p->up;
    p->up = false;
    p->present = false;
    p->outstanding = 0;
    p->in_len = 0;
    drop_queue(p);
    if (was && p->ops.closed)
        p->ops.closed(p->ctx, why);
}

unsigned simline_fault_kinds(const char *list)
{
    static const char *const names[] = {"flip", "drop", "dup"};
    unsigned kinds = 0;
    for (;;) {
        const char *end = strchr(list, ',');
        size_t n = end ? (size_t)(end - list) : strlen(list);
        unsigned k = 0;
        for (unsigned i = 0; i < 3; i++)
            if (strlen(names[i]) == n && !strncmp(list, names[i], n))
                k = SIMLINE_FAULT_FLIP << i;
        /* Every name between commas counts, the empty one after a trailing
         * comma too: "flip," is as unknown as "flip,x". */
        if (k == 0)
            return 0;
        kinds |= k;
        if (!end)
            return kinds;
        list = end + 1;
    }
}

/* ---- fault injection (xorshift64*, seeded, so a failing run can be replayed) */

static uint64_t prng(struct simline_port *p)
{
    uint64_t x = p->rng_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    p->rng_state = x;
    return x * 0x2545F4914F6CDD1Dull;
}

/* Which fault hits this character: 0 or one SIMLINE_FAULT_* bit. */
static unsigned fault_for_char(struct simline_port *p)
{
    if (p->cfg.fault_rate <= 0 || p->cfg.fault_kinds == 0)
        return 0;
    if ((double)(prng(p) >> 11) / (double)(1ull << 53) >= p->cfg.fault_rate)
        return 0;
    unsigned kinds[3], n = 0;
    for (unsigned k = SIMLINE_FAULT_FLIP; k <= SIMLINE_FAULT_DUP; k <<= 1)
        if (p->cfg.fault_kinds & k)
            kinds[n++] = k;
    p->stats.faults++;
    return kinds[prng(p) % n];
}

/* ---- receiving ------------------------------------------------------------ */

/* Queues an IO record's characters; false (nothing queued) when they do not fit. */
static bool queue_io(struct simline_port *p, const struct simline_msg *m)
{
    if (p->rec_count == p->rec_cap || p->char_cap - p->char_count < m->u.io.n)
        return false;
    struct simline_port_rec *r = &p->recs[(p->rec_head + p->rec_count++) % p->rec_cap];
    r->t_ns = m->t_ns;
    r->etu_ps = m->u.io.etu_ps;
    r->char_etu = m->u.io.char_etu;
    r->n = m->u.io.n;
    r->next = 0;
    for (size_t i = 0; i < m->u.io.n; i++) {
        uint8_t *c = &p->chars[2 * ((p->char_head + p->char_count++) % p->char_cap)];
        c[0] = m->u.io.chars[i];
        c[1] = m->u.io.flags[i];
        p->stats.chars_from_card++;
        p->stats.line_ns += (uint64_t)r->etu_ps * r->char_etu / 1000;
    }
    return true;
}

/* Decodes every whole record in `in` that has room: how many bytes that
 * took, -1 when the line is down. */
static long decode_in(struct simline_port *p)
{
    size_t off = 0;
    for (;;) {
        struct simline_msg m;
        size_t used;
        enum simline_err e = simline_decode(p->in + off, p->in_len - off, &m, &used);
        if (e == SIMLINE_ERR_INCOMPLETE)
            break;
        if (e != SIMLINE_OK) {
            simline_port_down(p, simline_err_str(e));
            return -1;
        }
        bool taken = true;
        switch (m.type) {
        case SIMLINE_IO:
            /* More characters than the whole queue holds never fit: no card
             * sends them (a T=1 block or a T=0 answer is under 260), so the
             * card process is broken; say so rather than wait for room. */
            if (m.u.io.n > p->char_cap) {
                simline_port_down(p, "a card record longer than the reader's character queue");
                return -1;
            }
            taken = queue_io(p, &m);
            if (!taken)
                p->stats.overruns++;
            break;
        case SIMLINE_SYNC:
            if (p->outstanding > 0)
                p->outstanding--;
            break;
        case SIMLINE_PRESENCE:
            if (m.u.present && !p->present)
                p->insertions++;
            if (!m.u.present)
                drop_queue(p);
            p->present = m.u.present;
            break;
        default: simline_port_down(p, "unexpected record from the card"); return -1;
        }
        if (!taken)
            break; /* the record waits until the queue has room */
        off += used;
    }
    memmove(p->in, p->in + off, p->in_len - off);
    p->in_len -= off;
    return (long)off;
}

/* Decodes what is buffered, and reads only when that brought nothing: 1 if
 * anything came or was decoded, 0 if not, -1 when the line is down. A record
 * left waiting for queue room is decoded before any read, because a board's
 * read may block until the card sends again (the STM32 board sleeps until a
 * byte arrives) and a card that has said all it will (its SYNC behind that
 * record) never does. */
static long pump(struct simline_port *p, int wait_ms)
{
    if (!p->up)
        return -1;
    long d = decode_in(p);
    if (d != 0)
        return d > 0 ? 1 : -1;
    long r = 0;
    if (p->in_len < p->in_cap) {
        r = p->ops.read(p->ctx, p->in + p->in_len, p->in_cap - p->in_len, wait_ms);
        if (r < 0) {
            simline_port_down(p, "the card line closed");
            return -1;
        }
        p->in_len += (size_t)r;
    }
    d = decode_in(p);
    if (d < 0)
        return -1;
    return r > 0 || d > 0 ? 1 : 0;
}

void simline_port_pump(struct simline_port *p, int wait_ms)
{
    pump(p, wait_ms);
}

/* ---- sending -------------------------------------------------------------- */

static void send_record(struct simline_port *p, const struct simline_msg *m, uint8_t *buf,
                        size_t cap)
{
    size_t n;
    if (!p->up || simline_encode(m, buf, cap, &n) != SIMLINE_OK)
        return;
    if (!p->ops.write(p->ctx, buf, n)) {
        simline_port_down(p, "the card line closed");
        return;
    }
    p->outstanding++;
}

static void send_simple(struct simline_port *p, enum simline_type type, uint32_t value)
{
    uint8_t buf[SIMLINE_HEADER_SIZE + 8];
    struct simline_msg m = {.type = type, .t_ns = p->now_ns};
    switch (type) {
    case SIMLINE_VCC: m.u.vcc_mv = (uint16_t)value; break;
    case SIMLINE_CLK: m.u.clk_hz = value; break;
    case SIMLINE_RST: m.u.rst_level = (uint8_t)value; break;
    default: return;
    }
    send_record(p, &m, buf, sizeof buf);
}

void simline_port_vcc(struct simline_port *p, unsigned vcc_class)
{
    static const uint16_t millivolts[] = {0, 1800, 3000, 5000};
    p->vcc = vcc_class < 4 ? vcc_class : 0;
    send_simple(p, SIMLINE_VCC, millivolts[p->vcc]);
    if (p->vcc == 0)
        drop_queue(p);
}

void simline_port_clk(struct simline_port *p, uint32_t hz)
{
    p->clk_hz = hz;
    p->etu_ps = simline_etu_ps(p->fi, p->di, hz);
    send_simple(p, SIMLINE_CLK, hz);
}

void simline_port_rst(struct simline_port *p, bool high)
{
    send_simple(p, SIMLINE_RST, high);
}

void simline_port_configure(struct simline_port *p, unsigned fi, unsigned di, unsigned char_etu,
                            bool t0_error_signal, bool inverse)
{
    p->fi = fi;
    p->di = di;
    p->char_etu = char_etu;
    p->t0_error_signal = t0_error_signal;
    p->inverse = inverse;
    p->etu_ps = simline_etu_ps(fi, di, p->clk_hz);
}

static uint8_t to_line(const struct simline_port *p, uint8_t v)
{
    return p->inverse ? atr_inverse_byte(v) : v;
}

void simline_port_send(struct simline_port *p, const uint8_t *chars, size_t n)
{
    /* tx: the characters as they go on the line (a duplicate takes two) and
     * their flags; each call is one record per chunk. */
    size_t chunk = p->send_chunk;
    uint8_t *raw = p->tx, *flags = p->tx + 2 * chunk;
    uint64_t char_ns = (uint64_t)p->etu_ps * p->char_etu / 1000;

    while (n > 0 && chunk > 0) {
        size_t take = n < chunk ? n : chunk, k = 0;
        for (size_t i = 0; i < take; i++) {
            unsigned f = fault_for_char(p);
            uint8_t r = to_line(p, chars[i]);
            if (f && p->ops.trace)
                p->ops.trace(p->ctx, "tx fault", p->now_ns, &chars[i], NULL, 1, f);
            if (f == SIMLINE_FAULT_DROP)
                continue;
            if (f == SIMLINE_FAULT_FLIP && p->t0_error_signal) {
                /* T=0 (§7.3): the card signals the error and we repeat the
                 * character: it arrives intact, two character times late. */
                p->now_ns += 2 * char_ns;
                f = 0;
            }
            raw[k] = r;
            flags[k++] = f == SIMLINE_FAULT_FLIP ? SIMLINE_CHAR_PARITY_ERROR : 0;
            if (f == SIMLINE_FAULT_DUP) {
                raw[k] = r;
                flags[k++] = 0;
            }
        }
        for (size_t off = 0; off < k;) {
            struct simline_msg m = {.type = SIMLINE_IO, .t_ns = p->now_ns};
            size_t part = k - off < SIMLINE_MAX_IO ? k - off : SIMLINE_MAX_IO;
            m.u.io.etu_ps = p->etu_ps;
            m.u.io.char_etu = (uint16_t)p->char_etu;
            m.u.io.n = (uint16_t)part;
            uint8_t head[SIMLINE_IO_HEAD_SIZE];
            if (p->up && simline_encode_io_head(&m, head) != SIMLINE_OK) {
                /* No clock, no rate or a character time no ATR gives: the
                 * characters cannot exist on the line. Dropping them made
                 * the card look mute (the 266-etu bug); say it instead. */
                simline_port_down(p, "the reader's line settings cannot carry a character");
            } else if (p->up) {
                if (p->ops.write(p->ctx, head, sizeof head) &&
                    p->ops.write(p->ctx, raw + off, part) &&
                    p->ops.write(p->ctx, flags + off, part))
                    p->outstanding++;
                else
                    simline_port_down(p, "the card line closed");
            }
            if (p->ops.trace)
                p->ops.trace(p->ctx, "tx", p->now_ns, raw + off, flags + off, part, 0);
            advance_to(p, p->now_ns + part * char_ns);
            p->stats.chars_to_card += part;
            p->stats.line_ns += part * char_ns;
            off += part;
        }
        chars += take;
        n -= take;
    }
}

/* The receiving UART samples at its own ETU: 7816-3 §7.1 allows the card's
 * clock-derived ETU to differ only slightly; a different Fi/Di reads as garbage. */
static bool etu_matches(const struct simline_port *p, uint32_t theirs)
{
    uint64_t a = theirs, b = p->etu_ps;
    uint64_t d = a > b ? a - b : b - a;
    return d * 50 <= b;
}

enum simline_rx simline_port_recv(struct simline_port *p, uint8_t *c, uint64_t deadline_ns)
{
    for (;;) {
        if (!p->up || !p->present || p->vcc == 0)
            return SIMLINE_RX_REMOVED;
        if (p->char_count > 0) {
            struct simline_port_rec *r = &p->recs[p->rec_head];
            uint8_t *q = &p->chars[2 * p->char_head];
            uint64_t char_ns = (uint64_t)r->etu_ps * r->char_etu / 1000;
            uint64_t t =
                r->t_ns + (uint64_t)r->etu_ps * r->char_etu * r->next / 1000 + p->dup_delay_ns;
            if (t > deadline_ns) {
                advance_to(p, deadline_ns);
                return SIMLINE_RX_TIMEOUT;
            }
            uint8_t raw = q[0], cflags = q[1];
            uint32_t etu_ps = r->etu_ps;
            unsigned f = fault_for_char(p);
            if (f == SIMLINE_FAULT_DUP) {
                /* The same character again, one character time later. */
                p->dup_delay_ns += char_ns;
            } else {
                p->dup_delay_ns = 0;
                p->char_head = (p->char_head + 1) % p->char_cap;
                p->char_count--;
                if (++r->next == r->n) {
                    p->rec_head = (p->rec_head + 1) % p->rec_cap;
                    p->rec_count--;
                }
            }
            advance_to(p, (t > p->now_ns ? t : p->now_ns) + char_ns);
            if (p->ops.trace)
                p->ops.trace(p->ctx, "rx", t, &raw, &cflags, 1, f);
            if (f == SIMLINE_FAULT_DROP)
                continue;
            if (f == SIMLINE_FAULT_FLIP && p->t0_error_signal) {
                advance_to(p, p->now_ns + 2 * char_ns); /* signalled and repeated */
                f = 0;
            }
            if (!etu_matches(p, etu_ps)) {
                *c = (uint8_t)(raw ^ 0xA5);
                return SIMLINE_RX_PARITY_ERROR;
            }
            *c = p->inverse ? atr_inverse_byte(raw) : raw;
            if (f == SIMLINE_FAULT_FLIP) {
                *c ^= (uint8_t)(1u << (prng(p) % 8));
                return SIMLINE_RX_PARITY_ERROR;
            }
            return (cflags & SIMLINE_CHAR_PARITY_ERROR) ? SIMLINE_RX_PARITY_ERROR : SIMLINE_RX_OK;
        }
        if (p->outstanding == 0) {
            /* The card has said it is quiet: nothing can come before the deadline. */
            advance_to(p, deadline_ns);
            return SIMLINE_RX_TIMEOUT;
        }
        /* A card that never answers is a broken simulation, not a slow card. */
        if (pump(p, p->cfg.stall_ms) == 0 && p->present)
            simline_port_down(p, "no answer from the card process");
    }
}

void simline_port_flush(struct simline_port *p)
{
    simline_port_pump(p, 0);
    drop_queue(p);
}

bool simline_port_present(struct simline_port *p)
{
    simline_port_pump(p, 0);
    return p->up && p->present;
}

uint32_t simline_port_insertions(struct simline_port *p)
{
    simline_port_pump(p, 0);
    return p->insertions;
}

void simline_port_delay(struct simline_port *p, uint64_t ns)
{
    advance_to(p, p->now_ns + ns);
    simline_port_pump(p, 0);
}

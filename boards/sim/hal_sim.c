/* The sim board's HAL: every function of firmware/hal/ over two sockets. */
#define _GNU_SOURCE /* accept4 */
#include "sim_board.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "hal/board.h"
#include "hal/flash.h"
#include "hal/host_link.h"
#include "hal/rng.h"
#include "hal/timer.h"
#include "hal/uart_sc.h"
#include "hawiya/atr.h"
#include "hawiya/simline.h"
#include "usb_ccid.h"

#define RXQ_SIZE 8192u /* characters buffered from the card, a power of two */

struct rx_char {
    uint64_t t_ns;
    uint32_t etu_ps;
    uint8_t raw, flags, char_etu;
};

/* The board is the one place where the firmware has global state. */
static struct {
    struct sim_config cfg;
    int card_fd, listen_fd, host_fd;

    uint64_t now_ns;
    struct timespec wall_start;

    uint8_t in[2 * (SIMLINE_HEADER_SIZE + SIMLINE_MAX_PAYLOAD)];
    size_t in_len;
    struct rx_char rxq[RXQ_SIZE];
    unsigned rx_head, rx_count;
    unsigned outstanding; /* records sent to the card not yet answered by SYNC */
    bool present;
    uint32_t insertions;

    enum sc_class vcc;
    uint32_t clk_hz;
    struct sc_line_config line;
    uint32_t etu_ps;

    uint64_t rng_state;
    struct sim_line_stats stats;
    struct usb_ccid *usb; /* usbredir mode: the host link is this USB device */
} S = {.card_fd = -1, .listen_fd = -1, .host_fd = -1};

/* HAWIYA_SIM_TRACE=1 in the environment: every character and fault on stderr. */
static bool trace;

static void sim_log(const char *what, const char *detail)
{
    fprintf(stderr, "sim-board: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
}

/* ---- simulated time ------------------------------------------------------ */

static void advance_to(uint64_t t_ns)
{
    if (t_ns <= S.now_ns)
        return;
    S.now_ns = t_ns;
    if (!S.cfg.realtime)
        return;
    /* Sleep until the wall clock has caught up with simulated time. */
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    int64_t wall = (int64_t)(now.tv_sec - S.wall_start.tv_sec) * 1000000000 +
                   (now.tv_nsec - S.wall_start.tv_nsec);
    int64_t ahead = (int64_t)S.now_ns - wall;
    /* Sleep in slices of a few ms, not per character: the demo's timing stays
     * true to a millisecond and the board's CPU time stays the firmware's. */
    if (ahead > 2000000) {
        struct timespec d = {.tv_sec = ahead / 1000000000, .tv_nsec = ahead % 1000000000};
        nanosleep(&d, NULL);
    }
}

uint64_t hal_now_ns(void)
{
    return S.now_ns;
}

uint64_t hal_cpu_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* ---- fault injection (xorshift64*, seeded, so a failing run can be replayed) */

static uint64_t prng(void)
{
    uint64_t x = S.rng_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    S.rng_state = x;
    return x * 0x2545F4914F6CDD1Dull;
}

/* Which fault hits this character: 0 or one SIM_FAULT_* bit. */
static unsigned fault_for_char(void)
{
    if (S.cfg.fault_rate <= 0 || S.cfg.fault_kinds == 0)
        return 0;
    if ((double)(prng() >> 11) / (double)(1ull << 53) >= S.cfg.fault_rate)
        return 0;
    unsigned kinds[3], n = 0;
    for (unsigned k = SIM_FAULT_FLIP; k <= SIM_FAULT_DUP; k <<= 1)
        if (S.cfg.fault_kinds & k)
            kinds[n++] = k;
    S.stats.faults++;
    return kinds[prng() % n];
}

/* ---- the card socket ---------------------------------------------------- */

static void card_disconnect(const char *why)
{
    if (S.card_fd >= 0) {
        sim_log("card line closed", why);
        close(S.card_fd);
    }
    S.card_fd = -1;
    S.present = false;
    S.outstanding = 0;
    S.rx_count = 0;
    S.in_len = 0;
}

static int connect_unix(const char *path)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof a.sun_path)
        return -1;
    strcpy(a.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void queue_io(const struct simline_msg *m)
{
    for (size_t i = 0; i < m->u.io.n; i++) {
        if (S.rx_count == RXQ_SIZE) {
            sim_log("receive overrun", "characters dropped");
            return;
        }
        struct rx_char *c = &S.rxq[(S.rx_head + S.rx_count++) % RXQ_SIZE];
        c->t_ns = simline_char_time_ns(m, i);
        c->etu_ps = m->u.io.etu_ps;
        c->char_etu = m->u.io.char_etu;
        c->raw = m->u.io.chars[i];
        c->flags = m->u.io.flags[i];
        S.stats.chars_from_card++;
        S.stats.line_ns += (uint64_t)c->etu_ps * c->char_etu / 1000;
    }
}

/* Reads what the card sent; blocks up to `wait_ms` (-1 = without limit) for the first byte. */
static void card_pump(int wait_ms)
{
    if (S.card_fd < 0)
        return;
    struct pollfd p = {.fd = S.card_fd, .events = POLLIN};
    if (poll(&p, 1, wait_ms) <= 0)
        return;
    ssize_t r = read(S.card_fd, S.in + S.in_len, sizeof S.in - S.in_len);
    if (r <= 0) {
        card_disconnect(r == 0 ? "peer closed" : strerror(errno));
        return;
    }
    S.in_len += (size_t)r;

    size_t off = 0;
    for (;;) {
        struct simline_msg m;
        size_t used;
        enum simline_err e = simline_decode(S.in + off, S.in_len - off, &m, &used);
        if (e == SIMLINE_ERR_INCOMPLETE)
            break;
        if (e != SIMLINE_OK) {
            card_disconnect(simline_err_str(e));
            return;
        }
        switch (m.type) {
        case SIMLINE_IO: queue_io(&m); break;
        case SIMLINE_SYNC:
            if (S.outstanding > 0)
                S.outstanding--;
            break;
        case SIMLINE_PRESENCE:
            if (m.u.present && !S.present)
                S.insertions++;
            if (!m.u.present)
                S.rx_count = 0;
            S.present = m.u.present;
            break;
        default: card_disconnect("unexpected record from the card"); return;
        }
        off += used;
    }
    memmove(S.in, S.in + off, S.in_len - off);
    S.in_len -= off;
}

static void card_send_record(const struct simline_msg *m)
{
    uint8_t buf[SIMLINE_HEADER_SIZE + SIMLINE_MAX_PAYLOAD];
    size_t n;
    if (S.card_fd < 0 || simline_encode(m, buf, sizeof buf, &n) != SIMLINE_OK)
        return;
    for (size_t off = 0; off < n;) {
        ssize_t w = send(S.card_fd, buf + off, n - off, MSG_NOSIGNAL);
        if (w <= 0) {
            card_disconnect(strerror(errno));
            return;
        }
        off += (size_t)w;
    }
    S.outstanding++;
}

static void card_send_simple(enum simline_type type, uint32_t value)
{
    struct simline_msg m = {.type = type, .t_ns = S.now_ns};
    switch (type) {
    case SIMLINE_VCC: m.u.vcc_mv = (uint16_t)value; break;
    case SIMLINE_CLK: m.u.clk_hz = value; break;
    case SIMLINE_RST: m.u.rst_level = (uint8_t)value; break;
    default: return;
    }
    card_send_record(&m);
}

/* ---- hal/uart_sc --------------------------------------------------------- */

unsigned hal_sc_classes(void)
{
    return S.cfg.classes;
}

void hal_sc_vcc(enum sc_class c)
{
    static const uint16_t millivolts[] = {0, 1800, 3000, 5000};
    S.vcc = c;
    card_send_simple(SIMLINE_VCC, millivolts[c]);
    if (c == SC_CLASS_OFF)
        S.rx_count = 0;
}

uint32_t hal_sc_clk_max(void)
{
    return S.cfg.clk_max_hz;
}

uint32_t hal_sc_clk(uint32_t hz)
{
    if (hz > S.cfg.clk_max_hz)
        hz = S.cfg.clk_max_hz;
    S.clk_hz = hz;
    S.etu_ps = simline_etu_ps(S.line.fi, S.line.di, S.clk_hz);
    card_send_simple(SIMLINE_CLK, hz);
    return hz;
}

void hal_sc_rst(bool high)
{
    card_send_simple(SIMLINE_RST, high);
}

void hal_sc_configure(const struct sc_line_config *cfg)
{
    S.line = *cfg;
    S.etu_ps = simline_etu_ps(cfg->fi, cfg->di, S.clk_hz);
}

static uint8_t to_line(uint8_t v)
{
    return S.line.convention == SC_CONVENTION_INVERSE ? atr_inverse_byte(v) : v;
}

void hal_sc_send(const uint8_t *chars, size_t n)
{
    uint8_t raw[SIMLINE_MAX_IO * 2], flags[SIMLINE_MAX_IO * 2];
    uint64_t char_ns = (uint64_t)S.etu_ps * S.line.char_etu / 1000;

    while (n > 0) {
        size_t take = n < SIMLINE_MAX_IO ? n : SIMLINE_MAX_IO, k = 0;
        for (size_t i = 0; i < take; i++) {
            unsigned f = fault_for_char();
            uint8_t r = to_line(chars[i]);
            if (trace && f)
                fprintf(stderr, "sim-trace: tx fault %u on %02X\n", f, chars[i]);
            if (f == SIM_FAULT_DROP)
                continue;
            if (f == SIM_FAULT_FLIP && S.line.t0_error_signal) {
                /* T=0 (§7.3): the card signals the error and we repeat the
                 * character: it arrives intact, two character times late. */
                S.now_ns += 2 * char_ns;
                f = 0;
            }
            raw[k] = r;
            flags[k++] = f == SIM_FAULT_FLIP ? SIMLINE_CHAR_PARITY_ERROR : 0;
            if (f == SIM_FAULT_DUP) {
                raw[k] = r;
                flags[k++] = 0;
            }
        }
        for (size_t off = 0; off < k;) {
            struct simline_msg m = {.type = SIMLINE_IO, .t_ns = S.now_ns};
            size_t part = k - off < SIMLINE_MAX_IO ? k - off : SIMLINE_MAX_IO;
            m.u.io.etu_ps = S.etu_ps;
            m.u.io.char_etu = (uint8_t)S.line.char_etu;
            m.u.io.n = (uint16_t)part;
            m.u.io.chars = raw + off;
            m.u.io.flags = flags + off;
            card_send_record(&m);
            if (trace) {
                fprintf(stderr, "sim-trace: %llu tx", (unsigned long long)S.now_ns);
                for (size_t j = 0; j < part; j++)
                    fprintf(stderr, " %02X%s", raw[off + j], flags[off + j] ? "!" : "");
                fprintf(stderr, "\n");
            }
            advance_to(S.now_ns + part * char_ns);
            S.stats.chars_to_card += part;
            S.stats.line_ns += part * char_ns;
            off += part;
        }
        chars += take;
        n -= take;
    }
}

/* The receiving UART samples at its own ETU: 7816-3 §7.1 allows the card's
 * clock-derived ETU to differ only slightly; a different Fi/Di reads as garbage. */
static bool etu_matches(uint32_t theirs)
{
    uint64_t a = theirs, b = S.etu_ps;
    uint64_t d = a > b ? a - b : b - a;
    return d * 50 <= b;
}

enum sc_rx hal_sc_recv(uint8_t *c, uint64_t deadline_ns)
{
    for (;;) {
        if (S.card_fd < 0 || !S.present || S.vcc == SC_CLASS_OFF)
            return SC_RX_REMOVED;
        if (S.rx_count > 0) {
            struct rx_char *q = &S.rxq[S.rx_head];
            if (q->t_ns > deadline_ns) {
                advance_to(deadline_ns);
                return SC_RX_TIMEOUT;
            }
            struct rx_char ch = *q;
            uint64_t char_ns = (uint64_t)ch.etu_ps * ch.char_etu / 1000;
            unsigned f = fault_for_char();
            if (f == SIM_FAULT_DUP) {
                /* The same character again, one character time later. */
                q->t_ns += char_ns;
            } else {
                S.rx_head = (S.rx_head + 1) % RXQ_SIZE;
                S.rx_count--;
            }
            advance_to((ch.t_ns > S.now_ns ? ch.t_ns : S.now_ns) + char_ns);
            if (trace)
                fprintf(stderr, "sim-trace: %llu rx %02X%s fault %u\n", (unsigned long long)ch.t_ns,
                        ch.raw, ch.flags ? "!" : "", f);
            if (f == SIM_FAULT_DROP)
                continue;
            if (f == SIM_FAULT_FLIP && S.line.t0_error_signal) {
                advance_to(S.now_ns + 2 * char_ns); /* signalled and repeated */
                f = 0;
            }
            if (!etu_matches(ch.etu_ps)) {
                *c = (uint8_t)(ch.raw ^ 0xA5);
                return SC_RX_PARITY_ERROR;
            }
            *c = S.line.convention == SC_CONVENTION_INVERSE ? atr_inverse_byte(ch.raw) : ch.raw;
            if (f == SIM_FAULT_FLIP) {
                *c ^= (uint8_t)(1u << (prng() % 8));
                return SC_RX_PARITY_ERROR;
            }
            return (ch.flags & SIMLINE_CHAR_PARITY_ERROR) ? SC_RX_PARITY_ERROR : SC_RX_OK;
        }
        if (S.outstanding == 0) {
            /* The card has said it is quiet: nothing can come before the deadline. */
            advance_to(deadline_ns);
            return SC_RX_TIMEOUT;
        }
        /* A card that never answers is a broken simulation, not a slow card. */
        unsigned before = S.outstanding;
        size_t before_rx = S.rx_count;
        card_pump(30000);
        if (S.card_fd >= 0 && S.outstanding == before && S.rx_count == before_rx && S.present)
            card_disconnect("no answer from the card process for 30 s");
    }
}

void hal_sc_flush(void)
{
    card_pump(0);
    S.rx_count = 0;
}

bool hal_sc_present(void)
{
    card_pump(0);
    return S.card_fd >= 0 && S.present;
}

uint32_t hal_sc_insertions(void)
{
    card_pump(0);
    return S.insertions;
}

void hal_delay_ns(uint64_t ns)
{
    advance_to(S.now_ns + ns);
    card_pump(0);
}

/* ---- hal/host_link ------------------------------------------------------- */

static void host_accept(void)
{
    int fd = accept4(S.listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0)
        return;
    if (S.host_fd >= 0) {
        /* One host at a time, as on USB. */
        close(fd);
        return;
    }
    S.host_fd = fd;
}

void sim_board_use_usb(struct usb_ccid *u)
{
    S.usb = u;
}

bool hal_host_connected(void)
{
    if (S.usb)
        return usb_ccid_host_connected(S.usb);
    if (S.host_fd < 0)
        host_accept();
    return S.host_fd >= 0;
}

enum host_rx hal_host_recv(uint8_t *buf, size_t cap, size_t *n)
{
    if (S.usb)
        return usb_ccid_host_recv(S.usb, buf, cap, n);
    *n = 0;
    if (S.host_fd < 0) {
        host_accept();
        if (S.host_fd < 0)
            return HOST_RX_IDLE;
    }
    ssize_t r = read(S.host_fd, buf, cap);
    if (r > 0) {
        *n = (size_t)r;
        return HOST_RX_OK;
    }
    if (r < 0 && (errno == EAGAIN || errno == EINTR))
        return HOST_RX_IDLE;
    close(S.host_fd);
    S.host_fd = -1;
    return HOST_RX_CLOSED;
}

static void host_write(const uint8_t *msg, size_t n)
{
    for (size_t off = 0; S.host_fd >= 0 && off < n;) {
        ssize_t w = send(S.host_fd, msg + off, n - off, MSG_NOSIGNAL);
        if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
            struct pollfd p = {.fd = S.host_fd, .events = POLLOUT};
            if (poll(&p, 1, 5000) > 0)
                continue;
        }
        if (w <= 0) {
            close(S.host_fd);
            S.host_fd = -1;
            return;
        }
        off += (size_t)w;
    }
}

void hal_host_send(const uint8_t *msg, size_t n)
{
    if (S.usb)
        usb_ccid_host_send(S.usb, msg, n);
    else
        host_write(msg, n);
}

void hal_host_notify(const uint8_t *msg, size_t n)
{
    if (S.usb)
        usb_ccid_host_notify(S.usb, msg, n);
    else
        host_write(msg, n);
}

/* ---- hal/board ------------------------------------------------------------ */

void hal_idle(uint32_t max_ms)
{
    struct pollfd p[2];
    int n = 0;
    if (S.card_fd < 0) {
        /* The card process may come back (a test restarting it). */
        S.card_fd = connect_unix(S.cfg.card_path);
    }
    if (S.card_fd >= 0)
        p[n++] = (struct pollfd){.fd = S.card_fd, .events = POLLIN};
    int host = n;
    if (S.cfg.usbredir)
        p[n++] = (struct pollfd){.fd = sim_usbredir_fd(), .events = POLLIN};
    else
        p[n++] = (struct pollfd){.fd = S.host_fd >= 0 ? S.host_fd : S.listen_fd, .events = POLLIN};
    if (poll(p, (nfds_t)n, (int)max_ms) <= 0)
        return;
    if (S.card_fd >= 0 && (p[0].revents & (POLLIN | POLLHUP)))
        card_pump(0);
    if (S.cfg.usbredir) {
        if (p[host].revents & (POLLIN | POLLHUP | POLLERR))
            sim_usbredir_service(true);
        return;
    }
    if (S.host_fd < 0)
        host_accept();
}

const char *hal_board_name(void)
{
    return "sim";
}

/* ---- hal/flash: one file per record, replaced atomically by rename ------- */

static const char *const record_files[] = {"device_key.der", "device_cert.der", "counter"};

static int record_path(enum flash_record r, char *path, size_t cap, const char *suffix)
{
    int k = snprintf(path, cap, "%s/%s%s", S.cfg.state_dir, record_files[r], suffix);
    return k > 0 && (size_t)k < cap ? 0 : -1;
}

bool hal_flash_read(enum flash_record r, uint8_t *buf, size_t cap, size_t *n)
{
    char path[4096];
    *n = 0;
    if ((unsigned)r > FLASH_COUNTER || record_path(r, path, sizeof path, "") < 0)
        return false;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t k = read(fd, buf, cap);
    close(fd);
    if (k < 0)
        return false;
    *n = (size_t)k;
    return true;
}

bool hal_flash_write(enum flash_record r, const uint8_t *buf, size_t n)
{
    char path[4096], tmp[4096];
    if ((unsigned)r > FLASH_COUNTER || record_path(r, path, sizeof path, "") < 0 ||
        record_path(r, tmp, sizeof tmp, ".tmp") < 0)
        return false;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return false;
    bool ok = write(fd, buf, n) == (ssize_t)n && fsync(fd) == 0;
    close(fd);
    return ok && rename(tmp, path) == 0;
}

/* ---- hal/rng --------------------------------------------------------------- */

bool hal_rng(uint8_t *buf, size_t n)
{
    while (n > 0) {
        ssize_t k = getrandom(buf, n, 0);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return false;
        buf += k;
        n -= (size_t)k;
    }
    return true;
}

/* ---- start and stop ------------------------------------------------------- */

void sim_line_stats(struct sim_line_stats *s, bool reset)
{
    *s = S.stats;
    if (reset)
        memset(&S.stats, 0, sizeof S.stats);
}

int sim_board_init(const struct sim_config *cfg)
{
    S.cfg = *cfg;
    trace = getenv("HAWIYA_SIM_TRACE") != NULL;
    S.rng_state = cfg->fault_seed ? cfg->fault_seed : 0x9E3779B97F4A7C15ull;
    S.line = (struct sc_line_config){.fi = 372, .di = 1, .char_etu = 12};
    clock_gettime(CLOCK_MONOTONIC, &S.wall_start);

    if (cfg->state_dir)
        mkdir(cfg->state_dir, 0700);

    /* hawiya-vcard may still be starting: retry for 5 s. */
    for (int i = 0; i < 100 && S.card_fd < 0; i++) {
        S.card_fd = connect_unix(cfg->card_path);
        if (S.card_fd < 0)
            usleep(50000);
    }
    if (S.card_fd < 0) {
        fprintf(stderr, "sim-board: cannot connect to the card line %s: %s\n", cfg->card_path,
                strerror(errno));
        return -1;
    }

    if (cfg->usbredir) {
        if (sim_usbredir_listen(cfg->usbredir) < 0)
            return -1;
        card_pump(1000);
        return 0;
    }
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    /* Listening under a temporary name first: whoever sees the socket can connect. */
    if (strlen(cfg->host_path) + 4 >= sizeof a.sun_path) {
        fprintf(stderr, "sim-board: host socket path too long\n");
        return -1;
    }
    snprintf(a.sun_path, sizeof a.sun_path, "%s.new", cfg->host_path);
    unlink(a.sun_path);
    unlink(cfg->host_path);
    S.listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (S.listen_fd < 0 || bind(S.listen_fd, (struct sockaddr *)&a, sizeof a) < 0 ||
        listen(S.listen_fd, 4) < 0 || rename(a.sun_path, cfg->host_path) < 0) {
        fprintf(stderr, "sim-board: cannot listen on %s: %s\n", cfg->host_path, strerror(errno));
        return -1;
    }
    /* The card reports its presence as soon as it accepts the connection. */
    card_pump(1000);
    return 0;
}

void sim_board_close(void)
{
    if (S.card_fd >= 0)
        close(S.card_fd);
    if (S.host_fd >= 0)
        close(S.host_fd);
    if (S.listen_fd >= 0) {
        close(S.listen_fd);
        unlink(S.cfg.host_path);
    }
    if (S.cfg.usbredir)
        sim_usbredir_close();
    S.card_fd = S.host_fd = S.listen_fd = -1;
}

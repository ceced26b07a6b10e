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
#include "hawiya/simline_port.h"
#include "usb_ccid.h"

#define RX_CHARS 8192u /* characters buffered from the card */
#define RX_RECS  256u

/* The board is the one place where the firmware has global state. */
static struct {
    struct sim_config cfg;
    int card_fd, listen_fd, host_fd;
    struct timespec wall_start;

    struct simline_port line;
    uint8_t in[2 * SIMLINE_RECORD_MAX];
    struct simline_port_rec recs[RX_RECS];
    uint8_t chars[2 * RX_CHARS];
    uint8_t tx[SIMLINE_PORT_TX_SIZE(SIMLINE_MAX_IO)];
    struct usb_ccid *usb; /* usbredir mode: the host link is this USB device */
} S = {.card_fd = -1, .listen_fd = -1, .host_fd = -1};

/* HAWIYA_SIM_TRACE=1 in the environment: every character and fault on stderr. */
static bool trace;

static void sim_log(const char *what, const char *detail)
{
    fprintf(stderr, "sim-board: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
}

/* ---- simulated time ------------------------------------------------------ */

/* Sleeps until the wall clock has caught up with simulated time (--realtime). */
static void line_advanced(void *ctx, uint64_t now_ns)
{
    (void)ctx;
    if (!S.cfg.realtime)
        return;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    int64_t wall = (int64_t)(now.tv_sec - S.wall_start.tv_sec) * 1000000000 +
                   (now.tv_nsec - S.wall_start.tv_nsec);
    int64_t ahead = (int64_t)now_ns - wall;
    /* Simulated time stands still while the reader idles: once it has fallen
     * behind the wall clock, pace from here on, or every session after the
     * first would run at full speed (the desk page shows the steps live). */
    if (ahead < -20000000) {
        int64_t ns = S.wall_start.tv_nsec - ahead % 1000000000;
        S.wall_start.tv_sec += -ahead / 1000000000 + ns / 1000000000;
        S.wall_start.tv_nsec = ns % 1000000000;
        return;
    }
    /* Sleep in slices of a few ms, not per character: the demo's timing stays
     * true to a millisecond and the board's CPU time stays the firmware's. */
    if (ahead > 2000000) {
        struct timespec d = {.tv_sec = ahead / 1000000000, .tv_nsec = ahead % 1000000000};
        nanosleep(&d, NULL);
    }
}

uint64_t hal_now_ns(void)
{
    return S.line.now_ns;
}

uint64_t hal_cpu_instructions(void)
{
    return 0; /* a process cannot count its instructions exactly */
}

uint64_t hal_cpu_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* ---- the card socket ---------------------------------------------------- */

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

static bool line_write(void *ctx, const uint8_t *p, size_t n)
{
    (void)ctx;
    for (size_t off = 0; off < n;) {
        ssize_t w = send(S.card_fd, p + off, n - off, MSG_NOSIGNAL);
        if (w <= 0)
            return false;
        off += (size_t)w;
    }
    return true;
}

static long line_read(void *ctx, uint8_t *buf, size_t cap, int wait_ms)
{
    (void)ctx;
    struct pollfd p = {.fd = S.card_fd, .events = POLLIN};
    if (poll(&p, 1, wait_ms) <= 0)
        return 0;
    ssize_t r = read(S.card_fd, buf, cap);
    return r > 0 ? (long)r : -1;
}

static void line_closed(void *ctx, const char *why)
{
    (void)ctx;
    sim_log("card line closed", why);
    if (S.card_fd >= 0)
        close(S.card_fd);
    S.card_fd = -1;
}

static void line_trace(void *ctx, const char *what, uint64_t t_ns, const uint8_t *chars,
                       const uint8_t *flags, size_t n, unsigned fault)
{
    (void)ctx;
    if (!trace)
        return;
    if (!strcmp(what, "tx fault")) {
        fprintf(stderr, "sim-trace: tx fault %u on %02X\n", fault, chars[0]);
        return;
    }
    fprintf(stderr, "sim-trace: %llu %s", (unsigned long long)t_ns, what);
    for (size_t j = 0; j < n; j++)
        fprintf(stderr, " %02X%s", chars[j], flags && flags[j] ? "!" : "");
    if (!strcmp(what, "rx"))
        fprintf(stderr, " fault %u", fault);
    fprintf(stderr, "\n");
}

static const struct simline_port_ops line_ops = {
    .write = line_write,
    .read = line_read,
    .closed = line_closed,
    .advanced = line_advanced,
    .trace = line_trace,
};

/* ---- hal/uart_sc --------------------------------------------------------- */

unsigned hal_sc_classes(void)
{
    return S.cfg.classes;
}

void hal_sc_vcc(enum sc_class c)
{
    simline_port_vcc(&S.line, (unsigned)c);
}

uint32_t hal_sc_clk_max(void)
{
    return S.cfg.clk_max_hz;
}

uint32_t hal_sc_clk(uint32_t hz)
{
    if (hz > S.cfg.clk_max_hz)
        hz = S.cfg.clk_max_hz;
    simline_port_clk(&S.line, hz);
    return hz;
}

void hal_sc_rst(bool high)
{
    simline_port_rst(&S.line, high);
}

void hal_sc_configure(const struct sc_line_config *cfg)
{
    simline_port_configure(&S.line, cfg->fi, cfg->di, cfg->char_etu, cfg->t0_error_signal,
                           cfg->convention == SC_CONVENTION_INVERSE);
}

void hal_sc_send(const uint8_t *chars, size_t n)
{
    simline_port_send(&S.line, chars, n);
}

enum sc_rx hal_sc_recv(uint8_t *c, uint64_t deadline_ns)
{
    switch (simline_port_recv(&S.line, c, deadline_ns)) {
    case SIMLINE_RX_OK: return SC_RX_OK;
    case SIMLINE_RX_PARITY_ERROR: return SC_RX_PARITY_ERROR;
    case SIMLINE_RX_TIMEOUT: return SC_RX_TIMEOUT;
    case SIMLINE_RX_REMOVED: break;
    }
    return SC_RX_REMOVED;
}

void hal_sc_flush(void)
{
    simline_port_flush(&S.line);
}

bool hal_sc_present(void)
{
    return simline_port_present(&S.line);
}

uint32_t hal_sc_insertions(void)
{
    return simline_port_insertions(&S.line);
}

void hal_delay_ns(uint64_t ns)
{
    simline_port_delay(&S.line, ns);
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
        if (S.card_fd >= 0)
            simline_port_up(&S.line);
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
        simline_port_pump(&S.line, 0);
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
    *s = (struct sim_line_stats){.chars_to_card = S.line.stats.chars_to_card,
                                 .chars_from_card = S.line.stats.chars_from_card,
                                 .line_ns = S.line.stats.line_ns,
                                 .faults = S.line.stats.faults};
    if (reset)
        memset(&S.line.stats, 0, sizeof S.line.stats);
}

int sim_board_init(const struct sim_config *cfg)
{
    S.cfg = *cfg;
    trace = getenv("HAWIYA_SIM_TRACE") != NULL;
    const struct simline_port_config pc = {.fault_rate = cfg->fault_rate,
                                           .fault_seed = cfg->fault_seed,
                                           .fault_kinds = cfg->fault_kinds,
                                           .stall_ms = 30000};
    const struct simline_port_buffers pb = {.in = S.in,
                                            .in_cap = sizeof S.in,
                                            .recs = S.recs,
                                            .rec_cap = RX_RECS,
                                            .chars = S.chars,
                                            .char_cap = RX_CHARS,
                                            .tx = S.tx,
                                            .tx_cap = sizeof S.tx};
    simline_port_init(&S.line, &line_ops, NULL, &pc, &pb);
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
    simline_port_up(&S.line);

    if (cfg->usbredir) {
        if (sim_usbredir_listen(cfg->usbredir) < 0)
            return -1;
        simline_port_pump(&S.line, 1000);
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
    simline_port_pump(&S.line, 1000);
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

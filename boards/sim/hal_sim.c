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
#include "safe_path.h"

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
    uint32_t host_attachments;
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

void sim_advance_to(uint64_t t_ns)
{
    if (t_ns > S.line.now_ns)
        simline_port_delay(&S.line, t_ns - S.line.now_ns);
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
    S.host_attachments++;
}

uint32_t hal_host_attachments(void)
{
    return S.host_attachments;
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
    struct timespec w0, w1;
    clock_gettime(CLOCK_MONOTONIC, &w0);
    sim_rf_idle();
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
    int ready = poll(p, (nfds_t)n, (int)max_ms);
    if (sim_rf_configured()) {
        /* An antenna is polled in time: idle time passes for it too (the
         * card line needs no such thing, its switch calls). */
        clock_gettime(CLOCK_MONOTONIC, &w1);
        int64_t waited = (int64_t)(w1.tv_sec - w0.tv_sec) * 1000000000 + (w1.tv_nsec - w0.tv_nsec);
        if (ready <= 0)
            waited = (int64_t)max_ms * 1000000;
        if (waited > 0)
            simline_port_delay(&S.line, (uint64_t)waited);
    }
    if (ready <= 0)
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

bool hal_memory(struct hal_memory *m)
{
    (void)m;
    return false; /* a process: its RSS says more (bench_bridge) */
}

const char *hal_board_name(void)
{
    return "sim";
}

/* ---- hal/flash: a flash image and an OTP image in the state directory --- */

/*
 * The state directory stands in for the chip: flash.img (SIM_FLASH_SECTORS x
 * SIM_FLASH_SECTOR bytes, as the STM32F405's two 16 KiB sectors) and
 * otp.img (SIM_OTP_SIZE bytes, as its OTP area). The board makes both, all
 * 0xFF, only when it makes the directory itself (a new chip); a directory
 * that exists without them, or with files of another size or kind, or
 * that anyone else can write, is a flash that cannot be used: the firmware
 * then reports its state, it never starts a new identity. Files are opened
 * relative to the directory without following symlinks, made with O_EXCL
 * under a temporary name and renamed into place without replacing anything.
 * Without --state the flash is RAM, for one run.
 */
#define SIM_FLASH_SECTOR  16384u
#define SIM_FLASH_SECTORS 2u
#define SIM_FLASH_BYTES   (SIM_FLASH_SECTOR * SIM_FLASH_SECTORS)
#define SIM_OTP_SIZE      512u
#define SIM_PROG_UNIT     8u

static struct {
    bool usable;  /* the flash can be used */
    int flash_fd; /* -1: RAM */
    int otp_fd;   /* -1: RAM, or no OTP (otp_ok false) */
    bool otp_ok;
    uint8_t ram[SIM_FLASH_BYTES], otp_ram[SIM_OTP_SIZE];
} F = {.flash_fd = -1, .otp_fd = -1};

static bool io_at(int fd, bool write, uint8_t *buf, size_t n, off_t off)
{
    while (n > 0) {
        ssize_t k = write ? pwrite(fd, buf, n, off) : pread(fd, buf, n, off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return false;
        buf += k;
        n -= (size_t)k;
        off += k;
    }
    return true;
}

/* Reads or writes the flash (otp false) or OTP image. */
static bool image_io(bool otp, bool write, uint8_t *buf, size_t n, size_t off)
{
    int fd = otp ? F.otp_fd : F.flash_fd;
    uint8_t *ram = otp ? F.otp_ram : F.ram;
    if (fd < 0) {
        if (write)
            memcpy(ram + off, buf, n);
        else
            memcpy(buf, ram + off, n);
        return true;
    }
    /* Written through to the disk before the firmware goes on: the counter
     * must be on disk before the signature leaves. */
    return io_at(fd, write, buf, n, (off_t)off) && (!write || fdatasync(fd) == 0);
}

bool hal_flash_info(struct hal_flash_info *info)
{
    if (!F.usable)
        return false;
    *info = (struct hal_flash_info){.sector_size = SIM_FLASH_SECTOR,
                                    .sectors = SIM_FLASH_SECTORS,
                                    .prog_unit = SIM_PROG_UNIT,
                                    .otp_size = F.otp_ok ? SIM_OTP_SIZE : 0};
    return true;
}

static bool in_flash(uint32_t sector, uint32_t offset, size_t n)
{
    return F.usable && sector < SIM_FLASH_SECTORS && offset <= SIM_FLASH_SECTOR &&
           n <= SIM_FLASH_SECTOR - offset;
}

bool hal_flash_read(uint32_t sector, uint32_t offset, uint8_t *buf, size_t n)
{
    return in_flash(sector, offset, n) &&
           image_io(false, false, buf, n, (size_t)sector * SIM_FLASH_SECTOR + offset);
}

/* Programming needs erased bytes (what an ECC flash demands): a firmware bug
 * that writes over data fails here as it would on such a chip. */
static bool program(bool otp, const uint8_t *buf, size_t n, size_t off)
{
    uint8_t old[256];
    for (size_t done = 0; done < n;) {
        size_t k = n - done < sizeof old ? n - done : sizeof old;
        if (!image_io(otp, false, old, k, off + done))
            return false;
        for (size_t i = 0; i < k; i++)
            if (old[i] != 0xFF)
                return false;
        for (size_t i = 0; i < k; i++)
            old[i] &= buf[done + i];
        if (!image_io(otp, true, old, k, off + done))
            return false;
        done += k;
    }
    return true;
}

bool hal_flash_program(uint32_t sector, uint32_t offset, const uint8_t *buf, size_t n)
{
    if (!in_flash(sector, offset, n) || offset % SIM_PROG_UNIT || n % SIM_PROG_UNIT)
        return false;
    return program(false, buf, n, (size_t)sector * SIM_FLASH_SECTOR + offset);
}

bool hal_flash_erase(uint32_t sector)
{
    uint8_t ff[SIM_FLASH_SECTOR];
    if (!in_flash(sector, 0, SIM_FLASH_SECTOR))
        return false;
    memset(ff, 0xFF, sizeof ff);
    return image_io(false, true, ff, sizeof ff, (size_t)sector * SIM_FLASH_SECTOR);
}

bool hal_otp_read(uint32_t offset, uint8_t *buf, size_t n)
{
    return F.otp_ok && offset <= SIM_OTP_SIZE && n <= SIM_OTP_SIZE - offset &&
           image_io(true, false, buf, n, offset);
}

bool hal_otp_program(uint32_t offset, const uint8_t *buf, size_t n)
{
    return F.otp_ok && offset <= SIM_OTP_SIZE && n <= SIM_OTP_SIZE - offset &&
           program(true, buf, n, offset);
}

/* Makes `name` in dirfd: `size` bytes of 0xFF, O_EXCL under a temporary
 * name, synced, then renamed into place only if nothing is there. */
static bool make_image(int dirfd, const char *name, size_t size)
{
    char tmp[64];
    uint8_t ff[4096];
    snprintf(tmp, sizeof tmp, "%s.new", name);
    unlinkat(dirfd, tmp, 0); /* a leftover of a start cut short, in our own directory */
    int fd = openat(dirfd, tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return false;
    memset(ff, 0xFF, sizeof ff);
    bool ok = true;
    for (size_t off = 0; ok && off < size; off += sizeof ff)
        ok = io_at(fd, true, ff, size - off < sizeof ff ? size - off : sizeof ff, (off_t)off);
    ok = ok && fsync(fd) == 0;
    close(fd);
    ok = ok && renameat2(dirfd, tmp, dirfd, name, RENAME_NOREPLACE) == 0 && fsync(dirfd) == 0;
    if (!ok)
        unlinkat(dirfd, tmp, 0);
    return ok;
}

/* Opens an image: a regular file of ours, exactly `size` bytes, one link, no
 * access for group or others (it holds the device key). -1 with why. */
static int open_image(int dirfd, const char *name, size_t size, char *why, size_t cap)
{
    int fd = openat(dirfd, name, O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    struct stat st;
    if (fd < 0) {
        snprintf(why, cap, "%s: %s", name, strerror(errno));
        return -1;
    }
    const char *bad = NULL;
    if (fstat(fd, &st) < 0)
        bad = strerror(errno);
    else if (!S_ISREG(st.st_mode))
        bad = "not a regular file";
    else if (st.st_uid != geteuid())
        bad = "not ours";
    else if (st.st_mode & 077)
        bad = "group or others may access it";
    else if (st.st_nlink != 1)
        bad = "it has other names (hard links)";
    else if ((size_t)st.st_size != size)
        bad = "not the size of the chip's flash";
    if (bad) {
        snprintf(why, cap, "%s: %s", name, bad);
        close(fd);
        return -1;
    }
    return fd;
}

static void flash_open(const char *dir)
{
    char why[512];
    if (!dir) {
        memset(F.ram, 0xFF, sizeof F.ram);
        memset(F.otp_ram, 0xFF, sizeof F.otp_ram);
        F.usable = F.otp_ok = true;
        return;
    }
    struct safe_dir want = {.mode = 0700, .create = true, .no_symlinks = true};
    bool created;
    int dirfd = safe_dir_open(dir, &want, &created, why, sizeof why);
    if (dirfd >= 0) {
        /* safe_dir_open gives an O_PATH descriptor; the images need a real one. */
        char self[64];
        snprintf(self, sizeof self, "/proc/self/fd/%d", dirfd);
        int d = open(self, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        close(dirfd);
        dirfd = d;
        if (dirfd < 0)
            snprintf(why, sizeof why, "%s: %s", dir, strerror(errno));
    }
    if (dirfd < 0) {
        sim_log("the flash (state directory) cannot be used", why);
        return;
    }
    if (created && (!make_image(dirfd, "flash.img", SIM_FLASH_BYTES) ||
                    !make_image(dirfd, "otp.img", SIM_OTP_SIZE)))
        sim_log("cannot make the flash images", strerror(errno));
    F.flash_fd = open_image(dirfd, "flash.img", SIM_FLASH_BYTES, why, sizeof why);
    if (F.flash_fd < 0) {
        sim_log("the flash cannot be used", why);
    } else {
        F.usable = true;
        F.otp_fd = open_image(dirfd, "otp.img", SIM_OTP_SIZE, why, sizeof why);
        F.otp_ok = F.otp_fd >= 0;
        if (!F.otp_ok)
            sim_log("the OTP cannot be used", why);
    }
    close(dirfd);
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

    flash_open(cfg->state_dir);

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
    /* The host link is the USB cable: only a directory of ours, and a socket
     * only we can open (0600), whatever the umask. */
    char why[512], name[256];
    int dirfd = safe_parent_open(cfg->host_path, NULL, NULL, name, sizeof name, why, sizeof why);
    if (dirfd < 0) {
        fprintf(stderr, "sim-board: refusing the host socket: %s\n", why);
        return -1;
    }
    close(dirfd);
    snprintf(a.sun_path, sizeof a.sun_path, "%s.new", cfg->host_path);
    unlink(a.sun_path);
    unlink(cfg->host_path);
    S.listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    mode_t old_mask = umask(0177);
    int bound = S.listen_fd < 0 ? -1 : bind(S.listen_fd, (struct sockaddr *)&a, sizeof a);
    umask(old_mask);
    if (bound < 0 || chmod(a.sun_path, 0600) < 0 || listen(S.listen_fd, 4) < 0 ||
        rename(a.sun_path, cfg->host_path) < 0) {
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

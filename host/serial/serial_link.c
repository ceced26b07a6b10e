/*
 * hawiya-serial-link: joins a reader whose host link is a UART (CCID in the
 * frames of hawiya/serial_frame.h: the STM32F405 board's USART1, in QEMU or
 * on a serial adapter) to the host-socket protocol of the sim board, so the
 * bridge's sim backend, hawiya-pki and the tests talk to it unchanged.
 *
 *   hawiya-serial-link --serial PATH --host SOCKET [--card-uart PATH --card-line SOCKET]
 *
 * PATH is a UNIX socket (QEMU's chardev, -chardev socket,server=on) or a
 * character device (a USB serial adapter, set to 921600 8N1 raw). SOCKET is
 * where the host connects, one host at a time, as to the sim board.
 *
 * With --card-uart and --card-line it also joins the board's card UART (in
 * QEMU: USART2's chardev socket) to hawiya-vcard's card line, byte for byte.
 * It connects to the card only once the reader has sent its first record: a
 * UART drops what arrives before the firmware turns it on, and the card line
 * (hawiya/simline.h) has no framing to find its step again. An emulation
 * stand-in, like the line itself.
 *
 * A host that connects makes a HELLO (the reader answers HELLO; until it
 * does, HELLO goes again every second: a reader still booting drops what it
 * gets before its USART is on); the host's CCID messages go one per frame;
 * the reader's frames go to the host as the bare messages. A host that
 * leaves makes a BYE. Frames that fail their checks are dropped and counted
 * on stderr (see serial_frame.h for how each side recovers from that).
 */
#define _GNU_SOURCE /* accept4 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "hawiya/ccid.h"
#include "hawiya/serial_frame.h"

/* The largest message either way: the reader's dwMaxCCIDMessageLength is
 * smaller; this side only passes messages on. */
#define MSG_MAX CCID_MAX_MESSAGE_SIZE

struct link {
    int serial, listen, host;
    struct serial_frame_rx rx;
    uint8_t rx_buf[MSG_MAX + SERIAL_FRAME_OVERHEAD];
    uint8_t host_in[MSG_MAX];
    size_t host_len;
    uint8_t seq;
    bool greeted;       /* the reader answered our HELLO */
    long long hello_ms; /* when HELLO last went out */
    uint64_t frames_to_reader, frames_from_reader;
    /* the card line relay */
    const char *card_line_path;
    int card_uart, card_line;
    uint8_t card_early[4096]; /* the reader's first bytes, until the card is there */
    size_t card_early_len;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static long long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static bool write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == ENOTSOCK)
            w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EAGAIN) {
            struct pollfd pf = {.fd = fd, .events = POLLOUT};
            poll(&pf, 1, 1000);
            continue;
        }
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

static bool send_frame(struct link *l, uint8_t kind, const uint8_t *p, size_t n)
{
    static uint8_t out[SERIAL_FRAME_MAX_ENCODED(MSG_MAX)];
    size_t k;
    if (serial_frame_encode(kind, l->seq++, p, n, out, sizeof out, &k) != SERIAL_FRAME_OK)
        return false;
    l->frames_to_reader++;
    return write_all(l->serial, out, k);
}

static int open_serial(const char *path)
{
    struct stat st;
    if (stat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        if (strlen(path) >= sizeof a.sun_path)
            return -1;
        strcpy(a.sun_path, path);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0)
            return fd;
        if (fd >= 0)
            close(fd);
        return -1;
    }
    int fd = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct termios t;
    if (tcgetattr(fd, &t) == 0) {
        cfmakeraw(&t);
        cfsetspeed(&t, B921600);
        t.c_cflag |= CLOCAL | CREAD;
        tcsetattr(fd, TCSANOW, &t);
    }
    return fd;
}

static int listen_on(const char *path)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (strlen(path) + 4 >= sizeof a.sun_path)
        return -1;
    /* Bound under a temporary name first: whoever sees the socket can connect. */
    snprintf(a.sun_path, sizeof a.sun_path, "%s.new", path);
    unlink(a.sun_path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 4) < 0 ||
        rename(a.sun_path, path) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static void host_gone(struct link *l)
{
    if (l->host < 0)
        return;
    close(l->host);
    l->host = -1;
    l->host_len = 0;
    l->greeted = false;
    send_frame(l, SERIAL_KIND_BYE, NULL, 0);
}

/* Whole CCID messages from the host, one frame each. */
static bool from_host(struct link *l)
{
    ssize_t r = read(l->host, l->host_in + l->host_len, sizeof l->host_in - l->host_len);
    if (r <= 0)
        return r < 0 && (errno == EAGAIN || errno == EINTR);
    l->host_len += (size_t)r;
    for (;;) {
        size_t n;
        enum ccid_err e = ccid_frame(l->host_in, l->host_len, sizeof l->host_in, &n);
        if (e == CCID_ERR_NEED_MORE)
            return true;
        if (e != CCID_OK)
            return false; /* a length no reader takes: the host is out of step */
        if (!send_frame(l, SERIAL_KIND_BULK_OUT, l->host_in, n))
            return false;
        memmove(l->host_in, l->host_in + n, l->host_len - n);
        l->host_len -= n;
    }
}

/* The reader's frames: messages for the host. False when the serial side closed. */
static bool from_reader(struct link *l)
{
    uint8_t buf[4096];
    ssize_t r = read(l->serial, buf, sizeof buf);
    if (r < 0 && (errno == EAGAIN || errno == EINTR))
        return true;
    if (r <= 0)
        return false;
    for (ssize_t i = 0; i < r; i++) {
        struct serial_frame f;
        enum serial_frame_err e = serial_frame_rx_byte(&l->rx, buf[i], &f);
        if (e == SERIAL_FRAME_NONE)
            continue;
        if (e != SERIAL_FRAME_OK) {
            fprintf(stderr, "hawiya-serial-link: frame dropped: %s\n", serial_frame_err_str(e));
            continue;
        }
        l->frames_from_reader++;
        if (f.kind == SERIAL_KIND_HELLO) {
            l->greeted = true;
            continue;
        }
        if ((f.kind == SERIAL_KIND_BULK_IN || f.kind == SERIAL_KIND_INTERRUPT) && l->host >= 0 &&
            !write_all(l->host, f.payload, f.len))
            host_gone(l);
    }
    return true;
}

/* Bytes from one end of the card line to the other; false when one closed. */
static bool card_relay(struct link *l, bool from_reader_side)
{
    uint8_t buf[4096];
    int in = from_reader_side ? l->card_uart : l->card_line;
    ssize_t r = read(in, buf, sizeof buf);
    if (r < 0 && (errno == EAGAIN || errno == EINTR))
        return true;
    if (r <= 0)
        return false;
    if (from_reader_side && l->card_line < 0) {
        /* The reader is up: now the card may speak. */
        if ((size_t)r > sizeof l->card_early - l->card_early_len)
            return false;
        memcpy(l->card_early + l->card_early_len, buf, (size_t)r);
        l->card_early_len += (size_t)r;
        for (int i = 0; i < 100 && l->card_line < 0; i++) {
            l->card_line = open_serial(l->card_line_path);
            if (l->card_line < 0)
                usleep(50000);
        }
        if (l->card_line < 0 || !write_all(l->card_line, l->card_early, l->card_early_len))
            return false;
        return true;
    }
    return write_all(from_reader_side ? l->card_line : l->card_uart, buf, (size_t)r);
}

static void usage(FILE *f)
{
    fprintf(f, "usage: hawiya-serial-link --serial PATH --host SOCKET [--card-uart PATH "
               "--card-line SOCKET]\n");
}

int main(int argc, char **argv)
{
    const char *serial = NULL, *host = NULL, *card_uart = NULL;
    static struct link l = {
        .serial = -1, .listen = -1, .host = -1, .card_uart = -1, .card_line = -1};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        }
        if (i + 1 >= argc) {
            usage(stderr);
            return 2;
        }
        if (!strcmp(argv[i], "--serial"))
            serial = argv[++i];
        else if (!strcmp(argv[i], "--host"))
            host = argv[++i];
        else if (!strcmp(argv[i], "--card-uart"))
            card_uart = argv[++i];
        else if (!strcmp(argv[i], "--card-line"))
            l.card_line_path = argv[++i];
        else {
            usage(stderr);
            return 2;
        }
    }
    if (!serial || !host || !card_uart != !l.card_line_path) {
        usage(stderr);
        return 2;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    serial_frame_rx_init(&l.rx, l.rx_buf, sizeof l.rx_buf);
    /* QEMU may still be creating its socket: 10 s. */
    for (int i = 0; i < 200 && l.serial < 0 && !stop; i++) {
        l.serial = open_serial(serial);
        if (l.serial < 0)
            usleep(50000);
    }
    if (l.serial < 0) {
        fprintf(stderr, "hawiya-serial-link: cannot open %s: %s\n", serial, strerror(errno));
        return 1;
    }
    for (int i = 0; i < 200 && card_uart && l.card_uart < 0 && !stop; i++) {
        l.card_uart = open_serial(card_uart);
        if (l.card_uart < 0)
            usleep(50000);
    }
    if (card_uart && l.card_uart < 0) {
        fprintf(stderr, "hawiya-serial-link: cannot open %s: %s\n", card_uart, strerror(errno));
        return 1;
    }
    l.listen = listen_on(host);
    if (l.listen < 0) {
        fprintf(stderr, "hawiya-serial-link: cannot listen on %s: %s\n", host, strerror(errno));
        return 1;
    }
    while (!stop) {
        if (l.host >= 0 && !l.greeted && now_ms() - l.hello_ms >= 1000) {
            l.rx.have_seq = false; /* the reader counts on from its last frame */
            send_frame(&l, SERIAL_KIND_HELLO, NULL, 0);
            l.hello_ms = now_ms();
        }
        /* The host's messages wait until the reader has answered HELLO:
         * before that it would drop them. */
        struct pollfd p[4] = {
            {.fd = l.serial, .events = POLLIN},
            {.fd = l.host >= 0 ? l.host : l.listen, .events = l.host < 0 || l.greeted ? POLLIN : 0},
            {.fd = l.card_uart, .events = POLLIN},
            {.fd = l.card_line, .events = POLLIN}};
        if (poll(p, 4, 200) < 0 && errno != EINTR)
            break;
        if ((p[2].revents & (POLLIN | POLLHUP | POLLERR)) && !card_relay(&l, true)) {
            fprintf(stderr, "hawiya-serial-link: the card UART closed\n");
            break;
        }
        if ((p[3].revents & (POLLIN | POLLHUP | POLLERR)) && !card_relay(&l, false)) {
            fprintf(stderr, "hawiya-serial-link: the card line closed\n");
            close(l.card_line);
            l.card_line = -1;
            l.card_uart = -1; /* nothing more to relay: the card is gone */
        }
        if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            if (!from_reader(&l)) {
                fprintf(stderr, "hawiya-serial-link: the serial line closed\n");
                break;
            }
        }
        if (l.host < 0) {
            if (p[1].revents & POLLIN) {
                l.host = accept4(l.listen, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
                if (l.host >= 0) {
                    l.greeted = false;
                    l.hello_ms = 0;
                }
            }
        } else if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
            if (!from_host(&l))
                host_gone(&l);
        }
    }
    if (l.host >= 0)
        host_gone(&l);
    fprintf(stderr,
            "hawiya-serial-link: %llu frames to the reader, %llu from it; dropped: %llu FCS, "
            "%llu escape, %llu short, %llu long; %llu lost\n",
            (unsigned long long)l.frames_to_reader, (unsigned long long)l.frames_from_reader,
            (unsigned long long)l.rx.stats.bad_fcs, (unsigned long long)l.rx.stats.bad_escape,
            (unsigned long long)l.rx.stats.too_short, (unsigned long long)l.rx.stats.too_long,
            (unsigned long long)l.rx.stats.lost);
    unlink(host);
    return 0;
}

#define _GNU_SOURCE /* accept4 */
/*
 * hawiya-vcard: the virtual eID card on a simulated card line.
 *
 *   hawiya-vcard --line PATH --personas FILE [--persona ID] [--control PATH] [--absent]
 *                [--pki DIR]
 *
 * --pki DIR: the test PKI's output directory (what the pki_data target makes,
 * BUILD/pki): the card of persona ID is DIR/cards/ID (docs/pki.md); its LDS
 * files and keys are loaded and the eMRTD application (PACE, BAC, secure
 * messaging, AA, CA: icao_applet.c) is registered. Without it the card has
 * only the persona's placeholder files.
 * Listens on the card-line socket for one reader (hawiya-sim-reader) and
 * plays the persona's card on it (card_line.c). The control socket takes one
 * command per line, for tests and the demo:
 *   remove | insert | persona ID (a different card is in the slot) | stats
 *   remove-after MS (mid-exchange, in simulated time) | pps-mute on|off
 * and answers "ok" or "ok {json}" or "error WHAT".
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "card_line.h"
#include "icao_applet.h"
#include "persona.h"
#include "pki_card.h"
#include "vcard.h"

static int rng(void *ctx, uint8_t *out, size_t n)
{
    (void)ctx;
    while (n > 0) {
        ssize_t k = getrandom(out, n, 0);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        out += k;
        n -= (size_t)k;
    }
    return 0;
}

static int listen_unix(const char *path)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    /* Listening under a temporary name first: whoever sees the socket can connect. */
    if (strlen(path) + 4 >= sizeof a.sun_path) {
        fprintf(stderr, "hawiya-vcard: socket path too long: %s\n", path);
        return -1;
    }
    snprintf(a.sun_path, sizeof a.sun_path, "%s.new", path);
    unlink(a.sun_path);
    unlink(path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 4) < 0 ||
        rename(a.sun_path, path) < 0) {
        fprintf(stderr, "hawiya-vcard: cannot listen on %s: %s\n", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* The program's state, on the heap: the persona holds its files. */
struct vcard_state {
    const char *personas_path;
    const char *pki_dir; /* NULL: no ICAO application */
    bool present;
    int reader_fd;
    struct persona persona;
    struct vcard card;
    struct card_line line;
    struct pki_card pki;
    struct icao_applet icao;
    uint8_t inbuf[2 * (SIMLINE_HEADER_SIZE + SIMLINE_MAX_PAYLOAD)];
};

/* The persona's PKI card: its files into the persona, the applet over its keys. */
static int load_pki(struct vcard_state *st, const char *id)
{
    char dir[4096], msg[256];
    struct pki_card_diag diag;
    icao_applet_wipe(&st->icao);
    pki_card_free(&st->pki);
    if ((size_t)snprintf(dir, sizeof dir, "%s/cards/%s", st->pki_dir, id) >= sizeof dir) {
        fprintf(stderr, "hawiya-vcard: --pki path too long\n");
        return -1;
    }
    if (pki_card_load(&st->pki, dir, &diag) != PKI_CARD_OK ||
        pki_card_install(&st->pki, &st->persona, &diag) != PKI_CARD_OK) {
        pki_card_diag_format(&diag, msg, sizeof msg);
        fprintf(stderr, "hawiya-vcard: %s: %s\n", dir, msg);
        return -1;
    }
    if (icao_applet_init(&st->icao, &st->pki, &st->persona, rng, NULL) != ICAO_APPLET_OK) {
        fprintf(stderr, "hawiya-vcard: %s: no eMRTD application\n", dir);
        return -1;
    }
    return 0;
}

static int load_card(struct vcard_state *st, const char *id)
{
    struct persona_diag diag;
    enum persona_err pe = persona_load_file(st->personas_path, id, &st->persona, &diag);
    if (pe != PERSONA_OK) {
        char msg[256];
        persona_diag_format(&diag, msg, sizeof msg);
        fprintf(stderr, "hawiya-vcard: %s: %s\n", st->personas_path, msg);
        return -1;
    }
    if (st->pki_dir && load_pki(st, id) != 0)
        return -1;
    if (vcard_init(&st->card, &st->persona, rng, NULL) != VCARD_OK ||
        (st->pki_dir && icao_applet_register(&st->icao, &st->card) != ICAO_APPLET_OK) ||
        card_line_init(&st->line, &st->card, &st->persona, st->present) != 0) {
        fprintf(stderr, "hawiya-vcard: persona '%s' does not make a card\n", id);
        return -1;
    }
    return 0;
}

static void flush_line(struct vcard_state *st)
{
    if (st->reader_fd >= 0 && st->line.out_len &&
        write_all(st->reader_fd, st->line.out, st->line.out_len))
        st->reader_fd = -1;
    st->line.out_len = 0;
}

static void control_command(struct vcard_state *st, char *cmd, char *reply, size_t cap)
{
    cmd[strcspn(cmd, "\r\n")] = '\0';
    if (!strcmp(cmd, "remove")) {
        st->present = false;
        card_line_set_present(&st->line, false);
        snprintf(reply, cap, "ok\n");
    } else if (!strncmp(cmd, "remove-after ", 13)) {
        /* Out of the slot after this many ms of simulated time: mid-exchange. */
        char *end;
        unsigned long ms = strtoul(cmd + 13, &end, 10);
        if (*end != '\0' || ms > 3600000) {
            snprintf(reply, cap, "error bad time\n");
            return;
        }
        st->present = false;
        card_line_remove_after(&st->line, (uint64_t)ms * 1000000u);
        snprintf(reply, cap, "ok\n");
    } else if (!strcmp(cmd, "pps-mute on") || !strcmp(cmd, "pps-mute off")) {
        st->line.pps_mute = !strcmp(cmd, "pps-mute on");
        snprintf(reply, cap, "ok\n");
    } else if (!strcmp(cmd, "insert")) {
        st->present = true;
        card_line_set_present(&st->line, true);
        snprintf(reply, cap, "ok\n");
    } else if (!strncmp(cmd, "persona ", 8)) {
        /* A different card: out of the slot, swapped, back in. */
        card_line_set_present(&st->line, false);
        flush_line(st);
        st->present = true;
        if (load_card(st, cmd + 8) != 0) {
            snprintf(reply, cap, "error persona\n");
            return;
        }
        card_line_set_present(&st->line, true);
        snprintf(reply, cap, "ok\n");
    } else if (!strcmp(cmd, "stats")) {
        snprintf(
            reply, cap,
            "ok {\"persona\":\"%s\",\"present\":%s,\"vcc_mv\":%u,\"clk_hz\":%lu,"
            "\"fi\":%u,\"di\":%u,\"char_etu\":%u,\"protocol\":%u,\"apdus\":%llu,\"card_ns\":%llu,"
            "\"now_ns\":%llu,\"wtx\":%llu}\n",
            st->persona.id, st->present ? "true" : "false", st->line.vcc_mv,
            (unsigned long)st->line.clk_hz, st->line.fi, st->line.di, st->line.char_etu,
            st->line.protocol, (unsigned long long)st->line.stats.apdus,
            (unsigned long long)st->line.stats.card_ns, (unsigned long long)st->line.now_ns,
            (unsigned long long)st->line.stats.wtx);
    } else {
        snprintf(reply, cap, "error unknown command\n");
    }
}

static void usage(FILE *f)
{
    fprintf(f, "usage: hawiya-vcard --line PATH --personas FILE [--persona ID] "
               "[--control PATH] [--absent] [--pki DIR]\n");
}

int main(int argc, char **argv)
{
    const char *line_path = NULL, *control_path = NULL, *id = "default";
    struct vcard_state *st = calloc(1, sizeof *st);
    if (!st)
        return 1;
    st->present = true;
    st->reader_fd = -1;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--absent")) {
            st->present = false;
            continue;
        }
        if (i + 1 >= argc) {
            usage(stderr);
            return 2;
        }
        const char *v = argv[++i];
        if (!strcmp(argv[i - 1], "--line"))
            line_path = v;
        else if (!strcmp(argv[i - 1], "--personas"))
            st->personas_path = v;
        else if (!strcmp(argv[i - 1], "--persona"))
            id = v;
        else if (!strcmp(argv[i - 1], "--control"))
            control_path = v;
        else if (!strcmp(argv[i - 1], "--pki"))
            st->pki_dir = v;
        else {
            usage(stderr);
            return 2;
        }
    }
    if (!line_path || !st->personas_path) {
        usage(stderr);
        return 2;
    }
    int rc = 1;
    if (load_card(st, id) != 0)
        goto out;

    /* SIGINT and SIGTERM end the loop through a signalfd. */
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    sigprocmask(SIG_BLOCK, &stop_signals, NULL);
    int sig_fd = signalfd(-1, &stop_signals, SFD_CLOEXEC);
    signal(SIGPIPE, SIG_IGN);

    int line_fd = listen_unix(line_path);
    int ctl_fd = control_path ? listen_unix(control_path) : -1;
    if (sig_fd < 0 || line_fd < 0 || (control_path && ctl_fd < 0))
        goto out;

    size_t in_len = 0;
    for (;;) {
        struct pollfd p[3] = {
            {.fd = st->reader_fd >= 0 ? st->reader_fd : line_fd, .events = POLLIN},
            {.fd = ctl_fd, .events = POLLIN},
            {.fd = sig_fd, .events = POLLIN},
        };
        if (poll(p, 3, 200) <= 0)
            continue;
        if (p[2].revents)
            break;
        if (p[0].revents && st->reader_fd < 0) {
            st->reader_fd = accept4(line_fd, NULL, NULL, SOCK_CLOEXEC);
            in_len = 0;
            /* A new reader: the slot's switch tells it whether a card is in. */
            card_line_new_reader(&st->line);
            st->line.out_len = 0;
            card_line_set_present(&st->line, st->present);
            flush_line(st);
        } else if (p[0].revents) {
            ssize_t r = read(st->reader_fd, st->inbuf + in_len, sizeof st->inbuf - in_len);
            if (r <= 0) {
                close(st->reader_fd);
                st->reader_fd = -1;
                card_line_input(&st->line, &(struct simline_msg){.type = SIMLINE_VCC});
                st->line.out_len = 0;
                continue;
            }
            in_len += (size_t)r;
            size_t off = 0;
            for (;;) {
                struct simline_msg m;
                size_t used;
                enum simline_err e = simline_decode(st->inbuf + off, in_len - off, &m, &used);
                if (e == SIMLINE_ERR_INCOMPLETE)
                    break;
                if (e != SIMLINE_OK) {
                    fprintf(stderr, "hawiya-vcard: bad record from the reader: %s\n",
                            simline_err_str(e));
                    close(st->reader_fd);
                    st->reader_fd = -1;
                    off = in_len = 0;
                    break;
                }
                card_line_input(&st->line, &m);
                flush_line(st);
                off += used;
            }
            memmove(st->inbuf, st->inbuf + off, in_len - off);
            in_len -= off;
        }
        if (ctl_fd >= 0 && p[1].revents) {
            int c = accept4(ctl_fd, NULL, NULL, SOCK_CLOEXEC);
            if (c >= 0) {
                char cmd[128] = {0}, reply[512];
                struct pollfd cp = {.fd = c, .events = POLLIN};
                if (poll(&cp, 1, 1000) > 0 && read(c, cmd, sizeof cmd - 1) > 0) {
                    control_command(st, cmd, reply, sizeof reply);
                    flush_line(st);
                    write_all(c, (const uint8_t *)reply, strlen(reply));
                }
                close(c);
            }
        }
    }
    unlink(line_path);
    if (control_path)
        unlink(control_path);
    rc = 0;
out:
    icao_applet_wipe(&st->icao);
    pki_card_free(&st->pki);
    persona_clear(&st->persona);
    free(st);
    return rc;
}

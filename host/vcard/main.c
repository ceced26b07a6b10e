#define _GNU_SOURCE /* accept4 */
/*
 * hawiya-vcard: the virtual eID card on a simulated card line.
 *
 *   hawiya-vcard (--line PATH | --vpcd HOST:PORT) --personas FILE [--persona ID]
 *                [--control PATH] [--absent] [--pki DIR] [--rf PATH [--field]]
 *
 * --pki DIR: the test PKI's output directory (what the pki_data target makes,
 * BUILD/pki): the card of persona ID is DIR/cards/ID (docs/pki.md); its LDS
 * files and keys are loaded and the eMRTD application (PACE, BAC, secure
 * messaging, AA, CA: icao_applet.c) is registered. Without it the card has
 * only the persona's placeholder files.
 * Listens on the card-line socket for one reader (hawiya-sim-reader) and
 * plays the persona's card on it (card_line.c). With --vpcd instead, it
 * connects to vsmartcard's vpcd reader driver inside a pcscd (vpcd.h) and
 * plays the card at APDU level there: connected is inserted, and the card
 * reconnects every 100 ms while it is in the slot and the driver is not
 * there (pcscd restarting). Every card also has the loopback test
 * application (loopback_applet.h).
 * --rf PATH: a second socket for one reader's RF field (ISO/IEC 14443,
 * rf_field.c), for personas with a contactless interface; --field: the card
 * starts in the field instead of the contact slot. A card is in one place
 * at a time: tapping it takes it out of the slot, inserting it takes it out
 * of the field.
 * The control socket takes one command per line, for tests and the demo:
 *   remove | insert | persona ID (a different card, where the old one was) | stats
 *   remove-after MS (mid-exchange, in simulated time) | pps-mute on|off
 *   | stall on|off (T=1: every command answered with S(WTX) requests for ever)
 *   tap (the card enters the field) | tap ID (a second card, persona ID,
 *   enters the field with it: anticollision) | leave (every card leaves the field)
 *   leave-after MS | leave-after-frames N (the card leaves the field MS of
 *   simulated time later, or after N more frames from the reader: mid-exchange)
 *   | persona-after-deselect ID (the card in the field is taken away as soon as
 *   it has answered the reader's next S(DESELECT), and card ID tapped in its
 *   place before the reader's next frame: a swap between two polls)
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
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include "card_line.h"
#include "icao_applet.h"
#include "loopback_applet.h"
#include "persona.h"
#include "pki_card.h"
#include "rf_field.h"
#include "vcard.h"
#include "vpcd.h"

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

/* One card: its persona (which holds its files), APDU core, keys and eMRTD application. */
struct chip {
    struct persona persona;
    struct vcard card;
    struct pki_card pki;
    struct icao_applet icao;
};

/* The program's state, on the heap. chips[0] is the card of --persona, in
 * the contact slot or in the field; chips[1] a second card in the field. */
struct vcard_state {
    const char *personas_path;
    const char *pki_dir; /* NULL: no ICAO application */
    bool present;        /* chips[0] in the contact slot */
    bool tapped;         /* chips[0] in the RF field */
    int reader_fd, rf_fd;
    struct chip chips[RF_FIELD_CARDS];
    struct card_line line;
    struct rf_field rf;
    uint8_t inbuf[2 * (SIMLINE_HEADER_SIZE + SIMLINE_MAX_PAYLOAD)];
    uint8_t rfbuf[2 * (SIMLINE_HEADER_SIZE + SIMLINE_MAX_PAYLOAD)];
    /* --vpcd: the link to the reader driver */
    const char *vpcd_host, *vpcd_port;
    int vpcd_fd;
    struct vpcd_card vpcd;
    uint8_t vpcd_in[VPCD_MAX_MESSAGE];
    size_t vpcd_in_len;
    uint8_t vpcd_out[VPCD_MAX_MESSAGE];
    /* persona-after-deselect: the card to swap in, and the field's
     * S(DESELECT) count when asked (the swap is due once it moves) */
    char swap_id[128];
    uint64_t swap_deselects;
};

/* The persona's PKI card: its files into the persona, the applet over its keys. */
static int load_pki(struct vcard_state *st, struct chip *ch, const char *id)
{
    char dir[4096], msg[256];
    struct pki_card_diag diag;
    icao_applet_wipe(&ch->icao);
    pki_card_free(&ch->pki);
    if ((size_t)snprintf(dir, sizeof dir, "%s/cards/%s", st->pki_dir, id) >= sizeof dir) {
        fprintf(stderr, "hawiya-vcard: --pki path too long\n");
        return -1;
    }
    if (pki_card_load(&ch->pki, dir, &diag) != PKI_CARD_OK ||
        pki_card_install(&ch->pki, &ch->persona, &diag) != PKI_CARD_OK) {
        pki_card_diag_format(&diag, msg, sizeof msg);
        fprintf(stderr, "hawiya-vcard: %s: %s\n", dir, msg);
        return -1;
    }
    if (icao_applet_init(&ch->icao, &ch->pki, &ch->persona, rng, NULL) != ICAO_APPLET_OK) {
        fprintf(stderr, "hawiya-vcard: %s: no eMRTD application\n", dir);
        return -1;
    }
    return 0;
}

static int load_chip(struct vcard_state *st, struct chip *ch, const char *id)
{
    struct persona_diag diag;
    enum persona_err pe = persona_load_file(st->personas_path, id, &ch->persona, &diag);
    if (pe != PERSONA_OK) {
        char msg[256];
        persona_diag_format(&diag, msg, sizeof msg);
        fprintf(stderr, "hawiya-vcard: %s: %s\n", st->personas_path, msg);
        return -1;
    }
    if (st->pki_dir && load_pki(st, ch, id) != 0)
        return -1;
    if (vcard_init(&ch->card, &ch->persona, rng, NULL) != VCARD_OK ||
        (st->pki_dir && icao_applet_register(&ch->icao, &ch->card) != ICAO_APPLET_OK) ||
        loopback_applet_register(&ch->card) != VCARD_OK) {
        fprintf(stderr, "hawiya-vcard: persona '%s' does not make a card\n", id);
        return -1;
    }
    return 0;
}

static uint32_t seed(void)
{
    uint32_t s = 0;
    rng(NULL, (uint8_t *)&s, sizeof s);
    return s | 1u;
}

/* The card of --persona (or `persona ID`), on the contact line and the RF field. */
static int load_card(struct vcard_state *st, const char *id)
{
    if (load_chip(st, &st->chips[0], id) != 0)
        return -1;
    struct persona *p = &st->chips[0].persona;
    if (card_line_init(&st->line, &st->chips[0].card, p, st->present && p->contact) != 0) {
        fprintf(stderr, "hawiya-vcard: persona '%s' does not make a card\n", id);
        return -1;
    }
    rf_field_unplace(&st->rf, 0);
    if (p->contactless && rf_field_place(&st->rf, 0, &st->chips[0].card, p, seed()) != 0)
        return -1;
    if (st->tapped && p->contactless)
        rf_field_enter(&st->rf, 0);
    return 0;
}

static void flush_line(struct vcard_state *st)
{
    if (st->reader_fd >= 0 && st->line.out_len &&
        write_all(st->reader_fd, st->line.out, st->line.out_len))
        st->reader_fd = -1;
    st->line.out_len = 0;
}

static void flush_rf(struct vcard_state *st)
{
    if (st->rf_fd >= 0 && st->rf.out_len && write_all(st->rf_fd, st->rf.out, st->rf.out_len))
        st->rf_fd = -1;
    st->rf.out_len = 0;
}

/* The card leaves the slot for the field, or the field for the slot. */
static void to_field(struct vcard_state *st, bool field)
{
    const struct persona *p = &st->chips[0].persona;
    if (field) {
        if (st->present)
            card_line_set_present(&st->line, false);
        st->present = false;
        st->tapped = true;
        rf_field_enter(&st->rf, 0);
    } else {
        st->tapped = false;
        rf_field_leave(&st->rf, 0);
        st->present = p->contact;
        card_line_set_present(&st->line, st->present);
    }
}

static int parse_count(const char *s, unsigned long max, unsigned long *v)
{
    char *end;
    *v = strtoul(s, &end, 10);
    return (*s == '\0' || *end != '\0' || *v > max) ? -1 : 0;
}

/* Control commands for the RF field; false if `cmd` is not one of them. */
static bool rf_command(struct vcard_state *st, const char *cmd, char *reply, size_t cap)
{
    unsigned long v;
    const struct persona *p = &st->chips[0].persona;
    if (!strcmp(cmd, "tap")) {
        if (!p->contactless) {
            snprintf(reply, cap, "error persona has no contactless interface\n");
            return true;
        }
        to_field(st, true);
    } else if (!strncmp(cmd, "tap ", 4)) {
        /* a second card joins the first in the field */
        rf_field_unplace(&st->rf, 1);
        if (load_chip(st, &st->chips[1], cmd + 4) != 0 ||
            rf_field_place(&st->rf, 1, &st->chips[1].card, &st->chips[1].persona, seed()) != 0) {
            snprintf(reply, cap, "error persona\n");
            return true;
        }
        rf_field_enter(&st->rf, 1);
    } else if (!strcmp(cmd, "rf-mark")) {
        rf_field_mark(&st->rf);
    } else if (!strcmp(cmd, "leave")) {
        st->tapped = false;
        for (unsigned i = 0; i < RF_FIELD_CARDS; i++)
            rf_field_leave(&st->rf, i);
    } else if (!strncmp(cmd, "leave-after ", 12)) {
        if (parse_count(cmd + 12, 3600000, &v) != 0) {
            snprintf(reply, cap, "error bad time\n");
            return true;
        }
        st->tapped = false;
        rf_field_leave_after(&st->rf, 0, (uint64_t)v * 1000000u);
    } else if (!strncmp(cmd, "persona-after-deselect ", 23)) {
        if (strlen(cmd + 23) >= sizeof st->swap_id || !cmd[23]) {
            snprintf(reply, cap, "error bad persona\n");
            return true;
        }
        snprintf(st->swap_id, sizeof st->swap_id, "%s", cmd + 23);
        st->swap_deselects = st->rf.deselects;
    } else if (!strncmp(cmd, "leave-after-frames ", 19)) {
        if (parse_count(cmd + 19, 1000000, &v) != 0) {
            snprintf(reply, cap, "error bad count\n");
            return true;
        }
        st->tapped = false;
        rf_field_leave_after_frames(&st->rf, 0, (long)v);
    } else {
        return false;
    }
    snprintf(reply, cap, "ok\n");
    return true;
}

static void vpcd_close(struct vcard_state *st)
{
    if (st->vpcd_fd >= 0)
        close(st->vpcd_fd);
    st->vpcd_fd = -1;
    st->vpcd_in_len = 0;
    st->vpcd.powered = false;
}

/* --vpcd: the card is in the slot while it is connected to the driver. */
static void vpcd_command(struct vcard_state *st, const char *cmd, char *reply, size_t cap)
{
    if (!strcmp(cmd, "remove") || !strcmp(cmd, "insert")) {
        st->present = cmd[0] == 'i';
        if (!st->present)
            vpcd_close(st);
        snprintf(reply, cap, "ok\n");
    } else if (!strncmp(cmd, "persona ", 8)) {
        vpcd_close(st); /* out of the slot, swapped, back in at the next connect */
        st->present = true;
        if (load_chip(st, &st->chips[0], cmd + 8) != 0) {
            snprintf(reply, cap, "error persona\n");
            return;
        }
        snprintf(reply, cap, "ok\n");
    } else if (!strcmp(cmd, "stats")) {
        snprintf(reply, cap,
                 "ok {\"persona\":\"%s\",\"present\":%s,\"link\":\"vpcd\",\"connected\":%s,"
                 "\"powered\":%s,\"apdus\":%llu,\"controls\":%llu}\n",
                 st->chips[0].persona.id, st->present ? "true" : "false",
                 st->vpcd_fd >= 0 ? "true" : "false", st->vpcd.powered ? "true" : "false",
                 (unsigned long long)st->vpcd.apdus, (unsigned long long)st->vpcd.controls);
    } else {
        snprintf(reply, cap, "error unknown command\n");
    }
}

static void control_command(struct vcard_state *st, char *cmd, char *reply, size_t cap)
{
    cmd[strcspn(cmd, "\r\n")] = '\0';
    if (st->vpcd_host) {
        vpcd_command(st, cmd, reply, cap);
        return;
    }
    if (rf_command(st, cmd, reply, cap))
        return;
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
    } else if (!strcmp(cmd, "stall on") || !strcmp(cmd, "stall off")) {
        st->line.stall = !strcmp(cmd, "stall on");
        snprintf(reply, cap, "ok\n");
    } else if (!strcmp(cmd, "pps-mute on") || !strcmp(cmd, "pps-mute off")) {
        st->line.pps_mute = !strcmp(cmd, "pps-mute on");
        snprintf(reply, cap, "ok\n");
    } else if (!strcmp(cmd, "insert")) {
        if (!st->chips[0].persona.contact) {
            snprintf(reply, cap, "error persona has no contact interface\n");
            return;
        }
        to_field(st, false);
        snprintf(reply, cap, "ok\n");
    } else if (!strncmp(cmd, "persona ", 8)) {
        /* A different card: out of the slot (or the field), swapped, back in. */
        bool was_present = st->present;
        card_line_set_present(&st->line, false);
        flush_line(st);
        st->present = false;
        if (load_card(st, cmd + 8) != 0) {
            snprintf(reply, cap, "error persona\n");
            return;
        }
        const struct persona *p = &st->chips[0].persona;
        if (st->tapped && !p->contactless)
            st->tapped = false;
        st->present = (was_present || !st->tapped) && p->contact;
        if (!st->present && !st->tapped && p->contactless) {
            st->tapped = true; /* a contactless-only card goes to the field */
            rf_field_enter(&st->rf, 0);
        }
        card_line_set_present(&st->line, st->present);
        snprintf(reply, cap, "ok\n");
    } else if (!strcmp(cmd, "stats")) {
        const struct rf_card *rc = &st->rf.cards[0];
        snprintf(reply, cap,
                 "ok {\"persona\":\"%s\",\"present\":%s,\"vcc_mv\":%u,\"clk_hz\":%lu,"
                 "\"fi\":%u,\"di\":%u,\"char_etu\":%u,\"protocol\":%u,\"apdus\":%llu,"
                 "\"card_ns\":%llu,\"now_ns\":%llu,\"wtx\":%llu,\"in_field\":%s,"
                 "\"rf_field\":%s,\"rf_frames\":%llu,\"rf_apdus\":%llu,\"rf_card_ns\":%llu,"
                 "\"rf_wtx\":%llu,\"rf_now_ns\":%llu,\"rf_dsi\":%u,\"rf_dri\":%u,"
                 "\"rf_collisions\":%llu,\"le_refused\":%llu,\"rf_span_ns\":%llu}\n",
                 st->chips[0].persona.id, st->present ? "true" : "false", st->line.vcc_mv,
                 (unsigned long)st->line.clk_hz, st->line.fi, st->line.di, st->line.char_etu,
                 st->line.protocol, (unsigned long long)st->line.stats.apdus,
                 (unsigned long long)st->line.stats.card_ns, (unsigned long long)st->line.now_ns,
                 (unsigned long long)st->line.stats.wtx, rc->in_field ? "true" : "false",
                 st->rf.field_on ? "true" : "false", (unsigned long long)st->rf.frames_rx,
                 (unsigned long long)rc->stats.apdus, (unsigned long long)rc->stats.card_ns,
                 (unsigned long long)rc->stats.wtx, (unsigned long long)st->rf.now_ns,
                 (unsigned)rc->dsi, (unsigned)rc->dri, (unsigned long long)st->rf.collisions,
                 (unsigned long long)st->chips[0].icao.le_refused,
                 (unsigned long long)(st->rf.span_last_ns > st->rf.span_first_ns
                                          ? st->rf.span_last_ns - st->rf.span_first_ns
                                          : 0));
    } else {
        snprintf(reply, cap, "error unknown command\n");
    }
}

static void usage(FILE *f)
{
    fprintf(f, "usage: hawiya-vcard (--line PATH | --vpcd HOST:PORT) --personas FILE "
               "[--persona ID] [--control PATH] [--absent] [--pki DIR] [--rf PATH [--field]]\n");
}

/* A TCP connection to vpcd, or -1. */
static int vpcd_connect(const char *host, const char *port)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    if (getaddrinfo(host, port, &hints, &res) != 0)
        return -1;
    int fd = -1;
    for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd >= 0 && connect(fd, a->ai_addr, a->ai_addrlen) < 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd >= 0) {
        /* One small message each way per exchange: no Nagle delay. */
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    return fd;
}

/* Everything vpcd sent that makes whole messages; false: the link is to be closed. */
static bool vpcd_input(struct vcard_state *st)
{
    ssize_t r =
        read(st->vpcd_fd, st->vpcd_in + st->vpcd_in_len, sizeof st->vpcd_in - st->vpcd_in_len);
    if (r <= 0)
        return false;
    /* vpcd writes a message's length and its bytes in two sends, and holds
     * the second (Nagle) until the first is acknowledged: acknowledge at
     * once instead of after Linux's delayed-ACK timer (~40 ms per APDU). */
    int one = 1;
    setsockopt(st->vpcd_fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
    st->vpcd_in_len += (size_t)r;
    size_t off = 0;
    for (;;) {
        size_t n, out_len;
        enum vpcd_err e = vpcd_frame(st->vpcd_in + off, st->vpcd_in_len - off, &n);
        if (e == VPCD_ERR_NEED_MORE)
            break;
        if (e == VPCD_OK)
            e = vpcd_handle(&st->vpcd, st->vpcd_in + off + VPCD_HEADER, n - VPCD_HEADER,
                            st->vpcd_out, sizeof st->vpcd_out, &out_len);
        if (e != VPCD_OK) {
            fprintf(stderr, "hawiya-vcard: vpcd: %s\n", vpcd_err_str(e));
            return false;
        }
        if (out_len && write_all(st->vpcd_fd, st->vpcd_out, out_len))
            return false;
        off += n;
    }
    memmove(st->vpcd_in, st->vpcd_in + off, st->vpcd_in_len - off);
    st->vpcd_in_len -= off;
    return true;
}

static void serve_control(struct vcard_state *st, int ctl_fd)
{
    int c = accept4(ctl_fd, NULL, NULL, SOCK_CLOEXEC);
    if (c < 0)
        return;
    char cmd[128] = {0}, reply[768];
    struct pollfd cp = {.fd = c, .events = POLLIN};
    if (poll(&cp, 1, 1000) > 0 && read(c, cmd, sizeof cmd - 1) > 0) {
        control_command(st, cmd, reply, sizeof reply);
        flush_line(st);
        flush_rf(st);
        write_all(c, (const uint8_t *)reply, strlen(reply));
    }
    close(c);
}

/* --vpcd: the card on vsmartcard's reader driver, until SIGINT / SIGTERM. */
static void serve_vpcd(struct vcard_state *st, int ctl_fd, int sig_fd)
{
    for (;;) {
        if (st->vpcd_fd < 0 && st->present) {
            st->vpcd_fd = vpcd_connect(st->vpcd_host, st->vpcd_port);
            st->vpcd.card = &st->chips[0].card;
            st->vpcd.persona = &st->chips[0].persona;
            st->vpcd.powered = false;
            st->vpcd_in_len = 0;
        }
        struct pollfd p[3] = {
            {.fd = st->vpcd_fd, .events = POLLIN},
            {.fd = ctl_fd, .events = POLLIN},
            {.fd = sig_fd, .events = POLLIN},
        };
        /* Not connected: try again in 100 ms (the driver comes with pcscd). */
        int k = poll(p, 3, st->vpcd_fd >= 0 ? 1000 : 100);
        if (k <= 0)
            continue;
        if (p[2].revents)
            return;
        if (st->vpcd_fd >= 0 && p[0].revents && !vpcd_input(st))
            vpcd_close(st);
        if (ctl_fd >= 0 && p[1].revents)
            serve_control(st, ctl_fd);
    }
}

/* Records from one reader socket into card_line (contact) or rf_field. */
static void reader_input(struct vcard_state *st, bool rf, const struct simline_msg *m)
{
    if (rf) {
        rf_field_input(&st->rf, m);
        flush_rf(st);
        if (st->swap_id[0] && st->rf.deselects != st->swap_deselects) {
            /* before the reader's next frame: its next poll finds the new card */
            if (load_card(st, st->swap_id) != 0)
                fprintf(stderr, "hawiya-vcard: persona-after-deselect %s failed\n", st->swap_id);
            st->swap_id[0] = '\0';
        }
    } else {
        card_line_input(&st->line, m);
        flush_line(st);
    }
}

/* Reads what a reader sent and feeds every whole record; false when the
 * reader went away or sent garbage (its socket is closed). */
static bool pump(struct vcard_state *st, bool rf, int *fd, uint8_t *buf, size_t cap, size_t *len)
{
    ssize_t r = read(*fd, buf + *len, cap - *len);
    if (r <= 0) {
        close(*fd);
        *fd = -1;
        return false;
    }
    *len += (size_t)r;
    size_t off = 0;
    for (;;) {
        struct simline_msg m;
        size_t used;
        enum simline_err e = simline_decode(buf + off, *len - off, &m, &used);
        if (e == SIMLINE_ERR_INCOMPLETE)
            break;
        if (e != SIMLINE_OK) {
            fprintf(stderr, "hawiya-vcard: bad record from the reader: %s\n", simline_err_str(e));
            close(*fd);
            *fd = -1;
            *len = 0;
            return false;
        }
        reader_input(st, rf, &m);
        off += used;
    }
    memmove(buf, buf + off, *len - off);
    *len -= off;
    return true;
}

static void free_state(struct vcard_state *st)
{
    for (unsigned i = 0; i < RF_FIELD_CARDS; i++) {
        icao_applet_wipe(&st->chips[i].icao);
        pki_card_free(&st->chips[i].pki);
        persona_clear(&st->chips[i].persona);
    }
    free(st);
}

int main(int argc, char **argv)
{
    const char *line_path = NULL, *control_path = NULL, *rf_path = NULL, *id = "default",
               *vpcd = NULL;
    char vpcd_host[256];
    struct vcard_state *st = calloc(1, sizeof *st);
    if (!st)
        return 1;
    st->present = true;
    st->reader_fd = st->rf_fd = st->vpcd_fd = -1;
    rf_field_init(&st->rf);

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--absent")) {
            st->present = false;
            continue;
        }
        if (!strcmp(argv[i], "--field")) {
            st->tapped = true;
            continue;
        }
        if (i + 1 >= argc) {
            usage(stderr);
            free(st);
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
        else if (!strcmp(argv[i - 1], "--rf"))
            rf_path = v;
        else if (!strcmp(argv[i - 1], "--vpcd"))
            vpcd = v;
        else {
            usage(stderr);
            free(st);
            return 2;
        }
    }
    if (!line_path == !vpcd || !st->personas_path || (st->tapped && !rf_path) ||
        (vpcd && rf_path)) {
        usage(stderr);
        free(st);
        return 2;
    }
    if (vpcd) {
        /* HOST:PORT, the last colon separating them (HOST may be an IPv6 address). */
        const char *colon = strrchr(vpcd, ':');
        size_t hl = colon ? (size_t)(colon - vpcd) : 0;
        if (!colon || hl == 0 || hl >= sizeof vpcd_host || !colon[1]) {
            usage(stderr);
            free(st);
            return 2;
        }
        memcpy(vpcd_host, vpcd, hl);
        vpcd_host[hl] = '\0';
        st->vpcd_host = vpcd_host;
        st->vpcd_port = colon + 1;
    }
    if (st->tapped)
        st->present = false; /* one card, one place */
    int rc = 1;
    if (load_card(st, id) != 0)
        goto out;
    if (st->tapped && !st->chips[0].persona.contactless) {
        fprintf(stderr, "hawiya-vcard: persona '%s' has no contactless interface\n", id);
        goto out;
    }

    /* SIGINT and SIGTERM end the loop through a signalfd. */
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    sigprocmask(SIG_BLOCK, &stop_signals, NULL);
    int sig_fd = signalfd(-1, &stop_signals, SFD_CLOEXEC);
    signal(SIGPIPE, SIG_IGN);

    int ctl_fd = control_path ? listen_unix(control_path) : -1;
    if (sig_fd < 0 || (control_path && ctl_fd < 0))
        goto out;
    if (vpcd) {
        serve_vpcd(st, ctl_fd, sig_fd);
        vpcd_close(st);
        if (control_path)
            unlink(control_path);
        rc = 0;
        goto out;
    }
    int line_fd = listen_unix(line_path);
    int rf_listen = rf_path ? listen_unix(rf_path) : -1;
    if (line_fd < 0 || (rf_path && rf_listen < 0))
        goto out;

    size_t in_len = 0, rf_len = 0;
    for (;;) {
        struct pollfd p[4] = {
            {.fd = st->reader_fd >= 0 ? st->reader_fd : line_fd, .events = POLLIN},
            {.fd = ctl_fd, .events = POLLIN},
            {.fd = sig_fd, .events = POLLIN},
            {.fd = st->rf_fd >= 0 ? st->rf_fd : rf_listen, .events = POLLIN},
        };
        if (poll(p, 4, 200) <= 0)
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
        } else if (p[0].revents &&
                   !pump(st, false, &st->reader_fd, st->inbuf, sizeof st->inbuf, &in_len)) {
            card_line_input(&st->line, &(struct simline_msg){.type = SIMLINE_VCC});
            st->line.out_len = 0;
            in_len = 0;
        }
        if (rf_listen >= 0 && p[3].revents && st->rf_fd < 0) {
            st->rf_fd = accept4(rf_listen, NULL, NULL, SOCK_CLOEXEC);
            rf_len = 0;
            rf_field_new_reader(&st->rf);
            st->rf.out_len = 0;
        } else if (rf_listen >= 0 && p[3].revents &&
                   !pump(st, true, &st->rf_fd, st->rfbuf, sizeof st->rfbuf, &rf_len)) {
            rf_field_new_reader(&st->rf);
            st->rf.out_len = 0;
            rf_len = 0;
        }
        if (ctl_fd >= 0 && p[1].revents)
            serve_control(st, ctl_fd);
    }
    unlink(line_path);
    if (control_path)
        unlink(control_path);
    if (rf_path)
        unlink(rf_path);
    rc = 0;
out:
    free_state(st);
    return rc;
}

/* The sim board's contactless front end (hal/rf.h) over a socket to
 * hawiya-vcard's RF field, carrying simline RF records. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "hal/rf.h"
#include "hal/timer.h"
#include "hawiya/iso14443.h"
#include "hawiya/simline.h"
#include "sim_board.h"

/* The board is the one place where the firmware has global state. */
static struct {
    struct sim_rf_config cfg;
    int fd;
    bool field;
    enum iso14443_type type;
    unsigned tx_rate, rx_rate;
    uint8_t in[2 * (SIMLINE_HEADER_SIZE + SIMLINE_MAX_PAYLOAD)];
    size_t in_len;
    unsigned outstanding; /* records sent, SYNC not yet back */
    /* the first answer to the frame in flight */
    bool have_answer;
    uint64_t answer_t;
    struct simline_rf answer;
    uint8_t answer_data[SIMLINE_RF_MAX];
    uint64_t rng;
    struct sim_rf_stats stats;
} R = {.fd = -1};

static uint64_t prng(void)
{
    uint64_t x = R.rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    R.rng = x;
    return x * 0x2545F4914F6CDD1Dull;
}

/* Which fault hits this frame: 0 or one SIM_RF_FAULT_* bit. */
static unsigned fault(void)
{
    if (R.cfg.fault_rate <= 0 || R.cfg.fault_kinds == 0)
        return 0;
    if ((double)(prng() >> 11) / (double)(1ull << 53) >= R.cfg.fault_rate)
        return 0;
    unsigned kinds[3], n = 0;
    for (unsigned k = SIM_RF_FAULT_LOST; k <= SIM_RF_FAULT_LATE; k <<= 1)
        if (R.cfg.fault_kinds & k)
            kinds[n++] = k;
    R.stats.faults++;
    return kinds[prng() % n];
}

static void disconnect(const char *why)
{
    if (R.fd >= 0)
        fprintf(stderr, "sim-board: RF socket closed: %s\n", why);
    if (R.fd >= 0)
        close(R.fd);
    R.fd = -1;
    R.in_len = 0;
    R.outstanding = 0;
}

static void try_connect(void)
{
    if (R.fd >= 0 || !R.cfg.path)
        return;
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (strlen(R.cfg.path) >= sizeof a.sun_path)
        return;
    strcpy(a.sun_path, R.cfg.path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return;
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        close(fd);
        return;
    }
    R.fd = fd;
    R.field = false;
}

static void send_record(const struct simline_msg *m)
{
    uint8_t buf[SIMLINE_HEADER_SIZE + SIMLINE_MAX_PAYLOAD];
    size_t n;
    if (R.fd < 0 || simline_encode(m, buf, sizeof buf, &n) != SIMLINE_OK)
        return;
    for (size_t off = 0; off < n;) {
        ssize_t w = send(R.fd, buf + off, n - off, MSG_NOSIGNAL);
        if (w <= 0) {
            disconnect(strerror(errno));
            return;
        }
        off += (size_t)w;
    }
    R.outstanding++;
}

/* Reads the cards' answers until they say they are quiet (SYNC). */
static void pump_until_quiet(void)
{
    while (R.fd >= 0 && R.outstanding > 0) {
        struct pollfd p = {.fd = R.fd, .events = POLLIN};
        if (poll(&p, 1, 30000) <= 0) {
            disconnect("no answer from the card process for 30 s");
            return;
        }
        ssize_t r = read(R.fd, R.in + R.in_len, sizeof R.in - R.in_len);
        if (r <= 0) {
            disconnect(r == 0 ? "peer closed" : strerror(errno));
            return;
        }
        R.in_len += (size_t)r;
        size_t off = 0;
        for (;;) {
            struct simline_msg m;
            size_t used;
            enum simline_err e = simline_decode(R.in + off, R.in_len - off, &m, &used);
            if (e == SIMLINE_ERR_INCOMPLETE)
                break;
            if (e != SIMLINE_OK || (m.type != SIMLINE_RF_FRAME && m.type != SIMLINE_SYNC)) {
                disconnect(e != SIMLINE_OK ? simline_err_str(e) : "unexpected record");
                return;
            }
            if (m.type == SIMLINE_SYNC) {
                R.outstanding--;
            } else if (!R.have_answer) {
                R.have_answer = true;
                R.answer_t = m.t_ns;
                R.answer = m.u.rf;
                memcpy(R.answer_data, m.u.rf.data, simline_rf_bytes(m.u.rf.align, m.u.rf.n_bits));
                R.answer.data = R.answer_data;
            }
            off += used;
        }
        memmove(R.in, R.in + off, R.in_len - off);
        R.in_len -= off;
    }
}

void hal_rf_caps(struct rf_caps *c)
{
    unsigned max = R.cfg.max_rate > ISO14443_848 ? ISO14443_848 : R.cfg.max_rate;
    *c = (struct rf_caps){
        .flags = R.cfg.soft_crc ? 0 : RF_CAP_CRC_A | RF_CAP_CRC_B,
        .rates = R.cfg.path ? (2u << max) - 1 : 0,
        .max_frame = SIMLINE_RF_MAX,
    };
}

void hal_rf_field(bool on)
{
    try_connect();
    R.field = on;
    struct simline_msg m = {.type = SIMLINE_RF_FIELD, .t_ns = hal_now_ns()};
    m.u.field = on;
    send_record(&m);
    pump_until_quiet();
    R.have_answer = false;
}

void hal_rf_configure(enum rf_tech tech, unsigned tx_rate, unsigned rx_rate)
{
    R.type = tech == RF_TECH_A ? ISO14443_A : ISO14443_B;
    R.tx_rate = tx_rate & 3u;
    R.rx_rate = rx_rate & 3u;
}

static void timeout(struct rf_result *r, uint64_t end, uint64_t timeout_ns)
{
    sim_advance_to(end + timeout_ns);
    r->status = RF_RX_TIMEOUT;
}

void hal_rf_transceive(const struct rf_xfer *x, struct rf_result *r)
{
    *r = (struct rf_result){.status = RF_RX_TIMEOUT};
    uint8_t frame[SIMLINE_RF_MAX];
    size_t nbytes = (x->tx_bits + 7) / 8, bits = x->tx_bits;
    if (nbytes + ISO14443_CRC_LEN > sizeof frame) {
        r->status = RF_RX_FRAMING;
        return;
    }
    memcpy(frame, x->tx, nbytes);
    if (x->crc) {
        iso14443_crc_append(R.type, frame, nbytes);
        nbytes += ISO14443_CRC_LEN;
        bits += 8 * ISO14443_CRC_LEN;
    }
    uint64_t start = hal_now_ns();
    uint64_t end = start + iso14443_frame_ns(R.type, R.tx_rate, false, bits);
    R.stats.frames_tx++;
    R.stats.air_ns += end - start;
    if (R.fd < 0 || !R.field) {
        timeout(r, end, x->timeout_ns);
        return;
    }
    unsigned f = fault();
    if (f == SIM_RF_FAULT_LOST) {
        timeout(r, end, x->timeout_ns); /* the cards never heard it */
        return;
    }
    if (f == SIM_RF_FAULT_CRC) {
        size_t bit = prng() % bits;
        frame[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    struct simline_msg m = {.type = SIMLINE_RF_FRAME, .t_ns = start};
    m.u.rf = (struct simline_rf){.type = (uint8_t)R.type,
                                 .rate = (uint8_t)R.tx_rate,
                                 .n_bits = (uint16_t)bits,
                                 .data = frame};
    R.have_answer = false;
    send_record(&m);
    sim_advance_to(end);
    pump_until_quiet();
    if (!R.have_answer || R.answer_t > end + x->timeout_ns) {
        timeout(r, end, x->timeout_ns);
        return;
    }
    const struct simline_rf *a = &R.answer;
    uint64_t a_end = R.answer_t + iso14443_frame_ns((enum iso14443_type)a->type,
                                                    (enum iso14443_rate)a->rate, true, a->n_bits);
    f = fault();
    if (f == SIM_RF_FAULT_LOST || f == SIM_RF_FAULT_LATE) {
        /* lost, or it started after we stopped listening */
        timeout(r, end, x->timeout_ns);
        return;
    }
    R.stats.frames_rx++;
    R.stats.air_ns += a_end - R.answer_t;
    sim_advance_to(a_end);
    size_t abytes = simline_rf_bytes(a->align, a->n_bits);
    if (abytes > x->rx_cap) {
        r->status = RF_RX_OVERFLOW;
        return;
    }
    memcpy(x->rx, a->data, abytes);
    r->rx_bits = a->n_bits;
    /* A receiver set for another type or rate decodes nothing sensible. */
    if (a->type != (uint8_t)R.type || a->rate != R.rx_rate || (a->flags & SIMLINE_RF_DAMAGED) ||
        a->align != x->rx_align) {
        r->status = RF_RX_FRAMING;
        return;
    }
    if (a->flags & SIMLINE_RF_COLLISION) {
        r->status = RF_RX_COLLISION;
        r->coll_bit = a->coll_bit;
        return;
    }
    if (f == SIM_RF_FAULT_CRC) {
        /* Type A: the byte's parity bit shows it at once; Type B: only the CRC */
        if (R.type == ISO14443_A) {
            r->status = RF_RX_FRAMING;
            return;
        }
        size_t bit = prng() % a->n_bits;
        x->rx[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    r->status = RF_RX_OK;
    if (x->crc) {
        if (a->n_bits % 8 != 0 || a->align != 0 || !iso14443_crc_ok(R.type, x->rx, abytes)) {
            r->status = RF_RX_CRC;
            return;
        }
        r->rx_bits -= 8 * ISO14443_CRC_LEN;
    }
}

void sim_rf_init(const struct sim_rf_config *cfg)
{
    R.cfg = *cfg;
    R.rng = cfg->fault_seed ? cfg->fault_seed : 0x2545F4914F6CDD1Dull;
    /* hawiya-vcard may still be starting: retry for 5 s. */
    for (int i = 0; i < 100 && cfg->path && R.fd < 0; i++) {
        try_connect();
        if (R.fd < 0)
            usleep(50000);
    }
}

bool sim_rf_configured(void)
{
    return R.cfg.path != NULL;
}

void sim_rf_idle(void)
{
    try_connect();
}

void sim_rf_close(void)
{
    if (R.fd >= 0)
        close(R.fd);
    R.fd = -1;
}

void sim_rf_stats(struct sim_rf_stats *s, bool reset)
{
    *s = R.stats;
    if (reset)
        memset(&R.stats, 0, sizeof R.stats);
}

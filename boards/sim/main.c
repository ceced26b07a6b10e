/* hawiya-sim-reader: the reader firmware on the POSIX board. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ccid_device.h"
#include "session.h"
#include "hal/board.h"
#include "harden.h"
#include "sim_board.h"
#include "usb_ccid.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static void usage(FILE *f)
{
    fprintf(
        f, "usage: hawiya-sim-reader --card PATH (--host PATH | --usbredir PATH|PORT)\n"
           "         [--state DIR]\n"
           "         [--fault-rate R] [--fault-seed N] [--fault-kinds flip,drop,dup]\n"
           "         [--classes CBA] [--clk-max HZ] [--max-baud BPS] [--realtime]\n"
           "         [--rf PATH [--rf-max-kbps 106|212|424|848] [--rf-soft-crc]\n"
           "          [--rf-fault-rate R] [--rf-fault-seed N] [--rf-fault-kinds lost,crc,late]]\n");
}

static unsigned parse_classes(const char *s)
{
    unsigned m = 0;
    for (; *s; s++) {
        if (*s == 'A' || *s == 'a')
            m |= 1u << SC_CLASS_A;
        else if (*s == 'B' || *s == 'b')
            m |= 1u << SC_CLASS_B;
        else if (*s == 'C' || *s == 'c')
            m |= 1u << SC_CLASS_C;
        else
            return 0;
    }
    return m;
}

static unsigned parse_rf_kinds(const char *s)
{
    unsigned k = 0;
    char buf[64];
    snprintf(buf, sizeof buf, "%s", s);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (!strcmp(t, "lost"))
            k |= SIM_RF_FAULT_LOST;
        else if (!strcmp(t, "crc"))
            k |= SIM_RF_FAULT_CRC;
        else if (!strcmp(t, "late"))
            k |= SIM_RF_FAULT_LATE;
        else
            return 0;
    }
    return k;
}

/* 106, 212, 424 or 848 kbit/s as enum iso14443_rate; -1 otherwise. */
static int parse_kbps(const char *s)
{
    static const char *const names[4] = {"106", "212", "424", "848"};
    for (int r = 0; r < 4; r++)
        if (!strcmp(s, names[r]))
            return r;
    return -1;
}

/* The device and the session are large (message and file buffers); they
 * live in static storage. */
static struct ccid_device dev __attribute__((aligned(4096)));
static struct session session __attribute__((aligned(4096)));
static struct usb_ccid usb __attribute__((aligned(4096)));

int main(int argc, char **argv)
{
    struct sim_config cfg = {
        .fault_kinds = SIMLINE_FAULT_FLIP,
        .classes = (1u << SC_CLASS_A) | (1u << SC_CLASS_B) | (1u << SC_CLASS_C),
        .clk_max_hz = 20000000,
    };
    struct slot_limits lim = {.max_baud = 825000, .di_supported = 0x03FE, .ifsd = 254};
    struct sim_rf_config rf = {
        .fault_kinds = SIM_RF_FAULT_LOST | SIM_RF_FAULT_CRC | SIM_RF_FAULT_LATE, .max_rate = 3};

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--realtime")) {
            cfg.realtime = true;
            continue;
        }
        if (!strcmp(a, "--rf-soft-crc")) {
            rf.soft_crc = true;
            continue;
        }
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        }
        if (!v) {
            usage(stderr);
            return 2;
        }
        i++;
        if (!strcmp(a, "--card"))
            cfg.card_path = v;
        else if (!strcmp(a, "--host"))
            cfg.host_path = v;
        else if (!strcmp(a, "--usbredir"))
            cfg.usbredir = v;
        else if (!strcmp(a, "--state"))
            cfg.state_dir = v;
        else if (!strcmp(a, "--fault-rate"))
            cfg.fault_rate = strtod(v, NULL);
        else if (!strcmp(a, "--fault-seed"))
            cfg.fault_seed = strtoull(v, NULL, 0);
        else if (!strcmp(a, "--fault-kinds"))
            cfg.fault_kinds = simline_fault_kinds(v);
        else if (!strcmp(a, "--classes"))
            cfg.classes = parse_classes(v);
        else if (!strcmp(a, "--clk-max"))
            cfg.clk_max_hz = (uint32_t)strtoul(v, NULL, 0);
        else if (!strcmp(a, "--max-baud"))
            lim.max_baud = (uint32_t)strtoul(v, NULL, 0);
        else if (!strcmp(a, "--rf"))
            rf.path = v;
        else if (!strcmp(a, "--rf-fault-rate"))
            rf.fault_rate = strtod(v, NULL);
        else if (!strcmp(a, "--rf-fault-seed"))
            rf.fault_seed = strtoull(v, NULL, 0);
        else if (!strcmp(a, "--rf-fault-kinds"))
            rf.fault_kinds = parse_rf_kinds(v);
        else if (!strcmp(a, "--rf-max-kbps")) {
            int r = parse_kbps(v);
            if (r < 0) {
                usage(stderr);
                return 2;
            }
            rf.max_rate = (unsigned)r;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (!cfg.card_path || !cfg.host_path == !cfg.usbredir || !cfg.classes || !cfg.fault_kinds ||
        cfg.fault_rate < 0 || cfg.fault_rate > 1 || !rf.fault_kinds || rf.fault_rate < 0 ||
        rf.fault_rate > 1) {
        usage(stderr);
        return 2;
    }
    lim.classes = cfg.classes;
    lim.clk_max_hz = cfg.clk_max_hz;

    /* A CAN passes through here (the host's escape, the session): no core
     * dump, no ptrace by our own user, and these buffers out of any dump
     * the system still asks for (host/posix/harden.h). */
    if (!harden_process() || !secret_region(&dev, sizeof dev) ||
        !secret_region(&session, sizeof session) || !secret_region(&usb, sizeof usb)) {
        fprintf(stderr, "hawiya-sim-reader: cannot keep secrets out of core dumps\n");
        return 1;
    }

    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (sim_board_init(&cfg) < 0)
        return 1;
    sim_rf_init(&rf);
    ccid_device_init(&dev, &lim);
    session_init(&session);
    session_build_tables(&session);
    if (session.attest.state != ATTEST_OK)
        fprintf(stderr, "hawiya-sim-reader: attestation is off: %s (%s)\n",
                attest_err_str(session.attest.state), store_err_str(session.attest.store.state));
    dev.escape = session_escape;
    dev.escape_ctx = &session;
    dev.host_gone = session_host_gone;
    if (cfg.usbredir) {
        usb_ccid_init(&usb, &dev, "Hawiya", "Hawiya eID Reader", "SIM0001");
        sim_board_use_usb(&usb);
        usb_device_attach(&usb.usb, true);
    }
    while (!stop) {
        hal_idle(50);
        ccid_device_poll(&dev);
    }
    slot_power_off(&dev.slot);
    cl_slot_power_off(&dev.cl);
    if (sim_rf_configured()) {
        struct sim_rf_stats st;
        sim_rf_stats(&st, false);
        fprintf(stderr,
                "hawiya-sim-reader: RF: %llu frames sent, %llu received, %.1f ms on the air, "
                "%llu faults injected\n",
                (unsigned long long)st.frames_tx, (unsigned long long)st.frames_rx,
                (double)st.air_ns / 1e6, (unsigned long long)st.faults);
    }
    sim_rf_close();
    sim_board_close();
    return 0;
}

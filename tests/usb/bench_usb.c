/*
 * bench_usb: one APDU (READ BINARY of 8, 256 and 4096 bytes from the
 * persona usb-sweep's plain file) through two paths to the same reader
 * firmware and virtual card, side by side:
 *   socket  the sim board's host link, CCID straight from this process;
 *   USB     pcscd + libccid in the QEMU guest, over USB through usbredir
 *           (tests/usb/guest_pcsc.c).
 * Wall time per APDU, and the reader's own CPU time per APDU (the sim
 * reader process, /proc/PID/schedstat): the USB device layer's cost shows
 * as the difference. The guest runs under TCG (no KVM here), so its side of
 * the wall time is an emulated CPU's: an upper bound for real hardware.
 * Prints figures, fails only when it cannot measure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "guest.h"

#define TIMEOUT_MS 20000

static double now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static const unsigned sizes[3] = {8, 256, 4096};

struct figure {
    double wall_us, cpu_us;
};

static int socket_path(struct figure out[3])
{
    struct sim_env env;
    if (sim_env_start(&env, "usb-sweep", NULL) != 0)
        return -1;
    static uint8_t resp[70000];
    size_t n;
    int rc = -1;
    const uint8_t sel_mf[] = {0x00, 0xA4, 0x00, 0x0C};
    const uint8_t sel[] = {0x00, 0xA4, 0x02, 0x0C, 0x02, 0x0F, 0x0F};
    if (ccid_link_power_on(&env.link, CCID_POWER_AUTO, resp, sizeof resp, &n, TIMEOUT_MS) ||
        ccid_link_xfr(&env.link, sel_mf, sizeof sel_mf, resp, sizeof resp, &n, TIMEOUT_MS) ||
        ccid_link_xfr(&env.link, sel, sizeof sel, resp, sizeof resp, &n, TIMEOUT_MS))
        goto out;
    for (int s = 0; s < 3; s++) {
        uint8_t a[7] = {0x00, 0xB0, 0x00, 0x00};
        size_t al = 4;
        if (sizes[s] > 256) {
            a[al++] = 0;
            a[al++] = (uint8_t)(sizes[s] >> 8);
        }
        a[al++] = (uint8_t)sizes[s];
        unsigned runs = sizes[s] > 256 ? 50 : 200;
        uint64_t c0 = guest_process_cpu_ns(env.reader);
        double t0 = now_us();
        for (unsigned i = 0; i < runs; i++)
            if (ccid_link_xfr(&env.link, a, al, resp, sizeof resp, &n, TIMEOUT_MS) ||
                n != sizes[s] + 2)
                goto out;
        out[s].wall_us = (now_us() - t0) / runs;
        out[s].cpu_us = (double)(guest_process_cpu_ns(env.reader) - c0) / 1e3 / runs;
    }
    rc = 0;
out:
    sim_env_stop(&env);
    return rc;
}

int main(void)
{
    struct figure sock[3], usb[3];
    if (socket_path(sock) != 0) {
        fprintf(stderr, "bench_usb: the socket path failed\n");
        return 1;
    }
    struct sim_env env;
    struct guest_result res;
    const char *programs[] = {getenv("HAWIYA_GUEST_PCSC"), NULL};
    if (!programs[0] || sim_env_start_usbredir(&env, NULL, "usb-sweep") != 0) {
        fprintf(stderr, "bench_usb: cannot start the USB reader\n");
        return 1;
    }
    int r = guest_run(&env, programs, "pcsc", "3B95968031FE458073B421402F,bench", 900, &res);
    sim_env_stop(&env);
    free(res.assertion);
    if (r != 0 || res.exit_status != 0 || res.n_bench != 3 || res.pcscd_other_exits != 0) {
        fprintf(stderr, "bench_usb: the guest did not measure (exit %d, %zu figures)\n",
                res.exit_status, res.n_bench);
        return 1;
    }
    for (int s = 0; s < 3; s++) {
        usb[s].wall_us = res.bench_value[s];
        usb[s].cpu_us = res.bench_reader_cpu_ns[s] / 1e3 / res.bench_runs[s];
    }
    printf("bench_usb: one READ BINARY, mean per APDU; reader CPU = the sim reader process (the "
           "firmware, and on USB the sim board's usbredir bus too)\n");
    printf("bench_usb: %-8s %-26s %-36s %s\n", "Le", "socket (CCID direct)",
           "USB (pcscd + libccid, guest under TCG)", "USB/socket");
    for (int s = 0; s < 3; s++)
        printf("bench_usb: %-8u %8.0f us, CPU %6.1f us    %8.0f us, CPU %6.1f us             "
               "wall x%.1f, reader CPU x%.2f\n",
               sizes[s], sock[s].wall_us, sock[s].cpu_us, usb[s].wall_us, usb[s].cpu_us,
               usb[s].wall_us / sock[s].wall_us, usb[s].cpu_us / sock[s].cpu_us);
    printf("bench_usb: the guest's whole run (boot, pcscd, the sweep, the bench, power-off): "
           "%.1f s\n",
           res.wall_s);
    return 0;
}

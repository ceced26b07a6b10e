/*
 * Bridge benchmark: `status` round-trip latency with 200 clients connected
 * to hawiya-bridge at once (one reader up, from sim_env), and the bridge's
 * peak resident memory (VmHWM, /proc/PID/status). Two loads: "rotating",
 * one request in flight at a time passed round the 200 connections, and
 * "burst", all 200 clients asking at the same instant, each latency from
 * that client's send to its answer (the bridge serves them one after the
 * other, so the last waits for those before it), and the time until all
 * 200 are answered. Goals: p99 under 2 ms, RSS under 8 MiB.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sim_env.h"

enum { CLIENTS = 200, ROUNDS = 25, BURSTS = 100 };
#define REQUEST "{\"id\":1,\"method\":\"status\"}\n"

static double now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double *v, size_t n, double p)
{
    qsort(v, n, sizeof v[0], cmp_double);
    size_t i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
    return v[i];
}

/* Reads until one whole line arrived on fd (answers here are short). */
static int read_line(int fd)
{
    char buf[2048];
    size_t n = 0;
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 5000) <= 0)
            return -1;
        ssize_t k = read(fd, buf + n, sizeof buf - n);
        if (k <= 0)
            return -1;
        n += (size_t)k;
        if (memchr(buf, '\n', n))
            return 0;
        if (n == sizeof buf)
            return -1;
    }
}

/* CPU time of the bridge's main thread (the event loop), ns: schedstat's first field. */
static uint64_t loop_cpu_ns(pid_t pid)
{
    char path[64];
    unsigned long long ns = 0;
    snprintf(path, sizeof path, "/proc/%d/schedstat", (int)pid);
    FILE *f = fopen(path, "r");
    if (f && fscanf(f, "%llu", &ns) != 1)
        ns = 0;
    if (f)
        fclose(f);
    return ns;
}

static long vm_hwm_kib(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmHWM:", 6))
            kib = strtol(line + 6, NULL, 10);
    if (f)
        fclose(f);
    return kib;
}

int main(int argc, char **argv)
{
    const char *exe = argc > 1 ? argv[1] : getenv("HAWIYA_BRIDGE");
    static struct sim_env env;
    static double lat[CLIENTS * BURSTS];
    int fds[CLIENTS];
    char sock[320], conf[320];
    int rc = 1;
    pid_t bridge = -1;

    if (!exe || sim_env_start(&env, "default", NULL) != 0) {
        fprintf(stderr, "bench_bridge: cannot start the sim reader (or no bridge binary)\n");
        return 1;
    }
    ccid_link_close(&env.link);
    snprintf(sock, sizeof sock, "%s/bridge.sock", env.dir);
    snprintf(conf, sizeof conf, "%s/bridge.conf", env.dir);
    FILE *f = fopen(conf, "w");
    if (!f)
        goto out;
    fprintf(f, "origin = https://record.example\nreader = sim:r1:%s\nlog_level = warn\n",
            env.host_path);
    fclose(f);
    bridge = fork();
    if (bridge == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        execl(exe, exe, "--config", conf, "--socket", sock, (char *)NULL);
        _exit(127);
    }
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", sock);
    for (int i = 0; i < CLIENTS; i++) {
        fds[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int tries = 0;
        while (connect(fds[i], (struct sockaddr *)&a, sizeof a) < 0 && tries++ < 300)
            usleep(10000);
        if (tries > 300) {
            fprintf(stderr, "bench_bridge: cannot connect to the bridge\n");
            goto out;
        }
    }
    /* Warm-up: every connection once. */
    for (int i = 0; i < CLIENTS; i++)
        if (send(fds[i], REQUEST, strlen(REQUEST), MSG_NOSIGNAL) < 0 || read_line(fds[i]) < 0)
            goto fail;

    size_t n = 0;
    for (int r = 0; r < ROUNDS; r++)
        for (int i = 0; i < CLIENTS; i++) {
            double t0 = now_us();
            if (send(fds[i], REQUEST, strlen(REQUEST), MSG_NOSIGNAL) < 0 || read_line(fds[i]) < 0)
                goto fail;
            lat[n++] = now_us() - t0;
        }
    double p50 = pct(lat, n, 50), p99 = pct(lat, n, 99);
    printf("bench_bridge: status, %d clients connected, rotating: p50 %.3f ms  p99 %.3f ms  "
           "(%zu requests)  goal p99 < 2 ms: %s\n",
           CLIENTS, p50 / 1e3, p99 / 1e3, n, p99 < 2000 ? "met" : "NOT met");

    /* Burst: each latency runs from that client's send to the moment its
     * answer is readable (epoll here, so an answer is not charged for the
     * bench reading the others first); "all answered" is the whole burst. */
    int cep = epoll_create1(EPOLL_CLOEXEC);
    for (int i = 0; i < CLIENTS && cep >= 0; i++) {
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        if (epoll_ctl(cep, EPOLL_CTL_ADD, fds[i], &ev) < 0)
            goto fail;
    }
    if (cep < 0)
        goto fail;
    static double sent[CLIENTS], all[BURSTS];
    n = 0;
    uint64_t cpu0 = loop_cpu_ns(bridge);
    for (int r = 0; r < BURSTS; r++) {
        double t0 = now_us(), last = t0;
        for (int i = 0; i < CLIENTS; i++) {
            sent[i] = now_us();
            if (send(fds[i], REQUEST, strlen(REQUEST), MSG_NOSIGNAL) < 0)
                goto fail;
        }
        for (int got = 0; got < CLIENTS;) {
            struct epoll_event evs[CLIENTS];
            int k = epoll_wait(cep, evs, CLIENTS, 5000);
            if (k <= 0)
                goto fail;
            double t = now_us();
            for (int j = 0; j < k; j++) {
                int i = (int)evs[j].data.u32;
                if (read_line(fds[i]) < 0)
                    goto fail;
                lat[n++] = t - sent[i];
                last = t;
                got++;
            }
        }
        all[r] = last - t0;
    }
    double cpu_us = (double)(loop_cpu_ns(bridge) - cpu0) / 1e3 / (double)n;
    close(cep);
    p50 = pct(lat, n, 50);
    p99 = pct(lat, n, 99);
    printf("bench_bridge: status, %d clients asking at once (burst): p50 %.3f ms  p99 %.3f ms  "
           "(%zu requests, send to answer)  goal p99 < 2 ms: %s\n",
           CLIENTS, p50 / 1e3, p99 / 1e3, n, p99 < 2000 ? "met" : "NOT met");
    printf("bench_bridge: status, burst of %d: all answered %.3f ms after the first send "
           "(median of %d bursts); the bridge's event loop spent %.2f us of CPU per request\n",
           CLIENTS, pct(all, BURSTS, 50) / 1e3, BURSTS, cpu_us);
    long hwm = vm_hwm_kib(bridge);
    printf("bench_bridge: bridge peak RSS (VmHWM) %.2f MiB  goal < 8 MiB: %s\n",
           (double)hwm / 1024.0, hwm > 0 && hwm < 8 * 1024 ? "met" : "NOT met");
    rc = hwm > 0 ? 0 : 1;
    goto out;
fail:
    fprintf(stderr, "bench_bridge: a request failed: %s\n", strerror(errno));
out:
    if (bridge > 0) {
        kill(bridge, SIGTERM);
        waitpid(bridge, NULL, 0);
    }
    sim_env_stop(&env);
    return rc;
}

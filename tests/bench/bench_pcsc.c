/*
 * PC/SC benchmark: one full authentication of the same persona (default:
 * PACE-CAN, CA, AA), to an assertion libhawiya-verify accepts, by three
 * paths side by side:
 *
 *  (a) the bridge's sim backend: our reader on its host link, CCID straight
 *      from the bridge; the reader runs the session and attests it;
 *  (b) pcscd + our IFD handler (libifdhawiya.so) + our reader: the bridge's
 *      PC/SC backend finds our reader behind pcscd and runs its attested
 *      session through SCardControl;
 *  (c) pcscd + vsmartcard's vpcd + hawiya-vcard --vpcd: a reader we did not
 *      write, so the bridge runs the session itself over SCardTransmit; no
 *      reader attests it (verified with allow_unattested).
 *
 * Per path, the mean of RUNS authentications after one to warm up: wall time
 * from request to answer (the median too), the reader's own time for the
 * session (simulated card line and card, (a) and (b)), APDUs to the card,
 * PC/SC calls the bridge made meanwhile, every thread's (counted from outside
 * by libpcsc_count.so, pcsc_count.c, preloaded into it), and CPU: the
 * bridge's, the reader firmware's (its own report), pcscd's with its driver
 * (ours in (b), vpcd in (c)), the simulated card's, the verifier's. Each path
 * has its own pcscd (tests/integration/pcscd_env.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bridge_test.h"
#include "hawiya-verify.h"
#include "pcsc_count.h"
#include "pcscd_env.h"
#include "proc_cpu.h"
#include "sim_env.h"

#define RUNS 10

enum path { PATH_SIM, PATH_IFD, PATH_VPCD, PATHS };

static const char *const path_name[PATHS] = {"(a) sim backend", "(b) pcscd + our IFD",
                                             "(c) pcscd + vpcd + vcard"};

struct figures {
    double wall_ms[RUNS];
    double reader_ms, apdus, pcsc_calls, transmits, controls, status_changes;
    double bridge_cpu, reader_cpu, pcscd_cpu, card_cpu, verify_cpu;
    double bridge_reported_cpu; /* the bridge's own progress events ((c)) */
    bool attested;
    bool done;
};

static struct figures fig[PATHS];
static struct hv_trust *trust;
static uint64_t *counts;
static char counts_path[400];

static double mono_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static uint64_t count_sum(void)
{
    uint64_t s = 0;
    for (int i = 0; i < PCSC_COUNT_FNS; i++)
        s += __atomic_load_n(&counts[i], __ATOMIC_RELAXED);
    return s;
}

static uint64_t count_of(enum pcsc_count_fn f)
{
    return __atomic_load_n(&counts[f], __ATOMIC_RELAXED);
}

/* The shared counter file, zeroed, for the next bridge. */
static int counts_open(const char *dir)
{
    if (counts)
        munmap(counts, PCSC_COUNT_FILE_SIZE);
    counts = NULL;
    snprintf(counts_path, sizeof counts_path, "%s/pcsc_counts", dir);
    int fd = open(counts_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || ftruncate(fd, PCSC_COUNT_FILE_SIZE) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    void *m = mmap(NULL, PCSC_COUNT_FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (m == MAP_FAILED)
        return -1;
    counts = m;
    return 0;
}

/* hawiya-bridge with the counting library in front of libpcsclite. */
static pid_t bridge_start(const char *dir, const char *conf_text, char *sock, size_t cap)
{
    char conf[400], log[400], preload[1200];
    snprintf(conf, sizeof conf, "%s/bridge.conf", dir);
    snprintf(log, sizeof log, "%s/bridge.log", dir);
    snprintf(sock, cap, "%s/bridge.sock", dir);
    FILE *f = fopen(conf, "w");
    if (!f || counts_open(dir) != 0) {
        if (f)
            fclose(f);
        return -1;
    }
    fputs(conf_text, f);
    fclose(f);
    /* A sanitized build's library needs the sanitizers' runtimes first. */
    const char *rt = getenv("HAWIYA_PCSCD_PRELOAD");
    snprintf(preload, sizeof preload, "%s%s", rt ? rt : "", getenv("HAWIYA_PCSC_COUNT_LIB"));
    setenv("LD_PRELOAD", preload, 1);
    setenv("HAWIYA_PCSC_COUNTS", counts_path, 1);
    pid_t pid = bt_bridge_start(conf, sock, log);
    unsetenv("LD_PRELOAD");
    unsetenv("HAWIYA_PCSC_COUNTS");
    return pid;
}

static double num(const cJSON *j, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

/*
 * One authentication on `reader`; its figures added to f unless warm_up.
 * pcscd, card: their processes (-1: none).
 */
static int authenticate(const char *sock, const char *reader, pid_t bridge, pid_t pcscd, pid_t card,
                        bool unattested, struct figures *f, int run)
{
    int fd = bt_connect(sock);
    if (fd < 0)
        return -1;
    char line[600], extra[200];
    snprintf(extra, sizeof extra, ",\"reader\":\"%s\",\"can\":\"123456\"", reader);
    bt_auth_line(line, sizeof line, "bench", extra);
    uint64_t b0 = process_cpu_ns(bridge), p0 = pcscd > 0 ? process_cpu_ns(pcscd) : 0,
             c0 = process_cpu_ns(card), n0 = count_sum(), t0 = count_of(PCSC_COUNT_SCardTransmit),
             k0 = count_of(PCSC_COUNT_SCardControl), s0 = count_of(PCSC_COUNT_SCardGetStatusChange);
    double w0 = mono_ms(), reader_ms = 0, apdus = 0, reader_cpu = 0, reported = 0;
    bt_send(fd, line);
    cJSON *j;
    for (;;) {
        j = bt_read(fd, 60000);
        if (!j || !cJSON_GetObjectItemCaseSensitive(j, "event"))
            break;
        apdus += num(j, "apdus");
        reader_cpu += num(j, "reader_cpu_ms");
        reported += num(j, "bridge_cpu_ms");
        if (cJSON_GetObjectItemCaseSensitive(j, "line_ms"))
            reader_ms += num(j, "elapsed_ms");
        cJSON_Delete(j);
    }
    double wall = mono_ms() - w0;
    uint64_t b1 = process_cpu_ns(bridge), p1 = pcscd > 0 ? process_cpu_ns(pcscd) : 0,
             c1 = process_cpu_ns(card);
    close(fd);
    const cJSON *result = j ? cJSON_GetObjectItemCaseSensitive(j, "result") : NULL;
    if (!result) {
        char *s = j ? cJSON_PrintUnformatted(j) : NULL;
        fprintf(stderr, "bench_pcsc: authentication on %s failed: %s\n", reader,
                s ? s : "no answer");
        free(s);
        cJSON_Delete(j);
        return -1;
    }
    uint8_t challenge[32];
    for (int i = 0; i < 32; i++)
        challenge[i] = (uint8_t)i;
    /* The test PKI's "today" (docs/pki.md). */
    struct hv_options opt = {.trust = trust,
                             .challenge = challenge,
                             .challenge_len = 32,
                             .origin = BT_ORIGIN,
                             .now = {2026, 1, 1, 0, 0, 0},
                             .allow_unattested = unattested};
    char *json = cJSON_PrintUnformatted(result);
    struct hv_result res;
    uint64_t v0 = thread_cpu_ns();
    enum hv_err ve = hv_verify(json, strlen(json), &opt, &res);
    double verify_cpu = (double)(thread_cpu_ns() - v0) / 1e6;
    bool attested = ve == HV_OK && res.attested;
    if (ve == HV_OK)
        hv_result_free(&res);
    free(json);
    cJSON_Delete(j);
    if (ve != HV_OK) {
        fprintf(stderr, "bench_pcsc: the assertion from %s does not verify: %s\n", reader,
                hv_err_str(ve));
        return -1;
    }
    if (run < 0)
        return 0; /* warming up */
    f->wall_ms[run] = wall;
    f->reader_ms += reader_ms;
    f->apdus += apdus;
    f->pcsc_calls += (double)(count_sum() - n0);
    f->transmits += (double)(count_of(PCSC_COUNT_SCardTransmit) - t0);
    f->controls += (double)(count_of(PCSC_COUNT_SCardControl) - k0);
    f->status_changes += (double)(count_of(PCSC_COUNT_SCardGetStatusChange) - s0);
    f->bridge_cpu += (double)(b1 - b0) / 1e6;
    f->reader_cpu += reader_cpu;
    f->pcscd_cpu += (double)(p1 - p0) / 1e6;
    f->card_cpu += (double)(c1 - c0) / 1e6;
    f->verify_cpu += verify_cpu;
    f->bridge_reported_cpu += reported;
    f->attested = attested;
    return 0;
}

static int runs(const char *sock, const char *reader, pid_t bridge, pid_t pcscd, pid_t card,
                bool unattested, struct figures *f)
{
    for (int run = -1; run < RUNS; run++)
        if (authenticate(sock, reader, bridge, pcscd, card, unattested, f, run) != 0)
            return -1;
    double n = RUNS;
    f->reader_ms /= n;
    f->apdus /= n;
    f->pcsc_calls /= n;
    f->transmits /= n;
    f->controls /= n;
    f->status_changes /= n;
    f->bridge_cpu /= n;
    f->reader_cpu /= n;
    f->pcscd_cpu /= n;
    f->card_cpu /= n;
    f->verify_cpu /= n;
    f->bridge_reported_cpu /= n;
    f->done = true;
    return 0;
}

/* Our reader provisioned by the manufacturer's station, then its host link free. */
static int desk_reader(struct sim_env *e)
{
    if (sim_env_start(e, "default", NULL) != 0)
        return -1;
    return sim_env_provision(e);
}

static int path_sim(void)
{
    struct sim_env e = {.link.fd = -1};
    char conf[800], sock[400];
    int rc = -1;
    if (desk_reader(&e) != 0)
        goto out;
    snprintf(conf, sizeof conf, "origin = %s\nreader = sim:desk:%s\nlog_level = error\n", BT_ORIGIN,
             e.host_path);
    pid_t bridge = bridge_start(e.dir, conf, sock, sizeof sock);
    if (bridge > 0 && bt_wait_reader(sock, "desk", "up", "present", 20000))
        rc = runs(sock, "desk", bridge, -1, e.vcard, false, &fig[PATH_SIM]);
    bt_stop(&bridge);
out:
    sim_env_stop(&e);
    return rc;
}

static int path_ifd(void)
{
    struct pcscd_env pe = {0};
    struct sim_env e = {.link.fd = -1};
    char text[1200], sock[400];
    int rc = -1;
    pid_t bridge = -1;
    if (pcscd_env_init(&pe) != 0 || desk_reader(&e) != 0)
        goto out;
    snprintf(text, sizeof text, "FRIENDLYNAME \"Hawiya desk\"\nDEVICENAME unix:%s\nLIBPATH %s\n",
             e.host_path, getenv("HAWIYA_IFD"));
    if (pcscd_env_conf(&pe, "hawiya-desk", text) != 0 || pcscd_env_start(&pe) != 0)
        goto out;
    bridge = bridge_start(pe.dir,
                          "origin = " BT_ORIGIN "\nreader = pcsc:desk:Hawiya desk\n"
                          "log_level = error\n",
                          sock, sizeof sock);
    if (bridge > 0 && bt_wait_reader(sock, "desk", "up", "present", 20000))
        rc = runs(sock, "desk", bridge, pe.pid, e.vcard, false, &fig[PATH_IFD]);
out:
    bt_stop(&bridge);
    pcscd_env_cleanup(&pe);
    sim_env_stop(&e);
    return rc;
}

static int path_vpcd(void)
{
    struct pcscd_env pe = {0};
    char host[64], log[400], sock[400];
    int rc = -1, port;
    pid_t bridge = -1, card = -1;
    if (pcscd_env_init(&pe) != 0 || (port = pcscd_env_free_port_pair()) < 0 ||
        pcscd_env_vpcd(&pe, "vpcd", port) != 0 || pcscd_env_start(&pe) != 0)
        goto out;
    snprintf(host, sizeof host, "127.0.0.1:%d", port);
    snprintf(log, sizeof log, "%s/vcard.log", pe.dir);
    char *argv[] = {getenv("HAWIYA_VCARD"),
                    "--vpcd",
                    host,
                    "--personas",
                    getenv("HAWIYA_PERSONAS"),
                    "--pki",
                    getenv("HAWIYA_PKI_DIR"),
                    "--persona",
                    "default",
                    NULL};
    card = pcscd_env_spawn(argv, log);
    /* The first slot of vpcd's two ("Virtual PCD 00 00") holds the card. */
    bridge = bridge_start(pe.dir,
                          "origin = " BT_ORIGIN "\nreader = pcsc:desk:Virtual PCD 00 00\n"
                          "log_level = error\n",
                          sock, sizeof sock);
    if (card > 0 && bridge > 0 && bt_wait_reader(sock, "desk", "up", "present", 20000))
        rc = runs(sock, "desk", bridge, pe.pid, card, true, &fig[PATH_VPCD]);
out:
    bt_stop(&bridge);
    pcscd_env_kill(&card);
    pcscd_env_cleanup(&pe);
    return rc;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void row(const char *label, int decimals, double (*get)(const struct figures *))
{
    printf("bench_pcsc: %-44s", label);
    for (int p = 0; p < PATHS; p++) {
        char cell[32];
        snprintf(cell, sizeof cell, "%.*f", decimals, get(&fig[p]));
        printf(" %26s", cell);
    }
    printf("\n");
}

/* The same figure as a ratio to path (a)'s. */
static void row_ratio(const char *label, double (*get)(const struct figures *))
{
    printf("bench_pcsc: %-44s", label);
    double base = get(&fig[PATH_SIM]);
    for (int p = 0; p < PATHS; p++) {
        char cell[32];
        snprintf(cell, sizeof cell, "%.2fx", base > 0 ? get(&fig[p]) / base : 0);
        printf(" %26s", cell);
    }
    printf("\n");
}

static double g_wall(const struct figures *f)
{
    double s = 0;
    for (int i = 0; i < RUNS; i++)
        s += f->wall_ms[i];
    return s / RUNS;
}
static double g_median(const struct figures *f)
{
    double w[RUNS];
    memcpy(w, f->wall_ms, sizeof w);
    qsort(w, RUNS, sizeof w[0], cmp_double);
    return (w[RUNS / 2 - 1] + w[RUNS / 2]) / 2;
}
static double g_reader_ms(const struct figures *f)
{
    return f->reader_ms;
}
static double g_apdus(const struct figures *f)
{
    return f->apdus;
}
static double g_calls(const struct figures *f)
{
    return f->pcsc_calls;
}
static double g_transmits(const struct figures *f)
{
    return f->transmits;
}
static double g_controls(const struct figures *f)
{
    return f->controls;
}
static double g_status(const struct figures *f)
{
    return f->status_changes;
}
static double g_bridge(const struct figures *f)
{
    return f->bridge_cpu;
}
static double g_reported(const struct figures *f)
{
    return f->bridge_reported_cpu;
}
static double g_reader_cpu(const struct figures *f)
{
    return f->reader_cpu;
}
static double g_pcscd(const struct figures *f)
{
    return f->pcscd_cpu;
}
/* Ours: the bridge, the reader's firmware, and in (b) pcscd with our driver in it. */
static double g_ours(const struct figures *f)
{
    return f->bridge_cpu + f->reader_cpu + (f == &fig[PATH_IFD] ? f->pcscd_cpu : 0);
}
static double g_card(const struct figures *f)
{
    return f->card_cpu;
}
static double g_verify(const struct figures *f)
{
    return f->verify_cpu;
}

int main(void)
{
    char dir[600], rca[700], msg[256];
    trust = hv_trust_new();
    snprintf(dir, sizeof dir, "%s/csca", getenv("HAWIYA_PKI_DIR"));
    snprintf(rca, sizeof rca, "%s/reader-ca/reader-ca.pem", getenv("HAWIYA_PKI_DIR"));
    if (!trust || hv_trust_load_csca_dir(trust, dir, msg, sizeof msg) != HV_OK ||
        hv_trust_load_reader_ca_file(trust, rca, msg, sizeof msg) != HV_OK) {
        fprintf(stderr, "bench_pcsc: the test PKI: %s\n", msg);
        return 1;
    }
    int rc = 0;
    if (path_sim() != 0 || path_ifd() != 0 || path_vpcd() != 0)
        rc = 1;
    hv_trust_free(trust);
    if (counts)
        munmap(counts, PCSC_COUNT_FILE_SIZE);
    if (rc != 0)
        return rc;

    printf("bench_pcsc: one authentication, persona default (PACE-CAN, CA, AA) to a verified "
           "assertion, mean of %d after one to warm up\n",
           RUNS);
    printf("bench_pcsc: %-44s", "");
    for (int p = 0; p < PATHS; p++)
        printf(" %26s", path_name[p]);
    printf("\nbench_pcsc: %-44s", "assertion");
    for (int p = 0; p < PATHS; p++)
        printf(" %26s", fig[p].attested ? "attested" : "unattested");
    printf("\n");
    row("wall time, request to answer (ms)", 1, g_wall);
    row("  median (ms)", 1, g_median);
    row_ratio("  mean, to (a)'s", g_wall);
    row("reader's session, simulated line+card (ms)", 1, g_reader_ms);
    row("APDUs to the card", 0, g_apdus);
    row("PC/SC calls by the bridge, all threads", 1, g_calls);
    row("  SCardTransmit", 1, g_transmits);
    row("  SCardControl", 1, g_controls);
    row("  SCardGetStatusChange (card events)", 1, g_status);
    row("CPU ms: bridge (all threads)", 2, g_bridge);
    row("  bridge, its own progress report", 2, g_reported);
    row("CPU ms: reader firmware (its own report)", 2, g_reader_cpu);
    row("CPU ms: pcscd with its driver", 2, g_pcscd);
    row("CPU ms: ours (bridge + firmware + our IFD)", 2, g_ours);
    row_ratio("  ours, to (a)'s", g_ours);
    row_ratio("CPU: bridge, to (a)'s", g_bridge);
    row("CPU ms: the card (simulated)", 2, g_card);
    row("CPU ms: verifier (hv_verify)", 2, g_verify);
    printf("bench_pcsc: (b) pcscd's CPU counts as ours: it carries our IFD handler's CCID; (c) "
           "runs the eMRTD session in the bridge, so its bridge CPU holds the whole inspection "
           "and its APDUs cross pcscd one by one\n");
    return 0;
}

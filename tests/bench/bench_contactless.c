/*
 * Contactless benchmark, the Moroccan-style dual-interface persona
 * (morocco-cl: Type A, FSC 256, TA 77: 106 to 848 kbit/s both ways).
 *
 * Part 1, time to a verified identity through the whole chain (vcard, sim
 * reader, bridge, libhawiya-verify) with the reader's front end held to
 * 106, 212, 424 and 848 kbit/s, and over the contact interface of the same
 * card for comparison: split into line time (RF frames on the air, or
 * characters on the card line), card time (the card's processing, the frame
 * delay and waiting times: the reader's elapsed time less the line time),
 * and our own CPU (reader firmware, bridge, verifier), mean of RUNS.
 *
 * Part 2, a 4 KiB READ BINARY (one extended APDU, the answer chained in
 * 17 frames at FSC 256) at each bit rate: the time the exchange held the
 * channel (its first frame to the end of its last answer, the card's
 * processing taken out) against the bit-time minimum, the command and
 * response APDU bytes alone as Type A characters on the air (8 data bits
 * and the parity bit each: 9 bit periods of 128 / (D fc)).
 * Goal: within 15% of the minimum at FSC 256.
 * Simulated time runs as fast as the host allows: line and card times are
 * simulated, CPU times real.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "bridge_call.h"

#include "hawiya-verify.h"
#include "proc_cpu.h"
#include "sim_env.h"

#define RUNS       5
#define TIMEOUT_MS 20000

static const char origin[] = "https://record.example";
static const char *const kbps[4] = {"106", "212", "424", "848"};

static uint64_t self_cpu_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

struct figures {
    double total, line, card, cpu, reader, bridge, verifier;
};

/* RUNS authentications of morocco-cl through the bridge, contactless at
 * `rate` (NULL: over the contact interface), each verified. */
static int identity(const char *rate, struct figures *fg)
{
    struct sim_env e;
    const char *const args[] = {"--rf-max-kbps", rate ? rate : "848", NULL};
    if (sim_env_start_rf(&e, "morocco-cl", rate != NULL, args) != 0)
        return -1;
    ccid_link_close(&e.link);
    char cmd[1400], conf[400], sock[400];
    snprintf(cmd, sizeof cmd, "'%s' provision --ca '%s' --reader '%s' >/dev/null",
             getenv("HAWIYA_PKI"), getenv("HAWIYA_PKI_DIR"), e.host_path);
    snprintf(conf, sizeof conf, "%s/bridge.conf", e.dir);
    snprintf(sock, sizeof sock, "%s/bridge.sock", e.dir);
    FILE *f = fopen(conf, "w");
    if (system(cmd) != 0 || !f) {
        if (f)
            fclose(f);
        sim_env_stop(&e);
        return -1;
    }
    fprintf(f, "origin = %s\nreader = sim:desk:%s\nlog_level = error\n", origin, e.host_path);
    fclose(f);
    pid_t bridge = fork();
    if (bridge == 0) {
        execl(getenv("HAWIYA_BRIDGE"), "hawiya-bridge", "--config", conf, "--socket", sock,
              (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 500 && access(sock, F_OK) != 0; i++)
        usleep(10000);
    usleep(300000); /* the bridge's first look at the reader, the reader's first poll */

    struct hv_trust *trust = hv_trust_new();
    char dir[600], rca[700], msg[256];
    snprintf(dir, sizeof dir, "%s/csca", getenv("HAWIYA_PKI_DIR"));
    snprintf(rca, sizeof rca, "%s/reader-ca/reader-ca.pem", getenv("HAWIYA_PKI_DIR"));
    hv_trust_load_csca_dir(trust, dir, msg, sizeof msg);
    hv_trust_load_reader_ca_file(trust, rca, msg, sizeof msg);
    uint8_t challenge[32];
    for (int i = 0; i < 32; i++)
        challenge[i] = (uint8_t)i;
    struct hv_options opt = {.trust = trust,
                             .challenge = challenge,
                             .challenge_len = 32,
                             .origin = origin,
                             .now = {2026, 1, 1, 0, 0, 0}};
    double line = 0, elapsed = 0, reader_cpu = 0, verify_cpu = 0;
    uint64_t bridge0 = process_cpu_ns(bridge);
    int ok = 0;
    for (int run = 0; run < RUNS; run++) {
        cJSON *ans = NULL;
        double l, el, rc;
        const char *req = "{\"id\":1,\"method\":\"authenticate\",\"params\":{\"challenge\":"
                          "\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\",\"origin\":"
                          "\"https://record.example\",\"can\":\"246810\"}}\n";
        if (bridge_call(sock, req, &ans, &l, &el, &rc) != 0 ||
            !cJSON_GetObjectItem(ans, "result")) {
            if (ans)
                fprintf(stderr, "bench_contactless: %s\n", cJSON_PrintUnformatted(ans));
            cJSON_Delete(ans);
            break;
        }
        char *json = cJSON_PrintUnformatted(cJSON_GetObjectItem(ans, "result"));
        struct hv_result res;
        uint64_t c0 = self_cpu_ns();
        enum hv_err ve = hv_verify(json, strlen(json), &opt, &res);
        verify_cpu += (double)(self_cpu_ns() - c0) / 1e6;
        hv_result_free(&res);
        free(json);
        cJSON_Delete(ans);
        if (ve != HV_OK) {
            fprintf(stderr, "bench_contactless: verify: %s\n", hv_err_str(ve));
            break;
        }
        line += l;
        elapsed += el;
        reader_cpu += rc;
        ok++;
    }
    double bridge_cpu = (double)(process_cpu_ns(bridge) - bridge0) / 1e6;
    kill(bridge, SIGTERM);
    waitpid(bridge, NULL, 0);
    hv_trust_free(trust);
    sim_env_stop(&e);
    if (ok != RUNS) {
        fprintf(stderr, "bench_contactless: only %d of %d authentications verified\n", ok, RUNS);
        return -1;
    }
    double n = RUNS;
    *fg = (struct figures){.total = elapsed / n,
                           .line = line / n,
                           .card = (elapsed - line) / n,
                           .reader = reader_cpu / n,
                           .bridge = bridge_cpu / n,
                           .verifier = verify_cpu / n};
    fg->cpu = fg->reader + fg->bridge + fg->verifier;
    return 0;
}

/* Part 2: the 4 KiB read's channel time against its bit-time minimum. */
static int read_4k(int rate, double *line_ms, double *min_ms)
{
    struct sim_env e;
    const char *const args[] = {"--rf-max-kbps", kbps[rate], NULL};
    if (sim_env_start_rf(&e, "morocco-cl", true, args) != 0)
        return -1;
    for (int i = 0; i < 50 && !e.link.cl_present; i++)
        ccid_link_wait_notify(&e.link, TIMEOUT_MS);
    e.link.slot = 1;
    uint8_t atr[64];
    static uint8_t resp[4200];
    size_t n;
    static const uint8_t select_bench[] = {0x00, 0xA4, 0x02, 0x0C, 0x02, 0x0F, 0x0F};
    static const uint8_t read4k[] = {0x00, 0xB0, 0x00, 0x00, 0x00, 0x10, 0x00};
    char reply[800];
    int rc = -1;
    if (ccid_link_power_on(&e.link, CCID_POWER_AUTO, atr, sizeof atr, &n, TIMEOUT_MS) ||
        ccid_link_xfr(&e.link, select_bench, sizeof select_bench, resp, sizeof resp, &n,
                      TIMEOUT_MS) ||
        sim_env_control(&e, "rf-mark", reply, sizeof reply) != 0)
        goto out;
    long long card0 = sim_env_stat(&e, "rf_card_ns");
    if (ccid_link_xfr(&e.link, read4k, sizeof read4k, resp, sizeof resp, &n, TIMEOUT_MS) ||
        n != 4098)
        goto out;
    long long span = sim_env_stat(&e, "rf_span_ns"), card = sim_env_stat(&e, "rf_card_ns") - card0;
    if (sim_env_stat(&e, "rf_dsi") != rate || sim_env_stat(&e, "rf_dri") != rate)
        goto out;
    /* 7 command bytes and 4098 response bytes, 9 bit periods each */
    double bit_ns = 128e9 / ((double)(1 << rate) * 13.56e6);
    *min_ms = (7 + 4098) * 9 * bit_ns / 1e6;
    *line_ms = (double)(span - card) / 1e6;
    rc = 0;
out:
    sim_env_stop(&e);
    return rc;
}

int main(void)
{
    struct figures fg[5];
    printf("bench_contactless: part 1, time to a verified identity, persona morocco-cl, "
           "mean of %d\n",
           RUNS);
    for (int r = 0; r < 5; r++) {
        const char *rate = r < 4 ? kbps[r] : NULL;
        if (identity(rate, &fg[r]) != 0)
            return 1;
        printf("bench_contactless:   %-22s total %7.1f ms = line %7.1f ms + card %7.1f ms; our "
               "CPU %5.2f ms (reader %5.2f, bridge %4.2f, verifier %4.2f)\n",
               rate ? (r == 0   ? "contactless 106 kbit/s"
                       : r == 1 ? "contactless 212 kbit/s"
                       : r == 2 ? "contactless 424 kbit/s"
                                : "contactless 848 kbit/s")
                    : "contact (T=1, PPS)",
               fg[r].total, fg[r].line, fg[r].card, fg[r].cpu, fg[r].reader, fg[r].bridge,
               fg[r].verifier);
    }
    printf("bench_contactless:   contactless 848 kbit/s vs contact: total %.2fx, line %.2fx\n",
           fg[3].total / fg[4].total, fg[3].line / fg[4].line);
    printf("bench_contactless:   106 -> 848 kbit/s: total %.2fx faster, line %.2fx faster\n",
           fg[0].total / fg[3].total, fg[0].line / fg[3].line);

    printf("bench_contactless: part 2, a 4 KiB READ BINARY (extended, FSC 256), channel time "
           "vs bit-time minimum\n");
    for (int r = 0; r < 4; r++) {
        double line, min;
        if (read_4k(r, &line, &min) != 0) {
            fprintf(stderr, "bench_contactless: 4 KiB read at %s kbit/s failed\n", kbps[r]);
            return 1;
        }
        printf("bench_contactless:   %s kbit/s: line %7.2f ms, minimum %7.2f ms, ratio %.3f "
               "(goal <= 1.15 at FSC 256: %s)\n",
               kbps[r], line, min, line / min, line / min <= 1.15 ? "met" : "NOT met");
    }
    return 0;
}

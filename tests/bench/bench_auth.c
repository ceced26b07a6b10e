/*
 * Authentication benchmark, default persona.
 *
 * Part 1, the reader's eMRTD session (ICAO 9303-11) run directly over CCID:
 * per step the APDUs, the characters on the card line, the line time at the
 * negotiated speed, the reader's elapsed time and its own CPU time; then every
 * APDU sent, by name, against the fewest the protocol allows with one READ
 * BINARY per file.
 *
 * Part 2, the whole chain as a platform sees it (vcard, sim reader, bridge,
 * libhawiya-verify), N times: time to a verified identity split into card-line
 * time, card time and our own CPU time (reader firmware + bridge + verifier),
 * with the host side apart, and the reader's CPU against the cost of the
 * elliptic-curve multiplications it cannot avoid, measured here.
 * Simulated time runs as fast as the host allows, so line and card times are
 * the simulated card's and line's; the CPU times are real.
 */
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
#include <mbedtls/ecp.h>

#include "hawiya-verify.h"
#include "proc_cpu.h"
#include "reader_session.h"
#include "sim_env.h"

#define RUNS 20

static const char origin[] = "https://record.example";

static int counter_rng(void *ctx, unsigned char *out, size_t n)
{
    unsigned *c = ctx;
    for (size_t i = 0; i < n; i++)
        out[i] = (unsigned char)(++*c * 167u);
    return 0;
}

/*
 * ms of one mbedTLS scalar multiplication of a point other than the
 * generator on this host, the group loaded each time. The reader needs 8:
 * PACE-GM 5 on P-256, CA 2 on the card's brainpoolP256r1, the attestation
 * signature 1 on P-256; it keeps its curves loaded (hawiya/ecp_groups.h),
 * so its 4 multiples of G cost less than this.
 */
static double ec_mul_ms(mbedtls_ecp_group_id id)
{
    enum { N = 20 };
    unsigned c = 1;
    mbedtls_ecp_group g;
    mbedtls_ecp_point p, r;
    mbedtls_mpi d;
    mbedtls_ecp_group_init(&g);
    mbedtls_ecp_point_init(&p);
    mbedtls_ecp_point_init(&r);
    mbedtls_mpi_init(&d);
    int err = mbedtls_ecp_group_load(&g, id) != 0 ||
              mbedtls_ecp_gen_privkey(&g, &d, counter_rng, &c) != 0 ||
              mbedtls_ecp_mul(&g, &p, &d, &g.G, counter_rng, &c) != 0;
    uint64_t t0 = thread_cpu_ns();
    for (int i = 0; i < N && !err; i++) {
        mbedtls_ecp_group_free(&g);
        mbedtls_ecp_group_init(&g);
        err = mbedtls_ecp_group_load(&g, id) != 0 ||
              mbedtls_ecp_mul(&g, &r, &d, &p, counter_rng, &c) != 0;
    }
    double ms = (double)(thread_cpu_ns() - t0) / 1e6 / N;
    if (err)
        fprintf(stderr, "bench_auth: mbedTLS scalar multiplication failed\n");
    mbedtls_mpi_free(&d);
    mbedtls_ecp_point_free(&r);
    mbedtls_ecp_point_free(&p);
    mbedtls_ecp_group_free(&g);
    return ms;
}

static const char *sfi_name(uint8_t sfi)
{
    switch (sfi) {
    case 0x1C: return "EF.CardAccess";
    case 0x1E: return "EF.COM";
    case 0x01: return "DG1";
    case 0x0B: return "DG11";
    case 0x0E: return "DG14";
    case 0x0F: return "DG15";
    case 0x1D: return "EF.SOD";
    default: return "?";
    }
}

static void apdu_name(const uint8_t *h, char *out, size_t cap)
{
    const char *sm = (h[0] & 0x0C) ? " under SM" : "";
    switch (h[1]) {
    case 0xB0:
        if (h[2] & 0x80)
            snprintf(out, cap, "READ BINARY SFI %02X (%s)%s", h[2] & 0x1F, sfi_name(h[2] & 0x1F),
                     sm);
        else
            snprintf(out, cap, "READ BINARY offset %u%s", (unsigned)(h[2] << 8 | h[3]), sm);
        break;
    case 0xA4: snprintf(out, cap, "SELECT%s", sm); break;
    case 0x22: snprintf(out, cap, "MSE:SET %s%s", h[3] == 0xA6 ? "KAT" : "AT", sm); break;
    case 0x86:
        snprintf(out, cap, "GENERAL AUTHENTICATE%s%s", h[0] & 0x10 ? " (chain)" : "", sm);
        break;
    case 0x84: snprintf(out, cap, "GET CHALLENGE%s", sm); break;
    case 0x82: snprintf(out, cap, "EXTERNAL AUTHENTICATE%s", sm); break;
    case 0x88: snprintf(out, cap, "INTERNAL AUTHENTICATE (AA)%s", sm); break;
    default: snprintf(out, cap, "INS %02X%s", h[1], sm); break;
    }
}

struct part1 {
    unsigned apdus, reads;
    uint64_t chars, line_ns, elapsed_ns, cpu_ns;
    bool ca;
};

static bool print_step(void *ctx, const struct reader_step *st)
{
    struct part1 *p = ctx;
    printf("bench_auth: %-10s %2u APDU %6llu chars  line %7.2f ms  elapsed %7.2f ms  reader CPU "
           "%6.2f ms\n",
           st->name, st->apdus, (unsigned long long)st->chars, (double)st->line_ns / 1e6,
           (double)st->elapsed_ns / 1e6, (double)st->cpu_ns / 1e6);
    for (size_t i = 0; i + 4 <= st->trace_len; i += 4) {
        char name[96];
        apdu_name(st->trace + i, name, sizeof name);
        printf("bench_auth:              %02X %02X %02X %02X  %s\n", st->trace[i], st->trace[i + 1],
               st->trace[i + 2], st->trace[i + 3], name);
        if (st->trace[i + 1] == 0xB0 && (st->trace[i + 2] & 0x80) && !strcmp(st->name, "read"))
            p->reads++;
    }
    p->apdus += st->apdus;
    p->chars += st->chars;
    p->line_ns += st->line_ns;
    p->elapsed_ns += st->elapsed_ns;
    p->cpu_ns += st->cpu_ns;
    p->ca |= !strcmp(st->name, "ca") && st->apdus > 0;
    return true;
}

static int part1(void)
{
    struct sim_env e;
    if (sim_env_start(&e, "default", NULL) != 0)
        return -1;
    uint8_t challenge[32], out[16384];
    for (int i = 0; i < 32; i++)
        challenge[i] = (uint8_t)i;
    struct reader_auth_params p = {
        .challenge = challenge, .challenge_len = 32, .origin = origin, .can = "123456"};
    struct part1 t = {0};
    struct reader_step last;
    size_t n;
    printf("bench_auth: part 1, the reader's eMRTD session, persona default (PACE-CAN, CA, AA)\n");
    enum reader_session_err r =
        reader_session_run(&e.link, &p, 20000, print_step, &t, out, sizeof out, &n, &last);
    sim_env_stop(&e);
    if (r != READER_SESSION_OK) {
        fprintf(stderr, "bench_auth: session failed: %s %s\n", reader_session_err_str(r),
                last.error);
        return -1;
    }
    /* 9303-11 with one READ BINARY per file: EF.CardAccess, PACE (MSE:SET AT +
     * 4 GENERAL AUTHENTICATE), SELECT, the files EF.COM lists, CA (2), AA. */
    unsigned minimum = 1 + 5 + 1 + t.reads + (t.ca ? 2 : 0) + 1;
    printf("bench_auth: power-on to AA: %u APDUs (fewest the protocol allows: %u), %llu "
           "characters on the line, line time %.2f ms, elapsed %.2f ms, reader CPU %.2f ms\n",
           t.apdus, minimum, (unsigned long long)t.chars, (double)t.line_ns / 1e6,
           (double)t.elapsed_ns / 1e6, (double)t.cpu_ns / 1e6);
    return 0;
}

/* ---- part 2: the chain as a platform sees it -------------------------------- */

static int part2(void)
{
    struct sim_env e;
    if (sim_env_start(&e, "default", NULL) != 0)
        return -1;
    ccid_link_close(&e.link);
    char cmd[1400], conf[400], sock[400];
    snprintf(cmd, sizeof cmd, "'%s' provision --ca '%s' --reader '%s' >/dev/null",
             getenv("HAWIYA_PKI"), getenv("HAWIYA_PKI_DIR"), e.host_path);
    snprintf(conf, sizeof conf, "%s/bridge.conf", e.dir);
    snprintf(sock, sizeof sock, "%s/bridge.sock", e.dir);
    FILE *f = fopen(conf, "w");
    if (system(cmd) != 0 || !f) {
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
    usleep(200000); /* the bridge's first look at the reader */

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
                          "\"https://record.example\",\"can\":\"123456\"}}\n";
        if (bridge_call(sock, req, &ans, &l, &el, &rc) != 0 || !cJSON_GetObjectItem(ans, "result"))
            break;
        char *json = cJSON_PrintUnformatted(cJSON_GetObjectItem(ans, "result"));
        struct hv_result res;
        uint64_t c0 = thread_cpu_ns();
        enum hv_err ve = hv_verify(json, strlen(json), &opt, &res);
        verify_cpu += (double)(thread_cpu_ns() - c0) / 1e6;
        hv_result_free(&res);
        free(json);
        cJSON_Delete(ans);
        if (ve != HV_OK)
            break;
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
        fprintf(stderr, "bench_auth: only %d of %d authentications verified\n", ok, RUNS);
        return -1;
    }
    double n = RUNS, host = (bridge_cpu + verify_cpu) / n, ours = host + reader_cpu / n;
    double p256 = ec_mul_ms(MBEDTLS_ECP_DP_SECP256R1), bp256 = ec_mul_ms(MBEDTLS_ECP_DP_BP256R1);
    double ec = 6 * p256 + 2 * bp256;
    printf("bench_auth: part 2, time to a verified identity, persona default, mean of %d\n", RUNS);
    printf("bench_auth:   total %.1f ms = card line %.1f ms + card %.1f ms (simulated), reader "
           "waits included\n",
           elapsed / n, line / n, (elapsed - line) / n);
    printf("bench_auth:   our CPU %.2f ms = reader firmware %.2f ms + bridge %.2f ms + verifier "
           "%.2f ms\n",
           ours, reader_cpu / n, bridge_cpu / n, verify_cpu / n);
    printf("bench_auth:   host side (bridge + verifier) %.2f ms, goal under 5 ms: %s\n", host,
           host < 5 ? "met" : "NOT met");
    printf("bench_auth:   reader firmware (sim board) %.2f ms, goal under 5 ms with it: %s; its "
           "8 scalar multiplications take %.2f ms in mbedTLS here, each on a freshly loaded curve "
           "(P-256 %.2f ms x 6, "
           "brainpoolP256r1 %.2f ms x 2), reader CPU / that = %.2f\n",
           reader_cpu / n, ours < 5 ? "met" : "NOT met", ec, p256, bp256, reader_cpu / n / ec);
    return 0;
}

int main(void)
{
    if (part1() != 0 || part2() != 0)
        return 1;
    return 0;
}

/*
 * Line-time benchmark: the sim reader reads 4 KiB from the virtual card by
 * READ BINARY, and the simulated line time (every character accounted in
 * ETUs at the negotiated Fi/Di and clock, card processing time taken out) is
 * compared with the theoretical minimum: the characters of the command and
 * response APDUs alone, back to back at the card's character guard time
 * (7816-3 §8.3: 12 + N etu, or 11 etu for T=1 when TC1 = 255).
 * It also prints the speed-up the PPS buys over the default rate.
 * Goal: T=1 with IFSC 254 within 10% of the minimum.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_env.h"

#define TIMEOUT_MS 20000

struct run {
    const char *label;
    double line_ms, min_ms, etu_us;
    unsigned apdus;
    long long fi, di, clk, char_etu;
};

static int measure(const char *persona, const char *const *args, int extended, struct run *r)
{
    struct sim_env e;
    uint8_t atr[64], resp[4200];
    size_t n;
    static const uint8_t select_bench[] = {0x00, 0xA4, 0x02, 0x0C, 0x02, 0x0F, 0x0F};

    /* Bring-up is not what is measured: on a loaded machine it is tried again. */
    for (int attempt = 1;; attempt++) {
        const char *why = NULL;
        if (sim_env_start(&e, persona, args) != 0)
            why = "start";
        else if (ccid_link_power_on(&e.link, CCID_POWER_AUTO, atr, sizeof atr, &n, TIMEOUT_MS))
            why = "power on";
        else if (ccid_link_xfr(&e.link, select_bench, sizeof select_bench, resp, sizeof resp, &n,
                               TIMEOUT_MS) ||
                 n != 2 || resp[0] != 0x90)
            why = "SELECT EF.BENCH";
        if (!why)
            break;
        fprintf(stderr, "bench_line: %s: %s failed (attempt %d, bError %u)\n", persona, why,
                attempt, e.link.berror);
        sim_env_stop(&e);
        if (attempt == 3)
            return -1;
    }
    long long t0 = sim_env_stat(&e, "now_ns"), c0 = sim_env_stat(&e, "card_ns");
    size_t chars = 0;
    r->apdus = 0;
    if (extended) {
        const uint8_t rb[] = {0x00, 0xB0, 0x00, 0x00, 0x00, 0x10, 0x00}; /* Le = 4096 */
        if (ccid_link_xfr(&e.link, rb, sizeof rb, resp, sizeof resp, &n, TIMEOUT_MS) || n != 4098) {
            sim_env_stop(&e);
            return -1;
        }
        chars = sizeof rb + n;
        r->apdus = 1;
    } else {
        for (unsigned off = 0; off < 4096; off += 256) {
            const uint8_t rb[] = {0x00, 0xB0, (uint8_t)(off >> 8), 0x00, 0x00}; /* Le = 256 */
            if (ccid_link_xfr(&e.link, rb, sizeof rb, resp, sizeof resp, &n, TIMEOUT_MS) ||
                n != 258) {
                sim_env_stop(&e);
                return -1;
            }
            chars += sizeof rb + n;
            r->apdus++;
        }
    }
    long long t1 = sim_env_stat(&e, "now_ns"), c1 = sim_env_stat(&e, "card_ns");
    r->fi = sim_env_stat(&e, "fi");
    r->di = sim_env_stat(&e, "di");
    r->clk = sim_env_stat(&e, "clk_hz");
    r->char_etu = sim_env_stat(&e, "char_etu");
    sim_env_stop(&e);

    r->etu_us = (double)r->fi / (double)r->di / (double)r->clk * 1e6;
    r->line_ms = (double)((t1 - t0) - (c1 - c0)) / 1e6;
    r->min_ms = (double)chars * (double)r->char_etu * r->etu_us / 1e3;
    return 0;
}

static void print(const struct run *r)
{
    printf("bench_line: %-44s Fi/Di %4lld/%-2lld at %.2f MHz (etu %5.2f us, char %lld etu), "
           "%2u APDU: line %8.2f ms, minimum %8.2f ms, ratio %.3f\n",
           r->label, r->fi, r->di, (double)r->clk / 1e6, r->etu_us, r->char_etu, r->apdus,
           r->line_ms, r->min_ms, r->line_ms / r->min_ms);
}

int main(void)
{
    const char *const slow_board[] = {"--max-baud", "12000", NULL};
    struct run t1_ext = {.label = "CNIE-style T=1 IFSC 254, extended Le:"};
    struct run t1_short = {.label = "CNIE-style T=1 IFSC 254, 16 x Le 256:"};
    struct run t1_default = {.label = "CNIE-style T=1, default rate, extended Le:"};
    struct run dz = {.label = "Algerian T=1 TC1=FF IFSC 254, extended Le:"};
    struct run t0 = {.label = "T=0 card, 16 x Le 256:"};
    struct run t0_default = {.label = "T=0 card, default rate, 16 x Le 256:"};

    if (measure("default", NULL, 1, &t1_ext) || measure("default", NULL, 0, &t1_short) ||
        measure("default", slow_board, 1, &t1_default) || measure("algeria", NULL, 1, &dz) ||
        measure("t0-only", NULL, 0, &t0) || measure("t0-only", slow_board, 0, &t0_default))
        return 1;
    printf(
        "bench_line: reading 4 KiB by READ BINARY; line time excludes the card's own processing\n");
    print(&t1_ext);
    print(&t1_short);
    print(&t1_default);
    print(&dz);
    print(&t0);
    print(&t0_default);
    printf("bench_line: PPS speed-up, T=1 (TA1 96): %.1fx; T=0 (TA1 13): %.1fx\n",
           t1_default.line_ms / t1_ext.line_ms, t0_default.line_ms / t0.line_ms);
    printf("bench_line: T=1 IFSC 254 overhead over the minimum: %.1f%% (CNIE-style), %.1f%% "
           "(Algerian); goal: within 10%%\n",
           (t1_ext.line_ms / t1_ext.min_ms - 1) * 100, (dz.line_ms / dz.min_ms - 1) * 100);
    return 0;
}

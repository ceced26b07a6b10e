/*
 * bench_stm32: the reader firmware on the STM32F405 board in QEMU
 * (boards/stm32f405, -icount shift=0: TIM2 counts instructions), through
 * one authentication of the default persona, twice (the first after boot,
 * then the next):
 *   - instructions per step, counted by the board (RESC_T_INSTRUCTIONS),
 *     and the time they would take on silicon: 168 MHz at 1.55 cycles per
 *     instruction, mbedTLS running from flash with 5 wait states and the ART
 *     cache (../shared/research/mcu-ecc-cortex-m4.md §2 item 5; 1.45-1.65);
 *   - flash and RAM: the image's sections from its link map, split into ours,
 *     mbedTLS (compiled from Debian's source) and the C library + libgcc;
 *     RAM as static + the heap's and the stack's high-water marks the board
 *     measured (INFO, RESC_T_MEMORY).
 * Goals (issue 12): reader CPU <= 0.7 s per authentication (aim 0.5 s);
 * flash <= 160 KiB (aim 96), RAM <= 64 KiB (aim 40).
 *
 * With --check-budget it exits 1 when the image is over the hard limits
 * (the stm32_budget test); the benchmark itself fails only when it cannot
 * measure.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hawiya/reader_escape.h"
#include "hawiya/tlv.h"
#include "reader_session.h"
#include "sim_env.h"

#define TIMEOUT_MS  60000
#define CPI_X100    155u
#define CLOCK_MHZ   168u
#define FLASH_LIMIT (160u * 1024u)
#define FLASH_AIM   (96u * 1024u)
#define RAM_LIMIT   (64u * 1024u)
#define RAM_AIM     (40u * 1024u)
#define CPU_GOAL_MS 700.0
#define CPU_AIM_MS  500.0

static double instr_ms(uint64_t instructions)
{
    return (double)instructions * CPI_X100 / 100.0 / (CLOCK_MHZ * 1000.0);
}

/* --- the image's sections by origin, from the GNU ld map ------------------- */

enum origin { OURS, MBEDTLS, LIBC, ORIGINS };
static const char *const origin_name[ORIGINS] = {"ours", "mbedTLS", "libc+libgcc"};

struct sizes {
    size_t flash[ORIGINS], ram[ORIGINS];
};

static enum origin origin_of(const char *file)
{
    if (strstr(file, "libhawiya_mbedtls.a"))
        return MBEDTLS;
    if (strstr(file, "arm-none-eabi/") || strstr(file, "libgcc.a") || strstr(file, "libc_nano"))
        return LIBC;
    return OURS;
}

static bool read_map(const char *path, struct sizes *sz)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    memset(sz, 0, sizeof *sz);
    char line[1024], out[64] = "";
    bool in_map = false;
    while (fgets(line, sizeof line, f)) {
        if (!in_map) {
            in_map = strncmp(line, "Linker script and memory map", 28) == 0;
            continue;
        }
        if (line[0] == '.') { /* an output section */
            sscanf(line, "%63s", out);
            continue;
        }
        if (strstr(line, "*fill*"))
            continue;
        /* An input section: [name] 0xADDRESS 0xSIZE FILE */
        char *p = strstr(line, "0x");
        unsigned long long addr, size;
        char file[900];
        if (!p || sscanf(p, "0x%llx 0x%llx %899s", &addr, &size, file) != 3 || file[0] == '0')
            continue;
        enum origin o = origin_of(file);
        bool flash = !strcmp(out, ".isr_vector") || !strcmp(out, ".text") ||
                     !strcmp(out, ".ARM.exidx") || !strcmp(out, ".data");
        bool ram = !strcmp(out, ".data") || !strcmp(out, ".bss");
        if (flash)
            sz->flash[o] += size;
        if (ram)
            sz->ram[o] += size;
    }
    fclose(f);
    return in_map;
}

/* --- the session --------------------------------------------------------- */

struct totals {
    uint64_t instructions;
    double line_ms;
    double wall_ms; /* on this machine, QEMU emulating: not the silicon's time */
};

static double wall_now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static bool on_step(void *ctx, const struct reader_step *st)
{
    struct totals *t = ctx;
    printf("bench_stm32:   %-10s %8.2f M instructions  %7.1f ms at %u MHz  (line %6.1f ms, "
           "%u APDU%s)\n",
           st->name, (double)st->instructions / 1e6, instr_ms(st->instructions), CLOCK_MHZ,
           (double)st->line_ns / 1e6, st->apdus, st->apdus == 1 ? "" : "s");
    t->instructions += st->instructions;
    t->line_ms += (double)st->line_ns / 1e6;
    return true;
}

static bool authenticate(struct sim_env *e, struct totals *t)
{
    static uint8_t out[CCID_MAX_MESSAGE_SIZE];
    uint8_t challenge[32];
    for (int i = 0; i < 32; i++)
        challenge[i] = (uint8_t)(i * 7);
    struct reader_auth_params p = {.challenge = challenge,
                                   .challenge_len = sizeof challenge,
                                   .origin = "https://record.example",
                                   .can = "123456"};
    size_t n;
    struct reader_step last;
    memset(t, 0, sizeof *t);
    double t0 = wall_now_ms();
    enum reader_session_err r =
        reader_session_run(&e->link, &p, TIMEOUT_MS, on_step, t, out, sizeof out, &n, &last);
    t->wall_ms = wall_now_ms() - t0;
    if (r != READER_SESSION_OK) {
        fprintf(stderr, "bench_stm32: authentication: %s (%s: %s)\n", reader_session_err_str(r),
                last.name, last.error);
        return false;
    }
    return true;
}

static bool memory(struct sim_env *e, uint32_t v[3])
{
    uint8_t cmd = RESC_INFO, out[4096];
    size_t n;
    struct tlv t;
    if (reader_escape(&e->link, &cmd, 1, out, sizeof out, &n, TIMEOUT_MS) != CCID_LINK_OK ||
        tlv_find(out, n, RESC_T_MEMORY, &t) != TLV_OK || t.len != 12)
        return false;
    for (int i = 0; i < 3; i++)
        v[i] = (uint32_t)t.value[4 * i] << 24 | (uint32_t)t.value[4 * i + 1] << 16 |
               (uint32_t)t.value[4 * i + 2] << 8 | t.value[4 * i + 3];
    return true;
}

int main(int argc, char **argv)
{
    bool check = argc > 1 && !strcmp(argv[1], "--check-budget");
    const char *elf = getenv("HAWIYA_STM32_ELF");
    if (!elf || !sim_env_stm32()) {
        fprintf(stderr, "bench_stm32: HAWIYA_STM32_ELF must name the image\n");
        return 2;
    }
    char map[1024];
    snprintf(map, sizeof map, "%.*s.map", (int)(strlen(elf) - 4), elf);
    struct sizes sz;
    if (!read_map(map, &sz)) {
        fprintf(stderr, "bench_stm32: cannot read the link map %s\n", map);
        return 2;
    }

    static struct sim_env e;
    if (sim_env_start(&e, "default", NULL) != 0) {
        fprintf(stderr, "bench_stm32: the board did not come up\n");
        return 2;
    }
    ccid_link_close(&e.link);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "'%s' provision --ca '%s' --reader '%s' >/dev/null",
             getenv("HAWIYA_PKI"), getenv("HAWIYA_PKI_DIR"), e.host_path);
    if (system(cmd) != 0 || ccid_link_open(&e.link, e.host_path) != CCID_LINK_OK) {
        fprintf(stderr, "bench_stm32: provisioning failed\n");
        sim_env_stop(&e);
        return 2;
    }
    ccid_link_wait_notify(&e.link, 10000);

    struct totals first, next;
    printf("bench_stm32: the reader firmware on the STM32F405 in QEMU (-icount shift=0), "
           "persona default: PACE-GM P-256, CA brainpoolP256r1, AA, ECDSA P-256 attestation\n");
    printf("bench_stm32: time on silicon estimated at %u MHz, CPI %u.%02u (1.45-1.65)\n", CLOCK_MHZ,
           CPI_X100 / 100, CPI_X100 % 100);
    printf("bench_stm32: first authentication after boot\n");
    bool ok = authenticate(&e, &first);
    printf("bench_stm32: the next authentication\n");
    ok = ok && authenticate(&e, &next);
    uint32_t mem[3] = {0, 0, 0};
    ok = ok && memory(&e, mem);
    sim_env_stop(&e);
    if (!ok)
        return 2;

    double first_ms = instr_ms(first.instructions), next_ms = instr_ms(next.instructions);
    printf("bench_stm32: reader CPU per authentication: %.1f M instructions = %.0f ms at %u MHz "
           "(%.0f-%.0f ms at CPI 1.45-1.65); goal <= %.0f ms: %s, aim <= %.0f ms: %s\n",
           (double)next.instructions / 1e6, next_ms, CLOCK_MHZ, next_ms * 145 / CPI_X100,
           next_ms * 165 / CPI_X100, CPU_GOAL_MS, next_ms <= CPU_GOAL_MS ? "met" : "NOT met",
           CPU_AIM_MS, next_ms <= CPU_AIM_MS ? "met" : "not met");
    printf("bench_stm32: first after boot %.0f ms, next %.0f ms: ratio %.2f (the curves' tables "
           "are built at boot)\n",
           first_ms, next_ms, first_ms / next_ms);
    printf("bench_stm32: simulated card line %.0f ms per authentication; wall clock here with QEMU "
           "emulating: first %.0f ms, next %.0f ms\n",
           next.line_ms, first.wall_ms, next.wall_ms);

    size_t flash = 0, ram_static = 0;
    for (int o = 0; o < ORIGINS; o++) {
        flash += sz.flash[o];
        ram_static += sz.ram[o];
    }
    printf("bench_stm32: flash %zu B = %.1f KiB (limit 160, aim 96):", flash, flash / 1024.0);
    for (int o = 0; o < ORIGINS; o++)
        printf(" %s %.1f KiB%s", origin_name[o], sz.flash[o] / 1024.0, o + 1 < ORIGINS ? "," : "");
    printf("\n");
    size_t ram = mem[0] + mem[1] + mem[2];
    printf("bench_stm32: RAM %zu B = %.1f KiB (limit 64, aim 40) = static %u B (", ram,
           ram / 1024.0, mem[0]);
    for (int o = 0; o < ORIGINS; o++)
        printf("%s %zu%s", origin_name[o], sz.ram[o], o + 1 < ORIGINS ? ", " : "");
    printf(") + heap peak %u B (mbedTLS's numbers and kept tables) + stack peak %u B\n", mem[1],
           mem[2]);
    if (ram_static != mem[0])
        printf("bench_stm32: (the map's .data + .bss, %zu B, against the board's %u B)\n",
               ram_static, mem[0]);
    if (check) {
        bool within = flash <= FLASH_LIMIT && ram <= RAM_LIMIT;
        printf("stm32_budget: flash %zu <= %u and RAM %zu <= %u: %s\n", flash, FLASH_LIMIT, ram,
               RAM_LIMIT, within ? "within the budget" : "OVER THE BUDGET");
        return within ? 0 : 1;
    }
    return 0;
}

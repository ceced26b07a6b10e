/* The STM32F405 board: clocks, time, memory, RNG, idle, configuration. */
#include "board.h"

#include <errno.h>
#include <string.h>

#include "hal/board.h"
#include "hal/rng.h"
#include "hal/timer.h"
#include "hawiya/simline_port.h"
#include "semihost.h"
#include "stm32f405.h"

struct board_config board_config = {.state = "hawiya-flash", .fault_kinds = SIMLINE_FAULT_FLIP};
bool board_emulated;

/* The planning CPI for mbedTLS running from flash at 168 MHz, 5 wait states
 * (../shared/research/mcu-ecc-cortex-m4.md §2 item 5): 1 instruction ~ 1.55
 * cycles, so ns = instructions x 1550 / 168. */
#define CPI_X1000 1550u

/* ---- clocks (RM0090 §6, §7.3) -------------------------------------------- */

/* Bounded waits: a part whose oscillator does not start must not hang. */
static bool wait_set(volatile uint32_t *reg, uint32_t mask, uint32_t want)
{
    for (uint32_t i = 0; i < 1000000u; i++)
        if ((*reg & mask) == want)
            return true;
    return false;
}

void board_clock_init(void)
{
    /* On silicon RCC_CR resets to 0x0000XX83: the 16 MHz HSI on and ready.
     * QEMU 7.2 models no RCC (it reads as zero) and clocks the core at a
     * fixed 168 MHz: nothing to do there. */
    if (!(RCC_CR & RCC_CR_HSIRDY)) {
        board_emulated = true;
        return;
    }
    /* 168 MHz at 2.7-3.6 V takes 5 wait states (RM0090 §3.5.1, Table 10);
     * the prefetch and both caches make up for most of them. */
    FLASH_ACR = 5u | FLASH_ACR_PRFTEN | FLASH_ACR_ICEN | FLASH_ACR_DCEN;
    /* The 25 MHz crystal of the Netduino Plus 2, else the HSI. VCO input
     * 1 MHz, VCO 336 MHz, SYSCLK = VCO / 2 = 168 MHz, USB = VCO / 7 = 48 MHz. */
    RCC_CR |= RCC_CR_HSEON;
    bool hse = wait_set(&RCC_CR, RCC_CR_HSERDY, RCC_CR_HSERDY);
    uint32_t pllm = hse ? 25u : 16u;
    RCC_PLLCFGR = pllm << RCC_PLLCFGR_PLLM_SHIFT | 336u << RCC_PLLCFGR_PLLN_SHIFT |
                  0u << RCC_PLLCFGR_PLLP_SHIFT | (hse ? RCC_PLLCFGR_PLLSRC_HSE : 0) |
                  7u << RCC_PLLCFGR_PLLQ_SHIFT;
    RCC_CFGR = RCC_CFGR_PPRE1_DIV4 | RCC_CFGR_PPRE2_DIV2;
    RCC_CR |= RCC_CR_PLLON;
    if (!wait_set(&RCC_CR, RCC_CR_PLLRDY, RCC_CR_PLLRDY))
        board_fatal("PLL does not lock");
    RCC_CFGR |= RCC_CFGR_SW_PLL;
    if (!wait_set(&RCC_CFGR, RCC_CFGR_SWS_MASK, RCC_CFGR_SWS_PLL))
        board_fatal("SYSCLK did not switch to the PLL");
}

/* ---- time: the firmware's CPU --------------------------------------------- */

static bool have_cyccnt;
static uint32_t last_count, count_high;

void board_timer_init(void)
{
    /* DWT CYCCNT counts core cycles on silicon (ARMv7-M ARM §C1.8.8); QEMU
     * 7.2 maps the DWT as read-as-zero. */
    DEMCR |= DEMCR_TRCENA;
    DWT_CYCCNT = 0;
    DWT_CTRL |= DWT_CTRL_CYCCNTENA;
    for (volatile int i = 0; i < 16; i++)
        ;
    have_cyccnt = DWT_CYCCNT != 0;
    /* TIM2 free-running, no interrupt. Its ARR resets to FFFFFFFF on
     * silicon; QEMU clocks it at 1 GHz of virtual time, which -icount
     * shift=0 advances by 1 ns per instruction: it counts instructions.
     * (Writing ARR would arm an alarm QEMU jumps to while the core sleeps.) */
    RCC_APB1ENR |= RCC_APB1ENR_TIM2EN;
    TIM2_PSC = 0;
    TIM2_EGR = TIM_EGR_UG;
    TIM2_CR1 = TIM_CR1_CEN;
    last_count = TIM2_CNT;
}

/* A 32-bit counter made 64: read often enough (every step does). */
static uint64_t count64(uint32_t now)
{
    if (now < last_count)
        count_high++;
    last_count = now;
    return (uint64_t)count_high << 32 | now;
}

uint64_t hal_cpu_instructions(void)
{
    return have_cyccnt ? 0 : count64(TIM2_CNT);
}

uint64_t hal_cpu_ns(void)
{
    if (have_cyccnt)
        return count64(DWT_CYCCNT) * 1000u / (BOARD_HCLK_HZ / 1000000u);
    return count64(TIM2_CNT) * CPI_X1000 / (BOARD_HCLK_HZ / 1000000u);
}

/* ---- memory ---------------------------------------------------------------- */

extern uint32_t _data_start[], _bss_end[], _heap_start[], _stack_limit[], _stack_top[];

static uint8_t *heap_break = (uint8_t *)_heap_start, *heap_peak = (uint8_t *)_heap_start;

/* newlib-nano's malloc grows its arena here; the stack's share is off limits. */
void *_sbrk(ptrdiff_t incr);
void *_sbrk(ptrdiff_t incr)
{
    uint8_t *old = heap_break;
    if (incr > (uint8_t *)_stack_limit - heap_break || incr < (uint8_t *)_heap_start - heap_break) {
        errno = ENOMEM;
        return (void *)-1;
    }
    heap_break += incr;
    if (heap_break > heap_peak)
        heap_peak = heap_break;
    return old;
}

bool hal_memory(struct hal_memory *m)
{
    m->static_ram = (uint32_t)((uint8_t *)_bss_end - (uint8_t *)_data_start);
    m->heap_peak = (uint32_t)(heap_peak - (uint8_t *)_heap_start);
    /* The deepest word of the stack's share that lost its paint. */
    const uint32_t *p = _stack_limit;
    while (p < _stack_top && *p == BOARD_PAINT)
        p++;
    m->stack_peak = (uint32_t)((const uint8_t *)_stack_top - (const uint8_t *)p);
    return true;
}

/* ---- configuration: QEMU's -append ----------------------------------------- */

/* The value of `key=value` in the word tok[0..n), or NULL. */
static const char *value(const char *tok, size_t n, const char *key, size_t *vlen)
{
    size_t k = strlen(key);
    if (n <= k || strncmp(tok, key, k) != 0 || tok[k] != '=')
        return NULL;
    *vlen = n - k - 1;
    return tok + k + 1;
}

/* "0.001": digits, a point, digits (the only rates anyone types). */
static double parse_rate(const char *v, size_t n)
{
    double r = 0, scale = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] == '.' && scale == 0)
            scale = 1;
        else if (v[i] >= '0' && v[i] <= '9') {
            r = r * 10 + (v[i] - '0');
            if (scale != 0)
                scale *= 10;
        } else
            return 0;
    }
    return scale != 0 ? r / scale : r;
}

static uint64_t parse_u64(const char *v, size_t n)
{
    uint64_t x = 0;
    for (size_t i = 0; i < n && v[i] >= '0' && v[i] <= '9'; i++)
        x = x * 10 + (uint64_t)(v[i] - '0');
    return x;
}

void board_config_load(void)
{
    static char line[256];
    if (!board_emulated || !semihost_cmdline(line, sizeof line))
        return;
    /* "image key=value key=value ...": the first word is the image's path. */
    const char *p = line;
    bool first = true;
    while (*p) {
        while (*p == ' ')
            p++;
        size_t n = 0, vn;
        while (p[n] && p[n] != ' ')
            n++;
        const char *v;
        if (first || n == 0)
            ;
        else if ((v = value(p, n, "state", &vn)) != NULL && vn < sizeof board_config.state) {
            memcpy(board_config.state, v, vn);
            board_config.state[vn] = '\0';
        } else if ((v = value(p, n, "fault-rate", &vn)) != NULL)
            board_config.fault_rate = parse_rate(v, vn);
        else if ((v = value(p, n, "fault-seed", &vn)) != NULL)
            board_config.fault_seed = parse_u64(v, vn);
        else if ((v = value(p, n, "fault-kinds", &vn)) != NULL && vn < 32) {
            char kinds[32];
            memcpy(kinds, v, vn);
            kinds[vn] = '\0';
            board_config.fault_kinds = simline_fault_kinds(kinds);
        }
        first = false;
        p += n;
    }
}

/* ---- logs and faults ------------------------------------------------------- */

void board_log(const char *s)
{
    if (board_emulated)
        semihost_log(s);
}

void board_fatal(const char *why)
{
    __asm__ volatile("cpsid i");
    if (board_emulated) {
        semihost_log(why);
        semihost_exit(70);
    }
    /* SCB AIRCR: SYSRESETREQ (ARMv7-M ARM §B3.2.6). */
    REG32(0xE000ED0Cu) = 0x05FA0004u;
    for (;;)
        ;
}

/* ---- idle ---------------------------------------------------------------------- */

void board_wait(bool (*ready)(void))
{
    /* PRIMASK set: an interrupt between the check and WFI still ends the
     * WFI (ARMv7-M ARM §B1.5.19), and runs once PRIMASK clears. */
    __asm__ volatile("cpsid i" ::: "memory");
    if (!ready())
        __asm__ volatile("dsb\n\twfi" ::: "memory");
    __asm__ volatile("cpsie i\n\tisb" ::: "memory");
}

static bool any_news(void)
{
    return board_uart_readable(BOARD_UART_HOST) || board_uart_readable(BOARD_UART_CARD);
}

void hal_idle(uint32_t max_ms)
{
    /* Nothing on this board happens but through the two USARTs: sleep until
     * one of them has a byte. (No timer wakes it: under QEMU -icount with
     * sleep=off a timer would make virtual time jump ahead.) */
    (void)max_ms;
    board_wait(any_news);
}

const char *hal_board_name(void)
{
    return "stm32f4";
}

/* ---- RNG ------------------------------------------------------------------------ */

static bool rng_silicon(uint8_t *buf, size_t n)
{
    /* RM0090 §24.3: the first word after enabling is kept only to compare
     * with the next; any two equal consecutive words fail the continuous
     * test (FIPS 140-2), as do the seed and clock error flags. */
    static bool on;
    static uint32_t prev;
    if (!on) {
        RCC_AHB2ENR |= RCC_AHB2ENR_RNGEN;
        RNG_CR |= RNG_CR_RNGEN;
        on = true;
        if (!wait_set(&RNG_SR, RNG_SR_DRDY, RNG_SR_DRDY))
            return false;
        prev = RNG_DR;
    }
    while (n > 0) {
        if (!wait_set(&RNG_SR, RNG_SR_DRDY, RNG_SR_DRDY) || (RNG_SR & (RNG_SR_SECS | RNG_SR_CECS)))
            return false;
        uint32_t w = RNG_DR;
        if (w == prev)
            return false;
        prev = w;
        size_t k = n < 4 ? n : 4;
        memcpy(buf, &w, k);
        buf += k;
        n -= k;
    }
    return true;
}

bool hal_rng(uint8_t *buf, size_t n)
{
    if (!board_emulated)
        return rng_silicon(buf, n);
    /* QEMU 7.2's STM32F405 has no RNG: the host's. */
    static int fd = -1;
    if (fd < 0)
        fd = semihost_open("/dev/urandom", SEMIHOST_MODE_RB);
    return fd >= 0 && semihost_read(fd, buf, n);
}

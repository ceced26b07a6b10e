/*
 * stm32f405: the registers this board uses, written from ST's RM0090
 * (STM32F405/415/407/417/427/437/429/439 reference manual, rev 19) and the
 * ARMv7-M Architecture Reference Manual (DDI 0403E) for the core's system
 * registers. Only what the board touches; no vendor header is used.
 *
 * Each register is a volatile 32-bit word at base + offset, named as in the
 * manual (peripheral_REGISTER); bits are named PERIPHERAL_REGISTER_FIELD.
 */
#ifndef HAWIYA_STM32F405_H
#define HAWIYA_STM32F405_H

#include <stdint.h>

#define REG32(addr) (*(volatile uint32_t *)(uintptr_t)(addr))

/* ---- memory map (RM0090 §2.3, Table 1; §3.3 Table 5) --------------------- */
#define FLASH_BASE_ADDR 0x08000000u
#define SRAM_BASE_ADDR  0x20000000u
#define CCM_BASE_ADDR   0x10000000u

/* ---- RCC, reset and clock control (RM0090 §7.3) -------------------------- */
#define RCC_BASE               0x40023800u
#define RCC_CR                 REG32(RCC_BASE + 0x00)
#define RCC_PLLCFGR            REG32(RCC_BASE + 0x04)
#define RCC_CFGR               REG32(RCC_BASE + 0x08)
#define RCC_AHB1ENR            REG32(RCC_BASE + 0x30)
#define RCC_AHB2ENR            REG32(RCC_BASE + 0x34)
#define RCC_APB1ENR            REG32(RCC_BASE + 0x40)
#define RCC_APB2ENR            REG32(RCC_BASE + 0x44)
#define RCC_CR_HSION           (1u << 0)
#define RCC_CR_HSIRDY          (1u << 1)
#define RCC_CR_HSEON           (1u << 16)
#define RCC_CR_HSERDY          (1u << 17)
#define RCC_CR_PLLON           (1u << 24)
#define RCC_CR_PLLRDY          (1u << 25)
#define RCC_PLLCFGR_PLLM_SHIFT 0  /* 2..63: VCO input = source / PLLM */
#define RCC_PLLCFGR_PLLN_SHIFT 6  /* 50..432: VCO = input x PLLN */
#define RCC_PLLCFGR_PLLP_SHIFT 16 /* 0: /2, 1: /4, 2: /6, 3: /8 */
#define RCC_PLLCFGR_PLLSRC_HSE (1u << 22)
#define RCC_PLLCFGR_PLLQ_SHIFT 24 /* 2..15: USB OTG FS clock = VCO / PLLQ */
#define RCC_CFGR_SW_MASK       3u
#define RCC_CFGR_SW_PLL        2u
#define RCC_CFGR_SWS_MASK      (3u << 2)
#define RCC_CFGR_SWS_PLL       (2u << 2)
#define RCC_CFGR_PPRE1_DIV4    (5u << 10) /* APB1 = HCLK / 4 (at most 42 MHz) */
#define RCC_CFGR_PPRE2_DIV2    (4u << 13) /* APB2 = HCLK / 2 (at most 84 MHz) */
#define RCC_AHB1ENR_GPIOAEN    (1u << 0)
#define RCC_AHB2ENR_RNGEN      (1u << 6)
#define RCC_APB1ENR_TIM2EN     (1u << 0)
#define RCC_APB1ENR_USART2EN   (1u << 17)
#define RCC_APB2ENR_USART1EN   (1u << 4)

/* ---- embedded flash interface (RM0090 §3.9) ------------------------------ */
#define FLASH_IF_BASE    0x40023C00u
#define FLASH_ACR        REG32(FLASH_IF_BASE + 0x00)
#define FLASH_ACR_PRFTEN (1u << 8)
#define FLASH_ACR_ICEN   (1u << 9)
#define FLASH_ACR_DCEN   (1u << 10)

/* ---- GPIO (RM0090 §8.4) --------------------------------------------------- */
#define GPIOA_BASE        0x40020000u
#define GPIOA_MODER       REG32(GPIOA_BASE + 0x00)
#define GPIOA_AFRL        REG32(GPIOA_BASE + 0x20)
#define GPIOA_AFRH        REG32(GPIOA_BASE + 0x24)
#define GPIO_MODER_AF     2u /* alternate function mode, 2 bits per pin */
#define GPIO_AF7_USART1_2 7u /* USART1 on PA9/PA10, USART2 on PA2/PA3 (datasheet Table 9) */

/* ---- USART (RM0090 §30.6) ------------------------------------------------- */
#define USART1_BASE      0x40011000u
#define USART2_BASE      0x40004400u
#define USART_SR(b)      REG32((b) + 0x00)
#define USART_DR(b)      REG32((b) + 0x04)
#define USART_BRR(b)     REG32((b) + 0x08)
#define USART_CR1(b)     REG32((b) + 0x0C)
#define USART_CR2(b)     REG32((b) + 0x10)
#define USART_CR3(b)     REG32((b) + 0x14)
#define USART_SR_PE      (1u << 0)
#define USART_SR_FE      (1u << 1)
#define USART_SR_NF      (1u << 2)
#define USART_SR_ORE     (1u << 3)
#define USART_SR_RXNE    (1u << 5)
#define USART_SR_TC      (1u << 6)
#define USART_SR_TXE     (1u << 7)
#define USART_CR1_RE     (1u << 2)
#define USART_CR1_TE     (1u << 3)
#define USART_CR1_RXNEIE (1u << 5)
#define USART_CR1_UE     (1u << 13)

/* ---- TIM2, 32-bit general-purpose timer (RM0090 §18.4) ------------------- */
#define TIM2_BASE   0x40000000u
#define TIM2_CR1    REG32(TIM2_BASE + 0x00)
#define TIM2_EGR    REG32(TIM2_BASE + 0x14)
#define TIM2_CNT    REG32(TIM2_BASE + 0x24)
#define TIM2_PSC    REG32(TIM2_BASE + 0x28)
#define TIM2_ARR    REG32(TIM2_BASE + 0x2C)
#define TIM_CR1_CEN (1u << 0)
#define TIM_EGR_UG  (1u << 0)

/* ---- RNG, true random number generator (RM0090 §24.4) -------------------- */
#define RNG_BASE     0x50060800u
#define RNG_CR       REG32(RNG_BASE + 0x00)
#define RNG_SR       REG32(RNG_BASE + 0x04)
#define RNG_DR       REG32(RNG_BASE + 0x08)
#define RNG_CR_RNGEN (1u << 2)
#define RNG_SR_DRDY  (1u << 0)
#define RNG_SR_CECS  (1u << 1)
#define RNG_SR_SECS  (1u << 2)

/* ---- interrupt numbers (RM0090 §12.2, Table 61) -------------------------- */
#define IRQ_TIM2   28
#define IRQ_USART1 37
#define IRQ_USART2 38
#define IRQ_COUNT  82

/* ---- Cortex-M4 system registers (ARMv7-M ARM §B3) ------------------------ */
#define SCB_VTOR           REG32(0xE000ED08u)
#define SCB_CPACR          REG32(0xE000ED88u)
#define SCB_CPACR_FULL     (0xFu << 20) /* CP10 and CP11 (the FPU): full access */
#define SCB_SHCSR          REG32(0xE000ED24u)
#define SCB_CFSR           REG32(0xE000ED28u)
#define SCB_HFSR           REG32(0xE000ED2Cu)
#define NVIC_ISER(n)       REG32(0xE000E100u + 4u * (n))
#define NVIC_ICER(n)       REG32(0xE000E180u + 4u * (n))
#define DEMCR              REG32(0xE000EDFCu)
#define DEMCR_TRCENA       (1u << 24)
#define DWT_CTRL           REG32(0xE0001000u)
#define DWT_CTRL_CYCCNTENA (1u << 0)
#define DWT_CYCCNT         REG32(0xE0001004u)

static inline void nvic_enable(unsigned irq)
{
    NVIC_ISER(irq / 32) = 1u << (irq % 32);
}

/* Masks the line (ARMv7-M ARM §B3.4.4); DSB and ISB so that it is masked
 * before the next instruction, as the ISR that masks it returns. */
static inline void nvic_disable(unsigned irq)
{
    NVIC_ICER(irq / 32) = 1u << (irq % 32);
    __asm__ volatile("dsb\n\tisb" ::: "memory");
}

#endif

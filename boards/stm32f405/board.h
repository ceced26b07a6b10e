/*
 * boards/stm32f405: the reader firmware on an STM32F405 (Cortex-M4F at
 * 168 MHz, 1 MiB flash, 128 KiB SRAM), as QEMU's netduinoplus2 machine
 * emulates it. What is what:
 *
 *   hal/host_link   USART1 (PA9/PA10), CCID messages in the framing of
 *                   hawiya/serial_frame.h (a UART stands in for USB)
 *   hal/uart_sc     USART2 (PA2/PA3) carrying the simulated card line's
 *                   records to hawiya-vcard (hawiya/simline_port.h); on a
 *                   product, a USART in smartcard mode and the contact pins
 *   hal/timer       the card line's simulated time; the firmware's CPU from
 *                   DWT CYCCNT on silicon, from TIM2 counting instructions
 *                   under QEMU -icount shift=0 (where CYCCNT reads 0)
 *   hal/flash       records in a host file through semihosting (QEMU has no
 *                   flash controller)
 *   hal/rng         the RNG peripheral on silicon; the host's /dev/urandom
 *                   through semihosting under QEMU (which has no RNG)
 *
 * This header is the board's own plumbing between its files.
 */
#ifndef HAWIYA_BOARD_STM32F405_H
#define HAWIYA_BOARD_STM32F405_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What unused stack and heap are painted with. */
#define BOARD_PAINT 0xC5C5C5C5u

/* HCLK after board_clock_init(). */
#define BOARD_HCLK_HZ 168000000u

struct board_config {
    char state[96]; /* the flash file (a host path) */
    double fault_rate;
    uint64_t fault_seed;
    unsigned fault_kinds;
};

extern struct board_config board_config;

/* True under an emulator that models neither RCC nor DWT (QEMU). */
extern bool board_emulated;

void board_clock_init(void);
/* Parses the command line QEMU passes by semihosting (-append). */
void board_config_load(void);
void board_timer_init(void);
void board_fatal(const char *why) __attribute__((noreturn));
void board_log(const char *s);

/* Waits for an interrupt (WFI) with interrupts masked around the check, so
 * news that came just before is not slept through. */
void board_wait(bool (*ready)(void));

/* USARTs: interrupt-driven reception into a ring, polled transmission. */
enum board_uart { BOARD_UART_HOST = 0, BOARD_UART_CARD = 1 };
void board_uart_init(void);
size_t board_uart_read(enum board_uart u, uint8_t *buf, size_t cap);
bool board_uart_readable(enum board_uart u);
void board_uart_write(enum board_uart u, const uint8_t *p, size_t n);

void board_card_init(void);
void board_host_init(void);

#endif

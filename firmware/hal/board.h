/*
 * hal/board: what the firmware's main loop needs from the board besides the
 * peripherals: start-up, and sleeping until something happens (an interrupt
 * on an MCU; data on a socket on the sim board).
 */
#ifndef HAWIYA_HAL_BOARD_H
#define HAWIYA_HAL_BOARD_H

#include <stdint.h>

/* Sleeps until the host link or the card slot has news, or `max_ms` passed. */
void hal_idle(uint32_t max_ms);
/* Card insertions seen since start: a remove-and-reinsert faster than the
 * firmware polls still counts, so a new card is never taken for the old one. */
uint32_t hal_sc_insertions(void);
/* A short name for logs and the CCID descriptor ("sim", "stm32f4"). */
const char *hal_board_name(void);

/* The RAM the firmware uses, in bytes, where the board measures it: static
 * (.data + .bss) and the high-water marks of the heap and the stack. False
 * where it does not (the sim board is a process). */
struct hal_memory {
    uint32_t static_ram, heap_peak, stack_peak;
};
bool hal_memory(struct hal_memory *m);

#endif

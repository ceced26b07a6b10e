/*
 * hal/timer: the board's monotonic time in nanoseconds. On the sim board it
 * is simulated time, advanced by the characters on the card line and by
 * waiting; on a real board a free-running hardware timer.
 */
#ifndef HAWIYA_HAL_TIMER_H
#define HAWIYA_HAL_TIMER_H

#include <stdint.h>

uint64_t hal_now_ns(void);
/* CPU time the firmware itself has used, in ns (a cycle counter on an MCU;
 * the process's CPU clock on the sim board), for benchmarks. */
uint64_t hal_cpu_ns(void);
/* Instructions the firmware has executed, where the board can count them
 * exactly (an emulator: QEMU -icount), else 0. For benchmarks. */
uint64_t hal_cpu_instructions(void);
/* Lets `ns` pass (the activation timings of 7816-3 §6.2 are waits). */
void hal_delay_ns(uint64_t ns);

#endif

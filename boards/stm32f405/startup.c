/*
 * Start-up of the STM32F405 board: the vector table (ARMv7-M ARM §B1.5.3,
 * RM0090 §12.2 Table 61), and the reset handler, which runs before C does:
 * the FPU on (the hard-float ABI uses it from the first function), .data
 * copied from flash, .bss zeroed, the stack and the heap painted so their
 * high-water marks can be read later, then the clocks and main().
 */
#include <stdint.h>
#include <string.h>

#include "board.h"
#include "stm32f405.h"

extern uint32_t _data_load[], _data_start[], _data_end[], _bss_start[], _bss_end[];
extern uint32_t _heap_start[], _stack_limit[], _stack_top[];

int main(void);

void Reset_Handler(void);
void Default_Handler(void);
void HardFault_Handler(void);
void USART1_IRQHandler(void);
void USART2_IRQHandler(void);

/* The stack pointer is still the reset one here: paint only below it. */
static void __attribute__((noinline)) paint(uint32_t *from, uint32_t *to)
{
    for (uint32_t *p = from; p < to; p++)
        *p = BOARD_PAINT;
}

void Reset_Handler(void)
{
    SCB_CPACR |= SCB_CPACR_FULL;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
    for (uint32_t *s = _data_load, *d = _data_start; d < _data_end;)
        *d++ = *s++;
    for (uint32_t *d = _bss_start; d < _bss_end;)
        *d++ = 0;
    /* The heap's area and the stack below the frame of this function. */
    uint32_t *sp;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    paint(_heap_start, sp - 32);
    board_clock_init();
    main();
    board_fatal("main returned");
}

void Default_Handler(void)
{
    board_fatal("unexpected interrupt");
}

void HardFault_Handler(void)
{
    board_fatal("hard fault");
}

#define VECTORS (16 + IRQ_COUNT)

/* The interrupts the board enables have handlers; the NVIC raises no other. */
__attribute__((section(".isr_vector"), used)) static void (*const vectors[VECTORS])(void) = {
    [0] = (void (*)(void))_stack_top,
    [1] = Reset_Handler,
    [2] = Default_Handler,   /* NMI */
    [3] = HardFault_Handler, /* and the escalated MemManage, BusFault, UsageFault */
    [4] = HardFault_Handler,
    [5] = HardFault_Handler,
    [6] = HardFault_Handler,
    [11] = Default_Handler, /* SVCall */
    [12] = Default_Handler, /* DebugMonitor */
    [14] = Default_Handler, /* PendSV */
    [15] = Default_Handler, /* SysTick */
    [16 + IRQ_USART1] = USART1_IRQHandler,
    [16 + IRQ_USART2] = USART2_IRQHandler,
};

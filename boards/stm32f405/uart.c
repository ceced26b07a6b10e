/*
 * The board's two USARTs (RM0090 §30): 8 data bits, no parity, one stop bit
 * (CR1.M = 0, CR1.PCE = 0, CR2 = 0), 921600 bit/s. Reception by the RXNE
 * interrupt into a ring the main loop drains; transmission polled on TXE.
 * When a ring is full the ISR stops reading until the main loop has drained
 * it: the byte waits in DR. QEMU then holds the rest in its chardev (it
 * delivers a byte only when RXNE is clear), so nothing is lost there; on
 * silicon the next byte would overrun (ORE) and be lost, which the host
 * link's framing (hawiya/serial_frame.h) recovers from.
 *
 * "Stops reading" masks the USART's line at the NVIC (ICER), not RXNEIE:
 * QEMU 7.2's USART lowers its interrupt only when DR is read, so with RXNEIE
 * cleared and the byte left in DR its line stays high, the NVIC pends the
 * level-held interrupt again on every return, and the ISR ran for ever
 * (over a million entries counted) with the main loop starved: the reader
 * hung whenever 512 bytes came while it was busy (commands queued behind a
 * long one, integration_stm32_apdu_sweep). A masked line is not taken on
 * silicon or in QEMU; unmasked, its pending interrupt is taken at once.
 */
#include "board.h"
#include "stm32f405.h"

#define RING 512u /* a power of two */
#define BAUD 921600u

struct ring {
    volatile uint8_t buf[RING];
    volatile uint32_t head, tail; /* written by the ISR, by the reader */
};

static struct ring rings[2];
static const uint32_t bases[2] = {USART1_BASE, USART2_BASE};
static const unsigned irqs[2] = {IRQ_USART1, IRQ_USART2};

static void rx_isr(enum board_uart u)
{
    uint32_t base = bases[u];
    struct ring *r = &rings[u];
    /* Reading SR then DR clears RXNE and the error flags (§30.6.1). */
    while (USART_SR(base) & (USART_SR_RXNE | USART_SR_ORE)) {
        if (r->head - r->tail == RING) {
            nvic_disable(irqs[u]); /* full: leave the byte in DR */
            return;
        }
        r->buf[r->head % RING] = (uint8_t)USART_DR(base);
        r->head++;
    }
}

void USART1_IRQHandler(void);
void USART1_IRQHandler(void)
{
    rx_isr(BOARD_UART_HOST);
}

void USART2_IRQHandler(void);
void USART2_IRQHandler(void)
{
    rx_isr(BOARD_UART_CARD);
}

void board_uart_init(void)
{
    RCC_AHB1ENR |= RCC_AHB1ENR_GPIOAEN;
    RCC_APB2ENR |= RCC_APB2ENR_USART1EN;
    RCC_APB1ENR |= RCC_APB1ENR_USART2EN;
    /* PA2/PA3 (USART2) and PA9/PA10 (USART1) in alternate function 7. */
    GPIOA_MODER =
        (GPIOA_MODER & ~(0xFu << 4 | 0xFu << 18)) |
        (GPIO_MODER_AF << 4 | GPIO_MODER_AF << 6 | GPIO_MODER_AF << 18 | GPIO_MODER_AF << 20);
    GPIOA_AFRL = (GPIOA_AFRL & ~(0xFFu << 8)) | GPIO_AF7_USART1_2 << 8 | GPIO_AF7_USART1_2 << 12;
    GPIOA_AFRH = (GPIOA_AFRH & ~(0xFFu << 4)) | GPIO_AF7_USART1_2 << 4 | GPIO_AF7_USART1_2 << 8;
    /* BRR = f_PCLK / baud with 16x oversampling (§30.3.4): USART1 on APB2
     * (84 MHz), USART2 on APB1 (42 MHz). */
    USART_BRR(USART1_BASE) = (BOARD_HCLK_HZ / 2 + BAUD / 2) / BAUD;
    USART_BRR(USART2_BASE) = (BOARD_HCLK_HZ / 4 + BAUD / 2) / BAUD;
    for (int u = 0; u < 2; u++) {
        USART_CR2(bases[u]) = 0;
        USART_CR3(bases[u]) = 0;
        USART_CR1(bases[u]) = USART_CR1_UE | USART_CR1_TE | USART_CR1_RE | USART_CR1_RXNEIE;
    }
    nvic_enable(irqs[BOARD_UART_HOST]);
    nvic_enable(irqs[BOARD_UART_CARD]);
}

bool board_uart_readable(enum board_uart u)
{
    return rings[u].head != rings[u].tail || (USART_SR(bases[u]) & USART_SR_RXNE);
}

size_t board_uart_read(enum board_uart u, uint8_t *buf, size_t cap)
{
    struct ring *r = &rings[u];
    size_t n = 0;
    while (n < cap && r->tail != r->head) {
        buf[n++] = r->buf[r->tail % RING];
        r->tail++;
    }
    /* Room again: take what waits in DR (its pending interrupt comes at
     * once). ISER is write-one-to-set: no read-modify-write for the ISR to
     * race with. */
    if (n > 0)
        nvic_enable(irqs[u]);
    return n;
}

void board_uart_write(enum board_uart u, const uint8_t *p, size_t n)
{
    uint32_t base = bases[u];
    for (size_t i = 0; i < n; i++) {
        while (!(USART_SR(base) & USART_SR_TXE))
            ;
        USART_DR(base) = p[i];
    }
    while (!(USART_SR(base) & USART_SR_TC))
        ;
}

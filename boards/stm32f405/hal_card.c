/*
 * hal/uart_sc and hal/timer on this board: the card contacts are the
 * simulated card line of hawiya/simline.h on USART2, so hawiya-vcard plays
 * the card unchanged (QEMU joins USART2 to its socket). Time is the line's
 * simulated time, exactly as on the sim board: the card answers every record
 * and ends with SYNC, so a wait for a character is decided without a timer.
 * This is the emulation stand-in for a USART in smartcard mode with its
 * card clock from a timer and the contacts on GPIOs.
 */
#include "board.h"
#include "hal/board.h"
#include "hal/timer.h"
#include "hal/uart_sc.h"
#include "hawiya/simline_port.h"

/* The card's answers are one T=1 block or one T=0 exchange at a time
 * (a few hundred characters); records wait in the USART's ring when the
 * character queue is full. */
#define RX_CHARS   320u
#define RX_RECS    8u
#define SEND_CHARS 264u /* a T=1 block (259) or a T=0 header and segment (260) */

static struct simline_port line;
static uint8_t in[SIMLINE_RECORD_MAX];
static struct simline_port_rec recs[RX_RECS];
static uint8_t chars[2 * RX_CHARS];
static uint8_t tx[SIMLINE_PORT_TX_SIZE(SEND_CHARS)];

static bool card_readable(void)
{
    return board_uart_readable(BOARD_UART_CARD);
}

static bool line_write(void *ctx, const uint8_t *p, size_t n)
{
    (void)ctx;
    board_uart_write(BOARD_UART_CARD, p, n);
    return true;
}

static long line_read(void *ctx, uint8_t *buf, size_t cap, int wait_ms)
{
    (void)ctx;
    /* A wait has no limit here: the card process always answers, and a
     * timer would make QEMU's virtual time jump (see hal_idle). */
    if (wait_ms != 0)
        while (!card_readable())
            board_wait(card_readable);
    return (long)board_uart_read(BOARD_UART_CARD, buf, cap);
}

static void line_closed(void *ctx, const char *why)
{
    (void)ctx;
    /* A malformed record: the byte stream is out of step and a UART cannot
     * find the next record again. The slot reads as empty from now on. */
    board_log("card line: out of step");
    board_log(why);
}

static const struct simline_port_ops ops = {
    .write = line_write,
    .read = line_read,
    .closed = line_closed,
};

void board_card_init(void)
{
    const struct simline_port_config cfg = {.fault_rate = board_config.fault_rate,
                                            .fault_seed = board_config.fault_seed,
                                            .fault_kinds = board_config.fault_kinds,
                                            .stall_ms = -1};
    const struct simline_port_buffers b = {.in = in,
                                           .in_cap = sizeof in,
                                           .recs = recs,
                                           .rec_cap = RX_RECS,
                                           .chars = chars,
                                           .char_cap = RX_CHARS,
                                           .tx = tx,
                                           .tx_cap = sizeof tx};
    simline_port_init(&line, &ops, NULL, &cfg, &b);
    simline_port_up(&line);
}

/* The contacts start unpowered (7816-3 §6.4), which the first record says;
 * the card answers with its presence. (QEMU's USART drops what arrives
 * before the firmware turns it on: hawiya-serial-link joins the card's
 * socket to USART2 only once this first record has come out.) */
void board_card_wait_presence(void);
void board_card_wait_presence(void)
{
    simline_port_vcc(&line, SC_CLASS_OFF);
    while (line.up && line.outstanding > 0)
        simline_port_pump(&line, -1);
}

uint64_t hal_now_ns(void)
{
    return line.now_ns;
}

void hal_delay_ns(uint64_t ns)
{
    simline_port_delay(&line, ns);
}

unsigned hal_sc_classes(void)
{
    return 1u << SC_CLASS_A | 1u << SC_CLASS_B | 1u << SC_CLASS_C;
}

void hal_sc_vcc(enum sc_class c)
{
    simline_port_vcc(&line, (unsigned)c);
}

/* A card clock from a timer output: at most 20 MHz (7816-3 §5.2.2 allows
 * 1..20 MHz after the ATR). */
#define CLK_MAX_HZ 20000000u

uint32_t hal_sc_clk_max(void)
{
    return CLK_MAX_HZ;
}

uint32_t hal_sc_clk(uint32_t hz)
{
    if (hz > CLK_MAX_HZ)
        hz = CLK_MAX_HZ;
    simline_port_clk(&line, hz);
    return hz;
}

void hal_sc_rst(bool high)
{
    simline_port_rst(&line, high);
}

void hal_sc_configure(const struct sc_line_config *cfg)
{
    simline_port_configure(&line, cfg->fi, cfg->di, cfg->char_etu, cfg->t0_error_signal,
                           cfg->convention == SC_CONVENTION_INVERSE);
}

void hal_sc_send(const uint8_t *p, size_t n)
{
    simline_port_send(&line, p, n);
}

enum sc_rx hal_sc_recv(uint8_t *c, uint64_t deadline_ns)
{
    switch (simline_port_recv(&line, c, deadline_ns)) {
    case SIMLINE_RX_OK: return SC_RX_OK;
    case SIMLINE_RX_PARITY_ERROR: return SC_RX_PARITY_ERROR;
    case SIMLINE_RX_TIMEOUT: return SC_RX_TIMEOUT;
    case SIMLINE_RX_REMOVED: break;
    }
    return SC_RX_REMOVED;
}

void hal_sc_flush(void)
{
    simline_port_flush(&line);
}

bool hal_sc_present(void)
{
    return simline_port_present(&line);
}

uint32_t hal_sc_insertions(void)
{
    return simline_port_insertions(&line);
}

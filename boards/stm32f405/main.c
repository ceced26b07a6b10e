/* hawiya-stm32f405: the reader firmware on the STM32F405 board. */
#include "board.h"
#include "ccid_device.h"
#include "hal/board.h"
#include "session.h"

void board_card_wait_presence(void);

/* Large (message and file buffers): static, not on the 16 KiB stack. */
static struct ccid_device dev;
static struct session session;

int main(void)
{
    board_config_load();
    board_timer_init();
    board_uart_init();
    board_host_init();
    board_card_init();
    board_card_wait_presence();

    const struct slot_limits lim = {.classes = hal_sc_classes(),
                                    .clk_max_hz = hal_sc_clk_max(),
                                    .max_baud = 825000,
                                    .di_supported = 0x03FE,
                                    .ifsd = 254};
    ccid_device_init(&dev, &lim);
    session_init(&session);
    session_build_tables(&session);
    if (session.attest.state != ATTEST_OK) {
        board_log("hawiya-stm32f405: attestation is off:");
        board_log(attest_err_str(session.attest.state));
        board_log(store_err_str(session.attest.store.state));
    }
    dev.escape = session_escape;
    dev.escape_ctx = &session;
    dev.host_gone = session_host_gone;
    board_log("hawiya-stm32f405: ready");
    for (;;) {
        hal_idle(50);
        ccid_device_poll(&dev);
    }
}

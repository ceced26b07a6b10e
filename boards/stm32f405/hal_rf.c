/*
 * hal/rf on the STM32F405 board: no contactless front end. The Netduino
 * Plus 2 (and QEMU's model of it) has no NFC reader IC on its buses; the
 * CCID device's slot 1 then stays empty (cl_slot: CL_ERR_NO_FRONT_END).
 * A board with an ST25R3916 on SPI would implement these over its FIFO.
 */
#include "hal/rf.h"

void hal_rf_caps(struct rf_caps *c)
{
    *c = (struct rf_caps){0}; /* rates 0: no front end */
}

void hal_rf_field(bool on)
{
    (void)on;
}

void hal_rf_configure(enum rf_tech tech, unsigned tx_rate, unsigned rx_rate)
{
    (void)tech;
    (void)tx_rate;
    (void)rx_rate;
}

void hal_rf_transceive(const struct rf_xfer *x, struct rf_result *r)
{
    (void)x;
    *r = (struct rf_result){.status = RF_RX_TIMEOUT};
}

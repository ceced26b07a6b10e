/*
 * hal/uart_sc: the card contacts, as every board provides them.
 *
 * The seam between the reader's protocol code and the hardware (the role of
 * osmo-ccid-firmware's card_uart ops): power (VCC, C1) in the voltage classes
 * of ISO/IEC 7816-3 §5.1.3, reset (RST, C2), clock (CLK, C3), the half-duplex
 * I/O line (C7) driven by a UART configured for the ETU of 7816-3 §7.1 and
 * the convention of §8.1, and the card-presence switch.
 *
 * Time is the board's (hal/timer.h): a real board reads a hardware timer, the
 * sim board simulated time. Reception is blocking with an absolute deadline,
 * so the caller expresses WT, CWT and BWT directly and a removed card ends
 * any wait at once.
 */
#ifndef HAWIYA_HAL_UART_SC_H
#define HAWIYA_HAL_UART_SC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* 7816-3 §5.1.3 Table 3 voltage classes. */
enum sc_class {
    SC_CLASS_OFF = 0,
    SC_CLASS_C = 1, /* 1.8 V */
    SC_CLASS_B = 2, /* 3 V */
    SC_CLASS_A = 3, /* 5 V */
};

enum sc_convention {
    SC_CONVENTION_DIRECT = 0,
    SC_CONVENTION_INVERSE = 1,
};

/* How the UART frames characters; applied by hal_sc_configure(). */
struct sc_line_config {
    unsigned fi, di;   /* ETU = Fi / (Di x f) */
    unsigned char_etu; /* 12 for T=0, ATR and PPS; 11 for T=1; plus the extra guard time N */
    bool
        t0_error_signal; /* T=0: signal and repeat characters received with a parity error (§7.3) */
    enum sc_convention convention;
};

enum sc_rx {
    SC_RX_OK = 0,       /* one character, decoded in the configured convention */
    SC_RX_PARITY_ERROR, /* a character arrived with a parity error (its byte is still given) */
    SC_RX_TIMEOUT,      /* nothing arrived before the deadline */
    SC_RX_REMOVED,      /* the card left the slot (or VCC is off) */
};

/* Which classes the board can supply, as a bit mask of 1 << enum sc_class. */
unsigned hal_sc_classes(void);
/* Applies VCC; SC_CLASS_OFF removes it. */
void hal_sc_vcc(enum sc_class c);
/* Starts the card clock at the nearest frequency the board can make to `hz`
 * (0 stops it) and returns the frequency applied. */
uint32_t hal_sc_clk(uint32_t hz);
/* The highest clock the board can supply, in Hz. */
uint32_t hal_sc_clk_max(void);
/* Drives RST: true = high (card running), false = low (reset asserted). */
void hal_sc_rst(bool high);
void hal_sc_configure(const struct sc_line_config *cfg);
/* Sends n characters back to back; returns once the last one has left. */
void hal_sc_send(const uint8_t *chars, size_t n);
/* Waits for one character until the absolute time `deadline_ns`. */
enum sc_rx hal_sc_recv(uint8_t *c, uint64_t deadline_ns);
/* Drops characters already received but not read (before a new exchange). */
void hal_sc_flush(void);
bool hal_sc_present(void);

#endif

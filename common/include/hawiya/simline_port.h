/*
 * simline_port: the reader's end of the simulated card line (hawiya/simline.h),
 * as every board that talks to hawiya-vcard needs it: the sim board over a
 * UNIX socket, the STM32F405 board in QEMU over USART2. It does what a card
 * UART and its driver do in hal/uart_sc.h terms (VCC, CLK, RST, characters
 * framed at the ETU in force, the two conventions of ISO/IEC 7816-3 §8.1,
 * parity errors, card presence), in the card line's simulated time:
 *
 *  - every character sent advances time by its duration (char_etu ETUs);
 *  - a character received is due at the time its record stamps it; waiting
 *    for one until a deadline is decided in simulated time, since the card
 *    ends each answer with SYNC ("quiet until you send");
 *  - a receiving UART samples at its own ETU (7816-3 §7.1): a character sent
 *    at another Fi/Di reads as garbage with a parity error;
 *  - fault injection corrupts characters both ways at a given rate and seed
 *    (a flipped bit, seen as a parity error, a dropped or a duplicated
 *    character), reproducibly; under T=0 a flipped character is signalled
 *    and repeated (7816-3 §7.3), so it arrives intact, two character times
 *    late.
 *
 * The bytes come and go through the board's callbacks; nothing here blocks
 * but the board's read. No heap: the board gives the buffers.
 */
#ifndef HAWIYA_SIMLINE_PORT_H
#define HAWIYA_SIMLINE_PORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hawiya/simline.h"

#define SIMLINE_FAULT_FLIP 0x1u
#define SIMLINE_FAULT_DROP 0x2u
#define SIMLINE_FAULT_DUP  0x4u

/* "flip,drop,dup" (any of them, comma-separated) as SIMLINE_FAULT_* bits;
 * 0 when a name is unknown or the list is empty. */
unsigned simline_fault_kinds(const char *list);

/* The most bytes one record takes: the size of the port's record buffer. */
#define SIMLINE_RECORD_MAX (SIMLINE_HEADER_SIZE + SIMLINE_MAX_PAYLOAD)

enum simline_rx {
    SIMLINE_RX_OK = 0,       /* one character, in the convention configured */
    SIMLINE_RX_PARITY_ERROR, /* it arrived with a parity error (its byte is still given) */
    SIMLINE_RX_TIMEOUT,      /* nothing before the deadline */
    SIMLINE_RX_REMOVED,      /* no card (or no VCC, or the line is down) */
};

struct simline_port_ops {
    /* All n bytes to the card; false: the line is gone. */
    bool (*write)(void *ctx, const uint8_t *p, size_t n);
    /* Up to cap bytes from the card, waiting up to wait_ms for the first one
     * (0: no wait; the board may wait longer). The count, 0 if nothing came,
     * -1 when the line is gone. */
    long (*read)(void *ctx, uint8_t *buf, size_t cap, int wait_ms);
    /* The line went down for `why`: the board closes its end. */
    void (*closed)(void *ctx, const char *why);
    /* Optional: simulated time moved on (a board may sleep along). */
    void (*advanced)(void *ctx, uint64_t now_ns);
    /* Optional: a character trace. `what` is "tx" (n characters sent at
     * t_ns as they go on the line), "tx fault" (one character before the
     * fault `fault` hit it) or "rx" (one character received, stamped t_ns);
     * flags may be NULL. */
    void (*trace)(void *ctx, const char *what, uint64_t t_ns, const uint8_t *chars,
                  const uint8_t *flags, size_t n, unsigned fault);
};

struct simline_port_config {
    double fault_rate; /* per character, 0 = off */
    uint64_t fault_seed;
    unsigned fault_kinds; /* SIMLINE_FAULT_* */
    /* A card process that answers nothing for this long is a broken line. */
    int stall_ms;
};

struct simline_port_stats {
    uint64_t chars_to_card, chars_from_card;
    uint64_t line_ns;  /* simulated time the I/O line was busy with characters */
    uint64_t faults;   /* characters corrupted, dropped or duplicated */
    uint64_t overruns; /* records left waiting because the character queue was full */
};

/* One received record's characters, waiting in the queue. */
struct simline_port_rec {
    uint64_t t_ns;
    uint32_t etu_ps;
    uint16_t n, next;
    uint16_t char_etu;
};

struct simline_port {
    struct simline_port_ops ops;
    void *ctx;
    struct simline_port_config cfg;
    bool up; /* the line is connected */

    uint64_t now_ns;
    uint8_t *in; /* bytes received, not yet decoded: at least SIMLINE_RECORD_MAX */
    size_t in_cap, in_len;
    /* characters received: records in a ring, their (raw, flags) pairs in another */
    struct simline_port_rec *recs;
    unsigned rec_cap, rec_head, rec_count;
    uint8_t *chars; /* 2 bytes per character */
    unsigned char_cap, char_head, char_count;
    uint8_t *tx; /* characters being sent, their flags, and their record */
    size_t send_chunk;
    uint64_t dup_delay_ns; /* the head character comes again this much later */

    unsigned outstanding; /* records sent not yet answered by SYNC */
    bool present;
    uint32_t insertions;
    unsigned vcc; /* enum sc_class value: 0 off */
    uint32_t clk_hz;
    unsigned fi, di, char_etu;
    bool t0_error_signal, inverse;
    uint32_t etu_ps;

    uint64_t rng_state;
    struct simline_port_stats stats;
};

struct simline_port_buffers {
    uint8_t *in;
    size_t in_cap; /* >= SIMLINE_RECORD_MAX */
    struct simline_port_rec *recs;
    unsigned rec_cap;
    uint8_t *chars;
    unsigned char_cap; /* characters; the array holds 2 * char_cap bytes */
    /* Scratch for sending: SIMLINE_PORT_TX_SIZE(c) bytes send up to c
     * characters in one record (at most SIMLINE_MAX_IO). hawiya-vcard takes
     * a T=1 block only in one record: c >= 259 (T1_BLOCK_MAX). */
    uint8_t *tx;
    size_t tx_cap;
};

#define SIMLINE_PORT_TX_SIZE(c) (4u * (size_t)(c))

void simline_port_init(struct simline_port *p, const struct simline_port_ops *ops, void *ctx,
                       const struct simline_port_config *cfg, const struct simline_port_buffers *b);

/* The board connected its end (again): nothing is known about the card yet. */
void simline_port_up(struct simline_port *p);
/* The board lost its end. */
void simline_port_down(struct simline_port *p, const char *why);

/* Reads and decodes what the card sent, waiting up to wait_ms for it. */
void simline_port_pump(struct simline_port *p, int wait_ms);

/* hal/uart_sc.h, one for one. vcc_class is 0..3 (enum sc_class). */
void simline_port_vcc(struct simline_port *p, unsigned vcc_class);
void simline_port_clk(struct simline_port *p, uint32_t hz);
void simline_port_rst(struct simline_port *p, bool high);
void simline_port_configure(struct simline_port *p, unsigned fi, unsigned di, unsigned char_etu,
                            bool t0_error_signal, bool inverse);
void simline_port_send(struct simline_port *p, const uint8_t *chars, size_t n);
enum simline_rx simline_port_recv(struct simline_port *p, uint8_t *c, uint64_t deadline_ns);
void simline_port_flush(struct simline_port *p);
bool simline_port_present(struct simline_port *p);
uint32_t simline_port_insertions(struct simline_port *p);
void simline_port_delay(struct simline_port *p, uint64_t ns);

#endif

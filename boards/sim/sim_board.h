/*
 * boards/sim: the POSIX board. The firmware runs as a process
 * (hawiya-sim-reader); its card contacts are a socket to hawiya-vcard
 * carrying simline records (hawiya/simline.h), its USB link a socket carrying
 * the same CCID messages a USB bulk/interrupt pipe would.
 *
 * Time is simulated (hal/timer.h): every character on the card line advances
 * it by its duration at the ETU in force, so the waiting times WT, CWT and
 * BWT of ISO/IEC 7816-3 are measured in line time, not wall-clock time.
 * With `realtime` set, the board also sleeps so that simulated time never
 * runs ahead of the wall clock (for demos).
 *
 * With `usbredir` set, the host link is USB instead: the firmware's USB
 * device layer (firmware/include/usb_ccid.h) on this board's device
 * controller (usbredir.c), which a QEMU guest's usb-redir device reaches
 * through the usbredir protocol on a UNIX socket or a TCP port on loopback.
 *
 * Fault injection corrupts characters on the line in both directions at a
 * given rate and seed: a flipped bit (seen as a parity error, as a real UART
 * would), a dropped or a duplicated character.
 */
#ifndef HAWIYA_SIM_BOARD_H
#define HAWIYA_SIM_BOARD_H

#include <stdbool.h>
#include <stdint.h>

#include "hawiya/simline_port.h"

struct sim_config {
    const char *card_path; /* UNIX socket of hawiya-vcard's card line */
    const char *host_path; /* UNIX socket this board listens on for the host */
    const char *usbredir;  /* or: usbredir on this UNIX socket PATH or loopback PORT */
    const char *state_dir; /* where the "flash" records live */
    double fault_rate;     /* probability per character, 0 = off */
    uint64_t fault_seed;
    unsigned fault_kinds; /* SIMLINE_FAULT_* (hawiya/simline_port.h) */
    bool realtime;
    unsigned classes; /* voltage classes offered, bit mask of 1 << enum sc_class */
    uint32_t clk_max_hz;
};

/* The contactless front end (rf_sim.c): a socket to hawiya-vcard's RF field. */
#define SIM_RF_FAULT_LOST 0x1u /* a frame lost, either way */
#define SIM_RF_FAULT_CRC  0x2u /* a bit flipped: CRC (or parity) error at the receiver */
#define SIM_RF_FAULT_LATE 0x4u /* the card's answer starts after the reader stopped waiting */

struct sim_rf_config {
    const char *path;  /* UNIX socket of hawiya-vcard's RF field; NULL: no front end */
    double fault_rate; /* probability per frame */
    uint64_t fault_seed;
    unsigned fault_kinds; /* SIM_RF_FAULT_* */
    bool soft_crc;        /* a front end without a CRC engine: the firmware adds and checks it */
    unsigned max_rate;    /* enum iso14443_rate: the fastest bit rate the front end has */
};

struct sim_rf_stats {
    uint64_t frames_tx, frames_rx;
    uint64_t air_ns; /* simulated time frames were on the air, both ways */
    uint64_t faults;
};

void sim_rf_init(const struct sim_rf_config *cfg);
bool sim_rf_configured(void);
/* From hal_idle: the card process may have come back. */
void sim_rf_idle(void);
void sim_rf_close(void);
void sim_rf_stats(struct sim_rf_stats *s, bool reset);
/* Simulated time moves on (sleeping along in real time mode). */
void sim_advance_to(uint64_t t_ns);

struct usb_ccid;

/* Opens the sockets; returns 0, or -1 with a message on stderr. */
int sim_board_init(const struct sim_config *cfg);
/* In usbredir mode: the USB device whose host link hal/host_link.h is. */
void sim_board_use_usb(struct usb_ccid *u);
void sim_board_close(void);

/* Line statistics since the last reset of the counters. */
struct sim_line_stats {
    uint64_t chars_to_card, chars_from_card;
    uint64_t line_ns; /* simulated time the I/O line was busy with characters */
    uint64_t faults;  /* characters corrupted, dropped or duplicated */
};
void sim_line_stats(struct sim_line_stats *s, bool reset);

/* usbredir.c: the device controller seen by a QEMU guest. */
struct sim_usb_stats {
    uint64_t connections, resets, stalls, cancelled;
    uint64_t out_packets, in_packets, in_zlps, interrupt_packets;
};
int sim_usbredir_listen(const char *where);
/* The fd to poll: the guest's connection, or the listening socket. */
int sim_usbredir_fd(void);
/* Accepts a guest or reads what it sent (never blocks). */
void sim_usbredir_service(bool readable);
void sim_usbredir_stats(struct sim_usb_stats *s);
void sim_usbredir_close(void);

#endif

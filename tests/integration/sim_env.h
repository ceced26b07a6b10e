/*
 * sim_env: starts hawiya-vcard and hawiya-sim-reader in a fresh temporary
 * directory, connects a CCID link to the reader, and stops both at the end.
 * The binaries come from the environment (HAWIYA_VCARD, HAWIYA_SIM_READER,
 * HAWIYA_PERSONAS), which CTest sets.
 *
 * With HAWIYA_STM32_ELF set, the reader is the STM32F405 firmware image in
 * QEMU instead (HAWIYA_QEMU, default qemu-system-arm: netduinoplus2, -icount
 * shift=0, semihosting), its USART1 and USART2 joined to the host socket and
 * the card line by hawiya-serial-link (HAWIYA_SERIAL_LINK). The reader's
 * fault injection options (--fault-rate, --fault-seed, --fault-kinds) go to
 * the board's command line; options the board has no equivalent for make
 * the start fail. QEMU's stderr (the firmware's semihosting log) is in
 * DIR/qemu.log.
 */
#ifndef HAWIYA_TEST_SIM_ENV_H
#define HAWIYA_TEST_SIM_ENV_H

#include <stdbool.h>
#include <sys/types.h>

#include "ccid_link.h"

struct sim_env {
    char dir[256];
    char line_path[300], host_path[300], control_path[300], state_path[300], usb_path[300];
    char rf_path[300];
    bool rf; /* the RF field too (sim_env_start_rf) */
    pid_t vcard, reader;
    pid_t serial_link; /* STM32 board in QEMU: the link to its USARTs */
    struct ccid_link link;
};

/* True when the reader is the STM32F405 image in QEMU (HAWIYA_STM32_ELF). */
bool sim_env_stm32(void);

/* reader_args: extra arguments for hawiya-sim-reader (NULL-terminated), may be NULL. */
int sim_env_start(struct sim_env *e, const char *persona, const char *const *reader_args);
/* The same with the reader's host link on USB: hawiya-sim-reader --usbredir
 * e->usb_path, for a QEMU guest's usb-redir device; no CCID link is opened.
 * personas: a persona file (NULL: HAWIYA_PERSONAS). */
int sim_env_start_usbredir(struct sim_env *e, const char *personas, const char *persona);
/* Restarts a running env's reader with its host link on USB (e->usb_path),
 * the same card line, RF field (sim_env_start_rf) and state (its device key
 * and certificate kept). */
int sim_env_reader_usbredir(struct sim_env *e);
/* Stops the reader alone (on USB: the device is unplugged). */
void sim_env_reader_stop(struct sim_env *e);
/* The same with an RF field between them too (hawiya-vcard --rf, the
 * reader's contactless front end): `tapped` puts the card in the field
 * rather than in the contact slot. */
int sim_env_start_rf(struct sim_env *e, const char *persona, bool tapped,
                     const char *const *reader_args);
void sim_env_stop(struct sim_env *e);
/* Powers the card of e->link.slot on and selects EF.BENCH (FID 0F0F, byte
 * i = i mod 256), again up to `tries` times while faults spoil the
 * activation or the SELECT (each power-on counted in *power_ons, each that
 * failed in *failures); 0 once done, -1 if never. */
int sim_env_bring_up(struct sim_env *e, int tries, int timeout_ms, unsigned *power_ons,
                     unsigned *failures);
/* Stops the reader and starts it again on the same sockets and state
 * directory; 0 once linked again, -1 if it did not come up (if it exited,
 * its wait status in *status, else -1). */
int sim_env_restart_reader(struct sim_env *e, const char *const *reader_args, int *status);
/* Hands the reader to the manufacturer's station: the env's CCID link is
 * closed (the sim reader serves one host), then `hawiya-pki provision` gives
 * it its device certificate from the test reader CA (HAWIYA_PKI,
 * HAWIYA_PKI_DIR); 0 once provisioned. The next host is the caller's. */
int sim_env_provision(struct sim_env *e);
/* Sends a control command to the vcard ("remove", "insert", "persona ID", "stats"). */
int sim_env_control(struct sim_env *e, const char *cmd, char *reply, size_t cap);
/* One number from the vcard's "stats" ("now_ns", "card_ns", "vcc_mv", "wtx"...); -1 if absent. */
long long sim_env_stat(struct sim_env *e, const char *key);

#endif

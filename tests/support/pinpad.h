/*
 * pinpad: what a PC/SC PIN-pad reader with PACE does for the host (PC/SC
 * Part 10 AMD1 FEATURE_EXECUTE_PACE, BSI TR-03119), played in software for
 * the tests: EstablishPACEChannel reads the card's EF.CardAccess, runs PACE
 * (ICAO 9303-11 §4.4, common/pace.c's reader role) with the password
 * "typed on its keypad" (given to pinpad_init, never by the host), and
 * from then on protects the host's plain APDUs with the PACE session's
 * secure messaging (common/sm.c), as such a reader does until the card is
 * reset. Its answer is the AMD1 output (dwResult, MSE:Set AT status word,
 * EF.CardAccess, empty CARs, ID_ICC).
 *
 * The card is reached through a callback, so the same code sits in-process
 * over the virtual card (unit_emrtd_run) and inside a pcsc-lite driver for
 * tests (tests/support/ifd_testpad.c).
 */
#ifndef HAWIYA_TEST_PINPAD_H
#define HAWIYA_TEST_PINPAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hawiya/ecp_groups.h"
#include "hawiya/pace.h"
#include "hawiya/sm.h"

typedef int (*pinpad_card_fn)(void *ctx, const uint8_t *cmd, size_t n, uint8_t *resp, size_t cap,
                              size_t *rlen);

struct pinpad {
    char keypad[32]; /* what the holder types */
    pinpad_card_fn card;
    void *card_ctx;
    struct pace pace;
    struct sm_ctx sm;
    bool sm_on;
    struct ecp_groups groups;
    uint8_t buf[8192], wire[8192];
};

void pinpad_init(struct pinpad *p, const char *keypad, pinpad_card_fn card, void *ctx);
void pinpad_free(struct pinpad *p);

/*
 * The FEATURE_EXECUTE_PACE command in[0..n) (bIndex, wLengthInputData,
 * data) and its answer out[0..*out_len) (dwResult, wLengthOutputData,
 * data). GetReaderPACECapabilities (01) and EstablishPACEChannel (02) are
 * known; the PIN field of EstablishPACEChannel must be empty (typed here).
 * false when the command is malformed.
 */
bool pinpad_execute_pace(struct pinpad *p, const uint8_t *in, size_t n, uint8_t *out, size_t cap,
                         size_t *out_len);

/* A host APDU: through secure messaging once PACE is established. 0 or -1. */
int pinpad_transmit(struct pinpad *p, const uint8_t *cmd, size_t n, uint8_t *resp, size_t cap,
                    size_t *rlen);

/* The card was reset: the secure channel is gone. */
void pinpad_reset(struct pinpad *p);

#endif

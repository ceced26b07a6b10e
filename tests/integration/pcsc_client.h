/*
 * pcsc_client: "another PC/SC program" for the bridge's PC/SC tests, a
 * child process with its own libpcsclite context that takes a card the way
 * another application would, so a test can put the bridge next to it.
 */
#ifndef HAWIYA_TEST_PCSC_CLIENT_H
#define HAWIYA_TEST_PCSC_CLIENT_H

#include <stdbool.h>
#include <sys/types.h>

#include <PCSC/winscard.h>

/*
 * Connects to the card in `reader` (share: SCARD_SHARE_EXCLUSIVE or
 * SCARD_SHARE_SHARED, T=1), holds it for hold_ms, then lets go: with
 * `reset`, SCardReconnect and SCardDisconnect with SCARD_RESET_CARD, else
 * SCardDisconnect with SCARD_LEAVE_CARD. Returns once the child holds the
 * card (it says so on a pipe; a fixed pause instead let the bridge reach
 * the card first on a loaded machine); the test fails if it could not. The
 * child exits 0 when every call succeeded.
 */
pid_t pcsc_client_hold(const char *reader, DWORD share, int hold_ms, bool reset);

#endif

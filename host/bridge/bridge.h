/*
 * hawiya-bridge's daemon: the local socket server of docs/bridge-protocol.md.
 *
 * One thread runs an epoll event loop over the listening socket, every
 * client connection and every reader's notification link. Clients are
 * non-blocking with bounded buffers: a request line is at most 64 KiB
 * (TOO_LARGE closes the connection), a client stops being read while more
 * than 64 KiB of its answers are unsent, and a subscriber whose unsent
 * events pass 256 KiB is dropped, so idle, slow or silent clients cannot
 * hold up anyone else.
 *
 * Each reader has one worker thread that runs backend authenticate() for
 * the session at the head of that reader's FIFO queue; the worker reports
 * progress and completion back to the loop through a pipe. One session per
 * reader at a time; queued requests have their own deadline. How the
 * daemon is split into files: daemon.h.
 */
#ifndef HAWIYA_BRIDGE_BRIDGE_H
#define HAWIYA_BRIDGE_BRIDGE_H

#include "config.h"

/* Runs until SIGTERM or SIGINT; returns the exit status. */
int bridge_run(const struct bridge_config *cfg);

#endif

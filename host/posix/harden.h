/*
 * harden: what a process of Hawiya that handles a CAN or an MRZ does so that
 * the secret is not found where it should not be (docs/security.md):
 *   - no core dump at all: PR_SET_DUMPABLE 0 (which also keeps other
 *     processes of the same user from ptrace and /proc/PID/mem) and
 *     RLIMIT_CORE 0;
 *   - secrets that must wait (a queued request's CAN) in pages of their own,
 *     MADV_DONTDUMP (left out of a core even when the system asks for one,
 *     and out of gcore) and mlock'ed when the limit allows (not swapped);
 *   - every block cJSON frees is wiped first (the request tree held the CAN
 *     before it was copied out; a printed request holds it in its buffers).
 */
#ifndef HAWIYA_HARDEN_H
#define HAWIYA_HARDEN_H

#include <stdbool.h>
#include <stddef.h>

/* No core dumps, no ptrace by same-user processes; false if the kernel refused. */
bool harden_process(void);

/* n bytes of zeroed memory in pages of their own, never dumped; NULL when out of memory. */
void *secret_alloc(size_t n);
/* Wipes and releases what secret_alloc gave (n as given). */
void secret_free(void *p, size_t n);

/* Leaves [p, p + n) out of core dumps (MADV_DONTDUMP); p page-aligned. */
bool secret_region(void *p, size_t n);

/* Wipes `n` bytes of the stack below the caller's frame (what deeper calls,
 * a parse, a print, a send, left there) and the vector registers (what the
 * string functions moved through them, which a later lazy binding would
 * save on the stack). */
void wipe_stack(size_t n);

/* cJSON allocations from now on are wiped when freed (call before any cJSON use). */
void harden_cjson(void);

#endif

/*
 * guest: boots the USB test guest (tests/usb/guest_image.sh) under QEMU
 * (qemu-system-x86_64, TCG) with our reader on its xHCI bus through
 * usb-redir, and follows its serial console: "@@CARD remove|insert" lines
 * are carried out on the virtual card, "@@UNPLUG" stops the reader (QEMU
 * sees the device go) and "@@PLUG" starts it again (QEMU reconnects
 * within a second and the guest sees it come), "@@CONTROL CMD" sends CMD to the virtual card's
 * control socket ("tap", "persona ID"...), "@@MARK", "@@BENCH NAME VALUE RUNS", "@@SEEN TEXT",
 * "@@ASSERTION BASE64URL" and "@@ASSERTION2 BASE64URL" lines kept, "@@EXIT n" ends the run. Every
 * bound is generous wall-clock time (a loaded 2-core machine boots the guest in 3-10 s); QEMU is
 * killed at the end whatever happened.
 */
#ifndef HAWIYA_TEST_GUEST_H
#define HAWIYA_TEST_GUEST_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sim_env.h"

/* CPU time a process has used so far, in ns (/proc/PID/schedstat); 0 if unknown. */
uint64_t guest_process_cpu_ns(pid_t pid);

#define GUEST_MAX_BENCH 16
#define GUEST_MAX_SEEN  16

/* What Debian 12's pcscd prints when libccid 1.5.2 resubmits its multi-slot interrupt
 * transfer on the NULL handle of a slot already closed (guest_pcscd.sh; fixed upstream by
 * CCID commit 5aa84ff, https://salsa.debian.org/rousseau/CCID/-/issues/18). */
#define GUEST_PCSCD_KNOWN_CRASH "libusb_submit_transfer: Assertion `transfer->dev_handle' failed."

struct guest_result {
    int exit_status; /* the guest test's, or -1 when it never said */
    unsigned card_removals, card_insertions, unplugs, plugs;
    double wall_s;
    /* "@@BENCH NAME VALUE RUNS": the reader's CPU time since the last "@@MARK" too */
    char bench_name[GUEST_MAX_BENCH][48];
    double bench_value[GUEST_MAX_BENCH];
    unsigned bench_runs[GUEST_MAX_BENCH];
    double bench_reader_cpu_ns[GUEST_MAX_BENCH];
    size_t n_bench;
    /* "@@PCSCD_EXIT STATUS LINE" (guest_pcscd.sh): pcscd died and was started
     * again. Known: libccid 1.5.2's multi-slot unplug abort (GUEST_PCSCD_KNOWN_CRASH,
     * status 134) after an "@@UNPLUG"; a hang: the guest found pcscd keeping a slot of
     * the unplugged reader for good, said "@@PCSCD_STUCK" and killed it (status 137,
     * docs/reader.md); other: anything else, which a test fails on. */
    unsigned pcscd_known_crashes, pcscd_known_hangs, pcscd_other_exits;
    unsigned pcscd_stuck_said; /* "@@PCSCD_STUCK" lines not yet matched by their exit */
    char *assertion;           /* "@@ASSERTION B64URL": the decoded bytes, NUL-ended (free it) */
    size_t assertion_len;
    char *assertion2; /* "@@ASSERTION2 B64URL": a second session's (free it) */
    size_t assertion2_len;
    /* "@@SEEN TEXT": what the guest observed, in order, for the host to check */
    char seen[GUEST_MAX_SEEN][160];
    size_t n_seen;
    unsigned controls_failed; /* "@@CONTROL" commands the card did not answer "ok" */
};

/*
 * Builds the image under HAWIYA_GUEST_DIR with `programs` (NULL-terminated)
 * in /bin, then boots it against the reader of `env` (sim_env_start_usbredir)
 * to run hawiya_test=`test` with `args` (commas for spaces). The console is
 * copied to stderr. 0 when the guest ran to its "@@EXIT".
 */
int guest_run(struct sim_env *env, const char *const *programs, const char *test, const char *args,
              int timeout_s, struct guest_result *res);

#endif

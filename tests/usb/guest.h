/*
 * guest: boots the USB test guest (tests/usb/guest_image.sh) under QEMU
 * (qemu-system-x86_64, TCG) with our reader on its xHCI bus through
 * usb-redir, and follows its serial console: "@@CARD remove|insert" lines
 * are carried out on the virtual card, "@@BENCH NAME VALUE" and
 * "@@ASSERTION BASE64URL" lines kept, "@@EXIT n" ends the run. Every bound is generous wall-clock
 * time (a loaded 2-core machine boots the guest in 3-10 s); QEMU is killed at the end whatever
 * happened.
 */
#ifndef HAWIYA_TEST_GUEST_H
#define HAWIYA_TEST_GUEST_H

#include <stddef.h>

#include "sim_env.h"

#define GUEST_MAX_BENCH 16

struct guest_result {
    int exit_status; /* the guest test's, or -1 when it never said */
    unsigned card_removals, card_insertions;
    double wall_s;
    char bench_name[GUEST_MAX_BENCH][48];
    double bench_value[GUEST_MAX_BENCH];
    size_t n_bench;
    char *assertion; /* "@@ASSERTION B64URL": the decoded bytes, NUL-ended (free it) */
    size_t assertion_len;
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

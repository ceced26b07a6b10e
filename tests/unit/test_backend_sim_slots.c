/*
 * The sim backend's monitor() (host/bridge/backend_sim.c) on exact
 * NotifySlotChange bytes (USB CCID 1.1 §6.3.1; 50 then two bits per slot,
 * slot 0 the contact slot in bits 0-1, slot 1 the field in bits 2-3),
 * written by this test playing the reader on the other end of the socket.
 * What monitor() returns is what the bridge reports: SWAPPED becomes
 * card_removed then card_inserted (sessions.c). A card out and in again, or
 * another card, between two looks is SWAPPED in either slot: one merged
 * report (50 03, 50 0D) or two (50 02 then 50 03) read at one look.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "backend.h"

static char dir[64];
static int reader_fd = -1;

/* The reader's reports, as its socket carries them. */
static void report(const uint8_t *p, size_t n)
{
    assert_int_equal(write(reader_fd, p, n), (ssize_t)n);
}

#define REPORT(...)                                                                                \
    do {                                                                                           \
        const uint8_t m_[] = {__VA_ARGS__};                                                        \
        report(m_, sizeof m_);                                                                     \
    } while (0)

static const char *iface(void *r)
{
    const char *i = bridge_backend_sim.card_interface(r);
    return i ? i : "none";
}

static void reports_to_monitor(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/hawiya-slots-XXXXXX");
    assert_non_null(mkdtemp(dir));
    struct bridge_reader_config cfg = {.backend = "sim", .name = "r"};
    snprintf(cfg.path, sizeof cfg.path, "%s/host.sock", dir);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", cfg.path);
    int ls = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(ls >= 0);
    assert_int_equal(bind(ls, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(ls, 1), 0);

    const struct bridge_backend_ops *ops = &bridge_backend_sim;
    void *r = ops->create(&cfg, NULL);
    assert_non_null(r);
    char why[200];
    assert_true(ops->connect(r, why, sizeof why) >= 0);
    reader_fd = accept(ls, NULL, NULL);
    assert_true(reader_fd >= 0);

    /* A new host hears the slots at once: a contact card in (changed). */
    REPORT(0x50, 0x03);
    assert_int_equal(ops->monitor(r), BRIDGE_MONITOR_OK);
    assert_true(ops->card_present(r));
    assert_string_equal(iface(r), "contact");
    /* Out and in again within the reader's debounce: one report. */
    REPORT(0x50, 0x03);
    assert_int_equal(ops->monitor(r), BRIDGE_MONITOR_SWAPPED);
    assert_true(ops->card_present(r));
    /* Two reports read at one look. */
    REPORT(0x50, 0x02);
    REPORT(0x50, 0x03);
    assert_int_equal(ops->monitor(r), BRIDGE_MONITOR_SWAPPED);
    /* Nothing new, and a report that changes nothing. */
    assert_int_equal(ops->monitor(r), BRIDGE_MONITOR_OK);
    REPORT(0x50, 0x01);
    assert_int_equal(ops->monitor(r), BRIDGE_MONITOR_OK);
    /* A removal, then an insertion, each at its own look: no swap. */
    REPORT(0x50, 0x02);
    assert_int_equal(ops->monitor(r), BRIDGE_MONITOR_OK);
    assert_false(ops->card_present(r));
    assert_string_equal(iface(r), "none");
    REPORT(0x50, 0x03);
    assert_int_equal(ops->monitor(r), BRIDGE_MONITOR_OK);
    assert_true(ops->card_present(r));
    /* A tap with the contact card in (50 0D), then another card tapped in
     * its place between two of the reader's polls (50 0D again). */
    REPORT(0x50, 0x0D);
    assert_int_equal(ops->monitor(r), BRIDGE_MONITOR_OK);
    assert_string_equal(iface(r), "contactless");
    REPORT(0x50, 0x0D);
    assert_int_equal(ops->monitor(r), BRIDGE_MONITOR_SWAPPED);
    assert_string_equal(iface(r), "contactless");
    /* The field card leaves (50 09): the contact card is what is left. */
    REPORT(0x50, 0x09);
    assert_int_equal(ops->monitor(r), BRIDGE_MONITOR_OK);
    assert_true(ops->card_present(r));
    assert_string_equal(iface(r), "contact");
    /* The reader hangs up: the link is broken. */
    close(reader_fd);
    reader_fd = -1;
    assert_int_equal(ops->monitor(r), BRIDGE_MONITOR_BROKEN);

    ops->disconnect(r);
    ops->destroy(r);
    close(ls);
    unlink(cfg.path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reports_to_monitor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

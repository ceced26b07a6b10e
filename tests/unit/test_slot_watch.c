/*
 * slot_watch (host/backend/slot_watch.h), the USB backend's reading of
 * RDR_to_PC_NotifySlotChange, fed the exact messages of USB CCID 1.1
 * §6.3.1: 50 then bmSlotICCState, two bits per slot (bit 0 present, bit 1
 * changed), slot 0 in bits 0-1, slot 1 (our contactless slot) in bits 2-3.
 *   50 0B  a new host's first report: contact card in (03), field empty (08)
 *   50 0C  a card in the field, changed; contact slot empty, unchanged
 *   50 08  the field empty, changed
 *   50 03  a contact card in, changed
 *   50 0D  contact card in and unchanged (01), card in the field, changed (0C)
 * A card present at the last look and present again with its changed bit
 * set (one merged report, or two reports between looks) is `swapped`: the
 * bridge says removal then insertion.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "slot_watch.h"

#define NOTE(w, ...)                                                                               \
    do {                                                                                           \
        const uint8_t m_[] = {__VA_ARGS__};                                                        \
        assert_true(slot_watch_note((w), m_, sizeof m_));                                          \
    } while (0)

/* Our two-slot reader with these cards in at connect (the GetSlotStatus answers). */
static void connected(struct slot_watch *w, bool contact, bool field)
{
    struct slot_look l;
    slot_watch_reset(w, 1);
    slot_watch_status(w, 0, contact);
    slot_watch_status(w, 1, field);
    slot_watch_look(w, &l);
    assert_int_equal(l.present[0], contact);
    assert_int_equal(l.present[1], field);
    assert_false(l.swapped[0] || l.swapped[1]);
}

/* A card taken away and another tapped between two of the reader's polls:
 * one report, 50 0C, while the bridge still has the first card. */
static void swap_in_field_one_report(void **state)
{
    (void)state;
    struct slot_watch w;
    struct slot_look l;
    connected(&w, false, true);
    NOTE(&w, 0x50, 0x0C);
    slot_watch_look(&w, &l);
    assert_true(l.swapped[1]);
    assert_false(l.swapped[0]);
    assert_true(l.present[1]);
    assert_true(l.changed);
    /* said once: the next look has nothing new */
    slot_watch_look(&w, &l);
    assert_false(l.swapped[1]);
    assert_false(l.changed);
    assert_true(l.present[1]);
}

/* The same as two reports (50 08, then 50 0C) that both came between two looks. */
static void swap_in_field_two_reports(void **state)
{
    (void)state;
    struct slot_watch w;
    struct slot_look l;
    connected(&w, false, true);
    NOTE(&w, 0x50, 0x08);
    NOTE(&w, 0x50, 0x0C);
    slot_watch_look(&w, &l);
    assert_true(l.swapped[1]);
    assert_int_equal(w.arrivals[1], 1);
    assert_int_equal(w.notifications, 2);
}

/* A contact card with a card in the field: only the field's card swapped (50 0D). */
static void swap_in_field_contact_kept(void **state)
{
    (void)state;
    struct slot_watch w;
    struct slot_look l;
    connected(&w, true, true);
    NOTE(&w, 0x50, 0x0D);
    slot_watch_look(&w, &l);
    assert_false(l.swapped[0]);
    assert_true(l.swapped[1]);
    assert_true(l.present[0] && l.present[1]);
}

/* Out and in again in the contact slot, merged by the reader (50 03). */
static void swap_in_contact_slot(void **state)
{
    (void)state;
    struct slot_watch w;
    struct slot_look l;
    connected(&w, true, false);
    NOTE(&w, 0x50, 0x03);
    slot_watch_look(&w, &l);
    assert_true(l.swapped[0]);
    assert_false(l.swapped[1]);
}

/* Not swaps: an insertion into an empty slot, a removal, a card in and out
 * again between looks, a report with no change. */
static void arrivals_and_departures(void **state)
{
    (void)state;
    struct slot_watch w;
    struct slot_look l;
    connected(&w, false, false);
    NOTE(&w, 0x50, 0x0C); /* tap */
    slot_watch_look(&w, &l);
    assert_true(l.present[1]);
    assert_false(l.swapped[1]);
    assert_true(l.changed);
    NOTE(&w, 0x50, 0x08); /* gone */
    slot_watch_look(&w, &l);
    assert_false(l.present[1]);
    assert_false(l.swapped[1]);
    assert_true(l.changed);
    NOTE(&w, 0x50, 0x0C); /* in and out before anyone looked */
    NOTE(&w, 0x50, 0x08);
    slot_watch_look(&w, &l);
    assert_false(l.present[1]);
    assert_false(l.swapped[1]);
    assert_true(l.changed);
    NOTE(&w, 0x50, 0x03);
    slot_watch_look(&w, &l);
    assert_true(l.present[0]);
    assert_false(l.swapped[0]);
    NOTE(&w, 0x50, 0x01); /* present, nothing changed */
    slot_watch_look(&w, &l);
    assert_true(l.present[0]);
    assert_false(l.swapped[0]);
    assert_false(l.changed);
}

/* At connect the reader may still hold a report from before this host (50 0B:
 * its greeting to a new host): it is read before the GetSlotStatus answers
 * and they supersede it, so a card in at connect is no swap. A report
 * after the answers is news. */
static void report_before_connect_is_not_news(void **state)
{
    (void)state;
    struct slot_watch w;
    struct slot_look l;
    slot_watch_reset(&w, 1);
    NOTE(&w, 0x50, 0x0B);
    slot_watch_status(&w, 0, true);
    slot_watch_status(&w, 1, false);
    slot_watch_look(&w, &l);
    assert_true(l.present[0]);
    assert_false(l.present[1]);
    assert_false(l.swapped[0] || l.swapped[1]);
    NOTE(&w, 0x50, 0x03);
    slot_watch_look(&w, &l);
    assert_true(l.swapped[0]);
}

/* The session found the card gone (the reader said so mid-session): the
 * next card in the field is an insertion, not a swap of a card no longer seen. */
static void gone_then_new_card(void **state)
{
    (void)state;
    struct slot_watch w;
    struct slot_look l;
    connected(&w, false, true);
    slot_watch_gone(&w, 1);
    NOTE(&w, 0x50, 0x08);
    NOTE(&w, 0x50, 0x0C);
    slot_watch_look(&w, &l);
    assert_true(l.present[1]);
    assert_false(l.swapped[1]);

    /* The new card's report came during the session, before it failed:
     * that card is there, in place of the one the session ran on. */
    NOTE(&w, 0x50, 0x08);
    NOTE(&w, 0x50, 0x0C);
    slot_watch_gone(&w, 1);
    slot_watch_look(&w, &l);
    assert_true(l.present[1]);
    assert_true(l.swapped[1]);
}

/* Anything but a well-formed NotifySlotChange of this reader's size changes
 * nothing: too short, too long, another type, a HardwareError (51 bSlot bSeq
 * bHardwareErrorCode). A one-slot reader's message is two bytes too, its
 * byte padded with zero bits (a 1 there is refused). */
static void malformed_and_one_slot(void **state)
{
    (void)state;
    struct slot_watch w;
    struct slot_look l;
    connected(&w, false, true);
    static const uint8_t bad[][4] = {
        {0x50}, {0x50, 0x0C, 0x00}, {0x52, 0x0C}, {0x51, 0x01, 0x07, 0x01}};
    static const size_t bad_len[] = {1, 3, 2, 4};
    for (size_t i = 0; i < 4; i++)
        assert_false(slot_watch_note(&w, bad[i], bad_len[i]));
    assert_false(slot_watch_note(&w, NULL, 0));
    slot_watch_look(&w, &l);
    assert_false(l.changed);
    assert_true(l.present[1]);
    assert_int_equal(w.notifications, 0);

    slot_watch_reset(&w, 0);
    slot_watch_status(&w, 0, true);
    slot_watch_status(&w, 1, true); /* no such slot */
    const uint8_t padded_with_ones[] = {0x50, 0x0F};
    assert_false(slot_watch_note(&w, padded_with_ones, 2));
    NOTE(&w, 0x50, 0x03);
    slot_watch_look(&w, &l);
    assert_true(l.swapped[0]);
    assert_false(l.present[1]);
    assert_false(l.swapped[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(swap_in_field_one_report),
        cmocka_unit_test(swap_in_field_two_reports),
        cmocka_unit_test(swap_in_field_contact_kept),
        cmocka_unit_test(swap_in_contact_slot),
        cmocka_unit_test(arrivals_and_departures),
        cmocka_unit_test(report_before_connect_is_not_news),
        cmocka_unit_test(gone_then_new_card),
        cmocka_unit_test(malformed_and_one_slot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

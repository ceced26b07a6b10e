#include "slot_watch.h"

#include <string.h>

#include "hawiya/ccid.h"

void slot_watch_reset(struct slot_watch *w, uint8_t max_slot_index)
{
    memset(w, 0, sizeof *w);
    w->max_slot_index = max_slot_index;
}

void slot_watch_status(struct slot_watch *w, unsigned slot, bool present)
{
    if (slot >= SLOT_WATCH_SLOTS || slot > w->max_slot_index)
        return;
    w->present[slot] = w->seen_present[slot] = present;
    w->seen_arrivals[slot] = w->arrivals[slot];
}

bool slot_watch_note(struct slot_watch *w, const uint8_t *p, size_t n)
{
    struct ccid_interrupt it;
    if (ccid_decode_interrupt(p, n, w->max_slot_index, &it) != CCID_OK ||
        it.type != CCID_RDR_TO_PC_NOTIFY_SLOT_CHANGE)
        return false;
    w->notifications++;
    for (unsigned s = 0; s < SLOT_WATCH_SLOTS && s <= w->max_slot_index; s++) {
        bool now = ccid_slot_present(&it, s), changed = ccid_slot_changed(&it, s);
        if (now && (!w->present[s] || changed))
            w->arrivals[s]++;
        if (changed || now != w->present[s])
            w->changes++;
        w->present[s] = now;
    }
    return true;
}

void slot_watch_look(struct slot_watch *w, struct slot_look *out)
{
    memset(out, 0, sizeof *out);
    for (unsigned s = 0; s < SLOT_WATCH_SLOTS; s++) {
        out->present[s] = w->present[s];
        out->swapped[s] =
            w->seen_present[s] && w->present[s] && w->arrivals[s] != w->seen_arrivals[s];
        w->seen_present[s] = w->present[s];
        w->seen_arrivals[s] = w->arrivals[s];
    }
    out->changed = w->changes != w->seen_changes;
    w->seen_changes = w->changes;
}

void slot_watch_gone(struct slot_watch *w, unsigned slot)
{
    if (slot < SLOT_WATCH_SLOTS && w->arrivals[slot] == w->seen_arrivals[slot])
        w->present[slot] = w->seen_present[slot] = false;
}

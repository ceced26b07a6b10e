/*
 * slot_watch: what a reader's RDR_to_PC_NotifySlotChange messages (USB CCID
 * 1.1 §6.3.1) say happened in each slot between two looks of the host.
 *
 * bmSlotICCState carries two bits per slot: bit 0 of the pair is "a card is
 * present" now, bit 1 "the state changed since the last report". A present
 * card with its changed bit set after the host last saw a card there is a
 * card that left and came back, or another card: a reader merges the
 * removal and the insertion into one report when its interrupt pipe was
 * busy (our firmware does, usb_ccid.c), and the contactless slot reports
 * this way a card taken away and another tapped between two of its polls.
 * Two reports (absent, then present) that both arrive between two looks are
 * the same thing. Either way the host must end what it knew of the first
 * card (its session, its ATR) and say a removal then an insertion: look()
 * names such a slot `swapped`.
 *
 * Pure bookkeeping, no locking: the caller holds the same lock for note()
 * (the thread reading the interrupt pipe) and look() (the one acting).
 */
#ifndef HAWIYA_SLOT_WATCH_H
#define HAWIYA_SLOT_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Our reader's two slots: 0 contact, 1 contactless (ccid_link.h's CCID_LINK_SLOTS). */
#define SLOT_WATCH_SLOTS 2u

struct slot_watch {
    uint8_t max_slot_index; /* the reader's bMaxSlotIndex (fixes the message's size) */
    bool present[SLOT_WATCH_SLOTS];
    /* cards that came into the slot: present after absent, or present
     * with the changed bit set (out and in again, or another card) */
    uint64_t arrivals[SLOT_WATCH_SLOTS];
    uint64_t changes; /* reports with a changed bit or a new state, any slot */
    uint64_t notifications;
    /* what the last look saw */
    bool seen_present[SLOT_WATCH_SLOTS];
    uint64_t seen_arrivals[SLOT_WATCH_SLOTS], seen_changes;
};

/* Nothing known yet: every slot empty. */
void slot_watch_reset(struct slot_watch *w, uint8_t max_slot_index);

/* A slot's state from RDR_to_PC_SlotStatus (§6.2.6), taken in the order it
 * came among the notes: the state now, and not news (a report the reader
 * had pending from before, noted earlier, is part of it). */
void slot_watch_status(struct slot_watch *w, unsigned slot, bool present);

/* One interrupt-IN message p[0..n); false if it is not a well-formed
 * NotifySlotChange for this reader (ignored; a HardwareError is not news
 * about presence). Slots beyond SLOT_WATCH_SLOTS are not followed. */
bool slot_watch_note(struct slot_watch *w, const uint8_t *p, size_t n);

struct slot_look {
    bool present[SLOT_WATCH_SLOTS];
    bool swapped[SLOT_WATCH_SLOTS]; /* present at the last look and now, another arrival between */
    bool changed;                   /* something happened since the last look */
};

/* What happened since the last look (or the reset); the next look starts from now. */
void slot_watch_look(struct slot_watch *w, struct slot_look *out);

/* The host found the slot empty itself (the reader said the card was gone
 * during a session): now absent, and so at the last look. Unless a card
 * came into the slot since the last look (its report arrived during the
 * session): that one is there, and the next look calls it a swap. */
void slot_watch_gone(struct slot_watch *w, unsigned slot);

#endif

/*
 * The sim backend: one ccid_link per reader to the sim board's host-link
 * socket (boards/sim). Card presence comes from RDR_to_PC_NotifySlotChange
 * (USB CCID 1.1 §6.3.1), which the board sends when the host connects and on
 * every insertion or removal; a card out and in again (or another card)
 * between two looks is reported as a removal then an insertion (slot_watch,
 * as the usb backend does), in either slot.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "backend.h"
#include "ccid_link.h"
#include "hawiya-verify.h"
#include "hawiya/hex.h"
#include "hawiya/reader_escape.h"
#include "reader_session.h"
#include "hawiya/tlv.h"
#include "hawiya/wipe.h"

struct sim_reader {
    struct bridge_reader_config cfg;
    struct ccid_link link;
    bool active;
    /* Liveness probes (RESC_INFO, sent by the loop while the reader is idle). */
    uint8_t probe_seq;
    uint64_t answers;
    struct bridge_reader_identity ident;
    uint8_t info[2048];
    /* The reader's last report (the evidence): this reader's worker only, so
     * readers authenticate side by side without sharing it. */
    uint8_t report[CCID_MAX_MESSAGE_SIZE];
};

static void *sim_create(const struct bridge_reader_config *cfg, void *provider)
{
    (void)provider;
    struct sim_reader *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->cfg = *cfg;
    s->link.fd = -1;
    return s;
}

static void sim_destroy(void *r)
{
    struct sim_reader *s = r;
    if (s)
        ccid_link_close(&s->link);
    free(s);
}

static int sim_connect(void *r, char *why, size_t cap)
{
    struct sim_reader *s = r;
    if (ccid_link_open(&s->link, s->cfg.path) != CCID_LINK_OK) {
        snprintf(why, cap, "connect %s: %s", s->cfg.path, strerror(errno));
        return -1;
    }
    s->active = false;
    s->answers = 0;
    return s->link.fd;
}

static void sim_disconnect(void *r)
{
    struct sim_reader *s = r;
    ccid_link_close(&s->link);
    s->link.card_present = false;
    s->active = false;
}

static enum bridge_monitor sim_monitor(void *r)
{
    struct sim_reader *s = r;
    if (s->link.fd < 0)
        return BRIDGE_MONITOR_BROKEN;
    for (;;) {
        struct ccid_msg m;
        enum ccid_link_err e = ccid_link_take(&s->link, &m, s->info, sizeof s->info);
        if (e == CCID_LINK_ERR_TIMEOUT)
            break; /* nothing more for now (half a message stays buffered) */
        if (e != CCID_LINK_OK)
            return BRIDGE_MONITOR_BROKEN; /* closed, or garbage on the link */
        if (m.type == CCID_RDR_TO_PC_ESCAPE && m.seq == s->probe_seq) {
            struct bridge_reader_identity id;
            if (ccid_status_command(m.status) == CCID_CMD_OK &&
                bridge_reader_info_parse(m.data, m.len, &id))
                s->ident = id;
            s->answers++;
        }
    }
    struct slot_look l;
    slot_watch_look(&s->link.watch, &l);
    /* A removal, even one followed by an insertion, ends the powered session. */
    if (l.changed)
        s->active = false;
    /* Another card in place of the one seen at the last look (the reader
     * found a new card, or a new UID, or a card went out and came back):
     * a removal and an insertion, as it happened. */
    if (l.swapped[0] || l.swapped[1])
        return BRIDGE_MONITOR_SWAPPED;
    return BRIDGE_MONITOR_OK;
}

static bool sim_probe(void *r)
{
    struct sim_reader *s = r;
    static const uint8_t info[] = {RESC_INFO};
    struct ccid_msg req = {.type = CCID_PC_TO_RDR_ESCAPE, .data = info, .len = sizeof info};
    /* A reader that stopped reading fills its socket: the send fails at once. */
    enum ccid_link_err e = ccid_link_send(&s->link, &req, 0);
    s->probe_seq = req.seq;
    return e == CCID_LINK_OK || e == CCID_LINK_ERR_TIMEOUT;
}

static uint64_t sim_answers(void *r)
{
    return ((struct sim_reader *)r)->answers;
}

static void sim_identity(void *r, struct bridge_reader_identity *out)
{
    *out = ((struct sim_reader *)r)->ident;
}

/* A card in the contact slot (CCID slot 0) or in the RF field (slot 1). */
static bool sim_card_present(void *r)
{
    struct sim_reader *s = r;
    return s->link.card_present || s->link.cl_present;
}

static bool sim_card_active(void *r)
{
    struct sim_reader *s = r;
    return sim_card_present(r) && s->active;
}

/* The reader's session prefers the card in the field, and so does this. */
static const char *sim_card_interface(void *r)
{
    struct sim_reader *s = r;
    return s->link.cl_present ? "contactless" : s->link.card_present ? "contact" : NULL;
}

static enum bridge_err sim_authenticate(void *r, const struct bridge_auth *a,
                                        bridge_progress_fn progress, void *ctx,
                                        struct bridge_auth_result *res)
{
    struct sim_reader *s = r;
    bool gone = false, reset = false;
    s->active = false; /* the reader resets the card before and after */
    enum bridge_err e = bridge_reader_authenticate(&s->link, s->report, sizeof s->report, a,
                                                   progress, ctx, res, &gone, &reset);
    if (gone) {
        /* the card the session ran on: the one in the field when there was one */
        unsigned slot = s->link.watch.seen_present[1] ? 1 : 0;
        slot_watch_gone(&s->link.watch, slot);
        if (slot == 1)
            s->link.cl_present = s->link.watch.present[1];
        else
            s->link.card_present = s->link.watch.present[0];
    }
    /* The sim board's reset is its cable pulled: it drops the host's session
     * and powers the card down; monitor() then reports the link broken and
     * the bridge connects again, as a new host. */
    if (reset)
        ccid_link_close(&s->link);
    return e;
}

const struct bridge_backend_ops bridge_backend_sim = {
    .name = "sim",
    .create = sim_create,
    .destroy = sim_destroy,
    .connect = sim_connect,
    .disconnect = sim_disconnect,
    .monitor = sim_monitor,
    .card_present = sim_card_present,
    .card_active = sim_card_active,
    .authenticate = sim_authenticate,
    .card_interface = sim_card_interface,
    .probe = sim_probe,
    .answers = sim_answers,
    .identity = sim_identity,
};

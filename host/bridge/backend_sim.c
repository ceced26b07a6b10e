/*
 * The sim backend: one ccid_link per reader to the sim board's host-link
 * socket (boards/sim). Card presence comes from RDR_to_PC_NotifySlotChange
 * (USB CCID 1.1 §6.3.1), which the board sends when the host connects and on
 * every insertion or removal.
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
    char c;
    ssize_t k = recv(s->link.fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (k == 0 || (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
        return BRIDGE_MONITOR_BROKEN;
    bool was = s->link.card_present, was_cl = s->link.cl_present;
    uint64_t before = s->link.notifications, taps = s->link.taps;
    while (ccid_link_wait_notify(&s->link, 0))
        ;
    /* Anything left must be the start of a message; garbage means a broken link. */
    if (s->link.in_len > 0) {
        size_t n;
        enum ccid_err e = ccid_frame(s->link.in, s->link.in_len, sizeof s->link.in, &n);
        if (e != CCID_OK && e != CCID_ERR_NEED_MORE)
            return BRIDGE_MONITOR_BROKEN;
    }
    /* A removal, even one followed by an insertion, ends the powered session. */
    if (s->link.notifications != before &&
        (was != s->link.card_present || s->link.present_changed || was_cl != s->link.cl_present ||
         s->link.cl_changed))
        s->active = false;
    /* Another card tapped in place of the one in the field (the reader found
     * a new card, or a new UID, between two looks): a removal and an
     * insertion, as it happened. */
    if (was_cl && s->link.cl_present && s->link.taps != taps)
        return BRIDGE_MONITOR_SWAPPED;
    return BRIDGE_MONITOR_OK;
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
    bool gone = false;
    s->active = false; /* the reader resets the card before and after */
    enum bridge_err e = bridge_reader_authenticate(&s->link, s->report, sizeof s->report, a,
                                                   progress, ctx, res, &gone);
    if (gone) {
        /* the card the session ran on: the one in the field when there was one */
        if (s->link.cl_present)
            s->link.cl_present = false;
        else
            s->link.card_present = false;
    }
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
};

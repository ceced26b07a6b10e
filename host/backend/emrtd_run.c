#include "emrtd_run.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "hawiya/wipe.h"

const char *emrtd_run_err_str(enum emrtd_run_err e)
{
    switch (e) {
    case EMRTD_RUN_OK: return "EMRTD_RUN_OK";
    case EMRTD_RUN_ERR_TRANSPORT: return "EMRTD_RUN_ERR_TRANSPORT";
    case EMRTD_RUN_ERR_CARD: return "EMRTD_RUN_ERR_CARD";
    case EMRTD_RUN_ERR_CANCELLED: return "EMRTD_RUN_ERR_CANCELLED";
    }
    return "EMRTD_RUN_ERR_UNKNOWN";
}

static uint64_t clock_ns(clockid_t id)
{
    struct timespec t;
    clock_gettime(id, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* Short Le values tried after extended, in order (see emrtd_run.h). */
static const size_t short_le[] = {256, 224, 160, 128};

static enum emrtd_run_err card_error(struct emrtd_run *r, enum emrtd_err e)
{
    r->err = e;
    r->err_name = e == EMRTD_ERR_PACE ? pace_err_str(r->em.pace_err)
                  : e == EMRTD_ERR_SM ? sm_err_str(r->em.sm_err)
                                      : emrtd_err_str(e);
    r->sw = r->em.sw;
    return EMRTD_RUN_ERR_CARD;
}

enum emrtd_run_err emrtd_run(struct emrtd_run *r, const struct emrtd_params *p,
                             emrtd_run_transmit_fn transmit, void *tctx, emrtd_run_phase_fn phase,
                             void *pctx)
{
    struct emrtd_params ep = *p;
    size_t cmd_len = 0, rlen = 0;
    enum emrtd_err e = EMRTD_OK;
    enum emrtd_run_err result = EMRTD_RUN_OK;
    r->phase = emrtd_phase_str(EMRTD_PHASE_CARDACCESS);
    r->err = EMRTD_OK;
    r->err_name = NULL;
    r->sw = 0;
    r->transport_err = 0;
    r->apdus = 0;

    uint64_t t0 = clock_ns(CLOCK_MONOTONIC), c0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
    unsigned a0 = 0;

    /* The sizes: the first command, at each size in turn, until the card takes one. */
    size_t next_short = 0;
    bool extended = p->extended && p->max_le > 256;
    for (;;) {
        ep.extended = extended;
        ep.max_le = extended ? p->max_le : short_le[next_short];
        e = emrtd_begin(&r->em, &ep, r->cmd, sizeof r->cmd, &cmd_len);
        if (e != EMRTD_OK) {
            result = card_error(r, e);
            goto out;
        }
        long te = transmit(tctx, r->cmd, cmd_len, r->resp, sizeof r->resp, &rlen);
        r->apdus++;
        if (te != 0) {
            r->transport_err = te;
            result = EMRTD_RUN_ERR_TRANSPORT;
            goto out;
        }
        bool wrong_length = rlen >= 2 && r->resp[rlen - 2] == 0x67 && r->resp[rlen - 1] == 0x00;
        if (!wrong_length || (!extended && next_short + 1 >= sizeof short_le / sizeof short_le[0]))
            break;
        if (extended)
            extended = false;
        else
            next_short++;
        emrtd_wipe(&r->em);
    }
    r->extended = ep.extended;
    r->max_le = ep.max_le;

    for (;;) {
        enum emrtd_phase ph = r->em.phase;
        e = emrtd_step(&r->em, r->resp, rlen, r->cmd, sizeof r->cmd, &cmd_len);
        if (e != EMRTD_OK) {
            r->phase = emrtd_phase_str(ph);
            result = card_error(r, e);
            goto out;
        }
        /* A phase is over when the machine moved on (or is done). */
        if (r->em.phase != ph || cmd_len == 0) {
            uint64_t t1 = clock_ns(CLOCK_MONOTONIC), c1 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
            struct emrtd_run_phase done = {.name = emrtd_phase_str(ph),
                                           .elapsed_ns = t1 - t0,
                                           .cpu_ns = c1 - c0,
                                           .apdus = r->apdus - a0};
            if (ph == EMRTD_PHASE_CARDACCESS)
                snprintf(done.detail, sizeof done.detail, "%s length, Le %zu",
                         r->extended ? "extended" : "short", r->max_le);
            r->phase = done.name;
            if (phase && !phase(pctx, &done)) {
                result = EMRTD_RUN_ERR_CANCELLED;
                goto out;
            }
            t0 = t1;
            c0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
            a0 = r->apdus;
        }
        if (cmd_len == 0)
            break;
        long te = transmit(tctx, r->cmd, cmd_len, r->resp, sizeof r->resp, &rlen);
        r->apdus++;
        if (te != 0) {
            r->phase = emrtd_phase_str(r->em.phase);
            r->transport_err = te;
            result = EMRTD_RUN_ERR_TRANSPORT;
            goto out;
        }
    }
out:
    emrtd_wipe(&r->em);
    wipe(r->cmd, sizeof r->cmd);
    wipe(r->resp, sizeof r->resp);
    return result;
}

void emrtd_run_clear(struct emrtd_run *r)
{
    emrtd_wipe(&r->em);
    wipe(r, sizeof *r);
}

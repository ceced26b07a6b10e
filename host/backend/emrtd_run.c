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
    if (!ep.files)
        ep.files = &r->files;
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

    /* The first command; again with short lengths if the card refuses the
     * extended ones it claimed (hawiya/card_caps.h decides the rest). */
    for (int attempt = 0;; attempt++) {
        e = emrtd_begin(&r->em, &ep, r->cmd, sizeof r->cmd, &cmd_len);
        if (e != EMRTD_OK) {
            result = card_error(r, e);
            goto out;
        }
        bool sent_extended = cmd_len > 5 && r->cmd[4] == 0x00;
        long te = transmit(tctx, r->cmd, cmd_len, r->resp, sizeof r->resp, &rlen);
        r->apdus++;
        if (te != 0) {
            r->transport_err = te;
            result = EMRTD_RUN_ERR_TRANSPORT;
            goto out;
        }
        bool wrong_length = rlen >= 2 && r->resp[rlen - 2] == 0x67 && r->resp[rlen - 1] == 0x00;
        if (!wrong_length || !sent_extended || attempt > 0)
            break;
        ep.extended = false;
        emrtd_wipe(&r->em);
    }

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
            if (ph == EMRTD_PHASE_CARDACCESS) {
                r->max_le = emrtd_read_size(&r->em, false, &r->extended);
                snprintf(done.detail, sizeof done.detail, "%s length, Le %zu",
                         r->extended ? "extended" : "short", r->max_le);
            }
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

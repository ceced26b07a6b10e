/*
 * emrtd_run: the eMRTD inspection of hawiya/emrtd.h (ICAO 9303: PACE or
 * BAC, secure messaging, the reads, Chip and Active Authentication) run on
 * the host over any APDU transport, one phase at a time with what each
 * phase cost, exactly as the reader firmware's session.c runs the same
 * state machine over its slot. The bridge's PC/SC backend uses it for a
 * plain reader, where the session has to run on the host.
 *
 * APDU sizes are the card's word (hawiya/card_caps.h: its historical bytes,
 * else its EF.ATR/INFO, read first) within the link's: the caller says
 * whether the reader carries extended length fields and the largest Le it
 * wants (emrtd_params.extended, .max_le, .caps, .atr_info). A card that
 * answers the first, extended, command "wrong length" (6700) although it
 * claimed extended lengths is started again with short ones; the state
 * machine steps a refused short Le down the 256 / 224 / 160 ladder itself.
 * The sizes decided are reported with the first phase.
 */
#ifndef HAWIYA_EMRTD_RUN_H
#define HAWIYA_EMRTD_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hawiya/apdu.h"
#include "hawiya/emrtd.h"

/* Sends cmd[0..n), the response APDU into resp[0..cap); 0 on success, else
 * the transport's own error code (kept in emrtd_run.transport_err). */
typedef long (*emrtd_run_transmit_fn)(void *ctx, const uint8_t *cmd, size_t n, uint8_t *resp,
                                      size_t cap, size_t *rlen);

struct emrtd_run_phase {
    const char *name; /* emrtd_phase_str(): cardaccess, pace, bac, select, read, ca, aa */
    uint64_t elapsed_ns, cpu_ns; /* wall time, and this thread's CPU time */
    unsigned apdus;              /* command APDUs of the state machine in the phase */
    char detail[96];             /* cardaccess: the APDU sizes decided */
};

/* A phase finished; false = stop (the caller cancelled). */
typedef bool (*emrtd_run_phase_fn)(void *ctx, const struct emrtd_run_phase *ph);

enum emrtd_run_err {
    EMRTD_RUN_OK = 0,
    EMRTD_RUN_ERR_TRANSPORT, /* the transport failed: transport_err */
    EMRTD_RUN_ERR_CARD,      /* the inspection failed: err, err_name, sw, phase */
    EMRTD_RUN_ERR_CANCELLED, /* the phase callback said stop */
};

const char *emrtd_run_err_str(enum emrtd_run_err e);

#define EMRTD_RUN_CMD_MAX  (APDU_ENCODED_MAX)
#define EMRTD_RUN_RESP_MAX (APDU_NE_MAX + 2)

struct emrtd_run {
    struct emrtd em;
    struct emrtd_files files; /* the evidence's files, whole (p->files when NULL) */
    uint8_t cmd[EMRTD_RUN_CMD_MAX];
    uint8_t resp[EMRTD_RUN_RESP_MAX];
    /* the outcome */
    const char *phase;    /* the phase that finished last or failed */
    enum emrtd_err err;   /* EMRTD_RUN_ERR_CARD */
    const char *err_name; /* its name, PACE's or SM's own when they are the cause */
    uint16_t sw;          /* the card's status word behind err, 0 when none */
    long transport_err;   /* EMRTD_RUN_ERR_TRANSPORT */
    bool extended;        /* the sizes decided for this card */
    size_t max_le;
    unsigned apdus; /* every command APDU of the session */
};

/*
 * Runs the whole inspection. p->extended and p->max_le are what the reader
 * and the card allow at best (see above); the evidence is in r->em.ev on
 * EMRTD_RUN_OK. Secrets are wiped whatever the outcome; the evidence stays
 * until emrtd_run_clear().
 */
enum emrtd_run_err emrtd_run(struct emrtd_run *r, const struct emrtd_params *p,
                             emrtd_run_transmit_fn transmit, void *tctx, emrtd_run_phase_fn phase,
                             void *pctx);

/* Wipes everything, evidence included. */
void emrtd_run_clear(struct emrtd_run *r);

#endif

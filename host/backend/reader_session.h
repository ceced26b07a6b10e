/*
 * reader_session: the host side of an authentication run by our reader
 * (hawiya/reader_escape.h over ccid_link): AUTH_BEGIN, then AUTH_NEXT until
 * the reader reports the last step or a failure, handing every step report
 * to the caller as it comes, so progress is live. The CAN is copied into the
 * AUTH_BEGIN message only and wiped with it.
 */
#ifndef HAWIYA_READER_SESSION_H
#define HAWIYA_READER_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ccid_link.h"

enum reader_session_err {
    READER_SESSION_OK = 0,
    READER_SESSION_ERR_PARAMS,    /* a parameter does not fit the escape message */
    READER_SESSION_ERR_LINK,      /* the CCID exchange failed (see link_err, the link's bError) */
    READER_SESSION_ERR_REPORT,    /* a malformed report from the reader */
    READER_SESSION_ERR_FAILED,    /* the reader reports a failed step (see step.error) */
    READER_SESSION_ERR_CANCELLED, /* the step callback said stop; the reader was told to abort */
};

const char *reader_session_err_str(enum reader_session_err e);

struct reader_step {
    char name[24];  /* atr, cardaccess, pace, bac, select, read, ca, aa, attest */
    uint8_t status; /* RESC_STATUS_* */
    char error[64]; /* the named error of a failed step */
    bool has_sw;
    uint16_t sw;
    bool has_costs;
    uint64_t line_ns, elapsed_ns, cpu_ns, chars;
    uint64_t instructions; /* 0 unless the reader's board counts them (RESC_T_INSTRUCTIONS) */
    unsigned apdus;
    char detail[128];
    uint8_t trace[256]; /* CLA INS P1 P2 of each command of the step */
    size_t trace_len;
};

/* One escape command (PC_to_RDR_Escape); the answer's abData in out[0..*out_len). */
enum ccid_link_err reader_escape(struct ccid_link *l, const uint8_t *cmd, size_t n, uint8_t *out,
                                 size_t cap, size_t *out_len, int timeout_ms);

/* How an escape reaches the reader: our own CCID link (reader_escape), or
 * SCardControl through pcscd and our IFD handler. */
typedef enum ccid_link_err (*reader_escape_fn)(void *ctx, const uint8_t *cmd, size_t n,
                                               uint8_t *out, size_t cap, size_t *out_len,
                                               int timeout_ms);

/*
 * One step report of the reader (BER-TLV, hawiya/reader_escape.h) into *st:
 * text fields cut to size with anything unprintable as '?', the trace only
 * when whole. false if the step's name or status is missing or wrong, or a
 * failed step names no error. The reader is a USB device: not trusted.
 */
bool reader_step_parse(const uint8_t *r, size_t n, struct reader_step *st);

typedef bool (*reader_step_fn)(void *ctx, const struct reader_step *st);

struct reader_auth_params {
    const uint8_t *challenge;
    size_t challenge_len;
    const char *origin;
    const char *can;      /* NULL: none */
    const char *mrz_info; /* NULL: none (BAC / PACE with the MRZ) */
    uint8_t flags;        /* RESC_FLAG_* */
};

/*
 * Runs one authentication. The reader sends the files in parts as it reads
 * them (RESC_T_FILE_PART, in reports RESC_STATUS_MORE and the step reports);
 * they are put back together here, each part checked to follow the last.
 * On READER_SESSION_OK out[0..*out_len) holds each file whole (RESC_T_EF_*
 * fields) followed by the last report (AA challenge and signature, the
 * reader id, certificate, counter and signature; BER-TLV). `last` receives
 * the last step, also on failure. Only the steps are handed to on_step.
 */
enum reader_session_err reader_session_run(struct ccid_link *l, const struct reader_auth_params *p,
                                           int timeout_ms, reader_step_fn on_step, void *ctx,
                                           uint8_t *out, size_t cap, size_t *out_len,
                                           struct reader_step *last);
/* The same over any escape transport. */
enum reader_session_err reader_session_run_via(reader_escape_fn escape, void *ectx,
                                               const struct reader_auth_params *p, int timeout_ms,
                                               reader_step_fn on_step, void *ctx, uint8_t *out,
                                               size_t cap, size_t *out_len,
                                               struct reader_step *last);

#endif

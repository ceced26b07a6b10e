/*
 * Reader backends of hawiya-bridge. A backend (sim, pcsc; libusb later) is
 * a table of operations over one reader's private state. The bridge calls
 * every operation but authenticate() from its event-loop thread;
 * authenticate() runs on the reader's own worker thread, and while it runs
 * the event loop does not touch that reader (no monitor(), no reconnect).
 *
 * Readers come from bridge.conf (`reader = KIND:NAME:PATH`), and from
 * providers: a backend whose readers come and go on their own (PC/SC
 * readers plugged in, pcscd restarted) has a provider that watches them and
 * says which readers it sees now, each with the bridge name it gets
 * (struct bridge_provider_ops). The event loop only polls the provider's fd;
 * sessions.c adds and removes the readers, so neither knows which backend
 * it drives.
 *
 * authenticate() is the whole card session of DESIGN.md "Flow of one
 * authentication" (activate, PACE with the CAN, read, Active
 * Authentication, reader attestation). With our reader it runs inside the
 * reader firmware, reached through PC_to_RDR_Escape (USB CCID 1.1 §6.1.8,
 * hawiya/reader_escape.h), one escape per step so progress is live.
 */
#ifndef HAWIYA_BRIDGE_BACKEND_H
#define HAWIYA_BRIDGE_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "reader_session.h"
#include "request.h"

#define BRIDGE_ATR_MAX 33 /* ISO/IEC 7816-3 §8.2.1: at most 32 characters after TS */

struct bridge_auth {
    const uint8_t *challenge;
    size_t challenge_len;
    const char *origin;
    const char *can;      /* NULL when none; the backend must not keep it */
    const char *mrz_info; /* NULL when none (9303-11 §4.3, for BAC); nor this */
    uint32_t timeout_ms;  /* the whole session */
    uint32_t call_max_ms; /* one reader call (an escape step), time extensions included */
};

struct bridge_auth_result {
    char *assertion_json; /* malloc'd, BRIDGE_OK only */
    uint8_t atr[BRIDGE_ATR_MAX];
    size_t atr_len;   /* the card was powered: its ATR */
    char detail[160]; /* the error's message (never secret data) */
};

/*
 * Our reader's last report (its evidence, id, certificate, counter and
 * signature, BER-TLV, hawiya/reader_escape.h) as the assertion JSON in
 * res->assertion_json. BRIDGE_ERR_READER_ERROR, with the reason in
 * res->detail, when the reader was never provisioned or the evidence does
 * not make an assertion. The report is checked, not trusted: the platform
 * verifies the assertion anyway.
 */
enum bridge_err bridge_assertion_from_report(const uint8_t *r, size_t n,
                                             const struct bridge_auth *a,
                                             struct bridge_auth_result *res);

/* One finished step of the session, with what it cost when the reader says. */
struct bridge_progress {
    char step[24]; /* "atr", "cardaccess", "pace", "bac", "select", "read", "ca", "aa", "attest" */
    char detail[96]; /* e.g. the ATR and the protocol; never secret */
    bool has_costs;
    double elapsed_ms; /* the reader's time for the step: card line + card + waits */
    double line_ms;    /* characters on the card line */
    double cpu_ms;     /* the reader's own CPU */
    unsigned apdus;
    /* A session the bridge runs itself (a plain PC/SC reader): its own
     * costs instead of the reader's. */
    bool has_host_costs;
    double host_elapsed_ms; /* wall time in the bridge for the step */
    double host_cpu_ms;     /* the worker thread's CPU */
    unsigned pcsc_calls;    /* SCard* calls */
};

/* Reports a step; false = stop (cancelled). */
typedef bool (*bridge_progress_fn)(void *ctx, const struct bridge_progress *p);

struct ccid_link;

/*
 * Our reader's whole attested session over a CCID link (reader_auth.c), the
 * reader's reports in report[0..cap) (wiped after). *card_gone: the reader
 * found the slot empty or the card removed. *reset: a call passed its
 * deadline (the reader kept sending time extensions, or went silent): the
 * backend must reset the reader (close the link, USB reset) so that it
 * drops the session (BRIDGE_ERR_READER_TIMEOUT, or BRIDGE_ERR_TIMEOUT at
 * the session's own deadline).
 */
enum bridge_err bridge_reader_authenticate(struct ccid_link *l, uint8_t *report, size_t cap,
                                           const struct bridge_auth *a, bridge_progress_fn progress,
                                           void *ctx, struct bridge_auth_result *res,
                                           bool *card_gone, bool *reset);
/* The same through any escape transport (SCardControl, for our reader
 * behind pcscd); card_gone only from the reader's named errors. */
enum bridge_err bridge_reader_authenticate_via(reader_escape_fn escape, void *ectx, uint8_t *report,
                                               size_t cap, const struct bridge_auth *a,
                                               bridge_progress_fn progress, void *ctx,
                                               struct bridge_auth_result *res, bool *card_gone);

/* What our reader says about itself (RESC_INFO, hawiya/reader_escape.h). */
struct bridge_reader_identity {
    bool known;       /* an INFO answer came */
    char id[40];      /* "" when it has no usable key */
    bool certified;   /* it has its device certificate */
    uint64_t counter; /* the last attestation counter value used */
    char attest[40];  /* ATTEST_OK, or what stops attestation (ATTEST_ERR_KEY_LOST, ...) */
    char store[40];   /* its record store's state (STORE_OK, STORE_ERR_...) */
    char firmware[40];
};

/* An INFO answer into *id; false if it is not one (the reader is not trusted blindly). */
bool bridge_reader_info_parse(const uint8_t *p, size_t n, struct bridge_reader_identity *id);

/* BROKEN: the link is gone. SWAPPED: a card left the slot and one came
 * back since the last look (the bridge reports card_removed, then
 * card_inserted). */
enum bridge_monitor { BRIDGE_MONITOR_OK, BRIDGE_MONITOR_BROKEN, BRIDGE_MONITOR_SWAPPED };

struct bridge_backend_ops {
    const char *name;
    /* provider: the backend's provider (bridge_provider_ops.start), or NULL. */
    void *(*create)(const struct bridge_reader_config *cfg, void *provider);
    void (*destroy)(void *r);
    /* Connects; the fd to poll for slot notifications, or -1 with why. */
    int (*connect)(void *r, char *why, size_t cap);
    void (*disconnect)(void *r);
    /* The fd was readable (or the worker just finished): takes in slot
     * notifications. BROKEN: the link is gone, disconnect and retry later. */
    enum bridge_monitor (*monitor)(void *r);
    bool (*card_present)(void *r);
    bool (*card_active)(void *r);
    enum bridge_err (*authenticate)(void *r, const struct bridge_auth *a,
                                    bridge_progress_fn progress, void *ctx,
                                    struct bridge_auth_result *res);
    /* Optional: the backend's own fields for `readers` and `diagnose` (e.g. the
     * PC/SC name, whether the reader attests). Reader metadata grows here. */
    void (*describe)(void *r, cJSON *o, bool diagnose);
    /* Optional: which interface the card came in on, "contact" or
     * "contactless" (a tap), NULL when no card or not known. */
    const char *(*card_interface)(void *r);
    /* Optional (NULL: the backend cannot tell): sends a liveness probe
     * without waiting (our reader: RESC_INFO); monitor() takes its answer
     * in. false: the link is broken. */
    bool (*probe)(void *r);
    /* Optional: probe answers taken in since connect (a frozen reader's stays put). */
    uint64_t (*answers)(void *r);
    /* Optional: what the reader last said about itself. */
    void (*identity)(void *r, struct bridge_reader_identity *out);
    /* Optional, called by the event loop while the worker runs authenticate():
     * true, with the call the worker is blocked in and for how long in why,
     * when it is inside a call that the backend cannot bound itself (PC/SC:
     * libpcsclite waits for pcscd without a time limit). */
    bool (*stuck)(void *r, char *why, size_t cap);
};

extern const struct bridge_backend_ops bridge_backend_sim;
extern const struct bridge_backend_ops bridge_backend_usb; /* backend_usb.c: libusb */
extern const struct bridge_backend_ops bridge_backend_pcsc;

/* A problem a provider reports for `diagnose` (docs/bridge-protocol.md). */
typedef void (*bridge_problem_fn)(void *ctx, const char *code, const char *severity,
                                  const char *reader, const char *message);

struct bridge_provider_ops {
    const char *backend; /* the backend its readers have */
    /* Starts watching when the configuration asks for readers of this kind;
     * NULL otherwise (nothing runs). */
    void *(*start)(const struct bridge_config *cfg);
    void (*stop)(void *p);
    /* Readable when the readers it sees changed. */
    int (*fd)(void *p);
    /* Empties fd; the readers seen now, at most cap, each with the bridge
     * name it gets and the backend's key for it in path. */
    size_t (*readers)(void *p, struct bridge_reader_config *out, size_t cap);
    /* For `diagnose`: "up" or "down", and why; the problems found. */
    const char *(*state)(void *p, char *detail, size_t cap);
    void (*problems)(void *p, bridge_problem_fn add, void *ctx);
};

extern const struct bridge_provider_ops bridge_provider_pcsc;
extern const struct bridge_provider_ops *const bridge_providers[];
extern const size_t bridge_n_providers;

/* Every backend (backends.c), and the one bridge.conf's `reader = KIND:...` names. */
extern const struct bridge_backend_ops *const bridge_backends[];
extern const size_t bridge_n_backends;
const struct bridge_backend_ops *bridge_backend_find(const char *name);

/* A session's named failure (SLOT_ERR_REMOVED, PACE_ERR_TOKEN_REJECTED,
 * EMRTD_ERR_..., from our reader's report or the bridge's own session) as
 * the bridge's error code. */
enum bridge_err bridge_err_from_name(const char *name);

#endif

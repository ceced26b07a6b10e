/*
 * The PC/SC backend: any reader pcscd drives (PC/SC Part 5's resource
 * manager, as PCSC-lite implements it), contact or contactless.
 *
 * The provider is one thread with its own SCARDCONTEXT that lists the
 * readers and waits in SCardGetStatusChange on all of them and on the
 * "\\?PnP?\Notification" pseudo-reader (readers plugged in or out), for at
 * most MONITOR_WAIT_MS at a time; SCardCancel from the event loop ends the
 * wait at once when the bridge stops. It names the readers the bridge takes
 * (bridge.conf's `reader = pcsc:NAME:PREFIX`, or every one with `pcsc =
 * all`), tells the loop through a pipe when that set changes, and each
 * connected reader through its own eventfd when its slot changes. When
 * pcscd goes away (SCARD_E_NO_SERVICE, SCARD_E_SERVICE_STOPPED) every
 * reader is reported gone and the context is established again every
 * RETRY_MS, so the readers are back within that time of pcscd's return.
 *
 * A newly seen reader is probed once over a direct connection: its Part 10
 * features (pcsc_part10.h) and, when it forwards CCID escapes, whether it is
 * our reader (the INFO escape of hawiya/reader_escape.h answers with our
 * reader id and firmware name). Our reader behind pcscd runs the attested
 * session inside its firmware, through SCardControl; any other reader gets
 * the same eMRTD inspection run here, in the worker thread, over
 * SCardTransmit (emrtd_run.h), inside SCardBeginTransaction, and its
 * assertion says that no reader attested it. A reader offering
 * FEATURE_EXECUTE_PACE runs PACE itself: the holder types the CAN on it.
 */
#define _GNU_SOURCE /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <PCSC/reader.h>
#include <PCSC/winscard.h>

#include "backend.h"
#include "emrtd_run.h"
#include "hawiya-verify.h"
#include "hawiya/atr.h"
#include "hawiya/ecp_groups.h"
#include "hawiya/hex.h"
#include "hawiya/reader_escape.h"
#include "hawiya/tlv.h"
#include "hawiya/wipe.h"
#include "log.h"
#include "pcsc_card.h"
#include "pcsc_diag.h"
#include "reader_session.h"

#define MONITOR_WAIT_MS 2000 /* one SCardGetStatusChange at most */
#define RETRY_MS        200  /* establishing the context again while pcscd is away */
#define BUSY_WAIT_MS    3000 /* another program holding the card: then READER_BUSY */
#define MAX_SEEN        64   /* readers pcscd lists that the bridge keeps track of */
#define PNP_READER      "\\\\?PnP?\\Notification"
/* The host reads a file in one command when extended lengths are on (as the firmware). */
#define HOST_MAX_LE 4096u

/* What a probe found out about a reader. */
struct pcsc_info {
    bool probed;
    struct pcsc10_features features;
    struct pcsc10_properties props;
    bool ours; /* our reader behind pcscd: the attested session by escape */
    char reader_id[72];
    char firmware[64];
};

/* A reader pcscd lists. */
struct pcsc_seen {
    char pcsc_name[MAX_READERNAME];
    char name[BRIDGE_READER_NAME_MAX + 1]; /* the bridge's name for it, "" when not taken */
    uint64_t instance;                     /* a new one each time it appears */
    DWORD state;                           /* dwEventState without SCARD_STATE_CHANGED */
    bool listed;                           /* scratch for the re-listing */
    struct pcsc_info info;
    int notify_fd; /* the bridge reader's eventfd while it is connected, else -1 */
};

struct pcsc_provider {
    enum bridge_pcsc_mode mode;
    struct bridge_reader_config named[BRIDGE_MAX_READERS];
    size_t n_named;
    pthread_t thread;
    bool thread_ok;
    int loop_pipe[2]; /* [0]: readable for the event loop when the set changed */
    int quit_pipe[2]; /* [0]: wakes the monitor's pauses at stop */
    atomic_bool quit;
    pthread_mutex_t mu;
    /* under mu */
    SCARDCONTEXT ctx;
    bool ctx_valid;
    struct pcsc_seen seen[MAX_SEEN];
    size_t n_seen;
    uint64_t next_instance;
    LONG service_rv;           /* SCARD_S_SUCCESS while pcscd answers, else why not */
    enum pcsc_service service; /* what that means (pcsc_diag_service) */
    bool ever_up;
    bool first_turn; /* the monitor has asked pcscd once (pcsc_start waits for it) */
    pthread_cond_t turned;
    struct pcsc_diag diag; /* what diagnose reports beyond pcscd's answer */
};

/* ---- the provider -------------------------------------------------------- */

static void signal_fd(int fd)
{
    if (fd < 0)
        return;
    uint64_t one = 1;
    ssize_t w = write(fd, &one, sizeof one);
    (void)w; /* a full counter or pipe already signals */
}

static void signal_loop(struct pcsc_provider *pv)
{
    char one = 1;
    ssize_t w = write(pv->loop_pipe[1], &one, 1);
    (void)w;
}

/* A lowercase name of letters, digits and '-' from a PC/SC reader name. */
static void auto_name(const char *pcsc_name, char *out, size_t cap)
{
    size_t k = 0;
    bool dash = false;
    for (const char *p = pcsc_name; *p && k + 1 < cap; p++) {
        char ch = *p;
        if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')) {
            out[k++] = ch;
            dash = false;
        } else if (ch >= 'A' && ch <= 'Z') {
            out[k++] = (char)(ch - 'A' + 'a');
            dash = false;
        } else if (k && !dash) {
            out[k++] = '-';
            dash = true;
        }
    }
    while (k && out[k - 1] == '-')
        k--;
    if (!k)
        k = (size_t)snprintf(out, cap, "pcsc");
    out[k] = '\0';
}

static bool name_taken(const struct pcsc_provider *pv, const char *name)
{
    for (size_t i = 0; i < pv->n_seen; i++)
        if (!strcmp(pv->seen[i].name, name))
            return true;
    for (size_t i = 0; i < pv->n_named; i++)
        if (!strcmp(pv->named[i].name, name))
            return true;
    return false;
}

/* Gives a newly seen reader its bridge name (under mu). */
static void assign_name(struct pcsc_provider *pv, struct pcsc_seen *s)
{
    for (size_t i = 0; i < pv->n_named; i++) {
        const struct bridge_reader_config *c = &pv->named[i];
        bool taken = false;
        for (size_t k = 0; k < pv->n_seen; k++)
            taken |= !strcmp(pv->seen[k].name, c->name);
        if (!taken && !strncmp(s->pcsc_name, c->path, strlen(c->path))) {
            memcpy(s->name, c->name, sizeof s->name); /* both NUL-terminated, same size */
            return;
        }
    }
    if (pv->mode != BRIDGE_PCSC_ALL)
        return;
    char base[BRIDGE_READER_NAME_MAX + 1], name[BRIDGE_READER_NAME_MAX + 1];
    auto_name(s->pcsc_name, base, sizeof base - 4);
    snprintf(name, sizeof name, "%s", base);
    for (unsigned n = 2; name_taken(pv, name) && n < 1000; n++)
        snprintf(name, sizeof name, "%s-%u", base, n);
    snprintf(s->name, sizeof s->name, "%s", name);
}

/* Every reader gone (pcscd stopped): under mu. */
static void forget_all(struct pcsc_provider *pv)
{
    bool any = pv->n_seen > 0;
    for (size_t i = 0; i < pv->n_seen; i++)
        signal_fd(pv->seen[i].notify_fd);
    pv->n_seen = 0;
    if (any)
        signal_loop(pv);
}

/* Our reader answers INFO with its id and its firmware's name; false when
 * the escape could not be asked (the reader's link down): ask again later. */
static bool probe_ours(struct pcsc_card *c, uint32_t esc, struct pcsc_info *info)
{
    uint8_t cmd = RESC_INFO, out[4096];
    size_t n;
    struct tlv id, ver;
    if (pcsc_card_control(c, esc, &cmd, 1, out, sizeof out, &n) != SCARD_S_SUCCESS)
        return false;
    if (tlv_find(out, n, RESC_T_READER_ID, &id) != TLV_OK ||
        tlv_find(out, n, RESC_T_VERSION, &ver) != TLV_OK || ver.len < 13 ||
        memcmp(ver.value, "hawiya-reader", 13) != 0 || id.len >= sizeof info->reader_id)
        return true; /* another reader's escapes */
    info->ours = true;
    if (id.len)
        memcpy(info->reader_id, id.value, id.len);
    info->reader_id[id.len] = '\0';
    size_t k = ver.len < sizeof info->firmware - 1 ? ver.len : sizeof info->firmware - 1;
    for (size_t i = 0; i < k; i++)
        info->firmware[i] = ver.value[i] >= 0x20 && ver.value[i] < 0x7F ? (char)ver.value[i] : '?';
    info->firmware[k] = '\0';
    return true;
}

/* Reads a reader's features over a direct connection (no card needed). */
static bool probe(SCARDCONTEXT ctx, const char *pcsc_name, struct pcsc_info *info)
{
    struct pcsc_card c;
    memset(info, 0, sizeof *info);
    if (pcsc_card_connect(&c, ctx, pcsc_name, SCARD_SHARE_DIRECT, 0) != SCARD_S_SUCCESS)
        return false; /* held exclusively by another program: later */
    pcsc_card_features(&c, &info->features, &info->props);
    uint32_t esc = info->features.code[PCSC10_FEATURE_CCID_ESC_COMMAND];
    bool asked = !esc || probe_ours(&c, esc, info);
    pcsc_card_disconnect(&c, SCARD_LEAVE_CARD);
    info->probed = asked;
    return asked;
}

static bool service_gone(LONG rv)
{
    return rv == SCARD_E_NO_SERVICE || rv == SCARD_E_SERVICE_STOPPED ||
           rv == SCARD_E_INVALID_HANDLE || rv == SCARD_F_COMM_ERROR;
}

/* Sleeps up to ms, or until stop. */
static void pause_ms(struct pcsc_provider *pv, int ms)
{
    struct pollfd p = {.fd = pv->quit_pipe[0], .events = POLLIN};
    poll(&p, 1, ms);
}

static void drop_context(struct pcsc_provider *pv, LONG why)
{
    pthread_mutex_lock(&pv->mu);
    SCARDCONTEXT ctx = pv->ctx;
    bool valid = pv->ctx_valid;
    pv->ctx_valid = false;
    pv->service_rv = why;
    pv->service = pcsc_diag_service(why);
    forget_all(pv);
    pthread_mutex_unlock(&pv->mu);
    if (valid)
        SCardReleaseContext(ctx);
}

/* Takes in the list of readers; true if the set changed. */
static bool relist(struct pcsc_provider *pv, const char *names, size_t len)
{
    bool changed = false;
    struct pcsc_seen fresh[MAX_SEEN];
    size_t n_fresh = 0;
    pthread_mutex_lock(&pv->mu);
    for (size_t i = 0; i < pv->n_seen; i++)
        pv->seen[i].listed = false;
    for (size_t off = 0; off < len && names[off];) {
        const char *nm = names + off;
        size_t l = strnlen(nm, len - off);
        off += l + 1;
        if (l == 0 || l >= MAX_READERNAME)
            continue;
        bool known = false;
        for (size_t i = 0; i < pv->n_seen && !known; i++)
            if (!strcmp(pv->seen[i].pcsc_name, nm))
                known = pv->seen[i].listed = true;
        if (!known && n_fresh < MAX_SEEN) {
            struct pcsc_seen *s = &fresh[n_fresh++];
            memset(s, 0, sizeof *s);
            memcpy(s->pcsc_name, nm, l + 1);
            s->notify_fd = -1;
            s->state = SCARD_STATE_UNAWARE;
        }
    }
    size_t k = 0;
    for (size_t i = 0; i < pv->n_seen; i++) {
        if (pv->seen[i].listed) {
            pv->seen[k++] = pv->seen[i];
        } else {
            signal_fd(pv->seen[i].notify_fd); /* unplugged */
            changed = true;
        }
    }
    pv->n_seen = k;
    for (size_t i = 0; i < n_fresh && pv->n_seen < MAX_SEEN; i++) {
        struct pcsc_seen *s = &pv->seen[pv->n_seen];
        *s = fresh[i];
        s->instance = ++pv->next_instance;
        assign_name(pv, s);
        pv->n_seen++;
        changed = true;
    }
    pthread_mutex_unlock(&pv->mu);
    return changed;
}

/* Probes the readers not probed yet (outside the lock: these are PC/SC calls). */
static void probe_new(struct pcsc_provider *pv, SCARDCONTEXT ctx)
{
    char(*names)[MAX_READERNAME] = malloc(MAX_SEEN * sizeof *names);
    uint64_t instances[MAX_SEEN];
    size_t n = 0;
    if (!names)
        return;
    pthread_mutex_lock(&pv->mu);
    for (size_t i = 0; i < pv->n_seen; i++)
        if (!pv->seen[i].info.probed && pv->seen[i].name[0]) {
            memcpy(names[n], pv->seen[i].pcsc_name, MAX_READERNAME);
            instances[n++] = pv->seen[i].instance;
        }
    pthread_mutex_unlock(&pv->mu);
    for (size_t k = 0; k < n; k++) {
        struct pcsc_info info;
        if (!probe(ctx, names[k], &info))
            continue; /* tried again at the next turn */
        pthread_mutex_lock(&pv->mu);
        for (size_t i = 0; i < pv->n_seen; i++)
            if (pv->seen[i].instance == instances[k]) {
                pv->seen[i].info = info;
                signal_fd(pv->seen[i].notify_fd);
            }
        pthread_mutex_unlock(&pv->mu);
    }
    free(names);
}

static void first_turn_done(struct pcsc_provider *pv)
{
    pthread_mutex_lock(&pv->mu);
    if (!pv->first_turn) {
        pv->first_turn = true;
        pthread_cond_broadcast(&pv->turned);
    }
    pthread_mutex_unlock(&pv->mu);
}

static void *monitor(void *arg)
{
    struct pcsc_provider *pv = arg;
    SCARD_READERSTATE *rs = calloc(MAX_SEEN + 1, sizeof *rs);
    char *names = malloc(MAX_SEEN * MAX_READERNAME);
    DWORD pnp_state = 0;
    while (rs && names && !atomic_load(&pv->quit)) {
        pthread_mutex_lock(&pv->mu);
        bool valid = pv->ctx_valid;
        SCARDCONTEXT ctx = pv->ctx;
        pthread_mutex_unlock(&pv->mu);
        if (!valid) {
            LONG rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx);
            enum pcsc_service service = pcsc_diag_service(rv);
            pthread_mutex_lock(&pv->mu);
            if (rv == SCARD_S_SUCCESS) {
                pv->ctx = ctx;
                pv->ctx_valid = true;
                if (pv->ever_up && pv->service != PCSC_SERVICE_UP)
                    bridge_log(BRIDGE_LOG_INFO, 0, "pcscd is back");
                pv->ever_up = true;
            } else if (service != pv->service) {
                bridge_log(BRIDGE_LOG_WARN, 0, "pcscd: %s (%s)",
                           service == PCSC_SERVICE_NOT_RUNNING ? "not running"
                           : service == PCSC_SERVICE_REFUSED   ? "access refused"
                                                               : "error",
                           pcsc_rv_name(rv));
            }
            pv->service_rv = rv;
            pv->service = service;
            pthread_mutex_unlock(&pv->mu);
            if (rv != SCARD_S_SUCCESS) {
                first_turn_done(pv);
                pause_ms(pv, RETRY_MS);
                continue;
            }
            pnp_state = 0;
        }
        DWORD len = MAX_SEEN * MAX_READERNAME;
        LONG rv = SCardListReaders(ctx, NULL, names, &len);
        if (rv == SCARD_E_NO_READERS_AVAILABLE) {
            len = 0;
            rv = SCARD_S_SUCCESS;
        }
        if (rv != SCARD_S_SUCCESS) {
            if (service_gone(rv)) {
                bridge_log(BRIDGE_LOG_WARN, 0, "pcscd stopped: %s", pcsc_rv_name(rv));
                drop_context(pv, rv);
                continue;
            }
            pause_ms(pv, RETRY_MS);
            continue;
        }
        /* Probed before the loop hears of them: a session never starts on our
         * reader taking it for a plain one. */
        bool changed = relist(pv, names, len);
        probe_new(pv, ctx);
        if (changed)
            signal_loop(pv);
        first_turn_done(pv);

        /* Wait for a change on any reader, or of the set of readers. */
        pthread_mutex_lock(&pv->mu);
        DWORD n = 0;
        uint64_t instances[MAX_SEEN];
        for (size_t i = 0; i < pv->n_seen; i++, n++) {
            rs[n] = (SCARD_READERSTATE){.szReader = pv->seen[i].pcsc_name,
                                        .dwCurrentState = pv->seen[i].state};
            instances[n] = pv->seen[i].instance;
        }
        /* szReader points into seen[], which only this thread changes. */
        rs[n++] = (SCARD_READERSTATE){.szReader = PNP_READER, .dwCurrentState = pnp_state};
        pthread_mutex_unlock(&pv->mu);
        rv = SCardGetStatusChange(ctx, MONITOR_WAIT_MS, rs, n);
        if (rv == SCARD_E_TIMEOUT || rv == SCARD_E_CANCELLED || rv == SCARD_E_UNKNOWN_READER)
            continue;
        if (rv != SCARD_S_SUCCESS) {
            if (service_gone(rv)) {
                bridge_log(BRIDGE_LOG_WARN, 0, "pcscd stopped: %s", pcsc_rv_name(rv));
                drop_context(pv, rv);
            } else {
                pause_ms(pv, RETRY_MS);
            }
            continue;
        }
        pnp_state = rs[n - 1].dwEventState & ~(DWORD)SCARD_STATE_CHANGED;
        int fds[MAX_SEEN];
        size_t n_fds = 0;
        pthread_mutex_lock(&pv->mu);
        for (DWORD i = 0; i + 1 < n; i++) {
            DWORD st = rs[i].dwEventState & ~(DWORD)SCARD_STATE_CHANGED;
            for (size_t k = 0; k < pv->n_seen; k++) {
                struct pcsc_seen *s = &pv->seen[k];
                if (s->instance != instances[i] || s->state == st)
                    continue;
                bridge_log(BRIDGE_LOG_DEBUG, 0, "pcsc: %s: state %08lX", s->pcsc_name,
                           (unsigned long)st);
                s->state = st;
                if (s->notify_fd >= 0 && n_fds < MAX_SEEN)
                    fds[n_fds++] = s->notify_fd;
            }
        }
        pthread_mutex_unlock(&pv->mu);
        /* A reader whose escapes could not be asked yet (its link was down)
         * is asked now, before the bridge hears of its card. */
        probe_new(pv, ctx);
        pthread_mutex_lock(&pv->mu);
        for (size_t i = 0; i < n_fds; i++)
            signal_fd(fds[i]);
        pthread_mutex_unlock(&pv->mu);
    }
    free(rs);
    free(names);
    pthread_mutex_lock(&pv->mu);
    SCARDCONTEXT ctx = pv->ctx;
    bool valid = pv->ctx_valid;
    pv->ctx_valid = false;
    pthread_mutex_unlock(&pv->mu);
    if (valid)
        SCardReleaseContext(ctx);
    return NULL;
}

static void *pcsc_start(const struct bridge_config *cfg)
{
    if (cfg->pcsc == BRIDGE_PCSC_OFF)
        return NULL;
    struct pcsc_provider *pv = calloc(1, sizeof *pv);
    if (!pv)
        return NULL;
    pv->mode = cfg->pcsc;
    for (size_t i = 0; i < cfg->n_reader; i++)
        if (!strcmp(cfg->reader[i].backend, "pcsc"))
            pv->named[pv->n_named++] = cfg->reader[i];
    pv->service_rv = SCARD_E_NO_SERVICE;
    pv->service = PCSC_SERVICE_NOT_RUNNING;
    pthread_mutex_init(&pv->mu, NULL);
    pthread_cond_init(&pv->turned, NULL);
    atomic_init(&pv->quit, false);
    pcsc_diag_init(&pv->diag);
    /* pcsc-lite reads this at the first SCardEstablishContext: without it,
     * SCardTransmit, SCardStatus and SCardReconnect wait without bound while
     * another program has the card (pcsc_card.h). */
    setenv("PCSCLITE_NO_BLOCKING", "1", 0);
    if (pipe2(pv->loop_pipe, O_NONBLOCK | O_CLOEXEC) < 0) {
        free(pv);
        return NULL;
    }
    if (pipe2(pv->quit_pipe, O_NONBLOCK | O_CLOEXEC) < 0 ||
        pthread_create(&pv->thread, NULL, monitor, pv) != 0) {
        close(pv->loop_pipe[0]);
        close(pv->loop_pipe[1]);
        free(pv);
        return NULL;
    }
    pv->thread_ok = true;
    /* The bridge starts with the readers pcscd has now (or knowing that
     * pcscd is not there), not with an empty list that fills a moment later. */
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 5;
    pthread_mutex_lock(&pv->mu);
    while (!pv->first_turn && pthread_cond_timedwait(&pv->turned, &pv->mu, &until) == 0)
        ;
    pthread_mutex_unlock(&pv->mu);
    return pv;
}

static void pcsc_stop(void *p)
{
    struct pcsc_provider *pv = p;
    if (!pv)
        return;
    atomic_store(&pv->quit, true);
    char one = 1;
    ssize_t w = write(pv->quit_pipe[1], &one, 1);
    (void)w;
    /* SCardCancel ends a SCardGetStatusChange under way; one that starts
     * after it sees quit within MONITOR_WAIT_MS anyway. */
    for (int i = 0; i < 100; i++) {
        pthread_mutex_lock(&pv->mu);
        if (pv->ctx_valid)
            SCardCancel(pv->ctx);
        pthread_mutex_unlock(&pv->mu);
        if (pthread_tryjoin_np(pv->thread, NULL) == 0) {
            pv->thread_ok = false;
            break;
        }
        struct timespec d = {0, 20000000};
        nanosleep(&d, NULL);
    }
    if (pv->thread_ok)
        pthread_join(pv->thread, NULL);
    close(pv->loop_pipe[0]);
    close(pv->loop_pipe[1]);
    close(pv->quit_pipe[0]);
    close(pv->quit_pipe[1]);
    pthread_mutex_destroy(&pv->mu);
    pthread_cond_destroy(&pv->turned);
    free(pv);
}

static int pcsc_fd(void *p)
{
    return ((struct pcsc_provider *)p)->loop_pipe[0];
}

static size_t pcsc_readers(void *p, struct bridge_reader_config *out, size_t cap)
{
    struct pcsc_provider *pv = p;
    char buf[64];
    while (read(pv->loop_pipe[0], buf, sizeof buf) > 0)
        ;
    size_t n = 0;
    pthread_mutex_lock(&pv->mu);
    for (size_t i = 0; i < pv->n_seen && n < cap; i++) {
        if (!pv->seen[i].name[0])
            continue;
        memset(&out[n], 0, sizeof out[n]);
        snprintf(out[n].backend, sizeof out[n].backend, "pcsc");
        snprintf(out[n].name, sizeof out[n].name, "%s", pv->seen[i].name);
        snprintf(out[n].path, sizeof out[n].path, "%s", pv->seen[i].pcsc_name);
        n++;
    }
    pthread_mutex_unlock(&pv->mu);
    return n;
}

static const char *pcsc_state(void *p, char *detail, size_t cap)
{
    struct pcsc_provider *pv = p;
    pthread_mutex_lock(&pv->mu);
    LONG rv = pv->service_rv;
    enum pcsc_service service = pv->service;
    size_t n = pv->n_seen;
    pthread_mutex_unlock(&pv->mu);
    switch (service) {
    case PCSC_SERVICE_UP: snprintf(detail, cap, "pcscd lists %zu reader(s)", n); return "up";
    case PCSC_SERVICE_NOT_RUNNING: snprintf(detail, cap, "pcscd is not running"); break;
    case PCSC_SERVICE_REFUSED: snprintf(detail, cap, "pcscd refuses the bridge's user"); break;
    case PCSC_SERVICE_ERROR: snprintf(detail, cap, "pcscd: %s", pcsc_rv_name(rv)); break;
    }
    return "down";
}

static void pcsc_problems(void *p, bridge_problem_fn add, void *ctx)
{
    struct pcsc_provider *pv = p;
    pthread_mutex_lock(&pv->mu);
    LONG rv = pv->service_rv;
    enum pcsc_service service = pv->service;
    pthread_mutex_unlock(&pv->mu);
    pcsc_diag_report(&pv->diag, service, rv, add, ctx);
}

const struct bridge_provider_ops bridge_provider_pcsc = {
    .backend = "pcsc",
    .start = pcsc_start,
    .stop = pcsc_stop,
    .fd = pcsc_fd,
    .readers = pcsc_readers,
    .state = pcsc_state,
    .problems = pcsc_problems,
};

/* ---- one reader ---------------------------------------------------------- */

struct pcsc_reader {
    struct bridge_reader_config cfg;
    struct pcsc_provider *pv;
    int efd; /* connected: the eventfd the provider signals */
    char pcsc_name[MAX_READERNAME];
    uint64_t instance;
    DWORD state;
    struct pcsc_info info;
    /* the worker's */
    struct emrtd_run run;
    struct ecp_groups groups; /* PACE's and CA's curves, loaded once (as the firmware does) */
    uint8_t report[CCID_MAX_MESSAGE_SIZE];
    struct pcsc_in_call in_call; /* the worker's SCard* call under way (the loop reads it) */
};

static void *rd_create(const struct bridge_reader_config *cfg, void *provider)
{
    if (!provider)
        return NULL;
    struct pcsc_reader *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->cfg = *cfg;
    r->pv = provider;
    r->efd = -1;
    ecp_groups_init(&r->groups);
    return r;
}

static void rd_disconnect(void *p)
{
    struct pcsc_reader *r = p;
    if (r->efd < 0)
        return;
    pthread_mutex_lock(&r->pv->mu);
    for (size_t i = 0; i < r->pv->n_seen; i++)
        if (r->pv->seen[i].notify_fd == r->efd)
            r->pv->seen[i].notify_fd = -1;
    pthread_mutex_unlock(&r->pv->mu);
    close(r->efd);
    r->efd = -1;
    r->instance = 0;
}

static void rd_destroy(void *p)
{
    struct pcsc_reader *r = p;
    if (!r)
        return;
    rd_disconnect(r);
    ecp_groups_free(&r->groups);
    emrtd_run_clear(&r->run);
    free(r);
}

/* The provider's entry for this reader (under mu), or NULL. */
static struct pcsc_seen *find_seen(struct pcsc_reader *r)
{
    for (size_t i = 0; i < r->pv->n_seen; i++) {
        struct pcsc_seen *s = &r->pv->seen[i];
        if (r->instance ? s->instance == r->instance : !strcmp(s->name, r->cfg.name))
            return s;
    }
    return NULL;
}

static int rd_connect(void *p, char *why, size_t cap)
{
    struct pcsc_reader *r = p;
    rd_disconnect(r);
    int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (efd < 0) {
        snprintf(why, cap, "eventfd: %s", strerror(errno));
        return -1;
    }
    pthread_mutex_lock(&r->pv->mu);
    struct pcsc_seen *s = find_seen(r);
    if (s) {
        r->instance = s->instance;
        r->state = s->state;
        r->info = s->info;
        snprintf(r->pcsc_name, sizeof r->pcsc_name, "%s", s->pcsc_name);
        s->notify_fd = efd;
    } else if (r->pv->service != PCSC_SERVICE_UP) {
        snprintf(why, cap, "pcscd: %s",
                 r->pv->service == PCSC_SERVICE_NOT_RUNNING ? "not running"
                 : r->pv->service == PCSC_SERVICE_REFUSED   ? "access refused"
                                                            : pcsc_rv_name(r->pv->service_rv));
    } else {
        snprintf(why, cap, "no PC/SC reader named \"%s...\"", r->cfg.path);
    }
    pthread_mutex_unlock(&r->pv->mu);
    if (!s) {
        close(efd);
        return -1;
    }
    r->efd = efd;
    /* The slot as the provider knows it now: the loop takes it in at once. */
    signal_fd(efd);
    return efd;
}

static enum bridge_monitor rd_monitor(void *p)
{
    struct pcsc_reader *r = p;
    uint64_t v;
    ssize_t k = read(r->efd, &v, sizeof v);
    (void)k;
    DWORD before = r->state;
    pthread_mutex_lock(&r->pv->mu);
    struct pcsc_seen *s = r->instance ? find_seen(r) : NULL;
    if (s) {
        r->state = s->state;
        r->info = s->info;
    }
    pthread_mutex_unlock(&r->pv->mu);
    if (!s)
        return BRIDGE_MONITOR_BROKEN;
    /* pcsc-lite counts the slot's card events in dwEventState's upper 16 bits:
     * present before and after, with events between, is another card. */
    bool was = before & SCARD_STATE_PRESENT, is = r->state & SCARD_STATE_PRESENT;
    if (was && is && (before >> 16) != (r->state >> 16))
        return BRIDGE_MONITOR_SWAPPED;
    return BRIDGE_MONITOR_OK;
}

static bool rd_card_present(void *p)
{
    const struct pcsc_reader *r = p;
    return (r->state & SCARD_STATE_PRESENT) != 0;
}

static bool rd_card_active(void *p)
{
    const struct pcsc_reader *r = p;
    return (r->state & SCARD_STATE_PRESENT) && (r->state & SCARD_STATE_INUSE);
}

static void rd_describe(void *p, cJSON *o, bool diagnose)
{
    const struct pcsc_reader *r = p;
    cJSON_AddStringToObject(o, "pcsc_name", r->pcsc_name[0] ? r->pcsc_name : r->cfg.path);
    if (!r->info.probed)
        return;
    cJSON_AddBoolToObject(o, "attested", r->info.ours);
    if (r->info.ours)
        cJSON_AddStringToObject(o, "reader_id", r->info.reader_id);
    cJSON_AddBoolToObject(o, "pinpad_pace",
                          r->info.features.code[PCSC10_FEATURE_EXECUTE_PACE] != 0);
    if (diagnose) {
        if (r->info.props.has_max_apdu)
            cJSON_AddNumberToObject(o, "max_apdu_data", r->info.props.max_apdu_data);
        if (r->info.props.firmware[0])
            cJSON_AddStringToObject(o, "firmware", r->info.props.firmware);
    }
}

/* ---- the session --------------------------------------------------------- */

static int64_t mono_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static int rng(void *ctx, unsigned char *out, size_t n)
{
    (void)ctx;
    while (n > 0) {
        ssize_t k = getrandom(out, n, 0);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        out += k;
        n -= (size_t)k;
    }
    return 0;
}

/* A PC/SC failure as the bridge's error, with a message naming it. */
static enum bridge_err pcsc_error(LONG rv, const char *what, struct bridge_auth_result *res)
{
    enum bridge_err e = BRIDGE_ERR_READER_ERROR;
    const char *why = "";
    switch (rv) {
    case SCARD_W_REMOVED_CARD:
    case SCARD_E_NO_SMARTCARD:
        e = BRIDGE_ERR_CARD_REMOVED;
        why = ": the card was removed";
        break;
    case SCARD_E_SHARING_VIOLATION:
        e = BRIDGE_ERR_READER_BUSY;
        why = ": another program holds the card";
        break;
    case SCARD_W_RESET_CARD: why = ": another program reset the card"; break;
    case SCARD_W_UNRESPONSIVE_CARD:
    case SCARD_W_UNPOWERED_CARD:
        e = BRIDGE_ERR_CARD_ERROR;
        why = ": the card does not answer";
        break;
    case SCARD_E_NO_SERVICE:
    case SCARD_E_SERVICE_STOPPED: why = ": pcscd is not running"; break;
    case SCARD_E_NO_ACCESS: why = ": pcscd refused access (polkit)"; break;
    case SCARD_E_READER_UNAVAILABLE:
    case SCARD_E_UNKNOWN_READER: why = ": the reader went away"; break;
    default: break;
    }
    snprintf(res->detail, sizeof res->detail, "%s: %s%s", what, pcsc_rv_name(rv), why);
    return e;
}

struct pcsc_session {
    struct pcsc_reader *r;
    struct pcsc_card card;
    bridge_progress_fn progress;
    void *ctx;
    int64_t deadline;
    unsigned calls_mark;
    bool cancelled;
};

static long tx(void *ctx, const uint8_t *cmd, size_t n, uint8_t *resp, size_t cap, size_t *rlen)
{
    struct pcsc_session *s = ctx;
    LONG rv = pcsc_card_transmit(&s->card, cmd, n, resp, cap, rlen);
    return rv == SCARD_S_SUCCESS ? 0 : (long)rv;
}

static bool on_phase(void *ctx, const struct emrtd_run_phase *ph)
{
    struct pcsc_session *s = ctx;
    struct bridge_progress p = {.has_host_costs = true,
                                .host_elapsed_ms = (double)ph->elapsed_ns / 1e6,
                                .host_cpu_ms = (double)ph->cpu_ns / 1e6,
                                .apdus = ph->apdus,
                                .pcsc_calls = s->card.calls - s->calls_mark};
    s->calls_mark = s->card.calls;
    snprintf(p.step, sizeof p.step, "%s", ph->name);
    snprintf(p.detail, sizeof p.detail, "%s", ph->detail);
    if (!s->progress(s->ctx, &p))
        s->cancelled = true;
    return !s->cancelled;
}

static void atr_progress(struct pcsc_session *s, const char *extra)
{
    char hex[2 * PCSC_ATR_MAX + 1];
    struct bridge_progress p = {.has_host_costs = true,
                                .pcsc_calls = s->card.calls - s->calls_mark};
    s->calls_mark = s->card.calls;
    hex_encode(s->card.atr, s->card.atr_len, hex);
    snprintf(p.step, sizeof p.step, "atr");
    snprintf(p.detail, sizeof p.detail, "%s T=%d %s", hex,
             s->card.protocol == SCARD_PROTOCOL_T0 ? 0 : 1, extra);
    if (!s->progress(s->ctx, &p))
        s->cancelled = true;
}

/* The card's evidence as an assertion no reader attests (hawiya-verify.h). */
static enum bridge_err unattested_assertion(const struct emrtd_evidence *ev,
                                            const struct bridge_auth *a,
                                            struct bridge_auth_result *res)
{
    struct hv_evidence h = {.challenge = {a->challenge, a->challenge_len}, .origin = a->origin};
    struct hv_bytes *files[EMRTD_FILES] = {&h.ef_cardaccess, &h.ef_com, &h.dg1,   &h.dg11,
                                           &h.dg14,          &h.dg15,   &h.ef_sod};
    for (int f = 0; f < EMRTD_FILES; f++)
        if (ev->file[f].present)
            *files[f] = (struct hv_bytes){ev->file[f].buf, ev->file[f].len};
    if (!ev->aa) {
        snprintf(res->detail, sizeof res->detail,
                 "aa: the card has no Active Authentication (DG15): no assertion without it");
        return BRIDGE_ERR_CARD_ERROR;
    }
    h.aa_signature = (struct hv_bytes){ev->aa_signature, ev->aa_signature_len};
    enum hv_err e = hv_assertion_build(&h, &res->assertion_json);
    if (e != HV_OK) {
        snprintf(res->detail, sizeof res->detail, "the card's evidence is incomplete: %s",
                 hv_err_str(e));
        return BRIDGE_ERR_CARD_ERROR;
    }
    return BRIDGE_OK;
}

/* EstablishPACEChannel on the reader's keypad (PC/SC Part 10 AMD1). */
static enum bridge_err reader_pace(struct pcsc_session *s, uint32_t code, bool mrz,
                                   struct emrtd_params *ep, uint8_t *cardaccess, size_t cap,
                                   struct bridge_auth_result *res)
{
    uint8_t cmd[16], out[4096];
    size_t n, k;
    int64_t t0 = mono_ms();
    pcsc10_pace_establish_cmd(mrz ? PCSC10_PACE_PIN_MRZ : PCSC10_PACE_PIN_CAN, NULL, 0, cmd,
                              sizeof cmd, &n);
    LONG rv = pcsc_card_control(&s->card, code, cmd, n, out, sizeof out, &k);
    if (rv != SCARD_S_SUCCESS)
        return pcsc_error(rv, "pace: EstablishPACEChannel", res);
    uint32_t result;
    const uint8_t *data;
    size_t len;
    struct pcsc10_pace_output po;
    if (pcsc10_pace_answer(out, k, &result, &data, &len) != PCSC10_OK ||
        (result == 0 &&
         (pcsc10_pace_output_parse(data, len, &po) != PCSC10_OK || po.ef_cardaccess_len > cap))) {
        snprintf(res->detail, sizeof res->detail, "pace: the reader's answer is malformed");
        return BRIDGE_ERR_READER_ERROR;
    }
    if (result != 0) {
        snprintf(res->detail, sizeof res->detail, "pace: the reader's PACE failed: %s (%08X)",
                 pcsc10_pace_result_str(result), (unsigned)result);
        if ((result & 0xFFFF0000u) == 0xF0040000u || result == 0xE0000006u || result == 0xE000000Au)
            return BRIDGE_ERR_CARD_AUTH_FAILED;
        if (result == 0xF0200001u)
            return BRIDGE_ERR_CANCELLED;
        if (result == 0xF0200002u)
            return BRIDGE_ERR_TIMEOUT;
        if (result == 0xF0100002u)
            return BRIDGE_ERR_CARD_REMOVED;
        return BRIDGE_ERR_CARD_ERROR;
    }
    memcpy(cardaccess, po.ef_cardaccess, po.ef_cardaccess_len);
    ep->ef_cardaccess = cardaccess;
    ep->ef_cardaccess_len = po.ef_cardaccess_len;
    ep->sm_by_reader = true;
    struct bridge_progress p = {.has_host_costs = true,
                                .host_elapsed_ms = (double)(mono_ms() - t0),
                                .pcsc_calls = s->card.calls - s->calls_mark};
    s->calls_mark = s->card.calls;
    snprintf(p.step, sizeof p.step, "pace");
    snprintf(p.detail, sizeof p.detail, "on the reader's keypad");
    if (!s->progress(s->ctx, &p))
        s->cancelled = true;
    return BRIDGE_OK;
}

/* The inspection on the host: a plain reader (or a PIN pad with PACE). */
static enum bridge_err plain_session(struct pcsc_session *s, const struct bridge_auth *a,
                                     struct bridge_auth_result *res)
{
    struct pcsc_reader *r = s->r;
    uint32_t pace_code = r->info.features.code[PCSC10_FEATURE_EXECUTE_PACE];
    if (!a->can && !a->mrz_info && !pace_code) {
        snprintf(res->detail, sizeof res->detail,
                 "this reader has no keypad: pass the CAN (or the MRZ fields)");
        return BRIDGE_ERR_NO_CAN;
    }
    /* Extended lengths when both sides take them: the reader by dwMaxAPDUDataSize
     * (Part 10), never over T=0 (which carries them only through ENVELOPE);
     * the card by its own word (hawiya/card_caps.h: the historical bytes of
     * its ATR, or of a contactless card's ATS in the PC/SC ATR; else its
     * EF.ATR/INFO, which the inspection reads first). */
    struct atr atr;
    size_t need;
    struct card_caps caps = {0};
    if (atr_parse(s->card.atr, s->card.atr_len, &atr, &need) == ATR_OK)
        card_caps_from_hist(&atr.hist_decoded, &caps);
    uint32_t reader_max = r->info.props.has_max_apdu ? r->info.props.max_apdu_data : 0;
    bool link_ext = reader_max > 256 && s->card.protocol != SCARD_PROTOCOL_T0;
    size_t max_le =
        link_ext ? (reader_max - 32 < HOST_MAX_LE ? reader_max - 32 : HOST_MAX_LE) : 256;
    char sizes[80];
    snprintf(sizes, sizeof sizes, "reader max APDU data %u, card %s", (unsigned)reader_max,
             !caps.known     ? "unknown (EF.ATR/INFO)"
             : caps.extended ? "extended"
                             : "short");
    atr_progress(s, sizes);
    if (s->cancelled)
        goto cancelled;

    struct emrtd_params ep = {
        .can = a->can ? (const uint8_t *)a->can : NULL,
        .can_len = a->can ? strlen(a->can) : 0,
        .mrz_info = a->mrz_info,
        .mrz_info_len = a->mrz_info ? strlen(a->mrz_info) : 0,
        .challenge = a->challenge,
        .challenge_len = a->challenge_len,
        .origin = (const uint8_t *)a->origin,
        .origin_len = strlen(a->origin),
        .chip_authentication = true,
        .active_authentication = true,
        .max_le = max_le,
        .extended = link_ext,
        .caps = caps,
        .atr_info = !caps.known,
        .rng = rng,
        .groups = &r->groups,
    };
    uint8_t cardaccess[EMRTD_SMALL_FILE];
    if (pace_code) {
        /* The CAN (or MRZ) is typed on the reader: the host never holds it. */
        ep.can = NULL;
        ep.mrz_info = NULL;
        enum bridge_err pe = reader_pace(s, pace_code, !a->can && a->mrz_info, &ep, cardaccess,
                                         sizeof cardaccess, res);
        if (pe != BRIDGE_OK)
            return pe;
        if (s->cancelled)
            goto cancelled;
    }
    enum emrtd_run_err e = emrtd_run(&r->run, &ep, tx, s, on_phase, s);
    switch (e) {
    case EMRTD_RUN_OK: return unattested_assertion(&r->run.em.ev, a, res);
    case EMRTD_RUN_ERR_CANCELLED: goto cancelled;
    case EMRTD_RUN_ERR_TRANSPORT: {
        char what[40];
        snprintf(what, sizeof what, "%s: SCardTransmit", r->run.phase);
        return pcsc_error((LONG)r->run.transport_err, what, res);
    }
    case EMRTD_RUN_ERR_CARD:
        if (r->run.sw)
            snprintf(res->detail, sizeof res->detail, "%s: %s (SW %04X)", r->run.phase,
                     r->run.err_name, r->run.sw);
        else
            snprintf(res->detail, sizeof res->detail, "%s: %s", r->run.phase, r->run.err_name);
        return bridge_err_from_name(r->run.err_name);
    }
cancelled:
    snprintf(res->detail, sizeof res->detail, "cancelled");
    return BRIDGE_ERR_CANCELLED;
}

/* ---- our reader behind pcscd: its attested session by SCardControl ------- */

static enum ccid_link_err escape_via_pcsc(void *ctx, const uint8_t *cmd, size_t n, uint8_t *out,
                                          size_t cap, size_t *out_len, int timeout_ms)
{
    struct pcsc_session *s = ctx;
    (void)timeout_ms; /* the IFD handler bounds its own wait for the reader */
    uint32_t esc = s->r->info.features.code[PCSC10_FEATURE_CCID_ESC_COMMAND];
    LONG rv = pcsc_card_control(&s->card, esc, cmd, n, out, cap, out_len);
    return rv == SCARD_S_SUCCESS ? CCID_LINK_OK : CCID_LINK_ERR_IO;
}

static enum bridge_err attested_session(struct pcsc_session *s, const struct bridge_auth *a,
                                        struct bridge_auth_result *res)
{
    bool gone;
    enum bridge_err be = bridge_reader_authenticate_via(
        escape_via_pcsc, s, s->r->report, sizeof s->r->report, a, s->progress, s->ctx, res, &gone);
    /* The escape itself failed: PC/SC's own code says why. */
    if (be == BRIDGE_ERR_READER_ERROR && s->card.last_rv != SCARD_S_SUCCESS &&
        !strncmp(res->detail, "the reader's escape failed", 26))
        be = pcsc_error(s->card.last_rv, "SCardControl", res);
    return be;
}

static enum bridge_err rd_authenticate(void *p, const struct bridge_auth *a,
                                       bridge_progress_fn progress, void *ctx,
                                       struct bridge_auth_result *res)
{
    struct pcsc_reader *r = p;
    struct pcsc_session s = {.r = r, .progress = progress, .ctx = ctx};
    s.deadline = mono_ms() + a->timeout_ms;
    if (!r->pcsc_name[0]) {
        snprintf(res->detail, sizeof res->detail, "the reader is not connected");
        return BRIDGE_ERR_READER_ERROR;
    }
    SCARDCONTEXT ctxh;
    pcsc_call_enter(&r->in_call, "SCardEstablishContext");
    LONG rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctxh);
    pcsc_call_leave(&r->in_call);
    if (rv != SCARD_S_SUCCESS)
        return pcsc_error(rv, "SCardEstablishContext", res);
    int busy = BUSY_WAIT_MS < (int)a->timeout_ms ? BUSY_WAIT_MS : (int)a->timeout_ms;
    enum bridge_err be = BRIDGE_OK;
    /* Exclusive: nobody else's APDUs between ours, and a card someone else
     * holds is a SHARING_VIOLATION now rather than a wait without end. */
    rv = pcsc_card_connect_watched(&s.card, ctxh, r->pcsc_name, SCARD_SHARE_EXCLUSIVE, busy,
                                   &r->in_call);
    if (rv != SCARD_S_SUCCESS) {
        be = pcsc_error(rv, "SCardConnect", res);
        if (be == BRIDGE_ERR_READER_BUSY)
            snprintf(res->detail, sizeof res->detail,
                     "SCardConnect: SCARD_E_SHARING_VIOLATION for %d ms: another program holds "
                     "the card",
                     s.card.busy_waited_ms);
        goto out;
    }
    memcpy(res->atr, s.card.atr, s.card.atr_len);
    res->atr_len = s.card.atr_len;
    /* The card's own state (another program's session, a selected
     * application) ends with a reset, before our session and after it. */
    if (!r->info.ours && (rv = pcsc_card_reconnect(&s.card, SCARD_SHARE_EXCLUSIVE,
                                                   SCARD_RESET_CARD)) != SCARD_S_SUCCESS) {
        be = pcsc_error(rv, "SCardReconnect", res);
        goto disconnect;
    }
    rv = pcsc_card_begin(&s.card);
    if (rv == SCARD_W_RESET_CARD) {
        /* Reset since we connected: acknowledge it and start again from the ATR. */
        if ((rv = pcsc_card_reconnect(&s.card, SCARD_SHARE_EXCLUSIVE, SCARD_LEAVE_CARD)) ==
            SCARD_S_SUCCESS)
            rv = pcsc_card_begin(&s.card);
    }
    if (rv != SCARD_S_SUCCESS) {
        be = pcsc_error(rv, "SCardBeginTransaction", res);
        goto disconnect;
    }
    if (r->info.ours) {
        be = attested_session(&s, a, res);
    } else {
        for (int attempt = 0;; attempt++) {
            be = plain_session(&s, a, res);
            /* Reset under us (pcscd after a card error, another program before
             * our transaction): the card's secure channel is gone, so the
             * whole inspection runs again, once. */
            if (attempt > 0 || s.card.last_rv != SCARD_W_RESET_CARD || s.cancelled ||
                be == BRIDGE_OK)
                break;
            bridge_log(BRIDGE_LOG_INFO, 0, "reader %s: card reset (SCARD_W_RESET_CARD), again",
                       r->cfg.name);
            s.card.last_rv = SCARD_S_SUCCESS;
            free(res->assertion_json);
            res->assertion_json = NULL;
            if ((rv = pcsc_card_reconnect(&s.card, SCARD_SHARE_EXCLUSIVE, SCARD_LEAVE_CARD)) !=
                SCARD_S_SUCCESS) {
                be = pcsc_error(rv, "SCardReconnect", res);
                break;
            }
        }
    }
    pcsc_card_end(&s.card, SCARD_LEAVE_CARD);
disconnect:
    pcsc_card_disconnect(&s.card, r->info.ours ? SCARD_LEAVE_CARD : SCARD_RESET_CARD);
out:
    pcsc_call_enter(&r->in_call, "SCardReleaseContext");
    SCardReleaseContext(ctxh);
    pcsc_call_leave(&r->in_call);
    emrtd_run_clear(&r->run);
    bridge_log(BRIDGE_LOG_DEBUG, 0, "reader %s: %u PC/SC calls, %u APDUs", r->cfg.name,
               s.card.calls, s.card.apdus);
    return be;
}

/* libpcsclite waits for pcscd without bound: a session past its deadline
 * inside a call is answered by the event loop, which names that call. */
static bool rd_stuck(void *p, char *why, size_t cap)
{
    struct pcsc_reader *r = p;
    const char *name = atomic_load(&r->in_call.name);
    if (!name)
        return false;
    int64_t for_ms = mono_ms() - (int64_t)atomic_load(&r->in_call.since_ms);
    snprintf(why, cap, "%s has not returned after %lld ms: pcscd has not answered", name,
             (long long)for_ms);
    return true;
}

const struct bridge_backend_ops bridge_backend_pcsc = {
    .name = "pcsc",
    .create = rd_create,
    .destroy = rd_destroy,
    .connect = rd_connect,
    .disconnect = rd_disconnect,
    .monitor = rd_monitor,
    .card_present = rd_card_present,
    .card_active = rd_card_active,
    .authenticate = rd_authenticate,
    .describe = rd_describe,
    .stuck = rd_stuck,
};

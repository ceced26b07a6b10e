/*
 * emrtd: one inspection of an eMRTD by a reader, as a state machine over
 * APDUs, so the same code runs in the reader firmware (over its slot) and on
 * a host (over any PC/SC reader). It follows ICAO Doc 9303:
 *
 *   0. When the card has not said how long its APDUs may be (no card
 *      capabilities in the historical bytes or the ATS: a Type B card),
 *      EF.ATR/INFO by short EF identifier 01 at the MF (9303-10 §3.11.1,
 *      7816-4 12.7.1): the READ BINARY sizes come from what the card says
 *      (hawiya/card_caps.h), not from trial; a card that still refuses a
 *      size with 6700 is read one rung down the 256 / 224 / 160 ladder from
 *      then on.
 *   1. EF.CardAccess read by short EF identifier at the MF (9303-11 §4.2,
 *      9303-10 §3.11.3); never SELECT MF without data (recent Algerian
 *      cards answer it with 6700).
 *   2. PACE (9303-11 §4.4) with the CAN (or the MRZ) when EF.CardAccess
 *      offers a supported PACEInfo; else SELECT the eMRTD application and BAC
 *      (§4.3) with the MRZ.
 *   3. After PACE, SELECT the eMRTD application (A0 00 00 02 47 10 01,
 *      9303-10 §3.11.2) under secure messaging (§9.8).
 *   4. READ BINARY by short EF identifier (one command per file when the
 *      card and the link allow large enough Le; offsets after that): EF.COM,
 *      DG1, DG11 / DG14 / DG15 when EF.COM lists them, EF.SOD. No SELECT per
 *      file: P1 = 80 | SFI selects and reads at once (7816-4 §7.2.3).
 *   5. Chip Authentication v1 (§6.2) when DG14 offers it and it is asked
 *      for: secure messaging restarts with its keys.
 *   6. Active Authentication (§6.1): INTERNAL AUTHENTICATE with an 8-byte
 *      challenge, by default hawiya/assertion.h's, which binds the card's
 *      signature to the platform's challenge, the origin and DG1.
 *
 * A reader that runs PACE itself (a PIN pad with PC/SC Part 10
 * FEATURE_EXECUTE_PACE) also keeps the secure messaging it established
 * (BSI TR-03119): then the inspection starts at step 3 with the EF.CardAccess
 * the reader returned, sends plain APDUs that the reader protects, and
 * skips Chip Authentication, whose new keys would be the reader's to use.
 *
 * Nothing here is verified (that is the platform's verifier's job, on the
 * same bytes); this collects the evidence, bounded, and names every failure.
 * Secrets (passwords, session keys) are wiped at the end and on any error.
 *
 * The files stream through: after each step, emrtd_chunk() gives the bytes
 * of a file the response just brought (valid until the next call), and the
 * caller sends them on and hashes them (hawiya/assertion.h's streamed
 * to-be-signed bytes take the files in this reading order). The inspection
 * keeps only what it needs itself: DG1 (for the Active Authentication
 * challenge), and the SecurityInfos of EF.CardAccess (for PACE) and then of
 * DG14 (the Chip Authentication keys), each file held only until parsed.
 * A caller that wants the files whole at the end gives a store for them
 * (emrtd_params.files).
 */
#ifndef HAWIYA_EMRTD_H
#define HAWIYA_EMRTD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hawiya/assertion.h"
#include "hawiya/bac.h"
#include "hawiya/ca.h"
#include "hawiya/card_caps.h"
#include "hawiya/cardaccess.h"
#include "hawiya/pace.h"
#include "hawiya/sm.h"

enum emrtd_err {
    EMRTD_OK = 0,
    EMRTD_ERR_PARAM,          /* no password usable for the card, or a bad argument */
    EMRTD_ERR_STATE,          /* a call out of sequence */
    EMRTD_ERR_SW,             /* the card answered an unexpected status word (see sw) */
    EMRTD_ERR_PACE,           /* PACE failed (see pace_err; a wrong CAN is PACE_ERR_TOKEN_*) */
    EMRTD_ERR_BAC,            /* BAC failed (wrong MRZ, or the card refused) */
    EMRTD_ERR_SM,             /* a response failed secure messaging checks: session dead */
    EMRTD_ERR_CA,             /* Chip Authentication failed */
    EMRTD_ERR_NO_ACCESS,      /* no EF.CardAccess and no MRZ for BAC */
    EMRTD_ERR_FILE_MISSING,   /* a mandatory file (DG1, DG15, EF.SOD) is absent */
    EMRTD_ERR_FILE_TOO_LARGE, /* a file larger than its buffer or than 32 KiB */
    EMRTD_ERR_FILE_FORMAT,    /* a file whose first TLV header is not readable */
    EMRTD_ERR_RESPONSE,       /* a malformed response APDU */
    EMRTD_ERR_BUFFER,         /* the caller's command buffer is too small */
};

const char *emrtd_err_str(enum emrtd_err e);

/* Where the inspection is, for progress reports. */
enum emrtd_phase {
    EMRTD_PHASE_CARDACCESS,
    EMRTD_PHASE_PACE,
    EMRTD_PHASE_SELECT,
    EMRTD_PHASE_BAC,
    EMRTD_PHASE_READ,
    EMRTD_PHASE_CA,
    EMRTD_PHASE_AA,
    EMRTD_PHASE_DONE,
};

const char *emrtd_phase_str(enum emrtd_phase p);

/* The files an inspection reads, in reading order. */
enum emrtd_file_id {
    EMRTD_EF_CARDACCESS,
    EMRTD_EF_COM,
    EMRTD_DG1,
    EMRTD_DG11,
    EMRTD_DG14,
    EMRTD_DG15,
    EMRTD_EF_SOD,
    EMRTD_FILES,
};

#define EMRTD_SMALL_FILE 1024u /* the limit of every file but EF.SOD */
#define EMRTD_SOD_MAX    8192u
#define EMRTD_DG1_MAX    256u /* DG1 of TD1, TD2, TD3: under 100 bytes */
#define EMRTD_AA_SIG_MAX 512u
/* The most plain bytes one READ BINARY asks for (a response under secure
 * messaging is unwrapped in a buffer of this size): a file in one read on
 * a host; a microcontroller build sets it smaller (its reader passes every
 * chunk on in one message of at most CCID_DEVICE_MAX_MESSAGE bytes). */
#ifndef EMRTD_READ_MAX
#define EMRTD_READ_MAX EMRTD_SOD_MAX
#endif

struct emrtd_file {
    uint8_t *buf; /* the whole file, with a store (emrtd_params.files); else NULL */
    size_t cap;
    size_t len;   /* bytes read so far */
    size_t total; /* the whole length, from its first TLV header (0 until known) */
    bool present;
};

/* Room for every file whole, for a caller that wants them at the end (the
 * host's inspections); the reader has none and takes the chunks. */
struct emrtd_files {
    uint8_t small[EMRTD_FILES - 1][EMRTD_SMALL_FILE];
    uint8_t sod[EMRTD_SOD_MAX];
};

/* File bytes the last step brought: file[id] bytes [offset, offset + len). */
struct emrtd_chunk {
    enum emrtd_file_id id;
    size_t offset, total;
    const uint8_t *p;
    size_t len;
};

struct emrtd_evidence {
    struct emrtd_file file[EMRTD_FILES];
    uint8_t aa_challenge[ASSERTION_AA_CHALLENGE];
    uint8_t aa_signature[EMRTD_AA_SIG_MAX];
    size_t aa_signature_len;
    bool pace, bac, ca, aa;
};

struct emrtd_params {
    const uint8_t *can; /* PACE password (ASCII digits), or NULL */
    size_t can_len;
    const char *mrz_info; /* MRZ information (9303-11 §9.7.2) for BAC / PACE-MRZ, or NULL */
    size_t mrz_info_len;
    /* The AA challenge: from challenge / origin / DG1 when challenge is set
     * (hawiya/assertion.h), else aa_challenge as given. */
    const uint8_t *challenge;
    size_t challenge_len;
    const uint8_t *origin;
    size_t origin_len;
    uint8_t aa_challenge[ASSERTION_AA_CHALLENGE];
    bool chip_authentication;
    bool active_authentication;
    /* The largest Le for one READ BINARY the link and the reader want
     * (e.g. 4096: a file in one command, or 224 for a reader's own limit). */
    size_t max_le;
    bool extended; /* the link (and, without caps, the card) takes extended lengths */
    /* What the card says of its APDU sizes (its historical bytes); extended
     * lengths are used when both the link and the card take them. */
    struct card_caps caps;
    bool atr_info; /* read EF.ATR/INFO first to learn them (step 0) */
    pace_rng_fn rng;
    void *rng_ctx;
    /* Curves kept loaded between sessions (hawiya/ecp_groups.h), or NULL. */
    struct ecp_groups *groups;
    /* Where the files are kept whole (ev.file[].buf), or NULL: they only
     * stream through emrtd_chunk(). */
    struct emrtd_files *files;
    /* PACE already done by the reader, which keeps secure messaging: can and
     * mrz_info are then unused, ef_cardaccess is the reader's copy (this
     * needs files). */
    bool sm_by_reader;
    const uint8_t *ef_cardaccess;
    size_t ef_cardaccess_len;
};

struct emrtd {
    struct emrtd_params p;
    enum emrtd_phase phase;
    int state;
    struct emrtd_evidence ev;
    /* reading */
    enum emrtd_file_id file;
    bool want[EMRTD_FILES];
    struct emrtd_chunk chunk;            /* what the last step brought (len 0: nothing) */
    uint8_t parse_buf[EMRTD_SMALL_FILE]; /* EF.CardAccess, EF.COM, DG14 until parsed */
    uint8_t dg1[EMRTD_DG1_MAX];          /* for the Active Authentication challenge */
    bool have_dg14;                      /* infos are DG14's (the Chip Authentication keys) */
    /* security: EF.CardAccess's SecurityInfos for PACE, then DG14's for CA */
    struct security_infos infos;
    struct pace pace;
    struct bac_ifd bac;
    struct ca ca;
    struct sm_ctx sm;
    bool sm_on;
    uint8_t last_ins;
    /* APDU sizes: the card's word, and a smaller Le once it refused one */
    struct card_caps caps;
    size_t le_cap, last_le;
    unsigned downgrades;
    /* outcome */
    uint16_t sw;
    enum pace_err pace_err;
    enum sm_err sm_err;
    unsigned apdus;
    /* secure messaging: one response, EMRTD_READ_MAX plain bytes with padding
     * and the data objects around them (a chunk points here); and one command */
    uint8_t scratch[EMRTD_READ_MAX + 64];
    uint8_t wrap[PACE_APDU_MAX + 64];
};

/* Starts the inspection; writes the first command APDU to cmd[0..cap). */
enum emrtd_err emrtd_begin(struct emrtd *s, const struct emrtd_params *p, uint8_t *cmd, size_t cap,
                           size_t *cmd_len);

/* Feeds the response to the last command; writes the next one, or sets
 * *cmd_len = 0 when the inspection is complete. Any error ends it. */
enum emrtd_err emrtd_step(struct emrtd *s, const uint8_t *rapdu, size_t len, uint8_t *cmd,
                          size_t cap, size_t *cmd_len);

/* The file bytes the last emrtd_step brought, or NULL (they point into the
 * inspection or into rapdu: valid until the next call). */
const struct emrtd_chunk *emrtd_chunk(const struct emrtd *s);

/* Wipes every secret; the evidence (public bytes) stays. */
void emrtd_wipe(struct emrtd *s);

/* The Le of a READ BINARY from now on (a plain one, or under secure
 * messaging), and whether with extended length fields: the sizes decided
 * for this card, for a host to report. */
size_t emrtd_read_size(const struct emrtd *s, bool sm, bool *extended);

#endif

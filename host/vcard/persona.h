/*
 * persona: who the virtual eID card pretends to be, loaded from a JSON file
 * (tests/data/personas.json; the format is in docs/personas.md).
 *
 * A persona holds what the card's layers need: the ATR and protocol
 * preferences (ISO/IEC 7816-3 §8, used by the character level), the APDU
 * capacities (7816-4 §5.1 short / extended length fields), the simulated
 * processing times per command class and what the card does when it is
 * slower than the waiting time (T=1 S(WTX request), 7816-3 §11.3.2, or T=0
 * NULL procedure bytes, §10.3.3), the holder's data (ICAO Doc 9303-3 MRZ
 * character set and transliteration; UTF-8 names for DG11), flags that make
 * a deliberately bad card, and the raw files of the ISO 7816-4 file system.
 *
 * Validation is strict: every field is type-checked and bounded, unknown
 * keys are refused, and a bad file gives a named error with the persona id
 * and the JSON path of the field. The struct is self-contained (file data is
 * in its own pool, addressed by offsets) so it may be copied.
 */
#ifndef HAWIYA_PERSONA_H
#define HAWIYA_PERSONA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hawiya/iso14443a.h"
#include "vfs.h"

#define PERSONA_ID_MAX        32
#define PERSONA_DESC_MAX      160
#define PERSONA_ATR_MAX       33 /* 7816-3 §8.2.1: at most 32 characters after TS */
#define PERSONA_MAX_FILES     32
#define PERSONA_POOL_MAX      (128u * 1024u)
#define PERSONA_NAME_MAX      39 /* MRZ name field of TD3 (9303-4 §4.2.2) */
#define PERSONA_UTF8_NAME_MAX 160
#define PERSONA_DOCNUM_MAX    22 /* TD1 long document number (9303-5 §4.2.4) */
#define PERSONA_OPTDATA_MAX   26 /* TD1 optional data: 15 (line 1) + 11 (line 2) */
#define PERSONA_FIELD_MAX     64
#define PERSONA_FILE_MAX_JSON (4u * 1024u * 1024u)

enum persona_err {
    PERSONA_OK = 0,
    PERSONA_ERR_IO,            /* the file cannot be opened or read */
    PERSONA_ERR_TOO_BIG,       /* the file is larger than PERSONA_FILE_MAX_JSON */
    PERSONA_ERR_JSON,          /* not JSON */
    PERSONA_ERR_SCHEMA,        /* top level is not {"version": 1, "personas": [...]} */
    PERSONA_ERR_NOT_FOUND,     /* no persona with that id */
    PERSONA_ERR_DUPLICATE_ID,  /* two personas with one id */
    PERSONA_ERR_MISSING,       /* a required field is absent */
    PERSONA_ERR_TYPE,          /* a field has the wrong JSON type */
    PERSONA_ERR_RANGE,         /* a number or a length out of bounds */
    PERSONA_ERR_FORMAT,        /* a string not in its syntax (hex, MRZ characters, date...) */
    PERSONA_ERR_UNKNOWN_FIELD, /* a key the format does not define */
    PERSONA_ERR_ATR,           /* the ATR is not a well-formed 7816-3 ATR (structure, TCK) */
    PERSONA_ERR_FILES,         /* the files do not make a valid file system (see vfs_err) */
    PERSONA_ERR_NO_SPACE,      /* file data larger than PERSONA_POOL_MAX in total */
};

const char *persona_err_str(enum persona_err e);

/* Where validation failed: the persona's id and the JSON path of the field. */
struct persona_diag {
    enum persona_err err;
    char id[PERSONA_ID_MAX + 1];       /* "" if the persona has no valid id yet */
    char field[PERSONA_FIELD_MAX + 1]; /* e.g. "holder.birth_date", "files[3].sfi" */
};

/* What the card does while a command takes longer than the waiting time. */
enum persona_slow {
    PERSONA_SLOW_WTX,  /* T=1: S(WTX request) blocks (7816-3 §11.3.2) */
    PERSONA_SLOW_NULL, /* T=0: NULL procedure bytes 0x60 (7816-3 §10.3.3) */
};

/* Simulated processing time of one command, per command class, in microseconds. */
struct persona_timing {
    uint32_t default_us;
    uint32_t select_us;                /* SELECT A4 */
    uint32_t read_binary_us;           /* READ BINARY B0 / B1 */
    uint32_t get_challenge_us;         /* GET CHALLENGE 84 */
    uint32_t internal_authenticate_us; /* INTERNAL AUTHENTICATE 88 (AA) */
    uint32_t general_authenticate_us;  /* GENERAL AUTHENTICATE 86 (PACE) */
    enum persona_slow when_slow;
};

/* The document holder, in the MRZ character set (9303-3 §4.3) unless marked UTF-8. */
struct persona_holder {
    char document_type[3]; /* "ID", "I", "P" ... */
    char issuing_state[4]; /* "MAR", "DZA", "UTO" */
    char document_number[PERSONA_DOCNUM_MAX + 1];
    char surname[PERSONA_NAME_MAX + 1];     /* primary identifier, '<' between words */
    char given_names[PERSONA_NAME_MAX + 1]; /* secondary identifier, '<' between words */
    char surname_utf8[PERSONA_UTF8_NAME_MAX + 1];
    char given_names_utf8[PERSONA_UTF8_NAME_MAX + 1];
    char nationality[4];
    char birth_date[7];  /* YYMMDD */
    char sex;            /* 'M', 'F' or '<' */
    char expiry_date[7]; /* YYMMDD */
    char can[7];         /* PACE card access number: 6 digits */
    char optional_data[PERSONA_OPTDATA_MAX + 1];
};

/* Deliberately bad cards for the ICAO negative tests. */
struct persona_flags {
    bool expired;       /* document past its expiry date */
    bool wrong_dg_hash; /* a data group whose hash does not match the SOD */
    bool bad_aa_key;    /* Active Authentication with a key not matching DG15 */
    bool bac_only;      /* no PACE: no EF.CardAccess, BAC only */
};

/* The contactless side of a dual-interface or contactless card (ISO/IEC
 * 14443): what it answers while being activated. Type A: ATQA, UID, the
 * final SAK and the ATS (TL..Tk: FSCI, bit rates, FWI / SFGI, CID / NAD and
 * the historical bytes the reader turns into the PC/SC ATR). Type B: PUPI,
 * the ATQB's application data and protocol info, the MBLI of its answer to
 * ATTRIB. */
struct persona_contactless {
    enum iso14443_type type;
    uint8_t atqa[2];
    uint8_t uid[ISO14443A_UID_MAX];
    size_t uid_len;
    uint8_t sak;
    uint8_t ats[ISO14443A_ATS_MAX];
    size_t ats_len;
    uint8_t pupi[4];
    uint8_t app_data[4];
    uint8_t proto[4];
    size_t proto_len; /* 3, or 4 for an extended ATQB */
    uint8_t mbli;
};

struct persona {
    char id[PERSONA_ID_MAX + 1];
    char description[PERSONA_DESC_MAX + 1];
    uint8_t atr[PERSONA_ATR_MAX];
    size_t atr_len;
    /* "interfaces": the contact slot (7816-3), the RF field (14443), or both */
    bool contact, contactless;
    struct persona_contactless cl;
    uint8_t protocols[2]; /* preference order, e.g. {1, 0}; 0xFF = unused */
    size_t n_protocols;
    /* 7816-4 §5.1: whether the card takes extended length fields, and its limits on Nc, Ne. */
    bool extended_length;
    size_t max_nc; /* 1..65535 (255 at most without extended length) */
    size_t max_ne; /* 256..65536; 16..256 without extended length */
    struct persona_timing timing;
    struct persona_holder holder;
    struct persona_flags flags;
    struct vfs_file_spec files[PERSONA_MAX_FILES];
    size_t n_files;
    size_t pool_len;
    uint8_t pool[PERSONA_POOL_MAX];
};

/*
 * Parses `json` (len bytes, need not be NUL-terminated), validates the
 * whole file's structure and ids, and fills `out` with the persona `id`
 * (validated in full). `diag` may be NULL. On error `out` is zeroed.
 */
enum persona_err persona_load_json(const char *json, size_t len, const char *id,
                                   struct persona *out, struct persona_diag *diag);

/* The same from a file. */
enum persona_err persona_load_file(const char *path, const char *id, struct persona *out,
                                   struct persona_diag *diag);

/*
 * Lists the ids of the personas in `json`, in file order: writes up to `cap`
 * ids and sets *n to the number of personas.
 */
enum persona_err persona_list_json(const char *json, size_t len, char (*ids)[PERSONA_ID_MAX + 1],
                                   size_t cap, size_t *n, struct persona_diag *diag);

/* "persona 'default': field 'holder.can': PERSONA_ERR_FORMAT" into buf (always NUL-terminated). */
void persona_diag_format(const struct persona_diag *d, char *buf, size_t cap);

/* Wipes the whole persona (the CAN and the holder's data are secrets of sorts). */
void persona_clear(struct persona *p);

/* The MRZ name field: surname "<<" given names, e.g. "BENALI<<MOHAMED<AMINE". */
void persona_mrz_name(const struct persona_holder *h, char *buf, size_t cap);

#endif

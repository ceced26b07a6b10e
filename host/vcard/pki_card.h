/*
 * pki_card: one persona's card as the test PKI (hawiya-pki, docs/pki.md)
 * issued it: the LDS files of ICAO Doc 9303-10 (EF.COM, DG1, DG2, DG11,
 * DG14, DG15, EF.SOD), EF.CardAccess (9303-11 §9.2.1, PACEInfos, absent on
 * a BAC-only card) and the chip's private keys for Active Authentication
 * (9303-11 §6.1) and Chip Authentication (§6.2).
 *
 * pki_card_load() reads DIR/manifest.json and every file it lists, strictly:
 * each file must exist, have the manifest's size and SHA-256, and parse as
 * what it claims to be (DG1 with every MRZ check digit, DG14 and
 * EF.CardAccess as SecurityInfos, DG15 as a public key, EF.SOD as CMS), the
 * manifest's MRZ must be DG1's, the AA key must be an EC private key and the
 * CA key the private half of DG14's ChipAuthenticationPublicKeyInfo. The
 * first failure is a named error naming the file.
 *
 * The pki_card owns its file data (heap); pki_card_install() then adds the
 * files to a persona's file system, replacing the persona's placeholder
 * files with the same FID in the same DF, and checks the result still makes
 * a file system. The icao_applet reads the keys and SecurityInfos from here.
 * A loaded pki_card holds pointers into itself: do not copy it.
 */
#ifndef HAWIYA_PKI_CARD_H
#define HAWIYA_PKI_CARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mbedtls/pk.h>

#include "hawiya/aa.h"
#include "hawiya/cardaccess.h"
#include "hawiya/mrz.h"
#include "hawiya/pace.h"
#include "persona.h"
#include "vfs.h"

#define PKI_CARD_MAX_FILES    12
#define PKI_CARD_FILE_MAX     (64u * 1024u)
#define PKI_CARD_MANIFEST_MAX (64u * 1024u)
#define PKI_CARD_NAME_MAX     32

enum pki_card_err {
    PKI_CARD_OK = 0,
    PKI_CARD_ERR_ARGS,     /* NULL pointer, or a directory path too long */
    PKI_CARD_ERR_IO,       /* a file cannot be opened or read (missing) */
    PKI_CARD_ERR_TOO_BIG,  /* a file larger than PKI_CARD_FILE_MAX (the manifest: _MANIFEST_MAX) */
    PKI_CARD_ERR_MANIFEST, /* manifest.json: not JSON, or a field missing, mistyped, out of range */
    PKI_CARD_ERR_MISSING,  /* the manifest lacks a file the card needs (EF.COM, DG1, DG14, ...) */
    PKI_CARD_ERR_SIZE,     /* a file's length differs from the manifest's "size" */
    PKI_CARD_ERR_HASH,     /* a file's SHA-256 differs from the manifest's "sha256" */
    PKI_CARD_ERR_CONTENT,  /* a file does not parse as what it claims to be */
    PKI_CARD_ERR_MRZ,      /* the manifest's "mrz" is not an MRZ, or not the one in DG1 */
    PKI_CARD_ERR_KEY,      /* a key file is not an EC private key, or does not match DG14 */
    PKI_CARD_ERR_PERSONA,  /* pki_card_install: the card was issued to another persona */
    PKI_CARD_ERR_NO_SPACE, /* pki_card_install: the persona's file table or pool is full */
    PKI_CARD_ERR_FILES,    /* pki_card_install: the files do not make a file system */
    PKI_CARD_ERR_NO_MEMORY, /* malloc failed */
};

const char *pki_card_err_str(enum pki_card_err e);

/* Where loading failed: the file (e.g. "dg14.bin", "manifest.json") and a detail. */
struct pki_card_diag {
    enum pki_card_err err;
    char file[PKI_CARD_NAME_MAX + 1];
    char detail[96];
};

/* "dg14.bin: PKI_CARD_ERR_CONTENT (CARDACCESS_ERR_TRUNCATED)" into buf (always NUL-terminated). */
void pki_card_diag_format(const struct pki_card_diag *d, char *buf, size_t cap);

/* One file of the card, as the manifest places it. */
struct pki_card_file {
    char name[PKI_CARD_NAME_MAX + 1]; /* "EF.DG1" */
    char file[PKI_CARD_NAME_MAX + 1]; /* "dg1.bin" */
    struct vfs_file_spec spec;        /* path, fid, sfi, ac; offset unused, size = len */
    uint8_t *data;                    /* heap, owned */
    size_t len;
};

struct pki_card {
    char persona[PERSONA_ID_MAX + 1];
    struct pki_card_file files[PKI_CARD_MAX_FILES];
    size_t n_files;
    /* The MRZ information (9303-11 §4.3) for BAC and PACE-MRZ: a secret. */
    char mrz_info[MRZ_BAC_INFO_MAX + 1];
    size_t mrz_info_len;
    /* EF.CardAccess: PACE is offered only if present. */
    bool has_card_access;
    struct security_infos card_access;
    /* DG14: Chip Authentication (one ECDH key) and the AA signature algorithm. */
    struct security_infos dg14;
    const struct ca_info *ca_info;
    const uint8_t *ca_spki;
    size_t ca_spki_len;
    uint8_t ca_sk[PACE_MAX_FIELD_LEN]; /* the CA private key, big-endian, order length */
    size_t ca_sk_len;
    /* Active Authentication: the private key (EC) and DG14's signature hash. */
    mbedtls_pk_context aa_key;
    enum aa_hash aa_hash;
    bool loaded;
};

/* pc is initialised first (pki_card_free() is then always safe); on error it is freed. */
enum pki_card_err pki_card_load(struct pki_card *pc, const char *dir, struct pki_card_diag *diag);

/* The file named `name` ("EF.DG1"), or NULL. */
const struct pki_card_file *pki_card_find(const struct pki_card *pc, const char *name);

/*
 * Puts the card's files into p's file system: a file with the FID of one of
 * p's files in the same DF replaces it, the others are added. p->id must be
 * the manifest's persona. On error p is unchanged. Call once per loaded
 * persona (replaced data stays in the pool).
 */
enum pki_card_err pki_card_install(const struct pki_card *pc, struct persona *p,
                                   struct pki_card_diag *diag);

/* Frees the file data and wipes the keys and the MRZ information. */
void pki_card_free(struct pki_card *pc);

#endif

/*
 * mrz: the machine readable zone of ICAO Doc 9303 travel documents: TD1
 * (3 lines of 30, ID cards, Part 5), TD2 (2 x 36, Part 6) and TD3
 * (2 x 44, passports, Part 4), with the check digits of Part 3 §4.9
 * (weights 7, 3, 1; '<' = 0, A..Z = 10..35) and the composite check digit.
 *
 * It also builds the "MRZ information" (9303-11 §4.3, and §9.7 for PACE)
 * that BAC's key seed and PACE's MRZ password are hashed from: document number, its
 * check digit, date of birth, its check digit, date of expiry, its check
 * digit. A TD1 or TD2 document number longer than 9 characters has '<' in
 * the check digit position and continues in the optional data, followed by
 * its check digit (Part 5 and Part 6, notes on the document number); the MRZ
 * information then holds the whole number.
 */
#ifndef HAWIYA_MRZ_H
#define HAWIYA_MRZ_H

#include <stddef.h>
#include <stdint.h>

enum mrz_format {
    MRZ_TD1,
    MRZ_TD2,
    MRZ_TD3,
};

enum mrz_err {
    MRZ_OK = 0,
    MRZ_ERR_SHAPE,      /* not 3 x 30, 2 x 36 or 2 x 44 characters */
    MRZ_ERR_CHARSET,    /* a character other than 0-9, A-Z and '<' */
    MRZ_ERR_DOC_NUMBER, /* a long document number with no room or no check digit */
    MRZ_ERR_BUFFER,     /* output buffer too small */
};

const char *mrz_err_str(enum mrz_err e);

/* Bits of struct mrz.cd_fail: which check digits do not match. */
#define MRZ_CD_DOCUMENT_NUMBER 0x01u
#define MRZ_CD_BIRTH_DATE      0x02u
#define MRZ_CD_EXPIRY_DATE     0x04u
#define MRZ_CD_OPTIONAL_DATA   0x08u /* TD3 only: personal number / optional data */
#define MRZ_CD_COMPOSITE       0x10u

/* The name of one MRZ_CD_ bit, e.g. "document_number"; "unknown" otherwise. */
const char *mrz_cd_name(unsigned bit);

#define MRZ_DOC_NUMBER_MAX 23 /* TD1: 9 + 14 characters continued in the optional data */
#define MRZ_NAME_MAX       39 /* TD3 name field */
#define MRZ_OPTIONAL_MAX   15
/* document number (<= 23) + cd + birth date + cd + expiry date + cd */
#define MRZ_BAC_INFO_MAX (MRZ_DOC_NUMBER_MAX + 1 + 7 + 7)

/*
 * A parsed MRZ. Text fields are NUL-terminated, with the '<' fillers at the
 * end removed; inside names a single '<' becomes a space. Check digit fields
 * hold the character found in the MRZ.
 */
struct mrz {
    enum mrz_format format;
    char document_code[3];
    char issuing_state[4];
    char document_number[MRZ_DOC_NUMBER_MAX + 1];
    char document_number_cd;
    /* The document number as it enters the MRZ information: the 9-character
     * field with its '<' fillers, or the whole long number. */
    char document_number_field[MRZ_DOC_NUMBER_MAX + 1];
    char birth_date[7]; /* YYMMDD as printed ('<' for an unknown part is kept) */
    char birth_date_cd;
    char sex; /* 'M', 'F' or '<' */
    char expiry_date[7];
    char expiry_date_cd;
    char nationality[4];
    char optional_data[MRZ_OPTIONAL_MAX + 1];  /* TD1 line 1 (after a long number), TD2, TD3 */
    char optional_data_cd;                     /* TD3 only, else '\0' */
    char optional_data2[MRZ_OPTIONAL_MAX + 1]; /* TD1 line 2 only */
    char composite_cd;
    char primary_identifier[MRZ_NAME_MAX + 1];
    char secondary_identifier[MRZ_NAME_MAX + 1];
    unsigned cd_fail; /* MRZ_CD_ bits; 0 when every check digit matches */
};

/*
 * The check digit of s[0..n) (Part 3 §4.9): 0..9, or -1 if s holds a
 * character outside 0-9, A-Z, '<'.
 */
int mrz_check_digit(const char *s, size_t n);

/*
 * Parses `nlines` NUL-terminated lines. A structurally valid MRZ returns
 * MRZ_OK even when check digits fail: see m->cd_fail. On error *m is zeroed.
 */
enum mrz_err mrz_parse(const char *const *lines, size_t nlines, struct mrz *m);

/*
 * Writes the MRZ information of 9303-11 §4.3 to out (NUL-terminated,
 * cap >= MRZ_BAC_INFO_MAX + 1 is always enough) and its length to *out_len.
 */
enum mrz_err mrz_bac_info(const struct mrz *m, char *out, size_t cap, size_t *out_len);

/*
 * The same from the three printed fields (as typed by an operator): the
 * document number (fillers added up to 9 characters), YYMMDD birth and expiry
 * dates; the check digits are computed.
 */
enum mrz_err mrz_bac_info_from_fields(const char *document_number, const char *birth_date,
                                      const char *expiry_date, char *out, size_t cap,
                                      size_t *out_len);

#endif

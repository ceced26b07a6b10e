#include <stdbool.h>
#include <string.h>

#include "hawiya/mrz.h"

const char *mrz_err_str(enum mrz_err e)
{
    switch (e) {
    case MRZ_OK: return "MRZ_OK";
    case MRZ_ERR_SHAPE: return "MRZ_ERR_SHAPE";
    case MRZ_ERR_CHARSET: return "MRZ_ERR_CHARSET";
    case MRZ_ERR_DOC_NUMBER: return "MRZ_ERR_DOC_NUMBER";
    case MRZ_ERR_BUFFER: return "MRZ_ERR_BUFFER";
    }
    return "MRZ_ERR_UNKNOWN";
}

const char *mrz_cd_name(unsigned bit)
{
    switch (bit) {
    case MRZ_CD_DOCUMENT_NUMBER: return "document_number";
    case MRZ_CD_BIRTH_DATE: return "birth_date";
    case MRZ_CD_EXPIRY_DATE: return "expiry_date";
    case MRZ_CD_OPTIONAL_DATA: return "optional_data";
    case MRZ_CD_COMPOSITE: return "composite";
    }
    return "unknown";
}

/* Part 3 §4.9: '<' counts 0, digits their value, A..Z 10..35. */
static int char_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'Z')
        return c - 'A' + 10;
    if (c == '<')
        return 0;
    return -1;
}

/* A running check digit over several MRZ segments (the composite spans four). */
struct cd_acc {
    unsigned sum;
    unsigned pos;
};

static void cd_add(struct cd_acc *a, const char *s, size_t n)
{
    static const unsigned weight[3] = {7, 3, 1};
    for (size_t i = 0; i < n; i++) {
        a->sum += (unsigned)char_value(s[i]) * weight[a->pos % 3];
        a->pos++;
    }
}

/* strnlen is POSIX, not C11: the length of s, at most max. */
static size_t bounded_len(const char *s, size_t max)
{
    size_t n = 0;
    while (n < max && s[n] != '\0')
        n++;
    return n;
}

static bool valid_chars(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (char_value(s[i]) < 0)
            return false;
    return true;
}

int mrz_check_digit(const char *s, size_t n)
{
    struct cd_acc a = {0, 0};
    if (!valid_chars(s, n))
        return -1;
    cd_add(&a, s, n);
    return (int)(a.sum % 10);
}

static bool cd_matches(int computed, char cd)
{
    return cd >= '0' && cd <= '9' && computed == cd - '0';
}

/* Copies n characters and drops the trailing '<' fillers. */
static void field(char *dst, const char *src, size_t n)
{
    memcpy(dst, src, n);
    while (n > 0 && dst[n - 1] == '<')
        n--;
    dst[n] = '\0';
}

/* Copies n characters as they are (dates keep a '<' for an unknown part). */
static void raw(char *dst, const char *src, size_t n)
{
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* A name field: primary and secondary identifiers split at the first "<<". */
static void names(struct mrz *m, const char *s, size_t n)
{
    size_t split = n;
    for (size_t i = 0; i + 1 < n; i++) {
        if (s[i] == '<' && s[i + 1] == '<') {
            split = i;
            break;
        }
    }
    field(m->primary_identifier, s, split);
    if (split + 2 < n)
        field(m->secondary_identifier, s + split + 2, n - split - 2);
    for (char *p = m->primary_identifier; *p; p++)
        if (*p == '<')
            *p = ' ';
    for (char *p = m->secondary_identifier; *p; p++)
        if (*p == '<')
            *p = ' ';
}

/*
 * The document number: the 9-character field with its check digit, or, when
 * the check digit position holds '<', a long number continued in `opt`
 * (TD1 line 1 optional data, TD2 optional data) and followed there by its
 * check digit and a filler. Writes what is left of the optional data.
 */
static enum mrz_err document_number(struct mrz *m, const char *doc, char cd, const char *opt,
                                    size_t opt_len)
{
    if (cd != '<') {
        memcpy(m->document_number_field, doc, 9);
        m->document_number_field[9] = '\0';
        field(m->document_number, doc, 9);
        m->document_number_cd = cd;
        field(m->optional_data, opt, opt_len);
        return MRZ_OK;
    }
    size_t k = 0;
    while (k < opt_len && opt[k] != '<')
        k++;
    /* k characters before the first filler: the continuation, then the check digit. */
    if (k < 2 || memchr(doc, '<', 9) != NULL)
        return MRZ_ERR_DOC_NUMBER;
    memcpy(m->document_number_field, doc, 9);
    memcpy(m->document_number_field + 9, opt, k - 1);
    m->document_number_field[9 + k - 1] = '\0';
    memcpy(m->document_number, m->document_number_field, 9 + k);
    m->document_number_cd = opt[k - 1];
    if (k + 1 < opt_len)
        field(m->optional_data, opt + k + 1, opt_len - k - 1);
    return MRZ_OK;
}

static void check(struct mrz *m, unsigned bit, const char *s, size_t n, char cd)
{
    if (!cd_matches(mrz_check_digit(s, n), cd))
        m->cd_fail |= bit;
}

static enum mrz_err parse_td1(const char *l1, const char *l2, const char *l3, struct mrz *m)
{
    enum mrz_err e;
    struct cd_acc a = {0, 0};

    m->format = MRZ_TD1;
    field(m->document_code, l1, 2);
    field(m->issuing_state, l1 + 2, 3);
    e = document_number(m, l1 + 5, l1[14], l1 + 15, 15);
    if (e != MRZ_OK)
        return e;
    raw(m->birth_date, l2, 6);
    m->birth_date_cd = l2[6];
    m->sex = l2[7];
    raw(m->expiry_date, l2 + 8, 6);
    m->expiry_date_cd = l2[14];
    field(m->nationality, l2 + 15, 3);
    field(m->optional_data2, l2 + 18, 11);
    m->composite_cd = l2[29];
    names(m, l3, 30);

    check(m, MRZ_CD_DOCUMENT_NUMBER, m->document_number_field, strlen(m->document_number_field),
          m->document_number_cd);
    check(m, MRZ_CD_BIRTH_DATE, l2, 6, l2[6]);
    check(m, MRZ_CD_EXPIRY_DATE, l2 + 8, 6, l2[14]);
    /* Part 5 (TD1 composite): upper line 6-30, middle line 1-7, 9-15, 19-29. */
    cd_add(&a, l1 + 5, 25);
    cd_add(&a, l2, 7);
    cd_add(&a, l2 + 8, 7);
    cd_add(&a, l2 + 18, 11);
    if (!cd_matches((int)(a.sum % 10), l2[29]))
        m->cd_fail |= MRZ_CD_COMPOSITE;
    return MRZ_OK;
}

/* TD2 and TD3 share the lower line up to the optional data (Parts 4 and 6). */
static enum mrz_err parse_td23(const char *l1, const char *l2, size_t width, struct mrz *m)
{
    enum mrz_err e;
    struct cd_acc a = {0, 0};
    bool td3 = width == 44;
    size_t opt_len = td3 ? 14 : 7;

    m->format = td3 ? MRZ_TD3 : MRZ_TD2;
    field(m->document_code, l1, 2);
    field(m->issuing_state, l1 + 2, 3);
    names(m, l1 + 5, width - 5);
    /* A TD3 has no long-number rule: a '<' check digit is simply wrong. */
    if (td3 && l2[9] == '<') {
        memcpy(m->document_number_field, l2, 9);
        m->document_number_field[9] = '\0';
        field(m->document_number, l2, 9);
        m->document_number_cd = '<';
        field(m->optional_data, l2 + 28, opt_len);
    } else {
        e = document_number(m, l2, l2[9], l2 + 28, opt_len);
        if (e != MRZ_OK)
            return e;
    }
    field(m->nationality, l2 + 10, 3);
    raw(m->birth_date, l2 + 13, 6);
    m->birth_date_cd = l2[19];
    m->sex = l2[20];
    raw(m->expiry_date, l2 + 21, 6);
    m->expiry_date_cd = l2[27];
    m->composite_cd = l2[width - 1];

    check(m, MRZ_CD_DOCUMENT_NUMBER, m->document_number_field, strlen(m->document_number_field),
          m->document_number_cd);
    check(m, MRZ_CD_BIRTH_DATE, l2 + 13, 6, l2[19]);
    check(m, MRZ_CD_EXPIRY_DATE, l2 + 21, 6, l2[27]);
    if (td3) {
        m->optional_data_cd = l2[42];
        /* Part 4 (TD3 personal number): an unused personal number may carry '<' as its check digit.
         */
        bool unused = m->optional_data[0] == '\0';
        if (!(unused && l2[42] == '<'))
            check(m, MRZ_CD_OPTIONAL_DATA, l2 + 28, 14, l2[42]);
    }
    /* Lower line 1-10, 14-20, 22-35 (TD2) or 22-43 (TD3). */
    cd_add(&a, l2, 10);
    cd_add(&a, l2 + 13, 7);
    cd_add(&a, l2 + 21, width - 1 - 21);
    if (!cd_matches((int)(a.sum % 10), l2[width - 1]))
        m->cd_fail |= MRZ_CD_COMPOSITE;
    return MRZ_OK;
}

enum mrz_err mrz_parse(const char *const *lines, size_t nlines, struct mrz *m)
{
    size_t width;
    enum mrz_err e;

    memset(m, 0, sizeof *m);
    if (lines == NULL || (nlines != 2 && nlines != 3))
        return MRZ_ERR_SHAPE;
    for (size_t i = 0; i < nlines; i++)
        if (lines[i] == NULL)
            return MRZ_ERR_SHAPE;
    width = bounded_len(lines[0], 45);
    if (!(nlines == 3 && width == 30) && !(nlines == 2 && (width == 36 || width == 44)))
        return MRZ_ERR_SHAPE;
    for (size_t i = 0; i < nlines; i++) {
        if (bounded_len(lines[i], 45) != width)
            return MRZ_ERR_SHAPE;
        if (!valid_chars(lines[i], width))
            return MRZ_ERR_CHARSET;
    }
    if (nlines == 3)
        e = parse_td1(lines[0], lines[1], lines[2], m);
    else
        e = parse_td23(lines[0], lines[1], width, m);
    if (e != MRZ_OK)
        memset(m, 0, sizeof *m);
    return e;
}

static enum mrz_err bac_info(const char *doc, size_t doc_len, char doc_cd, const char *birth,
                             char birth_cd, const char *expiry, char expiry_cd, char *out,
                             size_t cap, size_t *out_len)
{
    size_t n = doc_len + 1 + 7 + 7;
    if (cap < n + 1)
        return MRZ_ERR_BUFFER;
    memcpy(out, doc, doc_len);
    out[doc_len] = doc_cd;
    memcpy(out + doc_len + 1, birth, 6);
    out[doc_len + 7] = birth_cd;
    memcpy(out + doc_len + 8, expiry, 6);
    out[doc_len + 14] = expiry_cd;
    out[n] = '\0';
    *out_len = n;
    return MRZ_OK;
}

enum mrz_err mrz_bac_info(const struct mrz *m, char *out, size_t cap, size_t *out_len)
{
    size_t doc_len = bounded_len(m->document_number_field, sizeof m->document_number_field);
    if (doc_len < 9 || doc_len > MRZ_DOC_NUMBER_MAX || strlen(m->birth_date) != 6 ||
        strlen(m->expiry_date) != 6)
        return MRZ_ERR_DOC_NUMBER;
    return bac_info(m->document_number_field, doc_len, m->document_number_cd, m->birth_date,
                    m->birth_date_cd, m->expiry_date, m->expiry_date_cd, out, cap, out_len);
}

enum mrz_err mrz_bac_info_from_fields(const char *document_number, const char *birth_date,
                                      const char *expiry_date, char *out, size_t cap,
                                      size_t *out_len)
{
    char doc[MRZ_DOC_NUMBER_MAX + 1];
    size_t n = bounded_len(document_number, MRZ_DOC_NUMBER_MAX + 1);
    int cd_doc, cd_birth, cd_expiry;

    if (n == 0 || n > MRZ_DOC_NUMBER_MAX || bounded_len(birth_date, 7) != 6 ||
        bounded_len(expiry_date, 7) != 6)
        return MRZ_ERR_SHAPE;
    memcpy(doc, document_number, n);
    /* The MRZ field is 9 characters; a shorter number is filled with '<'. */
    while (n < 9)
        doc[n++] = '<';
    cd_doc = mrz_check_digit(doc, n);
    cd_birth = mrz_check_digit(birth_date, 6);
    cd_expiry = mrz_check_digit(expiry_date, 6);
    if (cd_doc < 0 || cd_birth < 0 || cd_expiry < 0)
        return MRZ_ERR_CHARSET;
    return bac_info(doc, n, (char)('0' + cd_doc), birth_date, (char)('0' + cd_birth), expiry_date,
                    (char)('0' + cd_expiry), out, cap, out_len);
}

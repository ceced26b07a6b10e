#include "persona.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hawiya/hex.h"
#include "hawiya/iso14443b.h"
#include "hawiya/wipe.h"

/*
 * The ATR a persona gets when it names none: TS=3B direct convention;
 * T0=95 (TA1, TD1, 5 historical bytes); TA1=96 (Fi=512, Di=32); TD1=80
 * (T=0, TD2 follows); TD2=31 (TA3, TB3, T=1); TA3=FE (IFSC 254); TB3=45
 * (BWI 4, CWI 5); historical bytes 80 (COMPACT-TLV follows) 73 B4 21 40
 * (card capabilities, 7816-4 §8.1.1.2.7: selection by DF name, path, FID,
 * SFI; data coding 21; extended Lc and Le); TCK=2F (XOR of T0..last).
 */
static const uint8_t default_atr[] = {0x3B, 0x95, 0x96, 0x80, 0x31, 0xFE, 0x45,
                                      0x80, 0x73, 0xB4, 0x21, 0x40, 0x2F};

const char *persona_err_str(enum persona_err e)
{
    switch (e) {
    case PERSONA_OK: return "PERSONA_OK";
    case PERSONA_ERR_IO: return "PERSONA_ERR_IO";
    case PERSONA_ERR_TOO_BIG: return "PERSONA_ERR_TOO_BIG";
    case PERSONA_ERR_JSON: return "PERSONA_ERR_JSON";
    case PERSONA_ERR_SCHEMA: return "PERSONA_ERR_SCHEMA";
    case PERSONA_ERR_NOT_FOUND: return "PERSONA_ERR_NOT_FOUND";
    case PERSONA_ERR_DUPLICATE_ID: return "PERSONA_ERR_DUPLICATE_ID";
    case PERSONA_ERR_MISSING: return "PERSONA_ERR_MISSING";
    case PERSONA_ERR_TYPE: return "PERSONA_ERR_TYPE";
    case PERSONA_ERR_RANGE: return "PERSONA_ERR_RANGE";
    case PERSONA_ERR_FORMAT: return "PERSONA_ERR_FORMAT";
    case PERSONA_ERR_UNKNOWN_FIELD: return "PERSONA_ERR_UNKNOWN_FIELD";
    case PERSONA_ERR_ATR: return "PERSONA_ERR_ATR";
    case PERSONA_ERR_FILES: return "PERSONA_ERR_FILES";
    case PERSONA_ERR_NO_SPACE: return "PERSONA_ERR_NO_SPACE";
    }
    return "PERSONA_ERR_UNKNOWN";
}

void persona_diag_format(const struct persona_diag *d, char *buf, size_t cap)
{
    if (cap == 0)
        return;
    snprintf(buf, cap, "persona '%s': field '%s': %s", d->id, d->field, persona_err_str(d->err));
}

void persona_clear(struct persona *p)
{
    wipe(p, sizeof *p);
}

void persona_mrz_name(const struct persona_holder *h, char *buf, size_t cap)
{
    if (cap == 0)
        return;
    snprintf(buf, cap, "%s<<%s", h->surname, h->given_names);
}

/* ---- validation helpers ---------------------------------------------------- */

/* Parsing context: where we are, for the diagnostic. */
struct ctx {
    struct persona_diag *diag;
    char field[PERSONA_FIELD_MAX + 1];
};

static enum persona_err fail(struct ctx *c, enum persona_err e, const char *field)
{
    c->diag->err = e;
    snprintf(c->diag->field, sizeof c->diag->field, "%s%s%s", c->field,
             c->field[0] && field[0] ? "." : "", field);
    return e;
}

#define TRY(x)                                                                                     \
    do {                                                                                           \
        enum persona_err try_e_ = (x);                                                             \
        if (try_e_ != PERSONA_OK)                                                                  \
            return try_e_;                                                                         \
    } while (0)

/* Refuses keys outside `allowed` (NULL-terminated). */
static enum persona_err check_keys(struct ctx *c, const cJSON *obj, const char *const *allowed)
{
    for (const cJSON *it = obj->child; it; it = it->next) {
        bool ok = false;
        for (size_t i = 0; allowed[i]; i++)
            if (it->string && strcmp(it->string, allowed[i]) == 0)
                ok = true;
        if (!ok)
            return fail(c, PERSONA_ERR_UNKNOWN_FIELD, it->string ? it->string : "?");
    }
    return PERSONA_OK;
}

static const cJSON *get(const cJSON *obj, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(obj, key);
}

static enum persona_err get_string(struct ctx *c, const cJSON *obj, const char *key, bool required,
                                   const char **out)
{
    const cJSON *v = get(obj, key);
    *out = NULL;
    if (!v)
        return required ? fail(c, PERSONA_ERR_MISSING, key) : PERSONA_OK;
    if (!cJSON_IsString(v) || !v->valuestring)
        return fail(c, PERSONA_ERR_TYPE, key);
    *out = v->valuestring;
    return PERSONA_OK;
}

static enum persona_err get_uint(struct ctx *c, const cJSON *obj, const char *key, double min,
                                 double max, bool required, uint32_t *out)
{
    const cJSON *v = get(obj, key);
    if (!v)
        return required ? fail(c, PERSONA_ERR_MISSING, key) : PERSONA_OK;
    if (!cJSON_IsNumber(v))
        return fail(c, PERSONA_ERR_TYPE, key);
    double d = v->valuedouble;
    if (!isfinite(d) || d != floor(d) || d < min || d > max)
        return fail(c, PERSONA_ERR_RANGE, key);
    *out = (uint32_t)d;
    return PERSONA_OK;
}

static enum persona_err get_bool(struct ctx *c, const cJSON *obj, const char *key, bool *out)
{
    const cJSON *v = get(obj, key);
    if (!v)
        return PERSONA_OK;
    if (!cJSON_IsBool(v))
        return fail(c, PERSONA_ERR_TYPE, key);
    *out = cJSON_IsTrue(v);
    return PERSONA_OK;
}

static bool is_mrz_char(char ch, bool digits, bool letters)
{
    return ch == '<' || (digits && ch >= '0' && ch <= '9') || (letters && ch >= 'A' && ch <= 'Z');
}

/* A string of MRZ characters (9303-3 §4.3: A-Z, 0-9, '<') of min..max characters. */
static enum persona_err get_mrz(struct ctx *c, const cJSON *obj, const char *key, size_t min,
                                size_t max, bool digits, bool letters, char *out)
{
    const char *s;
    TRY(get_string(c, obj, key, min > 0, &s));
    if (!s)
        return PERSONA_OK;
    size_t n = strlen(s);
    if (n < min || n > max)
        return fail(c, PERSONA_ERR_RANGE, key);
    for (size_t i = 0; i < n; i++)
        if (!is_mrz_char(s[i], digits, letters))
            return fail(c, PERSONA_ERR_FORMAT, key);
    memcpy(out, s, n + 1);
    return PERSONA_OK;
}

static bool digits_only(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return s[n] == '\0';
}

/* YYMMDD (9303-3 §4.7) with a real calendar day; the century is unknown, so 29 Feb always. */
static enum persona_err get_date(struct ctx *c, const cJSON *obj, const char *key, char *out)
{
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const char *s;
    TRY(get_string(c, obj, key, true, &s));
    if (strlen(s) != 6 || !digits_only(s, 6))
        return fail(c, PERSONA_ERR_FORMAT, key);
    int mm = (s[2] - '0') * 10 + (s[3] - '0'), dd = (s[4] - '0') * 10 + (s[5] - '0');
    if (mm < 1 || mm > 12 || dd < 1 || dd > mdays[mm - 1])
        return fail(c, PERSONA_ERR_FORMAT, key);
    memcpy(out, s, 7);
    return PERSONA_OK;
}

/* Well-formed UTF-8 (RFC 3629: no overlongs, no surrogates, <= U+10FFFF), no C0 controls. */
static bool utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char b = s[i];
        size_t k;
        uint32_t cp;
        if (b < 0x20 || b == 0x7F)
            return false;
        if (b < 0x80) {
            i++;
            continue;
        } else if (b >= 0xC2 && b <= 0xDF) {
            k = 1, cp = b & 0x1F;
        } else if (b >= 0xE0 && b <= 0xEF) {
            k = 2, cp = b & 0x0F;
        } else if (b >= 0xF0 && b <= 0xF4) {
            k = 3, cp = b & 0x07;
        } else {
            return false;
        }
        if (i + k >= n)
            return false;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xC0) != 0x80)
                return false;
            cp = cp << 6 | (s[i + j] & 0x3F);
        }
        if ((k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) || cp > 0x10FFFF ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += k + 1;
    }
    return true;
}

static enum persona_err get_utf8(struct ctx *c, const cJSON *obj, const char *key, size_t max,
                                 char *out)
{
    const char *s;
    TRY(get_string(c, obj, key, false, &s));
    if (!s)
        return PERSONA_OK;
    size_t n = strlen(s);
    if (n > max)
        return fail(c, PERSONA_ERR_RANGE, key);
    if (!utf8_valid((const unsigned char *)s, n))
        return fail(c, PERSONA_ERR_FORMAT, key);
    memcpy(out, s, n + 1);
    return PERSONA_OK;
}

/* Decodes hex text of out_min..cap bytes. */
static enum persona_err get_hex(struct ctx *c, const char *key, const char *s, uint8_t *out,
                                size_t min, size_t cap, size_t *n, enum persona_err too_long)
{
    enum hex_err he = hex_decode(s, strlen(s), out, cap, n);
    if (he == HEX_ERR_TOO_LONG)
        return fail(c, too_long, key);
    if (he != HEX_OK)
        return fail(c, PERSONA_ERR_FORMAT, key);
    if (*n < min)
        return fail(c, PERSONA_ERR_RANGE, key);
    return PERSONA_OK;
}

/*
 * The structure of an ATR (7816-3 §8.2): TS, T0, the interface bytes the
 * TDi chain announces, K historical bytes, and TCK unless only T=0 is
 * offered (§8.2.5), with T0 ^ ... ^ TCK = 0. Sets the protocols offered as
 * a bit mask (T=0 when no TD1). Deep decoding is the atr module's job.
 */
static bool atr_well_formed(const uint8_t *atr, size_t n, unsigned *offered)
{
    if (n < 2 || (atr[0] != 0x3B && atr[0] != 0x3F))
        return false;
    size_t i = 1, k = atr[1] & 0x0F;
    uint8_t y = atr[1] >> 4;
    bool tck = false, any_td = false;
    *offered = 0;
    while (true) {
        size_t count = (size_t)((y & 1) + (y >> 1 & 1) + (y >> 2 & 1));
        i += count;
        if (!(y & 8))
            break;
        i++;
        if (i >= n)
            return false;
        uint8_t t = atr[i] & 0x0F;
        any_td = true;
        if (t != 0)
            tck = true;
        if (t != 15)
            *offered |= 1u << t;
        y = atr[i] >> 4;
    }
    if (!any_td)
        *offered = 1u;
    size_t want = i + 1 + k + (tck ? 1 : 0);
    if (want != n)
        return false;
    if (tck) {
        uint8_t x = 0;
        for (size_t j = 1; j < n; j++)
            x ^= atr[j];
        if (x != 0)
            return false;
    }
    return true;
}

/* ---- sections of a persona ------------------------------------------------- */

static void push(struct ctx *c, const char *name, char *saved)
{
    memcpy(saved, c->field, sizeof c->field);
    /* The JSON path is for messages: cut it rather than overflow. */
    size_t n = strlen(saved), room = sizeof c->field - 1;
    if (n && n < room)
        c->field[n++] = '.';
    for (const char *p = name; *p && n < room; p++)
        c->field[n++] = *p;
    c->field[n] = '\0';
}

static void pop(struct ctx *c, const char *saved)
{
    memcpy(c->field, saved, sizeof c->field);
}

static enum persona_err get_object(struct ctx *c, const cJSON *obj, const char *key, bool required,
                                   const cJSON **out)
{
    *out = get(obj, key);
    if (!*out)
        return required ? fail(c, PERSONA_ERR_MISSING, key) : PERSONA_OK;
    if (!cJSON_IsObject(*out))
        return fail(c, PERSONA_ERR_TYPE, key);
    return PERSONA_OK;
}

static enum persona_err parse_atr(struct ctx *c, const cJSON *o, struct persona *p)
{
    const char *s;
    TRY(get_string(c, o, "atr", false, &s));
    if (!s) {
        memcpy(p->atr, default_atr, sizeof default_atr);
        p->atr_len = sizeof default_atr;
    } else {
        TRY(get_hex(c, "atr", s, p->atr, 2, sizeof p->atr, &p->atr_len, PERSONA_ERR_ATR));
    }
    unsigned offered;
    if (!atr_well_formed(p->atr, p->atr_len, &offered))
        return fail(c, PERSONA_ERR_ATR, "atr");

    const cJSON *pr = get(o, "protocols");
    p->protocols[0] = 1, p->protocols[1] = 0, p->n_protocols = 2;
    if (pr) {
        if (!cJSON_IsArray(pr))
            return fail(c, PERSONA_ERR_TYPE, "protocols");
        int n = cJSON_GetArraySize(pr);
        if (n < 1 || n > 2)
            return fail(c, PERSONA_ERR_RANGE, "protocols");
        p->n_protocols = 0;
        for (const cJSON *it = pr->child; it; it = it->next) {
            if (!cJSON_IsNumber(it))
                return fail(c, PERSONA_ERR_TYPE, "protocols");
            if ((it->valuedouble != 0 && it->valuedouble != 1) ||
                (p->n_protocols == 1 && p->protocols[0] == (uint8_t)it->valuedouble))
                return fail(c, PERSONA_ERR_RANGE, "protocols");
            p->protocols[p->n_protocols++] = (uint8_t)it->valuedouble;
        }
        if (p->n_protocols == 1)
            p->protocols[1] = 0xFF;
    }
    /* The persona may only prefer protocols its ATR offers. */
    for (size_t i = 0; i < p->n_protocols; i++)
        if (!(offered & 1u << p->protocols[i]))
            return fail(c, PERSONA_ERR_ATR, "protocols");
    return PERSONA_OK;
}

static enum persona_err parse_apdu(struct ctx *c, const cJSON *o, struct persona *p)
{
    static const char *const keys[] = {"extended_length", "max_command_data", "max_response_data",
                                       NULL};
    const cJSON *a;
    char saved[sizeof c->field];
    TRY(get_object(c, o, "apdu", false, &a));
    p->extended_length = false;
    uint32_t nc = 255, ne = 256;
    if (a) {
        push(c, "apdu", saved);
        TRY(check_keys(c, a, keys));
        TRY(get_bool(c, a, "extended_length", &p->extended_length));
        if (p->extended_length)
            nc = 65535, ne = 65536;
        TRY(get_uint(c, a, "max_command_data", 1, p->extended_length ? 65535 : 255, false, &nc));
        /* a short-length card may hold less than 256 response bytes (EF.ATR/INFO says so) */
        TRY(get_uint(c, a, "max_response_data", p->extended_length ? 256 : 16,
                     p->extended_length ? 65536 : 256, false, &ne));
        pop(c, saved);
    }
    p->max_nc = nc;
    p->max_ne = ne;
    return PERSONA_OK;
}

static enum persona_err parse_timing(struct ctx *c, const cJSON *o, struct persona *p)
{
    static const char *const keys[] = {"default_us",
                                       "select_us",
                                       "read_binary_us",
                                       "get_challenge_us",
                                       "internal_authenticate_us",
                                       "general_authenticate_us",
                                       "when_slow",
                                       NULL};
    const double max = 60e6; /* one minute: no card is slower and still usable */
    struct persona_timing *t = &p->timing;
    const cJSON *j;
    char saved[sizeof c->field];

    /* Typical contact eMRTD chip times; AA and PACE dominate. */
    t->default_us = 2000;
    t->select_us = 3000;
    t->read_binary_us = 4000;
    t->get_challenge_us = 3000;
    t->internal_authenticate_us = 150000;
    t->general_authenticate_us = 80000;
    t->when_slow = p->protocols[0] == 0 ? PERSONA_SLOW_NULL : PERSONA_SLOW_WTX;
    TRY(get_object(c, o, "timing", false, &j));
    if (!j)
        return PERSONA_OK;
    push(c, "timing", saved);
    TRY(check_keys(c, j, keys));
    TRY(get_uint(c, j, "default_us", 0, max, false, &t->default_us));
    TRY(get_uint(c, j, "select_us", 0, max, false, &t->select_us));
    TRY(get_uint(c, j, "read_binary_us", 0, max, false, &t->read_binary_us));
    TRY(get_uint(c, j, "get_challenge_us", 0, max, false, &t->get_challenge_us));
    TRY(get_uint(c, j, "internal_authenticate_us", 0, max, false, &t->internal_authenticate_us));
    TRY(get_uint(c, j, "general_authenticate_us", 0, max, false, &t->general_authenticate_us));
    const char *s;
    TRY(get_string(c, j, "when_slow", false, &s));
    if (s) {
        if (strcmp(s, "wtx") == 0)
            t->when_slow = PERSONA_SLOW_WTX;
        else if (strcmp(s, "null") == 0)
            t->when_slow = PERSONA_SLOW_NULL;
        else
            return fail(c, PERSONA_ERR_FORMAT, "when_slow");
    }
    pop(c, saved);
    return PERSONA_OK;
}

static enum persona_err parse_holder(struct ctx *c, const cJSON *o, struct persona *p)
{
    static const char *const keys[] = {"document_type",    "issuing_state",
                                       "document_number",  "surname",
                                       "given_names",      "surname_utf8",
                                       "given_names_utf8", "nationality",
                                       "birth_date",       "sex",
                                       "expiry_date",      "can",
                                       "optional_data",    NULL};
    struct persona_holder *h = &p->holder;
    const cJSON *j;
    char saved[sizeof c->field];

    TRY(get_object(c, o, "holder", true, &j));
    push(c, "holder", saved);
    TRY(check_keys(c, j, keys));
    TRY(get_mrz(c, j, "document_type", 1, 2, false, true, h->document_type));
    if (h->document_type[0] == '<')
        return fail(c, PERSONA_ERR_FORMAT, "document_type");
    TRY(get_mrz(c, j, "issuing_state", 3, 3, false, true, h->issuing_state));
    TRY(get_mrz(c, j, "document_number", 1, PERSONA_DOCNUM_MAX, true, true, h->document_number));
    TRY(get_mrz(c, j, "surname", 1, PERSONA_NAME_MAX, false, true, h->surname));
    if (h->surname[0] == '<')
        return fail(c, PERSONA_ERR_FORMAT, "surname");
    TRY(get_mrz(c, j, "given_names", 0, PERSONA_NAME_MAX, false, true, h->given_names));
    TRY(get_utf8(c, j, "surname_utf8", PERSONA_UTF8_NAME_MAX, h->surname_utf8));
    TRY(get_utf8(c, j, "given_names_utf8", PERSONA_UTF8_NAME_MAX, h->given_names_utf8));
    TRY(get_mrz(c, j, "nationality", 3, 3, false, true, h->nationality));
    TRY(get_date(c, j, "birth_date", h->birth_date));
    const char *s;
    TRY(get_string(c, j, "sex", true, &s));
    if (strcmp(s, "M") != 0 && strcmp(s, "F") != 0 && strcmp(s, "<") != 0)
        return fail(c, PERSONA_ERR_FORMAT, "sex");
    h->sex = s[0];
    TRY(get_date(c, j, "expiry_date", h->expiry_date));
    TRY(get_string(c, j, "can", true, &s));
    if (strlen(s) != 6 || !digits_only(s, 6))
        return fail(c, PERSONA_ERR_FORMAT, "can");
    memcpy(h->can, s, 7);
    TRY(get_mrz(c, j, "optional_data", 0, PERSONA_OPTDATA_MAX, true, true, h->optional_data));
    pop(c, saved);
    return PERSONA_OK;
}

static enum persona_err parse_flags(struct ctx *c, const cJSON *o, struct persona *p)
{
    static const char *const keys[] = {"expired", "wrong_dg_hash", "bad_aa_key", "bac_only", NULL};
    const cJSON *j;
    char saved[sizeof c->field];
    TRY(get_object(c, o, "flags", false, &j));
    if (!j)
        return PERSONA_OK;
    push(c, "flags", saved);
    TRY(check_keys(c, j, keys));
    TRY(get_bool(c, j, "expired", &p->flags.expired));
    TRY(get_bool(c, j, "wrong_dg_hash", &p->flags.wrong_dg_hash));
    TRY(get_bool(c, j, "bad_aa_key", &p->flags.bad_aa_key));
    TRY(get_bool(c, j, "bac_only", &p->flags.bac_only));
    pop(c, saved);
    return PERSONA_OK;
}

static enum persona_err parse_file(struct ctx *c, const cJSON *f, struct persona *p,
                                   struct vfs_file_spec *spec)
{
    static const char *const keys[] = {"name",   "path", "fid",      "sfi",
                                       "access", "data", "generate", NULL};
    const char *s;
    size_t n;

    if (!cJSON_IsObject(f))
        return fail(c, PERSONA_ERR_TYPE, "");
    TRY(check_keys(c, f, keys));
    TRY(get_string(c, f, "name", false, &s));
    if (s && strlen(s) > 32)
        return fail(c, PERSONA_ERR_RANGE, "name");

    const cJSON *path = get(f, "path");
    if (path) {
        if (!cJSON_IsArray(path))
            return fail(c, PERSONA_ERR_TYPE, "path");
        if (cJSON_GetArraySize(path) > VFS_PATH_MAX)
            return fail(c, PERSONA_ERR_RANGE, "path");
        for (const cJSON *it = path->child; it; it = it->next) {
            struct vfs_df_ref *r = &spec->path[spec->depth];
            if (!cJSON_IsString(it))
                return fail(c, PERSONA_ERR_TYPE, "path");
            TRY(get_hex(c, "path", it->valuestring, r->id, 2, sizeof r->id, &n, PERSONA_ERR_RANGE));
            /* A FID is 2 bytes; an AID (DF name) 5..16 (7816-4 §8.2.1.2). */
            if (n != 2 && n < VFS_AID_MIN)
                return fail(c, PERSONA_ERR_RANGE, "path");
            r->len = (uint8_t)n;
            spec->depth++;
        }
    }

    uint8_t fid[2];
    TRY(get_string(c, f, "fid", true, &s));
    TRY(get_hex(c, "fid", s, fid, 2, 2, &n, PERSONA_ERR_RANGE));
    spec->fid = (uint16_t)(fid[0] << 8 | fid[1]);

    uint32_t sfi = 0;
    TRY(get_uint(c, f, "sfi", 1, 30, false, &sfi));
    spec->sfi = (uint8_t)sfi;

    spec->ac = VFS_AC_ALWAYS;
    TRY(get_string(c, f, "access", false, &s));
    if (s) {
        if (strcmp(s, "always") == 0)
            spec->ac = VFS_AC_ALWAYS;
        else if (strcmp(s, "sm") == 0)
            spec->ac = VFS_AC_SM;
        else if (strcmp(s, "never") == 0)
            spec->ac = VFS_AC_NEVER;
        else
            return fail(c, PERSONA_ERR_FORMAT, "access");
    }

    const char *data;
    const cJSON *gen;
    TRY(get_string(c, f, "data", false, &data));
    TRY(get_object(c, f, "generate", false, &gen));
    if ((data == NULL) == (gen == NULL))
        return fail(c, data ? PERSONA_ERR_FORMAT : PERSONA_ERR_MISSING, "data");
    spec->offset = p->pool_len;
    size_t room = PERSONA_POOL_MAX - p->pool_len;
    if (data) {
        TRY(get_hex(c, "data", data, p->pool + p->pool_len, 0, room, &n, PERSONA_ERR_NO_SPACE));
    } else {
        static const char *const gkeys[] = {"size", "pattern", NULL};
        char saved[sizeof c->field];
        uint32_t size;
        push(c, "generate", saved);
        TRY(check_keys(c, gen, gkeys));
        TRY(get_uint(c, gen, "size", 0, PERSONA_POOL_MAX, true, &size));
        TRY(get_string(c, gen, "pattern", true, &s));
        if (strcmp(s, "counter") != 0 && strcmp(s, "zero") != 0)
            return fail(c, PERSONA_ERR_FORMAT, "pattern");
        if (size > room)
            return fail(c, PERSONA_ERR_NO_SPACE, "size");
        /* "counter": byte i is i mod 256, so any read shows its own offset. */
        for (size_t i = 0; i < size; i++)
            p->pool[p->pool_len + i] = s[0] == 'c' ? (uint8_t)i : 0;
        n = size;
        pop(c, saved);
    }
    spec->size = n;
    p->pool_len += n;
    return PERSONA_OK;
}

static enum persona_err parse_files(struct ctx *c, const cJSON *o, struct persona *p)
{
    const cJSON *files = get(o, "files");
    char saved[sizeof c->field];
    if (!files)
        return PERSONA_OK;
    if (!cJSON_IsArray(files))
        return fail(c, PERSONA_ERR_TYPE, "files");
    if (cJSON_GetArraySize(files) > PERSONA_MAX_FILES)
        return fail(c, PERSONA_ERR_RANGE, "files");
    size_t i = 0;
    for (const cJSON *f = files->child; f; f = f->next, i++) {
        char name[24];
        snprintf(name, sizeof name, "files[%zu]", i);
        push(c, name, saved);
        TRY(parse_file(c, f, p, &p->files[i]));
        pop(c, saved);
        p->n_files = i + 1;
    }
    /* The files must make a file system: no clashing FIDs, SFIs or DF names. */
    struct vfs v;
    size_t bad = 0;
    if (vfs_build(&v, p->files, p->n_files, p->pool, &bad) != VFS_OK) {
        char name[24];
        snprintf(name, sizeof name, "files[%zu]", bad);
        return fail(c, PERSONA_ERR_FILES, name);
    }
    return PERSONA_OK;
}

static bool id_valid(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > PERSONA_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
              s[i] == '_'))
            return false;
    return true;
}

/* "interfaces": ["contact", "contactless"] in any order, at least one. */
static enum persona_err parse_interfaces(struct ctx *c, const cJSON *o, struct persona *p)
{
    const cJSON *it = get(o, "interfaces");
    p->contact = true;
    p->contactless = false;
    if (!it)
        return PERSONA_OK;
    if (!cJSON_IsArray(it))
        return fail(c, PERSONA_ERR_TYPE, "interfaces");
    p->contact = false;
    int n = 0;
    for (const cJSON *e = it->child; e; e = e->next, n++) {
        if (!cJSON_IsString(e))
            return fail(c, PERSONA_ERR_TYPE, "interfaces");
        bool *slot = !strcmp(e->valuestring, "contact")       ? &p->contact
                     : !strcmp(e->valuestring, "contactless") ? &p->contactless
                                                              : NULL;
        if (!slot || *slot)
            return fail(c, PERSONA_ERR_FORMAT, "interfaces");
        *slot = true;
    }
    if (n == 0)
        return fail(c, PERSONA_ERR_RANGE, "interfaces");
    return PERSONA_OK;
}

static enum persona_err get_hex_exact(struct ctx *c, const cJSON *o, const char *key, uint8_t *out,
                                      size_t min, size_t cap, size_t *n)
{
    const char *s;
    TRY(get_string(c, o, key, true, &s));
    return get_hex(c, key, s, out, min, cap, n, PERSONA_ERR_RANGE);
}

/* ISO/IEC 14443-3 6.5.4 / 14443-4 5.2 (Type A), 14443-3 7.9 (Type B). */
static enum persona_err parse_contactless(struct ctx *c, const cJSON *o, struct persona *p)
{
    static const char *const keys_a[] = {"type", "atqa", "uid", "sak", "ats", NULL};
    static const char *const keys_b[] = {"type", "pupi", "app_data", "protocol_info", "mbli", NULL};
    const cJSON *j;
    char saved[sizeof c->field];
    TRY(get_object(c, o, "contactless", p->contactless, &j));
    if (!j)
        return PERSONA_OK;
    if (!p->contactless)
        return fail(c, PERSONA_ERR_FORMAT, "contactless"); /* not among the interfaces */
    push(c, "contactless", saved);
    struct persona_contactless *cl = &p->cl;
    const char *type;
    size_t n;
    TRY(get_string(c, j, "type", true, &type));
    if (!strcmp(type, "A")) {
        cl->type = ISO14443_A;
        TRY(check_keys(c, j, keys_a));
        TRY(get_hex_exact(c, j, "atqa", cl->atqa, 2, 2, &n));
        unsigned bf = cl->atqa[0] & 0x1F;
        size_t size_code = cl->atqa[0] >> 6;
        if (bf == 0 || (bf & (bf - 1)) != 0 || size_code == 3)
            return fail(c, PERSONA_ERR_FORMAT, "atqa");
        TRY(get_hex_exact(c, j, "uid", cl->uid, 4, sizeof cl->uid, &cl->uid_len));
        /* the UID size the ATQA announces (6.3.2: 4, 7, 10 bytes); a single
         * size UID never starts with the cascade tag 88 */
        if (cl->uid_len != 4 + 3 * size_code || (cl->uid_len == 4 && cl->uid[0] == 0x88))
            return fail(c, PERSONA_ERR_FORMAT, "uid");
        TRY(get_hex_exact(c, j, "sak", &cl->sak, 1, 1, &n));
        if (cl->sak & ISO14443A_SAK_CASCADE)
            return fail(c, PERSONA_ERR_FORMAT, "sak");
        TRY(get_hex_exact(c, j, "ats", cl->ats, 1, sizeof cl->ats, &cl->ats_len));
        struct iso14443a_ats ats;
        if (iso14443a_ats_parse(cl->ats, cl->ats_len, &ats) != ISO14443_OK)
            return fail(c, PERSONA_ERR_FORMAT, "ats");
        if (!(cl->sak & ISO14443A_SAK_ISO_DEP))
            return fail(c, PERSONA_ERR_FORMAT, "sak"); /* an eID speaks 14443-4 */
    } else if (!strcmp(type, "B")) {
        cl->type = ISO14443_B;
        TRY(check_keys(c, j, keys_b));
        TRY(get_hex_exact(c, j, "pupi", cl->pupi, 4, 4, &n));
        TRY(get_hex_exact(c, j, "app_data", cl->app_data, 4, 4, &n));
        TRY(get_hex_exact(c, j, "protocol_info", cl->proto, 3, 4, &cl->proto_len));
        uint8_t q[13] = {ISO14443B_ATQB};
        memcpy(q + 1, cl->pupi, 4);
        memcpy(q + 5, cl->app_data, 4);
        memcpy(q + 9, cl->proto, cl->proto_len);
        struct iso14443b_atqb atqb;
        if (iso14443b_atqb_parse(q, 9 + cl->proto_len, &atqb) != ISO14443_OK || !atqb.iso_dep)
            return fail(c, PERSONA_ERR_FORMAT, "protocol_info");
        uint32_t mbli = 0;
        TRY(get_uint(c, j, "mbli", 0, 15, false, &mbli));
        cl->mbli = (uint8_t)mbli;
    } else {
        return fail(c, PERSONA_ERR_FORMAT, "type");
    }
    pop(c, saved);
    return PERSONA_OK;
}

static enum persona_err parse_persona(struct ctx *c, const cJSON *o, struct persona *p)
{
    static const char *const keys[] = {"id",    "description", "atr",         "protocols",
                                       "apdu",  "timing",      "holder",      "flags",
                                       "files", "interfaces",  "contactless", NULL};
    const char *s;
    TRY(check_keys(c, o, keys));
    TRY(get_string(c, o, "description", true, &s));
    if (strlen(s) > PERSONA_DESC_MAX)
        return fail(c, PERSONA_ERR_RANGE, "description");
    memcpy(p->description, s, strlen(s) + 1);
    TRY(parse_atr(c, o, p));
    TRY(parse_interfaces(c, o, p));
    TRY(parse_contactless(c, o, p));
    TRY(parse_apdu(c, o, p));
    TRY(parse_timing(c, o, p));
    TRY(parse_holder(c, o, p));
    TRY(parse_flags(c, o, p));
    TRY(parse_files(c, o, p));
    return PERSONA_OK;
}

/*
 * Checks the top level and every persona's id; returns the personas array.
 * c->field is left empty; on error diag names the offending item.
 */
static enum persona_err parse_top(struct ctx *c, const cJSON *root, const cJSON **personas)
{
    static const char *const keys[] = {"version", "personas", NULL};
    if (!cJSON_IsObject(root))
        return fail(c, PERSONA_ERR_SCHEMA, "");
    TRY(check_keys(c, root, keys));
    uint32_t version;
    TRY(get_uint(c, root, "version", 1, 1, true, &version));
    *personas = get(root, "personas");
    if (!*personas)
        return fail(c, PERSONA_ERR_SCHEMA, "personas");
    if (!cJSON_IsArray(*personas) || cJSON_GetArraySize(*personas) < 1)
        return fail(c, PERSONA_ERR_SCHEMA, "personas");
    size_t i = 0;
    for (const cJSON *o = (*personas)->child; o; o = o->next, i++) {
        char name[32];
        snprintf(name, sizeof name, "personas[%zu]", i);
        if (!cJSON_IsObject(o))
            return fail(c, PERSONA_ERR_TYPE, name);
        const cJSON *id = get(o, "id");
        if (!id)
            return fail(c, PERSONA_ERR_MISSING, strcat(name, ".id"));
        if (!cJSON_IsString(id))
            return fail(c, PERSONA_ERR_TYPE, strcat(name, ".id"));
        if (!id_valid(id->valuestring))
            return fail(c, PERSONA_ERR_FORMAT, strcat(name, ".id"));
        for (const cJSON *q = (*personas)->child; q != o; q = q->next) {
            const cJSON *qid = get(q, "id");
            if (strcmp(qid->valuestring, id->valuestring) == 0) {
                snprintf(c->diag->id, sizeof c->diag->id, "%s", id->valuestring);
                return fail(c, PERSONA_ERR_DUPLICATE_ID, "id");
            }
        }
    }
    return PERSONA_OK;
}

static cJSON *parse_json(const char *json, size_t len, struct ctx *c)
{
    cJSON *root = cJSON_ParseWithLength(json, len);
    if (!root)
        fail(c, PERSONA_ERR_JSON, "");
    return root;
}

enum persona_err persona_load_json(const char *json, size_t len, const char *id,
                                   struct persona *out, struct persona_diag *diag)
{
    struct persona_diag local;
    struct ctx c = {.diag = diag ? diag : &local};
    memset(c.diag, 0, sizeof *c.diag);
    memset(out, 0, sizeof *out);

    cJSON *root = parse_json(json, len, &c);
    if (!root)
        return c.diag->err;
    const cJSON *personas = NULL;
    enum persona_err e = parse_top(&c, root, &personas);
    if (e == PERSONA_OK) {
        e = fail(&c, PERSONA_ERR_NOT_FOUND, "id");
        snprintf(c.diag->id, sizeof c.diag->id, "%s", id ? id : "");
        for (const cJSON *o = personas->child; o; o = o->next) {
            const cJSON *oid = get(o, "id");
            if (!id || strcmp(oid->valuestring, id) != 0)
                continue;
            memset(c.diag, 0, sizeof *c.diag);
            snprintf(c.diag->id, sizeof c.diag->id, "%s", id);
            memcpy(out->id, id, strlen(id) + 1);
            e = parse_persona(&c, o, out);
            break;
        }
    }
    cJSON_Delete(root);
    if (e != PERSONA_OK)
        memset(out, 0, sizeof *out);
    else
        memset(c.diag, 0, sizeof *c.diag);
    return e;
}

enum persona_err persona_list_json(const char *json, size_t len, char (*ids)[PERSONA_ID_MAX + 1],
                                   size_t cap, size_t *n, struct persona_diag *diag)
{
    struct persona_diag local;
    struct ctx c = {.diag = diag ? diag : &local};
    memset(c.diag, 0, sizeof *c.diag);
    *n = 0;
    cJSON *root = parse_json(json, len, &c);
    if (!root)
        return c.diag->err;
    const cJSON *personas = NULL;
    enum persona_err e = parse_top(&c, root, &personas);
    if (e == PERSONA_OK)
        for (const cJSON *o = personas->child; o; o = o->next, (*n)++)
            if (*n < cap)
                snprintf(ids[*n], PERSONA_ID_MAX + 1, "%s", get(o, "id")->valuestring);
    cJSON_Delete(root);
    return e;
}

enum persona_err persona_load_file(const char *path, const char *id, struct persona *out,
                                   struct persona_diag *diag)
{
    struct persona_diag local;
    struct persona_diag *d = diag ? diag : &local;
    memset(d, 0, sizeof *d);
    memset(out, 0, sizeof *out);
    snprintf(d->id, sizeof d->id, "%s", id ? id : "");
    snprintf(d->field, sizeof d->field, "%s", "(file)");

    FILE *fp = fopen(path, "rb");
    if (!fp) {
        d->err = PERSONA_ERR_IO;
        return d->err;
    }
    char *buf = malloc(PERSONA_FILE_MAX_JSON + 1);
    size_t len = buf ? fread(buf, 1, PERSONA_FILE_MAX_JSON + 1, fp) : 0;
    bool io_error = !buf || ferror(fp);
    fclose(fp);
    if (io_error) {
        free(buf);
        d->err = PERSONA_ERR_IO;
        return d->err;
    }
    if (len > PERSONA_FILE_MAX_JSON) {
        free(buf);
        d->err = PERSONA_ERR_TOO_BIG;
        return d->err;
    }
    enum persona_err e = persona_load_json(buf, len, id, out, d);
    free(buf);
    return e;
}

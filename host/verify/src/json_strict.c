/*
 * The assertion's JSON text checked before cJSON sees it: RFC 8259 and
 * nothing more (cJSON 1.7 takes a byte-order mark, raw control characters
 * in strings, invalid UTF-8, "01", "1.", leading "+"...), and of RFC 8259
 * only one spelling of each value, the one hv_assertion_build() writes:
 *   - numbers: non-negative integers, "0" or a digit 1-9 then digits, at
 *     most 16 digits (no sign, fraction, exponent: no "1.0", "1e0", "01", "-0");
 *   - strings: UTF-8 (RFC 3629: no overlong form, no surrogate, nothing past
 *     U+10FFFF) written as itself; the only escapes are \" \\ \b \f \n \r \t
 *     and \u00XX in lower-case hex for the other control characters (so no
 *     "\/", no "\u0041", no \u0000 at all);
 *   - no member name twice in one object (compared as written, which with
 *     one spelling per string is compared as decoded);
 *   - no byte-order mark, nesting at most HVI_JSON_MAX_DEPTH.
 * Whitespace between tokens (RFC 8259 §2) is allowed: it spells no value.
 *
 * The same scanner checks the requests on hawiya-bridge's socket
 * (json_strict.h, JSON_ANY_SPELLING): RFC 8259 in any of its spellings
 * (numbers with sign, fraction and exponent, \/ and \uXXXX in either case,
 * surrogate pairs), but still valid UTF-8 only, no \u0000 (which cJSON
 * would cut a string at), no unpaired surrogate, no raw control character,
 * no member name twice in an object (compared decoded), bounded nesting.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "json_strict.h"

struct scan {
    const uint8_t *start, *p, *end;
    char *why;
    size_t cap;
    size_t depth;
    bool any; /* JSON_ANY_SPELLING */
};

static bool bad(struct scan *s, const char *what)
{
    if (s->why && s->cap)
        snprintf(s->why, s->cap, "%s at byte %zu", what, (size_t)(s->p - s->start));
    return false;
}

static void skip_ws(struct scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

/* One UTF-8 sequence (RFC 3629 §4) at s->p of at least 2 bytes; advances past it. */
static bool utf8_seq(struct scan *s)
{
    const uint8_t *p = s->p;
    size_t left = (size_t)(s->end - p);
    uint8_t c = p[0];
    size_t n;
    uint8_t lo = 0x80, hi = 0xBF; /* the range of the second byte */
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0; /* overlong */
        if (c == 0xED)
            hi = 0x9F; /* UTF-16 surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90; /* overlong */
        if (c == 0xF4)
            hi = 0x8F; /* past U+10FFFF */
    } else
        return false;
    if (left < n || p[1] < lo || p[1] > hi)
        return false;
    for (size_t i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xBF)
            return false;
    s->p += n;
    return true;
}

static bool lower_hex(uint8_t c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static bool any_hex(uint8_t c)
{
    return lower_hex(c) || (c >= 'A' && c <= 'F');
}

static int hex_val(uint8_t c)
{
    return c <= '9' ? c - '0' : c >= 'a' ? c - 'a' + 10 : c - 'A' + 10;
}

/* \uXXXX at p (any case); -1 if it is not one. */
static long u_escape(const uint8_t *p, const uint8_t *end)
{
    if (end - p < 6 || p[0] != '\\' || p[1] != 'u' || !any_hex(p[2]) || !any_hex(p[3]) ||
        !any_hex(p[4]) || !any_hex(p[5]))
        return -1;
    return hex_val(p[2]) << 12 | hex_val(p[3]) << 8 | hex_val(p[4]) << 4 | hex_val(p[5]);
}

/* RFC 8259 §7 escapes in any spelling; advances past one (a surrogate pair is one). */
static bool any_escape(struct scan *s)
{
    uint8_t e = s->p[1];
    if (e != 'u') {
        if (!strchr("\"\\/bfnrt", e) || e == '\0')
            return bad(s, "an escape RFC 8259 does not have");
        s->p += 2;
        return true;
    }
    long v = u_escape(s->p, s->end);
    if (v < 0)
        return bad(s, "\\u not followed by four hex digits");
    if (v == 0)
        return bad(s, "\\u0000 (a NUL) in a string");
    if (v >= 0xDC00 && v <= 0xDFFF)
        return bad(s, "an unpaired low surrogate");
    if (v >= 0xD800 && v <= 0xDBFF) {
        long lo = u_escape(s->p + 6, s->end);
        if (lo < 0xDC00 || lo > 0xDFFF)
            return bad(s, "an unpaired high surrogate");
        s->p += 12;
        return true;
    }
    s->p += 6;
    return true;
}

/* A string at s->p (the opening quote); start/len receive its raw content. */
static bool string(struct scan *s, const uint8_t **start, size_t *len)
{
    s->p++;
    const uint8_t *b = s->p;
    while (s->p < s->end && *s->p != '"') {
        uint8_t c = *s->p;
        if (c < 0x20)
            return bad(s, "a raw control character in a string");
        if (c == '\\') {
            if (s->end - s->p < 2)
                return bad(s, "a string ends inside an escape");
            if (s->any) {
                if (!any_escape(s))
                    return false;
                continue;
            }
            uint8_t e = s->p[1];
            if (strchr("\"\\bfnrt", e) && e != '\0') {
                s->p += 2;
                continue;
            }
            if (e != 'u')
                return bad(s, "an escape other than \\\" \\\\ \\b \\f \\n \\r \\t \\u00XX");
            if (s->end - s->p < 6 || !lower_hex(s->p[2]) || !lower_hex(s->p[3]) ||
                !lower_hex(s->p[4]) || !lower_hex(s->p[5]))
                return bad(s, "\\u not followed by four lower-case hex digits");
            int v = hex_val(s->p[2]) << 12 | hex_val(s->p[3]) << 8 | hex_val(s->p[4]) << 4 |
                    hex_val(s->p[5]);
            /* Only a control character without a short escape is written \u00XX. */
            if (v == 0)
                return bad(s, "\\u0000 (a NUL) in a string");
            if (v >= 0x20)
                return bad(s, "a \\u escape for a character written as itself (UTF-8)");
            if (v == '\b' || v == '\f' || v == '\n' || v == '\r' || v == '\t')
                return bad(s, "a \\u escape for a character that has a short escape");
            s->p += 6;
            continue;
        }
        if (c < 0x80) {
            s->p++;
            continue;
        }
        if (!utf8_seq(s))
            return bad(s, "invalid UTF-8");
    }
    if (s->p >= s->end)
        return bad(s, "an unterminated string");
    *start = b;
    *len = (size_t)(s->p - b);
    s->p++;
    return true;
}

/* RFC 8259 §6: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? */
static bool any_number(struct scan *s)
{
    const uint8_t *b = s->p;
    if (s->p < s->end && *s->p == '-')
        s->p++;
    const uint8_t *d = s->p;
    while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
        s->p++;
    if (s->p == d)
        return bad(s, "not a JSON value");
    if (s->p - d > 1 && *d == '0')
        return bad(s, "a number with a leading zero");
    if (s->p < s->end && *s->p == '.') {
        const uint8_t *f = ++s->p;
        while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
            s->p++;
        if (s->p == f)
            return bad(s, "a fraction without digits");
    }
    if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
        s->p++;
        if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
            s->p++;
        const uint8_t *x = s->p;
        while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
            s->p++;
        if (s->p == x)
            return bad(s, "an exponent without digits");
    }
    if (s->p - b > 40)
        return bad(s, "a number of more than 40 characters");
    return true;
}

static bool number(struct scan *s)
{
    if (s->any)
        return any_number(s);
    const uint8_t *b = s->p;
    if (*s->p == '-')
        return bad(s, "a negative number");
    while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
        s->p++;
    size_t n = (size_t)(s->p - b);
    if (n == 0)
        return bad(s, "not a JSON value");
    if (n > 1 && b[0] == '0')
        return bad(s, "a number with a leading zero");
    if (n > 16)
        return bad(s, "a number of more than 16 digits");
    if (s->p < s->end && (*s->p == '.' || *s->p == 'e' || *s->p == 'E'))
        return bad(s, "a number that is not an integer in its one spelling");
    return true;
}

static bool literal(struct scan *s, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
        return bad(s, "not a JSON value");
    s->p += n;
    return true;
}

static bool value(struct scan *s);

/* Member names seen in one object, as written (at most HVI_JSON_MAX_MEMBERS). */
struct names {
    const uint8_t *p[HVI_JSON_MAX_MEMBERS];
    size_t n[HVI_JSON_MAX_MEMBERS];
    size_t count;
};

/* The next code point of a checked string's raw content (escapes decoded). */
static long next_cp(const uint8_t **p, const uint8_t *end)
{
    if (**p != '\\') {
        uint8_t c = *(*p)++;
        if (c < 0x80)
            return c;
        int n = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : 1;
        long v = c & (0x3F >> n);
        while (n-- > 0 && *p < end)
            v = v << 6 | (*(*p)++ & 0x3F);
        return v;
    }
    uint8_t e = (*p)[1];
    if (e != 'u') {
        *p += 2;
        static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
        return to[strchr(from, e) - from];
    }
    long v = u_escape(*p, end);
    *p += 6;
    if (v >= 0xD800 && v <= 0xDBFF) {
        long lo = u_escape(*p, end);
        *p += 6;
        v = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00);
    }
    return v;
}

/* Two checked member names equal once decoded ("a" and "\u0061" are one name). */
static bool same_name(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    const uint8_t *ae = a + an, *be = b + bn;
    while (a < ae && b < be)
        if (next_cp(&a, ae) != next_cp(&b, be))
            return false;
    return a == ae && b == be;
}

static bool object(struct scan *s)
{
    struct names seen;
    seen.count = 0;
    s->p++;
    skip_ws(s);
    if (s->p < s->end && *s->p == '}') {
        s->p++;
        return true;
    }
    for (;;) {
        const uint8_t *k;
        size_t kn;
        if (s->p >= s->end || *s->p != '"')
            return bad(s, "an object member without a string name");
        if (!string(s, &k, &kn))
            return false;
        for (size_t i = 0; i < seen.count; i++)
            if (s->any ? same_name(seen.p[i], seen.n[i], k, kn)
                       : seen.n[i] == kn && memcmp(seen.p[i], k, kn) == 0)
                return bad(s, "a member name twice in one object");
        if (seen.count == HVI_JSON_MAX_MEMBERS)
            return bad(s, "too many members in one object");
        seen.p[seen.count] = k;
        seen.n[seen.count++] = kn;
        skip_ws(s);
        if (s->p >= s->end || *s->p != ':')
            return bad(s, "a member name without ':'");
        s->p++;
        if (!value(s))
            return false;
        skip_ws(s);
        if (s->p < s->end && *s->p == ',') {
            s->p++;
            skip_ws(s);
            continue;
        }
        if (s->p < s->end && *s->p == '}') {
            s->p++;
            return true;
        }
        return bad(s, "an object not closed by '}'");
    }
}

static bool array(struct scan *s)
{
    s->p++;
    skip_ws(s);
    if (s->p < s->end && *s->p == ']') {
        s->p++;
        return true;
    }
    for (;;) {
        if (!value(s))
            return false;
        skip_ws(s);
        if (s->p < s->end && *s->p == ',') {
            s->p++;
            continue;
        }
        if (s->p < s->end && *s->p == ']') {
            s->p++;
            return true;
        }
        return bad(s, "an array not closed by ']'");
    }
}

static bool value(struct scan *s)
{
    skip_ws(s);
    if (s->p >= s->end)
        return bad(s, "a value missing");
    const uint8_t *k;
    size_t kn;
    bool ok;
    switch (*s->p) {
    case '{':
    case '[':
        if (++s->depth > HVI_JSON_MAX_DEPTH)
            return bad(s, "nested too deep");
        ok = *s->p == '{' ? object(s) : array(s);
        s->depth--;
        return ok;
    case '"': return string(s, &k, &kn);
    case 't': return literal(s, "true");
    case 'f': return literal(s, "false");
    case 'n': return literal(s, "null");
    default: return number(s);
    }
}

bool hvi_json_strict(const char *text, size_t len, char *why, size_t cap)
{
    return json_strict_check(text, len, JSON_ONE_SPELLING, why, cap);
}

bool json_strict_check(const char *text, size_t len, enum json_spelling sp, char *why, size_t cap)
{
    struct scan s = {
        (const uint8_t *)text,  (const uint8_t *)text, (const uint8_t *)text + len, why, cap, 0,
        sp == JSON_ANY_SPELLING};
    if (why && cap)
        why[0] = '\0';
    if (!text)
        return false;
    if (len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3))
        return bad(&s, "a byte-order mark");
    if (!value(&s))
        return false;
    skip_ws(&s);
    if (s.p != s.end)
        return bad(&s, "bytes after the JSON value");
    return true;
}

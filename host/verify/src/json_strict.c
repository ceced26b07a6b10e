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
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

struct scan {
    const uint8_t *start, *p, *end;
    char *why;
    size_t cap;
    size_t depth;
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

static int hex_val(uint8_t c)
{
    return c <= '9' ? c - '0' : c - 'a' + 10;
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
            if (v == 0 || v >= 0x20 || v == '\b' || v == '\f' || v == '\n' || v == '\r' ||
                v == '\t')
                return bad(s, "a \\u escape for a character that has another spelling");
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

static bool number(struct scan *s)
{
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
            if (seen.n[i] == kn && memcmp(seen.p[i], k, kn) == 0)
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
    struct scan s = {
        (const uint8_t *)text, (const uint8_t *)text, (const uint8_t *)text + len, why, cap, 0};
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

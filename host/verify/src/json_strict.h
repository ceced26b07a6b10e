/*
 * json_strict: a JSON text checked against RFC 8259 before cJSON parses it
 * (cJSON 1.7 accepts a byte-order mark, raw control characters, invalid
 * UTF-8, "01", "1.", and cuts a string at \u0000). Two sets of rules
 * (json_strict.c): JSON_ONE_SPELLING for the assertion (one spelling per
 * value, as hv_assertion_build writes it) and JSON_ANY_SPELLING for the
 * requests on hawiya-bridge's socket (any RFC 8259 spelling, still valid
 * UTF-8, no \u0000, no unpaired surrogate, no name twice in an object).
 * Nesting at most 8 levels, objects at most 32 members.
 */
#ifndef HAWIYA_JSON_STRICT_H
#define HAWIYA_JSON_STRICT_H

#include <stdbool.h>
#include <stddef.h>

enum json_spelling { JSON_ONE_SPELLING, JSON_ANY_SPELLING };

/* true if text[0..len) is one JSON value under the rules; else false with
 * the first reason (and its byte offset) in why (may be NULL). */
bool json_strict_check(const char *text, size_t len, enum json_spelling sp, char *why, size_t cap);

#endif

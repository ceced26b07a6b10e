/*
 * base64: RFC 4648 §5 "base64url" decoding, as the platform's challenge
 * travels (docs/bridge-protocol.md, docs/assertion.md). Padding is optional
 * (§3.2) and, when present, must complete the last quantum; only the
 * canonical encoding is accepted (§3.5: no stray low bits), so one challenge
 * has exactly one text.
 */
#ifndef HAWIYA_BASE64_H
#define HAWIYA_BASE64_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Decodes s[0..len) into out[0..cap); false on a bad character, length,
 * non-canonical text or when the result does not fit. */
bool base64url_decode(const char *s, size_t len, uint8_t *out, size_t cap, size_t *n);

#endif

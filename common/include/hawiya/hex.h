/*
 * hex: hexadecimal text <-> bytes, for the CLI, the data files and the tests.
 *
 * Decoding accepts upper or lower case and ignores spaces, tabs, ':' and '-'
 * between bytes, so ATRs pasted from pcsc_scan or the pcsc-tools list
 * ("3B 8E 80 01 ...") decode as they are.
 */
#ifndef HAWIYA_HEX_H
#define HAWIYA_HEX_H

#include <stddef.h>
#include <stdint.h>

enum hex_err {
    HEX_OK = 0,
    HEX_ERR_ODD_DIGITS, /* a byte with only one hex digit */
    HEX_ERR_BAD_CHAR,   /* a character that is neither a hex digit nor a separator */
    HEX_ERR_TOO_LONG,   /* more bytes than the output buffer holds */
};

const char *hex_err_str(enum hex_err e);

/* Decodes up to `len` characters of `text` (stops early at a NUL) into `out`. */
enum hex_err hex_decode(const char *text, size_t len, uint8_t *out, size_t cap, size_t *out_len);

/* Writes 2*n upper-case digits and a NUL; `out` must hold 2*n+1 characters. */
void hex_encode(const uint8_t *in, size_t n, char *out);

#endif

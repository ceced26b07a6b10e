/*
 * apdu: command and response APDUs of ISO/IEC 7816-4 §5.1 (command-response
 * pairs, short and extended length fields) and the status words SW1-SW2 of
 * §5.6 (Tables 5 and 6).
 *
 * apdu_decode() detects the case from the length of the body exactly as §5.1
 * does; apdu_encode() writes the canonical encoding (short fields whenever
 * Nc <= 255 and Ne <= 256, unless `extended` asks for extended ones), so a
 * decode followed by an encode reproduces any well-formed command.
 */
#ifndef HAWIYA_APDU_H
#define HAWIYA_APDU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define APDU_HEADER_LEN  4     /* CLA INS P1 P2 */
#define APDU_NC_MAX      65535 /* extended Lc: 1..65535 */
#define APDU_NE_SHORT    256   /* short Le 00 */
#define APDU_NE_MAX      65536 /* extended Le 00 00 */
#define APDU_ENCODED_MAX (APDU_HEADER_LEN + 3 + APDU_NC_MAX + 2)

enum apdu_err {
    APDU_OK = 0,
    APDU_ERR_TOO_SHORT,        /* fewer than 4 bytes (command) or 2 bytes (response) */
    APDU_ERR_LC_ZERO,          /* an Lc field encoding Nc = 0, which §5.1 forbids */
    APDU_ERR_LENGTH_MISMATCH,  /* the body length fits none of the cases of §5.1 */
    APDU_ERR_NC_TOO_LARGE,     /* Nc > 65535 */
    APDU_ERR_NE_TOO_LARGE,     /* Ne > 65536 */
    APDU_ERR_NULL_DATA,        /* Nc > 0 but no data pointer */
    APDU_ERR_BUFFER_TOO_SMALL, /* the output buffer cannot hold the encoding */
    APDU_ERR_BAD_SW,           /* SW1 is neither 61..6F nor 90..9F (§5.6) */
};

/* A command APDU (7816-4 §5.1). */
struct apdu {
    uint8_t cla, ins, p1, p2;
    const uint8_t *data; /* command data field, Nc bytes (may be NULL when nc == 0) */
    size_t nc;           /* 0..65535 */
    size_t ne;     /* expected response length: 0 = no Le field, else 1..65536 (256 short max) */
    bool extended; /* force extended length fields even when short ones would do */
};

/* The seven cases of §5.1 (Table 2): S = short length fields, E = extended. */
enum apdu_case {
    APDU_CASE_1,
    APDU_CASE_2S,
    APDU_CASE_3S,
    APDU_CASE_4S,
    APDU_CASE_2E,
    APDU_CASE_3E,
    APDU_CASE_4E
};

/* A response APDU: data field then the trailer SW1-SW2. */
struct rapdu {
    const uint8_t *data;
    size_t len;
    uint16_t sw;
};

const char *apdu_err_str(enum apdu_err e);

/* The case apdu_encode() would use for `a` (its length fields must be in range). */
enum apdu_case apdu_case_of(const struct apdu *a);

/* Writes the encoding of `a` to out[0..cap); on error *out_len is 0. */
enum apdu_err apdu_encode(const struct apdu *a, uint8_t *out, size_t cap, size_t *out_len);

/*
 * Parses in[0..len) into `a` (a->data points into `in`); `c` may be NULL.
 * a->extended is set for the E cases. On error `a` is zeroed.
 */
enum apdu_err apdu_decode(const uint8_t *in, size_t len, struct apdu *a, enum apdu_case *c);

/* Splits in[0..len) into data and SW1-SW2 (r->data points into `in`). */
enum apdu_err rapdu_decode(const uint8_t *in, size_t len, struct rapdu *r);

/* Writes data[0..len) followed by SW1-SW2. `data` may alias `out` (memmove). */
enum apdu_err rapdu_encode(const uint8_t *data, size_t len, uint16_t sw, uint8_t *out, size_t cap,
                           size_t *out_len);

/*
 * A constant description of a status word, e.g. "6A82: file or application
 * not found", from §5.6 Tables 5 and 6 and the 61XX / 6CXX / 63CX families;
 * never NULL.
 */
const char *sw_str(uint16_t sw);

#endif

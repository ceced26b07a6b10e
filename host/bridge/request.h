/*
 * bridge request: the wire format of hawiya-bridge's local socket
 * (docs/bridge-protocol.md). One JSON object per line (RFC 8259), LF
 * terminated: {"id":..,"method":..,"params":{..}}; the answer is
 * {"id":..,"result":..} or {"id":..,"error":{"code":"..","message":".."}},
 * and a subscribed connection also gets {"event":..,..} lines.
 *
 * This module parses and validates one request line into a plain struct,
 * and builds answer lines. It does no I/O and keeps no state, so the fuzz
 * target (tests/fuzz/fuzz_bridge_request.c) can drive it directly. A
 * request's CAN, and the MRZ fields turned into the MRZ information of
 * ICAO 9303-11 §4.3 (for BAC-only documents), are copied into the struct
 * and wiped from the parsed JSON tree; bridge_request_clear() wipes them
 * from the struct.
 */
#ifndef HAWIYA_BRIDGE_REQUEST_H
#define HAWIYA_BRIDGE_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "hawiya/mrz.h"

/* A request line longer than this (without its LF) is TOO_LARGE. */
#define BRIDGE_LINE_MAX        65536u
#define BRIDGE_CHALLENGE_MIN   32u
#define BRIDGE_CHALLENGE_MAX   64u
#define BRIDGE_ORIGIN_MAX      256u
#define BRIDGE_READER_NAME_MAX 64u
#define BRIDGE_CAN_LEN         6u
#define BRIDGE_TIMEOUT_MAX_MS  600000u

/* Every error the bridge answers with; bridge_err_code() gives the wire code. */
enum bridge_err {
    BRIDGE_OK = 0,
    BRIDGE_ERR_BAD_JSON,
    BRIDGE_ERR_TOO_LARGE,
    BRIDGE_ERR_UNKNOWN_METHOD,
    BRIDGE_ERR_BAD_PARAMS,
    BRIDGE_ERR_ORIGIN_NOT_ALLOWED,
    BRIDGE_ERR_PEER_NOT_ALLOWED,
    BRIDGE_ERR_NO_READER,
    BRIDGE_ERR_READER_BUSY,
    BRIDGE_ERR_QUEUE_TIMEOUT,
    BRIDGE_ERR_CARD_REMOVED,
    BRIDGE_ERR_READER_ERROR,
    BRIDGE_ERR_TIMEOUT,
    BRIDGE_ERR_CANCELLED,
    BRIDGE_ERR_NOT_IMPLEMENTED,
    BRIDGE_ERR_INTERNAL,
    BRIDGE_ERR_CARD_AUTH_FAILED,   /* the card refused the CAN / MRZ (PACE or BAC) */
    BRIDGE_ERR_CARD_ERROR,         /* the card broke the protocol or lacks what is needed */
    BRIDGE_ERR_NO_CAN,             /* the reader has no keypad and no CAN was given */
    BRIDGE_ERR_TOO_MANY_CLIENTS,   /* no room for this connection (per uid, in all, descriptors) */
    BRIDGE_ERR_READER_TIMEOUT,     /* a reader call passed its deadline: the reader was reset */
    BRIDGE_ERR_READER_UNREACHABLE, /* the reader's link was down (or it did not answer) */
};

/* The enumerator's name, e.g. "BRIDGE_ERR_BAD_JSON". */
const char *bridge_err_str(enum bridge_err e);
/* The stable wire code, e.g. "BAD_JSON" (docs/bridge-protocol.md). */
const char *bridge_err_code(enum bridge_err e);

enum bridge_method {
    BRIDGE_M_VERSION,
    BRIDGE_M_READERS,
    BRIDGE_M_STATUS,
    BRIDGE_M_DIAGNOSE,
    BRIDGE_M_SUBSCRIBE,
    BRIDGE_M_CANCEL,
    BRIDGE_M_AUTHENTICATE,
};

const char *bridge_method_name(enum bridge_method m);

struct bridge_request {
    cJSON *id; /* a copy of the request's id (string or number); NULL when unusable */
    enum bridge_method method;
    /* cancel */
    cJSON *cancel_id;
    /* authenticate */
    uint8_t challenge[BRIDGE_CHALLENGE_MAX];
    size_t challenge_len;
    char origin[BRIDGE_ORIGIN_MAX + 1];
    char reader[BRIDGE_READER_NAME_MAX + 1]; /* "" = any reader */
    char can[BRIDGE_CAN_LEN + 1];            /* "" = none; a secret */
    char mrz_info[MRZ_BAC_INFO_MAX + 1]; /* "" = none; a secret: 9303-11 §4.3 MRZ information */
    uint32_t timeout_ms;                 /* 0 = the configured default */
};

/*
 * Parses line[0..len) (no LF). On an error, *req holds at most the id (so
 * the answer can carry it) and msg names the offending field. Either way
 * the caller calls bridge_request_clear().
 */
enum bridge_err bridge_request_parse(const char *line, size_t len, struct bridge_request *req,
                                     char *msg, size_t msg_cap);
/* Frees the ids and wipes the CAN and the MRZ information. */
void bridge_request_clear(struct bridge_request *req);

/*
 * Answer lines, LF terminated, from malloc (NULL when out of memory).
 * id may be NULL (answered as null). bridge_answer_result takes ownership
 * of result.
 */
char *bridge_answer_error(const cJSON *id, enum bridge_err e, const char *message);
char *bridge_answer_result(const cJSON *id, cJSON *result);

/* RFC 4648 §5 base64url, with or without '=' padding; false on a bad character or length. */
bool bridge_base64url_decode(const char *s, size_t len, uint8_t *out, size_t cap, size_t *n);

#endif

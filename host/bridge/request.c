#include "request.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hawiya/base64.h"
#include "hawiya/mrz.h"
#include "hawiya/wipe.h"
#include "json_strict.h"

const char *bridge_err_str(enum bridge_err e)
{
    switch (e) {
    case BRIDGE_OK: return "BRIDGE_OK";
    case BRIDGE_ERR_BAD_JSON: return "BRIDGE_ERR_BAD_JSON";
    case BRIDGE_ERR_TOO_LARGE: return "BRIDGE_ERR_TOO_LARGE";
    case BRIDGE_ERR_UNKNOWN_METHOD: return "BRIDGE_ERR_UNKNOWN_METHOD";
    case BRIDGE_ERR_BAD_PARAMS: return "BRIDGE_ERR_BAD_PARAMS";
    case BRIDGE_ERR_ORIGIN_NOT_ALLOWED: return "BRIDGE_ERR_ORIGIN_NOT_ALLOWED";
    case BRIDGE_ERR_PEER_NOT_ALLOWED: return "BRIDGE_ERR_PEER_NOT_ALLOWED";
    case BRIDGE_ERR_NO_READER: return "BRIDGE_ERR_NO_READER";
    case BRIDGE_ERR_READER_BUSY: return "BRIDGE_ERR_READER_BUSY";
    case BRIDGE_ERR_QUEUE_TIMEOUT: return "BRIDGE_ERR_QUEUE_TIMEOUT";
    case BRIDGE_ERR_CARD_REMOVED: return "BRIDGE_ERR_CARD_REMOVED";
    case BRIDGE_ERR_READER_ERROR: return "BRIDGE_ERR_READER_ERROR";
    case BRIDGE_ERR_TIMEOUT: return "BRIDGE_ERR_TIMEOUT";
    case BRIDGE_ERR_CANCELLED: return "BRIDGE_ERR_CANCELLED";
    case BRIDGE_ERR_NOT_IMPLEMENTED: return "BRIDGE_ERR_NOT_IMPLEMENTED";
    case BRIDGE_ERR_INTERNAL: return "BRIDGE_ERR_INTERNAL";
    case BRIDGE_ERR_CARD_AUTH_FAILED: return "BRIDGE_ERR_CARD_AUTH_FAILED";
    case BRIDGE_ERR_CARD_ERROR: return "BRIDGE_ERR_CARD_ERROR";
    case BRIDGE_ERR_NO_CAN: return "BRIDGE_ERR_NO_CAN";
    case BRIDGE_ERR_TOO_MANY_CLIENTS: return "BRIDGE_ERR_TOO_MANY_CLIENTS";
    case BRIDGE_ERR_READER_TIMEOUT: return "BRIDGE_ERR_READER_TIMEOUT";
    case BRIDGE_ERR_READER_UNREACHABLE: return "BRIDGE_ERR_READER_UNREACHABLE";
    }
    return "BRIDGE_ERR_UNKNOWN";
}

const char *bridge_err_code(enum bridge_err e)
{
    const char *s = bridge_err_str(e);
    if (e == BRIDGE_OK)
        return "OK";
    return s + strlen("BRIDGE_ERR_");
}

static const char *const method_names[] = {
    [BRIDGE_M_VERSION] = "version",
    [BRIDGE_M_READERS] = "readers",
    [BRIDGE_M_STATUS] = "status",
    [BRIDGE_M_DIAGNOSE] = "diagnose",
    [BRIDGE_M_SUBSCRIBE] = "subscribe",
    [BRIDGE_M_CANCEL] = "cancel",
    [BRIDGE_M_AUTHENTICATE] = "authenticate",
};

const char *bridge_method_name(enum bridge_method m)
{
    if ((size_t)m < sizeof method_names / sizeof method_names[0])
        return method_names[m];
    return "?";
}

bool bridge_base64url_decode(const char *s, size_t len, uint8_t *out, size_t cap, size_t *n)
{
    return base64url_decode(s, len, out, cap, n);
}

static enum bridge_err bad(char *msg, size_t cap, const char *field, const char *why)
{
    snprintf(msg, cap, "%s: %s", field, why);
    return BRIDGE_ERR_BAD_PARAMS;
}

/* A string value, or NULL with the error written to msg. */
static const char *get_string(const cJSON *params, const char *key, size_t max, bool required,
                              bool *missing, char *msg, size_t cap)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(params, key);
    *missing = v == NULL;
    if (!v) {
        if (required)
            bad(msg, cap, key, "missing");
        return NULL;
    }
    if (!cJSON_IsString(v) || !v->valuestring) {
        bad(msg, cap, key, "must be a string");
        return NULL;
    }
    if (strlen(v->valuestring) > max) {
        bad(msg, cap, key, "too long");
        return NULL;
    }
    return v->valuestring;
}

/*
 * The secrets a request may carry: the CAN and the MRZ fields (the BAC /
 * PACE-MRZ password, 9303-11 §4.3). Every string of every "can" and "mrz"
 * member of params (a repeated key too) is overwritten before the tree is
 * freed, whatever else the request got wrong.
 */
static void wipe_strings(cJSON *v)
{
    if (cJSON_IsString(v) && v->valuestring)
        wipe(v->valuestring, strlen(v->valuestring));
    for (cJSON *c = v ? v->child : NULL; c; c = c->next)
        wipe_strings(c);
}

static void wipe_secrets(cJSON *params)
{
    if (!cJSON_IsObject(params))
        return;
    for (cJSON *v = params->child; v; v = v->next)
        if (v->string && (!strcmp(v->string, "can") || !strcmp(v->string, "mrz")))
            wipe_strings(v);
}

/* params.mrz: {"document_number", "birth_date", "expiry_date"} as printed on the card. */
static enum bridge_err parse_mrz(const cJSON *mrz, struct bridge_request *req, char *msg,
                                 size_t cap)
{
    static const char *const key[3] = {"document_number", "birth_date", "expiry_date"};
    static const char *const field[3] = {"mrz.document_number", "mrz.birth_date",
                                         "mrz.expiry_date"};
    const char *v[3];
    if (!cJSON_IsObject(mrz))
        return bad(msg, cap, "mrz", "must be an object");
    for (size_t i = 0; i < 3; i++) {
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(mrz, key[i]);
        if (!f)
            return bad(msg, cap, field[i], "missing");
        if (!cJSON_IsString(f) || strlen(f->valuestring) > 64)
            return bad(msg, cap, field[i], "must be a string");
        v[i] = f->valuestring;
    }
    size_t n;
    if (mrz_bac_info_from_fields(v[0], v[1], v[2], req->mrz_info, sizeof req->mrz_info, &n) !=
        MRZ_OK) {
        wipe(req->mrz_info, sizeof req->mrz_info);
        return bad(msg, cap, "mrz",
                   "document_number: A-Z 0-9 (up to 23), birth_date and expiry_date: YYMMDD");
    }
    return BRIDGE_OK;
}

static enum bridge_err parse_authenticate(cJSON *params, struct bridge_request *req, char *msg,
                                          size_t cap)
{
    bool missing;
    if (!params)
        return bad(msg, cap, "params", "missing");
    /* The secrets first (bridge_request_parse wipes them from the tree). */
    const char *can = get_string(params, "can", 64, false, &missing, msg, cap);
    if (!can && !missing)
        return BRIDGE_ERR_BAD_PARAMS;
    if (can) {
        bool ok = strlen(can) == BRIDGE_CAN_LEN;
        for (size_t i = 0; ok && i < BRIDGE_CAN_LEN; i++)
            ok = can[i] >= '0' && can[i] <= '9';
        if (!ok)
            return bad(msg, cap, "can", "must be 6 decimal digits");
        memcpy(req->can, can, BRIDGE_CAN_LEN + 1);
    }
    const cJSON *mrz = cJSON_GetObjectItemCaseSensitive(params, "mrz");
    if (mrz) {
        enum bridge_err e = parse_mrz(mrz, req, msg, cap);
        if (e != BRIDGE_OK)
            return e;
    }

    const char *ch = get_string(params, "challenge", 128, true, &missing, msg, cap);
    if (!ch)
        return BRIDGE_ERR_BAD_PARAMS;
    if (!bridge_base64url_decode(ch, strlen(ch), req->challenge, sizeof req->challenge,
                                 &req->challenge_len) ||
        req->challenge_len < BRIDGE_CHALLENGE_MIN)
        return bad(msg, cap, "challenge", "must be base64url of 32 to 64 bytes");

    const char *origin = get_string(params, "origin", BRIDGE_ORIGIN_MAX, true, &missing, msg, cap);
    if (!origin)
        return BRIDGE_ERR_BAD_PARAMS;
    if (!origin[0])
        return bad(msg, cap, "origin", "empty");
    memcpy(req->origin, origin, strlen(origin) + 1);

    const char *reader =
        get_string(params, "reader", BRIDGE_READER_NAME_MAX, false, &missing, msg, cap);
    if (!reader && !missing)
        return BRIDGE_ERR_BAD_PARAMS;
    if (reader)
        memcpy(req->reader, reader, strlen(reader) + 1);

    const cJSON *t = cJSON_GetObjectItemCaseSensitive(params, "timeout_ms");
    if (t) {
        double d = cJSON_IsNumber(t) ? t->valuedouble : -1;
        if (!(d >= 1 && d <= BRIDGE_TIMEOUT_MAX_MS) || d != (double)(uint32_t)d)
            return bad(msg, cap, "timeout_ms", "must be an integer from 1 to 600000");
        req->timeout_ms = (uint32_t)d;
    }
    return BRIDGE_OK;
}

/* 2^53 - 1: every integer up to it has one exact double (and JSON reader). */
#define ID_INT_MAX 9007199254740991.0

/* A string, or a number that is an integer a double holds exactly. */
static bool usable_id(const cJSON *v)
{
    if (cJSON_IsString(v))
        return true;
    if (!cJSON_IsNumber(v))
        return false;
    double d = v->valuedouble;
    return d >= -ID_INT_MAX && d <= ID_INT_MAX && d == (double)(long long)d;
}

/* The id as it is echoed: a string as is, an integer as its digits (cJSON
 * would print 2^53 - 1 as 9.00719925474099e+15). */
static cJSON *copy_id(const cJSON *v)
{
    if (cJSON_IsString(v))
        return cJSON_CreateString(v->valuestring);
    char digits[24];
    snprintf(digits, sizeof digits, "%lld", (long long)v->valuedouble);
    return cJSON_CreateRaw(digits);
}

static enum bridge_err parse_object(cJSON *root, struct bridge_request *req, char *msg, size_t cap)
{
    if (!cJSON_IsObject(root)) {
        snprintf(msg, cap, "a request is a JSON object");
        return BRIDGE_ERR_BAD_JSON;
    }
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(root, "id");
    if (usable_id(id)) {
        if (cJSON_IsString(id) && strlen(id->valuestring) > 256)
            return bad(msg, cap, "id", "too long");
        req->id = copy_id(id);
        if (!req->id)
            return BRIDGE_ERR_INTERNAL;
    }
    cJSON *params = cJSON_GetObjectItemCaseSensitive(root, "params");
    /* Wipe a CAN as early as possible, whatever happens to the rest. */
    enum bridge_err e = BRIDGE_OK;
    if (!id)
        e = bad(msg, cap, "id", "missing");
    else if (!usable_id(id))
        e = bad(msg, cap, "id", "must be a string or an integer (at most 2^53 - 1 in size)");
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "method");
    if (e == BRIDGE_OK && !m)
        e = bad(msg, cap, "method", "missing");
    if (e == BRIDGE_OK && !cJSON_IsString(m))
        e = bad(msg, cap, "method", "must be a string");
    if (e == BRIDGE_OK && params && !cJSON_IsObject(params))
        e = bad(msg, cap, "params", "must be an object");
    if (e != BRIDGE_OK)
        return e;
    size_t k = 0;
    while (k < sizeof method_names / sizeof method_names[0] &&
           strcmp(m->valuestring, method_names[k]))
        k++;
    if (k == sizeof method_names / sizeof method_names[0]) {
        snprintf(msg, cap, "no method named like that");
        return BRIDGE_ERR_UNKNOWN_METHOD;
    }
    req->method = (enum bridge_method)k;
    switch (req->method) {
    case BRIDGE_M_AUTHENTICATE: return parse_authenticate(params, req, msg, cap);
    case BRIDGE_M_CANCEL: {
        const cJSON *r = params ? cJSON_GetObjectItemCaseSensitive(params, "request") : NULL;
        if (!r)
            return bad(msg, cap, "request", "missing");
        if (!usable_id(r))
            return bad(msg, cap, "request",
                       "must be a string or an integer (at most 2^53 - 1 in size)");
        req->cancel_id = copy_id(r);
        return req->cancel_id ? BRIDGE_OK : BRIDGE_ERR_INTERNAL;
    }
    default: return BRIDGE_OK;
    }
}

enum bridge_err bridge_request_parse(const char *line, size_t len, struct bridge_request *req,
                                     char *msg, size_t msg_cap)
{
    memset(req, 0, sizeof *req);
    msg[0] = '\0';
    if (len > BRIDGE_LINE_MAX) {
        snprintf(msg, msg_cap, "a request line is at most %u bytes", BRIDGE_LINE_MAX);
        return BRIDGE_ERR_TOO_LARGE;
    }
    if (memchr(line, '\0', len)) {
        snprintf(msg, msg_cap, "NUL byte in the request");
        return BRIDGE_ERR_BAD_JSON;
    }
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(line, len, &end, false);
    if (!root) {
        snprintf(msg, msg_cap, "not JSON");
        return BRIDGE_ERR_BAD_JSON;
    }
    while (end && end < line + len && (*end == ' ' || *end == '\t' || *end == '\r'))
        end++;
    enum bridge_err e;
    char why[96];
    if (!end || end != line + len) {
        snprintf(msg, msg_cap, "trailing bytes after the JSON object");
        e = BRIDGE_ERR_BAD_JSON;
    } else if (!json_strict_check(line, len, JSON_ANY_SPELLING, why, sizeof why)) {
        /* What cJSON lets through and RFC 8259 does not (invalid UTF-8, a
         * \u0000 that would cut a string short, a name given twice...):
         * refused whole, nothing of it echoed. */
        snprintf(msg, msg_cap, "not strict JSON: %s", why);
        e = BRIDGE_ERR_BAD_JSON;
    } else {
        e = parse_object(root, req, msg, msg_cap);
    }
    /* Whatever happened, no CAN or MRZ stays in freed memory. */
    if (cJSON_IsObject(root))
        wipe_secrets(cJSON_GetObjectItemCaseSensitive(root, "params"));
    cJSON_Delete(root);
    if (e != BRIDGE_OK) {
        cJSON_Delete(req->cancel_id);
        req->cancel_id = NULL;
        wipe(req->can, sizeof req->can);
        wipe(req->mrz_info, sizeof req->mrz_info);
    }
    return e;
}

void bridge_request_clear(struct bridge_request *req)
{
    cJSON_Delete(req->id);
    cJSON_Delete(req->cancel_id);
    req->id = req->cancel_id = NULL;
    wipe(req->can, sizeof req->can);
    wipe(req->mrz_info, sizeof req->mrz_info);
}

static char *finish(cJSON *o)
{
    char *s = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (!s)
        return NULL;
    size_t n = strlen(s);
    char *line = realloc(s, n + 2);
    if (!line) {
        free(s);
        return NULL;
    }
    line[n] = '\n';
    line[n + 1] = '\0';
    return line;
}

static cJSON *with_id(const cJSON *id)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *i = id ? cJSON_Duplicate(id, false) : cJSON_CreateNull();
    if (!o || !i || !cJSON_AddItemToObject(o, "id", i)) {
        cJSON_Delete(o);
        cJSON_Delete(i);
        return NULL;
    }
    return o;
}

char *bridge_answer_error(const cJSON *id, enum bridge_err e, const char *message)
{
    cJSON *o = with_id(id);
    cJSON *err = cJSON_AddObjectToObject(o, "error");
    if (!err || !cJSON_AddStringToObject(err, "code", bridge_err_code(e)) ||
        !cJSON_AddStringToObject(err, "message", message ? message : "")) {
        cJSON_Delete(o);
        return NULL;
    }
    return finish(o);
}

char *bridge_answer_result(const cJSON *id, cJSON *result)
{
    cJSON *o = with_id(id);
    if (!o || !result || !cJSON_AddItemToObject(o, "result", result)) {
        cJSON_Delete(o);
        cJSON_Delete(result);
        return NULL;
    }
    return finish(o);
}

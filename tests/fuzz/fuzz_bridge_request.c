/*
 * fuzz_bridge_request: hostile request lines into the bridge's parser and
 * validator (host/bridge/request.c). Whatever the bytes, the answer line is
 * one well-formed JSON object with either a result or an error whose code
 * is a documented one, a parsed request stays within its bounds, a CAN is
 * 6 digits or nothing, and MRZ information is nothing or MRZ characters
 * ending in three check digits (9303-11 §4.3). Secrets never survive an error.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_answer(char *line, const char *want_code)
{
    if (!line)
        return; /* out of memory only */
    size_t n = strlen(line);
    if (n < 2 || line[n - 1] != '\n' || memchr(line, '\n', n - 1))
        __builtin_trap();
    cJSON *j = cJSON_ParseWithLength(line, n - 1);
    if (!j || !cJSON_IsObject(j) || !cJSON_GetObjectItemCaseSensitive(j, "id"))
        __builtin_trap();
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(j, "error");
    const cJSON *res = cJSON_GetObjectItemCaseSensitive(j, "result");
    if (!err == !res)
        __builtin_trap();
    if (err) {
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(err, "code");
        if (!cJSON_IsString(code) || strcmp(code->valuestring, want_code))
            __builtin_trap();
    }
    cJSON_Delete(j);
    free(line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct bridge_request r;
    char msg[160];
    enum bridge_err e = bridge_request_parse((const char *)data, size, &r, msg, sizeof msg);
    if (strlen(msg) >= sizeof msg)
        __builtin_trap();
    if (e != BRIDGE_OK) {
        if (e > BRIDGE_ERR_INTERNAL || r.can[0] || r.mrz_info[0] || r.cancel_id)
            __builtin_trap();
        check_answer(bridge_answer_error(r.id, e, msg), bridge_err_code(e));
    } else {
        if (r.method > BRIDGE_M_AUTHENTICATE || !r.id)
            __builtin_trap();
        if (r.method == BRIDGE_M_AUTHENTICATE) {
            if (r.challenge_len < BRIDGE_CHALLENGE_MIN || r.challenge_len > BRIDGE_CHALLENGE_MAX ||
                !r.origin[0] || strlen(r.origin) > BRIDGE_ORIGIN_MAX ||
                strlen(r.reader) > BRIDGE_READER_NAME_MAX || r.timeout_ms > BRIDGE_TIMEOUT_MAX_MS)
                __builtin_trap();
            if (r.can[0] &&
                (strlen(r.can) != BRIDGE_CAN_LEN || strspn(r.can, "0123456789") != BRIDGE_CAN_LEN))
                __builtin_trap();
            size_t m = strnlen(r.mrz_info, sizeof r.mrz_info);
            if (m == sizeof r.mrz_info ||
                (m && (m < 24 || strspn(r.mrz_info, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ<") != m)))
                __builtin_trap();
        }
        if ((r.method == BRIDGE_M_CANCEL) != (r.cancel_id != NULL))
            __builtin_trap();
        check_answer(bridge_answer_result(r.id, cJSON_CreateObject()), "");
    }
    bridge_request_clear(&r);
    return 0;
}

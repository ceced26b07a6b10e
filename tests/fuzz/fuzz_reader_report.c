/*
 * fuzz_reader_report: hostile bytes as our reader's reports to the host,
 * the answers to its escape commands (hawiya/reader_escape.h): a step
 * report into reader_step_parse() (host/backend/reader_session.c) and a
 * final report into bridge_assertion_from_report() (host/bridge). A USB
 * device may say anything: the parsed step stays printable and within its
 * arrays, and the bridge either writes an assertion that is JSON with the
 * format and the request's challenge, or names a reader error.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "backend.h"
#include "hawiya/reader_escape.h"
#include "reader_session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void printable(const char *s, size_t cap)
{
    size_t n = strnlen(s, cap);
    if (n == cap)
        __builtin_trap();
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x20 || s[i] > 0x7E)
            __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct reader_step st;
    if (reader_step_parse(data, size, &st)) {
        printable(st.name, sizeof st.name);
        printable(st.error, sizeof st.error);
        printable(st.detail, sizeof st.detail);
        if (!st.name[0] || st.status > RESC_STATUS_MORE || st.trace_len % 4 != 0 ||
            st.trace_len > sizeof st.trace || (st.status == RESC_STATUS_FAILED && !st.error[0]))
            __builtin_trap();
    }

    uint8_t challenge[32];
    for (size_t i = 0; i < sizeof challenge; i++)
        challenge[i] = (uint8_t)i;
    struct bridge_auth a = {.challenge = challenge,
                            .challenge_len = sizeof challenge,
                            .origin = "https://record.example"};
    struct bridge_auth_result res;
    memset(&res, 0, sizeof res);
    enum bridge_err e = bridge_assertion_from_report(data, size, &a, &res);
    if (strnlen(res.detail, sizeof res.detail) == sizeof res.detail)
        __builtin_trap();
    if (e == BRIDGE_OK) {
        cJSON *j = res.assertion_json ? cJSON_Parse(res.assertion_json) : NULL;
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(j, "format");
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(j, "challenge");
        if (!cJSON_IsString(f) || strcmp(f->valuestring, "hawiya-assertion/2") ||
            !cJSON_IsString(c) ||
            strcmp(c->valuestring, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"))
            __builtin_trap();
        cJSON_Delete(j);
    } else if (e != BRIDGE_ERR_READER_ERROR || res.assertion_json) {
        __builtin_trap();
    }
    free(res.assertion_json);
    return 0;
}

/*
 * The bridge's request parser and answer lines (host/bridge/request.h,
 * docs/bridge-protocol.md). base64url vectors are RFC 4648 §10's (with the
 * §5 URL-safe alphabet for 62 and 63).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "request.h"

static void rfc4648_vectors(void **state)
{
    static const struct {
        const char *in, *out;
    } v[] = {
        {"", ""},
        {"Zg==", "f"},
        {"Zm8=", "fo"},
        {"Zm9v", "foo"},
        {"Zm9vYg==", "foob"},
        {"Zm9vYmE=", "fooba"},
        {"Zm9vYmFy", "foobar"},
        {"Zg", "f"},
        {"Zm8", "fo"},
        {"Zm9vYg", "foob"},
        {"Zm9vYmE", "fooba"},
    };
    uint8_t out[16];
    size_t n;
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        assert_true(bridge_base64url_decode(v[i].in, strlen(v[i].in), out, sizeof out, &n));
        assert_int_equal(n, strlen(v[i].out));
        assert_memory_equal(out, v[i].out, n);
    }
    /* §5: '-' is 62 and '_' is 63 ("+/+/" in the standard alphabet). */
    const uint8_t want[] = {0xFB, 0xFF, 0xBF};
    assert_true(bridge_base64url_decode("-_-_", 4, out, sizeof out, &n));
    assert_int_equal(n, 3);
    assert_memory_equal(out, want, 3);
    /* The standard alphabet, a lone sextet, stray low bits (§3.5), overflow. */
    assert_false(bridge_base64url_decode("+/+/", 4, out, sizeof out, &n));
    assert_false(bridge_base64url_decode("Z", 1, out, sizeof out, &n));
    assert_false(bridge_base64url_decode("Zh", 2, out, sizeof out, &n));
    assert_false(bridge_base64url_decode("Zg=", 3, out, sizeof out, &n));
    assert_false(bridge_base64url_decode("Zm9vYmFy", 8, out, 5, &n));
}

#define CH32 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"

static void parses_authenticate(void **state)
{
    const char *line = "{\"id\":\"x\",\"method\":\"authenticate\",\"params\":{\"challenge\":\"" CH32
                       "\",\"origin\":\"https://a.example\",\"can\":\"012345\",\"reader\":\"r1\","
                       "\"timeout_ms\":1500}}";
    struct bridge_request r;
    char msg[128];
    assert_int_equal(bridge_request_parse(line, strlen(line), &r, msg, sizeof msg), BRIDGE_OK);
    assert_int_equal(r.method, BRIDGE_M_AUTHENTICATE);
    assert_string_equal(r.id->valuestring, "x");
    assert_int_equal(r.challenge_len, 32);
    for (size_t i = 0; i < 32; i++)
        assert_int_equal(r.challenge[i], i);
    assert_string_equal(r.origin, "https://a.example");
    assert_string_equal(r.can, "012345");
    assert_string_equal(r.reader, "r1");
    assert_int_equal(r.timeout_ms, 1500);
    bridge_request_clear(&r);
    assert_int_equal(r.can[0], 0);
    assert_null(r.id);
}

/* ICAO 9303-11 Appendix D.2 (BAC worked example): document number
 * L898902C<, born 690806, expires 940623 -> MRZ information
 * "L898902C<369080619406236". */
static void parses_mrz_fields(void **state)
{
    const char *line = "{\"id\":7,\"method\":\"authenticate\",\"params\":{\"challenge\":\"" CH32
                       "\",\"origin\":\"https://a.example\",\"mrz\":{\"document_number\":"
                       "\"L898902C\",\"birth_date\":\"690806\",\"expiry_date\":\"940623\"}}}";
    struct bridge_request r;
    char msg[128];
    assert_int_equal(bridge_request_parse(line, strlen(line), &r, msg, sizeof msg), BRIDGE_OK);
    assert_string_equal(r.mrz_info, "L898902C<369080619406236");
    assert_int_equal(r.can[0], 0);
    bridge_request_clear(&r);
    assert_int_equal(r.mrz_info[0], 0);

    /* Right MRZ, wrong origin: the error leaves no MRZ information behind. */
    const char *bad = "{\"id\":7,\"method\":\"authenticate\",\"params\":{\"challenge\":\"" CH32
                      "\",\"origin\":\"\",\"mrz\":{\"document_number\":\"L898902C\","
                      "\"birth_date\":\"690806\",\"expiry_date\":\"940623\"}}}";
    assert_int_equal(bridge_request_parse(bad, strlen(bad), &r, msg, sizeof msg),
                     BRIDGE_ERR_BAD_PARAMS);
    assert_string_equal(msg, "origin: empty");
    for (size_t i = 0; i < sizeof r.mrz_info; i++)
        assert_int_equal(r.mrz_info[i], 0);
    bridge_request_clear(&r);
}

static void errors_name_the_field(void **state)
{
    static const struct {
        const char *line;
        enum bridge_err e;
        const char *msg;
    } v[] = {
        {"", BRIDGE_ERR_BAD_JSON, "not JSON"},
        {"{\"id\":1,\"method\":\"status\"}{}", BRIDGE_ERR_BAD_JSON,
         "trailing bytes after the JSON object"},
        {"\"status\"", BRIDGE_ERR_BAD_JSON, "a request is a JSON object"},
        {"{\"id\":true,\"method\":\"status\"}", BRIDGE_ERR_BAD_PARAMS,
         "id: must be a string or an integer (at most 2^53 - 1 in size)"},
        {"{\"id\":1,\"method\":\"Status\"}", BRIDGE_ERR_UNKNOWN_METHOD,
         "no method named like that"},
        {"{\"id\":1,\"method\":\"authenticate\",\"params\":{\"challenge\":\"" CH32
         "\",\"origin\":\"\"}}",
         BRIDGE_ERR_BAD_PARAMS, "origin: empty"},
        {"{\"id\":1,\"method\":\"authenticate\",\"params\":{\"challenge\":\"" CH32
         "\",\"origin\":\"o\",\"timeout_ms\":1.5}}",
         BRIDGE_ERR_BAD_PARAMS, "timeout_ms: must be an integer from 1 to 600000"},
        {"{\"id\":1,\"method\":\"authenticate\",\"params\":{\"challenge\":\"" CH32
         "\",\"origin\":\"o\",\"can\":\"12345a\"}}",
         BRIDGE_ERR_BAD_PARAMS, "can: must be 6 decimal digits"},
        {"{\"id\":1,\"method\":\"authenticate\",\"params\":{\"challenge\":\"" CH32
         "\",\"origin\":\"o\",\"mrz\":\"L898902C<369080619406236\"}}",
         BRIDGE_ERR_BAD_PARAMS, "mrz: must be an object"},
        {"{\"id\":1,\"method\":\"authenticate\",\"params\":{\"challenge\":\"" CH32
         "\",\"origin\":\"o\",\"mrz\":{\"document_number\":\"L898902C\",\"birth_date\":"
         "\"690806\"}}}",
         BRIDGE_ERR_BAD_PARAMS, "mrz.expiry_date: missing"},
        {"{\"id\":1,\"method\":\"authenticate\",\"params\":{\"challenge\":\"" CH32
         "\",\"origin\":\"o\",\"mrz\":{\"document_number\":9,\"birth_date\":"
         "\"690806\",\"expiry_date\":\"940623\"}}}",
         BRIDGE_ERR_BAD_PARAMS, "mrz.document_number: must be a string"},
        {"{\"id\":1,\"method\":\"authenticate\",\"params\":{\"challenge\":\"" CH32
         "\",\"origin\":\"o\",\"mrz\":{\"document_number\":\"L898902C\",\"birth_date\":"
         "\"69-08-06\",\"expiry_date\":\"940623\"}}}",
         BRIDGE_ERR_BAD_PARAMS,
         "mrz: document_number: A-Z 0-9 (up to 23), birth_date and expiry_date: YYMMDD"},
        {"{\"id\":1,\"method\":\"cancel\",\"params\":{\"request\":null}}", BRIDGE_ERR_BAD_PARAMS,
         "request: must be a string or an integer (at most 2^53 - 1 in size)"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        struct bridge_request r;
        char msg[128];
        assert_int_equal(bridge_request_parse(v[i].line, strlen(v[i].line), &r, msg, sizeof msg),
                         v[i].e);
        assert_string_equal(msg, v[i].msg);
        assert_int_equal(r.can[0], 0);
        assert_int_equal(r.mrz_info[0], 0);
        bridge_request_clear(&r);
    }
}

/* A parse that must fail with e, its message starting with msg, no id kept. */
static void refused(const char *line, size_t n, enum bridge_err e, const char *msg)
{
    struct bridge_request r;
    char got[160];
    enum bridge_err ge = bridge_request_parse(line, n, &r, got, sizeof got);
    if (ge != e || strncmp(got, msg, strlen(msg)))
        fail_msg("%.*s: %s '%s', want %s '%s...'", (int)n, line, bridge_err_code(ge), got,
                 bridge_err_code(e), msg);
    assert_null(r.id);
    bridge_request_clear(&r);
}

/*
 * Strict JSON (RFC 8259) before anything is taken from a request: what
 * cJSON would let through (a \u0000 that cuts a string short, invalid UTF-8,
 * an unpaired surrogate, a name given twice, raw control characters, a
 * byte-order mark, deep nesting) is BAD_JSON with no id echoed; an id is a
 * string or an integer cJSON can echo exactly.
 */
static void strict_json(void **state)
{
    static const struct {
        const char *line;
        size_t len; /* 0: strlen */
    } bad_json[] = {
        {"{\"id\":\"a\\u0000b\",\"method\":\"version\"}", 0},
        {"{\"id\":\"x\",\"method\":\"version\\u0000\"}", 0},
        {"{\"id\":\"\xC0\x80\",\"method\":\"version\"}", 0},         /* overlong NUL */
        {"{\"id\":\"\xFF\",\"method\":\"version\"}", 0},             /* no such byte */
        {"{\"id\":\"\x80\",\"method\":\"version\"}", 0},             /* lone continuation */
        {"{\"id\":\"\xE2\x82\",\"method\":\"version\"}", 0},         /* cut short */
        {"{\"id\":\"\xED\xA0\x80\",\"method\":\"version\"}", 0},     /* a surrogate, in UTF-8 */
        {"{\"id\":\"\xF4\x90\x80\x80\",\"method\":\"version\"}", 0}, /* past U+10FFFF */
        {"{\"id\":\"\\ud800\",\"method\":\"version\"}", 0},          /* unpaired high */
        {"{\"id\":\"\\udc00x\",\"method\":\"version\"}", 0},         /* unpaired low */
        {"{\"id\":1,\"id\":2,\"method\":\"version\"}", 0},
        {"{\"id\":1,\"method\":\"version\",\"\\u006dethod\":\"status\"}", 0},
        {"{\"id\":\"a\tb\",\"method\":\"version\"}", 0},
        {"\xEF\xBB\xBF{\"id\":1,\"method\":\"version\"}", 0},
        {"{\"id\":1,\"method\":\"version\",\"params\":{\"a\":[[[[[[[[[1]]]]]]]]]}}", 0},
        {"{\"id\":01,\"method\":\"version\"}", 0},
        {"{\"id\":1.,\"method\":\"version\"}", 0},
        {"{\"id\":\"\\x41\",\"method\":\"version\"}", 0},
        {"{\"id\":1,\"method\":\"authenticate\",\"params\":{\"challenge\":\"" CH32
         "\",\"origin\":\"o\",\"can\":\"123456\",\"can\":\"654321\"}}",
         0},
    };
    for (size_t i = 0; i < sizeof bad_json / sizeof bad_json[0]; i++) {
        const char *l = bad_json[i].line;
        refused(l, bad_json[i].len ? bad_json[i].len : strlen(l), BRIDGE_ERR_BAD_JSON, "not ");
    }
    /* Ids that are not integers a JSON reader holds exactly: no id echoed. */
    static const char *const bad_ids[] = {
        "1.5",  "-0.25", "1e400", "9007199254740992", "-9007199254740993", "true",
        "null", "{}",    "[1]"};
    for (size_t i = 0; i < sizeof bad_ids / sizeof bad_ids[0]; i++) {
        char line[120];
        snprintf(line, sizeof line, "{\"id\":%s,\"method\":\"version\"}", bad_ids[i]);
        refused(line, strlen(line), BRIDGE_ERR_BAD_PARAMS, "id: must be a string or an integer");
    }
    /* Any RFC 8259 spelling is fine, and ids are echoed exactly. */
    static const struct {
        const char *id, *echo;
    } ok[] = {
        {"9007199254740991", "9007199254740991"},
        {"-9007199254740991", "-9007199254740991"},
        {"0", "0"},
        {"-7", "-7"},
        {"1.0", "1"},
        {"1E3", "1000"},
        {"\"\\ud83d\\ude00 \\u00e9\\/\"", "\"\xF0\x9F\x98\x80 \xC3\xA9/\""},
        {"\"caf\xC3\xA9\"", "\"caf\xC3\xA9\""},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        char line[200], want[200];
        snprintf(line, sizeof line, "{\"id\":%s,\"method\":\"version\"}", ok[i].id);
        struct bridge_request r;
        char msg[160];
        assert_int_equal(bridge_request_parse(line, strlen(line), &r, msg, sizeof msg), BRIDGE_OK);
        char *ans = bridge_answer_error(r.id, BRIDGE_ERR_INTERNAL, "x");
        snprintf(want, sizeof want, "{\"id\":%s,\"error\"", ok[i].echo);
        if (strncmp(ans, want, strlen(want)))
            fail_msg("id %s echoed as %s", ok[i].id, ans);
        free(ans);
        bridge_request_clear(&r);
    }
    /* The origin spelled with escapes is the same origin. */
    const char *esc = "{\"id\":1,\"method\":\"authenticate\",\"params\":{\"challenge\":\"" CH32
                      "\",\"origin\":\"https:\\/\\/a.\\u0065xample\"}}";
    struct bridge_request r;
    char msg[160];
    assert_int_equal(bridge_request_parse(esc, strlen(esc), &r, msg, sizeof msg), BRIDGE_OK);
    assert_string_equal(r.origin, "https://a.example");
    bridge_request_clear(&r);
}

static void too_large(void **state)
{
    size_t n = BRIDGE_LINE_MAX + 1;
    char *line = malloc(n);
    assert_non_null(line);
    memset(line, ' ', n);
    struct bridge_request r;
    char msg[128];
    assert_int_equal(bridge_request_parse(line, n, &r, msg, sizeof msg), BRIDGE_ERR_TOO_LARGE);
    bridge_request_clear(&r);
    free(line);
}

static void answer_lines(void **state)
{
    cJSON *id = cJSON_CreateNumber(5);
    char *s = bridge_answer_error(id, BRIDGE_ERR_CANCELLED, "by you");
    assert_string_equal(s,
                        "{\"id\":5,\"error\":{\"code\":\"CANCELLED\",\"message\":\"by you\"}}\n");
    free(s);
    s = bridge_answer_error(NULL, BRIDGE_ERR_TOO_LARGE, "");
    assert_string_equal(s, "{\"id\":null,\"error\":{\"code\":\"TOO_LARGE\",\"message\":\"\"}}\n");
    free(s);
    s = bridge_answer_result(id, cJSON_CreateTrue());
    assert_string_equal(s, "{\"id\":5,\"result\":true}\n");
    free(s);
    cJSON_Delete(id);
    assert_string_equal(bridge_err_str(BRIDGE_ERR_QUEUE_TIMEOUT), "BRIDGE_ERR_QUEUE_TIMEOUT");
    assert_string_equal(bridge_err_code(BRIDGE_ERR_NOT_IMPLEMENTED), "NOT_IMPLEMENTED");
    assert_string_equal(bridge_method_name(BRIDGE_M_DIAGNOSE), "diagnose");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rfc4648_vectors),   cmocka_unit_test(parses_authenticate),
        cmocka_unit_test(parses_mrz_fields), cmocka_unit_test(errors_name_the_field),
        cmocka_unit_test(too_large),         cmocka_unit_test(answer_lines),
        cmocka_unit_test(strict_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

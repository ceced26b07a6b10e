/*
 * libFuzzer target: EF.SOD parsing (no verification). A parsed SOD points
 * only inside the input, holds hashes of its own algorithm's length for
 * distinct data groups 1..16, and parses the same way twice; a failed parse
 * leaves the struct zeroed.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hawiya/sod.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void inside(const uint8_t *p, size_t len, const uint8_t *data, size_t size)
{
    if (p == NULL) {
        if (len != 0)
            __builtin_trap();
        return;
    }
    if (p < data || len > size || p + len > data + size)
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct sod s, again;
    static const struct sod zero;
    enum sod_err e = sod_parse(data, size, &s);

    if (sod_parse(data, size, &again) != e || memcmp(&s, &again, sizeof s) != 0)
        __builtin_trap();
    if (e != SOD_OK) {
        if (memcmp(&s, &zero, sizeof s) != 0)
            __builtin_trap();
        return 0;
    }
    if (data[0] != 0x77 || s.n_dg == 0 || s.n_dg > SOD_MAX_DG || s.n_certs > SOD_MAX_CERTS)
        __builtin_trap();
    inside(s.econtent, s.econtent_len, data, size);
    for (size_t i = 0; i < s.n_dg; i++) {
        inside(s.dg[i].value, s.dg[i].len, data, size);
        if (s.dg[i].number < 1 || s.dg[i].number > 16 ||
            s.dg[i].len != sod_hash_len(s.hash_algorithm) ||
            sod_find_dg(&s, s.dg[i].number) != &s.dg[i])
            __builtin_trap();
    }
    for (size_t i = 0; i < s.n_certs; i++) {
        inside(s.cert[i], s.cert_len[i], data, size);
        if (s.cert[i][0] != 0x30)
            __builtin_trap();
    }
    inside(s.signed_attrs, s.signed_attrs_len, data, size);
    inside(s.message_digest, s.message_digest_len, data, size);
    inside(s.signing_time, s.signing_time_len, data, size);
    if (s.signing_time && s.signing_time_tag != 0x17 && s.signing_time_tag != 0x18)
        __builtin_trap();
    inside(s.signature, s.signature_len, data, size);
    inside(s.sid_issuer, s.sid_issuer_len, data, size);
    inside(s.sid_serial, s.sid_serial_len, data, size);
    inside(s.sid_ski, s.sid_ski_len, data, size);
    if (s.signed_attrs == NULL || s.signed_attrs[0] != 0xA0 || s.signature_len == 0 ||
        s.message_digest_len != sod_hash_len(s.digest_algorithm) ||
        (s.sid_ski == NULL) == (s.sid_issuer == NULL))
        __builtin_trap();
    return 0;
}

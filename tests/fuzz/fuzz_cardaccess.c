/*
 * libFuzzer target: SecurityInfos (EF.CardAccess, DG14) parsing. Whatever
 * parses must stay inside the module's tables and the input buffer, parse
 * the same way twice, and the reader's choice must be a supported entry.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hawiya/cardaccess.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct security_infos *si, const uint8_t *data, size_t size)
{
    if (si->n_pace > CARDACCESS_MAX_PACE || si->n_pace_dp > CARDACCESS_MAX_PACE_DP ||
        si->n_ca > CARDACCESS_MAX_CA || si->n_ca_pk > CARDACCESS_MAX_CA_PK)
        __builtin_trap();
    for (size_t i = 0; i < si->n_pace; i++)
        if (si->pace[i].oid_len != 10 || memcmp(si->pace[i].oid, "\x04\x00\x7F\x00\x07", 5) != 0)
            __builtin_trap();
    for (size_t i = 0; i < si->n_ca; i++)
        if (si->ca[i].oid_len != 10)
            __builtin_trap();
    for (size_t i = 0; i < si->n_ca_pk; i++) {
        const struct ca_pk_info *pk = &si->ca_pk[i];
        if (pk->spki < data || pk->spki_len < 2 || pk->spki + pk->spki_len > data + size ||
            pk->spki[0] != 0x30)
            __builtin_trap();
    }
    for (size_t i = 0; i < si->n_pace_dp; i++) {
        const struct pace_dp_info *dp = &si->pace_dp[i];
        if (dp->domain_parameter < data ||
            dp->domain_parameter + dp->domain_parameter_len > data + size)
            __builtin_trap();
    }
    if (si->has_aa && si->aa.signature_algorithm_len > CARDACCESS_OID_MAX)
        __builtin_trap();
    size_t idx = 0;
    if (cardaccess_select_pace(si, &idx) == CARDACCESS_OK &&
        (idx >= si->n_pace || !pace_info_supported(&si->pace[idx])))
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct security_infos a, b;
    enum cardaccess_err e = cardaccess_parse(data, size, &a);
    if (e == CARDACCESS_OK) {
        check(&a, data, size);
        if (cardaccess_parse(data, size, &b) != CARDACCESS_OK || memcmp(&a, &b, sizeof a) != 0)
            __builtin_trap();
    } else if (a.n_pace != 0 || a.n_other != 0) {
        __builtin_trap(); /* a failed parse leaves nothing behind */
    }
    if (cardaccess_parse_dg14(data, size, &a) == CARDACCESS_OK)
        check(&a, data, size);
    return 0;
}

/*
 * libFuzzer target: secure messaging unwrapping with fixed sessions.
 * The first byte picks one message of 9303-11 Appendix D.4 (3DES) or of the
 * AES vectors in tests/unit/test_sm.c, which fixes the keys and the SSC; the
 * rest is the message to unwrap (a response, or a command on the card side).
 * Invariants: SM_OK only when the MACed bytes (and the MAC) are exactly the genuine ones
 * (random bytes never yield data without a valid MAC), plain output within
 * its buffer; any failure leaves a dead context with wiped keys.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hawiya/apdu.h"
#include "hawiya/sm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct vector {
    int aes;
    int command;         /* 1: card side, unwrap a command */
    uint8_t ssc_last;    /* last byte of the SSC before the message */
    const char *genuine; /* hex of the MACed part (response DOs, or command header+data) */
};

static const struct vector vectors[] = {
    {0, 0, 0x27, "990290008E08FA855A5D4C50A8ED"},
    {0, 0, 0x29, "8709019FF0EC34F9922651990290008E08AD55CC17140B2DED"},
    {0, 0, 0x2B,
     "871901FB9235F4E4037F2327DCC8964F1F9B8C30F42C8E2FFF224A990290008E08C8B2787EAEA07D74"},
    {1, 0, 0x01, "990290008E08BEA7B381C494A079"},
    {1, 0, 0x03, "871101645C0B1F998A088278D07942BBE94B60990290008E0894A33C6AA2D8CCC8"},
    {0, 1, 0x26, "0CA4020C8709016375432908C044F68E08BF8B92D635FF24F8"},
    {0, 1, 0x28, "0CB000009701048E08ED6705417E96BA55"},
    {1, 1, 0x00, "0CA4020C871101EE0E4724F4465C1BE9C2F73ABDD73A3D8E08835D1B54575C955F"},
};

static size_t unhex(const char *s, uint8_t *out)
{
    size_t n = 0;
    for (; s[0] && s[1]; s += 2) {
        int hi = s[0] <= '9' ? s[0] - '0' : s[0] - 'A' + 10;
        int lo = s[1] <= '9' ? s[1] - '0' : s[1] - 'A' + 10;
        out[n++] = (uint8_t)(hi << 4 | lo);
    }
    return n;
}

static void session(struct sm_ctx *sm, const struct vector *v)
{
    uint8_t enc[16], mac[16], ssc[16] = {0};
    if (v->aes) {
        unhex("F5F0E35C0D7161EE6724EE513A0D9A7F", enc);
        unhex("FE251C7858B356B24514B3BD5F4297D1", mac);
        ssc[15] = v->ssc_last;
    } else {
        unhex("979EC13B1CBFE9DCD01AB0FED307EAE5", enc);
        unhex("F1CB1F1FB5ADF208806B89DC579DC1F8", mac);
        unhex("887022120C06C200", ssc);
        ssc[7] = v->ssc_last;
    }
    if (sm_init(sm, v->aes ? ICAO_AES128 : ICAO_3DES, enc, mac, ssc) != SM_OK)
        __builtin_trap();
}

static void check_dead(const struct sm_ctx *sm)
{
    static const uint8_t zero[ICAO_MAX_KEY_LEN];
    if (sm->alive || memcmp(sm->ks_enc, zero, sizeof zero) != 0 ||
        memcmp(sm->ks_mac, zero, sizeof zero) != 0)
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t out[70000];
    uint8_t genuine[128];
    struct sm_ctx sm;
    const struct vector *v;
    size_t glen;

    if (size < 1)
        return 0;
    v = &vectors[data[0] % (sizeof vectors / sizeof vectors[0])];
    data++;
    size--;
    glen = unhex(v->genuine, genuine);
    session(&sm, v);

    if (!v->command) {
        struct rapdu r;
        enum sm_err e = sm_unwrap_response(&sm, data, size, out, sizeof out, &r);
        if (e != SM_OK) {
            check_dead(&sm);
            if (r.data != NULL || r.len != 0)
                __builtin_trap();
            return 0;
        }
        /* Accepted means: the MACed data objects are byte for byte the genuine
         * ones and so is the MAC. The MAC object's own length may be coded in a
         * longer BER form (8E 81 08): it is outside the MAC and changes nothing. */
        if (size < glen + 2 || memcmp(data, genuine, glen - 10) != 0 ||
            memcmp(data + size - 10, genuine + glen - 8, 8) != 0 || r.len > sizeof out ||
            (r.len > 0 && r.data != out))
            __builtin_trap();
        return 0;
    }

    struct apdu prot, plain;
    if (apdu_decode(data, size, &prot, NULL) != APDU_OK)
        return 0;
    enum sm_err e = sm_unwrap_command(&sm, &prot, out, sizeof out, &plain);
    if (e != SM_OK) {
        check_dead(&sm);
        return 0;
    }
    uint8_t header[4] = {prot.cla, prot.ins, prot.p1, prot.p2};
    /* As for responses: the MACed header and data objects and the MAC itself
     * are the genuine ones; only the MAC object's length coding may differ. */
    if (prot.nc < glen - 4 || memcmp(genuine, header, 4) != 0 ||
        memcmp(genuine + 4, prot.data, glen - 4 - 10) != 0 ||
        memcmp(prot.data + prot.nc - 8, genuine + glen - 8, 8) != 0 || plain.nc > sizeof out)
        __builtin_trap();
    return 0;
}

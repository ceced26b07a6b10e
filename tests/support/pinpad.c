#include "pinpad.h"

#include <string.h>
#include <sys/random.h>

#include "hawiya/apdu.h"
#include "hawiya/cardaccess.h"
#include "hawiya/wipe.h"

static int rng(void *ctx, unsigned char *out, size_t n)
{
    (void)ctx;
    return getrandom(out, n, 0) == (ssize_t)n ? 0 : -1;
}

void pinpad_init(struct pinpad *p, const char *keypad, pinpad_card_fn card, void *ctx)
{
    memset(p, 0, sizeof *p);
    strncpy(p->keypad, keypad, sizeof p->keypad - 1);
    p->card = card;
    p->card_ctx = ctx;
    ecp_groups_init(&p->groups);
}

void pinpad_reset(struct pinpad *p)
{
    sm_wipe(&p->sm);
    pace_wipe(&p->pace);
    p->sm_on = false;
}

void pinpad_free(struct pinpad *p)
{
    pinpad_reset(p);
    ecp_groups_free(&p->groups);
    wipe(p, sizeof *p);
}

static void put_le(uint8_t *o, uint32_t v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        o[i] = (uint8_t)(v >> (8 * i));
}

/* dwResult, wLengthOutputData, data. */
static bool answer(uint32_t result, const uint8_t *data, size_t len, uint8_t *out, size_t cap,
                   size_t *out_len)
{
    if (cap < 6 + len || len > 0xFFFF)
        return false;
    put_le(out, result, 4);
    put_le(out + 4, (uint32_t)len, 2);
    if (len)
        memcpy(out + 6, data, len);
    *out_len = 6 + len;
    return true;
}

/* EF.CardAccess by short EF identifier (9303-10 §3.11.3), plain, Le 00. */
static size_t read_cardaccess(struct pinpad *p, uint8_t *ca, size_t cap, uint16_t *sw)
{
    static const uint8_t rb[] = {0x00, 0xB0, 0x9C, 0x00, 0x00};
    size_t n;
    *sw = 0x6F00;
    if (p->card(p->card_ctx, rb, sizeof rb, p->wire, sizeof p->wire, &n) != 0 || n < 2)
        return 0;
    *sw = (uint16_t)(p->wire[n - 2] << 8 | p->wire[n - 1]);
    /* 6282: the file ended before Le bytes, which Le 00 asks for. */
    if ((*sw != 0x9000 && *sw != 0x6282) || n - 2 > cap)
        return 0;
    memcpy(ca, p->wire, n - 2);
    return n - 2;
}

static bool establish(struct pinpad *p, const uint8_t *d, size_t n, uint8_t *out, size_t cap,
                      size_t *out_len)
{
    /* bPinID, bLengthCHAT, CHAT, bLengthPIN, PIN, wLengthCertificateDescription, desc */
    if (n < 5)
        return false;
    uint8_t pin_id = d[0];
    size_t i = 1 + 1 + (size_t)d[1];
    if (i >= n)
        return false;
    size_t pin_len = d[i];
    if (pin_len != 0) /* a PIN pad takes the password from its keypad only */
        return answer(0xD0000002u, NULL, 0, out, cap, out_len);
    if (pin_id != 1 && pin_id != 2)
        return answer(0xE0000003u, NULL, 0, out, cap, out_len);

    pinpad_reset(p);
    uint8_t ca[1024];
    uint16_t sw;
    size_t ca_len = read_cardaccess(p, ca, sizeof ca, &sw);
    struct security_infos infos;
    size_t idx;
    if (!ca_len || cardaccess_parse(ca, ca_len, &infos) != CARDACCESS_OK ||
        cardaccess_select_pace(&infos, &idx) != CARDACCESS_OK)
        return answer(0xE0000002u, NULL, 0, out, cap, out_len);
    size_t cmd_len, rlen;
    unsigned flags = cardaccess_pace_ambiguous(&infos, idx) ? PACE_FLAG_SEND_PARAMETER_ID : 0;
    enum pace_err e =
        pace_begin(&p->pace, &infos.pace[idx], pin_id == 2 ? PACE_PASSWORD_CAN : PACE_PASSWORD_MRZ,
                   (const uint8_t *)p->keypad, strlen(p->keypad), flags, rng, NULL, &p->groups,
                   p->buf, sizeof p->buf, &cmd_len);
    uint16_t mse_sw = 0x9000;
    for (int step = 0; e == PACE_OK && cmd_len; step++) {
        if (p->card(p->card_ctx, p->buf, cmd_len, p->wire, sizeof p->wire, &rlen) != 0)
            return answer(0xF0100001u, NULL, 0, out, cap, out_len);
        uint16_t rsw = rlen >= 2 ? (uint16_t)(p->wire[rlen - 2] << 8 | p->wire[rlen - 1]) : 0;
        if (step == 0)
            mse_sw = rsw;
        e = pace_step(&p->pace, p->wire, rlen, p->buf, sizeof p->buf, &cmd_len);
        if (e != PACE_OK) {
            /* 0xF00s0000 | SW: the step s (MSE:Set AT = 0, General Authenticate 1..4). */
            pinpad_reset(p);
            return answer(0xF0000000u | (uint32_t)step << 16 | rsw, NULL, 0, out, cap, out_len);
        }
    }
    if (e != PACE_OK) {
        pinpad_reset(p);
        return answer(0xE0000002u, NULL, 0, out, cap, out_len);
    }
    struct pace_result res;
    if (pace_get_result(&p->pace, &res) != PACE_OK) {
        pinpad_reset(p);
        return answer(0xE0000002u, NULL, 0, out, cap, out_len);
    }
    static const uint8_t zero[ICAO_MAX_BLOCK_LEN];
    p->sm_on = sm_init(&p->sm, res.cipher, res.ks_enc, res.ks_mac, zero) == SM_OK;
    /* Output: MSE:Set AT SW, EF.CardAccess, CARcurr, CARprev (none), ID_ICC. */
    uint8_t o[1200];
    size_t k = 0;
    o[k++] = (uint8_t)(mse_sw >> 8);
    o[k++] = (uint8_t)mse_sw;
    put_le(o + k, (uint32_t)ca_len, 2);
    k += 2;
    memcpy(o + k, ca, ca_len);
    k += ca_len;
    o[k++] = 0;
    o[k++] = 0;
    size_t id_len = res.pk_ic_len < 100 ? res.pk_ic_len : 100;
    put_le(o + k, (uint32_t)id_len, 2);
    k += 2;
    memcpy(o + k, res.pk_ic, id_len);
    k += id_len;
    wipe(&res, sizeof res);
    pace_wipe(&p->pace);
    return p->sm_on ? answer(0, o, k, out, cap, out_len)
                    : answer(0xE0000002u, NULL, 0, out, cap, out_len);
}

bool pinpad_execute_pace(struct pinpad *p, const uint8_t *in, size_t n, uint8_t *out, size_t cap,
                         size_t *out_len)
{
    if (n < 3 || (size_t)(in[1] | in[2] << 8) != n - 3)
        return false;
    switch (in[0]) {
    case 0x01: {
        /* GetReaderPACECapabilities: bLength 1, PACE supported (bit 0x40) in AMD1's byte. */
        static const uint8_t caps[] = {0x01, 0x40};
        return answer(0, caps, sizeof caps, out, cap, out_len);
    }
    case 0x02: return establish(p, in + 3, n - 3, out, cap, out_len);
    case 0x03: pinpad_reset(p); return answer(0, NULL, 0, out, cap, out_len);
    default: return answer(0xD0000002u, NULL, 0, out, cap, out_len);
    }
}

int pinpad_transmit(struct pinpad *p, const uint8_t *cmd, size_t n, uint8_t *resp, size_t cap,
                    size_t *rlen)
{
    if (!p->sm_on)
        return p->card(p->card_ctx, cmd, n, resp, cap, rlen);
    struct apdu a, prot;
    enum apdu_case c;
    size_t wl, rl;
    if (apdu_decode(cmd, n, &a, &c) != APDU_OK ||
        sm_wrap_command(&p->sm, &a, p->buf, sizeof p->buf, &prot) != SM_OK ||
        apdu_encode(&prot, p->wire, sizeof p->wire, &wl) != APDU_OK)
        return -1;
    if (p->card(p->card_ctx, p->wire, wl, p->buf, sizeof p->buf, &rl) != 0)
        return -1;
    struct rapdu r;
    if (rl == 2) {
        /* A bare status word: the card ended secure messaging (9303-11 §9.8). */
        pinpad_reset(p);
        if (cap < 2)
            return -1;
        memcpy(resp, p->buf, 2);
        *rlen = 2;
        return 0;
    }
    uint8_t plain[8192];
    if (sm_unwrap_response(&p->sm, p->buf, rl, plain, sizeof plain, &r) != SM_OK) {
        pinpad_reset(p);
        return -1;
    }
    return rapdu_encode(r.data, r.len, r.sw, resp, cap, rlen) == APDU_OK ? 0 : -1;
}

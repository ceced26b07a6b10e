#include "vcard.h"

#include <string.h>

#include "hawiya/wipe.h"

#define INS_SELECT           0xA4
#define INS_READ_BINARY      0xB0
#define INS_READ_BINARY_ODD  0xB1
#define INS_GET_CHALLENGE    0x84
#define INS_INTERNAL_AUTH    0x88
#define INS_GENERAL_AUTH     0x86
#define INS_GENERAL_AUTH_ODD 0x87

const char *vcard_err_str(enum vcard_err e)
{
    switch (e) {
    case VCARD_OK: return "VCARD_OK";
    case VCARD_ERR_ARGS: return "VCARD_ERR_ARGS";
    case VCARD_ERR_BUFFER: return "VCARD_ERR_BUFFER";
    case VCARD_ERR_PERSONA: return "VCARD_ERR_PERSONA";
    case VCARD_ERR_TOO_MANY: return "VCARD_ERR_TOO_MANY";
    }
    return "VCARD_ERR_UNKNOWN";
}

enum vcard_err vcard_init(struct vcard *c, const struct persona *p, vcard_rng_fn rng, void *rng_ctx)
{
    if (!c || !p)
        return VCARD_ERR_ARGS;
    memset(c, 0, sizeof *c);
    c->current_applet = -1;
    if (vfs_build(&c->vfs, p->files, p->n_files, p->pool, NULL) != VFS_OK)
        return VCARD_ERR_PERSONA;
    c->persona = p;
    c->rng = rng;
    c->rng_ctx = rng_ctx;
    c->ready = true;
    vcard_reset(c);
    return VCARD_OK;
}

enum vcard_err vcard_register_applet(struct vcard *c, const struct vcard_applet *desc, void *ctx)
{
    if (!c || !c->ready || !desc || !desc->process || !desc->reset || desc->aid_len < 1 ||
        desc->aid_len > VFS_AID_MAX)
        return VCARD_ERR_ARGS;
    if (c->n_applets >= VCARD_MAX_APPLETS)
        return VCARD_ERR_TOO_MANY;
    c->applets[c->n_applets].desc = desc;
    c->applets[c->n_applets].ctx = ctx;
    c->n_applets++;
    return VCARD_OK;
}

static bool card_level(const struct vcard *c, int i)
{
    return (c->applets[i].desc->flags & VCARD_APPLET_CARD_LEVEL) != 0;
}

static void deselect_applet(struct vcard *c)
{
    if (c->current_applet >= 0) {
        int i = c->current_applet;
        c->current_applet = -1;
        if (!card_level(c, i))
            c->applets[i].desc->reset(c, c->applets[i].ctx);
    }
}

/* Lets applet i process the command; true if it answered. */
static bool applet_process(struct vcard *c, int i, const struct apdu *a, uint8_t *out, size_t cap,
                           size_t *rlen, uint16_t *sw)
{
    size_t n = 0;
    *sw = SW_NO_DIAGNOSIS;
    if (c->applets[i].desc->process(c, c->applets[i].ctx, a, out, cap, &n, sw) != VCARD_APPLET_DONE)
        return false;
    *rlen = n <= cap ? n : 0;
    if (n > cap)
        *sw = SW_NO_DIAGNOSIS;
    return true;
}

void vcard_reset(struct vcard *c)
{
    if (!c || !c->ready)
        return;
    vfs_reset(&c->vfs);
    c->current_applet = -1;
    for (size_t i = 0; i < c->n_applets; i++)
        c->applets[i].desc->reset(c, c->applets[i].ctx);
    wipe(c->challenge, sizeof c->challenge);
    c->challenge_len = 0;
}

size_t vcard_max_response_data(const struct vcard *c, size_t cap)
{
    size_t room = cap >= 2 ? cap - 2 : 0;
    return c->persona->max_ne < room ? c->persona->max_ne : room;
}

static uint32_t card_time(const struct persona_timing *t, uint8_t ins)
{
    switch (ins) {
    case INS_SELECT: return t->select_us;
    case INS_READ_BINARY:
    case INS_READ_BINARY_ODD: return t->read_binary_us;
    case INS_GET_CHALLENGE: return t->get_challenge_us;
    case INS_INTERNAL_AUTH: return t->internal_authenticate_us;
    case INS_GENERAL_AUTH:
    case INS_GENERAL_AUTH_ODD: return t->general_authenticate_us;
    }
    return t->default_us;
}

/* GET CHALLENGE (7816-4 §7.5.3): P1-P2 = 0000, no data, Le = 8 as BAC uses it. */
static uint16_t get_challenge(struct vcard *c, const struct apdu *a, uint8_t *out, size_t cap,
                              size_t *rlen)
{
    if (a->p1 != 0 || a->p2 != 0)
        return SW_WRONG_P1P2;
    if (a->nc != 0 || a->ne != VCARD_CHALLENGE_MAX)
        return SW_WRONG_LENGTH;
    if (!c->rng)
        return SW_CONDITIONS_NOT_MET;
    if (cap < VCARD_CHALLENGE_MAX)
        return SW_NO_DIAGNOSIS;
    c->challenge_len = 0;
    if (c->rng(c->rng_ctx, c->challenge, VCARD_CHALLENGE_MAX) != 0) {
        wipe(c->challenge, sizeof c->challenge);
        return SW_NO_DIAGNOSIS;
    }
    c->challenge_len = VCARD_CHALLENGE_MAX;
    memcpy(out, c->challenge, VCARD_CHALLENGE_MAX);
    *rlen = VCARD_CHALLENGE_MAX;
    return SW_OK;
}

uint16_t vcard_fs_command(struct vcard *c, const struct apdu *a, unsigned sec, uint8_t *out,
                          size_t cap, size_t *rlen)
{
    *rlen = 0;
    switch (a->ins) {
    case INS_SELECT: return vfs_select(&c->vfs, a, out, cap, rlen);
    case INS_READ_BINARY:
    case INS_READ_BINARY_ODD: return vfs_read_binary(&c->vfs, a, sec, out, cap, rlen);
    case INS_GET_CHALLENGE: return get_challenge(c, a, out, cap, rlen);
    }
    return SW_INS_NOT_SUPPORTED;
}

/*
 * The class byte for a plain command to the base commands (7816-4 §5.4.1
 * Tables 2 and 3): first interindustry 000x xxxx with no chaining, no
 * secure messaging and the basic channel only. Everything else is refused
 * with the status word that says why.
 */
static uint16_t check_plain_cla(uint8_t cla)
{
    if (cla & 0x80 || (cla & 0xE0) == 0x20)
        return SW_CLA_NOT_SUPPORTED; /* proprietary (incl. FF, PPS) or RFU */
    if (cla & 0x40)
        return SW_LOGICAL_CHANNEL_NS; /* further interindustry: channels 4..19 */
    if (cla & 0x10)
        return SW_CHAINING_NS;
    if (cla & 0x0C)
        return SW_SM_NOT_SUPPORTED;
    if (cla & 0x03)
        return SW_LOGICAL_CHANNEL_NS;
    return SW_OK;
}

/* The registered applet whose AID begins with the (possibly truncated) DF name, or -1. */
static int find_applet(const struct vcard *c, const uint8_t *name, size_t len)
{
    for (size_t i = 0; i < c->n_applets; i++) {
        const struct vcard_applet *d = c->applets[i].desc;
        if (len >= 1 && len <= d->aid_len && memcmp(d->aid, name, len) == 0)
            return (int)i;
    }
    return -1;
}

/* SELECT by DF name of a registered applet: the file system follows if it has that DF. */
static uint16_t select_applet(struct vcard *c, int j, const struct apdu *a, uint8_t *out,
                              size_t cap, size_t *rlen)
{
    const struct vcard_applet *d = c->applets[j].desc;
    uint16_t sw = SW_OK;
    *rlen = 0;
    if (vfs_find_df_by_name(&c->vfs, d->aid, d->aid_len) >= 0) {
        sw = vfs_select(&c->vfs, a, out, cap, rlen);
        if (sw != SW_OK)
            return sw;
    } else if ((a->p2 & 0xF3) != 0) {
        return SW_WRONG_P1P2;
    }
    /* Selecting an application again ends its session (and any secure messaging). */
    deselect_applet(c);
    c->current_applet = j;
    return sw;
}

static uint16_t dispatch(struct vcard *c, const struct apdu *a, uint8_t *out, size_t cap,
                         size_t *rlen)
{
    const struct persona *p = c->persona;
    *rlen = 0;

    if (a->cla == 0xFF)
        return SW_CLA_NOT_SUPPORTED;
    /* The card's capacity (7816-4 §5.1, EF.ATR/INFO extended length information). */
    if ((a->extended && !p->extended_length) || a->nc > p->max_nc)
        return SW_WRONG_LENGTH;

    uint16_t sw;
    for (size_t i = 0; i < c->n_applets; i++)
        if (card_level(c, (int)i) && applet_process(c, (int)i, a, out, cap, rlen, &sw))
            return sw;

    if (a->cla == 0x00 && a->ins == INS_SELECT && a->p1 == 0x04 && a->nc >= 1) {
        int j = find_applet(c, a->data, a->nc);
        if (j >= 0)
            return select_applet(c, j, a, out, cap, rlen);
        /* Leaving the applet for another application: the applet's session ends. */
        deselect_applet(c);
    }

    if (c->current_applet >= 0 && !card_level(c, c->current_applet) &&
        applet_process(c, c->current_applet, a, out, cap, rlen, &sw))
        return sw;

    sw = check_plain_cla(a->cla);
    if (sw != SW_OK)
        return sw;
    return vcard_fs_command(c, a, VFS_SEC_NONE, out, cap, rlen);
}

enum vcard_err vcard_apdu(struct vcard *c, const uint8_t *cmd, size_t n, uint8_t *resp, size_t cap,
                          size_t *rlen, uint32_t *card_time_us)
{
    if (!c || !c->ready || (!cmd && n) || !resp || !rlen)
        return VCARD_ERR_ARGS;
    *rlen = 0;
    if (card_time_us)
        *card_time_us = card_time(&c->persona->timing, n >= 2 ? cmd[1] : 0);
    if (cap < 2)
        return VCARD_ERR_BUFFER;

    struct apdu a;
    size_t len = 0;
    uint16_t sw;
    /* Any command the §5.1 length rules reject is answered "wrong length". */
    if (apdu_decode(cmd, n, &a, NULL) != APDU_OK)
        sw = SW_WRONG_LENGTH;
    else
        sw = dispatch(c, &a, resp, vcard_max_response_data(c, cap), &len);
    resp[len] = (uint8_t)(sw >> 8);
    resp[len + 1] = (uint8_t)sw;
    *rlen = len + 2;
    return VCARD_OK;
}

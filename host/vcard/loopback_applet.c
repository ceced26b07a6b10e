#include "loopback_applet.h"

static enum vcard_applet_result loopback_process(struct vcard *c, void *ctx, const struct apdu *a,
                                                 uint8_t *out, size_t cap, size_t *rlen,
                                                 uint16_t *sw)
{
    (void)c;
    (void)ctx;
    *rlen = 0;
    if (a->cla != 0x00 || a->ins != LOOPBACK_INS) {
        *sw = SW_INS_NOT_SUPPORTED;
        return VCARD_APPLET_DONE;
    }
    for (size_t i = 0; i < a->nc; i++)
        if (a->data[i] != (uint8_t)(a->p1 + i)) {
            *sw = SW_WRONG_DATA;
            return VCARD_APPLET_DONE;
        }
    size_t n = a->ne < cap ? a->ne : cap;
    for (size_t i = 0; i < n; i++)
        out[i] = (uint8_t)(a->p2 + i);
    *rlen = n;
    *sw = SW_OK;
    return VCARD_APPLET_DONE;
}

static void loopback_reset(struct vcard *c, void *ctx)
{
    (void)c;
    (void)ctx;
}

static const struct vcard_applet loopback_desc = {
    .name = "loopback",
    .aid = LOOPBACK_AID,
    .aid_len = LOOPBACK_AID_LEN,
    .process = loopback_process,
    .reset = loopback_reset,
};

enum vcard_err loopback_applet_register(struct vcard *c)
{
    return vcard_register_applet(c, &loopback_desc, NULL);
}

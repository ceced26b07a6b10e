/* Type A codecs shared by both roles: UID CLn (14443-3 6.5.4), ATS (14443-4 5.2). */
#include <string.h>

#include "hawiya/iso14443a.h"

bool iso14443a_uid_cln(const uint8_t *uid, size_t uid_len, unsigned level, uint8_t cln[5])
{
    /* 6.5.4 Table 6: a cascade tag opens CLn whenever a further level follows. */
    size_t levels = uid_len == 4 ? 1 : uid_len == 7 ? 2 : uid_len == 10 ? 3 : 0;
    if (level < 1 || level > levels)
        return false;
    size_t off = 3 * (level - 1);
    if (level < levels) {
        cln[0] = ISO14443A_CT;
        memcpy(cln + 1, uid + off, 3);
    } else {
        memcpy(cln, uid + off, 4);
    }
    cln[4] = (uint8_t)(cln[0] ^ cln[1] ^ cln[2] ^ cln[3]);
    return true;
}

enum iso14443_err iso14443a_ats_parse(const uint8_t *p, size_t n, struct iso14443a_ats *out)
{
    memset(out, 0, sizeof *out);
    /* 5.2.2 to 5.2.6: defaults for whatever T0 does not announce. */
    out->fsci = 2;
    out->fwi = ISO14443_FWI_DEFAULT;
    out->cid = true;
    if (n < 1 || n > ISO14443A_ATS_MAX || p[0] != n)
        return ISO14443_ERR_ATS;
    memcpy(out->raw, p, n);
    out->len = n;
    if (n == 1)
        return ISO14443_OK;
    uint8_t t0 = p[1];
    size_t i = 2;
    out->fsci = t0 & 0x0F;
    out->ta_present = (t0 & 0x10) != 0;
    out->tb_present = (t0 & 0x20) != 0;
    out->tc_present = (t0 & 0x40) != 0;
    size_t need = i + out->ta_present + out->tb_present + out->tc_present;
    if (need > n)
        return ISO14443_ERR_ATS;
    if (out->ta_present) {
        out->ta = p[i++];
        if (out->ta & 0x08)
            out->ta = 0; /* b4 = 1 is RFU: only 106 kbit/s (5.2.4) */
    }
    if (out->tb_present) {
        out->fwi = p[i] >> 4;
        out->sfgi = p[i++] & 0x0F;
        if (out->fwi > ISO14443_FWI_MAX)
            out->fwi = ISO14443_FWI_DEFAULT;
        if (out->sfgi > ISO14443_FWI_MAX)
            out->sfgi = 0;
    }
    if (out->tc_present) {
        out->cid = (p[i] & 0x02) != 0;
        out->nad = (p[i++] & 0x01) != 0;
    }
    out->hist_off = i;
    out->hist_len = n - i;
    return ISO14443_OK;
}

void iso14443a_ats_rates(const struct iso14443a_ats *a, unsigned *ds, unsigned *dr, bool *same_d)
{
    iso14443_rate_masks(a->ta, ds, dr, same_d);
}

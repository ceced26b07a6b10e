/*
 * libFuzzer target for hawiya-pki's builders, on holder data no persona file
 * would hold. First byte 0: the rest is a dotted OID for pki_der_oid, which
 * must give PKI_OK or PKI_ERR_RANGE and, when OK, decode back to the same
 * text with mbedTLS's OID printer. Otherwise the bytes fill a persona_holder
 * (MRZ fields mapped into the 9303-3 character set, names as raw bytes):
 * pki_make_mrz may refuse (PKI_ERR_RANGE) but must never build an MRZ that
 * our parser rejects (PKI_ERR_MRZ_CHECK); DG1 and DG11 must be one strict
 * BER-TLV object of the right tag whose 5F1F / 5F0E hold the MRZ and name.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <mbedtls/oid.h>

#include "hawiya/mrz.h"
#include "hawiya/tlv.h"
#include "persona.h"
#include "pki.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char mrz_chars[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ<";

struct cursor {
    const uint8_t *p;
    size_t left;
};

static uint8_t take(struct cursor *c)
{
    if (c->left == 0)
        return 0;
    c->left--;
    return *c->p++;
}

/* len from the next byte mod (max - min + 1) + min, characters from `set` (mod its size). */
static void fill(struct cursor *c, char *dst, size_t min, size_t max, const char *set)
{
    size_t n = min + take(c) % (max - min + 1);
    size_t k = strlen(set);
    for (size_t i = 0; i < n; i++)
        dst[i] = set[take(c) % k];
    dst[n] = '\0';
}

static void fuzz_oid(const uint8_t *data, size_t size)
{
    char text[128];
    struct pki_buf b = {0};
    if (size >= sizeof text)
        return;
    memcpy(text, data, size);
    text[size] = '\0';
    if (strlen(text) != size)
        return;
    enum pki_err e = pki_der_oid(&b, text);
    if (e != PKI_OK && e != PKI_ERR_RANGE)
        __builtin_trap();
    if (e == PKI_OK) {
        mbedtls_asn1_buf oid = {.tag = 0x06, .len = b.len - 2, .p = b.p + 2};
        char back[256];
        if (b.len < 3 || b.p[0] != 0x06 || b.p[1] != b.len - 2)
            __builtin_trap();
        /* Leading zeros ("1.02") encode the same arc; compare only canonical text. */
        bool canonical = true;
        for (size_t i = 0; i + 1 < size; i++)
            if ((i == 0 || text[i - 1] == '.') && text[i] == '0' && text[i + 1] != '.')
                canonical = false;
        int n = mbedtls_oid_get_numeric_string(back, sizeof back, &oid);
        if (canonical && (n < 0 || strcmp(back, text) != 0))
            __builtin_trap();
    }
    pki_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (data[0] == 0) {
        fuzz_oid(data + 1, size - 1);
        return 0;
    }
    static const char *const types[] = {"ID", "I", "P", "PX", "AC", "C"};
    struct cursor c = {data + 1, size - 1};
    struct persona_holder h;
    memset(&h, 0, sizeof h);
    strcpy(h.document_type, types[data[0] % 6]);
    fill(&c, h.issuing_state, 1, 3, "ABCDEFGHIJKLMNOPQRSTUVWXYZ<");
    fill(&c, h.nationality, 1, 3, "ABCDEFGHIJKLMNOPQRSTUVWXYZ<");
    fill(&c, h.document_number, 1, PERSONA_DOCNUM_MAX, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ");
    fill(&c, h.surname, 1, PERSONA_NAME_MAX, "ABCDEFGHIJKLMNOPQRSTUVWXYZ");
    fill(&c, h.given_names, 0, PERSONA_NAME_MAX, mrz_chars + 10);
    fill(&c, h.birth_date, 6, 6, "0123456789");
    fill(&c, h.expiry_date, 6, 6, "0123456789");
    h.sex = "MF<"[take(&c) % 3];
    fill(&c, h.optional_data, 0, PERSONA_OPTDATA_MAX, mrz_chars);
    size_t un = take(&c) % (PERSONA_UTF8_NAME_MAX + 1);
    for (size_t i = 0; i < un; i++)
        h.surname_utf8[i] = (char)(take(&c) | 1); /* no NUL inside */

    struct pki_mrz m;
    enum pki_err e = pki_make_mrz(&h, &m);
    if (e != PKI_OK && e != PKI_ERR_RANGE)
        __builtin_trap();
    if (e == PKI_OK) {
        size_t want = m.n_lines == 3 ? 30 : 44;
        if (m.line_len != want)
            __builtin_trap();
        for (size_t i = 0; i < m.n_lines; i++)
            if (strlen(m.line[i]) != want || strspn(m.line[i], mrz_chars) != want)
                __builtin_trap();
        struct pki_buf dg1 = {0};
        struct tlv t, mrz;
        if (pki_make_dg1(&h, &dg1) != PKI_OK)
            __builtin_trap();
        if (tlv_parse(dg1.p, dg1.len, TLV_STRICT, &t) != TLV_OK || t.tag != 0x61 ||
            t.hdr_len + t.len != dg1.len || tlv_parse(t.value, t.len, TLV_STRICT, &mrz) != TLV_OK ||
            mrz.tag != 0x5F1F || mrz.len != m.n_lines * want ||
            memcmp(mrz.value, m.line[0], want) != 0)
            __builtin_trap();
        pki_buf_free(&dg1);
    }

    struct pki_buf dg11 = {0};
    struct tlv t, name;
    if (pki_make_dg11(&h, &dg11) != PKI_OK)
        __builtin_trap();
    if (tlv_parse(dg11.p, dg11.len, TLV_STRICT, &t) != TLV_OK || t.tag != 0x6B ||
        t.hdr_len + t.len != dg11.len || tlv_find(t.value, t.len, 0x5F0E, &name) != TLV_OK)
        __builtin_trap();
    if (h.surname_utf8[0] != '\0' &&
        (name.len != un + 2 || memcmp(name.value, h.surname_utf8, un) != 0))
        __builtin_trap();
    pki_buf_free(&dg11);
    return 0;
}

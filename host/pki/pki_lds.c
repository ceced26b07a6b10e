/*
 * The LDS files of the eMRTD application (ICAO Doc 9303-10 §4.6, §4.7) and
 * the SecurityInfos of EF.CardAccess and DG14 (9303-11 §9.2), built from a
 * persona's holder data and keys.
 */
#include <string.h>

#include "hawiya/cardaccess.h"
#include "hawiya/mrz.h"
#include "pki_internal.h"

/* Copies src into a field of `width` characters, '<'-filled; false if it does not fit. */
static bool field(char *dst, const char *src, size_t width)
{
    size_t n = strlen(src);
    if (n > width)
        return false;
    memcpy(dst, src, n);
    memset(dst + n, '<', width - n);
    return true;
}

static char cd(const char *s, size_t n)
{
    int d = mrz_check_digit(s, n);
    return d < 0 ? '?' : (char)('0' + d);
}

/* Part 3 §4.9 over the concatenation of spans of one line. */
static char cd_spans(const char *line, const size_t (*spans)[2], size_t n_spans)
{
    char all[64];
    size_t n = 0;
    for (size_t i = 0; i < n_spans; i++) {
        memcpy(all + n, line + spans[i][0], spans[i][1] - spans[i][0]);
        n += spans[i][1] - spans[i][0];
    }
    return cd(all, n);
}

/* TD1, 9303-5 §4.2: 3 lines of 30. */
static enum pki_err make_td1(const struct persona_holder *h, const char *doc_code, const char *name,
                             struct pki_mrz *m)
{
    char *l1 = m->line[0], *l2 = m->line[1], *l3 = m->line[2];
    size_t dn = strlen(h->document_number);
    size_t od = strlen(h->optional_data);
    memcpy(l1, doc_code, 2);
    if (!field(l1 + 2, h->issuing_state, 3))
        return PKI_ERR_RANGE;
    if (dn <= 9) {
        field(l1 + 5, h->document_number, 9);
        l1[14] = cd(l1 + 5, 9);
        /* optional data: 15 characters on line 1, then 11 on line 2 */
        char opt1[16] = {0};
        memcpy(opt1, h->optional_data, od < 15 ? od : 15);
        field(l1 + 15, opt1, 15);
        if (!field(l2 + 18, od > 15 ? h->optional_data + 15 : "", 11))
            return PKI_ERR_RANGE;
    } else {
        /* 9303-5 note j: a long number continues in the optional data with its check digit. */
        char rest[16] = {0};
        if (dn - 9 > 14)
            return PKI_ERR_RANGE;
        memcpy(l1 + 5, h->document_number, 9);
        l1[14] = '<';
        memcpy(rest, h->document_number + 9, dn - 9);
        rest[dn - 9] = cd(h->document_number, dn);
        field(l1 + 15, rest, 15);
        if (!field(l2 + 18, h->optional_data, 11))
            return PKI_ERR_RANGE;
    }
    memcpy(l2, h->birth_date, 6);
    l2[6] = cd(l2, 6);
    l2[7] = h->sex;
    memcpy(l2 + 8, h->expiry_date, 6);
    l2[14] = cd(l2 + 8, 6);
    if (!field(l2 + 15, h->nationality, 3))
        return PKI_ERR_RANGE;
    /* Composite (9303-5 §4.2.2.1): line 1 after the state, and line 2's dates and optional data. */
    char all[64];
    memcpy(all, l1 + 5, 25);
    memcpy(all + 25, l2, 7);
    memcpy(all + 32, l2 + 8, 7);
    memcpy(all + 39, l2 + 18, 11);
    l2[29] = cd(all, 50);
    /* The name is truncated to the field, as 9303-3 §4.6 allows. */
    char nm[31] = {0};
    strncpy(nm, name, 30);
    field(l3, nm, 30);
    m->n_lines = 3;
    m->line_len = 30;
    return PKI_OK;
}

/* TD3, 9303-4 §4.2: 2 lines of 44. */
static enum pki_err make_td3(const struct persona_holder *h, const char *doc_code, const char *name,
                             struct pki_mrz *m)
{
    char *l1 = m->line[0], *l2 = m->line[1];
    memcpy(l1, doc_code, 2);
    if (!field(l1 + 2, h->issuing_state, 3))
        return PKI_ERR_RANGE;
    char nm[40] = {0};
    strncpy(nm, name, 39);
    field(l1 + 5, nm, 39);
    if (!field(l2, h->document_number, 9))
        return PKI_ERR_RANGE;
    l2[9] = cd(l2, 9);
    if (!field(l2 + 10, h->nationality, 3))
        return PKI_ERR_RANGE;
    memcpy(l2 + 13, h->birth_date, 6);
    l2[19] = cd(l2 + 13, 6);
    l2[20] = h->sex;
    memcpy(l2 + 21, h->expiry_date, 6);
    l2[27] = cd(l2 + 21, 6);
    if (!field(l2 + 28, h->optional_data, 14))
        return PKI_ERR_RANGE;
    /* An unused personal number may have '<' as its check digit (9303-4 note). */
    l2[42] = h->optional_data[0] == '\0' ? '<' : cd(l2 + 28, 14);
    static const size_t spans[3][2] = {{0, 10}, {13, 20}, {21, 43}};
    l2[43] = cd_spans(l2, spans, 3);
    m->n_lines = 2;
    m->line_len = 44;
    return PKI_OK;
}

enum pki_err pki_make_mrz(const struct persona_holder *h, struct pki_mrz *out)
{
    char doc_code[3] = "<<";
    char name[PERSONA_NAME_MAX * 2 + 8];
    memset(out, 0, sizeof *out);
    size_t tl = strlen(h->document_type);
    if (tl < 1 || tl > 2)
        return PKI_ERR_RANGE;
    memcpy(doc_code, h->document_type, tl);
    persona_mrz_name(h, name, sizeof name);
    enum pki_err e = h->document_type[0] == 'P' ? make_td3(h, doc_code, name, out)
                                                : make_td1(h, doc_code, name, out);
    if (e != PKI_OK) {
        memset(out, 0, sizeof *out);
        return e;
    }
    /* Self-check with our own parser: every check digit, composite included. */
    const char *lines[3] = {out->line[0], out->line[1], out->line[2]};
    struct mrz parsed;
    if (mrz_parse(lines, out->n_lines, &parsed) != MRZ_OK || parsed.cd_fail != 0 ||
        strcmp(parsed.document_number, h->document_number) != 0) {
        memset(out, 0, sizeof *out);
        return PKI_ERR_MRZ_CHECK;
    }
    return PKI_OK;
}

enum pki_err pki_make_dg1(const struct persona_holder *h, struct pki_buf *out)
{
    struct pki_mrz m;
    struct pki_buf in = {0};
    enum pki_err e = pki_make_mrz(h, &m);
    for (size_t i = 0; e == PKI_OK && i < m.n_lines; i++)
        e = pki_buf_append(&in, m.line[i], m.line_len);
    struct pki_buf mrz = {0};
    if (e == PKI_OK)
        e = der_put(&mrz, 0x5F1F, in.p, in.len);
    pki_buf_free(&in);
    if (e == PKI_OK)
        e = der_wrap(out, 0x61, &mrz);
    pki_buf_free(&mrz);
    return e;
}

enum pki_err pki_make_com(struct pki_buf *out)
{
    /* LDS version 1.7 and Unicode 4.0.0 (9303-10 §4.6.1); the tags of the DGs present. */
    static const uint8_t tags[] = {0x61, 0x75, 0x6B, 0x6E, 0x6F};
    struct pki_buf c = {0};
    enum pki_err e = der_put(&c, 0x5F01, "0107", 4);
    if (e == PKI_OK)
        e = der_put(&c, 0x5F36, "040000", 6);
    if (e == PKI_OK)
        e = der_put(&c, 0x5C, tags, sizeof tags);
    if (e == PKI_OK)
        e = der_wrap(out, 0x60, &c);
    pki_buf_free(&c);
    return e;
}

/*
 * DG2 (9303-10 §4.7.2): one biometric information template with a small
 * placeholder facial record: an ISO/IEC 19794-5 header ("FAC", version
 * "010") with one face, no feature points, and a JPEG-framed filler where
 * the image would be. It has the right structure and size, not a face.
 */
enum pki_err pki_make_dg2(struct pki_buf *out, const char *persona_id)
{
    uint8_t blob[1024];
    size_t n = 0;
    memset(blob, 0, sizeof blob);
    memcpy(blob,
           "FAC\0"
           "010\0",
           8);
    n = 8;
    uint32_t total = sizeof blob;
    blob[n++] = (uint8_t)(total >> 24);
    blob[n++] = (uint8_t)(total >> 16);
    blob[n++] = (uint8_t)(total >> 8);
    blob[n++] = (uint8_t)total;
    blob[n++] = 0x00; /* number of facial images: 1 */
    blob[n++] = 0x01;
    uint32_t block = total - 14;
    blob[n++] = (uint8_t)(block >> 24);
    blob[n++] = (uint8_t)(block >> 16);
    blob[n++] = (uint8_t)(block >> 8);
    blob[n++] = (uint8_t)block;
    n += 16; /* facial information: features, gender, eye colour, pose... all unspecified */
    blob[n++] = 0x01; /* image information: face image type full frontal */
    blob[n++] = 0x00; /* image data type: JPEG */
    n += 10;          /* width, height, colour space, source type, device, quality */
    blob[n++] = 0xFF; /* SOI */
    blob[n++] = 0xD8;
    size_t id_len = strlen(persona_id);
    for (size_t i = 0; n < sizeof blob - 2; i++)
        blob[n++] = id_len ? (uint8_t)persona_id[i % id_len] : (uint8_t)i;
    blob[n++] = 0xFF; /* EOI */
    blob[n++] = 0xD9;

    static const uint8_t header[] = {
        0x80, 0x02, 0x01, 0x01, /* ICAO header version 1.1 */
        0x81, 0x01, 0x02,       /* biometric type: facial features */
        0x87, 0x02, 0x01, 0x01, /* format owner: ISO/IEC JTC 1/SC 37 */
        0x88, 0x02, 0x00, 0x08, /* format type: face image (19794-5) */
    };
    struct pki_buf bit = {0}, bio = {0}, grp = {0};
    enum pki_err e = der_put(&bit, 0xA1, header, sizeof header);
    if (e == PKI_OK)
        e = der_put(&bit, 0x5F2E, blob, n);
    if (e == PKI_OK)
        e = der_wrap(&bio, 0x7F60, &bit);
    if (e == PKI_OK)
        e = der_put(&grp, 0x02, "\x01", 1); /* number of instances */
    if (e == PKI_OK)
        e = pki_buf_append(&grp, bio.p, bio.len);
    struct pki_buf t = {0};
    if (e == PKI_OK)
        e = der_wrap(&t, 0x7F61, &grp);
    if (e == PKI_OK)
        e = der_wrap(out, 0x75, &t);
    pki_buf_free(&bit);
    pki_buf_free(&bio);
    pki_buf_free(&grp);
    pki_buf_free(&t);
    return e;
}

/*
 * DG11 (9303-10 §4.7.11): tag list, full name in national characters
 * (primary and secondary identifiers separated by "<<"), personal number
 * when the persona has optional data, full date of birth YYYYMMDD.
 */
enum pki_err pki_make_dg11(const struct persona_holder *h, struct pki_buf *out)
{
    char name[2 * PERSONA_UTF8_NAME_MAX + 3];
    char dob[9];
    if (h->surname_utf8[0] != '\0' || h->given_names_utf8[0] != '\0') {
        strcpy(name, h->surname_utf8);
        strcat(name, "<<");
        strcat(name, h->given_names_utf8);
    } else {
        persona_mrz_name(h, name, sizeof name);
    }
    int yy = (h->birth_date[0] - '0') * 10 + (h->birth_date[1] - '0');
    bool c19 = yy > PKI_TEST_YEAR % 100;
    memcpy(dob, c19 ? "19" : "20", 2);
    memcpy(dob + 2, h->birth_date, 6);
    dob[8] = '\0';

    bool pn = h->optional_data[0] != '\0';
    uint8_t list[6] = {0x5F, 0x0E, 0x5F, 0x10, 0x5F, 0x2B};
    if (!pn) {
        list[2] = 0x5F;
        list[3] = 0x2B;
    }
    char number[PERSONA_OPTDATA_MAX + 1];
    strcpy(number, h->optional_data);
    for (char *p = number; *p; p++)
        if (*p == '<')
            *p = ' ';
    struct pki_buf c = {0};
    enum pki_err e = der_put(&c, 0x5C, list, pn ? 6 : 4);
    if (e == PKI_OK)
        e = der_put(&c, 0x5F0E, name, strlen(name));
    if (e == PKI_OK && pn)
        e = der_put(&c, 0x5F10, number, strlen(number));
    if (e == PKI_OK)
        e = der_put(&c, 0x5F2B, dob, 8);
    if (e == PKI_OK)
        e = der_wrap(out, 0x6B, &c);
    pki_buf_free(&c);
    return e;
}

/* SEQUENCE { OID, INTEGER version [, INTEGER parameterId] } */
static enum pki_err oid_int_seq(struct pki_buf *out, const char *oid, uint32_t version,
                                bool has_param, uint32_t param)
{
    struct pki_buf s = {0};
    enum pki_err e = pki_der_oid(&s, oid);
    if (e == PKI_OK)
        e = der_uint(&s, version);
    if (e == PKI_OK && has_param)
        e = der_uint(&s, param);
    if (e == PKI_OK)
        return der_wrap(out, DER_SEQUENCE, &s);
    pki_buf_free(&s);
    return e;
}

enum pki_err pki_make_cardaccess(struct pki_buf *out)
{
    struct pki_buf items[2] = {{0}, {0}};
    enum pki_err e = oid_int_seq(&items[0], OID_PACE_ECDH_GM_AES128, 2, true, PACE_PARAM_BP256R1);
    if (e == PKI_OK)
        e = oid_int_seq(&items[1], OID_PACE_ECDH_GM_AES128, 2, true, PACE_PARAM_SECP256R1);
    if (e == PKI_OK)
        e = der_set_of(out, DER_SET, items, 2);
    pki_buf_free(&items[0]);
    pki_buf_free(&items[1]);
    if (e != PKI_OK)
        return e;
    struct security_infos si;
    if (cardaccess_parse(out->p, out->len, &si) != CARDACCESS_OK || si.n_pace != 2)
        return PKI_ERR_SECINFO_CHECK;
    return PKI_OK;
}

/*
 * With PACE, DG14 repeats EF.CardAccess's PACEInfos: EF.CardAccess is not
 * covered by the SOD, DG14 is, so an inspection system can check them.
 */
enum pki_err pki_make_dg14(const struct pki_buf *ca_spki, bool with_pace, struct pki_buf *out)
{
    struct pki_buf items[5] = {{0}, {0}, {0}, {0}, {0}};
    size_t n_items = 3;
    struct pki_buf s = {0};
    /* ChipAuthenticationPublicKeyInfo (§9.2.6) */
    enum pki_err e = pki_der_oid(&s, OID_PK_ECDH);
    if (e == PKI_OK)
        e = pki_buf_append(&s, ca_spki->p, ca_spki->len);
    if (e == PKI_OK)
        e = der_wrap(&items[0], DER_SEQUENCE, &s);
    /* ChipAuthenticationInfo (§9.2.5), version 1, one key so no keyId */
    if (e == PKI_OK)
        e = oid_int_seq(&items[1], OID_CA_ECDH_AES128, 1, false, 0);
    /* ActiveAuthenticationInfo (§9.2.4): ECDSA AA names its signature algorithm */
    struct pki_buf aa = {0};
    if (e == PKI_OK)
        e = pki_der_oid(&aa, OID_AA);
    if (e == PKI_OK)
        e = der_uint(&aa, 1);
    if (e == PKI_OK)
        e = pki_der_oid(&aa, OID_ECDSA_PLAIN_SHA256);
    if (e == PKI_OK)
        e = der_wrap(&items[2], DER_SEQUENCE, &aa);
    if (e == PKI_OK && with_pace) {
        e = oid_int_seq(&items[3], OID_PACE_ECDH_GM_AES128, 2, true, PACE_PARAM_BP256R1);
        if (e == PKI_OK)
            e = oid_int_seq(&items[4], OID_PACE_ECDH_GM_AES128, 2, true, PACE_PARAM_SECP256R1);
        n_items = 5;
    }
    struct pki_buf set = {0};
    if (e == PKI_OK)
        e = der_set_of(&set, DER_SET, items, n_items);
    if (e == PKI_OK)
        e = der_wrap(out, 0x6E, &set);
    pki_buf_free(&s);
    pki_buf_free(&aa);
    pki_buf_free(&set);
    for (size_t i = 0; i < 5; i++)
        pki_buf_free(&items[i]);
    if (e != PKI_OK)
        return e;
    struct security_infos si;
    if (cardaccess_parse_dg14(out->p, out->len, &si) != CARDACCESS_OK || si.n_ca != 1 ||
        si.n_ca_pk != 1 || !si.has_aa || si.n_pace != (with_pace ? 2u : 0u))
        return PKI_ERR_SECINFO_CHECK;
    return PKI_OK;
}

enum pki_err pki_make_dg15(const struct pki_buf *aa_spki, struct pki_buf *out)
{
    return der_put(out, 0x6F, aa_spki->p, aa_spki->len);
}

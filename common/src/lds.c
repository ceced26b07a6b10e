#include "hawiya/lds.h"

#include <string.h>

#include <mbedtls/asn1.h>
#include <mbedtls/bignum.h>
#include <mbedtls/ecp.h>
#include <mbedtls/rsa.h>

#include "hawiya/tlv.h"

const char *lds_err_str(enum lds_err e)
{
    switch (e) {
    case LDS_OK: return "LDS_OK";
    case LDS_ERR_WRONG_TAG: return "LDS_ERR_WRONG_TAG";
    case LDS_ERR_TRUNCATED: return "LDS_ERR_TRUNCATED";
    case LDS_ERR_ENCODING: return "LDS_ERR_ENCODING";
    case LDS_ERR_TRAILING_DATA: return "LDS_ERR_TRAILING_DATA";
    case LDS_ERR_MISSING: return "LDS_ERR_MISSING";
    case LDS_ERR_DUPLICATE: return "LDS_ERR_DUPLICATE";
    case LDS_ERR_BAD_VALUE: return "LDS_ERR_BAD_VALUE";
    case LDS_ERR_BAD_UTF8: return "LDS_ERR_BAD_UTF8";
    case LDS_ERR_TOO_MANY: return "LDS_ERR_TOO_MANY";
    case LDS_ERR_MRZ: return "LDS_ERR_MRZ";
    case LDS_ERR_MRZ_CHECK_DIGIT: return "LDS_ERR_MRZ_CHECK_DIGIT";
    case LDS_ERR_SECURITY_INFOS: return "LDS_ERR_SECURITY_INFOS";
    case LDS_ERR_PUBLIC_KEY: return "LDS_ERR_PUBLIC_KEY";
    case LDS_ERR_UNSUPPORTED_KEY: return "LDS_ERR_UNSUPPORTED_KEY";
    }
    return "LDS_ERR_UNKNOWN";
}

/* 9303-10 LDS1 file table: EF.COM, DG1..DG16, EF.SOD. */
static const struct lds_file files[] = {
    {LDS_EF_COM, 0x60, 0x011E, 0x1E, "EF.COM"},
    {1, 0x61, 0x0101, 0x01, "DG1"},
    {2, 0x75, 0x0102, 0x02, "DG2"},
    {3, 0x63, 0x0103, 0x03, "DG3"},
    {4, 0x76, 0x0104, 0x04, "DG4"},
    {5, 0x65, 0x0105, 0x05, "DG5"},
    {6, 0x66, 0x0106, 0x06, "DG6"},
    {7, 0x67, 0x0107, 0x07, "DG7"},
    {8, 0x68, 0x0108, 0x08, "DG8"},
    {9, 0x69, 0x0109, 0x09, "DG9"},
    {10, 0x6A, 0x010A, 0x0A, "DG10"},
    {11, 0x6B, 0x010B, 0x0B, "DG11"},
    {12, 0x6C, 0x010C, 0x0C, "DG12"},
    {13, 0x6D, 0x010D, 0x0D, "DG13"},
    {14, 0x6E, 0x010E, 0x0E, "DG14"},
    {15, 0x6F, 0x010F, 0x0F, "DG15"},
    {16, 0x70, 0x0110, 0x10, "DG16"},
    {LDS_EF_SOD, 0x77, 0x011D, 0x1D, "EF.SOD"},
};

#define N_FILES (sizeof files / sizeof files[0])

const struct lds_file *lds_file_by_number(unsigned number)
{
    for (size_t i = 0; i < N_FILES; i++)
        if (files[i].number == number)
            return &files[i];
    return NULL;
}

const struct lds_file *lds_file_by_tag(uint8_t tag)
{
    for (size_t i = 0; i < N_FILES; i++)
        if (files[i].tag == tag)
            return &files[i];
    return NULL;
}

const struct lds_file *lds_file_by_fid(uint16_t fid)
{
    for (size_t i = 0; i < N_FILES; i++)
        if (files[i].fid == fid)
            return &files[i];
    return NULL;
}

const struct lds_file *lds_file_by_sfi(uint8_t sfi)
{
    for (size_t i = 0; i < N_FILES; i++)
        if (files[i].sfi == sfi)
            return &files[i];
    return NULL;
}

static enum lds_err map_tlv(enum tlv_err e)
{
    if (e == TLV_ERR_TRUNCATED || e == TLV_ERR_VALUE_OVERRUN)
        return LDS_ERR_TRUNCATED;
    return LDS_ERR_ENCODING;
}

/* The file's single outer object, with its expected tag and nothing after it. */
static enum lds_err outer(const uint8_t *buf, size_t len, uint32_t tag, struct tlv *o)
{
    if (buf == NULL || len == 0)
        return LDS_ERR_TRUNCATED;
    enum tlv_err te = tlv_parse(buf, len, 0, o);
    if (te != TLV_OK)
        return map_tlv(te);
    if (o->tag != tag || !o->constructed)
        return LDS_ERR_WRONG_TAG;
    if (o->hdr_len + o->len != len)
        return LDS_ERR_TRAILING_DATA;
    return LDS_OK;
}

static bool all_digits(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] < '0' || p[i] > '9')
            return false;
    return true;
}

/* --- EF.COM -------------------------------------------------------------- */

static enum lds_err com_fill(const struct tlv *o, struct lds_com *out)
{
    struct tlv_iter it;
    struct tlv t;
    bool have_lds = false, have_uni = false, have_list = false;
    enum tlv_err te;

    tlv_iter_init(&it, o->value, o->len, 0);
    while ((te = tlv_iter_next(&it, &t)) == TLV_OK) {
        if (t.tag == 0x5F01) {
            if (have_lds)
                return LDS_ERR_DUPLICATE;
            if (t.len != 4 || !all_digits(t.value, 4))
                return LDS_ERR_BAD_VALUE;
            memcpy(out->lds_version, t.value, 4);
            have_lds = true;
        } else if (t.tag == 0x5F36) {
            if (have_uni)
                return LDS_ERR_DUPLICATE;
            if (t.len != 6 || !all_digits(t.value, 6))
                return LDS_ERR_BAD_VALUE;
            memcpy(out->unicode_version, t.value, 6);
            have_uni = true;
        } else if (t.tag == 0x5C) {
            if (have_list)
                return LDS_ERR_DUPLICATE;
            if (t.len > LDS_DG_MAX)
                return LDS_ERR_TOO_MANY;
            for (size_t i = 0; i < t.len; i++) {
                const struct lds_file *f = lds_file_by_tag(t.value[i]);
                if (f == NULL || f->number < 1 || f->number > LDS_DG_MAX)
                    return LDS_ERR_BAD_VALUE;
                for (size_t j = 0; j < i; j++)
                    if (t.value[j] == t.value[i])
                        return LDS_ERR_DUPLICATE;
                out->tags[i] = t.value[i];
            }
            out->n_tags = t.len;
            have_list = true;
        }
        /* Other objects: later LDS versions may add some; ignore them. */
    }
    if (te != TLV_ERR_END)
        return map_tlv(te);
    if (!have_lds || !have_uni || !have_list)
        return LDS_ERR_MISSING;
    return LDS_OK;
}

enum lds_err lds_com_parse(const uint8_t *buf, size_t len, struct lds_com *out)
{
    struct tlv o;
    memset(out, 0, sizeof *out);
    enum lds_err e = outer(buf, len, 0x60, &o);
    if (e == LDS_OK)
        e = com_fill(&o, out);
    if (e != LDS_OK)
        memset(out, 0, sizeof *out);
    return e;
}

/* --- DG1 ----------------------------------------------------------------- */

static enum lds_err dg1_fill(const struct tlv *o, struct lds_dg1 *out)
{
    struct tlv t;
    enum tlv_err te = tlv_parse(o->value, o->len, 0, &t);
    if (te != TLV_OK)
        return map_tlv(te);
    if (t.tag != 0x5F1F)
        return LDS_ERR_MISSING;
    if (t.hdr_len + t.len != o->len)
        return LDS_ERR_TRAILING_DATA;

    size_t nlines, width;
    if (t.len == 90) {
        nlines = 3, width = 30;
    } else if (t.len == 72) {
        nlines = 2, width = 36;
    } else if (t.len == 88) {
        nlines = 2, width = 44;
    } else {
        return LDS_ERR_MRZ;
    }
    char lines[3][45];
    const char *ptrs[3];
    for (size_t i = 0; i < nlines; i++) {
        memcpy(lines[i], t.value + i * width, width);
        lines[i][width] = '\0';
        /* A NUL inside the MRZ would shorten the line: mrz_parse rejects the shape. */
        ptrs[i] = lines[i];
    }
    if (mrz_parse(ptrs, nlines, &out->mrz) != MRZ_OK)
        return LDS_ERR_MRZ;
    if (out->mrz.cd_fail != 0) {
        out->cd_fail = out->mrz.cd_fail;
        return LDS_ERR_MRZ_CHECK_DIGIT;
    }
    return LDS_OK;
}

enum lds_err lds_dg1_parse(const uint8_t *buf, size_t len, struct lds_dg1 *out)
{
    struct tlv o;
    memset(out, 0, sizeof *out);
    enum lds_err e = outer(buf, len, 0x61, &o);
    if (e == LDS_OK)
        e = dg1_fill(&o, out);
    if (e != LDS_OK) {
        unsigned cd = out->cd_fail;
        memset(out, 0, sizeof *out);
        if (e == LDS_ERR_MRZ_CHECK_DIGIT)
            out->cd_fail = cd;
    }
    return e;
}

/* --- DG2 ----------------------------------------------------------------- */

enum lds_err lds_dg2_parse(const uint8_t *buf, size_t len, struct lds_dg2 *out)
{
    struct tlv o;
    memset(out, 0, sizeof *out);
    enum lds_err e = outer(buf, len, 0x75, &o);
    if (e != LDS_OK)
        return e;
    out->value = o.value;
    out->len = o.len;
    return LDS_OK;
}

/* --- DG11 ---------------------------------------------------------------- */

bool lds_utf8_valid(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        size_t more;
        uint32_t cp, min;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            more = 1, cp = c & 0x1Fu, min = 0x80;
        } else if (c >= 0xE0 && c <= 0xEF) {
            more = 2, cp = c & 0x0Fu, min = 0x800;
        } else if (c >= 0xF0 && c <= 0xF4) {
            more = 3, cp = c & 0x07u, min = 0x10000;
        } else {
            return false;
        }
        if (n - i - 1 < more)
            return false;
        for (size_t k = 1; k <= more; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
            cp = cp << 6 | (s[i + k] & 0x3Fu);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += more + 1;
    }
    return true;
}

static enum lds_err set_field(struct lds_bytes *f, const struct tlv *t, bool text)
{
    if (f->p != NULL)
        return LDS_ERR_DUPLICATE;
    if (text && !lds_utf8_valid(t->value, t->len))
        return LDS_ERR_BAD_UTF8;
    /* An empty value gets a non-NULL pointer so that "present" stays visible. */
    f->p = t->value != NULL ? t->value : (const uint8_t *)"";
    f->len = t->len;
    return LDS_OK;
}

static enum lds_err add_other_name(struct lds_dg11 *out, const struct tlv *t)
{
    if (out->n_other_names >= LDS_DG11_MAX_OTHER_NAMES)
        return LDS_ERR_TOO_MANY;
    if (!lds_utf8_valid(t->value, t->len))
        return LDS_ERR_BAD_UTF8;
    struct lds_bytes *f = &out->other_names[out->n_other_names++];
    f->p = t->value != NULL ? t->value : (const uint8_t *)"";
    f->len = t->len;
    return LDS_OK;
}

/* A0 { 02 number of other names, 5F0F name ... }: the count must match. */
static enum lds_err dg11_other_names(const struct tlv *a0, struct lds_dg11 *out)
{
    struct tlv_iter it;
    struct tlv t;
    enum tlv_err te;
    bool have_count = false;
    size_t count = 0, seen = 0;

    tlv_iter_init(&it, a0->value, a0->len, 0);
    while ((te = tlv_iter_next(&it, &t)) == TLV_OK) {
        if (t.tag == 0x02) {
            if (have_count || seen != 0)
                return have_count ? LDS_ERR_DUPLICATE : LDS_ERR_BAD_VALUE;
            if (t.len != 1)
                return LDS_ERR_BAD_VALUE;
            count = t.value[0];
            have_count = true;
        } else if (t.tag == 0x5F0F) {
            if (!have_count)
                return LDS_ERR_MISSING;
            enum lds_err e = add_other_name(out, &t);
            if (e != LDS_OK)
                return e;
            seen++;
        } else {
            return LDS_ERR_BAD_VALUE;
        }
    }
    if (te != TLV_ERR_END)
        return map_tlv(te);
    if (!have_count)
        return LDS_ERR_MISSING;
    if (seen != count)
        return LDS_ERR_BAD_VALUE;
    return LDS_OK;
}

static enum lds_err dg11_fill(const struct tlv *o, struct lds_dg11 *out)
{
    struct tlv_iter it;
    struct tlv t;
    enum tlv_err te;
    bool have_list = false;
    enum lds_err e;

    tlv_iter_init(&it, o->value, o->len, 0);
    while ((te = tlv_iter_next(&it, &t)) == TLV_OK) {
        switch (t.tag) {
        case 0x5C:
            if (have_list)
                return LDS_ERR_DUPLICATE;
            /* Two-byte tags: 5F0E, 5F0F, ... */
            if (t.len % 2 != 0)
                return LDS_ERR_BAD_VALUE;
            if (t.len / 2 > LDS_DG11_MAX_TAGS)
                return LDS_ERR_TOO_MANY;
            for (size_t i = 0; i < t.len / 2; i++)
                out->tags[i] = (uint16_t)(t.value[2 * i] << 8 | t.value[2 * i + 1]);
            out->n_tags = t.len / 2;
            have_list = true;
            e = LDS_OK;
            break;
        case 0x5F0E: e = set_field(&out->full_name, &t, true); break;
        case 0xA0:
            if (out->n_other_names != 0)
                return LDS_ERR_DUPLICATE;
            e = dg11_other_names(&t, out);
            break;
        /* Some issuers put 5F0F directly in DG11, without the A0 template. */
        case 0x5F0F: e = add_other_name(out, &t); break;
        case 0x5F10: e = set_field(&out->personal_number, &t, true); break;
        case 0x5F2B: e = set_field(&out->full_date_of_birth, &t, false); break;
        case 0x5F11: e = set_field(&out->place_of_birth, &t, true); break;
        case 0x5F42: e = set_field(&out->address, &t, true); break;
        case 0x5F12: e = set_field(&out->telephone, &t, true); break;
        case 0x5F13: e = set_field(&out->profession, &t, true); break;
        case 0x5F14: e = set_field(&out->title, &t, true); break;
        case 0x5F15: e = set_field(&out->personal_summary, &t, true); break;
        case 0x5F16: e = set_field(&out->proof_of_citizenship, &t, false); break;
        case 0x5F17: e = set_field(&out->other_td_numbers, &t, true); break;
        case 0x5F18: e = set_field(&out->custody_information, &t, true); break;
        default: e = LDS_OK; break; /* unknown objects are skipped */
        }
        if (e != LDS_OK)
            return e;
    }
    if (te != TLV_ERR_END)
        return map_tlv(te);
    if (!have_list)
        return LDS_ERR_MISSING;
    return LDS_OK;
}

enum lds_err lds_dg11_parse(const uint8_t *buf, size_t len, struct lds_dg11 *out)
{
    struct tlv o;
    memset(out, 0, sizeof *out);
    enum lds_err e = outer(buf, len, 0x6B, &o);
    if (e == LDS_OK)
        e = dg11_fill(&o, out);
    if (e != LDS_OK)
        memset(out, 0, sizeof *out);
    return e;
}

/* --- DG14 ---------------------------------------------------------------- */

enum lds_err lds_dg14_parse(const uint8_t *buf, size_t len, struct security_infos *out,
                            enum cardaccess_err *ca_err)
{
    struct tlv o;
    memset(out, 0, sizeof *out);
    if (ca_err != NULL)
        *ca_err = CARDACCESS_OK;
    enum lds_err e = outer(buf, len, 0x6E, &o);
    if (e != LDS_OK)
        return e;
    enum cardaccess_err ce = cardaccess_parse_dg14(buf, len, out);
    if (ca_err != NULL)
        *ca_err = ce;
    return ce == CARDACCESS_OK ? LDS_OK : LDS_ERR_SECURITY_INFOS;
}

/* --- DG15 ---------------------------------------------------------------- */

/* 1.2.840.10045.2.1 id-ecPublicKey, 1.2.840.10045.1.1 prime-field (X9.62, RFC 3279 §2.3.5) */
static const uint8_t oid_ec_public_key[] = {0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01};
static const uint8_t oid_prime_field[] = {0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x01, 0x01};

static int get_oid(unsigned char **p, const unsigned char *end, const uint8_t *oid, size_t n)
{
    size_t len;
    int ret = mbedtls_asn1_get_tag(p, end, &len, MBEDTLS_ASN1_OID);
    if (ret != 0)
        return ret;
    if (len != n || memcmp(*p, oid, n) != 0)
        return -1;
    *p += len;
    return 0;
}

static int get_octets(unsigned char **p, const unsigned char *end, mbedtls_mpi *x)
{
    size_t len;
    int ret = mbedtls_asn1_get_tag(p, end, &len, MBEDTLS_ASN1_OCTET_STRING);
    if (ret == 0)
        ret = mbedtls_mpi_read_binary(x, *p, len);
    *p += ret == 0 ? len : 0;
    return ret;
}

struct ec_explicit {
    mbedtls_mpi p, a, b, n;
    const unsigned char *g, *q; /* encoded base point and public point */
    size_t g_len, q_len;
};

/*
 * SubjectPublicKeyInfo with SpecifiedECDomain parameters (X9.62, RFC 3279
 * §2.3.5), as eMRTDs often write brainpool keys:
 *   SEQUENCE { SEQUENCE { id-ecPublicKey, SEQUENCE { version, fieldID
 *   { prime-field, p }, curve { a, b, seed OPTIONAL }, base, order,
 *   cofactor OPTIONAL } }, BIT STRING point }
 */
static int parse_explicit(const uint8_t *spki, size_t spki_len, struct ec_explicit *x)
{
    unsigned char *p = (unsigned char *)spki;
    const unsigned char *end = spki + spki_len, *alg_end, *par_end, *sub_end;
    size_t len;
    int ver, ret;

#define STEP(call)                                                                                 \
    do {                                                                                           \
        if ((ret = (call)) != 0)                                                                   \
            return ret;                                                                            \
    } while (0)
    STEP(mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE));
    if (p + len != end)
        return -1;
    STEP(mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE));
    alg_end = p + len;
    STEP(get_oid(&p, alg_end, oid_ec_public_key, sizeof oid_ec_public_key));
    STEP(mbedtls_asn1_get_tag(&p, alg_end, &len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE));
    par_end = p + len;
    if (par_end != alg_end)
        return -1;
    STEP(mbedtls_asn1_get_int(&p, par_end, &ver));
    if (ver < 1 || ver > 3)
        return -1;
    STEP(mbedtls_asn1_get_tag(&p, par_end, &len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE));
    sub_end = p + len;
    STEP(get_oid(&p, sub_end, oid_prime_field, sizeof oid_prime_field));
    STEP(mbedtls_asn1_get_mpi(&p, sub_end, &x->p));
    if (p != sub_end)
        return -1;
    STEP(mbedtls_asn1_get_tag(&p, par_end, &len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE));
    sub_end = p + len;
    STEP(get_octets(&p, sub_end, &x->a));
    STEP(get_octets(&p, sub_end, &x->b));
    if (p < sub_end) {
        STEP(mbedtls_asn1_get_tag(&p, sub_end, &len, MBEDTLS_ASN1_BIT_STRING));
        p += len;
    }
    if (p != sub_end)
        return -1;
    STEP(mbedtls_asn1_get_tag(&p, par_end, &len, MBEDTLS_ASN1_OCTET_STRING));
    x->g = p;
    x->g_len = len;
    p += len;
    STEP(mbedtls_asn1_get_mpi(&p, par_end, &x->n));
    if (p < par_end) {
        int h;
        STEP(mbedtls_asn1_get_int(&p, par_end, &h));
        if (h != 1)
            return -1; /* the prime-order curves mbedTLS knows all have cofactor 1 */
    }
    if (p != par_end)
        return -1;
    STEP(mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_BIT_STRING));
    if (len < 2 || p[0] != 0 || p + len != end)
        return -1;
    x->q = p + 1;
    x->q_len = len - 1;
#undef STEP
    return 0;
}

/* The known curve with exactly these parameters, or MBEDTLS_ECP_DP_NONE. */
static mbedtls_ecp_group_id match_curve(const struct ec_explicit *x)
{
    mbedtls_ecp_group_id found = MBEDTLS_ECP_DP_NONE;
    const mbedtls_ecp_group_id *ids = mbedtls_ecp_grp_id_list();
    for (size_t i = 0; ids[i] != MBEDTLS_ECP_DP_NONE && found == MBEDTLS_ECP_DP_NONE; i++) {
        mbedtls_ecp_group g;
        mbedtls_ecp_point base;
        mbedtls_mpi a;
        mbedtls_ecp_group_init(&g);
        mbedtls_ecp_point_init(&base);
        mbedtls_mpi_init(&a);
        if (mbedtls_ecp_group_load(&g, ids[i]) == 0 &&
            mbedtls_ecp_get_type(&g) == MBEDTLS_ECP_TYPE_SHORT_WEIERSTRASS) {
            /* mbedTLS leaves A empty for the curves with a = -3. */
            int a_ok =
                g.A.p != NULL ? mbedtls_mpi_copy(&a, &g.A) : mbedtls_mpi_sub_int(&a, &g.P, 3);
            if (a_ok == 0 && mbedtls_mpi_cmp_mpi(&g.P, &x->p) == 0 &&
                mbedtls_mpi_cmp_mpi(&a, &x->a) == 0 && mbedtls_mpi_cmp_mpi(&g.B, &x->b) == 0 &&
                mbedtls_mpi_cmp_mpi(&g.N, &x->n) == 0 &&
                mbedtls_ecp_point_read_binary(&g, &base, x->g, x->g_len) == 0 &&
                mbedtls_ecp_point_cmp(&base, &g.G) == 0)
                found = ids[i];
        }
        mbedtls_mpi_free(&a);
        mbedtls_ecp_point_free(&base);
        mbedtls_ecp_group_free(&g);
    }
    return found;
}

/* mbedTLS as packaged may lack MBEDTLS_PK_PARSE_EC_EXTENDED: match the parameters here. */
static int parse_explicit_ec(const uint8_t *spki, size_t len, mbedtls_pk_context *pk)
{
    struct ec_explicit x;
    int ret = -1;
    memset(&x, 0, sizeof x);
    mbedtls_mpi_init(&x.p);
    mbedtls_mpi_init(&x.a);
    mbedtls_mpi_init(&x.b);
    mbedtls_mpi_init(&x.n);
    if (parse_explicit(spki, len, &x) == 0) {
        mbedtls_ecp_group_id id = match_curve(&x);
        mbedtls_pk_free(pk);
        mbedtls_pk_init(pk);
        if (id != MBEDTLS_ECP_DP_NONE &&
            mbedtls_pk_setup(pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)) == 0) {
            mbedtls_ecp_keypair *ec = mbedtls_pk_ec(*pk);
            if (mbedtls_ecp_group_load(&ec->grp, id) == 0 &&
                mbedtls_ecp_point_read_binary(&ec->grp, &ec->Q, x.q, x.q_len) == 0 &&
                mbedtls_ecp_check_pubkey(&ec->grp, &ec->Q) == 0)
                ret = 0;
        }
    }
    mbedtls_mpi_free(&x.p);
    mbedtls_mpi_free(&x.a);
    mbedtls_mpi_free(&x.b);
    mbedtls_mpi_free(&x.n);
    return ret;
}

enum lds_err lds_dg15_parse(const uint8_t *buf, size_t len, struct lds_dg15 *out,
                            mbedtls_pk_context *pk)
{
    struct tlv o, s;
    mbedtls_pk_context local;
    mbedtls_pk_context *k = pk != NULL ? pk : &local;

    memset(out, 0, sizeof *out);
    enum lds_err e = outer(buf, len, 0x6F, &o);
    if (e != LDS_OK)
        return e;
    enum tlv_err te = tlv_parse(o.value, o.len, TLV_STRICT, &s);
    if (te != TLV_OK)
        return map_tlv(te);
    if (s.tag != 0x30)
        return LDS_ERR_PUBLIC_KEY;
    if (s.hdr_len + s.len != o.len)
        return LDS_ERR_TRAILING_DATA;

    if (pk == NULL)
        mbedtls_pk_init(&local);
    if (mbedtls_pk_parse_public_key(k, o.value, o.len) != 0 &&
        parse_explicit_ec(o.value, o.len, k) != 0) {
        e = LDS_ERR_PUBLIC_KEY;
    } else if (mbedtls_pk_get_type(k) == MBEDTLS_PK_RSA) {
        out->type = LDS_KEY_RSA;
    } else if (mbedtls_pk_get_type(k) == MBEDTLS_PK_ECKEY) {
        out->type = LDS_KEY_EC;
    } else {
        e = LDS_ERR_UNSUPPORTED_KEY;
    }
    if (e == LDS_OK) {
        out->spki = o.value;
        out->spki_len = o.len;
        out->key_bits = mbedtls_pk_get_bitlen(k);
    }
    if (e != LDS_OK || pk == NULL) {
        mbedtls_pk_free(k);
        mbedtls_pk_init(k);
    }
    if (e != LDS_OK)
        memset(out, 0, sizeof *out);
    return e;
}

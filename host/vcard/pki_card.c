#include "pki_card.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/ecp.h>
#include <mbedtls/sha256.h>

#include "hawiya/ca.h"
#include "hawiya/hex.h"
#include "hawiya/lds.h"
#include "hawiya/sod.h"
#include "hawiya/wipe.h"

#define MANIFEST "manifest.json"

const char *pki_card_err_str(enum pki_card_err e)
{
    switch (e) {
    case PKI_CARD_OK: return "PKI_CARD_OK";
    case PKI_CARD_ERR_ARGS: return "PKI_CARD_ERR_ARGS";
    case PKI_CARD_ERR_IO: return "PKI_CARD_ERR_IO";
    case PKI_CARD_ERR_TOO_BIG: return "PKI_CARD_ERR_TOO_BIG";
    case PKI_CARD_ERR_MANIFEST: return "PKI_CARD_ERR_MANIFEST";
    case PKI_CARD_ERR_MISSING: return "PKI_CARD_ERR_MISSING";
    case PKI_CARD_ERR_SIZE: return "PKI_CARD_ERR_SIZE";
    case PKI_CARD_ERR_HASH: return "PKI_CARD_ERR_HASH";
    case PKI_CARD_ERR_CONTENT: return "PKI_CARD_ERR_CONTENT";
    case PKI_CARD_ERR_MRZ: return "PKI_CARD_ERR_MRZ";
    case PKI_CARD_ERR_KEY: return "PKI_CARD_ERR_KEY";
    case PKI_CARD_ERR_PERSONA: return "PKI_CARD_ERR_PERSONA";
    case PKI_CARD_ERR_NO_SPACE: return "PKI_CARD_ERR_NO_SPACE";
    case PKI_CARD_ERR_FILES: return "PKI_CARD_ERR_FILES";
    case PKI_CARD_ERR_NO_MEMORY: return "PKI_CARD_ERR_NO_MEMORY";
    }
    return "PKI_CARD_ERR_UNKNOWN";
}

void pki_card_diag_format(const struct pki_card_diag *d, char *buf, size_t cap)
{
    if (cap == 0)
        return;
    snprintf(buf, cap, "%s: %s%s%s%s", d->file[0] ? d->file : "?", pki_card_err_str(d->err),
             d->detail[0] ? " (" : "", d->detail, d->detail[0] ? ")" : "");
}

static enum pki_card_err fail(struct pki_card_diag *d, enum pki_card_err e, const char *file,
                              const char *detail)
{
    d->err = e;
    snprintf(d->file, sizeof d->file, "%s", file);
    snprintf(d->detail, sizeof d->detail, "%s", detail ? detail : "");
    return e;
}

/* Reads dir/name whole into a fresh heap buffer. */
static enum pki_card_err read_file(const char *dir, const char *name, size_t max, uint8_t **out,
                                   size_t *len)
{
    char path[4096];
    *out = NULL;
    *len = 0;
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path)
        return PKI_CARD_ERR_ARGS;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return PKI_CARD_ERR_IO;
    /* One byte more than allowed tells "too big" from "exactly max". */
    uint8_t *buf = malloc(max + 1);
    if (!buf) {
        fclose(fp);
        return PKI_CARD_ERR_NO_MEMORY;
    }
    size_t n = fread(buf, 1, max + 1, fp);
    bool err = ferror(fp) != 0;
    fclose(fp);
    if (err || n > max) {
        wipe(buf, n);
        free(buf);
        return err ? PKI_CARD_ERR_IO : PKI_CARD_ERR_TOO_BIG;
    }
    *out = buf;
    *len = n;
    return PKI_CARD_OK;
}

static void free_buf(uint8_t *p, size_t n)
{
    if (p) {
        wipe(p, n);
        free(p);
    }
}

/* A file name of the manifest: a plain name in the card directory, no path. */
static bool plain_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > PKI_CARD_NAME_MAX || s[0] == '.')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-' || s[i] == '.'))
            return false;
    return true;
}

static const char *get_str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) && v->valuestring ? v->valuestring : NULL;
}

static bool get_num(const cJSON *o, const char *key, double min, double max, double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(v))
        return false;
    double d = v->valuedouble;
    if (!isfinite(d) || d != floor(d) || d < min || d > max)
        return false;
    *out = d;
    return true;
}

/* Hex of exactly n bytes. */
static bool get_hex(const char *s, uint8_t *out, size_t min, size_t max, size_t *n)
{
    return s && hex_decode(s, strlen(s), out, max, n) == HEX_OK && *n >= min && !strchr(s, ' ') &&
           !strchr(s, ':') && !strchr(s, '-');
}

/* One entry of "files": name, file, path, fid, sfi, access, size, sha256; then the file itself. */
static enum pki_card_err load_entry(struct pki_card *pc, const char *dir, const cJSON *f,
                                    struct pki_card_diag *d)
{
    struct pki_card_file *pf = &pc->files[pc->n_files];
    const char *name = get_str(f, "name"), *file = get_str(f, "file");
    const char *fid = get_str(f, "fid"), *access = get_str(f, "access");
    const char *sha = get_str(f, "sha256");
    const cJSON *path = cJSON_GetObjectItemCaseSensitive(f, "path");
    double size, sfi = 0;
    uint8_t b[VFS_AID_MAX], want[32], got[32];
    size_t n;

    if (!cJSON_IsObject(f) || !name || !file || !plain_name(file))
        return fail(d, PKI_CARD_ERR_MANIFEST, MANIFEST, "files[]: name / file");
    if (strlen(name) > PKI_CARD_NAME_MAX)
        return fail(d, PKI_CARD_ERR_MANIFEST, MANIFEST, "files[].name");
    snprintf(pf->name, sizeof pf->name, "%s", name);
    snprintf(pf->file, sizeof pf->file, "%s", file);
    for (size_t i = 0; i < pc->n_files; i++)
        if (!strcmp(pc->files[i].name, name))
            return fail(d, PKI_CARD_ERR_MANIFEST, file, "name listed twice");

    memset(&pf->spec, 0, sizeof pf->spec);
    if (!cJSON_IsArray(path) || cJSON_GetArraySize(path) > VFS_PATH_MAX)
        return fail(d, PKI_CARD_ERR_MANIFEST, file, "path");
    for (const cJSON *el = path->child; el; el = el->next) {
        struct vfs_df_ref *r = &pf->spec.path[pf->spec.depth];
        if (!cJSON_IsString(el) || !get_hex(el->valuestring, b, 2, sizeof b, &n) ||
            (n != 2 && n < VFS_AID_MIN))
            return fail(d, PKI_CARD_ERR_MANIFEST, file, "path");
        memcpy(r->id, b, n);
        r->len = (uint8_t)n;
        pf->spec.depth++;
    }
    if (!get_hex(fid, b, 2, 2, &n))
        return fail(d, PKI_CARD_ERR_MANIFEST, file, "fid");
    pf->spec.fid = (uint16_t)(b[0] << 8 | b[1]);
    if (cJSON_GetObjectItemCaseSensitive(f, "sfi") && !get_num(f, "sfi", 1, 30, &sfi))
        return fail(d, PKI_CARD_ERR_MANIFEST, file, "sfi");
    pf->spec.sfi = (uint8_t)sfi;
    if (!access || (strcmp(access, "sm") && strcmp(access, "always")))
        return fail(d, PKI_CARD_ERR_MANIFEST, file, "access");
    pf->spec.ac = !strcmp(access, "sm") ? VFS_AC_SM : VFS_AC_ALWAYS;
    if (!get_num(f, "size", 0, PKI_CARD_FILE_MAX, &size))
        return fail(d, PKI_CARD_ERR_MANIFEST, file, "size");
    if (!get_hex(sha, want, 32, 32, &n))
        return fail(d, PKI_CARD_ERR_MANIFEST, file, "sha256");

    enum pki_card_err e = read_file(dir, file, PKI_CARD_FILE_MAX, &pf->data, &pf->len);
    if (e != PKI_CARD_OK)
        return fail(d, e, file, NULL);
    pc->n_files++; /* owns pf->data from here on */
    if (pf->len != (size_t)size)
        return fail(d, PKI_CARD_ERR_SIZE, file, NULL);
    pf->spec.size = pf->len;
    mbedtls_sha256_ret(pf->data, pf->len, got, 0);
    if (memcmp(got, want, sizeof want) != 0)
        return fail(d, PKI_CARD_ERR_HASH, file, NULL);
    return PKI_CARD_OK;
}

const struct pki_card_file *pki_card_find(const struct pki_card *pc, const char *name)
{
    for (size_t i = 0; pc && i < pc->n_files; i++)
        if (!strcmp(pc->files[i].name, name))
            return &pc->files[i];
    return NULL;
}

static enum pki_card_err need(const struct pki_card *pc, const char *name,
                              const struct pki_card_file **out, struct pki_card_diag *d)
{
    *out = pki_card_find(pc, name);
    return *out ? PKI_CARD_OK : fail(d, PKI_CARD_ERR_MISSING, MANIFEST, name);
}

/* The manifest's MRZ lines must be DG1's MRZ; the MRZ information comes from them. */
static enum pki_card_err check_mrz(struct pki_card *pc, const cJSON *mrz,
                                   const struct pki_card_file *dg1, struct pki_card_diag *d)
{
    const char *lines[3];
    char joined[3 * 44 + 1] = "";
    size_t n = 0;
    struct mrz m;
    struct lds_dg1 parsed;

    enum lds_err le = lds_dg1_parse(dg1->data, dg1->len, &parsed);
    if (le != LDS_OK)
        return fail(d, PKI_CARD_ERR_CONTENT, dg1->file, lds_err_str(le));
    if (!cJSON_IsArray(mrz) || cJSON_GetArraySize(mrz) < 2 || cJSON_GetArraySize(mrz) > 3)
        return fail(d, PKI_CARD_ERR_MANIFEST, MANIFEST, "mrz");
    for (const cJSON *el = mrz->child; el; el = el->next) {
        if (!cJSON_IsString(el) || strlen(el->valuestring) > 44)
            return fail(d, PKI_CARD_ERR_MANIFEST, MANIFEST, "mrz");
        lines[n++] = el->valuestring;
        strcat(joined, el->valuestring);
    }
    if (mrz_parse(lines, n, &m) != MRZ_OK || m.cd_fail != 0)
        return fail(d, PKI_CARD_ERR_MRZ, MANIFEST, "mrz");
    /* DG1 is 61 L 5F1F L MRZ: the MRZ is the file's tail. */
    size_t jl = strlen(joined);
    if (dg1->len < jl || memcmp(dg1->data + dg1->len - jl, joined, jl) != 0)
        return fail(d, PKI_CARD_ERR_MRZ, dg1->file, "not the manifest's mrz");
    if (mrz_bac_info(&m, pc->mrz_info, sizeof pc->mrz_info, &pc->mrz_info_len) != MRZ_OK)
        return fail(d, PKI_CARD_ERR_MRZ, MANIFEST, "mrz information");
    wipe(&m, sizeof m);
    wipe(&parsed, sizeof parsed);
    wipe(joined, sizeof joined);
    return PKI_CARD_OK;
}

static enum pki_card_err load_key(const char *dir, const cJSON *keys, const char *which,
                                  mbedtls_pk_context *pk, struct pki_card_diag *d)
{
    const char *file = get_str(keys, which);
    uint8_t *buf;
    size_t len;
    if (!file || !plain_name(file))
        return fail(d, PKI_CARD_ERR_MANIFEST, MANIFEST, which);
    enum pki_card_err e = read_file(dir, file, PKI_CARD_FILE_MAX, &buf, &len);
    if (e != PKI_CARD_OK)
        return fail(d, e, file, NULL);
    int r = mbedtls_pk_parse_key(pk, buf, len, NULL, 0);
    free_buf(buf, len);
    if (r != 0)
        return fail(d, PKI_CARD_ERR_KEY, file, "not a private key");
    if (!mbedtls_pk_can_do(pk, MBEDTLS_PK_ECKEY))
        return fail(d, PKI_CARD_ERR_KEY, file, "not an EC key");
    return PKI_CARD_OK;
}

/* DG14: one ECDH ChipAuthenticationInfo with its public key, matching the CA private key. */
static enum pki_card_err check_ca(struct pki_card *pc, const char *dir, const cJSON *keys,
                                  const struct pki_card_file *dg14, struct pki_card_diag *d)
{
    const struct security_infos *si = &pc->dg14;
    pc->ca_info = NULL;
    for (size_t i = 0; i < si->n_ca && !pc->ca_info; i++) {
        if (si->ca[i].ka != PACE_KA_ECDH)
            continue;
        for (size_t k = 0; k < si->n_ca_pk; k++) {
            const struct ca_pk_info *pk = &si->ca_pk[k];
            bool same_id = !si->ca[i].has_key_id ||
                           (pk->has_key_id && pk->key_id == si->ca[i].key_id) || si->n_ca_pk == 1;
            if (pk->ka == PACE_KA_ECDH && same_id) {
                pc->ca_info = &si->ca[i];
                pc->ca_spki = pk->spki;
                pc->ca_spki_len = pk->spki_len;
                break;
            }
        }
    }
    if (!pc->ca_info)
        return fail(d, PKI_CARD_ERR_CONTENT, dg14->file, "no ECDH ChipAuthenticationInfo + key");

    /* The private key must be the one DG14 publishes: ca_card_init checks the pair. */
    mbedtls_pk_context key;
    mbedtls_pk_init(&key);
    enum pki_card_err e = load_key(dir, keys, "chip_authentication", &key, d);
    if (e == PKI_CARD_OK) {
        const mbedtls_ecp_keypair *ec = mbedtls_pk_ec(key);
        pc->ca_sk_len = (ec->grp.nbits + 7) / 8;
        if (pc->ca_sk_len > sizeof pc->ca_sk ||
            mbedtls_mpi_write_binary(&ec->d, pc->ca_sk, pc->ca_sk_len) != 0)
            e = fail(d, PKI_CARD_ERR_KEY, get_str(keys, "chip_authentication"), "curve");
    }
    mbedtls_pk_free(&key);
    if (e != PKI_CARD_OK)
        return e;
    struct ca_card trial;
    enum ca_err ce = ca_card_init(&trial, pc->ca_info, pc->ca_spki, pc->ca_spki_len, pc->ca_sk,
                                  pc->ca_sk_len, NULL, NULL);
    ca_card_wipe(&trial);
    if (ce != CA_OK)
        return fail(d, PKI_CARD_ERR_KEY, get_str(keys, "chip_authentication"), ca_err_str(ce));
    return PKI_CARD_OK;
}

/* Active Authentication: an EC key and DG14's ActiveAuthenticationInfo naming the hash. */
static enum pki_card_err check_aa(struct pki_card *pc, const char *dir, const cJSON *keys,
                                  const struct pki_card_file *dg14,
                                  const struct pki_card_file *dg15, struct pki_card_diag *d)
{
    struct lds_dg15 parsed;
    enum lds_err le = lds_dg15_parse(dg15->data, dg15->len, &parsed, NULL);
    if (le != LDS_OK)
        return fail(d, PKI_CARD_ERR_CONTENT, dg15->file, lds_err_str(le));
    if (parsed.type != LDS_KEY_EC)
        return fail(d, PKI_CARD_ERR_CONTENT, dg15->file, "the card signs with EC keys only");
    if (!pc->dg14.has_aa)
        return fail(d, PKI_CARD_ERR_CONTENT, dg14->file, "no ActiveAuthenticationInfo");
    enum aa_err ae = aa_hash_from_oid(pc->dg14.aa.signature_algorithm,
                                      pc->dg14.aa.signature_algorithm_len, &pc->aa_hash);
    if (ae != AA_OK)
        return fail(d, PKI_CARD_ERR_CONTENT, dg14->file, aa_err_str(ae));
    /* Not checked against DG15: the bad_aa_key persona signs with another key on purpose. */
    return load_key(dir, keys, "active_authentication", &pc->aa_key, d);
}

static enum pki_card_err load(struct pki_card *pc, const char *dir, const cJSON *m,
                              struct pki_card_diag *d)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(m, "version");
    const cJSON *files = cJSON_GetObjectItemCaseSensitive(m, "files");
    const cJSON *keys = cJSON_GetObjectItemCaseSensitive(m, "keys");
    const char *persona = get_str(m, "persona");
    const struct pki_card_file *com, *dg1, *dg14, *dg15, *sod, *ca;
    enum pki_card_err e;

    if (!cJSON_IsObject(m) || !cJSON_IsNumber(v) || v->valuedouble != 1)
        return fail(d, PKI_CARD_ERR_MANIFEST, MANIFEST, "version");
    if (!persona || strlen(persona) < 1 || strlen(persona) > PERSONA_ID_MAX)
        return fail(d, PKI_CARD_ERR_MANIFEST, MANIFEST, "persona");
    snprintf(pc->persona, sizeof pc->persona, "%s", persona);
    if (!cJSON_IsArray(files) || cJSON_GetArraySize(files) > PKI_CARD_MAX_FILES)
        return fail(d, PKI_CARD_ERR_MANIFEST, MANIFEST, "files");
    if (!cJSON_IsObject(keys))
        return fail(d, PKI_CARD_ERR_MANIFEST, MANIFEST, "keys");
    for (const cJSON *f = files->child; f; f = f->next)
        if ((e = load_entry(pc, dir, f, d)) != PKI_CARD_OK)
            return e;

    if ((e = need(pc, "EF.COM", &com, d)) || (e = need(pc, "EF.DG1", &dg1, d)) ||
        (e = need(pc, "EF.DG14", &dg14, d)) || (e = need(pc, "EF.DG15", &dg15, d)) ||
        (e = need(pc, "EF.SOD", &sod, d)))
        return e;

    struct lds_com c;
    enum lds_err le = lds_com_parse(com->data, com->len, &c);
    if (le != LDS_OK)
        return fail(d, PKI_CARD_ERR_CONTENT, com->file, lds_err_str(le));
    struct sod s;
    enum sod_err se = sod_parse(sod->data, sod->len, &s);
    if (se != SOD_OK)
        return fail(d, PKI_CARD_ERR_CONTENT, sod->file, sod_err_str(se));
    if ((e = check_mrz(pc, cJSON_GetObjectItemCaseSensitive(m, "mrz"), dg1, d)))
        return e;

    enum cardaccess_err ce;
    le = lds_dg14_parse(dg14->data, dg14->len, &pc->dg14, &ce);
    if (le != LDS_OK)
        return fail(d, PKI_CARD_ERR_CONTENT, dg14->file,
                    le == LDS_ERR_SECURITY_INFOS ? cardaccess_err_str(ce) : lds_err_str(le));
    if ((e = check_ca(pc, dir, keys, dg14, d)) || (e = check_aa(pc, dir, keys, dg14, dg15, d)))
        return e;

    ca = pki_card_find(pc, "EF.CardAccess");
    if (ca) {
        ce = cardaccess_parse(ca->data, ca->len, &pc->card_access);
        if (ce != CARDACCESS_OK)
            return fail(d, PKI_CARD_ERR_CONTENT, ca->file, cardaccess_err_str(ce));
        size_t idx;
        if (cardaccess_select_pace(&pc->card_access, &idx) != CARDACCESS_OK)
            return fail(d, PKI_CARD_ERR_CONTENT, ca->file, "no supported PACEInfo");
        pc->has_card_access = true;
    }
    return PKI_CARD_OK;
}

enum pki_card_err pki_card_load(struct pki_card *pc, const char *dir, struct pki_card_diag *diag)
{
    struct pki_card_diag local;
    struct pki_card_diag *d = diag ? diag : &local;
    memset(d, 0, sizeof *d);
    if (!pc)
        return fail(d, PKI_CARD_ERR_ARGS, "", NULL);
    memset(pc, 0, sizeof *pc);
    mbedtls_pk_init(&pc->aa_key);
    if (!dir)
        return fail(d, PKI_CARD_ERR_ARGS, MANIFEST, NULL);

    uint8_t *json;
    size_t len;
    enum pki_card_err e = read_file(dir, MANIFEST, PKI_CARD_MANIFEST_MAX, &json, &len);
    if (e != PKI_CARD_OK)
        return fail(d, e, MANIFEST, NULL);
    cJSON *m = cJSON_ParseWithLength((const char *)json, len);
    free_buf(json, len);
    if (!m)
        return fail(d, PKI_CARD_ERR_MANIFEST, MANIFEST, "not JSON");
    e = load(pc, dir, m, d);
    cJSON_Delete(m);
    if (e != PKI_CARD_OK) {
        pki_card_free(pc);
        return e;
    }
    pc->loaded = true;
    return PKI_CARD_OK;
}

static bool same_df(const struct vfs_file_spec *a, const struct vfs_file_spec *b)
{
    if (a->depth != b->depth)
        return false;
    for (size_t i = 0; i < a->depth; i++)
        if (a->path[i].len != b->path[i].len ||
            memcmp(a->path[i].id, b->path[i].id, a->path[i].len))
            return false;
    return true;
}

enum pki_card_err pki_card_install(const struct pki_card *pc, struct persona *p,
                                   struct pki_card_diag *diag)
{
    struct pki_card_diag local;
    struct pki_card_diag *d = diag ? diag : &local;
    memset(d, 0, sizeof *d);
    if (!pc || !p || !pc->loaded)
        return fail(d, PKI_CARD_ERR_ARGS, MANIFEST, NULL);
    if (strcmp(pc->persona, p->id) != 0)
        return fail(d, PKI_CARD_ERR_PERSONA, MANIFEST, pc->persona);

    /* Work on a copy of the file table; the pool only grows past pool_len until we commit. */
    struct vfs_file_spec files[PERSONA_MAX_FILES];
    size_t n_files = p->n_files, pool_len = p->pool_len;
    memcpy(files, p->files, sizeof files);
    for (size_t i = 0; i < pc->n_files; i++) {
        const struct pki_card_file *f = &pc->files[i];
        size_t k = 0;
        while (k < n_files && !(files[k].fid == f->spec.fid && same_df(&files[k], &f->spec)))
            k++;
        if (k == n_files) {
            if (n_files >= PERSONA_MAX_FILES)
                return fail(d, PKI_CARD_ERR_NO_SPACE, f->file, "file table");
            n_files++;
        }
        if (f->len > PERSONA_POOL_MAX - pool_len)
            return fail(d, PKI_CARD_ERR_NO_SPACE, f->file, "pool");
        files[k] = f->spec;
        files[k].offset = pool_len;
        files[k].size = f->len;
        memcpy(p->pool + pool_len, f->data, f->len);
        pool_len += f->len;
    }
    struct vfs v;
    size_t bad = 0;
    enum vfs_err ve = vfs_build(&v, files, n_files, p->pool, &bad);
    if (ve != VFS_OK) {
        const char *who = "persona file";
        for (size_t i = 0; i < pc->n_files; i++)
            if (files[bad].fid == pc->files[i].spec.fid && same_df(&files[bad], &pc->files[i].spec))
                who = pc->files[i].file;
        return fail(d, PKI_CARD_ERR_FILES, who, vfs_err_str(ve));
    }
    memcpy(p->files, files, sizeof files);
    p->n_files = n_files;
    p->pool_len = pool_len;
    return PKI_CARD_OK;
}

void pki_card_free(struct pki_card *pc)
{
    if (!pc)
        return;
    for (size_t i = 0; i < pc->n_files && i < PKI_CARD_MAX_FILES; i++)
        free_buf(pc->files[i].data, pc->files[i].len);
    mbedtls_pk_free(&pc->aa_key);
    wipe(pc, sizeof *pc);
    mbedtls_pk_init(&pc->aa_key);
}

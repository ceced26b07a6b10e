#include "vfs.h"

#include <string.h>

#include "hawiya/tlv.h"

const char *vfs_err_str(enum vfs_err e)
{
    switch (e) {
    case VFS_OK: return "VFS_OK";
    case VFS_ERR_TOO_MANY_FILES: return "VFS_ERR_TOO_MANY_FILES";
    case VFS_ERR_BAD_PATH: return "VFS_ERR_BAD_PATH";
    case VFS_ERR_BAD_FID: return "VFS_ERR_BAD_FID";
    case VFS_ERR_BAD_SFI: return "VFS_ERR_BAD_SFI";
    case VFS_ERR_DUPLICATE: return "VFS_ERR_DUPLICATE";
    case VFS_ERR_TOO_BIG: return "VFS_ERR_TOO_BIG";
    case VFS_ERR_BAD_AC: return "VFS_ERR_BAD_AC";
    }
    return "VFS_ERR_UNKNOWN";
}

/* §5.3.1.1: 3F00 is the MF; 0000 and FFFF are reserved; 3FFF is the path escape. */
static bool fid_valid(uint16_t fid)
{
    return fid != 0x0000 && fid != 0xFFFF && fid != VFS_FID_MF && fid != 0x3FFF;
}

static void init_mf(struct vfs *v)
{
    memset(v, 0, sizeof *v);
    v->nodes[0].kind = VFS_MF;
    v->nodes[0].parent = -1;
    v->nodes[0].fid = VFS_FID_MF;
    v->n_nodes = 1;
    v->cur_df = 0;
    v->cur_ef = -1;
}

static int find_child_fid(const struct vfs *v, int parent, uint16_t fid)
{
    for (size_t i = 1; i < v->n_nodes; i++)
        if (v->nodes[i].parent == parent && v->nodes[i].fid == fid && fid != VFS_FID_NONE)
            return (int)i;
    return -1;
}

static int find_child(const struct vfs *v, int parent, uint16_t fid, enum vfs_kind kind)
{
    int i = find_child_fid(v, parent, fid);
    return i >= 0 && v->nodes[i].kind == kind ? i : -1;
}

static int find_ef_sfi(const struct vfs *v, int parent, uint8_t sfi)
{
    for (size_t i = 1; i < v->n_nodes; i++)
        if (v->nodes[i].parent == parent && v->nodes[i].kind == VFS_EF && v->nodes[i].sfi == sfi)
            return (int)i;
    return -1;
}

int vfs_find_df_by_name(const struct vfs *v, const uint8_t *aid, size_t len)
{
    for (size_t i = 1; i < v->n_nodes; i++)
        if (v->nodes[i].kind == VFS_DF && v->nodes[i].aid_len == len &&
            memcmp(v->nodes[i].aid, aid, len) == 0)
            return (int)i;
    return -1;
}

static enum vfs_err new_node(struct vfs *v, int *idx)
{
    if (v->n_nodes >= VFS_MAX_NODES)
        return VFS_ERR_TOO_MANY_FILES;
    *idx = (int)v->n_nodes++;
    memset(&v->nodes[*idx], 0, sizeof v->nodes[*idx]);
    return VFS_OK;
}

/* Finds or creates the DF `ref` under `parent`. */
static enum vfs_err walk_df(struct vfs *v, int parent, const struct vfs_df_ref *ref, int *out)
{
    int i;
    if (ref->len == 2) {
        uint16_t fid = (uint16_t)(ref->id[0] << 8 | ref->id[1]);
        if (!fid_valid(fid))
            return VFS_ERR_BAD_FID;
        i = find_child_fid(v, parent, fid);
        if (i >= 0) {
            if (v->nodes[i].kind != VFS_DF)
                return VFS_ERR_DUPLICATE;
            *out = i;
            return VFS_OK;
        }
        enum vfs_err e = new_node(v, &i);
        if (e != VFS_OK)
            return e;
        v->nodes[i].fid = fid;
    } else if (ref->len >= VFS_AID_MIN && ref->len <= VFS_AID_MAX) {
        i = vfs_find_df_by_name(v, ref->id, ref->len);
        if (i >= 0) {
            /* §5.3.1.3: a DF name is unique in the card, so it cannot appear twice. */
            if (v->nodes[i].parent != parent)
                return VFS_ERR_DUPLICATE;
            *out = i;
            return VFS_OK;
        }
        enum vfs_err e = new_node(v, &i);
        if (e != VFS_OK)
            return e;
        memcpy(v->nodes[i].aid, ref->id, ref->len);
        v->nodes[i].aid_len = ref->len;
    } else {
        return VFS_ERR_BAD_PATH;
    }
    v->nodes[i].kind = VFS_DF;
    v->nodes[i].parent = (int16_t)parent;
    *out = i;
    return VFS_OK;
}

static enum vfs_err add_file(struct vfs *v, const struct vfs_file_spec *f, const uint8_t *pool)
{
    int df = 0;
    if (f->depth > VFS_PATH_MAX)
        return VFS_ERR_BAD_PATH;
    for (size_t d = 0; d < f->depth; d++) {
        enum vfs_err e = walk_df(v, df, &f->path[d], &df);
        if (e != VFS_OK)
            return e;
    }
    if (!fid_valid(f->fid))
        return VFS_ERR_BAD_FID;
    if (f->sfi > 30)
        return VFS_ERR_BAD_SFI;
    if (f->ac != VFS_AC_ALWAYS && f->ac != VFS_AC_SM && f->ac != VFS_AC_NEVER)
        return VFS_ERR_BAD_AC;
    if (f->size > VFS_MAX_FILE)
        return VFS_ERR_TOO_BIG;
    if (find_child_fid(v, df, f->fid) >= 0)
        return VFS_ERR_DUPLICATE;
    if (f->sfi != VFS_SFI_NONE && find_ef_sfi(v, df, f->sfi) >= 0)
        return VFS_ERR_DUPLICATE;
    int i;
    enum vfs_err e = new_node(v, &i);
    if (e != VFS_OK)
        return e;
    struct vfs_node *n = &v->nodes[i];
    n->kind = VFS_EF;
    n->parent = (int16_t)df;
    n->fid = f->fid;
    n->sfi = f->sfi;
    n->ac = f->ac;
    n->size = f->size;
    n->data = f->size ? pool + f->offset : NULL;
    return VFS_OK;
}

enum vfs_err vfs_build(struct vfs *v, const struct vfs_file_spec *files, size_t n,
                       const uint8_t *pool, size_t *bad)
{
    init_mf(v);
    for (size_t i = 0; i < n; i++) {
        enum vfs_err e = add_file(v, &files[i], pool);
        if (e != VFS_OK) {
            if (bad)
                *bad = i;
            init_mf(v);
            return e;
        }
    }
    return VFS_OK;
}

void vfs_reset(struct vfs *v)
{
    v->cur_df = 0;
    v->cur_ef = -1;
}

const struct vfs_node *vfs_current_ef(const struct vfs *v)
{
    return v->cur_ef >= 0 ? &v->nodes[v->cur_ef] : NULL;
}

/* ---- SELECT ---------------------------------------------------------------- */

/*
 * The file control parameters of §5.3.3 Table 12 that describe our files:
 * '80' data bytes (EF), '82' file descriptor (01 transparent working EF,
 * 38 DF), '83' FID, '84' DF name, '88' SFI (b8-b4), '8A' life cycle status
 * (05: operational state, activated; §5.3.3.2 Table 13).
 */
static size_t put_fcp_content(const struct vfs_node *n, uint8_t *out, size_t cap)
{
    size_t pos = 0;
    enum tlv_err e = TLV_OK;
    if (n->kind == VFS_EF) {
        uint8_t sz[3] = {(uint8_t)(n->size >> 16), (uint8_t)(n->size >> 8), (uint8_t)n->size};
        bool big = n->size > 0xFFFF;
        e |= tlv_put(out, cap, &pos, 0x80, big ? sz : sz + 1, big ? 3 : 2);
        e |= tlv_put(out, cap, &pos, 0x82, (const uint8_t[]){0x01}, 1);
    } else {
        e |= tlv_put(out, cap, &pos, 0x82, (const uint8_t[]){0x38}, 1);
    }
    if (n->fid != VFS_FID_NONE) {
        uint8_t fid[2] = {(uint8_t)(n->fid >> 8), (uint8_t)n->fid};
        e |= tlv_put(out, cap, &pos, 0x83, fid, 2);
    }
    if (n->aid_len)
        e |= tlv_put(out, cap, &pos, 0x84, n->aid, n->aid_len);
    if (n->kind == VFS_EF && n->sfi != VFS_SFI_NONE) {
        uint8_t sfi = (uint8_t)(n->sfi << 3);
        e |= tlv_put(out, cap, &pos, 0x88, &sfi, 1);
    }
    e |= tlv_put(out, cap, &pos, 0x8A, (const uint8_t[]){0x05}, 1);
    return e == TLV_OK ? pos : 0;
}

/* '62' FCP, '6F' FCI (the same objects: we have no file management data) or '64' FMD. */
static size_t build_template(const struct vfs_node *n, uint8_t p2, uint8_t *out, size_t cap)
{
    uint8_t content[64];
    size_t len = 0, pos = 0;
    uint32_t tag = 0x64;
    if (p2 == 0x00 || p2 == 0x04) {
        tag = p2 == 0x00 ? 0x6F : 0x62;
        len = put_fcp_content(n, content, sizeof content);
    }
    if (tlv_put(out, cap, &pos, tag, content, len) != TLV_OK)
        return 0;
    return pos;
}

static int select_by_fid_p1_00(const struct vfs *v, uint16_t fid)
{
    if (fid == VFS_FID_MF)
        return 0;
    /* §7.1.1: children of the current DF, the current DF's parent, then the parent's children. */
    int i = find_child_fid(v, v->cur_df, fid);
    if (i >= 0)
        return i;
    int parent = v->nodes[v->cur_df].parent;
    if (parent >= 0 && v->nodes[parent].fid == fid)
        return parent;
    if (parent >= 0)
        return find_child_fid(v, parent, fid);
    return -1;
}

static int select_by_name(const struct vfs *v, const uint8_t *name, size_t len, bool next)
{
    /* A right-truncated DF name matches every DF whose name it begins (§7.1.1). */
    size_t start = next ? (size_t)v->cur_df + 1 : 1;
    for (size_t i = start; i < v->n_nodes; i++)
        if (v->nodes[i].kind == VFS_DF && v->nodes[i].aid_len >= len &&
            memcmp(v->nodes[i].aid, name, len) == 0)
            return (int)i;
    return -1;
}

static int select_by_path(const struct vfs *v, int from, const uint8_t *p, size_t n)
{
    size_t k = 0;
    int cur = from;
    /* The path from the MF omits 3F00 (§7.1.1); accept it anyway as readers send both. */
    if (from == 0 && n >= 2 && (p[0] << 8 | p[1]) == VFS_FID_MF)
        k = 2;
    if (k >= n)
        return -1;
    for (; k < n; k += 2) {
        uint16_t fid = (uint16_t)(p[k] << 8 | p[k + 1]);
        bool last = k + 2 == n;
        int i = find_child_fid(v, cur, fid);
        if (i < 0 || (!last && v->nodes[i].kind != VFS_DF))
            return -1;
        cur = i;
    }
    return cur;
}

uint16_t vfs_select(struct vfs *v, const struct apdu *a, uint8_t *out, size_t cap, size_t *out_len)
{
    *out_len = 0;
    uint8_t resp = a->p2 & 0x0C, occ = a->p2 & 0x03;
    if (a->p2 & 0xF0)
        return SW_WRONG_P1P2;
    if (occ != 0 && !(a->p1 == 0x04 && occ == 0x02))
        return SW_WRONG_P1P2;

    int t = -1;
    uint16_t fid = a->nc == 2 ? (uint16_t)(a->data[0] << 8 | a->data[1]) : 0;
    switch (a->p1) {
    case 0x00:
        if (a->nc == 0)
            t = 0;
        else if (a->nc == 2)
            t = select_by_fid_p1_00(v, fid);
        else
            return SW_WRONG_LENGTH;
        break;
    case 0x01:
    case 0x02:
        if (a->nc != 2)
            return SW_WRONG_LENGTH;
        t = find_child(v, v->cur_df, fid, a->p1 == 0x01 ? VFS_DF : VFS_EF);
        break;
    case 0x03:
        if (a->nc != 0)
            return SW_WRONG_LENGTH;
        t = v->nodes[v->cur_df].parent;
        break;
    case 0x04:
        if (a->nc < 1 || a->nc > VFS_AID_MAX)
            return SW_WRONG_LENGTH;
        t = select_by_name(v, a->data, a->nc, occ == 0x02);
        break;
    case 0x08:
    case 0x09:
        if (a->nc < 2 || a->nc % 2 != 0 || a->nc > 2 * (VFS_PATH_MAX + 2))
            return SW_WRONG_LENGTH;
        t = select_by_path(v, a->p1 == 0x08 ? 0 : v->cur_df, a->data, a->nc);
        break;
    default: return SW_WRONG_P1P2;
    }
    if (t < 0)
        return SW_FILE_NOT_FOUND;

    uint8_t tmp[80];
    size_t len = 0;
    if (resp != 0x0C && a->ne > 0) {
        len = build_template(&v->nodes[t], resp, tmp, sizeof tmp);
        if (len == 0)
            return SW_NO_DIAGNOSIS;
        /* 6Cxx (§5.6 Table 6) tells the reader the exact Le to use. */
        if (len > a->ne)
            return SW_WRONG_LE(len);
        if (len > cap)
            return SW_NO_DIAGNOSIS;
    }
    if (v->nodes[t].kind == VFS_EF) {
        v->cur_df = v->nodes[t].parent;
        v->cur_ef = (int16_t)t;
    } else {
        v->cur_df = (int16_t)t;
        v->cur_ef = -1;
    }
    memcpy(out, tmp, len);
    *out_len = len;
    return SW_OK;
}

/* ---- READ BINARY ----------------------------------------------------------- */

/* The EF that P1-P2 of READ BINARY designate, or an error status word. */
static uint16_t rb_target_even(struct vfs *v, const struct apdu *a, int *ef, size_t *offset)
{
    if (a->p1 & 0x80) {
        /* §7.2.2: P1 = 100xxxxx, SFI in b5-b1, offset in P2 (0..255). */
        uint8_t sfi = a->p1 & 0x1F;
        if ((a->p1 & 0x60) || sfi == 0 || sfi == 31)
            return SW_WRONG_P1P2;
        *ef = find_ef_sfi(v, v->cur_df, sfi);
        if (*ef < 0)
            return SW_FILE_NOT_FOUND;
        *offset = a->p2;
        return SW_OK;
    }
    /* 15-bit offset in the current EF. */
    *ef = v->cur_ef;
    if (*ef < 0)
        return SW_NO_CURRENT_EF;
    *offset = (size_t)(a->p1 & 0x7F) << 8 | a->p2;
    return SW_OK;
}

static uint16_t rb_target_odd(struct vfs *v, const struct apdu *a, int *ef, size_t *offset)
{
    uint16_t p1p2 = (uint16_t)(a->p1 << 8 | a->p2);
    /* §7.2.2: P1-P2 = 0000 current EF; 000xxxxx = SFI; otherwise a file identifier. */
    if (p1p2 == 0) {
        *ef = v->cur_ef;
        if (*ef < 0)
            return SW_NO_CURRENT_EF;
    } else if ((p1p2 & 0xFFE0) == 0) {
        if (p1p2 == 31)
            return SW_WRONG_P1P2;
        *ef = find_ef_sfi(v, v->cur_df, (uint8_t)p1p2);
    } else {
        *ef = find_child(v, v->cur_df, p1p2, VFS_EF);
    }
    if (*ef < 0)
        return SW_FILE_NOT_FOUND;

    /* The data field is exactly one offset data object '54' of 1..3 bytes. */
    struct tlv t;
    if (a->nc == 0 || tlv_parse(a->data, a->nc, 0, &t) != TLV_OK || t.tag != 0x54 ||
        t.hdr_len + t.len != a->nc || t.len < 1 || t.len > 3)
        return SW_WRONG_DATA;
    *offset = 0;
    for (size_t i = 0; i < t.len; i++)
        *offset = *offset << 8 | t.value[i];
    return SW_OK;
}

uint16_t vfs_read_binary(struct vfs *v, const struct apdu *a, unsigned sec, uint8_t *out,
                         size_t cap, size_t *out_len)
{
    int ef;
    size_t offset;
    uint16_t sw;
    bool odd = a->ins == 0xB1;

    *out_len = 0;
    if (!odd && a->nc != 0)
        return SW_WRONG_LENGTH;
    if (a->ne == 0)
        return SW_WRONG_LENGTH;
    sw = odd ? rb_target_odd(v, a, &ef, &offset) : rb_target_even(v, a, &ef, &offset);
    if (sw != SW_OK)
        return sw;
    const struct vfs_node *n = &v->nodes[ef];
    /* A file addressed by SFI becomes the current EF (§7.2.2), readable or not. */
    v->cur_ef = (int16_t)ef;
    if (n->ac == VFS_AC_NEVER || (n->ac == VFS_AC_SM && !(sec & VFS_SEC_SM)))
        return SW_SECURITY_STATUS;
    if (offset > n->size)
        return SW_WRONG_P1P2_OFFSET;

    size_t avail = n->size - offset;
    size_t room = a->ne < cap ? a->ne : cap;
    if (!odd) {
        size_t k = avail < room ? avail : room;
        if (k)
            memcpy(out, n->data + offset, k);
        *out_len = k;
        return k == avail && k < a->ne ? SW_EOF_BEFORE_NE : SW_OK;
    }

    /* Odd INS: the data comes back in a discretionary data object '53'. */
    if (room < 2)
        return SW_WRONG_LENGTH;
    size_t k = avail < room - 2 ? avail : room - 2;
    while (k > 0 && tlv_header_size(0x53, k) + k > room)
        k--;
    size_t pos = 0;
    if (tlv_put(out, cap, &pos, 0x53, k ? n->data + offset : NULL, k) != TLV_OK)
        return SW_NO_DIAGNOSIS;
    *out_len = pos;
    return k == avail && pos < a->ne ? SW_EOF_BEFORE_NE : SW_OK;
}

/*
 * vfs: the virtual card's file system, ISO/IEC 7816-4:2005 §5.3 (structures
 * for applications and data: MF, DFs, transparent EFs, file identifiers,
 * DF names, short EF identifiers) with the commands of §7.1.1 SELECT,
 * §7.2.3 READ BINARY (even INS B0 and odd INS B1 with the offset data
 * object '54') and the file control information templates of §5.3.3
 * (FCP '62', FMD '64', FCI '6F').
 *
 * Only what an eMRTD reader (ICAO Doc 9303-10 §3, -11 §3) and our tests need:
 * transparent EFs, DFs found by DF name (AID) or file identifier, paths from
 * the MF or the current DF, SFIs in READ BINARY. No records, no writes.
 *
 * The tree is built once from a list of file specifications (the persona's
 * "files") and never changes; file contents stay in the caller's pool and
 * are not copied. Each EF carries an access condition: VFS_AC_SM files are
 * readable only when the caller says secure messaging protects the command
 * (the ICAO applet does), otherwise 6982.
 *
 * Command functions return SW1-SW2 and write response data (never more than
 * `cap` bytes) to `out`; they never fail on hostile parameters otherwise.
 */
#ifndef HAWIYA_VFS_H
#define HAWIYA_VFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hawiya/apdu.h"

#define VFS_MAX_NODES 64 /* MF + DFs + EFs */
#define VFS_PATH_MAX  4  /* DF levels below the MF in a file specification */
#define VFS_AID_MIN   5  /* 7816-4 §8.2.1.2: RID (5 bytes) [+ PIX] */
#define VFS_AID_MAX   16
#define VFS_FID_MF    0x3F00
#define VFS_MAX_FILE  (1u << 24) /* the odd-INS offset DO '54' holds at most 3 bytes */
#define VFS_SFI_NONE  0
#define VFS_FID_NONE  0

/* Status words this module returns (7816-4 §5.6 Tables 5 and 6). */
#define SW_OK                 0x9000
#define SW_EOF_BEFORE_NE      0x6282 /* end of file reached before reading Ne bytes */
#define SW_WRONG_LENGTH       0x6700
#define SW_FILE_INCOMPATIBLE  0x6981 /* command incompatible with file structure */
#define SW_SECURITY_STATUS    0x6982 /* security status not satisfied */
#define SW_CONDITIONS_NOT_MET 0x6985 /* conditions of use not satisfied */
#define SW_NO_CURRENT_EF      0x6986 /* command not allowed (no current EF) */
#define SW_WRONG_DATA         0x6A80 /* incorrect parameters in the command data field */
#define SW_FUNC_NOT_SUPPORTED 0x6A81
#define SW_FILE_NOT_FOUND     0x6A82
#define SW_WRONG_P1P2         0x6A86
#define SW_WRONG_P1P2_OFFSET  0x6B00 /* offset outside the EF */
#define SW_WRONG_LE(n)        ((uint16_t)(0x6C00 | ((n)&0xFF)))
#define SW_INS_NOT_SUPPORTED  0x6D00
#define SW_CLA_NOT_SUPPORTED  0x6E00
#define SW_NO_DIAGNOSIS       0x6F00
#define SW_LOGICAL_CHANNEL_NS 0x6881
#define SW_SM_NOT_SUPPORTED   0x6882
#define SW_CHAINING_NS        0x6884

enum vfs_err {
    VFS_OK = 0,
    VFS_ERR_TOO_MANY_FILES, /* more than VFS_MAX_NODES nodes */
    VFS_ERR_BAD_PATH,       /* a path element neither a FID (2 bytes) nor an AID (5..16) */
    VFS_ERR_BAD_FID,        /* 3F00, FFFF or 0000 as an EF or DF identifier (§5.3.1.1) */
    VFS_ERR_BAD_SFI,        /* SFI outside 1..30 (§5.3.1.1) */
    VFS_ERR_DUPLICATE,      /* two children of one DF with the same FID, SFI or DF name */
    VFS_ERR_TOO_BIG,        /* a file larger than VFS_MAX_FILE */
    VFS_ERR_BAD_AC,         /* not one of enum vfs_ac */
};

const char *vfs_err_str(enum vfs_err e);

/* Access condition of an EF for READ BINARY. */
enum vfs_ac {
    VFS_AC_ALWAYS = 0, /* plain or protected commands */
    VFS_AC_SM,         /* only under secure messaging (ICAO 9303-11 §9.8) */
    VFS_AC_NEVER,      /* never readable (e.g. a key file) */
};

/* Security state granted to one command by whoever processes it. */
#define VFS_SEC_NONE 0u
#define VFS_SEC_SM   1u /* the command came in under valid secure messaging */

/* One step of a DF path: a file identifier (len 2) or a DF name / AID (len 5..16). */
struct vfs_df_ref {
    uint8_t id[VFS_AID_MAX];
    uint8_t len;
};

/* A transparent EF as a persona declares it; its bytes are pool[offset..offset+size). */
struct vfs_file_spec {
    struct vfs_df_ref path[VFS_PATH_MAX]; /* DFs from the MF down; depth 0 = in the MF */
    uint8_t depth;
    uint16_t fid; /* 0001..FFFE except 3F00 */
    uint8_t sfi;  /* 1..30, or VFS_SFI_NONE */
    enum vfs_ac ac;
    size_t offset;
    size_t size;
};

enum vfs_kind { VFS_MF, VFS_DF, VFS_EF };

struct vfs_node {
    enum vfs_kind kind;
    int16_t parent; /* -1 for the MF */
    uint16_t fid;   /* VFS_FID_NONE if the DF has only a name */
    uint8_t aid[VFS_AID_MAX];
    uint8_t aid_len;
    uint8_t sfi;
    enum vfs_ac ac;
    const uint8_t *data;
    size_t size;
};

struct vfs {
    struct vfs_node nodes[VFS_MAX_NODES];
    size_t n_nodes;
    int16_t cur_df; /* always a DF or the MF */
    int16_t cur_ef; /* -1: no current EF */
};

/*
 * Builds the tree: node 0 is the MF, DFs are created as the paths name them.
 * On error the vfs holds only the MF. *bad (may be NULL) is the index of the
 * offending spec.
 */
enum vfs_err vfs_build(struct vfs *v, const struct vfs_file_spec *files, size_t n,
                       const uint8_t *pool, size_t *bad);

/* After a card reset: the MF is the current DF, no current EF (§5.3.1). */
void vfs_reset(struct vfs *v);

/* Index of the DF whose name is exactly aid[0..len), or -1. */
int vfs_find_df_by_name(const struct vfs *v, const uint8_t *aid, size_t len);

/*
 * SELECT (INS A4, §7.1.1). P1: 00 MF/DF/EF by FID, 01 child DF, 02 EF under
 * the current DF, 03 parent DF, 04 DF name, 08 path from the MF, 09 path from
 * the current DF. P2: 00 FCI, 04 FCP, 08 FMD, 0C no data; occurrence bits
 * 00 first / 02 next for P1 = 04. The template is returned only when Ne > 0.
 */
uint16_t vfs_select(struct vfs *v, const struct apdu *a, uint8_t *out, size_t cap, size_t *out_len);

/*
 * READ BINARY (INS B0 and B1, §7.2.3). `sec` is a VFS_SEC_* mask. At most
 * min(Ne, cap) bytes are returned; fewer bytes than Ne because the file ends
 * gives 6282, an offset past the end 6B00.
 */
uint16_t vfs_read_binary(struct vfs *v, const struct apdu *a, unsigned sec, uint8_t *out,
                         size_t cap, size_t *out_len);

/* The current EF (NULL if none), for applets that read files themselves. */
const struct vfs_node *vfs_current_ef(const struct vfs *v);

#endif

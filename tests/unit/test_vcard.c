#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hawiya/hex.h"
#include "persona.h"
#include "vcard.h"

/*
 * Expected bytes: the commands are those of the ICAO Doc 9303-11 reading
 * flow (§4.2 EF.CardAccess, §3.1 SELECT of the eMRTD application, §4.3.4.1
 * GET CHALLENGE); responses are the persona's file contents
 * (tests/data/personas.json) framed as ISO/IEC 7816-4 §7.1.1 / §7.2.3 and
 * §5.3.3 Table 12 prescribe. The RNG returns RND.IC of 9303-11 Appendix
 * D.3 (4608F91988702212), so a BAC test can continue from this challenge.
 */

static struct persona persona;
static struct vcard card;

static const uint8_t rnd_ic[8] = {0x46, 0x08, 0xF9, 0x19, 0x88, 0x70, 0x22, 0x12};

static int test_rng(void *ctx, uint8_t *out, size_t n)
{
    (void)ctx;
    for (size_t i = 0; i < n; i++)
        out[i] = rnd_ic[i % sizeof rnd_ic];
    return 0;
}

static int failing_rng(void *ctx, uint8_t *out, size_t n)
{
    (void)ctx;
    (void)out;
    (void)n;
    return -1;
}

static char *data_path(const char *name)
{
    static char buf[4096];
    const char *dir = getenv("HAWIYA_TEST_DATA");
    snprintf(buf, sizeof buf, "%s/%s", dir ? dir : "tests/data", name);
    return buf;
}

static void load(const char *id)
{
    struct persona_diag d;
    enum persona_err e = persona_load_file(data_path("personas.json"), id, &persona, &d);
    if (e != PERSONA_OK) {
        char msg[200];
        persona_diag_format(&d, msg, sizeof msg);
        print_error("%s\n", msg);
    }
    assert_int_equal(e, PERSONA_OK);
    assert_int_equal(vcard_init(&card, &persona, test_rng, NULL), VCARD_OK);
}

static size_t unhex(const char *s, uint8_t *out, size_t cap)
{
    size_t n;
    assert_int_equal(hex_decode(s, strlen(s), out, cap, &n), HEX_OK);
    return n;
}

/* Sends `cmd` (hex) and checks the whole response APDU (hex). */
static void xfer(const char *cmd, const char *want)
{
    static uint8_t c[70000], r[70000], w[70000];
    size_t cn = unhex(cmd, c, sizeof c), wn = unhex(want, w, sizeof w), rn = 0;
    uint32_t t;
    assert_int_equal(vcard_apdu(&card, c, cn, r, sizeof r, &rn, &t), VCARD_OK);
    if (rn != wn || memcmp(r, w, wn) != 0) {
        char got[2 * 64 + 1];
        hex_encode(r, rn < 64 ? rn : 64, got);
        print_error("command %s: got %s (%zu bytes), want %s\n", cmd, got, rn, want);
    }
    assert_int_equal(rn, wn);
    assert_memory_equal(r, w, wn);
}

/* Sends `cmd` and checks only SW1-SW2 and the data length. */
static void xfer_sw(const char *cmd, size_t data_len, uint16_t sw)
{
    static uint8_t c[70000], r[70000];
    size_t cn = unhex(cmd, c, sizeof c), rn = 0;
    assert_int_equal(vcard_apdu(&card, c, cn, r, sizeof r, &rn, NULL), VCARD_OK);
    assert_true(rn >= 2);
    assert_int_equal((r[rn - 2] << 8 | r[rn - 1]), sw);
    assert_int_equal(rn - 2, data_len);
}

/* A command as the ICAO applet would pass it after unwrapping secure messaging. */
static uint16_t fs_sm(const char *cmd, uint8_t *out, size_t cap, size_t *n)
{
    uint8_t c[300];
    struct apdu a;
    size_t cn = unhex(cmd, c, sizeof c);
    assert_int_equal(apdu_decode(c, cn, &a, NULL), APDU_OK);
    return vcard_fs_command(&card, &a, VFS_SEC_SM, out, cap, n);
}

/* ---- personas ---------------------------------------------------------------- */

static void every_persona_loads(void **state)
{
    static const char *const want[] = {
        "default",  "algeria",    "morocco-cnie",  "t0-only",        "inverse",
        "slow",     "expired",    "wrong-dg-hash", "bad-aa-key",     "bac-only",
        "class-ab", "morocco-cl", "algeria-cl",    "morocco-cl-only"};
    FILE *f = fopen(data_path("personas.json"), "rb");
    assert_non_null(f);
    static char json[1 << 20];
    size_t len = fread(json, 1, sizeof json, f);
    fclose(f);
    char ids[16][PERSONA_ID_MAX + 1];
    size_t n;
    assert_int_equal(persona_list_json(json, len, ids, 16, &n, NULL), PERSONA_OK);
    assert_int_equal(n, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(ids[i], want[i]);
        load(ids[i]);
        assert_string_equal(persona.id, want[i]);
        /* Every persona answers the first command of the flow. */
        xfer_sw("00 A4 04 0C 07 A0 00 00 02 47 10 01", 0, 0x9000);
    }
}

static void default_persona_fields(void **state)
{
    load("default");
    /* The default ATR: T=0 and T=1 offered, TA1=96, IFSC FE, TCK 2F (XOR of T0..K). */
    const uint8_t atr[] = {0x3B, 0x95, 0x96, 0x80, 0x31, 0xFE, 0x45,
                           0x80, 0x73, 0xB4, 0x21, 0x40, 0x2F};
    assert_int_equal(persona.atr_len, sizeof atr);
    assert_memory_equal(persona.atr, atr, sizeof atr);
    assert_int_equal(persona.n_protocols, 2);
    assert_int_equal(persona.protocols[0], 1);
    assert_int_equal(persona.protocols[1], 0);
    assert_true(persona.extended_length);
    assert_int_equal(persona.max_nc, 1024);
    assert_int_equal(persona.max_ne, 65536);
    assert_int_equal(persona.timing.select_us, 3000);
    assert_int_equal(persona.timing.when_slow, PERSONA_SLOW_WTX);
    char name[64];
    persona_mrz_name(&persona.holder, name, sizeof name);
    assert_string_equal(name, "BENALI<<MOHAMED<AMINE");
    assert_string_equal(persona.holder.given_names_utf8, "محمد أمين");
    assert_string_equal(persona.holder.can, "123456");
    assert_string_equal(persona.holder.birth_date, "900115");
    assert_int_equal(persona.holder.sex, 'M');
    assert_false(persona.flags.bac_only);
    assert_int_equal(persona.n_files, 6); /* with EF.BENCH, the benchmarks' 8 KiB file */
    assert_int_equal(persona.files[3].size, 40000);
    assert_int_equal(persona.files[3].ac, VFS_AC_SM);
    persona_clear(&persona);
    assert_int_equal(persona.holder.can[0], 0);
}

static void other_persona_fields(void **state)
{
    /* pcsc-tools smartcard_list.txt: "algeria national identity card (eID)". */
    load("algeria");
    const uint8_t dz[] = {0x3B, 0xFF, 0x96, 0x00, 0xFF, 0x91, 0x81, 0x31, 0xFE,
                          0x4D, 0x80, 0x31, 0xE0, 0x6B, 0x04, 0x31, 0x05, 0x02,
                          0x75, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x79};
    assert_int_equal(persona.atr_len, sizeof dz);
    assert_memory_equal(persona.atr, dz, sizeof dz);
    assert_int_equal(persona.n_protocols, 1);
    assert_string_equal(persona.holder.issuing_state, "DZA");

    load("t0-only");
    assert_int_equal(persona.protocols[0], 0);
    assert_int_equal(persona.timing.when_slow, PERSONA_SLOW_NULL);
    assert_false(persona.extended_length);
    assert_int_equal(persona.max_ne, 256);

    load("inverse");
    assert_int_equal(persona.atr[0], 0x3F);

    load("slow");
    uint32_t t;
    size_t rn;
    uint8_t r[300];
    const uint8_t ga[] = {0x00, 0x86, 0x00, 0x00, 0x02, 0x7C, 0x00, 0x00};
    assert_int_equal(vcard_apdu(&card, ga, sizeof ga, r, sizeof r, &rn, &t), VCARD_OK);
    assert_int_equal(t, 2000000);

    load("expired");
    assert_true(persona.flags.expired);
    assert_string_equal(persona.holder.expiry_date, "200101");
    load("wrong-dg-hash");
    assert_true(persona.flags.wrong_dg_hash);
    load("bad-aa-key");
    assert_true(persona.flags.bad_aa_key);

    /* Without PACE there is no EF.CardAccess under the MF. */
    load("bac-only");
    assert_true(persona.flags.bac_only);
    xfer("00 A4 02 0C 02 01 1C", "6A 82");
}

struct bad_case {
    const char *file;
    enum persona_err err;
    const char *field;
};

static void broken_personas_are_refused(void **state)
{
    static const struct bad_case cases[] = {
        {"bad-can", PERSONA_ERR_FORMAT, "holder.can"},
        {"bad-date", PERSONA_ERR_FORMAT, "holder.birth_date"},
        {"bad-atr-tck", PERSONA_ERR_ATR, "atr"},
        {"unknown-field", PERSONA_ERR_UNKNOWN_FIELD, "colour"},
        {"wrong-type", PERSONA_ERR_TYPE, "timing.select_us"},
        {"protocol-not-offered", PERSONA_ERR_ATR, "protocols"},
        {"duplicate-fid", PERSONA_ERR_FILES, "files[1]"},
        {"bad-hex", PERSONA_ERR_FORMAT, "files[0].data"},
        {"too-big", PERSONA_ERR_NO_SPACE, "files[1].generate.size"},
        {"duplicate-id", PERSONA_ERR_DUPLICATE_ID, "id"},
        {"missing-holder", PERSONA_ERR_MISSING, "holder"},
        {"bad-mrz-name", PERSONA_ERR_FORMAT, "holder.surname"},
        {"bad-utf8", PERSONA_ERR_FORMAT, "holder.surname_utf8"},
        {"short-apdu-limits", PERSONA_ERR_RANGE, "apdu.max_response_data"},
        {"not-json", PERSONA_ERR_JSON, ""},
        {"wrong-version", PERSONA_ERR_RANGE, "version"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char name[64];
        struct persona_diag d;
        snprintf(name, sizeof name, "bad-personas/%s.json", cases[i].file);
        enum persona_err e = persona_load_file(data_path(name), cases[i].file, &persona, &d);
        if (e != cases[i].err || strcmp(d.field, cases[i].field) != 0)
            print_error("%s: %s field '%s'\n", cases[i].file, persona_err_str(e), d.field);
        assert_int_equal(e, cases[i].err);
        assert_int_equal(d.err, cases[i].err);
        assert_string_equal(d.field, cases[i].field);
        /* The diagnostic names the persona once its id is known. */
        if (e != PERSONA_ERR_JSON && e != PERSONA_ERR_RANGE)
            assert_string_equal(d.id, cases[i].file);
        assert_int_equal(persona.n_files, 0);
    }
    struct persona_diag d;
    char msg[160];
    assert_int_equal(
        persona_load_file(data_path("bad-personas/bad-can.json"), "bad-can", &persona, &d),
        PERSONA_ERR_FORMAT);
    persona_diag_format(&d, msg, sizeof msg);
    assert_string_equal(msg, "persona 'bad-can': field 'holder.can': PERSONA_ERR_FORMAT");
    assert_int_equal(persona_load_file(data_path("personas.json"), "nobody", &persona, &d),
                     PERSONA_ERR_NOT_FOUND);
    assert_string_equal(d.id, "nobody");
    assert_int_equal(persona_load_file(data_path("no-such-file.json"), "x", &persona, &d),
                     PERSONA_ERR_IO);
    assert_int_equal(persona_load_json("[]", 2, "x", &persona, &d), PERSONA_ERR_SCHEMA);
    assert_string_equal(persona_err_str(PERSONA_ERR_NO_SPACE), "PERSONA_ERR_NO_SPACE");
}

static struct vfs_file_spec ef_spec(uint16_t fid, uint8_t sfi)
{
    struct vfs_file_spec f = {.fid = fid, .sfi = sfi, .ac = VFS_AC_ALWAYS};
    return f;
}

static void vfs_build_errors(void **state)
{
    static struct vfs v;
    static const uint8_t pool[4] = {1, 2, 3, 4};
    struct vfs_file_spec f[VFS_MAX_NODES + 1];
    size_t bad = 99;

    /* §5.3.1.1: 3F00 names the MF, 0000 / FFFF / 3FFF are reserved. */
    f[0] = ef_spec(0x3F00, 0);
    assert_int_equal(vfs_build(&v, f, 1, pool, &bad), VFS_ERR_BAD_FID);
    assert_int_equal(bad, 0);
    f[0] = ef_spec(0x3FFF, 0);
    assert_int_equal(vfs_build(&v, f, 1, pool, &bad), VFS_ERR_BAD_FID);
    f[0] = ef_spec(0x0101, 31);
    assert_int_equal(vfs_build(&v, f, 1, pool, &bad), VFS_ERR_BAD_SFI);
    /* Same SFI twice in one DF; same FID as a DF; a DF name in two places. */
    f[0] = ef_spec(0x0101, 1);
    f[1] = ef_spec(0x0102, 1);
    assert_int_equal(vfs_build(&v, f, 2, pool, &bad), VFS_ERR_DUPLICATE);
    assert_int_equal(bad, 1);
    assert_int_equal(v.n_nodes, 1); /* only the MF is left */
    f[1] = ef_spec(0x0102, 0);
    f[1].depth = 1;
    f[1].path[0] = (struct vfs_df_ref){.id = {0x01, 0x01}, .len = 2};
    assert_int_equal(vfs_build(&v, f, 2, pool, &bad), VFS_ERR_DUPLICATE);
    f[0] = ef_spec(0x0101, 0);
    f[0].depth = 1;
    f[0].path[0] = (struct vfs_df_ref){.id = {0xA0, 0, 0, 2, 0x47}, .len = 5};
    f[1] = ef_spec(0x0102, 0);
    f[1].depth = 2;
    f[1].path[0] = (struct vfs_df_ref){.id = {0x50, 0x00}, .len = 2};
    f[1].path[1] = f[0].path[0];
    assert_int_equal(vfs_build(&v, f, 2, pool, &bad), VFS_ERR_DUPLICATE);
    /* A path element of 3 bytes is neither a FID nor an AID. */
    f[1].depth = 1;
    f[1].path[0] = (struct vfs_df_ref){.id = {1, 2, 3}, .len = 3};
    assert_int_equal(vfs_build(&v, f, 2, pool, &bad), VFS_ERR_BAD_PATH);
    /* Too many files. */
    for (size_t i = 0; i < VFS_MAX_NODES; i++)
        f[i] = ef_spec((uint16_t)(0x0101 + i), 0);
    assert_int_equal(vfs_build(&v, f, VFS_MAX_NODES, pool, &bad), VFS_ERR_TOO_MANY_FILES);
    assert_int_equal(bad, VFS_MAX_NODES - 1);
    assert_int_equal(vfs_build(&v, f, VFS_MAX_NODES - 1, pool, &bad), VFS_OK);
    f[0] = ef_spec(0x0101, 0);
    f[0].size = VFS_MAX_FILE + 1;
    assert_int_equal(vfs_build(&v, f, 1, pool, &bad), VFS_ERR_TOO_BIG);
}

/* ---- the eMRTD flow ---------------------------------------------------------- */

static void emrtd_flow(void **state)
{
    load("default");
    /* EF.CardAccess under the MF (9303-11 §4.2 / 9303-10 §3.11.3): SELECT P1=02 P2=0C. */
    xfer("00 A4 02 0C 02 01 1C", "90 00");
    xfer("00 B0 00 00 16",
         "31 14 30 12 06 0A 04 00 7F 00 07 02 02 04 02 02 02 01 02 02 01 0D 90 00");
    /* Le=00 asks for up to 256 bytes; the EF ends first: 6282 with what there is. */
    xfer("00 B0 00 00 00",
         "31 14 30 12 06 0A 04 00 7F 00 07 02 02 04 02 02 02 01 02 02 01 0D 62 82");
    /* The same EF by SFI 1C in P1 (100 11100). */
    xfer("00 B0 9C 00 04", "31 14 30 12 90 00");
    xfer("00 B0 9C 13 04", "02 01 0D 62 82");
    /* EF.ATR/INFO 2F01: extended length information '7F66'. */
    xfer("00 A4 02 0C 02 2F 01", "90 00");
    xfer("00 B0 00 00 0C", "7F 66 09 02 02 04 09 02 03 01 00 02 90 00");

    /* The eMRTD application (9303-10 §3.1: A0 00 00 02 47 10 01). */
    xfer("00 A4 04 0C 07 A0 00 00 02 47 10 01", "90 00");
    /* GET CHALLENGE for BAC: RND.IC. */
    xfer("00 84 00 00 08", "46 08 F9 19 88 70 22 12 90 00");
    assert_int_equal(card.challenge_len, 8);
    /* EF.COM is readable under secure messaging only. */
    xfer("00 A4 02 0C 02 01 1E", "90 00");
    xfer("00 B0 00 00 04", "69 82");
    uint8_t out[300];
    size_t n;
    assert_int_equal(fs_sm("00 B0 00 00 04", out, sizeof out, &n), 0x9000);
    assert_int_equal(n, 4);
    assert_memory_equal(out, ((const uint8_t[]){0x60, 0x16, 0x5F, 0x01}), 4);
    /* DG3 is never readable (EAC-protected on real cards). */
    assert_int_equal(fs_sm("00 B0 83 00 02", out, sizeof out, &n), 0x6982);
    /* EF.CardAccess is not in the eMRTD DF: 6A82; P1=00 finds it through the parent. */
    xfer("00 A4 02 0C 02 01 1C", "6A 82");
    xfer("00 A4 00 0C 02 01 1C", "90 00");
    xfer("00 B0 00 00 02", "31 14 90 00");
}

static void select_templates(void **state)
{
    load("default");
    /*
     * FCP of EF.CardAccess (§5.3.3 Table 12): 80 02 0016 (22 bytes), 82 01 01
     * (transparent working EF), 83 02 011C, 88 01 E0 (SFI 28 << 3), 8A 01 05.
     */
    xfer("00 A4 02 04 02 01 1C 00",
         "62 11 80 02 00 16 82 01 01 83 02 01 1C 88 01 E0 8A 01 05 90 00");
    /* FCI of the eMRTD DF: 82 01 38 (DF), 84 DF name, 8A 01 05. */
    xfer("00 A4 04 00 07 A0 00 00 02 47 10 01 00",
         "6F 0F 82 01 38 84 07 A0 00 00 02 47 10 01 8A 01 05 90 00");
    /* Le too short: 6C with the exact length (§5.6 Table 6), the selection still happens. */
    xfer("00 A4 04 00 07 A0 00 00 02 47 10 01 05", "6C 11");
    xfer("00 A4 04 08 07 A0 00 00 02 47 10 01 00", "64 00 90 00");
    /* No Le: no data, whatever P2 asks for. */
    xfer("00 A4 04 00 07 A0 00 00 02 47 10 01", "90 00");
    /* Right-truncated DF name (§7.1.1), and "next occurrence" finding nothing more. */
    xfer("00 A4 04 0C 05 A0 00 00 02 47", "90 00");
    xfer("00 A4 04 0E 05 A0 00 00 02 47", "6A 82");
    /* MF by empty data or 3F00; parent of the MF does not exist. */
    xfer("00 A4 00 0C", "90 00");
    xfer("00 A4 00 0C 02 3F 00", "90 00");
    xfer("00 A4 03 0C", "6A 82");
    /* Paths (P1=08 from the MF, with or without 3F00; P1=09 from the current DF). */
    xfer("00 A4 08 0C 02 2F 01", "90 00");
    xfer("00 A4 08 0C 04 3F 00 01 1C", "90 00");
    xfer("00 B0 00 00 01", "31 90 00");
    xfer("00 A4 09 0C 02 2F 01", "90 00");
    xfer("00 A4 08 0C 04 01 1C 01 1C", "6A 82");
    /* A DF by FID with P1=01: the eMRTD DF has none. */
    xfer("00 A4 01 0C 02 01 1C", "6A 82");
    /* A selection that fails leaves the current file as it was (§7.1.1). */
    xfer("00 A4 02 0C 02 01 1C", "90 00");
    xfer("00 A4 02 0C 02 0F 0E", "6A 82");
    xfer("00 B0 00 00 02", "31 14 90 00");
}

static void read_binary_offsets(void **state)
{
    load("default");
    uint8_t out[70000];
    size_t n;
    xfer("00 A4 04 0C 07 A0 00 00 02 47 10 01", "90 00");
    /* DG2 by SFI 02 then a 15-bit offset: 7F00 = 32512; the counter pattern is offset mod 256. */
    assert_int_equal(fs_sm("00 B0 82 00 02", out, sizeof out, &n), 0x9000);
    assert_memory_equal(out, ((const uint8_t[]){0x00, 0x01}), 2);
    assert_int_equal(fs_sm("00 B0 7F 05 03", out, sizeof out, &n), 0x9000);
    assert_memory_equal(out, ((const uint8_t[]){0x05, 0x06, 0x07}), 3);
    /* Extended Le 0000 = 65536: the whole 40000-byte file, which ends before Ne. */
    assert_int_equal(fs_sm("00 B0 00 00 00 00 00", out, sizeof out, &n), 0x6282);
    assert_int_equal(n, 40000);
    assert_int_equal(out[39999], 39999 % 256);
    /* Odd INS B1 with offset DO '54' past 32 KiB (9303-10 §3.5.2): 9000 = 36864. */
    assert_int_equal(fs_sm("00 B1 00 02 04 54 02 90 00 10", out, sizeof out, &n), 0x9000);
    assert_int_equal(n, 16);
    const uint8_t do53[] = {0x53, 0x0E, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13};
    assert_memory_equal(out, do53, 16);
    /* Ten bytes before the end (39990 = 9C36), Le 00: DO '53' of 10 bytes and 6282. */
    assert_int_equal(fs_sm("00 B1 00 00 04 54 02 9C 36 00", out, sizeof out, &n), 0x6282);
    assert_int_equal(n, 12);
    assert_int_equal(out[0], 0x53);
    assert_int_equal(out[1], 0x0A);
    assert_int_equal(out[2], 39990 % 256);
    /* B1 with a three-byte offset beyond the end, a bad data object, no data. */
    assert_int_equal(fs_sm("00 B1 00 00 05 54 03 01 00 00 00", out, sizeof out, &n), 0x6B00);
    assert_int_equal(fs_sm("00 B1 00 00 03 55 01 00 00", out, sizeof out, &n), 0x6A80);
    assert_int_equal(fs_sm("00 B1 00 00 04 54 01 00 00 00", out, sizeof out, &n), 0x6A80);
    assert_int_equal(fs_sm("00 B1 01 02 03 54 01 00 00", out, sizeof out, &n), 0x9000);
    assert_int_equal(n, 256 - 3 + 3); /* 53 81 FD + 253 bytes fill Ne = 256 */
    assert_int_equal(out[1], 0x81);
    assert_int_equal(out[2], 0xFD);
    /* Offsets at and beyond the end of EF.COM (24 bytes). */
    assert_int_equal(fs_sm("00 B0 9E 18 04", out, sizeof out, &n), 0x6282);
    assert_int_equal(n, 0);
    assert_int_equal(fs_sm("00 B0 9E 19 04", out, sizeof out, &n), 0x6B00);
    /* A small buffer limits the response, not the status. */
    assert_int_equal(fs_sm("00 B0 82 00 10", out, 4, &n), 0x9000);
    assert_int_equal(n, 4);
}

static void status_words(void **state)
{
    load("default");
    xfer("00 CA 00 00 00", "6D 00");                      /* GET DATA: not supported */
    xfer("80 A4 00 0C", "6E 00");                         /* proprietary class */
    xfer("FF A4 00 0C", "6E 00");                         /* PPS-reserved class */
    xfer("20 A4 00 0C", "6E 00");                         /* RFU class */
    xfer("01 A4 00 0C", "68 81");                         /* logical channel 1 */
    xfer("40 A4 00 0C", "68 81");                         /* further interindustry channel 4 */
    xfer("0C B0 00 00 04", "68 82");                      /* SM without an SM applet */
    xfer("10 A4 00 0C", "68 84");                         /* command chaining */
    xfer("00 A4 05 0C", "6A 86");                         /* no such P1 */
    xfer("00 A4 00 1C 02 01 1C", "6A 86");                /* P2 bits b8-b5 */
    xfer("00 A4 02 0D 02 01 1C", "6A 86");                /* occurrence bits with a FID */
    xfer("00 A4 02 0C 02 09 99", "6A 82");                /* no such EF */
    xfer("00 A4 04 0C 07 A0 00 00 02 47 10 02", "6A 82"); /* no such application */
    xfer("00 A4 02 0C 01 01", "67 00");                   /* FID of one byte */
    xfer("00 A4 02 0C 02 01", "67 00");                   /* Lc says 2, 1 byte follows */
    xfer("00 A4 02", "67 00");                            /* not even a header */
    xfer("", "67 00");
    xfer("00 A4 08 0C 03 01 1C 01", "67 00"); /* odd path length */
    xfer("00 B0 00 00", "67 00");             /* READ BINARY without Le */
    xfer("00 B0 00 00 01 00 04", "67 00");    /* READ BINARY with data */
    xfer("00 B0 00 00 04", "69 86");          /* no current EF after reset */
    xfer("00 B0 85 00 04", "6A 82");          /* no EF with SFI 5 */
    xfer("00 B0 A0 00 04", "6A 86");          /* P1 = 101xxxxx */
    xfer("00 B0 80 00 04", "6A 86");          /* SFI 0 */
    xfer("00 84 00 00 04", "67 00");          /* GET CHALLENGE of 4 bytes */
    xfer("00 84 01 00 08", "6A 86");
    xfer("00 84 00 00", "67 00");
    xfer("00 A4 02 0C 02 01 1C", "90 00");
    xfer("00 B0 00 17 01", "6B 00"); /* offset past the 22-byte EF */
    /* Nc above the card's 1024 (extended Lc 0401). */
    static char big[4 * 1040 + 64];
    strcpy(big, "00 A4 04 0C 00 04 01");
    for (size_t i = 0; i < 1025; i++)
        strcat(big, " 00");
    xfer(big, "67 00");

    /* No RNG: conditions of use not satisfied; a failing RNG: no precise diagnosis. */
    assert_int_equal(vcard_init(&card, &persona, NULL, NULL), VCARD_OK);
    xfer("00 84 00 00 08", "69 85");
    assert_int_equal(vcard_init(&card, &persona, failing_rng, NULL), VCARD_OK);
    xfer("00 84 00 00 08", "6F 00");
    assert_int_equal(card.challenge_len, 0);

    /* A short-only card refuses extended length fields. */
    load("t0-only");
    xfer("00 B0 9C 00 00 00 04", "67 00");
    xfer("00 B0 9C 00 04", "31 14 30 12 90 00");

    assert_string_equal(vcard_err_str(VCARD_ERR_BUFFER), "VCARD_ERR_BUFFER");
    assert_string_equal(vfs_err_str(VFS_ERR_DUPLICATE), "VFS_ERR_DUPLICATE");
}

static void response_capacity(void **state)
{
    load("default");
    const uint8_t rb[] = {0x00, 0xB0, 0x9C, 0x00, 0x10};
    uint8_t r[8];
    size_t rn = 99;
    assert_int_equal(vcard_apdu(&card, rb, sizeof rb, r, 1, &rn, NULL), VCARD_ERR_BUFFER);
    assert_int_equal(rn, 0);
    /* 6 bytes of buffer: 4 data bytes and the status word. */
    assert_int_equal(vcard_apdu(&card, rb, sizeof rb, r, 6, &rn, NULL), VCARD_OK);
    assert_int_equal(rn, 6);
    const uint8_t want[] = {0x31, 0x14, 0x30, 0x12, 0x90, 0x00};
    assert_memory_equal(r, want, 6);
    assert_int_equal(vcard_max_response_data(&card, 70000), 65536);
    assert_int_equal(vcard_max_response_data(&card, 100), 98);
    assert_int_equal(vcard_apdu(NULL, rb, sizeof rb, r, 8, &rn, NULL), VCARD_ERR_ARGS);
}

/* ---- applets and reset ------------------------------------------------------- */

struct test_applet {
    int resets, commands;
};

static enum vcard_applet_result ta_process(struct vcard *c, void *ctx, const struct apdu *a,
                                           uint8_t *out, size_t cap, size_t *rlen, uint16_t *sw)
{
    struct test_applet *t = ctx;
    t->commands++;
    if (a->ins != 0x88)
        return VCARD_APPLET_PASS;
    assert_true(cap >= 1);
    out[0] = 0xAA;
    *rlen = 1;
    *sw = 0x9000;
    return VCARD_APPLET_DONE;
}

static void ta_reset(struct vcard *c, void *ctx)
{
    ((struct test_applet *)ctx)->resets++;
}

static const struct vcard_applet emrtd_applet = {
    .name = "test-emrtd",
    .aid = {0xA0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x01},
    .aid_len = 7,
    .process = ta_process,
    .reset = ta_reset,
};

static void applet_dispatch_and_reset(void **state)
{
    struct test_applet t = {0};
    uint32_t us;
    load("default");
    assert_int_equal(vcard_register_applet(&card, &emrtd_applet, &t), VCARD_OK);
    xfer("00 88 00 00 00", "6D 00"); /* not selected yet */
    assert_int_equal(t.commands, 0);
    xfer("00 A4 04 0C 07 A0 00 00 02 47 10 01", "90 00");
    assert_int_equal(card.current_applet, 0);
    xfer("00 88 00 00 00", "AA 90 00");
    /* Commands the applet passes on reach the file system in the applet's DF. */
    xfer("00 A4 02 0C 02 01 1E", "90 00");
    xfer("00 84 00 00 08", "46 08 F9 19 88 70 22 12 90 00");
    assert_int_equal(t.commands, 3);
    /* Selecting the application again ends its session. */
    xfer("00 A4 04 0C 07 A0 00 00 02 47 10 01", "90 00");
    assert_int_equal(t.resets, 1);
    /* A card reset: applet reset, MF current, challenge wiped. */
    vcard_reset(&card);
    assert_int_equal(t.resets, 2);
    assert_int_equal(card.current_applet, -1);
    assert_int_equal(card.challenge_len, 0);
    for (size_t i = 0; i < sizeof card.challenge; i++)
        assert_int_equal(card.challenge[i], 0);
    xfer("00 88 00 00 00", "6D 00");
    xfer("00 A4 02 0C 02 01 1C", "90 00");
    /* Selecting another application deselects the applet. */
    xfer("00 A4 04 0C 07 A0 00 00 02 47 10 01", "90 00");
    xfer("00 A4 04 0C 07 A0 00 00 02 47 10 02", "6A 82");
    assert_int_equal(card.current_applet, -1);
    assert_int_equal(t.resets, 3);
    /* Processing times per command class from the persona. */
    const uint8_t ia[] = {0x00, 0x88, 0x00, 0x00, 0x00};
    uint8_t r[16];
    size_t rn;
    assert_int_equal(vcard_apdu(&card, ia, sizeof ia, r, sizeof r, &rn, &us), VCARD_OK);
    assert_int_equal(us, 150000);
    const uint8_t sel[] = {0x00, 0xA4, 0x00, 0x0C};
    assert_int_equal(vcard_apdu(&card, sel, sizeof sel, r, sizeof r, &rn, &us), VCARD_OK);
    assert_int_equal(us, 3000);
    const uint8_t other[] = {0x00, 0xCA, 0x00, 0x00};
    assert_int_equal(vcard_apdu(&card, other, sizeof other, r, sizeof r, &rn, &us), VCARD_OK);
    assert_int_equal(us, 2000);

    for (size_t i = 1; i < VCARD_MAX_APPLETS; i++)
        assert_int_equal(vcard_register_applet(&card, &emrtd_applet, &t), VCARD_OK);
    assert_int_equal(vcard_register_applet(&card, &emrtd_applet, &t), VCARD_ERR_TOO_MANY);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_persona_loads),
        cmocka_unit_test(default_persona_fields),
        cmocka_unit_test(other_persona_fields),
        cmocka_unit_test(broken_personas_are_refused),
        cmocka_unit_test(vfs_build_errors),
        cmocka_unit_test(emrtd_flow),
        cmocka_unit_test(select_templates),
        cmocka_unit_test(read_binary_offsets),
        cmocka_unit_test(status_words),
        cmocka_unit_test(response_capacity),
        cmocka_unit_test(applet_dispatch_and_reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

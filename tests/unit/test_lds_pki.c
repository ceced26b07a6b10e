#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hawiya/aa.h"
#include "hawiya/lds.h"
#include "hawiya/sod.h"

/*
 * Interoperability: the card files that hawiya-pki (host/pki, written
 * separately from the standards) issues for the personas must parse and
 * pass, or fail, passive and active authentication exactly as the persona
 * says. $HAWIYA_PKI is the tool, $HAWIYA_PERSONAS the persona file.
 */

static char dir[64];

#define FILE_MAX 16384

struct file {
    uint8_t b[FILE_MAX];
    size_t n;
};

static void load(struct file *f, const char *sub, const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s/%s", dir, sub, name);
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        fail_msg("cannot open %s", path);
    f->n = fread(f->b, 1, sizeof f->b, fp);
    assert_true(f->n < sizeof f->b);
    fclose(fp);
}

static const char *const personas[] = {"default", "algeria", "wrong-dg-hash", "expired",
                                       "bad-aa-key"};

static int setup(void **state)
{
    const char *pki = getenv("HAWIYA_PKI"), *personas_file = getenv("HAWIYA_PERSONAS");
    char cmd[1024];
    if (pki == NULL || personas_file == NULL)
        return -1;
    strcpy(dir, "/tmp/hawiya-lds-pki-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(cmd, sizeof cmd, "'%s' init --out %s/ca --seed 7 --personas '%s'", pki, dir,
             personas_file);
    if (system(cmd) != 0)
        return -1;
    for (size_t i = 0; i < sizeof personas / sizeof personas[0]; i++) {
        snprintf(cmd, sizeof cmd, "'%s' card --ca %s/ca --personas '%s' --persona %s --out %s/%s",
                 pki, dir, personas_file, personas[i], dir, personas[i]);
        if (system(cmd) != 0)
            return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

struct card {
    struct file com, dg1, dg2, dg11, dg14, dg15, sod, csca;
    struct lds_dg1 mrz;
    struct security_infos si;
    struct sod s;
};

static struct card c;

static void parse_card(const char *persona)
{
    struct lds_com com;
    struct lds_dg2 dg2;
    struct lds_dg11 dg11;
    struct lds_dg15 dg15;
    char name[32];

    load(&c.com, persona, "com.bin");
    load(&c.dg1, persona, "dg1.bin");
    load(&c.dg2, persona, "dg2.bin");
    load(&c.dg11, persona, "dg11.bin");
    load(&c.dg14, persona, "dg14.bin");
    load(&c.dg15, persona, "dg15.bin");
    load(&c.sod, persona, "sod.bin");
    assert_int_equal(lds_com_parse(c.com.b, c.com.n, &com), LDS_OK);
    assert_int_equal(lds_dg1_parse(c.dg1.b, c.dg1.n, &c.mrz), LDS_OK);
    assert_int_equal(lds_dg2_parse(c.dg2.b, c.dg2.n, &dg2), LDS_OK);
    assert_int_equal(lds_dg11_parse(c.dg11.b, c.dg11.n, &dg11), LDS_OK);
    assert_int_equal(lds_dg14_parse(c.dg14.b, c.dg14.n, &c.si, NULL), LDS_OK);
    assert_int_equal(lds_dg15_parse(c.dg15.b, c.dg15.n, &dg15, NULL), LDS_OK);
    assert_int_equal(sod_parse(c.sod.b, c.sod.n, &c.s), SOD_OK);
    snprintf(name, sizeof name, "csca-%s.der", c.mrz.mrz.issuing_state);
    load(&c.csca, "ca/csca", name);
}

static enum sod_err passive(void)
{
    const struct sod_time now = {2026, 6, 1, 0, 0, 0};
    const uint8_t *ca[] = {c.csca.b};
    const size_t ca_len[] = {c.csca.n};
    const struct sod_dg_data dgs[] = {
        {1, c.dg1.b, c.dg1.n},    {2, c.dg2.b, c.dg2.n},    {11, c.dg11.b, c.dg11.n},
        {14, c.dg14.b, c.dg14.n}, {15, c.dg15.b, c.dg15.n},
    };
    struct sod_verify_result res;
    enum sod_err e = sod_verify(&c.s, ca, ca_len, 1, &now, dgs, 5, NULL, &res);
    if (e == SOD_ERR_DG_HASH)
        assert_int_equal(res.failed_dg, 1);
    return e;
}

static int rng(void *ctx, unsigned char *out, size_t n)
{
    uint32_t *k = ctx;
    for (size_t i = 0; i < n; i++)
        out[i] = (uint8_t)((*k)++ * 101u + 3u);
    return 0;
}

/* The card's AA key signs, the reader checks with DG15 and DG14's algorithm. */
static enum aa_err active(const char *persona)
{
    struct file key;
    struct lds_dg15 d;
    mbedtls_pk_context priv, pub;
    enum aa_hash h;
    uint8_t sig[132];
    size_t n;
    uint32_t k = 9;
    const uint8_t challenge[AA_CHALLENGE_LEN] = {0x4E, 0x12, 0x3B, 0x07, 0xA9, 0x55, 0x60, 0x01};

    load(&key, persona, "aa_key.der");
    mbedtls_pk_init(&priv);
    mbedtls_pk_init(&pub);
    assert_int_equal(mbedtls_pk_parse_key(&priv, key.b, key.n, NULL, 0), 0);
    assert_int_equal(lds_dg15_parse(c.dg15.b, c.dg15.n, &d, &pub), LDS_OK);
    assert_true(c.si.has_aa);
    assert_int_equal(
        aa_hash_from_oid(c.si.aa.signature_algorithm, c.si.aa.signature_algorithm_len, &h), AA_OK);
    assert_int_equal(aa_card_sign(mbedtls_pk_ec(priv), challenge, sizeof challenge, h, rng, &k, sig,
                                  sizeof sig, &n),
                     AA_OK);
    assert_int_equal(n, aa_signature_len(&pub));
    enum aa_err e = aa_verify(&pub, h, challenge, sizeof challenge, sig, n, NULL);
    mbedtls_pk_free(&priv);
    mbedtls_pk_free(&pub);
    return e;
}

static void default_card(void **state)
{
    parse_card("default");
    assert_string_equal(c.mrz.mrz.issuing_state, "MAR");
    assert_int_equal(passive(), SOD_OK);
    assert_int_equal(active("default"), AA_OK);
}

static void algeria_card(void **state)
{
    parse_card("algeria");
    assert_string_equal(c.mrz.mrz.issuing_state, "DZA");
    assert_int_equal(passive(), SOD_OK);
    assert_int_equal(active("algeria"), AA_OK);
}

static void wrong_dg_hash_card(void **state)
{
    parse_card("wrong-dg-hash");
    assert_int_equal(passive(), SOD_ERR_DG_HASH);
}

static void expired_card(void **state)
{
    /* Signed by the old Document Signer, whose certificate has expired. */
    parse_card("expired");
    assert_int_equal(passive(), SOD_ERR_DS_EXPIRED);
}

static void bad_aa_key_card(void **state)
{
    parse_card("bad-aa-key");
    assert_int_equal(passive(), SOD_OK);
    assert_int_equal(active("bad-aa-key"), AA_ERR_SIGNATURE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(default_card),       cmocka_unit_test(algeria_card),
        cmocka_unit_test(wrong_dg_hash_card), cmocka_unit_test(expired_card),
        cmocka_unit_test(bad_aa_key_card),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

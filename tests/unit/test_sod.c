#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include <mbedtls/asn1write.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/md.h>
#include <mbedtls/pk.h>

#include "hawiya/sod.h"
#include "lds_fixture.h"

/*
 * EF.SOD fixtures from tests/data/lds/make.sh: a CSCA (EC P-256, valid
 * 2020-2045), Document Signers issued by it (valid 2025-2030), and
 * LDSSecurityObjects made with `openssl asn1parse -genconf` over the DG
 * fixtures, signed by `openssl cms -sign -econtent_type 2.23.136.1.1.1`:
 * sod.bin (ecdsa-with-SHA256, issuerAndSerialNumber), sod_pss.bin
 * (RSASSA-PSS SHA-256 salt 32, subjectKeyIdentifier, LDS 1.8 version info),
 * sod_rsa.bin (PKCS #1 v1.5 written as rsaEncryption).
 */

static const struct sod_time t2027 = {2027, 6, 1, 12, 0, 0};

struct world {
    struct fixture csca, foreign, shortlived;
    struct fixture dg[5];
};

static const char *const dg_files[5] = {"dg1.bin", "dg2.bin", "dg11.bin", "dg14.bin", "dg15.bin"};
static const unsigned dg_numbers[5] = {1, 2, 11, 14, 15};

static struct world w;

static int setup(void **state)
{
    fixture_load(&w.csca, "csca.der");
    fixture_load(&w.foreign, "csca_foreign.der");
    fixture_load(&w.shortlived, "csca_short.der");
    for (int i = 0; i < 5; i++)
        fixture_load(&w.dg[i], dg_files[i]);
    return 0;
}

static void dgs_of(struct sod_dg_data *d)
{
    for (int i = 0; i < 5; i++) {
        d[i].number = dg_numbers[i];
        d[i].data = w.dg[i].b;
        d[i].len = w.dg[i].n;
    }
}

static enum sod_err verify_with(const struct sod *s, const struct fixture *const *cas, size_t n,
                                const struct sod_time *now, struct sod_verify_result *res)
{
    const uint8_t *der[4];
    size_t len[4];
    struct sod_dg_data dgs[5];
    for (size_t i = 0; i < n; i++) {
        der[i] = cas[i]->b;
        len[i] = cas[i]->n;
    }
    dgs_of(dgs);
    return sod_verify(s, der, len, n, now, dgs, 5, NULL, res);
}

static enum sod_err verify_csca(const struct sod *s, const struct sod_time *now)
{
    const struct fixture *cas[] = {&w.csca};
    return verify_with(s, cas, 1, now, NULL);
}

static size_t find(const struct fixture *f, const uint8_t *pat, size_t n)
{
    for (size_t i = 0; i + n <= f->n; i++)
        if (memcmp(f->b + i, pat, n) == 0)
            return i;
    fail_msg("pattern not found");
    return 0;
}

static void parse_ecdsa_sod(void **state)
{
    struct fixture f, ldsso;
    struct sod s;
    fixture_load(&f, "sod.bin");
    fixture_load(&ldsso, "ldsso.der");
    assert_int_equal(sod_parse(f.b, f.n, &s), SOD_OK);
    assert_int_equal(s.version, 3);
    assert_int_equal(s.econtent_len, ldsso.n);
    assert_memory_equal(s.econtent, ldsso.b, ldsso.n);
    assert_int_equal(s.lds_so_version, 0);
    assert_false(s.has_lds_version);
    assert_int_equal(s.hash_algorithm, SOD_HASH_SHA256);
    assert_int_equal(s.n_dg, 5);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(s.dg[i].number, dg_numbers[i]);
        assert_int_equal(s.dg[i].len, 32);
        /* The hashes openssl dgst -sha256 put there. */
        assert_int_equal(sod_check_dg(&s, dg_numbers[i], w.dg[i].b, w.dg[i].n), SOD_OK);
    }
    assert_null(sod_find_dg(&s, 3));
    assert_int_equal(s.n_certs, 1);
    assert_int_equal(s.signer_version, 1);
    assert_non_null(s.sid_issuer);
    assert_null(s.sid_ski);
    const uint8_t serial[] = {0x10, 0x03}; /* openssl ca serial file: 1000 + 3 */
    assert_int_equal(s.sid_serial_len, 2);
    assert_memory_equal(s.sid_serial, serial, 2);
    assert_int_equal(s.digest_algorithm, SOD_HASH_SHA256);
    assert_int_equal(s.sig_scheme, SOD_SIG_ECDSA);
    assert_int_equal(s.sig_hash, SOD_HASH_SHA256);
    assert_int_equal(s.message_digest_len, 32);
    assert_non_null(s.signing_time);
    assert_int_equal(s.signing_time_len, 13);
    assert_int_equal(s.signing_time_tag, 0x17); /* UTCTime, as openssl cms writes it */
    assert_int_equal(s.signed_attrs[0], 0xA0);
}

static void verify_ecdsa_sod(void **state)
{
    struct fixture f;
    struct sod s;
    struct sod_verify_result res;
    fixture_load(&f, "sod.bin");
    assert_int_equal(sod_parse(f.b, f.n, &s), SOD_OK);
    assert_int_equal(verify_csca(&s, &t2027), SOD_OK);

    /* The real CSCA is found behind a namesake with another key. */
    const struct fixture *two[] = {&w.foreign, &w.csca};
    assert_int_equal(verify_with(&s, two, 2, &t2027, &res), SOD_OK);
    assert_int_equal(res.csca_index, 1);
    assert_int_equal(res.ds_cert_index, 0);
    const struct fixture *foreign[] = {&w.foreign};
    assert_int_equal(verify_with(&s, foreign, 1, &t2027, &res), SOD_ERR_DS_NOT_TRUSTED);
    /* The DS certificate is not a CA: it cannot anchor itself. */
    struct fixture ds;
    fixture_load(&ds, "ds.der");
    const struct fixture *self[] = {&ds};
    assert_int_equal(verify_with(&s, self, 1, &t2027, &res), SOD_ERR_DS_NOT_TRUSTED);
}

static void verify_validity(void **state)
{
    struct fixture f;
    struct sod s;
    fixture_load(&f, "sod.bin");
    assert_int_equal(sod_parse(f.b, f.n, &s), SOD_OK);
    const struct sod_time t2031 = {2031, 1, 1, 0, 0, 0};
    const struct sod_time t2024 = {2024, 12, 31, 23, 59, 59};
    const struct sod_time t2019 = {2019, 1, 1, 0, 0, 0};
    const struct sod_time t2030_edge = {2030, 1, 1, 0, 0, 0};
    const struct sod_time t2030_after = {2030, 1, 1, 0, 0, 1};
    assert_int_equal(verify_csca(&s, &t2031), SOD_ERR_DS_EXPIRED);
    assert_int_equal(verify_csca(&s, &t2024), SOD_ERR_DS_NOT_YET_VALID);
    assert_int_equal(verify_csca(&s, &t2019), SOD_ERR_CSCA_NOT_YET_VALID);
    assert_int_equal(verify_csca(&s, &t2030_edge), SOD_OK);
    assert_int_equal(verify_csca(&s, &t2030_after), SOD_ERR_DS_EXPIRED);
    /* Same key and name, expired 2026-01-01; a renewed one next to it wins. */
    const struct fixture *old[] = {&w.shortlived};
    assert_int_equal(verify_with(&s, old, 1, &t2027, NULL), SOD_ERR_CSCA_EXPIRED);
    const struct fixture *both[] = {&w.shortlived, &w.csca};
    struct sod_verify_result res;
    assert_int_equal(verify_with(&s, both, 2, &t2027, &res), SOD_OK);
    assert_int_equal(res.csca_index, 1);
}

static void verify_tampering(void **state)
{
    struct fixture f;
    struct sod s;
    struct sod_verify_result res;
    struct sod_dg_data dgs[5];
    const uint8_t *der[] = {w.csca.b};
    const size_t len[] = {w.csca.n};

    fixture_load(&f, "sod.bin");
    assert_int_equal(sod_parse(f.b, f.n, &s), SOD_OK);
    /* A data group byte. */
    dgs_of(dgs);
    uint8_t dg11[FIXTURE_MAX];
    memcpy(dg11, w.dg[2].b, w.dg[2].n);
    dg11[10] ^= 0x01;
    dgs[2].data = dg11;
    assert_int_equal(sod_verify(&s, der, len, 1, &t2027, dgs, 5, NULL, &res), SOD_ERR_DG_HASH);
    assert_int_equal(res.failed_dg, 11);
    /* A data group the SOD does not cover. */
    dgs_of(dgs);
    dgs[4].number = 3;
    assert_int_equal(sod_verify(&s, der, len, 1, &t2027, dgs, 5, NULL, &res), SOD_ERR_DG_MISSING);
    assert_int_equal(res.failed_dg, 3);

    /* A byte of eContent (inside DG15's hash): the signature still holds. */
    const uint8_t dg15_entry[] = {0x02, 0x01, 0x0F, 0x04, 0x20};
    struct fixture g = f;
    g.b[find(&g, dg15_entry, sizeof dg15_entry) + 6] ^= 0x80;
    assert_int_equal(sod_parse(g.b, g.n, &s), SOD_OK);
    assert_int_equal(verify_csca(&s, &t2027), SOD_ERR_MESSAGE_DIGEST);

    /* The last byte of the ECDSA signature. */
    g = f;
    g.b[g.n - 1] ^= 0x01;
    assert_int_equal(sod_parse(g.b, g.n, &s), SOD_OK);
    assert_int_equal(verify_csca(&s, &t2027), SOD_ERR_SIGNATURE);

    /* A digit of signingTime, a signed attribute. */
    const uint8_t signing_time[] = {0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01,
                                    0x09, 0x05, 0x31, 0x0F, 0x17, 0x0D};
    g = f;
    g.b[find(&g, signing_time, sizeof signing_time) + sizeof signing_time + 3] ^= 0x01;
    assert_int_equal(sod_parse(g.b, g.n, &s), SOD_OK);
    assert_int_equal(verify_csca(&s, &t2027), SOD_ERR_SIGNATURE);

    /* Its tag turned GeneralizedTime: parsed, the tag kept (a reader tells the forms apart by
     * it), and the signature no longer covers it. */
    g = f;
    g.b[find(&g, signing_time, sizeof signing_time) + sizeof signing_time - 2] = 0x18;
    assert_int_equal(sod_parse(g.b, g.n, &s), SOD_OK);
    assert_int_equal(s.signing_time_tag, 0x18);
    assert_int_equal(s.signing_time_len, 13);
    assert_int_equal(verify_csca(&s, &t2027), SOD_ERR_SIGNATURE);

    /* The DS certificate's serial number: sid names no certificate any more. */
    const uint8_t serial[] = {0x02, 0x02, 0x10, 0x03};
    g = f;
    g.b[find(&g, serial, 4) + 3] = 0x04;
    assert_int_equal(sod_parse(g.b, g.n, &s), SOD_OK);
    assert_int_equal(verify_csca(&s, &t2027), SOD_ERR_NO_DS_CERT);

    assert_int_equal(sod_verify(&s, der, len, 0, &t2027, NULL, 0, NULL, NULL),
                     SOD_ERR_BAD_ARGUMENT);
}

static void rsa_sods(void **state)
{
    struct fixture f;
    struct sod s;
    fixture_load(&f, "sod_pss.bin");
    assert_int_equal(sod_parse(f.b, f.n, &s), SOD_OK);
    assert_int_equal(s.sig_scheme, SOD_SIG_RSA_PSS);
    assert_int_equal(s.sig_hash, SOD_HASH_SHA256);
    assert_int_equal(s.pss_mgf1_hash, SOD_HASH_SHA256);
    assert_int_equal(s.pss_salt_len, 32);
    assert_int_equal(s.signer_version, 3);
    assert_non_null(s.sid_ski);
    assert_int_equal(s.sid_ski_len, 20);
    assert_int_equal(s.lds_so_version, 1);
    assert_true(s.has_lds_version);
    assert_string_equal(s.lds_version, "0108");
    assert_string_equal(s.unicode_version, "040000");
    assert_int_equal(verify_csca(&s, &t2027), SOD_OK);
    f.b[f.n - 1] ^= 0x01;
    assert_int_equal(sod_parse(f.b, f.n, &s), SOD_OK);
    assert_int_equal(verify_csca(&s, &t2027), SOD_ERR_SIGNATURE);

    fixture_load(&f, "sod_rsa.bin");
    assert_int_equal(sod_parse(f.b, f.n, &s), SOD_OK);
    assert_int_equal(s.sig_scheme, SOD_SIG_RSA_PKCS1);
    assert_int_equal(s.sig_hash, SOD_HASH_NONE);
    assert_int_equal(verify_csca(&s, &t2027), SOD_OK);
    f.b[f.n - 100] ^= 0x01;
    assert_int_equal(sod_parse(f.b, f.n, &s), SOD_OK);
    assert_int_equal(verify_csca(&s, &t2027), SOD_ERR_SIGNATURE);
}

static void truncation(void **state)
{
    const char *names[] = {"sod.bin", "sod_pss.bin"};
    struct fixture f;
    struct sod s;
    for (int k = 0; k < 2; k++) {
        fixture_load(&f, names[k]);
        for (size_t n = 0; n < f.n; n++) {
            enum sod_err e = sod_parse(f.b, n, &s);
            assert_int_not_equal(e, SOD_OK);
            assert_null(s.econtent);
            assert_int_equal(s.n_dg, 0);
        }
    }
}

static void garbage(void **state)
{
    struct fixture f, g;
    struct sod s;
    fixture_load(&f, "sod.bin");

    g = f;
    g.b[0] = 0x76;
    assert_int_equal(sod_parse(g.b, g.n, &s), SOD_ERR_WRONG_TAG);
    g = f;
    g.b[g.n] = 0x00;
    assert_int_equal(sod_parse(g.b, g.n + 1, &s), SOD_ERR_TRAILING_DATA);
    const uint8_t indefinite[] = {0x77, 0x80, 0x30, 0x00, 0x00, 0x00};
    assert_int_equal(sod_parse(indefinite, sizeof indefinite, &s), SOD_ERR_ENCODING);
    const uint8_t long_short[] = {0x77, 0x81, 0x02, 0x30, 0x00};
    assert_int_equal(sod_parse(long_short, sizeof long_short, &s), SOD_ERR_ENCODING);
    const uint8_t not_signed[] = {0x77, 0x0D, 0x30, 0x0B, 0x06, 0x09, 0x2A, 0x86,
                                  0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x01};
    assert_int_equal(sod_parse(not_signed, sizeof not_signed, &s), SOD_ERR_NOT_SIGNED_DATA);
    assert_int_equal(sod_parse(NULL, 0, &s), SOD_ERR_TRUNCATED);

    /* eContentType 2.23.136.1.1.2 */
    const uint8_t ldsso_oid[] = {0x06, 0x06, 0x67, 0x81, 0x08, 0x01, 0x01, 0x01};
    g = f;
    g.b[find(&g, ldsso_oid, sizeof ldsso_oid) + 7] = 0x02;
    assert_int_equal(sod_parse(g.b, g.n, &s), SOD_ERR_BAD_CONTENT_TYPE);
    /* dataGroupNumber 15 -> 17, and 15 -> 14 (twice the same) */
    const uint8_t dg15_entry[] = {0x02, 0x01, 0x0F, 0x04, 0x20};
    g = f;
    g.b[find(&g, dg15_entry, sizeof dg15_entry) + 2] = 0x11;
    assert_int_equal(sod_parse(g.b, g.n, &s), SOD_ERR_BAD_DG_NUMBER);
    g = f;
    g.b[find(&g, dg15_entry, sizeof dg15_entry) + 2] = 0x0E;
    assert_int_equal(sod_parse(g.b, g.n, &s), SOD_ERR_DUPLICATE_DG);
    /* The contentType attribute must name the eContentType too. */
    const uint8_t ct_attr[] = {0x31, 0x08, 0x06, 0x06, 0x67, 0x81, 0x08, 0x01, 0x01, 0x01};
    g = f;
    g.b[find(&g, ct_attr, sizeof ct_attr) + 9] = 0x05;
    assert_int_equal(sod_parse(g.b, g.n, &s), SOD_ERR_BAD_SIGNED_ATTRS);
    /* SignedData version 2 */
    const uint8_t version[] = {0x02, 0x01, 0x03, 0x31};
    g = f;
    g.b[find(&g, version, sizeof version) + 2] = 0x02;
    assert_int_equal(sod_parse(g.b, g.n, &s), SOD_ERR_BAD_VERSION);
    /* digestAlgorithm of the SignerInfo: sha256 -> 2.16.840.1.101.3.4.2.9 */
    const uint8_t sha256[] = {0x30, 0x0B, 0x06, 0x09, 0x60, 0x86, 0x48,
                              0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0xA0};
    g = f;
    g.b[find(&g, sha256, sizeof sha256) + 12] = 0x09;
    assert_int_equal(sod_parse(g.b, g.n, &s), SOD_ERR_UNSUPPORTED_ALGORITHM);
    assert_string_equal(sod_err_str(SOD_ERR_DG_HASH), "SOD_ERR_DG_HASH");
}

/*
 * SignedData.digestAlgorithms is outside the signature, but `openssl cms
 * -verify` requires the SignerInfo's digestAlgorithm in it ("digest
 * algorithm not found"); so does sod_parse. The set {sha256} made
 * {sha384}: the signature still verifies, the SOD is still refused.
 */
static void digest_algorithms_agree(void **state)
{
    struct fixture f, g;
    struct sod s;
    fixture_load(&f, "sod.bin");
    /* SignedData: version 3, then digestAlgorithms SET { SEQUENCE { sha256, NULL? } } */
    const uint8_t set_sha256[] = {0x02, 0x01, 0x03, 0x31, 0x0D, 0x30, 0x0B, 0x06, 0x09,
                                  0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01};
    g = f;
    size_t at = find(&g, set_sha256, sizeof set_sha256);
    g.b[at + sizeof set_sha256 - 1] = 0x02; /* sha384 */
    assert_int_equal(sod_parse(g.b, g.n, &s), SOD_ERR_DIGEST_ALGORITHMS);
    /* An unknown algorithm in the set is not refused by itself ... */
    g.b[at + sizeof set_sha256 - 1] = 0x09;
    assert_int_equal(sod_parse(g.b, g.n, &s), SOD_ERR_DIGEST_ALGORITHMS);
    /* ... and the genuine set passes, signature and all. */
    assert_int_equal(sod_parse(f.b, f.n, &s), SOD_OK);
    assert_int_equal(verify_csca(&s, &t2027), SOD_OK);
    assert_string_equal(sod_err_str(SOD_ERR_DIGEST_ALGORITHMS), "SOD_ERR_DIGEST_ALGORITHMS");
}

static int counter_rng(void *ctx, unsigned char *out, size_t n)
{
    unsigned *c = ctx;
    for (size_t i = 0; i < n; i++)
        out[i] = (unsigned char)(++*c * 131 + i);
    return 0;
}

/*
 * RFC 5652 §5.4: the signed attributes are digested with the SignerInfo's
 * digestAlgorithm. sod.bin's SignerInfo says sha256 there and
 * ecdsa-with-SHA256 as signatureAlgorithm; here the latter says
 * ecdsa-with-SHA384 and the DS key signs the SHA-384 of the attributes. The
 * parser hashed with the signatureAlgorithm's hash and took it (openssl cms
 * -verify would not: it digests with sha256); now one hash is named twice or
 * the SOD is refused.
 */
static void signature_hash_is_the_digest_algorithm(void **state)
{
    struct fixture f, key;
    struct sod s;
    fixture_load(&f, "sod.bin");
    fixture_load(&key, "ds_key.pem");
    key.b[key.n] = '\0';
    assert_int_equal(sod_parse(f.b, f.n, &s), SOD_OK);
    /* signatureAlgorithm ecdsa-with-SHA256 is right before the signature OCTET STRING. */
    static const uint8_t ecdsa_sha256[] = {0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03};
    size_t sig_at = (size_t)(s.signature - f.b), hdr = 2, alg = 0;
    for (size_t i = sig_at - hdr - 12; i < sig_at; i++)
        if (!memcmp(f.b + i, ecdsa_sha256, sizeof ecdsa_sha256) && f.b[i + 9] == 0x02)
            alg = i + 9;
    assert_true(alg != 0);
    assert_int_equal(f.b[sig_at - 2], 0x04);
    f.b[alg] = 0x03; /* ecdsa-with-SHA384 */
    /* The DS signs SHA-384 of the signed attributes (re-tagged SET), in a signature of the
     * original length so that no enclosing length changes. */
    uint8_t h[48], sig[MBEDTLS_ECDSA_MAX_LEN];
    size_t sig_len = 0;
    const mbedtls_md_info_t *sha384 = mbedtls_md_info_from_type(MBEDTLS_MD_SHA384);
    mbedtls_md_context_t md;
    mbedtls_md_init(&md);
    assert_int_equal(mbedtls_md_setup(&md, sha384, 0), 0);
    assert_int_equal(mbedtls_md_starts(&md), 0);
    assert_int_equal(mbedtls_md_update(&md, (const uint8_t *)"\x31", 1), 0);
    assert_int_equal(mbedtls_md_update(&md, s.signed_attrs + 1, s.signed_attrs_len - 1), 0);
    assert_int_equal(mbedtls_md_finish(&md, h), 0);
    mbedtls_md_free(&md);
    mbedtls_pk_context pk;
    mbedtls_pk_init(&pk);
    assert_int_equal(mbedtls_pk_parse_key(&pk, key.b, key.n + 1, NULL, 0), 0);
    /* mbedtls_pk_sign is deterministic (RFC 6979): sign with random nonces until the DER
     * Ecdsa-Sig-Value has the length of the one it replaces. */
    unsigned c = 0;
    mbedtls_ecp_keypair *ec = mbedtls_pk_ec(pk);
    for (int tries = 0; tries < 64 && sig_len != s.signature_len; tries++) {
        mbedtls_mpi r, ss;
        mbedtls_mpi_init(&r);
        mbedtls_mpi_init(&ss);
        assert_int_equal(
            mbedtls_ecdsa_sign(&ec->grp, &r, &ss, &ec->d, h, sizeof h, counter_rng, &c), 0);
        unsigned char *wp = sig + sizeof sig;
        int len = 0, k;
        assert_true((k = mbedtls_asn1_write_mpi(&wp, sig, &ss)) > 0);
        len += k;
        assert_true((k = mbedtls_asn1_write_mpi(&wp, sig, &r)) > 0);
        len += k;
        assert_true((k = mbedtls_asn1_write_len(&wp, sig, (size_t)len)) > 0);
        len += k;
        assert_true((k = mbedtls_asn1_write_tag(&wp, sig, 0x30)) > 0);
        len += k;
        memmove(sig, wp, (size_t)len);
        sig_len = (size_t)len;
        mbedtls_mpi_free(&r);
        mbedtls_mpi_free(&ss);
    }
    assert_int_equal(sig_len, s.signature_len);
    memcpy(f.b + sig_at, sig, sig_len);
    mbedtls_pk_free(&pk);
    assert_int_equal(sod_parse(f.b, f.n, &s), SOD_ERR_DIGEST_ALGORITHMS);
}

/* The bare-ContentInfo parser of other ICAO objects: the eContentType is the caller's. */
static void other_content_types(void **state)
{
    struct fixture f;
    struct sod s;
    fixture_load(&f, "sod.bin");
    /* sod.bin is 77 82 LL LL { ContentInfo }. */
    assert_int_equal(f.b[1], 0x82);
    const uint8_t *ci = f.b + 4;
    size_t n = f.n - 4;
    static const uint8_t ldsso[] = {0x67, 0x81, 0x08, 0x01, 0x01, 0x01};
    assert_int_equal(sod_parse_cms(ci, n, ldsso, sizeof ldsso, &s), SOD_OK);
    assert_int_equal(s.n_dg, 5);
    assert_int_equal(s.econtent_type_len, sizeof ldsso);
    assert_memory_equal(s.econtent_type, ldsso, sizeof ldsso);
    assert_int_equal(verify_csca(&s, &t2027), SOD_OK);
    /* An EF.SOD is not a master list. */
    assert_int_equal(
        sod_parse_cms(ci, n, sod_oid_csca_master_list, sizeof sod_oid_csca_master_list, &s),
        SOD_ERR_BAD_CONTENT_TYPE);
    assert_null(s.econtent);
    assert_int_equal(sod_parse_cms(ci, n, NULL, 0, &s), SOD_ERR_BAD_ARGUMENT);
    assert_int_equal(sod_parse_cms(f.b, f.n, ldsso, sizeof ldsso, &s), SOD_ERR_BAD_STRUCTURE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_ecdsa_sod),
        cmocka_unit_test(verify_ecdsa_sod),
        cmocka_unit_test(verify_validity),
        cmocka_unit_test(verify_tampering),
        cmocka_unit_test(rsa_sods),
        cmocka_unit_test(truncation),
        cmocka_unit_test(digest_algorithms_agree),
        cmocka_unit_test(signature_hash_is_the_digest_algorithm),
        cmocka_unit_test(other_content_types),
        cmocka_unit_test(garbage),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}

/*
 * `hawiya-pki provision --ca DIR --reader SOCKET`: the manufacturer's
 * station for a reader on the test PKI. It asks the reader for its identity
 * (escape INFO, hawiya/reader_escape.h), has the reader manufacturer CA
 * issue a device certificate for the reader's own public key (pki_reader),
 * and stores it in the reader (escape SET_CERT). The private key never
 * leaves the reader. A reader that already holds a certificate for its key
 * is left as it is.
 */
#include "provision.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ccid_link.h"
#include "reader_session.h"
#include "hawiya/reader_escape.h"
#include "hawiya/tlv.h"
#include "mbedtls/ecp.h"
#include "mbedtls/pk.h"

/* One escape command, with the reader's refusal reported. */
static int escape(struct ccid_link *l, const uint8_t *cmd, size_t n, uint8_t *out, size_t cap,
                  size_t *out_len)
{
    enum ccid_link_err e = reader_escape(l, cmd, n, out, cap, out_len, 10000);
    if (e != CCID_LINK_OK)
        fprintf(stderr, "hawiya-pki: reader escape: %s (bError %u)\n", ccid_link_err_str(e),
                l->berror);
    return e == CCID_LINK_OK ? 0 : -1;
}

/* The reader's P-256 point as a SubjectPublicKeyInfo file for pki_reader. */
static int write_spki(const uint8_t *point, size_t len, const char *path)
{
    mbedtls_pk_context pk;
    uint8_t der[256];
    int n = -1;
    mbedtls_pk_init(&pk);
    if (mbedtls_pk_setup(&pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)) == 0) {
        mbedtls_ecp_keypair *ec = mbedtls_pk_ec(pk);
        if (mbedtls_ecp_group_load(&ec->grp, MBEDTLS_ECP_DP_SECP256R1) == 0 &&
            mbedtls_ecp_point_read_binary(&ec->grp, &ec->Q, point, len) == 0 &&
            mbedtls_ecp_check_pubkey(&ec->grp, &ec->Q) == 0)
            n = mbedtls_pk_write_pubkey_der(&pk, der, sizeof der);
    }
    mbedtls_pk_free(&pk);
    if (n <= 0)
        return -1;
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    int ok = fwrite(der + sizeof der - n, 1, (size_t)n, f) == (size_t)n;
    return fclose(f) == 0 && ok ? 0 : -1;
}

int pki_provision(const char *ca_dir, const char *reader_socket)
{
    static uint8_t out[CCID_MAX_MESSAGE_SIZE];
    struct ccid_link *l = malloc(sizeof *l);
    size_t n;
    int rc = 1;
    char dir[] = "/tmp/hawiya-provision-XXXXXX", key[64], crt[64];
    if (!l || ccid_link_open(l, reader_socket) != CCID_LINK_OK) {
        fprintf(stderr, "hawiya-pki: cannot reach the reader at %s\n", reader_socket);
        free(l);
        return 1;
    }
    ccid_link_wait_notify(l, 500); /* the slot report a new host gets first */
    const uint8_t info = RESC_INFO;
    struct tlv id, pub, cert;
    if (escape(l, &info, 1, out, sizeof out, &n) || tlv_find(out, n, RESC_T_READER_ID, &id) ||
        tlv_find(out, n, RESC_T_PUBLIC_KEY, &pub) || id.len == 0 || id.len > 64) {
        fprintf(stderr, "hawiya-pki: the reader has no device key\n");
        goto done;
    }
    char reader_id[65];
    memcpy(reader_id, id.value, id.len);
    reader_id[id.len] = '\0';
    if (tlv_find(out, n, RESC_T_READER_CRT, &cert) == TLV_OK && cert.len > 0) {
        printf("{\"reader\":\"%s\",\"certificate\":\"present\"}\n", reader_id);
        rc = 0;
        goto done;
    }
    if (!mkdtemp(dir))
        goto done;
    snprintf(key, sizeof key, "%s/key.der", dir);
    snprintf(crt, sizeof crt, "%s/cert.der", dir);
    enum pki_err pe = PKI_ERR_IO;
    if (write_spki(pub.value, pub.len, key) != 0 ||
        (pe = pki_reader(ca_dir, key, reader_id, crt)) != PKI_OK) {
        fprintf(stderr, "hawiya-pki: issuing the reader certificate: %s\n", pki_err_str(pe));
        goto cleanup;
    }
    FILE *f = fopen(crt, "rb");
    static uint8_t der[4096], cmd[4200];
    size_t dlen = f ? fread(der, 1, sizeof der, f) : 0;
    if (f)
        fclose(f);
    size_t pos = 1;
    cmd[0] = RESC_SET_CERT;
    if (dlen == 0 || tlv_put(cmd, sizeof cmd, &pos, RESC_T_CERT, der, dlen) != TLV_OK ||
        escape(l, cmd, pos, out, sizeof out, &n)) {
        fprintf(stderr, "hawiya-pki: the reader refused its certificate\n");
        goto cleanup;
    }
    printf("{\"reader\":\"%s\",\"certificate\":\"provisioned\"}\n", reader_id);
    rc = 0;
cleanup:
    unlink(key);
    unlink(crt);
    rmdir(dir);
done:
    ccid_link_close(l);
    free(l);
    return rc;
}

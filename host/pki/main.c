/*
 * hawiya-pki: the test PKI of the virtual eID cards (docs/pki.md).
 *
 *   hawiya-pki init --out DIR [--seed N] [--personas FILE] [--states MAR,DZA]
 *   hawiya-pki card --ca DIR --personas FILE --persona ID --out DIR
 *              [--ds-cert FILE --ds-key FILE] [--signing-time TIME]
 *   hawiya-pki reader --ca DIR --pubkey FILE --id READER_ID --out FILE
 *   hawiya-pki provision --ca DIR --reader SOCKET
 *   hawiya-pki crl --ca DIR --issuer csca-XXX|reader-ca [--revoke CERT]...
 *              [--this-update YYMMDDhhmmssZ] [--next-update YYMMDDhhmmssZ] --out FILE
 *   hawiya-pki masterlist --ca DIR [--cert CERT]... [--signer-cert FILE --signer-key FILE]
 *              --out FILE
 *
 * Exit status 0 on success, 1 on a failure (the error's name on stderr),
 * 2 on a usage error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "persona.h"
#include "pki.h"
#include "provision.h"

static int usage(void)
{
    fputs("usage: hawiya-pki init --out DIR [--seed N] [--personas FILE] [--states A,B]\n"
          "       hawiya-pki card --ca DIR --personas FILE --persona ID --out DIR\n"
          "                  [--ds-cert FILE --ds-key FILE] [--signing-time TIME]\n"
          "       hawiya-pki reader --ca DIR --pubkey FILE --id READER_ID --out FILE\n"
          "       hawiya-pki provision --ca DIR --reader SOCKET\n"
          "       hawiya-pki crl --ca DIR --issuer csca-XXX|reader-ca [--revoke CERT]...\n"
          "                  [--this-update YYMMDDhhmmssZ] [--next-update YYMMDDhhmmssZ] "
          "--out FILE\n"
          "       hawiya-pki masterlist --ca DIR [--cert CERT]... [--signer-cert FILE "
          "--signer-key FILE] --out FILE\n",
          stderr);
    return 2;
}

/* --name VALUE pairs; unknown names are a usage error. */
static bool get_opts(int argc, char **argv, const char *const *names, const char **values, size_t n)
{
    for (int i = 2; i < argc; i += 2) {
        size_t k = 0;
        while (k < n && strcmp(argv[i], names[k]) != 0)
            k++;
        if (k == n || i + 1 >= argc)
            return false;
        values[k] = argv[i + 1];
    }
    return true;
}

static int fail(const char *what, enum pki_err e)
{
    fprintf(stderr, "hawiya-pki: %s: %s\n", what, pki_err_str(e));
    return 1;
}

/* Issuing states from a persona file, in file order, without duplicates. */
static int states_from_personas(const char *path, char (*states)[4], size_t *n)
{
    char ids[64][PERSONA_ID_MAX + 1];
    size_t n_ids = 0;
    struct persona_diag d;
    char msg[256];
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return fail(path, PKI_ERR_IO);
    static char json[PERSONA_FILE_MAX_JSON];
    size_t len = fread(json, 1, sizeof json, f);
    fclose(f);
    if (persona_list_json(json, len, ids, 64, &n_ids, &d) != PERSONA_OK || n_ids > 64) {
        persona_diag_format(&d, msg, sizeof msg);
        fprintf(stderr, "hawiya-pki: %s: %s\n", path, msg);
        return 1;
    }
    struct persona *p = malloc(sizeof *p);
    if (p == NULL)
        return fail("personas", PKI_ERR_NO_MEMORY);
    for (size_t i = 0; i < n_ids; i++) {
        if (persona_load_json(json, len, ids[i], p, &d) != PERSONA_OK) {
            persona_diag_format(&d, msg, sizeof msg);
            fprintf(stderr, "hawiya-pki: %s: %s\n", path, msg);
            free(p);
            return 1;
        }
        bool dup = false;
        for (size_t k = 0; k < *n; k++)
            dup = dup || strcmp(states[k], p->holder.issuing_state) == 0;
        if (!dup && *n < PKI_MAX_STATES)
            memcpy(states[(*n)++], p->holder.issuing_state, 4);
        persona_clear(p);
    }
    free(p);
    return 0;
}

static int cmd_init(int argc, char **argv)
{
    static const char *const names[] = {"--out", "--seed", "--personas", "--states"};
    const char *v[4] = {NULL, "1", NULL, NULL};
    char states[PKI_MAX_STATES][4];
    size_t n = 0;
    if (!get_opts(argc, argv, names, v, 4) || v[0] == NULL)
        return usage();
    char *end = NULL;
    unsigned long long seed = strtoull(v[1], &end, 10);
    if (end == v[1] || *end != '\0')
        return usage();
    if (v[2] != NULL) {
        int rc = states_from_personas(v[2], states, &n);
        if (rc != 0)
            return rc;
    }
    if (v[3] != NULL) {
        const char *s = v[3];
        while (*s != '\0') {
            size_t k = strcspn(s, ",");
            if (k < 1 || k > 3 || n == PKI_MAX_STATES)
                return usage();
            memcpy(states[n], s, k);
            states[n++][k] = '\0';
            s += k + (s[k] == ',');
        }
    }
    if (n == 0) {
        strcpy(states[0], "UTO");
        n = 1;
    }
    enum pki_err e = pki_init(v[0], seed, (const char(*)[4])states, n);
    return e == PKI_OK ? 0 : fail("init", e);
}

static int cmd_card(int argc, char **argv)
{
    static const char *const names[] = {"--ca",      "--personas", "--persona",     "--out",
                                        "--ds-cert", "--ds-key",   "--signing-time"};
    const char *v[7] = {NULL};
    if (!get_opts(argc, argv, names, v, 7) || !v[0] || !v[1] || !v[2] || !v[3] ||
        (v[4] != NULL) != (v[5] != NULL))
        return usage();
    const struct pki_card_options opt = {v[4], v[5], v[6]};
    struct persona *p = malloc(sizeof *p);
    struct persona_diag d;
    if (p == NULL)
        return fail("card", PKI_ERR_NO_MEMORY);
    if (persona_load_file(v[1], v[2], p, &d) != PERSONA_OK) {
        char msg[256];
        persona_diag_format(&d, msg, sizeof msg);
        fprintf(stderr, "hawiya-pki: %s: %s\n", v[1], msg);
        free(p);
        return 1;
    }
    enum pki_err e = pki_card(v[0], p, v[3], &opt);
    persona_clear(p);
    free(p);
    return e == PKI_OK ? 0 : fail(v[2], e);
}

static int cmd_reader(int argc, char **argv)
{
    static const char *const names[] = {"--ca", "--pubkey", "--id", "--out"};
    const char *v[4] = {NULL, NULL, NULL, NULL};
    if (!get_opts(argc, argv, names, v, 4) || !v[0] || !v[1] || !v[2] || !v[3])
        return usage();
    enum pki_err e = pki_reader(v[0], v[1], v[2], v[3]);
    return e == PKI_OK ? 0 : fail("reader", e);
}

static int cmd_provision(int argc, char **argv)
{
    static const char *const names[] = {"--ca", "--reader"};
    const char *v[2] = {NULL, NULL};
    if (!get_opts(argc, argv, names, v, 2) || !v[0] || !v[1])
        return usage();
    return pki_provision(v[0], v[1]);
}

/* --name VALUE pairs where the repeatable one (rep) collects into many[]; the others as get_opts.
 */
static bool get_opts_rep(int argc, char **argv, const char *const *names, const char **values,
                         size_t n, const char *rep, const char **many, size_t cap, size_t *n_many)
{
    *n_many = 0;
    for (int i = 2; i < argc; i += 2) {
        if (i + 1 >= argc)
            return false;
        if (strcmp(argv[i], rep) == 0) {
            if (*n_many == cap)
                return false;
            many[(*n_many)++] = argv[i + 1];
            continue;
        }
        size_t k = 0;
        while (k < n && strcmp(argv[i], names[k]) != 0)
            k++;
        if (k == n)
            return false;
        values[k] = argv[i + 1];
    }
    return true;
}

/* UTCTime text YYMMDDhhmmssZ (RFC 5280 §4.1.2.5.1), or absent. */
static bool utc_time_ok(const char *t)
{
    if (t == NULL)
        return true;
    if (strlen(t) != 13 || t[12] != 'Z')
        return false;
    for (int i = 0; i < 12; i++)
        if (t[i] < '0' || t[i] > '9')
            return false;
    return true;
}

static int cmd_crl(int argc, char **argv)
{
    static const char *const names[] = {"--ca", "--issuer", "--out", "--this-update",
                                        "--next-update"};
    const char *v[5] = {NULL}, *revoke[64];
    size_t n;
    if (!get_opts_rep(argc, argv, names, v, 5, "--revoke", revoke, 64, &n) || !v[0] || !v[1] ||
        !v[2] || !utc_time_ok(v[3]) || !utc_time_ok(v[4]))
        return usage();
    enum pki_err e = pki_crl(v[0], v[1], revoke, n, v[3], v[4], v[2]);
    return e == PKI_OK ? 0 : fail("crl", e);
}

static int cmd_masterlist(int argc, char **argv)
{
    static const char *const names[] = {"--ca", "--out", "--signer-cert", "--signer-key"};
    const char *v[4] = {NULL}, *certs[64];
    size_t n;
    if (!get_opts_rep(argc, argv, names, v, 4, "--cert", certs, 64, &n) || !v[0] || !v[1] ||
        (v[2] != NULL) != (v[3] != NULL))
        return usage();
    enum pki_err e = pki_masterlist(v[0], n ? certs : NULL, n, v[2], v[3], v[1]);
    return e == PKI_OK ? 0 : fail("masterlist", e);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage();
    if (strcmp(argv[1], "init") == 0)
        return cmd_init(argc, argv);
    if (strcmp(argv[1], "card") == 0)
        return cmd_card(argc, argv);
    if (strcmp(argv[1], "reader") == 0)
        return cmd_reader(argc, argv);
    if (strcmp(argv[1], "provision") == 0)
        return cmd_provision(argc, argv);
    if (strcmp(argv[1], "crl") == 0)
        return cmd_crl(argc, argv);
    if (strcmp(argv[1], "masterlist") == 0)
        return cmd_masterlist(argc, argv);
    return usage();
}

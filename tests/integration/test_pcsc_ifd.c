/*
 * Our reader inside pcscd: libifdhawiya.so, loaded by a private pcscd
 * (pcscd_env.h) for two sim readers, each with its virtual card:
 *   "Hawiya desk"  the default persona with its test PKI, the reader provisioned;
 *   "Hawiya sweep" a card that takes commands of up to 65535 data bytes
 *                  (tests/usb/personas.json, usb-sweep), for the APDU sweep.
 * Checked with programs we did not write (pcsc_scan, opensc-tool, scriptor:
 * their exact output), then through libpcsclite: every APDU case of ISO/IEC
 * 7816-4 §5.1 short and extended, byte for byte (the loopback application,
 * host/vcard/loopback_applet.h), the reader's own functions by SCardControl
 * (PC/SC Part 10 feature list and properties, the INFO escape with the CCID
 * class descriptor), and the bridge recognising our reader behind pcscd and
 * running its attested session there, pcscd's card usable again after it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <PCSC/reader.h>
#include <PCSC/winscard.h>

#include "bridge_test.h"
#include "hawiya/ccid.h"
#include "hawiya/reader_escape.h"
#include "hawiya/tlv.h"
#include "pcscd_env.h"
#include "sim_env.h"

/* pcscd names a reader FRIENDLYNAME, then the driver's reader number and the
 * slot ("Hawiya desk 01 00"); the number follows the order it read the
 * configuration in, so the tests find the whole names by their prefixes. */
static char DESK[128], SWEEP[128];
#define DEFAULT_ATR "3B95968031FE458073B421402F"
#define LOOP_P1     0x21
#define LOOP_P2     0x80

static struct pcscd_env pe;
static struct sim_env desk, sweep;
static pid_t bridge = -1;
static char bsock[400], blog[400], bconf[400];
static uint8_t cmd[65544], resp[65538];

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* A program's whole output (stdout and stderr). */
static int run(const char *command, char *out, size_t cap)
{
    FILE *p = popen(command, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int reader_conf(const char *file, const char *friendly, const char *host)
{
    char text[1200];
    snprintf(text, sizeof text, "FRIENDLYNAME \"%s\"\nDEVICENAME unix:%s\nLIBPATH %s\n", friendly,
             host, getenv("HAWIYA_IFD"));
    return pcscd_env_conf(&pe, file, text);
}

static int setup(void **state)
{
    (void)state;
    if (pcscd_env_init(&pe) < 0 || sim_env_start(&desk, "default", NULL) < 0)
        return -1;
    /* The sim board serves one host: the manufacturer's station provisions
     * the reader's certificate, then pcscd's driver takes the link. */
    if (sim_env_provision(&desk) != 0)
        return -1;
    /* The sweep card: its own personas file, no eMRTD application. */
    char *personas = strdup(getenv("HAWIYA_PERSONAS")), *pki = strdup(getenv("HAWIYA_PKI_DIR"));
    setenv("HAWIYA_PERSONAS", getenv("HAWIYA_SWEEP_PERSONAS"), 1);
    unsetenv("HAWIYA_PKI_DIR");
    int rc = sim_env_start(&sweep, "usb-sweep", NULL);
    setenv("HAWIYA_PERSONAS", personas, 1);
    setenv("HAWIYA_PKI_DIR", pki, 1);
    free(personas);
    free(pki);
    if (rc < 0)
        return -1;
    ccid_link_close(&sweep.link);
    if (reader_conf("hawiya-desk", "Hawiya desk", desk.host_path) < 0 ||
        reader_conf("hawiya-sweep", "Hawiya sweep", sweep.host_path) < 0 ||
        pcscd_env_start(&pe) < 0) {
        fprintf(stderr, "cannot start pcscd (see %s)\n", pe.log);
        return -1;
    }
    snprintf(bsock, sizeof bsock, "%s/bridge.sock", pe.dir);
    snprintf(blog, sizeof blog, "%s/bridge.log", pe.dir);
    snprintf(bconf, sizeof bconf, "%s/bridge.conf", pe.dir);
    SCARDCONTEXT c;
    char names[1024];
    DWORD len = sizeof names;
    if (SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &c) != SCARD_S_SUCCESS ||
        SCardListReaders(c, NULL, names, &len) != SCARD_S_SUCCESS)
        return -1;
    SCardReleaseContext(c);
    for (char *n = names; *n; n += strlen(n) + 1) {
        if (!strncmp(n, "Hawiya desk ", 12))
            snprintf(DESK, sizeof DESK, "%s", n);
        if (!strncmp(n, "Hawiya sweep ", 13))
            snprintf(SWEEP, sizeof SWEEP, "%s", n);
    }
    if (!DESK[0] || !SWEEP[0])
        return -1;
    /* The desk reader by a prefix of its PC/SC name, every other one too. */
    write_file(bconf, "origin = " BT_ORIGIN "\nreader = pcsc:desk:Hawiya desk\npcsc = all\n"
                      "log_level = debug\n");
    bridge = bt_bridge_start(bconf, bsock, blog);
    return bridge > 0 && bt_wait_reader(bsock, "desk", "up", "present", 20000) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    bt_stop(&bridge);
    pcscd_env_cleanup(&pe);
    sim_env_stop(&desk);
    sim_env_stop(&sweep);
    return 0;
}

/* The index opensc-tool gives the reader named `name` in its list, as text. */
static void opensc_index(const char *name, char *idx, size_t cap)
{
    char out[4096];
    assert_int_equal(run("opensc-tool --list-readers 2>&1", out, sizeof out), 0);
    for (char *l = strtok(out, "\n"); l; l = strtok(NULL, "\n")) {
        unsigned n;
        char card[8];
        int used = 0;
        if (sscanf(l, "%u %7s %n", &n, card, &used) == 2 && used && strstr(l + used, name)) {
            assert_string_equal(card, "Yes"); /* a card is in */
            snprintf(idx, cap, "%u", n);
            return;
        }
    }
    fail_msg("opensc-tool does not list %s", name);
}

static void tools_we_did_not_write(void **state)
{
    (void)state;
    char out[16384], c[512], idx[8];
    /* pcsc_scan: both readers, and the desk card's ATR. */
    assert_int_equal(run("pcsc_scan -r 2>&1", out, sizeof out), 0);
    char want[200];
    snprintf(want, sizeof want, ": %s\n", DESK);
    assert_non_null(strstr(out, want));
    snprintf(want, sizeof want, ": %s\n", SWEEP);
    assert_non_null(strstr(out, want));
    assert_int_equal(run("timeout 10 pcsc_scan -c -n 2>&1", out, sizeof out), 0);
    snprintf(want, sizeof want, "%s\n  Event number: 0\n  Card state: Card inserted, \n", DESK);
    assert_non_null(strstr(out, want));
    assert_non_null(strstr(out, "  ATR: 3B 95 96 80 31 FE 45 80 73 B4 21 40 2F\n"));

    /* opensc-tool: the ATR, and APDUs to the loopback application. */
    opensc_index(DESK, idx, sizeof idx);
    snprintf(c, sizeof c, "opensc-tool --reader %s --atr 2>&1", idx);
    assert_int_equal(run(c, out, sizeof out), 0);
    assert_string_equal(out, "3b:95:96:80:31:fe:45:80:73:b4:21:40:2f\n");
    snprintf(c, sizeof c,
             "opensc-tool --reader %s --send-apdu 00A4040007F0484157495941 "
             "--send-apdu 00EE0510030506070A 2>&1",
             idx);
    assert_int_equal(run(c, out, sizeof out), 0);
    assert_string_equal(out, "Sending: 00 A4 04 00 07 F0 48 41 57 49 59 41 \n"
                             "Received (SW1=0x90, SW2=0x00)\n"
                             "Sending: 00 EE 05 10 03 05 06 07 0A \n"
                             "Received (SW1=0x90, SW2=0x00):\n"
                             "10 11 12 13 14 15 16 17 18 19 ..........\n");

    /* scriptor (pcsc-tools): a reset, a SELECT, a case 4 APDU. */
    char script[500];
    snprintf(script, sizeof script, "%s/script.txt", pe.dir);
    write_file(script, "reset\n00 A4 04 00 07 F0 48 41 57 49 59 41\n00 EE 00 10 04\n");
    snprintf(c, sizeof c, "scriptor -r '%s' '%s' 2>/dev/null", DESK, script);
    assert_int_equal(run(c, out, sizeof out), 0);
    assert_string_equal(out, "Using T=1 protocol\n"
                             "reset\n"
                             "> RESET\n"
                             "< OK: 3B 95 96 80 31 FE 45 80 73 B4 21 40 2F \n"
                             "00 A4 04 00 07 F0 48 41 57 49 59 41\n"
                             "> 00 A4 04 00 07 F0 48 41 57 49 59 41\n"
                             "< 90 00 : Normal processing.\n"
                             "00 EE 00 10 04\n"
                             "> 00 EE 00 10 04\n"
                             "< 10 11 12 13 90 00 : Normal processing.\n");
}

static SCARDCONTEXT ctx;
static SCARDHANDLE h;
static DWORD proto;
static unsigned sent;

static void connect_to(const char *reader, DWORD share)
{
    assert_int_equal(SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx), SCARD_S_SUCCESS);
    assert_int_equal(
        SCardConnect(ctx, reader, share,
                     share == SCARD_SHARE_DIRECT ? 0 : SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &h,
                     &proto),
        SCARD_S_SUCCESS);
}

static void disconnect(void)
{
    assert_int_equal(SCardDisconnect(h, SCARD_LEAVE_CARD), SCARD_S_SUCCESS);
    SCardReleaseContext(ctx);
}

/* One loopback APDU of Nc data bytes and Ne expected (ISO/IEC 7816-4 §5.1);
 * the card checks what came in, this checks what came out. */
static void loop(size_t nc, size_t ne, bool extended)
{
    size_t k = 0;
    cmd[k++] = 0x00;
    cmd[k++] = 0xEE;
    cmd[k++] = LOOP_P1;
    cmd[k++] = LOOP_P2;
    if (extended && (nc || ne))
        cmd[k++] = 0x00;
    if (nc) {
        if (extended) {
            cmd[k++] = (uint8_t)(nc >> 8);
            cmd[k++] = (uint8_t)nc;
        } else {
            cmd[k++] = (uint8_t)nc;
        }
        for (size_t i = 0; i < nc; i++)
            cmd[k++] = (uint8_t)(LOOP_P1 + i);
    }
    if (ne) {
        if (extended) {
            cmd[k++] = (uint8_t)(ne >> 8); /* 65536 is 00 00 */
            cmd[k++] = (uint8_t)ne;
        } else {
            cmd[k++] = (uint8_t)ne; /* 256 is 00 */
        }
    }
    DWORD len = sizeof resp;
    LONG rv = SCardTransmit(h, proto == SCARD_PROTOCOL_T1 ? SCARD_PCI_T1 : SCARD_PCI_T0, cmd,
                            (DWORD)k, NULL, resp, &len);
    sent++;
    if (rv != SCARD_S_SUCCESS)
        fail_msg("Nc %zu Ne %zu%s: %s", nc, ne, extended ? " (extended)" : "",
                 pcsc_stringify_error(rv));
    if (len != ne + 2 || resp[len - 2] != 0x90 || resp[len - 1] != 0x00)
        fail_msg("Nc %zu Ne %zu%s: %lu bytes back, SW %02X%02X", nc, ne,
                 extended ? " (extended)" : "", (unsigned long)len, resp[len - 2], resp[len - 1]);
    for (size_t i = 0; i < ne; i++)
        if (resp[i] != (uint8_t)(LOOP_P2 + i))
            fail_msg("Nc %zu Ne %zu: byte %zu is %02X", nc, ne, i, resp[i]);
}

static void every_apdu_case(void **state)
{
    (void)state;
    connect_to(SWEEP, SCARD_SHARE_SHARED);
    assert_int_equal(proto, SCARD_PROTOCOL_T1);
    static const uint8_t select[] = {0x00, 0xA4, 0x04, 0x00, 0x07, 0xF0,
                                     0x48, 0x41, 0x57, 0x49, 0x59, 0x41};
    DWORD len = sizeof resp;
    assert_int_equal(SCardTransmit(h, SCARD_PCI_T1, select, sizeof select, NULL, resp, &len),
                     SCARD_S_SUCCESS);
    assert_int_equal(len, 2);
    sent = 0;
    /* Short: case 1; case 2 with every Le; case 3 with every Lc; case 4 with
     * every Lc (and an Le that moves with it) and every Le. */
    loop(0, 0, false);
    for (size_t ne = 1; ne <= 256; ne++)
        loop(0, ne, false);
    for (size_t nc = 1; nc <= 255; nc++)
        loop(nc, 0, false);
    for (size_t nc = 1; nc <= 255; nc++)
        loop(nc, nc * 7 % 256 + 1, false);
    for (size_t ne = 1; ne <= 256; ne++)
        loop(255, ne, false);
    /* Extended: every length to 1 KiB (past the short limits, a 254-byte
     * T=1 block and several 64-byte USB packets), then every 1021st (a
     * prime: it lands on every residue of those) up to the largest, and the
     * largest itself. */
    for (size_t n = 1; n <= 65536; n = n < 1024 ? n + 1 : n + 1021) {
        if (n <= 65535)
            loop(n, 0, true);
        loop(0, n, true);
        if (n <= 65535)
            loop(n, 65536 - n, true);
    }
    loop(65535, 0, true);
    loop(0, 65536, true);
    loop(65535, 65536, true);
    printf("# %u APDUs through pcscd and libifdhawiya, byte for byte\n", sent);
    disconnect();
}

static void reader_functions_by_control(void **state)
{
    (void)state;
    connect_to(DESK, SCARD_SHARE_DIRECT);
    uint8_t out[4096];
    DWORD n;
    /* Part 10 §2.2: the features and their control codes, SCARD_CTL_CODE(0x330012) and (1). */
    assert_int_equal(SCardControl(h, CM_IOCTL_GET_FEATURE_REQUEST, NULL, 0, out, sizeof out, &n),
                     SCARD_S_SUCCESS);
    static const uint8_t features[] = {0x12, 0x04, 0x42, 0x33, 0x00, 0x12,
                                       0x13, 0x04, 0x42, 0x00, 0x00, 0x01};
    assert_int_equal(n, sizeof features);
    assert_memory_equal(out, features, n);

    /* INFO through FEATURE_CCID_ESC_COMMAND: our reader, its class descriptor. */
    uint8_t info_cmd = RESC_INFO;
    assert_int_equal(SCardControl(h, SCARD_CTL_CODE(1), &info_cmd, 1, out, sizeof out, &n),
                     SCARD_S_SUCCESS);
    struct tlv id, ver, dsc;
    assert_int_equal(tlv_find(out, n, RESC_T_READER_ID, &id), TLV_OK);
    assert_int_equal(tlv_find(out, n, RESC_T_VERSION, &ver), TLV_OK);
    assert_int_equal(tlv_find(out, n, RESC_T_CCID_DESCRIPTOR, &dsc), TLV_OK);
    assert_memory_equal(id.value, "sim-", 4);
    struct ccid_descriptor d;
    assert_int_equal(ccid_decode_descriptor(dsc.value, dsc.len, &d), CCID_OK);
    assert_int_equal(d.bcd_ccid, 0x0110);
    assert_int_equal(d.features & CCID_FEATURE_LEVEL_MASK, CCID_FEATURE_LEVEL_EXTENDED_APDU);
    char version[80];
    snprintf(version, sizeof version, "%.*s", (int)ver.len, (const char *)ver.value);

    /* Part 10 §2.6.14: dwMaxAPDUDataSize 65536 (extended level), 1209:0001, the firmware. */
    assert_int_equal(SCardControl(h, SCARD_CTL_CODE(0x330012), NULL, 0, out, sizeof out, &n),
                     SCARD_S_SUCCESS);
    uint8_t want[128] = {0x0A, 0x04, 0x00, 0x00, 0x01, 0x00, 0x0B, 0x02,
                         0x09, 0x12, 0x0C, 0x02, 0x01, 0x00, 0x08};
    size_t k = 15;
    want[k++] = (uint8_t)strlen(version);
    memcpy(want + k, version, strlen(version));
    k += strlen(version);
    assert_int_equal(n, k);
    assert_memory_equal(out, want, k);
    /* Any other control code: not supported, named by pcscd. */
    assert_int_equal(SCardControl(h, SCARD_CTL_CODE(3), NULL, 0, out, sizeof out, &n),
                     SCARD_E_UNSUPPORTED_FEATURE);
    disconnect();
}

static void bridge_runs_the_attested_session_through_pcscd(void **state)
{
    (void)state;
    int fd = bt_connect(bsock);
    cJSON *j = bt_call(fd, "{\"id\":1,\"method\":\"readers\"}\n");
    const cJSON *r, *desk_r = NULL;
    cJSON_ArrayForEach(r, bt_get(j, "result.readers"))
    {
        if (!strcmp(bt_get(r, "name")->valuestring, "desk"))
            desk_r = r;
    }
    assert_non_null(desk_r);
    bt_expect_str(desk_r, "pcsc_name", DESK);
    assert_true(cJSON_IsTrue(bt_get(desk_r, "attested")));
    char reader_id[80];
    snprintf(reader_id, sizeof reader_id, "%s", bt_get(desk_r, "reader_id")->valuestring);
    cJSON_Delete(j);

    char line[600];
    bt_auth_line(line, sizeof line, "a", ",\"reader\":\"desk\",\"can\":\"123456\"");
    bt_send(fd, line);
    bool atr = false, attest = false;
    for (;;) {
        j = bt_read(fd, 30000);
        assert_non_null(j);
        if (!bt_find(j, "event"))
            break;
        const cJSON *step = bt_find(j, "step");
        if (step && !strcmp(step->valuestring, "atr")) {
            /* The reader's own step report: its line time, its cold reset. */
            atr = true;
            assert_non_null(strstr(bt_get(j, "detail")->valuestring, DEFAULT_ATR " T=1"));
            assert_true(bt_get(j, "line_ms")->valuedouble > 0);
        }
        attest |= step && !strcmp(step->valuestring, "attest");
        cJSON_Delete(j);
    }
    assert_true(atr && attest);
    char doc[32];
    bool attested = false;
    assert_int_equal(bt_verify(bt_get(j, "result"), false, doc, sizeof doc, &attested), HV_OK);
    assert_true(attested);
    assert_string_equal(doc, "AB1234567");
    bt_expect_str(j, "result.reader.id", reader_id);
    cJSON_Delete(j);
    close(fd);

    /* The reader reset the card and left it unpowered; the driver powered it
     * again for pcscd, so any program carries on. */
    char out[4096], idx[8], c[300];
    opensc_index(DESK, idx, sizeof idx);
    snprintf(c, sizeof c, "opensc-tool --reader %s --send-apdu 00A4040007F0484157495941 2>&1", idx);
    assert_int_equal(run(c, out, sizeof out), 0);
    assert_non_null(strstr(out, "Received (SW1=0x90, SW2=0x00)"));
}

static void card_out_and_in(void **state)
{
    (void)state;
    int fd = bt_connect(bsock);
    cJSON *j = bt_call(fd, "{\"id\":1,\"method\":\"subscribe\"}\n");
    cJSON_Delete(j);
    char reply[256];
    assert_int_equal(sim_env_control(&desk, "remove", reply, sizeof reply), 0);
    j = bt_event(fd, "card_removed", 10000);
    assert_non_null(j);
    bt_expect_str(j, "reader", "desk");
    cJSON_Delete(j);
    char out[4096];
    assert_int_equal(run("timeout 10 pcsc_scan -c -n 2>&1", out, sizeof out), 0);
    char want[200];
    snprintf(want, sizeof want, "%s\n  Event number: 1\n  Card state: Card removed, \n", DESK);
    assert_non_null(strstr(out, want));
    assert_int_equal(sim_env_control(&desk, "insert", reply, sizeof reply), 0);
    j = bt_event(fd, "card_inserted", 10000);
    assert_non_null(j);
    cJSON_Delete(j);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tools_we_did_not_write),
        cmocka_unit_test(every_apdu_case),
        cmocka_unit_test(reader_functions_by_control),
        cmocka_unit_test(bridge_runs_the_attested_session_through_pcscd),
        cmocka_unit_test(card_out_and_in),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

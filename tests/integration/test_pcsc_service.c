/*
 * The PC/SC backend when the PC/SC service itself changes under a running
 * bridge, and what `diagnose` says about it:
 *   - our reader behind its driver, whose link comes after pcscd and goes
 *     before it: the card comes and goes with it, and the bridge finds the
 *     reader is ours once it answers;
 *   - pcscd stopped: every reader reported gone, PCSCD_NOT_RUNNING, requests
 *     answered NO_READER; pcscd started again: the readers back within a
 *     second of its return, and the next request served;
 *   - pcscd refusing the bridge's user (as pcscd does for a polkit denial: it
 *     resets the connection): PCSCD_ACCESS_DENIED;
 *   - a USB smart-card reader no driver takes (its VID:PID not in libccid's
 *     Info.plist) and a contactless reader the kernel's pn533_usb holds, in a
 *     sysfs tree made for the test (HAWIYA_SYSFS_ROOT).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "bridge_test.h"
#include "pcscd_env.h"
#include "sim_env.h"

static int64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* A bridge taking every PC/SC reader, in dir. */
static pid_t start_bridge(const char *dir, char *sock, size_t cap)
{
    char conf[400], log[400];
    snprintf(conf, sizeof conf, "%s/bridge.conf", dir);
    snprintf(log, sizeof log, "%s/bridge.log", dir);
    snprintf(sock, cap, "%s/bridge.sock", dir);
    write_file(conf, "origin = " BT_ORIGIN "\npcsc = all\nlog_level = debug\n");
    pid_t b = bt_bridge_start(conf, sock, log);
    assert_true(b > 0);
    return b;
}

/* The problem of `code` in a diagnose answer, or NULL. */
static const cJSON *problem(const cJSON *j, const char *code)
{
    const cJSON *p;
    cJSON_ArrayForEach(p, bt_get(j, "result.problems"))
    {
        if (!strcmp(bt_get(p, "code")->valuestring, code))
            return p;
    }
    return NULL;
}

static const cJSON *backend(const cJSON *j, const char *name)
{
    const cJSON *b;
    cJSON_ArrayForEach(b, bt_get(j, "result.backends"))
    {
        if (!strcmp(bt_get(b, "name")->valuestring, name))
            return b;
    }
    fail_msg("no backend %s", name);
    return NULL;
}

static cJSON *diagnose(const char *sock)
{
    int fd = bt_connect(sock);
    cJSON *j = bt_call(fd, "{\"id\":1,\"method\":\"diagnose\"}\n");
    close(fd);
    return j;
}

/*
 * Our reader behind its driver, started after pcscd and stopped before it:
 * Debian's pcscd adds configured serial readers only at its start (its
 * SIGUSR1 re-check is empty when it is built for udev), so the driver keeps
 * the reader listed with an empty slot while its link does not answer, and
 * the bridge sees the card come with the reader and go with it. Readers
 * plugged in and out of pcscd (the PnP notification) are USB readers: the
 * guest test integration_usb_pcsc_bridge does that with our USB reader.
 */
static void reader_link_comes_and_goes(void **state)
{
    (void)state;
    struct pcscd_env pe;
    struct sim_env sim;
    char conf[1200], late[400], sock[400], line[1400];
    assert_int_equal(pcscd_env_init(&pe), 0);
    snprintf(late, sizeof late, "%s/late.sock", pe.dir);
    snprintf(conf, sizeof conf, "FRIENDLYNAME \"Hawiya late\"\nDEVICENAME unix:%s\nLIBPATH %s\n",
             late, getenv("HAWIYA_IFD"));
    assert_int_equal(pcscd_env_conf(&pe, "hawiya-late", conf), 0);
    assert_int_equal(pcscd_env_start(&pe), 0);
    pid_t b = start_bridge(pe.dir, sock, sizeof sock);
    assert_true(bt_wait_reader(sock, "hawiya-late-00-00", "up", "absent", 10000));
    int fd = bt_connect(sock);
    cJSON *j = bt_call(fd, "{\"id\":1,\"method\":\"subscribe\"}\n");
    cJSON_Delete(j);

    /* The reader starts (provisioned first, at the manufacturer's station). */
    assert_int_equal(sim_env_start(&sim, "default", NULL), 0);
    assert_int_equal(sim_env_provision(&sim), 0);
    int64_t t0 = now_ms();
    assert_int_equal(symlink(sim.host_path, late), 0);
    j = bt_event(fd, "card_inserted", 10000);
    assert_non_null(j);
    bt_expect_str(j, "reader", "hawiya-late-00-00");
    cJSON_Delete(j);
    printf("# reader link up: card_inserted %lld ms later (pcscd polls every 0.4 s)\n",
           (long long)(now_ms() - t0));
    /* Probed when first seen, before the link answered: the bridge probes
     * again once the reader answers and finds it ours. */
    bt_auth_line(line, sizeof line, "a", ",\"reader\":\"hawiya-late-00-00\",\"can\":\"123456\"");
    j = bt_call(fd, line);
    char doc[32];
    bool attested = false;
    assert_int_equal(bt_verify(bt_get(j, "result"), false, doc, sizeof doc, &attested), HV_OK);
    assert_true(attested);
    cJSON_Delete(j);

    /* The reader stops: the card goes with it. */
    sim_env_stop(&sim);
    unlink(late);
    j = bt_event(fd, "card_removed", 10000);
    assert_non_null(j);
    bt_expect_str(j, "reader", "hawiya-late-00-00");
    cJSON_Delete(j);
    close(fd);
    bt_stop(&b);
    pcscd_env_cleanup(&pe);
}

static void pcscd_stopped_and_back(void **state)
{
    (void)state;
    struct pcscd_env pe;
    char sock[400], host[64], vctl[400], vlog[400];
    int port;
    assert_int_equal(pcscd_env_init(&pe), 0);
    assert_true((port = pcscd_env_free_port_pair()) > 0);
    assert_int_equal(pcscd_env_vpcd(&pe, "vpcd", port), 0);
    assert_int_equal(pcscd_env_start(&pe), 0);
    snprintf(host, sizeof host, "127.0.0.1:%d", port);
    snprintf(vctl, sizeof vctl, "%s/vcard.sock", pe.dir);
    snprintf(vlog, sizeof vlog, "%s/vcard.log", pe.dir);
    char *argv[] = {getenv("HAWIYA_VCARD"),
                    "--vpcd",
                    host,
                    "--personas",
                    getenv("HAWIYA_PERSONAS"),
                    "--pki",
                    getenv("HAWIYA_PKI_DIR"),
                    "--control",
                    vctl,
                    NULL};
    pid_t vcard = pcscd_env_spawn(argv, vlog);
    pid_t b = start_bridge(pe.dir, sock, sizeof sock);
    assert_true(bt_wait_reader(sock, "virtual-pcd-00-00", "up", "present", 20000));
    int fd = bt_connect(sock);
    cJSON *j = bt_call(fd, "{\"id\":1,\"method\":\"subscribe\"}\n");
    cJSON_Delete(j);
    /* A wrong CAN first: the reader's failure must outlive its going away
     * (pulling a reader out must not reset a brute force's delay). */
    char line[600];
    bt_auth_line(line, sizeof line, "w", ",\"reader\":\"virtual-pcd-00-00\",\"can\":\"000000\"");
    j = bt_call(fd, line);
    assert_string_equal(bt_get(j, "error.code")->valuestring, "CARD_AUTH_FAILED");
    cJSON_Delete(j);

    /* pcscd stops: both readers gone, the one with a card says so first. */
    pcscd_env_stop(&pe);
    j = bt_event(fd, "card_removed", 10000);
    assert_non_null(j);
    cJSON_Delete(j);
    for (int k = 0; k < 2; k++) {
        j = bt_event(fd, "reader_removed", 10000);
        assert_non_null(j);
        assert_true(cJSON_IsString(bt_get(j, "reason")));
        cJSON_Delete(j);
    }
    j = diagnose(sock);
    const cJSON *p = problem(j, "PCSCD_NOT_RUNNING");
    assert_non_null(p);
    bt_expect_str(p, "severity", "error");
    bt_expect_str(p, "message", "pcscd is not running: start it (systemctl start pcscd.socket)");
    bt_expect_str(backend(j, "pcsc"), "state", "down");
    assert_int_equal(cJSON_GetArraySize(bt_get(j, "result.readers")), 0);
    cJSON_Delete(j);
    bt_auth_line(line, sizeof line, "n", ",\"can\":\"123456\"");
    j = bt_call(fd, line);
    bt_expect_error(j, "NO_READER", "no reader is configured or connected");
    cJSON_Delete(j);

    /* pcscd back: the readers within a second of its return, then a session. */
    assert_int_equal(pcscd_env_start(&pe), 0);
    int64_t t0 = now_ms();
    j = bt_event(fd, "reader_added", 5000);
    assert_non_null(j);
    int64_t back = now_ms() - t0;
    cJSON_Delete(j);
    printf("# pcscd restarted: reader_added %lld ms after pcscd answered again\n", (long long)back);
    assert_true(back < 1000);
    j = bt_call(fd, "{\"id\":\"s\",\"method\":\"status\"}\n");
    const cJSON *af = bt_get(j, "result.auth_failures");
    assert_int_equal(cJSON_GetArraySize(af), 1);
    bt_expect_str(cJSON_GetArrayItem(af, 0), "reader", "virtual-pcd-00-00");
    assert_int_equal(bt_get(cJSON_GetArrayItem(af, 0), "failures")->valueint, 1);
    cJSON_Delete(j);
    bt_auth_line(line, sizeof line, "a", ",\"reader\":\"virtual-pcd-00-00\",\"can\":\"123456\"");
    j = bt_call(fd, line);
    assert_true(cJSON_IsFalse(bt_get(j, "result.reader.attested")));
    cJSON_Delete(j);
    j = diagnose(sock);
    assert_null(problem(j, "PCSCD_NOT_RUNNING"));
    bt_expect_str(backend(j, "pcsc"), "state", "up");
    cJSON_Delete(j);
    close(fd);
    bt_stop(&b);
    pcscd_env_kill(&vcard);
    pcscd_env_cleanup(&pe);
}

/*
 * A pcscd that refuses every client the way pcscd refuses one polkit denies
 * access_pcsc: it takes the connection, and closes it without reading, so
 * the client's first answer is a reset (libpcsclite:
 * SCARD_W_SECURITY_VIOLATION).
 */
static pid_t refusing_pcscd(const char *path)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(s >= 0);
    unlink(path);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(s, 16), 0);
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        for (;;) {
            int c = accept(s, NULL, NULL);
            if (c < 0)
                continue;
            struct pollfd p = {.fd = c, .events = POLLIN};
            poll(&p, 1, 2000); /* the client's first message, left unread */
            close(c);
        }
    }
    close(s);
    return pid;
}

static void diagnose_service_problems(void **state)
{
    (void)state;
    char dir[] = "/tmp/hawiya-diag-XXXXXX", sock[400], csock[400];
    assert_non_null(mkdtemp(dir));

    /* No pcscd at all. */
    snprintf(csock, sizeof csock, "%s/none/pcscd.comm", dir);
    setenv("PCSCLITE_CSOCK_NAME", csock, 1);
    pid_t b = start_bridge(dir, sock, sizeof sock);
    cJSON *j = diagnose(sock);
    const cJSON *p = problem(j, "PCSCD_NOT_RUNNING");
    assert_non_null(p);
    bt_expect_str(p, "message", "pcscd is not running: start it (systemctl start pcscd.socket)");
    bt_expect_str(backend(j, "pcsc"), "state", "down");
    bt_expect_str(backend(j, "pcsc"), "detail", "pcscd is not running");
    cJSON_Delete(j);
    bt_stop(&b);

    /* pcscd refusing the bridge's user. */
    snprintf(csock, sizeof csock, "%s/pcscd.comm", dir);
    setenv("PCSCLITE_CSOCK_NAME", csock, 1);
    pid_t fake = refusing_pcscd(csock);
    b = start_bridge(dir, sock, sizeof sock);
    j = diagnose(sock);
    p = problem(j, "PCSCD_ACCESS_DENIED");
    assert_non_null(p);
    bt_expect_str(p, "message",
                  "pcscd closes the bridge's connection unserved: polkit's "
                  "org.debian.pcsc-lite.access_pcsc must allow the bridge's user");
    bt_expect_str(backend(j, "pcsc"), "detail", "pcscd refuses the bridge's user");
    assert_null(problem(j, "PCSCD_NOT_RUNNING"));
    cJSON_Delete(j);
    bt_stop(&b);
    kill(fake, SIGKILL);
    waitpid(fake, NULL, 0);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void mk(const char *root, const char *path, const char *value)
{
    char p[800], cmd[900];
    snprintf(p, sizeof p, "%s/%s", root, path);
    snprintf(cmd, sizeof cmd, "mkdir -p \"$(dirname '%s')\"", p);
    assert_int_equal(system(cmd), 0);
    if (value)
        write_file(p, value);
    else
        assert_int_equal(mkdir(p, 0755), 0);
}

static void diagnose_usb_readers(void **state)
{
    (void)state;
    struct pcscd_env pe;
    char sock[400], root[400];
    assert_int_equal(pcscd_env_init(&pe), 0);
    assert_int_equal(pcscd_env_start(&pe), 0); /* pcscd with no reader */
    /* A sysfs with three USB readers: a CCID reader libccid knows (ACS
     * ACR38U, 072f:90cc), one it does not know (1209:beef), and an ACR122U
     * (072f:2200) that the kernel's pn533_usb driver has taken. */
    snprintf(root, sizeof root, "%s/sys", pe.dir);
    mk(root, "bus/usb/devices/1-1/idVendor", "072f\n");
    mk(root, "bus/usb/devices/1-1/idProduct", "90cc\n");
    mk(root, "bus/usb/devices/1-1/product", "CCID USB Reader\n");
    mk(root, "bus/usb/devices/1-1:1.0/bInterfaceClass", "0b\n");
    mk(root, "bus/usb/devices/1-2/idVendor", "1209\n");
    mk(root, "bus/usb/devices/1-2/idProduct", "beef\n");
    mk(root, "bus/usb/devices/1-2/product", "Clinic Reader\n");
    mk(root, "bus/usb/devices/1-2:1.0/bInterfaceClass", "0b\n");
    mk(root, "bus/usb/devices/1-2:1.1/bInterfaceClass", "03\n");
    mk(root, "bus/usb/devices/2-1/idVendor", "072f\n");
    mk(root, "bus/usb/devices/2-1/idProduct", "2200\n");
    mk(root, "bus/usb/devices/2-1/product", "ACR122U PICC Interface\n");
    mk(root, "bus/usb/devices/2-1:1.0/bInterfaceClass", "0b\n");
    mk(root, "bus/usb/drivers/pn533_usb/2-1:1.0", NULL);
    mk(root, "bus/usb/drivers/pn533_usb/bind", "");
    setenv("HAWIYA_SYSFS_ROOT", root, 1);
    pid_t b = start_bridge(pe.dir, sock, sizeof sock);
    unsetenv("HAWIYA_SYSFS_ROOT");
    cJSON *j = diagnose(sock);
    int without = 0, pn533 = 0;
    const cJSON *p;
    cJSON_ArrayForEach(p, bt_get(j, "result.problems"))
    {
        const char *code = bt_get(p, "code")->valuestring;
        if (!strcmp(code, "READER_WITHOUT_DRIVER")) {
            without++;
            bt_expect_str(p, "message",
                          "USB smart-card reader 1209:beef (Clinic Reader) has no driver: "
                          "/usr/lib/pcsc/drivers/ifd-ccid.bundle/Contents/Info.plist does not "
                          "list it, so pcscd does not drive it");
        }
        if (!strcmp(code, "PN533_HOLDS_READER")) {
            pn533++;
            bt_expect_str(p, "message",
                          "the kernel's pn533_usb driver holds the contactless reader 072f:2200 "
                          "(ACR122U PICC Interface) at USB 2-1, so pcscd cannot use it: "
                          "blacklist pn533_usb and pn533 (/etc/modprobe.d) and plug the reader "
                          "in again");
        }
    }
    assert_int_equal(without, 1);
    assert_int_equal(pn533, 1);
    assert_null(problem(j, "PCSCD_NOT_RUNNING"));
    cJSON_Delete(j);
    bt_stop(&b);
    pcscd_env_cleanup(&pe);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reader_link_comes_and_goes),
        cmocka_unit_test(pcscd_stopped_and_back),
        cmocka_unit_test(diagnose_service_problems),
        cmocka_unit_test(diagnose_usb_readers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

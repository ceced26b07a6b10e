#include "sim_env.h"

#include <errno.h>
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

bool sim_env_stm32(void)
{
    const char *elf = getenv("HAWIYA_STM32_ELF");
    return elf && *elf;
}

/* A child with its stderr in `log` (NULL: ours); execvp for a bare name. */
static pid_t spawn_log(char *const argv[], const char *log)
{
    pid_t pid = fork();
    if (pid == 0) {
        /* Never outlive the test, whatever happens to it. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (log) {
            FILE *f = freopen(log, "a", stderr);
            (void)f;
        }
        if (strchr(argv[0], '/'))
            execv(argv[0], argv);
        else
            execvp(argv[0], argv);
        fprintf(stderr, "sim_env: exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    return pid;
}

static pid_t spawn(char *const argv[])
{
    return spawn_log(argv, NULL);
}

/* Waits for `path` to be a socket, or for `pid` to exit (*status then). */
static bool wait_for_socket_of(const char *path, pid_t pid, int *status)
{
    /* Generous: under ASan on a loaded 2-core machine a start takes seconds. */
    for (int i = 0; i < 2000; i++) {
        struct stat st;
        if (stat(path, &st) == 0 && S_ISSOCK(st.st_mode))
            return true;
        int ws;
        if (pid > 0 && waitpid(pid, &ws, WNOHANG) == pid) {
            if (status)
                *status = ws;
            return false;
        }
        struct timespec d = {0, 10000000};
        nanosleep(&d, NULL);
    }
    return false;
}

static bool wait_for_socket(const char *path)
{
    return wait_for_socket_of(path, 0, NULL);
}

/* The virtual card with its control socket, in a fresh temporary directory;
 * rf: with its RF socket too (the reader then gets its front end), tapped:
 * the card in the field. */
static int start_vcard(struct sim_env *e, const char *personas, const char *persona, bool rf,
                       bool tapped)
{
    const char *vcard = getenv("HAWIYA_VCARD"), *reader = getenv("HAWIYA_SIM_READER");
    if (!personas)
        personas = getenv("HAWIYA_PERSONAS");
    memset(e, 0, sizeof *e);
    e->link.fd = -1;
    if (!vcard || (!reader && !sim_env_stm32()) || !personas) {
        fprintf(stderr, "sim_env: HAWIYA_VCARD, HAWIYA_SIM_READER, HAWIYA_PERSONAS must be set\n");
        return -1;
    }
    snprintf(e->dir, sizeof e->dir, "/tmp/hawiya-test-XXXXXX");
    if (!mkdtemp(e->dir))
        return -1;
    snprintf(e->line_path, sizeof e->line_path, "%s/line.sock", e->dir);
    snprintf(e->host_path, sizeof e->host_path, "%s/host.sock", e->dir);
    snprintf(e->control_path, sizeof e->control_path, "%s/control.sock", e->dir);
    snprintf(e->state_path, sizeof e->state_path, "%s/state", e->dir);
    snprintf(e->usb_path, sizeof e->usb_path, "%s/usb.sock", e->dir);
    snprintf(e->rf_path, sizeof e->rf_path, "%s/rf.sock", e->dir);
    e->rf = rf;

    /* With the test PKI (HAWIYA_PKI_DIR, the pki_data target) the card has its
     * eMRTD application: PACE, secure messaging, signed data groups. */
    const char *pki = getenv("HAWIYA_PKI_DIR");
    char *vargv[16] = {(char *)vcard,   "--line",         e->line_path,
                       "--personas",    (char *)personas, "--persona",
                       (char *)persona, "--control",      e->control_path};
    int n = 9;
    if (rf) {
        vargv[n++] = "--rf";
        vargv[n++] = e->rf_path;
        if (tapped)
            vargv[n++] = "--field";
    }
    if (pki) {
        vargv[n++] = "--pki";
        vargv[n++] = (char *)pki;
    }
    vargv[n] = NULL;
    e->vcard = spawn(vargv);
    if (!wait_for_socket(e->control_path)) {
        sim_env_stop(e);
        return -1;
    }
    return 0;
}

/* The host socket is there: link to it and wait for the slot's state. */
static int link_reader(struct sim_env *e)
{
    /* The socket file exists from bind(); connect() works only after listen(). */
    bool linked = false;
    for (int i = 0; i < 500 && !linked; i++) {
        linked = ccid_link_open(&e->link, e->host_path) == CCID_LINK_OK;
        if (!linked) {
            struct timespec d = {0, 10000000};
            nanosleep(&d, NULL);
        }
    }
    if (!linked)
        return -1;
    /* The reader reports the slot as soon as the host connects (a board in
     * QEMU may still be building its tables: generous). */
    ccid_link_wait_notify(&e->link, 30000);
    return 0;
}

/* The STM32F405 image in QEMU, and hawiya-serial-link to its USARTs. */
static int start_stm32(struct sim_env *e, const char *const *reader_args, int *status)
{
    char append[512], uart1[320], uart2[320], host_dev[360], card_dev[360], log[320];
    int k = snprintf(append, sizeof append, "state=%s", e->state_path);
    for (int i = 0; reader_args && reader_args[i]; i += 2) {
        const char *a = reader_args[i], *v = reader_args[i + 1];
        if (!v || (strcmp(a, "--fault-rate") && strcmp(a, "--fault-seed") &&
                   strcmp(a, "--fault-kinds"))) {
            fprintf(stderr, "sim_env: the STM32 board has no %s\n", a);
            return -1;
        }
        k += snprintf(append + k, sizeof append - (size_t)k, " %s=%s", a + 2, v);
    }
    snprintf(uart1, sizeof uart1, "%s/uart1.sock", e->dir);
    snprintf(uart2, sizeof uart2, "%s/uart2.sock", e->dir);
    snprintf(host_dev, sizeof host_dev, "socket,id=host,path=%s,server=on,wait=on", uart1);
    snprintf(card_dev, sizeof card_dev, "socket,id=card,path=%s,server=on,wait=on", uart2);
    snprintf(log, sizeof log, "%s/qemu.log", e->dir);
    const char *qemu = getenv("HAWIYA_QEMU");
    char *qargv[] = {(char *)(qemu && *qemu ? qemu : "qemu-system-arm"),
                     "-M",
                     "netduinoplus2",
                     "-display",
                     "none",
                     "-monitor",
                     "none",
                     "-chardev",
                     host_dev,
                     "-chardev",
                     card_dev,
                     "-serial",
                     "chardev:host",
                     "-serial",
                     "chardev:card",
                     "-semihosting-config",
                     "enable=on,target=native",
                     "-icount",
                     "shift=0,align=off,sleep=off",
                     "-kernel",
                     getenv("HAWIYA_STM32_ELF"),
                     "-append",
                     append,
                     NULL};
    e->reader = spawn_log(qargv, log);
    const char *link = getenv("HAWIYA_SERIAL_LINK");
    char *largv[] = {(char *)link,  "--serial", uart1,         "--host",     e->host_path,
                     "--card-uart", uart2,      "--card-line", e->line_path, NULL};
    if (!link) {
        fprintf(stderr, "sim_env: HAWIYA_SERIAL_LINK must be set\n");
        return -1;
    }
    e->serial_link = spawn_log(largv, log);
    if (!wait_for_socket_of(e->host_path, e->serial_link, status))
        return -1;
    return link_reader(e);
}

/* Starts hawiya-sim-reader on e's paths and links to it; if it exits first,
 * its wait status in *status. */
static int start_reader(struct sim_env *e, const char *const *reader_args, int *status)
{
    if (sim_env_stm32())
        return start_stm32(e, reader_args, status);
    char *rargv[32] = {getenv("HAWIYA_SIM_READER"),
                       "--card",
                       e->line_path,
                       "--host",
                       e->host_path,
                       "--state",
                       e->state_path};
    int n = 7;
    if (e->rf) {
        rargv[n++] = "--rf";
        rargv[n++] = e->rf_path;
    }
    for (int i = 0; reader_args && reader_args[i] && n < 31; i++)
        rargv[n++] = (char *)reader_args[i];
    rargv[n] = NULL;
    e->reader = spawn(rargv);
    if (!wait_for_socket_of(e->host_path, e->reader, status)) {
        if (status && *status != -1)
            e->reader = 0; /* reaped */
        return -1;
    }
    return link_reader(e);
}

static int start(struct sim_env *e, const char *persona, bool rf, bool tapped,
                 const char *const *reader_args)
{
    if (start_vcard(e, NULL, persona, rf, tapped) < 0)
        return -1;
    if (start_reader(e, reader_args, NULL) != 0) {
        sim_env_stop(e);
        return -1;
    }
    return 0;
}

int sim_env_start(struct sim_env *e, const char *persona, const char *const *reader_args)
{
    return start(e, persona, false, false, reader_args);
}

int sim_env_start_rf(struct sim_env *e, const char *persona, bool tapped,
                     const char *const *reader_args)
{
    return start(e, persona, true, tapped, reader_args);
}

static void stop_child(pid_t pid);

static int start_reader_usbredir(struct sim_env *e)
{
    char *rargv[] = {getenv("HAWIYA_SIM_READER"),
                     "--card",
                     e->line_path,
                     "--usbredir",
                     e->usb_path,
                     "--state",
                     e->state_path,
                     e->rf ? "--rf" : NULL,
                     e->rf_path,
                     NULL};
    e->reader = spawn(rargv);
    /* Renamed into place after listen(): a guest can connect once it is there. */
    if (!wait_for_socket(e->usb_path)) {
        sim_env_stop(e);
        return -1;
    }
    return 0;
}

int sim_env_start_usbredir(struct sim_env *e, const char *personas, const char *persona)
{
    if (start_vcard(e, personas, persona, false, false) < 0)
        return -1;
    return start_reader_usbredir(e);
}

void sim_env_reader_stop(struct sim_env *e)
{
    ccid_link_close(&e->link);
    stop_child(e->serial_link);
    stop_child(e->reader);
    e->reader = e->serial_link = 0;
}

int sim_env_reader_usbredir(struct sim_env *e)
{
    sim_env_reader_stop(e);
    return start_reader_usbredir(e);
}

static void stop_child(pid_t pid)
{
    if (pid <= 0)
        return;
    kill(pid, SIGTERM);
    for (int i = 0; i < 300; i++) {
        if (waitpid(pid, NULL, WNOHANG) == pid)
            return;
        struct timespec d = {0, 10000000};
        nanosleep(&d, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

void sim_env_stop(struct sim_env *e)
{
    ccid_link_close(&e->link);
    stop_child(e->serial_link);
    stop_child(e->reader);
    stop_child(e->vcard);
    e->reader = e->vcard = e->serial_link = 0;
    if (e->dir[0]) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", e->dir);
        /* HAWIYA_KEEP: the directory (logs, sockets, state) stays, for a failure to be read. */
        if (getenv("HAWIYA_KEEP"))
            fprintf(stderr, "sim_env: kept %s\n", e->dir);
        else if (system(cmd) != 0)
            fprintf(stderr, "sim_env: could not remove %s\n", e->dir);
        e->dir[0] = '\0';
    }
}

int sim_env_restart_reader(struct sim_env *e, const char *const *reader_args, int *status)
{
    sim_env_reader_stop(e);
    if (status)
        *status = -1;
    return start_reader(e, reader_args, status);
}

int sim_env_provision(struct sim_env *e)
{
    ccid_link_close(&e->link);
    const char *pki = getenv("HAWIYA_PKI"), *ca = getenv("HAWIYA_PKI_DIR");
    if (!pki || !ca)
        return -1;
    char cmd[1200];
    int n = snprintf(cmd, sizeof cmd, "'%s' provision --ca '%s' --reader '%s' >/dev/null", pki, ca,
                     e->host_path);
    if (n < 0 || (size_t)n >= sizeof cmd)
        return -1;
    return system(cmd) == 0 ? 0 : -1;
}

int sim_env_control(struct sim_env *e, const char *cmd, char *reply, size_t cap)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (strlen(e->control_path) >= sizeof a.sun_path)
        return -1;
    memcpy(a.sun_path, e->control_path, strlen(e->control_path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    char line[160];
    snprintf(line, sizeof line, "%s\n", cmd);
    ssize_t w = write(fd, line, strlen(line));
    ssize_t r = w > 0 ? read(fd, reply, cap - 1) : -1;
    close(fd);
    if (r <= 0)
        return -1;
    reply[r] = '\0';
    return strncmp(reply, "ok", 2) == 0 ? 0 : -1;
}

long long sim_env_stat(struct sim_env *e, const char *key)
{
    char reply[512], pat[64];
    if (sim_env_control(e, "stats", reply, sizeof reply) != 0)
        return -1;
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(reply, pat);
    return p ? strtoll(p + strlen(pat), NULL, 10) : -1;
}

int sim_env_bring_up(struct sim_env *e, int tries, int timeout_ms, unsigned *power_ons,
                     unsigned *failures)
{
    static const uint8_t select_bench[] = {0x00, 0xA4, 0x02, 0x0C, 0x02, 0x0F, 0x0F};
    for (int i = 0; i < tries; i++) {
        uint8_t atr[64], resp[16];
        size_t n;
        (*power_ons)++;
        if (ccid_link_power_on(&e->link, CCID_POWER_AUTO, atr, sizeof atr, &n, timeout_ms) !=
            CCID_LINK_OK) {
            (*failures)++;
            continue;
        }
        if (ccid_link_xfr(&e->link, select_bench, sizeof select_bench, resp, sizeof resp, &n,
                          timeout_ms) == CCID_LINK_OK &&
            n == 2 && resp[0] == 0x90 && resp[1] == 0x00)
            return 0;
    }
    return -1;
}

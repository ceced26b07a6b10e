#define _GNU_SOURCE /* unshare, CLONE_NEWNS */
#include "pcscd_env.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void sleep_ms(int ms)
{
    struct timespec d = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&d, NULL);
}

int pcscd_env_init(struct pcscd_env *e)
{
    memset(e, 0, sizeof *e);
    snprintf(e->dir, sizeof e->dir, "/tmp/hawiya-pcscd-XXXXXX");
    if (!mkdtemp(e->dir))
        return -1;
    snprintf(e->run, sizeof e->run, "%s/run", e->dir);
    snprintf(e->conf, sizeof e->conf, "%s/conf", e->dir);
    snprintf(e->sock, sizeof e->sock, "%s/pcscd.comm", e->run);
    snprintf(e->log, sizeof e->log, "%s/pcscd.log", e->dir);
    if (mkdir(e->run, 0755) < 0 || mkdir(e->conf, 0755) < 0)
        return -1;
    setenv("PCSCLITE_CSOCK_NAME", e->sock, 1);
    return 0;
}

int pcscd_env_conf(struct pcscd_env *e, const char *name, const char *text)
{
    char path[400];
    snprintf(path, sizeof path, "%s/%s", e->conf, name);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs(text, f);
    return fclose(f);
}

int pcscd_env_vpcd(struct pcscd_env *e, const char *name, int port)
{
    char text[400];
    snprintf(text, sizeof text,
             "FRIENDLYNAME \"Virtual PCD\"\nDEVICENAME /dev/null:%d\n"
             "LIBPATH /usr/lib/pcsc/drivers/serial/libifdvpcd.so\nCHANNELID %d\n",
             port, port);
    return pcscd_env_conf(e, name, text);
}

pid_t pcscd_env_spawn(char *const argv[], const char *log)
{
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (log) {
            int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
            if (fd >= 0) {
                dup2(fd, 1);
                dup2(fd, 2);
                close(fd);
            }
        }
        execv(argv[0], argv);
        fprintf(stderr, "pcscd_env: exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    return pid;
}

/* In the child: a mount namespace of its own with e->run over /run/pcscd. */
static int private_run_dir(const struct pcscd_env *e)
{
    if (unshare(CLONE_NEWNS) < 0) {
        /* Not privileged: a user namespace brings the right to mount. */
        uid_t uid = getuid();
        gid_t gid = getgid();
        if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
            return -1;
        char map[64];
        int fd = open("/proc/self/setgroups", O_WRONLY);
        if (fd >= 0) {
            ssize_t w = write(fd, "deny", 4);
            (void)w;
            close(fd);
        }
        snprintf(map, sizeof map, "0 %u 1", (unsigned)uid);
        fd = open("/proc/self/uid_map", O_WRONLY);
        if (fd < 0 || write(fd, map, strlen(map)) < 0)
            return -1;
        close(fd);
        snprintf(map, sizeof map, "0 %u 1", (unsigned)gid);
        fd = open("/proc/self/gid_map", O_WRONLY);
        if (fd < 0 || write(fd, map, strlen(map)) < 0)
            return -1;
        close(fd);
    }
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return -1;
    mkdir("/run/pcscd", 0755); /* may exist; a bind needs the mount point */
    return mount(e->run, "/run/pcscd", NULL, MS_BIND, NULL);
}

int pcscd_env_start(struct pcscd_env *e)
{
    unlink(e->sock);
    /* Each start's log after the last one's: "daemon ready" must be this one's. */
    char old[400];
    snprintf(old, sizeof old, "%s.%d", e->log, e->starts++);
    rename(e->log, old);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int fd = open(e->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        if (private_run_dir(e) < 0) {
            fprintf(stderr, "pcscd_env: no private /run/pcscd: %s\n", strerror(errno));
            _exit(126);
        }
        /* A sanitized build's reader driver needs its runtimes in pcscd. */
        const char *pre = getenv("HAWIYA_PCSCD_PRELOAD");
        if (pre && pre[0]) {
            setenv("LD_PRELOAD", pre, 1);
            setenv("ASAN_OPTIONS", "detect_leaks=0:abort_on_error=1", 1);
        }
        /* HAWIYA_PCSCD_DEBUG: pcscd's debug log too (-d), to see its polling. */
        /* -i: "daemon ready" goes to the log, which is how the test knows. */
        execl("/usr/sbin/pcscd", "pcscd", "-f", "-a", getenv("HAWIYA_PCSCD_DEBUG") ? "-d" : "-i",
              "-c", e->conf, (char *)NULL);
        fprintf(stderr, "pcscd_env: exec pcscd: %s\n", strerror(errno));
        _exit(127);
    }
    e->pid = pid;
    /* Ready when it says so, after its readers are up. (Not asked with
     * SCardEstablishContext: libpcsclite keeps the first socket path it
     * used for the life of the process, and a test may start several.) */
    for (int i = 0; i < 1000; i++) {
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            e->pid = 0;
            return -1;
        }
        FILE *f = fopen(e->log, "r");
        char line[512];
        bool ready = false;
        while (f && !ready && fgets(line, sizeof line, f))
            ready = strstr(line, "daemon ready") != NULL;
        if (f)
            fclose(f);
        struct stat st;
        if (ready && stat(e->sock, &st) == 0)
            return 0;
        sleep_ms(10);
    }
    pcscd_env_stop(e);
    return -1;
}

void pcscd_env_kill(pid_t *pid)
{
    if (*pid <= 0)
        return;
    kill(*pid, SIGTERM);
    for (int i = 0; i < 300; i++) {
        if (waitpid(*pid, NULL, WNOHANG) == *pid) {
            *pid = 0;
            return;
        }
        sleep_ms(10);
    }
    kill(*pid, SIGKILL);
    waitpid(*pid, NULL, 0);
    *pid = 0;
}

void pcscd_env_stop(struct pcscd_env *e)
{
    pcscd_env_kill(&e->pid);
    unlink(e->sock);
}

void pcscd_env_cleanup(struct pcscd_env *e)
{
    pcscd_env_stop(e);
    if (e->dir[0] && getenv("HAWIYA_TEST_KEEP")) {
        fprintf(stderr, "pcscd_env: kept %s\n", e->dir);
        e->dir[0] = '\0';
    }
    if (e->dir[0]) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", e->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "pcscd_env: could not remove %s\n", e->dir);
        e->dir[0] = '\0';
    }
}

static bool port_free(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    bool ok = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

int pcscd_env_free_port_pair(void)
{
    /* Each call of a process starts elsewhere: a test that needs two pairs gets two. */
    static unsigned calls;
    unsigned seed = ((unsigned)getpid() * 2654435761u ^ (unsigned)time(NULL)) + calls++ * 104729u;
    for (int i = 0; i < 200; i++) {
        int port = 20000 + (int)((seed + (unsigned)i * 7919u) % 30000u) * 2 % 30000;
        if (port_free(port) && port_free(port + 1))
            return port;
    }
    return -1;
}

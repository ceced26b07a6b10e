/*
 * Who may reach hawiya-bridge, and how much of it (issue 10, "Access and
 * fairness", and the socket's directory under "Secrets"). Runs as root (as
 * CI does): it makes real throwaway users and groups (useradd, groupadd)
 * and removes them at the end, runs the CLI as them (runuser, setpriv), and
 * plays a hostile local user with a uid of no account (chown 4242).
 *   - the socket's directory: one another user made, or anyone may write,
 *     or a symlink of theirs, is refused by the bridge and by the CLI, by
 *     name; the per-user default is safe without XDG_RUNTIME_DIR (in a
 *     private /tmp: a mount namespace of its own);
 *   - allow_gid works through the peer's real supplementary groups;
 *   - per-uid connection limit, idle timeout, per-requester queue limit and
 *     round-robin service, log floods cut short.
 */
#define _GNU_SOURCE /* unshare, CLONE_NEWNS */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bridge_env.h"
#include "sim_env.h"

#define ORIGIN    "https://record.example"
#define CHALLENGE "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
#define STRANGER  4242u /* a uid with no account: the hostile local user */

static struct sim_env env;
static char dir[300];                       /* 0711: the users below may pass through */
static char desk[32], other[32], front[32]; /* throwaway accounts and group */
static uid_t desk_uid, other_uid;
static gid_t front_gid;

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[3000];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Runs a shell line, returns its exit status, its stdout and stderr in out. */
static int run(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int run(char *out, size_t cap, const char *fmt, ...)
{
    char cmd[3000], full[3200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    snprintf(full, sizeof full, "%s 2>&1", cmd);
    FILE *p = popen(full, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int setup(void **state)
{
    (void)state;
    if (geteuid() != 0) {
        fprintf(stderr, "test_access must run as root (it makes users); CI does\n");
        return -1;
    }
    snprintf(desk, sizeof desk, "hw%ud", (unsigned)getpid());
    snprintf(other, sizeof other, "hw%uo", (unsigned)getpid());
    snprintf(front, sizeof front, "hw%uf", (unsigned)getpid());
    if (sh("groupadd '%s' && useradd -M -N -g nogroup -s /usr/sbin/nologin -G '%s' '%s' && "
           "useradd -M -N -g nogroup -s /usr/sbin/nologin '%s'",
           front, front, desk, other) != 0)
        return -1;
    struct passwd *pw = getpwnam(desk);
    struct group *gr = getgrnam(front);
    if (!pw || !gr)
        return -1;
    desk_uid = pw->pw_uid;
    front_gid = gr->gr_gid;
    pw = getpwnam(other);
    if (!pw)
        return -1;
    other_uid = pw->pw_uid;
    if (sim_env_start(&env, "default", NULL) != 0)
        return -1;
    ccid_link_close(&env.link);
    if (sh("'%s' provision --ca '%s' --reader '%s' >/dev/null", getenv("HAWIYA_PKI"),
           getenv("HAWIYA_PKI_DIR"), env.host_path) != 0)
        return -1;
    snprintf(dir, sizeof dir, "/tmp/hawiya-access-XXXXXX");
    if (!mkdtemp(dir) || chmod(dir, 0711) != 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sim_env_stop(&env);
    sh("userdel '%s' 2>/dev/null; userdel '%s' 2>/dev/null; groupdel '%s' 2>/dev/null", desk, other,
       front);
    if (dir[0])
        sh("rm -rf '%s'", dir);
    return 0;
}

static const char *cli(void)
{
    return getenv("HAWIYA_CLI");
}

/* ---- the socket's directory ------------------------------------------------- */

/* The bridge started on `sock` exits 1 with `why` in its log, making no socket. */
static void bridge_refuses(const char *sock, const char *why)
{
    char conf[400], log[400], text[4096];
    snprintf(conf, sizeof conf, "%s/refuse.conf", dir);
    snprintf(log, sizeof log, "%s/refuse.log", dir);
    unlink(log);
    pid_t b = bridge_spawn(conf, "origin = " ORIGIN "\n", sock, log, NULL, NULL);
    if (b > 0) {
        bridge_stop(&b);
        fail_msg("the bridge served %s", sock);
    }
    FILE *f = fopen(log, "r");
    assert_non_null(f);
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    if (!strstr(text, why))
        fail_msg("%s: log does not say '%s': %s", sock, why, text);
    struct stat st;
    assert_true(lstat(sock, &st) != 0 || !S_ISSOCK(st.st_mode) || st.st_uid == STRANGER);
    print_message("bridge refuses %s: %s", sock,
                  strstr(text, "refusing") ? strstr(text, "refusing") : text);
}

static void bridge_refuses_unsafe_socket_directories(void **state)
{
    (void)state;
    char shared[400], sock[500];
    /* A stand-in for /tmp: anyone may make things in it (1777). */
    snprintf(shared, sizeof shared, "%s/tmp", dir);
    assert_int_equal(mkdir(shared, 0777), 0);
    assert_int_equal(chmod(shared, 01777), 0);

    /* Made first by another user, even with the right mode. */
    sh("mkdir -m 0700 '%s/h1' && chown %u '%s/h1'", shared, STRANGER, shared);
    snprintf(sock, sizeof sock, "%s/h1/bridge.sock", shared);
    bridge_refuses(sock, "h1 belongs to uid 4242, in a directory anyone may write");
    /* Ours, but anyone may write in it. */
    sh("mkdir -m 0777 '%s/h2' && chmod 0777 '%s/h2'", shared, shared);
    snprintf(sock, sizeof sock, "%s/h2/bridge.sock", shared);
    bridge_refuses(sock, "is writable by others (mode 0777)");
    /* Another user's symlink to a directory of ours. */
    sh("mkdir -m 0700 '%s/mine' && ln -s '%s/mine' '%s/h3' && chown -h %u '%s/h3'", dir, dir,
       shared, STRANGER, shared);
    snprintf(sock, sizeof sock, "%s/h3/bridge.sock", shared);
    bridge_refuses(sock, "h3 belongs to uid 4242");
    /* A component on the way writable by others, without the sticky bit. */
    sh("mkdir -m 0777 '%s/open' && chmod 0777 '%s/open'", dir, dir);
    snprintf(sock, sizeof sock, "%s/open/h4/bridge.sock", dir);
    bridge_refuses(sock, "open is writable by others");
    /* Something else where the socket goes. */
    sh("mkdir -m 0700 '%s/h5' && touch '%s/h5/bridge.sock'", shared, shared);
    snprintf(sock, sizeof sock, "%s/h5/bridge.sock", shared);
    bridge_refuses(sock, "exists and is not a socket");

    /* Ours and missing: made 0700, the socket 0600 (no allow-list). A
     * directory of ours that lets others read is narrowed. */
    char conf[400], log[400];
    snprintf(conf, sizeof conf, "%s/ok.conf", dir);
    snprintf(log, sizeof log, "%s/ok.log", dir);
    sh("mkdir -m 0755 '%s/h6' && chmod 0755 '%s/h6'", shared, shared);
    for (int k = 0; k < 2; k++) {
        snprintf(sock, sizeof sock, "%s/%s/bridge.sock", shared, k ? "h6" : "h7");
        pid_t b = bridge_spawn(conf, "origin = " ORIGIN "\n", sock, log, NULL, NULL);
        assert_true(b > 0);
        struct stat st;
        assert_int_equal(lstat(sock, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        *strrchr(sock, '/') = '\0';
        assert_int_equal(lstat(sock, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0700);
        assert_int_equal(st.st_uid, 0);
        bridge_stop(&b);
    }
}

/* A listener the hostile user set up: nobody must connect to it. */
static int fake_listener(const char *path)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 8), 0);
    assert_int_equal(chmod(path, 0777), 0);
    assert_int_equal(lchown(path, STRANGER, STRANGER), 0);
    return fd;
}

static void cli_refuses_unsafe_sockets(void **state)
{
    (void)state;
    char shared[400], path[500], out[4096];
    snprintf(shared, sizeof shared, "%s/tmp2", dir);
    assert_int_equal(mkdir(shared, 0777), 0);
    assert_int_equal(chmod(shared, 01777), 0);
    static const struct {
        const char *setup, *sock, *why;
    } cases[] = {
        /* the directory another user's */
        {"mkdir -m 0700 \"$D/e1\" && chown 4242 \"$D/e1\"", "e1/bridge.sock",
         "e1 belongs to uid 4242"},
        /* the directory anyone's to write */
        {"mkdir \"$D/e2\" && chmod 0777 \"$D/e2\"", "e2/bridge.sock", "e2 is writable by others"},
        /* the socket itself another user's, straight in the shared directory */
        {"true", "e3.sock", "e3.sock belongs to uid 4242, in a directory anyone may write"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(sh("D='%s'; %s", shared, cases[i].setup), 0);
        snprintf(path, sizeof path, "%s/%s", shared, cases[i].sock);
        int lfd = fake_listener(path);
        int rc = run(out, sizeof out, "'%s' status --socket '%s'", cli(), path);
        print_message("hawiya status --socket %s: exit %d: %s", cases[i].sock, rc, out);
        assert_int_equal(rc, 2);
        if (!strstr(out, cases[i].why))
            fail_msg("'%s' does not say '%s'", out, cases[i].why);
        /* And it never connected: the fake bridge has nobody waiting. */
        int c = accept(lfd, NULL, NULL);
        assert_true(c < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
        close(lfd);
    }
}

/*
 * The defaults for a user without XDG_RUNTIME_DIR, in a private mount
 * namespace whose /tmp is a fresh tmpfs: /tmp/hawiya-UID made first by
 * another user (with a listener in it) is refused by the CLI and by the
 * bridge; once it is gone, the bridge makes it (0700, the user's) and the
 * CLI finds the bridge there. Results come back on a pipe.
 */
static void as_nobody(const char *const *argv)
{
    if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
        _exit(120);
    unsetenv("XDG_RUNTIME_DIR");
    execv(argv[0], (char *const *)argv);
    _exit(121);
}

static int run_as_nobody(const char *const *argv, bool quiet)
{
    pid_t p = fork();
    if (p == 0) {
        if (quiet) {
            int n = open("/dev/null", O_WRONLY);
            dup2(n, 1);
            dup2(n, 2);
        }
        as_nobody(argv);
    }
    int st;
    waitpid(p, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* A checkout under /tmp (a clone in /tmp/fresh) would vanish under the new
 * tmpfs with the programs and libraries it built: its top directory is
 * bind-mounted back from the old /tmp, reached through `old_tmp`. */
static int keep_under_new_tmp(int old_tmp, const char *real_path)
{
    char top[PATH_MAX], from[PATH_MAX + 32];
    snprintf(top, sizeof top, "%s", real_path);
    if (strncmp(top, "/tmp/", 5) != 0)
        return 0;
    char *slash = strchr(top + 5, '/');
    if (slash != NULL)
        *slash = '\0';
    /* The new tmpfs starts empty: present means the other program's call
     * brought the same checkout back already. */
    if (mkdir(top, 0755) != 0)
        return errno == EEXIST ? 0 : -1;
    snprintf(from, sizeof from, "/proc/self/fd/%d/%s", old_tmp, top + 5);
    return mount(from, top, NULL, MS_BIND | MS_REC, NULL);
}

static void default_path_without_xdg(void **state)
{
    (void)state;
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    pid_t child = fork();
    if (child == 0) {
        close(pfd[0]);
        char res[512];
        /* A /tmp of our own: the machine's is not touched. old_tmp is opened
         * inside the new namespace: a mount of another namespace cannot be
         * the source of a bind mount. */
        char cli_real[PATH_MAX], bridge_real[PATH_MAX];
        int old_tmp = -1;
        if (realpath(cli(), cli_real) == NULL ||
            realpath(getenv("HAWIYA_BRIDGE"), bridge_real) == NULL || unshare(CLONE_NEWNS) ||
            mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
            (old_tmp = open("/tmp", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0 ||
            mount("tmpfs", "/tmp", "tmpfs", 0, "mode=1777") ||
            keep_under_new_tmp(old_tmp, cli_real) || keep_under_new_tmp(old_tmp, bridge_real)) {
            snprintf(res, sizeof res, "namespace: %s", strerror(errno));
            ssize_t w = write(pfd[1], res, strlen(res));
            (void)w;
            _exit(1);
        }
        mkdir("/tmp/hawiya-65534", 0700);
        chown("/tmp/hawiya-65534", STRANGER, STRANGER);
        int lfd = fake_listener("/tmp/hawiya-65534/bridge.sock");
        const char *status[] = {cli(), "status", NULL};
        int a = run_as_nobody(status, true);
        int c = accept(lfd, NULL, NULL);
        bool contacted = c >= 0;
        FILE *conf = fopen("/tmp/empty.conf", "w");
        fclose(conf);
        chmod("/tmp/empty.conf", 0644);
        const char *bridge[] = {getenv("HAWIYA_BRIDGE"), "--config", "/tmp/empty.conf", NULL};
        int b = run_as_nobody(bridge, true);
        /* The hostile directory gone: the bridge makes its own. */
        system("rm -rf /tmp/hawiya-65534");
        pid_t bp = fork();
        if (bp == 0)
            as_nobody(bridge);
        struct stat st;
        for (int i = 0; i < 500 && stat("/tmp/hawiya-65534/bridge.sock", &st) != 0; i++)
            usleep(10000);
        usleep(100000);
        struct stat dst;
        int made = stat("/tmp/hawiya-65534", &dst);
        int ok = run_as_nobody(status, true);
        kill(bp, SIGTERM);
        waitpid(bp, NULL, 0);
        snprintf(res, sizeof res, "%d %d %d %d %o %u %d", a, contacted, b, made,
                 (unsigned)(dst.st_mode & 0777), (unsigned)dst.st_uid, ok);
        ssize_t w = write(pfd[1], res, strlen(res));
        (void)w;
        _exit(0);
    }
    close(pfd[1]);
    char res[512];
    ssize_t n = read(pfd[0], res, sizeof res - 1);
    close(pfd[0]);
    waitpid(child, NULL, 0);
    assert_true(n > 0);
    res[n] = '\0';
    print_message("nobody without XDG_RUNTIME_DIR: %s\n", res);
    int a, contacted, b, made, ok;
    unsigned mode, owner;
    assert_int_equal(
        sscanf(res, "%d %d %d %d %o %u %d", &a, &contacted, &b, &made, &mode, &owner, &ok), 7);
    assert_int_equal(a, 2);         /* the CLI refused the stranger's directory */
    assert_int_equal(contacted, 0); /* ... and never spoke to the stranger's listener */
    assert_int_equal(b, 1);         /* the bridge refused it too */
    assert_int_equal(made, 0);
    assert_int_equal(mode, 0700);
    assert_int_equal(owner, 65534);
    assert_int_equal(ok, 0); /* and with its own directory, the CLI reaches it */
}

/* ---- allow-lists with real users ------------------------------------------------ */

static pid_t bridge = -1;
static char sock[400], conf[400], log_path[400];

static void start_bridge(const char *extra)
{
    char text[2000];
    snprintf(sock, sizeof sock, "%s/run/bridge.sock", dir);
    snprintf(conf, sizeof conf, "%s/bridge.conf", dir);
    snprintf(log_path, sizeof log_path, "%s/bridge.log", dir);
    unlink(log_path);
    snprintf(text, sizeof text,
             "origin = " ORIGIN "\nreader = sim:r1:%s\nallow_uid = 0\nallow_gid = %u\n"
             "log_level = debug\n%s",
             env.host_path, (unsigned)front_gid, extra);
    bridge = bridge_spawn(conf, text, sock, log_path, NULL, NULL);
    assert_true(bridge > 0);
}

static void allow_gid_through_real_groups(void **state)
{
    (void)state;
    char out[4096];
    start_bridge("");
    struct stat st;
    assert_int_equal(lstat(sock, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0666); /* the list decides, not the mode */
    /* A member of the front end's group (a supplementary group). */
    int rc =
        run(out, sizeof out, "runuser -u '%s' -- '%s' status --socket '%s'", desk, cli(), sock);
    print_message("%s (in %s): exit %d %s", desk, front, rc, out);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "\"configured\":1"));
    /* Not a member. */
    rc = run(out, sizeof out, "runuser -u '%s' -- '%s' status --socket '%s'", other, cli(), sock);
    print_message("%s (not in it): exit %d %s", other, rc, out);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(out, "PEER_NOT_ALLOWED"));
    /* The member, with its supplementary groups dropped: the groups it runs
     * with count, not what /etc/group says it could have. */
    rc = run(out, sizeof out,
             "setpriv --reuid=%u --regid=65534 --clear-groups '%s' status --socket '%s'",
             (unsigned)desk_uid, cli(), sock);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(out, "PEER_NOT_ALLOWED"));
    /* Any other gid with that group as primary is let in too. */
    rc = run(out, sizeof out,
             "setpriv --reuid=%u --regid=%u --clear-groups '%s' status --socket '%s'",
             (unsigned)other_uid, (unsigned)front_gid, cli(), sock);
    assert_int_equal(rc, 0);
    bridge_stop(&bridge);

    /* allow_uid alone. */
    char extra[64];
    snprintf(extra, sizeof extra, "allow_uid = %u\n", (unsigned)other_uid);
    start_bridge(extra);
    rc = run(out, sizeof out, "runuser -u '%s' -- '%s' status --socket '%s'", other, cli(), sock);
    assert_int_equal(rc, 0);
    bridge_stop(&bridge);
}

/* ---- limits and fairness ------------------------------------------------------------ */

static void per_uid_connection_limit_and_idle_timeout(void **state)
{
    (void)state;
    char out[4096];
    start_bridge("clients_per_uid = 5\nidle_timeout_ms = 1500\n");
    usleep(300000); /* the start-up probe's connection is gone */
    int fds[5];
    for (int i = 0; i < 5; i++)
        fds[i] = bridge_conn(sock);
    /* One says half a line (which is not a request): idle all the same. */
    bridge_send(fds[0], "{\"id\":1,\"meth");
    /* The sixth of uid 0 is refused by name... */
    int six = bridge_conn(sock);
    cJSON *j = bridge_read(six, 5000);
    assert_non_null(j);
    assert_string_equal(jstr(j, "error.code"), "TOO_MANY_CLIENTS");
    assert_string_equal(jstr(j, "error.message"), "uid 0 has 5 connections open (clients_per_uid)");
    cJSON_Delete(j);
    close(six);
    /* ... while another user is served. */
    int rc =
        run(out, sizeof out, "runuser -u '%s' -- '%s' status --socket '%s'", desk, cli(), sock);
    assert_int_equal(rc, 0);
    /* Idle connections go. */
    long long t0 = bridge_now_ms();
    for (int i = 0; i < 5; i++) {
        cJSON *none = bridge_read(fds[i], 5000); /* EOF: NULL */
        assert_null(none);
        close(fds[i]);
    }
    long long ms = bridge_now_ms() - t0;
    print_message("idle connections closed %lld ms after the check began (idle_timeout_ms "
                  "1500)\n",
                  ms);
    assert_true(ms < 6000);
    bridge_stop(&bridge);

    /* A subscriber, and a client whose authenticate waits, are not idle. */
    start_bridge("idle_timeout_ms = 500\n");
    char reply[64];
    assert_int_equal(sim_env_control(&env, "remove", reply, sizeof reply), 0);
    assert_true(bridge_wait_reader(sock, "r1", "absent", 5000) >= 0);
    int sub = bridge_conn(sock);
    j = bridge_call(sub, "{\"id\":1,\"method\":\"subscribe\"}\n");
    cJSON_Delete(j);
    int wait = bridge_conn(sock);
    bridge_send(wait,
                "{\"id\":\"w\",\"method\":\"authenticate\",\"params\":{\"challenge\":\"" CHALLENGE
                "\",\"origin\":\"" ORIGIN "\",\"can\":\"123456\",\"timeout_ms\":3000}}\n");
    usleep(1500000);
    j = bridge_call(sub, "{\"id\":2,\"method\":\"status\"}\n");
    assert_true(jnum(j, "result.sessions.queued") == 1);
    cJSON_Delete(j);
    j = bridge_answer(wait); /* its own answer, at its timeout */
    assert_string_equal(jstr(j, "error.code"), "TIMEOUT");
    cJSON_Delete(j);
    close(wait);
    close(sub);
    assert_int_equal(sim_env_control(&env, "insert", reply, sizeof reply), 0);
    bridge_stop(&bridge);
}

/*
 * A front desk shares the reader with someone who queued first and queues
 * more: each requester has at most queue_per_peer pending, and the reader
 * serves requesters in turn (the one served least recently first), so the
 * desk's patient comes second, not third.
 */
static void fair_queue_between_users(void **state)
{
    (void)state;
    char reply[64];
    start_bridge("queue_per_peer = 2\n");
    assert_int_equal(sim_env_control(&env, "remove", reply, sizeof reply), 0);
    assert_true(bridge_wait_reader(sock, "r1", "absent", 5000) >= 0);
    int sub = bridge_conn(sock);
    cJSON *j = bridge_call(sub, "{\"id\":1,\"method\":\"subscribe\"}\n");
    cJSON_Delete(j);
    int a = bridge_conn(sock);
    static const char *const ids[] = {"a1", "a2", "a3"};
    for (int i = 0; i < 3; i++) {
        char line[400];
        snprintf(line, sizeof line,
                 "{\"id\":\"%s\",\"method\":\"authenticate\",\"params\":{\"challenge\":\"" CHALLENGE
                 "\",\"origin\":\"" ORIGIN "\",\"can\":\"123456\",\"timeout_ms\":60000}}\n",
                 ids[i]);
        bridge_send(a, line);
    }
    /* The third of uid 0 is refused; the first two wait. */
    j = bridge_answer(a);
    assert_string_equal(jstr(j, "id"), "a3");
    assert_string_equal(jstr(j, "error.code"), "READER_BUSY");
    assert_string_equal(jstr(j, "error.message"),
                        "uid 0 already has 2 authenticate(s) pending on this reader "
                        "(queue_per_peer)");
    cJSON_Delete(j);
    /* The desk (another uid) queues after both. */
    char cmd[1500];
    snprintf(cmd, sizeof cmd,
             "echo 123456 | runuser -u '%s' -- '%s' auth --socket '%s' --challenge %s --origin %s "
             "--can - --reader r1 --timeout-ms 60000 > '%s/desk.out' 2>/dev/null &",
             desk, cli(), sock, CHALLENGE, ORIGIN, dir);
    assert_int_equal(system(cmd), 0);
    for (int i = 0; i < 500; i++) {
        j = bridge_call(sub, "{\"id\":2,\"method\":\"status\"}\n");
        bool three = jnum(j, "result.sessions.queued") == 3;
        cJSON_Delete(j);
        if (three)
            break;
        usleep(10000);
    }
    assert_int_equal(sim_env_control(&env, "insert", reply, sizeof reply), 0);
    /* Who starts, in order. */
    char order[3][16];
    int n = 0;
    while (n < 3) {
        cJSON *ev = bridge_read(sub, 20000);
        assert_non_null(ev);
        if (!strcmp(jstr(ev, "step"), "started")) {
            const cJSON *id = jget(ev, "request");
            snprintf(order[n++], sizeof order[0], "%s",
                     cJSON_IsString(id) ? id->valuestring : "desk");
        }
        cJSON_Delete(ev);
    }
    print_message("served in turn: %s, %s, %s\n", order[0], order[1], order[2]);
    assert_string_equal(order[0], "a1");
    assert_string_equal(order[1], "desk");
    assert_string_equal(order[2], "a2");
    for (int i = 0; i < 2; i++) {
        j = bridge_answer(a);
        assert_non_null(jget(j, "result.format"));
        cJSON_Delete(j);
    }
    close(a);
    close(sub);
    for (int i = 0; i < 500 && sh("grep -q '\"format\"' '%s/desk.out'", dir) != 0; i++)
        usleep(10000);
    assert_int_equal(sh("grep -q '\"format\"' '%s/desk.out'", dir), 0);
    bridge_stop(&bridge);
}

static size_t count_in_log(const char *needle)
{
    static char text[1 << 20];
    FILE *f = fopen(log_path, "r");
    assert_non_null(f);
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    size_t k = 0;
    for (char *p = text; (p = strstr(p, needle)); p++)
        k++;
    return k;
}

/* Anyone who can connect can make the bridge log a line: floods are cut short. */
static void log_floods_are_cut_short(void **state)
{
    (void)state;
    start_bridge("");
    int fd = bridge_conn(sock);
    for (int i = 0; i < 1000; i++)
        bridge_send(fd, "{\"id\":1,\"method\":\"version\"\n");
    for (int i = 0; i < 1000; i++) {
        cJSON *j = bridge_answer(fd);
        assert_string_equal(jstr(j, "error.code"), "BAD_JSON");
        cJSON_Delete(j);
    }
    close(fd);
    /* And a stranger knocking a thousand times. */
    pid_t p = fork();
    if (p == 0) {
        if (setgroups(0, NULL) || setgid(65534) || setuid(other_uid))
            _exit(1);
        for (int i = 0; i < 1000; i++) {
            int k = bridge_conn(sock);
            char buf[256];
            ssize_t r = read(k, buf, sizeof buf);
            (void)r;
            close(k);
        }
        _exit(0);
    }
    int st;
    long long t0 = bridge_now_ms();
    waitpid(p, &st, 0);
    long long ms = bridge_now_ms() - t0;
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    size_t bad = count_in_log("BAD_JSON"), refused = count_in_log("refused");
    print_message("log lines: %zu BAD_JSON for 1000 bad requests, %zu refusals for 1000 "
                  "knocks of a stranger in %lld ms\n",
                  bad, refused, ms);
    /* At most 20 lines per 10 s window of each kind (and a summary line). */
    long long windows = ms / 10000 + 2;
    assert_true(bad >= 1 && bad <= 20); /* logged, and cut short */
    assert_true(refused >= 1 && refused <= (size_t)(21 * windows));
    bridge_stop(&bridge);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bridge_refuses_unsafe_socket_directories),
        cmocka_unit_test(cli_refuses_unsafe_sockets),
        cmocka_unit_test(default_path_without_xdg),
        cmocka_unit_test(allow_gid_through_real_groups),
        cmocka_unit_test(per_uid_connection_limit_and_idle_timeout),
        cmocka_unit_test(fair_queue_between_users),
        cmocka_unit_test(log_floods_are_cut_short),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

#define _GNU_SOURCE /* pipe2 */
#include "guest.h"

#include "hawiya/base64.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int build_image(const char *dir, const char *const *programs)
{
    const char *script = getenv("HAWIYA_GUEST_IMAGE"), *init = getenv("HAWIYA_GUEST_INIT");
    if (!script || !init) {
        fprintf(stderr, "guest: HAWIYA_GUEST_IMAGE and HAWIYA_GUEST_INIT must be set\n");
        return -1;
    }
    char cmd[4096];
    int k = snprintf(cmd, sizeof cmd, "sh '%s' '%s' '%s'", script, dir, init);
    for (size_t i = 0; programs && programs[i] && k > 0 && (size_t)k < sizeof cmd; i++)
        k += snprintf(cmd + k, sizeof cmd - (size_t)k, " '%s'", programs[i]);
    if (k <= 0 || (size_t)k >= sizeof cmd)
        return -1;
    return system(cmd) == 0 ? 0 : -1;
}

uint64_t guest_process_cpu_ns(pid_t pid)
{
    char path[64];
    unsigned long long ns = 0;
    snprintf(path, sizeof path, "/proc/%d/schedstat", (int)pid);
    FILE *f = fopen(path, "r");
    if (f) {
        if (fscanf(f, "%llu", &ns) != 1)
            ns = 0;
        fclose(f);
    }
    return ns;
}

/* base64url text as NUL-ended bytes (malloc'd), or NULL. */
static char *decode_assertion(const char *b64, size_t *len)
{
    size_t n = strlen(b64), k = 0;
    char *out = malloc(n + 1);
    if (out && base64url_decode(b64, n, (uint8_t *)out, n, &k)) {
        out[k] = '\0';
        *len = k;
        return out;
    }
    free(out);
    return NULL;
}

static void handle_line(struct sim_env *env, const char *line, struct guest_result *res, bool *done,
                        uint64_t *mark_ns)
{
    char reply[256] = "";
    if (!strncmp(line, "@@MARK", 6)) {
        *mark_ns = guest_process_cpu_ns(env->reader);
        return;
    }
    if (!strncmp(line, "@@CARD remove", 13)) {
        res->card_removals++;
        if (sim_env_control(env, "remove", reply, sizeof reply) != 0)
            fprintf(stderr, "guest: vcard remove failed\n");
    } else if (!strncmp(line, "@@UNPLUG", 8)) {
        res->unplugs++;
        sim_env_reader_stop(env);
    } else if (!strncmp(line, "@@PLUG", 6)) {
        res->plugs++;
        if (sim_env_reader_usbredir(env) != 0)
            fprintf(stderr, "guest: the reader did not start again\n");
    } else if (!strncmp(line, "@@CARD insert", 13)) {
        res->card_insertions++;
        if (sim_env_control(env, "insert", reply, sizeof reply) != 0)
            fprintf(stderr, "guest: vcard insert failed\n");
    } else if (!strncmp(line, "@@BENCH ", 8) && res->n_bench < GUEST_MAX_BENCH) {
        char name[48];
        double v;
        unsigned runs = 1;
        if (sscanf(line + 8, "%47s %lf %u", name, &v, &runs) >= 2) {
            size_t i = res->n_bench++;
            snprintf(res->bench_name[i], sizeof res->bench_name[0], "%s", name);
            res->bench_value[i] = v;
            res->bench_runs[i] = runs;
            res->bench_reader_cpu_ns[i] = (double)(guest_process_cpu_ns(env->reader) - *mark_ns);
        }
    } else if (!strncmp(line, "@@ASSERTION ", 12) && !res->assertion) {
        res->assertion = decode_assertion(line + 12, &res->assertion_len);
    } else if (!strncmp(line, "@@ASSERTION2 ", 13) && !res->assertion2) {
        res->assertion2 = decode_assertion(line + 13, &res->assertion2_len);
    } else if (!strncmp(line, "@@CONTROL ", 10)) {
        if (sim_env_control(env, line + 10, reply, sizeof reply) != 0 || strncmp(reply, "ok", 2)) {
            res->controls_failed++;
            fprintf(stderr, "guest: vcard %s: %s\n", line + 10, reply);
        }
    } else if (!strncmp(line, "@@SEEN ", 7) && res->n_seen < GUEST_MAX_SEEN) {
        snprintf(res->seen[res->n_seen++], sizeof res->seen[0], "%s", line + 7);
    } else if (!strncmp(line, "@@PCSCD_STUCK", 13)) {
        if (res->unplugs > 0)
            res->pcscd_stuck_said++;
    } else if (!strncmp(line, "@@PCSCD_EXIT ", 13)) {
        /* 134: SIGABRT, 137: SIGKILL, as the shell reports a child killed by them. */
        int status = atoi(line + 13);
        if (status == 134 && strstr(line, GUEST_PCSCD_KNOWN_CRASH) && res->unplugs > 0) {
            res->pcscd_known_crashes++;
        } else if (status == 137 && res->pcscd_stuck_said > 0) {
            res->pcscd_stuck_said--;
            res->pcscd_known_hangs++;
        } else {
            res->pcscd_other_exits++;
        }
    } else if (!strncmp(line, "@@EXIT ", 7)) {
        res->exit_status = atoi(line + 7);
        *done = true;
    }
}

int guest_run(struct sim_env *env, const char *const *programs, const char *test, const char *args,
              int timeout_s, struct guest_result *res)
{
    const char *dir = getenv("HAWIYA_GUEST_DIR");
    memset(res, 0, sizeof *res);
    res->exit_status = -1;
    if (!dir || build_image(dir, programs) < 0)
        return -1;

    char initrd[512], kernel[512], append[512], chardev[512];
    snprintf(initrd, sizeof initrd, "%s/initrd.%d", env->dir, (int)getpid());
    snprintf(kernel, sizeof kernel, "%s/vmlinux", dir);
    char cat[2048];
    snprintf(cat, sizeof cat, "cat '%s/base.cpio' '%s/test.cpio' > '%s'", dir, dir, initrd);
    if (system(cat) != 0)
        return -1;
    /* random.trust_cpu: pcscd waits for entropy otherwise; quiet: only our lines;
     * no_timer_check: the kernel's boot-time check that the 8254 timer interrupt comes
     * through the IO-APIC in time fails under TCG on a loaded host ("IO-APIC + timer
     * doesn't work!", a panic at 0.06 s), as it does in many VMs. */
    snprintf(append, sizeof append,
             "console=ttyS0 quiet random.trust_cpu=on no_timer_check panic=-1 hawiya_test=%s "
             "hawiya_args=%s",
             test, args ? args : "");
    /* reconnect: a reader stopped and started again is plugged in again. */
    snprintf(chardev, sizeof chardev, "socket,id=ur0,path=%s,reconnect=1", env->usb_path);

    int out[2];
    if (pipe2(out, O_CLOEXEC) < 0)
        return -1;
    double t0 = now_s();
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(out[1], 1);
        dup2(out[1], 2);
        char *argv[] = {"qemu-system-x86_64",
                        "-machine",
                        "q35",
                        "-cpu",
                        "max",
                        "-m",
                        "512",
                        "-nic",
                        "none",
                        "-display",
                        "none",
                        "-monitor",
                        "none",
                        "-serial",
                        "stdio",
                        "-no-reboot",
                        "-kernel",
                        kernel,
                        "-initrd",
                        initrd,
                        "-append",
                        append,
                        "-device",
                        "qemu-xhci,id=xhci",
                        "-chardev",
                        chardev,
                        "-device",
                        "usb-redir,chardev=ur0,bus=xhci.0",
                        NULL};
        execvp(argv[0], argv);
        _exit(127);
    }
    close(out[1]);
    if (pid < 0) {
        close(out[0]);
        return -1;
    }

    char buf[8192];
    size_t len = 0;
    bool done = false;
    uint64_t mark_ns = guest_process_cpu_ns(env->reader);
    while (!done) {
        int left_ms = (int)((t0 + timeout_s - now_s()) * 1000);
        if (left_ms <= 0) {
            fprintf(stderr, "guest: no @@EXIT within %d s\n", timeout_s);
            break;
        }
        struct pollfd p = {.fd = out[0], .events = POLLIN};
        int r = poll(&p, 1, left_ms);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            continue;
        ssize_t k = read(out[0], buf + len, sizeof buf - 1 - len);
        if (k <= 0)
            break;
        len += (size_t)k;
        buf[len] = '\0';
        char *nl;
        while ((nl = strchr(buf, '\n')) != NULL) {
            *nl = '\0';
            if (nl > buf && nl[-1] == '\r')
                nl[-1] = '\0';
            fprintf(stderr, "guest| %s\n", buf);
            handle_line(env, buf, res, &done, &mark_ns);
            len -= (size_t)(nl + 1 - buf);
            memmove(buf, nl + 1, len + 1);
        }
        if (len == sizeof buf - 1)
            len = 0; /* a line longer than the buffer: dropped */
    }
    /* The guest powers itself off; give it a moment, then make sure. */
    for (int i = 0; i < 100 && waitpid(pid, NULL, WNOHANG) == 0; i++) {
        struct timespec d = {0, 50000000};
        nanosleep(&d, NULL);
    }
    if (waitpid(pid, NULL, WNOHANG) == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    close(out[0]);
    unlink(initrd);
    res->wall_s = now_s() - t0;
    if (res->pcscd_known_crashes)
        fprintf(stderr,
                "guest: pcscd aborted %u time(s) on libccid 1.5.2's multi-slot unplug bug "
                "(\"%s\", fixed upstream by CCID 5aa84ff) and was started again\n",
                res->pcscd_known_crashes, GUEST_PCSCD_KNOWN_CRASH);
    if (res->pcscd_known_hangs)
        fprintf(stderr,
                "guest: pcscd kept a slot of the unplugged reader for good %u time(s) (libccid "
                "1.5.2's lost multi-slot wake-up, docs/reader.md) and was killed and started "
                "again\n",
                res->pcscd_known_hangs);
    if (res->pcscd_other_exits)
        fprintf(stderr, "guest: pcscd exited %u time(s) for another reason (see its lines)\n",
                res->pcscd_other_exits);
    return done ? 0 : -1;
}

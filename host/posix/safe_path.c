#define _GNU_SOURCE /* O_PATH */
#include "safe_path.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_LINKS 16
#define PATH_CAP  4096

static int refuse(char *why, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int refuse(char *why, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (why && cap)
        vsnprintf(why, cap, fmt, ap);
    va_end(ap);
    return -1;
}

static bool others_write(const struct stat *st)
{
    return (st->st_mode & (S_IWGRP | S_IWOTH)) != 0;
}

/* X (st) inside D (dst) may be trusted by placement or by owner. */
static bool trusted_in(const struct stat *dst, const struct stat *st)
{
    if (!others_write(dst))
        return true;
    uid_t me = geteuid();
    return st->st_uid == 0 || st->st_uid == me || st->st_uid == dst->st_uid;
}

struct walk {
    char *why;
    size_t cap;
    const struct safe_dir *want; /* NULL: check only, create nothing */
    bool created;
    int links;
};

/*
 * Walks `path` (absolute) from "/": returns an O_PATH fd of the last
 * directory reached and its stat, or -1. With `want`, missing components are
 * made (mode want->mode).
 */
static int walk_dirs(struct walk *w, const char *path, struct stat *out)
{
    char buf[PATH_CAP];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return refuse(w->why, w->cap, "%s: path too long", path);
    int fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    struct stat dst;
    if (fd < 0 || fstat(fd, &dst) < 0) {
        if (fd >= 0)
            close(fd);
        return refuse(w->why, w->cap, "/: %s", strerror(errno));
    }
    if (dst.st_uid != 0 || (others_write(&dst) && !(dst.st_mode & S_ISVTX))) {
        close(fd);
        return refuse(w->why, w->cap, "/ is not root's, or is writable by others");
    }
    char *save = NULL;
    for (char *c = strtok_r(buf, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
        if (!strcmp(c, "."))
            continue;
        if (!strcmp(c, "..")) {
            close(fd);
            return refuse(w->why, w->cap, "%s: '..' in the path", path);
        }
        int nfd = openat(fd, c, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (nfd < 0 && errno == ENOENT && w->want && w->want->create) {
            if (mkdirat(fd, c, w->want->mode) < 0 && errno != EEXIST) {
                close(fd);
                return refuse(w->why, w->cap, "cannot create %s in %s: %s", c, path,
                              strerror(errno));
            }
            /* mkdir's mode went through the umask: set it as asked. */
            fchmodat(fd, c, w->want->mode, 0);
            w->created = true;
            nfd = openat(fd, c, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        }
        struct stat st;
        if (nfd < 0 || fstat(nfd, &st) < 0) {
            int err = errno;
            if (nfd >= 0)
                close(nfd);
            close(fd);
            return refuse(w->why, w->cap, "%s (at %s): %s", path, c, strerror(err));
        }
        if (!trusted_in(&dst, &st)) {
            close(nfd);
            close(fd);
            return refuse(w->why, w->cap,
                          "%s: %s belongs to uid %u, in a directory anyone may write: another "
                          "user may have made it",
                          path, c, (unsigned)st.st_uid);
        }
        if (S_ISLNK(st.st_mode) && w->want && w->want->no_symlinks) {
            close(nfd);
            close(fd);
            return refuse(w->why, w->cap, "%s: %s is a symlink", path, c);
        }
        if (S_ISLNK(st.st_mode)) {
            char target[PATH_CAP], rest[PATH_CAP];
            ssize_t k = readlinkat(fd, c, target, sizeof target - 1);
            close(nfd);
            if (k <= 0 || ++w->links > MAX_LINKS) {
                close(fd);
                return refuse(w->why, w->cap, "%s: unusable symlink at %s", path, c);
            }
            target[k] = '\0';
            snprintf(rest, sizeof rest, "%s", save ? save : "");
            char next[PATH_CAP];
            if (target[0] == '/') {
                if (snprintf(next, sizeof next, "%s/%s", target, rest) >= (int)sizeof next) {
                    close(fd);
                    return refuse(w->why, w->cap, "%s: path too long", path);
                }
                close(fd);
                return walk_dirs(w, next, out);
            }
            /* Relative: resolve from "/" again with the part walked so far. */
            close(fd);
            char done[PATH_CAP];
            size_t upto = (size_t)(c - buf);
            memcpy(done, path, upto);
            done[upto] = '\0';
            if (snprintf(next, sizeof next, "%s/%s/%s", done, target, rest) >= (int)sizeof next)
                return refuse(w->why, w->cap, "%s: path too long", path);
            return walk_dirs(w, next, out);
        }
        if (!S_ISDIR(st.st_mode)) {
            close(nfd);
            close(fd);
            return refuse(w->why, w->cap, "%s: %s is not a directory", path, c);
        }
        if (others_write(&st) && !(st.st_mode & S_ISVTX)) {
            close(nfd);
            close(fd);
            return refuse(w->why, w->cap, "%s: %s is writable by others (mode %04o)", path, c,
                          (unsigned)(st.st_mode & 07777));
        }
        close(fd);
        fd = nfd;
        dst = st;
    }
    *out = dst;
    return fd;
}

/* `path` made absolute against the working directory. */
static bool absolute(const char *path, char *out, size_t cap)
{
    if (path[0] == '/')
        return snprintf(out, cap, "%s", path) < (int)cap;
    char cwd[PATH_CAP];
    return getcwd(cwd, sizeof cwd) && snprintf(out, cap, "%s/%s", cwd, path) < (int)cap;
}

int safe_dir_open(const char *path, const struct safe_dir *want, bool *created, char *why,
                  size_t cap)
{
    char abs[PATH_CAP];
    struct walk w = {.why = why, .cap = cap, .want = want};
    struct stat st;
    if (created)
        *created = false;
    if (!path[0] || !absolute(path, abs, sizeof abs))
        return refuse(why, cap, "%s: not a usable path", path);
    int fd = walk_dirs(&w, abs, &st);
    if (fd < 0)
        return -1;
    if (st.st_uid != geteuid()) {
        close(fd);
        return refuse(why, cap, "%s belongs to uid %u, not to us (uid %u)", path,
                      (unsigned)st.st_uid, (unsigned)geteuid());
    }
    if (others_write(&st)) {
        close(fd);
        return refuse(why, cap, "%s is writable by others (mode %04o)", path,
                      (unsigned)(st.st_mode & 07777));
    }
    if (want && (st.st_mode & 07777 & ~want->mode)) {
        /* Ours, but it lets others read or enter more than we want: narrow it. */
        char self[64];
        snprintf(self, sizeof self, "/proc/self/fd/%d", fd);
        if (chmod(self, want->mode) < 0) {
            int err = errno;
            close(fd);
            return refuse(why, cap, "%s: mode %04o, cannot set %04o: %s", path,
                          (unsigned)(st.st_mode & 07777), (unsigned)want->mode, strerror(err));
        }
    }
    if (created)
        *created = w.created;
    return fd;
}

/* Splits path into its directory and last component. */
static bool split(const char *path, char *dir, size_t dcap, char *name, size_t ncap)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    if (!*base || !strcmp(base, ".") || !strcmp(base, "..") ||
        snprintf(name, ncap, "%s", base) >= (int)ncap)
        return false;
    if (!slash)
        return snprintf(dir, dcap, ".") < (int)dcap;
    if (slash == path)
        return snprintf(dir, dcap, "/") < (int)dcap;
    return snprintf(dir, dcap, "%.*s", (int)(slash - path), path) < (int)dcap;
}

int safe_parent_open(const char *path, const struct safe_dir *want, bool *created, char *name,
                     size_t name_cap, char *why, size_t cap)
{
    char dir[PATH_CAP];
    if (!split(path, dir, sizeof dir, name, name_cap))
        return refuse(why, cap, "%s: not a usable path", path);
    return safe_dir_open(dir, want, created, why, cap);
}

bool safe_socket_check(const char *path, char *why, size_t cap)
{
    char abs[PATH_CAP], dir[PATH_CAP], name[256];
    if (!absolute(path, abs, sizeof abs) || !split(abs, dir, sizeof dir, name, sizeof name))
        return refuse(why, cap, "%s: not a usable path", path) == 0;
    struct walk w = {.why = why, .cap = cap};
    struct stat dst, st;
    int fd = walk_dirs(&w, dir, &dst);
    if (fd < 0)
        return false;
    int r = fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW);
    int err = errno;
    close(fd);
    if (r < 0)
        return refuse(why, cap, "%s: %s", path, strerror(err)) == 0;
    if (!S_ISSOCK(st.st_mode))
        return refuse(why, cap, "%s is not a socket", path) == 0;
    if (!trusted_in(&dst, &st))
        return refuse(why, cap,
                      "%s belongs to uid %u, in a directory anyone may write: another user may "
                      "have made it",
                      path, (unsigned)st.st_uid) == 0;
    return true;
}

/*
 * safe_path: where a local socket or a reader's state may live, so that no
 * other local user can stand in for it (a listener of their own in place of
 * the bridge's socket, a symlink in place of the sim board's flash image).
 *
 * A path is walked from "/" one component at a time with openat(O_PATH |
 * O_NOFOLLOW) and fstat, so what is checked is what is used. "/" must be
 * root's and not writable by group or others. Then each component X inside
 * a trusted directory D is trusted when:
 *   - D is writable only by its owner: X is whatever D's owner put there;
 *   - D is also writable by others (only with the sticky bit, like /tmp):
 *     X must belong to root, to us (the effective uid) or to D's owner,
 *     since anyone could have made it first;
 * and a directory X must itself not be writable by group or others unless
 * it is sticky. A symlink is followed only when it is trusted the same way.
 * ".." is refused. So /tmp/hawiya-1000 made by another user, or made 0777,
 * is refused by name; /run/hawiya made by systemd for a service user is
 * trusted by placement.
 */
#ifndef HAWIYA_SAFE_PATH_H
#define HAWIYA_SAFE_PATH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct safe_dir {
    mode_t mode;      /* the final directory is made with this mode; an existing one of
                         ours granting more (without write for others) is narrowed to it */
    bool create;      /* make the final directory, and missing parents, with `mode` */
    bool no_symlinks; /* refuse any symlink on the way, even a trusted one */
};

/*
 * The directory `path` as a trusted place of our own: every component
 * trusted (above) and the final directory owned by the effective uid. An
 * O_PATH descriptor of it (the caller closes it), or -1 with the reason in
 * `why`; *created says whether it was made now.
 */
int safe_dir_open(const char *path, const struct safe_dir *want, bool *created, char *why,
                  size_t cap);

/*
 * For a client about to connect to the socket `path`: the directory of it
 * and the socket itself are trusted (above), and the socket is a socket.
 * false with the reason in `why`.
 */
bool safe_socket_check(const char *path, char *why, size_t cap);

/*
 * The directory of `path` (everything before the last '/', "." if none)
 * as safe_dir_open() gives it; the last component in `name`.
 */
int safe_parent_open(const char *path, const struct safe_dir *want, bool *created, char *name,
                     size_t name_cap, char *why, size_t cap);

#endif

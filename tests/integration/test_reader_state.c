/*
 * The sim reader's identity and counter across restarts, and its state
 * directory (the stand-in for the chip's flash and OTP) under faults and
 * tampering: a deleted, truncated, erased, symlinked, shared or foreign
 * flash never makes a new identity or restarts the counter; the reader says
 * what it found by name (INFO: RESC_T_ATTEST_STATE, RESC_T_STORE_STATE) and
 * refuses to authenticate. Its host socket is 0600 whatever the umask.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hawiya/reader_escape.h"
#include "hawiya/tlv.h"
#include "reader_session.h"
#include "sim_env.h"

#define TIMEOUT_MS 20000

static struct sim_env env;

struct info {
    char id[64], state[64], store[64];
    uint64_t counter;
};

static void text(const uint8_t *p, size_t n, uint32_t tag, char *out, size_t cap)
{
    struct tlv t;
    out[0] = '\0';
    if (tlv_find(p, n, tag, &t) == TLV_OK && t.len < cap) {
        if (t.len)
            memcpy(out, t.value, t.len);
        out[t.len] = '\0';
    }
}

static void info(struct info *i)
{
    static const uint8_t req[] = {RESC_INFO};
    uint8_t out[4096];
    size_t n;
    struct tlv t;
    assert_int_equal(reader_escape(&env.link, req, 1, out, sizeof out, &n, TIMEOUT_MS),
                     CCID_LINK_OK);
    text(out, n, RESC_T_READER_ID, i->id, sizeof i->id);
    text(out, n, RESC_T_ATTEST_STATE, i->state, sizeof i->state);
    text(out, n, RESC_T_STORE_STATE, i->store, sizeof i->store);
    i->counter = 0;
    assert_int_equal(tlv_find(out, n, RESC_T_COUNTER, &t), TLV_OK);
    assert_int_equal(t.len, 8);
    for (int k = 0; k < 8; k++)
        i->counter = i->counter << 8 | t.value[k];
}

/* One authentication straight to the reader: the counter it signed, or 0
 * with the failed step's error in `error`. */
static uint64_t authenticate(char *error, size_t cap)
{
    uint8_t challenge[32], out[16384];
    for (int i = 0; i < 32; i++)
        challenge[i] = (uint8_t)i;
    struct reader_auth_params p = {.challenge = challenge,
                                   .challenge_len = 32,
                                   .origin = "https://record.example",
                                   .can = "123456"};
    struct reader_step last;
    size_t n;
    enum reader_session_err e =
        reader_session_run(&env.link, &p, TIMEOUT_MS, NULL, NULL, out, sizeof out, &n, &last);
    if (error)
        snprintf(error, cap, "%s:%s", last.name, last.error);
    if (e != READER_SESSION_OK)
        return 0;
    struct tlv t;
    assert_int_equal(tlv_find(out, n, RESC_T_COUNTER, &t), TLV_OK);
    uint64_t c = 0;
    for (int k = 0; k < 8; k++)
        c = c << 8 | t.value[k];
    return c;
}

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int st = system(cmd);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fail_msg("command failed: %s", cmd);
}

static void restart(void)
{
    int status;
    assert_int_equal(sim_env_restart_reader(&env, NULL, &status), 0);
}

static int setup(void **state)
{
    (void)state;
    return sim_env_start(&env, "default", NULL);
}

static int teardown(void **state)
{
    (void)state;
    sim_env_stop(&env);
    return 0;
}

/* The identity and the counter carry over restarts. */
static void identity_and_counter_survive_restarts(void **state)
{
    (void)state;
    struct info a, b;
    info(&a);
    assert_string_equal(a.state, "ATTEST_OK");
    assert_string_equal(a.store, "STORE_OK");
    assert_int_equal(a.counter, 0);
    assert_true(strncmp(a.id, "sim-", 4) == 0);
    assert_int_equal(authenticate(NULL, 0), 1);
    assert_int_equal(authenticate(NULL, 0), 2);
    restart();
    info(&b);
    assert_string_equal(b.id, a.id);
    assert_string_equal(b.state, "ATTEST_OK");
    assert_int_equal(b.counter, 2);
    assert_int_equal(authenticate(NULL, 0), 3);
    /* The board made the chip's two images, private to us. */
    char path[400];
    struct stat st;
    snprintf(path, sizeof path, "%s/flash.img", env.state_path);
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_size, 32768);
    snprintf(path, sizeof path, "%s/otp.img", env.state_path);
    assert_int_equal(lstat(path, &st), 0);
    assert_int_equal(st.st_size, 512);
    assert_int_equal(lstat(env.state_path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
}

/*
 * Each way the flash can be lost or tampered with, from a copy of the good
 * state taken after three authentications: the reader restarts, reports
 * by name, refuses to authenticate, and makes no new identity.
 */
static void tampered_state_never_makes_a_new_identity(void **state)
{
    (void)state;
    static const struct {
        const char *what, *cmd; /* shell, $S = the state directory */
        const char *attest, *store;
    } cases[] = {
        {"flash deleted", "rm \"$S/flash.img\"", "ATTEST_ERR_STORE", "STORE_ERR_FLASH"},
        {"flash truncated to 0", ": > \"$S/flash.img\"", "ATTEST_ERR_STORE", "STORE_ERR_FLASH"},
        {"flash truncated to half", "truncate -s 16384 \"$S/flash.img\"", "ATTEST_ERR_STORE",
         "STORE_ERR_FLASH"},
        {"flash erased (all FF)", "head -c 32768 /dev/zero | tr '\\000' '\\377' > \"$S/flash.img\"",
         "ATTEST_ERR_KEY_LOST", "STORE_OK"},
        {"flash zeroed", "head -c 32768 /dev/zero > \"$S/flash.img\"", "ATTEST_ERR_STORE",
         "STORE_ERR_NOT_FORMATTED"},
        {"flash a symlink to a good copy",
         "cp -p \"$S/flash.img\" \"$S.copy\" && rm \"$S/flash.img\" && "
         "ln -s \"$S.copy\" \"$S/flash.img\"",
         "ATTEST_ERR_STORE", "STORE_ERR_FLASH"},
        {"flash readable by others", "chmod 0644 \"$S/flash.img\"", "ATTEST_ERR_STORE",
         "STORE_ERR_FLASH"},
        {"flash owned by another user", "chown 65534 \"$S/flash.img\"", "ATTEST_ERR_STORE",
         "STORE_ERR_FLASH"},
        {"flash hard-linked elsewhere", "ln \"$S/flash.img\" \"$S.link\"", "ATTEST_ERR_STORE",
         "STORE_ERR_FLASH"},
        {"flash a directory", "rm \"$S/flash.img\" && mkdir \"$S/flash.img\"", "ATTEST_ERR_STORE",
         "STORE_ERR_FLASH"},
        {"flash a FIFO", "rm \"$S/flash.img\" && mkfifo -m 0600 \"$S/flash.img\"",
         "ATTEST_ERR_STORE", "STORE_ERR_FLASH"},
        {"state directory writable by others", "chmod 0777 \"$S\"", "ATTEST_ERR_STORE",
         "STORE_ERR_FLASH"},
        {"state directory a symlink to a good copy",
         "cp -a \"$S\" \"$S.copy\" && rm -r \"$S\" && ln -s \"$S.copy\" \"$S\"", "ATTEST_ERR_STORE",
         "STORE_ERR_FLASH"},
        {"state directory owned by another user", "chown 65534 \"$S\"", "ATTEST_ERR_STORE",
         "STORE_ERR_FLASH"},
        {"state directory emptied", "rm -f \"$S\"/*", "ATTEST_ERR_STORE", "STORE_ERR_FLASH"},
        /* The OTP alone lost: the flash still holds the identity. */
        {"otp deleted", "rm \"$S/otp.img\"", "ATTEST_OK", "STORE_OK"},
        {"otp erased", "head -c 512 /dev/zero | tr '\\000' '\\377' > \"$S/otp.img\"", "ATTEST_OK",
         "STORE_OK"},
    };
    struct info good;
    assert_int_equal(authenticate(NULL, 0), 1);
    assert_int_equal(authenticate(NULL, 0), 2);
    assert_int_equal(authenticate(NULL, 0), 3);
    info(&good);
    char saved[400];
    snprintf(saved, sizeof saved, "%s/saved-state", env.dir);
    sh("cp -a '%s' '%s'", env.state_path, saved);

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sh("S='%s'; rm -rf \"$S\" \"$S.copy\" \"$S.link\" && cp -a '%s' \"$S\"", env.state_path,
           saved);
        sh("S='%s'; %s", env.state_path, cases[i].cmd);
        restart();
        struct info got;
        info(&got);
        if (strcmp(got.state, cases[i].attest) || strcmp(got.store, cases[i].store))
            fail_msg("%s: %s / %s, want %s / %s", cases[i].what, got.state, got.store,
                     cases[i].attest, cases[i].store);
        char error[128];
        uint64_t c = authenticate(error, sizeof error);
        if (!strcmp(cases[i].attest, "ATTEST_OK")) {
            /* The same reader, counting on. */
            assert_string_equal(got.id, good.id);
            assert_int_equal(got.counter, 3);
            assert_int_equal(c, 4);
        } else {
            /* Never another identity, never a counter that starts again. */
            assert_true(got.id[0] == '\0' || !strcmp(got.id, good.id));
            assert_int_equal(c, 0);
            char want[128];
            snprintf(want, sizeof want, "begin:%s", cases[i].attest);
            if (strcmp(error, want))
                fail_msg("%s: authenticate failed with %s, want %s", cases[i].what, error, want);
            /* And the same after another restart: nothing was made meanwhile. */
            restart();
            struct info again;
            info(&again);
            assert_string_equal(again.state, cases[i].attest);
            assert_true(again.id[0] == '\0' || !strcmp(again.id, good.id));
        }
        print_message("%-42s -> %s / %s\n", cases[i].what, got.state, got.store);
    }
    /* The good state back: the same identity, counting on from 3. */
    sh("S='%s'; rm -rf \"$S\" \"$S.copy\" \"$S.link\" && cp -a '%s' \"$S\"", env.state_path, saved);
    restart();
    struct info back;
    info(&back);
    assert_string_equal(back.id, good.id);
    assert_int_equal(authenticate(NULL, 0), 4);
}

/* The host link is the cable: its socket is the reader's user's only,
 * whatever the umask, and a directory others may write is refused. */
static void host_socket_private_whatever_the_umask(void **state)
{
    (void)state;
    mode_t old = umask(0);
    restart();
    umask(old);
    struct stat st;
    assert_int_equal(lstat(env.host_path, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0600);

    /* The socket's directory open to everyone: the reader will not listen there. */
    assert_int_equal(chmod(env.dir, 0777), 0);
    int status = -1;
    assert_int_not_equal(sim_env_restart_reader(&env, NULL, &status), 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 1);
    assert_int_equal(chmod(env.dir, 0700), 0);
    restart();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(identity_and_counter_survive_restarts, setup, teardown),
        cmocka_unit_test_setup_teardown(tampered_state_never_makes_a_new_identity, setup, teardown),
        cmocka_unit_test_setup_teardown(host_socket_private_whatever_the_umask, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

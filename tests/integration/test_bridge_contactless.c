/*
 * Tap to authenticate, end to end: hawiya-bridge over our sim reader whose
 * contactless front end faces hawiya-vcard's RF field. Every contactless
 * persona is authenticated through the bridge and verified as the platform
 * does; an authenticate asked with no card waits for the tap; subscribers
 * see the taps (card_inserted / card_removed with "interface":"contactless");
 * and the card pulled away at every frame of a session gives a named error,
 * after which the next tap works.
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

#include "bridge_test.h"
#include "sim_env.h"

static struct sim_env env;
static pid_t bridge = -1;
static char sock_path[320], log_path[320], conf_path[320];

static int setup(void **state)
{
    (void)state;
    if (sim_env_start_rf(&env, "morocco-cl", true, NULL) != 0)
        return -1;
    /* the reader gets its device certificate, then is handed to the bridge */
    if (sim_env_provision(&env) != 0)
        return -1;
    snprintf(sock_path, sizeof sock_path, "%s/bridge.sock", env.dir);
    snprintf(log_path, sizeof log_path, "%s/bridge.log", env.dir);
    snprintf(conf_path, sizeof conf_path, "%s/bridge.conf", env.dir);
    FILE *f = fopen(conf_path, "w");
    if (!f)
        return -1;
    fprintf(f, "origin = " BT_ORIGIN "\nreader = sim:desk:%s\ntimeout_ms = 20000\n", env.host_path);
    fclose(f);
    bridge = bt_bridge_start(conf_path, sock_path, log_path);
    if (bridge < 0 || !bt_wait_reader(sock_path, "desk", "up", "present", 20000))
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    bt_stop(&bridge);
    sim_env_stop(&env);
    return 0;
}

static void control(const char *cmd)
{
    char reply[512];
    assert_int_equal(sim_env_control(&env, cmd, reply, sizeof reply), 0);
    if (strncmp(reply, "ok", 2))
        fail_msg("%s: %s", cmd, reply);
}

/* One authentication with this CAN: the assertion, or the error object. */
static cJSON *authenticate(int fd, const char *id, const char *can)
{
    char extra[64], line[512];
    snprintf(extra, sizeof extra, ",\"can\":\"%s\"", can);
    bt_auth_line(line, sizeof line, id, extra);
    return bt_call(fd, line);
}

/* Another card in the field in place of this one: the reader finds out at its
 * next presence check; the bridge must have seen the old card go and the new
 * one come (over the air) before a request may count on it. */
static void swap_to(const char *persona)
{
    int sub = bt_connect(sock_path);
    cJSON *j = bt_call(sub, "{\"id\":1,\"method\":\"subscribe\"}\n");
    assert_true(cJSON_IsTrue(bt_get(j, "result.subscribed")));
    cJSON_Delete(j);
    char cmd[64];
    snprintf(cmd, sizeof cmd, "persona %s", persona);
    control(cmd);
    cJSON *ev = bt_event(sub, "card_removed", 20000);
    assert_non_null(ev);
    cJSON_Delete(ev);
    for (;;) {
        ev = bt_event(sub, "card_inserted", 20000);
        assert_non_null(ev);
        const cJSON *i = bt_find(ev, "interface");
        bool rf = i && cJSON_IsString(i) && !strcmp(i->valuestring, "contactless");
        cJSON_Delete(ev);
        if (rf)
            break;
    }
    close(sub);
}

static void each_persona_over_contactless(void **state)
{
    (void)state;
    static const struct {
        const char *id, *can, *doc, *atr, *how;
    } cases[] = {
        {"morocco-cl", "246810", "CD7654321", "3B85800180738421C092", "contactless Type A 848"},
        {"algeria-cl", "135790", "200400600", "3B888001E1686C17778395009A",
         "contactless Type B 848"},
        {"morocco-cl-only", "112233", "EF1122334", "3B85800180738421C092",
         "contactless Type A 848"},
    };
    int fd = bt_connect(sock_path);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (i > 0)
            swap_to(cases[i].id);
        assert_true(bt_wait_reader(sock_path, "desk", "up", "present", 20000));
        cJSON *r = bt_call(fd, "{\"id\":\"r\",\"method\":\"readers\"}\n");
        bt_expect_str(r, "result.readers.0.interface", "contactless");
        cJSON_Delete(r);

        char line[512], extra[64];
        snprintf(extra, sizeof extra, ",\"can\":\"%s\"", cases[i].can);
        bt_auth_line(line, sizeof line, "1", extra);
        bt_send(fd, line);
        /* the atr step names the interface, the type and the bit rate */
        cJSON *ev;
        bool seen_atr = false;
        while ((ev = bt_read(fd, 20000)) != NULL && bt_find(ev, "event")) {
            const cJSON *step = bt_find(ev, "step");
            if (step && !strcmp(step->valuestring, "atr")) {
                const char *d = bt_get(ev, "detail")->valuestring;
                assert_true(!strncmp(d, cases[i].atr, strlen(cases[i].atr)));
                if (!strstr(d, cases[i].how))
                    fail_msg("%s: atr step %s", cases[i].id, d);
                seen_atr = true;
            }
            cJSON_Delete(ev);
        }
        assert_non_null(ev);
        if (!seen_atr)
            fail_msg("%s: no atr step before %s", cases[i].id, cJSON_PrintUnformatted(ev));
        if (!bt_find(ev, "result.format"))
            fail_msg("%s: %s", cases[i].id, cJSON_PrintUnformatted(ev));
        char doc[32] = "";
        bool attested = false;
        assert_int_equal(bt_verify(bt_get(ev, "result"), false, doc, sizeof doc, &attested), HV_OK);
        assert_true(attested);
        assert_string_equal(doc, cases[i].doc);
        cJSON_Delete(ev);
        /* the sizes came from the card's word: no read it had to refuse */
        assert_int_equal(sim_env_stat(&env, "le_refused"), 0);
    }
    close(fd);
}

/* No card: the request waits; the tap starts it; subscribers see the tap. */
static void waits_for_tap(void **state)
{
    (void)state;
    swap_to("morocco-cl");
    assert_true(bt_wait_reader(sock_path, "desk", "up", "present", 20000));
    int sub = bt_connect(sock_path);
    cJSON *j = bt_call(sub, "{\"id\":1,\"method\":\"subscribe\"}\n");
    assert_true(cJSON_IsTrue(bt_get(j, "result.subscribed")));
    cJSON_Delete(j);
    control("leave");
    cJSON *ev = bt_event(sub, "card_removed", 20000);
    assert_non_null(ev);
    bt_expect_str(ev, "interface", "contactless");
    cJSON_Delete(ev);
    assert_true(bt_wait_reader(sock_path, "desk", "up", "absent", 20000));

    int fd = bt_connect(sock_path);
    char line[512];
    bt_auth_line(line, sizeof line, "w", ",\"can\":\"246810\"");
    bt_send(fd, line);
    ev = bt_event(fd, "progress", 10000);
    bt_expect_str(ev, "step", "queued");
    cJSON_Delete(ev);
    ev = bt_event(fd, "progress", 10000);
    bt_expect_str(ev, "step", "waiting_for_card");
    cJSON_Delete(ev);
    control("tap");
    ev = bt_event(sub, "card_inserted", 20000);
    assert_non_null(ev);
    bt_expect_str(ev, "reader", "desk");
    bt_expect_str(ev, "interface", "contactless");
    cJSON_Delete(ev);
    j = bt_answer(fd);
    if (!bt_find(j, "result.format"))
        fail_msg("%s", cJSON_PrintUnformatted(j));
    char doc[32];
    bool attested;
    assert_int_equal(bt_verify(bt_get(j, "result"), false, doc, sizeof doc, &attested), HV_OK);
    assert_string_equal(doc, "CD7654321");
    cJSON_Delete(j);
    close(fd);
    close(sub);
}

/* The card leaves the field after n of the reader's frames, for every n up to
 * the frames a whole session took (with the reader's S(DESELECT) and polls
 * after it): a named error (CARD_REMOVED) while it leaves during the session,
 * whole verified sessions once it stays long enough; after each, the card is
 * tapped again and the next session works. The reader also checks now and
 * then that an idle card is still there: when such a check is where the card
 * left, the request finds no card and waits for the next tap (the bridge says
 * waiting_for_card), and that tap's session must be whole. */
static void pulled_away(const char *persona, const char *can)
{
    swap_to(persona);
    assert_true(bt_wait_reader(sock_path, "desk", "up", "present", 20000));
    char can_field[64];
    snprintf(can_field, sizeof can_field, ",\"can\":\"%s\"", can);
    int fd = bt_connect(sock_path);
    long long f0 = sim_env_stat(&env, "rf_frames");
    cJSON *j = authenticate(fd, "0", can);
    assert_non_null(bt_find(j, "result.format"));
    cJSON_Delete(j);
    long long frames = sim_env_stat(&env, "rf_frames") - f0;
    print_message("one session: %lld frames from the reader\n", frames);
    assert_true(frames > 20);

    unsigned removed = 0, whole = 0, before = 0;
    long long first_whole = -1;
    for (long long n = 0; n <= frames; n++) {
        char cmd[64];
        assert_true(bt_wait_reader(sock_path, "desk", "up", "present", 20000));
        snprintf(cmd, sizeof cmd, "leave-after-frames %lld", n);
        control(cmd);
        char id[16], line[512];
        snprintf(id, sizeof id, "%lld", n + 1);
        bt_auth_line(line, sizeof line, id, can_field);
        bt_send(fd, line);
        bool waited = false;
        for (;;) {
            j = bt_read(fd, 30000);
            assert_non_null(j);
            if (!bt_find(j, "event"))
                break;
            const cJSON *step = bt_find(j, "step");
            if (step && cJSON_IsString(step) && !strcmp(step->valuestring, "waiting_for_card")) {
                waited = true;
                control("tap");
            }
            cJSON_Delete(j);
        }
        if (waited) {
            /* gone before the session began: the tap's session is whole */
            if (!bt_find(j, "result.format"))
                fail_msg("after %lld frames, tapped again: %s", n, cJSON_PrintUnformatted(j));
            before++;
            cJSON_Delete(j);
            continue;
        }
        if (bt_find(j, "result.format")) {
            whole++;
            if (first_whole < 0)
                first_whole = n;
            /* a session cannot end well on half its frames */
            if (2 * n < frames)
                fail_msg("whole session with the card gone after %lld of %lld frames", n, frames);
        } else {
            /* the card's departure, by name */
            bt_expect_str(j, "error.code", "CARD_REMOVED");
            removed++;
        }
        cJSON_Delete(j);
        assert_true(bt_wait_reader(sock_path, "desk", "up", "absent", 20000));
        control("tap");
    }
    print_message("%s pulled away after 0..%lld frames: %u CARD_REMOVED, %u whole sessions (from "
                  "%lld frames on), %u gone before the session\n",
                  persona, frames, removed, whole, first_whole, before);
    assert_true(removed >= 20 && whole >= 1);
    /* the next tap works */
    assert_true(bt_wait_reader(sock_path, "desk", "up", "present", 20000));
    j = authenticate(fd, "last", can);
    char doc[32];
    bool attested;
    assert_int_equal(bt_verify(bt_get(j, "result"), false, doc, sizeof doc, &attested), HV_OK);
    cJSON_Delete(j);
    close(fd);
}

/* Type A (the Moroccan-style card) and Type B (the Algerian-style one). */
static void pulled_away_at_every_frame(void **state)
{
    (void)state;
    pulled_away("morocco-cl", "246810");
    pulled_away("algeria-cl", "135790");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(each_persona_over_contactless),
        cmocka_unit_test(waits_for_tap),
        cmocka_unit_test(pulled_away_at_every_frame),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

/*
 * hawiya-bridge's configuration file (host/bridge/config.h,
 * docs/bridge-protocol.md "Configuration"): every key, the lists, comments,
 * CRLF, and each error with the exact "NAME:LINE: reason" an installer sees.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

static void default_socket(void **state)
{
    char path[BRIDGE_PATH_MAX], want[BRIDGE_PATH_MAX];
    const char *saved = getenv("XDG_RUNTIME_DIR");
    setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
    bridge_default_socket(path, sizeof path);
    assert_string_equal(path, geteuid() == 0 ? "/run/hawiya/bridge.sock"
                                             : "/run/user/1000/hawiya/bridge.sock");
    unsetenv("XDG_RUNTIME_DIR");
    bridge_default_socket(path, sizeof path);
    snprintf(want, sizeof want, "/tmp/hawiya-%u/bridge.sock", (unsigned)geteuid());
    assert_string_equal(path, geteuid() == 0 ? "/run/hawiya/bridge.sock" : want);
    if (saved)
        setenv("XDG_RUNTIME_DIR", saved, 1);

    struct bridge_config c;
    bridge_config_defaults(&c);
    assert_int_equal(c.timeout_ms, 30000);
    assert_int_equal(c.queue_max, 8);
    assert_false(c.log_syslog);
    assert_int_equal(c.log_level, BRIDGE_LOG_INFO);
    assert_int_equal(c.n_origin + c.n_reader + c.n_allow_uid + c.n_allow_gid, 0);
    assert_int_equal(c.ws_port, 0); /* no WebSocket unless configured */
    assert_int_equal(c.ws_max_per_origin, 8);
    assert_int_equal(c.ws_idle_ms, 600000);
}

static void websocket_loopback_only(void **state)
{
    static const struct {
        const char *value;
        unsigned port;
        bool v4, v6;
    } ok[] = {
        {"127.0.0.1:47123", 47123, true, false},
        {"[::1]:1", 1, false, true},
        {"localhost:65535", 65535, true, true},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        struct bridge_config c;
        char err[256] = "";
        bridge_config_defaults(&c);
        assert_true(bridge_config_set(&c, "websocket", ok[i].value, err, sizeof err));
        assert_string_equal(c.websocket, ok[i].value);
        assert_int_equal(c.ws_port, ok[i].port);
        assert_int_equal(c.ws_ipv4, ok[i].v4);
        assert_int_equal(c.ws_ipv6, ok[i].v6);
    }
    /* Every other address, and malformed ports, are refused. */
    static const char *const bad[] = {
        "0.0.0.0:8080",
        "192.168.1.2:8080",
        "127.0.0.2:8080",
        "[::]:8080",
        "[::ffff:127.0.0.1]:8080",
        "example.com:8080",
        "localhost.:8080",
        "127.0.0.1:0",
        "127.0.0.1:65536",
        "127.0.0.1:",
        "127.0.0.1:+80",
        "127.0.0.1: 80",
        "127.0.0.1",
        "8080",
        "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct bridge_config c;
        char err[256] = "";
        bridge_config_defaults(&c);
        assert_false(bridge_config_set(&c, "websocket", bad[i], err, sizeof err));
        assert_string_equal(err, "websocket: 127.0.0.1:PORT, [::1]:PORT or localhost:PORT "
                                 "(loopback only)");
        assert_int_equal(c.ws_port, 0);
    }
}

static void every_key(void **state)
{
    static const char text[] = "# /etc/hawiya/bridge.conf\r\n"
                               "socket = /run/hawiya/b.sock\r\n"
                               "\n"
                               "origin = https://record.example   # the platform\n"
                               "origin=https://staging.record.example\n"
                               "reader = sim:desk:/run/hawiya/desk.sock\n"
                               "reader = sim:counter-2:/tmp/c.sock\n"
                               "reader = usb:kiosk:1209:0001:SIM0001\n"
                               "reader = usb:any:1209:0001\n"
                               "allow_uid = 0\n"
                               "allow_gid = 4294967294\n"
                               "timeout_ms = 600000\n"
                               "queue_max = 1000\n"
                               "log = syslog\n"
                               "websocket = localhost:47123\n"
                               "websocket_max_per_origin = 2\n"
                               "websocket_idle_ms = 1000\n"
                               "log_level = debug"; /* no final LF */
    struct bridge_config c;
    char err[256] = "";
    bridge_config_defaults(&c);
    assert_true(bridge_config_parse(&c, text, strlen(text), "b.conf", err, sizeof err));
    assert_string_equal(err, "");
    assert_string_equal(c.socket, "/run/hawiya/b.sock");
    assert_int_equal(c.n_origin, 2);
    assert_string_equal(c.origin[0], "https://record.example");
    assert_string_equal(c.origin[1], "https://staging.record.example");
    assert_int_equal(c.n_reader, 4);
    assert_string_equal(c.reader[2].backend, "usb");
    assert_string_equal(c.reader[2].name, "kiosk");
    assert_string_equal(c.reader[2].path, "1209:0001:SIM0001");
    assert_string_equal(c.reader[3].path, "1209:0001");
    assert_string_equal(c.reader[0].backend, "sim");
    assert_string_equal(c.reader[0].name, "desk");
    assert_string_equal(c.reader[0].path, "/run/hawiya/desk.sock");
    assert_string_equal(c.reader[1].name, "counter-2");
    assert_int_equal(c.n_allow_uid, 1);
    assert_int_equal(c.allow_uid[0], 0);
    assert_int_equal(c.n_allow_gid, 1);
    assert_int_equal(c.allow_gid[0], 4294967294u);
    assert_int_equal(c.timeout_ms, 600000);
    assert_int_equal(c.queue_max, 1000);
    assert_true(c.log_syslog);
    assert_int_equal(c.log_level, BRIDGE_LOG_DEBUG);
    assert_int_equal(c.ws_port, 47123);
    assert_true(c.ws_ipv4 && c.ws_ipv6);
    assert_int_equal(c.ws_max_per_origin, 2);
    assert_int_equal(c.ws_idle_ms, 1000);
}

/* PC/SC readers: by a prefix of their PC/SC name (which may hold spaces and
 * colons), and `pcsc` taking every reader pcscd lists. */
static void pcsc_readers(void **state)
{
    (void)state;
    static const char text[] = "reader = pcsc:desk:ACS ACR39U ICC Reader 00 00\n"
                               "reader = pcsc:door:Identiv uTrust 4701 F: Dual\n";
    struct bridge_config c;
    char err[256] = "";
    bridge_config_defaults(&c);
    assert_int_equal(c.pcsc, BRIDGE_PCSC_OFF);
    assert_true(bridge_config_parse(&c, text, strlen(text), "p.conf", err, sizeof err));
    assert_int_equal(c.n_reader, 2);
    assert_string_equal(c.reader[0].backend, "pcsc");
    assert_string_equal(c.reader[0].name, "desk");
    assert_string_equal(c.reader[0].path, "ACS ACR39U ICC Reader 00 00");
    assert_string_equal(c.reader[1].path, "Identiv uTrust 4701 F: Dual");
    assert_int_equal(c.pcsc, BRIDGE_PCSC_NAMED); /* implied by a pcsc reader line */
    assert_true(bridge_config_set(&c, "pcsc", "all", err, sizeof err));
    assert_int_equal(c.pcsc, BRIDGE_PCSC_ALL);
    assert_true(bridge_config_set(&c, "pcsc", "named", err, sizeof err));
    assert_int_equal(c.pcsc, BRIDGE_PCSC_NAMED);

    /* A prefix up to the PC/SC name's limit (127 characters); a sim path only up to sun_path. */
    char spec[300];
    bridge_config_defaults(&c);
    memset(spec, 0, sizeof spec);
    memcpy(spec, "pcsc:long:", 10);
    memset(spec + 10, 'R', BRIDGE_READER_KEY_MAX - 1);
    assert_true(bridge_config_add_reader(&c, spec, err, sizeof err));
    spec[10 + BRIDGE_READER_KEY_MAX - 1] = 'R';
    assert_false(bridge_config_add_reader(&c, spec, err, sizeof err));
    memset(spec, 0, sizeof spec);
    memcpy(spec, "sim:s:/", 7);
    memset(spec + 7, 'p', BRIDGE_PATH_MAX - 1);
    assert_false(bridge_config_add_reader(&c, spec, err, sizeof err));
    assert_string_equal(err, "reader: bad name or path length");
}

static void errors_name_file_line_and_reason(void **state)
{
    static const struct {
        const char *text, *err;
    } v[] = {
        {"origin = o\nnonsense\n", "t.conf:2: expected key = value"},
        {"colour = blue\n", "t.conf:1: unknown key"},
        {"\n# x\ntimeout_ms = 0\n", "t.conf:3: timeout_ms: 1 to 600000"},
        {"timeout_ms = 600001\n", "t.conf:1: timeout_ms: 1 to 600000"},
        {"queue_max = 12x\n", "t.conf:1: queue_max: 1 to 1000"},
        {"allow_uid = -1\n", "t.conf:1: allow_uid: a number (at most 32 entries)"},
        {"allow_gid = 4294967295\n", "t.conf:1: allow_gid: a number (at most 32 entries)"},
        {"reader = desk\n", "t.conf:1: reader: expected BACKEND:NAME:PATH"},
        {"reader = pci:desk:/x\n", "t.conf:1: reader: unknown backend (sim, usb, pcsc)"},
        {"reader = simx:desk:/x\n", "t.conf:1: reader: unknown backend (sim, usb, pcsc)"},
        {"pcsc = some\n", "t.conf:1: pcsc: all, named or off (off with no pcsc reader line)"},
        {"reader = pcsc:d:ACS\npcsc = off\n",
         "t.conf:2: pcsc: all, named or off (off with no pcsc reader line)"},
        {"reader = pcsc:d:\n", "t.conf:1: reader: bad name or path length"},
        {"reader = usb:desk:1209\n",
         "t.conf:1: reader: usb:NAME:VID:PID[:SERIAL], VID and PID in 4 hex digits"},
        {"reader = usb:desk:1209:1\n",
         "t.conf:1: reader: usb:NAME:VID:PID[:SERIAL], VID and PID in 4 hex digits"},
        {"reader = usb:desk:1209:00g1\n",
         "t.conf:1: reader: usb:NAME:VID:PID[:SERIAL], VID and PID in 4 hex digits"},
        {"reader = usb:desk:1209:0001x\n",
         "t.conf:1: reader: usb:NAME:VID:PID[:SERIAL], VID and PID in 4 hex digits"},
        {"reader = usb:desk:1209:0001:A B\n",
         "t.conf:1: reader: a USB serial number is printable ASCII"},
        {"reader = sim:d/e:/x\n", "t.conf:1: reader: a name is letters, digits, '-', '_', '.'"},
        {"reader = sim:d:/x\nreader = sim:d:/y\n", "t.conf:2: reader: duplicate name"},
        {"log = journald\n", "t.conf:1: log: stderr or syslog"},
        {"log_level = verbose\n", "t.conf:1: log_level: error, warn, info or debug"},
        {"origin =\n", "t.conf:1: origin: empty, too long or too many"},
        {"socket =  \n", "t.conf:1: socket: empty or too long"},
        {"websocket = 0.0.0.0:80\n",
         "t.conf:1: websocket: 127.0.0.1:PORT, [::1]:PORT or localhost:PORT (loopback only)"},
        {"websocket_max_per_origin = 0\n", "t.conf:1: websocket_max_per_origin: 1 to 1000"},
        {"websocket_idle_ms = 999\n", "t.conf:1: websocket_idle_ms: 1000 to 86400000"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        struct bridge_config c;
        char err[256] = "";
        bridge_config_defaults(&c);
        assert_false(
            bridge_config_parse(&c, v[i].text, strlen(v[i].text), "t.conf", err, sizeof err));
        assert_string_equal(err, v[i].err);
    }
}

static void limits(void **state)
{
    struct bridge_config c;
    char err[256], text[40 * 32];
    size_t n = 0;
    /* 33 origins: the 33rd line is refused. */
    bridge_config_defaults(&c);
    for (int i = 0; i <= BRIDGE_MAX_ORIGINS; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, "origin = https://o%d.example\n", i);
    assert_false(bridge_config_parse(&c, text, n, "t.conf", err, sizeof err));
    assert_string_equal(err, "t.conf:33: origin: empty, too long or too many");
    assert_int_equal(c.n_origin, BRIDGE_MAX_ORIGINS);

    /* A line of 1024 bytes, and a NUL byte inside a line. */
    static char long_line[BRIDGE_CONFIG_LINE_MAX + 2];
    memset(long_line, 'a', BRIDGE_CONFIG_LINE_MAX + 1);
    bridge_config_defaults(&c);
    assert_false(
        bridge_config_parse(&c, long_line, BRIDGE_CONFIG_LINE_MAX + 1, "t.conf", err, sizeof err));
    assert_string_equal(err, "t.conf:1: line too long");
    static const char nul[] = "log = syslog\nlog\0 = stderr\n";
    bridge_config_defaults(&c);
    assert_false(bridge_config_parse(&c, nul, sizeof nul - 1, "t.conf", err, sizeof err));
    assert_string_equal(err, "t.conf:2: NUL byte");
    assert_true(c.log_syslog); /* line 1 applied, nothing after */
}

static void load_file(void **state)
{
    char dir[] = "/tmp/hawiya-conf-XXXXXX", path[64], err[256];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/bridge.conf", dir);
    struct bridge_config c;
    bridge_config_defaults(&c);
    /* Missing: fine unless required. */
    assert_true(bridge_config_load(&c, path, false, err, sizeof err));
    assert_false(bridge_config_load(&c, path, true, err, sizeof err));
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("queue_max = 3\n", f);
    fclose(f);
    assert_true(bridge_config_load(&c, path, true, err, sizeof err));
    assert_int_equal(c.queue_max, 3);
    /* Over 64 KiB of comments: refused as a whole. */
    f = fopen(path, "w");
    assert_non_null(f);
    for (int i = 0; i < 1100; i++)
        fputs("# ............................................................\n", f);
    fclose(f);
    assert_false(bridge_config_load(&c, path, true, err, sizeof err));
    char want[128];
    snprintf(want, sizeof want, "%s: larger than 64 KiB", path);
    assert_string_equal(err, want);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(default_socket),
        cmocka_unit_test(every_key),
        cmocka_unit_test(websocket_loopback_only),
        cmocka_unit_test(pcsc_readers),
        cmocka_unit_test(errors_name_file_line_and_reason),
        cmocka_unit_test(limits),
        cmocka_unit_test(load_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

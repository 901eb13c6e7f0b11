/*
 * test_config.c - config.yaml: OnionBalance's own shapes, our additions, every
 * error with its line and column, limits, and truncated or mangled input.
 *
 * The v3 addresses come from tests/data/config/make_addresses.py.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "secmem.h"

#define A1  "rkeohxlubhyzl7ks3mwtzos5olfgocn7dwkbeg7toseadnapn5optfad"
#define A2  "qe4xodvipulv6vvdkrtmgtd6ztfy3curwtxdpis56yhvxd6jwokbr4qd"
#define A3  "5vesrrri2hbmn2xjam4jawmvmeuvsjz2lrr7snrwyfdbjlehg7iuvmyd"
#define A4  "zkj2yfyfdbyhdvt3qpd76dx6qeeor3cfgblv25zgq6jthw62xz6p7dyd"
#define A5  "nz5bzxjjwc3y7uj26tcvtd7p6txsvfywny6kn4xe7p6m3acqlpyvihad"
#define BAD "rkeohxlubhyzl7ks3mwtzos5olfgocn7dwkbeg7toseadnapn5opafad"
#define V2A "facebookcorewwwi"
#define V2B "3g2upl4pq6kufc4m"

static char cwd[4096];

static const char *data_dir(void)
{
    static char dir[4200];
    const char *root = getenv("OB_ROOT");

    snprintf(dir, sizeof(dir), "%s/tests/data/config", root != NULL ? root : ".");
    return dir;
}

static ob_config *parse_ok(const char *text)
{
    ob_config *c = NULL;
    ob_diag d;
    ob_err e;

    ob_diag_clear(&d);
    e = ob_config_parse("t/cfg.yaml", text, strlen(text), &c, &d);
    if (e != OB_OK)
        fail_msg("unexpected error: %s", d.msg);
    assert_non_null(c);
    return c;
}

/* Parse text, expect error want, and every needle in the message. */
static void parse_err(const char *text, ob_err want, ...)
{
    ob_config *c = (ob_config *)1;
    const char *needle;
    ob_diag d;
    ob_err e;
    va_list ap;

    ob_diag_clear(&d);
    e = ob_config_parse("t/cfg.yaml", text, strlen(text), &c, &d);
    print_message("    -> %s\n", d.msg);
    assert_int_equal(e, want);
    assert_null(c);
    va_start(ap, want);
    while ((needle = va_arg(ap, const char *)) != NULL) {
        if (strstr(d.msg, needle) == NULL)
            fail_msg("message '%s' lacks '%s'", d.msg, needle);
    }
    va_end(ap);
}

static void test_onionbalance_v3_file(void **state)
{
    char path[4300], want[9000];
    ob_config *c = NULL;
    ob_diag d;

    (void)state;
    snprintf(path, sizeof(path), "%s/ob02_offline.yaml", data_dir());
    assert_int_equal(ob_config_load(path, &c, &d), OB_OK);
    assert_int_equal(c->n_services, 1);
    assert_int_equal(c->n_warnings, 0);
    /* The key is resolved against the config's directory, as OnionBalance does. */
    if (path[0] == '/')
        snprintf(want, sizeof(want), "%s/%s.key", data_dir(), A1);
    else
        snprintf(want, sizeof(want), "%s/%s/%s.key", cwd, data_dir(), A1);
    assert_string_equal(c->services[0].key_path, want);
    assert_null(c->services[0].address);
    assert_int_equal(c->services[0].version, 0);
    assert_int_equal(c->services[0].n_instances, 2);
    assert_string_equal(c->services[0].instances[0].address, A2);
    assert_string_equal(c->services[0].instances[0].name, "node1");
    assert_int_equal(c->services[0].instances[0].version, 3);
    assert_int_equal(c->services[0].instances[0].line, 5);
    assert_string_equal(c->services[0].instances[1].address, A3);
    assert_int_equal(c->services[0].instances[1].line, 7);
    assert_int_equal(c->services[0].line, 4);
    /* OnionBalance's defaults. */
    assert_int_equal(c->refresh_interval, 600);
    assert_int_equal(c->publish_check_interval, 300);
    assert_int_equal(c->initial_delay, 45);
    assert_int_equal(c->tor_port, 9051);
    assert_string_equal(c->tor_address, "127.0.0.1");
    assert_string_equal(c->log_level, "info");
    assert_null(c->log_location);
    assert_null(c->tor_control_password);
    assert_true(c->distinct_descriptors);
    /* Ours. */
    assert_int_equal(c->services[0].descriptor_lifetime, 180);
    assert_int_equal(c->services[0].presign_window, 1440);
    assert_int_equal(c->time_period_length, 1440);
    assert_int_equal(c->max_clock_skew, 900);
    assert_int_equal(c->delegate_renew_days, 7);
    assert_non_null(strstr(c->ceremony_log, "/ceremony.log"));
    assert_null(c->inbox);
    /* Until the key is loaded the service cannot be found by address. */
    assert_null(ob_config_find_service(c, A1));
    ob_config_free(c);
}

static void test_onionbalance_v2_file(void **state)
{
    char path[4300];
    ob_config *c = NULL;
    const ob_cfg_service *s;
    ob_diag d;

    (void)state;
    snprintf(path, sizeof(path), "%s/ob01_v2.yaml", data_dir());
    assert_int_equal(ob_config_load(path, &c, &d), OB_OK);
    assert_int_equal(c->refresh_interval, 300);
    assert_int_equal(c->publish_check_interval, 120);
    assert_int_equal(c->initial_delay, 30);
    assert_int_equal(c->descriptor_upload_period, 1800);
    assert_false(c->distinct_descriptors);
    assert_string_equal(c->status_socket_location, "/run/onionbalance/status");
    assert_int_equal(c->tor_port, 9151);
    assert_string_equal(c->tor_control_password, "hunter2");
    assert_string_equal(c->log_level, "debug");
    assert_string_equal(c->log_location, "/var/log/onionbalance.log");
    assert_int_equal(c->n_services, 1);
    s = &c->services[0];
    assert_non_null(strstr(s->key_path, "/tests/data/config/keys/master-v2.key"));
    assert_int_equal(s->n_instances, 3);
    assert_int_equal(s->instances[0].version, 2);
    assert_string_equal(s->instances[0].address, V2A);
    assert_null(s->instances[0].auth_cookie);
    /* OnionBalance 0.1 called the cookie "auth". */
    assert_string_equal(s->instances[1].auth_cookie, "dCmx3CBYAgqJq1/WJPZbEA");
    assert_null(s->instances[2].name);
    assert_int_equal(c->n_warnings, 0);
    ob_config_free(c);
}

static void test_online_file(void **state)
{
    char path[4300];
    ob_config *c = NULL;
    const ob_cfg_service *s;
    ob_diag d;

    (void)state;
    snprintf(path, sizeof(path), "%s/online.yaml", data_dir());
    assert_int_equal(ob_config_load(path, &c, &d), OB_OK);
    assert_int_equal(c->n_services, 2);
    s = &c->services[0];
    assert_null(s->key_path);
    assert_string_equal(s->address, A1);
    assert_int_equal(s->version, 3);
    assert_non_null(strstr(c->inbox, "/tests/data/config/media/inbox"));
    assert_non_null(strstr(c->outbox, "/tests/data/config/media/outbox"));
    assert_ptr_equal(ob_config_find_service(c, A1), s);
    assert_ptr_equal(ob_config_find_service(c, A1 ".onion"), s);
    assert_ptr_equal(ob_config_find_service(c, "RKEOHXLUBHYZL7KS3MWTZOS5OLFGOCN7DWKBEG7TOSEADNAPN5"
                                               "OPTFAD.ONION"),
                     s);
    assert_ptr_equal(ob_config_find_service(c, A4), &c->services[1]);
    assert_null(ob_config_find_service(c, A2));
    assert_null(ob_config_find_service(c, "nonsense"));
    assert_null(ob_config_find_service(c, NULL));
    assert_ptr_equal(ob_cfg_service_find_instance(s, A3 ".onion"), &s->instances[1]);
    assert_null(ob_cfg_service_find_instance(s, A4));
    ob_config_free(c);
}

/* OnionBalance 0.2's v3 key, and no status socket unless one is named. */
static void test_status_socket_location(void **state)
{
    static const char svc[] =
        "services:\n  - address: " A1 "\n    instances: [{address: " A2 "}]\n";
    char text[512];
    ob_config *c;

    (void)state;
    c = parse_ok(svc);
    assert_null(c->status_socket_location);
    ob_config_free(c);
    snprintf(text, sizeof(text), "status-socket-location: /run/ob/control\n%s", svc);
    c = parse_ok(text);
    assert_string_equal(c->status_socket_location, "/run/ob/control");
    assert_int_equal(c->n_warnings, 0);
    ob_config_free(c);
    snprintf(text, sizeof(text), "STATUS_SOCKET_LOCATION: /a\nstatus-socket-location: /b\n%s", svc);
    parse_err(text, OB_ERR_MALFORMED, "t/cfg.yaml:2:1:", "give one", NULL);
    /* The environment is a default, as for OnionBalance's other settings. */
    setenv("ONIONBALANCE_STATUS_SOCKET_LOCATION", "/run/env/control", 1);
    c = parse_ok(svc);
    assert_string_equal(c->status_socket_location, "/run/env/control");
    ob_config_free(c);
    c = parse_ok(text + strlen("STATUS_SOCKET_LOCATION: /a\n"));
    assert_string_equal(c->status_socket_location, "/b");
    ob_config_free(c);
    unsetenv("ONIONBALANCE_STATUS_SOCKET_LOCATION");
}

/* presign_window is v2 only: set on a v3 service it is named and ignored. */
static void test_presign_window_v3_warned(void **state)
{
    ob_config *c;

    (void)state;
    c = parse_ok("presign_window: 2880\n"
                 "services:\n"
                 "  - address: " A1 "\n"
                 "    presign_window: 600\n"
                 "    instances: [{address: " A2 "}]\n");
    assert_int_equal(c->n_warnings, 1);
    assert_non_null(
        strstr(c->warnings[0], "t/cfg.yaml:4: presign_window applies to v2 services only"));
    ob_config_free(c);
    /* The global value is a default for v2 services: no warning. */
    c = parse_ok("presign_window: 2880\n"
                 "services:\n"
                 "  - address: " A1 "\n"
                 "    instances: [{address: " A2 "}]\n");
    assert_int_equal(c->n_warnings, 0);
    ob_config_free(c);
}

static void test_offline_full_file(void **state)
{
    char path[4300];
    ob_config *c = NULL;
    ob_diag d;

    (void)state;
    snprintf(path, sizeof(path), "%s/offline_full.yaml", data_dir());
    assert_int_equal(ob_config_load(path, &c, &d), OB_OK);
    assert_int_equal(c->n_warnings, 0);
    assert_int_equal(c->descriptor_lifetime, 240);
    assert_int_equal(c->presign_window, 2880);
    assert_string_equal(c->ceremony_log, "/media/ceremony/ceremony.log");
    assert_int_equal(c->max_clock_skew, 600);
    assert_int_equal(c->services[0].version, 3);
    assert_int_equal(c->services[0].descriptor_lifetime, 180);
    assert_int_equal(c->services[0].presign_window, 2880); /* inherited */
    assert_non_null(strstr(c->services[0].instances[1].client_auth_key_path,
                           "/tests/data/config/auth/node2.auth_private"));
    assert_null(c->services[0].instances[0].client_auth_key_path);
    assert_int_equal(c->services[1].version, 2);
    assert_int_equal(c->services[1].presign_window, 1440);
    assert_string_equal(c->services[1].instances[0].auth_cookie, "dCmx3CBYAgqJq1/WJPZbEA");
    ob_config_free(c);
}

static void test_paths(void **state)
{
    const char *text = "ceremony_log: logs/c.log\ninbox: /abs/in\n"
                       "services: [{key: k.key, instances: [{address: " A2 "}]}]\n";
    char want[9000];
    ob_config *c = NULL;
    ob_diag d;

    (void)state;
    assert_int_equal(ob_config_parse("/cfg.yaml", text, strlen(text), &c, &d), OB_OK);
    assert_string_equal(c->dir, "/");
    assert_string_equal(c->services[0].key_path, "/k.key");
    assert_string_equal(c->ceremony_log, "/logs/c.log");
    assert_string_equal(c->inbox, "/abs/in");
    ob_config_free(c);
    assert_int_equal(ob_config_parse("/etc/ob/cfg.yaml", text, strlen(text), &c, &d), OB_OK);
    assert_string_equal(c->services[0].key_path, "/etc/ob/k.key");
    ob_config_free(c);
    assert_int_equal(ob_config_parse("cfg.yaml", text, strlen(text), &c, &d), OB_OK);
    snprintf(want, sizeof(want), "%s/k.key", cwd);
    assert_string_equal(c->services[0].key_path, want);
    assert_string_equal(c->dir, cwd);
    ob_config_free(c);
    assert_int_equal(ob_config_parse("sub/dir/cfg.yaml", text, strlen(text), &c, &d), OB_OK);
    snprintf(want, sizeof(want), "%s/sub/dir/k.key", cwd);
    assert_string_equal(c->services[0].key_path, want);
    ob_config_free(c);
}

static void test_inheritance_and_order(void **state)
{
    /* Globals after services still reach them; a service's own value wins. */
    ob_config *c = parse_ok("services:\n"
                            "  - address: " A1 "\n"
                            "    instances: [{address: " A2 "}]\n"
                            "  - address: " A4 "\n"
                            "    descriptor_lifetime: 60\n"
                            "    instances: [{address: " A5 "}]\n"
                            "descriptor_lifetime: 720\n");

    (void)state;
    assert_int_equal(c->services[0].descriptor_lifetime, 720);
    assert_int_equal(c->services[1].descriptor_lifetime, 60);
    assert_int_equal(c->services[0].instances[0].line, 3);
    assert_int_equal(c->services[0].instances[0].column, 17);
    ob_config_free(c);
}

/* A key without a value: defaults for globals (with a warning), "not set" for options. */
static void test_null_values(void **state)
{
    ob_config *c = parse_ok("TOR_PORT:\n"
                            "LOG_LOCATION: ~\n"
                            "TOR_CONTROL_PASSWORD: null\n"
                            "services:\n"
                            "  - address: " A1 "\n"
                            "    version:\n"
                            "    descriptor_lifetime:\n"
                            "    instances:\n"
                            "      - address: " A2 "\n"
                            "        name:\n"
                            "        client_auth_key:\n");

    (void)state;
    assert_int_equal(c->tor_port, 9051);
    assert_null(c->log_location);
    assert_null(c->tor_control_password);
    assert_int_equal(c->n_warnings, 3);
    assert_non_null(strstr(c->warnings[0], "t/cfg.yaml:1:10: TOR_PORT has no value"));
    assert_int_equal(c->services[0].version, 3);
    assert_int_equal(c->services[0].descriptor_lifetime, 180);
    assert_null(c->services[0].instances[0].name);
    assert_null(c->services[0].instances[0].client_auth_key_path);
    /* A key without a value was not given: config-gen --from-onionbalance skips it. */
    assert_int_equal(ob_config_given(c, "TOR_PORT"), 0);
    assert_int_equal(ob_config_given(c, "LOG_LOCATION"), 0);
    ob_config_free(c);
    parse_err("services:\n  - address:\n    instances: [{address: " A2 "}]\n", OB_ERR_MALFORMED,
              "t/cfg.yaml:2:13:", "empty", NULL);
    parse_err("services:\n  - address: " A1 "\n    instances:\n", OB_ERR_MALFORMED,
              "t/cfg.yaml:3:15:", "expected a list", NULL);
}

/* ob_config_given: what the file set, not what it defaulted to, even when the values agree. */
static void test_given(void **state)
{
    ob_config *c = parse_ok("REFRESH_INTERVAL: 600\n"
                            "TOR_CONTROL_PASSWORD: pw\n"
                            "inbox: in\n"
                            "services:\n"
                            "  - address: " A1 "\n"
                            "    instances: [{address: " A2 "}]\n");

    (void)state;
    assert_int_equal(ob_config_given(c, "REFRESH_INTERVAL"), 1);
    assert_int_equal(ob_config_given(c, "TOR_CONTROL_PASSWORD"), 1);
    assert_int_equal(ob_config_given(c, "inbox"), 1);
    assert_int_equal(ob_config_given(c, "PUBLISH_CHECK_INTERVAL"), 0);
    assert_int_equal(ob_config_given(c, "TOR_PORT"), 0);
    assert_int_equal(ob_config_given(c, "outbox"), 0);
    assert_int_equal(ob_config_given(c, "services"), 0);
    assert_int_equal(ob_config_given(c, "no such key"), 0);
    ob_config_free(c);
}

static void test_unknown_keys_warn(void **state)
{
    ob_config *c = parse_ok("REFRESH_INTERVAL: 60\n"
                            "refresh_interval: 60\n"
                            "colour: blue\n"
                            "services:\n"
                            "  - address: " A1 "\n"
                            "    wieght: 3\n"
                            "    instances:\n"
                            "      - address: " A2 "\n"
                            "        Name: x\n");

    (void)state;
    assert_int_equal(c->n_warnings, 4);
    print_message("    %s\n    %s\n    %s\n    %s\n", c->warnings[0], c->warnings[1],
                  c->warnings[2], c->warnings[3]);
    assert_non_null(strstr(c->warnings[0], "t/cfg.yaml:2:1: unknown key 'refresh_interval'"));
    assert_non_null(strstr(c->warnings[0], "did you mean 'REFRESH_INTERVAL'"));
    assert_non_null(strstr(c->warnings[1], "t/cfg.yaml:3:1: unknown key 'colour'"));
    assert_non_null(strstr(c->warnings[2], "t/cfg.yaml:6:5: unknown key 'wieght' in service"));
    assert_non_null(strstr(c->warnings[3], "t/cfg.yaml:9:9: unknown key 'Name' in instance"));
    assert_non_null(strstr(c->warnings[3], "did you mean 'name'"));
    assert_int_equal(c->refresh_interval, 60);
    ob_config_free(c);
}

/* A v2 address from a counter (v2 addresses carry no checksum). */
static void v2_address(char a[17], unsigned v)
{
    int k;

    for (k = 15; k >= 0; k--, v >>= 5)
        a[k] = "abcdefghijklmnopqrstuvwxyz234567"[v & 31];
    a[16] = '\0';
}

static void test_warnings_capped(void **state)
{
    char *text = malloc(150 * 64 + 256), a[17];
    size_t off = 0;
    ob_config *c = NULL;
    ob_diag d;
    unsigned i;

    (void)state;
    off += (size_t)sprintf(text + off, "services:\n  - address: " V2A "\n    instances:\n");
    for (i = 0; i < 150; i++) {
        v2_address(a, i);
        off += (size_t)sprintf(text + off, "      - {address: %s, odd: 1}\n", a);
    }
    assert_int_equal(ob_config_parse("t/cfg.yaml", text, off, &c, &d), OB_OK);
    assert_int_equal(c->services[0].n_instances, 150);
    assert_int_equal(c->n_warnings, OB_CFG_MAX_WARNINGS + 1);
    assert_non_null(strstr(c->warnings[0], "t/cfg.yaml:4:37: unknown key 'odd'"));
    assert_string_equal(c->warnings[OB_CFG_MAX_WARNINGS], "further warnings suppressed");
    ob_config_free(c);
    free(text);
}

static void test_errors_types(void **state)
{
    (void)state;
    parse_err("TOR_PORT: abc\nservices: []\n", OB_ERR_MALFORMED, "t/cfg.yaml:1:11:", "TOR_PORT",
              "whole number", NULL);
    parse_err("TOR_PORT: '9051'\n", OB_ERR_MALFORMED, "t/cfg.yaml:1:11:", "quoted", NULL);
    parse_err("TOR_PORT: 09051\n", OB_ERR_MALFORMED, "t/cfg.yaml:1:11:", NULL);
    parse_err("TOR_PORT: 70000\n", OB_ERR_RANGE, "t/cfg.yaml:1:11:", "1..65535", NULL);
    parse_err("delegate_renew_days: 367\n", OB_ERR_RANGE, "t/cfg.yaml:1:22:", "0..366", NULL);
    {
        ob_config *c = parse_ok("delegate_renew_days: 14\nservices:\n  - address: " A1
                                "\n    instances: [{address: " A2 "}]\n");
        assert_int_equal(c->delegate_renew_days, 14);
        ob_config_free(c);
    }
    parse_err("TOR_PORT: -1\n", OB_ERR_MALFORMED, "1:11:", NULL);
    parse_err("TOR_PORT: 99999999999999999999\n", OB_ERR_MALFORMED, "1:11:", NULL);
    parse_err("TOR_PORT: [1]\n", OB_ERR_MALFORMED, "1:11:", "got a list", NULL);
    parse_err("DISTINCT_DESCRIPTORS: maybe\n", OB_ERR_MALFORMED, "1:23:", "true or false", NULL);
    parse_err("LOG_LEVEL: loud\n", OB_ERR_MALFORMED, "1:12:", "debug, info", NULL);
    parse_err("TOR_ADDRESS: localhost\n", OB_ERR_MALFORMED, "1:14:", "IPv4 or IPv6", NULL);
    parse_err("TOR_CONTROL_SOCKET: {a: b}\n", OB_ERR_MALFORMED, "1:21:", "got a mapping", NULL);
    parse_err("ceremony_log: \"a\\0b\"\n", OB_ERR_MALFORMED, "1:15:", "control character", NULL);
    parse_err("ceremony_log: ''\n", OB_ERR_MALFORMED, NULL);
    parse_err("\nservices:\n  - address: " A1 "\n    descriptor_lifetime: 10\n"
              "    instances: [{address: " A2 "}]\n",
              OB_ERR_RANGE, "t/cfg.yaml:4:26:", "30..720", NULL);
    parse_err("time_period_length: 1\n", OB_ERR_RANGE, "1:21:", "2..14400", NULL);
    parse_err("services:\n  - address: " A1 "\n    instances: " A2 "\n", OB_ERR_MALFORMED,
              "t/cfg.yaml:3:16:", "instances: expected a list, got a scalar", NULL);
    parse_err("services:\n  address: " A1 "\n", OB_ERR_MALFORMED,
              "t/cfg.yaml:2:3:", "services: expected a list, got a mapping", NULL);
    parse_err("- a\n- b\n", OB_ERR_MALFORMED, "t/cfg.yaml:1:1:", "expected a mapping", NULL);
    parse_err("services:\n  - address: " A1 "\n    version: 4\n    instances: [{address: " A2
              "}]\n",
              OB_ERR_RANGE, "t/cfg.yaml:3:14:", NULL);
}

static void test_errors_addresses(void **state)
{
    (void)state;
    /* A wrong checksum, as the instance and as the master. */
    parse_err("services:\n"
              "  - address: " A1 "\n"
              "    instances:\n"
              "      - address: " BAD ".onion\n",
              OB_ERR_VERIFY, "t/cfg.yaml:4:18:", "not a valid onion address", NULL);
    parse_err("services:\n"
              "  - address: " BAD "\n"
              "    instances:\n"
              "      - address: " A2 "\n",
              OB_ERR_VERIFY, "t/cfg.yaml:2:14:", NULL);
    parse_err("services:\n  - address: " A1 "\n    instances:\n      - address: notanaddress\n",
              OB_ERR_MALFORMED, "t/cfg.yaml:4:18:", NULL);
    parse_err("services:\n  - address: " A1 "\n    instances:\n      - name: x\n", OB_ERR_MALFORMED,
              "t/cfg.yaml:4:9:", "no 'address'", NULL);
    /* A v2 backend behind a v3 master, and mixed versions behind a key. */
    parse_err("services:\n  - address: " A1 "\n    instances:\n      - address: " V2A "\n",
              OB_ERR_MALFORMED, "t/cfg.yaml:4:9:", "v2 address but the service at line 2 is v3",
              NULL);
    parse_err("services:\n  - key: k\n    instances:\n      - address: " A2
              "\n      - address: " V2A "\n",
              OB_ERR_MALFORMED, "t/cfg.yaml:5:9:", "instance at line 4 is v3", NULL);
    parse_err("services:\n  - address: " A1 "\n    version: 2\n    instances: [{address: " V2A
              "}]\n",
              OB_ERR_MALFORMED, "t/cfg.yaml:3:14:", "address at line 2 is v3", NULL);
    parse_err("services:\n  - address: " A1 "\n    instances: [{address: " A1 "}]\n",
              OB_ERR_MALFORMED, "t/cfg.yaml:3:17:", "own master address", NULL);
    /* Credentials of the wrong version, and a malformed cookie. */
    parse_err("services:\n  - address: " V2B "\n    instances:\n      - address: " V2A
              "\n        client_auth_key: a.key\n",
              OB_ERR_MALFORMED, "t/cfg.yaml:5:26:", "for v3 instances", NULL);
    parse_err("services:\n  - address: " A1 "\n    instances:\n      - address: " A2
              "\n        auth_cookie: dCmx3CBYAgqJq1/WJPZbEA\n",
              OB_ERR_MALFORMED, "t/cfg.yaml:5:22:", "for v2 instances", NULL);
    parse_err("services:\n  - address: " V2B "\n    instances:\n      - address: " V2A
              "\n        auth: short\n",
              OB_ERR_MALFORMED, "t/cfg.yaml:5:15:", "22-character", NULL);
    parse_err(
        "services:\n  - address: " V2B "\n    instances:\n      - address: " V2A
        "\n        auth: dCmx3CBYAgqJq1/WJPZbEA\n        auth_cookie: dCmx3CBYAgqJq1/WJPZbEA\n",
        OB_ERR_MALFORMED, "t/cfg.yaml:6:9:", "also at line 5", NULL);
    parse_err("services:\n  - address: " V2B "\n    descriptor_lifetime: 60\n"
              "    instances: [{address: " V2A "}]\n",
              OB_ERR_MALFORMED, "t/cfg.yaml:3:", "v3 services only", NULL);
}

static void test_errors_structure(void **state)
{
    (void)state;
    parse_err("REFRESH_INTERVAL: 60\n", OB_ERR_MALFORMED, "t/cfg.yaml:1:1:", "no 'services:'",
              NULL);
    parse_err("services: []\n", OB_ERR_MALFORMED, "t/cfg.yaml:1:11:", "empty", NULL);
    parse_err("services:\n  - address: " A1 "\n", OB_ERR_MALFORMED,
              "t/cfg.yaml:2:5:", "no 'instances'", NULL);
    parse_err("services:\n  - address: " A1 "\n    instances: []\n", OB_ERR_MALFORMED,
              "t/cfg.yaml:3:16:", "at least one", NULL);
    parse_err("services:\n  - instances: [{address: " A2 "}]\n", OB_ERR_MALFORMED,
              "t/cfg.yaml:2:5:", "needs 'key'", NULL);
    parse_err("services:\n  - nothing\n", OB_ERR_MALFORMED,
              "t/cfg.yaml:2:5:", "service entry: expected a mapping", NULL);
    parse_err("", OB_ERR_MALFORMED, "t/cfg.yaml: empty config", NULL);
    parse_err("# only a comment\n", OB_ERR_MALFORMED, "empty config", NULL);
    parse_err("services: [{address: " A1 ", instances: [{address: " A2 "}]}]\n---\nfoo: 1\n",
              OB_ERR_MALFORMED, "t/cfg.yaml:2:1:", "second YAML document", NULL);
}

/* Offline config with `address:` beside `key:`, two services sharing one key store. */
static void parse_ok_shared_store(void)
{
    static const char text[] = "services:\n"
                               "  - key: store.key\n"
                               "    address: " A1 "\n"
                               "    instances: [{address: " A2 "}]\n"
                               "  - key: store.key\n"
                               "    address: " A4 "\n"
                               "    instances: [{address: " A3 "}]\n";
    ob_config *c = NULL;
    ob_diag d = { { 0 } };

    assert_int_equal(ob_config_parse("t/cfg.yaml", text, sizeof(text) - 1, &c, &d), OB_OK);
    assert_int_equal(c->n_services, 2);
    assert_non_null(c->services[0].key_path);
    assert_string_equal(c->services[0].address, A1);
    assert_string_equal(c->services[0].key_path, c->services[1].key_path);
    /* Binding the key checks the address the config expects. */
    assert_int_equal(ob_config_bind_key(c, 0, A4, &d), OB_ERR_VERIFY);
    assert_non_null(strstr(d.msg, "the key is for"));
    assert_int_equal(ob_config_bind_key(c, 0, A1, &d), OB_OK);
    ob_config_free(c);
}

static void test_errors_duplicates(void **state)
{
    (void)state;
    parse_err("services:\n"
              "  - address: " A1 "\n"
              "    instances: [{address: " A2 "}]\n"
              "  - address: " A4 "\n"
              "    instances: [{address: " A5 "}]\n"
              "  - address: " A1 ".onion\n"
              "    instances: [{address: " A3 "}]\n",
              OB_ERR_MALFORMED, "t/cfg.yaml:6:5:", "listed twice (lines 2 and 6)", NULL);
    parse_err("services:\n"
              "  - key: k.key\n"
              "    instances: [{address: " A2 "}]\n"
              "  - key: ./../t/k.key\n"
              "    instances: [{address: " A3 "}]\n"
              "  - key: k.key\n"
              "    instances: [{address: " A3 "}]\n",
              OB_ERR_MALFORMED, "t/cfg.yaml:6:5:", "service key", "(lines 2 and 6)", NULL);
    /* A shared key store is fine when each service names its address... */
    parse_ok_shared_store();
    /* ...but not when one of them does not. */
    parse_err("services:\n"
              "  - key: store.key\n"
              "    address: " A1 "\n"
              "    instances: [{address: " A2 "}]\n"
              "  - key: store.key\n"
              "    instances: [{address: " A3 "}]\n",
              OB_ERR_MALFORMED, "t/cfg.yaml:5:5:", "service key", "(lines 2 and 5)", NULL);
    parse_err("services:\n"
              "  - address: " A1 "\n"
              "    instances:\n"
              "      - address: " A2 "\n"
              "      - address: " A3 "\n"
              "      - address: " A2 ".onion\n",
              OB_ERR_MALFORMED, "t/cfg.yaml:6:9:", "listed twice", "lines 4 and 6", NULL);
    parse_err("TOR_PORT: 1\nservices: []\nTOR_PORT: 2\n", OB_ERR_MALFORMED,
              "t/cfg.yaml:3:1:", "duplicate key 'TOR_PORT' (first at line 1)", NULL);
    parse_err("services:\n  - address: " A1 "\n    instances: [{address: " A2 ", address: " A3
              "}]\n",
              OB_ERR_MALFORMED, "t/cfg.yaml:3:", "duplicate key 'address'", NULL);
}

static void test_errors_yaml(void **state)
{
    (void)state;
    parse_err("services:\n  - address: [unclosed\n", OB_ERR_MALFORMED,
              "t/cfg.yaml:3:1:", "YAML syntax error", NULL);
    parse_err("services:\n  - address: a\n   bad: indentation\n", OB_ERR_MALFORMED,
              "t/cfg.yaml:3:", "YAML syntax error", NULL);
    parse_err("a: 'unterminated\n", OB_ERR_MALFORMED, "YAML syntax error", NULL);
    parse_err("a: \"\\xZZ\"\n", OB_ERR_MALFORMED, "t/cfg.yaml:1:", NULL);
    parse_err("a: \xff\xfe\xfd\n", OB_ERR_MALFORMED, "byte offset", NULL);
    /* Anchors and aliases, and the billion-laughs shape they allow. */
    parse_err("x: &a " A2 "\nservices:\n  - address: " A1 "\n    instances: [{address: *a}]\n",
              OB_ERR_UNSUPPORTED, "t/cfg.yaml:1:4:", "aliases", NULL);
    parse_err("a: &a [x, x, x]\nb: &b [*a, *a, *a]\nc: [*b, *b, *b]\n", OB_ERR_UNSUPPORTED,
              "aliases", NULL);
    parse_err("&a [*a]\n", OB_ERR_UNSUPPORTED, "aliases", NULL);
    parse_err("TOR_PORT: !!int 9051\n", OB_ERR_UNSUPPORTED, "t/cfg.yaml:1:11:", "tags", NULL);
    parse_err("? [a, b]\n: c\n", OB_ERR_MALFORMED, "t/cfg.yaml:1:3:", "plain names", NULL);
}

static void test_tags_default_ok(void **state)
{
    /* "!!str" is the tag a quoted value has anyway: harmless, accepted. */
    ob_config *c = parse_ok("LOG_LOCATION: !!str /tmp/x.log\n"
                            "services: [{address: " A1 ", instances: [{address: " A2 "}]}]\n");

    (void)state;
    assert_string_equal(c->log_location, "/tmp/x.log");
    ob_config_free(c);
}

static void test_env_defaults(void **state)
{
    ob_config *c;

    (void)state;
    setenv("ONIONBALANCE_TOR_CONTROL_SOCKET", "/env/control", 1);
    setenv("ONIONBALANCE_LOG_LEVEL", "WARNING", 1);
    c = parse_ok("services: [{address: " A1 ", instances: [{address: " A2 "}]}]\n");
    assert_string_equal(c->tor_control_socket, "/env/control");
    assert_string_equal(c->log_level, "warning");
    ob_config_free(c);
    c = parse_ok("TOR_CONTROL_SOCKET: /file/control\nLOG_LEVEL: Error\n"
                 "services: [{address: " A1 ", instances: [{address: " A2 "}]}]\n");
    assert_string_equal(c->tor_control_socket, "/file/control");
    assert_string_equal(c->log_level, "error");
    ob_config_free(c);
    setenv("ONIONBALANCE_LOG_LEVEL", "chatty", 1);
    parse_err("services: [{address: " A1 ", instances: [{address: " A2 "}]}]\n", OB_ERR_MALFORMED,
              "ONIONBALANCE_LOG_LEVEL", NULL);
    unsetenv("ONIONBALANCE_TOR_CONTROL_SOCKET");
    unsetenv("ONIONBALANCE_LOG_LEVEL");
}

static void test_bind_key(void **state)
{
    ob_config *c = parse_ok("services:\n"
                            "  - key: one.key\n"
                            "    instances: [{address: " A2 "}, {address: " A3 "}]\n"
                            "  - key: two.key\n"
                            "    instances: [{address: " A5 "}]\n"
                            "  - key: three.key\n"
                            "    presign_window: 10000\n"
                            "    instances: [{address: " V2A "}]\n");
    ob_diag d;

    (void)state;
    assert_null(ob_config_find_service(c, A1));
    assert_int_equal(ob_config_bind_key(c, 0, A1 ".onion", &d), OB_OK);
    assert_int_equal(c->services[0].version, 3);
    assert_string_equal(c->services[0].address, A1);
    assert_ptr_equal(ob_config_find_service(c, A1), &c->services[0]);
    /* Binding again with the same key is harmless; another key is not. */
    assert_int_equal(ob_config_bind_key(c, 0, A1, &d), OB_OK);
    assert_int_equal(ob_config_bind_key(c, 0, A4, &d), OB_ERR_VERIFY);
    /* Two key files of one master. */
    assert_int_equal(ob_config_bind_key(c, 1, A1, &d), OB_ERR_MALFORMED);
    print_message("    -> %s\n", d.msg);
    assert_non_null(strstr(d.msg, "t/cfg.yaml:4: "));
    assert_non_null(strstr(d.msg, "service at line 2"));
    assert_null(c->services[1].address);
    /* A key that is its own backend. */
    assert_int_equal(ob_config_bind_key(c, 1, A5, &d), OB_ERR_MALFORMED);
    assert_non_null(strstr(d.msg, "own master address"));
    assert_int_equal(c->services[1].version, 0);
    /* A v2 key under v3 instances. */
    assert_int_equal(ob_config_bind_key(c, 1, V2B, &d), OB_ERR_MALFORMED);
    assert_non_null(strstr(d.msg, "t/cfg.yaml:5:"));
    /* presign_window over the v2 maximum is found once the key says v2. */
    assert_int_equal(ob_config_bind_key(c, 2, V2B, &d), OB_ERR_RANGE);
    print_message("    -> %s\n", d.msg);
    assert_non_null(strstr(d.msg, "t/cfg.yaml:7:"));
    assert_non_null(strstr(d.msg, "v2 maximum"));
    assert_int_equal(ob_config_bind_key(c, 3, A4, &d), OB_ERR_INTERNAL);
    assert_int_equal(ob_config_bind_key(c, 1, BAD, &d), OB_ERR_VERIFY);
    ob_config_free(c);
}

/* Shared hosting: 10000 services of 2 instances each (v2, cheap to make). */
static void test_many_services(void **state)
{
    size_t cap = 10000 * 120 + 64, off = 0;
    char *text = malloc(cap);
    ob_config *c = NULL;
    ob_diag d;
    char a[17];
    int i, j;

    (void)state;
    assert_non_null(text);
    off += (size_t)sprintf(text + off, "services:\n");
    for (i = 0; i < 10000; i++) {
        for (j = 0; j < 3; j++) {
            v2_address(a, (unsigned)i * 3 + (unsigned)j);
            if (j == 0)
                off += (size_t)sprintf(text + off, "- address: %s\n  instances:\n", a);
            else
                off += (size_t)sprintf(text + off, "  - address: %s\n", a);
        }
    }
    assert_true(off < cap);
    assert_int_equal(ob_config_parse("t/cfg.yaml", text, off, &c, &d), OB_OK);
    assert_int_equal(c->n_services, 10000);
    assert_non_null(ob_config_find_service(c, c->services[9999].address));
    assert_int_equal(c->services[9999].n_instances, 2);
    ob_config_free(c);
    free(text);
}

/* text made of a prefix, then `a` n times, then `b` n times, then a suffix. */
static char *repeat(const char *pre, const char *a, const char *b, size_t n, const char *post,
                    size_t *len)
{
    size_t la = strlen(a), lb = strlen(b), i, off;
    char *t = malloc(strlen(pre) + n * (la + lb) + strlen(post) + 1);

    assert_non_null(t);
    off = (size_t)sprintf(t, "%s", pre);
    for (i = 0; i < n; i++, off += la)
        memcpy(t + off, a, la);
    for (i = 0; i < n; i++, off += lb)
        memcpy(t + off, b, lb);
    off += (size_t)sprintf(t + off, "%s", post);
    *len = off;
    return t;
}

static void parse_len_err(const char *text, size_t len, ob_err want, const char *needle)
{
    ob_config *c = NULL;
    ob_diag d;

    ob_diag_clear(&d);
    assert_int_equal(ob_config_parse("t/cfg.yaml", text, len, &c, &d), want);
    assert_null(c);
    if (strstr(d.msg, needle) == NULL)
        fail_msg("message '%s' lacks '%s'", d.msg, needle);
}

/*
 * Issue 14: the YAML is bounded while it is read, before any document is
 * built.  100,000 nested brackets took more than 10 s to refuse (libyaml's
 * scanner is quadratic in the depth), 40,000 anchors 5.7 s (its anchor
 * table), and aliases were refused only after the whole load.  Each is now
 * refused at the first event past the limit (the figures are in the
 * report, not asserted here).
 */
static void test_yaml_bounds(void **state)
{
    char *t;
    size_t len, i;

    (void)state;
    t = repeat("", "[", "]", 100000, "\n", &len);
    parse_len_err(t, len, OB_ERR_RANGE, "t/cfg.yaml:1:17: YAML nested deeper than 16 levels");
    free(t);
    t = repeat("", "{a: ", "}", 100000, "\n", &len);
    parse_len_err(t, len, OB_ERR_RANGE, "YAML nested deeper than 16 levels");
    free(t);
    /* Block style: "- - - - ..." */
    t = repeat("", "- ", "", 5000, "x\n", &len);
    parse_len_err(t, len, OB_ERR_RANGE, "t/cfg.yaml:1:33: YAML nested deeper than 16 levels");
    free(t);
    /* 16 levels are read (then the shape is wrong), 17 are not. */
    t = repeat("a: ", "[", "]", 15, "\n", &len);
    parse_len_err(t, len, OB_ERR_MALFORMED, "no 'services:' list");
    free(t);
    t = repeat("a: ", "[", "]", 16, "\n", &len);
    parse_len_err(t, len, OB_ERR_RANGE, "t/cfg.yaml:1:19: YAML nested deeper than 16 levels");
    free(t);
    /* 40,000 anchors: refused at the first, not after loading all. */
    t = malloc(40000 * 16 + 16);
    assert_non_null(t);
    len = (size_t)sprintf(t, "a: [");
    for (i = 0; i < 40000; i++)
        len += (size_t)sprintf(t + len, "&a%zu x, ", i);
    len += (size_t)sprintf(t + len, "]\n");
    parse_len_err(t, len, OB_ERR_UNSUPPORTED, "t/cfg.yaml:1:5: YAML anchors and aliases");
    free(t);
    /* An anchor on a collection, an alias on its own, a tag on a collection. */
    parse_err("a: &m {x: 1}\n", OB_ERR_UNSUPPORTED, "t/cfg.yaml:1:4:", "anchors", NULL);
    parse_err("a: *m\n", OB_ERR_UNSUPPORTED, "t/cfg.yaml:1:4:", "aliases", NULL);
    parse_err("a: !!set {x: 1}\n", OB_ERR_UNSUPPORTED, "t/cfg.yaml:1:4:", "tags", NULL);
    /* A second document is refused at its start, unread. */
    t = repeat("services: []\n---\n", "[", "]", 100000, "\n", &len);
    parse_len_err(t, len, OB_ERR_MALFORMED, "t/cfg.yaml:2:1: a second YAML document");
    free(t);
    /* The node count: one past the limit, in one flat list. */
    t = repeat("a: [", "b,", "", OB_CFG_MAX_NODES, "]\n", &len);
    parse_len_err(t, len, OB_ERR_RANGE, "more than 2000000 YAML values");
    free(t);
}

/* min_instances: per service, default 1, at most the instances listed. */
static void test_min_instances(void **state)
{
    ob_config *c;

    (void)state;
    c = parse_ok("services:\n"
                 "  - address: " A1 "\n"
                 "    min_instances: 2\n"
                 "    instances: [{address: " A2 "}, {address: " A3 "}]\n"
                 "  - address: " A4 "\n"
                 "    min_instances:\n"
                 "    instances: [{address: " A2 "}]\n");
    assert_int_equal(c->services[0].min_instances, 2);
    assert_int_equal(c->services[1].min_instances, OB_CFG_MIN_INSTANCES_DEFAULT);
    assert_int_equal(OB_CFG_MIN_INSTANCES_DEFAULT, 1);
    ob_config_free(c);
    parse_err("services:\n  - address: " A1 "\n    min_instances: 3\n"
              "    instances: [{address: " A2 "}, {address: " A3 "}]\n",
              OB_ERR_RANGE, "t/cfg.yaml:3:20:",
              "min_instances 3 is more than the 2 instance(s) this service lists", NULL);
    parse_err("services:\n  - address: " A1 "\n    min_instances: 0\n"
              "    instances: [{address: " A2 "}]\n",
              OB_ERR_RANGE, "t/cfg.yaml:3:20:", "min_instances: 0 is out of range (1..4096)", NULL);
    parse_err("services:\n  - address: " A1 "\n    min_instances: two\n"
              "    instances: [{address: " A2 "}]\n",
              OB_ERR_MALFORMED, "min_instances: expected a whole number", NULL);
}

static void test_limits(void **state)
{
    size_t n = OB_CFG_MAX_SERVICES + 1, off = 0, i;
    char *text = malloc(n * 6 + 64);
    ob_config *c = NULL;
    ob_diag d;

    (void)state;
    off += (size_t)sprintf(text + off, "services:\n");
    for (i = 0; i < n; i++)
        off += (size_t)sprintf(text + off, "- {}\n");
    assert_int_equal(ob_config_parse("t/cfg.yaml", text, off, &c, &d), OB_ERR_RANGE);
    assert_non_null(strstr(d.msg, "t/cfg.yaml:2:1:"));
    assert_non_null(strstr(d.msg, "limit"));
    free(text);

    text = malloc(70000);
    off = (size_t)sprintf(text, "services: [{address: " A1 ", instances: [");
    for (i = 0; i < OB_CFG_MAX_INSTANCES + 1; i++)
        off += (size_t)sprintf(text + off, "{},");
    off += (size_t)sprintf(text + off, "]}]\n");
    assert_int_equal(ob_config_parse("t/cfg.yaml", text, off, &c, &d), OB_ERR_RANGE);
    assert_non_null(strstr(d.msg, "instances:"));

    off = (size_t)sprintf(text,
                          "services: [{address: " A1 ", instances: [{address: " A2 "}], name: ");
    memset(text + off, 'x', OB_CFG_MAX_STRING + 1);
    off += OB_CFG_MAX_STRING + 1;
    off += (size_t)sprintf(text + off, "}]\n");
    /* An unknown key's long value is only warned about... */
    assert_int_equal(ob_config_parse("t/cfg.yaml", text, off, &c, &d), OB_OK);
    ob_config_free(c);
    /* ...a known one's is refused. */
    off =
        (size_t)sprintf(text, "services: [{address: " A1 ", instances: [{address: " A2 ", name: ");
    memset(text + off, 'x', OB_CFG_MAX_STRING + 1);
    off += OB_CFG_MAX_STRING + 1;
    off += (size_t)sprintf(text + off, "}]}]\n");
    assert_int_equal(ob_config_parse("t/cfg.yaml", text, off, &c, &d), OB_ERR_RANGE);
    assert_non_null(strstr(d.msg, "limit of 1024"));

    off = (size_t)sprintf(text, "services:\n  - address: " A1 "\n");
    for (i = 0; i < OB_CFG_MAX_KEYS; i++)
        off += (size_t)sprintf(text + off, "    k%zu: 1\n", i);
    assert_int_equal(ob_config_parse("t/cfg.yaml", text, off, &c, &d), OB_ERR_RANGE);
    assert_non_null(strstr(d.msg, "t/cfg.yaml:2:5: service entry has 65 keys"));
    free(text);
    assert_int_equal(ob_config_parse("t/cfg.yaml", "x", OB_CFG_MAX_FILE + 1, &c, &d), OB_ERR_RANGE);
}

static void test_load_refuses_symlink_and_missing(void **state)
{
    char dir[] = "/tmp/obcfgXXXXXX", link[64], target[9000];
    ob_config *c = NULL;
    ob_diag d;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(link, sizeof(link), "%s/config.yaml", dir);
    if (data_dir()[0] == '/')
        snprintf(target, sizeof(target), "%s/online.yaml", data_dir());
    else
        snprintf(target, sizeof(target), "%s/%s/online.yaml", cwd, data_dir());
    assert_int_equal(symlink(target, link), 0);
    assert_int_not_equal(ob_config_load(link, &c, &d), OB_OK);
    assert_null(c);
    assert_non_null(strstr(d.msg, "symbolic link"));
    unlink(link);
    assert_int_equal(ob_config_load(link, &c, &d), OB_ERR_IO);
    assert_non_null(strstr(d.msg, "config.yaml"));
    rmdir(dir);
}

/*
 * The literal block after heading in docs/config.rst, unindented, into out.
 * Returns its length.
 */
static size_t doc_example(const char *doc, const char *heading, char *out, size_t max)
{
    const char *p = strstr(doc, heading), *eol;
    size_t n = 0;

    assert_non_null(p);
    p = strstr(p, "::\n\n");
    assert_non_null(p);
    p += 4;
    while (*p != '\0') {
        eol = strchr(p, '\n');
        if (eol == NULL)
            break;
        if (eol != p && strncmp(p, "    ", 4) != 0)
            break; /* the first unindented line ends the block */
        if (eol - p > 4) {
            assert_true(n + (size_t)(eol - p) < max);
            memcpy(out + n, p + 4, (size_t)(eol - p) - 4);
            n += (size_t)(eol - p) - 4;
        }
        out[n++] = '\n';
        p = eol + 1;
    }
    out[n] = '\0';
    return n;
}

/* The examples docs/config.rst shows parse, without warnings. */
static void test_doc_examples(void **state)
{
    static const char *const heads[] = { "Example: the offline side", "Example: the online side" };
    const char *root = getenv("OB_ROOT");
    char path[4200], text[4096], *doc = malloc(65536);
    ob_config *c = NULL;
    size_t i, n, len;
    ob_diag d;
    FILE *fp;

    (void)state;
    snprintf(path, sizeof(path), "%s/docs/config.rst", root != NULL ? root : ".");
    fp = fopen(path, "rb");
    assert_non_null(fp);
    len = fread(doc, 1, 65535, fp);
    doc[len] = '\0';
    fclose(fp);
    for (i = 0; i < 2; i++) {
        n = doc_example(doc, heads[i], text, sizeof(text));
        if (ob_config_parse("example.yaml", text, n, &c, &d) != OB_OK)
            fail_msg("%s: %s", heads[i], d.msg);
        assert_int_equal(c->n_warnings, 0);
        assert_int_equal(c->n_services, 2);
        if (i == 0) {
            assert_non_null(c->services[0].key_path);
            assert_non_null(c->services[0].instances[1].client_auth_key_path);
        } else {
            assert_int_equal(c->services[1].version, 2);
            assert_non_null(c->inbox);
        }
        ob_config_free(c);
    }
    free(doc);
}

/*
 * Every prefix of a valid config, and every byte of it replaced by a few
 * troublesome values: never a crash or leak (ASan), always an answer, and an
 * error always comes with a message.
 */
static void test_truncations_and_mangling(void **state)
{
    static const char *const files[] = { "ob01_v2.yaml", "offline_full.yaml", "online.yaml" };
    static const char subst[] = { '\0', ':', '-', '[',  '{', '&',
                                  '*',  '!', '"', '\n', ' ', (char)0xff };
    size_t f, i, k, ok = 0, bad = 0;

    (void)state;
    for (f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
        char path[4300];
        FILE *fp;
        char buf[4096];
        size_t n;

        snprintf(path, sizeof(path), "%s/%s", data_dir(), files[f]);
        fp = fopen(path, "rb");
        assert_non_null(fp);
        n = fread(buf, 1, sizeof(buf), fp);
        fclose(fp);
        for (i = 0; i <= n; i++) {
            ob_config *c = NULL;
            ob_diag d;
            ob_err e;
            char *copy = malloc(i + 1); /* exact size: ASan sees overreads */

            memcpy(copy, buf, i);
            ob_diag_clear(&d);
            e = ob_config_parse("t/cfg.yaml", copy, i, &c, &d);
            if (e == OB_OK) {
                assert_non_null(c);
                ok++;
            } else {
                assert_null(c);
                assert_true(d.msg[0] != '\0');
                bad++;
            }
            ob_config_free(c);
            free(copy);
        }
        for (i = 0; i < n; i++) {
            for (k = 0; k < sizeof(subst); k++) {
                ob_config *c = NULL;
                ob_diag d;
                ob_err e;
                char *copy = malloc(n);

                memcpy(copy, buf, n);
                copy[i] = subst[k];
                ob_diag_clear(&d);
                e = ob_config_parse("t/cfg.yaml", copy, n, &c, &d);
                if (e == OB_OK)
                    ok++;
                else
                    assert_true(d.msg[0] != '\0');
                if (e != OB_OK)
                    bad++;
                ob_config_free(c);
                free(copy);
            }
        }
    }
    print_message("    %zu inputs accepted, %zu refused\n", ok, bad);
    assert_true(ok > 0 && bad > 0);
}

static int setup(void **state)
{
    (void)state;
    if (getcwd(cwd, sizeof(cwd)) == NULL)
        return -1;
    unsetenv("ONIONBALANCE_TOR_CONTROL_SOCKET");
    unsetenv("ONIONBALANCE_LOG_LEVEL");
    unsetenv("ONIONBALANCE_LOG_LOCATION");
    unsetenv("ONIONBALANCE_STATUS_SOCKET_LOCATION");
    return ob_secmem_init();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_onionbalance_v3_file),
        cmocka_unit_test(test_onionbalance_v2_file),
        cmocka_unit_test(test_online_file),
        cmocka_unit_test(test_offline_full_file),
        cmocka_unit_test(test_presign_window_v3_warned),
        cmocka_unit_test(test_status_socket_location),
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_inheritance_and_order),
        cmocka_unit_test(test_null_values),
        cmocka_unit_test(test_given),
        cmocka_unit_test(test_unknown_keys_warn),
        cmocka_unit_test(test_warnings_capped),
        cmocka_unit_test(test_errors_types),
        cmocka_unit_test(test_errors_addresses),
        cmocka_unit_test(test_errors_structure),
        cmocka_unit_test(test_errors_duplicates),
        cmocka_unit_test(test_errors_yaml),
        cmocka_unit_test(test_tags_default_ok),
        cmocka_unit_test(test_env_defaults),
        cmocka_unit_test(test_bind_key),
        cmocka_unit_test(test_many_services),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_min_instances),
        cmocka_unit_test(test_yaml_bounds),
        cmocka_unit_test(test_load_refuses_symlink_and_missing),
        cmocka_unit_test(test_doc_examples),
        cmocka_unit_test(test_truncations_and_mangling),
    };

    return cmocka_run_group_tests(tests, setup, NULL);
}

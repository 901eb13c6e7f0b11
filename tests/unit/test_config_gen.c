/*
 * test_config_gen.c - ob-offline config-gen's output read back by the real
 * readers: both config.yaml files through format/config/config.c (no warnings, the
 * same instances), the master key through the keystore and
 * ob_config_bind_key(), every instance HiddenServiceDir through the
 * keystore's tor loader (which cross-checks hostname and the public key).
 * Also: an existing folder is refused and left alone, --key keeps the
 * master address, and a write failure part-way leaves nothing behind.
 *
 * tests/cli/test_config_gen.sh covers the command line, tor --verify-config
 * and the terminal dialogue.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../offline/commands.h" /* online/ has a commands.h too */
#include "config.h"
#include "fileio.h"
#include "keystore.h"
#include "secmem.h"

static char tmpdir[] = "/tmp/ob-test-config-gen-XXXXXX";

static const char *tpath(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *tpath(const char *fmt, ...)
{
    static char buf[8][1024];
    static int i;
    char rel[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(rel, sizeof(rel), fmt, ap);
    va_end(ap);
    i = (i + 1) % 8;
    snprintf(buf[i], sizeof(buf[i]), "%s/%s", tmpdir, rel);
    return buf[i];
}

/* Run the verb as main() would; argv is NULL-terminated. */
static int run(const char *first, ...)
{
    char *argv[32];
    int argc = 0;
    const char *a;
    va_list ap;

    argv[argc++] = (char *)"config-gen";
    va_start(ap, first);
    for (a = first; a != NULL && argc < 31; a = va_arg(ap, const char *))
        argv[argc++] = (char *)a;
    va_end(ap);
    argv[argc] = NULL;
    return ofl_cmd_config_gen(argc, argv);
}

static char *slurp(const char *path)
{
    uint8_t *p = NULL;
    size_t n = 0;
    ob_diag d;

    assert_int_equal(ob_file_read(path, 1 << 20, &p, &n, &d), OB_OK);
    return (char *)p;
}

static int mode_of(const char *path)
{
    struct stat st;

    assert_int_equal(lstat(path, &st), 0);
    return (int)(st.st_mode & 07777);
}

static size_t count_entries(const char *dir)
{
    DIR *dh = opendir(dir);
    struct dirent *de;
    size_t n = 0;

    assert_non_null(dh);
    while ((de = readdir(dh)) != NULL)
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            n++;
    closedir(dh);
    return n;
}

static ob_config *load_clean(const char *path)
{
    ob_config *c = NULL;
    ob_diag d;
    size_t i;

    ob_diag_clear(&d);
    if (ob_config_load(path, &c, &d) != OB_OK)
        fail_msg("%s: %s", path, d.msg);
    for (i = 0; i < c->n_warnings; i++)
        print_error("warning: %s\n", c->warnings[i]);
    assert_int_equal(c->n_warnings, 0);
    return c;
}

/*
 * Everything one output folder must satisfy.  Returns the master address
 * (static storage).
 */
static const char *check_tree(const char *out, int version, size_t n, const char *tag,
                              const char *passfile)
{
    static char maddr[64];
    ob_config *off = NULL, *on = NULL;
    ofl_key *mk = NULL, *ik = NULL;
    char want[256], *text = NULL;
    const ob_cfg_service *s, *so;
    size_t i;
    ob_diag d;

    ob_diag_clear(&d);
    assert_int_equal(mode_of(tpath("%s", out)), 0700);
    assert_int_equal(mode_of(tpath("%s/master", out)), 0700);
    assert_int_equal(mode_of(tpath("%s/online", out)), 0700);

    off = load_clean(tpath("%s/master/config.yaml", out));
    assert_int_equal(off->n_services, 1);
    s = &off->services[0];
    assert_non_null(s->key_path);
    /* address: beside key: lets sign summarise before the passphrase */
    assert_non_null(s->address);
    assert_int_equal(s->n_instances, n);
    if (ofl_key_load(s->key_path, passfile, &mk, &d) != OB_OK)
        fail_msg("master key: %s", d.msg);
    assert_int_equal(ofl_key_version(mk), version);
    assert_int_equal(mode_of(s->key_path), 0600);
    snprintf(maddr, sizeof(maddr), "%s", ofl_key_address(mk));
    assert_string_equal(s->address, maddr);
    snprintf(want, sizeof(want), "%s/master/%s.key", tpath("%s", out), maddr);
    assert_string_equal(s->key_path, want);
    if (ob_config_bind_key(off, 0, maddr, &d) != OB_OK)
        fail_msg("bind: %s", d.msg);

    on = load_clean(tpath("%s/online/config.yaml", out));
    assert_int_equal(on->n_services, 1);
    so = &on->services[0];
    assert_null(so->key_path);
    assert_string_equal(so->address, maddr);
    assert_int_equal(so->version, version);
    assert_string_equal(on->tor_address, "127.0.0.1");
    assert_int_equal(on->tor_port, 9051);
    assert_int_equal(so->n_instances, n);

    for (i = 0; i < n; i++) {
        const char *name = s->instances[i].name;
        snprintf(want, sizeof(want), "%s%zu", tag, i + 1);
        assert_string_equal(name, want);
        assert_string_equal(so->instances[i].name, want);
        assert_string_equal(so->instances[i].address, s->instances[i].address);
        assert_int_equal(s->instances[i].version, version);
        /* The keystore's tor loader checks hostname (and v3 public key) against the key. */
        if (ofl_key_load(tpath("%s/%s/hidden_service", out, name), NULL, &ik, &d) != OB_OK)
            fail_msg("%s: %s", name, d.msg);
        assert_string_equal(ofl_key_address(ik), s->instances[i].address);
        ofl_key_free(ik);
        ik = NULL;
        text = slurp(tpath("%s/%s/hidden_service/hostname", out, name));
        snprintf(want, sizeof(want), "%s.onion\n", s->instances[i].address);
        assert_string_equal(text, want);
        free(text);
        assert_int_equal(mode_of(tpath("%s/%s", out, name)), 0700);
        assert_int_equal(mode_of(tpath("%s/%s/hidden_service", out, name)), 0700);
        assert_int_equal(mode_of(tpath("%s/%s/hidden_service/%s", out, name,
                                       version == 3 ? "hs_ed25519_secret_key" : "private_key")),
                         0600);
        text = slurp(tpath("%s/%s/torrc", out, name));
        snprintf(want, sizeof(want), "\nHiddenServiceDir %s/%s/hidden_service\n", tpath("%s", out),
                 name);
        assert_non_null(strstr(text, want));
        assert_int_equal(strstr(text, "HiddenServiceOnionbalanceInstance 1\n") != NULL,
                         version == 3);
        free(text);
        if (version == 3) {
            text = slurp(tpath("%s/%s/hidden_service/ob_config", out, name));
            snprintf(want, sizeof(want), "MasterOnionAddress %s.onion\n", maddr);
            assert_string_equal(text, want);
            free(text);
        } else {
            assert_int_equal(ob_path_exists(tpath("%s/%s/hidden_service/ob_config", out, name)), 0);
        }
    }
    /* Nothing but what the layout lists: master, online and the instances. */
    assert_int_equal(count_entries(tpath("%s", out)), n + 2);
    ofl_key_free(mk);
    ob_config_free(off);
    ob_config_free(on);
    return maddr;
}

static void test_v3(void **state)
{
    (void)state;
    assert_int_equal(run("--no-interactive", "--output", tpath("v3"), "-n", "3", "--tag", "web",
                         "--passphrase-file", tpath("pass"), NULL),
                     0);
    check_tree("v3", 3, 3, "web", tpath("pass"));
}

static void test_v2(void **state)
{
    (void)state;
    assert_int_equal(run("--no-interactive", "--output", tpath("v2/"), "--hs-version", "v2", "-n",
                         "2", "--no-passphrase", NULL),
                     0);
    check_tree("v2", 2, 2, "node", NULL);
}

static void test_one_instance_defaults(void **state)
{
    char *text;

    (void)state;
    assert_int_equal(run("--output", tpath("one"), "-n", "1", "--service-virtual-port", "8080",
                         "--passphrase-file", tpath("pass"), NULL),
                     0);
    check_tree("one", 3, 1, "node", tpath("pass"));
    /* The target follows the virtual port unless given. */
    text = slurp(tpath("one/node1/torrc"));
    assert_non_null(strstr(text, "\nHiddenServicePort 8080 127.0.0.1:8080\n"));
    free(text);
}

/* A test network's time period length reaches the offline config; the default writes none. */
static void test_time_period_length(void **state)
{
    ob_config *c;

    (void)state;
    assert_int_equal(run("--output", tpath("tp"), "-n", "1", "--time-period-length", "30",
                         "--no-passphrase", NULL),
                     0);
    check_tree("tp", 3, 1, "node", NULL);
    c = load_clean(tpath("tp/master/config.yaml"));
    assert_int_equal(c->time_period_length, 30);
    ob_config_free(c);
    c = load_clean(tpath("v3/master/config.yaml"));
    assert_int_equal(c->time_period_length, OB_CFG_TP_LENGTH_DEFAULT);
    ob_config_free(c);
}

static void test_existing_refused(void **state)
{
    size_t before;

    (void)state;
    assert_int_equal(mkdir(tpath("exists"), 0755), 0);
    assert_int_equal(run("--output", tpath("exists"), "--no-passphrase", NULL), 2);
    assert_int_equal(count_entries(tpath("exists")), 0);
    assert_int_equal(mode_of(tpath("exists")), 0755);
    /* A finished folder is refused as well, and stays as it was. */
    assert_int_equal(run("--output", tpath("x1"), "-n", "1", "--no-passphrase", NULL), 0);
    before = count_entries(tpath("x1"));
    assert_int_equal(run("--output", tpath("x1"), "-n", "5", "--no-passphrase", NULL), 2);
    assert_int_equal(count_entries(tpath("x1")), before);
    check_tree("x1", 3, 1, "node", NULL);
}

static void test_key_reuse(void **state)
{
    ofl_key *k = NULL;
    char addr[64];
    ob_diag d;

    (void)state;
    /* A v3 store (from an earlier run), then tor's HiddenServiceDir form. */
    assert_int_equal(
        run("--output", tpath("k1"), "-n", "1", "--passphrase-file", tpath("pass"), NULL), 0);
    snprintf(addr, sizeof(addr), "%s", check_tree("k1", 3, 1, "node", tpath("pass")));
    assert_int_equal(run("--output", tpath("k2"), "-n", "1", "--key",
                         tpath("k1/master/%s.key", addr), "--source-passphrase-file", tpath("pass"),
                         "--passphrase-file", tpath("pass2"), NULL),
                     0);
    assert_string_equal(check_tree("k2", 3, 1, "node", tpath("pass2")), addr);
    assert_int_equal(ofl_key_load(tpath("k1/node1/hidden_service"), NULL, &k, &d), OB_OK);
    assert_int_equal(run("--output", tpath("k3"), "-n", "1", "--key",
                         tpath("k1/node1/hidden_service"), "--no-passphrase", NULL),
                     0);
    /* No seed in a tor key: written unencrypted in tor's own format. */
    assert_string_equal(check_tree("k3", 3, 1, "node", NULL), ofl_key_address(k));
    assert_int_equal(ofl_keyfile_detect(tpath("k3/master/%s.key", ofl_key_address(k))),
                     OFL_KEYFILE_TOR_SECRET);
    ofl_key_free(k);
    /* The key decides the version; asking for the other one is refused. */
    assert_int_equal(run("--output", tpath("k4"), "--version", "2", "--key",
                         tpath("k1/node1/hidden_service"), "--no-passphrase", NULL),
                     1);
    assert_int_equal(ob_path_exists(tpath("k4")), 0);
}

/*
 * A write that fails part-way (a file size limit: the master key fits,
 * config.yaml does not) leaves no folder and no temporary behind.
 */
static void test_failure_leaves_nothing(void **state)
{
    struct rlimit old, small;
    char msg[1024];
    int pfd[2], saved, rc;
    ssize_t n;
    size_t before;

    (void)state;
    assert_int_equal(mkdir(tpath("fail"), 0700), 0);
    before = count_entries(tpath("fail"));
    /* stderr into a pipe: the limit would cut a log file short too. */
    fflush(stderr);
    assert_int_equal(pipe(pfd), 0);
    saved = dup(2);
    assert_true(saved >= 0);
    assert_int_equal(dup2(pfd[1], 2), 2);
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    small = old;
    small.rlim_cur = 300;
    signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
    rc = run("--output", tpath("fail/out"), "-n", "2", "--passphrase-file", tpath("pass"), NULL);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, SIG_DFL);
    fflush(stderr);
    assert_int_equal(dup2(saved, 2), 2);
    close(saved);
    close(pfd[1]);
    n = read(pfd[0], msg, sizeof(msg) - 1);
    close(pfd[0]);
    assert_true(n > 0);
    msg[n] = '\0';
    print_message("%s", msg);
    assert_int_equal(rc, 2);
    assert_non_null(strstr(msg, "config.yaml"));
    assert_int_equal(count_entries(tpath("fail")), before);
}

static int setup(void **state)
{
    FILE *f;

    (void)state;
    if (ob_secmem_init() != 0 || mkdtemp(tmpdir) == NULL)
        return -1;
    /* Test only: the cheap Argon2id limits (see ofl_kdf_default). */
    setenv("OB_INSECURE_TEST_KDF", "1", 1);
    if ((f = fopen(tpath("pass"), "w")) == NULL)
        return -1;
    fputs("config-gen test passphrase\n", f);
    fclose(f);
    if ((f = fopen(tpath("pass2"), "w")) == NULL)
        return -1;
    fputs("another one\n", f);
    fclose(f);
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];

    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v3),
        cmocka_unit_test(test_v2),
        cmocka_unit_test(test_one_instance_defaults),
        cmocka_unit_test(test_time_period_length),
        cmocka_unit_test(test_existing_refused),
        cmocka_unit_test(test_key_reuse),
        cmocka_unit_test(test_failure_leaves_nothing),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

/*
 * test_alloc_keystore.c - failing-malloc run of the key loader (style.md
 * habit 12), and a count of its Argon2id runs (adding keys takes one).  keystore.c is compiled into
 * this test with its calloc and ob_secalloc calls (it has no malloc) routed through a budget;
 * loading an encrypted store of two keys, a tor secret key file and an unencrypted Ed25519 PEM,
 * every allocation fails in turn: each must give OB_ERR_NOMEM, no keys, and no leak (ASan's leak
 * check runs at exit; secure memory is libsodium's, whose guard pages catch overruns).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "crypto.h"
#include "encode.h"
#include "fileio.h"
#include "keystore.h"
#include "onion.h"
#include "passphrase.h"
#include "secmem.h"

static long alloc_budget = -1; /* allocations left; -1 = unlimited */
static long alloc_count;

static int alloc_take(void)
{
    alloc_count++;
    if (alloc_budget < 0)
        return 1;
    if (alloc_budget == 0)
        return 0;
    alloc_budget--;
    return 1;
}

static void *t_calloc(size_t a, size_t b)
{
    return alloc_take() ? calloc(a, b) : NULL;
}

static void *t_secalloc(size_t n)
{
    return alloc_take() ? ob_secalloc(n) : NULL;
}

/* Argon2id runs, counted: adding keys to a store must take one. */
static int pwhash_calls;

static int t_pwhash(unsigned char *const out, unsigned long long outlen, const char *const pass,
                    unsigned long long passlen, const unsigned char *const salt,
                    unsigned long long ops, size_t mem, int alg)
{
    pwhash_calls++;
    return crypto_pwhash(out, outlen, pass, passlen, salt, ops, mem, alg);
}

#define calloc        t_calloc
#define ob_secalloc   t_secalloc
#define crypto_pwhash t_pwhash
#include "../../offline/keystore.c"
#undef calloc
#undef ob_secalloc
#undef crypto_pwhash

static char dir[64];

static int setup(void **state)
{
    (void)state;
    if (ob_secmem_init() != 0 || ofl_keystore_init_openssl() != 0)
        return -1;
    setenv("OB_INSECURE_TEST_KDF", "1", 1);
    snprintf(dir, sizeof(dir), "/tmp/ob-test-allocks-XXXXXX");
    return mkdtemp(dir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
    char cmd[128];

    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

typedef ob_err (*load_fn)(const char *path, ofl_key ***keys, size_t *n, ob_diag *d);

static ob_err open_store(const char *path, ofl_key ***keys, size_t *n, ob_diag *d)
{
    ofl_store *st = NULL;
    ob_err e = ofl_keystore_open(path, "correct horse", 13, keys, n, &st, d);

    assert_true((e == OB_OK) == (st != NULL));
    ofl_store_free(st);
    return e;
}

static ob_err load_any(const char *path, ofl_key ***keys, size_t *n, ob_diag *d)
{
    return ofl_keystore_load_all(path, NULL, keys, n, d);
}

/* Load once to count the allocations, then fail each in turn. */
static void run_failures(const char *path, load_fn fn, size_t want_keys)
{
    ofl_key **keys = NULL;
    size_t n = 0;
    long k, total;
    ob_diag d;
    ob_err e;

    ob_diag_clear(&d);
    alloc_count = 0;
    assert_int_equal(fn(path, &keys, &n, &d), OB_OK);
    total = alloc_count;
    assert_int_equal(n, want_keys);
    ofl_keys_free(keys, n);
    assert_true(total >= 2);
    for (k = 0; k < total; k++) {
        keys = NULL;
        n = 0;
        ob_diag_clear(&d);
        alloc_budget = k;
        e = fn(path, &keys, &n, &d);
        alloc_budget = -1;
        if (e != OB_ERR_NOMEM)
            fail_msg("%s: allocation %ld of %ld failing gave %s: %s", path, k, total,
                     ob_err_name(e), d.msg);
        assert_null(keys);
        assert_int_equal(n, 0);
        assert_true(strlen(d.msg) > 0);
    }
}

static void test_store_alloc_failures(void **state)
{
    ofl_key *k[2] = { NULL, NULL };
    ofl_kdf kdf;
    char path[128];
    ob_diag d;

    (void)state;
    ob_diag_clear(&d);
    snprintf(path, sizeof(path), "%s/store", dir);
    assert_int_equal(ofl_key_generate(3, &k[0], &d), OB_OK);
    assert_int_equal(ofl_key_generate(3, &k[1], &d), OB_OK);
    ofl_kdf_default(&kdf);
    assert_int_equal(ofl_keystore_write(path, k, 2, "correct horse", 13, &kdf, 0, &d), OB_OK);
    ofl_key_free(k[0]);
    ofl_key_free(k[1]);
    run_failures(path, open_store, 2);
}

static void test_tor_and_pem_alloc_failures(void **state)
{
    ofl_key *k = NULL;
    uint8_t file[TOR_HDR_LEN + 64];
    char tor[128], pem[128];
    ob_diag d;

    (void)state;
    ob_diag_clear(&d);
    snprintf(tor, sizeof(tor), "%s/hs_ed25519_secret_key", dir);
    snprintf(pem, sizeof(pem), "%s/key.pem", dir);
    assert_int_equal(ofl_key_generate(3, &k, &d), OB_OK);
    memset(file, 0, sizeof(file));
    memcpy(file, TOR_SECRET_HDR, strlen(TOR_SECRET_HDR));
    memcpy(file + TOR_HDR_LEN, ofl_key_ed25519_expanded(k), 64);
    assert_int_equal(ob_file_write_atomic(tor, file, sizeof(file), 0600, OB_WRITE_EXCL, &d), OB_OK);
    ob_wipe(file, sizeof(file));
    assert_int_equal(ofl_key_write_ed25519_pem(pem, k, OB_WRITE_EXCL, &d), OB_OK);
    ofl_key_free(k);
    run_failures(tor, load_any, 1);
    run_failures(pem, load_any, 1);
}

/* import's path: open (one Argon2id run), add a key, write back (none). */
static void test_add_key_one_argon2id(void **state)
{
    ofl_key *k[2] = { NULL, NULL }, **got = NULL, *all[2];
    ofl_store *st = NULL;
    ofl_kdf kdf;
    char path[128];
    size_t n = 0;
    ob_diag d;

    (void)state;
    ob_diag_clear(&d);
    snprintf(path, sizeof(path), "%s/grow", dir);
    assert_int_equal(ofl_key_generate(3, &k[0], &d), OB_OK);
    assert_int_equal(ofl_key_generate(3, &k[1], &d), OB_OK);
    ofl_kdf_default(&kdf);
    pwhash_calls = 0;
    assert_int_equal(ofl_keystore_write(path, k, 1, "correct horse", 13, &kdf, 0, &d), OB_OK);
    assert_int_equal(pwhash_calls, 1);
    pwhash_calls = 0;
    assert_int_equal(ofl_keystore_open(path, "correct horse", 13, &got, &n, &st, &d), OB_OK);
    all[0] = got[0];
    all[1] = k[1];
    assert_int_equal(ofl_keystore_rewrite(st, all, 2, &d), OB_OK);
    assert_int_equal(pwhash_calls, 1);
    ofl_keys_free(got, n);
    ofl_store_free(st);
    got = NULL;
    assert_int_equal(ofl_keystore_open(path, "correct horse", 13, &got, &n, NULL, &d), OB_OK);
    assert_int_equal(n, 2);
    assert_string_equal(ofl_key_address(got[1]), ofl_key_address(k[1]));
    ofl_keys_free(got, n);
    ofl_key_free(k[0]);
    ofl_key_free(k[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_alloc_failures),
        cmocka_unit_test(test_tor_and_pem_alloc_failures),
        cmocka_unit_test(test_add_key_one_argon2id),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

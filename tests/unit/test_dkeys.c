/*
 * test_dkeys.c - the online delegated key store (online/dkeys.h): pending
 * keys, installing a certificate made as the offline side makes it, loading,
 * listing with the date the certification runs out, refusals, file modes,
 * damage, and that no stored byte is the identity or blinded secret key.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "dkeys.h"
#include "ed25519x.h"
#include "fileio.h"
#include "hsv3_blind.h"
#include "hsv3_cert.h"
#include "hsv3_sign_desc.h"
#include "onion.h"
#include "secmem.h"

/* The start of a period in range (the checked API, hsv3_common.h). */
static uint64_t tp_start(uint64_t tp, const ob_tp_params *p)
{
    uint64_t s = 0;

    assert_int_equal(ob_hsv3_tp_start(tp, p, &s), 0);
    return s;
}

static uint64_t run_start(uint64_t tp, const ob_tp_params *p)
{
    uint64_t s = 0;

    assert_int_equal(ob_hsv3_srv_run_start(tp, p, &s), 0);
    return s;
}

static char dir[64], store[128];
static ob_config *cfg;

/* A master identity for the tests. */
static uint8_t *id_exp; /* secure */
static uint8_t id_pk[32];
static char id_addr[OB_ONION_V3_LEN + 1];

static int setup(void **state)
{
    ob_diag d;

    (void)state;
    if (ob_secmem_init() != 0)
        return -1;
    snprintf(dir, sizeof(dir), "/tmp/ob-test-dkeys-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(store, sizeof(store), "%s/state/delegated", dir);
    setenv("OB_DELEGATED_STORE", store, 1);
    id_exp = ob_secalloc(64);
    if (id_exp == NULL || ob_ed25519_keygen(id_exp, id_pk) != 0)
        return -1;
    ob_onion_v3_encode(id_addr, id_pk);
    {
        char yaml[512];
        snprintf(yaml, sizeof(yaml),
                 "services:\n  - address: %s.onion\n    instances:\n      - address: "
                 "%s.onion\n",
                 id_addr, "pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd");
        if (ob_config_parse("/tmp/online.yaml", yaml, strlen(yaml), &cfg, &d) != OB_OK) {
            print_error("config: %s\n", d.msg);
            return -1;
        }
    }
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];

    (void)state;
    ob_config_free(cfg);
    ob_secfree(id_exp);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/*
 * What `ob-offline certify` hands over for (tp, signing key): the type-08
 * certificate by the blinded key, and the revision-counter key.  The
 * blinded secret is returned too (bexp_out, secure memory) so the tests can
 * look for it in the store.
 */
static void certify_as_offline(uint64_t tp, const ob_tp_params *tpp, const uint8_t sign_pk[32],
                               uint8_t cert[OB_CERT_LEN], size_t *cert_len, uint8_t rev[32],
                               uint8_t *bexp_out)
{
    uint8_t *bexp = ob_secalloc(64), Ab[32];

    assert_non_null(bexp);
    assert_int_equal(ofl_hsv3_blind_secret(bexp, id_exp, id_pk, tp, tpp->length_min), 0);
    assert_int_equal(ob_hsv3_blind_public(Ab, id_pk, tp, tpp->length_min), 0);
    assert_int_equal(ob_ed_cert_create(cert, cert_len, OB_CERT_DESC_SIGNING, sign_pk,
                                       ob_hsv3_cert_expiry_hours(tp, tpp, 180), bexp, Ab, NULL),
                     OB_OK);
    assert_int_equal(ofl_hsv3_rev_counter_key(rev, bexp), 0);
    if (bexp_out != NULL)
        memcpy(bexp_out, bexp, 64);
    ob_secfree(bexp);
}

/* A key for tp made pending, saved, certified as the offline side would, saved again. */
static void install_period(uint64_t tp, const ob_tp_params *tpp, uint64_t now, uint8_t *bexp_out)
{
    uint8_t cert[OB_CERT_LEN], rev[32];
    size_t cert_len = 0;
    onl_dkey *k = NULL, *p = NULL;
    ob_diag d;

    assert_int_equal(onl_dkey_new_pending(id_addr, tp, tpp, now, &k, &d), OB_OK);
    memset(k->request_digest, 0xab, 32);
    assert_int_equal(onl_dkey_save(cfg, k, &d), OB_OK);
    assert_int_equal(onl_dkey_find_pending(cfg, id_addr, tp, k->sign_pk, &p, &d), OB_OK);
    certify_as_offline(tp, tpp, p->sign_pk, cert, &cert_len, rev, bexp_out);
    assert_int_equal(onl_dkey_certify(p, cert, cert_len, rev, now, &d), OB_OK);
    assert_int_equal(onl_dkey_save(cfg, p, &d), OB_OK);
    onl_dkey_free(p);
    onl_dkey_free(k);
}

static uint64_t now_in(uint64_t tp, const ob_tp_params *tpp, uint64_t into_s)
{
    return tp_start(tp, tpp) + into_s;
}

static void test_round_trip(void **state)
{
    const ob_tp_params *tpp = &OB_TP_LIVE;
    uint64_t tp = 20000, now = now_in(tp, tpp, 3600);
    uint8_t cert[OB_CERT_LEN], rev[32], pk[32], exp[64];
    size_t cert_len = 0;
    onl_dkey *k = NULL, *p = NULL, *l = NULL;
    char path[256];
    struct stat st;
    ob_diag d;

    (void)state;
    assert_int_equal(onl_dkey_new_pending(id_addr, tp, tpp, now, &k, &d), OB_OK);
    assert_int_equal(k->state, ONL_DKEY_PENDING);
    assert_int_equal(k->valid_from, tp_start(tp, tpp));
    assert_int_equal(k->valid_until, tp_start(tp + 1, tpp));
    memset(k->request_digest, 0x5a, 32);
    memcpy(pk, k->sign_pk, 32);
    memcpy(exp, k->sign_exp, 64);
    assert_int_equal(onl_dkey_save(cfg, k, &d), OB_OK);
    /* Not usable before it is certified. */
    assert_int_equal(onl_dkey_load(cfg, id_addr, tp, now, &l, &d), OB_ERR_NOTFOUND);
    /* A second save of the same pending key is refused (never overwritten). */
    assert_int_equal(onl_dkey_save(cfg, k, &d), OB_ERR_EXISTS);

    assert_int_equal(onl_dkey_find_pending(cfg, id_addr, tp, pk, &p, &d), OB_OK);
    assert_memory_equal(p->sign_exp, exp, 64);
    assert_memory_equal(p->request_digest, k->request_digest, 32);
    assert_int_equal(p->created, now);
    certify_as_offline(tp, tpp, pk, cert, &cert_len, rev, NULL);
    assert_int_equal(onl_dkey_certify(p, cert, cert_len, rev, now, &d), OB_OK);
    assert_int_equal(onl_dkey_save(cfg, p, &d), OB_OK);
    /* The pending copy is gone, the certified entry is there, both private. */
    assert_int_equal(onl_dkey_find_pending(cfg, id_addr, tp, pk, &l, &d), OB_ERR_NOTFOUND);
    snprintf(path, sizeof(path), "%s/%s/%llu.key", store, id_addr, (unsigned long long)tp);
    assert_int_equal(lstat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    snprintf(path, sizeof(path), "%s/%s", store, id_addr);
    assert_int_equal(lstat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_int_equal(lstat(store, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);

    assert_int_equal(onl_dkey_load(cfg, id_addr, tp, now, &l, &d), OB_OK);
    assert_int_equal(l->state, ONL_DKEY_CERTIFIED);
    assert_memory_equal(l->sign_pk, pk, 32);
    assert_memory_equal(l->sign_exp, exp, 64);
    assert_memory_equal(l->rev_key, rev, 32);
    assert_int_equal(l->cert_len, cert_len);
    assert_memory_equal(l->cert, cert, cert_len);
    assert_int_equal(l->cert_expires, (uint64_t)ob_hsv3_cert_expiry_hours(tp, tpp, 180) * 3600);
    assert_int_equal(l->tpp.length_min, 1440);
    assert_int_equal(l->tpp.offset_min, 720);
    onl_dkey_free(l);
    l = NULL;
    /* Past its expiry the key is not handed out. */
    assert_int_equal(onl_dkey_load(cfg, id_addr, tp, p->cert_expires, &l, &d), OB_ERR_EXPIRED);
    assert_non_null(strstr(d.msg, "expired"));
    assert_null(l);
    /* Another period: nothing. */
    assert_int_equal(onl_dkey_load(cfg, id_addr, tp + 5, now, &l, &d), OB_ERR_NOTFOUND);
    onl_dkey_free(p);
    onl_dkey_free(k);
    ob_wipe(exp, sizeof(exp));
}

static void test_certify_refusals(void **state)
{
    const ob_tp_params *tpp = &OB_TP_LIVE;
    uint64_t tp = 20100, now = now_in(tp, tpp, 60);
    uint8_t cert[OB_CERT_LEN], rev[32], other_pk[32], *other = ob_secalloc(64), *bexp;
    uint8_t Ab[32];
    size_t cert_len = 0;
    onl_dkey *k = NULL;
    ob_diag d;

    (void)state;
    assert_non_null(other);
    assert_int_equal(onl_dkey_new_pending(id_addr, tp, tpp, now, &k, &d), OB_OK);
    /* A certificate for another signing key. */
    assert_int_equal(ob_ed25519_keygen(other, other_pk), 0);
    certify_as_offline(tp, tpp, other_pk, cert, &cert_len, rev, NULL);
    assert_int_equal(onl_dkey_certify(k, cert, cert_len, rev, now, &d), OB_ERR_VERIFY);
    assert_non_null(strstr(d.msg, "another descriptor-signing key"));
    assert_int_equal(k->state, ONL_DKEY_PENDING);
    /* Signed by the blinded key of another period. */
    certify_as_offline(tp + 1, tpp, k->sign_pk, cert, &cert_len, rev, NULL);
    assert_int_equal(onl_dkey_certify(k, cert, cert_len, rev, now, &d), OB_ERR_VERIFY);
    assert_non_null(strstr(d.msg, "blinded key"));
    /* Signed by a key that names itself the right blinded key but is not it. */
    bexp = ob_secalloc(64);
    assert_non_null(bexp);
    assert_int_equal(ob_hsv3_blind_public(Ab, id_pk, tp, 1440), 0);
    assert_int_equal(ob_ed25519_keygen(bexp, other_pk), 0);
    assert_int_equal(ob_ed_cert_create(cert, &cert_len, OB_CERT_DESC_SIGNING, k->sign_pk,
                                       ob_hsv3_cert_expiry_hours(tp, tpp, 180), bexp, other_pk,
                                       NULL),
                     OB_OK);
    memcpy(cert + 40 + 4, Ab, 32); /* ext 04: the signer the cert claims */
    assert_int_equal(onl_dkey_certify(k, cert, cert_len, rev, now, &d), OB_ERR_VERIFY);
    /* Expired at install. */
    certify_as_offline(tp, tpp, k->sign_pk, cert, &cert_len, rev, NULL);
    assert_int_equal(onl_dkey_certify(k, cert, cert_len, rev,
                                      (uint64_t)ob_hsv3_cert_expiry_hours(tp, tpp, 180) * 3600, &d),
                     OB_ERR_EXPIRED);
    /* Damaged. */
    cert[100] ^= 1;
    assert_int_equal(onl_dkey_certify(k, cert, cert_len, rev, now, &d), OB_ERR_VERIFY);
    assert_int_equal(onl_dkey_certify(k, cert, 10, rev, now, &d), OB_ERR_TRUNCATED);
    cert[100] ^= 1;
    assert_int_equal(k->state, ONL_DKEY_PENDING);
    assert_int_equal(onl_dkey_certify(k, cert, cert_len, rev, now, &d), OB_OK);
    /* Certified keys are not certified again. */
    assert_int_equal(onl_dkey_certify(k, cert, cert_len, rev, now, &d), OB_ERR_INTERNAL);
    onl_dkey_free(k);
    ob_secfree(other);
    ob_secfree(bexp);
}

/* Scan every file below path for needle (n bytes). */
static int found_in_tree(const char *path, const uint8_t *needle, size_t n)
{
    DIR *dh = opendir(path);
    struct dirent *e;
    int found = 0;

    if (dh == NULL) {
        uint8_t *p = NULL;
        size_t len = 0, i;
        if (ob_file_read_secret(path, 1 << 20, &p, &len, NULL) != OB_OK)
            return 0;
        for (i = 0; i + n <= len && !found; i++)
            found = memcmp(p + i, needle, n) == 0;
        ob_secfree(p);
        return found;
    }
    while (!found && (e = readdir(dh)) != NULL) {
        char sub[512];
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
        found = found_in_tree(sub, needle, n);
    }
    closedir(dh);
    return found;
}

static size_t files_in_tree(const char *path)
{
    DIR *dh = opendir(path);
    struct dirent *e;
    size_t n = 0;

    if (dh == NULL)
        return 1;
    while ((e = readdir(dh)) != NULL) {
        char sub[512];
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
        n += files_in_tree(sub);
    }
    closedir(dh);
    return n;
}

/*
 * Nothing the identity key can be derived from is stored: not the
 * identity's expanded key or either half, not a blinded secret key or
 * either half.  The positive control finds a signing key it did store.
 */
static void test_no_identity_material(void **state)
{
    const ob_tp_params *tpp = &OB_TP_LIVE;
    uint64_t tp = 20200, now = now_in(tp, tpp, 60), i;
    uint8_t *bexp = ob_secalloc(64 * 4);
    onl_dkey *l = NULL;
    ob_diag d;

    (void)state;
    assert_non_null(bexp);
    for (i = 0; i < 4; i++)
        install_period(tp + i, tpp, now, bexp + 64 * i);
    assert_true(files_in_tree(store) >= 4);
    assert_false(found_in_tree(store, id_exp, 32));
    assert_false(found_in_tree(store, id_exp + 32, 32));
    for (i = 0; i < 4; i++) {
        assert_false(found_in_tree(store, bexp + 64 * i, 32));
        assert_false(found_in_tree(store, bexp + 64 * i + 32, 32));
    }
    /* Control: the scan does find what is stored. */
    assert_int_equal(onl_dkey_load(cfg, id_addr, tp, now, &l, &d), OB_OK);
    assert_true(found_in_tree(store, l->sign_exp, 32));
    assert_true(found_in_tree(store, l->rev_key, 32));
    onl_dkey_free(l);
    ob_secfree(bexp);
}

static void test_list_and_until(void **state)
{
    /* A test network's short periods: 24 voting intervals of 10 s. */
    const ob_tp_params tpp = { 4, 2 };
    uint64_t tp = 7000000, now = now_in(tp, &tpp, 30), i;
    onl_dkey_list l;
    char *alt = NULL;
    ob_diag d;

    (void)state;
    /* A store of its own: the other tests' periods are of another length. */
    snprintf(store, sizeof(store), "%s/state2/delegated", dir);
    setenv("OB_DELEGATED_STORE", store, 1);
    /* Nothing installed: runs out now. */
    assert_int_equal(onl_dkeys_list(cfg, id_addr, &tpp, now, &l, &d), OB_OK);
    assert_int_equal(l.n, 0);
    assert_int_equal(l.certified_until, now);
    onl_dkey_list_free(&l);
    /* Only a pending key: nothing certified to list or sort (fuzz_keys found qsort(NULL)). */
    {
        onl_dkey *k = NULL;
        assert_int_equal(onl_dkey_new_pending(id_addr, tp + 100, &tpp, now, &k, &d), OB_OK);
        assert_int_equal(onl_dkey_save(cfg, k, &d), OB_OK);
        onl_dkey_free(k);
    }
    assert_int_equal(onl_dkeys_list(cfg, id_addr, &tpp, now, &l, &d), OB_OK);
    assert_int_equal(l.n, 0);
    assert_null(l.v);
    assert_int_equal(l.certified_until, now);
    onl_dkey_list_free(&l);
    /* tp .. tp+5 certified (and tp-1: the first descriptor may still be for it). */
    for (i = 0; i < 7; i++)
        install_period(tp - 1 + i, &tpp, now, NULL);
    assert_int_equal(onl_dkeys_list(cfg, id_addr, &tpp, now, &l, &d), OB_OK);
    assert_int_equal(l.n, 7);
    for (i = 0; i < l.n; i++) {
        assert_int_equal(l.v[i].tp, tp - 1 + i);
        assert_null(l.v[i].sign_exp);
        assert_null(l.v[i].rev_key);
    }
    assert_int_equal(l.last_tp, tp + 5);
    /* The second descriptor of tp+6 is needed from its SRV run's start on. */
    assert_int_equal(l.certified_until, run_start(tp + 6, &tpp));
    onl_dkey_list_free(&l);
    /* A hole at tp+2: the certification runs out when tp+2 is first needed. */
    {
        char path[256];
        snprintf(path, sizeof(path), "%s/%s/%llu.key", store, id_addr,
                 (unsigned long long)(tp + 2));
        assert_int_equal(unlink(path), 0);
    }
    assert_int_equal(onl_dkeys_list(cfg, id_addr, &tpp, now, &l, &d), OB_OK);
    assert_int_equal(l.n, 6);
    assert_int_equal(l.last_tp, tp + 1);
    assert_int_equal(l.certified_until, run_start(tp + 2, &tpp));
    onl_dkey_list_free(&l);
    /* The store follows $OB_DELEGATED_STORE. */
    alt = onl_dkeys_dir(cfg);
    assert_string_equal(alt, store);
    free(alt);
    snprintf(store, sizeof(store), "%s/state/delegated", dir);
    setenv("OB_DELEGATED_STORE", store, 1);
}

static void test_damage_and_modes(void **state)
{
    const ob_tp_params *tpp = &OB_TP_LIVE;
    uint64_t tp = 20300, now = now_in(tp, tpp, 60);
    char path[256];
    uint8_t *p = NULL;
    size_t len = 0;
    onl_dkey *l = NULL;
    onl_dkey_list lst;
    ob_diag d;

    (void)state;
    install_period(tp, tpp, now, NULL);
    snprintf(path, sizeof(path), "%s/%s/%llu.key", store, id_addr, (unsigned long long)tp);
    /* One flipped byte: refused, naming the file. */
    assert_int_equal(ob_file_read_secret(path, 4096, &p, &len, &d), OB_OK);
    p[70] ^= 0x01;
    assert_int_equal(ob_file_write_atomic(path, p, len, 0600, 0, &d), OB_OK);
    assert_int_equal(onl_dkey_load(cfg, id_addr, tp, now, &l, &d), OB_ERR_VERIFY);
    assert_non_null(strstr(d.msg, "digest mismatch"));
    assert_non_null(strstr(d.msg, path));
    assert_int_equal(onl_dkeys_list(cfg, id_addr, tpp, now, &lst, &d), OB_ERR_VERIFY);
    p[70] ^= 0x01;
    /* Truncated. */
    assert_int_equal(ob_file_write_atomic(path, p, len - 1, 0600, 0, &d), OB_OK);
    assert_int_equal(onl_dkey_load(cfg, id_addr, tp, now, &l, &d), OB_ERR_VERIFY);
    /* Readable by others: refused. */
    assert_int_equal(ob_file_write_atomic(path, p, len, 0644, 0, &d), OB_OK);
    assert_int_equal(onl_dkey_load(cfg, id_addr, tp, now, &l, &d), OB_ERR_IO);
    assert_non_null(strstr(d.msg, "0600"));
    assert_int_equal(chmod(path, 0600), 0);
    assert_int_equal(onl_dkey_load(cfg, id_addr, tp, now, &l, &d), OB_OK);
    onl_dkey_free(l);
    l = NULL;
    /* A service directory open to others: refused. */
    snprintf(path, sizeof(path), "%s/%s", store, id_addr);
    assert_int_equal(chmod(path, 0755), 0);
    assert_int_equal(onl_dkey_load(cfg, id_addr, tp, now, &l, &d), OB_ERR_IO);
    assert_non_null(strstr(d.msg, "chmod 700"));
    assert_int_equal(chmod(path, 0700), 0);
    ob_secfree(p);
}

static void test_prune(void **state)
{
    const ob_tp_params *tpp = &OB_TP_LIVE;
    uint64_t tp = 20400, now = now_in(tp, tpp, 60);
    onl_dkey *a = NULL, *b = NULL, *x = NULL;
    size_t n = 0;
    ob_diag d;

    (void)state;
    assert_int_equal(onl_dkey_new_pending(id_addr, tp, tpp, now, &a, &d), OB_OK);
    assert_int_equal(onl_dkey_new_pending(id_addr, tp + 3, tpp, now, &b, &d), OB_OK);
    assert_int_equal(onl_dkey_save(cfg, a, &d), OB_OK);
    assert_int_equal(onl_dkey_save(cfg, b, &d), OB_OK);
    /* At now both are useful; once tp's descriptors are no longer published, a goes. */
    assert_int_equal(onl_dkeys_prune(cfg, id_addr, now, &n, &d), OB_OK);
    assert_int_equal(n, 0);
    assert_int_equal(onl_dkeys_prune(cfg, id_addr, a->use_until, &n, &d), OB_OK);
    assert_int_equal(n, 1);
    assert_int_equal(onl_dkey_find_pending(cfg, id_addr, tp, a->sign_pk, &x, &d), OB_ERR_NOTFOUND);
    assert_int_equal(onl_dkey_find_pending(cfg, id_addr, tp + 3, b->sign_pk, &x, &d), OB_OK);
    onl_dkey_free(x);
    onl_dkey_free(a);
    onl_dkey_free(b);
}

/* Where the store is: beside the request store, whatever moved it. */
static void test_store_location(void **state)
{
    const char *saved = getenv("OB_REQUEST_STORE");
    char *keep = saved != NULL ? strdup(saved) : NULL, *p;

    (void)state;
    unsetenv("OB_DELEGATED_STORE");
    unsetenv("OB_REQUEST_STORE");
    setenv("STATE_DIRECTORY", "/var/lib/ob-online:/var/lib/other", 1);
    p = onl_dkeys_dir(cfg);
    assert_string_equal(p, "/var/lib/ob-online/delegated");
    free(p);
    setenv("OB_REQUEST_STORE", "/srv/t/requests/", 1);
    p = onl_dkeys_dir(cfg);
    assert_string_equal(p, "/srv/t/delegated");
    free(p);
    setenv("OB_REQUEST_STORE", "/srv/t/reqs", 1);
    p = onl_dkeys_dir(cfg);
    assert_string_equal(p, "/srv/t/reqs/delegated");
    free(p);
    unsetenv("STATE_DIRECTORY");
    if (keep != NULL)
        setenv("OB_REQUEST_STORE", keep, 1);
    else
        unsetenv("OB_REQUEST_STORE");
    free(keep);
    setenv("OB_DELEGATED_STORE", store, 1);
}

static void test_bad_arguments(void **state)
{
    onl_dkey *k = NULL;
    const ob_tp_params bad = { 0, 0 };
    ob_diag d;

    (void)state;
    assert_int_equal(onl_dkey_new_pending("abc", 1, &OB_TP_LIVE, 0, &k, &d), OB_ERR_MALFORMED);
    assert_int_equal(onl_dkey_new_pending(id_addr, 1, &bad, 0, &k, &d), OB_ERR_RANGE);
    assert_int_equal(onl_dkey_new_pending(id_addr, UINT64_C(1) << 32, &OB_TP_LIVE, 0, &k, &d),
                     OB_ERR_RANGE);
    assert_null(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),           cmocka_unit_test(test_certify_refusals),
        cmocka_unit_test(test_no_identity_material), cmocka_unit_test(test_list_and_until),
        cmocka_unit_test(test_damage_and_modes),     cmocka_unit_test(test_prune),
        cmocka_unit_test(test_store_location),       cmocka_unit_test(test_bad_arguments),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}

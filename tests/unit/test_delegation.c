/*
 * test_delegation.c - the key certification of the delegated mode, both
 * halves with the real code and an injected clock: `delegate request`'s
 * builder (online/delegate.c), `certify` (offline/certify.c) and `delegate
 * install` (online/delegate.c, online/dkeys.c).
 *
 *   - a whole round: every certificate installed verifies against the
 *     blinded key of its period, expires by the ceremony mode's rule, and
 *     carries the revision-counter key the ceremony mode counts with;
 *   - the store then holds no byte of the identity key or of any blinded
 *     secret key (the scan finds the signing keys it does hold);
 *   - certify's refusals: a period already over, one beginning beyond
 *     delegation_max_days, an unknown service, a request from the future,
 *     another period length;
 *   - install's refusals, each leaving the store without a single new key:
 *     keys this machine does not hold, a response to another request, a
 *     forged signature, a service the online config does not have.
 *
 * Fixture mode for tests/cli/test_delegate.sh:
 *   OB_DELEGATION_MUTATE=past OB_DELEGATION_IN=REQ OB_DELEGATION_OUT=REQ2
 *       the key request with every period moved 40 periods back (dates
 *       recomputed, digest resealed): what a taken online machine could
 *       send, or a request carried across too late.
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
#include <time.h>
#include <unistd.h>

#include "bundle.h"
#include "certify.h"
#include "config.h"
#include "delegate.h"
#include "dkeys.h"
#include "ed25519x.h"
#include "fileio.h"
#include "hsv3_blind.h"
#include "hsv3_cert.h"
#include "hsv3_sign_desc.h"
#include "keystore.h"
#include "onion.h"
#include "secmem.h"

/* The checked period API for periods in range (hsv3_common.h). */
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
static ofl_key *master;
static char addr[OB_ONION_V3_LEN + 1];
static const ob_tp_params LIVE = { 1440, 720 };

/* A moment 19:00 UTC: the first publish slot is still the period before. */
static uint64_t evening(void)
{
    uint64_t t = tp_start(20790, &LIVE); /* 12:00 UTC */
    return t + 7 * 3600;
}

static int setup(void **state)
{
    ob_diag d;

    (void)state;
    if (ob_secmem_init() != 0 || ofl_keystore_init_openssl() != 0)
        return -1;
    snprintf(dir, sizeof(dir), "/tmp/ob-test-delegation-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    if (ofl_key_generate(3, &master, &d) != OB_OK)
        return -1;
    snprintf(addr, sizeof(addr), "%s", ofl_key_address(master));
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];

    (void)state;
    ofl_key_free(master);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* A fresh store for each test. */
static void new_store(const char *name)
{
    snprintf(store, sizeof(store), "%s/%s", dir, name);
    setenv("OB_DELEGATED_STORE", store, 1);
}

static ob_config *config(const char *extra, const char *services)
{
    char yaml[2048];
    ob_config *c = NULL;
    ob_diag d;

    snprintf(yaml, sizeof(yaml), "%s\nservices:\n%s", extra, services);
    if (ob_config_parse("/tmp/t.yaml", yaml, strlen(yaml), &c, &d) != OB_OK)
        fail_msg("config: %s", d.msg);
    return c;
}

static const char backend[] = "pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd";

static ob_config *online_cfg(void)
{
    char s[512];

    snprintf(s, sizeof(s), "  - address: %s.onion\n    instances:\n      - address: %s.onion\n",
             addr, backend);
    return config("", s);
}

static ob_config *offline_cfg(const char *extra, const char *address)
{
    char s[512];

    snprintf(s, sizeof(s),
             "  - key: master.key\n    address: %s.onion\n    instances:\n      - address: "
             "%s.onion\n",
             address, backend);
    return config(extra, s);
}

/* The online side's request at now for days, serialized, its keys saved pending. */
static ob_keyrequest *make_request(ob_config *on, uint64_t now, unsigned days)
{
    ob_keyrequest *req = NULL;
    onl_pending_keys keys;
    size_t n_v2 = 0;
    ob_buf b;
    ob_diag d;

    if (onl_delegate_request_build(on, NULL, &LIVE, now, days, &req, &keys, &n_v2, &d) != OB_OK)
        fail_msg("request: %s", d.msg);
    assert_int_equal(keys.n, req->services[0].n_periods);
    ob_buf_init(&b);
    assert_int_equal(ob_keyrequest_serialize(req, &b, &d), OB_OK);
    if (onl_delegate_save_pending(on, req, &keys, &d) != OB_OK)
        fail_msg("save: %s", d.msg);
    onl_pending_keys_free(&keys);
    ob_buf_free(&b);
    return req;
}

static ofl_keyring *keyring(const ob_config *off)
{
    ofl_keyring *kr = calloc(1, sizeof(*kr));

    assert_non_null(kr);
    kr->by_service = calloc(off->n_services + 1, sizeof(*kr->by_service));
    assert_non_null(kr->by_service);
    kr->by_service[0] = master; /* borrowed: keys/n_keys stay empty */
    return kr;
}

static ob_keyresponse *certify(ob_config *off, const ob_keyrequest *req, uint64_t now)
{
    ofl_cert_plan *p = NULL;
    ob_keyresponse *resp = NULL;
    ofl_keyring *kr = keyring(off);
    size_t len = 0, frames = 0;
    ob_diag d;

    if (ofl_certify_check(off, req, now, &p, &d) != OB_OK)
        fail_msg("check: %s", d.msg);
    if (ofl_certify_execute(p, kr, &resp, &d) != OB_OK)
        fail_msg("execute: %s", d.msg);
    if (ofl_certify_selfcheck(p, resp, &len, &frames, &d) != OB_OK)
        fail_msg("selfcheck: %s", d.msg);
    print_message("    %zu periods: response %zu bytes, %zu QR frames\n",
                  req->services[0].n_periods, len, frames);
    assert_true(frames >= 1 && frames <= 10);
    ofl_cert_plan_free(p);
    free(kr->by_service);
    free(kr);
    return resp;
}

/* Scan every file below path for needle. */
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

static void test_round(void **state)
{
    ob_config *on = online_cfg(), *off = offline_cfg("", addr);
    uint64_t now = evening();
    ob_keyrequest *req;
    ob_keyresponse *resp;
    onl_install_report rep;
    onl_dkey_list l;
    size_t i;
    ob_diag d;

    (void)state;
    new_store("round");
    req = make_request(on, now, 30);
    /* 19:00: the period before is still published (first slot); then 30 days ahead. */
    assert_int_equal(req->services[0].periods[0].tp, 20789);
    assert_int_equal(req->services[0].n_periods, 32);
    resp = certify(off, req, now);
    assert_int_equal(onl_delegate_install(on, resp, now, &rep, &d), OB_OK);
    assert_int_equal(rep.n_installed, 32);
    assert_int_equal(rep.first_tp, 20789);
    assert_int_equal(rep.last_tp, 20820);
    for (i = 0; i < req->services[0].n_periods; i++) {
        uint64_t tp = req->services[0].periods[i].tp;
        uint8_t *bexp = ob_secalloc(64), Ab[32], rk[32];
        onl_dkey *k = NULL;
        ob_ed_cert c;
        assert_non_null(bexp);
        if (onl_dkey_load(on, addr, tp, now, &k, &d) != OB_OK)
            fail_msg("load %llu: %s", (unsigned long long)tp, d.msg);
        /* Signed by the period's blinded key, for the key the request sent. */
        assert_int_equal(ob_ed_cert_parse(&c, k->cert, k->cert_len, &d), OB_OK);
        assert_int_equal(c.type, OB_CERT_DESC_SIGNING);
        assert_memory_equal(c.certified, req->services[0].periods[i].signing_key, 32);
        assert_int_equal(ob_hsv3_blind_public(Ab, ofl_key_ed25519_public(master), tp, 1440), 0);
        assert_int_equal(ob_ed_cert_verify(&c, Ab, now, &d), OB_OK);
        /* Expiry: the ceremony mode's rule, after the period's descriptors are last used. */
        assert_int_equal(c.expiration_hours, ob_hsv3_cert_expiry_hours(tp, &LIVE, 180));
        assert_true((uint64_t)c.expiration_hours * 3600 >= k->use_until + 180 * 60);
        assert_true((uint64_t)c.expiration_hours * 3600 <= k->use_until + 180 * 60 + 2 * 3600);
        assert_int_equal(k->cert_expires, (uint64_t)c.expiration_hours * 3600);
        /* The revision-counter key the ceremony mode counts with (offline/hsv3_sign.c). */
        assert_int_equal(ofl_hsv3_blind_secret(bexp, ofl_key_ed25519_expanded(master),
                                               ofl_key_ed25519_public(master), tp, 1440),
                         0);
        assert_int_equal(ofl_hsv3_rev_counter_key(rk, bexp), 0);
        assert_memory_equal(k->rev_key, rk, 32);
        /* Nothing of the blinded secret is stored; the signing key is (control). */
        assert_false(found_in_tree(store, bexp, 32));
        assert_false(found_in_tree(store, bexp + 32, 32));
        assert_true(found_in_tree(store, k->sign_exp, 32));
        ob_secfree(bexp);
        onl_dkey_free(k);
    }
    assert_false(found_in_tree(store, ofl_key_ed25519_expanded(master), 32));
    assert_false(found_in_tree(store, ofl_key_ed25519_expanded(master) + 32, 32));
    /* Certified until the second descriptor first needs a period past the last. */
    assert_int_equal(onl_delegate_list(on, addr, now, &l, &d), OB_OK);
    assert_int_equal(l.n, 32);
    assert_int_equal(l.n_pending, 0);
    assert_int_equal(l.certified_until, run_start(20821, &LIVE));
    onl_dkey_list_free(&l);
    /* The same response again installs nothing new. */
    assert_int_equal(onl_delegate_install(on, resp, now, &rep, &d), OB_OK);
    assert_int_equal(rep.n_installed, 0);
    assert_int_equal(rep.n_already, 32);
    /* A day and a half later the first periods are over: skipped, the rest already there. */
    assert_int_equal(onl_delegate_install(on, resp, now + 36 * 3600, &rep, &d), OB_OK);
    assert_int_equal(rep.n_over, 2);
    ob_keyresponse_free(resp);
    ob_keyrequest_free(req);
    ob_config_free(on);
    ob_config_free(off);
}

static void expect_refused(ob_config *off, const ob_keyrequest *req, uint64_t now,
                           const char *needle)
{
    ofl_cert_plan *p = NULL;
    ob_diag d;

    assert_int_equal(ofl_certify_check(off, req, now, &p, &d), OB_ERR_REFUSED);
    assert_null(p);
    if (strstr(d.msg, needle) == NULL)
        fail_msg("'%s' lacks '%s'", d.msg, needle);
}

static void test_certify_refusals(void **state)
{
    ob_config *on = online_cfg(), *off = offline_cfg("", addr), *short_max;
    ob_config *other = offline_cfg("", "sp3k262uwy4r2k3ycr5awluarykdpag6a7y33jxop4cs2lu5uz5sseqd"),
              *len = offline_cfg("time_period_length: 720", addr);
    uint64_t now = evening();
    ob_keyrequest *req;

    (void)state;
    new_store("refusals");
    req = make_request(on, now, 30);
    /* The first period (the one before) is over by 00:00 the next day. */
    expect_refused(off, req, run_start(20791, &LIVE), "period 20789");
    expect_refused(off, req, run_start(20791, &LIVE), "is over");
    /* A day before: the last period (30 days ahead) is more than 29 days away. */
    short_max = offline_cfg("delegation_max_days: 29", addr);
    assert_int_equal(short_max->delegation_max_days, 29);
    expect_refused(short_max, req, now, "more than delegation_max_days (29)");
    /* Unknown service. */
    expect_refused(other, req, now, "is not in this machine's config");
    /* The online clock ahead of ours by more than max_clock_skew. */
    expect_refused(off, req, now - 3600, "the clocks disagree");
    /* Another period length. */
    expect_refused(len, req, now, "time period length is 1440 min");
    /* And the same request passes with the default maximum of 31 days. */
    assert_int_equal(off->delegation_max_days, 31);
    {
        ofl_cert_plan *p = NULL;
        ob_buf sum;
        ob_diag d;
        assert_int_equal(ofl_certify_check(off, req, now, &p, &d), OB_OK);
        assert_int_equal(p->n_keys, 32);
        assert_int_equal(p->first_tp, 20789);
        assert_int_equal(p->last_tp, 20820);
        assert_int_equal(p->certified_until, run_start(20821, &LIVE));
        ob_buf_init(&sum);
        ofl_certify_summary(p, &sum);
        ob_buf_nul(&sum);
        assert_non_null(strstr((char *)sum.p, "First period: 20789, 2026-12-02 12:00 UTC"));
        assert_non_null(strstr((char *)sum.p, "Last period:  20820"));
        assert_non_null(strstr((char *)sum.p, "Next certification due by: 2027-01-03 00:00 UTC"));
        /* The digest is the only thing that tells the operator's request from one swapped on
         * the way (its keys would be someone else's): the summary says to compare it. */
        assert_non_null(strstr((char *)sum.p, "Compare this digest with the one ob-online"));
        /* What the operator agrees to: signing by the online machine until the last certificate
         * expires (period 20820: its descriptor window ends 2027-01-04 00:00, + 180 min + 1 h),
         * not only until the next certification is due. */
        assert_non_null(strstr((char *)sum.p, "by itself until 2027-01-04 04:00 UTC"));
        ob_buf_free(&sum);
        ofl_cert_plan_free(p);
    }
    ob_keyrequest_free(req);
    ob_config_free(on);
    ob_config_free(off);
    ob_config_free(other);
    ob_config_free(len);
    ob_config_free(short_max);
}

static size_t certified_count(ob_config *on, uint64_t now)
{
    onl_dkey_list l;
    size_t n;
    ob_diag d;

    assert_int_equal(onl_delegate_list(on, addr, now, &l, &d), OB_OK);
    n = l.n;
    onl_dkey_list_free(&l);
    return n;
}

static void test_install_refusals(void **state)
{
    ob_config *on = online_cfg(), *off = offline_cfg("", addr), *on2;
    uint64_t now = evening();
    ob_keyrequest *req;
    ob_keyresponse *resp;
    onl_install_report rep;
    ob_diag d;

    (void)state;
    new_store("install-a");
    req = make_request(on, now, 3);
    resp = certify(off, req, now);
    /* Another machine (another store) holds none of these keys. */
    new_store("install-b");
    assert_int_equal(onl_delegate_install(on, resp, now, &rep, &d), OB_ERR_REFUSED);
    assert_non_null(strstr(d.msg, "which this machine does not hold"));
    assert_non_null(strstr(d.msg, "nothing was installed"));
    assert_int_equal(certified_count(on, now), 0);
    /* Back on the machine that made them: a response to another request. */
    new_store("install-a");
    resp->request_digest[0] ^= 1;
    assert_int_equal(onl_delegate_install(on, resp, now, &rep, &d), OB_ERR_REFUSED);
    assert_non_null(strstr(d.msg, "the response answers request"));
    resp->request_digest[0] ^= 1;
    /* One forged signature, in the last period: not even the good ones go in. */
    resp->services[0].certs[resp->services[0].n_certs - 1].signature[5] ^= 1;
    assert_int_equal(onl_delegate_install(on, resp, now, &rep, &d), OB_ERR_VERIFY);
    assert_non_null(strstr(d.msg, "bad certificate signature"));
    assert_int_equal(certified_count(on, now), 0);
    resp->services[0].certs[resp->services[0].n_certs - 1].signature[5] ^= 1;
    /* A certificate of one period presented for another. */
    resp->services[0].certs[1].tp = resp->services[0].certs[0].tp;
    assert_int_not_equal(onl_delegate_install(on, resp, now, &rep, &d), OB_OK);
    assert_int_equal(certified_count(on, now), 0);
    resp->services[0].certs[1].tp = resp->services[0].certs[0].tp + 1;
    /* A service the online config does not serve. */
    {
        char s[512];
        snprintf(s, sizeof(s), "  - address: %s.onion\n    instances:\n      - address: %s.onion\n",
                 backend, addr);
        on2 = config("", s);
    }
    assert_int_equal(onl_delegate_install(on2, resp, now, &rep, &d), OB_ERR_REFUSED);
    assert_non_null(strstr(d.msg, "is not a v3 service of"));
    /* Untouched, it installs. */
    assert_int_equal(onl_delegate_install(on, resp, now, &rep, &d), OB_OK);
    assert_int_equal(rep.n_installed, resp->services[0].n_certs);
    assert_int_equal(certified_count(on, now), resp->services[0].n_certs);
    ob_keyresponse_free(resp);
    ob_keyrequest_free(req);
    ob_config_free(on);
    ob_config_free(on2);
    ob_config_free(off);
}

static void test_periods(void **state)
{
    uint64_t first = 0, last = 0, morning = evening() + 14 * 3600; /* 09:00 the next day */
    ob_diag d;

    (void)state;
    assert_int_equal(onl_delegate_periods(&LIVE, evening(), 30, &first, &last, &d), OB_OK);
    assert_int_equal(first, 20789);
    assert_int_equal(last, 20820);
    /* Between 00:00 and 12:00 the first descriptor is for the current period. */
    assert_int_equal(onl_delegate_periods(&LIVE, morning, 30, &first, &last, &d), OB_OK);
    assert_int_equal(first, 20790);
    assert_int_equal(last, 20820);
    assert_int_equal(onl_delegate_periods(&LIVE, morning, 1, &first, &last, &d), OB_OK);
    assert_int_equal(last, 20791);
    /* Short test-network periods: 366 days would be far too many. */
    {
        const ob_tp_params tn = { 4, 2 };
        assert_int_equal(onl_delegate_periods(&tn, evening(), 366, &first, &last, &d),
                         OB_ERR_RANGE);
        assert_non_null(strstr(d.msg, "choose fewer --days"));
        assert_int_equal(onl_delegate_periods(&tn, evening(), 1, &first, &last, &d), OB_OK);
        assert_true(last - first + 1 >= 360 && last - first + 1 <= 362);
    }
    assert_int_equal(onl_delegate_periods(&LIVE, evening(), 0, &first, &last, &d), OB_ERR_RANGE);
}

/* The daemon's renewal writes its requests with onl_delegate_request_write, one service each. */
static void test_request_write(void **state)
{
    char path[256], yaml[1024];
    const char *other = "sp3k262uwy4r2k3ycr5awluarykdpag6a7y33jxop4cs2lu5uz5sseqd";
    ob_config *on;
    ob_keyrequest *req = NULL, *back = NULL;
    onl_dkey_list l;
    size_t n = 0, n_v2 = 0;
    ob_diag d;

    (void)state;
    new_store("write");
    snprintf(yaml, sizeof(yaml),
             "  - address: %s.onion\n    instances:\n      - address: %s.onion\n"
             "  - address: %s.onion\n    instances:\n      - address: %s.onion\n",
             addr, backend, other, backend);
    on = config("", yaml);
    snprintf(path, sizeof(path), "%s/renewal.obb", dir);
    assert_int_equal(
        onl_delegate_request_write(on, addr, &LIVE, evening(), 3, path, &req, &n, &n_v2, &d),
        OB_OK);
    assert_int_equal(req->n_services, 1);
    assert_string_equal(req->services[0].address, addr);
    assert_int_equal(n, req->services[0].n_periods);
    assert_int_equal(ob_keyrequest_read_file(path, &back, &d), OB_OK);
    assert_memory_equal(back->digest, req->digest, 32);
    assert_int_equal(onl_delegate_list(on, addr, evening(), &l, &d), OB_OK);
    assert_int_equal(l.n_pending, n);
    /* the request waiting for its response, as the renewal finds it after a restart */
    assert_int_equal(l.pending_last_tp, req->services[0].periods[n - 1].tp);
    assert_int_equal(l.pending_read, 1);
    assert_memory_equal(l.pending_digest, req->digest, 32);
    assert_int_equal(l.pending_created, evening());
    onl_dkey_list_free(&l);
    /* Never over an existing file, and then no keys are kept for it. */
    assert_int_equal(
        onl_delegate_request_write(on, other, &LIVE, evening(), 3, path, NULL, &n, &n_v2, &d),
        OB_ERR_EXISTS);
    assert_int_equal(onl_delegate_list(on, other, evening(), &l, &d), OB_OK);
    assert_int_equal(l.n_pending, 0);
    assert_int_equal(l.pending_last_tp, 0);
    assert_int_equal(l.pending_read, 0);
    onl_dkey_list_free(&l);
    /* A service the config does not have. */
    assert_int_equal(
        onl_delegate_request_write(on, backend, &LIVE, evening(), 3, path, NULL, &n, &n_v2, &d),
        OB_ERR_EXISTS);
    snprintf(path, sizeof(path), "%s/renewal2.obb", dir);
    assert_int_equal(
        onl_delegate_request_write(on, backend, &LIVE, evening(), 3, path, NULL, &n, &n_v2, &d),
        OB_ERR_REFUSED);
    assert_false(ob_path_exists(path));
    ob_keyrequest_free(req);
    ob_keyrequest_free(back);
    ob_config_free(on);
}

/* ---- fixture mode ---- */

static int mutate_main(const char *what)
{
    const char *in = getenv("OB_DELEGATION_IN"), *out = getenv("OB_DELEGATION_OUT");
    ob_keyrequest *r = NULL;
    ob_tp_params tpp;
    ob_diag d;
    size_t i, j;

    if (in == NULL || out == NULL || strcmp(what, "past") != 0) {
        fprintf(stderr, "OB_DELEGATION_MUTATE=past needs OB_DELEGATION_IN and _OUT\n");
        return 2;
    }
    if (ob_keyrequest_read_file(in, &r, &d) != OB_OK) {
        fprintf(stderr, "%s\n", d.msg);
        return 1;
    }
    tpp.length_min = r->tp_length_min;
    tpp.offset_min = r->tp_offset_min;
    for (i = 0; i < r->n_services; i++) {
        for (j = 0; j < r->services[i].n_periods; j++) {
            ob_keyreq_period *p = &r->services[i].periods[j];
            p->tp -= 40;
            p->valid_from = tp_start(p->tp, &tpp);
            p->valid_until = tp_start(p->tp + 1, &tpp);
        }
    }
    if (ob_keyrequest_write_file(out, r, OB_WRITE_EXCL, &d) != OB_OK) {
        fprintf(stderr, "%s\n", d.msg);
        ob_keyrequest_free(r);
        return 1;
    }
    ob_keyrequest_free(r);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round),
        cmocka_unit_test(test_certify_refusals),
        cmocka_unit_test(test_install_refusals),
        cmocka_unit_test(test_periods),
        cmocka_unit_test(test_request_write),
    };
    const char *mut = getenv("OB_DELEGATION_MUTATE");

    if (mut != NULL) {
        if (ob_secmem_init() != 0)
            return 2;
        return mutate_main(mut);
    }
    return cmocka_run_group_tests(tests, setup, teardown);
}

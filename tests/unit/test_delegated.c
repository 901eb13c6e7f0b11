/*
 * test_delegated.c - the delegated mode's online signer (online/delegated.c):
 * revision counters (search, the counters file), building with certified
 * keys from a real key store, and the renewal clock.
 *
 * The "offline" half is simulated here with the offline library: the
 * master key is blinded for each period, a pending key of the store is
 * certified with a type-08 cert made with the blinded key, and the period's
 * revision-counter key is derived from it (as ob-offline certify does).  The
 * online half sees only what the store holds.  Backends are throwaway
 * services whose descriptors are built with the shared builder.  Expected
 * values come from the verifier and the selection rules, not the builder.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bundle.h"
#include "collect.h"
#include "config.h"
#include "crypto.h"
#include "deleg_daemon.h"
#include "delegated.h"
#include "dkeys.h"
#include "ed25519x.h"
#include "encode.h"
#include "hsv3_blind.h"
#include "hsv3_build.h"
#include "hsv3_cert.h"
#include "hsv3_common.h"
#include "hsv3_desc.h"
#include "hsv3_select.h"
#include "hsv3_sign_desc.h"
#include "onion.h"
#include "secmem.h"
#include "fake_intro.h"

/* The start of a period in range (the checked API, hsv3_common.h). */
static uint64_t tp_start(uint64_t tp, const ob_tp_params *p)
{
    uint64_t s = 0;

    assert_int_equal(ob_hsv3_tp_start(tp, p, &s), 0);
    return s;
}

/* 2026-11-22 12:00:00 UTC is the start of a live time period. */
#define T0  1795348800ull
#define NOW (T0 + 3600)

typedef struct key {
    uint8_t *exp; /* secure memory */
    uint8_t pk[32];
    char addr[57];
} key;

static void key_new(key *k)
{
    k->exp = ob_secalloc(64);
    assert_non_null(k->exp);
    assert_int_equal(ob_ed25519_keygen(k->exp, k->pk), 0);
    ob_onion_v3_encode(k->addr, k->pk);
}

static void key_free(key *k)
{
    ob_secfree(k->exp);
    k->exp = NULL;
}

/* A backend with n intro points, its descriptor for tp (readable only with
 * client_sk's key when client_pk is given). */
typedef struct backend {
    key id;
    uint8_t *text;
    size_t len;
    ob_hsv3_intro ips[OB_HSV3_MAX_INTROS];
    unsigned n;
} backend;

static void backend_make(backend *b, unsigned n, uint64_t tp, const uint8_t *client_pk)
{
    const ob_hsv3_intro *ptr[OB_HSV3_MAX_INTROS];
    uint8_t *bexp = ob_secalloc(64), *sexp = ob_secalloc(64), Ab[32], spk[32], cert[OB_CERT_LEN];
    size_t cl;
    ob_hsv3_build_in in;
    ob_diag d;
    unsigned i;

    memset(b, 0, sizeof(*b));
    key_new(&b->id);
    b->n = n;
    for (i = 0; i < n; i++) {
        assert_int_equal(ob_test_fake_intro(&b->ips[i], i), 0);
        ptr[i] = &b->ips[i];
    }
    assert_int_equal(ofl_hsv3_blind_secret(bexp, b->id.exp, b->id.pk, tp, 1440), 0);
    assert_int_equal(ob_ed25519_pub_from_expanded(Ab, bexp), 0);
    assert_int_equal(ob_ed25519_keygen(sexp, spk), 0);
    assert_int_equal(ob_ed_cert_create(cert, &cl, OB_CERT_DESC_SIGNING, spk,
                                       (uint32_t)(NOW / 3600 + 54), bexp, Ab, &d),
                     OB_OK);
    memset(&in, 0, sizeof(in));
    in.identity_pk = b->id.pk;
    in.tp = tp;
    in.tpp = &OB_TP_LIVE;
    in.signing_cert = cert;
    in.signing_cert_len = cl;
    in.sign_exp = sexp;
    in.sign_pk = spk;
    in.revision = 1;
    in.intros = ptr;
    in.n_intros = n;
    in.client_pks = client_pk != NULL ? (const uint8_t(*)[32])client_pk : NULL;
    in.n_clients = client_pk != NULL;
    assert_int_equal(ob_hsv3_build(&in, &b->text, &b->len, &d), OB_OK);
    ob_secfree(bexp);
    ob_secfree(sexp);
}

static void backend_free(backend *b)
{
    unsigned i;

    for (i = 0; i < b->n; i++)
        ob_hsv3_intro_clear(&b->ips[i]);
    free(b->text);
    key_free(&b->id);
}

/* ---- the fixture: a store, a config, backends, a collected request ---- */

typedef struct fixture {
    char dir[64];
    key master;
    backend be[3];
    size_t n_be;
    ob_config *cfg;
    ob_request *req;
} fixture;

static ob_err fetch_mem(void *ctx, const ob_cfg_service *s, const ob_cfg_instance *in,
                        uint8_t **desc, size_t *len, uint64_t *at, char *why, size_t why_len,
                        ob_diag *d)
{
    fixture *f = ctx;
    size_t i;

    (void)s;
    (void)d;
    for (i = 0; i < f->n_be; i++)
        if (strcmp(f->be[i].id.addr, in->address) == 0) {
            *desc = malloc(f->be[i].len + 1);
            assert_non_null(*desc);
            memcpy(*desc, f->be[i].text, f->be[i].len + 1);
            *len = f->be[i].len;
            *at = NOW - 30;
            return OB_OK;
        }
    snprintf(why, why_len, "not fetched");
    return OB_ERR_NOTFOUND;
}

/* A config with the master and the backends; extra lines go under the third instance. */
static void fixture_config(fixture *f, const char *third_extra)
{
    char text[4096], path[128];
    ob_diag d;
    int n;

    n = snprintf(text, sizeof(text),
                 "services:\n  - address: %s.onion\n    descriptor_lifetime: 60\n"
                 "    instances:\n",
                 f->master.addr);
    for (size_t i = 0; i < f->n_be; i++)
        n += snprintf(text + n, sizeof(text) - (size_t)n, "      - address: %s.onion\n%s",
                      f->be[i].id.addr, i == 2 && third_extra ? third_extra : "");
    snprintf(path, sizeof(path), "%s/online.yaml", f->dir);
    ob_config_free(f->cfg);
    f->cfg = NULL;
    if (ob_config_parse(path, text, strlen(text), &f->cfg, &d) != OB_OK)
        fail_msg("config: %s", d.msg);
}

static void fixture_collect(fixture *f)
{
    ob_consensus_facts facts;
    onl_collect_stats st;
    ob_diag d;

    ob_request_free(f->req);
    f->req = NULL;
    onl_collect_clock_facts(f->cfg, NOW, &facts);
    if (onl_collect_build(f->cfg, &facts, NOW, fetch_mem, f, &f->req, &st, &d) != OB_OK)
        fail_msg("collect: %s", d.msg);
}

/* What ob-offline certify does for (master, tp), then install as delegate install does. */
static void certify(fixture *f, uint64_t tp, uint8_t rev_key[32])
{
    uint8_t *bexp = ob_secalloc(64), Ab[32], cert[OB_CERT_LEN], rk[32];
    size_t cl;
    onl_dkey *k = NULL;
    ob_diag d;

    assert_int_equal(onl_dkey_new_pending(f->master.addr, tp, &OB_TP_LIVE, NOW, &k, &d), OB_OK);
    assert_int_equal(ofl_hsv3_blind_secret(bexp, f->master.exp, f->master.pk, tp, 1440), 0);
    assert_int_equal(ob_ed25519_pub_from_expanded(Ab, bexp), 0);
    assert_int_equal(ob_ed_cert_create(cert, &cl, OB_CERT_DESC_SIGNING, k->sign_pk,
                                       ob_hsv3_cert_expiry_hours(tp, &OB_TP_LIVE, 60), bexp, Ab,
                                       &d),
                     OB_OK);
    assert_int_equal(ofl_hsv3_rev_counter_key(rk, bexp), 0);
    ob_secfree(bexp);
    if (onl_dkey_certify(k, cert, cl, rk, NOW, &d) != OB_OK ||
        onl_dkey_save(f->cfg, k, &d) != OB_OK)
        fail_msg("certify: %s", d.msg);
    if (rev_key != NULL)
        memcpy(rev_key, rk, 32);
    ob_wipe(rk, sizeof(rk));
    onl_dkey_free(k);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    uint64_t tp = ob_hsv3_tp_num(NOW, &OB_TP_LIVE);

    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "/tmp/ob-test-deleg-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    {
        char store[128];
        snprintf(store, sizeof(store), "%s/store", f->dir);
        setenv("OB_DELEGATED_STORE", store, 1);
    }
    key_new(&f->master);
    f->n_be = 3;
    backend_make(&f->be[0], 3, tp, NULL);
    backend_make(&f->be[1], 2, tp, NULL);
    backend_make(&f->be[2], 4, tp, NULL);
    fixture_config(f, NULL);
    fixture_collect(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char cmd[128];
    size_t i;

    for (i = 0; i < f->n_be; i++)
        backend_free(&f->be[i]);
    key_free(&f->master);
    ob_config_free(f->cfg);
    ob_request_free(f->req);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    unsetenv("OB_DELEGATED_STORE");
    free(f);
    return 0;
}

/* ---- revision counters -------------------------------------------------- */

static void test_revisions_search(void **state)
{
    uint8_t rk[32];
    uint64_t run = T0 - 12 * 3600, c[6], floor, prev;
    size_t i;

    (void)state;
    ob_random(rk, sizeof(rk));
    /* No floor: the counter of now, then one second per group. */
    assert_int_equal(onl_deleg_revisions(rk, run, NOW, 0, 3, c), 0);
    assert_int_equal(ob_hsv3_rev_counter_from_key(&prev, rk, NOW, run), 0);
    assert_int_equal(c[0], prev);
    assert_true(c[1] > c[0] && c[2] > c[1]);
    assert_int_equal(ob_hsv3_rev_counter_from_key(&prev, rk, NOW + 2, run), 0);
    assert_int_equal(c[2], prev);
    /* A floor above now's counter (an earlier build in the same second, or a
     * ceremony whose clock ran ahead): the first second whose counter exceeds it. */
    for (floor = c[2]; floor < c[2] + 400000; floor += 99991) {
        assert_int_equal(onl_deleg_revisions(rk, run, NOW, floor, 2, c + 3), 0);
        assert_true(c[3] > floor);
        assert_true(c[4] > c[3]);
        /* ... and it is the first: one second earlier is not above the floor */
        {
            uint64_t t = ob_hsv3_rev_t(NOW, run), x;
            for (i = 0; i < 1000000; i++, t++) {
                assert_int_equal(ob_hsv3_rev_ope(&x, rk, t), 0);
                if (x > floor)
                    break;
            }
            assert_int_equal(x, c[3]);
        }
    }
    /* Floor beyond the largest counter, or a clock before the run: none. */
    assert_int_equal(ob_hsv3_rev_ope(&prev, rk, OB_HSV3_REV_T_MAX), 0);
    assert_int_equal(onl_deleg_revisions(rk, run, NOW, prev, 1, c), -1);
    assert_int_equal(onl_deleg_revisions(rk, run, NOW, prev - 1, 1, c), 0);
    assert_int_equal(c[0], prev);
    assert_int_equal(onl_deleg_revisions(rk, run, NOW, prev - 1, 2, c), -1);
    assert_int_equal(onl_deleg_revisions(rk, run, run - 1, 0, 1, c), -1);
}

static void test_revisions_file(void **state)
{
    fixture *f = *state;
    onl_revs r;
    ob_diag d;
    char path[128], a2[57];
    uint64_t tp;
    FILE *fp;

    memset(a2, 'b', 56);
    a2[56] = '\0';
    tp = ob_hsv3_tp_num(NOW, &OB_TP_LIVE);
    /* No store yet: in memory, nothing written. */
    assert_int_equal(onl_revs_open(f->cfg, &r, &d), OB_OK);
    assert_null(r.path);
    onl_revs_close(&r);
    certify(f, ob_hsv3_tp_num(NOW, &OB_TP_LIVE), NULL); /* makes the store */
    assert_int_equal(onl_revs_open(f->cfg, &r, &d), OB_OK);
    assert_non_null(r.path);
    assert_int_equal(onl_revs_get(&r, f->master.addr, 7), 0);
    assert_int_equal(onl_revs_raise(&r, f->master.addr, 7, 100, &d), OB_OK);
    assert_int_equal(onl_revs_raise(&r, f->master.addr, 7, 50, &d), OB_OK); /* never lowers */
    assert_int_equal(onl_revs_raise(&r, a2, 7, 60, &d), OB_OK);
    assert_int_equal(onl_revs_raise(&r, f->master.addr, tp, 70, &d), OB_OK);
    assert_int_equal(onl_revs_get(&r, f->master.addr, 7), 100);
    assert_int_equal(onl_revs_get(&r, a2, 7), 60);
    assert_int_equal(onl_revs_save(&r, &d), OB_OK);
    onl_revs_close(&r);
    assert_int_equal(onl_revs_open(f->cfg, &r, &d), OB_OK);
    assert_int_equal(onl_revs_get(&r, f->master.addr, 7), 100);
    assert_int_equal(onl_revs_get(&r, f->master.addr, tp), 70);
    /* Pruning drops the periods no longer published (7 is long over). */
    onl_revs_prune(&r, &OB_TP_LIVE, NOW);
    assert_int_equal(onl_revs_get(&r, f->master.addr, 7), 0);
    assert_int_equal(onl_revs_get(&r, f->master.addr, tp), 70);
    onl_revs_close(&r);
    /* A damaged file is refused with its line. */
    snprintf(path, sizeof(path), "%s/store/revisions", f->dir);
    fp = fopen(path, "a");
    assert_non_null(fp);
    fprintf(fp, "%s 12 x\n", f->master.addr);
    fclose(fp);
    assert_int_equal(onl_revs_open(f->cfg, &r, &d), OB_ERR_MALFORMED);
    assert_non_null(strstr(d.msg, "revisions:4:"));
    assert_int_equal(r.lock_fd, -1);
    unlink(path);
    /* Numbers are plain decimal digits in range: sscanf's %llu would take "-1" as 2^64 - 1 (a
     * floor no counter exceeds: the period could never be signed again), a sign, or a number
     * past 2^64 (saturated). */
    {
        static const char *const bad[] = {
            " -1 5\n",         " 5 -1\n", " +5 7\n", " 5 +7\n", " 5 99999999999999999999\n",
            " 4294967296 7\n", " 5  7\n"
        };
        size_t i;
        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            fp = fopen(path, "w");
            assert_non_null(fp);
            fprintf(fp, "%s%s", f->master.addr, bad[i]);
            fclose(fp);
            if (onl_revs_open(f->cfg, &r, &d) != OB_ERR_MALFORMED)
                fail_msg("revisions line '%s' was accepted", bad[i]);
            assert_non_null(strstr(d.msg, "revisions:1:"));
        }
        unlink(path);
    }
}

/* ---- building ------------------------------------------------------------ */

static const ob_hsv3_intro *find_intro(const fixture *f, const ob_hsv3_intro *ip, size_t *inst)
{
    size_t i, k;

    for (i = 0; i < f->n_be; i++)
        for (k = 0; k < f->be[i].n; k++) {
            const ob_hsv3_intro *b = &f->be[i].ips[k];
            if (memcmp(b->auth_key, ip->auth_key, 32) == 0 &&
                memcmp(b->enc_key, ip->enc_key, 32) == 0 &&
                memcmp(b->onion_key, ip->onion_key, 32) == 0 &&
                b->link_spec_len == ip->link_spec_len &&
                memcmp(b->link_spec, ip->link_spec, b->link_spec_len) == 0) {
                *inst = i;
                return b;
            }
        }
    return NULL;
}

static void build(fixture *f, onl_revs *revs, uint64_t now, ob_response **resp, onl_deleg_out *out,
                  ob_err want)
{
    onl_deleg_period periods[2];
    ob_tp_params tpp = OB_TP_LIVE;
    onl_deleg_in in;
    ob_diag d;
    ob_err err;

    onl_deleg_slots(f->req->consensus.valid_after, &tpp, periods);
    memset(&in, 0, sizeof(in));
    in.cfg = f->cfg;
    in.svc = &f->cfg->services[0];
    in.rs = &f->req->services[0];
    in.tpp = &tpp;
    in.periods = periods;
    in.n_periods = 2;
    in.now = now;
    in.revs = revs;
    *resp = ob_response_new();
    assert_non_null(*resp);
    err = onl_deleg_build(&in, *resp, out, &d);
    if (err != want)
        fail_msg("build: %d (%s)", err, d.msg);
}

static void test_build(void **state)
{
    fixture *f = *state;
    uint64_t tp = ob_hsv3_tp_num(NOW, &OB_TP_LIVE), from, until, want;
    uint8_t rk[2][32];
    onl_revs revs;
    onl_deleg_out out;
    ob_response *r1 = NULL, *r2 = NULL;
    ob_hsv3_desc *got = NULL;
    ob_hsv3_verify_opts o;
    ob_hsv3_slot slots[2];
    ob_diag d;
    size_t i, j;

    /* 12:00-24:00 live: the first descriptor is tp-1's, the second tp's */
    ob_hsv3_publish_slots(f->req->consensus.valid_after, &OB_TP_LIVE, slots);
    assert_int_equal(slots[0].tp, tp - 1);
    assert_int_equal(slots[1].tp, tp);
    /* Only tp is certified: tp-1 is left to the ceremony mode. */
    certify(f, tp, rk[1]);
    onl_revs_init_memory(&revs);
    build(f, &revs, NOW, &r1, &out, OB_OK);
    assert_int_equal(out.state[0], ONL_DELEG_NO_KEY);
    assert_non_null(strstr(out.why[0], "no certified key for period"));
    assert_int_equal(out.state[1], ONL_DELEG_BUILT);
    assert_int_equal(out.n_ok, 3);
    assert_int_equal(out.n_skipped, 0);
    assert_int_equal(out.n_groups, 1);
    assert_int_equal(r1->n_descriptors, 1);
    /* Verified as a client would, against the master address; all 9 intro points. */
    memset(&o, 0, sizeof(o));
    o.now = NOW;
    o.strict_enc_cert = 1;
    assert_int_equal(ob_hsv3_desc_verify(r1->descriptors[0].descriptor,
                                         r1->descriptors[0].descriptor_len, f->master.pk, tp,
                                         &OB_TP_LIVE, &o, &got, &d),
                     OB_OK);
    assert_int_equal(got->n_intros, 9);
    assert_int_equal(got->lifetime_min, 60);
    assert_int_equal(got->n_auth_clients, 16); /* no client authorization: fakes only */
    assert_int_equal(got->cert_expiration_hours, ob_hsv3_cert_expiry_hours(tp, &OB_TP_LIVE, 60));
    for (i = 0; i < got->n_intros; i++) {
        size_t inst = 9;
        assert_non_null(find_intro(f, &got->intros[i], &inst));
        /* round-robin over the instances in config order (hsv3_select.h) */
        if (i < 6)
            assert_int_equal(inst, i % 3);
    }
    /* The record: second slot, its window, the counter of now on the ceremony's scale. */
    assert_int_equal(ob_hsv3_desc_window(tp, &OB_TP_LIVE, &from, &until), 0);
    assert_int_equal(r1->descriptors[0].tp, tp);
    assert_int_equal(r1->descriptors[0].slot, 1);
    assert_int_equal(r1->descriptors[0].valid_from, from);
    assert_int_equal(r1->descriptors[0].valid_until, until);
    assert_int_equal(ob_hsv3_rev_counter_from_key(&want, rk[1], NOW, from), 0);
    assert_int_equal(got->revision, want);
    assert_int_equal(r1->descriptors[0].revision, want);
    assert_int_equal(onl_revs_get(&revs, f->master.addr, tp), want);
    ob_hsv3_desc_free(got);

    /* A rebuild in the same second, and one a second later: strictly higher. */
    certify(f, tp - 1, rk[0]);
    build(f, &revs, NOW, &r2, &out, OB_OK);
    assert_int_equal(out.state[0], ONL_DELEG_BUILT);
    assert_int_equal(out.state[1], ONL_DELEG_BUILT);
    assert_int_equal(r2->n_descriptors, 2);
    for (i = 0; i < 2; i++)
        if (r2->descriptors[i].tp == tp)
            assert_true(r2->descriptors[i].revision > r1->descriptors[0].revision);
    assert_memory_equal(out.intro_digest, out.intro_digest, 32);
    {
        uint8_t dg[32];
        memcpy(dg, out.intro_digest, 32);
        ob_response_free(r1);
        build(f, &revs, NOW + 1, &r1, &out, OB_OK);
        assert_memory_equal(dg, out.intro_digest, 32); /* same backends, same digest */
    }
    for (i = 0; i < r1->n_descriptors; i++)
        for (j = 0; j < r2->n_descriptors; j++)
            if (r1->descriptors[i].tp == r2->descriptors[j].tp)
                assert_true(r1->descriptors[i].revision > r2->descriptors[j].revision);
    /* Each verifies for its own period only, with that period's key. */
    for (i = 0; i < r1->n_descriptors; i++) {
        const ob_resp_descriptor *rd = &r1->descriptors[i];
        assert_int_equal(ob_hsv3_desc_verify(rd->descriptor, rd->descriptor_len, f->master.pk,
                                             rd->tp, &OB_TP_LIVE, &o, &got, &d),
                         OB_OK);
        assert_int_equal(rd->slot, rd->tp == tp - 1 ? 0 : 1);
        ob_hsv3_desc_free(got);
        assert_int_equal(ob_hsv3_desc_verify(rd->descriptor, rd->descriptor_len, f->master.pk,
                                             rd->tp + 1, &OB_TP_LIVE, &o, &got, &d),
                         OB_ERR_REFUSED);
    }
    ob_response_free(r1);
    ob_response_free(r2);
    onl_revs_close(&revs);
}

/* Ceremony counters are a floor: a build never goes below a held response's. */
static void test_build_floor(void **state)
{
    fixture *f = *state;
    uint64_t tp = ob_hsv3_tp_num(NOW, &OB_TP_LIVE), from, until, ahead;
    uint8_t rk[32];
    onl_revs revs;
    onl_deleg_out out;
    ob_response *r = NULL;
    ob_diag d;

    certify(f, tp, rk);
    assert_int_equal(ob_hsv3_desc_window(tp, &OB_TP_LIVE, &from, &until), 0);
    /* a ceremony signed with a clock 10 minutes ahead */
    assert_int_equal(ob_hsv3_rev_counter_from_key(&ahead, rk, NOW + 600, from), 0);
    onl_revs_init_memory(&revs);
    assert_int_equal(onl_revs_raise(&revs, f->master.addr, tp, ahead, &d), OB_OK);
    build(f, &revs, NOW, &r, &out, OB_OK);
    assert_int_equal(out.state[1], ONL_DELEG_BUILT);
    assert_int_equal(r->n_descriptors, 1);
    assert_true(r->descriptors[0].revision > ahead);
    ob_response_free(r);
    /* Every counter of the period used: nothing is built, and says why. */
    assert_int_equal(ob_hsv3_rev_ope(&ahead, rk, OB_HSV3_REV_T_MAX), 0);
    assert_int_equal(onl_revs_raise(&revs, f->master.addr, tp, ahead, &d), OB_OK);
    build(f, &revs, NOW, &r, &out, OB_OK);
    assert_int_equal(out.state[1], ONL_DELEG_FAILED);
    assert_non_null(strstr(out.why[1], "no revision counter above"));
    assert_int_equal(r->n_descriptors, 0);
    ob_response_free(r);
    onl_revs_close(&revs);
}

/* Instances: a missing one and a client-authorized one without its key are skipped. */
static void test_build_instances(void **state)
{
    fixture *f = *state;
    uint64_t tp = ob_hsv3_tp_num(NOW, &OB_TP_LIVE);
    uint8_t cpk[32], csk[32];
    char b64[64], extra[256], path[128];
    onl_revs revs;
    onl_deleg_out out;
    ob_response *r = NULL;
    ob_hsv3_desc *got = NULL;
    ob_hsv3_verify_opts o;
    ob_diag d;
    FILE *fp;

    certify(f, tp, NULL);
    onl_revs_init_memory(&revs);
    /* Backend 2 now uses client authorization. */
    crypto_box_keypair(cpk, csk);
    backend_free(&f->be[2]);
    backend_make(&f->be[2], 4, tp, cpk);
    fixture_config(f, NULL);
    fixture_collect(f);
    build(f, &revs, NOW, &r, &out, OB_OK);
    assert_int_equal(out.n_ok, 2);
    assert_int_equal(out.n_skipped, 1);
    if (strstr(out.skipped, f->be[2].id.addr) == NULL)
        fail_msg("skipped: %s", out.skipped);
    assert_int_equal(r->n_descriptors, 1);
    memset(&o, 0, sizeof(o));
    o.now = NOW;
    assert_int_equal(ob_hsv3_desc_verify(r->descriptors[0].descriptor,
                                         r->descriptors[0].descriptor_len, f->master.pk, tp,
                                         &OB_TP_LIVE, &o, &got, &d),
                     OB_OK);
    assert_int_equal(got->n_intros, 5);
    ob_hsv3_desc_free(got);
    ob_response_free(r);
    /* With its client key in the config, as the ceremony reads it: used. */
    snprintf(path, sizeof(path), "%s/node3.auth", f->dir);
    ob_base64_encode(b64, csk, 32, OB_B64_PAD);
    fp = fopen(path, "w");
    assert_non_null(fp);
    fprintf(fp, "%s\n", b64);
    fclose(fp);
    snprintf(extra, sizeof(extra), "        client_auth_key: node3.auth\n");
    fixture_config(f, extra);
    fixture_collect(f);
    build(f, &revs, NOW, &r, &out, OB_OK);
    assert_int_equal(out.n_ok, 3);
    assert_int_equal(r->n_descriptors, 1);
    assert_int_equal(ob_hsv3_desc_verify(r->descriptors[0].descriptor,
                                         r->descriptors[0].descriptor_len, f->master.pk, tp,
                                         &OB_TP_LIVE, &o, &got, &d),
                     OB_OK);
    assert_int_equal(got->n_intros, 9);
    ob_hsv3_desc_free(got);
    ob_response_free(r);
    /* No backend at all: nothing built, the reason given. */
    f->n_be = 0;
    fixture_collect(f);
    f->n_be = 3;
    build(f, &revs, NOW, &r, &out, OB_OK);
    assert_int_equal(out.n_ok, 0);
    assert_int_equal(out.n_skipped, 3);
    assert_int_equal(out.state[1], ONL_DELEG_FAILED);
    assert_int_equal(r->n_descriptors, 0);
    ob_response_free(r);
    ob_wipe(csk, sizeof(csk));
    onl_revs_close(&revs);
}

/* Many intro points: the ceremony's groups (distinct descriptors), one counter each. */
static void test_build_groups(void **state)
{
    fixture *f = *state;
    uint64_t tp = ob_hsv3_tp_num(NOW, &OB_TP_LIVE);
    const ob_hsv3_desc *descs[3];
    ob_hsv3_desc *vd[3];
    ob_hsv3_selection *sel = NULL;
    onl_revs revs;
    onl_deleg_out out;
    ob_response *r = NULL;
    ob_hsv3_verify_opts o;
    ob_diag d;
    size_t i, g, k;

    for (i = 0; i < 3; i++) {
        uint64_t t;
        backend_free(&f->be[i]);
        backend_make(&f->be[i], 10, tp, NULL);
        assert_int_equal(ob_hsv3_instance_verify(f->be[i].id.addr, NULL, f->be[i].text,
                                                 f->be[i].len, &OB_TP_LIVE, NOW, &vd[i], &t, &d),
                         OB_OK);
        descs[i] = vd[i];
    }
    fixture_config(f, NULL);
    fixture_collect(f);
    certify(f, tp, NULL);
    assert_int_equal(ob_hsv3_select(descs, 3, 0, 0, &sel, &d), OB_OK);
    assert_int_equal(sel->n_groups, 2);
    onl_revs_init_memory(&revs);
    build(f, &revs, NOW, &r, &out, OB_OK);
    assert_int_equal(out.n_groups, 2);
    assert_int_equal(r->n_descriptors, 2);
    memset(&o, 0, sizeof(o));
    o.now = NOW;
    for (g = 0; g < 2; g++) {
        ob_hsv3_desc *got = NULL;
        const ob_resp_descriptor *rd = &r->descriptors[g];
        assert_int_equal(rd->group, g);
        assert_int_equal(rd->group_count, 2);
        assert_int_equal(ob_hsv3_desc_verify(rd->descriptor, rd->descriptor_len, f->master.pk, tp,
                                             &OB_TP_LIVE, &o, &got, &d),
                         OB_OK);
        assert_int_equal(got->n_intros, sel->groups[g].n);
        for (k = 0; k < got->n_intros; k++)
            assert_memory_equal(got->intros[k].auth_key, sel->groups[g].intros[k]->auth_key, 32);
        ob_hsv3_desc_free(got);
    }
    assert_true(r->descriptors[1].revision > r->descriptors[0].revision);
    assert_int_equal(onl_revs_get(&revs, f->master.addr, tp), r->descriptors[1].revision);
    ob_response_free(r);
    ob_hsv3_selection_free(sel);
    for (i = 0; i < 3; i++)
        ob_hsv3_desc_free(vd[i]);
    onl_revs_close(&revs);
}

/* ---- the daemon's ceremony request: what the delegated mode does not sign ---- */

static void test_filter_request(void **state)
{
    fixture *f = *state;
    uint64_t tp = ob_hsv3_tp_num(NOW, &OB_TP_LIVE);
    onl_dd *dd = onl_dd_new();
    ob_request *creq = NULL;
    ob_diag d;

    assert_non_null(dd);
    /* the collected request names both periods in use: tp-1 (first) and tp (second) */
    assert_int_equal(f->req->n_services, 1);
    assert_int_equal(f->req->services[0].n_periods, 2);
    assert_int_equal(f->req->services[0].periods[0].tp, tp - 1);
    assert_int_equal(f->req->services[0].periods[1].tp, tp);
    /* No key: the whole service goes to the ceremony. */
    onl_dd_scan(dd, f->cfg, f->req, NOW);
    assert_false(onl_dd_signs_all(dd, &f->req->services[0]));
    assert_int_equal(onl_dd_filter_request(dd, f->req, &creq, &d), OB_OK);
    assert_non_null(creq);
    assert_int_equal(creq->services[0].n_periods, 2);
    ob_request_free(creq);
    /* Only tp certified: the service stays, with tp-1 alone, and its backends. */
    certify(f, tp, NULL);
    onl_dd_scan(dd, f->cfg, f->req, NOW);
    assert_true(onl_dd_active(dd, f->master.addr));
    assert_false(onl_dd_signs_all(dd, &f->req->services[0]));
    assert_int_equal(onl_dd_filter_request(dd, f->req, &creq, &d), OB_OK);
    assert_non_null(creq);
    assert_int_equal(creq->n_services, 1);
    assert_string_equal(creq->services[0].address, f->master.addr);
    assert_int_equal(creq->services[0].n_periods, 1);
    assert_int_equal(creq->services[0].periods[0].tp, tp - 1);
    assert_int_equal(creq->services[0].periods[0].valid_from,
                     f->req->services[0].periods[0].valid_from);
    assert_int_equal(creq->services[0].n_instances, f->req->services[0].n_instances);
    ob_request_free(creq);
    /* Both certified: nothing is left for a ceremony. */
    certify(f, tp - 1, NULL);
    onl_dd_scan(dd, f->cfg, f->req, NOW);
    assert_true(onl_dd_signs_all(dd, &f->req->services[0]));
    creq = (ob_request *)1;
    assert_int_equal(onl_dd_filter_request(dd, f->req, &creq, &d), OB_OK);
    assert_null(creq);
    /* Looked at again once the certificates expired: every period is the ceremony's again,
     * before any cycle has run. */
    onl_dd_scan(dd, f->cfg, f->req, NOW + 30 * 86400);
    assert_false(onl_dd_signs_all(dd, &f->req->services[0]));
    assert_int_equal(onl_dd_filter_request(dd, f->req, &creq, &d), OB_OK);
    assert_non_null(creq);
    assert_int_equal(creq->services[0].n_periods, 2);
    ob_request_free(creq);
    onl_dd_free(dd);
}

/* ---- renewal ------------------------------------------------------------- */

static void test_renewal_clock(void **state)
{
    ob_tp_params tpp = OB_TP_LIVE;
    uint64_t last = ob_hsv3_tp_num(T0, &tpp) + 30, due, t;
    onl_renew st;
    size_t requests = 0, warns = 0;

    (void)state;
    memset(&st, 0, sizeof(st));
    due = onl_renew_due(last, &tpp, 7);
    /* 7 days before the last certified period starts */
    assert_int_equal(due, tp_start(last, &tpp) - 7 * 86400);
    assert_int_equal(onl_renew_step(&st, last, &tpp, 7, T0), ONL_RENEW_NONE);
    assert_int_equal(onl_renew_step(&st, last, &tpp, 7, due - 1), ONL_RENEW_NONE);
    assert_int_equal(onl_renew_step(&st, last, &tpp, 7, due), ONL_RENEW_REQUEST);
    /* The outbox write failed: asked again at the next step. */
    onl_renew_done(&st, 0, due);
    assert_int_equal(onl_renew_step(&st, last, &tpp, 7, due + 60), ONL_RENEW_REQUEST);
    onl_renew_done(&st, 1, due + 60);
    /* Then one warning a day until a later period is installed; never a second request. */
    for (t = due + 61; t < due + 5 * 86400; t += 600) {
        int a = onl_renew_step(&st, last, &tpp, 7, t);
        requests += a == ONL_RENEW_REQUEST;
        warns += a == ONL_RENEW_WARN;
    }
    assert_int_equal(requests, 0);
    assert_int_equal(warns, 4); /* at +1 d, +2 d, +3 d, +4 d */
    /* Installed: the run now ends 30 days later, nothing due until 7 days before that. */
    assert_int_equal(onl_renew_step(&st, last + 30, &tpp, 7, due + 5 * 86400), ONL_RENEW_NONE);
    assert_int_equal(onl_renew_step(&st, last + 30, &tpp, 7, onl_renew_due(last + 30, &tpp, 7)),
                     ONL_RENEW_REQUEST);
    /* renew_days 0: only once the last period has begun */
    assert_int_equal(onl_renew_due(last, &tpp, 0), tp_start(last, &tpp));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_revisions_search),
        cmocka_unit_test_setup_teardown(test_revisions_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_build, setup, teardown),
        cmocka_unit_test_setup_teardown(test_build_floor, setup, teardown),
        cmocka_unit_test_setup_teardown(test_build_instances, setup, teardown),
        cmocka_unit_test_setup_teardown(test_build_groups, setup, teardown),
        cmocka_unit_test_setup_teardown(test_filter_request, setup, teardown),
        cmocka_unit_test(test_renewal_clock),
    };
    if (ob_secmem_init() != 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}

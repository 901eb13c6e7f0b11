/*
 * test_sign_scale.c - the ceremony at scale does each thing once
 * (docs/performance.rst).  Behaviour, not timing: whole ceremonies are run
 * in memory (online collect core, offline check, sign, self-check) over
 * backends shared by several services, and the costly operations are
 * counted through the counters of format/core/opcount.h:
 *
 *   - every distinct backend descriptor is verified once, whatever number
 *     of services use it, and its period costs one blinding (found from its
 *     certificate, not by trying periods);
 *   - the master key is blinded once per (service, period);
 *   - every master descriptor is verified exactly once (its self-check),
 *     with exactly the Ed25519 verifications its signatures need; the
 *     response self-check reads and verifies nothing again, but for the
 *     further revisions (format/hs/hsv3_revs.h): each is signed once (its
 *     document only: the intro point certs are revision 0's) and checked
 *     once, rebuilt from revision 0, which is read (not judged) once per
 *     descriptor, with no blinding: its own signature over the rebuilt
 *     bytes (the first of a descriptor also its layers, and its inner
 *     layer compared with revision 0's, whose certificates were verified
 *     with revision 0), so one Ed25519 verification each.
 *
 * That a backend shared by several services travels once in the request
 * (20 services over 10 backends: at most twice one service's request), and
 * still signs.  And that spreading the work over threads changes nothing: with the same
 * master seed, 1, 2 and 5 threads sign byte-identical responses (compact
 * and --full), and the checks give the same summary.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bundle.h"
#include "collect.h"
#include "config.h"
#include "crypto.h"
#include "ed25519x.h"
#include "hsv3_common.h"
#include "hsv3_desc.h"
#include "hsv3_sign.h"
#include "keystore.h"
#include "onion.h"
#include "opcount.h"
#include "revisions.h"
#include "secmem.h"
#include "sign.h"
#include "fake_intro.h"

#define MAX_BACK 16
#define MAX_SVC  24

typedef struct world {
    uint64_t now;
    size_t n_back;
    char back_addr[MAX_BACK][OB_ONION_V3_LEN + 1];
    uint8_t *back_text[MAX_BACK];
    size_t back_len[MAX_BACK];
    unsigned back_intros[MAX_BACK];
    size_t n_svc;
    ofl_key *keys[MAX_SVC];
    ob_config *online, *offline;
    ob_request *req;
} world;

/* A backend descriptor for the current period, signed by our own signer. */
static void make_backend(world *w, size_t b, unsigned intros)
{
    ob_hsv3_intro ips[OB_HSV3_MAX_INTROS];
    const ob_hsv3_intro *ptr[OB_HSV3_MAX_INTROS];
    uint8_t *exp = ob_secalloc(64), pk[32];
    ofl_hsv3_sign_in in;
    ob_diag d;
    unsigned i;

    assert_non_null(exp);
    assert_int_equal(ob_ed25519_keygen(exp, pk), 0);
    for (i = 0; i < intros; i++) {
        assert_int_equal(ob_test_fake_intro(&ips[i], (unsigned)(b * 100 + i)), 0);
        ptr[i] = &ips[i];
    }
    memset(&in, 0, sizeof(in));
    in.master_exp = exp;
    in.master_pk = pk;
    in.tpp = &OB_TP_LIVE;
    in.now = w->now;
    in.tp = ob_hsv3_tp_num(w->now, &OB_TP_LIVE);
    in.intros = ptr;
    in.n_intros = intros;
    if (ofl_hsv3_sign_descriptor(&in, &w->back_text[b], &w->back_len[b], NULL, &d) != OB_OK)
        fail_msg("backend: %s", d.msg);
    ob_onion_v3_encode(w->back_addr[b], pk);
    w->back_intros[b] = intros;
    for (i = 0; i < intros; i++)
        ob_hsv3_intro_clear(&ips[i]);
    ob_secfree(exp);
}

static ob_err fetch_mem(void *ctx, const ob_cfg_service *s, const ob_cfg_instance *in,
                        uint8_t **desc, size_t *len, uint64_t *fetched_at, char *why,
                        size_t why_len, ob_diag *d)
{
    world *w = ctx;
    size_t b;

    (void)s;
    (void)d;
    for (b = 0; b < w->n_back; b++)
        if (strcmp(w->back_addr[b], in->address) == 0) {
            *desc = malloc(w->back_len[b]);
            assert_non_null(*desc);
            memcpy(*desc, w->back_text[b], w->back_len[b]);
            *len = w->back_len[b];
            *fetched_at = w->now;
            return OB_OK;
        }
    snprintf(why, why_len, "no such backend");
    return OB_ERR_NOTFOUND;
}

/*
 * n_svc services; service s uses the backends whose bit is set in use[s].
 * Both configs are parsed from memory; the request is collected, written
 * and parsed back, as it crosses.
 */
static void world_make(world *w, size_t n_svc, const unsigned *use)
{
    ob_buf on, off, wire;
    ob_consensus_facts f;
    onl_collect_stats st;
    ob_request *r = NULL;
    ob_diag d;
    size_t s, b;

    assert_true(n_svc <= MAX_SVC);
    ob_buf_init(&on);
    ob_buf_init(&off);
    ob_buf_init(&wire);
    ob_buf_printf(&on, "services:\n");
    ob_buf_printf(&off, "services:\n");
    for (s = 0; s < n_svc; s++) {
        assert_int_equal(ofl_key_generate(3, &w->keys[s], &d), OB_OK);
        ob_buf_printf(&on, "  - address: %s\n    instances:\n", ofl_key_address(w->keys[s]));
        ob_buf_printf(&off, "  - key: k%zu.key\n    address: %s\n    instances:\n", s,
                      ofl_key_address(w->keys[s]));
        for (b = 0; b < w->n_back; b++)
            if (use[s] & (1u << b)) {
                ob_buf_printf(&on, "      - address: %s\n", w->back_addr[b]);
                ob_buf_printf(&off, "      - address: %s\n", w->back_addr[b]);
            }
    }
    w->n_svc = n_svc;
    assert_true(ob_buf_ok(&on) && ob_buf_ok(&off));
    if (ob_config_parse("online.yaml", (const char *)on.p, on.len, &w->online, &d) != OB_OK ||
        ob_config_parse("/nonexistent/offline.yaml", (const char *)off.p, off.len, &w->offline,
                        &d) != OB_OK)
        fail_msg("config: %s", d.msg);
    onl_collect_clock_facts(w->online, w->now, &f);
    if (onl_collect_build(w->online, &f, w->now, fetch_mem, w, &r, &st, &d) != OB_OK)
        fail_msg("collect: %s", d.msg);
    assert_int_equal(st.services_empty, 0);
    if (ob_request_serialize(r, &wire, &d) != OB_OK ||
        ob_request_parse(wire.p, wire.len, &w->req, &d) != OB_OK)
        fail_msg("request: %s", d.msg);
    ob_request_free(r);
    ob_buf_free(&on);
    ob_buf_free(&off);
    ob_buf_free(&wire);
}

static void world_backends(world *w, size_t n, unsigned intros)
{
    size_t b;

    memset(w, 0, sizeof(*w));
    w->now = (uint64_t)time(NULL);
    assert_true(n <= MAX_BACK);
    for (b = 0; b < n; b++)
        make_backend(w, b, intros);
    w->n_back = n;
}

static void world_free(world *w)
{
    size_t i;

    for (i = 0; i < w->n_back; i++)
        free(w->back_text[i]);
    for (i = 0; i < w->n_svc; i++)
        ofl_key_free(w->keys[i]);
    ob_config_free(w->online);
    ob_config_free(w->offline);
    ob_request_free(w->req);
}

/* The keyring sign would unlock, from the world's keys (borrowed). */
static ofl_keyring *keyring(world *w)
{
    ofl_keyring *k = calloc(1, sizeof(*k));
    size_t i;

    assert_non_null(k);
    k->by_service = calloc(w->offline->n_services, sizeof(*k->by_service));
    assert_non_null(k->by_service);
    for (i = 0; i < w->n_svc; i++)
        k->by_service[i] = w->keys[i];
    return k;
}

static void keyring_drop(ofl_keyring *k)
{
    free(k->by_service);
    free(k);
}

/* Ed25519 verifications a v3 descriptor of n intro points needs: 08 cert, itself, 09 + 0B each. */
static uint64_t verifs(size_t n)
{
    return 2 + 2 * (uint64_t)n;
}

/* Further revisions of the response's descriptors, and descriptors that have some. */
static void revisions_of(const ob_response *r, uint64_t *n_revs, uint64_t *n_with)
{
    size_t i;

    *n_revs = *n_with = 0;
    for (i = 0; i < r->n_descriptors; i++) {
        const ob_resp_descriptor *rd = &r->descriptors[i];
        uint64_t k = ob_resp_revision_count(rd) - 1;
        if (k == 0)
            continue;
        *n_revs += k;
        *n_with += 1;
    }
}

static void test_each_thing_once(void **state)
{
    /* Services 0..2 share backends 0..3; service 3 has backends 4 and 5 alone. */
    static const unsigned use[4] = { 0x0f, 0x0f, 0x0f, 0x30 };
    world w;
    ofl_plan *plan = NULL;
    ofl_keyring *kr;
    ob_response *resp = NULL;
    uint64_t want_verify, want_sign, n_revs, n_with;
    size_t wire = 0, ncompact = 0, frames = 0, i;
    ob_diag d;

    (void)state;
    world_backends(&w, 6, 2);
    world_make(&w, 4, use);
    kr = keyring(&w);

    ob_op_reset();
    if (ofl_sign_check(w.offline, w.req, w.now, &plan, &d) != OB_OK)
        fail_msg("check: %s", d.msg);
    /* 6 distinct backends among 14 instances: each judged once, one blinding each. */
    assert_int_equal(ob_op_get(OB_OP_DESC_VERIFY), 6);
    assert_int_equal(ob_op_get(OB_OP_BLIND_PUBLIC), 6);
    assert_int_equal(ob_op_get(OB_OP_ED25519_VERIFY), 6 * verifs(2));
    assert_int_equal(ob_op_get(OB_OP_DESC_READ), 0);
    assert_int_equal(plan->n_descriptors, 8);

    ob_op_reset();
    if (ofl_sign_execute(plan, kr, &resp, &d) != OB_OK)
        fail_msg("execute: %s", d.msg);
    assert_int_equal(resp->n_descriptors, 8);
    /* One blinded key per (service, period); no public blinding at all. */
    assert_int_equal(ob_op_get(OB_OP_BLIND_SECRET), 4 * 2);
    assert_int_equal(ob_op_get(OB_OP_BLIND_PUBLIC), 0);
    /* Each signed descriptor verified once: 6 of 8 intro points, 2 of 4. */
    assert_int_equal(ob_op_get(OB_OP_DESC_VERIFY), 8);
    revisions_of(resp, &n_revs, &n_with);
    /* (how many depends on the clock: none for a window that ends within half a lifetime) */
    assert_true(n_with <= 8 && n_revs >= n_with);
    want_verify = 6 * verifs(8) + 2 * verifs(4);
    want_sign = 6 * (2 + 2 * 8) + 2 * (2 + 2 * 4) + n_revs;
    assert_int_equal(ob_op_get(OB_OP_ED25519_VERIFY), want_verify);
    assert_int_equal(ob_op_get(OB_OP_ED25519_SIGN), want_sign);
    for (i = 0; i < resp->n_descriptors; i++)
        assert_non_null(resp->descriptors[i].compact);

    /* The response round trip rebuilds from what the check judged: nothing again. */
    ob_op_reset();
    if (ofl_sign_selfcheck(plan, resp, &wire, &ncompact, &frames, &d) != OB_OK)
        fail_msg("selfcheck: %s", d.msg);
    assert_int_equal(ncompact, 8);
    /* Each further revision: its own signature, once; its intro point
     * certificates are revision 0's (compared byte for byte), not again. */
    assert_int_equal(ob_op_get(OB_OP_DESC_VERIFY), 0);
    assert_int_equal(ob_op_get(OB_OP_DESC_READ), n_with);
    assert_int_equal(ob_op_get(OB_OP_ED25519_VERIFY), n_revs);
    assert_int_equal(ob_op_get(OB_OP_ED25519_SIGN), 0);
    assert_int_equal(ob_op_get(OB_OP_BLIND_PUBLIC), 0);

    ob_response_free(resp);
    ofl_plan_free(plan);
    keyring_drop(kr);
    world_free(&w);
}

/*
 * The online side rebuilding the same response: each distinct backend read
 * once (not judged), each master descriptor verified once, one blinding per
 * (service, period).
 */
static void test_expand_once(void **state)
{
    static const unsigned use[3] = { 0x07, 0x07, 0x07 };
    world w;
    ofl_plan *plan = NULL;
    ofl_keyring *kr;
    ob_response *resp = NULL, *back = NULL;
    uint64_t n_revs, n_with;
    ob_buf wire;
    ob_diag d;
    size_t i;

    (void)state;
    world_backends(&w, 3, 3);
    world_make(&w, 3, use);
    kr = keyring(&w);
    if (ofl_sign_check(w.offline, w.req, w.now, &plan, &d) != OB_OK ||
        ofl_sign_execute(plan, kr, &resp, &d) != OB_OK)
        fail_msg("sign: %s", d.msg);
    ob_buf_init(&wire);
    if (ob_response_serialize(resp, &wire, &d) != OB_OK ||
        ob_response_parse(wire.p, wire.len, &back, &d) != OB_OK)
        fail_msg("response: %s", d.msg);
    revisions_of(resp, &n_revs, &n_with);
    ob_op_reset();
    if (ob_response_expand(back, w.req, &d) != OB_OK)
        fail_msg("expand: %s", d.msg);
    /* and per further revision one signature check, from revision 0 read once */
    assert_int_equal(ob_op_get(OB_OP_DESC_READ), 3 + n_with);
    assert_int_equal(ob_op_get(OB_OP_DESC_VERIFY), 6);
    assert_int_equal(ob_op_get(OB_OP_BLIND_PUBLIC), 6);
    assert_int_equal(ob_op_get(OB_OP_ED25519_VERIFY), 6 * verifs(9) + n_revs);
    for (i = 0; i < back->n_descriptors; i++) {
        assert_int_equal(back->descriptors[i].descriptor_len, resp->descriptors[i].descriptor_len);
        assert_memory_equal(back->descriptors[i].descriptor, resp->descriptors[i].descriptor,
                            resp->descriptors[i].descriptor_len);
    }
    ob_response_free(back);
    ob_response_free(resp);
    ob_buf_free(&wire);
    ofl_plan_free(plan);
    keyring_drop(kr);
    world_free(&w);
}

/* Sign w's request on `threads` threads with this master seed; the wire bytes. */
static void sign_wire(world *w, unsigned threads, const uint8_t *seed, int full, ob_buf *wire,
                      ob_buf *summary)
{
    ofl_plan *plan = NULL;
    ofl_keyring *kr = keyring(w);
    ob_response *resp = NULL;
    size_t wl = 0, nc = 0, fr = 0;
    ob_diag d;

    if (ofl_sign_check_threads(w->offline, w->req, w->now, threads, &plan, &d) != OB_OK)
        fail_msg("check: %s", d.msg);
    ofl_sign_summary(plan, w->offline, summary);
    plan->full = full;
    if (ofl_sign_execute_seeded(plan, kr, seed, &resp, &d) != OB_OK)
        fail_msg("execute (%u threads): %s", threads, d.msg);
    if (ofl_sign_selfcheck(plan, resp, &wl, &nc, &fr, &d) != OB_OK)
        fail_msg("selfcheck (%u threads): %s", threads, d.msg);
    assert_int_equal(nc, full ? 0 : resp->n_descriptors);
    if (ob_response_serialize(resp, wire, &d) != OB_OK)
        fail_msg("serialize: %s", d.msg);
    assert_int_equal(wire->len, wl);
    ob_response_free(resp);
    ofl_plan_free(plan);
    keyring_drop(kr);
}

static void test_threads_same_bytes(void **state)
{
    /* Service 0 has 28 intro points: two groups per period. */
    static const unsigned use[5] = { 0x0f, 0x03, 0x0c, 0x11, 0x1e };
    static const unsigned threads[3] = { 1, 2, 5 };
    uint8_t *seed = ob_secalloc(OFL_SIGN_SEED_LEN), *other = ob_secalloc(OFL_SIGN_SEED_LEN);
    ob_buf wire[3], sum[3], x, xs;
    world w;
    int full;
    size_t i;

    (void)state;
    assert_non_null(seed);
    assert_non_null(other);
    randombytes_buf(seed, OFL_SIGN_SEED_LEN);
    memcpy(other, seed, OFL_SIGN_SEED_LEN);
    other[0] ^= 1;
    world_backends(&w, 5, 7);
    world_make(&w, 5, use);
    for (full = 0; full <= 1; full++) {
        for (i = 0; i < 3; i++) {
            ob_buf_init(&wire[i]);
            ob_buf_init(&sum[i]);
            sign_wire(&w, threads[i], seed, full, &wire[i], &sum[i]);
            assert_int_equal(wire[i].len, wire[0].len);
            assert_memory_equal(wire[i].p, wire[0].p, wire[0].len);
            assert_int_equal(sum[i].len, sum[0].len);
            assert_memory_equal(sum[i].p, sum[0].p, sum[0].len);
        }
        /* The seed is what decides: another one, other bytes. */
        ob_buf_init(&x);
        ob_buf_init(&xs);
        sign_wire(&w, 2, other, full, &x, &xs);
        assert_true(x.len != wire[0].len || memcmp(x.p, wire[0].p, x.len) != 0);
        ob_buf_free(&x);
        ob_buf_free(&xs);
        for (i = 0; i < 3; i++) {
            ob_buf_free(&wire[i]);
            ob_buf_free(&sum[i]);
        }
    }
    ob_secfree(seed);
    ob_secfree(other);
    world_free(&w);
}

/* The wire size of w's request (collected, written, parsed back, written again). */
static size_t request_size(world *w)
{
    ob_buf b;
    ob_diag d;
    size_t n;

    ob_buf_init(&b);
    if (ob_request_serialize(w->req, &b, &d) != OB_OK)
        fail_msg("serialize: %s", d.msg);
    n = b.len;
    ob_buf_free(&b);
    return n;
}

static void test_request_shares_backends(void **state)
{
    unsigned use[20];
    size_t one, twenty, i, j;
    world w, w20;
    ofl_plan *plan = NULL;
    ofl_keyring *kr;
    ob_response *resp = NULL;
    ob_diag d;

    (void)state;
    for (i = 0; i < 20; i++)
        use[i] = 0x3ff;
    world_backends(&w, 10, 2);
    world_make(&w, 1, use);
    one = request_size(&w);
    /* The same backends for 20 services. */
    memcpy(&w20, &w, sizeof(w));
    w20.online = w20.offline = NULL;
    w20.req = NULL;
    w20.n_svc = 0;
    world_make(&w20, 20, use);
    twenty = request_size(&w20);
    assert_int_equal(w20.req->n_shared, 10);
    for (i = 0; i < 20; i++)
        for (j = 0; j < 10; j++)
            assert_ptr_equal(w20.req->services[i].instances[j].descriptor, w20.req->shared[j].p);
    if (twenty > 2 * one)
        fail_msg("20 services over the same 10 backends: %zu bytes, one service %zu", twenty, one);
    /* Signed from the shared form, every service. */
    kr = keyring(&w20);
    if (ofl_sign_check(w20.offline, w20.req, w20.now, &plan, &d) != OB_OK ||
        ofl_sign_execute(plan, kr, &resp, &d) != OB_OK)
        fail_msg("sign: %s", d.msg);
    assert_int_equal(resp->n_descriptors, 40);
    ob_response_free(resp);
    ofl_plan_free(plan);
    keyring_drop(kr);
    /* w20 borrowed w's backends: free them once. */
    for (i = 0; i < w20.n_svc; i++)
        ofl_key_free(w20.keys[i]);
    ob_config_free(w20.online);
    ob_config_free(w20.offline);
    ob_request_free(w20.req);
    world_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_thing_once),
        cmocka_unit_test(test_expand_once),
        cmocka_unit_test(test_threads_same_bytes),
        cmocka_unit_test(test_request_shares_backends),
    };

    if (ob_secmem_init() != 0 || ofl_keystore_init_openssl() != 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}

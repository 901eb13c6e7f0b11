/*
 * test_publish.c - publish planning with a synthetic consensus: which
 * periods are in force at which consensus time, which SRV and HSDirs the
 * first and second descriptors get, how groups split the HSDirs, and the
 * response checks that need no signature (foreign service, v2, garbage).
 *
 * Expected values come from the rules written out here (period arithmetic,
 * the group formula of docs/v3-descriptors.rst) and from the ring code
 * (online/hsdir.c, itself checked against Python in test_hsdir.c), not from
 * the planner.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "config.h"
#include "crypto.h"
#include "hsdir.h"
#include "hsv3_common.h"
#include "publish.h"
#include "secmem.h"

#define ADDR_A  "pg2vmlup4zkpsqdywejorkmlu6ib7bj242k35v7a4oiqxlieszspudyd"
#define ADDR_B  "sltib6sxkuxh2scmtuvd5w2g7pahnzkovefxpo4e4ptnkzl5kkq5h2ad"
#define ADDR_V2 "facebookcorewwwi"

/* 2026-11-22 03:00:00 and 15:00:00 UTC */
#define T_MORNING   1795316400u
#define T_AFTERNOON (T_MORNING + 12u * 3600u)

/* n HSDirs with deterministic ids: ed = SHA256("ed" | i), rsa = SHA256("rsa" | i)[:20]. */
static onl_consensus *synthetic(size_t n, uint64_t valid_after, int with_prev)
{
    onl_consensus *c = calloc(1, sizeof(*c));
    size_t i;

    assert_non_null(c);
    c->nodes = calloc(n, sizeof(*c->nodes));
    assert_non_null(c->nodes);
    c->valid_after = valid_after;
    c->fresh_until = valid_after + 3600;
    c->valid_until = valid_after + 3 * 3600;
    c->voting_interval = 3600;
    c->tp.length_min = 1440;
    c->tp.offset_min = 720;
    c->n_replicas = 2;
    c->spread_store = 4;
    c->spread_fetch = 3;
    c->has_srv_cur = 1;
    memset(c->srv_cur, 0xc5, 32);
    c->has_srv_prev = with_prev;
    memset(c->srv_prev, 0x9e, 32);
    c->n_relays = c->n_nodes = n;
    for (i = 0; i < n; i++) {
        uint8_t h[32];
        char tag[32];
        snprintf(tag, sizeof(tag), "ed%zu", i);
        assert_int_equal(ob_sha256_buf(c->nodes[i].ed_id, tag, strlen(tag)), 0);
        snprintf(tag, sizeof(tag), "rsa%zu", i);
        assert_int_equal(ob_sha256_buf(h, tag, strlen(tag)), 0);
        memcpy(c->nodes[i].rsa_id, h, 20);
        c->nodes[i].has_ed = 1;
        c->nodes[i].is_hsdir = 1;
        snprintf(c->nodes[i].nick, sizeof(c->nodes[i].nick), "r%zu", i);
    }
    return c;
}

/* tp = floor((t/60 - offset) / length), written out again. */
static uint64_t tp_at(uint64_t t)
{
    return (t / 60 - 720) / 1440;
}

static void test_slots(void **state)
{
    ob_tp_params tpp = { 1440, 720 };
    ob_hsv3_slot s;
    uint64_t n = tp_at(T_MORNING);

    (void)state;
    /* 03:00 is between the SRV (00:00) and the period start (12:00):
     * first = (tp, previous SRV), second = (tp + 1, current SRV). */
    assert_int_equal(onl_publish_slot_for(T_MORNING, &tpp, n, &s), 1);
    assert_int_equal(s.use_current_srv, 0);
    assert_int_equal(onl_publish_slot_for(T_MORNING, &tpp, n + 1, &s), 1);
    assert_int_equal(s.use_current_srv, 1);
    assert_int_equal(onl_publish_slot_for(T_MORNING, &tpp, n - 1, &s), 0);
    assert_int_equal(onl_publish_slot_for(T_MORNING, &tpp, n + 2, &s), 0);
    /* 15:00: the new period n + 1 has started: first = (n, prev), second = (n + 1, cur). */
    assert_int_equal(tp_at(T_AFTERNOON), n + 1);
    assert_int_equal(onl_publish_slot_for(T_AFTERNOON, &tpp, n, &s), 1);
    assert_int_equal(s.use_current_srv, 0);
    assert_int_equal(onl_publish_slot_for(T_AFTERNOON, &tpp, n + 1, &s), 1);
    assert_int_equal(s.use_current_srv, 1);
    assert_int_equal(onl_publish_slot_for(T_AFTERNOON, &tpp, n + 2, &s), 0);
    assert_int_equal(onl_publish_slot_for(T_AFTERNOON, &tpp, n - 1, &s), 0);
    /* the day after, 03:00: n has left, n + 1 is first, n + 2 second */
    assert_int_equal(onl_publish_slot_for(T_MORNING + 86400, &tpp, n, &s), 0);
    assert_int_equal(onl_publish_slot_for(T_MORNING + 86400, &tpp, n + 1, &s), 1);
    assert_int_equal(s.use_current_srv, 0);
    assert_int_equal(onl_publish_slot_for(T_MORNING + 86400, &tpp, n + 2, &s), 1);
    assert_int_equal(s.use_current_srv, 1);
}

static void same_list(const size_t *a, size_t na, const size_t *b, size_t nb)
{
    size_t i;

    assert_int_equal(na, nb);
    for (i = 0; i < na; i++)
        assert_int_equal(a[i], b[i]);
}

static void test_first_second_srv(void **state)
{
    onl_consensus *c = synthetic(50, T_MORNING, 1);
    uint8_t A[32], Ab[32];
    size_t got[ONL_PUB_MAX_HSDIRS], want[ONL_PUB_MAX_HSDIRS], other[ONL_PUB_MAX_HSDIRS];
    size_t ng = 0, nw = 0, no = 0;
    ob_hsv3_slot first = { tp_at(T_MORNING), 0 }, second = { tp_at(T_MORNING) + 1, 1 };
    int dis = -1;
    ob_diag d;

    (void)state;
    memset(A, 0x42, sizeof(A));
    memcpy(Ab, A, 32); /* any 32 bytes index the ring; blinding is not under test */
    Ab[0] ^= 1;
    /* first descriptor: previous SRV */
    assert_int_equal(
        onl_publish_hsdirs(c, Ab, &first, 0, 1, got, ONL_PUB_MAX_HSDIRS, &ng, &dis, &d), OB_OK);
    assert_int_equal(dis, 0);
    assert_int_equal(
        onl_hsdir_responsible(c, Ab, first.tp, c->srv_prev, 4, want, ONL_PUB_MAX_HSDIRS, &nw, &d),
        OB_OK);
    same_list(got, ng, want, nw);
    assert_int_equal(ng, 8); /* 2 replicas x spread_store 4 */
    assert_int_equal(
        onl_hsdir_responsible(c, Ab, first.tp, c->srv_cur, 4, other, ONL_PUB_MAX_HSDIRS, &no, &d),
        OB_OK);
    assert_true(memcmp(got, other, sizeof(size_t) * 8) != 0); /* the SRV matters */
    /* second descriptor: current SRV, its own period */
    assert_int_equal(
        onl_publish_hsdirs(c, Ab, &second, 0, 1, got, ONL_PUB_MAX_HSDIRS, &ng, &dis, &d), OB_OK);
    assert_int_equal(
        onl_hsdir_responsible(c, Ab, second.tp, c->srv_cur, 4, want, ONL_PUB_MAX_HSDIRS, &nw, &d),
        OB_OK);
    same_list(got, ng, want, nw);
    onl_consensus_free(c);

    /* no previous SRV in the consensus: the disaster value for the period */
    c = synthetic(50, T_MORNING, 0);
    assert_int_equal(
        onl_publish_hsdirs(c, Ab, &first, 0, 1, got, ONL_PUB_MAX_HSDIRS, &ng, &dis, &d), OB_OK);
    assert_int_equal(dis, 1);
    {
        uint8_t srv[32];
        assert_int_equal(ob_hsv3_disaster_srv(srv, 1440, first.tp), 0);
        assert_int_equal(
            onl_hsdir_responsible(c, Ab, first.tp, srv, 4, want, ONL_PUB_MAX_HSDIRS, &nw, &d),
            OB_OK);
    }
    same_list(got, ng, want, nw);
    onl_consensus_free(c);
}

static void test_groups(void **state)
{
    onl_consensus *c = synthetic(40, T_MORNING, 1);
    uint8_t Ab[32];
    size_t all[ONL_PUB_MAX_HSDIRS], part[ONL_PUB_MAX_HSDIRS], nall = 0, np = 0, i, j;
    ob_hsv3_slot first = { tp_at(T_MORNING), 0 };
    unsigned G, g;
    int dis;
    ob_diag d;

    (void)state;
    memset(Ab, 0x17, sizeof(Ab));
    assert_int_equal(
        onl_publish_hsdirs(c, Ab, &first, 0, 1, all, ONL_PUB_MAX_HSDIRS, &nall, &dis, &d), OB_OK);
    assert_int_equal(nall, 8);
    for (G = 2; G <= 6; G++) {
        size_t seen = 0;
        for (g = 0; g < G; g++) {
            size_t k = 0;
            assert_int_equal(
                onl_publish_hsdirs(c, Ab, &first, g, G, part, ONL_PUB_MAX_HSDIRS, &np, &dis, &d),
                OB_OK);
            assert_true(np >= 1); /* every group is stored somewhere */
            /* exactly the positions whose (replica * 3 + position) mod G is g, in order */
            for (i = 0; i < nall; i++) {
                if (((i / 4) * 3 + i % 4) % G != g)
                    continue;
                assert_true(k < np);
                assert_int_equal(part[k], all[i]);
                k++;
            }
            assert_int_equal(k, np);
            /* and within a client's fetch set (first 3 of each walk) */
            for (j = 0, k = 0; j < np; j++)
                for (i = 0; i < nall; i++)
                    if (all[i] == part[j] && i % 4 < 3)
                        k++;
            assert_true(k >= 1);
            seen += np;
        }
        assert_int_equal(seen, nall); /* the groups partition the HSDirs */
    }
    assert_int_equal(
        onl_publish_hsdirs(c, Ab, &first, 2, 2, part, ONL_PUB_MAX_HSDIRS, &np, &dis, &d),
        OB_ERR_RANGE);
    onl_consensus_free(c);

    /* a ring of three: fewer HSDirs than replicas x spread, each once */
    c = synthetic(3, T_MORNING, 1);
    assert_int_equal(
        onl_publish_hsdirs(c, Ab, &first, 0, 1, all, ONL_PUB_MAX_HSDIRS, &nall, &dis, &d), OB_OK);
    assert_int_equal(nall, 3);
    assert_true(all[0] != all[1] && all[1] != all[2] && all[0] != all[2]);
    onl_consensus_free(c);
}

static ob_config *config(void)
{
    static const char text[] = "services:\n"
                               "  - address: " ADDR_A ".onion\n"
                               "    instances:\n"
                               "      - address: " ADDR_B ".onion\n"
                               "  - address: " ADDR_V2 ".onion\n"
                               "    instances:\n"
                               "      - address: aaaaaaaaaaaaaaaa.onion\n";
    ob_config *cfg = NULL;
    ob_diag d;

    if (ob_config_parse("/tmp/t.yaml", text, sizeof(text) - 1, &cfg, &d) != OB_OK)
        fail_msg("config: %s", d.msg);
    return cfg;
}

static void add(ob_response *r, const char *service, uint8_t version, const char *body)
{
    ob_resp_descriptor t;

    memset(&t, 0, sizeof(t));
    t.service = (char *)service;
    t.version = version;
    t.tp = tp_at(T_MORNING);
    t.group_count = 1;
    t.valid_from = T_MORNING - 3600;
    t.valid_until = T_MORNING + 86400;
    t.revision = 1;
    t.descriptor = (uint8_t *)body;
    t.descriptor_len = strlen(body);
    assert_int_equal(ob_response_add_descriptor(r, &t), OB_OK);
}

static void test_plan_checks(void **state)
{
    ob_config *cfg = config();
    ob_response *r = ob_response_new();
    onl_consensus *c = synthetic(20, T_MORNING, 1);
    onl_pub_plan *p = NULL;
    size_t in_force = 9, reached = 9;
    ob_diag d;

    (void)state;
    /* a garbage v2 descriptor: refused like a bad v3 one (v2 publishing:
     * tests/unit/test_online_v2.c) */
    add(r, ADDR_V2, 2, "rendezvous-service-descriptor x\n");
    assert_int_not_equal(onl_publish_plan(cfg, r, c, T_MORNING, &p, &d), OB_OK);
    assert_null(p);
    assert_non_null(strstr(d.msg, "descriptor 0 (" ADDR_V2 ".onion, v2 period "));
    ob_response_free(r);
    r = ob_response_new();
    /* nothing in the response: nothing in force */
    assert_int_equal(onl_publish_plan(cfg, r, c, T_MORNING, &p, &d), OB_OK);
    onl_publish_counts(p, &in_force, &reached);
    assert_int_equal(in_force, 0);
    assert_int_equal(reached, 0);
    onl_pub_plan_free(p);
    p = NULL;
    /* a garbage v3 descriptor for a configured service: the response is refused */
    add(r, ADDR_A, 3, "hs-descriptor 3\ngarbage\n");
    assert_int_not_equal(onl_publish_plan(cfg, r, c, T_MORNING, &p, &d), OB_OK);
    assert_null(p);
    assert_non_null(strstr(d.msg, "descriptor 0 (" ADDR_A ".onion, period "));
    ob_response_free(r);
    /* a service this config does not have: refused, naming it, without looking further */
    r = ob_response_new();
    add(r, ADDR_B, 3, "hs-descriptor 3\n");
    assert_int_equal(onl_publish_plan(cfg, r, NULL, T_MORNING, &p, &d), OB_ERR_REFUSED);
    assert_null(p);
    assert_non_null(strstr(d.msg, "service " ADDR_B ".onion is not in this machine's config"));
    ob_response_free(r);
    onl_consensus_free(c);
    ob_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slots),
        cmocka_unit_test(test_first_second_srv),
        cmocka_unit_test(test_groups),
        cmocka_unit_test(test_plan_checks),
    };

    if (ob_secmem_init() != 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}

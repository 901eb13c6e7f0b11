/*
 * test_hsdir.c - consensus parsing and the v3 HSDir ring.
 *
 * The ring is checked against tests/unit/hsdir_ring.py, an independent
 * computation with Python's hashlib, on synthetic consensuses (random relays,
 * flags, protocol lists, missing microdescriptors, missing SRVs, clamped
 * params), for the live-network rules and for test-network voting intervals.
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

#include "encode.h"
#include "fileio.h"
#include "hsdir.h"
#include "secmem.h"

static const char *python(void)
{
    return access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
}

static char *slurp(const char *path, size_t *len)
{
    uint8_t *p = NULL;
    ob_diag d;

    if (ob_file_read(path, 16 * 1024 * 1024, &p, len, &d) != OB_OK)
        fail_msg("%s", d.msg);
    return (char *)p;
}

static const char *expect_get(const char *exp, const char *key)
{
    static char val[4096];
    char pat[64];
    const char *p, *e;

    snprintf(pat, sizeof(pat), "%s = ", key);
    p = strstr(exp, pat);
    if (p == NULL)
        fail_msg("expected file lacks %s", key);
    p += strlen(pat);
    e = strchr(p, '\n');
    assert_non_null(e);
    assert_true((size_t)(e - p) < sizeof(val));
    memcpy(val, p, (size_t)(e - p));
    val[e - p] = '\0';
    return val;
}

static void hexfp(char out[41], const uint8_t id[20])
{
    ob_hex_encode(out, id, 20);
    for (int i = 0; i < 40; i++)
        if (out[i] >= 'a' && out[i] <= 'f')
            out[i] = (char)(out[i] - 'a' + 'A');
}

static void rm_tree(const char *dir)
{
    char p[512];
    DIR *dd;
    struct dirent *de;

    snprintf(p, sizeof(p), "%s/md", dir);
    dd = opendir(p);
    if (dd != NULL) {
        while ((de = readdir(dd)) != NULL) {
            char f[1024];
            if (de->d_name[0] == '.')
                continue;
            snprintf(f, sizeof(f), "%s/%s", p, de->d_name);
            unlink(f);
        }
        closedir(dd);
        rmdir(p);
    }
    snprintf(p, sizeof(p), "%s/consensus", dir);
    unlink(p);
    snprintf(p, sizeof(p), "%s/expected", dir);
    unlink(p);
    rmdir(dir);
}

/* One synthetic network: returns 1 if checked, 0 if python is unavailable. */
static int check_seed(unsigned seed, const char *mode, int testing_arg)
{
    char dir[] = "/tmp/ob-test-hsdir-XXXXXX", cmd[1024], path[600];
    const char *root = getenv("OB_ROOT");
    char *doc = NULL, *exp = NULL;
    size_t len = 0, i, k;
    onl_consensus *c = NULL;
    ob_hsv3_slot slots[2];
    uint8_t blinded[32];
    ob_diag d;
    int rc;

    assert_non_null(mkdtemp(dir));
    snprintf(cmd, sizeof(cmd), "%s %s/tests/unit/hsdir_ring.py %u %s %s", python(),
             root ? root : ".", seed, mode, dir);
    rc = system(cmd);
    if (rc != 0) {
        rm_tree(dir);
        return 0;
    }
    snprintf(path, sizeof(path), "%s/consensus", dir);
    doc = slurp(path, &len);
    snprintf(path, sizeof(path), "%s/expected", dir);
    exp = slurp(path, &len);
    snprintf(path, sizeof(path), "%s/consensus", dir);
    {
        size_t dl = strlen(doc);
        if (onl_consensus_parse(doc, dl, testing_arg, &c, &d) != OB_OK)
            fail_msg("seed %u: %s", seed, d.msg);
    }
    for (i = 0; i < c->n_nodes; i++) {
        char fp[41], *md;
        size_t ml = 0;
        hexfp(fp, c->nodes[i].rsa_id);
        snprintf(path, sizeof(path), "%s/md/%s", dir, fp);
        if (access(path, R_OK) != 0)
            continue;
        md = slurp(path, &ml);
        (void)onl_consensus_set_md(c, i, md, ml, NULL);
        free(md);
    }
    assert_int_equal(c->testing, atoi(expect_get(exp, "testing")));
    assert_int_equal(c->tp.length_min, strtoull(expect_get(exp, "length"), NULL, 10));
    assert_int_equal(c->tp.offset_min, strtoull(expect_get(exp, "offset"), NULL, 10));
    assert_int_equal(ob_hsv3_tp_num(c->valid_after, &c->tp),
                     strtoull(expect_get(exp, "tp"), NULL, 10));
    assert_int_equal(c->n_replicas, atoi(expect_get(exp, "replicas")));
    assert_int_equal(c->spread_store, atoi(expect_get(exp, "spread")));
    assert_int_equal(onl_consensus_ring_size(c), strtoull(expect_get(exp, "ring"), NULL, 10));
    assert_int_equal(ob_hex_decode(blinded, 32, expect_get(exp, "blinded"), 64), 0);

    ob_hsv3_publish_slots(c->valid_after, &c->tp, slots);
    for (k = 0; k < 2; k++) {
        char key[8], want_srv[65], got_srv[65], list[4096] = "";
        unsigned long long want_tp;
        int want_cur, n_used = 0;
        uint8_t srv[32];
        size_t out[512], n = 0;
        ob_err e;

        snprintf(key, sizeof(key), "slot%zu", k);
        assert_int_equal(sscanf(expect_get(exp, key), "%llu %d %64s %4095s%n", &want_tp, &want_cur,
                                want_srv, list, &n_used),
                         4);
        if (slots[k].tp != want_tp || slots[k].use_current_srv != want_cur)
            fail_msg("seed %u %s slot %zu: tp %llu/%d, python says %llu/%d", seed, mode, k,
                     (unsigned long long)slots[k].tp, slots[k].use_current_srv, want_tp, want_cur);
        assert_true(onl_consensus_slot_srv(c, &slots[k], srv) >= 0);
        ob_hex_encode(got_srv, srv, 32);
        assert_string_equal(got_srv, want_srv);
        e = onl_hsdir_responsible(c, blinded, slots[k].tp, srv, c->spread_store, out, 512, &n, &d);
        if (strcmp(list, "-") == 0) {
            assert_int_equal(e, OB_ERR_NOTFOUND);
            continue;
        }
        assert_int_equal(e, OB_OK);
        {
            char got[4096] = "";
            size_t j;
            for (j = 0; j < n; j++) {
                char fp[41];
                hexfp(fp, c->nodes[out[j]].rsa_id);
                if (j)
                    strcat(got, ",");
                strcat(got, fp);
            }
            if (strcmp(got, list) != 0)
                fail_msg("seed %u %s slot %zu:\n got  %s\n want %s", seed, mode, k, got, list);
        }
    }
    onl_consensus_free(c);
    free(doc);
    free(exp);
    rm_tree(dir);
    return 1;
}

static void test_ring_vs_python_live(void **state)
{
    unsigned s;
    (void)state;
    for (s = 1; s <= 24; s++)
        if (!check_seed(s, "live", 0))
            skip();
}

static void test_ring_vs_python_testing(void **state)
{
    unsigned s;
    (void)state;
    for (s = 100; s <= 124; s++)
        if (!check_seed(s, "testing", 1))
            skip();
}

static void test_ring_testing_guessed(void **state)
{
    unsigned s;
    (void)state;
    /* without GETCONF's answer, a sub-hour voting interval means a test network */
    for (s = 200; s <= 205; s++) {
        if (!check_seed(s, "testing", -1) || !check_seed(s + 1000, "live", -1))
            skip();
    }
}

static void test_isotime(void **state)
{
    uint64_t t = 0;

    (void)state;
    assert_int_equal(onl_parse_isotime("2016-04-13 11:00:00", 19, &t), 0);
    assert_int_equal(t, 1460545200ULL);
    assert_int_equal(onl_parse_isotime("1970-01-01 00:00:00", 19, &t), 0);
    assert_int_equal(t, 0);
    assert_int_equal(onl_parse_isotime("2024-02-29 23:59:59", 19, &t), 0);
    assert_int_equal(t, 1709251199ULL);
    assert_int_equal(onl_parse_isotime("2023-02-29 00:00:00", 19, &t), -1);
    assert_int_equal(onl_parse_isotime("2023-13-01 00:00:00", 19, &t), -1);
    assert_int_equal(onl_parse_isotime("2023-01-01T00:00:00", 19, &t), -1);
    assert_int_equal(onl_parse_isotime("2023-01-01 00:00:0", 18, &t), -1);
    assert_int_equal(onl_parse_isotime("2023-01-01 0a:00:00", 19, &t), -1);
}

#define HDR                                \
    "network-status-version 3 microdesc\n" \
    "valid-after 2016-04-13 11:00:00\n"    \
    "fresh-until 2016-04-13 12:00:00\n"    \
    "valid-until 2016-04-13 14:00:00\n"

static void test_consensus_rejects(void **state)
{
    static const struct {
        const char *doc;
        ob_err want;
        const char *where;
    } v[] = {
        { "network-status-version 2\n", OB_ERR_UNSUPPORTED, "line 1" },
        { HDR "valid-after 2016-04-13 11:00:00\n", OB_ERR_MALFORMED, "line 5" },
        { "network-status-version 3 microdesc\nvalid-after 2016-04-13 11:00:00\n", OB_ERR_MALFORMED,
          "missing" },
        { HDR "params a=1  b=2\n", OB_ERR_MALFORMED, "line 5" },
        { HDR "params hsdir_n_replicas=x\n", OB_ERR_MALFORMED, "line 5" },
        { HDR "shared-rand-current-value 9 AAAA\n", OB_ERR_MALFORMED, "line 5" },
        { HDR "r nick AAAA 2016-04-13 10:00:00 127.0.0.1 5000 0\n", OB_ERR_MALFORMED, "line 5" },
        { HDR "r nick AAAAAAAAAAAAAAAAAAAAAAAAAAA 2016-04-13 10:00:00 1.2.3.4 5000\n",
          OB_ERR_MALFORMED, "line 5" },
        { HDR "r\r nick\n", OB_ERR_MALFORMED, "line 5" },
        { HDR "s HSDir", OB_ERR_TRUNCATED, "line 5" },
        { "network-status-version 3 microdesc\nvalid-after 2016-04-13 11:00:00\n"
          "fresh-until 2016-04-13 11:00:00\nvalid-until 2016-04-13 14:00:00\n",
          OB_ERR_RANGE, "order" },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        onl_consensus *c = NULL;
        ob_diag d;
        ob_err e = onl_consensus_parse(v[i].doc, strlen(v[i].doc), 0, &c, &d);
        if (e != v[i].want || strstr(d.msg, v[i].where) == NULL)
            fail_msg("case %zu: got %d '%s'", i, e, e ? d.msg : "");
        assert_null(c);
    }
}

static ob_err set_md(onl_consensus *c, size_t i, const char *md, ob_diag *d)
{
    return onl_consensus_set_md(c, i, md, strlen(md), d);
}

static void test_consensus_facts(void **state)
{
    const char doc[] = HDR "params hsdir_interval=90 hsdir_n_replicas=99 hsdir_spread_store=0\n"
                           "shared-rand-current-value 9 "
                           "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=\n"
                           "r a AAAAAAAAAAAAAAAAAAAAAAAAAAA 2016-04-13 10:00:00 1.2.3.4 5000 0\n"
                           "s Fast HSDir Running\n"
                           "pr HSDir=1-2\n"
                           "r b AQEBAQEBAQEBAQEBAQEBAQEBAQE 2016-04-13 10:00:00 1.2.3.4 5000 0\n"
                           "s Fast Running\n"
                           "pr HSDir=2\n"
                           "r c AgICAgICAgICAgICAgICAgICAgI 2016-04-13 10:00:00 1.2.3.4 5000 0\n"
                           "s HSDir\n"
                           "pr HSDir=1,3\n"
                           "directory-footer\n"
                           "r ignored after the footer\n";
    onl_consensus *c = NULL;
    ob_hsv3_slot slot = { 16903, 0 };
    uint8_t srv[32], want[32];
    ob_diag d;

    (void)state;
    assert_int_equal(onl_consensus_parse(doc, strlen(doc), 0, &c, &d), OB_OK);
    assert_int_equal(c->valid_after, 1460545200ULL);
    assert_int_equal(c->voting_interval, 3600);
    assert_false(c->testing);
    assert_int_equal(c->tp.length_min, 90);
    assert_int_equal(c->tp.offset_min, 720);
    assert_int_equal(c->n_replicas, 16); /* clamped like networkstatus_get_param */
    assert_int_equal(c->spread_store, 1);
    assert_int_equal(c->spread_fetch, 3);
    assert_true(c->has_srv_cur);
    assert_false(c->has_srv_prev);
    assert_int_equal(c->srv_cur[0], 1);
    assert_int_equal(c->srv_cur[31], 32);
    assert_int_equal(c->n_relays, 3);
    assert_int_equal(c->n_nodes, 1); /* only "a": HSDir flag and HSDir=2 */
    assert_string_equal(c->nodes[0].nick, "a");
    assert_int_equal(onl_consensus_ring_size(c), 0);
    /* previous SRV missing: the disaster SRV for the slot's period */
    assert_int_equal(onl_consensus_slot_srv(c, &slot, srv), 1);
    assert_int_equal(ob_hsv3_disaster_srv(want, 90, 16903), 0);
    assert_memory_equal(srv, want, 32);
    slot.use_current_srv = 1;
    assert_int_equal(onl_consensus_slot_srv(c, &slot, srv), 0);
    assert_memory_equal(srv, c->srv_cur, 32);
    /* microdescriptor ed25519 id */
    assert_int_equal(set_md(c, 0, "onion-key\nid rsa1024 x\n", &d), OB_ERR_NOTFOUND);
    assert_int_equal(set_md(c, 0,
                            "id ed25519 AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA\n"
                            "id ed25519 AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA\n",
                            &d),
                     OB_ERR_MALFORMED);
    assert_int_equal(set_md(c, 0, "id ed25519 AQID\n", &d), OB_ERR_MALFORMED);
    assert_int_equal(set_md(c, 0, "id ed25519 AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA\n", &d),
                     OB_OK);
    assert_int_equal(onl_consensus_ring_size(c), 1);
    assert_int_equal(set_md(c, 1, "x\n", &d), OB_ERR_INTERNAL);
    onl_consensus_free(c);

    /* a 20-second test network: one period = one SR run of 24 votes */
    {
        const char t[] = "network-status-version 3 microdesc\n"
                         "valid-after 2026-11-22 03:00:20\n"
                         "fresh-until 2026-11-22 03:00:40\n"
                         "valid-until 2026-11-22 03:01:20\n"
                         "params hsdir_interval=1440\n";
        assert_int_equal(onl_consensus_parse(t, strlen(t), 1, &c, &d), OB_OK);
        assert_true(c->testing);
        assert_int_equal(c->tp.length_min, 8);
        assert_int_equal(c->tp.offset_min, 4);
        onl_consensus_free(c);
    }
}

static void test_ring_small(void **state)
{
    /* fewer HSDirs than replicas*spread: each node at most once, no loop */
    const char doc[] = HDR "r a AAAAAAAAAAAAAAAAAAAAAAAAAAA 2016-04-13 10:00:00 1.2.3.4 5000 0\n"
                           "s HSDir\npr HSDir=2\n"
                           "r b AQEBAQEBAQEBAQEBAQEBAQEBAQE 2016-04-13 10:00:00 1.2.3.4 5000 0\n"
                           "s HSDir\npr HSDir=2\n";
    onl_consensus *c = NULL;
    uint8_t Ab[32] = { 7 }, srv[32] = { 9 };
    size_t out[16], n = 0;
    ob_diag d;

    (void)state;
    assert_int_equal(onl_consensus_parse(doc, strlen(doc), 0, &c, &d), OB_OK);
    assert_int_equal(onl_hsdir_responsible(c, Ab, 16903, srv, 4, out, 16, &n, &d),
                     OB_ERR_NOTFOUND); /* no ed ids yet */
    assert_int_equal(set_md(c, 0, "id ed25519 AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA\n", &d),
                     OB_OK);
    assert_int_equal(set_md(c, 1, "id ed25519 AgIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA\n", &d),
                     OB_OK);
    assert_int_equal(onl_hsdir_responsible(c, Ab, 16903, srv, 4, out, 16, &n, &d), OB_OK);
    assert_int_equal(n, 2);
    assert_true(out[0] != out[1]);
    /* max caps the output */
    assert_int_equal(onl_hsdir_responsible(c, Ab, 16903, srv, 4, out, 1, &n, &d), OB_OK);
    assert_int_equal(n, 1);
    onl_consensus_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_isotime),
        cmocka_unit_test(test_consensus_rejects),
        cmocka_unit_test(test_consensus_facts),
        cmocka_unit_test(test_ring_small),
        cmocka_unit_test(test_ring_vs_python_live),
        cmocka_unit_test(test_ring_vs_python_testing),
        cmocka_unit_test(test_ring_testing_guessed),
    };

    if (ob_secmem_init() != 0)
        return 1;
    alarm(300); /* a hung helper fails the run instead of stalling it */
    return cmocka_run_group_tests(tests, NULL, NULL);
}

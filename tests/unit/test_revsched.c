/*
 * test_revsched.c - the daemon's revision schedule (online/revsched.h) with
 * an injected clock: the rules one by one, then a simulation of HSDirs as
 * tor's hs_cache.c behaves (keep one descriptor per blinded key, take only a
 * strictly greater revision counter, drop at the first run of the 30-minute
 * cache cleaner at least descriptor-lifetime after accepting) driven by the
 * schedule as the daemon drives it.  With the revisions a signer makes
 * (ob_hsv3_revs_plan) no HSDir is ever empty; with one revision per
 * descriptor (what a response without revisions gives) the same simulation
 * finds the gap this work removes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hsv3_revs.h"
#include "revsched.h"

#define LIFE  1800u /* descriptor-lifetime 30 min, the shortest */
#define STEP  900u  /* what ob_hsv3_revs_plan gives for it */
#define RETRY 300u  /* PUBLISH_CHECK_INTERVAL's default */

static uint8_t ids[7][20];
static uint8_t src_a[32], src_b[32];

static int setup(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < 7; i++)
        memset(ids[i], (int)(0x10 + i), 20);
    memset(src_a, 0xaa, 32);
    memset(src_b, 0xbb, 32);
    return 0;
}

static void mk_in(onl_rs_in *in, uint64_t now, const onl_rs_rev *revs, size_t n, const uint8_t *src,
                  size_t n_ids)
{
    memset(in, 0, sizeof(*in));
    in->now = now;
    in->revs = revs;
    in->n_revs = n;
    in->step = STEP;
    in->lifetime = LIFE;
    in->retry = RETRY;
    in->ids = (const uint8_t(*)[20])ids;
    in->n_ids = n_ids;
    in->source = src;
}

static void all(uint8_t *r, size_t n, uint8_t v)
{
    memset(r, v, n);
}

/* Revision 0 from 1000 (counter 100), then one every STEP from 5000 (counters 200, 300, ...). */
static const onl_rs_rev revs4[4] = {
    { 1000, 100 }, { 5000, 200 }, { 5000 + STEP, 300 }, { 5000 + 2 * STEP, 400 }
};

static void test_first_upload_by_clock(void **state)
{
    onl_rs_stream s;
    onl_rs_in in;
    onl_rs_out o;

    (void)state;
    memset(&s, 0, sizeof(s));
    mk_in(&in, 4000, revs4, 4, src_a, 7);
    onl_rs_decide(&s, &in, &o);
    assert_int_equal(o.rev, 0);
    assert_int_equal(o.n_send, 7);
    assert_false(o.ahead);
    /* A restart later in the day: the revision whose time has come, not revision 0. */
    mk_in(&in, 5000 + STEP + 10, revs4, 4, src_a, 7);
    onl_rs_decide(&s, &in, &o);
    assert_int_equal(o.rev, 2);
    assert_int_equal(o.n_send, 7);
}

static void test_next_after_step(void **state)
{
    onl_rs_stream s;
    onl_rs_in in;
    onl_rs_out o;
    uint8_t r[7];

    (void)state;
    memset(&s, 0, sizeof(s));
    mk_in(&in, 4000, revs4, 4, src_a, 7);
    onl_rs_decide(&s, &in, &o);
    all(r, 7, ONL_RS_ACCEPTED);
    onl_rs_record(&s, &in, o.rev, r);
    assert_int_equal(s.held, 100);
    assert_int_equal(s.held_at, 4000);
    /* Nothing until held_at + STEP, and the daemon is told when. */
    mk_in(&in, 4000 + STEP - 1, revs4, 4, src_a, 7);
    onl_rs_decide(&s, &in, &o);
    assert_int_equal(o.rev, -1);
    assert_int_equal(o.next, 4000 + STEP);
    /* Then the next revision, not the one the clock is at (4900 < 5000: it is ahead). */
    mk_in(&in, 4000 + STEP, revs4, 4, src_a, 7);
    onl_rs_decide(&s, &in, &o);
    assert_int_equal(o.rev, 1);
    assert_int_equal(o.n_send, 7);
    assert_true(o.ahead);
    onl_rs_record(&s, &in, o.rev, r);
    assert_int_equal(s.held, 200);
    /* Far later, still one at a time: counters stay behind the clock. */
    mk_in(&in, 100000, revs4, 4, src_a, 7);
    onl_rs_decide(&s, &in, &o);
    assert_int_equal(o.rev, 2);
}

/* The clock steps back an hour after the first upload: moved with it, the
 * schedule keeps its real intervals (the next revision STEP after the
 * acceptance, not an hour later); the same bytes again LIFE after it. */
static void test_clock_step(void **state)
{
    onl_rs_stream s;
    onl_rs_in in;
    onl_rs_out o;
    uint8_t r[7];
    static const onl_rs_rev one[1] = { { 1000, 100 } };

    (void)state;
    memset(&s, 0, sizeof(s));
    mk_in(&in, 4000, revs4, 4, src_a, 7);
    onl_rs_decide(&s, &in, &o);
    all(r, 7, ONL_RS_ACCEPTED);
    onl_rs_record(&s, &in, o.rev, r);
    onl_rs_clock_step(&s, -3600);
    assert_int_equal(s.held_at, 400);
    assert_int_equal(s.h[0].at, 400);
    mk_in(&in, 400 + STEP - 1, revs4, 4, src_a, 7);
    onl_rs_decide(&s, &in, &o);
    assert_int_equal(o.rev, -1);
    assert_int_equal(o.next, 400 + STEP);
    mk_in(&in, 400 + STEP, revs4, 4, src_a, 7);
    onl_rs_decide(&s, &in, &o);
    assert_int_equal(o.rev, 1);
    assert_int_equal(o.n_send, 7);
    /* One revision only: the same bytes again LIFE after the (moved) acceptance. */
    memset(&s, 0, sizeof(s));
    mk_in(&in, 4000, one, 1, src_a, 7);
    onl_rs_decide(&s, &in, &o);
    onl_rs_record(&s, &in, o.rev, r);
    onl_rs_clock_step(&s, -3600);
    mk_in(&in, 400 + LIFE - 1, one, 1, src_a, 7);
    onl_rs_decide(&s, &in, &o);
    assert_int_equal(o.rev, -1);
    assert_int_equal(o.next, 400 + LIFE);
    /* Forward as well; 0 ("never") stays 0. */
    onl_rs_clock_step(&s, 7200);
    assert_int_equal(s.held_at, 7600);
    assert_int_equal(s.h[0].tried_at, 0);
}

static void test_failed_hsdir_retried(void **state)
{
    onl_rs_stream s;
    onl_rs_in in;
    onl_rs_out o;
    uint8_t r[7];

    (void)state;
    memset(&s, 0, sizeof(s));
    mk_in(&in, 4000, revs4, 4, src_a, 7);
    onl_rs_decide(&s, &in, &o);
    all(r, 7, ONL_RS_ACCEPTED);
    r[3] = ONL_RS_FAILED;
    onl_rs_record(&s, &in, o.rev, r);
    /* Only HSDir 3, and only after RETRY. */
    mk_in(&in, 4000 + RETRY - 1, revs4, 4, src_a, 7);
    onl_rs_decide(&s, &in, &o);
    assert_int_equal(o.rev, -1);
    assert_int_equal(o.next, 4000 + RETRY);
    mk_in(&in, 4000 + RETRY, revs4, 4, src_a, 7);
    onl_rs_decide(&s, &in, &o);
    assert_int_equal(o.rev, 0);
    assert_int_equal(o.n_send, 1);
    assert_true(o.send[3]);
    /* When the target moves on, it is tried at once with the new one. */
    all(r, 7, ONL_RS_NOT_SENT);
    r[3] = ONL_RS_FAILED;
    onl_rs_record(&s, &in, o.rev, r);
    mk_in(&in, 4000 + STEP, revs4, 4, src_a, 7);
    onl_rs_decide(&s, &in, &o);
    assert_int_equal(o.rev, 1);
    assert_int_equal(o.n_send, 7);
    /* A reconnect makes pending retries due at once. */
    all(r, 7, ONL_RS_ACCEPTED);
    r[5] = ONL_RS_FAILED;
    onl_rs_record(&s, &in, o.rev, r);
    mk_in(&in, 4000 + STEP + 1, revs4, 4, src_a, 7);
    onl_rs_decide(&s, &in, &o);
    assert_int_equal(o.rev, -1);
    onl_rs_kick(&s);
    onl_rs_decide(&s, &in, &o);
    assert_int_equal(o.rev, 1);
    assert_int_equal(o.n_send, 1);
    assert_true(o.send[5]);
}

static void test_new_hsdir_gets_held(void **state)
{
    onl_rs_stream s;
    onl_rs_in in;
    onl_rs_out o;
    uint8_t r[7];

    (void)state;
    memset(&s, 0, sizeof(s));
    mk_in(&in, 4000, revs4, 4, src_a, 6);
    onl_rs_decide(&s, &in, &o);
    all(r, 7, ONL_RS_ACCEPTED);
    onl_rs_record(&s, &in, o.rev, r);
    /* A seventh HSDir becomes responsible: it gets the held revision now. */
    mk_in(&in, 4100, revs4, 4, src_a, 7);
    onl_rs_decide(&s, &in, &o);
    assert_int_equal(o.rev, 0);
    assert_int_equal(o.n_send, 1);
    assert_true(o.send[6]);
}

static void test_newer_response_takes_over(void **state)
{
    /* Signed later (counter 250 at 5500) and behind what the HSDirs hold (300). */
    static const onl_rs_rev b[4] = {
        { 1000, 250 }, { 5500 + STEP, 350 }, { 5500 + 2 * STEP, 450 }, { 5500 + 3 * STEP, 550 }
    };
    onl_rs_stream s;
    onl_rs_in in;
    onl_rs_out o;
    uint8_t r[7];

    (void)state;
    memset(&s, 0, sizeof(s));
    mk_in(&in, 5000 + STEP, revs4, 4, src_a, 7);
    onl_rs_decide(&s, &in, &o);
    assert_int_equal(o.rev, 2);
    all(r, 7, ONL_RS_ACCEPTED);
    onl_rs_record(&s, &in, o.rev, r);
    /* At once, with its first revision above 300, although its time is ahead. */
    mk_in(&in, 5000 + STEP + 5, b, 4, src_b, 7);
    onl_rs_decide(&s, &in, &o);
    assert_int_equal(o.rev, 1);
    assert_int_equal(o.n_send, 7);
    assert_true(o.ahead);
    onl_rs_record(&s, &in, o.rev, r);
    assert_int_equal(s.held, 350);
    assert_memory_equal(s.source, src_b, 32);
    /* A newer one whose revision 0 is above: revision 0 at once. */
    memset(&s, 0, sizeof(s));
    mk_in(&in, 4000, revs4, 4, src_a, 7);
    onl_rs_decide(&s, &in, &o);
    onl_rs_record(&s, &in, o.rev, r);
    mk_in(&in, 4010, b, 4, src_b, 7);
    onl_rs_decide(&s, &in, &o);
    assert_int_equal(o.rev, 0);
    assert_false(o.ahead);
}

static void test_rejected_counts_as_held(void **state)
{
    onl_rs_stream s;
    onl_rs_in in;
    onl_rs_out o;
    uint8_t r[7];

    (void)state;
    memset(&s, 0, sizeof(s));
    mk_in(&in, 4000, revs4, 4, src_a, 7);
    onl_rs_decide(&s, &in, &o);
    all(r, 7, ONL_RS_REJECTED); /* another publisher was first */
    onl_rs_record(&s, &in, o.rev, r);
    assert_int_equal(s.held, 100);
    mk_in(&in, 4000 + STEP, revs4, 4, src_a, 7);
    onl_rs_decide(&s, &in, &o);
    assert_int_equal(o.rev, 1); /* moved on, not stuck on revision 0 */
}

static void test_last_revision_again_once_dropped(void **state)
{
    static const onl_rs_rev one[1] = { { 1000, 100 } };
    onl_rs_stream s;
    onl_rs_in in;
    onl_rs_out o;
    uint8_t r[7];

    (void)state;
    memset(&s, 0, sizeof(s));
    mk_in(&in, 4000, one, 1, src_a, 7);
    onl_rs_decide(&s, &in, &o);
    all(r, 7, ONL_RS_ACCEPTED);
    onl_rs_record(&s, &in, o.rev, r);
    /* Not before the HSDirs may have dropped it: lifetime after they took it. */
    mk_in(&in, 4000 + LIFE - 1, one, 1, src_a, 7);
    onl_rs_decide(&s, &in, &o);
    assert_int_equal(o.rev, -1);
    assert_int_equal(o.next, 4000 + LIFE);
    mk_in(&in, 4000 + LIFE, one, 1, src_a, 7);
    onl_rs_decide(&s, &in, &o);
    assert_int_equal(o.rev, 0);
    assert_int_equal(o.n_send, 7);
    /* Refused (still held): every RETRY from then on, never counted as new. */
    all(r, 7, ONL_RS_REJECTED);
    onl_rs_record(&s, &in, o.rev, r);
    mk_in(&in, 4000 + LIFE + RETRY - 1, one, 1, src_a, 7);
    onl_rs_decide(&s, &in, &o);
    assert_int_equal(o.rev, -1);
    assert_int_equal(o.next, 4000 + LIFE + RETRY);
    mk_in(&in, 4000 + LIFE + RETRY, one, 1, src_a, 7);
    onl_rs_decide(&s, &in, &o);
    assert_int_equal(o.n_send, 7);
}

/* ---- simulation ---------------------------------------------------------- */

typedef struct simdir {
    uint64_t counter; /* 0: holds nothing */
    uint64_t at;
    int ever;       /* it held one once: from then on it must never be empty */
    uint64_t phase; /* its cleaner runs at phase + k * 1800 */
} simdir;

typedef struct sim {
    uint64_t run_start, until; /* the stream's window */
    uint64_t sign_at[3], arrive_at[3];
    size_t n_resp;
    int with_revisions;
    unsigned fail_every; /* an HSDir attempt fails every fail_every-th time (0: never) */
    uint64_t spread;     /* s between the HSDirs' start (their cleaners' phases) */
} sim;

typedef struct simresult {
    uint64_t empty_secs; /* HSDir-seconds with nothing, after it first held one */
    uint64_t all_empty_secs;
    uint64_t takeover_secs; /* worst: arrival of a response -> every HSDir holds it */
    uint64_t uploads;
} simresult;

static size_t make_revs(const sim *m, size_t k, onl_rs_rev *revs)
{
    uint64_t first = 0;
    uint32_t step = 0;
    size_t n = 0, i;

    revs[0].from = m->run_start;
    revs[0].counter = m->sign_at[k] - m->run_start + 1;
    if (m->with_revisions)
        n = ob_hsv3_revs_plan(m->sign_at[k], m->run_start, m->until, LIFE / 60, 0, &first, &step);
    assert_int_equal(m->with_revisions ? step : STEP, STEP);
    for (i = 1; i <= n; i++) {
        revs[i].from = first + (i - 1) * step;
        revs[i].counter = revs[i].from - m->run_start + 1; /* tor's T: order as the OPE */
    }
    return n + 1;
}

static void run_sim(const sim *m, simresult *res)
{
    static onl_rs_rev revs[3][OB_HSV3_REVS_MAX + 1];
    size_t nrev[3], k, i, cur = SIZE_MAX;
    simdir dir[7];
    onl_rs_stream s;
    onl_rs_in in;
    onl_rs_out o;
    uint64_t now, wake = 0, first_up = 0, arrived = 0;
    unsigned attempts = 0;
    uint8_t src[3][32], r[7];
    int pending = 0;

    memset(res, 0, sizeof(*res));
    memset(&s, 0, sizeof(s));
    memset(dir, 0, sizeof(dir));
    for (i = 0; i < 7; i++)
        dir[i].phase = m->run_start - 1800 + m->spread * i;
    for (k = 0; k < m->n_resp; k++) {
        nrev[k] = make_revs(m, k, revs[k]);
        memset(src[k], (int)(k + 1), 32);
    }
    for (now = m->run_start; now < m->until; now++) {
        /* the HSDirs' cleaners */
        for (i = 0; i < 7; i++)
            if (now >= dir[i].phase && (now - dir[i].phase) % 1800 == 0 && dir[i].counter != 0 &&
                dir[i].at + LIFE <= now)
                dir[i].counter = 0;
        for (k = 0; k < m->n_resp; k++)
            if (now == m->arrive_at[k]) {
                cur = k;
                wake = now;
                arrived = now;
                pending = 1;
            }
        if (cur != SIZE_MAX && now >= wake) {
            mk_in(&in, now, revs[cur], nrev[cur], src[cur], 7);
            onl_rs_decide(&s, &in, &o);
            if (o.rev >= 0) {
                uint64_t want = revs[cur][o.rev].counter;
                memset(r, ONL_RS_NOT_SENT, sizeof(r));
                for (i = 0; i < 7; i++) {
                    if (!o.send[i])
                        continue;
                    res->uploads++;
                    if (m->fail_every && ++attempts % m->fail_every == 0)
                        r[i] = ONL_RS_FAILED; /* timeout: nothing reached the HSDir */
                    else if (want > dir[i].counter) {
                        dir[i].counter = want;
                        dir[i].at = now;
                        dir[i].ever = 1;
                        r[i] = ONL_RS_ACCEPTED;
                    } else {
                        r[i] = ONL_RS_REJECTED;
                    }
                }
                onl_rs_record(&s, &in, o.rev, r);
                if (first_up == 0)
                    first_up = now;
                onl_rs_decide(&s, &in, &o); /* what comes next */
            }
            wake = o.next < now + RETRY ? o.next : now + RETRY;
        }
        if (first_up != 0) {
            size_t empty = 0;
            for (i = 0; i < 7; i++)
                empty += dir[i].ever && dir[i].counter == 0;
            res->empty_secs += empty;
            res->all_empty_secs += empty == 7;
        }
        if (pending) {
            /* every HSDir holds a revision of the newest response */
            int done = 1;
            for (i = 0; i < 7; i++)
                done &= dir[i].counter >= revs[cur][0].counter;
            if (done) {
                if (now - arrived > res->takeover_secs)
                    res->takeover_secs = now - arrived;
                pending = 0;
            }
        }
    }
}

/* A live-network stream: 24 h periods, its window 48 h; ceremonies a day apart. */
static void live_sim(sim *m, uint64_t delay1, uint64_t delay2, int with_revisions)
{
    memset(m, 0, sizeof(*m));
    m->run_start = 1795305600; /* 2026-11-22 00:00 UTC */
    m->until = m->run_start + 2 * 86400;
    m->sign_at[0] = m->run_start + 1800;
    m->arrive_at[0] = m->sign_at[0] + delay1;
    m->sign_at[1] = m->run_start + 86400 + 1800;
    m->arrive_at[1] = m->sign_at[1] + delay2;
    m->n_resp = 2;
    m->with_revisions = with_revisions;
    m->spread = 257; /* tors started at different moments */
}

static void test_sim_no_gap_with_revisions(void **state)
{
    static const uint64_t delays[][2] = { { 60, 60 },    { 600, 60 },  { 60, 1700 },
                                          { 3000, 120 }, { 30, 3599 }, { 899, 901 } };
    simresult res;
    sim m;
    size_t i;

    (void)state;
    for (i = 0; i < 2 * sizeof(delays) / sizeof(delays[0]); i++) {
        live_sim(&m, delays[i / 2][0], delays[i / 2][1], 1);
        m.spread = i % 2 ? 0 : 257; /* or all at once, as on the test network */
        run_sim(&m, &res);
        if (res.empty_secs != 0)
            print_error("delays %llu/%llu: %llu HSDir-seconds empty\n",
                        (unsigned long long)delays[i / 2][0], (unsigned long long)delays[i / 2][1],
                        (unsigned long long)res.empty_secs);
        assert_int_equal(res.empty_secs, 0);
        /* the new response is on every HSDir the moment it arrives */
        assert_int_equal(res.takeover_secs, 0);
        /* one upload per HSDir per step, give or take: no flood of refused ones */
        assert_true(res.uploads < 7 * (2 * 86400 / STEP + 10));
    }
    /* Failed uploads (a retry after RETRY): still no gap. */
    live_sim(&m, 120, 300, 1);
    m.fail_every = 5;
    run_sim(&m, &res);
    assert_int_equal(res.empty_secs, 0);
    /* A test-network stream as in tests/e2e/test_reachability.sh: 60-minute
     * periods, a ceremony at each SRV run start. */
    memset(&m, 0, sizeof(m));
    m.run_start = 1795305600;
    m.until = m.run_start + 7200;
    m.sign_at[0] = m.run_start + 600;
    m.arrive_at[0] = m.sign_at[0] + 5;
    m.sign_at[1] = m.run_start + 3600 + 600;
    m.arrive_at[1] = m.sign_at[1] + 5;
    m.n_resp = 2;
    m.with_revisions = 1;
    run_sim(&m, &res);
    assert_int_equal(res.empty_secs, 0);
}

static void test_sim_gap_without_revisions(void **state)
{
    simresult res;
    sim m;

    (void)state;
    /* The same ceremonies with one revision each: HSDirs go empty, and
     * when their cleaners run together (the test network), all at once. */
    live_sim(&m, 60, 60, 0);
    run_sim(&m, &res);
    assert_true(res.empty_secs > 0);
    m.spread = 0;
    run_sim(&m, &res);
    assert_true(res.all_empty_secs > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_upload_by_clock),
        cmocka_unit_test(test_next_after_step),
        cmocka_unit_test(test_clock_step),
        cmocka_unit_test(test_failed_hsdir_retried),
        cmocka_unit_test(test_new_hsdir_gets_held),
        cmocka_unit_test(test_newer_response_takes_over),
        cmocka_unit_test(test_rejected_counts_as_held),
        cmocka_unit_test(test_last_revision_again_once_dropped),
        cmocka_unit_test(test_sim_no_gap_with_revisions),
        cmocka_unit_test(test_sim_gap_without_revisions),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}

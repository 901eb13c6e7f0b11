/*
 * test_pool.c - format/core/pool.c: every job runs once, results by index,
 * the failure reported is the one with the lowest index whatever the
 * number of threads, and the thread count's sources (option, OB_THREADS).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pool.h"

#define N 500

typedef struct ctx {
    atomic_int runs[N];
    long result[N];
    size_t fail_a, fail_b; /* jobs that fail (N: none) */
    atomic_int busy[OB_POOL_MAX_THREADS];
    int overlap;
    atomic_ulong slots_seen;
} ctx;

static ob_err job(void *c, size_t i, unsigned slot, ob_diag *d)
{
    ctx *x = c;
    volatile long acc = 0;
    long k;

    atomic_fetch_add(&x->runs[i], 1);
    /* One job at a time per slot: a slot's counter never sees two. */
    if (atomic_fetch_add(&x->busy[slot], 1) != 0)
        x->overlap = 1;
    atomic_fetch_or(&x->slots_seen, 1ul << (slot % 64));
    for (k = 0; k < (long)(i % 7) * 1000; k++) /* uneven jobs */
        acc += k;
    x->result[i] = (long)i * (long)i + 0 * acc;
    atomic_fetch_sub(&x->busy[slot], 1);
    if (i == x->fail_a || i == x->fail_b)
        return ob_fail(d, i == x->fail_a ? OB_ERR_VERIFY : OB_ERR_RANGE, "job %zu failed", i);
    return OB_OK;
}

static void test_all_jobs_once(void **state)
{
    static const unsigned threads[] = { 1, 2, 3, 8, 64 };
    ctx *x = calloc(1, sizeof(*x));
    size_t t, i;
    ob_diag d;

    (void)state;
    assert_non_null(x);
    for (t = 0; t < sizeof(threads) / sizeof(threads[0]); t++) {
        memset(x, 0, sizeof(*x));
        x->fail_a = x->fail_b = N;
        assert_int_equal(ob_pool_run(N, threads[t], job, x, &d), OB_OK);
        assert_int_equal(x->overlap, 0);
        /* Slots are 0 .. threads-1 (the caller is slot 0, and may find
         * every job taken by the time it looks). */
        assert_true(x->slots_seen < (threads[t] >= 64 ? ~0ul : (1ul << threads[t])));
        assert_int_equal(ob_pool_slots(N, threads[t]), threads[t]);
        for (i = 0; i < N; i++) {
            assert_int_equal(atomic_load(&x->runs[i]), 1);
            assert_int_equal(x->result[i], (long)(i * i));
        }
    }
    assert_int_equal(ob_pool_run(0, 4, job, x, &d), OB_OK);
    assert_int_equal(ob_pool_slots(3, 8), 3);
    free(x);
}

static void test_lowest_failure_wins(void **state)
{
    static const unsigned threads[] = { 1, 2, 5, 16 };
    ctx *x = calloc(1, sizeof(*x));
    size_t t, i;
    int round;
    ob_diag d;

    (void)state;
    assert_non_null(x);
    for (round = 0; round < 20; round++) {
        for (t = 0; t < sizeof(threads) / sizeof(threads[0]); t++) {
            memset(x, 0, sizeof(*x));
            x->fail_a = 37;
            x->fail_b = 300;
            assert_int_equal(ob_pool_run(N, threads[t], job, x, &d), OB_ERR_VERIFY);
            assert_string_equal(d.msg, "job 37 failed");
            /* As if run in order up to the failure: everything before it ran. */
            for (i = 0; i <= 37; i++)
                assert_int_equal(atomic_load(&x->runs[i]), 1);
            for (i = 38; i < N; i++)
                assert_true(atomic_load(&x->runs[i]) <= 1);
        }
    }
    free(x);
}

static void test_thread_count(void **state)
{
    unsigned n = 0;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);

    (void)state;
    unsetenv("OB_THREADS");
    assert_int_equal(ob_pool_threads(NULL, &n), 0);
    assert_int_equal(n, cores < 1 ? 1 : (unsigned)cores);
    assert_int_equal(ob_pool_threads("4", &n), 0);
    assert_int_equal(n, 4);
    assert_int_equal(ob_pool_threads("256", &n), 0);
    assert_int_equal(n, 256);
    assert_int_equal(ob_pool_threads("0", &n), -1);
    assert_int_equal(ob_pool_threads("257", &n), -1);
    assert_int_equal(ob_pool_threads("-1", &n), -1);
    assert_int_equal(ob_pool_threads("2x", &n), -1);
    assert_int_equal(ob_pool_threads("", &n), -1);
    setenv("OB_THREADS", "3", 1);
    assert_int_equal(ob_pool_threads(NULL, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(ob_pool_threads("5", &n), 0); /* the option wins */
    assert_int_equal(n, 5);
    setenv("OB_THREADS", "lots", 1);
    assert_int_equal(ob_pool_threads(NULL, &n), -1);
    unsetenv("OB_THREADS");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_jobs_once),
        cmocka_unit_test(test_lowest_failure_wins),
        cmocka_unit_test(test_thread_count),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

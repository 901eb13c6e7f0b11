/*
 * test_daemon_request.c - when `ob-online run` writes a request because the
 * signed descriptors run out (onl_daemon_request_due, daemon.h): at once
 * when they ran out after the last request written, else at most hourly.
 * The first case is the reachability run's gap (docs/reachability.rst,
 * "Before"): a request at 19:35:08, period 499076 signable from 20:00:00,
 * and the old hourly rule wrote the next request only at 20:35:08, after
 * clients had moved to that period.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>

#include "daemon.h"

/* 2026-12-07 19:35:08 UTC and the moments after it, in seconds. */
#define T_REQ   1796672108u
#define T_SRV   (T_REQ + 1492u) /* 20:00:00, the next period becomes signable */
#define REFRESH 600u

static void test_ran_out_after_last_request(void **state)
{
    (void)state;
    /* The first refresh after 20:00: due, though not an hour after 19:35:08. */
    assert_true(onl_daemon_request_due(T_REQ + 3 * REFRESH, T_REQ, T_SRV));
    /* Any moment after it, as long as no request was written since. */
    assert_true(onl_daemon_request_due(T_SRV, T_REQ, T_SRV));
    assert_true(onl_daemon_request_due(T_SRV + 1, T_REQ, T_SRV));
}

static void test_hourly_when_unanswered(void **state)
{
    uint64_t last = T_SRV + 308; /* the request written for that period */

    (void)state;
    /* Nobody answers: the next one an hour later, not at every refresh. */
    assert_false(onl_daemon_request_due(last + REFRESH, last, T_SRV));
    assert_false(onl_daemon_request_due(last + ONL_DAEMON_REQUEST_EVERY - 1, last, T_SRV));
    assert_true(onl_daemon_request_due(last + ONL_DAEMON_REQUEST_EVERY, last, T_SRV));
    /* A request written in the very second they ran out could ask for it. */
    assert_false(onl_daemon_request_due(T_SRV + REFRESH, T_SRV, T_SRV));
}

static void test_no_moment_hourly(void **state)
{
    (void)state;
    /* Nothing held at all (no moment passed): hourly from the last one. */
    assert_false(onl_daemon_request_due(T_REQ + REFRESH, T_REQ, 0));
    assert_true(onl_daemon_request_due(T_REQ + ONL_DAEMON_REQUEST_EVERY, T_REQ, 0));
    /* No request written yet: due. */
    assert_true(onl_daemon_request_due(T_REQ, 0, 0));
    assert_true(onl_daemon_request_due(T_REQ, 0, T_REQ - 5));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ran_out_after_last_request),
        cmocka_unit_test(test_hourly_when_unanswered),
        cmocka_unit_test(test_no_moment_hourly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

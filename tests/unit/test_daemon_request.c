/*
 * test_daemon_request.c - when `ob-online run` writes a request because the
 * signed descriptors run out (onl_daemon_request_due, daemon.h): at once
 * when they ran out after the last request written, else at most hourly.
 * The first case is the reachability run's gap (docs/reachability.rst,
 * "Before"): a request at 19:35:08, period 499076 signable from 20:00:00,
 * and the old hourly rule wrote the next request only at 20:35:08, after
 * clients had moved to that period.  Then onl_daemon_ran_out, the moment
 * the caller passes, on the covers ceremonies give.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>

#include "daemon.h"
#include "hsv3_common.h"
#include "hsv3_cover.h"

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

/* The reachability network: 60-minute periods, offset 30 minutes. */
static const ob_tp_params LAB = { 60, 30 };

/* What a ceremony at t signs: both publish slots, each for its window. */
static size_t ceremony(uint64_t t, ob_hsv3_cover *c)
{
    ob_hsv3_slot sl[2];
    int k;

    assert_int_equal(ob_hsv3_publish_slots(t, &LAB, sl), 0);
    for (k = 0; k < 2; k++) {
        c[k].tp = sl[k].tp;
        assert_int_equal(ob_hsv3_srv_run_start(sl[k].tp, &LAB, &c[k].from), 0);
        c[k].until = c[k].from + 2 * LAB.length_min * 60;
    }
    return 2;
}

static void test_ran_out_after_the_request(void **state)
{
    ob_hsv3_cover c[2];
    size_t n = ceremony(T_REQ + 1, c); /* answered at 19:35:09 */

    (void)state;
    /* Covered until 20:00 (the next period becomes signable then). */
    assert_int_equal(onl_daemon_ran_out(&LAB, c, n, T_REQ, T_SRV - 1), 0);
    assert_int_equal(onl_daemon_ran_out(&LAB, c, n, T_REQ, T_SRV), T_SRV);
    assert_int_equal(onl_daemon_ran_out(&LAB, c, n, T_REQ, T_REQ + 3 * REFRESH), T_SRV);
    assert_true(onl_daemon_request_due(T_REQ + 3 * REFRESH, T_REQ,
                                       onl_daemon_ran_out(&LAB, c, n, T_REQ, T_REQ + 3 * REFRESH)));
}

/*
 * The final reachability run: a ceremony at 22:39:53, the next period
 * signable from 23:00, a request at 23:09:53 that the signer refused.  That
 * request could ask for the period: no new one at the next refresh (each
 * refresh saw the gap begin "now" and wrote one, 23:19:54), but an hour on.
 */
static void test_ran_out_before_the_request(void **state)
{
    uint64_t t_cer = T_REQ + 3 * 3600 + 4 * 60 + 45; /* 22:39:53 */
    uint64_t t_srv = T_SRV + 3 * 3600;               /* 23:00:00 */
    uint64_t last = t_srv + 593;                     /* 23:09:53 */
    ob_hsv3_cover c[2];
    size_t n = ceremony(t_cer, c);
    uint64_t now;

    (void)state;
    assert_int_equal(onl_daemon_ran_out(&LAB, c, n, t_cer, last), t_srv);
    for (now = last + REFRESH; now < last + ONL_DAEMON_REQUEST_EVERY; now += REFRESH) {
        assert_int_equal(onl_daemon_ran_out(&LAB, c, n, last, now), 0);
        assert_false(onl_daemon_request_due(now, last, onl_daemon_ran_out(&LAB, c, n, last, now)));
    }
    assert_true(onl_daemon_request_due(
        last + ONL_DAEMON_REQUEST_EVERY, last,
        onl_daemon_ran_out(&LAB, c, n, last, last + ONL_DAEMON_REQUEST_EVERY)));
    /* Nothing held at all: hourly too. */
    assert_int_equal(onl_daemon_ran_out(&LAB, NULL, 0, last, last + REFRESH), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ran_out_after_last_request),
        cmocka_unit_test(test_hourly_when_unanswered),
        cmocka_unit_test(test_no_moment_hourly),
        cmocka_unit_test(test_ran_out_after_the_request),
        cmocka_unit_test(test_ran_out_before_the_request),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_hsv3_cover.c - "when is the next ceremony needed" (hsv3_cover.h)
 * under an injected clock: a ceremony's periods at several hours of one
 * day, covers that end early, the day after, a test network's short
 * periods, and a minute-by-minute scan as an independent check.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdint.h>
#include <string.h>

#include "hsv3_common.h"
#include "hsv3_cover.h"

/* 2025-11-22 00:00:00 UTC; live period D starts at 12:00 on day D. */
#define DAY UINT64_C(86400)
#define D   UINT64_C(20414)
#define T0  (D * DAY)
#define H   UINT64_C(3600)

/* The cover sign gives a v3 period: its SRV run start for two periods. */
static ob_hsv3_cover signed_cover(uint64_t tp, const ob_tp_params *p)
{
    ob_hsv3_cover c;

    c.tp = tp;
    assert_int_equal(ob_hsv3_srv_run_start(tp, p, &c.from), 0);
    c.until = c.from + 2 * p->length_min * 60;
    return c;
}

/* Minute by minute from now: the first minute a slot has no cover. */
static uint64_t scan(const ob_tp_params *p, const ob_hsv3_cover *c, size_t n, uint64_t now)
{
    uint64_t t;
    size_t i;
    int k;

    for (t = now;; t = t - t % 60 + 60) {
        ob_hsv3_slot s[2];
        ob_hsv3_publish_slots(t, p, s);
        for (k = 0; k < 2; k++) {
            int f = 0;
            for (i = 0; i < n; i++)
                f |= c[i].tp == s[k].tp && c[i].from <= t && t < c[i].until;
            if (!f)
                return t;
        }
    }
}

static void test_ceremony_at_any_hour_covers_until_midnight(void **state)
{
    static const unsigned hours[] = { 0, 3, 6, 11, 12, 13, 18, 23 };
    ob_hsv3_cover c[2];
    size_t i;

    (void)state;
    /* Slots on day D are (D-1, D): that is what collect asks for. */
    c[0] = signed_cover(D - 1, &OB_TP_LIVE);
    c[1] = signed_cover(D, &OB_TP_LIVE);
    assert_int_equal(c[1].from, T0);
    for (i = 0; i < sizeof(hours) / sizeof(hours[0]); i++) {
        uint64_t now = T0 + hours[i] * H + 17 * 60;
        ob_hsv3_gap g;
        ob_hsv3_cover_gap(&OB_TP_LIVE, c, 2, now, &g);
        /* At 00:00 the next day the second slot names D+1: nothing signed. */
        assert_int_equal(g.at, T0 + DAY);
        assert_int_equal(g.tp, D + 1);
        assert_int_equal(g.slot, 1);
        assert_int_equal(ob_hsv3_covered_until(&OB_TP_LIVE, c, 2, now), T0 + DAY);
        assert_int_equal(scan(&OB_TP_LIVE, c, 2, now), T0 + DAY);
    }
}

static void test_the_day_after_is_uncovered_now(void **state)
{
    ob_hsv3_cover c[2];
    ob_hsv3_gap g;

    (void)state;
    c[0] = signed_cover(D - 1, &OB_TP_LIVE);
    c[1] = signed_cover(D, &OB_TP_LIVE);
    /* 06:00 the next day: D is still the first slot (valid until 00:00 D+2),
     * but the second slot, D+1, has nothing. */
    ob_hsv3_cover_gap(&OB_TP_LIVE, c, 2, T0 + DAY + 6 * H, &g);
    assert_int_equal(g.at, T0 + DAY + 6 * H);
    assert_int_equal(g.tp, D + 1);
    assert_int_equal(g.slot, 1);
}

static void test_three_periods_and_early_ends(void **state)
{
    ob_hsv3_cover c[3];
    ob_hsv3_gap g;

    (void)state;
    c[0] = signed_cover(D - 1, &OB_TP_LIVE);
    c[1] = signed_cover(D, &OB_TP_LIVE);
    c[2] = signed_cover(D + 1, &OB_TP_LIVE);
    ob_hsv3_cover_gap(&OB_TP_LIVE, c, 3, T0 + 10 * H, &g);
    assert_int_equal(g.at, T0 + 2 * DAY);
    assert_int_equal(g.tp, D + 2);
    assert_int_equal(g.slot, 1);
    /* D's certificate expires at 18:00: the gap is then, in the second slot. */
    c[1].until = T0 + 18 * H;
    ob_hsv3_cover_gap(&OB_TP_LIVE, c, 3, T0 + 10 * H, &g);
    assert_int_equal(g.at, T0 + 18 * H);
    assert_int_equal(g.tp, D);
    assert_int_equal(g.slot, 1);
    assert_int_equal(scan(&OB_TP_LIVE, c, 3, T0 + 10 * H), T0 + 18 * H);
    /* A cover not yet usable does not count. */
    c[1] = signed_cover(D, &OB_TP_LIVE);
    c[0].from = T0 + 2 * H;
    ob_hsv3_cover_gap(&OB_TP_LIVE, c, 3, T0 + H, &g);
    assert_int_equal(g.at, T0 + H);
    assert_int_equal(g.tp, D - 1);
    assert_int_equal(g.slot, 0);
}

static void test_nothing_or_one_slot(void **state)
{
    ob_hsv3_cover c = signed_cover(D, &OB_TP_LIVE);
    ob_hsv3_gap g;

    (void)state;
    ob_hsv3_cover_gap(&OB_TP_LIVE, NULL, 0, T0 + 5 * H, &g);
    assert_int_equal(g.at, T0 + 5 * H);
    assert_int_equal(g.slot, 0);
    assert_int_equal(g.tp, D - 1);
    /* Only the second slot signed: the first is missing now. */
    ob_hsv3_cover_gap(&OB_TP_LIVE, &c, 1, T0 + 5 * H, &g);
    assert_int_equal(g.at, T0 + 5 * H);
    assert_int_equal(g.tp, D - 1);
    assert_int_equal(g.slot, 0);
}

static void test_short_test_network_periods(void **state)
{
    ob_tp_params p = { 8, 4 }; /* e2e: 8-minute periods */
    ob_hsv3_cover c[4];
    uint64_t now, tp;
    size_t i, n;

    (void)state;
    for (now = T0 + 7; now < T0 + 40 * 60; now += 97) {
        ob_hsv3_slot s[2];
        ob_hsv3_publish_slots(now, &p, s);
        for (n = 0; n < 4; n++) {
            for (i = 0; i < n; i++)
                c[i] = signed_cover(s[0].tp + i, &p);
            tp = ob_hsv3_covered_until(&p, c, n, now);
            assert_int_equal(tp, n < 2 ? now : scan(&p, c, n, now));
        }
    }
}

/* At the end of time (year 9999, obtime.h) the search stops with a gap. */
static void test_end_of_time(void **state)
{
    ob_hsv3_cover c[2] = { { 0, 0, UINT64_MAX }, { 0, 0, UINT64_MAX } };
    uint64_t tp_last = (OB_TIME_MAX / 60 - 720) / 1440;
    ob_hsv3_gap g;

    (void)state;
    c[0].tp = tp_last - 1;
    c[1].tp = tp_last;
    ob_hsv3_cover_gap(&OB_TP_LIVE, c, 2, OB_TIME_MAX - 3600, &g);
    assert_true(g.at <= OB_TIME_MAX + 1);
    ob_hsv3_cover_gap(&OB_TP_LIVE, c, 2, UINT64_MAX, &g);
    assert_int_equal(g.at, UINT64_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ceremony_at_any_hour_covers_until_midnight),
        cmocka_unit_test(test_the_day_after_is_uncovered_now),
        cmocka_unit_test(test_three_periods_and_early_ends),
        cmocka_unit_test(test_nothing_or_one_slot),
        cmocka_unit_test(test_short_test_network_periods),
        cmocka_unit_test(test_end_of_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

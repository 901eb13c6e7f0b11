/* hsv3_cover.c - the first moment a needed v3 descriptor has no cover (hsv3_cover.h). */
#include "hsv3_cover.h"

/* Is period tp usable at t by one of the covers? */
static int has_cover(const ob_hsv3_cover *c, size_t n, uint64_t tp, uint64_t t)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (c[i].tp == tp && c[i].from <= t && t < c[i].until)
            return 1;
    return 0;
}

/* The next moment after t at which the publish slots may change: the next
 * period start or the next SRV-run start, whichever comes first. */
static uint64_t next_boundary(const ob_tp_params *p, uint64_t t)
{
    uint64_t run_len = 2 * p->offset_min * 60, first = 0, tp_next, run_next;

    /* Nothing is published past year 9999 (obtime.h): the last boundary. */
    if (ob_hsv3_tp_start(ob_hsv3_tp_num(t, p) + 1, p, &tp_next) != 0)
        tp_next = OB_TIME_MAX + 1;
    run_next = run_len ? t - t % run_len + run_len : tp_next;
    if (tp_next <= t) /* before the first period (1970 only) */
        tp_next = ob_hsv3_tp_start(0, p, &first) == 0 && first > t ? first : t + 1;
    return tp_next < run_next ? tp_next : run_next;
}

/* The next moment after t at which a cover stops being usable, or end. */
static uint64_t next_until(const ob_hsv3_cover *c, size_t n, uint64_t t, uint64_t end)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (c[i].until > t && c[i].until < end)
            end = c[i].until;
    return end;
}

void ob_hsv3_cover_gap(const ob_tp_params *p, const ob_hsv3_cover *c, size_t n, uint64_t now,
                       ob_hsv3_gap *out)
{
    /* While covered, the second slot's period is one of the covers' and
     * moves on once per SRV run (two boundaries), and each cover ends once:
     * 3n + 4 steps reach the gap.  The bound only guards against a bug. */
    size_t steps = 3 * n + 8;
    uint64_t t = now;
    ob_hsv3_slot s[2];
    int k;

    for (;;) {
        k = 0;
        if (ob_hsv3_publish_slots(t, p, s) != 0) /* past year 9999: nothing covers it */
            goto gap;
        for (k = 0; k < 2; k++)
            if (!has_cover(c, n, s[k].tp, t))
                goto gap;
        if (steps-- == 0)
            goto gap;
        t = next_until(c, n, t, next_boundary(p, t));
    }
gap:
    out->at = t;
    out->tp = s[k < 2 ? k : 1].tp;
    out->slot = k < 2 ? k : 1;
}

uint64_t ob_hsv3_covered_until(const ob_tp_params *p, const ob_hsv3_cover *c, size_t n,
                               uint64_t now)
{
    ob_hsv3_gap g;

    ob_hsv3_cover_gap(p, c, n, now, &g);
    return g.at;
}

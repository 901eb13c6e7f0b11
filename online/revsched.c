/* revsched.c - the revision upload schedule (rules in revsched.h). */
#include "revsched.h"

#include <string.h>

static const onl_rs_hsdir *find(const onl_rs_stream *s, const uint8_t id[20])
{
    size_t i;

    for (i = 0; i < s->n; i++)
        if (memcmp(s->h[i].id, id, 20) == 0)
            return &s->h[i];
    return NULL;
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
    return a > ONL_RS_NEVER - b ? ONL_RS_NEVER : a + b;
}

static void at_least(uint64_t *next, uint64_t t)
{
    if (t < *next)
        *next = t;
}

/*
 * The target revision; *last_in_use when no revision is above `held` (the
 * same bytes again, once dropped); *next when the next one becomes due.
 */
static size_t target(const onl_rs_stream *s, const onl_rs_in *in, int *last_in_use, uint64_t *next)
{
    size_t i, c;
    uint64_t when;

    *last_in_use = 0;
    if (s->held == 0) {
        /* Nothing known: the revision for use now. */
        for (c = 0, i = 1; i < in->n_revs; i++)
            if (in->revs[i].from <= in->now)
                c = i;
        return c;
    }
    for (c = 0; c < in->n_revs && in->revs[c].counter <= s->held; c++)
        ;
    if (c == in->n_revs) {
        *last_in_use = 1;
        return in->n_revs - 1;
    }
    if (memcmp(s->source, in->source, 32) != 0)
        return c; /* a newer response takes over at once */
    when = add_sat(s->held_at, in->step);
    if (in->now >= when)
        return c;
    at_least(next, when);
    return c > 0 ? c - 1 : 0; /* until then, HSDirs that lack the held one get it */
}

void onl_rs_decide(const onl_rs_stream *s, const onl_rs_in *in, onl_rs_out *out)
{
    size_t i, t, n = in->n_ids < ONL_RS_MAX_HSDIRS ? in->n_ids : ONL_RS_MAX_HSDIRS;
    uint64_t want, may;
    int last_in_use;

    memset(out, 0, sizeof(*out));
    out->rev = -1;
    out->next = ONL_RS_NEVER;
    if (in->n_revs == 0)
        return;
    t = target(s, in, &last_in_use, &out->next);
    want = in->revs[t].counter;
    for (i = 0; i < n; i++) {
        const onl_rs_hsdir *h = find(s, in->ids[i]);
        uint64_t hc = h != NULL ? h->counter : 0;
        if (hc >= want && !last_in_use)
            continue; /* it holds this revision or a later one */
        if (hc >= want) {
            /* Only the same bytes are left: again once it may have dropped them. */
            may = add_sat(h->at, in->lifetime);
            if (h->tried != 0 && h->tried_at >= h->at && add_sat(h->tried_at, in->retry) > may)
                may = add_sat(h->tried_at, in->retry);
        } else {
            may = in->now;
            if (h != NULL && h->tried == want)
                may = add_sat(h->tried_at, in->retry);
        }
        if (in->now >= may) {
            out->send[i] = 1;
            out->n_send++;
        } else {
            at_least(&out->next, may);
        }
    }
    if (out->n_send > 0) {
        out->rev = (int)t;
        out->ahead = in->revs[t].from > in->now;
    }
}

void onl_rs_record(onl_rs_stream *s, const onl_rs_in *in, int rev, const uint8_t *result)
{
    onl_rs_hsdir h[ONL_RS_MAX_HSDIRS];
    size_t i, n = in->n_ids < ONL_RS_MAX_HSDIRS ? in->n_ids : ONL_RS_MAX_HSDIRS;
    uint64_t want;
    int taken = 0;

    /* Keep the HSDirs responsible now, in their order. */
    for (i = 0; i < n; i++) {
        const onl_rs_hsdir *o = find(s, in->ids[i]);
        if (o != NULL) {
            h[i] = *o;
        } else {
            memset(&h[i], 0, sizeof(h[i]));
            memcpy(h[i].id, in->ids[i], 20);
        }
    }
    memcpy(s->h, h, n * sizeof(h[0]));
    s->n = n;
    if (rev < 0 || (size_t)rev >= in->n_revs || result == NULL)
        return;
    want = in->revs[rev].counter;
    for (i = 0; i < n; i++) {
        onl_rs_hsdir *x = &s->h[i];
        switch (result[i]) {
        case ONL_RS_ACCEPTED:
            x->counter = want > x->counter ? want : x->counter;
            x->at = in->now;
            x->tried = 0;
            taken = 1;
            break;
        case ONL_RS_REJECTED:
        case ONL_RS_FAILED:
            if (result[i] == ONL_RS_REJECTED && x->counter < want) {
                /* Not above what it holds: it has this one or a later one. */
                x->counter = want;
                x->at = in->now;
                x->tried = 0;
                taken = 1;
                break;
            }
            /* not reached, or the same bytes again, refused until dropped */
            x->tried = want;
            x->tried_at = in->now;
            break;
        default:
            break;
        }
    }
    if (!taken)
        return;
    if (want > s->held) {
        s->held = want;
        s->held_at = in->now;
    }
    memcpy(s->source, in->source, 32);
}

void onl_rs_kick(onl_rs_stream *s)
{
    size_t i;

    for (i = 0; i < s->n; i++)
        s->h[i].tried_at = 0;
}

/* t moved by step; 0 (never) stays. */
static void shift(uint64_t *t, int64_t step)
{
    if (*t == 0 || *t == ONL_RS_NEVER)
        return;
    if (step < 0)
        *t = *t > (uint64_t)-step ? *t - (uint64_t)-step : 1;
    else
        *t = add_sat(*t, (uint64_t)step);
}

void onl_rs_clock_step(onl_rs_stream *s, int64_t step)
{
    size_t i;

    shift(&s->held_at, step);
    for (i = 0; i < s->n; i++) {
        shift(&s->h[i].at, step);
        shift(&s->h[i].tried_at, step);
    }
}

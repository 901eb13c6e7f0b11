/*
 * hsv3_cover.h - "when is the next ceremony needed": the one answer every
 * part of both programs gives (the signer's summary, the daemon's log and
 * request trigger, status' signedUntil, publish's warnings).
 *
 * At any moment t the HSDirs need two descriptors of a v3 service: the
 * first and the second publish slot at t (ob_hsv3_publish_slots).  The
 * caller says which periods it has something usable for, and from when to
 * when (a "cover"); ob_hsv3_cover_gap() returns the first moment, from now
 * on, at which a slot needed then has no cover.  Slots move at SRV-run
 * starts (00:00 UTC on the live network): the second slot then names a
 * period that nothing signed before that moment can cover, because its
 * revision-counter run has not begun (docs/signing.rst).
 *
 *   t covered  <=>  for both slots s at t: some cover c has
 *                   c.tp == s.tp and c.from <= t < c.until
 *
 * A "cover" is whatever stands for a period:
 *   - signed descriptors in hand (sign's summary, the daemon, publish):
 *     from = the descriptor's valid_from, until = the earlier of its
 *     valid_until and its signing-key certificate's expiry;
 *   - certified periods (issue #13, delegated signing: certifiedUntil):
 *     from/until = the window in which the online side may sign that
 *     period with the delegated key.  Same function, other covers.
 * Several covers may name one period (groups, several responses): any one
 * that covers t is enough.
 *
 * Units: unix seconds.  Pure function: no clock, no allocation.
 */
#ifndef OB_HSV3_COVER_H
#define OB_HSV3_COVER_H

#include "hsv3_common.h"

#include <stddef.h>
#include <stdint.h>

typedef struct ob_hsv3_cover {
    uint64_t tp;    /* the period it stands for */
    uint64_t from;  /* usable from (inclusive) */
    uint64_t until; /* usable until (exclusive) */
} ob_hsv3_cover;

typedef struct ob_hsv3_gap {
    uint64_t at; /* first uncovered moment, >= now */
    uint64_t tp; /* a period needed at `at` with no cover */
    int slot;    /* 0: it is the first descriptor's period, 1: the second's */
} ob_hsv3_gap;

/*
 * The first moment t >= now at which a publish slot at t has no cover in
 * c[0..n-1] (n may be 0: then the gap is now), with the period missing
 * then.  p->length_min must be > 0.  Always finds one: every slot moves on
 * within one SRV run and the covers name finitely many periods.
 */
void ob_hsv3_cover_gap(const ob_tp_params *p, const ob_hsv3_cover *c, size_t n, uint64_t now,
                       ob_hsv3_gap *out);

/* ob_hsv3_cover_gap(...).at: the moment the covers run out. */
uint64_t ob_hsv3_covered_until(const ob_tp_params *p, const ob_hsv3_cover *c, size_t n,
                               uint64_t now);

#endif

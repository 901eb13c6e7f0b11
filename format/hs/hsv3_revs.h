/*
 * hsv3_revs.h - several revisions of one signed v3 master descriptor.
 *
 * Why: an HSDir keeps a v3 descriptor for descriptor-lifetime after it
 * accepted it, and takes a new one for the same blinded key only with a
 * strictly greater revision counter (protocol digest B.5, B.11; tor's
 * hs_cache.c).  The online side of a ceremony cannot sign, so it can only
 * upload the same bytes again, which every HSDir refuses until its cache
 * cleaner (every 30 minutes in tor) has dropped them: a window in which the
 * HSDirs hold nothing.  So the signer signs, besides the descriptor itself
 * (revision 0), revisions 1..n of the same descriptor: the same content and
 * signing key, greater counters.  The online side uploads each before the
 * HSDirs could drop the one before (docs/reachability.rst).
 *
 * Counters stay on tor's order-preserving time scale (hsv3_common.h): the
 * signer gives revision i the counter of time first + (i-1) * step, and the
 * online side uploads it no earlier than that time unless a newer response
 * needs it to take over (online/revsched.h).  A later ceremony therefore
 * counts above what the online side has uploaded.
 *
 * A revision costs 72 bytes: its counter and its descriptor signature.  The
 * layers depend on the counter, but the builder is deterministic given the
 * layout seed of the compact entry (hsv3_build.h), and the intro point
 * certificates do not depend on it (Ed25519 signatures are deterministic),
 * so revision i is rebuilt from revision 0, the compact entry and these 72
 * bytes.  The list (bundle field 0x070C, docs/bundle-format.rst):
 *
 *   off  size
 *     0     8  first    unix seconds: revision 1 is uploaded from then
 *     8     4  step     seconds between revisions, 60..21600
 *    12     2  count    1..OB_HSV3_REVS_MAX
 *    14  72*n  per revision 1..count: counter u64, desc_sig 64
 *
 * big-endian, no trailing bytes.  Revision i (1-based) is for use from
 * first + (i-1) * step; every such time lies inside the record's
 * [valid_from, valid_until), and the counters increase strictly from the
 * record's own revision on.
 */
#ifndef OB_HSV3_REVS_H
#define OB_HSV3_REVS_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "diag.h"
#include "hsv3_common.h"

#define OB_HSV3_REVS_MAX       1024
#define OB_HSV3_REVS_HDR_LEN   14
#define OB_HSV3_REVS_ENTRY_LEN 72
#define OB_HSV3_REVS_MAX_LEN   (OB_HSV3_REVS_HDR_LEN + OB_HSV3_REVS_ENTRY_LEN * OB_HSV3_REVS_MAX)
#define OB_HSV3_REVS_MIN_STEP  60
#define OB_HSV3_REVS_MAX_STEP  21600 /* half the longest descriptor-lifetime */

/* A decoded list; entries point into the bytes it was decoded from. */
typedef struct ob_hsv3_revs {
    uint64_t first;
    uint32_t step;
    size_t n;
    const uint8_t *entries; /* n * OB_HSV3_REVS_ENTRY_LEN */
} ob_hsv3_revs;

/* Append the encoding; refuses (OB_ERR_RANGE) what decode would refuse. */
ob_err ob_hsv3_revs_encode(uint64_t first, uint32_t step, const uint64_t *counters,
                           const uint8_t (*sigs)[64], size_t n, ob_buf *out, ob_diag *d);

/*
 * Strict decode of a list belonging to a descriptor record whose own
 * revision counter is base_revision and whose window is [valid_from,
 * valid_until).  Errors name the byte offset.
 */
ob_err ob_hsv3_revs_decode(const uint8_t *p, size_t n, uint64_t base_revision, uint64_t valid_from,
                           uint64_t valid_until, ob_hsv3_revs *out, ob_diag *d);

/* Revision i, 1 <= i <= r->n: from when it is used, its counter, its signature. */
uint64_t ob_hsv3_revs_from(const ob_hsv3_revs *r, size_t i);
uint64_t ob_hsv3_revs_counter(const ob_hsv3_revs *r, size_t i);
const uint8_t *ob_hsv3_revs_sig(const ob_hsv3_revs *r, size_t i);

/*
 * The revisions a signer adds to a descriptor signed at now with lifetime
 * lifetime_min, used until `until` (the end of its window), whose counters
 * count from run_start (ob_hsv3_srv_run_start) plus rev_offset seconds:
 * step = half the lifetime, first = now + step, and as many as fit before
 * until, below the counter's cap (OB_HSV3_REV_T_MAX) and OB_HSV3_REVS_MAX.
 * Half the lifetime leaves the online side half of it to get each one
 * accepted before the HSDirs may drop the one before.  Returns the count
 * (0: none fit) and sets *first and *step.
 */
size_t ob_hsv3_revs_plan(uint64_t now, uint64_t run_start, uint64_t until, unsigned lifetime_min,
                         unsigned rev_offset, uint64_t *first, uint32_t *step);

/*
 * Rebuilding revision i from revision 0.  ob_hsv3_revbase_new reads the
 * base (the expanded bytes of the record, as the online side holds them
 * after verifying them, or the signer made them: read, not judged again)
 * for address key A and period tp, and decodes the compact entry it was
 * rebuilt from; ob_hsv3_revbase_build then builds the revision with
 * counter and sig and checks it: with full, what a client reads, each
 * signature once (the signer's check of the first further revision of a
 * descriptor: ob_response_check_revisions_on): the counter,
 * the 08 cert (the entry's), the descriptor signature, both layers
 * decrypted with the revision's counter (their MACs), and the inner layer
 * byte for byte revision 0's, whose intro point certificates revision 0's
 * own check verified; without, the counter, the 08 cert and the descriptor
 * signature only, enough for the online side: everything else is revision
 * 0's verified content, re-encrypted by the same builder the signer's full
 * check ran.  Either way a wrong sig or counter is refused (OB_ERR_VERIFY).
 * The first build fills a build cache (ob_hsv3_build_cache) the later ones
 * use: a revbase is for one thread at a time.
 */
typedef struct ob_hsv3_revbase ob_hsv3_revbase;

ob_err ob_hsv3_revbase_new(const uint8_t *base, size_t base_len, const uint8_t A[32], uint64_t tp,
                           const ob_tp_params *tpp, const uint8_t *compact, size_t compact_len,
                           ob_hsv3_revbase **out, ob_diag *d);
ob_err ob_hsv3_revbase_build(ob_hsv3_revbase *b, uint64_t counter, const uint8_t sig[64], int full,
                             uint8_t **out, size_t *out_len, ob_diag *d);
void ob_hsv3_revbase_free(ob_hsv3_revbase *b);

#endif

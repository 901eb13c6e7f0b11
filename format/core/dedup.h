/*
 * dedup.h - find equal keys among many, by hash and then by comparing
 * bytes: a request's backend descriptors that several services share are
 * read and judged once (docs/performance.rst).
 *
 * A key is a short list of byte strings (an onion address and a
 * descriptor, say), borrowed: they must outlive the table.  The hash only
 * finds candidates; equality is always decided by comparing every byte, so
 * a collision costs time, never a wrong answer.
 */
#ifndef OB_DEDUP_H
#define OB_DEDUP_H

#include <stddef.h>

#include "crypto.h"

#define OB_DEDUP_MAX_PARTS 4

typedef struct ob_dedup ob_dedup;

ob_dedup *ob_dedup_new(void);    /* NULL: out of memory */
void ob_dedup_free(ob_dedup *m); /* NULL-tolerant; the keys are the caller's */

/*
 * The index (0, 1, ... in order of first appearance) of the key equal to
 * key[0..nparts), adding it when it is new (*added = 1, else 0).  -1 when
 * out of memory or nparts is 0 or above OB_DEDUP_MAX_PARTS.
 */
long ob_dedup_put(ob_dedup *m, const ob_iov *key, size_t nparts, int *added);

/* Keys added so far. */
size_t ob_dedup_count(const ob_dedup *m);

#endif

/*
 * hsv3_select.h - choose the intro points of the master descriptors.
 *
 * Input: the verified descriptors of the service's instances, in config
 * order (NULL for an instance whose descriptor is missing, invalid or stale:
 * the caller skips and reports those).  Output: one or more groups of at
 * most 20 intro points; each group becomes one master descriptor for the
 * period.
 *
 *   L = round-robin list: instance 0 ip 0, instance 1 ip 0, ..., instance 0
 *       ip 1, ...  (so any prefix of L is spread as evenly as possible)
 *   T = |L|;  G = ceil(T / 20) groups, at most max_groups (then L is cut to
 *       its first 20*G entries and the rest is reported as unused)
 *   group g = 20 (or T, if fewer) consecutive entries of L taken
 *       cyclically from floor(g*T/G): consecutive starts are at most 20
 *       apart, so every entry lands in some group, every group is full.
 *
 * Groups are published to disjoint subsets of the period's responsible
 * HSDirs (ob_hsv3_group_for_hsdir), so each instance gets client traffic
 * even when the instances offer more than one descriptor can hold.
 * docs/v3-descriptors.rst explains the scheme.
 */
#ifndef OB_HSV3_SELECT_H
#define OB_HSV3_SELECT_H

#include <stddef.h>

#include "diag.h"
#include "hsv3_desc.h"

/* Distinct descriptors per period: one per HSDir a client may fetch from (2 replicas x 3). */
#define OB_HSV3_MAX_GROUPS 6

typedef struct ob_hsv3_group {
    const ob_hsv3_intro **intros; /* borrowed from the instance descriptors */
    size_t *instance;             /* instance index of each intro point */
    size_t n;
} ob_hsv3_group;

typedef struct ob_hsv3_selection {
    ob_hsv3_group *groups;
    size_t n_groups;
    size_t n_offered; /* intro points the instances offered */
    size_t n_used;    /* distinct intro points placed in some group */
} ob_hsv3_selection;

/*
 * Select from inst[0..n_inst) (NULL entries skipped).  max_per_desc 0 means
 * 20 (more is refused); max_groups 0 means OB_HSV3_MAX_GROUPS.  The
 * selection borrows the descriptors: keep them until it is freed.
 * OB_ERR_NOTFOUND when no instance offers an intro point.
 */
ob_err ob_hsv3_select(const ob_hsv3_desc *const *inst, size_t n_inst, size_t max_per_desc,
                      size_t max_groups, ob_hsv3_selection **out, ob_diag *d);
void ob_hsv3_selection_free(ob_hsv3_selection *s);

/*
 * Which group goes to the HSDir at `position` (0-based) of the ring walk for
 * `replica` (0-based), when clients fetch from the first spread_fetch
 * positions of each replica (tor: 3): (replica * spread_fetch + position)
 * mod n_groups.  With n_groups <= n_replicas * spread_fetch every group has
 * at least one HSDir in every client's fetch set.
 */
size_t ob_hsv3_group_for_hsdir(size_t replica, size_t position, size_t spread_fetch,
                               size_t n_groups);

/*
 * The "flow-control" arguments to publish: those of the instances in group g
 * if they all give the same ones, else NULL (clients then do not negotiate
 * congestion control, which every instance supports without it).
 */
const char *ob_hsv3_group_flow_control(const ob_hsv3_selection *s, size_t g,
                                       const ob_hsv3_desc *const *inst);

#endif

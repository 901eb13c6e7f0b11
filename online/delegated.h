/*
 * delegated.h - the delegated mode's signer on the online side (issue 13;
 * docs/online.rst "Delegated mode").
 *
 * The offline side certified, for each v3 service and each period of the
 * coming weeks, a descriptor-signing key this machine made, and gave the
 * period's revision-counter key (online/dkeys.h holds them).  With those
 * the online side builds and signs master descriptors itself, whenever the
 * backends change, exactly as a ceremony would:
 *
 *   - the backends' descriptors are checked as the ceremony checks them
 *     (ob_hsv3_instance_verify: client_auth_key of an instance decrypts its
 *     inner layer), an expired one is skipped as stale;
 *   - the intro points are chosen by ob_hsv3_select over the instances in
 *     config order, into the same groups (distinct descriptors);
 *   - each group is signed with ob_hsv3_sign_desc (hsv3_sign_desc.h) with
 *     no client authorization, the service's descriptor_lifetime, the
 *     group's flow-control line, and verified before it is handed out.
 *
 * Revision counters: tor's order-preserving counter of the seconds since
 * the period's SRV run began, keyed by the period's revision-counter key:
 * the scale the ceremony mode uses.  Every build of a (service, period)
 * takes counters strictly above every counter it used before, and above
 * any floor the caller knows (responses signed in a ceremony): the first
 * second T >= now whose counter exceeds them (onl_deleg_revisions), one
 * second per group.  The last counter used per (service, period) is kept
 * in <delegated store>/revisions (a line "<address> <tp> <counter>" each,
 * written atomically under a lock, pruned once a period's descriptors are
 * no longer published), so `build` and `run`, and a restarted daemon, never
 * hand an HSDir a counter it has seen.
 */
#ifndef ONL_DELEGATED_H
#define ONL_DELEGATED_H

#include "bundle.h"
#include "config.h"
#include "diag.h"
#include "dkeys.h"
#include "hsv3_common.h"

#include <stddef.h>
#include <stdint.h>

/* ---- revision counters ------------------------------------------------- */

typedef struct onl_revs_entry {
    char address[57];
    uint64_t tp;
    uint64_t rev; /* the highest counter used */
} onl_revs_entry;

typedef struct onl_revs {
    onl_revs_entry *v;
    size_t n, cap;
    char *path; /* NULL: in memory only */
    int lock_fd;
} onl_revs;

/*
 * Lock (flock on <path>.lock, waiting) and read the counters file of cfg's
 * delegated store (a missing file is empty).  OB_ERR_MALFORMED names the
 * file and line of a damaged entry.
 */
ob_err onl_revs_open(const ob_config *cfg, onl_revs *r, ob_diag *d);
/* An empty table that is never written (tests, and `build` into memory). */
void onl_revs_init_memory(onl_revs *r);
/* The highest counter used for (address, tp), 0 when none. */
uint64_t onl_revs_get(const onl_revs *r, const char *address, uint64_t tp);
/* Raise the entry of (address, tp) to rev (never lowers it). */
ob_err onl_revs_raise(onl_revs *r, const char *address, uint64_t tp, uint64_t rev, ob_diag *d);
/* Drop the entries whose period is no longer published at now. */
void onl_revs_prune(onl_revs *r, const ob_tp_params *tpp, uint64_t now);
/* Write the file atomically (mode 0600); nothing for an in-memory table. */
ob_err onl_revs_save(const onl_revs *r, ob_diag *d);
/* Unlock and free; NULL-tolerant. */
void onl_revs_close(onl_revs *r);

/*
 * n counters for one build of a period whose SRV run starts at run_start:
 * the smallest T >= T(now) (ob_hsv3_rev_t) whose counter exceeds floor,
 * then T+1, ..., T+n-1.  0, or -1 when even T = OB_HSV3_REV_T_MAX does not
 * exceed floor (or now < run_start): then nothing can be signed that an
 * HSDir would take.
 */
int onl_deleg_revisions(const uint8_t rev_key[OB_HSV3_REV_KEY_LEN], uint64_t run_start,
                        uint64_t now, uint64_t floor, size_t n, uint64_t *out);

/* ---- building ------------------------------------------------------------ */

/* Where a builder gets the certified key of (address, tp); onl_dkey_load by default. */
typedef ob_err (*onl_deleg_key_fn)(void *ctx, const ob_config *cfg, const char *address,
                                   uint64_t tp, uint64_t now, onl_dkey **out, ob_diag *d);

typedef struct onl_deleg_period {
    uint64_t tp;
    int slot; /* 0 first, 1 second descriptor (ob_hsv3_publish_slots) */
} onl_deleg_period;

typedef struct onl_deleg_in {
    const ob_config *cfg;
    const ob_cfg_service *svc;       /* a v3 service of cfg */
    const ob_req_service *rs;        /* its instances as collected (fetch.h, collect.h) */
    const ob_tp_params *tpp;         /* from the consensus, or the clock (collect.h) */
    const onl_deleg_period *periods; /* the periods to build: the publish slots */
    size_t n_periods;
    uint64_t now;
    onl_deleg_key_fn key; /* NULL: onl_dkey_load */
    void *key_ctx;
    onl_revs *revs; /* read for the floor and raised by what is built */
} onl_deleg_in;

typedef enum onl_deleg_pstate {
    ONL_DELEG_BUILT = 0,
    ONL_DELEG_NO_KEY,  /* no certified key for the period: the ceremony mode */
    ONL_DELEG_EXPIRED, /* its certificate has run out */
    ONL_DELEG_FAILED   /* a key, but nothing built (no instance, counters spent) */
} onl_deleg_pstate;

typedef struct onl_deleg_out {
    onl_deleg_pstate state[2]; /* per period of the input, in order */
    char why[2][256];          /* NO_KEY, EXPIRED, FAILED: the reason */
    size_t n_built;            /* descriptors added to the response */
    size_t n_groups;
    size_t n_ok, n_skipped;   /* instances used, and skipped (missing, invalid, stale) */
    char skipped[256];        /* the first skipped instance and why */
    uint8_t intro_digest[32]; /* the instances' intro point sets (changes trigger a rebuild) */
    uint64_t cert_until;      /* the earliest certificate expiry of the periods built */
} onl_deleg_out;

/*
 * Build, sign and verify the master descriptors of in->svc for each of
 * in->periods that has a certified key, appending them to resp (service,
 * tp, slot, group, group_count, valid_from/until = ob_hsv3_desc_window,
 * revision, the bytes).  A period without a usable key is reported in out
 * and skipped; OB_OK even when no period could be built (out says why).
 * Errors: OB_ERR_NOMEM, OB_ERR_IO (the key store), OB_ERR_INTERNAL (a
 * self-check failed: nothing of the service is added).
 */
ob_err onl_deleg_build(const onl_deleg_in *in, ob_response *resp, onl_deleg_out *out, ob_diag *d);

/*
 * Only the instance checks of onl_deleg_build (periods, key and counters
 * unused): out->n_ok, n_skipped, skipped and intro_digest, to tell whether
 * the backends changed since the last build.
 */
ob_err onl_deleg_check(const onl_deleg_in *in, onl_deleg_out *out, ob_diag *d);

/* The periods at consensus time valid_after (both publish slots), as collect proposes them. */
void onl_deleg_slots(uint64_t valid_after, const ob_tp_params *tpp, onl_deleg_period out[2]);

/* ---- renewal ------------------------------------------------------------- */

/*
 * When to ask for the next certification (docs/online.rst): renew_days
 * days before the start of the last certified period, `run` writes a new
 * key-certification request into the outbox once, then warns every day
 * until a later period is installed.  The decision is a function of the
 * clock alone (tests inject it).
 */
typedef struct onl_renew {
    uint64_t last_tp;   /* the last certified period this state is about */
    int requested;      /* a request was written for it */
    uint64_t next_warn; /* when to warn again */
} onl_renew;

enum onl_renew_action { ONL_RENEW_NONE = 0, ONL_RENEW_REQUEST, ONL_RENEW_WARN };

/* When renewal is due for a run of periods ending with last_tp. */
uint64_t onl_renew_due(uint64_t last_tp, const ob_tp_params *tpp, unsigned renew_days);

/*
 * One step at now for a service whose certified run ends with last_tp (the
 * caller lists it: onl_dkeys_list).  REQUEST: write a request now (then
 * call onl_renew_done); WARN: log that renewal is overdue; NONE.  A later
 * last_tp (a certification was installed) starts over.
 */
int onl_renew_step(onl_renew *st, uint64_t last_tp, const ob_tp_params *tpp, unsigned renew_days,
                   uint64_t now);
/* The request was written (ok = 1) or failed (ok = 0: asked again at the next step). */
void onl_renew_done(onl_renew *st, int ok, uint64_t now);

#endif

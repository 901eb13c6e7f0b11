/*
 * deleg_daemon.h - what `ob-online run` does for the services it may sign
 * itself (the delegated mode; delegated.h, docs/online.rst).
 *
 * Per v3 service of the config, at every turn (onl_dd_cycle; the daemon
 * calls it when onl_dd_due says so, with a fresh consensus):
 *
 *   - the two periods in use now (the publish slots at the consensus'
 *     valid-after); a period with a certified key (dkeys.h) is the
 *     delegated mode's, any other is left to the ceremony: the daemon
 *     publishes the last signed response it holds for it
 *     (onl_dd_covers tells it which);
 *   - a fresh build (onl_deleg_build: new signatures, new revision
 *     counters above every counter used, and above every counter of a held
 *     ceremony response for the period) when
 *       . nothing was built yet, or a period changed (the slots moved on,
 *         a certification was installed, a certificate ran out),
 *       . a backend's introduction points changed (a new collection whose
 *         instances differ from the last build's),
 *       . the last upload is a republish interval old (half the service's
 *         descriptor lifetime, at most DESCRIPTOR_UPLOAD_PERIOD): HSDirs drop
 *         a descriptor a lifetime after they took it, so the next one
 *         comes well before,
 *       . the responsible HSDirs of a descriptor changed, or an upload
 *         failed somewhere (retried with a fresh build after
 *         PUBLISH_CHECK_INTERVAL);
 *     every descriptor of a build is uploaded once, to all its HSDirs: a
 *     fresh counter is never a repeat, so no HSDir refuses it;
 *   - a service whose certified periods run out (no key for either period
 *     in use) falls back to the ceremony mode, with a warning that says
 *     whether a signed response is held for the period;
 *   - renewal (delegate_renew_days, onl_renew_step): the daemon writes a
 *     key-certification request into the outbox, then warns daily.
 *
 * The build's backends are the last collection the daemon made
 * (onl_dd_take_request); a build never waits for a fetch.
 */
#ifndef ONL_DELEG_DAEMON_H
#define ONL_DELEG_DAEMON_H

#include "bundle.h"
#include "config.h"
#include "ctl.h"
#include "diag.h"
#include "hsdir.h"
#include "publish.h"

#include <stddef.h>
#include <stdint.h>

/* Log levels, as the daemon's (daemon.c). */
enum { ONL_DD_DEBUG = 0, ONL_DD_INFO, ONL_DD_WARNING, ONL_DD_ERROR };

typedef struct onl_dd onl_dd;

/* What the daemon lends a cycle. */
typedef struct onl_dd_env {
    const ob_config *cfg;
    onl_ctl *ctl;
    const onl_consensus *c; /* the consensus now (not NULL) */
    const onl_pub_opts *po;
    const char *outbox; /* for renewal requests; NULL: none (warned) */
    void (*log)(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
    /* The highest revision counter of a held ceremony response for (service, tp), 0 if none. */
    uint64_t (*ceremony_floor)(void *ctx, const char *service, uint64_t tp);
    /* Whether a held ceremony response can still be published for (service, tp). */
    int (*ceremony_has)(void *ctx, const char *service, uint64_t tp);
    /*
     * Write a key-certification request for service into outbox (renewal);
     * OB_OK, or an error with d set.  NULL: renewal only warns.
     */
    ob_err (*cert_request)(void *ctx, const ob_config *cfg, const char *service, const char *outbox,
                           char *written, size_t written_len, ob_diag *d);
    void *ctx;
} onl_dd_env;

onl_dd *onl_dd_new(void);
void onl_dd_free(onl_dd *dd);

/* The latest collection (ownership passes to dd); its backends feed the next builds. */
void onl_dd_take_request(onl_dd *dd, ob_request *req);

/* Look at every service again at the next cycle (config reloaded, certificates installed). */
void onl_dd_wake(onl_dd *dd);

/*
 * The wall clock stepped by step seconds (daemon.c measures it against
 * CLOCK_MONOTONIC): every time kept (when built, uploaded, due) moves with
 * it, so each keeps its real distance from now.
 */
void onl_dd_clock_step(onl_dd *dd, int64_t step);

/* Is a cycle due at now? (cheap: no file, no network) */
int onl_dd_due(const onl_dd *dd, uint64_t now);

/*
 * One cycle (see above).  Returns OB_ERR_NET when tor went away during an
 * upload (the daemon reconnects; what was not uploaded is uploaded after),
 * else OB_OK: problems of single services are logged.
 */
ob_err onl_dd_cycle(onl_dd *dd, const onl_dd_env *env, uint64_t now);

/*
 * Which services the delegated mode signs, judged at a collection (its
 * consensus facts give the periods in use) before the daemon decides on a
 * ceremony request; the cycles keep it current after that.
 */
void onl_dd_scan(onl_dd *dd, const ob_config *cfg, const ob_request *req, uint64_t now);

/* Does the delegated mode publish (service, tp) now?  The ceremony publisher skips those. */
int onl_dd_covers(const onl_dd *dd, const char *service, uint64_t tp);
/* Does the delegated mode sign service now (some period in use has a certified key)? */
int onl_dd_active(const onl_dd *dd, const char *service);

/* For the status socket: when the certification of service runs out (0: none), last uploads. */
uint64_t onl_dd_certified_until(const onl_dd *dd, const char *service);
void onl_dd_publish_times(const onl_dd *dd, const char *service, uint64_t *first, uint64_t *second);

/*
 * Does the delegated mode sign every period rs names (each has a certified
 * key, as last looked at: onl_dd_scan, onl_dd_cycle)?
 */
int onl_dd_signs_all(const onl_dd *dd, const ob_req_service *rs);

/*
 * req without what the delegated mode signs now: the signing request the
 * ceremony still needs.  A service keeps the periods the delegated mode
 * has no key for, and leaves only when none is left (onl_dd_signs_all).
 * *out is NULL when nothing is left.
 */
ob_err onl_dd_filter_request(const onl_dd *dd, const ob_request *req, ob_request **out, ob_diag *d);

#endif

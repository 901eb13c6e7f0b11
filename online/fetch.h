/*
 * fetch.h - fetch many backend descriptors through tor's control port.
 *
 * One HSFETCH per instance address, at most `window` outstanding at once
 * (a config with thousands of instances must not flood tor or our event
 * queue), each attempt bounded by a timeout, failed attempts retried up to
 * `tries` times.  Results arrive as events:
 *
 *   650 HS_DESC REQUESTED <addr> ... <hsdir>        ignored
 *   650 HS_DESC FAILED <addr> ... REASON=<why>      why kept; the attempt ends with
 *                                                   the empty HS_DESC_CONTENT tor sends
 *                                                   next, or 2 s later
 *   650+HS_DESC_CONTENT <addr> ... <hsdir> + body   non-empty: done; empty: failed
 *
 * Tor without a consensus answers 250 and then nothing, so the timeout is
 * what ends such attempts; callers that know tor has no consensus skip the
 * fetching altogether (onl_fetch_collect does).  A lost connection is
 * reconnected (onl_ctl_reconnect) and the attempts that were outstanding
 * are sent again: their results would never arrive.
 */
#ifndef ONL_FETCH_H
#define ONL_FETCH_H

#include "bundle.h"
#include "collect.h"
#include "config.h"
#include "ctl.h"
#include "diag.h"
#include "hsdir.h"

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#define ONL_FETCH_WINDOW     16    /* outstanding HSFETCHes */
#define ONL_FETCH_TIMEOUT_MS 45000 /* one attempt: tor tries up to 3 HSDirs itself */
#define ONL_FETCH_TRIES      3     /* attempts per instance */
#define ONL_FETCH_RECONNECT  60000 /* ms to wait for tor to come back */

typedef struct onl_fetch_opts {
    unsigned window;  /* 1..1024 */
    int timeout_ms;   /* per attempt, > 0 */
    unsigned tries;   /* >= 1 */
    int reconnect_ms; /* how long to wait for a lost tor */
    /* When non-NULL and set (a signal handler's flag): stop at the next
     * event or tick; the open items become FAILED "cancelled". */
    const volatile sig_atomic_t *cancel;
    /* Called at every turn of the wait loop (at least once a second), e.g.
     * to answer a status socket during a long round; NULL for none. */
    void (*tick)(void *ctx);
    void *tick_ctx;
} onl_fetch_opts;

/* The defaults above; the environment variable OB_FETCH_TIMEOUT_MS (tests)
 * overrides the per-attempt timeout. */
/* Milliseconds on the monotonic clock (deadlines of fetches and uploads). */
uint64_t onl_mono_ms(void);
/* The environment's NAME as a timeout in 1..3600000 ms, else dflt (tests shorten waits). */
int onl_env_timeout_ms(const char *name, int dflt);
void onl_fetch_opts_init(onl_fetch_opts *o);

enum onl_fetch_state { ONL_FETCH_IDLE = 0, ONL_FETCH_OUT, ONL_FETCH_OK, ONL_FETCH_FAILED };

typedef struct onl_fetch_item {
    char address[57]; /* v3 (56) or v2 (16 chars) address without ".onion"; set by the caller */
    int state;        /* enum onl_fetch_state; ONL_FETCH_IDLE to fetch it */
    unsigned attempts;
    uint8_t *desc; /* ONL_FETCH_OK: malloc()ed body, freed by onl_fetch_items_clear */
    size_t len;
    uint64_t fetched_at; /* unix seconds */
    char why[256];       /* ONL_FETCH_FAILED: the last reason */
    uint64_t deadline;   /* internal: monotonic ms the attempt ends */
    int failed_seen;     /* internal: this attempt had an HS_DESC FAILED */
} onl_fetch_item;

/*
 * Fetch every item still ONL_FETCH_IDLE until each is OK or FAILED.  The
 * connection must be subscribed to HS_DESC and HS_DESC_CONTENT (this does
 * it, and keeps the subscription).  Returns OB_ERR_NET only when tor stays
 * unreachable for o->reconnect_ms; per-item failures are in the items.
 */
ob_err onl_fetch_run(onl_ctl *ctl, onl_fetch_item *items, size_t n, const onl_fetch_opts *o,
                     ob_diag *d);
/* Free the bodies; the items stay. */
void onl_fetch_items_clear(onl_fetch_item *items, size_t n);

/*
 * Control-port options from the config (TOR_CONTROL_SOCKET, TOR_ADDRESS,
 * TOR_PORT, TOR_CONTROL_PASSWORD; strings borrowed from cfg), then
 * overridden by -i/-p/-s/--password-file in argv[0..argc).  Returns
 * OB_ERR_MALFORMED for any other word.
 */
ob_err onl_fetch_ctl_opts(const ob_config *cfg, int argc, char **argv, onl_ctl_opts *o, ob_diag *d);

/* The consensus facts a request records, from tor's consensus. */
void onl_fetch_facts(const onl_consensus *c, ob_consensus_facts *f);

/*
 * Can this tor fetch and post v2 descriptors?  Tor took v2 out of HSFETCH
 * and HSPOST in 0.4.6.1-alpha, 0.4.5.11 and 0.3.5.17 (tor commits
 * ef7a64e3b8, fb0c949df6); older tors still speak it.  The version comes
 * from PROTOCOLINFO, else GETINFO version.  Returns 1 (v2), 0 (no v2) or -1
 * (version unknown: try, and take a 513 to HSFETCH as the answer); ver gets
 * the version text ("unknown" when there is none).
 */
int onl_fetch_tor_has_v2(onl_ctl *ctl, char *ver, size_t ver_len);
/* 1 if the version text (e.g. "0.4.5.10" or "0.4.5.10 (git-...)") has v2, 0 if not, -1 unparsable.
 */
int onl_fetch_version_has_v2(const char *ver);

/* What an instance that cannot be fetched on a tor without v2 is told. */
#define ONL_FETCH_NO_V2 \
    "this tor has no v2 support (0.4.6+, 0.4.5.11+, 0.3.5.17+); v2 instances cannot be fetched"

/*
 * The whole live collection: consensus from tor (when tor has none, every
 * instance is recorded as missing with that reason, and the clock stands in
 * for the facts), HSFETCH of every v3 instance and, through a tor that
 * still has v2 (onl_fetch_tor_has_v2), of every v2 instance by its 16-char
 * address (v2 instances are missing with ONL_FETCH_NO_V2 otherwise), then
 * onl_collect_build().  *consensus_ok says whether tor had a consensus.
 * Prints nothing.
 */
ob_err onl_fetch_collect(onl_ctl *ctl, const ob_config *cfg, const onl_fetch_opts *o,
                         ob_request **out, onl_collect_stats *stats, int *consensus_ok, ob_diag *d);

/* `collect` without --descriptors-from: connect as configured and collect. */
ob_err onl_fetch_collect_cli(const ob_config *cfg, int argc, char **argv, ob_request **out,
                             onl_collect_stats *stats, ob_diag *d);

#endif

/*
 * daemon.h - `ob-online run`: the long-running online side.
 *
 * One thread, one loop, ticking at least once a second:
 *
 *   - keeps a control connection to tor, reconnecting with backoff when tor
 *     goes away (state is kept: responses, fetch results, publish records);
 *   - every REFRESH_INTERVAL s fetches every instance's descriptor (fetch.h)
 *     and builds a signing request; writes it into the outbox (unique name,
 *     never overwriting) when an instance's introduction point set changed
 *     since the last request written, or when the signed descriptors in
 *     hand run out (v3: a publish slot needed now has none, hsv3_cover.h;
 *     v2: within ONL_DAEMON_LOW_WATER s), then at most hourly, but at once
 *     when they ran out after the last request written;
 *   - every ONL_DAEMON_INBOX_POLL s looks for new *.obb files in the inbox,
 *     takes signed responses (each digest once) and publishes them;
 *   - every PUBLISH_CHECK_INTERVAL s, at once after a new response or a
 *     reconnect, and when a descriptor's schedule says so, re-plans the
 *     responses held against tor's consensus and uploads what the schedule
 *     of each descriptor slot (revsched.h) names: the newest response's
 *     descriptor when the HSDirs hold nothing newer of it, its next revision
 *     half a lifetime after they took the one before, the held revision to
 *     HSDirs that lack it (new ones, failed ones after
 *     PUBLISH_CHECK_INTERVAL), and, once no revision is left, the same
 *     bytes again as soon as an HSDir may have dropped them;
 *   - logs "signed descriptors of X run out at <UTC>" when responses come
 *     and warns once the time is within ONL_DAEMON_LOW_WATER;
 *   - serves the status socket (status.h);
 *   - SIGHUP reloads the config (a bad config is logged and the old one
 *     kept); SIGTERM/SIGINT end the loop, exit status 0.
 */
#ifndef ONL_DAEMON_H
#define ONL_DAEMON_H

#include <stdint.h>

#define ONL_DAEMON_LOW_WATER     (6 * 3600) /* s before signed descriptors run out */
#define ONL_DAEMON_INBOX_POLL    2          /* s between inbox scans */
#define ONL_DAEMON_MAX_HELD      16         /* responses kept for republishing */
#define ONL_DAEMON_REQUEST_EVERY 3600       /* s between run-out requests unanswered */

typedef struct onl_daemon_opts {
    const char *config_path;
    const char *inbox;     /* NULL: config key inbox */
    const char *outbox;    /* NULL: config key outbox */
    const char *verbosity; /* -v: overrides LOG_LEVEL; NULL: the config's */
    int n_tor_args;        /* -i/-p/-s/--password-file words for tor */
    char **tor_args;
} onl_daemon_opts;

/*
 * Whether a request for signed descriptors that run out is due at now, the
 * last request having been written at last_request: at once when they ran
 * out at ran_out_at (0: not a moment passed, e.g. nothing held) after that
 * request, which could not ask for a period that became signable since;
 * otherwise at most once every ONL_DAEMON_REQUEST_EVERY s.
 */
int onl_daemon_request_due(uint64_t now, uint64_t last_request, uint64_t ran_out_at);

/* Run until SIGTERM/SIGINT; returns the exit status (0 after a signal). */
int onl_daemon_main(const onl_daemon_opts *o);

#endif

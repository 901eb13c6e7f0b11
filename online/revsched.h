/*
 * revsched.h - which revision of a v3 descriptor to upload to which HSDir,
 * and when (the daemon's schedule; docs/reachability.rst).
 *
 * What an HSDir does (tor's hs_cache.c; protocol digest B.5, B.11): it
 * keeps one descriptor per blinded key; it takes a new one only with a
 * strictly greater revision counter; it drops the one it holds at the
 * first run of its cache cleaner (every 30 minutes) at least
 * descriptor-lifetime after it accepted it.  A signed response carries
 * revisions 0..n-1 of each descriptor (format/hs/hsv3_revs.h): increasing
 * counters on tor's time scale, revision i for use from from[i], one every
 * `step` seconds (half the lifetime).
 *
 * One stream is one descriptor slot the HSDirs hold: (service, version,
 * period, group, group count).  Its state: per HSDir the highest counter
 * that HSDir accepted from us and when, the last attempt it did not
 * accept; over all HSDirs the highest counter accepted (`held`) and when
 * it was first accepted.  The schedule, at time now, with the revisions of
 * the newest response for the stream:
 *
 *   - nothing held yet (first upload, or after a restart): the revision
 *     for use now (the last one whose from has come);
 *   - a newer response than the one the held revision came from: at once,
 *     its first revision above `held` (the new content takes over now);
 *   - otherwise the next revision above `held`, `step` after `held` was
 *     first accepted: half the lifetime before any HSDir may drop it.
 *     Taking the next one (not the one the clock is at) keeps the counters
 *     behind the clock, so a later ceremony's revision 0 counts above them
 *     and takes over at once;
 *   - each HSDir gets the target revision unless it holds it (or more);
 *     one that did not take it is tried again `retry` seconds later
 *     (PUBLISH_CHECK_INTERVAL), at once when the target changed;
 *   - when no revision is above `held` (a descriptor signed without
 *     revisions, or the last one in use): the same bytes again, to each
 *     HSDir as soon as it may have dropped them (`lifetime` after it
 *     accepted them), then every `retry` until one is taken.  This is the
 *     only case with a gap: from the HSDir's cleaner to the next try.
 *
 * An HSDir answering UPLOAD_REJECTED to a revision above anything it took
 * from us holds that counter or a greater one (another publisher with the
 * same response, or this daemon before a restart): it counts as holding
 * it.  Pure functions of their inputs: the clock is an argument.
 */
#ifndef ONL_REVSCHED_H
#define ONL_REVSCHED_H

#include <stddef.h>
#include <stdint.h>

#define ONL_RS_MAX_HSDIRS 32
#define ONL_RS_NEVER      UINT64_MAX

typedef struct onl_rs_hsdir {
    uint8_t id[20];
    uint64_t counter; /* highest counter it accepted from us (0: none) */
    uint64_t at;      /* when it accepted that */
    uint64_t tried;   /* counter of its last attempt that was not accepted (0: none) */
    uint64_t tried_at;
} onl_rs_hsdir;

typedef struct onl_rs_stream {
    uint8_t source[32]; /* which response's revisions were sent last */
    uint64_t held;      /* highest counter any HSDir accepted (0: none) */
    uint64_t held_at;   /* when `held` was first accepted */
    onl_rs_hsdir h[ONL_RS_MAX_HSDIRS];
    size_t n;
} onl_rs_stream;

typedef struct onl_rs_rev {
    uint64_t from;    /* for use from (revision 0: the record's valid_from) */
    uint64_t counter; /* strictly increasing with the index */
} onl_rs_rev;

typedef struct onl_rs_in {
    uint64_t now;
    const onl_rs_rev *revs; /* the newest response's revisions, n_revs >= 1 */
    size_t n_revs;
    uint64_t step;            /* s between revisions (any value when n_revs == 1) */
    uint64_t lifetime;        /* the descriptor's lifetime, s */
    uint64_t retry;           /* s before an HSDir that did not accept is tried again */
    const uint8_t (*ids)[20]; /* the HSDirs responsible now */
    size_t n_ids;
    const uint8_t *source; /* 32 bytes naming the response (and record) the revisions are from */
} onl_rs_in;

typedef struct onl_rs_out {
    int rev;                         /* revision to upload now, -1: none */
    uint8_t send[ONL_RS_MAX_HSDIRS]; /* per ids[i]: 1 = upload to it now */
    size_t n_send;                   /* how many are set */
    int ahead;                       /* rev's from is still to come */
    uint64_t next;                   /* when to decide again (ONL_RS_NEVER: no need) */
} onl_rs_out;

/* in->n_ids is capped at ONL_RS_MAX_HSDIRS. */
void onl_rs_decide(const onl_rs_stream *s, const onl_rs_in *in, onl_rs_out *out);

enum { ONL_RS_NOT_SENT = 0, ONL_RS_ACCEPTED, ONL_RS_REJECTED, ONL_RS_FAILED };

/*
 * Record what happened to the upload of revision rev to in->ids[i]:
 * result[i] is one of the values above (REJECTED: tor's UPLOAD_REJECTED).
 * HSDirs no longer in in->ids are forgotten.
 */
void onl_rs_record(onl_rs_stream *s, const onl_rs_in *in, int rev, const uint8_t *result);

/* After a reconnect (answers may have been lost): every pending retry is due at once. */
void onl_rs_kick(onl_rs_stream *s);

/*
 * The daemon's wall clock stepped by step seconds (measured against
 * CLOCK_MONOTONIC): every "when" in s moves with it, so the schedule keeps
 * its real intervals (an acceptance 10 minutes ago stays 10 minutes ago).
 */
void onl_rs_clock_step(onl_rs_stream *s, int64_t step);

#endif

/*
 * ceremony_log.h - the offline side's record of ceremonies (docs/signing.rst,
 * "The ceremony log", is the full description).
 *
 * A text file, appended to and never rewritten; one record per ceremony:
 *
 *   ceremony 2026-11-22T03:41:07Z ob-offline 0.1.0
 *   request <64 hex>
 *   response <64 hex>
 *   service <address> v3 periods 20778,20779 descriptors 2 instances 10 ok 0 missing 0 stale
 *   ...                                        (one line per service signed)
 *   backend <service> <instance> v3 tp <tp> rev <revision counter> sha256 <64 hex>
 *   backend <service> <instance> v2 published <unix time> sha256 <64 hex>
 *   ...                                        (one line per backend descriptor used)
 *   certify <address> v3 periods <a>-<b> keys <n> until <date>   (ob-offline certify)
 *   end
 *
 * Each record is written with one write() (repeated only to finish a short
 * one) on a descriptor opened with O_APPEND | O_NOFOLLOW, and fsync()ed
 * before the ceremony reports success.  A record that a failed or short
 * write left without its "end" line (or with a cut last line) is *torn*: the
 * reader counts it and still uses every complete line of it, and the next
 * append starts on a new line, so one failed write never makes later
 * ceremonies refuse.  The "request" lines are what exact replay detection
 * looks for; the "backend" lines are what replay by content compares with
 * (ofl_clog_scan).  The file is read as a stream: no size limit.
 */
#ifndef OFL_CEREMONY_LOG_H
#define OFL_CEREMONY_LOG_H

#include "buf.h"
#include "diag.h"
#include "obtime.h"

#include <stddef.h>
#include <stdint.h>

/* A line longer than this is not one the program writes: the log is damaged. */
#define OFL_CLOG_MAX_LINE 4096

/*
 * What the log says about one backend instance: the newest descriptor of it
 * that a ceremony signed.  Newest: v3 by (tp, revision counter), v2 by
 * publication time (tp 0); both are inside the backend's signed descriptor,
 * so the online side cannot change them.
 */
typedef struct ofl_clog_backend {
    const char *instance; /* in: address without ".onion" (borrowed) */
    int found;            /* out: 1 when some ceremony signed a descriptor of it */
    int version;          /* out: 2 or 3 */
    uint64_t tp;          /* out: v3 time period; v2 0 */
    uint64_t order;       /* out: v3 revision counter; v2 publication time */
    uint8_t sha256[32];   /* out: its digest (of the last record naming that order) */
    char when[32];        /* out: the date of that ceremony, as logged */
} ofl_clog_backend;

/* Order of two (tp, order) pairs: <0, 0, >0. */
int ofl_clog_order_cmp(uint64_t tp_a, uint64_t order_a, uint64_t tp_b, uint64_t order_b);

/*
 * The set of backend descriptors one ceremony used, as an order-free
 * fingerprint: the XOR of SHA-256("<service> <instance> <sha256 hex>") over
 * its "backend" lines, and their count.  Two ceremonies that used the same
 * descriptors for the same services have equal sets.
 */
typedef struct ofl_clog_set {
    uint8_t fp[32];
    size_t n;
    char when[32]; /* the ceremony's date, as logged */
} ofl_clog_set;

/* Add one backend descriptor to a set (start from a zeroed set). -1 if hashing fails. */
int ofl_clog_set_add(ofl_clog_set *s, const char *service, const char *instance,
                     const uint8_t sha256[32]);
/*
 * Add a service's signed periods, as its "service" line lists them
 * ("20778,20779"): a set is the backend descriptors and the periods they
 * were signed for, so the same descriptors for a period not signed before
 * (a new period that became signable, the backends unchanged) are a new
 * set, not a replay.  -1 if hashing fails.
 */
int ofl_clog_set_add_periods(ofl_clog_set *s, const char *service, const char *periods, size_t len);
/* Equal sets (same count, same fingerprint). */
int ofl_clog_set_equal(const ofl_clog_set *a, const ofl_clog_set *b);

typedef struct ofl_clog_result {
    int request_found;     /* the digest asked about is in a "request" line */
    char request_when[32]; /* the date of the first such ceremony ("?" if unknown) */
    size_t n_records;      /* complete records */
    size_t n_torn;         /* records a failed or short write left incomplete */
    size_t torn_line;      /* line where the first torn record starts, or 0 */
    char torn_when[32];    /* its date */
    ofl_clog_set *sets;    /* the set of every complete record that has backend lines */
    size_t n_sets;
} ofl_clog_result;

/* Free what ofl_clog_scan() allocated in r (the sets). */
void ofl_clog_result_clear(ofl_clog_result *r);

/*
 * Read the log at path as a stream (no size limit).  Sets *out (clear it
 * with ofl_clog_result_clear(), also after an error); for every
 * b[i] (nb may be 0, b NULL) the newest descriptor of b[i].instance that a
 * record names, torn records included.  A log that does not exist yet is
 * empty.  Errors: OB_ERR_IO (cannot open or read, not a regular file,
 * a symbolic link), OB_ERR_MALFORMED naming the line (a line that is not
 * one the program writes, in the middle of the log: the log is damaged, and
 * replay detection must not quietly stop working).  Only the last line of
 * a record may be cut or unreadable, and only when the record is torn.
 */
ob_err ofl_clog_scan(const char *path, const uint8_t digest[32], ofl_clog_backend *b, size_t nb,
                     ofl_clog_result *out, ob_diag *d);

/*
 * Was a request with this digest answered before?  ofl_clog_scan() without
 * backends: *found, and when (if not NULL) the date of the first ceremony
 * that did ("?" if unknown).
 */
ob_err ofl_clog_find(const char *path, const uint8_t digest[32], int *found, char when[32],
                     ob_diag *d);

/* Start an entry in b: the "ceremony", "request" and "response" lines. */
void ofl_clog_begin(ob_buf *b, uint64_t now, const uint8_t request_digest[32],
                    const uint8_t response_digest[32]);
/* A "backend" line: v3 with (tp, revision), v2 with its publication time (tp ignored). */
void ofl_clog_backend_line(ob_buf *b, const char *service, const char *instance, int version,
                           uint64_t tp, uint64_t order, const uint8_t sha256[32]);
/* Close the entry ("end"). */
void ofl_clog_end(ob_buf *b);

/*
 * Append b's bytes to the log (created 0600 if absent) and fsync.  When the
 * file does not end with a newline (a torn record), a newline is written
 * first, so the new record starts on a line of its own.
 */
ob_err ofl_clog_append(const char *path, const ob_buf *b, ob_diag *d);

#endif

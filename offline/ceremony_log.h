/*
 * ceremony_log.h - the offline side's record of ceremonies (docs/signing.rst).
 *
 * A text file, appended to and never rewritten; one block per ceremony:
 *
 *   ceremony 2026-11-22T03:41:07Z ob-offline 0.1.0
 *   request <64 hex>
 *   response <64 hex>
 *   service <address> v3 periods 20778,20779 descriptors 2 instances 10 ok 0 missing 0 stale
 *   ...                                        (one line per service signed)
 *   end
 *
 * Each block is written with one write() on a descriptor opened with
 * O_APPEND | O_NOFOLLOW and fsync()ed before the ceremony reports success.
 * The "request" lines are what replay detection looks for.
 */
#ifndef OFL_CEREMONY_LOG_H
#define OFL_CEREMONY_LOG_H

#include "buf.h"
#include "diag.h"

#include <stdint.h>

#define OFL_CLOG_MAX_SIZE (256u * 1024 * 1024)

/*
 * Was a request with this digest answered before?  *found = 1 and when (if
 * not NULL) gets the date of the first such ceremony ("?" if unknown).  A
 * log that does not exist yet means *found = 0.  Errors: OB_ERR_IO,
 * OB_ERR_RANGE (larger than OFL_CLOG_MAX_SIZE), OB_ERR_MALFORMED (a
 * "request" line that is not 64 hex digits: the log is damaged, and replay
 * detection must not quietly stop working).
 */
ob_err ofl_clog_find(const char *path, const uint8_t digest[32], int *found, char when[32],
                     ob_diag *d);

/* Start an entry in b: the "ceremony", "request" and "response" lines. */
void ofl_clog_begin(ob_buf *b, uint64_t now, const uint8_t request_digest[32],
                    const uint8_t response_digest[32]);
/* Close the entry ("end"). */
void ofl_clog_end(ob_buf *b);

/* Append b's bytes to the log (created 0600 if absent) and fsync. */
ob_err ofl_clog_append(const char *path, const ob_buf *b, ob_diag *d);

#endif

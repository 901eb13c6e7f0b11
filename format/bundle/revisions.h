/*
 * revisions.h - the revisions of a response's v3 descriptor record
 * (hs/hsv3_revs.h: why there are several, and their layout).
 *
 * Revision 0 is the record itself (its revision field, its bytes: body or
 * the compact entry rebuilt by ob_response_expand); revisions 1..n come from
 * its revisions field and are rebuilt from revision 0's bytes, the compact
 * entry and 72 bytes each.  So they need an expanded record that still has
 * its compact entry: ob_response_expand keeps it when there are revisions.
 */
#ifndef OB_REVISIONS_H
#define OB_REVISIONS_H

#include <stddef.h>
#include <stdint.h>

#include "bundle.h"
#include "diag.h"
#include "hsv3_common.h"

/* 1 + the number of further revisions (a record without the field: 1). */
size_t ob_resp_revision_count(const ob_resp_descriptor *rd);

/*
 * The highest counter of any revision (the last one's: they increase
 * strictly).  What an HSDir may already hold of this record: the online side
 * uploads a revision ahead of its time when a newer response takes over
 * (online/revsched.h).
 */
uint64_t ob_resp_revision_max(const ob_resp_descriptor *rd);

/* Seconds between further revisions (0: none). */
uint32_t ob_resp_revision_step(const ob_resp_descriptor *rd);

/* The revision for use at now: the last whose from has come (0 if none). */
size_t ob_resp_revision_at(const ob_resp_descriptor *rd, uint64_t now);

/*
 * Revision i (0 .. count-1): from when it is for use (revision 0: the
 * record's valid_from) and its counter.
 */
void ob_resp_revision_info(const ob_resp_descriptor *rd, size_t i, uint64_t *from,
                           uint64_t *counter);

/*
 * The bytes of revision i of an expanded record, checked (hsv3_revs.h:
 * counter, cert and descriptor signature; revision 0: a copy of
 * rd->descriptor, verified by whoever expanded it).
 * tpp: the period parameters the record was verified with.  *out is
 * malloc'd and NUL-terminated (the NUL not counted).
 */
ob_err ob_resp_revision_bytes(const ob_resp_descriptor *rd, const ob_tp_params *tpp, size_t i,
                              uint8_t **out, size_t *out_len, ob_diag *d);

/*
 * Rebuild and check every further revision of every expanded v3 record of
 * resp (hsv3_revs.h: counter, cert and descriptor signature over the
 * rebuilt bytes; with full, for the signer's own check, each record's
 * first further revision also as a client reads it); the message
 * names the record and revision (the lowest record's on failure, whatever
 * the threads).  _on: on `threads` threads, one record per job (0:
 * format/core/pool.h's default).
 */
ob_err ob_response_check_revisions_on(const ob_response *resp, const ob_tp_params *tpp, int full,
                                      unsigned threads, ob_diag *d);
ob_err ob_response_check_revisions(const ob_response *resp, const ob_tp_params *tpp, int full,
                                   ob_diag *d);

#endif

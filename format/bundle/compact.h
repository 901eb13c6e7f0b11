/*
 * compact.h - compact v3 responses between the bundle and the descriptor
 * builder.  The entry itself (its layout, encode, decode) is a descriptor
 * format and lives in hs/hsv3_compact.h, which the bundle parser uses to
 * check entries; making an entry and rebuilding a descriptor from one needs
 * the request that a response answers, so it lives here, above both.
 */
#ifndef OB_COMPACT_H
#define OB_COMPACT_H

#include <stddef.h>
#include <stdint.h>

#include "bundle.h"
#include "diag.h"
#include "hsv3_compact.h"
#include "hsv3_desc.h"

/*
 * The backend descriptors of a request as the online side reads them to
 * rebuild compact entries: each distinct (instance address, descriptor)
 * read once (ob_hsv3_desc_read, which does not judge: what is rebuilt from
 * it is verified, or compared with verified bytes, afterwards), however
 * many services and entries use it.  A signer that has judged them already
 * lends its own (ob_req_sources_lend) and nothing is read again.
 */
typedef struct ob_req_sources ob_req_sources;

ob_err ob_req_sources_new(const ob_request *req, ob_req_sources **out, ob_diag *d);
void ob_req_sources_free(ob_req_sources *s); /* NULL-tolerant; lent descriptors stay the lender's */

/*
 * Lend desc as what instance ii of the request's service si reads as.  Only
 * for a descriptor read from that instance's bytes without a client key
 * (client_auth_used 0): what the online side will read.  Borrowed: it must
 * outlive s.
 */
ob_err ob_req_sources_lend(ob_req_sources *s, size_t si, size_t ii, const ob_hsv3_desc *desc,
                           ob_diag *d);

/*
 * Signer side: complete c (lifetime, seed, cert, flow control, signatures
 * and n_intros set by ofl_hsv3_sign_descriptor) with the request indices of
 * intros[0..n) (found by comparing every field with the sources of the
 * request's service si) and encode it.  Nothing is rebuilt here:
 * ob_response_rebuild_check does that for the whole response.  *out is
 * the entry (malloc'd).  OB_ERR_UNSUPPORTED when an intro point is in no
 * descriptor the online side can read (client authorization): send the
 * full bytes then.  Only reads s: threads may share it.
 */
ob_err ob_hsv3_compact_make_with(ob_hsv3_compact *c, const ob_req_sources *s, size_t si,
                                 const ob_hsv3_intro *const *intros, size_t n, uint8_t **out,
                                 size_t *out_len, ob_diag *d);

/*
 * The same on its own (tests): sources read from req, and the entry is
 * rebuilt and compared with rd->descriptor; OB_ERR_UNSUPPORTED also when
 * the rebuild differs.
 */
ob_err ob_hsv3_compact_make(ob_hsv3_compact *c, const ob_request *req, const ob_resp_descriptor *rd,
                            const ob_hsv3_intro *const *intros, size_t n, uint8_t **out,
                            size_t *out_len, ob_diag *d);

/*
 * Rebuild the exact descriptor of rd (service, tp, revision taken from rd;
 * the entry from rd->compact) from the request it answers, then verify it
 * with ob_hsv3_desc_verify (strict enc certs, no expiry check: the caller
 * checks times with its own clock).  *out is malloc'd, NUL-terminated (the
 * NUL not counted).  OB_ERR_VERIFY when a signature does not match,
 * OB_ERR_NOTFOUND/RANGE when the entry names an instance or intro point the
 * request does not have.
 */
ob_err ob_hsv3_compact_rebuild(const ob_request *req, const ob_resp_descriptor *rd, uint8_t **out,
                               size_t *out_len, ob_diag *d);

/*
 * Turn every compact entry of resp into full descriptor bytes (rd->descriptor
 * set, rd->compact freed unless the record has further revisions, which are
 * rebuilt from it: revisions.h), rebuilt from req and verified as above:
 * every backend descriptor read once, one blinded key per (service,
 * period), on every core (ob_pool_threads(NULL)); every further revision is
 * rebuilt and checked too (counter, cert, signature).
 * Refuses (OB_ERR_REFUSED) a request whose digest is not
 * resp->request_digest.  On failure resp may be partly expanded; the
 * message names the descriptor.
 */
ob_err ob_response_expand(ob_response *resp, const ob_request *req, ob_diag *d);

/*
 * The signer's round trip: back is the response it wrote, parsed again;
 * every compact entry of back is rebuilt from the sources (as the online
 * side will) and must give exactly the bytes of the same record of
 * signed_resp, every full record must be those bytes already.  Nothing is
 * verified here: signed_resp's descriptors were verified when they were
 * signed, and equal bytes are equally valid.  OB_ERR_INTERNAL when a
 * record differs.  back is not changed.  On `threads` threads (0: the
 * default of format/core/pool.h).
 */
ob_err ob_response_rebuild_check(const ob_response *back, ob_req_sources *s,
                                 const ob_response *signed_resp, unsigned threads, ob_diag *d);

#endif

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
 * Offline side: complete c (lifetime, seed, cert, flow control, signatures
 * and n_intros set by ofl_hsv3_sign_descriptor) with the request indices of
 * intros[0..n) (found by comparing every field with the request's backend
 * descriptors), encode it, and check that rebuilding it from req gives
 * exactly rd->descriptor.  *out is the entry (malloc'd).  OB_ERR_UNSUPPORTED
 * when the online side could not rebuild it (a backend descriptor needs a
 * client key, an intro point is not in the request, the rebuild differs):
 * send the full bytes then.
 */
ob_err ob_hsv3_compact_make(ob_hsv3_compact *c, const ob_request *req, const ob_resp_descriptor *rd,
                            const ob_hsv3_intro *const *intros, size_t n, uint8_t **out,
                            size_t *out_len, ob_diag *d);

/*
 * Turn every compact entry of resp into full descriptor bytes (rd->descriptor
 * set, rd->compact freed unless the record has further revisions, which are
 * rebuilt from it: revisions.h), rebuilt from req and verified as above;
 * every further revision is rebuilt and verified too.  Refuses
 * (OB_ERR_REFUSED) a request whose digest is not resp->request_digest.  On
 * failure resp may be partly expanded; the message names the descriptor.
 */
ob_err ob_response_expand(ob_response *resp, const ob_request *req, ob_diag *d);

#endif

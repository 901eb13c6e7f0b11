/*
 * delegate.h - the online half of the delegated mode's key certification
 * (docs/delegation.rst): making key-certification requests, installing the
 * responses, and reporting what is certified.  The keys themselves live in
 * the delegated key store (dkeys.h); building descriptors with them is the
 * builder's (online build and run).
 */
#ifndef ONL_DELEGATE_H
#define ONL_DELEGATE_H

#include "bundle.h"
#include "config.h"
#include "diag.h"
#include "dkeys.h"
#include "hsv3_common.h"

#include <stddef.h>
#include <stdint.h>

#define ONL_DELEGATE_DAYS_DEFAULT 30
#define ONL_DELEGATE_DAYS_MAX     366

/*
 * The periods a request made at now for `days` days asks for: from the
 * first publish slot at now (the current period, or the one before it while
 * its descriptors are still published) to the last period that begins
 * before now + days.  OB_ERR_RANGE when that is more than
 * OB_BUNDLE_MAX_KEY_PERIODS periods.
 */
ob_err onl_delegate_periods(const ob_tp_params *tpp, uint64_t now, unsigned days, uint64_t *first,
                            uint64_t *last, ob_diag *d);

/* The pending keys of a request being made: their secrets share one locked block. */
typedef struct onl_pending_keys {
    onl_dkey **v; /* request order */
    size_t n;
    uint8_t *secrets; /* ob_secalloc: ONL_DKEY_SECRET_LEN bytes per key */
} onl_pending_keys;
void onl_pending_keys_free(onl_pending_keys *p); /* wipes; the struct itself is the caller's */

/*
 * A key-certification request for every v3 service of cfg (only: for that
 * one alone; v2 services are counted in *n_skipped_v2 and left out), with a
 * fresh pending key per
 * service and period.  Nothing is written: the caller serializes the
 * request (which sets its digest) and then calls onl_delegate_save_pending.
 * *keys is filled (onl_pending_keys_free).  OB_ERR_REFUSED when the config
 * has no v3 service; OB_ERR_NOMEM (naming RLIMIT_MEMLOCK) when the secrets
 * cannot be locked.
 */
ob_err onl_delegate_request_build(const ob_config *cfg, const char *only, const ob_tp_params *tpp,
                                  uint64_t now, unsigned days, ob_keyrequest **req,
                                  onl_pending_keys *keys, size_t *n_skipped_v2, ob_diag *d);

/*
 * Save the pending keys of a serialized request (its digest is recorded in
 * each).  On failure the keys already saved are removed again, so a request
 * that was never written leaves no keys behind.
 */
ob_err onl_delegate_save_pending(const ob_config *cfg, const ob_keyrequest *req,
                                 const onl_pending_keys *keys, ob_diag *d);

/* Remove the pending keys of a request that could not be written. */
void onl_delegate_discard_pending(const ob_config *cfg, const onl_pending_keys *keys);

/*
 * The whole of `delegate request` but the printing: build (as above),
 * remove pending keys of periods that are over, serialize, save the pending
 * keys, write the request to path (never over an existing file; mode 0644,
 * atomically) or remove the keys again if it cannot be written.  *req (may
 * be NULL) receives the request written.  The daemon's renewal writes its
 * requests with it too.
 */
ob_err onl_delegate_request_write(const ob_config *cfg, const char *only, const ob_tp_params *tpp,
                                  uint64_t now, unsigned days, const char *path,
                                  ob_keyrequest **req, size_t *n_keys, size_t *n_skipped_v2,
                                  ob_diag *d);

/* What an install did. */
typedef struct onl_install_report {
    size_t n_services;
    size_t n_installed;         /* certificates installed now */
    size_t n_already;           /* the same key was installed before (same response again) */
    size_t n_over;              /* periods already over at now: skipped */
    uint64_t first_tp, last_tp; /* of those installed (valid when n_installed > 0) */
} onl_install_report;

/*
 * Check every certificate of resp and install it (dkeys.h): each service
 * must be a v3 service of cfg; each certificate must be for a pending key
 * this machine holds for that service and period, made for the request
 * resp answers (resp->request_digest) and the same period length, signed by
 * the period's blinded public key and not expired (onl_dkey_certify).
 * Periods whose descriptors are no longer used at now are skipped.  Any
 * other failure refuses the whole response before a single key is
 * installed: OB_ERR_REFUSED/VERIFY naming service and period.
 */
ob_err onl_delegate_install(const ob_config *cfg, const ob_keyresponse *resp, uint64_t now,
                            onl_install_report *rep, ob_diag *d);

/* The same from a file (for delegate install and the daemon's inbox). */
ob_err onl_delegate_install_file(const ob_config *cfg, const char *path, uint64_t now,
                                 onl_install_report *rep, ob_diag *d);

/*
 * The certified periods of one service as the key store has them, with
 * the period parameters the keys were made for (the config's
 * time_period_length and half of it when there are none).
 */
ob_err onl_delegate_list(const ob_config *cfg, const char *address, uint64_t now,
                         onl_dkey_list *out, ob_diag *d);

#endif

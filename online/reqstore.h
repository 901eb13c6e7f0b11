/*
 * reqstore.h - the online side's copies of the signing requests it sent.
 *
 * A compact response (compact.h) carries only what the offline side
 * alone can make; the descriptor bytes are rebuilt from the request it
 * answers.  So collect and the daemon keep every request they write in the
 * user's request store, <store>/<64 hex digest>.obb (0644, written
 * atomically, never overwritten: a name is its content's digest), and
 * publish, the daemon and inspect --extract find it there by the
 * response's request digest.  <store> is $OB_REQUEST_STORE, else
 * <state>/requests with <state> from onl_state_dir().  docs/online.rst.
 */
#ifndef ONL_REQSTORE_H
#define ONL_REQSTORE_H

#include "bundle.h"
#include "config.h"
#include "diag.h"

#define ONL_REQSTORE_DIR "requests"

/*
 * The online side's state directory (malloc'd; NULL out of memory), where
 * it keeps what must outlive one command (the request store; other stores,
 * such as delegated signing's keys, belong beside it): $STATE_DIRECTORY (systemd
 * StateDirectory=; the first of a colon-separated list), else
 * $XDG_STATE_HOME/ob-online, else ~/.local/state/ob-online, else the
 * config's folder.  Not created here.
 */
char *onl_state_dir(const ob_config *cfg);

/* The store's directory (malloc'd): $OB_REQUEST_STORE, else <state>/requests. */
char *onl_reqstore_dir(const ob_config *cfg);

/* Keep a copy of req (creating the store directory, 0755, if missing).  A
 * copy already there is left as it is (same name, same digest). */
ob_err onl_reqstore_save(const ob_config *cfg, ob_request *req, ob_diag *d);

/* The stored request with this digest; OB_ERR_NOTFOUND when not there.
 * *req is owned by the caller. */
ob_err onl_reqstore_find(const ob_config *cfg, const uint8_t digest[OB_BUNDLE_DIGEST_LEN],
                         ob_request **req, ob_diag *d);

/*
 * Read and parse the response at path, find the request it answers
 * (request_path when not NULL, else the store) and expand its compact
 * records (ob_response_expand: rebuilt and verified).  OB_ERR_REFUSED with
 * "response answers request <short>, which this machine did not send ..."
 * when the request is nowhere.  *resp is owned by the caller.
 */
ob_err onl_response_load(const ob_config *cfg, const char *path, const char *request_path,
                         ob_response **resp, ob_diag *d);

/* The same for a response already read: the second half of
 * onl_response_load, for callers that check the response first. */
ob_err onl_response_expand_for(const ob_config *cfg, ob_response *resp, const char *request_path,
                               ob_diag *d);

/* Whether any record of resp is still compact (needs its request). */
int onl_response_is_compact(const ob_response *resp);

#endif

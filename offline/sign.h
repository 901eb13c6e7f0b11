/*
 * sign.h - the signing ceremony's logic (offline only; docs/signing.rst).
 *
 * Order (cmd_sign.c drives it), when ofl_sign_is_precheckable() (the
 * offline config gives address: beside key: for what the request needs):
 *   1. ofl_sign_check(): check the request against the OFFLINE config and
 *      the offline clock; build the plan.  Refusals (unknown service or
 *      instance, tampered descriptor, no valid instance, period outside the
 *      window, clocks that disagree) return OB_ERR_REFUSED/VERIFY with a
 *      message naming the service, instance and reason.
 *   2. ofl_sign_summary(): the text a person checks before confirming.
 *   3. ofl_sign_unlock(cfg, plan, ...): only now a passphrase is asked; each
 *      key must have the address the config names.
 *   4. ofl_sign_execute(): build, sign and re-verify every descriptor into a
 *      response.
 *   5. ofl_sign_log_services(): the services lines of the ceremony log.
 * When some needed service names only its key file, its address is inside
 * the key (our store encrypts it), so ofl_sign_unlock(cfg, NULL, ...) comes
 * first and the summary says why.
 */
#ifndef OFL_SIGN_H
#define OFL_SIGN_H

#include "bundle.h"
#include "buf.h"
#include "ceremony_log.h"
#include "compact.h"
#include "config.h"
#include "diag.h"
#include "hsv3_common.h"
#include "hsv3_cover.h"
#include "keystore.h"

#include <stddef.h>
#include <stdint.h>

/* A request older than this (by the offline clock) is refused. */
#define OFL_SIGN_MAX_REQUEST_AGE (6 * 3600)
/* A backend descriptor fetched longer ago than this is skipped as stale. */
#define OFL_SIGN_MAX_DESC_AGE (6 * 3600)

typedef struct ofl_plan ofl_plan;
typedef struct ofl_backends ofl_backends; /* sign.c: each backend descriptor judged once */

/* The master keys of a config, one per service (borrowed from keys[]). */
typedef struct ofl_keyring {
    ofl_key **keys; /* every key loaded, owned */
    size_t n_keys;
    const ofl_key **by_service; /* [cfg->n_services] */
    size_t n_files;             /* distinct key files opened */
} ofl_keyring;

/*
 * Can the request be checked and summarised before any key is unlocked?  1
 * when every service of cfg names its address:, or when every service the
 * request names is found by an address: the config gives.  0 otherwise, and
 * *why is the first service with only key: (for the summary's header).
 */
int ofl_sign_is_precheckable(const ob_config *cfg, const ob_request *req,
                             const ob_cfg_service **why);
/* The same for any list of master addresses a bundle names (certify's key requests). */
int ofl_cfg_is_precheckable(const ob_config *cfg, const char *const *addr, size_t n,
                            const ob_cfg_service **why);

/*
 * Load the keys and bind each service to its master address.  only NULL:
 * every service of cfg; else only the services that plan signs.  Each
 * distinct key file is opened once (one passphrase), a multi-key store
 * picks its keys by the address: of each service.  A key whose address
 * differs from the config's address:, or a store without the address, is
 * OB_ERR_VERIFY (exit 1) naming the config line and the key file.
 */
ob_err ofl_sign_unlock(ob_config *cfg, const ofl_plan *only, const char *passphrase_file,
                       ofl_keyring **out, ob_diag *d);
/*
 * The same for any ceremony (sign, certify): only[i] set for each config
 * service i whose key is needed (only NULL: every service).
 */
ob_err ofl_sign_unlock_services(ob_config *cfg, const unsigned char *only,
                                const char *passphrase_file, ofl_keyring **out, ob_diag *d);
void ofl_keyring_free(ofl_keyring *k); /* wipes; NULL-tolerant */

typedef enum {
    OFL_INST_OK = 0,
    OFL_INST_MISSING,       /* the request has no descriptor for it */
    OFL_INST_INVALID,       /* the online side said invalid; its descriptor is not used */
    OFL_INST_STALE,         /* fetched too long ago, or its certificate has expired */
    OFL_INST_NOT_IN_REQUEST /* in the offline config, absent from the request */
} ofl_inst_state;

/* An OK instance's descriptor against those earlier ceremonies signed. */
enum ofl_replay {
    OFL_REPLAY_NEW = 0, /* never signed, or newer than any signed (or other bytes, same order) */
    OFL_REPLAY_SAME,    /* exactly the newest one signed before */
    OFL_REPLAY_OLDER    /* older than one signed before: a rollback */
};

typedef struct ofl_plan_inst {
    const ob_cfg_instance *cfg;
    const ob_req_instance *req; /* NULL when not in the request */
    ofl_inst_state state;
    char note[256];   /* why it is not used */
    const void *desc; /* v3: ob_hsv3_desc *, the plan's backends own it; v2: unused */
    uint64_t tp;      /* v3: the period its descriptor is blinded for */
    size_t n_intros;
    /* OK instances: what orders its descriptor among the backend's (both
     * inside the backend's signature) and its SHA-256, for the log. */
    uint64_t revision; /* v3: revision counter; v2: publication time */
    uint8_t sha256[32];
    int replay; /* enum ofl_replay, set by ofl_sign_check_replay */
} ofl_plan_inst;

typedef struct ofl_plan_service {
    size_t cfg_index;
    const ob_cfg_service *cfg;
    const ob_req_service *req;
    ofl_plan_inst *inst; /* [cfg->n_instances], config order */
    size_t n_ok, n_missing, n_stale, n_intros;
    size_t n_groups;      /* v3: descriptors per period */
    size_t n_descriptors; /* to sign */
    /* v3: requested periods already over by the offline clock, skipped. */
    uint8_t period_over[OB_BUNDLE_MAX_PERIODS];
    size_t n_periods_over;
} ofl_plan_service;

struct ofl_plan {
    uint64_t now;
    uint64_t skew; /* the config's max_clock_skew, seconds */
    ob_tp_params tpp;
    const ob_request *req;
    ofl_plan_service *svc; /* request order */
    size_t n_svc;
    size_t n_not_requested; /* config services the request does not name */
    size_t n_descriptors;
    int full;         /* v3: write full descriptors, not compact entries (sign --full) */
    unsigned threads; /* threads to sign with (sign --threads); 0: ob_pool_threads() */
    size_t n_older;   /* OK instances whose descriptor is older than one signed before */
    size_t n_same;    /* OK instances whose descriptor is the newest signed before */
    size_t n_used;    /* OK instances (backend descriptors this ceremony uses) */
    const ofl_clog_set *same_set; /* an earlier ceremony that used exactly these, or NULL */
    /*
     * Every distinct backend descriptor of the request judged once, however
     * many services use it; and what the online side will read of them, for
     * the compact entries (the judged ones lent, nothing read twice).
     */
    ofl_backends *backends;
    ob_req_sources *sources;
};

/*
 * Check req (parsed, digest checked) against cfg (keys bound) at the offline
 * clock now.  *out is owned by the caller: ofl_plan_free().
 */
ob_err ofl_sign_check(const ob_config *cfg, const ob_request *req, uint64_t now, ofl_plan **out,
                      ob_diag *d);
/*
 * The same on `threads` threads (0: ob_pool_threads(NULL)), kept in the
 * plan for ofl_sign_execute and ofl_sign_selfcheck: the backend
 * descriptors are judged on every core before the checks go through the
 * request in order (the same refusals, in the same order).
 */
ob_err ofl_sign_check_threads(const ob_config *cfg, const ob_request *req, uint64_t now,
                              unsigned threads, ofl_plan **out, ob_diag *d);
void ofl_plan_free(ofl_plan *p);

/*
 * Replay by content (docs/signing.rst, "Replay").  ofl_sign_backends_named()
 * gives the distinct instance addresses req names, sorted, as the array
 * ofl_clog_scan() fills (*out owned by the caller, free(); the addresses
 * are borrowed from req).  ofl_sign_check_replay() then compares every
 * backend descriptor the plan uses with the newest descriptor of the same
 * instance that the log says a ceremony signed (pi->replay, p->n_older,
 * p->n_same).  Unless allow (--resign) it refuses (OB_ERR_REFUSED):
 *   - any descriptor older than that one (v3: a lower period, or the same
 *     period and a lower revision counter; v2: an earlier publication
 *     time), naming the first such instance, both descriptors and the date;
 *   - a request whose descriptors are exactly those one earlier ceremony
 *     used (the same set, logged->sets; p->same_set): that request again,
 *     whatever its other fields say.  A subset is signed (a backend that
 *     went away must be removable; min_instances bounds it).
 */
ob_err ofl_sign_backends_named(const ob_request *req, ofl_clog_backend **out, size_t *n,
                               ob_diag *d);
ob_err ofl_sign_check_replay(ofl_plan *p, const ofl_clog_backend *seen, size_t n_seen,
                             const ofl_clog_result *logged, int allow, ob_diag *d);

/* Append the summary (plain ASCII lines) to out. */
void ofl_sign_summary(const ofl_plan *p, const ob_config *cfg, ob_buf *out);

/*
 * Sign everything the plan lists with the keyring's keys, on p->threads
 * threads (format/core/pool.h): a job per (v3 service, period) and per v2
 * service.  *out is a new response answering req, created = p->now, in the
 * plan's order.  The randomness of every descriptor (signing key, layout
 * seed) derives from one master seed drawn before any job starts, by the
 * descriptor's service, period and group, so the response is the same
 * byte for byte whatever the number of threads.
 */
ob_err ofl_sign_execute(const ofl_plan *p, const ofl_keyring *keys, ob_response **out, ob_diag *d);

/*
 * The same with the master seed given (OFL_SIGN_SEED_LEN bytes, secure
 * memory): only for tests comparing runs.  The program never calls it:
 * ofl_sign_execute draws the seed itself.
 */
#define OFL_SIGN_SEED_LEN 32
ob_err ofl_sign_execute_seeded(const ofl_plan *p, const ofl_keyring *keys,
                               const uint8_t *master_seed, ob_response **out, ob_diag *d);

/* The "service ..." lines of this ceremony's log entry. */
/*
 * Before the response is written: serialize it, parse it back, rebuild its
 * compact entries from p's request as the online side will
 * (ob_response_rebuild_check) and check every descriptor is exactly the
 * bytes signed (and verified when signed: ofl_hsv3_sign_descriptor).
 * Outputs the response's size in bytes, how many records are compact, and
 * its QR frame count at the default QR version and level.
 * OB_ERR_INTERNAL when the bytes differ.
 */
ob_err ofl_sign_selfcheck(const ofl_plan *p, ob_response *resp, size_t *wire_len, size_t *n_compact,
                          size_t *frames, ob_diag *d);

void ofl_sign_log_services(const ofl_plan *p, const ob_response *resp, ob_buf *out);

/*
 * When the online side runs out of signed descriptors (unix seconds), the
 * earliest over the plan's services.  v3: ob_hsv3_cover_gap over the
 * periods signed (hsv3_cover.h), and *why (may be NULL) the slot and
 * period missing then; v2: the end of the last signed period, at most the
 * pre-signing limit, and why->slot = -1.
 */
uint64_t ofl_sign_next_ceremony(const ofl_plan *p, ob_hsv3_gap *why);

#endif

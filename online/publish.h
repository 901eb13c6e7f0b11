/*
 * publish.h - check a signed response and upload its descriptors to the
 * responsible HSDirs through tor's control port.
 *
 * Planning (no network; unit-tested with a synthetic consensus):
 *
 *   1. every descriptor must be for a service of this machine's config
 *      (otherwise the whole response is refused: it answers someone else's
 *      request);
 *   2. v3: the outer layer is checked as an HSDir checks it, and more: the
 *      08 cert and its signer A' = blind(A, tp), the descriptor signature,
 *      the cert's expiry against the clock (ob_hsv3_desc_verify).  A bad
 *      signature refuses the response; an expired one is skipped;
 *   3. in force: tp is one of the two publish slots at the consensus'
 *      valid-after (ob_hsv3_publish_slots: the first descriptor uses the
 *      previous SRV, the second the current one) and the clock is inside
 *      the descriptor's [valid_from, valid_until) from the response;
 *   4. HSDirs: onl_hsdir_responsible(A', tp, SRV of the slot, spread_store);
 *      of a period signed as G > 1 groups, group g gets the HSDirs at
 *      (replica r, position p) with ob_hsv3_group_for_hsdir(r, p,
 *      spread_fetch, G) == g (docs/v3-descriptors.rst).  Position p is the
 *      index in the upload list modulo spread_store, exact unless the ring
 *      is smaller than replicas * spread_store.
 *   v2 (publish_v2 in publish.c, docs/online.rst "v2"): the descriptor
 *   parses and verifies for its (time period, replica) with the master
 *   address of the response (ob_hsv2_desc_verify_for; publication-time
 *   older than 3 days: expired, skipped), the clock is inside its
 *   [valid_from, valid_until) and inside its period's upload interval
 *   [start - 1 h, start + 1 day); HSDirs: ob_hsv2_responsible_hsdirs over
 *   the consensus' v2 ring (HSDir flag only), all 3 for a descriptor of
 *   group_count 1, the group-th one (slot k -> k-th HSDir) for distinct
 *   descriptors (group_count 3).
 *
 * Uploading: one +HSPOST per descriptor with SERVER= for each of its HSDirs
 * and HSADDRESS=<service>; tor answers per HSDir with HS_DESC UPLOADED or
 * FAILED naming only address and HSDir, so two descriptors of one service
 * are never outstanding together.  Missing or failed HSDirs are retried
 * (bounded); each attempt waits at most timeout_ms.  v2 descriptors go as
 * +HSPOST SERVER=... without HSADDRESS (how tor <= 0.4.5 took v2), only
 * through a tor that still has v2 (onl_fetch_tor_has_v2; otherwise their
 * HSDirs fail with NO_V2_IN_TOR: a tor without v2 never answers such an
 * HSPOST); v2 descriptors of one service may be outstanding together when
 * their pending HSDirs differ, since the events name address and HSDir.
 */
#ifndef ONL_PUBLISH_H
#define ONL_PUBLISH_H

#include "bundle.h"
#include "config.h"
#include "ctl.h"
#include "diag.h"
#include "hsdir.h"
#include "hsv3_common.h"
#include "hsv3_cover.h"

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#define ONL_PUB_MAX_HSDIRS 32
#define ONL_PUB_WINDOW     16    /* descriptors being uploaded at once */
#define ONL_PUB_TIMEOUT_MS 60000 /* one upload attempt */
#define ONL_PUB_TRIES      3
#define ONL_PUB_RECONNECT  60000

typedef enum onl_pub_status {
    ONL_PUB_SEND = 0,      /* in force: to be uploaded */
    ONL_PUB_SKIP_PERIOD,   /* its time period is not a publish slot now */
    ONL_PUB_SKIP_WINDOW,   /* the clock is outside [valid_from, valid_until) */
    ONL_PUB_SKIP_EXPIRED,  /* the signing-key cert has expired */
    ONL_PUB_SKIP_V2,       /* v2: this tor has no v2 (0.4.6+, 0.4.5.11+, 0.3.5.17+) */
    ONL_PUB_SKIP_NO_HSDIRS /* the consensus has no HSDir for it */
} onl_pub_status;

enum onl_pub_hsdir_result { ONL_PUB_PENDING = 0, ONL_PUB_UPLOADED, ONL_PUB_FAILED };

typedef struct onl_pub_item {
    size_t desc; /* index into the response's descriptors */
    onl_pub_status status;
    char why[200];       /* skips: the reason */
    int slot;            /* 0 first / 1 second descriptor at this consensus, -1 if not in force */
    int disaster_srv;    /* the consensus lacked the SRV; the disaster value was used */
    uint8_t blinded[32]; /* A' from the verified 08 cert */
    size_t n_hsdirs;
    size_t hsdirs[ONL_PUB_MAX_HSDIRS]; /* indexes into the consensus' nodes[] (v3)
                                          or v2_ids[] (v2) */
    uint8_t result[ONL_PUB_MAX_HSDIRS];
    char reason[ONL_PUB_MAX_HSDIRS][32]; /* FAILED: tor's REASON= */
    /*
     * v3: the bytes to upload when not the record's own (revision 0): a
     * further revision (revisions.h), set by whoever chose it.  Borrowed.
     */
    const uint8_t *body;
    size_t body_len;
    unsigned revision; /* which revision body is (reports) */
    unsigned attempts;
    uint64_t deadline; /* internal: monotonic ms */
    int outstanding;   /* internal */
} onl_pub_item;

typedef struct onl_pub_plan {
    uint64_t valid_after; /* the consensus (or clock) time the plan is for */
    ob_hsv3_slot slots[2];
    onl_pub_item *items; /* one per response descriptor, same order */
    size_t n;
} onl_pub_plan;

void onl_pub_plan_free(onl_pub_plan *p);

/*
 * Is period tp in force at consensus time valid_after?  1 and *slot set
 * (which slot, which SRV), else 0.
 */
int onl_publish_slot_for(uint64_t valid_after, const ob_tp_params *tpp, uint64_t tp,
                         ob_hsv3_slot *slot);

/*
 * The HSDirs one descriptor goes to (see 4. above).  *disaster is set when
 * the consensus lacked the SRV.  group < group_count.
 */
ob_err onl_publish_hsdirs(const onl_consensus *c, const uint8_t Ab[32], const ob_hsv3_slot *slot,
                          unsigned group, unsigned group_count, size_t *out, size_t max, size_t *n,
                          int *disaster, ob_diag *d);

/*
 * Plan the upload of r at time now.  c may be NULL (tor has no consensus):
 * then the periods in force are judged by the clock (valid-after = now
 * rounded down to the hour, the config's period length, offset half of it)
 * and no HSDirs are chosen.  Refuses (OB_ERR_REFUSED / OB_ERR_VERIFY /
 * parse errors, d names the descriptor) a response that is not for this
 * config or carries a bad signature.
 */
ob_err onl_publish_plan(const ob_config *cfg, const ob_response *r, const onl_consensus *c,
                        uint64_t now, onl_pub_plan **out, ob_diag *d);

/*
 * The covers (hsv3_cover.h) that r's v3 descriptors of service give: one
 * per descriptor, [valid_from, the earlier of valid_until and its 08
 * certificate's expiry).  A cover equal to one already in c[0..*n) is not
 * added again; past cap the rest are dropped (coverage only ends sooner).
 * Appends to c, updates *n.
 */
void onl_publish_covers(const ob_response *r, const char *service, ob_hsv3_cover *c, size_t cap,
                        size_t *n);

#define ONL_PUB_MAX_COVERS 256        /* covers looked at per service */
#define ONL_PUB_SOON       (6 * 3600) /* s: a gap this close is warned of */

/*
 * When the v3 descriptors of service in rs[0..nr) stop covering the
 * publish slots, from now on (ob_hsv3_cover_gap): *g.  Returns how many
 * covers there were (0: nothing v3 signed for service; *g is then now).
 */
size_t onl_publish_gap(const ob_response *const *rs, size_t nr, const char *service,
                       const ob_tp_params *tpp, uint64_t now, ob_hsv3_gap *g);

/*
 * One plain sentence on gap g of service at now into buf: already
 * uncovered, uncovered within ONL_PUB_SOON, or covered until then.
 * Returns 2, 1 or 0 respectively (2 and 1 deserve a warning).
 */
int onl_publish_gap_text(const char *service, const ob_hsv3_gap *g, const ob_tp_params *tpp,
                         uint64_t now, char *buf, size_t cap);

/*
 * The period parameters publish judges by: the consensus' when c is set,
 * otherwise the config's time_period_length, offset half of it.
 */
ob_tp_params onl_publish_tp_params(const ob_config *cfg, const onl_consensus *c);

/*
 * The checks that need neither tor nor the period length: every descriptor
 * is for a service of cfg (OB_ERR_REFUSED naming the first that is not).
 * For refusing a foreign response before tor is asked.
 */
ob_err onl_publish_check_services(const ob_config *cfg, const ob_response *r, ob_diag *d);

typedef struct onl_pub_opts {
    unsigned window;
    int timeout_ms;
    unsigned tries;
    int reconnect_ms;
    const volatile sig_atomic_t *cancel; /* as in onl_fetch_opts: stop early */
    void (*tick)(void *ctx);             /* as in onl_fetch_opts */
    void *tick_ctx;
} onl_pub_opts;

/* Defaults above; OB_PUBLISH_TIMEOUT_MS in the environment overrides the timeout. */
void onl_pub_opts_init(onl_pub_opts *o);

/*
 * Upload every ONL_PUB_SEND item and collect the per-HSDir results into
 * the plan.  OB_ERR_NET only when tor stays unreachable.
 */
ob_err onl_publish_run(onl_ctl *ctl, const ob_response *r, const onl_consensus *c, onl_pub_plan *p,
                       const onl_pub_opts *o, ob_diag *d);

/* Items in force, and of those how many reached at least one HSDir. */
void onl_publish_counts(const onl_pub_plan *p, size_t *in_force, size_t *reached);

/*
 * The plan (results = 0) or the outcome (results = 1) as report lines, one
 * call of line() per line (no newline): per descriptor its service, period,
 * slot, group, status, and per HSDir "$FP~nick" with its result.  c may be
 * NULL.  The caller prints or logs them.
 */
typedef void (*onl_pub_line_fn)(void *ctx, const char *text);
void onl_publish_describe(const ob_response *r, const onl_consensus *c, const onl_pub_plan *p,
                          int results, onl_pub_line_fn line, void *ctx);

/*
 * Mark every v2 item still to be sent as ONL_PUB_SKIP_V2 with why (e.g.
 * "this tor (0.4.9.11) has no v2 support"); returns how many.
 */
size_t onl_publish_skip_v2(const ob_response *r, onl_pub_plan *p, const char *why);

/* Short words for reports: "in force", "not in force", ... */
const char *onl_pub_status_name(onl_pub_status s);

#endif

/*
 * hsv3_sign.h - the master-key side of a v3 master descriptor (offline only).
 *
 * For one time period: blind the master key (once per service and period:
 * ofl_hsv3_period), make a descriptor signing key and its type-08
 * certificate, build the descriptor with format/hs/hsv3_build.c, then parse
 * and verify the result with our own verifier (hsv3_desc.c) before handing
 * it out: the one verification of every signature made (the builder does
 * not verify them one by one).  Every secret (blinded key, signing key,
 * seed) lives in guarded memory and is wiped on every path.
 *
 * Building, the self-check and the certificate expiry rule are shared with
 * the delegated signer of the online side (format/hs/hsv3_sign_desc.h);
 * only the blinding, the certification and the revision-counter key stay
 * here.
 */
#ifndef OFL_HSV3_SIGN_H
#define OFL_HSV3_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "hsv3_common.h"
#include "hsv3_compact.h"
#include "hsv3_desc.h"
#include "hsv3_sign_desc.h"

/*
 * The blinded key of one (service, period), made once for all of its
 * descriptors, with its revision-counter key.  blinded_exp is guarded
 * memory; blinded_pk is its public key, which is blind(A, tp) because the
 * master key's own public key is checked against its secret here.
 */
typedef struct ofl_hsv3_period {
    uint64_t tp;
    uint8_t *blinded_exp; /* 64, secure */
    uint8_t blinded_pk[32];
    uint8_t *rev_key; /* OB_HSV3_REV_KEY_LEN, secure: ofl_hsv3_rev_counter_key */
    int own;          /* the secure memory is this struct's (else the caller's) */
} ofl_hsv3_period;

ob_err ofl_hsv3_period_init(ofl_hsv3_period *k, const uint8_t master_exp[64],
                            const uint8_t master_pk[32], uint64_t tp, const ob_tp_params *tpp,
                            ob_diag *d);
/*
 * The same in the caller's guarded memory (OFL_HSV3_PERIOD_MEM bytes): a
 * thread that signs many periods reuses one block instead of a
 * sodium_malloc and free for each (their mmap, mprotect and mlock calls
 * hold up every thread of the process).  Cleared, the block is wiped.
 */
#define OFL_HSV3_PERIOD_MEM (64 + OB_HSV3_REV_KEY_LEN)
ob_err ofl_hsv3_period_init_at(ofl_hsv3_period *k, uint8_t *mem, const uint8_t master_exp[64],
                               const uint8_t master_pk[32], uint64_t tp, const ob_tp_params *tpp,
                               ob_diag *d);
void ofl_hsv3_period_clear(ofl_hsv3_period *k); /* wipes; tolerates a cleared one */

/* Guarded memory for the secrets of one descriptor (ofl_hsv3_sign_in.scratch). */
#define OFL_HSV3_SCRATCH_LEN (64 + 32)

/* Bytes of the seed a descriptor's randomness can be derived from. */
#define OFL_HSV3_SEED_LEN 32

typedef struct ofl_hsv3_sign_in {
    const uint8_t *master_exp;     /* identity expanded key (64), secure memory */
    const uint8_t *master_pk;      /* A (32) */
    uint64_t tp;                   /* period to sign for */
    const ofl_hsv3_period *period; /* its blinded key, or NULL: made here for this descriptor */
    /*
     * NULL: fresh randomness.  Else OFL_HSV3_SEED_LEN secret bytes (guarded
     * memory) every random value of the descriptor derives from: the
     * signing key and the layout seed are SHAKE-256("onionbalance-offline
     * descriptor v1" | label | seed) with the labels "signing-key" and
     * "layout".  A ceremony draws one master seed and derives one per
     * descriptor, so that its output does not depend on which thread
     * signed what (sign.c).
     */
    const uint8_t *seed;
    /* OFL_HSV3_SCRATCH_LEN bytes of the caller's guarded memory for the
     * signing key (wiped when done), or NULL: allocated here. */
    uint8_t *scratch;
    const ob_tp_params *tpp;
    uint64_t now;          /* offline clock, unix seconds */
    unsigned rev_offset;   /* seconds added to now for the revision counter (group index) */
    unsigned lifetime_min; /* 0 = 180 */
    const ob_hsv3_intro *const *intros;
    size_t n_intros;
    const char *flow_control; /* or NULL */
    /*
     * Optional output for the compact response: when not NULL, the
     * descriptor is built from a public layout seed (fresh, or from seed;
     * this signer has no client authorization, so nothing secret depends
     * on it; hsv3_build.h) and *compact receives everything but the request
     * indices of the intro points: complete it with ob_hsv3_compact_make.
     */
    ob_hsv3_compact *compact;
    /*
     * Further revisions (format/hs/hsv3_revs.h), compact only: revs_n of
     * them, revision i (1-based) for use from revs_first + (i-1) *
     * revs_step, its counter tor's at that time plus rev_offset.  The
     * counters and the descriptor signatures come back in revs_counters
     * and revs_sigs (revs_n each).  revs_n 0: none.
     */
    uint64_t revs_first;
    uint32_t revs_step;
    size_t revs_n;
    uint64_t *revs_counters;
    uint8_t (*revs_sigs)[64];
} ofl_hsv3_sign_in;

/*
 * Sign a master descriptor for in->tp.  Refuses (OB_ERR_REFUSED) when now
 * is outside ob_hsv3_desc_window(tp): too early for a time-based revision
 * counter, or too late to be of use.  The revision counter is tor's
 * (ofl_hsv3_rev_counter_key, ob_hsv3_rev_counter_from_key) at now +
 * rev_offset, so it grows with the offline clock across ceremonies and
 * needs no stored state; give
 * each descriptor of one ceremony and period its own rev_offset (0, 1, ...)
 * so that their counters differ too.  On success *out (malloc'd,
 * NUL-terminated) has passed ob_hsv3_desc_verify with the master address,
 * now as the clock, and carries exactly the given intro points in order.
 * *revision (if not NULL) receives the counter.
 */
ob_err ofl_hsv3_sign_descriptor(const ofl_hsv3_sign_in *in, uint8_t **out, size_t *out_len,
                                uint64_t *revision, ob_diag *d);

#endif

/*
 * hsv3_common.h - v3 onion-service derivations shared by both programs:
 * time periods, public key blinding, credentials, HSDir ring indices, the
 * first/second descriptor schedule and tor's revision counter.
 *
 * Units: unix times in seconds; period length/offset in minutes (as tor and
 * the spec give them).  INT8(x) below is x as 8 bytes big-endian.
 *
 *   tp          = floor((t/60 - offset) / length)
 *   h           = clamp(SHA3-256("Derive temporary signing key\0" | A | Bstr |
 *                                "key-blind" | INT8(tp) | INT8(length)))
 *   A'          = h * A
 *   credential  = SHA3-256("credential" | A)
 *   subcred     = SHA3-256("subcredential" | credential | A')
 *   hs_index    = SHA3-256("store-at-idx" | A' | INT8(replica) | INT8(L) | INT8(tp))
 *   hsdir_index = SHA3-256("node-idx" | node_ed | SRV | INT8(tp) | INT8(L))
 *   disaster    = SHA3-256("shared-random-disaster" | INT8(L) | INT8(tp))
 *
 * Functions returning int give 0 on success and -1 on failure.
 */
#ifndef OB_HSV3_COMMON_H
#define OB_HSV3_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "obtime.h"

typedef struct ob_tp_params {
    uint64_t length_min; /* 1440 live; consensus hsdir_interval, 30..14400 */
    uint64_t offset_min; /* 720 live (12 voting intervals) */
} ob_tp_params;

extern const ob_tp_params OB_TP_LIVE;

/* The longest period length (and rotation offset) accepted: a year, in minutes. */
#define OB_HSV3_TP_LENGTH_MAX 525600

/*
 * Parameters a period computation accepts: 1 <= length_min and offset_min
 * <= OB_HSV3_TP_LENGTH_MAX (the bundle also wants offset < length; tor does
 * not, and the online side reads tor's).  1 or 0.
 */
int ob_hsv3_tp_params_ok(const ob_tp_params *p);

/* Time-period number of unix_time (seconds).  p->length_min must be > 0. */
uint64_t ob_hsv3_tp_num(uint64_t unix_time, const ob_tp_params *p);
/*
 * Start of period tp, unix seconds, into *start.  -1 (and *start = 0) when
 * tp is beyond OB_TP_MAX, p is not ob_hsv3_tp_params_ok(), or the start
 * would be beyond OB_TIME_MAX (obtime.h): never a wrapped value.
 */
int ob_hsv3_tp_start(uint64_t tp, const ob_tp_params *p, uint64_t *start)
    __attribute__((warn_unused_result));
/*
 * For messages only: ob_hsv3_tp_start(), or UINT64_MAX when it refuses
 * (ob_time_format prints that as out of range, never as a date).  Never
 * compute with the result.
 */
uint64_t ob_hsv3_tp_start_shown(uint64_t tp, const ob_tp_params *p);

/* Clamped blinding factor h for (A, tp, length_min). */
int ob_hsv3_blind_param(uint8_t h[32], const uint8_t A[32], uint64_t tp, uint64_t length_min);
/* Clamp a raw 32-byte blinding factor the way tor does (bits 0-2, 255 cleared; 254 set). */
void ob_hsv3_clamp_param(uint8_t h[32]);
/* A' = h*A for an already clamped h (e.g. tor's raw-parameter test vectors). */
int ob_hsv3_blind_public_with_param(uint8_t Ab[32], const uint8_t A[32], const uint8_t h[32]);
/* A' = h*A.  -1 for a small-order A. */
int ob_hsv3_blind_public(uint8_t Ab[32], const uint8_t A[32], uint64_t tp, uint64_t length_min);
int ob_hsv3_credential(uint8_t out[32], const uint8_t A[32]);
int ob_hsv3_subcredential(uint8_t out[32], const uint8_t A[32], const uint8_t Ab[32]);
int ob_hsv3_hs_index(uint8_t out[32], const uint8_t Ab[32], uint64_t replica, uint64_t length_min,
                     uint64_t tp);
int ob_hsv3_hsdir_index(uint8_t out[32], const uint8_t node_ed[32], const uint8_t srv[32],
                        uint64_t tp, uint64_t length_min);
int ob_hsv3_disaster_srv(uint8_t out[32], uint64_t length_min, uint64_t tp);

/*
 * Which (tp, SRV choice) pairs an OnionBalance-style frontend publishes at
 * consensus time valid_after (protocol digest B.10).  out[0] is the first
 * descriptor, out[1] the second.  use_current_srv: 0 = the consensus'
 * previous SRV (shared-rand-previous-value), 1 = the current one.
 *
 *   valid_after in [SRV, TP start)  (00:00-12:00 live): first = (tp, prev),   second = (tp+1, cur)
 *   valid_after in [TP start, SRV)  (12:00-00:00 live): first = (tp-1, prev), second = (tp, cur)
 *
 * (The first descriptor always uses the previous SRV, the second the current.)
 */
typedef struct ob_hsv3_slot {
    uint64_t tp;
    int use_current_srv;
} ob_hsv3_slot;
/* 0, or -1 (out[] zeroed) for a valid_after beyond OB_TIME_MAX or bad params. */
int ob_hsv3_publish_slots(uint64_t valid_after, const ob_tp_params *p, ob_hsv3_slot out[2]);

/*
 * Start (unix seconds) of the SRV protocol run a descriptor for period tp
 * counts its revision from: offset_min before the start of tp (the run that
 * produced the SRV the descriptor's HSDirs use).  now must not be before it.
 * -1 as ob_hsv3_tp_start() does.
 */
int ob_hsv3_srv_run_start(uint64_t tp, const ob_tp_params *p, uint64_t *start)
    __attribute__((warn_unused_result));

/*
 * Revision counter as tor computes it (B.5 errata; tor's crypto_ope.c):
 *
 *   T       = now - run_start + 1, capped at OB_HSV3_REV_T_MAX (2^18 s, 72.8 h)
 *   counter = T + sum_{i<T} w_i, w_i the little-endian uint16 words of the
 *             AES-256-CTR(key, IV = 0) keystream
 *
 * where key is the period's revision-counter key
 *     key = SHA3-256("rev-counter-generation\0" | blinded expanded key (64))
 * (offline/hsv3_blind.h ofl_hsv3_rev_counter_key: only the offline side
 * holds the blinded secret; the delegated mode carries the key itself to
 * the online side, so both modes count on one scale).  The key is one-way:
 * whoever holds it can count, nothing more.  The counter grows strictly
 * with T, one second at a time, up to the cap.
 */
#define OB_HSV3_REV_KEY_LEN 32
#define OB_HSV3_REV_T_MAX   (UINT64_C(1) << 18)

/* T for now: 0 if now < run_start, else now - run_start + 1, capped. */
uint64_t ob_hsv3_rev_t(uint64_t now, uint64_t run_start);

/* The counter at T (1..OB_HSV3_REV_T_MAX) under key.  -1 for T out of range. */
int ob_hsv3_rev_ope(uint64_t *out, const uint8_t key[OB_HSV3_REV_KEY_LEN], uint64_t t);

/*
 * ob_hsv3_rev_ope for n values of T in increasing order (out[i] for t[i]),
 * in one pass over the keystream instead of one per counter: a signer's
 * further revisions (hsv3_revs.h) each need a counter.  -1 if a t is 0,
 * above OB_HSV3_REV_T_MAX or below the one before.
 */
int ob_hsv3_rev_ope_many(uint64_t *out, const uint8_t key[OB_HSV3_REV_KEY_LEN], const uint64_t *t,
                         size_t n);

/* ob_hsv3_rev_ope(key, ob_hsv3_rev_t(now, run_start)): -1 if now < run_start. */
int ob_hsv3_rev_counter_from_key(uint64_t *out, const uint8_t key[OB_HSV3_REV_KEY_LEN],
                                 uint64_t now, uint64_t run_start);

#endif

/*
 * hsv3_sign_desc.h - sign a v3 master descriptor with a descriptor-signing
 * key that is already certified, and the rules both signers share.
 *
 * Two signers hold a descriptor-signing key and its type-08 certificate:
 *
 *   - the ceremony (offline/hsv3_sign.c) blinds the master key for the
 *     period, makes a fresh signing key, certifies it itself and derives
 *     the revision counter from the blinded key;
 *   - the delegated mode (online/delegated.c) holds a signing key the
 *     offline side certified for the period in advance, with the period's
 *     revision-counter key (hsv3_common.h, offline/hsv3_blind.h).
 *
 * Both then call ob_hsv3_sign_desc(): it builds the descriptor with
 * hsv3_build.c and passes it through the verifier a client runs before it
 * hands it out: the one verification of every signature made there (the
 * builder does not verify them one by one).  No master or blinded secret ever reaches this file;
 * the only secret it handles is the descriptor-signing key.
 *
 * When a descriptor for period tp is used (docs/v3-descriptors.rst): it is
 * published from the start of the SRV run before tp (run_start = tp start -
 * offset) until that run's successor ends, i.e. during
 *     [run_start, run_start + 2 * length)     (ob_hsv3_desc_window)
 * HSDirs and clients check the 08 cert at upload and at fetch, up to
 * `lifetime` after the last upload, with their own clocks.  So the certs
 * expire at
 *     ceil((run_start + 2 * length + lifetime + 1 h margin) / 3600) hours
 * (ob_hsv3_cert_expiry_hours), not tor's 54 h from signing: a ceremony, or
 * a certification, may come well before the descriptor is last published.
 * The cost is that a stolen signed descriptor stays replayable until then
 * (the online side could replay it anyway, docs/security-model.rst).
 */
#ifndef OB_HSV3_SIGN_DESC_H
#define OB_HSV3_SIGN_DESC_H

#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "hsv3_common.h"
#include "hsv3_compact.h"
#include "hsv3_desc.h"

/*
 * [*from, *until): when a descriptor for tp is published (see above).  -1
 * (both 0) when tp or p is out of range or the window would end past year
 * 9999 (ob_hsv3_tp_start, obtime.h): never a wrapped window.
 */
int ob_hsv3_desc_window(uint64_t tp, const ob_tp_params *p, uint64_t *from, uint64_t *until)
    __attribute__((warn_unused_result));

/*
 * Expiration (hours since the epoch) of every cert in a descriptor for tp;
 * see above.  0 (expired from the start) when ob_hsv3_desc_window() fails.
 */
uint32_t ob_hsv3_cert_expiry_hours(uint64_t tp, const ob_tp_params *p, unsigned lifetime_min);

typedef struct ob_hsv3_sign_desc_in {
    const uint8_t *identity_pk; /* A (32): the master onion address key */
    uint64_t tp;
    const ob_tp_params *tpp;
    uint64_t now;                /* the signer's clock, unix seconds */
    const uint8_t *sign_exp;     /* descriptor-signing expanded key (64), secure memory */
    const uint8_t *sign_pk;      /* its public key (32) */
    const uint8_t *signing_cert; /* its type-08 cert by blind(A, tp) */
    size_t signing_cert_len;
    /*
     * blind(A, tp) when the signer has it (made once per service and period
     * with the blinded secret, or installed with the cert), for the builder
     * and the self-check; NULL: blinded here.
     */
    const uint8_t *blinded_pk;
    /*
     * The layout seed (32 bytes), when the signer derives it (a ceremony,
     * from its per-descriptor seed, so the output does not depend on
     * scheduling); used with or without compact.  NULL: fresh randomness
     * (a fresh seed for a compact descriptor).
     */
    const uint8_t *layout_seed;
    uint64_t revision;
    unsigned lifetime_min; /* 0 = 180 */
    const ob_hsv3_intro *const *intros;
    size_t n_intros;
    const char *flow_control; /* or NULL */
    /*
     * Optional output for the compact response: when not NULL, the
     * descriptor is built from a fresh random public layout seed (these
     * signers give master descriptors no client authorization, so nothing
     * secret depends on it; hsv3_build.h) and *compact receives everything
     * but the request indices of the intro points: complete it with
     * ob_hsv3_compact_make.
     */
    ob_hsv3_compact *compact;
    /*
     * Further revisions of the same descriptor (hsv3_revs.h), compact only:
     * n_more counters, strictly increasing above revision.  Each is built
     * with the same layout seed, signing key and intro point certificates
     * (revision 0's signatures: they do not depend on the counter), only
     * the document is signed again, and its signature kept in
     * more_sigs[i].  Not verified here: the signer's round trip verifies
     * each once (ob_response_check_revisions).
     */
    size_t n_more;
    const uint64_t *more_revisions;
    uint8_t (*more_sigs)[64];
} ob_hsv3_sign_desc_in;

/*
 * Build and sign a master descriptor for in->tp.  Refuses (OB_ERR_REFUSED)
 * when now is outside ob_hsv3_desc_window(tp): too early for a time-based
 * revision counter, or too late to be of use.  On success *out (malloc'd,
 * NUL-terminated, the NUL not counted) has passed ob_hsv3_desc_verify with
 * the master address and now as the clock, and carries exactly the given
 * intro points in order; OB_ERR_INTERNAL when it does not.
 */
ob_err ob_hsv3_sign_desc(const ob_hsv3_sign_desc_in *in, uint8_t **out, size_t *out_len,
                         ob_diag *d);

/*
 * The x25519 private key of an authorized client of a backend
 * (client_auth_key in the config): 44 characters of base64, or tor's
 * "<address>:descriptor:x25519:<52 base32>" .auth_private line.  sk must be
 * secure memory; it is wiped on failure.  The message names the file.
 */
ob_err ob_hsv3_client_key_read(const char *path, uint8_t sk[32], ob_diag *d);

/*
 * A backend's descriptor checked as both signers check it before using its
 * intro points: blinded for one of the periods around now (the one before,
 * the current one, the next: the 08 cert's signer says which, the current
 * one blinded first and the others only when it does not match), every
 * signature, both layers (the inner one with the client key in
 * client_key_path, when not NULL) and the intro points.  On OB_OK *out
 * (ob_hsv3_desc_free) and *tp.  OB_ERR_EXPIRED when a certificate has
 * expired at now (the signers skip such an instance as stale); other errors
 * refuse the descriptor, d says why.
 */
ob_err ob_hsv3_instance_verify(const char *address, const char *client_key_path, const uint8_t *p,
                               size_t n, const ob_tp_params *tpp, uint64_t now, ob_hsv3_desc **out,
                               uint64_t *tp, ob_diag *d);

/* The same for an address already decoded and checked (a config's: ob_cfg_instance.key). */
ob_err ob_hsv3_instance_verify_key(const uint8_t A[32], const char *client_key_path,
                                   const uint8_t *p, size_t n, const ob_tp_params *tpp,
                                   uint64_t now, ob_hsv3_desc **out, uint64_t *tp, ob_diag *d);

#endif

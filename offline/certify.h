/*
 * certify.h - the key-certification ceremony (offline only;
 * docs/delegation.rst): certify the online side's descriptor-signing keys
 * for the coming time periods, so that it can sign descriptors itself.
 *
 * Order (cmd_certify.c drives it, as cmd_sign.c drives sign.h):
 *   1. ofl_certify_check(): the key request against the OFFLINE config and
 *      clock.  Refusals name the service and period: a service this config
 *      does not have, a v2 service, a period length other than the
 *      config's time_period_length, a period whose descriptors are no
 *      longer used (over), a period beginning more than delegation_max_days
 *      after now, a signing key that is not a valid Ed25519 point, a
 *      request made in the future of this clock.
 *   2. ofl_certify_summary(): what a person checks before confirming.
 *   3. the keys are unlocked (ofl_sign_unlock_services, sign.h).
 *   4. ofl_certify_execute(): per service and period, blind the master key
 *      (the blinded secret stays in guarded memory and is wiped at once),
 *      certify the online key with a type-08 certificate expiring when that
 *      period's descriptors stop being usable (ob_hsv3_cert_expiry_hours,
 *      the ceremony mode's rule, with the service's descriptor_lifetime),
 *      and derive the period's revision-counter key.
 *   5. ofl_certify_selfcheck(): read the response back as the online side
 *      will and verify every certificate with the public blinding alone.
 *   6. ofl_certify_log_services(): the lines of the ceremony log entry.
 *
 * What leaves this machine per period: the certificate (public) and the
 * revision-counter key (a one-way hash of the blinded secret key).  Never a
 * blinded secret: with the public blinding factor it gives the identity key.
 */
#ifndef OFL_CERTIFY_H
#define OFL_CERTIFY_H

#include "bundle.h"
#include "buf.h"
#include "config.h"
#include "diag.h"
#include "hsv3_common.h"
#include "sign.h"

#include <stddef.h>
#include <stdint.h>

typedef struct ofl_cert_service {
    size_t cfg_index; /* in cfg->services */
    const ob_cfg_service *cfg;
    const ob_keyreq_service *req;
    uint64_t certified_until; /* when these periods stop covering the service */
} ofl_cert_service;

typedef struct ofl_cert_plan {
    uint64_t now;
    ob_tp_params tpp;
    unsigned max_days; /* the config's delegation_max_days */
    const ob_keyrequest *req;
    ofl_cert_service *svc; /* request order */
    size_t n_svc;
    size_t n_keys;              /* certificates to make */
    uint64_t first_tp, last_tp; /* over every service */
    uint64_t certified_until;   /* the earliest of the services': next certification due */
    uint64_t signable_until;    /* the latest certificate expiry: until then the online
                                   machine can sign (the operator's exposure) */
    unsigned char *need;        /* [cfg->n_services]: keys to unlock */
} ofl_cert_plan;

/* Check req (parsed, digest checked) against cfg at the offline clock now. */
ob_err ofl_certify_check(const ob_config *cfg, const ob_keyrequest *req, uint64_t now,
                         ofl_cert_plan **out, ob_diag *d);
void ofl_cert_plan_free(ofl_cert_plan *p);

/* Append the summary (plain ASCII lines) to out. */
void ofl_certify_summary(const ofl_cert_plan *p, ob_buf *out);

/* Certify every key of the plan with the keyring's master keys; *out answers p->req. */
ob_err ofl_certify_execute(const ofl_cert_plan *p, const ofl_keyring *keys, ob_keyresponse **out,
                           ob_diag *d);

/*
 * Serialize resp, parse it back and check every certificate as the online
 * side will (type 08, certifies the requested key, signed by the blinded
 * public key of the address for its period, not expired at p->now, the
 * expiry the rule gives).  Outputs the size in bytes and its QR frame count
 * at the default QR version and level.  OB_ERR_INTERNAL on any mismatch.
 */
ob_err ofl_certify_selfcheck(const ofl_cert_plan *p, ob_keyresponse *resp, size_t *wire_len,
                             size_t *frames, ob_diag *d);

/* The "certify ..." lines of this ceremony's log entry, one per service. */
void ofl_certify_log_services(const ofl_cert_plan *p, ob_buf *out);

#endif

/*
 * certify.c - the key-certification ceremony: check a key request against
 * the offline config and clock, summarise, certify, re-verify (certify.h,
 * docs/delegation.rst).
 */
#include "certify.h"

#include "ed25519x.h"
#include "hsv3_blind.h"
#include "hsv3_cert.h"
#include "hsv3_cover.h"
#include "hsv3_sign_desc.h"
#include "keystore.h"
#include "onion.h"
#include "qrframe.h"
#include "qrimage.h"
#include "secmem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void utc(char out[32], uint64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (t > OB_BUNDLE_MAX_TIME || gmtime_r(&tt, &tm) == NULL ||
        strftime(out, 32, "%Y-%m-%d %H:%M UTC", &tm) == 0)
        snprintf(out, 32, "@%llu", (unsigned long long)t);
}

void ofl_cert_plan_free(ofl_cert_plan *p)
{
    if (p == NULL)
        return;
    free(p->svc);
    free(p->need);
    free(p);
}

/* Until when the periods of rs cover the service (hsv3_cover.h), certificates as certify makes
 * them. */
static uint64_t covered_until(const ofl_cert_plan *p, const ob_keyreq_service *rs,
                              unsigned lifetime)
{
    ob_hsv3_cover *c = calloc(rs->n_periods + 1, sizeof(*c));
    uint64_t until;
    size_t i;

    if (c == NULL)
        return p->now;
    for (i = 0; i < rs->n_periods; i++) {
        uint64_t from = 0, end = 0,
                 exp = (uint64_t)ob_hsv3_cert_expiry_hours(rs->periods[i].tp, &p->tpp, lifetime) *
                       3600;
        if (ob_hsv3_desc_window(rs->periods[i].tp, &p->tpp, &from, &end) != 0)
            from = end = 0; /* out of range: covers nothing (check_period refuses it) */
        c[i].tp = rs->periods[i].tp;
        c[i].from = from;
        c[i].until = end < exp ? end : exp;
    }
    until = ob_hsv3_covered_until(&p->tpp, c, rs->n_periods, p->now);
    free(c);
    return until;
}

static ob_err check_period(const ofl_cert_plan *p, const ob_keyreq_service *rs,
                           const ob_keyreq_period *rp, ob_diag *d)
{
    uint64_t from = 0, until = 0, horizon = p->now + (uint64_t)p->max_days * 86400;
    char a[32], b[32], c[32];

    if (ob_hsv3_desc_window(rp->tp, &p->tpp, &from, &until) != 0)
        return ob_fail(d, OB_ERR_REFUSED, "%s.onion: period %llu is out of range", rs->address,
                       (unsigned long long)rp->tp);
    utc(a, rp->valid_from);
    utc(b, rp->valid_until);
    if (until <= p->now) {
        utc(c, until);
        return ob_fail(d, OB_ERR_REFUSED,
                       "%s.onion: period %llu (%s .. %s) is over: its descriptors stopped being "
                       "used at %s by this machine's clock; make a fresh request (ob-online "
                       "delegate request)",
                       rs->address, (unsigned long long)rp->tp, a, b, c);
    }
    if (rp->valid_from > horizon) {
        utc(c, horizon);
        return ob_fail(d, OB_ERR_REFUSED,
                       "%s.onion: period %llu begins %s, more than delegation_max_days (%u) "
                       "after this machine's clock (the limit is %s); ask for fewer days "
                       "(delegate request --days) or raise delegation_max_days",
                       rs->address, (unsigned long long)rp->tp, a, p->max_days, c);
    }
    if (ob_ed25519_pub_is_valid(rp->signing_key) != 0)
        return ob_fail(d, OB_ERR_REFUSED,
                       "%s.onion: period %llu: the signing key is not a valid Ed25519 public key",
                       rs->address, (unsigned long long)rp->tp);
    return OB_OK;
}

static ob_err check_service(const ob_config *cfg, ofl_cert_plan *p, const ob_keyreq_service *rs,
                            ob_diag *d)
{
    const ob_cfg_service *cs = ob_config_find_service(cfg, rs->address);
    ofl_cert_service *ps = &p->svc[p->n_svc];
    size_t j;
    ob_err err;

    if (cs == NULL)
        return ob_fail(d, OB_ERR_REFUSED,
                       "service %s.onion is not in this machine's config; nothing was certified",
                       rs->address);
    if (cs->version != 3)
        return ob_fail(d, OB_ERR_REFUSED,
                       "%s.onion is a v%d service: only v3 descriptors have delegated signing "
                       "keys",
                       rs->address, cs->version);
    for (j = 0; j < rs->n_periods; j++)
        if ((err = check_period(p, rs, &rs->periods[j], d)) != OB_OK)
            return err;
    ps->cfg = cs;
    ps->cfg_index = (size_t)(cs - cfg->services);
    ps->req = rs;
    ps->certified_until = covered_until(p, rs, cs->descriptor_lifetime);
    p->need[ps->cfg_index] = 1;
    p->n_keys += rs->n_periods;
    if (p->n_svc == 0 || rs->periods[0].tp < p->first_tp)
        p->first_tp = rs->periods[0].tp;
    if (p->n_svc == 0 || rs->periods[rs->n_periods - 1].tp > p->last_tp)
        p->last_tp = rs->periods[rs->n_periods - 1].tp;
    if (p->n_svc == 0 || ps->certified_until < p->certified_until)
        p->certified_until = ps->certified_until;
    {
        /* The expiry grows with the period: the last one's is the service's latest. */
        uint64_t exp = (uint64_t)ob_hsv3_cert_expiry_hours(rs->periods[rs->n_periods - 1].tp,
                                                           &p->tpp, cs->descriptor_lifetime) *
                       3600;
        if (exp > p->signable_until)
            p->signable_until = exp;
    }
    p->n_svc++;
    return OB_OK;
}

ob_err ofl_certify_check(const ob_config *cfg, const ob_keyrequest *req, uint64_t now,
                         ofl_cert_plan **out, ob_diag *d)
{
    ofl_cert_plan *p = NULL;
    char a[32], b[32];
    ob_err err = OB_OK;
    size_t i;

    *out = NULL;
    if (req->created > now + cfg->max_clock_skew) {
        utc(a, req->created);
        utc(b, now);
        return ob_fail(d, OB_ERR_REFUSED,
                       "the clocks disagree: the request was made at %s by the online machine's "
                       "clock, later than this machine's clock (%s; max_clock_skew %u s) allows; "
                       "check both clocks",
                       a, b, cfg->max_clock_skew);
    }
    if (req->tp_length_min != cfg->time_period_length)
        return ob_fail(d, OB_ERR_REFUSED,
                       "the request's time period length is %u min, this machine's config says "
                       "%u (time_period_length)",
                       req->tp_length_min, cfg->time_period_length);
    p = calloc(1, sizeof(*p));
    if (p == NULL || (p->svc = calloc(req->n_services + 1, sizeof(*p->svc))) == NULL ||
        (p->need = calloc(cfg->n_services + 1, 1)) == NULL) {
        ofl_cert_plan_free(p);
        return ob_fail(d, OB_ERR_NOMEM, "out of memory");
    }
    p->now = now;
    p->req = req;
    p->tpp.length_min = req->tp_length_min;
    p->tpp.offset_min = req->tp_offset_min;
    p->max_days = cfg->delegation_max_days;
    for (i = 0; i < req->n_services; i++)
        if ((err = check_service(cfg, p, &req->services[i], d)) != OB_OK)
            goto out;
    *out = p;
    p = NULL;
out:
    ofl_cert_plan_free(p);
    return err;
}

void ofl_certify_summary(const ofl_cert_plan *p, ob_buf *out)
{
    const ob_keyrequest *r = p->req;
    char a[32], b[32], hex[OB_BUNDLE_HEX_LEN], shrt[OB_BUNDLE_SHORT_LEN];
    size_t i;

    ob_bundle_digest_short(r->digest, shrt);
    ob_bundle_digest_hex(r->digest, hex);
    ob_buf_printf(out, "Key certification request %s\n  (%s)\n", shrt, hex);
    /* Anyone can compute a digest: only the operator's comparison tells this request from one
     * swapped on the way, whose keys someone else holds (docs/delegation.rst). */
    ob_buf_printf(out, "Compare this digest with the one ob-online printed or logged when it wrote "
                       "the request:\n  if they differ, stop: a swapped request would certify keys "
                       "someone else holds.\n");
    utc(a, r->created);
    utc(b, p->now);
    ob_buf_printf(out, "Made %s by the online machine's clock; this machine's clock: %s\n", a, b);
    ob_buf_printf(out, "Time periods of %llu min (offset %llu min)\n\n",
                  (unsigned long long)p->tpp.length_min, (unsigned long long)p->tpp.offset_min);
    ob_buf_printf(out, "Services (%zu):\n", p->n_svc);
    for (i = 0; i < p->n_svc; i++) {
        const ofl_cert_service *ps = &p->svc[i];
        const ob_keyreq_service *rs = ps->req;
        utc(a, rs->periods[0].valid_from);
        utc(b, rs->periods[rs->n_periods - 1].valid_until);
        ob_buf_printf(out, "  %s.onion: %zu period%s, %llu .. %llu (%s .. %s)\n", rs->address,
                      rs->n_periods, rs->n_periods == 1 ? "" : "s",
                      (unsigned long long)rs->periods[0].tp,
                      (unsigned long long)rs->periods[rs->n_periods - 1].tp, a, b);
    }
    utc(a, ob_hsv3_tp_start_shown(p->first_tp, &p->tpp));
    utc(b, ob_hsv3_tp_start_shown(p->first_tp + 1, &p->tpp));
    ob_buf_printf(out, "\nFirst period: %llu, %s .. %s\n", (unsigned long long)p->first_tp, a, b);
    utc(a, ob_hsv3_tp_start_shown(p->last_tp, &p->tpp));
    utc(b, ob_hsv3_tp_start_shown(p->last_tp + 1, &p->tpp));
    ob_buf_printf(out, "Last period:  %llu, %s .. %s\n", (unsigned long long)p->last_tp, a, b);
    utc(a, p->certified_until);
    ob_buf_printf(out,
                  "Certificates: %zu; each expires when its period's descriptors stop being used\n"
                  "Next certification due by: %s\n",
                  p->n_keys, a);
    utc(a, p->signable_until);
    ob_buf_printf(out,
                  "The online machine can sign descriptors for these services by itself until %s "
                  "(the last certificate's expiry); a certificate cannot be revoked.\n",
                  a);
}

/* One period of one service: blind, certify, derive the revision-counter key. */
static ob_err certify_one(const ofl_cert_plan *p, const ofl_cert_service *ps, const ofl_key *key,
                          const ob_keyreq_period *rp, ob_keyresp_service *out, ob_diag *d)
{
    const uint8_t *A = ofl_key_ed25519_public(key);
    uint8_t *bexp = ob_secalloc(64);
    uint8_t Ab[32], Ab_check[32], cert[OB_CERT_LEN], rev[OB_HSV3_REV_KEY_LEN];
    uint32_t exp_h = ob_hsv3_cert_expiry_hours(rp->tp, &p->tpp, ps->cfg->descriptor_lifetime);
    size_t cert_len = 0;
    ob_err err;

    if (bexp == NULL)
        return ob_fail(d, OB_ERR_NOMEM, "out of secure memory");
    if (ofl_hsv3_blind_secret(bexp, ofl_key_ed25519_expanded(key), A, rp->tp, p->tpp.length_min) !=
            0 ||
        ob_ed25519_pub_from_expanded(Ab, bexp) != 0 ||
        ob_hsv3_blind_public(Ab_check, A, rp->tp, p->tpp.length_min) != 0) {
        err = ob_fail(d, OB_ERR_CRYPTO, "blinding the master key failed");
        goto out;
    }
    if (memcmp(Ab, Ab_check, 32) != 0) {
        err = ob_fail(d, OB_ERR_VERIFY, "the master secret key does not match its public key");
        goto out;
    }
    if ((err = ob_ed_cert_create(cert, &cert_len, OB_CERT_DESC_SIGNING, rp->signing_key, exp_h,
                                 bexp, Ab, d)) != OB_OK)
        goto out;
    if (ofl_hsv3_rev_counter_key(rev, bexp) != 0) {
        err = ob_fail(d, OB_ERR_CRYPTO, "revision-counter key derivation failed");
        goto out;
    }
    /* The blinded secret is not needed any more; only public and one-way values go on. */
    ob_secfree(bexp);
    bexp = NULL;
    /* Only the parts the online side cannot derive travel (bundle.h ob_keycert). */
    if (cert_len != OB_CERT_LEN) {
        err = ob_fail(d, OB_ERR_INTERNAL, "certificate of %zu bytes", cert_len);
        goto out;
    }
    if (ob_keyresp_service_add_cert(out, rp->tp, rp->signing_key, (uint64_t)exp_h * 3600,
                                    cert + OB_CERT_LEN - 64, rev) != OB_OK)
        err = ob_fail(d, OB_ERR_NOMEM, "out of memory");
out:
    if (err != OB_OK)
        ob_diag_prefix(d, "%s.onion period %llu: ", ps->req->address, (unsigned long long)rp->tp);
    ob_wipe(rev, sizeof(rev));
    ob_secfree(bexp);
    return err;
}

ob_err ofl_certify_execute(const ofl_cert_plan *p, const ofl_keyring *keys, ob_keyresponse **out,
                           ob_diag *d)
{
    ob_keyresponse *resp = ob_keyresponse_new();
    ob_err err = OB_OK;
    size_t i, j;

    *out = NULL;
    if (resp == NULL)
        return ob_fail(d, OB_ERR_NOMEM, "out of memory");
    memcpy(resp->request_digest, p->req->digest, OB_BUNDLE_DIGEST_LEN);
    resp->created = p->now;
    resp->tp_length_min = p->req->tp_length_min;
    resp->tp_offset_min = p->req->tp_offset_min;
    for (i = 0; i < p->n_svc; i++) {
        const ofl_cert_service *ps = &p->svc[i];
        const ofl_key *k = keys->by_service[ps->cfg_index];
        ob_keyresp_service *rs = NULL;
        if (k == NULL || ofl_key_version(k) != 3 ||
            strcmp(ofl_key_address(k), ps->req->address) != 0) {
            err = ob_fail(d, OB_ERR_INTERNAL, "%s.onion: no key", ps->req->address);
            goto out;
        }
        if (ob_keyresponse_add_service(resp, ps->req->address, &rs) != OB_OK) {
            err = ob_fail(d, OB_ERR_NOMEM, "out of memory");
            goto out;
        }
        for (j = 0; j < ps->req->n_periods; j++)
            if ((err = certify_one(p, ps, k, &ps->req->periods[j], rs, d)) != OB_OK)
                goto out;
    }
    *out = resp;
    resp = NULL;
out:
    ob_keyresponse_free(resp);
    return err;
}

/* One certificate as the online side will check it, with public keys only. */
static ob_err selfcheck_cert(const ofl_cert_plan *p, const ofl_cert_service *ps,
                             const ob_keyreq_period *rp, const ob_keycert *kc, ob_diag *d)
{
    uint8_t A[32], Ab[32], raw[OB_CERT_LEN];
    ob_ed_cert c;
    ob_err err;

    if (kc->tp != rp->tp)
        return ob_fail(d, OB_ERR_INTERNAL, "period %llu answered as %llu",
                       (unsigned long long)rp->tp, (unsigned long long)kc->tp);
    if ((err = ob_onion_v3_decode(A, ps->req->address, strlen(ps->req->address), d)) != OB_OK ||
        (err = ob_keycert_cert(kc, ps->req->address, p->req->tp_length_min, raw, d)) != OB_OK ||
        (err = ob_ed_cert_parse(&c, raw, sizeof(raw), d)) != OB_OK)
        return err;
    if (ob_hsv3_blind_public(Ab, A, rp->tp, p->tpp.length_min) != 0)
        return ob_fail(d, OB_ERR_CRYPTO, "public blinding failed");
    if (c.type != OB_CERT_DESC_SIGNING || memcmp(c.certified, rp->signing_key, 32) != 0 ||
        !c.has_signer || memcmp(c.signer, Ab, 32) != 0)
        return ob_fail(d, OB_ERR_INTERNAL, "period %llu: the certificate binds the wrong keys",
                       (unsigned long long)rp->tp);
    if (c.expiration_hours !=
        ob_hsv3_cert_expiry_hours(rp->tp, &p->tpp, ps->cfg->descriptor_lifetime))
        return ob_fail(d, OB_ERR_INTERNAL, "period %llu: unexpected expiry",
                       (unsigned long long)rp->tp);
    return ob_ed_cert_verify(&c, Ab, p->now, d);
}

ob_err ofl_certify_selfcheck(const ofl_cert_plan *p, ob_keyresponse *resp, size_t *wire_len,
                             size_t *frames, ob_diag *d)
{
    ob_keyresponse *back = NULL;
    ob_qr_frames *f = NULL;
    ob_buf wire;
    size_t i, j, cap = 0;
    ob_err err;

    ob_buf_init(&wire);
    *wire_len = 0;
    *frames = 0;
    if ((err = ob_keyresponse_serialize(resp, &wire, d)) != OB_OK)
        goto out;
    if ((err = ob_keyresponse_parse(wire.p, wire.len, &back, d)) != OB_OK)
        goto fail;
    if (memcmp(back->request_digest, p->req->digest, OB_BUNDLE_DIGEST_LEN) != 0 ||
        back->n_services != p->n_svc) {
        err = ob_fail(d, OB_ERR_INTERNAL, "the response does not answer the request");
        goto fail;
    }
    for (i = 0; i < p->n_svc; i++) {
        const ofl_cert_service *ps = &p->svc[i];
        const ob_keyresp_service *bs = &back->services[i];
        if (strcmp(bs->address, ps->req->address) != 0 || bs->n_certs != ps->req->n_periods) {
            err = ob_fail(d, OB_ERR_INTERNAL, "%s.onion: not every period was certified",
                          ps->req->address);
            goto fail;
        }
        for (j = 0; j < bs->n_certs; j++) {
            if ((err = selfcheck_cert(p, ps, &ps->req->periods[j], &bs->certs[j], d)) != OB_OK) {
                ob_diag_prefix(d, "%s.onion: ", ps->req->address);
                goto fail;
            }
        }
    }
    *wire_len = wire.len;
    err = ob_qrimage_capacity(OB_QR_DEFAULT_VERSION, OB_QR_DEFAULT_LEVEL, &cap, d);
    if (err == OB_OK)
        err = ob_qr_split(wire.p, wire.len, cap, &f, d);
    if (err == OB_OK)
        *frames = f->n;
    goto out;
fail:
    ob_diag_prefix(d, "self-check of the response: ");
    if (err != OB_ERR_NOMEM)
        err = OB_ERR_INTERNAL;
out:
    ob_qr_frames_free(f);
    ob_keyresponse_free(back);
    ob_buf_free(&wire);
    return err;
}

void ofl_certify_log_services(const ofl_cert_plan *p, ob_buf *out)
{
    size_t i;

    for (i = 0; i < p->n_svc; i++) {
        const ofl_cert_service *ps = &p->svc[i];
        const ob_keyreq_service *rs = ps->req;
        char until[32];
        time_t tt = (time_t)ps->certified_until;
        struct tm tm;
        if (gmtime_r(&tt, &tm) == NULL ||
            strftime(until, sizeof(until), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
            snprintf(until, sizeof(until), "?");
        ob_buf_printf(out, "certify %s v3 periods %llu-%llu keys %zu until %s\n", rs->address,
                      (unsigned long long)rs->periods[0].tp,
                      (unsigned long long)rs->periods[rs->n_periods - 1].tp, rs->n_periods, until);
    }
}

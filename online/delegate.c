/*
 * delegate.c - key-certification requests and responses, online side
 * (delegate.h, docs/delegation.rst).
 */
#include "delegate.h"

#include "cli.h"
#include "encode.h"
#include "hsv3_cert.h"
#include "hsv3_sign_desc.h"
#include "secmem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

ob_err onl_delegate_periods(const ob_tp_params *tpp, uint64_t now, unsigned days, uint64_t *first,
                            uint64_t *last, ob_diag *d)
{
    ob_hsv3_slot s[2];
    uint64_t horizon = now + (uint64_t)days * 86400, tp, st = 0;

    if (tpp->length_min == 0 || tpp->offset_min >= tpp->length_min)
        return ob_fail(d, OB_ERR_RANGE, "time period length %llu min, offset %llu min",
                       (unsigned long long)tpp->length_min, (unsigned long long)tpp->offset_min);
    if (days < 1 || days > ONL_DELEGATE_DAYS_MAX || now > OB_BUNDLE_MAX_TIME)
        return ob_fail(d, OB_ERR_RANGE, "--days %u: expected 1..%d", days, ONL_DELEGATE_DAYS_MAX);
    ob_hsv3_publish_slots(now, tpp, s);
    *first = s[0].tp;
    /* The last period that begins before the horizon (the current one at least). */
    tp = ob_hsv3_tp_num(horizon, tpp);
    if ((ob_hsv3_tp_start(tp, tpp, &st) != 0 || st >= horizon) && tp > 0)
        tp--; /* (a start past year 9999 is past any horizon too) */
    *last = tp > s[1].tp ? tp : s[1].tp;
    if (*last - *first + 1 > OB_BUNDLE_MAX_KEY_PERIODS)
        return ob_fail(d, OB_ERR_RANGE,
                       "%u days are %llu time periods of %llu min, more than the %d a request may "
                       "hold: choose fewer --days",
                       days, (unsigned long long)(*last - *first + 1),
                       (unsigned long long)tpp->length_min, OB_BUNDLE_MAX_KEY_PERIODS);
    return OB_OK;
}

static void free_keys(onl_dkey **keys, size_t n)
{
    size_t i;

    for (i = 0; keys != NULL && i < n; i++)
        onl_dkey_free(keys[i]);
    free(keys);
}

ob_err onl_delegate_request_build(const ob_config *cfg, const ob_tp_params *tpp, uint64_t now,
                                  unsigned days, ob_keyrequest **out, onl_dkey ***out_keys,
                                  size_t *out_n, size_t *n_v2, ob_diag *d)
{
    ob_keyrequest *req = NULL;
    onl_dkey **keys = NULL;
    uint64_t first = 0, last = 0, tp;
    size_t n = 0, n3 = 0, i;
    ob_err err;

    *out = NULL;
    *out_keys = NULL;
    *out_n = 0;
    *n_v2 = 0;
    if ((err = onl_delegate_periods(tpp, now, days, &first, &last, d)) != OB_OK)
        return err;
    for (i = 0; i < cfg->n_services; i++) {
        if (cfg->services[i].version == 3 && cfg->services[i].address != NULL)
            n3++;
        else
            (*n_v2)++;
    }
    if (n3 == 0)
        return ob_fail(d, OB_ERR_REFUSED,
                       "%s: no v3 service: only v3 descriptors have delegated signing keys",
                       cfg->path);
    req = ob_keyrequest_new();
    keys = calloc(n3 * (size_t)(last - first + 1) + 1, sizeof(*keys));
    if (req == NULL || keys == NULL ||
        ob_bundle_set_text(&req->origin, "ob-online " OB_VERSION) != OB_OK) {
        err = ob_fail(d, OB_ERR_NOMEM, "out of memory");
        goto out;
    }
    req->created = now;
    req->tp_length_min = (uint32_t)tpp->length_min;
    req->tp_offset_min = (uint32_t)tpp->offset_min;
    for (i = 0; i < cfg->n_services; i++) {
        const ob_cfg_service *cs = &cfg->services[i];
        ob_keyreq_service *rs = NULL;
        if (cs->version != 3 || cs->address == NULL)
            continue;
        if (ob_keyrequest_add_service(req, cs->address, &rs) != OB_OK) {
            err = ob_fail(d, OB_ERR_NOMEM, "out of memory");
            goto out;
        }
        for (tp = first; tp <= last; tp++) {
            onl_dkey *k = NULL;
            if ((err = onl_dkey_new_pending(cs->address, tp, tpp, now, &k, d)) != OB_OK)
                goto out;
            keys[n++] = k;
            if (ob_keyreq_service_add_period(rs, tp, k->valid_from, k->valid_until, k->sign_pk) !=
                OB_OK) {
                err = ob_fail(d, OB_ERR_NOMEM, "out of memory");
                goto out;
            }
        }
    }
    *out = req;
    *out_keys = keys;
    *out_n = n;
    req = NULL;
    keys = NULL;
    err = OB_OK;
out:
    ob_keyrequest_free(req);
    free_keys(keys, n);
    return err;
}

ob_err onl_delegate_save_pending(const ob_config *cfg, const ob_keyrequest *req,
                                 onl_dkey *const *keys, size_t n_keys, ob_diag *d)
{
    size_t i, j;
    ob_err err = OB_OK;

    for (i = 0; i < n_keys; i++) {
        memcpy(keys[i]->request_digest, req->digest, OB_BUNDLE_DIGEST_LEN);
        if ((err = onl_dkey_save(cfg, keys[i], d)) != OB_OK)
            break;
    }
    if (err != OB_OK)
        for (j = 0; j < i; j++)
            (void)onl_dkey_discard(cfg, keys[j], NULL);
    return err;
}

/* ---- install ---------------------------------------------------------------- */

/* One certificate, checked; *k is the pending key made certified (in memory), or NULL to skip. */
static ob_err check_one(const ob_config *cfg, const ob_keyresponse *resp, const char *address,
                        const ob_keycert *kc, uint64_t now, onl_dkey **k, int *already, int *over,
                        ob_diag *d)
{
    char shrt_a[OB_BUNDLE_SHORT_LEN], shrt_b[OB_BUNDLE_SHORT_LEN], hex[17];
    onl_dkey *p = NULL, *inst = NULL;
    uint8_t cert[OB_CERT_LEN];
    ob_err err;

    *k = NULL;
    *already = 0;
    *over = 0;
    {
        /* A period already over is skipped, whatever became of its key. */
        ob_tp_params tpp = { resp->tp_length_min, resp->tp_offset_min };
        uint64_t from = 0, until = 0;
        /* (The parser bounds tp; a window it cannot have is over too.) */
        if (ob_hsv3_desc_window(kc->tp, &tpp, &from, &until) != 0 || until <= now) {
            *over = 1;
            return OB_OK;
        }
    }
    /* The certificate as the descriptor will carry it, its signer derived here. */
    if ((err = ob_keycert_cert(kc, address, resp->tp_length_min, cert, d)) != OB_OK)
        return err;
    ob_hex_encode(hex, kc->signing_key, 8);
    err = onl_dkey_find_pending(cfg, address, kc->tp, kc->signing_key, &p, d);
    if (err == OB_ERR_NOTFOUND) {
        /* The same response installed before: its key is there, certified. */
        if (onl_dkey_load(cfg, address, kc->tp, 0, &inst, NULL) == OB_OK &&
            memcmp(inst->sign_pk, kc->signing_key, 32) == 0 && inst->cert_len == OB_CERT_LEN &&
            memcmp(inst->cert, cert, OB_CERT_LEN) == 0) {
            onl_dkey_free(inst);
            *already = 1;
            return OB_OK;
        }
        onl_dkey_free(inst);
        return ob_fail(d, OB_ERR_REFUSED,
                       "%s.onion period %llu: the certificate is for key %s..., which this machine "
                       "does not hold (a request made elsewhere, or keys removed?)",
                       address, (unsigned long long)kc->tp, hex);
    }
    if (err != OB_OK)
        return err;
    if (memcmp(p->request_digest, resp->request_digest, OB_BUNDLE_DIGEST_LEN) != 0) {
        ob_bundle_digest_short(resp->request_digest, shrt_a);
        ob_bundle_digest_short(p->request_digest, shrt_b);
        err = ob_fail(d, OB_ERR_REFUSED,
                      "%s.onion period %llu: the response answers request %s, key %s... was "
                      "sent in request %s",
                      address, (unsigned long long)kc->tp, shrt_a, hex, shrt_b);
        goto out;
    }
    if (p->tpp.length_min != resp->tp_length_min || p->tpp.offset_min != resp->tp_offset_min) {
        err = ob_fail(d, OB_ERR_REFUSED,
                      "%s.onion period %llu: the response is for periods of %u min (offset %u), "
                      "the key was made for %llu (offset %llu)",
                      address, (unsigned long long)kc->tp, resp->tp_length_min, resp->tp_offset_min,
                      (unsigned long long)p->tpp.length_min, (unsigned long long)p->tpp.offset_min);
        goto out;
    }
    if ((err = onl_dkey_certify(p, cert, OB_CERT_LEN, kc->rev_key, now, d)) != OB_OK)
        goto out;
    *k = p;
    p = NULL;
out:
    onl_dkey_free(p);
    return err;
}

ob_err onl_delegate_install(const ob_config *cfg, const ob_keyresponse *resp, uint64_t now,
                            onl_install_report *rep, ob_diag *d)
{
    onl_dkey **ready = NULL;
    size_t n_ready = 0, total = 0, i, j;
    ob_err err = OB_OK;

    memset(rep, 0, sizeof(*rep));
    for (i = 0; i < resp->n_services; i++) {
        const ob_cfg_service *cs = ob_config_find_service(cfg, resp->services[i].address);
        if (cs == NULL || cs->version != 3)
            return ob_fail(d, OB_ERR_REFUSED,
                           "%s.onion is not a v3 service of %s; nothing was installed",
                           resp->services[i].address, cfg->path);
        total += resp->services[i].n_certs;
    }
    ready = calloc(total + 1, sizeof(*ready));
    if (ready == NULL)
        return ob_fail(d, OB_ERR_NOMEM, "out of memory");
    /* Every certificate is checked before the first is installed. */
    for (i = 0; i < resp->n_services; i++) {
        const ob_keyresp_service *rs = &resp->services[i];
        for (j = 0; j < rs->n_certs; j++) {
            onl_dkey *k = NULL;
            int already = 0, over = 0;
            err = check_one(cfg, resp, rs->address, &rs->certs[j], now, &k, &already, &over, d);
            if (err != OB_OK) {
                ob_diag_prefix(d, "refused, nothing was installed: ");
                goto out;
            }
            rep->n_already += already;
            rep->n_over += over;
            if (k != NULL)
                ready[n_ready++] = k;
        }
    }
    rep->n_services = resp->n_services;
    for (i = 0; i < n_ready; i++) {
        if ((err = onl_dkey_save(cfg, ready[i], d)) != OB_OK) {
            ob_diag_prefix(d, "%zu of %zu certificates were installed: ", i, n_ready);
            goto out;
        }
        if (rep->n_installed == 0 || ready[i]->tp < rep->first_tp)
            rep->first_tp = ready[i]->tp;
        if (rep->n_installed == 0 || ready[i]->tp > rep->last_tp)
            rep->last_tp = ready[i]->tp;
        rep->n_installed++;
    }
out:
    for (i = 0; i < n_ready; i++)
        onl_dkey_free(ready[i]);
    free(ready);
    return err;
}

ob_err onl_delegate_install_file(const ob_config *cfg, const char *path, uint64_t now,
                                 onl_install_report *rep, ob_diag *d)
{
    ob_keyresponse *resp = NULL;
    ob_err err;

    memset(rep, 0, sizeof(*rep));
    if ((err = ob_keyresponse_read_file(path, &resp, d)) != OB_OK)
        return err;
    if ((err = onl_delegate_install(cfg, resp, now, rep, d)) != OB_OK)
        ob_diag_prefix(d, "%s: ", path);
    ob_keyresponse_free(resp);
    return err;
}

ob_err onl_delegate_list(const ob_config *cfg, const char *address, uint64_t now,
                         onl_dkey_list *out, ob_diag *d)
{
    ob_tp_params tpp;
    ob_err err;

    tpp.length_min = cfg->time_period_length != 0 ? cfg->time_period_length : 1440;
    tpp.offset_min = tpp.length_min / 2;
    if ((err = onl_dkeys_list(cfg, address, &tpp, now, out, d)) != OB_OK || out->n == 0)
        return err;
    /* The keys know the periods they were made for: count with those. */
    if (out->v[out->n - 1].tpp.length_min != tpp.length_min ||
        out->v[out->n - 1].tpp.offset_min != tpp.offset_min) {
        tpp = out->v[out->n - 1].tpp;
        onl_dkey_list_free(out);
        err = onl_dkeys_list(cfg, address, &tpp, now, out, d);
    }
    return err;
}

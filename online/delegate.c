/*
 * delegate.c - key-certification requests and responses, online side
 * (delegate.h, docs/delegation.rst).
 */
#include "delegate.h"

#include "cli.h"
#include "encode.h"
#include "fileio.h"
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

static int wanted(const ob_cfg_service *cs, const char *only)
{
    return cs->address != NULL && (only == NULL || strcmp(cs->address, only) == 0);
}

void onl_pending_keys_free(onl_pending_keys *p)
{
    size_t i;

    if (p == NULL)
        return;
    for (i = 0; p->v != NULL && i < p->n; i++)
        onl_dkey_free(p->v[i]);
    free(p->v);
    ob_secfree(p->secrets);
    memset(p, 0, sizeof(*p));
}

ob_err onl_delegate_request_build(const ob_config *cfg, const char *only, const ob_tp_params *tpp,
                                  uint64_t now, unsigned days, ob_keyrequest **out,
                                  onl_pending_keys *keys, size_t *n_v2, ob_diag *d)
{
    ob_keyrequest *req = NULL;
    uint64_t first = 0, last = 0, tp;
    size_t n3 = 0, total, i;
    ob_err err;

    *out = NULL;
    memset(keys, 0, sizeof(*keys));
    *n_v2 = 0;
    if ((err = onl_delegate_periods(tpp, now, days, &first, &last, d)) != OB_OK)
        return err;
    for (i = 0; i < cfg->n_services; i++) {
        if (!wanted(&cfg->services[i], only))
            continue;
        if (cfg->services[i].version == 3)
            n3++;
        else
            (*n_v2)++;
    }
    if (n3 == 0)
        return ob_fail(d, OB_ERR_REFUSED,
                       "%s: no v3 service%s%s: only v3 descriptors have delegated signing keys",
                       cfg->path, only != NULL ? " " : "", only != NULL ? only : "");
    total = n3 * (size_t)(last - first + 1);
    /* One locked block for every secret: a page per key would exhaust RLIMIT_MEMLOCK. */
    if ((err = ob_secmem_expect(ob_secmem_cost(total * ONL_DKEY_SECRET_LEN), d)) != OB_OK)
        return err;
    keys->secrets = ob_secalloc(total * ONL_DKEY_SECRET_LEN);
    if (keys->secrets == NULL)
        return ob_secmem_fail(d);
    keys->v = calloc(total + 1, sizeof(*keys->v));
    req = ob_keyrequest_new();
    if (keys->v == NULL || req == NULL ||
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
        if (!wanted(cs, only) || cs->version != 3)
            continue;
        if (ob_keyrequest_add_service(req, cs->address, &rs) != OB_OK) {
            err = ob_fail(d, OB_ERR_NOMEM, "out of memory");
            goto out;
        }
        for (tp = first; tp <= last; tp++) {
            onl_dkey *k = NULL;
            uint8_t *sec = keys->secrets + keys->n * ONL_DKEY_SECRET_LEN;
            if ((err = onl_dkey_new_pending_in(cs->address, tp, tpp, now, sec, &k, d)) != OB_OK)
                goto out;
            keys->v[keys->n++] = k;
            if (ob_keyreq_service_add_period(rs, tp, k->valid_from, k->valid_until, k->sign_pk) !=
                OB_OK) {
                err = ob_fail(d, OB_ERR_NOMEM, "out of memory");
                goto out;
            }
        }
    }
    *out = req;
    req = NULL;
    err = OB_OK;
out:
    ob_keyrequest_free(req);
    if (err != OB_OK)
        onl_pending_keys_free(keys);
    return err;
}

ob_err onl_delegate_save_pending(const ob_config *cfg, const ob_keyrequest *req,
                                 const onl_pending_keys *keys, ob_diag *d)
{
    size_t i, j;
    ob_err err = OB_OK;

    for (i = 0; i < keys->n; i++) {
        memcpy(keys->v[i]->request_digest, req->digest, OB_BUNDLE_DIGEST_LEN);
        if ((err = onl_dkey_save(cfg, keys->v[i], d)) != OB_OK)
            break;
    }
    if (err != OB_OK)
        for (j = 0; j < i; j++)
            (void)onl_dkey_discard(cfg, keys->v[j], NULL);
    return err;
}

void onl_delegate_discard_pending(const ob_config *cfg, const onl_pending_keys *keys)
{
    size_t i;

    for (i = 0; i < keys->n; i++)
        (void)onl_dkey_discard(cfg, keys->v[i], NULL);
}

ob_err onl_delegate_request_write(const ob_config *cfg, const char *only, const ob_tp_params *tpp,
                                  uint64_t now, unsigned days, const char *path,
                                  ob_keyrequest **out, size_t *n_keys, size_t *n_v2, ob_diag *d)
{
    ob_keyrequest *req = NULL;
    onl_pending_keys keys = { NULL, 0, NULL };
    size_t i;
    ob_buf wire;
    ob_err err;

    if (out != NULL)
        *out = NULL;
    *n_keys = 0;
    ob_buf_init(&wire);
    if (ob_path_exists(path)) {
        err = ob_fail(d, OB_ERR_EXISTS,
                      "%s: exists; refusing to overwrite a request (remove it or choose another "
                      "name)",
                      path);
        goto out;
    }
    err = onl_delegate_request_build(cfg, only, tpp, now, days, &req, &keys, n_v2, d);
    if (err == OB_OK)
        err = ob_keyrequest_serialize(req, &wire, d);
    if (err != OB_OK)
        goto out;
    for (i = 0; i < req->n_services; i++)
        (void)onl_dkeys_prune(cfg, req->services[i].address, now, NULL, NULL);
    /* Keys first: a request whose keys were lost could never be installed. */
    if ((err = onl_delegate_save_pending(cfg, req, &keys, d)) != OB_OK)
        goto out;
    if ((err = ob_bundle_write_file(path, wire.p, wire.len, OB_WRITE_EXCL, d)) != OB_OK) {
        onl_delegate_discard_pending(cfg, &keys);
        goto out;
    }
    *n_keys = keys.n;
    if (out != NULL) {
        *out = req;
        req = NULL;
    }
out:
    onl_pending_keys_free(&keys);
    ob_keyrequest_free(req);
    ob_buf_free(&wire);
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

/*
 * Every certificate of resp through check_one; with save set, each checked
 * key is saved at once.  Keys are made and freed one at a time, so a large
 * response never holds more than one secret.
 */
static ob_err install_pass(const ob_config *cfg, const ob_keyresponse *resp, uint64_t now, int save,
                           onl_install_report *rep, ob_diag *d)
{
    size_t i, j;
    ob_err err;

    memset(rep, 0, sizeof(*rep));
    for (i = 0; i < resp->n_services; i++) {
        const ob_keyresp_service *rs = &resp->services[i];
        for (j = 0; j < rs->n_certs; j++) {
            onl_dkey *k = NULL;
            int already = 0, over = 0;
            err = check_one(cfg, resp, rs->address, &rs->certs[j], now, &k, &already, &over, d);
            if (err == OB_OK && k != NULL && save) {
                err = onl_dkey_save(cfg, k, d);
                if (err != OB_OK)
                    ob_diag_prefix(d, "%zu certificates were installed, then: ", rep->n_installed);
            }
            if (err == OB_OK && k != NULL) {
                if (rep->n_installed == 0 || k->tp < rep->first_tp)
                    rep->first_tp = k->tp;
                if (rep->n_installed == 0 || k->tp > rep->last_tp)
                    rep->last_tp = k->tp;
                rep->n_installed++;
            }
            onl_dkey_free(k);
            if (err != OB_OK)
                return err;
            rep->n_already += already;
            rep->n_over += over;
        }
    }
    rep->n_services = resp->n_services;
    return OB_OK;
}

ob_err onl_delegate_install(const ob_config *cfg, const ob_keyresponse *resp, uint64_t now,
                            onl_install_report *rep, ob_diag *d)
{
    size_t i;
    ob_err err;

    memset(rep, 0, sizeof(*rep));
    for (i = 0; i < resp->n_services; i++) {
        const ob_cfg_service *cs = ob_config_find_service(cfg, resp->services[i].address);
        if (cs == NULL || cs->version != 3)
            return ob_fail(d, OB_ERR_REFUSED,
                           "%s.onion is not a v3 service of %s; nothing was installed",
                           resp->services[i].address, cfg->path);
    }
    /* Every certificate is checked before the first is installed. */
    if ((err = install_pass(cfg, resp, now, 0, rep, d)) != OB_OK) {
        ob_diag_prefix(d, "refused, nothing was installed: ");
        memset(rep, 0, sizeof(*rep));
        return err;
    }
    return install_pass(cfg, resp, now, 1, rep, d);
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

/*
 * sign.c - the ceremony: unlock, check a request against the offline
 * config and clock, summarise, sign, re-verify (sign.h, docs/signing.rst).
 */
#include "sign.h"

#include "crypto.h"
#include "encode.h"
#include "fileio.h"
#include "hsv2.h"
#include "hsv2_sign.h"
#include "hsv3_cover.h"
#include "hsv3_desc.h"
#include "hsv3_select.h"
#include "hsv3_sign.h"
#include "hsv3_revs.h"
#include "hsv3_sign_desc.h"
#include "obtime.h"
#include "onion.h"
#include "qrframe.h"
#include "qrimage.h"
#include "compact.h"
#include "crypto.h"
#include "dedup.h"
#include "pool.h"
#include "revisions.h"
#include "secmem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_V2_SLOTS 32

/* ---- keys ------------------------------------------------------------- */

typedef struct keyfile {
    const char *path;
    size_t start, n;
} keyfile;

void ofl_keyring_free(ofl_keyring *k)
{
    if (k == NULL)
        return;
    ofl_keys_free(k->keys, k->n_keys);
    free(k->by_service);
    free(k);
}

int ofl_cfg_is_precheckable(const ob_config *cfg, const char *const *addr, size_t n,
                            const ob_cfg_service **why)
{
    size_t i;

    *why = NULL;
    for (i = 0; i < cfg->n_services && *why == NULL; i++)
        if (cfg->services[i].address == NULL)
            *why = &cfg->services[i];
    if (*why == NULL)
        return 1; /* every service is known by address; an unknown one is refused */
    for (i = 0; i < n; i++) {
        const ob_cfg_service *s = ob_config_find_service(cfg, addr[i]);
        if (s == NULL || s->key_path == NULL)
            return 0; /* it may be the key of a service that names no address */
    }
    return 1;
}

int ofl_sign_is_precheckable(const ob_config *cfg, const ob_request *req,
                             const ob_cfg_service **why)
{
    const char **addr = calloc(req->n_services + 1, sizeof(*addr));
    size_t i;
    int r;

    if (addr == NULL) {
        *why = cfg->n_services > 0 ? &cfg->services[0] : NULL;
        return 0; /* unlock first: the cautious order */
    }
    for (i = 0; i < req->n_services; i++)
        addr[i] = req->services[i].address;
    r = ofl_cfg_is_precheckable(cfg, addr, req->n_services, why);
    free(addr);
    return r;
}

ob_err ofl_sign_unlock(ob_config *cfg, const ofl_plan *only, const char *passphrase_file,
                       ofl_keyring **out, ob_diag *d)
{
    unsigned char *need = NULL;
    size_t i;
    ob_err err;

    if (only == NULL)
        return ofl_sign_unlock_services(cfg, NULL, passphrase_file, out, d);
    *out = NULL;
    need = calloc(cfg->n_services + 1, 1);
    if (need == NULL)
        return ob_fail(d, OB_ERR_NOMEM, "out of memory");
    /* Only the services a checked plan signs: no passphrase for the others. */
    for (i = 0; i < only->n_svc; i++)
        need[only->svc[i].cfg_index] = 1;
    err = ofl_sign_unlock_services(cfg, need, passphrase_file, out, d);
    free(need);
    return err;
}

ob_err ofl_sign_unlock_services(ob_config *cfg, const unsigned char *only,
                                const char *passphrase_file, ofl_keyring **out, ob_diag *d)
{
    ofl_keyring *kr = NULL;
    keyfile *files = NULL;
    unsigned char *need = NULL;
    size_t nf = 0, i, j;
    ob_err err = OB_OK;

    *out = NULL;
    kr = calloc(1, sizeof(*kr));
    files = calloc(cfg->n_services + 1, sizeof(*files));
    need = calloc(cfg->n_services + 1, 1);
    if (kr == NULL || files == NULL || need == NULL ||
        (kr->by_service = calloc(cfg->n_services + 1, sizeof(*kr->by_service))) == NULL) {
        err = ob_fail(d, OB_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (i = 0; i < cfg->n_services; i++)
        need[i] = only == NULL || only[i];
    for (i = 0; i < cfg->n_services; i++) {
        const ob_cfg_service *s = &cfg->services[i];
        const ofl_key *k = NULL;
        keyfile *f = NULL;
        if (!need[i])
            continue;
        if (s->key_path == NULL) {
            err = ob_fail(d, OB_ERR_MALFORMED,
                          "%s:%d: this service gives an address but no key: sign needs the "
                          "offline config",
                          cfg->path, s->line);
            goto out;
        }
        /* One passphrase per distinct key file, however many services use it. */
        for (j = 0; j < nf && f == NULL; j++)
            if (strcmp(files[j].path, s->key_path) == 0)
                f = &files[j];
        if (f == NULL) {
            ofl_key **ks = NULL, **grown;
            size_t n = 0;
            err = ofl_keystore_load_all(s->key_path, passphrase_file, &ks, &n, d);
            if (err != OB_OK)
                goto out;
            grown = realloc(kr->keys, (kr->n_keys + n) * sizeof(*grown));
            if (grown == NULL) {
                ofl_keys_free(ks, n);
                err = ob_fail(d, OB_ERR_NOMEM, "out of memory");
                goto out;
            }
            kr->keys = grown;
            memcpy(kr->keys + kr->n_keys, ks, n * sizeof(*ks));
            free(ks); /* the keys now belong to kr */
            f = &files[nf++];
            f->path = s->key_path;
            f->start = kr->n_keys;
            f->n = n;
            kr->n_keys += n;
        }
        if (s->address != NULL) {
            for (j = f->start; j < f->start + f->n && k == NULL; j++)
                if (strcmp(ofl_key_address(kr->keys[j]), s->address) == 0)
                    k = kr->keys[j];
            if (k == NULL && f->n == 1) {
                err = ob_fail(d, OB_ERR_VERIFY,
                              "%s:%d: %s is the key of %s.onion, not of %s.onion (the address "
                              "this service names): wrong key file, or a wrong address in the "
                              "config",
                              cfg->path, s->line, s->key_path, ofl_key_address(kr->keys[f->start]),
                              s->address);
                goto out;
            }
            if (k == NULL) {
                err = ob_fail(d, OB_ERR_VERIFY,
                              "%s:%d: %s holds %zu key(s), none for %s.onion (the address this "
                              "service names): wrong key store, or a wrong address in the config",
                              cfg->path, s->line, s->key_path, f->n, s->address);
                goto out;
            }
        } else if (f->n == 1) {
            k = kr->keys[f->start];
        } else {
            err = ob_fail(d, OB_ERR_UNSUPPORTED,
                          "%s:%d: %s holds %zu keys and the config does not say which one this "
                          "service uses",
                          cfg->path, s->line, s->key_path, f->n);
            goto out;
        }
        err = ob_config_bind_key(cfg, i, ofl_key_address(k), d);
        if (err != OB_OK) {
            ob_diag_prefix(d, "key %s: ", s->key_path);
            goto out;
        }
        kr->by_service[i] = k;
    }
    kr->n_files = nf;
    *out = kr;
    kr = NULL;
out:
    free(need);
    free(files);
    ofl_keyring_free(kr);
    return err;
}

/* ---- time helpers ------------------------------------------------------ */

static void utc(char out[OB_TIME_STR], uint64_t t)
{
    (void)ob_time_format(out, OB_TIME_STR, t, OB_TIME_MIN);
}

static void span(char out[32], uint64_t a, uint64_t b)
{
    uint64_t s = a > b ? a - b : b - a;

    if (s < 120)
        snprintf(out, 32, "%llu s", (unsigned long long)s);
    else if (s < 7200)
        snprintf(out, 32, "%llu min", (unsigned long long)(s / 60));
    else
        snprintf(out, 32, "%.1f h", (double)s / 3600.0);
}

/* ---- checks -------------------------------------------------------------- */

/* ---- backend descriptors, each judged once per ceremony ---- */

typedef struct backend {
    const ob_cfg_instance *ci; /* the first instance it was found for */
    const ob_req_instance *ri;
    ob_err err; /* OB_OK: desc holds it, or stale; else refused with msg */
    char msg[OB_DIAG_MAX];
    int stale; /* a certificate has expired: msg says which */
    ob_hsv3_desc *desc;
    uint64_t tp;
} backend;

/*
 * Keyed by what decides the verdict: the instance's address, the
 * descriptor's bytes and the client key the config gives for it.  The
 * clock and the candidate periods are the ceremony's, the same for all.
 */
struct ofl_backends {
    ob_dedup *ix;
    backend *v;
    size_t n, cap;
};

static void backends_free(ofl_backends *b)
{
    size_t i;

    if (b == NULL)
        return;
    for (i = 0; i < b->n; i++)
        ob_hsv3_desc_free(b->v[i].desc);
    free(b->v);
    ob_dedup_free(b->ix);
    free(b);
}

void ofl_plan_free(ofl_plan *p)
{
    size_t i;

    if (p == NULL)
        return;
    for (i = 0; i < p->n_svc; i++)
        free(p->svc[i].inst);
    ob_req_sources_free(p->sources);
    backends_free(p->backends);
    free(p->svc);
    free(p);
}

/*
 * Is tp a period a ceremony at now may sign for this v3 service?  Only the
 * publish slots in force: one before them is over, one after them has no
 * revision-counter run yet.  (presign_window is v2 only: a v3 period can
 * never be signed before its run starts, docs/signing.rst.)
 */
static ob_err v3_period_ok(const ofl_plan *p, const ob_cfg_service *cs, uint64_t tp, ob_diag *d)
{
    ob_hsv3_slot slots[2];
    uint64_t start = 0, run = 0, end = 0;
    char a[OB_TIME_STR], b[OB_TIME_STR];

    /* The bundle parser bounds tp; this refuses what is still out of range
     * (a period starting past year 9999) instead of computing a wrapped start. */
    if (ob_hsv3_tp_start(tp, &p->tpp, &start) != 0 ||
        ob_hsv3_desc_window(tp, &p->tpp, &run, &end) != 0)
        return ob_fail(d, OB_ERR_REFUSED,
                       "%s.onion: period %llu is out of range (it would start after year 9999)",
                       cs->address, (unsigned long long)tp);
    if (ob_hsv3_publish_slots(p->now, &p->tpp, slots) != 0)
        return ob_fail(d, OB_ERR_RANGE, "this machine's clock (%llu) is out of range",
                       (unsigned long long)p->now);
    utc(a, start);
    if (tp < slots[0].tp)
        return ob_fail(d, OB_ERR_REFUSED,
                       "%s.onion: period %llu (starting %s) is over: by this machine's clock the "
                       "oldest period still published is %llu",
                       cs->address, (unsigned long long)tp, a, (unsigned long long)slots[0].tp);
    if (p->now < run) {
        utc(b, run);
        return ob_fail(d, OB_ERR_REFUSED,
                       "%s.onion: period %llu (starting %s) cannot be signed before %s (its "
                       "revision counter starts then)",
                       cs->address, (unsigned long long)tp, a, b);
    }
    return OB_OK;
}

static ob_err v2_periods_allowed(const ofl_plan *p, const ob_cfg_service *cs, uint32_t *tps,
                                 size_t *n, int64_t *window, ob_diag *d)
{
    ob_hsv2_slot slots[MAX_V2_SLOTS];
    uint8_t pid[10];
    size_t got = 0, ns = 0, i, j;
    ob_err err;

    *n = 0;
    if (ob_base32_decode(pid, sizeof(pid), &got, cs->address, strlen(cs->address)) != 0 ||
        got != sizeof(pid))
        return ob_fail(d, OB_ERR_INTERNAL, "%s: not a v2 address", cs->address);
    *window = (int64_t)cs->presign_window * 60;
    if (*window > OB_HSV2_PRESIGN_MAX_WINDOW)
        *window = OB_HSV2_PRESIGN_MAX_WINDOW;
    err = ob_hsv2_presign_periods((int64_t)p->now, pid, *window, slots, MAX_V2_SLOTS, &ns, d);
    if (err != OB_OK)
        return err;
    for (i = 0; i < ns; i++) {
        for (j = 0; j < *n && tps[j] != slots[i].time_period; j++)
            ;
        if (j == *n)
            tps[(*n)++] = slots[i].time_period;
    }
    return OB_OK;
}

/* Register (instance, descriptor, client key); *added when it is new (not judged yet). */
static ob_err backend_add(const ofl_plan *p, const ob_cfg_instance *ci, const ob_req_instance *ri,
                          long *ix, int *added, ob_diag *d)
{
    ofl_backends *bs = p->backends;
    const char *ck = ci->client_auth_key_path != NULL ? ci->client_auth_key_path : "";
    ob_iov k[3] = { { ci->address, strlen(ci->address) },
                    { ri->descriptor, ri->descriptor_len },
                    { ck, strlen(ck) + 1 } };

    *ix = ob_dedup_put(bs->ix, k, 3, added);
    if (*ix < 0)
        return ob_fail(d, OB_ERR_NOMEM, "out of memory");
    if (*added) {
        if (bs->n == bs->cap) {
            size_t nc = bs->cap ? 2 * bs->cap : 16;
            backend *v = realloc(bs->v, nc * sizeof(*v));
            if (v == NULL)
                return ob_fail(d, OB_ERR_NOMEM, "out of memory");
            bs->v = v;
            bs->cap = nc;
        }
        memset(&bs->v[bs->n], 0, sizeof(bs->v[0]));
        bs->v[bs->n].ci = ci;
        bs->v[bs->n].ri = ri;
        bs->n++;
    }
    return OB_OK;
}

/* Judge one entry: the same checks as the delegated signer online. */
static void backend_judge(const ofl_plan *p, backend *b)
{
    ob_diag e;

    /* The config checked the address and kept its key: no decoding again. */
    b->err =
        ob_hsv3_instance_verify_key(b->ci->key, b->ci->client_auth_key_path, b->ri->descriptor,
                                    b->ri->descriptor_len, &p->tpp, p->now, &b->desc, &b->tp, &e);
    if (b->err == OB_ERR_EXPIRED) {
        b->stale = 1;
        b->err = OB_OK;
    }
    if (b->err != OB_OK || b->stale)
        memcpy(b->msg, e.msg, sizeof(b->msg));
}

static ob_err judge_job(void *ctx, size_t i, unsigned slot, ob_diag *d)
{
    const ofl_plan *p = ctx;

    (void)d;
    (void)slot;
    backend_judge(p, &p->backends->v[i]);
    return OB_OK; /* a verdict, not a failure: check_service reports it in its turn */
}

/*
 * Before the checks go through the request in order: every v3 backend
 * descriptor they will judge, judged on every core, each distinct one once.
 * Only what decides the verdict is looked at here; the checks themselves,
 * and the order of their refusals, stay check_service's.
 */
static ob_err judge_backends(ofl_plan *p, const ob_config *cfg, ob_diag *d)
{
    const ob_request *req = p->req;
    size_t i, j;
    long ix;
    int added;
    ob_err err;

    for (i = 0; i < req->n_services; i++) {
        const ob_req_service *rs = &req->services[i];
        const ob_cfg_service *cs = ob_config_find_service(cfg, rs->address);
        if (cs == NULL || cs->version != 3 || rs->version != 3)
            continue;
        for (j = 0; j < rs->n_instances; j++) {
            const ob_req_instance *ri = &rs->instances[j];
            const ob_cfg_instance *ci = ob_cfg_service_find_instance(cs, ri->address);
            if (ci == NULL || ri->status != OB_INSTANCE_OK || ri->descriptor == NULL ||
                ri->fetched_at > p->now + p->skew ||
                ri->fetched_at + OFL_SIGN_MAX_DESC_AGE < p->now)
                continue;
            if ((err = backend_add(p, ci, ri, &ix, &added, d)) != OB_OK)
                return err;
        }
    }
    return ob_pool_run(p->backends->n, p->threads, judge_job, p, d);
}

/* The backend entry of (instance, descriptor, client key), judged on first use. */
static ob_err backend_of(const ofl_plan *p, const ob_cfg_instance *ci, const ob_req_instance *ri,
                         const backend **out, ob_diag *d)
{
    long i;
    int added;
    ob_err err;

    if ((err = backend_add(p, ci, ri, &i, &added, d)) != OB_OK)
        return err;
    if (added)
        backend_judge(p, &p->backends->v[i]);
    *out = &p->backends->v[i];
    return OB_OK;
}

static ob_err check_v3_instance(const ofl_plan *p, ofl_plan_inst *pi, ob_diag *d)
{
    const backend *b = NULL;
    ob_err err;

    if ((err = backend_of(p, pi->cfg, pi->req, &b, d)) != OB_OK)
        return err;
    if (b->err != OB_OK)
        return ob_fail(d, b->err, "%s", b->msg);
    if (b->stale) {
        pi->state = OFL_INST_STALE;
        snprintf(pi->note, sizeof(pi->note), "certificate expired: %.200s", b->msg);
        return OB_OK;
    }
    pi->state = OFL_INST_OK;
    pi->tp = b->tp;
    pi->revision = b->desc->revision;
    pi->n_intros = b->desc->n_intros;
    pi->desc = b->desc;
    return OB_OK;
}

static ob_err check_v2_instance(const ofl_plan *p, ofl_plan_inst *pi, ob_diag *d)
{
    const ob_req_instance *ri = pi->req;
    ob_hsv2_desc *desc = NULL;
    ob_hsv2_intro *ips = NULL;
    size_t nips = 0;
    uint8_t *cookie = NULL;
    ob_hsv2_auth auth = OB_HSV2_AUTH_UNKNOWN;
    ob_err err;

    if (pi->cfg->auth_cookie != NULL) {
        cookie = ob_secalloc(16);
        if (cookie == NULL)
            return ob_fail(d, OB_ERR_NOMEM, "out of memory");
        err = ob_hsv2_cookie_parse(pi->cfg->auth_cookie, strlen(pi->cfg->auth_cookie), cookie,
                                   &auth, d);
        if (err != OB_OK)
            goto out;
    }
    err = ob_hsv2_desc_parse((const char *)ri->descriptor, ri->descriptor_len, &desc, d);
    if (err != OB_OK)
        goto out;
    if (strcmp(desc->onion, pi->cfg->address) != 0) {
        err = ob_fail(d, OB_ERR_VERIFY, "the descriptor is for %s.onion", desc->onion);
        goto out;
    }
    err =
        ob_hsv2_desc_verify(desc, (int64_t)p->now, auth == OB_HSV2_AUTH_STEALTH ? cookie : NULL, d);
    if (err == OB_ERR_EXPIRED) {
        pi->state = OFL_INST_STALE;
        snprintf(pi->note, sizeof(pi->note), "%.200s", d->msg);
        err = OB_OK;
        goto out;
    }
    if (err != OB_OK)
        goto out;
    err = ob_hsv2_intro_decode(desc, cookie, &ips, &nips, d);
    if (err != OB_OK)
        goto out;
    pi->state = OFL_INST_OK;
    pi->n_intros = nips;
    pi->revision = desc->published > 0 ? (uint64_t)desc->published : 0;
out:
    free(ips);
    ob_hsv2_desc_free(desc);
    ob_secfree(cookie);
    return err;
}

static ob_err check_service(ofl_plan *p, ofl_plan_service *ps, ob_diag *d)
{
    const ob_cfg_service *cs = ps->cfg;
    const ob_req_service *rs = ps->req;
    ob_err err = OB_OK;
    size_t i, j;

    if (rs->version != cs->version)
        return ob_fail(d, OB_ERR_REFUSED, "%s.onion: the request says v%u, the key is v%d",
                       cs->address, rs->version, cs->version);
    if (rs->n_periods == 0)
        return ob_fail(d, OB_ERR_REFUSED, "%s.onion: the request names no period to sign",
                       cs->address);
    for (i = 0; i < rs->n_periods; i++)
        for (j = 0; j < i; j++)
            if (rs->periods[j].tp == rs->periods[i].tp)
                return ob_fail(d, OB_ERR_REFUSED, "%s.onion: period %llu is requested twice",
                               cs->address, (unsigned long long)rs->periods[i].tp);
    if (cs->version == 3) {
        ob_hsv3_slot slots[2];
        /*
         * A period that ended between collect and sign (a request carried
         * across at 11:55, signed at 12:05) is skipped, not refused: it
         * asks for nothing harmful, and the periods still ahead are what
         * the online side needs.  Only a request with nothing left is
         * refused.
         */
        ob_hsv3_publish_slots(p->now, &p->tpp, slots);
        for (i = 0; i < rs->n_periods; i++) {
            if (rs->periods[i].tp < slots[0].tp && ps->n_periods_over + 1 < rs->n_periods) {
                ps->period_over[i] = 1;
                ps->n_periods_over++;
                continue;
            }
            if ((err = v3_period_ok(p, cs, rs->periods[i].tp, d)) != OB_OK)
                return err;
        }
    } else {
        uint32_t tps[MAX_V2_SLOTS];
        size_t n = 0;
        int64_t window;
        if ((err = v2_periods_allowed(p, cs, tps, &n, &window, d)) != OB_OK)
            return err;
        for (i = 0; i < rs->n_periods; i++) {
            for (j = 0; j < n && tps[j] != rs->periods[i].tp; j++)
                ;
            if (j == n)
                return ob_fail(d, OB_ERR_REFUSED,
                               "%s.onion: period %llu is outside what a ceremony now may "
                               "pre-sign (presign window %u min)",
                               cs->address, (unsigned long long)rs->periods[i].tp,
                               cs->presign_window);
        }
    }
    ps->inst = calloc(cs->n_instances + 1, sizeof(*ps->inst));
    if (ps->inst == NULL)
        return ob_fail(d, OB_ERR_NOMEM, "out of memory");
    for (i = 0; i < cs->n_instances; i++) {
        ps->inst[i].cfg = &cs->instances[i];
        ps->inst[i].state = OFL_INST_NOT_IN_REQUEST;
        snprintf(ps->inst[i].note, sizeof(ps->inst[i].note), "not in the request");
    }
    /* Every instance the request names must be one of OUR instances. */
    for (i = 0; i < rs->n_instances; i++) {
        const ob_req_instance *ri = &rs->instances[i];
        const ob_cfg_instance *ci = ob_cfg_service_find_instance(cs, ri->address);
        ofl_plan_inst *pi;
        if (ci == NULL)
            return ob_fail(d, OB_ERR_REFUSED,
                           "%s.onion: instance %s.onion is not in this machine's config; "
                           "nothing was signed",
                           cs->address, ri->address);
        pi = &ps->inst[ci - cs->instances];
        if (pi->req != NULL)
            return ob_fail(d, OB_ERR_REFUSED, "%s.onion: instance %s.onion is listed twice",
                           cs->address, ri->address);
        pi->req = ri;
        if (ri->status == OB_INSTANCE_MISSING || ri->descriptor == NULL) {
            pi->state = OFL_INST_MISSING;
            /* The summary prints "<state>: <note>": the note says only why. */
            snprintf(pi->note, sizeof(pi->note), "%.200s",
                     ri->reason ? ri->reason : "no descriptor");
            continue;
        }
        if (ri->status == OB_INSTANCE_INVALID) {
            pi->state = OFL_INST_INVALID;
            snprintf(pi->note, sizeof(pi->note), "by the online side: %.200s",
                     ri->reason ? ri->reason : "no reason given");
            continue;
        }
        if (ri->fetched_at > p->now + p->skew) {
            char a[OB_TIME_STR], b[OB_TIME_STR];
            utc(a, ri->fetched_at);
            span(b, ri->fetched_at, p->now);
            return ob_fail(d, OB_ERR_REFUSED,
                           "%s.onion: instance %s.onion was fetched at %s, %s ahead of this "
                           "machine's clock: the clocks disagree",
                           cs->address, ri->address, a, b);
        }
        if (ri->fetched_at + OFL_SIGN_MAX_DESC_AGE < p->now) {
            char b[32];
            span(b, ri->fetched_at, p->now);
            pi->state = OFL_INST_STALE;
            snprintf(pi->note, sizeof(pi->note), "fetched %s ago (limit %d h)", b,
                     OFL_SIGN_MAX_DESC_AGE / 3600);
            continue;
        }
        err = cs->version == 3 ? check_v3_instance(p, pi, d) : check_v2_instance(p, pi, d);
        if (err != OB_OK) {
            ob_diag_prefix(d, "%s.onion: instance %s.onion: descriptor refused: ", cs->address,
                           ri->address);
            return err == OB_ERR_NOMEM || err == OB_ERR_IO ? err : OB_ERR_VERIFY;
        }
        if (pi->state == OFL_INST_OK &&
            ob_sha256_buf(pi->sha256, ri->descriptor, ri->descriptor_len) != 0)
            return ob_fail(d, OB_ERR_CRYPTO, "SHA-256 failed");
    }
    for (i = 0; i < cs->n_instances; i++) {
        const ofl_plan_inst *pi = &ps->inst[i];
        if (pi->state == OFL_INST_OK) {
            ps->n_ok++;
            ps->n_intros += pi->n_intros;
        } else if (pi->state == OFL_INST_STALE) {
            ps->n_stale++;
        } else {
            ps->n_missing++;
        }
    }
    if (ps->n_ok == 0 || ps->n_intros == 0)
        return ob_fail(d, OB_ERR_REFUSED,
                       "%s.onion: no valid instance (%zu missing or invalid, %zu stale); "
                       "nothing was signed",
                       cs->address, ps->n_missing, ps->n_stale);
    /* A taken online side could mark all but one backend missing and steer
     * every client to it; below the operator's floor nothing is signed. */
    if (ps->n_ok < cs->min_instances)
        return ob_fail(d, OB_ERR_REFUSED,
                       "%s.onion: %zu valid instance(s), fewer than min_instances %u (%zu missing "
                       "or invalid, %zu stale); nothing was signed",
                       cs->address, ps->n_ok, cs->min_instances, ps->n_missing, ps->n_stale);
    if (cs->version == 3) {
        size_t total = ps->n_intros;
        ps->n_groups = (total + OB_HSV3_MAX_INTROS - 1) / OB_HSV3_MAX_INTROS;
        if (ps->n_groups > OB_HSV3_MAX_GROUPS)
            ps->n_groups = OB_HSV3_MAX_GROUPS;
        ps->n_descriptors = ps->n_groups * (rs->n_periods - ps->n_periods_over);
    } else {
        /* Per period: 2 replicas, times 3 distinct ones with > 10 intro points. */
        ps->n_groups = ps->n_intros > OB_HSV2_MAX_INTROS ? OB_HSV2_HSDIRS_PER_REP : 1;
        ps->n_descriptors = ps->n_groups * OB_HSV2_REPLICAS * rs->n_periods;
    }
    return OB_OK;
}

/*
 * What the online side will read of the request, for the compact entries:
 * the descriptors judged here, except those that needed a client key (the
 * online side has none, so their intro points go in full records).
 */
static ob_err lend_sources(ofl_plan *p, ob_diag *d)
{
    size_t i, j;
    ob_err err;

    if ((err = ob_req_sources_new(p->req, &p->sources, d)) != OB_OK)
        return err;
    for (i = 0; i < p->n_svc; i++) {
        const ofl_plan_service *ps = &p->svc[i];
        size_t si = (size_t)(ps->req - p->req->services);
        for (j = 0; ps->cfg->version == 3 && j < ps->cfg->n_instances; j++) {
            const ofl_plan_inst *pi = &ps->inst[j];
            const ob_hsv3_desc *desc = pi->desc;
            if (pi->state != OFL_INST_OK || desc == NULL || desc->client_auth_used)
                continue;
            err = ob_req_sources_lend(p->sources, si, (size_t)(pi->req - ps->req->instances), desc,
                                      d);
            if (err != OB_OK)
                return err;
        }
    }
    return OB_OK;
}

ob_err ofl_sign_check(const ob_config *cfg, const ob_request *req, uint64_t now, ofl_plan **out,
                      ob_diag *d)
{
    return ofl_sign_check_threads(cfg, req, now, 0, out, d);
}

ob_err ofl_sign_check_threads(const ob_config *cfg, const ob_request *req, uint64_t now,
                              unsigned threads, ofl_plan **out, ob_diag *d)
{
    ofl_plan *p = NULL;
    uint64_t skew = cfg->max_clock_skew;
    char a[OB_TIME_STR], b[OB_TIME_STR], c[OB_TIME_STR];
    ob_err err = OB_OK;
    size_t i, j;

    *out = NULL;
    utc(b, now);
    if (req->created > now + skew) {
        utc(a, req->created);
        span(c, req->created, now);
        return ob_fail(d, OB_ERR_REFUSED,
                       "the clocks disagree: the request was made at %s by the online machine's "
                       "clock, %s ahead of this machine's (%s; max_clock_skew %llu s); check both "
                       "clocks",
                       a, c, b, (unsigned long long)skew);
    }
    if (req->consensus.valid_after > now + skew) {
        utc(a, req->consensus.valid_after);
        return ob_fail(d, OB_ERR_REFUSED,
                       "the clocks disagree: the request's consensus is valid after %s, later "
                       "than this machine's clock (%s) allows; check both clocks",
                       a, b);
    }
    if (req->created + OFL_SIGN_MAX_REQUEST_AGE < now) {
        utc(a, req->created);
        span(c, req->created, now);
        return ob_fail(d, OB_ERR_REFUSED,
                       "the request was made at %s, %s before this machine's clock (%s); the "
                       "limit is %d h: collect a fresh one, or check the clocks",
                       a, c, b, OFL_SIGN_MAX_REQUEST_AGE / 3600);
    }
    if (req->consensus.tp_length_min != cfg->time_period_length)
        return ob_fail(d, OB_ERR_REFUSED,
                       "the request's time period length is %u min, this machine's config says "
                       "%u (time_period_length)",
                       req->consensus.tp_length_min, cfg->time_period_length);
    if (req->consensus.tp_offset_min >= req->consensus.tp_length_min)
        return ob_fail(d, OB_ERR_REFUSED, "the request's time period offset %u is not below %u",
                       req->consensus.tp_offset_min, req->consensus.tp_length_min);
    if (req->n_services == 0)
        return ob_fail(d, OB_ERR_REFUSED, "the request names no service");
    p = calloc(1, sizeof(*p));
    if (p == NULL || (p->svc = calloc(req->n_services, sizeof(*p->svc))) == NULL) {
        free(p);
        return ob_fail(d, OB_ERR_NOMEM, "out of memory");
    }
    p->now = now;
    p->skew = skew;
    p->threads = threads;
    p->req = req;
    if ((p->backends = calloc(1, sizeof(*p->backends))) == NULL ||
        (p->backends->ix = ob_dedup_new()) == NULL) {
        err = ob_fail(d, OB_ERR_NOMEM, "out of memory");
        goto out;
    }
    p->tpp.length_min = cfg->time_period_length;
    p->tpp.offset_min = req->consensus.tp_offset_min;
    if ((err = judge_backends(p, cfg, d)) != OB_OK)
        goto out;
    for (i = 0; i < req->n_services; i++) {
        const ob_req_service *rs = &req->services[i];
        const ob_cfg_service *cs = ob_config_find_service(cfg, rs->address);
        ofl_plan_service *ps = &p->svc[p->n_svc];
        if (cs == NULL) {
            err = ob_fail(d, OB_ERR_REFUSED,
                          "service %s.onion is not in this machine's config; nothing was signed",
                          rs->address);
            goto out;
        }
        for (j = 0; j < p->n_svc; j++)
            if (p->svc[j].cfg == cs) {
                err =
                    ob_fail(d, OB_ERR_REFUSED, "service %s.onion is requested twice", rs->address);
                goto out;
            }
        ps->cfg = cs;
        ps->cfg_index = (size_t)(cs - cfg->services);
        ps->req = rs;
        p->n_svc++;
        err = check_service(p, ps, d);
        if (err != OB_OK)
            goto out;
        p->n_descriptors += ps->n_descriptors;
    }
    p->n_not_requested = cfg->n_services - p->n_svc;
    if ((err = lend_sources(p, d)) != OB_OK)
        goto out;
    *out = p;
    p = NULL;
out:
    ofl_plan_free(p);
    return err;
}

/* ---- summary -------------------------------------------------------------- */

static void period_dates(const ofl_plan *p, int version, const char *addr, uint64_t tp,
                         uint64_t *from, uint64_t *until)
{
    if (version == 3) {
        /* Periods reach here checked (v3_period_ok); 0 would show as 1970. */
        if (ob_hsv3_tp_start(tp, &p->tpp, from) != 0)
            *from = 0;
        *until = *from + p->tpp.length_min * 60;
    } else {
        uint8_t pid[10];
        size_t got = 0;
        *from = *until = 0;
        if (ob_base32_decode(pid, sizeof(pid), &got, addr, strlen(addr)) == 0 && got == 10) {
            *from = (uint64_t)ob_hsv2_period_start((uint32_t)tp, pid);
            *until = *from + OB_HSV2_PERIOD;
        }
    }
}

/* v3: the first moment a slot the HSDirs need has nothing this ceremony signs. */
static void v3_next_ceremony(const ofl_plan *p, const ofl_plan_service *ps, ob_hsv3_gap *g)
{
    ob_hsv3_cover c[OB_BUNDLE_MAX_PERIODS];
    const ob_req_service *rs = ps->req;
    size_t j, n = 0;

    for (j = 0; j < rs->n_periods && n < OB_BUNDLE_MAX_PERIODS; j++) {
        uint64_t exp;
        if (ps->period_over[j])
            continue;
        /* What sign_v3 gives each descriptor: valid from the SRV run start
         * for two periods, and its certificate's expiry. */
        c[n].tp = rs->periods[j].tp;
        if (ob_hsv3_desc_window(c[n].tp, &p->tpp, &c[n].from, &c[n].until) != 0)
            continue; /* refused by v3_period_ok; cannot be here */
        exp = (uint64_t)ob_hsv3_cert_expiry_hours(c[n].tp, &p->tpp, ps->cfg->descriptor_lifetime) *
              3600;
        if (exp < c[n].until)
            c[n].until = exp;
        n++;
    }
    ob_hsv3_cover_gap(&p->tpp, c, n, p->now, g);
}

uint64_t ofl_sign_next_ceremony(const ofl_plan *p, ob_hsv3_gap *why)
{
    uint64_t best = UINT64_MAX;
    size_t i, j;

    if (why != NULL)
        why->slot = -1;

    for (i = 0; i < p->n_svc; i++) {
        const ob_req_service *rs = p->svc[i].req;
        ob_hsv3_gap g;
        uint64_t need;
        g.slot = -1;
        if (p->svc[i].cfg->version == 3) {
            v3_next_ceremony(p, &p->svc[i], &g);
            need = g.at;
        } else {
            uint64_t end = 0, from, until;
            for (j = 0; j < rs->n_periods; j++) {
                period_dates(p, 2, rs->address, rs->periods[j].tp, &from, &until);
                if (until > end)
                    end = until;
            }
            /* v2 descriptors carry this ceremony's hour as publication-time. */
            if (end > p->now + (uint64_t)OB_HSV2_PRESIGN_MAX_WINDOW)
                end = p->now + (uint64_t)OB_HSV2_PRESIGN_MAX_WINDOW;
            need = end;
        }
        if (need < best) {
            best = need;
            if (why != NULL)
                *why = g;
        }
    }
    return best;
}

static const char *state_word(ofl_inst_state s)
{
    switch (s) {
    case OFL_INST_OK:
        return "ok";
    case OFL_INST_MISSING:
        return "missing";
    case OFL_INST_INVALID:
        return "invalid";
    case OFL_INST_STALE:
        return "stale";
    default:
        return "absent";
    }
}

/*
 * Which key files sign what: the person learns how many passphrases to
 * expect, and a shared host sees its store's services counted.  The three
 * files serving most services are named; the rest are counted.
 */
static void key_files_line(const ofl_plan *p, ob_buf *out)
{
    const char **path = NULL;
    size_t *count = NULL, nf = 0, i, j, top[3] = { SIZE_MAX, SIZE_MAX, SIZE_MAX };

    path = calloc(p->n_svc + 1, sizeof(*path));
    count = calloc(p->n_svc + 1, sizeof(*count));
    if (path == NULL || count == NULL)
        goto out; /* the line is a convenience; the summary stands without it */
    for (i = 0; i < p->n_svc; i++) {
        const char *kp = p->svc[i].cfg->key_path ? p->svc[i].cfg->key_path : "?";
        for (j = 0; j < nf && strcmp(path[j], kp) != 0; j++)
            ;
        if (j == nf)
            path[nf++] = kp;
        count[j]++;
    }
    for (j = 0; j < nf; j++) {
        size_t t = j, k, tmp;
        for (k = 0; k < 3; k++)
            if (top[k] == SIZE_MAX || count[t] > count[top[k]]) {
                tmp = top[k];
                top[k] = t;
                t = tmp;
                if (t == SIZE_MAX)
                    break;
            }
    }
    ob_buf_printf(out, "\nKey files: %zu for %zu service(s):", nf, p->n_svc);
    for (i = 0; i < 3 && top[i] != SIZE_MAX; i++)
        ob_buf_printf(out, "%s %s (%zu)", i ? "," : "", path[top[i]], count[top[i]]);
    if (nf > 3)
        ob_buf_printf(out, " and %zu more", nf - 3);
    ob_buf_printf(out, "\n");
out:
    free(path);
    free(count);
}

void ofl_sign_summary(const ofl_plan *p, const ob_config *cfg, ob_buf *out)
{
    const ob_request *r = p->req;
    char hex[OB_BUNDLE_HEX_LEN], shrt[OB_BUNDLE_SHORT_LEN], a[OB_TIME_STR], b[OB_TIME_STR],
        c[OB_TIME_STR];
    size_t i, j, k, nv3 = 0, nv2 = 0, ok = 0, miss = 0, stale = 0, problems = 0;
    uint64_t next;
    ob_hsv3_gap gap;

    ob_bundle_digest_hex(r->digest, hex);
    ob_bundle_digest_short(r->digest, shrt);
    utc(a, r->created);
    utc(b, p->now);
    span(c, r->created, p->now);
    ob_buf_printf(out, "Signing request %s\n  (%s)\n", shrt, hex);
    ob_buf_printf(out, "  made %s by the online clock; this machine says %s (%s %s)\n", a, b, c,
                  r->created > p->now ? "ahead" : "old");
    utc(a, r->consensus.valid_after);
    ob_buf_printf(out, "  consensus valid-after %s; time period %llu min, offset %llu min\n\n", a,
                  (unsigned long long)p->tpp.length_min, (unsigned long long)p->tpp.offset_min);

    /* Every distinct period once, with its dates. */
    ob_buf_printf(out, "Time periods to sign:\n");
    for (i = 0; i < p->n_svc; i++) {
        const ob_req_service *rs = p->svc[i].req;
        for (j = 0; j < rs->n_periods; j++) {
            int seen = 0;
            uint64_t from, until;
            if (p->svc[i].period_over[j])
                continue;
            for (k = 0; k < i && !seen; k++) {
                size_t m;
                const ob_req_service *o = p->svc[k].req;
                for (m = 0; m < o->n_periods; m++)
                    seen |= o->version == rs->version && o->periods[m].tp == rs->periods[j].tp &&
                            (rs->version == 3 || strcmp(o->address, rs->address) == 0);
            }
            if (seen)
                continue;
            period_dates(p, rs->version, rs->address, rs->periods[j].tp, &from, &until);
            utc(a, from);
            utc(b, until);
            if (rs->version == 3)
                ob_buf_printf(out, "  v3 period %llu: %s .. %s\n",
                              (unsigned long long)rs->periods[j].tp, a, b);
            else
                ob_buf_printf(out, "  v2 period %llu of %s.onion: %s .. %s\n",
                              (unsigned long long)rs->periods[j].tp, rs->address, a, b);
        }
    }
    for (i = 0, k = 0; i < p->n_svc; i++)
        k += p->svc[i].n_periods_over;
    if (k > 0) {
        ob_buf_printf(out, "Skipped, already over by this machine's clock (not signed):\n");
        for (i = 0; i < p->n_svc; i++)
            for (j = 0; j < p->svc[i].req->n_periods; j++)
                if (p->svc[i].period_over[j])
                    ob_buf_printf(out, "  %s.onion period %llu\n", p->svc[i].cfg->address,
                                  (unsigned long long)p->svc[i].req->periods[j].tp);
    }
    ob_buf_printf(out, "\nServices (instances ok/missing/stale, intro points, descriptors):\n");
    for (i = 0; i < p->n_svc; i++) {
        const ofl_plan_service *ps = &p->svc[i];
        if (ps->cfg->version == 3)
            nv3++;
        else
            nv2++;
        ok += ps->n_ok;
        miss += ps->n_missing;
        stale += ps->n_stale;
        ob_buf_printf(out, "  %s.onion v%d  %zu/%zu/%zu  %zu intro points  %zu descriptors",
                      ps->cfg->address, ps->cfg->version, ps->n_ok, ps->n_missing, ps->n_stale,
                      ps->n_intros, ps->n_descriptors);
        if (ps->cfg->version == 3)
            ob_buf_printf(out, " (%zu per period, %zu intro points each)\n", ps->n_groups,
                          ps->n_intros < OB_HSV3_MAX_INTROS ? ps->n_intros
                                                            : (size_t)OB_HSV3_MAX_INTROS);
        else
            ob_buf_printf(out, "\n");
        for (j = 0; j < ps->cfg->n_instances; j++)
            problems += ps->inst[j].state != OFL_INST_OK;
    }
    if (problems > 0) {
        ob_buf_printf(out, "\nInstances not used (%zu):\n", problems);
        for (i = 0; i < p->n_svc; i++) {
            const ofl_plan_service *ps = &p->svc[i];
            for (j = 0; j < ps->cfg->n_instances; j++) {
                const ofl_plan_inst *pi = &ps->inst[j];
                if (pi->state == OFL_INST_OK)
                    continue;
                ob_buf_printf(out, "  %.16s...: %s.onion%s%s%s %s: %s\n", ps->cfg->address,
                              pi->cfg->address, pi->cfg->name ? " (" : "",
                              pi->cfg->name ? pi->cfg->name : "", pi->cfg->name ? ")" : "",
                              state_word(pi->state), pi->note);
            }
        }
    }
    if (p->n_older > 0) {
        /* Only with --resign: otherwise ofl_sign_check_replay refused. */
        ob_buf_printf(out,
                      "\nOlder than descriptors signed before (--resign given; replay by "
                      "content) (%zu):\n",
                      p->n_older);
        for (i = 0; i < p->n_svc; i++) {
            const ofl_plan_service *ps = &p->svc[i];
            for (j = 0; j < ps->cfg->n_instances; j++) {
                const ofl_plan_inst *pi = &ps->inst[j];
                if (pi->replay != OFL_REPLAY_OLDER)
                    continue;
                if (ps->cfg->version == 3)
                    ob_buf_printf(out, "  %.16s...: %s.onion older: period %llu revision %llu\n",
                                  ps->cfg->address, pi->cfg->address, (unsigned long long)pi->tp,
                                  (unsigned long long)pi->revision);
                else
                    ob_buf_printf(out, "  %.16s...: %s.onion older: published %llu\n",
                                  ps->cfg->address, pi->cfg->address,
                                  (unsigned long long)pi->revision);
            }
        }
    }
    key_files_line(p, out);
    if (p->n_not_requested > 0) {
        ob_buf_printf(out, "\nServices in this machine's config but not in the request (%zu):\n",
                      p->n_not_requested);
        for (i = 0; i < cfg->n_services; i++) {
            int in = 0;
            for (j = 0; j < p->n_svc && !in; j++)
                in = p->svc[j].cfg == &cfg->services[i];
            if (!in && cfg->services[i].address != NULL)
                ob_buf_printf(out, "  %s.onion (not signed)\n", cfg->services[i].address);
            else if (!in)
                ob_buf_printf(out, "  line %d, key %s (not unlocked, not signed)\n",
                              cfg->services[i].line,
                              cfg->services[i].key_path ? cfg->services[i].key_path : "?");
        }
    }
    {
        /* The span in which the online side may publish what is signed. */
        uint64_t lo = UINT64_MAX, hi = 0, from, until;
        for (i = 0; i < p->n_svc; i++) {
            const ob_req_service *rs = p->svc[i].req;
            for (j = 0; j < rs->n_periods; j++) {
                if (p->svc[i].period_over[j])
                    continue;
                if (rs->version == 3) {
                    if (ob_hsv3_desc_window(rs->periods[j].tp, &p->tpp, &from, &until) != 0)
                        continue; /* refused by v3_period_ok; cannot be here */
                } else {
                    period_dates(p, 2, rs->address, rs->periods[j].tp, &from, &until);
                    from = from > 3600 ? from - 3600 : 0;
                }
                lo = from < lo ? from : lo;
                hi = until > hi ? until : hi;
            }
        }
        utc(a, lo);
        utc(b, hi);
        ob_buf_printf(out, "\nValidity: the signed descriptors may be published from %s until %s\n",
                      a, b);
    }
    next = ofl_sign_next_ceremony(p, &gap);
    utc(a, next);
    ob_buf_printf(out,
                  "Totals: %zu service(s) (%zu v3, %zu v2), %zu descriptors to sign; instances "
                  "%zu ok, %zu missing or invalid, %zu stale\n",
                  p->n_svc, nv3, nv2, p->n_descriptors, ok, miss, stale);
    ob_buf_printf(out, "Next ceremony needed by: %s", a);
    if (gap.slot >= 0)
        /* v3: the next period cannot be signed before its SRV run starts,
         * which is the moment the second slot needs it. */
        ob_buf_printf(out,
                      " (the %s descriptor then needs period %llu, which can be signed from "
                      "then on)",
                      gap.slot ? "second" : "first", (unsigned long long)gap.tp);
    ob_buf_put_str(out, "\n");
}

/* ---- signing --------------------------------------------------------------- */

/*
 * The work of a ceremony, in jobs that run on any core (format/core/pool.h):
 * one per (v3 service, period) and one per v2 service.  A job writes its
 * descriptors into its own part; the parts are joined in job order, so the
 * response does not depend on which thread ran what.  Every random value a
 * descriptor needs comes from a seed derived from the ceremony's one master
 * seed, the service's index in the request, the period and the group.
 */
typedef struct sign_job {
    size_t svc;  /* index in p->svc */
    size_t per;  /* v3: index in the service's request periods */
    int version; /* 2 or 3 */
} sign_job;

typedef struct sign_ctx {
    const ofl_plan *p;
    const ofl_keyring *keys;
    const uint8_t *master_seed;  /* OFL_SIGN_SEED_LEN, secure */
    const ob_hsv3_desc ***descs; /* [svc]: the instances' descriptors, config order */
    ob_hsv3_selection **sel;     /* [svc] (v3) */
    sign_job *jobs;
    ob_response **parts; /* [job] */
    uint8_t **scratch;   /* [slot]: each thread's own guarded memory (SLOT_MEM bytes) */
} sign_ctx;

/* A period's blinded key, a descriptor's seed, a descriptor's signing key. */
#define SLOT_MEM (OFL_HSV3_PERIOD_MEM + OFL_HSV3_SEED_LEN + OFL_HSV3_SCRATCH_LEN)

#define SEED_DOMAIN "onionbalance-offline ceremony seed v1"

/* The seed of one descriptor: everything random in it derives from this. */
static int descriptor_seed(uint8_t out[OFL_HSV3_SEED_LEN], const uint8_t *master, size_t svc,
                           uint64_t tp, size_t group)
{
    uint8_t a[8], b[8], c[8];
    ob_iov v[5] = { { SEED_DOMAIN, sizeof(SEED_DOMAIN) - 1 },
                    { master, OFL_SIGN_SEED_LEN },
                    { a, 8 },
                    { b, 8 },
                    { c, 8 } };

    ob_store_u64(a, (uint64_t)svc);
    ob_store_u64(b, tp);
    ob_store_u64(c, (uint64_t)group);
    return ob_shake256(out, OFL_HSV3_SEED_LEN, v, 5);
}

/* Every group of one (service, period): one blinded key, one descriptor per group. */
static ob_err sign_v3_period(const sign_ctx *x, const sign_job *j, uint8_t *mem, ob_response *part,
                             ob_diag *d)
{
    const ofl_plan *p = x->p;
    const ofl_plan_service *ps = &p->svc[j->svc];
    const ob_cfg_service *cs = ps->cfg;
    const ofl_key *key = x->keys->by_service[ps->cfg_index];
    const ob_hsv3_selection *sel = x->sel[j->svc];
    uint64_t tp = ps->req->periods[j->per].tp, run = 0, run_end = 0;
    uint8_t *seed = mem + OFL_HSV3_PERIOD_MEM;
    ob_hsv3_slot slots[2];
    ofl_hsv3_period per;
    ob_err err;
    size_t g;

    /* v3_period_ok let only periods in range through. */
    if (ob_hsv3_desc_window(tp, &p->tpp, &run, &run_end) != 0)
        return ob_fail(d, OB_ERR_INTERNAL, "%s.onion: period %llu out of range", cs->address,
                       (unsigned long long)tp);
    ob_hsv3_publish_slots(p->now, &p->tpp, slots);
    /* The blinded key once per (service, period), for all of its groups. */
    err = ofl_hsv3_period_init_at(&per, mem, ofl_key_ed25519_expanded(key),
                                  ofl_key_ed25519_public(key), tp, &p->tpp, d);
    if (err != OB_OK) {
        ob_diag_prefix(d, "%s.onion period %llu: ", cs->address, (unsigned long long)tp);
        return err;
    }
    for (g = 0; g < sel->n_groups && err == OB_OK; g++) {
        ofl_hsv3_sign_in in;
        ob_resp_descriptor rd;
        ob_hsv3_compact c;
        uint8_t *text = NULL, *entry = NULL;
        size_t len = 0, elen = 0;
        uint64_t rev = 0;
        ob_buf revs;
        if (descriptor_seed(seed, x->master_seed, (size_t)(ps->req - p->req->services), tp, g) !=
            0) {
            err = ob_fail(d, OB_ERR_CRYPTO, "seed derivation failed");
            break;
        }
        memset(&in, 0, sizeof(in));
        memset(&c, 0, sizeof(c));
        ob_buf_init(&revs);
        in.compact = p->full ? NULL : &c;
        /* Revisions for the HSDirs to take until the window ends (hsv3_revs.h). */
        if (!p->full)
            in.revs_n = ob_hsv3_revs_plan(p->now, run, run_end, cs->descriptor_lifetime,
                                          (unsigned)g, &in.revs_first, &in.revs_step);
        if (in.revs_n > 0) {
            in.revs_counters = calloc(in.revs_n, sizeof(*in.revs_counters));
            in.revs_sigs = calloc(in.revs_n, sizeof(*in.revs_sigs));
            if (in.revs_counters == NULL || in.revs_sigs == NULL) {
                free(in.revs_counters);
                free(in.revs_sigs);
                err = ob_fail(d, OB_ERR_NOMEM, "out of memory");
                break; /* the period's blinded key is wiped below */
            }
        }
        in.master_exp = ofl_key_ed25519_expanded(key);
        in.master_pk = ofl_key_ed25519_public(key);
        in.tp = tp;
        in.period = &per;
        in.seed = seed;
        in.scratch = seed + OFL_HSV3_SEED_LEN;
        in.tpp = &p->tpp;
        in.now = p->now;
        in.rev_offset = (unsigned)g;
        in.lifetime_min = cs->descriptor_lifetime;
        in.intros = sel->groups[g].intros;
        in.n_intros = sel->groups[g].n;
        in.flow_control = ob_hsv3_group_flow_control(sel, g, x->descs[j->svc]);
        /* Signed and verified once there (its self-check). */
        err = ofl_hsv3_sign_descriptor(&in, &text, &len, &rev, d);
        if (err == OB_OK && in.revs_n > 0)
            err = ob_hsv3_revs_encode(in.revs_first, in.revs_step, in.revs_counters,
                                      (const uint8_t(*)[64])in.revs_sigs, in.revs_n, &revs, d);
        free(in.revs_counters);
        free(in.revs_sigs);
        if (err != OB_OK) {
            free(text);
            ob_buf_free(&revs);
            ob_diag_prefix(d, "%s.onion period %llu: ", cs->address, (unsigned long long)tp);
            break;
        }
        memset(&rd, 0, sizeof(rd));
        rd.service = cs->address;
        rd.version = 3;
        rd.tp = tp;
        rd.slot = tp == slots[0].tp ? 0 : 1;
        rd.group = (uint16_t)g;
        rd.group_count = (uint16_t)sel->n_groups;
        rd.valid_from = run;
        rd.valid_until = run_end;
        rd.revision = rev;
        rd.descriptor = text;
        rd.descriptor_len = len;
        if (!p->full) {
            /* Compact unless the online side could not rebuild it
             * (client authorization): then the full bytes go. */
            err = ob_hsv3_compact_make_with(&c, p->sources, (size_t)(ps->req - p->req->services),
                                            in.intros, in.n_intros, &entry, &elen, d);
            if (err == OB_OK) {
                rd.compact = entry;
                rd.compact_len = elen;
                /* Revisions are rebuilt from the entry: none without it. */
                rd.revisions = revs.p;
                rd.revisions_len = revs.len;
            } else if (err == OB_ERR_UNSUPPORTED) {
                err = OB_OK;
            } else {
                ob_diag_prefix(d, "%s.onion period %llu: compact form: ", cs->address,
                               (unsigned long long)tp);
            }
        }
        if (err == OB_OK)
            err = ob_response_add_descriptor(part, &rd);
        free(text);
        free(entry);
        ob_buf_free(&revs);
    }
    ob_wipe(seed, OFL_HSV3_SEED_LEN);
    ofl_hsv3_period_clear(&per);
    return err;
}

static ob_err sign_v2(const ofl_plan *p, const ofl_plan_service *ps, const ofl_key *key,
                      ob_response *resp, ob_diag *d)
{
    const ob_cfg_service *cs = ps->cfg;
    ofl_hsv2_backend *be = NULL;
    uint8_t(*cookies)[16] = NULL;
    ofl_hsv2_signed *sg = NULL;
    uint32_t tps[MAX_V2_SLOTS];
    size_t nb = 0, ns = 0, ntp = 0, i, j;
    int64_t window;
    ob_err err;

    err = v2_periods_allowed(p, cs, tps, &ntp, &window, d);
    if (err != OB_OK)
        return err;
    be = calloc(cs->n_instances + 1, sizeof(*be));
    cookies = ob_secalloc((cs->n_instances + 1) * 16);
    if (be == NULL || cookies == NULL) {
        err = ob_fail(d, OB_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (i = 0; i < cs->n_instances; i++) {
        const ofl_plan_inst *pi = &ps->inst[i];
        ob_hsv2_auth auth;
        if (pi->state != OFL_INST_OK)
            continue;
        be[nb].onion = pi->cfg->address;
        be[nb].text = (const char *)pi->req->descriptor;
        be[nb].len = pi->req->descriptor_len;
        if (pi->cfg->auth_cookie != NULL) {
            err = ob_hsv2_cookie_parse(pi->cfg->auth_cookie, strlen(pi->cfg->auth_cookie),
                                       cookies[nb], &auth, d);
            if (err != OB_OK)
                goto out;
            be[nb].cookie = cookies[nb];
        }
        nb++;
    }
    err = ofl_hsv2_sign_master(ofl_key_rsa(key), be, nb, (int64_t)p->now, window, &sg, &ns, d);
    if (err != OB_OK) {
        ob_diag_prefix(d, "%s.onion: ", cs->address);
        goto out;
    }
    for (i = 0; i < ns; i++) {
        ob_resp_descriptor rd;
        ob_hsv2_desc *check = NULL;
        int wanted = 0;
        for (j = 0; j < ps->req->n_periods; j++)
            wanted |= ps->req->periods[j].tp == sg[i].time_period;
        if (!wanted)
            continue;
        err = ob_hsv2_desc_parse(sg[i].text, sg[i].len, &check, d);
        if (err == OB_OK)
            err = ob_hsv2_desc_verify_for(check, (int64_t)p->now, NULL, sg[i].time_period,
                                          sg[i].replica, d);
        if (err == OB_OK && strcmp(check->onion, cs->address) != 0)
            err = ob_fail(d, OB_ERR_INTERNAL, "signed for the wrong address");
        memset(&rd, 0, sizeof(rd));
        rd.revision = check != NULL && check->published > 0 ? (uint64_t)check->published : 0;
        ob_hsv2_desc_free(check);
        if (err != OB_OK) {
            ob_diag_prefix(d, "%s.onion: own descriptor: ", cs->address);
            goto out;
        }
        rd.service = cs->address;
        rd.version = 2;
        rd.tp = sg[i].time_period;
        rd.slot = (uint8_t)sg[i].replica;
        rd.group = (uint16_t)(sg[i].hsdir_slot < 0 ? 0 : sg[i].hsdir_slot);
        rd.group_count = sg[i].hsdir_slot < 0 ? 1 : OB_HSV2_HSDIRS_PER_REP;
        rd.valid_from = (uint64_t)sg[i].use_from;
        rd.valid_until = (uint64_t)sg[i].use_until;
        rd.descriptor = (uint8_t *)sg[i].text;
        rd.descriptor_len = sg[i].len;
        err = ob_response_add_descriptor(resp, &rd);
        if (err != OB_OK)
            goto out;
    }
out:
    ofl_hsv2_signed_free(sg, ns);
    ob_secfree(cookies);
    free(be);
    return err;
}

static ob_err sign_job_run(void *ctx, size_t i, unsigned slot, ob_diag *d)
{
    const sign_ctx *x = ctx;
    const sign_job *j = &x->jobs[i];

    if (j->version == 3)
        return sign_v3_period(x, j, x->scratch[slot], x->parts[i], d);
    return sign_v2(x->p, &x->p->svc[j->svc], x->keys->by_service[x->p->svc[j->svc].cfg_index],
                   x->parts[i], d);
}

/* Move every descriptor of part to the end of resp (no copies; part is left empty). */
static ob_err join_part(ob_response *resp, ob_response *part, ob_diag *d)
{
    ob_resp_descriptor *v;

    if (part->n_descriptors == 0)
        return OB_OK;
    v = realloc(resp->descriptors,
                (resp->n_descriptors + part->n_descriptors) * sizeof(*resp->descriptors));
    if (v == NULL)
        return ob_fail(d, OB_ERR_NOMEM, "out of memory");
    resp->descriptors = v;
    memcpy(v + resp->n_descriptors, part->descriptors,
           part->n_descriptors * sizeof(*part->descriptors));
    resp->n_descriptors += part->n_descriptors;
    part->n_descriptors = 0;
    return OB_OK;
}

/* Before the jobs: the keys, each v3 service's descriptors and selection, the job list. */
static ob_err plan_jobs(sign_ctx *x, size_t *n_jobs, ob_diag *d)
{
    const ofl_plan *p = x->p;
    size_t i, j, n = 0;
    ob_err err;

    for (i = 0; i < p->n_svc; i++) {
        const ofl_plan_service *ps = &p->svc[i];
        const ofl_key *k = x->keys->by_service[ps->cfg_index];
        if (k == NULL || ofl_key_version(k) != ps->cfg->version)
            return ob_fail(d, OB_ERR_INTERNAL, "%s.onion: no key", ps->cfg->address);
        if (ps->cfg->version != 3) {
            x->jobs[n++] = (sign_job){ i, 0, 2 };
            continue;
        }
        x->descs[i] = calloc(ps->cfg->n_instances + 1, sizeof(*x->descs[i]));
        if (x->descs[i] == NULL)
            return ob_fail(d, OB_ERR_NOMEM, "out of memory");
        for (j = 0; j < ps->cfg->n_instances; j++)
            x->descs[i][j] = ps->inst[j].state == OFL_INST_OK ? ps->inst[j].desc : NULL;
        err = ob_hsv3_select(x->descs[i], ps->cfg->n_instances, 0, 0, &x->sel[i], d);
        if (err != OB_OK)
            return err;
        for (j = 0; j < ps->req->n_periods; j++)
            if (!ps->period_over[j])
                x->jobs[n++] = (sign_job){ i, j, 3 };
    }
    *n_jobs = n;
    return OB_OK;
}

ob_err ofl_sign_execute_seeded(const ofl_plan *p, const ofl_keyring *keys,
                               const uint8_t *master_seed, ob_response **out, ob_diag *d)
{
    ob_response *resp = NULL;
    sign_ctx x;
    size_t i, n_jobs = 0, max_jobs = 0, n_slots = 0;
    ob_err err = OB_OK;

    *out = NULL;
    memset(&x, 0, sizeof(x));
    x.p = p;
    x.keys = keys;
    x.master_seed = master_seed;
    for (i = 0; i < p->n_svc; i++)
        max_jobs += p->svc[i].cfg->version == 3 ? p->svc[i].req->n_periods : 1;
    resp = ob_response_new();
    x.descs = calloc(p->n_svc + 1, sizeof(*x.descs));
    x.sel = calloc(p->n_svc + 1, sizeof(*x.sel));
    x.jobs = calloc(max_jobs + 1, sizeof(*x.jobs));
    x.parts = calloc(max_jobs + 1, sizeof(*x.parts));
    if (resp == NULL || x.descs == NULL || x.sel == NULL || x.jobs == NULL || x.parts == NULL) {
        err = ob_fail(d, OB_ERR_NOMEM, "out of memory");
        goto out;
    }
    memcpy(resp->request_digest, p->req->digest, OB_BUNDLE_DIGEST_LEN);
    resp->created = p->now;
    if ((err = plan_jobs(&x, &n_jobs, d)) != OB_OK)
        goto out;
    for (i = 0; i < n_jobs; i++)
        if ((x.parts[i] = ob_response_new()) == NULL) {
            err = ob_fail(d, OB_ERR_NOMEM, "out of memory");
            goto out;
        }
    /* Each thread's secrets in guarded memory of its own, reused job after job. */
    n_slots = ob_pool_slots(n_jobs, p->threads);
    if ((x.scratch = calloc(n_slots, sizeof(*x.scratch))) == NULL) {
        err = ob_fail(d, OB_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (i = 0; i < n_slots; i++)
        if ((x.scratch[i] = ob_secalloc(SLOT_MEM)) == NULL) {
            err = ob_fail(d, OB_ERR_NOMEM, "out of secure memory");
            goto out;
        }
    if ((err = ob_pool_run(n_jobs, p->threads, sign_job_run, &x, d)) != OB_OK)
        goto out;
    for (i = 0; i < n_jobs && err == OB_OK; i++)
        err = join_part(resp, x.parts[i], d);
    if (err != OB_OK)
        goto out;
    *out = resp;
    resp = NULL;
out:
    for (i = 0; i < max_jobs && x.parts != NULL; i++)
        ob_response_free(x.parts[i]);
    for (i = 0; i < n_slots && x.scratch != NULL; i++)
        ob_secfree(x.scratch[i]);
    free(x.scratch);
    for (i = 0; i < p->n_svc && x.descs != NULL; i++) {
        free(x.descs[i]);
        ob_hsv3_selection_free(x.sel[i]);
    }
    free(x.parts);
    free(x.jobs);
    free(x.sel);
    free(x.descs);
    ob_response_free(resp);
    return err;
}

ob_err ofl_sign_execute(const ofl_plan *p, const ofl_keyring *keys, ob_response **out, ob_diag *d)
{
    uint8_t *seed = ob_secalloc(OFL_SIGN_SEED_LEN);
    ob_err err;

    *out = NULL;
    if (seed == NULL)
        return ob_fail(d, OB_ERR_NOMEM, "out of secure memory");
    /* Drawn once, before any job runs. */
    ob_random(seed, OFL_SIGN_SEED_LEN);
    err = ofl_sign_execute_seeded(p, keys, seed, out, d);
    ob_secfree(seed);
    return err;
}

/* ---- replay by content ---------------------------------------------------- */

static int cmp_backend(const void *a, const void *b)
{
    return strcmp(((const ofl_clog_backend *)a)->instance, ((const ofl_clog_backend *)b)->instance);
}

ob_err ofl_sign_backends_named(const ob_request *req, ofl_clog_backend **out, size_t *n, ob_diag *d)
{
    ofl_clog_backend *b = NULL;
    size_t i, j, total = 0, k = 0;

    *out = NULL;
    *n = 0;
    for (i = 0; i < req->n_services; i++)
        total += req->services[i].n_instances;
    b = calloc(total + 1, sizeof(*b));
    if (b == NULL)
        return ob_fail(d, OB_ERR_NOMEM, "out of memory");
    for (i = 0; i < req->n_services; i++)
        for (j = 0; j < req->services[i].n_instances; j++)
            b[k++].instance = req->services[i].instances[j].address;
    qsort(b, total, sizeof(*b), cmp_backend);
    /* One entry per address: a backend may serve several services. */
    for (i = 0, k = 0; i < total; i++)
        if (k == 0 || strcmp(b[k - 1].instance, b[i].instance) != 0)
            b[k++] = b[i];
    *out = b;
    *n = k;
    return OB_OK;
}

/* Which descriptor of this instance signed before is it? (enum ofl_replay) */
static int replay_of(const ofl_plan_service *ps, const ofl_plan_inst *pi,
                     const ofl_clog_backend *seen, size_t n_seen, const ofl_clog_backend **match)
{
    ofl_clog_backend key;
    const ofl_clog_backend *s;
    uint64_t tp = ps->cfg->version == 3 ? pi->tp : 0;
    int c;

    key.instance = pi->cfg->address;
    s = n_seen ? bsearch(&key, seen, n_seen, sizeof(*seen), cmp_backend) : NULL;
    *match = s;
    if (s == NULL || !s->found || s->version != ps->cfg->version)
        return OFL_REPLAY_NEW;
    c = ofl_clog_order_cmp(tp, pi->revision, s->tp, s->order);
    if (c < 0)
        return OFL_REPLAY_OLDER;
    /* The same order with other bytes is new content: only the backend can
     * sign it (v2 publication times may repeat within an hour). */
    if (c == 0 && memcmp(pi->sha256, s->sha256, 32) == 0)
        return OFL_REPLAY_SAME;
    return OFL_REPLAY_NEW;
}

/* The periods signed for ps, as the log's "service" line lists them: "20778,20779". */
static void periods_text(const ofl_plan_service *ps, ob_buf *out)
{
    size_t j, n;

    for (j = 0, n = 0; j < ps->req->n_periods; j++)
        if (!ps->period_over[j])
            ob_buf_printf(out, "%s%llu", n++ ? "," : "",
                          (unsigned long long)ps->req->periods[j].tp);
}

/* Add every service's periods to the set (ofl_clog_set_add_periods). */
static ob_err add_periods(const ofl_plan *p, ofl_clog_set *set, ob_diag *d)
{
    ob_err err = OB_OK;
    ob_buf t;
    size_t i;

    ob_buf_init(&t);
    for (i = 0; i < p->n_svc && err == OB_OK; i++) {
        ob_buf_reset(&t);
        periods_text(&p->svc[i], &t);
        if (!ob_buf_ok(&t))
            err = ob_fail(d, OB_ERR_NOMEM, "out of memory");
        else if (ofl_clog_set_add_periods(set, p->svc[i].cfg->address, (const char *)t.p, t.len) !=
                 0)
            err = ob_fail(d, OB_ERR_CRYPTO, "SHA-256 failed");
    }
    ob_buf_free(&t);
    return err;
}

ob_err ofl_sign_check_replay(ofl_plan *p, const ofl_clog_backend *seen, size_t n_seen,
                             const ofl_clog_result *logged, int allow, ob_diag *d)
{
    const ofl_plan_service *first_s = NULL;
    const ofl_plan_inst *first = NULL;
    const ofl_clog_backend *first_seen = NULL;
    ofl_clog_set used;
    size_t i, j;

    memset(&used, 0, sizeof(used));
    p->n_older = p->n_same = p->n_used = 0;
    p->same_set = NULL;
    for (i = 0; i < p->n_svc; i++) {
        const ofl_plan_service *ps = &p->svc[i];
        for (j = 0; j < ps->cfg->n_instances; j++) {
            ofl_plan_inst *pi = &ps->inst[j];
            const ofl_clog_backend *m = NULL;
            pi->replay = OFL_REPLAY_NEW;
            if (pi->state != OFL_INST_OK)
                continue;
            p->n_used++;
            if (ofl_clog_set_add(&used, ps->cfg->address, pi->cfg->address, pi->sha256) != 0)
                return ob_fail(d, OB_ERR_CRYPTO, "SHA-256 failed");
            pi->replay = replay_of(ps, pi, seen, n_seen, &m);
            if (pi->replay == OFL_REPLAY_SAME) {
                p->n_same++;
            } else if (pi->replay == OFL_REPLAY_OLDER && p->n_older++ == 0) {
                first_s = ps;
                first = pi;
                first_seen = m;
            }
        }
    }
    /* Exactly the descriptors an earlier ceremony used, for the same
     * periods: that request again, whatever its other fields say.  (A
     * subset is not: a backend that went away must be removable;
     * min_instances bounds how far.  Nor are the same descriptors for a
     * period not signed before: a new period became signable while the
     * backends kept theirs, and refusing it would leave the HSDirs with
     * nothing for that period.) */
    if (p->n_used > 0 && p->n_same == p->n_used) {
        ob_err err = add_periods(p, &used, d);
        if (err != OB_OK)
            return err;
    }
    for (i = 0; p->n_used > 0 && p->n_same == p->n_used && logged != NULL && i < logged->n_sets;
         i++) {
        if (ofl_clog_set_equal(&used, &logged->sets[i])) {
            p->same_set = &logged->sets[i];
            break;
        }
    }
    if (allow)
        return OB_OK;
    if (p->n_older > 0 && first_s->cfg->version == 3)
        return ob_fail(d, OB_ERR_REFUSED,
                       "%s.onion: instance %s.onion: its descriptor (period %llu, revision %llu) "
                       "is older than one signed in the ceremony of %s (period %llu, revision "
                       "%llu): a replayed or rolled-back request (%zu instance(s) in all); "
                       "collect a fresh one, or use --resign if signing older descriptors is "
                       "intended",
                       first_s->cfg->address, first->cfg->address, (unsigned long long)first->tp,
                       (unsigned long long)first->revision, first_seen->when,
                       (unsigned long long)first_seen->tp, (unsigned long long)first_seen->order,
                       p->n_older);
    if (p->n_older > 0)
        return ob_fail(d, OB_ERR_REFUSED,
                       "%s.onion: instance %s.onion: its descriptor (published %llu) is older "
                       "than one signed in the ceremony of %s (published %llu): a replayed or "
                       "rolled-back request (%zu instance(s) in all); collect a fresh one, or "
                       "use --resign if signing older descriptors is intended",
                       first_s->cfg->address, first->cfg->address,
                       (unsigned long long)first->revision, first_seen->when,
                       (unsigned long long)first_seen->order, p->n_older);
    if (p->same_set != NULL)
        return ob_fail(d, OB_ERR_REFUSED,
                       "this request offers exactly the %zu backend descriptor(s) signed in the "
                       "ceremony of %s, for the same periods: a replayed request, its other fields "
                       "(origin, created) "
                       "perhaps changed; collect a fresh one, or use --resign if signing the same "
                       "descriptors again is intended",
                       p->n_used, p->same_set->when);
    return OB_OK;
}

void ofl_sign_log_services(const ofl_plan *p, const ob_response *resp, ob_buf *out)
{
    size_t i, j, n;

    for (i = 0; i < p->n_svc; i++) {
        const ofl_plan_service *ps = &p->svc[i];
        ob_buf_printf(out, "service %s v%d periods ", ps->cfg->address, ps->cfg->version);
        periods_text(ps, out);
        for (j = 0, n = 0; j < resp->n_descriptors; j++)
            n += strcmp(resp->descriptors[j].service, ps->cfg->address) == 0;
        ob_buf_printf(out, " descriptors %zu instances %zu ok %zu missing %zu stale\n", n, ps->n_ok,
                      ps->n_missing, ps->n_stale);
    }
    /* What replay by content compares later requests with. */
    for (i = 0; i < p->n_svc; i++) {
        const ofl_plan_service *ps = &p->svc[i];
        for (j = 0; j < ps->cfg->n_instances; j++) {
            const ofl_plan_inst *pi = &ps->inst[j];
            if (pi->state == OFL_INST_OK)
                ofl_clog_backend_line(out, ps->cfg->address, pi->cfg->address, ps->cfg->version,
                                      pi->tp, pi->revision, pi->sha256);
        }
    }
}

ob_err ofl_sign_selfcheck(const ofl_plan *p, ob_response *resp, size_t *wire_len, size_t *n_compact,
                          size_t *frames, ob_diag *d)
{
    ob_response *back = NULL;
    ob_qr_frames *f = NULL;
    ob_buf wire;
    size_t i, cap = 0;
    ob_err err;

    ob_buf_init(&wire);
    *wire_len = 0;
    *n_compact = 0;
    *frames = 0;
    err = ob_response_serialize(resp, &wire, d);
    if (err != OB_OK)
        goto out;
    if (!ob_buf_ok(&wire)) {
        err = ob_fail(d, OB_ERR_NOMEM, "out of memory");
        goto out;
    }
    /* What the online side will do with the file: parse, rebuild.  It must
     * give back exactly the bytes signed (and verified) here. */
    err = ob_response_parse(wire.p, wire.len, &back, d);
    if (err == OB_OK)
        err = ob_response_rebuild_check(back, p->sources, resp, p->threads, d);
    if (err != OB_OK) {
        ob_diag_prefix(d, "self-check of the response: ");
        goto out;
    }
    for (i = 0; i < resp->n_descriptors; i++) {
        const ob_resp_descriptor *a = &resp->descriptors[i], *b = &back->descriptors[i];
        *n_compact += a->compact != NULL;
        if (a->revisions_len != b->revisions_len ||
            (a->revisions_len != 0 && memcmp(a->revisions, b->revisions, a->revisions_len) != 0)) {
            err = ob_fail(d, OB_ERR_INTERNAL,
                          "self-check: descriptor %zu (%s.onion): its revisions do not read back",
                          i, a->service);
            goto out;
        }
    }
    /* Every further revision rebuilt as the online side will (from revision
     * 0, the entry and the list read back equal above) and verified as a
     * client will verify it; the online side checks its signature only. */
    if ((err = ob_response_check_revisions_on(resp, &p->tpp, 1, p->threads, d)) != OB_OK) {
        ob_diag_prefix(d, "self-check of the response: ");
        goto out;
    }
    *wire_len = wire.len;
    err = ob_qrimage_capacity(OB_QR_DEFAULT_VERSION, OB_QR_DEFAULT_LEVEL, &cap, d);
    if (err == OB_OK)
        err = ob_qr_split(wire.p, wire.len, cap, &f, d);
    if (err == OB_OK)
        *frames = f->n;
out:
    ob_qr_frames_free(f);
    ob_response_free(back);
    ob_buf_free(&wire);
    return err;
}

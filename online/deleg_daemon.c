/*
 * deleg_daemon.c - the daemon's delegated mode: when to build, what to
 * upload, fallback and renewal (contract in deleg_daemon.h).
 */
#include "deleg_daemon.h"

#include "crypto.h"
#include "delegated.h"
#include "dkeys.h"
#include "hsv3_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RENEW_CHECK 3600 /* s between looks at the certified runs */

typedef struct dd_svc {
    char address[57];
    int seen;           /* still in the config */
    int active;         /* a period in use has a certified key */
    uint64_t key_tp[2]; /* the periods in use with a certified key, as last looked at */
    size_t n_key_tp;
    uint64_t certified_until, last_tp;
    int listed;
    onl_renew renew;
    /* the current build */
    ob_response *r;
    uint64_t built_at;
    uint64_t built_tp[2];
    size_t n_built_tp;
    uint8_t digest[32];
    uint64_t *uploaded_at; /* per descriptor of r: 0 not yet */
    uint8_t (*hsdir_key)[32];
    uint64_t next_due; /* the next build */
    uint64_t pub_first, pub_second;
    int fallback_logged;
    int announced;      /* "the delegated mode signs it" was logged */
    uint64_t warned_tp; /* the period in use without a key last warned about */
} dd_svc;

struct onl_dd {
    dd_svc *svc;
    size_t n, cap;
    ob_request *req;
    int new_req, wake;
    int any_active; /* some service is signed here: cycles are worth their consensus */
    uint64_t next_check, next_renew;
};

static void fmt_utc(char out[OB_TIME_STR], uint64_t t)
{
    (void)ob_time_format(out, OB_TIME_STR, t, OB_TIME_PLAIN);
}

static void build_clear(dd_svc *sv)
{
    ob_response_free(sv->r);
    free(sv->uploaded_at);
    free(sv->hsdir_key);
    sv->r = NULL;
    sv->uploaded_at = NULL;
    sv->hsdir_key = NULL;
    sv->n_built_tp = 0;
}

onl_dd *onl_dd_new(void)
{
    onl_dd *dd = calloc(1, sizeof(*dd));

    if (dd != NULL)
        dd->wake = 1;
    return dd;
}

void onl_dd_free(onl_dd *dd)
{
    size_t i;

    if (dd == NULL)
        return;
    for (i = 0; i < dd->n; i++)
        build_clear(&dd->svc[i]);
    free(dd->svc);
    ob_request_free(dd->req);
    free(dd);
}

void onl_dd_take_request(onl_dd *dd, ob_request *req)
{
    ob_request_free(dd->req);
    dd->req = req;
    dd->new_req = 1;
}

void onl_dd_wake(onl_dd *dd)
{
    dd->wake = 1;
    dd->next_renew = 0;
}

/* t moved by step s; 0 (never, or at once) stays as it is. */
static void shift(uint64_t *t, int64_t step)
{
    if (*t == 0 || *t == UINT64_MAX)
        return;
    if (step < 0)
        *t = *t > (uint64_t)-step ? *t - (uint64_t)-step : 1;
    else
        *t = *t < UINT64_MAX - (uint64_t)step ? *t + (uint64_t)step : UINT64_MAX - 1;
}

void onl_dd_clock_step(onl_dd *dd, int64_t step)
{
    size_t i, j;

    shift(&dd->next_check, step);
    shift(&dd->next_renew, step);
    for (i = 0; i < dd->n; i++) {
        dd_svc *sv = &dd->svc[i];
        shift(&sv->built_at, step);
        shift(&sv->next_due, step);
        shift(&sv->pub_first, step);
        shift(&sv->pub_second, step);
        shift(&sv->renew.next_warn, step);
        for (j = 0; sv->r != NULL && sv->uploaded_at != NULL && j < sv->r->n_descriptors; j++)
            shift(&sv->uploaded_at[j], step);
    }
}

int onl_dd_due(const onl_dd *dd, uint64_t now)
{
    return dd->wake || (dd->any_active && (dd->new_req || now >= dd->next_check));
}

static const dd_svc *find_svc(const onl_dd *dd, const char *address)
{
    size_t i;

    for (i = 0; i < dd->n; i++)
        if (strcmp(dd->svc[i].address, address) == 0)
            return &dd->svc[i];
    return NULL;
}

static dd_svc *get_svc(onl_dd *dd, const char *address)
{
    dd_svc *sv = (dd_svc *)find_svc(dd, address);

    if (sv != NULL)
        return sv;
    if (dd->n == dd->cap) {
        size_t nc = dd->cap ? 2 * dd->cap : 8;
        dd_svc *nv = realloc(dd->svc, nc * sizeof(*nv));
        if (nv == NULL)
            return NULL;
        dd->svc = nv;
        dd->cap = nc;
    }
    sv = &dd->svc[dd->n++];
    memset(sv, 0, sizeof(*sv));
    snprintf(sv->address, sizeof(sv->address), "%s", address);
    return sv;
}

int onl_dd_covers(const onl_dd *dd, const char *service, uint64_t tp)
{
    const dd_svc *sv = find_svc(dd, service);
    size_t i;

    if (sv == NULL || !sv->active || sv->r == NULL)
        return 0;
    for (i = 0; i < sv->n_built_tp; i++)
        if (sv->built_tp[i] == tp)
            return 1;
    return 0;
}

int onl_dd_active(const onl_dd *dd, const char *service)
{
    const dd_svc *sv = find_svc(dd, service);

    return sv != NULL && sv->active;
}

/* Does the delegated mode hold a certified key for (sv, tp), as last looked at? */
static int keyed(const dd_svc *sv, uint64_t tp)
{
    size_t i;

    if (sv == NULL || !sv->active)
        return 0;
    for (i = 0; i < sv->n_key_tp; i++)
        if (sv->key_tp[i] == tp)
            return 1;
    return 0;
}

int onl_dd_signs_all(const onl_dd *dd, const ob_req_service *rs)
{
    const dd_svc *sv = find_svc(dd, rs->address);
    size_t i;

    if (sv == NULL || !sv->active)
        return 0;
    for (i = 0; i < rs->n_periods; i++)
        if (!keyed(sv, rs->periods[i].tp))
            return 0;
    return 1;
}

uint64_t onl_dd_certified_until(const onl_dd *dd, const char *service)
{
    const dd_svc *sv = find_svc(dd, service);

    return sv != NULL && sv->listed ? sv->certified_until : 0;
}

void onl_dd_publish_times(const onl_dd *dd, const char *service, uint64_t *first, uint64_t *second)
{
    const dd_svc *sv = find_svc(dd, service);

    *first = sv != NULL ? sv->pub_first : 0;
    *second = sv != NULL ? sv->pub_second : 0;
}

/* How often a build is renewed: half the lifetime, at most DESCRIPTOR_UPLOAD_PERIOD. */
static uint64_t republish_every(const ob_config *cfg, const ob_cfg_service *cs)
{
    uint64_t every = (uint64_t)cs->descriptor_lifetime * 30;

    if (cfg->descriptor_upload_period != 0 && every > cfg->descriptor_upload_period)
        every = cfg->descriptor_upload_period;
    return every > 60 ? every : 60;
}

static uint64_t retry_after(const ob_config *cfg)
{
    return cfg->publish_check_interval > 0 ? cfg->publish_check_interval : 60;
}

static void hsdir_key(const onl_consensus *c, const onl_pub_item *it, uint8_t out[32])
{
    ob_iov v[ONL_PUB_MAX_HSDIRS];
    size_t j;

    for (j = 0; j < it->n_hsdirs; j++) {
        v[j].p = c->nodes[it->hsdirs[j]].rsa_id;
        v[j].n = 20;
    }
    if (ob_sha256(out, v, it->n_hsdirs) != 0)
        memset(out, 0, 32);
}

/* The build's input for cs at now. */
static void deleg_in(const onl_dd *dd, const onl_dd_env *env, const ob_cfg_service *cs,
                     const ob_tp_params *tpp, const onl_deleg_period *slots, uint64_t now,
                     onl_revs *revs, onl_deleg_in *in)
{
    size_t j;

    memset(in, 0, sizeof(*in));
    in->cfg = env->cfg;
    in->svc = cs;
    for (j = 0; dd->req != NULL && j < dd->req->n_services; j++)
        if (strcmp(dd->req->services[j].address, cs->address) == 0)
            in->rs = &dd->req->services[j];
    in->tpp = tpp;
    in->periods = slots;
    in->n_periods = 2;
    in->now = now;
    in->revs = revs;
}

/* Did the backends change since the build?  (After a new collection only.) */
static int backends_changed(const onl_dd *dd, const onl_dd_env *env, const ob_cfg_service *cs,
                            const dd_svc *sv, const ob_tp_params *tpp,
                            const onl_deleg_period *slots, uint64_t now)
{
    onl_deleg_in in;
    onl_deleg_out out;
    onl_revs revs;
    ob_diag d;

    onl_revs_init_memory(&revs);
    deleg_in(dd, env, cs, tpp, slots, now, &revs, &in);
    if (onl_deleg_check(&in, &out, &d) != OB_OK)
        return 1;
    return memcmp(out.intro_digest, sv->digest, 32) != 0;
}

/* Have the HSDirs of an uploaded descriptor changed?  (Then a new build goes to the new set.) */
static int hsdirs_changed(const onl_dd_env *env, dd_svc *sv, uint64_t now)
{
    onl_pub_plan *p = NULL;
    ob_diag d;
    size_t i;
    int changed = 0;

    if (onl_publish_plan(env->cfg, sv->r, env->c, now, &p, &d) != OB_OK)
        return 1;
    for (i = 0; i < p->n && !changed; i++) {
        uint8_t k[32];
        if (p->items[i].status != ONL_PUB_SEND || sv->uploaded_at[i] == 0)
            continue;
        hsdir_key(env->c, &p->items[i], k);
        changed = memcmp(k, sv->hsdir_key[i], 32) != 0;
    }
    onl_pub_plan_free(p);
    return changed;
}

static void log_fallback(const onl_dd_env *env, dd_svc *sv, const onl_deleg_period *slots,
                         const char *why)
{
    int has0 = env->ceremony_has(env->ctx, sv->address, slots[0].tp);
    int has1 = env->ceremony_has(env->ctx, sv->address, slots[1].tp);

    env->log(ONL_DD_WARNING,
             "%s.onion: no certified descriptor-signing key for the periods in use (%llu, %llu): "
             "%s; falling back to the ceremony mode: %s",
             sv->address, (unsigned long long)slots[0].tp, (unsigned long long)slots[1].tp, why,
             has0 && has1   ? "publishing the last signed response held"
             : has0 || has1 ? "a signed response held covers only one of them; run a ceremony "
                              "or install a certification"
                            : "no signed response is held for them; the service becomes "
                              "unreachable when the HSDirs drop its last descriptor; run a "
                              "ceremony or install a certification");
}

/* A new build of cs; the old one stays when nothing could be built. */
static void rebuild(onl_dd *dd, const onl_dd_env *env, const ob_cfg_service *cs, dd_svc *sv,
                    const ob_tp_params *tpp, const onl_deleg_period *slots, uint64_t now,
                    const char *why)
{
    onl_deleg_in in;
    onl_deleg_out out;
    onl_revs revs;
    ob_response *r = NULL;
    char revtext[128] = "";
    ob_diag d;
    ob_err err;
    size_t i;
    int k = 0;

    if (dd->req == NULL) {
        sv->next_due = now + retry_after(env->cfg);
        return; /* nothing collected yet */
    }
    if ((err = onl_revs_open(env->cfg, &revs, &d)) != OB_OK) {
        env->log(ONL_DD_ERROR, "%s.onion: revision counters: %s", cs->address, d.msg);
        sv->next_due = now + retry_after(env->cfg);
        return;
    }
    for (i = 0; i < 2 && err == OB_OK; i++)
        err = onl_revs_raise(&revs, cs->address, slots[i].tp,
                             env->ceremony_floor(env->ctx, cs->address, slots[i].tp), &d);
    r = ob_response_new();
    deleg_in(dd, env, cs, tpp, slots, now, &revs, &in);
    if (err == OB_OK && r == NULL)
        err = ob_fail(&d, OB_ERR_NOMEM, "out of memory");
    if (err == OB_OK)
        err = onl_deleg_build(&in, r, &out, &d);
    if (err != OB_OK) {
        env->log(ONL_DD_ERROR, "%s.onion: delegated build failed: %s", cs->address, d.msg);
        goto retry;
    }
    if (r->n_descriptors == 0) {
        env->log(ONL_DD_WARNING,
                 "%s.onion: nothing could be signed (%s%s%s); keeping what was "
                 "built before",
                 cs->address, out.why[0][0] ? out.why[0] : out.why[1], out.n_skipped ? "; " : "",
                 out.n_skipped ? out.skipped : "");
        goto retry;
    }
    /* The counters are on disk before any of them leaves this machine. */
    onl_revs_prune(&revs, tpp, now);
    if ((err = onl_revs_save(&revs, &d)) != OB_OK) {
        env->log(ONL_DD_ERROR, "%s.onion: revision counters not saved: %s", cs->address, d.msg);
        goto retry;
    }
    build_clear(sv);
    sv->r = r;
    r->created = now;
    r = NULL;
    sv->uploaded_at = calloc(sv->r->n_descriptors, sizeof(uint64_t));
    sv->hsdir_key = calloc(sv->r->n_descriptors, 32);
    if (sv->uploaded_at == NULL || sv->hsdir_key == NULL) {
        build_clear(sv);
        env->log(ONL_DD_ERROR, "out of memory");
        goto retry;
    }
    for (i = 0; i < 2; i++)
        if (out.state[i] == ONL_DELEG_BUILT)
            sv->built_tp[sv->n_built_tp++] = slots[i].tp;
        else
            env->log(ONL_DD_DEBUG, "%s.onion period %llu: %s", cs->address,
                     (unsigned long long)slots[i].tp, out.why[i]);
    memcpy(sv->digest, out.intro_digest, 32);
    sv->built_at = now;
    sv->next_due = now + republish_every(env->cfg, cs);
    sv->fallback_logged = 0;
    for (i = 0; i < sv->r->n_descriptors && k < (int)sizeof(revtext) - 24; i++)
        k += snprintf(revtext + k, sizeof(revtext) - (size_t)k, "%s%llu", i ? ", " : "",
                      (unsigned long long)sv->r->descriptors[i].revision);
    env->log(ONL_DD_INFO,
             "%s.onion: signed %zu descriptor(s) with the delegated keys (%s; %zu instance(s) "
             "used, %zu skipped%s%s; revision counters %s)",
             cs->address, sv->r->n_descriptors, why, out.n_ok, out.n_skipped,
             out.n_skipped ? ": " : "", out.n_skipped ? out.skipped : "", revtext);
    onl_revs_close(&revs);
    return;
retry:
    ob_response_free(r);
    onl_revs_close(&revs);
    sv->next_due = now + retry_after(env->cfg);
}

/* Upload what the current build has not uploaded yet; OB_ERR_NET when tor went away. */
static ob_err upload(const onl_dd_env *env, dd_svc *sv, uint64_t now)
{
    onl_pub_plan *p = NULL;
    ob_diag d;
    ob_err err;
    size_t i, due = 0;

    if ((err = onl_publish_plan(env->cfg, sv->r, env->c, now, &p, &d)) != OB_OK) {
        env->log(ONL_DD_ERROR, "%s.onion: own build refused by the publisher: %s", sv->address,
                 d.msg);
        build_clear(sv);
        sv->next_due = now;
        return OB_OK;
    }
    for (i = 0; i < p->n; i++) {
        onl_pub_item *it = &p->items[i];
        if (it->status != ONL_PUB_SEND || sv->uploaded_at[i] != 0) {
            it->n_hsdirs = 0;
            continue;
        }
        hsdir_key(env->c, it, sv->hsdir_key[i]);
        due++;
    }
    if (due == 0)
        goto out;
    err = onl_publish_run(env->ctl, sv->r, env->c, p, env->po, &d);
    if (err == OB_ERR_NET)
        goto out;
    err = OB_OK;
    for (i = 0; i < p->n; i++) {
        onl_pub_item *it = &p->items[i];
        const ob_resp_descriptor *rd = &sv->r->descriptors[it->desc];
        const char *why = NULL;
        size_t j, ok = 0;
        if (it->status != ONL_PUB_SEND || it->n_hsdirs == 0)
            continue;
        for (j = 0; j < it->n_hsdirs; j++) {
            ok += it->result[j] == ONL_PUB_UPLOADED;
            if (why == NULL && it->result[j] != ONL_PUB_UPLOADED)
                why = it->result[j] == ONL_PUB_FAILED ? it->reason[j] : "no answer";
        }
        sv->uploaded_at[i] = now;
        if (ok < it->n_hsdirs && sv->next_due > now + retry_after(env->cfg))
            sv->next_due = now + retry_after(env->cfg); /* the failed ones get a new build */
        if (it->slot)
            sv->pub_second = now;
        else
            sv->pub_first = now;
        env->log(ok ? ONL_DD_INFO : ONL_DD_WARNING,
                 "published %s.onion period %llu group %u/%u (%s descriptor, delegated, revision "
                 "%llu): uploaded to %zu of %zu HSDirs%s%s",
                 rd->service, (unsigned long long)rd->tp, rd->group + 1u, (unsigned)rd->group_count,
                 it->slot ? "second" : "first", (unsigned long long)rd->revision, ok, it->n_hsdirs,
                 why ? "; first failure: " : "", why ? why : "");
    }
out:
    onl_pub_plan_free(p);
    return err;
}

/* Which periods in use have a certified key now. */
static size_t keys_for(const ob_config *cfg, const char *address, const onl_deleg_period *slots,
                       uint64_t now, uint64_t *tps, char *why, size_t why_len)
{
    size_t i, n = 0;

    why[0] = '\0';
    for (i = 0; i < 2; i++) {
        onl_dkey *k = NULL;
        ob_diag d;
        ob_err err = onl_dkey_load(cfg, address, slots[i].tp, now, &k, &d);
        onl_dkey_free(k);
        if (err == OB_OK)
            tps[n++] = slots[i].tp;
        else if (why[0] == '\0' || err == OB_ERR_EXPIRED)
            snprintf(why, why_len, "%.250s", d.msg);
    }
    return n;
}

static void add_reason(char *buf, size_t cap, const char *r)
{
    size_t n = strlen(buf);

    snprintf(buf + n, cap - n, "%s%s", n ? ", " : "", r);
}

static ob_err svc_cycle(onl_dd *dd, const onl_dd_env *env, const ob_cfg_service *cs, dd_svc *sv,
                        const ob_tp_params *tpp, const onl_deleg_period *slots, uint64_t now)
{
    uint64_t tps[2];
    char why[256], reasons[160] = "";
    size_t n = keys_for(env->cfg, cs->address, slots, now, tps, why, sizeof(why));

    memcpy(sv->key_tp, tps, n * sizeof(tps[0]));
    sv->n_key_tp = n;
    if (n == 0) {
        if ((sv->active || sv->r != NULL) && !sv->fallback_logged) {
            log_fallback(env, sv, slots, why);
            sv->fallback_logged = 1;
        }
        sv->active = 0;
        sv->announced = 0;
        build_clear(sv);
        return OB_OK;
    }
    if (!sv->announced) {
        sv->announced = 1;
        if (n > 1)
            env->log(ONL_DD_INFO,
                     "%s.onion: certified keys for periods %llu and %llu: the delegated mode "
                     "signs it",
                     cs->address, (unsigned long long)tps[0], (unsigned long long)tps[1]);
        else
            env->log(ONL_DD_INFO,
                     "%s.onion: a certified key for period %llu: the delegated mode signs it",
                     cs->address, (unsigned long long)tps[0]);
    }
    if (n == 1 && sv->warned_tp != slots[tps[0] == slots[0].tp ? 1 : 0].tp) {
        const onl_deleg_period *gap = &slots[tps[0] == slots[0].tp ? 1 : 0];
        sv->warned_tp = gap->tp;
        env->log(ONL_DD_WARNING,
                 "%s.onion: no certified key for period %llu (%s descriptor): %s; the ceremony "
                 "mode publishes it%s",
                 cs->address, (unsigned long long)gap->tp, gap->slot ? "second" : "first", why,
                 env->ceremony_has(env->ctx, cs->address, gap->tp)
                     ? " (a signed response held covers it)"
                     : ", but no signed response held covers it");
    }
    sv->active = 1;
    /* Every reason that holds is named in the log (tests look for them). */
    if (sv->r == NULL) {
        add_reason(reasons, sizeof(reasons), "first build");
    } else {
        if (n != sv->n_built_tp || memcmp(tps, sv->built_tp, n * sizeof(tps[0])) != 0)
            add_reason(reasons, sizeof(reasons), "the periods in use changed");
        if (dd->new_req && backends_changed(dd, env, cs, sv, tpp, slots, now))
            add_reason(reasons, sizeof(reasons), "introduction points changed");
        if (now >= sv->next_due)
            add_reason(reasons, sizeof(reasons),
                       now >= sv->built_at + republish_every(env->cfg, cs)
                           ? "republishing before the HSDirs drop the last upload"
                           : "retrying after a failed upload");
        if (reasons[0] == '\0' && hsdirs_changed(env, sv, now))
            add_reason(reasons, sizeof(reasons), "responsible HSDirs changed");
    }
    if (reasons[0] != '\0')
        rebuild(dd, env, cs, sv, tpp, slots, now, reasons);
    if (sv->r == NULL)
        return OB_OK;
    return upload(env, sv, now);
}

static void renew_all(onl_dd *dd, const onl_dd_env *env, const ob_tp_params *tpp, uint64_t now)
{
    size_t i;

    for (i = 0; i < env->cfg->n_services; i++) {
        const ob_cfg_service *cs = &env->cfg->services[i];
        onl_dkey_list l;
        dd_svc *sv;
        ob_diag d;
        char until[OB_TIME_STR], due[OB_TIME_STR], written[512];
        uint64_t due_t = 0, pending_tp, pending_at;
        uint8_t pending_dg[32];
        int a, pending_read;
        if (cs->version != 3 || cs->address == NULL || (sv = get_svc(dd, cs->address)) == NULL)
            continue;
        memset(&l, 0, sizeof(l));
        if (onl_dkeys_list(env->cfg, cs->address, tpp, now, &l, &d) != OB_OK) {
            env->log(ONL_DD_ERROR, "%s.onion: delegated key store: %s", cs->address, d.msg);
            continue;
        }
        sv->listed = l.n > 0;
        sv->certified_until = l.n > 0 ? l.certified_until : 0;
        sv->last_tp = l.last_tp;
        pending_tp = l.pending_last_tp;
        pending_read = l.pending_read;
        pending_at = l.pending_created;
        memcpy(pending_dg, l.pending_digest, sizeof(pending_dg));
        onl_dkey_list_free(&l);
        if (!sv->listed)
            continue; /* never certified: the ceremony mode, no renewal */
        a = onl_renew_step(&sv->renew, sv->last_tp, tpp, env->cfg->delegate_renew_days, now);
        if (a == ONL_RENEW_NONE)
            continue;
        fmt_utc(until, sv->certified_until);
        if (ob_hsv3_tp_start(sv->last_tp, tpp, &due_t) != 0)
            due_t = UINT64_MAX; /* shown as out of range, never as a date */
        fmt_utc(due, due_t);
        if (a == ONL_RENEW_WARN) {
            env->log(ONL_DD_WARNING,
                     "%s.onion: the delegated certification runs out at %s UTC (last certified "
                     "period %llu starts %s UTC) and no new one is installed: take the "
                     "key-certification request in the outbox to the offline machine "
                     "(ob-offline certify)",
                     cs->address, until, (unsigned long long)sv->last_tp, due);
            continue;
        }
        if (pending_tp > sv->last_tp) {
            /* A request reaching further already waits for its response (its keys are
             * pending in the store): written before this daemon started, by it before a
             * restart or by delegate request.  Another one would only be a second thing
             * to carry across and compare. */
            char made[OB_TIME_STR], shrt[OB_BUNDLE_SHORT_LEN] = "unreadable";
            fmt_utc(made, pending_at);
            if (pending_read)
                ob_bundle_digest_short(pending_dg, shrt);
            onl_renew_done(&sv->renew, 1, now);
            env->log(ONL_DD_WARNING,
                     "%s.onion: the delegated certification runs out at %s UTC (last certified "
                     "period %llu starts %s UTC); a key-certification request up to period %llu "
                     "(digest %s, made %s UTC) is waiting for its response: take it to the "
                     "offline machine (ob-offline certify), or make a new one with ob-online "
                     "delegate request if it is lost",
                     cs->address, until, (unsigned long long)sv->last_tp, due,
                     (unsigned long long)pending_tp, shrt, pending_read ? made : "?");
            continue;
        }
        if (env->cert_request == NULL || env->outbox == NULL) {
            env->log(ONL_DD_WARNING,
                     "%s.onion: the delegated certification runs out at %s UTC: renew it with "
                     "ob-online delegate request%s",
                     cs->address, until,
                     env->outbox == NULL ? " (no outbox to write it to: --outbox, outbox:)" : "");
            onl_renew_done(&sv->renew, 1, now);
            continue;
        }
        if (env->cert_request(env->ctx, env->cfg, cs->address, env->outbox, written,
                              sizeof(written), &d) != OB_OK) {
            env->log(ONL_DD_ERROR, "%s.onion: renewal request not written: %s", cs->address, d.msg);
            onl_renew_done(&sv->renew, 0, now);
            continue;
        }
        onl_renew_done(&sv->renew, 1, now);
        env->log(ONL_DD_WARNING,
                 "%s.onion: the delegated certification runs out at %s UTC (last certified period "
                 "%llu starts %s UTC): wrote key-certification request %s; take it to the "
                 "offline machine (ob-offline certify) and compare the digest with its summary",
                 cs->address, until, (unsigned long long)sv->last_tp, due, written);
    }
}

ob_err onl_dd_cycle(onl_dd *dd, const onl_dd_env *env, uint64_t now)
{
    ob_tp_params tpp = env->c->tp;
    onl_deleg_period slots[2];
    uint64_t next = now + retry_after(env->cfg);
    ob_err err = OB_OK;
    size_t i, k;

    onl_deleg_slots(env->c->valid_after, &tpp, slots);
    for (i = 0; i < dd->n; i++)
        dd->svc[i].seen = 0;
    if (now >= dd->next_renew) {
        renew_all(dd, env, &tpp, now);
        dd->next_renew = now + RENEW_CHECK;
    }
    for (i = 0; i < env->cfg->n_services && err == OB_OK; i++) {
        const ob_cfg_service *cs = &env->cfg->services[i];
        dd_svc *sv;
        if (cs->version != 3 || cs->address == NULL)
            continue;
        if ((sv = get_svc(dd, cs->address)) == NULL) {
            env->log(ONL_DD_ERROR, "out of memory");
            break;
        }
        sv->seen = 1;
        err = svc_cycle(dd, env, cs, sv, &tpp, slots, now);
        if (sv->r != NULL && sv->next_due < next)
            next = sv->next_due;
    }
    if (err == OB_ERR_NET) {
        dd->next_check = now; /* again once tor is back */
        return err;
    }
    /* Services no longer in the config. */
    dd->any_active = 0;
    for (i = k = 0; i < dd->n; i++) {
        if (dd->svc[i].seen) {
            dd->any_active |= dd->svc[i].active;
            dd->svc[k++] = dd->svc[i];
        } else {
            build_clear(&dd->svc[i]);
        }
    }
    dd->n = k;
    dd->next_check = next > now ? next : now + 1;
    dd->wake = 0;
    dd->new_req = 0;
    return OB_OK;
}

void onl_dd_scan(onl_dd *dd, const ob_config *cfg, const ob_request *req, uint64_t now)
{
    ob_tp_params tpp = { req->consensus.tp_length_min, req->consensus.tp_offset_min };
    onl_deleg_period slots[2];
    size_t i;

    if (tpp.length_min == 0)
        return;
    onl_deleg_slots(req->consensus.valid_after, &tpp, slots);
    for (i = 0; i < cfg->n_services; i++) {
        const ob_cfg_service *cs = &cfg->services[i];
        uint64_t tps[2];
        char why[256];
        dd_svc *sv;
        size_t n;
        if (cs->version != 3 || cs->address == NULL || (sv = get_svc(dd, cs->address)) == NULL)
            continue;
        n = keys_for(cfg, cs->address, slots, now, tps, why, sizeof(why));
        memcpy(sv->key_tp, tps, n * sizeof(tps[0]));
        sv->n_key_tp = n; /* none: the ceremony request keeps all its periods */
        if (n == 0)
            continue; /* a service that lost its keys falls back in the next cycle */
        if (!sv->active)
            dd->wake = 1; /* the cycle says so, and builds */
        sv->active = 1;
        dd->any_active = 1;
    }
}

ob_err onl_dd_filter_request(const onl_dd *dd, const ob_request *req, ob_request **out, ob_diag *d)
{
    ob_request *r = NULL;
    size_t i, j;
    ob_err err = OB_OK;

    *out = NULL;
    r = ob_request_new();
    if (r == NULL)
        return ob_fail(d, OB_ERR_NOMEM, "out of memory");
    r->created = req->created;
    r->consensus = req->consensus;
    memset(&r->consensus.ext, 0, sizeof(r->consensus.ext));
    if (req->origin != NULL)
        err = ob_bundle_set_text(&r->origin, req->origin);
    for (i = 0; i < req->n_services && err == OB_OK; i++) {
        const ob_req_service *s = &req->services[i];
        const dd_svc *sv = find_svc(dd, s->address);
        ob_req_service *ns = NULL;
        /* A period the delegated mode has no key for (a certification that
         * runs out: the current period certified, the next one not) is
         * still the ceremony's: only the keyed periods leave the request. */
        if (onl_dd_signs_all(dd, s))
            continue;
        err = ob_request_add_service(r, s->address, s->version, &ns);
        for (j = 0; j < s->n_periods && err == OB_OK; j++)
            if (!keyed(sv, s->periods[j].tp))
                err = ob_req_service_add_period(ns, s->periods[j].tp, s->periods[j].valid_from,
                                                s->periods[j].valid_until);
        for (j = 0; j < s->n_instances && err == OB_OK; j++) {
            const ob_req_instance *in = &s->instances[j];
            err = ob_req_service_add_instance(ns, in->address, in->name, in->status, in->reason,
                                              in->fetched_at, in->descriptor, in->descriptor_len);
        }
    }
    if (err != OB_OK) {
        ob_request_free(r);
        return ob_fail(d, err, "out of memory");
    }
    if (r->n_services == 0) {
        ob_request_free(r);
        return OB_OK;
    }
    *out = r;
    return OB_OK;
}

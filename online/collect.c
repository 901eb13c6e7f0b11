/*
 * collect.c - the source-independent core of `ob-online collect`: verify
 * what a fetcher brings for each configured instance and write it into a
 * signing request with the periods to sign (collect.h).
 */
#include "collect.h"

#include "cli.h"
#include "dedup.h"
#include "encode.h"
#include "fileio.h"
#include "hsv2.h"
#include "hsv3_common.h"
#include "hsv3_desc.h"
#include "onion.h"
#include "secmem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_V2_SLOTS 32

void onl_collect_clock_facts(const ob_config *cfg, uint64_t now, ob_consensus_facts *f)
{
    unsigned len = cfg != NULL && cfg->time_period_length != 0 ? cfg->time_period_length
                                                               : OB_CFG_TP_LENGTH_DEFAULT;

    memset(f, 0, sizeof(*f));
    f->valid_after = now - now % 3600;
    f->fresh_until = f->valid_after + 3600;
    f->valid_until = f->valid_after + 3 * 3600;
    f->tp_length_min = len;
    /* Live: 720 of 1440 (12 voting intervals of 60 min).  Without a
     * consensus we keep that ratio; docs/signing.rst says so. */
    f->tp_offset_min = len / 2;
}

/* v3: blinded for one of the periods around now (its certificate says which), then the full checks.
 */
static ob_err verify_v3(const ob_cfg_instance *in, const uint8_t *p, size_t n,
                        const ob_tp_params *tpp, uint64_t now, char *why, size_t why_len)
{
    uint8_t A[32];
    uint64_t cur = ob_hsv3_tp_num(now, tpp);
    ob_hsv3_period_key cands[3];
    ob_hsv3_verify_opts o;
    ob_hsv3_reason reason = OB_HSV3_OK;
    ob_hsv3_desc *desc = NULL;
    ob_diag d;
    ob_err err;

    err = ob_onion_v3_decode(A, in->address, strlen(in->address), &d);
    if (err != OB_OK)
        goto out;
    memset(cands, 0, sizeof(cands));
    cands[0].tp = cur;
    cands[1].tp = cur + 1;
    cands[2].tp = cur - 1;
    memset(&o, 0, sizeof(o));
    o.now = now;
    o.reason = &reason;
    err = ob_hsv3_desc_verify_any(p, n, A, cands, 3, tpp, &o, &desc, &d);
    /* The online side holds no client keys: a descriptor whose inner layer
     * needs one is checked up to that layer here and in full offline. */
    if (err != OB_OK && reason == OB_HSV3_NEED_CLIENT_AUTH)
        err = OB_OK;
out:
    if (err != OB_OK)
        snprintf(why, why_len, "%s", d.msg);
    ob_hsv3_desc_free(desc);
    ob_wipe(&d, sizeof(d));
    return err;
}

static ob_err verify_v2(const ob_cfg_instance *in, const uint8_t *p, size_t n, uint64_t now,
                        char *why, size_t why_len)
{
    ob_hsv2_desc *desc = NULL;
    uint8_t cookie[16];
    const uint8_t *ck = NULL;
    ob_hsv2_auth auth = OB_HSV2_AUTH_UNKNOWN;
    ob_diag d;
    ob_err err;

    if (in->auth_cookie != NULL) {
        err = ob_hsv2_cookie_parse(in->auth_cookie, strlen(in->auth_cookie), cookie, &auth, &d);
        if (err != OB_OK)
            goto out;
        if (auth == OB_HSV2_AUTH_STEALTH)
            ck = cookie;
    }
    err = ob_hsv2_desc_parse((const char *)p, n, &desc, &d);
    if (err != OB_OK)
        goto out;
    if (strcmp(desc->onion, in->address) != 0) {
        err = ob_fail(&d, OB_ERR_VERIFY, "descriptor is for %s.onion, not this instance",
                      desc->onion);
        goto out;
    }
    err = ob_hsv2_desc_verify(desc, (int64_t)now, ck, &d);
out:
    if (err != OB_OK)
        snprintf(why, why_len, "%s", d.msg);
    ob_hsv2_desc_free(desc);
    ob_wipe(cookie, sizeof(cookie));
    return err;
}

static ob_err add_v3_periods(ob_req_service *rs, const ob_consensus_facts *f, ob_diag *d)
{
    ob_tp_params tpp = { f->tp_length_min, f->tp_offset_min };
    ob_hsv3_slot slots[2];
    ob_err err = OB_OK;
    int i;

    if (ob_hsv3_publish_slots(f->valid_after, &tpp, slots) != 0)
        return ob_fail(d, OB_ERR_RANGE, "%s: no time period at valid-after %llu", rs->address,
                       (unsigned long long)f->valid_after);
    for (i = 0; i < 2 && err == OB_OK; i++) {
        uint64_t start = 0;
        if (ob_hsv3_tp_start(slots[i].tp, &tpp, &start) != 0)
            return ob_fail(d, OB_ERR_RANGE, "%s: time period %llu is out of range", rs->address,
                           (unsigned long long)slots[i].tp);
        err = ob_req_service_add_period(rs, slots[i].tp, start, start + tpp.length_min * 60);
    }
    if (err != OB_OK)
        ob_diag_prefix(d, "%s: ", rs->address);
    return err;
}

static ob_err add_v2_periods(ob_req_service *rs, const ob_cfg_service *s, uint64_t now, ob_diag *d)
{
    ob_hsv2_slot slots[MAX_V2_SLOTS];
    uint8_t pid[10];
    size_t n = 0, i, j, got = 0;
    int64_t window = (int64_t)s->presign_window * 60;
    ob_err err;

    if (ob_base32_decode(pid, sizeof(pid), &got, rs->address, strlen(rs->address)) != 0 ||
        got != sizeof(pid))
        return ob_fail(d, OB_ERR_MALFORMED, "%s: not a v2 address", rs->address);
    if (window > OB_HSV2_PRESIGN_MAX_WINDOW)
        window = OB_HSV2_PRESIGN_MAX_WINDOW;
    err = ob_hsv2_presign_periods((int64_t)now, pid, window, slots, MAX_V2_SLOTS, &n, d);
    if (err != OB_OK)
        return err;
    /* One request period per time period, spanning both replicas' use. */
    for (i = 0; i < n && err == OB_OK; i++) {
        int64_t from = slots[i].use_from, until = slots[i].use_until;
        int seen = 0;
        for (j = 0; j < i; j++)
            seen |= slots[j].time_period == slots[i].time_period;
        if (seen)
            continue;
        for (j = i + 1; j < n; j++) {
            if (slots[j].time_period != slots[i].time_period)
                continue;
            if (slots[j].use_from < from)
                from = slots[j].use_from;
            if (slots[j].use_until > until)
                until = slots[j].use_until;
        }
        if (from < 0 || until <= from)
            return ob_fail(d, OB_ERR_INTERNAL, "%s: bad presign slot", rs->address);
        err = ob_req_service_add_period(rs, slots[i].time_period, (uint64_t)from, (uint64_t)until);
    }
    return err;
}

/*
 * One fetch and one verdict per distinct instance per collect, however many
 * services name it: keyed by version, address and (v2) client cookie.
 */
typedef struct fetched {
    uint8_t status;
    char why[OB_BUNDLE_MAX_TEXT];
    uint8_t *desc;
    size_t len;
    uint64_t at;
} fetched;

typedef struct fetch_cache {
    ob_dedup *ix;
    fetched *v;
    size_t n, cap;
} fetch_cache;

static void cache_free(fetch_cache *c)
{
    size_t i;

    for (i = 0; i < c->n; i++)
        free(c->v[i].desc);
    free(c->v);
    ob_dedup_free(c->ix);
}

static ob_err fetch_once(fetch_cache *c, const ob_cfg_service *s, const ob_cfg_instance *in,
                         const ob_tp_params *tpp, uint64_t now, onl_collect_fetch_fn fetch,
                         void *ctx, const fetched **out, ob_diag *d)
{
    const char *ck = in->auth_cookie != NULL ? in->auth_cookie : "";
    uint8_t v = (uint8_t)s->version;
    ob_iov k[3] = { { &v, 1 }, { in->address, strlen(in->address) }, { ck, strlen(ck) + 1 } };
    fetched *f;
    long i;
    int added;
    ob_err err;

    if ((i = ob_dedup_put(c->ix, k, 3, &added)) < 0)
        return ob_fail(d, OB_ERR_NOMEM, "out of memory");
    if (!added) {
        *out = &c->v[i];
        return OB_OK;
    }
    if (c->n == c->cap) {
        size_t nc = c->cap ? 2 * c->cap : 16;
        fetched *nv = realloc(c->v, nc * sizeof(*nv));
        if (nv == NULL)
            return ob_fail(d, OB_ERR_NOMEM, "out of memory");
        c->v = nv;
        c->cap = nc;
    }
    f = &c->v[c->n++];
    memset(f, 0, sizeof(*f));
    f->at = now;
    err = fetch(ctx, s, in, &f->desc, &f->len, &f->at, f->why, sizeof(f->why), d);
    if (err == OB_ERR_NOTFOUND) {
        f->status = OB_INSTANCE_MISSING;
        free(f->desc);
        f->desc = NULL;
        f->len = 0;
    } else if (err != OB_OK) {
        return err;
    } else if ((s->version == 3
                    ? verify_v3(in, f->desc, f->len, tpp, now, f->why, sizeof(f->why))
                    : verify_v2(in, f->desc, f->len, now, f->why, sizeof(f->why))) != OB_OK) {
        f->status = OB_INSTANCE_INVALID;
    } else {
        f->status = OB_INSTANCE_OK;
        f->why[0] = '\0';
    }
    *out = f;
    return OB_OK;
}

ob_err onl_collect_build(const ob_config *cfg, const ob_consensus_facts *facts, uint64_t now,
                         onl_collect_fetch_fn fetch, void *ctx, ob_request **out,
                         onl_collect_stats *stats, ob_diag *d)
{
    ob_request *r = NULL;
    fetch_cache cache;
    ob_tp_params tpp;
    ob_err err = OB_OK;
    size_t i, j;

    *out = NULL;
    memset(stats, 0, sizeof(*stats));
    if (facts->tp_length_min == 0 || facts->tp_offset_min >= facts->tp_length_min)
        return ob_fail(d, OB_ERR_RANGE, "consensus facts: time period length %u, offset %u",
                       facts->tp_length_min, facts->tp_offset_min);
    tpp.length_min = facts->tp_length_min;
    tpp.offset_min = facts->tp_offset_min;
    memset(&cache, 0, sizeof(cache));
    r = ob_request_new();
    if (r == NULL || (cache.ix = ob_dedup_new()) == NULL) {
        ob_request_free(r);
        return ob_fail(d, OB_ERR_NOMEM, "out of memory");
    }
    r->created = now;
    r->consensus = *facts;
    memset(&r->consensus.ext, 0, sizeof(r->consensus.ext));
    err = ob_bundle_set_text(&r->origin, "ob-online " OB_VERSION);
    if (err != OB_OK)
        goto out;
    for (i = 0; i < cfg->n_services; i++) {
        const ob_cfg_service *s = &cfg->services[i];
        ob_req_service *rs = NULL;
        size_t ok = 0;
        if (s->address == NULL) {
            err = ob_fail(d, OB_ERR_MALFORMED,
                          "%s:%d: this service names a key, not an address: collect needs the "
                          "online config",
                          cfg->path, s->line);
            goto out;
        }
        err = ob_request_add_service(r, s->address, (uint8_t)s->version, &rs);
        if (err != OB_OK)
            goto out;
        err = s->version == 3 ? add_v3_periods(rs, facts, d) : add_v2_periods(rs, s, now, d);
        if (err != OB_OK)
            goto out;
        for (j = 0; j < s->n_instances; j++) {
            const ob_cfg_instance *in = &s->instances[j];
            const fetched *f = NULL;
            if ((err = fetch_once(&cache, s, in, &tpp, now, fetch, ctx, &f, d)) != OB_OK)
                goto out;
            if (f->status == OB_INSTANCE_MISSING) {
                stats->missing++;
            } else if (f->status == OB_INSTANCE_INVALID) {
                stats->invalid++;
            } else {
                stats->ok++;
                ok++;
            }
            /* An invalid descriptor is kept: the offline side shows the
             * reason, and a person can look at the bytes (inspect). */
            err = ob_req_service_add_instance(rs, in->address, in->name, f->status,
                                              f->why[0] != '\0' ? f->why : NULL, f->at,
                                              f->status == OB_INSTANCE_MISSING ? NULL : f->desc,
                                              f->status == OB_INSTANCE_MISSING ? 0 : f->len);
            if (err != OB_OK)
                goto out;
        }
        stats->services++;
        if (ok == 0)
            stats->services_empty++;
    }
    /* One copy in memory of each descriptor several services carry (the
     * request carries it once too, whatever this does: bundle.h). */
    if ((err = ob_request_share_descriptors(r, d)) != OB_OK)
        goto out;
    *out = r;
    r = NULL;
out:
    cache_free(&cache);
    ob_request_free(r);
    return err;
}

ob_err onl_collect_fetch_from_dir(void *ctx, const ob_cfg_service *s, const ob_cfg_instance *in,
                                  uint8_t **desc, size_t *len, uint64_t *fetched_at, char *why,
                                  size_t why_len, ob_diag *d)
{
    const char *dir = ctx;
    char path[OB_CFG_MAX_PATH + 80];
    struct stat st;
    ob_diag rd;
    ob_err err;

    (void)s;
    if ((size_t)snprintf(path, sizeof(path), "%s/%s.desc", dir, in->address) >= sizeof(path))
        return ob_fail(d, OB_ERR_RANGE, "%s: path too long", dir);
    if (lstat(path, &st) != 0) {
        snprintf(why, why_len, "no file %s.desc", in->address);
        return OB_ERR_NOTFOUND;
    }
    err = ob_file_read(path, ONL_COLLECT_MAX_DESC, desc, len, &rd);
    if (err != OB_OK) {
        /* Too large, a symlink, not a regular file: the instance is missing
         * and the reason goes into the request. */
        snprintf(why, why_len, "%s", rd.msg);
        return OB_ERR_NOTFOUND;
    }
    *fetched_at = st.st_mtime > 0 ? (uint64_t)st.st_mtime : *fetched_at;
    return OB_OK;
}

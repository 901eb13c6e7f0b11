/*
 * collect.c - the source-independent core of `ob-online collect`: verify
 * what a fetcher brings for each configured instance and write it into a
 * signing request with the periods to sign (collect.h).
 */
#include "collect.h"

#include "cli.h"
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

/* v3: which period around now was it blinded for, then the full checks. */
static ob_err verify_v3(const ob_cfg_instance *in, const uint8_t *p, size_t n,
                        const ob_tp_params *tpp, uint64_t now, char *why, size_t why_len)
{
    uint8_t A[32];
    uint64_t tps[3], cur = ob_hsv3_tp_num(now, tpp);
    size_t which = 0;
    ob_hsv3_verify_opts o;
    ob_hsv3_reason reason = OB_HSV3_OK;
    ob_hsv3_desc *desc = NULL;
    ob_diag d;
    ob_err err;

    err = ob_onion_v3_decode(A, in->address, strlen(in->address), &d);
    if (err != OB_OK)
        goto out;
    tps[0] = cur - 1;
    tps[1] = cur;
    tps[2] = cur + 1;
    err = ob_hsv3_desc_find_tp(p, n, A, tps, 3, tpp, &which, &d);
    if (err != OB_OK)
        goto out;
    memset(&o, 0, sizeof(o));
    o.now = now;
    o.reason = &reason;
    err = ob_hsv3_desc_verify(p, n, A, tps[which], tpp, &o, &desc, &d);
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

ob_err onl_collect_build(const ob_config *cfg, const ob_consensus_facts *facts, uint64_t now,
                         onl_collect_fetch_fn fetch, void *ctx, ob_request **out,
                         onl_collect_stats *stats, ob_diag *d)
{
    ob_request *r = NULL;
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
    r = ob_request_new();
    if (r == NULL)
        return ob_fail(d, OB_ERR_NOMEM, "out of memory");
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
            uint8_t *desc = NULL;
            size_t len = 0;
            uint64_t at = now;
            char why[OB_BUNDLE_MAX_TEXT];
            uint8_t status;
            why[0] = '\0';
            err = fetch(ctx, s, in, &desc, &len, &at, why, sizeof(why), d);
            if (err == OB_ERR_NOTFOUND) {
                status = OB_INSTANCE_MISSING;
                stats->missing++;
            } else if (err != OB_OK) {
                goto out;
            } else if ((s->version == 3
                            ? verify_v3(in, desc, len, &tpp, now, why, sizeof(why))
                            : verify_v2(in, desc, len, now, why, sizeof(why))) != OB_OK) {
                status = OB_INSTANCE_INVALID;
                stats->invalid++;
            } else {
                status = OB_INSTANCE_OK;
                why[0] = '\0';
                stats->ok++;
                ok++;
            }
            /* An invalid descriptor is kept: the offline side shows the
             * reason, and a person can look at the bytes (inspect). */
            err = ob_req_service_add_instance(rs, in->address, in->name, status,
                                              why[0] != '\0' ? why : NULL, at,
                                              status == OB_INSTANCE_MISSING ? NULL : desc,
                                              status == OB_INSTANCE_MISSING ? 0 : len);
            free(desc);
            if (err != OB_OK)
                goto out;
        }
        stats->services++;
        if (ok == 0)
            stats->services_empty++;
    }
    *out = r;
    r = NULL;
out:
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

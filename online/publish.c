/*
 * publish.c - plan and upload a signed response's descriptors (publish.h).
 */
#include "publish.h"

#include "encode.h"
#include "fetch.h"
#include "hsv2.h"
#include "hsv3_cert.h"
#include "hsv3_desc.h"
#include "hsv3_select.h"
#include "obtime.h"
#include "onion.h"
#include "revisions.h"
#include "secmem.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void onl_pub_plan_free(onl_pub_plan *p)
{
    if (p == NULL)
        return;
    free(p->items);
    free(p);
}

const char *onl_pub_status_name(onl_pub_status s)
{
    switch (s) {
    case ONL_PUB_SEND:
        return "in force";
    case ONL_PUB_SKIP_PERIOD:
        return "not in force";
    case ONL_PUB_SKIP_WINDOW:
        return "outside its window";
    case ONL_PUB_SKIP_EXPIRED:
        return "expired";
    case ONL_PUB_SKIP_V2:
        return "v2, not through this tor";
    case ONL_PUB_SKIP_NO_HSDIRS:
        return "no HSDirs";
    }
    return "?";
}

int onl_publish_slot_for(uint64_t valid_after, const ob_tp_params *tpp, uint64_t tp,
                         ob_hsv3_slot *slot)
{
    ob_hsv3_slot s[2];
    int i;

    ob_hsv3_publish_slots(valid_after, tpp, s);
    for (i = 0; i < 2; i++) {
        if (s[i].tp == tp) {
            *slot = s[i];
            return 1;
        }
    }
    return 0;
}

ob_err onl_publish_hsdirs(const onl_consensus *c, const uint8_t Ab[32], const ob_hsv3_slot *slot,
                          unsigned group, unsigned group_count, size_t *out, size_t max, size_t *n,
                          int *disaster, ob_diag *d)
{
    size_t all[ONL_PUB_MAX_HSDIRS], got = 0, i, k = 0;
    uint8_t srv[32];
    unsigned spread = c->spread_store ? c->spread_store : 1;
    int r;
    ob_err err;

    *n = 0;
    if (group_count == 0 || group >= group_count)
        return ob_fail(d, OB_ERR_RANGE, "group %u of %u", group, group_count);
    r = onl_consensus_slot_srv(c, slot, srv);
    if (r < 0)
        return ob_fail(d, OB_ERR_CRYPTO, "disaster SRV: SHA3-256 failed");
    *disaster = r;
    err = onl_hsdir_responsible(c, Ab, slot->tp, srv, spread, all, ONL_PUB_MAX_HSDIRS, &got, d);
    if (err != OB_OK)
        return err;
    for (i = 0; i < got && k < max; i++) {
        if (group_count > 1 &&
            ob_hsv3_group_for_hsdir(i / spread, i % spread, c->spread_fetch ? c->spread_fetch : 3,
                                    group_count) != group)
            continue;
        out[k++] = all[i];
    }
    *n = k;
    return OB_OK;
}

/* The outer-layer checks, as an HSDir makes them (and the blinding). */
static void utc_text(char out[OB_TIME_STR], uint64_t t)
{
    (void)ob_time_format(out, OB_TIME_STR, t, OB_TIME_SEC);
}

/* "signed for use from <UTC> until <UTC>, now <UTC>" */
static void window_why(onl_pub_item *it, const ob_resp_descriptor *rd, uint64_t now)
{
    char a[OB_TIME_STR], b[OB_TIME_STR], n[OB_TIME_STR];

    utc_text(a, rd->valid_from);
    utc_text(b, rd->valid_until);
    utc_text(n, now);
    snprintf(it->why, sizeof(it->why), "signed for use from %s until %s, now %s", a, b, n);
}

static ob_err check_v3(const ob_resp_descriptor *rd, const ob_tp_params *tpp, uint64_t now,
                       onl_pub_item *it, ob_diag *d)
{
    uint8_t A[32];
    ob_hsv3_desc *desc = NULL;
    ob_hsv3_verify_opts o;
    ob_hsv3_reason reason = OB_HSV3_OK;
    ob_err err;

    err = ob_onion_v3_decode(A, rd->service, strlen(rd->service), d);
    if (err != OB_OK)
        return err;
    memset(&o, 0, sizeof(o));
    o.now = now;
    o.reason = &reason;
    err = ob_hsv3_desc_verify(rd->descriptor, rd->descriptor_len, A, rd->tp, tpp, &o, &desc, d);
    if (err != OB_OK && reason == OB_HSV3_NEED_CLIENT_AUTH)
        err = OB_OK; /* inner layer for authorised clients only */
    if (err == OB_OK && desc != NULL) {
        memcpy(it->blinded, desc->blinded_key, 32);
    } else if (err == OB_OK) {
        /* verify stopped at the client-auth layer: the 08 cert's signer
         * has been checked against blind(A, tp) already */
        if (ob_hsv3_blind_public(it->blinded, A, rd->tp, tpp->length_min) != 0)
            err = ob_fail(d, OB_ERR_CRYPTO, "blinding failed");
    }
    ob_hsv3_desc_free(desc);
    return err;
}

/*
 * A v2 descriptor: verified for its own (period, replica) and address,
 * judged by the clock, given its HSDirs.  Returns an error only for a
 * descriptor that is bad (the response is refused); skips go in it.
 */
static ob_err plan_v2(const ob_resp_descriptor *rd, const onl_consensus *c, uint64_t now,
                      onl_pub_item *it, ob_diag *d)
{
    ob_hsv2_desc *desc = NULL;
    size_t hs[3], nhs = 0, k;
    int64_t start;
    char a[OB_TIME_STR], b[OB_TIME_STR], n[OB_TIME_STR];
    ob_err err;

    it->slot = rd->slot;
    if (rd->tp > UINT32_MAX || rd->slot >= OB_HSV2_REPLICAS ||
        (rd->group_count != 1 && rd->group_count != OB_HSV2_HSDIRS_PER_REP) ||
        rd->group >= rd->group_count)
        return ob_fail(d, OB_ERR_MALFORMED, "v2 period %llu replica %u group %u/%u is impossible",
                       (unsigned long long)rd->tp, rd->slot, rd->group + 1u,
                       (unsigned)rd->group_count);
    err = ob_hsv2_desc_parse((const char *)rd->descriptor, rd->descriptor_len, &desc, d);
    if (err != OB_OK)
        goto out;
    if (strcmp(desc->onion, rd->service) != 0) {
        err = ob_fail(d, OB_ERR_VERIFY, "the descriptor is for %s.onion", desc->onion);
        goto out;
    }
    err = ob_hsv2_desc_verify_for(desc, (int64_t)now, NULL, (uint32_t)rd->tp, rd->slot, d);
    if (err == OB_ERR_EXPIRED) {
        it->status = ONL_PUB_SKIP_EXPIRED;
        snprintf(it->why, sizeof(it->why), "%.190s", d->msg);
        err = OB_OK;
        goto out;
    }
    if (err != OB_OK)
        goto out;
    /* Clients look up the period their clock is in; tor uploads the next
     * one during the last hour (REND_TIME_PERIOD_OVERLAPPING_V2_DESCS). */
    start = ob_hsv2_period_start((uint32_t)rd->tp, desc->permanent_id);
    if ((int64_t)now < start - OB_HSV2_OVERLAP || (int64_t)now >= start + OB_HSV2_PERIOD) {
        it->status = ONL_PUB_SKIP_PERIOD;
        utc_text(a, start > OB_HSV2_OVERLAP ? (uint64_t)(start - OB_HSV2_OVERLAP) : 0);
        utc_text(b, (uint64_t)(start + OB_HSV2_PERIOD));
        utc_text(n, now);
        snprintf(it->why, sizeof(it->why), "v2 period %llu is in use from %s until %s, now %s",
                 (unsigned long long)rd->tp, a, b, n);
        goto out;
    }
    if (now < rd->valid_from || now >= rd->valid_until) {
        it->status = ONL_PUB_SKIP_WINDOW;
        window_why(it, rd, now);
        goto out;
    }
    it->status = ONL_PUB_SEND;
    if (c == NULL)
        goto out;
    if (c->n_relays > 0)
        err = ob_hsv2_responsible_hsdirs(desc->desc_id, (const uint8_t(*)[20])c->v2_ids,
                                         c->v2_flags, c->n_relays, hs, &nhs, d);
    if (err != OB_OK)
        goto out;
    for (k = 0; k < nhs; k++) {
        /* distinct descriptors: slot k goes to the k-th responsible HSDir */
        if (rd->group_count > 1 && k != rd->group)
            continue;
        it->hsdirs[it->n_hsdirs++] = hs[k];
    }
    if (it->n_hsdirs == 0) {
        it->status = ONL_PUB_SKIP_NO_HSDIRS;
        snprintf(it->why, sizeof(it->why), "%s",
                 nhs == 0 ? "the consensus has no relay with the HSDir flag"
                          : "fewer responsible HSDirs than this descriptor's slot");
    }
out:
    ob_hsv2_desc_free(desc);
    return err;
}

size_t onl_publish_skip_v2(const ob_response *r, onl_pub_plan *p, const char *why)
{
    size_t i, n = 0;

    for (i = 0; i < p->n; i++) {
        onl_pub_item *it = &p->items[i];
        if (it->status != ONL_PUB_SEND || r->descriptors[it->desc].version != 2)
            continue;
        it->status = ONL_PUB_SKIP_V2;
        snprintf(it->why, sizeof(it->why), "%s", why);
        n++;
    }
    return n;
}

ob_err onl_publish_check_services(const ob_config *cfg, const ob_response *r, ob_diag *d)
{
    size_t i;

    for (i = 0; i < r->n_descriptors; i++)
        if (ob_config_find_service(cfg, r->descriptors[i].service) == NULL)
            return ob_fail(d, OB_ERR_REFUSED,
                           "descriptor %zu: service %s.onion is not in this machine's config "
                           "(%s): this response answers another publisher's request",
                           i, r->descriptors[i].service, cfg->path);
    return OB_OK;
}

ob_tp_params onl_publish_tp_params(const ob_config *cfg, const onl_consensus *c)
{
    ob_tp_params tpp;

    if (c != NULL)
        return c->tp;
    tpp.length_min = cfg->time_period_length ? cfg->time_period_length : OB_CFG_TP_LENGTH_DEFAULT;
    tpp.offset_min = tpp.length_min / 2;
    return tpp;
}

/* The 08 cert's expiry, unix seconds; UINT64_MAX when it cannot be read
 * (the response was verified when it was loaded: this only reads). */
static uint64_t cert_expiry(const ob_resp_descriptor *rd)
{
    ob_hsv3_outer o;
    ob_ed_cert cert;
    uint64_t t = UINT64_MAX;
    ob_diag d;

    if (rd->descriptor == NULL)
        return t;
    memset(&o, 0, sizeof(o));
    if (ob_hsv3_outer_parse(rd->descriptor, rd->descriptor_len, &o, &d) == OB_OK &&
        ob_ed_cert_parse(&cert, o.cert, o.cert_len, &d) == OB_OK)
        t = (uint64_t)cert.expiration_hours * 3600;
    ob_hsv3_outer_clear(&o);
    return t;
}

void onl_publish_covers(const ob_response *r, const char *service, ob_hsv3_cover *c, size_t cap,
                        size_t *n)
{
    size_t i, j;

    for (i = 0; i < r->n_descriptors && *n < cap; i++) {
        const ob_resp_descriptor *rd = &r->descriptors[i];
        ob_hsv3_cover v;
        uint64_t exp;
        if (rd->version != 3 || strcmp(rd->service, service) != 0)
            continue;
        exp = cert_expiry(rd);
        v.tp = rd->tp;
        v.from = rd->valid_from;
        v.until = exp < rd->valid_until ? exp : rd->valid_until;
        for (j = 0; j < *n; j++)
            if (c[j].tp == v.tp && c[j].from == v.from && c[j].until == v.until)
                break;
        if (j == *n)
            c[(*n)++] = v;
    }
}

size_t onl_publish_gap(const ob_response *const *rs, size_t nr, const char *service,
                       const ob_tp_params *tpp, uint64_t now, ob_hsv3_gap *g)
{
    ob_hsv3_cover c[ONL_PUB_MAX_COVERS];
    size_t i, n = 0;

    for (i = 0; i < nr; i++)
        onl_publish_covers(rs[i], service, c, ONL_PUB_MAX_COVERS, &n);
    ob_hsv3_cover_gap(tpp, c, n, now, g);
    return n;
}

int onl_publish_gap_text(const char *service, const ob_hsv3_gap *g, const ob_tp_params *tpp,
                         uint64_t now, char *buf, size_t cap)
{
    const char *which = g->slot ? "second" : "first";
    char at[OB_TIME_STR], when[80] = "";
    uint64_t run = 0;

    utc_text(at, g->at);
    /* A period whose SRV run starts at the gap could not be signed before. */
    if (ob_hsv3_srv_run_start(g->tp, tpp, &run) == 0 && run == g->at)
        snprintf(when, sizeof(when), " (not before: its revision-counter run starts then)");
    if (g->at <= now) {
        snprintf(buf, cap,
                 "%s.onion: nothing signed for the %s descriptor needed now (period %llu): "
                 "run a ceremony now",
                 service, which, (unsigned long long)g->tp);
        return 2;
    }
    if (g->at <= now + ONL_PUB_SOON) {
        snprintf(buf, cap,
                 "%s.onion: the %s descriptor needs period %llu from %s and nothing is signed "
                 "for it: run a ceremony then%s",
                 service, which, (unsigned long long)g->tp, at, when);
        return 1;
    }
    snprintf(buf, cap,
             "%s.onion: signed descriptors cover both publish slots until %s (then the %s "
             "descriptor needs period %llu)",
             service, at, which, (unsigned long long)g->tp);
    return 0;
}

ob_err onl_publish_plan(const ob_config *cfg, const ob_response *r, const onl_consensus *c,
                        uint64_t now, onl_pub_plan **out, ob_diag *d)
{
    onl_pub_plan *p = NULL;
    ob_tp_params tpp = onl_publish_tp_params(cfg, c);
    ob_err err = OB_OK;
    size_t i;

    *out = NULL;
    p = calloc(1, sizeof(*p));
    if (p == NULL)
        return ob_fail(d, OB_ERR_NOMEM, "out of memory");
    p->items = calloc(r->n_descriptors ? r->n_descriptors : 1, sizeof(*p->items));
    if (p->items == NULL) {
        err = ob_fail(d, OB_ERR_NOMEM, "out of memory");
        goto out;
    }
    p->n = r->n_descriptors;
    err = onl_publish_check_services(cfg, r, d);
    if (err != OB_OK)
        goto out;
    p->valid_after = c != NULL ? c->valid_after : now - now % 3600;
    ob_hsv3_publish_slots(p->valid_after, &tpp, p->slots);
    for (i = 0; i < r->n_descriptors; i++) {
        const ob_resp_descriptor *rd = &r->descriptors[i];
        onl_pub_item *it = &p->items[i];
        ob_hsv3_slot slot;

        it->desc = i;
        it->slot = -1;
        if (rd->version == 2) {
            err = plan_v2(rd, c, now, it, d);
            if (err != OB_OK) {
                ob_diag_prefix(d, "descriptor %zu (%s.onion, v2 period %llu): ", i, rd->service,
                               (unsigned long long)rd->tp);
                goto out;
            }
            continue;
        }
        err = check_v3(rd, &tpp, now, it, d);
        if (err == OB_ERR_EXPIRED) {
            it->status = ONL_PUB_SKIP_EXPIRED;
            snprintf(it->why, sizeof(it->why), "%.190s", d->msg);
            err = OB_OK;
            continue;
        }
        if (err != OB_OK) {
            ob_diag_prefix(d, "descriptor %zu (%s.onion, period %llu): ", i, rd->service,
                           (unsigned long long)rd->tp);
            goto out;
        }
        if (!onl_publish_slot_for(p->valid_after, &tpp, rd->tp, &slot)) {
            it->status = ONL_PUB_SKIP_PERIOD;
            snprintf(it->why, sizeof(it->why), "period %llu; periods in force now: %llu, %llu",
                     (unsigned long long)rd->tp, (unsigned long long)p->slots[0].tp,
                     (unsigned long long)p->slots[1].tp);
            continue;
        }
        it->slot = slot.use_current_srv ? 1 : 0;
        if (now < rd->valid_from || now >= rd->valid_until) {
            it->status = ONL_PUB_SKIP_WINDOW;
            window_why(it, rd, now);
            continue;
        }
        it->status = ONL_PUB_SEND;
        if (c == NULL)
            continue;
        err = onl_publish_hsdirs(c, it->blinded, &slot, rd->group, rd->group_count, it->hsdirs,
                                 ONL_PUB_MAX_HSDIRS, &it->n_hsdirs, &it->disaster_srv, d);
        if (err == OB_ERR_NOTFOUND || (err == OB_OK && it->n_hsdirs == 0)) {
            it->status = ONL_PUB_SKIP_NO_HSDIRS;
            snprintf(it->why, sizeof(it->why), "%s",
                     err == OB_OK ? "no HSDir for this group" : "the consensus has no HSDir");
            err = OB_OK;
            continue;
        }
        if (err != OB_OK)
            goto out;
    }
    *out = p;
    p = NULL;
out:
    onl_pub_plan_free(p);
    return err;
}

void onl_pub_opts_init(onl_pub_opts *o)
{
    o->window = ONL_PUB_WINDOW;
    o->timeout_ms = ONL_PUB_TIMEOUT_MS;
    o->tries = ONL_PUB_TRIES;
    o->reconnect_ms = ONL_PUB_RECONNECT;
    o->cancel = NULL;
    o->tick = NULL;
    o->tick_ctx = NULL;
    o->timeout_ms = onl_env_timeout_ms("OB_PUBLISH_TIMEOUT_MS", o->timeout_ms);
}

void onl_publish_counts(const onl_pub_plan *p, size_t *in_force, size_t *reached)
{
    size_t i, j;

    *in_force = *reached = 0;
    for (i = 0; i < p->n; i++) {
        const onl_pub_item *it = &p->items[i];
        int ok = 0;
        if (it->status != ONL_PUB_SEND)
            continue;
        (*in_force)++;
        for (j = 0; j < it->n_hsdirs; j++)
            ok |= it->result[j] == ONL_PUB_UPLOADED;
        *reached += ok;
    }
}

static void fp_upper(char out[41], const uint8_t id[20])
{
    size_t i;

    ob_hex_encode(out, id, 20);
    for (i = 0; i < 40; i++)
        out[i] = (char)toupper((unsigned char)out[i]);
}

/* HSDir j of an item: v3 items index nodes[], v2 items the v2 ring. */
static const uint8_t *item_hsdir_id(const ob_resp_descriptor *rd, const onl_consensus *c,
                                    const onl_pub_item *it, size_t j)
{
    return rd->version == 2 ? c->v2_ids[it->hsdirs[j]] : c->nodes[it->hsdirs[j]].rsa_id;
}

static const char *item_hsdir_nick(const ob_resp_descriptor *rd, const onl_consensus *c,
                                   const onl_pub_item *it, size_t j)
{
    return rd->version == 2 ? c->v2_nicks[it->hsdirs[j]] : c->nodes[it->hsdirs[j]].nick;
}

/*
 * v2: "+HSPOST SERVER=$fp..." and no HSADDRESS -- tor <= 0.4.5 parsed the
 * body as a v2 descriptor then (tor 0.4.5.10 control_cmd.c).
 */
static ob_err hspost_v2(onl_ctl *ctl, const ob_resp_descriptor *rd, const char *const *srv,
                        size_t n, ob_diag *d)
{
    onl_ctl_reply r = { 0 };
    ob_buf cmd;
    char msg[160];
    size_t j;
    ob_err err;

    ob_buf_init(&cmd);
    ob_buf_put_str(&cmd, "+HSPOST");
    for (j = 0; j < n; j++)
        ob_buf_printf(&cmd, " SERVER=%s", srv[j]);
    ob_buf_nul(&cmd);
    if (!ob_buf_ok(&cmd)) {
        ob_buf_free(&cmd);
        return ob_fail(d, OB_ERR_NOMEM, "out of memory");
    }
    err = onl_ctl_command_data(ctl, (const char *)cmd.p, rd->descriptor, rd->descriptor_len, &r, 0,
                               d);
    if (err == OB_OK && r.code != 250) {
        snprintf(msg, sizeof(msg), "%.150s",
                 r.n > 0 && r.lines[r.n - 1].text != NULL ? r.lines[r.n - 1].text : "");
        onl_ctl_sanitize(msg);
        err = ob_fail(d, OB_ERR_REFUSED, "HSPOST: %d %s", r.code, msg);
    }
    ob_buf_free(&cmd);
    onl_ctl_reply_free(&r);
    return err;
}

/* Send one attempt: the HSDirs of it not yet holding it. */
static ob_err post_one(onl_ctl *ctl, const ob_resp_descriptor *rd, const onl_consensus *c,
                       onl_pub_item *it, ob_diag *d)
{
    char fps[ONL_PUB_MAX_HSDIRS][41];
    const char *srv[ONL_PUB_MAX_HSDIRS];
    size_t j, n = 0;

    for (j = 0; j < it->n_hsdirs; j++) {
        if (it->result[j] == ONL_PUB_UPLOADED)
            continue;
        it->result[j] = ONL_PUB_PENDING;
        fp_upper(fps[n], item_hsdir_id(rd, c, it, j));
        srv[n] = fps[n];
        n++;
    }
    if (rd->version == 2)
        return hspost_v2(ctl, rd, srv, n, d);
    if (it->body != NULL)
        return onl_ctl_hspost(ctl, it->body, it->body_len, srv, n, rd->service, d);
    return onl_ctl_hspost(ctl, rd->descriptor, rd->descriptor_len, srv, n, rd->service, d);
}

static int item_open(const onl_pub_item *it)
{
    size_t j;

    for (j = 0; j < it->n_hsdirs; j++)
        if (it->result[j] == ONL_PUB_PENDING)
            return 1;
    return 0;
}

static int item_done(const onl_pub_item *it)
{
    size_t j;

    for (j = 0; j < it->n_hsdirs; j++)
        if (it->result[j] != ONL_PUB_UPLOADED)
            return 0;
    return 1;
}

static void on_event(const ob_response *r, const onl_consensus *c, onl_pub_plan *p,
                     const onl_ctl_event *ev)
{
    size_t i, j;
    char fp[41];

    if (ev->malformed || ev->kind != ONL_EV_HS_DESC ||
        (ev->action != ONL_HSA_UPLOADED && ev->action != ONL_HSA_FAILED))
        return;
    for (i = 0; i < p->n; i++) {
        onl_pub_item *it = &p->items[i];
        const ob_resp_descriptor *rd = &r->descriptors[it->desc];
        int hit = 0;
        if (!it->outstanding || strcmp(rd->service, ev->address) != 0)
            continue;
        for (j = 0; j < it->n_hsdirs; j++) {
            if (it->result[j] != ONL_PUB_PENDING)
                continue;
            fp_upper(fp, item_hsdir_id(rd, c, it, j));
            if (strcmp(fp, ev->hsdir) != 0)
                continue;
            hit = 1;
            it->result[j] = ev->action == ONL_HSA_UPLOADED ? ONL_PUB_UPLOADED : ONL_PUB_FAILED;
            snprintf(it->reason[j], sizeof(it->reason[j]), "%s",
                     ev->action == ONL_HSA_FAILED ? (ev->reason[0] ? ev->reason : "FAILED") : "");
        }
        if (!item_open(it))
            it->outstanding = 0;
        /* v3: one outstanding item per service; v2: several whose pending
         * HSDirs differ, so the one that had this HSDir pending is it. */
        if (rd->version != 2 || hit)
            return;
    }
}

/* Do the HSDirs a and b would wait for overlap? */
static int pending_overlap(const ob_response *r, const onl_consensus *c, const onl_pub_item *a,
                           const onl_pub_item *b)
{
    size_t i, j;

    for (i = 0; i < a->n_hsdirs; i++) {
        if (a->result[i] != ONL_PUB_PENDING)
            continue;
        for (j = 0; j < b->n_hsdirs; j++)
            if (b->result[j] != ONL_PUB_UPLOADED &&
                memcmp(item_hsdir_id(&r->descriptors[a->desc], c, a, i),
                       item_hsdir_id(&r->descriptors[b->desc], c, b, j), 20) == 0)
                return 1;
    }
    return 0;
}

/* Another item of the same service outstanding?  Then events would be ambiguous
 * (v2: only if it waits for one of the same HSDirs). */
static int service_busy(const ob_response *r, const onl_consensus *c, const onl_pub_plan *p,
                        size_t k)
{
    size_t i;

    for (i = 0; i < p->n; i++)
        if (i != k && p->items[i].outstanding &&
            strcmp(r->descriptors[p->items[i].desc].service,
                   r->descriptors[p->items[k].desc].service) == 0 &&
            (r->descriptors[p->items[k].desc].version != 2 ||
             pending_overlap(r, c, &p->items[i], &p->items[k])))
            return 1;
    return 0;
}

/* v2 items cannot go through a tor without v2: it would not even answer. */
static void fail_v2(onl_pub_item *it, const char *reason)
{
    size_t j;

    for (j = 0; j < it->n_hsdirs; j++)
        if (it->result[j] != ONL_PUB_UPLOADED) {
            it->result[j] = ONL_PUB_FAILED;
            snprintf(it->reason[j], sizeof(it->reason[j]), "%s", reason);
        }
}

ob_err onl_publish_run(onl_ctl *ctl, const ob_response *r, const onl_consensus *c, onl_pub_plan *p,
                       const onl_pub_opts *o, ob_diag *d)
{
    onl_ctl_event *ev = NULL;
    ob_diag ld;
    ob_err err;
    size_t i, j;
    int has_v2 = -2; /* not asked yet */

    err = onl_ctl_setevents(ctl, "HS_DESC", d);
    if (err == OB_ERR_NET)
        err = onl_ctl_reconnect(ctl, o->reconnect_ms, d);
    if (err != OB_OK)
        return err;
    for (;;) {
        uint64_t now = onl_mono_ms(), next = UINT64_MAX;
        size_t active = 0, open = 0;
        int wait;

        if (o->tick != NULL)
            o->tick(o->tick_ctx);
        if (o->cancel != NULL && *o->cancel)
            return OB_OK; /* unanswered HSDirs stay pending: "no answer" */
        for (i = 0; i < p->n; i++) {
            onl_pub_item *it = &p->items[i];
            if (it->outstanding && now >= it->deadline) {
                for (j = 0; j < it->n_hsdirs; j++)
                    if (it->result[j] == ONL_PUB_PENDING) {
                        it->result[j] = ONL_PUB_FAILED;
                        snprintf(it->reason[j], sizeof(it->reason[j]), "TIMEOUT");
                    }
                it->outstanding = 0;
            }
            active += (size_t)it->outstanding;
        }
        for (i = 0; i < p->n && active < o->window; i++) {
            onl_pub_item *it = &p->items[i];
            if (it->status != ONL_PUB_SEND || it->outstanding || it->n_hsdirs == 0 ||
                item_done(it) || it->attempts >= o->tries || service_busy(r, c, p, i))
                continue;
            if (r->descriptors[it->desc].version == 2) {
                char ver[64];
                if (has_v2 == -2)
                    has_v2 = onl_fetch_tor_has_v2(ctl, ver, sizeof(ver));
                if (has_v2 == 0) {
                    fail_v2(it, "NO_V2_IN_TOR");
                    it->attempts = o->tries;
                    continue;
                }
            }
            err = post_one(ctl, &r->descriptors[it->desc], c, it, &ld);
            if (err == OB_ERR_NET) {
                err = onl_ctl_reconnect(ctl, o->reconnect_ms, d);
                if (err != OB_OK)
                    return err;
                for (j = 0; j < p->n; j++)
                    p->items[j].outstanding = 0; /* answers are lost */
                active = 0;
                i = (size_t)-1;
                continue;
            }
            it->attempts++;
            if (err != OB_OK) {
                /* 5xx: tor refused the descriptor or a server; no retry */
                for (j = 0; j < it->n_hsdirs; j++)
                    if (it->result[j] != ONL_PUB_UPLOADED) {
                        it->result[j] = ONL_PUB_FAILED;
                        snprintf(it->reason[j], sizeof(it->reason[j]), "REFUSED %d",
                                 onl_ctl_last_code(ctl));
                    }
                it->attempts = o->tries;
                continue;
            }
            it->outstanding = 1;
            it->deadline = onl_mono_ms() + (uint64_t)o->timeout_ms;
            active++;
        }
        for (i = 0; i < p->n; i++) {
            onl_pub_item *it = &p->items[i];
            if (it->outstanding) {
                open++;
                if (it->deadline < next)
                    next = it->deadline;
            } else if (it->status == ONL_PUB_SEND && it->n_hsdirs > 0 && !item_done(it) &&
                       it->attempts < o->tries) {
                open++;
            }
        }
        if (open == 0)
            return OB_OK;
        now = onl_mono_ms();
        wait = next == UINT64_MAX ? 100
               : next <= now      ? 0
                                  : (int)(next - now > 1000 ? 1000 : next - now);
        err = onl_ctl_next_event(ctl, &ev, wait, &ld);
        if (err == OB_ERR_NET) {
            err = onl_ctl_reconnect(ctl, o->reconnect_ms, d);
            if (err != OB_OK)
                return err;
            for (j = 0; j < p->n; j++)
                p->items[j].outstanding = 0;
            continue;
        }
        if (err != OB_OK)
            return ob_fail(d, err, "%s", ld.msg);
        if (ev != NULL) {
            on_event(r, c, p, ev);
            onl_ctl_event_free(ev);
            ev = NULL;
        }
    }
}

void onl_publish_describe(const ob_response *r, const onl_consensus *c, const onl_pub_plan *p,
                          int results, onl_pub_line_fn line, void *ctx)
{
    char buf[512], fp[41];
    size_t i, j;

    for (i = 0; i < p->n; i++) {
        const onl_pub_item *it = &p->items[i];
        const ob_resp_descriptor *rd = &r->descriptors[it->desc];
        size_t ok = 0;
        for (j = 0; j < it->n_hsdirs; j++)
            ok += it->result[j] == ONL_PUB_UPLOADED;
        if (it->status != ONL_PUB_SEND && rd->version == 2) {
            /* v2: the replica tells a period's two descriptors apart */
            char grp[48] = "";
            if (rd->group_count > 1)
                snprintf(grp, sizeof(grp), ", HSDir slot %u of %u", rd->group + 1u,
                         (unsigned)rd->group_count);
            snprintf(buf, sizeof(buf), "%s.onion v2 period %llu replica %u%s: %s (%s)", rd->service,
                     (unsigned long long)rd->tp, rd->slot, grp, onl_pub_status_name(it->status),
                     it->why);
            line(ctx, buf);
            continue;
        }
        if (it->status != ONL_PUB_SEND) {
            snprintf(buf, sizeof(buf), "%s.onion v%u period %llu group %u/%u: %s (%s)", rd->service,
                     rd->version, (unsigned long long)rd->tp, rd->group + 1u,
                     (unsigned)rd->group_count, onl_pub_status_name(it->status), it->why);
            line(ctx, buf);
            continue;
        }
        if (rd->version == 2) {
            char grp[48] = "";
            if (rd->group_count > 1)
                snprintf(grp, sizeof(grp), ", HSDir slot %u of %u", rd->group + 1u,
                         (unsigned)rd->group_count);
            if (c == NULL)
                snprintf(buf, sizeof(buf),
                         "%s.onion v2 period %llu replica %u%s: in force; HSDirs unknown (no "
                         "consensus)",
                         rd->service, (unsigned long long)rd->tp, rd->slot, grp);
            else if (results)
                snprintf(buf, sizeof(buf),
                         "%s.onion v2 period %llu replica %u%s: uploaded to %zu of %zu HSDirs",
                         rd->service, (unsigned long long)rd->tp, rd->slot, grp, ok, it->n_hsdirs);
            else
                snprintf(buf, sizeof(buf), "%s.onion v2 period %llu replica %u%s: %zu HSDirs",
                         rd->service, (unsigned long long)rd->tp, rd->slot, grp, it->n_hsdirs);
            line(ctx, buf);
            if (c == NULL)
                continue;
        } else if (c == NULL) {
            snprintf(buf, sizeof(buf),
                     "%s.onion v3 period %llu group %u/%u: in force as the %s descriptor; "
                     "HSDirs unknown (no consensus)",
                     rd->service, (unsigned long long)rd->tp, rd->group + 1u,
                     (unsigned)rd->group_count, it->slot ? "second" : "first");
            line(ctx, buf);
            continue;
        }
        if (rd->version != 2) { /* v2: its line is out above */
            char rv[64] = "";
            if (ob_resp_revision_count(rd) > 1)
                snprintf(rv, sizeof(rv), " (revision %u of %zu)", it->revision,
                         ob_resp_revision_count(rd) - 1);
            if (results)
                snprintf(buf, sizeof(buf),
                         "%s.onion v3 period %llu group %u/%u (%s descriptor): uploaded to %zu of "
                         "%zu HSDirs%s",
                         rd->service, (unsigned long long)rd->tp, rd->group + 1u,
                         (unsigned)rd->group_count, it->slot ? "second" : "first", ok, it->n_hsdirs,
                         rv);
            else
                snprintf(
                    buf, sizeof(buf),
                    "%s.onion v3 period %llu group %u/%u (%s descriptor, %s SRV%s): %zu HSDirs",
                    rd->service, (unsigned long long)rd->tp, rd->group + 1u,
                    (unsigned)rd->group_count, it->slot ? "second" : "first",
                    it->slot ? "current" : "previous", it->disaster_srv ? ", disaster value" : "",
                    it->n_hsdirs);
            line(ctx, buf);
        }
        for (j = 0; j < it->n_hsdirs; j++) {
            const char *nick = item_hsdir_nick(rd, c, it, j);
            fp_upper(fp, item_hsdir_id(rd, c, it, j));
            if (!results)
                snprintf(buf, sizeof(buf), "  -> $%s~%s", fp, nick);
            else if (it->result[j] == ONL_PUB_UPLOADED)
                snprintf(buf, sizeof(buf), "  uploaded $%s~%s", fp, nick);
            else
                snprintf(buf, sizeof(buf), "  FAILED   $%s~%s: %s", fp, nick,
                         it->result[j] == ONL_PUB_FAILED ? it->reason[j] : "no answer");
            line(ctx, buf);
        }
    }
}

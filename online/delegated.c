/*
 * delegated.c - the delegated mode's online signer: revision counters,
 * building, renewal timing (contract in delegated.h).
 */
#include "delegated.h"

#include "buf.h"
#include "crypto.h"
#include "fileio.h"
#include "hsv3_desc.h"
#include "hsv3_select.h"
#include "hsv3_sign_desc.h"
#include "onion.h"
#include "secmem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define REVS_FILE     "revisions"
#define REVS_MAX_FILE (4u * 1024 * 1024)
#define REVS_MAX      200000 /* entries: 20000 services x a few periods */

/* ---- revision counters ------------------------------------------------- */

void onl_revs_init_memory(onl_revs *r)
{
    memset(r, 0, sizeof(*r));
    r->lock_fd = -1;
}

/* Plain decimal digits (at least one, no sign or space) up to max; advances *s.  0 or -1. */
static int dec_u64(const char **s, uint64_t max, uint64_t *out)
{
    const char *p = *s;
    uint64_t v = 0;

    if (*p < '0' || *p > '9')
        return -1;
    for (; *p >= '0' && *p <= '9'; p++) {
        unsigned dg = (unsigned)(*p - '0');
        if (v > (max - dg) / 10)
            return -1;
        v = v * 10 + dg;
    }
    *s = p;
    *out = v;
    return 0;
}

/* "<56 base32> <tp> <counter>": every byte checked (sscanf would take signs and overflow). */
static int revs_line(const char *buf, char addr[57], uint64_t *tp, uint64_t *rev)
{
    const char *p = buf + 56;
    size_t i;

    for (i = 0; i < 56; i++) {
        char c = buf[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '2' && c <= '7')))
            return -1;
    }
    memcpy(addr, buf, 56);
    addr[56] = '\0';
    if (*p++ != ' ' || dec_u64(&p, OB_BUNDLE_MAX_TP - 1, tp) != 0 || *p++ != ' ' ||
        dec_u64(&p, UINT64_MAX, rev) != 0)
        return -1;
    return *p == '\0' ? 0 : -1;
}

static ob_err revs_parse(onl_revs *r, const char *path, const char *text, ob_diag *d)
{
    const char *p = text;
    unsigned line = 0;

    while (*p != '\0') {
        const char *nl = strchr(p, '\n');
        char addr[57];
        uint64_t tp = 0, rev = 0;
        char buf[160];
        size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);
        ob_err err;

        line++;
        if (len >= sizeof(buf))
            return ob_fail(d, OB_ERR_MALFORMED, "%s:%u: line too long", path, line);
        memcpy(buf, p, len);
        buf[len] = '\0';
        p += len + (nl != NULL);
        if (len == 0)
            continue;
        if (len < 56 || revs_line(buf, addr, &tp, &rev) != 0)
            return ob_fail(d, OB_ERR_MALFORMED,
                           "%s:%u: not \"<address> <period> <counter>\" (remove the file to "
                           "start over; counters then follow the clock)",
                           path, line);
        if ((err = onl_revs_raise(r, addr, tp, rev, d)) != OB_OK)
            return err;
    }
    return OB_OK;
}

ob_err onl_revs_open(const ob_config *cfg, onl_revs *r, ob_diag *d)
{
    char *dir = onl_dkeys_dir(cfg), *lock = NULL;
    uint8_t *text = NULL;
    size_t len = 0, n;
    ob_err err;

    onl_revs_init_memory(r);
    if (dir == NULL)
        return ob_fail(d, OB_ERR_NOMEM, "out of memory");
    n = strlen(dir) + sizeof(REVS_FILE) + 8;
    r->path = malloc(n);
    lock = malloc(n);
    if (r->path == NULL || lock == NULL) {
        err = ob_fail(d, OB_ERR_NOMEM, "out of memory");
        goto out;
    }
    snprintf(r->path, n, "%s/%s", dir, REVS_FILE);
    snprintf(lock, n, "%s/%s.lock", dir, REVS_FILE);
    if (!ob_path_exists(dir)) {
        /* No store, so no certified key: nothing will be signed or kept. */
        free(r->path);
        r->path = NULL;
        err = OB_OK;
        goto out;
    }
    r->lock_fd = open(lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (r->lock_fd < 0 || flock(r->lock_fd, LOCK_EX) != 0) {
        err = ob_fail(d, OB_ERR_IO, "%s: %s", lock, strerror(errno));
        goto out;
    }
    if (!ob_path_exists(r->path)) {
        err = OB_OK;
        goto out;
    }
    if ((err = ob_file_read(r->path, REVS_MAX_FILE, &text, &len, d)) != OB_OK)
        goto out;
    if (memchr(text, '\0', len) != NULL)
        err = ob_fail(d, OB_ERR_MALFORMED, "%s: holds a NUL byte", r->path);
    else
        err = revs_parse(r, r->path, (const char *)text, d);
out:
    if (err != OB_OK)
        onl_revs_close(r);
    free(text);
    free(lock);
    free(dir);
    return err;
}

uint64_t onl_revs_get(const onl_revs *r, const char *address, uint64_t tp)
{
    size_t i;

    for (i = 0; i < r->n; i++)
        if (r->v[i].tp == tp && strcmp(r->v[i].address, address) == 0)
            return r->v[i].rev;
    return 0;
}

ob_err onl_revs_raise(onl_revs *r, const char *address, uint64_t tp, uint64_t rev, ob_diag *d)
{
    size_t i;

    if (strlen(address) != 56)
        return ob_fail(d, OB_ERR_INTERNAL, "revision counters: not a v3 address");
    for (i = 0; i < r->n; i++)
        if (r->v[i].tp == tp && strcmp(r->v[i].address, address) == 0) {
            if (rev > r->v[i].rev)
                r->v[i].rev = rev;
            return OB_OK;
        }
    if (r->n >= REVS_MAX)
        return ob_fail(d, OB_ERR_RANGE, "revision counters: more than %d entries", REVS_MAX);
    if (r->n == r->cap) {
        size_t nc = r->cap ? 2 * r->cap : 16;
        onl_revs_entry *nv = realloc(r->v, nc * sizeof(*nv));
        if (nv == NULL)
            return ob_fail(d, OB_ERR_NOMEM, "out of memory");
        r->v = nv;
        r->cap = nc;
    }
    memcpy(r->v[r->n].address, address, 57);
    r->v[r->n].tp = tp;
    r->v[r->n].rev = rev;
    r->n++;
    return OB_OK;
}

void onl_revs_prune(onl_revs *r, const ob_tp_params *tpp, uint64_t now)
{
    size_t i, k = 0;

    for (i = 0; i < r->n; i++) {
        uint64_t from, until;
        /* A period out of range has no window: nothing to keep. */
        if (ob_hsv3_desc_window(r->v[i].tp, tpp, &from, &until) == 0 && now < until)
            r->v[k++] = r->v[i];
    }
    r->n = k;
}

ob_err onl_revs_save(const onl_revs *r, ob_diag *d)
{
    ob_buf b;
    size_t i;
    ob_err err;

    if (r->path == NULL)
        return OB_OK;
    ob_buf_init(&b);
    for (i = 0; i < r->n; i++)
        ob_buf_printf(&b, "%s %llu %llu\n", r->v[i].address, (unsigned long long)r->v[i].tp,
                      (unsigned long long)r->v[i].rev);
    if (!ob_buf_ok(&b))
        err = ob_fail(d, OB_ERR_NOMEM, "out of memory");
    else
        err = ob_file_write_atomic(r->path, b.p, b.len, 0600, 0, d);
    ob_buf_free(&b);
    return err;
}

void onl_revs_close(onl_revs *r)
{
    if (r == NULL)
        return;
    if (r->lock_fd >= 0)
        close(r->lock_fd); /* releases the flock */
    free(r->v);
    free(r->path);
    onl_revs_init_memory(r);
}

int onl_deleg_revisions(const uint8_t rev_key[OB_HSV3_REV_KEY_LEN], uint64_t run_start,
                        uint64_t now, uint64_t floor, size_t n, uint64_t *out)
{
    uint64_t t = ob_hsv3_rev_t(now, run_start), lo, hi, c;
    size_t i;

    if (t == 0 || n == 0 || ob_hsv3_rev_ope(&c, rev_key, t) != 0)
        return -1;
    if (c <= floor) {
        /* The counter grows strictly with T: search the first T above floor. */
        if (ob_hsv3_rev_ope(&c, rev_key, OB_HSV3_REV_T_MAX) != 0 || c <= floor)
            return -1;
        lo = t;                 /* counter(lo) <= floor */
        hi = OB_HSV3_REV_T_MAX; /* counter(hi) > floor */
        while (hi - lo > 1) {
            uint64_t mid = lo + (hi - lo) / 2;
            if (ob_hsv3_rev_ope(&c, rev_key, mid) != 0)
                return -1;
            if (c > floor)
                hi = mid;
            else
                lo = mid;
        }
        t = hi;
    }
    if (t + (n - 1) > OB_HSV3_REV_T_MAX)
        return -1;
    for (i = 0; i < n; i++)
        if (ob_hsv3_rev_ope(&out[i], rev_key, t + i) != 0)
            return -1;
    return 0;
}

/* ---- building ------------------------------------------------------------ */

void onl_deleg_slots(uint64_t valid_after, const ob_tp_params *tpp, onl_deleg_period out[2])
{
    ob_hsv3_slot s[2];
    int i;

    ob_hsv3_publish_slots(valid_after, tpp, s);
    for (i = 0; i < 2; i++) {
        out[i].tp = s[i].tp;
        out[i].slot = i;
    }
}

static ob_err default_key(void *ctx, const ob_config *cfg, const char *address, uint64_t tp,
                          uint64_t now, onl_dkey **out, ob_diag *d)
{
    (void)ctx;
    return onl_dkey_load(cfg, address, tp, now, out, d);
}

static const ob_req_instance *req_instance(const ob_req_service *rs, const char *address)
{
    size_t i;

    for (i = 0; rs != NULL && i < rs->n_instances; i++)
        if (strcmp(rs->instances[i].address, address) == 0)
            return &rs->instances[i];
    return NULL;
}

static void note_skip(onl_deleg_out *out, const char *address, const char *why)
{
    if (out->n_skipped++ == 0)
        snprintf(out->skipped, sizeof(out->skipped), "%s.onion: %.180s", address, why);
}

/* The digest of one instance's intro point set: its address and sorted auth keys. */
static void digest_instance(ob_buf *b, const char *address, const ob_hsv3_desc *desc)
{
    uint8_t keys[OB_HSV3_MAX_INTROS][32], tmp[32];
    size_t k = desc->n_intros < OB_HSV3_MAX_INTROS ? desc->n_intros : OB_HSV3_MAX_INTROS, i, j;

    for (i = 0; i < k; i++)
        memcpy(keys[i], desc->intros[i].auth_key, 32);
    for (i = 1; i < k; i++) /* insertion sort: at most 20 */
        for (j = i; j > 0 && memcmp(keys[j - 1], keys[j], 32) > 0; j--) {
            memcpy(tmp, keys[j], 32);
            memcpy(keys[j], keys[j - 1], 32);
            memcpy(keys[j - 1], tmp, 32);
        }
    ob_buf_put(b, address, strlen(address));
    ob_buf_put(b, keys, k * 32);
}

/*
 * Every instance of the config, checked as the ceremony checks it
 * (ob_hsv3_instance_verify), into descs[] in config order (NULL: not used).
 */
static ob_err check_instances(const onl_deleg_in *in, ob_hsv3_desc **descs, onl_deleg_out *out,
                              ob_diag *d)
{
    const ob_cfg_service *svc = in->svc;
    ob_buf dg;
    size_t j;
    ob_err err = OB_OK;

    ob_buf_init(&dg);
    for (j = 0; j < svc->n_instances; j++) {
        const ob_cfg_instance *ci = &svc->instances[j];
        const ob_req_instance *ri = req_instance(in->rs, ci->address);
        uint64_t tp = 0;
        ob_diag vd;
        ob_err e;
        if (ri == NULL || ri->status == OB_INSTANCE_MISSING || ri->descriptor == NULL) {
            note_skip(out, ci->address,
                      ri != NULL && ri->reason != NULL ? ri->reason : "no descriptor");
            continue;
        }
        if (ri->status == OB_INSTANCE_INVALID) {
            note_skip(out, ci->address, ri->reason != NULL ? ri->reason : "invalid");
            continue;
        }
        e = ob_hsv3_instance_verify(ci->address, ci->client_auth_key_path, ri->descriptor,
                                    ri->descriptor_len, in->tpp, in->now, &descs[j], &tp, &vd);
        if (e == OB_ERR_NOMEM) {
            err = ob_fail(d, e, "%s", vd.msg);
            goto out;
        }
        if (e != OB_OK) {
            char why[220];
            snprintf(why, sizeof(why), "%s%.200s", e == OB_ERR_EXPIRED ? "stale: " : "", vd.msg);
            note_skip(out, ci->address, why);
            continue;
        }
        out->n_ok++;
        digest_instance(&dg, ci->address, descs[j]);
    }
    if (!ob_buf_ok(&dg) || ob_sha256_buf(out->intro_digest, dg.p, dg.len) != 0)
        err = ob_fail(d, OB_ERR_NOMEM, "out of memory");
out:
    ob_buf_free(&dg);
    return err;
}

/* One period: its key, counters for every group, sign, add to resp. */
static ob_err build_period(const onl_deleg_in *in, size_t pi, const ob_hsv3_selection *sel,
                           const ob_hsv3_desc *const *descs, ob_response *resp, onl_deleg_out *out,
                           ob_diag *d)
{
    const ob_cfg_service *svc = in->svc;
    const onl_deleg_period *p = &in->periods[pi];
    onl_dkey *k = NULL;
    uint64_t revs[OB_HSV3_MAX_GROUPS], from, until;
    uint8_t A[32];
    size_t g;
    ob_diag kd;
    ob_err err;

    err = (in->key != NULL ? in->key : default_key)(in->key_ctx, in->cfg, svc->address, p->tp,
                                                    in->now, &k, &kd);
    if (err != OB_OK) {
        out->state[pi] = err == OB_ERR_NOTFOUND  ? ONL_DELEG_NO_KEY
                         : err == OB_ERR_EXPIRED ? ONL_DELEG_EXPIRED
                                                 : ONL_DELEG_FAILED;
        snprintf(out->why[pi], sizeof(out->why[pi]), "%.250s", kd.msg);
        return err == OB_ERR_NOMEM ? ob_fail(d, err, "%s", kd.msg) : OB_OK;
    }
    out->state[pi] = ONL_DELEG_FAILED;
    if (k->tpp.length_min != in->tpp->length_min) {
        snprintf(out->why[pi], sizeof(out->why[pi]),
                 "period %llu was certified for %llu-minute periods; the network has %llu",
                 (unsigned long long)p->tp, (unsigned long long)k->tpp.length_min,
                 (unsigned long long)in->tpp->length_min);
        err = OB_OK;
        goto out;
    }
    if (ob_hsv3_desc_window(p->tp, in->tpp, &from, &until) != 0) {
        snprintf(out->why[pi], sizeof(out->why[pi]), "period %llu is out of range",
                 (unsigned long long)p->tp);
        err = OB_OK;
        goto out;
    }
    if (onl_deleg_revisions(k->rev_key, from, in->now, onl_revs_get(in->revs, svc->address, p->tp),
                            sel->n_groups, revs) != 0) {
        snprintf(out->why[pi], sizeof(out->why[pi]),
                 "period %llu: no revision counter above %llu is left at this time",
                 (unsigned long long)p->tp,
                 (unsigned long long)onl_revs_get(in->revs, svc->address, p->tp));
        err = OB_OK;
        goto out;
    }
    if ((err = ob_onion_v3_decode(A, svc->address, strlen(svc->address), d)) != OB_OK)
        goto out;
    for (g = 0; g < sel->n_groups; g++) {
        ob_hsv3_sign_desc_in s;
        ob_resp_descriptor rd;
        uint8_t *text = NULL;
        size_t len = 0;
        memset(&s, 0, sizeof(s));
        s.identity_pk = A;
        s.tp = p->tp;
        s.tpp = in->tpp;
        s.now = in->now;
        s.sign_exp = k->sign_exp;
        s.sign_pk = k->sign_pk;
        s.signing_cert = k->cert;
        s.signing_cert_len = k->cert_len;
        s.revision = revs[g];
        s.lifetime_min = svc->descriptor_lifetime;
        s.intros = sel->groups[g].intros;
        s.n_intros = sel->groups[g].n;
        s.flow_control = ob_hsv3_group_flow_control(sel, g, descs);
        if ((err = ob_hsv3_sign_desc(&s, &text, &len, d)) != OB_OK) {
            ob_diag_prefix(d, "%s.onion period %llu group %zu: ", svc->address,
                           (unsigned long long)p->tp, g + 1);
            goto out;
        }
        memset(&rd, 0, sizeof(rd));
        rd.service = svc->address;
        rd.version = 3;
        rd.tp = p->tp;
        rd.slot = (uint8_t)p->slot;
        rd.group = (uint16_t)g;
        rd.group_count = (uint16_t)sel->n_groups;
        rd.valid_from = from;
        rd.valid_until = until;
        rd.revision = revs[g];
        rd.descriptor = text;
        rd.descriptor_len = len;
        err = ob_response_add_descriptor(resp, &rd);
        free(text);
        if (err != OB_OK) {
            err = ob_fail(d, err, "out of memory");
            goto out;
        }
        out->n_built++;
    }
    if ((err = onl_revs_raise(in->revs, svc->address, p->tp, revs[sel->n_groups - 1], d)) != OB_OK)
        goto out;
    if (out->cert_until == 0 || k->cert_expires < out->cert_until)
        out->cert_until = k->cert_expires;
    out->state[pi] = ONL_DELEG_BUILT;
    out->why[pi][0] = '\0';
out:
    onl_dkey_free(k);
    return err;
}

ob_err onl_deleg_build(const onl_deleg_in *in, ob_response *resp, onl_deleg_out *out, ob_diag *d)
{
    ob_hsv3_desc **descs = NULL;
    ob_hsv3_selection *sel = NULL;
    ob_response *tmp = NULL;
    size_t i, n = in->svc->n_instances;
    ob_diag sd;
    ob_err err;

    memset(out, 0, sizeof(*out));
    if (in->n_periods > 2 || in->svc->version != 3 || in->svc->address == NULL)
        return ob_fail(d, OB_ERR_INTERNAL, "delegated build: a v3 service and at most 2 periods");
    for (i = 0; i < in->n_periods; i++) {
        out->state[i] = ONL_DELEG_FAILED;
        snprintf(out->why[i], sizeof(out->why[i]), "no instance offers an introduction point");
    }
    descs = calloc(n + 1, sizeof(*descs));
    tmp = ob_response_new();
    if (descs == NULL || tmp == NULL) {
        err = ob_fail(d, OB_ERR_NOMEM, "out of memory");
        goto out;
    }
    if ((err = check_instances(in, descs, out, d)) != OB_OK)
        goto out;
    err = ob_hsv3_select((const ob_hsv3_desc *const *)descs, n, 0, 0, &sel, &sd);
    if (err == OB_ERR_NOTFOUND) {
        err = OB_OK; /* reported per period above */
        goto out;
    }
    if (err != OB_OK) {
        err = ob_fail(d, err, "%s.onion: %s", in->svc->address, sd.msg);
        goto out;
    }
    out->n_groups = sel->n_groups;
    for (i = 0; i < in->n_periods; i++)
        if ((err = build_period(in, i, sel, (const ob_hsv3_desc *const *)descs, tmp, out, d)) !=
            OB_OK)
            goto out;
    /* All or nothing: the service's descriptors go in only once every one verified. */
    for (i = 0; i < tmp->n_descriptors; i++)
        if ((err = ob_response_add_descriptor(resp, &tmp->descriptors[i])) != OB_OK) {
            err = ob_fail(d, err, "out of memory");
            goto out;
        }
out:
    if (err != OB_OK)
        out->n_built = 0;
    ob_hsv3_selection_free(sel);
    for (i = 0; descs != NULL && i < n; i++)
        ob_hsv3_desc_free(descs[i]);
    free(descs);
    ob_response_free(tmp);
    return err;
}

ob_err onl_deleg_check(const onl_deleg_in *in, onl_deleg_out *out, ob_diag *d)
{
    ob_hsv3_desc **descs = NULL;
    size_t i, n = in->svc->n_instances;
    ob_err err;

    memset(out, 0, sizeof(*out));
    descs = calloc(n + 1, sizeof(*descs));
    if (descs == NULL)
        return ob_fail(d, OB_ERR_NOMEM, "out of memory");
    err = check_instances(in, descs, out, d);
    for (i = 0; i < n; i++)
        ob_hsv3_desc_free(descs[i]);
    free(descs);
    return err;
}

/* ---- renewal ------------------------------------------------------------- */

#define DAY 86400

uint64_t onl_renew_due(uint64_t last_tp, const ob_tp_params *tpp, unsigned renew_days)
{
    uint64_t start = 0, ahead = (uint64_t)renew_days * DAY;

    /* A last period out of range starts after year 9999: renew "now". */
    if (ob_hsv3_tp_start(last_tp, tpp, &start) != 0)
        return 0;
    return start > ahead ? start - ahead : 0;
}

int onl_renew_step(onl_renew *st, uint64_t last_tp, const ob_tp_params *tpp, unsigned renew_days,
                   uint64_t now)
{
    if (last_tp != st->last_tp) {
        /* First look, or a certification was installed: a new run to watch. */
        memset(st, 0, sizeof(*st));
        st->last_tp = last_tp;
    }
    if (now < onl_renew_due(last_tp, tpp, renew_days))
        return ONL_RENEW_NONE;
    if (!st->requested)
        return ONL_RENEW_REQUEST;
    if (now >= st->next_warn) {
        st->next_warn = now + DAY;
        return ONL_RENEW_WARN;
    }
    return ONL_RENEW_NONE;
}

void onl_renew_done(onl_renew *st, int ok, uint64_t now)
{
    if (!ok)
        return;
    st->requested = 1;
    st->next_warn = now + DAY;
}

/*
 * compact.c - compact v3 responses: made by the signer from the request,
 * rebuilt by the online side from the request it kept (contract:
 * compact.h; the entry's layout: hs/hsv3_compact.h).
 */
#include "compact.h"

#include "buf.h"
#include "dedup.h"
#include "hsv3_build.h"
#include "hsv3_common.h"
#include "onion.h"
#include "pool.h"
#include "revisions.h"

#include <stdlib.h>
#include <string.h>

/* ---- the request's backend descriptors, each read once ---- */

typedef struct src_read {
    const ob_req_service *svc; /* the first service that named it */
    size_t inst;
    ob_hsv3_desc *desc; /* NULL: could not be read (err, msg) */
    ob_err err;
    char msg[OB_DIAG_MAX];
} src_read;

struct ob_req_sources {
    const ob_request *req;
    const ob_hsv3_desc ***desc; /* [service][instance]: lent or read, NULL: none */
    long **read_ix;             /* [service][instance]: index into reads, -1: none */
    ob_dedup *by_address;       /* service address -> its first index in req */
    ob_dedup *by_content;       /* (instance address, descriptor) -> index into reads */
    src_read *reads;
    size_t n_reads, cap_reads;
    uint8_t (*svc_key)[32]; /* [service]: its address decoded, once (svc_key_ok) */
    uint8_t *svc_key_ok;
};

void ob_req_sources_free(ob_req_sources *s)
{
    size_t i;

    if (s == NULL)
        return;
    for (i = 0; s->req != NULL && i < s->req->n_services; i++) {
        if (s->desc != NULL)
            free(s->desc[i]);
        if (s->read_ix != NULL)
            free(s->read_ix[i]);
    }
    for (i = 0; i < s->n_reads; i++)
        ob_hsv3_desc_free(s->reads[i].desc);
    free(s->reads);
    free(s->svc_key);
    free(s->svc_key_ok);
    free(s->desc);
    free(s->read_ix);
    ob_dedup_free(s->by_address);
    ob_dedup_free(s->by_content);
    free(s);
}

ob_err ob_req_sources_new(const ob_request *req, ob_req_sources **out, ob_diag *d)
{
    ob_req_sources *s = calloc(1, sizeof(*s));
    size_t i, j;
    int added;

    *out = NULL;
    if (s == NULL)
        return ob_fail(d, OB_ERR_NOMEM, "out of memory");
    s->req = req;
    s->desc = calloc(req->n_services + 1, sizeof(*s->desc));
    s->read_ix = calloc(req->n_services + 1, sizeof(*s->read_ix));
    s->by_address = ob_dedup_new();
    s->by_content = ob_dedup_new();
    s->svc_key = calloc(req->n_services + 1, sizeof(*s->svc_key));
    s->svc_key_ok = calloc(req->n_services + 1, 1);
    if (s->desc == NULL || s->read_ix == NULL || s->by_address == NULL || s->by_content == NULL ||
        s->svc_key == NULL || s->svc_key_ok == NULL)
        goto nomem;
    for (i = 0; i < req->n_services; i++) {
        const ob_req_service *rs = &req->services[i];
        ob_iov k = { rs->address != NULL ? rs->address : "",
                     rs->address ? strlen(rs->address) : 0 };
        s->desc[i] = calloc(rs->n_instances + 1, sizeof(*s->desc[i]));
        s->read_ix[i] = malloc((rs->n_instances + 1) * sizeof(*s->read_ix[i]));
        if (s->desc[i] == NULL || s->read_ix[i] == NULL ||
            ob_dedup_put(s->by_address, &k, 1, &added) < 0)
            goto nomem;
        for (j = 0; j <= rs->n_instances; j++)
            s->read_ix[i][j] = -1;
    }
    *out = s;
    return OB_OK;
nomem:
    ob_req_sources_free(s);
    return ob_fail(d, OB_ERR_NOMEM, "out of memory");
}

/* The index in the request of the v3 service with this address, or -1. */
static long service_index(const ob_req_sources *s, const char *address)
{
    ob_iov k = { address, strlen(address) };
    int added;
    long i;

    /* Every address was put in ob_req_sources_new: a new one is not there. */
    i = ob_dedup_put(s->by_address, &k, 1, &added);
    if (i < 0 || added || (size_t)i >= s->req->n_services || s->req->services[i].version != 3)
        return -1;
    return i;
}

ob_err ob_req_sources_lend(ob_req_sources *s, size_t si, size_t ii, const ob_hsv3_desc *desc,
                           ob_diag *d)
{
    if (si >= s->req->n_services || ii >= s->req->services[si].n_instances)
        return ob_fail(d, OB_ERR_INTERNAL, "lent descriptor out of range");
    s->desc[si][ii] = desc;
    return OB_OK;
}

/* Register instance ii of service si for reading (once per distinct descriptor). */
static ob_err want(ob_req_sources *s, size_t si, size_t ii, ob_diag *d)
{
    const ob_req_instance *ri = &s->req->services[si].instances[ii];
    ob_iov k[2];
    long r;
    int added;

    if (s->desc[si][ii] != NULL || s->read_ix[si][ii] >= 0 || ri->descriptor == NULL ||
        ri->descriptor_len == 0 || ri->address == NULL)
        return OB_OK;
    k[0] = (ob_iov){ ri->address, strlen(ri->address) };
    k[1] = (ob_iov){ ri->descriptor, ri->descriptor_len };
    r = ob_dedup_put(s->by_content, k, 2, &added);
    if (r < 0)
        return ob_fail(d, OB_ERR_NOMEM, "out of memory");
    if (added) {
        if (s->n_reads == s->cap_reads) {
            size_t nc = s->cap_reads ? 2 * s->cap_reads : 16;
            src_read *v = realloc(s->reads, nc * sizeof(*v));
            if (v == NULL)
                return ob_fail(d, OB_ERR_NOMEM, "out of memory");
            s->reads = v;
            s->cap_reads = nc;
        }
        memset(&s->reads[s->n_reads], 0, sizeof(s->reads[0]));
        s->reads[s->n_reads].svc = &s->req->services[si];
        s->reads[s->n_reads].inst = ii;
        s->reads[s->n_reads].err = OB_ERR_INTERNAL; /* until read */
        s->n_reads++;
    }
    s->read_ix[si][ii] = r;
    return OB_OK;
}

/* Read one distinct descriptor.  Not the judging: ob_hsv3_desc_read. */
static ob_err read_one(void *ctx, size_t i, ob_diag *d)
{
    src_read *r = &((ob_req_sources *)ctx)->reads[i];
    const ob_req_instance *ri = &r->svc->instances[r->inst];
    uint8_t pk[32];
    ob_diag e;

    (void)d;
    r->err = ob_onion_v3_decode(pk, ri->address, strlen(ri->address), &e);
    if (r->err == OB_OK)
        r->err = ob_hsv3_desc_read(ri->descriptor, ri->descriptor_len, pk, &r->desc, &e);
    if (r->err != OB_OK)
        memcpy(r->msg, e.msg, sizeof(r->msg));
    return OB_OK; /* a failure is the instance's, reported when it is used */
}

typedef struct read_ctx {
    ob_req_sources *s;
    size_t from;
} read_ctx;

static ob_err read_job(void *ctx, size_t i, unsigned slot, ob_diag *d)
{
    const read_ctx *r = ctx;

    (void)slot;
    return read_one(r->s, r->from + i, d);
}

/* Read every registered descriptor that has not been read yet, on every core. */
static ob_err read_pending(ob_req_sources *s, size_t from, unsigned threads, ob_diag *d)
{
    read_ctx r = { s, from };

    return ob_pool_run(s->n_reads - from, threads, read_job, &r, d);
}

/* Instance ii of service si as the online side reads it; the error names it. */
static ob_err source(const ob_req_sources *s, size_t si, size_t ii, const ob_hsv3_desc **out,
                     ob_diag *d)
{
    const ob_req_service *rs = &s->req->services[si];
    const src_read *r;

    *out = NULL;
    if (ii >= rs->n_instances)
        return ob_fail(d, OB_ERR_RANGE, "instance %zu, the request has %zu", ii, rs->n_instances);
    if (s->desc[si][ii] != NULL) {
        *out = s->desc[si][ii];
        return OB_OK;
    }
    if (rs->instances[ii].descriptor == NULL || rs->instances[ii].descriptor_len == 0)
        return ob_fail(d, OB_ERR_NOTFOUND, "instance %zu (%s) has no descriptor in the request", ii,
                       rs->instances[ii].address);
    if (s->read_ix[si][ii] < 0)
        return ob_fail(d, OB_ERR_NOTFOUND, "instance %zu (%s): its descriptor cannot be read", ii,
                       rs->instances[ii].address);
    r = &s->reads[s->read_ix[si][ii]];
    if (r->desc == NULL) {
        ob_fail(d, r->err, "%s", r->msg);
        ob_diag_prefix(d, "instance %zu (%s): ", ii, rs->instances[ii].address);
        return r->err;
    }
    *out = r->desc;
    return OB_OK;
}

static int intro_eq(const ob_hsv3_intro *a, const ob_hsv3_intro *b)
{
    return a->link_spec_len == b->link_spec_len &&
           memcmp(a->link_spec, b->link_spec, a->link_spec_len) == 0 &&
           memcmp(a->onion_key, b->onion_key, 32) == 0 &&
           memcmp(a->auth_key, b->auth_key, 32) == 0 && memcmp(a->enc_key, b->enc_key, 32) == 0;
}

/* ---- rebuild ---- */

/*
 * The bytes of one compact entry, from the sources.  The blinded key is the
 * one the entry's cert names: the result is verified (ob_response_expand)
 * or compared with bytes verified when they were signed (the signer's
 * self-check), so nothing is blinded here.
 */
static ob_err rebuild(const ob_hsv3_compact *c, const ob_req_sources *s, size_t si,
                      const ob_resp_descriptor *rd, const uint8_t A[32], uint8_t **out,
                      size_t *out_len, ob_diag *d)
{
    const ob_hsv3_intro *ips[OB_HSV3_MAX_INTROS];
    uint8_t sigs[OB_HSV3_MAX_INTROS][2][64];
    ob_tp_params tpp;
    ob_hsv3_build_in b;
    const ob_hsv3_desc *desc = NULL;
    ob_ed_cert cert;
    size_t i;
    ob_err err;

    *out = NULL;
    *out_len = 0;
    if ((err = ob_ed_cert_parse(&cert, c->cert, c->cert_len, d)) != OB_OK) {
        ob_diag_prefix(d, "signing-key certificate: ");
        return err;
    }
    if (!cert.has_signer)
        return ob_fail(d, OB_ERR_MALFORMED,
                       "signing-key certificate: no signed-with-key (04) "
                       "extension");
    for (i = 0; i < c->n_intros; i++) {
        const ob_hsv3_compact_intro *ci = &c->intros[i];
        if ((err = source(s, si, ci->instance, &desc, d)) != OB_OK) {
            ob_diag_prefix(d, "intro point %zu: ", i);
            return err;
        }
        if (ci->intro >= desc->n_intros)
            return ob_fail(d, OB_ERR_RANGE,
                           "intro point %zu: instance %u has %zu intro points, not %u", i,
                           (unsigned)ci->instance, desc->n_intros, (unsigned)ci->intro + 1);
        ips[i] = &desc->intros[ci->intro];
        memcpy(sigs[i], ci->sigs, sizeof(sigs[i]));
    }
    tpp.length_min = s->req->consensus.tp_length_min;
    tpp.offset_min = s->req->consensus.tp_offset_min;
    if (tpp.length_min == 0)
        return ob_fail(d, OB_ERR_RANGE, "the request's time period length is 0");
    memset(&b, 0, sizeof(b));
    b.identity_pk = A;
    b.tp = rd->tp;
    b.tpp = &tpp;
    b.signing_cert = c->cert;
    b.signing_cert_len = c->cert_len;
    b.blinded_pk = cert.signer;
    b.sign_pk = cert.certified;
    b.lifetime_min = c->lifetime_min;
    b.revision = rd->revision;
    b.intros = ips;
    b.n_intros = c->n_intros;
    b.flow_control = c->flow_control[0] != '\0' ? c->flow_control : NULL;
    b.layout_seed = c->seed;
    b.intro_sigs = (const uint8_t(*)[2][64])sigs;
    b.desc_sig = c->desc_sig;
    return ob_hsv3_build(&b, out, out_len, d);
}

/* Verify rebuilt bytes with the blinded key of (service, period); tpp from the request. */
static ob_err verify_rebuilt(const ob_req_sources *s, const ob_hsv3_compact *c,
                             const ob_resp_descriptor *rd, const uint8_t A[32],
                             ob_hsv3_period_key *k, const uint8_t *text, size_t len, ob_diag *d)
{
    ob_tp_params tpp = { s->req->consensus.tp_length_min, s->req->consensus.tp_offset_min };
    ob_hsv3_verify_opts o;
    ob_hsv3_reason why = OB_HSV3_OK;
    ob_hsv3_desc *check = NULL;
    ob_err err;

    memset(&o, 0, sizeof(o));
    o.reason = &why;
    o.strict_enc_cert = 1;
    err = ob_hsv3_desc_verify_any(text, len, A, k, 1, &tpp, &o, &check, d);
    if (err != OB_OK) {
        ob_diag_prefix(d,
                       "the rebuilt descriptor does not verify (%s): ", ob_hsv3_reason_name(why));
    } else if (check->n_intros != c->n_intros || check->revision != rd->revision) {
        err = ob_fail(d, OB_ERR_INTERNAL, "the rebuilt descriptor lost intro points");
    }
    ob_hsv3_desc_free(check);
    return err;
}

/* Decode rd's entry and register the instances it names for reading. */
static ob_err entry_prepare(ob_req_sources *s, const ob_resp_descriptor *rd, ob_hsv3_compact *c,
                            long *si, uint8_t A[32], ob_diag *d)
{
    size_t i;
    ob_err err;

    if (rd->version != 3 || rd->compact == NULL || rd->compact_len == 0)
        return ob_fail(d, OB_ERR_MALFORMED, "not a compact v3 descriptor");
    if ((err = ob_hsv3_compact_decode(rd->compact, rd->compact_len, c, d)) != OB_OK) {
        ob_diag_prefix(d, "compact entry: ");
        return err;
    }
    if (rd->service == NULL || (*si = service_index(s, rd->service)) < 0)
        return ob_fail(d, OB_ERR_NOTFOUND, "the request has no v3 service %s.onion",
                       rd->service != NULL ? rd->service : "?");
    /* Once per service, however many descriptors it has (entries are prepared in order). */
    if (!s->svc_key_ok[*si]) {
        if ((err = ob_onion_v3_decode(s->svc_key[*si], rd->service, strlen(rd->service), d)) !=
            OB_OK)
            return err;
        s->svc_key_ok[*si] = 1;
    }
    memcpy(A, s->svc_key[*si], 32);
    for (i = 0; i < c->n_intros; i++)
        if (c->intros[i].instance < s->req->services[*si].n_instances &&
            (err = want(s, (size_t)*si, c->intros[i].instance, d)) != OB_OK)
            return err;
    return OB_OK;
}

ob_err ob_hsv3_compact_rebuild(const ob_request *req, const ob_resp_descriptor *rd, uint8_t **out,
                               size_t *out_len, ob_diag *d)
{
    ob_req_sources *s = NULL;
    ob_hsv3_period_key k;
    ob_hsv3_compact c;
    uint8_t A[32];
    long si = -1;
    ob_err err;

    *out = NULL;
    *out_len = 0;
    if ((err = ob_req_sources_new(req, &s, d)) != OB_OK)
        return err;
    memset(&k, 0, sizeof(k));
    k.tp = rd->tp;
    err = entry_prepare(s, rd, &c, &si, A, d);
    if (err == OB_OK)
        err = read_pending(s, 0, 1, d);
    if (err == OB_OK)
        err = rebuild(&c, s, (size_t)si, rd, A, out, out_len, d);
    if (err == OB_OK)
        err = verify_rebuilt(s, &c, rd, A, &k, *out, *out_len, d);
    if (err != OB_OK) {
        free(*out);
        *out = NULL;
        *out_len = 0;
    }
    ob_req_sources_free(s);
    return err;
}

ob_err ob_hsv3_compact_make_with(ob_hsv3_compact *c, const ob_req_sources *s, size_t si,
                                 const ob_hsv3_intro *const *intros, size_t n, uint8_t **out,
                                 size_t *out_len, ob_diag *d)
{
    const ob_req_service *rs;
    const ob_hsv3_desc *desc;
    ob_diag ignored;
    ob_buf enc;
    size_t i, k, m;
    ob_err err;
    int found;

    *out = NULL;
    *out_len = 0;
    if (n != c->n_intros || n > OB_HSV3_MAX_INTROS || si >= s->req->n_services)
        return ob_fail(d, OB_ERR_INTERNAL, "compact: %zu intro points, the signer made %zu", n,
                       c->n_intros);
    rs = &s->req->services[si];
    for (i = 0; i < n; i++) {
        found = 0;
        for (k = 0; k < rs->n_instances && k <= UINT16_MAX && !found; k++) {
            if (rs->instances[k].status != OB_INSTANCE_OK ||
                source(s, si, k, &desc, &ignored) != OB_OK)
                continue;
            for (m = 0; m < desc->n_intros && m <= UINT8_MAX && !found; m++)
                if (intro_eq(&desc->intros[m], intros[i])) {
                    c->intros[i].instance = (uint16_t)k;
                    c->intros[i].intro = (uint8_t)m;
                    found = 1;
                }
        }
        if (!found)
            return ob_fail(d, OB_ERR_UNSUPPORTED,
                           "intro point %zu is in no backend descriptor the online side can read "
                           "(client authorization?)",
                           i);
    }
    ob_buf_init(&enc);
    if ((err = ob_hsv3_compact_encode(c, &enc, d)) == OB_OK) {
        *out = ob_buf_detach(&enc, out_len);
        err = *out == NULL ? ob_fail(d, OB_ERR_NOMEM, "out of memory") : OB_OK;
    }
    ob_buf_free(&enc);
    return err;
}

ob_err ob_hsv3_compact_make(ob_hsv3_compact *c, const ob_request *req, const ob_resp_descriptor *rd,
                            const ob_hsv3_intro *const *intros, size_t n, uint8_t **out,
                            size_t *out_len, ob_diag *d)
{
    ob_req_sources *s = NULL;
    ob_resp_descriptor tmp;
    uint8_t *text = NULL, A[32];
    size_t text_len = 0, i;
    long si;
    ob_err err;

    *out = NULL;
    *out_len = 0;
    if ((err = ob_req_sources_new(req, &s, d)) != OB_OK)
        return err;
    if (rd->service == NULL || (si = service_index(s, rd->service)) < 0) {
        err = ob_fail(d, OB_ERR_NOTFOUND, "the request has no v3 service %s.onion",
                      rd->service != NULL ? rd->service : "?");
        goto out;
    }
    for (i = 0; i < req->services[si].n_instances; i++)
        if (req->services[si].instances[i].status == OB_INSTANCE_OK &&
            (err = want(s, (size_t)si, i, d)) != OB_OK)
            goto out;
    if ((err = read_pending(s, 0, 1, d)) != OB_OK ||
        (err = ob_hsv3_compact_make_with(c, s, (size_t)si, intros, n, out, out_len, d)) != OB_OK)
        goto out;
    /* Standalone, the rebuild is checked here (the signer checks all at once). */
    tmp = *rd;
    tmp.compact = *out;
    tmp.compact_len = *out_len;
    if ((err = ob_onion_v3_decode(A, rd->service, strlen(rd->service), d)) == OB_OK)
        err = rebuild(c, s, (size_t)si, &tmp, A, &text, &text_len, d);
    if (err != OB_OK || text_len != rd->descriptor_len ||
        memcmp(text, rd->descriptor, text_len) != 0) {
        if (err == OB_OK)
            ob_fail(d, OB_ERR_UNSUPPORTED,
                    "compact form: the rebuilt descriptor differs from the signed one");
        else
            ob_diag_prefix(d, "compact form: ");
        err = OB_ERR_UNSUPPORTED;
    }
out:
    if (err != OB_OK) {
        free(*out);
        *out = NULL;
        *out_len = 0;
    }
    free(text);
    ob_req_sources_free(s);
    return err;
}

/* ---- whole responses ---- */

static ob_err same_request(const ob_response *resp, const ob_request *req, ob_diag *d)
{
    char want[OB_BUNDLE_SHORT_LEN], got[OB_BUNDLE_SHORT_LEN];

    if (memcmp(resp->request_digest, req->digest, OB_BUNDLE_DIGEST_LEN) == 0)
        return OB_OK;
    ob_bundle_digest_short(resp->request_digest, want);
    ob_bundle_digest_short(req->digest, got);
    return ob_fail(d, OB_ERR_REFUSED,
                   "the response answers request %s, this request is %s: give the request the "
                   "response was signed for",
                   want, got);
}

static void name_descriptor(ob_diag *d, size_t i, const ob_resp_descriptor *rd)
{
    ob_diag_prefix(d, "descriptor %zu (%s.onion period %llu slot %u group %u): ", i,
                   rd->service != NULL ? rd->service : "?", (unsigned long long)rd->tp,
                   (unsigned)rd->slot, (unsigned)rd->group);
}

/* One compact record of a response being expanded or checked. */
typedef struct job {
    ob_hsv3_compact c;
    long si;
    uint8_t A[32];
    long key; /* index into the (service, period) blinded keys, or -1 */
} job;

/*
 * Decode every compact entry and read every backend descriptor they name,
 * once per distinct descriptor.  jobs[i] is for resp->descriptors[i].
 */
static ob_err prepare_all(ob_req_sources *s, const ob_response *resp, job *jobs, unsigned threads,
                          ob_diag *d)
{
    size_t i, before = s->n_reads;
    ob_err err;

    for (i = 0; i < resp->n_descriptors; i++) {
        const ob_resp_descriptor *rd = &resp->descriptors[i];
        jobs[i].si = -1;
        jobs[i].key = -1;
        if (rd->compact == NULL || rd->compact_len == 0)
            continue;
        if ((err = entry_prepare(s, rd, &jobs[i].c, &jobs[i].si, jobs[i].A, d)) != OB_OK) {
            name_descriptor(d, i, rd);
            return err;
        }
    }
    return read_pending(s, before, threads, d);
}

/* The jobs of a response being expanded or checked (format/core/pool.h). */
typedef struct resp_ctx {
    ob_req_sources *s;
    const ob_response *resp;        /* being expanded or checked */
    const ob_response *signed_resp; /* check: what was signed */
    job *jobs;
    ob_hsv3_period_key *keys; /* expand: one per (service, period) */
    size_t *key_first;        /* expand: the first descriptor of each key */
    uint8_t **text;           /* expand: the rebuilt bytes, by descriptor */
    size_t *len;
} resp_ctx;

/* Blind one (service, period) for the verification of its groups. */
static ob_err key_job(void *ctx, size_t i, unsigned slot, ob_diag *d)
{
    resp_ctx *x = ctx;
    ob_hsv3_period_key *k = &x->keys[i];
    size_t j = x->key_first[i]; /* it names the service */

    (void)slot;
    if (ob_hsv3_blind_public(k->blinded, x->jobs[j].A, k->tp, x->s->req->consensus.tp_length_min) !=
        0) {
        name_descriptor(d, j, &x->resp->descriptors[j]);
        return ob_fail(d, OB_ERR_REFUSED, "the service's key cannot be blinded");
    }
    k->known = 1;
    return OB_OK;
}

static ob_err expand_job(void *ctx, size_t i, unsigned slot, ob_diag *d)
{
    resp_ctx *x = ctx;
    const ob_resp_descriptor *rd = &x->resp->descriptors[i];
    const job *jb = &x->jobs[i];
    ob_err err;

    (void)slot;
    if (jb->si < 0)
        return OB_OK;
    err = rebuild(&jb->c, x->s, (size_t)jb->si, rd, jb->A, &x->text[i], &x->len[i], d);
    if (err == OB_OK)
        err = verify_rebuilt(x->s, &jb->c, rd, jb->A, &x->keys[jb->key], x->text[i], x->len[i], d);
    if (err != OB_OK)
        name_descriptor(d, i, rd);
    return err;
}

ob_err ob_response_expand(ob_response *resp, const ob_request *req, ob_diag *d)
{
    ob_req_sources *s = NULL;
    ob_dedup *key_ix = NULL;
    resp_ctx x;
    ob_tp_params tpp;
    size_t i, n_keys = 0;
    unsigned threads;
    ob_err err;

    if ((err = same_request(resp, req, d)) != OB_OK)
        return err;
    if ((err = ob_req_sources_new(req, &s, d)) != OB_OK)
        return err;
    (void)ob_pool_threads(NULL, &threads);
    memset(&x, 0, sizeof(x));
    x.s = s;
    x.resp = resp;
    x.jobs = calloc(resp->n_descriptors + 1, sizeof(*x.jobs));
    x.keys = calloc(resp->n_descriptors + 1, sizeof(*x.keys));
    x.key_first = calloc(resp->n_descriptors + 1, sizeof(*x.key_first));
    x.text = calloc(resp->n_descriptors + 1, sizeof(*x.text));
    x.len = calloc(resp->n_descriptors + 1, sizeof(*x.len));
    key_ix = ob_dedup_new();
    if (x.jobs == NULL || x.keys == NULL || x.key_first == NULL || x.text == NULL ||
        x.len == NULL || key_ix == NULL) {
        err = ob_fail(d, OB_ERR_NOMEM, "out of memory");
        goto out;
    }
    if ((err = prepare_all(s, resp, x.jobs, threads, d)) != OB_OK)
        goto out;
    /* One blinded key per (service, period), however many groups it has. */
    for (i = 0; i < resp->n_descriptors; i++) {
        const ob_resp_descriptor *rd = &resp->descriptors[i];
        uint8_t tpb[8];
        ob_iov k[2];
        int added;
        if (x.jobs[i].si < 0)
            continue;
        ob_store_u64(tpb, rd->tp);
        k[0] = (ob_iov){ x.jobs[i].A, 32 };
        k[1] = (ob_iov){ tpb, 8 };
        if ((x.jobs[i].key = ob_dedup_put(key_ix, k, 2, &added)) < 0) {
            err = ob_fail(d, OB_ERR_NOMEM, "out of memory");
            goto out;
        }
        x.keys[x.jobs[i].key].tp = rd->tp;
        if (added)
            x.key_first[n_keys++] = i;
    }
    if ((err = ob_pool_run(n_keys, threads, key_job, &x, d)) != OB_OK ||
        (err = ob_pool_run(resp->n_descriptors, threads, expand_job, &x, d)) != OB_OK)
        goto out;
    for (i = 0; i < resp->n_descriptors; i++) {
        ob_resp_descriptor *rd = &resp->descriptors[i];
        if (x.jobs[i].si < 0)
            continue;
        free(rd->descriptor);
        rd->descriptor = x.text[i];
        rd->descriptor_len = x.len[i];
        x.text[i] = NULL;
        if (rd->revisions != NULL && rd->revisions_len != 0)
            continue; /* its further revisions are rebuilt from the entry (revisions.h) */
        free(rd->compact);
        rd->compact = NULL;
        rd->compact_len = 0;
    }
    tpp.length_min = req->consensus.tp_length_min;
    tpp.offset_min = req->consensus.tp_offset_min;
    err = ob_response_check_revisions(resp, &tpp, 0, d);
out:
    for (i = 0; x.text != NULL && i < resp->n_descriptors; i++)
        free(x.text[i]);
    free(x.text);
    free(x.len);
    ob_dedup_free(key_ix);
    free(x.key_first);
    free(x.keys);
    free(x.jobs);
    ob_req_sources_free(s);
    return err;
}

static ob_err check_job(void *ctx, size_t i, unsigned slot, ob_diag *d)
{
    resp_ctx *x = ctx;
    const ob_resp_descriptor *rd = &x->resp->descriptors[i], *sd = &x->signed_resp->descriptors[i];
    const job *jb = &x->jobs[i];
    const uint8_t *have = rd->descriptor;
    uint8_t *text = NULL;
    size_t have_len = rd->descriptor_len, len = 0;
    ob_err err = OB_OK;

    (void)slot;
    if (jb->si >= 0) {
        err = rebuild(&jb->c, x->s, (size_t)jb->si, rd, jb->A, &text, &len, d);
        if (err != OB_OK) {
            name_descriptor(d, i, rd);
            return err;
        }
        have = text;
        have_len = len;
    }
    if (have == NULL || sd->descriptor == NULL || have_len != sd->descriptor_len ||
        memcmp(have, sd->descriptor, have_len) != 0)
        err =
            ob_fail(d, OB_ERR_INTERNAL,
                    "self-check: descriptor %zu (%s.onion) does not %s to the bytes signed", i,
                    rd->service != NULL ? rd->service : "?", jb->si >= 0 ? "rebuild" : "read back");
    free(text);
    return err;
}

ob_err ob_response_rebuild_check(const ob_response *back, ob_req_sources *s,
                                 const ob_response *signed_resp, unsigned threads, ob_diag *d)
{
    resp_ctx x;
    ob_err err;

    if ((err = same_request(back, s->req, d)) != OB_OK)
        return err;
    if (back->n_descriptors != signed_resp->n_descriptors)
        return ob_fail(d, OB_ERR_INTERNAL, "self-check: %zu descriptors read back, %zu signed",
                       back->n_descriptors, signed_resp->n_descriptors);
    memset(&x, 0, sizeof(x));
    x.s = s;
    x.resp = back;
    x.signed_resp = signed_resp;
    if ((x.jobs = calloc(back->n_descriptors + 1, sizeof(*x.jobs))) == NULL)
        return ob_fail(d, OB_ERR_NOMEM, "out of memory");
    err = prepare_all(s, back, x.jobs, threads, d);
    if (err == OB_OK)
        err = ob_pool_run(back->n_descriptors, threads, check_job, &x, d);
    free(x.jobs);
    return err;
}

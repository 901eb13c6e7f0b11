/*
 * compact.c - compact v3 responses: made by the signer from the request,
 * rebuilt by the online side from the request it kept (contract:
 * compact.h; the entry's layout: hs/hsv3_compact.h).
 */
#include "compact.h"

#include "buf.h"
#include "hsv3_build.h"
#include "hsv3_common.h"
#include "onion.h"
#include "revisions.h"

#include <stdlib.h>
#include <string.h>

/* ---- the request's backend descriptors, read as the offline side read them ---- */

typedef struct sources {
    const ob_req_service *svc;
    ob_tp_params tpp;
    uint64_t tps[3 * (OB_BUNDLE_MAX_PERIODS + 1)];
    size_t n_tps;
    ob_hsv3_desc **descs; /* per instance, parsed on first use */
    uint8_t *tried;
} sources;

static ob_err sources_init(sources *s, const ob_request *req, const ob_resp_descriptor *rd,
                           ob_diag *d)
{
    size_t i, k;

    memset(s, 0, sizeof(*s));
    for (i = 0; i < req->n_services; i++)
        if (req->services[i].version == 3 && req->services[i].address != NULL &&
            rd->service != NULL && strcmp(req->services[i].address, rd->service) == 0)
            s->svc = &req->services[i];
    if (s->svc == NULL)
        return ob_fail(d, OB_ERR_NOTFOUND, "the request has no v3 service %s.onion",
                       rd->service != NULL ? rd->service : "?");
    if (req->consensus.tp_length_min == 0)
        return ob_fail(d, OB_ERR_RANGE, "the request's time period length is 0");
    s->tpp.length_min = req->consensus.tp_length_min;
    s->tpp.offset_min = req->consensus.tp_offset_min;
    /* The periods the offline side may have found a backend blinded for. */
    for (i = 0; i <= s->svc->n_periods && i <= OB_BUNDLE_MAX_PERIODS; i++) {
        uint64_t tp = i < s->svc->n_periods ? s->svc->periods[i].tp : rd->tp;
        for (k = 0; k < 3; k++)
            if (tp + k >= 1)
                s->tps[s->n_tps++] = tp + k - 1;
    }
    s->descs = calloc(s->svc->n_instances + 1, sizeof(*s->descs));
    s->tried = calloc(s->svc->n_instances + 1, 1);
    if (s->descs == NULL || s->tried == NULL)
        return ob_fail(d, OB_ERR_NOMEM, "out of memory");
    return OB_OK;
}

static void sources_clear(sources *s)
{
    size_t i;

    if (s->descs != NULL && s->svc != NULL)
        for (i = 0; i < s->svc->n_instances; i++)
            ob_hsv3_desc_free(s->descs[i]);
    free(s->descs);
    free(s->tried);
    memset(s, 0, sizeof(*s));
}

/*
 * Instance i's intro points.  Not checked for expiry and not strict about
 * 0B certs: whatever is taken from here ends up certified by the master's
 * signing key, and the rebuilt descriptor is verified as a whole.
 */
static ob_err sources_get(sources *s, size_t i, const ob_hsv3_desc **out, ob_diag *d)
{
    const ob_req_instance *ri;
    ob_hsv3_verify_opts o;
    uint8_t pk[32];
    size_t which = 0;
    ob_err err;

    *out = NULL;
    if (i >= s->svc->n_instances)
        return ob_fail(d, OB_ERR_RANGE, "instance %zu, the request has %zu", i,
                       s->svc->n_instances);
    ri = &s->svc->instances[i];
    if (!s->tried[i]) {
        s->tried[i] = 1;
        if (ri->descriptor == NULL || ri->descriptor_len == 0)
            return ob_fail(d, OB_ERR_NOTFOUND, "instance %zu (%s) has no descriptor in the request",
                           i, ri->address);
        if ((err = ob_onion_v3_decode(pk, ri->address, strlen(ri->address), d)) != OB_OK ||
            (err = ob_hsv3_desc_find_tp(ri->descriptor, ri->descriptor_len, pk, s->tps, s->n_tps,
                                        &s->tpp, &which, d)) != OB_OK)
            goto fail;
        memset(&o, 0, sizeof(o));
        if ((err = ob_hsv3_desc_verify(ri->descriptor, ri->descriptor_len, pk, s->tps[which],
                                       &s->tpp, &o, &s->descs[i], d)) != OB_OK)
            goto fail;
    }
    if (s->descs[i] == NULL)
        return ob_fail(d, OB_ERR_NOTFOUND, "instance %zu (%s): its descriptor cannot be read", i,
                       ri->address);
    *out = s->descs[i];
    return OB_OK;
fail:
    ob_diag_prefix(d, "instance %zu (%s): ", i, ri->address);
    return err;
}

static int intro_eq(const ob_hsv3_intro *a, const ob_hsv3_intro *b)
{
    return a->link_spec_len == b->link_spec_len &&
           memcmp(a->link_spec, b->link_spec, a->link_spec_len) == 0 &&
           memcmp(a->onion_key, b->onion_key, 32) == 0 &&
           memcmp(a->auth_key, b->auth_key, 32) == 0 && memcmp(a->enc_key, b->enc_key, 32) == 0;
}

/* ---- rebuild ---- */

static ob_err rebuild(const ob_hsv3_compact *c, sources *s, const ob_resp_descriptor *rd,
                      uint8_t **out, size_t *out_len, ob_diag *d)
{
    const ob_hsv3_intro *ips[OB_HSV3_MAX_INTROS];
    uint8_t sigs[OB_HSV3_MAX_INTROS][2][64], A[32];
    ob_hsv3_build_in b;
    ob_hsv3_verify_opts o;
    ob_hsv3_reason why = OB_HSV3_OK;
    const ob_hsv3_desc *desc = NULL;
    ob_hsv3_desc *check = NULL;
    ob_ed_cert cert;
    size_t i;
    ob_err err;

    *out = NULL;
    *out_len = 0;
    if ((err = ob_onion_v3_decode(A, rd->service, strlen(rd->service), d)) != OB_OK)
        return err;
    if ((err = ob_ed_cert_parse(&cert, c->cert, c->cert_len, d)) != OB_OK) {
        ob_diag_prefix(d, "signing-key certificate: ");
        return err;
    }
    for (i = 0; i < c->n_intros; i++) {
        const ob_hsv3_compact_intro *ci = &c->intros[i];
        if ((err = sources_get(s, ci->instance, &desc, d)) != OB_OK) {
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
    memset(&b, 0, sizeof(b));
    b.identity_pk = A;
    b.tp = rd->tp;
    b.tpp = &s->tpp;
    b.signing_cert = c->cert;
    b.signing_cert_len = c->cert_len;
    b.sign_pk = cert.certified;
    b.lifetime_min = c->lifetime_min;
    b.revision = rd->revision;
    b.intros = ips;
    b.n_intros = c->n_intros;
    b.flow_control = c->flow_control[0] != '\0' ? c->flow_control : NULL;
    b.layout_seed = c->seed;
    b.intro_sigs = (const uint8_t(*)[2][64])sigs;
    b.desc_sig = c->desc_sig;
    if ((err = ob_hsv3_build(&b, out, out_len, d)) != OB_OK)
        return err;
    memset(&o, 0, sizeof(o));
    o.reason = &why;
    o.strict_enc_cert = 1;
    err = ob_hsv3_desc_verify(*out, *out_len, A, rd->tp, &s->tpp, &o, &check, d);
    if (err != OB_OK) {
        ob_diag_prefix(d,
                       "the rebuilt descriptor does not verify (%s): ", ob_hsv3_reason_name(why));
    } else if (check->n_intros != c->n_intros || check->revision != rd->revision) {
        err = ob_fail(d, OB_ERR_INTERNAL, "the rebuilt descriptor lost intro points");
    }
    ob_hsv3_desc_free(check);
    if (err != OB_OK) {
        free(*out);
        *out = NULL;
        *out_len = 0;
    }
    return err;
}

ob_err ob_hsv3_compact_rebuild(const ob_request *req, const ob_resp_descriptor *rd, uint8_t **out,
                               size_t *out_len, ob_diag *d)
{
    ob_hsv3_compact c;
    sources s;
    ob_err err;

    *out = NULL;
    *out_len = 0;
    memset(&s, 0, sizeof(s));
    if (rd->version != 3 || rd->compact == NULL || rd->compact_len == 0)
        return ob_fail(d, OB_ERR_MALFORMED, "not a compact v3 descriptor");
    if ((err = ob_hsv3_compact_decode(rd->compact, rd->compact_len, &c, d)) != OB_OK) {
        ob_diag_prefix(d, "compact entry: ");
        return err;
    }
    if ((err = sources_init(&s, req, rd, d)) == OB_OK)
        err = rebuild(&c, &s, rd, out, out_len, d);
    sources_clear(&s);
    return err;
}

ob_err ob_hsv3_compact_make(ob_hsv3_compact *c, const ob_request *req, const ob_resp_descriptor *rd,
                            const ob_hsv3_intro *const *intros, size_t n, uint8_t **out,
                            size_t *out_len, ob_diag *d)
{
    const ob_hsv3_desc *desc;
    ob_buf enc;
    ob_diag ignored;
    uint8_t *text = NULL;
    size_t text_len = 0, i, k, m;
    sources s;
    ob_err err;
    int found;

    *out = NULL;
    *out_len = 0;
    ob_buf_init(&enc);
    if (n != c->n_intros || n > OB_HSV3_MAX_INTROS)
        return ob_fail(d, OB_ERR_INTERNAL, "compact: %zu intro points, the signer made %zu", n,
                       c->n_intros);
    if ((err = sources_init(&s, req, rd, d)) != OB_OK)
        goto out;
    for (i = 0; i < n; i++) {
        found = 0;
        for (k = 0; k < s.svc->n_instances && k <= UINT16_MAX && !found; k++) {
            if (s.svc->instances[k].status != OB_INSTANCE_OK ||
                sources_get(&s, k, &desc, &ignored) != OB_OK)
                continue;
            for (m = 0; m < desc->n_intros && m <= UINT8_MAX && !found; m++)
                if (intro_eq(&desc->intros[m], intros[i])) {
                    c->intros[i].instance = (uint16_t)k;
                    c->intros[i].intro = (uint8_t)m;
                    found = 1;
                }
        }
        if (!found) {
            err = ob_fail(d, OB_ERR_UNSUPPORTED,
                          "intro point %zu is in no backend descriptor the online side can read "
                          "(client authorization?)",
                          i);
            goto out;
        }
    }
    if ((err = ob_hsv3_compact_encode(c, &enc, d)) != OB_OK)
        goto out;
    {
        ob_resp_descriptor tmp = *rd;
        tmp.compact = enc.p;
        tmp.compact_len = enc.len;
        if ((err = rebuild(c, &s, &tmp, &text, &text_len, d)) != OB_OK) {
            ob_diag_prefix(d, "compact form: ");
            err = OB_ERR_UNSUPPORTED;
            goto out;
        }
    }
    if (text_len != rd->descriptor_len || memcmp(text, rd->descriptor, text_len) != 0) {
        err = ob_fail(d, OB_ERR_UNSUPPORTED,
                      "compact form: the rebuilt descriptor differs from the signed one");
        goto out;
    }
    *out = ob_buf_detach(&enc, out_len);
    err = *out == NULL ? ob_fail(d, OB_ERR_NOMEM, "out of memory") : OB_OK;
out:
    free(text);
    ob_buf_free(&enc);
    sources_clear(&s);
    return err;
}

ob_err ob_response_expand(ob_response *resp, const ob_request *req, ob_diag *d)
{
    char want[OB_BUNDLE_SHORT_LEN], got[OB_BUNDLE_SHORT_LEN];
    ob_tp_params tpp;
    uint8_t *text = NULL;
    size_t i, len = 0;
    ob_err err;

    if (memcmp(resp->request_digest, req->digest, OB_BUNDLE_DIGEST_LEN) != 0) {
        ob_bundle_digest_short(resp->request_digest, want);
        ob_bundle_digest_short(req->digest, got);
        return ob_fail(d, OB_ERR_REFUSED,
                       "the response answers request %s, this request is %s: give the request "
                       "the response was signed for",
                       want, got);
    }
    for (i = 0; i < resp->n_descriptors; i++) {
        ob_resp_descriptor *rd = &resp->descriptors[i];
        if (rd->compact == NULL || rd->compact_len == 0)
            continue;
        if ((err = ob_hsv3_compact_rebuild(req, rd, &text, &len, d)) != OB_OK) {
            ob_diag_prefix(d, "descriptor %zu (%s.onion period %llu slot %u group %u): ", i,
                           rd->service, (unsigned long long)rd->tp, (unsigned)rd->slot,
                           (unsigned)rd->group);
            return err;
        }
        free(rd->descriptor);
        rd->descriptor = text;
        rd->descriptor_len = len;
        if (rd->revisions != NULL && rd->revisions_len != 0)
            continue; /* its further revisions are rebuilt from the entry (revisions.h) */
        free(rd->compact);
        rd->compact = NULL;
        rd->compact_len = 0;
    }
    tpp.length_min = req->consensus.tp_length_min;
    tpp.offset_min = req->consensus.tp_offset_min;
    return ob_response_check_revisions(resp, &tpp, 0, d);
}

/* hsv3_sign_desc.c - build, sign and self-verify a master descriptor (hsv3_sign_desc.h). */
#include "hsv3_sign_desc.h"

#include "crypto.h"
#include "encode.h"
#include "fileio.h"
#include "hsv3_build.h"
#include "hsv3_cert.h"
#include "onion.h"
#include "secmem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXPIRY_MARGIN_S 3600

int ob_hsv3_desc_window(uint64_t tp, const ob_tp_params *p, uint64_t *from, uint64_t *until)
{
    uint64_t span;

    *until = 0;
    if (ob_hsv3_srv_run_start(tp, p, from) != 0)
        return -1;
    span = 2 * p->length_min * 60; /* length_min <= OB_HSV3_TP_LENGTH_MAX: no overflow */
    if (*from > OB_TIME_MAX - span) {
        *from = 0;
        return -1;
    }
    *until = *from + span;
    return 0;
}

uint32_t ob_hsv3_cert_expiry_hours(uint64_t tp, const ob_tp_params *p, unsigned lifetime_min)
{
    uint64_t from, until;

    if (ob_hsv3_desc_window(tp, p, &from, &until) != 0)
        return 0; /* expired from the start: every verifier refuses it */
    return ob_ed_cert_expiry_hours(until, (uint64_t)lifetime_min * 60 + EXPIRY_MARGIN_S);
}

/* The signed descriptor must carry exactly the intro points we were given. */
static ob_err check_result(const ob_hsv3_sign_desc_in *in, const ob_hsv3_desc *desc, ob_diag *d)
{
    size_t i;

    if (desc->n_intros != in->n_intros)
        return ob_fail(d, OB_ERR_INTERNAL, "self-check: %zu intro points, built %zu",
                       desc->n_intros, in->n_intros);
    if (desc->revision != in->revision)
        return ob_fail(d, OB_ERR_INTERNAL, "self-check: revision counter %llu, built %llu",
                       (unsigned long long)desc->revision, (unsigned long long)in->revision);
    for (i = 0; i < desc->n_intros; i++) {
        const ob_hsv3_intro *a = &desc->intros[i], *b = in->intros[i];
        if (memcmp(a->auth_key, b->auth_key, 32) != 0 ||
            memcmp(a->onion_key, b->onion_key, 32) != 0 ||
            memcmp(a->enc_key, b->enc_key, 32) != 0 || !a->enc_cert_binds ||
            a->link_spec_len != b->link_spec_len ||
            memcmp(a->link_spec, b->link_spec, a->link_spec_len) != 0)
            return ob_fail(d, OB_ERR_INTERNAL, "self-check: intro point %zu differs", i);
    }
    return OB_OK;
}

/*
 * Revisions 1..n: the same build with other counters.  The intro point
 * certs do not depend on the counter, so revision 0's signatures are
 * assembled into them and only the document is signed again; with the
 * build cache revision 0 filled, not even assembled: only the layers are
 * encrypted again (ob_hsv3_build_cache).
 */
static ob_err sign_more(const ob_hsv3_sign_desc_in *in, ob_hsv3_build_in *b,
                        const uint8_t (*sigs0)[2][64], ob_diag *d)
{
    uint8_t *text = NULL;
    uint64_t prev = in->revision;
    size_t k, len = 0;
    ob_err err;

    if (in->n_more > 0 &&
        (in->compact == NULL || in->more_revisions == NULL || in->more_sigs == NULL))
        return ob_fail(d, OB_ERR_INTERNAL, "further revisions need the compact form");
    b->intro_sigs = sigs0;
    b->intro_sigs_out = NULL;
    b->desc_sig = NULL;
    for (k = 0; k < in->n_more; k++) {
        if (in->more_revisions[k] <= prev)
            return ob_fail(d, OB_ERR_INTERNAL, "revision %zu: counter %llu does not exceed %llu",
                           k + 1, (unsigned long long)in->more_revisions[k],
                           (unsigned long long)prev);
        prev = in->more_revisions[k];
        b->revision = prev;
        b->desc_sig_out = in->more_sigs[k];
        if ((err = ob_hsv3_build(b, &text, &len, d)) != OB_OK)
            return err;
        free(text);
        text = NULL;
    }
    b->revision = in->revision;
    b->intro_sigs = NULL;
    return OB_OK;
}

/* Everything of the compact form the signer knows; the request indices come later. */
static ob_err fill_compact(const ob_hsv3_sign_desc_in *in, const ob_hsv3_desc *desc,
                           const ob_hsv3_build_in *b, ob_diag *d)
{
    ob_hsv3_compact *c = in->compact;
    size_t i;

    memset(c, 0, sizeof(*c));
    if (b->signing_cert_len > sizeof(c->cert))
        return ob_fail(d, OB_ERR_INTERNAL, "signing-key certificate too long");
    c->lifetime_min = desc->lifetime_min;
    memcpy(c->seed, b->layout_seed, sizeof(c->seed));
    memcpy(c->cert, b->signing_cert, b->signing_cert_len);
    c->cert_len = b->signing_cert_len;
    if (in->flow_control != NULL)
        snprintf(c->flow_control, sizeof(c->flow_control), "%s", in->flow_control);
    memcpy(c->desc_sig, b->desc_sig_out, sizeof(c->desc_sig));
    c->n_intros = in->n_intros;
    for (i = 0; i < in->n_intros; i++)
        memcpy(c->intros[i].sigs, b->intro_sigs_out[i], sizeof(c->intros[i].sigs));
    return OB_OK;
}

ob_err ob_hsv3_sign_desc(const ob_hsv3_sign_desc_in *in, uint8_t **out, size_t *out_len, ob_diag *d)
{
    uint8_t sigs[OB_HSV3_MAX_INTROS][2][64], desc_sig[64], seed[OB_HSV3_LAYOUT_SEED_LEN];
    uint8_t *text = NULL;
    size_t text_len = 0;
    uint64_t from, until;
    ob_hsv3_period_key cand;
    ob_hsv3_build_in b;
    ob_hsv3_build_cache cache;
    ob_hsv3_desc *desc = NULL;
    ob_hsv3_reason why = OB_HSV3_OK;
    ob_hsv3_verify_opts vo;
    ob_err err;

    *out = NULL;
    *out_len = 0;
    memset(&cache, 0, sizeof(cache));
    if (ob_hsv3_desc_window(in->tp, in->tpp, &from, &until) != 0)
        return ob_fail(d, OB_ERR_RANGE, "time period %llu is out of range",
                       (unsigned long long)in->tp);
    if (in->now < from || in->now >= until)
        return ob_fail(d, OB_ERR_REFUSED,
                       "time period %llu is signed only between unix times %llu and %llu; the "
                       "clock says %llu",
                       (unsigned long long)in->tp, (unsigned long long)from,
                       (unsigned long long)until, (unsigned long long)in->now);
    memset(&b, 0, sizeof(b));
    b.identity_pk = in->identity_pk;
    b.tp = in->tp;
    b.tpp = in->tpp;
    b.signing_cert = in->signing_cert;
    b.signing_cert_len = in->signing_cert_len;
    b.blinded_pk = in->blinded_pk;
    b.sign_exp = in->sign_exp;
    b.sign_pk = in->sign_pk;
    b.lifetime_min = in->lifetime_min == 0 ? OB_HSV3_DEFAULT_LIFETIME : in->lifetime_min;
    b.revision = in->revision;
    b.intros = in->intros;
    b.n_intros = in->n_intros;
    b.flow_control = in->flow_control;
    if (in->compact != NULL && in->n_intros > OB_HSV3_MAX_INTROS)
        return ob_fail(d, OB_ERR_RANGE, "%zu intro points, at most %d fit a descriptor",
                       in->n_intros, OB_HSV3_MAX_INTROS);
    if (in->layout_seed != NULL) {
        memcpy(seed, in->layout_seed, sizeof(seed));
        b.layout_seed = seed;
    } else if (in->compact != NULL) {
        ob_random(seed, sizeof(seed));
        b.layout_seed = seed;
    }
    if (in->compact != NULL) {
        b.intro_sigs_out = sigs;
        b.desc_sig_out = desc_sig;
    }
    /* Revision 0 fills it; the further ones only encrypt and sign. */
    if (b.layout_seed != NULL && in->n_more > 0)
        b.cache = &cache;
    if ((err = ob_hsv3_build(&b, &text, &text_len, d)) != OB_OK)
        goto out;

    /*
     * Self-check, the one verification of every signature made: what we
     * hand out must pass our own verifier, as clients will run theirs;
     * strict about 0B certs, with the period's blinded key when known.
     */
    memset(&vo, 0, sizeof(vo));
    vo.now = in->now;
    vo.reason = &why;
    vo.strict_enc_cert = 1;
    memset(&cand, 0, sizeof(cand));
    cand.tp = in->tp;
    if (in->blinded_pk != NULL) {
        cand.known = 1;
        memcpy(cand.blinded, in->blinded_pk, 32);
    }
    if ((err = ob_hsv3_desc_verify_own(text, text_len, in->identity_pk, &cand, in->tpp, &vo,
                                       in->intros, in->n_intros, &desc, d)) != OB_OK) {
        ob_diag_prefix(
            d, "self-check of the signed descriptor failed (%s): ", ob_hsv3_reason_name(why));
        err = OB_ERR_INTERNAL;
        goto out;
    }
    if ((err = check_result(in, desc, d)) != OB_OK)
        goto out;
    if (in->compact != NULL && (err = fill_compact(in, desc, &b, d)) != OB_OK)
        goto out;
    if ((err = sign_more(in, &b, (const uint8_t(*)[2][64])sigs, d)) != OB_OK)
        goto out;
    *out = text;
    *out_len = text_len;
    text = NULL;
    err = OB_OK;
out:
    ob_hsv3_build_cache_clear(&cache);
    ob_hsv3_desc_free(desc);
    free(text);
    return err;
}

ob_err ob_hsv3_client_key_read(const char *path, uint8_t sk[32], ob_diag *d)
{
    uint8_t *text = NULL;
    size_t len = 0, got = 0;
    const char *p;
    ob_err err;
    int bad;

    err = ob_file_read_secret(path, 1024, &text, &len, d);
    if (err != OB_OK)
        return err;
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' '))
        len--;
    p = memchr(text, ':', len) ? strrchr((const char *)text, ':') : NULL;
    if (p != NULL && (size_t)(p - (const char *)text) < len &&
        strstr((const char *)text, ":descriptor:x25519:") != NULL) {
        size_t off = (size_t)(p + 1 - (const char *)text);
        bad = ob_base32_decode(sk, 32, &got, p + 1, len - off) != 0 || got != 32;
    } else {
        bad = ob_base64_decode(sk, 32, &got, (const char *)text, len, OB_B64_EITHER) != 0 ||
              got != 32;
    }
    ob_secfree(text);
    if (bad) {
        ob_wipe(sk, 32);
        return ob_fail(d, OB_ERR_MALFORMED,
                       "%s: not a client key (44 base64 characters, or tor's "
                       "<address>:descriptor:x25519:<key> line)",
                       path);
    }
    return OB_OK;
}

ob_err ob_hsv3_instance_verify(const char *address, const char *client_key_path, const uint8_t *p,
                               size_t n, const ob_tp_params *tpp, uint64_t now, ob_hsv3_desc **out,
                               uint64_t *tp, ob_diag *d)
{
    uint8_t A[32];
    ob_err err;

    *out = NULL;
    err = ob_onion_v3_decode(A, address, strlen(address), d);
    if (err != OB_OK)
        return err;
    return ob_hsv3_instance_verify_key(A, client_key_path, p, n, tpp, now, out, tp, d);
}

ob_err ob_hsv3_instance_verify_key(const uint8_t A[32], const char *client_key_path,
                                   const uint8_t *p, size_t n, const ob_tp_params *tpp,
                                   uint64_t now, ob_hsv3_desc **out, uint64_t *tp, ob_diag *d)
{
    uint8_t *sk = NULL;
    uint64_t cur = ob_hsv3_tp_num(now, tpp);
    ob_hsv3_period_key cands[3];
    ob_hsv3_verify_opts o;
    ob_hsv3_reason reason = OB_HSV3_OK;
    ob_err err;

    *out = NULL;
    /* The likeliest first: the others are blinded only if it does not match. */
    memset(cands, 0, sizeof(cands));
    cands[0].tp = cur;
    cands[1].tp = cur + 1;
    cands[2].tp = cur - 1;
    memset(&o, 0, sizeof(o));
    o.now = now;
    o.reason = &reason;
    if (client_key_path != NULL) {
        sk = ob_secalloc(32);
        if (sk == NULL)
            return ob_fail(d, OB_ERR_NOMEM, "out of memory");
        err = ob_hsv3_client_key_read(client_key_path, sk, d);
        if (err != OB_OK)
            goto out;
        o.client_auth_x25519_sk = sk;
    }
    err = ob_hsv3_desc_verify_any(p, n, A, cands, 3, tpp, &o, out, d);
    if (err != OB_OK && reason == OB_HSV3_EXPIRED)
        err = OB_ERR_EXPIRED;
    if (err == OB_OK)
        *tp = (*out)->tp;
out:
    ob_secfree(sk);
    return err;
}

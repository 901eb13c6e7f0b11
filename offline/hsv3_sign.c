/* hsv3_sign.c - blind, certify, build, self-verify (contract in hsv3_sign.h). */
#include "hsv3_sign.h"

#include "ed25519x.h"
#include "hsv3_blind.h"
#include "hsv3_build.h"
#include "hsv3_cert.h"
#include "secmem.h"
#include "crypto.h"

#include <stdio.h>

#include <stdlib.h>
#include <string.h>

#define EXPIRY_MARGIN_S 3600

uint32_t ofl_hsv3_cert_expiry_hours(uint64_t tp, const ob_tp_params *p, unsigned lifetime_min)
{
    uint64_t from, end;

    if (ob_hsv3_tp_publish_window(tp, p, &from, &end) != 0)
        return 0; /* expired from the start: no signer uses it, every verifier refuses it */
    return ob_ed_cert_expiry_hours(end, (uint64_t)lifetime_min * 60 + EXPIRY_MARGIN_S);
}

/* The signed descriptor must carry exactly the intro points we were given. */
static ob_err check_result(const ofl_hsv3_sign_in *in, const ob_hsv3_desc *desc, ob_diag *d)
{
    size_t i;

    if (desc->n_intros != in->n_intros)
        return ob_fail(d, OB_ERR_INTERNAL, "self-check: %zu intro points, built %zu",
                       desc->n_intros, in->n_intros);
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

/* Everything of the compact form the signer knows; the request indices come later. */
static ob_err fill_compact(const ofl_hsv3_sign_in *in, const ob_hsv3_desc *desc,
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

ob_err ofl_hsv3_sign_descriptor(const ofl_hsv3_sign_in *in, uint8_t **out, size_t *out_len,
                                uint64_t *revision, ob_diag *d)
{
    uint8_t *blinded_exp = NULL, *sign_exp = NULL, *text = NULL;
    uint8_t Ab[32], Ab_check[32], sign_pk[32], cert[OB_CERT_LEN];
    uint8_t sigs[OB_HSV3_MAX_INTROS][2][64], desc_sig[64], seed[OB_HSV3_LAYOUT_SEED_LEN];
    size_t cert_len = 0, text_len = 0;
    uint64_t run_start, use_end, rev = 0;
    unsigned lifetime = in->lifetime_min == 0 ? OB_HSV3_DEFAULT_LIFETIME : in->lifetime_min;
    ob_hsv3_build_in b;
    ob_hsv3_desc *desc = NULL;
    ob_hsv3_reason why = OB_HSV3_OK;
    ob_hsv3_verify_opts vo;
    ob_err err;

    *out = NULL;
    *out_len = 0;
    if (ob_hsv3_tp_publish_window(in->tp, in->tpp, &run_start, &use_end) != 0)
        return ob_fail(d, OB_ERR_RANGE, "time period %llu is out of range",
                       (unsigned long long)in->tp);
    if (in->now < run_start || in->now >= use_end)
        return ob_fail(d, OB_ERR_REFUSED,
                       "time period %llu is signed only between unix times %llu and %llu; the "
                       "offline clock says %llu",
                       (unsigned long long)in->tp, (unsigned long long)run_start,
                       (unsigned long long)use_end, (unsigned long long)in->now);
    blinded_exp = ob_secalloc(64);
    sign_exp = ob_secalloc(64);
    if (blinded_exp == NULL || sign_exp == NULL) {
        err = ob_fail(d, OB_ERR_NOMEM, "out of secure memory");
        goto out;
    }
    if (ofl_hsv3_blind_secret(blinded_exp, in->master_exp, in->master_pk, in->tp,
                              in->tpp->length_min) != 0 ||
        ob_ed25519_pub_from_expanded(Ab, blinded_exp) != 0 ||
        ob_hsv3_blind_public(Ab_check, in->master_pk, in->tp, in->tpp->length_min) != 0) {
        err = ob_fail(d, OB_ERR_CRYPTO, "blinding the master key failed");
        goto out;
    }
    if (memcmp(Ab, Ab_check, 32) != 0) {
        err = ob_fail(d, OB_ERR_VERIFY, "the master secret key does not match its public key");
        goto out;
    }
    if (ob_ed25519_keygen(sign_exp, sign_pk) != 0) {
        err = ob_fail(d, OB_ERR_CRYPTO, "descriptor signing key generation failed");
        goto out;
    }
    if ((err = ob_ed_cert_create(cert, &cert_len, OB_CERT_DESC_SIGNING, sign_pk,
                                 ofl_hsv3_cert_expiry_hours(in->tp, in->tpp, lifetime), blinded_exp,
                                 Ab, d)) != OB_OK)
        goto out;
    if (ob_hsv3_rev_counter(&rev, blinded_exp, in->now + in->rev_offset, run_start) != 0) {
        err = ob_fail(d, OB_ERR_CRYPTO, "revision counter derivation failed");
        goto out;
    }
    ob_secfree(blinded_exp);
    blinded_exp = NULL;

    memset(&b, 0, sizeof(b));
    b.identity_pk = in->master_pk;
    b.tp = in->tp;
    b.tpp = in->tpp;
    b.signing_cert = cert;
    b.signing_cert_len = cert_len;
    b.sign_exp = sign_exp;
    b.sign_pk = sign_pk;
    b.lifetime_min = lifetime;
    b.revision = rev;
    b.intros = in->intros;
    b.n_intros = in->n_intros;
    b.flow_control = in->flow_control;
    if (in->compact != NULL) {
        if (in->n_intros > OB_HSV3_MAX_INTROS) {
            err = ob_fail(d, OB_ERR_RANGE, "%zu intro points, at most %d fit a descriptor",
                          in->n_intros, OB_HSV3_MAX_INTROS);
            goto out;
        }
        ob_random(seed, sizeof(seed));
        b.layout_seed = seed;
        b.intro_sigs_out = sigs;
        b.desc_sig_out = desc_sig;
    }
    if ((err = ob_hsv3_build(&b, &text, &text_len, d)) != OB_OK)
        goto out;
    ob_secfree(sign_exp);
    sign_exp = NULL;

    /* Self-check: what we hand out must pass our own verifier, as clients will run theirs. */
    memset(&vo, 0, sizeof(vo));
    vo.now = in->now;
    vo.reason = &why;
    vo.strict_enc_cert = 1;
    if ((err = ob_hsv3_desc_verify(text, text_len, in->master_pk, in->tp, in->tpp, &vo, &desc,
                                   d)) != OB_OK) {
        ob_diag_prefix(
            d, "self-check of the signed descriptor failed (%s): ", ob_hsv3_reason_name(why));
        err = OB_ERR_INTERNAL;
        goto out;
    }
    if ((err = check_result(in, desc, d)) != OB_OK)
        goto out;
    if (in->compact != NULL && (err = fill_compact(in, desc, &b, d)) != OB_OK)
        goto out;
    if (revision != NULL)
        *revision = rev;
    *out = text;
    *out_len = text_len;
    text = NULL;
    err = OB_OK;
out:
    ob_secfree(blinded_exp);
    ob_secfree(sign_exp);
    ob_hsv3_desc_free(desc);
    free(text);
    return err;
}

/* hsv3_sign.c - blind, certify, then sign with the shared builder (contract in hsv3_sign.h). */
#include "hsv3_sign.h"

#include "ed25519x.h"
#include "hsv3_blind.h"
#include "hsv3_build.h"
#include "hsv3_cert.h"
#include "secmem.h"

#include <stdlib.h>
#include <string.h>

ob_err ofl_hsv3_sign_descriptor(const ofl_hsv3_sign_in *in, uint8_t **out, size_t *out_len,
                                uint64_t *revision, ob_diag *d)
{
    uint8_t *blinded_exp = NULL, *sign_exp = NULL;
    uint8_t Ab[32], Ab_check[32], sign_pk[32], cert[OB_CERT_LEN], rev_key[OB_HSV3_REV_KEY_LEN];
    size_t cert_len = 0;
    uint64_t from, until, rev = 0;
    unsigned lifetime = in->lifetime_min == 0 ? OB_HSV3_DEFAULT_LIFETIME : in->lifetime_min;
    ob_hsv3_sign_desc_in s;
    ob_err err;

    *out = NULL;
    *out_len = 0;
    /* Refused before any key is touched; ob_hsv3_sign_desc checks it again. */
    if (ob_hsv3_desc_window(in->tp, in->tpp, &from, &until) != 0)
        return ob_fail(d, OB_ERR_RANGE, "time period %llu is out of range",
                       (unsigned long long)in->tp);
    if (in->now < from || in->now >= until)
        return ob_fail(d, OB_ERR_REFUSED,
                       "time period %llu is signed only between unix times %llu and %llu; the "
                       "offline clock says %llu",
                       (unsigned long long)in->tp, (unsigned long long)from,
                       (unsigned long long)until, (unsigned long long)in->now);
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
                                 ob_hsv3_cert_expiry_hours(in->tp, in->tpp, lifetime), blinded_exp,
                                 Ab, d)) != OB_OK)
        goto out;
    if (ofl_hsv3_rev_counter_key(rev_key, blinded_exp) != 0 ||
        ob_hsv3_rev_counter_from_key(&rev, rev_key, in->now + in->rev_offset, from) != 0) {
        err = ob_fail(d, OB_ERR_CRYPTO, "revision counter derivation failed");
        goto out;
    }
    ob_secfree(blinded_exp);
    blinded_exp = NULL;

    memset(&s, 0, sizeof(s));
    s.identity_pk = in->master_pk;
    s.tp = in->tp;
    s.tpp = in->tpp;
    s.now = in->now;
    s.sign_exp = sign_exp;
    s.sign_pk = sign_pk;
    s.signing_cert = cert;
    s.signing_cert_len = cert_len;
    s.revision = rev;
    s.lifetime_min = lifetime;
    s.intros = in->intros;
    s.n_intros = in->n_intros;
    s.flow_control = in->flow_control;
    s.compact = in->compact;
    if ((err = ob_hsv3_sign_desc(&s, out, out_len, d)) != OB_OK)
        goto out;
    if (revision != NULL)
        *revision = rev;
out:
    ob_wipe(rev_key, sizeof(rev_key));
    ob_secfree(blinded_exp);
    ob_secfree(sign_exp);
    return err;
}

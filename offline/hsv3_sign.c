/* hsv3_sign.c - blind, certify, then sign with the shared builder (contract in hsv3_sign.h). */
#include "hsv3_sign.h"

#include "ed25519x.h"
#include "hsv3_blind.h"
#include "hsv3_build.h"
#include "hsv3_cert.h"
#include "crypto.h"
#include "secmem.h"

#include <stdlib.h>
#include <string.h>

#define SEED_DOMAIN "onionbalance-offline descriptor v1"

static int derive(uint8_t *out, size_t n, const uint8_t *seed, const char *label)
{
    ob_iov v[3] = { { SEED_DOMAIN, sizeof(SEED_DOMAIN) - 1 },
                    { label, strlen(label) },
                    { seed, OFL_HSV3_SEED_LEN } };

    return ob_shake256(out, n, v, 3);
}

void ofl_hsv3_period_clear(ofl_hsv3_period *k)
{
    if (k->own) {
        ob_secfree(k->blinded_exp);
    } else {
        ob_wipe(k->blinded_exp, 64);
        ob_wipe(k->rev_key, OB_HSV3_REV_KEY_LEN);
    }
    memset(k, 0, sizeof(*k));
}

static ob_err period_make(ofl_hsv3_period *k, const uint8_t master_exp[64],
                          const uint8_t master_pk[32], const ob_tp_params *tpp, ob_diag *d);

ob_err ofl_hsv3_period_init(ofl_hsv3_period *k, const uint8_t master_exp[64],
                            const uint8_t master_pk[32], uint64_t tp, const ob_tp_params *tpp,
                            ob_diag *d)
{
    uint8_t *mem = ob_secalloc(OFL_HSV3_PERIOD_MEM);

    memset(k, 0, sizeof(*k));
    if (mem == NULL)
        return ob_fail(d, OB_ERR_NOMEM, "out of secure memory");
    k->tp = tp;
    k->blinded_exp = mem;
    k->rev_key = mem + 64;
    k->own = 1;
    return period_make(k, master_exp, master_pk, tpp, d);
}

ob_err ofl_hsv3_period_init_at(ofl_hsv3_period *k, uint8_t *mem, const uint8_t master_exp[64],
                               const uint8_t master_pk[32], uint64_t tp, const ob_tp_params *tpp,
                               ob_diag *d)
{
    memset(k, 0, sizeof(*k));
    k->tp = tp;
    k->blinded_exp = mem;
    k->rev_key = mem + 64;
    return period_make(k, master_exp, master_pk, tpp, d);
}

static ob_err period_make(ofl_hsv3_period *k, const uint8_t master_exp[64],
                          const uint8_t master_pk[32], const ob_tp_params *tpp, ob_diag *d)
{
    uint64_t tp = k->tp;
    uint8_t A[32];

    /*
     * A = aB checked here, then pub(a') = h a B = blind(A): a fixed-base
     * multiplication each, instead of blinding A as well (a variable-base
     * one) and comparing.
     */
    if (ob_ed25519_pub_from_expanded(A, master_exp) != 0 || memcmp(A, master_pk, 32) != 0) {
        ofl_hsv3_period_clear(k);
        return ob_fail(d, OB_ERR_VERIFY, "the master secret key does not match its public key");
    }
    if (ofl_hsv3_blind_secret(k->blinded_exp, master_exp, master_pk, tp, tpp->length_min) != 0 ||
        ob_ed25519_pub_from_expanded(k->blinded_pk, k->blinded_exp) != 0 ||
        ofl_hsv3_rev_counter_key(k->rev_key, k->blinded_exp) != 0) {
        ofl_hsv3_period_clear(k);
        return ob_fail(d, OB_ERR_CRYPTO, "blinding the master key failed");
    }
    return OB_OK;
}

/* The descriptor signing key: fresh, or from the seed (s: 32 bytes of guarded scratch). */
static ob_err signing_key(const ofl_hsv3_sign_in *in, uint8_t exp[64], uint8_t pk[32], uint8_t *s,
                          ob_diag *d)
{
    int r;

    if (in->seed == NULL)
        r = ob_ed25519_keygen(exp, pk);
    else
        r = derive(s, 32, in->seed, "signing-key") != 0 || ob_ed25519_expand_seed(exp, s) != 0 ||
                    ob_ed25519_pub_from_expanded(pk, exp) != 0
                ? -1
                : 0;
    ob_wipe(s, 32);
    return r == 0 ? OB_OK : ob_fail(d, OB_ERR_CRYPTO, "descriptor signing key generation failed");
}

/*
 * The descriptor's revision counter (at now) and those of the further
 * revisions (at revs_first + i * revs_step): one pass over the keystream
 * when their times increase, as they do when the further revisions come
 * after now (ob_hsv3_rev_ope_many); one pass each otherwise.
 */
static ob_err counters(const ofl_hsv3_sign_in *in, const uint8_t key[OB_HSV3_REV_KEY_LEN],
                       uint64_t from, uint64_t *rev, ob_diag *d)
{
    uint64_t *t, *c;
    size_t i, n = in->revs_n + 1;
    int sorted = 1, r = 0;

    if ((t = calloc(n, 2 * sizeof(*t))) == NULL)
        return ob_fail(d, OB_ERR_NOMEM, "out of memory");
    c = t + n;
    t[0] = ob_hsv3_rev_t(in->now + in->rev_offset, from);
    for (i = 0; i < in->revs_n; i++) {
        uint64_t at = in->revs_first + (uint64_t)i * in->revs_step + in->rev_offset;

        t[i + 1] = at < in->revs_first ? 0 : ob_hsv3_rev_t(at, from);
        if (t[i + 1] < t[i])
            sorted = 0;
    }
    for (i = 0; i < n; i++)
        if (t[i] == 0)
            r = -1;
    if (r == 0 && sorted)
        r = ob_hsv3_rev_ope_many(c, key, t, n);
    for (i = 0; r == 0 && !sorted && i < n; i++)
        r = ob_hsv3_rev_ope(&c[i], key, t[i]);
    if (r == 0) {
        *rev = c[0];
        for (i = 0; i < in->revs_n; i++)
            in->revs_counters[i] = c[i + 1];
    }
    free(t);
    return r == 0 ? OB_OK : ob_fail(d, OB_ERR_CRYPTO, "revision counter derivation failed");
}

ob_err ofl_hsv3_sign_descriptor(const ofl_hsv3_sign_in *in, uint8_t **out, size_t *out_len,
                                uint64_t *revision, ob_diag *d)
{
    uint8_t *mem = NULL, *sign_exp = NULL, sign_pk[32], cert[OB_CERT_LEN];
    uint8_t layout[OB_HSV3_LAYOUT_SEED_LEN];
    size_t cert_len = 0;
    uint64_t from, until, rev = 0;
    unsigned lifetime = in->lifetime_min == 0 ? OB_HSV3_DEFAULT_LIFETIME : in->lifetime_min;
    const ofl_hsv3_period *per = in->period;
    ofl_hsv3_period own;
    ob_hsv3_sign_desc_in s;
    ob_err err;

    *out = NULL;
    *out_len = 0;
    memset(&own, 0, sizeof(own));
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
    if (per == NULL) {
        if ((err = ofl_hsv3_period_init(&own, in->master_exp, in->master_pk, in->tp, in->tpp, d)) !=
            OB_OK)
            return err;
        per = &own;
    } else if (per->tp != in->tp || per->blinded_exp == NULL) {
        return ob_fail(d, OB_ERR_INTERNAL, "blinded key of period %llu given for period %llu",
                       (unsigned long long)per->tp, (unsigned long long)in->tp);
    }
    if (in->scratch == NULL && (mem = ob_secalloc(OFL_HSV3_SCRATCH_LEN)) == NULL) {
        err = ob_fail(d, OB_ERR_NOMEM, "out of secure memory");
        goto out;
    }
    sign_exp = in->scratch != NULL ? in->scratch : mem;
    if ((err = signing_key(in, sign_exp, sign_pk, sign_exp + 64, d)) != OB_OK)
        goto out;
    /* Unchecked: blinded_pk is blinded_exp's (ofl_hsv3_period_init), and
     * the cert is verified with the whole descriptor (ob_hsv3_sign_desc). */
    if ((err = ob_ed_cert_create_unchecked(cert, &cert_len, OB_CERT_DESC_SIGNING, sign_pk,
                                           ob_hsv3_cert_expiry_hours(in->tp, in->tpp, lifetime),
                                           per->blinded_exp, per->blinded_pk, d)) != OB_OK)
        goto out;
    if ((err = counters(in, per->rev_key, from, &rev, d)) != OB_OK)
        goto out;
    memset(&s, 0, sizeof(s));
    s.identity_pk = in->master_pk;
    s.tp = in->tp;
    s.tpp = in->tpp;
    s.now = in->now;
    s.sign_exp = sign_exp;
    s.sign_pk = sign_pk;
    s.signing_cert = cert;
    s.signing_cert_len = cert_len;
    s.blinded_pk = per->blinded_pk;
    s.revision = rev;
    s.lifetime_min = lifetime;
    s.intros = in->intros;
    s.n_intros = in->n_intros;
    s.flow_control = in->flow_control;
    s.compact = in->compact;
    s.n_more = in->revs_n;
    s.more_revisions = in->revs_counters;
    s.more_sigs = in->revs_sigs;
    if (in->seed != NULL) {
        if (derive(layout, sizeof(layout), in->seed, "layout") != 0) {
            err = ob_fail(d, OB_ERR_CRYPTO, "layout seed derivation failed");
            goto out;
        }
        s.layout_seed = layout;
    }
    if ((err = ob_hsv3_sign_desc(&s, out, out_len, d)) != OB_OK)
        goto out;
    if (revision != NULL)
        *revision = rev;
out:
    ofl_hsv3_period_clear(&own);
    if (sign_exp != NULL)
        ob_wipe(sign_exp, OFL_HSV3_SCRATCH_LEN);
    ob_secfree(mem);
    ob_wipe(layout, sizeof(layout));
    return err;
}

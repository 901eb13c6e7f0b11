/*
 * hsv2_sign.c - v2 master descriptors: sign with the master RSA key, verify,
 * and the whole build-and-sign step of a v2 ceremony.  See hsv2_sign.h.
 */
#include "hsv2_sign.h"

#include "crypto.h"
#include "encode.h"
#include "secmem.h"

#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

ob_err ofl_hsv2_pubkey_der(EVP_PKEY *key, uint8_t *der, size_t max, size_t *n, ob_diag *d)
{
    unsigned char *p = NULL;
    int len;

    len = i2d_PublicKey(key, &p);
    if (len <= 0 || (size_t)len > max) {
        OPENSSL_free(p);
        return ob_fail(d, OB_ERR_UNSUPPORTED, "master key is not a 1024-bit RSA key");
    }
    memcpy(der, p, (size_t)len);
    *n = (size_t)len;
    OPENSSL_free(p);
    return OB_OK;
}

ob_err ofl_hsv2_sign(EVP_PKEY *key, const uint8_t *unsigned_text, size_t n, int64_t now,
                     uint32_t time_period, unsigned replica, ob_buf *out, ob_diag *d)
{
    EVP_PKEY_CTX *ctx = NULL;
    ob_hsv2_desc *desc = NULL;
    uint8_t digest[OB_SHA1_LEN], sig[OB_HSV2_SIG_LEN];
    size_t siglen = sizeof(sig), base = out->len;
    ob_err err;

    if (n < 11 || memcmp(unsigned_text + n - 11, "\nsignature\n", 11) != 0) {
        err = ob_fail(d, OB_ERR_INTERNAL, "text to sign does not end in 'signature\\n'");
        goto out;
    }
    if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA || EVP_PKEY_get_bits(key) != 1024) {
        err = ob_fail(d, OB_ERR_UNSUPPORTED, "the v2 master key must be 1024-bit RSA");
        goto out;
    }
    if (ob_sha1_buf(digest, unsigned_text, n) != 0) {
        err = ob_fail(d, OB_ERR_CRYPTO, "SHA1 failed");
        goto out;
    }
    /*
     * No signature md on purpose: with one set, OpenSSL would wrap the digest
     * in a DigestInfo, which tor (and our verifier) rejects.
     */
    ctx = EVP_PKEY_CTX_new(key, NULL);
    if (ctx == NULL || EVP_PKEY_sign_init(ctx) <= 0 ||
        EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) <= 0 ||
        EVP_PKEY_sign(ctx, sig, &siglen, digest, sizeof(digest)) <= 0 ||
        siglen != OB_HSV2_SIG_LEN) {
        err = ob_fail(d, OB_ERR_CRYPTO, "RSA signing failed");
        goto out;
    }
    ob_buf_put(out, unsigned_text, n);
    ob_pem_encode(out, "SIGNATURE", sig, siglen);
    if (!ob_buf_ok(out)) {
        err = ob_fail(d, OB_ERR_NOMEM, "out of memory");
        goto out;
    }
    /* Self-check: what we hand out must pass the verifier HSDirs apply. */
    err = ob_hsv2_desc_parse((const char *)out->p + base, out->len - base, &desc, d);
    if (err == OB_OK)
        err = ob_hsv2_desc_verify_for(desc, now, NULL, time_period, replica, d);
    if (err != OB_OK) {
        ob_diag_prefix(d, "self-check of the signed descriptor: ");
        goto out;
    }
out:
    if (err != OB_OK && out->len > base) {
        ob_wipe(out->p + base, out->len - base);
        out->len = base;
    }
    ob_hsv2_desc_free(desc);
    EVP_PKEY_CTX_free(ctx);
    ob_wipe(digest, sizeof(digest));
    return err;
}

void ofl_hsv2_signed_free(ofl_hsv2_signed *v, size_t n)
{
    size_t i;

    if (v == NULL)
        return;
    for (i = 0; i < n; i++)
        free(v[i].text);
    free(v);
}

#define MAX_SLOTS 16 /* 71 h window: at most 5 periods x 2 replicas */

/* Build, sign and append one master descriptor. */
static ob_err sign_one(EVP_PKEY *key, const uint8_t *der, size_t derlen, const ob_hsv2_slot *slot,
                       int hsdir, const ob_hsv2_intro *const *sel, size_t nsel, int64_t now,
                       ofl_hsv2_signed *res, ob_diag *d)
{
    ob_buf plain, text, signed_text;
    ob_hsv2_intro *tmp = NULL;
    ob_hsv2_build b;
    size_t i, len;
    ob_err err;

    ob_buf_init(&plain);
    ob_buf_init(&text);
    ob_buf_init(&signed_text);
    tmp = calloc(nsel ? nsel : 1, sizeof(*tmp));
    if (tmp == NULL) {
        err = ob_fail(d, OB_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (i = 0; i < nsel; i++)
        tmp[i] = *sel[i];
    ob_hsv2_intro_encode(&plain, tmp, nsel);
    if (!ob_buf_ok(&plain)) {
        err = ob_fail(d, OB_ERR_NOMEM, "out of memory");
        goto out;
    }
    b = (ob_hsv2_build){ .perm_key = der,
                         .perm_key_len = derlen,
                         .time_period = slot->time_period,
                         .replica = slot->replica,
                         .published = slot->published,
                         .intro_plain = plain.p,
                         .intro_plain_len = plain.len };
    if ((err = ob_hsv2_build_unsigned(&text, &b, d)) != OB_OK)
        goto out;
    if ((err = ofl_hsv2_sign(key, text.p, text.len, now, slot->time_period, slot->replica,
                             &signed_text, d)) != OB_OK)
        goto out;
    ob_buf_nul(&signed_text);
    if (!ob_buf_ok(&signed_text)) {
        err = ob_fail(d, OB_ERR_NOMEM, "out of memory");
        goto out;
    }
    res->time_period = slot->time_period;
    res->replica = slot->replica;
    res->hsdir_slot = hsdir;
    res->use_from = slot->use_from;
    res->use_until = slot->use_until;
    res->text = (char *)ob_buf_detach(&signed_text, &len);
    res->len = len;
    err = OB_OK;
out:
    free(tmp);
    ob_buf_free(&plain);
    ob_buf_free(&text);
    ob_buf_free(&signed_text);
    return err;
}

ob_err ofl_hsv2_sign_master(EVP_PKEY *key, const ofl_hsv2_backend *backends, size_t nb, int64_t now,
                            int64_t window, ofl_hsv2_signed **out, size_t *nout, ob_diag *d)
{
    ob_hsv2_desc **descs = NULL;
    ob_hsv2_intro **intros = NULL;
    size_t *counts = NULL, i, j, nslots = 0, nres = 0, h;
    const ob_hsv2_intro *sel[OB_HSV2_REPLICAS * OB_HSV2_HSDIRS_PER_REP][OB_HSV2_MAX_INTROS];
    size_t nsel[OB_HSV2_REPLICAS * OB_HSV2_HSDIRS_PER_REP];
    ob_hsv2_slot slots[MAX_SLOTS];
    ofl_hsv2_signed *res = NULL;
    uint8_t der[OB_HSV2_KEY_DER_MAX], pid[10];
    size_t derlen = 0;
    int distinct = 0;
    ob_err err;

    *out = NULL;
    *nout = 0;
    if (nb == 0)
        return ob_fail(d, OB_ERR_NOTFOUND, "no backend descriptors");
    descs = calloc(nb, sizeof(*descs));
    intros = calloc(nb, sizeof(*intros));
    counts = calloc(nb, sizeof(*counts));
    if (descs == NULL || intros == NULL || counts == NULL) {
        err = ob_fail(d, OB_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (i = 0; i < nb; i++) {
        err = ob_hsv2_desc_parse(backends[i].text, backends[i].len, &descs[i], d);
        if (err == OB_OK && strcmp(descs[i]->onion, backends[i].onion) != 0)
            err = ob_fail(d, OB_ERR_REFUSED,
                          "descriptor is for %s.onion, not the configured instance %s.onion",
                          descs[i]->onion, backends[i].onion);
        if (err == OB_OK)
            err = ob_hsv2_desc_verify(descs[i], now, backends[i].cookie, d);
        if (err != OB_OK) {
            ob_diag_prefix(d, "backend %zu: ", i);
            goto out;
        }
    }
    /* Replay rule: one descriptor per instance, the newest. */
    for (i = 0; i < nb; i++) {
        for (j = 0; j < i; j++) {
            if (descs[j] == NULL || strcmp(descs[i]->onion, descs[j]->onion) != 0)
                continue;
            if (ob_hsv2_desc_is_newer_or_same(descs[i], descs[j])) {
                ob_hsv2_desc_free(descs[j]);
                descs[j] = NULL;
            } else {
                ob_hsv2_desc_free(descs[i]);
                descs[i] = NULL;
                break;
            }
        }
    }
    for (i = 0; i < nb; i++) {
        /* A verified descriptor without intro points contributes none. */
        if (descs[i] == NULL || descs[i]->auth == OB_HSV2_AUTH_UNKNOWN)
            continue;
        err = ob_hsv2_intro_decode(descs[i], backends[i].cookie, &intros[i], &counts[i], d);
        if (err != OB_OK) {
            ob_diag_prefix(d, "backend %zu: ", i);
            goto out;
        }
    }
    err = ob_hsv2_distribute((const ob_hsv2_intro *const *)intros, counts, nb, sel, nsel, &distinct,
                             d);
    if (err != OB_OK)
        goto out;
    if ((err = ofl_hsv2_pubkey_der(key, der, sizeof(der), &derlen, d)) != OB_OK)
        goto out;
    if (ob_hsv2_permanent_id(pid, der, derlen) != 0) {
        err = ob_fail(d, OB_ERR_CRYPTO, "SHA1 failed");
        goto out;
    }
    err = ob_hsv2_presign_periods(now, pid, window, slots, MAX_SLOTS, &nslots, d);
    if (err != OB_OK)
        goto out;
    res = calloc(nslots * OB_HSV2_HSDIRS_PER_REP, sizeof(*res));
    if (res == NULL) {
        err = ob_fail(d, OB_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (i = 0; i < nslots; i++) {
        for (h = 0; h < (distinct ? OB_HSV2_HSDIRS_PER_REP : 1); h++) {
            size_t s = slots[i].replica * OB_HSV2_HSDIRS_PER_REP + h;
            err = sign_one(key, der, derlen, &slots[i], distinct ? (int)h : -1, sel[s], nsel[s],
                           now, &res[nres], d);
            if (err != OB_OK)
                goto out;
            nres++;
        }
    }
    *out = res;
    *nout = nres;
    res = NULL;
    err = OB_OK;
out:
    ofl_hsv2_signed_free(res, nres);
    if (descs != NULL)
        for (i = 0; i < nb; i++)
            ob_hsv2_desc_free(descs[i]);
    if (intros != NULL)
        for (i = 0; i < nb; i++)
            free(intros[i]);
    free(descs);
    free(intros);
    free(counts);
    return err;
}

/* hsv3_build.c - v3 descriptor builder (layout: hsv3_desc.h; rules: docs/v3-descriptors.rst). */
#include "hsv3_build.h"

#include "buf.h"
#include "crypto.h"
#include "ed25519x.h"
#include "encode.h"
#include "hsv3_cert.h"
#include "secmem.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define SIG_PREFIX       "Tor onion service descriptor sig v3"
#define AUTH_CLIENT_MULT 16
#define MAX_CLIENTS      (16 * 64)
#define LAYOUT_DOMAIN    "onionbalance-offline hsv3 layout v1"
#define CERT_SIGNED_LEN  76 /* hsv3_cert.h: a cert with only the 04 extension, before its sig */

int ob_hsv3_layout_derive(uint8_t *out, size_t n, const uint8_t seed[32], const char *label)
{
    ob_iov v[3];

    v[0] = (ob_iov){ LAYOUT_DOMAIN, sizeof(LAYOUT_DOMAIN) - 1 };
    v[1] = (ob_iov){ label, strlen(label) };
    v[2] = (ob_iov){ seed, 32 };
    return ob_shake256(out, n, v, 3);
}

/*
 * One intro point cert: signed here (sig_out records the signature), or,
 * when rebuilding without the key, assembled around the given signature in
 * ob_ed_cert_create's layout so the bytes come out the same.
 */
static ob_err make_cert(uint8_t cert[OB_CERT_LEN], size_t *cl, uint8_t type,
                        const uint8_t certified[32], uint32_t exp_hours, const ob_hsv3_build_in *in,
                        const uint8_t *given_sig, uint8_t *sig_out, ob_diag *d)
{
    uint8_t *q = cert;
    ob_err err;

    if (in->sign_exp != NULL && given_sig == NULL) {
        if ((err = ob_ed_cert_create_unchecked(cert, cl, type, certified, exp_hours, in->sign_exp,
                                               in->sign_pk, d)) != OB_OK)
            return err;
        if (sig_out != NULL)
            memcpy(sig_out, cert + CERT_SIGNED_LEN, 64);
        return OB_OK;
    }
    *q++ = 1;
    *q++ = type;
    ob_store_u32(q, exp_hours);
    q += 4;
    *q++ = 1;
    memcpy(q, certified, 32);
    q += 32;
    *q++ = 1;
    ob_store_u16(q, 32);
    q += 2;
    *q++ = 0x04;
    *q++ = 0;
    memcpy(q, in->sign_pk, 32);
    q += 32;
    memcpy(q, given_sig, 64);
    *cl = OB_CERT_LEN;
    return OB_OK;
}

/* Strings one after another, without printf (descriptors are mostly this). */
static void put_strs(ob_buf *b, const char *const *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        ob_buf_put_str(b, s[i]);
}

static void put_key_b64(ob_buf *b, const char *kw, const uint8_t key[32])
{
    char enc[64];
    const char *parts[4] = { kw, " ntor ", enc, "\n" };

    ob_base64_encode(enc, key, 32, OB_B64_PAD);
    put_strs(b, parts, 4);
}

/* PEM armor for a 64-byte-per-line base64 object, as tor writes it. */
static void put_cert(ob_buf *b, const char *kw, const uint8_t *cert, size_t n)
{
    ob_buf_put_str(b, kw);
    ob_buf_put_str(b, "\n");
    ob_pem_encode(b, OB_CERT_PEM_TAG, cert, n);
}

static int flow_control_ok(const char *s)
{
    size_t i, n = strlen(s);

    if (n == 0 || n >= OB_HSV3_FLOWCTL_MAX)
        return 0;
    for (i = 0; i < n; i++)
        if (s[i] < 0x21 && s[i] != ' ')
            return 0;
        else if ((unsigned char)s[i] > 0x7e)
            return 0;
    return 1;
}

static ob_err put_intro(ob_buf *b, const ob_hsv3_build_in *in, size_t idx, uint32_t exp_hours,
                        ob_diag *d)
{
    const ob_hsv3_intro *ip = in->intros[idx];
    const uint8_t *given_auth = in->intro_sigs != NULL ? in->intro_sigs[idx][0] : NULL;
    const uint8_t *given_enc = in->intro_sigs != NULL ? in->intro_sigs[idx][1] : NULL;
    uint8_t *auth_out = in->intro_sigs_out != NULL ? in->intro_sigs_out[idx][0] : NULL;
    uint8_t *enc_out = in->intro_sigs_out != NULL ? in->intro_sigs_out[idx][1] : NULL;
    uint8_t cert[OB_CERT_LEN], ed[32];
    size_t cl;
    char *ls = NULL;
    ob_err err;

    if ((err = ob_hsv3_linkspec_check(ip->link_spec, ip->link_spec_len, d)) != OB_OK) {
        ob_diag_prefix(d, "intro point %zu: ", idx);
        return err;
    }
    if (ip->link_spec_len > OB_HSV3_LINKSPEC_MAX)
        return ob_fail(d, OB_ERR_RANGE, "intro point %zu: link specifiers too long", idx);
    ls = malloc(ob_base64_enc_len(ip->link_spec_len, OB_B64_PAD) + 1);
    if (ls == NULL)
        return ob_fail(d, OB_ERR_NOMEM, "out of memory");
    ob_base64_encode(ls, ip->link_spec, ip->link_spec_len, OB_B64_PAD);
    ob_buf_put_str(b, "introduction-point ");
    ob_buf_put_str(b, ls);
    ob_buf_put_str(b, "\n");
    free(ls);
    put_key_b64(b, "onion-key", ip->onion_key);
    if ((err = make_cert(cert, &cl, OB_CERT_INTRO_AUTH, ip->auth_key, exp_hours, in, given_auth,
                         auth_out, d)) != OB_OK)
        return err;
    put_cert(b, "auth-key", cert, cl);
    put_key_b64(b, "enc-key", ip->enc_key);
    /* Its ed25519 form, as the verifier of the backend computed it, or now. */
    if (ip->has_enc_key_ed)
        memcpy(ed, ip->enc_key_ed, 32);
    else if (ob_curve25519_to_ed25519(ed, ip->enc_key, 0) != 0)
        return ob_fail(d, OB_ERR_MALFORMED, "intro point %zu: enc-key is not a usable x25519 key",
                       idx);
    if ((err = make_cert(cert, &cl, OB_CERT_INTRO_ENC, ed, exp_hours, in, given_enc, enc_out, d)) !=
        OB_OK)
        return err;
    put_cert(b, "enc-key-cert", cert, cl);
    return OB_OK;
}

static void put_auth_client(ob_buf *b, const uint8_t id[8], const uint8_t iv[16],
                            const uint8_t ck[16])
{
    char e1[16], e2[32], e3[32];
    const char *parts[7] = { "auth-client ", e1, " ", e2, " ", e3, "\n" };

    ob_base64_encode(e1, id, 8, OB_B64_NOPAD);
    ob_base64_encode(e2, iv, 16, OB_B64_NOPAD);
    ob_base64_encode(e3, ck, 16, OB_B64_NOPAD);
    put_strs(b, parts, 7);
}

/* The middle layer's auth-client lines: real ones for each client, fakes up to a multiple of 16. */
static ob_err put_auth_clients(ob_buf *b, const ob_hsv3_build_in *in, const uint8_t eph_sk[32],
                               const uint8_t subcred[32], const uint8_t cookie[16], ob_diag *d)
{
    uint8_t seed[32], keys[40], iv[16], ck[16], id[8], fake[AUTH_CLIENT_MULT * 40];
    size_t i, total;
    ob_err err = OB_ERR_CRYPTO;

    total = in->n_clients == 0
                ? AUTH_CLIENT_MULT
                : (in->n_clients + AUTH_CLIENT_MULT - 1) / AUTH_CLIENT_MULT * AUTH_CLIENT_MULT;
    /* check_inputs refused a seed with clients, so total is 16 here. */
    if (in->layout_seed != NULL &&
        ob_hsv3_layout_derive(fake, sizeof(fake), in->layout_seed, "fake-auth-client") != 0) {
        ob_fail(d, OB_ERR_CRYPTO, "layout derivation failed");
        goto out;
    }
    for (i = 0; i < total; i++) {
        if (in->layout_seed != NULL) {
            memcpy(id, fake + 40 * i, 8);
            memcpy(iv, fake + 40 * i + 8, 16);
            memcpy(ck, fake + 40 * i + 24, 16);
        } else if (i < in->n_clients) {
            ob_iov v[2];
            if (crypto_scalarmult(seed, eph_sk, in->client_pks[i]) != 0) {
                err = ob_fail(d, OB_ERR_MALFORMED, "client key %zu is not a usable x25519 key", i);
                goto out;
            }
            v[0] = (ob_iov){ subcred, 32 };
            v[1] = (ob_iov){ seed, 32 };
            ob_random(iv, sizeof(iv));
            if (ob_shake256(keys, sizeof(keys), v, 2) != 0 ||
                ob_aes_ctr(ck, cookie, 16, keys + 8, 32, iv) != 0) {
                ob_fail(d, OB_ERR_CRYPTO, "client authorization derivation failed");
                goto out;
            }
            memcpy(id, keys, 8);
        } else {
            /* Fake entries are random, as tor makes them, so they hide the client count. */
            ob_random(id, sizeof(id));
            ob_random(iv, sizeof(iv));
            ob_random(ck, sizeof(ck));
        }
        put_auth_client(b, id, iv, ck);
    }
    err = OB_OK;
out:
    ob_wipe(seed, sizeof(seed));
    ob_wipe(keys, sizeof(keys));
    ob_wipe(ck, sizeof(ck));
    ob_wipe(fake, sizeof(fake));
    return err;
}

/* A salt or the ephemeral key: from the layout seed when there is one, else fresh. */
static ob_err draw(uint8_t *out, size_t n, const ob_hsv3_build_in *in, const char *label,
                   ob_diag *d)
{
    if (in->layout_seed == NULL) {
        ob_random(out, n);
        return OB_OK;
    }
    if (ob_hsv3_layout_derive(out, n, in->layout_seed, label) != 0)
        return ob_fail(d, OB_ERR_CRYPTO, "layout derivation failed");
    return OB_OK;
}

static ob_err check_inputs(const ob_hsv3_build_in *in, ob_ed_cert *cert, uint8_t Ab[32],
                           unsigned *lifetime, ob_diag *d)
{
    ob_err err;

    *lifetime = in->lifetime_min == 0 ? OB_HSV3_DEFAULT_LIFETIME : in->lifetime_min;
    if (*lifetime < OB_HSV3_MIN_LIFETIME || *lifetime > OB_HSV3_MAX_LIFETIME)
        return ob_fail(d, OB_ERR_RANGE, "descriptor lifetime %u minutes is outside %d..%d",
                       *lifetime, OB_HSV3_MIN_LIFETIME, OB_HSV3_MAX_LIFETIME);
    if (in->n_intros > OB_HSV3_MAX_INTROS)
        return ob_fail(d, OB_ERR_RANGE, "%zu intro points, at most %d fit a descriptor",
                       in->n_intros, OB_HSV3_MAX_INTROS);
    if (in->n_clients > MAX_CLIENTS)
        return ob_fail(d, OB_ERR_RANGE, "%zu authorized clients, at most %d", in->n_clients,
                       MAX_CLIENTS);
    if (in->layout_seed != NULL && in->n_clients != 0)
        return ob_fail(d, OB_ERR_INTERNAL,
                       "a public layout seed cannot be used with client authorization");
    if (in->sign_exp == NULL && (in->intro_sigs == NULL || in->desc_sig == NULL ||
                                 in->layout_seed == NULL || in->n_clients != 0))
        return ob_fail(d, OB_ERR_INTERNAL,
                       "rebuilding without the signing key needs the signatures and the seed");
    if (in->flow_control != NULL && !flow_control_ok(in->flow_control))
        return ob_fail(d, OB_ERR_MALFORMED, "flow-control arguments are not printable text");
    if ((err = ob_ed_cert_parse(cert, in->signing_cert, in->signing_cert_len, d)) != OB_OK)
        return err;
    if (in->blinded_pk != NULL)
        memcpy(Ab, in->blinded_pk, 32);
    else if (ob_hsv3_blind_public(Ab, in->identity_pk, in->tp, in->tpp->length_min) != 0)
        return ob_fail(d, OB_ERR_MALFORMED, "identity key cannot be blinded");
    if (cert->type != OB_CERT_DESC_SIGNING || !cert->has_signer ||
        memcmp(cert->signer, Ab, 32) != 0 || memcmp(cert->certified, in->sign_pk, 32) != 0)
        return ob_fail(d, OB_ERR_VERIFY,
                       "signing-key certificate is not a type 08 certificate of this signing "
                       "key by the blinded key of time period %llu",
                       (unsigned long long)in->tp);
    if (in->sign_exp != NULL) {
        /* Once per descriptor instead of a verification per signature: no
         * signature is ever made under a public key that is not the
         * signing key's (ob_ed25519_sign_expanded_unchecked). */
        uint8_t pk[32];
        if (ob_ed25519_pub_from_expanded(pk, in->sign_exp) != 0 || memcmp(pk, in->sign_pk, 32) != 0)
            return ob_fail(d, OB_ERR_VERIFY,
                           "the descriptor signing key does not match its public key");
    }
    return OB_OK;
}

void ob_hsv3_build_cache_clear(ob_hsv3_build_cache *c)
{
    if (c == NULL)
        return;
    ob_buf_free(&c->inner);
    ob_buf_free(&c->mid);
    memset(c, 0, sizeof(*c));
}

/*
 * The inner layer's plaintext (into inner) and the middle layer up to its
 * encrypted object (into mid), with the keys and salts they go under.
 */
static ob_err build_layers(const ob_hsv3_build_in *in, ob_buf *inner, ob_buf *mid, uint8_t Ab[32],
                           uint8_t subcred[32], uint8_t inner_salt[OB_HSV3_SALT_LEN],
                           uint8_t outer_salt[OB_HSV3_SALT_LEN], uint8_t cookie[OB_HSV3_COOKIE_LEN],
                           unsigned *lifetime, ob_diag *d)
{
    ob_ed_cert cert;
    uint8_t eph_sk[32], eph_pk[32];
    char enc[128];
    size_t i;
    ob_err err;

    if ((err = check_inputs(in, &cert, Ab, lifetime, d)) != OB_OK)
        return err;
    if (ob_hsv3_subcredential(subcred, in->identity_pk, Ab) != 0)
        return ob_fail(d, OB_ERR_CRYPTO, "subcredential derivation failed");

    /* Inner layer. */
    ob_buf_put_str(inner, "create2-formats 2\n");
    if (in->flow_control != NULL)
        ob_buf_printf(inner, "flow-control %s\n", in->flow_control);
    for (i = 0; i < in->n_intros; i++)
        if ((err = put_intro(inner, in, i, cert.expiration_hours, d)) != OB_OK)
            return err;
    if (!ob_buf_ok(inner))
        return ob_fail(d, OB_ERR_NOMEM, "out of memory");
    if (in->n_clients > 0)
        ob_random(cookie, OB_HSV3_COOKIE_LEN);
    if ((err = draw(inner_salt, OB_HSV3_SALT_LEN, in, "inner-salt", d)) != OB_OK)
        return err;

    /* Middle layer, but for the inner layer's ciphertext. */
    if (in->layout_seed == NULL)
        crypto_box_keypair(eph_pk, eph_sk);
    else if ((err = draw(eph_sk, sizeof(eph_sk), in, "ephemeral-x25519", d)) != OB_OK ||
             crypto_scalarmult_base(eph_pk, eph_sk) != 0) {
        ob_wipe(eph_sk, sizeof(eph_sk));
        return ob_fail(d, OB_ERR_CRYPTO, "ephemeral key derivation failed");
    }
    ob_base64_encode(enc, eph_pk, 32, OB_B64_PAD);
    ob_buf_printf(mid, "desc-auth-type x25519\ndesc-auth-ephemeral-key %s\n", enc);
    err = put_auth_clients(mid, in, eph_sk, subcred, cookie, d);
    ob_wipe(eph_sk, sizeof(eph_sk));
    if (err != OB_OK)
        return err;
    ob_buf_put_str(mid, "encrypted\n");
    if (!ob_buf_ok(mid))
        return ob_fail(d, OB_ERR_NOMEM, "out of memory");
    return draw(outer_salt, OB_HSV3_SALT_LEN, in, "outer-salt", d);
}

ob_err ob_hsv3_build(const ob_hsv3_build_in *in, uint8_t **out, size_t *out_len, ob_diag *d)
{
    ob_hsv3_build_cache *cache = in->cache;
    ob_buf inner, mid, blob, doc, signed_msg;
    const ob_buf *inner_pt;
    uint8_t Ab[32], subcred[32], salt_in[OB_HSV3_SALT_LEN], salt_out[OB_HSV3_SALT_LEN];
    uint8_t cookie[OB_HSV3_COOKIE_LEN], secret[32 + OB_HSV3_COOKIE_LEN], sig[64];
    char enc[128];
    unsigned lifetime;
    size_t secret_len = 32;
    ob_err err;

    *out = NULL;
    *out_len = 0;
    memset(cookie, 0, sizeof(cookie));
    ob_buf_init(&inner);
    ob_buf_init(&mid);
    ob_buf_init(&blob);
    ob_buf_init(&doc);
    ob_buf_init(&signed_msg);
    if (cache != NULL && in->layout_seed == NULL) {
        err = ob_fail(d, OB_ERR_INTERNAL, "building revisions in a row needs a layout seed");
        goto out;
    }
    if (cache != NULL && cache->ready) {
        /* A later revision: check_inputs passed for the first one. */
        if (in->sign_exp == NULL && in->desc_sig == NULL) {
            err = ob_fail(d, OB_ERR_INTERNAL,
                          "rebuilding without the signing key needs the "
                          "signature");
            goto out;
        }
        if (in->sign_exp != NULL && (in->sign_exp != cache->sign_exp || in->sign_pk == NULL ||
                                     memcmp(in->sign_pk, cache->sign_pk, 32) != 0)) {
            err = ob_fail(d, OB_ERR_INTERNAL, "a revision signed with another key than the first");
            goto out;
        }
        memcpy(Ab, cache->Ab, 32);
        memcpy(subcred, cache->subcred, 32);
        memcpy(salt_in, cache->inner_salt, sizeof(salt_in));
        memcpy(salt_out, cache->outer_salt, sizeof(salt_out));
        lifetime = cache->lifetime;
        inner_pt = &cache->inner;
        ob_buf_put(&mid, cache->mid.p, cache->mid.len);
    } else {
        if ((err = build_layers(in, &inner, &mid, Ab, subcred, salt_in, salt_out, cookie, &lifetime,
                                d)) != OB_OK)
            goto out;
        if (cache != NULL) {
            ob_buf_free(&cache->inner);
            ob_buf_free(&cache->mid);
            ob_buf_init(&cache->inner);
            ob_buf_init(&cache->mid);
            ob_buf_put(&cache->inner, inner.p, inner.len);
            ob_buf_put(&cache->mid, mid.p, mid.len);
            if (!ob_buf_ok(&cache->inner) || !ob_buf_ok(&cache->mid)) {
                err = ob_fail(d, OB_ERR_NOMEM, "out of memory");
                goto out;
            }
            memcpy(cache->Ab, Ab, 32);
            memcpy(cache->subcred, subcred, 32);
            memcpy(cache->inner_salt, salt_in, sizeof(salt_in));
            memcpy(cache->outer_salt, salt_out, sizeof(salt_out));
            cache->lifetime = lifetime;
            cache->sign_exp = in->sign_exp;
            if (in->sign_pk != NULL)
                memcpy(cache->sign_pk, in->sign_pk, 32);
            cache->ready = 1;
        }
        inner_pt = &inner;
    }
    memcpy(secret, Ab, 32);
    if (in->n_clients > 0) {
        memcpy(secret + 32, cookie, sizeof(cookie));
        secret_len += sizeof(cookie);
    }
    if ((err = ob_hsv3_layer_encrypt(&blob, inner_pt->p, inner_pt->len, secret, secret_len, subcred,
                                     in->revision, salt_in, 0, d)) != OB_OK)
        goto out;
    ob_pem_encode(&mid, "MESSAGE", blob.p, blob.len);
    if (!ob_buf_ok(&mid) || mid.len == 0) {
        err = ob_fail(d, OB_ERR_NOMEM, "out of memory");
        goto out;
    }
    mid.len--; /* tor ends this layer at "-----END MESSAGE-----", no newline */
    ob_buf_reset(&blob);
    if ((err = ob_hsv3_layer_encrypt(&blob, mid.p, mid.len, Ab, 32, subcred, in->revision, salt_out,
                                     1, d)) != OB_OK)
        goto out;

    /* Outer document and signature. */
    ob_buf_printf(&doc, "hs-descriptor 3\ndescriptor-lifetime %u\n", lifetime);
    put_cert(&doc, "descriptor-signing-key-cert", in->signing_cert, in->signing_cert_len);
    ob_buf_printf(&doc, "revision-counter %llu\nsuperencrypted\n",
                  (unsigned long long)in->revision);
    ob_pem_encode(&doc, "MESSAGE", blob.p, blob.len);
    ob_buf_put_str(&signed_msg, SIG_PREFIX);
    ob_buf_put(&signed_msg, doc.p, doc.len);
    if (!ob_buf_ok(&doc) || !ob_buf_ok(&signed_msg)) {
        err = ob_fail(d, OB_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (in->sign_exp == NULL || in->desc_sig != NULL) {
        memcpy(sig, in->desc_sig, sizeof(sig));
    } else if (ob_ed25519_sign_expanded_unchecked(sig, signed_msg.p, signed_msg.len, in->sign_exp,
                                                  in->sign_pk) != 0) {
        err = ob_fail(d, OB_ERR_CRYPTO, "signing the descriptor failed");
        goto out;
    } else if (in->desc_sig_out != NULL) {
        memcpy(in->desc_sig_out, sig, sizeof(sig));
    }
    ob_base64_encode(enc, sig, sizeof(sig), OB_B64_NOPAD);
    ob_buf_printf(&doc, "signature %s\n", enc);
    ob_buf_nul(&doc);
    if (!ob_buf_ok(&doc)) {
        err = ob_fail(d, OB_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (doc.len >= OB_HSV3_DESC_MAX_LEN) {
        err = ob_fail(d, OB_ERR_RANGE,
                      "descriptor with %zu intro points is %zu bytes, must be below %d",
                      in->n_intros, doc.len, OB_HSV3_DESC_MAX_LEN);
        goto out;
    }
    *out = ob_buf_detach(&doc, out_len);
    err = *out == NULL ? ob_fail(d, OB_ERR_NOMEM, "out of memory") : OB_OK;
out:
    ob_wipe(secret, sizeof(secret));
    ob_wipe(cookie, sizeof(cookie));
    ob_buf_free(&inner);
    ob_buf_free(&mid);
    ob_buf_free(&blob);
    ob_buf_free(&doc);
    ob_buf_free(&signed_msg);
    return err;
}

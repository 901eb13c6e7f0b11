/*
 * fuzz_hsv3_layers.c - a whole v3 descriptor with fuzzed decrypted layers,
 * through ob_hsv3_desc_verify (format/hs/hsv3_desc.c).
 *
 * A fuzzer cannot forge the outer signature or the layer MACs, so this
 * target plays the service: it takes the two decrypted layers from the
 * input, encrypts them with keys derived from a fixed identity and period
 * (fixed.h), signs the outer document with a fixed signing key, and hands
 * the result to the verifier.  Everything after the signature check runs on
 * fuzzed bytes: both MACs and decryptions, the middle layer (auth-client
 * lines, client authorization), the inner layer and every intro point.
 *
 *   make fuzz && build/fuzz/fuzz_hsv3_layers -max_len=60000 tests/fuzz/corpus/fuzz_hsv3_layers
 *
 * Input: flags u8 | middle_len u16 | middle template | inner plaintext.
 *   flags bit 0  client authorization: the inner layer is encrypted with the
 *                descriptor cookie, which a real auth-client line carries
 *         bit 1  strict enc-key certs (what the offline signer asks for)
 *         bit 2  give the verifier the client's key
 * The middle template is the superencrypted layer's plaintext with two
 * stand-ins expanded:
 *   "@AUTH"  desc-auth-type, desc-auth-ephemeral-key and 16 auth-client
 *            lines (the first a real one when bit 0 is set), no final newline
 *   "@ENC"   "encrypted" and the encrypted inner layer as a MESSAGE object,
 *            no final newline (as tor writes it)
 * Seeds (tests/fuzz/seedgen.c): "@AUTH\n@ENC" with the inner layers of
 * descriptors our builder made with the fixed signing key (0..20 intro
 * points, flow control, single onion), so their certs verify.
 *
 * Beyond "no crash": a descriptor that verifies has the fixed blinded key
 * and revision, used client authorization exactly when it was built with
 * it, and rebuilding it from its parsed intro points (ob_hsv3_build) gives
 * a descriptor that verifies strictly with the same intro points.
 */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "crypto.h"
#include "encode.h"
#include "fixed.h"
#include "fzutil.h"
#include "hsv3_build.h"
#include "hsv3_desc.h"
#include "secmem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SIG_PREFIX "Tor onion service descriptor sig v3"

static fz_keys K;

static void put_auth(ob_buf *b, int real_client)
{
    uint8_t id[8], iv[16], ck[16], seed[32], keys[40];
    char e1[16], e2[32], e3[32], ek[64];
    unsigned i;

    ob_base64_encode(ek, K.eph_pk, 32, OB_B64_PAD);
    ob_buf_printf(b, "desc-auth-type x25519\ndesc-auth-ephemeral-key %s", ek);
    for (i = 0; i < 16; i++) {
        fz_fill(id, sizeof(id), (uint8_t)(10 + i));
        fz_fill(iv, sizeof(iv), (uint8_t)(40 + i));
        fz_fill(ck, sizeof(ck), (uint8_t)(70 + i));
        if (i == 0 && real_client) {
            /* rend-spec-v3 2.5.1.2: what the client derives from the ephemeral key. */
            ob_iov v[2] = { { K.subcred, 32 }, { seed, 32 } };
            if (crypto_scalarmult(seed, K.eph_sk, K.client_pk) != 0 ||
                ob_shake256(keys, sizeof(keys), v, 2) != 0 ||
                ob_aes_ctr(ck, K.cookie, 16, keys + 8, 32, iv) != 0)
                abort();
            memcpy(id, keys, 8);
        }
        ob_base64_encode(e1, id, 8, OB_B64_NOPAD);
        ob_base64_encode(e2, iv, 16, OB_B64_NOPAD);
        ob_base64_encode(e3, ck, 16, OB_B64_NOPAD);
        ob_buf_printf(b, "\nauth-client %s %s %s", e1, e2, e3);
    }
}

/* The template with "@AUTH" and "@ENC" expanded. */
static void expand(ob_buf *out, const uint8_t *t, size_t n, const ob_buf *enc, int real_client)
{
    size_t i = 0;

    while (i < n) {
        if (n - i >= 5 && memcmp(t + i, "@AUTH", 5) == 0) {
            put_auth(out, real_client);
            i += 5;
        } else if (n - i >= 4 && memcmp(t + i, "@ENC", 4) == 0) {
            ob_buf_put_str(out, "encrypted\n");
            ob_pem_encode(out, "MESSAGE", enc->p, enc->len);
            if (ob_buf_ok(out) && out->len > 0)
                out->len--; /* no newline after END MESSAGE */
            i += 4;
        } else {
            ob_buf_put_u8(out, t[i++]);
        }
    }
}

/* Build and sign the outer document around the middle plaintext. */
static ob_err make_doc(ob_buf *doc, const uint8_t *mid, size_t mid_len)
{
    uint8_t salt[16], sig[64];
    char enc[128];
    ob_buf blob, msg;
    ob_diag d;
    ob_err e;

    ob_buf_init(&blob);
    ob_buf_init(&msg);
    fz_fill(salt, sizeof(salt), 90);
    e = ob_hsv3_layer_encrypt(&blob, mid, mid_len, K.blind_pk, 32, K.subcred, FZ_REVISION, salt, 1,
                              &d);
    if (e != OB_OK)
        goto out;
    ob_buf_printf(doc, "hs-descriptor 3\ndescriptor-lifetime 180\ndescriptor-signing-key-cert\n");
    ob_pem_encode(doc, OB_CERT_PEM_TAG, K.cert, K.cert_len);
    ob_buf_printf(doc, "revision-counter %u\nsuperencrypted\n", FZ_REVISION);
    ob_pem_encode(doc, "MESSAGE", blob.p, blob.len);
    ob_buf_put_str(&msg, SIG_PREFIX);
    ob_buf_put(&msg, doc->p, doc->len);
    if (!ob_buf_ok(doc) || !ob_buf_ok(&msg) ||
        ob_ed25519_sign_expanded(sig, msg.p, msg.len, K.sign_exp, K.sign_pk) != 0)
        abort();
    ob_base64_encode(enc, sig, sizeof(sig), OB_B64_NOPAD);
    ob_buf_printf(doc, "signature %s\n", enc);
out:
    ob_buf_free(&blob);
    ob_buf_free(&msg);
    return e;
}

static int intro_eq(const ob_hsv3_intro *a, const ob_hsv3_intro *b)
{
    return a->link_spec_len == b->link_spec_len &&
           memcmp(a->link_spec, b->link_spec, a->link_spec_len) == 0 &&
           memcmp(a->onion_key, b->onion_key, 32) == 0 &&
           memcmp(a->auth_key, b->auth_key, 32) == 0 && memcmp(a->enc_key, b->enc_key, 32) == 0;
}

/* What the offline signer does with a verified backend: build a new descriptor from it. */
static void rebuild(const ob_hsv3_desc *desc)
{
    const ob_hsv3_intro *ptr[OB_HSV3_MAX_INTROS];
    ob_hsv3_verify_opts o = { 0, NULL, NULL, 1 };
    ob_hsv3_build_in in;
    ob_hsv3_desc *again = NULL;
    uint8_t *out = NULL;
    size_t out_len = 0, i;
    ob_diag d;
    ob_err e;

    for (i = 0; i < desc->n_intros; i++)
        ptr[i] = &desc->intros[i];
    memset(&in, 0, sizeof(in));
    in.identity_pk = K.id_pk;
    in.tp = FZ_TP;
    in.tpp = &OB_TP_LIVE;
    in.signing_cert = K.cert;
    in.signing_cert_len = K.cert_len;
    in.sign_exp = K.sign_exp;
    in.sign_pk = K.sign_pk;
    in.revision = FZ_REVISION + 1;
    in.intros = ptr;
    in.n_intros = desc->n_intros;
    in.flow_control = desc->has_flow_control ? desc->flow_control : NULL;
    e = ob_hsv3_build(&in, &out, &out_len, &d);
    if (e == OB_ERR_RANGE) /* bigger than the original: padding differs */
        return;
    fz_note("rebuild", e, &d);
    if (e != OB_OK)
        abort(); /* verified, but the signer could not use it */
    if (ob_hsv3_desc_verify(out, out_len, K.id_pk, FZ_TP, &OB_TP_LIVE, &o, &again, &d) != OB_OK ||
        again->n_intros != desc->n_intros)
        abort();
    for (i = 0; i < desc->n_intros; i++)
        if (!intro_eq(&again->intros[i], &desc->intros[i]))
            abort();
    ob_hsv3_desc_free(again);
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int inited;
    uint8_t flags, salt[16], secret[48];
    uint16_t mlen;
    const uint8_t *tmpl;
    ob_buf inner_ct, mid, doc;
    ob_hsv3_verify_opts o;
    ob_hsv3_desc *desc = NULL;
    ob_cur c;
    ob_diag d;
    ob_err e;
    int client;

    if (!inited) {
        if (ob_secmem_init() != 0 || fz_keys_init(&K) != 0)
            abort();
        inited = 1;
    }
    ob_cur_init(&c, data, size);
    if (size > OB_HSV3_DESC_MAX_LEN || ob_cur_get_u8(&c, &flags) != 0 ||
        ob_cur_get_u16(&c, &mlen) != 0 || ob_cur_borrow(&c, mlen, &tmpl) != 0)
        return 0;
    client = flags & 1;
    ob_buf_init(&inner_ct);
    ob_buf_init(&mid);
    ob_buf_init(&doc);
    memcpy(secret, K.blind_pk, 32);
    memcpy(secret + 32, K.cookie, 16);
    fz_fill(salt, sizeof(salt), 91);
    if (ob_hsv3_layer_encrypt(&inner_ct, ob_cur_ptr(&c), ob_cur_left(&c), secret, client ? 48 : 32,
                              K.subcred, FZ_REVISION, salt, 0, &d) != OB_OK)
        goto out;
    expand(&mid, tmpl, mlen, &inner_ct, client);
    if (!ob_buf_ok(&mid) || make_doc(&doc, mid.p, mid.len) != OB_OK)
        goto out;
    memset(&o, 0, sizeof(o));
    o.strict_enc_cert = (flags >> 1) & 1;
    o.client_auth_x25519_sk = (flags & 4) ? K.client_sk : NULL;
    e = ob_hsv3_desc_verify(doc.p, doc.len, K.id_pk, FZ_TP, &OB_TP_LIVE, &o, &desc, &d);
    fz_note("verify", e, &d);
    if (e == OB_OK) {
        if (desc->n_intros > OB_HSV3_MAX_INTROS || memcmp(desc->blinded_key, K.blind_pk, 32) != 0 ||
            desc->revision != FZ_REVISION || desc->client_auth_used != client || desc->tp != FZ_TP)
            abort();
        rebuild(desc);
        ob_hsv3_desc_free(desc);
    }
out:
    ob_buf_free(&inner_ct);
    ob_buf_free(&mid);
    ob_buf_free(&doc);
    return 0;
}

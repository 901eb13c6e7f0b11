/*
 * floor.c - the crypto floor of the signing ceremony, measured on this
 * machine (make bench; docs/performance.rst).
 *
 * The floor is what the ceremony cannot avoid: the libsodium and OpenSSL
 * calls a minimal signer makes, counted one by one, on data of the sizes
 * our descriptors really have.  Nothing of ours runs inside the timed
 * parts; our code is used only beforehand, to build one real backend
 * descriptor and one real master descriptor and read their sizes (signed
 * text, both encrypted layers).  Each unit is timed by CPU time, many
 * times, and its median quoted.
 *
 * Units (per descriptor):
 *   backend check, n intro points: the 08 certificate's signature; the
 *     blinded key of the backend's period (SHA3-256 for the parameter, one
 *     variable-base scalar multiplication); the descriptor signature over
 *     its text; the subcredential (2 x SHA3-256); both layers (SHAKE-256
 *     for the keys, SHA3-256 for the MAC over the ciphertext, AES-256-CTR);
 *     per intro point the 09 and 0B certificate signatures.
 *   backend read: what rebuilding from a backend needs without judging it:
 *     the subcredential and both layers.
 *   build, 20 intro points: the blinded secret key (SHA3-256, SHA-512, a
 *     scalar multiplication mod l) and its public key (fixed-base); a
 *     descriptor-signing key pair (random, SHA-512, fixed-base); the 08
 *     certificate's signature; the revision counter (SHA3-256, AES-256-CTR
 *     keystream of 2 bytes per second since the period's SRV run began,
 *     summed); the subcredential; per intro point the enc key's ed25519
 *     form (OpenSSL BIGNUM: (u - 1) / (u + 1) mod p) and two certificate
 *     signatures; both layers encrypted (random salt, SHAKE-256, AES-256-CTR,
 *     SHA3-256 MAC); the ephemeral x25519 key pair; 16 fake auth-client
 *     lines (random); the descriptor signature.  A signature is SHA-512
 *     twice, a fixed-base multiplication and scalar arithmetic mod l.
 *   self-check, 20 intro points: a backend check of the signed descriptor
 *     without the blinding (its blinded key is known: we made it).
 *   key check: a master key's public key from its secret (fixed-base),
 *     once per key.
 *   revision read, 20 intro points: the online side's rebuild of a
 *     further revision: both layers encrypted, its signature checked.
 *   revision, 20 intro points: a further revision of a master descriptor
 *     (hsv3_revs.h): its counter (the keystream read on by half a
 *     lifetime: 2 bytes a second), both layers encrypted under it and the
 *     document signed; checked: its signature and both layers.
 *
 * Sums, per service of the bench ceremony (10 backends of 2 intro points,
 * 2 master descriptors of 20):
 *   sign    = 10 backend checks + 2 builds + 2 self-checks + 1 key check
 *             (run.sh adds a revision unit for every further revision the
 *             response carries: how many depends on the time of day)
 *   collect = 10 backend checks
 *   publish = 2 self-checks + 10 backend reads (run.sh adds a revision
 *             read for every further revision)
 * and for the 1000-service ceremony (2 backends of 10 intro points shared
 * by every service): 2 backend checks + 2000 builds + 2000 self-checks +
 * 1000 key checks.
 *
 * Output: "unit NAME us MEDIAN" lines, then "floor NAME ms VALUE" lines
 * that tests/bench/run.sh reads.
 *
 * "floor qr PNG...": the frames our qr encode wrote, each read (libpng) and
 * scanned (zbar), and its payload encoded again (libqrencode, the default
 * version and level), drawn at the default scale with its quiet zone and
 * written as PNG once (libpng); the mean per frame.  zbar's time varies
 * from frame to frame by a factor of two, so the floor uses the very frames
 * it is compared with.  "floor kdf": one Argon2id run at the key files'
 * limits (crypto_pwhash, MODERATE), which keygen and import cannot go below.
 *
 * usage: floor [--reps N] [qr PNG... | kdf]
 */
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <png.h>
#include <qrencode.h>
#include <sodium.h>
#include <zbar.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "ed25519x.h"
#include "fileio.h"
#include "hsv3_build.h"
#include "hsv3_common.h"
#include "hsv3_desc.h"
#include "hsv3_sign.h"
#include "qrimage.h"
#include "secmem.h"
#include "../unit/fake_intro.h"

#define SIG_PREFIX "Tor onion service descriptor sig v3"
#define MAX_UNIT   64 /* bytes of a layer's plaintext, at most, in a unit */

static const EVP_MD *md_sha3, *md_sha512, *md_shake;
static EVP_MD_CTX *mctx;
static EVP_CIPHER_CTX *cctx;

/* ---- the primitives, as a minimal signer calls them ---- */

static void hash(const EVP_MD *md, uint8_t *out, size_t outlen, const void *a, size_t na,
                 const void *b, size_t nb)
{
    unsigned int len = 0;

    EVP_DigestInit_ex(mctx, md, NULL);
    EVP_DigestUpdate(mctx, a, na);
    if (nb > 0)
        EVP_DigestUpdate(mctx, b, nb);
    if (md == md_shake)
        EVP_DigestFinalXOF(mctx, out, outlen);
    else
        EVP_DigestFinal_ex(mctx, out, &len);
}

static void aes_ctr(uint8_t *out, const uint8_t *in, size_t n, const uint8_t key[32],
                    const uint8_t iv[16])
{
    int len = 0;

    EVP_EncryptInit_ex(cctx, EVP_aes_256_ctr(), NULL, key, iv);
    EVP_EncryptUpdate(cctx, out, &len, in, (int)n);
}

/* Ed25519 with an expanded secret key: r, R = rB, k, S = r + k a. */
static void sign_exp(uint8_t sig[64], const uint8_t *m, size_t n, const uint8_t exp[64],
                     const uint8_t pk[32])
{
    uint8_t wide[64], r[32], k[32], ka[32];

    EVP_DigestInit_ex(mctx, md_sha512, NULL);
    EVP_DigestUpdate(mctx, exp + 32, 32);
    EVP_DigestUpdate(mctx, m, n);
    EVP_DigestFinal_ex(mctx, wide, NULL);
    crypto_core_ed25519_scalar_reduce(r, wide);
    crypto_scalarmult_ed25519_base_noclamp(sig, r);
    EVP_DigestInit_ex(mctx, md_sha512, NULL);
    EVP_DigestUpdate(mctx, sig, 32);
    EVP_DigestUpdate(mctx, pk, 32);
    EVP_DigestUpdate(mctx, m, n);
    EVP_DigestFinal_ex(mctx, wide, NULL);
    crypto_core_ed25519_scalar_reduce(k, wide);
    crypto_core_ed25519_scalar_mul(ka, k, exp);
    crypto_core_ed25519_scalar_add(sig + 32, r, ka);
}

/* One layer: keys, MAC over the ciphertext, AES-CTR (encrypt = decrypt). */
static void layer(uint8_t *out, const uint8_t *ct, size_t n, const uint8_t subcred[32])
{
    uint8_t in[32 + 32 + 8 + 16 + 25], keys[80], mac[32], head[8 + 32 + 8 + 16];

    memset(in, 1, sizeof(in));
    memcpy(in + 32, subcred, 32);
    hash(md_shake, keys, sizeof(keys), in, sizeof(in), NULL, 0);
    memcpy(head + 8, keys + 48, 32);
    memset(head + 40, 2, 24);
    hash(md_sha3, mac, sizeof(mac), head, sizeof(head), ct, n);
    aes_ctr(out, ct, n, keys, keys + 32);
}

static void subcredential(uint8_t out[32], const uint8_t A[32], const uint8_t Ab[32])
{
    uint8_t cred[32], in[13 + 64];

    hash(md_sha3, cred, 32, "credential", 10, A, 32);
    memcpy(in, "subcredential", 13);
    memcpy(in + 13, cred, 32);
    memcpy(in + 45, Ab, 32);
    hash(md_sha3, out, 32, in, sizeof(in), NULL, 0);
}

/* The ed25519 form of an x25519 key, as OpenSSL's BIGNUM computes it. */
static void curve_to_ed(uint8_t ed[32], const uint8_t u[32], BN_CTX *ctx, const BIGNUM *p)
{
    BIGNUM *x, *num, *den;

    BN_CTX_start(ctx);
    x = BN_CTX_get(ctx);
    num = BN_CTX_get(ctx);
    den = BN_CTX_get(ctx);
    BN_lebin2bn(u, 32, x);
    BN_nnmod(x, x, p, ctx);
    BN_copy(num, x);
    BN_sub_word(num, 1);
    BN_nnmod(num, num, p, ctx);
    BN_copy(den, x);
    BN_add_word(den, 1);
    BN_mod_inverse(den, den, p, ctx);
    BN_mod_mul(x, num, den, p, ctx);
    BN_bn2lebinpad(x, ed, 32);
    BN_CTX_end(ctx);
}

/* ---- the data: real sizes, random contents, valid signatures ---- */

typedef struct sized {
    size_t text_len; /* bytes the descriptor signature covers, prefix included */
    size_t outer_ct, inner_ct;
} sized;

typedef struct world {
    uint8_t A[32], master_exp[64], master_pk[32], Ab[32];
    uint8_t sk[64], pk[32]; /* a signing key: certs and descriptors */
    uint8_t cert_msg[76], cert_sig[64];
    uint8_t *text;
    uint8_t desc_sig[3][64];
    uint8_t *ct, *pt;
    uint8_t enc_key[32];
    uint8_t *ks;
    size_t rev_bytes;      /* the revision counter's keystream at now */
    size_t rev_step_bytes; /* and from one revision to the next */
    uint8_t sub[32];       /* a subcredential */
    sized sz[3];           /* backend of 2 intro points, master of 20, backend of 10 */
    uint8_t blind_in[246]; /* the blinding parameter's input: strings, key, period */
    BN_CTX *bn;
    BIGNUM *p;
} world;

static world W;

/* Sign a real descriptor with n intro points and read its sizes. */
static int measure_sizes(size_t n, sized *out)
{
    ob_hsv3_intro ips[OB_HSV3_MAX_INTROS];
    const ob_hsv3_intro *ptr[OB_HSV3_MAX_INTROS];
    uint8_t *exp = ob_secalloc(64), pk[32], *text = NULL, sub[32];
    uint64_t now = (uint64_t)time(NULL);
    ob_hsv3_outer o;
    ob_ed_cert cert;
    ob_buf mid, inner;
    ofl_hsv3_sign_in in;
    size_t len = 0, i, nc = 0;
    ob_diag d;
    int rc = -1;

    memset(&o, 0, sizeof(o));
    ob_buf_init(&mid);
    ob_buf_init(&inner);
    if (exp == NULL || ob_ed25519_keygen(exp, pk) != 0)
        goto out;
    for (i = 0; i < n; i++) {
        if (ob_test_fake_intro(&ips[i], (unsigned)i) != 0)
            goto out;
        ptr[i] = &ips[i];
    }
    memset(&in, 0, sizeof(in));
    in.master_exp = exp;
    in.master_pk = pk;
    in.tpp = &OB_TP_LIVE;
    in.now = now;
    in.tp = ob_hsv3_tp_num(now, &OB_TP_LIVE);
    in.intros = ptr;
    in.n_intros = n;
    if (ofl_hsv3_sign_descriptor(&in, &text, &len, NULL, &d) != OB_OK ||
        ob_hsv3_outer_parse(text, len, &o, &d) != OB_OK ||
        ob_ed_cert_parse(&cert, o.cert, o.cert_len, &d) != OB_OK ||
        ob_hsv3_subcredential(sub, pk, cert.signer) != 0 ||
        ob_hsv3_layer_decrypt(o.blob, o.blob_len, cert.signer, 32, sub, o.revision, 1, &mid, &d) !=
            OB_OK ||
        ob_hsv3_middle_parse(mid.p, mid.len, &nc, &inner, &d) != OB_OK) {
        fprintf(stderr, "floor: setup: %s\n", d.msg);
        goto out;
    }
    out->text_len = strlen(SIG_PREFIX) + o.signed_len;
    out->outer_ct = o.blob_len - 48;
    out->inner_ct = inner.len - 48;
    rc = 0;
out:
    for (i = 0; i < n; i++)
        ob_hsv3_intro_clear(&ips[i]);
    ob_hsv3_outer_clear(&o);
    ob_buf_free(&mid);
    ob_buf_free(&inner);
    free(text);
    ob_secfree(exp);
    return rc;
}

static int setup(void)
{
    static const uint8_t p_be[32] = { 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xed };
    uint8_t seed[32], esk[32];
    uint64_t now = (uint64_t)time(NULL), t;
    ob_hsv3_slot slots[2];
    size_t big, k;

    md_sha3 = EVP_sha3_256();
    md_sha512 = EVP_sha512();
    md_shake = EVP_shake256();
    mctx = EVP_MD_CTX_new();
    cctx = EVP_CIPHER_CTX_new();
    W.bn = BN_CTX_new();
    W.p = BN_bin2bn(p_be, 32, NULL);
    if (mctx == NULL || cctx == NULL || W.bn == NULL || W.p == NULL)
        return -1;
    if (measure_sizes(2, &W.sz[0]) != 0 || measure_sizes(20, &W.sz[1]) != 0 ||
        measure_sizes(10, &W.sz[2]) != 0)
        return -1;
    randombytes_buf(W.blind_in, sizeof(W.blind_in));
    crypto_sign_keypair(W.A, W.master_exp); /* A is some valid point */
    randombytes_buf(seed, 32);
    ob_ed25519_expand_seed(W.master_exp, seed);
    ob_ed25519_pub_from_expanded(W.master_pk, W.master_exp);
    memcpy(W.Ab, W.master_pk, 32);
    ob_ed25519_keygen(W.sk, W.pk);
    randombytes_buf(W.cert_msg, sizeof(W.cert_msg));
    sign_exp(W.cert_sig, W.cert_msg, sizeof(W.cert_msg), W.sk, W.pk);
    big = 200000; /* above any descriptor (OB_HSV3_DESC_MAX_LEN) */
    W.text = malloc(big);
    W.ct = malloc(big);
    W.pt = malloc(big);
    W.ks = malloc(1u << 19);
    if (W.text == NULL || W.ct == NULL || W.pt == NULL || W.ks == NULL)
        return -1;
    randombytes_buf(W.text, big);
    randombytes_buf(W.ct, big);
    memset(W.ks, 0, 1u << 19);
    for (k = 0; k < 3; k++)
        sign_exp(W.desc_sig[k], W.text, W.sz[k].text_len, W.sk, W.pk);
    crypto_box_keypair(W.enc_key, esk);
    /* Revision counter: seconds since the SRV run of the first publish slot began. */
    ob_hsv3_publish_slots(now, &OB_TP_LIVE, slots);
    if (ob_hsv3_srv_run_start(slots[0].tp, &OB_TP_LIVE, &t) != 0)
        abort();
    t = now - t + 1;
    W.rev_bytes = 2 * (t > (1u << 18) ? (1u << 18) : t);
    /* Revisions every half lifetime (tor's 180 minutes, as the bench's). */
    W.rev_step_bytes = 2 * (OB_HSV3_DEFAULT_LIFETIME / 2 * 60);
    subcredential(W.sub, W.master_pk, W.Ab);
    return 0;
}

/* ---- units ---- */

static volatile int sink;

static void check_sigs(size_t which, size_t n_intros)
{
    size_t i;

    sink +=
        crypto_sign_ed25519_verify_detached(W.desc_sig[which], W.text, W.sz[which].text_len, W.pk);
    for (i = 0; i < 2 * n_intros; i++)
        sink += crypto_sign_ed25519_verify_detached(W.cert_sig, W.cert_msg, 76, W.pk);
}

static void read_layers(size_t which)
{
    uint8_t sub[32];

    subcredential(sub, W.A, W.Ab);
    layer(W.pt, W.ct, W.sz[which].outer_ct, sub);
    layer(W.pt, W.ct, W.sz[which].inner_ct, sub);
}

static void unit_backend_check(size_t which, size_t n_intros)
{
    uint8_t h[32], Ab[32];

    sink += crypto_sign_ed25519_verify_detached(W.cert_sig, W.cert_msg, 76, W.pk); /* 08 */
    hash(md_sha3, h, 32, W.blind_in, sizeof(W.blind_in), NULL, 0);
    h[0] &= 248;
    h[31] &= 63;
    h[31] |= 64;
    sink += crypto_scalarmult_ed25519_noclamp(Ab, h, W.A);
    check_sigs(which, n_intros);
    read_layers(which);
}

static void unit_backend_read(void)
{
    read_layers(0);
}

static void unit_selfcheck(void)
{
    sink += crypto_sign_ed25519_verify_detached(W.cert_sig, W.cert_msg, 76, W.pk); /* 08 */
    check_sigs(1, 20);
    read_layers(1);
}

static void unit_build(void)
{
    uint8_t h[32], bexp[64], wide[64], hw[64], Ab[32], seed[32], sexp[64], spk[32], sig[64];
    uint8_t key[32], iv[16] = { 0 }, sub[32], ed[32], eph_pk[32], eph_sk[32], fake[16 * 40];
    uint64_t total = 0;
    size_t i;

    /* blinded secret and public key, for this (service, period) */
    hash(md_sha3, h, 32, W.blind_in, sizeof(W.blind_in), NULL, 0);
    memset(hw, 0, sizeof(hw));
    memcpy(hw, h, 32);
    crypto_core_ed25519_scalar_reduce(h, hw);
    crypto_core_ed25519_scalar_mul(bexp, W.master_exp, h);
    hash(md_sha512, wide, 64, "Derive temporary signing key hash input", 39, W.master_exp + 32, 32);
    memcpy(bexp + 32, wide, 32);
    crypto_scalarmult_ed25519_base_noclamp(Ab, bexp);
    /* descriptor-signing key and its 08 certificate */
    randombytes_buf(seed, 32);
    hash(md_sha512, sexp, 64, seed, 32, NULL, 0);
    sexp[0] &= 248;
    sexp[31] &= 127;
    sexp[31] |= 64;
    crypto_scalarmult_ed25519_base_noclamp(spk, sexp);
    sign_exp(sig, W.cert_msg, 76, bexp, Ab);
    /* revision counter */
    hash(md_sha3, key, 32, "rev-counter-generation", 23, bexp, 64);
    aes_ctr(W.ks, W.ks, W.rev_bytes, key, iv);
    for (i = 0; i < W.rev_bytes; i += 2)
        total += (uint64_t)W.ks[i] | ((uint64_t)W.ks[i + 1] << 8);
    memset(W.ks, 0, W.rev_bytes);
    sink += (int)total;
    subcredential(sub, W.master_pk, Ab);
    /* intro points: enc key's ed25519 form, the 09 and 0B certificates */
    for (i = 0; i < 20; i++) {
        curve_to_ed(ed, W.enc_key, W.bn, W.p);
        sign_exp(sig, W.cert_msg, 76, sexp, spk);
        sign_exp(sig, W.cert_msg, 76, sexp, spk);
    }
    /* inner layer, ephemeral key, fake clients, middle layer, signature */
    randombytes_buf(seed, 16);
    layer(W.pt, W.ct, W.sz[1].inner_ct, sub);
    crypto_box_keypair(eph_pk, eph_sk);
    randombytes_buf(fake, sizeof(fake));
    randombytes_buf(seed, 16);
    layer(W.pt, W.ct, W.sz[1].outer_ct, sub);
    sign_exp(sig, W.text, W.sz[1].text_len, sexp, spk);
    sodium_memzero(bexp, sizeof(bexp));
    sodium_memzero(sexp, sizeof(sexp));
}

/*
 * A further revision of a master descriptor (format/hs/hsv3_revs.h): the
 * same content under another counter, so both layers encrypted again and
 * the document signed again; checking it, its signature and both layers.
 * Its counter is the revision counter's keystream read on from the one
 * before, step seconds further (2 bytes a second; the keystream of a
 * descriptor's counters is read once, up to the last: hsv3_common.h).  The
 * subcredential is the descriptor's, the same for every revision.
 */
static void unit_revision(void)
{
    uint8_t sig[64], key[32], iv[16] = { 0 };
    uint64_t total = 0;
    size_t i;

    memset(key, 3, sizeof(key));
    aes_ctr(W.ks, W.ks, W.rev_step_bytes, key, iv);
    for (i = 0; i < W.rev_step_bytes; i += 2)
        total += (uint64_t)W.ks[i] | ((uint64_t)W.ks[i + 1] << 8);
    memset(W.ks, 0, W.rev_step_bytes);
    sink += (int)total;
    layer(W.pt, W.ct, W.sz[1].inner_ct, W.sub);
    layer(W.pt, W.ct, W.sz[1].outer_ct, W.sub);
    sign_exp(sig, W.text, W.sz[1].text_len, W.sk, W.pk);
    sink += crypto_sign_ed25519_verify_detached(W.desc_sig[1], W.text, W.sz[1].text_len, W.pk);
    layer(W.pt, W.ct, W.sz[1].outer_ct, W.sub);
    layer(W.pt, W.ct, W.sz[1].inner_ct, W.sub);
}

/*
 * A further revision rebuilt by the online side (ob_response_expand): its
 * layers encrypted under its counter (the builder's, from revision 0's
 * content) and its signature checked.
 */
static void unit_revision_read(void)
{
    layer(W.pt, W.ct, W.sz[1].inner_ct, W.sub);
    layer(W.pt, W.ct, W.sz[1].outer_ct, W.sub);
    sink += crypto_sign_ed25519_verify_detached(W.desc_sig[1], W.text, W.sz[1].text_len, W.pk);
}

static void unit_key_check(void)
{
    uint8_t pk[32];

    crypto_scalarmult_ed25519_base_noclamp(pk, W.master_exp);
    sink += memcmp(pk, W.master_pk, 32) != 0;
}

static double cpu_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* Median CPU microseconds of one call of fn(arg), over reps batches. */
static double time_unit(void (*fn)(size_t, size_t), size_t a, size_t b, int reps, int batch)
{
    double *v = calloc((size_t)reps, sizeof(double)), t, m;
    int r, k;

    if (v == NULL)
        return -1;
    fn(a, b); /* warm */
    for (r = 0; r < reps; r++) {
        t = cpu_us();
        for (k = 0; k < batch; k++)
            fn(a, b);
        v[r] = (cpu_us() - t) / batch;
    }
    qsort(v, (size_t)reps, sizeof(*v), cmpd);
    m = v[reps / 2];
    free(v);
    return m;
}

static void u_backend(size_t which, size_t n)
{
    unit_backend_check(which, n);
}
static void u_read(size_t a, size_t b)
{
    (void)a;
    (void)b;
    unit_backend_read();
}
static void u_build(size_t a, size_t b)
{
    (void)a;
    (void)b;
    unit_build();
}
static void u_self(size_t a, size_t b)
{
    (void)a;
    (void)b;
    unit_selfcheck();
}
static void u_rev(size_t a, size_t b)
{
    (void)a;
    (void)b;
    unit_revision();
}
static void u_rev_read(size_t a, size_t b)
{
    (void)a;
    (void)b;
    unit_revision_read();
}
static void u_key(size_t a, size_t b)
{
    (void)a;
    (void)b;
    unit_key_check();
}

/* ---- QR frames and the key derivation ---- */

static uint8_t qr_data[3000], *qr_png, *qr_file;
static size_t qr_len, qr_png_len, qr_file_len;
static zbar_image_scanner_t *qr_scanner;

/* Encode the payload, draw it at the default scale with its quiet zone, write the PNG once. */
static void u_qr_encode(size_t a, size_t b)
{
    QRcode *q = QRcode_encodeData((int)qr_len, qr_data, OB_QR_DEFAULT_VERSION, QR_ECLEVEL_M);
    int side, x, y, i, j, sc = OB_QR_DEFAULT_SCALE;
    png_alloc_size_t size;
    png_image img;
    uint8_t *px;

    (void)a;
    (void)b;
    if (q == NULL)
        return;
    side = (q->width + 2 * OB_QR_BORDER) * sc;
    px = malloc((size_t)side * (size_t)side);
    if (px != NULL) {
        memset(px, 255, (size_t)side * (size_t)side);
        for (y = 0; y < q->width; y++)
            for (x = 0; x < q->width; x++)
                if (q->data[y * q->width + x] & 1)
                    for (i = 0; i < sc; i++)
                        memset(px + ((size_t)(y + OB_QR_BORDER) * sc + i) * side +
                                   (x + OB_QR_BORDER) * sc,
                               0, (size_t)sc);
        memset(&img, 0, sizeof(img));
        img.version = PNG_IMAGE_VERSION;
        img.width = (png_uint_32)side;
        img.height = (png_uint_32)side;
        img.format = PNG_FORMAT_GRAY;
        size = PNG_IMAGE_PNG_SIZE_MAX(img);
        free(qr_png);
        qr_png = malloc(size);
        if (qr_png != NULL && png_image_write_to_memory(&img, qr_png, &size, 0, px, side, NULL))
            qr_png_len = size;
        free(px);
    }
    (void)j;
    QRcode_free(q);
}

/* Read a PNG and scan it; the payload lands in qr_data. */
static void u_qr_decode(size_t a, size_t b)
{
    const zbar_symbol_t *sym;
    png_image img;
    zbar_image_t *z;
    uint8_t *px;

    (void)a;
    (void)b;
    qr_len = 0;
    memset(&img, 0, sizeof(img));
    img.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&img, qr_file, qr_file_len))
        return;
    img.format = PNG_FORMAT_GRAY;
    px = malloc(PNG_IMAGE_SIZE(img));
    if (px != NULL && png_image_finish_read(&img, NULL, px, 0, NULL)) {
        z = zbar_image_create();
        zbar_image_set_format(z, zbar_fourcc('Y', '8', '0', '0'));
        zbar_image_set_size(z, img.width, img.height);
        zbar_image_set_data(z, px, (unsigned long)img.width * img.height, NULL);
        if (zbar_scan_image(qr_scanner, z) == 1 && (sym = zbar_image_first_symbol(z)) != NULL &&
            zbar_symbol_get_data_length(sym) <= sizeof(qr_data)) {
            qr_len = zbar_symbol_get_data_length(sym);
            memcpy(qr_data, zbar_symbol_get_data(sym), qr_len);
        }
        zbar_image_destroy(z);
    }
    png_image_free(&img);
    free(px);
}

/* The frames our qr encode wrote: each read back and made again, as the floor of both. */
static int qr_main(int reps, char **files, int n)
{
    double enc = 0, dec = 0;
    ob_diag d;
    int i;

    if ((qr_scanner = zbar_image_scanner_create()) == NULL)
        return 1;
    zbar_image_scanner_set_config(qr_scanner, 0, ZBAR_CFG_ENABLE, 0);
    zbar_image_scanner_set_config(qr_scanner, ZBAR_QRCODE, ZBAR_CFG_ENABLE, 1);
    zbar_image_scanner_set_config(qr_scanner, ZBAR_QRCODE, ZBAR_CFG_BINARY, 1);
    for (i = 0; i < n; i++) {
        free(qr_file);
        qr_file = NULL;
        if (ob_file_read(files[i], 1u << 24, &qr_file, &qr_file_len, &d) != OB_OK) {
            fprintf(stderr, "floor: %s\n", d.msg);
            return 1;
        }
        dec += time_unit(u_qr_decode, 0, 0, reps, 1);
        if (qr_len == 0) {
            fprintf(stderr, "floor: zbar did not read %s\n", files[i]);
            return 1;
        }
        enc += time_unit(u_qr_encode, 0, 0, reps, 1);
    }
    printf("floor qr_encode_frame ms %.2f\n", enc / n / 1e3);
    printf("floor qr_decode_frame ms %.2f\n", dec / n / 1e3);
    zbar_image_scanner_destroy(qr_scanner);
    free(qr_png);
    free(qr_file);
    return 0;
}

static int kdf_fail;

static void u_kdf(size_t a, size_t b)
{
    uint8_t key[32], salt[crypto_pwhash_SALTBYTES] = { 0 };

    (void)a;
    (void)b;
    kdf_fail |= crypto_pwhash(key, sizeof(key), "correct horse battery staple", 28, salt,
                              crypto_pwhash_OPSLIMIT_MODERATE, crypto_pwhash_MEMLIMIT_MODERATE,
                              crypto_pwhash_ALG_ARGON2ID13) != 0;
}

/* The median of three runs (the first one warms, as everywhere here). */
static int kdf_main(void)
{
    double t = time_unit(u_kdf, 0, 0, 3, 1);

    if (kdf_fail)
        return 1;
    printf("floor kdf ms %.0f\n", t / 1e3);
    return 0;
}

int main(int argc, char **argv)
{
    double bc2, bc10, rd, bu, sc, kc, rv, rr;
    int reps = 31, mode = 0, i;

    for (i = 1; i < argc && mode != 1; i++) {
        if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (strcmp(argv[i], "qr") == 0 && i + 1 < argc)
            mode = 1;
        else if (strcmp(argv[i], "kdf") == 0)
            mode = 2;
        else {
            fprintf(stderr, "usage: floor [--reps N] [qr PNG... | kdf]\n");
            return 2;
        }
    }
    if (reps < 1 || ob_secmem_init() != 0)
        return 1;
    if (mode == 1)
        return qr_main(reps, argv + i, argc - i);
    if (mode == 2)
        return kdf_main();
    if (ob_secmem_init() != 0 || setup() != 0) {
        fprintf(stderr, "floor: setup failed\n");
        return 1;
    }
    bc2 = time_unit(u_backend, 0, 2, reps, 4);
    bc10 = time_unit(u_backend, 2, 10, reps, 2);
    rd = time_unit(u_read, 0, 0, reps, 8);
    bu = time_unit(u_build, 0, 0, reps, 1);
    sc = time_unit(u_self, 0, 0, reps, 1);
    kc = time_unit(u_key, 0, 0, reps, 16);
    rv = time_unit(u_rev, 0, 0, reps, 4);
    rr = time_unit(u_rev_read, 0, 0, reps, 4);
    printf("unit backend_check_2 us %.1f\n", bc2);
    printf("unit backend_check_10 us %.1f\n", bc10);
    printf("unit backend_read us %.1f\n", rd);
    printf("unit build_20 us %.1f\n", bu);
    printf("unit selfcheck_20 us %.1f\n", sc);
    printf("unit key_check us %.1f\n", kc);
    printf("unit revision_20 us %.1f\n", rv);
    printf("unit revision_read_20 us %.1f\n", rr);
    printf("floor sign_service ms %.2f\n", (10 * bc2 + 2 * bu + 2 * sc + kc) / 1e3);
    printf("floor collect_service ms %.2f\n", 10 * bc2 / 1e3);
    printf("floor publish_service ms %.2f\n", (2 * sc + 10 * rd) / 1e3);
    printf("floor ceremony_1000 ms %.0f\n", (2 * bc10 + 2000 * bu + 2000 * sc + 1000 * kc) / 1e3);
    return 0;
}

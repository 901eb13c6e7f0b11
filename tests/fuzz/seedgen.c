/*
 * seedgen.c - seeds for the fuzz targets whose inputs must carry material
 * signed by the fixed keys of fixed.h (tests/fuzz/make_seeds.sh runs it).
 *
 *   seedgen layers DIR    fuzz_hsv3_layers: "@AUTH\n@ENC" and the inner
 *                         layer of descriptors built with the fixed signing
 *                         key (0, 1, 3 and 20 intro points, flow control,
 *                         single onion, each flag combination once)
 *   seedgen compact DIR   fuzz_compact: the three entries of the compact
 *                         fixture (fixed.h), each behind its record number
 *   seedgen keys DIR      fuzz_keys: a store sealed with the cheapest
 *                         Argon2id (whole file and plaintext), tor's
 *                         hs_ed25519_secret_key alone and in a directory,
 *                         ob-online's delegated key entries
 *   seedgen keybundles DIR
 *                         fuzz_bundle: a key-certification request and
 *                         response (kinds 3 and 4)
 *   seedgen qrframe DIR B1 B2
 *                         fuzz_qrframe: the frames of two bundles in each
 *                         mode (one assembler, the decode reader, split)
 *
 * Deterministic: the same files every run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "bundle.h"
#include "dkeys.h"
#include "encode.h"
#include "fileio.h"
#include "fixed.h"
#include "hsv3_build.h"
#include "hsv3_desc.h"
#include "onion.h"
#include "qrframe.h"
#include "secmem.h"

/* The start of a period in range (the checked API, hsv3_common.h). */
static uint64_t tp_start(uint64_t tp, const ob_tp_params *p)
{
    uint64_t s = 0;

    if (ob_hsv3_tp_start(tp, p, &s) != 0)
        abort();
    return s;
}

static fz_keys K;

/* The inner plaintext of a descriptor built with the fixed keys. */
static int inner_of(size_t n_intros, const char *flow, ob_buf *inner)
{
    ob_hsv3_intro ips[OB_HSV3_MAX_INTROS];
    const ob_hsv3_intro *ptr[OB_HSV3_MAX_INTROS];
    uint8_t seed[32], *doc = NULL;
    size_t doc_len = 0, i, nc = 0;
    ob_hsv3_outer outer;
    ob_buf mid, blob;
    ob_diag d;
    int rc = -1;

    ob_buf_init(&mid);
    ob_buf_init(&blob);
    memset(&outer, 0, sizeof(outer));
    for (i = 0; i < n_intros; i++) {
        if (fz_intro(&ips[i], (unsigned)i) != 0)
            goto out;
        ptr[i] = &ips[i];
    }
    fz_fill(seed, sizeof(seed), 7);
    if (fz_build(&K, ptr, n_intros, flow, 0, FZ_REVISION, seed, NULL, NULL, &doc, &doc_len, &d) !=
            OB_OK ||
        ob_hsv3_outer_parse(doc, doc_len, &outer, &d) != OB_OK ||
        ob_hsv3_layer_decrypt(outer.blob, outer.blob_len, K.blind_pk, 32, K.subcred, FZ_REVISION, 1,
                              &mid, &d) != OB_OK ||
        ob_hsv3_middle_parse(mid.p, mid.len, &nc, &blob, &d) != OB_OK ||
        ob_hsv3_layer_decrypt(blob.p, blob.len, K.blind_pk, 32, K.subcred, FZ_REVISION, 0, inner,
                              &d) != OB_OK) {
        fprintf(stderr, "seedgen: %s\n", d.msg);
        goto out;
    }
    rc = 0;
out:
    for (i = 0; i < n_intros; i++)
        free(ips[i].link_spec);
    ob_hsv3_outer_clear(&outer);
    ob_buf_free(&mid);
    ob_buf_free(&blob);
    free(doc);
    return rc;
}

static int write_seed(const char *dir, const char *name, uint8_t flags, const char *tmpl,
                      const uint8_t *inner, size_t n)
{
    char path[4096];
    ob_buf b;
    ob_diag d;
    ob_err e;

    ob_buf_init(&b);
    ob_buf_put_u8(&b, flags);
    ob_buf_put_u16(&b, (uint16_t)strlen(tmpl));
    ob_buf_put_str(&b, tmpl);
    ob_buf_put(&b, inner, n);
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    e = ob_buf_ok(&b) ? ob_file_write_atomic(path, b.p, b.len, 0644, 0, &d) : OB_ERR_NOMEM;
    ob_buf_free(&b);
    if (e != OB_OK)
        fprintf(stderr, "seedgen: %s: cannot write\n", path);
    return e == OB_OK ? 0 : -1;
}

static int gen_layers(const char *dir)
{
    static const struct {
        const char *name;
        size_t n;
        const char *flow;
        uint8_t flags;
        const char *extra; /* appended to the inner layer */
    } s[] = {
        { "intro0", 0, NULL, 0, "" },
        { "intro1-strict", 1, NULL, 2, "" },
        { "intro3-flow", 3, "1-2 31", 0, "" },
        { "intro3-client", 3, NULL, 1 | 4, "" },
        { "intro3-client-nokey", 3, NULL, 1, "" },
        { "intro3-single-onion", 3, NULL, 2, "single-onion-service\n" },
        { "intro20", 20, "1-2 31", 2 | 4, "" },
    };
    size_t i;
    int rc = 0;

    for (i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
        ob_buf inner, text;
        ob_buf_init(&inner);
        ob_buf_init(&text);
        if (inner_of(s[i].n, s[i].flow, &inner) != 0) {
            rc = -1;
        } else {
            /* extra lines go after the first ("create2-formats 2") */
            const uint8_t *nl = memchr(inner.p, '\n', inner.len);
            size_t first = nl != NULL ? (size_t)(nl - inner.p) + 1 : inner.len;
            ob_buf_put(&text, inner.p, first);
            ob_buf_put_str(&text, s[i].extra);
            ob_buf_put(&text, inner.p + first, inner.len - first);
            if (!ob_buf_ok(&text) ||
                write_seed(dir, s[i].name, s[i].flags, "@AUTH\n@ENC", text.p, text.len) != 0)
                rc = -1;
        }
        ob_buf_free(&inner);
        ob_buf_free(&text);
    }
    return rc;
}

static int gen_compact(const char *dir)
{
    fz_compact f;
    ob_diag d;
    size_t i;
    int rc = 0;

    if (fz_compact_init(&f, &K, &d) != OB_OK) {
        fprintf(stderr, "seedgen: %s\n", d.msg);
        return -1;
    }
    for (i = 0; i < FZ_ENTRIES; i++) {
        char path[4096];
        ob_buf b;
        ob_buf_init(&b);
        ob_buf_put_u8(&b, (uint8_t)i);
        ob_buf_put(&b, f.entry[i], f.entry_len[i]);
        snprintf(path, sizeof(path), "%s/entry%zu", dir, i);
        if (!ob_buf_ok(&b) || ob_file_write_atomic(path, b.p, b.len, 0644, 0, &d) != OB_OK)
            rc = -1;
        ob_buf_free(&b);
    }
    fz_compact_free(&f);
    return rc;
}

static int write_buf(const char *dir, const char *name, ob_buf *b)
{
    char path[4096];
    ob_diag d;
    int rc;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    rc = ob_buf_ok(b) && ob_file_write_atomic(path, b->p, b->len, 0644, 0, &d) == OB_OK ? 0 : -1;
    ob_buf_reset(b);
    return rc;
}

/* fuzz_keys: the plaintext of a store with n keys, and the tor secret key file of the first. */
static void store_plaintext(ob_buf *b, size_t n, ob_buf *tor)
{
    size_t i;

    ob_buf_put_u16(b, (uint16_t)n);
    for (i = 0; i < n; i++) {
        uint8_t seed[32], exp[64], pk[32];
        char addr[OB_ONION_V3_LEN + 1];
        fz_fill(seed, sizeof(seed), (uint8_t)(120 + i));
        if (ob_ed25519_expand_seed(exp, seed) != 0 || ob_ed25519_pub_from_expanded(pk, exp) != 0)
            abort();
        ob_onion_v3_encode(addr, pk);
        ob_buf_put_u8(b, 1);
        ob_buf_put_u8(b, OB_ONION_V3_LEN);
        ob_buf_put(b, addr, OB_ONION_V3_LEN);
        ob_buf_put_u16(b, 96);
        ob_buf_put(b, exp, 64);
        ob_buf_put(b, pk, 32);
        if (i == 0 && tor != NULL) {
            ob_buf_put(tor, "== ed25519v1-secret: type0 ==\0\0\0", 32);
            ob_buf_put(tor, exp, 64);
        }
    }
}

static int gen_keys(const char *dir)
{
    static const uint8_t salt[16] = "fuzz store salt"; /* as fuzz_keys.c */
    uint8_t key[32], *file = NULL;
    unsigned long long clen = 0;
    ob_buf pt, b, tor;
    int rc = 0;

    ob_buf_init(&pt);
    ob_buf_init(&b);
    ob_buf_init(&tor);
    if (crypto_pwhash(key, 32, "correct horse battery staple", 28, salt, 1, 8192,
                      crypto_pwhash_ALG_ARGON2ID13) != 0)
        return -1;
    store_plaintext(&pt, 1, &tor);
    ob_buf_put_u8(&b, 1);
    ob_buf_put(&b, pt.p, pt.len);
    rc |= write_buf(dir, "store-plain-1", &b);
    ob_buf_put_u8(&b, 0);
    ob_buf_put(&b, tor.p, tor.len);
    rc |= write_buf(dir, "tor-secret-key", &b);
    ob_buf_put_u8(&b, 2);
    ob_buf_put_u16(&b, (uint16_t)tor.len);
    ob_buf_put(&b, tor.p, tor.len);
    ob_buf_put_u16(&b, 0xffff);
    rc |= write_buf(dir, "tor-dir-secret-only", &b);
    ob_buf_reset(&pt);
    store_plaintext(&pt, 3, NULL);
    ob_buf_put_u8(&b, 1);
    ob_buf_put(&b, pt.p, pt.len);
    rc |= write_buf(dir, "store-plain-3", &b);
    /* the same three keys as a whole store file, sealed as fuzz_keys.c does */
    if (!ob_buf_ok(&pt) || (file = malloc(72 + pt.len + 16)) == NULL)
        return -1;
    /* flags 1: a test store, the only kind allowed a cheap Argon2id */
    memcpy(file, "OBKSTORE\x01\x01\x01\x01", 12);
    ob_store_u64(file + 12, 1);
    ob_store_u64(file + 20, 8192);
    memcpy(file + 28, salt, 16);
    memset(file + 44, 0x5a, 24);
    ob_store_u32(file + 68, (uint32_t)(pt.len + 16));
    if (crypto_aead_xchacha20poly1305_ietf_encrypt(file + 72, &clen, pt.p, pt.len, file, 72, NULL,
                                                   file + 44, key) != 0)
        rc = -1;
    ob_buf_put_u8(&b, 0);
    ob_buf_put(&b, file, 72 + (size_t)clen);
    rc |= write_buf(dir, "store-file-3", &b);
    ob_buf_put_u8(&b, 8);
    ob_buf_put(&b, file, 72 + (size_t)clen);
    rc |= write_buf(dir, "store-file-3-wrongpass", &b);
    free(file);
    ob_buf_free(&pt);
    ob_buf_free(&b);
    ob_buf_free(&tor);
    return rc;
}

/* Frames of one bundle as fuzz_qrframe's frame list: seqs [from, to), every step-th. */
static void put_frames(ob_buf *b, const ob_qr_frames *f, uint32_t from, uint32_t to, uint32_t step)
{
    uint8_t *fr = malloc(f->frame_len);
    ob_diag d;
    uint32_t k;

    if (fr == NULL)
        return;
    for (k = from; k < to; k += step) {
        if (ob_qr_frame_at(f, k, fr, &d) != OB_OK)
            break;
        ob_buf_put_u16(b, (uint16_t)f->frame_len);
        ob_buf_put(b, fr, f->frame_len);
    }
    free(fr);
}

/* fuzz_keys mode 5: a pending and a certified delegated key entry of the fixed service. */
static int gen_dkeys(const char *dir)
{
    char store[4096], addr[OB_ONION_V3_LEN + 1], path[4300], hex[17];
    uint64_t now = tp_start(FZ_TP, &OB_TP_LIVE) + 100;
    uint8_t rev[32], *p = NULL;
    size_t n = 0;
    onl_dkey *k = NULL;
    ob_buf b;
    ob_diag d;
    int rc = -1;

    ob_buf_init(&b);
    /* An absolute path, else the store would be the user's own (dkeys.h). */
    snprintf(store, sizeof(store), "/tmp/ob-seedgen-dkeys-XXXXXX");
    if (mkdtemp(store) == NULL || setenv("OB_DELEGATED_STORE", store, 1) != 0)
        return -1;
    ob_onion_v3_encode(addr, K.id_pk);
    if (onl_dkey_new_pending(addr, FZ_TP, &OB_TP_LIVE, now, &k, &d) != OB_OK)
        goto out;
    memcpy(k->sign_exp, K.sign_exp, 64);
    memcpy(k->sign_pk, K.sign_pk, 32);
    ob_hex_encode(hex, K.sign_pk, 8);
    snprintf(path, sizeof(path), "%s/%s/%u-%s.pending", store, addr, FZ_TP, hex);
    if (onl_dkey_save(NULL, k, &d) != OB_OK || ob_file_read(path, 4096, &p, &n, &d) != OB_OK)
        goto out;
    ob_buf_put_u8(&b, 5);
    ob_buf_put(&b, p, n);
    free(p);
    p = NULL;
    if (write_buf(dir, "dkey-pending", &b) != 0)
        goto out;
    fz_fill(rev, sizeof(rev), 77);
    snprintf(path, sizeof(path), "%s/%s/%u.key", store, addr, FZ_TP);
    if (onl_dkey_certify(k, K.cert, K.cert_len, rev, now, &d) != OB_OK ||
        onl_dkey_save(NULL, k, &d) != OB_OK || ob_file_read(path, 4096, &p, &n, &d) != OB_OK)
        goto out;
    ob_buf_put_u8(&b, 5);
    ob_buf_put(&b, p, n);
    if (write_buf(dir, "dkey-certified", &b) != 0)
        goto out;
    unlink(path);
    snprintf(path, sizeof(path), "%s/%s", store, addr);
    rmdir(path);
    rmdir(store);
    rc = 0;
out:
    if (rc != 0)
        fprintf(stderr, "seedgen: delegated keys: %s\n", d.msg);
    free(p);
    onl_dkey_free(k);
    ob_buf_free(&b);
    return rc;
}

/* fuzz_bundle: kinds 3 and 4 (key certification) for two services of three periods. */
static int gen_keybundles(const char *dir)
{
    ob_keyrequest *q = ob_keyrequest_new();
    ob_keyresponse *r = ob_keyresponse_new();
    ob_buf b;
    ob_diag d;
    size_t i, j;
    int rc = -1;

    d.msg[0] = '\0';
    ob_buf_init(&b);
    if (q == NULL || r == NULL)
        goto out;
    q->created = r->created = tp_start(FZ_TP, &OB_TP_LIVE) + 100;
    q->tp_length_min = r->tp_length_min = (uint32_t)OB_TP_LIVE.length_min;
    q->tp_offset_min = r->tp_offset_min = (uint32_t)OB_TP_LIVE.offset_min;
    if (ob_bundle_set_text(&q->origin, "ob-online (fuzz seed)") != OB_OK ||
        ob_bundle_set_text(&r->note, "a note") != OB_OK)
        goto out;
    for (i = 0; i < 2; i++) {
        fz_keys k;
        char addr[OB_ONION_V3_LEN + 1];
        ob_keyreq_service *qs = NULL;
        ob_keyresp_service *rs = NULL;
        if (fz_keys_init_tag(&k, (uint8_t)(1 + 40 * i)) != 0)
            goto out;
        ob_onion_v3_encode(addr, k.id_pk);
        if (ob_keyrequest_add_service(q, addr, &qs) != OB_OK ||
            ob_keyresponse_add_service(r, addr, &rs) != OB_OK)
            goto out;
        for (j = 0; j < 3; j++) {
            uint64_t tp = FZ_TP + j;
            uint8_t rev[32], seed[32], exp[64], spk[32];
            fz_fill(rev, sizeof(rev), (uint8_t)(30 + j));
            fz_fill(seed, sizeof(seed), (uint8_t)(90 + 3 * i + j));
            if (ob_ed25519_expand_seed(exp, seed) != 0 || ob_ed25519_pub_from_expanded(spk, exp))
                goto out;
            if (ob_keyreq_service_add_period(qs, tp, tp_start(tp, &OB_TP_LIVE),
                                             tp_start(tp + 1, &OB_TP_LIVE), spk) != OB_OK ||
                ob_keyresp_service_add_cert(rs, tp, spk, (uint64_t)FZ_EXPIRY * 3600,
                                            k.cert + k.cert_len - 64, rev) != OB_OK)
                goto out;
        }
    }
    if (ob_keyrequest_serialize(q, &b, &d) != OB_OK || write_buf(dir, "keycert-request.obb", &b))
        goto out;
    memcpy(r->request_digest, q->digest, sizeof(r->request_digest));
    if (ob_keyresponse_serialize(r, &b, &d) != OB_OK || write_buf(dir, "keycert-response.obb", &b))
        goto out;
    rc = 0;
out:
    if (rc != 0)
        fprintf(stderr, "seedgen: key-certification bundles: %s\n", d.msg);
    ob_buf_free(&b);
    ob_keyrequest_free(q);
    ob_keyresponse_free(r);
    return rc;
}

/* fuzz_qrframe: frames of the bundles given, in each mode. */
static int gen_qrframe(const char *dir, int nb, char **bundles)
{
    ob_qr_frames *f[2] = { NULL, NULL };
    uint8_t *p[2] = { NULL, NULL };
    size_t n[2] = { 0, 0 };
    ob_buf b;
    ob_diag d;
    int i, rc = 0;

    if (nb != 2)
        return -1;
    ob_buf_init(&b);
    for (i = 0; i < 2; i++)
        if (ob_file_read(bundles[i], 1u << 20, &p[i], &n[i], &d) != OB_OK ||
            ob_qr_split(p[i], n[i], 200 + 100 * (size_t)i, &f[i], &d) != OB_OK) {
            fprintf(stderr, "seedgen: %s: %s\n", bundles[i], d.msg);
            rc = -1;
            goto out;
        }
    /* one assembler: all parts; fountain frames only; a part missing */
    ob_buf_put_u8(&b, 0);
    put_frames(&b, f[0], 0, (uint32_t)f[0]->n, 1);
    rc |= write_buf(dir, "frames-parts", &b);
    ob_buf_put_u8(&b, 0);
    put_frames(&b, f[0], (uint32_t)f[0]->n, (uint32_t)(3 * f[0]->n + 8), 1);
    rc |= write_buf(dir, "frames-fountain", &b);
    ob_buf_put_u8(&b, 0);
    put_frames(&b, f[1], 1, (uint32_t)f[1]->n, 1);
    rc |= write_buf(dir, "frames-incomplete", &b);
    /* the reader: two messages interleaved; locked onto the first; expecting the second */
    ob_buf_put_u8(&b, 2);
    put_frames(&b, f[1], 0, 2, 1);
    put_frames(&b, f[0], 0, (uint32_t)f[0]->n, 1);
    put_frames(&b, f[1], 2, (uint32_t)f[1]->n, 1);
    rc |= write_buf(dir, "reader-two", &b);
    ob_buf_put_u8(&b, 2 | 4);
    put_frames(&b, f[0], 0, (uint32_t)f[0]->n + 4, 1);
    put_frames(&b, f[1], 0, 3, 1);
    rc |= write_buf(dir, "reader-locked", &b);
    ob_buf_put_u8(&b, 2 | 8);
    ob_buf_put(&b, f[1]->digest, OB_QR_MSGID_LEN);
    put_frames(&b, f[0], 0, 4, 1);
    put_frames(&b, f[1], 0, (uint32_t)(2 * f[1]->n), 2);
    rc |= write_buf(dir, "reader-expect", &b);
    /* split and reassemble: capacity byte, loss byte, bundle */
    for (i = 0; i < 2; i++) {
        char name[32];
        ob_buf_put_u8(&b, 1);
        ob_buf_put_u8(&b, (uint8_t)(20 + 40 * i));
        ob_buf_put_u8(&b, (uint8_t)(i ? 0x24 : 0));
        ob_buf_put(&b, p[i], n[i]);
        snprintf(name, sizeof(name), "bundle%d", i);
        rc |= write_buf(dir, name, &b);
    }
out:
    for (i = 0; i < 2; i++) {
        ob_qr_frames_free(f[i]);
        free(p[i]);
    }
    ob_buf_free(&b);
    return rc;
}

int main(int argc, char **argv)
{
    if (ob_secmem_init() != 0 || fz_keys_init(&K) != 0) {
        fprintf(stderr, "seedgen: key setup failed\n");
        return 1;
    }
    if (argc == 3 && strcmp(argv[1], "layers") == 0)
        return gen_layers(argv[2]) == 0 ? 0 : 1;
    if (argc == 3 && strcmp(argv[1], "compact") == 0)
        return gen_compact(argv[2]) == 0 ? 0 : 1;
    if (argc == 3 && strcmp(argv[1], "keybundles") == 0)
        return gen_keybundles(argv[2]) == 0 ? 0 : 1;
    if (argc == 3 && strcmp(argv[1], "keys") == 0)
        return gen_keys(argv[2]) == 0 && gen_dkeys(argv[2]) == 0 ? 0 : 1;
    if (argc >= 3 && strcmp(argv[1], "qrframe") == 0)
        return gen_qrframe(argv[2], argc - 3, argv + 3) == 0 ? 0 : 1;
    fprintf(stderr,
            "usage: seedgen layers|compact|keys|keybundles DIR | qrframe DIR BUNDLE1 BUNDLE2\n");
    return 2;
}

/*
 * fixed.h - key material shared by the fuzz targets that must get past a
 * signature or a MAC, and by the seed generator (seedgen.c) that writes
 * their seeds.  Everything is derived from constants, so a seed stays valid
 * for the target as long as this file does not change.
 *
 * These are throwaway test keys: plain memory, never used for anything real.
 */
#ifndef OB_FUZZ_FIXED_H
#define OB_FUZZ_FIXED_H

#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "compact.h"
#include "ed25519x.h"
#include "hsv3_blind.h"
#include "hsv3_build.h"
#include "hsv3_cert.h"
#include "hsv3_common.h"
#include "onion.h"

#define FZ_TP       19000u    /* a live-network time period */
#define FZ_REVISION 4242u     /* revision counter of every built descriptor */
#define FZ_EXPIRY   70000000u /* hours: the certs expire in year 9955 (below the year 9999 bound) */

typedef struct fz_keys {
    uint8_t id_exp[64], id_pk[32];       /* identity (the onion address key A) */
    uint8_t blind_exp[64], blind_pk[32]; /* blinded for FZ_TP (A') */
    uint8_t sign_exp[64], sign_pk[32];   /* descriptor signing key */
    uint8_t cert[OB_CERT_LEN];           /* type 08: sign_pk by A' */
    size_t cert_len;
    uint8_t subcred[32];
    uint8_t client_sk[32], client_pk[32]; /* an authorized client (x25519) */
    uint8_t eph_sk[32], eph_pk[32];       /* the middle layer's ephemeral key */
    uint8_t cookie[16];                   /* descriptor cookie with client authorization */
} fz_keys;

static inline void fz_fill(uint8_t *p, size_t n, uint8_t tag)
{
    size_t i;

    for (i = 0; i < n; i++)
        p[i] = (uint8_t)(tag * 31 + i * 7 + 1);
}

/* 0 or -1. */
static inline int fz_keys_init_tag(fz_keys *k, uint8_t tag)
{
    uint8_t seed[32];
    ob_diag d;

    memset(k, 0, sizeof(*k));
    fz_fill(seed, sizeof(seed), tag);
    if (ob_ed25519_expand_seed(k->id_exp, seed) != 0 ||
        ob_ed25519_pub_from_expanded(k->id_pk, k->id_exp) != 0 ||
        ofl_hsv3_blind_secret(k->blind_exp, k->id_exp, k->id_pk, FZ_TP, OB_TP_LIVE.length_min) !=
            0 ||
        ob_ed25519_pub_from_expanded(k->blind_pk, k->blind_exp) != 0)
        return -1;
    fz_fill(seed, sizeof(seed), (uint8_t)(tag + 1));
    if (ob_ed25519_expand_seed(k->sign_exp, seed) != 0 ||
        ob_ed25519_pub_from_expanded(k->sign_pk, k->sign_exp) != 0 ||
        ob_ed_cert_create(k->cert, &k->cert_len, OB_CERT_DESC_SIGNING, k->sign_pk, FZ_EXPIRY,
                          k->blind_exp, k->blind_pk, &d) != OB_OK ||
        ob_hsv3_subcredential(k->subcred, k->id_pk, k->blind_pk) != 0)
        return -1;
    fz_fill(k->client_sk, sizeof(k->client_sk), 3);
    fz_fill(k->eph_sk, sizeof(k->eph_sk), 4);
    fz_fill(k->cookie, sizeof(k->cookie), 5);
    if (crypto_scalarmult_base(k->client_pk, k->client_sk) != 0 ||
        crypto_scalarmult_base(k->eph_pk, k->eph_sk) != 0)
        return -1;
    return 0;
}

/* The master service's keys. */
static inline int fz_keys_init(fz_keys *k)
{
    return fz_keys_init_tag(k, 1);
}

/* A made-up intro point (its auth key from a fixed seed); 0 or -1. */
static inline int fz_intro(ob_hsv3_intro *ip, unsigned seq)
{
    uint8_t ls[1 + 8 + 22 + 34], sk[32], exp[64];
    size_t k = 0;

    memset(ip, 0, sizeof(*ip));
    ls[k++] = 3;
    ls[k++] = 0; /* IPv4 127.0.x.y:9001 */
    ls[k++] = 6;
    ls[k++] = 127;
    ls[k++] = 0;
    ls[k++] = (uint8_t)(seq >> 8);
    ls[k++] = (uint8_t)seq;
    ls[k++] = 0x23;
    ls[k++] = 0x29;
    ls[k++] = 2; /* legacy id */
    ls[k++] = 20;
    fz_fill(ls + k, 20, (uint8_t)(100 + seq));
    k += 20;
    ls[k++] = 3; /* ed25519 id */
    ls[k++] = 32;
    fz_fill(ls + k, 32, (uint8_t)(150 + seq));
    k += 32;
    if ((ip->link_spec = malloc(k)) == NULL)
        return -1;
    memcpy(ip->link_spec, ls, k);
    ip->link_spec_len = k;
    fz_fill(sk, 32, (uint8_t)(200 + seq));
    if (crypto_scalarmult_base(ip->onion_key, sk) != 0)
        return -1;
    fz_fill(sk, 32, (uint8_t)(220 + seq));
    if (crypto_scalarmult_base(ip->enc_key, sk) != 0)
        return -1;
    fz_fill(sk, 32, (uint8_t)(240 + seq));
    return ob_ed25519_expand_seed(exp, sk) != 0 || ob_ed25519_pub_from_expanded(ip->auth_key, exp);
}

/*
 * Build a descriptor of the service k for FZ_TP with the given intro points
 * and a fixed layout seed.  sigs/desc_sig (may be NULL) receive the
 * signatures, as the offline signer records them for a compact entry.
 */
static inline ob_err fz_build(const fz_keys *k, const ob_hsv3_intro *const *intros, size_t n,
                              const char *flow, unsigned lifetime, uint64_t revision,
                              const uint8_t seed[32], uint8_t (*sigs)[2][64], uint8_t *desc_sig,
                              uint8_t **out, size_t *out_len, ob_diag *d)
{
    ob_hsv3_build_in in;

    memset(&in, 0, sizeof(in));
    in.identity_pk = k->id_pk;
    in.tp = FZ_TP;
    in.tpp = &OB_TP_LIVE;
    in.signing_cert = k->cert;
    in.signing_cert_len = k->cert_len;
    in.sign_exp = k->sign_exp;
    in.sign_pk = k->sign_pk;
    in.lifetime_min = lifetime;
    in.revision = revision;
    in.intros = intros;
    in.n_intros = n;
    in.flow_control = flow;
    in.layout_seed = seed;
    in.intro_sigs_out = sigs;
    in.desc_sig_out = desc_sig;
    return ob_hsv3_build(&in, out, out_len, d);
}

/*
 * The compact fixture: a signing request for the master service of
 * fz_keys_init() with FZ_BACKENDS backends (FZ_INTROS intro points each,
 * the last backend "missing"), and FZ_ENTRIES compact entries the signer
 * would have made for it (entry i for revision FZ_REVISION + i):
 *   0  8 intro points from three backends, flow control, lifetime 180
 *   1  no intro point, lifetime 720
 *   2  one intro point (backend 2's last), lifetime 30
 */
#define FZ_BACKENDS 4
#define FZ_INTROS   3
#define FZ_ENTRIES  3

typedef struct fz_compact {
    ob_request *req;
    char master[OB_ONION_V3_LEN + 1];
    uint8_t *entry[FZ_ENTRIES];
    size_t entry_len[FZ_ENTRIES];
} fz_compact;

static inline void fz_compact_free(fz_compact *f)
{
    size_t i;

    ob_request_free(f->req);
    for (i = 0; i < FZ_ENTRIES; i++)
        free(f->entry[i]);
    memset(f, 0, sizeof(*f));
}

static inline ob_err fz_compact_entry(fz_compact *f, const fz_keys *master, size_t which,
                                      const ob_hsv3_intro *const *ips, size_t n, const char *flow,
                                      unsigned lifetime, ob_diag *d)
{
    uint8_t sigs[OB_HSV3_MAX_INTROS][2][64], seed[32];
    ob_resp_descriptor rd;
    ob_hsv3_compact c;
    size_t i;
    ob_err e;

    memset(&rd, 0, sizeof(rd));
    memset(&c, 0, sizeof(c));
    fz_fill(seed, sizeof(seed), (uint8_t)(60 + which));
    rd.service = f->master;
    rd.version = 3;
    rd.tp = FZ_TP;
    rd.group_count = 1;
    rd.revision = FZ_REVISION + which;
    e = fz_build(master, ips, n, flow, lifetime, rd.revision, seed, sigs, c.desc_sig,
                 &rd.descriptor, &rd.descriptor_len, d);
    if (e != OB_OK)
        return e;
    c.lifetime_min = lifetime;
    memcpy(c.seed, seed, 32);
    memcpy(c.cert, master->cert, master->cert_len);
    c.cert_len = master->cert_len;
    if (flow != NULL)
        snprintf(c.flow_control, sizeof(c.flow_control), "%s", flow);
    c.n_intros = n;
    for (i = 0; i < n; i++)
        memcpy(c.intros[i].sigs, sigs[i], sizeof(sigs[i]));
    e = ob_hsv3_compact_make(&c, f->req, &rd, ips, n, &f->entry[which], &f->entry_len[which], d);
    free(rd.descriptor);
    return e;
}

static inline ob_err fz_compact_init(fz_compact *f, const fz_keys *master, ob_diag *d)
{
    ob_hsv3_intro ips[FZ_BACKENDS][FZ_INTROS];
    const ob_hsv3_intro *ptr[FZ_BACKENDS * FZ_INTROS];
    uint8_t seed[32];
    uint64_t start = 0;
    ob_req_service *svc = NULL;
    size_t b, i;
    ob_err e = OB_ERR_NOMEM;

    memset(f, 0, sizeof(*f));
    if (ob_hsv3_tp_start(FZ_TP, &OB_TP_LIVE, &start) != 0)
        return OB_ERR_INTERNAL;
    memset(ips, 0, sizeof(ips));
    ob_onion_v3_encode(f->master, master->id_pk);
    if ((f->req = ob_request_new()) == NULL)
        goto out;
    f->req->created = start + 3600;
    f->req->consensus.valid_after = start + 3600;
    f->req->consensus.fresh_until = start + 7200;
    f->req->consensus.valid_until = start + 3 * 3600;
    f->req->consensus.tp_length_min = (uint32_t)OB_TP_LIVE.length_min;
    f->req->consensus.tp_offset_min = (uint32_t)OB_TP_LIVE.offset_min;
    if ((e = ob_request_add_service(f->req, f->master, 3, &svc)) != OB_OK ||
        (e = ob_req_service_add_period(svc, FZ_TP, start, start + 86400)) != OB_OK)
        goto out;
    for (b = 0; b < FZ_BACKENDS; b++) {
        fz_keys bk;
        char addr[OB_ONION_V3_LEN + 1];
        uint8_t *text = NULL;
        size_t len = 0;
        if (fz_keys_init_tag(&bk, (uint8_t)(20 + 2 * b)) != 0) {
            e = ob_fail(d, OB_ERR_CRYPTO, "backend keys");
            goto out;
        }
        ob_onion_v3_encode(addr, bk.id_pk);
        for (i = 0; i < FZ_INTROS; i++) {
            if (fz_intro(&ips[b][i], (unsigned)(b * FZ_INTROS + i)) != 0) {
                e = ob_fail(d, OB_ERR_CRYPTO, "intro point");
                goto out;
            }
            ptr[i] = &ips[b][i];
        }
        fz_fill(seed, sizeof(seed), (uint8_t)(50 + b));
        if (b + 1 < FZ_BACKENDS && (e = fz_build(&bk, ptr, FZ_INTROS, NULL, 0, 1000 + b, seed, NULL,
                                                 NULL, &text, &len, d)) != OB_OK)
            goto out;
        e = ob_req_service_add_instance(svc, addr, NULL,
                                        text != NULL ? OB_INSTANCE_OK : OB_INSTANCE_MISSING, NULL,
                                        start + 3000, text, len);
        free(text);
        if (e != OB_OK)
            goto out;
    }
    /* entry 0: backends 0 and 1 in full, backend 2's first two */
    for (i = 0; i < 8; i++)
        ptr[i] = &ips[i / FZ_INTROS][i % FZ_INTROS];
    if ((e = fz_compact_entry(f, master, 0, ptr, 8, "1-2 31", 180, d)) != OB_OK ||
        (e = fz_compact_entry(f, master, 1, ptr, 0, NULL, 720, d)) != OB_OK)
        goto out;
    ptr[0] = &ips[2][FZ_INTROS - 1];
    e = fz_compact_entry(f, master, 2, ptr, 1, NULL, 30, d);
out:
    for (b = 0; b < FZ_BACKENDS; b++)
        for (i = 0; i < FZ_INTROS; i++)
            free(ips[b][i].link_spec);
    if (e != OB_OK)
        fz_compact_free(f);
    return e;
}

#endif

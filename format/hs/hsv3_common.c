/*
 * hsv3_common.c - v3 time periods, public blinding, credentials, ring
 * indices, descriptor schedule and revision counter (rend-spec-v3 2.1,
 * 2.2.1-2.2.4, App. A.2, App. F; protocol digest B.2, B.3, B.5, B.9, B.10).
 * Every hash is SHA3-256 over the exact parts listed in hsv3_common.h; the
 * only point operation is libsodium's scalar multiplication.
 */
#include "hsv3_common.h"

#include <sodium.h>
#include <string.h>

#include "buf.h"
#include "crypto.h"
#include "opcount.h"
#include "secmem.h"

const ob_tp_params OB_TP_LIVE = { 1440, 720 };

/* Hashed with its terminating NUL (tor uses sizeof). */
static const char blind_str[] = "Derive temporary signing key";
/* The base point as decimal text, hashed without a NUL. */
static const char blind_basepoint[] =
    "(15112221349535400772501151409588531511454012693041857206046113283949847762202, "
    "46316835694926478169428394003475163141307993866256225615783033603165251855960)";

uint64_t ob_hsv3_tp_num(uint64_t unix_time, const ob_tp_params *p)
{
    uint64_t minutes = unix_time / 60;

    if (p->length_min == 0)
        return 0;
    /* Before the first period's start (only in 1970): period 0, not a wrap. */
    if (minutes < p->offset_min)
        return 0;
    return (minutes - p->offset_min) / p->length_min;
}

int ob_hsv3_tp_params_ok(const ob_tp_params *p)
{
    return p->length_min >= 1 && p->length_min <= OB_HSV3_TP_LENGTH_MAX &&
           p->offset_min <= OB_HSV3_TP_LENGTH_MAX;
}

uint64_t ob_hsv3_tp_start_shown(uint64_t tp, const ob_tp_params *p)
{
    uint64_t s;

    return ob_hsv3_tp_start(tp, p, &s) == 0 ? s : UINT64_MAX;
}

int ob_hsv3_tp_start(uint64_t tp, const ob_tp_params *p, uint64_t *start)
{
    uint64_t minutes;

    *start = 0;
    if (!ob_tp_is_valid(tp) || !ob_hsv3_tp_params_ok(p))
        return -1;
    /* Checked although the bounds above keep it below 2^58: the bounds may
     * change, a wrapped start must not. */
    if (tp > (UINT64_MAX - p->offset_min) / p->length_min)
        return -1;
    minutes = tp * p->length_min + p->offset_min;
    if (minutes > OB_TIME_MAX / 60)
        return -1;
    *start = minutes * 60;
    return 0;
}

int ob_hsv3_blind_param(uint8_t h[32], const uint8_t A[32], uint64_t tp, uint64_t length_min)
{
    uint8_t tpb[8], lenb[8];
    ob_iov v[6] = { { blind_str, sizeof(blind_str) },
                    { A, 32 },
                    { blind_basepoint, sizeof(blind_basepoint) - 1 },
                    { "key-blind", 9 },
                    { tpb, 8 },
                    { lenb, 8 } };

    ob_store_u64(tpb, tp);
    ob_store_u64(lenb, length_min);
    if (ob_sha3_256(h, v, 6) != 0)
        return -1;
    ob_hsv3_clamp_param(h);
    return 0;
}

void ob_hsv3_clamp_param(uint8_t h[32])
{
    /* rend-spec-v3 A.2 writes "&= 63; |= 64", the same as "&= 127; |= 64". */
    h[0] &= 248;
    h[31] &= 63;
    h[31] |= 64;
}

int ob_hsv3_blind_public_with_param(uint8_t Ab[32], const uint8_t A[32], const uint8_t h[32])
{
    /* h is used as is (clamped, unreduced); libsodium refuses small-order A. */
    ob_op_count(OB_OP_BLIND_PUBLIC);
    return crypto_scalarmult_ed25519_noclamp(Ab, h, A) == 0 ? 0 : -1;
}

int ob_hsv3_blind_public(uint8_t Ab[32], const uint8_t A[32], uint64_t tp, uint64_t length_min)
{
    uint8_t h[32];
    int ret = -1;

    if (ob_hsv3_blind_param(h, A, tp, length_min) != 0)
        goto out;
    if (ob_hsv3_blind_public_with_param(Ab, A, h) != 0)
        goto out;
    ret = 0;
out:
    ob_wipe(h, sizeof(h));
    return ret;
}

int ob_hsv3_credential(uint8_t out[32], const uint8_t A[32])
{
    ob_iov v[2] = { { "credential", 10 }, { A, 32 } };
    uint8_t tmp[32];

    if (ob_sha3_256(tmp, v, 2) != 0)
        return -1;
    memcpy(out, tmp, 32);
    ob_wipe(tmp, sizeof(tmp));
    return 0;
}

int ob_hsv3_subcredential(uint8_t out[32], const uint8_t A[32], const uint8_t Ab[32])
{
    uint8_t cred[32];
    int ret = -1;

    if (ob_hsv3_credential(cred, A) != 0)
        goto out;
    {
        ob_iov v[3] = { { "subcredential", 13 }, { cred, 32 }, { Ab, 32 } };
        if (ob_sha3_256(out, v, 3) != 0)
            goto out;
    }
    ret = 0;
out:
    ob_wipe(cred, sizeof(cred));
    return ret;
}

int ob_hsv3_hs_index(uint8_t out[32], const uint8_t Ab[32], uint64_t replica, uint64_t length_min,
                     uint64_t tp)
{
    uint8_t rb[8], lb[8], tb[8];
    ob_iov v[5] = { { "store-at-idx", 12 }, { Ab, 32 }, { rb, 8 }, { lb, 8 }, { tb, 8 } };

    ob_store_u64(rb, replica);
    ob_store_u64(lb, length_min);
    ob_store_u64(tb, tp);
    return ob_sha3_256(out, v, 5) == 0 ? 0 : -1;
}

int ob_hsv3_hsdir_index(uint8_t out[32], const uint8_t node_ed[32], const uint8_t srv[32],
                        uint64_t tp, uint64_t length_min)
{
    uint8_t tb[8], lb[8];
    ob_iov v[5] = { { "node-idx", 8 }, { node_ed, 32 }, { srv, 32 }, { tb, 8 }, { lb, 8 } };

    ob_store_u64(tb, tp);
    ob_store_u64(lb, length_min);
    return ob_sha3_256(out, v, 5) == 0 ? 0 : -1;
}

int ob_hsv3_disaster_srv(uint8_t out[32], uint64_t length_min, uint64_t tp)
{
    uint8_t lb[8], tb[8];
    ob_iov v[3] = { { "shared-random-disaster", 22 }, { lb, 8 }, { tb, 8 } };

    ob_store_u64(lb, length_min);
    ob_store_u64(tb, tp);
    return ob_sha3_256(out, v, 3) == 0 ? 0 : -1;
}

int ob_hsv3_publish_slots(uint64_t valid_after, const ob_tp_params *p, ob_hsv3_slot out[2])
{
    uint64_t run_len, run_start, tp, next_tp_after_srv;
    int between_srv_and_tp;

    memset(out, 0, 2 * sizeof(*out));
    if (!ob_time_is_valid(valid_after) || !ob_hsv3_tp_params_ok(p))
        return -1;
    /* An SRV protocol run lasts two rotation offsets (24 voting rounds: one
     * day live) and starts at multiples of that from the epoch (00:00 UTC). */
    run_len = 2 * p->offset_min * 60;
    run_start = run_len ? valid_after - valid_after % run_len : valid_after;
    tp = ob_hsv3_tp_num(valid_after, p);
    if (ob_hsv3_tp_start(ob_hsv3_tp_num(run_start, p) + 1, p, &next_tp_after_srv) != 0)
        return -1;
    /* tor: hs_in_period_between_tp_and_srv() */
    between_srv_and_tp = valid_after >= run_start && valid_after < next_tp_after_srv;

    if (between_srv_and_tp) {
        out[0].tp = tp;
        out[1].tp = tp + 1;
    } else {
        out[0].tp = tp > 0 ? tp - 1 : 0;
        out[1].tp = tp;
    }
    out[0].use_current_srv = 0;
    out[1].use_current_srv = 1;
    return 0;
}

int ob_hsv3_srv_run_start(uint64_t tp, const ob_tp_params *p, uint64_t *start)
{
    uint64_t off;

    if (ob_hsv3_tp_start(tp, p, start) != 0)
        return -1;
    off = p->offset_min * 60;
    *start = *start >= off ? *start - off : 0;
    return 0;
}

uint64_t ob_hsv3_rev_t(uint64_t now, uint64_t run_start)
{
    uint64_t t;

    if (now < run_start)
        return 0;
    t = now - run_start + 1;
    return t > OB_HSV3_REV_T_MAX ? OB_HSV3_REV_T_MAX : t;
}

int ob_hsv3_rev_ope(uint64_t *out, const uint8_t key[OB_HSV3_REV_KEY_LEN], uint64_t t)
{
    return ob_hsv3_rev_ope_many(out, key, &t, 1);
}

int ob_hsv3_rev_ope_many(uint64_t *out, const uint8_t key[OB_HSV3_REV_KEY_LEN], const uint64_t *t,
                         size_t n)
{
    uint8_t iv[16];
    uint8_t ks[4096];
    uint64_t done = 0, sum = 0;
    size_t k;
    int ret = -1;

    for (k = 0; k < n; k++)
        if (t[k] == 0 || t[k] > OB_HSV3_REV_T_MAX || (k > 0 && t[k] < t[k - 1]))
            return -1;
    /* counter = sum over i < T of (w_i + 1), w_i the i-th little-endian
     * uint16 of the AES-256-CTR keystream from a zero IV (crypto_ope.c):
     * the keystream is read once, up to the largest T, and each counter is
     * taken on the way. */
    for (k = 0; k < n; k++) {
        while (done < t[k]) {
            uint64_t words = (done / 2048 + 1) * 2048 - done, base = done - done % 2048;
            uint64_t block = base * 2 / 16; /* 2048 words = 4096 bytes = 256 blocks */
            size_t i;

            if (words > t[k] - done)
                words = t[k] - done;
            if (done % 2048 == 0) {
                memset(iv, 0, sizeof(iv));
                ob_store_u64(iv + 8, block);
                memset(ks, 0, sizeof(ks));
                if (ob_aes_ctr(ks, ks, sizeof(ks), key, 32, iv) != 0)
                    goto out;
            }
            for (i = done % 2048; i < done % 2048 + words; i++)
                sum += (uint64_t)ks[2 * i] | ((uint64_t)ks[2 * i + 1] << 8);
            done += words;
        }
        out[k] = sum + t[k];
    }
    ret = 0;
out:
    ob_wipe(ks, sizeof(ks));
    return ret;
}

int ob_hsv3_rev_counter_from_key(uint64_t *out, const uint8_t key[OB_HSV3_REV_KEY_LEN],
                                 uint64_t now, uint64_t run_start)
{
    uint64_t t = ob_hsv3_rev_t(now, run_start);

    return t == 0 ? -1 : ob_hsv3_rev_ope(out, key, t);
}

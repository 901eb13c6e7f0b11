/*
 * hsv3_blind.c - the blinded expanded secret key (rend-spec-v3 App. A.2;
 * tor src/ext/ed25519/ref10/blinding.c).  Offline only: it takes the
 * identity secret key.
 */
#include "hsv3_blind.h"

#include <sodium.h>
#include <string.h>

#include "crypto.h"
#include "hsv3_common.h"
#include "opcount.h"
#include "secmem.h"

int ofl_hsv3_blind_secret_with_param(uint8_t out_exp[64], const uint8_t exp[64],
                                     const uint8_t h[32])
{
    static const char rh_str[] = "Derive temporary signing key hash input";
    uint8_t hwide[64], hred[32], rh[64];
    int ret = -1;

    ob_op_count(OB_OP_BLIND_SECRET);
    /* Reduce h first: same value mod l, and scalar_mul then sees a reduced
     * factor next to the clamped a. */
    memset(hwide, 0, sizeof(hwide));
    memcpy(hwide, h, 32);
    crypto_core_ed25519_scalar_reduce(hred, hwide);
    crypto_core_ed25519_scalar_mul(out_exp, exp, hred);
    {
        /* no NUL after this string, unlike the one hashed for h */
        ob_iov v[2] = { { rh_str, sizeof(rh_str) - 1 }, { exp + 32, 32 } };
        if (ob_sha512(rh, v, 2) != 0)
            goto out;
    }
    memcpy(out_exp + 32, rh, 32);
    ret = 0;
out:
    ob_wipe(hwide, sizeof(hwide));
    ob_wipe(hred, sizeof(hred));
    ob_wipe(rh, sizeof(rh));
    if (ret != 0)
        ob_wipe(out_exp, 64);
    return ret;
}

int ofl_hsv3_blind_secret(uint8_t out_exp[64], const uint8_t exp[64], const uint8_t A[32],
                          uint64_t tp, uint64_t length_min)
{
    uint8_t h[32];
    int ret = -1;

    if (ob_hsv3_blind_param(h, A, tp, length_min) != 0) {
        ob_wipe(out_exp, 64);
        goto out;
    }
    ret = ofl_hsv3_blind_secret_with_param(out_exp, exp, h);
out:
    ob_wipe(h, sizeof(h));
    return ret;
}

int ofl_hsv3_rev_counter_key(uint8_t key[32], const uint8_t blinded_exp[64])
{
    /* Hashed with its terminating NUL, as tor does (sizeof). */
    static const char prefix[] = "rev-counter-generation";
    ob_iov v[2] = { { prefix, sizeof(prefix) }, { blinded_exp, 64 } };

    if (ob_sha3_256(key, v, 2) != 0) {
        ob_wipe(key, 32);
        return -1;
    }
    return 0;
}

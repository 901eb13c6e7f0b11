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
#include "secmem.h"

int ofl_hsv3_blind_secret(uint8_t out_exp[64], const uint8_t exp[64], const uint8_t A[32],
                          uint64_t tp, uint64_t length_min)
{
    static const char rh_str[] = "Derive temporary signing key hash input";
    uint8_t h[32], hwide[64], hred[32], rh[64];
    int ret = -1;

    if (ob_hsv3_blind_param(h, A, tp, length_min) != 0)
        goto out;
    /* Reduce h first: same value mod l, and scalar_mul then only ever sees
     * reduced or clamped 32-byte scalars. */
    memset(hwide, 0, sizeof(hwide));
    memcpy(hwide, h, 32);
    crypto_core_ed25519_scalar_reduce(hred, hwide);
    crypto_core_ed25519_scalar_mul(out_exp, exp, hred);
    {
        ob_iov v[2] = { { rh_str, sizeof(rh_str) - 1 }, { exp + 32, 32 } };
        if (ob_sha512(rh, v, 2) != 0)
            goto out;
    }
    memcpy(out_exp + 32, rh, 32);
    ret = 0;
out:
    ob_wipe(h, sizeof(h));
    ob_wipe(hwide, sizeof(hwide));
    ob_wipe(hred, sizeof(hred));
    ob_wipe(rh, sizeof(rh));
    if (ret != 0)
        ob_wipe(out_exp, 64);
    return ret;
}

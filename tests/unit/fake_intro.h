/*
 * fake_intro.h - a plausible v3 introduction point for the tests and
 * benches that build descriptors: IPv4 127.0.x.y:9001, legacy id and
 * ed25519 id link specifiers (random ids), fresh onion, enc and auth keys.
 * seq picks the address.  0, or -1 when out of memory or keygen failed.
 */
#ifndef OB_TEST_FAKE_INTRO_H
#define OB_TEST_FAKE_INTRO_H

#include "crypto.h"
#include "ed25519x.h"
#include "hsv3_desc.h"
#include "secmem.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static inline int ob_test_fake_intro(ob_hsv3_intro *ip, unsigned seq)
{
    uint8_t ls[1 + 8 + 22 + 34], sk[32], e[64];
    size_t k = 0;
    int rc;

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
    ob_random(ls + k, 20);
    k += 20;
    ls[k++] = 3; /* ed25519 id */
    ls[k++] = 32;
    ob_random(ls + k, 32);
    k += 32;
    if ((ip->link_spec = malloc(k)) == NULL)
        return -1;
    memcpy(ip->link_spec, ls, k);
    ip->link_spec_len = k;
    crypto_box_keypair(ip->onion_key, sk);
    crypto_box_keypair(ip->enc_key, sk);
    rc = ob_ed25519_keygen(e, ip->auth_key);
    ob_wipe(e, sizeof(e));
    ob_wipe(sk, sizeof(sk));
    return rc == 0 ? 0 : -1;
}

#endif

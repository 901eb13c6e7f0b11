/*
 * fuzz_hsv2.c - fuzz entry point for the v2 descriptor parser, the
 * introduction-points decoder (plain and, with a fixed cookie, basic and
 * stealth decryption) and the intro-point plaintext parser (format/hs/hsv2.c).
 *
 *   make fuzz && build/fuzz/fuzz_hsv2 tests/fuzz/corpus/fuzz_hsv2
 *
 * Seeds: the v2 samples of tests/data/vectors/v2 (annotation line removed),
 * their intro-point plaintexts, and descriptors our signer made.
 *
 * Beyond "no crash": a descriptor that parses keeps an owned copy equal to
 * the input, its signed range ends in "signature\n", and a parsed intro
 * list re-encodes to text that parses to the same points.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "hsv2.h"
#include "secmem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_intros(const uint8_t *p, size_t n)
{
    ob_hsv2_intro *v = NULL, *again = NULL;
    size_t nv = 0, na = 0;
    ob_buf re;
    ob_diag d;

    if (ob_hsv2_intro_parse(p, n, &v, &nv, &d) != OB_OK)
        return;
    if (nv == 0 || nv > OB_HSV2_MAX_INTROS)
        abort();
    ob_buf_init(&re);
    ob_hsv2_intro_encode(&re, v, nv);
    if (!ob_buf_ok(&re) || ob_hsv2_intro_parse(re.p, re.len, &again, &na, &d) != OB_OK ||
        na != nv || memcmp(again, v, nv * sizeof(*v)) != 0)
        abort();
    ob_buf_free(&re);
    free(v);
    free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int inited;
    static const uint8_t cookie[16] = { 0x74, 0x29, 0xb1, 0xde, 0xa2, 0x2f, 0x02, 0xb6,
                                        0xe2, 0x97, 0xc0, 0x34, 0x28, 0xce, 0x0a, 0x81 };
    ob_hsv2_desc *desc = NULL;
    ob_buf plain;
    ob_diag d;

    if (!inited) {
        if (ob_secmem_init() != 0)
            abort();
        inited = 1;
    }
    check_intros(data, size);
    if (ob_hsv2_desc_parse((const char *)data, size, &desc, &d) != OB_OK)
        return 0;
    if (desc->text_len != size || memcmp(desc->text, data, size) != 0 || desc->signed_len < 11 ||
        desc->signed_len >= size ||
        memcmp(desc->text + desc->signed_len - 11, "\nsignature\n", 11) != 0)
        abort();
    (void)ob_hsv2_desc_verify(desc, OB_HSV2_NOW_UNCHECKED, cookie, &d);
    ob_buf_init_secure(&plain);
    if (ob_hsv2_intro_plaintext(desc, cookie, &plain, &d) == OB_OK)
        check_intros(plain.p, plain.len);
    ob_buf_free(&plain);
    ob_hsv2_desc_free(desc);
    return 0;
}

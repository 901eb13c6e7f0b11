/*
 * fuzz_hsv3_cert.c - fuzz entry point for the Ed25519 certificate parser
 * (format/hs/hsv3_cert.c), both binary and PEM text forms.
 *
 *   make fuzz && build/fuzz/fuzz_hsv3_cert tests/fuzz/corpus/fuzz_hsv3_cert
 *
 * What it checks beyond "no crash": a certificate that parses has a
 * consistent layout (signed part + 64 == length, copy equal to input), and
 * when it also verifies, re-parsing its raw copy gives the same fields.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "encode.h"
#include "hsv3_cert.h"
#include "secmem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_cert(const uint8_t *p, size_t n)
{
    ob_ed_cert c, again;
    ob_diag d;

    if (ob_ed_cert_parse(&c, p, n, &d) != OB_OK)
        return;
    if (c.raw_len != n || c.signed_len + 64 != n || memcmp(c.raw, p, n) != 0 ||
        memcmp(c.sig, p + c.signed_len, 64) != 0)
        abort();
    if (ob_ed_cert_verify(&c, NULL, 0, &d) == OB_OK) {
        if (ob_ed_cert_parse(&again, c.raw, c.raw_len, &d) != OB_OK || again.type != c.type ||
            again.expiration_hours != c.expiration_hours ||
            memcmp(again.certified, c.certified, 32) != 0)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int inited;
    ob_buf out;
    ob_cur cur;
    ob_diag d;

    if (!inited) {
        if (ob_secmem_init() != 0)
            abort();
        inited = 1;
    }
    check_cert(data, size);
    /* the same bytes as descriptor text: PEM armor, then the parser */
    ob_buf_init(&out);
    ob_cur_init(&cur, data, size);
    if (ob_pem_decode(&cur, OB_CERT_PEM_TAG, OB_CERT_MAX_LEN, &out, &d) == OB_OK)
        check_cert(out.p, out.len);
    ob_buf_free(&out);
    return 0;
}

/*
 * fzutil.h - small helpers shared by the fuzz targets.
 *
 * OB_FUZZ_DEBUG=1 in the environment makes fz_note() print what each step
 * of a target returned: how to check that a seed reaches as far as it
 * should (e.g. that a generated descriptor verifies), with the replay
 * driver or libFuzzer's -runs=0.
 */
#ifndef OB_FUZZ_UTIL_H
#define OB_FUZZ_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "diag.h"

static inline void fz_note(const char *what, ob_err e, const ob_diag *d)
{
    static int on = -1;

    if (on < 0) {
        const char *v = getenv("OB_FUZZ_DEBUG");
        on = v != NULL && v[0] == '1';
    }
    if (on)
        fprintf(stderr, "  %s: %s%s%s\n", what, ob_err_name(e), e != OB_OK ? ": " : "",
                e != OB_OK && d != NULL ? d->msg : "");
}

/*
 * The QR message id a payload must come out under (qrframe.h), computed
 * here from the rule rather than by the code under test: a payload that
 * ends with the SHA-256 of what precedes it (a bundle) is named by that
 * digest's first 8 bytes, any other by its own SHA-256's.  Compares with
 * id; 1 when equal.
 */
static inline int fz_qr_id_matches(const uint8_t *p, size_t n, const uint8_t id[8])
{
    uint8_t dig[32];

    if (n >= 32 && ob_sha256_buf(dig, p, n - 32) == 0 && memcmp(dig, p + n - 32, 32) == 0)
        return memcmp(p + n - 32, id, 8) == 0;
    return ob_sha256_buf(dig, p, n) == 0 && memcmp(dig, id, 8) == 0;
}

#endif

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

#include <stdio.h>
#include <stdlib.h>

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

#endif

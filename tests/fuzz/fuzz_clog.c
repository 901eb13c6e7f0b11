/*
 * fuzz_clog.c - the ceremony log reader (offline/ceremony_log.c): what
 * `ob-offline sign` reads before it signs, to refuse a request it answered
 * before.  The log is the offline side's own file, but a damaged one must
 * end in a clear refusal, never in a crash or a quiet "not found".
 *
 *   make fuzz && build/fuzz/fuzz_clog tests/fuzz/corpus/fuzz_clog
 *
 * The input is the log; it is written to a private temporary file and
 * searched for the digest 00 01 02 ... 1f.
 * Seeds: logs written by the ceremony tests, and one naming the digest.
 *
 * Beyond "no crash": the digest is reported found only when the log has a
 * "request" line for it, and a log that reads has no malformed request line.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ceremony_log.h"
#include "encode.h"
#include "fzutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[4096], path[4200];

static void cleanup(void)
{
    unlink(path);
    rmdir(dir);
}

static const uint8_t *find(const uint8_t *p, size_t n, const char *s)
{
    size_t k = strlen(s), i;

    for (i = 0; i + k <= n; i++)
        if (memcmp(p + i, s, k) == 0)
            return p + i;
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int inited;
    static uint8_t digest[32];
    static char line[80];
    char when[32];
    int found = 0;
    FILE *f;
    ob_diag d;
    ob_err e;

    if (!inited) {
        const char *tmp = getenv("TMPDIR");
        char hex[65];
        int i;
        snprintf(dir, sizeof(dir), "%s/ob-fuzz-clog.XXXXXX", tmp != NULL && tmp[0] ? tmp : "/tmp");
        if (mkdtemp(dir) == NULL)
            abort();
        snprintf(path, sizeof(path), "%s/ceremony.log", dir);
        atexit(cleanup);
        for (i = 0; i < 32; i++)
            digest[i] = (uint8_t)i;
        ob_hex_encode(hex, digest, 32);
        snprintf(line, sizeof(line), "request %s\n", hex);
        inited = 1;
    }
    f = fopen(path, "wb");
    if (f == NULL || (size > 0 && fwrite(data, 1, size, f) != size) || fclose(f) != 0)
        abort();
    e = ofl_clog_find(path, digest, &found, when, &d);
    fz_note("find", e, &d);
    if (e == OB_OK && found && find(data, size, line) == NULL)
        abort();
    if (e == OB_OK && strnlen(when, sizeof(when)) >= sizeof(when))
        abort();
    return 0;
}

/*
 * fuzz_compact.c - the compact-response rebuilder (format/bundle/compact.c)
 * on fuzzed entries against a fixed request.
 *
 * The online side rebuilds a signed descriptor from a compact entry and the
 * request it kept: the entry names intro points of the request's backend
 * descriptors by index and carries the signatures.  Here the request is the
 * fixture of fixed.h (four backends, one missing; made at start-up from
 * fixed keys, so the seeds stay valid), and the input is
 *     which u8 | entry
 * rebuilt as descriptor record `which` of the response (service, period,
 * revision FZ_REVISION + which; which 3 asks for the next period instead).
 *
 *   make fuzz && build/fuzz/fuzz_compact tests/fuzz/corpus/fuzz_compact
 *
 * Seeds: the fixture's three entries (tests/fuzz/seedgen.c).
 *
 * Beyond "no crash": an entry that decodes encodes back to the same bytes,
 * and an entry that rebuilds is byte for byte the one the signer made for
 * that record (every byte of an entry is covered by a signature or changes
 * the rebuilt document, hsv3_compact.h), its descriptor verifies, and the
 * whole response expands the same way (ob_response_expand).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "compact.h"
#include "fixed.h"
#include "fzutil.h"
#include "hsv3_compact.h"
#include "secmem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static fz_keys K;
static fz_compact F;

static void check_decode(const uint8_t *p, size_t n)
{
    ob_hsv3_compact c;
    ob_buf b;
    ob_diag d;

    if (ob_hsv3_compact_decode(p, n, &c, &d) != OB_OK) {
        if (ob_hsv3_compact_check(p, n, &d) == OB_OK)
            abort(); /* the bundle parser would accept what the rebuilder cannot read */
        return;
    }
    if (ob_hsv3_compact_check(p, n, &d) != OB_OK)
        abort();
    ob_buf_init(&b);
    if (ob_hsv3_compact_encode(&c, &b, &d) != OB_OK || b.len != n || memcmp(b.p, p, n) != 0)
        abort();
    ob_buf_free(&b);
}

/* The same entry inside a response, as publish and inspect expand it. */
static void check_expand(const ob_resp_descriptor *rd, const uint8_t *text, size_t len)
{
    ob_response *r = ob_response_new();
    ob_diag d;

    if (r == NULL || ob_response_add_descriptor(r, rd) != OB_OK)
        abort();
    memcpy(r->request_digest, F.req->digest, sizeof(r->request_digest));
    if (ob_response_expand(r, F.req, &d) != OB_OK || r->descriptors[0].compact != NULL ||
        r->descriptors[0].descriptor_len != len ||
        memcmp(r->descriptors[0].descriptor, text, len) != 0)
        abort();
    ob_response_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int inited;
    ob_resp_descriptor rd;
    uint8_t *text = NULL;
    size_t len = 0, which;
    ob_diag d;
    ob_err e;

    if (!inited) {
        ob_buf b;
        if (ob_secmem_init() != 0 || fz_keys_init(&K) != 0 || fz_compact_init(&F, &K, &d) != OB_OK)
            abort();
        /* the request's digest, which the response must name */
        ob_buf_init(&b);
        if (ob_request_serialize(F.req, &b, &d) != OB_OK)
            abort();
        ob_buf_free(&b);
        inited = 1;
    }
    if (size < 1 || size > 2 * OB_HSV3_COMPACT_MAX)
        return 0;
    which = data[0] & 3;
    check_decode(data + 1, size - 1);
    memset(&rd, 0, sizeof(rd));
    rd.service = F.master;
    rd.version = 3;
    rd.tp = which < FZ_ENTRIES ? FZ_TP : FZ_TP + 1;
    rd.group_count = 1;
    rd.revision = FZ_REVISION + (which < FZ_ENTRIES ? which : 0);
    rd.compact = (uint8_t *)(uintptr_t)(data + 1);
    rd.compact_len = size - 1;
    e = ob_hsv3_compact_rebuild(F.req, &rd, &text, &len, &d);
    fz_note("rebuild", e, &d);
    if (e == OB_OK) {
        if (which >= FZ_ENTRIES || rd.compact_len != F.entry_len[which] ||
            memcmp(rd.compact, F.entry[which], rd.compact_len) != 0 || len == 0 ||
            text[len] != '\0')
            abort();
        check_expand(&rd, text, len);
        free(text);
    } else if (text != NULL) {
        abort();
    }
    return 0;
}

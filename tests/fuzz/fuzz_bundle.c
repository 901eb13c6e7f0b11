/*
 * fuzz_bundle.c - fuzz entry point for the bundle parser (format/bundle/bundle.c).
 *
 *   make fuzz && build/fuzz/fuzz_bundle -max_len=65536 tests/fuzz/corpus/fuzz_bundle
 *
 * Seeds (tests/fuzz/corpus/fuzz_bundle): requests and responses of every
 * shape, v3 and v2, compact and full, and key-certification requests and
 * responses (kinds 3 and 4) (tests/fuzz/make_seeds.sh).  Most mutations die at the digest check,
 * so the entry point also re-seals the input (fixes body_len and the digest)
 * when it carries a valid header, and parses that too: this lets the fuzzer
 * reach every field rule.
 *
 * Whatever parses is also printed as `inspect` shows it
 * (format/verbs/inspect.c, compiled in for its static printers; stdout goes
 * to /dev/null).
 *
 * Beyond "no crash": whatever parses must serialize back to the same bytes
 * and the same digest, and the peeked kind must agree with the parser.
 */
#include "../../format/verbs/inspect.c"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "crypto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Kinds 3 and 4: the same round-trip promise. */
static void check_keys(const uint8_t *p, size_t n, int kind, const uint8_t digest[32])
{
    ob_keyrequest *q = NULL;
    ob_keyresponse *s = NULL;
    ob_diag d;
    ob_buf b;

    ob_buf_init(&b);
    if (ob_keyrequest_parse(p, n, &q, &d) == OB_OK) {
        put_keyrequest(q);
        if (kind != OB_BUNDLE_CERT_REQUEST || memcmp(q->digest, digest, 32) != 0 ||
            ob_keyrequest_serialize(q, &b, &d) != OB_OK || b.len != n || memcmp(b.p, p, n) != 0)
            abort();
    }
    if (ob_keyresponse_parse(p, n, &s, &d) == OB_OK) {
        (void)put_keyresponse(s);
        if (kind != OB_BUNDLE_CERT_RESPONSE || memcmp(s->digest, digest, 32) != 0 ||
            ob_keyresponse_serialize(s, &b, &d) != OB_OK || b.len != n || memcmp(b.p, p, n) != 0)
            abort();
    }
    ob_buf_free(&b);
    ob_keyrequest_free(q);
    ob_keyresponse_free(s);
}

static void check_one(const uint8_t *p, size_t n)
{
    uint8_t digest[OB_BUNDLE_DIGEST_LEN];
    ob_request *q = NULL;
    ob_response *s = NULL;
    ob_diag d;
    ob_buf b;
    int kind = 0;
    ob_err e1, e2;

    ob_buf_init(&b);
    e1 = ob_request_parse(p, n, &q, &d);
    e2 = ob_response_parse(p, n, &s, &d);
    if (e1 == OB_OK && e2 == OB_OK)
        abort(); /* one bundle cannot be both kinds */
    if (ob_bundle_peek(p, n, &kind, digest, &d) != OB_OK) {
        if (e1 == OB_OK || e2 == OB_OK)
            abort();
        return;
    }
    if (q != NULL) {
        put_request(q);
        if (kind != OB_BUNDLE_REQUEST || memcmp(q->digest, digest, sizeof(digest)) != 0)
            abort();
        if (ob_request_serialize(q, &b, &d) != OB_OK || b.len != n || memcmp(b.p, p, n) != 0 ||
            memcmp(q->digest, digest, sizeof(digest)) != 0)
            abort();
    }
    if (s != NULL) {
        put_response(s);
        if (kind != OB_BUNDLE_RESPONSE || memcmp(s->digest, digest, sizeof(digest)) != 0)
            abort();
        if (ob_response_serialize(s, &b, &d) != OB_OK || b.len != n || memcmp(b.p, p, n) != 0 ||
            memcmp(s->digest, digest, sizeof(digest)) != 0)
            abort();
    }
    check_keys(p, n, kind, digest);
    ob_buf_free(&b);
    ob_request_free(q);
    ob_response_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int inited;
    uint8_t *copy;
    size_t body;

    if (!inited) {
        if (freopen("/dev/null", "w", stdout) == NULL)
            abort();
        inited = 1;
    }
    check_one(data, size);
    /* Re-seal: treat the last 32 bytes as the digest and recompute it and body_len. */
    if (size < OB_BUNDLE_HDR_LEN + OB_BUNDLE_DIGEST_LEN || size > (1u << 20))
        return 0;
    body = size - OB_BUNDLE_HDR_LEN - OB_BUNDLE_DIGEST_LEN;
    copy = malloc(size);
    if (copy == NULL)
        return 0;
    memcpy(copy, data, size);
    ob_store_u32(copy + 12, (uint32_t)body);
    if (ob_sha256_buf(copy + size - OB_BUNDLE_DIGEST_LEN, copy, size - OB_BUNDLE_DIGEST_LEN) == 0)
        check_one(copy, size);
    free(copy);
    return 0;
}

/*
 * test_bundle.c - the air-gap bundle: canonical round trips (fixed and
 * randomised), an independent hand encoding of the documented layout, every
 * truncation and every single-bit flip, each structural rule with its error
 * text, and atomic writes (failed and killed writers).
 *
 * With OB_BUNDLE_FIXTURE_DIR=DIR set, the program instead writes good and bad
 * bundles into DIR plus DIR/expect.txt ("file|exit|message substring") for
 * tests/cli/test_bundle_cli.sh, and exits.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "bundle.h"
#include "crypto.h"
#include "fileio.h"
#include "obtime.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/*
 * Failing-allocation harness.  The library's source is compiled into this
 * test with its allocator calls routed through a budget, so a test can make
 * the k-th allocation fail and check that every path reports OB_ERR_NOMEM
 * and leaks nothing (LeakSanitizer checks at exit).  Every symbol bundle.o
 * defines is then defined here, so the linker never takes bundle.o from the
 * library archive.
 */
static long alloc_budget = -1; /* allocations left; -1 = unlimited */
static long alloc_count;

static int alloc_take(void)
{
    alloc_count++;
    if (alloc_budget < 0)
        return 1;
    if (alloc_budget == 0)
        return 0;
    alloc_budget--;
    return 1;
}

static void *t_malloc(size_t n)
{
    return alloc_take() ? malloc(n) : NULL;
}

static void *t_calloc(size_t a, size_t b)
{
    return alloc_take() ? calloc(a, b) : NULL;
}

static void *t_realloc(void *p, size_t n)
{
    return alloc_take() ? realloc(p, n) : NULL;
}

static char *t_strdup(const char *s)
{
    return alloc_take() ? strdup(s) : NULL;
}

#define malloc  t_malloc
#define calloc  t_calloc
#define realloc t_realloc
#define strdup  t_strdup
#include "../../format/bundle/bundle.c"
#undef malloc
#undef calloc
#undef realloc
#undef strdup

#define V3A "pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd"
#define V3B "sp3k262uwy4r2k3ycr5awluarykdpag6a7y33jxop4cs2lu5uz5sseqd"
#define V3C "xa4r2iadxm55fbnqgwwi5mymqdcofiu3w6rpbtqn7b2dyn7mgwj64jyd"
#define V2A "facebookcorewwwi"

/* ---- fixed contents (also the fixtures and the doc's worked example) ---- */

static const uint8_t srv_cur[32] = { 0x5f, 0x3a, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06,
                                     0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e,
                                     0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16,
                                     0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e };

static ob_request *sample_request(void)
{
    static const char desc_a[] = "hs-descriptor 3\ndescriptor-lifetime 180\n";
    static const char desc_b[] = "hs-descriptor 3\n(bad signature)\n";
    ob_request *r = ob_request_new();
    ob_req_service *s = NULL;

    assert_non_null(r);
    r->created = 1795316400; /* 2026-11-22 03:00:00 UTC */
    assert_int_equal(ob_bundle_set_text(&r->origin, "ob-online 0.1.0 (test)"), OB_OK);
    r->consensus.valid_after = 1795316400;
    r->consensus.fresh_until = 1795320000;
    r->consensus.valid_until = 1795327200;
    r->consensus.tp_length_min = 1440;
    r->consensus.tp_offset_min = 720;
    r->consensus.has_srv_current = 1;
    memcpy(r->consensus.srv_current, srv_cur, 32);
    assert_int_equal(ob_request_add_service(r, V3A, 3, &s), OB_OK);
    assert_int_equal(ob_req_service_add_period(s, 20778, 1795262400, 1795348800), OB_OK);
    assert_int_equal(ob_req_service_add_period(s, 20779, 1795348800, 1795435200), OB_OK);
    assert_int_equal(ob_req_service_add_instance(s, V3B, "web-1", OB_INSTANCE_OK, NULL, 1795316300,
                                                 (const uint8_t *)desc_a, sizeof(desc_a) - 1),
                     OB_OK);
    assert_int_equal(ob_req_service_add_instance(s, V3C, NULL, OB_INSTANCE_INVALID,
                                                 "signature does not verify", 1795316310,
                                                 (const uint8_t *)desc_b, sizeof(desc_b) - 1),
                     OB_OK);
    assert_int_equal(ob_request_add_service(r, V2A, 2, &s), OB_OK);
    assert_int_equal(ob_req_service_add_instance(s, "3g2upl4pq6kufc4m", NULL, OB_INSTANCE_MISSING,
                                                 "HS_DESC FAILED: NOT_FOUND", 1795316320, NULL, 0),
                     OB_OK);
    return r;
}

static ob_response *sample_response(const uint8_t request_digest[32])
{
    static const char body[] = "hs-descriptor 3\nrevision-counter 42\n";
    ob_resp_descriptor t;
    ob_response *r = ob_response_new();

    assert_non_null(r);
    if (r == NULL) /* tells gcc -O2 that r is not NULL below (-Warray-bounds) */
        abort();
    memcpy(r->request_digest, request_digest, 32);
    r->created = 1795316700;
    assert_int_equal(ob_bundle_set_text(&r->note, "signed at the kitchen table"), OB_OK);
    memset(&t, 0, sizeof(t));
    t.service = V3A;
    t.version = 3;
    t.tp = 20778;
    t.slot = 0;
    t.group = 0;
    t.group_count = 1;
    t.valid_from = 1795316400;
    t.valid_until = 1795327200;
    t.revision = 42;
    t.descriptor = (uint8_t *)body;
    t.descriptor_len = sizeof(body) - 1;
    assert_int_equal(ob_response_add_descriptor(r, &t), OB_OK);
    t.slot = 1;
    t.tp = 20779;
    assert_int_equal(ob_response_add_descriptor(r, &t), OB_OK);
    return r;
}

static void ser_req(ob_request *r, ob_buf *b)
{
    ob_diag d = { "" };

    ob_buf_init(b);
    if (ob_request_serialize(r, b, &d) != OB_OK)
        fail_msg("serialize: %s", d.msg);
}

static void ser_resp(ob_response *r, ob_buf *b)
{
    ob_diag d = { "" };

    ob_buf_init(b);
    if (ob_response_serialize(r, b, &d) != OB_OK)
        fail_msg("serialize: %s", d.msg);
}

/* Parse as request or response (by peeking); returns the error and message. */
static ob_err parse_any(const uint8_t *p, size_t n, ob_diag *d)
{
    ob_request *q = NULL;
    ob_response *s = NULL;
    ob_err err;
    int kind = 0;

    ob_diag_clear(d);
    err = ob_bundle_peek(p, n, &kind, NULL, d);
    if (err != OB_OK)
        return err;
    if (kind == OB_BUNDLE_RESPONSE) {
        err = ob_response_parse(p, n, &s, d);
        assert_true((err == OB_OK) == (s != NULL));
        ob_response_free(s);
    } else {
        err = ob_request_parse(p, n, &q, d);
        assert_true((err == OB_OK) == (q != NULL));
        ob_request_free(q);
    }
    return err;
}

static void expect_fail(const uint8_t *p, size_t n, ob_err want, const char *substr)
{
    ob_diag d = { "" };
    ob_err err = parse_any(p, n, &d);

    if (err != want || strstr(d.msg, substr) == NULL)
        fail_msg("expected error %d with \"%s\", got %d: \"%s\"", want, substr, err, d.msg);
    assert_non_null(strstr(d.msg, "offset "));
    assert_null(strchr(d.msg, '\n'));
}

/* ---- an independent encoder for hand-made bodies (written from the doc) ---- */

typedef struct tb {
    uint8_t p[8192];
    size_t n;
    size_t open[8];
    int depth;
} tb;

static void tb_raw(tb *t, const void *p, size_t n)
{
    assert_true(t->n + n <= sizeof(t->p));
    memcpy(t->p + t->n, p, n);
    t->n += n;
}

static void tb_be(tb *t, uint64_t v, int width)
{
    uint8_t b[8];
    int i;

    for (i = 0; i < width; i++)
        b[i] = (uint8_t)(v >> (8 * (width - 1 - i)));
    tb_raw(t, b, (size_t)width);
}

static void tb_field(tb *t, uint16_t tag, const void *p, size_t n)
{
    tb_be(t, tag, 2);
    tb_be(t, n, 4);
    tb_raw(t, p, n);
}

static void tb_uint(tb *t, uint16_t tag, uint64_t v, int width)
{
    tb_be(t, tag, 2);
    tb_be(t, (uint64_t)width, 4);
    tb_be(t, v, width);
}

static void tb_text(tb *t, uint16_t tag, const char *s)
{
    tb_field(t, tag, s, strlen(s));
}

static void tb_open(tb *t, uint16_t tag)
{
    tb_be(t, tag, 2);
    t->open[t->depth++] = t->n;
    tb_be(t, 0, 4);
}

static void tb_close(tb *t)
{
    size_t at = t->open[--t->depth], len = t->n - at - 4;

    t->p[at] = (uint8_t)(len >> 24);
    t->p[at + 1] = (uint8_t)(len >> 16);
    t->p[at + 2] = (uint8_t)(len >> 8);
    t->p[at + 3] = (uint8_t)len;
}

/* Wrap a body in header and digest. out must hold 48 + n bytes. */
static size_t seal(uint8_t *out, int version, int kind, const uint8_t *body, size_t n)
{
    memcpy(out, "\x89OBB\r\n\x1a\n", 8);
    out[8] = (uint8_t)version;
    out[9] = (uint8_t)kind;
    out[10] = out[11] = 0;
    out[12] = (uint8_t)(n >> 24);
    out[13] = (uint8_t)(n >> 16);
    out[14] = (uint8_t)(n >> 8);
    out[15] = (uint8_t)n;
    memcpy(out + 16, body, n);
    assert_int_equal(ob_sha256_buf(out + 16 + n, out, 16 + n), 0);
    return 48 + n;
}

/* Recompute length and digest after editing a serialized bundle in place. */
static void reseal(uint8_t *p, size_t n)
{
    size_t body = n - 48;

    p[12] = (uint8_t)(body >> 24);
    p[13] = (uint8_t)(body >> 16);
    p[14] = (uint8_t)(body >> 8);
    p[15] = (uint8_t)body;
    assert_int_equal(ob_sha256_buf(p + n - 32, p, n - 32), 0);
}

static void tb_consensus(tb *t)
{
    tb_open(t, 0x8103);
    tb_uint(t, 0x8201, 1795316400, 8);
    tb_uint(t, 0x8202, 1795320000, 8);
    tb_uint(t, 0x8203, 1795327200, 8);
    tb_uint(t, 0x8204, 1440, 4);
    tb_uint(t, 0x8205, 720, 4);
    tb_close(t);
}

/* The smallest useful request, spelled out field by field (docs/bundle-format.rst). */
static void tb_min_request(tb *t, int with_extra)
{
    memset(t, 0, sizeof(*t));
    tb_uint(t, 0x8101, 1795316400, 8);
    tb_consensus(t);
    tb_open(t, 0x8104);
    tb_text(t, 0x8301, V3A);
    tb_uint(t, 0x8302, 3, 1);
    tb_open(t, 0x8303);
    tb_uint(t, 0x8401, 20778, 8);
    tb_uint(t, 0x8402, 1795262400, 8);
    tb_uint(t, 0x8403, 1795348800, 8);
    tb_close(t);
    tb_open(t, 0x8304);
    tb_text(t, 0x8501, V3B);
    tb_uint(t, 0x8503, 0, 1);
    tb_uint(t, 0x8505, 1795316300, 8);
    tb_text(t, 0x8506, "hs-descriptor 3\n");
    if (with_extra)
        tb_text(t, 0x0570, "kept");
    tb_close(t);
    tb_close(t);
    if (with_extra) /* field numbers sort after 0x0104 (service) */
        tb_text(t, 0x0150, "a future non-critical field");
}

static ob_request *min_request(void)
{
    ob_request *r = ob_request_new();
    ob_req_service *s = NULL;

    assert_non_null(r);
    r->created = 1795316400;
    r->consensus.valid_after = 1795316400;
    r->consensus.fresh_until = 1795320000;
    r->consensus.valid_until = 1795327200;
    r->consensus.tp_length_min = 1440;
    r->consensus.tp_offset_min = 720;
    assert_int_equal(ob_request_add_service(r, V3A, 3, &s), OB_OK);
    assert_int_equal(ob_req_service_add_period(s, 20778, 1795262400, 1795348800), OB_OK);
    assert_int_equal(ob_req_service_add_instance(s, V3B, NULL, OB_INSTANCE_OK, NULL, 1795316300,
                                                 (const uint8_t *)"hs-descriptor 3\n", 16),
                     OB_OK);
    return r;
}

/* ---- tests ---- */

static void test_request_roundtrip(void **state)
{
    ob_request *r = sample_request(), *q = NULL;
    ob_buf a, b;
    ob_diag d = { "" };

    (void)state;
    ser_req(r, &a);
    assert_int_equal(ob_request_parse(a.p, a.len, &q, &d), OB_OK);
    assert_memory_equal(q->digest, r->digest, 32);
    assert_int_equal(q->n_services, 2);
    assert_string_equal(q->origin, "ob-online 0.1.0 (test)");
    assert_int_equal(q->consensus.tp_offset_min, 720);
    assert_true(q->consensus.has_srv_current);
    assert_false(q->consensus.has_srv_previous);
    assert_memory_equal(q->consensus.srv_current, srv_cur, 32);
    assert_string_equal(q->services[0].address, V3A);
    assert_int_equal(q->services[0].n_periods, 2);
    assert_int_equal(q->services[0].periods[1].tp, 20779);
    assert_int_equal(q->services[0].n_instances, 2);
    assert_string_equal(q->services[0].instances[0].name, "web-1");
    assert_null(q->services[0].instances[1].name);
    assert_string_equal(q->services[0].instances[1].reason, "signature does not verify");
    assert_int_equal(q->services[0].instances[1].status, OB_INSTANCE_INVALID);
    assert_int_equal(q->services[1].version, 2);
    assert_null(q->services[1].instances[0].descriptor);
    ser_req(q, &b);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.p, b.p, a.len);
    assert_memory_equal(q->digest, r->digest, 32);
    ob_buf_free(&a);
    ob_buf_free(&b);
    ob_request_free(r);
    ob_request_free(q);
}

static void test_response_roundtrip(void **state)
{
    uint8_t rdig[32];
    ob_response *r, *q = NULL;
    ob_buf a, b;
    ob_diag d = { "" };

    (void)state;
    memset(rdig, 0xab, sizeof(rdig));
    r = sample_response(rdig);
    ser_resp(r, &a);
    assert_int_equal(ob_response_parse(a.p, a.len, &q, &d), OB_OK);
    assert_memory_equal(q->request_digest, rdig, 32);
    assert_int_equal(q->n_descriptors, 2);
    assert_string_equal(q->note, "signed at the kitchen table");
    assert_int_equal(q->descriptors[1].slot, 1);
    assert_int_equal(q->descriptors[1].revision, 42);
    assert_int_equal(q->descriptors[0].descriptor_len, 36);
    ser_resp(q, &b);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.p, b.p, a.len);
    /* A request parser refuses a response, and says what it got. */
    expect_fail(a.p, 0, OB_ERR_MALFORMED, "not a bundle");
    {
        ob_request *x = NULL;
        assert_int_equal(ob_request_parse(a.p, a.len, &x, &d), OB_ERR_MALFORMED);
        assert_non_null(strstr(d.msg, "kind 2 (signed response), expected 1"));
        assert_null(x);
    }
    ob_buf_free(&a);
    ob_buf_free(&b);
    ob_response_free(r);
    ob_response_free(q);
}

/* The hand encoding from the doc and the library agree byte for byte. */
static void test_layout_matches_doc(void **state)
{
    static uint8_t sealed[8192 + 48];
    ob_request *r = min_request();
    ob_buf a;
    tb t;
    size_t n;

    (void)state;
    tb_min_request(&t, 0);
    n = seal(sealed, 1, 1, t.p, t.n);
    ser_req(r, &a);
    assert_int_equal(a.len, n);
    assert_memory_equal(a.p, sealed, n);
    assert_memory_equal(r->digest, sealed + n - 32, 32);
    ob_buf_free(&a);
    ob_request_free(r);
}

/* Tiny deterministic PRNG: the same "random" bundles on every run. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void rnd_addr(char *out, size_t n)
{
    static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";
    size_t i;

    for (i = 0; i < n; i++)
        out[i] = b32[rnd() % 32];
    out[n] = '\0';
}

static void rnd_text(char *out, size_t max)
{
    size_t i, n = 1 + rnd() % max;

    for (i = 0; i < n; i++)
        out[i] = (char)(0x20 + rnd() % 95);
    out[n] = '\0';
}

static void test_random_roundtrip(void **state)
{
    static uint8_t blob[4096];
    int iter;

    (void)state;
    for (iter = 0; iter < 60; iter++) {
        ob_request *r = ob_request_new(), *q = NULL;
        ob_response *s = ob_response_new(), *sq = NULL;
        ob_buf a, b;
        ob_diag d = { "" };
        size_t i, j, ns = 1 + rnd() % 4;
        char addr[57], txt[OB_BUNDLE_MAX_TEXT + 1];

        r->created = rnd() % (OB_TIME_MAX + 1); /* every time is bounded (obtime.h) */
        if (rnd() % 2) {
            rnd_text(txt, OB_BUNDLE_MAX_TEXT);
            assert_int_equal(ob_bundle_set_text(&r->origin, txt), OB_OK);
        }
        r->consensus.valid_after = rnd() % 1000000;
        r->consensus.fresh_until = r->consensus.valid_after + 1 + rnd() % 3600;
        r->consensus.valid_until = r->consensus.fresh_until + rnd() % 7200;
        r->consensus.tp_length_min = 1 + (uint32_t)(rnd() % 1440);
        r->consensus.tp_offset_min = (uint32_t)(rnd() % r->consensus.tp_length_min);
        r->consensus.has_srv_current = (int)(rnd() % 2);
        r->consensus.has_srv_previous = (int)(rnd() % 2);
        for (i = 0; i < 32; i++) {
            r->consensus.srv_current[i] = r->consensus.has_srv_current ? (uint8_t)rnd() : 0;
            r->consensus.srv_previous[i] = r->consensus.has_srv_previous ? (uint8_t)rnd() : 0;
        }
        for (i = 0; i < ns; i++) {
            ob_req_service *sv = NULL;
            uint8_t v = (uint8_t)(2 + rnd() % 2);
            size_t np = rnd() % 4, ni = rnd() % 6;
            rnd_addr(addr, v == 3 ? 56 : 16);
            addr[0] = (char)('a' + i); /* distinct services */
            assert_int_equal(ob_request_add_service(r, addr, v, &sv), OB_OK);
            for (j = 0; j < np; j++) {
                uint64_t from = rnd() % 100000000;
                assert_int_equal(
                    ob_req_service_add_period(sv, 1000 + j, from, from + 1 + rnd() % 100000),
                    OB_OK);
            }
            for (j = 0; j < ni; j++) {
                uint8_t st = (uint8_t)(rnd() % 3);
                size_t bl = st == OB_INSTANCE_MISSING ? 0 : 1 + rnd() % sizeof(blob);
                char nm[OB_BUNDLE_MAX_TEXT + 1], rs[OB_BUNDLE_MAX_TEXT + 1];
                size_t k;
                for (k = 0; k < bl; k++)
                    blob[k] = (uint8_t)rnd();
                if (st == OB_INSTANCE_INVALID && rnd() % 2)
                    bl = 0;
                rnd_addr(addr, v == 3 ? 56 : 16);
                addr[0] = (char)('a' + j);
                rnd_text(nm, 40);
                rnd_text(rs, OB_BUNDLE_MAX_TEXT);
                assert_int_equal(ob_req_service_add_instance(sv, addr, rnd() % 2 ? nm : NULL, st,
                                                             rnd() % 2 ? rs : NULL,
                                                             rnd() % (OB_TIME_MAX + 1), blob, bl),
                                 OB_OK);
            }
        }
        ser_req(r, &a);
        assert_int_equal(ob_request_parse(a.p, a.len, &q, &d), OB_OK);
        ser_req(q, &b);
        assert_int_equal(a.len, b.len);
        assert_memory_equal(a.p, b.p, a.len);
        ob_buf_free(&b);

        memcpy(s->request_digest, r->digest, 32);
        s->created = rnd() % (OB_TIME_MAX + 1);
        for (i = 0, j = 1 + rnd() % 8; i < j; i++) {
            ob_resp_descriptor t;
            size_t k, bl = 1 + rnd() % sizeof(blob);
            memset(&t, 0, sizeof(t));
            t.version = (uint8_t)(2 + rnd() % 2);
            rnd_addr(addr, t.version == 3 ? 56 : 16);
            addr[0] = (char)('a' + i);
            t.service = addr;
            t.tp = rnd() % (OB_TP_MAX + 1);
            t.slot = (uint8_t)(rnd() % 2);
            t.group_count = (uint16_t)(1 + rnd() % 5);
            t.group = (uint16_t)(rnd() % t.group_count);
            t.valid_from = rnd() % 1000000;
            t.valid_until = t.valid_from + 1 + rnd() % 10000;
            /* v3: any counter; v2: a publication time */
            t.revision = t.version == 3 ? rnd() : rnd() % (OB_TIME_MAX + 1);
            for (k = 0; k < bl; k++)
                blob[k] = (uint8_t)rnd();
            t.descriptor = blob;
            t.descriptor_len = bl;
            assert_int_equal(ob_response_add_descriptor(s, &t), OB_OK);
        }
        ser_resp(s, &b);
        assert_int_equal(ob_response_parse(b.p, b.len, &sq, &d), OB_OK);
        assert_memory_equal(sq->request_digest, r->digest, 32);
        ob_buf_free(&a);
        ser_resp(sq, &a);
        assert_int_equal(a.len, b.len);
        assert_memory_equal(a.p, b.p, a.len);
        ob_buf_free(&a);
        ob_buf_free(&b);
        ob_request_free(r);
        ob_request_free(q);
        ob_response_free(s);
        ob_response_free(sq);
    }
}

static void test_truncation_every_length(void **state)
{
    ob_request *r = sample_request();
    ob_buf a;
    size_t n;

    (void)state;
    ser_req(r, &a);
    for (n = 0; n < a.len; n++) {
        ob_diag d = { "" };
        uint8_t *copy = malloc(n + 1); /* exact-size copy: ASan sees any overread */
        ob_err err;
        assert_non_null(copy);
        memcpy(copy, a.p, n);
        err = parse_any(n == 0 ? NULL : copy, n, &d);
        assert_int_not_equal(err, OB_OK);
        assert_non_null(strstr(d.msg, "offset "));
        if (n >= 16)
            assert_non_null(strstr(d.msg, "truncated"));
        free(copy);
    }
    ob_buf_free(&a);
    ob_request_free(r);
}

static void test_bitflip_every_bit(void **state)
{
    uint8_t rdig[32] = { 0 };
    ob_response *s = sample_response(rdig);
    ob_request *r = sample_request();
    ob_buf bufs[2];
    int which;

    (void)state;
    ser_req(r, &bufs[0]);
    ser_resp(s, &bufs[1]);
    for (which = 0; which < 2; which++) {
        ob_buf *a = &bufs[which];
        size_t i;
        int bit;
        for (i = 0; i < a->len; i++) {
            for (bit = 0; bit < 8; bit++) {
                ob_diag d = { "" };
                ob_err err;
                a->p[i] ^= (uint8_t)(1u << bit);
                err = parse_any(a->p, a->len, &d);
                a->p[i] ^= (uint8_t)(1u << bit);
                if (err == OB_OK)
                    fail_msg("flip of bit %d at offset %zu was accepted", bit, i);
                assert_non_null(strstr(d.msg, "offset "));
                if (i >= 16)
                    assert_true(strstr(d.msg, "digest mismatch") != NULL ||
                                strstr(d.msg, "truncated") != NULL ||
                                strstr(d.msg, "trailing") != NULL);
            }
        }
        ob_buf_free(a);
    }
    ob_request_free(r);
    ob_response_free(s);
}

static void test_envelope_errors(void **state)
{
    static uint8_t buf[8192 + 64];
    ob_request *r = min_request();
    ob_buf a;

    (void)state;
    ser_req(r, &a);
    memcpy(buf, a.p, a.len);
    buf[8] = 2;
    expect_fail(buf, a.len, OB_ERR_UNSUPPORTED, "offset 8: bundle format version 2");
    memcpy(buf, a.p, a.len);
    buf[2] = 'X';
    expect_fail(buf, a.len, OB_ERR_MALFORMED, "offset 0: not a bundle");
    memcpy(buf, a.p, a.len);
    memmove(buf + 5, buf + 6, a.len - 6); /* CRLF -> LF, as a text-mode copy would */
    expect_fail(buf, a.len - 1, OB_ERR_MALFORMED, "magic is damaged");
    memcpy(buf, a.p, a.len);
    buf[9] = 3;
    reseal(buf, a.len);
    /* A request parser handed kind 3: the kind is named, not misread. */
    expect_fail(buf, a.len, OB_ERR_MALFORMED,
                "offset 9: kind 3 (key-certification request), expected 1 (signing request)");
    buf[9] = 9;
    reseal(buf, a.len);
    expect_fail(buf, a.len, OB_ERR_UNSUPPORTED, "offset 9: unknown bundle kind 9");
    memcpy(buf, a.p, a.len);
    buf[11] = 1;
    expect_fail(buf, a.len, OB_ERR_MALFORMED, "offset 10: reserved");
    memcpy(buf, a.p, a.len);
    memcpy(buf + a.len, "junk", 4);
    expect_fail(buf, a.len + 4, OB_ERR_MALFORMED, "4 trailing bytes after the digest");
    memcpy(buf, a.p, a.len);
    buf[40] ^= 1;
    expect_fail(buf, a.len, OB_ERR_VERIFY, "digest mismatch");
    memcpy(buf, a.p, a.len);
    buf[12] = 0x7f;
    expect_fail(buf, a.len, OB_ERR_RANGE, "offset 12: body length");
    ob_buf_free(&a);
    ob_request_free(r);
}

/* Edit one field of the hand-made body and check the parser's verdict. */
static void craft(tb *t, ob_err want, const char *substr)
{
    static uint8_t sealed[8192 + 48];
    size_t n = seal(sealed, 1, 1, t->p, t->n);

    expect_fail(sealed, n, want, substr);
}

static void test_structure_errors(void **state)
{
    static uint8_t big[OB_BUNDLE_MAX_FIELD + 1];
    tb t;

    (void)state;
    /* Duplicate non-repeatable field. */
    memset(&t, 0, sizeof(t));
    tb_uint(&t, 0x8101, 1, 8);
    tb_uint(&t, 0x8101, 2, 8);
    craft(&t, OB_ERR_MALFORMED, "offset 30: field 0x8101 (request.created): duplicate field");
    /* Out of order. */
    memset(&t, 0, sizeof(t));
    tb_consensus(&t);
    tb_uint(&t, 0x8101, 1, 8);
    craft(&t, OB_ERR_MALFORMED, "(request.created): out of order (after field 0x0103)");
    /* Unknown critical field. */
    tb_min_request(&t, 0);
    tb_text(&t, 0x81f0, "must understand");
    craft(&t, OB_ERR_UNSUPPORTED, "field 0x81f0 in request record: unknown critical field");
    /* Known field with the wrong critical bit. */
    memset(&t, 0, sizeof(t));
    tb_uint(&t, 0x0101, 1, 8);
    craft(&t, OB_ERR_MALFORMED, "offset 16: field 0x0101 (request.created): critical bit must");
    /* Wrong width. */
    memset(&t, 0, sizeof(t));
    tb_uint(&t, 0x8101, 1, 4);
    craft(&t, OB_ERR_MALFORMED, "(request.created): length 4, expected 8");
    /* Missing required field. */
    memset(&t, 0, sizeof(t));
    tb_uint(&t, 0x8101, 1, 8);
    craft(&t, OB_ERR_MALFORMED, "request record lacks required field 0x8103 (request.consensus)");
    /* Field longer than its record. */
    memset(&t, 0, sizeof(t));
    tb_uint(&t, 0x8101, 1, 8);
    tb_be(&t, 0x0102, 2);
    tb_be(&t, 100, 4);
    tb_be(&t, 0, 8);
    craft(&t, OB_ERR_TRUNCATED,
          "offset 30: field 0x0102 (request.origin): length 100 exceeds the "
          "8 bytes left in the request record");
    /* Partial field header. */
    memset(&t, 0, sizeof(t));
    tb_be(&t, 0x8101, 2);
    craft(&t, OB_ERR_TRUNCATED, "offset 16: request record: truncated field header");
    /* Oversized field (the length is checked before the bytes are looked for). */
    memset(&t, 0, sizeof(t));
    tb_uint(&t, 0x8101, 1, 8);
    tb_be(&t, 0x0102, 2);
    tb_be(&t, 9999999, 4);
    craft(&t, OB_ERR_RANGE,
          "offset 30: field 0x0102 (request.origin): length 9999999 exceeds "
          "limit 512");
    /* Empty text, non-printable text, bad address, bad version, status rules. */
    memset(&t, 0, sizeof(t));
    tb_uint(&t, 0x8101, 1, 8);
    tb_text(&t, 0x0102, "");
    craft(&t, OB_ERR_MALFORMED, "(request.origin): empty");
    memset(&t, 0, sizeof(t));
    tb_uint(&t, 0x8101, 1, 8);
    tb_text(&t, 0x0102, "bell\a");
    craft(&t, OB_ERR_MALFORMED,
          "offset 40: field 0x0102 (request.origin): byte 0x07 is not "
          "printable");
    memset(&t, 0, sizeof(t));
    tb_uint(&t, 0x8101, 1, 8);
    tb_consensus(&t);
    tb_open(&t, 0x8104);
    tb_text(&t, 0x8301, "Not-An-Address");
    tb_close(&t);
    craft(&t, OB_ERR_MALFORMED, "(service.address): byte 0 is not a base32 letter");
    memset(&t, 0, sizeof(t));
    tb_uint(&t, 0x8101, 1, 8);
    tb_consensus(&t);
    tb_open(&t, 0x8104);
    tb_text(&t, 0x8301, V2A);
    tb_uint(&t, 0x8302, 3, 1);
    tb_close(&t);
    craft(&t, OB_ERR_MALFORMED, "service record: address has 16 characters; a v3 address has 56");
    memset(&t, 0, sizeof(t));
    tb_uint(&t, 0x8101, 1, 8);
    tb_consensus(&t);
    tb_open(&t, 0x8104);
    tb_text(&t, 0x8301, V3A);
    tb_uint(&t, 0x8302, 4, 1);
    tb_close(&t);
    craft(&t, OB_ERR_MALFORMED, "service record: version 4, expected 2 or 3");
    memset(&t, 0, sizeof(t));
    tb_uint(&t, 0x8101, 1, 8);
    tb_consensus(&t);
    tb_open(&t, 0x8104);
    tb_text(&t, 0x8301, V3A);
    tb_uint(&t, 0x8302, 3, 1);
    tb_open(&t, 0x8304);
    tb_text(&t, 0x8501, V3B);
    tb_uint(&t, 0x8503, 0, 1);
    tb_uint(&t, 0x8505, 1, 8);
    tb_close(&t);
    tb_close(&t);
    craft(&t, OB_ERR_MALFORMED, "instance 0: status ok but no descriptor");
    /* Two services with one address. */
    memset(&t, 0, sizeof(t));
    tb_uint(&t, 0x8101, 1, 8);
    tb_consensus(&t);
    tb_open(&t, 0x8104);
    tb_text(&t, 0x8301, V3A);
    tb_uint(&t, 0x8302, 3, 1);
    tb_close(&t);
    tb_open(&t, 0x8104);
    tb_text(&t, 0x8301, V3A);
    tb_uint(&t, 0x8302, 3, 1);
    tb_close(&t);
    craft(&t, OB_ERR_MALFORMED, "service 1 repeats address " V3A);
    /* Consensus facts out of order. */
    memset(&t, 0, sizeof(t));
    tb_uint(&t, 0x8101, 1, 8);
    tb_open(&t, 0x8103);
    tb_uint(&t, 0x8201, 5000, 8);
    tb_uint(&t, 0x8202, 4000, 8);
    tb_uint(&t, 0x8203, 6000, 8);
    tb_uint(&t, 0x8204, 1440, 4);
    tb_uint(&t, 0x8205, 720, 4);
    tb_close(&t);
    craft(&t, OB_ERR_MALFORMED, "offset 30: consensus record: valid_after 5000, fresh_until 4000");
    /* The serializer refuses what the parser would refuse, and names the member. */
    {
        ob_request *r = min_request();
        ob_diag d = { "" };
        ob_buf b;
        size_t base;
        ob_buf_init(&b);
        ser_req(r, &b);
        base = b.len;
        ob_buf_free(&b);
        r->services[0].instances[0].descriptor_len = sizeof(big);
        free(r->services[0].instances[0].descriptor);
        r->services[0].instances[0].descriptor = malloc(sizeof(big));
        assert_non_null(r->services[0].instances[0].descriptor);
        memset(r->services[0].instances[0].descriptor, 'x', sizeof(big));
        assert_int_equal(ob_request_serialize(r, &b, &d), OB_ERR_RANGE);
        assert_non_null(strstr(d.msg, "service 0: instance 0: descriptor is 1048577 bytes, "
                                      "limit 1048576"));
        assert_int_equal(b.len, 0);
        r->services[0].instances[0].descriptor_len = OB_BUNDLE_MAX_FIELD;
        assert_int_equal(ob_request_serialize(r, &b, &d), OB_OK); /* exactly the limit is fine */
        assert_int_equal(b.len, base - 16 + OB_BUNDLE_MAX_FIELD);
        ob_buf_free(&b);
        ob_request_free(r);
    }
}

/*
 * Shared descriptors (request.descriptor 0x8105, instance.descriptor_ref
 * 0x8507): a descriptor two instances carry travels once.  The encoding is
 * still canonical: the writer decides the table from the content, and the
 * reader refuses any other table for the same content.
 */
static void tb_shared_service(tb *t, const char *addr, const char *inst, long ref,
                              const char *inline_desc)
{
    tb_open(t, 0x8104);
    tb_text(t, 0x8301, addr);
    tb_uint(t, 0x8302, 3, 1);
    tb_open(t, 0x8304);
    tb_text(t, 0x8501, inst);
    tb_uint(t, 0x8503, 0, 1);
    tb_uint(t, 0x8505, 1795316300, 8);
    if (inline_desc != NULL)
        tb_text(t, 0x8506, inline_desc);
    if (ref >= 0)
        tb_uint(t, 0x8507, (uint64_t)ref, 4);
    tb_close(t);
    tb_close(t);
}

static void tb_shared_head(tb *t)
{
    memset(t, 0, sizeof(*t));
    tb_uint(t, 0x8101, 1795316400, 8);
    tb_consensus(t);
}

#define DESC_X "hs-descriptor 3\nshared by both\n"
#define DESC_Y "hs-descriptor 3\nanother\n"

static void test_shared_descriptors(void **state)
{
    static uint8_t sealed[8192 + 48];
    ob_request *r = NULL, *h = ob_request_new();
    ob_req_service *s = NULL;
    ob_buf b;
    ob_diag d;
    tb t;
    size_t n;

    (void)state;
    /* Two services, one backend: the bytes once, in the table. */
    tb_shared_head(&t);
    tb_shared_service(&t, V3A, V3C, 0, NULL);
    tb_shared_service(&t, V3B, V3C, 0, NULL);
    tb_text(&t, 0x8105, DESC_X);
    n = seal(sealed, 1, 1, t.p, t.n);
    if (ob_request_parse(sealed, n, &r, &d) != OB_OK)
        fail_msg("parse: %s", d.msg);
    assert_int_equal(r->n_shared, 1);
    assert_ptr_equal(r->services[0].instances[0].descriptor,
                     r->services[1].instances[0].descriptor);
    assert_int_equal(r->services[1].instances[0].descriptor_len, strlen(DESC_X));
    assert_memory_equal(r->services[1].instances[0].descriptor, DESC_X, strlen(DESC_X));
    assert_int_equal(r->services[0].instances[0].shared, 1);
    /* Written back byte for byte. */
    ob_buf_init(&b);
    ser_req(r, &b);
    assert_int_equal(b.len, n);
    assert_memory_equal(b.p, sealed, n);
    ob_buf_free(&b);
    ob_request_free(r);
    /* Built by hand with two copies: the writer shares them all the same. */
    assert_non_null(h);
    h->created = 1795316400;
    h->consensus.valid_after = 1795316400;
    h->consensus.fresh_until = 1795320000;
    h->consensus.valid_until = 1795327200;
    h->consensus.tp_length_min = 1440;
    h->consensus.tp_offset_min = 720;
    assert_int_equal(ob_request_add_service(h, V3A, 3, &s), OB_OK);
    assert_int_equal(ob_req_service_add_instance(s, V3C, NULL, 0, NULL, 1795316300,
                                                 (const uint8_t *)DESC_X, strlen(DESC_X)),
                     OB_OK);
    assert_int_equal(ob_request_add_service(h, V3B, 3, &s), OB_OK);
    assert_int_equal(ob_req_service_add_instance(s, V3C, NULL, 0, NULL, 1795316300,
                                                 (const uint8_t *)DESC_X, strlen(DESC_X)),
                     OB_OK);
    ob_buf_init(&b);
    ser_req(h, &b);
    assert_int_equal(b.len, n);
    assert_memory_equal(b.p, sealed, n);
    ob_buf_free(&b);
    /* ... and keeps one copy in memory when asked, with the same bytes out. */
    assert_int_equal(ob_request_share_descriptors(h, &d), OB_OK);
    assert_int_equal(h->n_shared, 1);
    assert_ptr_equal(h->services[0].instances[0].descriptor,
                     h->services[1].instances[0].descriptor);
    ob_buf_init(&b);
    ser_req(h, &b);
    assert_memory_equal(b.p, sealed, n);
    ob_buf_free(&b);
    ob_request_free(h);

    /* Every other table for that content is refused (only a broken writer makes one). */
    tb_shared_head(&t); /* used once */
    tb_shared_service(&t, V3A, V3C, 0, NULL);
    tb_shared_service(&t, V3B, V3C, -1, DESC_Y);
    tb_text(&t, 0x8105, DESC_X);
    craft(&t, OB_ERR_MALFORMED, "shared descriptor 0 is used only once");
    /* Written before sharing (each instance its own copy): still read, and
     * written back in the shared form. */
    tb_shared_head(&t);
    tb_shared_service(&t, V3A, V3C, -1, DESC_X);
    tb_shared_service(&t, V3B, V3C, -1, DESC_X);
    {
        static uint8_t old[8192 + 48];
        size_t on = seal(old, 1, 1, t.p, t.n);
        if (ob_request_parse(old, on, &r, &d) != OB_OK)
            fail_msg("parse of the unshared form: %s", d.msg);
        assert_int_equal(r->n_shared, 0);
        ob_buf_init(&b);
        ser_req(r, &b);
        assert_int_equal(b.len, n);
        assert_memory_equal(b.p, sealed, n);
        ob_buf_free(&b);
        ob_request_free(r);
    }
    tb_shared_head(&t); /* in the table and in an instance */
    tb_shared_service(&t, V3A, V3C, 0, NULL);
    tb_shared_service(&t, V3B, V3C, 0, NULL);
    tb_shared_service(&t, V3C, V3A, -1, DESC_X);
    tb_text(&t, 0x8105, DESC_X);
    craft(&t, OB_ERR_MALFORMED, "service 2 instance 0: its descriptor is also another");
    tb_shared_head(&t); /* the same bytes twice in the table */
    tb_shared_service(&t, V3A, V3C, 0, NULL);
    tb_shared_service(&t, V3B, V3C, 0, NULL);
    tb_shared_service(&t, V3C, V3A, 1, NULL);
    tb_open(&t, 0x8104);
    tb_text(&t, 0x8301, "fo2ruqkmytwgrwzw3oe5wiyvkd6w4fmsuayusf27qrgpdptgkjy7meid");
    tb_uint(&t, 0x8302, 3, 1);
    tb_open(&t, 0x8304);
    tb_text(&t, 0x8501, V3A);
    tb_uint(&t, 0x8503, 0, 1);
    tb_uint(&t, 0x8505, 1795316300, 8);
    tb_uint(&t, 0x8507, 1, 4);
    tb_close(&t);
    tb_close(&t);
    tb_text(&t, 0x8105, DESC_X);
    tb_text(&t, 0x8105, DESC_X);
    craft(&t, OB_ERR_MALFORMED, "written twice in the table");
    tb_shared_head(&t); /* a reference past the table */
    tb_shared_service(&t, V3A, V3C, 0, NULL);
    tb_shared_service(&t, V3B, V3C, 1, NULL);
    tb_text(&t, 0x8105, DESC_X);
    craft(&t, OB_ERR_MALFORMED, "descriptor_ref 1, the request has 1 shared descriptor(s)");
    tb_shared_head(&t); /* not in order of first use */
    tb_shared_service(&t, V3A, V3C, 1, NULL);
    tb_shared_service(&t, V3B, V3C, 0, NULL);
    tb_text(&t, 0x8105, DESC_X);
    tb_text(&t, 0x8105, DESC_Y);
    craft(&t, OB_ERR_MALFORMED, "descriptor_ref 1 before 0 was used");
    tb_shared_head(&t); /* an entry nobody uses */
    tb_shared_service(&t, V3A, V3C, 0, NULL);
    tb_shared_service(&t, V3B, V3C, 0, NULL);
    tb_text(&t, 0x8105, DESC_X);
    tb_text(&t, 0x8105, DESC_Y);
    craft(&t, OB_ERR_MALFORMED, "shared descriptor 1 is not used by any instance");
    tb_shared_head(&t); /* both forms in one instance */
    tb_shared_service(&t, V3A, V3C, 0, DESC_Y);
    tb_shared_service(&t, V3B, V3C, 0, NULL);
    tb_text(&t, 0x8105, DESC_X);
    craft(&t, OB_ERR_MALFORMED, "(instance.descriptor_ref): the instance has its own descriptor");
    tb_shared_head(&t); /* a reference where the status says missing */
    tb_open(&t, 0x8104);
    tb_text(&t, 0x8301, V3A);
    tb_uint(&t, 0x8302, 3, 1);
    tb_open(&t, 0x8304);
    tb_text(&t, 0x8501, V3C);
    tb_uint(&t, 0x8503, 1, 1);
    tb_uint(&t, 0x8505, 1795316300, 8);
    tb_uint(&t, 0x8507, 0, 4);
    tb_close(&t);
    tb_close(&t);
    tb_shared_service(&t, V3B, V3C, 0, NULL);
    tb_text(&t, 0x8105, DESC_X);
    craft(&t, OB_ERR_MALFORMED, "status missing but a descriptor is present");
    /* Both new fields are critical: a reader that predates them refuses the
     * request ("unknown critical field") instead of missing a descriptor. */
    assert_string_equal(ob_bundle_field_name(0x8105), "request.descriptor");
    assert_string_equal(ob_bundle_field_name(0x8507), "instance.descriptor_ref");
    assert_null(ob_bundle_field_name(0x0105));
    assert_null(ob_bundle_field_name(0x0507));
}

static void test_response_errors(void **state)
{
    uint8_t rdig[32] = { 0 };
    ob_response *s = sample_response(rdig);
    ob_diag d = { "" };
    ob_buf b;

    (void)state;
    ob_buf_init(&b);
    s->descriptors[1].tp = s->descriptors[0].tp;
    s->descriptors[1].slot = s->descriptors[0].slot;
    assert_int_equal(ob_response_serialize(s, &b, &d), OB_ERR_MALFORMED);
    assert_non_null(strstr(d.msg, "descriptor 1 repeats service " V3A " period 20778 slot 0"));
    s->descriptors[1].group_count = 2;
    s->descriptors[1].group = 1;
    assert_int_equal(ob_response_serialize(s, &b, &d), OB_ERR_MALFORMED);
    assert_non_null(strstr(d.msg, "disagree on the group count"));
    s->descriptors[0].group_count = 2;
    assert_int_equal(ob_response_serialize(s, &b, &d), OB_OK);
    ob_buf_reset(&b);
    s->descriptors[0].group = 2;
    assert_int_equal(ob_response_serialize(s, &b, &d), OB_ERR_RANGE);
    assert_non_null(strstr(d.msg, "descriptor 0: group 2 of 2"));
    s->descriptors[0].group = 0;
    s->descriptors[0].slot = 2;
    assert_int_equal(ob_response_serialize(s, &b, &d), OB_ERR_MALFORMED);
    assert_non_null(strstr(d.msg, "slot 2, expected 0 or 1"));
    assert_int_equal(b.len, 0);
    ob_buf_free(&b);
    ob_response_free(s);

    /* A compact-descriptor field is decoded strictly (hsv3_compact.h), not skipped. */
    {
        static uint8_t sealed[1024];
        tb t;
        size_t n;
        memset(&t, 0, sizeof(t));
        tb_field(&t, 0x8601, rdig, 32);
        tb_uint(&t, 0x8602, 1, 8);
        tb_open(&t, 0x8604);
        tb_text(&t, 0x8701, V3A);
        tb_uint(&t, 0x8702, 3, 1);
        tb_uint(&t, 0x8703, 20778, 8);
        tb_uint(&t, 0x8704, 0, 1);
        tb_uint(&t, 0x8705, 0, 2);
        tb_uint(&t, 0x8706, 1, 2);
        tb_uint(&t, 0x8707, 1, 8);
        tb_uint(&t, 0x8708, 2, 8);
        tb_uint(&t, 0x8709, 3, 8);
        tb_text(&t, 0x870b, "sig+key+salt");
        tb_close(&t);
        n = seal(sealed, 1, 2, t.p, t.n);
        expect_fail(sealed, n, OB_ERR_UNSUPPORTED,
                    "compact descriptor: offset 0: version 115, expected 1");
    }
}

/* A response with one descriptor whose period and created are given. */
static void tb_response(tb *t, uint64_t created, uint64_t tp, uint64_t valid_until)
{
    static const uint8_t rdig[32];

    memset(t, 0, sizeof(*t));
    tb_field(t, 0x8601, rdig, 32);
    tb_uint(t, 0x8602, created, 8);
    tb_open(t, 0x8604);
    tb_text(t, 0x8701, V3A);
    tb_uint(t, 0x8702, 3, 1);
    tb_uint(t, 0x8703, tp, 8);
    tb_uint(t, 0x8704, 0, 1);
    tb_uint(t, 0x8705, 0, 2);
    tb_uint(t, 0x8706, 1, 2);
    tb_uint(t, 0x8707, 1795262400, 8);
    tb_uint(t, 0x8708, valid_until, 8);
    tb_uint(t, 0x8709, UINT64_MAX, 8); /* a v3 revision counter is not a time */
    tb_text(t, 0x870a, "hs-descriptor 3\n");
    tb_close(t);
}

static void craft_response(tb *t, ob_err want, const char *substr)
{
    static uint8_t sealed[8192 + 48];
    size_t n = seal(sealed, 1, 2, t->p, t->n);

    expect_fail(sealed, n, want, substr);
}

/* Patch the u64 value of the first field with this tag in a hand-made body. */
static void tb_patch_u64(tb *t, uint16_t tag, uint64_t v)
{
    size_t i;

    for (i = 0; i + 14 <= t->n; i++) {
        if (t->p[i] == (uint8_t)(tag >> 8) && t->p[i + 1] == (uint8_t)tag && t->p[i + 2] == 0 &&
            t->p[i + 3] == 0 && t->p[i + 4] == 0 && t->p[i + 5] == 8) {
            int k;
            for (k = 0; k < 8; k++)
                t->p[i + 6 + k] = (uint8_t)(v >> (56 - 8 * k));
            return;
        }
    }
    fail_msg("tag 0x%04x not found", tag);
}

/*
 * Issue 14: every time and period number is bounded where it enters: a time
 * beyond year 9999 and a period beyond 2^32 are refused with the field and
 * offset named, by the parser and by the serializer alike.
 */
static void test_time_bounds(void **state)
{
    static const struct {
        uint16_t tag;
        uint64_t v;
        const char *msg;
    } bad[] = {
        { 0x8101, UINT64_MAX,
          "offset 16: field 0x8101 (request.created): time 18446744073709551615 is beyond year "
          "9999" },
        { 0x8101, OB_TIME_MAX + 1, "(request.created): time 253402300800 is beyond year 9999" },
        { 0x8201, UINT64_MAX - 3, "(consensus.valid_after): time 18446744073709551612" },
        { 0x8202, UINT64_MAX, "(consensus.fresh_until): time" },
        { 0x8203, UINT64_MAX, "(consensus.valid_until): time" },
        { 0x8401, UINT64_C(1) << 32, "(period.tp): time period 4294967296 is beyond 2^32" },
        { 0x8401, 20778 + (UINT64_C(1) << 57), "(period.tp): time period 144115188075876650" },
        { 0x8402, UINT64_MAX, "(period.valid_from): time" },
        { 0x8403, UINT64_MAX, "(period.valid_until): time" },
        { 0x8505, UINT64_MAX, "(instance.fetched_at): time 18446744073709551615" },
    };
    ob_request *r = NULL;
    ob_response *s = NULL;
    uint8_t rdig[32] = { 0 };
    ob_diag d = { "" };
    ob_buf b;
    size_t i;
    tb t;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        tb_min_request(&t, 0);
        tb_patch_u64(&t, bad[i].tag, bad[i].v);
        craft(&t, OB_ERR_RANGE, bad[i].msg);
    }
    /* The edges are accepted: the last second of 9999, period 2^32 - 1. */
    {
        static uint8_t sealed[8192 + 48];
        size_t n;
        tb_min_request(&t, 0);
        tb_patch_u64(&t, 0x8505, OB_TIME_MAX);
        tb_patch_u64(&t, 0x8401, OB_TP_MAX);
        n = seal(sealed, 1, 1, t.p, t.n);
        assert_int_equal(ob_request_parse(sealed, n, &r, &d), OB_OK);
        assert_int_equal(r->services[0].periods[0].tp, OB_TP_MAX);
        ob_request_free(r);
        r = NULL;
    }
    /* Responses: the period 2^64-4 that hung publish, and created 2^64-1. */
    tb_response(&t, 1795316400, UINT64_MAX - 3, 1795348800);
    craft_response(&t, OB_ERR_RANGE,
                   "(descriptor.tp): time period 18446744073709551612 is beyond 2^32");
    tb_response(&t, UINT64_MAX, 20778, 1795348800);
    craft_response(&t, OB_ERR_RANGE, "offset 54: field 0x8602 (response.created): time");
    tb_response(&t, 1795316400, 20778, UINT64_MAX);
    craft_response(&t, OB_ERR_RANGE, "(descriptor.valid_until): time");

    /* The serializer applies the same bounds, naming the member. */
    ob_buf_init(&b);
    r = min_request();
    r->created = UINT64_MAX;
    assert_int_equal(ob_request_serialize(r, &b, &d), OB_ERR_RANGE);
    assert_non_null(strstr(d.msg, "request: created 18446744073709551615 is beyond year 9999"));
    r->created = 1795316400;
    r->services[0].periods[0].tp = OB_TP_MAX + 1;
    assert_int_equal(ob_request_serialize(r, &b, &d), OB_ERR_RANGE);
    assert_non_null(strstr(d.msg, "period 0: time period 4294967296 is beyond 2^32"));
    r->services[0].periods[0].tp = 20778;
    r->services[0].instances[0].fetched_at = OB_TIME_MAX + 1;
    assert_int_equal(ob_request_serialize(r, &b, &d), OB_ERR_RANGE);
    assert_non_null(strstr(d.msg, "instance 0: fetched_at 253402300800"));
    r->services[0].instances[0].fetched_at = 1795316300;
    r->consensus.valid_until = UINT64_MAX;
    assert_int_equal(ob_request_serialize(r, &b, &d), OB_ERR_RANGE);
    assert_non_null(strstr(d.msg, "consensus: valid_until"));
    assert_int_equal(b.len, 0);
    s = sample_response(rdig);
    s->descriptors[0].tp = UINT64_MAX - 3;
    assert_int_equal(ob_response_serialize(s, &b, &d), OB_ERR_RANGE);
    assert_non_null(strstr(d.msg, "descriptor 0: time period 18446744073709551612"));
    s->descriptors[0].tp = 20778;
    s->created = UINT64_MAX;
    assert_int_equal(ob_response_serialize(s, &b, &d), OB_ERR_RANGE);
    s->created = 1795316400;
    /* v2 keeps its publication time in revision: a time; v3 a counter: not. */
    s->descriptors[0].revision = UINT64_MAX;
    assert_int_equal(ob_response_serialize(s, &b, &d), OB_OK);
    ob_buf_reset(&b);
    free(s->descriptors[0].service);
    s->descriptors[0].service = strdup(V2A);
    s->descriptors[0].version = 2;
    assert_int_equal(ob_response_serialize(s, &b, &d), OB_ERR_RANGE);
    assert_non_null(strstr(d.msg, "revision (publication time) 18446744073709551615"));
    s->descriptors[0].revision = OB_TIME_MAX;
    assert_int_equal(ob_response_serialize(s, &b, &d), OB_OK);
    ob_buf_free(&b);
    ob_request_free(r);
    ob_response_free(s);
}

/* Unknown non-critical fields survive a parse and serialize untouched. */
static void test_unknown_noncritical_kept(void **state)
{
    static uint8_t sealed[8192 + 48];
    ob_request *q = NULL;
    ob_diag d = { "" };
    ob_buf b;
    tb t;
    size_t n;

    (void)state;
    tb_min_request(&t, 1);
    n = seal(sealed, 1, 1, t.p, t.n);
    assert_int_equal(ob_request_parse(sealed, n, &q, &d), OB_OK);
    assert_int_equal(q->ext.n, 1);
    assert_int_equal(q->ext.v[0].tag, 0x0150);
    assert_int_equal(q->services[0].instances[0].ext.n, 1);
    assert_memory_equal(q->services[0].instances[0].ext.v[0].val, "kept", 4);
    ser_req(q, &b);
    assert_int_equal(b.len, n);
    assert_memory_equal(b.p, sealed, n);
    ob_buf_free(&b);
    /* A critical unknown in the same place is refused. */
    q->ext.v[0].tag = 0x8150;
    ob_buf_init(&b);
    assert_int_equal(ob_request_serialize(q, &b, &d), OB_ERR_MALFORMED);
    ob_buf_free(&b);
    ob_request_free(q);
}

/* The largest instance list: it round-trips, and one more is refused by both sides. */
static void test_instance_limit(void **state)
{
    static uint8_t desc[1024];
    ob_request *r = min_request(), *q = NULL;
    ob_req_service *sv = &r->services[0];
    ob_diag d = { "" };
    ob_buf a, b;
    char addr[57];
    size_t i;

    (void)state;
    memset(desc, 'd', sizeof(desc));
    for (i = 1; i < OB_BUNDLE_MAX_INSTANCES; i++) {
        snprintf(addr, sizeof(addr), "%s", V3C);
        addr[0] = "abcdefghijklmnopqrstuvwxyz234567"[i % 32];
        addr[1] = "abcdefghijklmnopqrstuvwxyz234567"[(i / 32) % 32];
        addr[2] = "abcdefghijklmnopqrstuvwxyz234567"[(i / 1024) % 32];
        /* Each its own descriptor: equal ones would be written once (shared). */
        memcpy(desc, &i, sizeof(i));
        assert_int_equal(ob_req_service_add_instance(sv, addr, NULL, OB_INSTANCE_OK, NULL, i, desc,
                                                     sizeof(desc)),
                         OB_OK);
    }
    ser_req(r, &a);
    assert_true(a.len > OB_BUNDLE_MAX_INSTANCES * sizeof(desc));
    assert_int_equal(ob_request_parse(a.p, a.len, &q, &d), OB_OK);
    assert_int_equal(q->services[0].n_instances, OB_BUNDLE_MAX_INSTANCES);
    ser_req(q, &b);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.p, b.p, a.len);
    ob_buf_free(&b);
    ob_request_free(q);
    q = NULL;

    /* One more: the writer refuses; a hand-extended bundle is refused by the reader. */
    assert_int_equal(
        ob_req_service_add_instance(sv, "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
                                    NULL, OB_INSTANCE_MISSING, NULL, 1, NULL, 0),
        OB_OK);
    ob_buf_init(&b);
    assert_int_equal(ob_request_serialize(r, &b, &d), OB_ERR_RANGE);
    assert_non_null(strstr(d.msg, "1 periods and 4097 instances"));
    assert_non_null(strstr(d.msg, "limits 8 and 4096"));
    {
        /* Duplicate the last instance record in place and patch the lengths. */
        size_t svc_len_at = 0x62 + 2, last = 0, off;
        uint8_t *big = malloc(a.len + 2000);
        uint32_t reclen;
        assert_non_null(big);
        /* Find the last instance record: walk the service record's fields. */
        off = svc_len_at + 4;
        while (off < a.len - 32) {
            uint16_t tag = (uint16_t)(a.p[off] << 8 | a.p[off + 1]);
            reclen = ob_load_u32(a.p + off + 2);
            if (tag == 0x8304)
                last = off;
            off += 6 + reclen;
        }
        assert_true(last != 0);
        reclen = 6 + ob_load_u32(a.p + last + 2);
        memcpy(big, a.p, a.len - 32);
        memcpy(big + a.len - 32, a.p + last, reclen); /* a 4097th (repeated) instance */
        ob_store_u32(big + svc_len_at, ob_load_u32(a.p + svc_len_at) + reclen);
        reseal(big, a.len + reclen);
        expect_fail(big, a.len + reclen, OB_ERR_RANGE,
                    "field 0x8304 (service.instance): more than 4096 occurrences");
        free(big);
    }
    ob_buf_free(&b);
    ob_buf_free(&a);
    ob_request_free(r);
}

/* Each allocation in turn fails: the right error, no partial result, no leak. */
static void test_alloc_failures(void **state)
{
    uint8_t rdig[32] = { 0 };
    ob_request *r = sample_request(), *q = NULL;
    ob_response *s = sample_response(rdig), *sq = NULL;
    ob_diag d = { "" };
    ob_buf a, b, c;
    long k, total;
    ob_err err;

    (void)state;
    ser_req(r, &a);
    ser_resp(s, &b);

    alloc_count = 0;
    assert_int_equal(ob_request_parse(a.p, a.len, &q, &d), OB_OK);
    total = alloc_count;
    ob_request_free(q);
    assert_true(total > 10);
    for (k = 0; k < total; k++) {
        alloc_budget = k;
        err = ob_request_parse(a.p, a.len, &q, &d);
        alloc_budget = -1;
        assert_int_equal(err, OB_ERR_NOMEM);
        assert_null(q);
        assert_non_null(strstr(d.msg, "out of memory"));
    }

    alloc_count = 0;
    assert_int_equal(ob_response_parse(b.p, b.len, &sq, &d), OB_OK);
    total = alloc_count;
    ob_response_free(sq);
    assert_true(total > 3);
    for (k = 0; k < total; k++) {
        alloc_budget = k;
        err = ob_response_parse(b.p, b.len, &sq, &d);
        alloc_budget = -1;
        assert_int_equal(err, OB_ERR_NOMEM);
        assert_null(sq);
    }

    /* The writer's own allocations (its duplicate checks): nothing appended on failure. */
    ob_buf_init(&c);
    alloc_count = 0;
    assert_int_equal(ob_request_serialize(r, &c, &d), OB_OK);
    total = alloc_count;
    for (k = 0; k < total; k++) {
        ob_buf_reset(&c);
        alloc_budget = k;
        err = ob_request_serialize(r, &c, &d);
        alloc_budget = -1;
        assert_int_equal(err, OB_ERR_NOMEM);
        assert_int_equal(c.len, 0);
    }
    ob_buf_free(&c);

    /* Builders: a failed add leaves the struct as it was. */
    for (k = 0; k < 4; k++) {
        size_t before = r->services[0].n_instances;
        alloc_budget = k;
        err = ob_req_service_add_instance(&r->services[0], V3B, "n", 0, "r", 1,
                                          (const uint8_t *)"x", 1);
        alloc_budget = -1;
        assert_int_equal(err, OB_ERR_NOMEM);
        assert_int_equal(r->services[0].n_instances, before);
    }
    for (k = 0; k < 2; k++) {
        ob_resp_descriptor t = s->descriptors[0];
        size_t before = s->n_descriptors;
        memset(&t.ext, 0, sizeof(t.ext));
        alloc_budget = k;
        err = ob_response_add_descriptor(s, &t);
        alloc_budget = -1;
        assert_int_equal(err, OB_ERR_NOMEM);
        assert_int_equal(s->n_descriptors, before);
    }
    ob_buf_free(&a);
    ob_buf_free(&b);
    ob_request_free(r);
    ob_response_free(s);
}

static size_t count_tmp_files(const char *dir)
{
    DIR *dh = opendir(dir);
    struct dirent *e;
    size_t n = 0;

    assert_non_null(dh);
    while ((e = readdir(dh)) != NULL) {
        if (strstr(e->d_name, ".tmp-") != NULL)
            n++;
    }
    closedir(dh);
    return n;
}

static void make_tmpdir(char *dir, size_t n)
{
    const char *base = getenv("TMPDIR");

    snprintf(dir, n, "%s/obbundle-XXXXXX", base != NULL ? base : "/tmp");
    assert_non_null(mkdtemp(dir));
}

static void rm_tree(const char *dir)
{
    char cmd[600];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_atomic_write(void **state)
{
    char dir[256], path[300];
    ob_request *r = sample_request(), *q = NULL;
    ob_diag d = { "" };
    uint8_t *p = NULL;
    size_t n = 0;
    ob_buf a, big;
    int i;

    (void)state;
    make_tmpdir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/request.obb", dir);
    assert_int_equal(ob_request_write_file(path, r, OB_WRITE_EXCL, &d), OB_OK);
    assert_int_equal(ob_request_write_file(path, r, OB_WRITE_EXCL, &d), OB_ERR_EXISTS);
    assert_int_equal(ob_request_read_file(path, &q, &d), OB_OK);
    assert_memory_equal(q->digest, r->digest, 32);
    ob_request_free(q);
    ser_req(r, &a);

    /* A big replacement whose write fails part way (file size limit): old file intact. */
    ob_buf_init(&big);
    ob_buf_reserve(&big, 8u << 20);
    memset(big.p, 'z', 8u << 20);
    big.len = 8u << 20;
    for (i = 0; i < 2; i++) {
        pid_t pid = fork();
        int status = 0;
        assert_true(pid >= 0);
        if (pid == 0) {
            struct rlimit rl = { 1u << 20, 1u << 20 };
            ob_diag cd = { "" };
            signal(SIGXFSZ, SIG_IGN);
            if (i == 0) {
                setrlimit(RLIMIT_FSIZE, &rl);
                _exit(ob_bundle_write_file(path, big.p, big.len, 0, &cd) == OB_ERR_IO ? 0 : 1);
            }
            /* i == 1: write forever-ish; the parent kills us mid-way. */
            for (;;)
                (void)ob_bundle_write_file(path, big.p, big.len, 0, &cd);
        }
        if (i == 1)
            usleep(30000);
        if (i == 1)
            kill(pid, SIGKILL);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (i == 0) {
            assert_true(WIFEXITED(status));
            assert_int_equal(WEXITSTATUS(status), 0);
            assert_int_equal(count_tmp_files(dir), 0); /* the failed writer cleaned up */
        }
        /* Whatever happened, the target is one whole file: the old bundle or the new blob. */
        assert_int_equal(ob_bundle_read_file(path, &p, &n, &d), OB_OK);
        assert_true((n == a.len && memcmp(p, a.p, n) == 0) || n == big.len);
        free(p);
        p = NULL;
    }
    ob_buf_free(&big);
    ob_buf_free(&a);
    /* Symlinks are not followed when reading. */
    {
        char link[320];
        snprintf(link, sizeof(link), "%s/link.obb", dir);
        assert_int_equal(symlink(path, link), 0);
        assert_int_equal(ob_request_read_file(link, &q, &d), OB_ERR_IO);
        assert_non_null(strstr(d.msg, "symbolic link"));
    }
    rm_tree(dir);
    ob_request_free(r);
}

/* Text from tor or a config file is made to fit instead of failing the bundle. */
static void test_builder_text_fits(void **state)
{
    char longtext[700];
    ob_request *r = min_request(), *q = NULL;
    ob_diag d = { "" };
    ob_buf a;

    (void)state;
    memset(longtext, 'x', sizeof(longtext) - 1);
    longtext[sizeof(longtext) - 1] = '\0';
    assert_int_equal(ob_req_service_add_instance(&r->services[0], V3C, "tab\there", 1,
                                                 "esc\x1b[31m", 5, NULL, 0),
                     OB_OK);
    assert_string_equal(r->services[0].instances[1].name, "tab?here");
    assert_string_equal(r->services[0].instances[1].reason, "esc?[31m");
    assert_int_equal(ob_bundle_set_text(&r->origin, longtext), OB_OK);
    assert_int_equal(strlen(r->origin), OB_BUNDLE_MAX_TEXT);
    assert_int_equal(ob_bundle_set_text(&r->origin, ""), OB_OK);
    assert_null(r->origin);
    ser_req(r, &a);
    assert_int_equal(ob_request_parse(a.p, a.len, &q, &d), OB_OK);
    assert_string_equal(q->services[0].instances[1].reason, "esc?[31m");
    /* Addresses are not "fixed": a bad one is refused with the member named. */
    ob_buf_free(&a);
    ob_buf_init(&a);
    assert_int_equal(
        ob_req_service_add_instance(&r->services[0], V3C ".onion", NULL, 1, NULL, 5, NULL, 0),
        OB_OK);
    assert_int_equal(ob_request_serialize(r, &a, &d), OB_ERR_MALFORMED);
    assert_non_null(strstr(d.msg, "request: service 0: instance 2: address: character 56"));
    ob_buf_free(&a);
    ob_request_free(r);
    ob_request_free(q);
}

static void test_digest_strings(void **state)
{
    uint8_t dg[32];
    char s[OB_BUNDLE_SHORT_LEN], h[OB_BUNDLE_HEX_LEN];
    int i;

    (void)state;
    for (i = 0; i < 32; i++)
        dg[i] = (uint8_t)(0xa0 + i);
    ob_bundle_digest_short(dg, s);
    assert_string_equal(s, "a0a1a2a3 a4a5a6a7");
    ob_bundle_digest_hex(dg, h);
    assert_int_equal(strlen(h), 64);
    assert_memory_equal(h, "a0a1a2a3a4a5a6a7", 16);
    assert_string_equal(ob_bundle_field_name(0x8506), "instance.descriptor");
    assert_null(ob_bundle_field_name(0x0506));
}

/* The committed example files are exactly what the library writes today. */
static void test_committed_fixtures(void **state)
{
    const char *root = getenv("OB_ROOT");
    char path[512];
    ob_request *r = min_request(), *full = sample_request();
    ob_response *s = NULL;
    uint8_t *p = NULL;
    size_t n = 0;
    ob_diag d = { "" };
    ob_buf a;

    (void)state;
    if (root == NULL)
        root = ".";
    snprintf(path, sizeof(path), "%s/tests/data/bundle/example-request.obb", root);
    assert_int_equal(ob_bundle_read_file(path, &p, &n, &d), OB_OK);
    ser_req(r, &a);
    assert_int_equal(n, a.len);
    assert_memory_equal(p, a.p, n);
    free(p);
    ob_buf_free(&a);
    ser_req(full, &a);
    s = sample_response(full->digest);
    ob_buf_free(&a);
    ser_resp(s, &a);
    snprintf(path, sizeof(path), "%s/tests/data/bundle/example-response.obb", root);
    assert_int_equal(ob_bundle_read_file(path, &p, &n, &d), OB_OK);
    assert_int_equal(n, a.len);
    assert_memory_equal(p, a.p, n);
    free(p);
    ob_buf_free(&a);
    ob_request_free(r);
    ob_request_free(full);
    ob_response_free(s);
}

/* ---- fixture writer for the CLI test ---- */

static void put_file(const char *dir, const char *name, const uint8_t *p, size_t n)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "wb");
    if (f == NULL || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(2);
    }
}

static int write_fixtures(const char *dir)
{
    static uint8_t buf[1u << 16];
    ob_request *r = sample_request(), *m = min_request();
    ob_response *s = NULL;
    ob_buf a, b, c;
    FILE *ex;
    char path[512];
    tb t;
    size_t n;

    ser_req(r, &a);
    s = sample_response(r->digest);
    ser_resp(s, &b);
    ser_req(m, &c);
    put_file(dir, "request.obb", a.p, a.len);
    put_file(dir, "response.obb", b.p, b.len);
    put_file(dir, "example-request.obb", c.p, c.len);
    snprintf(path, sizeof(path), "%s/expect.txt", dir);
    ex = fopen(path, "w");
    if (ex == NULL)
        return 2;
    fprintf(ex, "request.obb|0|signing request\nresponse.obb|0|signed response\n");
    put_file(dir, "truncated.obb", a.p, a.len - 100);
    fprintf(ex, "truncated.obb|1|truncated: the header announces %zu bytes, only %zu\n", a.len,
            a.len - 100);
    memcpy(buf, a.p, a.len);
    buf[a.len / 2] ^= 0x10;
    put_file(dir, "bitflip.obb", buf, a.len);
    fprintf(ex, "bitflip.obb|1|digest mismatch\n");
    memcpy(buf, a.p, a.len);
    memcpy(buf + a.len, "\n", 1);
    put_file(dir, "trailing.obb", buf, a.len + 1);
    fprintf(ex, "trailing.obb|1|1 trailing bytes after the digest\n");
    memcpy(buf, a.p, a.len);
    buf[8] = 7;
    put_file(dir, "version.obb", buf, a.len);
    fprintf(ex, "version.obb|1|offset 8: bundle format version 7 is not supported\n");
    put_file(dir, "magic.obb", (const uint8_t *)"PK\x03\x04 not a bundle at all", 24);
    fprintf(ex, "magic.obb|1|offset 0: not a bundle\n");
    put_file(dir, "empty.obb", (const uint8_t *)"", 0);
    fprintf(ex, "empty.obb|1|offset 0: not a bundle\n");
    memcpy(buf, a.p, a.len);
    buf[9] = 4;
    reseal(buf, a.len);
    put_file(dir, "kind4.obb", buf, a.len);
    /* A request's body in a kind-4 envelope: inspect reads it as a key response. */
    fprintf(ex, "kind4.obb|1|field 0x8101 in keyresponse record: unknown critical field\n");
    /* The size limit is checked before the value is looked for. */
    memset(&t, 0, sizeof(t));
    tb_uint(&t, 0x8101, 1, 8);
    tb_be(&t, 0x0102, 2);
    tb_be(&t, 9999999, 4);
    n = seal(buf, 1, 1, t.p, t.n);
    put_file(dir, "oversized.obb", buf, n);
    fprintf(ex, "oversized.obb|1|offset 30: field 0x0102 (request.origin): length 9999999 "
                "exceeds limit 512\n");
    memset(&t, 0, sizeof(t));
    tb_uint(&t, 0x8101, 1, 8);
    tb_uint(&t, 0x8101, 1, 8);
    n = seal(buf, 1, 1, t.p, t.n);
    put_file(dir, "duplicate.obb", buf, n);
    fprintf(ex, "duplicate.obb|1|field 0x8101 (request.created): duplicate field\n");
    tb_min_request(&t, 0);
    tb_text(&t, 0x81f0, "x");
    n = seal(buf, 1, 1, t.p, t.n);
    put_file(dir, "critical.obb", buf, n);
    fprintf(ex, "critical.obb|1|unknown critical field\n");
    tb_min_request(&t, 1);
    n = seal(buf, 1, 1, t.p, t.n);
    put_file(dir, "noncritical.obb", buf, n);
    fprintf(ex, "noncritical.obb|0|unknown field 0x0150\n");
    /* Untrusted text with a terminal escape: refused by the parser, never echoed raw. */
    memset(&t, 0, sizeof(t));
    tb_uint(&t, 0x8101, 1, 8);
    tb_text(&t, 0x0102, "\x1b]0;pwned\x07");
    n = seal(buf, 1, 1, t.p, t.n);
    put_file(dir, "escape.obb", buf, n);
    fprintf(ex, "escape.obb|1|byte 0x1b is not printable ASCII\n");
    fclose(ex);
    ob_buf_free(&a);
    ob_buf_free(&b);
    ob_buf_free(&c);
    ob_request_free(r);
    ob_request_free(m);
    ob_response_free(s);
    return 0;
}

int main(void)
{
    const char *fx = getenv("OB_BUNDLE_FIXTURE_DIR");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_roundtrip),
        cmocka_unit_test(test_response_roundtrip),
        cmocka_unit_test(test_layout_matches_doc),
        cmocka_unit_test(test_random_roundtrip),
        cmocka_unit_test(test_truncation_every_length),
        cmocka_unit_test(test_bitflip_every_bit),
        cmocka_unit_test(test_envelope_errors),
        cmocka_unit_test(test_structure_errors),
        cmocka_unit_test(test_response_errors),
        cmocka_unit_test(test_time_bounds),
        cmocka_unit_test(test_shared_descriptors),
        cmocka_unit_test(test_unknown_noncritical_kept),
        cmocka_unit_test(test_instance_limit),
        cmocka_unit_test(test_alloc_failures),
        cmocka_unit_test(test_atomic_write),
        cmocka_unit_test(test_builder_text_fits),
        cmocka_unit_test(test_digest_strings),
        cmocka_unit_test(test_committed_fixtures),
    };

    if (fx != NULL)
        return write_fixtures(fx);
    return cmocka_run_group_tests(tests, NULL, NULL);
}

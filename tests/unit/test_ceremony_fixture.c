/*
 * test_ceremony_fixture.c - backend descriptors and doctored requests for
 * the ceremony tests (tests/cli/test_ceremony.sh,
 * tests/interop/test_ceremony_stem.sh), and unit tests of the ceremony log.
 *
 * Modes, chosen by the environment:
 *   OB_CEREMONY_GEN=DIR [OB_CEREMONY_VERSION=3|2] [OB_CEREMONY_N=10]
 *   [OB_CEREMONY_INTROS=3]
 *       N throwaway backends: DIR/<address>.desc, each signed by our own
 *       signer with a fresh identity key (v3: for the current live time
 *       period, with fake intro points; v2: published now), and
 *       DIR/instances.txt with one address per line.  With
 *       OB_CEREMONY_CLIENT_AUTH set the first backend uses client
 *       authorization and its client key goes to DIR/<address>.auth.
 *       v3 only: OB_CEREMONY_SEED=S derives the backends' keys from S
 *       (the same backends in every run), OB_CEREMONY_REV_OFFSET=N counts
 *       their revision N seconds ahead (a newer descriptor).
 *   OB_CEREMONY_MUTATE=WHAT OB_CEREMONY_IN=REQ OB_CEREMONY_OUT=REQ2
 *       Rewrite a request as a taken online machine could (the digest is
 *       recomputed, so only the offline checks can catch it).  WHAT:
 *       tamper (one digit of the first ok descriptor's revision-counter or
 *       publication-time), period (last period of the first service + 10),
 *       overperiod (first period of the first service 5 periods back),
 *       allover (every period of the first service 5 periods back),
 *       clock (created 2 h ahead), old (created 7 h ago), stale (first ok
 *       instance fetched 7 h ago), allmissing (no descriptor at all).
 *   neither: cmocka tests of offline/ceremony_log.c and of the generator.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bundle.h"
#include "ceremony_log.h"
#include "crypto.h"
#include "encode.h"
#include "ed25519x.h"
#include "fileio.h"
#include "hsv2.h"
#include "hsv2_sign.h"
#include "hsv3_blind.h"
#include "hsv3_build.h"
#include "hsv3_cert.h"
#include "hsv3_common.h"
#include "hsv3_desc.h"
#include "hsv3_sign.h"
#include "onion.h"
#include "secmem.h"
#include "fake_intro.h"

static int write_backend(const char *dir, const char *addr, const void *p, size_t n, FILE *list)
{
    char path[1024];
    ob_diag d;

    snprintf(path, sizeof(path), "%s/%s.desc", dir, addr);
    if (ob_file_write_atomic(path, p, n, 0644, 0, &d) != OB_OK) {
        fprintf(stderr, "%s\n", d.msg);
        return -1;
    }
    fprintf(list, "%s\n", addr);
    return 0;
}

/*
 * A backend with client authorization: built directly (our signer makes no
 * client-auth descriptors, a backend's tor does), the client's x25519
 * private key written as 44 base64 characters to DIR/<address>.auth.
 */
static int sign_with_client_auth(const char *dir, const uint8_t *exp, const uint8_t pk[32],
                                 uint64_t tp, uint64_t now, const ob_hsv3_intro *const *ptr,
                                 size_t n, uint8_t **text, size_t *len)
{
    uint8_t *bexp = ob_secalloc(64), *sexp = ob_secalloc(64), Ab[32], spk[32], cert[OB_CERT_LEN];
    uint8_t cpk[1][32], csk[32];
    char b64[64], path[1024], addr[OB_ONION_V3_LEN + 1];
    size_t cl = 0;
    ob_hsv3_build_in b;
    ob_diag d;
    int rc = -1;

    if (bexp == NULL || sexp == NULL)
        goto out;
    crypto_box_keypair(cpk[0], csk);
    if (ofl_hsv3_blind_secret(bexp, exp, pk, tp, OB_TP_LIVE.length_min) != 0 ||
        ob_ed25519_pub_from_expanded(Ab, bexp) != 0 || ob_ed25519_keygen(sexp, spk) != 0 ||
        ob_ed_cert_create(cert, &cl, OB_CERT_DESC_SIGNING, spk,
                          ob_ed_cert_expiry_hours(now, 54 * 3600), bexp, Ab, &d) != OB_OK)
        goto out;
    memset(&b, 0, sizeof(b));
    b.identity_pk = pk;
    b.tp = tp;
    b.tpp = &OB_TP_LIVE;
    b.signing_cert = cert;
    b.signing_cert_len = cl;
    b.sign_exp = sexp;
    b.sign_pk = spk;
    b.revision = now;
    b.intros = ptr;
    b.n_intros = n;
    b.client_pks = (const uint8_t(*)[32])cpk;
    b.n_clients = 1;
    if (ob_hsv3_build(&b, text, len, &d) != OB_OK) {
        fprintf(stderr, "client-auth backend: %s\n", d.msg);
        goto out;
    }
    ob_onion_v3_encode(addr, pk);
    ob_base64_encode(b64, csk, 32, OB_B64_PAD);
    snprintf(path, sizeof(path), "%s/%s.auth", dir, addr);
    if (ob_file_write_atomic(path, b64, strlen(b64), 0600, 0, &d) != OB_OK)
        goto out;
    rc = 0;
out:
    ob_wipe(csk, sizeof(csk));
    ob_wipe(b64, sizeof(b64));
    ob_secfree(bexp);
    ob_secfree(sexp);
    return rc;
}

/*
 * Backend b's identity key: random, or with OB_CEREMONY_SEED=S the key
 * whose seed is SHA-256(S | b), so two runs give the same backends (with
 * new descriptors: the replay-by-content tests).
 */
static int backend_key(unsigned b, uint8_t exp[64], uint8_t pk[32])
{
    const char *s = getenv("OB_CEREMONY_SEED");
    uint8_t seed[32];
    char in[256];
    int rc;

    if (s == NULL)
        return ob_ed25519_keygen(exp, pk);
    snprintf(in, sizeof(in), "%s|%u", s, b);
    rc = ob_sha256_buf(seed, in, strlen(in)) != 0 || ob_ed25519_expand_seed(exp, seed) != 0 ||
                 ob_ed25519_pub_from_expanded(pk, exp) != 0
             ? -1
             : 0;
    ob_wipe(seed, sizeof(seed));
    return rc;
}

/* OB_CEREMONY_REV_OFFSET=N: count the revision N seconds ahead (a newer descriptor). */
static unsigned rev_offset(void)
{
    const char *s = getenv("OB_CEREMONY_REV_OFFSET");

    return s != NULL ? (unsigned)strtoul(s, NULL, 10) : 0;
}

static int gen_v3(const char *dir, unsigned n, unsigned intros, FILE *list)
{
    uint64_t now = (uint64_t)time(NULL), tp = ob_hsv3_tp_num(now, &OB_TP_LIVE);
    unsigned b, i;
    int rc = -1;

    for (b = 0; b < n; b++) {
        ob_hsv3_intro ips[OB_HSV3_MAX_INTROS];
        const ob_hsv3_intro *ptr[OB_HSV3_MAX_INTROS];
        uint8_t *exp = ob_secalloc(64), pk[32], *text = NULL;
        char addr[OB_ONION_V3_LEN + 1];
        ofl_hsv3_sign_in in;
        size_t len = 0;
        ob_diag d;
        int ok;
        if (exp == NULL || backend_key(b, exp, pk) != 0 || intros > OB_HSV3_MAX_INTROS)
            return -1;
        for (i = 0; i < intros; i++) {
            if (ob_test_fake_intro(&ips[i], b * 100 + i) != 0)
                return -1;
            ptr[i] = &ips[i];
        }
        memset(&in, 0, sizeof(in));
        in.master_exp = exp;
        in.master_pk = pk;
        in.tp = tp;
        in.tpp = &OB_TP_LIVE;
        in.now = now;
        in.intros = ptr;
        in.n_intros = intros;
        in.rev_offset = rev_offset();
        if (b == 0 && getenv("OB_CEREMONY_CLIENT_AUTH") != NULL)
            ok = sign_with_client_auth(dir, exp, pk, tp, now, ptr, intros, &text, &len) == 0;
        else
            ok = ofl_hsv3_sign_descriptor(&in, &text, &len, NULL, &d) == OB_OK;
        if (!ok)
            fprintf(stderr, "backend %u: %s\n", b, d.msg);
        ob_onion_v3_encode(addr, pk);
        ok = ok && write_backend(dir, addr, text, len, list) == 0;
        for (i = 0; i < intros; i++)
            ob_hsv3_intro_clear(&ips[i]);
        free(text);
        ob_secfree(exp);
        if (!ok)
            goto out;
    }
    rc = 0;
out:
    return rc;
}

static int der_of(EVP_PKEY *k, uint8_t *der, size_t *n)
{
    ob_diag d;

    return ofl_hsv2_pubkey_der(k, der, OB_HSV2_KEY_DER_MAX, n, &d) == OB_OK ? 0 : -1;
}

static int gen_v2(const char *dir, unsigned n, unsigned intros, FILE *list)
{
    int64_t now = time(NULL);
    EVP_PKEY *ik = EVP_RSA_gen(1024);
    uint8_t ikder[OB_HSV2_KEY_DER_MAX];
    size_t iklen = 0;
    unsigned b, i;
    int rc = -1;

    if (ik == NULL || der_of(ik, ikder, &iklen) != 0 || intros > OB_HSV2_MAX_INTROS)
        goto out;
    for (b = 0; b < n; b++) {
        ob_hsv2_intro ips[OB_HSV2_MAX_INTROS];
        EVP_PKEY *k = EVP_RSA_gen(1024);
        uint8_t der[OB_HSV2_KEY_DER_MAX], pid[10];
        size_t dlen = 0;
        char addr[OB_ONION_V2_LEN + 1];
        ob_buf plain, text, out;
        ob_hsv2_build bd;
        ob_diag d;
        int ok;
        if (k == NULL || der_of(k, der, &dlen) != 0 || ob_hsv2_permanent_id(pid, der, dlen) != 0)
            goto out;
        for (i = 0; i < intros; i++) {
            memset(&ips[i], 0, sizeof(ips[i]));
            ob_random(ips[i].id, 20);
            ips[i].ip[0] = 10;
            ips[i].ip[1] = (uint8_t)b;
            ips[i].ip[3] = (uint8_t)(i + 1);
            ips[i].port = (uint16_t)(9000 + i);
            memcpy(ips[i].onion_key, ikder, iklen);
            ips[i].onion_key_len = iklen;
            memcpy(ips[i].service_key, ikder, iklen);
            ips[i].service_key_len = iklen;
        }
        ob_buf_init(&plain);
        ob_buf_init(&text);
        ob_buf_init(&out);
        ob_hsv2_intro_encode(&plain, ips, intros);
        bd = (ob_hsv2_build){ .perm_key = der,
                              .perm_key_len = dlen,
                              .time_period = ob_hsv2_time_period(now, pid),
                              .replica = 0,
                              .published = now,
                              .intro_plain = plain.p,
                              .intro_plain_len = plain.len };
        ok = ob_hsv2_build_unsigned(&text, &bd, &d) == OB_OK &&
             ofl_hsv2_sign(k, text.p, text.len, now, bd.time_period, 0, &out, &d) == OB_OK;
        if (!ok)
            fprintf(stderr, "v2 backend %u: %s\n", b, d.msg);
        ob_onion_v2_from_der(addr, der, dlen);
        ok = ok && write_backend(dir, addr, out.p, out.len, list) == 0;
        ob_buf_free(&plain);
        ob_buf_free(&text);
        ob_buf_free(&out);
        EVP_PKEY_free(k);
        if (!ok)
            goto out;
    }
    rc = 0;
out:
    EVP_PKEY_free(ik);
    return rc;
}

static int gen_main(const char *dir)
{
    const char *v = getenv("OB_CEREMONY_VERSION"), *n = getenv("OB_CEREMONY_N"),
               *ni = getenv("OB_CEREMONY_INTROS");
    char path[1024];
    FILE *list;
    int rc;

    snprintf(path, sizeof(path), "%s/instances.txt", dir);
    list = fopen(path, "w");
    if (list == NULL)
        return 2;
    if (v != NULL && strcmp(v, "2") == 0)
        rc = gen_v2(dir, n ? (unsigned)atoi(n) : 3, ni ? (unsigned)atoi(ni) : 3, list);
    else
        rc = gen_v3(dir, n ? (unsigned)atoi(n) : 10, ni ? (unsigned)atoi(ni) : 3, list);
    if (fclose(list) != 0)
        rc = -1;
    return rc == 0 ? 0 : 1;
}

/* Change one digit after `key` in the descriptor (keeps it well-formed). */
static int flip_digit(uint8_t *p, size_t n, const char *key)
{
    size_t k = strlen(key), i;

    for (i = 0; i + k < n; i++) {
        if (memcmp(p + i, key, k) == 0) {
            uint8_t *c = p + i + k + 1; /* the second digit: keeps leading digits non-zero */
            if (i + k + 1 >= n || *c < '0' || *c > '9')
                c--;
            *c = *c == '9' ? '1' : (uint8_t)(*c + 1);
            return 0;
        }
    }
    return -1;
}

static int mutate_main(const char *what)
{
    const char *in = getenv("OB_CEREMONY_IN"), *outp = getenv("OB_CEREMONY_OUT");
    uint64_t now = (uint64_t)time(NULL);
    ob_request *r = NULL;
    ob_req_service *s;
    ob_req_instance *ok = NULL;
    ob_diag d;
    size_t i;
    int rc = 1;

    if (in == NULL || outp == NULL || ob_request_read_file(in, &r, &d) != OB_OK ||
        r->n_services == 0) {
        fprintf(stderr, "mutate: cannot read the request\n");
        goto out;
    }
    s = &r->services[0];
    for (i = 0; i < s->n_instances && ok == NULL; i++)
        if (s->instances[i].status == OB_INSTANCE_OK)
            ok = &s->instances[i];
    if (strcmp(what, "tamper") == 0) {
        if (ok == NULL ||
            (flip_digit(ok->descriptor, ok->descriptor_len, "revision-counter ") != 0 &&
             flip_digit(ok->descriptor, ok->descriptor_len, "publication-time ") != 0))
            goto out;
    } else if (strcmp(what, "period") == 0) {
        if (s->n_periods == 0)
            goto out;
        s->periods[s->n_periods - 1].tp += 10;
    } else if (strcmp(what, "overperiod") == 0 || strcmp(what, "allover") == 0) {
        /* Periods that ended before the ceremony (collect long before sign). */
        if (s->n_periods == 0)
            goto out;
        for (i = 0; i < s->n_periods; i++)
            if (i == 0 || what[0] == 'a')
                s->periods[i].tp -= 5;
    } else if (strcmp(what, "clock") == 0) {
        r->created = now + 7200;
    } else if (strcmp(what, "old") == 0) {
        r->created = now - 7 * 3600;
    } else if (strcmp(what, "stale") == 0) {
        if (ok == NULL)
            goto out;
        ok->fetched_at = now - 7 * 3600;
    } else if (strcmp(what, "allmissing") == 0) {
        for (i = 0; i < s->n_instances; i++) {
            free(s->instances[i].descriptor);
            s->instances[i].descriptor = NULL;
            s->instances[i].descriptor_len = 0;
            s->instances[i].status = OB_INSTANCE_MISSING;
        }
    } else {
        fprintf(stderr, "mutate: unknown '%s'\n", what);
        goto out;
    }
    if (ob_request_write_file(outp, r, OB_WRITE_EXCL, &d) != OB_OK) {
        fprintf(stderr, "mutate: %s\n", d.msg);
        goto out;
    }
    rc = 0;
out:
    ob_request_free(r);
    return rc;
}

/* ---- unit tests ------------------------------------------------------------ */

static char tmpdir[64];

#define SVC   "pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd"
#define INST  "sp3k262uwy4r2k3ycr5awluarykdpag6a7y33jxop4cs2lu5uz5sseqd"
#define SVC2  "facebookcorewwwi"
#define INST2 "expyuzz4wqqyqhjn"

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/ob-clog-XXXXXX");
    return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
    char cmd[128];

    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_log_roundtrip(void **state)
{
    uint8_t r1[32], r2[32], resp[32];
    char path[128], when[32];
    ob_buf b;
    ob_diag d;
    int found = -1;

    (void)state;
    memset(r1, 0x11, 32);
    memset(r2, 0x22, 32);
    memset(resp, 0x33, 32);
    snprintf(path, sizeof(path), "%s/ceremony.log", tmpdir);
    /* No log yet: nothing was answered. */
    assert_int_equal(ofl_clog_find(path, r1, &found, when, &d), OB_OK);
    assert_int_equal(found, 0);
    ob_buf_init(&b);
    ofl_clog_begin(&b, 1795348800, r1, resp);
    ob_buf_printf(&b, "service %s v3 periods 1 descriptors 1 instances 1 ok 0 missing 0 stale\n",
                  SVC);
    ofl_clog_end(&b);
    assert_int_equal(ofl_clog_append(path, &b, &d), OB_OK);
    assert_int_equal(ofl_clog_find(path, r1, &found, when, &d), OB_OK);
    assert_int_equal(found, 1);
    assert_string_equal(when, "2026-11-22T12:00:00Z");
    assert_int_equal(ofl_clog_find(path, r2, &found, when, &d), OB_OK);
    assert_int_equal(found, 0);
    /* A second entry appends; the first is still there.  (A key
     * certification's record has "certify" lines instead.) */
    ob_buf_reset(&b);
    ofl_clog_begin(&b, 1795348900, r2, resp);
    ob_buf_printf(&b, "certify %s v3 periods 20778-20809 keys 32 until 2026-12-24T00:00:00Z\n",
                  SVC);
    ofl_clog_end(&b);
    assert_int_equal(ofl_clog_append(path, &b, &d), OB_OK);
    assert_int_equal(ofl_clog_find(path, r2, &found, when, &d), OB_OK);
    assert_int_equal(found, 1);
    assert_int_equal(ofl_clog_find(path, r1, &found, NULL, &d), OB_OK);
    assert_int_equal(found, 1);
    ob_buf_free(&b);
}

/* ofl_clog_scan, freeing what the previous scan into res kept. */
static ob_err rescan(const char *path, const uint8_t digest[32], ofl_clog_backend *b, size_t nb,
                     ofl_clog_result *res, ob_diag *d)
{
    ofl_clog_result_clear(res);
    return ofl_clog_scan(path, digest, b, nb, res, d);
}

/* A record with one backend line for INST: v3 (tp, rev) or v2 (published in rev). */
static void log_record(ob_buf *b, uint8_t req_fill, int version, const char *svc, const char *inst,
                       uint64_t tp, uint64_t rev)
{
    uint8_t r[32], resp[32], h[32];

    memset(r, req_fill, 32);
    memset(resp, 0x33, 32);
    memset(h, 0x44, 32);
    ofl_clog_begin(b, 1795348800 + req_fill, r, resp);
    ob_buf_printf(b, "service %s v%d periods 1 descriptors 1 instances 1 ok 0 missing 0 stale\n",
                  svc, version);
    ofl_clog_backend_line(b, svc, inst, version, tp, rev, h);
    ofl_clog_end(b);
}

static void put_log(const char *path, const ob_buf *b, size_t n)
{
    ob_diag d;

    assert_true(n <= b->len);
    assert_int_equal(ob_file_write_atomic(path, b->p, n, 0600, 0, &d), OB_OK);
}

/*
 * Issue 14: a short write left a cut record, and every later sign refused
 * ("the ceremony log is damaged") until the log was mended by hand.  Cut a
 * two-record log at every byte of its second record: the reader accepts it
 * (the record is torn, its complete lines still count), and an append after
 * it gives a log with two complete records.
 */
static void test_log_torn(void **state)
{
    char path[128];
    uint8_t r1[32], r2[32];
    ob_buf full, rec, next;
    ofl_clog_result res = { 0 };
    ofl_clog_backend be;
    size_t first, cut, req_end;
    ob_diag d;

    (void)state;
    memset(r1, 0x01, 32);
    memset(r2, 0x02, 32);
    snprintf(path, sizeof(path), "%s/torn.log", tmpdir);
    ob_buf_init(&full);
    ob_buf_init(&next);
    log_record(&full, 0x01, 3, SVC, INST, 100, 5000);
    first = full.len;
    log_record(&full, 0x02, 3, SVC, INST, 101, 7000);
    log_record(&next, 0x05, 3, SVC, INST, 102, 9000);
    req_end = (size_t)(strstr((const char *)full.p + first, "\nrequest ") - (const char *)full.p) +
              1 + 8 + 64;
    for (cut = first; cut <= full.len; cut++) {
        put_log(path, &full, cut);
        be.instance = INST;
        assert_int_equal(rescan(path, r2, &be, 1, &res, &d), OB_OK);
        assert_int_equal(res.n_records, cut >= full.len - 1 ? 2 : 1);
        assert_int_equal(res.n_torn, cut == first || cut >= full.len - 1 ? 0 : 1);
        if (res.n_torn)
            assert_int_equal(res.torn_line, 7);
        /* The complete "request" line of the torn record still counts. */
        assert_int_equal(res.request_found, cut >= req_end);
        /* Its backend line counts only whole (the digest ends the line). */
        assert_true(be.found);
        assert_int_equal(be.tp, cut >= full.len - 5 ? 101 : 100);
        /* An append starts on a line of its own, and the torn record stays torn. */
        assert_int_equal(ofl_clog_append(path, &next, &d), OB_OK);
        assert_int_equal(rescan(path, r1, &be, 1, &res, &d), OB_OK);
        assert_int_equal(res.n_records, cut == full.len || cut == full.len - 1 ? 3 : 2);
        assert_int_equal(be.tp, 102);
    }
    /* Crash garbage (NUL bytes) after the last record: a torn tail. */
    ob_buf_init(&rec);
    ob_buf_put(&rec, full.p, first);
    ob_buf_put(&rec, "\0\0\0\0\0\0\0\0", 8);
    put_log(path, &rec, rec.len);
    assert_int_equal(rescan(path, r1, NULL, 0, &res, &d), OB_OK);
    assert_int_equal(res.n_records, 1);
    assert_int_equal(res.n_torn, 1);
    assert_int_equal(ofl_clog_append(path, &next, &d), OB_OK);
    assert_int_equal(rescan(path, r1, NULL, 0, &res, &d), OB_OK);
    assert_int_equal(res.n_records, 2);
    /* But a line that is not ours *inside* a record (more follows it) is damage. */
    ob_buf_reset(&rec);
    ob_buf_put(&rec, full.p, first);
    ob_buf_put_str(&rec, "ceremony 2026-11-22T12:00:02Z ob-offline 0.1.0\nrequest 12\nend\n");
    put_log(path, &rec, rec.len);
    assert_int_equal(rescan(path, r1, NULL, 0, &res, &d), OB_ERR_MALFORMED);
    assert_non_null(strstr(d.msg, "torn.log:8: not a line this program writes"));
    ofl_clog_result_clear(&res);
    ob_buf_free(&full);
    ob_buf_free(&next);
    ob_buf_free(&rec);
}

/* A short write (the file size limit reached half-way): reported, and harmless later. */
static void test_log_short_write(void **state)
{
    char path[128];
    struct rlimit old, lim;
    struct stat st;
    ob_buf a, b;
    ofl_clog_result res = { 0 };
    uint8_t r[32];
    ob_diag d;

    (void)state;
    memset(r, 0x07, 32);
    snprintf(path, sizeof(path), "%s/short.log", tmpdir);
    ob_buf_init(&a);
    ob_buf_init(&b);
    log_record(&a, 0x06, 3, SVC, INST, 100, 1);
    log_record(&b, 0x07, 3, SVC, INST, 100, 2);
    assert_int_equal(ofl_clog_append(path, &a, &d), OB_OK);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = (rlim_t)st.st_size + 150; /* the next record does not fit */
    signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    assert_int_equal(ofl_clog_append(path, &b, &d), OB_ERR_IO);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    assert_non_null(strstr(d.msg, "writing the ceremony log failed"));
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal((size_t)st.st_size, a.len + 150); /* part of a record is on disk */
    assert_int_equal(rescan(path, r, NULL, 0, &res, &d), OB_OK);
    assert_int_equal(res.n_records, 1);
    assert_int_equal(res.n_torn, 1);
    assert_int_equal(res.request_found, 1); /* its request line got through */
    assert_int_equal(ofl_clog_append(path, &b, &d), OB_OK);
    assert_int_equal(rescan(path, r, NULL, 0, &res, &d), OB_OK);
    assert_int_equal(res.n_records, 2);
    assert_int_equal(res.n_torn, 1);
    ofl_clog_result_clear(&res);
    ob_buf_free(&a);
    ob_buf_free(&b);
}

/* Read as a stream: nothing like the old 256 MiB cap. */
static void test_log_no_size_cap(void **state)
{
    char path[128];
    uint8_t r[32];
    ob_buf b;
    ofl_clog_result res = { 0 };
    ob_diag d;
    FILE *f;

    (void)state;
    memset(r, 0x09, 32);
    snprintf(path, sizeof(path), "%s/big.log", tmpdir);
    ob_buf_init(&b);
    log_record(&b, 0x08, 3, SVC, INST, 100, 1);
    f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(b.p, 1, b.len, f), b.len);
    /* 300 MiB of records, written as a hole (reads as NULs: a torn tail)... */
    assert_int_equal(fseeko(f, (off_t)300 << 20, SEEK_CUR), 0);
    assert_int_equal(fclose(f), 0);
    ob_buf_reset(&b);
    log_record(&b, 0x09, 3, SVC, INST, 100, 2);
    /* ...and the record that matters after it. */
    assert_int_equal(ofl_clog_append(path, &b, &d), OB_OK);
    assert_int_equal(rescan(path, r, NULL, 0, &res, &d), OB_OK);
    assert_int_equal(res.request_found, 1);
    assert_int_equal(res.n_records, 2);
    assert_int_equal(unlink(path), 0);
    ofl_clog_result_clear(&res);
    ob_buf_free(&b);
}

/* The newest descriptor of each backend: v3 by (tp, revision), v2 by publication time. */
static void test_log_backends(void **state)
{
    char path[128];
    ob_buf b;
    ofl_clog_result res = { 0 };
    ofl_clog_backend be[3];
    uint8_t r[32];
    ob_diag d;

    (void)state;
    memset(r, 0xee, 32);
    snprintf(path, sizeof(path), "%s/backends.log", tmpdir);
    ob_buf_init(&b);
    log_record(&b, 0x10, 3, SVC, INST, 100, 900);
    log_record(&b, 0x11, 3, SVC, INST, 101, 5); /* a later period wins over a higher rev */
    log_record(&b, 0x12, 3, SVC, INST, 100, 99999);
    log_record(&b, 0x13, 2, SVC2, INST2, 0, 1795300000);
    log_record(&b, 0x14, 2, SVC2, INST2, 0, 1795200000);
    put_log(path, &b, b.len);
    be[0].instance = INST2;
    be[1].instance = "aaaaaaaaaaaaaaaa"; /* never signed */
    be[2].instance = INST;
    assert_int_equal(rescan(path, r, be, 3, &res, &d), OB_OK);
    assert_int_equal(res.n_records, 5);
    assert_int_equal(res.request_found, 0);
    assert_true(be[2].found);
    assert_int_equal(be[2].version, 3);
    assert_int_equal(be[2].tp, 101);
    assert_int_equal(be[2].order, 5);
    assert_string_equal(be[2].when, "2026-11-22T12:00:17Z");
    assert_true(be[0].found);
    assert_int_equal(be[0].version, 2);
    assert_int_equal(be[0].order, 1795300000);
    assert_false(be[1].found);
    /* Each complete record's set of (service, instance, digest) and periods. */
    assert_int_equal(res.n_sets, 5);
    {
        ofl_clog_set s;
        uint8_t h[32];
        memset(&s, 0, sizeof(s));
        memset(h, 0x44, 32);
        assert_int_equal(ofl_clog_set_add(&s, SVC2, INST2, h), 0);
        /* The periods signed belong to the set: without them, another one. */
        assert_false(ofl_clog_set_equal(&s, &res.sets[3]));
        assert_int_equal(ofl_clog_set_add_periods(&s, SVC2, "1", 1), 0);
        assert_true(ofl_clog_set_equal(&s, &res.sets[3]));
        assert_true(ofl_clog_set_equal(&res.sets[0], &res.sets[1])); /* same digest in both */
        assert_false(ofl_clog_set_equal(&s, &res.sets[0]));
        assert_int_equal(ofl_clog_set_add(&s, SVC, INST, h), 0);
        assert_false(ofl_clog_set_equal(&s, &res.sets[3])); /* a superset */
        assert_string_equal(res.sets[4].when, "2026-11-22T12:00:20Z");
    }
    ofl_clog_result_clear(&res);
    assert_true(ofl_clog_order_cmp(100, 99999, 101, 5) < 0);
    assert_true(ofl_clog_order_cmp(101, 6, 101, 5) > 0);
    assert_int_equal(ofl_clog_order_cmp(7, 7, 7, 7), 0);
    ob_buf_free(&b);
}

static void test_log_damaged(void **state)
{
    char path[128];
    uint8_t r1[32];
    ob_diag d;
    int found = 0;
    const char *bad = "ceremony 2026-11-22T12:00:00Z ob-offline 0.1.0\nrequest 1234\nend\n";

    (void)state;
    memset(r1, 0x11, 32);
    snprintf(path, sizeof(path), "%s/bad.log", tmpdir);
    assert_int_equal(ob_file_write_atomic(path, bad, strlen(bad), 0600, 0, &d), OB_OK);
    assert_int_equal(ofl_clog_find(path, r1, &found, NULL, &d), OB_ERR_MALFORMED);
    assert_non_null(strstr(d.msg, "bad.log:2:"));
    /* A symlink is not followed. */
    snprintf(path, sizeof(path), "%s/link.log", tmpdir);
    assert_int_equal(symlink("bad.log", path), 0);
    {
        ob_buf b;
        ob_buf_init(&b);
        ob_buf_put_str(&b, "end\n");
        assert_int_not_equal(ofl_clog_append(path, &b, &d), OB_OK);
        ob_buf_free(&b);
    }
}

static void test_generator(void **state)
{
    char dir[128], path[512], line[128];
    FILE *f;
    unsigned n = 0;

    (void)state;
    snprintf(dir, sizeof(dir), "%s/gen", tmpdir);
    assert_int_equal(mkdir(dir, 0700), 0);
    assert_int_equal(setenv("OB_CEREMONY_N", "2", 1), 0);
    assert_int_equal(gen_main(dir), 0);
    snprintf(path, sizeof(path), "%s/instances.txt", dir);
    f = fopen(path, "r");
    assert_non_null(f);
    while (fgets(line, sizeof(line), f) != NULL) {
        uint8_t A[32], *text = NULL;
        size_t len = 0;
        uint64_t now = (uint64_t)time(NULL);
        ob_hsv3_desc *desc = NULL;
        ob_hsv3_verify_opts o;
        ob_diag d;
        line[strcspn(line, "\n")] = '\0';
        snprintf(path, sizeof(path), "%s/%s.desc", dir, line);
        assert_int_equal(ob_file_read(path, 1 << 16, &text, &len, &d), OB_OK);
        assert_int_equal(ob_onion_v3_decode(A, line, strlen(line), &d), OB_OK);
        memset(&o, 0, sizeof(o));
        o.now = now;
        assert_int_equal(ob_hsv3_desc_verify(text, len, A, ob_hsv3_tp_num(now, &OB_TP_LIVE),
                                             &OB_TP_LIVE, &o, &desc, &d),
                         OB_OK);
        assert_int_equal(desc->n_intros, 3);
        /* The tamper used by the CLI test must break verification. */
        assert_int_equal(flip_digit(text, len, "revision-counter "), 0);
        ob_hsv3_desc_free(desc);
        desc = NULL;
        assert_int_not_equal(ob_hsv3_desc_verify(text, len, A, ob_hsv3_tp_num(now, &OB_TP_LIVE),
                                                 &OB_TP_LIVE, &o, &desc, &d),
                             OB_OK);
        ob_hsv3_desc_free(desc);
        free(text);
        n++;
    }
    fclose(f);
    assert_int_equal(n, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log_roundtrip),   cmocka_unit_test(test_log_damaged),
        cmocka_unit_test(test_log_torn),        cmocka_unit_test(test_log_short_write),
        cmocka_unit_test(test_log_no_size_cap), cmocka_unit_test(test_log_backends),
        cmocka_unit_test(test_generator),
    };
    const char *gen = getenv("OB_CEREMONY_GEN"), *mut = getenv("OB_CEREMONY_MUTATE");

    if (ob_secmem_init() != 0)
        return 2;
    if (gen != NULL)
        return gen_main(gen);
    if (mut != NULL)
        return mutate_main(mut);
    return cmocka_run_group_tests(tests, setup, teardown);
}

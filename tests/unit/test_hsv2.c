/*
 * test_hsv2.c - v2 descriptors: the four tor/stem samples against
 * testdata/v2/expected_values.txt, round trip, signing with throwaway keys,
 * DigestInfo and tamper rejection, cookies, pre-signing plan, HSDir choice,
 * intro-point spreading, the whole master-signing call, and the recorded
 * v2 control-port fixtures in tests/data/v2-control/.
 *
 * With OB_HSV2_EMIT_DIR set, the program instead writes backend and master
 * descriptors made with throwaway keys into that directory for
 * tests/interop/test_v2_stem.sh (stem as the independent verifier).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "crypto.h"
#include "encode.h"
#include "hsv2.h"
#include "hsv2_sign.h"
#include "onion.h"
#include "secmem.h"
#include "vecfile.h"

/* ---- helpers ------------------------------------------------------------ */

static char *read_all(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    char *p = NULL;
    long len;

    if (f == NULL)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        p = malloc((size_t)len + 1);
        if (p != NULL && fread(p, 1, (size_t)len, f) != (size_t)len) {
            free(p);
            p = NULL;
        }
        if (p != NULL) {
            p[len] = '\0';
            *n = (size_t)len;
        }
    }
    fclose(f);
    return p;
}

static char *read_testdata(const char *rel, size_t *n)
{
    char path[1024];
    char *p;

    vec_path(path, sizeof(path), rel);
    p = read_all(path, n);
    if (p == NULL)
        fprintf(stderr, "cannot read %s\n", path);
    return p;
}

/* The sample minus its "@type ..." annotation line. */
static const char *strip_annotation(const char *p, size_t *n)
{
    const char *nl;

    if (*n > 0 && p[0] == '@' && (nl = memchr(p, '\n', *n)) != NULL) {
        *n -= (size_t)(nl + 1 - p);
        return nl + 1;
    }
    return p;
}

static void b32_of(char out[33], const uint8_t in[20])
{
    ob_base32_encode(out, in, 20);
}

static EVP_PKEY *gen_rsa(unsigned bits)
{
    EVP_PKEY *k = EVP_RSA_gen(bits);
    assert_non_null(k);
    return k;
}

static void der_of(EVP_PKEY *k, uint8_t *der, size_t *n)
{
    ob_diag d;
    assert_int_equal(ofl_hsv2_pubkey_der(k, der, OB_HSV2_KEY_DER_MAX, n, &d), OB_OK);
}

/* ---- the four samples --------------------------------------------------- */

static const char *const samples[] = { "hidden_service_duckduckgo", "hidden_service_facebook",
                                       "hidden_service_basic_auth", "hidden_service_stealth_auth" };

static void check_sample(const vec_file *vf, const char *name)
{
    char rel[256], got[33], hex[41];
    char *raw = NULL, *plain_exp = NULL;
    const char *text, *v, *ck;
    size_t n, plain_n = 0, i, nips = 0;
    ob_hsv2_desc *desc = NULL;
    ob_hsv2_intro *ips = NULL;
    uint8_t sha[20], want[20], cookie[16], wrong[16], sid[20], did[20];
    ob_hsv2_auth auth;
    uint64_t u = 0;
    ob_buf plain;
    ob_diag d;
    int stealth = strstr(name, "stealth") != NULL, basic = strstr(name, "basic") != NULL;

    snprintf(rel, sizeof(rel), "v2/%s", name);
    raw = read_testdata(rel, &n);
    assert_non_null(raw);
    text = strip_annotation(raw, &n);
    assert_int_equal(ob_hsv2_desc_parse(text, n, &desc, &d), OB_OK);

    /* Identifiers. */
    v = vec_get(vf, name, "onion_address", 0);
    assert_non_null(v);
    assert_int_equal(strncmp(v, desc->onion, 16), 0);
    assert_string_equal(v + 16, ".onion");
    ob_hex_encode(hex, desc->permanent_id, 10);
    assert_string_equal(hex, vec_get(vf, name, "permanent_id", 0));
    b32_of(got, desc->desc_id);
    assert_string_equal(got, vec_get(vf, name, "descriptor_id", 0));
    b32_of(got, desc->secret_id_part);
    assert_string_equal(got, vec_get(vf, name, "secret_id_part", 0));
    assert_int_equal(vec_u64(vf, name, "publication_unix", 0, &u), 0);
    assert_int_equal(desc->published, (int64_t)u);
    assert_int_equal(desc->protocol_versions, (1u << 2) | (1u << 3));

    /* Signed range and its digest. */
    assert_int_equal(vec_u64(vf, name, "signed_len", 0, &u), 0);
    assert_int_equal(desc->signed_len, (size_t)u);
    assert_int_equal(ob_sha1_buf(sha, text, desc->signed_len), 0);
    assert_int_equal(vec_hex(vf, name, "signed_sha1", want, 20), 0);
    assert_memory_equal(sha, want, 20);

    /* Cookie (only the auth'd samples list one). */
    ck = vec_get(vf, name, "descriptor_cookie_b64", 0);
    if (ck != NULL) {
        assert_int_equal(ob_hsv2_cookie_parse(ck, strlen(ck), cookie, &auth, &d), OB_OK);
        assert_int_equal(
            ob_hsv2_cookie_parse(vec_get(vf, "hidden_service_basic_auth", "wrong_cookie_b64", 0),
                                 24, wrong, &auth, &d),
            OB_OK);
    }

    /* Signature, time period, replica. */
    assert_int_equal(ob_hsv2_desc_verify(desc, OB_HSV2_NOW_UNCHECKED, stealth ? cookie : NULL, &d),
                     OB_OK);
    assert_int_equal(vec_u64(vf, name, "time_period", 0, &u), 0);
    assert_int_equal(desc->time_period, (uint32_t)u);
    assert_int_equal(ob_hsv2_time_period(desc->published, desc->permanent_id), (uint32_t)u);
    assert_int_equal(vec_u64(vf, name, "replica", 0, &u), 0);
    assert_int_equal(desc->replica, (unsigned)u);
    if (stealth) {
        /* Without the cookie the stealth secret-id-part cannot be checked. */
        assert_int_equal(ob_hsv2_desc_verify(desc, OB_HSV2_NOW_UNCHECKED, NULL, &d),
                         OB_ERR_REFUSED);
        assert_int_equal(ob_hsv2_desc_verify(desc, OB_HSV2_NOW_UNCHECKED, wrong, &d),
                         OB_ERR_VERIFY);
        assert_int_equal(ob_hsv2_desc_verify(desc, OB_HSV2_NOW_UNCHECKED, cookie, &d), OB_OK);
    }
    /* The other replica's descriptor-id. */
    assert_int_equal(
        ob_hsv2_secret_id_part(sid, desc->time_period, stealth ? cookie : NULL, 1 - desc->replica),
        0);
    assert_int_equal(ob_hsv2_desc_id(did, desc->permanent_id, sid), 0);
    b32_of(got, did);
    assert_string_equal(got, vec_get(vf, name, "other_replica_descriptor_id", 0));

    /* Introduction points, byte for byte. */
    snprintf(rel, sizeof(rel), "v2/%s.expected_intro_points_plaintext", name);
    plain_exp = read_testdata(rel, &plain_n);
    assert_non_null(plain_exp);
    ob_buf_init_secure(&plain);
    assert_int_equal(ob_hsv2_intro_plaintext(desc, ck ? cookie : NULL, &plain, &d), OB_OK);
    assert_int_equal(plain.len, plain_n);
    assert_memory_equal(plain.p, plain_exp, plain_n);
    ob_buf_free(&plain);
    assert_int_equal(desc->auth, stealth ? OB_HSV2_AUTH_STEALTH
                                 : basic ? OB_HSV2_AUTH_BASIC
                                         : OB_HSV2_AUTH_NONE);
    if (ck != NULL) {
        /* The wrong cookie fails cleanly; no cookie is refused. */
        ob_buf_init_secure(&plain);
        assert_int_equal(ob_hsv2_intro_plaintext(desc, wrong, &plain, &d), OB_ERR_VERIFY);
        assert_int_equal(plain.len, 0);
        assert_int_equal(ob_hsv2_intro_plaintext(desc, NULL, &plain, &d), OB_ERR_REFUSED);
        ob_buf_free(&plain);
    }
    assert_int_equal(ob_hsv2_intro_decode(desc, ck ? cookie : NULL, &ips, &nips, &d), OB_OK);
    assert_int_equal(nips, 3);
    for (i = 0; i < nips; i++) {
        char line[128];
        b32_of(got, ips[i].id);
        snprintf(line, sizeof(line), "%s %u.%u.%u.%u %u", got, ips[i].ip[0], ips[i].ip[1],
                 ips[i].ip[2], ips[i].ip[3], ips[i].port);
        assert_string_equal(line, vec_get(vf, name, "intro_point", i));
    }

    /* Round trip (no-auth samples): the builder regenerates the signed bytes. */
    if (!stealth && !basic) {
        ob_buf out;
        ob_hsv2_build b = { .perm_key = desc->perm_key,
                            .perm_key_len = desc->perm_key_len,
                            .time_period = desc->time_period,
                            .replica = desc->replica,
                            .published = desc->published,
                            .intro_plain = (const uint8_t *)plain_exp,
                            .intro_plain_len = plain_n };
        ob_buf_init(&out);
        assert_int_equal(ob_hsv2_build_unsigned(&out, &b, &d), OB_OK);
        assert_int_equal(out.len, desc->signed_len);
        assert_memory_equal(out.p, text, desc->signed_len);
        ob_buf_free(&out);
    }

    free(ips);
    ob_hsv2_desc_free(desc);
    free(plain_exp);
    free(raw);
}

static void test_samples(void **state)
{
    vec_file *vf = vec_load("v2/expected_values.txt");
    size_t i;

    (void)state;
    assert_non_null(vf);
    for (i = 0; i < sizeof(samples) / sizeof(samples[0]); i++)
        check_sample(vf, samples[i]);
    vec_free(vf);
}

static ob_hsv2_desc *load_sample(const char *name, char **rawp, const char **text, size_t *n)
{
    char rel[256];
    ob_hsv2_desc *desc = NULL;
    ob_diag d;

    snprintf(rel, sizeof(rel), "v2/%s", name);
    *rawp = read_testdata(rel, n);
    assert_non_null(*rawp);
    *text = strip_annotation(*rawp, n);
    assert_int_equal(ob_hsv2_desc_parse(*text, *n, &desc, &d), OB_OK);
    return desc;
}

/* Publication-time window: [now - 3 days, now + 1 day] (rendcache.c). */
static void test_time_window(void **state)
{
    char *raw;
    const char *text;
    size_t n;
    ob_hsv2_desc *desc = load_sample("hidden_service_duckduckgo", &raw, &text, &n);
    int64_t p = desc->published;
    ob_diag d;

    (void)state;
    assert_int_equal(ob_hsv2_desc_verify(desc, p + 3 * 86400, NULL, &d), OB_OK);
    assert_int_equal(ob_hsv2_desc_verify(desc, p + 3 * 86400 + 1, NULL, &d), OB_ERR_EXPIRED);
    assert_non_null(strstr(d.msg, "3 days"));
    assert_int_equal(desc->verified, 0);
    assert_int_equal(ob_hsv2_desc_verify(desc, p - 86400, NULL, &d), OB_OK);
    assert_int_equal(ob_hsv2_desc_verify(desc, p - 86400 - 1, NULL, &d), OB_ERR_EXPIRED);
    assert_int_equal(ob_hsv2_desc_verify(desc, time(NULL), NULL, &d), OB_ERR_EXPIRED);
    ob_hsv2_desc_free(desc);
    free(raw);
}

/* Replace text[off..off+len) by rep and parse+verify; return the error. */
static ob_err edit_and_check(const char *text, size_t n, const char *find, const char *rep,
                             ob_diag *d)
{
    const char *at = strstr(text, find);
    size_t fl = strlen(find), rl = strlen(rep), m;
    char *t;
    ob_hsv2_desc *desc = NULL;
    ob_err err;

    assert_non_null(at);
    t = malloc(n - fl + rl + 1);
    assert_non_null(t);
    memcpy(t, text, (size_t)(at - text));
    memcpy(t + (at - text), rep, rl);
    memcpy(t + (at - text) + rl, at + fl, n - (size_t)(at - text) - fl);
    m = n - fl + rl;
    err = ob_hsv2_desc_parse(t, m, &desc, d);
    if (err == OB_OK)
        err = ob_hsv2_desc_verify(desc, OB_HSV2_NOW_UNCHECKED, NULL, d);
    ob_hsv2_desc_free(desc);
    free(t);
    return err;
}

static void test_tamper_and_strictness(void **state)
{
    char *raw;
    const char *text;
    size_t n;
    ob_hsv2_desc *desc = load_sample("hidden_service_duckduckgo", &raw, &text, &n);
    ob_diag d;

    (void)state;
    ob_hsv2_desc_free(desc);
    /* Signed content changed: signature no longer matches. */
    assert_int_equal(edit_and_check(text, n, "2015-02-23 20:00:00", "2015-02-23 21:00:00", &d),
                     OB_ERR_VERIFY);
    assert_non_null(strstr(d.msg, "signature"));
    assert_int_equal(
        edit_and_check(text, n, "aW50cm9kdWN0aW9uLXBvaW50IGl3", "aW50cm9kdWN0aW9uLXBvaW50IGl4", &d),
        OB_ERR_VERIFY);
    /* descriptor-id not matching permanent-id | secret-id-part. */
    assert_int_equal(edit_and_check(text, n, "y3olqqblqw2gbh6phimfuiroechjjafa",
                                    "y3olqqblqw2gbh6phimfuiroechjjafb", &d),
                     OB_ERR_VERIFY);
    /* Field order, version, case, CR, trailing bytes. */
    assert_int_equal(edit_and_check(text, n, "version 2\n", "version 3\n", &d), OB_ERR_MALFORMED);
    assert_non_null(strstr(d.msg, "offset 63"));
    assert_int_equal(
        edit_and_check(text, n, "protocol-versions 2,3\n", "protocol-versions 2,2\n", &d),
        OB_ERR_MALFORMED);
    assert_int_equal(edit_and_check(text, n, "secret-id-part e24k", "secret-id-part E24k", &d),
                     OB_ERR_MALFORMED);
    assert_int_equal(edit_and_check(text, n, "version 2\n", "version 2\r\n", &d), OB_ERR_MALFORMED);
    assert_int_equal(
        edit_and_check(text, n, "-----END SIGNATURE-----\n", "-----END SIGNATURE-----\n\n", &d),
        OB_ERR_MALFORMED);
    assert_int_equal(
        edit_and_check(text, n, "publication-time 2015-02-23", "publication-time 2015-02-30", &d),
        OB_ERR_MALFORMED);
    assert_int_equal(edit_and_check(text, n,
                                    "secret-id-part e24kgecavwsznj7gpbktqsiwgvngsf4e\n"
                                    "publication-time 2015-02-23 20:00:00\n",
                                    "publication-time 2015-02-23 20:00:00\n"
                                    "secret-id-part e24kgecavwsznj7gpbktqsiwgvngsf4e\n",
                                    &d),
                     OB_ERR_MALFORMED);
    /* Truncated in the middle of the signature object. */
    assert_int_not_equal(ob_hsv2_desc_parse(text, n - 30, &desc, &d), OB_OK);
    assert_null(desc);
    assert_int_equal(ob_hsv2_desc_parse(text, n - 2000, &desc, &d), OB_ERR_TRUNCATED);
    free(raw);
}

static void test_cookie_forms(void **state)
{
    uint8_t c[16], c2[16];
    ob_hsv2_auth a;
    ob_diag d;

    (void)state;
    assert_int_equal(ob_hsv2_cookie_parse("dCmx3qIvArbil8A0KM4KgQ==", 24, c, &a, &d), OB_OK);
    assert_int_equal(a, OB_HSV2_AUTH_UNKNOWN);
    /* tor's HidServAuth form: 22 chars, auth type in the 17th byte. */
    assert_int_equal(ob_hsv2_cookie_parse("dCmx3qIvArbil8A0KM4KgQ", 22, c2, &a, &d), OB_OK);
    assert_int_equal(a, OB_HSV2_AUTH_BASIC);
    assert_memory_equal(c, c2, 16);
    assert_int_equal(ob_hsv2_cookie_parse("dCmx3qIvArbil8A0KM4KgR", 22, c2, &a, &d), OB_OK);
    assert_int_equal(a, OB_HSV2_AUTH_STEALTH);
    assert_memory_equal(c, c2, 16);
    assert_int_equal(ob_hsv2_cookie_parse("dCmx3qIvArbil8A0KM4KgS", 22, c2, &a, &d),
                     OB_ERR_MALFORMED);
    assert_int_equal(ob_hsv2_cookie_parse("dCmx3qIvArbil8A0KM4Kg", 21, c2, &a, &d),
                     OB_ERR_MALFORMED);
    assert_int_equal(ob_hsv2_cookie_parse("dCmx3qIvArbil8A0KM4K!Q", 22, c2, &a, &d),
                     OB_ERR_MALFORMED);
}

/* ---- building and signing with throwaway keys ---------------------------- */

typedef struct keyset {
    EVP_PKEY *k[4];
} keyset;

static keyset *keys;

static int setup_keys(void **state)
{
    size_t i;

    (void)state;
    keys = calloc(1, sizeof(*keys));
    if (keys == NULL)
        return -1;
    for (i = 0; i < 4; i++)
        if ((keys->k[i] = EVP_RSA_gen(1024)) == NULL)
            return -1;
    return 0;
}

static int teardown_keys(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < 4; i++)
        EVP_PKEY_free(keys->k[i]);
    free(keys);
    return 0;
}

/* n fake intro points; tag makes the identities distinct per instance. */
static void fake_intros(ob_hsv2_intro *ips, size_t n, uint8_t tag)
{
    size_t i;

    for (i = 0; i < n; i++) {
        memset(&ips[i], 0, sizeof(ips[i]));
        ob_random(ips[i].id, 20);
        ips[i].id[0] = tag;
        ips[i].id[1] = (uint8_t)i;
        ips[i].ip[0] = 10;
        ips[i].ip[1] = tag;
        ips[i].ip[2] = 0;
        ips[i].ip[3] = (uint8_t)(i + 1);
        ips[i].port = (uint16_t)(9000 + i);
        der_of(keys->k[(i + 1) % 4], ips[i].onion_key, &ips[i].onion_key_len);
        der_of(keys->k[(i + 2) % 4], ips[i].service_key, &ips[i].service_key_len);
    }
}

/*
 * A signed backend descriptor for key k, published at t, replica r, intro
 * points encrypted for cookies with auth (0: none).
 */
static char *make_backend_auth(EVP_PKEY *k, const ob_hsv2_intro *ips, size_t n, int64_t t,
                               unsigned r, ob_hsv2_auth auth, const uint8_t (*cookies)[16],
                               size_t ncookies, size_t *len)
{
    uint8_t der[OB_HSV2_KEY_DER_MAX], pid[10];
    size_t derlen;
    ob_buf plain, text, out;
    ob_hsv2_build b;
    ob_hsv2_desc *desc = NULL;
    ob_diag d;
    char *res;

    der_of(k, der, &derlen);
    assert_int_equal(ob_hsv2_permanent_id(pid, der, derlen), 0);
    ob_buf_init(&plain);
    ob_buf_init(&text);
    ob_buf_init(&out);
    ob_hsv2_intro_encode(&plain, ips, n);
    b = (ob_hsv2_build){ .perm_key = der,
                         .perm_key_len = derlen,
                         .time_period = ob_hsv2_time_period(t, pid),
                         .replica = r,
                         .published = t,
                         .intro_plain = n ? plain.p : NULL,
                         .intro_plain_len = n ? plain.len : 0,
                         .auth = auth,
                         .cookies = cookies,
                         .ncookies = ncookies };
    assert_int_equal(ob_hsv2_build_unsigned(&text, &b, &d), OB_OK);
    if (auth == OB_HSV2_AUTH_STEALTH) {
        /* ofl_hsv2_sign self-checks without a cookie; sign and check by hand. */
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(k, NULL);
        uint8_t digest[20], sig[128];
        size_t siglen = sizeof(sig);
        assert_non_null(ctx);
        assert_int_equal(ob_sha1_buf(digest, text.p, text.len), 0);
        assert_true(EVP_PKEY_sign_init(ctx) > 0);
        assert_true(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0);
        assert_true(EVP_PKEY_sign(ctx, sig, &siglen, digest, 20) > 0);
        EVP_PKEY_CTX_free(ctx);
        ob_buf_put(&out, text.p, text.len);
        ob_pem_encode(&out, "SIGNATURE", sig, siglen);
        assert_int_equal(ob_hsv2_desc_parse((const char *)out.p, out.len, &desc, &d), OB_OK);
        assert_int_equal(ob_hsv2_desc_verify(desc, t, cookies[0], &d), OB_OK);
        ob_hsv2_desc_free(desc);
    } else {
        assert_int_equal(ofl_hsv2_sign(k, text.p, text.len, t, b.time_period, r, &out, &d), OB_OK);
    }
    ob_buf_nul(&out);
    res = (char *)ob_buf_detach(&out, len);
    ob_buf_free(&plain);
    ob_buf_free(&text);
    return res;
}

static char *make_backend(EVP_PKEY *k, const ob_hsv2_intro *ips, size_t n, int64_t t, unsigned r,
                          size_t *len)
{
    return make_backend_auth(k, ips, n, t, r, OB_HSV2_AUTH_NONE, NULL, 0, len);
}

/* Basic and stealth backends we build decrypt with the right cookie only. */
static void test_auth_build(void **state)
{
    static const uint8_t cookies[3][16] = { { 1, 2, 3 }, { 4, 5, 6 }, { 7, 8, 9 } };
    static const uint8_t other[1][16] = { { 0xaa } };
    ob_hsv2_intro ips[2], *got = NULL;
    int64_t now = time(NULL);
    size_t len, n = 0, i;
    ob_hsv2_desc *desc = NULL;
    ob_diag d;
    char *text;

    (void)state;
    fake_intros(ips, 2, 9);
    text = make_backend_auth(keys->k[2], ips, 2, now, 0, OB_HSV2_AUTH_BASIC, cookies, 3, &len);
    assert_int_equal(ob_hsv2_desc_parse(text, len, &desc, &d), OB_OK);
    assert_int_equal(desc->auth, OB_HSV2_AUTH_BASIC);
    assert_int_equal(desc->intro_blob[1], 1); /* 3 clients: one block of 16 */
    assert_int_equal(ob_hsv2_desc_verify(desc, now, NULL, &d), OB_OK);
    for (i = 0; i < 3; i++) {
        assert_int_equal(ob_hsv2_intro_decode(desc, cookies[i], &got, &n, &d), OB_OK);
        assert_int_equal(n, 2);
        assert_memory_equal(got, ips, sizeof(ips));
        free(got);
        got = NULL;
    }
    assert_int_equal(ob_hsv2_intro_decode(desc, other[0], &got, &n, &d), OB_ERR_VERIFY);
    ob_hsv2_desc_free(desc);
    free(text);

    text = make_backend_auth(keys->k[3], ips, 2, now, 1, OB_HSV2_AUTH_STEALTH, cookies, 1, &len);
    assert_int_equal(ob_hsv2_desc_parse(text, len, &desc, &d), OB_OK);
    assert_int_equal(desc->auth, OB_HSV2_AUTH_STEALTH);
    assert_int_equal(ob_hsv2_desc_verify(desc, now, other[0], &d), OB_ERR_VERIFY);
    assert_int_equal(ob_hsv2_desc_verify(desc, now, cookies[0], &d), OB_OK);
    assert_int_equal(desc->replica, 1);
    assert_int_equal(ob_hsv2_intro_decode(desc, cookies[0], &got, &n, &d), OB_OK);
    assert_int_equal(n, 2);
    assert_memory_equal(got, ips, sizeof(ips));
    free(got);
    got = NULL;
    assert_int_equal(ob_hsv2_intro_decode(desc, cookies[1], &got, &n, &d), OB_ERR_VERIFY);
    ob_hsv2_desc_free(desc);
    free(text);
    {
        ob_buf o;
        ob_buf_init(&o);
        assert_int_equal(ob_hsv2_intro_encrypt(&o, OB_HSV2_AUTH_STEALTH, cookies, 2,
                                               (const uint8_t *)"x", 1, &d),
                         OB_ERR_RANGE);
        assert_int_equal(o.len, 0);
        ob_buf_free(&o);
    }
}

static void test_sign_roundtrip_and_digestinfo(void **state)
{
    ob_hsv2_intro ips[3];
    int64_t now = time(NULL);
    size_t len, nips = 0;
    char *text;
    ob_hsv2_desc *desc = NULL;
    ob_hsv2_intro *got = NULL;
    EVP_PKEY_CTX *ctx;
    uint8_t digest[20], sig[128];
    size_t siglen = sizeof(sig);
    char b64[256];
    ob_diag d;

    (void)state;
    fake_intros(ips, 3, 1);
    text = make_backend(keys->k[0], ips, 3, now, 1, &len);
    assert_int_equal(ob_hsv2_desc_parse(text, len, &desc, &d), OB_OK);
    assert_int_equal(ob_hsv2_desc_verify(desc, now, NULL, &d), OB_OK);
    assert_int_equal(desc->replica, 1);
    assert_int_equal(desc->published, now - now % 3600);
    assert_int_equal(ob_hsv2_intro_decode(desc, NULL, &got, &nips, &d), OB_OK);
    assert_int_equal(nips, 3);
    assert_memory_equal(got, ips, sizeof(ips));
    free(got);

    /* Same bytes, DigestInfo-wrapped SHA-1 signature (what EVP_DigestSign makes). */
    assert_int_equal(ob_sha1_buf(digest, desc->text, desc->signed_len), 0);
    ctx = EVP_PKEY_CTX_new(keys->k[0], NULL);
    assert_non_null(ctx);
    assert_true(EVP_PKEY_sign_init(ctx) > 0);
    assert_true(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0);
    assert_true(EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha1()) > 0);
    assert_true(EVP_PKEY_sign(ctx, sig, &siglen, digest, 20) > 0);
    EVP_PKEY_CTX_free(ctx);
    assert_int_equal(siglen, 128);
    memcpy(desc->sig, sig, 128);
    assert_int_equal(ob_hsv2_desc_verify(desc, now, NULL, &d), OB_ERR_VERIFY);
    assert_non_null(strstr(d.msg, "35-byte payload"));
    (void)b64;
    ob_hsv2_desc_free(desc);

    /* Signed with another key than the permanent-key: self-check refuses. */
    {
        uint8_t der[OB_HSV2_KEY_DER_MAX];
        size_t derlen;
        ob_buf plain, t, out;
        ob_hsv2_build b;
        ob_buf_init(&plain);
        ob_buf_init(&t);
        ob_buf_init(&out);
        der_of(keys->k[0], der, &derlen);
        ob_hsv2_intro_encode(&plain, ips, 3);
        b = (ob_hsv2_build){ .perm_key = der,
                             .perm_key_len = derlen,
                             .time_period = 100,
                             .replica = 0,
                             .published = now,
                             .intro_plain = plain.p,
                             .intro_plain_len = plain.len };
        assert_int_equal(ob_hsv2_build_unsigned(&t, &b, &d), OB_OK);
        assert_int_equal(ofl_hsv2_sign(keys->k[1], t.p, t.len, now, 100, 0, &out, &d),
                         OB_ERR_VERIFY);
        assert_int_equal(out.len, 0);
        /* The self-check holds the text to the period and replica asked for. */
        assert_int_equal(ofl_hsv2_sign(keys->k[0], t.p, t.len, now, 101, 0, &out, &d),
                         OB_ERR_VERIFY);
        assert_int_equal(ofl_hsv2_sign(keys->k[0], t.p, t.len, now, 100, 1, &out, &d),
                         OB_ERR_VERIFY);
        assert_int_equal(out.len, 0);
        assert_int_equal(ofl_hsv2_sign(keys->k[0], t.p, t.len, now, 100, 0, &out, &d), OB_OK);
        ob_buf_free(&plain);
        ob_buf_free(&t);
        ob_buf_free(&out);
    }
    free(text);
}

static void test_key_size(void **state)
{
    EVP_PKEY *big = gen_rsa(2048);
    uint8_t der[600];
    size_t derlen = 0;
    unsigned char *p = NULL;
    int l;
    ob_buf t;
    ob_hsv2_build b;
    ob_diag d;

    (void)state;
    l = i2d_PublicKey(big, &p);
    assert_true(l > 0 && (size_t)l <= sizeof(der));
    memcpy(der, p, (size_t)l);
    derlen = (size_t)l;
    OPENSSL_free(p);
    ob_buf_init(&t);
    b = (ob_hsv2_build){ .perm_key = der, .perm_key_len = derlen, .published = 0 };
    assert_int_equal(ob_hsv2_build_unsigned(&t, &b, &d), OB_ERR_UNSUPPORTED);
    assert_non_null(strstr(d.msg, "1024"));
    ob_buf_free(&t);
    EVP_PKEY_free(big);
}

/* Intro-point plaintext: bad input is refused with the field and offset. */
static void test_intro_bad_input(void **state)
{
    ob_hsv2_intro ips[11], *got = NULL;
    size_t n = 0;
    ob_buf b;
    ob_diag d;
    char *p;

    (void)state;
    fake_intros(ips, 11, 7);
    ob_buf_init(&b);
    ob_hsv2_intro_encode(&b, ips, 11);
    ob_buf_nul(&b);
    assert_int_equal(ob_hsv2_intro_parse(b.p, b.len, &got, &n, &d), OB_ERR_RANGE);
    assert_non_null(strstr(d.msg, "more than 10"));
    assert_null(got);
    ob_buf_reset(&b);
    ob_hsv2_intro_encode(&b, ips, 2);
    ob_buf_nul(&b);
    assert_int_equal(ob_hsv2_intro_parse(b.p, b.len, &got, &n, &d), OB_OK);
    assert_int_equal(n, 2);
    free(got);
    got = NULL;
    /* Without the final empty line (tor's stealth quirk) it still parses. */
    assert_int_equal(ob_hsv2_intro_parse(b.p, b.len - 1, &got, &n, &d), OB_OK);
    free(got);
    got = NULL;
    /* Two empty lines, an out-of-range address, a zero-padded port. */
    assert_int_equal(ob_hsv2_intro_parse((const uint8_t *)"\n", 1, &got, &n, &d), OB_ERR_MALFORMED);
    p = strstr((char *)b.p, "ip-address 10.7.0.2\n");
    assert_non_null(p);
    memcpy(p + 11, "10.7.0.2", 8);
    p[11] = '9', p[12] = '9', p[13] = '9';
    assert_int_equal(ob_hsv2_intro_parse(b.p, b.len, &got, &n, &d), OB_ERR_MALFORMED);
    assert_non_null(strstr(d.msg, "ip-address"));
    {
        char want[64];
        snprintf(want, sizeof(want), "intro offset %zu", (size_t)(p - (char *)b.p));
        assert_non_null(strstr(d.msg, want));
    }
    memcpy(p + 11, "10.7.0.2", 8);
    p = strstr((char *)b.p, "onion-port 9001\n");
    assert_non_null(p);
    memcpy(p + 11, "0901", 4);
    assert_int_equal(ob_hsv2_intro_parse(b.p, b.len, &got, &n, &d), OB_ERR_MALFORMED);
    assert_non_null(strstr(d.msg, "onion-port"));
    memcpy(p + 11, "9001", 4);
    /* A 76-char base64 line is valid PEM but not what tor writes. */
    {
        char b64[400], id[33];
        size_t len, off;
        ob_buf_reset(&b);
        ob_base32_encode(id, ips[0].id, 20);
        ob_buf_printf(&b,
                      "introduction-point %s\nip-address 1.2.3.4\nonion-port 1\nonion-key\n"
                      "-----BEGIN RSA PUBLIC KEY-----\n",
                      id);
        ob_base64_encode(b64, ips[0].onion_key, ips[0].onion_key_len, OB_B64_PAD);
        len = strlen(b64);
        for (off = 0; off < len; off += 76) {
            ob_buf_put(&b, b64 + off, len - off < 76 ? len - off : 76);
            ob_buf_put_str(&b, "\n");
        }
        ob_buf_put_str(&b, "-----END RSA PUBLIC KEY-----\nservice-key\n");
        ob_pem_encode(&b, "RSA PUBLIC KEY", ips[0].service_key, ips[0].service_key_len);
        ob_buf_put_str(&b, "\n");
        assert_true(ob_buf_ok(&b));
        assert_int_equal(ob_hsv2_intro_parse(b.p, b.len, &got, &n, &d), OB_ERR_MALFORMED);
        assert_non_null(strstr(d.msg, "canonical"));
        assert_null(got);
    }
    ob_buf_free(&b);
}

/* ---- presign, HSDirs, distribution --------------------------------------- */

/* The pre-signing plan for a ceremony at `now`, maximum window. */
static void check_presign_at(int64_t now, const uint8_t pid[10])
{
    ob_hsv2_slot s[32];
    size_t n, i;
    int64_t t, pub = now - now % 3600;
    ob_diag d;

    assert_int_equal(ob_hsv2_presign_periods(now, pid, OB_HSV2_PRESIGN_MAX_WINDOW, s, 32, &n, &d),
                     OB_OK);
    /* The current period and the 3 that start within 71 h + the 1 h overlap. */
    assert_int_equal(n, 8);
    for (i = 0; i < n; i++) {
        assert_int_equal(s[i].published, pub);
        assert_int_equal(s[i].replica, i % 2);
        assert_int_equal(s[i].time_period, ob_hsv2_time_period(now, pid) + i / 2);
        assert_true(s[i].use_until <= pub + OB_HSV2_MAX_AGE + OB_HSV2_MAX_SKEW);
    }
    /*
     * Every moment of the window has a descriptor for the period a client
     * looks up then, usable (accepted by HSDirs) at that moment, for both
     * replicas.
     */
    for (t = now; t <= now + OB_HSV2_PRESIGN_MAX_WINDOW; t += 300) {
        uint32_t tp = ob_hsv2_time_period(t, pid);
        unsigned found = 0;
        for (i = 0; i < n; i++)
            if (s[i].time_period == tp && s[i].use_from <= t && t < s[i].use_until)
                found |= 1u << s[i].replica;
        assert_int_equal(found, 3);
        assert_true(pub <= t + OB_HSV2_MAX_SKEW && pub >= t - OB_HSV2_MAX_AGE - OB_HSV2_MAX_SKEW);
    }
}

static void test_presign(void **state)
{
    ob_hsv2_slot s[32];
    size_t n, k;
    uint8_t pid[10] = { 0xd9, 1, 2, 3, 4, 5, 6, 7, 8, 9 };
    int64_t now = 1795000000 + 1234, t;
    ob_diag d;

    (void)state;
    assert_int_equal(
        ob_hsv2_presign_periods(now, pid, OB_HSV2_PRESIGN_MAX_WINDOW + 1, s, 32, &n, &d),
        OB_ERR_RANGE);
    assert_int_equal(ob_hsv2_presign_periods(now, pid, -1, s, 32, &n, &d), OB_ERR_RANGE);
    assert_int_equal(ob_hsv2_presign_periods(INT64_MAX - 10, pid, 0, s, 32, &n, &d), OB_ERR_RANGE);
    assert_int_equal(ob_hsv2_presign_periods(now, pid, OB_HSV2_PRESIGN_MAX_WINDOW, s, 2, &n, &d),
                     OB_ERR_RANGE);
    /* Ceremonies at 25 moments spread over more than a day, and at a period start. */
    for (k = 0; k < 25; k++)
        check_presign_at(now + (int64_t)k * 3613, pid);
    check_presign_at(ob_hsv2_period_start(ob_hsv2_time_period(now, pid) + 1, pid), pid);
    /* Window 0 in the last hour of a period: also the next period. */
    t = ob_hsv2_period_start(ob_hsv2_time_period(now, pid) + 1, pid) - 600;
    assert_int_equal(ob_hsv2_presign_periods(t, pid, 0, s, 32, &n, &d), OB_OK);
    assert_int_equal(n, 4);
    t = ob_hsv2_period_start(ob_hsv2_time_period(now, pid) + 1, pid) - 7200;
    assert_int_equal(ob_hsv2_presign_periods(t, pid, 0, s, 32, &n, &d), OB_OK);
    assert_int_equal(n, 2);
    assert_int_equal(ob_hsv2_time_period(ob_hsv2_period_start(16490, pid), pid), 16490);
    assert_int_equal(ob_hsv2_time_period(ob_hsv2_period_start(16490, pid) - 1, pid), 16489);
}

static void test_responsible_hsdirs(void **state)
{
    uint8_t fp[8][20], id[20];
    int flags[8] = { 1, 0, 1, 1, 0, 1, 1, 1 };
    size_t out[3], n, i;
    ob_diag d;

    (void)state;
    /* Relays given out of order: digests 0x80, 0x10, 0x20, ..., 0x70. */
    for (i = 0; i < 8; i++) {
        memset(fp[i], 0, 20);
        fp[i][0] = (uint8_t)(i == 0 ? 0x80 : i * 0x10);
    }
    /* desc-id 0x35..: first >= is 0x40 (idx 4, no flag), then 0x50, 0x60, 0x70. */
    memset(id, 0, 20);
    id[0] = 0x35;
    assert_int_equal(
        ob_hsv2_responsible_hsdirs(id, (const uint8_t(*)[20])fp, flags, 8, out, &n, &d), OB_OK);
    assert_int_equal(n, 3);
    assert_int_equal(out[0], 5);
    assert_int_equal(out[1], 6);
    assert_int_equal(out[2], 7);
    /* Exactly equal digest counts as >=; wraps past the end (0x80 -> 0x10 no flag -> 0x20). */
    id[0] = 0x70;
    assert_int_equal(
        ob_hsv2_responsible_hsdirs(id, (const uint8_t(*)[20])fp, flags, 8, out, &n, &d), OB_OK);
    assert_int_equal(n, 3);
    assert_int_equal(out[0], 7);
    assert_int_equal(out[1], 0);
    assert_int_equal(out[2], 2);
    /* Above every digest: start at the lowest. */
    memset(id, 0xff, 20);
    assert_int_equal(
        ob_hsv2_responsible_hsdirs(id, (const uint8_t(*)[20])fp, flags, 8, out, &n, &d), OB_OK);
    assert_int_equal(out[0], 2);
    assert_int_equal(out[1], 3);
    assert_int_equal(out[2], 5);
    /* Fewer than 3 HSDirs. */
    memset(flags, 0, sizeof(flags));
    flags[3] = 1;
    assert_int_equal(
        ob_hsv2_responsible_hsdirs(id, (const uint8_t(*)[20])fp, flags, 8, out, &n, &d), OB_OK);
    assert_int_equal(n, 1);
    assert_int_equal(out[0], 3);
    memcpy(fp[5], fp[6], 20);
    assert_int_equal(
        ob_hsv2_responsible_hsdirs(id, (const uint8_t(*)[20])fp, flags, 8, out, &n, &d),
        OB_ERR_MALFORMED);
}

static void test_distribute(void **state)
{
    ob_hsv2_intro a[10], b[10], c[10];
    const ob_hsv2_intro *inst[3] = { a, b, c };
    size_t counts[3] = { 3, 3, 3 };
    const ob_hsv2_intro *sel[6][10];
    size_t nsel[6], s, j;
    int distinct = -1;
    ob_diag d;

    (void)state;
    memset(a, 0, sizeof(a));
    memset(b, 0, sizeof(b));
    memset(c, 0, sizeof(c));
    assert_int_equal(ob_hsv2_distribute(inst, counts, 3, sel, nsel, &distinct, &d), OB_OK);
    assert_int_equal(distinct, 0);
    for (s = 0; s < 6; s++) {
        assert_int_equal(nsel[s], 9);
        for (j = 0; j < 9; j++)
            assert_ptr_equal(sel[s][j], &inst[j % 3][j / 3]); /* round robin */
    }
    counts[0] = counts[1] = counts[2] = 10;
    assert_int_equal(ob_hsv2_distribute(inst, counts, 3, sel, nsel, &distinct, &d), OB_OK);
    assert_int_equal(distinct, 1);
    {
        unsigned seen[3][10];
        memset(seen, 0, sizeof(seen));
        for (s = 0; s < 6; s++) {
            size_t per[3] = { 0, 0, 0 };
            assert_int_equal(nsel[s], 10);
            for (j = 0; j < 10; j++) {
                /* Which instance and point (by identity: the arrays are unrelated). */
                size_t i = 3, pt = 0, ii, kk;
                for (ii = 0; ii < 3; ii++)
                    for (kk = 0; kk < 10; kk++)
                        if (sel[s][j] == &inst[ii][kk])
                            i = ii, pt = kk;
                assert_true(i < 3);
                per[i]++;
                seen[i][pt]++;
                /* No point twice in one descriptor. */
                for (size_t k = 0; k < j; k++)
                    assert_ptr_not_equal(sel[s][k], sel[s][j]);
            }
            /* Each descriptor draws from every instance (3 or 4 each). */
            for (j = 0; j < 3; j++)
                assert_true(per[j] >= 3 && per[j] <= 4);
        }
        /* All 30 points are used, each twice (60 slots / 30 points). */
        for (s = 0; s < 3; s++)
            for (j = 0; j < 10; j++)
                assert_int_equal(seen[s][j], 2);
    }
    counts[0] = counts[1] = counts[2] = 0;
    assert_int_equal(ob_hsv2_distribute(inst, counts, 3, sel, nsel, &distinct, &d),
                     OB_ERR_NOTFOUND);
}

/*
 * The three instances used by the master tests: 0 without auth, 1 with
 * basic auth (two clients; the config knows the second cookie), 2 with
 * stealth auth.  Each has 4 intro points.
 */
static const uint8_t basic_cookies[2][16] = { { 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
                                                0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f },
                                              { 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27,
                                                0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f } };
static const uint8_t stealth_cookie[1][16] = { { 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37,
                                                 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f } };

static void make_three_backends(ob_hsv2_intro ips[3][4], char *texts[3], size_t lens[3],
                                char onions[3][17], ofl_hsv2_backend be[3], int64_t now)
{
    static const ob_hsv2_auth auth[3] = { OB_HSV2_AUTH_NONE, OB_HSV2_AUTH_BASIC,
                                          OB_HSV2_AUTH_STEALTH };
    const uint8_t(*ck[3])[16] = { NULL, basic_cookies, stealth_cookie };
    const uint8_t *cfg[3] = { NULL, basic_cookies[1], stealth_cookie[0] };
    size_t nck[3] = { 0, 2, 1 }, i;
    ob_diag d;

    for (i = 0; i < 3; i++) {
        ob_hsv2_desc *bd = NULL;
        fake_intros(ips[i], 4, (uint8_t)(i + 1));
        texts[i] = make_backend_auth(keys->k[i + 1], ips[i], 4, now, (unsigned)(i % 2), auth[i],
                                     ck[i], nck[i], &lens[i]);
        assert_int_equal(ob_hsv2_desc_parse(texts[i], lens[i], &bd, &d), OB_OK);
        assert_int_equal(bd->auth, auth[i]);
        memcpy(onions[i], bd->onion, 17);
        ob_hsv2_desc_free(bd);
        be[i] = (ofl_hsv2_backend){ onions[i], texts[i], lens[i], cfg[i] };
    }
}

/* ---- the master-signing call (issue 8 "done when") ----------------------- */

static void test_sign_master(void **state)
{
    ob_hsv2_intro ips[3][4];
    ofl_hsv2_backend be[4];
    char *texts[4];
    size_t lens[4], i, nout = 0, total = 0;
    ofl_hsv2_signed *out = NULL;
    int64_t now = time(NULL);
    uint8_t mder[OB_HSV2_KEY_DER_MAX], mpid[10];
    size_t mderlen;
    char onions[4][17];
    ob_diag d;

    (void)state;
    make_three_backends(ips, texts, lens, onions, be, now);
    der_of(keys->k[0], mder, &mderlen);
    assert_int_equal(ob_hsv2_permanent_id(mpid, mder, mderlen), 0);
    assert_int_equal(ofl_hsv2_sign_master(keys->k[0], be, 3, now, 0, &out, &nout, &d), OB_OK);
    /* 12 points > 10: 3 distinct descriptors per replica, per period. */
    assert_true(nout == 6 || nout == 12);
    for (i = 0; i < nout; i++) {
        ob_hsv2_desc *m = NULL;
        ob_hsv2_intro *got = NULL;
        size_t ng = 0;
        assert_int_equal(ob_hsv2_desc_parse(out[i].text, out[i].len, &m, &d), OB_OK);
        assert_int_equal(
            ob_hsv2_desc_verify_for(m, now, NULL, out[i].time_period, out[i].replica, &d), OB_OK);
        assert_int_equal(
            ob_hsv2_desc_verify_for(m, now, NULL, out[i].time_period + 1, out[i].replica, &d),
            OB_ERR_VERIFY);
        assert_int_equal(m->replica, out[i].replica);
        assert_int_equal(m->time_period, out[i].time_period);
        assert_memory_equal(m->perm_key, mder, mderlen);
        assert_int_equal(out[i].hsdir_slot, (int)(i % 3));
        assert_int_equal(ob_hsv2_intro_decode(m, NULL, &got, &ng, &d), OB_OK);
        assert_int_equal(ng, 10);
        for (size_t k = 0; k < ng; k++) {
            int found = 0;
            for (size_t b = 0; b < 3; b++)
                for (size_t j = 0; j < 4; j++)
                    found |= memcmp(&got[k], &ips[b][j], sizeof(got[k])) == 0;
            assert_true(found);
        }
        total += ng;
        free(got);
        ob_hsv2_desc_free(m);
    }
    assert_int_equal(out[0].replica, 0);
    assert_int_equal(out[3].replica, 1);
    assert_int_equal(out[0].time_period, ob_hsv2_time_period(now, mpid));
    ofl_hsv2_signed_free(out, nout);
    out = NULL;

    /* The wrong cookie for the basic-auth backend stops the ceremony. */
    be[1].cookie = basic_cookies[0] + 1;
    assert_int_equal(ofl_hsv2_sign_master(keys->k[0], be, 3, now, 0, &out, &nout, &d),
                     OB_ERR_VERIFY);
    assert_null(out);
    assert_non_null(strstr(d.msg, "backend 1"));
    be[1].cookie = basic_cookies[0]; /* the other client's cookie works too */
    assert_int_equal(ofl_hsv2_sign_master(keys->k[0], be, 3, now, 0, &out, &nout, &d), OB_OK);
    ofl_hsv2_signed_free(out, nout);
    out = NULL;
    /* The stealth backend cannot even be checked without its cookie. */
    be[2].cookie = NULL;
    assert_int_equal(ofl_hsv2_sign_master(keys->k[0], be, 3, now, 0, &out, &nout, &d),
                     OB_ERR_REFUSED);
    be[2].cookie = stealth_cookie[0];
    /* A backend whose address is not the configured one is refused. */
    be[1].onion = onions[0];
    assert_int_equal(ofl_hsv2_sign_master(keys->k[0], be, 3, now, 0, &out, &nout, &d),
                     OB_ERR_REFUSED);
    assert_null(out);
    assert_non_null(strstr(d.msg, "backend 1"));
    be[1].onion = onions[1];
    /* A tampered backend descriptor is refused. */
    texts[2][strstr(texts[2], "publication-time ") - texts[2] + 20] ^= 1;
    assert_int_not_equal(ofl_hsv2_sign_master(keys->k[0], be, 3, now, 0, &out, &nout, &d), OB_OK);
    assert_null(out);
    texts[2][strstr(texts[2], "publication-time ") - texts[2] + 20] ^= 1;
    /* An old descriptor of backend 0 next to its newer one: the newer wins. */
    texts[3] = make_backend(keys->k[1], ips[0], 1, now - 7200, 0, &lens[3]);
    be[3] = (ofl_hsv2_backend){ onions[0], texts[3], lens[3], NULL };
    assert_int_equal(ofl_hsv2_sign_master(keys->k[0], be, 4, now, 0, &out, &nout, &d), OB_OK);
    assert_int_equal(out[0].hsdir_slot, 0); /* 12 points: the old one (1 point) was dropped */
    ofl_hsv2_signed_free(out, nout);
    out = NULL;
    {
        /* Only backend 0's old one (1 point) and backend 1 (4): 5 points, one per replica. */
        ofl_hsv2_backend two[2] = { be[3], be[1] };
        assert_int_equal(ofl_hsv2_sign_master(keys->k[0], two, 2, now, 0, &out, &nout, &d), OB_OK);
        assert_true(nout == 2 || nout == 4);
        assert_int_equal(out[0].hsdir_slot, -1);
        ofl_hsv2_signed_free(out, nout);
        out = NULL;
    }
    {
        /* A backend without intro points adds none; alone it is an error. */
        ofl_hsv2_backend withempty[2];
        size_t elen, edl;
        EVP_PKEY *ek = gen_rsa(1024);
        uint8_t edr[OB_HSV2_KEY_DER_MAX];
        char eonion[17];
        char *empty = make_backend(ek, NULL, 0, now, 0, &elen);
        der_of(ek, edr, &edl);
        ob_onion_v2_from_der(eonion, edr, edl);
        EVP_PKEY_free(ek);
        withempty[0] = be[2];
        withempty[1] = (ofl_hsv2_backend){ eonion, empty, elen, NULL };
        assert_int_equal(
            ofl_hsv2_sign_master(keys->k[0], &withempty[1], 1, now, 0, &out, &nout, &d),
            OB_ERR_NOTFOUND);
        assert_int_equal(ofl_hsv2_sign_master(keys->k[0], withempty, 2, now, 0, &out, &nout, &d),
                         OB_OK);
        assert_int_equal(out[0].hsdir_slot, -1);
        ofl_hsv2_signed_free(out, nout);
        out = NULL;
        free(empty);
    }
    /* Window above the protocol limit. */
    assert_int_equal(ofl_hsv2_sign_master(keys->k[0], be, 3, now, OB_HSV2_PRESIGN_MAX_WINDOW + 1,
                                          &out, &nout, &d),
                     OB_ERR_RANGE);
    for (i = 0; i < 4; i++)
        free(texts[i]);
    (void)total;
}

/* ---- recorded v2 control-port exchanges ---------------------------------- */

/* Undo control-port dot-encoding of the data lines after the first line. */
static char *ctl_body(const char *reply, const char *first, size_t *n)
{
    const char *p = strstr(reply, first);
    ob_buf b;
    char *res;

    assert_non_null(p);
    p = strstr(p, "\r\n");
    assert_non_null(p);
    p += 2;
    ob_buf_init(&b);
    for (;;) {
        const char *e = strstr(p, "\r\n");
        assert_non_null(e);
        if (e - p == 1 && p[0] == '.')
            break;
        if (p[0] == '.')
            p++;
        ob_buf_put(&b, p, (size_t)(e - p));
        ob_buf_put(&b, "\n", 1);
        p = e + 2;
    }
    ob_buf_nul(&b);
    res = (char *)ob_buf_detach(&b, n);
    return res;
}

static void test_control_fixtures(void **state)
{
    char *sent, *recv, *body;
    size_t n, bn;
    ob_hsv2_desc *desc = NULL;
    ob_diag d;

    (void)state;
    /* HSFETCH by v2 address (tor <= 0.4.5), answered by HS_DESC_CONTENT. */
    sent = read_all("tests/data/v2-control/hsfetch_v2.sent", &n);
    recv = read_all("tests/data/v2-control/hsfetch_v2.recv", &n);
    assert_non_null(sent);
    assert_non_null(recv);
    assert_int_equal(strncmp(sent, "HSFETCH 3g2upl4pq6kufc4m SERVER=", 32), 0);
    body = ctl_body(recv, "650+HS_DESC_CONTENT 3g2upl4pq6kufc4m y3olqqblqw2gbh6phimfuiroechjjafa",
                    &bn);
    assert_int_equal(ob_hsv2_desc_parse(body, bn, &desc, &d), OB_OK);
    assert_int_equal(ob_hsv2_desc_verify(desc, OB_HSV2_NOW_UNCHECKED, NULL, &d), OB_OK);
    assert_string_equal(desc->onion, "3g2upl4pq6kufc4m");
    ob_hsv2_desc_free(desc);
    free(body);
    free(sent);
    free(recv);

    /* HSPOST of a v2 descriptor: SERVER= and no HSADDRESS. */
    sent = read_all("tests/data/v2-control/hspost_v2.sent", &n);
    recv = read_all("tests/data/v2-control/hspost_v2.recv", &n);
    assert_non_null(sent);
    assert_non_null(recv);
    assert_null(strstr(sent, "HSADDRESS="));
    body = ctl_body(sent, "+HSPOST SERVER=", &bn);
    assert_int_equal(ob_hsv2_desc_parse(body, bn, &desc, &d), OB_OK);
    assert_int_equal(ob_hsv2_desc_verify(desc, OB_HSV2_NOW_UNCHECKED, NULL, &d), OB_OK);
    assert_string_equal(desc->onion, "fbcdn23dssr3jqnq");
    assert_int_equal(strncmp(recv, "250 OK\r\n650 HS_DESC UPLOADED fbcdn23dssr3jqnq ", 46), 0);
    ob_hsv2_desc_free(desc);
    free(body);
    free(sent);
    free(recv);
}

/* ---- emit mode for the stem interop test ---------------------------------- */

static int write_file(const char *dir, const char *name, const char *p, size_t n)
{
    char path[1024];
    FILE *f;
    int ok;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "wb");
    if (f == NULL)
        return -1;
    ok = fwrite(p, 1, n, f) == n;
    return fclose(f) == 0 && ok ? 0 : -1;
}

static int emit(const char *dir)
{
    ob_hsv2_intro ips[3][4];
    ofl_hsv2_backend be[3];
    char *texts[3] = { NULL, NULL, NULL }, name[64], onions[3][17];
    size_t lens[3], i, nout = 0;
    ofl_hsv2_signed *out = NULL;
    int64_t now = time(NULL);
    ob_buf meta;
    ob_diag d;
    int rc = 1;

    if (setup_keys(NULL) != 0)
        return 2;
    ob_buf_init(&meta);
    make_three_backends(ips, texts, lens, onions, be, now);
    for (i = 0; i < 3; i++) {
        char ck[25] = "-";
        if (be[i].cookie != NULL)
            ob_base64_encode(ck, be[i].cookie, 16, OB_B64_PAD);
        snprintf(name, sizeof(name), "backend%zu.desc", i);
        if (write_file(dir, name, texts[i], lens[i]) != 0)
            goto out;
        ob_buf_printf(&meta, "backend %s %s %zu %s\n", name, onions[i], i % 2, ck);
    }
    if (ofl_hsv2_sign_master(keys->k[0], be, 3, now, OB_HSV2_PRESIGN_MAX_WINDOW, &out, &nout, &d) !=
        OB_OK) {
        fprintf(stderr, "sign_master: %s\n", d.msg);
        goto out;
    }
    for (i = 0; i < nout; i++) {
        snprintf(name, sizeof(name), "master%02zu.desc", i);
        if (write_file(dir, name, out[i].text, out[i].len) != 0)
            goto out;
        ob_buf_printf(&meta, "master %s %u %u %d\n", name, out[i].time_period, out[i].replica,
                      out[i].hsdir_slot);
    }
    /* The first master descriptor re-signed DigestInfo-style (must be rejected). */
    {
        ob_hsv2_desc *m = NULL;
        EVP_PKEY_CTX *ctx = NULL;
        uint8_t digest[20], sig[128];
        size_t siglen = sizeof(sig);
        ob_buf bad;
        int ok;
        if (ob_hsv2_desc_parse(out[0].text, out[0].len, &m, &d) != OB_OK)
            goto out;
        ok = ob_sha1_buf(digest, m->text, m->signed_len) == 0 &&
             (ctx = EVP_PKEY_CTX_new(keys->k[0], NULL)) != NULL && EVP_PKEY_sign_init(ctx) > 0 &&
             EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0 &&
             EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha1()) > 0 &&
             EVP_PKEY_sign(ctx, sig, &siglen, digest, 20) > 0 && siglen == 128;
        EVP_PKEY_CTX_free(ctx);
        ob_buf_init(&bad);
        ob_buf_put(&bad, m->text, m->signed_len);
        ob_pem_encode(&bad, "SIGNATURE", sig, 128);
        ok = ok && ob_buf_ok(&bad) &&
             write_file(dir, "digestinfo.desc", (const char *)bad.p, bad.len) == 0;
        ob_buf_free(&bad);
        ob_hsv2_desc_free(m);
        if (!ok)
            goto out;
    }
    if (!ob_buf_ok(&meta) || write_file(dir, "manifest", (const char *)meta.p, meta.len) != 0)
        goto out;
    rc = 0;
out:
    for (i = 0; i < 3; i++)
        free(texts[i]);
    ofl_hsv2_signed_free(out, nout);
    ob_buf_free(&meta);
    teardown_keys(NULL);
    return rc;
}

/*
 * Parse and verify one file (no time check; for the period and replica in
 * OB_HSV2_VERIFY_PERIOD/_REPLICA if set); 0 valid, 1 rejected, 2 unreadable.
 */
static int verify_file(const char *path, const char *cookie_b64)
{
    char *text;
    size_t n;
    uint8_t cookie[16];
    ob_hsv2_auth auth;
    ob_hsv2_desc *desc = NULL;
    ob_hsv2_intro *ips = NULL;
    size_t nips = 0;
    ob_diag d;
    ob_err err;

    text = read_all(path, &n);
    if (text == NULL)
        return 2;
    err = ob_hsv2_desc_parse(text, n, &desc, &d);
    if (err == OB_OK && cookie_b64 != NULL)
        err = ob_hsv2_cookie_parse(cookie_b64, strlen(cookie_b64), cookie, &auth, &d);
    if (err == OB_OK && getenv("OB_HSV2_VERIFY_PERIOD") != NULL)
        err = ob_hsv2_desc_verify_for(desc, OB_HSV2_NOW_UNCHECKED, cookie_b64 ? cookie : NULL,
                                      (uint32_t)strtoul(getenv("OB_HSV2_VERIFY_PERIOD"), NULL, 10),
                                      (unsigned)(getenv("OB_HSV2_VERIFY_REPLICA") != NULL
                                                     ? atoi(getenv("OB_HSV2_VERIFY_REPLICA"))
                                                     : 0),
                                      &d);
    else if (err == OB_OK)
        err = ob_hsv2_desc_verify(desc, OB_HSV2_NOW_UNCHECKED, cookie_b64 ? cookie : NULL, &d);
    if (err == OB_OK)
        err = ob_hsv2_intro_decode(desc, cookie_b64 ? cookie : NULL, &ips, &nips, &d);
    if (err == OB_OK)
        printf("ok %s %zu intro points\n", desc->onion, nips);
    else
        printf("rejected: %s\n", d.msg);
    free(ips);
    ob_hsv2_desc_free(desc);
    free(text);
    return err == OB_OK ? 0 : 1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_samples),
        cmocka_unit_test(test_time_window),
        cmocka_unit_test(test_tamper_and_strictness),
        cmocka_unit_test(test_cookie_forms),
        cmocka_unit_test(test_sign_roundtrip_and_digestinfo),
        cmocka_unit_test(test_key_size),
        cmocka_unit_test(test_auth_build),
        cmocka_unit_test(test_intro_bad_input),
        cmocka_unit_test(test_presign),
        cmocka_unit_test(test_responsible_hsdirs),
        cmocka_unit_test(test_distribute),
        cmocka_unit_test(test_sign_master),
        cmocka_unit_test(test_control_fixtures),
    };
    const char *dir = getenv("OB_HSV2_EMIT_DIR");

    if (ob_secmem_init() != 0)
        return 2;
    if (dir != NULL && *dir != '\0')
        return emit(dir);
    if (getenv("OB_HSV2_VERIFY_FILE") != NULL)
        return verify_file(getenv("OB_HSV2_VERIFY_FILE"), getenv("OB_HSV2_VERIFY_COOKIE"));
    return cmocka_run_group_tests(tests, setup_keys, teardown_keys);
}

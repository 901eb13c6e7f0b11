/*
 * test_keystore.c - key loading in every format, the encrypted store
 * (round trip, wrong passphrase, tampering, the test-KDF mark, adding keys
 * without a second Argon2id run, one block for a store's secrets), symbolic
 * links, RSA checks, passphrase files.
 *
 * Ed25519 expectations come from tor's vectors ($OB_TESTDATA/ed25519/
 * tor_ed25519_blinding_vectors.txt); the test only builds the input files.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sodium.h>

#include "buf.h"
#include "encode.h"
#include "fileio.h"
#include "keystore.h"
#include "onion.h"
#include "passphrase.h"
#include "secmem.h"
#include "vecfile.h"

static char tmpdir[] = "/tmp/ob-test-keystore-XXXXXX";

static const char *tpath(const char *name)
{
    static char buf[8][512];
    static int i;

    i = (i + 1) % 8;
    snprintf(buf[i], sizeof(buf[i]), "%s/%s", tmpdir, name);
    return buf[i];
}

static void put_file(const char *path, const void *p, size_t n)
{
    FILE *f;

    unlink(path);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

static uint8_t *get_file(const char *path, size_t *n)
{
    uint8_t *p = NULL;
    ob_diag d;

    assert_int_equal(ob_file_read(path, 1 << 20, &p, n, &d), OB_OK);
    return p;
}

/* OnionBalance 0.2 form: RFC 8410 PrivateKeyInfo around the seed. */
static void write_ed_pem(const char *path, const uint8_t seed[32])
{
    static const uint8_t pre[16] = { 0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06,
                                     0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20 };
    uint8_t der[48];
    ob_buf b;

    memcpy(der, pre, 16);
    memcpy(der + 16, seed, 32);
    ob_buf_init(&b);
    ob_pem_encode(&b, "PRIVATE KEY", der, sizeof(der));
    assert_true(ob_buf_ok(&b));
    put_file(path, b.p, b.len);
    ob_buf_free(&b);
}

static void write_tor_secret(const char *path, const uint8_t exp[64])
{
    uint8_t f[96] = "== ed25519v1-secret: type0 ==";

    memcpy(f + 32, exp, 64);
    put_file(path, f, sizeof(f));
}

static void test_ed25519_vectors(void **state)
{
    vec_file *vf = vec_load("ed25519/tor_ed25519_blinding_vectors.txt");
    size_t i, nvec;

    (void)state;
    assert_non_null(vf);
    nvec = vec_count_sections(vf, "vector ");
    assert_int_equal(nvec, 10);
    for (i = 0; i < nvec; i++) {
        char sec[32], addr[OB_ONION_V3_LEN + 1];
        uint8_t seed[32], exp[64], pub[32];
        ofl_key *k = NULL;
        ob_diag d;

        snprintf(sec, sizeof(sec), "vector %zu", i);
        assert_int_equal(vec_hex(vf, sec, "seed", seed, 32), 0);
        assert_int_equal(vec_hex(vf, sec, "expanded_secret_key", exp, 64), 0);
        assert_int_equal(vec_hex(vf, sec, "public_key", pub, 32), 0);
        ob_onion_v3_encode(addr, pub);

        /* OnionBalance PEM: seed -> expanded key -> public key. */
        write_ed_pem(tpath("ob.pem"), seed);
        assert_int_equal(ofl_key_load(tpath("ob.pem"), NULL, &k, &d), OB_OK);
        assert_int_equal(ofl_key_version(k), 3);
        assert_memory_equal(ofl_key_ed25519_expanded(k), exp, 64);
        assert_memory_equal(ofl_key_ed25519_public(k), pub, 32);
        assert_string_equal(ofl_key_address(k), addr);
        assert_null(ofl_key_rsa(k));
        ofl_key_free(k);
        k = NULL;

        /* tor's hs_ed25519_secret_key: the expanded key only. */
        write_tor_secret(tpath("hs_ed25519_secret_key"), exp);
        assert_int_equal(ofl_key_load(tpath("hs_ed25519_secret_key"), NULL, &k, &d), OB_OK);
        assert_memory_equal(ofl_key_ed25519_public(k), pub, 32);
        assert_string_equal(ofl_key_address(k), addr);
        ofl_key_free(k);
    }
    vec_free(vf);
}

static void test_tor_secret_bad(void **state)
{
    uint8_t f[97] = "== ed25519v1-secret: type0 ==";
    ofl_key *k = NULL;
    ob_diag d;

    (void)state;
    memset(f + 32, 7, 65);
    put_file(tpath("short"), f, 95);
    assert_int_equal(ofl_key_load(tpath("short"), NULL, &k, &d), OB_ERR_MALFORMED);
    assert_non_null(strstr(d.msg, "96 bytes"));
    put_file(tpath("long"), f, 97);
    assert_int_equal(ofl_key_load(tpath("long"), NULL, &k, &d), OB_ERR_MALFORMED);
    f[29] = 'x'; /* the three NULs after the tag */
    put_file(tpath("hdr"), f, 96);
    assert_int_equal(ofl_key_load(tpath("hdr"), NULL, &k, &d), OB_ERR_UNSUPPORTED);
    put_file(tpath("junk"), "hello\n", 6);
    assert_int_equal(ofl_key_load(tpath("junk"), NULL, &k, &d), OB_ERR_UNSUPPORTED);
    assert_non_null(strstr(d.msg, "not a key file"));
    assert_null(k);
}

static void test_tor_dir(void **state)
{
    char dir[512], hostname[80];
    uint8_t pubfile[64] = "== ed25519v1-public: type0 ==";
    ofl_key *gen = NULL, *k = NULL;
    ob_diag d;

    (void)state;
    snprintf(dir, sizeof(dir), "%s/hsdir", tmpdir);
    assert_int_equal(mkdir(dir, 0700), 0);
    assert_int_equal(ofl_key_generate(3, &gen, &d), OB_OK);
    write_tor_secret(tpath("hsdir/hs_ed25519_secret_key"), ofl_key_ed25519_expanded(gen));
    assert_int_equal(ofl_key_load(dir, NULL, &k, &d), OB_OK);
    assert_string_equal(ofl_key_address(k), ofl_key_address(gen));
    ofl_key_free(k);
    k = NULL;

    memcpy(pubfile + 32, ofl_key_ed25519_public(gen), 32);
    put_file(tpath("hsdir/hs_ed25519_public_key"), pubfile, 64);
    snprintf(hostname, sizeof(hostname), "%s.onion\n", ofl_key_address(gen));
    put_file(tpath("hsdir/hostname"), hostname, strlen(hostname));
    assert_int_equal(ofl_key_load(dir, NULL, &k, &d), OB_OK);
    ofl_key_free(k);
    k = NULL;

    /* A hostname that disagrees with the key is refused. */
    hostname[3] = hostname[3] == 'a' ? 'b' : 'a';
    put_file(tpath("hsdir/hostname"), hostname, strlen(hostname));
    assert_int_equal(ofl_key_load(dir, NULL, &k, &d), OB_ERR_VERIFY);
    assert_non_null(strstr(d.msg, "hostname"));
    hostname[3] = ofl_key_address(gen)[3];
    put_file(tpath("hsdir/hostname"), hostname, strlen(hostname));
    pubfile[40] ^= 1;
    put_file(tpath("hsdir/hs_ed25519_public_key"), pubfile, 64);
    assert_int_equal(ofl_key_load(dir, NULL, &k, &d), OB_ERR_VERIFY);
    assert_non_null(strstr(d.msg, "hs_ed25519_public_key"));
    assert_null(k);
    ofl_key_free(gen);
}

static void test_store_roundtrip(void **state)
{
    ofl_key *gen[3] = { NULL, NULL, NULL }, **got = NULL, *one = NULL;
    size_t n = 0, i;
    ofl_kdf kdf;
    struct stat st;
    ob_diag d;

    (void)state;
    for (i = 0; i < 3; i++)
        assert_int_equal(ofl_key_generate(3, &gen[i], &d), OB_OK);
    ofl_kdf_default(&kdf);
    assert_int_equal(kdf.memlimit, 64u << 20); /* the test-only INTERACTIVE cost */
    unlink(tpath("store"));
    assert_int_equal(
        ofl_keystore_write(tpath("store"), gen, 3, "correct horse", 13, &kdf, OB_WRITE_EXCL, &d),
        OB_OK);
    assert_int_equal(stat(tpath("store"), &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    /* Never overwritten when exclusive. */
    assert_int_equal(ofl_keystore_write(tpath("store"), gen, 1, "x", 1, &kdf, OB_WRITE_EXCL, &d),
                     OB_ERR_EXISTS);

    put_file(tpath("pass"), "correct horse\n", 14);
    assert_int_equal(ofl_keystore_load_all(tpath("store"), tpath("pass"), &got, &n, &d), OB_OK);
    assert_int_equal(n, 3);
    for (i = 0; i < 3; i++) {
        assert_string_equal(ofl_key_address(got[i]), ofl_key_address(gen[i]));
        assert_memory_equal(ofl_key_ed25519_expanded(got[i]), ofl_key_ed25519_expanded(gen[i]), 64);
    }
    ofl_keys_free(got, n);
    got = NULL;

    /* One-key API refuses a many-key store. */
    assert_int_equal(ofl_key_load(tpath("store"), tpath("pass"), &one, &d), OB_ERR_REFUSED);

    /* Open with a passphrase already in hand. */
    assert_int_equal(ofl_keystore_open(tpath("store"), "correct horse", 13, &got, &n, NULL, &d),
                     OB_OK);
    assert_int_equal(n, 3);
    ofl_keys_free(got, n);
    got = NULL;

    put_file(tpath("wrong"), "correct horsf\n", 14);
    assert_int_equal(ofl_keystore_load_all(tpath("store"), tpath("wrong"), &got, &n, &d),
                     OB_ERR_PASSPHRASE);
    assert_non_null(strstr(d.msg, "wrong passphrase or corrupted key file"));
    assert_null(got);
    for (i = 0; i < 3; i++)
        ofl_key_free(gen[i]);
}

/*
 * A store built here with libsodium, not with keystore.c: header flags and
 * Argon2id cost as given, a valid AEAD over them, one entry for k.  What an
 * older ob-offline wrote under OB_INSECURE_TEST_KDF=1 (flags 0, weak cost),
 * or what someone could forge.
 */
static void forge_store(const char *path, uint8_t flags, uint64_t ops, uint64_t mem,
                        const ofl_key *k)
{
    uint8_t hdr[72], pt[2 + 1 + 1 + 56 + 2 + 96], out[72 + sizeof(pt) + 16], key[32];
    unsigned long long ctlen = 0;

    memset(hdr, 0, sizeof(hdr));
    memcpy(hdr, "OBKSTORE", 8);
    hdr[8] = 1;
    hdr[9] = 1;
    hdr[10] = 1;
    hdr[11] = flags;
    ob_store_u64(hdr + 12, ops);
    ob_store_u64(hdr + 20, mem);
    randombytes_buf(hdr + 28, 16 + 24);
    ob_store_u32(hdr + 68, sizeof(pt) + 16);
    ob_store_u16(pt, 1);
    pt[2] = 1;
    pt[3] = 56;
    memcpy(pt + 4, ofl_key_address(k), 56);
    ob_store_u16(pt + 60, 96);
    memcpy(pt + 62, ofl_key_ed25519_expanded(k), 64);
    memcpy(pt + 126, ofl_key_ed25519_public(k), 32);
    assert_int_equal(crypto_pwhash(key, 32, "correct horse", 13, hdr + 28, ops, (size_t)mem,
                                   crypto_pwhash_ALG_ARGON2ID13),
                     0);
    memcpy(out, hdr, 72);
    crypto_aead_xchacha20poly1305_ietf_encrypt(out + 72, &ctlen, pt, sizeof(pt), hdr, 72, NULL,
                                               hdr + 44, key);
    assert_int_equal(ctlen, sizeof(pt) + 16);
    put_file(path, out, sizeof(out));
    sodium_memzero(pt, sizeof(pt));
    sodium_memzero(key, sizeof(key));
}

/*
 * OB_INSECURE_TEST_KDF=1 is set for this whole program (main): it may make
 * and open marked test stores, and nothing else.
 */
static void test_store_test_mark(void **state)
{
    ofl_key *gen = NULL, **got = NULL;
    ofl_kdf kdf, old, re;
    uint8_t *f;
    size_t len = 0, n = 0;
    ob_diag d;

    (void)state;
    put_file(tpath("pass"), "correct horse\n", 14);
    assert_int_equal(ofl_key_generate(3, &gen, &d), OB_OK);
    ofl_kdf_default(&kdf);
    assert_int_equal(kdf.insecure_test, 1);
    unlink(tpath("marked"));
    assert_int_equal(
        ofl_keystore_write(tpath("marked"), &gen, 1, "correct horse", 13, &kdf, OB_WRITE_EXCL, &d),
        OB_OK);
    f = get_file(tpath("marked"), &len);
    assert_int_equal(f[11], 1); /* the mark, inside the authenticated header */
    assert_int_equal(ofl_keystore_kdf(tpath("marked"), &old, &d), OB_OK);
    assert_int_equal(old.insecure_test, 1);
    assert_int_equal(old.opslimit, crypto_pwhash_OPSLIMIT_INTERACTIVE);
    assert_int_equal(ofl_keystore_load_all(tpath("marked"), tpath("pass"), &got, &n, &d), OB_OK);
    ofl_keys_free(got, n);
    got = NULL;

    /* Unknown flag bits. */
    f[11] = 3;
    put_file(tpath("flags"), f, len);
    assert_int_equal(ofl_keystore_load_all(tpath("flags"), tpath("pass"), &got, &n, &d),
                     OB_ERR_UNSUPPORTED);
    assert_non_null(strstr(d.msg, "flags 3"));
    free(f);

    /* Weak cost without the mark, with a valid AEAD: refused before any
     * passphrase is used, although the variable is set. */
    forge_store(tpath("forged"), 0, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                crypto_pwhash_MEMLIMIT_INTERACTIVE, gen);
    assert_int_equal(ofl_keystore_load_all(tpath("forged"), tpath("pass"), &got, &n, &d),
                     OB_ERR_REFUSED);
    assert_non_null(strstr(d.msg, "offset 12"));
    assert_non_null(strstr(d.msg, "below opslimit 3, memlimit 256 MiB"));
    assert_null(got);
    assert_int_equal(ofl_keystore_open(tpath("forged"), "correct horse", 13, &got, &n, NULL, &d),
                     OB_ERR_REFUSED);
    assert_int_equal(ofl_keystore_kdf(tpath("forged"), &old, &d), OB_ERR_REFUSED);
    /* The same, marked: opens (the forging is right, only the mark differs). */
    forge_store(tpath("forged1"), 1, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                crypto_pwhash_MEMLIMIT_INTERACTIVE, gen);
    assert_int_equal(ofl_keystore_load_all(tpath("forged1"), tpath("pass"), &got, &n, &d), OB_OK);
    assert_int_equal(n, 1);
    assert_string_equal(ofl_key_address(got[0]), ofl_key_address(gen));
    ofl_keys_free(got, n);
    got = NULL;
    /* A just-below-MODERATE memlimit without the mark: refused too. */
    forge_store(tpath("forged2"), 0, crypto_pwhash_OPSLIMIT_MODERATE,
                crypto_pwhash_MEMLIMIT_MODERATE - 1024, gen);
    assert_int_equal(ofl_keystore_load_all(tpath("forged2"), tpath("pass"), &got, &n, &d),
                     OB_ERR_REFUSED);

    /* Writing: a weak cost without the mark is refused, nothing written. */
    kdf.insecure_test = 0;
    unlink(tpath("weak"));
    assert_int_equal(
        ofl_keystore_write(tpath("weak"), &gen, 1, "correct horse", 13, &kdf, OB_WRITE_EXCL, &d),
        OB_ERR_INTERNAL);
    assert_int_equal(access(tpath("weak"), F_OK), -1);

    /* Re-encrypting (passwd): a real store keeps the full cost. */
    old.insecure_test = 0;
    assert_int_equal(ofl_kdf_for_rewrite(&old, &re), 1);
    assert_int_equal(re.insecure_test, 0);
    assert_int_equal(re.opslimit, crypto_pwhash_OPSLIMIT_MODERATE);
    assert_int_equal(re.memlimit, crypto_pwhash_MEMLIMIT_MODERATE);
    old.insecure_test = 1;
    assert_int_equal(ofl_kdf_for_rewrite(&old, &re), 0);
    assert_int_equal(re.insecure_test, 1);
    ofl_key_free(gen);
}

/* A real store (MODERATE, no mark) opens and reports its cost, variable or not. */
static void test_store_real_cost(void **state)
{
    ofl_key *gen = NULL, **got = NULL;
    ofl_kdf kdf = { crypto_pwhash_OPSLIMIT_MODERATE, crypto_pwhash_MEMLIMIT_MODERATE, 0 }, old;
    uint8_t *f;
    size_t len = 0, n = 0;
    ob_diag d;

    (void)state;
    put_file(tpath("pass"), "correct horse\n", 14);
    assert_int_equal(ofl_key_generate(3, &gen, &d), OB_OK);
    unlink(tpath("real"));
    assert_int_equal(
        ofl_keystore_write(tpath("real"), &gen, 1, "correct horse", 13, &kdf, OB_WRITE_EXCL, &d),
        OB_OK);
    f = get_file(tpath("real"), &len);
    assert_int_equal(f[11], 0);
    free(f);
    assert_int_equal(ofl_keystore_kdf(tpath("real"), &old, &d), OB_OK);
    assert_int_equal(old.insecure_test, 0);
    assert_int_equal(old.memlimit, crypto_pwhash_MEMLIMIT_MODERATE);
    assert_int_equal(ofl_keystore_load_all(tpath("real"), tpath("pass"), &got, &n, &d), OB_OK);
    assert_string_equal(ofl_key_address(got[0]), ofl_key_address(gen));
    ofl_keys_free(got, n);
    ofl_key_free(gen);
}

/* import's path: open keeping the derived key, add keys, write back under it. */
static void test_store_rewrite(void **state)
{
    ofl_key *gen[3] = { NULL, NULL, NULL }, **got = NULL, *all[3];
    ofl_store *st = NULL;
    ofl_kdf kdf;
    uint8_t *before, *after;
    size_t n = 0, len0 = 0, len1 = 0, i;
    ob_diag d;

    (void)state;
    put_file(tpath("pass"), "correct horse\n", 14);
    for (i = 0; i < 3; i++)
        assert_int_equal(ofl_key_generate(3, &gen[i], &d), OB_OK);
    ofl_kdf_default(&kdf);
    unlink(tpath("grow"));
    assert_int_equal(
        ofl_keystore_write(tpath("grow"), gen, 2, "correct horse", 13, &kdf, OB_WRITE_EXCL, &d),
        OB_OK);
    before = get_file(tpath("grow"), &len0);
    assert_int_equal(ofl_keystore_open(tpath("grow"), "correct horse", 13, &got, &n, &st, &d),
                     OB_OK);
    assert_non_null(st);
    assert_int_equal(n, 2);
    all[0] = got[0];
    all[1] = got[1];
    all[2] = gen[2];
    assert_int_equal(ofl_keystore_rewrite(st, all, 3, &d), OB_OK);
    after = get_file(tpath("grow"), &len1);
    assert_int_equal(len1, len0 + 156);
    assert_memory_equal(before, after, 44);               /* cost, mark, salt: kept */
    assert_memory_not_equal(before + 44, after + 44, 24); /* the nonce: fresh */
    ofl_keys_free(got, n);
    got = NULL;
    assert_int_equal(ofl_keystore_load_all(tpath("grow"), tpath("pass"), &got, &n, &d), OB_OK);
    assert_int_equal(n, 3);
    for (i = 0; i < 3; i++)
        assert_string_equal(ofl_key_address(got[i]), ofl_key_address(gen[i]));
    ofl_keys_free(got, n);
    /* A key stored twice is refused by the reader. */
    all[0] = gen[0];
    all[1] = gen[1];
    all[2] = gen[0];
    assert_int_equal(ofl_keystore_rewrite(st, all, 3, &d), OB_OK);
    assert_int_equal(ofl_keystore_load_all(tpath("grow"), tpath("pass"), &got, &n, &d),
                     OB_ERR_MALFORMED);
    assert_non_null(strstr(d.msg, "stored twice"));
    ofl_store_free(st);
    free(before);
    free(after);
    for (i = 0; i < 3; i++)
        ofl_key_free(gen[i]);
}

/* The keys of a store share one block and outlive each other in any order. */
static void test_store_one_block(void **state)
{
    enum { N = 40 };
    ofl_key *gen[N], **got = NULL;
    ofl_kdf kdf;
    size_t n = 0, i;
    ob_diag d;

    (void)state;
    put_file(tpath("pass"), "correct horse\n", 14);
    for (i = 0; i < N; i++)
        assert_int_equal(ofl_key_generate(3, &gen[i], &d), OB_OK);
    ofl_kdf_default(&kdf);
    unlink(tpath("block"));
    assert_int_equal(
        ofl_keystore_write(tpath("block"), gen, N, "correct horse", 13, &kdf, OB_WRITE_EXCL, &d),
        OB_OK);
    assert_int_equal(ofl_keystore_load_all(tpath("block"), tpath("pass"), &got, &n, &d), OB_OK);
    assert_int_equal(n, N);
    for (i = 1; i < N; i++)
        assert_ptr_equal(ofl_key_ed25519_expanded(got[i]),
                         ofl_key_ed25519_expanded(got[0]) + 64 * i);
    /* Free the even ones, then check the odd ones are intact (ASan would
     * catch a block freed too early), then free them back to front. */
    for (i = 0; i < N; i += 2) {
        ofl_key_free(got[i]);
        got[i] = NULL;
    }
    for (i = 1; i < N; i += 2) {
        assert_memory_equal(ofl_key_ed25519_expanded(got[i]), ofl_key_ed25519_expanded(gen[i]), 64);
        assert_memory_equal(ofl_key_ed25519_public(got[i]), ofl_key_ed25519_public(gen[i]), 32);
    }
    for (i = N; i-- > 0;)
        ofl_key_free(got[i]);
    free(got);
    for (i = 0; i < N; i++)
        ofl_key_free(gen[i]);
}

/* A symbolic link where a key path is decided is refused, not followed. */
static void test_key_symlinks(void **state)
{
    ofl_key *gen = NULL, **got = NULL;
    ofl_kdf kdf;
    size_t n = 0;
    char dir[512], link[512], slash[520];
    ob_diag d;

    (void)state;
    assert_int_equal(ofl_key_generate(3, &gen, &d), OB_OK);
    snprintf(dir, sizeof(dir), "%s/linked-hsdir", tmpdir);
    assert_int_equal(mkdir(dir, 0700), 0);
    write_tor_secret(tpath("linked-hsdir/hs_ed25519_secret_key"), ofl_key_ed25519_expanded(gen));
    snprintf(link, sizeof(link), "%s/hsdir-link", tmpdir);
    assert_int_equal(symlink(dir, link), 0);
    snprintf(slash, sizeof(slash), "%s/", link);
    assert_int_equal(ofl_keyfile_detect(dir), OFL_KEYFILE_TOR_DIR);
    assert_int_equal(ofl_keyfile_detect(link), OFL_KEYFILE_UNKNOWN);
    assert_int_equal(ofl_keyfile_detect(slash), OFL_KEYFILE_UNKNOWN);
    assert_int_equal(ofl_keystore_load_all(dir, NULL, &got, &n, &d), OB_OK);
    ofl_keys_free(got, n);
    got = NULL;
    n = 0;
    assert_int_equal(ofl_keystore_load_all(link, NULL, &got, &n, &d), OB_ERR_IO);
    assert_non_null(strstr(d.msg, "symbolic link"));
    assert_int_equal(ofl_keystore_load_all(slash, NULL, &got, &n, &d), OB_ERR_IO);
    assert_non_null(strstr(d.msg, "symbolic link"));
    assert_null(got);

    /* A link to a store file. */
    ofl_kdf_default(&kdf);
    unlink(tpath("linked-store"));
    assert_int_equal(ofl_keystore_write(tpath("linked-store"), &gen, 1, "correct horse", 13, &kdf,
                                        OB_WRITE_EXCL, &d),
                     OB_OK);
    assert_int_equal(symlink(tpath("linked-store"), tpath("store-link")), 0);
    put_file(tpath("pass"), "correct horse\n", 14);
    assert_int_equal(ofl_keystore_load_all(tpath("store-link"), tpath("pass"), &got, &n, &d),
                     OB_ERR_IO);
    assert_non_null(strstr(d.msg, "symbolic link"));
    assert_int_equal(ofl_keyfile_detect(tpath("store-link")), OFL_KEYFILE_UNKNOWN);
    ofl_key_free(gen);
}

/* Flip one byte at off and expect err (the passphrase is right). */
static void expect_tamper(const uint8_t *orig, size_t len, size_t off, ob_err err,
                          const char *needle)
{
    uint8_t *c = malloc(len);
    ofl_key **got = NULL;
    size_t n = 0;
    ob_diag d;

    assert_non_null(c);
    memcpy(c, orig, len);
    c[off] ^= 0x01;
    put_file(tpath("tampered"), c, len);
    ob_diag_clear(&d);
    assert_int_equal(ofl_keystore_load_all(tpath("tampered"), tpath("pass"), &got, &n, &d), err);
    assert_non_null(strstr(d.msg, needle));
    assert_null(got);
    free(c);
}

static void test_store_tamper(void **state)
{
    ofl_key *gen = NULL, **got = NULL;
    uint8_t *orig, *c;
    size_t len = 0, n = 0;
    ofl_kdf kdf;
    ob_diag d;

    (void)state;
    assert_int_equal(ofl_key_generate(3, &gen, &d), OB_OK);
    ofl_kdf_default(&kdf);
    unlink(tpath("store1"));
    assert_int_equal(
        ofl_keystore_write(tpath("store1"), &gen, 1, "correct horse", 13, &kdf, OB_WRITE_EXCL, &d),
        OB_OK);
    put_file(tpath("pass"), "correct horse\n", 14);
    orig = get_file(tpath("store1"), &len);
    assert_int_equal(len, 72 + 2 + 1 + 1 + 56 + 2 + 96 + 16);

    expect_tamper(orig, len, 8, OB_ERR_UNSUPPORTED, "format version");
    expect_tamper(orig, len, 9, OB_ERR_UNSUPPORTED, "KDF");
    expect_tamper(orig, len, 21, OB_ERR_RANGE, "memlimit");
    expect_tamper(orig, len, 19, OB_ERR_PASSPHRASE, "wrong passphrase"); /* opslimit 2 -> 3 */
    expect_tamper(orig, len, 30, OB_ERR_PASSPHRASE, "wrong passphrase"); /* salt */
    expect_tamper(orig, len, 50, OB_ERR_PASSPHRASE, "wrong passphrase"); /* nonce */
    expect_tamper(orig, len, 70, OB_ERR_TRUNCATED, "offset 68");         /* length + 256 */
    expect_tamper(orig, len, 100, OB_ERR_PASSPHRASE, "corrupted");       /* ciphertext */
    expect_tamper(orig, len, len - 1, OB_ERR_PASSPHRASE, "corrupted");   /* tag */

    /* Truncated and extended files. */
    put_file(tpath("tampered"), orig, len - 1);
    assert_int_equal(ofl_keystore_load_all(tpath("tampered"), tpath("pass"), &got, &n, &d),
                     OB_ERR_TRUNCATED);
    put_file(tpath("tampered"), orig, 40);
    assert_int_equal(ofl_keystore_load_all(tpath("tampered"), tpath("pass"), &got, &n, &d),
                     OB_ERR_TRUNCATED);
    c = malloc(len + 1);
    assert_non_null(c);
    memcpy(c, orig, len);
    c[len] = 0;
    put_file(tpath("tampered"), c, len + 1);
    assert_int_equal(ofl_keystore_load_all(tpath("tampered"), tpath("pass"), &got, &n, &d),
                     OB_ERR_MALFORMED);
    free(c);
    free(orig);
    ofl_key_free(gen);
}

static void test_rsa(void **state)
{
    ofl_key *gen = NULL, *k = NULL;
    EVP_PKEY *big = NULL;
    unsigned char *der = NULL;
    uint8_t h[20];
    char want[OB_ONION_V2_LEN + 1];
    int derlen;
    FILE *f;
    struct stat st;
    ob_diag d;

    (void)state;
    assert_int_equal(ofl_key_generate(2, &gen, &d), OB_OK);
    assert_int_equal(ofl_key_version(gen), 2);
    assert_non_null(ofl_key_rsa(gen));
    assert_null(ofl_key_ed25519_expanded(gen));
    /* Address = base32(SHA1(PKCS#1 public key)[:10]), computed here independently. */
    derlen = i2d_PublicKey(ofl_key_rsa(gen), &der);
    assert_true(derlen > 0);
    assert_non_null(EVP_Q_digest(NULL, "SHA1", NULL, der, (size_t)derlen, h, NULL));
    OPENSSL_free(der);
    ob_base32_encode(want, h, 10);
    assert_string_equal(ofl_key_address(gen), want);

    put_file(tpath("pass"), "correct horse\n", 14);
    put_file(tpath("wrong"), "correct horsf\n", 14);
    unlink(tpath("rsa.pem"));
    assert_int_equal(
        ofl_key_write_rsa(tpath("rsa.pem"), gen, "correct horse", 13, OB_WRITE_EXCL, &d), OB_OK);
    assert_int_equal(stat(tpath("rsa.pem"), &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(ofl_key_load(tpath("rsa.pem"), tpath("pass"), &k, &d), OB_OK);
    assert_string_equal(ofl_key_address(k), want);
    assert_int_equal(EVP_PKEY_eq(ofl_key_rsa(k), ofl_key_rsa(gen)), 1);
    ofl_key_free(k);
    k = NULL;
    assert_int_equal(ofl_key_load(tpath("rsa.pem"), tpath("wrong"), &k, &d), OB_ERR_PASSPHRASE);
    assert_non_null(strstr(d.msg, "wrong passphrase"));

    unlink(tpath("rsa-plain.pem"));
    assert_int_equal(ofl_key_write_rsa(tpath("rsa-plain.pem"), gen, NULL, 0, OB_WRITE_EXCL, &d),
                     OB_OK);
    assert_int_equal(ofl_key_load(tpath("rsa-plain.pem"), NULL, &k, &d), OB_OK);
    assert_string_equal(ofl_key_address(k), want);
    ofl_key_free(k);
    k = NULL;

    /* tor v2 needs 1024 bits: a 2048-bit key is refused by name. */
    big = EVP_RSA_gen(2048);
    assert_non_null(big);
    f = fopen(tpath("rsa2048.pem"), "w");
    assert_non_null(f);
    assert_int_equal(PEM_write_PrivateKey(f, big, NULL, NULL, 0, NULL, NULL), 1);
    fclose(f);
    assert_int_equal(ofl_key_load(tpath("rsa2048.pem"), NULL, &k, &d), OB_ERR_UNSUPPORTED);
    assert_non_null(strstr(d.msg, "1024"));
    assert_null(k);
    EVP_PKEY_free(big);
    ofl_key_free(gen);
}

static void test_ed25519_pem_write(void **state)
{
    ofl_key *gen = NULL, *k = NULL;
    uint8_t exp[64];
    ob_diag d;

    (void)state;
    assert_int_equal(ofl_key_generate(3, &gen, &d), OB_OK);
    unlink(tpath("ed.pem"));
    assert_int_equal(ofl_key_write_ed25519_pem(tpath("ed.pem"), gen, OB_WRITE_EXCL, &d), OB_OK);
    assert_int_equal(ofl_key_load(tpath("ed.pem"), NULL, &k, &d), OB_OK);
    assert_string_equal(ofl_key_address(k), ofl_key_address(gen));
    ofl_key_free(k);
    k = NULL;
    /* A tor key has no seed, so it cannot become an OnionBalance PEM. */
    memcpy(exp, ofl_key_ed25519_expanded(gen), 64);
    write_tor_secret(tpath("torkey"), exp);
    assert_int_equal(ofl_key_load(tpath("torkey"), NULL, &k, &d), OB_OK);
    assert_int_equal(ofl_key_write_ed25519_pem(tpath("ed2.pem"), k, OB_WRITE_EXCL, &d),
                     OB_ERR_UNSUPPORTED);
    ofl_key_free(k);
    ofl_key_free(gen);
}

static void test_passphrase_file(void **state)
{
    char *p = NULL;
    size_t n = 0;
    ob_diag d;

    (void)state;
    put_file(tpath("p1"), "secret\r\nsecond line\n", 20);
    assert_int_equal(ofl_pass_read(tpath("p1"), "", &p, &n, &d), OB_OK);
    assert_int_equal(n, 6);
    assert_string_equal(p, "secret");
    ofl_pass_free(p);
    p = NULL;
    put_file(tpath("p2"), "no newline", 10);
    assert_int_equal(ofl_pass_read(tpath("p2"), "", &p, &n, &d), OB_OK);
    assert_string_equal(p, "no newline");
    ofl_pass_free(p);
    p = NULL;
    put_file(tpath("p3"), "\nsecret\n", 8);
    assert_int_equal(ofl_pass_read(tpath("p3"), "", &p, &n, &d), OB_ERR_PASSPHRASE);
    assert_non_null(strstr(d.msg, "empty"));
    put_file(tpath("p4"), "", 0);
    assert_int_equal(ofl_pass_read(tpath("p4"), "", &p, &n, &d), OB_ERR_PASSPHRASE);
    put_file(tpath("p5"), "a\0b\n", 4);
    assert_int_equal(ofl_pass_read(tpath("p5"), "", &p, &n, &d), OB_ERR_PASSPHRASE);
    assert_int_equal(ofl_pass_read(tpath("missing"), "", &p, &n, &d), OB_ERR_IO);
    assert_null(p);
}

static int teardown(void **state)
{
    char cmd[600];

    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ed25519_vectors),   cmocka_unit_test(test_tor_secret_bad),
        cmocka_unit_test(test_tor_dir),           cmocka_unit_test(test_store_roundtrip),
        cmocka_unit_test(test_store_tamper),      cmocka_unit_test(test_rsa),
        cmocka_unit_test(test_ed25519_pem_write), cmocka_unit_test(test_passphrase_file),
        cmocka_unit_test(test_store_test_mark),   cmocka_unit_test(test_store_real_cost),
        cmocka_unit_test(test_store_rewrite),     cmocka_unit_test(test_store_one_block),
        cmocka_unit_test(test_key_symlinks),
    };

    if (ob_secmem_init() != 0 || mkdtemp(tmpdir) == NULL)
        return 1;
    setenv("OB_INSECURE_TEST_KDF", "1", 1);
    return cmocka_run_group_tests(tests, NULL, teardown);
}

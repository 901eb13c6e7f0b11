/*
 * fuzz_keys.c - every key format the programs read (offline/keystore.c and
 * the client-key reader, ob_hsv3_client_key_read in format/hs), through the
 * same calls the programs make on files.
 *
 * The readers take paths (a tor HiddenServiceDir is a directory), so the
 * target writes the input to files in a private temporary directory and
 * loads them; the passphrase always comes from a file (never the terminal).
 * The first byte picks the form, the rest is the content:
 *   mode 0  a key file as it is: our encrypted store, tor's
 *           hs_ed25519_secret_key, PEM (OnionBalance's PKCS#8 Ed25519, RSA
 *           traditional or PKCS#8, plain or encrypted).  A store whose
 *           header asks for more than a cheap Argon2id is only detected, not
 *           opened (the header check itself caps the cost at what a real
 *           store may ask, seconds per try).
 *   mode 1  the plaintext of an encrypted store: sealed with the cheapest
 *           Argon2id the format allows (a store marked as made with the test
 *           KDF), so the entry parser gets fuzzed bytes past the AEAD
 *   mode 2  a v3 HiddenServiceDir: u16 length | hs_ed25519_secret_key |
 *           u16 length | hs_ed25519_public_key | hostname (length 0xffff
 *           or, for the hostname, nothing: no such file)
 *   mode 3  a v2 HiddenServiceDir: u16 length | private_key | hostname
 *   mode 4  a client authorization key (config client_auth_key)
 *   mode 5  an entry of ob-online's delegated key store (online/dkeys.h),
 *           its SHA-256 re-sealed, stored under the name its address, period
 *           and state give, then loaded, listed and looked up as pending
 * Bit 3 of the first byte gives the wrong passphrase.
 *
 *   make fuzz && build/fuzz/fuzz_keys -max_len=16384 tests/fuzz/corpus/fuzz_keys
 *
 * Seeds: keys of each form (make_seeds.sh; a few made with openssl).
 *
 * Beyond "no crash": every key loaded is version 2 or 3 and its address is
 * the one its public key gives; a v3 key's expanded secret gives its
 * public key; a store yields as many keys as its count says; a delegated
 * key that loads is the certified key of the period asked for, its secret
 * half matches its public key, and its certificate certifies that key.
 */
#include <dirent.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "crypto.h"
#include "dkeys.h"
#include "ed25519x.h"
#include "encode.h"
#include "fzutil.h"
#include "hsv3_sign_desc.h"
#include "keystore.h"
#include "onion.h"
#include "secmem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The cheapest store Argon2id allows: one pass over 8 KiB. */
#define CHEAP_OPS 1u
#define CHEAP_MEM 8192u
#define STORE_HDR 72

/* Delegated keys: the store, and the clock they are loaded at (2022). */
#define DKEY_NOW  1641686400u
#define DKEY_ADDR "pg2vmlup4zkpsqdywejorkmlu6ib7bj242k35v7a4oiqxlieszspudyd"

static char dir[4096], dstore[4200];
static char pass_ok[4200], pass_bad[4200];
static uint8_t store_key[32];
static const uint8_t store_salt[16] = "fuzz store salt";

static void rm_tree(const char *path)
{
    DIR *dp = opendir(path);
    struct dirent *e;
    char p[8300];

    if (dp == NULL)
        return;
    while ((e = readdir(dp)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
        if (unlink(p) != 0)
            rm_tree(p);
    }
    closedir(dp);
    rmdir(path);
}

static void cleanup(void)
{
    rm_tree(dir);
}

static void write_file(const char *name, const uint8_t *p, size_t n)
{
    char path[8300];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "wb");
    if (f == NULL || (n > 0 && fwrite(p, 1, n, f) != n) || fclose(f) != 0)
        abort();
    chmod(path, 0600);
}

static void setup(void)
{
    const char *tmp = getenv("TMPDIR");
    FILE *f;

    snprintf(dir, sizeof(dir), "%s/ob-fuzz-keys.XXXXXX", tmp != NULL && tmp[0] ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL)
        abort();
    atexit(cleanup);
    /* The delegated store must be absolute, else dkeys.c uses the user's own. */
    if (dir[0] != '/') {
        char *abs = realpath(dir, NULL);
        if (abs == NULL)
            abort();
        snprintf(dir, sizeof(dir), "%s", abs);
        free(abs);
    }
    snprintf(dstore, sizeof(dstore), "%s/delegated", dir);
    if (setenv("OB_DELEGATED_STORE", dstore, 1) != 0)
        abort();
    snprintf(pass_ok, sizeof(pass_ok), "%s/pass-ok", dir);
    snprintf(pass_bad, sizeof(pass_bad), "%s/pass-bad", dir);
    if ((f = fopen(pass_ok, "w")) == NULL || fputs("correct horse battery staple\n", f) < 0 ||
        fclose(f) != 0 || (f = fopen(pass_bad, "w")) == NULL || fputs("wrong\n", f) < 0 ||
        fclose(f) != 0)
        abort();
    if (crypto_pwhash(store_key, 32, "correct horse battery staple", 28, store_salt, CHEAP_OPS,
                      CHEAP_MEM, crypto_pwhash_ALG_ARGON2ID13) != 0)
        abort();
}

static void check_key(const ofl_key *k)
{
    char addr[OB_ONION_V3_LEN + 1];
    uint8_t pk[32];

    if (ofl_key_version(k) == 3) {
        ob_onion_v3_encode(addr, ofl_key_ed25519_public(k));
        if (ob_ed25519_pub_from_expanded(pk, ofl_key_ed25519_expanded(k)) != 0 ||
            memcmp(pk, ofl_key_ed25519_public(k), 32) != 0 || strcmp(addr, ofl_key_address(k)) != 0)
            abort();
    } else if (ofl_key_version(k) == 2) {
        if (ofl_key_rsa(k) == NULL || strlen(ofl_key_address(k)) != OB_ONION_V2_LEN)
            abort();
    } else {
        abort();
    }
}

static void load(const char *name, const char *passfile, size_t want)
{
    char path[8300];
    ofl_key **keys = NULL;
    size_t n = 0, i;
    ob_diag d;
    ob_err e;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    (void)ofl_keyfile_detect(path);
    e = ofl_keystore_load_all(path, passfile, &keys, &n, &d);
    fz_note("load", e, &d);
    if (e != OB_OK) {
        if (keys != NULL || n != 0)
            abort();
        return;
    }
    if (n == 0 || (want != 0 && n != want))
        abort();
    for (i = 0; i < n; i++)
        check_key(keys[i]);
    ofl_keys_free(keys, n);
}

/* Is this store header cheap enough to open on every input? */
static int cheap_store(const uint8_t *p, size_t n)
{
    return n >= STORE_HDR && memcmp(p, "OBKSTORE", 8) == 0 && ob_load_u64(p + 12) <= 2 &&
           ob_load_u64(p + 20) <= 65536;
}

static void mode_raw(const uint8_t *p, size_t n, const char *passfile)
{
    write_file("key", p, n);
    if (n >= 8 && memcmp(p, "OBKSTORE", 8) == 0 && !cheap_store(p, n)) {
        char path[8300];
        snprintf(path, sizeof(path), "%s/key", dir);
        (void)ofl_keyfile_detect(path);
        return;
    }
    load("key", passfile, 0);
}

static void mode_store(const uint8_t *pt, size_t n, const char *passfile)
{
    uint8_t *file = malloc(STORE_HDR + n + 16);
    unsigned long long clen = 0;
    uint16_t count = n >= 2 ? ob_load_u16(pt) : 0;

    if (file == NULL)
        abort();
    /* flags 1: a test store, the only kind allowed a cheap Argon2id */
    memcpy(file, "OBKSTORE\x01\x01\x01\x01", 12);
    ob_store_u64(file + 12, CHEAP_OPS);
    ob_store_u64(file + 20, CHEAP_MEM);
    memcpy(file + 28, store_salt, 16);
    memset(file + 44, 0x5a, 24);
    ob_store_u32(file + 68, (uint32_t)(n + 16));
    if (crypto_aead_xchacha20poly1305_ietf_encrypt(file + STORE_HDR, &clen, pt, n, file, STORE_HDR,
                                                   NULL, file + 44, store_key) != 0)
        abort();
    write_file("store", file, STORE_HDR + (size_t)clen);
    free(file);
    load("store", passfile, count);
}

/* Split off a u16-length-prefixed part; 0xffff: absent (*present = 0). */
static int part(ob_cur *c, const uint8_t **p, size_t *n, int *present)
{
    uint16_t len;

    if (ob_cur_get_u16(c, &len) != 0)
        return -1;
    *present = len != 0xffff;
    *n = 0;
    *p = NULL;
    if (!*present)
        return 0;
    *n = len;
    return ob_cur_borrow(c, len, p);
}

static void mode_dir(const uint8_t *in, size_t n, int v3, const char *passfile)
{
    char sub[8300];
    const uint8_t *p;
    size_t len;
    int present;
    ob_cur c;

    snprintf(sub, sizeof(sub), "%s/hsdir", dir);
    rm_tree(sub);
    if (mkdir(sub, 0700) != 0)
        abort();
    ob_cur_init(&c, in, n);
    if (part(&c, &p, &len, &present) != 0)
        return;
    if (present)
        write_file(v3 ? "hsdir/hs_ed25519_secret_key" : "hsdir/private_key", p, len);
    if (v3) {
        if (part(&c, &p, &len, &present) != 0)
            return;
        if (present)
            write_file("hsdir/hs_ed25519_public_key", p, len);
    }
    if (!ob_cur_is_empty(&c))
        write_file("hsdir/hostname", ob_cur_ptr(&c), ob_cur_left(&c));
    load("hsdir", passfile, 1);
}

static void mode_client(const uint8_t *p, size_t n)
{
    char path[8300];
    uint8_t sk[32];
    ob_diag d;
    ob_err e;

    write_file("client", p, n);
    snprintf(path, sizeof(path), "%s/client", dir);
    e = ob_hsv3_client_key_read(path, sk, &d);
    fz_note("client key", e, &d);
}

static void check_dkey(const onl_dkey *k, const char *addr, uint64_t tp)
{
    uint8_t pk[32];
    ob_ed_cert c;
    ob_diag d;

    if (k->state != ONL_DKEY_CERTIFIED || k->tp != tp || strcmp(k->address, addr) != 0 ||
        ob_ed25519_pub_from_expanded(pk, k->sign_exp) != 0 || memcmp(pk, k->sign_pk, 32) != 0 ||
        ob_ed_cert_parse(&c, k->cert, k->cert_len, &d) != OB_OK ||
        memcmp(c.certified, k->sign_pk, 32) != 0 || k->cert_expires <= DKEY_NOW)
        abort();
}

static int b32_name(const uint8_t *p, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= '2' && p[i] <= '7')))
            return 0;
    return 1;
}

static void mode_dkey(const uint8_t *in, size_t n)
{
    char addr[OB_ONION_V3_LEN + 1], sub[8300], name[128], hex[17];
    uint8_t *e = malloc(n > 0 ? n : 1), pk[32];
    uint64_t tp = n >= 74 ? ob_load_u64(in + 66) : 0;
    int pending = n >= 10 && in[9] == ONL_DKEY_PENDING;
    onl_dkey *k = NULL;
    onl_dkey_list l;
    ob_diag d;
    ob_err err;

    if (e == NULL)
        abort();
    memcpy(e, in, n);
    if (n >= 40 && ob_sha256_buf(e + n - 32, e, n - 32) != 0)
        abort();
    if (n >= 66 && b32_name(e + 10, OB_ONION_V3_LEN))
        memcpy(addr, e + 10, OB_ONION_V3_LEN);
    else
        memcpy(addr, DKEY_ADDR, OB_ONION_V3_LEN);
    addr[OB_ONION_V3_LEN] = '\0';
    memset(pk, 0, sizeof(pk));
    if (n >= 154)
        memcpy(pk, e + 122, 32);
    ob_hex_encode(hex, pk, 8);
    if (pending)
        snprintf(name, sizeof(name), "%llu-%s.pending", (unsigned long long)tp, hex);
    else
        snprintf(name, sizeof(name), "%llu.key", (unsigned long long)tp);
    rm_tree(dstore);
    snprintf(sub, sizeof(sub), "%s/%s", dstore, addr);
    if (mkdir(dstore, 0700) != 0 || mkdir(sub, 0700) != 0)
        abort();
    snprintf(sub, sizeof(sub), "delegated/%s/%s", addr, name);
    write_file(sub, e, n);
    free(e);
    err = onl_dkey_load(NULL, addr, tp, DKEY_NOW, &k, &d);
    fz_note("dkey load", err, &d);
    if (err == OB_OK)
        check_dkey(k, addr, tp);
    onl_dkey_free(k);
    k = NULL;
    err = onl_dkeys_list(NULL, addr, &OB_TP_LIVE, DKEY_NOW, &l, &d);
    fz_note("dkey list", err, &d);
    if (err == OB_OK)
        onl_dkey_list_free(&l);
    if (pending) {
        err = onl_dkey_find_pending(NULL, addr, tp, pk, &k, &d);
        fz_note("dkey pending", err, &d);
        if (err == OB_OK && (k->state != ONL_DKEY_PENDING || k->tp != tp ||
                             memcmp(k->sign_pk, pk, 32) != 0 || k->sign_exp == NULL))
            abort();
        onl_dkey_free(k);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int inited;
    const char *passfile;

    if (!inited) {
        if (ob_secmem_init() != 0 || ofl_keystore_init_openssl() != 0)
            abort();
        setup();
        inited = 1;
    }
    if (size < 1 || size > (1u << 20))
        return 0;
    passfile = (data[0] & 8) ? pass_bad : pass_ok;
    switch (data[0] & 7) {
    case 1:
        mode_store(data + 1, size - 1, passfile);
        break;
    case 2:
        mode_dir(data + 1, size - 1, 1, passfile);
        break;
    case 3:
        mode_dir(data + 1, size - 1, 0, passfile);
        break;
    case 4:
        mode_client(data + 1, size - 1);
        break;
    case 5:
        mode_dkey(data + 1, size - 1);
        break;
    default:
        mode_raw(data + 1, size - 1, passfile);
        break;
    }
    return 0;
}

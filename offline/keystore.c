/*
 * keystore.c - master keys: every supported input format, generation, and
 * our encrypted store.
 *
 * Encrypted store, version 1 (docs/keys.rst has the full description):
 *
 *   offset size  field
 *      0     8   magic "OBKSTORE"
 *      8     1   format version = 1
 *      9     1   KDF id = 1 (Argon2id v1.3, libsodium crypto_pwhash)
 *     10     1   AEAD id = 1 (XChaCha20-Poly1305-IETF)
 *     11     1   flags: 0, or 1 = made with the insecure test KDF
 *                (OB_INSECURE_TEST_KDF=1); any other bit is refused
 *     12     8   opslimit (big-endian)
 *     20     8   memlimit in bytes (big-endian)
 *     28    16   salt
 *     44    24   nonce
 *     68     4   ciphertext length C (big-endian, includes the 16-byte tag)
 *     72     C   AEAD(key = Argon2id(passphrase, salt), ad = bytes 0..71)
 *
 *   plaintext: u16 count (1..OFL_STORE_MAX_KEYS), then count entries of
 *     u8 type (1 = ed25519 expanded) | u8 label length | label (onion
 *     address, no ".onion") | u16 key length | key (type 1: a|RH (64) |
 *     public key (32))
 *
 * Nothing may follow the ciphertext or the last entry.  A store without
 * flag 1 must cost at least libsodium's MODERATE limits.
 *
 * In memory: the secrets of all the keys of one store share one guarded,
 * locked block (a key_arena, one ob_secalloc()), 64 bytes per key; a key
 * made or read on its own gets a block of its own.  One block instead of
 * one per key: libsodium maps every block with guard pages of its own
 * (thousands of blocks exhaust the process's memory mappings) and locks at
 * least a page for each (4 KiB per 96-byte key against RLIMIT_MEMLOCK).
 */
#include "keystore.h"

#include "buf.h"
#include "cli.h"
#include "crypto.h"
#include "encode.h"
#include "fileio.h"
#include "onion.h"
#include "passphrase.h"
#include "secmem.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define STORE_MAGIC         "OBKSTORE"
#define STORE_MAGIC_LEN     8
#define STORE_VERSION       1
#define STORE_KDF_ARGON     1
#define STORE_AEAD_XCP      1
#define STORE_HDR_LEN       72
#define STORE_SALT_LEN      16
#define STORE_NONCE_LEN     24
#define STORE_TAG_LEN       16
#define ENTRY_ED25519       1
#define ED_ENTRY_LEN        96
#define ED_ENTRY_MIN        (4 + OB_ONION_V3_LEN + ED_ENTRY_LEN) /* a whole entry: 156 bytes */
#define STORE_FLAG_TEST_KDF 1
#define KEYFILE_MAX         (4 * 1024 * 1024) /* 20000 keys of 156 bytes fit */
/* Refuse absurd costs from a crafted header before allocating anything. */
#define KDF_OPS_MAX 64
#define KDF_MEM_MAX (4ULL * 1024 * 1024 * 1024)

#define TOR_SECRET_HDR "== ed25519v1-secret: type0 =="
#define TOR_PUBLIC_HDR "== ed25519v1-public: type0 =="
#define TOR_HDR_LEN    32

/* PKCS#8 PrivateKeyInfo for Ed25519 (RFC 8410) up to the 32-byte seed. */
static const uint8_t ed_pkcs8_prefix[16] = { 0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06,
                                             0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20 };

/* scrypt cost of written v2 keys: OpenSSL's own default for `openssl pkcs8
 * -scrypt`, which stays under the 32 MiB that OpenSSL allows when reading. */
#define SCRYPT_N 16384
#define SCRYPT_R 8
#define SCRYPT_P 1

/*
 * A guarded, locked block holding the secrets of one or more keys, freed
 * when its last key is.  Keys are freed one by one (ofl_keys_free(), or the
 * keyring, which mixes keys of several files), hence the count.  Keys may
 * be read from any thread; they are made and freed by one.
 */
typedef struct key_arena {
    uint8_t *mem; /* ob_secalloc() */
    size_t refs;  /* keys pointing into mem */
} key_arena;

struct ofl_key {
    int version;
    char address[OB_ONION_V3_LEN + 1];
    uint8_t pub[32];  /* v3 public key: not secret */
    uint8_t *sec;     /* v3: expanded a|RH (64) [| seed (32) if has_seed], in arena */
    key_arena *arena; /* v3 */
    int has_seed;
    EVP_PKEY *rsa; /* v2 */
};

#define SEC_EXP        0
#define SEC_SEED       64
#define SLOT_STORE     64 /* a stored key has no seed */
#define SLOT_WITH_SEED 96

/* ---- the key object ---- */

static key_arena *arena_new(size_t slots, size_t slot_len)
{
    key_arena *a = calloc(1, sizeof(*a));

    if (a == NULL)
        return NULL;
    if ((a->mem = ob_secalloc(slots * slot_len)) == NULL) {
        free(a);
        return NULL;
    }
    memset(a->mem, 0, slots * slot_len);
    a->refs = 1; /* the creator's; arena_put() it when done handing out keys */
    return a;
}

static void arena_put(key_arena *a)
{
    if (a != NULL && --a->refs == 0) {
        ob_secfree(a->mem); /* wipes */
        free(a);
    }
}

/* A v3 key whose secrets are at a->mem + off; NULL: out of memory. */
static ofl_key *key_in_arena(key_arena *a, size_t off)
{
    ofl_key *k = calloc(1, sizeof(*k));

    if (k == NULL)
        return NULL;
    k->version = 3;
    k->arena = a;
    k->sec = a->mem + off;
    a->refs++;
    return k;
}

/* A key on its own (v3: an arena of one slot, room for a seed); NULL: ob_secmem_fail(). */
static ofl_key *key_new(int version)
{
    key_arena *a = NULL;
    ofl_key *k = NULL;

    if (version != 3) {
        if ((k = calloc(1, sizeof(*k))) != NULL)
            k->version = version;
        return k;
    }
    if ((a = arena_new(1, SLOT_WITH_SEED)) == NULL)
        return NULL;
    k = key_in_arena(a, 0);
    arena_put(a);
    return k;
}

void ofl_key_free(ofl_key *k)
{
    if (k == NULL)
        return;
    if (k->arena != NULL) {
        ob_wipe(k->sec, k->has_seed ? SLOT_WITH_SEED : SLOT_STORE);
        arena_put(k->arena);
    }
    EVP_PKEY_free(k->rsa); /* clears the secure-heap BIGNUMs */
    free(k);
}

void ofl_keys_free(ofl_key **keys, size_t n)
{
    size_t i;

    if (keys == NULL)
        return;
    for (i = 0; i < n; i++)
        ofl_key_free(keys[i]);
    free(keys);
}

int ofl_key_version(const ofl_key *k)
{
    return k->version;
}

const char *ofl_key_address(const ofl_key *k)
{
    return k->address;
}

const uint8_t *ofl_key_ed25519_expanded(const ofl_key *k)
{
    return k->version == 3 ? k->sec + SEC_EXP : NULL;
}

const uint8_t *ofl_key_ed25519_public(const ofl_key *k)
{
    return k->version == 3 ? k->pub : NULL;
}

EVP_PKEY *ofl_key_rsa(const ofl_key *k)
{
    return k->version == 2 ? k->rsa : NULL;
}

int ofl_keystore_init_openssl(void)
{
    int r;

    /* 256 KiB of locked memory is plenty for a few RSA-1024 keys and the
     * temporaries OpenSSL makes while signing with them. */
    if (CRYPTO_secure_malloc_initialized())
        return 0;
    r = CRYPTO_secure_malloc_init(OFL_OPENSSL_HEAP, 16);
    if (r == 2 && !ob_secmem_swap_allowed()) {
        /* Set up, but mlock() failed: as ob_secalloc(), refuse unlocked secrets. */
        CRYPTO_secure_malloc_done();
        return -1;
    }
    return r == 0 ? -1 : 0;
}

ob_err ofl_secure_heap_init(ob_diag *d)
{
    ob_err e;

    if (ofl_keystore_init_openssl() == 0)
        return OB_OK;
    e = ob_secmem_expect(OFL_OPENSSL_HEAP, d);
    return e != OB_OK ? e : ob_fail(d, OB_ERR_NOMEM, "cannot set up OpenSSL's secure heap");
}

void ofl_allow_swap(void)
{
    ob_secmem_allow_swap(1);
    ob_msg("warning: --allow-swap: secrets that cannot be locked in memory will be used anyway "
           "and may be written to swap (keep swap off or encrypted)");
}

void ofl_warn_unlocked(void)
{
    static size_t warned;
    size_t n = ob_secmem_unlocked_bytes();

    if (n > warned) {
        ob_msg("warning: %zu KiB of secrets so far were held in memory that is NOT locked and "
               "may have been swapped to disk (RLIMIT_MEMLOCK too low; --allow-swap given)",
               (n + 1023) / 1024);
        warned = n;
    }
}

/* k->sec + SEC_EXP holds a|RH: derive the public key and the address. */
static ob_err ed_finish(ofl_key *k, ob_diag *d)
{
    if (crypto_scalarmult_ed25519_base_noclamp(k->pub, k->sec + SEC_EXP) != 0)
        return ob_fail(d, OB_ERR_VERIFY, "ed25519 secret scalar is zero or invalid");
    ob_onion_v3_encode(k->address, k->pub);
    return OB_OK;
}

/* Seed (at k->sec + SEC_SEED) -> expanded key as RFC 8032 and tor do it: SHA-512, clamp. */
static ob_err ed_from_seed(ofl_key *k, ob_diag *d)
{
    uint8_t *e = k->sec + SEC_EXP;

    crypto_hash_sha512(e, k->sec + SEC_SEED, 32);
    e[0] &= 248;
    e[31] &= 127;
    e[31] |= 64;
    k->has_seed = 1;
    return ed_finish(k, d);
}

static ob_err rsa_finish(ofl_key *k, EVP_PKEY *pk, const char *what, ob_diag *d)
{
    unsigned char *der = NULL;
    int derlen, bits;

    if (EVP_PKEY_get_base_id(pk) != EVP_PKEY_RSA)
        return ob_fail(d, OB_ERR_UNSUPPORTED, "%s: not an RSA or Ed25519 key", what);
    bits = EVP_PKEY_get_bits(pk);
    if (bits != 1024)
        return ob_fail(d, OB_ERR_UNSUPPORTED,
                       "%s: RSA key has %d bits; v2 onion services need 1024-bit RSA", what, bits);
    /* For RSA, i2d_PublicKey() is the PKCS#1 RSAPublicKey the address hashes. */
    derlen = i2d_PublicKey(pk, &der);
    if (derlen <= 0)
        return ob_fail(d, OB_ERR_CRYPTO, "%s: cannot encode the RSA public key", what);
    ob_onion_v2_from_der(k->address, der, (size_t)derlen);
    OPENSSL_free(der);
    k->rsa = pk;
    return OB_OK;
}

ob_err ofl_key_generate(int version, ofl_key **out, ob_diag *d)
{
    ofl_key *k = NULL;
    EVP_PKEY *pk = NULL;
    ob_err e;

    *out = NULL;
    if (version != 2 && version != 3)
        return ob_fail(d, OB_ERR_UNSUPPORTED, "--version must be 3 or 2");
    if ((k = key_new(version)) == NULL)
        return version == 3 ? ob_secmem_fail(d) : ob_fail(d, OB_ERR_NOMEM, "out of memory");
    if (version == 3) {
        ob_random(k->sec + SEC_SEED, 32);
        e = ed_from_seed(k, d);
    } else {
        if ((e = ofl_secure_heap_init(d)) != OB_OK)
            goto out;
        if ((pk = EVP_RSA_gen(1024)) == NULL) {
            e = ob_fail(d, OB_ERR_CRYPTO, "RSA key generation failed");
            goto out;
        }
        e = rsa_finish(k, pk, "new key", d);
        if (e == OB_OK)
            pk = NULL; /* owned by k */
    }
out:
    EVP_PKEY_free(pk);
    if (e == OB_OK)
        *out = k;
    else
        ofl_key_free(k);
    return e;
}

/* ---- passphrase retries ---- */

typedef ob_err (*try_fn)(void *ctx, const char *pass, size_t n, ob_diag *d);

/*
 * Ask for the passphrase (file: once; terminal: up to OFL_PASS_TRIES times
 * while fn says it is wrong) and run fn with it.
 */
static ob_err with_passphrase(const char *path, const char *passfile, try_fn fn, void *ctx,
                              ob_diag *d)
{
    char prompt[512];
    char *p = NULL;
    size_t n = 0;
    int i, tries = passfile != NULL ? 1 : OFL_PASS_TRIES;
    ob_err e = OB_ERR_PASSPHRASE;

    for (i = 0; i < tries; i++) {
        snprintf(prompt, sizeof(prompt),
                 "%sPassphrase for %s: ", i > 0 ? "Wrong passphrase; try again.\n" : "", path);
        e = ofl_pass_read(passfile, prompt, &p, &n, d);
        if (e == OB_ERR_PASSPHRASE && passfile == NULL)
            continue; /* an empty line on the terminal uses up a try */
        if (e != OB_OK)
            break;
        e = fn(ctx, p, n, d);
        ofl_pass_free(p);
        p = NULL;
        if (e != OB_ERR_PASSPHRASE)
            break;
    }
    return e;
}

/* ---- encrypted store ---- */

void ofl_kdf_default(ofl_kdf *kdf)
{
    const char *t = getenv("OB_INSECURE_TEST_KDF");

    memset(kdf, 0, sizeof(*kdf));
    if (t != NULL && strcmp(t, "1") == 0) {
        kdf->opslimit = crypto_pwhash_OPSLIMIT_INTERACTIVE;
        kdf->memlimit = crypto_pwhash_MEMLIMIT_INTERACTIVE;
        kdf->insecure_test = 1;
    } else {
        kdf->opslimit = crypto_pwhash_OPSLIMIT_MODERATE;
        kdf->memlimit = crypto_pwhash_MEMLIMIT_MODERATE;
    }
}

int ofl_kdf_for_rewrite(const ofl_kdf *old, ofl_kdf *kdf)
{
    ofl_kdf_default(kdf);
    if (!kdf->insecure_test || old->insecure_test)
        return 0;
    kdf->opslimit = crypto_pwhash_OPSLIMIT_MODERATE;
    kdf->memlimit = crypto_pwhash_MEMLIMIT_MODERATE;
    kdf->insecure_test = 0;
    return 1;
}

/* A cost a store not marked as a test store may not go below. */
static int kdf_is_weak(uint64_t ops, uint64_t mem)
{
    return ops < crypto_pwhash_OPSLIMIT_MODERATE || mem < crypto_pwhash_MEMLIMIT_MODERATE;
}

static ob_err derive(uint8_t key[32], const char *pass, size_t n, const uint8_t *salt, uint64_t ops,
                     uint64_t mem, ob_diag *d)
{
    if (crypto_pwhash(key, 32, pass, n, salt, ops, (size_t)mem, crypto_pwhash_ALG_ARGON2ID13) != 0)
        return ob_fail(d, OB_ERR_NOMEM, "Argon2id needs %llu MiB of memory and could not get it",
                       (unsigned long long)(mem >> 20));
    return OB_OK;
}

/* An opened store: what ofl_keystore_rewrite() needs to write it again. */
struct ofl_store {
    char *path;
    uint8_t hdr[STORE_HDR_LEN]; /* as read: bytes 0..43 (cost, flags, salt) are reused */
    uint8_t *key;               /* ob_secalloc(32): Argon2id(passphrase, salt) */
};

void ofl_store_free(ofl_store *st)
{
    if (st == NULL)
        return;
    ob_secfree(st->key);
    free(st->path);
    free(st);
}

typedef struct store_ctx {
    const char *path;
    const uint8_t *file;
    size_t len;
    ofl_key **keys;
    size_t n;
    int keep_key; /* ofl_keystore_open(): hand the derived key over in key */
    uint8_t *key;
} store_ctx;

static int cmp_key_address(const void *a, const void *b)
{
    return strcmp((*(ofl_key *const *)a)->address, (*(ofl_key *const *)b)->address);
}

/* Each address once: sorted, so 20000 keys take a moment, not n^2 compares. */
static ob_err store_check_unique(store_ctx *s, ob_diag *d)
{
    ofl_key **sorted = NULL;
    ob_err e = OB_OK;
    size_t i;

    if (s->n < 2)
        return OB_OK;
    if ((sorted = calloc(s->n, sizeof(*sorted))) == NULL)
        return ob_fail(d, OB_ERR_NOMEM, "out of memory");
    memcpy(sorted, s->keys, s->n * sizeof(*sorted));
    qsort(sorted, s->n, sizeof(*sorted), cmp_key_address);
    for (i = 1; i < s->n && e == OB_OK; i++)
        if (strcmp(sorted[i - 1]->address, sorted[i]->address) == 0)
            e = ob_fail(d, OB_ERR_MALFORMED, "%s: key for %s.onion is stored twice", s->path,
                        sorted[i]->address);
    free(sorted);
    return e;
}

static ob_err store_parse_entries(store_ctx *s, const uint8_t *pt, size_t ptlen, ob_diag *d)
{
    ob_cur c;
    uint16_t count = 0, klen = 0;
    uint8_t type = 0, llen = 0;
    const uint8_t *label = NULL, *kb = NULL;
    key_arena *arena = NULL;
    size_t i;
    ofl_key *k = NULL;
    ob_err e = OB_OK;

    ob_cur_init(&c, pt, ptlen);
    if (ob_cur_get_u16(&c, &count) != 0)
        return ob_fail(d, OB_ERR_TRUNCATED, "%s: key count truncated", s->path);
    if (count == 0 || count > OFL_STORE_MAX_KEYS)
        return ob_fail(d, OB_ERR_RANGE, "%s: key count %u not in 1..%d", s->path, count,
                       OFL_STORE_MAX_KEYS);
    if ((s->keys = calloc(count, sizeof(*s->keys))) == NULL)
        return ob_fail(d, OB_ERR_NOMEM, "out of memory");
    /* Every key's secret in one locked block: see the top of this file. */
    if ((arena = arena_new(count, SLOT_STORE)) == NULL)
        return ob_secmem_fail(d);
    for (i = 0; i < count; i++) {
        size_t at = c.off;
        if (ob_cur_get_u8(&c, &type) != 0 || ob_cur_get_u8(&c, &llen) != 0 ||
            ob_cur_borrow(&c, llen, &label) != 0 || ob_cur_get_u16(&c, &klen) != 0 ||
            ob_cur_borrow(&c, klen, &kb) != 0) {
            e = ob_fail(d, OB_ERR_TRUNCATED, "%s: key entry %zu (offset %zu) truncated", s->path,
                        i + 1, at);
            goto out;
        }
        if (type != ENTRY_ED25519) {
            e = ob_fail(d, OB_ERR_UNSUPPORTED, "%s: key entry %zu has unknown type %u", s->path,
                        i + 1, type);
            goto out;
        }
        if (klen != ED_ENTRY_LEN || llen != OB_ONION_V3_LEN) {
            e = ob_fail(d, OB_ERR_MALFORMED,
                        "%s: key entry %zu: label or key length wrong (%u, %u)", s->path, i + 1,
                        llen, klen);
            goto out;
        }
        if ((k = key_in_arena(arena, i * SLOT_STORE)) == NULL) {
            e = ob_fail(d, OB_ERR_NOMEM, "out of memory");
            goto out;
        }
        s->keys[s->n++] = k; /* owned by s from here */
        memcpy(k->sec + SEC_EXP, kb, 64);
        if ((e = ed_finish(k, d)) != OB_OK)
            goto out;
        /* The stored public key and label must be what the secret implies. */
        if (memcmp(k->pub, kb + 64, 32) != 0 || memcmp(k->address, label, OB_ONION_V3_LEN) != 0) {
            e = ob_fail(d, OB_ERR_VERIFY,
                        "%s: key entry %zu: public key or label does not match its secret", s->path,
                        i + 1);
            goto out;
        }
    }
    if (!ob_cur_is_empty(&c))
        e = ob_fail(d, OB_ERR_MALFORMED, "%s: %zu stray bytes after the last key entry", s->path,
                    ob_cur_left(&c));
    else
        e = store_check_unique(s, d);
out:
    arena_put(arena); /* the keys hold their own references */
    return e;
}

static ob_err store_try(void *ctx, const char *pass, size_t passlen, ob_diag *d)
{
    store_ctx *s = ctx;
    const uint8_t *salt = s->file + 28, *nonce = s->file + 44, *ct = s->file + STORE_HDR_LEN;
    uint64_t ops = ob_load_u64(s->file + 12), mem = ob_load_u64(s->file + 20);
    size_t ctlen = s->len - STORE_HDR_LEN;
    uint8_t *key = NULL, *pt = NULL;
    unsigned long long ptlen = 0;
    ob_err e;

    if ((key = ob_secalloc(32)) == NULL || (pt = ob_secalloc(ctlen)) == NULL) {
        e = ob_secmem_fail(d);
        goto out;
    }
    if ((e = derive(key, pass, passlen, salt, ops, mem, d)) != OB_OK)
        goto out;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(pt, &ptlen, NULL, ct, ctlen, s->file,
                                                   STORE_HDR_LEN, nonce, key) != 0) {
        e = ob_fail(d, OB_ERR_PASSPHRASE, "%s: wrong passphrase or corrupted key file", s->path);
        goto out;
    }
    e = store_parse_entries(s, pt, (size_t)ptlen, d);
    if (e == OB_OK && s->keep_key) {
        s->key = key;
        key = NULL;
    }
out:
    ob_secfree(key);
    ob_secfree(pt);
    return e;
}

/* Header checks that need no passphrase: caps every cost before Argon2id runs. */
static ob_err store_check(const char *path, const uint8_t *file, size_t len, ob_diag *d)
{
    uint64_t ops, mem;
    uint32_t ctlen;

    if (len < STORE_HDR_LEN)
        return ob_fail(d, OB_ERR_TRUNCATED, "%s: key store header truncated (%zu of %d bytes)",
                       path, len, STORE_HDR_LEN);
    if (file[8] != STORE_VERSION)
        return ob_fail(d, OB_ERR_UNSUPPORTED,
                       "%s: key store format version %u; this program reads version 1", path,
                       file[8]);
    if (file[9] != STORE_KDF_ARGON || file[10] != STORE_AEAD_XCP ||
        (file[11] & ~STORE_FLAG_TEST_KDF) != 0)
        return ob_fail(d, OB_ERR_UNSUPPORTED, "%s: unknown KDF %u / cipher %u / flags %u", path,
                       file[9], file[10], file[11]);
    ops = ob_load_u64(file + 12);
    mem = ob_load_u64(file + 20);
    if (ops < crypto_pwhash_OPSLIMIT_MIN || ops > KDF_OPS_MAX)
        return ob_fail(d, OB_ERR_RANGE, "%s: offset 12: opslimit %llu not in %u..%d", path,
                       (unsigned long long)ops, (unsigned)crypto_pwhash_OPSLIMIT_MIN, KDF_OPS_MAX);
    if (mem < crypto_pwhash_MEMLIMIT_MIN || mem > KDF_MEM_MAX)
        return ob_fail(d, OB_ERR_RANGE, "%s: offset 20: memlimit %llu bytes out of range", path,
                       (unsigned long long)mem);
    /* Only a store marked at its creation may be cheap to attack; the
     * environment of the process that opens it has no say. */
    if (!(file[11] & STORE_FLAG_TEST_KDF) && kdf_is_weak(ops, mem))
        return ob_fail(d, OB_ERR_REFUSED,
                       "%s: offset 12: Argon2id cost opslimit %llu, memlimit %llu MiB is below "
                       "opslimit %u, memlimit %u MiB, the least for a key store not marked as "
                       "made with the insecure test KDF; refusing it (a test store written by an "
                       "older ob-offline under OB_INSECURE_TEST_KDF=1, or a forged file)",
                       path, (unsigned long long)ops, (unsigned long long)(mem >> 20),
                       (unsigned)crypto_pwhash_OPSLIMIT_MODERATE,
                       (unsigned)(crypto_pwhash_MEMLIMIT_MODERATE >> 20));
    ctlen = ob_load_u32(file + 68);
    if (ctlen < STORE_TAG_LEN + 2 || ctlen != len - STORE_HDR_LEN)
        return ob_fail(d, len - STORE_HDR_LEN < ctlen ? OB_ERR_TRUNCATED : OB_ERR_MALFORMED,
                       "%s: offset 68: ciphertext length %u but %zu bytes follow the header", path,
                       ctlen, len - STORE_HDR_LEN);
    return OB_OK;
}

/*
 * Locked memory opening a store holds at once: the plaintext, the arena for
 * as many keys as the ciphertext can hold, the derived key, a passphrase.
 */
static size_t store_open_cost(size_t ctlen)
{
    size_t ptlen = ctlen - STORE_TAG_LEN, nmax = (ptlen - 2) / ED_ENTRY_MIN;

    if (nmax > OFL_STORE_MAX_KEYS)
        nmax = OFL_STORE_MAX_KEYS;
    return ob_secmem_cost(ptlen) + ob_secmem_cost((nmax > 0 ? nmax : 1) * SLOT_STORE) +
           ob_secmem_cost(32) + ob_secmem_cost(OFL_PASS_MAX + 1);
}

/*
 * Locked memory reading the key file at path takes at most: the file itself,
 * or, for a store, what opening it holds once the file is unlocked (see
 * store_unlock_file()).  Checked before reading, so a refusal names the
 * whole figure, not the first allocation that failed.
 */
static ob_err key_file_expect(const char *path, ob_diag *d)
{
    struct stat st;
    size_t len, need;
    ob_err e;

    if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < 0 ||
        (uint64_t)st.st_size > KEYFILE_MAX)
        return OB_OK; /* the read refuses it with the right message */
    len = (size_t)st.st_size;
    need = ob_secmem_cost(len + 2);
    if (len >= STORE_HDR_LEN + STORE_TAG_LEN + 2 && store_open_cost(len - STORE_HDR_LEN) > need)
        need = store_open_cost(len - STORE_HDR_LEN);
    if ((e = ob_secmem_expect(need, d)) != OB_OK)
        ob_diag_prefix(d, "%s: ", path);
    return e;
}

static void store_warn_test(const char *path)
{
    ob_msg("WARNING: %s was made with the insecure test KDF (OB_INSECURE_TEST_KDF=1): its "
           "passphrase can be guessed cheaply; it is for tests only, never for real keys",
           path);
}

/* len >= STORE_HDR_LEN checked by the caller's store_check(). */
static int store_is_test(const uint8_t *file)
{
    return (file[11] & STORE_FLAG_TEST_KDF) != 0;
}

static ob_err store_load(store_ctx *s, const char *passfile, const char *pass, size_t passlen,
                         ofl_key ***keys, size_t *n, ob_diag *d)
{
    ob_err e;

    if ((e = store_check(s->path, s->file, s->len, d)) != OB_OK)
        return e;
    if (store_is_test(s->file))
        store_warn_test(s->path);
    /* Refused before any passphrase is asked, with the figure for the whole open. */
    if ((e = ob_secmem_expect(store_open_cost(s->len - STORE_HDR_LEN), d)) != OB_OK) {
        ob_diag_prefix(d, "%s: ", s->path);
        return e;
    }
    if (pass != NULL)
        e = store_try(s, pass, passlen, d);
    else
        e = with_passphrase(s->path, passfile, store_try, s, d);
    if (e != OB_OK) {
        ofl_keys_free(s->keys, s->n);
        s->keys = NULL;
        s->n = 0;
        return e;
    }
    *keys = s->keys;
    *n = s->n;
    return OB_OK;
}

/*
 * The store's ciphertext is not secret: move it out of the locked memory a
 * key file is first read into, so opening a large store holds only the
 * plaintext and the keys locked.  Frees *f.  NULL: out of memory.
 */
static uint8_t *store_unlock_file(uint8_t **f, size_t len)
{
    uint8_t *plain = calloc(1, len + 1);

    if (plain != NULL)
        memcpy(plain, *f, len);
    ob_secfree(*f);
    *f = NULL;
    return plain;
}

ob_err ofl_keystore_kdf(const char *path, ofl_kdf *kdf, ob_diag *d)
{
    uint8_t *f = NULL;
    size_t len = 0;
    ob_err e;

    memset(kdf, 0, sizeof(*kdf));
    if ((e = ob_file_read(path, KEYFILE_MAX, &f, &len, d)) != OB_OK)
        return e;
    if (len < STORE_MAGIC_LEN || memcmp(f, STORE_MAGIC, STORE_MAGIC_LEN) != 0)
        e = ob_fail(d, OB_ERR_UNSUPPORTED, "%s: not an ob-offline key store", path);
    else if ((e = store_check(path, f, len, d)) == OB_OK) {
        kdf->opslimit = ob_load_u64(f + 12);
        kdf->memlimit = ob_load_u64(f + 20);
        kdf->insecure_test = store_is_test(f);
    }
    ob_wipe(f, len); /* only the header was wanted; the path might have held a key */
    free(f);
    return e;
}

ob_err ofl_keystore_open(const char *path, const char *pass, size_t passlen, ofl_key ***keys,
                         size_t *n, ofl_store **st, ob_diag *d)
{
    store_ctx s = { path, NULL, 0, NULL, 0, st != NULL, NULL };
    uint8_t *f = NULL, *plain = NULL;
    ofl_store *o = NULL;
    size_t len = 0;
    ob_err e;

    *keys = NULL;
    *n = 0;
    if (st != NULL)
        *st = NULL;
    /* Read as a secret: the path might hold some other, unencrypted key. */
    if ((e = key_file_expect(path, d)) != OB_OK ||
        (e = ob_file_read_secret(path, KEYFILE_MAX, &f, &len, d)) != OB_OK)
        return e;
    if (len < STORE_MAGIC_LEN || memcmp(f, STORE_MAGIC, STORE_MAGIC_LEN) != 0) {
        e = ob_fail(d, OB_ERR_UNSUPPORTED, "%s: not an ob-offline key store", path);
        goto out;
    }
    if ((plain = store_unlock_file(&f, len)) == NULL) {
        e = ob_fail(d, OB_ERR_NOMEM, "out of memory");
        goto out;
    }
    s.file = plain;
    s.len = len;
    if ((e = store_load(&s, NULL, pass, passlen, keys, n, d)) != OB_OK || st == NULL)
        goto out;
    if ((o = calloc(1, sizeof(*o))) == NULL || (o->path = strdup(path)) == NULL) {
        e = ob_fail(d, OB_ERR_NOMEM, "out of memory");
        goto out;
    }
    memcpy(o->hdr, plain, STORE_HDR_LEN);
    o->key = s.key;
    s.key = NULL;
    *st = o;
    o = NULL;
out:
    if (e != OB_OK) {
        ofl_keys_free(*keys, *n);
        *keys = NULL;
        *n = 0;
    }
    ofl_store_free(o);
    ob_secfree(s.key);
    ob_secfree(f);
    free(plain);
    return e;
}

/*
 * Encrypt keys under key into a store at path.  hdr: bytes 0..43 (magic to
 * salt) set by the caller; the nonce (fresh) and the length are set here.
 */
static ob_err store_seal(const char *path, ofl_key *const *keys, size_t n, uint8_t *hdr,
                         const uint8_t *key, int flags, ob_diag *d)
{
    uint8_t *pt = NULL, *p;
    ob_buf out;
    unsigned long long ctlen = 0;
    size_t i, ptlen = 2 + n * ED_ENTRY_MIN;
    ob_err e;

    ob_buf_init(&out);
    if ((pt = ob_secalloc(ptlen)) == NULL) {
        e = ob_secmem_fail(d);
        goto out;
    }
    ob_store_u16(pt, (uint16_t)n);
    for (i = 0, p = pt + 2; i < n; i++, p += ED_ENTRY_MIN) {
        p[0] = ENTRY_ED25519;
        p[1] = OB_ONION_V3_LEN;
        memcpy(p + 2, keys[i]->address, OB_ONION_V3_LEN);
        ob_store_u16(p + 2 + OB_ONION_V3_LEN, ED_ENTRY_LEN);
        memcpy(p + 4 + OB_ONION_V3_LEN, keys[i]->sec + SEC_EXP, 64);
        memcpy(p + 4 + OB_ONION_V3_LEN + 64, keys[i]->pub, 32);
    }
    ob_random(hdr + 44, STORE_NONCE_LEN);
    ob_store_u32(hdr + 68, (uint32_t)(ptlen + STORE_TAG_LEN));
    if (ob_buf_reserve(&out, STORE_HDR_LEN + ptlen + STORE_TAG_LEN) != 0) {
        e = ob_fail(d, OB_ERR_NOMEM, "out of memory");
        goto out;
    }
    ob_buf_put(&out, hdr, STORE_HDR_LEN);
    crypto_aead_xchacha20poly1305_ietf_encrypt(out.p + STORE_HDR_LEN, &ctlen, pt, ptlen, hdr,
                                               STORE_HDR_LEN, NULL, hdr + 44, key);
    out.len += (size_t)ctlen;
    /* Sealed: a FAT key stick gets the store with a warning (docs/keys.rst). */
    e = ob_file_write_atomic(path, out.p, out.len, 0600, flags | OB_WRITE_SEALED, d);
out:
    if (pt != NULL)
        ob_secfree(pt);
    ob_buf_free(&out);
    return e;
}

/* The keys a store may be written with: 1..OFL_STORE_MAX_KEYS, all v3. */
static ob_err store_keys_check(ofl_key *const *keys, size_t n, ob_diag *d)
{
    size_t i;

    if (n == 0 || n > OFL_STORE_MAX_KEYS)
        return ob_fail(d, OB_ERR_RANGE, "a key store holds 1..%d keys, not %zu", OFL_STORE_MAX_KEYS,
                       n);
    for (i = 0; i < n; i++)
        if (keys[i]->version != 3)
            return ob_fail(d, OB_ERR_UNSUPPORTED, "the key store holds v3 keys only");
    return OB_OK;
}

ob_err ofl_keystore_write(const char *path, ofl_key *const *keys, size_t n, const char *pass,
                          size_t passlen, const ofl_kdf *kdf, int flags, ob_diag *d)
{
    uint8_t hdr[STORE_HDR_LEN], *key = NULL;
    ob_err e;

    if ((e = store_keys_check(keys, n, d)) != OB_OK)
        return e;
    if (!kdf->insecure_test && kdf_is_weak(kdf->opslimit, kdf->memlimit))
        return ob_fail(d, OB_ERR_INTERNAL,
                       "refusing to write a key store with a weak KDF cost "
                       "that is not marked as a test store");
    if ((e = ob_secmem_expect(ob_secmem_cost(2 + n * ED_ENTRY_MIN) + ob_secmem_cost(32), d)) !=
        OB_OK)
        return e;
    memset(hdr, 0, sizeof(hdr));
    memcpy(hdr, STORE_MAGIC, STORE_MAGIC_LEN);
    hdr[8] = STORE_VERSION;
    hdr[9] = STORE_KDF_ARGON;
    hdr[10] = STORE_AEAD_XCP;
    hdr[11] = kdf->insecure_test ? STORE_FLAG_TEST_KDF : 0;
    ob_store_u64(hdr + 12, kdf->opslimit);
    ob_store_u64(hdr + 20, kdf->memlimit);
    ob_random(hdr + 28, STORE_SALT_LEN);
    if ((key = ob_secalloc(32)) == NULL) {
        e = ob_secmem_fail(d);
        goto out;
    }
    if ((e = derive(key, pass, passlen, hdr + 28, kdf->opslimit, kdf->memlimit, d)) != OB_OK)
        goto out;
    e = store_seal(path, keys, n, hdr, key, flags, d);
    if (e == OB_OK && kdf->insecure_test)
        store_warn_test(path);
out:
    ob_secfree(key);
    return e;
}

ob_err ofl_keystore_rewrite(const ofl_store *st, ofl_key *const *keys, size_t n, ob_diag *d)
{
    uint8_t hdr[STORE_HDR_LEN];
    ob_err e;

    if ((e = store_keys_check(keys, n, d)) != OB_OK)
        return e;
    if ((e = ob_secmem_expect(ob_secmem_cost(2 + n * ED_ENTRY_MIN), d)) != OB_OK)
        return e;
    /* Same passphrase, salt, cost and marker: the key derived at open time
     * still applies.  The nonce is fresh (XChaCha20's 192-bit random nonces
     * may be drawn for many messages under one key). */
    memcpy(hdr, st->hdr, sizeof(hdr));
    return store_seal(st->path, keys, n, hdr, st->key, 0, d);
}

/* ---- tor's files ---- */

static ob_err tor_secret_parse(const char *path, const uint8_t *file, size_t len, ofl_key **out,
                               ob_diag *d)
{
    ofl_key *k = NULL;
    ob_err e;

    if (len != TOR_HDR_LEN + 64)
        return ob_fail(d, OB_ERR_MALFORMED, "%s: tor secret key file must be %d bytes, not %zu",
                       path, TOR_HDR_LEN + 64, len);
    if ((k = key_new(3)) == NULL)
        return ob_secmem_fail(d);
    memcpy(k->sec + SEC_EXP, file + TOR_HDR_LEN, 64);
    if ((e = ed_finish(k, d)) != OB_OK) {
        ob_diag_prefix(d, "%s: ", path);
        ofl_key_free(k);
        return e;
    }
    *out = k;
    return OB_OK;
}

static int has_tor_header(const uint8_t *p, size_t len, const char *tag)
{
    static const uint8_t nul3[3] = { 0, 0, 0 };
    size_t tl = strlen(tag);

    return len >= TOR_HDR_LEN && memcmp(p, tag, tl) == 0 && memcmp(p + tl, nul3, 3) == 0;
}

/* Cross-check hs_ed25519_public_key / hostname in dir against the key, if present. */
static ob_err tor_dir_check(const char *dir, const ofl_key *k, ob_diag *d)
{
    char path[4096];
    uint8_t *f = NULL;
    size_t len = 0, alen;
    ob_err e = OB_OK;

    if (k->version == 3) {
        snprintf(path, sizeof(path), "%s/hs_ed25519_public_key", dir);
        if (ob_path_exists(path)) {
            if ((e = ob_file_read(path, 4096, &f, &len, d)) != OB_OK)
                goto out;
            if (len != TOR_HDR_LEN + 32 || !has_tor_header(f, len, TOR_PUBLIC_HDR) ||
                memcmp(f + TOR_HDR_LEN, k->pub, 32) != 0) {
                e = ob_fail(d, OB_ERR_VERIFY, "%s: does not match hs_ed25519_secret_key", path);
                goto out;
            }
            free(f);
            f = NULL;
        }
    }
    snprintf(path, sizeof(path), "%s/hostname", dir);
    if (ob_path_exists(path)) {
        if ((e = ob_file_read(path, 4096, &f, &len, d)) != OB_OK)
            goto out;
        alen = strlen(k->address);
        if (len != alen + 7 || memcmp(f, k->address, alen) != 0 ||
            memcmp(f + alen, ".onion\n", 7) != 0) {
            e = ob_fail(d, OB_ERR_VERIFY, "%s: does not hold %s.onion, the key's address", path,
                        k->address);
            goto out;
        }
    }
out:
    free(f);
    return e;
}

/* ---- PEM ---- */

typedef struct pem_ctx {
    const char *path;
    const uint8_t *file;
    size_t len;
    ofl_key *key;
} pem_ctx;

typedef struct pw_arg {
    const char *p;
    size_t n;
} pw_arg;

static int pem_pw_cb(char *buf, int size, int rwflag, void *u)
{
    const pw_arg *a = u;

    (void)rwflag;
    if (a == NULL || a->p == NULL || a->n > (size_t)size)
        return -1;
    memcpy(buf, a->p, a->n);
    return (int)a->n;
}

/* OnionBalance 0.2's form: exactly the 48-byte RFC 8410 PrivateKeyInfo. */
static ob_err pem_try_ed25519_plain(pem_ctx *s, int *handled, ob_diag *d)
{
    ob_buf der;
    ob_cur c;
    ofl_key *k = NULL;
    ob_err e;

    *handled = 0;
    ob_buf_init_secure(&der);
    ob_cur_init(&c, s->file, s->len);
    if (ob_pem_decode(&c, "PRIVATE KEY", 4096, &der, NULL) != OB_OK || der.len != 48 ||
        memcmp(der.p, ed_pkcs8_prefix, sizeof(ed_pkcs8_prefix)) != 0) {
        e = OB_OK; /* not this form; OpenSSL gets a go */
        goto out;
    }
    *handled = 1;
    if (!ob_cur_is_empty(&c)) {
        e = ob_fail(d, OB_ERR_MALFORMED, "%s: stray bytes after the PEM key", s->path);
        goto out;
    }
    if ((k = key_new(3)) == NULL) {
        e = ob_secmem_fail(d);
        goto out;
    }
    memcpy(k->sec + SEC_SEED, der.p + 16, 32);
    if ((e = ed_from_seed(k, d)) != OB_OK)
        goto out;
    s->key = k;
    k = NULL;
out:
    ofl_key_free(k);
    ob_buf_free(&der);
    return e;
}

static ob_err pem_try(void *ctx, const char *pass, size_t passlen, ob_diag *d)
{
    pem_ctx *s = ctx;
    pw_arg pw = { pass, passlen };
    BIO *bio = NULL;
    EVP_PKEY *pk = NULL;
    ofl_key *k = NULL;
    size_t rawlen = 32;
    ob_err e;

    ERR_clear_error();
    bio = BIO_new_mem_buf(s->file, (int)s->len);
    if (bio == NULL) {
        e = ob_fail(d, OB_ERR_NOMEM, "out of memory");
        goto out;
    }
    pk = PEM_read_bio_PrivateKey(bio, NULL, pem_pw_cb, &pw);
    if (pk == NULL) {
        e = pass != NULL
                ? ob_fail(d, OB_ERR_PASSPHRASE, "%s: wrong passphrase or corrupted key file",
                          s->path)
                : ob_fail(d, OB_ERR_MALFORMED, "%s: not a private key OpenSSL can read", s->path);
        goto out;
    }
    if (EVP_PKEY_get_base_id(pk) == EVP_PKEY_ED25519) {
        if ((k = key_new(3)) == NULL) {
            e = ob_secmem_fail(d);
            goto out;
        }
        if (EVP_PKEY_get_raw_private_key(pk, k->sec + SEC_SEED, &rawlen) != 1 || rawlen != 32) {
            e = ob_fail(d, OB_ERR_CRYPTO, "%s: cannot extract the Ed25519 seed", s->path);
            goto out;
        }
        e = ed_from_seed(k, d);
    } else {
        if ((k = key_new(2)) == NULL) {
            e = ob_fail(d, OB_ERR_NOMEM, "out of memory");
            goto out;
        }
        e = rsa_finish(k, pk, s->path, d);
        if (e == OB_OK)
            pk = NULL;
    }
    if (e == OB_OK) {
        s->key = k;
        k = NULL;
    }
out:
    ERR_clear_error();
    ofl_key_free(k);
    EVP_PKEY_free(pk);
    BIO_free(bio);
    return e;
}

static int contains(const uint8_t *p, size_t len, const char *s)
{
    size_t n = strlen(s), i;

    for (i = 0; i + n <= len; i++)
        if (memcmp(p + i, s, n) == 0)
            return 1;
    return 0;
}

static ob_err pem_load(const char *path, const uint8_t *file, size_t len, const char *passfile,
                       ofl_key **out, ob_diag *d)
{
    pem_ctx s = { path, file, len, NULL };
    int handled = 0;
    ob_err e;

    if (len > INT32_MAX)
        return ob_fail(d, OB_ERR_RANGE, "%s: too large", path);
    if ((e = pem_try_ed25519_plain(&s, &handled, d)) != OB_OK)
        return e;
    if (!handled) {
        if ((e = ofl_secure_heap_init(d)) != OB_OK)
            return e;
        if (contains(file, len, "-----BEGIN ENCRYPTED PRIVATE KEY-----") ||
            contains(file, len, "Proc-Type: 4,ENCRYPTED"))
            e = with_passphrase(path, passfile, pem_try, &s, d);
        else
            e = pem_try(&s, NULL, 0, d);
        if (e != OB_OK)
            return e;
    }
    *out = s.key;
    return OB_OK;
}

/* ---- detection and loading ---- */

static ofl_keyfile_kind detect_bytes(const uint8_t *p, size_t len)
{
    if (len >= STORE_MAGIC_LEN && memcmp(p, STORE_MAGIC, STORE_MAGIC_LEN) == 0)
        return OFL_KEYFILE_STORE;
    if (has_tor_header(p, len, TOR_SECRET_HDR))
        return OFL_KEYFILE_TOR_SECRET;
    if (len >= 11 && memcmp(p, "-----BEGIN ", 11) == 0)
        return OFL_KEYFILE_PEM;
    return OFL_KEYFILE_UNKNOWN;
}

/*
 * What a key path names, without following a symbolic link: the path
 * decides whether tor's directory layout applies, so a link planted there
 * (also "link/", which lstat() would follow) must not redirect it.
 * 0: *st filled; -1: errno set.
 */
static int key_path_lstat(const char *path, struct stat *st)
{
    char copy[4096];
    size_t n = strlen(path);

    if (n >= sizeof(copy)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(copy, path, n + 1);
    while (n > 1 && copy[n - 1] == '/')
        copy[--n] = '\0';
    return lstat(copy, st);
}

ofl_keyfile_kind ofl_keyfile_detect(const char *path)
{
    struct stat st;
    uint8_t *f = NULL;
    size_t len = 0;
    ofl_keyfile_kind kind;

    if (key_path_lstat(path, &st) != 0 || S_ISLNK(st.st_mode))
        return OFL_KEYFILE_UNKNOWN;
    if (S_ISDIR(st.st_mode))
        return OFL_KEYFILE_TOR_DIR;
    if (ob_file_read_secret(path, KEYFILE_MAX, &f, &len, NULL) != OB_OK)
        return OFL_KEYFILE_UNKNOWN;
    kind = detect_bytes(f, len);
    ob_secfree(f);
    return kind;
}

static int has_bytes(const uint8_t *f, size_t len, const char *mark)
{
    size_t m = strlen(mark), i;

    for (i = 0; i + m <= len; i++)
        if (memcmp(f + i, mark, m) == 0)
            return 1;
    return 0;
}

int ofl_keyfile_is_plain(const char *path)
{
    static const char *const marks[] = { "-----BEGIN ENCRYPTED PRIVATE KEY-----",
                                         "Proc-Type: 4,ENCRYPTED" };
    uint8_t *f = NULL;
    size_t len = 0, i;
    int plain = 0;

    switch (ofl_keyfile_detect(path)) {
    case OFL_KEYFILE_TOR_SECRET:
    case OFL_KEYFILE_TOR_DIR:
        return 1;
    case OFL_KEYFILE_PEM:
        break;
    default:
        return 0;
    }
    if (ob_file_read_secret(path, KEYFILE_MAX, &f, &len, NULL) != OB_OK)
        return 0;
    plain = 1;
    for (i = 0; i < sizeof(marks) / sizeof(marks[0]); i++)
        if (has_bytes(f, len, marks[i]))
            plain = 0;
    ob_secfree(f);
    return plain;
}

static ob_err load_file(const char *path, const char *passfile, ofl_key ***keys, size_t *n,
                        ob_diag *d)
{
    uint8_t *f = NULL;
    size_t len = 0;
    ofl_key *k = NULL;
    ob_err e;

    if ((e = key_file_expect(path, d)) != OB_OK ||
        (e = ob_file_read_secret(path, KEYFILE_MAX, &f, &len, d)) != OB_OK)
        return e;
    switch (detect_bytes(f, len)) {
    case OFL_KEYFILE_STORE: {
        store_ctx s = { path, NULL, len, NULL, 0, 0, NULL };
        uint8_t *plain = store_unlock_file(&f, len);
        if (plain == NULL) {
            e = ob_fail(d, OB_ERR_NOMEM, "out of memory");
            goto out;
        }
        s.file = plain;
        e = store_load(&s, passfile, NULL, 0, keys, n, d);
        free(plain);
        goto out;
    }
    case OFL_KEYFILE_TOR_SECRET:
        e = tor_secret_parse(path, f, len, &k, d);
        break;
    case OFL_KEYFILE_PEM:
        e = pem_load(path, f, len, passfile, &k, d);
        break;
    default:
        e = ob_fail(d, OB_ERR_UNSUPPORTED,
                    "%s: not a key file this program reads (an ob-offline key store, tor's "
                    "hs_ed25519_secret_key, or a PEM private key)",
                    path);
        goto out;
    }
    if (e != OB_OK)
        goto out;
    if ((*keys = calloc(1, sizeof(**keys))) == NULL) {
        e = ob_fail(d, OB_ERR_NOMEM, "out of memory");
        goto out;
    }
    (*keys)[0] = k;
    k = NULL;
    *n = 1;
out:
    ofl_key_free(k);
    ob_secfree(f);
    return e;
}

ob_err ofl_keystore_load_all(const char *path, const char *passphrase_file, ofl_key ***keys,
                             size_t *n, ob_diag *d)
{
    char sub[4096];
    struct stat st;
    ob_err e;

    *keys = NULL;
    *n = 0;
    if (key_path_lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
        return ob_fail(d, OB_ERR_IO,
                       "%s: is a symbolic link; refusing to follow it (name the "
                       "key file or directory itself)",
                       path);
    if (key_path_lstat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
        if ((e = load_file(path, passphrase_file, keys, n, d)) == OB_OK)
            ofl_warn_unlocked();
        return e;
    }
    /* A HiddenServiceDir: v3 keys first, then a v2 private_key. */
    snprintf(sub, sizeof(sub), "%s/hs_ed25519_secret_key", path);
    if (!ob_path_exists(sub))
        snprintf(sub, sizeof(sub), "%s/private_key", path);
    if (!ob_path_exists(sub))
        return ob_fail(d, OB_ERR_NOTFOUND,
                       "%s: directory holds neither hs_ed25519_secret_key nor private_key", path);
    if ((e = load_file(sub, passphrase_file, keys, n, d)) != OB_OK)
        return e;
    if (*n != 1 || (e = tor_dir_check(path, (*keys)[0], d)) != OB_OK) {
        ofl_keys_free(*keys, *n);
        *keys = NULL;
        *n = 0;
        return e != OB_OK ? e : ob_fail(d, OB_ERR_MALFORMED, "%s: unexpected key store", sub);
    }
    ofl_warn_unlocked();
    return OB_OK;
}

ob_err ofl_key_load(const char *path, const char *passphrase_file, ofl_key **out, ob_diag *d)
{
    ofl_key **keys = NULL;
    size_t n = 0;
    ob_err e;

    *out = NULL;
    if ((e = ofl_keystore_load_all(path, passphrase_file, &keys, &n, d)) != OB_OK)
        return e;
    if (n != 1) {
        ofl_keys_free(keys, n);
        return ob_fail(d, OB_ERR_REFUSED, "%s: key store holds %zu keys; one was expected", path,
                       n);
    }
    *out = keys[0];
    free(keys);
    return OB_OK;
}

/* ---- writing PEM ---- */

static ob_err write_bio(const char *path, BIO *bio, int flags, ob_diag *d)
{
    BUF_MEM *bm = NULL;

    BIO_get_mem_ptr(bio, &bm);
    if (bm == NULL)
        return ob_fail(d, OB_ERR_CRYPTO, "%s: PEM encoding failed", path);
    return ob_file_write_atomic(path, bm->data, bm->length, 0600, flags, d);
}

ob_err ofl_key_write_rsa(const char *path, const ofl_key *k, const char *pass, size_t passlen,
                         int flags, ob_diag *d)
{
    PKCS8_PRIV_KEY_INFO *p8 = NULL;
    X509_ALGOR *alg = NULL;
    X509_SIG *sig = NULL;
    BIO *bio = NULL;
    ob_err e;

    if (k->version != 2)
        return ob_fail(d, OB_ERR_INTERNAL, "not an RSA key");
    /* The unencrypted form passes through this BIO: keep it in the secure heap. */
    if ((bio = BIO_new(BIO_s_secmem())) == NULL) {
        e = ob_fail(d, OB_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (pass == NULL) {
        if (PEM_write_bio_PKCS8PrivateKey(bio, k->rsa, NULL, NULL, 0, NULL, NULL) != 1) {
            e = ob_fail(d, OB_ERR_CRYPTO, "%s: PKCS#8 encoding failed", path);
            goto out;
        }
    } else {
        if (passlen > INT32_MAX || (p8 = EVP_PKEY2PKCS8(k->rsa)) == NULL ||
            (alg = PKCS5_pbe2_set_scrypt(EVP_aes_256_cbc(), NULL, 0, NULL, SCRYPT_N, SCRYPT_R,
                                         SCRYPT_P)) == NULL ||
            (sig = PKCS8_set0_pbe(pass, (int)passlen, p8, alg)) == NULL) {
            e = ob_fail(d, OB_ERR_CRYPTO, "%s: PKCS#8 encryption failed", path);
            goto out;
        }
        alg = NULL; /* owned by sig */
        if (PEM_write_bio_PKCS8(bio, sig) != 1) {
            e = ob_fail(d, OB_ERR_CRYPTO, "%s: PEM encoding failed", path);
            goto out;
        }
    }
    e = write_bio(path, bio, pass != NULL ? flags | OB_WRITE_SEALED : flags, d);
out:
    ERR_clear_error();
    X509_ALGOR_free(alg);
    X509_SIG_free(sig);
    PKCS8_PRIV_KEY_INFO_free(p8); /* wipes the plain key */
    BIO_free(bio);
    return e;
}

ob_err ofl_key_write_ed25519_pem(const char *path, const ofl_key *k, int flags, ob_diag *d)
{
    ob_buf der, pem;
    ob_err e;

    if (k->version != 3 || !k->has_seed)
        return ob_fail(d, OB_ERR_UNSUPPORTED,
                       "this key has no seed (tor keys are stored expanded); it can only be "
                       "written to an encrypted key store");
    ob_buf_init_secure(&der);
    ob_buf_init_secure(&pem);
    ob_buf_put(&der, ed_pkcs8_prefix, sizeof(ed_pkcs8_prefix));
    ob_buf_put(&der, k->sec + SEC_SEED, 32);
    if (ob_buf_ok(&der))
        ob_pem_encode(&pem, "PRIVATE KEY", der.p, der.len);
    if (!ob_buf_ok(&der) || !ob_buf_ok(&pem)) {
        e = ob_secmem_fail(d);
        goto out;
    }
    e = ob_file_write_atomic(path, pem.p, pem.len, 0600, flags, d);
out:
    ob_buf_free(&der);
    ob_buf_free(&pem);
    return e;
}

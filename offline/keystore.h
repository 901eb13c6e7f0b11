/*
 * keystore.h - the offline side's master keys: loading every supported key
 * format, generating keys, and writing the encrypted key store.
 *
 * Only ob-offline links this (offline/ is never part of ob-online).
 *
 * Formats read (the type is detected from the contents, the onion service
 * version follows from the key type):
 *   - our encrypted key store (v3, one or many keys; layout in docs/keys.rst)
 *   - tor's hs_ed25519_secret_key (64-byte expanded ed25519 key) or a tor
 *     HiddenServiceDir holding one (hs_ed25519_public_key and hostname, when
 *     present, must agree); a v2 HiddenServiceDir's private_key
 *   - PKCS#8 PEM Ed25519 keys as OnionBalance 0.2 writes them (a seed)
 *   - RSA PEM keys (v2): traditional, with or without Proc-Type encryption,
 *     and PKCS#8, plain or ENCRYPTED.  RSA must be 1024 bits (tor v2).
 *
 * Secrets: ed25519 keys live in ob_secalloc() memory, one guarded, locked
 * block for all the keys of a store (freed with the last of them); RSA keys
 * live in an OpenSSL EVP_PKEY whose private numbers go to OpenSSL's secure
 * heap, which ofl_keystore_init_openssl() sets up (locked memory, wiped on
 * free).  Memory the kernel will not lock is refused, naming RLIMIT_MEMLOCK
 * and the size needed, unless the operator allowed swap (ofl_allow_swap()).
 * A key path that is a symbolic link is refused.
 */
#ifndef OFL_KEYSTORE_H
#define OFL_KEYSTORE_H

#include "diag.h"

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ofl_key ofl_key; /* opaque */

/* How many keys one store may hold (shared hosting: one store, many services). */
#define OFL_STORE_MAX_KEYS 20000 /* as many services as a config may name */

/*
 * Load the one key in path (file or tor HiddenServiceDir).  passphrase_file
 * NULL: ask on the terminal when the key is encrypted (3 tries).  A store
 * with several keys is refused here; use ofl_keystore_load_all().
 * Errors: OB_ERR_PASSPHRASE (wrong passphrase or corrupted file; exit 1),
 * OB_ERR_MALFORMED/UNSUPPORTED/VERIFY/RANGE (not a valid key), OB_ERR_IO.
 */
ob_err ofl_key_load(const char *path, const char *passphrase_file, ofl_key **out, ob_diag *d);

/*
 * Load every key in path: n >= 1 keys for a store, 1 for any other format.
 * *keys is a malloc()ed array owned by the caller: ofl_keys_free(keys, n).
 */
ob_err ofl_keystore_load_all(const char *path, const char *passphrase_file, ofl_key ***keys,
                             size_t *n, ob_diag *d);
void ofl_keys_free(ofl_key **keys, size_t n);

int ofl_key_version(const ofl_key *k);                     /* 2 or 3 */
const char *ofl_key_address(const ofl_key *k);             /* without ".onion" */
const uint8_t *ofl_key_ed25519_expanded(const ofl_key *k); /* 64 bytes a|RH, secure; v3 */
const uint8_t *ofl_key_ed25519_public(const ofl_key *k);   /* 32 bytes; v3 (not secret) */
EVP_PKEY *ofl_key_rsa(const ofl_key *k);                   /* v2 only; borrowed */
void ofl_key_free(ofl_key *k);                             /* wipes; NULL-tolerant */

/* Make a fresh key of the given version (3: ed25519 from a random seed; 2: RSA-1024). */
ob_err ofl_key_generate(int version, ofl_key **out, ob_diag *d);

/* Key derivation cost of a store. */
typedef struct ofl_kdf {
    uint64_t opslimit;
    uint64_t memlimit; /* bytes */
    int insecure_test; /* the test-only cost; the store is marked so (header flag 1) */
} ofl_kdf;

/*
 * Default cost: libsodium's MODERATE Argon2id limits.  TEST ONLY: when the
 * environment has OB_INSECURE_TEST_KDF=1, the INTERACTIVE limits and
 * insecure_test set, so the test suite stays fast; such a store is marked
 * in its header and says so whenever it is opened.  Never set it for real
 * keys.  A store without the mark is never read or written with less than
 * MODERATE.
 */
void ofl_kdf_default(ofl_kdf *kdf);
/*
 * The cost to write a store that had cost old with a new passphrase:
 * ofl_kdf_default(), except that a store not made with the test cost never
 * gets it.  Returns 1 when OB_INSECURE_TEST_KDF=1 was ignored for that reason.
 */
int ofl_kdf_for_rewrite(const ofl_kdf *old, ofl_kdf *kdf);
/* The cost (and test mark) in the header of the store at path; no passphrase needed. */
ob_err ofl_keystore_kdf(const char *path, ofl_kdf *kdf, ob_diag *d);

/* An opened store: its header and derived key, to write it again. */
typedef struct ofl_store ofl_store;

/*
 * Open our encrypted store with a passphrase the caller already has (no
 * prompting): import adds keys to a store and writes it back with the same
 * passphrase.  st NULL: not kept; else *st is what ofl_keystore_rewrite()
 * needs (free it with ofl_store_free(), which wipes the derived key).
 * Errors as ofl_keystore_load_all().
 */
ob_err ofl_keystore_open(const char *path, const char *pass, size_t passlen, ofl_key ***keys,
                         size_t *n, ofl_store **st, ob_diag *d);
/*
 * Replace the store st was opened from with keys, atomically, under the same
 * passphrase, salt, cost and test mark, with a fresh nonce: no Argon2id run.
 */
ob_err ofl_keystore_rewrite(const ofl_store *st, ofl_key *const *keys, size_t n, ob_diag *d);
void ofl_store_free(ofl_store *st); /* NULL-tolerant */

/*
 * Write v3 keys as an encrypted store.  flags: OB_WRITE_EXCL to refuse an
 * existing file; without it the file is replaced atomically (passwd, adding
 * a key).  Mode 0600.  All keys must be v3.
 */
ob_err ofl_keystore_write(const char *path, ofl_key *const *keys, size_t n, const char *pass,
                          size_t passlen, const ofl_kdf *kdf, int flags, ob_diag *d);

/*
 * Write a v2 key as PKCS#8 PEM: encrypted with scrypt + AES-256-CBC when pass
 * is not NULL (readable by `openssl pkey -passin file:F`), plain otherwise.
 */
ob_err ofl_key_write_rsa(const char *path, const ofl_key *k, const char *pass, size_t passlen,
                         int flags, ob_diag *d);

/*
 * Write a v3 key unencrypted, in the PKCS#8 PEM form OnionBalance 0.2 reads.
 * Needs the seed, so only keys made by ofl_key_generate() qualify
 * (OB_ERR_UNSUPPORTED otherwise: tor's expanded keys have no seed).
 */
ob_err ofl_key_write_ed25519_pem(const char *path, const ofl_key *k, int flags, ob_diag *d);

/* What a path holds, for commands that treat formats differently. */
typedef enum {
    OFL_KEYFILE_UNKNOWN = 0,
    OFL_KEYFILE_STORE,      /* our encrypted store */
    OFL_KEYFILE_TOR_SECRET, /* hs_ed25519_secret_key */
    OFL_KEYFILE_TOR_DIR,    /* HiddenServiceDir */
    OFL_KEYFILE_PEM         /* PEM: Ed25519 PKCS#8 or RSA */
} ofl_keyfile_kind;
ofl_keyfile_kind ofl_keyfile_detect(const char *path);

/*
 * 1 when path holds a key anyone who reads the file can use: tor's
 * hs_ed25519_secret_key or HiddenServiceDir, a PEM key not marked
 * ENCRYPTED; 0 for our store, an encrypted PEM, or what is not a key.
 */
int ofl_keyfile_is_plain(const char *path);

/* Bytes of OpenSSL's secure heap (locked memory for RSA keys). */
#define OFL_OPENSSL_HEAP (256 * 1024)

/*
 * Set up OpenSSL's secure heap once; 0 or -1 (also when it cannot be locked
 * and swap is not allowed).  ofl_secure_heap_init() says why in d.
 */
int ofl_keystore_init_openssl(void);
ob_err ofl_secure_heap_init(ob_diag *d);

/*
 * The operator's --allow-swap: secrets that cannot be locked in memory are
 * used anyway (ob_secmem_allow_swap(1)); prints a warning.  Call before any
 * key is touched.
 */
void ofl_allow_swap(void);
/* Warn on stderr when secrets were left unlocked (after --allow-swap). */
void ofl_warn_unlocked(void);

#endif

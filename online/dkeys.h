/*
 * dkeys.h - the online delegated key store: descriptor-signing keys for
 * (master service, v3 time period), their type-08 certificates and
 * revision-counter keys (docs/delegation.rst).
 *
 * Life of a key:
 *   1. `delegate request` makes a fresh Ed25519 keypair per (service,
 *      period) in guarded memory (onl_dkey_new_pending), puts the public
 *      halves into a key-certification request, and once the request's
 *      digest is known saves each key as *pending* (onl_dkey_save).
 *   2. `ob-offline certify` signs a type-08 certificate of each public key
 *      with the period's blinded key and derives the period's
 *      revision-counter key; the response crosses back.
 *   3. `delegate install` finds the pending key a certificate names
 *      (onl_dkey_find_pending), checks the certificate
 *      (onl_dkey_certify: master address, the period's blinded PUBLIC key
 *      derived here, the pending key, expiry) and saves it as *certified*,
 *      replacing an earlier certified key of the same period.
 *   4. Builders (ob-online build, run) take the certified key of a period
 *      with onl_dkey_load; status and renewal use onl_dkeys_list.
 *
 * Nothing here can give the identity key: the store holds descriptor-
 * signing keys (fresh random keys, unrelated to the identity key), public
 * certificates, and revision-counter keys (SHA3-256 of the blinded secret
 * key: one-way).  A blinded private key never reaches this machine.
 *
 * Files: one directory per service below the store,
 *     <store>/<address>/<tp>.key                 certified
 *     <store>/<address>/<tp>-<16 hex>.pending    pending (first 8 bytes of
 *                                                the public key)
 * directories mode 0700, files 0600, each written atomically
 * (ob_file_write_atomic), read with ob_file_read_secret (no symlinks, size
 * capped).  <store> is $OB_DELEGATED_STORE when set (an absolute path;
 * tests), else "delegated" beside the request store: <state>/delegated
 * (onl_state_dir, reqstore.h: $STATE_DIRECTORY under systemd), or beside
 * $OB_REQUEST_STORE when that moves the request store.  The
 * entry layout (all integers big-endian):
 *
 *     off  size  field
 *       0     8  magic "OBDKEY\r\n"
 *       8     1  version 1
 *       9     1  state: 1 pending, 2 certified
 *      10    56  address (base32, no ".onion")
 *      66     8  tp
 *      74     4  tp_length_min
 *      78     4  tp_offset_min
 *      82     8  created (unix seconds)
 *      90    32  digest of the key-certification request it was sent in
 *     122    32  descriptor-signing public key
 *     154    64  descriptor-signing expanded secret key (a | RH)
 *     218    32  revision-counter key (zeros while pending)
 *     250     8  certificate expiry, unix seconds (0 while pending)
 *     258     2  certificate length n (0 while pending, else 1..1024)
 *     260     n  type-08 certificate
 *   260+n    32  SHA-256 of every byte before it
 *
 * Memory: sign_exp and rev_key point into one ob_secalloc() block (locked,
 * guarded) that onl_dkey_free wipes; file bytes are read into secure memory
 * and wiped as well.
 *
 * Errors: OB_ERR_NOTFOUND when a key is not there; OB_ERR_MALFORMED /
 * OB_ERR_VERIFY for a damaged entry (message names the file); OB_ERR_IO.
 */
#ifndef ONL_DKEYS_H
#define ONL_DKEYS_H

#include "bundle.h"
#include "config.h"
#include "diag.h"
#include "hsv3_cert.h"
#include "hsv3_common.h"

#include <stddef.h>
#include <stdint.h>

#define ONL_DKEYS_DIR "delegated"

enum onl_dkey_state { ONL_DKEY_PENDING = 1, ONL_DKEY_CERTIFIED = 2 };

typedef struct onl_dkey {
    char address[57];                             /* master address, no ".onion" */
    uint64_t tp;                                  /* time period */
    ob_tp_params tpp;                             /* length/offset it was made for */
    uint64_t valid_from, valid_until;             /* the period's start and end */
    uint64_t created;                             /* unix seconds */
    uint8_t request_digest[OB_BUNDLE_DIGEST_LEN]; /* its key-certification request */
    int state;                                    /* enum onl_dkey_state */
    uint8_t sign_pk[32];                          /* descriptor-signing public key */
    uint8_t *sign_exp; /* 64 bytes a|RH, secure memory; NULL in listings */
    uint8_t *rev_key;  /* 32 bytes, secure memory (certified); NULL in listings */
    /* Certified only: */
    uint8_t cert[OB_CERT_MAX_LEN]; /* type-08 cert of sign_pk by the blinded key */
    size_t cert_len;
    uint64_t cert_expires; /* unix seconds (the cert's expiration hours * 3600) */
    uint64_t use_until;    /* when this period's descriptors stop being published
                              (the end of ob_hsv3_desc_window) */
    int secret_borrowed;   /* internal: sign_exp is the caller's (onl_dkey_new_pending_in) */
} onl_dkey;

/* The store directory (malloc'd), or NULL when out of memory. */
char *onl_dkeys_dir(const ob_config *cfg);

/*
 * A fresh pending key for (address, tp) made for the period parameters
 * tpp, in memory only (nothing written): a random Ed25519 keypair, the
 * period's start and end.  created = now.  Save it with onl_dkey_save once
 * its request digest is set.  *out is owned by the caller (onl_dkey_free).
 */
ob_err onl_dkey_new_pending(const char *address, uint64_t tp, const ob_tp_params *tpp, uint64_t now,
                            onl_dkey **out, ob_diag *d);

/*
 * The same with the secret in memory the caller owns: secret is SECRET_LEN
 * (96) bytes of ob_secalloc() memory, typically a slice of one block for
 * many keys (one locked page per key would exhaust RLIMIT_MEMLOCK at a few
 * thousand keys).  onl_dkey_free leaves it alone; the caller wipes and frees
 * it after the keys.
 */
#define ONL_DKEY_SECRET_LEN 96
ob_err onl_dkey_new_pending_in(const char *address, uint64_t tp, const ob_tp_params *tpp,
                               uint64_t now, uint8_t *secret, onl_dkey **out, ob_diag *d);

/*
 * Check a certificate for a pending key and make it certified (in memory;
 * save with onl_dkey_save).  Checks: k is pending; cert parses
 * (ob_ed_cert_parse), is type 08, certifies k->sign_pk, carries its
 * signer, and that signer is the blinded public key of k->address for
 * k->tp and k->tpp.length_min, derived here (public blinding only); the
 * signature verifies and the cert has not expired at now.  Any failure
 * leaves k unchanged: OB_ERR_VERIFY/MALFORMED/EXPIRED naming the service
 * and period.
 */
ob_err onl_dkey_certify(onl_dkey *k, const uint8_t *cert, size_t cert_len,
                        const uint8_t rev_key[32], uint64_t now, ob_diag *d);

/*
 * Write k atomically (mode 0600; the directories 0700 are made as
 * needed): a pending key under its pending name, a certified key as
 * <tp>.key (replacing an earlier one of that period) after which the
 * pending file of the same public key, if any, is removed.
 */
ob_err onl_dkey_save(const ob_config *cfg, const onl_dkey *k, ob_diag *d);

/* Remove the pending entry of k (a request that was never sent); a missing entry is fine. */
ob_err onl_dkey_discard(const ob_config *cfg, const onl_dkey *k, ob_diag *d);

/*
 * The pending key of (address, tp) whose public key is sign_pk, with its
 * secret.  OB_ERR_NOTFOUND when this machine holds no such key.
 */
ob_err onl_dkey_find_pending(const ob_config *cfg, const char *address, uint64_t tp,
                             const uint8_t sign_pk[32], onl_dkey **out, ob_diag *d);

/*
 * The usable certified key of (address, tp), with its secret and
 * revision-counter key: the entry is checked as onl_dkey_certify checks
 * (certificate, blinded key, key pair) and its certificate must not have
 * expired at now.  OB_ERR_NOTFOUND when there is none; OB_ERR_EXPIRED
 * when there is one but its certificate ran out.  The builder signs the
 * descriptor with sign_exp/sign_pk, puts cert (exactly these bytes) in
 * it, and counts revisions with ob_hsv3_rev_counter_from_key(rev_key, ...)
 * from ob_hsv3_srv_run_start(tp): the scale the ceremony mode uses.
 */
ob_err onl_dkey_load(const ob_config *cfg, const char *address, uint64_t tp, uint64_t now,
                     onl_dkey **out, ob_diag *d);

/* Wipes; NULL-tolerant. */
void onl_dkey_free(onl_dkey *k);

/* The certified periods of one service, for status and renewal. */
typedef struct onl_dkey_list {
    onl_dkey *v; /* sorted by tp; sign_exp and rev_key are NULL */
    size_t n;
    /*
     * When the certification runs out: the first moment at or after now
     * at which a period the HSDirs need (ob_hsv3_publish_slots: the first
     * and second descriptor) has no certified key whose certificate is
     * still valid.  now itself when a needed period lacks one already.
     */
    uint64_t certified_until;
    uint64_t last_tp; /* the last period of the unbroken run from now (valid when n > 0) */
    size_t n_pending; /* pending keys of the service (waiting for a response) */
    /*
     * The pending key of the latest period (0: none), and when readable
     * (pending_read) the request it was sent in and when it was made: a
     * request still waiting for its response, which the daemon's renewal
     * does not write again after a restart.
     */
    uint64_t pending_last_tp;
    int pending_read;
    uint8_t pending_digest[OB_BUNDLE_DIGEST_LEN];
    uint64_t pending_created;
} onl_dkey_list;

/*
 * List the certified keys of address (pending ones are counted, and the
 * latest described, not listed) and compute certified_until at now with
 * the period parameters tpp.  Entries
 * are parsed but their certificates are not re-verified (onl_dkey_load
 * does that before a key is used).  An empty list is not an error.
 */
ob_err onl_dkeys_list(const ob_config *cfg, const char *address, const ob_tp_params *tpp,
                      uint64_t now, onl_dkey_list *out, ob_diag *d);
void onl_dkey_list_free(onl_dkey_list *l);

/*
 * Remove pending keys of address whose period's descriptors are no longer
 * published at now (the request they were sent in can no longer be
 * installed usefully).  Returns how many were removed in *n (may be NULL).
 */
ob_err onl_dkeys_prune(const ob_config *cfg, const char *address, uint64_t now, size_t *n,
                       ob_diag *d);

#endif

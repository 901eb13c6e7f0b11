/*
 * dkeys.c - the online delegated key store (dkeys.h; docs/delegation.rst).
 *
 * One file per key, in a directory per service.  An entry is read whole
 * into secure memory, checked field by field through a cursor, and wiped;
 * a certified entry's certificate is parsed again on every read, and
 * checked against the period's blinded public key before a key is handed
 * out for signing (onl_dkey_load).
 */
#include "dkeys.h"

#include "crypto.h"
#include "ed25519x.h"
#include "encode.h"
#include "fileio.h"
#include "hsv3_cover.h"
#include "hsv3_sign_desc.h"
#include "onion.h"
#include "reqstore.h"
#include "secmem.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAGIC      "OBDKEY\r\n"
#define MAGIC_LEN  8
#define VERSION    1
#define FIXED_LEN  260 /* every field before the certificate */
#define MAX_ENTRY  (FIXED_LEN + OB_CERT_MAX_LEN + 32)
#define SECRET_LEN (64 + 32) /* sign_exp | rev_key */
_Static_assert(SECRET_LEN == ONL_DKEY_SECRET_LEN, "the secret's size is in dkeys.h");
/* Bounds every period number and time this store accepts (no wrap-around). */
#define MAX_TP   (OB_TP_MAX + 1) /* obtime.h */
#define MAX_TIME OB_TIME_MAX

/* ---- paths ---------------------------------------------------------------- */

char *onl_dkeys_dir(const ob_config *cfg)
{
    const char *env = getenv("OB_DELEGATED_STORE"), *req_env = getenv("OB_REQUEST_STORE");
    char *base = NULL, *p = NULL;
    size_t n, bl, leaf = sizeof(ONL_REQSTORE_DIR) - 1;

    if (env != NULL && env[0] == '/')
        return strdup(env);
    if (req_env == NULL || req_env[0] != '/') {
        /* The state directory the request store is in (reqstore.h). */
        if ((base = onl_state_dir(cfg)) == NULL)
            return NULL;
        n = strlen(base) + sizeof(ONL_DKEYS_DIR) + 2;
        if ((p = malloc(n)) != NULL)
            snprintf(p, n, "%s/%s", base, ONL_DKEYS_DIR);
        free(base);
        return p;
    }
    /* A request store moved by $OB_REQUEST_STORE (tests): beside it when it is
     * ".../requests", else inside it. */
    if ((base = strdup(req_env)) == NULL)
        return NULL;
    bl = strlen(base);
    while (bl > 1 && base[bl - 1] == '/')
        base[--bl] = '\0';
    n = bl + sizeof(ONL_DKEYS_DIR) + 2;
    if ((p = malloc(n)) != NULL) {
        if (bl > leaf && base[bl - leaf - 1] == '/' &&
            strcmp(base + bl - leaf, ONL_REQSTORE_DIR) == 0)
            snprintf(p, n, "%.*s%s", (int)(bl - leaf), base, ONL_DKEYS_DIR);
        else
            snprintf(p, n, "%s/%s", base, ONL_DKEYS_DIR);
    }
    free(base);
    return p;
}

/* mkdir -p; the last component 0700, parents 0755 (the state directory). */
static int make_dirs(char *path)
{
    char *s;

    for (s = path + 1; *s != '\0'; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(path, 0755) != 0 && errno != EEXIST) {
            *s = '/';
            return -1;
        }
        *s = '/';
    }
    return mkdir(path, 0700) != 0 && errno != EEXIST ? -1 : 0;
}

/* A key directory must be ours and closed to everyone else, as tor wants a HiddenServiceDir. */
static ob_err check_private_dir(const char *path, ob_diag *d)
{
    struct stat st;

    if (lstat(path, &st) != 0)
        return ob_fail(d, errno == ENOENT ? OB_ERR_NOTFOUND : OB_ERR_IO, "%s: %s", path,
                       strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return ob_fail(d, OB_ERR_IO, "%s: not a directory (a symbolic link?)", path);
    if (st.st_uid != geteuid())
        return ob_fail(d, OB_ERR_IO, "%s: owned by uid %u, not by this user", path,
                       (unsigned)st.st_uid);
    if ((st.st_mode & 077) != 0)
        return ob_fail(d, OB_ERR_IO,
                       "%s: mode %03o lets other users in; the delegated key store must be 0700 "
                       "(chmod 700 %s)",
                       path, (unsigned)(st.st_mode & 0777), path);
    return OB_OK;
}

/* <store>/<address>, created (0700) when create is set. */
static ob_err service_dir(const ob_config *cfg, const char *address, int create, char **out,
                          ob_diag *d)
{
    char *store = onl_dkeys_dir(cfg), *p = NULL;
    size_t n;
    ob_err err;

    *out = NULL;
    if (store == NULL)
        return ob_fail(d, OB_ERR_NOMEM, "out of memory");
    n = strlen(store) + strlen(address) + 2;
    p = malloc(n);
    if (p == NULL) {
        free(store);
        return ob_fail(d, OB_ERR_NOMEM, "out of memory");
    }
    snprintf(p, n, "%s/%s", store, address);
    if (create && make_dirs(store) != 0) {
        err = ob_fail(d, OB_ERR_IO, "delegated key store %s: cannot create: %s", store,
                      strerror(errno));
        goto out;
    }
    if ((err = check_private_dir(store, d)) != OB_OK)
        goto out;
    if (create && mkdir(p, 0700) != 0 && errno != EEXIST) {
        err = ob_fail(d, OB_ERR_IO, "%s: cannot create: %s", p, strerror(errno));
        goto out;
    }
    if ((err = check_private_dir(p, d)) != OB_OK)
        goto out;
    *out = p;
    p = NULL;
out:
    free(store);
    free(p);
    return err;
}

static char *entry_path(const char *dir, const onl_dkey *k)
{
    char hex[17];
    size_t n = strlen(dir) + 64;
    char *p = malloc(n);

    if (p == NULL)
        return NULL;
    if (k->state == ONL_DKEY_CERTIFIED) {
        snprintf(p, n, "%s/%llu.key", dir, (unsigned long long)k->tp);
    } else {
        ob_hex_encode(hex, k->sign_pk, 8);
        snprintf(p, n, "%s/%llu-%s.pending", dir, (unsigned long long)k->tp, hex);
    }
    return p;
}

/* ---- keys in memory --------------------------------------------------------- */

static onl_dkey *dkey_alloc(int with_secret)
{
    onl_dkey *k = calloc(1, sizeof(*k));

    if (k == NULL)
        return NULL;
    if (with_secret) {
        k->sign_exp = ob_secalloc(SECRET_LEN);
        if (k->sign_exp == NULL) {
            free(k);
            return NULL;
        }
        memset(k->sign_exp, 0, SECRET_LEN);
        k->rev_key = k->sign_exp + 64;
    }
    return k;
}

void onl_dkey_free(onl_dkey *k)
{
    if (k == NULL)
        return;
    if (k->secret_borrowed)
        ob_wipe(k->sign_exp, SECRET_LEN);
    else
        ob_secfree(k->sign_exp); /* rev_key lives in the same block */
    ob_wipe(k, sizeof(*k));
    free(k);
}

static void dkey_clear_listing(onl_dkey *k)
{
    ob_secfree(k->sign_exp);
    k->sign_exp = NULL;
    k->rev_key = NULL;
}

/* 0 (nothing to use) for a period out of range; check_period refuses those first. */
static uint64_t use_until(uint64_t tp, const ob_tp_params *tpp)
{
    uint64_t from = 0, until = 0;

    if (ob_hsv3_desc_window(tp, tpp, &from, &until) != 0)
        return 0;
    return until;
}

/* Period numbers and parameters this store can do arithmetic on without wrapping. */
static ob_err check_period(const char *address, uint64_t tp, const ob_tp_params *tpp, ob_diag *d)
{
    uint64_t end;

    if (tpp->length_min < 1 || tpp->length_min > 525600 || tpp->offset_min >= tpp->length_min)
        return ob_fail(
            d, OB_ERR_RANGE, "%s.onion: time period length %llu min / offset %llu min out of range",
            address, (unsigned long long)tpp->length_min, (unsigned long long)tpp->offset_min);
    /* ob_hsv3_tp_start refuses a start past MAX_TIME (OB_TIME_MAX). */
    if (tp >= MAX_TP || ob_hsv3_tp_start(tp + 1, tpp, &end) != 0)
        return ob_fail(d, OB_ERR_RANGE, "%s.onion: time period %llu is out of range", address,
                       (unsigned long long)tp);
    return OB_OK;
}

/* A pending key in k (secret memory attached): checks, period, fresh keypair. */
static ob_err fill_pending(onl_dkey *k, const char *address, uint64_t tp, const ob_tp_params *tpp,
                           uint64_t now, ob_diag *d)
{
    memcpy(k->address, address, OB_ONION_V3_LEN + 1);
    k->tp = tp;
    k->tpp = *tpp;
    /* check_period: both are in range. */
    if (ob_hsv3_tp_start(tp, tpp, &k->valid_from) != 0 ||
        ob_hsv3_tp_start(tp + 1, tpp, &k->valid_until) != 0) {
        onl_dkey_free(k);
        return ob_fail(d, OB_ERR_RANGE, "%s.onion: time period %llu is out of range", address,
                       (unsigned long long)tp);
    }
    k->use_until = use_until(tp, tpp);
    k->created = now;
    k->state = ONL_DKEY_PENDING;
    if (ob_ed25519_keygen(k->sign_exp, k->sign_pk) != 0)
        return ob_fail(d, OB_ERR_CRYPTO, "descriptor-signing key generation failed");
    return OB_OK;
}

static ob_err check_new(const char *address, uint64_t tp, const ob_tp_params *tpp, ob_diag *d)
{
    uint8_t A[32];
    ob_err err;

    if (address == NULL || strlen(address) != OB_ONION_V3_LEN)
        return ob_fail(d, OB_ERR_MALFORMED, "%s: not a v3 onion address",
                       address ? address : "(null)");
    if ((err = ob_onion_v3_decode(A, address, strlen(address), d)) != OB_OK)
        return err;
    return check_period(address, tp, tpp, d);
}

ob_err onl_dkey_new_pending(const char *address, uint64_t tp, const ob_tp_params *tpp, uint64_t now,
                            onl_dkey **out, ob_diag *d)
{
    onl_dkey *k = NULL;
    ob_err err;

    *out = NULL;
    if ((err = check_new(address, tp, tpp, d)) != OB_OK)
        return err;
    k = dkey_alloc(1);
    if (k == NULL)
        return ob_fail(d, OB_ERR_NOMEM, "out of secure memory");
    if ((err = fill_pending(k, address, tp, tpp, now, d)) != OB_OK) {
        onl_dkey_free(k);
        return err;
    }
    *out = k;
    return OB_OK;
}

ob_err onl_dkey_new_pending_in(const char *address, uint64_t tp, const ob_tp_params *tpp,
                               uint64_t now, uint8_t *secret, onl_dkey **out, ob_diag *d)
{
    onl_dkey *k = NULL;
    ob_err err;

    *out = NULL;
    if ((err = check_new(address, tp, tpp, d)) != OB_OK)
        return err;
    k = dkey_alloc(0);
    if (k == NULL)
        return ob_fail(d, OB_ERR_NOMEM, "out of memory");
    memset(secret, 0, SECRET_LEN);
    k->sign_exp = secret;
    k->rev_key = secret + 64;
    k->secret_borrowed = 1;
    if ((err = fill_pending(k, address, tp, tpp, now, d)) != OB_OK) {
        onl_dkey_free(k);
        return err;
    }
    *out = k;
    return OB_OK;
}

/* ---- certificates ------------------------------------------------------------ */

/*
 * The certificate of k's period: type 08, certifies k->sign_pk, signed by
 * the blinded public key of k->address for k->tp (derived here with the
 * public blinding), expiry as recorded.  now != 0: not expired at now.
 */
static ob_err check_cert(const onl_dkey *k, const uint8_t *cert, size_t len, uint64_t now,
                         int verify_sig, ob_diag *d)
{
    uint8_t A[32], Ab[32];
    ob_ed_cert c;
    ob_err err;

    if ((err = ob_ed_cert_parse(&c, cert, len, d)) != OB_OK)
        return err;
    if (c.type != OB_CERT_DESC_SIGNING)
        return ob_fail(d, OB_ERR_VERIFY,
                       "certificate type 0x%02x, expected 0x08 (descriptor "
                       "signing key)",
                       (unsigned)c.type);
    if (memcmp(c.certified, k->sign_pk, 32) != 0)
        return ob_fail(d, OB_ERR_VERIFY,
                       "the certificate is for another descriptor-signing key than this one");
    if (!c.has_signer)
        return ob_fail(d, OB_ERR_VERIFY, "the certificate does not name its signing key");
    if (!verify_sig)
        return OB_OK;
    if ((err = ob_onion_v3_decode(A, k->address, strlen(k->address), d)) != OB_OK)
        return err;
    if (ob_hsv3_blind_public(Ab, A, k->tp, k->tpp.length_min) != 0)
        return ob_fail(d, OB_ERR_CRYPTO, "blinding the public key failed");
    if (memcmp(c.signer, Ab, 32) != 0)
        return ob_fail(d, OB_ERR_VERIFY,
                       "the certificate is signed by another key than the blinded key of %s.onion "
                       "for period %llu",
                       k->address, (unsigned long long)k->tp);
    return ob_ed_cert_verify(&c, Ab, now, d);
}

ob_err onl_dkey_certify(onl_dkey *k, const uint8_t *cert, size_t cert_len,
                        const uint8_t rev_key[32], uint64_t now, ob_diag *d)
{
    ob_ed_cert c;
    ob_err err;

    if (k->state != ONL_DKEY_PENDING || k->sign_exp == NULL)
        return ob_fail(d, OB_ERR_INTERNAL, "%s.onion period %llu: not a pending key", k->address,
                       (unsigned long long)k->tp);
    if (cert_len == 0 || cert_len > OB_CERT_MAX_LEN)
        return ob_fail(d, OB_ERR_MALFORMED, "%s.onion period %llu: certificate of %zu bytes",
                       k->address, (unsigned long long)k->tp, cert_len);
    err = check_cert(k, cert, cert_len, now, 1, d);
    if (err == OB_OK)
        err = ob_ed_cert_parse(&c, cert, cert_len, d);
    if (err != OB_OK) {
        ob_diag_prefix(d, "%s.onion period %llu: ", k->address, (unsigned long long)k->tp);
        return err;
    }
    memcpy(k->cert, cert, cert_len);
    k->cert_len = cert_len;
    k->cert_expires = (uint64_t)c.expiration_hours * 3600;
    memcpy(k->rev_key, rev_key, 32);
    k->state = ONL_DKEY_CERTIFIED;
    return OB_OK;
}

/* ---- entries on disk ---------------------------------------------------------- */

/* 0, or -1 (nothing useful in b) when memory or the hash failed. */
static int serialize(const onl_dkey *k, ob_buf *b)
{
    static const uint8_t zero[32];
    uint8_t digest[32];

    ob_buf_put(b, MAGIC, MAGIC_LEN);
    ob_buf_put_u8(b, VERSION);
    ob_buf_put_u8(b, (uint8_t)k->state);
    ob_buf_put(b, k->address, OB_ONION_V3_LEN);
    ob_buf_put_u64(b, k->tp);
    ob_buf_put_u32(b, (uint32_t)k->tpp.length_min);
    ob_buf_put_u32(b, (uint32_t)k->tpp.offset_min);
    ob_buf_put_u64(b, k->created);
    ob_buf_put(b, k->request_digest, 32);
    ob_buf_put(b, k->sign_pk, 32);
    ob_buf_put(b, k->sign_exp, 64);
    if (k->state == ONL_DKEY_CERTIFIED) {
        ob_buf_put(b, k->rev_key, 32);
        ob_buf_put_u64(b, k->cert_expires);
        ob_buf_put_u16(b, (uint16_t)k->cert_len);
        ob_buf_put(b, k->cert, k->cert_len);
    } else {
        ob_buf_put(b, zero, 32);
        ob_buf_put_u64(b, 0);
        ob_buf_put_u16(b, 0);
    }
    if (!ob_buf_ok(b) || ob_sha256_buf(digest, b->p, b->len) != 0)
        return -1;
    ob_buf_put(b, digest, 32);
    return ob_buf_ok(b) ? 0 : -1;
}

static int all_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    size_t i;

    for (i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

/*
 * Parse an entry read from path.  with_secret: keep the signing and
 * revision-counter keys (else they are wiped).  The address is checked to be
 * a v3 address; the caller compares it and tp with what it looked for.
 */
static ob_err parse_entry(const char *path, const uint8_t *p, size_t n, int with_secret,
                          onl_dkey **out, ob_diag *d)
{
    uint8_t digest[32], pk[32], A[32];
    uint8_t ver = 0, state = 0;
    uint32_t len_min = 0, off_min = 0;
    uint16_t cert_len = 0;
    onl_dkey *k = NULL;
    ob_cur c;
    ob_err err = OB_OK;

    *out = NULL;
    if (n < FIXED_LEN + 32 || n > MAX_ENTRY)
        return ob_fail(d, OB_ERR_MALFORMED, "%s: %zu bytes is not a delegated key entry", path, n);
    if (memcmp(p, MAGIC, MAGIC_LEN) != 0)
        return ob_fail(d, OB_ERR_MALFORMED, "%s: offset 0: not a delegated key entry (magic)",
                       path);
    if (ob_sha256_buf(digest, p, n - 32) != 0)
        return ob_fail(d, OB_ERR_CRYPTO, "SHA-256 failed");
    if (memcmp(digest, p + n - 32, 32) != 0)
        return ob_fail(d, OB_ERR_VERIFY, "%s: offset %zu: digest mismatch: the entry is damaged",
                       path, n - 32);
    k = dkey_alloc(1);
    if (k == NULL)
        return ob_fail(d, OB_ERR_NOMEM, "out of secure memory");
    ob_cur_init(&c, p + MAGIC_LEN, n - MAGIC_LEN - 32);
    (void)ob_cur_get_u8(&c, &ver);
    (void)ob_cur_get_u8(&c, &state);
    if (ver != VERSION) {
        err = ob_fail(d, OB_ERR_UNSUPPORTED, "%s: offset 8: entry version %u, expected %d", path,
                      (unsigned)ver, VERSION);
        goto out;
    }
    if (state != ONL_DKEY_PENDING && state != ONL_DKEY_CERTIFIED) {
        err = ob_fail(d, OB_ERR_MALFORMED, "%s: offset 9: state %u, expected 1 or 2", path,
                      (unsigned)state);
        goto out;
    }
    k->state = state;
    (void)ob_cur_get_bytes(&c, k->address, OB_ONION_V3_LEN);
    k->address[OB_ONION_V3_LEN] = '\0';
    if (ob_onion_v3_decode(A, k->address, OB_ONION_V3_LEN, NULL) != OB_OK) {
        err = ob_fail(d, OB_ERR_MALFORMED, "%s: offset 10: not a v3 onion address", path);
        goto out;
    }
    (void)ob_cur_get_u64(&c, &k->tp);
    (void)ob_cur_get_u32(&c, &len_min);
    (void)ob_cur_get_u32(&c, &off_min);
    k->tpp.length_min = len_min;
    k->tpp.offset_min = off_min;
    if ((err = check_period(k->address, k->tp, &k->tpp, d)) != OB_OK) {
        ob_diag_prefix(d, "%s: offset 66: ", path);
        goto out;
    }
    if (ob_hsv3_tp_start(k->tp, &k->tpp, &k->valid_from) != 0 ||
        ob_hsv3_tp_start(k->tp + 1, &k->tpp, &k->valid_until) != 0) {
        err = ob_fail(d, OB_ERR_RANGE, "%s: offset 66: time period %llu is out of range", path,
                      (unsigned long long)k->tp);
        goto out;
    }
    k->use_until = use_until(k->tp, &k->tpp);
    (void)ob_cur_get_u64(&c, &k->created);
    (void)ob_cur_get_bytes(&c, k->request_digest, 32);
    (void)ob_cur_get_bytes(&c, k->sign_pk, 32);
    (void)ob_cur_get_bytes(&c, k->sign_exp, 64);
    (void)ob_cur_get_bytes(&c, k->rev_key, 32);
    (void)ob_cur_get_u64(&c, &k->cert_expires);
    if (ob_cur_get_u16(&c, &cert_len) != 0 || cert_len > OB_CERT_MAX_LEN ||
        ob_cur_left(&c) != cert_len) {
        err = ob_fail(d, OB_ERR_MALFORMED, "%s: offset 258: certificate length %u, %zu bytes left",
                      path, (unsigned)cert_len, ob_cur_left(&c));
        goto out;
    }
    (void)ob_cur_get_bytes(&c, k->cert, cert_len);
    k->cert_len = cert_len;
    /* The secret half must be the public key's. */
    if (ob_ed25519_pub_from_expanded(pk, k->sign_exp) != 0 ||
        ob_ct_memcmp(pk, k->sign_pk, 32) != 0) {
        err = ob_fail(d, OB_ERR_VERIFY,
                      "%s: offset 154: the signing key does not match its public "
                      "key",
                      path);
        goto out;
    }
    if (state == ONL_DKEY_PENDING) {
        if (cert_len != 0 || k->cert_expires != 0 || !all_zero(k->rev_key, 32)) {
            err = ob_fail(d, OB_ERR_MALFORMED,
                          "%s: offset 218: a pending entry carries a "
                          "certificate",
                          path);
            goto out;
        }
    } else {
        ob_ed_cert ce;
        if (cert_len == 0) {
            err =
                ob_fail(d, OB_ERR_MALFORMED, "%s: offset 258: certified but no certificate", path);
            goto out;
        }
        if ((err = check_cert(k, k->cert, k->cert_len, 0, 0, d)) != OB_OK ||
            (err = ob_ed_cert_parse(&ce, k->cert, k->cert_len, d)) != OB_OK) {
            ob_diag_prefix(d, "%s: offset 260: ", path);
            goto out;
        }
        if ((uint64_t)ce.expiration_hours * 3600 != k->cert_expires) {
            err = ob_fail(d, OB_ERR_MALFORMED,
                          "%s: offset 250: expiry %llu is not the certificate's (%llu)", path,
                          (unsigned long long)k->cert_expires,
                          (unsigned long long)ce.expiration_hours * 3600);
            goto out;
        }
    }
    if (!with_secret)
        dkey_clear_listing(k);
    *out = k;
    k = NULL;
out:
    ob_wipe(pk, sizeof(pk));
    onl_dkey_free(k);
    return err;
}

static ob_err read_entry(const char *path, int with_secret, onl_dkey **out, ob_diag *d)
{
    uint8_t *p = NULL;
    size_t n = 0;
    struct stat st;
    ob_err err;

    *out = NULL;
    if (lstat(path, &st) != 0)
        return ob_fail(d, errno == ENOENT ? OB_ERR_NOTFOUND : OB_ERR_IO, "%s: %s", path,
                       strerror(errno));
    if (S_ISREG(st.st_mode) && (st.st_mode & 077) != 0)
        return ob_fail(d, OB_ERR_IO,
                       "%s: mode %03o lets other users read a secret key; expected 0600", path,
                       (unsigned)(st.st_mode & 0777));
    err = ob_file_read_secret(path, MAX_ENTRY, &p, &n, d);
    if (err == OB_ERR_RANGE)
        err = ob_fail(d, OB_ERR_MALFORMED, "%s: larger than a delegated key entry", path);
    if (err == OB_OK)
        err = parse_entry(path, p, n, with_secret, out, d);
    ob_secfree(p);
    return err;
}

ob_err onl_dkey_save(const ob_config *cfg, const onl_dkey *k, ob_diag *d)
{
    char *dir = NULL, *path = NULL, *pending = NULL;
    onl_dkey tmp;
    ob_buf b;
    ob_err err;

    ob_buf_init_secure(&b);
    if (k->sign_exp == NULL || (k->state != ONL_DKEY_PENDING && k->state != ONL_DKEY_CERTIFIED))
        return ob_fail(d, OB_ERR_INTERNAL, "saving a key without its secret");
    if ((err = service_dir(cfg, k->address, 1, &dir, d)) != OB_OK)
        goto out;
    path = entry_path(dir, k);
    if (path == NULL || serialize(k, &b) != 0) {
        err = ob_fail(d, OB_ERR_NOMEM, "out of memory");
        goto out;
    }
    err = ob_file_write_atomic(path, b.p, b.len, 0600,
                               k->state == ONL_DKEY_PENDING ? OB_WRITE_EXCL : 0, d);
    if (err != OB_OK)
        goto out;
    if (k->state == ONL_DKEY_CERTIFIED) {
        /* The pending copy of this key is spent. */
        tmp = *k;
        tmp.state = ONL_DKEY_PENDING;
        pending = entry_path(dir, &tmp);
        ob_wipe(&tmp, sizeof(tmp));
        if (pending != NULL && unlink(pending) != 0 && errno != ENOENT)
            err = ob_fail(d, OB_ERR_IO, "%s: cannot remove: %s", pending, strerror(errno));
    }
out:
    ob_buf_free(&b);
    free(pending);
    free(path);
    free(dir);
    return err;
}

ob_err onl_dkey_discard(const ob_config *cfg, const onl_dkey *k, ob_diag *d)
{
    char *dir = NULL, *path = NULL;
    onl_dkey probe;
    ob_err err;

    memset(&probe, 0, sizeof(probe));
    probe.state = ONL_DKEY_PENDING;
    probe.tp = k->tp;
    memcpy(probe.sign_pk, k->sign_pk, 32);
    err = service_dir(cfg, k->address, 0, &dir, d);
    if (err == OB_ERR_NOTFOUND)
        return OB_OK;
    if (err != OB_OK)
        return err;
    path = entry_path(dir, &probe);
    if (path == NULL)
        err = ob_fail(d, OB_ERR_NOMEM, "out of memory");
    else if (unlink(path) != 0 && errno != ENOENT)
        err = ob_fail(d, OB_ERR_IO, "%s: cannot remove: %s", path, strerror(errno));
    free(path);
    free(dir);
    return err;
}

ob_err onl_dkey_find_pending(const ob_config *cfg, const char *address, uint64_t tp,
                             const uint8_t sign_pk[32], onl_dkey **out, ob_diag *d)
{
    char *dir = NULL, *path = NULL;
    onl_dkey probe;
    ob_err err;

    *out = NULL;
    memset(&probe, 0, sizeof(probe));
    probe.state = ONL_DKEY_PENDING;
    probe.tp = tp;
    memcpy(probe.sign_pk, sign_pk, 32);
    if ((err = service_dir(cfg, address, 0, &dir, d)) != OB_OK) {
        if (err == OB_ERR_NOTFOUND)
            err = ob_fail(d, OB_ERR_NOTFOUND, "%s.onion: this machine holds no delegated key",
                          address);
        goto out;
    }
    path = entry_path(dir, &probe);
    if (path == NULL) {
        err = ob_fail(d, OB_ERR_NOMEM, "out of memory");
        goto out;
    }
    err = read_entry(path, 1, out, d);
    if (err == OB_OK &&
        ((*out)->state != ONL_DKEY_PENDING || (*out)->tp != tp ||
         strcmp((*out)->address, address) != 0 || memcmp((*out)->sign_pk, sign_pk, 32) != 0)) {
        onl_dkey_free(*out);
        *out = NULL;
        err = ob_fail(d, OB_ERR_VERIFY, "%s: holds another key than its name says", path);
    }
out:
    free(path);
    free(dir);
    return err;
}

ob_err onl_dkey_load(const ob_config *cfg, const char *address, uint64_t tp, uint64_t now,
                     onl_dkey **out, ob_diag *d)
{
    char *dir = NULL, *path = NULL;
    onl_dkey probe, *k = NULL;
    char when[32];
    ob_err err;

    *out = NULL;
    memset(&probe, 0, sizeof(probe));
    probe.state = ONL_DKEY_CERTIFIED;
    probe.tp = tp;
    if ((err = service_dir(cfg, address, 0, &dir, d)) != OB_OK) {
        if (err == OB_ERR_NOTFOUND)
            err = ob_fail(d, OB_ERR_NOTFOUND, "%s.onion: no delegated key is installed", address);
        goto out;
    }
    path = entry_path(dir, &probe);
    if (path == NULL) {
        err = ob_fail(d, OB_ERR_NOMEM, "out of memory");
        goto out;
    }
    err = read_entry(path, 1, &k, d);
    if (err == OB_ERR_NOTFOUND) {
        err = ob_fail(d, OB_ERR_NOTFOUND, "%s.onion: no certified key for period %llu", address,
                      (unsigned long long)tp);
        goto out;
    }
    if (err != OB_OK)
        goto out;
    if (k->state != ONL_DKEY_CERTIFIED || k->tp != tp || strcmp(k->address, address) != 0) {
        err = ob_fail(d, OB_ERR_VERIFY, "%s: holds another key than its name says", path);
        goto out;
    }
    if (k->cert_expires <= now) {
        time_t t = (time_t)k->cert_expires;
        struct tm tm;
        if (gmtime_r(&t, &tm) == NULL ||
            strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", &tm) == 0)
            snprintf(when, sizeof(when), "?");
        err = ob_fail(d, OB_ERR_EXPIRED, "%s.onion period %llu: the certificate expired at %s",
                      address, (unsigned long long)tp, when);
        goto out;
    }
    if ((err = check_cert(k, k->cert, k->cert_len, now, 1, d)) != OB_OK) {
        ob_diag_prefix(d, "%s: ", path);
        goto out;
    }
    *out = k;
    k = NULL;
out:
    onl_dkey_free(k);
    free(path);
    free(dir);
    return err;
}

/* ---- listing -------------------------------------------------------------------- */

void onl_dkey_list_free(onl_dkey_list *l)
{
    if (l == NULL)
        return;
    free(l->v);
    memset(l, 0, sizeof(*l));
}

static int by_tp(const void *a, const void *b)
{
    const onl_dkey *x = a, *y = b;

    return x->tp < y->tp ? -1 : x->tp > y->tp;
}

/* "<digits>.key" or "<digits>-<16 hex>.pending"; the period number in *tp. */
static int entry_name(const char *name, int *pending, uint64_t *tp)
{
    const char *s = name;
    uint64_t v = 0;

    if (*s < '0' || *s > '9')
        return 0;
    while (*s >= '0' && *s <= '9') {
        if (v > (MAX_TP - 9) / 10)
            return 0;
        v = v * 10 + (uint64_t)(*s++ - '0');
    }
    *tp = v;
    if (strcmp(s, ".key") == 0) {
        *pending = 0;
        return 1;
    }
    if (s[0] == '-' && strlen(s) == 1 + 16 + 8 && strcmp(s + 17, ".pending") == 0) {
        size_t i;
        for (i = 1; i <= 16; i++)
            if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                return 0;
        *pending = 1;
        return 1;
    }
    return 0;
}

static const onl_dkey *find_tp(const onl_dkey_list *l, uint64_t tp)
{
    size_t i;

    for (i = 0; i < l->n; i++)
        if (l->v[i].tp == tp)
            return &l->v[i];
    return NULL;
}

/*
 * The one answer to "until when" (hsv3_cover.h): each certified key covers
 * its period while the online side may sign for it, that is within the
 * period's descriptor window and before its certificate expires.
 */
static void compute_until(onl_dkey_list *l, const ob_tp_params *tpp, uint64_t now)
{
    ob_hsv3_cover *c = calloc(l->n + 1, sizeof(*c));
    size_t i;

    l->certified_until = now; /* the cautious answer if memory fails */
    l->last_tp = ob_hsv3_tp_num(now, tpp);
    if (c == NULL)
        return;
    for (i = 0; i < l->n; i++) {
        uint64_t from = 0, until = 0;
        /* A period out of range covers nothing (check_period refuses it first). */
        if (ob_hsv3_desc_window(l->v[i].tp, tpp, &from, &until) != 0)
            from = until = 0;
        c[i].tp = l->v[i].tp;
        c[i].from = from;
        c[i].until = until < l->v[i].cert_expires ? until : l->v[i].cert_expires;
    }
    l->certified_until = ob_hsv3_covered_until(tpp, c, l->n, now);
    free(c);
    while (find_tp(l, l->last_tp + 1) != NULL)
        l->last_tp++;
}

/*
 * The request the latest pending key was sent in, for the list.  Best
 * effort: an entry that cannot be read leaves pending_read 0 (onl_dkey_load
 * and install report damaged entries; a listing is not the place to fail).
 */
static void pending_describe(onl_dkey_list *out, const char *dir, const char *name,
                             const char *address)
{
    char path[4096];
    onl_dkey *k = NULL;
    ob_diag d;

    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path) ||
        read_entry(path, 0, &k, &d) != OB_OK)
        return;
    if (k->state == ONL_DKEY_PENDING && k->tp == out->pending_last_tp &&
        strcmp(k->address, address) == 0) {
        out->pending_read = 1;
        memcpy(out->pending_digest, k->request_digest, sizeof(out->pending_digest));
        out->pending_created = k->created;
    }
    onl_dkey_free(k);
}

ob_err onl_dkeys_list(const ob_config *cfg, const char *address, const ob_tp_params *tpp,
                      uint64_t now, onl_dkey_list *out, ob_diag *d)
{
    char *dir = NULL, *path = NULL, last_pending[256] = "";
    DIR *dh = NULL;
    struct dirent *e;
    size_t cap = 0;
    ob_err err;

    memset(out, 0, sizeof(*out));
    out->certified_until = now;
    err = service_dir(cfg, address, 0, &dir, d);
    if (err == OB_ERR_NOTFOUND) {
        err = OB_OK; /* nothing installed yet */
        goto out;
    }
    if (err != OB_OK)
        goto out;
    dh = opendir(dir);
    if (dh == NULL) {
        err = ob_fail(d, OB_ERR_IO, "%s: %s", dir, strerror(errno));
        goto out;
    }
    while ((e = readdir(dh)) != NULL) {
        onl_dkey *k = NULL;
        uint64_t tp = 0;
        int pending = 0;
        size_t n;
        if (!entry_name(e->d_name, &pending, &tp))
            continue;
        if (pending) {
            out->n_pending++;
            if (tp > out->pending_last_tp || last_pending[0] == '\0') {
                out->pending_last_tp = tp;
                snprintf(last_pending, sizeof(last_pending), "%.*s",
                         (int)(sizeof(last_pending) - 1), e->d_name);
            }
            continue;
        }
        n = strlen(dir) + strlen(e->d_name) + 2;
        free(path);
        path = malloc(n);
        if (path == NULL) {
            err = ob_fail(d, OB_ERR_NOMEM, "out of memory");
            goto out;
        }
        snprintf(path, n, "%s/%s", dir, e->d_name);
        if ((err = read_entry(path, 0, &k, d)) != OB_OK)
            goto out;
        if (k->state != ONL_DKEY_CERTIFIED || k->tp != tp || strcmp(k->address, address) != 0) {
            onl_dkey_free(k);
            err = ob_fail(d, OB_ERR_VERIFY, "%s: holds another key than its name says", path);
            goto out;
        }
        if (out->n == cap) {
            size_t nc = cap ? cap * 2 : 16;
            onl_dkey *nv = realloc(out->v, nc * sizeof(*nv));
            if (nv == NULL) {
                onl_dkey_free(k);
                err = ob_fail(d, OB_ERR_NOMEM, "out of memory");
                goto out;
            }
            out->v = nv;
            cap = nc;
        }
        out->v[out->n++] = *k;
        free(k); /* its secret is already gone (dkey_clear_listing) */
    }
    if (out->n > 1)
        qsort(out->v, out->n, sizeof(*out->v), by_tp);
    compute_until(out, tpp, now);
    if (last_pending[0] != '\0')
        pending_describe(out, dir, last_pending, address);
out:
    if (dh != NULL)
        closedir(dh);
    if (err != OB_OK)
        onl_dkey_list_free(out);
    free(path);
    free(dir);
    return err;
}

ob_err onl_dkeys_prune(const ob_config *cfg, const char *address, uint64_t now, size_t *n_out,
                       ob_diag *d)
{
    char *dir = NULL, *path = NULL;
    DIR *dh = NULL;
    struct dirent *e;
    size_t removed = 0;
    ob_err err;

    if (n_out != NULL)
        *n_out = 0;
    err = service_dir(cfg, address, 0, &dir, d);
    if (err == OB_ERR_NOTFOUND) {
        err = OB_OK;
        goto out;
    }
    if (err != OB_OK)
        goto out;
    dh = opendir(dir);
    if (dh == NULL) {
        err = ob_fail(d, OB_ERR_IO, "%s: %s", dir, strerror(errno));
        goto out;
    }
    while ((e = readdir(dh)) != NULL) {
        onl_dkey *k = NULL;
        uint64_t tp = 0;
        int pending = 0;
        size_t n;
        if (!entry_name(e->d_name, &pending, &tp) || !pending)
            continue;
        n = strlen(dir) + strlen(e->d_name) + 2;
        free(path);
        path = malloc(n);
        if (path == NULL) {
            err = ob_fail(d, OB_ERR_NOMEM, "out of memory");
            goto out;
        }
        snprintf(path, n, "%s/%s", dir, e->d_name);
        /* Only entries that read as pending keys of this service are removed. */
        if (read_entry(path, 0, &k, NULL) != OB_OK)
            continue;
        if (k->state == ONL_DKEY_PENDING && strcmp(k->address, address) == 0 &&
            k->use_until <= now) {
            if (unlink(path) != 0) {
                onl_dkey_free(k);
                err = ob_fail(d, OB_ERR_IO, "%s: cannot remove: %s", path, strerror(errno));
                goto out;
            }
            removed++;
        }
        onl_dkey_free(k);
    }
    if (n_out != NULL)
        *n_out = removed;
out:
    if (dh != NULL)
        closedir(dh);
    free(path);
    free(dir);
    return err;
}

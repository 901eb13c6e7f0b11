/*
 * cmd_keys.c - the key verbs of ob-offline: keygen, address, passwd, import.
 *
 * Each verb parses its options, calls offline/keystore.c, and turns the
 * result into output and an exit status.  Passphrases come from
 * --passphrase-file style options or the terminal (offline/passphrase.c),
 * never from the command line.
 */
#include "cli.h"
#include "commands.h"
#include "fileio.h"
#include "keystore.h"
#include "passphrase.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct key_opts {
    const char *pos;         /* the one positional argument */
    const char *out;         /* -o */
    const char *passfile;    /* --passphrase-file */
    const char *newpassfile; /* --new-passphrase-file */
    const char *srcpassfile; /* --source-passphrase-file */
    int version;             /* --version, 0 if absent */
    int no_passphrase;       /* --no-passphrase */
    int allow_swap;          /* --allow-swap */
} key_opts;

enum {
    OPT_OUT = 1,
    OPT_PASS = 2,
    OPT_NEWPASS = 4,
    OPT_SRCPASS = 8,
    OPT_VERSION = 16,
    OPT_NOPASS = 32,
    OPT_POS = 64,
    OPT_SWAP = 128
};

/* Parse argv[1..] allowing the options in mask; any other word is a usage error. */
static void parse_opts(int argc, char **argv, unsigned mask, key_opts *o)
{
    int i;

    memset(o, 0, sizeof(*o));
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = NULL;
        unsigned bit = 0;

        if (strcmp(a, "-o") == 0) {
            slot = &o->out;
            bit = OPT_OUT;
        } else if (strcmp(a, "--passphrase-file") == 0) {
            slot = &o->passfile;
            bit = OPT_PASS;
        } else if (strcmp(a, "--new-passphrase-file") == 0) {
            slot = &o->newpassfile;
            bit = OPT_NEWPASS;
        } else if (strcmp(a, "--source-passphrase-file") == 0) {
            slot = &o->srcpassfile;
            bit = OPT_SRCPASS;
        } else if (strcmp(a, "--version") == 0 && (mask & OPT_VERSION)) {
            if (i + 1 >= argc || (strcmp(argv[i + 1], "2") != 0 && strcmp(argv[i + 1], "3") != 0)) {
                ob_msg("--version must be 3 or 2");
                ob_usage_verb(argv[0]);
            }
            o->version = argv[++i][0] - '0';
            continue;
        } else if (strcmp(a, "--no-passphrase") == 0 && (mask & OPT_NOPASS)) {
            o->no_passphrase = 1;
            continue;
        } else if (strcmp(a, "--allow-swap") == 0 && (mask & OPT_SWAP)) {
            o->allow_swap = 1;
            continue;
        } else if (a[0] != '-' && (mask & OPT_POS) && o->pos == NULL) {
            o->pos = a;
            continue;
        } else {
            ob_msg("%s: unexpected argument '%s'", argv[0], a);
            ob_usage_verb(argv[0]);
        }
        if (!(mask & bit) || *slot != NULL || i + 1 >= argc) {
            ob_msg("%s: option %s %s", argv[0], a,
                   !(mask & bit)   ? "is not valid here"
                   : *slot != NULL ? "given twice"
                                   : "needs a value");
            ob_usage_verb(argv[0]);
        }
        *slot = argv[++i];
    }
    if ((mask & OPT_POS) && o->pos == NULL) {
        ob_msg("%s: missing file argument", argv[0]);
        ob_usage_verb(argv[0]);
    }
    if (o->allow_swap)
        ofl_allow_swap();
}

static void print_addresses(ofl_key *const *keys, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        printf("%s.onion\n", ofl_key_address(keys[i]));
    fflush(stdout);
}

void ofl_cmd_warn_short_pass(const char *pass, size_t len)
{
    if (ofl_pass_is_short(pass, len))
        ob_msg("warning: the new passphrase has fewer than %d characters; a longer one (several "
               "words) is much harder to guess for whoever gets the key file",
               OFL_PASS_SHORT);
}

/*
 * Write keys to a new file out, encrypted with a new passphrase (v3: store,
 * v2: PKCS#8).  old: the cost of the store being re-encrypted (passwd), which
 * OB_INSECURE_TEST_KDF may not lower; NULL for a new file.
 */
static ob_err write_new(const char *out, ofl_key *const *keys, size_t n, const char *passfile,
                        int flags, const ofl_kdf *old, ob_diag *d)
{
    char *pass = NULL;
    size_t passlen = 0;
    ofl_kdf kdf;
    ob_err e;

    if ((e = ofl_pass_read_new(passfile, out, &pass, &passlen, d)) != OB_OK)
        return e;
    ofl_cmd_warn_short_pass(pass, passlen);
    if (ofl_key_version(keys[0]) == 3) {
        if (old == NULL)
            ofl_kdf_default(&kdf);
        else if (ofl_kdf_for_rewrite(old, &kdf))
            ob_msg("warning: OB_INSECURE_TEST_KDF=1 ignored: %s was not made with it and keeps "
                   "the full Argon2id cost",
                   out);
        e = ofl_keystore_write(out, keys, n, pass, passlen, &kdf, flags, d);
    } else if (n == 1) {
        e = ofl_key_write_rsa(out, keys[0], pass, passlen, flags, d);
    } else {
        e = ob_fail(d, OB_ERR_INTERNAL, "several v2 keys in one file");
    }
    ofl_pass_free(pass);
    return e;
}

int ofl_cmd_keygen(int argc, char **argv)
{
    key_opts o;
    ofl_key *k = NULL;
    ob_diag d;
    ob_err e;

    ob_diag_clear(&d);
    parse_opts(argc, argv, OPT_OUT | OPT_PASS | OPT_VERSION | OPT_NOPASS | OPT_SWAP, &o);
    if (o.version == 0 || o.out == NULL || (o.no_passphrase && o.passfile != NULL)) {
        ob_msg("keygen: %s", o.version == 0 ? "--version 3|2 is required"
                             : o.out == NULL
                                 ? "-o FILE is required"
                                 : "--passphrase-file and --no-passphrase exclude each other");
        ob_usage_verb(argv[0]);
    }
    /* Checked before any passphrase prompt; the write is O_EXCL-safe anyway. */
    if (ob_path_exists(o.out)) {
        e = ob_fail(&d, OB_ERR_EXISTS, "%s: already exists; refusing to overwrite it", o.out);
        goto out;
    }
    if ((e = ofl_key_generate(o.version, &k, &d)) != OB_OK)
        goto out;
    if (o.no_passphrase) {
        e = o.version == 3 ? ofl_key_write_ed25519_pem(o.out, k, OB_WRITE_EXCL, &d)
                           : ofl_key_write_rsa(o.out, k, NULL, 0, OB_WRITE_EXCL, &d);
        if (e == OB_OK)
            ob_msg("warning: %s is NOT encrypted; whoever reads it controls %s.onion", o.out,
                   ofl_key_address(k));
    } else {
        e = write_new(o.out, &k, 1, o.passfile, OB_WRITE_EXCL, NULL, &d);
    }
    if (e == OB_OK)
        print_addresses(&k, 1);
out:
    ofl_key_free(k);
    return ob_report(e, &d);
}

int ofl_cmd_address(int argc, char **argv)
{
    key_opts o;
    ofl_key **keys = NULL;
    size_t n = 0;
    ob_diag d;
    ob_err e;

    ob_diag_clear(&d);
    parse_opts(argc, argv, OPT_POS | OPT_PASS | OPT_SWAP, &o);
    e = ofl_keystore_load_all(o.pos, o.passfile, &keys, &n, &d);
    if (e == OB_OK)
        print_addresses(keys, n);
    ofl_keys_free(keys, n);
    return ob_report(e, &d);
}

int ofl_cmd_passwd(int argc, char **argv)
{
    key_opts o;
    ofl_key **keys = NULL;
    size_t n = 0;
    ofl_keyfile_kind kind;
    ofl_kdf old;
    ob_diag d;
    ob_err e;

    ob_diag_clear(&d);
    parse_opts(argc, argv, OPT_POS | OPT_PASS | OPT_NEWPASS | OPT_SWAP, &o);
    kind = ofl_keyfile_detect(o.pos);
    if (kind == OFL_KEYFILE_TOR_SECRET || kind == OFL_KEYFILE_TOR_DIR) {
        e = ob_fail(&d, OB_ERR_UNSUPPORTED,
                    "%s: tor's key files are not encrypted; use 'ob-offline import' to make an "
                    "encrypted key store",
                    o.pos);
        goto out;
    }
    if (kind == OFL_KEYFILE_STORE && (e = ofl_keystore_kdf(o.pos, &old, &d)) != OB_OK)
        goto out;
    if ((e = ofl_keystore_load_all(o.pos, o.passfile, &keys, &n, &d)) != OB_OK)
        goto out;
    if (kind != OFL_KEYFILE_STORE && ofl_key_version(keys[0]) == 3) {
        e = ob_fail(&d, OB_ERR_UNSUPPORTED,
                    "%s: an unencrypted Ed25519 PEM key; use 'ob-offline import' to make an "
                    "encrypted key store",
                    o.pos);
        goto out;
    }
    /* Replaced atomically: on any failure the old file is untouched. */
    e = write_new(o.pos, keys, n, o.newpassfile, 0, kind == OFL_KEYFILE_STORE ? &old : NULL, &d);
out:
    ofl_keys_free(keys, n);
    return ob_report(e, &d);
}

/*
 * Add the v3 keys in src to the existing store at out (same passphrase).
 * The key derived to open the store writes it back: one Argon2id run.
 */
static ob_err import_into_store(const char *out, const char *passfile, ofl_key **src, size_t nsrc,
                                ob_diag *d)
{
    ofl_key **keys = NULL, **all = NULL;
    ofl_store *st = NULL;
    size_t n = 0, i, j, total;
    char prompt[512], *pass = NULL;
    size_t passlen = 0;
    ob_err e;

    snprintf(prompt, sizeof(prompt), "Passphrase for %s: ", out);
    if ((e = ofl_pass_read(passfile, prompt, &pass, &passlen, d)) != OB_OK)
        goto out;
    e = ofl_keystore_open(out, pass, passlen, &keys, &n, &st, d);
    ofl_pass_free(pass); /* st holds the derived key */
    if (e != OB_OK)
        goto out;
    for (i = 0; i < nsrc; i++)
        for (j = 0; j < n; j++)
            if (strcmp(ofl_key_address(src[i]), ofl_key_address(keys[j])) == 0) {
                e = ob_fail(d, OB_ERR_EXISTS, "%s: already holds the key for %s.onion", out,
                            ofl_key_address(src[i]));
                goto out;
            }
    total = n + nsrc;
    if (total > OFL_STORE_MAX_KEYS) {
        e = ob_fail(d, OB_ERR_RANGE, "%s: a key store holds at most %d keys", out,
                    OFL_STORE_MAX_KEYS);
        goto out;
    }
    if ((all = calloc(total, sizeof(*all))) == NULL) {
        e = ob_fail(d, OB_ERR_NOMEM, "out of memory");
        goto out;
    }
    memcpy(all, keys, n * sizeof(*all));
    memcpy(all + n, src, nsrc * sizeof(*all)); /* borrowed: freed by the caller */
    e = ofl_keystore_rewrite(st, all, total, d);
out:
    free(all);
    ofl_keys_free(keys, n);
    ofl_store_free(st);
    return e;
}

int ofl_cmd_import(int argc, char **argv)
{
    key_opts o;
    ofl_key **keys = NULL;
    size_t n = 0;
    ob_diag d;
    ob_err e;

    ob_diag_clear(&d);
    parse_opts(argc, argv, OPT_POS | OPT_OUT | OPT_PASS | OPT_SRCPASS | OPT_SWAP, &o);
    if (o.out == NULL) {
        ob_msg("import: -o FILE is required");
        ob_usage_verb(argv[0]);
    }
    /* A v2 target, or a v3 target that is not a store, must not exist. */
    if (ob_path_exists(o.out) && ofl_keyfile_detect(o.out) != OFL_KEYFILE_STORE) {
        e = ob_fail(&d, OB_ERR_EXISTS, "%s: already exists; refusing to overwrite it", o.out);
        goto out;
    }
    if ((e = ofl_keystore_load_all(o.pos, o.srcpassfile, &keys, &n, &d)) != OB_OK)
        goto out;
    if (ob_path_exists(o.out)) {
        if (ofl_key_version(keys[0]) != 3) {
            e = ob_fail(&d, OB_ERR_EXISTS, "%s: already exists; a v2 key goes to a file of its own",
                        o.out);
            goto out;
        }
        e = import_into_store(o.out, o.passfile, keys, n, &d);
    } else {
        e = write_new(o.out, keys, n, o.passfile, OB_WRITE_EXCL, NULL, &d);
    }
    if (e == OB_OK)
        print_addresses(keys, n);
out:
    ofl_keys_free(keys, n);
    return ob_report(e, &d);
}

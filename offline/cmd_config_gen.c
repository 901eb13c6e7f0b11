/*
 * cmd_config_gen.c - ob-offline config-gen, the counterpart of OnionBalance's
 * onionbalance-config: one run makes a NEW folder with everything a
 * deployment of one load-balanced onion service needs (docs/config-gen.rst):
 *
 *     OUT/                       0700
 *       master/                  the offline machine only
 *         <master>.key           the master key, encrypted (0600)
 *         config.yaml            ob-offline's config: key and instances
 *       online/                  the online machine
 *         config.yaml            ob-online's config: master address, instances, no key
 *         torrc                  the management tor (control port only)
 *       <tag>1/ ... <tag>N/      one per backend machine
 *         torrc                  its onion service (v3: an OnionBalance instance)
 *         hidden_service/        0700: tor's key files, hostname, v3 ob_config
 *
 * The instance keys are made here, as onionbalance-config does, so that the
 * configs can name the instance addresses.  They are not master keys; they
 * belong on the backends and are deleted from the offline media after the
 * copy (the summary says so and why).
 *
 * The folder is built under a temporary name next to OUT and renamed into
 * place at the end, so a failure leaves nothing behind, and OUT is claimed
 * with mkdir() first, so an existing folder is never touched.  Paths in the
 * torrc files are absolute (tor resolves relative ones against its working
 * directory, which a service manager chooses), derived from OUT's real path.
 */
#include "buf.h"
#include "cli.h"
#include "commands.h"
#include "config.h"
#include "fileio.h"
#include "keystore.h"
#include "passphrase.h"
#include "secmem.h"

#include <openssl/bio.h>
#include <openssl/buffer.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * More backends than this is not a job for a generator: a v3 master
 * descriptor carries at most 20 introduction points, and every instance adds
 * a key folder someone has to carry to a machine.
 */
#define CG_MAX_INSTANCES 256
#define CG_TAG_MAX       32
#define CG_TARGET_MAX    255
#define CG_PATH_MAX      3072 /* OUT, absolute; leaves room for the names below it */
#define CG_HS_DIR        "hidden_service"

#define TOR_V3_SECRET_HDR "== ed25519v1-secret: type0 =="
#define TOR_V3_PUBLIC_HDR "== ed25519v1-public: type0 =="
#define TOR_V3_HDR_LEN    32 /* the tag, NUL-padded */

typedef struct cg_opts {
    char output[CG_PATH_MAX];
    char tag[CG_TAG_MAX + 1];
    char target[CG_TARGET_MAX + 1]; /* "" until defaulted from the virtual port */
    char key[CG_PATH_MAX];          /* "": generate a new master key */
    char from_ob[CG_PATH_MAX];      /* --from-onionbalance CONFIG, or "" */
    unsigned n;
    unsigned vport;
    unsigned tp_length;   /* --time-period-length, minutes; 0: not written */
    int version;          /* 0 until given or taken from the key */
    const char *passfile; /* --passphrase-file: for the master key file written */
    const char *srcpass;  /* --source-passphrase-file: for the --key file read */
    int no_passphrase;    /* --no-passphrase */
    int no_interactive;   /* --no-interactive */
    int interactive;      /* --interactive */
    int target_given;     /* --service-target given */
    const char *gen_only; /* the last option given that only a new deployment takes */
} cg_opts;

typedef struct cg_instance {
    char name[CG_TAG_MAX + 24]; /* tag and a size_t in decimal */
    ofl_key *key;
} cg_instance;

/* Everything created below the staging folder, so a failure removes exactly that. */
typedef struct cg_tree {
    char **paths;
    unsigned char *isdir;
    size_t n, cap;
} cg_tree;

/* A message, then the verb's usage lines; exits 2. */
#define USAGE_ERROR(...)             \
    do {                             \
        ob_msg(__VA_ARGS__);         \
        ob_usage_verb("config-gen"); \
    } while (0)

/* ---- checks of user-supplied values ---- */

/*
 * Paths go into torrc and YAML files unquoted.  Rather than quote for two
 * syntaxes, refuse what either would read differently.
 */
static int path_char_ok(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("/._-+,=@~:", c) != NULL);
}

static ob_err check_path_chars(const char *what, const char *p, ob_diag *d)
{
    size_t i;

    for (i = 0; p[i] != '\0'; i++)
        if (!path_char_ok((unsigned char)p[i]))
            return ob_fail(d, OB_ERR_UNSUPPORTED,
                           "%s '%s': the character at offset %zu cannot go into a torrc or YAML "
                           "file unquoted; use only letters, digits and / . _ - + , = @ ~ :",
                           what, p, i);
    return OB_OK;
}

/* A name prefix: a letter, then letters, digits, - or _ (a folder name and a YAML word). */
static ob_err check_tag(const char *t, ob_diag *d)
{
    size_t i, n = strlen(t);

    if (n == 0 || n > CG_TAG_MAX)
        return ob_fail(d, OB_ERR_RANGE, "tag: 1 to %d characters, not %zu", CG_TAG_MAX, n);
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)t[i];
        int alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        if (!alpha && (i == 0 || !((c >= '0' && c <= '9') || c == '-' || c == '_')))
            return ob_fail(d, OB_ERR_MALFORMED,
                           "tag '%s': offset %zu: use a letter first, then letters, digits, - "
                           "or _",
                           t, i);
    }
    return OB_OK;
}

static int parse_port(const char *s, unsigned *out)
{
    unsigned long long v;

    if (ob_parse_u64(s, 1, 65535, &v) != 0)
        return -1;
    *out = (unsigned)v;
    return 0;
}

/*
 * The target of HiddenServicePort: PORT, IPv4:PORT, [IPv6]:PORT or
 * unix:/path.  Host names are refused: tor would resolve them at start.
 */
static ob_err check_target(const char *t, ob_diag *d)
{
    char host[64];
    const char *colon;
    unsigned port;
    size_t hl;
    unsigned char addr[16];

    if (strlen(t) > CG_TARGET_MAX)
        return ob_fail(d, OB_ERR_RANGE, "service target: at most %d characters", CG_TARGET_MAX);
    if (strncmp(t, "unix:", 5) == 0) {
        if (t[5] != '/')
            return ob_fail(d, OB_ERR_MALFORMED,
                           "service target '%s': a unix socket needs an absolute path", t);
        return check_path_chars("service target", t + 5, d);
    }
    colon = strrchr(t, ':');
    if (colon == NULL) {
        if (parse_port(t, &port) == 0)
            return OB_OK;
        goto bad;
    }
    if (parse_port(colon + 1, &port) != 0)
        goto bad;
    hl = (size_t)(colon - t);
    if (hl >= sizeof(host))
        goto bad;
    memcpy(host, t, hl);
    host[hl] = '\0';
    if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
        host[hl - 1] = '\0';
        if (inet_pton(AF_INET6, host + 1, addr) == 1)
            return OB_OK;
    } else if (inet_pton(AF_INET, host, addr) == 1) {
        return OB_OK;
    }
bad:
    return ob_fail(d, OB_ERR_MALFORMED,
                   "service target '%s': expected PORT, IPv4:PORT, [IPv6]:PORT or unix:/path "
                   "(ports 1-65535, no host names)",
                   t);
}

/* Copy s into a fixed buffer; -1 if it does not fit. */
static int set_str(char *dst, size_t cap, const char *s)
{
    size_t n = strlen(s);

    if (n >= cap)
        return -1;
    memcpy(dst, s, n + 1);
    return 0;
}

/* ---- options ---- */

static int takes_value(const char *a)
{
    static const char *const with_value[] = {
        "-n",
        "-t",
        "--tag",
        "--service-virtual-port",
        "--service-target",
        "--output",
        "-o",
        "--version",
        "--hs-version",
        "--key",
        "--passphrase-file",
        "--source-passphrase-file",
        "--time-period-length",
        "--from-onionbalance",
    };
    size_t i;

    for (i = 0; i < sizeof(with_value) / sizeof(with_value[0]); i++)
        if (strcmp(a, with_value[i]) == 0)
            return 1;
    return 0;
}

static void parse_opts(int argc, char **argv, cg_opts *o)
{
    int i, seen_version = 0;

    memset(o, 0, sizeof(*o));
    o->n = 2;
    o->vport = 80;
    (void)set_str(o->output, sizeof(o->output), "config");
    (void)set_str(o->tag, sizeof(o->tag), "node");
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        unsigned long long u;
        int takes = 1;

        if (strcmp(a, "--no-passphrase") == 0) {
            o->no_passphrase = 1;
            takes = 0;
        } else if (strcmp(a, "--no-interactive") == 0) {
            o->no_interactive = 1;
            takes = 0;
        } else if (strcmp(a, "--interactive") == 0) {
            o->interactive = 1;
            o->gen_only = a;
            takes = 0;
        } else if (strcmp(a, "--allow-swap") == 0) {
            ofl_allow_swap();
            takes = 0;
        } else if (strcmp(a, "-p") == 0 || strcmp(a, "--password") == 0) {
            USAGE_ERROR("config-gen: %s: a passphrase is never given on the command line (it "
                        "would show in the process list and the shell history); use "
                        "--passphrase-file FILE or answer the prompt",
                        a);
        } else if (v == NULL) {
            USAGE_ERROR("config-gen: %s '%s'",
                        takes_value(a) ? "a value is missing after" : "unexpected argument", a);
        } else if (strcmp(a, "--from-onionbalance") == 0 && o->from_ob[0] == '\0') {
            if (v[0] == '\0' || set_str(o->from_ob, sizeof(o->from_ob), v) != 0)
                USAGE_ERROR("config-gen: %s: name the OnionBalance config file", a);
        } else if (strcmp(a, "-n") == 0) {
            o->gen_only = a;
            if (ob_parse_u64(v, 1, CG_MAX_INSTANCES, &u) != 0)
                USAGE_ERROR("config-gen: -n '%s': the number of instances is 1 to %d", v,
                            CG_MAX_INSTANCES);
            o->n = (unsigned)u;
        } else if (strcmp(a, "-t") == 0 || strcmp(a, "--tag") == 0) {
            o->gen_only = a;
            if (set_str(o->tag, sizeof(o->tag), v) != 0)
                USAGE_ERROR("config-gen: %s '%s': at most %d characters", a, v, CG_TAG_MAX);
        } else if (strcmp(a, "--service-virtual-port") == 0) {
            o->gen_only = a;
            if (parse_port(v, &o->vport) != 0)
                USAGE_ERROR("config-gen: %s '%s': a port is 1 to 65535", a, v);
        } else if (strcmp(a, "--service-target") == 0) {
            o->gen_only = a;
            if (set_str(o->target, sizeof(o->target), v) != 0)
                USAGE_ERROR("config-gen: %s: at most %d characters", a, CG_TARGET_MAX);
            o->target_given = 1;
        } else if (strcmp(a, "--output") == 0 || strcmp(a, "-o") == 0) {
            if (set_str(o->output, sizeof(o->output), v) != 0)
                USAGE_ERROR("config-gen: %s: the path is too long", a);
        } else if (strcmp(a, "--version") == 0 || strcmp(a, "--hs-version") == 0) {
            /* --hs-version v3|v2 is OnionBalance's spelling. */
            const char *num = (v[0] == 'v' && a[2] == 'h') ? v + 1 : v;
            o->gen_only = a;
            if (seen_version++)
                USAGE_ERROR("config-gen: %s: the version is given twice", a);
            if (strcmp(num, "3") != 0 && strcmp(num, "2") != 0)
                USAGE_ERROR("config-gen: %s '%s': the version is 3 or 2", a, v);
            o->version = num[0] - '0';
        } else if (strcmp(a, "--time-period-length") == 0) {
            /* Only a test network with a short hsdir_interval needs it. */
            if (ob_parse_u64(v, OB_CFG_TP_LENGTH_MIN, OB_CFG_TP_LENGTH_MAX, &u) != 0)
                USAGE_ERROR("config-gen: %s '%s': minutes, %d to %d", a, v, OB_CFG_TP_LENGTH_MIN,
                            OB_CFG_TP_LENGTH_MAX);
            o->tp_length = (unsigned)u;
        } else if (strcmp(a, "--key") == 0) {
            o->gen_only = a;
            if (set_str(o->key, sizeof(o->key), v) != 0)
                USAGE_ERROR("config-gen: %s: the path is too long", a);
        } else if (strcmp(a, "--passphrase-file") == 0 && o->passfile == NULL) {
            o->passfile = v;
        } else if (strcmp(a, "--source-passphrase-file") == 0 && o->srcpass == NULL) {
            o->srcpass = v;
        } else {
            USAGE_ERROR("config-gen: unexpected or repeated argument '%s'", a);
        }
        i += takes;
    }
    if (o->no_passphrase && o->passfile != NULL)
        USAGE_ERROR("config-gen: --passphrase-file and --no-passphrase exclude each other");
    if (o->interactive && o->no_interactive)
        USAGE_ERROR("config-gen: --interactive and --no-interactive exclude each other");
    /* A migration keeps the deployment as it is: its instances, its key, its version. */
    if (o->from_ob[0] != '\0' && o->gen_only != NULL)
        USAGE_ERROR("config-gen: %s makes a new deployment; --from-onionbalance takes the "
                    "instances, the key and the version from the OnionBalance config",
                    o->gen_only);
}

/* ---- the output folder ---- */

/*
 * OUT as an absolute path whose parent exists: abs = realpath(parent)/base.
 * parent gets realpath(parent), base the last component.
 */
static ob_err resolve_output(const char *given, char *abs, char *parent, char *base, ob_diag *d)
{
    char tmp[CG_PATH_MAX], *slash, *rp = NULL;
    size_t n;
    ob_err e = OB_OK;

    if (set_str(tmp, sizeof(tmp), given) != 0)
        return ob_fail(d, OB_ERR_RANGE, "output folder: the path is too long");
    n = strlen(tmp);
    while (n > 1 && tmp[n - 1] == '/')
        tmp[--n] = '\0';
    slash = strrchr(tmp, '/');
    if (slash == NULL) {
        (void)set_str(base, CG_PATH_MAX, tmp);
        rp = realpath(".", NULL);
    } else {
        (void)set_str(base, CG_PATH_MAX, slash + 1);
        if (slash == tmp)
            slash[1] = '\0'; /* "/name": the parent is "/" */
        else
            slash[0] = '\0';
        rp = realpath(tmp, NULL);
    }
    if (base[0] == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
        e = ob_fail(d, OB_ERR_UNSUPPORTED,
                    "output folder '%s': name a new folder to create, not an existing one", given);
        goto out;
    }
    if (rp == NULL) {
        e = ob_fail(d, OB_ERR_IO, "output folder '%s': its parent folder: %s (create it first)",
                    given, strerror(errno));
        goto out;
    }
    if (set_str(parent, CG_PATH_MAX, rp) != 0 ||
        snprintf(abs, CG_PATH_MAX, "%s/%s", strcmp(rp, "/") == 0 ? "" : rp, base) >= CG_PATH_MAX) {
        e = ob_fail(d, OB_ERR_RANGE, "output folder '%s': the path is too long", given);
        goto out;
    }
    e = check_path_chars("output folder", abs, d);
out:
    free(rp);
    return e;
}

/* OUT resolved, and refused when anything is there already. */
static ob_err pick_output(const char *given, char *abs, char *parent, char *base, ob_diag *d)
{
    ob_err e;

    if ((e = resolve_output(given, abs, parent, base, d)) != OB_OK)
        return e;
    if (ob_path_exists(abs))
        return ob_fail(d, OB_ERR_EXISTS,
                       "%s: already exists; config-gen only creates a new folder and never "
                       "writes into an existing one (name another with --output, or move that "
                       "one away)",
                       abs);
    return OB_OK;
}

/* ---- questions on a terminal ---- */

/*
 * Print "question [default]: " and read one line from stdin into out; an
 * empty answer takes the default.  OB_ERR_IO when the input ends.
 */
static ob_err ask(const char *question, const char *def, char *out, size_t cap, ob_diag *d)
{
    char line[4096];
    size_t n, s;
    int c;

    for (;;) {
        printf("%s [%s]: ", question, def);
        fflush(stdout);
        if (fgets(line, sizeof(line), stdin) == NULL)
            return ob_fail(d, OB_ERR_IO, "the input ended before every question was answered");
        n = strlen(line);
        if (n > 0 && line[n - 1] == '\n') {
            line[--n] = '\0';
        } else if (!feof(stdin)) {
            while ((c = getchar()) != EOF && c != '\n')
                ;
            ob_msg("that answer is too long");
            continue;
        }
        while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t'))
            line[--n] = '\0';
        for (s = 0; line[s] == ' ' || line[s] == '\t'; s++)
            ;
        if (set_str(out, cap, line[s] != '\0' ? line + s : def) != 0) {
            ob_msg("that answer is too long");
            continue;
        }
        return OB_OK;
    }
}

/* Ask each question until the answer is valid; the options' values are the defaults. */
static ob_err interview(cg_opts *o, char *abs, char *parent, char *base, ob_diag *d)
{
    char ans[CG_PATH_MAX], def[CG_TARGET_MAX + 1];
    unsigned long long u;
    ob_err e;

    printf("ob-offline config-gen: answer each question, or press Enter for the value in "
           "brackets.\n");
    for (;;) {
        if ((e = ask("Folder to create for the new configuration", o->output, ans, sizeof(ans),
                     d)) != OB_OK)
            return e;
        if (pick_output(ans, abs, parent, base, d) == OB_OK) {
            (void)set_str(o->output, sizeof(o->output), ans);
            break;
        }
        ob_msg("%s", d->msg);
    }
    for (;;) {
        if ((e = ask("Existing master key file to use (empty: make a new key)", o->key, ans,
                     sizeof(ans), d)) != OB_OK)
            return e;
        if (ans[0] == '\0' || ob_path_exists(ans))
            break;
        ob_msg("%s: no such file or folder", ans);
    }
    (void)set_str(o->key, sizeof(o->key), ans);
    while (o->key[0] == '\0') {
        snprintf(def, sizeof(def), "%d", o->version != 0 ? o->version : 3);
        if ((e = ask("Onion service version, 3 or 2 (2 is legacy)", def, ans, sizeof(ans), d)) !=
            OB_OK)
            return e;
        if (strcmp(ans, "3") == 0 || strcmp(ans, "2") == 0) {
            o->version = ans[0] - '0';
            break;
        }
        ob_msg("'%s': answer 3 or 2", ans);
    }
    for (;;) {
        snprintf(def, sizeof(def), "%u", o->n);
        if ((e = ask("Number of backend instances (1-256)", def, ans, sizeof(ans), d)) != OB_OK)
            return e;
        if (ob_parse_u64(ans, 1, CG_MAX_INSTANCES, &u) == 0) {
            o->n = (unsigned)u;
            break;
        }
        ob_msg("'%s': a number from 1 to %d", ans, CG_MAX_INSTANCES);
    }
    for (;;) {
        if ((e = ask("Name prefix for the instances", o->tag, ans, sizeof(ans), d)) != OB_OK)
            return e;
        if (check_tag(ans, d) == OB_OK && set_str(o->tag, sizeof(o->tag), ans) == 0)
            break;
        ob_msg("%s", d->msg);
    }
    for (;;) {
        snprintf(def, sizeof(def), "%u", o->vport);
        if ((e = ask("Port clients connect to (the virtual port)", def, ans, sizeof(ans), d)) !=
            OB_OK)
            return e;
        if (parse_port(ans, &o->vport) == 0)
            break;
        ob_msg("'%s': a port is 1 to 65535", ans);
    }
    /* As onionbalance-config: the default target follows the virtual port. */
    if (!o->target_given)
        snprintf(o->target, sizeof(o->target), "127.0.0.1:%u", o->vport);
    for (;;) {
        (void)set_str(def, sizeof(def), o->target);
        if ((e = ask("Where the service listens on each backend (IP:PORT or unix:/path)", def, ans,
                     sizeof(ans), d)) != OB_OK)
            return e;
        if (check_target(ans, d) == OB_OK && set_str(o->target, sizeof(o->target), ans) == 0)
            break;
        ob_msg("%s", d->msg);
    }
    ob_diag_clear(d);
    return OB_OK;
}

/* ---- building the folder ---- */

static ob_err tree_add(cg_tree *t, const char *path, int isdir, ob_diag *d)
{
    char **p;
    unsigned char *q;
    size_t cap;

    if (t->n == t->cap) {
        cap = t->cap != 0 ? 2 * t->cap : 64;
        if ((p = realloc(t->paths, cap * sizeof(*p))) == NULL)
            return ob_fail(d, OB_ERR_NOMEM, "out of memory");
        t->paths = p;
        if ((q = realloc(t->isdir, cap)) == NULL)
            return ob_fail(d, OB_ERR_NOMEM, "out of memory");
        t->isdir = q;
        t->cap = cap;
    }
    if ((t->paths[t->n] = strdup(path)) == NULL)
        return ob_fail(d, OB_ERR_NOMEM, "out of memory");
    t->isdir[t->n++] = (unsigned char)isdir;
    return OB_OK;
}

/* Remove what was recorded (newest first) when remove is set; free the list. */
static void tree_done(cg_tree *t, int remove)
{
    size_t i = t->n;

    while (i-- > 0) {
        if (remove)
            (void)(t->isdir[i] ? rmdir(t->paths[i]) : unlink(t->paths[i]));
        free(t->paths[i]);
    }
    free(t->paths);
    free(t->isdir);
    memset(t, 0, sizeof(*t));
}

static ob_err join(char *out, const char *a, const char *b, ob_diag *d)
{
    if (snprintf(out, PATH_MAX, "%s/%s", a, b) >= PATH_MAX)
        return ob_fail(d, OB_ERR_RANGE, "%s/%s: the path is too long", a, b);
    return OB_OK;
}

/* mkdir path, 0700 whatever the umask, and record it. */
static ob_err tree_mkdir(cg_tree *t, const char *path, ob_diag *d)
{
    if (mkdir(path, 0700) != 0)
        return ob_fail(d, OB_ERR_IO, "%s: cannot create the folder: %s", path, strerror(errno));
    if (tree_add(t, path, 1, d) != OB_OK) {
        (void)rmdir(path);
        return OB_ERR_NOMEM;
    }
    /* A file system without modes (FAT) cannot: the files written in the
     * folder say whether that matters (fileio.h). */
    if (chmod(path, 0700) != 0 && errno != ENOSYS && errno != EPERM && errno != EOPNOTSUPP)
        return ob_fail(d, OB_ERR_IO, "%s: chmod: %s", path, strerror(errno));
    return OB_OK;
}

/* A new file (never replacing one), synced, and its record. */
static ob_err tree_write(cg_tree *t, const char *path, const void *p, size_t n, unsigned mode,
                         ob_diag *d)
{
    ob_err e;

    if ((e = ob_file_write_atomic(path, p, n, mode, OB_WRITE_EXCL, d)) != OB_OK)
        return e;
    if ((e = tree_add(t, path, 0, d)) != OB_OK)
        (void)unlink(path); /* unrecorded, it would outlive the cleanup */
    return e;
}

static ob_err tree_write_buf(cg_tree *t, const char *path, const ob_buf *b, unsigned mode,
                             ob_diag *d)
{
    if (!ob_buf_ok(b))
        return ob_fail(d, OB_ERR_NOMEM, "out of memory");
    return tree_write(t, path, b->p, b->len, mode, d);
}

/* fsync a folder so the names made in it survive a crash or a pulled stick. */
static ob_err sync_dir(const char *path, ob_diag *d)
{
    return ob_dir_sync(path, d); /* tolerates file systems that cannot (FAT via FUSE) */
}

/* ---- key files ---- */

/* tor's hs_ed25519_secret_key: the 32-byte tagged header, then the expanded key. */
static ob_err write_tor_v3_secret(cg_tree *t, const char *path, const ofl_key *k, ob_diag *d)
{
    uint8_t *f = NULL;
    ob_err e;

    if ((f = ob_secalloc(TOR_V3_HDR_LEN + 64)) == NULL)
        return ob_fail(d, OB_ERR_NOMEM, "out of secure memory");
    memset(f, 0, TOR_V3_HDR_LEN);
    memcpy(f, TOR_V3_SECRET_HDR, strlen(TOR_V3_SECRET_HDR));
    memcpy(f + TOR_V3_HDR_LEN, ofl_key_ed25519_expanded(k), 64);
    e = tree_write(t, path, f, TOR_V3_HDR_LEN + 64, 0600, d);
    ob_secfree(f);
    return e;
}

/* A v2 private_key as tor reads it: PKCS#1 "RSA PRIVATE KEY" PEM, unencrypted. */
static ob_err write_tor_v2_secret(cg_tree *t, const char *path, const ofl_key *k, ob_diag *d)
{
    BIO *bio = NULL;
    BUF_MEM *bm = NULL;
    ob_err e;

    /* The plain key passes through this BIO: keep it in OpenSSL's secure heap. */
    if ((bio = BIO_new(BIO_s_secmem())) == NULL) {
        e = ob_fail(d, OB_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (PEM_write_bio_PrivateKey_traditional(bio, ofl_key_rsa(k), NULL, NULL, 0, NULL, NULL) == 1)
        BIO_get_mem_ptr(bio, &bm);
    if (bm == NULL) {
        e = ob_fail(d, OB_ERR_CRYPTO, "%s: PEM encoding of the RSA key failed", path);
        goto out;
    }
    e = tree_write(t, path, bm->data, bm->length, 0600, d);
out:
    ERR_clear_error();
    BIO_free(bio);
    return e;
}

/* An instance's HiddenServiceDir, as tor itself would have filled it. */
static ob_err write_instance_keys(cg_tree *t, const char *hsdir, const ofl_key *k,
                                  const char *master, ob_diag *d)
{
    char path[PATH_MAX];
    uint8_t pub[TOR_V3_HDR_LEN + 32];
    ob_buf b;
    ob_err e;

    ob_buf_init(&b);
    if (ofl_key_version(k) == 3) {
        if ((e = join(path, hsdir, "hs_ed25519_secret_key", d)) != OB_OK ||
            (e = write_tor_v3_secret(t, path, k, d)) != OB_OK)
            goto out;
        memset(pub, 0, TOR_V3_HDR_LEN);
        memcpy(pub, TOR_V3_PUBLIC_HDR, strlen(TOR_V3_PUBLIC_HDR));
        memcpy(pub + TOR_V3_HDR_LEN, ofl_key_ed25519_public(k), 32);
        if ((e = join(path, hsdir, "hs_ed25519_public_key", d)) != OB_OK ||
            (e = tree_write(t, path, pub, sizeof(pub), 0600, d)) != OB_OK)
            goto out;
        /* tor refuses to start an OnionBalance instance without this file. */
        ob_buf_printf(&b, "MasterOnionAddress %s.onion\n", master);
        if ((e = join(path, hsdir, "ob_config", d)) != OB_OK ||
            (e = tree_write_buf(t, path, &b, 0600, d)) != OB_OK)
            goto out;
    } else {
        if ((e = join(path, hsdir, "private_key", d)) != OB_OK ||
            (e = write_tor_v2_secret(t, path, k, d)) != OB_OK)
            goto out;
    }
    ob_buf_reset(&b);
    ob_buf_printf(&b, "%s.onion\n", ofl_key_address(k));
    if ((e = join(path, hsdir, "hostname", d)) != OB_OK ||
        (e = tree_write_buf(t, path, &b, 0600, d)) != OB_OK)
        goto out;
out:
    ob_buf_free(&b);
    return e;
}

/* The master key: encrypted with pass, or plain when pass is NULL (--no-passphrase). */
static ob_err write_master_key(cg_tree *t, const char *path, ofl_key *k, const char *pass,
                               size_t passlen, ob_diag *d)
{
    ofl_kdf kdf;
    ob_err e;

    if (ofl_key_version(k) == 2) {
        e = ofl_key_write_rsa(path, k, pass, passlen, OB_WRITE_EXCL, d);
    } else if (pass != NULL) {
        ofl_kdf_default(&kdf);
        e = ofl_keystore_write(path, &k, 1, pass, passlen, &kdf, OB_WRITE_EXCL, d);
    } else {
        /* OnionBalance's PEM form needs the seed; a key that came from tor has none. */
        e = ofl_key_write_ed25519_pem(path, k, OB_WRITE_EXCL, d);
        if (e == OB_ERR_UNSUPPORTED) {
            ob_diag_clear(d);
            return write_tor_v3_secret(t, path, k, d);
        }
    }
    if (e != OB_OK)
        return e;
    if ((e = tree_add(t, path, 0, d)) != OB_OK)
        (void)unlink(path);
    return e;
}

/* ---- the text files ---- */

static void put_instances(ob_buf *b, const cg_instance *inst, size_t n)
{
    size_t i;

    ob_buf_put_str(b, "    instances:\n");
    for (i = 0; i < n; i++)
        ob_buf_printf(b, "      - address: %s.onion\n        name: %s\n",
                      ofl_key_address(inst[i].key), inst[i].name);
}

static void offline_yaml(ob_buf *b, const cg_opts *o, const char *master, const cg_instance *inst,
                         size_t n)
{
    ob_buf_put_str(b, "# ob-offline's config, for the OFFLINE machine only (written by "
                      "'ob-offline config-gen').\n"
                      "# The key file is relative to this file's folder: keep them together.\n"
                      "# Sign with: ob-offline sign -c config.yaml -i REQUEST -o RESPONSE\n"
                      "# Every key and its default: docs/config.rst.\n");
    if (o->tp_length != 0)
        ob_buf_printf(b,
                      "# The v3 time period length of the network (its hsdir_interval), minutes:\n"
                      "# a test network's; the live Tor network's is 1440.\n"
                      "time_period_length: %u\n",
                      o->tp_length);
    ob_buf_put_str(b, "services:\n");
    /* address: beside key: lets sign show its summary before asking for
     * the passphrase (the key is unlocked only once the operator agreed). */
    ob_buf_printf(b, "  - key: %s.key\n    address: %s.onion\n", master, master);
    put_instances(b, inst, n);
}

static void online_yaml(ob_buf *b, const char *master, const cg_instance *inst, size_t n)
{
    ob_buf_put_str(b, "# ob-online's config, for the ONLINE machine (written by 'ob-offline "
                      "config-gen').\n"
                      "# It names the master address only: the master key never comes here.\n"
                      "# tor's control port as online/torrc opens it (-i, -p and -s on the\n"
                      "# command line override these two).\n"
                      "TOR_ADDRESS: 127.0.0.1\n"
                      "TOR_PORT: 9051\n"
                      "services:\n");
    ob_buf_printf(b, "  - address: %s.onion\n", master);
    put_instances(b, inst, n);
}

static void management_torrc(ob_buf *b, int version)
{
    ob_buf_put_str(b,
                   "# tor for the ONLINE machine (written by 'ob-offline config-gen').\n"
                   "# ob-online uses it through the control port to fetch the backends'\n"
                   "# descriptors and to upload the signed master descriptors.  It runs no\n"
                   "# onion service and needs no SOCKS port.  The control port listens on\n"
                   "# 127.0.0.1 only and wants the cookie from tor's DataDirectory, so run\n"
                   "# ob-online as a user who can read that file.\n"
                   "# Start: tor -f THIS_FILE (with tor's default DataDirectory, or add one).\n");
    if (version == 2)
        ob_buf_put_str(b, "# v2: only tor 0.4.5 and older still fetch and upload v2 "
                          "descriptors.\n");
    ob_buf_put_str(b, "ControlPort 127.0.0.1:9051\n"
                      "CookieAuthentication 1\n"
                      "SocksPort 0\n");
}

static void instance_torrc(ob_buf *b, const cg_opts *o, const char *dir, const char *name,
                           const char *master)
{
    ob_buf_printf(b,
                  "# tor for backend instance %s of %s.onion\n"
                  "# (written by 'ob-offline config-gen').\n"
                  "# Copy the folder %s to the backend machine at that same path (or change\n"
                  "# HiddenServiceDir below), then delete it from the offline media.\n"
                  "# Start: tor -f %s/torrc (with tor's default DataDirectory, or add one).\n",
                  name, master, dir, dir);
    if (o->version == 3)
        ob_buf_put_str(b, "# HiddenServiceOnionbalanceInstance (tor 0.4.3 or newer) makes tor "
                          "read\n"
                          "# " CG_HS_DIR "/ob_config and serve clients of the master address.\n");
    else
        ob_buf_put_str(b,
                       "# v2 needs tor 0.4.5 or older (0.4.6 and newer run no v2 services).\n"
                       "# tor learns the version from the RSA private_key in HiddenServiceDir.\n");
    ob_buf_printf(b,
                  "SocksPort 0\n"
                  "HiddenServiceDir %s/" CG_HS_DIR "\n"
                  "HiddenServicePort %u %s\n",
                  dir, o->vport, o->target);
    if (o->version == 3)
        ob_buf_put_str(b, "HiddenServiceOnionbalanceInstance 1\n");
}

/* Write everything below the staging folder stage; OUT's final path is abs. */
static ob_err write_tree(cg_tree *t, const char *stage, const char *abs, const cg_opts *o,
                         ofl_key *master, const cg_instance *inst, const char *pass, size_t passlen,
                         ob_diag *d)
{
    const char *maddr = ofl_key_address(master);
    char dir[PATH_MAX], path[PATH_MAX], finaldir[PATH_MAX], name[128];
    ob_buf b;
    size_t i;
    ob_err e;

    ob_buf_init(&b);
    /* master/ */
    if ((e = join(dir, stage, "master", d)) != OB_OK || (e = tree_mkdir(t, dir, d)) != OB_OK)
        goto out;
    snprintf(name, sizeof(name), "%s.key", maddr);
    if ((e = join(path, dir, name, d)) != OB_OK ||
        (e = write_master_key(t, path, master, pass, passlen, d)) != OB_OK)
        goto out;
    offline_yaml(&b, o, maddr, inst, o->n);
    if ((e = join(path, dir, "config.yaml", d)) != OB_OK ||
        (e = tree_write_buf(t, path, &b, 0644, d)) != OB_OK)
        goto out;
    /* online/ */
    ob_buf_reset(&b);
    if ((e = join(dir, stage, "online", d)) != OB_OK || (e = tree_mkdir(t, dir, d)) != OB_OK)
        goto out;
    online_yaml(&b, maddr, inst, o->n);
    if ((e = join(path, dir, "config.yaml", d)) != OB_OK ||
        (e = tree_write_buf(t, path, &b, 0644, d)) != OB_OK)
        goto out;
    ob_buf_reset(&b);
    management_torrc(&b, o->version);
    if ((e = join(path, dir, "torrc", d)) != OB_OK ||
        (e = tree_write_buf(t, path, &b, 0644, d)) != OB_OK)
        goto out;
    /* one folder per instance */
    for (i = 0; i < o->n; i++) {
        ob_buf_reset(&b);
        if ((e = join(dir, stage, inst[i].name, d)) != OB_OK ||
            (e = tree_mkdir(t, dir, d)) != OB_OK ||
            (e = join(finaldir, abs, inst[i].name, d)) != OB_OK ||
            (e = join(path, dir, CG_HS_DIR, d)) != OB_OK || (e = tree_mkdir(t, path, d)) != OB_OK ||
            (e = write_instance_keys(t, path, inst[i].key, maddr, d)) != OB_OK)
            goto out;
        instance_torrc(&b, o, finaldir, inst[i].name, maddr);
        if ((e = join(path, dir, "torrc", d)) != OB_OK ||
            (e = tree_write_buf(t, path, &b, 0644, d)) != OB_OK)
            goto out;
    }
    /* The files were synced one by one; the folders' new entries now. */
    for (i = 0; i < t->n; i++)
        if (t->isdir[i] && (e = sync_dir(t->paths[i], d)) != OB_OK)
            goto out;
    e = OB_OK;
out:
    ob_buf_free(&b);
    return e;
}

static void print_summary(const cg_opts *o, const char *abs, const ofl_key *master,
                          const cg_instance *inst)
{
    const char *maddr = ofl_key_address(master);
    size_t i;

    printf("\nWrote %s: a v%d onion service, master address %s.onion, %u instance%s.\n\n", abs,
           o->version, maddr, o->n, o->n == 1 ? "" : "s");
    printf("  master/  the OFFLINE machine only\n"
           "    %s.key\n"
           "             the master key (%s)\n"
           "    config.yaml  ob-offline's config: ob-offline sign -c %s/master/config.yaml ...\n",
           maddr, o->no_passphrase ? "NOT encrypted" : "encrypted with your passphrase", abs);
    printf("  online/  the ONLINE machine\n"
           "    config.yaml  ob-online's config (addresses only, no key)\n"
           "    torrc        the management tor: tor -f %s/online/torrc\n",
           abs);
    for (i = 0; i < o->n; i++)
        printf("  %s/  backend %zu, %s.onion: tor -f %s/%s/torrc\n", inst[i].name, i + 1,
               ofl_key_address(inst[i].key), abs, inst[i].name);
    printf("\nNext steps (docs/ceremony.rst):\n"
           "  1. Back up the master key (master/%s.key)\n"
           "     to separate media.  master/ stays on the offline machine; it never goes to\n"
           "     a networked one.\n"
           "  2. Copy online/ to the online machine, start tor with online/torrc, and point\n"
           "     ob-online at online/config.yaml.\n"
           "  3. Copy each instance folder to its own backend machine at the same path\n"
           "     (%s/NAME, or change HiddenServiceDir in its torrc) and start tor there.\n"
           "  4. Then delete the instance folders from the offline media.  Their keys are not\n"
           "     master keys, but the signer trusts descriptors they sign: whoever holds one\n"
           "     can get introduction points into the master descriptor.  Each belongs on its\n"
           "     backend and nowhere else.\n",
           maddr, abs);
    fflush(stdout);
}

/* ---- --from-onionbalance: an OnionBalance deployment carried over as it is ---- */

/*
 * Global keys of the OnionBalance config, and the side that reads each.  Only
 * the keys the file gave a value are written (ob_config_given): a key left at
 * its default stays at the default here too.
 */
#define CG_SIDE_OFFLINE 1
#define CG_SIDE_ONLINE  2

typedef struct cg_global {
    const char *name;
    int sides;
} cg_global;

static const cg_global cg_globals[] = {
    { "REFRESH_INTERVAL", CG_SIDE_ONLINE },
    { "PUBLISH_CHECK_INTERVAL", CG_SIDE_ONLINE },
    { "INITIAL_DELAY", CG_SIDE_ONLINE },
    { "DESCRIPTOR_VALIDITY_PERIOD", CG_SIDE_ONLINE },
    { "DESCRIPTOR_OVERLAP_PERIOD", CG_SIDE_ONLINE },
    { "DESCRIPTOR_UPLOAD_PERIOD", CG_SIDE_ONLINE },
    { "DISTINCT_DESCRIPTORS", CG_SIDE_ONLINE },
    { "REPLICAS", CG_SIDE_ONLINE },
    { "HSDIR_SET", CG_SIDE_ONLINE },
    { "MAX_INTRO_POINTS", CG_SIDE_ONLINE },
    { "STATUS_SOCKET_LOCATION", CG_SIDE_ONLINE },
    { "TOR_CONTROL_SOCKET", CG_SIDE_ONLINE },
    { "TOR_ADDRESS", CG_SIDE_ONLINE },
    { "TOR_PORT", CG_SIDE_ONLINE },
    { "TOR_CONTROL_PASSWORD", CG_SIDE_ONLINE },
    { "LOG_LEVEL", CG_SIDE_ONLINE },
    { "LOG_LOCATION", CG_SIDE_ONLINE },
    { "time_period_length", CG_SIDE_OFFLINE | CG_SIDE_ONLINE },
    { "descriptor_lifetime", CG_SIDE_OFFLINE | CG_SIDE_ONLINE },
    { "presign_window", CG_SIDE_OFFLINE | CG_SIDE_ONLINE },
    { "ceremony_log", CG_SIDE_OFFLINE },
    { "max_clock_skew", CG_SIDE_OFFLINE },
    { "inbox", CG_SIDE_ONLINE },
    { "outbox", CG_SIDE_ONLINE },
};

/*
 * A string as a YAML double-quoted scalar.  The config reader refused
 * control characters already, so only the quote and the backslash need an
 * escape.
 */
static void put_yaml_str(ob_buf *b, const char *s)
{
    ob_buf_put_u8(b, '"');
    for (; *s != '\0'; s++) {
        if (*s == '"' || *s == '\\')
            ob_buf_put_u8(b, '\\');
        ob_buf_put_u8(b, (uint8_t)*s);
    }
    ob_buf_put_u8(b, '"');
}

/* One global key as the config holds it, or nothing if the file did not set it. */
static void put_global(ob_buf *b, const ob_config *c, const cg_opts *o, const char *name)
{
    const char *str = NULL;
    unsigned num = 0;
    int is_num = 1;

    if (strcmp(name, "time_period_length") == 0 && o->tp_length != 0) {
        ob_buf_printf(b, "%s: %u\n", name, o->tp_length);
        return;
    }
    /* OnionBalance 0.2 spells the status socket status-socket-location. */
    if (!ob_config_given(c, name) && !(strcmp(name, "STATUS_SOCKET_LOCATION") == 0 &&
                                       ob_config_given(c, "status-socket-location")))
        return;
    if (strcmp(name, "REFRESH_INTERVAL") == 0)
        num = c->refresh_interval;
    else if (strcmp(name, "PUBLISH_CHECK_INTERVAL") == 0)
        num = c->publish_check_interval;
    else if (strcmp(name, "INITIAL_DELAY") == 0)
        num = c->initial_delay;
    else if (strcmp(name, "DESCRIPTOR_VALIDITY_PERIOD") == 0)
        num = c->descriptor_validity_period;
    else if (strcmp(name, "DESCRIPTOR_OVERLAP_PERIOD") == 0)
        num = c->descriptor_overlap_period;
    else if (strcmp(name, "DESCRIPTOR_UPLOAD_PERIOD") == 0)
        num = c->descriptor_upload_period;
    else if (strcmp(name, "REPLICAS") == 0)
        num = c->replicas;
    else if (strcmp(name, "HSDIR_SET") == 0)
        num = c->hsdir_set;
    else if (strcmp(name, "MAX_INTRO_POINTS") == 0)
        num = c->max_intro_points;
    else if (strcmp(name, "TOR_PORT") == 0)
        num = c->tor_port;
    else if (strcmp(name, "time_period_length") == 0)
        num = c->time_period_length;
    else if (strcmp(name, "descriptor_lifetime") == 0)
        num = c->descriptor_lifetime;
    else if (strcmp(name, "presign_window") == 0)
        num = c->presign_window;
    else if (strcmp(name, "max_clock_skew") == 0)
        num = c->max_clock_skew;
    else
        is_num = 0;
    if (is_num) {
        ob_buf_printf(b, "%s: %u\n", name, num);
        return;
    }
    if (strcmp(name, "DISTINCT_DESCRIPTORS") == 0) {
        ob_buf_printf(b, "%s: %s\n", name, c->distinct_descriptors ? "true" : "false");
        return;
    }
    if (strcmp(name, "STATUS_SOCKET_LOCATION") == 0)
        str = c->status_socket_location;
    else if (strcmp(name, "TOR_CONTROL_SOCKET") == 0)
        str = c->tor_control_socket;
    else if (strcmp(name, "TOR_ADDRESS") == 0)
        str = c->tor_address;
    else if (strcmp(name, "TOR_CONTROL_PASSWORD") == 0)
        str = c->tor_control_password;
    else if (strcmp(name, "LOG_LEVEL") == 0)
        str = c->log_level;
    else if (strcmp(name, "LOG_LOCATION") == 0)
        str = c->log_location;
    else if (strcmp(name, "ceremony_log") == 0)
        str = c->ceremony_log;
    else if (strcmp(name, "inbox") == 0)
        str = c->inbox;
    else if (strcmp(name, "outbox") == 0)
        str = c->outbox;
    if (str == NULL)
        return;
    ob_buf_printf(b, "%s: ", name);
    put_yaml_str(b, str);
    ob_buf_put_u8(b, '\n');
}

/* Does the side's file hold a secret (then it is written 0600)? */
static int side_has_secret(const ob_config *c, int side)
{
    size_t i, j;

    if (side == CG_SIDE_ONLINE && ob_config_given(c, "TOR_CONTROL_PASSWORD"))
        return 1;
    for (i = 0; i < c->n_services; i++)
        for (j = 0; j < c->services[i].n_instances; j++)
            if (c->services[i].instances[j].auth_cookie != NULL)
                return 1;
    return 0;
}

/* One side's config: the globals it reads, then every service with its instances as they were. */
static void migrated_yaml(ob_buf *b, const ob_config *c, const cg_opts *o, int side)
{
    size_t i, j, k;

    if (side == CG_SIDE_OFFLINE)
        ob_buf_put_str(b, "# ob-offline's config, for the OFFLINE machine only (written by "
                          "'ob-offline config-gen\n"
                          "# --from-onionbalance').  The key files are relative to this file's "
                          "folder:\n"
                          "# keep them together.  Every key and its default: docs/config.rst.\n");
    else
        ob_buf_put_str(b, "# ob-online's config, for the ONLINE machine (written by 'ob-offline "
                          "config-gen\n"
                          "# --from-onionbalance').  It names the master addresses only: the "
                          "master keys\n"
                          "# never come here.  Every key and its default: docs/config.rst.\n");
    ob_buf_printf(b, "# Carried over from %s.\n", c->path);
    for (k = 0; k < sizeof(cg_globals) / sizeof(cg_globals[0]); k++)
        if (cg_globals[k].sides & side)
            put_global(b, c, o, cg_globals[k].name);
    ob_buf_put_str(b, "services:\n");
    for (i = 0; i < c->n_services; i++) {
        const ob_cfg_service *s = &c->services[i];
        if (side == CG_SIDE_OFFLINE)
            ob_buf_printf(b, "  - key: %s.key\n    address: %s.onion\n", s->address, s->address);
        else
            ob_buf_printf(b, "  - address: %s.onion\n", s->address);
        if (s->lifetime_line != 0)
            ob_buf_printf(b, "    descriptor_lifetime: %u\n", s->descriptor_lifetime);
        if (s->presign_line != 0)
            ob_buf_printf(b, "    presign_window: %u\n", s->presign_window);
        ob_buf_put_str(b, "    instances:\n");
        for (j = 0; j < s->n_instances; j++) {
            const ob_cfg_instance *in = &s->instances[j];
            ob_buf_printf(b, "      - address: %s.onion\n", in->address);
            if (in->name != NULL) {
                ob_buf_put_str(b, "        name: ");
                put_yaml_str(b, in->name);
                ob_buf_put_u8(b, '\n');
            }
            if (in->client_auth_key_path != NULL && side == CG_SIDE_OFFLINE) {
                ob_buf_put_str(b, "        client_auth_key: ");
                put_yaml_str(b, in->client_auth_key_path);
                ob_buf_put_u8(b, '\n');
            }
            if (in->auth_cookie != NULL)
                ob_buf_printf(b, "        auth_cookie: %s\n", in->auth_cookie);
        }
    }
}

/* Every service's key loaded, checked against its entry, and bound to it. */
static ob_err migrate_load_keys(ob_config *c, const cg_opts *o, ofl_key **keys, ob_diag *d)
{
    size_t i;
    ob_err e;

    for (i = 0; i < c->n_services; i++) {
        ob_cfg_service *s = &c->services[i];
        if (s->key_path == NULL)
            return ob_fail(d, OB_ERR_MALFORMED,
                           "%s:%d:%d: this service names no 'key:'; --from-onionbalance reads the "
                           "OnionBalance management config, which names each master key file",
                           c->path, s->line, s->column);
        if ((e = ofl_key_load(s->key_path, o->srcpass, &keys[i], d)) != OB_OK)
            return e;
        if ((e = ob_config_bind_key(c, i, ofl_key_address(keys[i]), d)) != OB_OK)
            return e;
    }
    return OB_OK;
}

static ob_err migrate_write(cg_tree *t, const char *stage, const ob_config *c, const cg_opts *o,
                            ofl_key **keys, const char *pass, size_t passlen, ob_diag *d)
{
    char dir[PATH_MAX], path[PATH_MAX], name[128];
    ob_buf b;
    size_t i;
    ob_err e;

    /* The online file may hold TOR_CONTROL_PASSWORD: keep its buffer in locked memory. */
    ob_buf_init_secure(&b);
    if ((e = join(dir, stage, "master", d)) != OB_OK || (e = tree_mkdir(t, dir, d)) != OB_OK)
        goto out;
    for (i = 0; i < c->n_services; i++) {
        snprintf(name, sizeof(name), "%s.key", ofl_key_address(keys[i]));
        if ((e = join(path, dir, name, d)) != OB_OK ||
            (e = write_master_key(t, path, keys[i], pass, passlen, d)) != OB_OK)
            goto out;
    }
    migrated_yaml(&b, c, o, CG_SIDE_OFFLINE);
    if ((e = join(path, dir, "config.yaml", d)) != OB_OK ||
        (e = tree_write_buf(t, path, &b, side_has_secret(c, CG_SIDE_OFFLINE) ? 0600 : 0644, d)) !=
            OB_OK)
        goto out;
    ob_buf_reset(&b);
    if ((e = join(dir, stage, "online", d)) != OB_OK || (e = tree_mkdir(t, dir, d)) != OB_OK)
        goto out;
    migrated_yaml(&b, c, o, CG_SIDE_ONLINE);
    if ((e = join(path, dir, "config.yaml", d)) != OB_OK ||
        (e = tree_write_buf(t, path, &b, side_has_secret(c, CG_SIDE_ONLINE) ? 0600 : 0644, d)) !=
            OB_OK)
        goto out;
    for (i = 0; i < t->n; i++)
        if (t->isdir[i] && (e = sync_dir(t->paths[i], d)) != OB_OK)
            goto out;
out:
    ob_buf_free(&b);
    return e;
}

static void migrate_summary(const ob_config *c, const cg_opts *o, const char *abs)
{
    size_t i;

    printf("\nWrote %s from %s: %zu service%s, the same addresses and instances.\n\n", abs, c->path,
           c->n_services, c->n_services == 1 ? "" : "s");
    for (i = 0; i < c->n_services; i++)
        printf("  %s.onion (v%d): %zu instance%s\n", c->services[i].address, c->services[i].version,
               c->services[i].n_instances, c->services[i].n_instances == 1 ? "" : "s");
    printf("\n  master/  the OFFLINE machine only: the master key%s (%s) and config.yaml\n"
           "  online/  the ONLINE machine: config.yaml (addresses only, no key)\n",
           c->n_services == 1 ? "" : "s",
           o->no_passphrase ? "NOT encrypted" : "encrypted with your passphrase");
    printf("\nNext steps (docs/migration.rst):\n"
           "  1. Back up master/ to separate media; it never goes to a networked machine.\n"
           "  2. Copy online/config.yaml to the online machine and start ob-online there\n"
           "     with the tor OnionBalance used.  Stop OnionBalance first.\n"
           "  3. Delete the old key files from the OnionBalance machine (%s).\n"
           "  4. The backends stay as they are: their keys and torrc do not change.\n",
           c->dir);
    fflush(stdout);
}

/* config-gen --from-onionbalance CONFIG: master/ and online/ from a running deployment. */
static int cg_migrate(cg_opts *o)
{
    cg_tree t;
    ob_config *c = NULL;
    ofl_key **keys = NULL;
    char abs[CG_PATH_MAX], parent[CG_PATH_MAX], base[CG_PATH_MAX], stage[PATH_MAX];
    char *pass = NULL;
    size_t passlen = 0, i, n = 0;
    int renamed = 0;
    ob_diag d;
    ob_err e;

    ob_diag_clear(&d);
    memset(&t, 0, sizeof(t));
    e = pick_output(o->output, abs, parent, base, &d);
    if (e == OB_ERR_UNSUPPORTED || e == OB_ERR_RANGE)
        USAGE_ERROR("config-gen: %s", d.msg);
    if (e != OB_OK)
        goto out;
    if ((e = ob_config_load(o->from_ob, &c, &d)) != OB_OK)
        goto out;
    /* A key this program does not know is not carried over: say which. */
    for (i = 0; i < c->n_warnings; i++)
        ob_msg("%s (not carried over)", c->warnings[i]);
    n = c->n_services;
    if ((keys = calloc(n, sizeof(*keys))) == NULL) {
        e = ob_fail(&d, OB_ERR_NOMEM, "out of memory");
        goto out;
    }
    if ((e = migrate_load_keys(c, o, keys, &d)) != OB_OK)
        goto out;
    if (!o->no_passphrase &&
        (e = ofl_pass_read_new(o->passfile, n == 1 ? "the master key" : "the master keys", &pass,
                               &passlen, &d)) != OB_OK)
        goto out;
    if (pass != NULL)
        ofl_cmd_warn_short_pass(pass, passlen);
    if (snprintf(stage, sizeof(stage), "%s/.%s.tmp-XXXXXX", parent, base) >= (int)sizeof(stage) ||
        mkdtemp(stage) == NULL) {
        e = ob_fail(&d, OB_ERR_IO, "%s: cannot create a temporary folder: %s", parent,
                    strerror(errno));
        goto out;
    }
    if ((e = tree_add(&t, stage, 1, &d)) != OB_OK) {
        (void)rmdir(stage);
        goto out;
    }
    if ((e = migrate_write(&t, stage, c, o, keys, pass, passlen, &d)) != OB_OK)
        goto out;
    if (mkdir(abs, 0700) != 0) {
        e = errno == EEXIST
                ? ob_fail(&d, OB_ERR_EXISTS, "%s: appeared while writing; left alone", abs)
                : ob_fail(&d, OB_ERR_IO, "%s: %s", abs, strerror(errno));
        goto out;
    }
    if (rename(stage, abs) != 0) {
        e = ob_fail(&d, OB_ERR_IO, "%s: cannot move the new folder into place: %s", abs,
                    strerror(errno));
        (void)rmdir(abs);
        goto out;
    }
    renamed = 1;
    if ((e = sync_dir(parent, &d)) != OB_OK)
        goto out;
    if (o->no_passphrase)
        ob_msg("warning: the master key%s NOT encrypted; whoever reads %s controls the "
               "service%s",
               n == 1 ? " is" : "s are", n == 1 ? "it" : "them", n == 1 ? "" : "s");
    migrate_summary(c, o, abs);
out:
    tree_done(&t, e != OB_OK && !renamed);
    for (i = 0; keys != NULL && i < n; i++)
        ofl_key_free(keys[i]);
    free(keys);
    ob_config_free(c);
    ofl_pass_free(pass);
    return ob_report(e, &d);
}

int ofl_cmd_config_gen(int argc, char **argv)
{
    cg_opts o;
    cg_tree t;
    cg_instance *inst = NULL;
    ofl_key *master = NULL;
    char abs[CG_PATH_MAX], parent[CG_PATH_MAX], base[CG_PATH_MAX], stage[PATH_MAX];
    char *pass = NULL;
    size_t passlen = 0, i;
    int interactive, renamed = 0;
    ob_diag d;
    ob_err e;

    ob_diag_clear(&d);
    memset(&t, 0, sizeof(t));
    parse_opts(argc, argv, &o);
    if (o.from_ob[0] != '\0')
        return cg_migrate(&o);
    /* As onionbalance-config: no options on a terminal means "ask me". */
    interactive = o.interactive || (argc == 1 && isatty(STDIN_FILENO));
    if ((e = check_tag(o.tag, &d)) != OB_OK ||
        (o.target[0] != '\0' && (e = check_target(o.target, &d)) != OB_OK))
        USAGE_ERROR("config-gen: %s", d.msg);
    e = interactive ? interview(&o, abs, parent, base, &d)
                    : pick_output(o.output, abs, parent, base, &d);
    /* An --output that cannot be used is a usage error; one that exists is not. */
    if (e == OB_ERR_UNSUPPORTED || e == OB_ERR_RANGE)
        USAGE_ERROR("config-gen: %s", d.msg);
    if (e != OB_OK)
        goto out;
    if (o.target[0] == '\0')
        snprintf(o.target, sizeof(o.target), "127.0.0.1:%u", o.vport);

    if (o.key[0] != '\0') {
        if ((e = ofl_key_load(o.key, o.srcpass, &master, &d)) != OB_OK)
            goto out;
        if (o.version != 0 && o.version != ofl_key_version(master)) {
            e = ob_fail(&d, OB_ERR_UNSUPPORTED, "%s holds a v%d key, but version %d was asked for",
                        o.key, ofl_key_version(master), o.version);
            goto out;
        }
        o.version = ofl_key_version(master);
    } else {
        if (o.version == 0)
            o.version = 3;
        if ((e = ofl_key_generate(o.version, &master, &d)) != OB_OK)
            goto out;
    }
    if (!o.no_passphrase &&
        (e = ofl_pass_read_new(o.passfile, "the master key", &pass, &passlen, &d)) != OB_OK)
        goto out;
    if (pass != NULL)
        ofl_cmd_warn_short_pass(pass, passlen);

    if ((inst = calloc(o.n, sizeof(*inst))) == NULL) {
        e = ob_fail(&d, OB_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (i = 0; i < o.n; i++) {
        snprintf(inst[i].name, sizeof(inst[i].name), "%s%zu", o.tag, i + 1);
        if ((e = ofl_key_generate(o.version, &inst[i].key, &d)) != OB_OK)
            goto out;
    }

    /* Built aside, then renamed over a freshly claimed, empty OUT. */
    if (snprintf(stage, sizeof(stage), "%s/.%s.tmp-XXXXXX", parent, base) >= (int)sizeof(stage) ||
        mkdtemp(stage) == NULL) {
        e = ob_fail(&d, OB_ERR_IO, "%s: cannot create a temporary folder: %s", parent,
                    strerror(errno));
        goto out;
    }
    if ((e = tree_add(&t, stage, 1, &d)) != OB_OK) {
        (void)rmdir(stage);
        goto out;
    }
    if ((e = write_tree(&t, stage, abs, &o, master, inst, pass, passlen, &d)) != OB_OK)
        goto out;
    /* mkdir() fails if OUT appeared meanwhile; rename() then replaces only our empty one. */
    if (mkdir(abs, 0700) != 0) {
        e = errno == EEXIST
                ? ob_fail(&d, OB_ERR_EXISTS, "%s: appeared while writing; left alone", abs)
                : ob_fail(&d, OB_ERR_IO, "%s: %s", abs, strerror(errno));
        goto out;
    }
    if (rename(stage, abs) != 0) {
        e = ob_fail(&d, OB_ERR_IO, "%s: cannot move the new folder into place: %s", abs,
                    strerror(errno));
        (void)rmdir(abs);
        goto out;
    }
    renamed = 1;
    if ((e = sync_dir(parent, &d)) != OB_OK)
        goto out;
    if (o.no_passphrase)
        ob_msg("warning: the master key is NOT encrypted; whoever reads it controls %s.onion",
               ofl_key_address(master));
    print_summary(&o, abs, master, inst);
out:
    /* After the rename the recorded paths moved with the folder: nothing to remove. */
    tree_done(&t, e != OB_OK && !renamed);
    for (i = 0; inst != NULL && i < o.n; i++)
        ofl_key_free(inst[i].key);
    free(inst);
    ofl_key_free(master);
    ofl_pass_free(pass);
    return ob_report(e, &d);
}

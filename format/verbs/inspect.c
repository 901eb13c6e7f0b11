/*
 * inspect.c - `inspect [--extract DIR] FILE`: a human summary of any bundle.
 *
 * Both programs have the verb; only ob-online offers --extract, which writes
 * the descriptors a bundle carries into DIR, each as its own file, exactly
 * as they will be uploaded (response) or as tor served them (request).
 * Everything printed comes from an untrusted file: the parser already limits
 * text to printable ASCII, and every string goes through put_text() anyway,
 * so a future relaxation of the parser cannot open a terminal-escape hole.
 */
#include "bundle.h"
#include "cli.h"
#include "fileio.h"
#include "compact.h"
#include "encode.h"
#include "hsv3_cert.h"
#include "hsv3_common.h"
#include "inspect.h"
#include "obtime.h"
#include "revisions.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Quoted, with anything outside printable ASCII (and '"', '\\') escaped. */
static void put_text(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    putchar('"');
    for (; *p != '\0'; p++) {
        if (*p < 0x20 || *p > 0x7e || *p == '"' || *p == '\\')
            printf("\\x%02x", *p);
        else
            putchar(*p);
    }
    putchar('"');
}

static const char *fmt_time(uint64_t t, char *out, size_t n)
{
    /* Beyond year 9999 it says "out of range"; the parser refuses such times. */
    (void)ob_time_format(out, n, t, OB_TIME_SEC);
    return out;
}

static void put_exts(const ob_bundle_exts *e, const char *where, const char *indent)
{
    size_t i;

    for (i = 0; i < e->n; i++)
        printf("%sunknown field 0x%04x in %s (%zu bytes, kept)\n", indent, e->v[i].tag, where,
               e->v[i].len);
}

static void put_digest_lines(const char *label, const uint8_t digest[OB_BUNDLE_DIGEST_LEN])
{
    char s[OB_BUNDLE_SHORT_LEN], h[OB_BUNDLE_HEX_LEN];

    ob_bundle_digest_short(digest, s);
    ob_bundle_digest_hex(digest, h);
    printf("%-12s %s\n%-12s %s\n", label, s, "", h);
}

static void put_header(const char *path, int kind, size_t n, const uint8_t digest[32])
{
    printf("file:        ");
    put_text(path);
    printf("\nkind:        %d (%s)\n", kind, ob_bundle_kind_name(kind));
    printf("format:      version %d, %zu bytes (body %zu)\n", OB_BUNDLE_VERSION, n,
           n - OB_BUNDLE_HDR_LEN - OB_BUNDLE_DIGEST_LEN);
    put_digest_lines("digest:", digest);
}

static void put_request(const ob_request *r)
{
    const ob_consensus_facts *c = &r->consensus;
    char t1[OB_TIME_STR], t2[OB_TIME_STR], h[OB_BUNDLE_HEX_LEN];
    size_t i, j;

    printf("created:     %s\n", fmt_time(r->created, t1, sizeof(t1)));
    if (r->origin != NULL) {
        printf("origin:      ");
        put_text(r->origin);
        putchar('\n');
    }
    printf("consensus:   valid-after %s\n", fmt_time(c->valid_after, t1, sizeof(t1)));
    printf("             fresh-until %s\n", fmt_time(c->fresh_until, t1, sizeof(t1)));
    printf("             valid-until %s\n", fmt_time(c->valid_until, t1, sizeof(t1)));
    printf("             time period length %u min, rotation offset %u min\n",
           (unsigned)c->tp_length_min, (unsigned)c->tp_offset_min);
    ob_bundle_digest_hex(c->srv_current, h);
    printf("             shared random current  %s\n", c->has_srv_current ? h : "(none)");
    ob_bundle_digest_hex(c->srv_previous, h);
    printf("             shared random previous %s\n", c->has_srv_previous ? h : "(none)");
    put_exts(&c->ext, "consensus", "             ");
    printf("services:    %zu\n", r->n_services);
    if (r->n_shared > 0) {
        size_t bytes = 0;
        for (i = 0; i < r->n_shared; i++)
            bytes += r->shared[i].len;
        printf("shared:      %zu descriptor(s), %zu bytes, each written once for the instances "
               "that carry it\n",
               r->n_shared, bytes);
    }
    for (i = 0; i < r->n_services; i++) {
        const ob_req_service *s = &r->services[i];
        size_t cnt[3] = { 0, 0, 0 };
        for (j = 0; j < s->n_instances; j++)
            cnt[s->instances[j].status]++;
        printf("  service %s.onion (v%u)\n", s->address, (unsigned)s->version);
        for (j = 0; j < s->n_periods; j++) {
            const ob_req_period *p = &s->periods[j];
            printf("    period %llu: %s .. %s\n", (unsigned long long)p->tp,
                   fmt_time(p->valid_from, t1, sizeof(t1)),
                   fmt_time(p->valid_until, t2, sizeof(t2)));
            put_exts(&p->ext, "period", "      ");
        }
        if (s->n_periods == 0)
            printf("    periods: none requested\n");
        printf("    instances: %zu (%zu ok, %zu missing, %zu invalid)\n", s->n_instances, cnt[0],
               cnt[1], cnt[2]);
        for (j = 0; j < s->n_instances; j++) {
            static const char *const st[] = { "ok", "missing", "invalid" };
            const ob_req_instance *in = &s->instances[j];
            printf("      %-8s %s.onion", st[in->status], in->address);
            if (in->name != NULL) {
                printf(" name ");
                put_text(in->name);
            }
            printf(" fetched %s", fmt_time(in->fetched_at, t1, sizeof(t1)));
            if (in->descriptor != NULL && in->shared != 0)
                printf(" descriptor %zu bytes (shared %zu)", in->descriptor_len, in->shared - 1);
            else if (in->descriptor != NULL)
                printf(" descriptor %zu bytes", in->descriptor_len);
            if (in->reason != NULL) {
                printf(" reason ");
                put_text(in->reason);
            }
            putchar('\n');
            put_exts(&in->ext, "instance", "        ");
        }
        put_exts(&s->ext, "service", "    ");
    }
    put_exts(&r->ext, "request", "");
}

static void put_response(const ob_response *r)
{
    char t1[OB_TIME_STR], t2[OB_TIME_STR];
    size_t i, k;

    put_digest_lines("answers:", r->request_digest);
    printf("created:     %s\n", fmt_time(r->created, t1, sizeof(t1)));
    if (r->note != NULL) {
        printf("note:        ");
        put_text(r->note);
        putchar('\n');
    }
    printf("descriptors: %zu\n", r->n_descriptors);
    for (i = 0; i < r->n_descriptors; i++) {
        const ob_resp_descriptor *x = &r->descriptors[i];
        printf("  %s.onion v%u period %llu %s %u group %u of %u revision %llu, %zu bytes%s\n",
               x->service, (unsigned)x->version, (unsigned long long)x->tp,
               x->version == 2 ? "replica" : "slot", (unsigned)x->slot, (unsigned)x->group,
               (unsigned)x->group_count, (unsigned long long)x->revision,
               x->compact != NULL ? x->compact_len : x->descriptor_len,
               x->compact != NULL ? " compact (rebuilt from the request it answers)" : "");
        printf("    valid %s .. %s\n", fmt_time(x->valid_from, t1, sizeof(t1)),
               fmt_time(x->valid_until, t2, sizeof(t2)));
        k = ob_resp_revision_count(x);
        if (k > 1) {
            uint64_t f1, fk, c1, ck;
            ob_resp_revision_info(x, 1, &f1, &c1);
            ob_resp_revision_info(x, k - 1, &fk, &ck);
            printf("    %zu more revisions, %zu bytes: counters %llu .. %llu, for use from %s to "
                   "%s\n",
                   k - 1, x->revisions_len, (unsigned long long)c1, (unsigned long long)ck,
                   fmt_time(f1, t1, sizeof(t1)), fmt_time(fk, t2, sizeof(t2)));
        }
        put_exts(&x->ext, "descriptor", "    ");
    }
    put_exts(&r->ext, "response", "");
}

static void put_key_period_params(uint32_t length, uint32_t offset)
{
    printf("periods:     length %u min, rotation offset %u min\n", (unsigned)length,
           (unsigned)offset);
}

static void put_keyrequest(const ob_keyrequest *r)
{
    char t1[48], t2[48], hex[65];
    size_t i, j;

    printf("created:     %s\n", fmt_time(r->created, t1, sizeof(t1)));
    if (r->origin != NULL) {
        printf("origin:      ");
        put_text(r->origin);
        putchar('\n');
    }
    put_key_period_params(r->tp_length_min, r->tp_offset_min);
    printf("services:    %zu\n", r->n_services);
    for (i = 0; i < r->n_services; i++) {
        const ob_keyreq_service *s = &r->services[i];
        printf("  service %s.onion: %zu periods, %llu .. %llu\n", s->address, s->n_periods,
               (unsigned long long)s->periods[0].tp,
               (unsigned long long)s->periods[s->n_periods - 1].tp);
        for (j = 0; j < s->n_periods; j++) {
            const ob_keyreq_period *p = &s->periods[j];
            ob_hex_encode(hex, p->signing_key, 32);
            printf("    period %llu: %s .. %s\n      signing key %s\n", (unsigned long long)p->tp,
                   fmt_time(p->valid_from, t1, sizeof(t1)),
                   fmt_time(p->valid_until, t2, sizeof(t2)), hex);
            put_exts(&p->ext, "period", "      ");
        }
        put_exts(&s->ext, "service", "    ");
    }
    put_exts(&r->ext, "keyrequest", "");
}

/*
 * Each certificate is checked as far as the file alone allows: signed by the
 * blinded public key of the service's address for its period.  Whether the
 * online side holds the certified key is for `delegate install` to say.
 * Returns how many do not verify.
 */
static size_t put_keyresponse(const ob_keyresponse *r)
{
    ob_tp_params tpp;
    char t1[48], t2[48], t3[48], hex[65];
    size_t i, j, bad = 0;

    tpp.length_min = r->tp_length_min;
    tpp.offset_min = r->tp_offset_min;
    put_digest_lines("answers:", r->request_digest);
    printf("created:     %s\n", fmt_time(r->created, t1, sizeof(t1)));
    if (r->note != NULL) {
        printf("note:        ");
        put_text(r->note);
        putchar('\n');
    }
    put_key_period_params(r->tp_length_min, r->tp_offset_min);
    printf("services:    %zu\n", r->n_services);
    for (i = 0; i < r->n_services; i++) {
        const ob_keyresp_service *s = &r->services[i];
        printf("  service %s.onion: %zu certificates, periods %llu .. %llu\n", s->address,
               s->n_certs, (unsigned long long)s->certs[0].tp,
               (unsigned long long)s->certs[s->n_certs - 1].tp);
        for (j = 0; j < s->n_certs; j++) {
            const ob_keycert *c = &s->certs[j];
            uint8_t raw[OB_CERT_LEN];
            ob_ed_cert ec;
            const char *verdict = "does not verify";
            uint64_t from, to;
            /* Checked by the parser; never shown as a wrapped date. */
            if (ob_hsv3_tp_start(c->tp, &tpp, &from) != 0)
                from = UINT64_MAX;
            if (ob_hsv3_tp_start(c->tp + 1, &tpp, &to) != 0)
                to = UINT64_MAX;
            if (ob_keycert_cert(c, s->address, r->tp_length_min, raw, NULL) == OB_OK &&
                ob_ed_cert_parse(&ec, raw, sizeof(raw), NULL) == OB_OK &&
                ob_ed_cert_verify(&ec, ec.signer, 0, NULL) == OB_OK)
                verdict = "signed by the blinded key of this address and period";
            else
                bad++;
            ob_hex_encode(hex, c->signing_key, 32);
            printf("    period %llu: %s .. %s\n      certifies %s\n      %s; expires %s\n",
                   (unsigned long long)c->tp, fmt_time(from, t1, sizeof(t1)),
                   fmt_time(to, t2, sizeof(t2)), hex, verdict,
                   fmt_time(c->expires, t3, sizeof(t3)));
            put_exts(&c->ext, "cert", "      ");
        }
        put_exts(&s->ext, "service", "    ");
    }
    put_exts(&r->ext, "keyresponse", "");
    return bad;
}

/* One file to write: its name under DIR and the bytes. */
typedef struct xfile {
    char *path;
    const uint8_t *p;
    size_t n;
    uint8_t *own; /* p when it was made here (a rebuilt revision) */
} xfile;

static int xfile_add(xfile **v, size_t *n, const char *dir, const uint8_t *p, size_t len,
                     const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static int xfile_add(xfile **v, size_t *n, const char *dir, const uint8_t *p, size_t len,
                     const char *fmt, ...)
{
    char name[256];
    xfile *nv;
    va_list ap;
    size_t plen;

    va_start(ap, fmt);
    vsnprintf(name, sizeof(name), fmt, ap);
    va_end(ap);
    nv = realloc(*v, (*n + 1) * sizeof(*nv));
    if (nv == NULL)
        return -1;
    *v = nv;
    plen = strlen(dir) + 1 + strlen(name) + 1;
    nv[*n].path = malloc(plen);
    if (nv[*n].path == NULL)
        return -1;
    snprintf(nv[*n].path, plen, "%s/%s", dir, name);
    nv[*n].p = p;
    nv[*n].n = len;
    nv[*n].own = NULL;
    (*n)++;
    return 0;
}

/*
 * Names come from validated onion addresses and numbers only, so they hold
 * no '/' or "..".  Every name is checked free before the first write, and each
 * write is atomic and exclusive: nothing is ever overwritten.
 */
/* Revisions 1..n of x (revisions.h), rebuilt, as "<name>-r<i>.desc". */
static int extract_revisions(xfile **v, size_t *n, const char *dir, const ob_resp_descriptor *x,
                             const ob_tp_params *tpp, const char *g)
{
    size_t i, k = ob_resp_revision_count(x), len = 0;
    uint8_t *text = NULL;
    ob_diag d = { "" };
    ob_err err;

    for (i = 1; i < k; i++) {
        if ((err = ob_resp_revision_bytes(x, tpp, i, &text, &len, &d)) != OB_OK) {
            ob_report(err, &d);
            return -2;
        }
        if (xfile_add(v, n, dir, text, len, "%s-tp%llu-%u%s-r%zu.desc", x->service,
                      (unsigned long long)x->tp, (unsigned)x->slot, g, i) != 0) {
            free(text);
            return -1;
        }
        (*v)[*n - 1].own = text;
    }
    return 0;
}

static int extract(const char *dir, const ob_request *q, const ob_response *s,
                   const ob_tp_params *tpp)
{
    xfile *v = NULL;
    size_t n = 0, i, j;
    struct stat st;
    ob_diag d = { "" };
    int rc = OB_EXIT_USAGE, made = 0;
    ob_err err;

    /* A folder that is not there yet is made (0700: descriptors of one's
     * own services); its parent must exist. */
    if (lstat(dir, &st) != 0 && errno == ENOENT) {
        if (mkdir(dir, 0700) != 0) {
            ob_msg("--extract %s: cannot create the folder: %s", dir,
                   errno == ENOENT ? "its parent folder does not exist" : strerror(errno));
            return OB_EXIT_USAGE;
        }
        made = 1;
        printf("created:     %s (mode 0700)\n", dir);
    } else if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        ob_msg("--extract %s: exists and is not a folder", dir);
        return OB_EXIT_USAGE;
    }
    for (i = 0; q != NULL && i < q->n_services; i++) {
        const ob_req_service *sv = &q->services[i];
        for (j = 0; j < sv->n_instances; j++) {
            const ob_req_instance *in = &sv->instances[j];
            if (in->descriptor != NULL &&
                xfile_add(&v, &n, dir, in->descriptor, in->descriptor_len, "%s-instance-%s.desc",
                          sv->address, in->address) != 0)
                goto nomem;
        }
    }
    for (i = 0; s != NULL && i < s->n_descriptors; i++) {
        const ob_resp_descriptor *x = &s->descriptors[i];
        char g[16] = "";
        if (x->group_count > 1)
            snprintf(g, sizeof(g), "-g%u", (unsigned)x->group);
        if (xfile_add(&v, &n, dir, x->descriptor, x->descriptor_len, "%s-tp%llu-%u%s.desc",
                      x->service, (unsigned long long)x->tp, (unsigned)x->slot, g) != 0)
            goto nomem;
        if (tpp != NULL) {
            int r = extract_revisions(&v, &n, dir, x, tpp, g);
            if (r == -1)
                goto nomem;
            if (r != 0) {
                rc = OB_EXIT_BAD;
                goto out;
            }
        }
    }
    for (i = 0; i < n; i++) {
        if (ob_path_exists(v[i].path)) {
            ob_msg("%s: already exists; refusing to overwrite it (nothing was extracted)",
                   v[i].path);
            goto out;
        }
    }
    for (i = 0; i < n; i++) {
        err = ob_file_write_atomic(v[i].path, v[i].p, v[i].n, 0644, OB_WRITE_EXCL, &d);
        if (err != OB_OK) {
            rc = ob_report(err, &d);
            ob_msg("%zu of %zu descriptors were extracted", i, n);
            goto out;
        }
        printf("extracted:   %s (%zu bytes)\n", v[i].path, v[i].n);
    }
    if (n == 0)
        printf("extracted:   nothing (no descriptors in this bundle)\n");
    rc = OB_EXIT_OK;
    goto out;
nomem:
    ob_msg("out of memory");
out:
    if (rc != OB_EXIT_OK && made)
        (void)rmdir(dir); /* only if nothing went into it */
    for (i = 0; i < n; i++) {
        free(v[i].path);
        free(v[i].own);
    }
    free(v);
    return rc;
}

static int response_is_compact(const ob_response *s)
{
    size_t i;
    for (i = 0; i < s->n_descriptors; i++)
        if (s->descriptors[i].compact != NULL)
            return 1;
    return 0;
}

/*
 * Rebuild the compact records of s from the request it answers: the file
 * given with --request, else the online side's request store (the same
 * place as online/reqstore.c: $OB_REQUEST_STORE, $STATE_DIRECTORY/requests,
 * $XDG_STATE_HOME/ob-online/requests, ~/.local/state/ob-online/requests;
 * inspect has no config).
 * The bytes extracted are then exactly those publish uploads.
 */
static int expand(const char *resp_path, const char *rq_path, ob_response *s, ob_tp_params *tpp)
{
    char hex[OB_BUNDLE_HEX_LEN], shrt[OB_BUNDLE_SHORT_LEN], store[4200];
    const char *env = getenv("OB_REQUEST_STORE"), *xdg = getenv("XDG_STATE_HOME");
    const char *home = getenv("HOME"), *sd = getenv("STATE_DIRECTORY");
    ob_request *q = NULL;
    ob_diag d = { "" };
    ob_err err;
    int rc;

    ob_bundle_digest_hex(s->request_digest, hex);
    ob_bundle_digest_short(s->request_digest, shrt);
    if (rq_path == NULL) {
        if (env != NULL && env[0] == '/')
            snprintf(store, sizeof(store), "%.4000s/%s.obb", env, hex);
        else if (sd != NULL && sd[0] == '/') /* systemd: the first of a list */
            snprintf(store, sizeof(store), "%.*s/requests/%s.obb",
                     (int)(strcspn(sd, ":") < 4000 ? strcspn(sd, ":") : 4000), sd, hex);
        else if (xdg != NULL && xdg[0] == '/')
            snprintf(store, sizeof(store), "%.4000s/ob-online/requests/%s.obb", xdg, hex);
        else if (home != NULL && home[0] == '/')
            snprintf(store, sizeof(store), "%.4000s/.local/state/ob-online/requests/%s.obb", home,
                     hex);
        else
            snprintf(store, sizeof(store), "requests/%s.obb", hex);
        if (!ob_path_exists(store)) {
            ob_msg("%s is compact: it answers request %s, which this machine did not send (not "
                   "in the request store: %s); pass --request FILE",
                   resp_path, shrt, store);
            return OB_EXIT_BAD;
        }
        rq_path = store;
    }
    err = ob_request_read_file(rq_path, &q, &d);
    if (err == OB_OK) {
        tpp->length_min = q->consensus.tp_length_min;
        tpp->offset_min = q->consensus.tp_offset_min;
        err = ob_response_expand(s, q, &d);
    }
    if (err != OB_OK) {
        ob_diag_prefix(&d, "%s: ", resp_path);
        rc = ob_report(err, &d);
    } else {
        printf("rebuilt:     from request %s (%s)\n", shrt, rq_path);
        rc = OB_EXIT_OK;
    }
    ob_request_free(q);
    return rc;
}

int ob_cmd_inspect(int argc, char **argv)
{
    const char *path = NULL, *xdir = NULL, *rq_path = NULL;
    uint8_t digest[OB_BUNDLE_DIGEST_LEN];
    ob_request *q = NULL;
    ob_response *s = NULL;
    ob_keyrequest *kq = NULL;
    ob_keyresponse *ks = NULL;
    size_t bad = 0;
    ob_diag d = { "" };
    uint8_t *p = NULL;
    size_t n = 0;
    int i, kind = 0, rc = OB_EXIT_USAGE;
    int can_extract = strcmp(ob_progname, "ob-online") == 0, expanded = 0;
    ob_tp_params tpp = { 0, 0 };
    ob_err err;

    for (i = 1; i < argc; i++) {
        if (can_extract && strcmp(argv[i], "--extract") == 0 && i + 1 < argc && xdir == NULL)
            xdir = argv[++i];
        else if (can_extract && strcmp(argv[i], "--request") == 0 && i + 1 < argc &&
                 rq_path == NULL)
            rq_path = argv[++i];
        else if (strcmp(argv[i], "--") == 0 && i + 2 == argc && path == NULL)
            path = argv[++i];
        else if (argv[i][0] == '-' && argv[i][1] != '\0')
            ob_usage_verb("inspect");
        else if (path == NULL)
            path = argv[i];
        else
            ob_usage_verb("inspect");
    }
    if (path == NULL)
        ob_usage_verb("inspect");
    if ((err = ob_bundle_read_file(path, &p, &n, &d)) != OB_OK)
        return ob_report(err, &d);
    if ((err = ob_bundle_peek(p, n, &kind, digest, &d)) != OB_OK)
        goto bad;
    switch (kind) {
    case OB_BUNDLE_REQUEST:
        if ((err = ob_request_parse(p, n, &q, &d)) != OB_OK)
            goto bad;
        put_header(path, kind, n, digest);
        put_request(q);
        break;
    case OB_BUNDLE_RESPONSE:
        if ((err = ob_response_parse(p, n, &s, &d)) != OB_OK)
            goto bad;
        put_header(path, kind, n, digest);
        put_response(s);
        break;
    case OB_BUNDLE_CERT_REQUEST:
        if ((err = ob_keyrequest_parse(p, n, &kq, &d)) != OB_OK)
            goto bad;
        put_header(path, kind, n, digest);
        put_keyrequest(kq);
        break;
    default:
        if ((err = ob_keyresponse_parse(p, n, &ks, &d)) != OB_OK)
            goto bad;
        put_header(path, kind, n, digest);
        bad = put_keyresponse(ks);
        break;
    }
    fflush(stdout);
    if (bad > 0) {
        ob_msg("%s: %zu certificate%s not signed by the blinded key of %s address and period", path,
               bad, bad == 1 ? " is" : "s are", bad == 1 ? "its" : "their");
        rc = OB_EXIT_BAD;
        goto out;
    }
    if (xdir != NULL && s != NULL && (rq_path != NULL || response_is_compact(s))) {
        rc = expand(path, rq_path, s, &tpp);
        if (rc != OB_EXIT_OK)
            goto out;
        expanded = 1;
    }
    rc = xdir != NULL ? extract(xdir, q, s, expanded ? &tpp : NULL) : OB_EXIT_OK;
    goto out;
bad:
    ob_diag_prefix(&d, "%s: ", path);
    rc = ob_report(err, &d);
out:
    ob_request_free(q);
    ob_response_free(s);
    ob_keyrequest_free(kq);
    ob_keyresponse_free(ks);
    free(p);
    return rc;
}

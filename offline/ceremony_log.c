/*
 * ceremony_log.c - append-only ceremony record, read as a stream for exact
 * and content replay detection (ceremony_log.h, docs/signing.rst).
 *
 * The reader is a line state machine.  Lines are classified by their first
 * word; a record runs from a "ceremony" line to its "end".  A line that is
 * not one the program writes is judged by what follows it: before a new
 * "ceremony" line or the end of the file it is the cut tail of a torn record
 * (a write that failed half-way), anywhere else the log is damaged.
 */
#include "ceremony_log.h"

#include "cli.h"
#include "crypto.h"
#include "encode.h"
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define READ_CHUNK 65536
#define ADDR_MAX   56 /* a v3 onion address */
#define MAX_WORDS  16 /* a "service" line has 14 */

int ofl_clog_set_add(ofl_clog_set *s, const char *service, const char *instance,
                     const uint8_t sha256[32])
{
    char hex[65];
    uint8_t h[32];
    size_t i;
    ob_iov v[5] = { { service, strlen(service) },
                    { " ", 1 },
                    { instance, strlen(instance) },
                    { " ", 1 },
                    { hex, 64 } };

    ob_hex_encode(hex, sha256, 32);
    if (ob_sha256(h, v, 5) != 0)
        return -1;
    for (i = 0; i < 32; i++)
        s->fp[i] ^= h[i];
    s->n++;
    return 0;
}

int ofl_clog_set_add_periods(ofl_clog_set *s, const char *service, const char *periods, size_t len)
{
    uint8_t h[32];
    size_t i;
    ob_iov v[4] = { { "periods ", 8 }, { service, strlen(service) }, { " ", 1 }, { periods, len } };

    if (ob_sha256(h, v, 4) != 0)
        return -1;
    for (i = 0; i < 32; i++)
        s->fp[i] ^= h[i];
    s->n++;
    return 0;
}

int ofl_clog_set_equal(const ofl_clog_set *a, const ofl_clog_set *b)
{
    return a->n == b->n && memcmp(a->fp, b->fp, 32) == 0;
}

void ofl_clog_result_clear(ofl_clog_result *r)
{
    free(r->sets);
    r->sets = NULL;
    r->n_sets = 0;
}

int ofl_clog_order_cmp(uint64_t tp_a, uint64_t order_a, uint64_t tp_b, uint64_t order_b)
{
    if (tp_a != tp_b)
        return tp_a < tp_b ? -1 : 1;
    if (order_a != order_b)
        return order_a < order_b ? -1 : 1;
    return 0;
}

/* ---- one line ------------------------------------------------------------ */

enum ltype { L_BAD, L_CEREMONY, L_REQUEST, L_RESPONSE, L_SERVICE, L_BACKEND, L_END };

typedef struct lword {
    const char *p;
    size_t n;
} lword;

typedef struct lbackend {
    lword service;
    lword instance;
    int version;
    uint64_t tp, order;
    lword sha256;
} lbackend;

/* Split at single spaces into at most max words; the count, or max + 1 if more. */
static size_t split(const char *s, size_t n, lword *w, size_t max)
{
    size_t i = 0, k = 0;

    while (i < n) {
        size_t j = i;
        while (j < n && s[j] != ' ')
            j++;
        if (j == i || k == max)
            return max + 1; /* an empty word (two spaces), or too many */
        w[k].p = s + i;
        w[k].n = j - i;
        k++;
        i = j + 1;
        if (j < n && i == n)
            return max + 1; /* a trailing space */
    }
    return k;
}

static int word_is(const lword *w, const char *s)
{
    return w->n == strlen(s) && memcmp(w->p, s, w->n) == 0;
}

static int is_hex64(const lword *w)
{
    size_t i;

    if (w->n != 64)
        return 0;
    for (i = 0; i < 64; i++)
        if (!((w->p[i] >= '0' && w->p[i] <= '9') || (w->p[i] >= 'a' && w->p[i] <= 'f')))
            return 0;
    return 1;
}

static int is_onion(const lword *w, size_t len)
{
    size_t i;

    if (w->n != len)
        return 0;
    for (i = 0; i < w->n; i++)
        if (!((w->p[i] >= 'a' && w->p[i] <= 'z') || (w->p[i] >= '2' && w->p[i] <= '7')))
            return 0;
    return 1;
}

/* Decimal as the program writes it: no sign, no leading zero, at most max. */
static int get_u64(const lword *w, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    size_t i;

    if (w->n == 0 || w->n > 20 || (w->n > 1 && w->p[0] == '0'))
        return 0;
    for (i = 0; i < w->n; i++) {
        unsigned dgt = (unsigned)(w->p[i] - '0');
        if (w->p[i] < '0' || w->p[i] > '9' || v > (UINT64_MAX - dgt) / 10)
            return 0;
        v = v * 10 + dgt;
    }
    if (v > max)
        return 0;
    *out = v;
    return 1;
}

/*
 *   backend <service> <instance> v3 tp <tp> rev <rev> sha256 <hex>
 *   backend <service> <instance> v2 published <t> sha256 <hex>
 */
static int parse_backend(const lword *w, size_t k, lbackend *b)
{
    b->tp = 0;
    if (k == 10 && word_is(&w[3], "v3") && word_is(&w[4], "tp") && word_is(&w[6], "rev") &&
        word_is(&w[8], "sha256") && is_onion(&w[1], 56) && is_onion(&w[2], 56) &&
        get_u64(&w[5], OB_TP_MAX, &b->tp) && get_u64(&w[7], UINT64_MAX, &b->order) &&
        is_hex64(&w[9])) {
        b->version = 3;
        b->sha256 = w[9];
    } else if (k == 8 && word_is(&w[3], "v2") && word_is(&w[4], "published") &&
               word_is(&w[6], "sha256") && is_onion(&w[1], 16) && is_onion(&w[2], 16) &&
               get_u64(&w[5], OB_TIME_MAX, &b->order) && is_hex64(&w[7])) {
        b->version = 2;
        b->sha256 = w[7];
    } else
        return 0;
    b->service = w[1];
    b->instance = w[2];
    return 1;
}

static enum ltype classify(const char *s, size_t n, lword *w, lbackend *b)
{
    size_t k, i;

    for (i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
            return L_BAD; /* NUL, CR, crash garbage */
    k = split(s, n, w, MAX_WORDS);
    if (k == 0 || k > MAX_WORDS)
        return L_BAD;
    if (word_is(&w[0], "ceremony"))
        return k >= 2 ? L_CEREMONY : L_BAD;
    if (word_is(&w[0], "request"))
        return k == 2 && is_hex64(&w[1]) ? L_REQUEST : L_BAD;
    if (word_is(&w[0], "response"))
        return k == 2 && is_hex64(&w[1]) ? L_RESPONSE : L_BAD;
    /* "certify": a key certification's line for a service (cmd_certify.c). */
    if (word_is(&w[0], "service") || word_is(&w[0], "certify"))
        return k >= 3 && (is_onion(&w[1], 56) || is_onion(&w[1], 16)) ? L_SERVICE : L_BAD;
    if (word_is(&w[0], "backend"))
        return parse_backend(w, k, b) ? L_BACKEND : L_BAD;
    if (word_is(&w[0], "end"))
        return k == 1 ? L_END : L_BAD;
    return L_BAD;
}

/* ---- the stream ------------------------------------------------------------- */

typedef struct scan {
    const char *path;
    char hex[65];
    ofl_clog_backend **idx; /* sorted by instance */
    size_t nb;
    ofl_clog_result *res;
    int in_record;
    size_t rec_line;
    char rec_when[32];
    size_t bad_line;  /* a line not yet judged: torn tail or damage */
    int torn_counted; /* the current record was already counted as torn */
    ofl_clog_set cur; /* the current record's backend set */
    size_t cap_sets;
    ob_diag *d;
} scan;

static int cmp_idx(const void *a, const void *b)
{
    const ofl_clog_backend *x = *(const ofl_clog_backend *const *)a;
    const ofl_clog_backend *y = *(const ofl_clog_backend *const *)b;

    return strcmp(x->instance, y->instance);
}

static ofl_clog_backend *find_backend(const scan *s, const lword *inst)
{
    size_t lo = 0, hi = s->nb;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *m = s->idx[mid]->instance;
        int c = strncmp(m, inst->p, inst->n);
        if (c == 0 && m[inst->n] != '\0')
            c = 1;
        if (c == 0)
            return s->idx[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* Garbage after the last complete record: the cut start of a new one. */
static void orphan_record(scan *s, size_t lineno)
{
    s->torn_counted = 0;
    s->rec_line = lineno;
    snprintf(s->rec_when, sizeof(s->rec_when), "?");
}

static void count_torn(scan *s)
{
    if (s->torn_counted)
        return;
    s->torn_counted = 1;
    if (s->res->n_torn++ == 0) {
        s->res->torn_line = s->rec_line;
        snprintf(s->res->torn_when, sizeof(s->res->torn_when), "%s", s->rec_when);
    }
}

static void start_record(scan *s, const lword *date, size_t lineno)
{
    size_t n = date->n < sizeof(s->rec_when) - 1 ? date->n : sizeof(s->rec_when) - 1;

    if (s->in_record)
        count_torn(s); /* the previous record never reached its "end" */
    s->in_record = 1;
    s->torn_counted = 0;
    s->rec_line = lineno;
    memcpy(s->rec_when, date->p, n);
    s->rec_when[n] = '\0';
    memset(&s->cur, 0, sizeof(s->cur));
}

/* A complete record's set, kept for "the same descriptors signed before". */
static ob_err keep_set(scan *s)
{
    ofl_clog_result *r = s->res;

    if (s->cur.n == 0)
        return OB_OK;
    if (r->n_sets == s->cap_sets) {
        size_t nc = s->cap_sets ? s->cap_sets * 2 : 64;
        ofl_clog_set *v = realloc(r->sets, nc * sizeof(*v));
        if (v == NULL)
            return ob_fail(s->d, OB_ERR_NOMEM, "%s: out of memory", s->path);
        r->sets = v;
        s->cap_sets = nc;
    }
    snprintf(s->cur.when, sizeof(s->cur.when), "%s", s->rec_when);
    r->sets[r->n_sets++] = s->cur;
    return OB_OK;
}

/* The backend line's element of the record's set. */
static ob_err add_line_to_set(scan *s, const lbackend *b)
{
    char svc[ADDR_MAX + 1], inst[ADDR_MAX + 1];
    uint8_t h[32];

    /* classify checked: addresses of 16 or 56 letters, 64 hex digits. */
    memcpy(svc, b->service.p, b->service.n);
    svc[b->service.n] = '\0';
    memcpy(inst, b->instance.p, b->instance.n);
    inst[b->instance.n] = '\0';
    (void)ob_hex_decode(h, 32, b->sha256.p, 64);
    if (ofl_clog_set_add(&s->cur, svc, inst, h) != 0)
        return ob_fail(s->d, OB_ERR_CRYPTO, "SHA-256 failed");
    return OB_OK;
}

static ob_err damaged(scan *s, size_t lineno)
{
    return ob_fail(s->d, OB_ERR_MALFORMED,
                   "%s:%zu: not a line this program writes (and not the cut end of the last "
                   "record): the ceremony log is damaged; restore it from a copy, or move it "
                   "aside knowing that replay detection starts from nothing",
                   s->path, lineno);
}

/* One line; complete = it ended with a newline. */
static ob_err scan_line(scan *s, const char *line, size_t n, int too_long, size_t lineno)
{
    lword w[MAX_WORDS + 1] = { { NULL, 0 } }; /* words past the count read as empty */
    lbackend b;
    enum ltype t = too_long ? L_BAD : classify(line, n, w, &b);

    if (s->bad_line != 0) {
        /* The line before was no line of ours: fine only as a torn tail. */
        if (t != L_CEREMONY)
            return damaged(s, s->bad_line);
        if (!s->in_record)
            orphan_record(s, s->bad_line);
        count_torn(s);
        s->bad_line = 0;
    }
    if (t != L_CEREMONY && t != L_BAD && !s->in_record)
        t = L_BAD; /* a record's line outside any record */
    switch (t) {
    case L_BAD:
        s->bad_line = lineno;
        break;
    case L_CEREMONY:
        start_record(s, &w[1], lineno);
        break;
    case L_REQUEST:
        if (!s->res->request_found && memcmp(w[1].p, s->hex, 64) == 0) {
            s->res->request_found = 1;
            snprintf(s->res->request_when, sizeof(s->res->request_when), "%s", s->rec_when);
        }
        break;
    case L_SERVICE:
        /* "service <addr> vN periods <list> ...": the periods join the set. */
        if (word_is(&w[0], "service") && word_is(&w[3], "periods") && w[4].n > 0) {
            char svc[ADDR_MAX + 1];
            memcpy(svc, w[1].p, w[1].n); /* classify checked: 16 or 56 letters */
            svc[w[1].n] = '\0';
            if (ofl_clog_set_add_periods(&s->cur, svc, w[4].p, w[4].n) != 0)
                return ob_fail(s->d, OB_ERR_CRYPTO, "SHA-256 failed");
        }
        break;
    case L_BACKEND: {
        ofl_clog_backend *x = find_backend(s, &b.instance);
        ob_err err = add_line_to_set(s, &b);
        if (err != OB_OK)
            return err;
        if (x != NULL && (!x->found || ofl_clog_order_cmp(b.tp, b.order, x->tp, x->order) >= 0)) {
            x->found = 1;
            x->version = b.version;
            x->tp = b.tp;
            x->order = b.order;
            (void)ob_hex_decode(x->sha256, 32, b.sha256.p, 64); /* checked by classify */
            snprintf(x->when, sizeof(x->when), "%s", s->rec_when);
        }
        break;
    }
    case L_END:
        s->in_record = 0;
        s->res->n_records++;
        return keep_set(s);
    default:
        break;
    }
    return OB_OK;
}

static ob_err scan_stream(scan *s, int fd)
{
    char *buf = NULL, *line = NULL;
    size_t ln = 0, lineno = 0;
    int too_long = 0;
    ob_err err = OB_OK;
    ssize_t got;

    buf = malloc(READ_CHUNK);
    line = malloc(OFL_CLOG_MAX_LINE + 1);
    if (buf == NULL || line == NULL) {
        err = ob_fail(s->d, OB_ERR_NOMEM, "%s: out of memory", s->path);
        goto out;
    }
    for (;;) {
        size_t i;
        got = read(fd, buf, READ_CHUNK);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            err = ob_fail(s->d, OB_ERR_IO, "%s: reading the ceremony log: %s", s->path,
                          strerror(errno));
            goto out;
        }
        if (got == 0)
            break;
        for (i = 0; i < (size_t)got;) {
            const char *nl = memchr(buf + i, '\n', (size_t)got - i);
            size_t span = nl != NULL ? (size_t)(nl - (buf + i)) : (size_t)got - i;
            size_t room = OFL_CLOG_MAX_LINE - ln;
            /* Keep at most OFL_CLOG_MAX_LINE bytes of a line; a longer one
             * is no line of ours, whatever else it holds. */
            memcpy(line + ln, buf + i, span < room ? span : room);
            ln += span < room ? span : room;
            too_long |= span > room;
            i += span;
            if (nl == NULL)
                break;
            i++;
            lineno++;
            err = scan_line(s, line, ln, too_long, lineno);
            if (err != OB_OK)
                goto out;
            ln = 0;
            too_long = 0;
        }
    }
    /* A last line without its newline is judged like any other (a cut one
     * is no line of ours); then a record without "end", or a line still
     * unjudged, means the last record is torn. */
    if (ln > 0 || too_long) {
        lineno++;
        err = scan_line(s, line, ln, too_long, lineno);
        if (err != OB_OK)
            goto out;
    }
    if (s->bad_line != 0 || s->in_record) {
        if (!s->in_record)
            orphan_record(s, s->bad_line);
        count_torn(s);
    }
out:
    free(buf);
    free(line);
    return err;
}

ob_err ofl_clog_scan(const char *path, const uint8_t digest[32], ofl_clog_backend *b, size_t nb,
                     ofl_clog_result *out, ob_diag *d)
{
    struct stat st;
    scan s;
    size_t i;
    int fd = -1;
    ob_err err = OB_OK;

    memset(out, 0, sizeof(*out));
    snprintf(out->request_when, sizeof(out->request_when), "?");
    for (i = 0; i < nb; i++) {
        b[i].found = 0;
        b[i].version = 0;
        b[i].tp = b[i].order = 0;
        snprintf(b[i].when, sizeof(b[i].when), "?");
    }
    memset(&s, 0, sizeof(s));
    s.path = path;
    s.res = out;
    s.d = d;
    s.nb = nb;
    ob_hex_encode(s.hex, digest, 32);
    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT)
        return OB_OK; /* no ceremony yet */
    if (fd < 0)
        return ob_fail(d, OB_ERR_IO, "%s: cannot open the ceremony log: %s", path,
                       errno == ELOOP ? "it is a symbolic link" : strerror(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        err = ob_fail(d, OB_ERR_IO, "%s: the ceremony log is not a regular file", path);
        goto out;
    }
    s.idx = calloc(nb + 1, sizeof(*s.idx));
    if (s.idx == NULL) {
        err = ob_fail(d, OB_ERR_NOMEM, "%s: out of memory", path);
        goto out;
    }
    for (i = 0; i < nb; i++)
        s.idx[i] = &b[i];
    qsort(s.idx, nb, sizeof(*s.idx), cmp_idx);
    err = scan_stream(&s, fd);
out:
    free(s.idx);
    close(fd);
    return err;
}

ob_err ofl_clog_find(const char *path, const uint8_t digest[32], int *found, char when[32],
                     ob_diag *d)
{
    ofl_clog_result r;
    ob_err err = ofl_clog_scan(path, digest, NULL, 0, &r, d);

    *found = err == OB_OK && r.request_found;
    if (when != NULL)
        snprintf(when, 32, "%s", *found ? r.request_when : "?");
    ofl_clog_result_clear(&r);
    return err;
}

/* ---- writing -------------------------------------------------------------- */

void ofl_clog_begin(ob_buf *b, uint64_t now, const uint8_t request_digest[32],
                    const uint8_t response_digest[32])
{
    char t[OB_TIME_STR], h1[65], h2[65];

    (void)ob_time_format(t, sizeof(t), now, OB_TIME_ISO);
    ob_hex_encode(h1, request_digest, 32);
    ob_hex_encode(h2, response_digest, 32);
    ob_buf_printf(b, "ceremony %s ob-offline %s\nrequest %s\nresponse %s\n", t, OB_VERSION, h1, h2);
}

void ofl_clog_backend_line(ob_buf *b, const char *service, const char *instance, int version,
                           uint64_t tp, uint64_t order, const uint8_t sha256[32])
{
    char h[65];

    ob_hex_encode(h, sha256, 32);
    if (version == 3)
        ob_buf_printf(b, "backend %s %s v3 tp %llu rev %llu sha256 %s\n", service, instance,
                      (unsigned long long)tp, (unsigned long long)order, h);
    else
        ob_buf_printf(b, "backend %s %s v2 published %llu sha256 %s\n", service, instance,
                      (unsigned long long)order, h);
}

void ofl_clog_end(ob_buf *b)
{
    ob_buf_put_str(b, "end\n");
}

/* Write all of p, finishing short writes; -1 with errno on failure. */
static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (w == 0)
                errno = EIO;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

ob_err ofl_clog_append(const char *path, const ob_buf *b, ob_diag *d)
{
    struct stat st;
    int fd = -1, created;
    ob_err err = OB_OK;
    char last = '\n';

    if (!ob_buf_ok(b))
        return ob_fail(d, OB_ERR_NOMEM, "ceremony log: out of memory");
    created = !ob_path_exists(path);
    fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return ob_fail(d, OB_ERR_IO, "%s: cannot open the ceremony log: %s", path, strerror(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        err = ob_fail(d, OB_ERR_IO, "%s: the ceremony log is not a regular file", path);
        goto out;
    }
    /* A torn record may end in the middle of a line: start on a new one. */
    if (st.st_size > 0 && pread(fd, &last, 1, st.st_size - 1) != 1) {
        err = ob_fail(d, OB_ERR_IO, "%s: reading the ceremony log: %s", path, strerror(errno));
        goto out;
    }
    if ((last != '\n' && write_all(fd, (const uint8_t *)"\n", 1) != 0) ||
        write_all(fd, b->p, b->len) != 0) {
        err =
            ob_fail(d, OB_ERR_IO, "%s: writing the ceremony log failed: %s", path, strerror(errno));
        goto out;
    }
    if (fsync(fd) != 0) {
        err = ob_fail(d, OB_ERR_IO, "%s: fsync: %s", path, strerror(errno));
        goto out;
    }
    if (created) {
        /* A new file's name must survive a crash too. */
        char dir[4096];
        const char *slash = strrchr(path, '/');
        int dfd;
        if (slash == NULL)
            snprintf(dir, sizeof(dir), ".");
        else
            snprintf(dir, sizeof(dir), "%.*s", (int)(slash == path ? 1 : slash - path), path);
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            (void)fsync(dfd);
            close(dfd);
        }
    }
out:
    if (fd >= 0 && close(fd) != 0 && err == OB_OK)
        err = ob_fail(d, OB_ERR_IO, "%s: close: %s", path, strerror(errno));
    return err;
}

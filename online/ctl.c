/*
 * ctl.c - tor control-port client: framing, authentication, events.
 *
 * The connection is non-blocking; every wait is a poll() against a deadline
 * on the monotonic clock.  Input goes through one buffer that holds at most
 * one line of ONL_CTL_MAX_LINE bytes plus a read's worth, so a peer that
 * never sends CRLF cannot make us grow without bound.  A message (reply or
 * event) is a run of lines ending with an "NNN " line; its total size is
 * capped by max_reply.
 */
#include "ctl.h"

#include "buf.h"
#include "crypto.h"
#include "encode.h"
#include "fileio.h"
#include "secmem.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define IN_CAP       (ONL_CTL_MAX_LINE + 2 + 65536)
#define MAX_DESC_LEN (1024u * 1024u)

struct onl_ctl {
    int fd;
    unsigned generation;
    int last_code;
    /* how to reach tor again */
    char *socket_path;
    char *host;
    unsigned port;
    char *password_file;
    char *password; /* ob_secalloc, or NULL */
    onl_auth auth;
    int timeout_ms;
    size_t max_reply;
    char *events; /* last SETEVENTS argument, restored on reconnect */
    /* what we learnt */
    char endpoint[160];
    char method[16];
    char version[64];
    /* input */
    uint8_t *in;
    size_t in_off, in_len;
    /* event queue (ring) */
    onl_ctl_event **q;
    size_t q_head, q_n, q_cap, q_bytes, dropped;
};

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t deadline_in(const onl_ctl *c, int timeout_ms)
{
    return now_ms() + (timeout_ms > 0 ? timeout_ms : c->timeout_ms);
}

void onl_ctl_sanitize(char *s)
{
    for (; s != NULL && *s != '\0'; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch < 0x20 || ch > 0x7e)
            *s = '?';
    }
}

static char *xstrdup(const char *s)
{
    return s == NULL ? NULL : strdup(s);
}

void onl_ctl_opts_init(onl_ctl_opts *o)
{
    const char *env = getenv(ONL_CTL_ENV_SOCKET);

    memset(o, 0, sizeof(*o));
    o->socket_path = (env != NULL) ? env : ONL_CTL_DEFAULT_SOCK;
    o->host = ONL_CTL_DEFAULT_IP;
    o->port = ONL_CTL_DEFAULT_PORT;
    o->auth = ONL_AUTH_AUTO;
    o->timeout_ms = ONL_CTL_TIMEOUT_MS;
    o->max_reply = ONL_CTL_MAX_REPLY;
}

int onl_ctl_is_opt(const char *a)
{
    return strcmp(a, "-i") == 0 || strcmp(a, "--ip") == 0 || strcmp(a, "-p") == 0 ||
           strcmp(a, "--port") == 0 || strcmp(a, "-s") == 0 || strcmp(a, "--socket") == 0 ||
           strcmp(a, "--password-file") == 0;
}

int onl_ctl_opts_arg(onl_ctl_opts *o, int argc, char **argv, int *i, ob_diag *d)
{
    const char *a = argv[*i];
    const char *v;

    if (!onl_ctl_is_opt(a))
        return 0;
    if (*i + 1 >= argc) {
        ob_fail(d, OB_ERR_MALFORMED, "option %s needs a value", a);
        return -1;
    }
    v = argv[++*i];
    if (a[1] == 'i' || strcmp(a, "--ip") == 0) {
        o->host = v;
    } else if (a[1] == 'p' || strcmp(a, "--port") == 0) {
        char *end = NULL;
        long port = strtol(v, &end, 10);
        if (v[0] < '0' || v[0] > '9' || *end != '\0' || port < 1 || port > 65535) {
            ob_fail(d, OB_ERR_RANGE, "%s: port must be 1..65535", a);
            return -1;
        }
        o->port = (unsigned)port;
    } else if (a[1] == 's' || strcmp(a, "--socket") == 0) {
        o->socket_path = v;
    } else {
        o->password_file = v;
    }
    return 1;
}

void onl_ctl_reply_free(onl_ctl_reply *r)
{
    size_t i;

    if (r == NULL)
        return;
    for (i = 0; i < r->n; i++) {
        free(r->lines[i].text);
        free(r->lines[i].data);
    }
    free(r->lines);
    memset(r, 0, sizeof(*r));
}

void onl_ctl_event_free(onl_ctl_event *ev)
{
    if (ev == NULL)
        return;
    free(ev->text);
    free(ev->body);
    free(ev);
}

/* ---- connection ------------------------------------------------------ */

static void drop_conn(onl_ctl *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->in_off = c->in_len = 0;
}

static int set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);

    return (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) ? -1 : 0;
}

/* Wait for fd to become ready for ev; 1 ready, 0 timeout, -1 error. */
static int wait_fd(int fd, short ev, int64_t deadline)
{
    for (;;) {
        struct pollfd p = { fd, ev, 0 };
        int64_t left = deadline - now_ms();
        int r;

        /* A deadline already reached still gets one non-blocking look, so a
         * zero timeout means "only what is there now". */
        if (left < 0)
            left = 0;
        r = poll(&p, 1, left > 60000 ? 60000 : (int)left);
        if (r > 0)
            return 1;
        if (r < 0 && errno != EINTR)
            return -1;
        if (r == 0 && (left == 0 || now_ms() >= deadline))
            return 0;
    }
}

static int connect_unix(const char *path, char *err, size_t errlen)
{
    struct sockaddr_un sa;
    int fd = -1;

    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sa.sun_path)) {
        snprintf(err, errlen, "unix:%s: path too long", path);
        return -1;
    }
    memcpy(sa.sun_path, path, strlen(path));
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || set_nonblock(fd) != 0) {
        snprintf(err, errlen, "unix:%s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static int connect_tcp(const char *host, unsigned port, int64_t deadline, char *err, size_t errlen)
{
    struct addrinfo hints, *ai = NULL;
    char portstr[8];
    int fd = -1, rc, soerr = 0;
    socklen_t sl = sizeof(soerr);

    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    /* An address, never a name: no resolver traffic leaves this machine. */
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
    snprintf(portstr, sizeof(portstr), "%u", port);
    rc = getaddrinfo(host, portstr, &hints, &ai);
    if (rc != 0) {
        snprintf(err, errlen, "%s:%u: not a numeric address (%s)", host, port, gai_strerror(rc));
        return -1;
    }
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || set_nonblock(fd) != 0)
        goto fail;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        if (errno != EINPROGRESS)
            goto fail;
        rc = wait_fd(fd, POLLOUT, deadline);
        if (rc == 0) {
            errno = ETIMEDOUT;
            goto fail;
        }
        if (rc < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
            goto fail;
        if (soerr != 0) {
            errno = soerr;
            goto fail;
        }
    }
    freeaddrinfo(ai);
    return fd;
fail:
    snprintf(err, errlen, "%s:%u: %s", host, port, strerror(errno));
    if (fd >= 0)
        close(fd);
    freeaddrinfo(ai);
    return -1;
}

/* ---- reading --------------------------------------------------------- */

/* Read more input.  OB_ERR_NET on EOF/error/timeout (*timed_out says which). */
static ob_err fill(onl_ctl *c, int64_t deadline, const char *what, int *timed_out, ob_diag *d)
{
    ssize_t n;

    *timed_out = 0;
    if (c->fd < 0)
        return ob_fail(d, OB_ERR_NET, "not connected to tor");
    if (c->in_off > 0) {
        memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
        c->in_len -= c->in_off;
        c->in_off = 0;
    }
    for (;;) {
        int r = wait_fd(c->fd, POLLIN, deadline);
        if (r == 0) {
            *timed_out = 1;
            return ob_fail(d, OB_ERR_NET, "tor did not answer within the time limit (%s)", what);
        }
        if (r < 0)
            return ob_fail(d, OB_ERR_NET, "poll on the control connection: %s", strerror(errno));
        n = read(c->fd, c->in + c->in_len, IN_CAP - c->in_len);
        if (n > 0) {
            c->in_len += (size_t)n;
            return OB_OK;
        }
        if (n == 0)
            return ob_fail(d, OB_ERR_NET, "tor closed the control connection (%s)", what);
        if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)
            return ob_fail(d, OB_ERR_NET, "reading from tor: %s", strerror(errno));
    }
}

/*
 * Next CRLF-terminated line.  *line is valid until the next call.  Refuses
 * lines over ONL_CTL_MAX_LINE, NULs and CRs that are not part of CRLF.
 */
static ob_err get_line(onl_ctl *c, int64_t deadline, const char *what, const char **line,
                       size_t *len, int *timed_out, ob_diag *d)
{
    *timed_out = 0;
    for (;;) {
        const uint8_t *start = c->in + c->in_off;
        size_t avail = c->in_len - c->in_off;
        const uint8_t *nl = memchr(start, '\n', avail);
        ob_err e;

        if (nl != NULL) {
            size_t n = (size_t)(nl - start);
            if (n == 0 || start[n - 1] != '\r')
                return ob_fail(d, OB_ERR_MALFORMED, "tor sent a line not ending in CRLF (%s)",
                               what);
            n--;
            if (n > ONL_CTL_MAX_LINE)
                return ob_fail(d, OB_ERR_RANGE, "tor sent a line over %u bytes (%s)",
                               ONL_CTL_MAX_LINE, what);
            if (memchr(start, '\0', n) != NULL || memchr(start, '\r', n) != NULL)
                return ob_fail(d, OB_ERR_MALFORMED, "tor sent a NUL or stray CR (%s)", what);
            *line = (const char *)start;
            *len = n;
            c->in_off += n + 2;
            return OB_OK;
        }
        if (avail > ONL_CTL_MAX_LINE + 1)
            return ob_fail(d, OB_ERR_RANGE, "tor sent a line over %u bytes (%s)", ONL_CTL_MAX_LINE,
                           what);
        e = fill(c, deadline, what, timed_out, d);
        if (e != OB_OK)
            return e;
    }
}

static int line_add(onl_ctl_reply *r, int code, char sep, const char *text, size_t n)
{
    onl_ctl_line *nl = realloc(r->lines, (r->n + 1) * sizeof(*nl));

    if (nl == NULL)
        return -1;
    r->lines = nl;
    memset(&nl[r->n], 0, sizeof(*nl));
    nl[r->n].text = malloc(n + 1);
    if (nl[r->n].text == NULL)
        return -1;
    memcpy(nl[r->n].text, text, n);
    nl[r->n].text[n] = '\0';
    nl[r->n].text_len = n;
    nl[r->n].code = code;
    nl[r->n].sep = sep;
    r->n++;
    return 0;
}

/*
 * Read one whole message into r.  *started is set once its first line has
 * been consumed: a timeout before that leaves the stream in step.
 */
static ob_err read_message(onl_ctl *c, int64_t deadline, const char *what, onl_ctl_reply *r,
                           int *started, int *timed_out, ob_diag *d)
{
    size_t total = 0;
    ob_buf data;
    ob_err e = OB_OK;

    ob_buf_init(&data);
    *started = 0;
    for (;;) {
        const char *line = NULL;
        size_t n = 0;
        int code;
        char sep;

        e = get_line(c, deadline, what, &line, &n, timed_out, d);
        if (e != OB_OK)
            goto out;
        if (n < 4 || line[0] < '1' || line[0] > '6' || line[1] < '0' || line[1] > '9' ||
            line[2] < '0' || line[2] > '9' ||
            (line[3] != '-' && line[3] != '+' && line[3] != ' ')) {
            e = ob_fail(d, OB_ERR_MALFORMED, "tor sent a line without a status code (%s)", what);
            goto out;
        }
        code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
        sep = line[3];
        /* Events come between replies, never inside one. */
        if (r->n > 0 && (code == 650) != (r->lines[0].code == 650)) {
            e = ob_fail(d, OB_ERR_MALFORMED, "tor mixed an event into a reply (%s)", what);
            goto out;
        }
        total += n + sizeof(onl_ctl_line);
        if (total > c->max_reply) {
            e = ob_fail(d, OB_ERR_RANGE, "tor's reply exceeds %zu bytes (%s)", c->max_reply, what);
            goto out;
        }
        if (line_add(r, code, sep, line + 4, n - 4) != 0) {
            e = ob_fail(d, OB_ERR_NOMEM, "out of memory reading tor's reply");
            goto out;
        }
        *started = 1;
        if (sep == '+') {
            for (;;) {
                e = get_line(c, deadline, what, &line, &n, timed_out, d);
                if (e != OB_OK)
                    goto out;
                if (n == 1 && line[0] == '.')
                    break;
                if (n > 0 && line[0] == '.') { /* dot-stuffed */
                    line++;
                    n--;
                }
                total += n + 1;
                if (total > c->max_reply) {
                    e = ob_fail(d, OB_ERR_RANGE, "tor's reply exceeds %zu bytes (%s)", c->max_reply,
                                what);
                    goto out;
                }
                ob_buf_put(&data, line, n);
                ob_buf_put_u8(&data, '\n');
            }
            ob_buf_nul(&data);
            if (!ob_buf_ok(&data)) {
                e = ob_fail(d, OB_ERR_NOMEM, "out of memory reading tor's reply");
                goto out;
            }
            r->lines[r->n - 1].data_len = data.len;
            r->lines[r->n - 1].data = (char *)ob_buf_detach(&data, NULL);
            if (r->lines[r->n - 1].data == NULL) {
                e = ob_fail(d, OB_ERR_NOMEM, "out of memory reading tor's reply");
                goto out;
            }
        } else if (sep == ' ') {
            r->code = code;
            goto out;
        }
    }
out:
    ob_buf_free(&data);
    if (e != OB_OK)
        onl_ctl_reply_free(r);
    return e;
}

/* ---- events ---------------------------------------------------------- */

static int is_upper_word(const char *s, size_t n, size_t max)
{
    size_t i;

    if (n == 0 || n > max)
        return 0;
    for (i = 0; i < n; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return 0;
    return 1;
}

static int is_b32(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '2' && s[i] <= '7')))
            return 0;
    return 1;
}

int onl_ctl_is_v3addr(const char *s)
{
    return s != NULL && strlen(s) == 56 && is_b32(s, 56);
}

static int is_hex(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
              (s[i] >= 'A' && s[i] <= 'F')))
            return 0;
    return 1;
}

static void copy_tok(char *out, const char *s, size_t n)
{
    memcpy(out, s, n);
    out[n] = '\0';
}

static int parse_address(onl_ctl_event *ev, const char *s, size_t n)
{
    if (!((n == 7 && memcmp(s, "UNKNOWN", 7) == 0) || ((n == 56 || n == 16) && is_b32(s, n))))
        return -1;
    copy_tok(ev->address, s, n);
    return 0;
}

/* "$FP", "$FP~nick", "$FP=nick" or "UNKNOWN". */
static int parse_hsdir(onl_ctl_event *ev, const char *s, size_t n)
{
    size_t i;

    if (n == 7 && memcmp(s, "UNKNOWN", 7) == 0)
        return 0;
    if (n < 41 || s[0] != '$' || !is_hex(s + 1, 40))
        return -1;
    for (i = 0; i < 40; i++) {
        char ch = s[1 + i];
        ev->hsdir[i] = (ch >= 'a' && ch <= 'f') ? (char)(ch - 'a' + 'A') : ch;
    }
    ev->hsdir[40] = '\0';
    if (n == 41)
        return 0;
    if ((s[41] != '~' && s[41] != '=') || n - 42 < 1 || n - 42 > 19)
        return -1;
    for (i = 42; i < n; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
              (s[i] >= '0' && s[i] <= '9')))
            return -1;
    copy_tok(ev->hsdir_nick, s + 42, n - 42);
    return 0;
}

static int parse_descid(onl_ctl_event *ev, const char *s, size_t n)
{
    size_t i;

    if (n == 0 || n >= sizeof(ev->descid))
        return -1;
    for (i = 0; i < n; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '+' || s[i] == '/' || s[i] == '='))
            return -1;
    if (!(n == 7 && memcmp(s, "UNKNOWN", 7) == 0))
        copy_tok(ev->descid, s, n);
    return 0;
}

/* Split on single spaces; at most max tokens. */
static size_t tokenize(const char *s, size_t len, const char **tok, size_t *tlen, size_t max)
{
    size_t nt = 0, i = 0;

    while (i < len && nt < max) {
        size_t j = i;
        while (j < len && s[j] != ' ')
            j++;
        if (j == i)
            return SIZE_MAX; /* empty token: double space */
        tok[nt] = s + i;
        tlen[nt] = j - i;
        nt++;
        i = j + 1;
        if (j == len)
            break;
        if (i == len)
            return SIZE_MAX; /* trailing space */
    }
    if (i < len)
        return SIZE_MAX;
    return nt;
}

static const struct {
    const char *name;
    onl_hs_action a;
} actions[] = {
    { "REQUESTED", ONL_HSA_REQUESTED }, { "UPLOAD", ONL_HSA_UPLOAD },
    { "RECEIVED", ONL_HSA_RECEIVED },   { "UPLOADED", ONL_HSA_UPLOADED },
    { "IGNORE", ONL_HSA_IGNORE },       { "FAILED", ONL_HSA_FAILED },
    { "CREATED", ONL_HSA_CREATED },
};

static ob_err parse_hs_desc(onl_ctl_event *ev, const char *text, size_t len, ob_diag *d)
{
    const char *tok[16];
    size_t tl[16], nt, i, k;

    nt = tokenize(text, len, tok, tl, 16);
    if (nt == SIZE_MAX || nt < 5)
        return ob_fail(d, OB_ERR_MALFORMED, "HS_DESC event: expected at least 4 fields");
    if (!is_upper_word(tok[1], tl[1], sizeof(ev->action_str) - 1))
        return ob_fail(d, OB_ERR_MALFORMED, "HS_DESC event: bad action");
    copy_tok(ev->action_str, tok[1], tl[1]);
    for (k = 0; k < sizeof(actions) / sizeof(actions[0]); k++)
        if (strcmp(ev->action_str, actions[k].name) == 0)
            ev->action = actions[k].a;
    if (parse_address(ev, tok[2], tl[2]) != 0)
        return ob_fail(d, OB_ERR_MALFORMED, "HS_DESC event: bad onion address");
    if (!is_upper_word(tok[3], tl[3], sizeof(ev->authtype) - 1))
        return ob_fail(d, OB_ERR_MALFORMED, "HS_DESC event: bad auth type");
    copy_tok(ev->authtype, tok[3], tl[3]);
    if (parse_hsdir(ev, tok[4], tl[4]) != 0)
        return ob_fail(d, OB_ERR_MALFORMED, "HS_DESC event: bad HSDir field");
    i = 5;
    if (i < nt && memchr(tok[i], '=', tl[i]) == NULL) {
        if (parse_descid(ev, tok[i], tl[i]) != 0)
            return ob_fail(d, OB_ERR_MALFORMED, "HS_DESC event: bad descriptor id");
        i++;
    }
    for (; i < nt; i++) {
        const char *eq = memchr(tok[i], '=', tl[i]);
        size_t kl, vl;
        const char *v;

        if (eq == NULL || !is_upper_word(tok[i], (size_t)(eq - tok[i]), 31))
            return ob_fail(d, OB_ERR_MALFORMED, "HS_DESC event: field %zu is not KEY=VALUE", i);
        kl = (size_t)(eq - tok[i]);
        v = eq + 1;
        vl = tl[i] - kl - 1;
        if (kl == 6 && memcmp(tok[i], "REASON", 6) == 0) {
            if (!is_upper_word(v, vl, sizeof(ev->reason) - 1))
                return ob_fail(d, OB_ERR_MALFORMED, "HS_DESC event: bad REASON");
            copy_tok(ev->reason, v, vl);
        } else if (kl == 7 && memcmp(tok[i], "REPLICA", 7) == 0) {
            if (vl < 1 || vl > 2 || !(v[0] >= '0' && v[0] <= '9') ||
                (vl == 2 && !(v[1] >= '0' && v[1] <= '9')))
                return ob_fail(d, OB_ERR_MALFORMED, "HS_DESC event: bad REPLICA");
            ev->replica = (int)strtol(v, NULL, 10);
        } else if (kl == 11 && memcmp(tok[i], "HSDIR_INDEX", 11) == 0) {
            if (vl != 64 || ob_hex_decode(ev->hsdir_index, 32, v, 64) != 0)
                return ob_fail(d, OB_ERR_MALFORMED, "HS_DESC event: bad HSDIR_INDEX");
            ev->has_hsdir_index = 1;
        }
        /* Other keywords: newer tor; ignored. */
    }
    return OB_OK;
}

ob_err onl_ctl_event_parse(const onl_ctl_reply *r, onl_ctl_event *ev, ob_diag *d)
{
    const char *t;
    size_t n = 0;

    ev->replica = -1;
    if (r->n == 0 || r->lines[0].code != 650)
        return ob_fail(d, OB_ERR_INTERNAL, "not an event");
    t = r->lines[0].text;
    while (t[n] != '\0' && t[n] != ' ')
        n++;
    if (!is_upper_word(t, n, sizeof(ev->name) - 1))
        return ob_fail(d, OB_ERR_MALFORMED, "event with a bad name");
    copy_tok(ev->name, t, n);
    if (strcmp(ev->name, "HS_DESC") == 0) {
        ev->kind = ONL_EV_HS_DESC;
        if (r->n != 1)
            return ob_fail(d, OB_ERR_MALFORMED, "HS_DESC event spans %zu lines", r->n);
        return parse_hs_desc(ev, t, r->lines[0].text_len, d);
    }
    if (strcmp(ev->name, "HS_DESC_CONTENT") == 0) {
        const char *tok[4];
        size_t tl[4], nt;

        ev->kind = ONL_EV_HS_DESC_CONTENT;
        if (r->n != 2 || r->lines[0].sep != '+' || r->lines[0].data == NULL ||
            strcmp(r->lines[1].text, "OK") != 0)
            return ob_fail(d, OB_ERR_MALFORMED,
                           "HS_DESC_CONTENT event: expected a data block "
                           "and 650 OK");
        nt = tokenize(t, r->lines[0].text_len, tok, tl, 4);
        if (nt != 4)
            return ob_fail(d, OB_ERR_MALFORMED, "HS_DESC_CONTENT event: expected 3 fields");
        if (parse_address(ev, tok[1], tl[1]) != 0)
            return ob_fail(d, OB_ERR_MALFORMED, "HS_DESC_CONTENT event: bad onion address");
        if (parse_descid(ev, tok[2], tl[2]) != 0)
            return ob_fail(d, OB_ERR_MALFORMED, "HS_DESC_CONTENT event: bad descriptor id");
        if (parse_hsdir(ev, tok[3], tl[3]) != 0)
            return ob_fail(d, OB_ERR_MALFORMED, "HS_DESC_CONTENT event: bad HSDir field");
        return OB_OK;
    }
    ev->kind = ONL_EV_OTHER;
    return OB_OK;
}

/* Turn a 650 message into an event (never fails for bad fields: flags it). */
static onl_ctl_event *event_from(onl_ctl_reply *r)
{
    onl_ctl_event *ev = calloc(1, sizeof(*ev));

    if (ev == NULL)
        return NULL;
    if (onl_ctl_event_parse(r, ev, NULL) != OB_OK)
        ev->malformed = 1;
    ev->text = r->lines[0].text; /* ownership moves */
    r->lines[0].text = NULL;
    if (ev->kind == ONL_EV_HS_DESC_CONTENT && !ev->malformed) {
        ev->body = r->lines[0].data;
        ev->body_len = r->lines[0].data_len;
        r->lines[0].data = NULL;
        /* Tor's write_escaped_data ends every block with CRLF, so empty
         * content (a failed fetch: tor passes NULL, made "") arrives as
         * one empty line, "\r\n.\r\n".  That is no descriptor. */
        if (ev->body_len == 1 && ev->body[0] == '\n') {
            ev->body[0] = '\0';
            ev->body_len = 0;
        }
    }
    return ev;
}

static size_t event_size(const onl_ctl_event *ev)
{
    return sizeof(*ev) + (ev->text ? strlen(ev->text) : 0) + ev->body_len;
}

static void enqueue(onl_ctl *c, onl_ctl_reply *r)
{
    onl_ctl_event *ev = event_from(r);
    size_t sz;

    onl_ctl_reply_free(r);
    if (ev == NULL) {
        c->dropped++;
        return;
    }
    sz = event_size(ev);
    if (c->q_n >= ONL_CTL_MAX_QUEUED || c->q_bytes + sz > ONL_CTL_MAX_QUEUED_B) {
        c->dropped++;
        onl_ctl_event_free(ev);
        return;
    }
    if (c->q_n == c->q_cap) {
        size_t ncap = c->q_cap ? c->q_cap * 2 : 16, i;
        onl_ctl_event **nq = malloc(ncap * sizeof(*nq));
        if (nq == NULL) {
            c->dropped++;
            onl_ctl_event_free(ev);
            return;
        }
        for (i = 0; i < c->q_n; i++)
            nq[i] = c->q[(c->q_head + i) % c->q_cap];
        free(c->q);
        c->q = nq;
        c->q_cap = ncap;
        c->q_head = 0;
    }
    c->q[(c->q_head + c->q_n) % c->q_cap] = ev;
    c->q_n++;
    c->q_bytes += sz;
}

static onl_ctl_event *dequeue(onl_ctl *c)
{
    onl_ctl_event *ev;

    if (c->q_n == 0)
        return NULL;
    ev = c->q[c->q_head];
    c->q_head = (c->q_head + 1) % c->q_cap;
    c->q_n--;
    c->q_bytes -= event_size(ev);
    return ev;
}

/* ---- commands -------------------------------------------------------- */

/*
 * The connection cannot be used any more (gone, timed out, or tor broke the
 * protocol): close it and report OB_ERR_NET whatever the cause (the diag
 * keeps the detail), so every caller handles it one way, by reconnecting.
 * Only a failed allocation keeps its own code: retrying will not help.
 */
static ob_err conn_lost(onl_ctl *c, ob_err e)
{
    drop_conn(c);
    return e == OB_ERR_NOMEM ? e : OB_ERR_NET;
}

static ob_err send_all(onl_ctl *c, const uint8_t *p, size_t n, int64_t deadline, ob_diag *d)
{
    while (n > 0) {
        ssize_t w;
        int r = wait_fd(c->fd, POLLOUT, deadline);
        if (r == 0)
            return ob_fail(d, OB_ERR_NET, "tor did not accept our command within the time limit");
        if (r < 0)
            return ob_fail(d, OB_ERR_NET, "poll on the control connection: %s", strerror(errno));
        /* MSG_NOSIGNAL: a tor that went away must not kill us with SIGPIPE. */
        w = send(c->fd, p, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
                continue;
            return ob_fail(d, OB_ERR_NET, "writing to tor: %s", strerror(errno));
        }
        p += w;
        n -= (size_t)w;
    }
    return OB_OK;
}

/* Send bytes (already framed), then wait for the reply, queueing events. */
static ob_err transact(onl_ctl *c, const uint8_t *p, size_t n, const char *what,
                       onl_ctl_reply *reply, int timeout_ms, ob_diag *d)
{
    int64_t deadline = deadline_in(c, timeout_ms);
    ob_err e;

    if (c->fd < 0)
        return ob_fail(d, OB_ERR_NET, "not connected to tor");
    e = send_all(c, p, n, deadline, d);
    if (e != OB_OK)
        goto fail;
    for (;;) {
        onl_ctl_reply m = { 0 };
        int started, timed_out;

        e = read_message(c, deadline, what, &m, &started, &timed_out, d);
        if (e != OB_OK)
            goto fail;
        if (m.lines[0].code == 650) {
            enqueue(c, &m);
            continue;
        }
        *reply = m;
        c->last_code = m.code;
        return OB_OK;
    }
fail:
    /* The stream is out of step (or gone): a late reply must not be taken
     * for the answer to the next command. */
    return conn_lost(c, e);
}

static int cmd_ok(const char *cmd)
{
    return strpbrk(cmd, "\r\n") == NULL;
}

ob_err onl_ctl_command(onl_ctl *c, const char *cmd, onl_ctl_reply *reply, int timeout_ms,
                       ob_diag *d)
{
    ob_buf b;
    ob_err e;
    char what[48];

    if (!cmd_ok(cmd) || strlen(cmd) > ONL_CTL_MAX_LINE)
        return ob_fail(d, OB_ERR_INTERNAL, "control command holds CR/LF or is too long");
    snprintf(what, sizeof(what), "%.40s", cmd);
    ob_buf_init(&b);
    ob_buf_put_str(&b, cmd);
    ob_buf_put(&b, "\r\n", 2);
    if (!ob_buf_ok(&b)) {
        ob_buf_free(&b);
        return ob_fail(d, OB_ERR_NOMEM, "out of memory");
    }
    e = transact(c, b.p, b.len, what, reply, timeout_ms, d);
    ob_buf_free(&b);
    return e;
}

/* Dot-stuff data with CRLF line ends, then ".\r\n".  CR only before LF. */
static ob_err put_data(ob_buf *b, const uint8_t *p, size_t n, ob_diag *d)
{
    size_t i = 0;

    while (i < n) {
        size_t j = i;
        while (j < n && p[j] != '\n')
            j++;
        size_t end = j;
        if (end > i && p[end - 1] == '\r')
            end--;
        if (memchr(p + i, '\0', end - i) != NULL || memchr(p + i, '\r', end - i) != NULL)
            return ob_fail(d, OB_ERR_MALFORMED,
                           "data to send holds a NUL or stray CR at offset "
                           "%zu",
                           i);
        if (end > i && p[i] == '.')
            ob_buf_put_u8(b, '.');
        ob_buf_put(b, p + i, end - i);
        ob_buf_put(b, "\r\n", 2);
        i = j + 1;
    }
    ob_buf_put(b, ".\r\n", 3);
    return OB_OK;
}

ob_err onl_ctl_command_data(onl_ctl *c, const char *cmd, const void *data, size_t len,
                            onl_ctl_reply *reply, int timeout_ms, ob_diag *d)
{
    ob_buf b;
    ob_err e;
    char what[48];

    if (!cmd_ok(cmd) || cmd[0] != '+' || strlen(cmd) > ONL_CTL_MAX_LINE)
        return ob_fail(d, OB_ERR_INTERNAL,
                       "multi-line command must start with '+' and hold "
                       "no CR/LF");
    if (len > MAX_DESC_LEN)
        return ob_fail(d, OB_ERR_RANGE, "data of %zu bytes is over the %u limit", len,
                       MAX_DESC_LEN);
    snprintf(what, sizeof(what), "%.40s", cmd);
    ob_buf_init(&b);
    ob_buf_put_str(&b, cmd);
    ob_buf_put(&b, "\r\n", 2);
    e = put_data(&b, data, len, d);
    if (e == OB_OK && !ob_buf_ok(&b))
        e = ob_fail(d, OB_ERR_NOMEM, "out of memory");
    if (e == OB_OK)
        e = transact(c, b.p, b.len, what, reply, timeout_ms, d);
    ob_buf_free(&b);
    return e;
}

/* Turn a non-2xx reply into OB_ERR_REFUSED naming tor's message. */
static ob_err reply_status(const onl_ctl_reply *r, const char *what, ob_diag *d)
{
    if (r->code >= 200 && r->code < 300)
        return OB_OK;
    return ob_fail(d, OB_ERR_REFUSED, "%s: tor answered %d %s", what, r->code,
                   r->n ? r->lines[r->n - 1].text : "");
}

const char *onl_ctl_reply_value(const onl_ctl_reply *r, const char *key, size_t *len)
{
    size_t i, kl = strlen(key);

    for (i = 0; i < r->n; i++) {
        const onl_ctl_line *l = &r->lines[i];
        if (l->text_len > kl && memcmp(l->text, key, kl) == 0 && l->text[kl] == '=') {
            if (l->sep == '+') {
                if (l->text_len != kl + 1 || l->data == NULL)
                    return NULL;
                if (len)
                    *len = l->data_len;
                return l->data;
            }
            if (len)
                *len = l->text_len - kl - 1;
            return l->text + kl + 1;
        }
    }
    return NULL;
}

static int key_ok(const char *k)
{
    size_t n = strlen(k), i;

    if (n == 0 || n > 4096)
        return 0;
    for (i = 0; i < n; i++)
        if (k[i] <= ' ' || k[i] > '~' || k[i] == '"')
            return 0;
    return 1;
}

ob_err onl_ctl_getinfo(onl_ctl *c, const char *key, char **value, size_t *len, ob_diag *d)
{
    onl_ctl_reply r = { 0 };
    char *cmd = NULL;
    const char *v;
    size_t vl = 0;
    ob_err e;

    *value = NULL;
    if (!key_ok(key))
        return ob_fail(d, OB_ERR_INTERNAL, "GETINFO key holds spaces or control bytes");
    cmd = malloc(strlen(key) + 9);
    if (cmd == NULL)
        return ob_fail(d, OB_ERR_NOMEM, "out of memory");
    snprintf(cmd, strlen(key) + 9, "GETINFO %s", key);
    e = onl_ctl_command(c, cmd, &r, 0, d);
    if (e != OB_OK)
        goto out;
    e = reply_status(&r, "GETINFO", d);
    if (e != OB_OK)
        goto out;
    v = onl_ctl_reply_value(&r, key, &vl);
    if (v == NULL) {
        e = ob_fail(d, OB_ERR_MALFORMED, "GETINFO %.64s: tor's reply does not carry the key", key);
        goto out;
    }
    *value = malloc(vl + 1);
    if (*value == NULL) {
        e = ob_fail(d, OB_ERR_NOMEM, "out of memory");
        goto out;
    }
    memcpy(*value, v, vl);
    (*value)[vl] = '\0';
    if (len)
        *len = vl;
out:
    free(cmd);
    onl_ctl_reply_free(&r);
    return e;
}

ob_err onl_ctl_setevents(onl_ctl *c, const char *events, ob_diag *d)
{
    onl_ctl_reply r = { 0 };
    ob_buf b;
    ob_err e;
    char *copy = NULL;
    size_t i;

    for (i = 0; events[i] != '\0'; i++)
        if (!((events[i] >= 'A' && events[i] <= 'Z') || events[i] == '_' || events[i] == ' '))
            return ob_fail(d, OB_ERR_INTERNAL, "SETEVENTS: bad event list");
    ob_buf_init(&b);
    ob_buf_put_str(&b, "SETEVENTS");
    if (events[0] != '\0') {
        ob_buf_put_u8(&b, ' ');
        ob_buf_put_str(&b, events);
    }
    ob_buf_nul(&b);
    if (!ob_buf_ok(&b) || (copy = strdup(events)) == NULL) {
        e = ob_fail(d, OB_ERR_NOMEM, "out of memory");
        goto out;
    }
    e = onl_ctl_command(c, (const char *)b.p, &r, 0, d);
    if (e == OB_OK)
        e = reply_status(&r, "SETEVENTS", d);
    if (e == OB_OK) {
        free(c->events);
        c->events = copy;
        copy = NULL;
    }
out:
    free(copy);
    ob_buf_free(&b);
    onl_ctl_reply_free(&r);
    return e;
}

static int server_ok(const char *s)
{
    if (s[0] == '$')
        s++;
    return strlen(s) == 40 && is_hex(s, 40);
}

static ob_err put_servers(ob_buf *b, const char *const *servers, size_t n, ob_diag *d)
{
    size_t i;

    for (i = 0; i < n; i++) {
        const char *s = servers[i];
        if (s == NULL || !server_ok(s))
            return ob_fail(d, OB_ERR_MALFORMED, "HSDir %zu is not a 40-hex fingerprint", i);
        ob_buf_put_str(b, " SERVER=$");
        ob_buf_put_str(b, s[0] == '$' ? s + 1 : s);
    }
    return OB_OK;
}

ob_err onl_ctl_hsfetch(onl_ctl *c, const char *addr56, const char *const *servers, size_t n,
                       ob_diag *d)
{
    onl_ctl_reply r = { 0 };
    ob_buf b;
    ob_err e;

    if (!onl_ctl_is_v3addr(addr56))
        return ob_fail(d, OB_ERR_MALFORMED,
                       "HSFETCH: not a v3 onion address (56 base32 chars "
                       "without .onion)");
    ob_buf_init(&b);
    ob_buf_put_str(&b, "HSFETCH ");
    ob_buf_put_str(&b, addr56);
    e = put_servers(&b, servers, n, d);
    ob_buf_nul(&b);
    if (e == OB_OK && !ob_buf_ok(&b))
        e = ob_fail(d, OB_ERR_NOMEM, "out of memory");
    if (e == OB_OK)
        e = onl_ctl_command(c, (const char *)b.p, &r, 0, d);
    if (e == OB_OK)
        e = reply_status(&r, "HSFETCH", d);
    ob_buf_free(&b);
    onl_ctl_reply_free(&r);
    return e;
}

ob_err onl_ctl_hspost(onl_ctl *c, const void *desc, size_t len, const char *const *servers,
                      size_t n, const char *hsaddress56, ob_diag *d)
{
    onl_ctl_reply r = { 0 };
    ob_buf b;
    ob_err e;

    if (!onl_ctl_is_v3addr(hsaddress56))
        return ob_fail(d, OB_ERR_MALFORMED, "HSPOST: HSADDRESS is not a v3 onion address");
    ob_buf_init(&b);
    ob_buf_put_str(&b, "+HSPOST");
    e = put_servers(&b, servers, n, d);
    ob_buf_put_str(&b, " HSADDRESS=");
    ob_buf_put_str(&b, hsaddress56);
    ob_buf_nul(&b);
    if (e == OB_OK && !ob_buf_ok(&b))
        e = ob_fail(d, OB_ERR_NOMEM, "out of memory");
    if (e == OB_OK)
        e = onl_ctl_command_data(c, (const char *)b.p, desc, len, &r, 0, d);
    if (e == OB_OK)
        e = reply_status(&r, "HSPOST", d);
    ob_buf_free(&b);
    onl_ctl_reply_free(&r);
    return e;
}

ob_err onl_ctl_next_event(onl_ctl *c, onl_ctl_event **ev, int timeout_ms, ob_diag *d)
{
    int64_t deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    ob_err e;

    *ev = dequeue(c);
    if (*ev != NULL)
        return OB_OK;
    if (c->fd < 0)
        return ob_fail(d, OB_ERR_NET, "not connected to tor");
    for (;;) {
        onl_ctl_reply m = { 0 };
        int started = 0, timed_out = 0;

        e = read_message(c, deadline, "waiting for events", &m, &started, &timed_out, d);
        if (e != OB_OK) {
            if (timed_out && !started)
                return OB_OK; /* nothing came: *ev stays NULL */
            return conn_lost(c, e);
        }
        if (m.lines[0].code != 650) {
            onl_ctl_reply_free(&m);
            return conn_lost(c, ob_fail(d, OB_ERR_MALFORMED, "tor sent a reply nobody asked for"));
        }
        enqueue(c, &m);
        *ev = dequeue(c);
        if (*ev != NULL)
            return OB_OK;
        /* dropped (queue full or no memory): keep waiting */
    }
}

/* ---- strings in replies ---------------------------------------------- */

ob_err onl_ctl_unquote(const char *in, size_t n, char *out, size_t outmax, size_t *used, ob_diag *d)
{
    size_t i = 1, o = 0;

    if (n == 0 || in[0] != '"' || outmax == 0)
        return ob_fail(d, OB_ERR_MALFORMED, "expected a quoted string");
    while (i < n && in[i] != '"') {
        char ch = in[i++];
        if (ch == '\\') {
            if (i >= n)
                break;
            ch = in[i++];
            switch (ch) {
            case 'n':
                ch = '\n';
                break;
            case 't':
                ch = '\t';
                break;
            case 'r':
                ch = '\r';
                break;
            case '0':
            case '1':
            case '2':
            case '3': {
                /* C-string octal escape: exactly three digits (tor's esc_for_log). */
                int v = ch - '0', k;
                for (k = 0; k < 2; k++) {
                    if (i >= n || in[i] < '0' || in[i] > '7')
                        return ob_fail(d, OB_ERR_MALFORMED, "bad octal escape at offset %zu", i);
                    v = v * 8 + (in[i++] - '0');
                }
                ch = (char)v;
                break;
            }
            case '"':
            case '\\':
            case '\'':
                break;
            default:
                return ob_fail(d, OB_ERR_MALFORMED, "unknown escape \\%c at offset %zu", ch, i - 1);
            }
        }
        if (ch == '\0')
            return ob_fail(d, OB_ERR_MALFORMED, "quoted string holds a NUL");
        if (o + 1 >= outmax)
            return ob_fail(d, OB_ERR_RANGE, "quoted string longer than %zu bytes", outmax - 1);
        out[o++] = ch;
    }
    if (i >= n)
        return ob_fail(d, OB_ERR_MALFORMED, "unterminated quoted string");
    out[o] = '\0';
    if (used)
        *used = i + 1;
    return OB_OK;
}

ob_err onl_ctl_kv(const char *line, const char *key, char *out, size_t outmax, ob_diag *d)
{
    size_t kl = strlen(key), n = strlen(line), i = 0;

    while (i < n) {
        size_t start = i;
        if (n - i > kl && memcmp(line + i, key, kl) == 0 && line[i + kl] == '=' &&
            (i == 0 || line[i - 1] == ' ')) {
            const char *v = line + i + kl + 1;
            size_t vn = n - (i + kl + 1), used = 0;
            if (vn > 0 && v[0] == '"') {
                ob_err e = onl_ctl_unquote(v, vn, out, outmax, &used, d);
                if (e == OB_OK && used < vn && v[used] != ' ')
                    return ob_fail(d, OB_ERR_MALFORMED, "%s=: junk after the closing quote", key);
                return e;
            }
            while (used < vn && v[used] != ' ')
                used++;
            if (used + 1 > outmax)
                return ob_fail(d, OB_ERR_RANGE, "%s= value longer than %zu bytes", key, outmax - 1);
            memcpy(out, v, used);
            out[used] = '\0';
            return OB_OK;
        }
        /* skip this token, honouring quotes */
        while (i < n && line[i] != ' ') {
            if (line[i] == '"') {
                i++;
                while (i < n && line[i] != '"') {
                    if (line[i] == '\\' && i + 1 < n)
                        i++;
                    i++;
                }
            }
            if (i < n)
                i++;
        }
        while (i < n && line[i] == ' ')
            i++;
        if (i == start)
            i++;
    }
    return ob_fail(d, OB_ERR_NOTFOUND, "%s= not present", key);
}

/* ---- authentication -------------------------------------------------- */

int onl_ctl_safecookie_hashes(const uint8_t cookie[32], const uint8_t cnonce[32],
                              const uint8_t snonce[32], uint8_t server_hash[32],
                              uint8_t client_hash[32])
{
    static const char skey[] = "Tor safe cookie authentication server-to-controller hash";
    static const char ckey[] = "Tor safe cookie authentication controller-to-server hash";
    ob_iov v[3] = { { cookie, 32 }, { cnonce, 32 }, { snonce, 32 } };

    if (ob_hmac_sha256(server_hash, skey, sizeof(skey) - 1, v, 3) != 0 ||
        ob_hmac_sha256(client_hash, ckey, sizeof(ckey) - 1, v, 3) != 0)
        return -1;
    return 0;
}

enum { M_NULL = 1, M_PASSWORD = 2, M_COOKIE = 4, M_SAFECOOKIE = 8 };

typedef struct pinfo {
    unsigned methods;
    char cookiefile[4096];
} pinfo;

static ob_err protocolinfo(onl_ctl *c, pinfo *pi, ob_diag *d)
{
    onl_ctl_reply r = { 0 };
    ob_err e;
    size_t i;
    char buf[256];

    memset(pi, 0, sizeof(*pi));
    e = onl_ctl_command(c, "PROTOCOLINFO 1", &r, c->timeout_ms, d);
    if (e != OB_OK)
        return e;
    e = reply_status(&r, "PROTOCOLINFO", d);
    if (e != OB_OK)
        goto out;
    for (i = 0; i < r.n; i++) {
        const char *t = r.lines[i].text;
        if (strncmp(t, "AUTH ", 5) == 0) {
            char *tok, *save = NULL;
            e = onl_ctl_kv(t + 5, "METHODS", buf, sizeof(buf), d);
            if (e != OB_OK) {
                ob_diag_prefix(d, "PROTOCOLINFO: ");
                goto out;
            }
            for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                if (strcmp(tok, "NULL") == 0)
                    pi->methods |= M_NULL;
                else if (strcmp(tok, "HASHEDPASSWORD") == 0)
                    pi->methods |= M_PASSWORD;
                else if (strcmp(tok, "COOKIE") == 0)
                    pi->methods |= M_COOKIE;
                else if (strcmp(tok, "SAFECOOKIE") == 0)
                    pi->methods |= M_SAFECOOKIE;
            }
            e = onl_ctl_kv(t + 5, "COOKIEFILE", pi->cookiefile, sizeof(pi->cookiefile), d);
            if (e == OB_ERR_NOTFOUND)
                pi->cookiefile[0] = '\0';
            else if (e != OB_OK) {
                ob_diag_prefix(d, "PROTOCOLINFO: ");
                goto out;
            }
            e = OB_OK;
        } else if (strncmp(t, "VERSION ", 8) == 0) {
            if (onl_ctl_kv(t + 8, "Tor", c->version, sizeof(c->version), NULL) != OB_OK)
                c->version[0] = '\0';
            onl_ctl_sanitize(c->version);
        }
    }
    if (pi->methods == 0)
        e = ob_fail(d, OB_ERR_UNSUPPORTED,
                    "PROTOCOLINFO: tor offers no authentication method "
                    "we know");
out:
    onl_ctl_reply_free(&r);
    return e;
}

/* Send a secret-bearing command from a secure buffer; expect 250. */
static ob_err auth_send(onl_ctl *c, ob_buf *cmd, const char *what, ob_diag *d)
{
    onl_ctl_reply r = { 0 };
    ob_err e;

    ob_buf_put(cmd, "\r\n", 2);
    if (!ob_buf_ok(cmd))
        return ob_fail(d, OB_ERR_NOMEM, "out of memory");
    e = transact(c, cmd->p, cmd->len, what, &r, c->timeout_ms, d);
    if (e == OB_OK && r.code != 250) {
        e = ob_fail(d, OB_ERR_REFUSED, "tor refused %s: %d %s", what, r.code,
                    r.n ? r.lines[r.n - 1].text : "");
        drop_conn(c); /* tor closes after a failed AUTHENTICATE anyway */
    }
    onl_ctl_reply_free(&r);
    return e;
}

static ob_err read_cookie(const char *path, uint8_t **cookie, ob_diag *d)
{
    size_t len = 0;
    ob_err e;

    *cookie = NULL;
    if (path[0] != '/')
        return ob_fail(d, OB_ERR_MALFORMED, "tor's COOKIEFILE is not an absolute path");
    e = ob_file_read_secret(path, 64, cookie, &len, d);
    if (e != OB_OK) {
        ob_diag_prefix(d, "control auth cookie: ");
        return e;
    }
    if (len != 32) {
        ob_secfree(*cookie);
        *cookie = NULL;
        return ob_fail(d, OB_ERR_MALFORMED, "control auth cookie %s: %zu bytes, expected 32", path,
                       len);
    }
    return OB_OK;
}

static ob_err auth_cookie(onl_ctl *c, const uint8_t *cookie, ob_diag *d)
{
    ob_buf cmd;
    char *hex = ob_secalloc(65);
    ob_err e;

    if (hex == NULL)
        return ob_fail(d, OB_ERR_NOMEM, "out of memory");
    ob_hex_encode(hex, cookie, 32);
    ob_buf_init_secure(&cmd);
    ob_buf_put_str(&cmd, "AUTHENTICATE ");
    ob_buf_put_str(&cmd, hex);
    e = auth_send(c, &cmd, "AUTHENTICATE (COOKIE)", d);
    ob_buf_free(&cmd);
    ob_secfree(hex);
    return e;
}

static ob_err auth_safecookie(onl_ctl *c, const uint8_t *cookie, const char *path, ob_diag *d)
{
    onl_ctl_reply r = { 0 };
    uint8_t cn[32], sn[32], sh[32];
    uint8_t *hashes = ob_secalloc(64); /* expected server hash | client hash */
    char *hex = ob_secalloc(65);
    char cmd[128], val[80];
    ob_buf auth;
    ob_err e;

    ob_buf_init_secure(&auth);
    if (hashes == NULL || hex == NULL) {
        e = ob_fail(d, OB_ERR_NOMEM, "out of memory");
        goto out;
    }
    ob_random(cn, sizeof(cn));
    ob_hex_encode(val, cn, 32);
    snprintf(cmd, sizeof(cmd), "AUTHCHALLENGE SAFECOOKIE %s", val);
    e = onl_ctl_command(c, cmd, &r, c->timeout_ms, d);
    if (e != OB_OK)
        goto out;
    if (r.code != 250 || r.n != 1 || strncmp(r.lines[0].text, "AUTHCHALLENGE ", 14) != 0) {
        e = ob_fail(d, OB_ERR_REFUSED, "AUTHCHALLENGE: tor answered %d %s", r.code,
                    r.n ? r.lines[r.n - 1].text : "");
        goto out;
    }
    if (onl_ctl_kv(r.lines[0].text + 14, "SERVERHASH", val, sizeof(val), NULL) != OB_OK ||
        strlen(val) != 64 || ob_hex_decode(sh, 32, val, 64) != 0 ||
        onl_ctl_kv(r.lines[0].text + 14, "SERVERNONCE", val, sizeof(val), NULL) != OB_OK ||
        strlen(val) != 64 || ob_hex_decode(sn, 32, val, 64) != 0) {
        e = ob_fail(d, OB_ERR_MALFORMED,
                    "AUTHCHALLENGE: SERVERHASH/SERVERNONCE missing or not "
                    "64 hex digits");
        goto out;
    }
    if (onl_ctl_safecookie_hashes(cookie, cn, sn, hashes, hashes + 32) != 0) {
        e = ob_fail(d, OB_ERR_CRYPTO, "HMAC-SHA256 failed");
        goto out;
    }
    if (ob_ct_memcmp(hashes, sh, 32) != 0) {
        e = ob_fail(d, OB_ERR_VERIFY,
                    "SAFECOOKIE: tor's SERVERHASH does not match the cookie "
                    "in %s; is this the tor that wrote it?",
                    path);
        drop_conn(c);
        goto out;
    }
    ob_hex_encode(hex, hashes + 32, 32);
    ob_buf_put_str(&auth, "AUTHENTICATE ");
    ob_buf_put_str(&auth, hex);
    e = auth_send(c, &auth, "AUTHENTICATE (SAFECOOKIE)", d);
out:
    onl_ctl_reply_free(&r);
    ob_buf_free(&auth);
    ob_secfree(hashes);
    ob_secfree(hex);
    ob_wipe(sh, sizeof(sh));
    return e;
}

/* The password: first line of the file, else the environment variable. */
static ob_err auth_password(onl_ctl *c, ob_diag *d)
{
    uint8_t *secret = NULL;
    size_t len = 0, n, i;
    char *hex = NULL;
    ob_buf cmd;
    ob_err e = OB_OK;
    const char *env = getenv(ONL_CTL_ENV_PASSWORD);

    ob_buf_init_secure(&cmd);
    if (c->password_file != NULL) {
        e = ob_file_read_secret(c->password_file, 4096, &secret, &len, d);
        if (e != OB_OK) {
            ob_diag_prefix(d, "control password file: ");
            goto out;
        }
    } else if (c->password != NULL || env != NULL) {
        const char *src = c->password != NULL ? c->password : env;
        len = strlen(src);
        secret = ob_secalloc(len + 1);
        if (secret == NULL) {
            e = ob_fail(d, OB_ERR_NOMEM, "out of memory");
            goto out;
        }
        memcpy(secret, src, len + 1);
    } else {
        e = ob_fail(d, OB_ERR_PASSPHRASE,
                    "tor wants a control password: give --password-file, "
                    "TOR_CONTROL_PASSWORD or " ONL_CTL_ENV_PASSWORD);
        goto out;
    }
    for (n = 0; n < len && secret[n] != '\n'; n++)
        ;
    if (n > 0 && secret[n - 1] == '\r')
        n--;
    for (i = 0; i < n; i++)
        if (secret[i] == '\0') {
            e = ob_fail(d, OB_ERR_MALFORMED, "control password holds a NUL byte");
            goto out;
        }
    hex = ob_secalloc(2 * n + 1);
    if (hex == NULL) {
        e = ob_fail(d, OB_ERR_NOMEM, "out of memory");
        goto out;
    }
    /* Hex, not a QuotedString: no escaping rules to get wrong. */
    ob_hex_encode(hex, secret, n);
    ob_buf_put_str(&cmd, "AUTHENTICATE ");
    ob_buf_put_str(&cmd, hex);
    e = auth_send(c, &cmd, "AUTHENTICATE (HASHEDPASSWORD)", d);
out:
    ob_buf_free(&cmd);
    ob_secfree(secret);
    ob_secfree(hex);
    return e;
}

static const char *method_names(unsigned m, char *buf, size_t n)
{
    snprintf(buf, n, "%s%s%s%s", (m & M_NULL) ? "NULL " : "",
             (m & M_SAFECOOKIE) ? "SAFECOOKIE " : "", (m & M_COOKIE) ? "COOKIE " : "",
             (m & M_PASSWORD) ? "HASHEDPASSWORD " : "");
    return buf;
}

static ob_err authenticate(onl_ctl *c, ob_diag *d)
{
    pinfo pi;
    uint8_t *cookie = NULL;
    ob_diag cd;
    ob_err e, ce = OB_ERR_NOTFOUND;
    char names[64];
    int have_pw =
        c->password_file != NULL || c->password != NULL || getenv(ONL_CTL_ENV_PASSWORD) != NULL;
    onl_auth m = c->auth;

    e = protocolinfo(c, &pi, d);
    if (e != OB_OK)
        return e;
    cd.msg[0] = '\0';
    if ((pi.methods & (M_COOKIE | M_SAFECOOKIE)) && pi.cookiefile[0] != '\0' &&
        (m == ONL_AUTH_AUTO || m == ONL_AUTH_COOKIE || m == ONL_AUTH_SAFECOOKIE))
        ce = read_cookie(pi.cookiefile, &cookie, &cd);
    if (m == ONL_AUTH_AUTO) {
        if (pi.methods & M_NULL)
            m = ONL_AUTH_NULL;
        else if ((pi.methods & M_SAFECOOKIE) && cookie != NULL)
            m = ONL_AUTH_SAFECOOKIE;
        else if ((pi.methods & M_COOKIE) && cookie != NULL)
            m = ONL_AUTH_COOKIE;
        else if ((pi.methods & M_PASSWORD) && have_pw)
            m = ONL_AUTH_PASSWORD;
        else if (pi.methods & M_PASSWORD)
            m = ONL_AUTH_PASSWORD; /* reports the missing password */
        else {
            e = ob_fail(d, ce == OB_OK ? OB_ERR_UNSUPPORTED : ce, "cannot authenticate to tor: %s",
                        cd.msg[0] ? cd.msg : "no usable method");
            goto out;
        }
    }
    switch (m) {
    case ONL_AUTH_NULL:
        if (!(pi.methods & M_NULL))
            goto not_offered;
        snprintf(c->method, sizeof(c->method), "NULL");
        {
            ob_buf cmd;
            ob_buf_init(&cmd);
            ob_buf_put_str(&cmd, "AUTHENTICATE");
            e = auth_send(c, &cmd, "AUTHENTICATE (NULL)", d);
            ob_buf_free(&cmd);
        }
        break;
    case ONL_AUTH_PASSWORD:
        if (!(pi.methods & M_PASSWORD))
            goto not_offered;
        snprintf(c->method, sizeof(c->method), "HASHEDPASSWORD");
        e = auth_password(c, d);
        break;
    case ONL_AUTH_COOKIE:
    case ONL_AUTH_SAFECOOKIE:
        if (!(pi.methods & (m == ONL_AUTH_COOKIE ? M_COOKIE : M_SAFECOOKIE)))
            goto not_offered;
        if (cookie == NULL) {
            e = ob_fail(d, ce, "%s", cd.msg[0] ? cd.msg : "tor did not name its cookie file");
            goto out;
        }
        snprintf(c->method, sizeof(c->method), "%s",
                 m == ONL_AUTH_COOKIE ? "COOKIE" : "SAFECOOKIE");
        e = m == ONL_AUTH_COOKIE ? auth_cookie(c, cookie, d)
                                 : auth_safecookie(c, cookie, pi.cookiefile, d);
        break;
    case ONL_AUTH_AUTO:
        e = ob_fail(d, OB_ERR_INTERNAL, "auth method unresolved");
        break;
    }
    goto out;
not_offered:
    e = ob_fail(d, OB_ERR_UNSUPPORTED,
                "tor does not offer that authentication method (it offers: "
                "%s)",
                method_names(pi.methods, names, sizeof(names)));
out:
    ob_secfree(cookie);
    return e;
}

/* ---- lifecycle ------------------------------------------------------- */

static onl_ctl *ctl_alloc(void)
{
    onl_ctl *c = calloc(1, sizeof(*c));

    if (c == NULL)
        return NULL;
    c->fd = -1;
    c->timeout_ms = ONL_CTL_TIMEOUT_MS;
    c->max_reply = ONL_CTL_MAX_REPLY;
    c->in = malloc(IN_CAP);
    if (c->in == NULL) {
        free(c);
        return NULL;
    }
    return c;
}

static ob_err connect_once(onl_ctl *c, ob_diag *d)
{
    int64_t deadline = deadline_in(c, 0);
    char e1[300] = "", e2[300] = "";
    int fd = -1;
    ob_err e;

    drop_conn(c);
    if (c->socket_path != NULL && c->socket_path[0] != '\0') {
        fd = connect_unix(c->socket_path, e1, sizeof(e1));
        if (fd >= 0)
            snprintf(c->endpoint, sizeof(c->endpoint), "unix:%.150s", c->socket_path);
    }
    if (fd < 0) {
        fd = connect_tcp(c->host, c->port, deadline, e2, sizeof(e2));
        if (fd >= 0)
            snprintf(c->endpoint, sizeof(c->endpoint), "%.100s:%u", c->host, c->port);
    }
    if (fd < 0)
        return ob_fail(d, OB_ERR_NET, "cannot reach tor's control port: %s%s%s", e1,
                       e1[0] ? "; " : "", e2);
    c->fd = fd;
    e = authenticate(c, d);
    if (e != OB_OK) {
        ob_diag_prefix(d, "%s: ", c->endpoint);
        drop_conn(c);
        return e;
    }
    c->generation++;
    if (c->events != NULL && c->events[0] != '\0') {
        char *ev = strdup(c->events);
        if (ev == NULL) {
            drop_conn(c);
            return ob_fail(d, OB_ERR_NOMEM, "out of memory");
        }
        e = onl_ctl_setevents(c, ev, d);
        free(ev);
        if (e != OB_OK)
            drop_conn(c);
    }
    return e;
}

ob_err onl_ctl_connect(const onl_ctl_opts *o, onl_ctl **out, ob_diag *d)
{
    onl_ctl *c = NULL;
    ob_err e;

    *out = NULL;
    if (o->host == NULL || o->port == 0 || o->port > 65535)
        return ob_fail(d, OB_ERR_RANGE, "control port must be 1..65535");
    c = ctl_alloc();
    if (c == NULL)
        return ob_fail(d, OB_ERR_NOMEM, "out of memory");
    c->socket_path = xstrdup(o->socket_path);
    c->host = xstrdup(o->host);
    c->password_file = xstrdup(o->password_file);
    if ((o->socket_path && !c->socket_path) || !c->host ||
        (o->password_file && !c->password_file)) {
        onl_ctl_close(c);
        return ob_fail(d, OB_ERR_NOMEM, "out of memory");
    }
    if (o->password != NULL) {
        size_t pl = strlen(o->password);
        c->password = ob_secalloc(pl + 1);
        if (c->password == NULL) {
            onl_ctl_close(c);
            return ob_fail(d, OB_ERR_NOMEM, "out of memory");
        }
        memcpy(c->password, o->password, pl + 1);
    }
    c->port = o->port;
    c->auth = o->auth;
    if (o->timeout_ms > 0)
        c->timeout_ms = o->timeout_ms;
    if (o->max_reply > 0)
        c->max_reply = o->max_reply;
    e = connect_once(c, d);
    if (e != OB_OK) {
        onl_ctl_close(c);
        return e;
    }
    *out = c;
    return OB_OK;
}

ob_err onl_ctl_from_fd(int fd, onl_ctl **out, ob_diag *d)
{
    onl_ctl *c = ctl_alloc();

    *out = NULL;
    if (c == NULL)
        return ob_fail(d, OB_ERR_NOMEM, "out of memory");
    if (set_nonblock(fd) != 0) {
        free(c->in);
        free(c);
        return ob_fail(d, OB_ERR_IO, "fcntl: %s", strerror(errno));
    }
    c->fd = fd;
    c->generation = 1;
    snprintf(c->endpoint, sizeof(c->endpoint), "fd:%d", fd);
    *out = c;
    return OB_OK;
}

ob_err onl_ctl_reconnect(onl_ctl *c, int max_wait_ms, ob_diag *d)
{
    int64_t end = now_ms() + (max_wait_ms > 0 ? max_wait_ms : 0);
    int backoff = 250;
    ob_err e;

    if (c->host == NULL)
        return ob_fail(d, OB_ERR_NET, "this connection cannot be re-established");
    for (;;) {
        int64_t left;
        e = connect_once(c, d);
        /* Wrong credentials or a tor that is not tor: waiting will not help. */
        if (e == OB_OK || e == OB_ERR_REFUSED || e == OB_ERR_VERIFY || e == OB_ERR_PASSPHRASE ||
            e == OB_ERR_UNSUPPORTED || e == OB_ERR_NOMEM)
            return e;
        left = end - now_ms();
        if (left <= 0)
            return e;
        {
            int64_t nap = backoff < left ? backoff : left;
            struct timespec ts = { (time_t)(nap / 1000), (long)(nap % 1000) * 1000000L };
            while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
                ;
        }
        if (backoff < 8000)
            backoff *= 2;
    }
}

void onl_ctl_close(onl_ctl *c)
{
    if (c == NULL)
        return;
    drop_conn(c);
    while (c->q_n > 0)
        onl_ctl_event_free(dequeue(c));
    free(c->q);
    free(c->in);
    free(c->socket_path);
    free(c->host);
    free(c->password_file);
    ob_secfree(c->password);
    free(c->events);
    free(c);
}

int onl_ctl_is_connected(const onl_ctl *c)
{
    return c->fd >= 0;
}

unsigned onl_ctl_generation(const onl_ctl *c)
{
    return c->generation;
}

const char *onl_ctl_endpoint(const onl_ctl *c)
{
    return c->endpoint;
}

const char *onl_ctl_auth_method(const onl_ctl *c)
{
    return c->method;
}

const char *onl_ctl_tor_version(const onl_ctl *c)
{
    return c->version;
}

int onl_ctl_last_code(const onl_ctl *c)
{
    return c->last_code;
}

size_t onl_ctl_events_dropped(const onl_ctl *c)
{
    return c->dropped;
}

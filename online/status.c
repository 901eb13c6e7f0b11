/*
 * status.c - OnionBalance-compatible status socket (status.h).
 */
#include "status.h"

#include "obtime.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static void put_time(ob_buf *b, uint64_t t)
{
    char s[OB_TIME_STR];

    /* 0 is "never"; a time past year 9999 is not shown as a (wrapped) date. */
    if (t == 0 || ob_time_format(s, sizeof(s), t, OB_TIME_PLAIN) != 0) {
        ob_buf_put_str(b, "null");
        return;
    }
    ob_buf_printf(b, "\"%s\"", s);
}

ob_err onl_status_json(const onl_status *s, ob_buf *out, ob_diag *d)
{
    size_t i, j;

    /* Addresses are base32 from the config: nothing to escape. */
    ob_buf_put_str(out, "{\"services\": [");
    for (i = 0; i < s->n_services; i++) {
        const onl_status_service *sv = &s->services[i];
        ob_buf_put_str(out, i ? ", {\"certifiedUntil\": " : "{\"certifiedUntil\": ");
        put_time(out, sv->certified_until);
        ob_buf_put_str(out, ", \"instances\": [");
        for (j = 0; j < sv->n_instances; j++) {
            const onl_status_instance *in = &sv->instances[j];
            if (j)
                ob_buf_put_str(out, ", ");
            if (in->intro_modified == 0) {
                ob_buf_printf(out, "{\"onionAddress\": \"%s.onion\", \"received\": ", in->address);
                put_time(out, in->received);
                ob_buf_put_str(out, "}");
                continue;
            }
            ob_buf_put_str(out, "{\"descriptorReceived\": ");
            put_time(out, in->received);
            ob_buf_printf(out, ", \"introPointsNum\": %u, \"introSetModified\": ", in->n_intro);
            put_time(out, in->intro_modified);
            ob_buf_printf(out, ", \"onionAddress\": \"%s.onion\"}", in->address);
        }
        ob_buf_printf(out, "], \"onionAddress\": \"%s.onion\", \"publishAttemptFirstDescriptor\": ",
                      sv->address);
        put_time(out, sv->publish_first);
        ob_buf_put_str(out, ", \"publishAttemptSecondDescriptor\": ");
        put_time(out, sv->publish_second);
        ob_buf_put_str(out, ", \"signedUntil\": ");
        put_time(out, sv->signed_until);
        ob_buf_put_str(out, "}");
    }
    ob_buf_put_str(out, "]}");
    if (!ob_buf_ok(out))
        return ob_fail(d, OB_ERR_NOMEM, "out of memory");
    return OB_OK;
}

static int fill_addr(struct sockaddr_un *sa, const char *path, ob_diag *d)
{
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sa->sun_path)) {
        ob_fail(d, OB_ERR_RANGE, "%s: socket path longer than %zu bytes", path,
                sizeof(sa->sun_path) - 1);
        return -1;
    }
    memcpy(sa->sun_path, path, strlen(path) + 1);
    return 0;
}

int onl_status_listen(const char *path, ob_diag *d)
{
    struct sockaddr_un sa;
    struct stat st;
    int fd = -1;

    if (fill_addr(&sa, path, d) != 0)
        return -1;
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            ob_fail(d, OB_ERR_EXISTS, "%s: exists and is not a socket; not removing it", path);
            return -1;
        }
        unlink(path); /* left by an earlier run, as OnionBalance cleans up */
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        ob_fail(d, OB_ERR_IO, "socket: %s", strerror(errno));
        return -1;
    }
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 16) != 0) {
        ob_fail(d, OB_ERR_IO, "%s: cannot listen: %s (does the folder exist? permissions?)", path,
                strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

void onl_status_serve(int fd, const onl_status *s)
{
    ob_buf b;
    int c;

    if (fd < 0)
        return;
    ob_buf_init(&b);
    while ((c = accept(fd, NULL, NULL)) >= 0) {
        size_t off = 0;
        (void)fcntl(c, F_SETFD, FD_CLOEXEC);
        if (b.len == 0 && onl_status_json(s, &b, NULL) != OB_OK) {
            close(c);
            break;
        }
        /* A blocking write with a bound: a reader that does not read
         * must not stall the daemon for long. */
        while (off < b.len) {
            struct pollfd p = { c, POLLOUT, 0 };
            ssize_t w;
            if (poll(&p, 1, 2000) <= 0)
                break;
            w = send(c, b.p + off, b.len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (w <= 0 && errno != EAGAIN && errno != EINTR)
                break;
            if (w > 0)
                off += (size_t)w;
        }
        close(c);
    }
    ob_buf_free(&b);
}

void onl_status_close(int fd, const char *path)
{
    if (fd < 0)
        return;
    close(fd);
    if (path != NULL)
        unlink(path);
}

ob_err onl_status_fetch(const char *path, int timeout_ms, char **text, size_t *len, ob_diag *d)
{
    struct sockaddr_un sa;
    ob_buf b;
    char chunk[4096];
    int fd = -1;
    ob_err err = OB_OK;

    *text = NULL;
    *len = 0;
    ob_buf_init(&b);
    if (fill_addr(&sa, path, d) != 0)
        return OB_ERR_RANGE;
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        err = ob_fail(d, OB_ERR_IO, "socket: %s", strerror(errno));
        goto out;
    }
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        err = ob_fail(d, OB_ERR_IO, "%s: cannot connect: %s (is `ob-online run` running?)", path,
                      strerror(errno));
        goto out;
    }
    for (;;) {
        struct pollfd p = { fd, POLLIN, 0 };
        ssize_t r;
        int pr = poll(&p, 1, timeout_ms);
        if (pr == 0) {
            err = ob_fail(d, OB_ERR_NET, "%s: no answer within %d ms", path, timeout_ms);
            goto out;
        }
        if (pr < 0 && errno == EINTR)
            continue;
        r = read(fd, chunk, sizeof(chunk));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            err = ob_fail(d, OB_ERR_IO, "%s: read: %s", path, strerror(errno));
            goto out;
        }
        if (r == 0)
            break;
        if (b.len + (size_t)r > ONL_STATUS_MAX_DOC) {
            err = ob_fail(d, OB_ERR_RANGE, "%s: status larger than %u bytes", path,
                          ONL_STATUS_MAX_DOC);
            goto out;
        }
        ob_buf_put(&b, chunk, (size_t)r);
    }
    ob_buf_nul(&b);
    if (!ob_buf_ok(&b)) {
        err = ob_fail(d, OB_ERR_NOMEM, "out of memory");
        goto out;
    }
    *text = (char *)b.p;
    *len = b.len;
    b.p = NULL; /* ownership to the caller */
    b.len = b.cap = 0;
out:
    if (fd >= 0)
        close(fd);
    ob_buf_free(&b);
    return err;
}

void onl_status_free(onl_status *s)
{
    size_t i;

    if (s == NULL)
        return;
    for (i = 0; i < s->n_services; i++)
        free(s->services[i].instances);
    free(s->services);
    s->services = NULL;
    s->n_services = 0;
}

/* ceremony_log.c - append-only ceremony record and replay lookup (ceremony_log.h). */
#include "ceremony_log.h"

#include "cli.h"
#include "encode.h"
#include "fileio.h"
#include "obtime.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void iso_time(char out[OB_TIME_STR], uint64_t t)
{
    (void)ob_time_format(out, OB_TIME_STR, t, OB_TIME_ISO);
}

ob_err ofl_clog_find(const char *path, const uint8_t digest[32], int *found, char when[32],
                     ob_diag *d)
{
    char hex[65], last[32] = "?";
    uint8_t *text = NULL;
    size_t len = 0, lineno = 0, n;
    const char *line;
    ob_cur c;
    ob_err err;

    *found = 0;
    if (when != NULL)
        snprintf(when, 32, "?");
    if (!ob_path_exists(path))
        return OB_OK;
    err = ob_file_read(path, OFL_CLOG_MAX_SIZE, &text, &len, d);
    if (err != OB_OK)
        return err;
    ob_hex_encode(hex, digest, 32);
    ob_cur_init(&c, text, len);
    while (!ob_cur_is_empty(&c)) {
        lineno++;
        if (ob_cur_line(&c, &line, &n) != 0) {
            err = ob_fail(d, OB_ERR_MALFORMED,
                          "%s:%zu: not a text line (NUL, CR or no final newline); the ceremony "
                          "log is damaged",
                          path, lineno);
            goto out;
        }
        if (n > 9 && memcmp(line, "ceremony ", 9) == 0) {
            size_t k = 0;
            while (9 + k < n && k < sizeof(last) - 1 && line[9 + k] != ' ') {
                last[k] = line[9 + k];
                k++;
            }
            last[k] = '\0';
        } else if (n >= 8 && memcmp(line, "request ", 8) == 0) {
            size_t i;
            int ok = n == 8 + 64;
            for (i = 8; ok && i < n; i++)
                ok = (line[i] >= '0' && line[i] <= '9') || (line[i] >= 'a' && line[i] <= 'f');
            if (!ok) {
                err = ob_fail(d, OB_ERR_MALFORMED,
                              "%s:%zu: 'request' is not followed by 64 hex digits; the ceremony "
                              "log is damaged",
                              path, lineno);
                goto out;
            }
            if (!*found && memcmp(line + 8, hex, 64) == 0) {
                *found = 1;
                if (when != NULL)
                    snprintf(when, 32, "%s", last);
            }
        }
    }
out:
    free(text);
    return err;
}

void ofl_clog_begin(ob_buf *b, uint64_t now, const uint8_t request_digest[32],
                    const uint8_t response_digest[32])
{
    char t[OB_TIME_STR], h1[65], h2[65];

    iso_time(t, now);
    ob_hex_encode(h1, request_digest, 32);
    ob_hex_encode(h2, response_digest, 32);
    ob_buf_printf(b, "ceremony %s ob-offline %s\nrequest %s\nresponse %s\n", t, OB_VERSION, h1, h2);
}

void ofl_clog_end(ob_buf *b)
{
    ob_buf_put_str(b, "end\n");
}

ob_err ofl_clog_append(const char *path, const ob_buf *b, ob_diag *d)
{
    struct stat st;
    int fd = -1, created;
    ob_err err = OB_OK;
    ssize_t w;

    if (!ob_buf_ok(b))
        return ob_fail(d, OB_ERR_NOMEM, "ceremony log: out of memory");
    created = !ob_path_exists(path);
    fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return ob_fail(d, OB_ERR_IO, "%s: cannot open the ceremony log: %s", path, strerror(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        err = ob_fail(d, OB_ERR_IO, "%s: the ceremony log is not a regular file", path);
        goto out;
    }
    w = write(fd, b->p, b->len);
    if (w < 0 || (size_t)w != b->len) {
        err = ob_fail(d, OB_ERR_IO, "%s: writing the ceremony log failed: %s", path,
                      w < 0 ? strerror(errno) : "short write");
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

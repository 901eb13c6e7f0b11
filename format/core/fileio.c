/* fileio.c - O_NOFOLLOW capped reads; temp+fsync+rename writes. */
#include "fileio.h"
#include "secmem.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static ob_err read_common(const char *path, size_t max, int secret, uint8_t **out, size_t *len,
                          ob_diag *d)
{
    struct stat st;
    uint8_t *buf = NULL;
    size_t got = 0;
    ob_err err = OB_ERR_IO;
    int fd;

    *out = NULL;
    *len = 0;
    /* O_NONBLOCK: opening a FIFO (or a device) planted where a file was
     * expected must not hang the program before fstat() refuses it; for a
     * regular file the flag changes nothing. */
    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        if (errno == ELOOP)
            return ob_fail(d, OB_ERR_IO, "%s: is a symbolic link; refusing to follow it", path);
        return ob_fail(d, OB_ERR_IO, "%s: %s", path, strerror(errno));
    }
    if (fstat(fd, &st) != 0) {
        ob_fail(d, OB_ERR_IO, "%s: %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        ob_fail(d, OB_ERR_IO, "%s: not a regular file", path);
        goto out;
    }
    if (st.st_size < 0 || (uint64_t)st.st_size > max) {
        err = ob_fail(d, OB_ERR_RANGE, "%s: file is %lld bytes, more than the limit of %zu", path,
                      (long long)st.st_size, max);
        goto out;
    }
    /* One spare byte: a file that grew while we read it is caught below. */
    buf = secret ? ob_secalloc((size_t)st.st_size + 2) : malloc((size_t)st.st_size + 2);
    if (buf == NULL) {
        /* A secret buffer may have been refused for want of locked memory. */
        err = secret ? ob_secmem_fail(d) : ob_fail(d, OB_ERR_NOMEM, "out of memory");
        ob_diag_prefix(d, "%s: ", path);
        goto out;
    }
    for (;;) {
        ssize_t r = read(fd, buf + got, (size_t)st.st_size + 1 - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            ob_fail(d, OB_ERR_IO, "%s: %s", path, strerror(errno));
            goto out;
        }
        if (r == 0)
            break;
        got += (size_t)r;
        if (got > (size_t)st.st_size) {
            ob_fail(d, OB_ERR_IO, "%s: file changed while being read", path);
            goto out;
        }
    }
    buf[got] = '\0';
    *out = buf;
    *len = got;
    buf = NULL;
    err = OB_OK;
out:
    if (buf != NULL) {
        if (secret)
            ob_secfree(buf);
        else
            free(buf);
    }
    close(fd);
    return err;
}

ob_err ob_file_read(const char *path, size_t max, uint8_t **out, size_t *len, ob_diag *d)
{
    return read_common(path, max, 0, out, len, d);
}

ob_err ob_file_read_secret(const char *path, size_t max, uint8_t **out, size_t *len, ob_diag *d)
{
    return read_common(path, max, 1, out, len, d);
}

int ob_path_exists(const char *path)
{
    struct stat st;

    return lstat(path, &st) == 0;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd >= 0) {
        (void)fsync(fd); /* best effort: some file systems refuse */
        close(fd);
    }
}

/* renameat2(RENAME_NOREPLACE) through syscall(): glibc declares it only
 * under _GNU_SOURCE.  Fails with EINVAL/ENOSYS where unsupported. */
static int rename_noreplace(const char *from, const char *to)
{
#if defined(SYS_renameat2)
    return (int)syscall(SYS_renameat2, AT_FDCWD, from, AT_FDCWD, to, 1u /* RENAME_NOREPLACE */);
#else
    (void)from;
    (void)to;
    errno = ENOSYS;
    return -1;
#endif
}

ob_err ob_file_can_create(const char *path, ob_diag *d)
{
    char *dcopy = NULL, *tmp = NULL;
    const char *dir;
    struct stat st;
    ob_err err = OB_ERR_IO;
    size_t tlen;
    int fd;

    if (ob_path_exists(path))
        return ob_fail(d, OB_ERR_EXISTS, "%s: already exists; refusing to overwrite it", path);
    dcopy = strdup(path);
    tlen = strlen(path) + 16;
    tmp = malloc(tlen);
    if (dcopy == NULL || tmp == NULL) {
        err = ob_fail(d, OB_ERR_NOMEM, "%s: out of memory", path);
        goto out;
    }
    dir = dirname(dcopy);
    if (stat(dir, &st) != 0) {
        ob_fail(d, OB_ERR_IO, "%s: the folder %s %s", path, dir,
                errno == ENOENT ? "does not exist" : strerror(errno));
        goto out;
    }
    if (!S_ISDIR(st.st_mode)) {
        ob_fail(d, OB_ERR_IO, "%s: %s is not a folder", path, dir);
        goto out;
    }
    snprintf(tmp, tlen, "%s.tmp-XXXXXX", path);
    fd = mkstemp(tmp);
    if (fd < 0) {
        ob_fail(d, OB_ERR_IO, "%s: cannot create a file in %s: %s", path, dir, strerror(errno));
        goto out;
    }
    close(fd);
    unlink(tmp);
    err = OB_OK;
out:
    free(dcopy);
    free(tmp);
    return err;
}

ob_err ob_file_write_atomic(const char *path, const void *p, size_t n, unsigned mode, int flags,
                            ob_diag *d)
{
    char *dcopy = NULL, *tmp = NULL;
    const char *dir;
    ob_err err = OB_ERR_IO;
    size_t tlen;
    int fd = -1;

    if ((flags & OB_WRITE_EXCL) && ob_path_exists(path))
        return ob_fail(d, OB_ERR_EXISTS, "%s: already exists; refusing to overwrite it", path);
    dcopy = strdup(path);
    tlen = strlen(path) + 16;
    tmp = malloc(tlen);
    if (dcopy == NULL || tmp == NULL) {
        err = ob_fail(d, OB_ERR_NOMEM, "%s: out of memory", path);
        goto out;
    }
    dir = dirname(dcopy);
    /* The temp name starts with the target's name so a leftover is recognisable. */
    snprintf(tmp, tlen, "%s.tmp-XXXXXX", path);
    fd = mkstemp(tmp);
    if (fd < 0) {
        ob_fail(d, OB_ERR_IO, "%s: cannot create temporary file: %s", path, strerror(errno));
        goto out;
    }
    if (fchmod(fd, (mode_t)mode) != 0 || write_all(fd, p, n) != 0 || fsync(fd) != 0) {
        ob_fail(d, OB_ERR_IO, "%s: write failed: %s", path, strerror(errno));
        goto out_unlink;
    }
    if (close(fd) != 0) {
        fd = -1;
        ob_fail(d, OB_ERR_IO, "%s: write failed: %s", path, strerror(errno));
        goto out_unlink;
    }
    fd = -1;
    if (flags & OB_WRITE_EXCL) {
        /* Both fail if the target appeared meanwhile: no race, no overwrite.
         * rename with RENAME_NOREPLACE first: FAT file systems (the usual
         * USB stick between the machines) have no hard links. */
        if (rename_noreplace(tmp, path) == 0)
            goto done;
        if (errno == EEXIST) {
            err = ob_fail(d, OB_ERR_EXISTS, "%s: already exists; refusing to overwrite it", path);
            goto out_unlink;
        }
        if (link(tmp, path) != 0) {
            err = errno == EEXIST ? OB_ERR_EXISTS : OB_ERR_IO;
            ob_fail(d, err, "%s: %s", path,
                    errno == EEXIST ? "already exists; refusing to overwrite it" : strerror(errno));
            goto out_unlink;
        }
        unlink(tmp);
    } else if (rename(tmp, path) != 0) {
        ob_fail(d, OB_ERR_IO, "%s: rename failed: %s", path, strerror(errno));
        goto out_unlink;
    }
done:
    fsync_dir(dir);
    err = OB_OK;
    goto out;
out_unlink:
    unlink(tmp);
out:
    if (fd >= 0)
        close(fd);
    free(tmp);
    free(dcopy);
    return err;
}

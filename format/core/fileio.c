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
#if defined(__linux__)
#include <sys/vfs.h>
#endif

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
        if (w <= 0) {
            if (w == 0)
                errno = EIO; /* no progress and no reason: do not spin */
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static ob_file_note_fn g_note;

void ob_file_set_note(ob_file_note_fn fn)
{
    g_note = fn;
}

/* "This file system does not do that" (FAT and exFAT through FUSE, some
 * network file systems); any other errno is a failure. */
static int unsupported(int e)
{
    return e == ENOSYS || e == EPERM || e == EOPNOTSUPP || e == ENOTSUP;
}

/*
 * Set the temporary file's mode before a byte is written.  A file system
 * that cannot store modes (fchmod fails with ENOSYS, EPERM or EOPNOTSUPP:
 * fusefat; or succeeds and the file shows another mode: exfat-fuse shows
 * 0777) is no failure for a public file.  A private mode (nothing for group
 * and others) that is not kept: *lost describes it, and the caller refuses
 * or warns.
 */
static int set_mode(int fd, unsigned mode, char *lost, size_t lostn)
{
    struct stat st;

    lost[0] = '\0';
    if (fchmod(fd, (mode_t)mode) != 0) {
        if (!unsupported(errno))
            return -1;
        if ((mode & 077) == 0)
            snprintf(lost, lostn, "it cannot set mode %04o: %s", mode, strerror(errno));
        return 0;
    }
    if ((mode & 077) != 0)
        return 0;
    if (fstat(fd, &st) != 0)
        return -1;
    if ((st.st_mode & 0777) != mode)
        snprintf(lost, lostn, "mode %04o was set, yet the file shows %04o", mode,
                 (unsigned)(st.st_mode & 0777));
    return 0;
}

ob_err ob_dir_sync(const char *dir, ob_diag *d)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int e;

    if (fd < 0)
        return OB_OK; /* a folder we may write but not read: best effort */
    if (fsync(fd) == 0 || errno == EINVAL || errno == EROFS || errno == EBADF ||
        unsupported(errno)) {
        close(fd);
        return OB_OK;
    }
    e = errno;
    close(fd);
    return ob_fail(d, OB_ERR_IO, "%s: syncing the folder failed: %s", dir, strerror(e));
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

static ob_err exists_fail(const char *path, ob_diag *d)
{
    return ob_fail(d, OB_ERR_EXISTS, "%s: already exists; refusing to overwrite it", path);
}

/*
 * Where neither RENAME_NOREPLACE nor link() exists (FAT): reserve the name
 * with an empty file made with O_EXCL, which fails if anything is there,
 * then rename the complete temporary file over it.  The target is never a
 * partial file: empty only if the machine stops between the two calls.
 */
static ob_err place_reserved(const char *tmp, const char *path, ob_diag *d)
{
    struct stat mine, now;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    int e;

    if (fd < 0)
        return errno == EEXIST ? exists_fail(path, d)
                               : ob_fail(d, OB_ERR_IO, "%s: %s", path, strerror(errno));
    e = fstat(fd, &mine);
    close(fd);
    if (e == 0 && rename(tmp, path) == 0)
        return OB_OK;
    e = errno;
    /* Remove the reservation, if it is still ours and still empty. */
    if (lstat(path, &now) == 0 && S_ISREG(now.st_mode) && now.st_size == 0 &&
        now.st_dev == mine.st_dev && now.st_ino == mine.st_ino)
        unlink(path);
    return ob_fail(d, OB_ERR_IO, "%s: rename failed: %s", path, strerror(e));
}

/*
 * Is rename() over an existing file not known to be a single step here?
 * FAT and exFAT, in the kernel or through FUSE, and any FUSE file system:
 * fusefat frees the old file's clusters, then removes both names, then
 * makes the new one; a stick pulled in between loses both files.
 */
static int rename_unsafe(int fd)
{
#if defined(__linux__)
    struct statfs sf;

    if (fstatfs(fd, &sf) != 0)
        return 0;
    return sf.f_type == 0x65735546 /* FUSE */ || sf.f_type == 0x4d44 /* MSDOS (FAT) */ ||
           sf.f_type == 0x2011BAB0 /* exFAT */;
#else
    (void)fd;
    return 0;
#endif
}

/*
 * Replace path where rename_unsafe(): each rename goes to a free name, so no
 * step can destroy a file.  The old file moves aside (path.old-XXXXXX, the
 * temporary file's suffix), the new one takes its name, then the old one is
 * deleted.  A stick pulled at any moment leaves the old or the new file
 * complete, under path or under one of those two names.
 */
static ob_err replace_careful(const char *tmp, const char *path, const char *dir, ob_diag *d)
{
    struct stat st;
    char *old = NULL;
    size_t n = strlen(path) + 16;
    ob_err err = OB_OK;

    if (lstat(path, &st) != 0) {
        if (errno != ENOENT)
            return ob_fail(d, OB_ERR_IO, "%s: %s", path, strerror(errno));
        if (rename(tmp, path) != 0)
            return ob_fail(d, OB_ERR_IO, "%s: rename failed: %s", path, strerror(errno));
        return OB_OK;
    }
    if ((old = malloc(n)) == NULL)
        return ob_fail(d, OB_ERR_NOMEM, "%s: out of memory", path);
    snprintf(old, n, "%s.old-%s", path, tmp + strlen(tmp) - 6);
    if (lstat(old, &st) == 0 || errno != ENOENT) {
        err = ob_fail(d, OB_ERR_IO, "%s: cannot move the old file aside: %s: %s", path, old,
                      errno == ENOENT ? "is in the way" : strerror(errno));
        goto out;
    }
    if (rename(path, old) != 0) {
        err =
            ob_fail(d, OB_ERR_IO, "%s: cannot move the old file aside: %s", path, strerror(errno));
        goto out;
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        if (rename(old, path) != 0)
            err = ob_fail(d, OB_ERR_IO, "%s: rename failed: %s; the old file is %s", path,
                          strerror(e), old);
        else
            err = ob_fail(d, OB_ERR_IO, "%s: rename failed: %s", path, strerror(e));
        goto out;
    }
    /* The new name first, then the old file goes. */
    if ((err = ob_dir_sync(dir, d)) != OB_OK)
        ob_diag_prefix(d, "%s: written, but the medium may be failing (check the file): ", path);
    else if (unlink(old) != 0)
        err = ob_fail(d, OB_ERR_IO, "%s: written, but the old file %s could not be removed: %s",
                      path, old, strerror(errno));
out:
    free(old);
    return err;
}

/* Move the finished temporary file to path without replacing anything. */
static ob_err place_excl(const char *tmp, const char *path, ob_diag *d)
{
    /* Each fails if the target appeared meanwhile: no race, no overwrite.
     * rename with RENAME_NOREPLACE first: FAT file systems (the usual USB
     * stick between the machines) have no hard links. */
    if (rename_noreplace(tmp, path) == 0)
        return OB_OK;
    if (errno == EEXIST)
        return exists_fail(path, d);
    if (errno != EINVAL && !unsupported(errno))
        return ob_fail(d, OB_ERR_IO, "%s: rename failed: %s", path, strerror(errno));
    if (link(tmp, path) == 0) {
        unlink(tmp);
        return OB_OK;
    }
    if (errno == EEXIST)
        return exists_fail(path, d);
    if (!unsupported(errno) && errno != EMLINK)
        return ob_fail(d, OB_ERR_IO, "%s: %s", path, strerror(errno));
    return place_reserved(tmp, path, d);
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
    char *dcopy = NULL, *tmp = NULL, lost[160];
    const char *dir;
    ob_err err = OB_ERR_IO;
    size_t tlen;
    int fd = -1, careful;

    if ((flags & OB_WRITE_EXCL) && ob_path_exists(path))
        return exists_fail(path, d);
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
    if (set_mode(fd, mode, lost, sizeof(lost)) != 0) {
        ob_fail(d, OB_ERR_IO, "%s: write failed: %s", path, strerror(errno));
        goto out_unlink;
    }
    if (lost[0] != '\0' && !(flags & OB_WRITE_SEALED)) {
        /* Refused before the secret reaches the medium. */
        ob_fail(d, OB_ERR_IO,
                "%s: the file system does not keep file permissions (%s): this file must stay "
                "private (mode %04o) and is not encrypted, so it is not written there (a FAT or "
                "exFAT stick?); write it to a file system that keeps permissions, such as ext4",
                path, lost, mode);
        goto out_unlink;
    }
    if (write_all(fd, p, n) != 0 || fsync(fd) != 0) {
        ob_fail(d, OB_ERR_IO, "%s: write failed: %s", path, strerror(errno));
        goto out_unlink;
    }
    careful = rename_unsafe(fd);
    if (close(fd) != 0) {
        fd = -1;
        ob_fail(d, OB_ERR_IO, "%s: write failed: %s", path, strerror(errno));
        goto out_unlink;
    }
    fd = -1;
    if (flags & OB_WRITE_EXCL) {
        if ((err = place_excl(tmp, path, d)) != OB_OK)
            goto out_unlink;
    } else if (careful) {
        if ((err = replace_careful(tmp, path, dir, d)) != OB_OK)
            goto out_unlink;
    } else if (rename(tmp, path) != 0) {
        err = ob_fail(d, OB_ERR_IO, "%s: rename failed: %s", path, strerror(errno));
        goto out_unlink;
    }
    if ((err = ob_dir_sync(dir, d)) != OB_OK)
        ob_diag_prefix(d, "%s: written, but the medium may be failing (check the file): ", path);
    if (err == OB_OK && lost[0] != '\0' && g_note != NULL) {
        char msg[OB_DIAG_MAX];
        snprintf(msg, sizeof(msg),
                 "%s: the file system does not keep file permissions (%s): the key is protected "
                 "by its passphrase alone; keep the medium as safe as the passphrase",
                 path, lost);
        g_note(msg);
    }
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

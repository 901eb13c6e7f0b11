/*
 * test_fileio_faults.c - ob_file_write_atomic where the file system or the
 * medium fails.  fileio.c is compiled into this test with fchmod, write,
 * fsync, rename, link and syscall (renameat2) routed through stubs that can
 * fail as FAT through FUSE does (fchmod ENOSYS, link EPERM, renameat2
 * EINVAL), as exfat-fuse does (fchmod "succeeds", the file shows 0777), or
 * as a full or failing medium does (ENOSPC, EIO) at a chosen call.  Each
 * case checks what is on disk afterwards: the previous file byte for byte,
 * no temporary file, never a partial target.  tests/cli/test_fat.sh does the
 * same with the real programs on real FAT and exFAT images.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "fileio.h"
#include "secmem.h"

/* What the stubs do; reset before each case. */
static struct {
    int fchmod_errno; /* fail fchmod with this */
    int fchmod_shows; /* fchmod "succeeds" and the file shows this mode (exfat-fuse: 0777) */
    int renameat2_errno;
    int link_errno;
    int rename_errno;
    int rename_swap;           /* before failing rename: someone else's file replaces the target */
    unsigned rename_fail_mask; /* bit i: the (i+1)th rename fails with EIO */
    int fat;           /* fstatfs says FUSE: rename() is not trusted to replace in one step */
    int write_fail_at; /* the Nth write (1-based) fails with write_errno after half its bytes */
    int write_errno;
    int write_zero; /* write returns 0 */
    int fsync_file_errno, fsync_dir_errno;
    int writes, links, renames;
} f;

static int t_fchmod(int fd, mode_t mode)
{
    if (f.fchmod_errno) {
        errno = f.fchmod_errno;
        return -1;
    }
    return fchmod(fd, f.fchmod_shows ? (mode_t)f.fchmod_shows : mode);
}

static ssize_t t_write(int fd, const void *p, size_t n)
{
    f.writes++;
    if (f.write_zero)
        return 0;
    if (f.write_fail_at != 0 && f.writes == f.write_fail_at) {
        if (n > 1) /* the medium takes part of it, then is full */
            return write(fd, p, n / 2);
        errno = f.write_errno;
        return -1;
    }
    if (f.write_fail_at != 0 && f.writes > f.write_fail_at) {
        errno = f.write_errno;
        return -1;
    }
    return write(fd, p, n);
}

static int t_fsync(int fd)
{
    struct stat st;

    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode) ? f.fsync_dir_errno : f.fsync_file_errno) {
        errno = S_ISDIR(st.st_mode) ? f.fsync_dir_errno : f.fsync_file_errno;
        return -1;
    }
    return fsync(fd);
}

static long t_syscall(long nr, ...)
{
    va_list ap;
    long r;

    va_start(ap, nr);
    if (nr == SYS_renameat2 && f.renameat2_errno) {
        va_end(ap);
        errno = f.renameat2_errno;
        return -1;
    }
    {
        long a = va_arg(ap, long), b = va_arg(ap, long), c = va_arg(ap, long),
             dd = va_arg(ap, long), e = va_arg(ap, long);
        r = syscall(nr, a, b, c, dd, e);
    }
    va_end(ap);
    return r;
}

static int t_link(const char *a, const char *b)
{
    f.links++;
    if (f.link_errno) {
        errno = f.link_errno;
        return -1;
    }
    return link(a, b);
}

static int t_rename(const char *a, const char *b)
{
    f.renames++;
    if (f.renames <= 32 && (f.rename_fail_mask & (1u << (f.renames - 1)))) {
        errno = EIO;
        return -1;
    }
    if (f.rename_swap) {
        FILE *o;
        unlink(b);
        o = fopen(b, "w");
        if (o != NULL) {
            fputs("theirs", o);
            fclose(o);
        }
    }
    if (f.rename_errno) {
        errno = f.rename_errno;
        return -1;
    }
    return rename(a, b);
}

static int t_fstatfs(int fd, struct statfs *sf)
{
    int r = fstatfs(fd, sf);

    if (r == 0 && f.fat)
        sf->f_type = 0x65735546; /* FUSE, as fusefat and exfat-fuse report */
    return r;
}

#define fstatfs t_fstatfs
#define fchmod  t_fchmod
#define write   t_write
#define fsync   t_fsync
#define syscall t_syscall
#define link    t_link
#define rename  t_rename
#include "../../format/core/fileio.c"
#undef fstatfs
#undef fchmod
#undef write
#undef fsync
#undef syscall
#undef link
#undef rename

static char dir[64];
/* Room for dir, "/" and any entry's name (gcc -O2 checks snprintf's room). */
#define PATH_IN_DIR (sizeof(dir) + 1 + sizeof(((struct dirent *)0)->d_name))
static char notes[4][OB_DIAG_MAX];
static int n_notes;

static void note(const char *msg)
{
    if (n_notes < 4)
        snprintf(notes[n_notes], sizeof(notes[0]), "%s", msg);
    n_notes++;
}

static int setup(void **state)
{
    (void)state;
    if (ob_secmem_init() != 0)
        return -1;
    snprintf(dir, sizeof(dir), "/tmp/ob-test-fileio-faults-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    ob_file_set_note(note);
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];

    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static int reset(void **state)
{
    DIR *dp;
    struct dirent *e;
    char p[PATH_IN_DIR];

    (void)state;
    memset(&f, 0, sizeof(f));
    n_notes = 0;
    memset(notes, 0, sizeof(notes));
    if ((dp = opendir(dir)) == NULL)
        return -1;
    while ((e = readdir(dp)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
        unlink(p);
    }
    closedir(dp);
    return 0;
}

static void path_in(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s", dir, name);
}

/* How many entries the folder has (no temporary file may be among them). */
static int entries(void)
{
    DIR *dp = opendir(dir);
    struct dirent *e;
    int n = 0;

    assert_non_null(dp);
    while ((e = readdir(dp)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(dp);
    return n;
}

static void assert_file(const char *path, const char *want)
{
    uint8_t *p = NULL;
    size_t n = 0;
    ob_diag d;

    assert_int_equal(ob_file_read(path, 1 << 20, &p, &n, &d), OB_OK);
    assert_int_equal(n, strlen(want));
    assert_memory_equal(p, want, n);
    free(p);
}

/* fusefat: fchmod fails with ENOSYS.  A public file is written as if nothing
 * happened; no note. */
static void test_fat_public_file(void **state)
{
    char p[128];
    ob_diag d;

    (void)state;
    f.fchmod_errno = ENOSYS;
    path_in(p, sizeof(p), "request.obb");
    assert_int_equal(ob_file_write_atomic(p, "public", 6, 0644, 0, &d), OB_OK);
    assert_file(p, "public");
    assert_int_equal(n_notes, 0);
    f.fchmod_errno = EPERM; /* the kernel's vfat without "quiet" */
    assert_int_equal(ob_file_write_atomic(p, "again", 5, 0644, 0, &d), OB_OK);
    assert_file(p, "again");
    f.fchmod_errno = EOPNOTSUPP;
    assert_int_equal(ob_file_write_atomic(p, "third", 5, 0644, 0, &d), OB_OK);
    assert_int_equal(entries(), 1);
}

/* A private, unencrypted file where the mode cannot be set: refused before a
 * byte is written, nothing left behind; the file it would have replaced
 * stays as it was. */
static void test_fat_private_refused(void **state)
{
    char p[128];
    ob_diag d;

    (void)state;
    path_in(p, sizeof(p), "plain.key");
    assert_int_equal(ob_file_write_atomic(p, "old secret", 10, 0600, 0, &d), OB_OK);
    f.fchmod_errno = ENOSYS;
    f.writes = 0;
    assert_int_equal(ob_file_write_atomic(p, "new secret", 10, 0600, 0, &d), OB_ERR_IO);
    assert_non_null(strstr(d.msg, "plain.key: the file system does not keep file permissions"));
    assert_non_null(strstr(d.msg, "Function not implemented"));
    assert_non_null(strstr(d.msg, "not written there"));
    assert_int_equal(f.writes, 0); /* the secret never reached the medium */
    assert_file(p, "old secret");
    assert_int_equal(entries(), 1);
    assert_int_equal(n_notes, 0);
}

/* exfat-fuse: fchmod "succeeds" and the file shows 0777. */
static void test_exfat_mode_shown(void **state)
{
    char p[128];
    ob_diag d;

    (void)state;
    f.fchmod_shows = 0777;
    path_in(p, sizeof(p), "k");
    assert_int_equal(ob_file_write_atomic(p, "s", 1, 0600, OB_WRITE_EXCL, &d), OB_ERR_IO);
    assert_non_null(strstr(d.msg, "mode 0600 was set, yet the file shows 0777"));
    assert_int_equal(entries(), 0);
    assert_int_equal(ob_file_write_atomic(p, "pub", 3, 0644, OB_WRITE_EXCL, &d), OB_OK);
    assert_int_equal(n_notes, 0);
}

/* A sealed (passphrase-protected) key: written, and the operator told once. */
static void test_sealed_written_with_note(void **state)
{
    char p[128];
    ob_diag d;

    (void)state;
    path_in(p, sizeof(p), "master.key");
    f.fchmod_errno = ENOSYS;
    assert_int_equal(
        ob_file_write_atomic(p, "sealed", 6, 0600, OB_WRITE_SEALED | OB_WRITE_EXCL, &d), OB_OK);
    assert_file(p, "sealed");
    assert_int_equal(n_notes, 1);
    assert_non_null(strstr(notes[0], "master.key: the file system does not keep file permissions"));
    assert_non_null(strstr(notes[0], "protected by its passphrase alone"));
    f.fchmod_errno = 0;
    f.fchmod_shows = 0777;
    assert_int_equal(ob_file_write_atomic(p, "again", 5, 0600, OB_WRITE_SEALED, &d), OB_OK);
    assert_int_equal(n_notes, 2);
    assert_non_null(strstr(notes[1], "shows 0777"));
    /* Where the mode is kept: no note. */
    f.fchmod_shows = 0;
    assert_int_equal(ob_file_write_atomic(p, "third", 5, 0600, OB_WRITE_SEALED, &d), OB_OK);
    assert_int_equal(n_notes, 2);
}

/* Any other fchmod error is a failure (EIO: the medium). */
static void test_fchmod_io_error(void **state)
{
    char p[128];
    ob_diag d;

    (void)state;
    f.fchmod_errno = EIO;
    path_in(p, sizeof(p), "r");
    assert_int_equal(ob_file_write_atomic(p, "x", 1, 0644, 0, &d), OB_ERR_IO);
    assert_non_null(strstr(d.msg, "write failed: Input/output error"));
    assert_int_equal(entries(), 0);
}

/* FAT: no RENAME_NOREPLACE (EINVAL), no link() (EPERM): the name is
 * reserved with O_EXCL and the finished file renamed over the reservation. */
static void test_excl_reservation_path(void **state)
{
    char p[128];
    ob_diag d;

    (void)state;
    f.renameat2_errno = EINVAL;
    f.link_errno = EPERM;
    path_in(p, sizeof(p), "response.obb");
    assert_int_equal(ob_file_write_atomic(p, "signed", 6, 0644, OB_WRITE_EXCL, &d), OB_OK);
    assert_file(p, "signed");
    assert_int_equal(f.links, 1);
    assert_int_equal(f.renames, 1);
    assert_int_equal(entries(), 1);
    /* Never over an existing file, on this path too. */
    assert_int_equal(ob_file_write_atomic(p, "other", 5, 0644, OB_WRITE_EXCL, &d), OB_ERR_EXISTS);
    assert_non_null(strstr(d.msg, "already exists; refusing to overwrite it"));
    assert_file(p, "signed");
    assert_int_equal(entries(), 1);
    /* Other spellings of "unsupported" take the same path. */
    f.renameat2_errno = ENOSYS;
    f.link_errno = EOPNOTSUPP;
    path_in(p, sizeof(p), "second.obb");
    assert_int_equal(ob_file_write_atomic(p, "two", 3, 0644, OB_WRITE_EXCL, &d), OB_OK);
    assert_file(p, "two");
    assert_int_equal(entries(), 2);
}

/* The target appears between the first check and the reservation: O_EXCL
 * sees it; nothing is overwritten (simulated by making it before the call
 * with the check skipped: the reservation itself must refuse). */
static void test_reservation_refuses_existing(void **state)
{
    char p[128], t[160];
    ob_diag d;
    int fd;

    (void)state;
    path_in(p, sizeof(p), "raced.obb");
    assert_int_equal(ob_file_write_atomic(p, "first", 5, 0644, 0, &d), OB_OK);
    snprintf(t, sizeof(t), "%s.tmp-test", p);
    fd = open(t, O_WRONLY | O_CREAT | O_EXCL, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "second", 6), 6);
    close(fd);
    assert_int_equal(place_reserved(t, p, &d), OB_ERR_EXISTS);
    assert_file(p, "first");
    unlink(t);
}

/* The rename over the reservation fails: the reservation goes, the target
 * does not exist, the temporary file goes. */
static void test_reservation_rename_fails(void **state)
{
    char p[128];
    ob_diag d;

    (void)state;
    f.renameat2_errno = EINVAL;
    f.link_errno = EPERM;
    f.rename_errno = EIO;
    path_in(p, sizeof(p), "failing.obb");
    assert_int_equal(ob_file_write_atomic(p, "data", 4, 0644, OB_WRITE_EXCL, &d), OB_ERR_IO);
    assert_non_null(strstr(d.msg, "rename failed: Input/output error"));
    assert_false(ob_path_exists(p));
    assert_int_equal(entries(), 0);
    /* If someone else's file took the reservation's place, it is left alone. */
    f.rename_swap = 1;
    assert_int_equal(ob_file_write_atomic(p, "data", 4, 0644, OB_WRITE_EXCL, &d), OB_ERR_IO);
    assert_file(p, "theirs");
    assert_int_equal(entries(), 1);
}

/* Where link() works but RENAME_NOREPLACE does not (older kernels, some
 * network file systems): link, then the temporary name goes. */
static void test_excl_link_path(void **state)
{
    char p[128];
    ob_diag d;

    (void)state;
    f.renameat2_errno = ENOSYS;
    path_in(p, sizeof(p), "linked.obb");
    assert_int_equal(ob_file_write_atomic(p, "linked", 6, 0644, OB_WRITE_EXCL, &d), OB_OK);
    assert_file(p, "linked");
    assert_int_equal(f.links, 1);
    assert_int_equal(entries(), 1);
    assert_int_equal(ob_file_write_atomic(p, "again", 5, 0644, OB_WRITE_EXCL, &d), OB_ERR_EXISTS);
    assert_int_equal(entries(), 1);
    /* A real error from renameat2 is not "unsupported": no fallback. */
    f.renameat2_errno = EIO;
    f.links = 0;
    path_in(p, sizeof(p), "eio.obb");
    assert_int_equal(ob_file_write_atomic(p, "x", 1, 0644, OB_WRITE_EXCL, &d), OB_ERR_IO);
    assert_int_equal(f.links, 0);
    assert_false(ob_path_exists(p));
    assert_int_equal(entries(), 1);
}

/* The disk fills up part-way through: the previous file is intact, byte for
 * byte, and no temporary file is left. */
static void test_disk_full_keeps_previous(void **state)
{
    char p[128];
    ob_diag d;

    (void)state;
    path_in(p, sizeof(p), "store");
    assert_int_equal(ob_file_write_atomic(p, "previous contents", 17, 0600, 0, &d), OB_OK);
    f.write_fail_at = 1;
    f.write_errno = ENOSPC;
    assert_int_equal(ob_file_write_atomic(p, "new contents, longer", 20, 0600, 0, &d), OB_ERR_IO);
    assert_non_null(strstr(d.msg, "store: write failed: No space left on device"));
    assert_file(p, "previous contents");
    assert_int_equal(entries(), 1);
    /* A write that makes no progress at all ends too (no endless loop). */
    f.write_fail_at = 0;
    f.write_zero = 1;
    assert_int_equal(ob_file_write_atomic(p, "abc", 3, 0600, 0, &d), OB_ERR_IO);
    assert_file(p, "previous contents");
    assert_int_equal(entries(), 1);
}

/* fsync of the file fails (the stick is pulled, or the medium reports an
 * error on flush): refused, previous file intact. */
static void test_fsync_fails_keeps_previous(void **state)
{
    char p[128];
    ob_diag d;

    (void)state;
    path_in(p, sizeof(p), "resp");
    assert_int_equal(ob_file_write_atomic(p, "old", 3, 0644, 0, &d), OB_OK);
    f.fsync_file_errno = EIO;
    assert_int_equal(ob_file_write_atomic(p, "new", 3, 0644, 0, &d), OB_ERR_IO);
    assert_non_null(strstr(d.msg, "write failed: Input/output error"));
    assert_file(p, "old");
    assert_int_equal(entries(), 1);
}

/* fsync of the folder: "cannot" (EINVAL, ENOTSUP) is fine; an I/O error is
 * reported, saying the file was written. */
static void test_dir_fsync(void **state)
{
    char p[128];
    ob_diag d;

    (void)state;
    path_in(p, sizeof(p), "f");
    f.fsync_dir_errno = EINVAL;
    assert_int_equal(ob_file_write_atomic(p, "a", 1, 0644, 0, &d), OB_OK);
    f.fsync_dir_errno = ENOTSUP;
    assert_int_equal(ob_file_write_atomic(p, "b", 1, 0644, 0, &d), OB_OK);
    assert_int_equal(ob_dir_sync(dir, &d), OB_OK);
    f.fsync_dir_errno = EIO;
    assert_int_equal(ob_file_write_atomic(p, "c", 1, 0644, 0, &d), OB_ERR_IO);
    assert_non_null(strstr(d.msg, "f: written, but the medium may be failing (check the file): "));
    assert_non_null(strstr(d.msg, "syncing the folder failed: Input/output error"));
    assert_file(p, "c");
    assert_int_equal(ob_dir_sync(dir, &d), OB_ERR_IO);
    assert_int_equal(entries(), 1);
}

/* Where rename() may not replace in one step (FAT through FUSE): the old
 * file is moved aside, the new one takes the name, the old one goes. */
static void test_careful_replace(void **state)
{
    char p[128];
    ob_diag d;

    (void)state;
    f.fat = 1;
    path_in(p, sizeof(p), "master.key");
    /* Nothing to replace: one rename. */
    assert_int_equal(ob_file_write_atomic(p, "first", 5, 0600, OB_WRITE_SEALED, &d), OB_OK);
    assert_int_equal(f.renames, 1);
    f.renames = 0;
    assert_int_equal(ob_file_write_atomic(p, "second", 6, 0600, OB_WRITE_SEALED, &d), OB_OK);
    assert_int_equal(f.renames, 2); /* aside, then into place */
    assert_file(p, "second");
    assert_int_equal(entries(), 1); /* the old one is gone, no temporary file */
}

/* Each step failing: the old file stays (under its name when it can be put
 * back, beside it, named, when it cannot); no temporary file. */
static void test_careful_replace_failures(void **state)
{
    char p[128], old[PATH_IN_DIR];
    DIR *dp;
    struct dirent *e;
    ob_diag d;

    (void)state;
    f.fat = 1;
    path_in(p, sizeof(p), "store");
    assert_int_equal(ob_file_write_atomic(p, "old store", 9, 0600, 0, &d), OB_OK);
    /* Moving the old file aside fails: nothing changed. */
    f.renames = 0;
    f.rename_fail_mask = 1u;
    assert_int_equal(ob_file_write_atomic(p, "new store", 9, 0600, 0, &d), OB_ERR_IO);
    assert_non_null(strstr(d.msg, "cannot move the old file aside: Input/output error"));
    assert_file(p, "old store");
    assert_int_equal(entries(), 1);
    /* The new file cannot take the name: the old one is put back. */
    f.renames = 0;
    f.rename_fail_mask = 2u;
    assert_int_equal(ob_file_write_atomic(p, "new store", 9, 0600, 0, &d), OB_ERR_IO);
    assert_non_null(strstr(d.msg, "rename failed: Input/output error"));
    assert_null(strstr(d.msg, "the old file is"));
    assert_file(p, "old store");
    assert_int_equal(entries(), 1);
    /* Nor can the old one go back (the stick is gone): the message names it. */
    f.renames = 0;
    f.rename_fail_mask = 2u | 4u;
    assert_int_equal(ob_file_write_atomic(p, "new store", 9, 0600, 0, &d), OB_ERR_IO);
    assert_non_null(strstr(d.msg, "; the old file is "));
    assert_false(ob_path_exists(p));
    assert_int_equal(entries(), 1);
    dp = opendir(dir);
    assert_non_null(dp);
    old[0] = '\0';
    while ((e = readdir(dp)) != NULL)
        if (strncmp(e->d_name, "store.old-", 10) == 0)
            snprintf(old, sizeof(old), "%s/%s", dir, e->d_name);
    closedir(dp);
    assert_non_null(strstr(d.msg, old));
    assert_file(old, "old store");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_fat_public_file, reset),
        cmocka_unit_test_setup(test_fat_private_refused, reset),
        cmocka_unit_test_setup(test_exfat_mode_shown, reset),
        cmocka_unit_test_setup(test_sealed_written_with_note, reset),
        cmocka_unit_test_setup(test_fchmod_io_error, reset),
        cmocka_unit_test_setup(test_excl_reservation_path, reset),
        cmocka_unit_test_setup(test_reservation_refuses_existing, reset),
        cmocka_unit_test_setup(test_reservation_rename_fails, reset),
        cmocka_unit_test_setup(test_excl_link_path, reset),
        cmocka_unit_test_setup(test_disk_full_keeps_previous, reset),
        cmocka_unit_test_setup(test_fsync_fails_keeps_previous, reset),
        cmocka_unit_test_setup(test_dir_fsync, reset),
        cmocka_unit_test_setup(test_careful_replace, reset),
        cmocka_unit_test_setup(test_careful_replace_failures, reset),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

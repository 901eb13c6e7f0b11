/*
 * fileio.h - defensive reads and atomic writes.
 *
 * Reads never follow a symlink in the last path component, refuse anything
 * that is not a regular file, and refuse files larger than the caller's cap
 * before reading a byte.  Writes go to a temporary file in the target's
 * directory, are fsync()ed, then renamed (or linked, when the caller forbids
 * overwriting) into place and the directory is fsync()ed: a crash or a pulled
 * USB stick leaves either the old file or the new one, never a mix.
 *
 * Removable media (docs/architecture.rst, "Faults"): on a file system that
 * cannot store a file's mode (FAT, exFAT) a public file is written all the
 * same; a private one (a mode with no bits for group and others) is refused
 * unless it is OB_WRITE_SEALED.  Where RENAME_NOREPLACE and link() are both
 * missing (FAT), an exclusive write reserves the name with O_EXCL and renames
 * over its own empty reservation.
 */
#ifndef OB_FILEIO_H
#define OB_FILEIO_H

#include "diag.h"

#include <stddef.h>
#include <stdint.h>

/*
 * Read a whole file.  *out is malloc()ed (NUL-terminated, the NUL not counted
 * in *len) and owned by the caller.  Fails with OB_ERR_RANGE when the file is
 * larger than max bytes.
 */
ob_err ob_file_read(const char *path, size_t max, uint8_t **out, size_t *len, ob_diag *d);

/* As ob_file_read(), but into ob_secalloc() memory (free with ob_secfree()). */
ob_err ob_file_read_secret(const char *path, size_t max, uint8_t **out, size_t *len, ob_diag *d);

enum {
    OB_WRITE_EXCL = 1,  /* fail with OB_ERR_EXISTS if path exists */
    OB_WRITE_SEALED = 2 /* a private file whose contents are encrypted (a passphrase-protected
                         * key): where the file system cannot keep its mode it is written
                         * anyway, and the note function (below) is told */
};

/*
 * Write n bytes to path atomically with the given mode (e.g. 0600).  A
 * private mode the file system does not keep fails with OB_ERR_IO before
 * anything is written, unless flags has OB_WRITE_SEALED.
 */
ob_err ob_file_write_atomic(const char *path, const void *p, size_t n, unsigned mode, int flags,
                            ob_diag *d);

/*
 * Where a write that succeeded has something to tell the operator (a sealed
 * file whose mode the file system did not keep).  The programs set it once;
 * NULL, the default, drops such notes.  The library itself never prints.
 */
typedef void (*ob_file_note_fn)(const char *msg);
void ob_file_set_note(ob_file_note_fn fn);

/*
 * fsync() a folder, so the names made in it survive a crash.  A file system
 * that cannot (EINVAL, ENOTSUP, ...) and a folder that cannot be opened for
 * reading are no failure; an I/O error is.
 */
ob_err ob_dir_sync(const char *dir, ob_diag *d);

/* Does anything (file, dir, dangling symlink) exist at path? */
int ob_path_exists(const char *path);

/*
 * Could ob_file_write_atomic(path, ..., OB_WRITE_EXCL) create path now?
 * Nothing is there (OB_ERR_EXISTS), its folder exists and is a folder,
 * and a file can be made in it: the writer's temporary file is created
 * and removed again (OB_ERR_IO naming the folder and why).  For commands
 * that must refuse before asking a person anything.
 */
ob_err ob_file_can_create(const char *path, ob_diag *d);

#endif

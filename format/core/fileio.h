/*
 * fileio.h - defensive reads and atomic writes.
 *
 * Reads never follow a symlink in the last path component, refuse anything
 * that is not a regular file, and refuse files larger than the caller's cap
 * before reading a byte.  Writes go to a temporary file in the target's
 * directory, are fsync()ed, then renamed (or linked, when the caller forbids
 * overwriting) into place and the directory is fsync()ed: a crash or a pulled
 * USB stick leaves either the old file or the new one, never a mix.
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
    OB_WRITE_EXCL = 1 /* fail with OB_ERR_EXISTS if path exists */
};

/* Write n bytes to path atomically with the given mode (e.g. 0600). */
ob_err ob_file_write_atomic(const char *path, const void *p, size_t n, unsigned mode, int flags,
                            ob_diag *d);

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

/*
 * passphrase.h - where passphrases come from: the terminal or a file, never
 * the command line or the environment (both leak to other users through
 * /proc and to shell history).
 *
 * A passphrase is returned NUL-terminated in ob_secalloc() memory; the caller
 * releases it with ofl_pass_free(), which wipes it.  The file form reads the
 * first line (without its '\n') and refuses an empty one.  The terminal form
 * opens /dev/tty with echo off, so it works with stdin/stdout redirected.
 */
#ifndef OFL_PASSPHRASE_H
#define OFL_PASSPHRASE_H

#include "diag.h"

#include <stddef.h>

#define OFL_PASS_MAX 1024 /* bytes, without the NUL */

/* How often a terminal user may retry a wrong passphrase. */
#define OFL_PASS_TRIES 3

/*
 * Read a passphrase: from file when it is not NULL, else from /dev/tty after
 * printing prompt there.  Errors: OB_ERR_PASSPHRASE (empty, too long),
 * OB_ERR_IO (no terminal and no file, unreadable file).
 */
ob_err ofl_pass_read(const char *file, const char *prompt, char **out, size_t *n, ob_diag *d);

/*
 * Read a new passphrase: from file, or from the terminal twice (the two must
 * match; up to OFL_PASS_TRIES attempts).
 */
ob_err ofl_pass_read_new(const char *file, const char *what, char **out, size_t *n, ob_diag *d);

/*
 * Fewer characters than this in a new passphrase earn a warning (not a
 * refusal: the operator may have reasons, and the key file is still
 * protected by the KDF).  docs/keys.rst.
 */
#define OFL_PASS_SHORT 12

/* 1 when p (n bytes, UTF-8) has fewer than OFL_PASS_SHORT characters. */
int ofl_pass_is_short(const char *p, size_t n);

/* Wipe and free a passphrase; NULL-tolerant. */
void ofl_pass_free(char *p);

#endif

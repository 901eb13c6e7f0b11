/*
 * diag.h - error codes and one-line diagnostics.
 *
 * Library code (format/) never prints and never exits.  A function that can
 * fail returns an ob_err and, when its caller passed a non-NULL ob_diag,
 * leaves a one-line message there that names the field, file or byte offset
 * and what was expected.  Only the programs' entry points (online/, offline/)
 * turn that into output and an exit status.
 */
#ifndef OB_DIAG_H
#define OB_DIAG_H

#include <stddef.h>

typedef enum {
    OB_OK = 0,
    OB_ERR_TRUNCATED,   /* input ended before a complete item */
    OB_ERR_MALFORMED,   /* syntax or structure is wrong */
    OB_ERR_RANGE,       /* a value or size is outside its allowed range */
    OB_ERR_VERIFY,      /* a signature, MAC, digest or checksum does not match */
    OB_ERR_EXPIRED,     /* a certificate or validity window is not in force */
    OB_ERR_UNSUPPORTED, /* well-formed but not something we handle (version, type) */
    OB_ERR_REFUSED,     /* policy says no (unknown service, replay, window) */
    OB_ERR_PASSPHRASE,  /* wrong passphrase or passphrase unavailable */
    OB_ERR_EXISTS,      /* would overwrite something that exists */
    OB_ERR_NOTFOUND,    /* a named thing does not exist */
    OB_ERR_IO,          /* the operating system said no */
    OB_ERR_NOMEM,       /* allocation failed */
    OB_ERR_CRYPTO,      /* a crypto library call failed unexpectedly */
    OB_ERR_NET,         /* peer went away, timed out or broke protocol */
    OB_ERR_INTERNAL     /* a bug: an invariant did not hold */
} ob_err;

#define OB_DIAG_MAX 512

typedef struct ob_diag {
    char msg[OB_DIAG_MAX];
} ob_diag;

/* Short, stable name of an error code ("truncated", "bad signature", ...). */
const char *ob_err_name(ob_err e);

/*
 * Record a message in d (if d is not NULL) and return e, so that a failing
 * path reads `return ob_fail(d, OB_ERR_MALFORMED, "line %zu: ...", n);`.
 * Non-printable bytes in the formatted text are replaced by '?', so untrusted
 * text can be passed through %s safely.
 */
ob_err ob_fail(ob_diag *d, ob_err e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Prepend context ("request.obb: ") to an existing message. */
void ob_diag_prefix(ob_diag *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Clear a diagnostic. */
void ob_diag_clear(ob_diag *d);

/*
 * Map an error to the documented exit status: 1 for bad input or failed
 * verification, 2 for operational errors (I/O, memory, internal).
 */
int ob_err_exit_status(ob_err e);

#endif

/* diag.c - error names and bounded, sanitised one-line messages. */
#include "diag.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *ob_err_name(ob_err e)
{
    switch (e) {
    case OB_OK:
        return "ok";
    case OB_ERR_TRUNCATED:
        return "truncated";
    case OB_ERR_MALFORMED:
        return "malformed";
    case OB_ERR_RANGE:
        return "out of range";
    case OB_ERR_VERIFY:
        return "verification failed";
    case OB_ERR_EXPIRED:
        return "expired";
    case OB_ERR_UNSUPPORTED:
        return "unsupported";
    case OB_ERR_REFUSED:
        return "refused";
    case OB_ERR_PASSPHRASE:
        return "bad passphrase";
    case OB_ERR_EXISTS:
        return "already exists";
    case OB_ERR_NOTFOUND:
        return "not found";
    case OB_ERR_IO:
        return "I/O error";
    case OB_ERR_NOMEM:
        return "out of memory";
    case OB_ERR_CRYPTO:
        return "crypto library error";
    case OB_ERR_NET:
        return "network error";
    case OB_ERR_INTERNAL:
        return "internal error";
    }
    return "unknown error";
}

/* Untrusted bytes may end up in messages: keep them on one printable line. */
static void sanitise(char *s)
{
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c > 0x7e)
            *s = '?';
    }
}

ob_err ob_fail(ob_diag *d, ob_err e, const char *fmt, ...)
{
    va_list ap;

    if (d == NULL)
        return e;
    va_start(ap, fmt);
    vsnprintf(d->msg, sizeof(d->msg), fmt, ap);
    va_end(ap);
    sanitise(d->msg);
    return e;
}

void ob_diag_prefix(ob_diag *d, const char *fmt, ...)
{
    char pre[OB_DIAG_MAX];
    size_t plen, olen;
    va_list ap;

    if (d == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof(pre), fmt, ap);
    va_end(ap);
    sanitise(pre);
    plen = strlen(pre);
    olen = strnlen(d->msg, sizeof(d->msg) - 1);
    /* Keep the prefix whole; cut the old message if both do not fit. */
    if (plen > sizeof(d->msg) - 1)
        plen = sizeof(d->msg) - 1;
    if (olen > sizeof(d->msg) - 1 - plen)
        olen = sizeof(d->msg) - 1 - plen;
    memmove(d->msg + plen, d->msg, olen);
    memcpy(d->msg, pre, plen);
    d->msg[plen + olen] = '\0';
}

void ob_diag_clear(ob_diag *d)
{
    if (d != NULL)
        d->msg[0] = '\0';
}

int ob_err_exit_status(ob_err e)
{
    switch (e) {
    case OB_OK:
        return 0;
    case OB_ERR_EXISTS:
    case OB_ERR_IO:
    case OB_ERR_NOMEM:
    case OB_ERR_CRYPTO:
    case OB_ERR_NET:
    case OB_ERR_INTERNAL:
        return 2;
    default:
        return 1;
    }
}

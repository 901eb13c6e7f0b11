/* passphrase.c - passphrases from a file or from /dev/tty with echo off. */
#include "passphrase.h"

#include "fileio.h"
#include "secmem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

/* Room for the longest allowed line, its '\n' and a '\r' we refuse. */
#define PASS_FILE_MAX (OFL_PASS_MAX + 2)

static ob_err from_file(const char *file, char **out, size_t *n, ob_diag *d)
{
    uint8_t *raw = NULL;
    char *p = NULL;
    size_t len = 0, i;
    ob_err e;

    /* Only the first line counts; anything past 64 KiB is not a passphrase
     * file and is refused rather than read. */
    e = ob_file_read_secret(file, 64 * 1024, &raw, &len, d);
    if (e != OB_OK)
        goto out;
    for (i = 0; i < len && raw[i] != '\n'; i++) {
        if (raw[i] == '\0') {
            e = ob_fail(d, OB_ERR_PASSPHRASE, "%s: passphrase contains a NUL byte", file);
            goto out;
        }
    }
    if (i > 0 && raw[i - 1] == '\r')
        i--; /* a file saved with CRLF line ends */
    if (i == 0) {
        e = ob_fail(d, OB_ERR_PASSPHRASE,
                    "%s: the first line is empty; refusing an empty "
                    "passphrase",
                    file);
        goto out;
    }
    if (i > OFL_PASS_MAX) {
        e = ob_fail(d, OB_ERR_PASSPHRASE, "%s: passphrase longer than %d bytes", file,
                    OFL_PASS_MAX);
        goto out;
    }
    if ((p = ob_secalloc(i + 1)) == NULL) {
        e = ob_fail(d, OB_ERR_NOMEM, "out of secure memory");
        goto out;
    }
    memcpy(p, raw, i);
    p[i] = '\0';
    *out = p;
    *n = i;
    p = NULL;
    e = OB_OK;
out:
    ob_secfree(raw);
    ob_secfree(p);
    return e;
}

static ob_err from_tty(const char *prompt, char **out, size_t *n, ob_diag *d)
{
    struct termios saved, quiet;
    char *p = NULL;
    size_t len = 0;
    int fd = -1, restore = 0;
    ob_err e = OB_ERR_IO;
    char c = 0;
    ssize_t r = 0;

    fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return ob_fail(d, OB_ERR_IO,
                       "no terminal to ask for the passphrase; use --passphrase-file FILE");
    if ((p = ob_secalloc(OFL_PASS_MAX + 1)) == NULL) {
        e = ob_fail(d, OB_ERR_NOMEM, "out of secure memory");
        goto out;
    }
    if (tcgetattr(fd, &saved) != 0) {
        e = ob_fail(d, OB_ERR_IO, "/dev/tty: %s; use --passphrase-file FILE", strerror(errno));
        goto out;
    }
    quiet = saved;
    quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
    quiet.c_lflag |= ICANON;
    if (tcsetattr(fd, TCSAFLUSH, &quiet) != 0) {
        e = ob_fail(d, OB_ERR_IO, "/dev/tty: cannot turn echo off: %s", strerror(errno));
        goto out;
    }
    restore = 1;
    if (write(fd, prompt, strlen(prompt)) < 0) {
        e = ob_fail(d, OB_ERR_IO, "/dev/tty: %s", strerror(errno));
        goto out;
    }
    for (;;) {
        r = read(fd, &c, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0 || c == '\n')
            break;
        if (len == OFL_PASS_MAX) {
            e = ob_fail(d, OB_ERR_PASSPHRASE, "passphrase longer than %d bytes", OFL_PASS_MAX);
            goto out;
        }
        p[len++] = c;
    }
    c = 0;
    if (r < 0) {
        e = ob_fail(d, OB_ERR_IO, "/dev/tty: %s", strerror(errno));
        goto out;
    }
    if (len == 0) {
        e = ob_fail(d, OB_ERR_PASSPHRASE, "empty passphrase refused");
        goto out;
    }
    p[len] = '\0';
    *out = p;
    *n = len;
    p = NULL;
    e = OB_OK;
out:
    ob_wipe(&c, sizeof(c)); /* the last character read, on every path */
    if (restore) {
        (void)tcsetattr(fd, TCSAFLUSH, &saved);
        (void)!write(fd, "\n", 1); /* echo was off: end the prompt line */
    }
    if (fd >= 0)
        close(fd);
    ob_secfree(p);
    return e;
}

ob_err ofl_pass_read(const char *file, const char *prompt, char **out, size_t *n, ob_diag *d)
{
    *out = NULL;
    *n = 0;
    if (file != NULL)
        return from_file(file, out, n, d);
    return from_tty(prompt, out, n, d);
}

ob_err ofl_pass_read_new(const char *file, const char *what, char **out, size_t *n, ob_diag *d)
{
    char prompt[256], *a = NULL, *b = NULL;
    const char *note = "";
    size_t na = 0, nb = 0;
    int tries;
    ob_err e = OB_ERR_PASSPHRASE;

    *out = NULL;
    *n = 0;
    if (file != NULL)
        return from_file(file, out, n, d);
    for (tries = 0; tries < OFL_PASS_TRIES; tries++) {
        /* Retry notes go to the terminal with the prompt: this is library
         * code, which never writes to stderr. */
        snprintf(prompt, sizeof(prompt), "%sNew passphrase for %s: ", note, what);
        if ((e = from_tty(prompt, &a, &na, d)) != OB_OK) {
            if (e != OB_ERR_PASSPHRASE)
                goto out;
            note = "Passphrase refused (empty or too long); try again.\n";
            continue;
        }
        if ((e = from_tty("Repeat the passphrase: ", &b, &nb, d)) != OB_OK)
            goto out;
        if (na == nb && ob_ct_memcmp(a, b, na) == 0) {
            *out = a;
            *n = na;
            a = NULL;
            e = OB_OK;
            goto out;
        }
        ofl_pass_free(a);
        ofl_pass_free(b);
        a = b = NULL;
        note = "The passphrases differ; try again.\n";
        e = ob_fail(d, OB_ERR_PASSPHRASE, "the passphrases did not match");
    }
out:
    ofl_pass_free(a);
    ofl_pass_free(b);
    return e;
}

int ofl_pass_is_short(const char *p, size_t n)
{
    size_t i, chars = 0;

    for (i = 0; i < n; i++)
        chars += ((unsigned char)p[i] & 0xc0) != 0x80; /* UTF-8 continuation bytes don't count */
    return chars < OFL_PASS_SHORT;
}

void ofl_pass_free(char *p)
{
    ob_secfree(p);
}

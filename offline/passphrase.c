/* passphrase.c - passphrases from a file or from /dev/tty with echo off. */
#include "passphrase.h"

#include "fileio.h"
#include "secmem.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
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

/*
 * Signals that may arrive while echo is off.  Each is caught for the
 * length of the prompt, so the terminal is restored first; then it is
 * raised again with the handler the program had (by default: terminate, or
 * stop for the job-control ones, and on SIGCONT the prompt starts over).
 */
static const int tty_sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP, SIGTTIN, SIGTTOU };
/* (SIGTTOU last: from_tty's restore loop looks at tty_caught[N_TTY_SIGS - 1].) */
#define N_TTY_SIGS (sizeof(tty_sigs) / sizeof(tty_sigs[0]))

static volatile sig_atomic_t tty_caught[N_TTY_SIGS];

static void on_tty_signal(int sig)
{
    size_t i;

    for (i = 0; i < N_TTY_SIGS; i++)
        if (tty_sigs[i] == sig)
            tty_caught[i] = 1;
}

static void catch_tty_signals(struct sigaction old[N_TTY_SIGS])
{
    struct sigaction sa;
    size_t i;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_tty_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: read() returns EINTR */
    for (i = 0; i < N_TTY_SIGS; i++) {
        tty_caught[i] = 0;
        (void)sigaction(tty_sigs[i], &sa, &old[i]);
    }
}

static int tty_signal_caught(void)
{
    size_t i;

    for (i = 0; i < N_TTY_SIGS; i++)
        if (tty_caught[i])
            return 1;
    return 0;
}

/* Put the program's handlers back and deliver what was caught; 1 if it
 * was only a stop (the prompt may start over), 0 otherwise. */
static int release_tty_signals(const struct sigaction old[N_TTY_SIGS])
{
    int stop_only = 1, any = 0;
    size_t i;

    for (i = 0; i < N_TTY_SIGS; i++)
        (void)sigaction(tty_sigs[i], &old[i], NULL);
    for (i = 0; i < N_TTY_SIGS; i++) {
        if (!tty_caught[i])
            continue;
        any = 1;
        if (tty_sigs[i] != SIGTSTP && tty_sigs[i] != SIGTTIN && tty_sigs[i] != SIGTTOU)
            stop_only = 0;
        tty_caught[i] = 0;
        (void)kill(getpid(), tty_sigs[i]);
    }
    return any && stop_only;
}

/* One prompt.  *again = 1 when a stop signal interrupted it (ask again). */
static ob_err tty_once(int fd, const char *prompt, char *p, size_t *len, int *again, ob_diag *d)
{
    struct termios saved, quiet;
    struct sigaction old[N_TTY_SIGS];
    int restore = 0;
    ob_err e = OB_ERR_IO;
    char c = 0;
    ssize_t r = 0;

    *again = 0;
    *len = 0;
    if (tcgetattr(fd, &saved) != 0)
        return ob_fail(d, OB_ERR_IO, "/dev/tty: %s; use --passphrase-file FILE", strerror(errno));
    quiet = saved;
    quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
    quiet.c_lflag |= ICANON;
    /* Caught before echo goes off: no moment with echo off and no handler. */
    catch_tty_signals(old);
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
        if (tty_signal_caught())
            break;
        r = read(fd, &c, 1);
        if (r < 0 && errno == EINTR)
            continue; /* the check above decides */
        if (r <= 0 || c == '\n')
            break;
        if (*len == OFL_PASS_MAX) {
            e = ob_fail(d, OB_ERR_PASSPHRASE, "passphrase longer than %d bytes", OFL_PASS_MAX);
            goto out;
        }
        p[(*len)++] = c;
    }
    c = 0;
    if (tty_signal_caught()) {
        e = ob_fail(d, OB_ERR_PASSPHRASE, "interrupted at the passphrase prompt");
        goto out;
    }
    if (r < 0) {
        e = ob_fail(d, OB_ERR_IO, "/dev/tty: %s", strerror(errno));
        goto out;
    }
    if (*len == 0) {
        e = ob_fail(d, OB_ERR_PASSPHRASE, "empty passphrase refused");
        goto out;
    }
    e = OB_OK;
out:
    ob_wipe(&c, sizeof(c)); /* the last character read, on every path */
    if (restore) {
        /* A caught signal interrupts it; a SIGTTOU (we are in the
         * background) would come back every time. */
        while (tcsetattr(fd, TCSAFLUSH, &saved) != 0 && errno == EINTR &&
               !tty_caught[N_TTY_SIGS - 1])
            ;
        (void)!write(fd, "\n", 1); /* echo was off: end the prompt line */
    }
    if (e != OB_OK) {
        ob_wipe(p, OFL_PASS_MAX + 1);
        *len = 0;
    }
    /* Only now, with echo back on and the buffer wiped, may a signal act. */
    *again = release_tty_signals(old) && e != OB_OK;
    return e;
}

static ob_err from_tty(const char *prompt, char **out, size_t *n, ob_diag *d)
{
    char *p = NULL;
    size_t len = 0;
    int fd = -1, again = 0;
    ob_err e = OB_ERR_IO;

    fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return ob_fail(d, OB_ERR_IO,
                       "no terminal to ask for the passphrase; use --passphrase-file FILE");
    if ((p = ob_secalloc(OFL_PASS_MAX + 1)) == NULL) {
        e = ob_fail(d, OB_ERR_NOMEM, "out of secure memory");
        goto out;
    }
    do
        e = tty_once(fd, prompt, p, &len, &again, d);
    while (again); /* stopped with ^Z and continued: ask again */
    if (e != OB_OK)
        goto out;
    p[len] = '\0';
    *out = p;
    *n = len;
    p = NULL;
out:
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

/* test_fileio.c - defensive reads and atomic writes: symbolic links, FIFOs,
 * directories, size caps, exclusive creation and file modes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "secmem.h"

static char dir[64];

static int setup(void **state)
{
    (void)state;
    if (ob_secmem_init() != 0)
        return -1;
    snprintf(dir, sizeof(dir), "/tmp/ob-test-fileio-XXXXXX");
    return mkdtemp(dir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
    char cmd[128];

    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void path_in(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s", dir, name);
}

/* A FIFO where a file was expected is refused at once, not waited on (a
 * blocking open would hang here until a writer came; alarm() turns such a
 * hang into a failure). */
static void test_fifo_refused_without_hanging(void **state)
{
    char p[128];
    uint8_t *out = NULL;
    size_t len = 0;
    ob_diag d;

    (void)state;
    path_in(p, sizeof(p), "fifo");
    assert_int_equal(mkfifo(p, 0600), 0);
    ob_diag_clear(&d);
    alarm(5);
    assert_int_equal(ob_file_read(p, 100, &out, &len, &d), OB_ERR_IO);
    assert_non_null(strstr(d.msg, "not a regular file"));
    assert_int_equal(ob_file_read_secret(p, 100, &out, &len, &d), OB_ERR_IO);
    alarm(0);
    assert_null(out);
}

static void test_read_rules(void **state)
{
    char p[128], l[128];
    uint8_t *out = NULL;
    size_t len = 0;
    ob_diag d;

    (void)state;
    ob_diag_clear(&d);
    path_in(p, sizeof(p), "f");
    path_in(l, sizeof(l), "link");
    assert_int_equal(ob_file_write_atomic(p, "hello", 5, 0644, OB_WRITE_EXCL, &d), OB_OK);
    assert_int_equal(ob_file_read(p, 5, &out, &len, &d), OB_OK);
    assert_int_equal(len, 5);
    assert_memory_equal(out, "hello\0", 6); /* NUL-terminated for text parsers */
    free(out);
    out = NULL;
    assert_int_equal(ob_file_read(p, 4, &out, &len, &d), OB_ERR_RANGE);
    assert_non_null(strstr(d.msg, "more than the limit of 4"));
    assert_int_equal(symlink(p, l), 0);
    assert_int_equal(ob_file_read(l, 100, &out, &len, &d), OB_ERR_IO);
    assert_non_null(strstr(d.msg, "symbolic link"));
    assert_int_equal(ob_file_read(dir, 100, &out, &len, &d), OB_ERR_IO);
    assert_null(out);
    assert_int_equal(ob_file_read_secret(p, 100, &out, &len, &d), OB_OK);
    assert_memory_equal(out, "hello", 5);
    ob_secfree(out);
}

static void test_write_exclusive_and_mode(void **state)
{
    char p[128], l[128], target[128];
    struct stat st;
    ob_diag d;

    (void)state;
    ob_diag_clear(&d);
    path_in(p, sizeof(p), "key");
    path_in(l, sizeof(l), "key-link");
    path_in(target, sizeof(target), "elsewhere");
    assert_int_equal(ob_file_write_atomic(p, "s", 1, 0600, OB_WRITE_EXCL, &d), OB_OK);
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(ob_file_write_atomic(p, "t", 1, 0600, OB_WRITE_EXCL, &d), OB_ERR_EXISTS);
    /* A dangling symbolic link is not written through. */
    assert_int_equal(symlink(target, l), 0);
    assert_int_equal(ob_file_write_atomic(l, "t", 1, 0600, OB_WRITE_EXCL, &d), OB_ERR_EXISTS);
    assert_int_equal(lstat(target, &st), -1);
    /* Without EXCL the file is replaced, the link itself, not its target. */
    assert_int_equal(ob_file_write_atomic(l, "u", 1, 0600, 0, &d), OB_OK);
    assert_int_equal(lstat(l, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(lstat(target, &st), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fifo_refused_without_hanging),
        cmocka_unit_test(test_read_rules),
        cmocka_unit_test(test_write_exclusive_and_mode),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

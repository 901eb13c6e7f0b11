/*
 * test_status.c - the status socket: the JSON document byte for byte (the
 * shape OnionBalance 0.2's json.dumps(sort_keys=True) gives), a round trip
 * through a real unix socket, and the refusals (a file in the way, a path
 * too long, nobody listening).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "secmem.h"
#include "status.h"

#define M  "nus4khp5ikhiwqsomyl7tuotb33jtomg3skq5yxg5mxmqq6hkntnxdad"
#define I1 "svn2xs576gjwtys3y3kiyawumvg6xh7ey2nox7yfbknp52vidyk734ad"
#define I2 "aalca4s7pem7l73o2hkfd3y3akyysobsoczad3mgks5y4fbklkui2yad"

/* 2026-11-22 03:42:48 UTC */
#define T0 1795318968u

static void sample(onl_status *s, onl_status_service *sv, onl_status_instance in[2])
{
    memset(s, 0, sizeof(*s));
    memset(sv, 0, sizeof(*sv));
    memset(in, 0, 2 * sizeof(*in));
    strcpy(sv->address, M);
    strcpy(in[0].address, I1);
    in[0].received = T0 + 20;
    in[0].intro_modified = T0;
    in[0].n_intro = 3;
    strcpy(in[1].address, I2); /* never fetched */
    sv->publish_first = T0 + 60;
    sv->signed_until = T0 + 86400;
    sv->certified_until = T0 + 30 * 86400;
    sv->instances = in;
    sv->n_instances = 2;
    s->services = sv;
    s->n_services = 1;
}

static const char want[] =
    "{\"services\": [{\"certifiedUntil\": \"2026-12-22 03:42:48\", \"instances\": "
    "[{\"descriptorReceived\": \"2026-11-22 03:43:08\", "
    "\"introPointsNum\": 3, \"introSetModified\": \"2026-11-22 03:42:48\", \"onionAddress\": "
    "\"" I1 ".onion\"}, {\"onionAddress\": \"" I2 ".onion\", \"received\": null}], "
    "\"onionAddress\": \"" M ".onion\", \"publishAttemptFirstDescriptor\": \"2026-11-22 "
    "03:43:48\", \"publishAttemptSecondDescriptor\": null, \"signedUntil\": \"2026-11-23 "
    "03:42:48\"}]}";

static void test_json(void **state)
{
    onl_status s, empty;
    onl_status_service sv;
    onl_status_instance in[2];
    ob_buf b;
    ob_diag d;

    (void)state;
    sample(&s, &sv, in);
    ob_buf_init(&b);
    assert_int_equal(onl_status_json(&s, &b, &d), OB_OK);
    ob_buf_nul(&b);
    assert_string_equal((const char *)b.p, want);
    ob_buf_free(&b);
    memset(&empty, 0, sizeof(empty));
    ob_buf_init(&b);
    assert_int_equal(onl_status_json(&empty, &b, &d), OB_OK);
    ob_buf_nul(&b);
    assert_string_equal((const char *)b.p, "{\"services\": []}");
    ob_buf_free(&b);
}

static void test_socket(void **state)
{
    char dir[] = "/tmp/ob-status-XXXXXX", path[128], *text = NULL;
    onl_status s;
    onl_status_service sv;
    onl_status_instance in[2];
    size_t len = 0;
    ob_diag d;
    int fd, st, rounds;
    pid_t pid;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/control", dir);
    sample(&s, &sv, in);
    /* nobody there yet */
    assert_int_not_equal(onl_status_fetch(path, 1000, &text, &len, &d), OB_OK);
    assert_non_null(strstr(d.msg, "cannot connect"));
    fd = onl_status_listen(path, &d);
    assert_true(fd >= 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int ok = onl_status_fetch(path, 5000, &text, &len, &d) == OB_OK && len == strlen(want) &&
                 strcmp(text, want) == 0;
        _exit(ok ? 0 : 1);
    }
    for (rounds = 0; rounds < 500 && waitpid(pid, &st, WNOHANG) == 0; rounds++) {
        onl_status_serve(fd, &s);
        usleep(10000);
    }
    assert_true(rounds < 500);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    onl_status_close(fd, path);
    assert_int_not_equal(access(path, F_OK), 0); /* removed */
    /* a leftover socket file is replaced; a regular file is not touched */
    fd = onl_status_listen(path, &d);
    assert_true(fd >= 0);
    close(fd); /* leave the file behind, as a crashed daemon would */
    fd = onl_status_listen(path, &d);
    assert_true(fd >= 0);
    onl_status_close(fd, path);
    {
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fclose(f);
    }
    assert_int_equal(onl_status_listen(path, &d), -1);
    assert_non_null(strstr(d.msg, "exists and is not a socket"));
    assert_int_equal(access(path, F_OK), 0);
    unlink(path);
    rmdir(dir);
    /* longer than sun_path */
    {
        char longp[200];
        memset(longp, 'a', sizeof(longp) - 1);
        longp[0] = '/';
        longp[sizeof(longp) - 1] = '\0';
        assert_int_equal(onl_status_listen(longp, &d), -1);
        assert_non_null(strstr(d.msg, "socket path longer than"));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_socket),
    };

    if (ob_secmem_init() != 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}

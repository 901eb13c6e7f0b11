/*
 * test_fetch.c - onl_fetch_run and onl_publish_run against a scripted tor.
 *
 * A forked child plays tor on the other end of a socketpair: it reads each
 * command, answers 250 (or 552), and then sends the HS_DESC events the
 * script says for that address or HSDir: a descriptor, a failure then a
 * descriptor, silence (the attempt times out), UPLOADED, FAILED then
 * UPLOADED.  The child also counts the most HSFETCHes it has seen without
 * answering, so the window bound is checked from tor's side.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "crypto.h"
#include "ctl.h"
#include "fetch.h"
#include "onion.h"
#include "publish.h"
#include "secmem.h"

#define A_B64 "1pUL9uBaz+7LwOhUbPHbwe59EMydYW4oCh4BShuHjYs"
#define FP1   "9695DFC35FFEB861329B9F1AB04C46397020CE31"

static void addr_of(char out[57], int i)
{
    uint8_t pk[32];
    char tag[16];

    snprintf(tag, sizeof(tag), "inst%d", i);
    assert_int_equal(ob_sha256_buf(pk, tag, strlen(tag)), 0);
    ob_onion_v3_encode(out, pk);
}

static int read_line(int fd, char *buf, size_t max)
{
    size_t n = 0;
    char c;

    while (n + 1 < max) {
        if (read(fd, &c, 1) != 1)
            return -1;
        if (c == '\n')
            break;
        if (c != '\r')
            buf[n++] = c;
    }
    buf[n] = '\0';
    return 0;
}

static void say(int fd, const char *s)
{
    if (write(fd, s, strlen(s)) != (ssize_t)strlen(s))
        _exit(3);
}

/*
 * The fetch script, by the address's index: 0 serves "hs-descriptor 3 / body-0", 1 fails
 * once (FAILED and an empty HS_DESC_CONTENT in tor's exact bytes), then sends a body that is
 * no descriptor, then serves, 2 stays silent, 3 is refused (552), others
 * stay silent. Exits with the largest number of silent HSFETCHes seen at once (a silent fetch
 * counts until the next one, when the client must have timed it out if the window is full).
 */
static void fetch_tor(int fd, char addrs[][57], int n)
{
    char line[512], ev[1024];
    int tries[64] = { 0 }, i;

    for (;;) {
        if (read_line(fd, line, sizeof(line)) != 0)
            _exit(0);
        if (strncmp(line, "SETEVENTS", 9) == 0) {
            say(fd, "250 OK\r\n");
            continue;
        }
        if (strncmp(line, "HSFETCH ", 8) != 0) {
            say(fd, "510 Unrecognized command\r\n");
            continue;
        }
        for (i = 0; i < n && strcmp(line + 8, addrs[i]) != 0; i++)
            ;
        if (i == n) {
            say(fd, "552 Unknown\r\n");
            continue;
        }
        tries[i]++;
        if (i == 3) {
            say(fd, "552 Invalid\r\n");
            continue;
        }
        say(fd, "250 OK\r\n");
        if (i == 0 || (i == 1 && tries[i] > 2)) {
            snprintf(ev, sizeof(ev),
                     "650+HS_DESC_CONTENT %s " A_B64 " $" FP1
                     "~r1\r\nhs-descriptor 3\r\nbody-%d\r\n.\r\n650 OK\r\n",
                     addrs[i], i);
            say(fd, ev);
        } else if (i == 1 && tries[i] == 1) {
            /* As tor sends a 404 (control_events.c, control_proto.c):
             * FAILED, then the content event whose empty body
             * write_escaped_data turns into one empty line. */
            snprintf(ev, sizeof(ev),
                     "650 HS_DESC FAILED %s NO_AUTH $" FP1 "~r1 " A_B64
                     " REASON=NOT_FOUND\r\n650+HS_DESC_CONTENT %s " A_B64 " $" FP1
                     "~r1\r\n\r\n.\r\n650 OK\r\n",
                     addrs[i], addrs[i]);
            say(fd, ev);
        } else if (i == 1) {
            /* a body that is no descriptor at all */
            snprintf(ev, sizeof(ev),
                     "650+HS_DESC_CONTENT %s " A_B64 " $" FP1
                     "~r1\r\n<html>busy</html>\r\n.\r\n650 OK\r\n",
                     addrs[i]);
            say(fd, ev);
        }
    }
}

static pid_t spawn(int *client_fd, void (*fn)(int, char (*)[57], int), char addrs[][57], int n)
{
    int sv[2];
    pid_t pid;

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(sv[0]);
        fn(sv[1], addrs, n);
        _exit(0);
    }
    close(sv[1]);
    *client_fd = sv[0];
    return pid;
}

static int64_t ms_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_fetch_outcomes(void **state)
{
    char addrs[4][57];
    onl_fetch_item items[4];
    onl_fetch_opts o;
    onl_ctl *ctl = NULL;
    ob_diag d;
    int fd, i, st;
    pid_t pid;

    (void)state;
    for (i = 0; i < 4; i++)
        addr_of(addrs[i], i);
    pid = spawn(&fd, fetch_tor, addrs, 4);
    assert_int_equal(onl_ctl_from_fd(fd, &ctl, &d), OB_OK);
    memset(items, 0, sizeof(items));
    for (i = 0; i < 4; i++)
        memcpy(items[i].address, addrs[i], 57);
    onl_fetch_opts_init(&o);
    o.timeout_ms = 300;
    o.tries = 3;
    o.reconnect_ms = 100;
    assert_int_equal(onl_fetch_run(ctl, items, 4, &o, &d), OB_OK);
    assert_int_equal(items[0].state, ONL_FETCH_OK);
    assert_int_equal(items[0].len, 23);
    assert_memory_equal(items[0].desc, "hs-descriptor 3\nbody-0\n", 23);
    assert_int_equal(items[0].attempts, 1);
    /* NOT_FOUND with tor's empty block, then no descriptor: neither is
     * taken for one; served at the third try */
    assert_int_equal(items[1].state, ONL_FETCH_OK);
    assert_int_equal(items[1].attempts, 3);
    assert_memory_equal(items[1].desc, "hs-descriptor 3\nbody-1\n", 23);
    /* silent: every attempt times out */
    assert_int_equal(items[2].state, ONL_FETCH_FAILED);
    assert_int_equal(items[2].attempts, 3);
    assert_string_equal(items[2].why, "no answer from tor within 1 s");
    /* refused by tor: not retried */
    assert_int_equal(items[3].state, ONL_FETCH_FAILED);
    assert_int_equal(items[3].attempts, 1);
    assert_non_null(strstr(items[3].why, "tor refused HSFETCH"));
    onl_fetch_items_clear(items, 4);
    onl_ctl_close(ctl);
    assert_int_equal(waitpid(pid, &st, 0), pid);
}

/* A fetch that never yields a descriptor ends failed with the reason (the
 * instance is then "missing"), never with the empty line or junk as its body. */
static void test_fetch_no_descriptor(void **state)
{
    char addrs[2][57];
    onl_fetch_item items[1];
    onl_fetch_opts o;
    onl_ctl *ctl = NULL;
    ob_diag d;
    int fd, i, st;
    pid_t pid;

    (void)state;
    for (i = 0; i < 2; i++)
        addr_of(addrs[i], i);
    pid = spawn(&fd, fetch_tor, addrs, 2);
    assert_int_equal(onl_ctl_from_fd(fd, &ctl, &d), OB_OK);
    memset(items, 0, sizeof(items));
    memcpy(items[0].address, addrs[1], 57);
    onl_fetch_opts_init(&o);
    o.timeout_ms = 2000;
    o.tries = 1;
    assert_int_equal(onl_fetch_run(ctl, items, 1, &o, &d), OB_OK);
    assert_int_equal(items[0].state, ONL_FETCH_FAILED);
    assert_null(items[0].desc);
    assert_string_equal(items[0].why, "HSDir " FP1 ": NOT_FOUND");
    o.tries = 2; /* the second try gets junk */
    items[0].state = ONL_FETCH_IDLE;
    assert_int_equal(onl_fetch_run(ctl, items, 1, &o, &d), OB_OK);
    assert_int_equal(items[0].state, ONL_FETCH_FAILED);
    assert_int_equal(items[0].attempts, 2);
    assert_null(items[0].desc);
    assert_string_equal(items[0].why,
                        "HSDir " FP1 " sent no descriptor (18 bytes not starting hs-descriptor)");
    onl_ctl_close(ctl);
    assert_int_equal(waitpid(pid, &st, 0), pid);
}

static void count_tick(void *ctx)
{
    (*(int *)ctx)++;
}

static void test_fetch_window(void **state)
{
    int ticks = 0;
    char addrs[10][57];
    onl_fetch_item items[6];
    onl_fetch_opts o;
    onl_ctl *ctl = NULL;
    ob_diag d;
    int fd, i, st;
    int64_t t0, el;
    pid_t pid;

    (void)state;
    /* indexes 4..9 are silent: 6 fetches, window 2, one try of 200 ms each
     * = 3 rounds; a client ignoring the window would finish in one */
    for (i = 0; i < 10; i++)
        addr_of(addrs[i], i);
    pid = spawn(&fd, fetch_tor, addrs, 10);
    assert_int_equal(onl_ctl_from_fd(fd, &ctl, &d), OB_OK);
    memset(items, 0, sizeof(items));
    for (i = 0; i < 6; i++)
        memcpy(items[i].address, addrs[4 + i], 57);
    onl_fetch_opts_init(&o);
    o.timeout_ms = 200;
    o.tries = 1;
    o.window = 2;
    o.tick = count_tick;
    o.tick_ctx = &ticks;
    t0 = ms_now();
    assert_int_equal(onl_fetch_run(ctl, items, 6, &o, &d), OB_OK);
    el = ms_now() - t0;
    for (i = 0; i < 6; i++)
        assert_int_equal(items[i].state, ONL_FETCH_FAILED);
    assert_true(el >= 3 * 200);
    assert_true(ticks >= 3); /* the caller's status socket is served meanwhile */
    assert_true(el < 3000);
    onl_ctl_close(ctl);
    assert_int_equal(waitpid(pid, &st, 0), pid);
}

/* tor accepts the HSFETCH and dies before answering */
static void dying_tor(int fd, char (*unused)[57], int n)
{
    char line[512];

    (void)unused;
    (void)n;
    for (;;) {
        if (read_line(fd, line, sizeof(line)) != 0)
            _exit(0);
        if (strncmp(line, "SETEVENTS", 9) == 0) {
            say(fd, "250 OK\r\n");
            continue;
        }
        say(fd, "250 OK\r\n");
        usleep(100000);
        _exit(0);
    }
}

/* Tor gone mid-collection: OB_ERR_NET once the reconnect window has passed,
 * so the caller (the daemon) can take over; nothing hangs. */
static void test_fetch_tor_dies(void **state)
{
    char addrs[1][57];
    onl_fetch_item item;
    onl_fetch_opts o;
    onl_ctl *ctl = NULL;
    ob_diag d;
    int fd, st;
    int64_t t0, el;
    pid_t pid;

    (void)state;
    addr_of(addrs[0], 0);
    pid = spawn(&fd, dying_tor, addrs, 1);
    assert_int_equal(onl_ctl_from_fd(fd, &ctl, &d), OB_OK);
    memset(&item, 0, sizeof(item));
    memcpy(item.address, addrs[0], 57);
    onl_fetch_opts_init(&o);
    o.timeout_ms = 20000;
    o.reconnect_ms = 500;
    t0 = ms_now();
    assert_int_equal(onl_fetch_run(ctl, &item, 1, &o, &d), OB_ERR_NET);
    el = ms_now() - t0;
    assert_true(el < 5000);
    assert_int_equal(onl_ctl_is_connected(ctl), 0);
    onl_ctl_close(ctl);
    assert_int_equal(waitpid(pid, &st, 0), pid);
}

static volatile sig_atomic_t g_cancel;

static void on_alarm(int sig)
{
    (void)sig;
    g_cancel = 1;
}

/* A signal's flag ends a long fetch early: what a daemon's SIGTERM does. */
static void test_fetch_cancel(void **state)
{
    char addrs[6][57];
    onl_fetch_item items[2];
    onl_fetch_opts o;
    onl_ctl *ctl = NULL;
    ob_diag d;
    int fd, i, st;
    int64_t t0, el;
    pid_t pid;

    (void)state;
    for (i = 0; i < 6; i++)
        addr_of(addrs[i], i);
    pid = spawn(&fd, fetch_tor, addrs, 6);
    assert_int_equal(onl_ctl_from_fd(fd, &ctl, &d), OB_OK);
    memset(items, 0, sizeof(items));
    memcpy(items[0].address, addrs[4], 57); /* silent */
    memcpy(items[1].address, addrs[5], 57);
    onl_fetch_opts_init(&o);
    o.timeout_ms = 20000;
    o.cancel = &g_cancel;
    g_cancel = 0;
    signal(SIGALRM, on_alarm);
    t0 = ms_now();
    alarm(1);
    assert_int_equal(onl_fetch_run(ctl, items, 2, &o, &d), OB_OK);
    el = ms_now() - t0;
    alarm(0);
    assert_true(el < 5000);
    for (i = 0; i < 2; i++) {
        assert_int_equal(items[i].state, ONL_FETCH_FAILED);
        assert_string_equal(items[i].why, "cancelled");
    }
    onl_ctl_close(ctl);
    assert_int_equal(waitpid(pid, &st, 0), pid);
}

/* The publish script: HSPOST for SERVER list; FP of node 1 fails the first
 * time (UPLOAD_REJECTED), every other HSDir takes it. */
static void post_tor(int fd, char (*unused)[57], int n)
{
    char line[4096], ev[512], addr[64] = "", fps[8][41];
    int nfp = 0, posts = 0, i;

    (void)unused;
    (void)n;
    for (;;) {
        char *p;
        if (read_line(fd, line, sizeof(line)) != 0)
            _exit(0);
        if (strncmp(line, "SETEVENTS", 9) == 0) {
            say(fd, "250 OK\r\n");
            continue;
        }
        if (strncmp(line, "+HSPOST", 7) != 0) {
            say(fd, "510 Unrecognized command\r\n");
            continue;
        }
        nfp = 0;
        for (p = strtok(line + 7, " "); p != NULL; p = strtok(NULL, " ")) {
            if (strncmp(p, "SERVER=", 7) == 0 && nfp < 8)
                snprintf(fps[nfp++], 41, "%s", p + 7 + (p[7] == '$'));
            else if (strncmp(p, "HSADDRESS=", 10) == 0)
                snprintf(addr, sizeof(addr), "%s", p + 10);
        }
        do { /* the descriptor, up to "." */
            if (read_line(fd, line, sizeof(line)) != 0)
                _exit(0);
        } while (strcmp(line, ".") != 0);
        posts++;
        say(fd, "250 OK\r\n");
        for (i = 0; i < nfp; i++) {
            if (i == 1 && posts == 1)
                snprintf(ev, sizeof(ev),
                         "650 HS_DESC FAILED %s NO_AUTH $%s~x " A_B64 " REASON=UPLOAD_REJECTED\r\n",
                         addr, fps[i]);
            else
                snprintf(ev, sizeof(ev), "650 HS_DESC UPLOADED %s UNKNOWN $%s~x\r\n", addr, fps[i]);
            say(fd, ev);
        }
    }
}

static void test_publish_run(void **state)
{
    char master[57];
    onl_consensus *c = calloc(1, sizeof(*c));
    ob_response *r = ob_response_new();
    onl_pub_plan plan;
    onl_pub_item item;
    ob_resp_descriptor t;
    onl_pub_opts o;
    onl_ctl *ctl = NULL;
    size_t in_force, reached, j;
    ob_diag d;
    int fd, st;
    pid_t pid;

    (void)state;
    addr_of(master, 99);
    assert_non_null(c);
    c->nodes = calloc(4, sizeof(*c->nodes));
    assert_non_null(c->nodes);
    c->n_nodes = 4;
    for (j = 0; j < 4; j++) {
        memset(c->nodes[j].rsa_id, (int)(0x11 * (j + 1)), 20);
        c->nodes[j].is_hsdir = c->nodes[j].has_ed = 1;
    }
    memset(&t, 0, sizeof(t));
    t.service = master;
    t.version = 3;
    t.group_count = 1;
    t.descriptor = (uint8_t *)"hs-descriptor 3\n.dot-stuffed line\n";
    t.descriptor_len = strlen((const char *)t.descriptor);
    assert_int_equal(ob_response_add_descriptor(r, &t), OB_OK);
    memset(&plan, 0, sizeof(plan));
    memset(&item, 0, sizeof(item));
    item.status = ONL_PUB_SEND;
    item.n_hsdirs = 3;
    item.hsdirs[0] = 0;
    item.hsdirs[1] = 2;
    item.hsdirs[2] = 3;
    plan.items = &item;
    plan.n = 1;
    pid = spawn(&fd, post_tor, NULL, 0);
    assert_int_equal(onl_ctl_from_fd(fd, &ctl, &d), OB_OK);
    onl_pub_opts_init(&o);
    o.timeout_ms = 2000;
    assert_int_equal(onl_publish_run(ctl, r, c, &plan, &o, &d), OB_OK);
    /* the HSDir that refused at first took it at the retry, and only it was asked again */
    for (j = 0; j < 3; j++)
        assert_int_equal(item.result[j], ONL_PUB_UPLOADED);
    assert_int_equal(item.attempts, 2);
    onl_publish_counts(&plan, &in_force, &reached);
    assert_int_equal(in_force, 1);
    assert_int_equal(reached, 1);
    onl_ctl_close(ctl);
    assert_int_equal(waitpid(pid, &st, 0), pid);

    /* tries = 1: the refusal stays, with tor's reason */
    memset(item.result, 0, sizeof(item.result));
    item.attempts = 0;
    pid = spawn(&fd, post_tor, NULL, 0);
    assert_int_equal(onl_ctl_from_fd(fd, &ctl, &d), OB_OK);
    o.tries = 1;
    assert_int_equal(onl_publish_run(ctl, r, c, &plan, &o, &d), OB_OK);
    assert_int_equal(item.result[0], ONL_PUB_UPLOADED);
    assert_int_equal(item.result[1], ONL_PUB_FAILED);
    assert_string_equal(item.reason[1], "UPLOAD_REJECTED");
    assert_int_equal(item.result[2], ONL_PUB_UPLOADED);
    onl_ctl_close(ctl);
    assert_int_equal(waitpid(pid, &st, 0), pid);
    ob_response_free(r);
    onl_consensus_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fetch_outcomes), cmocka_unit_test(test_fetch_no_descriptor),
        cmocka_unit_test(test_fetch_window),   cmocka_unit_test(test_fetch_cancel),
        cmocka_unit_test(test_fetch_tor_dies), cmocka_unit_test(test_publish_run),
    };

    signal(SIGPIPE, SIG_IGN);
    if (ob_secmem_init() != 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}

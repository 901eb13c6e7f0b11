/*
 * test_ctl.c - the control-port client against recorded tor byte streams.
 *
 * The "tor" side is the other end of a socketpair (replies are queued before
 * the command is sent, and what the client sent is read back and checked),
 * or, for authentication, a forked child listening on a unix socket that
 * plays tor 0.4.9.11's part of the recorded session
 * (tests/data/vectors/control/live_transcript_tor_0.4.9.11.txt).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "encode.h"
#include "secmem.h"

#define ADDR  "sltib6sxkuxh2scmtuvd5w2g7pahnzkovefxpo4e4ptnkzl5kkq5h2ad"
#define FP    "9695DFC35FFEB861329B9F1AB04C46397020CE31"
#define A_B64 "1pUL9uBaz+7LwOhUbPHbwe59EMydYW4oCh4BShuHjYs"

typedef struct fixture {
    onl_ctl *ctl;
    int peer;
} fixture;

static int setup(void **state)
{
    int sv[2];
    fixture *f = calloc(1, sizeof(*f));
    ob_diag d;

    if (f == NULL || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        return -1;
    if (onl_ctl_from_fd(sv[0], &f->ctl, &d) != OB_OK)
        return -1;
    f->peer = sv[1];
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;

    onl_ctl_close(f->ctl);
    if (f->peer >= 0)
        close(f->peer);
    free(f);
    return 0;
}

static void tor_says(fixture *f, const char *s)
{
    size_t n = strlen(s);

    /* never block: a full socket buffer is a test bug, not a reason to hang */
    assert_int_equal(send(f->peer, s, n, MSG_DONTWAIT), (ssize_t)n);
}

/* Everything the client has sent so far (NUL-terminated, static). */
static const char *client_sent(fixture *f)
{
    static char buf[256 * 1024];
    size_t n = 0;
    ssize_t r;

    while (n < sizeof(buf) - 1 &&
           (r = recv(f->peer, buf + n, sizeof(buf) - 1 - n, MSG_DONTWAIT)) > 0)
        n += (size_t)r;
    buf[n] = '\0';
    return buf;
}

static int64_t ms_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- SAFECOOKIE vector ------------------------------------------------ */

static int vec_get(const char *text, const char *key, uint8_t out[32])
{
    char pat[64];
    const char *p;

    snprintf(pat, sizeof(pat), "\n%s = ", key);
    p = strstr(text, pat);
    if (p == NULL)
        return -1;
    return ob_hex_decode(out, 32, p + strlen(pat), 64);
}

static void test_safecookie_vector(void **state)
{
    const char *dir = getenv("OB_TESTDATA");
    char path[1024], *text = NULL;
    uint8_t cookie[32], cn[32], sn[32], want_s[32], want_c[32], s[32], c[32];
    FILE *fp;
    long n;

    (void)state;
    snprintf(path, sizeof(path), "%s/control/safecookie_vector.txt",
             dir ? dir : "tests/data/vectors");
    fp = fopen(path, "r");
    if (fp == NULL)
        skip();
    text = calloc(1, 8192);
    assert_non_null(text);
    text[0] = '\n';
    n = (long)fread(text + 1, 1, 8190, fp);
    fclose(fp);
    assert_true(n > 0);
    assert_int_equal(vec_get(text, "cookie_hex", cookie), 0);
    assert_int_equal(vec_get(text, "client_nonce_hex", cn), 0);
    assert_int_equal(vec_get(text, "server_nonce_hex", sn), 0);
    assert_int_equal(vec_get(text, "server_hash_hex", want_s), 0);
    assert_int_equal(vec_get(text, "client_hash_hex", want_c), 0);
    assert_int_equal(onl_ctl_safecookie_hashes(cookie, cn, sn, s, c), 0);
    assert_memory_equal(s, want_s, 32);
    assert_memory_equal(c, want_c, 32);
    /* one flipped nonce bit changes both */
    sn[31] ^= 1;
    assert_int_equal(onl_ctl_safecookie_hashes(cookie, cn, sn, s, c), 0);
    assert_memory_not_equal(s, want_s, 32);
    assert_memory_not_equal(c, want_c, 32);
    free(text);
}

/* ---- framing --------------------------------------------------------- */

static void test_getinfo_multikey(void **state)
{
    fixture *f = *state;
    onl_ctl_reply r = { 0 };
    const char *v;
    size_t n = 0;
    ob_diag d;

    /* the recorded reply to a four-key GETINFO */
    tor_says(f, "250-version=0.4.9.11\r\n"
                "250-status/bootstrap-phase=NOTICE BOOTSTRAP PROGRESS=0 TAG=starting "
                "SUMMARY=\"Starting\"\r\n"
                "250-sr/current=\r\n"
                "250-consensus/valid-after=\r\n"
                "250 OK\r\n");
    assert_int_equal(onl_ctl_command(f->ctl,
                                     "GETINFO version status/bootstrap-phase sr/current "
                                     "consensus/valid-after",
                                     &r, 1000, &d),
                     OB_OK);
    assert_string_equal(client_sent(f), "GETINFO version status/bootstrap-phase sr/current "
                                        "consensus/valid-after\r\n");
    assert_int_equal(r.code, 250);
    assert_int_equal(r.n, 5);
    v = onl_ctl_reply_value(&r, "version", &n);
    assert_non_null(v);
    assert_int_equal(n, 8);
    assert_memory_equal(v, "0.4.9.11", 8);
    v = onl_ctl_reply_value(&r, "sr/current", &n);
    assert_non_null(v);
    assert_int_equal(n, 0);
    v = onl_ctl_reply_value(&r, "status/bootstrap-phase", &n);
    assert_non_null(v);
    assert_memory_equal(v, "NOTICE BOOTSTRAP", 16);
    assert_null(onl_ctl_reply_value(&r, "sr/previous", NULL));
    assert_null(onl_ctl_reply_value(&r, "version=0", NULL));
    assert_int_equal(onl_ctl_last_code(f->ctl), 250);
    onl_ctl_reply_free(&r);
}

static void test_getinfo_data_block(void **state)
{
    fixture *f = *state;
    char *v = NULL;
    size_t n = 0;
    ob_diag d;

    tor_says(f, "250+md/id/" FP "=\r\n"
                "onion-key\r\n"
                "..leading dot\r\n"
                "..\r\n"
                "id ed25519 " A_B64 "\r\n"
                ".\r\n"
                "250 OK\r\n");
    assert_int_equal(onl_ctl_getinfo(f->ctl, "md/id/" FP, &v, &n, &d), OB_OK);
    assert_string_equal(client_sent(f), "GETINFO md/id/" FP "\r\n");
    /* a lone "." ends the block; a line tor dot-stuffed loses one dot */
    assert_string_equal(v, "onion-key\n.leading dot\n.\nid ed25519 " A_B64 "\n");
    assert_int_equal(n, strlen(v));
    free(v);
}

static void test_5xx_surfaced(void **state)
{
    fixture *f = *state;
    char *v = NULL;
    ob_diag d;

    tor_says(f, "552 Unrecognized key \"nonsense\"\r\n");
    assert_int_equal(onl_ctl_getinfo(f->ctl, "nonsense", &v, NULL, &d), OB_ERR_REFUSED);
    assert_null(v);
    assert_non_null(strstr(d.msg, "552"));
    assert_non_null(strstr(d.msg, "Unrecognized key"));
    assert_int_equal(onl_ctl_last_code(f->ctl), 552);
    assert_true(onl_ctl_is_connected(f->ctl)); /* an error reply keeps the stream in step */

    tor_says(f, "551 Not found in cache\r\n");
    assert_int_equal(onl_ctl_getinfo(f->ctl, "hs/client/desc/id/" ADDR, &v, NULL, &d),
                     OB_ERR_REFUSED);
    assert_non_null(strstr(d.msg, "551 Not found in cache"));

    /* the recorded HSFETCH refusals */
    tor_says(f, "552 Server \"" FP "\" not found\r\n");
    {
        const char *srv[] = { FP };
        assert_int_equal(onl_ctl_hsfetch(f->ctl, ADDR, srv, 1, &d), OB_ERR_REFUSED);
        assert_string_equal(client_sent(f), "GETINFO nonsense\r\nGETINFO hs/client/desc/id/" ADDR
                                            "\r\nHSFETCH " ADDR " SERVER=$" FP "\r\n");
        assert_non_null(strstr(d.msg, "not found"));
    }
}

static void test_event_between_command_and_reply(void **state)
{
    fixture *f = *state;
    onl_ctl_reply r = { 0 };
    onl_ctl_event *ev = NULL;
    ob_diag d;

    tor_says(f,
             "650 HS_DESC REQUESTED " ADDR " NO_AUTH $" FP "~relay1 " A_B64 " HSDIR_INDEX="
             "0A1B2C3D4E5F60718293A4B5C6D7E8F90A1B2C3D4E5F60718293A4B5C6D7E8F9\r\n"
             "250 OK\r\n"
             "650 HS_DESC FAILED " ADDR " NO_AUTH $" FP "~relay1 " A_B64 " REASON=NOT_FOUND\r\n");
    assert_int_equal(onl_ctl_command(f->ctl, "SIGNAL ACTIVE", &r, 1000, &d), OB_OK);
    assert_int_equal(r.code, 250);
    assert_int_equal(r.n, 1);
    assert_string_equal(r.lines[0].text, "OK");
    onl_ctl_reply_free(&r);
    /* queued first, then read from the stream */
    assert_int_equal(onl_ctl_next_event(f->ctl, &ev, 1000, &d), OB_OK);
    assert_non_null(ev);
    assert_int_equal(ev->kind, ONL_EV_HS_DESC);
    assert_int_equal(ev->action, ONL_HSA_REQUESTED);
    assert_true(ev->has_hsdir_index);
    assert_int_equal(ev->hsdir_index[0], 0x0a);
    assert_int_equal(ev->hsdir_index[31], 0xf9);
    onl_ctl_event_free(ev);
    assert_int_equal(onl_ctl_next_event(f->ctl, &ev, 1000, &d), OB_OK);
    assert_non_null(ev);
    assert_int_equal(ev->action, ONL_HSA_FAILED);
    assert_string_equal(ev->reason, "NOT_FOUND");
    onl_ctl_event_free(ev);
    /* nothing more: a clean timeout, still connected */
    assert_int_equal(onl_ctl_next_event(f->ctl, &ev, 100, &d), OB_OK);
    assert_null(ev);
    assert_true(onl_ctl_is_connected(f->ctl));
}

/* One line through the event path. */
static onl_ctl_event *one_event(fixture *f, const char *wire)
{
    onl_ctl_event *ev = NULL;
    ob_diag d;

    tor_says(f, wire);
    assert_int_equal(onl_ctl_next_event(f->ctl, &ev, 1000, &d), OB_OK);
    assert_non_null(ev);
    return ev;
}

static void test_hs_desc_shapes(void **state)
{
    fixture *f = *state;
    onl_ctl_event *ev;

    /* fetch side */
    ev = one_event(f, "650 HS_DESC RECEIVED " ADDR " NO_AUTH $" FP "~relay1 " A_B64 "\r\n");
    assert_int_equal(ev->action, ONL_HSA_RECEIVED);
    assert_string_equal(ev->address, ADDR);
    assert_string_equal(ev->authtype, "NO_AUTH");
    assert_string_equal(ev->hsdir, FP);
    assert_string_equal(ev->hsdir_nick, "relay1");
    assert_string_equal(ev->descid, A_B64);
    assert_false(ev->malformed);
    assert_int_equal(ev->replica, -1);
    onl_ctl_event_free(ev);

    ev = one_event(f, "650 HS_DESC FAILED " ADDR " NO_AUTH UNKNOWN " A_B64
                      " REASON=QUERY_NO_HSDIR\r\n");
    assert_int_equal(ev->action, ONL_HSA_FAILED);
    assert_string_equal(ev->hsdir, "");
    assert_string_equal(ev->reason, "QUERY_NO_HSDIR");
    onl_ctl_event_free(ev);

    /* upload side: UPLOAD with index, UPLOADED (no descid), FAILED rejected */
    ev = one_event(f, "650 HS_DESC UPLOAD " ADDR " UNKNOWN $" FP "=relay2 " A_B64 " HSDIR_INDEX="
                      "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF\r\n");
    assert_int_equal(ev->action, ONL_HSA_UPLOAD);
    assert_string_equal(ev->authtype, "UNKNOWN");
    assert_string_equal(ev->hsdir_nick, "relay2");
    assert_true(ev->has_hsdir_index);
    onl_ctl_event_free(ev);

    ev = one_event(f, "650 HS_DESC UPLOADED " ADDR " UNKNOWN $" FP "\r\n");
    assert_int_equal(ev->action, ONL_HSA_UPLOADED);
    assert_string_equal(ev->hsdir, FP);
    assert_string_equal(ev->hsdir_nick, "");
    assert_string_equal(ev->descid, "");
    onl_ctl_event_free(ev);

    ev = one_event(f, "650 HS_DESC FAILED " ADDR " NO_AUTH $" FP "~r " A_B64
                      " REASON=UPLOAD_REJECTED\r\n");
    assert_int_equal(ev->action, ONL_HSA_FAILED);
    assert_string_equal(ev->reason, "UPLOAD_REJECTED");
    onl_ctl_event_free(ev);

    /* CREATED, v3 and v2; lower-case hex fingerprints are normalised */
    ev = one_event(f, "650 HS_DESC CREATED " ADDR " UNKNOWN UNKNOWN " A_B64 "\r\n");
    assert_int_equal(ev->action, ONL_HSA_CREATED);
    assert_string_equal(ev->descid, A_B64);
    onl_ctl_event_free(ev);
    ev = one_event(f, "650 HS_DESC CREATED 3g2upl4pq6kufc4m UNKNOWN UNKNOWN "
                      "y3olqqblqw2gbh6phimfuiroechjjafa REPLICA=1\r\n");
    assert_string_equal(ev->address, "3g2upl4pq6kufc4m");
    assert_int_equal(ev->replica, 1);
    onl_ctl_event_free(ev);
    ev =
        one_event(f, "650 HS_DESC IGNORE UNKNOWN NO_AUTH $9695dfc35ffeb861329b9f1ab04c46397020ce31 "
                     "FUTURE_KEY=whatever\r\n");
    assert_int_equal(ev->action, ONL_HSA_IGNORE);
    assert_string_equal(ev->address, "UNKNOWN");
    assert_string_equal(ev->hsdir, FP);
    assert_false(ev->malformed);
    onl_ctl_event_free(ev);

    /* an unknown event passes through with its text */
    ev = one_event(f, "650 STATUS_CLIENT NOTICE CONSENSUS_ARRIVED\r\n");
    assert_int_equal(ev->kind, ONL_EV_OTHER);
    assert_string_equal(ev->name, "STATUS_CLIENT");
    assert_string_equal(ev->text, "STATUS_CLIENT NOTICE CONSENSUS_ARRIVED");
    onl_ctl_event_free(ev);
}

static void test_next_event_zero_timeout(void **state)
{
    fixture *f = *state;
    onl_ctl_event *ev = NULL;
    ob_diag d;

    /* timeout 0: nothing waiting -> NULL at once; something waiting -> it */
    assert_int_equal(onl_ctl_next_event(f->ctl, &ev, 0, &d), OB_OK);
    assert_null(ev);
    tor_says(f, "650 HS_DESC UPLOADED " ADDR " UNKNOWN $" FP "\r\n");
    assert_int_equal(onl_ctl_next_event(f->ctl, &ev, 0, &d), OB_OK);
    assert_non_null(ev);
    assert_int_equal(ev->action, ONL_HSA_UPLOADED);
    onl_ctl_event_free(ev);
    assert_true(onl_ctl_is_connected(f->ctl));
}

static void test_event_queue_bound(void **state)
{
    fixture *f = *state;
    onl_ctl_reply r = { 0 };
    onl_ctl_event *ev = NULL;
    size_t i, got = 0;
    ob_diag d;

    /* events nobody collects while commands run: the queue stops at its cap */
    {
        /* one write: many tiny ones would fill the socket buffer with overhead */
        char *burst = malloc((ONL_CTL_MAX_QUEUED + 10) * 7 + 9);
        assert_non_null(burst);
        for (i = 0; i < ONL_CTL_MAX_QUEUED + 10; i++)
            memcpy(burst + 7 * i, "650 X\r\n", 7);
        memcpy(burst + 7 * i, "250 OK\r\n", 9);
        tor_says(f, burst);
        free(burst);
    }
    assert_int_equal(onl_ctl_command(f->ctl, "SIGNAL ACTIVE", &r, 5000, &d), OB_OK);
    onl_ctl_reply_free(&r);
    assert_int_equal(onl_ctl_events_dropped(f->ctl), 10);
    while (onl_ctl_next_event(f->ctl, &ev, 0, &d) == OB_OK && ev != NULL) {
        assert_string_equal(ev->name, "X");
        onl_ctl_event_free(ev);
        got++;
    }
    assert_int_equal(got, ONL_CTL_MAX_QUEUED);
}

static void test_hs_desc_malformed(void **state)
{
    fixture *f = *state;
    static const char *bad[] = {
        "650 HS_DESC RECEIVED " ADDR "x NO_AUTH $" FP "\r\n",            /* address length */
        "650 HS_DESC RECEIVED " ADDR " NO_AUTH " FP "\r\n",              /* no $ */
        "650 HS_DESC RECEIVED " ADDR " NO_AUTH $" FP "~\r\n",            /* empty nick */
        "650 HS_DESC RECEIVED " ADDR " NO_AUTH $" FP " A_B64 A=1 x\r\n", /* not KEY=VALUE */
        "650 HS_DESC RECEIVED " ADDR " NO_AUTH $" FP " " A_B64 " HSDIR_INDEX=12\r\n",
        "650 HS_DESC RECEIVED " ADDR " no_auth $" FP "\r\n",  /* lower-case word */
        "650 HS_DESC RECEIVED " ADDR "  NO_AUTH $" FP "\r\n", /* double space */
        "650 HS_DESC RECEIVED " ADDR " NO_AUTH\r\n",          /* too few fields */
        "650 HS_DESC RECEIVED " ADDR " NO_AUTH $" FP " " A_B64 " REASON=a;b\r\n",
    };
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        onl_ctl_event *ev = one_event(f, bad[i]);
        assert_int_equal(ev->kind, ONL_EV_HS_DESC);
        if (!ev->malformed)
            fail_msg("accepted: %s", bad[i]);
        onl_ctl_event_free(ev);
    }
    assert_true(onl_ctl_is_connected(f->ctl)); /* a bad event is not a broken stream */
}

static void test_hs_desc_content(void **state)
{
    fixture *f = *state;
    onl_ctl_event *ev;

    ev = one_event(f, "650+HS_DESC_CONTENT " ADDR " " A_B64 " $" FP "~relay1\r\n"
                      "hs-descriptor 3\r\n"
                      "..starts with a dot\r\n"
                      "...two dots\r\n"
                      "signature abc\r\n"
                      ".\r\n"
                      "650 OK\r\n");
    assert_int_equal(ev->kind, ONL_EV_HS_DESC_CONTENT);
    assert_false(ev->malformed);
    assert_string_equal(ev->address, ADDR);
    assert_string_equal(ev->descid, A_B64);
    assert_string_equal(ev->hsdir, FP);
    assert_string_equal(ev->body, "hs-descriptor 3\n.starts with a dot\n..two dots\n"
                                  "signature abc\n");
    assert_int_equal(ev->body_len, strlen(ev->body));
    onl_ctl_event_free(ev);

    /* a failed fetch: empty body */
    ev = one_event(f, "650+HS_DESC_CONTENT " ADDR " " A_B64 " $" FP "\r\n.\r\n650 OK\r\n");
    assert_int_equal(ev->kind, ONL_EV_HS_DESC_CONTENT);
    assert_false(ev->malformed);
    assert_int_equal(ev->body_len, 0);
    assert_string_equal(ev->body, "");
    onl_ctl_event_free(ev);

    /* a failed fetch as tor really sends it: write_escaped_data ends the
     * empty content with CRLF, so the block is one empty line */
    ev = one_event(f,
                   "650+HS_DESC_CONTENT " ADDR " " A_B64 " $" FP "~relay1\r\n\r\n.\r\n650 OK\r\n");
    assert_int_equal(ev->kind, ONL_EV_HS_DESC_CONTENT);
    assert_false(ev->malformed);
    assert_int_equal(ev->body_len, 0);
    assert_string_equal(ev->body, "");
    onl_ctl_event_free(ev);

    /* two empty lines are content, not the empty one */
    ev = one_event(f, "650+HS_DESC_CONTENT " ADDR " " A_B64 " $" FP "\r\n\r\n\r\n.\r\n650 OK\r\n");
    assert_false(ev->malformed);
    assert_int_equal(ev->body_len, 2);
    onl_ctl_event_free(ev);

    /* the closing line must be 650 OK */
    ev = one_event(f, "650+HS_DESC_CONTENT " ADDR " " A_B64 " $" FP "\r\nx\r\n.\r\n650 NOPE\r\n");
    assert_true(ev->malformed);
    assert_null(ev->body);
    onl_ctl_event_free(ev);
}

static void test_stream_violations(void **state)
{
    fixture *f = *state;
    onl_ctl_reply r = { 0 };
    ob_diag d;

    /* bare LF */
    tor_says(f, "250 OK\n");
    assert_int_equal(onl_ctl_command(f->ctl, "GETINFO version", &r, 500, &d), OB_ERR_NET);
    assert_false(onl_ctl_is_connected(f->ctl));
    assert_non_null(strstr(d.msg, "CRLF"));
    /* and the object refuses further commands until reconnected */
    assert_int_equal(onl_ctl_command(f->ctl, "GETINFO version", &r, 500, &d), OB_ERR_NET);
}

static void test_nul_and_garbage(void **state)
{
    fixture *f = *state;
    onl_ctl_reply r = { 0 };
    ob_diag d;

    assert_int_equal(write(f->peer, "250 O\0K\r\n", 9), 9);
    assert_int_equal(onl_ctl_command(f->ctl, "GETINFO version", &r, 500, &d), OB_ERR_NET);
    assert_false(onl_ctl_is_connected(f->ctl));
}

static void test_no_status_code(void **state)
{
    fixture *f = *state;
    onl_ctl_reply r = { 0 };
    ob_diag d;

    tor_says(f, "hello\r\n");
    assert_int_equal(onl_ctl_command(f->ctl, "GETINFO version", &r, 500, &d), OB_ERR_NET);
    assert_non_null(strstr(d.msg, "status code"));
}

static void test_event_inside_reply(void **state)
{
    fixture *f = *state;
    onl_ctl_reply r = { 0 };
    ob_diag d;

    tor_says(f, "250-version=1\r\n650 HS_DESC x\r\n250 OK\r\n");
    assert_int_equal(onl_ctl_command(f->ctl, "GETINFO version", &r, 500, &d), OB_ERR_NET);
    assert_false(onl_ctl_is_connected(f->ctl));
}

static void test_line_over_limit(void **state)
{
    fixture *f = *state;
    onl_ctl_reply r = { 0 };
    size_t n = ONL_CTL_MAX_LINE + 100;
    char *big = malloc(n + 1);
    ob_diag d;

    assert_non_null(big);
    memcpy(big, "250-x=", 6);
    memset(big + 6, 'a', n - 6);
    big[n] = '\0';
    tor_says(f, big);
    free(big);
    assert_int_equal(onl_ctl_command(f->ctl, "GETINFO x", &r, 2000, &d), OB_ERR_NET);
    assert_non_null(strstr(d.msg, "line over"));
    assert_false(onl_ctl_is_connected(f->ctl));
}

static void test_line_at_limit(void **state)
{
    fixture *f = *state;
    char *v = NULL;
    size_t n = ONL_CTL_MAX_LINE, vl = 0;
    char *big = malloc(n + 16);
    ob_diag d;

    assert_non_null(big);
    memcpy(big, "250-x=", 6);
    memset(big + 6, 'b', n - 6);
    memcpy(big + n, "\r\n250 OK\r\n", 11);
    tor_says(f, big);
    free(big);
    assert_int_equal(onl_ctl_getinfo(f->ctl, "x", &v, &vl, &d), OB_OK);
    assert_int_equal(vl, n - 6);
    free(v);
}

static void test_peer_closes_mid_reply(void **state)
{
    fixture *f = *state;
    onl_ctl_reply r = { 0 };
    ob_diag d;

    tor_says(f, "250+ns/all=\r\nr a b c\r\n");
    shutdown(f->peer, SHUT_WR); /* tor hangs up in the middle of the data block */
    assert_int_equal(onl_ctl_command(f->ctl, "GETINFO ns/all", &r, 1000, &d), OB_ERR_NET);
    assert_non_null(strstr(d.msg, "closed"));
    assert_int_equal(r.n, 0);
    assert_false(onl_ctl_is_connected(f->ctl));
}

static void test_peer_never_answers(void **state)
{
    fixture *f = *state;
    onl_ctl_reply r = { 0 };
    ob_diag d;
    int64_t t0 = ms_now(), dt;

    assert_int_equal(onl_ctl_command(f->ctl, "GETINFO version", &r, 300, &d), OB_ERR_NET);
    dt = ms_now() - t0;
    assert_true(dt >= 290);
    assert_true(dt < 3000);
    assert_non_null(strstr(d.msg, "time limit"));
    /* a late reply must not be mistaken for the next command's answer */
    assert_false(onl_ctl_is_connected(f->ctl));
}

static void test_timeout_mid_event(void **state)
{
    fixture *f = *state;
    onl_ctl_event *ev = NULL;
    ob_diag d;

    /* half an event: the stream is out of step after the wait, so it is dropped */
    tor_says(f, "650+HS_DESC_CONTENT " ADDR " " A_B64 " $" FP "\r\nhs-descriptor 3\r\n");
    assert_int_equal(onl_ctl_next_event(f->ctl, &ev, 200, &d), OB_ERR_NET);
    assert_null(ev);
    assert_false(onl_ctl_is_connected(f->ctl));
}

static void test_hspost_framing(void **state)
{
    fixture *f = *state;
    const char *srv[] = { "$" FP, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" };
    const char desc[] = "hs-descriptor 3\n.dot line\n\nsignature xyz";
    ob_diag d;

    tor_says(f, "250 OK\r\n");
    assert_int_equal(onl_ctl_hspost(f->ctl, desc, strlen(desc), srv, 2, ADDR, &d), OB_OK);
    assert_string_equal(client_sent(f),
                        "+HSPOST SERVER=$" FP " SERVER=$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
                        " HSADDRESS=" ADDR "\r\n"
                        "hs-descriptor 3\r\n"
                        "..dot line\r\n"
                        "\r\n"
                        "signature xyz\r\n"
                        ".\r\n");
    /* CRLF input is accepted as is; a stray CR or NUL is not */
    tor_says(f, "554 Invalid descriptor\r\n");
    assert_int_equal(onl_ctl_hspost(f->ctl, "a\r\nb\r\n", 6, NULL, 0, ADDR, &d), OB_ERR_REFUSED);
    assert_string_equal(client_sent(f), "+HSPOST HSADDRESS=" ADDR "\r\na\r\nb\r\n.\r\n");
    assert_non_null(strstr(d.msg, "554 Invalid descriptor"));
    assert_int_equal(onl_ctl_hspost(f->ctl, "a\rb\n", 4, NULL, 0, ADDR, &d), OB_ERR_MALFORMED);
    assert_int_equal(onl_ctl_hspost(f->ctl, "a\0b\n", 4, NULL, 0, ADDR, &d), OB_ERR_MALFORMED);
    /* HSADDRESS is mandatory and checked */
    assert_int_equal(onl_ctl_hspost(f->ctl, "x\n", 2, NULL, 0, NULL, &d), OB_ERR_MALFORMED);
    assert_int_equal(onl_ctl_hspost(f->ctl, "x\n", 2, NULL, 0, ADDR ".onion", &d),
                     OB_ERR_MALFORMED);
    assert_string_equal(client_sent(f), "");
}

static void test_injection_refused(void **state)
{
    fixture *f = *state;
    onl_ctl_reply r = { 0 };
    const char *badsrv[] = { FP "\r\nSIGNAL HALT" };
    char *v = NULL;
    ob_diag d;

    assert_int_equal(onl_ctl_command(f->ctl, "GETINFO x\r\nSIGNAL HALT", &r, 100, &d),
                     OB_ERR_INTERNAL);
    assert_int_equal(onl_ctl_hsfetch(f->ctl, ADDR "\r\nSIGNAL HALT", NULL, 0, &d),
                     OB_ERR_MALFORMED);
    assert_int_equal(onl_ctl_hsfetch(f->ctl, ADDR, badsrv, 1, &d), OB_ERR_MALFORMED);
    assert_int_equal(onl_ctl_getinfo(f->ctl, "a b", &v, NULL, &d), OB_ERR_INTERNAL);
    assert_int_equal(onl_ctl_setevents(f->ctl, "HS_DESC\r\nSIGNAL", &d), OB_ERR_INTERNAL);
    assert_string_equal(client_sent(f), ""); /* nothing reached tor */
    assert_true(onl_ctl_is_connected(f->ctl));
}

static void test_setevents(void **state)
{
    fixture *f = *state;
    ob_diag d;

    tor_says(f, "250 OK\r\n");
    assert_int_equal(onl_ctl_setevents(f->ctl, "HS_DESC HS_DESC_CONTENT", &d), OB_OK);
    assert_string_equal(client_sent(f), "SETEVENTS HS_DESC HS_DESC_CONTENT\r\n");
    tor_says(f, "552 Unrecognized event \"BOGUS\"\r\n");
    assert_int_equal(onl_ctl_setevents(f->ctl, "BOGUS", &d), OB_ERR_REFUSED);
    assert_non_null(strstr(d.msg, "Unrecognized event"));
}

static void test_unquote_and_kv(void **state)
{
    char out[128];
    size_t used = 0;
    ob_diag d;

    (void)state;
    assert_int_equal(
        onl_ctl_unquote("\"a\\\"b\\\\c\\n\\101\" tail", 20, out, sizeof(out), &used, &d), OB_OK);
    assert_string_equal(out, "a\"b\\c\nA");
    assert_int_equal(used, 15);
    assert_int_equal(onl_ctl_unquote("\"abc", 4, out, sizeof(out), &used, &d), OB_ERR_MALFORMED);
    assert_int_equal(onl_ctl_unquote("\"a\\000\"", 7, out, sizeof(out), &used, &d),
                     OB_ERR_MALFORMED); /* NUL */
    assert_int_equal(onl_ctl_unquote("\"a\\q\"", 5, out, sizeof(out), &used, &d), OB_ERR_MALFORMED);
    assert_int_equal(onl_ctl_unquote("\"abcdef\"", 8, out, 4, &used, &d), OB_ERR_RANGE);

    assert_int_equal(onl_ctl_kv("METHODS=COOKIE,SAFECOOKIE COOKIEFILE=\"/var/lib/tor/"
                                "control auth \\\"cookie\\\"\"",
                                "COOKIEFILE", out, sizeof(out), &d),
                     OB_OK);
    assert_string_equal(out, "/var/lib/tor/control auth \"cookie\"");
    assert_int_equal(
        onl_ctl_kv("METHODS=COOKIE,SAFECOOKIE COOKIEFILE=\"/x\"", "METHODS", out, sizeof(out), &d),
        OB_OK);
    assert_string_equal(out, "COOKIE,SAFECOOKIE");
    /* a key inside a quoted value is not a key */
    assert_int_equal(onl_ctl_kv("A=\"B=1\" C=2", "B", out, sizeof(out), &d), OB_ERR_NOTFOUND);
    assert_int_equal(onl_ctl_kv("A=\"B=1\" C=2", "C", out, sizeof(out), &d), OB_OK);
    assert_string_equal(out, "2");
    assert_int_equal(onl_ctl_kv("XMETHODS=1", "METHODS", out, sizeof(out), &d), OB_ERR_NOTFOUND);
}

static void test_opts_arg(void **state)
{
    onl_ctl_opts o;
    char *argv[] = { "x",   "-i", "::1", "--port", "9999", "-s", "", "--password-file",
                     "/pw", "-p", "0",   "-p" };
    int i;
    ob_diag d;

    (void)state;
    onl_ctl_opts_init(&o);
    assert_string_equal(o.host, "127.0.0.1");
    assert_int_equal(o.port, 9051);
    for (i = 1; i < 9; i++)
        assert_int_equal(onl_ctl_opts_arg(&o, 12, argv, &i, &d), 1);
    assert_string_equal(o.host, "::1");
    assert_int_equal(o.port, 9999);
    assert_string_equal(o.socket_path, "");
    assert_string_equal(o.password_file, "/pw");
    i = 9;
    assert_int_equal(onl_ctl_opts_arg(&o, 12, argv, &i, &d), -1); /* port 0 */
    i = 11;
    assert_int_equal(onl_ctl_opts_arg(&o, 12, argv, &i, &d), -1); /* missing value */
    i = 0;
    assert_int_equal(onl_ctl_opts_arg(&o, 12, argv, &i, &d), 0);
}

/* ---- authentication against a scripted tor on a unix socket ------------ */

enum { T_SAFECOOKIE, T_COOKIE, T_NULL, T_PASSWORD, T_BADHASH, T_REFUSE, T_PASSWORD_MEM };

static const uint8_t cookie_bytes[32] = { 1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
                                          12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
                                          23, 24, 25, 26, 27, 28, 29, 30, 31, 32 };

static int rd_line(int fd, char *buf, size_t max)
{
    size_t n = 0;
    while (n + 1 < max) {
        ssize_t r = read(fd, buf + n, 1);
        if (r <= 0)
            return -1;
        n++;
        if (n >= 2 && buf[n - 2] == '\r' && buf[n - 1] == '\n') {
            buf[n - 2] = '\0';
            return 0;
        }
    }
    return -1;
}

static int wr(int fd, const char *s)
{
    return write(fd, s, strlen(s)) == (ssize_t)strlen(s) ? 0 : -1;
}

/* The child: tor's side of the recorded session.  Exit 0 when all matched. */
static int fake_tor(int lfd, int mode, const char *cookiefile)
{
    char line[512], buf[1024], hex[65];
    uint8_t cn[32], sn[32], sh[32], ch[32];
    int fd = accept(lfd, NULL, NULL);

    if (fd < 0 || rd_line(fd, line, sizeof(line)) != 0 || strcmp(line, "PROTOCOLINFO 1") != 0)
        return 10;
    snprintf(buf, sizeof(buf),
             "250-PROTOCOLINFO 1\r\n250-AUTH METHODS=%s COOKIEFILE=\"%s\"\r\n"
             "250-VERSION Tor=\"0.4.9.11\"\r\n250 OK\r\n",
             mode == T_NULL ? "NULL"
                            : (mode == T_PASSWORD ? "HASHEDPASSWORD" : "COOKIE,SAFECOOKIE"),
             cookiefile);
    if (wr(fd, buf) != 0 || rd_line(fd, line, sizeof(line)) != 0)
        return 11;
    if (mode == T_SAFECOOKIE || mode == T_BADHASH || mode == T_REFUSE) {
        if (strncmp(line, "AUTHCHALLENGE SAFECOOKIE ", 25) != 0 ||
            ob_hex_decode(cn, 32, line + 25, strlen(line + 25)) != 0)
            return 12;
        memset(sn, 0xa5, 32);
        onl_ctl_safecookie_hashes(cookie_bytes, cn, sn, sh, ch);
        if (mode == T_BADHASH)
            sh[0] ^= 1;
        ob_hex_encode(hex, sh, 32);
        snprintf(buf, sizeof(buf), "250 AUTHCHALLENGE SERVERHASH=%s SERVERNONCE=", hex);
        ob_hex_encode(hex, sn, 32);
        strcat(buf, hex);
        strcat(buf, "\r\n");
        if (wr(fd, buf) != 0)
            return 13;
        if (rd_line(fd, line, sizeof(line)) != 0)
            return mode == T_BADHASH ? 0 : 14; /* the client must hang up, not answer */
        if (mode == T_BADHASH)
            return 15;
        ob_hex_encode(hex, ch, 32);
        if (strncmp(line, "AUTHENTICATE ", 13) != 0 || strcmp(line + 13, hex) != 0)
            return 16;
        if (mode == T_REFUSE) {
            wr(fd, "515 Authentication failed: Safe cookie response did not match expected "
                   "value.\r\n");
            return 0;
        }
    } else if (mode == T_COOKIE) {
        ob_hex_encode(hex, cookie_bytes, 32);
        if (strncmp(line, "AUTHENTICATE ", 13) != 0 || strcmp(line + 13, hex) != 0)
            return 17;
    } else if (mode == T_NULL) {
        if (strcmp(line, "AUTHENTICATE") != 0)
            return 18;
    } else if (mode == T_PASSWORD) {
        /* hex of "s3cr\"et pw" */
        if (strcmp(line, "AUTHENTICATE 73336372226574207077") != 0)
            return 19;
    }
    if (wr(fd, "250 OK\r\n") != 0 || rd_line(fd, line, sizeof(line)) != 0 ||
        strcmp(line, "GETINFO version") != 0 || wr(fd, "250-version=0.4.9.11\r\n250 OK\r\n") != 0)
        return 20;
    return 0;
}

static void run_auth(int mode, onl_auth auth, ob_err want, const char *want_method)
{
    char dir[] = "/tmp/ob-test-ctl-XXXXXX", sock[256], cookie[256], pw[256];
    struct sockaddr_un sa;
    int lfd, status = 0;
    pid_t pid;
    onl_ctl_opts o;
    onl_ctl *ctl = NULL;
    ob_diag d;
    ob_err e;
    FILE *fp;

    assert_non_null(mkdtemp(dir));
    snprintf(sock, sizeof(sock), "%s/control", dir);
    snprintf(cookie, sizeof(cookie), "%s/control_auth_cookie", dir);
    snprintf(pw, sizeof(pw), "%s/password", dir);
    fp = fopen(cookie, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(cookie_bytes, 1, 32, fp), 32);
    fclose(fp);
    fp = fopen(pw, "w");
    assert_non_null(fp);
    fputs("s3cr\"et pw\nsecond line ignored\n", fp);
    fclose(fp);

    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, sock, strlen(sock));
    lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(lfd >= 0);
    assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(lfd, 1), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(fake_tor(lfd, mode == T_PASSWORD_MEM ? T_PASSWORD : mode, cookie));
    close(lfd);

    onl_ctl_opts_init(&o);
    o.socket_path = sock;
    o.port = 1; /* never used: the socket answers */
    o.auth = auth;
    o.timeout_ms = 3000;
    if (mode == T_PASSWORD)
        o.password_file = pw;
    if (mode == T_PASSWORD_MEM) {
        o.password = "s3cr\"et pw"; /* e.g. config TOR_CONTROL_PASSWORD */
        mode = T_PASSWORD;
    }
    e = onl_ctl_connect(&o, &ctl, &d);
    if (e != want)
        fail_msg("auth mode %d: got %d (%s), want %d", mode, e, d.msg, want);
    if (e == OB_OK) {
        char *v = NULL;
        assert_string_equal(onl_ctl_auth_method(ctl), want_method);
        assert_string_equal(onl_ctl_tor_version(ctl), "0.4.9.11");
        assert_true(strncmp(onl_ctl_endpoint(ctl), "unix:", 5) == 0);
        assert_int_equal(onl_ctl_generation(ctl), 1);
        assert_int_equal(onl_ctl_getinfo(ctl, "version", &v, NULL, &d), OB_OK);
        assert_string_equal(v, "0.4.9.11");
        free(v);
    }
    onl_ctl_close(ctl);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) != 0)
        fail_msg("fake tor (mode %d) exited %d", mode, WEXITSTATUS(status));
    unlink(sock);
    unlink(cookie);
    unlink(pw);
    rmdir(dir);
}

static void test_auth_safecookie_preferred(void **state)
{
    (void)state;
    run_auth(T_SAFECOOKIE, ONL_AUTH_AUTO, OB_OK, "SAFECOOKIE");
}

static void test_auth_cookie(void **state)
{
    (void)state;
    run_auth(T_COOKIE, ONL_AUTH_COOKIE, OB_OK, "COOKIE");
}

static void test_auth_null(void **state)
{
    (void)state;
    run_auth(T_NULL, ONL_AUTH_AUTO, OB_OK, "NULL");
}

static void test_auth_password(void **state)
{
    (void)state;
    run_auth(T_PASSWORD, ONL_AUTH_AUTO, OB_OK, "HASHEDPASSWORD");
}

static void test_auth_password_in_memory(void **state)
{
    (void)state;
    run_auth(T_PASSWORD_MEM, ONL_AUTH_PASSWORD, OB_OK, "HASHEDPASSWORD");
}

static void test_auth_bad_serverhash(void **state)
{
    (void)state;
    run_auth(T_BADHASH, ONL_AUTH_AUTO, OB_ERR_VERIFY, NULL);
}

static void test_auth_refused(void **state)
{
    (void)state;
    run_auth(T_REFUSE, ONL_AUTH_SAFECOOKIE, OB_ERR_REFUSED, NULL);
}

static void test_auth_method_not_offered(void **state)
{
    (void)state;
    /* tor offers only NULL; forcing SAFECOOKIE must fail before AUTHENTICATE,
     * so the fake tor sees a hang-up after PROTOCOLINFO (exit 11 expected). */
    char dir[] = "/tmp/ob-test-ctl-XXXXXX", sock[256];
    struct sockaddr_un sa;
    int lfd, status = 0;
    pid_t pid;
    onl_ctl_opts o;
    onl_ctl *ctl = NULL;
    ob_diag d;

    assert_non_null(mkdtemp(dir));
    snprintf(sock, sizeof(sock), "%s/control", dir);
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, sock, strlen(sock));
    lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(lfd, 1), 0);
    pid = fork();
    if (pid == 0)
        _exit(fake_tor(lfd, T_NULL, "/nonexistent"));
    close(lfd);
    onl_ctl_opts_init(&o);
    o.socket_path = sock;
    o.auth = ONL_AUTH_SAFECOOKIE;
    assert_int_equal(onl_ctl_connect(&o, &ctl, &d), OB_ERR_UNSUPPORTED);
    assert_non_null(strstr(d.msg, "offers: NULL"));
    assert_null(ctl);
    waitpid(pid, &status, 0);
    assert_int_equal(WEXITSTATUS(status), 11);
    unlink(sock);
    rmdir(dir);
}

/* Two connections: the first is dropped after SETEVENTS (tor "restarts"). */
static int fake_tor_restart(int lfd)
{
    char line[512];
    int round;

    for (round = 0; round < 2; round++) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0)
            return 30;
        if (rd_line(fd, line, sizeof(line)) != 0 || strcmp(line, "PROTOCOLINFO 1") != 0)
            return 31;
        wr(fd, "250-PROTOCOLINFO 1\r\n250-AUTH METHODS=NULL\r\n"
               "250-VERSION Tor=\"0.4.9.11\"\r\n250 OK\r\n");
        if (rd_line(fd, line, sizeof(line)) != 0 || strcmp(line, "AUTHENTICATE") != 0)
            return 32;
        wr(fd, "250 OK\r\n");
        /* round 0: the caller's SETEVENTS; round 1: restored by the client */
        if (rd_line(fd, line, sizeof(line)) != 0 || strcmp(line, "SETEVENTS HS_DESC") != 0)
            return 33;
        wr(fd, "250 OK\r\n");
        if (round == 0) {
            close(fd);
            continue;
        }
        if (rd_line(fd, line, sizeof(line)) != 0 || strcmp(line, "GETINFO version") != 0)
            return 34;
        wr(fd, "250-version=0.4.9.11\r\n250 OK\r\n");
        close(fd);
    }
    return 0;
}

static void test_reconnect_restores_events(void **state)
{
    char dir[] = "/tmp/ob-test-ctl-XXXXXX", sock[256];
    struct sockaddr_un sa;
    int lfd, status = 0;
    pid_t pid;
    onl_ctl_opts o;
    onl_ctl *ctl = NULL;
    char *v = NULL;
    ob_diag d;
    int64_t t0, dt;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(sock, sizeof(sock), "%s/control", dir);
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, sock, strlen(sock));
    lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(lfd, 2), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(fake_tor_restart(lfd));
    close(lfd);
    onl_ctl_opts_init(&o);
    o.socket_path = sock;
    o.port = 1;
    o.timeout_ms = 3000;
    assert_int_equal(onl_ctl_connect(&o, &ctl, &d), OB_OK);
    assert_int_equal(onl_ctl_generation(ctl), 1);
    assert_int_equal(onl_ctl_setevents(ctl, "HS_DESC", &d), OB_OK);
    /* tor went away: the command fails and the connection is marked down */
    assert_int_equal(onl_ctl_getinfo(ctl, "version", &v, NULL, &d), OB_ERR_NET);
    assert_false(onl_ctl_is_connected(ctl));
    assert_int_equal(onl_ctl_reconnect(ctl, 5000, &d), OB_OK);
    assert_true(onl_ctl_is_connected(ctl));
    assert_int_equal(onl_ctl_generation(ctl), 2);
    assert_int_equal(onl_ctl_getinfo(ctl, "version", &v, NULL, &d), OB_OK);
    assert_string_equal(v, "0.4.9.11");
    free(v);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("fake tor exited %d", WEXITSTATUS(status));
    /* nobody listens any more: retries stop when the time is up */
    unlink(sock);
    t0 = ms_now();
    assert_int_equal(onl_ctl_reconnect(ctl, 700, &d), OB_ERR_NET);
    dt = ms_now() - t0;
    assert_true(dt >= 650);
    assert_true(dt < 3000);
    assert_non_null(strstr(d.msg, "cannot reach tor"));
    assert_int_equal(onl_ctl_generation(ctl), 2);
    onl_ctl_close(ctl);
    rmdir(dir);
}

static void test_connect_refused(void **state)
{
    onl_ctl_opts o;
    onl_ctl *ctl = NULL;
    ob_diag d;

    (void)state;
    onl_ctl_opts_init(&o);
    o.socket_path = "/nonexistent/ob-test/control";
    o.port = 1; /* nothing listens on port 1 */
    assert_int_equal(onl_ctl_connect(&o, &ctl, &d), OB_ERR_NET);
    assert_non_null(strstr(d.msg, "unix:/nonexistent/ob-test/control"));
    assert_non_null(strstr(d.msg, "127.0.0.1:1"));
    o.host = "localhost"; /* names are refused: no resolver */
    assert_int_equal(onl_ctl_connect(&o, &ctl, &d), OB_ERR_NET);
    assert_non_null(strstr(d.msg, "not a numeric address"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_safecookie_vector),
        cmocka_unit_test_setup_teardown(test_getinfo_multikey, setup, teardown),
        cmocka_unit_test_setup_teardown(test_getinfo_data_block, setup, teardown),
        cmocka_unit_test_setup_teardown(test_5xx_surfaced, setup, teardown),
        cmocka_unit_test_setup_teardown(test_event_between_command_and_reply, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hs_desc_shapes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_next_event_zero_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_event_queue_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hs_desc_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hs_desc_content, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_violations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nul_and_garbage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_status_code, setup, teardown),
        cmocka_unit_test_setup_teardown(test_event_inside_reply, setup, teardown),
        cmocka_unit_test_setup_teardown(test_line_over_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_line_at_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_peer_closes_mid_reply, setup, teardown),
        cmocka_unit_test_setup_teardown(test_peer_never_answers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout_mid_event, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hspost_framing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_injection_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_setevents, setup, teardown),
        cmocka_unit_test(test_unquote_and_kv),
        cmocka_unit_test(test_opts_arg),
        cmocka_unit_test(test_auth_safecookie_preferred),
        cmocka_unit_test(test_auth_cookie),
        cmocka_unit_test(test_auth_null),
        cmocka_unit_test(test_auth_password),
        cmocka_unit_test(test_auth_password_in_memory),
        cmocka_unit_test(test_auth_bad_serverhash),
        cmocka_unit_test(test_auth_refused),
        cmocka_unit_test(test_auth_method_not_offered),
        cmocka_unit_test(test_reconnect_restores_events),
        cmocka_unit_test(test_connect_refused),
    };

    signal(SIGPIPE, SIG_IGN);
    alarm(120); /* a hung wait fails the run instead of stalling it */
    if (ob_secmem_init() != 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}

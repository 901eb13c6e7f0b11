/*
 * fuzz_ctl.c - what tor sends on the control port: the reply and event
 * reader, authentication and every command's reply handling (online/ctl.c),
 * and the consensus fetch that drives online/hsdir.c over it.
 *
 * online/ctl.c is compiled into this file, so the target can reach its
 * static reader and hand it the input as what tor has sent: the bytes go
 * straight into the connection's input buffer, and the socket behind it
 * (one end of a socketpair whose other end never writes) reads as closed
 * once they are used up.  Nothing waits: a timeout cannot happen.
 *
 *   make fuzz && build/fuzz/fuzz_ctl -max_len=131072 tests/fuzz/corpus/fuzz_ctl
 *
 * The first byte picks a mode, the rest is tor's side of the conversation:
 *   even  a stream of replies and events, read one message at a time;
 *         events parsed as the collector and publisher see them
 *   odd   a whole session, as ob-online runs one: PROTOCOLINFO and
 *         AUTHENTICATE (bits 1-2: NULL, password, COOKIE, SAFECOOKIE with a
 *         fixed cookie), GETINFO version, SETEVENTS, HSFETCH, HSPOST, the
 *         consensus and its microdescriptors (onl_consensus_fetch), then
 *         every event left
 * Seeds: recorded transcripts (tests/data/vectors/control,
 * tests/data/v2-control) and sessions made from them (make_seeds.sh).
 *
 * Beyond "no crash": every message read ends with an "NNN " line, events keep
 * their fields in their documented shapes, a consensus fetched has
 * consistent times and period parameters.
 */
#include "../../online/ctl.c"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "fzutil.h"
#include "hsdir.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_event(const onl_ctl_event *ev)
{
    size_t al = strlen(ev->address), i;

    if (ev->kind == ONL_EV_OTHER || ev->malformed)
        return;
    if (!(strcmp(ev->address, "UNKNOWN") == 0 ||
          ((al == 16 || al == 56) && is_b32(ev->address, al))))
        abort();
    if (ev->hsdir[0] != '\0') {
        if (strlen(ev->hsdir) != 40)
            abort();
        for (i = 0; i < 40; i++)
            if (!((ev->hsdir[i] >= '0' && ev->hsdir[i] <= '9') ||
                  (ev->hsdir[i] >= 'A' && ev->hsdir[i] <= 'F')))
                abort();
    }
    if (ev->kind == ONL_EV_HS_DESC_CONTENT &&
        (ev->body == NULL || strlen(ev->body) != ev->body_len))
        abort();
}

/* A connection whose peer has already said everything in data. */
static onl_ctl *conn(const uint8_t *data, size_t size, int sv[2])
{
    onl_ctl *c = NULL;
    ob_diag d;

    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        abort();
    shutdown(sv[1], SHUT_WR);
    if (onl_ctl_from_fd(sv[0], &c, &d) != OB_OK)
        abort();
    c->max_reply = 1 << 20;
    if (size > IN_CAP)
        size = IN_CAP;
    memcpy(c->in, data, size);
    c->in_len = size;
    return c;
}

/* sv[0] belongs to the connection, which closes it (or did, on a failure). */
static void conn_close(onl_ctl *c, int sv[2])
{
    onl_ctl_close(c);
    close(sv[1]);
}

static void fuzz_stream(const uint8_t *data, size_t size)
{
    int sv[2];
    onl_ctl *c = conn(data, size, sv);

    for (;;) {
        onl_ctl_reply m = { 0 };
        int started = 0, timed_out = 0;
        onl_ctl_event *ev;

        if (read_message(c, 0, "fuzz", &m, &started, &timed_out, NULL) != OB_OK)
            break;
        if (m.n == 0 || m.lines[m.n - 1].sep != ' ' || m.code != m.lines[m.n - 1].code)
            abort();
        if (m.lines[0].code != 650) {
            (void)onl_ctl_reply_value(&m, "version", NULL);
            onl_ctl_reply_free(&m);
            continue;
        }
        ev = event_from(&m);
        onl_ctl_reply_free(&m);
        if (ev != NULL)
            check_event(ev);
        onl_ctl_event_free(ev);
    }
    conn_close(c, sv);
}

static const char *const servers[2] = { "$0123456789ABCDEF0123456789ABCDEF01234567",
                                        "FEDCBA9876543210FEDCBA9876543210FEDCBA98" };
static const char addr[] = "pg2vmlup4zkpsqdywejorkmlu6ib7bj242k35v7a4oiqxlieszspudyd";
static const char desc[] = "hs-descriptor 3\ndescriptor-lifetime 180\n.a line with a dot\n";
static const uint8_t cookie[32] = "fuzz cookie: 32 bytes, not sec.";

static void fuzz_session(int method, const uint8_t *data, size_t size)
{
    int sv[2];
    onl_ctl *c = conn(data, size, sv);
    onl_consensus *cons = NULL;
    onl_ctl_event *ev = NULL;
    char *value = NULL;
    size_t len = 0;
    ob_diag d;
    ob_err e;
    pinfo pi;

    switch (method) {
    case 0:
        c->auth = ONL_AUTH_NULL;
        e = authenticate(c, &d);
        break;
    case 1:
        c->auth = ONL_AUTH_PASSWORD;
        c->password = ob_secalloc(8);
        if (c->password == NULL)
            abort();
        memcpy(c->password, "fuzz\r\nx", 8);
        e = authenticate(c, &d);
        break;
    default:
        /* tor names the cookie file; here the cookie is given */
        e = protocolinfo(c, &pi, &d);
        if (e == OB_OK)
            e = method == 2 ? auth_cookie(c, cookie, &d) : auth_safecookie(c, cookie, "fuzz", &d);
        break;
    }
    fz_note("authenticate", e, &d);
    e = onl_ctl_getinfo(c, "version", &value, &len, &d);
    fz_note("getinfo", e, &d);
    if (e == OB_OK && (value == NULL || strlen(value) != len))
        abort();
    free(value);
    fz_note("setevents", onl_ctl_setevents(c, "HS_DESC HS_DESC_CONTENT", &d), &d);
    fz_note("hsfetch", onl_ctl_hsfetch(c, addr, servers, 2, &d), &d);
    fz_note("hspost", onl_ctl_hspost(c, desc, sizeof(desc) - 1, servers, 1, addr, &d), &d);
    e = onl_consensus_fetch(c, &cons, &d);
    fz_note("consensus", e, &d);
    if (e == OB_OK) {
        if (cons->fresh_until <= cons->valid_after || cons->tp.length_min == 0 ||
            cons->n_nodes > cons->n_relays)
            abort();
        onl_consensus_free(cons);
    }
    while (onl_ctl_next_event(c, &ev, 0, &d) == OB_OK && ev != NULL) {
        check_event(ev);
        onl_ctl_event_free(ev);
    }
    conn_close(c, sv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int inited;

    if (!inited) {
        if (ob_secmem_init() != 0)
            abort();
        unsetenv(ONL_CTL_ENV_PASSWORD);
        inited = 1;
    }
    if (size < 1)
        return 0;
    if (data[0] & 1)
        fuzz_session((data[0] >> 1) & 3, data + 1, size - 1);
    else
        fuzz_stream(data + 1, size - 1);
    return 0;
}

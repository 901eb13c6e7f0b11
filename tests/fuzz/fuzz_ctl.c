/*
 * fuzz_ctl.c - fuzz entry point for what tor sends us: the control-port reply
 * and event reader (online/ctl.c) and the consensus and microdescriptor
 * parsers (online/hsdir.c).
 *
 * The two online/ sources are compiled into this file (make fuzz links
 * format/ only), which also lets it feed bytes straight into the reader's
 * input buffer: no socket, the "connection" ends where the input does.
 *
 *   make fuzz && build/fuzz/fuzz_ctl -max_total_time=60 CORPUS_DIR
 * Replay without libFuzzer: add -DOB_FUZZ_MAIN and pass files.
 *
 * Beyond "no crash": every message read ends with an "NNN " line, events keep
 * their fields in their documented shapes, and a consensus that parses has
 * consistent times and period parameters.
 */
#include "../../online/ctl.c"
#include "../../online/hsdir.c"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static void fuzz_stream(const uint8_t *data, size_t size)
{
    onl_ctl *c = ctl_alloc();

    if (c == NULL)
        return;
    c->max_reply = 1 << 20;
    if (size > IN_CAP)
        size = IN_CAP;
    memcpy(c->in, data, size);
    c->in_len = size;
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
    onl_ctl_close(c);
}

static void fuzz_consensus(const uint8_t *data, size_t size)
{
    onl_consensus *c = NULL;
    char out[64];

    if (onl_consensus_parse((const char *)data, size, -1, &c, NULL) == OB_OK) {
        if (c->fresh_until <= c->valid_after || c->tp.length_min == 0 || c->n_nodes > c->n_relays ||
            c->n_replicas < 1 || c->n_replicas > 16)
            abort();
        if (c->n_nodes > 0) {
            uint8_t Ab[32] = { 0 }, srv[32] = { 0 };
            size_t idx[64], n = 0;
            (void)onl_consensus_set_md(c, 0, (const char *)data, size, NULL);
            if (onl_hsdir_responsible(c, Ab, 1, srv, c->spread_store, idx, 64, &n, NULL) == OB_OK) {
                size_t i;
                for (i = 0; i < n; i++)
                    if (idx[i] >= c->n_nodes)
                        abort();
            }
        }
        onl_consensus_free(c);
    }
    /* the same bytes as a reply line's KEY=VALUE / quoted string */
    if (size > 0 && size < 4096 && memchr(data, '\0', size) == NULL) {
        char *s = malloc(size + 1);
        if (s != NULL) {
            memcpy(s, data, size);
            s[size] = '\0';
            (void)onl_ctl_kv(s, "COOKIEFILE", out, sizeof(out), NULL);
            (void)onl_ctl_unquote(s, size, out, sizeof(out), NULL, NULL);
            free(s);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int inited;

    if (!inited) {
        if (ob_secmem_init() != 0)
            abort();
        inited = 1;
    }
    fuzz_stream(data, size);
    fuzz_consensus(data, size);
    return 0;
}

#ifdef OB_FUZZ_MAIN
int main(int argc, char **argv)
{
    int i;

    for (i = 1; i < argc; i++) {
        static uint8_t buf[1 << 20];
        size_t n;
        FILE *f = fopen(argv[i], "rb");
        if (f == NULL)
            return 2;
        n = fread(buf, 1, sizeof(buf), f);
        fclose(f);
        LLVMFuzzerTestOneInput(buf, n);
    }
    return 0;
}
#endif

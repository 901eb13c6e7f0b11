/*
 * fuzz_hsdir.c - the consensus and microdescriptor parsers and the HSDir
 * ring built from them (online/hsdir.c), and the control port's
 * KEY=VALUE / quoted-string readers (online/ctl.c) on the same bytes.
 *
 *   make fuzz && build/fuzz/fuzz_hsdir -max_len=262144 tests/fuzz/corpus/fuzz_hsdir
 *
 * The first byte picks how the consensus is read: 0 as tor says it is a
 * test network, 1 not, else tor would not say (-1); the rest is the
 * document.  Microdescriptors are taken from the same bytes for node 0 and
 * every node after the first "onion-key" line.
 * Seeds: consensuses and microdescriptors from the live transcript in
 * tests/data/vectors/control and from a test network (make_seeds.sh).
 *
 * Beyond "no crash": a consensus that parses has consistent times and
 * period parameters, and the HSDirs the ring picks exist and are distinct.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "fzutil.h"
#include "hsdir.h"
#include "secmem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void ring(const onl_consensus *c)
{
    static const uint8_t Ab[32] = { 1, 2, 3 };
    uint8_t srv[32] = { 0 };
    size_t idx[64], n = 0, i, j;
    ob_diag d;
    ob_err e;

    e = onl_hsdir_responsible(c, Ab, 19000, srv, c->spread_store, idx, 64, &n, &d);
    fz_note("responsible", e, &d);
    if (e != OB_OK)
        return;
    if (n > 64)
        abort();
    for (i = 0; i < n; i++) {
        if (idx[i] >= c->n_nodes)
            abort();
        for (j = 0; j < i; j++)
            if (idx[j] == idx[i])
                abort();
    }
}

static const char *find(const char *p, size_t n, const char *s)
{
    size_t k = strlen(s), i;

    for (i = 0; i + k <= n; i++)
        if (memcmp(p + i, s, k) == 0)
            return p + i;
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int inited;
    onl_consensus *c = NULL;
    const char *doc;
    int testing;
    ob_diag d;
    ob_err e;
    char out[64];

    if (!inited) {
        if (ob_secmem_init() != 0)
            abort();
        inited = 1;
    }
    if (size < 1 || size > (4u << 20))
        return 0;
    testing = data[0] == 0 ? 1 : data[0] == 1 ? 0 : -1;
    doc = (const char *)data + 1;
    size--;
    e = onl_consensus_parse(doc, size, testing, &c, &d);
    fz_note("consensus", e, &d);
    if (e == OB_OK) {
        const char *md = find(doc, size, "onion-key");
        size_t i;
        if (c->fresh_until <= c->valid_after || c->tp.length_min == 0 || c->n_nodes > c->n_relays ||
            c->n_replicas < 1 || c->n_replicas > 16)
            abort();
        for (i = 0; i < c->n_nodes; i++) {
            const char *p = i == 0 || md == NULL ? doc : md;
            size_t n = (size_t)(doc + size - p);
            e = onl_consensus_set_md(c, i, p, n, &d);
            if (i == 0)
                fz_note("md", e, &d);
        }
        ring(c);
        onl_consensus_free(c);
    }
    /* the same bytes as a reply line's KEY=VALUE and quoted string */
    if (size > 0 && size < 4096 && memchr(doc, '\0', size) == NULL) {
        char *s = malloc(size + 1);
        if (s != NULL) {
            memcpy(s, doc, size);
            s[size] = '\0';
            (void)onl_ctl_kv(s, "COOKIEFILE", out, sizeof(out), NULL);
            (void)onl_ctl_unquote(s, size, out, sizeof(out), NULL, NULL);
            free(s);
        }
    }
    return 0;
}

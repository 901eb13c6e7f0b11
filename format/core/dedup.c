/* dedup.c - equal keys found by hash, confirmed by bytes (dedup.h). */
#include "dedup.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct entry {
    uint64_t hash;
    ob_iov part[OB_DEDUP_MAX_PARTS];
    size_t nparts;
} entry;

struct ob_dedup {
    entry *v; /* in order of first appearance */
    size_t n, cap;
    long *slot;   /* open addressing: index into v, or -1 */
    size_t nslot; /* a power of two, at least twice n */
};

/* Not cryptographic: spreads keys over the slots, 8 bytes at a time. */
static uint64_t mix(uint64_t h, const uint8_t *p, size_t n)
{
    uint64_t w;

    while (n >= 8) {
        memcpy(&w, p, 8);
        h = (h ^ w) * UINT64_C(0x9e3779b97f4a7c15);
        h ^= h >> 29;
        p += 8;
        n -= 8;
    }
    w = 0;
    memcpy(&w, p, n);
    h = (h ^ w ^ ((uint64_t)n << 56)) * UINT64_C(0xbf58476d1ce4e5b9);
    return h ^ (h >> 31);
}

static uint64_t key_hash(const ob_iov *key, size_t nparts)
{
    uint64_t h = UINT64_C(0x6a09e667f3bcc909);
    size_t i;

    for (i = 0; i < nparts; i++)
        h = mix(h ^ key[i].n, key[i].p, key[i].n);
    return h;
}

static int key_eq(const entry *e, uint64_t h, const ob_iov *key, size_t nparts)
{
    size_t i;

    if (e->hash != h || e->nparts != nparts)
        return 0;
    for (i = 0; i < nparts; i++)
        if (e->part[i].n != key[i].n || (key[i].n > 0 && e->part[i].p != key[i].p &&
                                         memcmp(e->part[i].p, key[i].p, key[i].n) != 0))
            return 0;
    return 1;
}

static int grow_slots(ob_dedup *m)
{
    size_t ns = m->nslot ? m->nslot * 2 : 64, i, j;
    long *s = malloc(ns * sizeof(*s));

    if (s == NULL)
        return -1;
    for (i = 0; i < ns; i++)
        s[i] = -1;
    for (i = 0; i < m->n; i++) {
        for (j = (size_t)m->v[i].hash & (ns - 1); s[j] >= 0; j = (j + 1) & (ns - 1))
            ;
        s[j] = (long)i;
    }
    free(m->slot);
    m->slot = s;
    m->nslot = ns;
    return 0;
}

ob_dedup *ob_dedup_new(void)
{
    ob_dedup *m = calloc(1, sizeof(*m));

    if (m != NULL && grow_slots(m) != 0) {
        free(m);
        return NULL;
    }
    return m;
}

void ob_dedup_free(ob_dedup *m)
{
    if (m == NULL)
        return;
    free(m->v);
    free(m->slot);
    free(m);
}

size_t ob_dedup_count(const ob_dedup *m)
{
    return m->n;
}

long ob_dedup_put(ob_dedup *m, const ob_iov *key, size_t nparts, int *added)
{
    uint64_t h;
    size_t j;

    *added = 0;
    if (nparts == 0 || nparts > OB_DEDUP_MAX_PARTS)
        return -1;
    /* At most half full after this put, so probing stays short. */
    if (2 * (m->n + 1) > m->nslot && grow_slots(m) != 0)
        return -1;
    h = key_hash(key, nparts);
    for (j = (size_t)h & (m->nslot - 1); m->slot[j] >= 0; j = (j + 1) & (m->nslot - 1))
        if (key_eq(&m->v[m->slot[j]], h, key, nparts))
            return m->slot[j];
    if (m->n == m->cap) {
        size_t nc = m->cap ? m->cap * 2 : 16;
        entry *v = realloc(m->v, nc * sizeof(*v));
        if (v == NULL)
            return -1;
        m->v = v;
        m->cap = nc;
    }
    m->v[m->n].hash = h;
    m->v[m->n].nparts = nparts;
    memcpy(m->v[m->n].part, key, nparts * sizeof(*key));
    m->slot[j] = (long)m->n;
    m->n++;
    *added = 1;
    return (long)(m->n - 1);
}

/*
 * vecfile.h - read the test-vector files the project carries ($OB_TESTDATA/...)
 * at test time, so no expected value is pasted into C.
 *
 * Format (tests/data/vectors/README.rst): "[section]" headers, "key = value" lines,
 * "#" comment lines and trailing " # ..." comments; keys may repeat (an
 * ordered list).  A missing or unreadable file fails the test: vectors that
 * silently vanish must not turn into passing tests.
 *
 * Header-only (static inline) because every tests/unit/test_*.c is its own
 * program and the Makefile only builds test_*.c files.
 */
#ifndef OB_TEST_VECFILE_H
#define OB_TEST_VECFILE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "encode.h"

typedef struct vec_entry {
    char section[64];
    char key[64];
    char value[1024];
} vec_entry;

typedef struct vec_file {
    vec_entry *e;
    size_t n;
} vec_file;

static inline void vec_path(char *out, size_t outlen, const char *rel)
{
    const char *base = getenv("OB_TESTDATA");
    if (rel[0] == '/') {
        snprintf(out, outlen, "%s", rel);
        return;
    }
    snprintf(out, outlen, "%s/%s", base && *base ? base : "tests/data/vectors", rel);
}

/* Strip leading/trailing blanks in place; returns the start. */
static inline char *vec_trim(char *s)
{
    size_t n;
    while (*s == ' ' || *s == '\t')
        s++;
    n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

/* Copy a NUL-terminated string; -1 (nothing copied) if it does not fit. */
static inline int vec_copy(char *dst, size_t dsz, const char *src)
{
    size_t n = strlen(src);
    if (n >= dsz)
        return -1;
    memcpy(dst, src, n + 1);
    return 0;
}

/* Load rel (relative to $OB_TESTDATA, default tests/data/vectors, or an absolute path) or return
 * NULL. */
static inline vec_file *vec_load(const char *rel)
{
    char path[1024], line[2048], section[64] = "";
    FILE *f;
    vec_file *vf;

    vec_path(path, sizeof(path), rel);
    f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "cannot open vector file %s\n", path);
        return NULL;
    }
    vf = calloc(1, sizeof(*vf));
    if (vf == NULL) {
        fclose(f);
        return NULL;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        char *s = vec_trim(line), *eq, *hash, *k, *v;
        vec_entry *ne;
        if (*s == '\0' || *s == '#')
            continue;
        if (*s == '[') {
            char *end = strchr(s, ']');
            if (end != NULL) {
                *end = '\0';
                if (vec_copy(section, sizeof(section), s + 1) != 0)
                    goto bad;
            }
            continue;
        }
        eq = strstr(s, " = ");
        if (eq == NULL)
            continue;
        *eq = '\0';
        k = vec_trim(s);
        v = eq + 3;
        hash = strstr(v, " #");
        if (hash != NULL)
            *hash = '\0';
        v = vec_trim(v);
        ne = realloc(vf->e, (vf->n + 1) * sizeof(*vf->e));
        if (ne == NULL)
            goto bad;
        vf->e = ne;
        if (vec_copy(vf->e[vf->n].section, sizeof(vf->e[vf->n].section), section) != 0 ||
            vec_copy(vf->e[vf->n].key, sizeof(vf->e[vf->n].key), k) != 0 ||
            vec_copy(vf->e[vf->n].value, sizeof(vf->e[vf->n].value), v) != 0)
            goto bad;
        vf->n++;
    }
    fclose(f);
    return vf;
bad:
    /* a line longer than this reader handles: fail rather than truncate */
    fprintf(stderr, "vector file %s: over-long section, key or value\n", path);
    fclose(f);
    free(vf->e);
    free(vf);
    return NULL;
}

static inline void vec_free(vec_file *vf)
{
    if (vf == NULL)
        return;
    free(vf->e);
    free(vf);
}

/* idx-th value of key in section, or NULL. */
static inline const char *vec_get(const vec_file *vf, const char *section, const char *key,
                                  size_t idx)
{
    size_t i;
    for (i = 0; i < vf->n; i++)
        if (strcmp(vf->e[i].section, section) == 0 && strcmp(vf->e[i].key, key) == 0 && idx-- == 0)
            return vf->e[i].value;
    return NULL;
}

/* Decode the hex value of key into exactly n bytes: 0, or -1 if absent/bad. */
static inline int vec_hex(const vec_file *vf, const char *section, const char *key, uint8_t *out,
                          size_t n)
{
    const char *v = vec_get(vf, section, key, 0);
    if (v == NULL || strlen(v) != 2 * n) {
        fprintf(stderr, "vector [%s] %s: missing or not %zu hex bytes\n", section, key, n);
        return -1;
    }
    return ob_hex_decode(out, n, v, 2 * n);
}

static inline int vec_u64(const vec_file *vf, const char *section, const char *key, size_t idx,
                          uint64_t *out)
{
    const char *v = vec_get(vf, section, key, idx);
    char *end = NULL;
    if (v == NULL || *v == '\0')
        return -1;
    *out = strtoull(v, &end, 10);
    return *end == '\0' ? 0 : -1;
}

/* Number of distinct sections whose name starts with prefix. */
static inline size_t vec_count_sections(const vec_file *vf, const char *prefix)
{
    size_t i, count = 0;
    const char *last = NULL;
    for (i = 0; i < vf->n; i++) {
        if (strncmp(vf->e[i].section, prefix, strlen(prefix)) != 0)
            continue;
        if (last == NULL || strcmp(last, vf->e[i].section) != 0)
            count++;
        last = vf->e[i].section;
    }
    return count;
}

#endif

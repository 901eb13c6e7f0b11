/* buf.c - bounds-checked input cursor and growable (optionally secure) output buffer. */
#include "buf.h"
#include "secmem.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ob_cur_init(ob_cur *c, const void *p, size_t len)
{
    c->p = p;
    c->len = p == NULL ? 0 : len;
    c->off = 0;
}

size_t ob_cur_left(const ob_cur *c)
{
    return c->len - c->off;
}

int ob_cur_is_empty(const ob_cur *c)
{
    return c->off == c->len;
}

const uint8_t *ob_cur_ptr(const ob_cur *c)
{
    return c->p + c->off;
}

int ob_cur_borrow(ob_cur *c, size_t n, const uint8_t **out)
{
    if (n > ob_cur_left(c))
        return -1;
    *out = c->p + c->off;
    c->off += n;
    return 0;
}

int ob_cur_skip(ob_cur *c, size_t n)
{
    const uint8_t *dummy;

    return ob_cur_borrow(c, n, &dummy);
}

int ob_cur_get_bytes(ob_cur *c, void *out, size_t n)
{
    const uint8_t *p;

    if (ob_cur_borrow(c, n, &p) != 0)
        return -1;
    if (n > 0)
        memcpy(out, p, n);
    return 0;
}

int ob_cur_sub(ob_cur *c, size_t n, ob_cur *sub)
{
    const uint8_t *p;

    if (ob_cur_borrow(c, n, &p) != 0)
        return -1;
    ob_cur_init(sub, p, n);
    return 0;
}

int ob_cur_get_u8(ob_cur *c, uint8_t *v)
{
    return ob_cur_get_bytes(c, v, 1);
}

int ob_cur_get_u16(ob_cur *c, uint16_t *v)
{
    const uint8_t *p;

    if (ob_cur_borrow(c, 2, &p) != 0)
        return -1;
    *v = ob_load_u16(p);
    return 0;
}

int ob_cur_get_u32(ob_cur *c, uint32_t *v)
{
    const uint8_t *p;

    if (ob_cur_borrow(c, 4, &p) != 0)
        return -1;
    *v = ob_load_u32(p);
    return 0;
}

int ob_cur_get_u64(ob_cur *c, uint64_t *v)
{
    const uint8_t *p;

    if (ob_cur_borrow(c, 8, &p) != 0)
        return -1;
    *v = ob_load_u64(p);
    return 0;
}

int ob_cur_line(ob_cur *c, const char **line, size_t *n)
{
    const uint8_t *start, *nl;
    size_t i, len;

    /* An empty cursor may hold NULL, which memchr must not see. */
    if (ob_cur_left(c) == 0)
        return -1;
    start = c->p + c->off;
    nl = memchr(start, '\n', ob_cur_left(c));
    if (nl == NULL)
        return -1;
    len = (size_t)(nl - start);
    /* Eight bytes at a time: does any of them equal 0 or '\r'? */
    for (i = 0; i + 8 <= len; i += 8) {
        uint64_t x, y;
        memcpy(&x, start + i, 8);
        y = x ^ 0x0d0d0d0d0d0d0d0dull;
        if ((((x - 0x0101010101010101ull) & ~x) | ((y - 0x0101010101010101ull) & ~y)) &
            0x8080808080808080ull)
            return -2;
    }
    for (; i < len; i++) {
        if (start[i] == '\0' || start[i] == '\r')
            return -2;
    }
    *line = (const char *)start;
    *n = len;
    c->off += len + 1;
    return 0;
}

int ob_cur_startswith(const ob_cur *c, const char *s)
{
    size_t n = strlen(s);

    return n <= ob_cur_left(c) && memcmp(c->p + c->off, s, n) == 0;
}

void ob_buf_init(ob_buf *b)
{
    memset(b, 0, sizeof(*b));
}

void ob_buf_init_secure(ob_buf *b)
{
    memset(b, 0, sizeof(*b));
    b->secure = 1;
}

void ob_buf_free(ob_buf *b)
{
    int secure;

    if (b == NULL)
        return;
    secure = b->secure;
    if (b->p != NULL) {
        ob_wipe(b->p, b->cap);
        if (secure)
            ob_secfree(b->p);
        else
            free(b->p);
    }
    memset(b, 0, sizeof(*b));
    b->secure = secure;
}

void ob_buf_reset(ob_buf *b)
{
    ob_wipe(b->p, b->len);
    b->len = 0;
}

int ob_buf_ok(const ob_buf *b)
{
    return !b->failed;
}

int ob_buf_reserve(ob_buf *b, size_t n)
{
    size_t ncap;
    uint8_t *np;

    if (b->failed)
        return -1;
    if (n <= b->cap - b->len)
        return 0;
    if (n > SIZE_MAX / 2 - b->len)
        goto fail;
    ncap = b->cap < 64 ? 64 : b->cap;
    while (ncap - b->len < n)
        ncap *= 2;
    /* Never realloc(): the old block must be wiped, not left behind. */
    np = b->secure ? ob_secalloc(ncap) : malloc(ncap);
    if (np == NULL)
        goto fail;
    if (b->len > 0)
        memcpy(np, b->p, b->len);
    if (b->p != NULL) {
        ob_wipe(b->p, b->cap);
        if (b->secure)
            ob_secfree(b->p);
        else
            free(b->p);
    }
    b->p = np;
    b->cap = ncap;
    return 0;
fail:
    b->failed = 1;
    return -1;
}

void ob_buf_put(ob_buf *b, const void *p, size_t n)
{
    if (n == 0 || ob_buf_reserve(b, n) != 0)
        return;
    memcpy(b->p + b->len, p, n);
    b->len += n;
}

void ob_buf_put_u8(ob_buf *b, uint8_t v)
{
    ob_buf_put(b, &v, 1);
}

void ob_buf_put_u16(ob_buf *b, uint16_t v)
{
    uint8_t t[2];

    ob_store_u16(t, v);
    ob_buf_put(b, t, sizeof(t));
}

void ob_buf_put_u32(ob_buf *b, uint32_t v)
{
    uint8_t t[4];

    ob_store_u32(t, v);
    ob_buf_put(b, t, sizeof(t));
}

void ob_buf_put_u64(ob_buf *b, uint64_t v)
{
    uint8_t t[8];

    ob_store_u64(t, v);
    ob_buf_put(b, t, sizeof(t));
}

void ob_buf_put_str(ob_buf *b, const char *s)
{
    ob_buf_put(b, s, strlen(s));
}

void ob_buf_printf(ob_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (b->failed)
        return;
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = 1;
        return;
    }
    if (ob_buf_reserve(b, (size_t)n + 1) != 0)
        return;
    va_start(ap, fmt);
    vsnprintf((char *)b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void ob_buf_nul(ob_buf *b)
{
    if (ob_buf_reserve(b, 1) != 0)
        return;
    b->p[b->len] = '\0';
}

uint8_t *ob_buf_detach(ob_buf *b, size_t *len)
{
    uint8_t *p;

    if (b->failed) {
        ob_buf_free(b);
        return NULL;
    }
    if (b->p == NULL && ob_buf_reserve(b, 1) != 0)
        return NULL;
    p = b->p;
    if (len != NULL)
        *len = b->len;
    b->p = NULL;
    b->len = b->cap = 0;
    return p;
}

void ob_store_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

void ob_store_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

void ob_store_u64(uint8_t *p, uint64_t v)
{
    ob_store_u32(p, (uint32_t)(v >> 32));
    ob_store_u32(p + 4, (uint32_t)v);
}

uint16_t ob_load_u16(const uint8_t *p)
{
    return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

uint32_t ob_load_u32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

uint64_t ob_load_u64(const uint8_t *p)
{
    return (uint64_t)ob_load_u32(p) << 32 | ob_load_u32(p + 4);
}

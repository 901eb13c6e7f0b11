/*
 * buf.h - the input cursor every parser reads through, and the growable
 * output buffer every encoder writes into.
 *
 * ob_cur never lets a caller index raw input: each getter checks that the
 * bytes are there (without overflow: it compares against what is left, never
 * adds to the offset first) and returns -1, leaving the cursor unchanged, when
 * they are not.  Callers tell "truncated" (a getter failed) from "malformed"
 * (the bytes were there but wrong) and report c->off as the position.
 *
 * ob_buf collects output.  A failed allocation sets a sticky flag, so a run of
 * puts can be checked once at the end with ob_buf_ok().  A buffer made with
 * ob_buf_init_secure() lives in libsodium guarded, locked memory; every
 * buffer is wiped when it grows and when it is freed.
 */
#ifndef OB_BUF_H
#define OB_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct ob_cur {
    const uint8_t *p;
    size_t len;
    size_t off;
} ob_cur;

void ob_cur_init(ob_cur *c, const void *p, size_t len);
size_t ob_cur_left(const ob_cur *c);
int ob_cur_is_empty(const ob_cur *c);
/* Pointer to the current position (valid for ob_cur_left() bytes). */
const uint8_t *ob_cur_ptr(const ob_cur *c);

/* Fixed-width big-endian integers.  0 on success, -1 if truncated. */
int ob_cur_get_u8(ob_cur *c, uint8_t *v);
int ob_cur_get_u16(ob_cur *c, uint16_t *v);
int ob_cur_get_u32(ob_cur *c, uint32_t *v);
int ob_cur_get_u64(ob_cur *c, uint64_t *v);
/* n bytes: copied out, or borrowed in place (pointer into the input). */
int ob_cur_get_bytes(ob_cur *c, void *out, size_t n);
int ob_cur_borrow(ob_cur *c, size_t n, const uint8_t **out);
int ob_cur_skip(ob_cur *c, size_t n);
/* Split off the next n bytes as a cursor of their own. */
int ob_cur_sub(ob_cur *c, size_t n, ob_cur *sub);

/*
 * Next line of text.  On success *line points at its first byte, *n is its
 * length without the '\n', and the cursor moves past the '\n'.  Returns -1
 * when no '\n' is left (the cursor does not move) and -2 when the line holds
 * a NUL or '\r' (text formats here are LF-only and NUL-free).
 */
int ob_cur_line(ob_cur *c, const char **line, size_t *n);
/* Does the remaining input start with the n bytes at s? */
int ob_cur_startswith(const ob_cur *c, const char *s);

typedef struct ob_buf {
    uint8_t *p;
    size_t len;
    size_t cap;
    int secure; /* p is libsodium guarded memory */
    int failed; /* an allocation failed; further puts are ignored */
} ob_buf;

void ob_buf_init(ob_buf *b);
void ob_buf_init_secure(ob_buf *b);
/* Wipe and free; the buffer is left empty and reusable. NULL-tolerant. */
void ob_buf_free(ob_buf *b);
/* Drop the contents (wiped) but keep the allocation. */
void ob_buf_reset(ob_buf *b);
int ob_buf_ok(const ob_buf *b);
/* Ensure room for n more bytes. 0 or -1. */
int ob_buf_reserve(ob_buf *b, size_t n);

void ob_buf_put(ob_buf *b, const void *p, size_t n);
void ob_buf_put_u8(ob_buf *b, uint8_t v);
void ob_buf_put_u16(ob_buf *b, uint16_t v);
void ob_buf_put_u32(ob_buf *b, uint32_t v);
void ob_buf_put_u64(ob_buf *b, uint64_t v);
void ob_buf_put_str(ob_buf *b, const char *s);
void ob_buf_printf(ob_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Make the contents NUL-terminated without counting the NUL in len. */
void ob_buf_nul(ob_buf *b);

/*
 * Hand the bytes to the caller (who frees them with free(), or
 * ob_secfree() for a secure buffer); the buffer is left empty.
 * Returns NULL if the buffer failed.
 */
uint8_t *ob_buf_detach(ob_buf *b, size_t *len);

/* Big-endian stores and loads for fixed layouts. */
void ob_store_u16(uint8_t *p, uint16_t v);
void ob_store_u32(uint8_t *p, uint32_t v);
void ob_store_u64(uint8_t *p, uint64_t v);
uint16_t ob_load_u16(const uint8_t *p);
uint32_t ob_load_u32(const uint8_t *p);
uint64_t ob_load_u64(const uint8_t *p);

#endif

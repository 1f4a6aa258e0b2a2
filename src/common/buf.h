/*
 * buf: bounded readers and writers for untrusted bytes.
 *
 * All byte handling of network input goes through struct rbuf (a read cursor
 * that can never pass its end) and struct wbuf (a writer that refuses to grow
 * past its capacity and remembers that it did). Callers check `err` once at the
 * end instead of after every field: after an overflow every further read returns
 * zeros and every further write is a no-op. Header-only, no allocation.
 */
#ifndef RAMPART_COMMON_BUF_H
#define RAMPART_COMMON_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct rbuf {
    const uint8_t *data;
    size_t len;
    size_t pos;
    bool err;
};

static inline struct rbuf rbuf_make(const void *data, size_t len)
{
    return (struct rbuf){.data = data, .len = len, .pos = 0, .err = false};
}

static inline size_t rbuf_left(const struct rbuf *b) { return b->err ? 0 : b->len - b->pos; }

static inline uint8_t rbuf_u8(struct rbuf *b)
{
    if (rbuf_left(b) < 1) { b->err = true; return 0; }
    return b->data[b->pos++];
}

static inline uint16_t rbuf_u16(struct rbuf *b)
{
    if (rbuf_left(b) < 2) { b->err = true; return 0; }
    uint16_t v = (uint16_t)(b->data[b->pos] << 8 | b->data[b->pos + 1]);
    b->pos += 2;
    return v;
}

static inline uint32_t rbuf_u32(struct rbuf *b)
{
    uint32_t hi = rbuf_u16(b);
    return hi << 16 | rbuf_u16(b);
}

/// Returns a pointer to the next n bytes and skips them, or NULL (and err) if short.
static inline const uint8_t *rbuf_take(struct rbuf *b, size_t n)
{
    if (rbuf_left(b) < n) { b->err = true; return NULL; }
    const uint8_t *p = b->data + b->pos;
    b->pos += n;
    return p;
}

struct wbuf {
    uint8_t *data;
    size_t cap;
    size_t len;
    bool err;
};

static inline struct wbuf wbuf_make(void *data, size_t cap)
{
    return (struct wbuf){.data = data, .cap = cap, .len = 0, .err = false};
}

static inline bool wbuf_room(const struct wbuf *b, size_t n) { return !b->err && b->cap - b->len >= n; }

static inline void wbuf_bytes(struct wbuf *b, const void *p, size_t n)
{
    if (!wbuf_room(b, n)) { b->err = true; return; }
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

static inline void wbuf_u8(struct wbuf *b, uint8_t v) { wbuf_bytes(b, &v, 1); }

static inline void wbuf_u16(struct wbuf *b, uint16_t v)
{
    uint8_t t[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    wbuf_bytes(b, t, 2);
}

static inline void wbuf_u32(struct wbuf *b, uint32_t v)
{
    uint8_t t[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    wbuf_bytes(b, t, 4);
}

/// Overwrite a 16-bit value already written at offset off (e.g. a count or length).
static inline void wbuf_put_u16_at(struct wbuf *b, size_t off, uint16_t v)
{
    if (off + 2 > b->len) { b->err = true; return; }
    b->data[off] = (uint8_t)(v >> 8);
    b->data[off + 1] = (uint8_t)v;
}

#endif

/*
 * strbuf: a growable text buffer for building replies and reports (JSON,
 * Prometheus text, aligned tables).
 *
 * Like wbuf (buf.h) it remembers failure instead of making every caller check:
 * after an allocation failure or once `max` bytes would be exceeded, `err` is
 * set and every further append is a no-op. The text is always NUL-terminated
 * once anything was appended. Not for the answer path: it allocates.
 */
#ifndef RAMPART_COMMON_STRBUF_H
#define RAMPART_COMMON_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

struct strbuf {
    char *data;               /* NUL-terminated; NULL until the first append */
    size_t len, cap;
    size_t max;               /* 0: 64 MiB */
    bool err;
};

/// Append n bytes of s.
void strbuf_add(struct strbuf *b, const char *s, size_t n);

/// Append a NUL-terminated string.
void strbuf_puts(struct strbuf *b, const char *s);

/// Append printf-style.
void strbuf_printf(struct strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/// Append n copies of c (padding for aligned columns).
void strbuf_pad(struct strbuf *b, char c, size_t n);

/// The text so far ("" when empty).
const char *strbuf_str(const struct strbuf *b);

/// Release the memory; the buffer may be reused afterwards.
void strbuf_free(struct strbuf *b);

#endif

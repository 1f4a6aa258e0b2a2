#include "strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { STRBUF_DEFAULT_MAX = 64 << 20 };

/* Make room for n more bytes plus the terminating NUL. */
static bool reserve(struct strbuf *b, size_t n)
{
    if (b->err)
        return false;
    size_t max = b->max ? b->max : STRBUF_DEFAULT_MAX;
    if (n > max || b->len > max - n) {
        b->err = true;
        return false;
    }
    if (b->len + n + 1 <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1)
        cap *= 2;
    char *d = realloc(b->data, cap);
    if (!d) {
        b->err = true;
        return false;
    }
    b->data = d;
    b->cap = cap;
    return true;
}

void strbuf_add(struct strbuf *b, const char *s, size_t n)
{
    if (!reserve(b, n))
        return;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void strbuf_puts(struct strbuf *b, const char *s) { strbuf_add(b, s, strlen(s)); }

void strbuf_printf(struct strbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->err = true;
        return;
    }
    if (!reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void strbuf_pad(struct strbuf *b, char c, size_t n)
{
    if (!reserve(b, n))
        return;
    memset(b->data + b->len, c, n);
    b->len += n;
    b->data[b->len] = '\0';
}

const char *strbuf_str(const struct strbuf *b) { return b->data ? b->data : ""; }

void strbuf_free(struct strbuf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->err = false;
}

/*
 * json: writing JSON strings, and a small strict JSON reader (RFC 8259).
 *
 * Writer: json_string() quotes and escapes any bytes so that the output is
 * valid JSON in UTF-8 (invalid UTF-8 becomes U+FFFD): file names and error
 * messages may hold anything.
 *
 * Reader: used by the `rampart` command on the replies of a daemon's control
 * socket. Trust boundary: the reply comes from a local socket the operator
 * chose, but the reader treats it as hostile anyway: the caller bounds the
 * input size, nesting is limited to JSON_MAX_DEPTH, memory is about 56 bytes
 * per value plus twice the input, and any deviation from the grammar is an
 * error with its byte offset (no extensions: no comments, no trailing commas).
 */
#ifndef RAMPART_COMMON_JSON_H
#define RAMPART_COMMON_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strbuf.h"

/// Append s[0..n) as a quoted JSON string.
void json_string(struct strbuf *b, const char *s, size_t n);

/// Append a NUL-terminated string as a quoted JSON string, or null for NULL.
void json_cstring(struct strbuf *b, const char *s);

enum { JSON_MAX_DEPTH = 64 };

enum json_type { JSON_NULL, JSON_FALSE, JSON_TRUE, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT };

/// One parsed value. Owned by its json_doc; valid until json_free().
struct json_value {
    enum json_type type;
    const char *key;                  /* member name inside an object, else NULL */
    const char *str;                  /* STRING: unescaped, NUL-terminated (len excludes it);
                                         NUMBER: the number as written */
    size_t len;
    const struct json_value *child;   /* ARRAY/OBJECT: first element or member */
    const struct json_value *next;    /* next element or member of the parent */
};

struct json_doc;

/// Parse text[0..len) (one value, surrounding whitespace allowed). Returns a
/// document, or NULL with a message ("offset 12: expected ':'") in err.
struct json_doc *json_parse(const char *text, size_t len, char *err, size_t errcap);

/// The top-level value.
const struct json_value *json_root(const struct json_doc *d);

/// The member `key` of an object (the first one if repeated), or NULL.
const struct json_value *json_get(const struct json_value *obj, const char *key);

/// A non-negative integer that fits 64 bits (no fraction or exponent).
bool json_as_uint(const struct json_value *v, uint64_t *out);

/// Any number, as a double.
bool json_as_double(const struct json_value *v, double *out);

/// The string's text, or NULL if v is not a string.
const char *json_as_str(const struct json_value *v);

void json_free(struct json_doc *d);

#endif

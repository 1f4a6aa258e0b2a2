#include "json.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* ---- writer ---- */

/* Length of the well-formed UTF-8 sequence at p (RFC 3629: no overlongs, no
 * surrogates, nothing above U+10FFFF), or 0 if the bytes there are not one. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    unsigned char c = p[0];
    size_t len;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        if (c == 0xe0)
            lo = 0xa0;
        else if (c == 0xed)
            hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f;
    } else
        return 0;
    if (n < len || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (p[i] < 0x80 || p[i] > 0xbf)
            return 0;
    return len;
}

void json_string(struct strbuf *b, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    strbuf_add(b, "\"", 1);
    size_t run = 0; /* bytes copied as they are, flushed in one append */
    for (size_t i = 0; i < n;) {
        unsigned char c = p[i];
        size_t l = c >= 0x20 && c < 0x80 && c != '"' && c != '\\' ? 1 : c >= 0x80 ? utf8_len(p + i, n - i) : 0;
        if (l) {
            run += l;
            i += l;
            continue;
        }
        strbuf_add(b, s + i - run, run);
        run = 0;
        switch (c) {
        case '"': strbuf_add(b, "\\\"", 2); break;
        case '\\': strbuf_add(b, "\\\\", 2); break;
        case '\n': strbuf_add(b, "\\n", 2); break;
        case '\r': strbuf_add(b, "\\r", 2); break;
        case '\t': strbuf_add(b, "\\t", 2); break;
        default:
            if (c < 0x20)
                strbuf_printf(b, "\\u%04x", c);
            else
                strbuf_add(b, "\\ufffd", 6); /* a byte that is not UTF-8 */
        }
        i++;
    }
    strbuf_add(b, s + n - run, run);
    strbuf_add(b, "\"", 1);
}

void json_cstring(struct strbuf *b, const char *s)
{
    if (s)
        json_string(b, s, strlen(s));
    else
        strbuf_add(b, "null", 4);
}

/* ---- reader ----
 *
 * Recursive descent into a vector of nodes linked by index (the vector may
 * move while it grows); the public pointers are filled in once at the end.
 * Unescaped strings and numbers go to one arena sized for the worst case
 * (every byte of the input, plus a NUL each), so it never moves either. */

struct node {
    struct json_value v;
    int32_t child, next, key; /* indexes; key: offset in the arena, -1 for none */
    int32_t str;
};

struct json_doc {
    struct node *nodes;
    size_t n, cap;
    char *arena;
    size_t alen, acap;
};

struct parser {
    const char *s;
    size_t len, pos;
    struct json_doc *d;
    char *err;
    size_t errcap;
    bool failed;
};

static int fail(struct parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct parser *p, const char *fmt, ...)
{
    if (!p->failed && p->errcap) {
        int n = snprintf(p->err, p->errcap, "offset %zu: ", p->pos);
        if (n >= 0 && (size_t)n < p->errcap) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(p->err + n, p->errcap - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    p->failed = true;
    return -1;
}

static void skip_ws(struct parser *p)
{
    while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' || p->s[p->pos] == '\n' ||
                               p->s[p->pos] == '\r'))
        p->pos++;
}

static int new_node(struct parser *p, enum json_type t)
{
    struct json_doc *d = p->d;
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 64;
        if (cap > INT32_MAX)
            return fail(p, "too many values");
        struct node *nn = realloc(d->nodes, cap * sizeof *nn);
        if (!nn)
            return fail(p, "out of memory");
        d->nodes = nn;
        d->cap = cap;
    }
    struct node *x = &d->nodes[d->n];
    memset(x, 0, sizeof *x);
    x->v.type = t;
    x->child = x->next = x->key = x->str = -1;
    return (int)d->n++;
}

static void arena_put(struct json_doc *d, const char *s, size_t n)
{
    memcpy(d->arena + d->alen, s, n);
    d->alen += n;
}

static int hex4(struct parser *p, uint32_t *out)
{
    if (p->len - p->pos < 4)
        return fail(p, "short \\u escape");
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p->s[p->pos++];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (uint32_t)(c - 'A' + 10);
        else
            return fail(p, "bad hex digit in \\u escape");
    }
    *out = v;
    return 0;
}

/* A string at p->pos (at its opening quote): unescaped into the arena.
 * Returns the arena offset of its first byte; *outlen its length. */
static int32_t parse_string(struct parser *p, size_t *outlen)
{
    struct json_doc *d = p->d;
    p->pos++; /* the quote */
    size_t start = d->alen;
    for (;;) {
        if (p->pos >= p->len)
            return fail(p, "unterminated string");
        unsigned char c = (unsigned char)p->s[p->pos];
        if (c == '"') {
            p->pos++;
            break;
        }
        if (c < 0x20)
            return fail(p, "control character in string");
        if (c != '\\') {
            arena_put(d, (const char *)&c, 1);
            p->pos++;
            continue;
        }
        p->pos++;
        if (p->pos >= p->len)
            return fail(p, "unterminated escape");
        char e = p->s[p->pos++], out;
        switch (e) {
        case '"': out = '"'; break;
        case '\\': out = '\\'; break;
        case '/': out = '/'; break;
        case 'b': out = '\b'; break;
        case 'f': out = '\f'; break;
        case 'n': out = '\n'; break;
        case 'r': out = '\r'; break;
        case 't': out = '\t'; break;
        case 'u': out = 0; break;
        default: return fail(p, "bad escape \\%c", e >= 0x20 && e < 0x7f ? e : '?');
        }
        if (out) {
            arena_put(d, &out, 1);
            continue;
        }
        uint32_t cp;
        if (hex4(p, &cp) < 0)
            return -1;
        if (cp >= 0xdc00 && cp <= 0xdfff)
            return fail(p, "lone low surrogate");
        if (cp >= 0xd800 && cp <= 0xdbff) {
            uint32_t lo;
            if (p->len - p->pos < 2 || p->s[p->pos] != '\\' || p->s[p->pos + 1] != 'u')
                return fail(p, "lone high surrogate");
            p->pos += 2;
            if (hex4(p, &lo) < 0)
                return -1;
            if (lo < 0xdc00 || lo > 0xdfff)
                return fail(p, "bad low surrogate");
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        }
        /* UTF-8 of cp is never longer than its escape (6 or 12 bytes) */
        char u[4];
        size_t ul;
        if (cp < 0x80) {
            u[0] = (char)cp, ul = 1;
        } else if (cp < 0x800) {
            u[0] = (char)(0xc0 | cp >> 6), u[1] = (char)(0x80 | (cp & 0x3f)), ul = 2;
        } else if (cp < 0x10000) {
            u[0] = (char)(0xe0 | cp >> 12), u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
            u[2] = (char)(0x80 | (cp & 0x3f)), ul = 3;
        } else {
            u[0] = (char)(0xf0 | cp >> 18), u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
            u[2] = (char)(0x80 | ((cp >> 6) & 0x3f)), u[3] = (char)(0x80 | (cp & 0x3f)), ul = 4;
        }
        arena_put(d, u, ul);
    }
    *outlen = d->alen - start;
    arena_put(d, "", 1);
    return (int32_t)start;
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static int parse_number(struct parser *p, int idx)
{
    size_t start = p->pos;
    const char *s = p->s;
    if (p->pos < p->len && s[p->pos] == '-')
        p->pos++;
    if (p->pos >= p->len || !is_digit(s[p->pos]))
        return fail(p, "bad number");
    if (s[p->pos] == '0')
        p->pos++;
    else
        while (p->pos < p->len && is_digit(s[p->pos]))
            p->pos++;
    if (p->pos < p->len && s[p->pos] == '.') {
        p->pos++;
        if (p->pos >= p->len || !is_digit(s[p->pos]))
            return fail(p, "bad number: digits expected after '.'");
        while (p->pos < p->len && is_digit(s[p->pos]))
            p->pos++;
    }
    if (p->pos < p->len && (s[p->pos] == 'e' || s[p->pos] == 'E')) {
        p->pos++;
        if (p->pos < p->len && (s[p->pos] == '+' || s[p->pos] == '-'))
            p->pos++;
        if (p->pos >= p->len || !is_digit(s[p->pos]))
            return fail(p, "bad number: digits expected in the exponent");
        while (p->pos < p->len && is_digit(s[p->pos]))
            p->pos++;
    }
    struct node *x = &p->d->nodes[idx];
    x->str = (int32_t)p->d->alen;
    x->v.len = p->pos - start;
    arena_put(p->d, s + start, p->pos - start);
    arena_put(p->d, "", 1);
    return 0;
}

static int parse_value(struct parser *p, int depth);

/* Elements or members up to the closing bracket; links them under parent. */
static int parse_container(struct parser *p, int parent, int depth, bool object)
{
    char close = object ? '}' : ']';
    p->pos++; /* the opening bracket */
    skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == close) {
        p->pos++;
        return 0;
    }
    int prev = -1;
    for (;;) {
        int32_t key = -1;
        if (object) {
            skip_ws(p);
            if (p->pos >= p->len || p->s[p->pos] != '"')
                return fail(p, "expected a member name");
            size_t kl;
            key = parse_string(p, &kl);
            if (key < 0)
                return -1;
            skip_ws(p);
            if (p->pos >= p->len || p->s[p->pos] != ':')
                return fail(p, "expected ':'");
            p->pos++;
        }
        int idx = parse_value(p, depth + 1);
        if (idx < 0)
            return -1;
        p->d->nodes[idx].key = key;
        if (prev < 0)
            p->d->nodes[parent].child = idx;
        else
            p->d->nodes[prev].next = idx;
        prev = idx;
        skip_ws(p);
        if (p->pos >= p->len)
            return fail(p, "unterminated %s", object ? "object" : "array");
        char c = p->s[p->pos++];
        if (c == close)
            return 0;
        if (c != ',')
            return fail(p, "expected ',' or '%c'", close);
    }
}

/* Returns the node index of the value at p->pos, or -1. */
static int parse_value(struct parser *p, int depth)
{
    if (depth > JSON_MAX_DEPTH)
        return fail(p, "nested deeper than %d", JSON_MAX_DEPTH);
    skip_ws(p);
    if (p->pos >= p->len)
        return fail(p, "value expected");
    char c = p->s[p->pos];
    static const struct {
        const char *word;
        enum json_type type;
    } words[] = {{"null", JSON_NULL}, {"true", JSON_TRUE}, {"false", JSON_FALSE}};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        size_t wl = strlen(words[i].word);
        if (c == words[i].word[0]) {
            if (p->len - p->pos < wl || memcmp(p->s + p->pos, words[i].word, wl) != 0)
                return fail(p, "bad literal");
            p->pos += wl;
            return new_node(p, words[i].type);
        }
    }
    if (c == '"') {
        int idx = new_node(p, JSON_STRING);
        if (idx < 0)
            return -1;
        size_t sl;
        int32_t off = parse_string(p, &sl);
        if (off < 0)
            return -1;
        p->d->nodes[idx].str = off;
        p->d->nodes[idx].v.len = sl;
        return idx;
    }
    if (c == '-' || is_digit(c)) {
        int idx = new_node(p, JSON_NUMBER);
        return idx < 0 || parse_number(p, idx) < 0 ? -1 : idx;
    }
    if (c == '[' || c == '{') {
        int idx = new_node(p, c == '[' ? JSON_ARRAY : JSON_OBJECT);
        return idx < 0 || parse_container(p, idx, depth, c == '{') < 0 ? -1 : idx;
    }
    return fail(p, "unexpected character");
}

struct json_doc *json_parse(const char *text, size_t len, char *err, size_t errcap)
{
    if (errcap)
        err[0] = '\0';
    struct json_doc *d = calloc(1, sizeof *d);
    if (!d || len > (size_t)INT32_MAX / 2 - 2) {
        if (errcap)
            snprintf(err, errcap, d ? "input too large" : "out of memory");
        free(d);
        return NULL;
    }
    d->acap = 2 * len + 2;
    d->arena = malloc(d->acap);
    struct parser p = {.s = text, .len = len, .d = d, .err = err, .errcap = errcap};
    if (!d->arena) {
        fail(&p, "out of memory");
        json_free(d);
        return NULL;
    }
    int root = parse_value(&p, 0);
    if (root >= 0) {
        skip_ws(&p);
        if (p.pos != p.len)
            root = fail(&p, "trailing characters after the value");
    }
    if (root < 0) {
        json_free(d);
        return NULL;
    }
    /* indexes -> pointers, now that nothing moves any more */
    for (size_t i = 0; i < d->n; i++) {
        struct node *x = &d->nodes[i];
        x->v.child = x->child >= 0 ? &d->nodes[x->child].v : NULL;
        x->v.next = x->next >= 0 ? &d->nodes[x->next].v : NULL;
        x->v.key = x->key >= 0 ? d->arena + x->key : NULL;
        x->v.str = x->str >= 0 ? d->arena + x->str : NULL;
    }
    return d;
}

const struct json_value *json_root(const struct json_doc *d) { return d && d->n ? &d->nodes[0].v : NULL; }

const struct json_value *json_get(const struct json_value *obj, const char *key)
{
    if (!obj || obj->type != JSON_OBJECT)
        return NULL;
    for (const struct json_value *m = obj->child; m; m = m->next)
        if (strcmp(m->key, key) == 0)
            return m;
    return NULL;
}

bool json_as_uint(const struct json_value *v, uint64_t *out)
{
    return v && v->type == JSON_NUMBER && util_parse_uint(v->str, v->len, UINT64_MAX, out) == 0;
}

bool json_as_double(const struct json_value *v, double *out)
{
    if (!v || v->type != JSON_NUMBER)
        return false;
    *out = strtod(v->str, NULL);
    return true;
}

const char *json_as_str(const struct json_value *v) { return v && v->type == JSON_STRING ? v->str : NULL; }

void json_free(struct json_doc *d)
{
    if (!d)
        return;
    free(d->nodes);
    free(d->arena);
    free(d);
}

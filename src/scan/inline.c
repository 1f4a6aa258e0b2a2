/*
 * inline: files carried inside text rather than as MIME parts.
 *
 * Mail clients of 2003 still opened uuencoded blocks ("begin 644 name") in
 * the middle of a plain-text body, and Usenet-era clients yEnc blocks
 * ("=ybegin ... name="); browsers and mail readers open base64 data: URIs in
 * HTML. Each decoded block is a child named as the block names it (a data:
 * URI is "data:N"). Decoding is bounded by scan_child_budget(); a block that
 * would pass it is cut there and the limit reported.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "scan/scan_priv.h"

/* The line starting at p (without its end of line), and where the next starts. */
static const uint8_t *line_end(const uint8_t *p, const uint8_t *end, const uint8_t **next)
{
    const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
    *next = nl ? nl + 1 : end;
    const uint8_t *e = nl ? nl : end;
    if (e > p && e[-1] == '\r')
        e--;
    return e;
}

/* A decoded block is a child named as the block names it. */
static void emit(struct scan_ctx *ctx, const struct scan_object *obj, struct scan_out *o,
                 const char *name)
{
    scan_out_report(ctx, obj, o);
    if (o->len && scan_take(ctx, obj, o->len))
        scan_child(ctx, obj, name, o->data, o->len, name, NULL);
    scan_out_free(o);
}

/* "begin 644 name": the mode is three or four octal digits. */
static bool uu_begin(const uint8_t *p, const uint8_t *e, char *name, size_t namelen)
{
    if (e - p < 10 || memcmp(p, "begin ", 6) != 0)
        return false;
    const uint8_t *q = p + 6;
    int digits = 0;
    while (q < e && *q >= '0' && *q <= '7') {
        q++;
        digits++;
    }
    if (digits < 3 || digits > 4 || q >= e || *q != ' ')
        return false;
    q++;
    size_t n = (size_t)(e - q) < namelen - 1 ? (size_t)(e - q) : namelen - 1;
    memcpy(name, q, n);
    name[n] = 0;
    return n > 0;
}

/* One line of a uuencoded block: a length character, then groups of four
 * 6-bit characters for three bytes. */
static void uu_line(struct scan_out *o, const uint8_t *p, const uint8_t *e)
{
    if (e <= p)
        return;
    size_t n = (size_t)((p[0] - 0x20) & 0x3f);
    const uint8_t *q = p + 1;
    for (size_t got = 0; got < n && !o->over && !o->nomem;) {
        uint8_t c[4] = {0};
        for (int k = 0; k < 4; k++, q++)
            c[k] = q < e ? (uint8_t)((*q - 0x20) & 0x3f) : 0;
        uint8_t b[3] = {(uint8_t)(c[0] << 2 | c[1] >> 4), (uint8_t)(c[1] << 4 | c[2] >> 2),
                        (uint8_t)(c[2] << 6 | c[3])};
        for (int k = 0; k < 3 && got < n; k++, got++)
            scan_out_byte(o, b[k]);
    }
}

/* "=ybegin line=128 size=544 name=clam.exe": the name is the rest of the line. */
static bool y_begin(const uint8_t *p, const uint8_t *e, char *name, size_t namelen)
{
    if (e - p < 8 || memcmp(p, "=ybegin ", 8) != 0)
        return false;
    for (const uint8_t *q = p + 8; q + 5 <= e; q++)
        if (memcmp(q, "name=", 5) == 0 && (q[-1] == ' ')) {
            size_t n = (size_t)(e - q - 5) < namelen - 1 ? (size_t)(e - q - 5) : namelen - 1;
            memcpy(name, q + 5, n);
            name[n] = 0;
            return n > 0;
        }
    return false;
}

/* One line of a yEnc block: each byte is stored plus 42, '=' escapes the
 * next (plus 64 more); "=ypart" lines carry no data. */
static void y_line(struct scan_out *o, const uint8_t *p, const uint8_t *e)
{
    if (e - p >= 6 && memcmp(p, "=ypart", 6) == 0)
        return;
    for (const uint8_t *q = p; q < e && !o->over && !o->nomem; q++) {
        uint8_t c = *q;
        if (c == '=' && q + 1 < e)
            c = (uint8_t)(*++q - 64);
        scan_out_byte(o, (uint8_t)(c - 42));
    }
}

/* One block, from the line after its start to its end marker line, each
 * line through decode_line: returns where scanning should continue. */
static const uint8_t *block(struct scan_ctx *ctx, const struct scan_object *obj, const uint8_t *p,
                            const uint8_t *end, const char *name, const char *end_marker,
                            void (*decode_line)(struct scan_out *, const uint8_t *, const uint8_t *))
{
    struct scan_out o;
    scan_out_init(&o, ctx, obj);
    size_t ml = strlen(end_marker);
    const uint8_t *next = p;
    while (p < end && !o.over && !o.nomem) {
        const uint8_t *e = line_end(p, end, &next);
        if ((size_t)(e - p) >= ml && memcmp(p, end_marker, ml) == 0) {
            p = next;
            break;
        }
        decode_line(&o, p, e);
        p = next;
    }
    emit(ctx, obj, &o, name);
    return p;
}

static int b64_value(uint8_t c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
}

size_t scan_base64_decode(const uint8_t *in, size_t len, uint8_t *out)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (in[i] == '=')
            break; /* padding: the data ends here */
        int v = b64_value(in[i]);
        if (v < 0)
            continue; /* line breaks and noise, skipped as clients skip them */
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (uint8_t)(acc >> bits);
        }
    }
    return n;
}

/* data:[type][;param]*;base64,DATA - decoded until the first byte that is
 * neither base64 nor blank (the closing quote). Returns where it ended. */
static const uint8_t *data_uri(struct scan_ctx *ctx, const struct scan_object *obj,
                               const uint8_t *p, const uint8_t *end, unsigned n_uri,
                               uint64_t budget, const char *limit)
{
    const uint8_t *q = p + 5;
    const uint8_t *comma = NULL;
    for (const uint8_t *s = q; s < end && s - q < 256; s++) {
        if (*s == ',') {
            comma = s;
            break;
        }
        if (*s == '"' || *s == '\'' || *s == '>' || *s == ' ')
            break;
    }
    if (!comma || comma - q < 7 || strncasecmp((const char *)comma - 7, ";base64", 7) != 0)
        return q;
    char declared[128] = {0};
    const uint8_t *semi = memchr(q, ';', (size_t)(comma - q));
    size_t tl = semi ? (size_t)(semi - q) : 0;
    if (tl >= sizeof declared)
        tl = sizeof declared - 1;
    for (size_t i = 0; i < tl; i++)
        declared[i] = (char)(q[i] >= 'A' && q[i] <= 'Z' ? q[i] + 32 : q[i]);
    /* The data runs to the first byte that is neither base64 nor blank
     * (the closing quote); decoded by the one lenient decoder. */
    const uint8_t *s = comma + 1;
    while (s < end && (b64_value(*s) >= 0 || *s == '=' || *s == ' ' || *s == '\t' || *s == '\r' ||
                       *s == '\n'))
        s++;
    size_t enc = (size_t)(s - comma - 1);
    uint8_t *dec = malloc(enc / 4 * 3 + 3);
    if (!dec)
        return s;
    size_t n = scan_base64_decode(comma + 1, enc, dec);
    if (n > budget) {
        n = (size_t)budget;
        scan_limit(ctx, limit, obj->where);
    }
    char label[32];
    snprintf(label, sizeof label, "data:%u", n_uri);
    if (n && scan_take(ctx, obj, n))
        scan_child(ctx, obj, label, dec, n, NULL, declared[0] ? declared : NULL);
    free(dec);
    return s;
}

void scan_inline(struct scan_ctx *ctx, const struct scan_object *obj)
{
    const uint8_t *p = obj->data, *end = obj->data + obj->len;
    if (obj->type == SCAN_TYPE_HTML) {
        /* Encoded text is never smaller than what it decodes to, so the
         * ratio limit cannot be what stops a decoder here; the file size can. */
        const char *limit = NULL;
        uint64_t budget = scan_child_budget(ctx, obj, &limit);
        unsigned uris = 0;
        for (const uint8_t *q = p; q + 5 <= end;) {
            const uint8_t *d = memchr(q, ':', (size_t)(end - q));
            if (!d || scan_should_stop(ctx, obj->where))
                break;
            if (d - q >= 4 && strncasecmp((const char *)d - 4, "data", 4) == 0 && uris < 64)
                q = data_uri(ctx, obj, d - 4, end, ++uris, budget, limit);
            else
                q = d + 1;
        }
        return;
    }
    /* Text: block starts are at the beginning of a line. */
    for (const uint8_t *q = p; q < end && !scan_should_stop(ctx, obj->where);) {
        const uint8_t *next;
        const uint8_t *e = line_end(q, end, &next);
        char name[256];
        if (e - q >= 8 && q[0] == 'b' && uu_begin(q, e, name, sizeof name))
            q = block(ctx, obj, next, end, name, "end", uu_line);
        else if (e - q >= 8 && q[0] == '=' && y_begin(q, e, name, sizeof name))
            q = block(ctx, obj, next, end, name, "=yend", y_line);
        else
            q = next;
    }
}

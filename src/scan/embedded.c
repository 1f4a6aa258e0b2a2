/*
 * embedded: files inside files that are not archives.
 *
 * PDF: every stream object ("stream" ... "endstream") is a child, inflated
 * first when its dictionary names /FlateDecode (the filter nearly every PDF
 * writer uses); a worm's dropper or an exploit sits in one. Other filters
 * are handed on as they are (their raw bytes are still matched).
 *
 * Self-extracting executables: a cab, zip, rar or 7z appended to (or stored
 * in) a PE is what an SFX stub unpacks when run; each such archive found by
 * its magic is a child from that offset to the end ("sfx@OFFSET"), which the
 * walk then opens as an archive.
 *
 * Both are bounded: at most MAX_STREAMS streams and MAX_SFX archives per
 * object, output by scan_child_budget(), and every search moves forward.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan/scan_priv.h"

enum { MAX_STREAMS = 1000, MAX_SFX = 8 };

/* A FlateDecode stream is a zlib stream; broken writers emit raw deflate. */
static uint8_t *inflate_stream(const uint8_t *in, size_t len, uint64_t max, size_t *outlen, bool *full)
{
    uint8_t *out = scan_inflate(in, len, 15, max, 0, outlen, full);
    return out ? out : scan_inflate(in, len, -15, max, 0, outlen, full);
}

static const uint8_t *find(const uint8_t *p, const uint8_t *end, const char *s, size_t n)
{
    return p < end ? memmem(p, (size_t)(end - p), s, n) : NULL;
}

void scan_pdf(struct scan_ctx *ctx, const struct scan_object *obj)
{
    const uint8_t *p = obj->data, *end = obj->data + obj->len;
    const char *limit = NULL;
    unsigned n = 0;
    while (n < MAX_STREAMS && !scan_should_stop(ctx, obj->where)) {
        const uint8_t *kw = find(p, end, "stream", 6);
        if (!kw)
            break;
        const uint8_t *data = kw + 6;
        /* "endstream" also contains "stream": a real start is followed by
         * an end of line and is not preceded by "end". */
        if ((kw - obj->data >= 3 && memcmp(kw - 3, "end", 3) == 0) || data >= end ||
            (*data != '\r' && *data != '\n')) {
            p = data;
            continue;
        }
        if (*data == '\r')
            data++;
        if (data < end && *data == '\n')
            data++;
        const uint8_t *stop = find(data, end, "endstream", 9);
        const uint8_t *dend = stop ? stop : end;
        while (dend > data && (dend[-1] == '\n' || dend[-1] == '\r'))
            dend--;
        /* The stream's dictionary: back from "stream" to the nearest "<<",
         * at most 4 KiB. */
        const uint8_t *dict = kw - (kw - obj->data > 4096 ? 4096 : kw - obj->data);
        bool flate = false;
        for (const uint8_t *q = kw; q > dict; q--)
            if (q[-1] == '<' && q - 1 > dict && q[-2] == '<') {
                flate = memmem(q, (size_t)(kw - q), "/FlateDecode", 12) != NULL ||
                        memmem(q, (size_t)(kw - q), "/Fl ", 4) != NULL;
                break;
            }
        n++;
        char label[32];
        snprintf(label, sizeof label, "stream%u", n);
        size_t len = (size_t)(dend - data);
        uint64_t budget = scan_child_budget(ctx, obj, &limit);
        if (flate) {
            size_t outlen;
            bool full;
            uint8_t *out = inflate_stream(data, len, budget, &outlen, &full);
            if (full)
                scan_limit(ctx, limit, obj->where);
            if (out && scan_take(ctx, obj, outlen))
                scan_child(ctx, obj, label, out, outlen, NULL, NULL);
            free(out);
            if (!out && len && scan_take(ctx, obj, len))
                scan_child(ctx, obj, label, data, len, NULL, NULL);
        } else if (len && scan_take(ctx, obj, len)) {
            scan_child(ctx, obj, label, data, len, NULL, NULL);
        }
        p = stop ? stop + 9 : end;
    }
}

void scan_sfx(struct scan_ctx *ctx, const struct scan_object *obj)
{
    static const struct {
        const char *magic;
        size_t len;
    } magics[] = {
        {"MSCF\0\0\0\0", 8}, {"PK\x03\x04", 4}, {"Rar!\x1a\x07", 6}, {"7z\xbc\xaf\x27\x1c", 6},
    };
    unsigned found = 0;
    /* Offset 0 is the executable itself; an archive starts after its headers. */
    for (size_t m = 0; m < sizeof magics / sizeof *magics; m++) {
        const uint8_t *p = obj->data + 2, *end = obj->data + obj->len;
        while (found < MAX_SFX && !scan_should_stop(ctx, obj->where)) {
            const uint8_t *hit = find(p, end, magics[m].magic, magics[m].len);
            if (!hit)
                break;
            size_t off = (size_t)(hit - obj->data);
            size_t len = obj->len - off;
            if (scan_type_detect(hit, len) != SCAN_TYPE_PE) {
                char label[40];
                snprintf(label, sizeof label, "sfx@%zu", off);
                found++;
                /* The archive is a view of the executable's bytes: nothing
                 * new is decoded, so nothing is taken from MaxScanSize. */
                scan_child(ctx, obj, label, hit, len, NULL, NULL);
            }
            /* One archive per kind is what a stub carries; a zip's later
             * local headers are its own members, not new archives. */
            break;
        }
    }
}

/*
 * nsis: the data of Nullsoft (NSIS) installers.
 *
 * Why: an NSIS installer is a Windows stub followed by the installer's own
 * compressed data; the files it installs are not visible to a scan of the
 * executable's bytes, and droppers ship as NSIS installers.
 *
 * Format (NSIS's documented file layout): after the stub, at an offset the
 * installer finds by stepping through the file in 512-byte units, a "first
 * header": 32-bit flags, the signature 0xDEADBEEF and "NullsoftInst", the
 * uncompressed size of the install script header, and the size of the
 * archive from the first header on (little-endian). The data follows it,
 * either
 *   solid: one compressed stream holding a 32-bit length and the script
 *          header, then each file's data as a 32-bit length and the bytes;
 *   or per block: each block (the script header first, then the files) a
 *          32-bit length, its high bit set when the block is compressed
 *          on its own.
 * The compressor is zlib's deflate (raw), bzip2 or LZMA (5 property bytes
 * and a raw stream, in solid mode sometimes after a one-byte filter flag).
 * This reader handles deflate and LZMA; bzip2 (NSIS's variant has no
 * stream header) is not read.
 *
 * Trust boundary: the installer is hostile. Headers are read through struct
 * rbuf, every length is checked against what is left, the block walk
 * consumes at least 4 bytes per step, and no decoder writes past
 * scan_child_budget().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lzma.h>

#include "common/buf.h"
#include "scan/scan_priv.h"

enum {
    NSIS_ALIGN = 512,       /* the first header sits at a multiple of this */
    NSIS_FIRSTHEADER = 28,  /* flags, signature (16 bytes), two sizes */
    NSIS_MAX_BLOCKS = 10000,
    NSIS_LZMA_PROPS = 5,
};

enum nsis_method { NSIS_STORED, NSIS_DEFLATE, NSIS_LZMA, NSIS_BZIP2 };

static uint32_t le32(struct rbuf *b)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v |= (uint32_t)rbuf_u8(b) << (8 * i);
    return v;
}

/* Grows out (capacity *cap, max bytes at most) for more output. False when
 * max is reached or memory is short. */
static bool grow(uint8_t **out, size_t *cap, size_t have, uint64_t max)
{
    if (have < *cap)
        return true;
    if (*cap >= max)
        return false;
    size_t ncap = *cap < 65536 ? 65536 : *cap * 2;
    if (ncap > max)
        ncap = (size_t)max;
    uint8_t *g = realloc(*out, ncap);
    if (!g)
        return false;
    *out = g;
    *cap = ncap;
    return true;
}

/* Decodes one compressed stream into at most max bytes. Returns the bytes
 * (caller frees; NULL when nothing decoded), *outlen, and *full when max
 * stopped it. A stream that ends early or goes bad keeps what decoded. */
static uint8_t *nsis_decode(enum nsis_method m, const uint8_t *in, size_t len, uint64_t max,
                            size_t *outlen, bool *full)
{
    uint8_t *out = NULL;
    size_t cap = 0, have = 0;
    *outlen = 0;
    *full = false;
    if (m == NSIS_DEFLATE)
        return scan_inflate(in, len, -15, max, 0, outlen, full);
    if (m == NSIS_LZMA) {
        if (len < NSIS_LZMA_PROPS)
            return NULL;
        lzma_options_lzma opt;
        lzma_filter filters[2] = {{.id = LZMA_FILTER_LZMA1, .options = NULL},
                                  {.id = LZMA_VLI_UNKNOWN, .options = NULL}};
        lzma_filter props = {.id = LZMA_FILTER_LZMA1};
        if (lzma_properties_decode(&props, NULL, in, NSIS_LZMA_PROPS) != LZMA_OK)
            return NULL;
        opt = *(lzma_options_lzma *)props.options;
        free(props.options);
        /* The dictionary is allocated up front: a hostile size is capped
         * by what the output may reach anyway. */
        if (opt.dict_size > max && max >= LZMA_DICT_SIZE_MIN)
            opt.dict_size = (uint32_t)(max > UINT32_MAX ? UINT32_MAX : max);
        if (opt.dict_size < LZMA_DICT_SIZE_MIN)
            opt.dict_size = LZMA_DICT_SIZE_MIN;
        filters[0].options = &opt;
        lzma_stream z = LZMA_STREAM_INIT;
        if (lzma_raw_decoder(&z, filters) != LZMA_OK)
            return NULL;
        z.next_in = in + NSIS_LZMA_PROPS;
        z.avail_in = len - NSIS_LZMA_PROPS;
        lzma_ret rc = LZMA_OK;
        while (rc == LZMA_OK) {
            if (!grow(&out, &cap, have, max)) {
                *full = have >= max;
                break;
            }
            z.next_out = out + have;
            z.avail_out = cap - have;
            size_t bo = z.avail_out, bi = z.avail_in;
            rc = lzma_code(&z, LZMA_RUN);
            have += bo - z.avail_out;
            if (z.avail_out == bo && z.avail_in == bi)
                break;
        }
        lzma_end(&z);
    }
    if (have == 0) {
        free(out);
        return NULL;
    }
    *outlen = have;
    return out;
}

/* What the compressed bytes at p look like. */
static enum nsis_method sniff(const uint8_t *p, size_t len)
{
    if (len >= NSIS_LZMA_PROPS && p[0] == 0x5d && p[1] == 0 && p[2] == 0)
        return NSIS_LZMA;
    if (len >= 1 && p[0] == 0x31)
        return NSIS_BZIP2;
    return NSIS_DEFLATE;
}

static void nsis_child(struct scan_ctx *ctx, const struct scan_object *obj, unsigned n,
                       const uint8_t *data, size_t len)
{
    char label[32];
    snprintf(label, sizeof label, "nsis-%u", n);
    if (len && scan_take(ctx, obj, len))
        scan_child(ctx, obj, label, data, len, NULL, NULL);
}

/* Per-block data: the script header's block is skipped, each later block
 * decoded on its own and handed on. */
static void nsis_blocks(struct scan_ctx *ctx, const struct scan_object *obj, struct rbuf *b)
{
    enum nsis_method m = NSIS_STORED;
    const char *limit = NULL;
    unsigned n = 0;
    for (unsigned i = 0; i < NSIS_MAX_BLOCKS && !scan_should_stop(ctx, obj->where); i++) {
        uint32_t word = le32(b);
        bool packed = (word & 0x80000000u) != 0;
        uint32_t len = word & 0x7fffffffu;
        const uint8_t *p = rbuf_take(b, len);
        if (b->err)
            return;
        if (i == 0) {
            if (packed)
                m = sniff(p, len);
            continue; /* the script header: not a file */
        }
        uint64_t budget = scan_child_budget(ctx, obj, &limit);
        n++;
        if (!packed || m == NSIS_BZIP2) {
            size_t take = len > budget ? (size_t)budget : len;
            if (take < len)
                scan_limit(ctx, limit, obj->where);
            nsis_child(ctx, obj, n, p, take);
            continue;
        }
        size_t outlen;
        bool full;
        uint8_t *out = nsis_decode(m == NSIS_STORED ? sniff(p, len) : m, p, len, budget, &outlen, &full);
        if (full)
            scan_limit(ctx, limit, obj->where);
        if (out)
            nsis_child(ctx, obj, n, out, outlen);
        free(out);
    }
}

/* Solid data: one stream, decoded up to the budget, then walked as the
 * script header and each file's length-prefixed bytes. */
static void nsis_solid(struct scan_ctx *ctx, const struct scan_object *obj, const uint8_t *p, size_t len)
{
    if (len >= 1 && (p[0] == 0 || p[0] == 1) && sniff(p + 1, len - 1) == NSIS_LZMA)
        p++, len--; /* the filter flag of NSIS 2.x's solid LZMA */
    enum nsis_method m = sniff(p, len);
    if (m == NSIS_BZIP2)
        return;
    const char *limit = NULL;
    uint64_t budget = scan_child_budget(ctx, obj, &limit);
    size_t outlen;
    bool full;
    uint8_t *out = nsis_decode(m, p, len, budget, &outlen, &full);
    if (!out)
        return;
    if (full)
        scan_limit(ctx, limit, obj->where);
    struct rbuf b = rbuf_make(out, outlen);
    uint32_t hdr = le32(&b);
    (void)rbuf_take(&b, hdr);
    unsigned n = 0;
    /* Each step takes at least 4 bytes of a finite buffer. */
    while (!b.err && rbuf_left(&b) >= 4 && n < NSIS_MAX_BLOCKS && !scan_should_stop(ctx, obj->where)) {
        uint32_t flen = le32(&b);
        size_t take = flen > rbuf_left(&b) ? rbuf_left(&b) : flen; /* cut by the budget */
        const uint8_t *f = rbuf_take(&b, take);
        nsis_child(ctx, obj, ++n, f, take);
    }
    free(out);
}

void scan_nsis(struct scan_ctx *ctx, const struct scan_object *obj)
{
    static const uint8_t sig[16] = {0xef, 0xbe, 0xad, 0xde, 'N', 'u', 'l', 'l',
                                    's',  'o',  'f',  't',  'I', 'n', 's', 't'};
    /* The first header is at a 512-byte boundary after the stub. */
    size_t off = NSIS_ALIGN;
    while (off <= obj->len && obj->len - off >= NSIS_FIRSTHEADER &&
           memcmp(obj->data + off + 4, sig, sizeof sig) != 0)
        off += NSIS_ALIGN;
    if (off > obj->len || obj->len - off < NSIS_FIRSTHEADER)
        return;
    struct rbuf h = rbuf_make(obj->data + off, obj->len - off);
    (void)le32(&h); /* flags */
    (void)rbuf_take(&h, sizeof sig);
    (void)le32(&h); /* script header size */
    uint32_t arc = le32(&h);
    if (h.err || arc < NSIS_FIRSTHEADER)
        return;
    size_t end = arc > obj->len - off ? obj->len - off : arc;
    struct rbuf b = rbuf_make(obj->data + off + NSIS_FIRSTHEADER, end - NSIS_FIRSTHEADER);

    /* Per-block data starts with a length word whose masked value fits
     * what is left; solid data starts with a compressor's bytes. */
    const uint8_t *d = b.data;
    size_t dlen = b.len;
    bool solid = true;
    if (dlen >= 4) {
        uint32_t w = (uint32_t)d[0] | (uint32_t)d[1] << 8 | (uint32_t)d[2] << 16 | (uint32_t)d[3] << 24;
        uint32_t l = w & 0x7fffffffu;
        bool starts_lzma = sniff(d, dlen) == NSIS_LZMA ||
                           ((d[0] == 0 || d[0] == 1) && sniff(d + 1, dlen - 1) == NSIS_LZMA);
        if (l <= dlen - 4 && !starts_lzma)
            solid = false;
    }
    if (solid)
        nsis_solid(ctx, obj, d, dlen);
    else
        nsis_blocks(ctx, obj, &b);
}

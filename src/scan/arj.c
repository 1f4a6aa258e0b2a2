/*
 * arj: ARJ archives, which libarchive does not read at all.
 *
 * Why: ARJ was the other archiver of the DOS and early Windows years, and
 * mail worms and trojans of the time travelled in .arj attachments. This
 * reader finds each file in the archive, decodes it and hands it back to
 * the engine through scan_child().
 *
 * Format (Robert K. Jung's ARJ technical notes, "Structure of main header"
 * and "of local file header"; all fields little-endian): a main header,
 * then for each file a local header and its compressed bytes, then an
 * empty header (size 0). Each header is 0x60 0xEA, a 16-bit size (at most
 * 2600), that many bytes, their CRC-32, then extended headers (a 16-bit
 * size, that many bytes and a CRC-32) until one of size 0. Methods:
 *   0      stored;
 *   1..3   LZ77 over a 26624-byte dictionary, its output coded with
 *          Huffman codes sent per block (the scheme of Okumura's ar002,
 *          which LHA's -lh5-/-lh6- share), bits most significant first;
 *   4      "fastest": LZ77 with simple variable-length numbers, no tables.
 * Files flagged garbled (0x01) are encrypted: reported, not decoded.
 *
 * Trust boundary: the archive is hostile. Headers are read through struct
 * rbuf and must pass their CRC; the decoders use the bounded output and
 * the prefix-code tables of zipx.h; every loop consumes input or produces
 * output, and nothing decodes past scan_child_budget().
 */
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "scan/scan_priv.h"
#include "scan/zipx.h"

enum {
    ARJ_HEADER_MAX = 2600,   /* a basic header's largest size */
    ARJ_FIXED = 30,          /* the fixed fields before the extra data */
    ARJ_DICT = 26624,        /* methods 1..3: how far back a match may reach */
    ARJ_NC = 510,            /* literals (256) + match lengths 3..256 (254) */
    ARJ_NP = 17,             /* distance classes: 0, then 1 << (k - 1) + k - 1 bits */
    ARJ_NT = 19,             /* the code for c-lengths: lengths 0..16 + three runs */
    ARJ_CBIT = 9,
    ARJ_PBIT = 5,
    ARJ_TBIT = 5,
    ARJ_THRESHOLD = 3,       /* shortest match */
    ARJ_FLAG_GARBLED = 0x01,
    ARJ_TYPE_BINARY = 0,
    ARJ_TYPE_TEXT = 1,
    /* The main header is normally at 0; a self-extractor has a stub first.
     * The search looks this far and checks this many candidates' CRCs. */
    ARJ_SEARCH_BYTES = 64 * 1024,
    ARJ_SEARCH_TRIES = 256,
};

/* ---- bits, most significant first ---- */

struct msb_reader {
    struct rbuf in;
    uint64_t acc;       /* the low n bits are unread, next one at bit n - 1 */
    unsigned n;
    bool over;          /* a read went past the end of input */
};

static void msb_fill(struct msb_reader *r)
{
    while (r->n <= 56 && rbuf_left(&r->in) > 0) {
        r->acc = r->acc << 8 | rbuf_u8(&r->in);
        r->n += 8;
    }
}

/* The next k bits (k <= 16), zeros past the end of input. */
static uint32_t msb_peek(struct msb_reader *r, unsigned k)
{
    if (r->n < k)
        msb_fill(r);
    uint32_t mask = (1u << k) - 1;
    if (r->n >= k)
        return (uint32_t)(r->acc >> (r->n - k)) & mask;
    return (uint32_t)(r->acc << (k - r->n)) & mask;
}

static void msb_drop(struct msb_reader *r, unsigned k)
{
    if (k > r->n) {
        r->over = true;
        r->acc = 0;
        r->n = 0;
        return;
    }
    r->n -= k;
    if (r->n < 64) /* keep only the unread bits (a shift by 64 is undefined) */
        r->acc &= (1ull << r->n) - 1;
}

static uint32_t msb_bits(struct msb_reader *r, unsigned k)
{
    uint32_t v = msb_peek(r, k);
    msb_drop(r, k);
    return v;
}

static int msb_decode(struct msb_reader *r, const struct zipx_code *c)
{
    unsigned len = 0;
    int sym = zipx_code_lookup(c, msb_peek(r, 16), &len);
    if (sym < 0)
        return -1;
    msb_drop(r, len);
    return r->over ? -1 : sym;
}

static enum zipx_status msb_fail(struct msb_reader *r)
{
    msb_fill(r);
    return r->over || r->n < 16 ? ZIPX_ETRUNC : ZIPX_EDATA;
}

static enum zipx_status out_status(const struct zipx_out *out)
{
    return out->nomem ? ZIPX_ENOMEM : ZIPX_FULL;
}

/* ---- methods 1..3 ---- */

/* Every code table starts the same way: nbit bits give how many lengths
 * follow (*n, at most nn); 0 means the code has one symbol, given in the
 * next nbit bits, which is then set as code's only symbol (*n stays 0). */
static enum zipx_status arj_code_count(struct msb_reader *r, struct zipx_code *code, unsigned nn,
                                       unsigned nbit, unsigned *n)
{
    *n = msb_bits(r, nbit);
    if (r->over)
        return ZIPX_ETRUNC;
    if (*n == 0) {
        unsigned only = msb_bits(r, nbit);
        if (r->over)
            return ZIPX_ETRUNC;
        if (only >= nn)
            return ZIPX_EDATA;
        zipx_code_single(code, only, false);
        return ZIPX_OK;
    }
    return *n > nn ? ZIPX_EDATA : ZIPX_OK;
}

/* The lengths of the small codes (the code for c-lengths, and the distance
 * classes): nbit bits give how many are sent (0: one symbol, of nbit bits,
 * coded in no bits at all). Each length is 3 bits; 7 continues in unary
 * (each further 1 bit adds one, a 0 ends it). After the special-th length
 * 2 bits give a run of zero lengths. */
static enum zipx_status arj_small_code(struct msb_reader *r, struct zipx_code *code, unsigned nn,
                                       unsigned nbit, unsigned special)
{
    unsigned n;
    enum zipx_status st = arj_code_count(r, code, nn, nbit, &n);
    if (st != ZIPX_OK || n == 0)
        return st;
    uint8_t lens[ARJ_NT] = {0};
    unsigned i = 0;
    while (i < n) {
        unsigned len = msb_bits(r, 3);
        if (len == 7) {
            while (msb_bits(r, 1) == 1 && !r->over)
                if (++len > ZIPX_CODE_MAXLEN)
                    return ZIPX_EDATA;
        }
        if (r->over)
            return ZIPX_ETRUNC;
        lens[i++] = (uint8_t)len;
        if (i == special) {
            unsigned zeros = msb_bits(r, 2);
            if (r->over)
                return ZIPX_ETRUNC;
            if (zeros > nn - i)
                return ZIPX_EDATA;
            i += zeros; /* lens[] is already zero there */
        }
    }
    return zipx_code_canonical(code, lens, nn, false) == 0 ? ZIPX_OK : ZIPX_EDATA;
}

/* The literal/length code's lengths, coded with the code just read:
 * symbols 0, 1 and 2 are runs of zero lengths (1; 3 + 4 bits; 20 + 9
 * bits), symbol k >= 3 is length k - 2. */
static enum zipx_status arj_c_code(struct msb_reader *r, const struct zipx_code *t,
                                   struct zipx_code *code)
{
    unsigned n;
    enum zipx_status st = arj_code_count(r, code, ARJ_NC, ARJ_CBIT, &n);
    if (st != ZIPX_OK || n == 0)
        return st;
    uint8_t lens[ARJ_NC] = {0};
    unsigned i = 0;
    while (i < n) {
        int c = msb_decode(r, t);
        if (c < 0)
            return msb_fail(r);
        if (c >= 3) {
            lens[i++] = (uint8_t)(c - 2);
            continue;
        }
        unsigned zeros = c == 0 ? 1 : c == 1 ? 3 + msb_bits(r, 4) : 20 + msb_bits(r, ARJ_CBIT);
        if (r->over)
            return ZIPX_ETRUNC;
        if (zeros > ARJ_NC - i)
            return ZIPX_EDATA;
        i += zeros;
    }
    return zipx_code_canonical(code, lens, ARJ_NC, false) == 0 ? ZIPX_OK : ZIPX_EDATA;
}

static enum zipx_status arj_lzh(const uint8_t *in, size_t inlen, uint64_t size,
                                struct zipx_out *out)
{
    struct msb_reader r = {.in = rbuf_make(in, inlen)};
    struct zipx_code t, c, p;
    uint32_t block_left = 0;
    /* Each step writes at least one byte or fails; size bounds the steps. */
    while (out->len < size) {
        if (block_left == 0) {
            /* A block: its symbol count (0 stands for 65536), then its codes. */
            uint32_t count = msb_bits(&r, 16);
            if (r.over)
                return ZIPX_ETRUNC;
            block_left = count ? count : 65536;
            enum zipx_status st = arj_small_code(&r, &t, ARJ_NT, ARJ_TBIT, 3);
            if (st == ZIPX_OK)
                st = arj_c_code(&r, &t, &c);
            if (st == ZIPX_OK)
                st = arj_small_code(&r, &p, ARJ_NP, ARJ_PBIT, 0);
            if (st != ZIPX_OK)
                return st;
        }
        block_left--;
        int sym = msb_decode(&r, &c);
        if (sym < 0)
            return msb_fail(&r);
        if (sym < 256) {
            if (!zipx_out_byte(out, (uint8_t)sym))
                return out_status(out);
            continue;
        }
        size_t len = (size_t)sym - 256 + ARJ_THRESHOLD;
        int k = msb_decode(&r, &p);
        if (k < 0)
            return msb_fail(&r);
        size_t dist = k == 0 ? 0 : (1u << (k - 1)) + msb_bits(&r, (unsigned)k - 1);
        dist += 1;
        if (r.over)
            return ZIPX_ETRUNC;
        if (dist > out->len || dist > ARJ_DICT)
            return ZIPX_EDATA;
        if (len > size - out->len)
            len = (size_t)(size - out->len);
        if (!zipx_out_copy(out, dist, len))
            return out_status(out);
    }
    return ZIPX_OK;
}

/* ---- method 4 ---- */

/* A number in method 4's code: up to stop - start 1 bits, each adding the
 * next power of two from 2^start (a 0 bit ends them early), then as many
 * plain bits as start + the number of 1 bits read. */
static uint32_t arj_fast_number(struct msb_reader *r, unsigned start, unsigned stop)
{
    uint32_t plus = 0, power = 1u << start;
    unsigned width = start;
    while (width < stop && msb_bits(r, 1) == 1 && !r->over) {
        plus += power;
        power <<= 1;
        width++;
    }
    return plus + (width ? msb_bits(r, width) : 0);
}

static enum zipx_status arj_fast(const uint8_t *in, size_t inlen, uint64_t size,
                                 struct zipx_out *out)
{
    struct msb_reader r = {.in = rbuf_make(in, inlen)};
    while (out->len < size) {
        uint32_t c = arj_fast_number(&r, 0, 7);
        if (c == 0) {
            uint32_t byte = msb_bits(&r, 8);
            if (r.over)
                return ZIPX_ETRUNC;
            if (!zipx_out_byte(out, (uint8_t)byte))
                return out_status(out);
            continue;
        }
        size_t len = c - 1 + ARJ_THRESHOLD;
        size_t dist = arj_fast_number(&r, 9, 13) + 1u;
        if (r.over)
            return ZIPX_ETRUNC;
        if (dist > out->len)
            return ZIPX_EDATA;
        if (len > size - out->len)
            len = (size_t)(size - out->len);
        if (!zipx_out_copy(out, dist, len))
            return out_status(out);
    }
    return ZIPX_OK;
}

enum zipx_status arj_unpack(unsigned method, const uint8_t *in, size_t inlen, uint64_t size,
                            struct zipx_out *out)
{
    switch (method) {
    case 0: {
        size_t n = inlen < size ? inlen : (size_t)size;
        if (!zipx_out_bytes(out, in, n))
            return out_status(out);
        return n < size ? ZIPX_ETRUNC : ZIPX_OK;
    }
    case 1:
    case 2:
    case 3:
        return arj_lzh(in, inlen, size, out);
    case 4:
        return arj_fast(in, inlen, size, out);
    default:
        return ZIPX_EDATA;
    }
}

/* ---- the archive ---- */

struct arj_header {
    const uint8_t *basic;     /* the basic header, from first_hdr_size on */
    size_t basic_len;
    size_t next;              /* offset just past the header and its extended headers */
};

/* Reads the header at off. 1: a header; 0: the end-of-archive header (size
 * 0); -1: no valid header there (bad id, size or CRC, or cut short). */
static int arj_read_header(const struct scan_object *obj, size_t off, struct arj_header *h)
{
    if (off > obj->len)
        return -1;
    struct rbuf b = rbuf_make(obj->data + off, obj->len - off);
    if (rbuf_u8(&b) != 0x60 || rbuf_u8(&b) != 0xea)
        return -1;
    uint16_t size = zipx_le16(&b);
    if (b.err)
        return -1;
    if (size == 0)
        return 0;
    if (size < ARJ_FIXED || size > ARJ_HEADER_MAX)
        return -1;
    const uint8_t *basic = rbuf_take(&b, size);
    uint32_t crc = zipx_le32(&b);
    if (b.err || crc != (uint32_t)crc32(0, basic, size))
        return -1;
    /* Extended headers: none are defined for what we read; skipped. Each
     * is at least 6 bytes, so the loop ends. */
    for (;;) {
        uint16_t ext = zipx_le16(&b);
        if (b.err)
            return -1;
        if (ext == 0)
            break;
        (void)rbuf_take(&b, ext);
        (void)zipx_le32(&b);
        if (b.err)
            return -1;
    }
    h->basic = basic;
    h->basic_len = size;
    h->next = off + b.pos;
    return 1;
}

/* The main header: at 0, or after a self-extractor's stub. */
static bool arj_find_main(const struct scan_object *obj, size_t *after)
{
    size_t limit = obj->len < ARJ_SEARCH_BYTES ? obj->len : ARJ_SEARCH_BYTES;
    unsigned tries = 0;
    for (size_t p = 0; p + 1 < limit && tries < ARJ_SEARCH_TRIES; p++) {
        if (obj->data[p] != 0x60 || obj->data[p + 1] != 0xea)
            continue;
        tries++;
        struct arj_header h;
        if (arj_read_header(obj, p, &h) == 1) {
            *after = h.next;
            return true;
        }
    }
    return false;
}

/* Decodes one file and scans it. */
static void arj_file(struct scan_ctx *ctx, const struct scan_object *obj, unsigned method,
                     const uint8_t *data, size_t clen, uint32_t size, const char *name)
{
    const char *limit = "MaxFileSize";
    uint64_t budget = scan_child_budget(ctx, obj, &limit);
    struct zipx_out out = {.max = budget < SIZE_MAX ? (size_t)budget : SIZE_MAX};
    zipx_out_hint(&out, size);
    enum zipx_status st = arj_unpack(method, data, clen, size, &out);
    if (st == ZIPX_FULL)
        scan_limit(ctx, limit, obj->where);
    /* What decoded is scanned, whole or not (see zipx.c). */
    if (st != ZIPX_ENOMEM && (out.len > 0 || st == ZIPX_OK) && scan_take(ctx, obj, out.len))
        scan_child(ctx, obj, name, out.data ? out.data : (const uint8_t *)"", out.len, name, NULL);
    free(out.data);
}

void scan_arj(struct scan_ctx *ctx, const struct scan_object *obj)
{
    size_t pos;
    if (!arj_find_main(obj, &pos))
        return;
    /* Each file's header is at least 40 bytes: the walk ends. */
    for (;;) {
        if (scan_should_stop(ctx, obj->where))
            return;
        struct arj_header h;
        if (arj_read_header(obj, pos, &h) != 1)
            return; /* the end, or damage: nothing after it can be trusted */
        struct rbuf b = rbuf_make(h.basic, h.basic_len);
        uint8_t first = rbuf_u8(&b);
        (void)rbuf_take(&b, 3); /* versions, host */
        uint8_t flags = rbuf_u8(&b), method = rbuf_u8(&b), type = rbuf_u8(&b);
        (void)rbuf_take(&b, 5); /* password modifier, time */
        uint32_t csize = zipx_le32(&b), size = zipx_le32(&b);
        if (b.err || first < ARJ_FIXED || first > h.basic_len)
            return;
        /* The name: NUL-terminated, right after the fixed and extra fields. */
        const uint8_t *name = h.basic + first;
        size_t name_len = 0;
        while (first + name_len < h.basic_len && name[name_len])
            name_len++;
        size_t data = h.next;
        size_t clen = csize < obj->len - data ? csize : obj->len - data;
        pos = data + clen;
        if (type != ARJ_TYPE_BINARY && type != ARJ_TYPE_TEXT)
            continue; /* directory, volume label, chapter */
        if (flags & ARJ_FLAG_GARBLED) {
            if (scan_heuristic_on(ctx, SCAN_HEUR_ENCRYPTED))
                scan_found(ctx, SCAN_SUSPICIOUS, "Heuristics.Encrypted.ARJ", obj->where);
            continue;
        }
        if (method > 4)
            continue;
        char *label = malloc(name_len + 1);
        if (!label)
            return;
        memcpy(label, name, name_len);
        label[name_len] = 0;
        arj_file(ctx, obj, method, obj->data + data, clen, size, label);
        free(label);
        if (clen < csize)
            return; /* cut short: no further header */
    }
}

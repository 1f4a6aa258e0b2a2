/*
 * zipx: zip members that libarchive cannot read - method 9 (Deflate64) and
 * method 6 (PKWARE Implode) - decoded here and handed back to the engine.
 *
 * Why: the mass-mailing worms of 2003 travelled in zips made by tools that
 * still used Implode (PKZIP 1.x and its clones) or Deflate64 (Windows'
 * own compressed folders for large files, 7-Zip, WinZip). libarchive 3.6
 * skips such members as "unsupported", which would let the executable
 * inside go unscanned. Stored and deflated members stay libarchive's job:
 * this reader skips them, so no member is scanned twice.
 *
 * Written from the specifications: PKWARE's APPNOTE.TXT (the zip records,
 * 4.3; Implode, 5.3; Deflate64, 5.6) and RFC 1951 (deflate). Trust boundary:
 * the whole zip is hostile. Every field is read through struct rbuf, every
 * offset checked against the end, every loop moves forward through the
 * input or the output, and no member decodes past scan_child_budget().
 */
#define _GNU_SOURCE /* memmem */
#include "scan/zipx.h"

#include <stdlib.h>
#include <string.h>

#include "scan/scan_priv.h"

const char *zipx_status_name(enum zipx_status s)
{
    switch (s) {
    case ZIPX_OK: return "ok";
    case ZIPX_FULL: return "limit";
    case ZIPX_ETRUNC: return "truncated";
    case ZIPX_EDATA: return "malformed";
    default: return "out of memory";
    }
}

/* ---- output ---- */

/* A member whose header claims a huge size gets at most this much up
 * front; if the claim is true the buffer doubles from there. */
enum { OUT_HINT_CAP = 16u << 20, OUT_FIRST = 4096 };

static bool out_reserve(struct zipx_out *out, size_t need)
{
    if (need <= out->cap)
        return true;
    size_t cap = out->cap ? out->cap : OUT_FIRST;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
    if (cap > out->max)
        cap = out->max;
    uint8_t *p = realloc(out->data, cap ? cap : 1);
    if (!p) {
        out->nomem = true;
        return false;
    }
    out->data = p;
    out->cap = cap;
    return true;
}

void zipx_out_hint(struct zipx_out *out, uint64_t hint)
{
    if (hint > OUT_HINT_CAP)
        hint = OUT_HINT_CAP;
    if (hint > out->max)
        hint = out->max;
    (void)out_reserve(out, (size_t)hint);
}

bool zipx_out_byte(struct zipx_out *out, uint8_t byte)
{
    if (out->len >= out->max) {
        out->full = true;
        return false;
    }
    if (out->len == out->cap && !out_reserve(out, out->len + 1))
        return false;
    out->data[out->len++] = byte;
    return true;
}

bool zipx_out_bytes(struct zipx_out *out, const uint8_t *p, size_t n)
{
    if (n == 0)
        return true;
    size_t room = out->max - out->len;
    size_t k = n < room ? n : room;
    if (!out_reserve(out, out->len + k))
        return false;
    memcpy(out->data + out->len, p, k);
    out->len += k;
    if (k < n) {
        out->full = true;
        return false;
    }
    return true;
}

bool zipx_out_copy(struct zipx_out *out, size_t dist, size_t len)
{
    if (dist == 0)
        return false;
    size_t room = out->max - out->len;
    size_t n = len < room ? len : room;
    if (!out_reserve(out, out->len + n))
        return false;
    uint8_t *d = out->data;
    size_t pos = out->len, end = pos + n;
    /* Positions whose source lies before the start of the output. */
    if (dist > pos) {
        size_t zeros = dist - pos < n ? dist - pos : n;
        memset(d + pos, 0, zeros);
        pos += zeros;
    }
    if (dist >= end - pos) {
        memcpy(d + pos, d + pos - dist, end - pos);
        pos = end;
    }
    for (; pos < end; pos++) /* overlapping: a run repeats the last dist bytes */
        d[pos] = d[pos - dist];
    out->len = end;
    if (n < len) {
        out->full = true;
        return false;
    }
    return true;
}

/* ---- bits, least significant first (deflate and implode) ---- */

/* Reading past the end yields zero bits and sets over: a decoder may peek
 * beyond the last byte (a code table looks at 16 bits where the last code
 * has 3) but consuming a bit that is not there is an error. */
struct lsb_reader {
    struct rbuf in;
    uint64_t acc;       /* unread bits, next one at bit 0; zero above n */
    unsigned n;
    bool over;
};

static struct lsb_reader lsb_make(const uint8_t *p, size_t len)
{
    return (struct lsb_reader){.in = rbuf_make(p, len)};
}

static void lsb_fill(struct lsb_reader *r)
{
    while (r->n <= 56 && rbuf_left(&r->in) > 0) {
        r->acc |= (uint64_t)rbuf_u8(&r->in) << r->n;
        r->n += 8;
    }
}

static uint32_t lsb_peek(struct lsb_reader *r, unsigned k)
{
    if (r->n < k)
        lsb_fill(r);
    return (uint32_t)(r->acc & ((1ull << k) - 1));
}

static void lsb_drop(struct lsb_reader *r, unsigned k)
{
    if (k > r->n) {
        r->over = true;
        r->acc = 0;
        r->n = 0;
        return;
    }
    r->acc >>= k;
    r->n -= k;
}

static uint32_t lsb_bits(struct lsb_reader *r, unsigned k)
{
    uint32_t v = lsb_peek(r, k);
    lsb_drop(r, k);
    return v;
}

/* True when fewer than 16 real bits remain: a failed look-up there is the
 * input ending mid-code rather than a bad code. */
static bool lsb_near_end(struct lsb_reader *r)
{
    lsb_fill(r);
    return r->n < 16;
}

/* Bytes consumed so far, counting a partly used byte as used. */
static size_t lsb_used(const struct lsb_reader *r)
{
    return r->in.pos - r->n / 8;
}

/* Decodes one symbol: >= 0, or -1 (no code matches, or the input ended). */
static int lsb_decode(struct lsb_reader *r, const struct zipx_code *c)
{
    unsigned len = 0;
    int sym = zipx_code_lookup(c, lsb_peek(r, 16), &len);
    if (sym < 0)
        return -1;
    lsb_drop(r, len);
    return r->over ? -1 : sym;
}

static enum zipx_status lsb_fail(struct lsb_reader *r)
{
    return r->over || lsb_near_end(r) ? ZIPX_ETRUNC : ZIPX_EDATA;
}

/* ---- prefix codes ---- */

static uint32_t reverse_bits(uint32_t v, unsigned n)
{
    uint32_t r = 0;
    for (unsigned i = 0; i < n; i++, v >>= 1)
        r = r << 1 | (v & 1);
    return r;
}

int zipx_code_build(struct zipx_code *c, const uint8_t *lens, const uint16_t *codes, unsigned n,
                    bool lsb_first)
{
    if (n > ZIPX_CODE_MAXSYMS)
        return -1;
    memset(c, 0, sizeof *c);
    c->single = -1;
    c->lsb_first = lsb_first;
    /* Count the lengths and check that they fit in the code space (Kraft:
     * the sum of 2^-len is at most 1). */
    uint32_t space = 0;
    uint32_t lowest[ZIPX_CODE_MAXLEN + 1];
    for (unsigned l = 0; l <= ZIPX_CODE_MAXLEN; l++)
        lowest[l] = UINT32_MAX;
    for (unsigned s = 0; s < n; s++) {
        unsigned l = lens[s];
        if (l == 0)
            continue;
        if (l > ZIPX_CODE_MAXLEN || codes[s] >> l)
            return -1;
        c->count[l]++;
        space += 1u << (ZIPX_CODE_MAXLEN - l);
        if (codes[s] < lowest[l])
            lowest[l] = codes[s];
    }
    if (space > 1u << ZIPX_CODE_MAXLEN)
        return -1;
    unsigned at = 0;
    for (unsigned l = 1; l <= ZIPX_CODE_MAXLEN; l++) {
        c->index[l] = (uint16_t)at;
        c->first[l] = c->count[l] ? (uint16_t)lowest[l] : 0;
        at += c->count[l];
    }
    /* Each length's codes must be consecutive: slot = code - first is then
     * unique and below count, and every slot gets exactly one symbol. */
    for (unsigned i = 0; i < at; i++)
        c->sym[i] = UINT16_MAX;
    for (unsigned s = 0; s < n; s++) {
        unsigned l = lens[s];
        if (l == 0)
            continue;
        unsigned slot = codes[s] - c->first[l];
        if (slot >= c->count[l] || c->sym[c->index[l] + slot] != UINT16_MAX)
            return -1;
        c->sym[c->index[l] + slot] = (uint16_t)s;
    }
    /* The fast table: every FASTBITS-bit pattern that starts with a short
     * code. In lsb order the code's first bit is the pattern's bit 0. */
    for (unsigned s = 0; s < n; s++) {
        unsigned l = lens[s];
        if (l == 0 || l > ZIPX_CODE_FASTBITS)
            continue;
        uint16_t entry = (uint16_t)(s << 5 | l);
        if (lsb_first) {
            for (uint32_t i = reverse_bits(codes[s], l); i < 1u << ZIPX_CODE_FASTBITS; i += 1u << l)
                c->fast[i] = entry;
        } else {
            uint32_t base = (uint32_t)codes[s] << (ZIPX_CODE_FASTBITS - l);
            for (uint32_t i = 0; i < 1u << (ZIPX_CODE_FASTBITS - l); i++)
                c->fast[base + i] = entry;
        }
    }
    return 0;
}

int zipx_code_canonical(struct zipx_code *c, const uint8_t *lens, unsigned n, bool lsb_first)
{
    if (n > ZIPX_CODE_MAXSYMS)
        return -1;
    unsigned count[ZIPX_CODE_MAXLEN + 1] = {0};
    for (unsigned s = 0; s < n; s++) {
        if (lens[s] > ZIPX_CODE_MAXLEN)
            return -1;
        count[lens[s]]++;
    }
    /* RFC 1951 3.2.2: shorter codes first, each length's codes consecutive
     * in symbol order. */
    uint32_t next[ZIPX_CODE_MAXLEN + 1];
    uint32_t code = 0;
    count[0] = 0;
    for (unsigned l = 1; l <= ZIPX_CODE_MAXLEN; l++) {
        code = (code + count[l - 1]) << 1;
        next[l] = code;
    }
    uint16_t codes[ZIPX_CODE_MAXSYMS];
    for (unsigned s = 0; s < n; s++) {
        unsigned l = lens[s];
        codes[s] = 0;
        if (l == 0)
            continue;
        if (next[l] >= 1u << l)
            return -1; /* oversubscribed */
        codes[s] = (uint16_t)next[l]++;
    }
    return zipx_code_build(c, lens, codes, n, lsb_first);
}

void zipx_code_single(struct zipx_code *c, unsigned sym, bool lsb_first)
{
    memset(c, 0, sizeof *c);
    c->single = (int)sym;
    c->lsb_first = lsb_first;
}

int zipx_code_lookup(const struct zipx_code *c, uint32_t peek, unsigned *len)
{
    if (c->single >= 0) {
        *len = 0;
        return c->single;
    }
    unsigned idx = c->lsb_first ? peek & ((1u << ZIPX_CODE_FASTBITS) - 1)
                                : (peek >> (16 - ZIPX_CODE_FASTBITS)) & ((1u << ZIPX_CODE_FASTBITS) - 1);
    uint16_t e = c->fast[idx];
    if (e) {
        *len = e & 31;
        return e >> 5;
    }
    /* A longer code (or none): take one bit at a time, checking whether the
     * code so far is one of this length's consecutive codes. */
    uint32_t code = 0;
    for (unsigned l = 1; l <= ZIPX_CODE_MAXLEN; l++) {
        unsigned bit = c->lsb_first ? peek >> (l - 1) & 1 : peek >> (16 - l) & 1;
        code = code << 1 | bit;
        if (c->count[l] && code >= c->first[l] && code - c->first[l] < c->count[l]) {
            *len = l;
            return c->sym[c->index[l] + code - c->first[l]];
        }
    }
    return -1;
}

/* ---- Deflate64 ---- */

/* RFC 1951 3.2.5, with Deflate64's changes: length code 285 is 3 plus 16
 * extra bits (deflate: 258, none), and distance codes 30 and 31 exist. */
static const uint16_t len_base[29] = {3,  4,  5,  6,  7,  8,  9,  10, 11,  13,  15,  17,  19,  23, 27,
                                      31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 3};
static const uint8_t len_extra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                      2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 16};
static const uint16_t dist_base[32] = {
    1,    2,    3,    4,    5,    7,     9,     13,    17,    25,    33,
    49,   65,   97,   129,  193,  257,   385,   513,   769,   1025,  1537,
    2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577, 32769, 49153};
static const uint8_t dist_extra[32] = {0, 0, 0, 0, 1, 1, 2,  2,  3,  3,  4,  4,  5,  5,  6,  6,
                                       7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14};

enum { LITLEN_SYMS = 288, DIST_SYMS = 32, DEFLATE64_WINDOW = 65536 };

static enum zipx_status out_status(const struct zipx_out *out)
{
    return out->nomem ? ZIPX_ENOMEM : ZIPX_FULL;
}

/* A stored block: LEN, its complement, LEN raw bytes from the next byte
 * boundary. */
static enum zipx_status inflate_stored(struct lsb_reader *r, struct zipx_out *out)
{
    lsb_drop(r, r->n % 8);
    uint32_t len = lsb_bits(r, 16), nlen = lsb_bits(r, 16);
    if (r->over)
        return ZIPX_ETRUNC;
    if (len != (~nlen & 0xffff))
        return ZIPX_EDATA;
    /* Whole bytes still in the bit buffer first, then straight from input. */
    while (len > 0 && r->n >= 8) {
        if (!zipx_out_byte(out, (uint8_t)lsb_bits(r, 8)))
            return out_status(out);
        len--;
    }
    size_t have = rbuf_left(&r->in) < len ? rbuf_left(&r->in) : len;
    const uint8_t *p = rbuf_take(&r->in, have);
    if (have && !zipx_out_bytes(out, p, have))
        return out_status(out);
    return have < len ? ZIPX_ETRUNC : ZIPX_OK;
}

/* The code lengths of a dynamic block (RFC 1951 3.2.7), themselves coded
 * with a small code whose lengths come first, in a fixed order. */
static enum zipx_status inflate_tables(struct lsb_reader *r, struct zipx_code *lit,
                                       struct zipx_code *dist)
{
    static const uint8_t order[19] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};
    unsigned hlit = lsb_bits(r, 5) + 257, hdist = lsb_bits(r, 5) + 1, hclen = lsb_bits(r, 4) + 4;
    if (r->over)
        return ZIPX_ETRUNC;
    if (hlit > 286)
        return ZIPX_EDATA;
    uint8_t cl[19] = {0};
    for (unsigned i = 0; i < hclen; i++)
        cl[order[i]] = (uint8_t)lsb_bits(r, 3);
    if (r->over)
        return ZIPX_ETRUNC;
    struct zipx_code pre;
    if (zipx_code_canonical(&pre, cl, 19, true) != 0)
        return ZIPX_EDATA;
    uint8_t lens[286 + DIST_SYMS];
    unsigned total = hlit + hdist, i = 0;
    while (i < total) {
        int sym = lsb_decode(r, &pre);
        if (sym < 0)
            return lsb_fail(r);
        if (sym < 16) {
            lens[i++] = (uint8_t)sym;
            continue;
        }
        uint8_t value = 0;
        unsigned rep;
        if (sym == 16) {
            if (i == 0)
                return ZIPX_EDATA; /* nothing to repeat */
            value = lens[i - 1];
            rep = 3 + lsb_bits(r, 2);
        } else if (sym == 17) {
            rep = 3 + lsb_bits(r, 3);
        } else {
            rep = 11 + lsb_bits(r, 7);
        }
        if (r->over)
            return ZIPX_ETRUNC;
        if (rep > total - i)
            return ZIPX_EDATA;
        memset(lens + i, value, rep);
        i += rep;
    }
    if (lens[256] == 0)
        return ZIPX_EDATA; /* a block that cannot end */
    if (zipx_code_canonical(lit, lens, hlit, true) != 0 ||
        zipx_code_canonical(dist, lens + hlit, hdist, true) != 0)
        return ZIPX_EDATA;
    return ZIPX_OK;
}

static void inflate_fixed_tables(struct zipx_code *lit, struct zipx_code *dist)
{
    uint8_t lens[LITLEN_SYMS];
    memset(lens, 8, 144);
    memset(lens + 144, 9, 112);
    memset(lens + 256, 7, 24);
    memset(lens + 280, 8, 8);
    (void)zipx_code_canonical(lit, lens, LITLEN_SYMS, true);
    memset(lens, 5, DIST_SYMS);
    (void)zipx_code_canonical(dist, lens, DIST_SYMS, true);
}

/* The symbols of one compressed block, up to its end-of-block code. */
static enum zipx_status inflate_codes(struct lsb_reader *r, struct zipx_out *out,
                                      const struct zipx_code *lit, const struct zipx_code *dist)
{
    for (;;) {
        int sym = lsb_decode(r, lit);
        if (sym < 0)
            return lsb_fail(r);
        if (sym < 256) {
            if (!zipx_out_byte(out, (uint8_t)sym))
                return out_status(out);
            continue;
        }
        if (sym == 256)
            return ZIPX_OK;
        unsigned li = (unsigned)sym - 257;
        if (li >= 29)
            return ZIPX_EDATA; /* 286 and 287 are never sent */
        size_t len = len_base[li] + lsb_bits(r, len_extra[li]);
        int ds = lsb_decode(r, dist);
        if (ds < 0)
            return lsb_fail(r);
        size_t d = dist_base[ds] + lsb_bits(r, dist_extra[ds]);
        if (r->over)
            return ZIPX_ETRUNC;
        if (d > out->len || d > DEFLATE64_WINDOW)
            return ZIPX_EDATA; /* before the start: no preset dictionary in zip */
        if (!zipx_out_copy(out, d, len))
            return out_status(out);
    }
}

enum zipx_status zipx_inflate64(const uint8_t *in, size_t inlen, struct zipx_out *out, size_t *used)
{
    struct lsb_reader r = lsb_make(in, inlen);
    struct zipx_code lit, dist, fixed_lit, fixed_dist;
    bool have_fixed = false; /* built at the first fixed block, not at each */
    enum zipx_status st = ZIPX_OK;
    bool final = false;
    /* Every block consumes at least 3 bits; the reader ends the loop when
     * the input does. */
    while (!final && st == ZIPX_OK) {
        final = lsb_bits(&r, 1);
        unsigned type = lsb_bits(&r, 2);
        if (r.over) {
            st = ZIPX_ETRUNC;
            break;
        }
        switch (type) {
        case 0:
            st = inflate_stored(&r, out);
            break;
        case 1:
            if (!have_fixed)
                inflate_fixed_tables(&fixed_lit, &fixed_dist);
            have_fixed = true;
            st = inflate_codes(&r, out, &fixed_lit, &fixed_dist);
            break;
        case 2:
            st = inflate_tables(&r, &lit, &dist);
            if (st == ZIPX_OK)
                st = inflate_codes(&r, out, &lit, &dist);
            break;
        default:
            st = ZIPX_EDATA;
            break;
        }
    }
    if (used)
        *used = lsb_used(&r);
    return st;
}

/* ---- Implode ---- */

/* One Shannon-Fano tree (APPNOTE 5.3): a byte holding the number of
 * bytes that follow, less one; each of those gives a run of equal lengths,
 * (count - 1) << 4 | (length - 1). The runs must cover exactly n values. */
static enum zipx_status implode_tree(struct rbuf *in, unsigned n, struct zipx_code *c)
{
    uint8_t lens[256];
    unsigned have = 0, nbytes = rbuf_u8(in) + 1u;
    for (unsigned i = 0; i < nbytes; i++) {
        uint8_t b = rbuf_u8(in);
        unsigned run = (b >> 4) + 1u;
        if (in->err)
            return ZIPX_ETRUNC;
        if (run > n - have)
            return ZIPX_EDATA;
        memset(lens + have, (b & 15) + 1, run);
        have += run;
    }
    if (have != n)
        return ZIPX_EDATA;
    /* The codes (APPNOTE 5.3): sort the values by length, keeping their
     * order within a length; walking from the longest end, each code is the
     * previous one plus the previous length's step, as 16-bit numbers whose
     * top bits are the code. A code that overflows 16 bits, or whose low
     * bits are not zero (it would be a prefix of another), is malformed. */
    uint16_t sorted[256];
    unsigned at = 0;
    for (unsigned l = 1; l <= 16; l++)
        for (unsigned s = 0; s < n; s++)
            if (lens[s] == l)
                sorted[at++] = (uint16_t)s;
    uint16_t codes[256];
    uint32_t code = 0, step = 0;
    unsigned last = 0;
    for (unsigned k = n; k-- > 0;) {
        unsigned s = sorted[k];
        code += step;
        if (lens[s] != last) {
            last = lens[s];
            step = 1u << (16 - last);
        }
        if (code >= 1u << 16 || (code & (step - 1)) != 0)
            return ZIPX_EDATA;
        codes[s] = (uint16_t)(code >> (16 - last));
    }
    if (code + step > 1u << 16)
        return ZIPX_EDATA;
    return zipx_code_build(c, lens, codes, n, true) == 0 ? ZIPX_OK : ZIPX_EDATA;
}

enum zipx_status zipx_explode(const uint8_t *in, size_t inlen, unsigned flags, uint64_t size,
                              struct zipx_out *out)
{
    bool big_dict = flags & 2, lit_tree = flags & 4;
    unsigned low_bits = big_dict ? 7 : 6, min_match = lit_tree ? 3 : 2;
    struct rbuf trees = rbuf_make(in, inlen);
    struct zipx_code lit, len, dist;
    enum zipx_status st = ZIPX_OK;
    if (lit_tree)
        st = implode_tree(&trees, 256, &lit);
    if (st == ZIPX_OK)
        st = implode_tree(&trees, 64, &len);
    if (st == ZIPX_OK)
        st = implode_tree(&trees, 64, &dist);
    if (st != ZIPX_OK)
        return st;
    struct lsb_reader r = lsb_make(in + trees.pos, inlen - trees.pos);
    /* No end marker: the member's size says when to stop. Each step
     * consumes at least one bit or fails. */
    while (out->len < size) {
        if (lsb_bits(&r, 1)) {
            int c = lit_tree ? lsb_decode(&r, &lit) : (int)lsb_bits(&r, 8);
            if (c < 0 || r.over)
                return lsb_fail(&r);
            if (!zipx_out_byte(out, (uint8_t)c))
                return out_status(out);
            continue;
        }
        uint32_t low = lsb_bits(&r, low_bits);
        int high = lsb_decode(&r, &dist);
        if (high < 0)
            return lsb_fail(&r);
        int l = lsb_decode(&r, &len);
        if (l < 0)
            return lsb_fail(&r);
        size_t n = (size_t)l + min_match;
        if (l == 63)
            n += lsb_bits(&r, 8);
        if (r.over)
            return ZIPX_ETRUNC;
        size_t d = ((size_t)high << low_bits | low) + 1;
        if (n > size - out->len)
            n = (size_t)(size - out->len);
        /* A distance may reach before the start of the output: APPNOTE
         * 5.3 says the dictionary holds zeros there, so it is not an error. */
        if (!zipx_out_copy(out, d, n))
            return out_status(out);
    }
    return ZIPX_OK;
}

/* ---- the zip walk ---- */

enum {
    SIG_LOCAL = 0x04034b50,
    SIG_CENTRAL = 0x02014b50,
    SIG_END = 0x06054b50,
    LOCAL_FIXED = 30,
    END_FIXED = 22,
    METHOD_IMPLODE = 6,
    METHOD_DEFLATE64 = 9,
    FLAG_ENCRYPTED = 1,
    FLAG_DESCRIPTOR = 8,
};

/* One member as the walk found it. */
struct zip_member {
    uint16_t flags;
    uint16_t method;
    uint64_t csize;           /* compressed size; UINT64_MAX: unknown */
    uint64_t usize;           /* uncompressed size as claimed; UINT64_MAX: unknown */
    const uint8_t *name;
    size_t name_len;
    size_t data;              /* offset of the compressed data */
};

static bool wants(uint16_t method)
{
    return method == METHOD_IMPLODE || method == METHOD_DEFLATE64;
}

/* The name as a C string: NUL bytes (which would cut it short and hide an
 * ".exe" after them) become '_'. NULL on out of memory. */
static char *member_name(const struct zip_member *m)
{
    char *s = malloc(m->name_len + 1);
    if (!s)
        return NULL;
    for (size_t i = 0; i < m->name_len; i++)
        s[i] = m->name[i] ? (char)m->name[i] : '_';
    s[m->name_len] = 0;
    return s;
}

/* Decodes one method 6 or 9 member and scans it. */
static void zip_member(struct scan_ctx *ctx, const struct scan_object *obj,
                       const struct zip_member *m)
{
    if (m->flags & FLAG_ENCRYPTED) {
        if (scan_heuristic_on(ctx, SCAN_HEUR_ENCRYPTED))
            scan_found(ctx, SCAN_SUSPICIOUS, "Heuristics.Encrypted.Zip", obj->where);
        return;
    }
    if (m->data > obj->len)
        return;
    size_t avail = obj->len - m->data;
    size_t clen = m->csize < avail ? (size_t)m->csize : avail; /* truncated: what is there */
    const char *limit = "MaxFileSize";
    uint64_t budget = scan_child_budget(ctx, obj, &limit);
    struct zipx_out out = {.max = budget < SIZE_MAX ? (size_t)budget : SIZE_MAX};
    if (m->usize != UINT64_MAX)
        zipx_out_hint(&out, m->usize);
    enum zipx_status st;
    if (m->method == METHOD_DEFLATE64) {
        st = zipx_inflate64(obj->data + m->data, clen, &out, NULL);
    } else if (m->usize != UINT64_MAX) {
        st = zipx_explode(obj->data + m->data, clen, m->flags, m->usize, &out);
    } else {
        st = ZIPX_EDATA; /* Implode cannot end without the size */
    }
    if (st == ZIPX_FULL)
        scan_limit(ctx, limit, obj->where);
    /* Whatever decoded is scanned, complete or not: a damaged archive must
     * not hide the part of the executable that did come out. */
    if (st != ZIPX_ENOMEM && (out.len > 0 || st == ZIPX_OK) && scan_take(ctx, obj, out.len)) {
        char *name = member_name(m);
        if (name)
            scan_child(ctx, obj, name, out.data ? out.data : (const uint8_t *)"", out.len, name,
                       NULL);
        free(name);
    }
    free(out.data);
}

/* Reads a local header at off: fills the fields a local header has and the
 * data offset. False if there is no whole local header there. */
static bool read_local(const struct scan_object *obj, size_t off, struct zip_member *m)
{
    if (off > obj->len)
        return false;
    struct rbuf b = rbuf_make(obj->data + off, obj->len - off);
    if (zipx_le32(&b) != SIG_LOCAL)
        return false;
    (void)zipx_le16(&b); /* version needed */
    m->flags = zipx_le16(&b);
    m->method = zipx_le16(&b);
    (void)zipx_le32(&b); /* time, date */
    (void)zipx_le32(&b); /* crc */
    uint32_t csize = zipx_le32(&b), usize = zipx_le32(&b);
    uint16_t nlen = zipx_le16(&b), xlen = zipx_le16(&b);
    m->name = rbuf_take(&b, nlen);
    m->name_len = nlen;
    (void)rbuf_take(&b, xlen);
    if (b.err)
        return false;
    m->data = off + b.pos;
    /* With a data descriptor the sizes come after the data: unknown here. */
    bool later = (m->flags & FLAG_DESCRIPTOR) && csize == 0;
    m->csize = later || csize == UINT32_MAX ? UINT64_MAX : csize;
    m->usize = later || usize == UINT32_MAX ? UINT64_MAX : usize;
    return true;
}

/* The zip64 extra field (APPNOTE 4.5.3) of a central entry: the 64-bit
 * sizes and offset, present only for the fields set to 0xffffffff. */
static void zip64_extra(const uint8_t *x, size_t xlen, uint64_t *usize, uint64_t *csize,
                        uint64_t *offset)
{
    struct rbuf b = rbuf_make(x, xlen);
    while (rbuf_left(&b) >= 4) {
        uint16_t id = zipx_le16(&b), size = zipx_le16(&b);
        const uint8_t *p = rbuf_take(&b, size);
        if (!p)
            return;
        if (id != 0x0001)
            continue;
        struct rbuf f = rbuf_make(p, size);
        if (*usize == UINT32_MAX && rbuf_left(&f) >= 8)
            *usize = zipx_le32(&f) | (uint64_t)zipx_le32(&f) << 32;
        if (*csize == UINT32_MAX && rbuf_left(&f) >= 8)
            *csize = zipx_le32(&f) | (uint64_t)zipx_le32(&f) << 32;
        if (*offset == UINT32_MAX && rbuf_left(&f) >= 8)
            *offset = zipx_le32(&f) | (uint64_t)zipx_le32(&f) << 32;
        return;
    }
}

static bool is_sig(const struct scan_object *obj, size_t off, uint32_t sig)
{
    if (off > obj->len || obj->len - off < 4)
        return false;
    struct rbuf b = rbuf_make(obj->data + off, 4);
    return zipx_le32(&b) == sig;
}

/* The end of central directory record: the last "PK\5\6" in the final
 * 64 KiB + 22 bytes (its comment may be up to 65535 bytes). */
static bool find_end(const struct scan_object *obj, size_t *at)
{
    if (obj->len < END_FIXED)
        return false;
    size_t lowest = obj->len > END_FIXED + 65535 ? obj->len - END_FIXED - 65535 : 0;
    for (size_t p = obj->len - END_FIXED + 1; p-- > lowest;) {
        if (is_sig(obj, p, SIG_END)) {
            *at = p;
            return true;
        }
    }
    return false;
}


/* Walks the central directory. Returns false if there is none to walk (no
 * end record, or no central entry where it points), so that the caller
 * falls back to the local headers. */
static bool walk_central(struct scan_ctx *ctx, const struct scan_object *obj)
{
    size_t end;
    if (!find_end(obj, &end))
        return false;
    struct rbuf e = rbuf_make(obj->data + end, obj->len - end);
    (void)zipx_le32(&e); /* signature */
    (void)zipx_le32(&e); /* disk numbers */
    (void)zipx_le32(&e); /* entry counts */
    uint32_t cd_size = zipx_le32(&e), cd_off = zipx_le32(&e);
    /* Where the directory says it is, or - for a zip with something
     * prepended, such as a self-extractor's stub - right before the end
     * record, every local offset then shifted by the same amount. */
    size_t cd = cd_off;
    uint64_t shift = 0;
    if (!is_sig(obj, cd, SIG_CENTRAL)) {
        if (cd_size > end || !is_sig(obj, end - cd_size, SIG_CENTRAL))
            return false;
        cd = end - cd_size;
        shift = (uint64_t)cd - cd_off;
    }
    /* Each entry is at least 46 bytes long: the walk ends. */
    while (is_sig(obj, cd, SIG_CENTRAL)) {
        if (scan_should_stop(ctx, obj->where))
            return true;
        struct rbuf b = rbuf_make(obj->data + cd, obj->len - cd);
        (void)rbuf_take(&b, 8); /* signature, versions */
        struct zip_member m = {0};
        m.flags = zipx_le16(&b);
        m.method = zipx_le16(&b);
        (void)zipx_le32(&b); /* time, date */
        (void)zipx_le32(&b); /* crc */
        uint64_t csize = zipx_le32(&b), usize = zipx_le32(&b);
        uint16_t nlen = zipx_le16(&b), xlen = zipx_le16(&b), clen = zipx_le16(&b);
        (void)rbuf_take(&b, 8); /* disk, attributes */
        uint64_t loff = zipx_le32(&b);
        const uint8_t *name = rbuf_take(&b, nlen);
        const uint8_t *extra = rbuf_take(&b, xlen);
        (void)rbuf_take(&b, clen);
        if (b.err)
            break;
        cd += b.pos;
        if (!wants(m.method))
            continue;
        if (extra)
            zip64_extra(extra, xlen, &usize, &csize, &loff);
        /* Modulo 2^64, so a negative shift works; an offset that lands
         * outside the input is refused by read_local. */
        uint64_t at = loff + shift;
        struct zip_member local;
        if (at > obj->len || !read_local(obj, (size_t)at, &local))
            continue;
        m.name = name;
        m.name_len = nlen;
        m.csize = csize;
        m.usize = usize;
        m.data = local.data;
        zip_member(ctx, obj, &m);
    }
    return true;
}

/* Without a central directory (a truncated zip, or one cut from a stream):
 * every local header in order. After a member whose size is known the
 * search resumes behind its data, so that a zip stored inside is not taken
 * for members of this one. */
static void walk_local(struct scan_ctx *ctx, const struct scan_object *obj)
{
    size_t pos = 0;
    while (pos < obj->len && obj->len - pos >= LOCAL_FIXED) {
        const uint8_t *hit = memmem(obj->data + pos, obj->len - pos, "PK\3\4", 4);
        if (!hit)
            return;
        size_t at = (size_t)(hit - obj->data);
        pos = at + 4;
        struct zip_member m;
        if (!read_local(obj, at, &m))
            continue;
        if (scan_should_stop(ctx, obj->where))
            return;
        if (wants(m.method))
            zip_member(ctx, obj, &m);
        if (m.csize != UINT64_MAX && m.csize <= obj->len - m.data)
            pos = m.data + (size_t)m.csize;
    }
}

void scan_zip_legacy(struct scan_ctx *ctx, const struct scan_object *obj)
{
    if (!walk_central(ctx, obj))
        walk_local(ctx, obj);
}

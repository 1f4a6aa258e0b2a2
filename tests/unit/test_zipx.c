/* Unit tests: the Deflate64 and Implode decoders and the legacy zip walk
 * (src/scan/zipx.c), and the ARJ reader (src/scan/arj.c).
 *
 * The engine's helpers (scan_child, scan_found, ...) are replaced by test
 * doubles that record what the readers hand on, so these tests need neither
 * the rest of the engine nor its libraries. The real-world files are
 * ClamAV's test files (Debian's clamav-testfiles, installed by make deps):
 * each archive holds clam.exe, a harmless 544-byte test executable. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zlib.h>

#include "scan/scan_priv.h"
#include "scan/zipx.h"

#include "scan_doubles.h"

/* Runs a reader on an exact-size heap copy of data, so that AddressSanitizer
 * catches a read one byte past the end. */
typedef void (*reader_fn)(struct scan_ctx *, const struct scan_object *);

static void run(reader_fn reader, const uint8_t *data, size_t len)
{
    uint8_t *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    if (len)
        memcpy(copy, data, len);
    struct scan_ctx ctx = {0};
    struct scan_object obj = {.data = copy, .len = len, .name = "t", .where = "", .depth = 0};
    reader(&ctx, &obj);
    free(copy);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Bits least significant first, as zip streams are written. */
struct bitw {
    uint8_t *buf;
    size_t cap, len;
    uint32_t acc;
    unsigned n;
};

static void bw_bits(struct bitw *w, uint32_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        w->acc |= ((v >> i) & 1u) << w->n;
        if (++w->n == 8) {
            assert_true(w->len < w->cap);
            w->buf[w->len++] = (uint8_t)w->acc;
            w->acc = 0;
            w->n = 0;
        }
    }
}

/* A prefix code: its first bit is its most significant. */
static void bw_code(struct bitw *w, uint32_t code, unsigned n)
{
    for (unsigned i = n; i-- > 0;)
        bw_bits(w, code >> i & 1, 1);
}

static void bw_byte(struct bitw *w, uint8_t b)
{
    assert_int_equal(w->n, 0);
    assert_true(w->len < w->cap);
    w->buf[w->len++] = b;
}

static size_t bw_end(struct bitw *w)
{
    if (w->n)
        bw_bits(w, 0, 8 - w->n);
    return w->len;
}

/* ---- the ClamAV test files ---- */

static void zip_yields_clam_exe(const char *file)
{
    size_t zlen, elen;
    uint8_t *zip = slurp(file, &zlen), *exe = clam_exe(&elen);
    reset();
    run(scan_zip_legacy, zip, zlen);
    assert_int_equal(T.nkids, 1);
    assert_int_equal(T.nfinds, 0);
    assert_string_equal(T.kids[0].label, strstr(file, "impl") ? "CLAM.EXE" : "clam.exe");
    assert_string_equal(T.kids[0].name, T.kids[0].label);
    assert_int_equal(T.kids[0].len, elen);
    assert_memory_equal(T.kids[0].data, exe, elen);
    assert_int_equal(T.taken, elen);
    reset();
    free(zip);
    free(exe);
}

static void deflate64_test_file(void **state)
{
    (void)state;
    zip_yields_clam_exe(TESTFILES "clam.d64.zip");
}

static void implode_test_file(void **state)
{
    (void)state;
    zip_yields_clam_exe(TESTFILES "clam.impl.zip");
}

/* Stored and deflated members are libarchive's: skipped, nothing reported. */
static void skips_deflated_members(void **state)
{
    (void)state;
    size_t len;
    uint8_t *zip = slurp(TESTFILES "clam.zip", &len);
    reset();
    run(scan_zip_legacy, zip, len);
    assert_int_equal(T.nkids, 0);
    assert_int_equal(T.nfinds, 0);
    free(zip);
}

/* A self-extractor's stub before the zip: the central directory's offsets
 * are then off by the stub's size. And without any central directory the
 * local headers are walked. */
static void finds_members_when_shifted_or_without_directory(void **state)
{
    (void)state;
    size_t elen;
    uint8_t *exe = clam_exe(&elen);
    const char *files[] = {TESTFILES "clam.d64.zip", TESTFILES "clam.impl.zip"};
    for (unsigned f = 0; f < 2; f++) {
        size_t zlen;
        uint8_t *zip = slurp(files[f], &zlen);
        uint8_t *sfx = malloc(zlen + 300);
        memset(sfx, 'M', 300);
        memcpy(sfx + 300, zip, zlen);
        reset();
        run(scan_zip_legacy, sfx, zlen + 300);
        assert_int_equal(T.nkids, 1);
        assert_int_equal(T.kids[0].len, elen);
        assert_memory_equal(T.kids[0].data, exe, elen);
        /* cut at the first central header */
        size_t cd = 0;
        while (cd + 4 <= zlen && memcmp(zip + cd, "PK\1\2", 4) != 0)
            cd++;
        assert_true(cd + 4 <= zlen);
        reset();
        run(scan_zip_legacy, zip, cd);
        assert_int_equal(T.nkids, 1);
        assert_int_equal(T.kids[0].len, elen);
        assert_memory_equal(T.kids[0].data, exe, elen);
        free(sfx);
        free(zip);
    }
    reset();
    free(exe);
}

/* ---- limits ---- */

static void stops_at_the_budget(void **state)
{
    (void)state;
    size_t elen;
    uint8_t *exe = clam_exe(&elen);
    const char *files[] = {TESTFILES "clam.d64.zip", TESTFILES "clam.impl.zip"};
    for (unsigned f = 0; f < 2; f++) {
        size_t zlen;
        uint8_t *zip = slurp(files[f], &zlen);
        reset();
        T.budget = 100;
        T.budget_name = "MaxCompressionRatio";
        run(scan_zip_legacy, zip, zlen);
        assert_int_equal(T.nkids, 1);
        assert_int_equal(T.kids[0].len, 100); /* what fits is scanned */
        assert_memory_equal(T.kids[0].data, exe, 100);
        assert_true(found("Heuristics.Limits.Exceeded.MaxCompressionRatio"));
        assert_int_equal(T.taken, 100);
        /* nothing left at all */
        reset();
        T.budget = 0;
        T.budget_name = "MaxScanSize";
        run(scan_zip_legacy, zip, zlen);
        assert_int_equal(T.nkids, 0);
        assert_true(found("Heuristics.Limits.Exceeded.MaxScanSize"));
        /* the scan told to stop: no member is decoded */
        reset();
        T.stop = true;
        run(scan_zip_legacy, zip, zlen);
        assert_int_equal(T.nkids, 0);
        assert_int_equal(T.taken, 0);
        free(zip);
    }
    reset();
    free(exe);
}

/* Sets general-purpose bit 0 in every local and central header. */
static void set_encrypted(uint8_t *zip, size_t len)
{
    for (size_t i = 0; i + 10 <= len; i++) {
        if (memcmp(zip + i, "PK\3\4", 4) == 0)
            zip[i + 6] |= 1;
        else if (memcmp(zip + i, "PK\1\2", 4) == 0)
            zip[i + 8] |= 1;
    }
}

static void reports_encrypted_members(void **state)
{
    (void)state;
    size_t zlen;
    uint8_t *zip = slurp(TESTFILES "clam.d64.zip", &zlen);
    set_encrypted(zip, zlen);
    reset();
    run(scan_zip_legacy, zip, zlen);
    assert_int_equal(T.nkids, 0);
    assert_true(found("Heuristics.Encrypted.Zip"));
    reset();
    T.heuristics = SCAN_HEUR_ALL & ~SCAN_HEUR_ENCRYPTED;
    run(scan_zip_legacy, zip, zlen);
    assert_int_equal(T.nkids, 0);
    assert_int_equal(T.nfinds, 0);
    reset();
    free(zip);
}

/* Every prefix of the file: no crash, no read past the end (ASan), and
 * what comes out is a prefix of clam.exe - truncation loses the tail only. */
static void truncated_files(void **state)
{
    (void)state;
    size_t elen;
    uint8_t *exe = clam_exe(&elen);
    const char *files[] = {TESTFILES "clam.d64.zip", TESTFILES "clam.impl.zip"};
    for (unsigned f = 0; f < 2; f++) {
        size_t zlen;
        uint8_t *zip = slurp(files[f], &zlen);
        for (size_t cut = 0; cut < zlen; cut++) {
            reset();
            run(scan_zip_legacy, zip, cut);
            assert_true(T.nkids <= 1);
            if (T.nkids) {
                assert_true(T.kids[0].len <= elen);
                assert_memory_equal(T.kids[0].data, exe, T.kids[0].len);
            }
        }
        free(zip);
    }
    reset();
    free(exe);
}

/* Every single-byte corruption, each with several values: the walk and the
 * decoders end (quickly), never pass the budget, never read outside. */
static void corrupted_files(void **state)
{
    (void)state;
    static const uint8_t xors[] = {0xff, 0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0x55};
    const char *files[] = {TESTFILES "clam.d64.zip", TESTFILES "clam.impl.zip"};
    double slowest = 0;
    unsigned runs = 0;
    for (unsigned f = 0; f < 2; f++) {
        size_t zlen;
        uint8_t *zip = slurp(files[f], &zlen);
        for (size_t at = 0; at < zlen; at++) {
            for (unsigned x = 0; x <= sizeof xors; x++) {
                uint8_t keep = zip[at];
                zip[at] = x < sizeof xors ? keep ^ xors[x] : 0; /* last: zeroed */
                if (zip[at] == keep) {
                    zip[at] = keep;
                    continue;
                }
                reset();
                T.budget = 1u << 20;
                double t0 = now_s();
                run(scan_zip_legacy, zip, zlen);
                double dt = now_s() - t0;
                slowest = dt > slowest ? dt : slowest;
                runs++;
                for (unsigned k = 0; k < T.nkids; k++)
                    assert_true(T.kids[k].len <= T.budget);
                zip[at] = keep;
            }
        }
        free(zip);
    }
    reset();
    assert_true(runs > 8000);
    /* The worst case a corrupted size field allows is a budget's worth of
     * output; that must still take well under a second. */
    assert_true(slowest < 1.0);
}

/* ---- Deflate64 by construction ---- */

/* RFC 1951 3.2.6, the fixed code, as the encoder sends it. */
static void fixed_lit(struct bitw *w, unsigned sym)
{
    if (sym < 144)
        bw_code(w, 0x30 + sym, 8);
    else if (sym < 256)
        bw_code(w, 0x190 + sym - 144, 9);
    else if (sym < 280)
        bw_code(w, sym - 256, 7);
    else
        bw_code(w, 0xc0 + sym - 280, 8);
}

/* What Deflate64 adds to deflate: length code 285 is 3 + 16 extra bits, and
 * distance codes 30 and 31 reach 32769..65536 bytes back. */
static void deflate64_long_codes(void **state)
{
    (void)state;
    struct bitw w = {.buf = malloc(4096), .cap = 4096};
    uint8_t *want = malloc(200000);
    size_t n = 0;
    bw_bits(&w, 1, 1); /* final */
    bw_bits(&w, 1, 2); /* fixed codes */
    for (const char *p = "xyz"; *p; p++) {
        fixed_lit(&w, (uint8_t)*p);
        want[n++] = (uint8_t)*p;
    }
    /* length 65538 (code 285, extra 65535) at distance 3 (code 2) */
    fixed_lit(&w, 285);
    bw_bits(&w, 65535, 16);
    bw_code(&w, 2, 5);
    for (unsigned i = 0; i < 65538; i++, n++)
        want[n] = want[n - 3];
    /* length 10 (code 264) at distance 49153 + 100 (code 31) */
    fixed_lit(&w, 264);
    bw_code(&w, 31, 5);
    bw_bits(&w, 100, 14);
    for (unsigned i = 0; i < 10; i++, n++)
        want[n] = want[n - 49253];
    fixed_lit(&w, 'Q');
    want[n++] = 'Q';
    /* length 3 (code 257) at distance 32769 + 5 (code 30) */
    fixed_lit(&w, 257);
    bw_code(&w, 30, 5);
    bw_bits(&w, 5, 14);
    for (unsigned i = 0; i < 3; i++, n++)
        want[n] = want[n - 32774];
    /* length 4 (code 258) at distance 65536, the window's far end */
    fixed_lit(&w, 258);
    bw_code(&w, 31, 5);
    bw_bits(&w, 16383, 14);
    for (unsigned i = 0; i < 4; i++, n++)
        want[n] = want[n - 65536];
    fixed_lit(&w, 256);
    size_t len = bw_end(&w);

    struct zipx_out out = {.max = 1u << 20};
    size_t used = 0;
    assert_int_equal(zipx_inflate64(w.buf, len, &out, &used), ZIPX_OK);
    assert_int_equal(used, len);
    assert_int_equal(out.len, n);
    assert_memory_equal(out.data, want, n);
    free(out.data);

    /* the same with too little room: stops at max, keeps the start */
    out = (struct zipx_out){.max = 1000};
    assert_int_equal(zipx_inflate64(w.buf, len, &out, NULL), ZIPX_FULL);
    assert_int_equal(out.len, 1000);
    assert_true(out.full);
    assert_memory_equal(out.data, want, 1000);
    free(out.data);

    /* and cut short: truncated, never past the input */
    for (size_t cut = 0; cut < len; cut++) {
        uint8_t *part = malloc(cut ? cut : 1);
        memcpy(part, w.buf, cut);
        out = (struct zipx_out){.max = 1u << 20};
        assert_int_equal(zipx_inflate64(part, cut, &out, NULL), ZIPX_ETRUNC);
        assert_true(out.len <= n);
        assert_memory_equal(out.data ? out.data : want, want, out.len);
        free(out.data);
        free(part);
    }
    free(w.buf);
    free(want);
}

/* Stored and dynamic blocks: a raw deflate stream from zlib decodes the
 * same as Deflate64 as long as it has no 258-byte match (code 285). */
static void deflate64_reads_zlib_blocks(void **state)
{
    (void)state;
    static const char *const words[] = {"mimail", "worm", "zip", "admin", "password", "your",
                                        "account", "expires", "message", "attached", "the", "of",
                                        "please", "read", "\n", "  "};
    size_t n = 300000;
    uint8_t *text = malloc(n);
    uint32_t seed = 12345;
    for (size_t i = 0; i < n;) {
        seed = seed * 1103515245 + 12345;
        const char *word = words[(seed >> 16) % 16];
        for (const char *p = word; *p && i < n; p++)
            text[i++] = (uint8_t)*p;
        if (i < n)
            text[i++] = (uint8_t)('a' + (seed >> 8) % 26);
    }
    for (int level = 0; level <= 9; level += 3) {
        z_stream z = {0};
        assert_int_equal(deflateInit2(&z, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
        size_t cap = deflateBound(&z, n);
        uint8_t *packed = malloc(cap);
        z.next_in = text;
        z.avail_in = (uInt)n;
        z.next_out = packed;
        z.avail_out = (uInt)cap;
        assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
        size_t plen = z.total_out;
        deflateEnd(&z);
        struct zipx_out out = {.max = n};
        size_t used = 0;
        assert_int_equal(zipx_inflate64(packed, plen, &out, &used), ZIPX_OK);
        assert_int_equal(used, plen);
        assert_int_equal(out.len, n);
        assert_memory_equal(out.data, text, n);
        free(out.data);
        free(packed);
    }
    free(text);
}

static enum zipx_status inflate_bytes(const uint8_t *p, size_t len, size_t *outlen)
{
    struct zipx_out out = {.max = 1u << 16};
    enum zipx_status st = zipx_inflate64(p, len, &out, NULL);
    *outlen = out.len;
    free(out.data);
    return st;
}

static void deflate64_rejects_malformed(void **state)
{
    (void)state;
    uint8_t buf[64];
    size_t n;
    struct bitw w = {.buf = buf, .cap = sizeof buf};
    /* block type 3 */
    bw_bits(&w, 1, 1);
    bw_bits(&w, 3, 2);
    assert_int_equal(inflate_bytes(buf, bw_end(&w), &n), ZIPX_EDATA);
    /* a distance before the start of the output */
    w = (struct bitw){.buf = buf, .cap = sizeof buf};
    bw_bits(&w, 1, 1);
    bw_bits(&w, 1, 2);
    fixed_lit(&w, 'a');
    fixed_lit(&w, 257);
    bw_code(&w, 1, 5); /* distance 2 */
    fixed_lit(&w, 256);
    assert_int_equal(inflate_bytes(buf, bw_end(&w), &n), ZIPX_EDATA);
    assert_int_equal(n, 1);
    /* literal/length codes 286 and 287 */
    w = (struct bitw){.buf = buf, .cap = sizeof buf};
    bw_bits(&w, 1, 1);
    bw_bits(&w, 1, 2);
    fixed_lit(&w, 286);
    assert_int_equal(inflate_bytes(buf, bw_end(&w), &n), ZIPX_EDATA);
    /* a stored block whose length and complement disagree */
    w = (struct bitw){.buf = buf, .cap = sizeof buf};
    bw_bits(&w, 1, 1);
    bw_bits(&w, 0, 2);
    bw_end(&w);
    bw_byte(&w, 4), bw_byte(&w, 0), bw_byte(&w, 0xfb), bw_byte(&w, 0xfe);
    assert_int_equal(inflate_bytes(buf, bw_end(&w), &n), ZIPX_EDATA);
    /* dynamic: more than 286 literal/length codes */
    w = (struct bitw){.buf = buf, .cap = sizeof buf};
    bw_bits(&w, 1, 1);
    bw_bits(&w, 2, 2);
    bw_bits(&w, 30, 5);
    bw_bits(&w, 0, 5);
    bw_bits(&w, 0, 4);
    assert_int_equal(inflate_bytes(buf, bw_end(&w), &n), ZIPX_EDATA);
    /* dynamic: a code-length code that oversubscribes (three codes of 1 bit) */
    w = (struct bitw){.buf = buf, .cap = sizeof buf};
    bw_bits(&w, 1, 1);
    bw_bits(&w, 2, 2);
    bw_bits(&w, 0, 5);
    bw_bits(&w, 0, 5);
    bw_bits(&w, 0, 4); /* 4 code-length lengths: for 16, 17, 18, 0 */
    bw_bits(&w, 1, 3), bw_bits(&w, 1, 3), bw_bits(&w, 1, 3), bw_bits(&w, 0, 3);
    assert_int_equal(inflate_bytes(buf, bw_end(&w), &n), ZIPX_EDATA);
    /* dynamic: repeat-previous (16) as the very first length */
    w = (struct bitw){.buf = buf, .cap = sizeof buf};
    bw_bits(&w, 1, 1);
    bw_bits(&w, 2, 2);
    bw_bits(&w, 0, 5);
    bw_bits(&w, 0, 5);
    bw_bits(&w, 0, 4);
    bw_bits(&w, 1, 3), bw_bits(&w, 0, 3), bw_bits(&w, 0, 3), bw_bits(&w, 1, 3); /* 16 and 0 */
    bw_code(&w, 1, 1); /* canonical: 0 -> "0", 16 -> "1" */
    bw_bits(&w, 0, 2);
    assert_int_equal(inflate_bytes(buf, bw_end(&w), &n), ZIPX_EDATA);
    /* empty input */
    assert_int_equal(inflate_bytes(buf, 0, &n), ZIPX_ETRUNC);
}

/* ---- Implode by construction ---- */

/* Tree bytes for n values all of one length (a complete code when
 * n == 2^len): runs of at most 16. */
static void uniform_tree(struct bitw *w, unsigned n, unsigned len)
{
    bw_byte(w, (uint8_t)((n + 15) / 16 - 1));
    for (unsigned left = n; left > 0;) {
        unsigned run = left > 16 ? 16 : left;
        bw_byte(w, (uint8_t)((run - 1) << 4 | (len - 1)));
        left -= run;
    }
}

/* The Shannon-Fano codes of uniform_tree() by APPNOTE 5.3: sorted order
 * is value order, codes are handed out from the last value, so value v
 * gets n - 1 - v. */
static void uniform_code(struct bitw *w, unsigned n, unsigned len, unsigned v)
{
    bw_code(w, n - 1 - v, len);
}

/* A tree of mixed lengths - values 0,1: 2 bits; 2,3: 6 bits; 4..63: 7
 * bits - whose codes, worked out by hand from APPNOTE 5.3, are: 0 -> 11,
 * 1 -> 10, 2 -> 011111, 3 -> 011110, v >= 4 -> 63 - v in 7 bits. */
static void mixed_tree(struct bitw *w)
{
    static const uint8_t t[] = {5, 0x11, 0x15, 0xf6, 0xf6, 0xf6, 0xb6};
    for (unsigned i = 0; i < sizeof t; i++)
        bw_byte(w, t[i]);
}

static void mixed_code(struct bitw *w, unsigned v)
{
    if (v < 2)
        bw_code(w, 3 - v, 2);
    else if (v < 4)
        bw_code(w, 33 - v, 6);
    else
        bw_code(w, 63 - v, 7);
}

/* One stream for each of the four flag combinations, with literals, a match
 * that reaches before the start (zeros), a long match (length code 63 plus
 * a byte) and a far one. */
static void implode_all_variants(void **state)
{
    (void)state;
    for (unsigned flags = 0; flags < 8; flags += 2) {
        bool big = flags & 2, lits = flags & 4;
        unsigned low = big ? 7 : 6, mml = lits ? 3 : 2;
        struct bitw w = {.buf = malloc(8192), .cap = 8192};
        uint8_t want[20000];
        size_t n = 0;
        if (lits)
            uniform_tree(&w, 256, 8);
        uniform_tree(&w, 64, 6); /* lengths */
        mixed_tree(&w);          /* distances */
#define LIT(c)                                                                                     \
    do {                                                                                           \
        bw_bits(&w, 1, 1);                                                                         \
        if (lits)                                                                                  \
            uniform_code(&w, 256, 8, (c));                                                         \
        else                                                                                       \
            bw_bits(&w, (c), 8);                                                                   \
        want[n++] = (uint8_t)(c);                                                                  \
    } while (0)
#define MATCH(dist, len)                                                                           \
    do {                                                                                           \
        unsigned d_ = (dist) - 1, l_ = (len) - mml;                                                \
        bw_bits(&w, 0, 1);                                                                         \
        bw_bits(&w, d_ & ((1u << low) - 1), low);                                                  \
        mixed_code(&w, d_ >> low);                                                                 \
        uniform_code(&w, 64, 6, l_ < 63 ? l_ : 63);                                                \
        if (l_ >= 63)                                                                              \
            bw_bits(&w, l_ - 63, 8);                                                               \
        for (unsigned i_ = 0; i_ < (len); i_++, n++)                                               \
            want[n] = n >= (dist) ? want[n - (dist)] : 0;                                          \
    } while (0)
        MATCH(300, 5); /* before the start: five zeros */
        for (const char *p = "Implode"; *p; p++)
            LIT((uint8_t)*p);
        MATCH(7, 63 + mml + 255); /* the longest match */
        LIT(0xff);
        for (unsigned i = 0; i < 40; i++)
            LIT((uint8_t)(i * 7));
        for (unsigned i = 0; i < 30; i++)
            MATCH(41 + i, 300);
        MATCH(big ? 8000 : 4000, 10); /* near the far end of the dictionary */
        MATCH(1, 66); /* a run of the last byte */
#undef LIT
#undef MATCH
        size_t len = bw_end(&w);
        struct zipx_out out = {.max = 1u << 20};
        assert_int_equal(zipx_explode(w.buf, len, flags, n, &out), ZIPX_OK);
        assert_int_equal(out.len, n);
        assert_memory_equal(out.data, want, n);
        free(out.data);
        /* the size says where to stop, whatever input is left */
        out = (struct zipx_out){.max = 1u << 20};
        assert_int_equal(zipx_explode(w.buf, len, flags, 100, &out), ZIPX_OK);
        assert_int_equal(out.len, 100);
        assert_memory_equal(out.data, want, 100);
        free(out.data);
        /* a larger claimed size: the input runs out */
        out = (struct zipx_out){.max = 1u << 20};
        assert_int_equal(zipx_explode(w.buf, len, flags, n + 1000, &out), ZIPX_ETRUNC);
        assert_true(out.len >= n);
        assert_memory_equal(out.data, want, n);
        free(out.data);
        /* every truncation */
        for (size_t cut = 0; cut < len; cut++) {
            uint8_t *part = malloc(cut ? cut : 1);
            memcpy(part, w.buf, cut);
            out = (struct zipx_out){.max = 1u << 20};
            enum zipx_status st = zipx_explode(part, cut, flags, n, &out);
            assert_true(st == ZIPX_ETRUNC || st == ZIPX_OK);
            assert_true(out.len <= n);
            free(out.data);
            free(part);
        }
        free(w.buf);
    }
}

static enum zipx_status explode_bytes(const uint8_t *p, size_t len, unsigned flags)
{
    struct zipx_out out = {.max = 1u << 16};
    enum zipx_status st = zipx_explode(p, len, flags, 1000, &out);
    free(out.data);
    return st;
}

static void implode_rejects_malformed_trees(void **state)
{
    (void)state;
    uint8_t buf[64];
    /* runs adding up to 63 values, and to 65 */
    const uint8_t short_tree[] = {3, 0xf5, 0xf5, 0xf5, 0xe5};
    assert_int_equal(explode_bytes(short_tree, sizeof short_tree, 0), ZIPX_EDATA);
    const uint8_t long_tree[] = {4, 0xf5, 0xf5, 0xf5, 0xf5, 0x05};
    assert_int_equal(explode_bytes(long_tree, sizeof long_tree, 0), ZIPX_EDATA);
    /* 64 codes of 1 bit: oversubscribed */
    const uint8_t over[] = {3, 0xf0, 0xf0, 0xf0, 0xf0};
    assert_int_equal(explode_bytes(over, sizeof over, 0), ZIPX_EDATA);
    /* one 1-bit code and 63 of 16 bits: the short code would not be on a
     * code boundary (it would start like a long one) */
    const uint8_t skew[] = {4, 0x00, 0xff, 0xff, 0xff, 0xef};
    assert_int_equal(explode_bytes(skew, sizeof skew, 0), ZIPX_EDATA);
    /* a good length tree, then nothing */
    struct bitw w = {.buf = buf, .cap = sizeof buf};
    uniform_tree(&w, 64, 6);
    assert_int_equal(explode_bytes(buf, w.len, 0), ZIPX_ETRUNC);
    assert_int_equal(explode_bytes(buf, 0, 0), ZIPX_ETRUNC);
}

/* The prefix-code table on its own, both bit orders. */
static void prefix_codes(void **state)
{
    (void)state;
    struct zipx_code c;
    /* lengths 2, 1, 3, 3: canonical codes 10, 0, 110, 111 */
    const uint8_t lens[4] = {2, 1, 3, 3};
    unsigned used;
    assert_int_equal(zipx_code_canonical(&c, lens, 4, false), 0);
    assert_int_equal(zipx_code_lookup(&c, 0x8000u, &used), 0); /* 10 */
    assert_int_equal(used, 2);
    assert_int_equal(zipx_code_lookup(&c, 0x0000u, &used), 1);
    assert_int_equal(used, 1);
    assert_int_equal(zipx_code_lookup(&c, 0xc000u, &used), 2);
    assert_int_equal(zipx_code_lookup(&c, 0xe000u, &used), 3);
    assert_int_equal(used, 3);
    assert_int_equal(zipx_code_canonical(&c, lens, 4, true), 0);
    assert_int_equal(zipx_code_lookup(&c, 0x1u, &used), 0); /* first bit 1, then 0 */
    assert_int_equal(zipx_code_lookup(&c, 0x7u, &used), 3);
    /* a 16-bit code, past the fast table */
    uint8_t deep[17];
    for (unsigned i = 0; i < 16; i++)
        deep[i] = (uint8_t)(i + 1);
    deep[16] = 16; /* 1, 01, 001, ... complete */
    assert_int_equal(zipx_code_canonical(&c, deep, 17, false), 0);
    assert_int_equal(zipx_code_lookup(&c, 0xffffu, &used), 16);
    assert_int_equal(used, 16);
    assert_int_equal(zipx_code_lookup(&c, 0xfffeu, &used), 15);
    assert_int_equal(used, 16);
    assert_int_equal(zipx_code_lookup(&c, 0xfffcu, &used), 14);
    assert_int_equal(used, 15);
    /* oversubscribed, too long */
    const uint8_t bad[3] = {1, 1, 1};
    assert_int_equal(zipx_code_canonical(&c, bad, 3, true), -1);
    const uint8_t toolong[2] = {17, 1};
    assert_int_equal(zipx_code_canonical(&c, toolong, 2, true), -1);
    /* incomplete: an unused pattern finds nothing */
    const uint8_t one[2] = {1, 0};
    assert_int_equal(zipx_code_canonical(&c, one, 2, false), 0);
    assert_int_equal(zipx_code_lookup(&c, 0x0000u, &used), 0);
    assert_int_equal(zipx_code_lookup(&c, 0x8000u, &used), -1);
    /* non-consecutive codes of one length */
    const uint8_t two[2] = {2, 2};
    const uint16_t gap[2] = {0, 2};
    assert_int_equal(zipx_code_build(&c, two, gap, 2, false), -1);
    zipx_code_single(&c, 7, false);
    assert_int_equal(zipx_code_lookup(&c, 0x1234u, &used), 7);
    assert_int_equal(used, 0);
}

/* ---- archives made by the real tools (tests/unit/data/make_fixtures.sh) ---- */

#define DATA "tests/unit/data/"

/* The fixtures' text, by make_fixtures.sh's recipe: 30000 bytes of random
 * words, a run, a copy of its start from 40000 bytes back, a long run, and
 * a copy from its middle. */
static uint8_t *fixture_text(size_t *len)
{
    static const char *const words[] = {"mimail", "worm", "zip", "admin", "password", "your",
                                        "account", "expires", "message", "attached", "the", "of",
                                        "please", "read", "\r\n", "  "};
    uint8_t *t = malloc(124000);
    assert_non_null(t);
    size_t n = 0;
    uint32_t seed = 1;
    while (n < 30000) {
        seed = seed * 1103515245u + 12345u;
        for (const char *p = words[(seed >> 16) % 16]; *p && n < 30000; p++)
            t[n++] = (uint8_t)*p;
        if (n < 30000)
            t[n++] = (uint8_t)(97 + (seed >> 8) % 26);
    }
    memset(t + n, 'Z', 10000), n += 10000;
    memcpy(t + n, t, 20000), n += 20000;
    memset(t + n, 'Y', 60000), n += 60000;
    memcpy(t + n, t + 5000, 4000), n += 4000;
    *len = n;
    return t;
}

/* 7-Zip's Deflate64: distance codes 30 and 31 in earnest. */
static void deflate64_from_7zip(void **state)
{
    (void)state;
    size_t zlen, tlen;
    uint8_t *zip = slurp(DATA "zipx-long.d64.zip", &zlen), *text = fixture_text(&tlen);
    reset();
    run(scan_zip_legacy, zip, zlen);
    assert_int_equal(T.nkids, 1);
    assert_string_equal(T.kids[0].label, "long.txt");
    assert_int_equal(T.kids[0].len, tlen);
    assert_memory_equal(T.kids[0].data, text, tlen);
    reset();
    free(zip);
    free(text);
}

/* ---- ARJ ---- */

static void arj_test_file(void **state)
{
    (void)state;
    size_t alen, elen;
    uint8_t *arj = slurp(TESTFILES "clam.arj", &alen), *exe = clam_exe(&elen);
    assert_int_equal(arj[0x3f], 1); /* the file header says method 1 */
    reset();
    run(scan_arj, arj, alen);
    assert_int_equal(T.nkids, 1);
    assert_int_equal(T.nfinds, 0);
    assert_string_equal(T.kids[0].label, "clam.exe");
    assert_int_equal(T.kids[0].len, elen);
    assert_memory_equal(T.kids[0].data, exe, elen);
    reset();
    free(arj);
    free(exe);
}

/* Every method ARJ has, one file each, and a garbled one. */
static void arj_all_methods(void **state)
{
    (void)state;
    size_t alen, tlen;
    uint8_t *arj = slurp(DATA "zipx-methods.arj", &alen), *text = fixture_text(&tlen);
    static const struct {
        const char *name;
        size_t len;
    } want[] = {{"m0.txt", 2000}, {"m1.txt", 40000}, {"m2.txt", 8000}, {"m3.txt", 8000},
                {"m4.txt", 40000}};
    reset();
    run(scan_arj, arj, alen);
    assert_int_equal(T.nkids, 5);
    for (unsigned i = 0; i < 5; i++) {
        assert_string_equal(T.kids[i].label, want[i].name);
        assert_int_equal(T.kids[i].len, want[i].len);
        assert_memory_equal(T.kids[i].data, text, want[i].len);
    }
    assert_int_equal(T.nfinds, 1);
    assert_true(found("Heuristics.Encrypted.ARJ"));
    /* the budget cuts m1 and m4 (and is reported), the rest fit */
    reset();
    T.budget = 10000;
    run(scan_arj, arj, alen);
    assert_int_equal(T.nkids, 5);
    for (unsigned i = 0; i < 5; i++) {
        size_t n = want[i].len < 10000 ? want[i].len : 10000;
        assert_int_equal(T.kids[i].len, n);
        assert_memory_equal(T.kids[i].data, text, n);
    }
    assert_true(found("Heuristics.Limits.Exceeded.MaxFileSize"));
    /* told to stop after the first: no more */
    reset();
    T.take_max = 2000;
    run(scan_arj, arj, alen);
    assert_int_equal(T.nkids, 1);
    reset();
    free(arj);
    free(text);
}

/* clam.arj cut at every length, and with every byte corrupted: no crash,
 * no read outside, quick; a cut file yields a prefix of clam.exe. */
static void arj_truncated_and_corrupted(void **state)
{
    (void)state;
    static const uint8_t xors[] = {0xff, 0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0x55};
    size_t alen, elen;
    uint8_t *arj = slurp(TESTFILES "clam.arj", &alen), *exe = clam_exe(&elen);
    for (size_t cut = 0; cut < alen; cut++) {
        reset();
        run(scan_arj, arj, cut);
        assert_true(T.nkids <= 1);
        if (T.nkids) {
            assert_true(T.kids[0].len <= elen);
            assert_memory_equal(T.kids[0].data, exe, T.kids[0].len);
        }
    }
    double slowest = 0;
    for (size_t at = 0; at < alen; at++) {
        for (unsigned x = 0; x <= sizeof xors; x++) {
            uint8_t keep = arj[at];
            arj[at] = x < sizeof xors ? keep ^ xors[x] : 0;
            if (arj[at] != keep) {
                reset();
                double t0 = now_s();
                run(scan_arj, arj, alen);
                double dt = now_s() - t0;
                slowest = dt > slowest ? dt : slowest;
                for (unsigned k = 0; k < T.nkids; k++)
                    assert_true(T.kids[k].len <= T.budget);
            }
            arj[at] = keep;
        }
    }
    assert_true(slowest < 1.0);
    reset();
    free(arj);
    free(exe);
}

/* The bigger archive: a sample of cuts and corruptions (each costs up to
 * 100 KB of decoding). A changed data byte leaves the header CRCs intact,
 * so there the decoders, not the header check, meet the damage. */
static void arj_methods_damaged(void **state)
{
    (void)state;
    size_t alen;
    uint8_t *arj = slurp(DATA "zipx-methods.arj", &alen);
    for (size_t cut = 0; cut < alen; cut += 53) {
        reset();
        run(scan_arj, arj, cut);
        assert_true(T.nkids <= 5);
    }
    double t0 = now_s();
    for (size_t at = 0; at < alen; at += 7) {
        uint8_t keep = arj[at];
        arj[at] ^= (uint8_t)(0x5a + at);
        reset();
        run(scan_arj, arj, alen);
        for (unsigned k = 0; k < T.nkids; k++)
            assert_true(T.kids[k].len <= T.budget);
        arj[at] = keep;
    }
    assert_true(now_s() - t0 < 30.0);
    reset();
    free(arj);
}

/* A method 1 block whose three codes each have a single symbol, coded in
 * no bits: every literal comes without reading input. (Found by fuzzing:
 * a zero-bit read with 64 bits buffered shifted by 64.) */
static void arj_single_symbol_codes(void **state)
{
    (void)state;
    uint8_t buf[64] = {0};
    uint64_t bits = 0;
    unsigned nbits = 0;
    size_t len = 0;
#define PUT(v, n)                                                                                  \
    do {                                                                                           \
        bits = bits << (n) | (v), nbits += (n);                                                    \
        while (nbits >= 8)                                                                         \
            buf[len++] = (uint8_t)(bits >> (nbits -= 8));                                          \
    } while (0)
    /* Blocks of 54 header bits: the fourth ends on a byte boundary, where
     * the bit buffer holds 64 bits when a symbol is read in 0 bits. */
    for (unsigned b = 0; b < 4; b++) {
        PUT(25, 16); /* 25 symbols in the block */
        PUT(0, 5);   /* the code-length code: only symbol 3 */
        PUT(3, 5);
        PUT(0, 9); /* literals/lengths: only 'A' + b */
        PUT('A' + b, 9);
        PUT(0, 5); /* distances: only 0 */
        PUT(0, 5);
    }
#undef PUT
    assert_int_equal(nbits, 0);
    size_t total = len + 20;
    struct zipx_out out = {.max = 1000};
    assert_int_equal(arj_unpack(1, buf, total, 100, &out), ZIPX_OK);
    assert_int_equal(out.len, 100);
    for (unsigned i = 0; i < 100; i++)
        assert_int_equal(out.data[i], 'A' + i / 25);
    free(out.data);
    /* and a size past the block: the next block header is read from the
     * zeros after it (a block of 65536 with single-symbol codes: 0) */
    out = (struct zipx_out){.max = 1000};
    assert_int_equal(arj_unpack(1, buf, total, 5000, &out), ZIPX_FULL);
    assert_int_equal(out.len, 1000);
    free(out.data);
}

/* Each ARJ method's decoder on damaged streams directly. */
static void arj_decoders_on_noise(void **state)
{
    (void)state;
    uint8_t noise[4096];
    uint32_t seed = 7;
    for (unsigned round = 0; round < 200; round++) {
        size_t n = 1 + round * 19 % sizeof noise;
        for (size_t i = 0; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            noise[i] = (uint8_t)(seed >> 16);
        }
        uint8_t *copy = malloc(n);
        memcpy(copy, noise, n);
        for (unsigned m = 0; m <= 5; m++) {
            struct zipx_out out = {.max = 1u << 16};
            enum zipx_status st = arj_unpack(m, copy, n, 100000, &out);
            assert_true(out.len <= out.max);
            if (m == 5)
                assert_int_equal(st, ZIPX_EDATA);
            free(out.data);
        }
        free(copy);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(deflate64_test_file),
        cmocka_unit_test(implode_test_file),
        cmocka_unit_test(skips_deflated_members),
        cmocka_unit_test(finds_members_when_shifted_or_without_directory),
        cmocka_unit_test(stops_at_the_budget),
        cmocka_unit_test(reports_encrypted_members),
        cmocka_unit_test(truncated_files),
        cmocka_unit_test(corrupted_files),
        cmocka_unit_test(deflate64_long_codes),
        cmocka_unit_test(deflate64_reads_zlib_blocks),
        cmocka_unit_test(deflate64_rejects_malformed),
        cmocka_unit_test(implode_all_variants),
        cmocka_unit_test(implode_rejects_malformed_trees),
        cmocka_unit_test(prefix_codes),
        cmocka_unit_test(deflate64_from_7zip),
        cmocka_unit_test(arj_test_file),
        cmocka_unit_test(arj_all_methods),
        cmocka_unit_test(arj_truncated_and_corrupted),
        cmocka_unit_test(arj_methods_damaged),
        cmocka_unit_test(arj_single_symbol_codes),
        cmocka_unit_test(arj_decoders_on_noise),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

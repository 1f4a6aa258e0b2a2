/* Unit tests: the Symbian SIS reader (src/scan/sis.c) and its detection
 * (src/scan/filetype.c), and the NSIS installer reader (src/scan/nsis.c).
 *
 * The engine's helpers (scan_child, scan_found, ...) are test doubles that
 * record what the reader hands on, so the reader is tested alone. The
 * real-world file is ClamAV's clam.sis (Debian's clamav-testfiles), an EPOC
 * release 6 package holding clam.exe, a harmless 544-byte test executable;
 * the release 5 cases are built here. clam-nsis.exe is an NSIS installer
 * (per-block LZMA) holding clam.exe; solid and deflate ones are built here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lzma.h>
#include <zlib.h>

#include "scan/scan_priv.h"

#include "scan_doubles.h"

/* Runs the reader on an exact-size heap copy, so that AddressSanitizer
 * catches a read one byte past the end. */
typedef void (*reader_fn)(struct scan_ctx *, const struct scan_object *);

static void run_reader(reader_fn reader, const uint8_t *data, size_t len)
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

static void run(const uint8_t *data, size_t len) { run_reader(scan_sis, data, len); }

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16), p[3] = (uint8_t)(v >> 24);
}

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8); }

/* ---- the test file ---- */

static void test_file_yields_clam_exe(void **state)
{
    (void)state;
    size_t elen, slen;
    uint8_t *exe = clam_exe(&elen);
    uint8_t *sis = slurp(TESTFILES "clam.sis", &slen);
    assert_int_equal(scan_type_detect(sis, slen), SCAN_TYPE_SIS);
    assert_string_equal(scan_type_name(SCAN_TYPE_SIS), "sis");
    assert_true(scan_type_is_container(SCAN_TYPE_SIS));
    reset();
    run(sis, slen);
    assert_int_equal(T.nkids, 1);
    assert_string_equal(T.kids[0].label, "!:\\clam.exe");
    assert_int_equal(T.kids[0].len, elen);
    assert_memory_equal(T.kids[0].data, exe, elen);
    assert_int_equal(T.nfinds, 0);
    assert_int_equal(T.taken, elen);

    /* UID3 or UID2 changed: not a SIS file, and the reader refuses it. */
    sis[8] ^= 1;
    assert_int_not_equal(scan_type_detect(sis, slen), SCAN_TYPE_SIS);
    reset();
    run(sis, slen);
    assert_int_equal(T.nkids, 0);
    sis[8] ^= 1;
    sis[4] ^= 1;
    assert_int_not_equal(scan_type_detect(sis, slen), SCAN_TYPE_SIS);
    sis[4] ^= 1;
    reset();
    free(sis);
    free(exe);
}

static void budget_and_limits(void **state)
{
    (void)state;
    size_t elen, slen;
    uint8_t *exe = clam_exe(&elen);
    uint8_t *sis = slurp(TESTFILES "clam.sis", &slen);

    /* A small budget: the file is cut there, scanned, and the limit named. */
    reset();
    T.budget = 100;
    run(sis, slen);
    assert_int_equal(T.nkids, 1);
    assert_int_equal(T.kids[0].len, 100);
    assert_memory_equal(T.kids[0].data, exe, 100);
    assert_true(found("Heuristics.Limits.Exceeded.MaxFileSize"));

    /* MaxScanSize used up: nothing is handed on. */
    reset();
    T.take_max = 10;
    run(sis, slen);
    assert_int_equal(T.nkids, 0);

    /* The scan is stopping: nothing either. */
    reset();
    T.stop = true;
    run(sis, slen);
    assert_int_equal(T.nkids, 0);
    reset();
    free(sis);
    free(exe);
}

/* ---- release 5 packages built here ---- */

/* An EPOC release 5 package, 8-bit names, two languages, data stored (no
 * compression) or zlib: an options record, an if/endif around a file
 * record with a version per language, and a null file (length 0). */
static size_t build_er5(uint8_t *out, size_t cap, bool stored, const uint8_t *a, size_t alen,
                        const uint8_t *b, size_t blen)
{
    memset(out, 0, cap);
    put32(out + 0, 0x10001234);
    put32(out + 4, 0x1000006D);
    put32(out + 8, 0x10000419);
    put16(out + 18, 2);                    /* languages */
    put16(out + 20, 5);                    /* records */
    put16(out + 36, stored ? 0x0008 : 0);  /* options: 8-bit names */
    size_t rec = 68, p = rec;
    put32(out + 52, (uint32_t)rec);
    /* options: one option, a string per language, 16 selection bytes */
    put32(out + p, 2), put32(out + p + 4, 1), p += 8 + 2 * 8 + 16;
    /* if, with a 6-byte expression */
    put32(out + p, 3), put32(out + p + 4, 6), p += 8 + 6;
    /* file record, two languages: fixed fields, lengths, pointers */
    size_t frec = p;
    put32(out + p, 1), p += 4 + 4 * 6 + 2 * 4 + 2 * 4;
    /* a null file */
    size_t nrec = p;
    put32(out + p, 0), p += 4 + 4 * 6 + 4 + 4;
    put32(out + p, 6), p += 4; /* endif */

    const char *src = "c:\\src\\a.bin";
    memcpy(out + p, src, strlen(src));
    put32(out + frec + 12, (uint32_t)strlen(src)), put32(out + frec + 16, (uint32_t)p);
    p += strlen(src);
    put32(out + nrec + 12, 0), put32(out + nrec + 20, 0); /* no names at all */

    const uint8_t *files[2] = {a, b};
    size_t lens[2] = {alen, blen};
    for (unsigned i = 0; i < 2; i++) {
        size_t n = lens[i];
        if (stored) {
            assert_true(p + n <= cap);
            memcpy(out + p, files[i], n);
        } else {
            uLongf zn = (uLongf)(cap - p);
            assert_int_equal(compress(out + p, &zn, files[i], n), Z_OK);
            n = zn;
        }
        put32(out + frec + 28 + 4 * i, (uint32_t)n);
        put32(out + frec + 36 + 4 * i, (uint32_t)p);
        p += n;
    }
    return p;
}

static void release5_packages(void **state)
{
    (void)state;
    uint8_t a[3000], b[700];
    for (size_t i = 0; i < sizeof a; i++)
        a[i] = (uint8_t)(i * 7);
    memset(b, 'B', sizeof b);
    uint8_t *sis = malloc(16384);
    assert_non_null(sis);
    for (int stored = 0; stored < 2; stored++) {
        size_t n = build_er5(sis, 16384, stored, a, sizeof a, b, sizeof b);
        assert_int_equal(scan_type_detect(sis, n), SCAN_TYPE_SIS);
        reset();
        run(sis, n);
        assert_int_equal(T.nkids, 2);
        assert_string_equal(T.kids[0].label, "c:\\src\\a.bin"); /* no destination: the source */
        assert_string_equal(T.kids[1].label, "c:\\src\\a.bin");
        assert_int_equal(T.kids[0].len, sizeof a);
        assert_memory_equal(T.kids[0].data, a, sizeof a);
        assert_int_equal(T.kids[1].len, sizeof b);
        assert_memory_equal(T.kids[1].data, b, sizeof b);

        /* Stored data is cut at the budget too. */
        reset();
        T.budget = 1000;
        run(sis, n);
        assert_int_equal(T.nkids, 2);
        assert_int_equal(T.kids[0].len, 1000);
        assert_int_equal(T.kids[1].len, sizeof b);
        assert_true(found("Heuristics.Limits.Exceeded.MaxFileSize"));

        /* An unknown record kind ends the walk: the options record made 7. */
        put32(sis + 68, 7);
        reset();
        run(sis, n);
        assert_int_equal(T.nkids, 0);
    }
    reset();
    free(sis);
}

/* ---- damage ---- */

/* Every truncation: the walk ends, hands on at most the file, and what it
 * hands on is a prefix of clam.exe. */
static void truncated(void **state)
{
    (void)state;
    size_t elen, slen;
    uint8_t *exe = clam_exe(&elen);
    uint8_t *sis = slurp(TESTFILES "clam.sis", &slen);
    for (size_t cut = 0; cut < slen; cut++) {
        reset();
        run(sis, cut);
        assert_true(T.nkids <= 1);
        if (T.nkids && T.kids[0].len <= elen)
            assert_memory_equal(T.kids[0].data, exe, T.kids[0].len);
    }
    reset();
    free(sis);
    free(exe);
}

/* Every single-byte corruption, each with several values: the walk ends
 * quickly, never passes the budget (the scan_child double checks), never
 * reads outside the object (AddressSanitizer). */
static void corrupted(void **state)
{
    (void)state;
    static const uint8_t xors[] = {0xff, 0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0x55};
    size_t slen;
    uint8_t *sis = slurp(TESTFILES "clam.sis", &slen);
    double slowest = 0;
    unsigned runs = 0;
    for (size_t at = 0; at < slen; at++) {
        for (unsigned x = 0; x <= sizeof xors; x++) {
            uint8_t keep = sis[at];
            sis[at] = x < sizeof xors ? keep ^ xors[x] : 0; /* last: zeroed */
            if (sis[at] == keep)
                continue;
            for (int small = 0; small < 2; small++) {
                reset();
                T.budget = small ? 64 : 1u << 20;
                double t0 = now_s();
                run(sis, slen);
                double dt = now_s() - t0;
                slowest = dt > slowest ? dt : slowest;
                runs++;
                assert_true(T.nkids <= MAX_KIDS);
            }
            sis[at] = keep;
        }
    }
    reset();
    free(sis);
    assert_true(runs > 5000);
    assert_true(slowest < 1.0);
}

/* ---- NSIS ---- */

static void nsis_test_file(void **state)
{
    (void)state;
    size_t elen, nlen;
    uint8_t *exe = clam_exe(&elen);
    uint8_t *nsis = slurp(TESTFILES "clam-nsis.exe", &nlen);
    reset();
    run_reader(scan_nsis, nsis, nlen);
    assert_int_equal(T.nkids, 1);
    assert_string_equal(T.kids[0].label, "nsis-1");
    assert_int_equal(T.kids[0].len, elen);
    assert_memory_equal(T.kids[0].data, exe, elen);

    reset();
    T.budget = 100;
    run_reader(scan_nsis, nsis, nlen);
    assert_int_equal(T.nkids, 1);
    assert_int_equal(T.kids[0].len, 100);
    assert_memory_equal(T.kids[0].data, exe, 100);
    assert_true(found("Heuristics.Limits.Exceeded.MaxFileSize"));

    /* Truncations and corruptions of the installer's data (the stub is
     * not read): the walk ends, stays in bounds and in budget. */
    size_t fh = 0xb400;
    assert_memory_equal(nsis + fh + 8, "NullsoftInst", 12);
    for (size_t cut = fh; cut < nlen; cut++) {
        reset();
        run_reader(scan_nsis, nsis, cut);
        assert_true(T.nkids <= 1);
        if (T.nkids)
            assert_memory_equal(T.kids[0].data, exe, T.kids[0].len < elen ? T.kids[0].len : elen);
    }
    static const uint8_t xors[] = {0xff, 0x01, 0x10, 0x80, 0x55};
    double slowest = 0;
    for (size_t at = fh; at < nlen; at++) {
        for (unsigned x = 0; x < sizeof xors; x++) {
            nsis[at] ^= xors[x];
            reset();
            T.budget = 1u << 16;
            double t0 = now_s();
            run_reader(scan_nsis, nsis, nlen);
            double dt = now_s() - t0;
            slowest = dt > slowest ? dt : slowest;
            nsis[at] ^= xors[x];
        }
    }
    assert_true(slowest < 1.0);
    reset();
    free(nsis);
    free(exe);
}

/* Compresses in as NSIS does: raw deflate, or 5 LZMA property bytes and a
 * raw LZMA stream. Returns the length written to out. */
static size_t nsis_pack(bool lzma, const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
    if (!lzma) {
        z_stream z = {0};
        assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
        z.next_in = (Bytef *)in, z.avail_in = (uInt)len;
        z.next_out = out, z.avail_out = (uInt)cap;
        assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
        size_t n = z.total_out;
        deflateEnd(&z);
        return n;
    }
    lzma_options_lzma opt;
    assert_false(lzma_lzma_preset(&opt, 6));
    opt.dict_size = 1u << 16;
    lzma_filter f[2] = {{.id = LZMA_FILTER_LZMA1, .options = &opt}, {.id = LZMA_VLI_UNKNOWN}};
    assert_int_equal(lzma_properties_encode(f, out), LZMA_OK);
    lzma_stream z = LZMA_STREAM_INIT;
    assert_int_equal(lzma_raw_encoder(&z, f), LZMA_OK);
    z.next_in = in, z.avail_in = len;
    z.next_out = out + 5, z.avail_out = cap - 5;
    assert_int_equal(lzma_code(&z, LZMA_FINISH), LZMA_STREAM_END);
    size_t n = 5 + (size_t)z.total_out;
    lzma_end(&z);
    return n;
}

static void put_nsis_block(uint8_t *buf, size_t *p, const uint8_t *d, size_t n, bool packed)
{
    put32(buf + *p, (uint32_t)n | (packed ? 0x80000000u : 0));
    memcpy(buf + *p + 4, d, n);
    *p += 4 + n;
}

/* An installer: a 1024-byte stub, the first header, and a script header
 * and two files, solid or per block, deflate or LZMA. */
static size_t build_nsis(uint8_t *buf, size_t cap, bool solid, bool lzma, const uint8_t *a, size_t alen,
                         const uint8_t *b, size_t blen)
{
    static const uint8_t script[40] = {1, 2, 3};
    memset(buf, 0, cap);
    buf[0] = 'M', buf[1] = 'Z';
    size_t fh = 1024, p = fh + 28;
    memcpy(buf + fh + 4, "\xef\xbe\xad\xdeNullsoftInst", 16);
    put32(buf + fh + 20, sizeof script);
    size_t tmpcap = 65536;
    uint8_t *plain = calloc(1, tmpcap), *packed = calloc(1, tmpcap);
    assert_true(plain && packed);
    if (solid) {
        size_t q = 0;
        put_nsis_block(plain, &q, script, sizeof script, false);
        put_nsis_block(plain, &q, a, alen, false);
        put_nsis_block(plain, &q, b, blen, false);
        size_t n = nsis_pack(lzma, plain, q, packed, tmpcap);
        memcpy(buf + p, packed, n);
        p += n;
    } else {
        const uint8_t *parts[3] = {script, a, b};
        size_t lens[3] = {sizeof script, alen, blen};
        for (unsigned i = 0; i < 3; i++) {
            size_t n = nsis_pack(lzma, parts[i], lens[i], packed, tmpcap);
            put_nsis_block(buf, &p, packed, n, true);
        }
    }
    put32(buf + fh + 24, (uint32_t)(p - fh));
    assert_true(p <= cap);
    free(plain);
    free(packed);
    return p;
}

static void nsis_built(void **state)
{
    (void)state;
    uint8_t a[5000], b[300];
    for (size_t i = 0; i < sizeof a; i++)
        a[i] = (uint8_t)(i * i >> 3);
    memset(b, 'b', sizeof b);
    uint8_t *buf = malloc(65536);
    assert_non_null(buf);
    for (int solid = 0; solid < 2; solid++) {
        for (int lzma = 0; lzma < 2; lzma++) {
            size_t n = build_nsis(buf, 65536, solid, lzma, a, sizeof a, b, sizeof b);
            reset();
            run_reader(scan_nsis, buf, n);
            assert_int_equal(T.nkids, 2);
            assert_string_equal(T.kids[0].label, "nsis-1");
            assert_string_equal(T.kids[1].label, "nsis-2");
            assert_int_equal(T.kids[0].len, sizeof a);
            assert_memory_equal(T.kids[0].data, a, sizeof a);
            assert_int_equal(T.kids[1].len, sizeof b);
            assert_memory_equal(T.kids[1].data, b, sizeof b);
            /* Truncations: never more than the two files, in bounds. */
            for (size_t cut = 1024; cut < n; cut++) {
                reset();
                run_reader(scan_nsis, buf, cut);
                assert_true(T.nkids <= 2);
            }
        }
    }
    reset();
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_file_yields_clam_exe),
        cmocka_unit_test(budget_and_limits),
        cmocka_unit_test(release5_packages),
        cmocka_unit_test(truncated),
        cmocka_unit_test(corrupted),
        cmocka_unit_test(nsis_test_file),
        cmocka_unit_test(nsis_built),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests: the container readers (src/scan/archive.c, src/scan/formats.c)
 * on ClamAV's test files and on generated archives: bombs, encryption,
 * truncation and garbage.
 *
 * The engine's helpers (scan_child, scan_found, scan_limit, scan_take,
 * scan_should_stop, scan_child_budget, scan_heuristic_on) belong to
 * scan.c; here a test double of them records what the readers hand on and
 * applies the limits as scan_priv.h documents them, so that the readers are
 * tested alone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <archive.h>
#include <archive_entry.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "scan/scan_priv.h"

#define TESTFILES "/usr/share/clamav-testfiles/"

/* ---- the test double of the engine ---- */

struct rec_child {
    char label[SCAN_LABEL_MAX];
    char name[1100];
    char where[1024];
    char declared[128];
    size_t len;
    bool is_clam;          /* byte for byte clam.exe */
    uint8_t head[16];      /* the first bytes */
};

struct rec_finding {
    char name[128];
    char where[1024];
    enum scan_verdict level;
};

static struct {
    struct scan_limits lim;
    unsigned heur;
    bool recurse;          /* open children that are containers too */
    uint64_t taken;
    unsigned files;
    struct rec_child children[64];
    size_t nchildren;
    struct rec_finding findings[32];
    size_t nfindings;
    uint8_t *clam;         /* /usr/share/clamav-testfiles/clam.exe */
    size_t clam_len;
} T;

static void reset(void)
{
    T.lim = (struct scan_limits){.max_scan_size = 400ull << 20, .max_file_size = 100ull << 20,
                                 .max_recursion = 17, .max_files = 10000, .max_ratio = 250,
                                 .max_scan_time_ms = 120000};
    T.heur = SCAN_HEUR_ALL;
    T.recurse = false;
    T.taken = 0;
    T.files = 0;
    T.nchildren = 0;
    T.nfindings = 0;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void scan_found(struct scan_ctx *ctx, enum scan_verdict level, const char *name, const char *where)
{
    (void)ctx;
    for (size_t i = 0; i < T.nfindings; i++)
        if (strcmp(T.findings[i].name, name) == 0 && strcmp(T.findings[i].where, where) == 0)
            return;
    if (T.nfindings == sizeof T.findings / sizeof T.findings[0])
        return;
    struct rec_finding *f = &T.findings[T.nfindings++];
    snprintf(f->name, sizeof f->name, "%s", name);
    snprintf(f->where, sizeof f->where, "%s", where);
    f->level = level;
}

void scan_limit(struct scan_ctx *ctx, const char *limit, const char *where)
{
    char name[128];
    snprintf(name, sizeof name, "Heuristics.Limits.Exceeded.%s", limit);
    for (size_t i = 0; i < T.nfindings; i++)
        if (strcmp(T.findings[i].name, name) == 0)
            return; /* once per scan */
    scan_found(ctx, SCAN_SUSPICIOUS, name, where);
}

bool scan_take(struct scan_ctx *ctx, const struct scan_object *at, uint64_t n)
{
    if (T.taken + n > T.lim.max_scan_size) {
        scan_limit(ctx, "MaxScanSize", at->where);
        ctx->stopped = true;
        return false;
    }
    T.taken += n;
    return true;
}

bool scan_should_stop(struct scan_ctx *ctx, const char *where)
{
    if (!ctx->stopped && ctx->deadline_ns && now_ns() > ctx->deadline_ns) {
        scan_limit(ctx, "MaxScanTime", where);
        ctx->stopped = true;
    }
    return ctx->stopped;
}

uint64_t scan_child_budget(const struct scan_ctx *ctx, const struct scan_object *parent,
                           const char **limit_name)
{
    (void)ctx;
    uint64_t ratio = (uint64_t)T.lim.max_ratio * parent->len;
    if (ratio < (1u << 20))
        ratio = 1u << 20;
    if (ratio < T.lim.max_file_size) {
        *limit_name = "MaxCompressionRatio";
        return ratio;
    }
    *limit_name = "MaxFileSize";
    return T.lim.max_file_size;
}

bool scan_heuristic_on(const struct scan_ctx *ctx, enum scan_heuristic h)
{
    (void)ctx;
    return (T.heur & h) != 0;
}

/* Just enough type detection to recurse into what the readers produce. */
static enum scan_type detect(const uint8_t *d, size_t n)
{
    if (n >= 4 && memcmp(d, "PK\3\4", 4) == 0)
        return SCAN_TYPE_ZIP;
    if (n >= 2 && d[0] == 0x1f && d[1] == 0x8b)
        return SCAN_TYPE_GZIP;
    if (n >= 3 && memcmp(d, "BZh", 3) == 0)
        return SCAN_TYPE_BZIP2;
    if (n >= 6 && memcmp(d, "\xfd" "7zXZ", 6) == 0)
        return SCAN_TYPE_XZ;
    if (n >= 6 && memcmp(d, "7z\xbc\xaf\x27\x1c", 6) == 0)
        return SCAN_TYPE_7Z;
    if (n >= 4 && memcmp(d, "MSCF", 4) == 0)
        return SCAN_TYPE_CAB;
    if (n >= 262 && memcmp(d + 257, "ustar", 5) == 0)
        return SCAN_TYPE_TAR;
    if (n >= 4 && memcmp(d, "ITSF", 4) == 0)
        return SCAN_TYPE_CHM;
    if (n >= 4 && memcmp(d, "SZDD", 4) == 0)
        return SCAN_TYPE_SZDD;
    if (n >= 5 && memcmp(d, "{\\rtf", 5) == 0)
        return SCAN_TYPE_RTF;
    if (n >= 4 && memcmp(d, "\x78\x9f\x3e\x22", 4) == 0)
        return SCAN_TYPE_TNEF;
    if (n >= 8 && memcmp(d, "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 8) == 0)
        return SCAN_TYPE_OLE2;
    return SCAN_TYPE_UNKNOWN;
}

static void dispatch(struct scan_ctx *ctx, const struct scan_object *obj)
{
    switch (obj->type) {
    case SCAN_TYPE_ZIP: case SCAN_TYPE_RAR: case SCAN_TYPE_7Z: case SCAN_TYPE_GZIP:
    case SCAN_TYPE_BZIP2: case SCAN_TYPE_XZ: case SCAN_TYPE_CAB: case SCAN_TYPE_TAR:
    case SCAN_TYPE_CPIO: case SCAN_TYPE_LHA: case SCAN_TYPE_ARJ: case SCAN_TYPE_ISO9660:
        scan_archive(ctx, obj);
        break;
    default:
        scan_formats(ctx, obj);
        break;
    }
}

void scan_child(struct scan_ctx *ctx, const struct scan_object *parent, const char *label,
                const uint8_t *data, size_t len, const char *name, const char *declared)
{
    assert_non_null(label);
    assert_non_null(data);
    /* every label is display-safe and bounded */
    assert_true(strlen(label) < SCAN_LABEL_MAX);
    for (const char *p = label; *p; p++)
        assert_true((unsigned char)*p >= 0x20 && *p != 0x7f);
    char where[1024];
    snprintf(where, sizeof where, "%s%s%s", parent->where, parent->where[0] ? "/" : "", label);
    if (++T.files > T.lim.max_files) {
        scan_limit(ctx, "MaxFiles", where);
        ctx->stopped = true;
        return;
    }
    if (T.nchildren < sizeof T.children / sizeof T.children[0]) {
        struct rec_child *c = &T.children[T.nchildren++];
        snprintf(c->label, sizeof c->label, "%s", label);
        snprintf(c->name, sizeof c->name, "%s", name ? name : "");
        snprintf(c->where, sizeof c->where, "%s", where);
        snprintf(c->declared, sizeof c->declared, "%s", declared ? declared : "");
        c->len = len;
        c->is_clam = T.clam && len == T.clam_len && memcmp(data, T.clam, len) == 0;
        memcpy(c->head, data, len < 16 ? len : 16);
    }
    if (!T.recurse || parent->depth + 1 >= T.lim.max_recursion)
        return;
    struct scan_object child = {.data = data, .len = len, .name = name, .where = where,
                                .depth = parent->depth + 1, .packed_len = parent->len};
    child.type = detect(data, len);
    if (child.type != SCAN_TYPE_UNKNOWN)
        dispatch(ctx, &child);
}

/* ---- helpers ---- */

static uint8_t *load(const char *path, size_t *len)
{
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = malloc(cap);
    size_t r;
    while ((r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap)
            buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    *len = n;
    return buf;
}

static bool have_testfiles(void)
{
    if (!T.clam)
        T.clam = load(TESTFILES "clam.exe", &T.clam_len);
    return T.clam != NULL;
}

/* Runs the reader for type on data, as scan_object() would. */
static void run(enum scan_type type, const uint8_t *data, size_t len, const char *name)
{
    struct scan_ctx ctx = {0};
    struct scan_object obj = {.data = data, .len = len, .name = name, .where = "", .type = type};
    dispatch(&ctx, &obj);
}

static void run_file(enum scan_type type, const char *file)
{
    char path[256];
    snprintf(path, sizeof path, TESTFILES "%s", file);
    size_t len = 0;
    uint8_t *data = load(path, &len);
    assert_non_null(data);
    run(type, data, len, file);
    free(data);
}

static const struct rec_finding *found(const char *name)
{
    for (size_t i = 0; i < T.nfindings; i++)
        if (strcmp(T.findings[i].name, name) == 0)
            return &T.findings[i];
    return NULL;
}

static const struct rec_child *child_at(const char *where)
{
    for (size_t i = 0; i < T.nchildren; i++)
        if (strcmp(T.children[i].where, where) == 0)
            return &T.children[i];
    return NULL;
}

static void dump(void)
{
    for (size_t i = 0; i < T.nchildren; i++)
        print_message("  child %s len=%zu clam=%d\n", T.children[i].where, T.children[i].len,
                      T.children[i].is_clam);
    for (size_t i = 0; i < T.nfindings; i++)
        print_message("  finding %s at '%s'\n", T.findings[i].name, T.findings[i].where);
}

/* One child, clam.exe byte for byte, no finding. */
static void expect_clam(enum scan_type type, const char *file, const char *label)
{
    reset();
    run_file(type, file);
    if (T.nchildren != 1 || !T.children[0].is_clam || T.nfindings != 0) {
        print_message("%s:\n", file);
        dump();
    }
    assert_int_equal(T.nchildren, 1);
    assert_string_equal(T.children[0].label, label);
    assert_true(T.children[0].is_clam);
    assert_int_equal(T.nfindings, 0);
}

struct mkentry {
    const char *name;
    const void *data;
    size_t len;
};

/* An archive made by libarchive's writer in the given format (a
 * archive_write_set_format_* function) with options and a passphrase. */
static uint8_t *make_archive(int (*format)(struct archive *), const struct mkentry *e, size_t n,
                             const char *options, const char *pass, size_t *outlen)
{
    size_t cap = 1 << 20;
    for (size_t i = 0; i < n; i++)
        cap += e[i].len + 1024;
    uint8_t *buf = malloc(cap);
    size_t used = 0;
    struct archive *a = archive_write_new();
    assert_int_equal(format(a), ARCHIVE_OK);
    if (options)
        assert_int_equal(archive_write_set_options(a, options), ARCHIVE_OK);
    if (pass)
        assert_int_equal(archive_write_set_passphrase(a, pass), ARCHIVE_OK);
    assert_int_equal(archive_write_open_memory(a, buf, cap, &used), ARCHIVE_OK);
    for (size_t i = 0; i < n; i++) {
        struct archive_entry *ae = archive_entry_new();
        archive_entry_set_pathname(ae, e[i].name);
        archive_entry_set_filetype(ae, AE_IFREG);
        archive_entry_set_perm(ae, 0644);
        archive_entry_set_size(ae, (la_int64_t)e[i].len);
        assert_int_equal(archive_write_header(a, ae), ARCHIVE_OK);
        assert_int_equal(archive_write_data(a, e[i].data, e[i].len), (la_ssize_t)e[i].len);
        archive_entry_free(ae);
    }
    assert_int_equal(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);
    *outlen = used;
    return buf;
}

/* A zip (or a raw gzip stream when raw) of `size` zero bytes, written in
 * 1 MiB blocks so the test never holds the unpacked bytes. */
static uint8_t *make_bomb(uint64_t size, bool raw, size_t *outlen)
{
    size_t cap = (size_t)(size / 500) + (1 << 20);
    uint8_t *buf = malloc(cap);
    uint8_t *zeros = calloc(1, 1 << 20);
    size_t used = 0;
    struct archive *a = archive_write_new();
    if (raw) {
        archive_write_set_format_raw(a);
        archive_write_add_filter_gzip(a);
    } else {
        archive_write_set_format_zip(a);
    }
    assert_int_equal(archive_write_open_memory(a, buf, cap, &used), ARCHIVE_OK);
    struct archive_entry *ae = archive_entry_new();
    archive_entry_set_pathname(ae, "zeros.bin");
    archive_entry_set_filetype(ae, AE_IFREG);
    archive_entry_set_perm(ae, 0644);
    archive_entry_set_size(ae, (la_int64_t)size);
    assert_int_equal(archive_write_header(a, ae), ARCHIVE_OK);
    for (uint64_t done = 0; done < size; done += 1 << 20)
        assert_int_equal(archive_write_data(a, zeros, 1 << 20), 1 << 20);
    archive_entry_free(ae);
    assert_int_equal(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);
    free(zeros);
    *outlen = used;
    return buf;
}

static long max_rss_kib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* ---- libarchive formats on ClamAV's test files ---- */

static void clamav_archives(void **state)
{
    (void)state;
    if (!have_testfiles())
        skip();
    expect_clam(SCAN_TYPE_ZIP, "clam.zip", "clam.exe");
    expect_clam(SCAN_TYPE_ZIP, "clam.bz2.zip", "clam.exe");
    expect_clam(SCAN_TYPE_7Z, "clam.7z", "clam.exe");
    expect_clam(SCAN_TYPE_CAB, "clam.cab", "clam.exe");
    expect_clam(SCAN_TYPE_CPIO, "clam.bin-be.cpio", "clam.exe");
    expect_clam(SCAN_TYPE_CPIO, "clam.bin-le.cpio", "clam.exe");
    expect_clam(SCAN_TYPE_CPIO, "clam.newc.cpio", "clam.exe");
    expect_clam(SCAN_TYPE_CPIO, "clam.odc.cpio", "clam.exe");
    /* a bare bzip2 stream: one member named after the container */
    expect_clam(SCAN_TYPE_BZIP2, "clam.exe.bz2", "clam.exe");
}

static void compressed_tar_recurses(void **state)
{
    (void)state;
    if (!have_testfiles())
        skip();
    /* the gzip stream is one member, the tar inside it is opened by the
     * recursion (scan_child), not by format bidding on the gzip */
    reset();
    T.recurse = true;
    run_file(SCAN_TYPE_GZIP, "clam.tar.gz");
    const struct rec_child *tar = child_at("clam.tar");
    const struct rec_child *exe = child_at("clam.tar/clam.exe");
    if (!tar || !exe)
        dump();
    assert_non_null(tar);
    assert_non_null(exe);
    assert_true(exe->is_clam);
    assert_int_equal(T.nfindings, 0);

    /* without recursion, only the tar */
    reset();
    run_file(SCAN_TYPE_GZIP, "clam.tar.gz");
    assert_int_equal(T.nchildren, 1);
    assert_string_equal(T.children[0].label, "clam.tar");

    /* nested: a .tgz holding two .tgz */
    reset();
    T.recurse = true;
    run_file(SCAN_TYPE_GZIP, "clam_cache_emax.tgz");
    assert_non_null(child_at("clam_cache_emax.tar"));
    assert_non_null(child_at("clam_cache_emax.tar/clam01.tgz"));
    assert_non_null(child_at("clam_cache_emax.tar/clam02.tgz"));
    assert_non_null(child_at("clam_cache_emax.tar/clam01.tgz/clam01.tar"));
    assert_int_equal(T.nfindings, 0);
}

static void stream_names(void **state)
{
    (void)state;
    if (!have_testfiles())
        skip();
    size_t len = 0;
    uint8_t *bz = load(TESTFILES "clam.exe.bz2", &len);
    assert_non_null(bz);
    reset();
    run(SCAN_TYPE_BZIP2, bz, len, NULL);
    assert_int_equal(T.nchildren, 1);
    assert_string_equal(T.children[0].label, "data");
    assert_true(T.children[0].is_clam);
    reset();
    run(SCAN_TYPE_BZIP2, bz, len, "C:\\mail\\Run Me.EXE.BZ2");
    assert_string_equal(T.children[0].label, "Run Me.EXE");
    reset();
    run(SCAN_TYPE_BZIP2, bz, len, "backup.tbz2");
    assert_string_equal(T.children[0].label, "backup.tar");
    free(bz);
}

static void unsupported_zip_methods(void **state)
{
    (void)state;
    if (!have_testfiles())
        skip();
    /* libarchive 3.6.2 has neither deflate64 nor implode: those members are
     * zipx.c's (scan_zip_legacy, test_zipx), so scan_archive() neither
     * reads them nor calls the zip unsupported or broken */
    const char *files[] = {"clam.d64.zip", "clam.impl.zip"};
    for (size_t i = 0; i < 2; i++) {
        reset();
        run_file(SCAN_TYPE_ZIP, files[i]);
        if (T.nfindings)
            dump();
        assert_int_equal(T.nfindings, 0);
        assert_int_equal(T.nchildren, 0);
    }
}

static void arj_is_left_alone(void **state)
{
    (void)state;
    if (!have_testfiles())
        skip();
    /* libarchive has no ARJ reader: nothing inside, no finding; the file
     * itself stays a leaf for the signatures */
    reset();
    run_file(SCAN_TYPE_ARJ, "clam.arj");
    assert_int_equal(T.nchildren, 0);
    assert_int_equal(T.nfindings, 0);
}

/* ---- generated archives ---- */

static void zip_bomb_stops_at_the_limit(void **state)
{
    (void)state;
    size_t zlen;
    uint64_t t0 = now_ns();
    uint8_t *zip = make_bomb(1ull << 30, false, &zlen);
    print_message("  1 GiB of zeros -> %zu byte zip in %.1f s\n", zlen, (double)(now_ns() - t0) / 1e9);
    assert_true(zlen < (4u << 20));

    /* MaxFileSize (100 MiB) is below 250 x the zip's size: it wins */
    reset();
    long rss0 = max_rss_kib();
    t0 = now_ns();
    run(SCAN_TYPE_ZIP, zip, zlen, "bomb.zip");
    double secs = (double)(now_ns() - t0) / 1e9;
    long rss = max_rss_kib() - rss0;
    print_message("  read to the limit in %.2f s, max RSS grew %ld MiB\n", secs, rss / 1024);
    assert_non_null(found("Heuristics.Limits.Exceeded.MaxFileSize"));
    assert_int_equal(T.nchildren, 1);
    assert_int_equal(T.children[0].len, 100u << 20);
    assert_true(secs < 20);
    assert_true(rss < 400 * 1024); /* the 100 MiB buffer and libarchive's own, no more */

    /* a tighter ratio: 10 x the zip's size (at least 1 MiB) */
    reset();
    T.lim.max_ratio = 10;
    run(SCAN_TYPE_ZIP, zip, zlen, "bomb.zip");
    assert_non_null(found("Heuristics.Limits.Exceeded.MaxCompressionRatio"));
    assert_int_equal(T.nchildren, 1);
    uint64_t want = (uint64_t)zlen * 10 < (1u << 20) ? (1u << 20) : (uint64_t)zlen * 10;
    assert_int_equal(T.children[0].len, want);

    /* MaxScanSize below the member: the scan stops, nothing is handed on */
    reset();
    T.lim.max_scan_size = 5u << 20;
    run(SCAN_TYPE_ZIP, zip, zlen, "bomb.zip");
    assert_non_null(found("Heuristics.Limits.Exceeded.MaxScanSize"));
    assert_true(T.taken <= 5u << 20);
    free(zip);

    /* a bare gzip bomb, the same way */
    uint8_t *gz = make_bomb(256u << 20, true, &zlen);
    reset();
    T.lim.max_file_size = 16u << 20;
    run(SCAN_TYPE_GZIP, gz, zlen, "zeros.gz");
    assert_non_null(found("Heuristics.Limits.Exceeded.MaxFileSize"));
    assert_int_equal(T.nchildren, 1);
    assert_int_equal(T.children[0].len, 16u << 20);
    assert_string_equal(T.children[0].label, "zeros");
    free(gz);
}

/* A member cut at its budget: a zip goes on to the next member (it skips by
 * recorded sizes), a 7z stops (skipping means decompressing the rest). */
static void after_a_cut_member(void **state)
{
    (void)state;
    uint8_t *big = calloc(1, 3u << 20);
    struct mkentry e[] = {{"big.bin", big, 3u << 20}, {"small.exe", "MZ", 2}};
    size_t len;
    uint8_t *zip = make_archive(archive_write_set_format_zip, e, 2, NULL, NULL, &len);
    reset();
    T.lim.max_file_size = 1u << 20;
    run(SCAN_TYPE_ZIP, zip, len, NULL);
    assert_non_null(found("Heuristics.Limits.Exceeded.MaxFileSize"));
    assert_int_equal(T.nchildren, 2);
    assert_int_equal(T.children[0].len, 1u << 20);
    assert_string_equal(T.children[1].label, "small.exe");
    free(zip);

    uint8_t *sz = make_archive(archive_write_set_format_7zip, e, 2, NULL, NULL, &len);
    reset();
    T.lim.max_file_size = 1u << 20;
    run(SCAN_TYPE_7Z, sz, len, NULL);
    assert_non_null(found("Heuristics.Limits.Exceeded.MaxFileSize"));
    assert_int_equal(T.nchildren, 1);
    free(sz);
    free(big);
}

/* MaxScanTime passing while libarchive inflates one long member. */
static void time_limit_inside_a_member(void **state)
{
    (void)state;
    size_t zlen;
    uint8_t *gz = make_bomb(256u << 20, true, &zlen);
    reset();
    T.lim.max_file_size = 2ull << 30;
    T.lim.max_scan_size = 4ull << 30;
    T.lim.max_ratio = 100000;
    struct scan_ctx ctx = {.deadline_ns = now_ns() + 30 * 1000000ull};
    struct scan_object obj = {.data = gz, .len = zlen, .where = "", .type = SCAN_TYPE_GZIP};
    uint64_t t0 = now_ns();
    scan_archive(&ctx, &obj);
    double secs = (double)(now_ns() - t0) / 1e9;
    print_message("  stopped after %.3f s, %llu bytes inflated\n", secs,
                  (unsigned long long)T.taken);
    assert_non_null(found("Heuristics.Limits.Exceeded.MaxScanTime"));
    assert_true(secs < 1.0);
    assert_true(T.taken < (256u << 20));
    assert_null(found("Heuristics.Broken.Archive.GZip"));

    /* a deadline already passed: libarchive's first read fails, no more */
    reset();
    ctx = (struct scan_ctx){.deadline_ns = 1};
    scan_archive(&ctx, &obj);
    assert_int_equal(T.nchildren, 0);
    assert_non_null(found("Heuristics.Limits.Exceeded.MaxScanTime"));
    assert_null(found("Heuristics.Broken.Archive.GZip"));
    free(gz);
}

static void encrypted_zip(void **state)
{
    (void)state;
    static const char secret[] = "MZ pretend this is a worm";
    static const char plain[] = "a readme";
    struct mkentry e[] = {{"readme.txt", plain, sizeof plain - 1},
                          {"document.exe", secret, sizeof secret - 1}};
    size_t len = 0;
    uint8_t *zip = make_archive(archive_write_set_format_zip, e, 2, "zip:encryption=zipcrypt",
                                "infected", &len);
    reset();
    run(SCAN_TYPE_ZIP, zip, len, "attach.zip");
    const struct rec_finding *f = found("Heuristics.Encrypted.Zip");
    if (!f)
        dump();
    assert_non_null(f);
    assert_int_equal(f->level, SCAN_SUSPICIOUS);
    assert_string_equal(f->where, "");
    assert_int_equal(T.nchildren, 0); /* nothing readable was handed on as if clean */
    assert_null(found("Heuristics.Broken.Archive.Zip"));

    /* the heuristic turned off: no finding, still no crash */
    reset();
    T.heur = SCAN_HEUR_ALL & ~SCAN_HEUR_ENCRYPTED;
    run(SCAN_TYPE_ZIP, zip, len, "attach.zip");
    assert_null(found("Heuristics.Encrypted.Zip"));
    free(zip);

    /* WinZip AES as well, when this libarchive was built with crypto */
    struct archive *probe = archive_write_new();
    archive_write_set_format_zip(probe);
    bool aes = archive_write_set_options(probe, "zip:encryption=aes256") == ARCHIVE_OK;
    archive_write_free(probe);
    if (aes) {
        zip = make_archive(archive_write_set_format_zip, e, 2, "zip:encryption=aes256",
                           "infected", &len);
        reset();
        run(SCAN_TYPE_ZIP, zip, len, "attach.zip");
        assert_non_null(found("Heuristics.Encrypted.Zip"));
        free(zip);
    }
}

/* Made once with p7zip 16.02 (7z a -pinfected [-mhe=on] x.7z w.exe, w.exe
 * being "MZ hello worm"): AES-256 content, and AES-256 headers too. */
static const uint8_t enc_data_7z[] = {
    0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c, 0x00, 0x04, 0xbc, 0x11, 0x33, 0x28, 0x20, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x62, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xb9, 0x48, 0xa2, 0xca,
    0xd0, 0xc9, 0xbc, 0xc8, 0xf9, 0xa2, 0x3c, 0x89, 0x29, 0x26, 0x8d, 0x66, 0xec, 0xcc, 0xf2, 0x06,
    0x56, 0x25, 0xf3, 0xfe, 0xc8, 0xed, 0x69, 0x9a, 0x7f, 0x84, 0x11, 0x36, 0x5e, 0x67, 0xb6, 0xbc,
    0x01, 0x04, 0x06, 0x00, 0x01, 0x09, 0x20, 0x00, 0x07, 0x0b, 0x01, 0x00, 0x02, 0x24, 0x06, 0xf1,
    0x07, 0x01, 0x12, 0x53, 0x0f, 0x3a, 0x26, 0x90, 0x04, 0xa8, 0xc8, 0xf3, 0x2f, 0x13, 0xe7, 0x85,
    0x02, 0xcd, 0x2d, 0x8c, 0xdb, 0x21, 0x21, 0x01, 0x00, 0x01, 0x00, 0x0c, 0x11, 0x0d, 0x00, 0x08,
    0x0a, 0x01, 0xc5, 0x19, 0x99, 0x19, 0x00, 0x00, 0x05, 0x01, 0x19, 0x01, 0x00, 0x11, 0x0d, 0x00,
    0x77, 0x00, 0x2e, 0x00, 0x65, 0x00, 0x78, 0x00, 0x65, 0x00, 0x00, 0x00, 0x14, 0x0a, 0x01, 0x00,
    0x6f, 0x06, 0x10, 0x18, 0x78, 0x7b, 0xdd, 0x01, 0x15, 0x06, 0x01, 0x00, 0x20, 0x80, 0xa4, 0x81,
    0x00, 0x00,
};
static const uint8_t enc_hdr_7z[] = {
    0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c, 0x00, 0x04, 0x21, 0x68, 0x9b, 0x5a, 0x90, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x2e, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xcf, 0x21, 0x00, 0xa2,
    0xbe, 0x2f, 0x2c, 0x8e, 0xdb, 0xf2, 0x62, 0xa8, 0x26, 0xd7, 0x2b, 0x8c, 0x6d, 0x69, 0xc4, 0xd3,
    0xc9, 0x66, 0xef, 0x3e, 0x0f, 0x38, 0xad, 0xe1, 0x20, 0x51, 0xc3, 0x59, 0x52, 0x64, 0x3f, 0xe6,
    0xe1, 0x4e, 0x2c, 0xd9, 0x50, 0x2f, 0x49, 0x5a, 0x33, 0x48, 0x35, 0xb3, 0xe6, 0xb5, 0xeb, 0x15,
    0x88, 0xdc, 0x88, 0xdd, 0x6e, 0x67, 0x9c, 0xca, 0x0c, 0x99, 0x21, 0x76, 0x6f, 0xc3, 0x6c, 0x9a,
    0x58, 0x4d, 0xa4, 0x7a, 0x07, 0xd8, 0x19, 0x14, 0xaa, 0x50, 0xc3, 0xf0, 0xf1, 0xd8, 0xc8, 0xc5,
    0x17, 0x05, 0x93, 0x08, 0x0a, 0x19, 0x94, 0x0e, 0xed, 0x36, 0x64, 0x00, 0xab, 0xda, 0x1f, 0x22,
    0x54, 0x61, 0xe9, 0xec, 0xdb, 0x63, 0xb7, 0xe8, 0x25, 0xbc, 0x34, 0xa3, 0xd9, 0xb3, 0x11, 0xd4,
    0xa1, 0x41, 0x3c, 0x33, 0x22, 0x85, 0xaf, 0x22, 0x2f, 0x1f, 0xa4, 0x34, 0x20, 0x1e, 0x95, 0x77,
    0x9f, 0xb5, 0x3f, 0x07, 0xc8, 0x41, 0x40, 0xec, 0x57, 0xb2, 0x1e, 0xfe, 0xfd, 0x62, 0xf1, 0xe6,
    0x17, 0x06, 0x20, 0x01, 0x09, 0x70, 0x00, 0x07, 0x0b, 0x01, 0x00, 0x01, 0x24, 0x06, 0xf1, 0x07,
    0x01, 0x12, 0x53, 0x0f, 0x7d, 0xe3, 0x44, 0xd0, 0xa1, 0xc8, 0x94, 0x4f, 0xe0, 0xa8, 0x41, 0x26,
    0x29, 0x12, 0xb8, 0xe6, 0x0c, 0x62, 0x0a, 0x01, 0x54, 0x62, 0x54, 0xe0, 0x00, 0x00,
};

static void encrypted_7z(void **state)
{
    (void)state;
    /* content encrypted: the entry says so, its data is not read */
    reset();
    run(SCAN_TYPE_7Z, enc_data_7z, sizeof enc_data_7z, "x.7z");
    assert_non_null(found("Heuristics.Encrypted.7Zip"));
    assert_int_equal(T.nchildren, 0);
    /* headers encrypted: no entry at all, only libarchive's error */
    reset();
    run(SCAN_TYPE_7Z, enc_hdr_7z, sizeof enc_hdr_7z, "x.7z");
    assert_non_null(found("Heuristics.Encrypted.7Zip"));
    assert_null(found("Heuristics.Broken.Archive.7Zip"));
    assert_int_equal(T.nchildren, 0);
}

static void members_names_and_limits(void **state)
{
    (void)state;
    char longname[600];
    memset(longname, 'a', sizeof longname - 5);
    memcpy(longname + sizeof longname - 5, ".exe", 5);
    struct mkentry e[] = {
        {"dir/one.txt", "1", 1},
        {"evil\x1b[31m\xe2\x80\xaetxt.exe", "2", 1}, /* escape sequence, RTLO */
        {longname, "3", 1},
        {"\xff\xfe.bin", "4", 1},
        {"empty", "", 0},
    };
    size_t len = 0;
    uint8_t *zip = make_archive(archive_write_set_format_zip, e, 5, NULL, NULL, &len);
    reset();
    run(SCAN_TYPE_ZIP, zip, len, "x.zip");
    assert_int_equal(T.nchildren, 5);
    assert_string_equal(T.children[0].label, "dir/one.txt");
    assert_string_equal(T.children[1].label, "evil?[31m?txt.exe");
    /* the name as given still reaches the heuristics */
    assert_string_equal(T.children[1].name, "evil\x1b[31m\xe2\x80\xaetxt.exe");
    assert_int_equal(strlen(T.children[2].label), SCAN_LABEL_MAX - 1);
    assert_int_equal(T.children[4].len, 0);
    assert_int_equal(T.nfindings, 0);

    /* MaxFiles: scan_child stops the scan, the reader stops between members */
    reset();
    T.lim.max_files = 2;
    run(SCAN_TYPE_ZIP, zip, len, "x.zip");
    assert_int_equal(T.nchildren, 2);
    assert_non_null(found("Heuristics.Limits.Exceeded.MaxFiles"));

    /* a scan already stopped reads nothing */
    reset();
    struct scan_ctx ctx = {.stopped = true};
    struct scan_object obj = {.data = zip, .len = len, .where = "", .type = SCAN_TYPE_ZIP};
    scan_archive(&ctx, &obj);
    assert_int_equal(T.nchildren, 0);
    free(zip);

    /* 7z and tar written by libarchive read back the same */
    struct mkentry one[] = {{"a/b.exe", "MZ", 2}};
    int (*formats[])(struct archive *) = {archive_write_set_format_7zip,
                                          archive_write_set_format_pax_restricted,
                                          archive_write_set_format_cpio_newc,
                                          archive_write_set_format_iso9660};
    enum scan_type types[] = {SCAN_TYPE_7Z, SCAN_TYPE_TAR, SCAN_TYPE_CPIO, SCAN_TYPE_ISO9660};
    for (size_t i = 0; i < 4; i++) {
        uint8_t *a = make_archive(formats[i], one, 1, NULL, NULL, &len);
        reset();
        run(types[i], a, len, NULL);
        assert_int_equal(T.nchildren, 1);
        assert_string_equal(T.children[0].label, "a/b.exe");
        assert_int_equal(T.children[0].len, 2);
        free(a);
    }
}

/* One newc cpio entry (mode gives its type), padded as the format wants. */
static size_t newc_entry(char *out, unsigned mode, const char *name, const char *data, size_t len)
{
    size_t nl = strlen(name) + 1;
    size_t n = (size_t)sprintf(out, "070701%08x%08x%08x%08x%08x%08x%08zx%08x%08x%08x%08x%08zx%08x",
                               1u, mode, 0u, 0u, 1u, 0u, len, 0u, 0u, 0u, 0u, nl, 0u);
    memcpy(out + n, name, nl);
    n += nl;
    while (n % 4)
        out[n++] = 0;
    memcpy(out + n, data, len);
    n += len;
    while (n % 4)
        out[n++] = 0;
    return n;
}

static void data_in_a_device_entry(void **state)
{
    (void)state;
    /* a "character device" that carries bytes: libarchive hands them out,
     * so they are scanned; a fifo without bytes is nothing */
    char cpio[1024];
    size_t n = newc_entry(cpio, 020644, "dev/evil", "MZ-in-a-device", 14);
    n += newc_entry(cpio + n, 010644, "fifo", "", 0);
    n += newc_entry(cpio + n, 040755, "dir", "", 0);
    n += newc_entry(cpio + n, 0, "TRAILER!!!", "", 0);
    reset();
    run(SCAN_TYPE_CPIO, (const uint8_t *)cpio, n, NULL);
    if (T.nchildren != 1)
        dump();
    assert_int_equal(T.nchildren, 1);
    assert_string_equal(T.children[0].label, "dev/evil");
    assert_int_equal(T.children[0].len, 14);
    assert_int_equal(T.nfindings, 0);
}

static void scan_member_label_rules(void **state)
{
    (void)state;
    char out[SCAN_LABEL_MAX];
    assert_int_equal(scan_member_label(out, sizeof out, "./x/y", 5, NULL), 3);
    assert_string_equal(out, "x/y");
    scan_member_label(out, sizeof out, "//abs", 5, NULL);
    assert_string_equal(out, "abs");
    scan_member_label(out, sizeof out, "", 0, "member1");
    assert_string_equal(out, "member1");
    scan_member_label(out, sizeof out, NULL, 9, NULL);
    assert_string_equal(out, "");
    /* C1 control, overlong '/', lone surrogate, LRI */
    scan_member_label(out, sizeof out, "a\xc2\x85" "b\xc0\xaf" "c\xed\xa0\x80" "d\xe2\x81\xa6", 14, NULL);
    assert_string_equal(out, "a?b??c???d?");
    /* a valid multibyte character is kept whole, or cut whole */
    scan_member_label(out, 5, "ab\xc3\xa9z", 5, NULL);
    assert_string_equal(out, "ab\xc3\xa9");
    scan_member_label(out, 4, "ab\xc3\xa9z", 5, NULL);
    assert_string_equal(out, "ab");
    /* an embedded NUL does not end the label early or reach it */
    scan_member_label(out, sizeof out, "a\0b", 3, NULL);
    assert_string_equal(out, "a?b");
}

static void broken_archives(void **state)
{
    (void)state;
    /* garbage typed as each format: nothing readable -> a finding, no crash */
    static const uint8_t junk[] = "this is not an archive at all, just some words........";
    enum scan_type types[] = {SCAN_TYPE_ZIP, SCAN_TYPE_RAR, SCAN_TYPE_7Z, SCAN_TYPE_CAB,
                              SCAN_TYPE_CPIO, SCAN_TYPE_LHA, SCAN_TYPE_ISO9660,
                              SCAN_TYPE_GZIP, SCAN_TYPE_BZIP2, SCAN_TYPE_XZ};
    const char *names[] = {"Zip", "RAR", "7Zip", "CAB", "CPIO", "LHA", "ISO9660", "GZip",
                           "BZip2", "XZ"};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        reset();
        run(types[i], junk, sizeof junk - 1, NULL);
        char want[64];
        snprintf(want, sizeof want, "Heuristics.Broken.Archive.%s", names[i]);
        if (!found(want)) {
            print_message("%s\n", want);
            dump();
        }
        assert_non_null(found(want));
        assert_int_equal(T.nchildren, 0);
    }
    /* zero bytes: nothing to scan, nothing to report (libarchive's
     * "empty" format) */
    reset();
    run(SCAN_TYPE_ZIP, junk, 0, NULL);
    assert_int_equal(T.nchildren, 0);

    if (!have_testfiles())
        return;
    /* a zip cut before its central directory: the local header is read */
    size_t len = 0;
    uint8_t *zip = load(TESTFILES "clam.zip", &len);
    reset();
    run(SCAN_TYPE_ZIP, zip, len - 60, NULL);
    if (T.nchildren != 1)
        dump();
    assert_int_equal(T.nchildren, 1);
    assert_true(T.children[0].is_clam);
    assert_int_equal(T.nfindings, 0);
    free(zip);
}

/* ---- formats.c on ClamAV's test files ---- */

static void clamav_formats(void **state)
{
    (void)state;
    if (!have_testfiles())
        skip();
    /* TNEF: the attachment, and the compressed RTF body beside it */
    reset();
    run_file(SCAN_TYPE_TNEF, "clam.tnef");
    const struct rec_child *c = child_at("clam.exe");
    const struct rec_child *body = child_at("body.rtf");
    if (!c || !body)
        dump();
    assert_non_null(c);
    assert_true(c->is_clam);
    assert_non_null(body);
    assert_memory_equal(body->head, "{\\rtf1", 6);
    assert_int_equal(T.nfindings, 0);

    /* BinHex: the data fork (and this file's 1-byte resource fork) */
    reset();
    run_file(SCAN_TYPE_BINHEX, "clam.exe.binhex");
    c = child_at("clam.exe");
    assert_non_null(c);
    assert_true(c->is_clam);
    assert_non_null(child_at("clam.exe.rsrc"));
    assert_int_equal(T.nchildren, 2);
    assert_int_equal(T.nfindings, 0);

    /* RTF: the Package object's file, named after its temporary path */
    expect_clam(SCAN_TYPE_RTF, "clam.exe.rtf", "clam.exe");

    /* SZDD: the name loses the container's suffix */
    expect_clam(SCAN_TYPE_SZDD, "clam.exe.szdd", "clam.exe");

    /* CHM: every file; one of them is clam.exe */
    reset();
    run_file(SCAN_TYPE_CHM, "clam.chm");
    bool clam = false;
    for (size_t i = 0; i < T.nchildren; i++)
        clam |= T.children[i].is_clam;
    if (!clam)
        dump();
    assert_true(clam);
    assert_int_equal(T.nfindings, 0);
}

static void ole2_streams(void **state)
{
    (void)state;
    if (!have_testfiles())
        skip();
    /* Word: the Package in ObjectPool's \1Ole10Native is clam.exe */
    reset();
    run_file(SCAN_TYPE_OLE2, "clam.ole.doc");
    const struct rec_child *c = child_at("clam.exe");
    if (!c)
        dump();
    assert_non_null(c);
    assert_true(c->is_clam);
    assert_non_null(child_at("WordDocument"));
    assert_non_null(child_at("?CompObj")); /* "\1CompObj", made printable */
    assert_int_equal(T.nfindings, 0);

    /* PowerPoint: a zlib-packed OLE2 in an ExOleObjStg record, holding the
     * Package in turn */
    reset();
    T.recurse = true;
    run_file(SCAN_TYPE_OLE2, "clam.ppt");
    c = child_at("ExOleObjStg1/clam.exe");
    if (!c)
        dump();
    assert_non_null(c);
    assert_true(c->is_clam);
    assert_int_equal(T.nfindings, 0);

    /* a FAT whose chains loop (every entry points at sector 0, or at
     * itself): each sector is read once at most, no hang */
    size_t len = 0;
    uint8_t *doc = load(TESTFILES "clam.ole.doc", &len);
    uint32_t fatsect = (uint32_t)doc[0x4c] | (uint32_t)doc[0x4d] << 8;
    uint8_t *fat = doc + (fatsect + 1) * 512;
    for (int pass = 0; pass < 2; pass++) {
        for (uint32_t i = 0; i < 128; i++) {
            uint32_t v = pass ? i : 0;
            memcpy(fat + 4 * i, &v, 4);
        }
        reset();
        run(SCAN_TYPE_OLE2, doc, len, "loop.doc");
        assert_true(T.taken <= 2 * len);
    }
    free(doc);
}

/* A TNEF stream built here: little-endian fields, attributes with their
 * checksums, MAPI properties padded to 4 bytes. */
struct tnef_builder {
    uint8_t buf[2048];
    size_t n;
};

static void tb_bytes(struct tnef_builder *t, const void *p, size_t n)
{
    memcpy(t->buf + t->n, p, n);
    t->n += n;
}

static void tb_u16(struct tnef_builder *t, uint16_t v) { tb_bytes(t, (uint8_t[]){(uint8_t)v, (uint8_t)(v >> 8)}, 2); }

static void tb_u32(struct tnef_builder *t, uint32_t v)
{
    tb_u16(t, (uint16_t)v);
    tb_u16(t, (uint16_t)(v >> 16));
}

static void tb_attr(struct tnef_builder *t, uint8_t level, uint32_t tag, const void *p, size_t n)
{
    t->buf[t->n++] = level;
    tb_u32(t, tag);
    tb_u32(t, (uint32_t)n);
    tb_bytes(t, p, n);
    uint16_t sum = 0;
    for (size_t i = 0; i < n; i++)
        sum = (uint16_t)(sum + ((const uint8_t *)p)[i]);
    tb_u16(t, sum);
}

/* one variable-size MAPI property: type, id, one value, padded */
static void tb_prop(struct tnef_builder *t, uint16_t type, uint16_t id, const void *p, size_t n)
{
    tb_u16(t, type);
    tb_u16(t, id);
    tb_u32(t, 1);
    tb_u32(t, (uint32_t)n);
    tb_bytes(t, p, n);
    while (n++ % 4)
        t->buf[t->n++] = 0;
}

static void tnef_attachments(void **state)
{
    (void)state;
    struct tnef_builder props = {0}, t = {0};
    /* attachment 1: data first, then its MAPI names: a UTF-16 long name
     * and a MIME type */
    tb_u32(&props, 4);
    static const uint8_t uname[] = {'R', 0, 0xe9, 0, 'p', 0, '.', 0, 'e', 0, 'x', 0, 'e', 0, 0, 0};
    tb_prop(&props, 0x001f, 0x3707, uname, sizeof uname);
    tb_u16(&props, 0x0003); /* a fixed-size property between them */
    tb_u16(&props, 0x0e20);
    tb_u32(&props, 6);
    tb_u16(&props, 0x101e); /* a multi-valued string */
    tb_u16(&props, 0x8000);
    tb_bytes(&props, "0123456789abcdef", 16); /* named: GUID, kind 0, id */
    tb_u32(&props, 0);
    tb_u32(&props, 7);
    tb_u32(&props, 2);
    tb_u32(&props, 2);
    tb_bytes(&props, "a\0\0\0", 4);
    tb_u32(&props, 3);
    tb_bytes(&props, "bc\0\0", 4);
    /* the MIME type after them: found only if they were walked right */
    tb_prop(&props, 0x001e, 0x370e, "Application/X-MSDownload", 25);

    tb_u32(&t, 0x223e9f78);
    tb_u16(&t, 0x0001);
    tb_attr(&t, 1, 0x00089006, "\0\0\1\0", 4);
    tb_attr(&t, 2, 0x00069002, "\1\0\0\0\0\0\0\0\0\0\0\0\0\0", 14);
    tb_attr(&t, 2, 0x0006800f, "MZdata", 6);
    tb_attr(&t, 2, 0x00018010, "REPORT~1.EXE", 13);
    tb_attr(&t, 2, 0x00069005, props.buf, props.n);

    /* attachment 2: no attAttachData, the bytes in PR_ATTACH_DATA_OBJ
     * (an object: interface id, then the data) */
    struct tnef_builder obj = {0};
    tb_u32(&obj, 1);
    uint8_t objval[16 + 5];
    memset(objval, 0x11, 16);
    memcpy(objval + 16, "MZobj", 5);
    tb_prop(&obj, 0x000d, 0x3701, objval, sizeof objval);
    tb_attr(&t, 2, 0x00069002, "\1\0\0\0\0\0\0\0\0\0\0\0\0\0", 14);
    tb_attr(&t, 2, 0x00069005, obj.buf, obj.n);

    /* attachment 3: cut off in its data */
    tb_attr(&t, 2, 0x00069002, "\1\0\0\0\0\0\0\0\0\0\0\0\0\0", 14);
    tb_attr(&t, 2, 0x0006800f, "MZcut-off-here", 14);
    size_t cut = t.n - 2 - 6; /* no checksum, 6 data bytes gone */

    reset();
    run(SCAN_TYPE_TNEF, t.buf, cut, "winmail.dat");
    if (T.nchildren != 3)
        dump();
    assert_int_equal(T.nchildren, 3);
    assert_string_equal(T.children[0].label, "R\xc3\xa9p.exe");
    assert_string_equal(T.children[0].name, "R\xc3\xa9p.exe");
    assert_string_equal(T.children[0].declared, "application/x-msdownload");
    assert_int_equal(T.children[0].len, 6);
    assert_memory_equal(T.children[0].head, "MZdata", 6);
    assert_string_equal(T.children[1].label, "attachment2");
    assert_int_equal(T.children[1].len, 5);
    assert_memory_equal(T.children[1].head, "MZobj", 5);
    assert_string_equal(T.children[2].label, "attachment3");
    assert_int_equal(T.children[2].len, 8);
    assert_int_equal(T.nfindings, 0);
}

static void szdd_missing_char(void **state)
{
    (void)state;
    if (!have_testfiles())
        skip();
    size_t len = 0;
    uint8_t *d = load(TESTFILES "clam.exe.szdd", &len);
    assert_true(len > 14);
    /* this file keeps no missing character: the name stays as it is */
    reset();
    run(SCAN_TYPE_SZDD, d, len, "CLAM.EX_");
    assert_int_equal(T.nchildren, 1);
    assert_string_equal(T.children[0].label, "CLAM.EX_");
    /* with one (header byte 9), it is put back */
    d[9] = 'e';
    reset();
    run(SCAN_TYPE_SZDD, d, len, "dir/CLAM.EX_");
    assert_int_equal(T.nchildren, 1);
    assert_string_equal(T.children[0].label, "CLAM.EXe");
    assert_true(T.children[0].is_clam);
    free(d);
}

/* An RTF with objects built here: a Package with a name, a non-Package
 * object (its native data), and undecodable bytes (handed on raw). */
static void rtf_objects(void **state)
{
    (void)state;
    /* OLE1 header + Package native data holding "MZhello" as run.exe */
    uint8_t pkg[256];
    size_t n = 0, native_at;
#define PUT32(v) do { uint32_t v_ = (v); for (int k_ = 0; k_ < 4; k_++) pkg[n++] = (uint8_t)(v_ >> (8 * k_)); } while (0)
#define PUTS(s) do { memcpy(pkg + n, s, sizeof s); n += sizeof s; } while (0)
    PUT32(0x0501);
    PUT32(2);
    PUT32(8);
    PUTS("Package");
    PUT32(0);
    PUT32(0);
    PUT32(0); /* native size, filled below */
    native_at = n;
    pkg[n++] = 2;
    pkg[n++] = 0;
    PUTS("icon label");
    PUTS("C:\\orig\\a.txt");
    pkg[n++] = 0; pkg[n++] = 0; pkg[n++] = 3; pkg[n++] = 0;
    PUT32(sizeof "C:\\TEMP\\run.exe");
    PUTS("C:\\TEMP\\run.exe");
    PUT32(7);
    memcpy(pkg + n, "MZhello", 7);
    n += 7;
    uint32_t native_len = (uint32_t)(n - native_at);
    for (int k = 0; k < 4; k++)
        pkg[native_at - 4 + k] = (uint8_t)(native_len >> (8 * k));

    char rtf[4096];
    size_t r = 0;
    r += (size_t)snprintf(rtf + r, sizeof rtf - r, "{\\rtf1{\\object\\objemb{\\*\\objclass Package}{\\*\\objdata ");
    for (size_t i = 0; i < n; i++) {
        /* obfuscation Word tolerates: line breaks, a control word, a group */
        if (i == 5)
            r += (size_t)snprintf(rtf + r, sizeof rtf - r, "\r\n\\par {\\*\\junk 41}");
        r += (size_t)snprintf(rtf + r, sizeof rtf - r, "%02x", pkg[i]);
    }
    r += (size_t)snprintf(rtf + r, sizeof rtf - r, "}}");
    /* a second object: class Equation.3 with native data "D0CF" */
    r += (size_t)snprintf(rtf + r, sizeof rtf - r,
                          "{\\object{\\*\\objdata 01050000 02000000 0b000000 4571756174696f6e2e3300"
                          " 00000000 00000000 04000000 d0cf11e0}}");
    /* a third: not OLE1 at all, with raw \\bin bytes */
    r += (size_t)snprintf(rtf + r, sizeof rtf - r, "{\\*\\objdata 4142\\bin3 XYZ4344}}");
    /* and a keyword that only starts like one */
    r += (size_t)snprintf(rtf + r, sizeof rtf - r, "{\\objdatax 4142}");
    reset();
    run(SCAN_TYPE_RTF, (const uint8_t *)rtf, r, "doc.rtf");
    if (T.nchildren != 3)
        dump();
    assert_int_equal(T.nchildren, 3);
    assert_string_equal(T.children[0].label, "run.exe");
    assert_string_equal(T.children[0].name, "run.exe");
    assert_int_equal(T.children[0].len, 7);
    assert_memory_equal(T.children[0].head, "MZhello", 7);
    assert_string_equal(T.children[1].label, "object2");
    assert_int_equal(T.children[1].len, 4);
    assert_memory_equal(T.children[1].head, "\xd0\xcf\x11\xe0", 4);
    assert_string_equal(T.children[2].label, "object3");
    assert_int_equal(T.children[2].len, 7);
    assert_memory_equal(T.children[2].head, "ABXYZCD", 7);
#undef PUT32
#undef PUTS
}

/* A BinHex stream with a 0x90 run, built here: "aaaaaaaa" + 0x90 literal. */
static void binhex_runs(void **state)
{
    (void)state;
    static const char alpha[] =
        "!\"#$%&'()*+,-012345689@ABCDEFGHIJKLMNPQRSTUVXYZ[`abcdefhijklmpqr";
    uint8_t raw[64];
    size_t n = 0;
    raw[n++] = 3;
    memcpy(raw + n, "x.y", 3);
    n += 3;
    raw[n++] = 0;
    memset(raw + n, 0, 10);
    n += 10;
    /* data length 10, resource length 0 */
    uint8_t lens[8] = {0, 0, 0, 10, 0, 0, 0, 0};
    memcpy(raw + n, lens, 8);
    n += 8;
    raw[n++] = 0; /* header CRC */
    raw[n++] = 0;
    raw[n++] = 'a';
    raw[n++] = 0x90; /* 8 x 'a' in all */
    raw[n++] = 8;
    raw[n++] = 0x90; /* a literal 0x90 */
    raw[n++] = 0;
    raw[n++] = 'b';
    raw[n++] = 0;
    raw[n++] = 0;
    char text[256] = "(This file must be converted with BinHex 4.0)\r\n:";
    size_t t = strlen(text);
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)raw[i] << 16 | (uint32_t)(i + 1 < n ? raw[i + 1] : 0) << 8 |
                     (uint32_t)(i + 2 < n ? raw[i + 2] : 0);
        for (int k = 3; k >= 0; k--)
            text[t++] = alpha[v >> (6 * k) & 63];
        if (i == 15)
            text[t++] = '\n'; /* line breaks are ignored */
    }
    text[t++] = ':';
    reset();
    run(SCAN_TYPE_BINHEX, (const uint8_t *)text, t, NULL);
    if (T.nchildren != 1)
        dump();
    assert_int_equal(T.nchildren, 1);
    assert_string_equal(T.children[0].label, "x.y");
    assert_int_equal(T.children[0].len, 10);
    assert_memory_equal(T.children[0].head, "aaaaaaaa\x90" "b", 10);
}

/* ---- truncation and garbage: no crash, no hang, no leak (ASan) ---- */

static uint32_t rng_state = 2463534242u;

static uint32_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

static unsigned long mangled_children;

static void mangle(enum scan_type type, const char *file, unsigned mutations)
{
    char path[256];
    snprintf(path, sizeof path, TESTFILES "%s", file);
    size_t len = 0;
    uint8_t *data = load(path, &len);
    assert_non_null(data);
    uint8_t *copy = malloc(len ? len : 1);
    /* every prefix (a step for the long ones) */
    size_t step = len / 700 + 1;
    for (size_t cut = 0; cut < len; cut += step) {
        reset();
        memcpy(copy, data, cut);
        run(type, copy, cut, file);
        mangled_children += T.nchildren;
    }
    /* random byte changes, a few at a time */
    for (unsigned m = 0; m < mutations; m++) {
        memcpy(copy, data, len);
        unsigned k = 1 + rng() % 8;
        for (unsigned j = 0; j < k; j++) {
            size_t at = rng() % len;
            switch (rng() % 3) {
            case 0: copy[at] ^= (uint8_t)(1u << (rng() % 8)); break;
            case 1: copy[at] = (uint8_t)rng(); break;
            default: copy[at] = (uint8_t)(rng() % 2 ? 0xff : 0); break;
            }
        }
        reset();
        T.recurse = true;
        run(type, copy, len, file);
        mangled_children += T.nchildren;
    }
    free(copy);
    free(data);
}

static void truncated_and_garbage(void **state)
{
    (void)state;
    if (!have_testfiles())
        skip();
    static const struct { enum scan_type type; const char *file; } cases[] = {
        {SCAN_TYPE_ZIP, "clam.zip"},        {SCAN_TYPE_ZIP, "clam.bz2.zip"},
        {SCAN_TYPE_ZIP, "clam.d64.zip"},    {SCAN_TYPE_7Z, "clam.7z"},
        {SCAN_TYPE_CAB, "clam.cab"},        {SCAN_TYPE_GZIP, "clam.tar.gz"},
        {SCAN_TYPE_BZIP2, "clam.exe.bz2"},  {SCAN_TYPE_CPIO, "clam.newc.cpio"},
        {SCAN_TYPE_CPIO, "clam.bin-le.cpio"}, {SCAN_TYPE_GZIP, "clam_cache_emax.tgz"},
        {SCAN_TYPE_TNEF, "clam.tnef"},      {SCAN_TYPE_BINHEX, "clam.exe.binhex"},
        {SCAN_TYPE_RTF, "clam.exe.rtf"},    {SCAN_TYPE_CHM, "clam.chm"},
        {SCAN_TYPE_SZDD, "clam.exe.szdd"},  {SCAN_TYPE_OLE2, "clam.ole.doc"},
        {SCAN_TYPE_OLE2, "clam.ppt"},
    };
    /* RAMPART_TEST_MUTATIONS=n: a longer run by hand (300 by default) */
    const char *env = getenv("RAMPART_TEST_MUTATIONS");
    unsigned mutations = env ? (unsigned)strtoul(env, NULL, 10) : 300;
    uint64_t t0 = now_ns();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        mangle(cases[i].type, cases[i].file, mutations);
    print_message("  %zu files cut and mangled in %.1f s, %lu members handed on\n",
                  sizeof cases / sizeof cases[0], (double)(now_ns() - t0) / 1e9, mangled_children);

    /* random bytes typed as every format */
    uint8_t junk[4096];
    for (int round = 0; round < 50; round++) {
        for (size_t i = 0; i < sizeof junk; i++)
            junk[i] = (uint8_t)rng();
        for (int t = SCAN_TYPE_ZIP; t <= SCAN_TYPE_OLE2; t++) {
            reset();
            run((enum scan_type)t, junk, sizeof junk, NULL);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(clamav_archives),
        cmocka_unit_test(compressed_tar_recurses),
        cmocka_unit_test(stream_names),
        cmocka_unit_test(unsupported_zip_methods),
        cmocka_unit_test(arj_is_left_alone),
        cmocka_unit_test(zip_bomb_stops_at_the_limit),
        cmocka_unit_test(after_a_cut_member),
        cmocka_unit_test(time_limit_inside_a_member),
        cmocka_unit_test(encrypted_zip),
        cmocka_unit_test(encrypted_7z),
        cmocka_unit_test(members_names_and_limits),
        cmocka_unit_test(data_in_a_device_entry),
        cmocka_unit_test(scan_member_label_rules),
        cmocka_unit_test(broken_archives),
        cmocka_unit_test(clamav_formats),
        cmocka_unit_test(ole2_streams),
        cmocka_unit_test(tnef_attachments),
        cmocka_unit_test(szdd_missing_char),
        cmocka_unit_test(rtf_objects),
        cmocka_unit_test(binhex_runs),
        cmocka_unit_test(truncated_and_garbage),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    free(T.clam);
    return rc;
}

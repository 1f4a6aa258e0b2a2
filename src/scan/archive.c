/*
 * archive: the libarchive reader of the scanning engine.
 *
 * Opens zip, rar, 7z, cab, tar, cpio, lha and iso9660 archives and bare
 * gzip, bzip2 and xz streams from memory and hands every member that has
 * bytes (all entries but directories and symbolic links) to scan_child(),
 * which detects its type and recurses. Everything here reads hostile bytes:
 *  - a member is read into a buffer that never grows past
 *    scan_child_budget() (MaxFileSize, MaxCompressionRatio); past it the
 *    limit is recorded and the prefix scanned;
 *  - every unpacked byte is accounted with scan_take() (MaxScanSize);
 *  - libarchive is fed through a read callback that asks scan_should_stop()
 *    every 16 KiB of packed input, so MaxScanTime interrupts it even in the
 *    middle of one member or of a skip;
 *  - after a member cut at its budget only a zip goes on to the next member:
 *    elsewhere (solid 7z and rar, cab folders) reaching the next member means
 *    decompressing the rest of the cut one.
 *
 * Findings made here, all at the container's own path, suspicious unless
 * said otherwise:
 *
 *   Heuristics.Encrypted.<Fmt>     an entry we could not read because it is
 *                                  encrypted (ClamAV's names: Zip, RAR, 7Zip)
 *   Heuristics.Broken.Archive.<Fmt> the container yielded nothing at all: not
 *                                  one member could be read and the reader
 *                                  failed (a damaged archive that gave up
 *                                  some members is scanned, not reported)
 *   Heuristics.Unsupported.Archive.<Fmt> a member stored with a method
 *                                  libarchive cannot decode: its bytes were
 *                                  not looked at, so it must not pass clean
 *   Heuristics.Limits.Exceeded.<Limit> through scan_limit()
 *   Rampart.Error.OutOfMemory      (error level) an allocation failed
 *
 * What libarchive 3.6.2 (Debian 12) reads, measured on clamav-testfiles and
 * on files made by Python's zipfile and libarchive's own writer:
 *   zip: stored, deflate (clam.zip), bzip2 (clam.bz2.zip), lzma; PKWARE
 *        traditional and WinZip AES encryption are recognised (and need a
 *        passphrase, which we never have). libarchive's source also lists
 *        xz, ppmd8 and zstd members (not measured here). NOT deflate64
 *        (method 9, clam.d64.zip) and NOT implode (method 6, clam.impl.zip):
 *        both give "Unsupported ZIP compression method"; zipx.c decodes
 *        them (scan_zip_legacy), so they are not reported here.
 *   7z (clam.7z), cab (clam.cab; libarchive also finds a cab inside a
 *        self-extracting exe), tar, cpio (odc, newc, binary big and little
 *        endian), iso9660, bzip2 (clam.exe.bz2), gzip (clam.tar.gz): read.
 *        lha and rar 4/5 are libarchive formats too, with no test file here.
 *   ARJ: libarchive has no ARJ reader at all (clam.arj is "Unrecognized
 *        archive format"). scan_archive() returns at once for SCAN_TYPE_ARJ
 *        without a finding: the file is still scanned as a leaf by
 *        scan_object(). An ARJ decoder of our own is future work.
 *
 * Compressed streams (gzip, bzip2, xz) are read with libarchive's "raw"
 * format only, never with the archive formats: the single member is the
 * whole decompressed stream, and scan_child() finds the tar (or anything
 * else) in it and recurses. Letting format bidding run on the decompressed
 * bytes would let a gzipped executable that carries a zip or cab in its
 * tail (a self-extractor) be read as that archive, and the executable
 * itself would never be scanned. The price: a .tar.gz is bounded as one
 * member (the whole tar) by MaxFileSize, as ClamAV bounds it.
 *
 * Only the decompression filters compiled into libarchive are enabled:
 * archive_read_support_filter_all() would also register lrzip, lzop and
 * grzip, which libarchive runs as external programs, and a scanner must
 * never fork a decompressor on hostile input.
 */
#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "scan/scan_priv.h"

/* Bytes asked of libarchive per read: large enough to keep the call count
 * low, small enough that the time limit is looked at every few ms. */
#define ARCH_CHUNK (256u * 1024u)

/* Packed bytes given to libarchive per read callback. Every callback
 * looks at the time limit, so this bounds the work libarchive can do
 * between two looks: skipping a member it must decompress to pass (a solid
 * 7z, a cab folder) included. LZMA of zeros runs to some 7000:1, so 16 KiB
 * stands for ~100 MiB of output at most, a fraction of a second. */
#define ARCH_FEED (16u * 1024u)

/* The first allocation for a member; it doubles up to the budget, so a
 * member's declared size (hostile) never decides how much we allocate. */
#define ARCH_FIRST_ALLOC (64u * 1024u)

/* A member name longer than this is cut for the file-name heuristics. */
#define ARCH_NAME_MAX 1024

/* ---- member labels ---- */

/*
 * A member's label goes into finding paths, logs and reports that an
 * operator reads. The name is the attacker's, so the label keeps only what
 * prints harmlessly: valid UTF-8 with no C0/C1 controls, DEL or bidi
 * overrides (which would make "exe.txt" display as "txt.exe" in a log).
 * Each such byte or character becomes '?'. The name as given (up to
 * ARCH_NAME_MAX) is still passed to scan_child() for the name heuristics.
 */
static size_t utf8_seq(const unsigned char *s, size_t left, uint32_t *cp)
{
    unsigned char c = s[0];
    size_t n;
    uint32_t v;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        v = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        v = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        v = c & 0x07;
    } else {
        return 0;
    }
    if (left < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        v = v << 6 | (s[i] & 0x3f);
    }
    /* overlong forms, surrogates and values past U+10FFFF are invalid */
    if ((n == 3 && v < 0x800) || (n == 4 && (v < 0x10000 || v > 0x10ffff)) ||
        (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return n;
}

static bool label_unsafe(uint32_t cp)
{
    return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) || cp == 0x200e ||
           cp == 0x200f || (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

size_t scan_member_label(char *out, size_t cap, const char *name, size_t len, const char *fallback)
{
    if (cap == 0)
        return 0;
    const unsigned char *s = (const unsigned char *)(name ? name : "");
    if (!name)
        len = 0;
    size_t i = 0, o = 0;
    /* a leading "/" or "./" says nothing about the member */
    while (i < len && (s[i] == '/' || (s[i] == '.' && i + 1 < len && s[i + 1] == '/')))
        i += s[i] == '/' ? 1 : 2;
    while (i < len) {
        uint32_t cp;
        size_t n = utf8_seq(s + i, len - i, &cp);
        const unsigned char *src = s + i;
        size_t take = n;
        if (n == 0 || label_unsafe(cp)) {
            src = (const unsigned char *)"?";
            take = 1;
            n = n ? n : 1;
        }
        if (o + take >= cap)
            break; /* cut on a character boundary */
        memcpy(out + o, src, take);
        o += take;
        i += n;
    }
    if (o == 0 && fallback) {
        size_t f = strlen(fallback);
        o = f < cap - 1 ? f : cap - 1;
        memcpy(out, fallback, o);
    }
    out[o] = '\0';
    return o;
}

/* ---- one archive ---- */

struct arch_run {
    struct scan_ctx *ctx;
    const struct scan_object *obj;
    struct archive *a;
    const char *fmt;       /* "Zip", "RAR"... for the finding names */
    unsigned seen;         /* entries looked at (for fallback labels) */
    unsigned readable;     /* entries that gave bytes, were empty, or were encrypted */
    bool damaged;          /* libarchive reported an error somewhere */
    bool cut;              /* a member passed its budget */
    bool encrypted;        /* an entry we could not read for its encryption */
    bool unsupported;      /* an entry stored with a method libarchive lacks */
    bool legacy;           /* a zip entry in Deflate64 or Implode: zipx.c's */
    bool fatal;            /* libarchive can read no further */
    bool halt;             /* the scan must stop: leave the member loop */
    size_t pos;            /* the memory source's read position */
};

/*
 * The container's bytes reach libarchive through these callbacks rather
 * than archive_read_open_memory(): the same memory source, but each read
 * first asks scan_should_stop(), and a stopped scan makes the read fail,
 * which ends whatever libarchive was doing.
 */
static la_ssize_t src_read(struct archive *a, void *arg, const void **buf)
{
    (void)a;
    struct arch_run *run = arg;
    if (scan_should_stop(run->ctx, run->obj->where)) {
        run->halt = true;
        return -1;
    }
    size_t n = run->obj->len - run->pos;
    if (n > ARCH_FEED)
        n = ARCH_FEED;
    *buf = run->obj->data + run->pos;
    run->pos += n;
    return (la_ssize_t)n;
}

static la_int64_t src_skip(struct archive *a, void *arg, la_int64_t request)
{
    (void)a;
    struct arch_run *run = arg;
    size_t left = run->obj->len - run->pos;
    if (request < 0)
        return 0;
    size_t n = (uint64_t)request < left ? (size_t)request : left;
    run->pos += n;
    return (la_int64_t)n;
}

static la_int64_t src_seek(struct archive *a, void *arg, la_int64_t offset, int whence)
{
    (void)a;
    struct arch_run *run = arg;
    la_int64_t base = whence == SEEK_SET ? 0
                    : whence == SEEK_CUR ? (la_int64_t)run->pos
                    : whence == SEEK_END ? (la_int64_t)run->obj->len
                                         : -1;
    if (base < 0 || (offset < 0 && -offset > base) ||
        (offset > 0 && offset > (la_int64_t)run->obj->len - base))
        return ARCHIVE_FATAL;
    run->pos = (size_t)(base + offset);
    return (la_int64_t)run->pos;
}

/// Finding-name spelling of each libarchive container type (ClamAV's where it has one).
static const char *arch_format_name(enum scan_type t)
{
    switch (t) {
    case SCAN_TYPE_ZIP: return "Zip";
    case SCAN_TYPE_RAR: return "RAR";
    case SCAN_TYPE_7Z: return "7Zip";
    case SCAN_TYPE_CAB: return "CAB";
    case SCAN_TYPE_TAR: return "Tar";
    case SCAN_TYPE_CPIO: return "CPIO";
    case SCAN_TYPE_LHA: return "LHA";
    case SCAN_TYPE_ISO9660: return "ISO9660";
    case SCAN_TYPE_GZIP: return "GZip";
    case SCAN_TYPE_BZIP2: return "BZip2";
    case SCAN_TYPE_XZ: return "XZ";
    default: return "Archive";
    }
}

static bool is_stream_type(enum scan_type t)
{
    return t == SCAN_TYPE_GZIP || t == SCAN_TYPE_BZIP2 || t == SCAN_TYPE_XZ;
}

/*
 * libarchive reports encryption it cannot undo and methods it lacks only as
 * an error string on some paths (a RAR with encrypted headers fails in
 * archive_read_next_header before any entry exists). These are the strings
 * of 3.6.2; the entry flags are checked first wherever they exist.
 */
static bool error_says(struct archive *a, const char *const *words)
{
    const char *msg = archive_error_string(a);
    if (!msg)
        return false;
    for (; *words; words++)
        if (strstr(msg, *words))
            return true;
    return false;
}

/* opened: archive_read_has_encrypted_entries() dereferences the format
 * libarchive chose, and crashes when no format was chosen (a failed open). */
static bool error_is_encryption(struct archive *a, bool opened)
{
    static const char *const words[] = {"ncrypt", "assphrase", "password", NULL};
    return (opened && archive_read_has_encrypted_entries(a) > 0) || error_says(a, words);
}

/* libarchive 3.6.2 says "Unsupported ZIP compression method (9: ...)" for
 * the two methods scan_zip_legacy() decodes (zipx.c): not a gap then. */
static bool error_is_legacy_zip(struct archive *a)
{
    static const char *const words[] = {"method (6:", "method (9:", NULL};
    return error_says(a, words);
}

static bool error_is_unsupported(struct archive *a)
{
    static const char *const words[] = {"Unsupported", "unsupported", "not supported", NULL};
    return error_says(a, words);
}

static void oom(struct arch_run *run)
{
    scan_found(run->ctx, SCAN_ERROR, "Rampart.Error.OutOfMemory", run->obj->where);
    run->halt = true;
}

/*
 * The member a bare compressed stream holds: the container's name with its
 * suffix dropped ("x.exe.bz2" -> "x.exe", "y.tgz" -> "y.tar"), else "data".
 */
static void stream_member_name(const struct scan_object *obj, char *out, size_t cap)
{
    static const struct { const char *suffix, *becomes; } sfx[] = {
        {".tgz", ".tar"}, {".taz", ".tar"}, {".tbz", ".tar"}, {".tbz2", ".tar"},
        {".txz", ".tar"}, {".gz", ""}, {".gzip", ""}, {".z", ""}, {".bz2", ""},
        {".bz", ""}, {".xz", ""}, {".lzma", ""},
    };
    const char *name = obj->name;
    size_t len = name ? strnlen(name, ARCH_NAME_MAX) : 0;
    if (name) {
        size_t base = 0; /* after the last '/' or '\\' */
        for (size_t i = 0; i < len; i++)
            if (name[i] == '/' || name[i] == '\\')
                base = i + 1;
        name += base;
        len -= base;
    }
    for (size_t i = 0; name && i < sizeof sfx / sizeof sfx[0]; i++) {
        size_t sl = strlen(sfx[i].suffix);
        if (len > sl && strncasecmp(name + len - sl, sfx[i].suffix, sl) == 0) {
            size_t keep = len - sl, add = strlen(sfx[i].becomes);
            if (keep + add >= cap)
                keep = cap - 1 - add;
            memcpy(out, name, keep);
            memcpy(out + keep, sfx[i].becomes, add);
            out[keep + add] = '\0';
            return;
        }
    }
    snprintf(out, cap, "data");
}

/*
 * Reads the current entry's data into a buffer that grows by doubling up to
 * the child budget. Returns the bytes read (*out owns them, may be NULL when
 * none). A member larger than the budget is cut there and the limit
 * recorded. An error from libarchive (*err < 0) ends the member; what came
 * before it is kept.
 */
static size_t read_member(struct arch_run *run, uint8_t **out, int *err)
{
    const char *limit = NULL;
    uint64_t budget = scan_child_budget(run->ctx, run->obj, &limit);
    if (budget > SIZE_MAX / 2)
        budget = SIZE_MAX / 2;
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    *out = NULL;
    *err = ARCHIVE_OK;
    for (;;) {
        if (len == budget) {
            /* Full: one more byte tells a member of exactly the budget
             * from one that would pass it (a bomb). */
            uint8_t probe;
            la_ssize_t r = archive_read_data(run->a, &probe, 1);
            if (r > 0) {
                run->cut = true;
                scan_limit(run->ctx, limit ? limit : "MaxFileSize", run->obj->where);
                if (!scan_take(run->ctx, run->obj, 1))
                    run->halt = true;
            } else if (r < 0) {
                *err = (int)r;
            }
            break;
        }
        if (len == cap) {
            size_t ncap = cap ? cap * 2 : ARCH_FIRST_ALLOC;
            if (ncap > budget)
                ncap = (size_t)budget;
            uint8_t *nb = realloc(buf, ncap);
            if (!nb) {
                oom(run);
                break;
            }
            buf = nb;
            cap = ncap;
        }
        size_t want = cap - len < ARCH_CHUNK ? cap - len : ARCH_CHUNK;
        la_ssize_t r = archive_read_data(run->a, buf + len, want);
        if (r == 0)
            break;
        if (r < 0) {
            *err = (int)r;
            break;
        }
        if (!scan_take(run->ctx, run->obj, (uint64_t)r)) {
            run->halt = true;
            break;
        }
        len += (size_t)r;
        /* a long member must not outlive MaxScanTime between members */
        if (scan_should_stop(run->ctx, run->obj->where)) {
            run->halt = true;
            break;
        }
    }
    *out = buf;
    return len;
}

static void one_entry(struct arch_run *run, struct archive_entry *e)
{
    run->seen++;
    /* Directories and symbolic links have no bytes. Everything else is
     * read: a cpio or tar "device" or "fifo" can carry data like a file,
     * and libarchive hands it out, so it must not be a hiding place. */
    mode_t type = archive_entry_filetype(e);
    if (type == AE_IFDIR || type == AE_IFLNK)
        return;

    if (archive_entry_is_data_encrypted(e)) {
        /* Without the passphrase the bytes are noise: skip them (reading
         * would only fail) and say so once for the archive. */
        run->encrypted = true;
        run->readable++;
        return;
    }

    const char *path = archive_entry_pathname(e);
    if (!path)
        path = archive_entry_pathname_utf8(e);
    char fallback[32], label[SCAN_LABEL_MAX], name[ARCH_NAME_MAX + 1];
    if (is_stream_type(run->obj->type)) {
        stream_member_name(run->obj, name, sizeof name);
    } else {
        size_t n = path ? strnlen(path, ARCH_NAME_MAX) : 0;
        memcpy(name, path ? path : "", n);
        name[n] = '\0';
    }
    snprintf(fallback, sizeof fallback, "member%u", run->seen);
    scan_member_label(label, sizeof label, name, strlen(name), fallback);

    uint8_t *data;
    int err;
    size_t len = read_member(run, &data, &err);
    if (err < 0) {
        run->damaged = true;
        if (archive_entry_is_encrypted(e) || error_is_encryption(run->a, true))
            run->encrypted = true;
        else if (run->obj->type == SCAN_TYPE_ZIP && error_is_legacy_zip(run->a))
            run->legacy = true;
        else if (error_is_unsupported(run->a))
            run->unsupported = true;
        if (err == ARCHIVE_FATAL)
            run->fatal = true;
    }
    /* An empty file read cleanly is readable too; a member that failed
     * before giving a byte is not. A prefix is scanned: what was readable. */
    if (len > 0 || (err >= 0 && type == AE_IFREG)) {
        static const uint8_t empty[1];
        run->readable++;
        scan_child(run->ctx, run->obj, label, data ? data : empty, len, name[0] ? name : NULL,
                   NULL);
    }
    free(data);
}

static void setup_reader(struct archive *a, bool stream)
{
    /* Only the filters libarchive decodes itself (see the top of the file):
     * built without its library, a filter would run an external program,
     * so each is enabled only when libarchive reports the library. */
    if (archive_zlib_version())
        archive_read_support_filter_gzip(a);
    if (archive_bzlib_version())
        archive_read_support_filter_bzip2(a);
    if (archive_liblzma_version()) {
        archive_read_support_filter_xz(a);
        archive_read_support_filter_lzma(a);
        archive_read_support_filter_lzip(a);
    }
    if (archive_libzstd_version())
        archive_read_support_filter_zstd(a);
    if (archive_liblz4_version())
        archive_read_support_filter_lz4(a);
    archive_read_support_filter_compress(a); /* always built in */
    if (stream)
        archive_read_support_format_raw(a);
    else
        archive_read_support_format_all(a);
}

/* A FAILED or RETRY header may not have moved the stream on: after this
 * many in a row the archive is treated as ended. */
#define ARCH_MAX_RETRIES 16

/*
 * One pass over the archive with the given formats. Returns after the last
 * entry, an unrecoverable error or a stop.
 */
static void read_pass(struct arch_run *run, bool streamable_zip_only)
{
    run->a = archive_read_new();
    if (!run->a) {
        oom(run);
        return;
    }
    if (streamable_zip_only)
        archive_read_support_format_zip_streamable(run->a);
    else
        setup_reader(run->a, is_stream_type(run->obj->type));

    run->pos = 0;
    run->fatal = false;
    run->cut = false;
    archive_read_set_callback_data(run->a, run);
    archive_read_set_read_callback(run->a, src_read);
    archive_read_set_skip_callback(run->a, src_skip);
    archive_read_set_seek_callback(run->a, src_seek);
    if (archive_read_open1(run->a) != ARCHIVE_OK) {
        run->damaged = true;
        if (error_is_encryption(run->a, false))
            run->encrypted = true;
        goto done;
    }
    /* The raw format takes any bytes at all: a "gzip" that no filter
     * recognised is not a compressed stream, and its bytes are not a member. */
    if (!streamable_zip_only && is_stream_type(run->obj->type) &&
        archive_filter_code(run->a, 0) == ARCHIVE_FILTER_NONE) {
        run->damaged = true;
        goto done;
    }
    unsigned retries = 0;
    while (!run->halt && !run->fatal && !scan_should_stop(run->ctx, run->obj->where)) {
        struct archive_entry *e;
        int r = archive_read_next_header(run->a, &e);
        if (r == ARCHIVE_EOF)
            break;
        if (r == ARCHIVE_OK || r == ARCHIVE_WARN) {
            retries = 0;
            one_entry(run, e);
            /*
             * The rest of a member cut at its budget must be skipped to reach
             * the next one. A zip skips by its recorded sizes; a solid 7z or
             * rar, or a cab folder, can only be skipped by decompressing it,
             * which is exactly the work the budget refused. The limit is
             * already a finding, so the scan is not clean: stop here.
             */
            if (run->cut && archive_format(run->a) != ARCHIVE_FORMAT_ZIP)
                break;
            run->cut = false;
            continue;
        }
        /* RETRY and FAILED: this header is unusable but the next may be
         * fine; FATAL: nothing more will come. */
        run->damaged = true;
        if (error_is_encryption(run->a, true))
            run->encrypted = true;
        else if (run->obj->type == SCAN_TYPE_ZIP && error_is_legacy_zip(run->a))
            run->legacy = true;
        else if (error_is_unsupported(run->a))
            run->unsupported = true;
        if (r == ARCHIVE_FATAL || ++retries >= ARCH_MAX_RETRIES)
            break;
    }
done:
    archive_read_free(run->a);
    run->a = NULL;
}

void scan_archive(struct scan_ctx *ctx, const struct scan_object *obj)
{
    if (obj->type == SCAN_TYPE_ARJ)
        return; /* libarchive has no ARJ reader: the file stays a leaf */

    struct arch_run run = {.ctx = ctx, .obj = obj, .fmt = arch_format_name(obj->type)};
    read_pass(&run, false);
    /*
     * A zip whose central directory is damaged or cut off (a truncated
     * attachment) reads nothing through the seekable reader that libarchive
     * prefers; its local headers may still be intact. Walk those instead,
     * as unzip -F or ClamAV would.
     */
    if (obj->type == SCAN_TYPE_ZIP && run.damaged && run.readable == 0 && !run.halt &&
        !run.encrypted && !scan_should_stop(ctx, obj->where))
        read_pass(&run, true);

    if (run.encrypted && scan_heuristic_on(ctx, SCAN_HEUR_ENCRYPTED)) {
        char finding[64];
        snprintf(finding, sizeof finding, "Heuristics.Encrypted.%s", run.fmt);
        scan_found(ctx, SCAN_SUSPICIOUS, finding, obj->where);
    }
    if (run.unsupported) {
        char finding[64];
        snprintf(finding, sizeof finding, "Heuristics.Unsupported.Archive.%s", run.fmt);
        scan_found(ctx, SCAN_SUSPICIOUS, finding, obj->where);
    }
    if (run.damaged && run.readable == 0 && !run.encrypted && !run.unsupported && !run.legacy &&
        !run.halt) {
        char finding[64];
        snprintf(finding, sizeof finding, "Heuristics.Broken.Archive.%s", run.fmt);
        scan_found(ctx, SCAN_SUSPICIOUS, finding, obj->where);
    }
}

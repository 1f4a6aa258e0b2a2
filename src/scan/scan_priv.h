/*
 * scan_priv: what the engine's modules share. Not for users of scan.h.
 *
 * A scan is one struct scan_ctx. Everything looked at in it - the input, a
 * MIME part, an archive member, a decoded uuencoded block - is a struct
 * scan_object, handed to scan_object() which detects its type, checks the
 * limits, runs signatures and heuristics on it, and dispatches containers to
 * their reader (mime.c, archive.c, formats.c). A reader hands each thing it
 * finds inside back through scan_child(), which recurses. The reader owns the
 * bytes it passes and may free them when scan_child() returns.
 */
#ifndef RAMPART_SCAN_SCAN_PRIV_H
#define RAMPART_SCAN_SCAN_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scan/scan.h"

/* ---- file types (filetype.c) ---- */

enum scan_type {
    SCAN_TYPE_UNKNOWN = 0, /* binary of no known kind */
    SCAN_TYPE_TEXT,        /* printable text, none of the below */
    SCAN_TYPE_MAIL,        /* RFC 5322 message or mbox */
    SCAN_TYPE_HTML,
    SCAN_TYPE_PE,          /* MZ executable (PE or DOS) */
    SCAN_TYPE_ELF,
    SCAN_TYPE_MACHO,
    SCAN_TYPE_SCRIPT,      /* #! script, or VBScript/JScript/batch recognised by content */
    SCAN_TYPE_ZIP,
    SCAN_TYPE_RAR,
    SCAN_TYPE_7Z,
    SCAN_TYPE_GZIP,
    SCAN_TYPE_BZIP2,
    SCAN_TYPE_XZ,
    SCAN_TYPE_CAB,
    SCAN_TYPE_TAR,
    SCAN_TYPE_CPIO,
    SCAN_TYPE_LHA,
    SCAN_TYPE_ARJ,
    SCAN_TYPE_ISO9660,
    SCAN_TYPE_TNEF,
    SCAN_TYPE_CHM,
    SCAN_TYPE_SZDD,
    SCAN_TYPE_RTF,
    SCAN_TYPE_BINHEX,
    SCAN_TYPE_OLE2,
    SCAN_TYPE_PDF,
    SCAN_TYPE_GRAPHICS,    /* GIF, JPEG, PNG, BMP, ICO */
    SCAN_TYPE_SIS,         /* Symbian installation file (pre-Symbian 9) */
    SCAN_TYPE_COUNT
};

/// Detects a type from the first bytes (and, for tar and text, a look at
/// more). Never reads past len.
enum scan_type scan_type_detect(const uint8_t *data, size_t len);

/// Short lowercase name: "pe", "zip", "mail"... (static storage).
const char *scan_type_name(enum scan_type t);

/// True for the types scan_object() opens as containers.
bool scan_type_is_container(enum scan_type t);

/* ---- one scan ---- */

struct scan_object {
    const uint8_t *data;
    size_t len;
    const char *name;      /* file name as given (attachment, member), or NULL */
    const char *declared;  /* declared MIME type, lowercase ("application/zip"), or NULL */
    const char *where;     /* this object's path, "" for the input */
    unsigned depth;        /* nesting: 0 for the input, +1 per message or archive */
    enum scan_type type;   /* filled by scan_object() */
    size_t packed_len;     /* for an unpacked member: size of its container (ratio limit) */
    bool in_executable;    /* inside an executable's own payload (a self-extractor's
                              archive): what was delivered is the executable, not this */
};

struct sigdb;
struct sigdb_scratch;

struct scan_ctx {
    const struct scan_engine *engine;
    struct scan_worker *worker;
    struct scan_report *report;
    uint64_t deadline_ns;
    unsigned limits_hit;   /* bit per limit already reported */
    bool stopped;          /* MaxScanSize, MaxFiles or MaxScanTime reached: unwind */
};

/// Looks at one object: type, signatures, heuristics, fingerprint, and opens
/// it if it is a container. obj->type is set here.
void scan_object(struct scan_ctx *ctx, struct scan_object *obj);

/// Scans something found inside parent: label is its path component (a
/// member name, or "2" for a MIME part), name its file name or NULL,
/// declared its declared MIME type or NULL. Counts MaxFiles, MaxRecursion
/// and MaxFileSize (a larger child is scanned up to the limit and reported).
void scan_child(struct scan_ctx *ctx, const struct scan_object *parent, const char *label,
                const uint8_t *data, size_t len, const char *name, const char *declared);

/// Records a finding at where ("" for the input). Duplicates are kept once.
void scan_found(struct scan_ctx *ctx, enum scan_verdict level, const char *name, const char *where);

/// Records "Heuristics.Limits.Exceeded.<limit>" (suspicious) once per scan.
void scan_limit(struct scan_ctx *ctx, const char *limit, const char *where);

/// Accounts n more decoded bytes against MaxScanSize. False (the limit is
/// recorded and the scan stops) when that would pass it.
bool scan_take(struct scan_ctx *ctx, const struct scan_object *at, uint64_t n);

/// True once the scan must stop (a global limit, or MaxScanTime now passed).
bool scan_should_stop(struct scan_ctx *ctx, const char *where);

/// Largest output a reader may produce for one child of parent: the
/// MaxFileSize limit, and for packed data the MaxCompressionRatio (at least
/// 1 MiB is always allowed, as ClamAV does). A reader that would pass it
/// stops, calls scan_limit() with the limit it hit, and scans what it has.
uint64_t scan_child_budget(const struct scan_ctx *ctx, const struct scan_object *parent,
                           const char **limit_name);

/// True when heuristic h is on.
bool scan_heuristic_on(const struct scan_ctx *ctx, enum scan_heuristic h);

/// A decoder's output: grows by doubling, never past budget. A write that
/// would pass the budget stores what fits and sets over; later writes are
/// refused, so a decoder can keep consuming input without checking.
struct scan_out {
    uint8_t *data;
    size_t len, cap;
    size_t budget;
    const char *limit;     /* the limit the budget stands for */
    bool over;             /* the output would have passed the budget */
    bool nomem;
};

/// An empty output bounded by scan_child_budget(ctx, obj).
void scan_out_init(struct scan_out *o, struct scan_ctx *ctx, const struct scan_object *obj);

/// Appends n bytes (what fits). False once the output is full or failed.
bool scan_out_put(struct scan_out *o, const void *p, size_t n);

/// Appends one byte; the common case without a call.
static inline bool scan_out_byte(struct scan_out *o, uint8_t c)
{
    if (o->len < o->cap && !o->nomem) {
        o->data[o->len++] = c; /* cap <= budget: still within it */
        return true;
    }
    return scan_out_put(o, &c, 1);
}

void scan_out_free(struct scan_out *o);

/// Reports what cutting (the limit) or failing (out of memory) an output
/// means, at obj's path.
void scan_out_report(struct scan_ctx *ctx, const struct scan_object *obj, const struct scan_out *o);

/* ---- readers: each returns after scanning what it found via scan_child() ---- */

/// MIME messages (mime.c): every part, nested messages, inline uuencode/yEnc.
void scan_mime(struct scan_ctx *ctx, const struct scan_object *obj);

/// Sets up GMime once per process (thread-safe; scan_engine_new calls it).
void scan_mime_init(void);

/// Encodings inside text (inline.c): uuencoded and yEnc blocks in a text
/// part or file, base64 data: URIs in HTML. Each decoded block is a child.
void scan_inline(struct scan_ctx *ctx, const struct scan_object *obj);

/// Inflates len bytes of deflated data (window_bits as zlib's inflateInit2:
/// 15 for a zlib stream, -15 for raw deflate) into at most max bytes (inflate.c).
/// hint, a declared size or 0, only sizes the first allocation. Returns the
/// bytes (caller frees) and *outlen; *full when max stopped it. A stream that
/// ends early or goes bad keeps what decoded; NULL when nothing did.
uint8_t *scan_inflate(const uint8_t *in, size_t len, int window_bits, uint64_t max, size_t hint,
                      size_t *outlen, bool *full);

/// PDF stream objects, inflated when /FlateDecode (embedded.c).
void scan_pdf(struct scan_ctx *ctx, const struct scan_object *obj);

/// Archives inside an executable (self-extractors: cab, zip, rar, 7z found
/// by their magic after the PE headers), each a child "sfx@OFFSET" (embedded.c).
void scan_sfx(struct scan_ctx *ctx, const struct scan_object *obj);

/// Decodes base64 the way a lenient client does: bytes outside the alphabet
/// are skipped, '=' ends the data, a final partial group still yields its
/// whole bytes. out must hold len * 3 / 4 + 3 bytes. Returns the count.
size_t scan_base64_decode(const uint8_t *in, size_t len, uint8_t *out);

/// libarchive formats (archive.c): zip, 7z, rar, cab, tar, cpio, lha, iso9660,
/// gzip, bzip2, xz. Encrypted entries: Heuristics.Encrypted.<Format>.
void scan_archive(struct scan_ctx *ctx, const struct scan_object *obj);

/// Our own readers (formats.c): TNEF, BinHex 4.0, RTF embedded objects,
/// OLE2 compound files (SCAN_TYPE_OLE2), CHM and SZDD (libmspack).
void scan_formats(struct scan_ctx *ctx, const struct scan_object *obj);

/// Size of a label buffer the readers use for a member (bytes, with the NUL).
#define SCAN_LABEL_MAX 256

/// Makes a display-safe label from an untrusted member name of len bytes
/// (archive.c): valid UTF-8 is kept, C0/C1 controls, DEL, bidi overrides and
/// invalid bytes become '?', a leading "/" or "./" is dropped, and the text
/// is cut on a character boundary to fit cap. An empty result becomes
/// fallback (may be NULL). Writes a NUL; returns the label's length.
size_t scan_member_label(char *out, size_t cap, const char *name, size_t len, const char *fallback);
/// Zip members libarchive cannot read (zipx.c): method 9 (Deflate64) and
/// method 6 (PKWARE Implode), found through the central directory, or the
/// local headers when there is none. Each decodes up to scan_child_budget()
/// (the limit is reported, what decoded is scanned) and is a child named as
/// in the zip; an encrypted one is Heuristics.Encrypted.Zip. Stored and
/// deflated members are skipped: they are scan_archive()'s. Call it on every
/// zip, beside scan_archive(); it costs a walk of the central directory.
void scan_zip_legacy(struct scan_ctx *ctx, const struct scan_object *obj);

/// ARJ archives (arj.c), which libarchive does not read: every file,
/// methods 0 to 4, each decoded up to scan_child_budget() (the limit is
/// reported, what decoded is scanned) and a child named as in the archive.
/// Headers must pass their CRC; the walk stops at the first that does not.
/// A garbled (encrypted) file is Heuristics.Encrypted.ARJ.
void scan_arj(struct scan_ctx *ctx, const struct scan_object *obj);

/// True when data starts with a Symbian SIS header (sis.c): UID3
/// 0x10000419 at offset 8 and UID2 0x1000006D (EPOC releases 3 to 5) or
/// 0x10003A12 (release 6) at offset 4. Reads at most 16 bytes.
bool scan_sis_magic(const uint8_t *data, size_t len);

/// Symbian SIS installation files before Symbian 9 (sis.c): every file
/// of the package, each inflated (unless stored) up to scan_child_budget()
/// (the limit is reported, what decoded is scanned) and a child named by
/// its destination (or source) name. The walk of the file records stops
/// at the first it cannot read.
void scan_sis(struct scan_ctx *ctx, const struct scan_object *obj);

/// The data of an NSIS installer (nsis.c), a PE whose first header
/// (0xDEADBEEF "NullsoftInst") sits at a 512-byte boundary after the stub:
/// solid or per-block, deflate or LZMA (bzip2 is not read). Each file's
/// data block is a child "nsis-N", decoded up to scan_child_budget() (the
/// limit is reported, what decoded is scanned). Costs a walk of the file
/// in 512-byte steps when there is no such header.
void scan_nsis(struct scan_ctx *ctx, const struct scan_object *obj);

/* ---- heuristics (heur.c) ---- */

/// Heuristics on one object: executable content or name, double extension,
/// RTLO and padded names, type mismatch, HTML launching content, GTUBE.
void heur_object(struct scan_ctx *ctx, const struct scan_object *obj);

/// The forged-admin heuristic on a message's headers (decoded, UTF-8; any
/// may be NULL): From forged as admin/administrator/postmaster/billing... of
/// the recipient's own domain.
void heur_headers(struct scan_ctx *ctx, const struct scan_object *msg, const char *from,
                  const char *to, const char *subject);

/* ---- signatures (sigs.c) ---- */

/// ClamAV .ndb target types.
enum sig_target {
    SIG_TARGET_ANY = 0, SIG_TARGET_PE = 1, SIG_TARGET_OLE2 = 2, SIG_TARGET_HTML = 3,
    SIG_TARGET_MAIL = 4, SIG_TARGET_GRAPHICS = 5, SIG_TARGET_ELF = 6, SIG_TARGET_ASCII = 7,
    SIG_TARGET_MACHO = 9, SIG_TARGET_PDF = 10, SIG_TARGET_FLASH = 11, SIG_TARGET_JAVA = 12,
};

struct sigdb *sigdb_new(void);
void sigdb_free(struct sigdb *db);

/// Loads one .hdb, .hsb or .ndb file (by extension). Bad lines: warn
/// ("file:line: reason") and skipped. Returns signatures loaded or -1 (err).
long sigdb_load_file(struct sigdb *db, const char *path, scan_warn_fn warn, void *arg,
                     char *err, size_t errlen);

/// Compiles patterns; the database is read-only afterwards. 0 or -1 (err).
int sigdb_compile(struct sigdb *db, char *err, size_t errlen);

void sigdb_counts(const struct sigdb *db, size_t *hashes, size_t *patterns);

/// Per-thread matching state. NULL on failure.
struct sigdb_scratch *sigdb_scratch_new(const struct sigdb *db);
void sigdb_scratch_free(struct sigdb_scratch *s);

/// Called for each signature that matches; name is what clamscan prints
/// ("Eicar-Signature", "X.UNOFFICIAL"). Return nonzero to stop matching.
typedef int (*sigdb_hit_fn)(void *arg, const char *name);

/// Matches hashes and body patterns of target (and of SIG_TARGET_ANY) on
/// data. Returns the number of hits, or -1 on an internal error.
int sigdb_match(const struct sigdb *db, struct sigdb_scratch *s, const uint8_t *data, size_t len,
                enum sig_target target, sigdb_hit_fn hit, void *arg);

#endif

/*
 * scan: the scanning engine. One call takes a message (or any file) and
 * returns a verdict, what fired, where it fired, and a fingerprint of every
 * attachment and archive member for outbreak counting.
 *
 *   bytes -> type detection -> (message? MIME walk) -> (archive? unpack and
 *   recurse, with limits) -> each leaf: hashes + one Hyperscan pass +
 *   heuristics -> findings -> verdict (the worst finding wins)
 *
 * Trust boundary: everything scanned is hostile. Every decoder and unpacker
 * works on bounded input and output (struct scan_limits); a limit reached is a
 * finding with a named reason ("Heuristics.Limits.Exceeded.MaxRecursion"),
 * never an OOM or a hang. Signature files are the operator's, but are parsed
 * as untrusted too (limits, file:line errors, a fuzz harness).
 *
 * Threads: a struct scan_engine is immutable once scan_engine_ready() has
 * returned and may be shared by any number of threads; each thread scans
 * with its own struct scan_worker (Hyperscan scratch, buffers).
 *
 * Formats: ClamAV's .hdb, .hsb and .ndb signature files, loaded as they are,
 * with the names clamscan prints (".UNOFFICIAL" appended, as ClamAV does for
 * signatures outside its signed databases). MIME per RFC 2045-2049, 2047,
 * 2231 (GMime 3); archives through libarchive; TNEF, BinHex 4.0, RTF
 * embedded objects, CHM and SZDD by our own or libmspack's readers.
 */
#ifndef RAMPART_SCAN_SCAN_H
#define RAMPART_SCAN_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/// Verdicts, ordered: the worst finding of a scan is its verdict.
enum scan_verdict { SCAN_CLEAN = 0, SCAN_SUSPICIOUS = 1, SCAN_INFECTED = 2, SCAN_ERROR = 3 };

/// "clean", "suspicious", "infected" or "error".
const char *scan_verdict_name(enum scan_verdict v);

/// Limits, named as ClamAV names them. A limit reached stops that part of the
/// scan and adds the finding "Heuristics.Limits.Exceeded.<Name>" (suspicious):
/// what was not looked at is never reported clean.
struct scan_limits {
    uint64_t max_scan_size;    /* MaxScanSize: bytes decoded/unpacked in one scan (400 MiB) */
    uint64_t max_file_size;    /* MaxFileSize: the input, or one part or member (100 MiB) */
    unsigned max_recursion;    /* MaxRecursion: nesting of messages and archives (17) */
    unsigned max_files;        /* MaxFiles: parts and members in one scan (10000) */
    unsigned max_ratio;        /* MaxCompressionRatio: unpacked bytes per packed byte (250) */
    uint64_t max_scan_time_ms; /* MaxScanTime: wall time of one scan (120000 ms) */
};

/// Heuristics, each a named detection that can be turned off (bit flags).
enum scan_heuristic {
    SCAN_HEUR_EXECUTABLE = 1u << 0,  /* Heuristics.Executable.*: PE/ELF/script/executable name */
    SCAN_HEUR_DOUBLE_EXT = 1u << 1,  /* Heuristics.Name.DoubleExtension / RTLO / PaddedName */
    SCAN_HEUR_TYPE_MISMATCH = 1u << 2, /* Heuristics.Type.Mismatch: content vs name or declared type */
    SCAN_HEUR_HTML_LAUNCH = 1u << 3, /* Heuristics.HTML.*: iframe/object to cid:, ms-its:, script */
    SCAN_HEUR_FORGED_ADMIN = 1u << 4, /* Heuristics.Phishing.ForgedAdmin: From the recipient's admin */
    SCAN_HEUR_GTUBE = 1u << 5,       /* Heuristics.Spam.GTUBE */
    SCAN_HEUR_ENCRYPTED = 1u << 6,   /* Heuristics.Encrypted.<Format>: an archive we cannot open */
    SCAN_HEUR_ALL = 0x7f,
};

struct scan_options {
    struct scan_limits limits;
    unsigned heuristics;       /* enum scan_heuristic bits; SCAN_HEUR_ALL by default */
};

/// Defaults: the limits above, every heuristic on.
void scan_options_default(struct scan_options *opt);

/// One detection: its name, how bad, and where ("" for the file itself,
/// else a path of MIME parts and archive members, "1/2:invoice.zip/run.exe").
struct scan_finding {
    char *name;
    char *where;
    enum scan_verdict level;
};

/// The outbreak fingerprint of one attachment or archive member: a content
/// digest (SHA-256 of the decoded bytes) and a structural fingerprint that
/// survives re-encoding and small edits of the container: SHA-256 over the
/// detected type and size class, and for an archive its members' names,
/// sizes and types (sorted). Both are 64 hex digits.
struct scan_fingerprint {
    char *where;
    char *name;                /* file name as given, or "" */
    const char *type;          /* detected type: "pe", "zip", "html", ... (static) */
    uint64_t size;
    char digest[65];
    char structure[65];
};

struct scan_report {
    enum scan_verdict verdict;
    char *error;               /* verdict SCAN_ERROR: why; else NULL */
    struct scan_finding *findings;
    size_t nfindings;
    struct scan_fingerprint *prints;
    size_t nprints;
    uint64_t bytes_scanned;    /* decoded and unpacked bytes looked at */
    unsigned files;            /* parts and members looked at */
};

/// Frees what a report holds (not the struct itself) and zeroes it.
void scan_report_free(struct scan_report *r);

struct scan_engine;
struct scan_worker;

/// Called once for every bad signature line (it is skipped): "file:line: reason".
typedef void (*scan_warn_fn)(void *arg, const char *message);

/// A new engine with no signatures. NULL on out of memory.
struct scan_engine *scan_engine_new(const struct scan_options *opt);

/// Loads every .hdb, .hsb and .ndb file in dir (not recursive), or a single
/// such file. Bad lines go to warn and are skipped. Returns the number of
/// signatures loaded, or -1 with err filled (unreadable directory or file).
long scan_engine_load(struct scan_engine *e, const char *path, scan_warn_fn warn, void *arg,
                      char *err, size_t errlen);

/// Compiles the body patterns (Hyperscan) and freezes the engine. 0, or -1
/// with err filled. Cost: about a second per 100k patterns.
int scan_engine_ready(struct scan_engine *e, char *err, size_t errlen);

/// Signature counts: hashes, body patterns.
void scan_engine_counts(const struct scan_engine *e, size_t *hashes, size_t *patterns);

void scan_engine_free(struct scan_engine *e);

/// Per-thread state for scanning with a ready engine. NULL on failure.
struct scan_worker *scan_worker_new(const struct scan_engine *e);
void scan_worker_free(struct scan_worker *w);

/// Scans len bytes; name is the file's name (for the name heuristics) or
/// NULL. Fills *r (free with scan_report_free); returns r->verdict.
enum scan_verdict scan_memory(struct scan_worker *w, const uint8_t *data, size_t len,
                              const char *name, struct scan_report *r);

/// Reads and scans a file (at most MaxFileSize is read; a larger file is
/// scanned up to it and reported). Unreadable: SCAN_ERROR with the reason.
enum scan_verdict scan_file(struct scan_worker *w, const char *path, struct scan_report *r);

#endif

/*
 * sigs.c: the scanning engine's signature database. ClamAV's .hdb, .hsb and
 * .ndb files load as they are, and a hit is reported with the name clamscan
 * prints for it.
 *
 * Formats (ClamAV's signature manual, behaviour checked against clamscan 1.4):
 *
 *   .hdb, .hsb  HashString:FileSize:MalwareName[:MinFL[:MaxFL]]
 *               MD5, SHA-1 or SHA-256 by the length of the hash (clamscan
 *               takes all three in either file); FileSize "*" is any size.
 *   .ndb        MalwareName:TargetType:Offset:HexSignature[:MinFL[:MaxFL]]
 *
 * MinFL/MaxFL (ClamAV functionality levels) are checked to be numbers and
 * otherwise ignored. clamscan prints names from unsigned files with
 * ".UNOFFICIAL" appended (and cut at " (Clam)"), so that is the name stored.
 *
 * Trust boundary: the files are the operator's, but every line is parsed as
 * hostile input. Lines, names, patterns, gaps and signature counts have limits
 * (SIGS_*); a bad line goes to the warn callback as "file:line: reason" and is
 * skipped. A file that cannot be read, or would pass the database limits,
 * leaves the database exactly as it was and returns -1. The scanned bytes are
 * hostile too: the PE header reader and the offset checks stay inside them.
 *
 * Matching. Hashes: one open-addressing table per digest kind, keyed by
 * (size, digest) with SipHash under a random key (a crafted file cannot build
 * long probe chains); a digest is computed only when some signature of its
 * kind has the object's size or any size, as ClamAV does.
 *
 * Body patterns: Hyperscan finds literals, sig_check() decides. Each hex
 * signature is parsed into parts (bytes with masks, byte sets, alternatives,
 * gaps) and gives Hyperscan one literal: its most distinctive run of fully
 * given bytes, at most 16. All literals are compiled once (hs_compile_lit_multi,
 * block mode, SINGLEMATCH: one report per literal and object). A signature
 * that is just its literal, at any offset, is reported there and then; any
 * other is checked only where its literal occurs: each occurrence allows
 * a small window of start positions (the widths of the parts before the
 * literal), cut to the window its offset allows (EP, sections and EOF known
 * by then), and sig_verify() runs the exact parts over it.
 *
 * Why not one Hyperscan regex per signature: measured here, 100k random
 * signatures with ClamAV's wildcards took 108 s and 1.2 GiB to compile
 * ({n-m} gaps cost 50 times a literal; nibbles 18 times), against about 5 s
 * for their literals; and SINGLEMATCH reports only the first end of a
 * pattern, so an offset still needs a second look at the other ends, which
 * SOM_LEFTMOST cannot give for patterns of variable length. ClamAV itself
 * matches static parts (Aho-Corasick) and verifies the rest.
 *
 * The exact check is a small dynamic programme over the set of positions the
 * parts may have reached (verify_segment); an unbounded gap "*" splits the
 * parts in segments matched greedily, earliest end first, which is exact
 * because whatever follows "*" only needs to start late enough.
 *
 * Targets 3 (HTML) and 7 (ASCII): ClamAV matches these on normalised text.
 * Here, as ClamAV's text normaliser does, normalised means lowercased, runs
 * of whitespace as one space, other control bytes and bytes >= 0x80 dropped.
 * A text object is scanned raw for target-0 signatures and, normalised, for
 * target 0 and its own target (one pass when normalising changes nothing).
 * clamscan does the same for ASCII text; its HTML normaliser also strips tags
 * and decodes entities, which this one does not.
 */
#define _GNU_SOURCE /* memmem */
#include "scan/scan_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <hs.h>
#include <limits.h>
#include <malloc.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/siphash.h"
#include "common/util.h"

/* ---- limits ---- */

enum {
    SIGS_LINE_MAX = 8192,          /* bytes in one line, newline excluded */
    SIGS_NAME_MAX = 255,           /* bytes in a malware name as written */
    SIGS_ELEMENTS_MAX = 1024,      /* parts of one hex signature */
    SIGS_ALTS_MAX = 256,           /* alternatives in one (..|..) group */
    SIGS_ALT_WIDTH_MAX = 255,      /* bytes in one alternative */
    SIGS_ALT_GAP_MAX = 127,        /* {n} inside an alternative (ClamAV: < 128) */
    SIGS_SECTIONS_MAX = 96,        /* PE sections read (the Windows loader's limit) */
    SIGS_LITERAL_MAX = 16,         /* bytes of a signature given to Hyperscan */
    VERIFY_CHUNK = 16384,          /* start positions tried per verify step */
};

#define SIGS_HASHES_MAX (1u << 24)     /* hash signatures in one database */
#define SIGS_PATTERNS_MAX (1u << 20)   /* body patterns in one database */
#define SIGS_SPAN_MAX (1u << 20)       /* widest stretch between two "*" (bytes) */
#define SIGS_POOL_MAX (1u << 30)       /* bytes of names, or of parts */
#define GAP_INF UINT32_MAX             /* an unbounded gap's maximum */
#define SIZE_ANY UINT64_MAX            /* a hash signature of any file size */
#define NONE32 UINT32_MAX

static const char suffix_unofficial[] = ".UNOFFICIAL";

/* ---- the database ---- */

enum hash_kind { HK_MD5, HK_SHA1, HK_SHA256, HK_COUNT };
static const unsigned hash_len[HK_COUNT] = {16, 20, 32};
static const char *const hash_md[HK_COUNT] = {"MD5", "SHA1", "SHA256"};

struct hash_ent {
    uint64_t size;                 /* SIZE_ANY for "*" */
    uint32_t name;                 /* offset of the printed name in db->names */
    uint32_t next;                 /* next entry with the same key (built by compile), NONE32 */
};

/* The hash signatures of one digest kind. Entries are appended while
 * loading; compile builds the key table and the set of sizes present. */
struct hash_set {
    struct hash_ent *ent;
    uint8_t *digest;               /* n * hash_len[kind] */
    size_t n, cap;
    uint32_t *slot;                /* entry index + 1 of a key's first entry; 0 empty */
    size_t slot_mask;
    uint64_t *size_slot;           /* sizes present (SIZE_ANY marks an empty slot) */
    size_t size_mask;
    bool any_size;                 /* some entry has size "*" */
};

enum off_kind { OFF_ANY, OFF_ABS, OFF_EOF, OFF_EP_PLUS, OFF_EP_MINUS, OFF_SX, OFF_SL, OFF_SE };

/* One part of a hex signature, in the exact form sig_verify() reads. */
enum el_kind {
    EL_BYTES,                      /* count bytes, each value & mask (nibbles, ??) */
    EL_SET,                        /* one byte from a 256-bit set ((aa|bb), !(aa|bb), (W)) */
    EL_ALT,                        /* one of count alternatives of 1..255 masked bytes */
    EL_NALT,                       /* count bytes equal to none of count plain alternatives */
    EL_GAP,                        /* wmin..wmax bytes of anything; wmax GAP_INF: "*" or {n-} */
};

struct sig_el {
    uint8_t kind;
    uint32_t count;                /* EL_BYTES: bytes; EL_ALT, EL_NALT: alternatives */
    uint32_t wmin, wmax;           /* how many bytes the part covers */
    uint32_t data;                 /* offset in the part pool (bytes: values then masks;
                                      set: 32-byte bitmap; alternatives: width, values, masks each) */
};

struct ndb_sig {
    uint32_t name;                 /* printed name in db->names */
    uint8_t target;                /* enum sig_target */
    uint8_t off_kind;              /* enum off_kind */
    bool exact;                    /* the signature is its literal, at any offset */
    uint8_t lit_len;               /* the literal Hyperscan looks for */
    uint32_t lit;                  /* its offset in db->pool */
    uint32_t pre_min, pre_max;     /* bytes before it from the start (pre_max GAP_INF: any) */
    uint32_t off_val, off_sec, shift;
    uint32_t el_first, el_count;   /* the exact parts in db->els */
    uint32_t next;                 /* next signature with the same literal (compile), NONE32 */
    uint32_t file, line;           /* where it came from, for compile errors */
};

struct sigdb {
    char *names;                   /* printed names, NUL-terminated, back to back */
    size_t names_len, names_cap;
    struct hash_set hs[HK_COUNT];
    struct ndb_sig *sigs;
    size_t nsigs, sigs_cap;
    struct sig_el *els;
    size_t nels, els_cap;
    uint8_t *pool;                 /* the parts' bytes */
    size_t pool_len, pool_cap;
    char **files;                  /* every file loaded, for file:line in compile errors */
    size_t nfiles, files_cap;
    uint8_t key[16];               /* SipHash key of the hash tables */
    bool compiled;
    uint32_t span_max;             /* widest verified segment: sizes the scratch */
    uint32_t *group;               /* Hyperscan id -> first signature with that literal */
    size_t ngroups;
    hs_database_t **hsdb;          /* one per HS_CHUNK literals; NULL with no patterns */
    size_t nhsdb;
    hs_scratch_t *proto;           /* cloned by sigdb_scratch_new */
    EVP_MD *md[HK_COUNT];
};

struct sigdb_scratch {
    const struct sigdb *db;
    hs_scratch_t *hs;
    uint32_t *seen;                /* seen[sig] == gen: reported in this match call */
    uint32_t gen;
    uint8_t *work;                 /* two position sets for sig_verify() */
    size_t work_cap;               /* bytes in each */
    uint8_t *norm;                 /* normalised text */
    size_t norm_cap;
};

/* ---- small helpers ---- */

/* Hyperscan's compiler needs about 3 KiB per literal while it runs (100k
 * literals: a 290 MiB peak, against 40 MiB for everything once compiled).
 * Literals are compiled in chunks of this many, one database each, and the
 * compiler's heap is given back after each: the peak is one chunk's. Each
 * chunk is one more pass over an object (at GB/s, against a few ms of MIME
 * and archive work per message). */
enum { HS_CHUNK = 16384 };

static void free_hs(struct sigdb *db)
{
    for (size_t i = 0; i < db->nhsdb; i++)
        hs_free_database(db->hsdb[i]);
    free(db->hsdb);
    db->hsdb = NULL;
    db->nhsdb = 0;
}

static void set_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Grows *p (elements of size el) to hold at least need; false when that
 * would pass max elements or memory runs out. */
static bool grow(void **p, size_t *cap, size_t need, size_t el, size_t max)
{
    if (need <= *cap)
        return true;
    if (need > max)
        return false;
    size_t n = *cap ? *cap : 64;
    while (n < need)
        n = n > max / 2 ? max : n * 2;
    void *q = realloc(*p, n * el);
    if (!q)
        return false;
    *p = q;
    *cap = n;
    return true;
}

/* A piece of an input line for a message: at most 40 bytes, anything
 * outside printable ASCII as '?', so that a hostile line cannot forge log
 * lines. */
static const char *quote(char *dst, size_t cap, const char *s, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k + 4 < cap && i < 40; i++)
        dst[k++] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
    if (n > 40 && k + 4 < cap) {
        memcpy(dst + k, "...", 3);
        k += 3;
    }
    dst[k] = '\0';
    return dst;
}

static uint64_t le16(const uint8_t *p) { return (uint64_t)p[0] | (uint64_t)p[1] << 8; }
static uint64_t le32(const uint8_t *p) { return le16(p) | le16(p + 2) << 16; }

/* ---- creation ---- */

struct sigdb *sigdb_new(void)
{
    struct sigdb *db = calloc(1, sizeof *db);
    if (!db)
        return NULL;
    if (RAND_bytes(db->key, sizeof db->key) != 1) {
        free(db);
        return NULL;
    }
    return db;
}

static void hash_tables_free(struct sigdb *db)
{
    for (int k = 0; k < HK_COUNT; k++) {
        free(db->hs[k].slot);
        free(db->hs[k].size_slot);
        db->hs[k].slot = NULL;
        db->hs[k].size_slot = NULL;
    }
}

void sigdb_free(struct sigdb *db)
{
    if (!db)
        return;
    hash_tables_free(db);
    for (int k = 0; k < HK_COUNT; k++) {
        free(db->hs[k].ent);
        free(db->hs[k].digest);
        EVP_MD_free(db->md[k]);
    }
    for (size_t i = 0; i < db->nfiles; i++)
        free(db->files[i]);
    free(db->files);
    free(db->names);
    free(db->sigs);
    free(db->els);
    free(db->pool);
    free(db->group);
    hs_free_scratch(db->proto);
    free_hs(db);
    free(db);
}

void sigdb_counts(const struct sigdb *db, size_t *hashes, size_t *patterns)
{
    size_t h = 0;
    for (int k = 0; k < HK_COUNT; k++)
        h += db->hs[k].n;
    if (hashes)
        *hashes = h;
    if (patterns)
        *patterns = db->nsigs;
}

/* ---- reading lines ----
 *
 * A fixed buffer and memchr: no line is ever held longer than SIGS_LINE_MAX,
 * whatever the file holds. A longer line is skipped up to its newline and
 * reported once. */

struct line_reader {
    int fd;
    size_t start, end;
    bool eof, skipping;
    bool skip_comment;             /* the line being skipped starts with '#' */
    unsigned long lineno;
    char buf[65536];
};

enum { LINE_EOF = 0, LINE_OK = 1, LINE_LONG = 2, LINE_ERROR = -1 };

static int next_line(struct line_reader *r, const char **line, size_t *len)
{
    for (;;) {
        char *s = r->buf + r->start;
        char *nl = memchr(s, '\n', r->end - r->start);
        if (nl || (r->eof && r->end > r->start) || (r->eof && r->skipping)) {
            size_t n = nl ? (size_t)(nl - s) : r->end - r->start;
            r->start += nl ? n + 1 : n;
            r->lineno++;
            if (r->skipping) {
                r->skipping = false;
                if (r->skip_comment)
                    continue; /* a comment may be as long as it likes */
                return LINE_LONG;
            }
            if (n > 0 && s[n - 1] == '\r')
                n--;
            if (n > SIGS_LINE_MAX) {
                if (s[0] == '#')
                    continue;
                return LINE_LONG;
            }
            *line = s;
            *len = n;
            return LINE_OK;
        }
        if (r->eof)
            return LINE_EOF;
        if (r->end - r->start > SIGS_LINE_MAX + 1) {
            /* too long even with a '\r': drop what we hold, and the rest up
             * to the newline (unless we are already doing so) */
            if (!r->skipping)
                r->skip_comment = r->buf[r->start] == '#';
            r->skipping = true;
            r->start = r->end = 0;
        } else if (r->start > 0) {
            memmove(r->buf, r->buf + r->start, r->end - r->start);
            r->end -= r->start;
            r->start = 0;
        }
        ssize_t got = read(r->fd, r->buf + r->end, sizeof r->buf - r->end);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return LINE_ERROR;
        }
        if (got == 0)
            r->eof = true;
        r->end += (size_t)got;
    }
}

/* ---- loading ---- */

enum file_kind { FK_HASH, FK_NDB };

/* What a load needs besides the database: where it is, who hears about bad
 * lines, and the parse of the current signature before it is committed. */
struct load {
    struct sigdb *db;
    const char *path;
    uint32_t file;
    unsigned long lineno;
    scan_warn_fn warn;
    void *arg;
    long loaded, bad;
    bool fatal;                    /* out of memory, a read error or a database limit: the load fails */
    unsigned long fatal_line;      /* the line it happened on, 0 for a read error */
    char fatal_msg[200];
    /* the hex signature being parsed */
    struct sig_el els[SIGS_ELEMENTS_MAX];
    size_t nels;
    uint8_t *bytes;
    size_t nbytes, bytes_cap;
    unsigned fixed_run;            /* longest run of fully given bytes ("two static bytes") */
    struct byte_run {              /* byte tokens not yet made an EL_BYTES part */
        uint8_t val[SIGS_LINE_MAX / 2], mask[SIGS_LINE_MAX / 2];
        size_t n;
    } run;
};

static void bad_line(struct load *ld, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void bad_line(struct load *ld, const char *fmt, ...)
{
    ld->bad++;
    if (!ld->warn)
        return;
    char reason[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    char msg[PATH_MAX + 480];
    snprintf(msg, sizeof msg, "%s:%lu: %s", ld->path, ld->lineno, reason);
    ld->warn(ld->arg, msg);
}

static void fatal(struct load *ld, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fatal(struct load *ld, const char *fmt, ...)
{
    if (ld->fatal)
        return;
    ld->fatal = true;
    ld->fatal_line = ld->lineno;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ld->fatal_msg, sizeof ld->fatal_msg, fmt, ap);
    va_end(ap);
}

/* Splits s[0..n) at ':' into at most max fields; returns how many there
 * are, or max + 1 when there are more. */
static size_t split_fields(const char *s, size_t n, const char **f, size_t *flen, size_t max)
{
    size_t k = 0, start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || s[i] == ':') {
            if (k == max)
                return max + 1;
            f[k] = s + start;
            flen[k] = i - start;
            k++;
            start = i + 1;
        }
    }
    return k;
}

/* Appends the printed name of s[0..n) to the name pool: cut at " (Clam)" and
 * ".UNOFFICIAL" appended, as clamscan prints names from unsigned files.
 * Returns false (and reports) when the name is not acceptable. */
static bool add_name(struct load *ld, const char *s, size_t n, uint32_t *out)
{
    if (n > SIGS_NAME_MAX) {
        bad_line(ld, "malware name longer than %d bytes", SIGS_NAME_MAX);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] < 0x20 || s[i] > 0x7e) {
            bad_line(ld, "malware name has a byte outside printable ASCII (0x%02x)", (unsigned char)s[i]);
            return false;
        }
    }
    for (size_t i = 0; i + 7 <= n; i++) {
        if (memcmp(s + i, " (Clam)", 7) == 0) {
            n = i;
            break;
        }
    }
    if (n == 0) {
        bad_line(ld, "empty malware name");
        return false;
    }
    struct sigdb *db = ld->db;
    size_t need = db->names_len + n + sizeof suffix_unofficial;
    if (!grow((void **)&db->names, &db->names_cap, need, 1, SIGS_POOL_MAX)) {
        fatal(ld, need > SIGS_POOL_MAX ? "signature names pass 1 GiB" : "out of memory");
        return false;
    }
    *out = (uint32_t)db->names_len;
    memcpy(db->names + db->names_len, s, n);
    memcpy(db->names + db->names_len + n, suffix_unofficial, sizeof suffix_unofficial);
    db->names_len = need;
    return true;
}

/* MinFL and MaxFL: empty or a number; the value is not used. */
static bool check_flevels(struct load *ld, const char **f, const size_t *flen, size_t nf, size_t first)
{
    uint64_t v;
    for (size_t i = first; i < nf; i++) {
        if (flen[i] > 0 && util_parse_uint(f[i], flen[i], UINT32_MAX, &v) < 0) {
            char q[64];
            bad_line(ld, "bad functionality level \"%s\"", quote(q, sizeof q, f[i], flen[i]));
            return false;
        }
    }
    return true;
}

/* HashString:FileSize:MalwareName[:MinFL[:MaxFL]] */
static void load_hash_line(struct load *ld, const char *s, size_t n)
{
    const char *f[6];
    size_t fl[6];
    size_t nf = split_fields(s, n, f, fl, 5);
    if (nf < 3 || nf > 5) {
        bad_line(ld, "expected HashString:FileSize:MalwareName[:MinFL[:MaxFL]]");
        return;
    }
    int kind = fl[0] == 32 ? HK_MD5 : fl[0] == 40 ? HK_SHA1 : fl[0] == 64 ? HK_SHA256 : -1;
    if (kind < 0) {
        bad_line(ld, "hash is not 32, 40 or 64 hex digits (MD5, SHA-1, SHA-256)");
        return;
    }
    uint8_t digest[32];
    for (size_t i = 0; i < fl[0]; i += 2) {
        int hi = util_hexval(f[0][i]), lo = util_hexval(f[0][i + 1]);
        if (hi < 0 || lo < 0) {
            bad_line(ld, "hash has a character that is not a hex digit");
            return;
        }
        digest[i / 2] = (uint8_t)(hi << 4 | lo);
    }
    uint64_t size;
    if (fl[1] == 1 && f[1][0] == '*') {
        size = SIZE_ANY; /* ClamAV wants MinFL >= 73 with it; accepted without */
    } else if (util_parse_uint(f[1], fl[1], INT64_MAX, &size) < 0) {
        char q[64];
        bad_line(ld, "bad file size \"%s\" (a number or *)", quote(q, sizeof q, f[1], fl[1]));
        return;
    }
    if (!check_flevels(ld, f, fl, nf, 3))
        return;
    struct hash_set *hs = &ld->db->hs[kind];
    size_t total;
    sigdb_counts(ld->db, &total, NULL);
    if (total >= SIGS_HASHES_MAX) {
        fatal(ld, "more than %u hash signatures", SIGS_HASHES_MAX);
        return;
    }
    if (hs->n == hs->cap) {
        /* the digest pool follows the entries' capacity */
        size_t cap = hs->cap;
        uint8_t *d = NULL;
        if (!grow((void **)&hs->ent, &cap, hs->n + 1, sizeof *hs->ent, SIGS_HASHES_MAX) ||
            !(d = realloc(hs->digest, cap * hash_len[kind]))) {
            fatal(ld, "out of memory");
            return;
        }
        hs->digest = d;
        hs->cap = cap;
    }
    uint32_t name;
    if (!add_name(ld, f[2], fl[2], &name))
        return;
    hs->ent[hs->n] = (struct hash_ent){.size = size, .name = name, .next = NONE32};
    memcpy(hs->digest + hs->n * hash_len[kind], digest, hash_len[kind]);
    hs->n++;
    ld->loaded++;
}

/* -- hex signatures -- */

static bool push_bytes(struct load *ld, const void *p, size_t n, uint32_t *off)
{
    if (!grow((void **)&ld->bytes, &ld->bytes_cap, ld->nbytes + n, 1, SIGS_POOL_MAX)) {
        fatal(ld, "out of memory");
        return false;
    }
    *off = (uint32_t)ld->nbytes;
    memcpy(ld->bytes + ld->nbytes, p, n);
    ld->nbytes += n;
    return true;
}

static struct sig_el *push_el(struct load *ld)
{
    if (ld->nels == SIGS_ELEMENTS_MAX) {
        bad_line(ld, "signature has more than %d parts", SIGS_ELEMENTS_MAX);
        return NULL;
    }
    struct sig_el *e = &ld->els[ld->nels++];
    memset(e, 0, sizeof *e);
    return e;
}

/* One hex byte token at s ("4d", "??", "4?", "?d"): value (masked) and mask. */
static bool parse_hexbyte(const char *s, uint8_t *val, uint8_t *mask)
{
    int hi = util_hexval(s[0]), lo = util_hexval(s[1]);
    if (s[0] == '?' && s[1] == '?') {
        *val = 0, *mask = 0;
    } else if (s[0] == '?' && lo >= 0) {
        *val = (uint8_t)lo, *mask = 0x0f;
    } else if (hi >= 0 && s[1] == '?') {
        *val = (uint8_t)(hi << 4), *mask = 0xf0;
    } else if (hi >= 0 && lo >= 0) {
        *val = (uint8_t)(hi << 4 | lo), *mask = 0xff;
    } else {
        return false;
    }
    return true;
}

/* A run of byte tokens becomes one EL_BYTES part when it ends. */
static bool flush_run(struct load *ld, struct byte_run *run)
{
    if (run->n == 0)
        return true;
    struct sig_el *e = push_el(ld);
    uint32_t off, off2;
    if (!e || !push_bytes(ld, run->val, run->n, &off) || !push_bytes(ld, run->mask, run->n, &off2))
        return false;
    e->kind = EL_BYTES;
    e->count = (uint32_t)run->n;
    e->wmin = e->wmax = (uint32_t)run->n;
    e->data = off;
    unsigned k = 0;
    for (size_t i = 0; i < run->n; i++) {
        k = run->mask[i] == 0xff ? k + 1 : 0;
        if (k > ld->fixed_run)
            ld->fixed_run = k;
    }
    run->n = 0;
    return true;
}

/* Adds a gap, merged with a gap just before it ("{2}*" is "{2-}"). A zero
 * gap is no part at all. */
static bool add_gap(struct load *ld, uint64_t mn, uint64_t mx)
{
    if (ld->nels > 0 && ld->els[ld->nels - 1].kind == EL_GAP) {
        struct sig_el *p = &ld->els[ld->nels - 1];
        mn += p->wmin;
        mx = p->wmax == GAP_INF || mx == GAP_INF ? GAP_INF : mx + p->wmax;
        ld->nels--;
    }
    if (mx == 0)
        return true;
    if (mn >= GAP_INF || (mx != GAP_INF && mx >= GAP_INF)) {
        bad_line(ld, "gap too large");
        return false;
    }
    struct sig_el *e = push_el(ld);
    if (!e)
        return false;
    e->kind = EL_GAP;
    e->wmin = (uint32_t)mn;
    e->wmax = (uint32_t)mx;
    return true;
}

static bool parse_num(const char *s, size_t n, uint64_t *v)
{
    return util_parse_uint(s, n, UINT32_MAX - 1, v) == 0;
}

/* "{n}", "{-n}", "{n-}", "{n-m}" (inner text s[0..n)) */
static bool parse_brace(struct load *ld, const char *s, size_t n)
{
    const char *dash = memchr(s, '-', n);
    uint64_t mn = 0, mx = 0;
    bool ok;
    if (!dash) {
        ok = parse_num(s, n, &mn);
        mx = mn;
    } else if (dash == s) {
        ok = parse_num(s + 1, n - 1, &mx);
    } else if (dash == s + n - 1) {
        ok = parse_num(s, n - 1, &mn);
        mx = GAP_INF;
    } else {
        ok = parse_num(s, (size_t)(dash - s), &mn) && parse_num(dash + 1, n - (size_t)(dash - s) - 1, &mx);
    }
    if (!ok || mx < mn) {
        char q[64];
        bad_line(ld, "bad range {%s}", quote(q, sizeof q, s, n));
        return false;
    }
    return add_gap(ld, mn, mx);
}

/* "[n-m]" (inner text s[0..n)): a gap that ClamAV only allows next to a
 * single byte; here it is the same as {n-m}. */
static bool parse_bracket(struct load *ld, const char *s, size_t n)
{
    const char *dash = memchr(s, '-', n);
    uint64_t mn, mx;
    if (!dash || !parse_num(s, (size_t)(dash - s), &mn) ||
        !parse_num(dash + 1, n - (size_t)(dash - s) - 1, &mx) || mx < mn) {
        char q[64];
        bad_line(ld, "bad range [%s]", quote(q, sizeof q, s, n));
        return false;
    }
    return add_gap(ld, mn, mx);
}

static void set_bit(uint8_t *set, unsigned b) { set[b >> 3] |= (uint8_t)(1u << (b & 7)); }
static bool has_bit(const uint8_t *set, unsigned b) { return set[b >> 3] >> (b & 7) & 1; }

/* "(aa|bb|..)" or "!(..)" with inner text s[0..n). Single bytes become a
 * 256-bit set (negation is its complement); same-width plain alternatives
 * may be negated (EL_NALT); anything else is a generic EL_ALT. */
static bool parse_alts(struct load *ld, const char *s, size_t n, bool negated)
{
    if (n == 1 && (s[0] == 'B' || s[0] == 'L' || s[0] == 'W') && !negated) {
        if (s[0] != 'W') {
            bad_line(ld, "the (%c) anchor is not supported", s[0]);
            return false;
        }
        uint8_t set[32] = {0}; /* (W): any byte that is not a letter or digit */
        for (unsigned b = 0; b < 256; b++)
            if (!((b >= '0' && b <= '9') || (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z')))
                set_bit(set, b);
        struct sig_el *e = push_el(ld);
        uint32_t off;
        if (!e || !push_bytes(ld, set, sizeof set, &off))
            return false;
        *e = (struct sig_el){.kind = EL_SET, .count = 1, .wmin = 1, .wmax = 1, .data = off};
        return true;
    }
    /* each alternative is staged in the part pool as its width, values and
     * masks; note the widths and whether all are plain bytes */
    uint8_t val[SIGS_ALT_WIDTH_MAX], mask[SIGS_ALT_WIDTH_MAX];
    size_t nalts = 0, wmin = SIZE_MAX, wmax = 0;
    bool plain = true;
    size_t start_bytes = ld->nbytes; /* alternatives are staged in the part pool */
    for (size_t i = 0; i <= n;) {
        size_t w = 0;
        while (i < n && s[i] != '|') {
            if (s[i] == '{') {
                const char *close = memchr(s + i, '}', n - i);
                uint64_t g;
                if (!close || !parse_num(s + i + 1, (size_t)(close - s - i - 1), &g) || g > SIGS_ALT_GAP_MAX) {
                    bad_line(ld, "alternatives allow only {n} gaps up to %d", SIGS_ALT_GAP_MAX);
                    return false;
                }
                for (uint64_t k = 0; k < g; k++) {
                    if (w == SIGS_ALT_WIDTH_MAX)
                        goto too_wide;
                    val[w] = 0, mask[w] = 0;
                    w++;
                }
                plain = plain && g == 0;
                i = (size_t)(close - s) + 1;
                continue;
            }
            if (w == SIGS_ALT_WIDTH_MAX)
                goto too_wide;
            if (i + 1 >= n || !parse_hexbyte(s + i, &val[w], &mask[w])) {
                bad_line(ld, "alternatives may hold only hex bytes, ?? and nibble wildcards and {n}");
                return false;
            }
            plain = plain && mask[w] == 0xff;
            w++;
            i += 2;
        }
        if (w == 0) {
            bad_line(ld, "empty alternative");
            return false;
        }
        if (++nalts > SIGS_ALTS_MAX) {
            bad_line(ld, "more than %d alternatives in one group", SIGS_ALTS_MAX);
            return false;
        }
        uint8_t wb = (uint8_t)w;
        uint32_t off;
        if (!push_bytes(ld, &wb, 1, &off) || !push_bytes(ld, val, w, &off) || !push_bytes(ld, mask, w, &off))
            return false;
        wmin = w < wmin ? w : wmin;
        wmax = w > wmax ? w : wmax;
        i++; /* past '|' (or the end) */
    }
    if (negated && (!plain || wmin != wmax)) {
        bad_line(ld, "negated alternatives must be plain bytes of one length");
        return false;
    }
    if (wmax == 1) {
        /* one byte each: a 256-bit set, one test per byte */
        uint8_t set[32] = {0};
        const uint8_t *p = ld->bytes + start_bytes;
        for (size_t a = 0; a < nalts; a++, p += 3)
            for (unsigned b = 0; b < 256; b++)
                if ((b & p[2]) == p[1])
                    set_bit(set, b);
        if (negated)
            for (int k = 0; k < 32; k++)
                set[k] = (uint8_t)~set[k];
        ld->nbytes = start_bytes;
        bool any = false;
        for (int k = 0; k < 32; k++)
            any = any || set[k];
        if (!any) {
            bad_line(ld, "negated alternatives exclude every byte");
            return false;
        }
        struct sig_el *e = push_el(ld);
        uint32_t off;
        if (!e || !push_bytes(ld, set, sizeof set, &off))
            return false;
        *e = (struct sig_el){.kind = EL_SET, .count = 1, .wmin = 1, .wmax = 1, .data = off};
        return true;
    }
    struct sig_el *e = push_el(ld);
    if (!e)
        return false;
    *e = (struct sig_el){.kind = negated ? EL_NALT : EL_ALT, .count = (uint32_t)nalts, .wmin = (uint32_t)wmin,
                         .wmax = (uint32_t)wmax, .data = (uint32_t)start_bytes};
    return true;
too_wide:
    bad_line(ld, "an alternative is longer than %d bytes", SIGS_ALT_WIDTH_MAX);
    return false;
}

/* Parses a hex signature into ld->els. Reports and returns false when it
 * is not acceptable. */
static bool parse_hexsig(struct load *ld, const char *s, size_t n)
{
    struct byte_run *run = &ld->run;
    run->n = 0;
    ld->nels = 0;
    ld->nbytes = 0;
    ld->fixed_run = 0;
    if (n == 0) {
        bad_line(ld, "empty hex signature");
        return false;
    }
    for (size_t i = 0; i < n;) {
        char c = s[i];
        if (util_hexval(c) >= 0 || c == '?') {
            if (i + 1 >= n || run->n == sizeof run->val || !parse_hexbyte(s + i, &run->val[run->n], &run->mask[run->n])) {
                bad_line(ld, "bad hex byte at character %zu", i + 1);
                return false;
            }
            run->n++;
            i += 2;
            continue;
        }
        if (!flush_run(ld, run))
            return false;
        if (c == '*') {
            if (!add_gap(ld, 0, GAP_INF))
                return false;
            i++;
        } else if (c == '{' || c == '[') {
            const char *close = memchr(s + i, c == '{' ? '}' : ']', n - i);
            if (!close) {
                bad_line(ld, "unclosed %c at character %zu", c, i + 1);
                return false;
            }
            size_t inner = (size_t)(close - s) - i - 1;
            if (!(c == '{' ? parse_brace(ld, s + i + 1, inner) : parse_bracket(ld, s + i + 1, inner)))
                return false;
            i = (size_t)(close - s) + 1;
        } else if (c == '(' || (c == '!' && i + 1 < n && s[i + 1] == '(')) {
            bool neg = c == '!';
            size_t open = i + (neg ? 1 : 0);
            const char *close = memchr(s + open, ')', n - open);
            if (!close) {
                bad_line(ld, "unclosed ( at character %zu", open + 1);
                return false;
            }
            if (memchr(s + open + 1, '(', (size_t)(close - s) - open - 1)) {
                bad_line(ld, "nested ( at character %zu", open + 1);
                return false;
            }
            if (!parse_alts(ld, s + open + 1, (size_t)(close - s) - open - 1, neg))
                return false;
            i = (size_t)(close - s) + 1;
        } else {
            char q[8];
            bad_line(ld, "unexpected '%s' at character %zu", quote(q, sizeof q, &c, 1), i + 1);
            return false;
        }
    }
    if (!flush_run(ld, run))
        return false;
    if (ld->fixed_run < 2) {
        bad_line(ld, "signature has no 2 fixed bytes in a row");
        return false;
    }
    const struct sig_el *first = &ld->els[0], *last = &ld->els[ld->nels - 1];
    if ((first->kind == EL_GAP && first->wmin != first->wmax) || (last->kind == EL_GAP && last->wmin != last->wmax)) {
        bad_line(ld, "signature starts or ends with a variable gap");
        return false;
    }
    /* the widest stretch without "*" bounds what the verifier holds */
    uint64_t span = 0;
    for (size_t k = 0; k < ld->nels; k++) {
        const struct sig_el *e = &ld->els[k];
        if (e->kind == EL_GAP && e->wmax == GAP_INF) {
            span = 0;
            continue;
        }
        span += e->wmax;
        if (span > SIGS_SPAN_MAX) {
            bad_line(ld, "bounded gaps span more than %u bytes (use *)", SIGS_SPAN_MAX);
            return false;
        }
    }
    return true;
}

/* -- the literal Hyperscan looks for --
 *
 * The window of at most SIGS_LITERAL_MAX fully given bytes with the most
 * distinct byte values (a run of zeros says little), the earliest on a tie;
 * and how far its start may be from the signature's start. */
static void choose_literal(const struct load *ld, struct ndb_sig *sg)
{
    uint64_t pmin = 0, pmax = 0; /* widths of the parts before the current one */
    unsigned best_score = 0;
    for (size_t k = 0; k < ld->nels; k++) {
        const struct sig_el *e = &ld->els[k];
        if (e->kind == EL_BYTES) {
            const uint8_t *mask = ld->bytes + e->data + e->count;
            for (uint32_t i = 0; i < e->count; i++) {
                uint32_t n = 0;
                while (i + n < e->count && n < SIGS_LITERAL_MAX && mask[i + n] == 0xff)
                    n++;
                if (n < 2)
                    continue;
                uint8_t seen[32] = {0};
                unsigned distinct = 0;
                for (uint32_t j = 0; j < n; j++) {
                    uint8_t b = ld->bytes[e->data + i + j];
                    if (!has_bit(seen, b))
                        set_bit(seen, b), distinct++;
                }
                unsigned score = distinct * 64 + n;
                if (score > best_score) {
                    best_score = score;
                    sg->lit = e->data + i; /* rebased with the parts */
                    sg->lit_len = (uint8_t)n;
                    /* past 4 GiB nothing can match (hs_scan's limit): keep it there */
                    sg->pre_min = pmin + i < UINT32_MAX ? (uint32_t)(pmin + i) : UINT32_MAX - 1;
                    sg->pre_max = pmax == GAP_INF ? GAP_INF : (uint32_t)(pmax + i);
                }
            }
        }
        pmin += e->wmin;
        pmax = pmax == GAP_INF || e->wmax == GAP_INF ? GAP_INF : pmax + e->wmax;
    }
    sg->exact = ld->nels == 1 && sg->lit_len == ld->els[0].count && sg->off_kind == OFF_ANY;
}

/* Offset: "*", "n", "EOF-n", "EP+n", "EP-n", "Sx+n", "SL+n", "SEx", each but
 * "*" with an optional ",MaxShift". */
static bool parse_offset(struct load *ld, const char *s, size_t n, unsigned target, struct ndb_sig *sg)
{
    char q[64];
    sg->off_kind = OFF_ANY;
    sg->off_val = sg->off_sec = sg->shift = 0;
    if (n == 1 && s[0] == '*')
        return true;
    const char *comma = memchr(s, ',', n);
    size_t base = comma ? (size_t)(comma - s) : n;
    uint64_t v = 0, x = 0, shift = 0;
    if (comma && !parse_num(comma + 1, n - base - 1, &shift))
        goto bad;
    sg->shift = (uint32_t)shift;
    if (base > 3 && memcmp(s, "EP", 2) == 0 && (s[2] == '+' || s[2] == '-')) {
        sg->off_kind = s[2] == '+' ? OFF_EP_PLUS : OFF_EP_MINUS;
        if (!parse_num(s + 3, base - 3, &v))
            goto bad;
    } else if (base > 4 && memcmp(s, "EOF-", 4) == 0) {
        sg->off_kind = OFF_EOF;
        if (!parse_num(s + 4, base - 4, &v))
            goto bad;
    } else if (base > 3 && memcmp(s, "SL+", 3) == 0) {
        sg->off_kind = OFF_SL;
        if (!parse_num(s + 3, base - 3, &v))
            goto bad;
    } else if (base > 2 && memcmp(s, "SE", 2) == 0) {
        sg->off_kind = OFF_SE;
        if (!parse_num(s + 2, base - 2, &x))
            goto bad;
    } else if (base > 1 && s[0] == 'S') {
        const char *plus = memchr(s, '+', base);
        sg->off_kind = OFF_SX;
        if (!plus || !parse_num(s + 1, (size_t)(plus - s) - 1, &x) ||
            !parse_num(plus + 1, base - (size_t)(plus - s) - 1, &v))
            goto bad;
    } else {
        sg->off_kind = OFF_ABS;
        if (!parse_num(s, base, &v))
            goto bad;
    }
    sg->off_val = (uint32_t)v;
    sg->off_sec = (uint32_t)x;
    if (sg->off_kind != OFF_ABS && sg->off_kind != OFF_EOF && target != SIG_TARGET_PE) {
        bad_line(ld, "offset %s needs target type 1 (PE)%s", quote(q, sizeof q, s, n),
                 target == SIG_TARGET_ELF || target == SIG_TARGET_MACHO ? ": ELF and Mach-O headers are not read" : "");
        return false;
    }
    return true;
bad:
    bad_line(ld, "bad offset \"%s\"", quote(q, sizeof q, s, n));
    return false;
}

/* MalwareName:TargetType:Offset:HexSignature[:MinFL[:MaxFL]] */
static void load_ndb_line(struct load *ld, const char *s, size_t n)
{
    const char *f[7];
    size_t fl[7];
    char q[64];
    size_t nf = split_fields(s, n, f, fl, 6);
    if (nf < 4 || nf > 6) {
        bad_line(ld, "expected MalwareName:TargetType:Offset:HexSignature[:MinFL[:MaxFL]]");
        return;
    }
    uint64_t target;
    if (util_parse_uint(f[1], fl[1], 1000, &target) < 0) {
        bad_line(ld, "bad target type \"%s\"", quote(q, sizeof q, f[1], fl[1]));
        return;
    }
    if (target > SIG_TARGET_JAVA || target == 8) {
        bad_line(ld, "target type %u is not supported", (unsigned)target);
        return;
    }
    struct ndb_sig sg = {.target = (uint8_t)target, .file = ld->file, .line = (uint32_t)ld->lineno};
    if (!parse_offset(ld, f[2], fl[2], (unsigned)target, &sg) || !parse_hexsig(ld, f[3], fl[3]) ||
        !check_flevels(ld, f, fl, nf, 4))
        return;
    struct sigdb *db = ld->db;
    if (db->nsigs >= SIGS_PATTERNS_MAX) {
        fatal(ld, "more than %u body patterns", SIGS_PATTERNS_MAX);
        return;
    }
    if (!grow((void **)&db->sigs, &db->sigs_cap, db->nsigs + 1, sizeof *db->sigs, SIGS_PATTERNS_MAX)) {
        fatal(ld, "out of memory");
        return;
    }
    choose_literal(ld, &sg);
    if (!add_name(ld, f[0], fl[0], &sg.name))
        return;
    /* keep the exact parts, their data moved to the database's pool */
    if (!grow((void **)&db->els, &db->els_cap, db->nels + ld->nels, sizeof *db->els, SIGS_POOL_MAX) ||
        !grow((void **)&db->pool, &db->pool_cap, db->pool_len + ld->nbytes, 1, SIGS_POOL_MAX)) {
        fatal(ld, "out of memory or parts pass 1 GiB");
        return;
    }
    sg.el_first = (uint32_t)db->nels;
    sg.el_count = (uint32_t)ld->nels;
    for (size_t k = 0; k < ld->nels; k++) {
        db->els[db->nels] = ld->els[k];
        db->els[db->nels++].data += (uint32_t)db->pool_len;
    }
    sg.lit += (uint32_t)db->pool_len;
    memcpy(db->pool + db->pool_len, ld->bytes, ld->nbytes);
    db->pool_len += ld->nbytes;
    sg.next = NONE32;
    db->sigs[db->nsigs++] = sg;
    ld->loaded++;
}

static bool blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t')
            return false;
    return true;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcasecmp(s + n - k, suffix) == 0;
}

long sigdb_load_file(struct sigdb *db, const char *path, scan_warn_fn warn, void *arg, char *err, size_t errlen)
{
    enum file_kind kind;
    if (db->compiled) {
        set_err(err, errlen, "%s: the signature database is already compiled", path);
        return -1;
    }
    if (ends_with(path, ".hdb") || ends_with(path, ".hsb")) {
        kind = FK_HASH;
    } else if (ends_with(path, ".ndb")) {
        kind = FK_NDB;
    } else {
        set_err(err, errlen, "%s: not a signature file (.hdb, .hsb or .ndb)", path);
        return -1;
    }
    struct load *ld = calloc(1, sizeof *ld);
    struct line_reader *r = malloc(sizeof *r);
    char *copy = strdup(path);
    if (!ld || !r || !copy ||
        !grow((void **)&db->files, &db->files_cap, db->nfiles + 1, sizeof *db->files, UINT32_MAX)) {
        set_err(err, errlen, "%s: out of memory", path);
        free(ld), free(r), free(copy);
        return -1;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        set_err(err, errlen, "%s: %s", path, strerror(errno));
        free(ld), free(r), free(copy);
        return -1;
    }
    /* what the database held before: a failed load goes back to it */
    size_t was_hash[HK_COUNT];
    for (int k = 0; k < HK_COUNT; k++)
        was_hash[k] = db->hs[k].n;
    size_t was_sigs = db->nsigs, was_els = db->nels, was_pool = db->pool_len, was_names = db->names_len;

    db->files[db->nfiles] = copy;
    *ld = (struct load){.db = db, .path = path, .file = (uint32_t)db->nfiles++, .warn = warn, .arg = arg};
    r->fd = fd;
    r->start = r->end = 0;
    r->eof = r->skipping = r->skip_comment = false;
    r->lineno = 0;
    int rc;
    const char *line = NULL;
    size_t len = 0;
    while (!ld->fatal && (rc = next_line(r, &line, &len)) != LINE_EOF) {
        ld->lineno = r->lineno;
        if (rc == LINE_ERROR) {
            fatal(ld, "%s", strerror(errno));
            ld->fatal_line = 0;
            break;
        }
        if (rc == LINE_LONG) {
            bad_line(ld, "line longer than %d bytes", SIGS_LINE_MAX);
            continue;
        }
        if (len == 0 || line[0] == '#' || blank(line, len))
            continue;
        if (memchr(line, '\0', len)) {
            bad_line(ld, "NUL byte in line");
            continue;
        }
        if (kind == FK_HASH)
            load_hash_line(ld, line, len);
        else
            load_ndb_line(ld, line, len);
    }
    close(fd);
    long result = ld->loaded;
    if (ld->fatal) {
        if (ld->fatal_line)
            set_err(err, errlen, "%s:%lu: %s", path, ld->fatal_line, ld->fatal_msg);
        else
            set_err(err, errlen, "%s: %s", path, ld->fatal_msg);
        for (int k = 0; k < HK_COUNT; k++)
            db->hs[k].n = was_hash[k];
        db->nsigs = was_sigs, db->nels = was_els, db->pool_len = was_pool;
        db->names_len = was_names;
        free(db->files[--db->nfiles]);
        result = -1;
    }
    free(ld->bytes);
    free(ld);
    free(r);
    return result;
}

/* ---- compiling ---- */

static uint64_t key_hash(const struct sigdb *db, const uint8_t *digest, unsigned dlen, uint64_t size)
{
    uint8_t k[40];
    memcpy(k, digest, dlen);
    memcpy(k + dlen, &size, 8);
    return siphash24(db->key, k, dlen + 8);
}

/* Open addressing at most half full; entries with the same (size, digest)
 * are chained behind the first, so a key is found in one probe sequence. */
static bool build_hash_set(const struct sigdb *db, struct hash_set *hs, unsigned dlen)
{
    if (hs->n == 0)
        return true;
    size_t cap = 16, scap = 16;
    while (cap < hs->n * 2)
        cap *= 2;
    hs->slot = calloc(cap, sizeof *hs->slot);
    if (!hs->slot)
        return false;
    hs->slot_mask = cap - 1;
    size_t nsizes = 0;
    for (size_t i = 0; i < hs->n; i++) {
        hs->ent[i].next = NONE32;
        const uint8_t *d = hs->digest + i * dlen;
        size_t at = key_hash(db, d, dlen, hs->ent[i].size) & hs->slot_mask;
        for (;; at = (at + 1) & hs->slot_mask) {
            uint32_t s = hs->slot[at];
            if (s == 0) {
                hs->slot[at] = (uint32_t)i + 1;
                break;
            }
            struct hash_ent *head = &hs->ent[s - 1];
            if (head->size == hs->ent[i].size && memcmp(hs->digest + (size_t)(s - 1) * dlen, d, dlen) == 0) {
                hs->ent[i].next = head->next;
                head->next = (uint32_t)i;
                break;
            }
        }
        if (hs->ent[i].size == SIZE_ANY)
            hs->any_size = true;
        else
            nsizes++;
    }
    while (scap < nsizes * 2)
        scap *= 2;
    hs->size_slot = malloc(scap * sizeof *hs->size_slot);
    if (!hs->size_slot)
        return false;
    memset(hs->size_slot, 0xff, scap * sizeof *hs->size_slot);
    hs->size_mask = scap - 1;
    for (size_t i = 0; i < hs->n; i++) {
        uint64_t sz = hs->ent[i].size;
        if (sz == SIZE_ANY)
            continue;
        size_t at = siphash24(db->key, &sz, sizeof sz) & hs->size_mask;
        while (hs->size_slot[at] != SIZE_ANY && hs->size_slot[at] != sz)
            at = (at + 1) & hs->size_mask;
        hs->size_slot[at] = sz;
    }
    return true;
}

static bool size_present(const struct sigdb *db, const struct hash_set *hs, uint64_t size)
{
    if (!hs->size_slot)
        return false;
    size_t at = siphash24(db->key, &size, sizeof size) & hs->size_mask;
    for (; hs->size_slot[at] != SIZE_ANY; at = (at + 1) & hs->size_mask)
        if (hs->size_slot[at] == size)
            return true;
    return false;
}

/* Signatures with the same literal share one Hyperscan literal (a group,
 * chained through ndb_sig.next); then the literals are compiled. */
static int build_groups(struct sigdb *db, char *err, size_t errlen)
{
    size_t cap = 16;
    while (cap < db->nsigs * 2)
        cap *= 2;
    uint32_t *slot = calloc(cap, sizeof *slot); /* group index + 1 */
    db->group = malloc(db->nsigs * sizeof *db->group);
    if (!slot || !db->group) {
        free(slot);
        set_err(err, errlen, "out of memory");
        return -1;
    }
    db->ngroups = 0;
    for (size_t i = 0; i < db->nsigs; i++) {
        struct ndb_sig *sg = &db->sigs[i];
        const uint8_t *lit = db->pool + sg->lit;
        size_t at = siphash24(db->key, lit, sg->lit_len) & (cap - 1);
        for (;; at = (at + 1) & (cap - 1)) {
            if (slot[at] == 0) {
                slot[at] = (uint32_t)db->ngroups + 1;
                db->group[db->ngroups++] = (uint32_t)i;
                break;
            }
            struct ndb_sig *head = &db->sigs[db->group[slot[at] - 1]];
            if (head->lit_len == sg->lit_len && memcmp(db->pool + head->lit, lit, sg->lit_len) == 0) {
                sg->next = head->next;
                head->next = (uint32_t)i;
                break;
            }
        }
    }
    free(slot);
    const char **lits = malloc(db->ngroups * sizeof *lits);
    size_t *lens = malloc(db->ngroups * sizeof *lens);
    unsigned *flags = malloc(db->ngroups * sizeof *flags);
    unsigned *ids = malloc(db->ngroups * sizeof *ids);
    int rc = -1;
    if (!lits || !lens || !flags || !ids) {
        set_err(err, errlen, "out of memory");
        goto out;
    }
    for (size_t g = 0; g < db->ngroups; g++) {
        const struct ndb_sig *sg = &db->sigs[db->group[g]];
        lits[g] = (const char *)db->pool + sg->lit;
        lens[g] = sg->lit_len;
        flags[g] = HS_FLAG_SINGLEMATCH;
        ids[g] = (unsigned)g;
    }
    size_t nchunks = (db->ngroups + HS_CHUNK - 1) / HS_CHUNK;
    if (!(db->hsdb = calloc(nchunks, sizeof *db->hsdb))) {
        set_err(err, errlen, "out of memory");
        goto out;
    }
    for (size_t c = 0; c < nchunks; c++) {
        size_t first = c * HS_CHUNK, n = db->ngroups - first < HS_CHUNK ? db->ngroups - first : HS_CHUNK;
        hs_compile_error_t *ce = NULL;
        if (hs_compile_lit_multi(lits + first, flags + first, ids + first, lens + first, (unsigned)n,
                                 HS_MODE_BLOCK, NULL, &db->hsdb[c], &ce) != HS_SUCCESS) {
            set_err(err, errlen, "Hyperscan: %s", ce ? ce->message : "compile failed");
            hs_free_compile_error(ce);
            goto out;
        }
        db->nhsdb++;
        /* one scratch that fits every chunk's database */
        if (hs_alloc_scratch(db->hsdb[c], &db->proto) != HS_SUCCESS) {
            set_err(err, errlen, "Hyperscan: cannot allocate scratch space");
            goto out;
        }
        malloc_trim(0);
    }
    rc = 0;
out:
    free(lits), free(lens), free(flags), free(ids);
    return rc;
}

int sigdb_compile(struct sigdb *db, char *err, size_t errlen)
{
    if (db->compiled) {
        set_err(err, errlen, "the signature database is already compiled");
        return -1;
    }
    for (int k = 0; k < HK_COUNT; k++) {
        if (!build_hash_set(db, &db->hs[k], hash_len[k])) {
            set_err(err, errlen, "out of memory building the hash table");
            goto fail;
        }
        if (db->hs[k].n && !(db->md[k] = EVP_MD_fetch(NULL, hash_md[k], NULL))) {
            set_err(err, errlen, "OpenSSL has no %s", hash_md[k]);
            goto fail;
        }
    }
    db->span_max = 0;
    for (size_t i = 0; i < db->nsigs; i++) {
        const struct ndb_sig *sg = &db->sigs[i];
        uint64_t span = 0;
        for (uint32_t k = 0; k < sg->el_count; k++) {
            const struct sig_el *e = &db->els[sg->el_first + k];
            span = e->kind == EL_GAP && e->wmax == GAP_INF ? 0 : span + e->wmax;
            if (span > db->span_max)
                db->span_max = (uint32_t)span;
        }
    }
    if (db->nsigs > 0 && build_groups(db, err, errlen) < 0)
        goto fail;
    /* Hyperscan's compiler leaves hundreds of MiB of freed heap behind for
     * 100k literals; give it back rather than keep it for the engine's life */
    malloc_trim(0);
    db->compiled = true;
    return 0;
fail:
    hash_tables_free(db);
    for (int k = 0; k < HK_COUNT; k++) {
        EVP_MD_free(db->md[k]);
        db->md[k] = NULL;
        db->hs[k].any_size = false;
    }
    free_hs(db);
    free(db->group);
    db->group = NULL;
    db->ngroups = 0;
    return -1;
}

/* ---- scratch ---- */

struct sigdb_scratch *sigdb_scratch_new(const struct sigdb *db)
{
    if (!db || !db->compiled)
        return NULL;
    struct sigdb_scratch *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->db = db;
    if (db->proto && hs_clone_scratch(db->proto, &s->hs) != HS_SUCCESS)
        goto fail;
    if (db->nsigs && !(s->seen = calloc(db->nsigs, sizeof *s->seen)))
        goto fail;
    if (db->nels) {
        s->work_cap = (size_t)VERIFY_CHUNK + db->span_max + 2;
        if (!(s->work = malloc(2 * s->work_cap)))
            goto fail;
    }
    return s;
fail:
    sigdb_scratch_free(s);
    return NULL;
}

void sigdb_scratch_free(struct sigdb_scratch *s)
{
    if (!s)
        return;
    hs_free_scratch(s->hs);
    free(s->seen);
    free(s->work);
    free(s->norm);
    free(s);
}

/* ---- the PE header ----
 *
 * Only what the offsets need: the entry point and each section's start and
 * size in the file, computed as ClamAV does (raw offsets aligned down to
 * FileAlignment, falling back to 0x200 when a section is misaligned; the
 * entry point mapped through the last section that holds it, or taken as
 * is inside the headers). Every read is checked against the object. */

struct pe_info {
    int state;                     /* 0 not read, 1 read, -1 not a PE we can read */
    uint32_t ep;                   /* file offset of the entry point */
    uint32_t nsec;
    struct { uint32_t raw, rsz; } sec[SIGS_SECTIONS_MAX];
};

static uint64_t align_down(uint64_t v, uint64_t a) { return a ? v / a * a : v; }
static uint64_t align_up(uint64_t v, uint64_t a) { return a ? (v / a + (v % a != 0)) * a : v; }

static int pe_read(const uint8_t *d, size_t len, struct pe_info *pe)
{
    if (len < 64 || d[0] != 'M' || d[1] != 'Z')
        return -1;
    uint64_t nt = le32(d + 0x3c);
    if (nt > len || len - nt < 24 || memcmp(d + nt, "PE\0\0", 4) != 0)
        return -1;
    uint64_t nsec = le16(d + nt + 6), optsize = le16(d + nt + 20);
    uint64_t opt = nt + 24;
    if (nsec == 0 || nsec > SIGS_SECTIONS_MAX || opt > len || len - opt < 64 || optsize < 64)
        return -1;
    uint64_t magic = le16(d + opt);
    if (magic != 0x10b && magic != 0x20b)
        return -1;
    uint64_t ep_rva = le32(d + opt + 16), valign = le32(d + opt + 32), falign = le32(d + opt + 36);
    uint64_t hdr_size = le32(d + opt + 60);
    uint64_t tab = opt + optsize;
    if (tab > len || (len - tab) / 40 < nsec)
        return -1;
    const uint8_t *sh = d + tab;
    if (falign != 0x200)
        for (uint64_t i = 0; i < nsec; i++)
            if (falign && le32(sh + i * 40 + 16) && le32(sh + i * 40 + 20) % falign && le32(sh + i * 40 + 20) % 0x200 == 0)
                falign = 0x200;
    hdr_size = align_up(hdr_size, valign);
    uint64_t rva[SIGS_SECTIONS_MAX];
    pe->nsec = (uint32_t)nsec;
    for (uint64_t i = 0; i < nsec; i++) {
        const uint8_t *s = sh + i * 40;
        uint64_t raw = align_down(le32(s + 20), falign), rsz = align_up(le32(s + 16), falign);
        rva[i] = align_down(le32(s + 12), valign);
        if (raw >= len)
            rsz = 0;
        else if (rsz > len - raw)
            rsz = len - raw;
        pe->sec[i].raw = (uint32_t)raw;
        pe->sec[i].rsz = (uint32_t)rsz;
    }
    if (ep_rva < hdr_size) {
        if (ep_rva >= len)
            return -1;
        pe->ep = (uint32_t)ep_rva;
        return 1;
    }
    for (uint64_t i = nsec; i-- > 0;) {
        if (pe->sec[i].rsz && rva[i] <= ep_rva && ep_rva - rva[i] < pe->sec[i].rsz) {
            pe->ep = (uint32_t)(ep_rva - rva[i] + pe->sec[i].raw);
            return 1;
        }
    }
    return -1;
}

/* ---- matching ---- */

struct match {
    const struct sigdb *db;
    struct sigdb_scratch *s;
    const uint8_t *raw;            /* the object */
    size_t raw_len;
    const uint8_t *buf;            /* what this pass scans: raw or normalised */
    size_t len;
    enum sig_target target;
    bool text_pass;                /* normalised text: target-3/7 signatures allowed */
    bool text_target;
    sigdb_hit_fn hit;
    void *arg;
    int hits;
    bool stop;
    struct pe_info pe;
};

static bool report(struct match *m, uint32_t name)
{
    m->hits++;
    if (m->hit && m->hit(m->arg, m->db->names + name) != 0)
        m->stop = true;
    return !m->stop;
}

static void match_hashes(struct match *m)
{
    for (int k = 0; k < HK_COUNT && !m->stop; k++) {
        const struct hash_set *hs = &m->db->hs[k];
        if (hs->n == 0 || !(hs->any_size || size_present(m->db, hs, m->raw_len)))
            continue;
        uint8_t d[EVP_MAX_MD_SIZE];
        unsigned dl = 0;
        if (EVP_Digest(m->raw, m->raw_len, d, &dl, m->db->md[k], NULL) != 1 || dl != hash_len[k]) {
            m->hits = -1;
            m->stop = true;
            return;
        }
        uint64_t sizes[2] = {m->raw_len, SIZE_ANY};
        for (int j = 0; j < 2 && !m->stop; j++) {
            if (j == 1 && !hs->any_size)
                break;
            size_t at = key_hash(m->db, d, dl, sizes[j]) & hs->slot_mask;
            for (uint32_t s; (s = hs->slot[at]) != 0; at = (at + 1) & hs->slot_mask) {
                const struct hash_ent *e = &hs->ent[s - 1];
                if (e->size != sizes[j] || memcmp(hs->digest + (size_t)(s - 1) * dl, d, dl) != 0)
                    continue;
                for (uint32_t i = s - 1; i != NONE32 && report(m, hs->ent[i].name); i = hs->ent[i].next)
                    ;
                break;
            }
        }
    }
}

static bool el_bytes_at(const uint8_t *d, const uint8_t *val, const uint8_t *mask, size_t w)
{
    for (size_t i = 0; i < w; i++)
        if ((d[i] & mask[i]) != val[i])
            return false;
    return true;
}

/* One part of the position-set programme: cur holds the positions base+i
 * (i in [*lo, *hi]) where the part may start; nxt gets those where it may
 * end. False when none is left. */
static bool el_step(const struct match *m, const struct sig_el *e, size_t base, size_t n, const uint8_t *cur,
                    uint8_t *nxt, size_t *plo, size_t *phi)
{
    const uint8_t *p = m->db->pool + e->data;
    size_t lo = *plo, hi = *phi;
    if (lo + e->wmin >= n)
        return false;
    size_t nlo = lo + e->wmin, nhi = hi + e->wmax < n - 1 ? hi + e->wmax : n - 1;
    memset(nxt + nlo, 0, nhi - nlo + 1);
    const size_t len = m->len;
    switch (e->kind) {
    case EL_GAP: {
        /* nxt[j] = any cur[i], i in [j - wmax, j - wmin]: a sliding count */
        size_t count = 0;
        for (size_t j = nlo; j <= nhi; j++) {
            size_t in = j - e->wmin; /* enters the window */
            if (in >= lo && in <= hi)
                count += cur[in];
            if (j >= (size_t)e->wmax + 1) {
                size_t out = j - e->wmax - 1; /* leaves it */
                if (out >= lo && out <= hi)
                    count -= cur[out];
            }
            nxt[j] = count > 0;
        }
        break;
    }
    case EL_BYTES:
        for (size_t i = lo; i <= hi; i++)
            if (cur[i] && base + i + e->count <= len && i + e->count < n &&
                el_bytes_at(m->buf + base + i, p, p + e->count, e->count))
                nxt[i + e->count] = 1;
        break;
    case EL_SET:
        for (size_t i = lo; i <= hi; i++)
            if (cur[i] && base + i < len && i + 1 < n && has_bit(p, m->buf[base + i]))
                nxt[i + 1] = 1;
        break;
    case EL_ALT:
    case EL_NALT:
        for (size_t i = lo; i <= hi; i++) {
            if (!cur[i])
                continue;
            const uint8_t *a = p;
            bool any = false;
            for (uint32_t k = 0; k < e->count; k++) {
                size_t w = *a++;
                if (base + i + w <= len && el_bytes_at(m->buf + base + i, a, a + w, w)) {
                    any = true;
                    if (e->kind == EL_ALT && i + w < n)
                        nxt[i + w] = 1;
                }
                a += 2 * w;
            }
            if (e->kind == EL_NALT && !any && base + i + e->wmin <= len && i + e->wmin < n)
                nxt[i + e->wmin] = 1;
        }
        break;
    }
    while (nlo <= nhi && !nxt[nlo])
        nlo++;
    while (nhi > nlo && !nxt[nhi])
        nhi--;
    *plo = nlo;
    *phi = nhi;
    return nlo <= nhi && nxt[nlo];
}

/* Parts [a, b) of a signature (no unbounded gap among them), started at any
 * position in [s_lo, s_hi]: the earliest position where they can end, or
 * SIZE_MAX. With any, the first end found will do. The starts are tried
 * VERIFY_CHUNK at a time so the position sets stay small. */
static size_t verify_segment(struct match *m, const struct sig_el *els, size_t a, size_t b, size_t s_lo, size_t s_hi,
                             uint64_t wmin, uint64_t wmax, bool any)
{
    size_t best = SIZE_MAX;
    uint8_t *cur0 = m->s->work, *nxt0 = m->s->work + m->s->work_cap;
    for (size_t c = s_lo; c <= s_hi;) {
        if (c + wmin > m->len || c + wmin >= best)
            break;
        size_t ce = s_hi - c >= VERIFY_CHUNK ? c + VERIFY_CHUNK - 1 : s_hi;
        size_t n = ce - c + wmax < m->len - c ? ce - c + wmax + 1 : m->len - c + 1;
        uint8_t *cur = cur0, *nxt = nxt0;
        memset(cur, 1, ce - c + 1);
        size_t lo = 0, hi = ce - c;
        bool alive = true;
        for (size_t k = a; k < b && alive; k++) {
            alive = el_step(m, &els[k], c, n, cur, nxt, &lo, &hi);
            uint8_t *t = cur;
            cur = nxt, nxt = t;
        }
        if (alive && c + lo < best) {
            best = c + lo;
            if (any)
                break;
        }
        if (ce == s_hi)
            break;
        c = ce + 1;
    }
    return best;
}

/* Does the signature match with its first byte in [lo, hi]? Exact: the
 * parts as parsed. */
static bool sig_verify(struct match *m, const struct ndb_sig *sg, size_t lo, size_t hi)
{
    const struct sig_el *els = m->db->els + sg->el_first;
    size_t n = sg->el_count, a = 0;
    for (;;) {
        size_t b = a;
        uint64_t wmin = 0, wmax = 0;
        for (; b < n && !(els[b].kind == EL_GAP && els[b].wmax == GAP_INF); b++)
            wmin += els[b].wmin, wmax += els[b].wmax;
        bool last = b == n;
        size_t end = verify_segment(m, els, a, b, lo, hi, wmin, wmax, last);
        if (end == SIZE_MAX)
            return false;
        if (last)
            return true;
        /* after "*" (or {n-}) the rest may start anywhere late enough: the
         * earliest end leaves it the most room */
        if ((uint64_t)end + els[b].wmin > m->len)
            return false;
        lo = end + els[b].wmin;
        hi = m->len;
        a = b + 1;
    }
}

/* The window of first-byte positions a signature's offset allows, or false
 * when it cannot match in this object. */
static bool sig_window(struct match *m, const struct ndb_sig *sg, size_t *lo, size_t *hi)
{
    uint64_t start;
    if (sg->target == SIG_TARGET_PE && sg->off_kind != OFF_ABS && sg->off_kind != OFF_ANY) {
        /* as ClamAV: a PE signature's relative offsets need a readable header */
        if (m->pe.state == 0)
            m->pe.state = pe_read(m->raw, m->raw_len, &m->pe);
        if (m->pe.state < 0)
            return false;
    }
    uint64_t extra = 0;
    switch (sg->off_kind) {
    case OFF_ANY:
        *lo = 0, *hi = m->len;
        return true;
    case OFF_ABS:
        start = sg->off_val;
        break;
    case OFF_EOF:
        if (sg->off_val > m->len)
            return false;
        start = m->len - sg->off_val;
        break;
    case OFF_EP_PLUS:
        start = (uint64_t)m->pe.ep + sg->off_val;
        break;
    case OFF_EP_MINUS:
        if (sg->off_val > m->pe.ep)
            return false;
        start = m->pe.ep - sg->off_val;
        break;
    case OFF_SX:
        if (sg->off_sec >= m->pe.nsec)
            return false;
        start = (uint64_t)m->pe.sec[sg->off_sec].raw + sg->off_val;
        break;
    case OFF_SL:
        start = (uint64_t)m->pe.sec[m->pe.nsec - 1].raw + sg->off_val;
        break;
    case OFF_SE:
        if (sg->off_sec >= m->pe.nsec)
            return false;
        start = m->pe.sec[sg->off_sec].raw;
        extra = m->pe.sec[sg->off_sec].rsz; /* anywhere in the section */
        break;
    default:
        return false;
    }
    if (start > m->len)
        return false;
    uint64_t end = start + extra + sg->shift;
    *lo = (size_t)start;
    *hi = end < m->len ? (size_t)end : m->len;
    return true;
}

/* Hyperscan saw the signature's literal: does the signature match? Every
 * occurrence of the literal where it could stand, given the offset window,
 * allows the starts [p - pre_max, p - pre_min]; sig_verify() tries each such
 * window once (covered marks what was tried). The occurrences are found with
 * memmem from the lowest place the literal could stand, not from Hyperscan's
 * report, which is not promised to be the first. */
static bool sig_check(struct match *m, const struct ndb_sig *sg)
{
    size_t lo, hi;
    if (!sig_window(m, sg, &lo, &hi))
        return false;
    const uint8_t *lit = m->db->pool + sg->lit;
    const size_t L = sg->lit_len, len = m->len;
    const bool unbounded = sg->pre_max == GAP_INF;
    uint64_t from = (uint64_t)lo + sg->pre_min;
    uint64_t end = unbounded ? len : (uint64_t)hi + sg->pre_max + L; /* the literal ends by here */
    if (end > len)
        end = len;
    size_t covered = lo, stretch = 0;
    while (from + L <= end) {
        const uint8_t *q = memmem(m->buf + from, (size_t)(end - from), lit, L);
        if (!q)
            return false;
        size_t p = (size_t)(q - m->buf);
        size_t s_hi = p - sg->pre_min; /* p >= lo + pre_min */
        size_t s_lo = unbounded || p < sg->pre_max ? 0 : p - sg->pre_max;
        if (s_lo < covered)
            s_lo = covered;
        /* A literal that occurs at nearly every byte (a run of zeros) would
         * mean one check per byte: where occurrences follow each other, try
         * a stretch of starts twice as long each time instead (up to a
         * chunk); every start in it is checked exactly all the same. */
        stretch = s_lo < covered + 64 ? (stretch ? stretch * 2 : 64) : 0;
        if (stretch > VERIFY_CHUNK)
            stretch = VERIFY_CHUNK;
        if (s_hi < s_lo + stretch)
            s_hi = s_lo + stretch;
        if (s_hi > hi)
            s_hi = hi;
        if (s_lo <= s_hi) {
            if (sig_verify(m, sg, s_lo, s_hi))
                return true;
            covered = s_hi + 1;
            if (covered > hi)
                return false;
        }
        from = p + 1;
        if (from < (uint64_t)covered + sg->pre_min)
            from = (uint64_t)covered + sg->pre_min; /* all its starts are tried */
    }
    return false;
}

static int on_match(unsigned int id, unsigned long long from, unsigned long long to, unsigned int flags, void *ctx)
{
    (void)from, (void)to, (void)flags;
    struct match *m = ctx;
    for (uint32_t i = m->db->group[id]; i != NONE32; i = m->db->sigs[i].next) {
        const struct ndb_sig *sg = &m->db->sigs[i];
        if (sg->target != SIG_TARGET_ANY && (sg->target != m->target || (m->text_target && !m->text_pass)))
            continue;
        if (m->s->seen[i] == m->s->gen || (!sg->exact && !sig_check(m, sg)))
            continue;
        m->s->seen[i] = m->s->gen;
        if (!report(m, sg->name))
            return 1;
    }
    return 0;
}

/* ClamAV's text normalisation: lowercase, whitespace runs as one space,
 * other control bytes and bytes >= 0x80 dropped. Returns the new length. */
static size_t normalise(const uint8_t *in, size_t len, uint8_t *out)
{
    size_t k = 0;
    bool space = false;
    for (size_t i = 0; i < len; i++) {
        uint8_t c = in[i];
        if (c == ' ' || (c >= '\t' && c <= '\r')) {
            if (!space)
                out[k++] = ' ';
            space = true;
            continue;
        }
        if (c < 0x20 || c >= 0x80)
            continue; /* DEL (0x7f) is kept, as in ClamAV's table */
        space = false;
        out[k++] = c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
    }
    return k;
}

static int scan_pass(struct match *m, const uint8_t *buf, size_t len, bool text_pass)
{
    static const uint8_t empty[1];
    m->buf = len ? buf : empty;
    m->len = len;
    m->text_pass = text_pass;
    for (size_t c = 0; c < m->db->nhsdb && !m->stop; c++) {
        hs_error_t rc = hs_scan(m->db->hsdb[c], (const char *)m->buf, (unsigned)len, 0, m->s->hs, on_match, m);
        if (rc != HS_SUCCESS && rc != HS_SCAN_TERMINATED)
            return -1;
    }
    return 0;
}

int sigdb_match(const struct sigdb *db, struct sigdb_scratch *s, const uint8_t *data, size_t len,
                enum sig_target target, sigdb_hit_fn hit, void *arg)
{
    if (!db || !db->compiled || !s || s->db != db || (!data && len))
        return -1;
    if (len == 0)
        return 0; /* clamscan reports empty files clean, hashes included */
    if (len > UINT_MAX)
        return -1; /* Hyperscan's block mode takes an unsigned length */
    struct match m = {.db = db, .s = s, .raw = data, .raw_len = len, .target = target, .hit = hit, .arg = arg};
    m.text_target = target == SIG_TARGET_HTML || target == SIG_TARGET_ASCII;
    match_hashes(&m);
    if (m.stop || !db->hsdb)
        return m.hits;
    if (++s->gen == 0) {
        memset(s->seen, 0, db->nsigs * sizeof *s->seen);
        s->gen = 1;
    }
    if (!m.text_target)
        return scan_pass(&m, data, len, false) < 0 ? -1 : m.hits;
    if (s->norm_cap < len) {
        uint8_t *p = realloc(s->norm, len);
        if (!p)
            return -1;
        s->norm = p;
        s->norm_cap = len;
    }
    size_t nlen = normalise(data, len, s->norm);
    if (nlen == len && memcmp(s->norm, data, len) == 0)
        return scan_pass(&m, data, len, true) < 0 ? -1 : m.hits;
    if (scan_pass(&m, data, len, false) < 0)
        return -1;
    if (!m.stop && scan_pass(&m, s->norm, nlen, true) < 0)
        return -1;
    return m.hits;
}

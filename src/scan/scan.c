/*
 * scan: the engine's walk. See scan.h for the interface and scan_priv.h for
 * how the readers plug in.
 *
 * One recursive walk: scan_object() types a thing, runs the signatures and the
 * heuristics on it once, fingerprints it, and opens it if it is a container;
 * readers hand what they find back through scan_child(). Every limit is
 * checked here, in one place, so that each reader only has to ask
 * (scan_take, scan_child_budget, scan_should_stop) and stop when told.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "common/strbuf.h"
#include "common/util.h"
#include "scan/scan_priv.h"

struct scan_engine {
    struct scan_options opt;
    struct sigdb *sigs;
    bool ready;
};

struct scan_worker {
    const struct scan_engine *engine;
    struct sigdb_scratch *scratch;
};

/* Limits, one bit each in scan_ctx.limits_hit so each is reported once. */
static const char *const limit_names[] = {"MaxScanSize", "MaxFileSize", "MaxRecursion", "MaxFiles",
                                          "MaxCompressionRatio", "MaxScanTime"};

const char *scan_verdict_name(enum scan_verdict v)
{
    switch (v) {
    case SCAN_CLEAN: return "clean";
    case SCAN_SUSPICIOUS: return "suspicious";
    case SCAN_INFECTED: return "infected";
    default: return "error";
    }
}

void scan_options_default(struct scan_options *opt)
{
    /* ClamAV's defaults, except the ratio (ClamAV has none by that name) and
     * the time, which is ClamAV's MaxScanTime. */
    *opt = (struct scan_options){
        .limits = {.max_scan_size = 400ull << 20, .max_file_size = 100ull << 20,
                   .max_recursion = 17, .max_files = 10000, .max_ratio = 250,
                   .max_scan_time_ms = 120000},
        .heuristics = SCAN_HEUR_ALL,
    };
}

/* ---- the report ---- */

void scan_report_free(struct scan_report *r)
{
    if (!r)
        return;
    free(r->error);
    for (size_t i = 0; i < r->nfindings; i++) {
        free(r->findings[i].name);
        free(r->findings[i].where);
    }
    free(r->findings);
    for (size_t i = 0; i < r->nprints; i++) {
        free(r->prints[i].where);
        free(r->prints[i].name);
    }
    free(r->prints);
    memset(r, 0, sizeof *r);
}

/* A report holds at most this many findings: a message with 10,000 infected
 * members says so in the first 256. */
enum { MAX_FINDINGS = 256, MAX_PRINTS = 4096 };

void scan_found(struct scan_ctx *ctx, enum scan_verdict level, const char *name, const char *where)
{
    struct scan_report *r = ctx->report;
    if (level > r->verdict && r->verdict != SCAN_ERROR)
        r->verdict = level;
    for (size_t i = 0; i < r->nfindings; i++)
        if (strcmp(r->findings[i].name, name) == 0 && strcmp(r->findings[i].where, where) == 0)
            return;
    if (r->nfindings >= MAX_FINDINGS)
        return;
    if ((r->nfindings & (r->nfindings - 1)) == 0) {  /* grow at powers of two */
        size_t cap = r->nfindings ? r->nfindings * 2 : 4;
        struct scan_finding *f = realloc(r->findings, cap * sizeof *f);
        if (!f)
            return;
        r->findings = f;
    }
    char *n = strdup(name), *w = strdup(where);
    if (!n || !w) {
        free(n);
        free(w);
        return;
    }
    r->findings[r->nfindings++] = (struct scan_finding){.name = n, .where = w, .level = level};
}

static void limit_hit(struct scan_ctx *ctx, unsigned bit, const char *where)
{
    if (ctx->limits_hit & (1u << bit))
        return;
    ctx->limits_hit |= 1u << bit;
    char name[64];
    snprintf(name, sizeof name, "Heuristics.Limits.Exceeded.%s", limit_names[bit]);
    scan_found(ctx, SCAN_SUSPICIOUS, name, where);
}

void scan_limit(struct scan_ctx *ctx, const char *limit, const char *where)
{
    for (unsigned i = 0; i < sizeof limit_names / sizeof *limit_names; i++)
        if (strcmp(limit, limit_names[i]) == 0) {
            limit_hit(ctx, i, where);
            return;
        }
    char name[96];
    snprintf(name, sizeof name, "Heuristics.Limits.Exceeded.%s", limit);
    scan_found(ctx, SCAN_SUSPICIOUS, name, where);
}

bool scan_take(struct scan_ctx *ctx, const struct scan_object *at, uint64_t n)
{
    uint64_t max = ctx->engine->opt.limits.max_scan_size;
    if (ctx->stopped)
        return false;
    if (ctx->report->bytes_scanned + n > max) {
        limit_hit(ctx, 0, at->where);
        ctx->stopped = true;
        return false;
    }
    ctx->report->bytes_scanned += n;
    return true;
}

bool scan_should_stop(struct scan_ctx *ctx, const char *where)
{
    if (ctx->stopped)
        return true;
    if (util_now_ns() > ctx->deadline_ns) {
        limit_hit(ctx, 5, where);
        ctx->stopped = true;
    }
    return ctx->stopped;
}

uint64_t scan_child_budget(const struct scan_ctx *ctx, const struct scan_object *parent,
                           const char **limit_name)
{
    const struct scan_limits *l = &ctx->engine->opt.limits;
    uint64_t budget = l->max_file_size;
    *limit_name = "MaxFileSize";
    uint64_t ratio = l->max_ratio ? (uint64_t)l->max_ratio * parent->len : UINT64_MAX;
    if (ratio < (1u << 20))
        ratio = 1u << 20;
    if (l->max_ratio && ratio < budget) {
        budget = ratio;
        *limit_name = "MaxCompressionRatio";
    }
    uint64_t left = l->max_scan_size > ctx->report->bytes_scanned
                        ? l->max_scan_size - ctx->report->bytes_scanned : 0;
    if (left < budget) {
        budget = left;
        *limit_name = "MaxScanSize";
    }
    return budget;
}

bool scan_heuristic_on(const struct scan_ctx *ctx, enum scan_heuristic h)
{
    return (ctx->engine->opt.heuristics & h) != 0;
}

/* ---- fingerprints ---- */

static void hex64(const uint8_t md[32], char out[65])
{
    static const char hx[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hx[md[i] >> 4];
        out[2 * i + 1] = hx[md[i] & 15];
    }
    out[64] = 0;
}

static void sha256_hex(const void *data, size_t len, char out[65])
{
    uint8_t md[32];
    unsigned mdlen = 0;
    EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
    hex64(md, out);
}

/* Size classes grow by halves of powers of two (..., 1024, 1536, 2048, 3072,
 * ...): a worm that pads itself by a few bytes per copy stays in its class. */
static unsigned size_class(uint64_t size)
{
    if (size < 2)
        return (unsigned)size;
    unsigned b = 63 - (unsigned)__builtin_clzll(size);
    unsigned half = b > 0 ? (unsigned)((size >> (b - 1)) & 1) : 0;
    return b * 2 + half;
}

static struct scan_fingerprint *add_print(struct scan_ctx *ctx, const struct scan_object *obj)
{
    struct scan_report *r = ctx->report;
    if (r->nprints >= MAX_PRINTS)
        return NULL;
    if ((r->nprints & (r->nprints - 1)) == 0) {
        size_t cap = r->nprints ? r->nprints * 2 : 4;
        struct scan_fingerprint *p = realloc(r->prints, cap * sizeof *p);
        if (!p)
            return NULL;
        r->prints = p;
    }
    char *w = strdup(obj->where), *n = strdup(obj->name ? obj->name : "");
    if (!w || !n) {
        free(w);
        free(n);
        return NULL;
    }
    struct scan_fingerprint *fp = &r->prints[r->nprints++];
    *fp = (struct scan_fingerprint){.where = w, .name = n, .type = scan_type_name(obj->type),
                                    .size = obj->len};
    sha256_hex(obj->data, obj->len, fp->digest);
    return fp;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The structure of a container: its type, and each direct member's name,
 * type and size class, sorted so that member order does not matter. A leaf's
 * structure is its type and size class. */
static void set_structure(struct scan_ctx *ctx, size_t self, size_t first_child)
{
    struct scan_report *r = ctx->report;
    struct scan_fingerprint *fp = &r->prints[self];
    struct strbuf s = {0};
    strbuf_printf(&s, "%s|%u", fp->type, size_class(fp->size));
    size_t wl = strlen(fp->where);
    size_t n = 0;
    char **lines = NULL;
    for (size_t i = first_child; i < r->nprints; i++) {
        const char *w = r->prints[i].where;
        /* direct children: where is parent's + "/" + one component */
        const char *rest = wl == 0 ? w : (strncmp(w, fp->where, wl) == 0 && w[wl] == '/' ? w + wl + 1 : NULL);
        if (!rest || strchr(rest, '/'))
            continue;
        char *line = NULL;
        if (asprintf(&line, "%s|%s|%u", r->prints[i].name, r->prints[i].type,
                     size_class(r->prints[i].size)) < 0)
            continue;
        char **grown = realloc(lines, (n + 1) * sizeof *lines);
        if (!grown) {
            free(line);
            continue;
        }
        lines = grown;
        lines[n++] = line;
    }
    if (n)
        qsort(lines, n, sizeof *lines, cmp_str);
    for (size_t i = 0; i < n; i++) {
        strbuf_printf(&s, "\n%s", lines[i]);
        free(lines[i]);
    }
    free(lines);
    sha256_hex(strbuf_str(&s), s.len, fp->structure);
    strbuf_free(&s);
}

/* ---- the walk ---- */

static enum sig_target target_of(enum scan_type t)
{
    switch (t) {
    case SCAN_TYPE_PE: return SIG_TARGET_PE;
    case SCAN_TYPE_OLE2: return SIG_TARGET_OLE2;
    case SCAN_TYPE_HTML: return SIG_TARGET_HTML;
    case SCAN_TYPE_MAIL: return SIG_TARGET_MAIL;
    case SCAN_TYPE_GRAPHICS: return SIG_TARGET_GRAPHICS;
    case SCAN_TYPE_ELF: return SIG_TARGET_ELF;
    case SCAN_TYPE_TEXT: case SCAN_TYPE_SCRIPT: return SIG_TARGET_ASCII;
    case SCAN_TYPE_MACHO: return SIG_TARGET_MACHO;
    case SCAN_TYPE_PDF: return SIG_TARGET_PDF;
    default: return SIG_TARGET_ANY;
    }
}

struct hit_arg {
    struct scan_ctx *ctx;
    const char *where;
};

static int on_hit(void *arg, const char *name)
{
    struct hit_arg *h = arg;
    scan_found(h->ctx, SCAN_INFECTED, name, h->where);
    return 0;
}

/* Attachments and members get a fingerprint; the input itself and the text
 * bodies of messages (no name, text or HTML) do not: they are what differs
 * between copies of one outbreak, not what stays the same. */
static bool wants_print(const struct scan_object *obj)
{
    if (obj->depth == 0)
        return false;
    if (obj->name && obj->name[0])
        return true;
    return obj->type != SCAN_TYPE_TEXT && obj->type != SCAN_TYPE_HTML && obj->type != SCAN_TYPE_MAIL;
}

void scan_object(struct scan_ctx *ctx, struct scan_object *obj)
{
    if (scan_should_stop(ctx, obj->where))
        return;
    obj->type = scan_type_detect(obj->data, obj->len);
    ctx->report->files++;

    struct hit_arg ha = {ctx, obj->where};
    if (sigdb_match(ctx->engine->sigs, ctx->worker->scratch, obj->data, obj->len,
                    target_of(obj->type), on_hit, &ha) < 0)
        scan_found(ctx, SCAN_SUSPICIOUS, "Heuristics.Engine.MatchFailed", obj->where);
    heur_object(ctx, obj);

    size_t self = ctx->report->nprints, first_child = 0;
    bool printed = false;
    if (wants_print(obj) && add_print(ctx, obj)) {
        printed = true;
        first_child = ctx->report->nprints;
    }

    /* Containers, and the types that may carry files inside them: text
     * (uuencode, yEnc), HTML (data: URIs), PDF (streams), PE (an archive
     * appended by a self-extractor). */
    bool container = scan_type_is_container(obj->type) || obj->type == SCAN_TYPE_TEXT ||
                     obj->type == SCAN_TYPE_HTML || obj->type == SCAN_TYPE_PDF ||
                     obj->type == SCAN_TYPE_PE;
    if (container && obj->depth >= ctx->engine->opt.limits.max_recursion) {
        if (scan_type_is_container(obj->type))
            limit_hit(ctx, 2, obj->where);
    } else if (container) {
        switch (obj->type) {
        case SCAN_TYPE_MAIL:
            scan_mime(ctx, obj);
            break;
        case SCAN_TYPE_TEXT:
        case SCAN_TYPE_HTML:
            scan_inline(ctx, obj);
            break;
        case SCAN_TYPE_TNEF: case SCAN_TYPE_CHM: case SCAN_TYPE_SZDD: case SCAN_TYPE_RTF:
        case SCAN_TYPE_BINHEX: case SCAN_TYPE_OLE2:
            scan_formats(ctx, obj);
            break;
        case SCAN_TYPE_ARJ:
            scan_arj(ctx, obj);
            break;
        case SCAN_TYPE_SIS:
            scan_sis(ctx, obj);
            break;
        case SCAN_TYPE_PDF:
            scan_pdf(ctx, obj);
            break;
        case SCAN_TYPE_PE:
            scan_sfx(ctx, obj);
            if (!scan_should_stop(ctx, obj->where))
                scan_nsis(ctx, obj);
            break;
        case SCAN_TYPE_ZIP:
            /* libarchive reads what it can; the methods it cannot
             * (Deflate64, Implode) are zipx.c's, which skips the rest. */
            scan_archive(ctx, obj);
            if (!scan_should_stop(ctx, obj->where))
                scan_zip_legacy(ctx, obj);
            break;
        default:
            scan_archive(ctx, obj);
            break;
        }
    }
    if (printed)
        set_structure(ctx, self, first_child);
}

void scan_child(struct scan_ctx *ctx, const struct scan_object *parent, const char *label,
                const uint8_t *data, size_t len, const char *name, const char *declared)
{
    if (scan_should_stop(ctx, parent->where))
        return;
    const struct scan_limits *l = &ctx->engine->opt.limits;
    if (ctx->report->files >= l->max_files) {
        limit_hit(ctx, 3, parent->where);
        ctx->stopped = true;
        return;
    }
    /* The path: parent's, "/", then the label with anything that could
     * confuse a log reader (control bytes, "/") replaced, at most 200 bytes. */
    struct strbuf w = {0};
    if (parent->where[0]) {
        strbuf_puts(&w, parent->where);
        strbuf_add(&w, "/", 1);
    }
    size_t n = 0;
    for (const char *p = label ? label : "?"; *p && n < 200; p++, n++) {
        char c = (unsigned char)*p < 0x20 || *p == 0x7f || *p == '/' ? '_' : *p;
        strbuf_add(&w, &c, 1);
    }
    if (n == 0)
        strbuf_add(&w, "?", 1);
    if (w.err) {
        strbuf_free(&w);
        return;
    }
    /* packed_len marks an archive member (the heuristics tell "in an
     * archive" from "attached" by it): a part of a message, or a block
     * decoded from text, has none. */
    bool unpacked = parent->type != SCAN_TYPE_MAIL && parent->type != SCAN_TYPE_TEXT &&
                    parent->type != SCAN_TYPE_HTML;
    struct scan_object child = {.data = data, .len = len, .name = name, .declared = declared,
                                .where = strbuf_str(&w), .depth = parent->depth + 1,
                                .packed_len = unpacked ? parent->len : 0,
                                .in_executable = parent->in_executable ||
                                                 parent->type == SCAN_TYPE_PE};
    if (len > l->max_file_size) {
        limit_hit(ctx, 1, child.where);
        child.len = l->max_file_size;
    }
    scan_object(ctx, &child);
    strbuf_free(&w);
}

/* ---- engine and worker ---- */

struct scan_engine *scan_engine_new(const struct scan_options *opt)
{
    struct scan_engine *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    if (opt)
        e->opt = *opt;
    else
        scan_options_default(&e->opt);
    e->sigs = sigdb_new();
    if (!e->sigs) {
        free(e);
        return NULL;
    }
    scan_mime_init();
    return e;
}

static bool sig_file_name(const char *name)
{
    size_t n = strlen(name);
    return n > 4 && (strcmp(name + n - 4, ".hdb") == 0 || strcmp(name + n - 4, ".hsb") == 0 ||
                     strcmp(name + n - 4, ".ndb") == 0);
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

long scan_engine_load(struct scan_engine *e, const char *path, scan_warn_fn warn, void *arg,
                      char *err, size_t errlen)
{
    if (e->ready) {
        snprintf(err, errlen, "signatures are already compiled");
        return -1;
    }
    struct stat st;
    if (stat(path, &st) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        if (!sig_file_name(path)) {
            snprintf(err, errlen, "%s: not a .hdb, .hsb or .ndb file", path);
            return -1;
        }
        return sigdb_load_file(e->sigs, path, warn, arg, err, errlen);
    }
    DIR *d = opendir(path);
    if (!d) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    /* Sorted, so that which of two same-named signatures wins never depends
     * on the directory's order. */
    char **names = NULL;
    size_t n = 0;
    struct dirent *de;
    long total = 0;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.' || !sig_file_name(de->d_name))
            continue;
        char **grown = realloc(names, (n + 1) * sizeof *names);
        char *copy = strdup(de->d_name);
        if (!grown || !copy) {
            free(copy);
            if (grown)
                names = grown;
            total = -1;
            snprintf(err, errlen, "out of memory");
            break;
        }
        names = grown;
        names[n++] = copy;
    }
    closedir(d);
    if (total == 0 && n)
        qsort(names, n, sizeof *names, cmp_name);
    for (size_t i = 0; i < n; i++) {
        if (total >= 0) {
            char *full = NULL;
            if (asprintf(&full, "%s/%s", path, names[i]) < 0) {
                snprintf(err, errlen, "out of memory");
                total = -1;
            } else {
                long got = sigdb_load_file(e->sigs, full, warn, arg, err, errlen);
                total = got < 0 ? -1 : total + got;
                free(full);
            }
        }
        free(names[i]);
    }
    free(names);
    return total;
}

int scan_engine_ready(struct scan_engine *e, char *err, size_t errlen)
{
    if (e->ready)
        return 0;
    if (sigdb_compile(e->sigs, err, errlen) != 0)
        return -1;
    e->ready = true;
    return 0;
}

void scan_engine_counts(const struct scan_engine *e, size_t *hashes, size_t *patterns)
{
    sigdb_counts(e->sigs, hashes, patterns);
}

void scan_engine_free(struct scan_engine *e)
{
    if (!e)
        return;
    sigdb_free(e->sigs);
    free(e);
}

struct scan_worker *scan_worker_new(const struct scan_engine *e)
{
    if (!e->ready)
        return NULL;
    struct scan_worker *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->engine = e;
    w->scratch = sigdb_scratch_new(e->sigs);
    if (!w->scratch) {
        free(w);
        return NULL;
    }
    return w;
}

void scan_worker_free(struct scan_worker *w)
{
    if (!w)
        return;
    sigdb_scratch_free(w->scratch);
    free(w);
}

enum scan_verdict scan_memory(struct scan_worker *w, const uint8_t *data, size_t len,
                              const char *name, struct scan_report *r)
{
    memset(r, 0, sizeof *r);
    const struct scan_limits *l = &w->engine->opt.limits;
    struct scan_ctx ctx = {.engine = w->engine, .worker = w, .report = r,
                           .deadline_ns = util_now_ns() + l->max_scan_time_ms * 1000000ull};
    struct scan_object obj = {.data = data ? data : (const uint8_t *)"", .len = len, .name = name,
                              .where = "", .depth = 0};
    if (len > l->max_file_size) {
        limit_hit(&ctx, 1, "");
        obj.len = l->max_file_size;
    }
    scan_object(&ctx, &obj);
    return r->verdict;
}

static void set_error(struct scan_report *r, const char *fmt, const char *a, const char *b)
{
    memset(r, 0, sizeof *r);
    r->verdict = SCAN_ERROR;
    if (asprintf(&r->error, fmt, a, b) < 0)
        r->error = NULL;
}

enum scan_verdict scan_file(struct scan_worker *w, const char *path, struct scan_report *r)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        set_error(r, "%s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return SCAN_ERROR;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        set_error(r, "%s: %s", path, "not a regular file");
        return SCAN_ERROR;
    }
    /* Read at most MaxFileSize + 1 bytes: enough to know it is too large. */
    uint64_t max = w->engine->opt.limits.max_file_size;
    size_t want = (uint64_t)st.st_size < max ? (size_t)st.st_size : (size_t)max + 1;
    uint8_t *buf = malloc(want ? want : 1);
    size_t got = 0;
    while (buf && got < want) {
        ssize_t k = read(fd, buf + got, want - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            if (k < 0) {
                int e = errno;
                close(fd);
                free(buf);
                set_error(r, "%s: %s", path, strerror(e));
                return SCAN_ERROR;
            }
            break;
        }
        got += (size_t)k;
    }
    close(fd);
    if (!buf) {
        set_error(r, "%s: %s", path, "out of memory");
        return SCAN_ERROR;
    }
    const char *base = strrchr(path, '/');
    enum scan_verdict v = scan_memory(w, buf, got, base ? base + 1 : path, r);
    free(buf);
    return v;
}

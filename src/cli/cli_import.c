/*
 * cli_import.c: `rampart list import` and `rampart list export` - rbldnsd
 * data files into a list and back out.
 *
 * import NAME FILE...: each file (gzip or plain, "-" for stdin, "TYPE:FILE"
 * as on rbldnsd's command line) is read line by line by src/store/import.c
 * and written into the list as one batch. Any bad line (rbldnsd's syntax
 * errors, and what a list cannot hold: see store/import.h) is reported as
 * FILE:LINE: reason and refuses the whole import (exit 2, nothing changed)
 * unless --skip-bad. A progress bar goes to a terminal's stderr; a summary
 * to stdout. --replace removes the listings the files no longer hold.
 *
 * export NAME [FILE]: the listings not expired, in rbldnsd's format, written
 * to a temporary file beside FILE, synced, then renamed over it: an rsync
 * mirror or a reloading rbldnsd sees the old file or the new one, never half.
 *
 * Trust boundary: imported files are third-party data (bounded lines, every
 * entry canonicalised); exported files are read by rbldnsd and rampart-dnsbl,
 * and hold only canonical entries and checked TXT templates.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "cli_list.h"
#include "common/json.h"
#include "common/util.h"
#include "store/entry.h"
#include "store/import.h"

enum { MAX_REPORTED = 20, CHUNK = 1 << 20 };

/* ---- import ---- */

/* Records read but not yet written. A chunk is sorted into the listings
 * b-tree's key order (family, entry) before it is applied: a b-tree fills
 * several times faster in order than at random, and rbldnsd files are often
 * in no order at all. The sort is stable (by sequence number), so a later
 * line for the same entry still wins, as it would applied in file order. */
struct pending {
    uint64_t key;                 /* the entry's first 8 bytes, big-endian: most comparisons end here */
    uint32_t entry;               /* offset of its text in the pool */
    uint32_t txt;                 /* offset of its TXT in the pool, or NO_TXT */
    uint32_t line, seq, code;
    uint16_t file;
    uint8_t family, flags;
    int64_t expires;
};

enum {
    P_EXCLUDED = 1, P_CODE = 2, P_TXT = 4, P_MATCH_SHIFT = 3, /* 2 bits: enum store_dn_match */
    NO_TXT = UINT32_MAX,
    CHUNK_RECORDS = 1 << 20,
    CHUNK_POOL = 128 << 20,
};

struct import_run {
    struct cli_ctx *ctx;
    struct store *s;
    struct store_batch *b;
    const struct store_list *list;
    struct store_import *im;
    char **files;
    int file;                     /* index of the file being read */
    unsigned long line;
    bool line_bad;                /* this line was already reported */
    char origin[400];             /* "import FILE:LINE", each audit row's detail */
    int origin_file;              /* the file origin's prefix names, -1: none yet */
    size_t origin_prefix;
    char source[320];
    const char *source_opt;       /* --source */
    int64_t expires;              /* --expires, 0: none */
    uint64_t lines, entries, bad, applied;
    int fatal;
    /* the chunk */
    struct pending *pend;
    size_t npend, cappend;
    char *pool;
    size_t pool_len, pool_cap;
    uint32_t last_txt;
    uint32_t seq;
    /* progress */
    bool progress;
    uint64_t size, done;          /* bytes of this file */
    uint64_t last_draw_ns, start_ns;
};

static void bad_where(struct import_run *r, int file, unsigned long line, const char *why)
{
    if (++r->bad <= MAX_REPORTED) {
        if (r->progress)
            fputs("\r\033[K", r->ctx->err);
        fprintf(r->ctx->err, "%s:%lu: %s\n", r->files[file], line, why);
    }
}

static void bad_line(struct import_run *r, const char *why)
{
    if (r->line_bad)
        return;
    r->line_bad = true;
    bad_where(r, r->file, r->line, why);
}

static void draw_progress(struct import_run *r, bool force)
{
    uint64_t now = util_now_ns();
    if (!force && now - r->last_draw_ns < 100000000u)
        return;
    r->last_draw_ns = now;
    int pct = r->size ? (int)(r->done * 100 / r->size) : 0;
    if (pct > 100)
        pct = 100;
    char bar[21], n[32], e[32];
    for (int i = 0; i < 20; i++)
        bar[i] = i < pct / 5 ? '#' : ' ';
    bar[20] = '\0';
    double secs = (double)(now - r->start_ns) / 1e9;
    fprintf(r->ctx->err, "\r\033[K%.30s %3d%% [%s] %s lines, %s entries written, %.1f s", r->files[r->file], pct,
            bar, cli_count(r->lines, n), cli_count(r->applied, e), secs);
    fflush(r->ctx->err);
}

/* Append s (with its NUL) to the pool; its offset, or NO_TXT when full. */
static uint32_t pool_add(struct import_run *r, const char *s, size_t len)
{
    if (r->pool_len + len + 1 > r->pool_cap) {
        size_t cap = r->pool_cap ? r->pool_cap * 2 : 1 << 20;
        while (cap < r->pool_len + len + 1)
            cap *= 2;
        char *p = cap <= (size_t)UINT32_MAX ? realloc(r->pool, cap) : NULL;
        if (!p)
            return NO_TXT;
        r->pool = p;
        r->pool_cap = cap;
    }
    uint32_t off = (uint32_t)r->pool_len;
    memcpy(r->pool + off, s, len);
    r->pool[off + len] = '\0';
    r->pool_len += len + 1;
    return off;
}

/* The listings b-tree's order (family, then the entry's bytes), then file order. */
static int pending_cmp(const void *a, const void *b, void *pool)
{
    const struct pending *x = a, *y = b;
    if (x->family != y->family)
        return x->family < y->family ? -1 : 1;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    int c = strcmp((const char *)pool + x->entry, (const char *)pool + y->entry);
    if (c)
        return c;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* "import FILE:LINE" into r->origin, cheaply (once per record): the
 * prefix is written when the file changes, the number every time. */
static void set_origin(struct import_run *r, int file, unsigned long line)
{
    if (file != r->origin_file) {
        r->origin_file = file;
        r->origin_prefix = (size_t)snprintf(r->origin, sizeof r->origin - 24, "import %.300s:", r->files[file]);
    }
    size_t n = r->origin_prefix;
    char digits[24];
    int d = 0;
    do
        digits[d++] = (char)('0' + line % 10);
    while ((line /= 10) && d < 20);
    while (d)
        r->origin[n++] = digits[--d];
    r->origin[n] = '\0';
}

/* Sort the chunk and write it into the batch. */
static int apply_chunk(struct import_run *r)
{
    qsort_r(r->pend, r->npend, sizeof *r->pend, pending_cmp, r->pool);
    int last_file = -1;
    for (size_t i = 0; i < r->npend && !r->fatal; i++) {
        const struct pending *x = &r->pend[i];
        struct store_parsed p;
        const char *text = r->pool + x->entry;
        p.len = strlen(text);
        memcpy(p.text, text, p.len + 1);
        p.family = (enum store_family)x->family;
        p.excluded = x->flags & P_EXCLUDED;
        p.match = (enum store_dn_match)(x->flags >> P_MATCH_SHIFT & 3);
        p.prefix = 0;
        struct store_values v = {.set = STORE_SET_SOURCE, .source = r->source};
        if (x->file != last_file) {
            last_file = x->file;
            if (r->source_opt) {
                snprintf(r->source, sizeof r->source, "%s", r->source_opt);
            } else {
                const char *f = r->files[x->file], *slash = strrchr(f, '/');
                snprintf(r->source, sizeof r->source, "import:%.300s",
                         strcmp(f, "-") == 0 ? "stdin" : slash ? slash + 1 : f);
            }
        }
        if (x->flags & P_CODE) {
            v.set |= STORE_SET_CODE;
            v.code = x->code;
        }
        if (x->flags & P_TXT) {
            v.set |= STORE_SET_TXT;
            v.txt = x->txt == NO_TXT ? NULL : r->pool + x->txt;
        }
        if (x->expires) {
            v.set |= STORE_SET_EXPIRES;
            v.expires = x->expires;
        }
        set_origin(r, x->file, x->line);
        enum store_outcome outcome;
        int rc = store_batch_add(r->b, &p, &v, &outcome);
        if (rc == STORE_EINVAL)
            bad_where(r, x->file, x->line, store_error(r->s));
        else if (rc < 0)
            r->fatal = rc;
        r->applied++;
        if (r->progress && (r->applied & 0xffff) == 0)
            draw_progress(r, false);
    }
    r->npend = 0;
    r->pool_len = 0;
    r->last_txt = NO_TXT;
    return r->fatal ? -1 : 0;
}

static int import_emit(void *arg, const struct store_import_rec *rec)
{
    struct import_run *r = arg;
    char e[300];
    if (store_list_check_entry(r->list, &rec->p, e, sizeof e) < 0) {
        bad_line(r, e);
        return 0;
    }
    if (r->npend == r->cappend) {
        size_t cap = r->cappend ? r->cappend * 2 : 4096;
        struct pending *p = realloc(r->pend, cap * sizeof *p);
        if (!p) {
            r->fatal = STORE_EDB;
            cli_list_error(r->ctx, "import", "out of memory");
            return 1;
        }
        r->pend = p;
        r->cappend = cap;
    }
    struct pending *x = &r->pend[r->npend];
    memset(x, 0, sizeof *x);
    x->entry = pool_add(r, rec->p.text, rec->p.len);
    x->txt = NO_TXT;
    if (rec->has_txt && rec->txt) {
        /* most entries share their file's default TXT: keep one copy */
        if (r->last_txt != NO_TXT && strcmp(r->pool + r->last_txt, rec->txt) == 0)
            x->txt = r->last_txt;
        else
            x->txt = r->last_txt = pool_add(r, rec->txt, strlen(rec->txt));
    }
    if (x->entry == NO_TXT || (rec->has_txt && rec->txt && x->txt == NO_TXT)) {
        r->fatal = STORE_EDB;
        cli_list_error(r->ctx, "import", "out of memory");
        return 1;
    }
    for (int i = 0; i < 8; i++)
        x->key = x->key << 8 | (uint8_t)(i < (int)rec->p.len ? rec->p.text[i] : 0);
    x->family = (uint8_t)rec->p.family;
    x->flags = (uint8_t)((rec->p.excluded ? P_EXCLUDED : 0) | (rec->has_code ? P_CODE : 0) |
                         (rec->has_txt ? P_TXT : 0) | rec->p.match << P_MATCH_SHIFT);
    x->code = rec->code;
    x->line = (uint32_t)r->line;
    x->file = (uint16_t)r->file;
    x->seq = r->seq++;
    int64_t exp = rec->expires;
    if (r->expires && (!exp || r->expires < exp))
        exp = r->expires;
    x->expires = exp;
    r->npend++;
    r->entries++;
    if ((r->npend >= CHUNK_RECORDS || r->pool_len >= CHUNK_POOL) && apply_chunk(r) < 0)
        return 1;
    return 0;
}

/* Feed one line to the parser. */
static int import_line(struct import_run *r, const char *line, size_t len)
{
    r->line++;
    r->lines++;
    r->line_bad = false;
    char err[400];
    int rc = store_import_line(r->im, line, len, import_emit, r, err, sizeof err);
    if (rc == STORE_EINVAL)
        bad_line(r, err);
    else if (rc && !r->fatal)
        r->fatal = STORE_EDB;
    return r->fatal ? -1 : 0;
}

/* Read a file (gzip or plain) line by line. Returns 0, or -1 with a message
 * printed (unreadable file) or r->fatal set. */
static int import_file(struct import_run *r, const char *path)
{
    int fd = strcmp(path, "-") == 0 ? dup(STDIN_FILENO) : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        cli_list_error(r->ctx, "import", "%s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    r->size = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
    r->done = 0;
    gzFile gz = gzdopen(fd, "rb");
    if (!gz) {
        close(fd);
        cli_list_error(r->ctx, "import", "%s: out of memory", path);
        return -1;
    }
    gzbuffer(gz, 256 * 1024);
    char *buf = malloc(CHUNK + STORE_IMPORT_MAX_LINE + 2);
    if (!buf) {
        gzclose(gz);
        cli_list_error(r->ctx, "import", "out of memory");
        return -1;
    }
    r->line = 0;
    store_import_next_file(r->im);
    size_t have = 0;
    bool skipping = false; /* inside an over-long line */
    int rc = 0;
    for (;;) {
        int got = gzread(gz, buf + have, CHUNK);
        if (got < 0) {
            int e;
            cli_list_error(r->ctx, "import", "%s: %s", path, gzerror(gz, &e));
            rc = -1;
            break;
        }
        size_t end = have + (size_t)got;
        bool eof = got == 0;
        if (eof && end > 0 && buf[end - 1] != '\n')
            buf[end++] = '\n'; /* the last line without a newline */
        size_t start = 0;
        char *nl;
        while (rc == 0 && (nl = memchr(buf + start, '\n', end - start))) {
            size_t len = (size_t)(nl - (buf + start));
            if (skipping)
                skipping = false;
            else if (import_line(r, buf + start, len) < 0)
                rc = -1;
            start += len + 1;
            if (r->progress && (r->lines & 0xffff) == 0) {
                r->done = (uint64_t)gzoffset(gz);
                draw_progress(r, false);
            }
        }
        if (rc)
            break;
        have = end - start;
        if (have > STORE_IMPORT_MAX_LINE) {
            /* an over-long line: the parser refuses it; skip to its end */
            if (import_line(r, buf + start, have) < 0) {
                rc = -1;
                break;
            }
            skipping = true;
            have = 0;
            start = end;
        }
        memmove(buf, buf + start, have);
        if (eof)
            break;
    }
    free(buf);
    gzclose(gz);
    return rc;
}

static const struct cli_opt_spec import_opts[] = {
    {"--type", true},   {"--subzone", true}, {"--replace", false}, {"--skip-bad", false},
    {"--expires", true}, {"--source", true}, {"--reason", true},   {"--actor", true},
    {"--quiet", false}, {NULL, false},
};

int cli_list_import(struct cli_ctx *ctx, int argc, char **argv)
{
    struct cli_opts o;
    struct store *s = NULL;
    struct store_import *im = NULL;
    struct store_batch *b = NULL;
    struct import_run run = {.ctx = ctx, .last_txt = NO_TXT, .origin_file = -1};
    struct store_list l;
    int rc = cli_opts_parse(ctx, "import", import_opts, argc, argv, &o);
    if (rc != CLI_OK)
        goto out;
    rc = CLI_USAGE;
    if (o.npos < 2) {
        cli_list_error(ctx, "import", "needs a list name and at least one rbldnsd data file (- for stdin)");
        goto out;
    }
    char e[400];
    const char *type = cli_opt(&o, import_opts, "--type");
    if (type && !store_import_type_known(type)) {
        cli_list_error(ctx, "import", "unknown --type %s (ip4set, ip4tset, ip4trie, ip6tset, ip6trie, dnset, "
                                      "generic, combined, acl)", type);
        goto out;
    }
    /* "TYPE:FILE" as on rbldnsd's command line: every file must agree */
    for (int i = 1; i < o.npos; i++) {
        char *colon = strchr(o.pos[i], ':');
        if (!colon)
            continue;
        *colon = '\0';
        bool known = store_import_type_known(o.pos[i]);
        if (known && type && strcmp(type, o.pos[i]) != 0) {
            cli_list_error(ctx, "import", "files of two types (%s, %s): import them separately", type, o.pos[i]);
            goto out;
        }
        if (known) {
            type = o.pos[i];
            o.pos[i] = colon + 1;
        } else {
            *colon = ':';
        }
    }
    int64_t now = (int64_t)time(NULL), expires = 0;
    const char *x;
    if ((x = cli_opt(&o, import_opts, "--expires"))) {
        uint32_t secs;
        if (util_parse_duration(x, strlen(x), &secs) < 0 || secs == 0) {
            cli_list_error(ctx, "import", "malformed --expires %s (a duration such as 7d or 12h)", x);
            goto out;
        }
        expires = now + secs;
    }
    const char *reason = cli_opt(&o, import_opts, "--reason");
    const char *source = cli_opt(&o, import_opts, "--source");
    if ((reason && store_text_check("--reason", reason, e, sizeof e) < 0) ||
        (source && store_text_check("--source", source, e, sizeof e) < 0)) {
        cli_list_error(ctx, "import", "%s", e);
        goto out;
    }
    if ((rc = cli_db_open(ctx, "import", true, false, &s)) != CLI_OK)
        goto out;
    int r = store_list_get(s, o.pos[0], &l);
    if (r < 0) {
        cli_list_error(ctx, "import", "%s", store_error(s));
        rc = cli_store_status(r);
        goto out;
    }
    if (!type)
        type = cli_default_type(l.kind, false);
    im = store_import_new(type, cli_opt(&o, import_opts, "--subzone"), now, e, sizeof e);
    if (!im) {
        cli_list_error(ctx, "import", "%s", e);
        rc = CLI_USAGE;
        goto out;
    }
    char actor[64];
    run.s = s;
    run.list = &l;
    run.im = im;
    run.files = o.pos + 1;
    run.source_opt = source;
    run.expires = expires;
    struct store_batch_info info = {
        .list = l.name,
        .actor = cli_actor(cli_opt(&o, import_opts, "--actor"), actor),
        .reason = reason ? reason : "",
        .origin = run.origin,
        .track_seen = cli_flag(&o, import_opts, "--replace"),
    };
    if ((r = store_batch_begin(s, &info, &b)) < 0) {
        cli_list_error(ctx, "import", "%s", store_error(s));
        rc = cli_store_status(r);
        goto out;
    }
    run.b = b;
    run.progress = isatty(fileno(ctx->err)) && !cli_flag(&o, import_opts, "--quiet") && !ctx->json;
    run.start_ns = util_now_ns();
    bool unreadable = false;
    if (o.npos - 1 > UINT16_MAX) {
        cli_list_error(ctx, "import", "more than %d files: import them in parts", UINT16_MAX);
        goto out;
    }
    for (int i = 1; i < o.npos && !run.fatal && !unreadable; i++) {
        run.file = i - 1;
        if (import_file(&run, o.pos[i]) < 0 && !run.fatal)
            unreadable = true;
    }
    if (!run.fatal && !unreadable && !(run.bad && !cli_flag(&o, import_opts, "--skip-bad")))
        apply_chunk(&run);
    if (run.progress) {
        draw_progress(&run, true);
        fputs("\r\033[K", ctx->err);
    }
    if (unreadable || run.fatal) {
        if (run.fatal)
            cli_list_error(ctx, "import", "%s", store_error(s));
        cli_list_error(ctx, "import", "nothing imported");
        rc = run.fatal ? cli_store_status(run.fatal) : CLI_USAGE;
        goto out;
    }
    char n1[32], n2[32];
    if (run.bad && !cli_flag(&o, import_opts, "--skip-bad")) {
        if (run.bad > MAX_REPORTED)
            cli_list_error(ctx, "import", "... and %s more bad lines", cli_count(run.bad - MAX_REPORTED, n1));
        cli_list_error(ctx, "import", "nothing imported: %s bad line%s (--skip-bad imports the rest)",
                       cli_count(run.bad, n1), run.bad == 1 ? "" : "s");
        rc = CLI_USAGE;
        goto out;
    }
    uint64_t removed = 0;
    if (info.track_seen && (r = store_batch_remove_unseen(b, &removed)) < 0) {
        cli_list_error(ctx, "import", "%s; nothing imported", store_error(s));
        rc = cli_store_status(r);
        goto out;
    }
    struct store_batch_counts c;
    store_batch_counts(b, &c);
    struct store_import_stats ist;
    store_import_stats(im, &ist);
    r = store_batch_commit(b);
    b = NULL;
    if (r < 0) {
        cli_list_error(ctx, "import", "%s; nothing imported", store_error(s));
        rc = cli_store_status(r);
        goto out;
    }
    double secs = (double)(util_now_ns() - run.start_ns) / 1e9;
    if (ctx->json) {
        struct strbuf j = {0};
        strbuf_puts(&j, "{");
        strbuf_puts(&j, "\"list\":");
        json_cstring(&j, l.name);
        strbuf_puts(&j, ",\"type\":");
        json_cstring(&j, type);
        strbuf_printf(&j,
                      ",\"files\":%d,\"lines\":%" PRIu64 ",\"entries\":%" PRIu64 ",\"added\":%" PRIu64
                      ",\"changed\":%" PRIu64 ",\"unchanged\":%" PRIu64 ",\"removed\":%" PRIu64
                      ",\"bad_lines\":%" PRIu64 ",\"ignored_specials\":%" PRIu64 ",\"skipped_lines\":%" PRIu64
                      ",\"serial\":%" PRIu64 ",\"journal_reset\":%s,\"seconds\":%.3f}",
                      o.npos - 1, run.lines, run.entries, c.added, c.changed, c.unchanged, removed, run.bad,
                      ist.specials_ignored, ist.skipped_lines, c.serial, c.journal_reset ? "true" : "false", secs);
        fprintf(ctx->out, "%s\n", j.err ? "{\"error\":\"out of memory\"}" : strbuf_str(&j));
        strbuf_free(&j);
    } else {
        char a[32], ch[32], u[32], rm[32], bad[32];
        fprintf(ctx->out, "imported %s: %s lines, %s entries (%s) in %.1f s\n", l.name, cli_count(run.lines, n1),
                cli_count(run.entries, n2), type, secs);
        fprintf(ctx->out, "  %s added, %s changed, %s unchanged, %s removed; serial %" PRIu64 "\n",
                cli_count(c.added, a), cli_count(c.changed, ch), cli_count(c.unchanged, u), cli_count(removed, rm),
                c.serial);
        if (run.bad)
            fprintf(ctx->out, "  %s bad line%s skipped\n", cli_count(run.bad, bad), run.bad == 1 ? "" : "s");
        if (ist.specials_ignored)
            fprintf(ctx->out, "  %s $SOA/$NS/$TTL line%s ignored (the list's own settings apply)\n",
                    cli_count(ist.specials_ignored, bad), ist.specials_ignored == 1 ? "" : "s");
        if (ist.skipped_sections)
            fprintf(ctx->out, "  %s combined section%s for other subzones skipped (%s line%s)\n",
                    cli_count(ist.skipped_sections, a), ist.skipped_sections == 1 ? "" : "s",
                    cli_count(ist.skipped_lines, bad), ist.skipped_lines == 1 ? "" : "s");
        if (c.journal_reset)
            fprintf(ctx->out, "  more changes than the journal keeps: readers reload the list\n");
    }
    rc = CLI_OK;
out:
    free(run.pend);
    free(run.pool);
    store_batch_abort(b);
    store_import_free(im);
    store_close(s);
    free(o.pos);
    return rc;
}

/* ---- export ---- */

struct export_run {
    FILE *f;
    const struct store_list *l;
    bool combined;
    enum store_family section;    /* combined: the section being written */
    uint64_t n;
};

static void default_line(FILE *f, const struct store_list *l)
{
    char code[16];
    store_code_format(l->code, code);
    fprintf(f, ":%s:%s\n", code, l->txt);
}

static int export_row(void *arg, const struct store_listing *x)
{
    struct export_run *r = arg;
    if (r->combined && x->family != r->section) {
        static const char *const types[] = {"", "ip4trie", "ip6trie", "dnset"};
        r->section = x->family;
        fprintf(r->f, "$DATASET %s @\n$TTL %u\n", types[x->family], r->l->ttl);
        default_line(r->f, r->l);
    }
    if (x->e.excluded) {
        fprintf(r->f, "!%s\n", x->e.entry);
    } else if (x->e.code || x->e.txt) {
        char code[16];
        store_code_format(x->e.code ? x->e.code : r->l->code, code);
        /* ":A" keeps the default TXT (the list's template); ":A:TXT" is the entry's own */
        fprintf(r->f, "%s :%s%s%s\n", x->e.entry, code, x->e.txt ? ":" : "", x->e.txt ? x->e.txt : "");
    } else {
        fprintf(r->f, "%s\n", x->e.entry);
    }
    r->n++;
    return ferror(r->f) ? 1 : 0;
}

static const struct cli_opt_spec export_opts[] = {{"--type", true}, {NULL, false}};

int cli_list_export(struct cli_ctx *ctx, int argc, char **argv)
{
    struct cli_opts o;
    struct store *s = NULL;
    char *tmp = NULL;
    FILE *f = NULL;
    int rc = cli_opts_parse(ctx, "export", export_opts, argc, argv, &o);
    if (rc != CLI_OK)
        goto out;
    rc = CLI_USAGE;
    if (o.npos < 1 || o.npos > 2) {
        cli_list_error(ctx, "export", "takes a list name and optionally a file (default: stdout)");
        goto out;
    }
    if ((rc = cli_db_open(ctx, "export", false, false, &s)) != CLI_OK)
        goto out;
    struct store_list l;
    int r = store_list_get(s, o.pos[0], &l);
    if (r < 0) {
        cli_list_error(ctx, "export", "%s", store_error(s));
        rc = cli_store_status(r);
        goto out;
    }
    const char *type = cli_opt(&o, export_opts, "--type");
    const char *def = cli_default_type(l.kind, true);
    if (!type)
        type = def;
    if (strcmp(type, def) != 0 && !(l.kind == STORE_IP4 && strcmp(type, "ip4set") == 0)) {
        cli_list_error(ctx, "export", "a list of kind %s exports as %s%s, not %s", store_kind_name(l.kind), def,
                       l.kind == STORE_IP4 ? " or ip4set" : "", type);
        rc = CLI_USAGE;
        goto out;
    }
    const char *path = o.npos == 2 && strcmp(o.pos[1], "-") != 0 ? o.pos[1] : NULL;
    if (path) {
        /* a hidden temporary beside the target, renamed over it when complete */
        char *copy1 = strdup(path), *copy2 = strdup(path);
        if (!copy1 || !copy2 || asprintf(&tmp, "%s/.%s.XXXXXX", dirname(copy1), basename(copy2)) < 0)
            tmp = NULL;
        free(copy1);
        free(copy2);
        int fd = tmp ? mkstemp(tmp) : -1;
        if (fd < 0) {
            cli_list_error(ctx, "export", "cannot write beside %s: %s", path, strerror(errno));
            free(tmp);
            tmp = NULL;
            rc = CLI_FAILED;
            goto out;
        }
        fchmod(fd, 0644); /* rbldnsd reads it as its own user */
        f = fdopen(fd, "w");
        if (!f) {
            close(fd);
            cli_list_error(ctx, "export", "%s: %s", tmp, strerror(errno));
            rc = CLI_FAILED;
            goto out;
        }
    }
    FILE *w = f ? f : ctx->out;
    char when[32];
    int64_t now = store_now(s);
    cli_format_time(now, when);
    fprintf(w, "# rampart list export: list %s, zone %s, kind %s, as rbldnsd %s\n", l.name, l.zone,
            store_kind_name(l.kind), type);
    fprintf(w, "# written %s UTC; listings that expire later are included\n", when);
    struct export_run run = {.f = w, .l = &l, .combined = l.kind == STORE_COMBINED};
    if (!run.combined) {
        fprintf(w, "$TTL %u\n", l.ttl);
        default_line(w, &l);
    }
    uint64_t serial = 0;
    r = store_listings_full(s, l.id, now, &serial, export_row, &run);
    fprintf(w, "# serial %" PRIu64 ", %" PRIu64 " listings\n", serial, run.n);
    if (r < 0 || r == 1 || fflush(w) != 0 || ferror(w) || (f && fsync(fileno(f)) != 0)) {
        if (r < 0)
            cli_list_error(ctx, "export", "%s", store_error(s));
        else
            cli_list_error(ctx, "export", "writing %s: %s", tmp ? tmp : "stdout", strerror(errno));
        rc = CLI_FAILED;
        goto out;
    }
    if (f) {
        int closed = fclose(f);
        f = NULL;
        if (closed != 0 || rename(tmp, path) != 0) {
            cli_list_error(ctx, "export", "writing %s: %s", path, strerror(errno));
            rc = CLI_FAILED;
            goto out;
        }
        free(tmp);
        tmp = NULL;
        /* make the rename itself durable */
        char *copy = strdup(path);
        int dfd = copy ? open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
        free(copy);
        char n[32];
        if (ctx->json) {
            struct strbuf j = {0};
            strbuf_puts(&j, "{\"list\":");
            json_cstring(&j, l.name);
            strbuf_puts(&j, ",\"file\":");
            json_cstring(&j, path);
            strbuf_puts(&j, ",\"type\":");
            json_cstring(&j, type);
            strbuf_printf(&j, ",\"listings\":%" PRIu64 ",\"serial\":%" PRIu64 "}", run.n, serial);
            fprintf(ctx->out, "%s\n", strbuf_str(&j));
            strbuf_free(&j);
        } else {
            fprintf(ctx->out, "exported %s listings of %s (serial %" PRIu64 ") to %s as %s\n",
                    cli_count(run.n, n), l.name, serial, path, type);
        }
    }
    rc = CLI_OK;
out:
    if (f)
        fclose(f);
    if (tmp) {
        unlink(tmp);
        free(tmp);
    }
    store_close(s);
    free(o.pos);
    return rc;
}

/*
 * rampart scan: the scanning engine (src/scan) on files, for an operator.
 *
 *   rampart scan [--sigs DIR|FILE]... [--json] [-r] [--no-heuristics]
 *                [--no-heuristic NAME]... PATH...
 *
 * One line per file: "PATH: clean", "PATH: infected NAME [WHERE], ...",
 * "PATH: error REASON"; with --json one JSON object per line (file, verdict,
 * names and where as parallel lists, findings, fingerprints, error). On a
 * terminal a summary follows. A directory is scanned one level deep, or
 * whole with -r (symbolic links inside it are not followed). Exit status:
 * 0 everything clean, 1 something found, 2 an error (which wins: a file
 * that could not be scanned is not vouched for).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/util.h"
#include "scan/scan.h"

static const struct {
    const char *name;
    unsigned bit;
} heuristic_names[] = {
    {"executable", SCAN_HEUR_EXECUTABLE},   {"double-extension", SCAN_HEUR_DOUBLE_EXT},
    {"type-mismatch", SCAN_HEUR_TYPE_MISMATCH}, {"html", SCAN_HEUR_HTML_LAUNCH},
    {"forged-admin", SCAN_HEUR_FORGED_ADMIN}, {"gtube", SCAN_HEUR_GTUBE},
    {"encrypted", SCAN_HEUR_ENCRYPTED},
};

struct scan_run {
    struct cli_ctx *ctx;
    struct scan_worker *worker;
    bool recursive;
    unsigned long files, clean, suspicious, infected, errors;
    uint64_t bytes;
};

static void print_text(struct scan_run *run, const char *path, const struct scan_report *r)
{
    FILE *out = run->ctx->out;
    fprintf(out, "%s: %s", path, scan_verdict_name(r->verdict));
    if (r->verdict == SCAN_ERROR)
        fprintf(out, " %s", r->error ? r->error : "unknown error");
    for (size_t i = 0; i < r->nfindings; i++)
        fprintf(out, "%s %s%s%s%s", i ? "," : "", r->findings[i].name, r->findings[i].where[0] ? " [" : "",
                r->findings[i].where, r->findings[i].where[0] ? "]" : "");
    fputc('\n', out);
}

static void print_json(struct scan_run *run, const char *path, const struct scan_report *r)
{
    struct strbuf b = {0};
    strbuf_puts(&b, "{\"file\":");
    json_cstring(&b, path);
    strbuf_puts(&b, ",\"verdict\":");
    json_cstring(&b, scan_verdict_name(r->verdict));
    strbuf_puts(&b, ",\"names\":[");
    for (size_t i = 0; i < r->nfindings; i++) {
        if (i)
            strbuf_puts(&b, ",");
        json_cstring(&b, r->findings[i].name);
    }
    strbuf_puts(&b, "],\"where\":[");
    for (size_t i = 0; i < r->nfindings; i++) {
        if (i)
            strbuf_puts(&b, ",");
        json_cstring(&b, r->findings[i].where);
    }
    strbuf_puts(&b, "],\"findings\":[");
    for (size_t i = 0; i < r->nfindings; i++) {
        strbuf_puts(&b, i ? ",{\"name\":" : "{\"name\":");
        json_cstring(&b, r->findings[i].name);
        strbuf_puts(&b, ",\"level\":");
        json_cstring(&b, scan_verdict_name(r->findings[i].level));
        strbuf_puts(&b, ",\"where\":");
        json_cstring(&b, r->findings[i].where);
        strbuf_puts(&b, "}");
    }
    strbuf_puts(&b, "],\"fingerprints\":[");
    for (size_t i = 0; i < r->nprints; i++) {
        const struct scan_fingerprint *p = &r->prints[i];
        strbuf_puts(&b, i ? ",{\"where\":" : "{\"where\":");
        json_cstring(&b, p->where);
        strbuf_puts(&b, ",\"name\":");
        json_cstring(&b, p->name);
        strbuf_printf(&b, ",\"type\":\"%s\",\"size\":%llu,\"digest\":\"%s\",\"structure\":\"%s\"}",
                      p->type, (unsigned long long)p->size, p->digest, p->structure);
    }
    strbuf_puts(&b, "]");
    if (r->error) {
        strbuf_puts(&b, ",\"error\":");
        json_cstring(&b, r->error);
    }
    strbuf_puts(&b, "}\n");
    fputs(strbuf_str(&b), run->ctx->out);
    strbuf_free(&b);
}

static void scan_one(struct scan_run *run, const char *path)
{
    struct scan_report r;
    scan_file(run->worker, path, &r);
    run->files++;
    run->bytes += r.bytes_scanned;
    switch (r.verdict) {
    case SCAN_CLEAN: run->clean++; break;
    case SCAN_SUSPICIOUS: run->suspicious++; break;
    case SCAN_INFECTED: run->infected++; break;
    default: run->errors++; break;
    }
    if (run->ctx->json)
        print_json(run, path, &r);
    else
        print_text(run, path, &r);
    scan_report_free(&r);
}

static void report_error(struct scan_run *run, const char *path, const char *why)
{
    struct scan_report r = {.verdict = SCAN_ERROR, .error = NULL};
    char *msg = NULL;
    if (asprintf(&msg, "%s: %s", path, why) >= 0)
        r.error = msg;
    run->files++;
    run->errors++;
    if (run->ctx->json)
        print_json(run, path, &r);
    else
        print_text(run, path, &r);
    free(msg);
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Bounded depth: a directory tree deeper than this is reported, not walked. */
enum { MAX_DIR_DEPTH = 64 };

static void scan_dir(struct scan_run *run, const char *dir, int depth)
{
    DIR *d = opendir(dir);
    if (!d) {
        report_error(run, dir, strerror(errno));
        return;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **g = realloc(names, cap * sizeof *names);
            if (!g)
                break;
            names = g;
        }
        char *full = NULL;
        if (asprintf(&full, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", de->d_name) < 0)
            break;
        names[n++] = full;
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof *names, cmp_names);
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (lstat(names[i], &st) != 0) {
            report_error(run, names[i], strerror(errno));
        } else if (S_ISREG(st.st_mode)) {
            scan_one(run, names[i]);
        } else if (S_ISDIR(st.st_mode) && run->recursive) {
            if (depth + 1 >= MAX_DIR_DEPTH)
                report_error(run, names[i], "directory nesting too deep");
            else
                scan_dir(run, names[i], depth + 1);
        }
        free(names[i]);
    }
    free(names);
}

static void warn_sig(void *arg, const char *message)
{
    fprintf((FILE *)arg, "rampart scan: %s\n", message);
}

int cli_scan(struct cli_ctx *ctx, int argc, char **argv)
{
    /* Messages and members come and go in buffers of any size. glibc raises
     * its mmap threshold as large blocks are freed, after which they come
     * from the heap and leave it fragmented: scanning 6,000 messages grew
     * to 42 MiB. A fixed threshold keeps blocks over 256 KiB mapped and
     * returned on free (33 MiB; bench/scan). */
    mallopt(M_MMAP_THRESHOLD, 256 * 1024);
    struct scan_options opt;
    scan_options_default(&opt);
    const char **sigs = calloc((size_t)argc + 1, sizeof *sigs);
    const char **paths = calloc((size_t)argc + 1, sizeof *paths);
    int nsigs = 0, npaths = 0, status = CLI_OK;
    struct scan_run run = {.ctx = ctx};
    if (!sigs || !paths) {
        fprintf(ctx->err, "rampart scan: out of memory\n");
        free(sigs);
        free(paths);
        return CLI_FAILED;
    }
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-r") == 0 || strcmp(a, "--recursive") == 0) {
            run.recursive = true;
        } else if (strcmp(a, "--no-heuristics") == 0) {
            opt.heuristics = 0;
        } else if (strcmp(a, "--sigs") == 0 || strcmp(a, "--no-heuristic") == 0) {
            if (i + 1 >= argc) {
                fprintf(ctx->err, "rampart scan: %s needs a value\n", a);
                status = CLI_USAGE;
                goto out;
            }
            const char *v = argv[++i];
            if (a[2] == 's') {
                sigs[nsigs++] = v;
                continue;
            }
            size_t k = 0;
            for (; k < sizeof heuristic_names / sizeof *heuristic_names; k++)
                if (strcmp(heuristic_names[k].name, v) == 0)
                    break;
            if (k == sizeof heuristic_names / sizeof *heuristic_names) {
                fprintf(ctx->err, "rampart scan: unknown heuristic \"%s\" (executable, double-extension, "
                                  "type-mismatch, html, forged-admin, gtube, encrypted)\n", v);
                status = CLI_USAGE;
                goto out;
            }
            opt.heuristics &= ~heuristic_names[k].bit;
        } else if (a[0] == '-' && a[1]) {
            fprintf(ctx->err, "rampart scan: unknown option %s\n", a);
            status = CLI_USAGE;
            goto out;
        } else {
            paths[npaths++] = a;
        }
    }
    if (npaths == 0) {
        fprintf(ctx->err, "rampart scan: no file or directory given\n");
        status = CLI_USAGE;
        goto out;
    }

    struct scan_engine *engine = scan_engine_new(&opt);
    char err[512];
    uint64_t t0 = util_now_ns();
    long loaded = 0;
    for (int i = 0; i < nsigs && engine; i++) {
        long got = scan_engine_load(engine, sigs[i], warn_sig, ctx->err, err, sizeof err);
        if (got < 0) {
            fprintf(ctx->err, "rampart scan: %s\n", err);
            scan_engine_free(engine);
            status = CLI_USAGE;
            goto out;
        }
        loaded += got;
    }
    if (!engine || scan_engine_ready(engine, err, sizeof err) != 0 ||
        !(run.worker = scan_worker_new(engine))) {
        fprintf(ctx->err, "rampart scan: %s\n", engine ? err : "out of memory");
        scan_engine_free(engine);
        status = CLI_FAILED;
        goto out;
    }
    uint64_t t1 = util_now_ns();
    if (nsigs == 0)
        fprintf(ctx->err, "rampart scan: no --sigs given: heuristics only\n");

    for (int i = 0; i < npaths; i++) {
        struct stat st;
        if (stat(paths[i], &st) != 0)
            report_error(&run, paths[i], strerror(errno));
        else if (S_ISDIR(st.st_mode))
            scan_dir(&run, paths[i], 0);
        else
            scan_one(&run, paths[i]);
    }
    uint64_t t2 = util_now_ns();
    if (isatty(fileno(ctx->out)) && !ctx->json) {
        size_t hashes = 0, patterns = 0;
        scan_engine_counts(engine, &hashes, &patterns);
        fprintf(ctx->out,
                "\n----------- SCAN SUMMARY -----------\n"
                "Signatures: %ld (%zu hashes, %zu patterns), loaded in %.2f s\n"
                "Files: %lu (clean %lu, suspicious %lu, infected %lu, errors %lu)\n"
                "Data scanned: %.2f MiB\nTime: %.2f s\n",
                loaded, hashes, patterns, (double)(t1 - t0) / 1e9, run.files, run.clean,
                run.suspicious, run.infected, run.errors, (double)run.bytes / (1 << 20),
                (double)(t2 - t1) / 1e9);
    }
    scan_worker_free(run.worker);
    scan_engine_free(engine);
    status = run.errors ? CLI_USAGE : (run.suspicious || run.infected) ? CLI_FAILED : CLI_OK;
out:
    free(sigs);
    free(paths);
    return status;
}

/*
 * fuzz_sigs: libFuzzer harness for the scanning engine's signature database
 * (src/scan/sigs.c): ClamAV .ndb, .hdb and .hsb files.
 *
 * The first byte of an input picks the kind of file (byte % 3: .ndb, .hdb,
 * .hsb); the rest, up to a NUL byte if there is one, is the file's body, and
 * what follows the NUL is data to scan (so that the fuzzer can make the two
 * fit each other). The body is written to a temporary file of that name,
 * loaded with sigdb_load_file(), compiled, and matched against the data and
 * fixed buffers (EICAR, a small PE file built at start-up, mixed-case text,
 * zeros, random bytes, the whole input) as targets 0, 1 (PE), 3 (HTML) and
 * 7 (ASCII), reusing one scratch. Then everything is freed: a leak is a
 * finding.
 *
 * Invariants beyond the sanitizers:
 *   - signatures loaded + lines reported bad = the body's signature lines
 *     (counted here: lines that are not empty, blank or comments), unless
 *     the load failed as a whole (-1, with a message);
 *   - every report is "path:N: reason", N rising: one report per line;
 *   - sigdb_counts() adds up to what was loaded;
 *   - whatever loaded compiles;
 *   - a match never fails, reports each signature at most once, and every
 *     name is printable ASCII ending in ".UNOFFICIAL".
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scan/scan_priv.h"

/* A broken promise aborts, which libFuzzer reports as a crash (with the
 * input saved). The scan harness has no use for fuzz_common.h's DNS parts. */
#include "fuzz_fail.h"

static const char eicar[] = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";
static uint8_t pe[0x800], zeros[4096], noise[4096];
static const char text[] = "Dear Customer,\r\n  Your ACCOUNT has\tbeen SUSPENDED.\n\x7f\x01\xff end\n";
static char dir[64];

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16), p[3] = (uint8_t)(v >> 24);
}

static void cleanup(void)
{
    rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    snprintf(dir, sizeof dir, "%s/rampart-fuzz-sigs-XXXXXX", access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    if (!mkdtemp(dir))
        FZ_FAIL("harness set-up failed");
    atexit(cleanup);
    /* a PE: three sections of 0x200 bytes at 0x200, 0x400, 0x600; the entry
     * point at RVA 0x2010 (file offset 0x410) */
    pe[0] = 'M', pe[1] = 'Z';
    put32(pe + 0x3c, 0x80);
    memcpy(pe + 0x80, "PE\0\0", 4);
    pe[0x86] = 3;
    pe[0x94] = 0xe0;
    uint8_t *opt = pe + 0x98;
    opt[0] = 0x0b, opt[1] = 0x01;
    put32(opt + 16, 0x2010);
    put32(opt + 32, 0x1000);
    put32(opt + 36, 0x200);
    put32(opt + 60, 0x200);
    for (uint32_t i = 0; i < 3; i++) {
        uint8_t *sh = opt + 0xe0 + 40 * i;
        put32(sh + 8, 0x200);
        put32(sh + 12, 0x1000 * (i + 1));
        put32(sh + 16, 0x200);
        put32(sh + 20, 0x200 * (i + 1));
    }
    uint32_t x = 2463534242u;
    for (size_t i = 0x200; i < sizeof pe; i++)
        x ^= x << 13, x ^= x >> 17, x ^= x << 5, pe[i] = (uint8_t)x;
    for (size_t i = 0; i < sizeof noise; i++)
        x ^= x << 13, x ^= x >> 17, x ^= x << 5, noise[i] = (uint8_t)x;
    return 0;
}

/* The body's signature lines, by the rule the loader documents: split at
 * '\n', one trailing '\r' dropped; empty, blank (spaces and tabs) and '#'
 * lines are not signatures; a line over 8192 bytes is one (reported too
 * long) unless it starts with '#'. */
static long signature_lines(const uint8_t *p, size_t n)
{
    long count = 0;
    size_t i = 0;
    while (i < n) {
        const uint8_t *nl = memchr(p + i, '\n', n - i);
        size_t end = nl ? (size_t)(nl - p) : n, len = end - i;
        if (len > 0 && p[i + len - 1] == '\r')
            len--;
        bool blank = true;
        for (size_t k = 0; k < len; k++)
            blank = blank && (p[i + k] == ' ' || p[i + k] == '\t');
        if (len > 0 && p[i] != '#' && !blank)
            count++;
        i = end + 1;
    }
    return count;
}

struct warned {
    const char *path;
    long n;
    unsigned long last_line;
};

static void on_warn(void *arg, const char *msg)
{
    struct warned *w = arg;
    size_t pl = strlen(w->path);
    if (strncmp(msg, w->path, pl) != 0 || msg[pl] != ':')
        FZ_FAIL("report without the file name: %s", msg);
    char *end;
    unsigned long line = strtoul(msg + pl + 1, &end, 10);
    if (end[0] != ':' || end[1] != ' ' || end[2] == '\0')
        FZ_FAIL("report not \"file:line: reason\": %s", msg);
    if (line <= w->last_line)
        FZ_FAIL("line %lu reported after line %lu: %s", line, w->last_line, msg);
    w->last_line = line;
    w->n++;
}

struct hits {
    int n;
    int stop_after;
};

static int on_hit(void *arg, const char *name)
{
    struct hits *h = arg;
    size_t n = strlen(name);
    if (n <= 11 || strcmp(name + n - 11, ".UNOFFICIAL") != 0)
        FZ_FAIL("hit name without .UNOFFICIAL: %s", name);
    for (size_t i = 0; i < n; i++)
        if (name[i] < 0x20 || name[i] > 0x7e)
            FZ_FAIL("hit name with byte 0x%02x", (unsigned char)name[i]);
    h->n++;
    return h->stop_after && h->n >= h->stop_after;
}

static void match_all(const struct sigdb *db, struct sigdb_scratch *s, long loaded, const uint8_t *self, size_t len,
                      const uint8_t *extra, size_t extra_len)
{
    static const enum sig_target targets[] = {SIG_TARGET_ANY, SIG_TARGET_PE, SIG_TARGET_HTML, SIG_TARGET_ASCII};
    const struct {
        const void *p;
        size_t n;
    } bufs[] = {{eicar, 68}, {pe, sizeof pe}, {text, sizeof text - 1}, {zeros, sizeof zeros}, {noise, sizeof noise},
                {self, len}, {extra, extra_len}};
    for (size_t b = 0; b < sizeof bufs / sizeof bufs[0]; b++) {
        for (size_t t = 0; t < sizeof targets / sizeof targets[0]; t++) {
            struct hits h = {0};
            int rc = sigdb_match(db, s, bufs[b].p, bufs[b].n, targets[t], on_hit, &h);
            if (rc < 0)
                FZ_FAIL("sigdb_match failed");
            if (rc != h.n || rc > loaded)
                FZ_FAIL("match returned %d for %d hits of %ld signatures", rc, h.n, loaded);
            if (rc > 1) { /* the callback stops it */
                struct hits one = {.stop_after = 1};
                if (sigdb_match(db, s, bufs[b].p, bufs[b].n, targets[t], on_hit, &one) != 1)
                    FZ_FAIL("a match went on after the callback said stop");
            }
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static const char *const ext[] = {".ndb", ".hdb", ".hsb"};
    char path[96];
    snprintf(path, sizeof path, "%s/fuzz%s", dir, ext[data[0] % 3]);
    const uint8_t *body = data + 1, *nul = memchr(body, '\0', size - 1);
    size_t body_len = nul ? (size_t)(nul - body) : size - 1;
    const uint8_t *extra = nul ? nul + 1 : body + body_len;
    size_t extra_len = nul ? size - 1 - body_len - 1 : 0;
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(body, 1, body_len, f) != body_len || fclose(f) != 0)
        FZ_FAIL("cannot write %s", path);

    struct sigdb *db = sigdb_new();
    if (!db)
        FZ_FAIL("sigdb_new failed");
    struct warned w = {.path = path};
    char err[512] = "";
    long loaded = sigdb_load_file(db, path, on_warn, &w, err, sizeof err);
    unlink(path);
    size_t nh, np;
    sigdb_counts(db, &nh, &np);
    if (loaded < 0) {
        if (!err[0])
            FZ_FAIL("load failed without a message");
        if (nh + np != 0)
            FZ_FAIL("a failed load left %zu signatures behind", nh + np);
        loaded = 0;
    } else {
        long lines = signature_lines(body, body_len);
        if (loaded + w.n != lines)
            FZ_FAIL("%ld loaded + %ld reported != %ld signature lines", loaded, w.n, lines);
        if ((long)(nh + np) != loaded)
            FZ_FAIL("counts %zu + %zu != %ld loaded", nh, np, loaded);
    }
    if (sigdb_compile(db, err, sizeof err) != 0)
        FZ_FAIL("what loaded does not compile: %s", err);
    struct sigdb_scratch *s = sigdb_scratch_new(db);
    if (!s)
        FZ_FAIL("sigdb_scratch_new failed");
    match_all(db, s, loaded, data, size, extra, extra_len);
    sigdb_scratch_free(s);
    sigdb_free(db);
    return 0;
}

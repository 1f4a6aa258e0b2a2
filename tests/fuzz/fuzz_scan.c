/*
 * fuzz_scan: libFuzzer harness for the scanning engine's whole walk
 * (src/scan): type detection, the MIME walk (GMime), inline uuencode/yEnc
 * and data: URIs, every archive and format reader, the heuristics and the
 * signature match, with small limits so that bombs and nesting are reached.
 *
 * The input is scanned twice: as bytes named by its first byte's choice of
 * name (so the name heuristics run), and as a mail attachment (base64 inside
 * a message built here), which exercises the decoders on fuzzed content.
 *
 * Invariants (any break aborts, which libFuzzer saves as a crash):
 *   - the verdict is the worst finding's level, and never SCAN_ERROR for
 *     bytes in memory;
 *   - every finding has a nonempty name and a where; a limit finding's name
 *     is one of the named limits;
 *   - every fingerprint has 64 lowercase hex digits twice, and a known type;
 *   - bytes_scanned never passes MaxScanSize, files never MaxFiles.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_fail.h"
#include "scan/scan.h"

static struct scan_engine *engine;
static struct scan_worker *worker;
static struct scan_options opt;

static void setup(void)
{
    char dir[] = "/tmp/fuzz-scan-XXXXXX";
    if (!mkdtemp(dir))
        FZ_FAIL("mkdtemp");
    char path[64];
    snprintf(path, sizeof path, "%s/t.ndb", dir);
    FILE *f = fopen(path, "w");
    /* EICAR's start, and the test executable's import name */
    fputs("Fuzz.Eicar:0:*:58354f2150254041505b345c505a58353428505e2937434329377d\n"
          "Fuzz.Clam:1:*:434c414d657373616765426f7841\n", f);
    fclose(f);
    snprintf(path, sizeof path, "%s/t.hdb", dir);
    f = fopen(path, "w");
    fputs("44d88612fea8a8f36de82e1278abb02f:68:Fuzz.Eicar.MD5\n", f);
    fclose(f);
    scan_options_default(&opt);
    opt.limits.max_file_size = 1 << 20;
    opt.limits.max_scan_size = 4 << 20;
    opt.limits.max_recursion = 8;
    opt.limits.max_files = 200;
    opt.limits.max_ratio = 50;
    opt.limits.max_scan_time_ms = 5000;
    engine = scan_engine_new(&opt);
    char err[256];
    if (!engine || scan_engine_load(engine, dir, NULL, NULL, err, sizeof err) < 0 ||
        scan_engine_ready(engine, err, sizeof err) != 0)
        FZ_FAIL("engine setup: %s", err);
    worker = scan_worker_new(engine);
    if (!worker)
        FZ_FAIL("worker");
    unlink(path);
    snprintf(path, sizeof path, "%s/t.ndb", dir);
    unlink(path);
    rmdir(dir);
}

static bool hex64(const char *s)
{
    for (int i = 0; i < 64; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return s[64] == 0;
}

static void check(const struct scan_report *r)
{
    enum scan_verdict worst = SCAN_CLEAN;
    if (r->verdict == SCAN_ERROR)
        FZ_FAIL("error verdict for bytes in memory: %s", r->error ? r->error : "?");
    for (size_t i = 0; i < r->nfindings; i++) {
        const struct scan_finding *f = &r->findings[i];
        if (!f->name || !f->name[0] || !f->where)
            FZ_FAIL("finding without a name");
        if (f->level > worst)
            worst = f->level;
        if (strncmp(f->name, "Heuristics.Limits.Exceeded.", 27) == 0) {
            const char *l = f->name + 27;
            if (strcmp(l, "MaxScanSize") && strcmp(l, "MaxFileSize") && strcmp(l, "MaxRecursion") &&
                strcmp(l, "MaxFiles") && strcmp(l, "MaxCompressionRatio") && strcmp(l, "MaxScanTime"))
                FZ_FAIL("unknown limit %s", f->name);
        }
    }
    if (worst != r->verdict)
        FZ_FAIL("verdict %d is not the worst finding's %d", r->verdict, worst);
    for (size_t i = 0; i < r->nprints; i++) {
        const struct scan_fingerprint *p = &r->prints[i];
        if (!hex64(p->digest) || !hex64(p->structure) || !p->type || !p->where || !p->name)
            FZ_FAIL("bad fingerprint");
    }
    if (r->bytes_scanned > opt.limits.max_scan_size)
        FZ_FAIL("MaxScanSize passed: %llu", (unsigned long long)r->bytes_scanned);
    if (r->files > opt.limits.max_files + 1)
        FZ_FAIL("MaxFiles passed: %u", r->files);
}

static const char *const names[] = {NULL, "a.exe", "invoice.pdf.exe", "photo.jpg", "x.zip",
                                    "readme.txt", "doc\xe2\x80\xae" "fdp.scr", "winmail.dat"};

static void b64(const uint8_t *d, size_t n, char *out)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)d[i] << 16 | (i + 1 < n ? (uint32_t)d[i + 1] << 8 : 0) |
                     (i + 2 < n ? d[i + 2] : 0);
        out[o++] = tab[v >> 18 & 63];
        out[o++] = tab[v >> 12 & 63];
        out[o++] = i + 1 < n ? tab[v >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? tab[v & 63] : '=';
        if ((i / 3) % 19 == 18)
            out[o++] = '\n';
    }
    out[o] = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!engine)
        setup();
    if (size > 1 << 20)
        return 0;
    struct scan_report r;
    /* the exact bytes, in a buffer of their size */
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    scan_memory(worker, copy, size, names[size ? data[0] % 8 : 0], &r);
    check(&r);
    scan_report_free(&r);
    free(copy);

    /* as an attachment of a message */
    static const char head[] = "From: Mail Administrator <admin@example.com>\r\nTo: user@example.com\r\n"
                               "Subject: Your account\r\nMIME-Version: 1.0\r\n"
                               "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n"
                               "Content-Type: text/plain\r\n\r\nsee the attachment\r\n--b\r\n"
                               "Content-Type: application/octet-stream; name=\"message.zip\"\r\n"
                               "Content-Transfer-Encoding: base64\r\n\r\n";
    static const char tail[] = "\r\n--b--\r\n";
    size_t cap = sizeof head + size / 3 * 4 + size / 57 + 16 + sizeof tail;
    char *msg = malloc(cap);
    if (!msg)
        return 0;
    memcpy(msg, head, sizeof head - 1);
    b64(data, size, msg + sizeof head - 1);
    strcat(msg, tail);
    size_t len = strlen(msg);
    uint8_t *exact = malloc(len);
    memcpy(exact, msg, len);
    free(msg);
    scan_memory(worker, exact, len, "msg.eml", &r);
    check(&r);
    scan_report_free(&r);
    free(exact);
    return 0;
}

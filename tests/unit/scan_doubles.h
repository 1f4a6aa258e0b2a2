/*
 * scan_doubles.h: test doubles of the scanning engine's helpers (scan.c's
 * scan_child, scan_found, scan_limit, scan_take, scan_should_stop,
 * scan_child_budget, scan_heuristic_on, and archive.c's scan_member_label)
 * for unit tests of one reader alone (test_zipx, test_sis). They record
 * what the reader hands on in T and answer the limits T sets; found() and
 * clam_exe() read them back. Include once, after cmocka and scan_priv.h.
 */
#ifndef RAMPART_TESTS_UNIT_SCAN_DOUBLES_H
#define RAMPART_TESTS_UNIT_SCAN_DOUBLES_H

#define TESTFILES "/usr/share/clamav-testfiles/"

enum { MAX_KIDS = 16, MAX_FINDS = 16 };

struct kid {
    char label[256];
    char name[256];
    uint8_t *data;
    size_t len;
};

static struct {
    struct kid kids[MAX_KIDS];
    unsigned nkids;
    char finds[MAX_FINDS][96];
    unsigned nfinds;
    uint64_t budget;          /* what scan_child_budget() answers */
    const char *budget_name;
    uint64_t taken, take_max; /* scan_take() */
    unsigned heuristics;
    bool stop;                /* scan_should_stop() */
} T;

static void reset(void)
{
    for (unsigned i = 0; i < T.nkids; i++)
        free(T.kids[i].data);
    memset(&T, 0, sizeof T);
    T.budget = 1u << 20;
    T.budget_name = "MaxFileSize";
    T.take_max = UINT64_MAX;
    T.heuristics = SCAN_HEUR_ALL;
}

void scan_child(struct scan_ctx *ctx, const struct scan_object *parent, const char *label,
                const uint8_t *data, size_t len, const char *name, const char *declared)
{
    (void)ctx, (void)parent, (void)declared;
    assert_true(len <= T.budget);
    assert_non_null(data);
    if (T.nkids >= MAX_KIDS)
        return;
    struct kid *k = &T.kids[T.nkids++];
    snprintf(k->label, sizeof k->label, "%s", label ? label : "");
    snprintf(k->name, sizeof k->name, "%s", name ? name : "");
    k->data = malloc(len ? len : 1);
    assert_non_null(k->data);
    memcpy(k->data, data, len);
    k->len = len;
}

void scan_found(struct scan_ctx *ctx, enum scan_verdict level, const char *name, const char *where)
{
    (void)ctx, (void)level, (void)where;
    if (T.nfinds < MAX_FINDS)
        snprintf(T.finds[T.nfinds++], sizeof T.finds[0], "%s", name);
}

void scan_limit(struct scan_ctx *ctx, const char *limit, const char *where)
{
    char name[96];
    snprintf(name, sizeof name, "Heuristics.Limits.Exceeded.%s", limit);
    scan_found(ctx, SCAN_SUSPICIOUS, name, where);
}

bool scan_take(struct scan_ctx *ctx, const struct scan_object *at, uint64_t n)
{
    (void)ctx, (void)at;
    if (T.taken + n > T.take_max) {
        T.stop = true;
        return false;
    }
    T.taken += n;
    return true;
}

bool scan_should_stop(struct scan_ctx *ctx, const char *where)
{
    (void)ctx, (void)where;
    return T.stop;
}

uint64_t scan_child_budget(const struct scan_ctx *ctx, const struct scan_object *parent,
                           const char **limit_name)
{
    (void)ctx, (void)parent;
    *limit_name = T.budget_name;
    return T.budget;
}

bool scan_heuristic_on(const struct scan_ctx *ctx, enum scan_heuristic h)
{
    (void)ctx;
    return (T.heuristics & h) != 0;
}

/* archive.c's label maker stands in as a plain copy with '?' for anything
 * not printable ASCII: enough to see which name the reader chose. */
size_t scan_member_label(char *out, size_t cap, const char *name, size_t len, const char *fallback)
{
    size_t n = 0;
    for (size_t i = 0; i < len && n + 1 < cap; i++)
        out[n++] = (unsigned char)name[i] >= 0x20 && (unsigned char)name[i] < 0x7f ? name[i] : '?';
    out[n] = 0;
    if (n == 0 && fallback)
        n = (size_t)snprintf(out, cap, "%s", fallback);
    return n;
}

static bool found(const char *name)
{
    for (unsigned i = 0; i < T.nfinds; i++)
        if (strcmp(T.finds[i], name) == 0)
            return true;
    return false;
}

/* ---- helpers ---- */

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("%s: cannot open (install clamav-testfiles: make deps)", path);
    uint8_t *buf = malloc(1 << 20);
    assert_non_null(buf);
    *len = fread(buf, 1, 1 << 20, f);
    fclose(f);
    return buf;
}

static uint8_t *clam_exe(size_t *len)
{
    uint8_t *p = slurp(TESTFILES "clam.exe", len);
    assert_int_equal(*len, 544);
    return p;
}

#endif

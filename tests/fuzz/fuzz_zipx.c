/*
 * fuzz_zipx: libFuzzer harness for the legacy archive decoders of the
 * scanning engine (src/scan/zipx.c, src/scan/arj.c).
 *
 * Each input, in a buffer of its exact size, goes through:
 *   - scan_zip_legacy() and scan_arj(), as a whole file;
 *   - zipx_inflate64(), zipx_explode() and arj_unpack() on the bytes after
 *     the first, which picks the Implode flags, the ARJ method and the
 *     claimed size.
 * The engine's helpers are test doubles here (as in tests/unit/test_zipx.c):
 * a fixed child budget, no stop. Invariants: a child never exceeds the
 * budget and every byte of it is readable (ASan); a decoder's output stays
 * within its max and what it claims to have consumed within its input.
 * Any violation aborts with "fuzz invariant broken".
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan/scan_priv.h"
#include "scan/zipx.h"

#include "fuzz_fail.h"

enum { BUDGET = 1 << 20 };

void scan_child(struct scan_ctx *ctx, const struct scan_object *parent, const char *label,
                const uint8_t *data, size_t len, const char *name, const char *declared)
{
    (void)ctx, (void)parent, (void)declared;
    if (len > BUDGET)
        FZ_FAIL("a child of %zu bytes, budget %d", len, BUDGET);
    volatile uint8_t sum = 0;
    for (size_t i = 0; i < len; i++)
        sum ^= data[i];
    (void)sum;
    if (strlen(label) != strlen(name))
        FZ_FAIL("label and name differ");
}

void scan_found(struct scan_ctx *ctx, enum scan_verdict level, const char *name, const char *where)
{
    (void)ctx, (void)level;
    if (!name[0] || !where)
        FZ_FAIL("a finding without a name");
}

void scan_limit(struct scan_ctx *ctx, const char *limit, const char *where)
{
    scan_found(ctx, SCAN_SUSPICIOUS, limit, where);
}

bool scan_take(struct scan_ctx *ctx, const struct scan_object *at, uint64_t n)
{
    (void)ctx, (void)at, (void)n;
    return true;
}

bool scan_should_stop(struct scan_ctx *ctx, const char *where)
{
    (void)ctx, (void)where;
    return false;
}

uint64_t scan_child_budget(const struct scan_ctx *ctx, const struct scan_object *parent,
                           const char **limit_name)
{
    (void)ctx, (void)parent;
    *limit_name = "MaxFileSize";
    return BUDGET;
}

bool scan_heuristic_on(const struct scan_ctx *ctx, enum scan_heuristic h)
{
    (void)ctx, (void)h;
    return true;
}

static void check_out(const struct zipx_out *out, const char *who)
{
    if (out->len > out->max || out->len > out->cap)
        FZ_FAIL("%s wrote %zu bytes, max %zu, cap %zu", who, out->len, out->max, out->cap);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, len);
    struct scan_ctx ctx = {0};
    struct scan_object obj = {.data = copy, .len = len, .name = "fuzz", .where = ""};
    scan_zip_legacy(&ctx, &obj);
    scan_arj(&ctx, &obj);
    if (len > 0) {
        const uint8_t *in = copy + 1;
        size_t inlen = len - 1;
        uint64_t size = (uint64_t)copy[0] << 12;
        struct zipx_out out = {.max = BUDGET};
        size_t used = 0;
        zipx_inflate64(in, inlen, &out, &used);
        check_out(&out, "inflate64");
        if (used > inlen)
            FZ_FAIL("inflate64 used %zu of %zu bytes", used, inlen);
        free(out.data);
        out = (struct zipx_out){.max = BUDGET};
        zipx_explode(in, inlen, copy[0], size, &out);
        check_out(&out, "explode");
        if (out.len > size)
            FZ_FAIL("explode wrote %zu bytes of %llu", out.len, (unsigned long long)size);
        free(out.data);
        out = (struct zipx_out){.max = BUDGET};
        arj_unpack(copy[0] % 5, in, inlen, size, &out);
        check_out(&out, "arj");
        if (out.len > size)
            FZ_FAIL("arj wrote %zu bytes of %llu", out.len, (unsigned long long)size);
        free(out.data);
    }
    free(copy);
    return 0;
}

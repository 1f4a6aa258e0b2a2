/*
 * out: the decoders' one output buffer (struct scan_out, scan_priv.h),
 * bounded by scan_child_budget(): the readers in formats.c and inline.c
 * write into it byte by byte or in runs and never check a limit themselves.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scan/scan_priv.h"

void scan_out_init(struct scan_out *o, struct scan_ctx *ctx, const struct scan_object *obj)
{
    memset(o, 0, sizeof *o);
    uint64_t b = scan_child_budget(ctx, obj, &o->limit);
    o->budget = b > SIZE_MAX / 2 ? SIZE_MAX / 2 : (size_t)b;
    if (!o->limit)
        o->limit = "MaxFileSize";
}

bool scan_out_put(struct scan_out *o, const void *p, size_t n)
{
    if (o->over || o->nomem)
        return false;
    if (n > o->budget - o->len) {
        n = o->budget - o->len;
        o->over = true;
    }
    if (o->len + n > o->cap) {
        size_t ncap = o->cap ? o->cap : 4096;
        while (ncap < o->len + n)
            ncap *= 2;
        if (ncap > o->budget)
            ncap = o->budget;
        uint8_t *nd = realloc(o->data, ncap);
        if (!nd) {
            o->nomem = true;
            return false;
        }
        o->data = nd;
        o->cap = ncap;
    }
    if (n)
        memcpy(o->data + o->len, p, n);
    o->len += n;
    return !o->over;
}


void scan_out_free(struct scan_out *o)
{
    free(o->data);
    o->data = NULL;
    o->len = o->cap = 0;
}

void scan_out_report(struct scan_ctx *ctx, const struct scan_object *obj, const struct scan_out *o)
{
    if (o->over)
        scan_limit(ctx, o->limit, obj->where);
    if (o->nomem)
        scan_found(ctx, SCAN_ERROR, "Rampart.Error.OutOfMemory", obj->where);
}

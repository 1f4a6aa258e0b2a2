/*
 * inflate: one bounded zlib inflater for every reader that meets deflated
 * data inside a container (PDF streams, PowerPoint objects, SIS files, NSIS
 * blocks). The output never passes the caller's maximum, a declared size
 * (untrusted) only sizes the first allocation, and every turn of the loop
 * produces output or consumes input, or the loop ends.
 */
#include <stdlib.h>

#include <zlib.h>

#include "scan/scan_priv.h"

uint8_t *scan_inflate(const uint8_t *in, size_t len, int window_bits, uint64_t max, size_t hint,
                      size_t *outlen, bool *full)
{
    *outlen = 0;
    *full = false;
    if (max == 0 || len == 0)
        return NULL;
    z_stream z = {0};
    if (inflateInit2(&z, window_bits) != Z_OK)
        return NULL;
    /* Deflate expands at most about 1032 to 1: a larger declared size is
     * a lie, and is not allowed to make a large allocation. */
    size_t cap = hint ? hint : len * 4;
    if (cap / 1032 > len)
        cap = len * 1032;
    if (cap < 4096)
        cap = 4096;
    if (cap > max)
        cap = (size_t)max;
    uint8_t *out = malloc(cap);
    if (!out) {
        inflateEnd(&z);
        return NULL;
    }
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)(len > UINT32_MAX ? UINT32_MAX : len);
    size_t have = 0;
    int rc = Z_OK;
    while (rc == Z_OK) {
        if (have == cap) {
            if (cap >= max) {
                *full = true;
                break;
            }
            size_t ncap = cap > max / 2 ? (size_t)max : cap * 2;
            uint8_t *g = realloc(out, ncap);
            if (!g)
                break;
            out = g;
            cap = ncap;
        }
        z.next_out = out + have;
        z.avail_out = (uInt)(cap - have > UINT32_MAX ? UINT32_MAX : cap - have);
        uInt before_out = z.avail_out, before_in = z.avail_in;
        rc = inflate(&z, Z_NO_FLUSH);
        have += before_out - z.avail_out;
        if (rc == Z_OK && z.avail_out == before_out && z.avail_in == before_in)
            break; /* no progress: the input ended early */
    }
    inflateEnd(&z);
    if (have == 0) {
        free(out);
        return NULL;
    }
    *outlen = have;
    return out;
}

/*
 * fuzz_heur: libFuzzer harness for the engine's heuristics (src/scan/heur.c):
 * the HTML tag reader, the file-name walks and the address-list parser.
 *
 * The input is a knob byte, then three NUL-separated fields and the data:
 *   knob: low 5 bits the detected type, bit 5 depth > 0, bit 6 archive member,
 *         bit 7 whether a declared type is given
 *   name \0 declared \0 From \n To \0 data
 * The data is copied into a buffer of its exact size, so reading one byte
 * past it is an ASan report. heur_object() and heur_headers() run with every
 * heuristic on; every finding must be one of heur.c's names, at a valid
 * level, at the object's path. The scan_found()/scan_heuristic_on() doubles
 * stand in for scan.c, so this harness links heur.c alone.
 */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan/scan_priv.h"

#include "fuzz_fail.h"

static const char *expect_where;

void scan_found(struct scan_ctx *ctx, enum scan_verdict level, const char *name, const char *where)
{
    (void)ctx;
    if (level != SCAN_SUSPICIOUS && level != SCAN_INFECTED)
        FZ_FAIL("level %d for %s", level, name);
    if (strcmp(where, expect_where))
        FZ_FAIL("%s at '%s', not '%s'", name, where, expect_where);
    if (strncmp(name, "Heuristics.", 11))
        FZ_FAIL("finding %s", name);
    if (level == SCAN_INFECTED && strncmp(name, "Heuristics.Name.", 16))
        FZ_FAIL("%s infected", name);
}

bool scan_heuristic_on(const struct scan_ctx *ctx, enum scan_heuristic h)
{
    (void)ctx;
    return (SCAN_HEUR_ALL & h) != 0;
}

/* The next NUL-terminated field of [*p, end), copied to a fresh string. */
static char *field(const uint8_t **p, const uint8_t *end, int sep)
{
    const uint8_t *e = memchr(*p, sep, (size_t)(end - *p));
    if (!e)
        e = end;
    size_t n = (size_t)(e - *p);
    char *s = malloc(n + 1);
    if (!s)
        abort();
    memcpy(s, *p, n);
    s[n] = '\0';
    *p = e < end ? e + 1 : end;
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t len)
{
    if (len < 1)
        return 0;
    uint8_t knob = in[0];
    const uint8_t *p = in + 1, *end = in + len;
    char *name = field(&p, end, 0);
    char *declared = field(&p, end, 0);
    char *from = field(&p, end, '\n');
    char *to = field(&p, end, 0);
    size_t dlen = (size_t)(end - p);
    uint8_t *data = malloc(dlen ? dlen : 1);
    if (!data)
        abort();
    memcpy(data, p, dlen);

    struct scan_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    bool deep = knob & 0x20;
    struct scan_object obj = {
        .data = data,
        .len = dlen,
        .name = *name ? name : NULL,
        .declared = knob & 0x80 ? declared : NULL,
        .where = deep ? "1/x" : "",
        .depth = deep ? 2 : 0,
        .type = (enum scan_type)((knob & 0x1f) % SCAN_TYPE_COUNT),
        .packed_len = knob & 0x40 ? dlen + 1 : 0,
    };
    expect_where = obj.where;
    heur_object(&ctx, &obj);
    heur_headers(&ctx, &obj, from, to, declared);

    free(data);
    free(name);
    free(declared);
    free(from);
    free(to);
    return 0;
}

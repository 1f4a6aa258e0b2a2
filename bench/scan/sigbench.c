/*
 * sigbench: how long the signature database (src/scan/sigs.c) takes to load,
 * compile and match, and the memory it holds. Not installed.
 *
 *   sigbench hdb N [SEED]   N MD5 lines (.hdb): load, compile, one lookup
 *   sigbench ndb N [SEED]   N random body patterns (.ndb) with every syntax
 *                           feature and offset form: load, compile, and a
 *                           pass over 16 MiB of random data and of text
 *
 * The file is generated in /tmp first (not timed). Prints one line per phase:
 * wall seconds, and the process's resident memory after it (VmRSS) and at
 * its peak (VmHWM), from /proc/self/status.
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "scan/scan_priv.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long status_kib(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    size_t n = strlen(key);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, key, n) == 0 && line[n] == ':')
            v = atol(line + n + 1);
    if (f)
        fclose(f);
    return v;
}

static void phase(const char *what, double t0)
{
    printf("%-28s %8.3f s   RSS %7.1f MiB   peak %7.1f MiB\n", what, now_s() - t0, status_kib("VmRSS") / 1024.0,
           status_kib("VmHWM") / 1024.0);
    fflush(stdout);
}

/* xorshift64*: a fixed, seedable stream, so every run generates the same file */
static uint64_t rng_state;
static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ull;
}

static void hexbytes(FILE *f, int n)
{
    for (int i = 0; i < n; i++)
        fprintf(f, "%02x", (unsigned)(rnd() & 0xff));
}

/* One random .ndb line: 8..24 fixed bytes, then a feature picked by r. */
static void ndb_line(FILE *f, unsigned long i)
{
    unsigned r = (unsigned)(rnd() % 100);
    static const char *const offsets[] = {"0", "64,128", "EOF-512", "EOF-100,50", "EP+0", "EP-16,32", "S0+0,64",
                                          "SL+16", "SE1"};
    const char *off = "*";
    int target = 0;
    if (r >= 85) { /* 15 % with an offset */
        off = offsets[rnd() % (sizeof offsets / sizeof offsets[0])];
        if (off[0] == 'E' && off[1] == 'P')
            target = 1;
        if (off[0] == 'S')
            target = 1;
    } else if (r >= 80) {
        target = 1 + (int)(rnd() % 7); /* 5 % for another target */
        if (target == 8)
            target = 7;
    }
    fprintf(f, "Bench.Sig-%lu:%d:%s:", i, target, off);
    hexbytes(f, 8 + (int)(rnd() % 17));
    switch (r % 10) {
    case 0: fprintf(f, "??"); hexbytes(f, 4); break;
    case 1: fprintf(f, "{%u-%u}", (unsigned)(rnd() % 8), 8 + (unsigned)(rnd() % 64)); hexbytes(f, 4); break;
    case 2: fprintf(f, "*"); hexbytes(f, 6); break;
    case 3: fprintf(f, "(%02x|%02x|%02x)", (unsigned)(rnd() & 0xff), (unsigned)(rnd() & 0xff), (unsigned)(rnd() & 0xff)); hexbytes(f, 3); break;
    case 4: fprintf(f, "(%04x|%06x)", (unsigned)(rnd() & 0xffff), (unsigned)(rnd() & 0xffffff)); hexbytes(f, 3); break;
    case 5: fprintf(f, "!(%02x|%02x)", (unsigned)(rnd() & 0xff), (unsigned)(rnd() & 0xff)); hexbytes(f, 3); break;
    case 6: fprintf(f, "%x?", (unsigned)(rnd() % 16)); hexbytes(f, 3); break;
    case 7: fprintf(f, "{%u}", (unsigned)(rnd() % 100)); hexbytes(f, 4); break;
    default: break; /* plain */
    }
    fputc('\n', f);
}

static void warn(void *arg, const char *msg)
{
    (*(long *)arg)++;
    if (*(long *)arg <= 5)
        fprintf(stderr, "%s\n", msg);
}

static int count_hit(void *arg, const char *name)
{
    (void)name;
    (*(int *)arg)++;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3 || (strcmp(argv[1], "hdb") && strcmp(argv[1], "ndb"))) {
        fprintf(stderr, "usage: sigbench hdb|ndb N [SEED]\n");
        return 2;
    }
    bool hdb = strcmp(argv[1], "hdb") == 0;
    unsigned long n = strtoul(argv[2], NULL, 10);
    rng_state = argc > 3 ? strtoull(argv[3], NULL, 10) | 1 : 20031;
    char path[] = "/tmp/rampart-sigbench-XXXXXX.hdb";
    if (!hdb)
        memcpy(path + strlen(path) - 3, "ndb", 3);
    int fd = mkstemps(path, 4);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f)
        return 2;
    double t0 = now_s();
    for (unsigned long i = 0; i < n; i++) {
        if (hdb) {
            uint64_t a = rnd(), b = rnd();
            fprintf(f, "%016llx%016llx:%u:Bench.Hash-%lu\n", (unsigned long long)a, (unsigned long long)b,
                    1 + (unsigned)(rnd() % 1000000), i);
        } else {
            ndb_line(f, i);
        }
    }
    fclose(f);
    printf("%s, %lu lines, generated in %.2f s (not counted)\n", path, n, now_s() - t0);
    phase("start", now_s());

    struct sigdb *db = sigdb_new();
    char err[512];
    long bad = 0;
    t0 = now_s();
    long loaded = sigdb_load_file(db, path, warn, &bad, err, sizeof err);
    unlink(path);
    if (loaded < 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    phase("load", t0);
    t0 = now_s();
    if (sigdb_compile(db, err, sizeof err) < 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    phase("compile", t0);
    printf("loaded %ld, bad lines %ld\n", loaded, bad);
    struct sigdb_scratch *s = sigdb_scratch_new(db);
    if (!s)
        return 1;
    phase("one scratch", now_s());

    size_t len = 16u << 20;
    uint8_t *data = malloc(len);
    for (size_t i = 0; i < len; i += 8) {
        uint64_t v = rnd();
        memcpy(data + i, &v, 8);
    }
    data[0] = 'M', data[1] = 'Z';
    int hits = 0;
    t0 = now_s();
    if (sigdb_match(db, s, data, len, SIG_TARGET_PE, count_hit, &hits) < 0)
        return 1;
    double dt = now_s() - t0;
    printf("match 16 MiB random as PE     %8.3f s   %.0f MiB/s, %d hits\n", dt, 16 / dt, hits);
    for (size_t i = 0; i < len; i++)
        data[i] = (uint8_t)(" etaoinshrdluETAOIN\n.,"[rnd() % 22]);
    hits = 0;
    t0 = now_s();
    if (sigdb_match(db, s, data, len, SIG_TARGET_ASCII, count_hit, &hits) < 0)
        return 1;
    dt = now_s() - t0;
    printf("match 16 MiB text as ASCII    %8.3f s   %.0f MiB/s, %d hits\n", dt, 16 / dt, hits);
    free(data);
    sigdb_scratch_free(s);
    sigdb_free(db);
    return 0;
}

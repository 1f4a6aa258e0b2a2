/*
 * sigmatch: a test driver for the signature database (src/scan/sigs.c) that
 * prints what clamscan prints, so tests/integration/test_sigs_clamscan.py
 * can compare the two on the same signatures and files.
 *
 *   sigmatch [-t TARGET] -d DIR|FILE [-d ...] FILE...
 *
 * Loads every .hdb, .hsb and .ndb file in each DIR (or the one FILE), then
 * prints "FILE: NAME FOUND" for each hit and "FILE: OK" for a file without
 * one. TARGET is the .ndb target type the files are matched as; without -t
 * it is guessed: 1 (PE) for an "MZ" file, 7 (ASCII) for printable text, else
 * 0. Bad signature lines go to stderr. Exit: 1 if anything was found, 0 if
 * not, 2 on an error. Not installed; the scan engine's own type detection
 * replaces the guess in the product.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "scan/scan_priv.h"

static void warn(void *arg, const char *msg)
{
    (void)arg;
    fprintf(stderr, "%s\n", msg);
}

static int print_hit(void *arg, const char *name)
{
    printf("%s: %s FOUND\n", (const char *)arg, name);
    return 0;
}

static int load_path(struct sigdb *db, const char *path)
{
    char err[512];
    DIR *d = opendir(path);
    if (!d)
        return sigdb_load_file(db, path, warn, NULL, err, sizeof err) < 0 ? (fprintf(stderr, "%s\n", err), -1) : 0;
    struct dirent *de;
    int rc = 0;
    while ((de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);
        if (n < 4 || (strcasecmp(de->d_name + n - 4, ".hdb") && strcasecmp(de->d_name + n - 4, ".hsb") &&
                      strcasecmp(de->d_name + n - 4, ".ndb")))
            continue;
        char full[4096];
        snprintf(full, sizeof full, "%s/%s", path, de->d_name);
        if (sigdb_load_file(db, full, warn, NULL, err, sizeof err) < 0) {
            fprintf(stderr, "%s\n", err);
            rc = -1;
        }
    }
    closedir(d);
    return rc;
}

static enum sig_target guess(const unsigned char *p, size_t n)
{
    if (n >= 2 && p[0] == 'M' && p[1] == 'Z')
        return SIG_TARGET_PE;
    for (size_t i = 0; i < n; i++)
        if (p[i] >= 0x7f || (p[i] < 0x20 && p[i] != '\t' && p[i] != '\n' && p[i] != '\r'))
            return SIG_TARGET_ANY;
    return SIG_TARGET_ASCII;
}

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 65536, n = 0;
    unsigned char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            unsigned char *b = realloc(buf, cap *= 2);
            if (!b)
                free(buf);
            buf = b;
        }
    }
    fclose(f);
    *len = n;
    return buf;
}

int main(int argc, char **argv)
{
    struct sigdb *db = sigdb_new();
    int target = -1, i = 1, loaded = 0;
    if (!db)
        return 2;
    for (; i < argc; i++) {
        if (strcmp(argv[i], "-t") == 0 && i + 1 < argc) {
            target = atoi(argv[++i]);
        } else if (strcmp(argv[i], "-d") == 0 && i + 1 < argc) {
            if (load_path(db, argv[++i]) < 0)
                return 2;
            loaded++;
        } else {
            break;
        }
    }
    if (!loaded || i == argc) {
        fprintf(stderr, "usage: sigmatch [-t TARGET] -d DIR|FILE [-d ...] FILE...\n");
        return 2;
    }
    char err[512];
    if (sigdb_compile(db, err, sizeof err) < 0) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    struct sigdb_scratch *s = sigdb_scratch_new(db);
    if (!s)
        return 2;
    int found = 0, status = 0;
    for (; i < argc; i++) {
        size_t len;
        unsigned char *data = slurp(argv[i], &len);
        if (!data) {
            fprintf(stderr, "%s: cannot read\n", argv[i]);
            status = 2;
            continue;
        }
        enum sig_target t = target >= 0 ? (enum sig_target)target : guess(data, len);
        int hits = sigdb_match(db, s, data, len, t, print_hit, argv[i]);
        if (hits < 0) {
            fprintf(stderr, "%s: match failed\n", argv[i]);
            status = 2;
        } else if (hits == 0) {
            printf("%s: OK\n", argv[i]);
        }
        found += hits > 0;
        free(data);
    }
    sigdb_scratch_free(s);
    sigdb_free(db);
    return status ? status : found ? 1 : 0;
}

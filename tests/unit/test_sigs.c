/* Unit tests: the signature database (src/scan/sigs.c). The .hdb/.hsb/.ndb
 * syntax, every hex-signature feature, every offset form on a PE built here,
 * targets and text normalisation, bad lines with their exact file:line
 * messages, the printed names (".UNOFFICIAL"), EICAR as a hash and as a body
 * signature, and a million hashes loaded and compiled. The same signatures
 * against clamscan itself: tests/integration/test_sigs_clamscan.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "scan/scan_priv.h"

/* ---- helpers ---- */

static const char eicar[] = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

struct warns {
    int n;
    char msg[64][600];
};

static void on_warn(void *arg, const char *m)
{
    struct warns *w = arg;
    if (w->n < 64)
        snprintf(w->msg[w->n], sizeof w->msg[0], "%s", m);
    w->n++;
}

struct hits {
    int n;
    char name[32][300];
    int stop_after; /* return nonzero at this many hits; 0 never */
};

static int on_hit(void *arg, const char *name)
{
    struct hits *h = arg;
    if (h->n < 32)
        snprintf(h->name[h->n], sizeof h->name[0], "%s", name);
    h->n++;
    return h->stop_after && h->n >= h->stop_after;
}

static bool has_hit(const struct hits *h, const char *name)
{
    for (int i = 0; i < h->n && i < 32; i++)
        if (strcmp(h->name[i], name) == 0)
            return true;
    return false;
}

/* A new temporary file with the given extension; the path is static (8 slots). */
static const char *temp_file(const char *ext, const void *body, size_t len)
{
    static char paths[8][64];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, sizeof paths[0], "/tmp/rampart-sigs-XXXXXX%s", ext);
    int fd = mkstemps(p, (int)strlen(ext));
    assert_true(fd >= 0);
    assert_int_equal(write(fd, body, len), (ssize_t)len);
    close(fd);
    return p;
}

static long load_text(struct sigdb *db, const char *ext, const char *text, struct warns *w, const char **path)
{
    const char *p = temp_file(ext, text, strlen(text));
    if (path)
        *path = p;
    char err[300] = "";
    long n = sigdb_load_file(db, p, on_warn, w, err, sizeof err);
    if (n < 0)
        print_error("load: %s\n", err);
    unlink(p);
    return n;
}

/* A compiled database from one file's text; every line must load. */
static struct sigdb *db_from(const char *ext, const char *text)
{
    struct sigdb *db = sigdb_new();
    assert_non_null(db);
    struct warns w = {0};
    assert_true(load_text(db, ext, text, &w, NULL) >= 0);
    if (w.n)
        fail_msg("unexpected warning: %s", w.msg[0]);
    char err[300];
    if (sigdb_compile(db, err, sizeof err) != 0)
        fail_msg("compile: %s", err);
    return db;
}

static struct hits match(const struct sigdb *db, const void *data, size_t len, enum sig_target t)
{
    struct sigdb_scratch *s = sigdb_scratch_new(db);
    assert_non_null(s);
    struct hits h = {0};
    int n = sigdb_match(db, s, data, len, t, on_hit, &h);
    assert_int_equal(n, h.n);
    sigdb_scratch_free(s);
    return h;
}

static int hits_of(const char *ext, const char *text, const void *data, size_t len, enum sig_target t)
{
    struct sigdb *db = db_from(ext, text);
    struct hits h = match(db, data, len, t);
    sigdb_free(db);
    return h.n;
}

static void hex_of(const void *data, size_t len, char *out)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++)
        sprintf(out + 2 * i, "%02x", p[i]);
}

static void digest_hex(const char *md, const void *data, size_t len, char *out)
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned dl;
    assert_int_equal(EVP_Digest(data, len, d, &dl, EVP_get_digestbyname(md), NULL), 1);
    hex_of(d, dl, out);
}

/* ---- EICAR ---- */

static void test_eicar(void **state)
{
    (void)state;
    assert_int_equal(strlen(eicar), 68);
    char hex[200], line[400], md5[70], sha1[90], sha256[130];
    hex_of(eicar, 68, hex);
    snprintf(line, sizeof line, "Rampart.Test.Eicar:0:*:%s\n", hex);
    struct sigdb *db = db_from(".ndb", line);
    struct hits h = match(db, eicar, 68, SIG_TARGET_ANY);
    assert_int_equal(h.n, 1);
    assert_string_equal(h.name[0], "Rampart.Test.Eicar.UNOFFICIAL");
    /* embedded in a larger file, any target */
    char big[300];
    memset(big, 'x', sizeof big);
    memcpy(big + 100, eicar, 68);
    assert_int_equal(match(db, big, sizeof big, SIG_TARGET_PE).n, 1);
    assert_int_equal(match(db, eicar, 67, SIG_TARGET_ANY).n, 0);
    sigdb_free(db);

    digest_hex("MD5", eicar, 68, md5);
    assert_string_equal(md5, "44d88612fea8a8f36de82e1278abb02f");
    snprintf(line, sizeof line, "%s:68:Rampart.Test.EicarHash\n", md5);
    db = db_from(".hdb", line);
    h = match(db, eicar, 68, SIG_TARGET_ANY);
    assert_int_equal(h.n, 1);
    assert_string_equal(h.name[0], "Rampart.Test.EicarHash.UNOFFICIAL");
    assert_int_equal(match(db, big, sizeof big, SIG_TARGET_ANY).n, 0);
    sigdb_free(db);

    digest_hex("SHA1", eicar, 68, sha1);
    digest_hex("SHA256", eicar, 68, sha256);
    snprintf(line, sizeof line, "%s:68:E.Sha1\n%s:68:E.Sha256\n", sha1, sha256);
    db = db_from(".hsb", line);
    h = match(db, eicar, 68, SIG_TARGET_ANY);
    assert_int_equal(h.n, 2);
    assert_true(has_hit(&h, "E.Sha1.UNOFFICIAL"));
    assert_true(has_hit(&h, "E.Sha256.UNOFFICIAL"));
    sigdb_free(db);
}

/* ---- hash files ---- */

static void test_hash_lines(void **state)
{
    (void)state;
    char md5[70], sha256[130], text[2000];
    digest_hex("MD5", eicar, 68, md5);
    digest_hex("SHA256", eicar, 68, sha256);
    char upper[70];
    for (int i = 0; md5[i]; i++)
        upper[i] = (char)(md5[i] >= 'a' ? md5[i] - 32 : md5[i]);
    upper[32] = '\0';
    snprintf(text, sizeof text,
             "# a comment\n"
             "\n"
             "   \t \n"
             "%s:68:Size.Exact\r\n"
             "%s:*:Size.Any\n"
             "%s:*:Size.Any.Flevel:73\n"
             "%s:68:Flevels:51:255\n"
             "%s:69:Size.Wrong\n"
             "%s:68:Upper.Case\n"
             "%s:68:Cut Here (Clam) and the rest\n"
             "%s:68:Has Spaces\n"
             "%s:68:Flevel.Empty:\n"
             "%s:68:In.Hdb.Sha256",
             md5, md5, md5, md5, md5, upper, md5, md5, md5, sha256);
    struct sigdb *db = db_from(".hdb", text);
    size_t nh, np;
    sigdb_counts(db, &nh, &np);
    assert_int_equal(nh, 10);
    assert_int_equal(np, 0);
    struct hits h = match(db, eicar, 68, SIG_TARGET_ANY);
    assert_int_equal(h.n, 9);
    const char *want[] = {"Size.Exact", "Size.Any", "Size.Any.Flevel", "Flevels", "Upper.Case",
                          "Cut Here", "Has Spaces", "Flevel.Empty", "In.Hdb.Sha256"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        char n[100];
        snprintf(n, sizeof n, "%s.UNOFFICIAL", want[i]);
        if (!has_hit(&h, n))
            fail_msg("no hit %s", n);
    }
    assert_false(has_hit(&h, "Size.Wrong.UNOFFICIAL"));
    /* a name is printed as written, even one that already says UNOFFICIAL */
    sigdb_free(db);
    snprintf(text, sizeof text, "%s:68:X.UNOFFICIAL\n", md5);
    db = db_from(".hdb", text);
    h = match(db, eicar, 68, SIG_TARGET_ANY);
    assert_string_equal(h.name[0], "X.UNOFFICIAL.UNOFFICIAL");
    /* empty data is clean, as in clamscan */
    assert_int_equal(match(db, "", 0, SIG_TARGET_ANY).n, 0);
    sigdb_free(db);
}

static void test_hash_duplicates(void **state)
{
    (void)state;
    char md5[70], text[1000];
    digest_hex("MD5", eicar, 68, md5);
    /* same key three times, two names; and a lookalike of another size */
    snprintf(text, sizeof text, "%s:68:Dup.A\n%s:68:Dup.B\n%s:68:Dup.A\n%s:67:Other.Size\n", md5, md5, md5, md5);
    struct sigdb *db = db_from(".hdb", text);
    struct hits h = match(db, eicar, 68, SIG_TARGET_ANY);
    assert_int_equal(h.n, 3);
    assert_true(has_hit(&h, "Dup.A.UNOFFICIAL"));
    assert_true(has_hit(&h, "Dup.B.UNOFFICIAL"));
    assert_false(has_hit(&h, "Other.Size.UNOFFICIAL"));
    /* the callback stops matching */
    struct sigdb_scratch *s = sigdb_scratch_new(db);
    struct hits stop = {.stop_after = 1};
    assert_int_equal(sigdb_match(db, s, (const uint8_t *)eicar, 68, SIG_TARGET_ANY, on_hit, &stop), 1);
    sigdb_scratch_free(s);
    sigdb_free(db);
}

/* ---- hex signatures ---- */

struct syn_case {
    const char *sig;               /* the hex signature */
    bool hit;                      /* on the subject below */
};

/* "X5O!P%@AP[4\PZX54(..." starts 58 35 4f 21 50 25 40 41 50 5b 34 5c */
static const struct syn_case syntax_cases[] = {
    {"58354f21", true},
    {"58354F21", true},                     /* upper case hex */
    {"58354f22", false},
    {"58??4f21", true},                     /* any byte */
    {"5?354f", true},                       /* high nibble */
    {"6?354f", false},
    {"?8354f", true},                       /* low nibble */
    {"?9354f", false},
    {"5835*5b345c", true},                  /* any number of bytes */
    {"5835*5b345d", false},
    {"58354f21{5}5b34", true},              /* exactly n */
    {"58354f21{4}5b34", false},
    {"58354f21{-5}5b34", true},             /* n or fewer */
    {"58354f21{-4}5b34", false},
    {"58354f21{5-}5b34", true},             /* n or more */
    {"58354f21{6-}5b34", false},
    {"58354f21{2-6}5b34", true},            /* between n and m */
    {"58354f21{6-9}5b34", false},
    {"58[1-2]4f21", true},                  /* anchored range */
    {"58[2-3]4f21", false},
    {"5835(4f|4e)21", true},                /* single-byte alternatives */
    {"5835(4e|4d)21", false},
    {"5835!(4e|4d)21", true},               /* negated */
    {"5835!(4f|4e)21", false},
    {"5835(4f21|4e22)5025", true},          /* multi-byte, one length */
    {"5835(4e21|4e22)5025", false},
    {"5835!(4e21|4e22)5025", true},         /* negated multi-byte */
    {"5835!(4f21|4e22)5025", false},
    {"58354f(2150|22)25", true},            /* generic: lengths differ */
    {"58354f(2150|22?" "?)25", true},
    {"58354f(22|2151)25", false},
    {"58354f(2?50|33)25", true},            /* generic: nibbles */
    {"58354f(2?51|33)25", false},
    {"58354f(21{1}|33)25", true},           /* generic: {n} inside */
    {"58354f(4?|5?)50", false},             /* one byte each, nibbles: a set */
    {"58354f(2?|5?)50", true},
    {"58354f2150(W)4041", true},            /* a byte that is no letter or digit */
    {"58354f21(W)25", false},
    {"{1}354f21", true},                    /* a fixed gap at the start */
    {"??58354f", false},                    /* nothing before the first byte */
    {"58354f21??", true},
    {"5835*4f21*5025*5b34", true},          /* several "*" */
    {"5835*5025*4f21", false},
};

static void test_hex_syntax(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof syntax_cases / sizeof syntax_cases[0]; i++) {
        char line[300];
        snprintf(line, sizeof line, "S:0:*:%s\n", syntax_cases[i].sig);
        int n = hits_of(".ndb", line, eicar, 68, SIG_TARGET_ANY);
        if (n != (syntax_cases[i].hit ? 1 : 0))
            fail_msg("%s: %d hits, want %d", syntax_cases[i].sig, n, syntax_cases[i].hit);
        /* the same pattern verified (an offset makes Hyperscan a prefilter) */
        snprintf(line, sizeof line, "S:0:0:%s\n", syntax_cases[i].sig);
        n = hits_of(".ndb", line, eicar, 68, SIG_TARGET_ANY);
        if (n != (syntax_cases[i].hit ? 1 : 0))
            fail_msg("%s at 0: %d hits, want %d", syntax_cases[i].sig, n, syntax_cases[i].hit);
    }
}

/* Gaps over Hyperscan's bounded-repeat limit, and several bounded gaps
 * where only a later choice of the middle part works. */
static void test_verified_gaps(void **state)
{
    (void)state;
    size_t len = 50000;
    uint8_t *buf = calloc(1, len);
    memcpy(buf + 100, "\xaa\xbb\xcc", 3);
    memcpy(buf + 100 + 3 + 40000, "\xdd\xee\xff", 3);
    assert_int_equal(hits_of(".ndb", "G:0:*:aabbcc{40000}ddeeff\n", buf, len, SIG_TARGET_ANY), 1);
    assert_int_equal(hits_of(".ndb", "G:0:*:aabbcc{39999}ddeeff\n", buf, len, SIG_TARGET_ANY), 0);
    assert_int_equal(hits_of(".ndb", "G:0:*:aabbcc{39990-40010}ddeeff\n", buf, len, SIG_TARGET_ANY), 1);
    assert_int_equal(hits_of(".ndb", "G:0:*:aabbcc{40001-40010}ddeeff\n", buf, len, SIG_TARGET_ANY), 0);
    assert_int_equal(hits_of(".ndb", "G:0:*:aabbcc{35000-}ddeeff\n", buf, len, SIG_TARGET_ANY), 1);
    assert_int_equal(hits_of(".ndb", "G:0:*:aabbcc{40001-}ddeeff\n", buf, len, SIG_TARGET_ANY), 0);
    assert_int_equal(hits_of(".ndb", "G:0:100:aabbcc{40000}ddeeff\n", buf, len, SIG_TARGET_ANY), 1);
    assert_int_equal(hits_of(".ndb", "G:0:101:aabbcc{40000}ddeeff\n", buf, len, SIG_TARGET_ANY), 0);
    free(buf);

    /* 11 22 at 0 and 5; 33 at 9: "1122{0-5}33" from 0 only reaches 33 with
     * the second 1122 - the verifier must keep both */
    static const uint8_t d[] = {0x11, 0x22, 0, 0, 0, 0x11, 0x22, 0, 0, 0x33, 0};
    assert_int_equal(hits_of(".ndb", "V:0:0:1122{1-4}1122{0-2}33\n", d, sizeof d, SIG_TARGET_ANY), 1);
    assert_int_equal(hits_of(".ndb", "V:0:0:1122{0-5}(1122|33)\n", d, sizeof d, SIG_TARGET_ANY), 1);
    assert_int_equal(hits_of(".ndb", "V:0:0:1122*1122{3}33\n", d, sizeof d, SIG_TARGET_ANY), 0);
    assert_int_equal(hits_of(".ndb", "V:0:0:1122*1122{2}33\n", d, sizeof d, SIG_TARGET_ANY), 1);
    assert_int_equal(hits_of(".ndb", "V:0:EOF-11:1122*33\n", d, sizeof d, SIG_TARGET_ANY), 1);
    assert_int_equal(hits_of(".ndb", "V:0:EOF-6:1122*33\n", d, sizeof d, SIG_TARGET_ANY), 1);
    assert_int_equal(hits_of(".ndb", "V:0:EOF-4:1122*33\n", d, sizeof d, SIG_TARGET_ANY), 0);

    /* a literal at every byte (zeros): checked in growing stretches, and
     * still exactly, up to the last possible start */
    size_t zlen = 200000;
    uint8_t *z = calloc(1, zlen);
    z[zlen - 1] = 0x01;
    assert_int_equal(hits_of(".ndb", "Z:0:*:0000??0000??01\n", z, zlen, SIG_TARGET_ANY), 1);
    assert_int_equal(hits_of(".ndb", "Z:0:*:0000??0000??02\n", z, zlen, SIG_TARGET_ANY), 0);
    assert_int_equal(hits_of(".ndb", "Z:0:*:0000{1-3}0000(01|02)\n", z, zlen, SIG_TARGET_ANY), 1);
    assert_int_equal(hits_of(".ndb", "Z:0:EOF-7:0000??0000??01\n", z, zlen, SIG_TARGET_ANY), 1);
    assert_int_equal(hits_of(".ndb", "Z:0:EOF-6:0000??0000??01\n", z, zlen, SIG_TARGET_ANY), 0);
    assert_int_equal(hits_of(".ndb", "Z:0:EOF-8:0000??0000??01\n", z, zlen, SIG_TARGET_ANY), 0);
    assert_int_equal(hits_of(".ndb", "Z:0:100000,99992:0000??0000??01\n", z, zlen, SIG_TARGET_ANY), 0);
    assert_int_equal(hits_of(".ndb", "Z:0:100000,99993:0000??0000??01\n", z, zlen, SIG_TARGET_ANY), 1);
    free(z);
}

/* ---- offsets, on a PE made here ----
 *
 * Three sections (file alignment 0x200): .text at 0x200, .data at 0x400 (the
 * entry point, RVA 0x2010, is in it: file offset 0x410), .rsrc at 0x600. */

enum { PE_LEN = 0x800 };

static void put16(uint8_t *p, unsigned v) { p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, v & 0xffff), put16(p + 2, v >> 16); }

static void make_pe(uint8_t *pe)
{
    memset(pe, 0, PE_LEN);
    pe[0] = 'M', pe[1] = 'Z';
    put32(pe + 0x3c, 0x80);
    memcpy(pe + 0x80, "PE\0\0", 4);
    put16(pe + 0x84, 0x14c);
    put16(pe + 0x86, 3);                   /* sections */
    put16(pe + 0x94, 0xe0);                /* optional header size */
    uint8_t *opt = pe + 0x98;
    put16(opt, 0x10b);
    put32(opt + 16, 0x2010);               /* entry point RVA */
    put32(opt + 32, 0x1000);               /* section alignment */
    put32(opt + 36, 0x200);                /* file alignment */
    put32(opt + 60, 0x200);                /* size of headers */
    uint8_t *sh = opt + 0xe0;
    for (int i = 0; i < 3; i++, sh += 40) {
        memcpy(sh, i == 0 ? ".text" : i == 1 ? ".data" : ".rsrc", 5);
        put32(sh + 8, 0x200);              /* virtual size */
        put32(sh + 12, 0x1000u * (i + 1)); /* RVA */
        put32(sh + 16, 0x200);             /* raw size */
        put32(sh + 20, 0x200u * (i + 1)); /* raw offset */
    }
    memcpy(pe + 0x200, "TEXTSTART", 9);
    memcpy(pe + 0x3f0, "BEFORE-EP", 9);
    memcpy(pe + 0x410, "ENTRYPOINT", 10);
    memcpy(pe + 0x500, "MIDDATA", 7);
    memcpy(pe + 0x600, "LASTSECTION", 11);
    memcpy(pe + 0x7f0, "THE-END", 7);
}

struct off_case {
    const char *offset;
    const char *text;              /* as a hex signature */
    bool hit;
};

static const struct off_case pe_cases[] = {
    {"*", "ENTRYPOINT", true},
    {"1040", "ENTRYPOINT", true},      /* absolute: 0x410 */
    {"1039", "ENTRYPOINT", false},
    {"1030,10", "ENTRYPOINT", true},   /* floating: 1030..1040 */
    {"1030,9", "ENTRYPOINT", false},
    {"EP+0", "ENTRYPOINT", true},
    {"EP+1", "NTRYPOINT", true},
    {"EP+1", "ENTRYPOINT", false},
    {"EP-32", "BEFORE-EP", true},      /* 0x3f0 */
    {"EP-33", "BEFORE-EP", false},
    {"EP-40,8", "BEFORE-EP", true},
    {"EP-40,7", "BEFORE-EP", false},
    {"S0+0", "TEXTSTART", true},
    {"S0+1", "TEXTSTART", false},
    {"S1+256", "MIDDATA", true},       /* 0x400 + 0x100 */
    {"S1+16", "ENTRYPOINT", true},
    {"S2+0", "LASTSECTION", true},
    {"S3+0", "LASTSECTION", false},    /* no fourth section */
    {"SL+0", "LASTSECTION", true},
    {"SL+496", "THE-END", true},       /* 0x600 + 0x1f0 */
    {"SL+495,1", "THE-END", true},
    {"SE1", "MIDDATA", true},          /* anywhere in .data */
    {"SE0", "MIDDATA", false},
    {"SE2", "THE-END", true},
    {"EOF-16", "THE-END", true},       /* 0x800 - 0x10 */
    {"EOF-17", "THE-END", false},
    {"EOF-20,4", "THE-END", true},
};

static void test_offsets_pe(void **state)
{
    (void)state;
    uint8_t *pe = malloc(PE_LEN);
    make_pe(pe);
    for (size_t i = 0; i < sizeof pe_cases / sizeof pe_cases[0]; i++) {
        char hex[64], line[200];
        hex_of(pe_cases[i].text, strlen(pe_cases[i].text), hex);
        snprintf(line, sizeof line, "O:1:%s:%s\n", pe_cases[i].offset, hex);
        int n = hits_of(".ndb", line, pe, PE_LEN, SIG_TARGET_PE);
        if (n != (pe_cases[i].hit ? 1 : 0))
            fail_msg("offset %s \"%s\": %d hits, want %d", pe_cases[i].offset, pe_cases[i].text, n,
                     pe_cases[i].hit);
    }
    /* a PE signature does not match an object of another type */
    char hex[64], line[200];
    hex_of("ENTRYPOINT", 10, hex);
    snprintf(line, sizeof line, "O:1:EP+0:%s\nAny:0:1040:%s\n", hex, hex);
    struct sigdb *db = db_from(".ndb", line);
    struct hits h = match(db, pe, PE_LEN, SIG_TARGET_ANY);
    assert_int_equal(h.n, 1);
    assert_string_equal(h.name[0], "Any.UNOFFICIAL");
    assert_int_equal(match(db, pe, PE_LEN, SIG_TARGET_PE).n, 2);
    /* a header that does not parse: no entry point, so no EP signature,
     * and (as ClamAV) no EOF signature of target 1 either */
    put32(pe + 0x3c, 0x7fffffff);
    h = match(db, pe, PE_LEN, SIG_TARGET_PE);
    assert_int_equal(h.n, 1);
    assert_string_equal(h.name[0], "Any.UNOFFICIAL");
    sigdb_free(db);
    hex_of("THE-END", 7, hex);
    snprintf(line, sizeof line, "E1:1:EOF-16:%s\nE0:0:EOF-16:%s\n", hex, hex);
    assert_int_equal(hits_of(".ndb", line, pe, PE_LEN, SIG_TARGET_PE), 1);
    /* the entry point inside the headers is taken as it is */
    make_pe(pe);
    put32(pe + 0x98 + 16, 0x1f0);
    memcpy(pe + 0x1f0, "HDR-EP", 6);
    hex_of("HDR-EP", 6, hex);
    snprintf(line, sizeof line, "H:1:EP+0:%s\n", hex);
    assert_int_equal(hits_of(".ndb", line, pe, PE_LEN, SIG_TARGET_PE), 1);
    /* an entry point in no section and past the headers: no EP */
    put32(pe + 0x98 + 16, 0x9000);
    snprintf(line, sizeof line, "H:1:EP+0:%s\nS:1:S0+0:%s\n", hex, "5445585453544152");
    assert_int_equal(hits_of(".ndb", line, pe, PE_LEN, SIG_TARGET_PE), 0);
    /* truncated files of every length: never a read outside them */
    make_pe(pe);
    hex_of("ENTRYPOINT", 10, hex);
    snprintf(line, sizeof line, "A:1:EP+0:%s\nB:1:SL+0:4c415354\nC:1:SE2:4c415354\nD:1:EOF-2:0000\n", hex);
    db = db_from(".ndb", line);
    struct sigdb_scratch *s = sigdb_scratch_new(db);
    for (size_t len = 0; len <= PE_LEN; len++) {
        uint8_t *copy = malloc(len ? len : 1);
        memcpy(copy, pe, len);
        struct hits hh = {0};
        assert_true(sigdb_match(db, s, copy, len, SIG_TARGET_PE, on_hit, &hh) >= 0);
        free(copy);
    }
    sigdb_scratch_free(s);
    sigdb_free(db);
    free(pe);
}

static void test_offsets_plain(void **state)
{
    (void)state;
    /* "X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-...-FILE!$H+H*" */
    static const struct off_case cases[] = {
        {"0", "X5O!", true},         {"1", "X5O!", false},          {"0,3", "5O!P", true},
        {"0,0", "5O!P", false},      {"EOF-4", "H+H*", true},       {"EOF-5", "H+H*", false},
        {"EOF-6,2", "H+H*", true},   {"EOF-6,1", "H+H*", false},    {"EOF-68", "X5O!", true},
        {"EOF-69", "X5O!", false},   {"66", "H*", true},            {"67", "H*", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char hex[64], line[200];
        hex_of(cases[i].text, strlen(cases[i].text), hex);
        snprintf(line, sizeof line, "O:0:%s:%s\n", cases[i].offset, hex);
        int n = hits_of(".ndb", line, eicar, 68, SIG_TARGET_ANY);
        if (n != (cases[i].hit ? 1 : 0))
            fail_msg("offset %s \"%s\": %d hits, want %d", cases[i].offset, cases[i].text, n, cases[i].hit);
    }
}

/* ---- targets and text ---- */

static void test_targets(void **state)
{
    (void)state;
    char hex[100], text[1000];
    hex_of("KERNEL32", 8, hex);
    snprintf(text, sizeof text, "T0:0:*:%s\nT1:1:*:%s\nT2:2:*:%s\nT6:6:*:%s\nT12:12:*:%s\n", hex, hex, hex, hex, hex);
    struct sigdb *db = db_from(".ndb", text);
    const char data[] = "....KERNEL32....";
    struct hits h = match(db, data, sizeof data - 1, SIG_TARGET_ANY);
    assert_int_equal(h.n, 1);
    assert_true(has_hit(&h, "T0.UNOFFICIAL"));
    h = match(db, data, sizeof data - 1, SIG_TARGET_PE);
    assert_int_equal(h.n, 2);
    assert_true(has_hit(&h, "T1.UNOFFICIAL"));
    h = match(db, data, sizeof data - 1, SIG_TARGET_ELF);
    assert_int_equal(h.n, 2);
    assert_true(has_hit(&h, "T6.UNOFFICIAL"));
    h = match(db, data, sizeof data - 1, SIG_TARGET_JAVA);
    assert_true(has_hit(&h, "T12.UNOFFICIAL"));
    sigdb_free(db);
}

static void test_text_normalised(void **state)
{
    (void)state;
    char lower[100], upper[100], text[1000];
    hex_of("hello world", 11, lower);
    hex_of("HELLO  \t World", 14, upper);
    snprintf(text, sizeof text, "N7:7:*:%s\nN0:0:*:%s\nR7:7:*:%s\nR0:0:*:%s\nN3:3:*:%s\n", lower, lower, upper,
             upper, lower);
    struct sigdb *db = db_from(".ndb", text);
    const char data[] = "Some text\nHELLO  \t World\xe2\x80\x99s end\n";
    /* ASCII: target 7 only on the normalised text; target 0 on both */
    struct hits h = match(db, data, sizeof data - 1, SIG_TARGET_ASCII);
    assert_int_equal(h.n, 3);
    assert_true(has_hit(&h, "N7.UNOFFICIAL"));
    assert_true(has_hit(&h, "N0.UNOFFICIAL"));
    assert_true(has_hit(&h, "R0.UNOFFICIAL"));
    /* HTML the same way, with its own target */
    h = match(db, data, sizeof data - 1, SIG_TARGET_HTML);
    assert_int_equal(h.n, 3);
    assert_true(has_hit(&h, "N3.UNOFFICIAL"));
    /* not text: raw only */
    h = match(db, data, sizeof data - 1, SIG_TARGET_ANY);
    assert_int_equal(h.n, 1);
    assert_true(has_hit(&h, "R0.UNOFFICIAL"));
    /* text already normal: one pass, every signature once */
    const char plain[] = "say hello world";
    h = match(db, plain, sizeof plain - 1, SIG_TARGET_ASCII);
    assert_int_equal(h.n, 2);
    sigdb_free(db);
    /* bytes >= 0x80 and controls are dropped, DEL kept, tabs and CRs are spaces */
    hex_of("a b\x7f" "c", 5, lower);
    snprintf(text, sizeof text, "D:7:*:%s\n", lower);
    assert_int_equal(hits_of(".ndb", text, "A\r\n\t B\x7f\x01\xff" "C", 10, SIG_TARGET_ASCII), 1);
}

/* ---- bad lines ---- */

static void test_bad_ndb_lines(void **state)
{
    (void)state;
    static const struct {
        const char *line, *reason;
    } cases[] = {
        {"A:0:*", "expected MalwareName:TargetType:Offset:HexSignature[:MinFL[:MaxFL]]"},
        {"A:0:*:aabb:1:2:3", "expected MalwareName:TargetType:Offset:HexSignature[:MinFL[:MaxFL]]"},
        {":0:*:aabbcc", "empty malware name"},
        {" (Clam):0:*:aabbcc", "empty malware name"},
        {"A\x01:0:*:aabbcc", "malware name has a byte outside printable ASCII (0x01)"},
        {"A:x:*:aabbcc", "bad target type \"x\""},
        {"A:8:*:aabbcc", "target type 8 is not supported"},
        {"A:13:*:aabbcc", "target type 13 is not supported"},
        {"A:0:EP+0:aabbcc", "offset EP+0 needs target type 1 (PE)"},
        {"A:6:EP+0:aabbcc", "offset EP+0 needs target type 1 (PE): ELF and Mach-O headers are not read"},
        {"A:0:S1+0:aabbcc", "offset S1+0 needs target type 1 (PE)"},
        {"A:0:*,5:aabbcc", "bad offset \"*,5\""},
        {"A:0: 5:aabbcc", "bad offset \" 5\""},
        {"A:1:EP+:aabbcc", "bad offset \"EP+\""},
        {"A:1:S+1:aabbcc", "bad offset \"S+1\""},
        {"A:0:4294967296:aabbcc", "bad offset \"4294967296\""},
        {"A:0:*:", "empty hex signature"},
        {"A:0:*:aab", "bad hex byte at character 3"},
        {"A:0:*:aagg", "unexpected 'g' at character 3"},
        {"A:0:*:aa bb", "unexpected ' ' at character 3"},
        {"A:0:*:aa", "signature has no 2 fixed bytes in a row"},
        {"A:0:*:a?b?c?", "signature has no 2 fixed bytes in a row"},
        {"A:0:*:*aabb", "signature starts or ends with a variable gap"},
        {"A:0:*:aabb*", "signature starts or ends with a variable gap"},
        {"A:0:*:{1-2}aabb", "signature starts or ends with a variable gap"},
        {"A:0:*:aabb{3", "unclosed { at character 5"},
        {"A:0:*:aabb{x}cc", "bad range {x}"},
        {"A:0:*:aabb{5-3}cc", "bad range {5-3}"},
        {"A:0:*:aabb[1]cc", "bad range [1]"},
        {"A:0:*:aabb(cc|dd", "unclosed ( at character 5"},
        {"A:0:*:aabb(cc|(dd))", "nested ( at character 5"},
        {"A:0:*:aabb(cc|)", "empty alternative"},
        {"A:0:*:aabb()", "empty alternative"},
        {"A:0:*:aabb(c*|dd)", "alternatives may hold only hex bytes, ?? and nibble wildcards and {n}"},
        {"A:0:*:aabb(cc{200}|dd)", "alternatives allow only {n} gaps up to 127"},
        {"A:0:*:aabb!(cc|dddd)", "negated alternatives must be plain bytes of one length"},
        {"A:0:*:aabb!(c?|dd)", "negated alternatives must be plain bytes of one length"},
        {"A:0:*:aabb(B)cc", "the (B) anchor is not supported"},
        {"A:0:*:aabb(L)cc", "the (L) anchor is not supported"},
        {"A:0:*:aabb!cc", "unexpected '!' at character 5"},
        {"A:0:*:aabb{0-2000000}cc", "bounded gaps span more than 1048576 bytes (use *)"},
        {"A:0:*:aabbcc:x", "bad functionality level \"x\""},
        {"A:0:*:aabbcc:10:y", "bad functionality level \"y\""},
    };
    char text[20000] = "# header comment\n";
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        strcat(text, cases[i].line);
        strcat(text, "\n");
    }
    strcat(text, "Good:0:*:aabbcc\n");
    struct sigdb *db = sigdb_new();
    struct warns w = {0};
    const char *path;
    long n = load_text(db, ".ndb", text, &w, &path);
    assert_int_equal(n, 1);
    assert_int_equal(w.n, (int)(sizeof cases / sizeof cases[0]));
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char want[700];
        snprintf(want, sizeof want, "%s:%zu: %s", path, i + 2, cases[i].reason);
        assert_string_equal(w.msg[i], want);
    }
    sigdb_free(db);
}

static void test_bad_hash_lines(void **state)
{
    (void)state;
    static const struct {
        const char *line, *reason;
    } cases[] = {
        {"44d88612fea8a8f36de82e1278abb02f:68", "expected HashString:FileSize:MalwareName[:MinFL[:MaxFL]]"},
        {"44d88612fea8a8f36de82e1278abb02f:68:A:1:2:3", "expected HashString:FileSize:MalwareName[:MinFL[:MaxFL]]"},
        {"44d88612fea8a8f36de82e1278abb02:68:A", "hash is not 32, 40 or 64 hex digits (MD5, SHA-1, SHA-256)"},
        {"44d88612fea8a8f36de82e1278abb02g:68:A", "hash has a character that is not a hex digit"},
        {"44d88612fea8a8f36de82e1278abb02f:-1:A", "bad file size \"-1\" (a number or *)"},
        {"44d88612fea8a8f36de82e1278abb02f::A", "bad file size \"\" (a number or *)"},
        {"44d88612fea8a8f36de82e1278abb02f:99999999999999999999:A", "bad file size \"99999999999999999999\" (a number or *)"},
        {"44d88612fea8a8f36de82e1278abb02f:68:", "empty malware name"},
        {"44d88612fea8a8f36de82e1278abb02f:68:A\xc3\xa9", "malware name has a byte outside printable ASCII (0xc3)"},
        {"44d88612fea8a8f36de82e1278abb02f:68:A:seventy", "bad functionality level \"seventy\""},
        {"44d88612fea8a8f36de82e1278abb02f:68:A\x00" "B", "NUL byte in line"},
    };
    char text[8000] = "";
    size_t len = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        /* the NUL case is written with its NUL */
        size_t n = strlen(cases[i].line);
        if (strstr(cases[i].reason, "NUL"))
            n += 2;
        memcpy(text + len, cases[i].line, n);
        len += n;
        text[len++] = '\n';
    }
    char name[300];
    memset(name, 'N', sizeof name);
    len += (size_t)sprintf(text + len, "44d88612fea8a8f36de82e1278abb02f:68:%.*s\n", 256, name);
    len += (size_t)sprintf(text + len, "44d88612fea8a8f36de82e1278abb02f:68:%.*s\n", 255, name);
    const char *path = temp_file(".hsb", text, len);
    struct sigdb *db = sigdb_new();
    struct warns w = {0};
    char err[300];
    assert_int_equal(sigdb_load_file(db, path, on_warn, &w, err, sizeof err), 1);
    unlink(path);
    size_t ncases = sizeof cases / sizeof cases[0];
    assert_int_equal(w.n, (int)ncases + 1);
    for (size_t i = 0; i < ncases; i++) {
        char want[700];
        snprintf(want, sizeof want, "%s:%zu: %s", path, i + 1, cases[i].reason);
        assert_string_equal(w.msg[i], want);
    }
    char want[700];
    snprintf(want, sizeof want, "%s:%zu: malware name longer than 255 bytes", path, ncases + 1);
    assert_string_equal(w.msg[ncases], want);
    sigdb_free(db);
}

static void test_long_lines(void **state)
{
    (void)state;
    /* lines of 8192 bytes load, 8193 do not; a long comment is a comment;
     * CRLF does not count */
    size_t cap = 300000;
    char *text = malloc(cap);
    size_t len = 0;
    char *hex = malloc(100000);
    memset(hex, 'a', 100000);
    /* 1: 8192 bytes and a CR; even hex digits, but too weak?: no, all fixed */
    len += (size_t)sprintf(text + len, "L:0:*:%.*s\r\n", 8192 - 6, hex);
    /* 2: 8193 bytes */
    len += (size_t)sprintf(text + len, "L:0:*:%.*s\n", 8192 - 5, hex);
    /* 3: a comment of 100001 bytes */
    text[len++] = '#';
    memset(text + len, '#', 100000);
    len += 100000;
    text[len++] = '\n';
    /* 4: 60006 bytes */
    len += (size_t)sprintf(text + len, "L:0:*:%.*s\n", 60000, hex);
    /* 5 */
    len += (size_t)sprintf(text + len, "Short:0:*:aabbcc\n");
    /* 6: 9006 bytes and no newline at the end */
    len += (size_t)sprintf(text + len, "L:0:*:%.*s", 9000, hex);
    free(hex);
    const char *path = temp_file(".ndb", text, len);
    struct sigdb *db = sigdb_new();
    struct warns w = {0};
    char err[300];
    assert_int_equal(sigdb_load_file(db, path, on_warn, &w, err, sizeof err), 2);
    unlink(path);
    assert_int_equal(w.n, 3);
    char want[700];
    snprintf(want, sizeof want, "%s:2: line longer than 8192 bytes", path);
    assert_string_equal(w.msg[0], want);
    snprintf(want, sizeof want, "%s:4: line longer than 8192 bytes", path);
    assert_string_equal(w.msg[1], want);
    snprintf(want, sizeof want, "%s:6: line longer than 8192 bytes", path);
    assert_string_equal(w.msg[2], want);
    sigdb_free(db);
    free(text);
}

static void test_files(void **state)
{
    (void)state;
    struct sigdb *db = sigdb_new();
    char err[300];
    struct warns w = {0};
    assert_int_equal(sigdb_load_file(db, "/nonexistent/x.ndb", on_warn, &w, err, sizeof err), -1);
    assert_string_equal(err, "/nonexistent/x.ndb: No such file or directory");
    assert_int_equal(sigdb_load_file(db, "/etc/passwd", on_warn, &w, err, sizeof err), -1);
    assert_string_equal(err, "/etc/passwd: not a signature file (.hdb, .hsb or .ndb)");
    /* a file that fails while being read leaves the database as it was */
    assert_int_equal(load_text(db, ".ndb", "Kept:0:*:aabbcc\n", &w, NULL), 1);
    char dir[] = "/tmp/rampart-sigs-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char sub[64];
    snprintf(sub, sizeof sub, "%s/d.ndb", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    assert_int_equal(sigdb_load_file(db, sub, on_warn, &w, err, sizeof err), -1);
    char want[200];
    snprintf(want, sizeof want, "%s: Is a directory", sub);
    assert_string_equal(err, want);
    rmdir(sub);
    rmdir(dir);
    size_t nh, np;
    sigdb_counts(db, &nh, &np);
    assert_int_equal(np, 1);
    assert_int_equal(w.n, 0);
    /* upper-case extensions, as ClamAV */
    const char *p = temp_file(".HDB", "44d88612fea8a8f36de82e1278abb02f:68:Up\n", 40);
    assert_int_equal(sigdb_load_file(db, p, on_warn, &w, err, sizeof err), 1);
    unlink(p);
    /* scratch before compile: none; load after compile: refused */
    assert_null(sigdb_scratch_new(db));
    assert_int_equal(sigdb_compile(db, err, sizeof err), 0);
    assert_int_equal(sigdb_compile(db, err, sizeof err), -1);
    assert_int_equal(load_text(db, ".ndb", "Late:0:*:aabbcc\n", &w, NULL), -1);
    struct hits h = match(db, eicar, 68, SIG_TARGET_ANY);
    assert_int_equal(h.n, 1);
    assert_string_equal(h.name[0], "Up.UNOFFICIAL");
    sigdb_free(db);
}

static void test_empty_and_hash_only(void **state)
{
    (void)state;
    /* nothing loaded: compiles, matches nothing */
    struct sigdb *db = sigdb_new();
    char err[300];
    assert_int_equal(sigdb_compile(db, err, sizeof err), 0);
    assert_int_equal(match(db, eicar, 68, SIG_TARGET_ANY).n, 0);
    assert_int_equal(match(db, eicar, 68, SIG_TARGET_ASCII).n, 0);
    sigdb_free(db);
    /* hashes only: no Hyperscan database at all */
    db = db_from(".hdb", "44d88612fea8a8f36de82e1278abb02f:68:OnlyHash\n");
    assert_int_equal(match(db, eicar, 68, SIG_TARGET_ASCII).n, 1);
    sigdb_free(db);
    /* comments and blank lines only */
    db = db_from(".ndb", "# nothing\n\n \n");
    size_t nh, np;
    sigdb_counts(db, &nh, &np);
    assert_int_equal(nh + np, 0);
    sigdb_free(db);
}

/* Several scratches on one database, one per thread in the engine. */
static void test_scratch_per_thread(void **state)
{
    (void)state;
    struct sigdb *db = db_from(".ndb", "A:0:*:58354f21\nB:0:0:58354f21\n");
    struct sigdb_scratch *s1 = sigdb_scratch_new(db), *s2 = sigdb_scratch_new(db);
    assert_non_null(s1);
    assert_non_null(s2);
    for (int i = 0; i < 3; i++) {
        struct hits h1 = {0}, h2 = {0};
        assert_int_equal(sigdb_match(db, s1, (const uint8_t *)eicar, 68, SIG_TARGET_ANY, on_hit, &h1), 2);
        assert_int_equal(sigdb_match(db, s2, (const uint8_t *)eicar + 1, 67, SIG_TARGET_ANY, on_hit, &h2), 0);
    }
    sigdb_scratch_free(s1);
    sigdb_scratch_free(s2);
    sigdb_free(db);
}

/* ---- the exact check against an independent regex ----
 *
 * Random signatures over a three-letter alphabet (so that they match now and
 * then), each written both as a hex signature and, by code of this test, as
 * a regular expression; random data over the same letters. Whether the
 * database reports a hit must agree with Hyperscan running the regex,
 * anchored for the offset. */

#include <hs.h>

static unsigned long long rng = 0x9e3779b97f4a7c15ull;
static unsigned rnd(unsigned n)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (unsigned)(rng % n);
}

struct gen {
    char hex[600], re[4000];
};

static void gen_add(struct gen *g, const char *hex, const char *re)
{
    strcat(g->hex, hex);
    strcat(g->re, re);
}

static void gen_byte(char *hexb, char *reb)
{
    unsigned b = 0x41 + rnd(3);
    sprintf(hexb, "%02x", b);
    sprintf(reb, "\\x%02x", b);
}

/* One part; fixed says it must be two plain bytes (the anchor). */
static void gen_part(struct gen *g, bool fixed)
{
    char h[200], r[1200], h2[8], r2[8];
    unsigned k = fixed ? 0 : rnd(12);
    switch (k) {
    case 0: /* two plain bytes */
        gen_byte(h, r);
        gen_byte(h2, r2);
        strcat(h, h2), strcat(r, r2);
        break;
    case 1: strcpy(h, "??"), strcpy(r, "."); break;
    case 2: strcpy(h, "4?"), strcpy(r, "[\\x40-\\x4f]"); break;
    case 3: strcpy(h, "?2"), strcpy(r, "[\\x02\\x12\\x22\\x32\\x42\\x52\\x62\\x72\\x82\\x92\\xa2\\xb2\\xc2\\xd2\\xe2\\xf2]"); break;
    case 4: { unsigned n = rnd(4); sprintf(h, "{%u}", n + 1), sprintf(r, ".{%u}", n + 1); break; }
    case 5: { unsigned n = rnd(5); sprintf(h, "{-%u}", n + 1), sprintf(r, ".{0,%u}", n + 1); break; }
    case 6: { unsigned n = rnd(3); sprintf(h, "{%u-}", n), sprintf(r, ".{%u,}", n); break; }
    case 7: { unsigned a = rnd(3), b = a + 1 + rnd(4); sprintf(h, "{%u-%u}", a, b), sprintf(r, ".{%u,%u}", a, b); break; }
    case 8: strcpy(h, "*"), strcpy(r, ".*"); break;
    case 9: /* alternatives of one or two bytes */
        if (rnd(2))
            strcpy(h, "(41|43)"), strcpy(r, "[\\x41\\x43]");
        else
            strcpy(h, "(4142|43)"), strcpy(r, "(?:\\x41\\x42|\\x43)");
        break;
    case 10: /* negated */
        if (rnd(2))
            strcpy(h, "!(41|42)"), strcpy(r, "[^\\x41\\x42]");
        else
            strcpy(h, "!(4142|4343)"), strcpy(r, "(?:[^\\x41\\x43].|\\x41[^\\x42]|\\x43[^\\x43])");
        break;
    default: {
        unsigned a = rnd(3), b = a + rnd(3);
        sprintf(h, "[%u-%u]", a, b);
        if (b)
            sprintf(r, ".{%u,%u}", a, b);
        else
            r[0] = '\0'; /* Hyperscan has no ".{0,0}" */
        break;
    }
    }
    gen_add(g, h, r);
}

static int hs_any(unsigned id, unsigned long long from, unsigned long long to, unsigned flags, void *ctx)
{
    (void)id, (void)from, (void)to, (void)flags;
    *(int *)ctx = 1;
    return 1;
}

static void test_random_vs_regex(void **state)
{
    (void)state;
    int cases = 0, hits = 0;
    for (int iter = 0; iter < 1500; iter++) {
        struct gen g = {0};
        unsigned nparts = 1 + rnd(5), anchor = rnd(nparts);
        for (unsigned k = 0; k < nparts; k++) {
            if (k == anchor)
                gen_part(&g, true);
            else if (k == 0 || k == nparts - 1) /* no variable gap at the ends */
                gen_part(&g, rnd(3) == 0);
            else
                gen_part(&g, false);
        }
        /* the offset: *, n, n,shift, EOF-n, EOF-n,shift */
        char off[40];
        unsigned kind = rnd(5), n = rnd(40), shift = rnd(20);
        size_t len = 20 + rnd(80);
        uint8_t data[100];
        for (size_t i = 0; i < len; i++)
            data[i] = (uint8_t)(0x41 + rnd(3));
        long lo = 0, hi = (long)len;
        switch (kind) {
        case 0: strcpy(off, "*"); break;
        case 1: sprintf(off, "%u", n), lo = hi = n; break;
        case 2: sprintf(off, "%u,%u", n, shift), lo = n, hi = n + shift; break;
        case 3: sprintf(off, "EOF-%u", n), lo = hi = (long)len - n; break;
        default: sprintf(off, "EOF-%u,%u", n, shift), lo = (long)len - n, hi = lo + shift; break;
        }
        char line[800];
        snprintf(line, sizeof line, "R:0:%s:%s\n", off, g.hex);
        struct sigdb *db = sigdb_new();
        struct warns w = {0};
        load_text(db, ".ndb", line, &w, NULL);
        if (w.n) { /* a variable gap at an end, or too weak: not this test's business */
            sigdb_free(db);
            continue;
        }
        char err[300];
        assert_int_equal(sigdb_compile(db, err, sizeof err), 0);
        int ours = match(db, data, len, SIG_TARGET_ANY).n;
        sigdb_free(db);

        int want = 0;
        if (lo >= 0 && lo <= (long)len) {
            if (hi > (long)len)
                hi = (long)len;
            char re[4200];
            if (kind == 0)
                snprintf(re, sizeof re, "%s", g.re);
            else if (hi == 0)
                snprintf(re, sizeof re, "^(?:%s)", g.re);
            else
                snprintf(re, sizeof re, "^.{%ld,%ld}(?:%s)", lo, hi, g.re);
            hs_database_t *hdb;
            hs_compile_error_t *ce;
            if (hs_compile(re, HS_FLAG_DOTALL | HS_FLAG_SINGLEMATCH | HS_FLAG_ALLOWEMPTY, HS_MODE_BLOCK, NULL, &hdb,
                           &ce) != HS_SUCCESS)
                fail_msg("regex %s: %s", re, ce->message);
            hs_scratch_t *hs = NULL;
            assert_int_equal(hs_alloc_scratch(hdb, &hs), HS_SUCCESS);
            hs_scan(hdb, (const char *)data, (unsigned)len, 0, hs, hs_any, &want);
            hs_free_scratch(hs);
            hs_free_database(hdb);
        }
        if (ours != want) {
            char hex[220];
            hex_of(data, len, hex);
            fail_msg("%s on %s: %d hits, the regex says %d", line, hex, ours, want);
        }
        cases++;
        hits += want;
    }
    print_message("%d random signatures checked against a regex, %d of them hit\n", cases, hits);
    assert_true(cases > 800 && hits > 100);
}

/* ---- a million hashes ---- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_million_hashes(void **state)
{
    (void)state;
    enum { N = 1000000 };
    char path[] = "/tmp/rampart-sigs-XXXXXX.hdb";
    int fd = mkstemps(path, 4);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    /* distinct hashes (the MD5 of "i"), sizes 1..5000, and EICAR's own last */
    for (int i = 0; i < N - 1; i++) {
        char buf[16], hex[40];
        int n = snprintf(buf, sizeof buf, "%d", i);
        digest_hex("MD5", buf, (size_t)n, hex);
        fprintf(f, "%s:%d:Rampart.Test.Million-%d\n", hex, 1 + i % 5000, i);
    }
    fprintf(f, "44d88612fea8a8f36de82e1278abb02f:68:Rampart.Test.Million.Eicar\n");
    fclose(f);
    struct sigdb *db = sigdb_new();
    struct warns w = {0};
    char err[300];
    double t0 = now_s();
    long n = sigdb_load_file(db, path, on_warn, &w, err, sizeof err);
    double t1 = now_s();
    assert_int_equal(n, N);
    assert_int_equal(sigdb_compile(db, err, sizeof err), 0);
    double t2 = now_s();
    unlink(path);
    print_message("1M .hdb lines: load %.3f s, compile %.3f s\n", t1 - t0, t2 - t1);
    struct hits h = match(db, eicar, 68, SIG_TARGET_ANY);
    assert_int_equal(h.n, 1);
    assert_string_equal(h.name[0], "Rampart.Test.Million.Eicar.UNOFFICIAL");
    assert_int_equal(match(db, "123456", 6, SIG_TARGET_ANY).n, 0);
    /* "4242" is line 4242 with size 1 + 4242 % 5000: the size must match too */
    assert_int_equal(match(db, "4242", 4, SIG_TARGET_ANY).n, 0);
    sigdb_free(db);
    /* generous: sanitizer builds are several times slower than release */
    assert_true(t2 - t0 < 20.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eicar),
        cmocka_unit_test(test_hash_lines),
        cmocka_unit_test(test_hash_duplicates),
        cmocka_unit_test(test_hex_syntax),
        cmocka_unit_test(test_verified_gaps),
        cmocka_unit_test(test_random_vs_regex),
        cmocka_unit_test(test_offsets_pe),
        cmocka_unit_test(test_offsets_plain),
        cmocka_unit_test(test_targets),
        cmocka_unit_test(test_text_normalised),
        cmocka_unit_test(test_bad_ndb_lines),
        cmocka_unit_test(test_bad_hash_lines),
        cmocka_unit_test(test_long_lines),
        cmocka_unit_test(test_files),
        cmocka_unit_test(test_empty_and_hash_only),
        cmocka_unit_test(test_scratch_per_thread),
        cmocka_unit_test(test_million_hashes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

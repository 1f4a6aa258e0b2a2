/*
 * gen - deterministic data generator for the DNSBL benchmark.
 *
 * Writes, for the same listed entries, an rbldnsd data file, the equivalent
 * master zone file (for NSD and Knot), and a dnsperf query file in which
 * half the queries hit a listed entry and half miss.
 *
 * Entries are a pure function of (seed, index), so nothing is kept in memory
 * and 10M entries stream out in a few seconds:
 *   - IPv4: ip = perm(seed, 2*i) where perm is a bijection of the 32-bit
 *     space.  Listed entries use even arguments, misses odd ones, so listed
 *     addresses are unique and a "miss" can never be listed.
 *   - IPv6 and domain names: 64-bit hashes of (seed, i); collisions between
 *     listed and missed names are impossible by construction (domains) or
 *     have probability ~2^-60 (IPv6).
 *
 * Usage:
 *   gen ip4 SEED ZONE START COUNT RBLFILE ZONEFILE|- QUERYFILE|- NQUERIES
 *       lists indexes START..START+COUNT-1 (so two files with shifted START
 *       share most entries: that is how the reload test makes "new data").
 *       Prints "probe <qname>" for the last listed entry.
 *   gen mixed SEED DIR NQUERIES
 *       DIR/{ip4,ip6,dom}.rbl (ip4set, ip6trie, dnset), DIR/{ip4,ip6,dom}.zone
 *       and DIR/queries, for zones ip4.mix.example (50k IPv4 /32),
 *       ip6.mix.example (12.5k /64 + 12.5k /128), dom.mix.example (25k names,
 *       one in five listed with its subdomains).  Prints a "probe" line per zone.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TTL 2100
#define SOA_RDATA "ns1.example.net. hostmaster.example.net. 1 3600 600 604800 2100"
#define NS_NAME "ns1.example.net."

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t hash64(uint64_t seed, uint64_t i)
{
    uint64_t s = seed * 0x100000001b3ULL ^ i;
    return splitmix64(&s);
}

/* A bijection of uint32: xor/add of a key, xorshifts and odd multiplies are
 * each invertible, so distinct inputs give distinct addresses. */
static uint32_t perm32(uint64_t seed, uint32_t x)
{
    x ^= (uint32_t)seed;
    x ^= x >> 16; x *= 0x7feb352dU; x ^= x >> 15; x *= 0x846ca68bU; x ^= x >> 16;
    x += (uint32_t)(seed >> 32);
    x ^= x >> 16; x *= 0x7feb352dU; x ^= x >> 15; x *= 0x846ca68bU; x ^= x >> 16;
    return x;
}

static FILE *open_out(const char *path)
{
    if (strcmp(path, "-") == 0)
        return NULL;
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        exit(1);
    }
    setvbuf(f, NULL, _IOFBF, 1 << 20);
    return f;
}

static void close_out(FILE *f, const char *path)
{
    if (f && (ferror(f) || fclose(f) != 0)) {
        perror(path);
        exit(1);
    }
}

static void rbl_header(FILE *f)
{
    fprintf(f, "$SOA %d " SOA_RDATA "\n$NS %d " NS_NAME "\n:127.0.0.2:Listed $\n", TTL, TTL);
}

static void zone_header(FILE *f, const char *zone)
{
    fprintf(f, "$ORIGIN %s.\n$TTL %d\n@ SOA " SOA_RDATA "\n@ NS " NS_NAME "\n", zone, TTL);
}

/* Dotted-quad text, forward ("1.2.3.4") or reversed ("4.3.2.1"), fast. */
static char *put_ip4(char *p, uint32_t ip, int reversed)
{
    for (int k = 0; k < 4; k++) {
        unsigned o = reversed ? (ip >> (8 * k)) & 255 : (ip >> (24 - 8 * k)) & 255;
        if (k)
            *p++ = '.';
        if (o >= 100)
            *p++ = '0' + o / 100;
        if (o >= 10)
            *p++ = '0' + o / 10 % 10;
        *p++ = '0' + o % 10;
    }
    return p;
}

static int cmd_ip4(int argc, char **argv)
{
    if (argc != 10) {
        fprintf(stderr, "usage: gen ip4 SEED ZONE START COUNT RBL ZONEFILE|- QUERIES|- NQ\n");
        return 2;
    }
    uint64_t seed = strtoull(argv[2], NULL, 0);
    const char *zone = argv[3];
    uint32_t start = strtoul(argv[4], NULL, 0), count = strtoul(argv[5], NULL, 0);
    long nq = atol(argv[9]);
    if (count == 0 || (uint64_t)start + count > 0x7fffffffU) {
        fprintf(stderr, "gen: bad START/COUNT\n");
        return 2;
    }
    FILE *rbl = open_out(argv[6]), *zf = open_out(argv[7]), *qf = open_out(argv[8]);
    char line[256], fwd[16], rev[16];

    if (rbl)
        rbl_header(rbl);
    if (zf)
        zone_header(zf, zone);
    for (uint32_t i = start; i < start + count; i++) {
        uint32_t ip = perm32(seed, 2 * i);
        *put_ip4(fwd, ip, 0) = 0;
        *put_ip4(rev, ip, 1) = 0;
        if (rbl)
            fputs(fwd, rbl), fputc('\n', rbl);
        if (zf) {
            int n = snprintf(line, sizeof line, "%s A 127.0.0.2\n%s TXT \"Listed %s\"\n", rev,
                             rev, fwd);
            fwrite(line, 1, n, zf);
        }
    }
    if (qf) {
        uint64_t rng = seed ^ 0x51ed2701a5f3ULL;
        for (long q = 0; q < nq; q++) {
            uint64_t r = splitmix64(&rng);
            uint32_t arg = (r & 1) ? 2 * (start + (uint32_t)((r >> 1) % count))  /* hit */
                                   : 2 * (uint32_t)((r >> 33) & 0x3fffffff) + 1; /* miss */
            *put_ip4(rev, perm32(seed, arg), 1) = 0;
            fprintf(qf, "%s.%s A\n", rev, zone);
        }
    }
    *put_ip4(rev, perm32(seed, 2 * (start + count - 1)), 1) = 0;
    printf("probe %s.%s\n", rev, zone);
    close_out(rbl, argv[6]);
    close_out(zf, argv[7]);
    close_out(qf, argv[8]);
    return 0;
}

/* ---- mixed dataset ---------------------------------------------------- */

enum { MIX_IP4 = 50000, MIX_IP6 = 25000, MIX_DOM = 25000 };
#define Z4 "ip4.mix.example"
#define Z6 "ip6.mix.example"
#define ZD "dom.mix.example"

/* Listed IPv6 entry i: even i is a /64 (prefix in hi), odd i a /128.
 * Addresses are in 2000::/3 like real global unicast. */
static void ip6_entry(uint64_t seed, uint64_t i, uint64_t *hi, uint64_t *lo)
{
    *hi = (hash64(seed ^ 0x66, i) & 0x1fffffffffffffffULL) | 0x2000000000000000ULL;
    *lo = (i & 1) ? hash64(seed ^ 0x67, i) : 0;
}

static char *put_nibbles_rev(char *p, uint64_t v, int count)  /* low nibble first */
{
    for (int k = 0; k < count; k++, v >>= 4) {
        *p++ = "0123456789abcdef"[v & 15];
        *p++ = '.';
    }
    return p;
}

/* Reversed-nibble name of hi:lo, relative to the zone (no trailing dot);
 * a /64 gives 16 labels, a full address 32. */
static void ip6_rev(char *out, uint64_t hi, uint64_t lo, int full)
{
    char *p = out;
    if (full)
        p = put_nibbles_rev(p, lo, 16);
    p = put_nibbles_rev(p, hi, 16);
    p[-1] = 0;
}

static void ip6_text(char *out, size_t n, uint64_t hi, uint64_t lo, int prefix64)
{
    if (prefix64)
        snprintf(out, n, "%x:%x:%x:%x::/64", (unsigned)(hi >> 48), (unsigned)(hi >> 32) & 0xffff,
                 (unsigned)(hi >> 16) & 0xffff, (unsigned)hi & 0xffff);
    else
        snprintf(out, n, "%x:%x:%x:%x:%x:%x:%x:%x", (unsigned)(hi >> 48),
                 (unsigned)(hi >> 32) & 0xffff, (unsigned)(hi >> 16) & 0xffff,
                 (unsigned)hi & 0xffff, (unsigned)(lo >> 48), (unsigned)(lo >> 32) & 0xffff,
                 (unsigned)(lo >> 16) & 0xffff, (unsigned)lo & 0xffff);
}

/* Domain name: "<tag><base36 index>-<6..11 letters>.<tld>".  Listed names use
 * tag 'l', misses tag 'u', so they can never collide.  Entry i with i%5==0 is
 * listed together with all its subdomains (rbldnsd ".name"). */
static void domain_name(char *out, size_t n, uint64_t seed, char tag, uint64_t i)
{
    static const char *tlds[] = { "com", "net", "org", "info", "biz", "ru", "cn", "de" };
    uint64_t h = hash64(seed ^ (uint64_t)tag, i);
    char id[16], letters[16];
    int k = 0, len = 6 + (int)(h % 6);
    uint64_t v = i;
    do
        id[k++] = "0123456789abcdefghijklmnopqrstuvwxyz"[v % 36];
    while ((v /= 36) && k < 15);
    id[k] = 0;
    h = hash64(h, 1);
    for (int j = 0; j < len; j++, h /= 26)
        letters[j] = 'a' + h % 26;
    letters[len] = 0;
    snprintf(out, n, "%c%s-%s.%s", tag, id, letters, tlds[hash64(seed, i) % 8]);
}

static FILE *open_in_dir(const char *dir, const char *name, char *path, size_t n)
{
    snprintf(path, n, "%s/%s", dir, name);
    return open_out(path);
}

static int cmd_mixed(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: gen mixed SEED DIR NQUERIES\n");
        return 2;
    }
    uint64_t seed = strtoull(argv[2], NULL, 0);
    const char *dir = argv[3];
    long nq = atol(argv[4]);
    char path[6][1024], qpath[1024], name[128], text[128], rev[80];
    FILE *r4 = open_in_dir(dir, "ip4.rbl", path[0], sizeof path[0]);
    FILE *z4 = open_in_dir(dir, "ip4.zone", path[1], sizeof path[1]);
    FILE *r6 = open_in_dir(dir, "ip6.rbl", path[2], sizeof path[2]);
    FILE *z6 = open_in_dir(dir, "ip6.zone", path[3], sizeof path[3]);
    FILE *rd = open_in_dir(dir, "dom.rbl", path[4], sizeof path[4]);
    FILE *zd = open_in_dir(dir, "dom.zone", path[5], sizeof path[5]);
    FILE *qf = open_in_dir(dir, "queries", qpath, sizeof qpath);

    rbl_header(r4), rbl_header(r6), rbl_header(rd);
    zone_header(z4, Z4), zone_header(z6, Z6), zone_header(zd, ZD);

    for (uint32_t i = 0; i < MIX_IP4; i++) {
        char fwd[16];
        uint32_t ip = perm32(seed, 2 * i);
        *put_ip4(fwd, ip, 0) = 0;
        *put_ip4(rev, ip, 1) = 0;
        fprintf(r4, "%s\n", fwd);
        fprintf(z4, "%s A 127.0.0.2\n%s TXT \"Listed %s\"\n", rev, rev, fwd);
    }
    for (uint64_t i = 0; i < MIX_IP6; i++) {
        uint64_t hi, lo;
        int is64 = !(i & 1);
        ip6_entry(seed, i, &hi, &lo);
        ip6_text(text, sizeof text, hi, lo, is64);
        ip6_rev(rev, hi, lo, !is64);
        fprintf(r6, "%s\n", text);
        /* A /64 covers every address below it: a wildcard in zone-file terms. */
        fprintf(z6, "%s%s A 127.0.0.2\n%s%s TXT \"Listed %s\"\n", is64 ? "*." : "", rev,
                is64 ? "*." : "", rev, text);
    }
    for (uint64_t i = 0; i < MIX_DOM; i++) {
        int subtree = i % 5 == 0;
        domain_name(name, sizeof name, seed, 'l', i);
        fprintf(rd, "%s%s\n", subtree ? "." : "", name);
        fprintf(zd, "%s A 127.0.0.2\n%s TXT \"Listed %s\"\n", name, name, name);
        if (subtree)
            fprintf(zd, "*.%s A 127.0.0.2\n*.%s TXT \"Listed %s\"\n", name, name, name);
    }

    /* Queries: half IPv4, a quarter IPv6, a quarter names; each half hit, half miss. */
    uint64_t rng = seed ^ 0x9e11ed;
    for (long q = 0; q < nq; q++) {
        uint64_t r = splitmix64(&rng), r2 = splitmix64(&rng);
        int hit = r & 1, kind = (r >> 1) & 3;
        if (kind <= 1) {
            uint32_t arg = hit ? 2 * (uint32_t)(r2 % MIX_IP4) : 2 * (uint32_t)(r2 >> 34) + 1;
            *put_ip4(rev, perm32(seed, arg), 1) = 0;
            fprintf(qf, "%s." Z4 " A\n", rev);
        } else if (kind == 2) {
            uint64_t hi, lo;
            if (hit) {
                ip6_entry(seed, r2 % MIX_IP6, &hi, &lo);
                if (lo == 0)  /* a /64: any address inside it */
                    lo = splitmix64(&rng);
            } else {
                hi = (r2 & 0x1fffffffffffffffULL) | 0x2000000000000000ULL;
                lo = splitmix64(&rng);
            }
            ip6_rev(rev, hi, lo, 1);
            fprintf(qf, "%s." Z6 " A\n", rev);
        } else {
            uint64_t i = r2 % MIX_DOM;
            domain_name(name, sizeof name, seed, hit ? 'l' : 'u', hit ? i : r2 >> 20);
            if (hit && i % 5 == 0 && (r2 >> 40) & 1)
                fprintf(qf, "www.%s." ZD " A\n", name);
            else
                fprintf(qf, "%s." ZD " A\n", name);
        }
    }
    /* One probe per zone: the last entry of each file. */
    uint64_t hi, lo;
    *put_ip4(rev, perm32(seed, 2 * (MIX_IP4 - 1)), 1) = 0;
    printf("probe %s." Z4 "\n", rev);
    ip6_entry(seed, MIX_IP6 - 1, &hi, &lo);
    ip6_rev(rev, hi, lo, 1);
    printf("probe %s." Z6 "\n", rev);
    domain_name(name, sizeof name, seed, 'l', MIX_DOM - 1);
    printf("probe %s." ZD "\n", name);
    FILE *all[] = { r4, z4, r6, z6, rd, zd };
    for (int k = 0; k < 6; k++)
        close_out(all[k], path[k]);
    close_out(qf, qpath);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "ip4") == 0)
        return cmd_ip4(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "mixed") == 0)
        return cmd_mixed(argc, argv);
    fprintf(stderr, "usage: gen ip4|mixed ...  (see the comment at the top of gen.c)\n");
    return 2;
}

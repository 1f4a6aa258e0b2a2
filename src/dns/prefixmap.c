#include "prefixmap.h"

#include <stdlib.h>
#include <string.h>

enum { INDEX_MIN = 4096 }; /* levels smaller than this are searched without an index */

/* An empty-non-terminal test gives up (and says "listed") after this many
 * excluded keys in a row: the answer path stays bounded whatever the data. */
enum { ANY_IN_SCAN_MAX = 4096 };

int ip4map_add(struct ip4map *m, uint32_t addr, int len, uint32_t val)
{
    struct ip4_level *l = &m->level[len];
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        uint64_t *w = realloc(l->words, cap * sizeof *w);
        if (!w)
            return -1;
        l->words = w;
        l->cap = cap;
    }
    l->words[l->n++] = (uint64_t)(addr & ip4_mask(len)) << 32 | val;
    return 0;
}

/* Stable LSD radix sort on the upper 32 bits, 16 bits per pass. */
static int sort_words(uint64_t *w, size_t n)
{
    if (n < 2)
        return 0;
    if (n < 64) {
        for (size_t i = 1; i < n; i++) {
            uint64_t x = w[i];
            size_t j = i;
            while (j > 0 && (w[j - 1] >> 32) > (x >> 32)) {
                w[j] = w[j - 1];
                j--;
            }
            w[j] = x;
        }
        return 0;
    }
    /* big arrays: two passes of 16 bits; small ones: four of 8 bits (no
     * 512 KiB of counters to clear). An even number of passes leaves the
     * result back in w. */
    int bits = n >= 65536 ? 16 : 8;
    size_t buckets = (size_t)1 << bits;
    uint64_t *tmp = malloc(n * sizeof *tmp);
    size_t *count = malloc(buckets * sizeof *count);
    if (!tmp || !count) {
        free(tmp);
        free(count);
        return -1;
    }
    uint64_t *src = w, *dst = tmp;
    for (int shift = 32; shift < 64; shift += bits) {
        memset(count, 0, buckets * sizeof *count);
        for (size_t i = 0; i < n; i++)
            count[(src[i] >> shift) & (buckets - 1)]++;
        size_t sum = 0;
        for (size_t b = 0; b < buckets; b++) {
            size_t c = count[b];
            count[b] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++)
            dst[count[(src[i] >> shift) & (buckets - 1)]++] = src[i];
        uint64_t *t = src;
        src = dst;
        dst = t;
    }
    free(tmp);
    free(count);
    return 0;
}

/* Keep only the first entry (in insertion order, kept by the stable sort)
 * of each key of a sorted level. Returns how many went. */
static size_t dedupe_words(struct ip4_level *l)
{
    size_t w = 0;
    for (size_t r = 0; r < l->n; r++)
        if (w == 0 || (l->words[w - 1] >> 32) != (l->words[r] >> 32))
            l->words[w++] = l->words[r];
    size_t removed = l->n - w;
    l->n = w;
    return removed;
}

/* A big level becomes an index by the top 16 bits of the key plus, per
 * entry, the low 16 bits and the value word: 6 bytes an entry instead of 8,
 * and a lookup reads one short run of 16-bit keys (usually one cache line).
 * When every entry has the same value word (a list whose entries all take
 * the default ":A:TXT", the common case), the value is kept once: 2 bytes an
 * entry, and a listed address costs no second cache miss for its value. */
static int compact_level(struct ip4_level *l)
{
    bool uniform = l->n > 0;
    for (size_t j = 1; j < l->n && uniform; j++)
        uniform = (uint32_t)l->words[j] == (uint32_t)l->words[0];
    l->index = malloc(65537 * sizeof *l->index);
    l->lo16 = malloc(l->n * sizeof *l->lo16);
    l->vals = uniform ? NULL : malloc(l->n * sizeof *l->vals);
    if (!l->index || !l->lo16 || (!uniform && !l->vals))
        return -1;
    l->uval = uniform ? (uint32_t)l->words[0] : 0;
    size_t j = 0;
    for (uint32_t b = 0; b < 65536; b++) {
        l->index[b] = (uint32_t)j;
        while (j < l->n && (l->words[j] >> 48) == b) {
            l->lo16[j] = (uint16_t)(l->words[j] >> 32);
            if (!uniform)
                l->vals[j] = (uint32_t)l->words[j];
            j++;
        }
    }
    l->index[65536] = (uint32_t)l->n;
    free(l->words);
    l->words = NULL;
    l->cap = l->n;
    return 0;
}

size_t ip4map_finish(struct ip4map *m, bool first_only)
{
    size_t removed = 0;
    m->nlens = 0;
    for (int len = 32; len >= 0; len--) {
        struct ip4_level *l = &m->level[len];
        if (!l->n)
            continue;
        m->lens[m->nlens++] = (uint8_t)len;
        if (sort_words(l->words, l->n) < 0)
            return (size_t)-1;
        if (first_only)
            removed += dedupe_words(l);
        if (l->n >= INDEX_MIN) {
            if (compact_level(l) < 0)
                return (size_t)-1;
        } else if (l->n < l->cap) {
            uint64_t *w = realloc(l->words, l->n * sizeof *w);
            if (w) {
                l->words = w;
                l->cap = l->n;
            }
        }
    }
    return removed;
}

/* Key and value word of entry i of a level, whatever its representation.
 * For a compact level the key's top half is found from the index (a binary
 * search over it: not for the answer path's exact lookups, which know it). */
uint32_t ip4_level_key(const struct ip4_level *l, size_t i)
{
    if (l->words)
        return (uint32_t)(l->words[i] >> 32);
    size_t lo = 0, hi = 65536;
    while (hi - lo > 1) { /* the last bucket b with index[b] <= i */
        size_t mid = (lo + hi) / 2;
        if (l->index[mid] <= i)
            lo = mid;
        else
            hi = mid;
    }
    return (uint32_t)lo << 16 | l->lo16[i];
}

/* First position in l whose key is >= key. */
static size_t lower_bound4(const struct ip4_level *l, uint32_t key)
{
    if (!l->words) {
        size_t lo = l->index[key >> 16], hi = l->index[(key >> 16) + 1];
        uint16_t k = (uint16_t)key;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (l->lo16[mid] < k)
                lo = mid + 1;
            else
                hi = mid;
        }
        return lo;
    }
    size_t lo = 0, hi = l->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if ((uint32_t)(l->words[mid] >> 32) < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Entries equal to key starting at p (p from lower_bound4). */
static size_t run_length4(const struct ip4_level *l, size_t p, uint32_t key)
{
    size_t q = p;
    if (!l->words) {
        size_t end = l->index[(key >> 16) + 1];
        while (q < end && l->lo16[q] == (uint16_t)key)
            q++;
    } else {
        while (q < l->n && (uint32_t)(l->words[q] >> 32) == key)
            q++;
    }
    return q - p;
}

size_t ip4map_lookup(const struct ip4map *m, uint32_t addr, const struct ip4_level **level,
                     size_t *pos)
{
    for (int i = 0; i < m->nlens; i++) {
        const struct ip4_level *l = &m->level[m->lens[i]];
        uint32_t key = addr & ip4_mask(m->lens[i]);
        size_t p = lower_bound4(l, key);
        size_t n = run_length4(l, p, key);
        if (!n)
            continue;
        *level = l;
        *pos = p;
        return n;
    }
    return 0;
}

/* Does the key at p carry an exclusion among its entries? Sets *next past them. */
static bool key_excluded4(const struct ip4_level *l, size_t p, size_t *next)
{
    uint32_t k = ip4_level_key(l, p);
    size_t n = run_length4(l, p, k);
    bool excl = false;
    for (size_t i = p; i < p + n; i++)
        excl |= (ip4_level_val(l, i) & PM_EXCL) != 0;
    *next = p + n;
    return excl;
}

bool ip4map_any_in(const struct ip4map *m, uint32_t lo, int qlen)
{
    uint32_t hi = lo | ~ip4_mask(qlen);
    lo &= ip4_mask(qlen);
    /* lens[] runs from the longest prefix to the shortest */
    for (int i = 0; i < m->nlens; i++) {
        const struct ip4_level *l = &m->level[m->lens[i]];
        if (m->lens[i] > qlen) {
            /* entries inside the range: one that is not excluded lists an address */
            size_t p = lower_bound4(l, lo);
            for (int scanned = 0; p < l->n && ip4_level_key(l, p) <= hi; scanned++) {
                size_t next;
                if (!key_excluded4(l, p, &next) || scanned > ANY_IN_SCAN_MAX)
                    return true;
                p = next;
            }
            continue;
        }
        /* the most specific entry covering the whole range decides for it */
        uint32_t key = lo & ip4_mask(m->lens[i]);
        size_t p = lower_bound4(l, key);
        if (run_length4(l, p, key)) {
            size_t next;
            return !key_excluded4(l, p, &next);
        }
    }
    return false;
}

size_t ip4map_count(const struct ip4map *m)
{
    size_t n = 0;
    for (int i = 0; i <= 32; i++)
        n += m->level[i].n;
    return n;
}

void ip4map_free(struct ip4map *m)
{
    for (int i = 0; i <= 32; i++) {
        free(m->level[i].words);
        free(m->level[i].index);
        free(m->level[i].lo16);
        free(m->level[i].vals);
    }
    memset(m, 0, sizeof *m);
}

/* ---- IPv6 ---- */

int ip6map_add(struct ip6map *m, u128 addr, int len, uint32_t val)
{
    struct ip6_level *l = &m->level[len];
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        struct ip6_entry *e = realloc(l->e, cap * sizeof *e);
        if (!e)
            return -1;
        l->e = e;
        l->cap = cap;
    }
    l->e[l->n].key = addr & ip6_mask(len);
    l->e[l->n].val = val;
    l->e[l->n].seq = (uint32_t)l->n;
    l->n++;
    return 0;
}

static int cmp6(const void *a, const void *b)
{
    const struct ip6_entry *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq; /* stable: insertion order */
}

int ip6map_finish(struct ip6map *m)
{
    m->nlens = 0;
    for (int len = 128; len >= 0; len--) {
        struct ip6_level *l = &m->level[len];
        if (!l->n)
            continue;
        m->lens[m->nlens++] = (uint8_t)len;
        qsort(l->e, l->n, sizeof *l->e, cmp6);
    }
    return 0;
}

static size_t lower_bound6(const struct ip6_level *l, u128 key)
{
    size_t lo = 0, hi = l->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (l->e[mid].key < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

size_t ip6map_lookup(const struct ip6map *m, u128 addr, const struct ip6_entry **first)
{
    for (int i = 0; i < m->nlens; i++) {
        const struct ip6_level *l = &m->level[m->lens[i]];
        u128 key = addr & ip6_mask(m->lens[i]);
        size_t p = lower_bound6(l, key);
        if (p == l->n || l->e[p].key != key)
            continue;
        size_t q = p + 1;
        while (q < l->n && l->e[q].key == key)
            q++;
        *first = &l->e[p];
        return q - p;
    }
    return 0;
}

static bool key_excluded6(const struct ip6_level *l, size_t p)
{
    u128 k = l->e[p].key;
    for (; p < l->n && l->e[p].key == k; p++)
        if (l->e[p].val & PM_EXCL)
            return true;
    return false;
}

bool ip6map_any_in(const struct ip6map *m, u128 lo, int qlen)
{
    u128 hi = lo | ~ip6_mask(qlen);
    lo &= ip6_mask(qlen);
    for (int i = 0; i < m->nlens; i++) {
        const struct ip6_level *l = &m->level[m->lens[i]];
        if (m->lens[i] > qlen) {
            size_t p = lower_bound6(l, lo);
            for (int scanned = 0; p < l->n && l->e[p].key <= hi; scanned++) {
                if (!key_excluded6(l, p) || scanned > ANY_IN_SCAN_MAX)
                    return true;
                u128 k = l->e[p].key;
                while (p < l->n && l->e[p].key == k)
                    p++;
            }
            continue;
        }
        u128 key = lo & ip6_mask(m->lens[i]);
        size_t p = lower_bound6(l, key);
        if (p < l->n && l->e[p].key == key)
            return !key_excluded6(l, p);
    }
    return false;
}

size_t ip6map_dedupe_first(struct ip6map *m)
{
    size_t removed = 0;
    for (int len = 0; len <= 128; len++) {
        struct ip6_level *l = &m->level[len];
        size_t w = 0;
        for (size_t r = 0; r < l->n; r++)
            if (w == 0 || l->e[w - 1].key != l->e[r].key)
                l->e[w++] = l->e[r];
        removed += l->n - w;
        l->n = w;
    }
    return removed;
}

size_t ip6map_count(const struct ip6map *m)
{
    size_t n = 0;
    for (int i = 0; i <= 128; i++)
        n += m->level[i].n;
    return n;
}

void ip6map_free(struct ip6map *m)
{
    for (int i = 0; i <= 128; i++)
        free(m->level[i].e);
    memset(m, 0, sizeof *m);
}

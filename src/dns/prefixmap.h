/*
 * prefixmap: the lookup structures behind the IP datasets.
 *
 * ip4map: for each prefix length in use, one sorted array of 64-bit words
 * (masked address << 32 | value word). Built once at load (append, then a
 * stable LSD radix sort on the address), read-only afterwards. Levels with
 * 4,096 entries or more become compact: a 65,537-entry index on the top 16
 * bits, then per entry the low 16 bits of the key and the value word, so a
 * lookup among 10M addresses is one index read plus a binary search over ~150
 * 16-bit keys (about 300 bytes). Cost: 6 bytes per entry, plus 256 KiB per
 * compact level; 8 bytes per entry for the small levels.
 *
 * ip6map: the same idea with 128-bit keys (24 bytes per entry, no index).
 *
 * Value words: bit 31 marks an exclusion, the low 31 bits index a value table
 * owned by the dataset.
 */
#ifndef RAMPART_DNS_PREFIXMAP_H
#define RAMPART_DNS_PREFIXMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { PM_EXCL = 0x80000000u };

struct ip4_level {
    uint64_t *words;      /* key << 32 | value word, sorted by key (stable);
                             NULL once the level is compact */
    size_t n, cap;
    uint32_t *index;      /* compact levels: 65,537 offsets by the top 16 bits */
    uint16_t *lo16;       /* compact levels: low 16 bits of each key */
    uint32_t *vals;       /* compact levels: value words; NULL when all are uval */
    uint32_t uval;        /* compact levels without vals: every entry's value word */
};

struct ip4map {
    struct ip4_level level[33];
    uint8_t lens[33];     /* prefix lengths in use, longest first */
    int nlens;
};

/// Add an entry (addr is masked to len here). Returns 0 or -1 on OOM.
int ip4map_add(struct ip4map *m, uint32_t addr, int len, uint32_t val);

/// Sort and index; call once after the last add. With first_only, a key given
/// more than once keeps its first entry. Returns the number of entries dropped
/// that way, or (size_t)-1 on OOM.
size_t ip4map_finish(struct ip4map *m, bool first_only);

/// The entries for the longest prefix length that has any entry covering addr:
/// returns how many (0 if none), their level and the position of the first;
/// read them with ip4_level_val(). Cost: an index read and a short search.
size_t ip4map_lookup(const struct ip4map *m, uint32_t addr, const struct ip4_level **level,
                     size_t *pos);

/// Key and value word of entry i of a level (any representation).
uint32_t ip4_level_key(const struct ip4_level *l, size_t i);

static inline uint32_t ip4_level_val(const struct ip4_level *l, size_t i)
{
    return l->words ? (uint32_t)l->words[i] : l->vals ? l->vals[i] : l->uval;
}

/// Is some address of the prefix lo/qlen listed (an empty non-terminal test)?
/// Entries inside the prefix count unless excluded at their own key; for the
/// prefix as a whole, the most specific entry covering it decides.
bool ip4map_any_in(const struct ip4map *m, uint32_t lo, int qlen);

size_t ip4map_count(const struct ip4map *m);
void ip4map_free(struct ip4map *m);

typedef unsigned __int128 u128;

struct ip6_entry {
    u128 key;
    uint32_t val;
    uint32_t seq;             /* insertion order, for a stable sort (fits the padding) */
};

struct ip6_level {
    struct ip6_entry *e;
    size_t n, cap;
};

struct ip6map {
    struct ip6_level level[129];
    uint8_t lens[129];
    int nlens;
};

int ip6map_add(struct ip6map *m, u128 addr, int len, uint32_t val);
int ip6map_finish(struct ip6map *m);
size_t ip6map_lookup(const struct ip6map *m, u128 addr, const struct ip6_entry **first);
bool ip6map_any_in(const struct ip6map *m, u128 lo, int qlen);
size_t ip6map_dedupe_first(struct ip6map *m);
size_t ip6map_count(const struct ip6map *m);
void ip6map_free(struct ip6map *m);

static inline u128 ip6_from_bytes(const uint8_t b[16])
{
    u128 v = 0;
    for (int i = 0; i < 16; i++)
        v = v << 8 | b[i];
    return v;
}

static inline u128 ip6_mask(int len)
{
    return len == 0 ? 0 : ~(u128)0 << (128 - len);
}

static inline uint32_t ip4_mask(int len)
{
    return len == 0 ? 0 : ~0u << (32 - len);
}

#endif

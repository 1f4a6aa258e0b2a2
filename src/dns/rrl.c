#include "rrl.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

/* A bucket word: tag (16 bits) | timestamp in 16-ms ticks (16 bits) | level
 * (32 bits, in 1/256 of an answer). Tag 0 marks an empty bucket. The tick
 * wraps after about 17 minutes; a bucket drains completely within `burst`
 * seconds, so a wrapped stamp can only make an idle light client look busier
 * than it is, and only for one answer. */
enum { UNIT = 256, TICK_SHIFT = 4, LINE = 8 };

struct limit {
    uint64_t cap;       /* full level, in units */
    uint64_t drain;     /* units drained per tick, times 1000 */
};

struct rrl {
    struct rrl_config cfg;
    _Atomic uint64_t *table;
    uint64_t nlines_mask;
    int line_shift;
    uint64_t seed[2];
    /* [class][level]; IPv4 levels then IPv6 levels */
    struct limit lim4[RRL_NCLASS][RRL_MAX_LEVELS], lim6[RRL_NCLASS][RRL_MAX_LEVELS];
};

void rrl_config_default(struct rrl_config *c)
{
    memset(c, 0, sizeof *c);
    c->enabled = true;
    c->rate[RRL_ANSWER] = 100;
    c->rate[RRL_NXDOMAIN] = 50;
    c->rate[RRL_ERROR] = 10;
    c->rate[RRL_VERIFIED] = 2000;
    c->v4[0] = (struct rrl_prefix){32, 1};
    c->v4[1] = (struct rrl_prefix){24, 4};
    c->v4[2] = (struct rrl_prefix){16, 16};
    c->nv4 = 3;
    c->v6[0] = (struct rrl_prefix){128, 1};
    c->v6[1] = (struct rrl_prefix){64, 1};
    c->v6[2] = (struct rrl_prefix){56, 4};
    c->v6[3] = (struct rrl_prefix){48, 16};
    c->nv6 = 4;
    c->burst = 2;
    c->slip = 2;
    c->slots = 1u << 17;
}

int rrl_parse_prefixes(const char *spec, int family, struct rrl_config *c, char *err, size_t errcap)
{
    struct rrl_prefix p[RRL_MAX_LEVELS];
    int n = 0;
    unsigned maxbits = family == AF_INET ? 32 : 128;
    const char *s = spec;
    while (*s) {
        char *end;
        unsigned long bits = strtoul(s, &end, 10);
        if (end == s || *end != ':' || bits == 0 || bits > maxbits) {
            snprintf(err, errcap, "'%s': expected BITS:MULT with BITS 1..%u", spec, maxbits);
            return -1;
        }
        s = end + 1;
        unsigned long mult = strtoul(s, &end, 10);
        if (end == s || mult == 0 || mult > 10000 || (*end && *end != ',')) {
            snprintf(err, errcap, "'%s': MULT must be 1..10000", spec);
            return -1;
        }
        if (n == RRL_MAX_LEVELS) {
            snprintf(err, errcap, "'%s': at most %d prefix lengths", spec, RRL_MAX_LEVELS);
            return -1;
        }
        if (n > 0 && bits >= p[n - 1].bits) {
            snprintf(err, errcap, "'%s': prefix lengths must be given longest first", spec);
            return -1;
        }
        p[n++] = (struct rrl_prefix){(uint8_t)bits, (uint16_t)mult};
        s = *end ? end + 1 : end;
    }
    if (n == 0) {
        snprintf(err, errcap, "empty prefix list");
        return -1;
    }
    if (family == AF_INET) {
        memcpy(c->v4, p, sizeof p);
        c->nv4 = n;
    } else {
        memcpy(c->v6, p, sizeof p);
        c->nv6 = n;
    }
    return 0;
}

int rrl_add_exempt(struct rrl_config *c, const char *cidr, char *err, size_t errcap)
{
    if (c->nexempt == RRL_MAX_EXEMPT) {
        snprintf(err, errcap, "at most %d exempt networks", RRL_MAX_EXEMPT);
        return -1;
    }
    char addr[INET6_ADDRSTRLEN];
    const char *slash = strchr(cidr, '/');
    size_t alen = slash ? (size_t)(slash - cidr) : strlen(cidr);
    if (alen >= sizeof addr) {
        snprintf(err, errcap, "'%s': not an address", cidr);
        return -1;
    }
    memcpy(addr, cidr, alen);
    addr[alen] = 0;
    struct rrl_exempt e = {0};
    if (inet_pton(AF_INET, addr, e.addr) == 1)
        e.family = AF_INET;
    else if (inet_pton(AF_INET6, addr, e.addr) == 1)
        e.family = AF_INET6;
    else {
        snprintf(err, errcap, "'%s': not an IPv4 or IPv6 address", cidr);
        return -1;
    }
    unsigned max = e.family == AF_INET ? 32 : 128;
    unsigned long bits = max;
    if (slash) {
        char *end;
        bits = strtoul(slash + 1, &end, 10);
        if (end == slash + 1 || *end || bits > max) {
            snprintf(err, errcap, "'%s': prefix length must be 0..%u", cidr, max);
            return -1;
        }
    }
    e.bits = (uint8_t)bits;
    c->exempt[c->nexempt++] = e;
    return 0;
}

static struct limit make_limit(uint32_t rate, uint32_t mult, uint32_t burst)
{
    uint64_t per_s = (uint64_t)rate * mult;
    uint64_t cap = per_s * burst * UNIT;
    if (cap < UNIT)
        cap = UNIT; /* room for one answer at least */
    if (cap > UINT32_MAX)
        cap = UINT32_MAX;
    /* per tick of 16 ms: per_s * UNIT * 16 / 1000 units; kept times 1000 */
    return (struct limit){cap, per_s * UNIT << TICK_SHIFT};
}

struct rrl *rrl_new(const struct rrl_config *c)
{
    struct rrl *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->cfg = *c;
    uint32_t slots = LINE * 128;
    while (slots < c->slots && slots < (1u << 26))
        slots <<= 1;
    r->cfg.slots = slots;
    r->table = aligned_alloc(64, (size_t)slots * sizeof *r->table);
    if (!r->table) {
        free(r);
        return NULL;
    }
    for (uint32_t i = 0; i < slots; i++)
        atomic_init(&r->table[i], 0);
    uint64_t nlines = slots / LINE;
    r->nlines_mask = nlines - 1;
    if (getrandom(r->seed, sizeof r->seed, 0) != sizeof r->seed) {
        free(r->table);
        free(r);
        return NULL;
    }
    for (int k = 0; k < RRL_NCLASS; k++) {
        for (int i = 0; i < c->nv4; i++)
            r->lim4[k][i] = make_limit(c->rate[k], k == RRL_VERIFIED ? 1 : c->v4[i].mult, c->burst);
        for (int i = 0; i < c->nv6; i++)
            r->lim6[k][i] = make_limit(c->rate[k], k == RRL_VERIFIED ? 1 : c->v6[i].mult, c->burst);
    }
    return r;
}

void rrl_free(struct rrl *r)
{
    if (!r)
        return;
    free(r->table);
    free(r);
}

size_t rrl_memory(const struct rrl *r) { return (size_t)r->cfg.slots * sizeof *r->table; }

const struct rrl_config *rrl_config(const struct rrl *r) { return &r->cfg; }

/* A keyed mix of (address high, address low, class and level): the seed is
 * random per process, so nobody outside can aim keys at one line. */
static inline uint64_t key_hash(const struct rrl *r, uint64_t hi, uint64_t lo, uint64_t meta)
{
    uint64_t h = (lo ^ r->seed[0]) * 0x9e3779b97f4a7c15ULL;
    h ^= h >> 32;
    h = (h ^ hi ^ r->seed[1]) * 0xc2b2ae3d27d4eb4fULL;
    h ^= h >> 29;
    h = (h ^ meta) * 0x165667b19e3779f9ULL;
    return h ^ (h >> 32);
}

static inline uint64_t level_now(uint64_t word, uint16_t tick, const struct limit *l)
{
    uint64_t level = word & 0xffffffffu;
    uint16_t elapsed = (uint16_t)(tick - (uint16_t)(word >> 32));
    uint64_t drained = (uint64_t)elapsed * l->drain / 1000;
    return drained >= level ? 0 : level - drained;
}

struct probe {
    _Atomic uint64_t *slot;
    uint64_t old, level;
    uint16_t tag;
};

/* Find key h's bucket in its line, or the bucket it would take. */
static void probe(const struct rrl *r, uint64_t h, uint16_t tick, const struct limit *l,
                  struct probe *p)
{
    _Atomic uint64_t *line = r->table + (h & r->nlines_mask) * LINE;
    uint16_t tag = (uint16_t)(h >> 48);
    if (tag == 0)
        tag = 1;
    p->tag = tag;
    uint64_t best = UINT64_MAX;
    for (int i = 0; i < LINE; i++) {
        uint64_t w = atomic_load_explicit(&line[i], memory_order_relaxed);
        if ((uint16_t)(w >> 48) == tag) {
            p->slot = &line[i];
            p->old = w;
            p->level = level_now(w, tick, l);
            return;
        }
        uint64_t lv = (w >> 48) == 0 ? 0 : level_now(w, tick, l);
        if (lv < best) {
            best = lv;
            p->slot = &line[i];
            p->old = w;
        }
    }
    p->level = 0; /* a new bucket, taking the emptiest one's place */
}

static inline bool in_prefix(const uint8_t *a, const uint8_t *net, unsigned bits)
{
    unsigned full = bits / 8, rest = bits % 8;
    if (memcmp(a, net, full) != 0)
        return false;
    return rest == 0 || ((a[full] ^ net[full]) & (0xff00 >> rest)) == 0;
}

bool rrl_limited(struct rrl *r, const struct sockaddr_storage *peer, enum rrl_class cls,
                 uint64_t now_ms)
{
    if (!r || !r->cfg.enabled)
        return false;
    uint64_t hi, lo;
    const uint8_t *bytes;
    const struct rrl_prefix *pfx;
    const struct limit *lim;
    int nlev;
    bool v4 = peer->ss_family == AF_INET;
    if (v4) {
        bytes = (const uint8_t *)&((const struct sockaddr_in *)peer)->sin_addr;
        hi = 0;
        lo = (uint64_t)bytes[0] << 24 | bytes[1] << 16 | bytes[2] << 8 | bytes[3];
        pfx = r->cfg.v4, nlev = r->cfg.nv4, lim = r->lim4[cls];
    } else if (peer->ss_family == AF_INET6) {
        bytes = ((const struct sockaddr_in6 *)peer)->sin6_addr.s6_addr;
        hi = lo = 0;
        for (int i = 0; i < 8; i++) {
            hi = hi << 8 | bytes[i];
            lo = lo << 8 | bytes[8 + i];
        }
        pfx = r->cfg.v6, nlev = r->cfg.nv6, lim = r->lim6[cls];
    } else {
        return false;
    }
    for (int i = 0; i < r->cfg.nexempt; i++) {
        const struct rrl_exempt *e = &r->cfg.exempt[i];
        if (e->family == peer->ss_family && in_prefix(bytes, e->addr, e->bits))
            return false;
    }
    /* A verified client is counted alone: as itself (IPv4) or its /64 (IPv6). */
    if (cls == RRL_VERIFIED) {
        static const struct rrl_prefix self4 = {32, 1}, self6 = {64, 1};
        pfx = v4 ? &self4 : &self6;
        nlev = 1;
    }
    uint16_t tick = (uint16_t)(now_ms >> TICK_SHIFT);
    struct probe p[RRL_MAX_LEVELS];
    for (int i = 0; i < nlev; i++) {
        unsigned bits = pfx[i].bits;
        uint64_t mh = hi, ml = lo;
        if (v4) {
            ml = bits >= 32 ? lo : lo & ~(0xffffffffULL >> bits);
        } else if (bits <= 64) {
            mh = bits == 64 ? hi : hi & ~(UINT64_MAX >> bits);
            ml = 0;
        } else if (bits < 128) {
            ml = lo & ~(UINT64_MAX >> (bits - 64));
        }
        uint64_t meta = (uint64_t)cls << 16 | (uint64_t)bits << 8 | (v4 ? 4 : 6);
        probe(r, key_hash(r, mh, ml, meta), tick, &lim[i], &p[i]);
        if (p[i].level + UNIT > lim[i].cap)
            return true;
    }
    /* Room everywhere: count the answer. A lost race costs one count. */
    for (int i = 0; i < nlev; i++) {
        uint64_t neu = (uint64_t)p[i].tag << 48 | (uint64_t)tick << 32 | (p[i].level + UNIT);
        atomic_compare_exchange_strong_explicit(p[i].slot, &p[i].old, neu, memory_order_relaxed,
                                                memory_order_relaxed);
    }
    return false;
}

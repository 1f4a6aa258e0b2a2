#include "ds_db.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "answer.h"
#include "common/log.h"
#include "common/siphash.h"
#include "store/store.h"

/* Slot fingerprints 0 and 1 are reserved: empty, and deleted (tombstone). */
enum { FP_EMPTY = 0, FP_TOMB = 1 };
#define VAL_EXCL (1ULL << 32)
enum { CHUNK_BITS = 12, CHUNK = 1 << CHUNK_BITS, MAX_CHUNKS = 1 << 16 };
/* fingerprint domains: an IPv4 prefix, an IPv6 prefix, a domain in one of
 * its three forms, and a domain's count of listings below it */
enum { K_IP4 = 4, K_IP6 = 6, K_NAME = 'n', K_SUB = '*', K_TREE = '.', K_ANC = 'a' };

struct dbslot {
    _Atomic uint64_t fp;
    _Atomic uint64_t val;
};

struct dbtab {
    uint64_t mask;
    struct dbslot s[];
};

/* A table and the writer's bookkeeping of it. */
struct dbmap {
    _Atomic(struct dbtab *) tab;
    size_t live, used;
};

struct dsdb {
    enum dsdb_kind kind;
    uint8_t key[16];
    struct dbmap map;            /* listings */
    struct dbmap anc;            /* domains: listings below each name (value = count) */
    _Atomic uint64_t lens4;      /* bit n: some IPv4 listing has prefix length n (0..32) */
    _Atomic uint64_t lens6[3];   /* bit n of 0..128 */
    uint32_t cnt4[33], cnt6[129];
    struct ds_value *_Atomic chunks[MAX_CHUNKS];
    uint32_t nvals;
    struct dbmap valmap;         /* writer only: fingerprint of (A, TXT) -> value index */
    struct ds_value def;
    uint32_t def_idx;
    char *store_path;
    int64_t list_id;
};

/* ---- the hash table ---- */

static struct dbtab *tab_new(size_t slots)
{
    struct dbtab *t = calloc(1, sizeof *t + slots * sizeof(struct dbslot));
    if (t)
        t->mask = slots - 1;
    return t;
}

static inline uint64_t fix_fp(uint64_t fp) { return fp < 2 ? fp + 2 : fp; }

/* The slot holding fp, or NULL. Readers and the writer. */
static struct dbslot *tab_find(const struct dbtab *t, uint64_t fp)
{
    for (uint64_t i = fp & t->mask, n = 0; n <= t->mask; i = (i + 1) & t->mask, n++) {
        uint64_t f = atomic_load_explicit(&((struct dbtab *)t)->s[i].fp, memory_order_acquire);
        if (f == fp)
            return (struct dbslot *)&t->s[i];
        if (f == FP_EMPTY)
            return NULL;
    }
    return NULL;
}

/* Writer: a fresh (never used) slot for fp; the table always has some. */
static struct dbslot *tab_fresh(struct dbtab *t, uint64_t fp)
{
    for (uint64_t i = fp & t->mask;; i = (i + 1) & t->mask)
        if (atomic_load_explicit(&t->s[i].fp, memory_order_relaxed) == FP_EMPTY)
            return &t->s[i];
}

/* Tables replaced by bigger ones, freed by dsdb_free_retired after a grace period.
 * Writer only (one follower thread serves every list). */
static struct {
    struct dbtab **v;
    size_t n, cap;
} retired;

static int retire(struct dbtab *t)
{
    if (retired.n == retired.cap) {
        size_t cap = retired.cap ? retired.cap * 2 : 16;
        struct dbtab **v = realloc(retired.v, cap * sizeof *v);
        if (!v)
            return -1;
        retired.v = v;
        retired.cap = cap;
    }
    retired.v[retired.n++] = t;
    return 0;
}

/* Writer: make room for one more slot: rebuild when live + tombstones would
 * pass 70% (doubling when the live entries alone pass 35%). */
static int map_reserve(struct dbmap *m)
{
    struct dbtab *t = atomic_load_explicit(&m->tab, memory_order_relaxed);
    size_t cap = t ? t->mask + 1 : 0;
    if (t && (m->used + 1) * 4 <= cap * 3)
        return 0;
    size_t ncap = 1024;
    while ((m->live + 1) * 8 > ncap * 5)
        ncap *= 2;
    struct dbtab *n = tab_new(ncap);
    if (!n || (t && retire(t) < 0)) {
        free(n);
        return -1;
    }
    if (t)
        for (size_t i = 0; i <= t->mask; i++) {
            uint64_t f = atomic_load_explicit(&t->s[i].fp, memory_order_relaxed);
            if (f < 2)
                continue;
            struct dbslot *s = tab_fresh(n, f);
            atomic_store_explicit(&s->val, atomic_load_explicit(&t->s[i].val, memory_order_relaxed),
                                  memory_order_relaxed);
            atomic_store_explicit(&s->fp, f, memory_order_relaxed);
        }
    m->used = m->live;
    atomic_store_explicit(&m->tab, n, memory_order_release);
    return 0;
}

/* Writer: set fp -> val (insert or update). *added: it was not there. */
static int map_put(struct dbmap *m, uint64_t fp, uint64_t val, bool *added)
{
    struct dbtab *t = atomic_load_explicit(&m->tab, memory_order_relaxed);
    struct dbslot *s = t ? tab_find(t, fp) : NULL;
    if (s) {
        atomic_store_explicit(&s->val, val, memory_order_release);
        *added = false;
        return 0;
    }
    if (map_reserve(m) < 0)
        return -1;
    t = atomic_load_explicit(&m->tab, memory_order_relaxed);
    s = tab_fresh(t, fp);
    atomic_store_explicit(&s->val, val, memory_order_relaxed);
    atomic_store_explicit(&s->fp, fp, memory_order_release); /* the value is visible first */
    m->live++;
    m->used++;
    *added = true;
    return 0;
}

/* Writer: delete fp. Returns 1 if it was there. */
static int map_del(struct dbmap *m, uint64_t fp)
{
    struct dbtab *t = atomic_load_explicit(&m->tab, memory_order_relaxed);
    struct dbslot *s = t ? tab_find(t, fp) : NULL;
    if (!s)
        return 0;
    atomic_store_explicit(&s->fp, FP_TOMB, memory_order_release);
    m->live--;
    return 1;
}

/* Reader: the value word for fp, or false. */
static inline bool map_get(const struct dbmap *m, uint64_t fp, uint64_t *val)
{
    const struct dbtab *t = atomic_load_explicit(&((struct dbmap *)m)->tab, memory_order_acquire);
    const struct dbslot *s = t ? tab_find(t, fp) : NULL;
    if (!s)
        return false;
    *val = atomic_load_explicit(&((struct dbslot *)s)->val, memory_order_acquire);
    return true;
}

/* ---- keys ---- */

static uint64_t fp_of(const struct dsdb *p, uint8_t kind, uint8_t len, const void *data, size_t n)
{
    uint8_t buf[2 + DNS_MAX_NAME + 1];
    buf[0] = kind;
    buf[1] = len;
    memcpy(buf + 2, data, n);
    return fix_fp(siphash24(p->key, buf, 2 + n));
}

static uint64_t fp_ip4(const struct dsdb *p, uint32_t addr, int len)
{
    uint32_t a = len >= 32 ? addr : len ? addr & ~(0xffffffffu >> len) : 0; /* no shift by 32 */
    uint8_t b[4] = {(uint8_t)(a >> 24), (uint8_t)(a >> 16), (uint8_t)(a >> 8), (uint8_t)a};
    return fp_of(p, K_IP4, (uint8_t)len, b, 4);
}

static uint64_t fp_ip6(const struct dsdb *p, const uint8_t addr[16], int len)
{
    uint8_t b[16] = {0};
    int full = len / 8, rest = len % 8;
    memcpy(b, addr, (size_t)full);
    if (rest)
        b[full] = (uint8_t)(addr[full] & (0xff00 >> rest));
    return fp_of(p, K_IP6, (uint8_t)len, b, 16);
}

/* A lowercased text name without the trailing dot. */
static uint64_t fp_name(const struct dsdb *p, uint8_t form, const char *name, size_t n)
{
    return fp_of(p, form, 0, name, n);
}

/* ---- values ---- */

static inline const struct ds_value *value_at(const struct dsdb *p, uint32_t idx)
{
    const struct ds_value *c = atomic_load_explicit(&((struct dsdb *)p)->chunks[idx >> CHUNK_BITS],
                                                    memory_order_acquire);
    return &c[idx & (CHUNK - 1)];
}

/* Writer: the index of value (a, txt), added if new. */
static int value_index(struct dsdb *p, uint32_t a, const char *txt, uint32_t *idx)
{
    size_t tl = txt ? strlen(txt) : 0;
    uint8_t buf[4 + 1 + 255];
    if (tl > 255)
        tl = 255;
    memcpy(buf, &a, 4);
    buf[4] = txt ? 1 : 0;
    memcpy(buf + 5, txt ? txt : "", tl);
    uint64_t fp = fix_fp(siphash24(p->key, buf, 5 + tl));
    uint64_t v;
    if (map_get(&p->valmap, fp, &v)) {
        *idx = (uint32_t)v;
        return 0;
    }
    uint32_t i = p->nvals;
    if ((i >> CHUNK_BITS) >= MAX_CHUNKS)
        return -1;
    struct ds_value *c = atomic_load_explicit(&p->chunks[i >> CHUNK_BITS], memory_order_relaxed);
    if (!c) {
        c = calloc(CHUNK, sizeof *c);
        if (!c)
            return -1;
        atomic_store_explicit(&p->chunks[i >> CHUNK_BITS], c, memory_order_release);
    }
    char *t = NULL;
    if (txt && !(t = strndup(txt, tl)))
        return -1;
    c[i & (CHUNK - 1)] = (struct ds_value){.a = a, .ttl = p->def.ttl, .txt = t};
    bool added;
    if (map_put(&p->valmap, fp, i, &added) < 0)
        return -1;
    p->nvals++;
    *idx = i;
    return 0;
}

/* ---- entries ---- */

struct parsed {
    int kind;           /* K_IP4, K_IP6, or a name form */
    int len;            /* prefix length */
    uint32_t ip4;
    uint8_t ip6[16];
    char name[DNS_MAX_NAME + 1];
    size_t nlen;
};

/* The store's canonical forms: "a.b.c.d[/len]", "v6addr[/len]", "name",
 * "*.name", ".name". Host bits must be clear (the store refuses them). */
static int parse_entry(const struct dsdb *p, const char *e, struct parsed *out)
{
    char buf[DNS_MAX_NAME + 2];
    size_t n = strlen(e);
    if (n == 0 || n > DNS_MAX_NAME)
        return -1;
    memcpy(buf, e, n + 1);
    char *slash = strchr(buf, '/');
    int len = -1;
    if (slash) {
        *slash = '\0';
        char *end;
        long l = strtol(slash + 1, &end, 10);
        if (end == slash + 1 || *end || l < 0 || l > 128)
            return -1;
        len = (int)l;
    }
    struct in_addr a4;
    if (p->kind != DSDB_DNS && inet_pton(AF_INET, buf, &a4) == 1) {
        if (len > 32)
            return -1;
        out->kind = K_IP4;
        out->len = len < 0 ? 32 : len;
        out->ip4 = ntohl(a4.s_addr);
        if (out->len < 32 && (out->ip4 & (0xffffffffu >> out->len)))
            return -1;
        return 0;
    }
    if (p->kind != DSDB_DNS && inet_pton(AF_INET6, buf, out->ip6) == 1) {
        out->kind = K_IP6;
        out->len = len < 0 ? 128 : len;
        return 0;
    }
    if (p->kind == DSDB_IP4 || p->kind == DSDB_IP6 || slash)
        return -1;
    const char *name = buf;
    out->kind = K_NAME;
    if (name[0] == '*' && name[1] == '.') {
        out->kind = K_SUB;
        name += 2;
    } else if (name[0] == '.') {
        out->kind = K_TREE;
        name += 1;
    }
    size_t nl = strlen(name);
    if (nl == 0 || name[nl - 1] == '.')
        return -1;
    for (size_t i = 0; i < nl; i++)
        out->name[i] = (char)((name[i] >= 'A' && name[i] <= 'Z') ? name[i] + 32 : name[i]);
    out->name[nl] = '\0';
    out->nlen = nl;
    return 0;
}

static uint64_t fp_parsed(const struct dsdb *p, const struct parsed *e)
{
    if (e->kind == K_IP4)
        return fp_ip4(p, e->ip4, e->len);
    if (e->kind == K_IP6)
        return fp_ip6(p, e->ip6, e->len);
    return fp_name(p, (uint8_t)e->kind, e->name, e->nlen);
}

static void lens_update(struct dsdb *p, const struct parsed *e, int delta)
{
    if (e->kind == K_IP4) {
        p->cnt4[e->len] = (uint32_t)((int)p->cnt4[e->len] + delta);
        uint64_t bits = 0;
        for (int i = 0; i <= 32; i++)
            bits |= (uint64_t)(p->cnt4[i] != 0) << i;
        atomic_store_explicit(&p->lens4, bits, memory_order_release);
    } else if (e->kind == K_IP6) {
        p->cnt6[e->len] = (uint32_t)((int)p->cnt6[e->len] + delta);
        int w = e->len / 64;
        uint64_t bits = 0;
        for (int i = 0; i < 64 && w * 64 + i <= 128; i++)
            bits |= (uint64_t)(p->cnt6[w * 64 + i] != 0) << i;
        atomic_store_explicit(&p->lens6[w], bits, memory_order_release);
    }
}

/* Domains: count this listing in each proper ancestor of its name (and, for
 * "*.name", in name itself, which then has a listing below it). */
static int ancestors_update(struct dsdb *p, const struct parsed *e, int delta)
{
    if (e->kind != K_NAME && e->kind != K_SUB && e->kind != K_TREE)
        return 0;
    const char *s = e->name;
    bool first = e->kind != K_SUB; /* "*.x": x itself has something below */
    for (;;) {
        if (!first) {
            uint64_t fp = fp_name(p, K_ANC, s, strlen(s));
            uint64_t v = 0;
            map_get(&p->anc, fp, &v);
            v = (uint64_t)((int64_t)v + delta);
            bool added;
            if (v == 0)
                map_del(&p->anc, fp);
            else if (map_put(&p->anc, fp, v, &added) < 0)
                return -1;
        }
        first = false;
        const char *dot = strchr(s, '.');
        if (!dot)
            break;
        s = dot + 1;
    }
    return 0;
}

/* ---- the dataset type ---- */

struct dataset *dsdb_new(enum dsdb_kind kind, const char *label, uint32_t code, const char *txt,
                         uint32_t ttl, const char *store_path, int64_t list_id)
{
    struct ds_options opt = {.ttl = {ttl, 0, 0}};
    struct dataset *ds = dataset_new(&ds_type_db, "", &opt);
    struct dsdb *p = calloc(1, sizeof *p);
    if (!ds || !p)
        goto fail;
    ds->priv = p;
    free(ds->spec);
    free(ds->label);
    size_t n = strlen(label) + 4;
    ds->spec = malloc(n);
    ds->label = malloc(n);
    if (!ds->spec || !ds->label)
        goto fail;
    snprintf(ds->spec, n, "db:%s", label);
    snprintf(ds->label, n, "db:%s", label);
    ds->ttl = ttl;
    p->kind = kind;
    p->list_id = list_id;
    if (getrandom(p->key, sizeof p->key, 0) != sizeof p->key)
        goto fail;
    if (store_path && !(p->store_path = strdup(store_path)))
        goto fail;
    p->def = (struct ds_value){.a = code, .ttl = ttl};
    if (value_index(p, code, txt && *txt ? txt : NULL, &p->def_idx) < 0)
        goto fail;
    return ds;
fail:
    if (!ds || !ds->priv)
        free(p);
    dataset_free(ds);
    return NULL;
}

int dsdb_add(struct dataset *ds, const char *entry, bool excluded, uint32_t code, const char *txt)
{
    struct dsdb *p = ds->priv;
    struct parsed e;
    if (parse_entry(p, entry, &e) < 0)
        return -1;
    uint32_t idx = p->def_idx;
    if (code || txt) {
        const struct ds_value *d = value_at(p, p->def_idx);
        if (value_index(p, code ? code : d->a, txt ? txt : d->txt, &idx) < 0)
            return -1;
    }
    uint64_t val = idx | (excluded ? VAL_EXCL : 0);
    uint64_t fp = fp_parsed(p, &e);
    bool added;
    if (map_put(&p->map, fp, val, &added) < 0)
        return -1;
    if (added) {
        lens_update(p, &e, +1);
        if (ancestors_update(p, &e, +1) < 0)
            return -1;
    }
    return 0;
}

int dsdb_remove(struct dataset *ds, const char *entry, bool excluded)
{
    (void)excluded;
    struct dsdb *p = ds->priv;
    struct parsed e;
    if (parse_entry(p, entry, &e) < 0)
        return -1;
    if (!map_del(&p->map, fp_parsed(p, &e)))
        return 1;
    lens_update(p, &e, -1);
    ancestors_update(p, &e, -1);
    return 0;
}

void dsdb_free_retired(void (*synchronize)(void *arg), void *arg)
{
    if (!retired.n)
        return;
    synchronize(arg);
    for (size_t i = 0; i < retired.n; i++)
        free(retired.v[i]);
    retired.n = 0;
}

size_t dsdb_count(const struct dataset *ds)
{
    const struct dsdb *p = ds->priv;
    return p ? p->map.live : 0;
}

static enum ds_result found(const struct dsdb *p, uint64_t val, const char *entry,
                            struct dns_answer *ans)
{
    if (val & VAL_EXCL)
        return DS_EXCLUDED;
    const struct ds_value *v = value_at(p, (uint32_t)val);
    if (ans_wants(ans, DNS_T_A))
        ans_add_a(ans, v->ttl, v->a);
    if (v->txt && ans_wants(ans, DNS_T_TXT))
        ans_add_txt(ans, v->ttl, v->txt, entry);
    return DS_FOUND;
}

static enum ds_result db_query(const struct dataset *ds, const struct ds_query *dq,
                               struct dns_answer *ans)
{
    const struct dsdb *p = ds->priv;
    uint64_t val;
    if (p->kind != DSDB_DNS && dq->ip4_octets == 4) {
        uint64_t lens = atomic_load_explicit(&((struct dsdb *)p)->lens4, memory_order_acquire);
        for (int len = 32; len >= 0; len--) {
            if (!(lens >> len & 1) || !map_get(&p->map, fp_ip4(p, dq->ip4, len), &val))
                continue;
            char entry[16];
            snprintf(entry, sizeof entry, "%u.%u.%u.%u", dq->ip4 >> 24, (dq->ip4 >> 16) & 255,
                     (dq->ip4 >> 8) & 255, dq->ip4 & 255);
            return found(p, val, entry, ans);
        }
        if (p->kind != DSDB_COMBINED)
            return DS_NONE;
    } else if (p->kind != DSDB_DNS && dq->ip6_nibbles == 32) {
        for (int len = 128; len >= 0; len--) {
            uint64_t w = atomic_load_explicit(&((struct dsdb *)p)->lens6[len / 64], memory_order_acquire);
            if (!(w >> (len % 64) & 1) || !map_get(&p->map, fp_ip6(p, dq->ip6, len), &val))
                continue;
            char entry[INET6_ADDRSTRLEN];
            inet_ntop(AF_INET6, dq->ip6, entry, sizeof entry);
            return found(p, val, entry, ans);
        }
        if (p->kind != DSDB_COMBINED)
            return DS_NONE;
    } else if (p->kind == DSDB_IP4 || p->kind == DSDB_IP6) {
        /* a partial reversed address: an empty non-terminal of the list */
        if ((p->kind == DSDB_IP4 && dq->ip4_octets > 0) || (p->kind == DSDB_IP6 && dq->ip6_nibbles > 0))
            return DS_ENT;
        return DS_NONE;
    }
    if (p->kind == DSDB_IP4 || p->kind == DSDB_IP6 || dq->rel == 0)
        return DS_NONE;
    /* a domain: the name itself, then each ancestor's ".x" and "*.x" forms */
    char name[DNS_MAX_NAME + 1];
    int n = dns_name_to_text(dq->q->qname, name, sizeof name);
    if (n < 0)
        return DS_NONE;
    /* only the part below the zone */
    size_t rl = dq->q->label_off[dq->rel] ? (size_t)dq->q->label_off[dq->rel] - 1 : 0;
    name[rl] = '\0';
    if (map_get(&p->map, fp_name(p, K_NAME, name, rl), &val) ||
        map_get(&p->map, fp_name(p, K_TREE, name, rl), &val))
        return found(p, val, name, ans);
    for (const char *s = strchr(name, '.'); s; s = strchr(s + 1, '.')) {
        size_t l = rl - (size_t)(s + 1 - name);
        if (map_get(&p->map, fp_name(p, K_TREE, s + 1, l), &val) ||
            map_get(&p->map, fp_name(p, K_SUB, s + 1, l), &val))
            return found(p, val, name, ans);
    }
    if (map_get(&p->anc, fp_name(p, K_ANC, name, rl), &val) && val > 0)
        return DS_ENT;
    return DS_NONE;
}

static void db_free(struct dataset *ds)
{
    struct dsdb *p = ds->priv;
    if (!p)
        return;
    free(atomic_load(&p->map.tab));
    free(atomic_load(&p->anc.tab));
    free(atomic_load(&p->valmap.tab));
    for (uint32_t i = 0; i < p->nvals; i++)
        free((char *)value_at(p, i)->txt);
    for (int c = 0; c < MAX_CHUNKS; c++)
        free(atomic_load(&p->chunks[c]));
    free(p->store_path);
}

static size_t db_count(const struct dataset *ds) { return dsdb_count(ds); }

/* -d and zone transfers: the records of a snapshot of the list, read from
 * the database (the in-memory table holds fingerprints, not entries), written
 * as the file datasets' walks write theirs: a prefix as the octet- (nibble-)
 * aligned wildcards it covers, an exclusion as a CNAME to "excluded". A walk
 * keeps its database cursor between calls (pos->part names it), so a
 * transfer written a message at a time reads the list once, from one
 * snapshot. */

enum { MAX_CURSORS = 8 };

struct walk_cursor {
    uint32_t id;                 /* 0: free */
    struct store_cursor *cur;
    uint64_t read;               /* entries taken from the cursor */
    bool have;                   /* `cur_entry` holds the entry being written */
    struct store_entry e;
    char entry[DNS_MAX_NAME + 1], txt[256];
    bool has_txt;
};

static pthread_mutex_t walk_lock = PTHREAD_MUTEX_INITIALIZER;
static struct walk_cursor cursors[MAX_CURSORS];
static uint32_t next_cursor_id;

static void cursor_drop(struct walk_cursor *w)
{
    store_cursor_close(w->cur);
    memset(w, 0, sizeof *w);
}

/* The cursor of this walk, opened (and advanced to pos->entry) if needed. */
static struct walk_cursor *cursor_for(const struct dsdb *p, struct ds_pos *pos)
{
    struct walk_cursor *w = NULL;
    for (int i = 0; i < MAX_CURSORS && pos->part; i++)
        if (cursors[i].id == pos->part)
            w = &cursors[i];
    if (w && w->read == pos->entry + (w->have ? 1 : 0))
        return w;
    if (w)
        cursor_drop(w);
    /* a free slot, or the first one (an abandoned transfer's) */
    for (int i = 0; i < MAX_CURSORS && !w; i++)
        if (!cursors[i].id)
            w = &cursors[i];
    if (!w) {
        w = &cursors[next_cursor_id % MAX_CURSORS];
        cursor_drop(w);
    }
    char err[256];
    if (!p->store_path ||
        store_cursor_open(p->store_path, p->list_id, (int64_t)time(NULL), &w->cur, err, sizeof err) < 0) {
        log_error("event=walk-failed list=%lld error=\"%s\"", (long long)p->list_id,
                  p->store_path ? err : "no database");
        return NULL;
    }
    w->id = ++next_cursor_id ? next_cursor_id : ++next_cursor_id;
    pos->part = w->id;
    /* resuming a walk whose cursor was lost: skip what was written */
    struct store_entry e;
    while (w->read < pos->entry && store_cursor_next(w->cur, &e) == 1)
        w->read++;
    return w;
}

/* Wire labels of a text name (no root byte); returns the length or 0. */
static size_t wire_labels(const char *text, uint8_t *out, size_t cap)
{
    size_t n = 0;
    for (const char *s = text; *s;) {
        const char *dot = strchr(s, '.');
        size_t l = dot ? (size_t)(dot - s) : strlen(s);
        if (l == 0 || l > 63 || n + 1 + l > cap)
            return 0;
        out[n++] = (uint8_t)l;
        memcpy(out + n, s, l);
        n += l;
        s += l + (dot ? 1 : 0);
    }
    return n;
}

/* Write the records of one owner from pos->rr on: the listing's own value,
 * or the list's default for what it does not set. */
static bool emit_value(const struct dsdb *p, const struct walk_cursor *w, const uint8_t *owner,
                       size_t olen, const char *entry, struct ds_pos *pos, ds_emit_fn emit, void *ctx)
{
    const struct ds_value *d = value_at(p, p->def_idx);
    struct ds_value v = {.a = w->e.code ? w->e.code : d->a, .ttl = d->ttl,
                         .txt = w->has_txt ? w->txt : d->txt};
    return ds_walk_value(owner, olen, w->e.excluded ? NULL : &v, d->ttl, entry, pos, emit, ctx);
}

/* The records of the current entry from pos->block / pos->rr on. */
static bool emit_entry(const struct dsdb *p, struct walk_cursor *w, struct ds_pos *pos,
                       ds_emit_fn emit, void *ctx)
{
    struct parsed x;
    if (parse_entry(p, w->entry, &x) < 0)
        return true; /* not for this kind of list: the answer path ignores it too */
    uint8_t owner[DNS_MAX_NAME + 4];
    char entry[INET6_ADDRSTRLEN > DNS_MAX_NAME ? INET6_ADDRSTRLEN : DNS_MAX_NAME + 1];
    if (x.kind == K_IP4) {
        int octets = (x.len + 7) / 8;
        uint32_t blocks = 1u << (8 * octets - x.len);
        for (; pos->block < blocks; pos->block++, pos->rr = 0) {
            uint32_t a = x.ip4 + (octets ? pos->block << (32 - 8 * octets) : 0);
            size_t n = ds_owner_ip4(owner, a, octets);
            snprintf(entry, sizeof entry, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255,
                     a & 255);
            if (!emit_value(p, w, owner, n, entry, pos, emit, ctx))
                return false;
        }
        return true;
    }
    if (x.kind == K_IP6) {
        int nibbles = (x.len + 3) / 4;
        uint32_t blocks = 1u << (4 * nibbles - x.len);
        for (; pos->block < blocks; pos->block++, pos->rr = 0) {
            uint8_t a[16];
            memcpy(a, x.ip6, 16);
            if (nibbles) {
                int last = nibbles - 1;
                unsigned v = ((last % 2 == 0) ? a[last / 2] >> 4 : a[last / 2] & 15) + pos->block;
                a[last / 2] = last % 2 == 0 ? (uint8_t)((a[last / 2] & 15) | (v & 15) << 4)
                                            : (uint8_t)((a[last / 2] & 0xf0) | (v & 15));
            }
            size_t n = 0;
            if (nibbles < 32)
                owner[n++] = 1, owner[n++] = '*';
            for (int i = nibbles - 1; i >= 0; i--) {
                unsigned v = (i % 2 == 0) ? a[i / 2] >> 4 : a[i / 2] & 15;
                owner[n++] = 1;
                owner[n++] = (uint8_t)"0123456789abcdef"[v];
            }
            inet_ntop(AF_INET6, a, entry, sizeof entry);
            if (!emit_value(p, w, owner, n, entry, pos, emit, ctx))
                return false;
        }
        return true;
    }
    /* a domain: "x" -> x; "*.x" -> *.x; ".x" -> x, then *.x (block 0 and 1) */
    uint32_t blocks = x.kind == K_TREE ? 2 : 1;
    for (; pos->block < blocks; pos->block++, pos->rr = 0) {
        size_t n = 0;
        if (x.kind == K_SUB || (x.kind == K_TREE && pos->block == 1))
            owner[n++] = 1, owner[n++] = '*';
        size_t l = wire_labels(x.name, owner + n, sizeof owner - n);
        if (!l)
            return true;
        if (!emit_value(p, w, owner, n + l, x.name, pos, emit, ctx))
            return false;
    }
    return true;
}

int dsdb_entry_rrs(const struct dataset *ds, const struct store_entry *e, ds_emit_fn emit, void *ctx)
{
    const struct dsdb *p = ds->priv;
    struct walk_cursor w = {.have = true, .e = *e};
    snprintf(w.entry, sizeof w.entry, "%s", e->entry);
    w.has_txt = e->txt != NULL;
    snprintf(w.txt, sizeof w.txt, "%s", e->txt ? e->txt : "");
    struct ds_pos pos = {0};
    return emit_entry(p, &w, &pos, emit, ctx) ? 0 : 1;
}

static bool db_walk(const struct dataset *ds, struct ds_pos *pos, ds_emit_fn emit, void *ctx)
{
    const struct dsdb *p = ds->priv;
    pthread_mutex_lock(&walk_lock);
    bool done = false;
    struct walk_cursor *w = cursor_for(p, pos);
    while (w) {
        if (!w->have) {
            struct store_entry e;
            int r = store_cursor_next(w->cur, &e);
            if (r <= 0) {
                if (r < 0)
                    log_error("event=walk-failed list=%lld error=\"reading the listings\"",
                              (long long)p->list_id);
                cursor_drop(w);
                done = true;
                break;
            }
            w->read++;
            w->have = true;
            w->e = e;
            snprintf(w->entry, sizeof w->entry, "%s", e.entry);
            w->has_txt = e.txt != NULL;
            snprintf(w->txt, sizeof w->txt, "%s", e.txt ? e.txt : "");
            pos->block = 0;
            pos->rr = 0;
        }
        if (!emit_entry(p, w, pos, emit, ctx))
            break;
        w->have = false;
        pos->entry++;
        pos->block = 0;
        pos->rr = 0;
    }
    pthread_mutex_unlock(&walk_lock);
    return done;
}

static int db_line(struct dataset *ds, char *line, size_t len)
{
    (void)line;
    (void)len;
    return ds_error(ds, "a database list has no data file");
}

static int db_finish(struct dataset *ds)
{
    (void)ds;
    return 0;
}

const struct ds_type ds_type_db = {"db", sizeof(struct dsdb), db_line, db_finish, db_query,
                                   db_free, db_walk, db_count};

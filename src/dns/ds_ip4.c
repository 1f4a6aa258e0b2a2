/*
 * ds_ip4.c: the IPv4 datasets.
 *
 * ip4set  - addresses, prefixes, CIDRs and ranges with per-entry values; a range
 *           is split into /8, /16, /24 and /32 blocks, and the most specific
 *           block wins (an exclusion there hides the address). Several entries
 *           for one block all answer.
 * ip4tset - single addresses sharing the dataset's one value.
 * ip4trie - CIDR prefixes of any length; the longest matching prefix wins.
 * All three use struct ip4map (prefixmap.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "answer.h"
#include "common/log.h"
#include "dataset.h"
#include "prefixmap.h"

struct ip4_priv {
    struct ip4map map;
    struct valtab vals;
    uint32_t ttl;
};

static bool key_end(char c)
{
    return c == '\0' || c == ' ' || c == '\t' || c == ':' || c == '#' || c == ';';
}

/* Parse "a.b.c.d", "a.b.c", "a.b.c.d/len", "a.b.c.d-e.f.g.h", "a.b.c-d"...
 * into the inclusive range [lo, hi]. *cidr_len is the prefix length when the
 * range is one CIDR block, else -1. */
static int parse_range(struct dataset *ds, char **pp, uint32_t *lo, uint32_t *hi, int *cidr_len)
{
    const char *end;
    uint32_t a1;
    int n1 = rbl_parse_ip4_prefix(*pp, &end, &a1);
    if (n1 < 0)
        return ds_error(ds, "invalid IPv4 address \"%.40s\"", *pp);
    if (*end == '/') {
        char *e;
        long len = strtol(end + 1, &e, 10);
        if (e == end + 1 || len < 0 || len > 32 || !key_end(*e))
            return ds_error(ds, "invalid prefix length in \"%.40s\"", *pp);
        uint32_t mask = ip4_mask((int)len);
        if ((a1 & ~mask) && !ds->opt.allow_host_bits)
            return ds_error(ds, "address has bits outside the /%ld mask (use -e to accept)", len);
        *lo = a1 & mask;
        *hi = *lo | ~mask;
        *cidr_len = (int)len;
        *pp = (char *)e;
        return 0;
    }
    if (*end == '-') {
        const char *end2;
        uint32_t a2;
        int n2 = rbl_parse_ip4_prefix(end + 1, &end2, &a2);
        if (n2 < 0 || !key_end(*end2))
            return ds_error(ds, "invalid IPv4 range \"%.40s\"", *pp);
        if (n2 == 1 && n1 > 1) {
            /* "127.16-31": the second part replaces the first's last octet */
            int shift = 32 - 8 * n1;
            a2 = (a1 & ~(0xffu << shift)) | (a2 >> 24) << shift;
            n2 = n1;
        }
        *lo = a1;
        *hi = a2 | (n2 == 4 ? 0 : 0xffffffffu >> (8 * n2));
        if (*hi < *lo)
            return ds_error(ds, "IPv4 range ends before it starts");
        *cidr_len = -1;
        uint64_t size = (uint64_t)*hi - *lo + 1;
        if ((size & (size - 1)) == 0 && (*lo & (uint32_t)(size - 1)) == 0)
            *cidr_len = 32 - __builtin_ctzll(size);
        *pp = (char *)end2;
        return 0;
    }
    if (!key_end(*end))
        return ds_error(ds, "invalid IPv4 address \"%.40s\"", *pp);
    *lo = a1;
    *hi = a1 | (n1 == 4 ? 0 : 0xffffffffu >> (8 * n1));
    *cidr_len = 8 * n1;
    *pp = (char *)end;
    return 0;
}

static int ip4_line_common(struct dataset *ds, char *line, bool trie, bool tset)
{
    struct ip4_priv *p = ds->priv;
    bool excl = false;
    char *s = line;
    if (*s == '!') {
        excl = true;
        s++;
    }
    uint32_t lo = 0, hi = 0;
    int cidr = -1;
    if (parse_range(ds, &s, &lo, &hi, &cidr) < 0)
        return -1;
    if (tset && cidr != 32)
        return ds_error(ds, "ip4tset takes single addresses only");
    if (trie && cidr < 0)
        return ds_error(ds, "ip4trie takes CIDR prefixes only, not ranges");
    uint64_t size = (uint64_t)hi - lo + 1;
    if (ds->maxrange4 && size > ds->maxrange4 && !excl)
        return ds_error(ds, "range of %llu addresses exceeds $MAXRANGE4", (unsigned long long)size);
    uint32_t vi;
    if (excl) {
        vi = PM_EXCL;
    } else if (tset) {
        vi = 0;
    } else {
        if (*s == ':' || *s == ' ' || *s == '\t') {
            struct ds_value v;
            char *t = ds_skip_ws(s);
            if (*t == '\0' || *t == '#' || *t == ';')
                vi = valtab_default(&p->vals, ds);
            else if (ds_parse_value(ds, t, &v) < 0)
                return -1;
            else
                vi = valtab_push(&p->vals, v);
        } else {
            vi = valtab_default(&p->vals, ds);
        }
        if (vi == UINT32_MAX)
            return ds_error(ds, "out of memory for values");
    }
    if (trie || tset)
        return ip4map_add(&p->map, lo, cidr, vi) < 0 ? ds_error(ds, "out of memory") : 0;
    /* ip4set: cover [lo, hi] with aligned /8, /16, /24 and /32 blocks */
    uint64_t a = lo;
    while (a <= hi) {
        static const int lens[] = {8, 16, 24, 32};
        for (int i = 0; i < 4; i++) {
            uint64_t bs = (uint64_t)1 << (32 - lens[i]);
            if ((a & (bs - 1)) == 0 && a + bs - 1 <= hi) {
                if (ip4map_add(&p->map, (uint32_t)a, lens[i], vi) < 0)
                    return ds_error(ds, "out of memory");
                a += bs;
                break;
            }
        }
    }
    return 0;
}

static int ip4set_line(struct dataset *ds, char *line, size_t len)
{
    (void)len;
    return ip4_line_common(ds, line, false, false);
}

static int ip4trie_line(struct dataset *ds, char *line, size_t len)
{
    (void)len;
    return ip4_line_common(ds, line, true, false);
}

static int ip4tset_line(struct dataset *ds, char *line, size_t len)
{
    (void)len;
    return ip4_line_common(ds, line, false, true);
}

static int ip4_finish(struct dataset *ds)
{
    struct ip4_priv *p = ds->priv;
    p->ttl = ds->ttl;
    if (ds->type == &ds_type_ip4tset || p->vals.n == 0) {
        /* ip4tset: one value for every entry, the last default given */
        valtab_free(&p->vals);
        struct ds_value only = ds->defval_eff;
        only.ttl = ds->ttl;
        if (valtab_push(&p->vals, only) == UINT32_MAX)
            return ds_error(ds, "out of memory");
    }
    /* as rbldnsd: in a trie, a prefix given twice keeps its first entry */
    bool trie = ds->type == &ds_type_ip4trie;
    size_t dup = ip4map_finish(&p->map, trie);
    if (dup == (size_t)-1)
        return ds_error(ds, "out of memory while sorting");
    if (dup)
        log_warn("event=data-warning dataset=%s duplicated_entries=%zu kept=first", ds->label, dup);
    return 0;
}

static void fmt_ip4(uint32_t a, char out[16])
{
    char *p = out;
    for (int shift = 24; shift >= 0; shift -= 8) {
        unsigned o = (a >> shift) & 255;
        if (o >= 100)
            *p++ = (char)('0' + o / 100);
        if (o >= 10)
            *p++ = (char)('0' + o / 10 % 10);
        *p++ = (char)('0' + o % 10);
        *p++ = shift ? '.' : '\0';
    }
}

static enum ds_result ip4_query(const struct dataset *ds, const struct ds_query *dq,
                                struct dns_answer *ans)
{
    const struct ip4_priv *p = ds->priv;
    if (dq->ip4_octets == 4) {
        const struct ip4_level *l;
        size_t pos;
        size_t n = ip4map_lookup(&p->map, dq->ip4, &l, &pos);
        if (n == 0)
            return DS_NONE;
        for (size_t i = pos; i < pos + n; i++)
            if (ip4_level_val(l, i) & PM_EXCL)
                return DS_EXCLUDED;
        char entry[16] = ""; /* the address as text, made only for a TXT */
        for (size_t i = pos; i < pos + n; i++) {
            const struct ds_value *v = &p->vals.v[ip4_level_val(l, i)];
            if (ans_wants(ans, DNS_T_A))
                ans_add_a(ans, v->ttl, v->a);
            if (v->txt && ans_wants(ans, DNS_T_TXT)) {
                if (!entry[0])
                    fmt_ip4(dq->ip4, entry);
                ans_add_txt(ans, v->ttl, v->txt, entry);
            }
        }
        return DS_FOUND;
    }
    if (dq->ip4_octets > 0) {
        if (ip4map_any_in(&p->map, dq->ip4, 8 * dq->ip4_octets))
            return DS_ENT;
    }
    return DS_NONE;
}

static void ip4_free(struct dataset *ds)
{
    struct ip4_priv *p = ds->priv;
    ip4map_free(&p->map);
    valtab_free(&p->vals);
}

static size_t ip4_count(const struct dataset *ds)
{
    const struct ip4_priv *p = ds->priv;
    return ip4map_count(&p->map);
}

/* The records as rbldnsd -d writes them: a block shorter than /32 becomes a
 * wildcard (10.0.0.0/8 -> *.10), an exclusion a CNAME to "excluded"; shorter
 * prefixes first. A prefix between octet boundaries (ip4trie's /20) is
 * written as the octet-aligned blocks it covers (16 "*.c.b.a" for a /20).
 * Position: part = level (shortest first), entry, block, rr (0 A or CNAME, 1 TXT). */
static bool ip4_walk(const struct dataset *ds, struct ds_pos *pos, ds_emit_fn emit, void *ctx)
{
    const struct ip4_priv *p = ds->priv;
    for (; pos->part < (uint32_t)p->map.nlens; pos->part++, pos->entry = 0) {
        int len = p->map.lens[p->map.nlens - 1 - (int)pos->part];
        int octets = (len + 7) / 8;
        uint32_t blocks = 1u << (8 * octets - len);
        const struct ip4_level *l = &p->map.level[len];
        for (; pos->entry < l->n; pos->entry++, pos->block = 0) {
            uint32_t vw = ip4_level_val(l, pos->entry);
            for (; pos->block < blocks; pos->block++, pos->rr = 0) {
                uint32_t a = ip4_level_key(l, pos->entry) +
                             (octets ? pos->block << (32 - 8 * octets) : 0);
                uint8_t owner[4 * 4 + 2];
                size_t n = ds_owner_ip4(owner, a, octets);
                const struct ds_value *v = vw & PM_EXCL ? NULL : &p->vals.v[vw];
                char entry[16] = "";
                if (v && v->txt)
                    fmt_ip4(a, entry);
                if (!ds_walk_value(owner, n, v, p->ttl, entry, pos, emit, ctx))
                    return false;
            }
        }
    }
    return true;
}

const struct ds_type ds_type_ip4set = {"ip4set", sizeof(struct ip4_priv), ip4set_line, ip4_finish,
                                       ip4_query, ip4_free, ip4_walk, ip4_count};
const struct ds_type ds_type_ip4trie = {"ip4trie", sizeof(struct ip4_priv), ip4trie_line, ip4_finish,
                                        ip4_query, ip4_free, ip4_walk, ip4_count};
const struct ds_type ds_type_ip4tset = {"ip4tset", sizeof(struct ip4_priv), ip4tset_line, ip4_finish,
                                        ip4_query, ip4_free, ip4_walk, ip4_count};

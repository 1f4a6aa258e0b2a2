/*
 * ds_ip6.c: the IPv6 datasets.
 *
 * ip6trie - CIDR prefixes (compressed "::" notation, trailing groups may be
 *           omitted: "2001:db8:1:2" is a /64) with per-entry values and
 *           exclusions; the longest matching prefix wins.
 * ip6tset - /64 prefixes sharing one value, plus /128 exclusions.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "answer.h"
#include "common/log.h"
#include "dataset.h"
#include "prefixmap.h"

struct ip6_priv {
    struct ip6map map;
    struct valtab vals;
    uint32_t ttl;
};

static int ip6_line_common(struct dataset *ds, char *line, bool tset)
{
    struct ip6_priv *p = ds->priv;
    bool excl = false;
    char *s = line;
    if (*s == '!') {
        excl = true;
        s++;
    }
    char *k = s;
    while (*s && *s != ' ' && *s != '\t' && *s != '/' && *s != '#' && *s != ';')
        s++;
    uint8_t addr[16];
    int bits = rbl_parse_ip6(k, (size_t)(s - k), addr);
    if (bits < 0)
        return ds_error(ds, "invalid IPv6 address \"%.*s\"", (int)(s - k), k);
    int len = bits;
    if (*s == '/') {
        char *e;
        long l = strtol(s + 1, &e, 10);
        if (e == s + 1 || l < 0 || l > 128)
            return ds_error(ds, "invalid IPv6 prefix length");
        len = (int)l;
        s = e;
    }
    if (*s && *s != ' ' && *s != '\t' && *s != '#' && *s != ';')
        return ds_error(ds, "invalid IPv6 entry \"%.40s\"", k);
    u128 a = ip6_from_bytes(addr);
    if ((a & ~ip6_mask(len)) && !ds->opt.allow_host_bits)
        return ds_error(ds, "address has bits outside the /%d mask (use -e to accept)", len);
    if (tset) {
        if (excl ? len != 128 : len != 64)
            return ds_error(ds, "ip6tset takes /64 prefixes and /128 exclusions only");
    }
    uint32_t vi;
    if (excl) {
        vi = PM_EXCL;
    } else if (tset) {
        vi = 0;
    } else {
        char *t = ds_skip_ws(s);
        struct ds_value v;
        if (*t == '\0' || *t == '#' || *t == ';')
            vi = valtab_default(&p->vals, ds);
        else if (ds_parse_value(ds, t, &v) < 0)
            return -1;
        else
            vi = valtab_push(&p->vals, v);
        if (vi == UINT32_MAX)
            return ds_error(ds, "out of memory for values");
    }
    if (ip6map_add(&p->map, a, len, vi) < 0)
        return ds_error(ds, "out of memory");
    return 0;
}

static int ip6trie_line(struct dataset *ds, char *line, size_t len)
{
    (void)len;
    return ip6_line_common(ds, line, false);
}

static int ip6tset_line(struct dataset *ds, char *line, size_t len)
{
    (void)len;
    return ip6_line_common(ds, line, true);
}

static int ip6_finish(struct dataset *ds)
{
    struct ip6_priv *p = ds->priv;
    p->ttl = ds->ttl;
    if (ds->type == &ds_type_ip6tset || p->vals.n == 0) {
        valtab_free(&p->vals);
        struct ds_value only = ds->defval_eff;
        only.ttl = ds->ttl;
        if (valtab_push(&p->vals, only) == UINT32_MAX)
            return ds_error(ds, "out of memory");
    }
    if (ip6map_finish(&p->map) < 0)
        return ds_error(ds, "out of memory while sorting");
    if (ds->type == &ds_type_ip6trie) {
        size_t dup = ip6map_dedupe_first(&p->map);
        if (dup)
            log_warn("event=data-warning dataset=%s duplicated_entries=%zu kept=first", ds->label, dup);
    }
    return 0;
}

static enum ds_result ip6_query(const struct dataset *ds, const struct ds_query *dq,
                                struct dns_answer *ans)
{
    const struct ip6_priv *p = ds->priv;
    if (dq->ip6_nibbles == 0)
        return DS_NONE;
    u128 a = ip6_from_bytes(dq->ip6);
    if (dq->ip6_nibbles == 32) {
        const struct ip6_entry *e;
        size_t n = ip6map_lookup(&p->map, a, &e);
        if (n == 0)
            return DS_NONE;
        for (size_t i = 0; i < n; i++)
            if (e[i].val & PM_EXCL)
                return DS_EXCLUDED;
        char entry[INET6_ADDRSTRLEN] = ""; /* made only for a TXT */
        for (size_t i = 0; i < n; i++) {
            const struct ds_value *v = &p->vals.v[e[i].val];
            if (ans_wants(ans, DNS_T_A))
                ans_add_a(ans, v->ttl, v->a);
            if (v->txt && ans_wants(ans, DNS_T_TXT)) {
                if (!entry[0])
                    inet_ntop(AF_INET6, dq->ip6, entry, sizeof entry);
                ans_add_txt(ans, v->ttl, v->txt, entry);
            }
        }
        return DS_FOUND;
    }
    return ip6map_any_in(&p->map, a, 4 * dq->ip6_nibbles) ? DS_ENT : DS_NONE;
}

static void ip6_free(struct dataset *ds)
{
    struct ip6_priv *p = ds->priv;
    ip6map_free(&p->map);
    valtab_free(&p->vals);
}

static size_t ip6_count(const struct dataset *ds)
{
    const struct ip6_priv *p = ds->priv;
    return ip6map_count(&p->map);
}

/* The records as -d writes them: each prefix as a nibble-reversed wildcard
 * name; a prefix between nibble boundaries is written as the nibble-aligned
 * blocks it covers. Position as ip4_walk's. */
static bool ip6_walk(const struct dataset *ds, struct ds_pos *pos, ds_emit_fn emit, void *ctx)
{
    const struct ip6_priv *p = ds->priv;
    for (; pos->part < (uint32_t)p->map.nlens; pos->part++, pos->entry = 0) {
        int len = p->map.lens[p->map.nlens - 1 - (int)pos->part];
        const struct ip6_level *l = &p->map.level[len];
        int nib = (len + 3) / 4;
        unsigned blocks = 1u << (4 * nib - len);
        for (; pos->entry < l->n; pos->entry++, pos->block = 0) {
            const struct ip6_entry *e = &l->e[pos->entry];
            for (; pos->block < blocks; pos->block++, pos->rr = 0) {
                u128 key = e->key + (nib ? (u128)pos->block << (128 - 4 * nib) : 0);
                uint8_t owner[2 * 33];
                size_t n = 0;
                if (nib < 32) {
                    owner[n++] = 1;
                    owner[n++] = '*';
                }
                for (int k = nib - 1; k >= 0; k--) {
                    owner[n++] = 1;
                    owner[n++] = (uint8_t)"0123456789abcdef"[(unsigned)(key >> (124 - 4 * k)) & 15];
                }
                const struct ds_value *v = e->val & PM_EXCL ? NULL : &p->vals.v[e->val];
                char entry[INET6_ADDRSTRLEN] = "";
                if (v && v->txt) {
                    uint8_t bytes[16];
                    for (int k = 0; k < 16; k++)
                        bytes[k] = (uint8_t)(key >> (120 - 8 * k));
                    inet_ntop(AF_INET6, bytes, entry, sizeof entry);
                }
                if (!ds_walk_value(owner, n, v, p->ttl, entry, pos, emit, ctx))
                    return false;
            }
        }
    }
    return true;
}

const struct ds_type ds_type_ip6trie = {"ip6trie", sizeof(struct ip6_priv), ip6trie_line, ip6_finish,
                                        ip6_query, ip6_free, ip6_walk, ip6_count};
const struct ds_type ds_type_ip6tset = {"ip6tset", sizeof(struct ip6_priv), ip6tset_line, ip6_finish,
                                        ip6_query, ip6_free, ip6_walk, ip6_count};

/*
 * ds_other.c: the two datasets that hold other datasets or no data at all.
 *
 * combined - a container: a common section ($SOA, $NS, $TTL, $n for the base
 *            zone) then "$DATASET type[:name] subzone... [@]" sections, each a
 *            nested dataset consulted for those subzones of the base zone.
 *            The most specific subzone matching a query is the one consulted.
 * acl      - client addresses (ip4trie/ip6trie syntax) with an action:
 *            :ignore (default), :refuse, :empty, :pass, or an A:TXT value
 *            that makes every query look listed for that client.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "answer.h"
#include "dataset.h"
#include "prefixmap.h"
#include "zone.h"

/* ---- combined ---- */

struct comb_sub {
    uint8_t name[DNS_MAX_NAME];  /* relative wire name without the root byte */
    size_t len;
    int nlabels;
    struct dataset *ds;
};

struct comb_priv {
    struct dataset **nested;
    int nnested;
    struct comb_sub *subs;
    int nsubs;
    struct dataset *cur;
};

static int comb_close_current(struct dataset *ds)
{
    struct comb_priv *p = ds->priv;
    struct dataset *n = p->cur;
    p->cur = NULL;
    if (!n || !n->type->finish)
        return 0;
    if (n->type->finish(n) < 0)
        return ds_error(ds, "dataset %s: %s", n->label, n->err);
    return 0;
}

static int comb_new_section(struct dataset *ds, char *s)
{
    struct comb_priv *p = ds->priv;
    if (comb_close_current(ds) < 0)
        return -1;
    s = ds_skip_ws(s);
    char *tw = s;
    while (*s && *s != ' ' && *s != '\t')
        s++;
    if (*s)
        *s++ = '\0';
    char *label = strchr(tw, ':');
    if (label)
        *label++ = '\0';
    const struct ds_type *t = ds_type_find(tw);
    if (!t || t == &ds_type_combined || t == &ds_type_acl)
        return ds_error(ds, "$DATASET: unknown or unusable type \"%s\"", tw);
    struct dataset *n = dataset_new(t, "", &ds->opt);
    if (!n)
        return ds_error(ds, "out of memory");
    if (label && *label) {
        free(n->label);
        n->label = strdup(label);
    }
    n->parent = ds;
    n->priv = calloc(1, t->size);
    struct dataset **nv = realloc(p->nested, (size_t)(p->nnested + 1) * sizeof *nv);
    if (nv)
        p->nested = nv; /* the old array is gone either way once realloc succeeds */
    if (!n->priv || !nv || !n->label) {
        dataset_free(n);
        return ds_error(ds, "out of memory");
    }
    p->nested[p->nnested++] = n;
    n->ttl = ds->ttl;
    n->defval = (struct ds_value){.a = 0x7f000002, .txt = NULL};
    n->defval_raw = NULL;
    ds_update_default(n);
    p->cur = n;
    char *w;
    int nsub = 0;
    while (*(w = ds_skip_ws(s))) {
        s = w;
        while (*s && *s != ' ' && *s != '\t')
            s++;
        if (*s)
            *s++ = '\0';
        struct comb_sub sub = {.ds = n};
        if (strcmp(w, "@") != 0) {
            uint8_t wire[DNS_MAX_NAME + 1];
            int l = dns_name_from_text(w, strlen(w), wire);
            if (l <= 1)
                return ds_error(ds, "$DATASET: invalid subzone \"%s\"", w);
            memcpy(sub.name, wire, (size_t)l - 1);
            sub.len = (size_t)l - 1;
            sub.nlabels = dns_name_labels(wire);
        }
        struct comb_sub *sv = realloc(p->subs, (size_t)(p->nsubs + 1) * sizeof *sv);
        if (!sv)
            return ds_error(ds, "out of memory");
        p->subs = sv;
        p->subs[p->nsubs++] = sub;
        nsub++;
    }
    if (nsub == 0)
        return ds_error(ds, "$DATASET without any subzone (use @ for the base zone)");
    return 0;
}

static int comb_line(struct dataset *ds, char *line, size_t len)
{
    struct comb_priv *p = ds->priv;
    if (strncasecmp(line, "$DATASET", 8) == 0 && (line[8] == ' ' || line[8] == '\t'))
        return comb_new_section(ds, line + 9);
    if (p->cur) {
        /* $SOA and $NS errors are recorded on the container (ds_special
         * parses them into the parent), the others on the section */
        p->cur->err[0] = '\0';
        int r = dataset_feed_line(p->cur, line, len);
        if (r < 0 && p->cur->err[0])
            return ds_error(ds, "%s", p->cur->err);
        return r < 0 ? -1 : 0;
    }
    /* the common section: specials and comments only */
    if (line[0] == '#' || line[0] == ';') {
        if (line[1] != '$')
            return 0;
        line++;
    }
    if (line[0] == '$') {
        int r = ds_special(ds, line, len);
        if (r == 0)
            return ds_error(ds, "unknown special \"%.20s\"", line);
        return r < 0 ? -1 : 0;
    }
    return ds_error(ds, "data before the first $DATASET line");
}

static int comb_finish(struct dataset *ds)
{
    return comb_close_current(ds);
}

/* The most specific subzone that is a suffix of the relative name, or -1. */
static int comb_best_sub(const struct comb_priv *p, const struct ds_query *dq)
{
    const struct dns_query *q = dq->q;
    size_t end = q->label_off[dq->rel];
    int best = -1;
    for (int i = 0; i < p->nsubs; i++) {
        const struct comb_sub *s = &p->subs[i];
        if (s->nlabels > dq->rel || (best >= 0 && s->nlabels <= p->subs[best].nlabels))
            continue;
        size_t off = q->label_off[dq->rel - s->nlabels];
        if (end - off == s->len && memcmp(q->qname + off, s->name, s->len) == 0)
            best = i;
    }
    return best;
}

static enum ds_result comb_query(const struct dataset *ds, const struct ds_query *dq,
                                 struct dns_answer *ans)
{
    const struct comb_priv *p = ds->priv;
    const struct dns_query *q = dq->q;
    size_t end = q->label_off[dq->rel];
    int best = comb_best_sub(p, dq);
    enum ds_result res = DS_NONE;
    if (best >= 0) {
        const struct comb_sub *b = &p->subs[best];
        struct ds_query sub = *dq;
        ds_query_set_rel(&sub, dq->rel - b->nlabels);
        for (int i = 0; i < p->nsubs; i++) {
            const struct comb_sub *s = &p->subs[i];
            if (s->len != b->len || memcmp(s->name, b->name, s->len) != 0 || !s->ds->priv)
                continue;

            if (s->ds->expires && s->ds->expires < time(NULL))
                continue;
            if (dq->generic_only && s->ds->type != &ds_type_generic)
                continue;
            enum ds_result r = s->ds->type->query(s->ds, &sub, ans);
            if (r == DS_FOUND || (r == DS_ENT && res != DS_FOUND))
                res = r;
        }
        if (res == DS_NONE && b->nlabels == dq->rel && b->nlabels > 0)
            res = DS_ENT; /* a subzone's own name exists */
    }
    if (res == DS_NONE) {
        /* an empty non-terminal above a subzone */
        for (int i = 0; i < p->nsubs; i++) {
            const struct comb_sub *s = &p->subs[i];
            if (s->nlabels <= dq->rel)
                continue;
            size_t off = 0;
            const uint8_t *n = s->name;
            for (int k = 0; k < s->nlabels - dq->rel; k++)
                off += (size_t)n[off] + 1;
            if (s->len - off == end && memcmp(n + off, q->qname, end) == 0)
                return DS_ENT;
        }
    }
    return res;
}

bool comb_accepts(const struct dataset *ds, const struct ds_query *dq,
                  bool (*accepts)(const struct dataset *, const struct ds_query *))
{
    const struct comb_priv *p = ds->priv;
    int best = comb_best_sub(p, dq);
    if (best < 0)
        return false;
    const struct comb_sub *b = &p->subs[best];
    struct ds_query sub = *dq;
    ds_query_set_rel(&sub, dq->rel - b->nlabels);
    for (int i = 0; i < p->nsubs; i++) {
        const struct comb_sub *s = &p->subs[i];
        if (s->len == b->len && memcmp(s->name, b->name, s->len) == 0 && accepts(s->ds, &sub))
            return true;
    }
    return false;
}

static void comb_free(struct dataset *ds)
{
    struct comb_priv *p = ds->priv;
    for (int i = 0; i < p->nnested; i++)
        dataset_free(p->nested[i]);
    free(p->nested);
    free(p->subs);
}

static size_t comb_count(const struct dataset *ds)
{
    const struct comb_priv *p = ds->priv;
    size_t n = 0;
    for (int i = 0; i < p->nnested; i++)
        if (p->nested[i]->type->count)
            n += p->nested[i]->type->count(p->nested[i]);
    return n;
}

/* Each subzone's records with owners below the subzone, after an origin
 * record (-d's "$ORIGIN sub.zone."); a closing origin record for the zone
 * itself. A dataset given for several subzones is walked once for each.
 * Position: sub, sub_state (0 origin, 1 records, 2 closing), the rest the
 * nested dataset's. */
struct comb_walk {
    const struct comb_sub *sub;
    ds_emit_fn emit;
    void *ctx;
};

static int comb_emit(void *arg, const struct ds_rr *in)
{
    const struct comb_walk *w = arg;
    uint8_t owner[DNS_MAX_NAME + DNS_MAX_NAME];
    if (in->owner_len + w->sub->len > DNS_MAX_NAME - 1)
        return 0; /* too long a name under this subzone: not a name at all */
    memcpy(owner, in->owner, in->owner_len);
    memcpy(owner + in->owner_len, w->sub->name, w->sub->len);
    struct ds_rr rr = *in;
    rr.owner = owner;
    rr.owner_len = in->owner_len + w->sub->len;
    rr.origin_len = in->origin_len + w->sub->len;
    return w->emit(w->ctx, &rr);
}

static bool comb_walk(const struct dataset *ds, struct ds_pos *pos, ds_emit_fn emit, void *ctx)
{
    const struct comb_priv *p = ds->priv;
    for (; pos->sub < (uint32_t)p->nsubs; pos->sub++) {
        const struct comb_sub *s = &p->subs[pos->sub];
        if (pos->sub_state == 0) {
            struct ds_rr rr = {.owner = s->name, .owner_len = s->len, .origin_len = s->len,
                               .type = DS_RR_ORIGIN};
            if (emit(ctx, &rr))
                return false;
            pos->sub_state = 1;
        }
        struct comb_walk w = {s, emit, ctx};
        if (s->ds->priv && s->ds->type->walk && !s->ds->type->walk(s->ds, pos, comb_emit, &w))
            return false;
        uint32_t sub = pos->sub;
        *pos = (struct ds_pos){.sub = sub};
    }
    if (pos->sub_state == 0) {
        struct ds_rr rr = {.owner = (const uint8_t *)"", .type = DS_RR_ORIGIN};
        if (emit(ctx, &rr))
            return false;
        pos->sub_state = 2;
    }
    return true;
}

const struct ds_type ds_type_combined = {"combined", sizeof(struct comb_priv), comb_line, comb_finish,
                                         comb_query, comb_free, comb_walk, comb_count};

/* ---- acl ---- */

struct acl_value {
    enum acl_action action;
    struct ds_value value;
};

struct acl_priv {
    struct ip4map v4;
    struct ip6map v6;
    struct acl_value *vals;
    uint32_t n, cap;
    struct acl_value def;     /* for entries without an action */
    uint32_t ttl;
};

/* The action after an address: ":ignore" (or ":blackhole"), ":refuse",
 * ":empty", ":pass" (":" or "=" before the keyword), an A:TXT value meaning
 * "always listed", or nothing (the default line's action, else ignore). */
static int acl_parse_action(struct dataset *ds, char *t, struct acl_value *av)
{
    struct acl_priv *p = ds->priv;
    static const struct {
        const char *kw;
        enum acl_action action;
    } kws[] = {{"ignore", ACL_IGNORE}, {"blackhole", ACL_IGNORE}, {"refuse", ACL_REFUSE},
               {"empty", ACL_EMPTY},   {"pass", ACL_PASS}};
    t = ds_skip_ws(t);
    if (*t == '\0' || *t == '#' || *t == ';') {
        *av = p->def;
        if (av->action == ACL_NONE)
            av->action = ACL_IGNORE; /* no default line: ignore */
        return 0;
    }
    if (*t == ':' || *t == '=') {
        for (size_t i = 0; i < sizeof kws / sizeof kws[0]; i++) {
            size_t l = strlen(kws[i].kw);
            if (strncasecmp(t + 1, kws[i].kw, l) != 0)
                continue; /* t may be shorter than the keyword: look past it only on a match */
            char e = t[1 + l];
            if (e == '\0' || e == ' ' || e == '\t' || e == '#' || e == ';') {
                av->action = kws[i].action;
                return 0;
            }
        }
    }
    av->action = ACL_VALUE;
    return ds_parse_value(ds, t, &av->value);
}

static int acl_line(struct dataset *ds, char *line, size_t len)
{
    (void)len;
    struct acl_priv *p = ds->priv;
    if (line[0] == ':' && line[1] != ':') {
        /* a default line: the action of entries that name none */
        struct acl_value av;
        if (acl_parse_action(ds, line, &av) < 0)
            return -1;
        p->def = av;
        return 0;
    }
    char *s = line;
    bool excl = false;
    if (*s == '!') {
        excl = true;
        s++;
    }
    char *k = s;
    while (*s && *s != ' ' && *s != '\t' && *s != '#' && *s != ';')
        s++;
    char save = *s;
    *s = '\0';
    char *slash = strchr(k, '/');
    int plen = -1;
    if (slash) {
        char *e;
        long l = strtol(slash + 1, &e, 10);
        if (e == slash + 1 || *e || l < 0 || l > 128)
            return ds_error(ds, "invalid prefix length in \"%s\"", k);
        plen = (int)l;
        *slash = '\0';
    }
    bool v6 = strchr(k, ':') != NULL;
    uint32_t a4 = 0;
    uint8_t a6[16];
    if (v6) {
        int bits = rbl_parse_ip6(k, strlen(k), a6);
        if (bits < 0)
            return ds_error(ds, "invalid IPv6 address \"%s\"", k);
        if (plen < 0)
            plen = bits;
    } else {
        const char *end;
        int n = rbl_parse_ip4_prefix(k, &end, &a4);
        if (n < 0 || *end || (plen > 32))
            return ds_error(ds, "invalid IPv4 address \"%s\"", k);
        if (plen < 0)
            plen = 8 * n;
    }
    *s = save;
    struct acl_value av = {.action = ACL_PASS};
    if (!excl && acl_parse_action(ds, s, &av) < 0)
        return -1;
    if (p->n == p->cap) {
        uint32_t cap = p->cap ? p->cap * 2 : 16;
        struct acl_value *v = realloc(p->vals, cap * sizeof *v);
        if (!v)
            return ds_error(ds, "out of memory");
        p->vals = v;
        p->cap = cap;
    }
    p->vals[p->n] = av;
    int r = v6 ? ip6map_add(&p->v6, ip6_from_bytes(a6), plen, p->n) : ip4map_add(&p->v4, a4, plen, p->n);
    if (r < 0)
        return ds_error(ds, "out of memory");
    p->n++;
    return 0;
}

static int acl_finish(struct dataset *ds)
{
    struct acl_priv *p = ds->priv;
    p->ttl = ds->ttl;
    if (ip4map_finish(&p->v4, false) == (size_t)-1 || ip6map_finish(&p->v6) < 0)
        return ds_error(ds, "out of memory");
    return 0;
}

enum acl_action acl_check(const struct dataset *ds, const struct sockaddr_storage *peer,
                          const struct ds_value **value, uint32_t *ttl)
{
    const struct acl_priv *p = ds->priv;
    uint32_t vi;
    if (!p)
        return ACL_NONE;
    *ttl = p->ttl;
    if (peer->ss_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)peer;
        const struct ip4_level *l;
        size_t pos;
        if (!ip4map_lookup(&p->v4, ntohl(sin->sin_addr.s_addr), &l, &pos))
            return ACL_NONE;
        vi = ip4_level_val(l, pos);
    } else {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)peer;
        const struct ip6_entry *e;
        if (!ip6map_lookup(&p->v6, ip6_from_bytes(sin6->sin6_addr.s6_addr), &e))
            return ACL_NONE;
        vi = e[0].val;
    }
    *value = &p->vals[vi].value;
    return p->vals[vi].action;
}

static enum ds_result acl_query(const struct dataset *ds, const struct ds_query *dq,
                                struct dns_answer *ans)
{
    (void)ds;
    (void)dq;
    (void)ans;
    return DS_NONE;
}

static void acl_free(struct dataset *ds)
{
    struct acl_priv *p = ds->priv;
    ip4map_free(&p->v4);
    ip6map_free(&p->v6);
    free(p->vals);
}

static size_t acl_count(const struct dataset *ds)
{
    const struct acl_priv *p = ds->priv;
    return p->n;
}

const struct ds_type ds_type_acl = {"acl", sizeof(struct acl_priv), acl_line, acl_finish, acl_query,
                                    acl_free, NULL, acl_count};

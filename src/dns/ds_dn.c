/*
 * ds_dn.c: the name-keyed datasets.
 *
 * dnset   - domain names relative to the zone: "name" (the name only),
 *           "*.name" (every name below it), ".name" (both), "!name" (an
 *           exclusion of that exact name). An exact entry is consulted first,
 *           then wildcards from the nearest parent up; the first hit decides.
 * generic - simplified zone-file lines: "name [ttl] A|AAAA|TXT|MX data",
 *           "@" for the base name itself.
 * Both keep the set of names that have entries below them, so that an empty
 * non-terminal answers NOERROR (RFC 8020) instead of NXDOMAIN.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "answer.h"
#include "common/util.h"
#include "dataset.h"
#include "nametab.h"
#include "prefixmap.h"
#include "common/rbltext.h"

/* "example.com" or "@" -> relative wire name without the root byte. */
static int rel_name(struct dataset *ds, const char *text, size_t len, const uint8_t **out, size_t *outlen)
{
    if (len == 1 && text[0] == '@') {
        *out = (const uint8_t *)"";
        *outlen = 0;
        return 0;
    }
    uint8_t wire[DNS_MAX_NAME + 1];
    int n = dns_name_from_text(text, len, wire);
    if (n <= 1)
        return ds_error(ds, "invalid domain name \"%.*s\"", (int)len, text);
    uint8_t *p = ds_alloc(ds, (size_t)n - 1);
    memcpy(p, wire, (size_t)n - 1);
    *out = p;
    *outlen = (size_t)n - 1;
    return 0;
}

/* Every proper ancestor of name (and name itself when self is set) goes into ents. */
static int add_ancestors(struct nametab *ents, const uint8_t *name, size_t len, int self)
{
    size_t off = self ? 0 : (len ? (size_t)name[0] + 1 : len);
    while (off < len) {
        if (nametab_add(ents, name + off, len - off, 0, 1) < 0)
            return -1;
        off += (size_t)name[off] + 1;
    }
    return 0;
}

/* ---- dnset ---- */

struct dnset_priv {
    struct nametab exact, wild, ents;
    struct valtab vals;
    uint32_t ttl;
};

static int dnset_line(struct dataset *ds, char *line, size_t len)
{
    (void)len;
    struct dnset_priv *p = ds->priv;
    char *s = line;
    bool excl = false, wild = false, exact = true;
    if (*s == '!') {
        excl = true;
        s++;
    }
    if (s[0] == '*' && s[1] == '.') {
        wild = true;
        exact = false;
        s += 2;
    } else if (s[0] == '.') {
        wild = true;
        s++;
    }
    char *k = s;
    while (*s && *s != ' ' && *s != '\t' && *s != ':' && *s != '#' && *s != ';')
        s++;
    const uint8_t *name = NULL;
    size_t nl = 0;
    if (rel_name(ds, k, (size_t)(s - k), &name, &nl) < 0)
        return -1;
    uint32_t vi = PM_EXCL;
    if (!excl) {
        struct ds_value v;
        char *t = ds_skip_ws(s);
        if (*t == '\0' || *t == '#' || *t == ';')
            vi = valtab_default(&p->vals, ds);
        else if (ds_parse_value(ds, t, &v) < 0)
            return -1;
        else
            vi = valtab_push(&p->vals, v);
        if (vi == UINT32_MAX)
            return ds_error(ds, "out of memory for values");
    }
    if ((exact && nametab_add(&p->exact, name, nl, vi, 0) < 0) ||
        (wild && nametab_add(&p->wild, name, nl, vi, 0) < 0))
        return ds_error(ds, "out of memory");
    return 0;
}

/* Does this chain of entries list its name (no exclusion among them)? */
static bool chain_listed(const struct nametab *t, const struct nt_entry *e)
{
    for (; e; e = e->next == UINT32_MAX ? NULL : &t->e[e->next])
        if (e->val & PM_EXCL)
            return false;
    return true;
}

static int dnset_finish(struct dataset *ds)
{
    struct dnset_priv *p = ds->priv;
    p->ttl = ds->ttl;
    /* names with listed names below them (RFC 8020 empty non-terminals) */
    const struct nametab *tabs[2] = {&p->exact, &p->wild};
    for (int k = 0; k < 2; k++)
        for (uint32_t i = 0; i < tabs[k]->n; i++) {
            const struct nt_entry *e = &tabs[k]->e[i];
            if (nametab_find(tabs[k], e->name, e->len) != e || !chain_listed(tabs[k], e))
                continue; /* not a chain head, or excluded */
            if (add_ancestors(&p->ents, e->name, e->len, k == 1) < 0)
                return ds_error(ds, "out of memory");
        }
    struct ds_value only = ds->defval_eff;
    only.ttl = ds->ttl;
    if (p->vals.n == 0 && valtab_push(&p->vals, only) == UINT32_MAX)
        return ds_error(ds, "out of memory");
    return 0;
}

/* Answer from a chain of entries; DS_EXCLUDED if any is an exclusion. */
static enum ds_result answer_chain(const struct dnset_priv *p, const struct nt_entry *e,
                                   const struct nametab *t, struct dns_answer *ans)
{
    for (const struct nt_entry *x = e; x; x = x->next == UINT32_MAX ? NULL : &t->e[x->next])
        if (x->val & PM_EXCL)
            return DS_EXCLUDED;
    uint8_t wire[DNS_MAX_NAME + 1];
    memcpy(wire, e->name, e->len);
    wire[e->len] = 0;
    char entry[DNS_MAX_NAME + 1];
    if (dns_name_to_text(wire, entry, sizeof entry) < 0)
        entry[0] = '\0';
    for (const struct nt_entry *x = e; x; x = x->next == UINT32_MAX ? NULL : &t->e[x->next]) {
        const struct ds_value *v = &p->vals.v[x->val];
        if (ans_wants(ans, DNS_T_A))
            ans_add_a(ans, v->ttl, v->a);
        if (v->txt && ans_wants(ans, DNS_T_TXT))
            ans_add_txt(ans, v->ttl, v->txt, entry);
    }
    return DS_FOUND;
}

static enum ds_result dnset_query(const struct dataset *ds, const struct ds_query *dq,
                                  struct dns_answer *ans)
{
    const struct dnset_priv *p = ds->priv;
    const struct dns_query *q = dq->q;
    size_t end = q->label_off[dq->rel];
    const struct nt_entry *e = nametab_find(&p->exact, q->qname, end);
    if (e)
        return answer_chain(p, e, &p->exact, ans);
    for (int i = 1; i < dq->rel; i++) {
        size_t off = q->label_off[i];
        e = nametab_find(&p->wild, q->qname + off, end - off);
        if (e)
            return answer_chain(p, e, &p->wild, ans);
    }
    if (nametab_find(&p->ents, q->qname, end))
        return DS_ENT;
    return DS_NONE;
}

static void dnset_free(struct dataset *ds)
{
    struct dnset_priv *p = ds->priv;
    nametab_free(&p->exact);
    nametab_free(&p->wild);
    nametab_free(&p->ents);
    valtab_free(&p->vals);
}

static size_t dnset_count(const struct dataset *ds)
{
    const struct dnset_priv *p = ds->priv;
    return p->exact.n + p->wild.n;
}

/* The records as -d writes them: exact names, then wildcards ("*.name"); an
 * exclusion is a CNAME to "excluded". TXT's "$" is the name relative to the
 * zone, as the answer path gives it. Position: part = table (0 exact, 1
 * wild), entry, rr (0 A or CNAME, 1 TXT). */
static bool dnset_walk(const struct dataset *ds, struct ds_pos *pos, ds_emit_fn emit, void *ctx)
{
    const struct dnset_priv *p = ds->priv;
    const struct nametab *tabs[2] = {&p->exact, &p->wild};
    for (; pos->part < 2; pos->part++, pos->entry = 0) {
        const struct nametab *t = tabs[pos->part];
        for (; pos->entry < t->n; pos->entry++, pos->rr = 0) {
            const struct nt_entry *e = &t->e[pos->entry];
            uint8_t owner[DNS_MAX_NAME + 2];
            size_t n = 0;
            if (pos->part == 1) {
                owner[n++] = 1;
                owner[n++] = '*';
            }
            if (n + e->len > sizeof owner)
                continue; /* "*." does not fit before a name of 254 bytes */
            memcpy(owner + n, e->name, e->len);
            n += e->len;
            const struct ds_value *v = e->val & PM_EXCL ? NULL : &p->vals.v[e->val];
            char text[DNS_MAX_NAME + 1] = "";
            if (v && v->txt) {
                uint8_t wire[DNS_MAX_NAME + 1];
                memcpy(wire, e->name, e->len);
                wire[e->len] = 0;
                if (dns_name_to_text(wire, text, sizeof text) < 0)
                    text[0] = '\0';
            }
            if (!ds_walk_value(owner, n, v, p->ttl, text, pos, emit, ctx))
                return false;
        }
    }
    return true;
}

const struct ds_type ds_type_dnset = {"dnset", sizeof(struct dnset_priv), dnset_line, dnset_finish,
                                      dnset_query, dnset_free, dnset_walk, dnset_count};

/* ---- generic ---- */

struct generic_rr {
    uint16_t type;
    uint16_t rdlen;
    uint32_t ttl;
    const uint8_t *rdata;
};

struct generic_priv {
    struct nametab names, ents;
    struct generic_rr *rr;
    uint32_t n, cap;
};

static int generic_line(struct dataset *ds, char *line, size_t len)
{
    (void)len;
    struct generic_priv *p = ds->priv;
    char *s = line;
    char *owner = rbl_next_word(&s);
    char *w = rbl_next_word(&s);
    if (!owner || !w)
        return ds_error(ds, "expected \"name [ttl] type data\"");
    uint32_t ttl = ds->ttl;
    if (w[0] >= '0' && w[0] <= '9') {
        if (util_parse_duration(w, strlen(w), &ttl) < 0)
            return ds_error(ds, "invalid TTL \"%s\"", w);
        ttl = ds_clamp_ttl(ds, ttl);
        w = rbl_next_word(&s);
        if (!w)
            return ds_error(ds, "missing record type");
    }
    if (strcasecmp(w, "IN") == 0) { /* an optional class before the type */
        w = rbl_next_word(&s);
        if (!w)
            return ds_error(ds, "missing record type");
    }
    uint8_t rd[512];
    size_t rdlen = 0;
    uint16_t type;
    s = ds_skip_ws(s);
    if (strcasecmp(w, "A") == 0) {
        type = DNS_T_A;
        if (inet_pton(AF_INET, s, rd) != 1)
            return ds_error(ds, "invalid A address \"%.40s\"", s);
        rdlen = 4;
    } else if (strcasecmp(w, "AAAA") == 0) {
        type = DNS_T_AAAA;
        if (inet_pton(AF_INET6, s, rd) != 1)
            return ds_error(ds, "invalid AAAA address \"%.40s\"", s);
        rdlen = 16;
    } else if (strcasecmp(w, "TXT") == 0) {
        type = DNS_T_TXT;
        size_t l = strlen(s);
        if (l >= 2 && s[0] == '"' && s[l - 1] == '"') {
            s++;
            l -= 2;
        }
        if (l > 255)
            l = 255;
        rd[0] = (uint8_t)l;
        memcpy(rd + 1, s, l);
        rdlen = l + 1;
    } else if (strcasecmp(w, "MX") == 0) {
        type = DNS_T_MX;
        char *pref = rbl_next_word(&s);
        char *host = rbl_next_word(&s);
        uint64_t pv;
        if (!pref || !host || util_parse_uint(pref, strlen(pref), 65535, &pv) < 0)
            return ds_error(ds, "expected \"MX preference host\"");
        rd[0] = (uint8_t)(pv >> 8);
        rd[1] = (uint8_t)pv;
        int n = dns_name_from_text(host, strlen(host), rd + 2);
        if (n < 0)
            return ds_error(ds, "invalid MX host \"%s\"", host);
        rdlen = 2 + (size_t)n;
    } else {
        return ds_error(ds, "record type \"%s\" is not supported (A, AAAA, TXT, MX)", w);
    }
    const uint8_t *name = NULL;
    size_t nl = 0;
    if (rel_name(ds, owner, strlen(owner), &name, &nl) < 0)
        return -1;
    if (p->n == p->cap) {
        uint32_t cap = p->cap ? p->cap * 2 : 16;
        struct generic_rr *r = realloc(p->rr, cap * sizeof *r);
        if (!r)
            return ds_error(ds, "out of memory");
        p->rr = r;
        p->cap = cap;
    }
    uint8_t *copy = ds_alloc(ds, rdlen);
    memcpy(copy, rd, rdlen);
    p->rr[p->n] = (struct generic_rr){type, (uint16_t)rdlen, ttl, copy};
    if (nametab_add(&p->names, name, nl, p->n, 0) < 0 || add_ancestors(&p->ents, name, nl, 0) < 0)
        return ds_error(ds, "out of memory");
    p->n++;
    return 0;
}

static enum ds_result generic_query(const struct dataset *ds, const struct ds_query *dq,
                                    struct dns_answer *ans)
{
    const struct generic_priv *p = ds->priv;
    const struct dns_query *q = dq->q;
    size_t end = q->label_off[dq->rel];
    const struct nt_entry *e = nametab_find(&p->names, q->qname, end);
    if (!e)
        return nametab_find(&p->ents, q->qname, end) ? DS_ENT : DS_NONE;
    for (; e; e = e->next == UINT32_MAX ? NULL : &p->names.e[e->next]) {
        const struct generic_rr *r = &p->rr[e->val];
        if (ans_wants(ans, r->type))
            ans_add_rr(ans, r->type, r->ttl, r->rdata, r->rdlen);
    }
    return DS_FOUND;
}

static void generic_free(struct dataset *ds)
{
    struct generic_priv *p = ds->priv;
    nametab_free(&p->names);
    nametab_free(&p->ents);
    free(p->rr);
}

static size_t generic_count(const struct dataset *ds)
{
    const struct generic_priv *p = ds->priv;
    return p->n;
}

/* The records in the order they were read; TXT, MX, A and AAAA rdata as stored.
 * Position: entry. */
static bool generic_walk(const struct dataset *ds, struct ds_pos *pos, ds_emit_fn emit, void *ctx)
{
    const struct generic_priv *p = ds->priv;
    for (; pos->entry < p->names.n; pos->entry++) {
        const struct nt_entry *e = &p->names.e[pos->entry];
        const struct generic_rr *r = &p->rr[e->val];
        struct ds_rr rr = {.owner = e->name, .owner_len = e->len, .type = r->type, .ttl = r->ttl,
                           .rdata = r->rdata, .rdlen = r->rdlen};
        if (emit(ctx, &rr))
            return false;
    }
    return true;
}

const struct ds_type ds_type_generic = {"generic", sizeof(struct generic_priv), generic_line, NULL,
                                        generic_query, generic_free, generic_walk, generic_count};

/*
 * dataset.c: what every dataset type shares: the arena, reading (possibly
 * gzip-compressed) files line by line, the `$` specials, the ":A:TXT" value
 * syntax, and address parsing. The types themselves live in ds_*.c.
 */
#include "dataset.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "common/log.h"
#include "common/util.h"
#include "prefixmap.h"

enum { PM_INDEX_LIMIT = 0x7fffffff };

enum { DS_MAX_LINE = 8192, ARENA_CHUNK = 64 * 1024 };

/* ---- arena: many small strings, freed all at once with the dataset ---- */

struct arena {
    struct arena *next;
    size_t used, cap;
    char data[];
};

void *ds_alloc(struct dataset *ds, size_t n)
{
    n = (n + 7) & ~(size_t)7;
    struct arena *a = ds->arena;
    if (!a || a->cap - a->used < n) {
        size_t cap = n > ARENA_CHUNK ? n : ARENA_CHUNK;
        struct arena *na = malloc(sizeof *na + cap);
        if (!na) {
            log_error("event=oom where=ds_alloc bytes=%zu", n);
            abort();
        }
        na->used = 0;
        na->cap = cap;
        na->next = a;
        ds->arena = a = na;
    }
    void *p = a->data + a->used;
    a->used += n;
    return p;
}

char *ds_strdup(struct dataset *ds, const char *s, size_t n)
{
    char *p = ds_alloc(ds, n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

int ds_error(struct dataset *ds, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ds->err, sizeof ds->err, fmt, ap);
    va_end(ap);
    return -1;
}

uint32_t ds_clamp_ttl(const struct dataset *ds, uint32_t ttl)
{
    if (ds->opt.ttl.min && ttl < ds->opt.ttl.min)
        ttl = ds->opt.ttl.min;
    if (ds->opt.ttl.max && ttl > ds->opt.ttl.max)
        ttl = ds->opt.ttl.max;
    return ttl;
}

/* ---- type registry ---- */

extern const struct ds_type ds_type_ip4set, ds_type_ip4tset, ds_type_ip4trie, ds_type_ip6tset,
    ds_type_ip6trie, ds_type_dnset, ds_type_generic, ds_type_combined, ds_type_acl;

static const struct ds_type *const ds_types[] = {
    &ds_type_ip4set, &ds_type_ip4tset, &ds_type_ip4trie, &ds_type_ip6tset, &ds_type_ip6trie,
    &ds_type_dnset,  &ds_type_generic, &ds_type_combined, &ds_type_acl,
};

const struct ds_type *ds_type_find(const char *name)
{
    for (size_t i = 0; i < sizeof ds_types / sizeof ds_types[0]; i++)
        if (strcmp(ds_types[i]->name, name) == 0)
            return ds_types[i];
    return NULL;
}

struct dataset *dataset_new(const struct ds_type *type, const char *files, const struct ds_options *opt)
{
    struct dataset *ds = calloc(1, sizeof *ds);
    if (!ds)
        return NULL;
    ds->type = type;
    ds->opt = *opt;
    atomic_init(&ds->refs, 1);
    size_t sl = strlen(type->name) + 1 + strlen(files) + 1;
    ds->spec = malloc(sl);
    ds->label = malloc(sl);
    if (!ds->spec || !ds->label) {
        dataset_free(ds);
        return NULL;
    }
    snprintf(ds->spec, sl, "%s:%s", type->name, files);
    memcpy(ds->label, ds->spec, sl);
    int n = 1;
    for (const char *p = files; *p; p++)
        n += *p == ',';
    ds->files = calloc((size_t)n, sizeof *ds->files);
    ds->mtimes = calloc((size_t)n, sizeof *ds->mtimes);
    ds->stamps = calloc((size_t)n, sizeof *ds->stamps);
    if (!ds->files || !ds->mtimes || !ds->stamps) {
        dataset_free(ds);
        return NULL;
    }
    const char *p = files;
    for (;;) {
        const char *c = strchr(p, ',');
        size_t l = c ? (size_t)(c - p) : strlen(p);
        if (l > 0) {
            ds->files[ds->nfiles] = strndup(p, l);
            if (!ds->files[ds->nfiles]) {
                dataset_free(ds);
                return NULL;
            }
            ds->nfiles++;
        }
        if (!c)
            break;
        p = c + 1;
    }
    return ds;
}

static void dataset_reset(struct dataset *ds)
{
    if (ds->priv && ds->type->free)
        ds->type->free(ds);
    free(ds->priv);
    ds->priv = NULL;
    while (ds->arena) {
        struct arena *n = ds->arena->next;
        free(ds->arena);
        ds->arena = n;
    }
    memset(&ds->soa, 0, sizeof ds->soa);
    memset(&ds->ns, 0, sizeof ds->ns);
    memset(ds->subst, 0, sizeof ds->subst);
    ds->base_tpl = NULL;
    ds->expires = 0;
}

void dataset_free(struct dataset *ds)
{
    if (!ds)
        return;
    dataset_reset(ds);
    for (int i = 0; i < ds->nfiles; i++)
        free(ds->files[i]);
    free(ds->files);
    free(ds->mtimes);
    free(ds->stamps);
    free(ds->spec);
    free(ds->label);
    free(ds);
}

void dataset_hold(struct dataset *ds)
{
    atomic_fetch_add(&ds->refs, 1);
}

void dataset_release(struct dataset *ds)
{
    if (ds && atomic_fetch_sub(&ds->refs, 1) == 1)
        dataset_free(ds);
}

/* A file's identity for change detection: a rewrite in the same second, or a
 * rename of another file over it, changes it even when st_mtime does not. */
static uint64_t file_stamp(const struct stat *st)
{
    uint64_t h = (uint64_t)st->st_mtim.tv_sec * 1000000007u + (uint64_t)st->st_mtim.tv_nsec;
    h = h * 31 + (uint64_t)st->st_ino;
    h = h * 31 + (uint64_t)st->st_size;
    return h ? h : 1;
}

size_t ds_txt_rdata(uint8_t out[256], const char *tpl, const char *entry)
{
    enum { MAX = 254 }; /* as rbldnsd */
    uint8_t *text = out + 1;
    size_t n = 0, elen = strlen(entry);
    for (const char *p = tpl; *p && n < MAX; p++) {
        if (*p != '$') {
            text[n++] = (uint8_t)*p;
            continue;
        }
        if (p[1] == '$') {
            text[n++] = '$';
            p++;
            continue;
        }
        size_t k = elen < MAX - n ? elen : MAX - n;
        memcpy(text + n, entry, k);
        n += k;
    }
    out[0] = (uint8_t)n;
    return n + 1;
}

void dataset_note_stamps(struct dataset *ds)
{
    for (int i = 0; i < ds->nfiles; i++) {
        struct stat st;
        ds->stamps[i] = stat(ds->files[i], &st) == 0 ? file_stamp(&st) : 0;
    }
}

bool dataset_changed(const struct dataset *ds)
{
    for (int i = 0; i < ds->nfiles; i++) {
        struct stat st;
        uint64_t m = stat(ds->files[i], &st) == 0 ? file_stamp(&st) : 0;
        if (m != ds->stamps[i])
            return true;
    }
    return false;
}

/* ---- value syntax ---- */

/* "2" -> 127.0.0.2, "1.2" -> 127.0.1.2, "10.0.0.2" -> 10.0.0.2 */
static int parse_a_value(const char *s, size_t len, uint32_t *out)
{
    uint32_t oct[4];
    int n = 0;
    size_t i = 0;
    while (i < len) {
        if (n == 4)
            return -1;
        size_t j = i;
        while (j < len && s[j] != '.')
            j++;
        uint64_t v;
        if (util_parse_uint(s + i, j - i, 255, &v) < 0)
            return -1;
        oct[n++] = (uint32_t)v;
        i = j + 1;
        if (j < len && i == len)
            return -1;
    }
    if (n == 0)
        return -1;
    uint32_t a = 0x7f000000;
    for (int k = 0; k < n; k++)
        a = (a & ~(0xffu << (8 * (n - 1 - k)))) | oct[k] << (8 * (n - 1 - k));
    *out = a;
    return 0;
}

/* Substitute $1..$9 (and $0) in text; keep "$" and "$$" for query time. */
static char *expand_subst(struct dataset *ds, const char *text)
{
    char buf[1024];
    size_t n = 0;
    for (const char *p = text; *p && n < sizeof buf - 2; p++) {
        if (p[0] == '$' && p[1] >= '0' && p[1] <= '9') {
            const char *v = ds->subst[p[1] - '0'];
            if (!v && ds->parent)
                v = ds->parent->subst[p[1] - '0'];
            if (!v) {
                /* undefined: stays as written, "$9" (a literal dollar sign) */
                buf[n++] = '$';
                buf[n++] = '$';
                continue;
            }
            for (; *v && n < sizeof buf - 2; v++) {
                if (*v == '$') /* a variable's own "$" is literal text */
                    buf[n++] = '$';
                buf[n++] = *v;
            }
            p++;
            continue;
        }
        if (p[0] == '$' && p[1] == '$') {
            buf[n++] = '$';
            buf[n++] = '$';
            p++;
            continue;
        }
        buf[n++] = *p;
    }
    return ds_strdup(ds, buf, n);
}

/* With a $= base template, an entry's text is put into the template as it
 * is (its own "$" signs stay literal); the template's $n and "$" apply. The
 * default text (already in internal form) goes in unescaped. An entry text
 * starting with "=" bypasses the template. */
static const char *insert_base(struct dataset *ds, const char *base, const char *txt, bool escape)
{
    const char *tpl = expand_subst(ds, base);
    char buf[1024];
    size_t n = 0;
    for (const char *p = tpl; *p && n < sizeof buf - 2; p++) {
        if (p[0] == '$' && p[1] == '$') {
            buf[n++] = '$';
            buf[n++] = '$';
            p++;
            continue;
        }
        if (p[0] == '$' && p[1] == '=') {
            for (const char *t = txt; *t && n < sizeof buf - 2; t++) {
                if (*t == '$' && escape)
                    buf[n++] = '$';
                buf[n++] = *t;
            }
            p++;
            continue;
        }
        buf[n++] = *p;
    }
    return ds_strdup(ds, buf, n);
}

static const char *base_template(const struct dataset *ds)
{
    return ds->base_tpl ? ds->base_tpl : ds->parent ? ds->parent->base_tpl : NULL;
}

static const char *apply_base(struct dataset *ds, const char *txt)
{
    const char *base = base_template(ds);
    if (txt && txt[0] == '=')
        return expand_subst(ds, txt + 1);
    if (!base)
        return txt ? expand_subst(ds, txt) : NULL;
    return insert_base(ds, base, txt ? txt : "$", txt != NULL);
}

static char *rtrim(char *s)
{
    size_t l = strlen(s);
    while (l > 0 && (s[l - 1] == ' ' || s[l - 1] == '\t'))
        s[--l] = '\0';
    return s;
}

/* The ":A:TXT" syntax. With base set, an explicit TXT goes through the $=
 * template; the default line itself is stored as written (base unset). */
static int parse_value(struct dataset *ds, char *s, struct ds_value *out, bool base)
{
    s = ds_skip_ws(s);
    *out = base ? ds->defval_eff : ds->defval;
    out->ttl = ds->ttl;
    if (*s == '\0' || *s == '#' || *s == ';')
        return 0;
    const char *txt;
    if (*s == ':') {
        char *a = ds_skip_ws(s + 1);
        char *c = strchr(s + 1, ':');
        if (c && a > c)
            a = c;
        size_t alen = c ? (size_t)(c - a) : strlen(a);
        while (alen > 0 && (a[alen - 1] == ' ' || a[alen - 1] == '\t'))
            alen--;
        if (alen > 0 && parse_a_value(a, alen, &out->a) < 0)
            return ds_error(ds, "invalid A value \"%.*s\"", (int)alen, a);
        if (!c)
            return 0; /* ":A": the default TXT stays */
        txt = rtrim(ds_skip_ws(c + 1));
        if (*txt == '\0') {
            /* ":A:": no TXT at all, unless a $= template gives every entry one */
            out->txt = base && base_template(ds) ? apply_base(ds, NULL) : NULL;
            return 0;
        }
    } else {
        txt = rtrim(s);
    }
    /* as rbldnsd: a template is at most 255 bytes as written */
    char cut[256];
    if (strlen(txt) > 255) {
        memcpy(cut, txt, 255);
        cut[255] = '\0';
        txt = cut;
    }
    out->txt = base ? apply_base(ds, txt) : expand_subst(ds, txt);
    return 0;
}

int ds_parse_value(struct dataset *ds, char *s, struct ds_value *out)
{
    return parse_value(ds, s, out, true);
}

void ds_update_default(struct dataset *ds)
{
    const char *base = base_template(ds);
    ds->defval_eff = ds->defval;
    if (base) /* the default's text as written goes into the template */
        ds->defval_eff.txt = ds->defval_raw ? insert_base(ds, base, ds->defval_raw, true)
                                            : insert_base(ds, base, "$", false);
}

/* ---- addresses ---- */

/* ---- walks ---- */

bool ds_walk_value(const uint8_t *owner, size_t olen, const struct ds_value *v, uint32_t excl_ttl,
                   const char *entry, struct ds_pos *pos, ds_emit_fn emit, void *ctx)
{
    struct ds_rr rr = {.owner = owner, .owner_len = olen};
    if (!v) {
        rr.type = DNS_T_CNAME;
        rr.ttl = excl_ttl;
        return pos->rr > 0 || !emit(ctx, &rr);
    }
    rr.ttl = v->ttl;
    if (pos->rr == 0) {
        uint8_t rd[4] = {(uint8_t)(v->a >> 24), (uint8_t)(v->a >> 16), (uint8_t)(v->a >> 8),
                         (uint8_t)v->a};
        rr.type = DNS_T_A;
        rr.rdata = rd;
        rr.rdlen = 4;
        if (emit(ctx, &rr))
            return false;
        pos->rr = 1;
    }
    if (v->txt) {
        rr = (struct ds_rr){.owner = owner, .owner_len = olen, .type = DNS_T_TXT, .ttl = v->ttl,
                            .tpl = v->txt, .entry = entry};
        if (emit(ctx, &rr))
            return false;
    }
    return true;
}

size_t ds_owner_ip4(uint8_t *out, uint32_t a, int octets)
{
    size_t n = 0;
    if (octets < 4) {
        out[n++] = 1;
        out[n++] = '*';
    }
    for (int o = octets - 1; o >= 0; o--) {
        char num[4];
        int k = snprintf(num, sizeof num, "%u", (a >> (24 - 8 * o)) & 255);
        out[n++] = (uint8_t)k;
        memcpy(out + n, num, (size_t)k);
        n += (size_t)k;
    }
    return n;
}

/* ---- specials ---- */

static int word_duration(struct dataset *ds, char **s, uint32_t *out, const char *what)
{
    char *w = rbl_next_word(s);
    if (!w || util_parse_duration(w, strlen(w), out) < 0)
        return ds_error(ds, "invalid or missing %s", what);
    return 0;
}

static int word_name(struct dataset *ds, char **s, uint8_t *out, const char *what)
{
    char *w = rbl_next_word(s);
    if (!w || dns_name_from_text(w, strlen(w), out) < 0)
        return ds_error(ds, "invalid or missing %s", what);
    return 0;
}

static int parse_soa(struct dataset *ds, char *s)
{
    struct ds_soa soa = {.present = true};
    if (word_duration(ds, &s, &soa.ttl, "SOA ttl") < 0 ||
        word_name(ds, &s, soa.mname, "SOA origin name") < 0 ||
        word_name(ds, &s, soa.rname, "SOA person name") < 0)
        return -1;
    char *w = rbl_next_word(&s);
    uint64_t serial;
    if (!w || util_parse_uint(w, strlen(w), UINT32_MAX, &serial) < 0)
        return ds_error(ds, "invalid or missing SOA serial");
    soa.serial = (uint32_t)serial;
    if (word_duration(ds, &s, &soa.refresh, "SOA refresh") < 0 ||
        word_duration(ds, &s, &soa.retry, "SOA retry") < 0 ||
        word_duration(ds, &s, &soa.expire, "SOA expire") < 0 ||
        word_duration(ds, &s, &soa.minttl, "SOA minimum ttl") < 0)
        return -1;
    if (!ds->soa.present)
        ds->soa = soa;
    return 1;
}

static int parse_ns(struct dataset *ds, char *s)
{
    struct ds_ns ns = {.present = true};
    if (word_duration(ds, &s, &ns.ttl, "NS ttl") < 0)
        return -1;
    char *w;
    while ((w = rbl_next_word(&s)) != NULL) {
        if (w[0] == '-')
            continue;
        if (ns.count == DS_MAX_NS)
            break;
        if (dns_name_from_text(w, strlen(w), ns.name[ns.count]) < 0)
            return ds_error(ds, "invalid NS name \"%s\"", w);
        ns.count++;
    }
    if (!ds->ns.present)
        ds->ns = ns;
    return 1;
}

static int parse_timestamp(struct dataset *ds, char *s)
{
    char *w = rbl_next_word(&s);
    if (!w)
        return ds_error(ds, "missing $TIMESTAMP value");
    int64_t stamp = 0, exp = 0;
    if (strcmp(w, "0") != 0 && strcmp(w, "-") != 0) {
        if (rbl_parse_stamp(w, &stamp) < 0)
            return ds_error(ds, "invalid $TIMESTAMP \"%s\"", w);
        if (stamp > time(NULL))
            return ds_error(ds, "$TIMESTAMP is in the future");
    }
    w = rbl_next_word(&s);
    if (w && strcmp(w, "0") != 0 && strcmp(w, "-") != 0) {
        uint32_t rel;
        if (w[0] == '+') {
            if (util_parse_duration(w + 1, strlen(w + 1), &rel) < 0)
                return ds_error(ds, "invalid $TIMESTAMP expiry \"%s\"", w);
            exp = (stamp ? stamp : time(NULL)) + rel;
        } else if (rbl_parse_stamp(w, &exp) < 0) {
            return ds_error(ds, "invalid $TIMESTAMP expiry \"%s\"", w);
        }
    }
    if (exp && (!ds->expires || exp < (int64_t)ds->expires))
        ds->expires = (time_t)exp;
    return 1;
}

int ds_special(struct dataset *ds, char *line, size_t len)
{
    (void)len;
    char *s = line + 1; /* past '$' */
    if (s[0] >= '0' && s[0] <= '9' && (s[1] == ' ' || s[1] == '\t' || s[1] == '\0')) {
        /* as rbldnsd: the first definition wins, a combined file's common
         * section before its sections' own */
        int k = s[0] - '0';
        if (ds->subst[k] || (ds->parent && ds->parent->subst[k]))
            return 1;
        char *v = rtrim(ds_skip_ws(s + 1));
        ds->subst[k] = ds_strdup(ds, v, strlen(v));
        return 1;
    }
    if (s[0] == '=' && (s[1] == ' ' || s[1] == '\t' || s[1] == '\0')) {
        char *v = rtrim(ds_skip_ws(s + 1));
        ds->base_tpl = ds_strdup(ds, v, strlen(v));
        ds_update_default(ds);
        return 1;
    }
    char *kw = rbl_next_word(&s);
    if (!kw)
        return 0;
    if (strcasecmp(kw, "SOA") == 0)
        return parse_soa(ds->parent ? ds->parent : ds, s);
    if (strcasecmp(kw, "NS") == 0)
        return parse_ns(ds->parent ? ds->parent : ds, s);
    if (strcasecmp(kw, "TTL") == 0) {
        uint32_t ttl;
        if (word_duration(ds, &s, &ttl, "$TTL value") < 0)
            return -1;
        ds->ttl = ds_clamp_ttl(ds, ttl ? ttl : ds->opt.ttl.def);
        return 1;
    }
    if (strcasecmp(kw, "TIMESTAMP") == 0)
        return parse_timestamp(ds, s);
    if (strcasecmp(kw, "MAXRANGE4") == 0) {
        char *w = rbl_next_word(&s);
        uint64_t v;
        if (!w)
            return ds_error(ds, "missing $MAXRANGE4 value");
        if (w[0] == '/') {
            if (util_parse_uint(w + 1, strlen(w + 1), 32, &v) < 0)
                return ds_error(ds, "invalid $MAXRANGE4 \"%s\"", w);
            v = v == 0 ? 0xffffffffu : (uint64_t)1 << (32 - v);
        } else if (util_parse_uint(w, strlen(w), UINT32_MAX, &v) < 0 || v == 0) {
            return ds_error(ds, "invalid $MAXRANGE4 \"%s\"", w);
        }
        if (!ds->maxrange4 || v < ds->maxrange4)
            ds->maxrange4 = (uint32_t)v;
        return 1;
    }
    return 0;
}

/* ---- reading files ---- */

uint32_t valtab_push(struct valtab *t, struct ds_value val)
{
    if (t->n == t->cap) {
        uint32_t cap = t->cap ? t->cap * 2 : 16;
        if (cap >= PM_INDEX_LIMIT)
            return UINT32_MAX;
        struct ds_value *v = realloc(t->v, cap * sizeof *v);
        if (!v)
            return UINT32_MAX;
        t->v = v;
        t->cap = cap;
    }
    t->v[t->n] = val;
    return t->n++;
}

uint32_t valtab_default(struct valtab *t, const struct dataset *ds)
{
    struct ds_value d = ds->defval_eff;
    d.ttl = ds->ttl;
    if (t->have_def && t->def.a == d.a && t->def.txt == d.txt && t->def.ttl == d.ttl)
        return t->def_idx;
    uint32_t i = valtab_push(t, d);
    if (i != UINT32_MAX) {
        t->have_def = true;
        t->def = d;
        t->def_idx = i;
    }
    return i;
}

void valtab_free(struct valtab *t)
{
    free(t->v);
    memset(t, 0, sizeof *t);
}

int dataset_feed_line(struct dataset *ds, char *line, size_t len)
{
    while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
        line[--len] = '\0';
    if (len == 0)
        return 0;
    if (ds->type == &ds_type_combined)
        return ds->type->line(ds, line, len);
    char *sp = NULL;
    if (line[0] == '$')
        sp = line;
    else if ((line[0] == '#' || line[0] == ':' || line[0] == ';') && line[1] == '$')
        sp = line + 1;
    if (sp) {
        int r = ds_special(ds, sp, len - (size_t)(sp - line));
        if (r != 0)
            return r < 0 ? -1 : 0;
        if (sp != line)
            return 0; /* "#$foo": an ordinary comment after all */
        return ds_error(ds, "unknown special \"%.20s\"", line);
    }
    if (line[0] == '#' || line[0] == ';')
        return 0;
    bool ip6 = ds->type == &ds_type_ip6trie || ds->type == &ds_type_ip6tset;
    if (line[0] == ':' && ds->type != &ds_type_generic && ds->type != &ds_type_acl &&
        !(ip6 && line[1] == ':')) { /* "::1" in an IPv6 set is an address */
        bool tset = ds->type == &ds_type_ip4tset || ds->type == &ds_type_ip6tset;
        if (tset && ds->seen_default)
            return 0; /* as rbldnsd: a trivial set has one value, the first given */
        struct ds_value v;
        if (parse_value(ds, line, &v, false) < 0)
            return -1;
        ds->defval = v;
        ds->defval_raw = NULL;
        if (v.txt) {
            const char *raw = strchr(line + 1, ':');
            raw = raw ? rtrim(ds_skip_ws((char *)raw + 1)) : line;
            ds->defval_raw = ds_strdup(ds, raw, strlen(raw));
        }
        ds->seen_default = true;
        ds_update_default(ds);
        return 0;
    }
    return ds->type->line(ds, line, len);
}

static void report(struct dataset *ds)
{
    ds->nerrors++;
    /* the message quotes untrusted data: keep the log line one clean line */
    for (char *c = ds->err; *c; c++)
        if (*c == '"' || *c == '\\')
            *c = '\'';
        else if ((unsigned char)*c < ' ' || (unsigned char)*c == 127)
            *c = '?';
    if (ds->nerrors <= 100)
        log_warn("event=data-error file=%s line=%lu msg=\"%s:%lu: %s\"", ds->cur_file, ds->cur_line,
                 ds->cur_file, ds->cur_line, ds->err);
}

static int load_file(struct dataset *ds, const char *path)
{
    gzFile gz = NULL;
    FILE *fp = NULL;
    if (ds->opt.no_gzip)
        fp = fopen(path, "r");
    else
        gz = gzopen(path, "r");
    if (!gz && !fp) {
        const char *why = strerror(errno ? errno : ENOMEM);
        ds_error(ds, "%s: %s", path, why);
        log_error("event=load-failed dataset=%s file=%s error=\"%s\"", ds->label, path, why);
        return -1;
    }
    if (gz)
        gzbuffer(gz, 256 * 1024);
    ds->cur_file = path;
    ds->cur_line = 0;
    enum { CHUNK = 1 << 20 };
    char *buf = malloc(CHUNK + DS_MAX_LINE + 1);
    if (!buf) {
        ds_error(ds, "%s: out of memory", path);
        if (gz)
            gzclose(gz);
        if (fp)
            fclose(fp);
        return -1;
    }
    size_t have = 0;
    bool skipping = false; /* inside an over-long line */
    int rc = 0;
    for (;;) {
        int got;
        if (gz)
            got = gzread(gz, buf + have, CHUNK);
        else
            got = (int)fread(buf + have, 1, CHUNK, fp);
        if (got < 0 || (fp && ferror(fp))) {
            int e;
            const char *why = gz ? gzerror(gz, &e) : strerror(errno);
            log_error("event=load-failed dataset=%s file=%s error=\"%s\"", ds->label, path, why);
            ds_error(ds, "%s: %s", path, why);
            rc = -1;
            break;
        }
        size_t end = have + (size_t)got;
        bool eof = got == 0;
        if (eof && end > 0 && buf[end - 1] != '\n')
            buf[end++] = '\n'; /* last line without newline */
        size_t start = 0;
        for (;;) {
            char *nl = memchr(buf + start, '\n', end - start);
            if (!nl)
                break;
            size_t len = (size_t)(nl - (buf + start));
            *nl = '\0';
            if (skipping) {
                skipping = false;
            } else if (len > DS_MAX_LINE) {
                ds->cur_line++;
                ds_error(ds, "line longer than %d bytes", DS_MAX_LINE);
                report(ds);
            } else {
                ds->cur_line++;
                ds->err[0] = '\0';
                if (dataset_feed_line(ds, buf + start, len) < 0)
                    report(ds);
            }
            start += len + 1;
        }
        have = end - start;
        if (have > DS_MAX_LINE) {
            ds->cur_line++;
            ds_error(ds, "line longer than %d bytes", DS_MAX_LINE);
            report(ds);
            skipping = true;
            have = 0;
            start = end;
        }
        memmove(buf, buf + start, have);
        if (eof)
            break;
    }
    free(buf);
    if (gz)
        gzclose(gz);
    if (fp)
        fclose(fp);
    return rc;
}

int dataset_load(struct dataset *ds)
{
    dataset_reset(ds);
    ds->priv = calloc(1, ds->type->size ? ds->type->size : 1);
    if (!ds->priv)
        return ds_error(ds, "out of memory");
    ds->ttl = ds->opt.ttl.def;
    ds->defval = (struct ds_value){.a = 0x7f000002, .txt = NULL};
    ds->maxrange4 = 0;
    ds->nerrors = 0;
    ds->seen_default = false;
    for (int i = 0; i < ds->nfiles; i++) {
        struct stat st;
        if (stat(ds->files[i], &st) < 0) {
            const char *why = strerror(errno);
            ds_error(ds, "%s: %s", ds->files[i], why);
            log_error("event=load-failed dataset=%s file=%s error=\"%s\"", ds->label, ds->files[i],
                      why);
            return -1;
        }
        ds->mtimes[i] = st.st_mtime;
        ds->stamps[i] = file_stamp(&st);
        /* the file counts as read from the start: reset per-file defaults (rbldnsd
         * applies ":A:TXT" defaults up to the end of the current file) */
        bool tset = ds->type == &ds_type_ip4tset || ds->type == &ds_type_ip6tset;
        if (!(tset && ds->seen_default)) {
            ds->defval = (struct ds_value){.a = 0x7f000002, .txt = NULL};
            ds->defval_raw = NULL;
            ds_update_default(ds);
        }
        if (load_file(ds, ds->files[i]) < 0)
            return -1;
    }
    if (ds->type->finish && ds->type->finish(ds) < 0) {
        log_error("event=load-failed dataset=%s error=\"%s\"", ds->label, ds->err);
        return -1;
    }
    if (ds->soa.present && ds->soa.serial == 0) {
        time_t newest = 0;
        for (int i = 0; i < ds->nfiles; i++)
            if (ds->mtimes[i] > newest)
                newest = ds->mtimes[i];
        ds->soa.serial = (uint32_t)newest;
    }
    return 0;
}

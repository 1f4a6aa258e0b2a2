/*
 * import.c: rbldnsd data-file lines -> listing records (import.h).
 *
 * The value rules (":A:TXT", "$n", "$=") follow rbldnsd's manual and
 * rampart-dnsbl's loader (src/dns/dataset.c) so that a list imported here and
 * exported again answers as the file did, within the mappings import.h lists.
 * Each line is copied into a fixed buffer first; every expansion writes into
 * fixed buffers with explicit bounds.
 */
#define _GNU_SOURCE
#include "import.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/rbltext.h"
#include "common/util.h"

enum { XBUF = 1024 /* an expanded template before it is cut to 255 */ };

enum imp_type { T_IP4SET, T_IP4TSET, T_IP4TRIE, T_IP6TSET, T_IP6TRIE, T_DNSET, T_GENERIC, T_COMBINED, T_ACL };

static const char *const type_names[] = {"ip4set", "ip4tset", "ip4trie", "ip6tset", "ip6trie",
                                         "dnset",  "generic", "combined", "acl"};
enum { NTYPES = sizeof type_names / sizeof type_names[0] };

/* One dataset's reading state: the file's own, or a combined section's. */
struct scope {
    enum imp_type type;
    char *subst[10];              /* $0..$9, owned */
    char *base;                   /* $=, owned */
    uint32_t def_code;            /* the default line as written */
    bool def_has_txt;
    char def_txt[XBUF];
    bool def_has_raw;             /* its TXT before substitution, for $= */
    char def_raw[XBUF];
    bool eff_has_txt;             /* what an entry without a value gets */
    char eff_txt[XBUF];
    bool seen_default;
    bool entries_seen;            /* in this scope (tset and $TIMESTAMP checks) */
    uint32_t maxrange4;           /* addresses, 0 = no limit */
    int64_t expires;
};

struct store_import {
    struct scope top;             /* the file (combined: its common section) */
    struct scope sec;             /* combined: the current section */
    bool in_section, section_ours;
    bool subzone_given;
    char subzone[256];            /* "@" or a canonical name */
    int64_t now;
    struct store_import_stats stats;
    char line[STORE_IMPORT_MAX_LINE + 1];
    char txt[XBUF];               /* the record's TXT */
};

static int fail(char *err, size_t errcap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errcap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errcap, fmt, ap);
    va_end(ap);
    return STORE_EINVAL;
}

static void scope_clear(struct scope *sc, enum imp_type type)
{
    for (int i = 0; i < 10; i++)
        free(sc->subst[i]);
    free(sc->base);
    memset(sc, 0, sizeof *sc);
    sc->type = type;
    sc->def_code = 0x7f000002;
}

/* The parent scope of a combined section (its $n and $= are inherited). */
static const struct scope *parent_of(const struct store_import *im, const struct scope *sc)
{
    return sc == &im->sec ? &im->top : NULL;
}

bool store_import_type_known(const char *type)
{
    for (int i = 0; i < NTYPES; i++)
        if (strcmp(type, type_names[i]) == 0)
            return true;
    return false;
}

static int type_find(const char *name, size_t len)
{
    for (int i = 0; i < NTYPES; i++)
        if (strlen(type_names[i]) == len && memcmp(type_names[i], name, len) == 0)
            return i;
    return -1;
}

static const char acl_refusal[] =
    "acl datasets hold client access rules (ignore, refuse, empty, pass, or answers forced "
    "for a client), not listings: a list cannot hold them";

struct store_import *store_import_new(const char *type, const char *subzone, int64_t now, char *err,
                                      size_t errcap)
{
    int t = type ? type_find(type, strlen(type)) : -1;
    if (t < 0) {
        fail(err, errcap, "unknown dataset type \"%.40s\" (ip4set, ip4tset, ip4trie, ip6tset, ip6trie, "
                          "dnset, generic, combined, acl)", type ? type : "");
        return NULL;
    }
    if (t == T_ACL) {
        fail(err, errcap, "%s", acl_refusal);
        return NULL;
    }
    struct store_import *im = calloc(1, sizeof *im);
    if (!im) {
        fail(err, errcap, "out of memory");
        return NULL;
    }
    scope_clear(&im->top, (enum imp_type)t);
    scope_clear(&im->sec, T_IP4SET);
    im->now = now;
    snprintf(im->subzone, sizeof im->subzone, "@");
    if (subzone && strcmp(subzone, "@") != 0) {
        char e[200];
        if (store_domain_parse(subzone, strlen(subzone), im->subzone, sizeof im->subzone, e, sizeof e) < 0) {
            fail(err, errcap, "subzone: %s", e);
            store_import_free(im);
            return NULL;
        }
    }
    im->subzone_given = subzone != NULL;
    return im;
}

void store_import_free(struct store_import *im)
{
    if (!im)
        return;
    scope_clear(&im->top, T_IP4SET);
    scope_clear(&im->sec, T_IP4SET);
    free(im);
}

void store_import_stats(const struct store_import *im, struct store_import_stats *out)
{
    *out = im->stats;
}

static bool is_tset(enum imp_type t)
{
    return t == T_IP4TSET || t == T_IP6TSET;
}

static void reset_default(struct scope *sc);

void store_import_next_file(struct store_import *im)
{
    /* rbldnsd: a default applies to the end of its file; a trivial set keeps
     * its one value. A combined section ends with its file. */
    if (!(is_tset(im->top.type) && im->top.seen_default))
        reset_default(&im->top);
    im->top.entries_seen = false;
    if (im->in_section)
        scope_clear(&im->sec, T_IP4SET);
    im->in_section = false;
    im->section_ours = false;
}

/* ---- text helpers ---- */

static char *skip_ws(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

static char *rtrim(char *s)
{
    size_t l = strlen(s);
    while (l > 0 && (s[l - 1] == ' ' || s[l - 1] == '\t'))
        s[--l] = '\0';
    return s;
}

/* Bounded appender: never writes past cap-1, always NUL-terminates. */
struct xbuf {
    char *p;
    size_t n, cap;
};

static void xput(struct xbuf *b, char c)
{
    if (b->n + 1 < b->cap)
        b->p[b->n++] = c;
    b->p[b->n] = '\0';
}

/* ---- values: ":A:TXT", $n, $= ---- */

static const char *subst_of(const struct store_import *im, const struct scope *sc, int k)
{
    const struct scope *parent = parent_of(im, sc);
    return sc->subst[k] ? sc->subst[k] : parent ? parent->subst[k] : NULL;
}

static const char *base_of(const struct store_import *im, const struct scope *sc)
{
    const struct scope *parent = parent_of(im, sc);
    return sc->base ? sc->base : parent ? parent->base : NULL;
}

/* $1..$9 (and $0) replaced; "$" and "$$" kept for query time; a variable's
 * own "$" becomes literal; an undefined variable stays as written. */
static void expand_subst(const struct store_import *im, const struct scope *sc, const char *text,
                         char *out, size_t cap)
{
    struct xbuf b = {out, 0, cap};
    out[0] = '\0';
    for (const char *p = text; *p; p++) {
        if (p[0] == '$' && p[1] >= '0' && p[1] <= '9') {
            const char *v = subst_of(im, sc, p[1] - '0');
            if (!v) {
                xput(&b, '$');
                xput(&b, '$');
                continue; /* the digit follows as text */
            }
            for (; *v; v++) {
                if (*v == '$')
                    xput(&b, '$');
                xput(&b, *v);
            }
            p++;
        } else if (p[0] == '$' && p[1] == '$') {
            xput(&b, '$');
            xput(&b, '$');
            p++;
        } else {
            xput(&b, *p);
        }
    }
}

/* The $= template with the entry's text put in ("$=" -> txt, its "$" made
 * literal when escape is set). */
static void insert_base(const struct store_import *im, const struct scope *sc, const char *base,
                        const char *txt, bool escape, char *out, size_t cap)
{
    char tpl[XBUF];
    expand_subst(im, sc, base, tpl, sizeof tpl);
    struct xbuf b = {out, 0, cap};
    out[0] = '\0';
    for (const char *p = tpl; *p; p++) {
        if (p[0] == '$' && p[1] == '$') {
            xput(&b, '$');
            xput(&b, '$');
            p++;
        } else if (p[0] == '$' && p[1] == '=') {
            for (const char *t = txt; *t; t++) {
                if (*t == '$' && escape)
                    xput(&b, '$');
                xput(&b, *t);
            }
            p++;
        } else {
            xput(&b, *p);
        }
    }
}

/* An entry's own TXT (NULL: none given) through the $= template. Returns
 * whether there is a TXT. */
static bool apply_base(const struct store_import *im, const struct scope *sc, const char *txt, char *out,
                       size_t cap)
{
    const char *base = base_of(im, sc);
    if (txt && txt[0] == '=') {
        expand_subst(im, sc, txt + 1, out, cap);
        return true;
    }
    if (!base) {
        if (!txt)
            return false;
        expand_subst(im, sc, txt, out, cap);
        return true;
    }
    insert_base(im, sc, base, txt ? txt : "$", txt != NULL, out, cap);
    return true;
}

static void update_default(const struct store_import *im, struct scope *sc)
{
    const char *base = base_of(im, sc);
    if (!base) {
        sc->eff_has_txt = sc->def_has_txt;
        memcpy(sc->eff_txt, sc->def_txt, sizeof sc->eff_txt);
        return;
    }
    sc->eff_has_txt = true;
    if (sc->def_has_raw)
        insert_base(im, sc, base, sc->def_raw, true, sc->eff_txt, sizeof sc->eff_txt);
    else
        insert_base(im, sc, base, "$", false, sc->eff_txt, sizeof sc->eff_txt);
}

static void reset_default(struct scope *sc)
{
    sc->def_code = 0x7f000002;
    sc->def_has_txt = sc->def_has_raw = false;
    sc->def_txt[0] = sc->def_raw[0] = '\0';
    /* callers that have a $= template recompute eff via update_default */
    sc->eff_has_txt = false;
    sc->eff_txt[0] = '\0';
}

/* An A value: "127.0.0.2", "2", "0.2" ... (store_code_parse's rules). */
static int parse_a(const char *a, size_t alen, uint32_t *out, char *err, size_t errcap)
{
    return store_code_parse(a, alen, out, err, errcap);
}

/* Parse ":A:TXT", ":A", ":A:", "TXT" at s. With base, an entry's value
 * (starting from the effective default); without, a default line's value as
 * written. */
static int parse_value(struct store_import *im, struct scope *sc, char *s, bool base, uint32_t *code,
                       bool *has_txt, char *txt, size_t cap, char *raw, bool *has_raw, char *err,
                       size_t errcap)
{
    s = skip_ws(s);
    *code = sc->def_code;
    if (base) {
        *has_txt = sc->eff_has_txt;
        snprintf(txt, cap, "%s", sc->eff_txt);
    } else {
        *has_txt = sc->def_has_txt;
        snprintf(txt, cap, "%s", sc->def_txt);
    }
    if (has_raw)
        *has_raw = false;
    if (*s == '\0' || *s == '#' || *s == ';')
        return 0;
    char *t;
    if (*s == ':') {
        char *a = skip_ws(s + 1);
        char *c = strchr(s + 1, ':');
        if (c && a > c)
            a = c;
        size_t alen = c ? (size_t)(c - a) : strlen(a);
        while (alen > 0 && (a[alen - 1] == ' ' || a[alen - 1] == '\t'))
            alen--;
        if (alen > 0 && parse_a(a, alen, code, err, errcap) < 0)
            return STORE_EINVAL;
        if (!c) {
            if (has_raw) { /* ":A" on a default line: the TXT stays, as written */
                *has_raw = sc->def_has_raw;
                snprintf(raw, XBUF, "%s", sc->def_raw);
            }
            return 0;
        }
        t = rtrim(skip_ws(c + 1));
        if (*t == '\0') {
            *has_txt = base && base_of(im, sc) ? apply_base(im, sc, NULL, txt, cap) : false;
            if (!*has_txt)
                txt[0] = '\0';
            return 0;
        }
    } else {
        t = rtrim(s);
    }
    if (strlen(t) > STORE_TXT_MAX)
        t[STORE_TXT_MAX] = '\0'; /* as rbldnsd: a template is at most 255 bytes as written */
    if (has_raw) {
        *has_raw = true;
        snprintf(raw, XBUF, "%s", t);
    }
    if (base) {
        *has_txt = apply_base(im, sc, t, txt, cap);
    } else {
        expand_subst(im, sc, t, txt, cap);
        *has_txt = true;
    }
    return 0;
}

/* The record's TXT in rbldnsd's 255-byte limit: cut, never in the middle of
 * a "$$" pair (a lone "$" at the end would mean the entry). */
static const char *final_txt(struct store_import *im, bool has, const char *txt)
{
    if (!has)
        return NULL;
    size_t n = strlen(txt);
    if (n > STORE_TXT_MAX)
        n = STORE_TXT_MAX;
    memcpy(im->txt, txt, n);
    im->txt[n] = '\0';
    size_t dollars = 0;
    while (dollars < n && im->txt[n - 1 - dollars] == '$')
        dollars++;
    if (n == STORE_TXT_MAX && dollars % 2 == 1 && strlen(txt) > n && txt[n] == '$')
        im->txt[n - 1] = '\0'; /* "$$" cut in half */
    return im->txt;
}

/* ---- specials ---- */

static int special_timestamp(struct store_import *im, struct scope *sc, char *s, char *err, size_t errcap)
{
    char *w = rbl_next_word(&s);
    if (!w)
        return fail(err, errcap, "missing $TIMESTAMP value");
    int64_t stamp = 0, exp = 0;
    if (strcmp(w, "0") != 0 && strcmp(w, "-") != 0) {
        if (rbl_parse_stamp(w, &stamp) < 0)
            return fail(err, errcap, "invalid $TIMESTAMP \"%.40s\"", w);
        if (stamp > im->now)
            return fail(err, errcap, "$TIMESTAMP is in the future (rbldnsd refuses such data)");
    }
    w = rbl_next_word(&s);
    if (w && strcmp(w, "0") != 0 && strcmp(w, "-") != 0) {
        uint32_t rel;
        if (w[0] == '+') {
            if (util_parse_duration(w + 1, strlen(w + 1), &rel) < 0)
                return fail(err, errcap, "invalid $TIMESTAMP expiry \"%.40s\"", w);
            exp = (stamp ? stamp : im->now) + rel;
        } else if (rbl_parse_stamp(w, &exp) < 0) {
            return fail(err, errcap, "invalid $TIMESTAMP expiry \"%.40s\"", w);
        }
    }
    if (!exp)
        return 0;
    if (exp <= im->now)
        return fail(err, errcap, "$TIMESTAMP: the data expired (rbldnsd would not serve it)");
    if (sc->entries_seen)
        return fail(err, errcap, "$TIMESTAMP with an expiry after entries: rbldnsd applies it to every "
                                 "entry of the dataset; move it before them");
    if (!sc->expires || exp < sc->expires)
        sc->expires = exp;
    return 0;
}

/* A "$..." line. Returns 1 handled, 0 not a known special, <0 error. */
static int special(struct store_import *im, struct scope *sc, char *line, char *err, size_t errcap)
{
    char *s = line + 1;
    if (s[0] >= '0' && s[0] <= '9' && (s[1] == ' ' || s[1] == '\t' || s[1] == '\0')) {
        int k = s[0] - '0';
        if (subst_of(im, sc, k))
            return 1; /* as rbldnsd: the first definition wins */
        char *v = rtrim(skip_ws(s + 1));
        sc->subst[k] = strdup(v);
        return sc->subst[k] ? 1 : fail(err, errcap, "out of memory");
    }
    if (s[0] == '=' && (s[1] == ' ' || s[1] == '\t' || s[1] == '\0')) {
        char *v = rtrim(skip_ws(s + 1));
        char *copy = strdup(v);
        if (!copy)
            return fail(err, errcap, "out of memory");
        free(sc->base);
        sc->base = copy;
        update_default(im, sc);
        return 1;
    }
    char *kw = rbl_next_word(&s);
    if (!kw)
        return 0;
    if (strcasecmp(kw, "SOA") == 0 || strcasecmp(kw, "NS") == 0 || strcasecmp(kw, "TTL") == 0) {
        im->stats.specials_ignored++;
        return 1;
    }
    if (strcasecmp(kw, "TIMESTAMP") == 0)
        return special_timestamp(im, sc, s, err, errcap) < 0 ? -1 : 1;
    if (strcasecmp(kw, "MAXRANGE4") == 0) {
        char *w = rbl_next_word(&s);
        uint64_t v;
        if (!w)
            return fail(err, errcap, "missing $MAXRANGE4 value");
        if (w[0] == '/') {
            if (util_parse_uint(w + 1, strlen(w + 1), 32, &v) < 0)
                return fail(err, errcap, "invalid $MAXRANGE4 \"%.40s\"", w);
            v = v == 0 ? 0xffffffffu : (uint64_t)1 << (32 - v);
        } else if (util_parse_uint(w, strlen(w), UINT32_MAX, &v) < 0 || v == 0) {
            return fail(err, errcap, "invalid $MAXRANGE4 \"%.40s\"", w);
        }
        if (!sc->maxrange4 || v < sc->maxrange4)
            sc->maxrange4 = (uint32_t)v;
        return 1;
    }
    return 0;
}

/* ---- entries ---- */

struct emitter {
    struct store_import *im;
    struct scope *sc;
    int (*emit)(void *ctx, const struct store_import_rec *r);
    void *ctx;
    struct store_import_rec rec;
};

static int emit_rec(struct emitter *e)
{
    e->rec.expires = e->sc->expires;
    return e->emit(e->ctx, &e->rec);
}

static bool key_end(char c)
{
    return c == '\0' || c == ' ' || c == '\t' || c == ':' || c == '#' || c == ';';
}

/* "a.b.c.d", "a.b.c", "a.b.c.d/len", "a.b.c.d-e.f.g.h", "a.b.c-d" -> the
 * inclusive range [lo, hi]; *cidr: its prefix length when it is one block,
 * else -1. *pp moves past the key. */
static int ip4_range(char **pp, uint32_t *lo, uint32_t *hi, int *cidr, char *err, size_t errcap)
{
    const char *end;
    uint32_t a1;
    int n1 = rbl_parse_ip4_prefix(*pp, &end, &a1);
    if (n1 < 0)
        return fail(err, errcap, "invalid IPv4 address \"%.40s\"", *pp);
    if (*end == '/') {
        const char *d = end + 1;
        uint32_t len = 0;
        int digits = 0;
        while (*d >= '0' && *d <= '9' && digits < 3)
            len = len * 10 + (uint32_t)(*d++ - '0'), digits++;
        if (digits == 0 || len > 32 || !key_end(*d))
            return fail(err, errcap, "invalid prefix length in \"%.40s\"", *pp);
        uint32_t mask = len == 0 ? 0 : 0xffffffffu << (32 - len);
        if (a1 & ~mask)
            return fail(err, errcap, "host part set in \"%.40s\" (rbldnsd refuses it without -e)", *pp);
        *lo = a1;
        *hi = a1 | ~mask;
        *cidr = (int)len;
        *pp = (char *)d;
        return 0;
    }
    if (*end == '-') {
        const char *end2;
        uint32_t a2;
        int n2 = rbl_parse_ip4_prefix(end + 1, &end2, &a2);
        if (n2 < 0 || !key_end(*end2))
            return fail(err, errcap, "invalid IPv4 range \"%.40s\"", *pp);
        if (n2 == 1 && n1 > 1) {
            /* "127.16-31": the second part replaces the first's last octet */
            int shift = 32 - 8 * n1;
            a2 = (a1 & ~(0xffu << shift)) | (a2 >> 24) << shift;
            n2 = n1;
        }
        *lo = a1;
        *hi = a2 | (n2 == 4 ? 0 : 0xffffffffu >> (8 * n2));
        if (*hi < *lo)
            return fail(err, errcap, "IPv4 range ends before it starts");
        uint64_t size = (uint64_t)*hi - *lo + 1;
        *cidr = -1;
        if ((size & (size - 1)) == 0 && (*lo & (uint32_t)(size - 1)) == 0)
            *cidr = 32 - __builtin_ctzll(size);
        *pp = (char *)end2;
        return 0;
    }
    if (!key_end(*end))
        return fail(err, errcap, "invalid IPv4 address \"%.40s\"", *pp);
    *lo = a1;
    *hi = a1 | (n1 == 4 ? 0 : 0xffffffffu >> (8 * n1));
    *cidr = 8 * n1;
    *pp = (char *)end;
    return 0;
}

/* The value part after a key: the default, or ":A:TXT"/"TXT". */
static int entry_value(struct emitter *e, char *s, char *err, size_t errcap)
{
    struct scope *sc = e->sc;
    char *t = skip_ws(s);
    e->rec.has_code = e->rec.has_txt = true;
    if (*t == '\0' || *t == '#' || *t == ';') {
        /* the common case: the default value (its TXT is checked below, per
         * entry: $n and $= may have changed it since it was read) */
        e->rec.code = sc->def_code;
        e->rec.txt = final_txt(e->im, sc->eff_has_txt, sc->eff_txt);
    } else {
        char txt[XBUF];
        bool has_txt;
        uint32_t code;
        if (parse_value(e->im, sc, t, true, &code, &has_txt, txt, sizeof txt, NULL, NULL, err, errcap) < 0)
            return STORE_EINVAL;
        e->rec.code = code;
        e->rec.txt = final_txt(e->im, has_txt, txt);
    }
    if (e->rec.txt && store_txt_check(e->rec.txt, err, errcap) < 0)
        return STORE_EINVAL;
    return 0;
}

/* A trivial set's entries all get the one default value (checked here:
 * $n and $= may have put anything into it). */
static int tset_value(struct emitter *e, char *err, size_t errcap)
{
    e->rec.has_code = e->rec.has_txt = true;
    e->rec.code = e->sc->def_code;
    e->rec.txt = final_txt(e->im, e->sc->eff_has_txt, e->sc->eff_txt);
    if (e->rec.txt && store_txt_check(e->rec.txt, err, errcap) < 0)
        return STORE_EINVAL;
    return 0;
}

static int ip4_line(struct emitter *e, char *line, char *err, size_t errcap)
{
    enum imp_type t = e->sc->type;
    char *s = line;
    bool excl = *s == '!';
    s += excl;
    uint32_t lo = 0, hi = 0;
    int cidr = 0;
    if (ip4_range(&s, &lo, &hi, &cidr, err, errcap) < 0)
        return STORE_EINVAL;
    if (t == T_IP4TSET && cidr != 32)
        return fail(err, errcap, "ip4tset takes single addresses only");
    if (t == T_IP4TRIE && cidr < 0)
        return fail(err, errcap, "ip4trie takes CIDR prefixes only, not ranges");
    uint64_t size = (uint64_t)hi - lo + 1;
    if (e->sc->maxrange4 && size > e->sc->maxrange4 && !excl)
        return fail(err, errcap, "range of %llu addresses exceeds $MAXRANGE4", (unsigned long long)size);
    if (t == T_IP4TSET ? tset_value(e, err, errcap) < 0 : entry_value(e, s, err, errcap) < 0)
        return STORE_EINVAL;
    if (excl) {
        e->rec.has_code = e->rec.has_txt = false; /* an exclusion's value is ignored */
        e->rec.txt = NULL;
        e->rec.code = 0;
    }
    /* the fewest CIDR blocks covering [lo, hi] */
    uint64_t a = lo;
    while (a <= hi) {
        int len = a == 0 ? 0 : 32 - __builtin_ctzll(a);
        while ((a + ((uint64_t)1 << (32 - len)) - 1) > hi)
            len++;
        uint8_t addr[4] = {(uint8_t)(a >> 24), (uint8_t)(a >> 16), (uint8_t)(a >> 8), (uint8_t)a};
        store_entry_from_ip(STORE_FAM_IP4, addr, len, &e->rec.p);
        e->rec.p.excluded = excl;
        int r = emit_rec(e);
        if (r)
            return r;
        a += (uint64_t)1 << (32 - len);
    }
    return 0;
}

static int ip6_line(struct emitter *e, char *line, char *err, size_t errcap)
{
    bool tset = e->sc->type == T_IP6TSET;
    char *s = line;
    bool excl = *s == '!';
    s += excl;
    char *k = s;
    while (*s && *s != ' ' && *s != '\t' && *s != '/' && *s != '#' && *s != ';')
        s++;
    uint8_t addr[16];
    int bits = rbl_parse_ip6(k, (size_t)(s - k), addr);
    if (bits < 0)
        return fail(err, errcap, "invalid IPv6 address \"%.*s\"", (int)((s - k) > 60 ? 60 : s - k), k);
    int len = bits;
    if (*s == '/') {
        s++;
        int l = 0, digits = 0;
        while (*s >= '0' && *s <= '9' && digits < 3)
            l = l * 10 + (*s++ - '0'), digits++;
        if (digits == 0 || l > 128)
            return fail(err, errcap, "invalid IPv6 prefix length");
        len = l;
    }
    if (*s && *s != ' ' && *s != '\t' && *s != '#' && *s != ';')
        return fail(err, errcap, "invalid IPv6 entry \"%.40s\"", k);
    for (int i = 0; i < 16; i++) {
        int keep = len - 8 * i;
        uint8_t mask = keep >= 8 ? 0xff : keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));
        if (addr[i] & (uint8_t)~mask)
            return fail(err, errcap, "host part set in \"%.40s\" (rbldnsd refuses it without -e)", k);
    }
    if (tset && (excl ? len != 128 : len != 64))
        return fail(err, errcap, "ip6tset takes /64 prefixes and /128 exclusions only");
    if (tset ? tset_value(e, err, errcap) < 0 : entry_value(e, s, err, errcap) < 0)
        return STORE_EINVAL;
    if (excl) {
        e->rec.has_code = e->rec.has_txt = false;
        e->rec.txt = NULL;
        e->rec.code = 0;
    }
    store_entry_from_ip(STORE_FAM_IP6, addr, len, &e->rec.p);
    e->rec.p.excluded = excl;
    return emit_rec(e);
}

/* A name relative to the zone, as a domain entry with the given match. */
static int domain_rec(struct emitter *e, const char *name, size_t len, enum store_dn_match match,
                      char *err, size_t errcap)
{
    if (len == 1 && name[0] == '@')
        return fail(err, errcap, "the zone's own name (@) cannot be a listing");
    struct store_parsed *p = &e->rec.p;
    memset(p, 0, sizeof *p);
    size_t skip = match == STORE_DN_BELOW ? 2 : match == STORE_DN_BOTH ? 1 : 0;
    memcpy(p->text, match == STORE_DN_BELOW ? "*." : ".", skip);
    if (store_domain_parse(name, len, p->text + skip, sizeof p->text - skip, err, errcap) < 0)
        return STORE_EINVAL;
    p->family = STORE_FAM_DNS;
    p->match = match;
    p->len = strlen(p->text);
    return 0;
}

static int dnset_line(struct emitter *e, char *line, char *err, size_t errcap)
{
    char *s = line;
    bool excl = *s == '!';
    s += excl;
    enum store_dn_match match = STORE_DN_EXACT;
    if (s[0] == '*' && s[1] == '.') {
        match = STORE_DN_BELOW;
        s += 2;
    } else if (s[0] == '.') {
        match = STORE_DN_BOTH;
        s++;
    }
    char *k = s;
    while (*s && *s != ' ' && *s != '\t' && *s != ':' && *s != '#' && *s != ';')
        s++;
    if (s == k)
        return fail(err, errcap, "missing domain name");
    if (excl) {
        e->rec.has_code = e->rec.has_txt = false;
        e->rec.txt = NULL;
        e->rec.code = 0;
    } else if (entry_value(e, s, err, errcap) < 0) {
        return STORE_EINVAL;
    }
    if (domain_rec(e, k, (size_t)(s - k), match, err, errcap) < 0)
        return STORE_EINVAL;
    e->rec.p.excluded = excl;
    return emit_rec(e);
}

/* A generic record's owner: reversed IPv4 octets or IPv6 nibbles name an
 * address (that is how lists publish their test entries); anything else is
 * a domain. */
static int generic_owner(struct emitter *e, const char *name, char *err, size_t errcap)
{
    size_t len = strlen(name);
    if (len && name[len - 1] == '.')
        len--;
    const char *lab[33];
    size_t labl[33];
    int n = 0;
    bool digits = true, nibbles = true;
    for (size_t i = 0, st = 0; i <= len; i++) {
        if (i < len && name[i] != '.')
            continue;
        if (n == 33)
            break;
        lab[n] = name + st;
        labl[n] = i - st;
        bool num = labl[n] >= 1 && labl[n] <= 3;
        for (size_t k = 0; k < labl[n] && num; k++)
            num = lab[n][k] >= '0' && lab[n][k] <= '9';
        digits = digits && num && strtoul(lab[n], NULL, 10) <= 255;
        nibbles = nibbles && labl[n] == 1 && util_hexval((unsigned char)lab[n][0]) >= 0;
        n++;
        st = i + 1;
    }
    if (n == 4 && digits) {
        uint8_t a[4];
        for (int k = 0; k < 4; k++)
            a[3 - k] = (uint8_t)strtoul(lab[k], NULL, 10);
        store_entry_from_ip(STORE_FAM_IP4, a, 32, &e->rec.p);
        return 0;
    }
    if (n == 32 && nibbles) {
        uint8_t a[16] = {0};
        for (int k = 0; k < 32; k++) {
            int nib = 31 - k; /* the first label is the last nibble */
            a[nib / 2] |= (uint8_t)(util_hexval((unsigned char)lab[k][0]) << (nib % 2 ? 0 : 4));
        }
        store_entry_from_ip(STORE_FAM_IP6, a, 128, &e->rec.p);
        return 0;
    }
    return domain_rec(e, name, strlen(name), STORE_DN_EXACT, err, errcap);
}

static int generic_line(struct emitter *e, char *line, char *err, size_t errcap)
{
    char *s = line;
    char *owner = rbl_next_word(&s);
    char *w = rbl_next_word(&s);
    if (!owner || !w)
        return fail(err, errcap, "expected \"name [ttl] type data\"");
    if (w[0] >= '0' && w[0] <= '9') {
        uint32_t ttl;
        if (util_parse_duration(w, strlen(w), &ttl) < 0)
            return fail(err, errcap, "invalid TTL \"%.40s\"", w);
        if (!(w = rbl_next_word(&s)))
            return fail(err, errcap, "missing record type");
    }
    if (strcasecmp(w, "IN") == 0 && !(w = rbl_next_word(&s)))
        return fail(err, errcap, "missing record type");
    s = skip_ws(s);
    e->rec.has_code = e->rec.has_txt = false;
    e->rec.txt = NULL;
    e->rec.code = 0;
    if (strcasecmp(w, "A") == 0) {
        uint8_t a[4];
        char q[16];
        if (inet_pton(AF_INET, s, a) != 1)
            return fail(err, errcap, "invalid A address \"%.40s\"", s);
        uint32_t code = (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];
        if (code >> 24 != 127) {
            store_code_format(code, q);
            return fail(err, errcap, "generic: A %s is not a listing code (127.0.0.x); a list cannot "
                                     "hold other records", q);
        }
        if (store_code_check(code, err, errcap) < 0)
            return STORE_EINVAL;
        e->rec.has_code = true;
        e->rec.code = code;
    } else if (strcasecmp(w, "TXT") == 0) {
        size_t l = strlen(s);
        if (l >= 2 && s[0] == '"' && s[l - 1] == '"') {
            s++;
            l -= 2;
        }
        if (l > STORE_TXT_MAX)
            l = STORE_TXT_MAX;
        /* generic TXT is literal: a "$" is a dollar sign */
        struct xbuf b = {e->im->txt, 0, sizeof e->im->txt};
        for (size_t k = 0; k < l && b.n < STORE_TXT_MAX; k++) {
            if (s[k] == '$') {
                if (b.n + 2 > STORE_TXT_MAX)
                    break;
                xput(&b, '$');
            }
            xput(&b, s[k]);
        }
        b.p[b.n] = '\0';
        char *t = rtrim(skip_ws(b.p));
        memmove(b.p, t, strlen(t) + 1);
        if (store_txt_check(b.p, err, errcap) < 0)
            return STORE_EINVAL;
        e->rec.has_txt = true;
        e->rec.txt = b.p;
    } else if (strcasecmp(w, "MX") == 0 || strcasecmp(w, "AAAA") == 0) {
        return fail(err, errcap, "generic: %s records are not listings; a list cannot hold them", w);
    } else {
        return fail(err, errcap, "record type \"%.20s\" is not supported (A, AAAA, TXT, MX)", w);
    }
    if (generic_owner(e, owner, err, errcap) < 0)
        return STORE_EINVAL;
    return emit_rec(e);
}

/* ---- lines ---- */

/* A default line ":A:TXT" for the scope. */
static int default_line(struct store_import *im, struct scope *sc, char *line, char *err, size_t errcap)
{
    if (is_tset(sc->type)) {
        if (sc->seen_default)
            return 0; /* as rbldnsd: a trivial set has one value, the first given */
        if (sc->entries_seen)
            return fail(err, errcap, "%s: the default line comes after entries, and rbldnsd gives "
                                     "every entry this one value: move it before them",
                        type_names[sc->type]);
    }
    uint32_t code;
    bool has_txt, has_raw;
    char txt[XBUF], raw[XBUF];
    if (parse_value(im, sc, line, false, &code, &has_txt, txt, sizeof txt, raw, &has_raw, err, errcap) < 0)
        return STORE_EINVAL;
    sc->def_code = code;
    sc->def_has_txt = has_txt;
    memcpy(sc->def_txt, txt, sizeof txt);
    sc->def_has_raw = has_txt && has_raw;
    memcpy(sc->def_raw, raw, sizeof raw);
    sc->seen_default = true;
    update_default(im, sc);
    return 0;
}

/* One line of a plain dataset (the file's, or a combined section's). */
static int data_line(struct emitter *e, char *line, size_t len, char *err, size_t errcap)
{
    struct scope *sc = e->sc;
    char *sp = NULL;
    if (line[0] == '$')
        sp = line;
    else if ((line[0] == '#' || line[0] == ':' || line[0] == ';') && line[1] == '$')
        sp = line + 1;
    if (sp) {
        int r = special(e->im, sc, sp, err, errcap);
        if (r != 0)
            return r < 0 ? STORE_EINVAL : 0;
        if (sp != line)
            return 0; /* "#$foo": an ordinary comment after all */
        return fail(err, errcap, "unknown special \"%.20s\"", line);
    }
    if (line[0] == '#' || line[0] == ';')
        return 0;
    bool ip6 = sc->type == T_IP6TRIE || sc->type == T_IP6TSET;
    if (line[0] == ':' && sc->type != T_GENERIC && !(ip6 && line[1] == ':'))
        return default_line(e->im, sc, line, err, errcap);
    (void)len;
    sc->entries_seen = true;
    switch (sc->type) {
    case T_IP4SET:
    case T_IP4TSET:
    case T_IP4TRIE: return ip4_line(e, line, err, errcap);
    case T_IP6TSET:
    case T_IP6TRIE: return ip6_line(e, line, err, errcap);
    case T_DNSET: return dnset_line(e, line, err, errcap);
    case T_GENERIC: return generic_line(e, line, err, errcap);
    default: return fail(err, errcap, "internal error: no line reader for this type");
    }
}

/* "$DATASET type[:name] subzone..." */
static int section_start(struct store_import *im, char *s, char *err, size_t errcap)
{
    im->in_section = true;
    im->section_ours = false;
    scope_clear(&im->sec, T_IP4SET);
    char *tw = rbl_next_word(&s);
    if (!tw)
        return fail(err, errcap, "$DATASET without a type");
    char *label = strchr(tw, ':');
    size_t tl = label ? (size_t)(label - tw) : strlen(tw);
    int t = type_find(tw, tl);
    if (t < 0 || t == T_COMBINED || t == T_ACL)
        return fail(err, errcap, "$DATASET: unknown or unusable type \"%.*s\"", (int)(tl > 20 ? 20 : tl), tw);
    im->sec.type = (enum imp_type)t;
    char *w;
    int nsub = 0;
    char others[200] = "";
    size_t on = 0;
    while ((w = rbl_next_word(&s)) != NULL) {
        nsub++;
        char name[256];
        char e2[200];
        if (strcmp(w, "@") == 0) {
            snprintf(name, sizeof name, "@");
        } else if (store_domain_parse(w, strlen(w), name, sizeof name, e2, sizeof e2) < 0) {
            return fail(err, errcap, "$DATASET: subzone: %s", e2);
        }
        if (strcmp(name, im->subzone) == 0)
            im->section_ours = true;
        else if (on < sizeof others - 1)
            on += (size_t)snprintf(others + on, sizeof others - on, "%s%.60s", on ? " " : "", name);
    }
    if (nsub == 0)
        return fail(err, errcap, "$DATASET without any subzone (use @ for the base zone)");
    if (!im->section_ours) {
        im->stats.skipped_sections++;
        if (!im->subzone_given)
            return fail(err, errcap,
                        "$DATASET section for subzone%s %s, not the list's zone: choose the part to "
                        "import with --subzone (@ for the base zone)", strchr(others, ' ') ? "s" : "",
                        others);
    }
    update_default(im, &im->sec);
    return 0;
}

int store_import_line(struct store_import *im, const char *line, size_t len,
                      int (*emit)(void *ctx, const struct store_import_rec *r), void *ctx, char *err,
                      size_t errcap)
{
    err[0] = '\0';
    if (len > STORE_IMPORT_MAX_LINE)
        return fail(err, errcap, "line longer than %d bytes", STORE_IMPORT_MAX_LINE);
    if (memchr(line, '\0', len))
        return fail(err, errcap, "NUL byte in line");
    while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == '\n' || line[len - 1] == ' ' ||
                       line[len - 1] == '\t'))
        len--;
    if (len == 0)
        return 0;
    char *l = im->line;
    memcpy(l, line, len);
    l[len] = '\0';
    struct emitter e; /* not zero-filled: rec is set field by field where it is made */
    e.im = im;
    e.sc = &im->top;
    e.emit = emit;
    e.ctx = ctx;
    e.rec.has_code = e.rec.has_txt = false;
    e.rec.code = 0;
    e.rec.txt = NULL;
    e.rec.expires = 0;
    if (im->top.type != T_COMBINED)
        return data_line(&e, l, len, err, errcap);

    /* combined: a common section of specials, then $DATASET sections */
    if (strncasecmp(l, "$DATASET", 8) == 0 && (l[8] == ' ' || l[8] == '\t'))
        return section_start(im, l + 9, err, errcap);
    if (im->in_section) {
        if (!im->section_ours) {
            im->stats.skipped_lines++;
            return 0;
        }
        e.sc = &im->sec;
        return data_line(&e, l, len, err, errcap);
    }
    if (l[0] == '#' || l[0] == ';') {
        if (l[1] != '$')
            return 0;
        l++;
    }
    if (l[0] == '$') {
        int r = special(im, &im->top, l, err, errcap);
        if (r == 0)
            return fail(err, errcap, "unknown special \"%.20s\"", l);
        return r < 0 ? STORE_EINVAL : 0;
    }
    return fail(err, errcap, "data before the first $DATASET line");
}

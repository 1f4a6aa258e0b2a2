/*
 * zone.c: the answer path.
 *
 * For a query: find the most specific zone that the name is in (rbldnsd's
 * rule: only that zone is consulted), apply the ACLs, ask each dataset of the
 * zone about the name relative to the zone, then decide the rcode:
 *   some dataset found the name       -> NOERROR with its records (maybe none
 *                                        of the asked type: NODATA)
 *   a name exists below it (RFC 8020) -> NOERROR, no records
 *   the apex                          -> NOERROR (SOA/NS from $SOA/$NS)
 *   otherwise                         -> NXDOMAIN
 * Positive answers carry the zone's NS records in the authority section unless
 * lazy (-a); negative ones carry the SOA, whose TTL is the SOA minimum.
 */
#include "zone.h"
#include "ds_db.h"

#include "common/siphash.h"
#include <time.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "answer.h"
#include "xfr.h"

const char *dns_version_string = "rampart-dnsbl " RAMPART_VERSION;

void ds_query_set_rel(struct ds_query *dq, int rel)
{
    const struct dns_query *q = dq->q;
    dq->rel = rel;
    dq->ip4_octets = 0;
    dq->ip6_nibbles = 0;
    if (rel >= 1 && rel <= 4) {
        uint32_t a = 0;
        int k;
        for (k = 0; k < rel; k++) {
            const uint8_t *l = q->qname + q->label_off[rel - 1 - k];
            if (l[0] == 0 || l[0] > 3)
                break;
            unsigned v = 0;
            int i;
            for (i = 1; i <= l[0] && l[i] >= '0' && l[i] <= '9'; i++)
                v = v * 10 + (unsigned)(l[i] - '0');
            if (i <= l[0] || v > 255)
                break;
            a |= v << (24 - 8 * k);
        }
        if (k == rel) {
            dq->ip4_octets = rel;
            dq->ip4 = a;
        }
    }
    if (rel >= 1 && rel <= 32) {
        memset(dq->ip6, 0, sizeof dq->ip6);
        int k;
        for (k = 0; k < rel; k++) {
            const uint8_t *l = q->qname + q->label_off[rel - 1 - k];
            if (l[0] != 1)
                break;
            int c = l[1], v;
            if (c >= '0' && c <= '9')
                v = c - '0';
            else if (c >= 'a' && c <= 'f')
                v = c - 'a' + 10;
            else
                break;
            dq->ip6[k / 2] |= (uint8_t)(k % 2 ? v : v << 4);
        }
        if (k == rel)
            dq->ip6_nibbles = rel;
    }
    /* As rbldnsd: an IPv4-mapped (::ffff:a.b.c.d) or 6to4 (2002:AABB:CCDD::)
     * address in nibble form is looked up as that IPv4 address. */
    if (dq->ip6_nibbles == 32 && !dq->ip4_octets) {
        static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        const uint8_t *b = dq->ip6;
        if (memcmp(b, mapped, 12) == 0) {
            dq->ip4 = (uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 | (uint32_t)b[14] << 8 | b[15];
            dq->ip4_octets = 4;
        } else if (b[0] == 0x20 && b[1] == 0x02) {
            dq->ip4 = (uint32_t)b[2] << 24 | (uint32_t)b[3] << 16 | (uint32_t)b[4] << 8 | b[5];
            dq->ip4_octets = 4;
        }
    }
}

/* Could this dataset list the name at all (is it an address or a name of its
 * kind)? An ACL's "always listed" value answers only such names. */
static bool ds_accepts(const struct dataset *d, const struct ds_query *dq)
{
    const struct ds_type *t = d->type;
    if (t == &ds_type_ip4set || t == &ds_type_ip4tset || t == &ds_type_ip4trie)
        return dq->ip4_octets == 4;
    if (t == &ds_type_ip6tset || t == &ds_type_ip6trie)
        return dq->ip6_nibbles == 32;
    if (t == &ds_type_dnset)
        return dq->rel > 0;
    if (t == &ds_type_combined)
        return comb_accepts(d, dq, ds_accepts);
    if (t == &ds_type_db)
        return dq->ip4_octets == 4 || dq->ip6_nibbles == 32 || dq->rel > 0;
    return false;
}

/* All records of one type in the answer get one TTL, the smallest
 * (RFC 2181 5.2: the TTLs of an RRset must be equal). */
static void unify_ttls(struct dns_answer *a)
{
    if (a->ancount < 2 || !a->an_start)
        return;
    uint8_t *d = a->w.data;
    for (size_t off = a->an_start; off < a->w.len;) {
        uint16_t type = (uint16_t)(d[off + 2] << 8 | d[off + 3]);
        uint32_t min = UINT32_MAX;
        for (size_t o = off; o < a->w.len; o += 12 + (size_t)(d[o + 10] << 8 | d[o + 11]))
            if ((d[o + 2] << 8 | d[o + 3]) == type) {
                uint32_t t = (uint32_t)d[o + 6] << 24 | (uint32_t)d[o + 7] << 16 |
                             (uint32_t)d[o + 8] << 8 | d[o + 9];
                if (t < min)
                    min = t;
            }
        for (size_t o = off; o < a->w.len; o += 12 + (size_t)(d[o + 10] << 8 | d[o + 11]))
            if ((d[o + 2] << 8 | d[o + 3]) == type) {
                d[o + 6] = (uint8_t)(min >> 24);
                d[o + 7] = (uint8_t)(min >> 16);
                d[o + 8] = (uint8_t)(min >> 8);
                d[o + 9] = (uint8_t)min;
            }
        off += 12 + (size_t)(d[off + 10] << 8 | d[off + 11]);
    }
}

static const struct ds_soa *zone_soa(const struct zone *z, const struct dataset **from)
{
    for (int i = 0; i < z->nds; i++)
        if (z->ds[i]->soa.present) {
            *from = z->ds[i];
            return &z->ds[i]->soa;
        }
    return NULL;
}

static const struct ds_ns *zone_ns(const struct zone *z, const struct dataset **from)
{
    for (int i = 0; i < z->nds; i++)
        if (z->ds[i]->ns.present && z->ds[i]->ns.count > 0) {
            *from = z->ds[i];
            return &z->ds[i]->ns;
        }
    return NULL;
}

/* Records owned by the zone apex: a pointer into the question name. */
static void apex_rr_begin(struct wbuf *w, uint16_t apex_ptr, uint16_t type, uint32_t ttl)
{
    wbuf_u16(w, (uint16_t)(0xc000 | apex_ptr));
    wbuf_u16(w, type);
    wbuf_u16(w, DNS_C_IN);
    wbuf_u32(w, ttl);
}

/* Name compression for the names rampart-dnsbl writes itself (SOA and NS
 * data): the question name and every name written before in this message
 * are candidates; a suffix of a new name that equals a literally written
 * suffix of a candidate becomes a pointer to it (RFC 1035 4.1.4). */
enum { CTAB_MAX = 40 };

struct ctab {
    const uint8_t *name[CTAB_MAX];   /* uncompressed, lowercased wire names */
    uint16_t off[CTAB_MAX];          /* where each starts in the message */
    uint16_t literal[CTAB_MAX];      /* bytes written as labels before a pointer */
    int n;
};

static void ctab_init(struct ctab *c, const struct dns_query *q)
{
    c->name[0] = q->qname;
    c->off[0] = DNS_HEADER_SIZE;
    c->literal[0] = (uint16_t)(q->qname_len - 1);
    c->n = 1;
}

static void write_name(struct wbuf *w, const uint8_t *name, struct ctab *c)
{
    size_t start = w->len;
    size_t off = 0;
    for (;;) {
        size_t rest = 0;
        while (name[off + rest])
            rest += (size_t)name[off + rest] + 1;
        rest++; /* the suffix at off, with its root byte */
        if (rest == 1)
            break;
        for (int e = 0; e < c->n; e++) {
            const uint8_t *cand = c->name[e];
            for (size_t j = 0; j < c->literal[e]; j += (size_t)cand[j] + 1) {
                size_t clen = 0;
                while (cand[j + clen])
                    clen += (size_t)cand[j + clen] + 1;
                if (clen + 1 == rest && memcmp(cand + j, name + off, rest) == 0) {
                    wbuf_bytes(w, name, off);
                    wbuf_u16(w, (uint16_t)(0xc000 | (c->off[e] + j)));
                    goto done;
                }
            }
        }
        off += (size_t)name[off] + 1;
    }
    wbuf_bytes(w, name, off + 1);
done:
    if (!w->err && c->n < CTAB_MAX && start < 0x3fff) {
        c->name[c->n] = name;
        c->off[c->n] = (uint16_t)start;
        c->literal[c->n] = (uint16_t)off;
        c->n++;
    }
}

/* Returns 1 if written, 0 if it did not fit (buffer rolled back). */
static int add_soa(struct wbuf *w, uint16_t apex, const struct ds_soa *soa, uint32_t ttl,
                   struct ctab *q)
{
    size_t mark = w->len;
    int names = q->n;
    apex_rr_begin(w, apex, DNS_T_SOA, ttl);
    size_t rdlen_at = w->len;
    wbuf_u16(w, 0);
    write_name(w, soa->mname, q);
    write_name(w, soa->rname, q);
    wbuf_u32(w, soa->serial);
    wbuf_u32(w, soa->refresh);
    wbuf_u32(w, soa->retry);
    wbuf_u32(w, soa->expire);
    wbuf_u32(w, soa->minttl);
    wbuf_put_u16_at(w, rdlen_at, (uint16_t)(w->len - rdlen_at - 2));
    if (w->err) {
        w->err = false;
        w->len = mark;
        q->n = names;
        return 0;
    }
    return 1;
}

/* The whole NS RRset or nothing. Returns the count written. */
static int add_ns(struct wbuf *w, uint16_t apex, const struct ds_ns *ns, uint32_t ttl,
                  struct ctab *q, uint16_t *name_off)
{
    size_t mark = w->len;
    int names = q->n;
    for (int i = 0; i < ns->count; i++) {
        apex_rr_begin(w, apex, DNS_T_NS, ttl);
        size_t rdlen_at = w->len;
        wbuf_u16(w, 0);
        name_off[i] = (uint16_t)w->len;
        write_name(w, ns->name[i], q);
        wbuf_put_u16_at(w, rdlen_at, (uint16_t)(w->len - rdlen_at - 2));
    }
    if (w->err) {
        w->err = false;
        w->len = mark;
        q->n = names;
        return 0;
    }
    return ns->count;
}

/* Glue: the A records of name servers inside served zones, owned by the NS
 * names just written (a pointer to each). All or nothing. */
static int add_glue(struct wbuf *w, const struct zone *z, const uint16_t *name_off)
{
    size_t mark = w->len;
    for (int i = 0; i < z->nglue; i++) {
        wbuf_u16(w, (uint16_t)(0xc000 | name_off[z->glue[i].ns]));
        wbuf_u16(w, DNS_T_A);
        wbuf_u16(w, DNS_C_IN);
        wbuf_u32(w, z->glue[i].ttl);
        wbuf_u16(w, 4);
        wbuf_u32(w, z->glue[i].addr);
    }
    if (w->err) {
        w->err = false;
        w->len = mark;
        return 0;
    }
    return z->nglue;
}

static void set_counts(struct wbuf *w, uint16_t an, uint16_t ns, uint16_t ar)
{
    wbuf_put_u16_at(w, 6, an);
    wbuf_put_u16_at(w, 8, ns);
    wbuf_put_u16_at(w, 10, ar);
}

/* Skip a name in a block we wrote ourselves, recording its pointer. */
static size_t block_name(struct rr_block *b, size_t p, size_t apex_end, size_t block_start)
{
    while (b->bytes[p] && (b->bytes[p] & 0xc0) != 0xc0)
        p += (size_t)b->bytes[p] + 1;
    if (!b->bytes[p])
        return p + 1;
    uint16_t v = (uint16_t)((b->bytes[p] & 0x3f) << 8 | b->bytes[p + 1]);
    if (b->npatch < RR_BLOCK_PATCHES) {
        bool in_block = v >= apex_end;
        b->patch[b->npatch].at = (uint16_t)p;
        b->patch[b->npatch].target = (uint16_t)(in_block ? (size_t)v - block_start : (size_t)v - DNS_HEADER_SIZE);
        b->patch[b->npatch].in_block = in_block;
        b->npatch++;
    } else {
        b->count = 0; /* too many pointers: the slow path will write it */
    }
    return p + 2;
}

/* Render records for zone z (by `render`) as if the question were the apex
 * itself, then note every compression pointer for patching. */
static void block_build(struct rr_block *b, const struct zone *z, int type, const struct ds_soa *soa,
                        const struct ds_ns *ns, uint32_t ttl)
{
    uint8_t msg[DNS_HEADER_SIZE + DNS_MAX_NAME + 1 + RR_BLOCK_MAX];
    struct dns_query q = {0};
    memcpy(q.qname, z->name, sizeof z->name);
    q.nlabels = (uint8_t)z->nlabels;
    size_t n = 0;
    for (int i = 0; i < z->nlabels; i++) {
        q.label_off[i] = (uint8_t)n;
        n += (size_t)q.qname[n] + 1;
    }
    q.label_off[z->nlabels] = (uint8_t)n;
    q.qname_len = (uint16_t)(n + 1);
    memset(msg, 0, DNS_HEADER_SIZE);
    memcpy(msg + DNS_HEADER_SIZE, q.qname, q.qname_len);
    size_t block_start = DNS_HEADER_SIZE + q.qname_len;
    struct wbuf w = wbuf_make(msg, sizeof msg);
    w.len = block_start;
    struct ctab ct;
    ctab_init(&ct, &q);
    uint16_t off[DS_MAX_NS];
    memset(b, 0, sizeof *b);
    int c = type == DNS_T_NS ? add_ns(&w, DNS_HEADER_SIZE, ns, ttl, &ct, off)
                             : add_soa(&w, DNS_HEADER_SIZE, soa, ttl, &ct);
    if (c <= 0 || w.len - block_start > RR_BLOCK_MAX)
        return;
    b->len = (uint16_t)(w.len - block_start);
    memcpy(b->bytes, msg + block_start, b->len);
    b->count = (uint16_t)c;
    for (int i = 0; type == DNS_T_NS && i < c; i++)
        b->name_at[i] = (uint16_t)(off[i] - block_start);
    /* walk the records: owner, type, class, ttl, rdlength, rdata */
    size_t apex_end = block_start;
    for (size_t p = 0, r = 0; r < (size_t)c; r++) {
        p = block_name(b, p, apex_end, block_start);
        p += 8;
        size_t rdend = p + 2 + (size_t)(b->bytes[p] << 8 | b->bytes[p + 1]);
        p += 2;
        p = block_name(b, p, apex_end, block_start);
        if (type == DNS_T_SOA)
            block_name(b, p, apex_end, block_start);
        p = rdend;
    }
}

/* Copy a block into the answer, pointing its names at this question's apex.
 * Returns its record count, 0 if it did not fit (nothing written), or -1 if
 * the block cannot be used here (the slow path must write the records). */
static int block_put(struct wbuf *w, const struct rr_block *b, uint16_t apex, uint16_t *name_off)
{
    if (!b->count || w->len + b->len > 0x3fff)
        return -1;
    if (!wbuf_room(w, b->len))
        return 0;
    size_t start = w->len;
    uint8_t *d = w->data + start;
    memcpy(d, b->bytes, b->len);
    for (int i = 0; i < b->npatch; i++) {
        uint16_t v = (uint16_t)(b->patch[i].in_block ? start + b->patch[i].target
                                                      : apex + b->patch[i].target);
        d[b->patch[i].at] = (uint8_t)(0xc0 | v >> 8);
        d[b->patch[i].at + 1] = (uint8_t)v;
    }
    w->len += b->len;
    if (name_off)
        for (int i = 0; i < b->count && i < DS_MAX_NS; i++)
            name_off[i] = (uint16_t)(start + b->name_at[i]);
    return b->count;
}

static size_t finish_ar(struct dns_answer *a, const struct dns_query *q, uint16_t ns, uint16_t ar,
                        int rcode)
{
    struct wbuf *w = &a->w;
    wbuf_put_u16_at(w, 2, (uint16_t)((w->data[2] << 8 | w->data[3]) | (rcode & 0xf)));
    set_counts(w, a->ancount, ns, ar);
    if (q->edns) {
        /* room for OPT was reserved by shrinking the cap */
        w->cap += dns_opt_size(q);
        dns_write_opt(w, rcode, a->cookie);
    }
    return w->err ? 0 : w->len;
}

static size_t finish(struct dns_answer *a, const struct dns_query *q, uint16_t ns, int rcode)
{
    return finish_ar(a, q, ns, 0, rcode);
}

static size_t answer_version(const uint8_t *pkt, const struct dns_query *q,
                             const struct dns_config *cfg, struct dns_answer *a)
{
    static const uint8_t vb[] = "\7version\4bind";
    static const uint8_t vs[] = "\7version\6server";
    bool is_version = (q->qname_len == sizeof vb && memcmp(q->qname, vb, sizeof vb) == 0) ||
                      (q->qname_len == sizeof vs && memcmp(q->qname, vs, sizeof vs) == 0);
    /* as rbldnsd: only TXT (or ANY) for version.bind/version.server, not AA */
    if (!is_version || cfg->version == VERSION_REFUSE || q->qtype != DNS_T_TXT)
        return finish(a, q, 0, DNS_R_REFUSED);
    dns_write_header(&a->w, pkt, q, 0, 0);
    {
        const char *v = cfg->version == VERSION_FULL ? dns_version_string : "rampart-dnsbl";
        size_t l = strlen(v);
        wbuf_u16(&a->w, 0xc00c);
        wbuf_u16(&a->w, DNS_T_TXT);
        wbuf_u16(&a->w, DNS_C_CH);
        wbuf_u32(&a->w, 0);
        wbuf_u16(&a->w, (uint16_t)(l + 1));
        wbuf_u8(&a->w, (uint8_t)l);
        wbuf_bytes(&a->w, v, l);
        a->ancount = 1;
    }
    return finish(a, q, 0, DNS_R_NOERROR);
}

static void fmt_peer(const struct sockaddr_storage *peer, char *out, size_t cap)
{
    if (peer->ss_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)peer)->sin_addr, out, (socklen_t)cap);
    else
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)peer)->sin6_addr, out, (socklen_t)cap);
}

/* The hashed input of a server cookie (RFC 9018 4.4): client cookie, then
 * version, reserved and timestamp, then the client's address. */
static uint64_t cookie_hash(const uint8_t secret[16], const uint8_t client[8], const uint8_t head[8],
                            const struct sockaddr_storage *peer)
{
    uint8_t msg[8 + 8 + 16];
    memcpy(msg, client, 8);
    memcpy(msg + 8, head, 8);
    size_t n = 16;
    if (peer->ss_family == AF_INET) {
        memcpy(msg + n, &((const struct sockaddr_in *)peer)->sin_addr, 4);
        n += 4;
    } else if (peer->ss_family == AF_INET6) {
        memcpy(msg + n, &((const struct sockaddr_in6 *)peer)->sin6_addr, 16);
        n += 16;
    }
    return siphash24(secret, msg, n);
}

void dns_cookie_make(const uint8_t secret[16], const uint8_t client[8],
                     const struct sockaddr_storage *peer, uint32_t now, uint8_t server[16])
{
    uint8_t head[8] = {1, 0, 0, 0, (uint8_t)(now >> 24), (uint8_t)(now >> 16), (uint8_t)(now >> 8),
                       (uint8_t)now};
    uint64_t h = cookie_hash(secret, client, head, peer);
    memcpy(server, head, 8);
    for (int i = 0; i < 8; i++)
        server[8 + i] = (uint8_t)(h >> (8 * i)); /* little-endian, as SipHash's output */
}

bool dns_cookie_valid(const uint8_t secret[16], const struct dns_query *q,
                      const struct sockaddr_storage *peer, uint32_t now)
{
    if (q->cookie_len != DNS_COOKIE_CLIENT + DNS_COOKIE_SERVER)
        return false;
    const uint8_t *sc = q->cookie + DNS_COOKIE_CLIENT;
    if (sc[0] != 1)
        return false;
    uint32_t t = (uint32_t)sc[4] << 24 | (uint32_t)sc[5] << 16 | (uint32_t)sc[6] << 8 | sc[7];
    /* serial-number arithmetic, as the RFC: older than 1 h or over 5 min ahead fails */
    int32_t age = (int32_t)(now - t);
    if (age > 3600 || age < -300)
        return false;
    uint64_t h = cookie_hash(secret, q->cookie, sc, peer);
    uint8_t want[8];
    for (int i = 0; i < 8; i++)
        want[i] = (uint8_t)(h >> (8 * i));
    /* constant time: the comparison must not tell how many bytes matched */
    uint8_t diff = 0;
    for (int i = 0; i < 8; i++)
        diff |= (uint8_t)(want[i] ^ sc[8 + i]);
    return diff == 0;
}

size_t dns_answer_query(const struct dns_config *cfg, const uint8_t *pkt, size_t len, uint8_t *out,
                        size_t outcap, bool tcp, const struct sockaddr_storage *peer,
                        struct dns_stats *st, bool *verified)
{
    struct dns_query q;
    if (verified)
        *verified = false;
    st->queries++;
    st->bytes_in += len;
    int pr = dns_query_parse(pkt, len, &q);
    if (pr == DNS_PARSE_DROP) {
        st->dropped++;
        return 0;
    }
    if (pr != DNS_PARSE_OK) {
        st->rcode[pr & 0xf]++;
        size_t n = dns_write_error(out, outcap, pkt, &q, pr);
        st->bytes_out += n;
        return n;
    }
    if (q.tsig) {
        /* signed (a secondary's SOA check): verified, answered without the
         * TSIG record by a call back here, and signed (xfr.c) */
        st->queries--;
        st->bytes_in -= len;
        return xfr_answer_signed(cfg, pkt, len, out, outcap, tcp, peer, st);
    }
    size_t limit = DNS_TCP_MAX;
    if (!tcp)
        limit = q.edns ? (q.edns_size < cfg->max_udp ? q.edns_size : cfg->max_udp) : DNS_UDP_MIN;
    if (limit > outcap)
        limit = outcap;
    struct dns_answer a = {.q = &q};
    uint8_t cookie[DNS_COOKIE_CLIENT + DNS_COOKIE_SERVER];
    if (q.cookie_len && cfg->cookies && q.edns) {
        uint32_t now = (uint32_t)time(NULL);
        if (q.cookie_len > DNS_COOKIE_CLIENT && dns_cookie_valid(cfg->cookie_secret, &q, peer, now)) {
            st->cookie_valid++;
            if (verified)
                *verified = true;
        } else {
            st->cookie_new++;
        }
        memcpy(cookie, q.cookie, DNS_COOKIE_CLIENT);
        dns_cookie_make(cfg->cookie_secret, q.cookie, peer, now, cookie + DNS_COOKIE_CLIENT);
        a.cookie = cookie;
    } else {
        q.cookie_len = 0; /* cookies off: no room for one in the OPT record */
    }
    a.w = wbuf_make(out, limit - dns_opt_size(&q));
    dns_write_header(&a.w, pkt, &q, 0, 0);
    if (a.w.err) {
        st->dropped++;
        return 0;
    }
    size_t n;
    int rcode = DNS_R_REFUSED;
    int zi = -1;

    /* the global ACL's "ignore" comes before anything else */
    if (cfg->global_acl && peer) {
        const struct ds_value *v;
        uint32_t ttl;
        if (acl_check(cfg->global_acl, peer, &v, &ttl) == ACL_IGNORE) {
            st->dropped++;
            return 0;
        }
    }
    if (q.qclass == DNS_C_CH) {
        n = answer_version(pkt, &q, cfg, &a);
        rcode = (out[3] & 0xf);
        goto done;
    }
    if (q.qclass != DNS_C_IN && q.qclass != DNS_C_ANY) {
        n = finish(&a, &q, 0, DNS_R_REFUSED);
        goto done;
    }
    /* meta types (TSIG, IXFR, AXFR, MAILB, MAILA) and the range above ANY:
     * not implemented, as rbldnsd, whatever the zone */
    if (q.qtype == DNS_T_IXFR && !tcp) {
        /* RFC 1995 section 2: IXFR over UDP may be answered "use TCP"; a
         * truncated answer says that to every client library */
        dns_write_header(&a.w, pkt, &q, DNS_F_AA | DNS_F_TC, 0);
        n = finish(&a, &q, 0, DNS_R_NOERROR);
        rcode = DNS_R_NOERROR;
        goto done;
    }
    if (q.qtype >= 250 && q.qtype != DNS_T_ANY) {
        n = finish(&a, &q, 0, DNS_R_NOTIMP);
        rcode = DNS_R_NOTIMP;
        goto done;
    }
    /* the most specific zone containing the name */
    const struct zone *z = NULL;
    int rel = 0;
    for (int i = 0; i < cfg->nzones; i++) {
        const struct zone *c = &cfg->zones[i];
        if (z && c->nlabels <= z->nlabels)
            continue;
        int r = dns_name_suffix(&q, c->name, c->nlabels);
        if (r >= 0) {
            z = c;
            rel = r;
        }
    }
    if (!z || (q.qclass != DNS_C_IN && q.qclass != DNS_C_ANY)) {
        n = finish(&a, &q, 0, DNS_R_REFUSED);
        goto done;
    }
    zi = z->index;
    if (zi < DNS_STATS_MAX_ZONES) {
        st->zone[zi].qtot++;
        st->zone[zi].bin += len;
    }

    /* ACLs, the global one first: the first action in the order ignore,
     * refuse, empty, pass, always-listed wins (rbldnsd's rule); two
     * always-listed values: the global one. */
    enum acl_action act = ACL_NONE;
    const struct ds_value *acl_val = NULL;
    uint32_t acl_ttl = 0;
    const struct dataset *acls[2] = {cfg->global_acl, z->acl};
    for (int i = 0; i < 2; i++) {
        if (!acls[i] || !peer)
            continue;
        const struct ds_value *v = NULL;
        uint32_t ttl = 0;
        enum acl_action x = acl_check(acls[i], peer, &v, &ttl);
        if (x != ACL_NONE && (act == ACL_NONE || x < act)) {
            act = x;
            acl_val = v;
            acl_ttl = ttl;
        }
    }
    if (act == ACL_IGNORE) {
        st->dropped++;
        return 0;
    }
    if (act == ACL_REFUSE) {
        n = finish(&a, &q, 0, DNS_R_REFUSED);
        goto done;
    }

    /* A zone whose data is not loaded (yet) or has expired ($TIMESTAMP) must
     * not answer "not listed": SERVFAIL, as rbldnsd, so clients fail closed. */
    time_t now = 0;
    for (int i = 0; i < z->nds; i++) {
        const struct dataset *d = z->ds[i];
        if (d->expires && !now)
            now = time(NULL);
        if (!d->priv || (d->expires && d->expires < now)) {
            n = finish(&a, &q, 0, DNS_R_SERVFAIL);
            rcode = DNS_R_SERVFAIL;
            goto done;
        }
    }

    const struct dataset *soa_ds = NULL, *ns_ds = NULL;
    const struct ds_soa *soa = zone_soa(z, &soa_ds);
    const struct ds_ns *ns = zone_ns(z, &ns_ds);
    uint16_t apex = (uint16_t)(DNS_HEADER_SIZE + q.label_off[rel]);
    /* a TTL of 0 on $SOA/$NS means the -t default; -t bounds apply */
    uint32_t soa_ttl = soa ? ds_clamp_ttl(soa_ds, soa->ttl ? soa->ttl : soa_ds->opt.ttl.def) : 0;
    uint32_t ns_ttl = ns ? ds_clamp_ttl(ns_ds, ns->ttl ? ns->ttl : ns_ds->opt.ttl.def) : 0;

    if (rel == 0 && ((q.qtype == DNS_T_SOA && !soa) || (q.qtype == DNS_T_NS && !ns) ||
                     (q.qtype == DNS_T_ANY && (!soa || !ns)))) {
        n = finish(&a, &q, 0, DNS_R_REFUSED);
        goto done;
    }
    if (q.qclass == DNS_C_IN) /* RFC 1035 6.2: no AA for a QCLASS ANY answer */
        a.w.data[2] |= DNS_F_AA >> 8;

    enum ds_result found = rel == 0 ? DS_FOUND : DS_NONE;
    uint16_t ns_off[DS_MAX_NS];
    bool wrote_ns = false;
    struct ctab ct;
    ctab_init(&ct, &q);
    if (rel == 0) {
        if (soa && ans_wants(&a, DNS_T_SOA)) {
            if (add_soa(&a.w, apex, soa, soa_ttl, &ct))
                a.ancount++;
            else
                a.tc = true;
        }
        if (ns && ans_wants(&a, DNS_T_NS)) {
            int c = add_ns(&a.w, apex, ns, ns_ttl, &ct, ns_off);
            wrote_ns = c > 0;
            if (c)
                a.ancount = (uint16_t)(a.ancount + c);
            else
                a.tc = true;
        }
    }
    struct ds_query dq = {.q = &q, .peer = peer};
    ds_query_set_rel(&dq, rel);
    /* Under an ACL's :empty or always-listed value, list data is hidden;
     * generic data still says whether a name exists, but (as rbldnsd) its
     * records are not sent either. */
    bool hide = act == ACL_EMPTY || act == ACL_VALUE;
    dq.generic_only = hide;
    bool acl_listed = false;
    for (int i = 0; i < z->nds; i++) {
        const struct dataset *d = z->ds[i];
        if (act == ACL_VALUE && ds_accepts(d, &dq))
            acl_listed = true;
        if (hide && d->type != &ds_type_generic && d->type != &ds_type_combined)
            continue;
        size_t mark = a.w.len;
        uint16_t count = a.ancount;
        enum ds_result r = d->type->query(d, &dq, &a);
        if (hide) {
            a.w.len = mark;
            a.ancount = count;
            a.tc = false;
        }
        if (r == DS_FOUND || (r == DS_ENT && found != DS_FOUND))
            found = r;
    }
    if (acl_listed) {
        char entry[64];
        fmt_peer(peer, entry, sizeof entry);
        if (ans_wants(&a, DNS_T_A))
            ans_add_a(&a, acl_ttl, acl_val->a);
        if (acl_val->txt && ans_wants(&a, DNS_T_TXT))
            ans_add_txt(&a, acl_ttl, acl_val->txt, entry);
        found = DS_FOUND;
    }

    if (a.tc) {
        /* an answer record did not fit: send the header and question only */
        st->truncated++;
        dns_write_header(&a.w, pkt, &q, DNS_F_AA | DNS_F_TC, 0);
        a.ancount = 0;
        n = finish(&a, &q, 0, DNS_R_NOERROR);
        rcode = DNS_R_NOERROR;
        goto done;
    }
    unify_ttls(&a);
    rcode = found != DS_NONE ? DNS_R_NOERROR : DNS_R_NXDOMAIN;
    uint16_t nscount = 0, arcount = 0;
    if (a.ancount > 0) {
        if (ns && !cfg->lazy) {
            /* the pre-rendered block unless names were written before it */
            int c = ct.n == 1 ? block_put(&a.w, &z->auth_ns, apex, ns_off) : -1;
            if (c < 0)
                c = add_ns(&a.w, apex, ns, ns_ttl, &ct, ns_off);
            nscount = (uint16_t)c;
            wrote_ns = wrote_ns || nscount > 0;
        }
    } else if (soa) {
        /* RFC 2308 section 3: the negative TTL is min(SOA TTL, SOA minimum) */
        int c = ct.n == 1 ? block_put(&a.w, &z->neg_soa, apex, NULL) : -1;
        if (c < 0) {
            uint32_t neg = soa->minttl < soa_ttl ? soa->minttl : soa_ttl;
            c = add_soa(&a.w, apex, soa, neg, &ct);
        }
        nscount = (uint16_t)c;
    }
    /* glue: wherever NS records are sent, except in lazy mode (-a), as rbldnsd */
    if (wrote_ns && !cfg->lazy && z->nglue)
        arcount = (uint16_t)add_glue(&a.w, z, ns_off);
    n = finish_ar(&a, &q, nscount, arcount, rcode);
done:
    st->rcode[rcode & 0xf]++;
    st->answers += n > 0;
    st->bytes_out += n;
    if (zi >= 0 && zi < DNS_STATS_MAX_ZONES) {
        if (rcode == DNS_R_NOERROR)
            st->zone[zi].qok++;
        else if (rcode == DNS_R_NXDOMAIN)
            st->zone[zi].qnxd++;
        st->zone[zi].bout += n;
    }
    return n;
}

void dns_config_prepare(struct dns_config *cfg)
{
    struct dns_stats *st = calloc(1, sizeof *st);
    uint8_t *out = malloc(DNS_TCP_MAX);
    if (!st || !out) {
        free(st);
        free(out);
        return;
    }
    for (int i = 0; i < cfg->nzones; i++) {
        struct zone *z = &cfg->zones[i];
        z->nglue = 0;
        const struct dataset *from, *sfrom;
        const struct ds_ns *ns = zone_ns(z, &from);
        const struct ds_soa *soa = zone_soa(z, &sfrom);
        memset(&z->auth_ns, 0, sizeof z->auth_ns);
        memset(&z->neg_soa, 0, sizeof z->neg_soa);
        if (ns)
            block_build(&z->auth_ns, z, DNS_T_NS, NULL, ns,
                        ds_clamp_ttl(from, ns->ttl ? ns->ttl : from->opt.ttl.def));
        if (soa) {
            uint32_t ttl = ds_clamp_ttl(sfrom, soa->ttl ? soa->ttl : sfrom->opt.ttl.def);
            block_build(&z->neg_soa, z, DNS_T_SOA, soa, NULL, soa->minttl < ttl ? soa->minttl : ttl);
        }
        for (int k = 0; ns && k < ns->count; k++) {
            /* ask ourselves "NS-name A?" and keep the answer's A records */
            uint8_t pkt[DNS_MAX_NAME + 32] = {0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0};
            size_t nl = 0;
            while (ns->name[k][nl])
                nl += (size_t)ns->name[k][nl] + 1;
            memcpy(pkt + 12, ns->name[k], nl + 1);
            size_t len = 12 + nl + 1;
            pkt[len++] = 0, pkt[len++] = DNS_T_A, pkt[len++] = 0, pkt[len++] = DNS_C_IN;
            size_t n = dns_answer_query(cfg, pkt, len, out, DNS_TCP_MAX, true, NULL, st, NULL);
            if (n < 12 || (out[3] & 0xf) != DNS_R_NOERROR)
                continue;
            struct rbuf r = rbuf_make(out, n);
            rbuf_take(&r, len); /* header and question */
            unsigned an = (unsigned)(out[6] << 8 | out[7]);
            for (unsigned j = 0; j < an && !r.err; j++) {
                rbuf_u16(&r); /* owner: a pointer to the question */
                uint16_t type = rbuf_u16(&r);
                rbuf_u16(&r);
                uint32_t ttl = rbuf_u32(&r);
                uint16_t rdlen = rbuf_u16(&r);
                const uint8_t *rd = rbuf_take(&r, rdlen);
                if (!rd || type != DNS_T_A || rdlen != 4 || z->nglue >= ZONE_MAX_GLUE)
                    continue;
                z->glue[z->nglue++] = (struct zone_glue){
                    .ns = (uint8_t)k, .ttl = ttl,
                    .addr = (uint32_t)rd[0] << 24 | (uint32_t)rd[1] << 16 | (uint32_t)rd[2] << 8 | rd[3]};
            }
        }
    }
    free(st);
    free(out);
}

void dns_config_free(struct dns_config *cfg)
{
    if (!cfg)
        return;
    for (int i = 0; i < cfg->nzones; i++) {
        free(cfg->zones[i].ds);
        free(cfg->zones[i].text);
    }
    free(cfg->zones);
    free(cfg->all);
    free(cfg);
}

/* Relative wire labels (no root byte) as text, "@" for none. */
static void rel_text(const uint8_t *labels, size_t len, char *out, size_t cap)
{
    uint8_t wire[DNS_MAX_NAME + 1];
    if (len == 0 || len > DNS_MAX_NAME - 1) {
        snprintf(out, cap, "@");
        return;
    }
    memcpy(wire, labels, len);
    wire[len] = 0;
    if (dns_name_to_text(wire, out, cap) < 0)
        snprintf(out, cap, "@");
}

static int dump_emit(void *arg, const struct ds_rr *rr)
{
    FILE *out = ((void **)arg)[0];
    const struct zone *z = ((void **)arg)[1];
    char owner[DNS_MAX_NAME + 1], t[DNS_MAX_NAME + 1];
    if (rr->type == DS_RR_ORIGIN) {
        rel_text(rr->owner, rr->owner_len, owner, sizeof owner);
        fprintf(out, "$ORIGIN %s%s%s.\n", rr->owner_len ? owner : "", rr->owner_len ? "." : "",
                z->text);
        return 0;
    }
    rel_text(rr->owner, rr->owner_len - rr->origin_len, owner, sizeof owner);
    const uint8_t *d = rr->rdata;
    switch (rr->type) {
    case DNS_T_SOA: {
        size_t m = 0;
        while (d[m])
            m += (size_t)d[m] + 1;
        m++;
        size_t r = m;
        while (d[r])
            r += (size_t)d[r] + 1;
        r++;
        char mt[DNS_MAX_NAME + 1], rt[DNS_MAX_NAME + 1];
        dns_name_to_text(d, mt, sizeof mt);
        dns_name_to_text(d + m, rt, sizeof rt);
        uint32_t v[5];
        for (int k = 0; k < 5; k++)
            v[k] = (uint32_t)d[r + 4 * k] << 24 | (uint32_t)d[r + 4 * k + 1] << 16 |
                   (uint32_t)d[r + 4 * k + 2] << 8 | d[r + 4 * k + 3];
        fprintf(out, "%s\t%u\tIN\tSOA\t%s. %s. %u %u %u %u %u\n", owner, rr->ttl, mt, rt, v[0],
                v[1], v[2], v[3], v[4]);
        break;
    }
    case DNS_T_NS:
        dns_name_to_text(d, t, sizeof t);
        fprintf(out, "%s\t%u\tIN\tNS\t%s.\n", owner, rr->ttl, t);
        break;
    case DNS_T_CNAME:
        fprintf(out, "%s\t%u\tIN\tCNAME\texcluded\n", owner, rr->ttl);
        break;
    case DNS_T_A:
        fprintf(out, "%s\t%u\tIN\tA\t%u.%u.%u.%u\n", owner, rr->ttl, d[0], d[1], d[2], d[3]);
        break;
    case DNS_T_AAAA:
        inet_ntop(AF_INET6, d, t, sizeof t);
        fprintf(out, "%s\t%u\tIN\tAAAA\t%s\n", owner, rr->ttl, t);
        break;
    case DNS_T_MX:
        if (dns_name_to_text(d + 2, t, sizeof t) < 0)
            t[0] = '\0';
        fprintf(out, "%s\t%u\tIN\tMX\t%u\t%s.\n", owner, rr->ttl, d[0] << 8 | d[1], t);
        break;
    case DNS_T_TXT: {
        /* the text the answer path sends (one string), quoted for BIND */
        uint8_t rd[256];
        size_t n = rr->tpl ? ds_txt_rdata(rd, rr->tpl, rr->entry) : rr->rdlen;
        if (!rr->tpl)
            memcpy(rd, d, n < sizeof rd ? n : sizeof rd);
        fprintf(out, "%s\t%u\tIN\tTXT\t\"", owner, rr->ttl);
        for (size_t k = 1; k < n && k <= rd[0]; k++) {
            if (rd[k] == '"' || rd[k] == '\\')
                fputc('\\', out);
            if (rd[k] < ' ' || rd[k] > 126)
                fprintf(out, "\\%03u", rd[k]);
            else
                fputc(rd[k], out);
        }
        fputs("\"\n", out);
        break;
    }
    }
    return 0;
}

void dns_config_dump(const struct dns_config *cfg, FILE *out)
{
    for (int i = 0; i < cfg->nzones; i++) {
        const struct zone *z = &cfg->zones[i];
        fprintf(out, "$ORIGIN %s.\n", z->text);
        struct zone_pos pos = {0};
        void *ctx[2] = {out, (void *)z};
        dns_zone_walk(z, &pos, dump_emit, ctx);
    }
}

uint32_t dns_zone_soa_ttl(const struct zone *z)
{
    const struct dataset *from;
    const struct ds_soa *soa = zone_soa(z, &from);
    return soa ? (soa->ttl ? soa->ttl : from->ttl) : 0;
}

bool dns_zone_walk(const struct zone *z, struct zone_pos *pos, ds_emit_fn emit, void *ctx)
{
    const struct dataset *from;
    if (pos->phase == 0) {
        const struct ds_soa *soa = zone_soa(z, &from);
        if (soa) {
            uint8_t rd[2 * (DNS_MAX_NAME + 1) + 20];
            struct wbuf w = wbuf_make(rd, sizeof rd);
            wbuf_bytes(&w, soa->mname, (size_t)dns_name_len(soa->mname));
            wbuf_bytes(&w, soa->rname, (size_t)dns_name_len(soa->rname));
            wbuf_u32(&w, soa->serial);
            wbuf_u32(&w, soa->refresh);
            wbuf_u32(&w, soa->retry);
            wbuf_u32(&w, soa->expire);
            wbuf_u32(&w, soa->minttl);
            struct ds_rr rr = {.owner = (const uint8_t *)"", .type = DNS_T_SOA,
                               .ttl = soa->ttl ? soa->ttl : from->ttl, .rdata = rd,
                               .rdlen = (uint16_t)w.len};
            if (emit(ctx, &rr))
                return false;
        }
        pos->phase = 1;
    }
    if (pos->phase == 1) {
        const struct ds_ns *ns = zone_ns(z, &from);
        for (; ns && pos->ns < (uint32_t)ns->count; pos->ns++) {
            struct ds_rr rr = {.owner = (const uint8_t *)"", .type = DNS_T_NS,
                               .ttl = ns->ttl ? ns->ttl : from->ttl, .rdata = ns->name[pos->ns],
                               .rdlen = (uint16_t)dns_name_len(ns->name[pos->ns])};
            if (emit(ctx, &rr))
                return false;
        }
        pos->phase = 2;
    }
    if (pos->phase == 2) {
        for (; pos->ds < (uint32_t)z->nds; pos->ds++, pos->dp = (struct ds_pos){0}) {
            const struct dataset *d = z->ds[pos->ds];
            if (d->type->walk && d->priv && !d->type->walk(d, &pos->dp, emit, ctx))
                return false;
        }
        pos->phase = 3;
    }
    return true;
}

const struct ds_soa *dns_zone_soa(const struct zone *z)
{
    const struct dataset *from;
    return zone_soa(z, &from);
}
